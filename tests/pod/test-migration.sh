#!/usr/bin/env bash
# The migration examples work as their READMEs say, from realistic inputs
# (tests/images/guests.sh): a Debian VM's disk as the installer leaves it
# (GPT: BIOS boot, ESP, swap, ext4 root; UUID= fstab; a kernel package;
# ifupdown with DHCP; gettys on tty1 and ttyS0; openssh-server, nginx; a
# user; qcow2) and an unprivileged LXC container's directory (config with
# veth/DHCP, lxc.idmap and lxc.mount.entry; rootfs owned by host ids
# 100000+). Every command block of examples/vm-migration/README.md and
# examples/lxc-migration/README.md runs as written (a few machine paths
# replaced, see run_block), and each result boots in a runc pod with the
# peer settings of k8s/ to systemd's `running`.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/images/guests.sh"
source "$TOP/tests/pod/libpod-runc.sh"

require_runc
guests_tmpfs 4g

VM_README=$TOP/examples/vm-migration/README.md
LXC_README=$TOP/examples/lxc-migration/README.md
# The user's working directory: the READMEs' commands run here, with
# examples/ as in a clone.
W=$TEST_TMP/work
# The OS container has a terminal (tty: true in the manifests).
POD_TERMINAL=1
# buildah in a private store (nothing is left in /var/lib/containers).
BUILDAH_HOME=$TEST_TMP/buildah
export CONTAINERS_STORAGE_CONF=$BUILDAH_HOME/storage.conf
defer buildah_teardown

# The store is on this file's tmpfs: unmounting the working containers is
# all that is left to do before it goes.
buildah_teardown() {
	[ -f "$CONTAINERS_STORAGE_CONF" ] || return 0
	timeout 60 buildah rm -a >/dev/null 2>&1
}

# detach_loops FILE...: loop devices still backed by FILE (a block that
# failed half-way): found by their backing file, which only this test has.
detach_loops() {
	local f d
	for f in "$@"; do
		for d in $(losetup -j "$f" -O NAME -n 2>/dev/null); do losetup -d "$d"; done
	done
}

# readme_block FILE NAME: the ```sh block after <!-- test: NAME -->.
readme_block() {
	awk -v mark="<!-- test: $2 -->" '
		$0 == mark { want = 1; next }
		want && /^```sh$/ { inside = 1; next }
		inside && /^```$/ { exit }
		inside { print }' "$1"
}

# run_block FILE NAME DIR [SED_EXPR...]: run the README's block NAME with
# bash -euo pipefail in DIR, in a private mount namespace whose /mnt is a
# fresh tmpfs (the README mounts at /mnt/vm); SED_EXPRs replace paths of
# the user's machine (a PVC mount) with the test's. Its stdout goes to
# $TEST_TMP/block-NAME.out.
run_block() {
	local file=$1 name=$2 dir=$3 script=$TEST_TMP/block-$2.sh e
	shift 3
	readme_block "$file" "$name" >"$script"
	[ -s "$script" ] || fail "$file has no command block '$name'"
	for e in "$@"; do sed -i "$e" "$script"; done
	echo "--- README block $name (in $dir):"
	cat "$script"
	echo "$(basename "$(dirname "$file")") $name" >>"$TEST_TMP/blocks-run"
	# shellcheck disable=SC2016
	unshare -m --propagation private bash -c 'mount -t tmpfs tmpfs /mnt && cd "$1" && bash -euo pipefail "$2"' \
		_ "$dir" "$script" >"$TEST_TMP/block-$name.out" || {
		cat "$TEST_TMP/block-$name.out"
		fail "README block '$name' failed"
	}
	cat "$TEST_TMP/block-$name.out"
}

