# shellcheck shell=bash
# A Kubernetes node for tests/cri: containerd 1.6 with its CRI plugin,
# started by the test (no system service) with its root, state, sockets,
# runc state, CNI config and cgroups under names of its own, the images
# built from k8s/images/ and imported (no registry), and tests/cri/kubelet.py
# driving it over CRI the way the kubelet does. Source after libtest.sh,
# rootfs.sh, images.sh and tests/k8s/lib-podman.sh (buildah's private store).
#
# containerd runs in a private mount namespace of its own (unshare -m):
# every mount it, runc and the kubelet stand-in make (snapshots, the pod's
# tmpfs volumes, the ext4 PV) lives there and goes away with it, and in
# the cgroup v2 view that namespace has the node's unified hierarchy bound
# over /sys/fs/cgroup (see cri_node_start). The kubelet stand-in and every
# look at the node's files run in that namespace too (in_node).
#
# Network: CNI with tests/cri/cni-dummy.sh, which gives the pod's own
# network namespace an eth0 (a dummy device, 192.0.2.10/32) and makes
# nothing on the node; the pod has no way out, which the images do not need.

CRI_SRC=$TOP/tests/cri
CRI_PY=/usr/bin/python3

# cri_env MODE: name this file's node (MODE v1 = the host's cgroups, v2 =
# the cgroup v2 view) and register its teardown. Call at the top level.
cri_env() {
	NODE_MODE=$1
	NODE=$TEST_TMP/node-$1
	CRI_SOCK=$NODE/containerd.sock
	# A cgroup root per run: the kubelet's --cgroup-root; everything the
	# pods get is below it and removed at the end.
	CGROOT=/stint-cri-$(basename "$TEST_TMP")-$1
	KUBELET_ROOT=$NODE/kubelet
	# containerd's root (metadata, content, image snapshots) is one per
	# file: a later node (the v2 view after v1) starts on it like a node
	# that rebooted, with the images already there. State is per node.
	CRI_ROOT=$TEST_TMP/containerd-root
	export NODE_MODE NODE CRI_SOCK CGROOT KUBELET_ROOT CRI_ROOT
	defer cri_node_stop
}

node_pid() { cat "$NODE/containerd.pid" 2>/dev/null; }
cri_gone() { ! kill -0 "$1" 2>/dev/null; }

# in_node CMD...: run CMD in containerd's mount namespace.
in_node() { nsenter -t "$(node_pid)" -m -- "$@"; }

# kubelet POD ARGS...: the kubelet stand-in for pod state file POD.
kubelet() {
	local pod=$1
	shift
	in_node env PYTHONPATH="$NODE/gen" "$CRI_PY" "$CRI_SRC/kubelet.py" -r "$CRI_SOCK" -s "$NODE/$pod.json" "$@"
}

cri_require() {
	local c
	for c in containerd containerd-shim-runc-v2 ctr runc buildah nsenter unshare; do
		command -v "$c" >/dev/null || fail "$c not installed (tools/install-deps.sh: containerd, runc, buildah, util-linux)"
	done
	"$CRI_PY" -c 'import grpc, grpc_tools, yaml' 2>/dev/null ||
		fail "python3-grpcio, python3-grpc-tools or python3-yaml missing (tools/install-deps.sh)"
	[ -x /usr/lib/cni/loopback ] || fail "/usr/lib/cni/loopback missing (containernetworking-plugins)"
}

# The client stubs, generated from tests/cri/cri.proto at test time.
cri_gen_stubs() {
	mkdir -p "$NODE/gen"
	"$CRI_PY" -m grpc_tools.protoc -I"$CRI_SRC" --python_out="$NODE/gen" --grpc_python_out="$NODE/gen" \
		"$CRI_SRC/cri.proto" || fail "protoc on tests/cri/cri.proto failed"
}

cri_write_config() {
	local runc_binary=""
	# The v2 view: no cpu controller, and containerd 1.6 would let a
	# privileged container clear nsdelegate; see tests/cri/runc-v2view.sh.
	[ "$NODE_MODE" = v2 ] && runc_binary="BinaryName = \"$CRI_SRC/runc-v2view.sh\""
	mkdir -p "$NODE"/{state,runc,opt,cni/bin,cni/net.d,kubelet} "$CRI_ROOT"
	ln -sf /usr/lib/cni/loopback "$NODE/cni/bin/loopback"
	install -m 755 "$CRI_SRC/cni-dummy.sh" "$NODE/cni/bin/stint-dummy"
	cat >"$NODE/cni/net.d/10-stint.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "stint-test", "plugins": [{"type": "stint-dummy", "address": "192.0.2.10/32", "record": "$NODE/netns.made"}]}
EOF
	# restrict_oom_score_adj: this VM lacks CAP_SYS_RESOURCE, so a sandbox
	# asking for oom_score_adj -998 would fail (LAB-FACTS).
	cat >"$NODE/config.toml" <<EOF
version = 2
root = "$CRI_ROOT"
state = "$NODE/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$CRI_SOCK"
[ttrpc]
  address = "$CRI_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/stint-pause:1"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$NODE/cni/bin"
    conf_dir = "$NODE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$NODE/runc"
        SystemdCgroup = false
        $runc_binary
EOF
}

