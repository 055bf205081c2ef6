#!/usr/bin/env bash
# What booting a real OS (systemd) through the peer needs: tmpfs /run and
# /tmp, the notify socket and `stint-peer status` as a readiness probe (and
# the ready-path fallback), a writable name=systemd cgroup sub-tree, a
# generated machine-id kept across runs, a console bind.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/peer/libpod.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }

status() { "$STINT_PEER" status 2>&1; }
# notify MSG: the OS's init (tests/helpers/notifyinit.c as PID 1) sends MSG.
notify() { timeout 5 sh -c 'printf "send %s\n" "$1" >"$2"' - "$1" "$POD_DIR/vol/notify.fifo"; }
# intrude MSG: another process of the guest sends MSG to the same socket.
intrude() { "$PY" "$TOP/tests/peer/notify-send.py" "$POD_PID" /run/host/notify/notify.sock "$1"; }
init_exit() { timeout 5 sh -c 'printf "exit %s\n" "$1" >"$2"' - "$1" "$POD_DIR/vol/notify.fifo"; }

# start_waiting_peer NAME CAPS [PEER_ARGS...]: pod with the probe, peer
# in --then wait mode in the background (PEER_PID).
start_waiting_peer() {
	local name=$1 caps=$2
	shift 2
	pod_create "$name"
	pod_probe "$name"
	local cmd=(/bin/sh /vol/probe.sh)
	if [ "${NOTIFYINIT:-0}" = 1 ]; then
		cp "$STINT_HELPER_DIR/notifyinit" "$POD_DIR/vol/notifyinit"
		cmd=(/vol/notifyinit "${cmd[@]}")
	fi
	NOTIFYINIT_FIFO=/vol/notify.fifo pod_start "$name" "$caps" -s /shared/stint.sock -t 20 \
		--notify-socket /run/host/notify/notify.sock -- "${cmd[@]}"
	pod_wait_socket "$name"
	"$STINT_PEER" -s "$POD_DIR/shared/stint.sock" prepare --state "$POD_DIR/pv" --then wait "$@" \
		2>"$POD_DIR/peer.log" &
	PEER_PID=$!
	pod_defer "kill $PEER_PID"
	wait_for 10 test -e "$POD_DIR/vol/out" || { cat "$POD_DIR/peer.log" "$POD_DIR/pod.log"; fail "probe did not run"; }
	cat "$POD_DIR/peer.log" "$POD_DIR/vol/out"
}

stop_peer() {
	local rc=0
	kill -TERM "$PEER_PID"
	wait "$PEER_PID" || rc=$?
	assert_eq "$rc" 0 "peer exit status after SIGTERM"
}

test_notify_and_status() {
	NOTIFYINIT=1 start_waiting_peer n none --notify "$TEST_TMP/n/notify/notify.sock" --tmpfs /run,/tmp
	assert_eq "$(probe_value notify)" /run/host/notify/notify.sock "NOTIFY_SOCKET set by stint"
	assert_eq "$(probe_value notify_sock)" ok "the notify socket is in the new root"
	assert_eq "$(probe_value notify_dir_ro)" ro "the notify socket's directory is read-only in the new root"
	assert_eq "$(probe_value run_mode)" 755
	assert_eq "$(probe_value tmp_mode)" 1777
	# Switched but not booted: the probe says not ready.
	status >st1 && fail "status says ready before READY=1: $(cat st1)"
	assert_file_has_content st1 '^not ready: booting'
	# Only the OS's init speaks for the OS: another process is ignored.
	intrude 'READY=1'
	wait_for 5 grep -q 'ignoring datagrams from processes other than' "$POD_DIR/peer.log" ||
		fail "a datagram from another process was not ignored"
	status >/dev/null && fail "ready after a READY=1 from a process other than the init"
	notify 'STATUS=Starting units...'
	wait_for 5 grep -q 'Starting units' "$STINT_PEER_RUN_DIR/state" || fail "STATUS= not recorded"
	notify 'READY=1\nSTATUS=Startup finished'
	wait_for 5 status >/dev/null || fail "status not ready after READY=1: $(status)"
	assert_eq "$(status)" "ready: ready: Startup finished"
	notify 'STOPPING=1'
	wait_for 5 eval '! status >/dev/null' || fail "still ready after STOPPING=1"
	assert_file_has_content "$POD_DIR/peer.log" 'notify: READY=1'
	touch "$POD_DIR/vol/stop"
	init_exit 0
	assert_eq "$(pod_wait n)" 0
	# The init exited: not ready, said at once, the volume synced first.
	wait_for 5 grep -q '^state=stopped' "$STINT_PEER_RUN_DIR/state" || fail "state not 'stopped' after the init exited"
	wait_for 20 grep -q 'persistent volume synced' "$POD_DIR/peer.log" || fail "the volume was not synced"
	stop_peer
}