# The peer's settings: k8s/statefulset.yaml's peer.ini, in pivot mode
# (every manifest's), with this cgroup v1 host's cgroup-path and the PV at
# /pv.
write_peer_ini() {
	cat >"$1" <<'EOF'
[peer]
socket = /run/stint/stint.sock
mode = pivot
then = wait
lower = image
state = /pv
carry = auto
tmpfs = /run,/run/lock,/tmp
cgroup = rw
cgroup-path = /sys/fs/cgroup/systemd
machine-id = generate
notify = /run/stint-peer/notify/notify.sock
notify-target = /run/host/notify/notify.sock
timeout = 60
EOF
}

# mig_pod NAME IMAGE_DIR PV ARGV...: the pod: the OS container runs ARGV
# (the image's ENTRYPOINT + CMD) with the default capabilities; the peer
# reads write_peer_ini's file.
mig_pod() {
	local name=$1 image=$2 pv=$3
	shift 3
	pod_new "$name" "$pv"
	pod_os "$image" k8s "$@"
	pod_peer /usr/bin/stint-peer -v prepare -c /etc/stint/peer.ini
	mkdir -p "$POD_DIR/peer/rootfs/etc/stint" "$POD_DIR/peer/rootfs/run/stint-peer/notify"
	write_peer_ini "$POD_DIR/peer/rootfs/etc/stint/peer.ini"
}

# The readiness probe of k8s/statefulset.yaml.
ready() { pod_peer_exec /usr/bin/stint-peer status -c /etc/stint/peer.ini -q 2>/dev/null; }

# mig_boot: start the pod, wait for READY=1 (the readiness probe), then
# for systemd's verdict: `running`, or the failed units in the log.
mig_boot() {
	local t0 state
	t0=$(date +%s%N)
	pod_start
	wait_for 60 ready || {
		pod_logs | tail -n 60
		pod_exec systemctl list-jobs --no-pager || true
		fail "the pod did not turn ready (stint-peer status) in 60 s"
	}
	state=$(pod_exec systemctl is-system-running --wait 2>&1) || true
	echo "ready in $((($(date +%s%N) - t0) / 1000000)) ms; is-system-running: $state"
	if [ "$state" != running ]; then
		pod_exec systemctl --failed --no-pager || true
		pod_exec journalctl -b -p warning --no-pager | tail -n 30 || true
	fi
	assert_eq "$state" running "systemctl is-system-running"
}

# mig_halt SIG: the image's STOPSIGNAL (SIGRTMIN+3 = 37) halts systemd.
mig_halt() {
	pod_kill "$1"
	pod_wait_os 20 || { pod_logs | tail -n 30; fail "the OS still runs 20 s after signal $1"; }
	assert_eq "$POD_OS_RC" 0 "exit status after signal $1"
}

# image_container IMAGE: a working container of IMAGE (buildah from) and
# its root (IMAGE_ROOT, buildah mount: the image's layers below a container
# layer, what containerd's snapshotter gives the runtime), for a pod with
# POD_OS_SNAPSHOT=1. IMAGE_ARGV = its ENTRYPOINT and CMD, IMAGE_STOP = its
# STOPSIGNAL. buildah_teardown removes the container.
image_container() {
	local image=$1 ctr fmt
	ctr=$(buildah from --pull=never "$image") || fail "buildah from $image"
	IMAGE_ROOT=$(buildah mount "$ctr") || fail "buildah mount $ctr"
	fmt='{{range .OCIv1.Config.Entrypoint}}{{.}} {{end}}{{range .OCIv1.Config.Cmd}}{{.}} {{end}}'
	read -r -a IMAGE_ARGV <<<"$(buildah inspect --type image --format "$fmt" "$image")"
	IMAGE_STOP=$(buildah inspect --type image --format '{{.OCIv1.Config.StopSignal}}' "$image")
	echo "$image: ${IMAGE_ARGV[*]}, STOPSIGNAL $IMAGE_STOP, root $IMAGE_ROOT"
}

# fingerprint FILE.pub: an SSH public key's fingerprint (no ssh-keygen on
# the host: the key's base64 blob hashed).
fingerprint() { awk '{print $2}' "$1" | sha256sum | cut -c1-16; }

