#!/usr/bin/env bash
# User-namespaced pods (Kubernetes' hostUsers: false) under runc, as
# containerd 2 with runc 1.2 runs them: both containers of the pod, the
# privileged peer too, in one user namespace mapping 0-65535 to a high range
# (POD_USERNS=K: K*2^20, another range for each pod, as the kubelet
# allocates them); the image, the emptyDir and the PV reach the containers
# through idmapped mounts with that mapping, so the PV's files keep ids 0-65535
# on disk whatever range a pod gets. The peer is privileged only inside the
# pod's user namespace and builds the overlay with userxattr
# (user.overlay.* xattrs). An upper made under the other xattr namespace is
# refused, in both directions.
#
# systemd needs its cgroup delegated to the pod's root: runc does that on
# cgroup v2 when the container's cgroup mount is read-write in its own cgroup
# namespace (containerd: runtime option cgroup_writable; CRI-O: annotation
# cgroup2-mount-hierarchy-rw.crio.io; POD_CGROUP_RW=1 here). So the systemd
# tests run on v2 (tests/pod/test-pod-cgroup2.sh runs them in the v2 view of
# this host); on v1 the name=systemd cgroup stays the host root's and
# systemd cannot start, which the v1 run checks.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/pod/libpod-runc.sh"

require_runc

BB=$TEST_TMP/busybox-os
DEBIAN=$TEST_TMP/debian
SOCK=$POD_SHARED_PATH/stint.sock

t_image() {
	make_busybox_os "$BB"
	make_debian_os "$DEBIAN"
	assert_exists "$DEBIAN/lib/systemd/systemd"
}

# xattr_names FILE: the xattr names FILE carries (on the host, as root).
xattr_names() {
	$PY -c 'import os, sys; print(" ".join(sorted(os.listxattr(sys.argv[1], follow_symlinks=False))))' "$1"
}

# bb_pod NAME K PV [PEER ARGS...]: a busybox pod in user namespace K (none
# when K is empty), pivot mode, the busybox service's file as readiness.
bb_pod() {
	local name=$1 k=$2 pv=$3
	shift 3
	POD_USERNS=$k pod_new "$name" "$pv"
	pod_os "$BB" k8s /usr/bin/stint -v -s "$SOCK" -t 20
	pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode pivot --state /pv --timeout 20 \
		--ready-path /run/demo-service.ready "$@"
}

bb_booted() {
	grep -q '^rcS: boot' "$POD_OS_LOG" && [ -e "$POD_PV/upper/run/demo-service.ready" ]
}

bb_boot() {
	pod_start
	wait_for 15 bb_booted || { pod_logs; fail "the busybox OS did not boot"; }
}

# The pod itself: one user namespace for both containers, the kubelet-style
# mapping, idmapped volumes, capabilities that stop at the namespace.
t_pod() {
	local base=$((5 * 1048576)) os_ns peer_ns
	echo host >"$TEST_TMP/pv-probe-file"
	POD_USERNS=5 pod_new probe "$TEST_TMP/pv-probe"
	cp "$TEST_TMP/pv-probe-file" "$POD_PV/from-host"
	pod_os "$BB" k8s /usr/bin/stint -q -- /bin/sh -c 'sleep 30'
	pod_peer /bin/sh -c 'cat /proc/self/uid_map >/pv/uid_map; stat -c %u:%g /pv/from-host >/pv/owner;
		echo peer >/pv/from-peer; grep CapEff /proc/self/status >/pv/caps;
		mknod /tmp/null c 1 3 2>/pv/mknod && echo allowed >>/pv/mknod; sleep 30'
	pod_start
	wait_for 10 test -s "$POD_PV/mknod" || { pod_logs; fail "the peer probe did not run"; }
	os_ns=$(readlink "/proc/$(pod_os_pid)/ns/user")
	peer_ns=$(readlink "/proc/$(_pod_pid "$POD_PEER_ID")/ns/user")
	echo "OS $os_ns, peer $peer_ns, host $(readlink /proc/self/ns/user)"
	assert_eq "$peer_ns" "$os_ns" "the peer's user namespace"
	assert_ne "$os_ns" "$(readlink /proc/self/ns/user)" "the pod's user namespace"
	assert_eq "$(pod_exec cat /proc/self/uid_map | tr -s ' ')" " 0 $base 65536" "OS uid_map"
	assert_eq "$(tr -s ' ' <"$POD_PV/uid_map")" " 0 $base 65536" "peer uid_map"
	# Host processes of the pod run as the range's ids.
	assert_eq "$(stat -c %u "/proc/$(pod_os_pid)")" "$base" "the OS's PID 1 on the host"
	# The PV through its idmapped mount: ids on disk are the pod's ids.
	assert_eq "$(cat "$POD_PV/owner")" 0:0 "a file of host uid 0 inside the pod"
	assert_eq "$(stat -c %u:%g "$POD_PV/from-peer")" 0:0 "a file the pod's root wrote, on disk"
	# Every capability, but only over the pod's user namespace: no device
	# node (CAP_MKNOD counts in the initial user namespace only).
	assert_eq "$(cat "$POD_PV/caps")" "CapEff:	000001fffeffffff"
	assert_file_lacks_content "$POD_PV/mknod" allowed
	cat "$POD_PV/mknod"
}

