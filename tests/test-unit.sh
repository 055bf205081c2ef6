#!/usr/bin/env bash
# The C unit tests (tests/unit/test_*.c): build them if needed, run each,
# pass their TAP through. `make check` builds them first and sets
# $STINT_UNIT_DIR (build/asan/... with SANITIZE=1, with the sanitizer
# options exported); run alone, this builds the dev variant.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
if [ "${STINT_SANITIZE:-0}" = 1 ] || [ "${SANITIZE:-}" = 1 ]; then
	: "${STINT_UNIT_DIR:=$TOP/build/asan/tests/unit}"
	san=SANITIZE=1
else
	: "${STINT_UNIT_DIR:=$TOP/build/dev/tests/unit}"
	san=
fi

# Up to date already under make check: then this is a no-op.
if ! out=$(timeout 300 make -s -C "$TOP" $san unit-tests 2>&1); then
	printf '%s\n' "$out" | sed 's/^/# /'
	echo "not ok 1 - build the unit tests (make unit-tests)"
	exit 1
fi

rc=0
n=0
for src in "$TOP"/tests/unit/test_*.c; do
	name=$(basename "$src" .c)
	bin=$STINT_UNIT_DIR/$name
	n=$((n + 1))
	echo "# $name"
	# Each program prints its own TAP; a crash (e.g. a sanitizer report,
	# status 86) is a failure even if every line printed so far was "ok".
	out=$(timeout --kill-after=5 120 "$bin" 2>&1)
	status=$?
	printf '%s\n' "$out"
	if [ $status -ne 0 ]; then
		rc=1
		grep -q '^not ok' <<<"$out" || echo "not ok - $name exited with status $status"
	fi
done
[ $n -gt 0 ] || { echo "not ok - no unit test program in tests/unit"; exit 1; }

# src/format.c, the programs' snprintf, has no floating point: a %f (or
# %e, %g, %a) in a message would print "<bad format>". Keep them out.
if floats=$(grep -nE '"[^"]*%[-+ #0]*[0-9*]*(\.[0-9*]+)?[lL]?[fFeEgGaA][^"]*"' \
	"$TOP"/init/*.c "$TOP"/src/*.c "$TOP"/src/peer/*.c); then
	printf '%s\n' "$floats" | sed 's/^/# /'
	echo "not ok - floating-point conversions in the sources (src/format.c refuses them)"
	rc=1
else
	echo "ok - no floating-point conversion in init/, src/, src/peer/ (src/format.c has none)"
fi
exit $rc
