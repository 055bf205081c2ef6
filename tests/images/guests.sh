# Realistic inputs for the migration tests (examples/vm-migration,
# examples/lxc-migration): what a user brings, made from Debian's packages.
# Source after tests/lib/libtest.sh and tests/images/images.sh.
#
#   make_guest_os DIR           Debian + what a server VM or system container
#                               has: ifupdown and a DHCP client, openssh-server
#                               (host keys made by its postinst), nginx; no
#                               docs, man pages or translations
#   make_vm_root DIR            a guest as a VM leaves it: hostname, machine-id,
#                               installer-style DHCP interfaces, gettys on tty1
#                               and ttyS0, a kernel package, /boot, a user, an
#                               enabled service, a file capability, a random seed
#   make_vm_disk DIR OUT.qcow2  that root on a GPT disk as a VM has it (BIOS
#                               boot, ESP, swap, ext4 root; fstab with UUID= lines)
#   make_lxc_container DIR NAME what lxc-create leaves in /var/lib/lxc/NAME:
#                               config (veth/DHCP, lxc.idmap, lxc.mount.entry)
#                               and rootfs/ owned by the shifted host ids

# The guest's extra packages; bump GUEST_IMAGE_VERSION when they change.
GUEST_PACKAGES="ifupdown isc-dhcp-client openssh-server nginx-light"
GUEST_IMAGE_VERSION=2
GUEST_TARBALL="$STINT_CACHE/debian-$DEBIAN_SUITE-guest-v$DEBIAN_IMAGE_VERSION.$GUEST_IMAGE_VERSION.tar.zst"
# The kernel the VM ran (a stand-in package, see make_kernel_debs).
VM_KERNEL=6.1.0-99-amd64

# build_guest_tarball: the cached Debian image plus $GUEST_PACKAGES,
# installed by the image's own apt from its own mirror in a chroot (about
# 10 s), packed into $GUEST_TARBALL.
build_guest_tarball() {
	local dir rc=0
	mkdir -p "$STINT_CACHE"
	dir=$(mktemp -d "$STINT_CACHE/guest.XXXXXX")
	make_debian_os "$dir"
	# A private mount namespace: the chroot's /proc and resolv.conf go
	# away with it. policy-rc.d keeps the packages' services from starting.
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 755 "$dir/usr/sbin/policy-rc.d"
	# shellcheck disable=SC2016
	timeout 300 unshare -m --propagation private bash -euc '
		mount --bind /etc/resolv.conf "$1/etc/resolv.conf"
		mount -t proc proc "$1/proc"
		chroot "$1" apt-get -q update
		DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get -q -y install --no-install-recommends $2' \
		_ "$dir" "$GUEST_PACKAGES" >"$dir.log" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		tail -n 20 "$dir.log" >&2
		rm -rf "$dir"
		fail "installing $GUEST_PACKAGES into the Debian image failed (log: $dir.log)"
	fi
	rm -f "$dir/usr/sbin/policy-rc.d"
	rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin
	# Minimized as container images are (a third less to copy in every
	# test): no documentation, manual pages or translations, and dpkg told
	# so for what is installed later.
	rm -rf "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/*
	printf 'path-exclude=/usr/share/%s/*\n' doc man info locale >"$dir/etc/dpkg/dpkg.cfg.d/excludes"
	tar -C "$dir" --numeric-owner --xattrs -cf - . | zstd -q -3 -T0 -o "$GUEST_TARBALL.tmp" || rc=$?
	rm -rf "$dir"
	[ $rc -eq 0 ] || { rm -f "$GUEST_TARBALL.tmp"; fail "packing $GUEST_TARBALL failed"; }
	mv "$GUEST_TARBALL.tmp" "$GUEST_TARBALL"
	rm -f "$dir.log"
}

# make_guest_os DIR: unpack the guest image into DIR (building it once).
make_guest_os() {
	local dir=$1
	[ -s "$GUEST_TARBALL" ] || build_guest_tarball
	mkdir -p "$dir"
	zstd -q -d -c "$GUEST_TARBALL" | tar -C "$dir" --numeric-owner --xattrs -xf - ||
		fail "unpacking $GUEST_TARBALL into $dir failed"
	# The image's / is mktemp's 0700; an installed system's is 0755 (it
	# matters on a disk: services that drop root must traverse it).
	chmod 755 "$dir"
}

