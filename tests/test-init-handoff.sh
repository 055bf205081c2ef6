#!/usr/bin/env bash
# stint's handoff as PID 1 of real pid+mount namespaces, with the default
# container capabilities, against a peer written in Python from the
# protocol document.
. "$(dirname "$0")/lib/libtest.sh"
. "$TOP/tests/lib/rootfs.sh"
. "$TOP/tests/lib/initns.sh"

NEWROOT=$TEST_TMP/newroot
make_newroot "$NEWROOT" new-root

test_fds_are_the_inits_namespaces() {
	start_init t "$DEFAULT_CAPS" -s "$SOCK" -- /bin/true
	wait_socket
	$PYPEER "$SOCK" info >info.txt
	cat info.txt
	for ns in mnt pid net ipc uts user cgroup; do
		assert_file_has_content info.txt "^ns $ns same "
	done
	assert_file_lacks_content info.txt DIFFERENT
	assert_file_has_content info.txt "^root same"
	assert_file_has_content info.txt "fds=.*pidfd.*ready"
	assert_file_has_content info.txt "hello pid=1 root=/.stint/root"
	# and they are not simply ours: the init lives in other namespaces
	assert_ne "$(grep '^ns mnt' info.txt | cut -d' ' -f4)" "$(stat -L -c %i /proc/self/ns/mnt)"
	assert_ne "$(grep '^ns pid ' info.txt | cut -d' ' -f4)" "$(stat -L -c %i /proc/self/ns/pid)"
}

# check_probe_ran NAME MARKER: COMMAND ran as PID 1 in the root with
# MARKER, holding fds 0-2 only.
check_probe_ran() {
	show_init "$1"
	assert_file_has_content "$TEST_TMP/$1.out" "^marker: $2\$"
	assert_file_has_content "$TEST_TMP/$1.out" '^fds: 0 1 2$'
	assert_file_has_content "$TEST_TMP/$1.out" '^pid: 1$'
}

test_ready_message_chroot() {
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --root "$NEWROOT" -- /probe container
	wait_socket
	assert_eq "$($PYPEER "$SOCK" ready)" ACK
	assert_eq "$(wait_init t)" 0
	check_probe_ran t new-root
	assert_file_has_content "$TEST_TMP/t.out" '^env container=stint$'
	assert_file_has_content "$TEST_TMP/t.err" 'ready \(message\): entering'
	assert_file_has_content "$TEST_TMP/t.err" '\[\+[0-9]+ ms\] switched root: chroot'
	assert_not_exists "$SOCK"
}

test_ready_message_names_root() {
	local other=$TEST_TMP/other
	make_newroot "$other" other-root
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --root "$NEWROOT" -- /probe
	wait_socket
	assert_eq "$($PYPEER "$SOCK" ready "$other")" ACK
	assert_eq "$(wait_init t)" 0
	check_probe_ran t other-root
}

test_ready_eventfd() {
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --root "$NEWROOT" -- /probe
	wait_socket
	$PYPEER "$SOCK" eventfd
	assert_eq "$(wait_init t)" 0
	check_probe_ran t new-root
	assert_file_has_content "$TEST_TMP/t.err" 'ready \(eventfd\)'
}

test_ready_file() {
	mkdir -p "$SOCKDIR"
	echo stale >"$SOCKDIR/ready"
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --root "$NEWROOT" --ready-file "$SOCKDIR/ready" -- /probe
	wait_socket
	assert_not_exists "$SOCKDIR/ready"
	assert_file_has_content "$TEST_TMP/t.err" 'removed stale ready-file'
	$PYPEER "$SOCK" disconnect
	wait_for 10 grep -q 'peer disconnected before ready; waiting for the next peer' "$TEST_TMP/t.err" ||
		fail "the init did not notice the peer leave"
	assert_eq "$(cat "$TEST_TMP/t.rc" 2>/dev/null)" ""
	touch "$SOCKDIR/ready"
	assert_eq "$(wait_init t)" 0
	check_probe_ran t new-root
	assert_file_has_content "$TEST_TMP/t.err" 'ready \(ready-file\)'
}

test_bad_root_refused_then_good_one() {
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --root "$NEWROOT" -- /probe
	wait_socket
	assert_eq "$($PYPEER "$SOCK" ready /does/not/exist)" "ERROR: root /does/not/exist: No such file or directory"
	assert_eq "$($PYPEER "$SOCK" ready pivoted)" \
		"ERROR: READY pivoted, but '/' of the init is unchanged: pivot_root was not done in its mount namespace"
	assert_eq "$($PYPEER "$SOCK" ready)" ACK
	assert_eq "$(wait_init t)" 0
	check_probe_ran t new-root
}

test_timeout_exit() {
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --timeout 0.3 -- /probe
	assert_eq "$(wait_init t)" 3
	show_init t
	assert_file_has_content "$TEST_TMP/t.err" 'timed out after 0.3 s waiting for the peer to connect'
	assert_file_lacks_content "$TEST_TMP/t.out" marker
	assert_not_exists "$SOCK"
}

