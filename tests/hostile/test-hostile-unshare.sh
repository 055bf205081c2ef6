#!/usr/bin/env bash
# The hostile-guest suite, part 3: what a runc pod cannot stage, in the
# project's unshare pods (tests/peer/libpod.sh), with the peer on the host.
# - cgroup=rw on cgroup v2, with the host's nsdelegate as it is: the guest
#   gets its cgroup sub-tree but cannot raise its own limits.
# - stint: a connected peer that never speaks does not lock out the others
#   (stint's per-connection deadline, --peer-timeout).
# - SIGTERM ends a peer within 1 s while it waits for a socket that never
#   comes (then=exit with wait-socket, and then=wait).
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/peer/libpod.sh"
source "$TOP/tests/hostile/libhostile.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }

UNIFIED=/sys/fs/cgroup/unified
# The option of stint that bounds a connected peer (a per-connection deadline).
PEER_IDLE_OPT=--peer-timeout

peer() { "$STINT_PEER" -v -s "$POD_DIR/shared/stint.sock" prepare --state "$POD_DIR/pv" --mode pivot "$@"; }

nsdelegate_on() { grep -qE " $UNIFIED .* - cgroup2 [^ ]+ [^ ]*nsdelegate" /proc/self/mountinfo; }

nsdelegate_state() { if nsdelegate_on; then echo on; else echo off; fi; }

# What the guest tries in its cgroup: make a child cgroup (systemd must),
# move itself (cgroup.procs stays writable), raise two of its own limits.
CGROUP_PROBE='cd /sys/fs/cgroup
if mkdir probe.scope && rmdir probe.scope; then echo mkdir=ok; else echo mkdir=no; fi
if echo $$ >cgroup.procs; then echo procs=ok; else echo procs=no; fi
for f in cgroup.max.descendants cgroup.max.depth; do
	if echo 5 >$f; then echo $f=WRITTEN; else echo $f=refused; fi
done'

# cgroup_pod NAME: a pod in a cgroup of its own in this host's unified
# hierarchy, with a cgroup namespace rooted there and cgroup2 mounted
# read-only at /sys/fs/cgroup, as a runtime gives a container on a cgroup v2
# node; it runs CGROUP_PROBE without capabilities.
cgroup_pod() {
	local name=$1 cg=$UNIFIED/stint-hostile-${TEST_TMP##*.}-$1 home
	mkdir -p "$cg"
	pod_defer "pod_cgroup_rm $cg"
	pod_create "$name"
	# The pod is born in that cgroup; this shell goes back to its own.
	home=$UNIFIED$(sed -n 's/^0:://p' /proc/self/cgroup)
	echo "$BASHPID" >"$cg/cgroup.procs"
	POD_CGROUP=1 POD_EXTRA='umount -R "$R/sys/fs/cgroup" && mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup" && mount -o remount,bind,ro,nosuid,nodev,noexec "$R/sys/fs/cgroup"' \
		pod_start "$name" none -s /shared/stint.sock -t 20 -- /bin/sh -c "($CGROUP_PROBE) >/vol/cg.out 2>&1"
	echo "$BASHPID" >"$home/cgroup.procs"
	pod_wait_socket "$name"
}

# cgroup = rw on cgroup v2 hands the guest its cgroup, whose root holds the
# container's own limits. With nsdelegate the kernel keeps them; without
# it the peer binds them read-only. Either way the guest makes its child
# cgroups and moves its processes, and raises no limit.
t_cgroup_v2_limits() {
	local state
	grep -q " $UNIFIED .* - cgroup2 " /proc/self/mountinfo || skip "no cgroup2 hierarchy at $UNIFIED"
	# The flag is the whole machine's: the test takes it as the host has
	# it and never changes it (on this hybrid host it is off).
	state=$(nsdelegate_state)
	cgroup_pod cg
	peer --then exit --cgroup rw --cgroup-path /sys/fs/cgroup 2>cg.log ||
		{ cat cg.log "$POD_DIR/pod.log"; fail "cgroup=rw (nsdelegate $state): the peer failed"; }
	cat cg.log
	assert_eq "$(pod_wait cg)" 0 "the OS's exit status (nsdelegate $state)"
	cat "$POD_DIR/vol/cg.out"
	assert_file_has_content "$POD_DIR/vol/cg.out" '^mkdir=ok$'
	assert_file_has_content "$POD_DIR/vol/cg.out" '^procs=ok$'
	assert_file_has_content "$POD_DIR/vol/cg.out" '^cgroup.max.descendants=refused$'
	assert_file_has_content "$POD_DIR/vol/cg.out" '^cgroup.max.depth=refused$'
	if [ "$state" = off ]; then
		assert_file_has_content cg.log 'cgroup=rw: the node.s cgroup2 has no nsdelegate: [1-9][0-9]* files'
	else
		assert_file_lacks_content cg.log 'has no nsdelegate'
	fi
}

# A peer connects, takes the HELLO and never speaks (tests/helpers/pypeer.py
# hold): after the idle deadline stint drops it, and the next peer prepares.
t_silent_peer_no_lockout() {
	local holder t0 ms
	[[ $("$STINT" --help 2>&1) == *"$PEER_IDLE_OPT"* ]] ||
		fail "stint has no $PEER_IDLE_OPT option (a deadline for a connected peer)"
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
	echo "measured: the second peer finished $ms ms after the silent one connected (peer-timeout 1 s)"
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

peer_watches() {
	local fd
	for fd in "/proc/$1/fd/"*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:inotify" ] && return 0
	done
	return 1
}

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

hrun "cgroup=rw on cgroup v2 (nsdelegate as the host has it): the guest raises none of its limits" t_cgroup_v2_limits
hrun "init: a connected peer that never speaks does not lock the next one out" t_silent_peer_no_lockout
hrun "SIGTERM within 1 s while waiting for a socket (then=exit and then=wait)" t_sigterm_waiting_for_socket
