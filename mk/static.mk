# make static: fully static musl binaries in build/static/ (stint, and
# stint-peer once src/peer/*.c exist), with inih and libcap linked in.
#
# The libraries come from tools/static-deps.sh (libcap compiled from Debian's
# source package with musl-gcc, Debian's libinih.a as is; see the script for
# why). The objects are built by the top Makefile's own rules in a sub-make
# with O=build/static, so the static and dev builds compile the same sources
# with the same warnings; only the compiler, optimisation and link differ.
#
# Size (the init must stay within 64 KiB): -Os plus per-function sections
# and --gc-sections, stripped (-s); no unwind tables (.eh_frame: C without
# exceptions or backtraces never reads them, ~5 KiB); and one read+exec
# segment for headers, code and constants (-z noseparate-code, the layout
# before binutils 2.31), which saves the page padding between them (~8 KiB).
# The debug build for development stays `make` (build/dev).

STATIC_O       ?= build/static
STATIC_DEPS    ?= build/deps/musl
STATIC_CC      ?= musl-gcc
STATIC_CFLAGS  ?= -Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables
STATIC_LDFLAGS ?= -static -s -Wl,--gc-sections -Wl,-z,noseparate-code
STATIC_BINS    := $(STATIC_O)/stint $(STATIC_O)/stint-peer

static: static-deps
	@$(MAKE) --no-print-directory O=$(STATIC_O) SANITIZE= TEST_HOOKS=0 CC=$(STATIC_CC) \
		CFLAGS="$(STATIC_CFLAGS) $(CFLAGS)" \
		CPPFLAGS="-isystem $(STATIC_DEPS)/include $(CPPFLAGS)" \
		LDFLAGS="$(STATIC_LDFLAGS) -L$(STATIC_DEPS)/lib $(LDFLAGS)" \
		LIBS="-linih -lcap" static-bins
	@for b in $(STATIC_BINS); do \
		file -L $$b | grep -q 'statically linked' || { echo "$$b is not statically linked" >&2; exit 1; }; \
		echo "static: $$b $$(stat -c %s $$b) bytes"; \
	done

# Run in the sub-make (O=build/static): a phony name, so that an up-to-date
# build prints nothing.
static-bins: $(STATIC_BINS)
	@:

# Idempotent and fast (a stamp check) once built.
static-deps:
	@tools/static-deps.sh $(STATIC_DEPS)

.PHONY: static static-deps static-bins

# `make clean` keeps the built libraries and the downloaded source package
# (so that a rebuild needs no network); this removes them too.
distclean: clean
	rm -rf build/deps cache/deps

.PHONY: distclean
