#!/usr/bin/env bash
# stint-peer's failure paths: bad configuration, a missing or unusable
# persistent volume, a mount failing halfway (strace fault injection). Each
# must end with one error line, an ABORT the init logs, and nothing of the
# peer's left mounted in the pod.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/peer/libpod.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }

test_bad_ini() {
	local rc
	printf '[peer]\nmode = pivot\nbogus = 1\n' >bad1.ini
	rc=0
	"$STINT_PEER" -s /nonexistent.sock prepare -c bad1.ini 2>err1 || rc=$?
	assert_eq "$rc" 2 "exit status for a bad key"
	assert_file_has_content err1 'bad1.ini:3: unknown key .bogus.'
	printf '[peer]\n\nmode = sideways\n' >bad2.ini
	rc=0
	"$STINT_PEER" -s /nonexistent.sock prepare -c bad2.ini 2>err2 || rc=$?
	assert_eq "$rc" 2
	assert_file_has_content err2 "bad2.ini:3: mode: 'sideways' is not one of chroot, pivot"
	printf '[stint]\nmode = pivot\n' >bad3.ini
	rc=0
	"$STINT_PEER" -s /nonexistent.sock prepare -c bad3.ini 2>err3 || rc=$?
	assert_eq "$rc" 2
	assert_file_has_content err3 'bad3.ini:2: unknown section \[stint\]'
	printf '[peer]\ntimeout = soon\n' >bad4.ini
	rc=0
	"$STINT_PEER" -s /nonexistent.sock prepare -c bad4.ini 2>err4 || rc=$?
	assert_eq "$rc" 2
	assert_file_has_content err4 "bad4.ini:2: timeout: 'soon' is not a number"
	# Flags go through the same checks.
	rc=0
	"$STINT_PEER" -s /x.sock prepare --state /pv --carry most 2>err5 || rc=$?
	assert_eq "$rc" 2
	assert_file_has_content err5 "carry: 'most' is not one of auto, none, list"
	rc=0
	"$STINT_PEER" -s /x.sock prepare 2>err6 || rc=$?
	assert_eq "$rc" 2
	assert_file_has_content err6 'no persistent volume'
}

test_flags_override_file() {
	# The file says chroot, the flag says pivot: pivot wins (a pod without
	# CAP_SYS_CHROOT only works that way).
	pod_create o
	printf '[peer]\nmode = chroot\nthen = exit\nstate = %s\n' "$POD_DIR/pv" >o.ini
	pod_probe o
	pod_start o none -s /shared/stint.sock -t 20 -- /bin/sh /vol/probe.sh
	pod_wait_socket o
	timeout 20 "$STINT_PEER" -s "$POD_DIR/shared/stint.sock" prepare -c o.ini --mode pivot 2>peer.log || { cat peer.log; fail "peer failed"; }
	assert_file_has_content peer.log 'mode pivot'
	wait_for 10 test -e "$POD_DIR/vol/out" || fail "no probe output"
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait o)" 0
}

# expect_abort NAME REASON_RE PEER_ARGS...: the peer fails with REASON, the
# init logs the ABORT and (--on-failure boot) runs the probe in the old
# root, whose mountinfo must show nothing the peer mounted.
expect_abort() {
	local name=$1 re=$2 rc
	shift 2
	pod_create "$name"
	pod_probe "$name"
	pod_start "$name" none -s /shared/stint.sock -t 20 --on-failure boot -- /bin/sh /vol/probe.sh
	pod_wait_socket "$name"
	rc=0
	timeout 20 "$@" 2>"$POD_DIR/peer.log" || rc=$?
	cat "$POD_DIR/peer.log"
	assert_eq "$rc" 1 "peer exit status"
	assert_file_has_content "$POD_DIR/peer.log" "error: prepare failed: .*$re"
	wait_for 10 test -e "$POD_DIR/vol/out" || { cat "$POD_DIR/pod.log"; fail "the init did not boot after the abort"; }
	cat "$POD_DIR/pod.log"
	assert_file_has_content "$POD_DIR/pod.log" "$re"
	assert_file_lacks_content "$POD_DIR/vol/mountinfo" ' /.stint/root '
	assert_file_lacks_content "$POD_DIR/vol/mountinfo" 'stint-stage| - overlay stint '
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait "$name")" 0
}