t_setup() {
	command -v buildah >/dev/null || fail "buildah not installed (apt-get install buildah)"
	command -v qemu-img >/dev/null || fail "qemu-img not installed (apt-get install qemu-utils)"
	command -v mkfs.vfat >/dev/null || fail "mkfs.vfat not installed (apt-get install dosfstools)"
	[ -x "$STINT_STATIC" ] || fail "$STINT_STATIC missing: run make static"
	mkdir -p "$W" "$BUILDAH_HOME"/{storage,run}
	cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$BUILDAH_HOME/storage"
runroot = "$BUILDAH_HOME/run"
EOF
	ln -s "$TOP/examples" "$W/examples"
	local t0 vm=$TEST_TMP/vm-made
	t0=$(date +%s%N)
	make_vm_root "$vm"
	make_vm_disk "$vm" "$W/vm.qcow2"
	# What makes the VM itself, to compare with what the pods get.
	mkdir -p "$TEST_TMP/vm-identity"
	cp "$vm/etc/machine-id" "$vm"/etc/ssh/ssh_host_ed25519_key.pub "$TEST_TMP/vm-identity/"
	rm -rf "$vm"
	make_lxc_container "$W/lxc/web1" web1
	echo "inputs made in $((($(date +%s%N) - t0) / 1000000)) ms"
	assert_eq "$(qemu-img info --output=json "$W/vm.qcow2" | jq -r .format)" qcow2 "format of vm.qcow2"
}

# Section 1, the script: qcow2 recognised and converted; the root partition
# (p4 of four) found; owners, file capabilities kept; /boot and API file
# systems left out.
t_disk_to_tar() {
	run_block "$VM_README" vm-disk-to-tar "$W"
	tar -tvf "$W/vm-root.tar" --numeric-owner >"$TEST_TMP/vm-root.list"
	assert_file_has_content "$TEST_TMP/vm-root.list" ' 1000/1000 .* \./home/alice/notes$'
	assert_file_has_content "$TEST_TMP/vm-root.list" ' \./etc/ssh/ssh_host_ed25519_key$'
	assert_file_has_content "$TEST_TMP/vm-root.list" "\./usr/lib/modules/$VM_KERNEL/"
	tar -tf "$W/vm-root.tar" >"$TEST_TMP/vm-root.names"
	assert_file_has_content "$TEST_TMP/vm-root.names" '^\./boot/$'
	assert_file_lacks_content "$TEST_TMP/vm-root.names" '^\./(boot|proc|sys|dev|run|tmp)/.+'
	mkdir "$TEST_TMP/peek"
	tar -C "$TEST_TMP/peek" --xattrs --xattrs-include='*' -xpf "$W/vm-root.tar" ./usr/local/bin/lowport
	getcap "$TEST_TMP/peek/usr/local/bin/lowport" | grep -q cap_net_bind_service || fail "the file capability was lost"
}

# Section 1 by hand: the same files as the script's.
t_by_hand() {
	mkdir -p "$W/hand"
	defer "detach_loops '$W/hand/vm.raw'"
	run_block "$VM_README" vm-by-hand "$W/hand" 's|vm\.qcow2|../vm.qcow2|'
	[ ! -e /mnt/vm ] || [ -z "$(ls -A /mnt/vm)" ] || fail "the block left files in the host's /mnt/vm"
	[ -z "$(losetup -j "$W/hand/vm.raw")" ] || fail "the block left a loop device"
	tar -tf "$W/vm-root.tar" | sort >"$TEST_TMP/script.names"
	tar -tf "$W/hand/vm-root.tar" | sort >"$TEST_TMP/hand.names"
	diff -u "$TEST_TMP/script.names" "$TEST_TMP/hand.names" || fail "by hand and disk-to-tar.sh differ"
	rm -rf "$W/hand"
}

