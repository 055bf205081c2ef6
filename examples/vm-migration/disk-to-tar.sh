#!/usr/bin/env bash
# Copy the root file system out of a VM disk image into a tarball that keeps
# numeric owners, modes, xattrs and ACLs (file capabilities live in xattrs).
# Run as root, with the VM shut down, preferably on a copy of the disk.
#
#   disk-to-tar.sh [--partition N] DISK OUT.tar
#
# DISK: a raw image (a partitioned disk, or a bare file system), or a qcow2
# image when qemu-img (qemu-utils) is installed: it is converted to raw in a
# temporary file first. --partition N picks partition N (default: the
# largest one); a bare file system has no partitions and is used whole.
# LVM volumes, separate /usr or /var partitions: mount them by hand (see
# README.md) and use tar directly.
set -euo pipefail

part=
while [ $# -gt 0 ]; do
	case $1 in
	--partition) part=$2; shift 2 ;;
	-h | --help) sed -n '/^#   disk-to-tar/,/^# README.md/s/^# \{0,3\}//p' "$0"; exit 0 ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || { echo "usage: disk-to-tar.sh [--partition N] DISK OUT.tar" >&2; exit 2; }
disk=$1 out=$2
[ -f "$disk" ] || { echo "disk-to-tar: $disk: no such file" >&2; exit 1; }

tmp=$(mktemp -d /tmp/disk-to-tar.XXXXXX)
loop= mnt=$tmp/mnt
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	[ -n "$loop" ] && losetup -d "$loop"
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ "$(head -c 4 "$disk" | od -An -c | tr -d ' ')" = 'QFI\373' ]; then
	command -v qemu-img >/dev/null || { echo "disk-to-tar: $disk is qcow2: install qemu-utils" >&2; exit 1; }
	qemu-img convert -O raw "$disk" "$tmp/disk.raw"
	disk=$tmp/disk.raw
fi

loop=$(losetup --find --show --partscan --read-only "$disk")
dev=$loop
# --partscan asks the kernel to read the partition table; where it did not
# (seen on this project's test machine), partx adds the partitions.
if [ -z "$(lsblk -lnpo TYPE "$loop" | grep -x part)" ]; then
	partx -a "$loop" 2>/dev/null || true
fi
parts=$(lsblk -lnpo NAME,TYPE "$loop" | awk '$2 == "part" {print $1}')
if [ -n "$part" ]; then
	dev=${loop}p$part
	[ -b "$dev" ] || { echo "disk-to-tar: $disk has no partition $part" >&2; exit 1; }
elif [ -n "$parts" ]; then
	dev=$(lsblk -lnpbo NAME,SIZE,TYPE "$loop" | awk '$3 == "part" {print $2, $1}' | sort -n | tail -n 1 | awk '{print $2}')
fi
mkdir -p "$mnt"
mount -o ro "$dev" "$mnt"
[ -d "$mnt/etc" ] || { echo "disk-to-tar: $dev holds no /etc: not the root file system (try --partition)" >&2; exit 1; }

# Not the contents of API file systems, /boot (the node's kernel runs the
# pod) or lost+found.
tar -C "$mnt" --numeric-owner --xattrs --xattrs-include='*' --xattrs-exclude='trusted.overlay.*' --acls \
	--exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' --exclude='./run/*' \
	--exclude='./tmp/*' --exclude='./boot/*' --exclude='./lost+found' -cpf "$out" .
echo "disk-to-tar: $dev -> $out ($(du -h "$out" | cut -f1))" >&2
