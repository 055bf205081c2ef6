#!/usr/bin/env bash
# The hostile-guest suite, part 3: what a runc pod cannot stage, in the
# project's unshare pods (tests/peer/libpod.sh), with the peer on the host.
# - cgroup=rw on a cgroup v2 mount without nsdelegate is refused (the guest
#   could raise its own limits); with nsdelegate it works.
# - stint: a connected peer that never speaks does not lock out the others
#   (stint's per-connection idle deadline).
# - SIGTERM ends a peer within 1 s while it waits for a socket that never
#   comes (then=exit with wait-socket, and then=wait).
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/peer/libpod.sh"
source "$TOP/tests/hostile/libhostile.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }

UNIFIED=/sys/fs/cgroup/unified
# The option of stint that bounds a connected peer's silence.
PEER_IDLE_OPT=--peer-idle-timeout

peer() { "$STINT_PEER" -v -s "$POD_DIR/shared/stint.sock" prepare --state "$POD_DIR/pv" --mode pivot "$@"; }

nsdelegate_on() { grep -qE " $UNIFIED .* - cgroup2 [^ ]+ [^ ]*nsdelegate" /proc/self/mountinfo; }

# The unified hierarchy's nsdelegate flag is global to the host. This test
# turns it off for a moment and on again (what the project's other cgroup v2
# tests do first, idempotently): this machine tolerates it, and the test
# leaves it on, whatever it found. Others may flip it meanwhile: any cgroup2
# mount made in the host's cgroup namespace without nsdelegate clears it
# (runc does that for a container without a cgroup namespace on this hybrid
# host, see tests/cri/runc-v2view.sh). So a try whose flag changed before
# the peer was done does not count, and is made again (three times at most).
set_nsdelegate() {
	if [ "$1" = on ]; then
		mount -o remount,nsdelegate "$UNIFIED"
	else
		# mount(8) would carry the current options over: replace them.
		mount --options-mode ignore -o remount "$UNIFIED"
	fi
}
nsdelegate_state() { if nsdelegate_on; then echo on; else echo off; fi; }