# A disk copied from a running VM: its ext4 journal needs recovery. The
# script names the cause and both ways out; --fsck keeps the last write;
# the README's by-hand replay works; a mount failing for another reason
# shows the kernel's own words.
t_dirty_journal() {
	local d=$TEST_TMP/dirty root=$TEST_TMP/dirty-root out rc=0
	mkdir -p "$d"
	defer "detach_loops '$d/running.raw' '$d/vm.raw' '$d/vm-copy.raw' '$d/bad.raw'"
	make_busybox_rootfs "$root"
	truncate -s 64M "$d/running.raw"
	sfdisk -q "$d/running.raw" <<'EOF' || fail "sfdisk"
label: gpt
size=1MiB, type=21686148-6449-6E6F-744E-656564454649
size=8MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
size=8MiB, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F
type=0FC63DAF-8483-4772-8E79-3D69DE4779E4
EOF
	# The VM runs: its root mounted read-write, a last write synced to the
	# journal, and the disk copied meanwhile.
	# shellcheck disable=SC2016
	with_loop "$d/running.raw" unshare -m --propagation private bash -c '
		set -e
		mkfs.ext4 -q -d "$1" "${LOOP}p4"
		mkdir -p "$2/m"
		mount "${LOOP}p4" "$2/m"
		echo "written last" >"$2/m/etc/last-write"
		sync
		cp --sparse=always "$2/running.raw" "$2/vm.raw"
		umount "$2/m"' _ "$root" "$d" || fail "making the running VM's disk copy"
	out=$("$TOP/examples/vm-migration/disk-to-tar.sh" "$d/vm.raw" "$d/x.tar" 2>&1) || rc=$?
	echo "$out"
	assert_eq "$rc" 1 "exit status on a dirty journal"
	assert_eq "$(grep -c . <<<"$out")" 1 "lines of the error"
	if ! grep -q 'needs_recovery' <<<"$out" || ! grep -q -- '--fsck' <<<"$out" || ! grep -q -- '--noload' <<<"$out"; then
		fail "the error does not name the cause and both fixes"
	fi
	"$TOP/examples/vm-migration/disk-to-tar.sh" --fsck "$d/vm.raw" "$d/fsck.tar" || fail "--fsck"
	assert_eq "$(tar -xOf "$d/fsck.tar" ./etc/last-write)" "written last" "--fsck: the journal's last write"
	"$TOP/examples/vm-migration/disk-to-tar.sh" --noload "$d/vm.raw" "$d/noload.tar" || fail "--noload"
	tar -tf "$d/noload.tar" >"$d/noload.names"
	grep -qx './etc/passwd' "$d/noload.names" || fail "--noload: no /etc/passwd"
	# The original was only read: still dirty.
	# shellcheck disable=SC2016
	with_loop "$d/vm.raw" sh -c 'dumpe2fs -h "${LOOP}p4" 2>/dev/null' >"$d/features" || fail "dumpe2fs"
	grep -q '^Filesystem features:.*needs_recovery' "$d/features" || fail "the original disk was changed"

	# The README's replay by hand, then the script needs no option.
	run_block "$VM_README" vm-dirty-journal "$d"
	"$TOP/examples/vm-migration/disk-to-tar.sh" "$d/vm-copy.raw" "$d/copy.tar" || fail "after the replay by hand"
	assert_eq "$(tar -xOf "$d/copy.tar" ./etc/last-write)" "written last" "the by-hand replay: the last write"

	# An ext4 feature this kernel does not know (incompat bit 0x400000 in
	# the superblock at 1024 + 0x60): mount fails, and the message carries
	# the kernel's reason, which mount(8) does not print.
	cp --sparse=always "$d/vm-copy.raw" "$d/bad.raw"
	# shellcheck disable=SC2016
	with_loop "$d/bad.raw" bash -c '
		v=$(od -An -j $((1024 + 0x60)) -N4 -tu4 "${LOOP}p4" | tr -d " ")
		debugfs -w -R "ssv feature_incompat $((v | 0x400000))" "${LOOP}p4"' || fail "setting an unknown feature"
	rc=0
	out=$("$TOP/examples/vm-migration/disk-to-tar.sh" "$d/bad.raw" "$d/bad.tar" 2>&1) || rc=$?
	echo "$out"
	assert_eq "$rc" 1 "exit status on an unmountable file system"
	grep -q 'cannot mount .*; kernel: EXT4-fs (loop[0-9]*p4): .*unsupported optional features' <<<"$out" ||
		fail "the kernel's reason is not in the message"
	rm -rf "$d" "$root"
}

