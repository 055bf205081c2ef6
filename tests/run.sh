#!/usr/bin/env bash
# Run test files (default: every tests/*.sh and tests/*/*.sh that starts
# with "test-"), pass their TAP through, and end with one summary line
# "N passed, M failed[, K skipped]". Exit status 1 if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${TEST_TIMEOUT:=900}"

files=("$@")
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(ls tests/test-*.sh tests/*/test-*.sh 2>/dev/null | sort)

passed=0 failed=0 skipped=0
for f in "${files[@]}"; do
	echo "# $f"
	start=$(date +%s%N)
	out=$(timeout --kill-after=10 "$TEST_TIMEOUT" bash "$f" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(grep -cE '^ok ' <<<"$out" || true)
	s=$(grep -cE '^ok .*# SKIP' <<<"$out" || true)
	n=$(grep -cE '^not ok ' <<<"$out" || true)
	passed=$((passed + p - s)) skipped=$((skipped + s)) failed=$((failed + n))
	if [ $rc -ne 0 ] && [ "$n" -eq 0 ]; then
		echo "not ok - $f exited $rc without reporting a failure"
		failed=$((failed + 1))
	fi
	if [ "$p" -eq 0 ] && [ "$n" -eq 0 ] && [ $rc -eq 0 ]; then
		echo "not ok - $f ran no test"
		failed=$((failed + 1))
	fi
	echo "# $f: $(((($(date +%s%N) - start)) / 1000000)) ms"
done
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