test_missing_pv() {
	expect_abort m 'persistent volume /nonexistent/pv: No such file or directory' \
		"$STINT_PEER" -s "$TEST_TMP/m/shared/stint.sock" prepare --state /nonexistent/pv --then exit
}

test_upper_without_xattrs() {
	# ramfs has no xattrs at all: overlayfs would mount it degraded
	# (deleted image files would come back); the peer refuses.
	mkdir -p "$TEST_TMP/ram"
	mount -t ramfs ramfs "$TEST_TMP/ram" || skip "cannot mount ramfs"
	pod_defer "umount -l '$TEST_TMP/ram'"
	expect_abort u "persistent volume $TEST_TMP/ram/work cannot hold overlayfs' trusted.\\* xattrs" \
		"$STINT_PEER" -s "$TEST_TMP/u/shared/stint.sock" prepare --state "$TEST_TMP/ram" --then exit
}

test_upper_work_on_two_filesystems() {
	mkdir -p "$TEST_TMP/t1" "$TEST_TMP/t2"
	mount -t tmpfs tmpfs "$TEST_TMP/t2"
	pod_defer "umount -l '$TEST_TMP/t2'"
	expect_abort w 'are on different filesystems' \
		"$STINT_PEER" -s "$TEST_TMP/w/shared/stint.sock" prepare --upper "$TEST_TMP/t1/up" \
		--work "$TEST_TMP/t2/wk" --then exit
}

test_mount_fails_midway() {
	command -v strace >/dev/null || skip "no strace"
	# The 6th move_mount is a carried mount: fail it and check the
	# overlay and the carried mounts made before it are all undone.
	# (LeakSanitizer cannot run under ptrace: off for this one.)
	expect_abort f 'attach mount at /[a-z/]* in the new root: Operation not permitted' \
		env ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -qq -o /dev/null -e trace=move_mount -e inject=move_mount:error=EPERM:when=6 \
		"$STINT_PEER" -s "$TEST_TMP/f/shared/stint.sock" prepare --state "$TEST_TMP/f/pv" --then exit
	assert_file_has_content "$POD_DIR/peer.log" 'undo: detached what this run mounted'
}

test_symlink_cannot_escape() {
	# A lower image whose /vol is an absolute symlink to /shared: resolved
	# inside the new root (openat2 RESOLVE_IN_ROOT) it points nowhere, and
	# the peer refuses rather than mounting on the old root's /shared.
	make_busybox_rootfs "$TEST_TMP/evil"
	ln -s /shared "$TEST_TMP/evil/vol"
	expect_abort y 'mount point /vol in the new root is a symlink whose target is missing' \
		"$STINT_PEER" -s "$TEST_TMP/y/shared/stint.sock" prepare --state "$TEST_TMP/y/pv" \
		--lower "$TEST_TMP/evil" --then exit
	assert_file_lacks_content "$POD_DIR/vol/mountinfo" '/vol /shared '
}

test_bad_socket() {
	local rc=0
	: >not-a-socket
	"$STINT_PEER" -s "$PWD/not-a-socket" prepare --state "$PWD" --then exit 2>err || rc=$?
	assert_eq "$rc" 1
	assert_file_has_content err 'not-a-socket is not a socket'
}

test_example_ini() {
	# examples/peer.ini is valid: with its paths moved here and no init
	# listening, the peer gets as far as looking for the socket.
	mkdir -p run pv
	sed -e "s|/run/stint|$PWD/run|g" -e "s|^state = /pv|state = $PWD/pv|" "$TOP/examples/peer.ini" >ex.ini
	"$STINT_PEER" prepare -c ex.ini --then exit 2>err || { cat err; fail "example config refused"; }
	assert_file_has_content err 'no init listens on .*/run/stint.sock'
}

run_test "examples/peer.ini is accepted" test_example_ini
run_test "bad peer.ini and flags: file:line: reason, exit 2" test_bad_ini
run_test "flags override peer.ini" test_flags_override_file
run_test "missing persistent volume: ABORT reaches the init" test_missing_pv
run_test "upper without xattrs (ramfs): refused before mounting" test_upper_without_xattrs
run_test "upper and work on two filesystems: refused" test_upper_work_on_two_filesystems
run_test "a mount failing midway: ABORT and everything undone" test_mount_fails_midway
run_test "a symlink in the image cannot send a mount outside the new root" test_symlink_cannot_escape
run_test "a socket path that is no socket" test_bad_socket