t_fix_root() {
	local r=$W/vm-root line
	run_block "$VM_README" vm-fix-root "$W"
	# Each line the README shows as the output is in the real output.
	awk '/^<!-- output: vm-fix-root -->$/ { on = 1; next } on && /^```$/ { if (n++) exit; next } on' "$VM_README" |
		grep '^fix-root:' | sed 's/ \.\.\.$//' >"$TEST_TMP/fix.expected"
	[ -s "$TEST_TMP/fix.expected" ] || fail "no sample output in the README"
	while IFS= read -r line; do
		grep -qF -- "$line" "$TEST_TMP/block-vm-fix-root.out" || fail "README shows '$line', fix-root.sh did not print it"
	done <"$TEST_TMP/fix.expected"
	assert_file_lacks_content "$r/etc/fstab" '^UUID='
	assert_file_has_content "$r/etc/fstab.vm" '^UUID=.* / +ext4'
	assert_file_lacks_content "$r/etc/network/interfaces" '^[[:space:]]*(auto|allow-|source)'
	assert_file_has_content "$r/etc/network/interfaces.vm" '^iface ens3 inet dhcp'
	for u in networking.service serial-getty@ttyS0.service getty@tty1.service systemd-modules-load.service; do
		assert_eq "$(readlink "$r/etc/systemd/system/$u")" /dev/null "$u masked"
	done
	[ ! -s "$r/etc/machine-id" ] || fail "machine-id not emptied"
	[ -z "$(compgen -G "$r/etc/ssh/ssh_host_*")" ] || fail "SSH host keys left in the root"
	assert_not_exists "$r/var/lib/systemd/random-seed"
	[ -L "$r/etc/systemd/system/ssh.service.wants/ssh-host-keys.service" ] || fail "ssh-host-keys.service not enabled"
	"$W/examples/vm-migration/fix-root.sh" "$r" >"$TEST_TMP/fix2.log"
	[ ! -s "$TEST_TMP/fix2.log" ] || { cat "$TEST_TMP/fix2.log"; fail "fix-root.sh is not idempotent"; }
}