test_timeout_with_silent_peer() {
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --timeout 0.5 -- /probe
	wait_socket
	$PYPEER "$SOCK" hold 2 &
	assert_eq "$(wait_init t)" 3
	assert_file_has_content "$TEST_TMP/t.err" 'a peer is connected but did not finish'
}

test_timeout_boot() {
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --root "$NEWROOT" --timeout 0.3 --on-failure boot -- "$PROBE"
	assert_eq "$(wait_init t)" 0
	show_init t
	assert_file_has_content "$TEST_TMP/t.err" 'warning: !!! handoff failed: booting .* in the CURRENT root'
	assert_file_has_content "$TEST_TMP/t.out" '^marker: none$'
	assert_file_has_content "$TEST_TMP/t.out" '^fds: 0 1 2$'
}

test_disconnect_then_second_peer() {
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --root "$NEWROOT" -- /probe
	wait_socket
	$PYPEER "$SOCK" disconnect
	assert_eq "$($PYPEER "$SOCK" ready)" ACK
	assert_eq "$(wait_init t)" 0
	assert_file_has_content "$TEST_TMP/t.err" 'peer disconnected before ready; waiting for the next peer'
	check_probe_ran t new-root
}

test_wrong_uid_refused_right_one_accepted() {
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --allow-uid 1000,1001 --root "$NEWROOT" -- /probe
	wait_socket
	assert_eq "$(stat -c %a "$SOCK")" 600
	# root is not in the list: connected, refused, no HELLO
	assert_eq "$($PYPEER "$SOCK" ready || true)" "closed before HELLO"
	# uid 1001 may pass the 0600 socket with CAP_DAC_OVERRIDE only
	assert_eq "$(setpriv --reuid 1001 --regid 1001 --clear-groups --inh-caps=+dac_override \
		--ambient-caps=+dac_override $PYPEER "$SOCK" ready)" ACK
	assert_eq "$(wait_init t)" 0
	assert_file_has_content "$TEST_TMP/t.err" 'refused peer pid [0-9]+ uid 0: uid not in allow-uid'
	assert_file_has_content "$TEST_TMP/t.err" 'peer connected: uid 1001 gid 1001 \(its pid namespace is not visible from here\)'
	check_probe_ran t new-root
}

test_garbage_answered_and_init_keeps_serving() {
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --root "$NEWROOT" -- /probe
	wait_socket
	assert_eq "$($PYPEER "$SOCK" raw deadbeef)" "ERROR: message of 4 bytes is shorter than the 12-byte header"
	assert_eq "$($PYPEER "$SOCK" raw 585858580100020000000000)" "ERROR: bad magic: not a stint protocol message"
	assert_eq "$($PYPEER "$SOCK" raw 53544e540200020000000000)" \
		"ERROR: unsupported protocol version 2 (this side speaks 1)"
	assert_eq "$($PYPEER "$SOCK" raw 53544e540100090000000000)" "ERROR: unknown message type 9"
	assert_eq "$($PYPEER "$SOCK" raw 53544e540100020008000000010000000500000041)" \
		"ERROR: length field says 8 payload bytes but 9 arrived"
	assert_eq "$($PYPEER "$SOCK" raw 53544e540100040000000000)" "ERROR: unexpected ACK message from a peer"
	assert_eq "$($PYPEER "$SOCK" raw big)" "ERROR: message larger than 8192 bytes"
	assert_eq "$($PYPEER "$SOCK" ready)" ACK
	assert_eq "$(wait_init t)" 0
	check_probe_ran t new-root
}

test_abort_from_peer() {
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --root "$NEWROOT" -- /probe
	wait_socket
	$PYPEER "$SOCK" abort "$(printf 'disk full\nstint: forged line')"
	assert_eq "$(wait_init t)" 3
	show_init t
	assert_file_has_content "$TEST_TMP/t.err" 'error: peer aborted: disk full\?stint: forged line$'
	assert_not_exists "$SOCK"
}

test_sigterm_while_waiting() {
	local pid
	start_init t "$DEFAULT_CAPS" -s "$SOCK" -- /probe
	wait_socket
	pid=$(init_host_pid)
	kill -TERM "$pid"
	assert_eq "$(wait_init t)" 143
	assert_file_has_content "$TEST_TMP/t.err" 'SIGTERM while waiting for the peer: stopping'
	assert_not_exists "$SOCK"
}

test_rtmin3_while_waiting() {
	start_init t "$DEFAULT_CAPS" -s "$SOCK" -- /probe
	wait_socket
	kill -37 "$(init_host_pid)"
	assert_eq "$(wait_init t)" $((128 + 37))
	assert_file_has_content "$TEST_TMP/t.err" 'SIGRTMIN\+3 while waiting'
}

