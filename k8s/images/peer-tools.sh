#!/usr/bin/env bash
# The build context of Containerfile.peer-tools: the static stint-peer plus
# a few tools for `stint-peer attach` (busybox's ps, top, netstat, ip, nc,
# vi, ... and strace), in a root of their own:
#
#   make static
#   k8s/images/peer-tools.sh build/peer-tools
#   buildah build -f k8s/images/Containerfile.peer-tools -t stint-peer-tools build/peer-tools
#
# busybox comes from Debian's busybox-static (one static binary and a link
# per applet). Debian has no static strace: the dynamic one is copied with
# the libraries and the loader it names, at the same paths.
set -euo pipefail

out=${1:?usage: peer-tools.sh OUT_DIR [STINT_PEER_BINARY]}
top=$(cd "$(dirname "$0")/../.." && pwd)
peer=${2:-$top/build/static/stint-peer}

die() {
	echo "peer-tools.sh: $*" >&2
	exit 1
}

[ -x "$peer" ] || die "no stint-peer binary at $peer (make static)"
bb=$(command -v busybox) || die "busybox not installed (apt-get install busybox-static)"
file -L "$bb" | grep -q 'statically linked' || die "$bb is not static (apt-get install busybox-static)"
st=$(command -v strace) || die "strace not installed (apt-get install strace)"

# copy_with_libs BIN DEST: BIN at DEST in the root, and what ldd names.
copy_with_libs() {
	local lib
	mkdir -p "$out$(dirname "$2")"
	cp -L "$1" "$out$2"
	for lib in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+'); do
		mkdir -p "$out$(dirname "$lib")"
		cp -L "$lib" "$out$lib"
	done
}

rm -rf "$out"
mkdir -p "$out"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,run,target}
chmod 1777 "$out/tmp"
cp -L "$bb" "$out/bin/busybox"
for applet in $("$bb" --list-full); do
	[ -e "$out/$applet" ] || ln -s /bin/busybox "$out/$applet"
done
copy_with_libs "$st" /usr/bin/strace
copy_with_libs "$peer" /usr/bin/stint-peer
echo "root:x:0:0:root:/root:/bin/sh" >"$out/etc/passwd"
echo "root:x:0:" >"$out/etc/group"
echo "peer-tools: $(du -sh "$out" | cut -f1) in $out"
