# make bench: start-up, handoff latency and size of the static binaries
# against tini, dumb-init and catatonit (bench/run.sh). Not a test: it
# prints numbers. Needs no network; BENCH_N=N sets the runs per line.

BENCH_O := build/bench

$(BENCH_O)/spawntime: bench/spawntime.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror $(CFLAGS) -o $@ $<

# The workload: a static `true`, so the numbers are not dominated by the
# dynamic loader of /bin/true.
$(BENCH_O)/true:
	@mkdir -p $(dir $@)
	printf 'int main(void) { return 0; }\n' | $(STATIC_CC) -static -s -Os -x c -o $@ -

bench: static $(BENCH_O)/spawntime $(BENCH_O)/true
	@bench/run.sh

.PHONY: bench

clean: clean-bench

clean-bench:
	rm -rf $(BENCH_O)

.PHONY: clean-bench
