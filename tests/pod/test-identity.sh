#!/usr/bin/env bash
# Per-pod identity (issue 12) with the peer's defaults: two pods made from
# one image that carries SSH host keys (Debian with openssh-server, whose
# postinst made them at build time, as in any image built with apt) get
# different SSH host keys and machine-ids, each stable across restarts;
# each start of a pod gets its own boot id (two starts, two boots in
# `journalctl --list-boots`). `boot-id = keep` and `ssh-host-keys = keep`
# give the node's boot id and the image's keys. A hostile upper (a
# symlinked /etc/ssh) makes the peer change nothing outside the overlay.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/images/guests.sh"
source "$TOP/tests/pod/libpod-runc.sh"

require_runc
guests_tmpfs 2g

IMAGE=$TEST_TMP/guest
SOCK=$POD_SHARED_PATH/stint.sock
NOTIFY=/run/host/notify/notify.sock
IDS=$TEST_TMP/ids
POD_TERMINAL=1

t_image() {
	make_guest_os "$IMAGE"
	assert_exists "$IMAGE/etc/ssh/ssh_host_ed25519_key.pub"
	mkdir -p "$IDS"
	key_of "$IMAGE/etc/ssh/ssh_host_ed25519_key.pub" >"$IDS/image.key"
}

# key_of FILE.pub: the key's base64 blob (no ssh-keygen on the host).
key_of() { awk '{print $2}' "$1"; }

# id_pod NAME PV PEER_ARGS...: the pod; the peer with the identity defaults
# unless PEER_ARGS say otherwise.
id_pod() {
	local name=$1 pv=$2
	shift 2
	pod_new "$name" "$pv"
	pod_os "$IMAGE" k8s /usr/bin/stint -s "$SOCK" -t 60 --notify-socket "$NOTIFY"
	pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode pivot --state /pv --timeout 60 \
		--tmpfs /run,/run/lock,/tmp --cgroup rw --machine-id generate \
		--notify /run/stint-peer/notify/notify.sock --notify-target "$NOTIFY" "$@"
	mkdir -p "$POD_DIR/peer/rootfs/run/stint-peer/notify"
}

ready() { pod_peer_exec /usr/bin/stint-peer status -q -s "$SOCK" 2>/dev/null; }

# id_boot: start, wait for READY=1 and systemd's `running`.
id_boot() {
	local state
	pod_start
	wait_for 60 ready || { pod_logs | tail -n 60; fail "the pod did not turn ready in 60 s"; }
	state=$(pod_exec systemctl is-system-running --wait 2>&1) || true
	if [ "$state" != running ]; then
		pod_exec systemctl --failed --no-pager || true
	fi
	assert_eq "$state" running "systemctl is-system-running"
	grep 'identity' "$POD_PEER_LOG" || true
}

id_halt() {
	pod_kill 37
	pod_wait_os 20 || { pod_logs | tail -n 30; fail "systemd still runs 20 s after signal 37"; }
	pod_delete
}

# record WHO: this boot's machine-id, SSH host key, boot id into $IDS/WHO.*
record() {
	pod_exec cat /etc/machine-id >"$IDS/$1.mid"
	pod_exec cat /etc/ssh/ssh_host_ed25519_key.pub | awk '{print $2}' >"$IDS/$1.key"
	pod_exec cat /proc/sys/kernel/random/boot_id >"$IDS/$1.boot"
	echo "$1: machine-id $(cat "$IDS/$1.mid"), boot id $(cat "$IDS/$1.boot"), key $(cut -c1-24 "$IDS/$1.key")..."
	[ -s "$IDS/$1.key" ] || fail "no SSH host key in $1"
}

# boots: how many boots the pod's journal lists (systemd 252 prints a
# header line and has no --no-legend for --list-boots).
boots() { pod_exec journalctl --list-boots --no-pager | grep -cE '^ *-?[0-9]+ [0-9a-f]{32} '; }

t_pod_a_first() {
	local pv=$TEST_TMP/pv-a
	id_pod a "$pv"
	id_boot
	record a1
	assert_file_has_content "$POD_PEER_LOG" 'identity: boot id [0-9a-f-]{36}, 6 SSH host key files of the image removed, ssh-host-keys.service in /run'
	assert_ne "$(cat "$IDS/a1.key")" "$(cat "$IDS/image.key")" "the pod's SSH host key vs the image's"
	assert_ne "$(cat "$IDS/a1.boot")" "$(cat /proc/sys/kernel/random/boot_id)" "the pod's boot id vs the node's"
	assert_eq "$(pod_exec systemctl is-active ssh.service)" active "ssh.service"
	# The new keys are the pod's: regular files in its upper.
	if [ ! -f "$pv/upper/etc/ssh/ssh_host_ed25519_key" ] || [ -L "$pv/upper/etc/ssh/ssh_host_ed25519_key" ]; then
		fail "the pod's key is not a file in its upper"
	fi
	assert_eq "$(boots)" 1 "boots in the journal"
	id_halt
}

