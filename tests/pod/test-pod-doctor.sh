#!/usr/bin/env bash
# stint-peer doctor in runc pods, run in the peer container as `kubectl
# exec -c stint-peer -- stint-peer doctor` would: against a good pod before
# and after the boot (exit 0), and against deliberately broken ones, each
# failing check named with its fix and exit status 1: a wrong cgroup-path,
# a PV on a file system without xattrs (ramfs), chroot mode without
# CAP_SYS_CHROOT, systemd with runc's 3 default capabilities, no socket, an
# upper made under the other overlay xattr namespace. After the boot the
# doctor reaches the running OS through the peer's control socket.
# Before the boot the peer container only sleeps (stint waits for a peer);
# the doctor connects, reads the HELLO and lets go, and a real prepare
# afterwards still boots the OS.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/pod/libpod-runc.sh"

require_runc

BB_IMAGE=$TEST_TMP/busybox-os
SD_IMAGE=$TEST_TMP/debian
SOCK=$POD_SHARED_PATH/stint.sock
make_busybox_os "$BB_IMAGE"

# waiting_pod NAME IMAGE CAPS: the OS container (stint waiting for a peer)
# and a peer container that sleeps, so that the doctor runs before any boot.
waiting_pod() {
	pod_new "$1"
	pod_os "$2" "$3" /usr/bin/stint -v -s "$SOCK" -t 120
	pod_peer /bin/sleep 600
	pod_start
	peer_up
}

# peer_up: the peer container runs and stint serves its socket.
peer_up() {
	wait_for 10 _pod_running "$POD_PEER_ID" || { pod_logs; fail "the peer container did not start"; }
	wait_for 10 test -S "$POD_SHARED/stint.sock" || { pod_logs; fail "stint does not serve its socket"; }
}

# doctor ARGS...: stint-peer doctor in the peer container; output in
# doctor.out, exit status in DOCTOR_RC. It must finish (runc exec is
# killed after POD_TIMEOUT): whatever the guest's files are, nothing the
# doctor reads may block it.
doctor() {
	DOCTOR_RC=0
	pod_peer_exec /usr/bin/stint-peer doctor -s "$SOCK" --state /pv "$@" >doctor.out 2>doctor.err || DOCTOR_RC=$?
	cat doctor.out doctor.err
	[ "$DOCTOR_RC" != 124 ] || fail "the doctor did not finish within ${POD_TIMEOUT}s"
}

# row CHECK RESULT [DETAIL-RE]: the table has that row with that result.
row() {
	grep -qE "^$1 +$2 +.*${3:-}" doctor.out || fail "no row '$1' with result '$2'${3:+ and /$3/}"
}

# fix CHECK RE: the fix printed under CHECK's row matches RE.
fix() {
	awk -v c="$1" 'index($0, c " ") == 1 {getline; print}' doctor.out | grep -qE "^ +fix: .*$2" || fail "no fix /$2/ for '$1'"
}

t_good_pod() {
	waiting_pod good "$BB_IMAGE" k8s
	doctor
	assert_eq "$DOCTOR_RC" 0 "doctor's exit status on a good pod"
	row init ok 'stint serves /run/stint/stint.sock \(pid 1 in its pid namespace\): its HELLO \([0-9]+ fds\) checks out'
	row 'OS init' ok 'stint will exec /sbin/init, which is busybox init'
	row 'stop signal' note 'busybox init halts on SIGUSR2'
	row 'stint halt' ok '/usr/bin/stint is in the image'
	row 'caps for the mode' ok 'pivot'
	row volume ok '/pv: '
	row 'xattrs, d_type' ok
	row 'overlay on volume' ok
	row whiteouts ok
	row 'opaque dirs' ok
	row open_tree/move_mount ok
	! grep -E '^[^ ].* FAIL ' doctor.out || fail "a check failed on a good pod"
	# The probe left nothing on the PV; stint let the doctor go and waits.
	assert_eq "$(ls -A "$POD_PV")" "" "the PV after the doctor"
	assert_file_has_content "$POD_OS_LOG" 'peer disconnected before ready; waiting for the next peer'
	# JSON: the same checks, machine-readable.
	pod_peer_exec /usr/bin/stint-peer doctor -s "$SOCK" --state /pv --json >doctor.json
	$PY -c 'import json, sys
d = json.load(open("doctor.json"))
assert d["ok"] is True, d
names = [c["check"] for c in d["checks"]]
assert "init" in names and "opaque dirs" in names, names
assert all(c["result"] != "fail" for c in d["checks"])' || fail "bad JSON"
	# A real prepare afterwards boots the OS; the doctor then reads the
	# peer's state record (the socket is gone).
	pod_peer_exec /usr/bin/stint-peer -s "$SOCK" prepare --state /pv --then exit --ready-path /run/demo-service.ready \
		>prepare.out 2>&1 || { cat prepare.out; pod_logs; fail "prepare after the doctor failed"; }
	wait_for 10 grep -q '^rcS: boot 1' "$POD_OS_LOG" || { pod_logs; fail "no boot after the doctor"; }
	doctor
	assert_eq "$DOCTOR_RC" 0 "doctor's exit status after the boot"
	row init ok 'the OS booted \(boot 1\)'
	row 'OS container' skip
}

