#!/usr/bin/env bash
# stint-peer exec / ready / abort: the nsfdsuds-style flow where a shell
# script gets the init's fds and does the mounting itself.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/peer/libpod.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }

start_pod() {
	pod_create "$1"
	pod_probe "$1"
	pod_start "$1" "$2" -s /shared/stint.sock -t 20 -- /bin/sh /vol/probe.sh
	pod_wait_socket "$1"
}

test_env() {
	start_pod e default
	# The command sees one variable per fd, each an open fd of the right
	# kind, and the connection; then it tells the init to give up.
	timeout 10 "$STINT_PEER" -s "$POD_DIR/shared/stint.sock" exec -- bash -c '
		set -e
		for v in MNT PID NET IPC UTS USER CGROUP PIDFD ROOT READY SOCK; do
			eval fd=\${STINT_FD_$v:?missing STINT_FD_$v}
			[ -e /proc/self/fd/$fd ] || { echo "STINT_FD_$v=$fd not open"; exit 1; }
			echo "$v=$(readlink /proc/self/fd/$fd)"
		done
		echo "INIT_PID=$STINT_INIT_PID ROOT=$STINT_ROOT"
		[ "$(readlink /proc/self/fd/$STINT_FD_MNT)" = "$(readlink /proc/'"$POD_PID"'/ns/mnt)" ] || { echo "not the pod mnt ns"; exit 1; }
		[ "$(readlink /proc/self/fd/$STINT_FD_NET)" = "$(readlink /proc/'"$POD_PID"'/ns/net)" ] || { echo "not the pod net ns"; exit 1; }
		"$STINT_PEER" abort "exec test: giving up on purpose"
	' >out 2>&1 || { cat out; fail "exec command failed"; }
	cat out
	assert_file_has_content out '^MNT=mnt:\['
	assert_file_has_content out '^SOCK=socket:\['
	assert_file_has_content out '^INIT_PID=1 ROOT=/.stint/root$'
	assert_eq "$(pod_wait e)" 3 "the init gives up after ABORT"
	assert_file_has_content "$POD_DIR/pod.log" 'exec test: giving up on purpose'
}

test_shell_flow() {
	start_pod s default
	STINT_PEER_BIN=$STINT_PEER timeout 20 "$STINT_PEER" -s "$POD_DIR/shared/stint.sock" exec -- \
		sh "$TOP/tests/peer/shell-flow.sh" /pv/state 2>peer.log || { cat peer.log "$POD_DIR/pod.log"; fail "shell flow failed"; }
	cat peer.log
	assert_file_has_content peer.log 'ready: the init acknowledged'
	wait_for 10 test -e "$POD_DIR/vol/out" || { cat "$POD_DIR/pod.log"; fail "probe did not run"; }
	cat "$POD_DIR/vol/out"
	assert_file_has_content "$POD_DIR/vol/out" '^root=overlay stint .*upperdir=/pv/state/upper'
	assert_eq "$(probe_value hosts)" ok
	assert_eq "$(probe_value vol)" ok
	assert_exists "$POD_DIR/pv/state/upper/persist"
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait s)" 0
}

test_ready_outside_exec() {
	local rc=0
	env -u STINT_FD_SOCK "$STINT_PEER" ready 2>err || rc=$?
	assert_eq "$rc" 2
	assert_file_has_content err 'STINT_FD_SOCK is not set'
}

test_exec_no_socket() {
	local rc=0
	"$STINT_PEER" -s "$TEST_TMP/none.sock" exec -- true 2>err || rc=$?
	assert_eq "$rc" 1
	assert_file_has_content err 'nothing listens on'
}

run_test "exec: one STINT_FD_* per fd, the init's own namespaces; abort" test_env
run_test "exec: shell flow with nsenter, overlay and stint-peer ready" test_shell_flow
run_test "ready outside exec: usage error" test_ready_outside_exec
run_test "exec without a socket" test_exec_no_socket
