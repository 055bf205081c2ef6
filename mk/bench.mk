# make bench: the benchmarks of bench/run.sh (start-up, handoff, memory,
# OS boot cost, prepare cost vs mounts, reaping, signal forwarding, sizes
# per module from the linker maps) against runc alone, tini, dumb-init and
# catatonit. Not a test: it prints numbers and writes them to
# build/bench/results-DATE.{md,json}. Needs no network. BENCH_N,
# BENCH_BOOT_N... set the runs (see bench/run.sh); BENCH_SMOKE=1 runs each
# item once with tiny counts (tests/test-bench.sh).

BENCH_O := build/bench
# mk/static.mk's default, needed here already: the map rules' prerequisites
# are expanded when this file is read, before static.mk is.
STATIC_O ?= build/static

$(BENCH_O)/spawntime: bench/spawntime.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror $(CFLAGS) -o $@ $<

# Static: it runs as the workload of each init (10,000 forks in item 3),
# where a dynamic loader would be noise.
$(BENCH_O)/benchtool: bench/benchtool.c
	@mkdir -p $(dir $@)
	$(STATIC_CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -o $@ $<

# The workload: a static `true`, so the numbers are not dominated by the
# dynamic loader of /bin/true.
$(BENCH_O)/true:
	@mkdir -p $(dir $@)
	printf 'int main(void) { return 0; }\n' | $(STATIC_CC) -static -s -Os -x c -o $@ -

# Item 5: the static link again, same objects and flags as `make static`,
# with a linker map (which input section of which object or archive member
# was kept, and its size). Run in a sub-make once `static` has built the
# objects.
BENCH_STATIC_LINK = $(STATIC_CC) $(STATIC_CFLAGS) $(STATIC_LDFLAGS) -L$(STATIC_DEPS)/lib
BENCH_STATIC_COMMON := $(patsubst %.c,$(STATIC_O)/%.o,$(COMMON_SRC) $(SHARED_SRC))

$(BENCH_O)/stint.map: $(patsubst %.c,$(STATIC_O)/%.o,$(INIT_SRC)) $(BENCH_STATIC_COMMON)
	$(BENCH_STATIC_LINK) -Wl,-Map=$@ -o $(BENCH_O)/stint.mapped $^ -linih -lcap

$(BENCH_O)/stint-peer.map: $(patsubst %.c,$(STATIC_O)/%.o,$(PEER_SRC)) $(BENCH_STATIC_COMMON)
	$(BENCH_STATIC_LINK) -Wl,-Map=$@ -o $(BENCH_O)/stint-peer.mapped $^ -linih -lcap

bench-maps: $(BENCH_O)/stint.map $(if $(PEER_SRC),$(BENCH_O)/stint-peer.map)

bench-tools: $(BENCH_O)/spawntime $(BENCH_O)/true $(BENCH_O)/benchtool

bench: static bench-tools
	@$(MAKE) --no-print-directory bench-maps
	@bench/run.sh

.PHONY: bench bench-maps bench-tools

clean: clean-bench

clean-bench:
	rm -rf $(BENCH_O)

.PHONY: clean-bench