# cri_node_start: containerd in a private mount namespace; in the v2 view
# that namespace first gets the unified hierarchy over /sys/fs/cgroup, so
# containerd, runc and the pods see a cgroup v2 node (LAB-FACTS). The
# hierarchy's nsdelegate flag stays as the host has it: it is the whole
# machine's, and the peer's cgroup = rw is safe either way.
cri_node_start() {
	local pre=""
	cri_write_config
	cri_gen_stubs
	if [ "$NODE_MODE" = v2 ]; then
		mountpoint -q /sys/fs/cgroup/unified || fail "no /sys/fs/cgroup/unified: not a hybrid host"
		pre="mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup &&"
	fi
	# setsid: its own session, so nothing here waits for it; output to a
	# file, so tests/run.sh's pipe does not stay open.
	STINT_RUNC=$(command -v runc) setsid unshare -m --propagation private sh -c "$pre exec containerd --config '$NODE/config.toml'" \
		</dev/null >"$NODE/containerd.log" 2>&1 &
	echo $! >"$NODE/containerd.pid"
	if ! wait_for 30 ctr --address "$CRI_SOCK" version >/dev/null 2>&1; then
		tail -n 30 "$NODE/containerd.log"
		fail "containerd did not come up"
	fi
	kubelet none cleanup-all >/dev/null || fail "the CRI plugin does not answer"
	if [ "$NODE_MODE" = v2 ]; then
		assert_eq "$(in_node stat -f -c %T /sys/fs/cgroup)" cgroup2fs "the node's /sys/fs/cgroup in the v2 view"
	fi
}