# The other network managers and --keep-identity, on small roots.
t_fix_root_variants() {
	local r=$TEST_TMP/var1 k=$TEST_TMP/var2 f
	make_busybox_rootfs "$r"
	mkdir -p "$r/etc/netplan" "$r/etc/systemd/network" "$r/etc/NetworkManager/system-connections" \
		"$r/lib/systemd/system" "$r/etc/ssh"
	printf 'network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n' >"$r/etc/netplan/50-cloud-init.yaml"
	printf '[Match]\nName=eth0\n[Network]\nAddress=10.0.0.5/24\nGateway=10.0.0.1\n' >"$r/etc/systemd/network/eth0.network"
	printf '[connection]\nid=wired\ntype=ethernet\n[ipv4]\nmethod=manual\n' >"$r/etc/NetworkManager/system-connections/wired.nmconnection"
	for f in NetworkManager.service NetworkManager-wait-online.service dhcpcd.service chrony.service ssh.service; do
		: >"$r/lib/systemd/system/$f"
	done
	echo 0123456789abcdef0123456789abcdef >"$r/etc/machine-id"
	echo key >"$r/etc/ssh/ssh_host_ed25519_key"
	cp -a "$r" "$k"
	"$TOP/examples/vm-migration/fix-root.sh" "$r" | tee "$TEST_TMP/var1.log"
	for f in etc/netplan/50-cloud-init.yaml etc/systemd/network/eth0.network \
		etc/NetworkManager/system-connections/wired.nmconnection; do
		assert_not_exists "$r/$f"
		assert_exists "$r/$f.vm"
	done
	for f in NetworkManager.service NetworkManager-wait-online.service dhcpcd.service chrony.service; do
		assert_eq "$(readlink "$r/etc/systemd/system/$f")" /dev/null "$f masked"
	done
	assert_not_exists "$r/etc/ssh/ssh_host_ed25519_key"
	# One VM into one pod: its identity stays; the network changes anyway.
	"$TOP/examples/vm-migration/fix-root.sh" --keep-identity "$k" | tee "$TEST_TMP/var2.log"
	assert_eq "$(cat "$k/etc/machine-id")" 0123456789abcdef0123456789abcdef "machine-id with --keep-identity"
	assert_exists "$k/etc/ssh/ssh_host_ed25519_key"
	assert_not_exists "$k/etc/systemd/system/ssh-host-keys.service"
	assert_exists "$k/etc/netplan/50-cloud-init.yaml.vm"
	local rc=0
	"$TOP/examples/vm-migration/fix-root.sh" "$TEST_TMP/no-such-dir" 2>"$TEST_TMP/usage" || rc=$?
	assert_eq "$rc" 2 "exit status without a root"
	assert_file_has_content "$TEST_TMP/usage" '^usage: fix-root.sh'
}

# 3a: the fixed root as an image; a pod made from it boots to running, with
# its own machine-id and SSH host keys (made on its first boot, in its
# upper), and the VM's user, service and file capability.
t_vm_lower() {
	local pv=$TEST_TMP/pv-vm1 POD_OS_SNAPSHOT=1
	run_block "$VM_README" vm-lower-image "$W"
	image_container localhost/vm1:latest
	assert_eq "${IMAGE_ARGV[*]}" "/usr/sbin/stint /sbin/init" "ENTRYPOINT + CMD"
	assert_eq "$IMAGE_STOP" SIGRTMIN+3 "STOPSIGNAL"
	getcap "$IMAGE_ROOT/usr/local/bin/lowport" | grep -q cap_net_bind_service || fail "the image lost the file capability"
	mig_pod vm1 "$IMAGE_ROOT" "$pv" "${IMAGE_ARGV[@]}"
	mig_boot
	assert_switched pivot
	assert_eq "$(pod_exec systemctl is-enabled networking.service 2>&1)" masked "networking.service"
	assert_eq "$(pod_exec systemctl is-active ssh.service nginx.service | sort -u)" active "ssh and nginx"
	assert_eq "$(pod_exec stat -c %U:%G /home/alice/notes)" alice:alice "owner of alice's notes"
	# The VM's own enabled service ran in this boot.
	assert_eq "$(pod_exec tail -n 1 /var/lib/stint-hello/boots)" "$(pod_exec cat /proc/sys/kernel/random/boot_id)" \
		"the VM's service in this boot"
	# Its own identity, made in the pod and kept in its upper.
	assert_ne "$(pod_exec cat /etc/machine-id)" "$(cat "$TEST_TMP/vm-identity/machine-id")" "machine-id"
	assert_exists "$pv/upper/etc/ssh/ssh_host_ed25519_key.pub"
	assert_ne "$(fingerprint "$pv/upper/etc/ssh/ssh_host_ed25519_key.pub")" \
		"$(fingerprint "$TEST_TMP/vm-identity/ssh_host_ed25519_key.pub")" "SSH host key"
	mig_halt 37
	pod_delete
}

