# stint — STateful INiT. See README.md.
#
#   make              development build (system compiler, Debian's libinih/libcap)
#   make static       static musl binaries in build/static/
#   make check        every test (TAP per test, one summary line at the end)
#   make check SANITIZE=1   the same suite with ASan+UBSan binaries
#   make bench        the benchmarks
#   make fuzz         libFuzzer on the parsers, FUZZ_SECONDS per target (tests/fuzz/README.md)
#   make format       clang-format every C file (.clang-format; make check verifies)
#   make install      PREFIX, BINDIR, MANDIR and DESTDIR honoured

VERSION  := 0.1.0
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man

CC       ?= cc
SANITIZE ?=
ifeq ($(SANITIZE),1)
O        ?= build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
O        ?= build/dev
SAN_FLAGS :=
endif

# Test hooks (STINT_PEER_TEST_KILL_AT) exist in development builds only;
# `make static`, the release build, turns them off.
TEST_HOOKS ?= 1

# Project flags first, the user's CFLAGS after them so they can add to (not
# replace) what the build needs.
STINT_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Iinclude -D_GNU_SOURCE -DSTINT_VERSION='"$(VERSION)"' $(SAN_FLAGS) \
	$(if $(filter 1,$(TEST_HOOKS)),-DSTINT_TEST_HOOKS)
LIBS     ?= -linih -lcap

# src/*.c: shared by both programs; init/: stint alone; src/peer/: stint-peer.
COMMON_SRC := $(wildcard src/*.c)
INIT_SRC   := $(wildcard init/*.c)
PEER_SRC   := $(wildcard src/peer/*.c)

COMMON_OBJ := $(patsubst %.c,$(O)/%.o,$(COMMON_SRC))
INIT_OBJ   := $(patsubst %.c,$(O)/%.o,$(INIT_SRC))
PEER_OBJ   := $(patsubst %.c,$(O)/%.o,$(PEER_SRC))

BINS := $(O)/stint $(O)/stint-peer

all: $(BINS)
	@ln -sf $(O)/stint stint
	@ln -sf $(O)/stint-peer stint-peer

# Header dependencies come from the compiler (-MMD -MP): touching a
# header rebuilds exactly what includes it. An object without its .d file
# (built before this rule) is rebuilt once, not trusted.
.SECONDEXPANSION:
$(O)/%.o: %.c $$(if $$(wildcard $$(basename $$@).d),,FORCE)
	@mkdir -p $(dir $@)
	$(CC) $(STINT_CFLAGS) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(O) -name '*.d' 2>/dev/null)

$(O)/stint: $(INIT_OBJ) $(COMMON_OBJ)
	$(CC) $(STINT_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(O)/stint-peer: $(PEER_OBJ) $(COMMON_OBJ)
	$(CC) $(STINT_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

-include mk/*.mk

clean:
	rm -rf build/dev build/asan build/static build/test stint stint-peer

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

FORCE:

.PHONY: all clean format FORCE
