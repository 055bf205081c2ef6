#!/usr/bin/env bash
# Benchmarks (not tests; no network): `make bench` builds what it needs and
# runs this. Each item is measured side by side in one run, the compared
# programs taking turns (A, B, A, B...) so that a noisy moment of this
# shared machine hits all of them alike; tables give the median and the
# spread (p10/p90, min/max) of the runs. Everything printed also goes to
# build/bench/results-DATE.md, and every run's value, with the machine's
# details, to results-DATE.json (and the raw samples to results-DATE.tsv).
#
# Items (BENCH_ITEMS picks some, in this order by default):
#   startup  exec of INIT -- true until it has exited: the static stint
#            (supervise and exec modes) against tini, dumb-init, catatonit
#   handoff  stint serving a socket, `stint-peer exec -- stint-peer ready`
#            connecting, receiving the fds, READY, ACK
#   memory   resident memory of each init while it supervises a child
#   boot     (issue item 1) a Debian systemd OS container booted by runc
#            alone vs through stint with the peer waiting: spawn to READY=1,
#            ratio, phases from both programs' logs (bench/pods.sh)
#   mounts   (2) the peer's prepare time vs N extra mounts in the OS
#            container; fixed part and cost per mount from a fit
#   reap     (3) 10,000 orphans reparented to PID 1 at once: time until all
#            are reaped, no zombie left, and PID 1's CPU time meanwhile;
#            stint vs tini, catatonit, dumb-init
#   signal   (4) a signal to PID 1 until the child's handler runs
#   size     (5) file sizes, and bytes per module and library from the
#            linker maps of the static binaries (bench/sizemap.py)
#   upgrade  (6) the image records on the Debian image: first boot on an
#            image (manifest), every boot (digest), an image change
#            (manifest and shadow report), the report alone (bench/upgrade.sh)
#
# Repetitions: BENCH_N (startup runs per init, default 300; the handoff
# does BENCH_N/3), BENCH_BOOT_N (7), BENCH_MOUNTS_N (5), BENCH_MOUNTS_SIZES
# ("5 20 100 500 2000"), BENCH_REAP_N (5), BENCH_REAP_ORPHANS (10000),
# BENCH_SIGNAL_N (300), BENCH_UPGRADE_N (5). BENCH_SMOKE=1: every item once with tiny counts
# (what tests/test-bench.sh runs). BENCH_RESULTS=PREFIX: where the results
# go (PREFIX.md, .json, .tsv). BENCH_PEERS="NAME=PATH ...": the peer
# builds item 2 compares (default: build/static/stint-peer), taking turns. Items 1 and 2 need root, runc and the Debian
# image (tests/images/images.sh; set STINT_CACHE to a cache that has it).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/bench
st=$out/spawntime
BENCHTOOL=$out/benchtool
stint=$top/build/static/stint
peer=$top/build/static/stint-peer

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	: "${BENCH_N:=3}" "${BENCH_BOOT_N:=1}" "${BENCH_MOUNTS_N:=1}" "${BENCH_MOUNTS_SIZES:=5 100}"
	: "${BENCH_REAP_N:=1}" "${BENCH_REAP_ORPHANS:=200}" "${BENCH_SIGNAL_N:=5}" "${BENCH_UPGRADE_N:=1}"
fi
n=${BENCH_N:-300}
items=${BENCH_ITEMS:-startup handoff memory boot mounts reap signal size upgrade}
prefix=${BENCH_RESULTS:-$out/results-$(date +%Y%m%d-%H%M%S)}
SAMPLES=$prefix.tsv

for f in "$st" "$out/true" "$stint" "$BENCHTOOL"; do
	[ -x "$f" ] || { echo "bench: $f missing: run 'make bench'" >&2; exit 1; }
done
true_bin=$out/true # a static musl `true`, so no dynamic loading in any line
mkdir -p "$(dirname "$prefix")"
: >"$SAMPLES"

# sample ITEM LABEL VALUE UNIT: one measured run.
sample() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$SAMPLES"; }
stats() { python3 "$top/bench/stats.py" "$SAMPLES" "$@"; }
want() { [[ " $items " == *" $1 "* ]]; }
us() { awk -v v="$1" 'BEGIN { printf "%8.0f", v }'; }
ver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo none; }

