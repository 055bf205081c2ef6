#!/usr/bin/env bash
# Copy the root file system out of a VM disk image into a tarball that keeps
# numeric owners, modes, xattrs and ACLs (file capabilities live in xattrs).
# Run as root, with the VM shut down; the disk is only read.
#
#   disk-to-tar.sh [--partition N] [--fsck | --noload] DISK OUT.tar
#
# DISK: a raw image (a partitioned disk, or a bare file system), or a
# qcow2, VMDK, VDI or VHDX image, which qemu-img (qemu-utils) converts to
# raw in a temporary file first. --partition N picks partition N (default:
# the largest one); a bare file system has no partitions and is used whole.
# An ext4 root whose journal was not replayed (a disk copied from a running
# VM, or one that crashed) cannot be mounted read-only: --fsck replays the
# journal on a temporary copy (e2fsck; the VM's last writes are kept),
# --noload reads the file system as it is (the journal's writes are lost).
# LVM volumes, separate /usr or /var partitions: mount them by hand (see
# README.md) and use tar directly.
set -euo pipefail

part='' recover=''
while [ $# -gt 0 ]; do
	case $1 in
	--partition) part=$2; shift 2 ;;
	--fsck | --noload) recover=${1#--}; shift ;;
	-h | --help) sed -n '/^#   disk-to-tar/,/^# README.md/s/^# \{0,3\}//p' "$0"; exit 0 ;;
	-*) echo "disk-to-tar: unknown option $1 (try --help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || { echo "usage: disk-to-tar.sh [--partition N] [--fsck | --noload] DISK OUT.tar" >&2; exit 2; }
disk=$1 out=$2
[ -f "$disk" ] || { echo "disk-to-tar: $disk: no such file" >&2; exit 1; }
die() { echo "disk-to-tar: $*" >&2; exit 1; }

tmp=$(mktemp -d /tmp/disk-to-tar.XXXXXX)
loop='' mnt=$tmp/mnt copy=''
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	[ -z "$loop" ] || losetup -d "$loop"
	rm -rf "$tmp"
}
trap cleanup EXIT

# format FILE: the image format its first bytes name (raw if none). Read as
# hex: od -c prints the 0xfb of qcow2's magic as an octal escape.
format() {
	local magic
	magic=$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')
	case $magic in
	514649fb*) echo qcow2 ;;           # "QFI\xfb"
	4b444d56*) echo vmdk ;;            # "KDMV" (sparse extent)
	7668647866696c65) echo vhdx ;;     # "vhdxfile"
	3c3c3c20*) echo vdi ;;             # "<<< Oracle VM VirtualBox Disk Image >>>"
	*) echo raw ;;
	esac
}

fmt=$(format "$disk")
if [ "$fmt" != raw ]; then
	command -v qemu-img >/dev/null || die "$disk is a $fmt image: install qemu-utils (qemu-img converts it to raw)"
	echo "disk-to-tar: $disk is $fmt: converting to raw in $tmp" >&2
	qemu-img convert -f "$fmt" -O raw "$disk" "$tmp/disk.raw" || die "qemu-img convert of $disk ($fmt) failed"
	disk=$tmp/disk.raw copy=$disk
fi

# attach FILE [--read-only]: a loop device with its partitions.
attach() {
	loop=$(losetup --find --show --partscan "${@:2}" "$1")
	# --partscan asks the kernel to read the partition table; where it did
	# not (seen on this project's test machine), partx adds the partitions.
	if ! lsblk -lnpo TYPE "$loop" | grep -qx part; then
		partx -a "$loop" 2>/dev/null || true
	fi
}

# pick: the partition (or the whole device) holding the root.
pick() {
	local largest
	if [ -n "$part" ]; then
		[ -b "${loop}p$part" ] || die "$disk has no partition $part"
		echo "${loop}p$part"
		return
	fi
	largest=$(lsblk -lnpbo NAME,SIZE,TYPE "$loop" | awk '$3 == "part" {print $2, $1}' | sort -n | tail -n 1 | awk '{print $2}')
	echo "${largest:-$loop}"
}

attach "$disk" --read-only
dev=$(pick)
fstype=$(blkid -o value -s TYPE "$dev" 2>/dev/null || true)
case $fstype in
"") die "$dev holds no file system blkid knows (encrypted? try --partition N; lsblk $loop lists them)" ;;
LVM2_member) die "$dev is an LVM physical volume: activate it (vgchange -ay) and mount the root LV by hand (README.md, section 1)" ;;
swap) die "$dev is swap space, not the root file system (try --partition N)" ;;
esac

# ext2/3/4 with a journal to replay: a read-only mount cannot replay it and
# the kernel refuses it (its reason goes to the kernel log only).
opts=ro
if [[ $fstype == ext[34] ]] && dumpe2fs -h "$dev" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'; then
	case $recover in
	"") die "$dev: the ext4 journal was not replayed (needs_recovery: copied from a running VM, or not shut down cleanly), so it cannot be mounted read-only: rerun with --fsck to replay it on a temporary copy (e2fsck), or --noload to read it without the journal's last writes" ;;
	noload) opts=ro,noload ;;
	fsck)
		if [ -z "$copy" ]; then
			echo "disk-to-tar: copying $disk to replay the journal there" >&2
			cp --sparse=always --reflink=auto "$disk" "$tmp/disk.raw"
			copy=$tmp/disk.raw
		fi
		losetup -d "$loop"
		loop=
		attach "$copy"
		dev=$(pick)
		rc=0
		e2fsck -y -E journal_only "$dev" >&2 || rc=$?
		[ $rc -le 1 ] || die "e2fsck -E journal_only $dev (a copy of $1) failed with status $rc"
		echo "disk-to-tar: journal replayed on the copy" >&2
		;;
	esac
fi

mkdir -p "$mnt"
# The kernel says why a mount fails in its log, not to mount(8): keep its
# lines about this device from now on (by time: on a busy machine the log
# wraps, so a line count would not do; the margin covers the two clocks).
since=$(cut -d' ' -f1 /proc/uptime)
if ! err=$(mount -o "$opts" "$dev" "$mnt" 2>&1); then
	why=$(dmesg 2>/dev/null | awk -v t="$since" -v d="(${dev##*/})" '
		{ ts = substr($0, 2, index($0, "]") - 2) + 0 }
		ts >= t - 1 && index($0, d) { sub(/^\[[^]]*\] */, ""); print }' | paste -sd ';' || true)
	err=$(head -n 1 <<<"$err")
	die "cannot mount $dev ($fstype) $opts: ${err#mount: }${why:+; kernel: $why}"
fi
[ -d "$mnt/etc" ] || die "$dev holds no /etc: not the root file system (try --partition N; lsblk $loop lists them)"

# Not the contents of API file systems, /boot (the node's kernel runs the
# pod) or lost+found.
tar -C "$mnt" --numeric-owner --xattrs --xattrs-include='*' --xattrs-exclude='trusted.overlay.*' --acls \
	--exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' --exclude='./run/*' \
	--exclude='./tmp/*' --exclude='./boot/*' --exclude='./lost+found' -cpf "$out" .
echo "disk-to-tar: $dev ($fstype) -> $out ($(du -h "$out" | cut -f1))" >&2
