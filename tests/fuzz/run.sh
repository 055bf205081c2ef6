#!/usr/bin/env bash
# Run the libFuzzer harnesses that `make fuzz-build` puts in build/fuzz/.
#
#   tests/fuzz/run.sh fuzz TARGET...    fuzz each for $FUZZ_SECONDS (default 60) on
#                                       build/fuzz/corpus/TARGET + the seeds; one summary
#                                       line per target; exit 1 if any crashed
#   tests/fuzz/run.sh smoke TARGET...   the seeds plus $FUZZ_RUNS (default 10000) inputs
#                                       from a fixed seed, writing nothing under tests/
#                                       (tests/test-fuzz.sh, make check)
#
# A crash (sanitizer report, failed invariant, leak, timeout) is kept in
# build/fuzz/artifacts/TARGET/; reproduce it with build/fuzz/fuzz_TARGET FILE.
# $FUZZ_ARGS is added to every libFuzzer command line (e.g. -jobs=2).
set -euo pipefail
cd "$(dirname "$0")/../.."
FUZZ_O=build/fuzz
: "${FUZZ_SECONDS:=60}" "${FUZZ_RUNS:=10000}" "${FUZZ_ARGS:=}"
# Stack traces for UBSan too; ASan's options are left to the caller
# (make check SANITIZE=1 exports its own).
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# The longest input worth trying: what the program reads at most.
max_len() {
	case $1 in
	proto) echo 8192 ;; # STINT_MSG_MAX, the receive buffer of both sides
	notify) echo 4096 ;; # NOTIFY_MAX: longer datagrams are ignored unread
	mountinfo) echo 16384 ;; # a few dozen mounts, long paths
	*) echo 4096 ;; # INI files: inih reads lines of < 200 bytes
	esac
}

lib_args() {
	local t=$1
	echo "-max_len=$(max_len "$t") -timeout=10"
	[ ! -f "tests/fuzz/$t.dict" ] || echo "-dict=tests/fuzz/$t.dict"
}

# summary TARGET LOG SECONDS CRASHES: one line of figures from libFuzzer's log.
summary() {
	local t=$1 log=$2 runs rate cov ft corp seeds
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	seeds=$(sed -n 's/^INFO: seed corpus: files: \([0-9]*\) .*/\1/p' "$log" | head -n 1)
	read -r cov ft corp < <(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 |
		sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1 \2 \3/') || true
	echo "$t: ${runs:-?} runs in $3 s (${rate:-?} exec/s), cov ${cov:-?} ft ${ft:-?}," \
		"corpus ${corp:-?} from ${seeds:-?} seeds, crashes $4"
}

# crash_of LOG: the reproducer libFuzzer wrote, if any.
crash_of() {
	sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$1" | tail -n 1
}

run_one() {
	local mode=$1 t=$2 bin=$FUZZ_O/fuzz_$2 seeds=tests/fuzz/corpus/$2 corpus log art rc=0 start crash
	[ -x "$bin" ] || { echo "fuzz: $bin missing (make fuzz-build)" >&2; return 1; }
	[ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds" >&2; return 1; }
	art=$FUZZ_O/artifacts/$t
	mkdir -p "$art" "$FUZZ_O/logs"
	start=$(date +%s)
	if [ "$mode" = smoke ]; then
		corpus=$(mktemp -d "${TMPDIR:-/tmp}/stint-fuzz-$t.XXXXXX")
		log=$corpus.log
		# shellcheck disable=SC2046,SC2086 # word lists on purpose
		"$bin" $(lib_args "$t") -seed=1 -runs="$FUZZ_RUNS" -print_final_stats=1 \
			-artifact_prefix="$art/" $FUZZ_ARGS "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
		rm -rf "$corpus"
	else
		corpus=$FUZZ_O/corpus/$t
		log=$FUZZ_O/logs/$t.log
		mkdir -p "$corpus"
		# shellcheck disable=SC2046,SC2086
		"$bin" $(lib_args "$t") -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
			-artifact_prefix="$art/" $FUZZ_ARGS "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
	fi
	echo "$([ "$mode" = smoke ] && echo "#" || echo "fuzz:")" \
		"$(summary "$t" "$log" $(($(date +%s) - start)) $((rc != 0)))"
	if [ $rc -ne 0 ]; then
		crash=$(crash_of "$log")
		echo "fuzz: $t FAILED (exit $rc)${crash:+: reproducer $crash (run $bin $crash)}"
		# The report, with the stack frames of our code (not libFuzzer's).
		grep -E 'ERROR|invariant failed|SUMMARY|^ +#[0-9]+ ' "$log" |
			grep -vE 'fuzzer::|libc_start|_start |in main |interceptor|__sanitizer|libc\.so|pthread_kill| in raise | in abort ' | head -n 30 | sed 's/^/#   /'
		[ "$mode" = smoke ] || echo "fuzz: full log $log"
	fi
	[ "$mode" != smoke ] || rm -f "$log"
	return $((rc != 0))
}

mode=${1:?usage: run.sh fuzz|smoke TARGET...}
shift
case $mode in fuzz | smoke) ;; *) echo "usage: run.sh fuzz|smoke TARGET..." >&2; exit 2 ;; esac
[ $# -gt 0 ] || { echo "run.sh: no target given" >&2; exit 2; }
failed=0
for t in "$@"; do
	run_one "$mode" "$t" || failed=$((failed + 1))
done
if [ "$mode" = fuzz ]; then
	echo "fuzz: $# target(s), $failed crashed"
fi
[ $failed -eq 0 ]