# cri_rm_cgroups: remove this node's cgroup root in every hierarchy;
# false while some of it is left.
cri_rm_cgroups() {
	local d left=0
	for d in /sys/fs/cgroup/*"$CGROOT" /sys/fs/cgroup/unified"$CGROOT"; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		[ ! -d "$d" ] || left=1
	done
	[ $left = 0 ]
}

# cri_node_stop: every sandbox removed through CRI, containerd stopped, any
# shim left killed (their pid files), the cgroup root removed.
cri_node_stop() {
	local pid f p i
	pid=$(node_pid) || return 0
	if kill -0 "$pid" 2>/dev/null; then
		timeout 120 env PYTHONPATH="$NODE/gen" nsenter -t "$pid" -m -- "$CRI_PY" "$CRI_SRC/kubelet.py" \
			-r "$CRI_SOCK" cleanup-all >/dev/null 2>&1
		kill -TERM "$pid" 2>/dev/null || true
		wait_for 10 cri_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	fi
	# Normally nothing is left here. If containers outlived containerd (it
	# died), their shims (each the parent of a container's init, whose pid
	# the task's init.pid holds) are found and runc removes the containers
	# in the node's mount namespace (a shim's) before the shims are killed.
	for f in "$NODE"/state/io.containerd.runtime.v2.task/*/*/init.pid; do
		[ -f "$f" ] || continue
		p=$(awk '{print $4}' "/proc/$(cat "$f")/stat" 2>/dev/null) || continue
		grep -qaF -- "$CRI_SOCK" "/proc/$p/cmdline" 2>/dev/null || continue
		for i in $(nsenter -t "$p" -m -- runc --root "$NODE/runc/k8s.io" list -q 2>/dev/null); do
			nsenter -t "$p" -m -- runc --root "$NODE/runc/k8s.io" delete -f "$i" 2>/dev/null || true
		done
		kill -KILL "$p" 2>/dev/null || true
	done
	for f in "$NODE"/pv/*.loop; do
		[ -f "$f" ] && losetup -d "$(cat "$f")" 2>/dev/null
		rm -f "$f"
	done
	# The cgroups runc made for the pods' containers are gone with them;
	# the parents (kubepods/besteffort/pod<uid>) are the kubelet's to remove.
	# A cgroup whose last process is still exiting cannot be removed yet.
	wait_for 10 cri_rm_cgroups || true
	rm -f "$NODE/containerd.pid"
}

# ---- images ---------------------------------------------------------------
# Built once per test file with buildah (the private store of lib-podman.sh)
# into OCI archives in $CRI_IMAGES; each node imports them all.

CRI_IMAGES=$TEST_TMP/images

# oci_archive IMAGE NAME: buildah's IMAGE as $CRI_IMAGES/NAME.tar,
# uncompressed (gzip would cost seconds of 2 busy cores for nothing here).
oci_archive() {
	mkdir -p "$CRI_IMAGES"
	timeout 300 buildah push -q --disable-compression "$1" "oci-archive:$CRI_IMAGES/$2.tar:$1" >/dev/null ||
		fail "buildah push $1"
}

# The sandbox image: tests/cri/pause.c, static, FROM scratch.
cri_build_pause() {
	local ctr
	mkdir -p "$CRI_IMAGES"
	musl-gcc -static -Os -s -Wall -Wextra -Werror -o "$CRI_IMAGES/pause" "$CRI_SRC/pause.c" ||
		fail "building pause.c"
	ctr=$(buildah from scratch) || fail "buildah from scratch"
	buildah copy "$ctr" "$CRI_IMAGES/pause" /pause >/dev/null || fail "buildah copy"
	buildah config --entrypoint '["/pause"]' "$ctr" || fail "buildah config"
	buildah commit -q "$ctr" localhost/stint-pause:1 >/dev/null || fail "buildah commit"
	buildah rm "$ctr" >/dev/null
	oci_archive localhost/stint-pause:1 pause
}

# cri_build_os ROOTFS TAG STOPSIGNAL: k8s/images/Containerfile.os over a
# base image made from ROOTFS, as localhost/stint-os:TAG.
cri_build_os() {
	local root=$1 tag=$2 sig=$3
	podman_import "$root" "localhost/os-base:$tag" "$IMAGE_PATH"
	timeout 300 buildah build -q --network none -f "$TOP/k8s/images/Containerfile.os" \
		--build-arg "BASE=localhost/os-base:$tag" --build-arg "STOP_SIGNAL=$sig" \
		-t "localhost/stint-os:$tag" "$(dirname "$STINT_STATIC")" >/dev/null || fail "building Containerfile.os ($tag)"
	oci_archive "localhost/stint-os:$tag" "os-$tag"
}

# k8s/images/Containerfile.peer: the static stint-peer FROM scratch.
cri_build_peer() {
	timeout 120 buildah build -q -f "$TOP/k8s/images/Containerfile.peer" -t localhost/stint-peer:latest \
		"$(dirname "$STINT_PEER_STATIC")" >/dev/null || fail "building Containerfile.peer"
	oci_archive localhost/stint-peer:latest peer
}

# cri_import_images: every archive into containerd's k8s.io namespace (the
# CRI plugin's), unpacked for the overlayfs snapshotter.
cri_import_images() {
	local f
	for f in "$CRI_IMAGES"/*.tar; do
		timeout 300 ctr --address "$CRI_SOCK" -n k8s.io images import "$f" >/dev/null ||
			fail "ctr images import $f"
	done
}

# ---- persistent volumes ---------------------------------------------------

# pv_dir NAME: a PV as a plain directory on the node.
pv_dir() {
	mkdir -p "$NODE/pv/$1"
	echo "$NODE/pv/$1"
}

# pv_ext4 NAME SIZE: a PV as an ext4 file system on a loop device, mounted
# in the node's mount namespace (as a CSI driver's staging would). Prints
# the mount point; pv_ext4_release NAME unmounts it and frees the loop.
pv_ext4() {
	local name=$1 size=$2 loop
	truncate -s "$size" "$NODE/pv/$name.img" 2>/dev/null || { mkdir -p "$NODE/pv" && truncate -s "$size" "$NODE/pv/$name.img"; }
	[ -s "$NODE/pv/$name.img.made" ] || { mkfs.ext4 -q -F "$NODE/pv/$name.img" && echo 1 >"$NODE/pv/$name.img.made"; } ||
		fail "mkfs.ext4 $name"
	loop=$(losetup --find --show "$NODE/pv/$name.img") || fail "losetup $name"
	echo "$loop" >"$NODE/pv/$name.loop"
	mkdir -p "$NODE/pv/$name"
	in_node mount -t ext4 "$loop" "$NODE/pv/$name" || { losetup -d "$loop"; fail "mount $loop"; }
	echo "$NODE/pv/$name"
}

pv_ext4_release() {
	local name=$1 loop
	loop=$(cat "$NODE/pv/$name.loop" 2>/dev/null) || return 0
	in_node umount "$NODE/pv/$name" 2>/dev/null
	losetup -d "$loop" 2>/dev/null
	rm -f "$NODE/pv/$name.loop"
}
