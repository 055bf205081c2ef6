# make check: build everything the tests use, then run every test file
# (tests/run.sh: TAP per test, "N passed, M failed" at the end).
#
#   make check                 dev binaries (build/dev), static ones, unit tests
#   make check SANITIZE=1      the same suite against the ASan+UBSan build (build/asan)
#   make check TESTS="tests/test-unit.sh ..."   only those files
#   make unit-tests            only build the C unit test programs
#
# The tests find the binaries through $STINT, $STINT_PEER, $STINT_STATIC,
# $STINT_PEER_STATIC and the unit programs through $STINT_UNIT_DIR.

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_OBJ  := $(patsubst %.c,$(O)/%.o,$(UNIT_SRC))
UNIT_BINS := $(patsubst %.c,$(O)/%,$(UNIT_SRC))

$(UNIT_OBJ): $(wildcard tests/unit/*.h)

# Each unit program links the shared modules (src/*.c, no main()). A test
# of an init/ or src/peer/ module adds it as an extra prerequisite, e.g.
#   $(O)/tests/unit/test_config: $(O)/init/config.o
$(UNIT_BINS): $(O)/tests/unit/%: $(O)/tests/unit/%.o $(COMMON_OBJ)
	$(CC) $(STINT_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

unit-tests: $(UNIT_BINS)

# Static helper programs the tests run inside test roots that may have no
# libc (tests/helpers/*.c): built once into build/test-helpers, never
# sanitized (they are the test's tools, not the code under test).
HELPER_O    := build/test-helpers
HELPER_SRC  := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(patsubst tests/helpers/%.c,$(HELPER_O)/%,$(HELPER_SRC))

$(HELPER_O)/%: tests/helpers/%.c $(wildcard include/stint/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -Iinclude -static -o $@ $<

# hostile (the hostile-guest suite's tool) speaks the real wire format:
# it links the protocol's own encoder and fd passing.
HOSTILE_LINK := src/proto.c src/fdpass.c src/log.c
$(HELPER_O)/hostile: tests/helpers/hostile.c $(HOSTILE_LINK) $(wildcard include/stint/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -static -o $@ $< $(HOSTILE_LINK)

test-helpers: $(HELPER_BINS)

# Sanitizer runtime options, exported to every test (and so to every
# sanitized stint/stint-peer the tests start):
# - halt_on_error + exitcode=86: the first error ends the process with a
#   status no stint code path uses, so a test expecting exit 1 cannot pass
#   by accident on an ASan report (whose default status is 1).
# - abort_on_error stays 0: stint is PID 1 of a PID namespace in most tests,
#   and PID 1 cannot kill itself with SIGABRT; ASan then spins in its abort
#   path at 100% CPU until the test times out (seen here).
# - detect_leaks=1: LeakSanitizer works as PID 1 of a PID namespace, in a
#   user namespace and with no capabilities. It does NOT work (it exits 86
#   with "LeakSanitizer has encountered a fatal error ... does not work under
#   ptrace") under strace/gdb, nor after a chroot into a root without /proc
#   (it lists threads via /proc/self/task). A test that runs a sanitized
#   binary under strace must add detect_leaks=0 for that command; a process
#   that keeps running after chroot (supervise mode) needs /proc in the new
#   root, or an explicit __lsan_do_leak_check() before the switch.
SAN_ENV := ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:exitcode=86:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:print_summary=1 \
	UBSAN_OPTIONS=halt_on_error=1:abort_on_error=0:exitcode=86:print_stacktrace=1:report_error_type=1

TEST_ENV = STINT=$(abspath $(O))/stint STINT_PEER=$(abspath $(O))/stint-peer \
	STINT_STATIC=$(abspath $(STATIC_O))/stint STINT_PEER_STATIC=$(abspath $(STATIC_O))/stint-peer \
	STINT_UNIT_DIR=$(abspath $(O))/tests/unit STINT_HELPER_DIR=$(abspath $(HELPER_O)) \
	STINT_SANITIZE=$(if $(SANITIZE),1,0) \
	$(if $(SANITIZE),$(SAN_ENV))

TESTS ?=

# With SANITIZE=1 build the binaries but not `all`: that would point the
# ./stint and ./stint-peer links (what tests run by hand use) at build/asan.
CHECK_BUILD = $(if $(SANITIZE),$(BINS) $(if $(wildcard man/*.scd),man),all)

# `make check` works on a fresh Debian machine: it installs what is missing
# first (tools/install-deps.sh), then builds and runs everything.
check: deps
	@$(MAKE) --no-print-directory check-run

deps:
	@tools/install-deps.sh

check-run: $(CHECK_BUILD) static unit-tests test-helpers
	@echo "check: $(if $(SANITIZE),ASan+UBSan build $(O),dev build $(O)), static $(STATIC_O)"
	@start=$$(date +%s); \
	env $(TEST_ENV) tests/run.sh $(TESTS); rc=$$?; \
	echo "check: $$(( $$(date +%s) - start )) s"; exit $$rc

.PHONY: check check-run deps unit-tests test-helpers
