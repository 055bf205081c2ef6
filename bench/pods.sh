# shellcheck shell=bash disable=SC2016 # jq filters and eval strings are single-quoted on purpose
# Items 1 and 2 of `make bench`: an OS container under runc, with and
# without stint. Sourced by bench/run.sh after tests/lib/libtest.sh,
# tests/lib/rootfs.sh, tests/images/images.sh and tests/pod/libpod-runc.sh
# (which give TEST_TMP, the cleanup on exit, the runc bundles and the cached
# Debian image). Samples go through `sample ITEM LABEL VALUE UNIT` (run.sh).
#
# Item 1, OS boot cost: the same Debian systemd image booted
#  A  by runc alone, configured as `podman run --systemd` would: tmpfs on
#     /run, /run/lock and /tmp, its own name=systemd sub-tree writable (a
#     cgroup namespace plus a rw bind of the container's sub-tree, as this
#     cgroup v1 host needs, LAB-FACTS.md), the Kubernetes default
#     capabilities, NOTIFY_SOCKET to a socket benchtool reads;
#  B  through stint (PID 1, waiting for the peer) with stint-peer already
#     running and waiting in its own container, as a native sidecar is; the
#     peer gives systemd the same tmpfs dirs, cgroup and notify socket, and
#     its state file (bound to the host) turns ready=1 on READY=1.
#  Both: time from spawning `runc run -d` until READY=1, a fresh container
#  layer (A) or a fresh persistent volume (B) each run (every boot is a
#  first boot), no terminal, the runs taking turns A, B, A, B...
#
# Item 2, prepare cost vs pod size: a busybox OS container with stint
# waiting, N tmpfs mounts made in its mount namespace (benchtool mounts),
# then `stint-peer prepare --then exit` run on the host; its wall time
# (spawn to exit), its CPU time (user + system, with its worker's: steadier
# than the wall time on a shared machine) and the steps from its log.

BOOT_SOCK=$POD_SHARED_PATH/stint.sock
BOOT_NOTIFY_TARGET=/run/host/notify/notify.sock
BOOT_NOTIFY_PEER=/run/stint-peer/notify/notify.sock

_boot_cgroup_dir() { echo "/sys/fs/cgroup/systemd$POD_CGROUP"; }

# _boot_runc_os LOG WATCH-ARGS...: start the OS container detached under
# benchtool's clock; prints its "runc_us=.. sock_us=.. scope_us=.. ready_us=..".
_boot_runc_os() {
	local log=$1
	shift
	# runc removes the container's cgroup on delete; made here, it exists
	# before runc starts, so benchtool can watch it for systemd's init.scope.
	mkdir -p "$(_boot_cgroup_dir)"
	"$BENCHTOOL" boot --log "$log" --scope "$(_boot_cgroup_dir)" --timeout "$BOOT_TIMEOUT" "$@" -- \
		runc --root "$POD_RUNC_ROOT" run -d --bundle "$POD_DIR/os" "$POD_OS_ID"
}

# _boot_stop: end the OS container (SIGKILL: how systemd stops is not
# measured) and remove it; the container layer goes with the next rootfs.
_boot_stop() {
	_pod_runc delete -f "$POD_OS_ID" >/dev/null 2>&1 || true
	wait_for 20 eval '[ "$(pod_state "$POD_OS_ID")" = none ]' || fail "container $POD_OS_ID did not go away"
	rmdir "$(_boot_cgroup_dir)" 2>/dev/null || true
}

