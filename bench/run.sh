#!/usr/bin/env bash
# Benchmarks (not tests; no network): `make bench` builds what it needs and
# runs this. Prints three small tables:
#  1. start-up: exec of INIT -- true until it has exited, for the static
#     stint (supervise and exec modes) against tini, dumb-init and catatonit
#     (Debian packages; missing ones are left out);
#  2. handoff: stint serving a socket, `stint-peer exec -- stint-peer ready
#     --root /` connecting, receiving the fds, sending READY, getting ACK;
#  3. resident memory of each init while it supervises a child;
#  4. binary sizes.
# BENCH_N runs per line (default 300; the handoff does BENCH_N/3).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/bench
st=$out/spawntime
stint=$top/build/static/stint
peer=$top/build/static/stint-peer
n=${BENCH_N:-300}

for f in "$st" "$out/true" "$stint"; do
	[ -x "$f" ] || { echo "bench: $f missing: run 'make bench'" >&2; exit 1; }
done
true_bin=$out/true # a static musl `true`, so no dynamic loading in any line

# The table's "µs" columns are medians etc. of whole runs in microseconds.
us() { awk -v v="$1" 'BEGIN { printf "%8.0f", v }'; }

echo "== start-up: exec of INIT ... $true_bin until exit, $n runs each, taking turns, microseconds"
names=() argv=()
add() {
	names+=("$1")
	shift
	[ ${#argv[@]} -eq 0 ] || argv+=(":::")
	argv+=("$@")
}
add "true alone (baseline)" "$true_bin"
add "stint --supervise (static musl)" "$stint" -q --supervise -- "$true_bin"
add "stint, exec mode (static musl)" "$stint" -q -- "$true_bin"
for b in tini-static tini; do
	command -v $b >/dev/null && add "$b -s" "$(command -v $b)" -s -- "$true_bin"
done
command -v dumb-init >/dev/null && add "dumb-init" "$(command -v dumb-init)" "$true_bin"
command -v catatonit >/dev/null && add "catatonit" "$(command -v catatonit)" -- "$true_bin"
mapfile -t results < <("$st" run "$n" "${argv[@]}")
[ ${#results[@]} -eq ${#names[@]} ] || { echo "bench: spawntime failed" >&2; exit 1; }
printf '%-34s %8s %8s %8s  %s\n' "init" median min p90 "median over true alone"
read -r base _ <<<"${results[0]}"
for i in "${!names[@]}"; do
	read -r med min p90 <<<"${results[$i]}"
	printf '%-34s %s %s %s  %+6d\n' "${names[$i]}" "$(us "$med")" "$(us "$min")" "$(us "$p90")" $((med - base))
done

echo
if [ -x "$peer" ] && [ "$(id -u)" = 0 ]; then
	hn=$(((n + 2) / 3))
	tmp=$(mktemp -d /tmp/stint-bench.XXXXXX)
	trap 'rm -rf "$tmp"' EXIT
	echo "== handoff: stint -s SOCK --root / -- true  +  stint-peer exec -- stint-peer ready --root /, $hn runs"
	res=$("$st" handoff "$hn" "$tmp/sock" "$stint" -q -s "$tmp/sock" --root / -- "$true_bin" --- \
		"$peer" -q -s "$tmp/sock" exec -- "$peer" -q ready --root /)
	read -r -a nums <<<"$res"
	set -- "${nums[@]}"
	printf '%-58s %8s %8s\n' "" median min
	printf '%-58s %s %s\n' "peer: connect, HELLO+fds, exec, READY, ACK (µs)" "$(us "$1")" "$(us "$2")"
	printf '%-58s %s %s\n' "until stint has switched, exec'd true and exited (µs)" "$(us "$3")" "$(us "$4")"
else
	echo "== handoff: skipped (needs root and build/static/stint-peer)"
fi

echo
echo "== resident memory of the init while it supervises sleep (kB, VmRSS / VmHWM)"
rss_line() {
	local name=$1 pid rss hwm
	shift
	"$@" >/dev/null 2>&1 &
	pid=$!
	sleep 0.3
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo '?')
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo '?')
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	printf '%-34s %6s %6s\n' "$name" "$rss" "$hwm"
}
rss_line "stint --supervise (static musl)" "$stint" -q --supervise -- sleep 5
command -v tini-static >/dev/null && rss_line "tini-static -s" tini-static -s -- sleep 5
command -v tini >/dev/null && rss_line "tini -s" tini -s -- sleep 5
command -v dumb-init >/dev/null && rss_line "dumb-init" dumb-init sleep 5
command -v catatonit >/dev/null && rss_line "catatonit" catatonit -- sleep 5

echo
echo "== sizes (bytes)"
printf '%-28s %9s %8s %7s %7s  %s\n' binary file text data bss linkage
size_line() {
	local name=$1 f=$2
	[ -e "$f" ] || return 0
	# shellcheck disable=SC2046 # three numbers
	set -- $(size "$f" | awk 'NR == 2 {print $1, $2, $3}')
	printf '%-28s %9s %8s %7s %7s  %s\n' "$name" "$(stat -L -c %s "$f")" "$1" "$2" "$3" \
		"$(file -L "$f" | grep -q 'statically linked' && echo static || echo dynamic)"
}
size_line "stint (static musl)" "$stint"
size_line "stint-peer (static musl)" "$peer"
size_line "tini-static" /usr/bin/tini-static
size_line "tini" /usr/bin/tini
size_line "catatonit" /usr/bin/catatonit
size_line "dumb-init" /usr/bin/dumb-init