# busybox boots from the PV in a user-namespaced pod, then again in a pod
# with another range: same files, same owners.
t_busybox_persists() {
	local pv=$TEST_TMP/pv-bb
	bb_pod bb 1 "$pv"
	bb_boot
	pod_exec /bin/sh -c 'echo kept >/root/note; mkdir -p /home/guest && chown 1000:1000 /home/guest'
	assert_eq "$(pod_exec cat /var/lib/demo/boots)" 1 "boot count"
	# The overlay is the root, mounted with userxattr; its metadata is in
	# user.overlay.* xattrs on the PV, the mode recorded on the work dir.
	pod_exec grep -q ' / / .* - overlay stint .*userxattr' /proc/self/mountinfo ||
		fail "the new root is not an overlay with userxattr"
	assert_file_has_content <(xattr_names "$pv/upper") 'user\.overlay\.'
	assert_file_lacks_content <(xattr_names "$pv/upper") 'trusted\.overlay\.'
	assert_file_has_content <(xattr_names "$pv/work") 'user\.stint\.overlay-xattrs'
	# On disk the ids are the pod's, not the host range's.
	assert_eq "$(stat -c %u:%g "$pv/upper/root/note")" 0:0 "the note on disk"
	assert_eq "$(stat -c %u:%g "$pv/upper/home/guest")" 1000:1000 "the guest's home on disk"
	pod_kill USR2
	pod_wait_os 10 || { pod_logs; fail "busybox init did not stop on USR2"; }
	assert_eq "$POD_OS_RC" 0 "exit status"
	assert_exists "$pv/upper/var/lib/demo/stopped"
	pod_delete

	# Re-created: the kubelet gives the new pod another range.
	bb_pod bb 2 "$pv"
	bb_boot
	assert_eq "$(pod_exec cat /proc/self/uid_map | tr -s ' ')" " 0 $((2 * 1048576)) 65536" "the new range"
	assert_eq "$(pod_exec cat /var/lib/demo/boots)" 2 "boot count"
	assert_eq "$(pod_exec cat /root/note)" kept "file written before"
	assert_eq "$(pod_exec stat -c %u:%g /root/note /home/guest | tr '\n' ' ')" "0:0 1000:1000 " "owners inside"
	pod_exec /bin/sh -c 'echo again >>/root/note'
	assert_eq "$(stat -c %u "$pv/upper/root/note")" 0 "still 0 on disk"
}