# Pod A: runc alone. The bundle is pod_os's (the k8s capability set, a
# cgroup namespace, the runtime's masked paths), minus stint's shared dir,
# plus what podman --systemd adds.
boot_setup_a() {
	pod_new bench-a
	POD_TERMINAL=0 pod_os "$BOOT_IMAGE" k8s /sbin/init
	mkdir -p "$POD_DIR/notify"
	_pod_jq "$POD_DIR/os" '
		.mounts |= map(select(.destination != $shp))
		| .mounts += [
			{destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=755"]},
			{destination: "/run/lock", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "noexec", "mode=755"]},
			{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"]},
			{destination: "/sys/fs/cgroup/systemd", type: "bind", source: $cg, options: ["rbind", "rw", "nosuid", "nodev", "noexec"]},
			{destination: "/run/host/notify", type: "bind", source: $nd, options: ["rbind", "ro", "nosuid", "nodev", "noexec"]}]
		| .process.env += ["container=podman", "NOTIFY_SOCKET=" + $ns]' \
		--arg shp "$POD_SHARED_PATH" --arg cg "/sys/fs/cgroup/systemd$POD_CGROUP" \
		--arg nd "$POD_DIR/notify" --arg ns "$BOOT_NOTIFY_TARGET"
}

# Pod B: stint as PID 1 and the peer in its own container, started first
# and left waiting for the init's socket.
boot_setup_b() {
	local peer_bin
	pod_new bench-b
	POD_TERMINAL=0 pod_os "$BOOT_IMAGE" k8s /usr/bin/stint -v -s "$BOOT_SOCK" -t "$BOOT_TIMEOUT" \
		--notify-socket "$BOOT_NOTIFY_TARGET"
	pod_peer /usr/bin/stint-peer -v -s "$BOOT_SOCK" prepare --mode pivot --state /pv --timeout "$BOOT_TIMEOUT" \
		--tmpfs /run,/run/lock,/tmp --cgroup rw --notify "$BOOT_NOTIFY_PEER" \
		--notify-target "$BOOT_NOTIFY_TARGET" --state-file /bench/state/state
	peer_bin=$POD_DIR/peer/rootfs/usr/bin/stint-peer
	[ -x "$peer_bin" ] || fail "no stint-peer in the peer container ($STINT_PEER_STATIC)"
	mkdir -p "$POD_DIR/peer/rootfs$(dirname "$BOOT_NOTIFY_PEER")" "$POD_DIR/peer/rootfs/bench/state" "$POD_DIR/state"
	_pod_jq "$POD_DIR/peer" '.mounts += [{destination: "/bench/state", type: "bind", source: $sd, options: ["rbind", "rw"]}]' \
		--arg sd "$POD_DIR/state"
	pod_start_peer
	wait_for 10 grep -q 'waiting for one' "$POD_PEER_LOG" || {
		cat "$POD_PEER_LOG" >&2
		fail "the peer did not reach its wait"
	}
	_pod_join_ns "$POD_DIR/os" "$(_pod_pid "$POD_PEER_ID")"
}

# _boot_use A|B: point the POD_* variables at that pod (both exist at once;
# pod_new would give the running one a new emptyDir under its peer's feet).
_boot_use() {
	if [ "$1" = A ]; then
		pod_use bench-a
	else
		pod_use bench-b
	fi
}

# boot_once A|B RUN: one boot; records samples; prints one line.
boot_once() {
	local which=$1 run=$2 log res rc=0
	_boot_use "$which"
	log=$POD_DIR/os-$run.log
	: >"$log"
	_pod_os_rootfs "$BOOT_IMAGE"
	if [ "$which" = A ]; then
		res=$(_boot_runc_os "$log" --notify "$POD_DIR/notify/notify.sock") || rc=$?
	else
		_pod_running "$POD_PEER_ID" || { cat "$POD_PEER_LOG" >&2; fail "the peer container is gone"; }
		# A fresh PV: every boot a first boot, as A's fresh container layer.
		rm -rf "${POD_PV:?}"/* "$POD_DIR/state/state"
		BOOT_PEER_MARK=$(wc -l <"$POD_PEER_LOG")
		res=$(_boot_runc_os "$log" --state "$POD_DIR/state/state" --sock "$POD_SHARED/stint.sock") || rc=$?
	fi
	if [ $rc -ne 0 ]; then
		echo "--- OS log:" >&2
		tail -n 30 "$log" >&2
		[ "$which" = A ] || { echo "--- peer log:" >&2; tail -n 30 "$POD_PEER_LOG" >&2; }
		fail "boot $which run $run failed: $res"
	fi
	# The same boot on both sides: systemd's verdict (not timed).
	BOOT_STATE=$(_pod_runc exec "$POD_OS_ID" systemctl is-system-running --wait 2>&1) || true
	_boot_record "$which" "$res" "$log"
	_boot_stop
}

_kv() { sed -n "s/.*\b$1=\(-\?[0-9]*\).*/\1/p" <<<"$2"; }

# _log_ms FILE REGEX: the [+N ms] of the first line matching REGEX.
_log_ms() { grep -m1 -E -- "$2" "$1" | sed -n 's/^[^[]*\[+\([0-9]*\) ms\].*/\1/p'; }

# _boot_record A|B RESULT LOG: samples for the totals and the phases.
# Phases in benchtool's clock (µs from spawning runc), B's stint-internal
# ones from stint's log aligned at the socket's creation (stint logs
# "serving the handoff" right after listen()).
_boot_record() {
	local w=$1 res=$2 log=$3 runc scope ready sock s_serve s_conn s_switch s_exec t_stint peer_log
	runc=$(_kv runc_us "$res") scope=$(_kv scope_us "$res") ready=$(_kv ready_us "$res") sock=$(_kv sock_us "$res")
	sample boot "$w: runc run until READY=1" $((ready / 1000)) ms
	sample boot "$w: systemd init.scope until READY=1" $(((ready - scope) / 1000)) ms
	if [ "$w" = A ]; then
		sample boot-phase "A: runc run -d returns (systemd started)" $((runc / 1000)) ms
		sample boot-phase "A: spawn until systemd's init.scope" $((scope / 1000)) ms
		printf '  A: READY=1 after %5d ms (runc %d, init.scope %d); %s\n' $((ready / 1000)) $((runc / 1000)) \
			$((scope / 1000)) "$BOOT_STATE"
		return 0
	fi
	s_serve=$(_log_ms "$log" 'serving the handoff')
	s_conn=$(_log_ms "$log" 'peer connected')
	s_switch=$(_log_ms "$log" 'switched root')
	s_exec=$(_log_ms "$log" '\] exec ')
	if [ -z "$s_serve" ] || [ -z "$s_conn" ] || [ -z "$s_switch" ] || [ -z "$s_exec" ] || [ "$sock" -lt 0 ]; then
		fail "stint's log lacks a phase line ($log)"
	fi
	t_stint=$((sock / 1000 - s_serve)) # stint's +0 in benchtool's ms
	sample boot-phase "B: runc run -d returns (stint started)" $((runc / 1000)) ms
	sample boot-phase "B: spawn until stint listens" $((sock / 1000)) ms
	sample boot-phase "B: stint listens until the peer connects" $((s_conn - s_serve)) ms
	sample boot-phase "B: peer connected until root switched" $((s_switch - s_conn)) ms
	sample boot-phase "B: root switched until exec of systemd" $((s_exec - s_switch)) ms
	sample boot-phase "B: exec of systemd until its init.scope" $((scope / 1000 - t_stint - s_exec)) ms
	peer_log=$(mktemp)
	tail -n +"$((BOOT_PEER_MARK + 1))" "$POD_PEER_LOG" >"$peer_log"
	local step ms
	for step in "1/7 enter" "2/7 lower" "3/7 upper" "4/7 overlay" "5/7 carry" "6/7 switch"; do
		ms=$(grep -m1 "step $step" "$peer_log" | sed -n 's/.*(\([0-9]*\) ms)$/\1/p')
		[ -z "$ms" ] || sample boot-peer "B: peer step $step" "$ms" ms
	done
	rm -f "$peer_log"
	printf '  B: READY=1 after %5d ms (stint listens %d, peer connects +%d, switched +%d, init.scope %d); %s\n' \
		$((ready / 1000)) $((sock / 1000)) $((s_conn - s_serve)) $((s_switch - s_conn)) $((scope / 1000)) "$BOOT_STATE"
}

bench_boot() {
	local n=$1 i
	command -v runc >/dev/null || { echo "== item 1: skipped (no runc)"; return 0; }
	[ -x "$STINT_PEER_STATIC" ] || { echo "== item 1: skipped (no $STINT_PEER_STATIC)"; return 0; }
	BOOT_IMAGE=$TEST_TMP/debian
	[ -d "$BOOT_IMAGE/lib/systemd" ] || make_debian_os "$BOOT_IMAGE"
	echo "== item 1: OS boot cost: Debian 12 systemd, spawn of runc run -d until READY=1, $n runs each, A and B taking turns"
	echo "   A = runc alone as podman --systemd would run it; B = stint + stint-peer already waiting (native sidecar)"
	boot_setup_a
	boot_setup_b
	for ((i = 1; i <= n; i++)); do
		boot_once A "$i"
		boot_once B "$i"
	done
	stats table boot
	stats ratio boot "B: runc run until READY=1" "A: runc run until READY=1"
	echo "-- phases (ms; B's stint phases from its log, aligned at the socket's creation)"
	stats table boot-phase
	echo "-- the peer's steps in B (ms, from its log)"
	stats table boot-peer
	_boot_use B
	_pod_runc delete -f "$POD_PEER_ID" >/dev/null 2>&1 || true
}

# ---- item 2 ----

# bench_mounts_once N RUN NAME PEER: one prepare by PEER against a busybox
# OS container with N extra tmpfs mounts; records the peer's wall time, its
# CPU time (with its worker's) and its carry step.
bench_mounts_once() {
	local n=$1 run=$2 name=$3 peer=$4 log plog t wall cpu carry placed
	log=$POD_DIR/os-$n-$run-$name.log plog=$POD_DIR/peer-$n-$run-$name.log
	: >"$log"
	: >"$plog"
	_pod_os_rootfs "$MOUNTS_IMAGE"
	mkdir -p "$(_boot_cgroup_dir)"
	"$BENCHTOOL" time "$log" -- runc --root "$POD_RUNC_ROOT" run -d --bundle "$POD_DIR/os" "$POD_OS_ID" >/dev/null ||
		fail "runc run of $POD_OS_ID failed: $(cat "$log")"
	wait_for 10 grep -q 'serving the handoff' "$log" || fail "stint did not serve its socket: $(cat "$log")"
	"$BENCHTOOL" mounts "$(pod_os_pid)" "$n" /bench-mounts
	t=$("$BENCHTOOL" time "$plog" -- "$peer" -v -s "$POD_SHARED/stint.sock" prepare --mode pivot \
		--state "$POD_PV" --then exit --timeout 60) || {
		cat "$plog" >&2
		fail "$name prepare with $n extra mounts failed"
	}
	carry=$(grep -m1 'step 5/7 carry' "$plog" | sed -n 's/.*(\([0-9]*\) ms)$/\1/p')
	placed=$(grep -m1 'step 5/7 carry' "$plog" | sed -n 's/.*carry: \([0-9]*\) mounts placed.*/\1/p')
	if [ -z "$carry" ] || [ -z "$placed" ]; then
		fail "the peer's log lacks the carry step ($plog)"
	fi
	# Honest numbers: every extra mount was carried into the new root.
	[ "$placed" -ge "$n" ] || fail "$name carried only $placed mounts with $n extra ($plog)"
	read -r wall cpu <<<"$t"
	sample mounts "N=$n $name: prepare, wall time" "$(awk -v u="$wall" 'BEGIN { printf "%.3f", u / 1000 }')" ms
	sample mounts "N=$n $name: prepare, CPU time" "$(awk -v u="$cpu" 'BEGIN { printf "%.3f", u / 1000 }')" ms
	sample mounts "N=$n $name: carry step (its log)" "$carry" ms
	# What the OS waits for: from the peer's connect to the init's ACK.
	local t_conn t_ack
	t_conn=$(grep -m1 'connected to the init' "$plog" | sed -n 's/.*\[+\([0-9]*\) ms\].*/\1/p')
	t_ack=$(grep -m1 'acknowledged by the init' "$plog" | sed -n 's/.*\[+\([0-9]*\) ms\].*/\1/p')
	[ -n "$t_conn" ] && [ -n "$t_ack" ] || fail "the peer's log lacks the connect or the ACK ($plog)"
	sample mounts "N=$n $name: connect until the ACK (its log)" "$((t_ack - t_conn))" ms
	local step ms
	for step in "1/7 enter" "2/7 lower" "3/7 upper" "4/7 overlay" "5/7 carry" "6/7 switch"; do
		ms=$(grep -m1 "step $step" "$plog" | sed -n 's/.*(\([0-9]*\) ms)$/\1/p')
		[ -z "$ms" ] || sample "mounts-steps-$n" "$name: step $step" "$ms" ms
	done
	_boot_stop
}

# bench_mounts REPS SIZES: BENCH_PEERS="NAME=PATH ..." compares builds of
# the peer (e.g. before and after a change), taking turns with the sizes.
bench_mounts() {
	local reps=$1 sizes=$2 r n p peers
	command -v runc >/dev/null || { echo "== item 2: skipped (no runc)"; return 0; }
	read -r -a peers <<<"${BENCH_PEERS:-stint-peer=$STINT_PEER_STATIC}"
	for p in "${peers[@]}"; do
		[ -x "${p#*=}" ] || fail "item 2: no peer binary ${p#*=} (BENCH_PEERS)"
	done
	echo "== item 2: prepare cost vs pod size: N extra tmpfs mounts in the OS container, $reps runs each, sizes taking turns"
	echo "   peer (on the host, --then exit; wall time = its spawn to its exit): ${peers[*]}"
	MOUNTS_IMAGE=$TEST_TMP/busybox-os
	[ -d "$MOUNTS_IMAGE/bin" ] || make_busybox_rootfs "$MOUNTS_IMAGE"
	pod_new bench-m
	POD_TERMINAL=0 pod_os "$MOUNTS_IMAGE" k8s /usr/bin/stint -v -s "$BOOT_SOCK" -t 60 -- /bin/sleep 600
	for ((r = 1; r <= reps; r++)); do
		for n in $sizes; do
			for p in "${peers[@]}"; do
				bench_mounts_once "$n" "$r" "${p%%=*}" "${p#*=}"
			done
		done
	done
	stats table mounts
	stats fit mounts
	n=${sizes##* }
	echo "-- the peer's steps at N=$n (ms, from its log)"
	stats table "mounts-steps-$n"
}