t_pod_b() {
	id_pod b "$TEST_TMP/pv-b"
	id_boot
	record b1
	assert_ne "$(cat "$IDS/b1.mid")" "$(cat "$IDS/a1.mid")" "machine-id of pod b vs pod a"
	assert_ne "$(cat "$IDS/b1.key")" "$(cat "$IDS/a1.key")" "SSH host key of pod b vs pod a"
	assert_ne "$(cat "$IDS/b1.key")" "$(cat "$IDS/image.key")" "SSH host key of pod b vs the image"
	id_halt
}

t_pod_a_again() {
	[ -s "$IDS/a1.mid" ] || fail "pod a's first boot did not finish"
	id_pod a "$TEST_TMP/pv-a"
	id_boot
	record a2
	assert_file_has_content "$POD_PEER_LOG" 'identity: boot id [0-9a-f-]{36}, no SSH host key of the image'
	assert_eq "$(cat "$IDS/a2.mid")" "$(cat "$IDS/a1.mid")" "pod a's machine-id across restarts"
	assert_eq "$(cat "$IDS/a2.key")" "$(cat "$IDS/a1.key")" "pod a's SSH host key across restarts"
	assert_ne "$(cat "$IDS/a2.boot")" "$(cat "$IDS/a1.boot")" "boot ids of two starts"
	assert_eq "$(boots)" 2 "boots in the journal after two starts"
	# The previous boot is there to read: journalctl -b -1.
	pod_exec journalctl -b -1 --no-pager -q -n 1 >"$TEST_TMP/prev.log"
	[ -s "$TEST_TMP/prev.log" ] || fail "journalctl -b -1 is empty"
	id_halt
}

t_keep() {
	id_pod keep "$TEST_TMP/pv-keep" --boot-id keep --ssh-host-keys keep
	id_boot
	record keep
	assert_file_has_content "$POD_PEER_LOG" 'identity: boot id of the node, SSH host keys as they are'
	assert_eq "$(cat "$IDS/keep.key")" "$(cat "$IDS/image.key")" "SSH host key with ssh-host-keys = keep"
	assert_eq "$(cat "$IDS/keep.boot")" "$(cat /proc/sys/kernel/random/boot_id)" "boot id with boot-id = keep"
	id_halt
}

# A hostile upper: /etc/ssh is a symlink to /victim. Resolved from the
# container's root (where the peer works before the switch), that is the
# OS container's own layer, outside the overlay; resolved in the new root,
# still a symlink. The peer follows neither: the container's files stay,
# the upper gets nothing there, the pod boots (busybox init: no systemd
# needed for this) and the peer says why it left /etc/ssh alone.
t_hostile_upper() {
	local bb=$TEST_TMP/bb pv=$TEST_TMP/pv-hostile
	make_busybox_os "$bb"
	mkdir -p "$pv/upper/etc"
	ln -s /victim "$pv/upper/etc/ssh"
	pod_new hostile "$pv"
	pod_os "$bb" k8s /usr/bin/stint -s "$SOCK" -t 30
	mkdir -p "$POD_DIR/os/rootfs/victim"
	echo "not the pod's" >"$POD_DIR/os/rootfs/victim/ssh_host_ed25519_key"
	pod_peer /usr/bin/stint-peer -s "$SOCK" prepare --mode pivot --state /pv --timeout 30 --tmpfs /run \
		--ready-path /run/demo-service.ready
	pod_start
	wait_for 30 ready || { pod_logs; fail "the busybox pod did not turn ready"; }
	assert_file_has_content "$POD_PEER_LOG" '/etc/ssh in the new root is a symlink or not a directory: host keys left alone'
	assert_eq "$(cat "$POD_DIR/os/layer/victim/ssh_host_ed25519_key")" "not the pod's" "the container's own file"
	assert_eq "$(readlink "$pv/upper/etc/ssh")" /victim "the upper's symlink"
	assert_not_exists "$pv/upper/victim"
	pod_kill USR2
	pod_wait_os 20 || fail "busybox init did not stop"
	pod_delete
}

run_test "an image with SSH host keys baked in (Debian + openssh-server)" t_image
run_test "pod a, first boot: its own SSH host keys (made in the pod, kept in its upper), its own boot id" t_pod_a_first
run_test "pod b from the same image: another machine-id and other SSH host keys" t_pod_b
run_test "pod a again: same machine-id and keys, a new boot id, two boots in journalctl --list-boots" t_pod_a_again
run_test "boot-id = keep, ssh-host-keys = keep: the node's boot id, the image's keys" t_keep
run_test "a hostile upper (/etc/ssh -> /victim) changes nothing outside the overlay" t_hostile_upper
