#!/usr/bin/env bash
# make demo: stint in one screen. On a Debian machine, as root: install what
# is missing, build stint and stint-peer, make a busybox OS image (busybox
# init, a service), start a two-container pod under runc (the OS container
# runs stint as PID 1 with Kubernetes' default capabilities; the privileged
# peer builds the persistent root on a "PV" and pivots the OS into it), show
# the handoff log, write a file inside the booted OS, restart the pod and
# show that the file survived, clean up. If runc cannot run containers
# here, the same flow runs in namespaces made with unshare, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

[ "$(id -u)" = 0 ] || { say "make demo: run as root (it starts containers)"; exit 1; }

# --- 1. what the demo needs ------------------------------------------------
# command -> Debian package
declare -A NEED=([runc]=runc [busybox]=busybox-static [jq]=jq [script]=util-linux
	[cc]=gcc [make]=make [musl-gcc]=musl-tools [file]=file [zstd]=zstd [scdoc]=scdoc [dpkg-source]=dpkg-dev)
missing=()
for c in "${!NEED[@]}"; do command -v "$c" >/dev/null || missing+=("${NEED[$c]}"); done
[ -e /usr/include/ini.h ] || missing+=(libinih-dev)
[ -e /usr/include/sys/capability.h ] || missing+=(libcap-dev)
file -L "$(command -v busybox 2>/dev/null || echo /nonexistent)" 2>/dev/null | grep -q 'statically linked' ||
	missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
	step "installing: ${missing[*]}"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

step "build"
t0=$(date +%s%N)
make -s all >/tmp/stint-demo-build.log 2>&1 || { cat /tmp/stint-demo-build.log; exit 1; }
if make -s static >>/tmp/stint-demo-build.log 2>&1; then
	export STINT_STATIC=$PWD/build/static/stint STINT_PEER_STATIC=$PWD/build/static/stint-peer
	say "stint and stint-peer, static: $(stat -c %s build/static/stint) and $(stat -c %s build/static/stint-peer) bytes ($(ms_since "$t0") ms)"
else
	export STINT_STATIC=/nonexistent STINT_PEER_STATIC=/nonexistent
	say "static build failed (see /tmp/stint-demo-build.log); using the dev build ($(ms_since "$t0") ms)"
fi
export STINT=$PWD/stint STINT_PEER=$PWD/stint-peer

source tests/lib/libtest.sh
source tests/lib/rootfs.sh
source tests/images/images.sh
# Everything the demo made goes on every exit path.
demo_cleanup() {
	if declare -F _pod_run_cleanups >/dev/null; then _pod_run_cleanups; fi
	_run_cleanups
	say ""
	say "== cleaned up: containers deleted, mounts gone"
}
trap demo_cleanup EXIT
set -e

step "image"
IMAGE=$TEST_TMP/busybox-os
make_busybox_os "$IMAGE"
say "busybox OS ($(du -sh "$IMAGE" | cut -f1)): busybox init, inittab: rcS counts boots, a service writes a heartbeat"

# Can runc run a container here? (no runc, no cgroups, a nested container...)
runc_works() {
	local b=$TEST_TMP/probe
	mkdir -p "$b/rootfs/bin" && cp "$(command -v busybox)" "$b/rootfs/bin/busybox"
	(cd "$b" && runc spec && jq '.process.args = ["/bin/busybox", "true"] | .process.terminal = false' \
		config.json >c && mv c config.json) >/dev/null 2>&1 &&
		timeout 20 runc --root "$TEST_TMP/runc-probe" run --bundle "$b" "stint-demo-probe-$$" \
			</dev/null >/dev/null 2>&1
}

if [ "${STINT_DEMO_UNSHARE:-0}" != 1 ] && command -v runc >/dev/null && runc_works; then
	source demo/pod-runc.sh
else
	say ""
	say "runc cannot run containers on this machine; falling back to namespaces made with unshare"
	source demo/pod-unshare.sh
fi
demo_main