# After the boot, with the peer serving (then=wait, the sidecar's PID 1 as
# in the manifests): the doctor reaches the running OS through the peer's
# control socket and checks its init, capabilities and cgroup mounts.
t_after_boot() {
	local mode=$1
	pod_new "after-$mode"
	pod_os "$BB_IMAGE" k8s /usr/bin/stint -v -s "$SOCK" -t 20
	pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode "$mode" --state /pv --timeout 20 \
		--ready-path /run/demo-service.ready
	pod_start
	wait_for 20 eval 'pod_peer_exec /usr/bin/stint-peer status -q -s "$SOCK" 2>/dev/null' ||
		{ pod_logs; fail "the OS did not become ready"; }
	doctor --mode "$mode"
	assert_eq "$DOCTOR_RC" 0 "doctor's exit status after the boot"
	row init ok 'the OS booted \(boot 1\); the peer says ready'
	row 'OS container' ok "reached through the peer's control socket \(its init, pid 1, boot 1\)"
	row 'OS init' ok 'PID 1 of the OS runs .*busybox, which is busybox init'
	row 'caps for the mode' ok
	row 'stint halt' ok
	# The PV is in use by the running overlay: the probe overlay beside it
	# still mounts, and the doctor leaves nothing on the PV.
	row 'overlay on volume' ok
	assert_eq "$(ls -A "$POD_PV" | tr '\n' ' ')" "meta upper work " "the PV after the doctor"
}

t_systemd_good() {
	make_debian_os "$SD_IMAGE"
	waiting_pod sd-good "$SD_IMAGE" k8s
	doctor --cgroup rw --cgroup-path /sys/fs/cgroup/systemd
	assert_eq "$DOCTOR_RC" 0 "doctor's exit status"
	row 'OS init' ok 'stint will exec /sbin/init, which is systemd'
	row 'stop signal' note 'systemd halts on SIGRTMIN\+3 only'
	row 'caps for systemd' ok 'SETPCAP, SETUID, SETGID are there'
	row cgroup-path ok '/sys/fs/cgroup/systemd is the name=systemd mount in the OS container'
}

# The manifests' cgroup-path (cgroup v2 nodes) on this cgroup v1 node.
t_wrong_cgroup_path() {
	[ -d "$SD_IMAGE/lib/systemd" ] || make_debian_os "$SD_IMAGE"
	waiting_pod cgpath "$SD_IMAGE" k8s
	doctor --cgroup rw --cgroup-path /sys/fs/cgroup
	assert_eq "$DOCTOR_RC" 1 "doctor's exit status"
	row cgroup-path FAIL '/sys/fs/cgroup is a mount of tmpfs in the OS container'
	fix cgroup-path 'cgroup-path = /sys/fs/cgroup/systemd \(on this cgroup v1 node\)'
	# systemd without a writable cgroup at all.
	doctor --cgroup keep
	assert_eq "$DOCTOR_RC" 1 "doctor's exit status with cgroup = keep"
	row cgroup-path FAIL 'cgroup = keep: systemd exits 255'
}

# The PV on ramfs: no xattrs at all, so no whiteouts, no opaque dirs.
# fs_pod NAME FSTYPE: a pod whose PV is a fresh FSTYPE mount.
fs_pod() {
	pod_new "$1"
	mount -t "$2" "$2" "$POD_PV" || fail "mount $2"
	defer "umount -l '$POD_PV'"
}

