#!/usr/bin/env bash
# Turn an LXC container's root filesystem tarball into an OCI image whose
# ENTRYPOINT is stint, with buildah (no Docker daemon). Run as root, so the
# owners of the files in the tarball are kept (rootless: untested).
#
#   build-image.sh [-t IMAGE] [--stint FILE] [--config FILE] [--init CMD]
#                  [--stop-signal SIG] ROOTFS.tar[.gz|.xz|.zst] | ROOTDIR
#
# ROOTFS is what `tar -C /var/lib/lxc/NAME/rootfs -cpf - .` or an LXC image's
# rootfs.tar.xz gives; a tarball whose only top-level entry is `rootfs/`
# (a tar of the whole /var/lib/lxc/NAME directory) is accepted too, and its
# `config` next to it is ignored (convert it with lxc2stint.sh). ROOTDIR is
# a root file system in a directory (lxc2stint.sh --export, fix-root.sh);
# it is only read.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
top=$(cd "$here/../.." && pwd)

image=localhost/stint-lxc:latest
stint=$top/build/static/stint
config=$here/stint.ini
init=
stop_signal=SIGRTMIN+3

usage() {
	sed -n '/^#   build-image/,/^#  *\[--stop/s/^# \{0,3\}//p' "$0"
	exit "${1:-2}"
}
while [ $# -gt 0 ]; do
	case $1 in
	-t | --tag) image=$2; shift 2 ;;
	--stint) stint=$2; shift 2 ;;
	--config) config=$2; shift 2 ;;
	--init) init=$2; shift 2 ;;
	--stop-signal) stop_signal=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	--) shift; break ;;
	-*) echo "build-image: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
tarball=$1
[ -e "$tarball" ] || { echo "build-image: $tarball: no such file or directory" >&2; exit 1; }
[ -x "$stint" ] || { echo "build-image: $stint: not found (run 'make static' first, or pass --stint)" >&2; exit 1; }
file -L "$stint" | grep -q 'statically linked' ||
	echo "build-image: warning: $stint is not static; the image must then hold its libraries" >&2
command -v buildah >/dev/null || { echo "build-image: buildah not found (apt-get install buildah)" >&2; exit 1; }

ctx=$(mktemp -d /tmp/stint-lxc.XXXXXX)
trap 'rm -rf "$ctx"' EXIT

# The root as a tarball for the Containerfile's ADD: a directory is packed
# as it is; a tarball is unpacked first (to find its root, and so that
# every compression works), numeric owners and xattrs kept throughout (file
# capabilities such as ping's cap_net_raw live in xattrs).
tar_root() { tar -C "$1" --numeric-owner --xattrs --xattrs-include='*' --acls "${@:2}"; }
if [ -d "$tarball" ]; then
	src=$(cd "$tarball" && pwd)
else
	mkdir "$ctx/root"
	case $tarball in
	*.zst) unpack=(zstd -dc) ;;
	*.xz) unpack=(xz -dc) ;;
	*.gz | *.tgz) unpack=(gzip -dc) ;;
	*) unpack=(cat) ;;
	esac
	"${unpack[@]}" "$tarball" | tar_root "$ctx/root" -xpf -
	src=$ctx/root
	# A tar of the LXC directory: the root is in rootfs/, beside config.
	others=$(find "$src" -mindepth 1 -maxdepth 1 ! -name rootfs ! -name config | head -n 1)
	if [ -d "$src/rootfs" ] && [ -z "$others" ]; then
		src=$src/rootfs
	fi
fi
[ -e "$src/etc" ] || { echo "build-image: $tarball holds no /etc: not a root filesystem?" >&2; exit 1; }

tar_root "$src" -cf "$ctx/rootfs.tar" .
# The mount point the peer builds the persistent root on (stint's default
# --root), appended: the image's own root is the overlay's lower.
mkdir -p "$ctx/extra/.stint/root"
tar_root "$ctx/extra" -rf "$ctx/rootfs.tar" ./.stint
rm -rf "$ctx/root" "$ctx/extra"
cp "$stint" "$ctx/stint"
cp "$config" "$ctx/stint.ini"
cp "$here/Containerfile" "$ctx/Containerfile"

buildah build --format oci --build-arg "STOP_SIGNAL=$stop_signal" \
	-f "$ctx/Containerfile" -t "$image" "$ctx" >&2

# lxc.init.cmd: exec-form CMD cannot take a build-arg, so set it afterwards.
if [ -n "$init" ]; then
	read -r -a argv <<<"$init"
	json=$(printf '"%s",' "${argv[@]}")
	ctr=$(buildah from "$image")
	buildah config --cmd "[${json%,}]" "$ctr"
	buildah commit --format oci --rm "$ctr" "$image" >&2
fi
echo "$image"