# 3b: the VM's root in the upper (the README's Job), a minimal Debian with
# stint as the image: boots to running as the same machine (machine-id,
# SSH host key), with its user's files.
t_vm_upper() {
	local base=$TEST_TMP/base pv=$TEST_TMP/pv-vm2
	mkdir -p "$pv"
	run_block "$VM_README" vm-upper "$W" "s|/var/lib/stint/|$pv/|g"
	# The lower: the same distribution's minimal image plus stint (pod_os
	# installs it as /usr/bin/stint) and the example's stint.ini.
	make_debian_os "$base"
	mkdir -p "$base/etc/stint"
	cp "$TOP/examples/lxc-migration/stint.ini" "$base/etc/stint/stint.ini"
	mig_pod vm2 "$base" "$pv" /usr/bin/stint /sbin/init
	mig_boot
	assert_eq "$(pod_exec cat /etc/machine-id)" "$(cat "$TEST_TMP/vm-identity/machine-id")" "the VM's machine-id"
	pod_exec cat /etc/ssh/ssh_host_ed25519_key.pub >"$TEST_TMP/vm2-key.pub"
	assert_eq "$(fingerprint "$TEST_TMP/vm2-key.pub")" "$(fingerprint "$TEST_TMP/vm-identity/ssh_host_ed25519_key.pub")" \
		"the VM's SSH host key"
	assert_eq "$(pod_exec cat /home/alice/notes)" "alice's notes" "alice's notes"
	assert_eq "$(pod_exec systemctl is-active ssh.service nginx.service | sort -u)" active "ssh and nginx"
	mig_halt 37
	pod_delete
	rm -rf "$base"
}

t_lxc_map() {
	local out=$TEST_TMP/block-lxc-map.out
	run_block "$LXC_README" lxc-map "$W" "s|/var/lib/lxc/|$W/lxc/|g"
	assert_file_has_content "$out" '^lxc.idmap +u 0 100000 65536$'
	assert_file_has_content "$out" '--export shifts them back'
	assert_file_has_content "$out" '^lxc.net.0.type +veth$'
	assert_file_has_content "$out" 'volumeMount at /var/www/html'
	assert_file_lacks_content "$out" '^not mapped'
	# The sample config of the README's table: one made-up key left over.
	"$TOP/examples/lxc-migration/lxc2stint.sh" "$TOP/examples/lxc-migration/sample.config" >"$TEST_TMP/sample.map"
	assert_file_has_content "$TEST_TMP/sample.map" '^    -> build-image.sh --init "/sbin/init"'
	[ "$(sed -n '/^not mapped/,$p' "$TEST_TMP/sample.map" | grep -c '^    lxc')" = 1 ] || fail "unexpected unmapped keys"
}

t_lxc_export() {
	local r=$W/web1-root
	run_block "$LXC_README" lxc-export "$W" "s|/var/lib/lxc/|$W/lxc/|g"
	assert_eq "$(stat -c %u:%g "$r/home/bob/file")" 1000:1000 "bob's file, shifted back"
	assert_eq "$(stat -c %u:%g:%a "$r/etc/shadow")" 0:42:640 "/etc/shadow"
	assert_eq "$(stat -c %u:%a "$r/usr/bin/passwd")" 0:4755 "setuid passwd"
	assert_eq "$(stat -c %u "$W/lxc/web1/rootfs/home/bob/file")" 101000 "the container's own files untouched"
	assert_eq "$(readlink "$r/etc/systemd/system/networking.service")" /dev/null "networking.service masked"
	assert_file_lacks_content "$r/etc/network/interfaces" '^[^#]*eth0'
	[ ! -s "$r/etc/machine-id" ] || fail "machine-id not emptied"
	# A second export into a used directory is refused.
	local rc=0
	"$TOP/examples/lxc-migration/lxc2stint.sh" --export "$r" "$W/lxc/web1/config" >/dev/null 2>"$TEST_TMP/err" || rc=$?
	assert_eq "$rc" 1 "export into a non-empty directory"
	assert_file_has_content "$TEST_TMP/err" 'is not empty'
}