# fs_pod_doctor: start it (the OS waiting, the peer idle), run doctor.
fs_pod_doctor() {
	pod_os "$BB_IMAGE" k8s /usr/bin/stint -v -s "$SOCK" -t 120
	pod_peer /bin/sleep 600
	pod_start
	peer_up
	doctor
	assert_eq "$DOCTOR_RC" 1 "doctor's exit status"
}

t_pv_without_xattrs() {
	fs_pod ramfs ramfs
	fs_pod_doctor
	row volume ok '/pv: ramfs'
	row 'xattrs, d_type' FAIL "cannot hold overlayfs' trusted.\* xattrs"
	fix 'xattrs, d_type' 'ramfs has none'
	# And what prepare says about the same volume: the same reason.
	pod_peer_exec /usr/bin/stint-peer -s "$SOCK" prepare --state /pv --then exit >prepare.out 2>&1 || true
	assert_file_has_content prepare.out "cannot hold overlayfs' trusted.\* xattrs"
}

# An upper on a file system that holds more than 4 KiB of xattr names on
# one entry (tmpfs here; XFS too): the guest pads an entry's list with
# user.* xattrs ahead of the overlay's own. The list is read whole: the
# upper is still known as one made in a user-namespaced pod, by doctor and
# by prepare alike.
t_upper_padded_xattrs() {
	fs_pod padded tmpfs
	mkdir -p "$POD_PV/upper/etc" "$POD_PV/work"
	$PY - "$POD_PV/upper/etc" <<-'EOF'
		import os, sys
		for i in range(200):
		    os.setxattr(sys.argv[1], "user.padding-of-the-guest-%03d" % i, b"x")
		os.setxattr(sys.argv[1], "user.overlay.opaque", b"y")
		assert len(b"\0".join(n.encode() for n in os.listxattr(sys.argv[1]))) > 4096
	EOF
	fs_pod_doctor
	row 'upper xattrs' FAIL 'was made by a pod with a user namespace \(user.overlay.\* xattrs\)'
	pod_peer_exec /usr/bin/stint-peer -s "$SOCK" prepare --state /pv --then exit >prepare.out 2>&1 || true
	assert_file_has_content prepare.out 'was made by a pod with a user namespace \(user.overlay.\* xattrs\)'
}

# chroot mode, the OS container without CAP_SYS_CHROOT (runc's 3 defaults).
t_chroot_without_cap() {
	waiting_pod nochroot "$BB_IMAGE" AUDIT_WRITE,KILL,NET_BIND_SERVICE
	doctor --mode chroot
	assert_eq "$DOCTOR_RC" 1 "doctor's exit status"
	row 'caps for the mode' FAIL 'chroot: stint lacks CAP_SYS_CHROOT'
	fix 'caps for the mode' 'mode = pivot'
	doctor --mode pivot
	assert_eq "$DOCTOR_RC" 0 "the same pod in pivot mode"
}

t_systemd_3caps() {
	[ -d "$SD_IMAGE/lib/systemd" ] || make_debian_os "$SD_IMAGE"
	waiting_pod sd-3caps "$SD_IMAGE" AUDIT_WRITE,KILL,NET_BIND_SERVICE
	doctor --cgroup rw --cgroup-path /sys/fs/cgroup/systemd
	assert_eq "$DOCTOR_RC" 1 "doctor's exit status"
	row 'caps for systemd' FAIL 'systemd without SETPCAP, SETUID, SETGID'
	fix 'caps for systemd' 'keep the runtime.s default capabilities'
}

# No init at all: the OS container is not running (nor was any boot).
t_no_socket() {
	pod_new nosock
	pod_peer /bin/sleep 600
	pod_start_peer
	wait_for 10 _pod_running "$POD_PEER_ID" || fail "the peer container did not start"
	doctor
	assert_eq "$DOCTOR_RC" 1 "doctor's exit status"
	row init FAIL 'no init serves /run/stint/stint.sock'
	fix init 'the OS container must run stint'
	# A stale socket file (its init gone) is told apart.
	$PY -c 'import socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1])' \
		"$POD_SHARED/stint.sock"
	doctor
	row init FAIL 'exists but nobody listens'
	# An upper made in a user-namespaced pod (user.overlay.* xattrs), in
	# this pod without one: prepare's check, made read-only.
	mkdir -p "$POD_PV/upper/etc" "$POD_PV/work"
	$PY -c 'import os, sys; os.setxattr(sys.argv[1], "user.overlay.opaque", b"y")' "$POD_PV/upper/etc"
	doctor
	row 'upper xattrs' FAIL 'was made by a pod with a user namespace \(user.overlay.\* xattrs\)'
	fix 'upper xattrs' 'hostUsers'
	# A bad option is a usage error.
	doctor --no-such-key x
	assert_eq "$DOCTOR_RC" 2 "doctor's exit status on a bad option"
}

