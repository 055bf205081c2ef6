#!/usr/bin/env bash
# stint-peer prepare end to end: a test pod (tests/peer/libpod.sh) runs
# stint as PID 1 with few or no capabilities; stint-peer runs outside with
# full capabilities, builds the overlay whose upper lives on the pod's
# persistent dir, carries the runtime's mounts and switches (pivot/chroot).
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/peer/libpod.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }

peer() { timeout 30 "$STINT_PEER" -s "$POD_DIR/shared/stint.sock" prepare --state "$POD_DIR/pv" "$@"; }

# run_pod NAME CAPS MODE: one pod run through a probe, peer in MODE.
run_pod() {
	local name=$1 caps=$2 mode=$3
	shift 3
	pod_probe "$name"
	pod_start "$name" "$caps" -s /shared/stint.sock -t 20 -- /bin/sh /vol/probe.sh
	pod_wait_socket "$name"
	peer --mode "$mode" --then exit "$@" 2>"$POD_DIR/peer.log" || { cat "$POD_DIR/peer.log" "$POD_DIR/pod.log"; fail "peer failed"; }
	wait_for 10 test -e "$POD_DIR/vol/out" || { cat "$POD_DIR/peer.log" "$POD_DIR/pod.log"; fail "probe did not run"; }
	cat "$POD_DIR/peer.log" "$POD_DIR/vol/out"
}

finish_pod() {
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait "$1")" 0 "pod exit status"
}

test_pivot_no_caps() {
	local before after
	pod_create p
	before=$(host_mounts)
	run_pod p none pivot
	# The new root is our overlay, upper on the persistent dir.
	assert_file_has_content "$POD_DIR/vol/out" '^root=overlay stint .*upperdir=[^,]*/pv/upper'
	assert_exists "$POD_DIR/pv/upper/persist"
	assert_eq "$(probe_value pid1)" sh "the command replaced stint as PID 1"
	assert_eq "$(probe_value devnull)" ok
	assert_eq "$(probe_value hosts)" ok
	assert_eq "$(probe_value vol)" ok
	assert_eq "$(probe_value pv)" hidden
	assert_eq "$(probe_value shared)" hidden
	assert_eq "$(probe_value hostname)" pod-p
	# Masks and read-only flags the runtime set are kept.
	assert_eq "$(probe_value timer_list_bytes)" 0 "/proc/timer_list stays masked"
	assert_file_has_content "$POD_DIR/vol/mountinfo" ' /proc/timer_list '
	assert_file_has_content "$POD_DIR/vol/mountinfo" ' /proc/keys '
	case "$(probe_value proc_opts)" in ro,*) ;; *) fail "/proc not read-only: $(probe_value proc_opts)" ;; esac
	case "$(probe_value sys_opts)" in ro,*) ;; *) fail "/sys not read-only: $(probe_value sys_opts)" ;; esac
	# No fresh procfs: the only proc mount is the runtime's.
	assert_eq "$(grep -c ' - proc ' "$POD_DIR/vol/mountinfo")" 1 "proc mounts"
	# A process joining the mount namespace later (as runc exec does)
	# lands in the new root.
	assert_eq "$(timeout 5 nsenter -t "$POD_PID" -m -- /bin/cat /persist)" run
	nsenter -t "$POD_PID" -m -p -- /bin/grep -q ' / / .* - overlay stint ' /proc/self/mountinfo ||
		fail "nsenter did not land in the overlay"
	finish_pod p
	after=$(host_mounts)
	assert_eq "$after" "$before" "mounts in the host's namespace"
	assert_file_has_content "$POD_DIR/peer.log" 'step 5/7 carry'
}

test_persistence() {
	pod_create r
	run_pod r none pivot
	finish_pod r
	run_pod r default pivot
	assert_eq "$(probe_value persist)" "run " "run 2 sees the file run 1 wrote"
	finish_pod r
	assert_eq "$(wc -l <"$POD_DIR/pv/upper/persist")" 2
	# The image itself was never written.
	assert_not_exists "$POD_DIR/rootfs/persist"
}

