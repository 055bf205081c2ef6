#!/usr/bin/env bash
# Smoke run of the libFuzzer harnesses (tests/fuzz/, mk/fuzz.mk), so that
# they never rot: each one runs every file of its seed corpus (real
# datagrams, mountinfo files and INI files, and the reproducers of the bugs
# fuzzing found) and then $FUZZ_RUNS (default 10000) inputs mutated from a
# fixed seed, under ASan, UBSan and LeakSanitizer. A crash, a failed
# invariant or a leak fails the test. `make fuzz` is the real fuzzing.
source "$(dirname "$0")/lib/libtest.sh"

FUZZ_RUNS=${FUZZ_RUNS:-10000}
export FUZZ_RUNS
TARGETS=()
for f in "$TOP"/tests/fuzz/fuzz_*.c; do
	f=${f##*/fuzz_}
	TARGETS+=("${f%.c}")
done

build() {
	command -v clang >/dev/null || skip "no clang (tools/install-deps.sh installs it)"
	# Up to date already under make check: then a no-op.
	make -s -C "$TOP" fuzz-build
}

smoke() {
	local t=$1 seeds out runs
	command -v clang >/dev/null || skip "no clang (tools/install-deps.sh installs it)"
	seeds=$(find "$TOP/tests/fuzz/corpus/$t" -type f | wc -l)
	[ "$seeds" -gt 0 ] || fail "no seed corpus for $t"
	[ -x "$TOP/build/fuzz/fuzz_$t" ] || fail "build/fuzz/fuzz_$t was not built"
	out=$(TMPDIR=$TEST_TMP "$TOP/tests/fuzz/run.sh" smoke "$t" 2>&1) || { echo "$out"; fail "fuzz_$t failed"; }
	echo "$out"
	# Every seed was read, and the run was as long as asked.
	grep -q "from $seeds seeds, crashes 0" <<<"$out" || fail "fuzz_$t did not read its $seeds seeds"
	runs=$(sed -n "s/^# $t: \([0-9]*\) runs in .*/\1/p" <<<"$out")
	[ "${runs:-0}" -ge "$FUZZ_RUNS" ] || fail "fuzz_$t ran ${runs:-no} inputs, not $FUZZ_RUNS"
}

run_test "build the fuzzing harnesses (make fuzz-build, clang)" build
for t in "${TARGETS[@]}"; do
	run_test "fuzz_$t: its seeds and $FUZZ_RUNS mutated inputs, no crash, leak or broken invariant" smoke "$t"
done