# A hostile image (the OS container is the guest's: root there, CAP_MKNOD):
# its command line names a FIFO, its init's name holds an escape character,
# and then its /sbin/init is a FIFO, a device node of its own, a symlink to
# /dev/zero. The doctor opens none of them (a FIFO would block it forever,
# /dev/zero never ends), finishes, and prints the name escaped.
t_hostile_image() {
	local img=$TEST_TMP/hostile-os root what evil=$'/bin/ev\033il'
	rm -rf "$img"
	cp -a "$BB_IMAGE" "$img"
	mkfifo "$img/fifo"
	printf '#!/bin/sh\nexec /bin/busybox init\n' >"$img$evil"
	chmod 755 "$img$evil"
	pod_new hostile
	root=$POD_DIR/os/rootfs
	pod_os "$img" k8s /usr/bin/stint -v -s "$SOCK" -t 120 /fifo "$evil"
	pod_peer /bin/sleep 600
	pod_start
	peer_up
	doctor
	row 'OS init' note 'stint will exec /bin/ev\?il, which is an init stint does not know \(ev\?il\)'
	! grep -q $'\033' doctor.out || fail "the table holds the guest's escape character"
	pod_peer_exec /usr/bin/stint-peer doctor -s "$SOCK" --state /pv --json >doctor.json || true
	$PY -c 'import json, sys
d = json.load(open("doctor.json"))
row = [c for c in d["checks"] if c["check"] == "OS init"][0]
assert "/bin/ev\x1bil" in row["detail"], row' || { cat doctor.json; fail "bad JSON"; }
	for what in fifo device symlink; do
		rm -f "$root/sbin/init" "$root$evil"
		case $what in
		fifo) mkfifo "$root/sbin/init" ;;
		device) mknod "$root/sbin/init" c 1 5 ;;
		symlink) ln -s /dev/zero "$root/sbin/init" ;;
		esac
		doctor
		assert_eq "$DOCTOR_RC" 1 "doctor's exit status with /sbin/init a $what"
		row 'OS init' FAIL '/sbin/init in the image: not a regular file'
	done
	assert_file_has_content "$POD_OS_LOG" 'peer disconnected before ready; waiting for the next peer'
}

run_test "doctor on a good busybox pod: exit 0 before the boot (HELLO read, stint waits on), JSON; after the boot too" t_good_pod
run_test "doctor after the boot, pivot: the running OS through the peer's control socket" t_after_boot pivot
run_test "doctor after the boot, chroot: the same" t_after_boot chroot
run_test "doctor on a good systemd pod: systemd, its caps, cgroup-path" t_systemd_good
run_test "doctor: cgroup-path of a cgroup v2 node on this v1 node, and cgroup = keep with systemd: FAIL with the fix" t_wrong_cgroup_path
run_test "doctor: a PV on ramfs (no xattrs): FAIL with the fix; prepare refuses it the same way" t_pv_without_xattrs
run_test "doctor and prepare: an upper entry with over 4 KiB of the guest's xattr names before the overlay's one" t_upper_padded_xattrs
run_test "doctor: chroot mode without CAP_SYS_CHROOT: FAIL with the fix (pivot passes)" t_chroot_without_cap
run_test "doctor: systemd with runc's 3 default capabilities: FAIL with the fix" t_systemd_3caps
run_test "doctor: a hostile image (a FIFO on the command line, an escape in the init's name, /sbin/init a FIFO, a device, a symlink to /dev/zero): finishes, opens none, escapes the name" t_hostile_image
run_test "doctor: no socket, a stale socket, an upper of the other xattr namespace, a bad option" t_no_socket