test_chroot_default_caps() {
	pod_create c
	run_pod c default chroot
	assert_file_has_content "$POD_DIR/vol/out" '^root=overlay stint '
	assert_eq "$(probe_value hosts)" ok
	assert_eq "$(probe_value pv)" hidden
	assert_eq "$(probe_value timer_list_bytes)" 0
	assert_file_has_content "$POD_DIR/pod.log" 'chroot into /.stint/root'
	# With a chroot, a process joining the mount namespace later lands in
	# the old root (the image), where the new root is /.stint/root.
	assert_not_exists "$POD_DIR/rootfs/persist"
	timeout 5 nsenter -t "$POD_PID" -m -- /bin/sh -c 'test -e /.stint/root/persist' || fail "old root has no /.stint/root/persist"
	timeout 5 nsenter -t "$POD_PID" -m -- /bin/sh -c 'test ! -e /persist' || fail "nsenter landed in the new root"
	finish_pod c
}

test_chroot_no_caps_fails_at_init() {
	pod_create n
	pod_probe n
	pod_start n none -s /shared/stint.sock -t 20 -- /bin/sh /vol/probe.sh
	pod_wait_socket n
	peer --mode chroot --then exit 2>"$POD_DIR/peer.log" && true
	assert_eq "$(pod_wait n)" 3 "stint exits 3 when it cannot chroot"
	assert_file_has_content "$POD_DIR/pod.log" 'CAP_SYS_CHROOT'
}

test_static_binaries() {
	if [ ! -x "$STINT_PEER_STATIC" ] || [ ! -x "$STINT_STATIC" ]; then skip "no static build (make static)"; fi
	STINT=$STINT_STATIC
	pod_create s
	STINT_PEER=$STINT_PEER_STATIC run_pod s none pivot
	assert_file_has_content "$POD_DIR/vol/out" '^root=overlay stint '
	finish_pod s
}

test_killed_mid_prepare() {
	local step
	for step in enter lower upper overlay carry; do
		pod_create "k-$step"
		pod_probe "k-$step"
		pod_start "k-$step" none -s /shared/stint.sock -t 20 -- /bin/sh /vol/probe.sh
		pod_wait_socket "k-$step"
		STINT_PEER_TEST_KILL_AT=$step peer --mode pivot --then exit 2>"$POD_DIR/peer1.log" && fail "the hook did not kill the peer"
		assert_file_has_content "$POD_DIR/peer1.log" "killing the peer now"
		# What the dead peer left is still mounted in the pod.
		[ "$step" = enter ] || nsenter -t "$POD_PID" -m -p -- /bin/grep -qE ' /.stint/root .* - (tmpfs stint-stage|overlay stint) ' /proc/self/mountinfo ||
			fail "nothing left behind at $step?"
		peer --mode pivot --then exit 2>"$POD_DIR/peer.log" || { cat "$POD_DIR/peer.log"; fail "restarted peer failed after a kill at $step"; }
		wait_for 10 test -e "$POD_DIR/vol/out" || fail "probe did not run after a kill at $step"
		assert_file_has_content "$POD_DIR/vol/out" '^root=overlay stint '
		assert_eq "$(probe_value pv)" hidden
		assert_eq "$(grep -c ' - overlay stint ' "$POD_DIR/vol/mountinfo")" 1 "one overlay after a kill at $step"
		[ "$step" = enter ] || assert_file_has_content "$POD_DIR/peer.log" 'removing a .* left at /.stint/root by an earlier run'
		finish_pod "k-$step"
	done
}

test_killed_after_pivot() {
	# The peer dies after pivoting but before READY: a restarted peer sees
	# the target's / is already our overlay and only sends READY.
	pod_create a
	pod_probe a
	pod_start a none -s /shared/stint.sock -t 20 -- /bin/sh /vol/probe.sh
	pod_wait_socket a
	STINT_PEER_TEST_KILL_AT=switch peer --mode pivot --then exit 2>"$POD_DIR/peer1.log" && fail "not killed"
	peer --mode pivot --then exit 2>"$POD_DIR/peer.log" || { cat "$POD_DIR/peer.log"; fail "restart failed"; }
	assert_file_has_content "$POD_DIR/peer.log" 'already our overlay'
	wait_for 10 test -e "$POD_DIR/vol/out" || fail "probe did not run"
	assert_file_has_content "$POD_DIR/vol/out" '^root=overlay stint '
	finish_pod a
}