# cgroup_pod NAME: a pod whose /sys/fs/cgroup is a read-only bind of a
# cgroup2 sub-tree of this host (its own directory in the unified
# hierarchy), running a probe that tries to make a cgroup there.
cgroup_pod() {
	local name=$1 cg=$UNIFIED/stint-hostile-${TEST_TMP##*.}-$1
	mkdir -p "$cg"
	pod_defer "rmdir $cg/probe.scope $cg"
	pod_create "$name"
	POD_EXTRA="mount --bind $cg \$R/sys/fs/cgroup && mount -o remount,bind,ro \$R/sys/fs/cgroup" \
		pod_start "$name" none -s /shared/stint.sock -t 20 -- /bin/sh -c \
		'if mkdir /sys/fs/cgroup/probe.scope; then echo write=ok; else echo write=no; fi >/vol/cg.out'
	pod_wait_socket "$name"
}

# cgroup_try NAME on|off: a pod, the flag set so, a peer with cgroup=rw;
# its log in NAME.log, its exit status in TRY_RC. Fails if the flag would
# not stay put over three tries.
cgroup_try() {
	local name=$1 want=$2 try
	for try in 1 2 3; do
		cgroup_pod "$name-$try"
		set_nsdelegate "$want"
		TRY_RC=0
		peer --then exit --cgroup rw --cgroup-path /sys/fs/cgroup 2>"$name.log" || TRY_RC=$?
		[ "$(nsdelegate_state)" = "$want" ] && return 0
		echo "nsdelegate changed under try $try (wanted $want): again"
		pod_wait "$name-$try" >/dev/null
	done
	fail "nsdelegate would not stay $want for three tries (other tests on this machine flip it)"
}

t_cgroup_v2_nsdelegate() {
	grep -q " $UNIFIED .* - cgroup2 " /proc/self/mountinfo || skip "no cgroup2 hierarchy at $UNIFIED"
	defer "set_nsdelegate on"
	cgroup_try off off
	set_nsdelegate on
	cat off.log
	assert_eq "$TRY_RC" 1 "the peer's exit status for cgroup=rw without nsdelegate"
	assert_file_has_content off.log 'cgroup=rw: /sys/fs/cgroup is cgroup v2 without nsdelegate, so the guest could raise its own limits'
	assert_eq "$(pod_wait "$(basename "$POD_DIR")")" 3 "stint's exit status after the peer's ABORT"
	assert_file_has_content "$POD_DIR/pod.log" 'peer aborted: cgroup=rw: .* without nsdelegate'
	# With nsdelegate: the same pod boots and the guest writes its cgroup.
	cgroup_try on on
	cat on.log
	assert_eq "$TRY_RC" 0 "the peer's exit status for cgroup=rw with nsdelegate"
	assert_eq "$(pod_wait "$(basename "$POD_DIR")")" 0 "the OS's exit status"
	assert_eq "$(cat "$POD_DIR/vol/cg.out")" write=ok "the guest's own cgroup sub-tree"
	nsdelegate_on || fail "nsdelegate is not on at the end"
}

# A peer connects, takes the HELLO and never speaks (tests/helpers/pypeer.py
# hold): after the idle deadline stint drops it, and the next peer prepares.
t_silent_peer_no_lockout() {
	local holder t0 ms
	"$STINT" --help 2>&1 | grep -q -- "$PEER_IDLE_OPT" ||
		fail "stint has no $PEER_IDLE_OPT option (the idle deadline for a connected peer is not wired yet)"
	pod_create lockout
	pod_start lockout default -s /shared/stint.sock -t 30 "$PEER_IDLE_OPT" 1 -- /bin/true
	pod_wait_socket lockout
	"$PY" "$TOP/tests/helpers/pypeer.py" "$POD_DIR/shared/stint.sock" hold 60 >holder.out 2>&1 &
	holder=$!
	pod_defer "kill $holder"
	wait_for 10 grep -q 'peer connected' "$POD_DIR/pod.log" || { cat "$POD_DIR/pod.log"; fail "the silent peer did not connect"; }
	t0=$(now_ms)
	peer --then exit 2>peer.log || { cat peer.log "$POD_DIR/pod.log"; fail "the second peer did not finish"; }
	ms=$(($(now_ms) - t0))
	cat "$POD_DIR/pod.log"
	echo "measured: the second peer finished $ms ms after the silent one connected (idle deadline 1 s)"
	# It did wait for the silent one to be dropped: the lock was real.
	[ "$ms" -ge 800 ] || fail "the second peer did not wait for the silent one ($ms ms)"
	assert_file_has_content "$POD_DIR/pod.log" 'dropp'
	assert_eq "$(pod_wait lockout)" 0 "the OS's exit status"
	assert_no_sanitizer_report peer.log "$POD_DIR/pod.log"
}

# term_bg_peer PID WHAT: SIGTERM a peer running here; it must end within 1 s.
term_bg_peer() {
	local t0 ms rc=0
	t0=$(now_ms)
	kill -TERM "$1"
	wait "$1" || rc=$?
	ms=$(($(now_ms) - t0))
	echo "measured: $2: the peer ended $ms ms after SIGTERM (exit $rc)"
	[ "$ms" -le 1000 ] || fail "$2: the peer took $ms ms to end after SIGTERM"
}

peer_watches() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q 'anon_inode:inotify'; }

t_sigterm_waiting_for_socket() {
	local pid
	mkdir -p empty
	STINT_PEER_RUN_DIR=$TEST_TMP/run1 "$STINT_PEER" -v -s "$TEST_TMP/empty/stint.sock" prepare --state "$TEST_TMP" \
		--then exit --wait-socket 60 2>w1.log &
	pid=$!
	# Its stop signals are blocked (into a signalfd) once it watches the
	# socket's directory: then it waits.
	wait_for 5 peer_watches "$pid" || fail "the peer does not wait for the socket"
	term_bg_peer "$pid" "then=exit, waiting for the socket"
	STINT_PEER_RUN_DIR=$TEST_TMP/run2 "$STINT_PEER" -v -s "$TEST_TMP/empty/stint.sock" prepare --state "$TEST_TMP" \
		--then wait 2>w2.log &
	pid=$!
	wait_for 5 grep -q 'waiting for one' w2.log || { cat w2.log; fail "the peer does not wait"; }
	term_bg_peer "$pid" "then=wait, no init yet"
	assert_no_sanitizer_report w1.log w2.log
}

hrun "cgroup=rw on cgroup v2: refused without nsdelegate, works with it" t_cgroup_v2_nsdelegate
hrun "init: a connected peer that never speaks does not lock the next one out" t_silent_peer_no_lockout
hrun "SIGTERM within 1 s while waiting for a socket (then=exit and then=wait)" t_sigterm_waiting_for_socket
