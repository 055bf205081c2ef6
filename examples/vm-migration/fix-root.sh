#!/usr/bin/env bash
# Apply README.md's "What to change" table to a VM's root file system
# unpacked in DIR, before it becomes an image (lower) or a pod's upper
# layer. Prints one line per change; changes nothing it does not name.
#
#   fix-root.sh [--keep-machine-id] DIR
#
# --keep-machine-id: keep /etc/machine-id (moving ONE VM into ONE pod, as
# its upper layer). By default it is emptied, so that every pod made from
# this root writes its own (stint-peer's machine-id = generate).
set -euo pipefail
keep_id=0
[ "${1:-}" = --keep-machine-id ] && { keep_id=1; shift; }
[ $# -eq 1 ] && [ -d "$1/etc" ] || { echo "usage: fix-root.sh [--keep-machine-id] DIR (a root with /etc)" >&2; exit 2; }
root=$(cd "$1" && pwd)
say() { echo "fix-root: $*"; }

# mask UNIT: what `systemctl mask` does, without running systemctl.
mask() {
	local u=$1
	[ -L "$root/etc/systemd/system/$u" ] && [ "$(readlink "$root/etc/systemd/system/$u")" = /dev/null ] && return
	mkdir -p "$root/etc/systemd/system"
	ln -sfn /dev/null "$root/etc/systemd/system/$u"
	say "masked $u"
}

# has_unit PREFIX: a unit file whose name starts with PREFIX exists.
has_unit() {
	local d
	for d in lib usr/lib etc; do
		compgen -G "$root/$d/systemd/system/$1*" >/dev/null && return 0
	done
	return 1
}

# fstab: the VM's disks do not exist in a pod; volumes come from the pod spec.
if [ -s "$root/etc/fstab" ] && grep -qvE '^[[:space:]]*(#|$)|[[:space:]]tmpfs[[:space:]]' "$root/etc/fstab"; then
	cp -a "$root/etc/fstab" "$root/etc/fstab.vm"
	grep -E '^[[:space:]]*(#|$)|[[:space:]]tmpfs[[:space:]]' "$root/etc/fstab.vm" >"$root/etc/fstab" || true
	say "/etc/fstab: kept comments and tmpfs lines only (original in /etc/fstab.vm)"
fi

# Network: the CNI plugin configured the pod's interface already.
if [ -f "$root/etc/network/interfaces" ] && grep -qE '^[[:space:]]*(auto|allow-hotplug|iface)[[:space:]]+[^l]' "$root/etc/network/interfaces"; then
	mv "$root/etc/network/interfaces" "$root/etc/network/interfaces.vm"
	printf 'auto lo\niface lo inet loopback\n' >"$root/etc/network/interfaces"
	say "/etc/network/interfaces: loopback only (original in interfaces.vm)"
fi
for d in etc/netplan etc/systemd/network; do
	for f in "$root/$d"/*.yaml "$root/$d"/*.network; do
		[ -e "$f" ] || continue
		mv "$f" "$f.vm"
		say "/${f#"$root"/}: disabled (renamed .vm)"
	done
done
for u in NetworkManager.service NetworkManager-wait-online.service systemd-networkd-wait-online.service \
	serial-getty@ttyS0.service getty@tty1.service systemd-modules-load.service \
	chrony.service ntp.service; do
	# Only units the root has; masking others would only add clutter.
	if has_unit "${u%@*}"; then
		mask "$u"
	fi
done

# cloud-init waits for a metadata service and rewrites network and hostname.
if [ -d "$root/etc/cloud" ] && [ ! -e "$root/etc/cloud/cloud-init.disabled" ]; then
	: >"$root/etc/cloud/cloud-init.disabled"
	say "cloud-init disabled"
fi

# machine-id: shared by every pod made from this root unless emptied.
if [ $keep_id = 0 ] && [ -s "$root/etc/machine-id" ]; then
	: >"$root/etc/machine-id"
	say "/etc/machine-id emptied (each pod writes its own)"
	if [ -f "$root/var/lib/dbus/machine-id" ] && [ ! -L "$root/var/lib/dbus/machine-id" ]; then
		ln -sfn /etc/machine-id "$root/var/lib/dbus/machine-id"
		say "/var/lib/dbus/machine-id -> /etc/machine-id"
	fi
fi

# stint's default new root.
if [ ! -d "$root/.stint/root" ]; then
	mkdir -p "$root/.stint/root"
	say "created /.stint/root"
fi