# stint-peer enter in a user-namespaced pod: the sidecar shares the pod's
# user namespace, and the node's time and cgroup namespaces (which the pod
# shares too) are owned above it: enter joins only the namespaces the OS
# has of its own. The OS's v1 cgroups are not the pod's to write, so the
# session runs outside the OS's device filter: every mount nodev but the
# OS's devpts, the standard nodes the sidecar's.
t_enter() {
	local base=$((4 * 1048576)) out
	bb_pod enter 4 "$TEST_TMP/pv-enter"
	bb_boot
	out=$(pod_peer_exec /usr/bin/stint-peer enter -- sh -c 'cat /proc/self/uid_map; hostname
		echo x >/dev/null && echo null-ok; echo "zero $(head -c 4 /dev/zero | wc -c)"
		cat /proc/self/mountinfo' 2>"$TEST_TMP/enter.err") ||
		{ cat "$TEST_TMP/enter.err"; fail "enter failed in a user-namespaced pod"; }
	echo "$out"
	cat "$TEST_TMP/enter.err"
	grep -q "^ *0 *$base *65536$" <<<"$out" || fail "enter did not run in the pod's user namespace"
	grep -qx enter <<<"$out" || fail "enter did not get the OS's hostname"
	assert_file_has_content "$TEST_TMP/enter.err" "not in the OS init's cgroups .*only the OS's terminals and null"
	grep -qx null-ok <<<"$out" || fail "/dev/null does not work in the session"
	grep -qx 'zero 4' <<<"$out" || fail "/dev/zero does not work in the session"
	# In the OS /dev is a tmpfs that lets devices open; in the session it
	# is nodev, and so is every mount but the OS's devpts.
	pod_exec grep ' /dev rw' /proc/self/mountinfo | grep -v nodev || fail "the OS's /dev is nodev already"
	awk '$5 == "/dev" || $5 == "/sys/fs/cgroup" || $5 == "/proc"' <<<"$out" | grep -v nodev &&
		fail "a mount of the session is not nodev"
	awk '$5 == "/dev/pts"' <<<"$out" | grep -q nodev && fail "the OS's devpts is nodev in the session"
	return 0
}

# An upper made under the other xattr namespace is refused with the fix;
# the init then exits 3 (on-failure exit) and the PV is left as it was.
t_refuse() {
	local from=$1 to=$2 pv=$TEST_TMP/pv-refuse-$1 want
	bb_pod "made-$from" "$([ "$from" = userns ] && echo 3)" "$pv"
	bb_boot
	pod_delete
	cp -a "$pv" "$pv.before"
	bb_pod "used-$to" "$([ "$to" = userns ] && echo 4)" "$pv"
	pod_start
	pod_wait_os 20 || { pod_logs; fail "stint did not give up"; }
	pod_logs
	assert_eq "$POD_OS_RC" 3 "stint's exit status"
	if [ "$from" = userns ]; then
		want='was made by a pod with a user namespace \(user\.overlay\.\* xattrs\).*run this pod with hostUsers: false'
	else
		want='was made by a pod without a user namespace \(trusted\.overlay\.\* xattrs\).*run this pod without a user namespace'
	fi
	assert_file_has_content "$POD_OS_LOG" "peer aborted: upper /pv/upper $want"
	assert_eq "$(xattr_names "$pv/work")" "$(xattr_names "$pv.before/work")" "the work dir's xattrs"
	diff -r "$pv.before/upper" "$pv/upper" || fail "the refused PV changed"
}

# sd_pod NAME K PV: a Debian systemd pod in user namespace K with its cgroup
# delegated (POD_CGROUP_RW=1), pivot mode, READY=1 through the peer.
sd_pod() {
	local name=$1 k=$2 pv=$3
	POD_CGROUP_RW=1 POD_USERNS=$k pod_new "$name" "$pv"
	POD_CGROUP_RW=1 pod_os "$DEBIAN" k8s /usr/bin/stint -v -s "$SOCK" -t 30 --notify-socket /run/host/notify/notify.sock
	pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode pivot --state /pv --timeout 30 \
		--tmpfs /run,/run/lock --cgroup rw --cgroup-path "$POD_CGROUP_PATH" --notify /run/stint-peer/notify/notify.sock
}

sd_ready() { pod_peer_exec /usr/bin/stint-peer status -q -s "$SOCK" 2>/dev/null; }

sd_boot() {
	local state
	pod_start
	wait_for 30 sd_ready || { pod_logs; fail "stint-peer status never turned ready"; }
	state=$(pod_exec systemctl is-system-running --wait 2>&1) || true
	echo "is-system-running: $state"
	[ "$state" = running ] || pod_exec systemctl --failed --no-pager || true
	assert_eq "$state" running "systemctl is-system-running"
	pod_exec grep -qx '0::/init.scope' /proc/1/cgroup || fail "systemd is not in 0::/init.scope"
}

sd_halt() {
	pod_kill 37
	pod_wait_os 10 || { pod_logs; fail "systemd still runs 10 s after signal 37"; }
	assert_eq "$POD_OS_RC" 0 "exit status after signal 37"
}

t_systemd_boot() {
	[ -d "$DEBIAN/lib/systemd" ] || fail "no image"
	sd_pod sd 6 "$TEST_TMP/pv-sd"
	sd_boot
	# The pod's root owns its cgroup (delegated), the host's root does not.
	assert_eq "$(stat -c %u "$(pod_cgroup_dir "$POD_OS_ID")")" $((6 * 1048576)) "the cgroup's owner on the host"
	pod_exec sh -c 'useradd -m guest && echo kept >/home/guest/note && chown guest: /home/guest/note'
	pod_exec cat /etc/machine-id >"$TEST_TMP/sd-machine-id"
	assert_eq "$(stat -c %u "$TEST_TMP/pv-sd/upper/home/guest/note")" 1000 "the guest's file on disk"
	sd_halt
	pod_delete
}

t_systemd_second_boot() {
	[ -s "$TEST_TMP/sd-machine-id" ] || fail "the first boot did not finish"
	sd_pod sd 7 "$TEST_TMP/pv-sd"
	sd_boot
	assert_eq "$(pod_exec cat /home/guest/note)" kept "file"
	assert_eq "$(pod_exec stat -c %U /home/guest/note)" guest "its owner, by name"
	assert_eq "$(pod_exec cat /etc/machine-id)" "$(cat "$TEST_TMP/sd-machine-id")" "machine-id"
	sd_halt
}

# cgroup v1: nothing delegates the name=systemd sub-tree to the pod's root,
# so systemd cannot make its init.scope and exits (its reason on the console).
t_systemd_v1_no_delegation() {
	POD_TERMINAL=1
	POD_USERNS=8 pod_new sd-v1 "$TEST_TMP/pv-sd-v1"
	pod_os "$DEBIAN" k8s /usr/bin/stint -v -s "$SOCK" -t 30
	pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode pivot --state /pv --timeout 30 \
		--tmpfs /run,/run/lock --cgroup rw --cgroup-path "$POD_CGROUP_PATH"
	pod_start
	pod_wait_os 20 || { pod_logs; fail "systemd did not exit"; }
	pod_logs
	assert_switched pivot
	assert_file_has_content "$POD_OS_LOG" 'Failed to create /init.scope control group: Permission denied'
	assert_eq "$POD_OS_RC" 255 "systemd's exit status"
}

run_test "images: busybox and Debian with systemd" t_image
run_test "user-namespaced pod: one user namespace, kubelet-style range, idmapped PV, caps end at the namespace" t_pod
run_test "busybox boots from the PV with userxattr and keeps files and owners in a pod with another range" t_busybox_persists
run_test "enter in a user-namespaced pod: the OS's own namespaces, outside its cgroups only standard devices" t_enter
run_test "an upper made without a user namespace is refused in one, with the fix" t_refuse hostusers userns
run_test "an upper made in a user namespace is refused without one, with the fix" t_refuse userns hostusers
if [ "$POD_CGROUP_MODE" = v2 ]; then
	run_test "systemd in a user-namespaced pod (cgroup delegated): running, READY=1, halts" t_systemd_boot
	run_test "systemd in a user-namespaced pod: second boot in another range keeps files, owners, machine-id" t_systemd_second_boot
else
	run_test "systemd in a user-namespaced pod on cgroup v1: its cgroup is not delegated, it exits 255" t_systemd_v1_no_delegation
fi