# The image boots to running; nginx serves the host directory of
# lxc.mount.entry, which the pod spec mounts at the same path and the peer
# carries into the new root.
t_lxc_boot() {
	local pv=$TEST_TMP/pv-web1 page POD_OS_SNAPSHOT=1
	run_block "$LXC_README" lxc-image "$W"
	image_container localhost/web1:latest
	assert_eq "${IMAGE_ARGV[*]}" "/usr/sbin/stint /sbin/init" "ENTRYPOINT + CMD"
	assert_eq "$IMAGE_STOP" SIGRTMIN+3 "STOPSIGNAL"
	mkdir -p "$TEST_TMP/srv-web1"
	echo "served from the volume" >"$TEST_TMP/srv-web1/index.html"
	mig_pod web1 "$IMAGE_ROOT" "$pv" "${IMAGE_ARGV[@]}"
	# shellcheck disable=SC2016
	_pod_jq "$POD_DIR/os" '.mounts += [{destination: "/var/www/html", type: "bind", source: $src, options: ["rbind", "ro"]}]' \
		--arg src "$TEST_TMP/srv-web1"
	mig_boot
	assert_eq "$(pod_exec hostname)" web1 "hostname"
	assert_eq "$(pod_exec systemctl is-enabled networking.service 2>&1)" masked "networking.service"
	assert_eq "$(pod_exec stat -c %U "/home/bob/file")" bob "owner of bob's file"
	# shellcheck disable=SC2016
	page=$(pod_exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/80; printf "GET / HTTP/1.0\r\n\r\n" >&3; cat <&3')
	grep -q 'served from the volume' <<<"$page" || { echo "$page"; fail "nginx does not serve the mounted directory"; }
	mig_halt 37
	pod_delete
}

# README and test in lockstep: every command block of both READMEs has a
# name and ran above.
t_every_block_ran() {
	local f name missing=()
	for f in "$VM_README" "$LXC_README"; do
		awk '/^```sh$/ { if (prev !~ /^<!-- test: [a-z0-9-]+ -->$/) print FILENAME ":" NR } { prev = $0 }' "$f" \
			>"$TEST_TMP/unnamed"
		[ ! -s "$TEST_TMP/unnamed" ] || { cat "$TEST_TMP/unnamed"; fail "command blocks without a <!-- test: NAME --> line"; }
		while read -r name; do
			grep -qx "$(basename "$(dirname "$f")") $name" "$TEST_TMP/blocks-run" 2>/dev/null || missing+=("$name")
		done < <(sed -n 's/^<!-- test: \([a-z0-9-]*\) -->$/\1/p' "$f")
	done
	[ ${#missing[@]} -eq 0 ] || fail "README blocks not run by this test: ${missing[*]}"
}

run_test "inputs: a Debian VM's GPT disk as qcow2, an unprivileged LXC container's directory" t_setup
run_test "vm-migration 1: disk-to-tar.sh takes the root out of the qcow2 disk" t_disk_to_tar
run_test "vm-migration 1: the README's commands by hand give the same files" t_by_hand
run_test "vm-migration 1: a dirty ext4 journal is named; --fsck, --noload and the by-hand replay work" t_dirty_journal
run_test "vm-migration 2: fix-root.sh as the README shows; idempotent" t_fix_root
run_test "fix-root.sh: netplan, networkd, NetworkManager, dhcpcd; --keep-identity" t_fix_root_variants
run_test "vm-migration 3a: the image boots to running with its own machine-id and SSH host keys" t_vm_lower
run_test "vm-migration 3b: the VM as the upper boots to running as the same machine" t_vm_upper
run_test "lxc-migration 1: lxc2stint.sh maps the container's config" t_lxc_map
run_test "lxc-migration 2: lxc2stint.sh --export shifts owners back and turns the network config off" t_lxc_export
run_test "lxc-migration 3: the image boots to running; nginx serves the lxc.mount.entry volume" t_lxc_boot
run_test "every command block of both READMEs ran" t_every_block_ran
