# OS images for the pod tests and the demo, built from Debian's packages.
# Source after tests/lib/libtest.sh and tests/lib/rootfs.sh (it uses fail and
# make_busybox_rootfs). Big images are cached as tarballs in $STINT_CACHE
# (default ./cache, ignored by git) so only the first run pays for them.

: "${STINT_CACHE:=$TOP/cache}"
DEBIAN_SUITE=bookworm
# Bump when build_debian_tarball or prepare_debian_image change, so that a
# cache made by an older recipe is not used.
DEBIAN_IMAGE_VERSION=1
DEBIAN_TARBALL="$STINT_CACHE/debian-$DEBIAN_SUITE-systemd-v$DEBIAN_IMAGE_VERSION.tar.zst"

# make_busybox_os DIR: a busybox root booted by busybox init. The inittab
# runs a "service" (a respawned shell loop) that counts boots into
# /var/lib/demo/boots and writes a heartbeat; ::shutdown records a clean
# stop in /var/lib/demo/stopped. busybox init halts on USR1, powers off on
# USR2 (both run ::shutdown) and ignores signal 37 (see LAB-FACTS).
make_busybox_os() {
	local dir=$1
	make_busybox_rootfs "$dir"
	rm -f "$dir/sbin/init"
	ln -s /bin/busybox "$dir/sbin/init"
	mkdir -p "$dir/etc/init.d" "$dir/var/lib/demo"
	cat >"$dir/etc/inittab" <<'TAB'
# busybox init: no getty (no terminal in a pod), one service, clean stop.
::sysinit:/etc/init.d/rcS
::respawn:/usr/sbin/demo-service
::shutdown:/etc/init.d/rcK
TAB
	cat >"$dir/etc/init.d/rcS" <<'SH'
#!/bin/sh
# Boot: count boots on the persistent layer, say so on the console.
mkdir -p /var/lib/demo
n=$(cat /var/lib/demo/boots 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >/var/lib/demo/boots
rm -f /var/lib/demo/stopped /run/demo-service.ready
echo "rcS: boot $n, container=${container:-unset}"
SH
	cat >"$dir/etc/init.d/rcK" <<'SH'
#!/bin/sh
# Shutdown: record a clean stop (the service is still alive here).
date +%s >/var/lib/demo/stopped
sync
echo "rcK: clean shutdown"
SH
	cat >"$dir/usr/sbin/demo-service" <<'SH'
#!/bin/sh
# The service: a heartbeat on the persistent layer; the ready file is the
# readiness fallback for inits that do not speak sd_notify.
echo $$ >/run/demo-service.pid
: >/run/demo-service.ready
while :; do
	date +%s >/var/lib/demo/heartbeat
	sleep 1
done
SH
	chmod 755 "$dir/etc/init.d/rcS" "$dir/etc/init.d/rcK" "$dir/usr/sbin/demo-service"
}

# debian_mirror: the URI apt on this machine uses (deb822 or one-line format).
debian_mirror() {
	local m
	m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
	[ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	echo "${m:-http://deb.debian.org/debian}"
}

# build_debian_tarball: debootstrap minbase + systemd-sysv + dbus into a
# temp dir, prepare it as an image, pack it into $DEBIAN_TARBALL. About 70 s
# plus 1 s of packing (zstd -3: fast, 52 MB; -19 would save 11 MB for 40 s).
build_debian_tarball() {
	local dir rc=0
	command -v debootstrap >/dev/null || fail "debootstrap not installed (apt-get install debootstrap)"
	mkdir -p "$STINT_CACHE"
	dir=$(mktemp -d "$STINT_CACHE/debootstrap.XXXXXX")
	if ! timeout 300 debootstrap --variant=minbase --include=systemd-sysv,dbus \
		"$DEBIAN_SUITE" "$dir" "$(debian_mirror)" >"$dir.log" 2>&1; then
		tail -n 20 "$dir.log" >&2
		rm -rf "$dir"
		fail "debootstrap failed (log: $dir.log)"
	fi
	prepare_debian_image "$dir"
	tar -C "$dir" --numeric-owner --xattrs -cf - . | zstd -q -3 -T0 -o "$DEBIAN_TARBALL.tmp" || rc=$?
	rm -rf "$dir"
	[ $rc -eq 0 ] || { rm -f "$DEBIAN_TARBALL.tmp"; fail "packing $DEBIAN_TARBALL failed"; }
	mv "$DEBIAN_TARBALL.tmp" "$DEBIAN_TARBALL"
	rm -f "$dir.log"
}

# prepare_debian_image DIR: turn a fresh debootstrap into an image.
# - machine-id: empty, so each pod gets its own. The pod writes one into its
#   upper layer before the first boot (see docs/os-boot.md); a machine-id
#   baked into an image would be shared by every pod made from it.
# - the build host's hostname and resolv.conf are not the image's.
# - no cached .debs or apt lists (87 MB); no getty on tty1 (there is none);
#   a directory for stint's new root.
prepare_debian_image() {
	local dir=$1
	: >"$dir/etc/machine-id"
	rm -f "$dir/var/lib/dbus/machine-id"
	ln -s /etc/machine-id "$dir/var/lib/dbus/machine-id"
	echo debian >"$dir/etc/hostname"
	: >"$dir/etc/resolv.conf"
	rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
	rm -f "$dir/etc/systemd/system/getty.target.wants/getty@tty1.service"
	mkdir -p "$dir/.stint/root"
}

# debian_tarball: path of the cached image tarball, building it if missing.
debian_tarball() {
	[ -s "$DEBIAN_TARBALL" ] || build_debian_tarball
	echo "$DEBIAN_TARBALL"
}

# make_debian_os DIR: unpack the cached Debian image into DIR (0.5 s).
make_debian_os() {
	local dir=$1 tarball
	tarball=$(debian_tarball) || return 1
	mkdir -p "$dir"
	zstd -q -d -c "$tarball" | tar -C "$dir" --numeric-owner --xattrs -xf - ||
		fail "unpacking $tarball into $dir failed"
}

# make_hello_deb OUT.deb: a tiny package with a systemd service that records
# each boot it runs in (/var/lib/stint-hello/boots), for "a package installed
# with dpkg survives a reboot" tests.
make_hello_deb() {
	local out=$1 d
	d=$(mktemp -d)
	chmod 755 "$d"
	mkdir -p "$d/DEBIAN" "$d/lib/systemd/system" "$d/usr/sbin"
	cat >"$d/DEBIAN/control" <<'CTL'
Package: stint-hello
Version: 1.0
Architecture: all
Maintainer: stint tests <tests@stint.invalid>
Description: stint test package
 A oneshot service that counts the boots it ran in.
CTL
	cat >"$d/usr/sbin/stint-hello" <<'SH'
#!/bin/sh
mkdir -p /var/lib/stint-hello
echo "$(cat /proc/sys/kernel/random/boot_id)" >>/var/lib/stint-hello/boots
SH
	chmod 755 "$d/usr/sbin/stint-hello"
	cat >"$d/lib/systemd/system/stint-hello.service" <<'UNIT'
[Unit]
Description=stint test service

[Service]
Type=oneshot
ExecStart=/usr/sbin/stint-hello
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
UNIT
	dpkg-deb --root-owner-group -Zgzip --build "$d" "$out" >/dev/null || { rm -rf "$d"; fail "dpkg-deb --build failed"; }
	rm -rf "$d"
}