test_no_socket_after_switch() {
	local pid rc
	pod_create x
	run_pod x none pivot
	# The init has switched: its socket is gone.
	assert_not_exists "$POD_DIR/shared/stint.sock"
	peer --mode pivot --then exit 2>"$POD_DIR/late.log" || fail "late peer exited non-zero"
	assert_file_has_content "$POD_DIR/late.log" 'no init listens on .*already switched root'
	# --then wait: stays up (a sidecar must not exit) until SIGTERM.
	"$STINT_PEER" -s "$POD_DIR/shared/stint.sock" prepare --state "$POD_DIR/pv" --then wait 2>"$POD_DIR/wait.log" &
	pid=$!
	wait_for 10 grep -q 'then: waiting' "$POD_DIR/wait.log" || fail "--then wait did not reach its wait"
	kill -0 "$pid" || fail "--then wait exited"
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	assert_eq "$rc" 0 "exit status after SIGTERM"
	finish_pod x
}

# The worker that records the image once the OS has booted never outlives
# the peer: SIGKILL the peer mid-record (a 64 GiB sparse file to hash) and
# the worker goes with it, instead of going on under the node's init.
test_record_dies_with_peer() {
	local pid kids k
	pod_create rk
	truncate -s 64G "$POD_DIR/rootfs/big"
	pod_probe rk
	pod_start rk none -s /shared/stint.sock -t 20 -- /bin/sh /vol/probe.sh
	pod_wait_socket rk
	"$STINT_PEER" -s "$POD_DIR/shared/stint.sock" prepare --state "$POD_DIR/pv" --mode pivot --then wait \
		2>"$POD_DIR/peer.log" &
	pid=$!
	pod_defer "kill -9 $pid"
	wait_for 20 grep -q 'acknowledged by the init' "$POD_DIR/peer.log" || { cat "$POD_DIR/peer.log"; fail "no switch"; }
	kids=$(cat /proc/"$pid"/task/*/children)
	[ -n "$kids" ] || fail "the peer has no recording worker"
	# It let go of what it inherited from the peer (the handoff connection,
	# the control socket): its one socket is the peer's line to it.
	for k in $kids; do
		ls -l /proc/"$k"/fd
		assert_eq "$(ls -l /proc/"$k"/fd | grep -c 'socket:')" 1 "sockets the worker $k holds"
	done
	assert_file_lacks_content "$POD_DIR/peer.log" 'image: .*(recorded|record failed|the record after the boot is done)'
	kill -9 "$pid"
	wait "$pid" || true
	for k in $kids; do
		wait_for 10 eval "! kill -0 $k 2>/dev/null" || fail "worker $k outlived the peer"
	done
	finish_pod rk
}

# line_of REGEX FILE: the number of FILE's first line matching REGEX.
line_of() { grep -n -m1 -E -- "$1" "$2" | cut -d: -f1; }

# When the image is recorded: in pivot mode once the OS has booted (here,
# with nothing watching readiness, after the switch); in chroot mode
# before the overlay, since a guest that leaves its chroot could write the
# lower (the container's own root) while a later record ran.
test_record_when_by_mode() {
	local mode rec step4 ack
	for mode in pivot chroot; do
		pod_create "when-$mode"
		run_pod "when-$mode" default "$mode"
		rec=$(line_of "recorded as this volume's image" "$POD_DIR/peer.log")
		step4=$(line_of 'step 4/7 overlay' "$POD_DIR/peer.log")
		ack=$(line_of 'acknowledged by the init' "$POD_DIR/peer.log")
		[ -n "$rec" ] && [ -n "$step4" ] && [ -n "$ack" ] || fail "$mode: the peer's log lacks a step"
		if [ "$mode" = pivot ]; then
			[ "$rec" -gt "$ack" ] || fail "pivot: the image was recorded before the init's ACK"
		else
			[ "$rec" -lt "$step4" ] || fail "chroot: the image was not recorded before the overlay"
		fi
		finish_pod "when-$mode"
	done
}

test_carry_options() {
	local rc=0
	pod_create co
	# exclude runtime mounts, include one of them back (include wins)
	run_pod co none pivot --exclude /etc/hostname,/dev/mqueue,/etc/hosts --include /etc/hosts
	assert_eq "$(grep -c ' /etc/hostname ' "$POD_DIR/vol/mountinfo")" 0 "/etc/hostname excluded"
	assert_eq "$(grep -c ' /dev/mqueue ' "$POD_DIR/vol/mountinfo")" 0 "/dev/mqueue excluded"
	assert_eq "$(grep -c ' /etc/hosts ' "$POD_DIR/vol/mountinfo")" 1 "/etc/hosts included although excluded"
	assert_eq "$(grep -c ' /shared ' "$POD_DIR/vol/mountinfo")" 0 "/shared left out"
	assert_eq "$(grep -c ' /pv ' "$POD_DIR/vol/mountinfo")" 0 "/pv left out"
	finish_pod co
	# The socket's dir (or the PV) cannot be included: a config error,
	# said before anything reaches the OS.
	pod_create ci
	pod_probe ci
	pod_start ci none -s /shared/stint.sock -t 20 -- /bin/sh /vol/probe.sh
	pod_wait_socket ci
	peer --mode pivot --then exit --include /shared 2>"$POD_DIR/peer.log" || rc=$?
	cat "$POD_DIR/peer.log"
	assert_eq "$rc" 1 "peer exit status with include=/shared"
	assert_file_has_content "$POD_DIR/peer.log" 'include=/shared: it shows the persistent volume or the handoff socket'
	assert_eq "$(pod_wait ci)" 3 "stint's exit status after the peer's ABORT"
	# carry=list: only what include names (and below it)
	pod_create cl
	run_pod cl none pivot --carry list --include /proc,/vol
	awk '{print $5}' "$POD_DIR/vol/mountinfo" | sort >targets
	# (and the pod's own boot id over the carried /proc: boot-id = generate)
	assert_eq "$(tr '\n' ' ' <targets)" "/ /proc /proc/keys /proc/sys/kernel/random/boot_id /proc/timer_list /vol " \
		"mounts with carry=list"
	finish_pod cl
}

test_odd_mount_points() {
	# A volume at a path with a space (escaped as \040 in mountinfo), one
	# nested three levels deep, and one the runtime covered later with
	# another mount (invisible in the container, so not carried).
	pod_create op
	mkdir -p "$POD_DIR/data"
	echo inside >"$POD_DIR/data/f"
	# shellcheck disable=SC2016
	POD_EXTRA='mkdir -p "$R/my vol" "$R/srv/a/b" "$R/opt/hidden"; mount --bind "$d/data" "$R/my vol"
		mount --bind "$d/data" "$R/srv/a/b"; mount -t tmpfs under "$R/opt/hidden"; mount -t tmpfs over "$R/opt"' \
		run_pod op none pivot
	assert_file_has_content "$POD_DIR/vol/mountinfo" ' /my\\040vol '
	assert_eq "$(timeout 5 nsenter -t "$POD_PID" -m -- /bin/cat '/my vol/f')" inside
	assert_eq "$(timeout 5 nsenter -t "$POD_PID" -m -- /bin/cat /srv/a/b/f)" inside
	assert_file_has_content "$POD_DIR/vol/mountinfo" ' /opt .* - tmpfs over '
	assert_file_lacks_content "$POD_DIR/vol/mountinfo" 'tmpfs under'
	finish_pod op
}

test_read_only_image_root() {
	# runc's readonlyRootfs: the image root is mounted read-only. The new
	# root's mount point ships in the image, every other write goes to the
	# overlay's upper layer.
	pod_create ro
	# shellcheck disable=SC2016
	POD_EXTRA='mount -o remount,bind,ro "$R"' run_pod ro none pivot
	assert_file_has_content "$POD_DIR/vol/out" '^root=overlay stint '
	grep -q '^[0-9]* [0-9]* [0-9:]* [^ ]* /.oldroot' "$POD_DIR/vol/mountinfo" && fail "old root still mounted"
	[ -e "$POD_DIR/pv/upper/persist" ] || fail "writes did not go to the upper layer"
	finish_pod ro
}

test_lower_path() {
	# lower= a base image on a volume of the peer's, instead of the
	# target's own root.
	make_busybox_rootfs "$TEST_TMP/base"
	echo "from the base image" >"$TEST_TMP/base/etc/base-marker"
	pod_create lp
	run_pod lp none pivot --lower "$TEST_TMP/base"
	assert_file_has_content "$POD_DIR/vol/out" '^root=overlay stint '
	assert_eq "$(timeout 5 nsenter -t "$POD_PID" -m -- /bin/cat /etc/base-marker)" "from the base image"
	# The base image has no /vol: the peer made the mount point (in the
	# upper layer) and the probe ran from the carried volume.
	[ -d "$POD_DIR/pv/upper/vol" ] || fail "no /vol mount point made in the upper layer"
	finish_pod lp
	# An image upgrade: a new lower (another copy, another version)
	# under the same upper still mounts, with run 1's files.
	make_busybox_rootfs "$TEST_TMP/base2"
	echo "version 2" >"$TEST_TMP/base2/etc/base-marker"
	run_pod lp none pivot --lower "$TEST_TMP/base2"
	assert_eq "$(probe_value persist)" "run " "run 1's file over the new image"
	assert_eq "$(timeout 5 nsenter -t "$POD_PID" -m -- /bin/cat /etc/base-marker)" "version 2"
	finish_pod lp
}

test_user_namespace() {
	# A user-namespaced pod: the peer joins its user namespace first and
	# overlayfs keeps its xattrs in user.overlay.* (userxattr).
	pod_create un
	POD_USERNS=1 run_pod un none pivot
	assert_file_has_content "$POD_DIR/peer.log" "in the init's mount namespace and user namespace"
	assert_file_has_content "$POD_DIR/vol/out" '^root=overlay stint .*userxattr'
	assert_eq "$(probe_value pv)" hidden
	assert_eq "$(probe_value timer_list_bytes)" 0
	finish_pod un
}

test_shared_root() {
	# pivot_root refuses a shared parent: the peer makes the container's /
	# a slave first (and so nothing it mounts propagates anywhere).
	pod_create sr
	POD_SHARED_ROOT=1 run_pod sr none pivot
	assert_file_has_content "$POD_DIR/peer.log" '/ made a slave'
	assert_file_has_content "$POD_DIR/vol/out" '^root=overlay stint '
	finish_pod sr
}

run_test "pivot, no capabilities: overlay on the PV, mounts carried, masks kept" test_pivot_no_caps
run_test "persistence across two runs of the pod" test_persistence
run_test "carry: exclude, include, carry=list" test_carry_options
run_test "mount points with a space, nested ones" test_odd_mount_points
run_test "read-only image root (readonlyRootfs)" test_read_only_image_root
run_test "lower= a base image path from the peer's side" test_lower_path
run_test "user-namespaced pod (userxattr)" test_user_namespace
run_test "a shared root mount is made a slave, pivot works" test_shared_root
run_test "chroot with CAP_SYS_CHROOT (default caps)" test_chroot_default_caps
run_test "chroot without capabilities fails in the init" test_chroot_no_caps_fails_at_init
run_test "static binaries" test_static_binaries
run_test "peer killed mid-prepare at each step, restarted, completes" test_killed_mid_prepare
run_test "peer killed after pivot, restarted, sends READY" test_killed_after_pivot
run_test "peer started after the switch: exits 0, or waits" test_no_socket_after_switch
run_test "the worker recording the image after the boot dies with the peer, holding nothing of the peer's" test_record_dies_with_peer
run_test "the image is recorded after the boot in pivot mode, before the overlay in chroot mode" test_record_when_by_mode