# make_kernel_debs DIR: a stand-in for linux-image-amd64 (the real one is
# 60 MB to fetch and 400 MB installed): the versioned package with the
# files the real one puts where it puts them (/boot/vmlinuz-*, config,
# System.map, /lib/modules/VERSION with a module and depmod's files), and
# the linux-image-amd64 metapackage depending on it.
make_kernel_debs() {
	local out=$1 d
	d=$(mktemp -d)
	chmod 755 "$d"
	mkdir -p "$d/img/DEBIAN" "$d/img/boot" "$d/img/lib/modules/$VM_KERNEL/kernel/drivers/net" "$d/meta/DEBIAN"
	cat >"$d/img/DEBIAN/control" <<CTL
Package: linux-image-$VM_KERNEL
Version: 6.1.99-1
Architecture: amd64
Maintainer: stint tests <tests@stint.invalid>
Provides: linux-image, linux-modules-$VM_KERNEL
Description: Linux $VM_KERNEL for 64-bit PCs (stand-in for the migration tests)
CTL
	head -c 65536 /dev/urandom >"$d/img/boot/vmlinuz-$VM_KERNEL"
	printf 'CONFIG_64BIT=y\nCONFIG_VIRTIO_NET=m\n' >"$d/img/boot/config-$VM_KERNEL"
	printf 'ffffffff81000000 T _stext\n' >"$d/img/boot/System.map-$VM_KERNEL"
	head -c 4096 /dev/urandom >"$d/img/lib/modules/$VM_KERNEL/kernel/drivers/net/virtio_net.ko"
	echo "kernel/drivers/net/virtio_net.ko:" >"$d/img/lib/modules/$VM_KERNEL/modules.dep"
	echo "kernel/drivers/net/virtio_net.ko" >"$d/img/lib/modules/$VM_KERNEL/modules.order"
	cat >"$d/meta/DEBIAN/control" <<CTL
Package: linux-image-amd64
Version: 6.1.99-1
Architecture: amd64
Maintainer: stint tests <tests@stint.invalid>
Depends: linux-image-$VM_KERNEL
Description: Linux for 64-bit PCs (meta-package, stand-in)
CTL
	mkdir -p "$out"
	if ! dpkg-deb --root-owner-group -Zgzip --build "$d/img" "$out/linux-image-$VM_KERNEL.deb" >/dev/null ||
		! dpkg-deb --root-owner-group -Zgzip --build "$d/meta" "$out/linux-image-amd64.deb" >/dev/null; then
		rm -rf "$d"
		fail "dpkg-deb --build of the kernel stand-in failed"
	fi
	rm -rf "$d"
}