machine() {
	local cg
	case $(stat -f -c %T /sys/fs/cgroup) in
	cgroup2fs) cg="v2 (unified)" ;;
	tmpfs) cg="v1$([ -d /sys/fs/cgroup/unified ] && echo ' hybrid (v2 at /sys/fs/cgroup/unified)')" ;;
	*) cg=unknown ;;
	esac
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "host: $(uname -n)"
	echo "kernel: $(uname -r)"
	echo "cpu: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
	echo "cores: $(nproc)"
	echo "memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "cgroup: $cg"
	echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "stint: $(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "musl: $(ver musl) gcc: $(gcc -dumpfullversion 2>/dev/null || echo none)"
	echo "runc: $(runc --version 2>/dev/null | head -n 1 | awk '{print $3}')"
	echo "tini: $(ver tini) catatonit: $(ver catatonit) dumb-init: $(ver dumb-init)"
	echo "bench: BENCH_N=$n BENCH_BOOT_N=${BENCH_BOOT_N:-7} BENCH_MOUNTS_N=${BENCH_MOUNTS_N:-5} BENCH_REAP_N=${BENCH_REAP_N:-5} BENCH_REAP_ORPHANS=${BENCH_REAP_ORPHANS:-10000} BENCH_SIGNAL_N=${BENCH_SIGNAL_N:-300} BENCH_UPGRADE_N=${BENCH_UPGRADE_N:-5} BENCH_SMOKE=${BENCH_SMOKE:-0}"
}

# The inits that reap and forward (items 3 and 4): LABEL INIT-ARGV, ":::"
# between them; the workload's argv is appended. stint's exec mode is not
# among them: there the workload becomes PID 1 and stint is gone.
init_set() {
	printf '%s\n' stint "$stint" -q --supervise -- ":::" tini /usr/bin/tini -- ":::" catatonit /usr/bin/catatonit --
	command -v dumb-init >/dev/null && printf '%s\n' ":::" dumb-init "$(command -v dumb-init)"
	return 0
}

