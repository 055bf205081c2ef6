#!/usr/bin/env bash
# Apply README.md's "What to change" table to a VM's (or a system
# container's) root file system unpacked in DIR, before it becomes an image
# (lower) or a pod's upper layer. Prints one line per change; changes
# nothing it does not name; a second run changes nothing.
#
#   fix-root.sh [--keep-identity] DIR
#
# --keep-identity: keep what makes this machine itself (/etc/machine-id,
# the SSH host keys): moving ONE VM into ONE pod, as its upper layer. By
# default they are removed, so that every pod made from this root gets its
# own (stint-peer's machine-id = generate; the host keys are made on the
# pod's first boot). --keep-machine-id is an older name of it.
set -euo pipefail
keep_id=0
case ${1:-} in
--keep-identity | --keep-machine-id) keep_id=1; shift ;;
esac
if [ $# -ne 1 ] || [ ! -d "$1/etc" ]; then
	echo "usage: fix-root.sh [--keep-identity] DIR (a root with /etc)" >&2
	exit 2
fi
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

# Network: the pod's network is the pod's. The CNI plugin has set up its
# eth0 (address, routes) and lo before the container starts, and an
# unprivileged pod has no CAP_NET_ADMIN to change them: ifupdown fails
# ("RTNETLINK answers: Operation not permitted", even for `auto lo`), a
# DHCP client retries for minutes and holds the boot (readiness) back, and
# NetworkManager or networkd with a static address would fight the CNI
# where the capability is granted. So nothing in the guest configures
# interfaces; the originals are kept next to the files (*.vm).
if [ -f "$root/etc/network/interfaces" ] &&
	grep -qE '^[[:space:]]*(auto|allow-[a-z]+|source|source-directory|iface[[:space:]]+[^l]|iface[[:space:]]+l[^o])' "$root/etc/network/interfaces"; then
	mv "$root/etc/network/interfaces" "$root/etc/network/interfaces.vm"
	cat >"$root/etc/network/interfaces" <<'EOF'
# The pod's network is set up by its CNI plugin (eth0, addresses, routes,
# lo) and an unprivileged pod cannot change it (no CAP_NET_ADMIN): no
# interface is brought up here. The machine's own configuration, which
# did, is in interfaces.vm (fix-root.sh). interfaces.d/ is not read.
iface lo inet loopback
EOF
	say "/etc/network/interfaces: no interface brought up (original in interfaces.vm)"
fi
for d in etc/netplan etc/systemd/network etc/NetworkManager/system-connections; do
	for f in "$root/$d"/*.yaml "$root/$d"/*.network "$root/$d"/*.nmconnection; do
		[ -e "$f" ] || continue
		mv "$f" "$f.vm"
		say "/${f#"$root"/}: disabled (renamed .vm)"
	done
done
for u in networking.service ifupdown-wait-online.service dhcpcd.service \
	NetworkManager.service NetworkManager-wait-online.service systemd-networkd-wait-online.service \
	serial-getty@ttyS0.service getty@tty1.service systemd-modules-load.service \
	chrony.service ntp.service ntpsec.service; do
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

# What makes this machine itself: every pod made from this root would share
# it unless removed. Each pod then makes its own on its first boot, into its
# upper layer, where it stays.
if [ $keep_id = 0 ]; then
	if [ -s "$root/etc/machine-id" ]; then
		: >"$root/etc/machine-id"
		say "/etc/machine-id emptied (each pod writes its own)"
		if [ -f "$root/var/lib/dbus/machine-id" ] && [ ! -L "$root/var/lib/dbus/machine-id" ]; then
			ln -sfn /etc/machine-id "$root/var/lib/dbus/machine-id"
			say "/var/lib/dbus/machine-id -> /etc/machine-id"
		fi
	fi
	# systemd's seed for the kernel's random pool and the key of its
	# encrypted credentials: systemd makes new ones when they are missing.
	for f in var/lib/systemd/random-seed var/lib/systemd/credential.secret; do
		if [ -e "$root/$f" ]; then
			rm -f "$root/$f"
			say "/$f removed (systemd makes a new one)"
		fi
	done
	# SSH host keys: Debian's ssh.service only checks for them (sshd -t)
	# and fails without; the unit below makes the missing ones (ssh-keygen
	# -A) before sshd starts, on each pod's first boot.
	keys=$(compgen -G "$root/etc/ssh/ssh_host_*_key*" || true)
	if [ -n "$keys" ]; then
		rm -f "$root"/etc/ssh/ssh_host_*_key "$root"/etc/ssh/ssh_host_*_key.pub
		say "SSH host keys removed: $(echo "$keys" | sed 's|.*/||' | sort | paste -sd ' ')"
	fi
	if has_unit ssh.service && [ ! -L "$root/etc/systemd/system/ssh.service.wants/ssh-host-keys.service" ]; then
		cat >"$root/etc/systemd/system/ssh-host-keys.service" <<'EOF'
# Written by fix-root.sh: each pod made from this image makes its own SSH
# host keys on its first boot (the image carries none), kept in its upper
# layer afterwards.
[Unit]
Description=Make the missing SSH host keys of this machine
Documentation=man:ssh-keygen(1)
Before=ssh.service
ConditionFileNotEmpty=|!/etc/ssh/ssh_host_ed25519_key
ConditionFileNotEmpty=|!/etc/ssh/ssh_host_ecdsa_key
ConditionFileNotEmpty=|!/etc/ssh/ssh_host_rsa_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=ssh.service
EOF
		mkdir -p "$root/etc/systemd/system/ssh.service.wants"
		ln -sfn /etc/systemd/system/ssh-host-keys.service "$root/etc/systemd/system/ssh.service.wants/ssh-host-keys.service"
		say "ssh-host-keys.service enabled (makes missing host keys before ssh.service)"
	fi
fi

# stint's default new root.
if [ ! -d "$root/.stint/root" ]; then
	mkdir -p "$root/.stint/root"
	say "created /.stint/root"
fi