# make_vm_root DIR: the guest as a VM installed with Debian's installer
# leaves it (d-i's interfaces file, its gettys, a kernel, GRUB's files).
make_vm_root() {
	local dir=$1 debs=$TEST_TMP/vm-debs
	make_guest_os "$dir"
	echo vm1 >"$dir/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tvm1.example.org\tvm1\n' >"$dir/etc/hosts"
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$dir/etc/machine-id"
	echo >>"$dir/etc/machine-id"
	cat >"$dir/etc/network/interfaces" <<'EOF'
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug ens3
iface ens3 inet dhcp
EOF
	mkdir -p "$dir/var/lib/dhcp"
	printf 'lease {\n  interface "ens3";\n  fixed-address 192.168.122.57;\n}\n' >"$dir/var/lib/dhcp/dhclient.ens3.leases"
	# A console login on the VM's screen and on its serial port.
	mkdir -p "$dir/etc/systemd/system/getty.target.wants"
	ln -sfn /lib/systemd/system/getty@.service "$dir/etc/systemd/system/getty.target.wants/getty@tty1.service"
	ln -sfn /lib/systemd/system/serial-getty@.service \
		"$dir/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"
	# The kernel and the boot loader's files; an enabled service of the
	# VM's own (it records each boot's id).
	make_kernel_debs "$debs"
	make_hello_deb "$debs/stint-hello.deb"
	dpkg --root="$dir" -i "$debs"/*.deb >/dev/null || fail "dpkg -i into the VM root failed"
	ln -sfn /lib/systemd/system/stint-hello.service "$dir/etc/systemd/system/multi-user.target.wants/stint-hello.service"
	mkdir -p "$dir/boot/grub/i386-pc" "$dir/boot/efi"
	head -c 8192 /dev/urandom >"$dir/boot/initrd.img-$VM_KERNEL"
	printf 'set default=0\nmenuentry "Debian GNU/Linux" {\n  linux /boot/vmlinuz-%s root=UUID=... ro quiet\n}\n' \
		"$VM_KERNEL" >"$dir/boot/grub/grub.cfg"
	# A user with a file, and a binary with a file capability.
	chroot "$dir" useradd -m -u 1000 -s /bin/bash alice || fail "useradd in the VM root failed"
	echo "alice's notes" >"$dir/home/alice/notes"
	chown 1000:1000 "$dir/home/alice/notes"
	cp "$dir/bin/true" "$dir/usr/local/bin/lowport"
	setcap cap_net_bind_service+ep "$dir/usr/local/bin/lowport" || fail "setcap (libcap2-bin) failed"
	# What a machine that ran has: the seed systemd saves at shutdown.
	head -c 512 /dev/urandom >"$dir/var/lib/systemd/random-seed"
	chmod 600 "$dir/var/lib/systemd/random-seed"
}

# with_loop FILE CMD...: run CMD with $LOOP = a loop device of FILE with its
# partitions, and detach it after, however CMD ends (a defer could detach a
# number another test got meanwhile).
with_loop() {
	local file=$1 rc=0
	shift
	LOOP=$(losetup --find --show --partscan "$file") || fail "losetup $file failed"
	export LOOP
	# --partscan does not always scan here; partx does.
	lsblk -lnpo TYPE "$LOOP" | grep -qx part || partx -a "$LOOP" 2>/dev/null || true
	("$@") || rc=$?
	losetup -d "$LOOP"
	return $rc
}

# make_vm_disk DIR OUT.qcow2: DIR (a VM root) on a GPT disk like a VM's:
# BIOS boot, an EFI system partition (FAT), swap, the ext4 root filled
# from DIR; /etc/fstab names the three by UUID as the installer writes it.
# Converted to qcow2 (qemu-img), the format VM disks usually come in.
make_vm_disk() {
	local dir=$1 out=$2 raw=$2.raw mb
	VM_UUID_ROOT=$(cat /proc/sys/kernel/random/uuid)
	VM_UUID_SWAP=$(cat /proc/sys/kernel/random/uuid)
	VM_ESP_ID=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
	cat >"$dir/etc/fstab" <<EOF
# /etc/fstab: static file system information.
#
# Use 'blkid' to print the universally unique identifier for a
# device; this may be used with UUID= as a more robust way to name devices
# that works even if disks are added and removed. See fstab(5).
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
# / was on /dev/vda4 during installation
UUID=$VM_UUID_ROOT /               ext4    errors=remount-ro 0       1
# /boot/efi was on /dev/vda2 during installation
UUID=${VM_ESP_ID:0:4}-${VM_ESP_ID:4:4}  /boot/efi       vfat    umask=0077      0       1
# swap was on /dev/vda3 during installation
UUID=$VM_UUID_SWAP none            swap    sw              0       0
/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0
EOF
	mb=$(du -sm "$dir" | cut -f1)
	truncate -s "$((mb * 3 / 2 + 100))M" "$raw"
	sfdisk -q "$raw" <<'EOF' || fail "sfdisk $raw failed"
label: gpt
size=1MiB, type=21686148-6449-6E6F-744E-656564454649, name="bios"
size=32MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="esp"
size=32MiB, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name="swap"
type=0FC63DAF-8483-4772-8E79-3D69DE4779E4, name="root"
EOF
	# shellcheck disable=SC2016
	with_loop "$raw" bash -c '
		set -e
		test -b "${LOOP}p4"
		mkfs.vfat -i "$1" "${LOOP}p2" >/dev/null
		mkswap -U "$2" "${LOOP}p3" >/dev/null
		mkfs.ext4 -q -U "$3" -d "$4" "${LOOP}p4"' _ "$VM_ESP_ID" "$VM_UUID_SWAP" "$VM_UUID_ROOT" "$dir" ||
		fail "making the file systems of $raw failed"
	qemu-img convert -f raw -O qcow2 "$raw" "$out" || fail "qemu-img convert to qcow2 failed"
	rm -f "$raw"
}

# make_lxc_container DIR NAME: DIR/config and DIR/rootfs as `lxc-create -n
# NAME -t download -- -d debian -r bookworm` leaves them for an
# unprivileged container: the root owned by host ids 100000+ (lxc.idmap),
# eth0 on a veth configured by DHCP inside, a host directory bound in
# (lxc.mount.entry), a user, an enabled unit (nginx, ssh).
make_lxc_container() {
	local dir=$1 name=$2 root=$1/rootfs id
	make_guest_os "$root"
	echo "$name" >"$root/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$name" >"$root/etc/hosts"
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
	echo >>"$root/etc/machine-id"
	cat >"$root/etc/network/interfaces" <<'EOF'
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet dhcp
EOF
	chroot "$root" useradd -m -u 1000 -s /bin/bash bob || fail "useradd in the container root failed"
	echo "bob's file" >"$root/home/bob/file"
	chown 1000:1000 "$root/home/bob/file"
	mkdir -p "$root/var/www/html"
	# The ids as the host sees them: container id N is host id 100000+N.
	shift_owners "$root" 100000
	cat >"$dir/config" <<EOF
# Template used to create this container: /usr/share/lxc/templates/lxc-download
# Parameters passed to the template: --dist debian --release bookworm --arch amd64
# For additional config options, please look at lxc.container.conf(5)

# Uncomment the following line to support nesting containers:
#lxc.include = /usr/share/lxc/config/nesting.conf
# (Be aware this has security implications)


# Distribution configuration
lxc.include = /usr/share/lxc/config/common.conf
lxc.include = /usr/share/lxc/config/userns.conf
lxc.arch = linux64

# Container specific configuration
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.rootfs.path = dir:/var/lib/lxc/$name/rootfs
lxc.uts.name = $name

# Network configuration
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.0.flags = up
lxc.net.0.hwaddr = 00:16:3e:4f:2a:91

# The site's files, served by nginx
lxc.mount.entry = /srv/$name var/www/html none bind,create=dir 0 0
lxc.start.auto = 1
lxc.cgroup2.memory.max = 1G
EOF
	id=$(stat -c %u "$dir/rootfs/home/bob/file")
	[ "$id" = 101000 ] || fail "the container's files are not shifted (bob's file: uid $id)"
}

# shift_owners DIR N: every file's uid and gid + N, in place, as the files
# of LXC's unprivileged containers are on the host. chown clears set-id
# bits and file capabilities: both are put back.
shift_owners() {
	$PY - "$1" "$2" <<'PY' || fail "shifting the owners of $1 failed"
import os, stat, sys
top, n = sys.argv[1], int(sys.argv[2])
CAP = "security.capability"

def shift(p):
    st = os.lstat(p)
    link = stat.S_ISLNK(st.st_mode)
    cap = None
    if not link:
        try:
            cap = os.getxattr(p, CAP)
        except OSError:
            pass
    os.lchown(p, st.st_uid + n, st.st_gid + n)
    if not link:
        os.chmod(p, stat.S_IMODE(st.st_mode))
        if cap is not None:
            os.setxattr(p, CAP, cap)

shift(top)
for d, dirs, files in os.walk(top):
    for name in dirs + files:
        shift(os.path.join(d, name))
PY
}

# guests_tmpfs SIZE: put this test file's $TEST_TMP on a tmpfs of its own
# (call at the top, before anything is written there). The migration
# tests make about a gigabyte of trees (disk images, roots, buildah's
# store, upper layers): in memory they cost no disk I/O on a busy machine,
# and they go with one unmount (libtest.sh's cleanup) instead of a hundred
# thousand unlinks. SIZE is a cap, not a reservation.
guests_tmpfs() {
	mount -t tmpfs -o "size=$1,mode=700" stint-test "$TEST_TMP" ||
		fail "mount a tmpfs on $TEST_TMP failed"
}
