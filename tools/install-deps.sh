#!/usr/bin/env bash
# Install what the build and every test need on Debian 12 (bookworm), as
# root, idempotently: when everything is there it only checks (about a
# second) and touches neither apt nor the network. `make check` and `make
# demo` run it first, so both work on a fresh machine; .ci/run too.
#
# Other parts of the tree add packages to tools/ci-packages.txt (one name
# per line, # comments).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

packages=(
	build-essential musl-tools libinih-dev libcap-dev pkg-config dpkg-dev file binutils
	util-linux bsdutils libcap2-bin iproute2 strace procps psmisc python3 jq
	runc podman buildah busybox-static debootstrap zstd xz-utils
	tini dumb-init catatonit
	scdoc man-db yamllint nodejs npm ca-certificates
)
if [ -f tools/ci-packages.txt ]; then
	mapfile -t extra < <(sed 's/#.*//' tools/ci-packages.txt | tr -s ' \t' '\n' | grep -v '^$')
	packages+=("${extra[@]}")
fi
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)

# A package is there when dpkg has it installed, or, for the few that other
# sources also ship (NodeSource's nodejs bundles npm and conflicts with
# Debian's npm), when its command exists.
declare -A command_of=([nodejs]=node [npm]=npm)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' && continue
	[ -n "${command_of[$p]:-}" ] && command -v "${command_of[$p]}" >/dev/null && continue
	missing+=("$p")
done

# libcap for the static musl build is compiled from Debian's source
# package: that needs a deb-src entry (tools/static-deps.sh; idempotent;
# it downloads the source itself, updating the lists if it has to).
need_src=0
[ -e /etc/apt/sources.list.d/stint-deb-src.sources ] || need_src=1

if [ ${#missing[@]} -eq 0 ] && [ $need_src = 0 ]; then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: error: missing packages and not root: run as root, or apt-get install ${missing[*]}" >&2
	exit 1
fi
# One apt at a time: two checkouts' `make check` may start together (the
# lock file is shared with tools/static-deps.sh), and apt waits for any
# other user of dpkg's lock instead of failing at once.
exec 9>/run/lock/stint-apt.lock
flock -w 900 9 || { echo "deps: error: /run/lock/stint-apt.lock held for 15 minutes" >&2; exit 1; }
apt=(apt-get -q -o DPkg::Lock::Timeout=600)
tools/static-deps.sh apt-src 9>&-
echo "deps: apt-get update; installing: ${missing[*]:-nothing}"
"${apt[@]}" update
[ ${#missing[@]} -eq 0 ] || "${apt[@]}" install -y "${missing[@]}"