item_startup() {
	local names=() argv=() results rest i v
	echo "== start-up: exec of INIT ... $true_bin until exit, $n runs each, taking turns, microseconds"
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
	mapfile -t results < <(SPAWNTIME_RAW=1 "$st" run "$n" "${argv[@]}")
	[ ${#results[@]} -eq ${#names[@]} ] || { echo "bench: spawntime failed" >&2; exit 1; }
	for i in "${!names[@]}"; do
		read -r _ _ _ rest <<<"${results[$i]}" # median min p90, then every run
		for v in $rest; do sample startup "${names[$i]}" "$v" us; done
	done
	stats table startup "true alone (baseline)"
}

item_handoff() {
	local hn res tmp nums
	if [ ! -x "$peer" ] || [ "$(id -u)" != 0 ]; then
		echo "== handoff: skipped (needs root and build/static/stint-peer)"
		return 0
	fi
	hn=$(((n + 2) / 3))
	tmp=$(mktemp -d /tmp/stint-bench.XXXXXX)
	echo "== handoff: stint -s SOCK --root / -- true  +  stint-peer exec -- stint-peer ready --root /, $hn runs"
	res=$("$st" handoff "$hn" "$tmp/sock" "$stint" -q -s "$tmp/sock" --root / -- "$true_bin" --- \
		"$peer" -q -s "$tmp/sock" exec -- "$peer" -q ready --root /) || {
		rm -rf "$tmp"
		echo "bench: the handoff run failed" >&2
		exit 1
	}
	rm -rf "$tmp"
	read -r -a nums <<<"$res"
	set -- "${nums[@]}"
	printf '%-58s %8s %8s\n' "" median min
	printf '%-58s %s %s\n' "peer: connect, HELLO+fds, exec, READY, ACK (µs)" "$(us "$1")" "$(us "$2")"
	printf '%-58s %s %s\n' "until stint has switched, exec'd true and exited (µs)" "$(us "$3")" "$(us "$4")"
	sample handoff "peer: connect, HELLO+fds, exec, READY, ACK (median of $hn)" "$1" us
	sample handoff "until stint has switched, exec'd true and exited (median of $hn)" "$3" us
}

item_memory() {
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
		[ "$rss" = '?' ] || sample memory "$name VmRSS" "$rss" kB
	}
	rss_line "stint --supervise (static musl)" "$stint" -q --supervise -- sleep 5
	command -v tini-static >/dev/null && rss_line "tini-static -s" tini-static -s -- sleep 5
	command -v tini >/dev/null && rss_line "tini -s" tini -s -- sleep 5
	command -v dumb-init >/dev/null && rss_line "dumb-init" dumb-init sleep 5
	command -v catatonit >/dev/null && rss_line "catatonit" catatonit -- sleep 5
	return 0
}

# Items 1 and 2 share the runc pod helpers of the tests.
pods_loaded=0
load_pods() {
	[ $pods_loaded = 0 ] || return 0
	# shellcheck source=/dev/null
	source "$top/tests/lib/libtest.sh"
	set -e
	# shellcheck source=/dev/null
	source "$top/tests/lib/rootfs.sh"
	# shellcheck source=/dev/null
	source "$top/tests/images/images.sh"
	# shellcheck source=/dev/null
	source "$top/tests/pod/libpod-runc.sh"
	# shellcheck source=bench/pods.sh
	source "$top/bench/pods.sh"
	BOOT_TIMEOUT=${BENCH_BOOT_TIMEOUT:-60}
	pods_loaded=1
}

pods_ok() {
	if [ "$(id -u)" != 0 ] || ! command -v runc >/dev/null; then
		echo "== $1: skipped (needs root and runc)"
		return 1
	fi
}

item_boot() {
	pods_ok "item 1 (boot)" || return 0
	load_pods
	bench_boot "${BENCH_BOOT_N:-7}"
}

item_mounts() {
	pods_ok "item 2 (mounts)" || return 0
	load_pods
	bench_mounts "${BENCH_MOUNTS_N:-5}" "${BENCH_MOUNTS_SIZES:-5 20 100 500 2000}"
}

item_reap() {
	local rounds=${BENCH_REAP_N:-5} orphans=${BENCH_REAP_ORPHANS:-10000} label v set
	if [ "$(id -u)" != 0 ]; then
		echo "== item 3 (reap): skipped (needs root for PID namespaces)"
		return 0
	fi
	echo "== item 3: reaping: $orphans orphans reparented to PID 1 (of a new PID namespace) exit at once;"
	echo "   time until PID 1 has reaped them all (no zombie left in that namespace's /proc), $rounds runs each, taking turns"
	mapfile -t set < <(init_set)
	while IFS=$'\t' read -r label v cpu; do
		sample reap "$label" "$(awk -v u="$v" 'BEGIN { printf "%.1f", u / 1000 }')" ms
		sample reap-cpu "$label" "$(awk -v u="$cpu" 'BEGIN { printf "%.2f", u / 1000 }')" ms
	done < <("$BENCHTOOL" reap "$rounds" "$orphans" "${set[@]}")
	stats table reap tini
	echo "-- CPU time PID 1 spent meanwhile (/proc/1/schedstat): the init's own cost, apart from the exit storm"
	stats table reap-cpu tini
}

item_signal() {
	local rounds=${BENCH_SIGNAL_N:-300} label v set
	if [ "$(id -u)" != 0 ]; then
		echo "== item 4 (signal): skipped (needs root for PID namespaces)"
		return 0
	fi
	echo "== item 4: signal forwarding: kill(PID 1, SIGUSR1) until the child's handler runs, $rounds signals each, taking turns"
	mapfile -t set < <(init_set)
	while IFS=$'\t' read -r label v; do
		sample signal "$label" "$v" us
	done < <("$BENCHTOOL" siglat "$rounds" "${set[@]}")
	stats table signal tini
}

item_size() {
	local b
	echo "== item 5: sizes (bytes)"
	printf '%-28s %9s %8s %7s %7s  %s\n' binary file text data bss linkage
	size_line() {
		local name=$1 f=$2
		[ -e "$f" ] || return 0
		# shellcheck disable=SC2046 # three numbers
		set -- $(size "$f" | awk 'NR == 2 {print $1, $2, $3}')
		printf '%-28s %9s %8s %7s %7s  %s\n' "$name" "$(stat -L -c %s "$f")" "$1" "$2" "$3" \
			"$(file -L "$f" | grep -q 'statically linked' && echo static || echo dynamic)"
		sample size "$name: file" "$(stat -L -c %s "$f")" bytes
	}
	size_line "stint (static musl)" "$stint"
	size_line "stint-peer (static musl)" "$peer"
	size_line "tini-static" /usr/bin/tini-static
	size_line "tini" /usr/bin/tini
	size_line "catatonit" /usr/bin/catatonit
	size_line "dumb-init" /usr/bin/dumb-init
	for b in stint stint-peer; do
		[ -e "$out/$b.map" ] || { echo "-- $b: no linker map ($out/$b.map): run 'make bench'"; continue; }
		echo
		echo "-- $b: bytes per module and library, from the linker map of the static build"
		# The map's link must be the one measured: same objects, flags.
		[ "$(stat -c %s "$out/$b.mapped")" = "$(stat -c %s "$top/build/static/$b")" ] ||
			echo "   (warning: the mapped link is $(stat -c %s "$out/$b.mapped") bytes, build/static/$b differs: rebuild)"
		python3 "$top/bench/sizemap.py" "$out/$b.map" "$top/build/static/$b" "$b" "$SAMPLES"
	done
}

# Item 6: the image records (issue 11) on the Debian image, bench/upgrade.sh.
item_upgrade() {
	# shellcheck source=bench/upgrade.sh
	source "$top/bench/upgrade.sh"
	bench_upgrade
}

main() {
	local it t0
	echo "# stint bench, $(date -u +%Y-%m-%d)"
	echo
	echo '```'
	machine | tee "$prefix.machine"
	for it in $items; do
		declare -F "item_$it" >/dev/null || { echo "bench: unknown item '$it' in BENCH_ITEMS" >&2; exit 2; }
		t0=$(date +%s%N)
		echo
		"item_$it"
		echo "   ($it: $((($(date +%s%N) - t0) / 1000000)) ms)"
	done
	echo
	echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo '```'
}

main 2>&1 | tee "$prefix.md"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$prefix.machine"
python3 "$top/bench/stats.py" "$SAMPLES" json "$prefix.machine" >"$prefix.json"
rm -f "$prefix.machine"
echo "bench: results in $prefix.md and $prefix.json"