test_ready_path_fallback() {
	start_waiting_peer r none --ready-path /booted
	status >/dev/null && fail "ready before /booted exists"
	# Inits without sd_notify: the OS creates a path in the new root.
	timeout 5 nsenter -t "$POD_PID" -m -- /bin/touch /booted
	wait_for 5 status >/dev/null || fail "not ready after /booted appeared: $(status)"
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait r)" 0
	stop_peer
}

test_switch_is_ready_without_notify() {
	start_waiting_peer s none
	status >/dev/null || fail "without notify or ready-path, the switch is readiness: $(status)"
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait s)" 0
	stop_peer
}

# The host's layout (POD_CGROUP_PATH: name=systemd on v1, the cgroup2
# mount on v2; tests/peer/libpod.sh).
test_cgroup_rw() {
	if [ "$POD_CGROUP_MODE" = v1 ]; then
		grep -q 'name=systemd' /proc/self/cgroup || skip "no name=systemd cgroup v1 hierarchy on this machine"
	fi
	POD_CGROUP=1 start_waiting_peer c none --cgroup rw --cgroup-path "$POD_CGROUP_PATH"
	assert_eq "$(probe_value cgroup_write)" ok "no caps, yet systemd's cgroup sub-tree is writable"
	awk -v m="$POD_CGROUP_PATH" '$5==m{print $6}' "$POD_DIR/vol/mountinfo" | tail -n 1 | grep -q '^rw' ||
		fail "$POD_CGROUP_PATH not rw"
	if [ "$POD_CGROUP_MODE" = v1 ]; then
		awk '$5=="/sys/fs/cgroup"{print $6}' "$POD_DIR/vol/mountinfo" | tail -n 1 | grep -q '^ro' ||
			fail "/sys/fs/cgroup lost its ro flag"
	fi
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait c)" 0
	stop_peer
	# Without cgroup=rw the runtime's read-only mount is carried as is.
	POD_CGROUP=1 start_waiting_peer c2 none
	assert_eq "$(probe_value cgroup_write)" no
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait c2)" 0
	stop_peer
}

test_machine_id() {
	local id
	start_waiting_peer m none --machine-id generate
	id=$(probe_value machine_id)
	[[ "$id" =~ ^[0-9a-f]{32}$ ]] || fail "bad machine-id '$id'"
	assert_eq "$(cat "$POD_DIR/pv/upper/etc/machine-id")" "$id" "written to the upper layer"
	assert_not_exists "$POD_DIR/rootfs/etc/machine-id"
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait m)" 0
	stop_peer
	# Run 2 keeps it.
	pod_probe m
	pod_start m none -s /shared/stint.sock -t 20 -- /bin/sh /vol/probe.sh
	pod_wait_socket m
	timeout 20 "$STINT_PEER" -s "$POD_DIR/shared/stint.sock" prepare --state "$POD_DIR/pv" --then exit \
		--machine-id generate 2>>"$POD_DIR/peer.log"
	wait_for 10 test -e "$POD_DIR/vol/out" || fail "probe did not run"
	assert_eq "$(probe_value machine_id)" "$id" "machine-id kept in run 2"
	assert_file_has_content "$POD_DIR/peer.log" 'machine-id kept'
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait m)" 0
}

test_console() {
	# The runtime's pty would be e.g. /dev/pts/0; any char device shows the
	# bind (a test pod has no terminal).
	start_waiting_peer k none --console /dev/tty
	assert_eq "$(probe_value console)" /tty "/dev/console is a bind of the given device"
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait k)" 0
	stop_peer
}

test_container_restart() {
	# --then wait: when the OS container restarts (same pod, same PV), its
	# new init serves the socket again and the same peer prepares again.
	start_waiting_peer w none --ready-path /booted
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait w)" 0
	pod_probe w
	pod_start w none -s /shared/stint.sock -t 20 -- /bin/sh /vol/probe.sh
	wait_for 10 test -e "$POD_DIR/vol/out" || { cat "$POD_DIR/peer.log" "$POD_DIR/pod.log"; ls -la "$POD_DIR/shared"; fail "no second run"; }
	cat "$POD_DIR/peer.log"
	assert_file_has_content "$POD_DIR/peer.log" 'a new init serves .*preparing again'
	assert_eq "$(probe_value persist)" "run " "the second run sees the first one's file"
	status >/dev/null && fail "ready before /booted in the second run"
	timeout 5 nsenter -t "$POD_PID" -m -- /bin/touch /booted
	wait_for 5 status >/dev/null || fail "second run never ready: $(status)"
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait w)" 0
	stop_peer
}

run_test "notify socket in the new root, status follows READY=1/STOPPING=1, tmpfs /run /tmp" test_notify_and_status
run_test "ready-path fallback for inits without sd_notify" test_ready_path_fallback
run_test "without notify: ready once switched" test_switch_is_ready_without_notify
run_test "cgroup=rw: the name=systemd sub-tree writable without capabilities" test_cgroup_rw
run_test "machine-id=generate: written to the upper once, kept after" test_machine_id
run_test "console bound at /dev/console" test_console
run_test "then=wait: the OS container restarts, the peer prepares again" test_container_restart
