#!/usr/bin/env bash
# Build the libraries the static musl binaries link: libcap and inih.
#
#   tools/static-deps.sh [DEST]        build into DEST (default build/deps/musl)
#   tools/static-deps.sh apt-src       only add the deb-src entry (root; CI),
#                                      leaving `apt-get update` to the caller
#
# Why not Debian's own static libraries?
# - libcap-dev's libcap.a is compiled against glibc with _FORTIFY_SOURCE: it
#   references __*_chk symbols musl does not have. So we fetch Debian's source
#   package libcap2 (`apt-get source`, needs a deb-src entry) and compile
#   libcap.a with musl-gcc. The download is kept in cache/deps/ so that a
#   rebuild (even after `rm -rf build`) needs no network.
# - libinih's source package is not on the mirror we can reach, but
#   libinih-dev's libinih.a only references symbols musl provides (fopen64,
#   __ctype_b_loc, __stack_chk_fail, ...), so we link it as is; make static
#   proves it by linking and running the result.
#
# The result is DEST/include (sys/capability.h, ini.h, and links to the
# kernel's uapi headers, which musl-gcc does not search) and DEST/lib
# (libcap.a, libinih.a). A stamp makes the second run a no-op.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=$top/cache/deps
src_list=/etc/apt/sources.list.d/stint-deb-src.sources

log() { echo "static-deps: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# Add a deb-src stanza for the mirror the machine already uses, in a file of
# our own (so that re-running changes nothing), then refresh the indexes
# (unless $1 is "no-update").
ensure_deb_src() {
	if grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ ||
		grep -qs '^deb-src ' /etc/apt/sources.list; then
		return 0
	fi
	[ "$(id -u)" = 0 ] || die "no deb-src entry in /etc/apt and not root: add one for bookworm main, then retry"
	log "adding $src_list"
	cat >"$src_list" <<-'EOF'
		# Added by stint tools/static-deps.sh: Debian source packages (libcap2)
		# for the static musl build.
		Types: deb-src
		URIs: http://deb.debian.org/debian
		Suites: bookworm
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	[ "${1:-}" = no-update ] || apt_locked update >&2
}

# apt-get ARGS under the lock tools/install-deps.sh takes too (two
# checkouts building at once), waiting for dpkg's own lock as well.
apt_locked() {
	if [ -w /run/lock ] || [ -w /run/lock/stint-apt.lock ]; then
		flock -w 900 /run/lock/stint-apt.lock apt-get -q -o DPkg::Lock::Timeout=600 "$@"
	else
		apt-get -q "$@"
	fi
}

# Download libcap2's source package once into $cache (apt checks it against
# the signed Release file; dpkg-source checks the tarballs against the .dsc).
fetch_libcap_source() {
	local dscs=("$cache"/libcap2_*.dsc)
	if [ ! -e "${dscs[-1]}" ]; then
		command -v dpkg-source >/dev/null || die "dpkg-source missing: apt-get install dpkg-dev"
		ensure_deb_src
		mkdir -p "$cache"
		log "downloading Debian source package libcap2"
		(cd "$cache" && apt_locked source --download-only libcap2 >&2) ||
			(apt_locked update >&2 && cd "$cache" && apt_locked source --download-only libcap2 >&2) ||
			die "apt-get source libcap2 failed (network? deb-src entry?)"
		dscs=("$cache"/libcap2_*.dsc)
		[ -e "${dscs[-1]}" ] || die "apt-get source left no .dsc in $cache"
	fi
	echo "${dscs[-1]}"
}

build_libcap() {
	local dsc=$1 work=$2 dest=$3
	rm -rf "$work"
	mkdir -p "$(dirname "$work")"
	# -x applies Debian's patches, so we build what Debian ships.
	dpkg-source --no-copy -x "$dsc" "$work" >"$work.log" 2>&1 || {
		cat "$work.log" >&2
		die "dpkg-source -x $dsc failed"
	}
	# Only the static library: no shared object, no libpsx, no gperf; the
	# _makenames generator (cap_names.h) runs on the build host.
	make -s -C "$work/libcap" CC=musl-gcc BUILD_CC=cc SHARED=no PTHREADS=no USE_GPERF=no \
		COPTS="-Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables" libcap.a >&2
	install -m 0644 "$work/libcap/libcap.a" "$dest/lib/libcap.a"
	install -m 0644 "$work/libcap/include/sys/capability.h" "$dest/include/sys/capability.h"
}

install_inih() {
	local dest=$1 a=/usr/lib/x86_64-linux-gnu/libinih.a
	if [ ! -f "$a" ] || [ ! -f /usr/include/ini.h ]; then
		die "$a missing: apt-get install libinih-dev"
	fi
	# stint calls ini_parse_string() only, with inih's stack line buffer:
	# the library's heap and FILE calls are never made, but linking them
	# would bring musl's allocator and FILE input into the static init
	# (~10 KiB of 64). Our copy calls stubs instead (src/inih_stubs.c).
	objcopy --redefine-sym malloc=stint_inih_malloc --redefine-sym realloc=stint_inih_realloc \
		--redefine-sym free=stint_inih_free --redefine-sym fopen64=stint_inih_fopen --redefine-sym fgets=stint_inih_fgets \
		--redefine-sym fclose=stint_inih_fclose "$a" "$dest/lib/libinih.a"
	chmod 0644 "$dest/lib/libinih.a"
	install -m 0644 /usr/include/ini.h "$dest/include/ini.h"
}

# musl-gcc searches only musl's headers; programs using <linux/...> (and
# libcap's own <linux/capability.h>) need the kernel's uapi headers too.
link_kernel_headers() {
	local dest=$1 d
	for d in linux asm-generic; do
		[ -d /usr/include/$d ] || die "/usr/include/$d missing: apt-get install linux-libc-dev"
		ln -sfn /usr/include/$d "$dest/include/$d"
	done
	ln -sfn "/usr/include/$(gcc -print-multiarch)/asm" "$dest/include/asm"
}

main() {
	local dest=${1:-$top/build/deps/musl} dsc stamp want
	if [ "${1:-}" = apt-src ]; then
		ensure_deb_src no-update
		return
	fi
	command -v musl-gcc >/dev/null || die "musl-gcc missing: apt-get install musl-tools"
	stamp=$dest/.stamp
	# Rebuild when the inputs change: this script, the source package, the
	# inih library and the compiler.
	dsc=$(fetch_libcap_source)
	want=$(cat "${BASH_SOURCE[0]}" "$dsc" /usr/lib/x86_64-linux-gnu/libinih.a "$(command -v musl-gcc)" | sha256sum | cut -c1-16)
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		return 0
	fi
	log "building libcap.a (musl) and installing libinih.a into $dest"
	rm -rf "$dest"
	mkdir -p "$dest/lib" "$dest/include/sys"
	build_libcap "$dsc" "$top/build/deps/libcap2-src" "$dest"
	install_inih "$dest"
	link_kernel_headers "$dest"
	echo "$want" >"$stamp"
	log "done: $(stat -c '%n %s bytes' "$dest/lib/libcap.a" "$dest/lib/libinih.a" | tr '\n' ' ')"
}

main "$@"
