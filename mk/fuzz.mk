# make fuzz: libFuzzer harnesses (tests/fuzz/fuzz_<target>.c) for the
# parsers that read what another party wrote: the handoff protocol, the
# sd_notify datagrams, mountinfo, and both programs' INI files. See
# tests/fuzz/README.md.
#
#   make fuzz                       every target for FUZZ_SECONDS (default 60) each
#   make fuzz FUZZ_TARGETS=proto FUZZ_SECONDS=600
#   make fuzz-build                 only build the harnesses into build/fuzz/
#
# Built with Debian's clang (packages clang and libclang-rt-14-dev: the
# libFuzzer, ASan and UBSan runtimes) from the project's own sources, with
# coverage instrumentation and ASan+UBSan (+LeakSanitizer). The corpus grows
# in build/fuzz/corpus/<target> (seeded from tests/fuzz/corpus/<target>);
# a crash is kept in build/fuzz/artifacts/<target>/ and fails the run.
# tests/test-fuzz.sh (make check) runs a short smoke run of each.

FUZZ_CC      ?= clang
FUZZ_O       := build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
# Harnesses of the init's code link init/; every other one links src/peer/.
FUZZ_INIT_TARGETS := stint_ini

# clang's -Wformat=2 includes -Wformat-nonliteral, which gcc's does not
# apply to a va_list forwarded as log.c does.
FUZZ_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral \
	-Iinclude -D_GNU_SOURCE -DSTINT_VERSION='"$(VERSION)"' \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -MMD -MP

FUZZ_COMMON_OBJ := $(patsubst %.c,$(FUZZ_O)/obj/%.o,$(COMMON_SRC))
FUZZ_INIT_OBJ   := $(patsubst %.c,$(FUZZ_O)/obj/%.o,$(filter-out init/main.c,$(INIT_SRC)))
FUZZ_PEER_OBJ   := $(patsubst %.c,$(FUZZ_O)/obj/%.o,$(filter-out src/peer/main.c,$(PEER_SRC)))
FUZZ_BINS       := $(patsubst %,$(FUZZ_O)/fuzz_%,$(FUZZ_TARGETS))

# The code under test gets coverage instrumentation (fuzzer-no-link); the
# harness's link adds libFuzzer's main.
$(FUZZ_O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

# Archives: a harness links only the objects it needs, and those they need.
$(FUZZ_O)/libcommon.a: $(FUZZ_COMMON_OBJ)
$(FUZZ_O)/libinit.a: $(FUZZ_INIT_OBJ)
$(FUZZ_O)/libpeer.a: $(FUZZ_PEER_OBJ)
$(FUZZ_O)/lib%.a:
	@rm -f $@
	ar rcs $@ $^

FUZZ_INIT_BINS := $(filter $(patsubst %,$(FUZZ_O)/fuzz_%,$(FUZZ_INIT_TARGETS)),$(FUZZ_BINS))
$(FUZZ_INIT_BINS): $(FUZZ_O)/libinit.a
$(filter-out $(FUZZ_INIT_BINS),$(FUZZ_BINS)): $(FUZZ_O)/libpeer.a
$(FUZZ_O)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_O)/libcommon.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		-Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(LIBS)

-include $(patsubst %.o,%.d,$(FUZZ_COMMON_OBJ) $(FUZZ_INIT_OBJ) $(FUZZ_PEER_OBJ)) $(FUZZ_BINS:=.d)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh fuzz $(FUZZ_TARGETS)

# The smoke run in make check needs the harnesses built.
check-run: fuzz-build

clean: clean-fuzz

# Keeps build/fuzz/corpus and build/fuzz/artifacts: what a long run found.
clean-fuzz:
	rm -rf $(FUZZ_O)/obj $(FUZZ_O)/*.a $(FUZZ_BINS)

.PHONY: fuzz fuzz-build clean-fuzz
