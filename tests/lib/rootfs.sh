# Root filesystems for tests, built from Debian's packages.
# Source after libtest.sh.

# make_busybox_rootfs DIR: a busybox-static root (about 2 MB) with the
# directories an OS image has, an empty /.stint/root for the new root, and
# files a runtime would bind over (/etc/hosts, /etc/resolv.conf, /etc/hostname).
make_busybox_rootfs() {
	local dir=$1 tpl=${TEST_TMP:-}/.busybox-rootfs
	# Built once per test file and copied after that: the ~400 applet
	# links cost a process each, seconds on a loaded machine.
	if [ -z "${TEST_TMP:-}" ]; then
		_busybox_rootfs_build "$dir"
		return
	fi
	if [ ! -d "$tpl" ]; then
		rm -rf "$tpl.tmp"
		_busybox_rootfs_build "$tpl.tmp"
		mv "$tpl.tmp" "$tpl"
	fi
	mkdir -p "$dir"
	cp -a "$tpl/." "$dir/"
}

_busybox_rootfs_build() {
	local dir=$1 bb applet
	bb=$(command -v busybox) || fail "busybox not installed (apt-get install busybox-static)"
	file -L "$bb" | grep -q 'statically linked' || fail "$bb is not static: install busybox-static"
	mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,var/log,root,.stint/root}
	cp "$bb" "$dir/bin/busybox"
	# Links to /bin/busybox as the root sees it (busybox --install DIR would
	# point them at the host path of DIR).
	for applet in $("$bb" --list-full); do
		[ -e "$dir/$applet" ] || ln -s /bin/busybox "$dir/$applet"
	done
	chmod 1777 "$dir/tmp"
	echo "root:x:0:0:root:/root:/bin/sh" >"$dir/etc/passwd"
	echo "root:x:0:" >"$dir/etc/group"
	echo "image" >"$dir/etc/hostname"
	: >"$dir/etc/hosts"
	: >"$dir/etc/resolv.conf"
}

# install_binary ROOTFS BIN [DEST]: copy BIN to ROOTFS/DEST (default
# /usr/bin/NAME); when BIN is dynamically linked (e.g. an ASan build), copy
# the libraries it needs to the same paths inside ROOTFS. Timestamps are
# kept, as an image layer keeps them: the peer identifies an image by a
# digest of its metadata, mtimes included, so a binary copied afresh into
# each container layer would make every pod start a new "image".
install_binary() {
	local root=$1 bin=$2 dest=${3:-/usr/bin/$(basename "$2")} lib
	mkdir -p "$root$(dirname "$dest")"
	cp -L --preserve=timestamps "$bin" "$root$dest"
	if ! file -L "$bin" | grep -q 'statically linked'; then
		for lib in $(ldd "$bin" | grep -oE '/[^ ]+'); do
			mkdir -p "$root$(dirname "$lib")"
			cp -L --preserve=timestamps "$lib" "$root$lib"
		done
	fi
}