test_orphans_of_a_joining_peer_are_reaped() {
	local pid zombies
	start_init t "$DEFAULT_CAPS" -s "$SOCK" -- /probe
	wait_socket
	pid=$(init_host_pid)
	# A process that joins the init's pid namespace and leaves 20 orphans.
	nsenter -t "$pid" -p -m -- sh -c 'for i in $(seq 20); do (sleep 0.1 &); done'
	# The init has no child of its own yet (no command runs before the
	# handoff): every child it has is one of those orphans, and each must
	# go, zombie or not.
	wait_for 10 eval '[ -z "$(ps -o pid= --ppid "$pid")" ]' ||
		fail "children left under the init: $(ps -o pid=,stat=,comm= --ppid "$pid" | tr '\n' ' ')"
	zombies=$(ps -o stat= --ppid "$pid" | grep -c Z || true)
	assert_eq "$zombies" 0 "zombies left under the init"
	kill -TERM "$pid"
	wait_init t >/dev/null
}

# Junk at the socket's name (left by whoever) must not make every restart
# fail: a file or symlink is removed (never what a symlink points to), a
# directory is moved aside; the handoff goes on.
test_clears_junk_at_the_socket_name() {
	local kind
	mkdir -p "$SOCKDIR"
	echo precious >"$TEST_TMP/victim"
	for kind in file symlink dir; do
		rm -rf "$SOCK" "$SOCK".stale-*
		case $kind in
		file) echo junk >"$SOCK" ;;
		symlink) ln -s "$TEST_TMP/victim" "$SOCK" ;;
		dir) mkdir -p "$SOCK/sub" ;;
		esac
		start_init t "$DEFAULT_CAPS" -s "$SOCK" --root "$NEWROOT" -- /probe
		wait_socket
		assert_eq "$($PYPEER "$SOCK" ready)" ACK "$kind at the socket name"
		assert_eq "$(wait_init t)" 0 "$kind"
		assert_file_has_content "$TEST_TMP/t.err" "exists and is not a socket: removing it"
		rm -f "$TEST_TMP/t.rc"
	done
	assert_eq "$(cat "$TEST_TMP/victim")" precious "the symlink's target"
	ls -d "$SOCK".stale-* >/dev/null || fail "the directory was not moved aside"
}

test_stale_socket_replaced() {
	mkdir -p "$SOCKDIR"
	$PY -c 'import socket,sys; socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).bind(sys.argv[1])' "$SOCK"
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --root "$NEWROOT" -- /probe
	# The stale socket is there from the start: wait for stint's own.
	wait_for 10 grep -q 'serving the handoff' "$TEST_TMP/t.err" || fail "the init does not serve"
	assert_eq "$($PYPEER "$SOCK" ready)" ACK
	assert_eq "$(wait_init t)" 0
}

test_chroot_without_cap_fails_cleanly() {
	start_init t none -s "$SOCK" --root "$NEWROOT" -- /probe
	wait_socket
	assert_eq "$($PYPEER "$SOCK" ready)" ACK
	assert_eq "$(wait_init t)" 3
	show_init t
	assert_file_has_content "$TEST_TMP/t.err" "chroot $NEWROOT: Operation not permitted \(needs CAP_SYS_CHROOT"
}

test_drop_caps_before_exec() {
	start_init t "$DEFAULT_CAPS" -s "$SOCK" --root / --drop-caps cap_net_raw,cap_mknod -- \
		sh -c 'grep CapBnd /proc/self/status'
	wait_socket
	assert_eq "$($PYPEER "$SOCK" ready)" ACK
	assert_eq "$(wait_init t)" 0
	# default set 0xa80425fb minus NET_RAW (13) and MKNOD (27)
	assert_file_has_content "$TEST_TMP/t.out" "CapBnd:	$(printf '%016x' $((0xa80425fb & ~(1 << 13) & ~(1 << 27))))"
}

# pivot_in_init_ns PID: what a pivot-mode peer does, by hand, in the mount
# namespace of the init: the kernel moves the init's root and cwd with it.
pivot_in_init_ns() {
	nsenter -t "$1" -m -- sh -c "mount --bind '$NEWROOT' '$NEWROOT' && cd '$NEWROOT' &&
		pivot_root . . && umount -l ."
}

test_ready_pivoted_message() {
	start_init t none -s "$SOCK" -- /probe
	wait_socket
	pivot_in_init_ns "$(init_host_pid)"
	assert_eq "$($PYPEER "$SOCK" ready pivoted)" ACK
	assert_eq "$(wait_init t)" 0
	check_probe_ran t new-root
	assert_file_has_content "$TEST_TMP/t.err" 'switched root: pivoted by the peer'
}

test_ready_pivoted_eventfd() {
	start_init t none -s "$SOCK" -- /probe
	wait_socket
	pivot_in_init_ns "$(init_host_pid)"
	$PYPEER "$SOCK" eventfd
	assert_eq "$(wait_init t)" 0
	check_probe_ran t new-root
	assert_file_has_content "$TEST_TMP/t.err" 'ready \(eventfd\): the peer pivoted'
	# the socket was unlinked through the old root's directory, before it went
	assert_not_exists "$SOCK"
}

for t in $(declare -F | awk '$3 ~ /^test_/ {print $3}'); do
	run_test "${t#test_}" "$t"
	rm -rf "$SOCKDIR" "$TEST_TMP"/t.*
done
