#!/usr/bin/env bash
# The examples work under podman kube play: examples/lxc-migration's
# build-image.sh makes an image from an LXC container's tarball and it boots
# through k8s/pod.yaml; examples/shell-flow's scripts build the persistent
# root in a pod and it persists across a replay; k8s/images build and boot.
# The migrations from realistic inputs (a VM's disk, an LXC container's
# directory) and their READMEs: tests/pod/test-migration.sh.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/k8s/lib-podman.sh"

NODE_DIR=${STINT_NODE_DIR:-$TOP/cache/node}
EX=$TOP/examples

pv_dir() { podman volume inspect "$1" --format '{{.Mountpoint}}'; }

# play_and_boot YAML POD: play the pod, wait for busybox init's rcS.
play_and_boot() {
	timeout 120 podman kube play --network none "$1" >play.out 2>&1 || { cat play.out; fail "kube play $1"; }
	if ! wait_for 60 logs_have "$2-os" 'rcS: boot'; then
		podman logs "$2-os" 2>&1 | tail -n 30
		podman logs "$2-stint-peer" 2>&1 | tail -n 30
		fail "the OS did not boot in $2"
	fi
}

stop_and_remove() {
	timeout 60 podman pod stop -t 30 "$2" >/dev/null || fail "pod stop $2"
	timeout 60 podman kube down "$1" >/dev/null || fail "kube down $1"
}

test_setup() {
	command -v node >/dev/null || fail "node not installed"
	command -v buildah >/dev/null || fail "buildah not installed (apt-get install buildah)"
	timeout 600 "$TOP/tests/k8s/setup-node.sh" || fail "npm setup failed"
	podman_setup
	build_pod_images
}

# An LXC-style tarball (rootfs/ + config) of the busybox OS, built into an
# image by build-image.sh (buildah, the test's private store), run by podman.
test_lxc_image_builds_and_boots() {
	local out
	mkdir -p lxc
	make_busybox_os lxc/rootfs
	echo "lxc.uts.name = demo" >lxc/config
	tar -C lxc --numeric-owner -cJf lxc.tar.xz .
	"$EX/lxc-migration/build-image.sh" -t localhost/stint-os:latest --stint "$STINT_STATIC" \
		--init /sbin/init --stop-signal SIGUSR2 lxc.tar.xz || fail "build-image.sh failed"
	out=$(podman image inspect localhost/stint-os:latest \
		--format '{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Config.StopSignal}}')
	echo "$out"
	assert_eq "$out" '["/usr/sbin/stint"] ["/sbin/init"] SIGUSR2'
	# The image's stint.ini serves a socket (it waits for a peer); with an
	# empty config instead there is no handoff and stint just runs the
	# command, like tini: the arguments after the image are stint's.
	out=$(timeout 30 podman run --rm --network none localhost/stint-os:latest \
		--config /dev/null -- /bin/echo from-the-image 2>/dev/null)
	assert_eq "$out" from-the-image
	# And as the OS image of k8s/pod.yaml it boots through the handoff.
	node "$NODE_DIR/podman-pod.mjs" "$TOP/k8s/pod.yaml" '{"peerArgs": ["--ready-path", "/run/demo-service.ready"]}' >play.yaml
	play_and_boot play.yaml stint-pod
	podman logs stint-pod-os >os.log 2>&1
	podman logs stint-pod-stint-peer >peer.log 2>&1
	cat os.log peer.log
	assert_file_has_content os.log 'switched root: pivoted by the peer'
	[ -e "$(pv_dir stint-pod-state)/upper/var/lib/demo/boots" ] || fail "boot counter not on the PV"
	stop_and_remove play.yaml stint-pod
}

# The ConfigMap the README tells users to create with kubectl, made here
# with the same content.
scripts_configmap() {
	local f
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shell-flow\ndata:\n'
	for f in setup.sh peer.sh; do
		printf '  %s: |\n' "$f"
		sed 's/^/    /; s/^    $//' "$EX/shell-flow/$f"
	done
}

test_shell_flow_pod() {
	timeout 60 podman rmi -f localhost/stint-os:latest >/dev/null 2>&1
	build_pod_images
	{ scripts_configmap; echo "---"; node "$NODE_DIR/podman-pod.mjs" "$EX/shell-flow/pod.yaml"; } >flow.yaml
	play_and_boot flow.yaml shell-flow
	podman logs shell-flow-os >os.log 2>&1
	podman logs shell-flow-stint-peer >peer.log 2>&1
	cat os.log peer.log
	assert_file_has_content peer.log 'setup.sh: overlay mounted at /.stint/root'
	assert_file_has_content peer.log 'ready: the init acknowledged'
	assert_file_has_content os.log 'switched root: chroot into /.stint/root'
	assert_file_has_content os.log 'rcS: boot 1'
	# /proc came along with its masks: podman masks /proc/keys (/proc/kcore
	# only where the kernel has it; this one does not).
	timeout 10 podman exec shell-flow-os sh -c 'grep -q " /proc/keys " /proc/1/mountinfo' ||
		fail "/proc/keys is not masked in the new root"
	[ "$(cat "$(pv_dir shell-flow-state)/upper/var/lib/demo/boots")" = 1 ] || fail "boot counter not on the PV"
	stop_and_remove flow.yaml shell-flow
	play_and_boot flow.yaml shell-flow
	podman logs shell-flow-os >os2.log 2>&1
	assert_file_has_content os2.log 'rcS: boot 2'
	stop_and_remove flow.yaml shell-flow
}

# k8s/images: the OS image from a base image plus stint, the peer image
# FROM scratch, both built with buildah, and k8s/pod.yaml boots from them
# (the readiness probe then runs in the shell-less peer image).
test_k8s_images() {
	local base=$TEST_TMP/os-base
	make_busybox_os "$base"
	podman_import "$base" localhost/os-base:latest "$IMAGE_PATH"
	timeout 120 buildah build --network none -f "$TOP/k8s/images/Containerfile.os" --build-arg BASE=localhost/os-base:latest \
		--build-arg STOP_SIGNAL=SIGUSR2 -t localhost/stint-os:latest "$(dirname "$STINT_STATIC")" ||
		fail "building Containerfile.os"
	timeout 120 buildah build -f "$TOP/k8s/images/Containerfile.peer" -t localhost/stint-peer:latest \
		"$(dirname "$STINT_PEER_STATIC")" || fail "building Containerfile.peer"
	node "$NODE_DIR/podman-pod.mjs" "$TOP/k8s/pod.yaml" '{"peerArgs": ["--ready-path", "/run/demo-service.ready"]}' >play.yaml
	play_and_boot play.yaml stint-pod
	wait_for 10 timeout 10 podman exec stint-pod-stint-peer /usr/bin/stint-peer status -c /etc/stint/peer.ini ||
		fail "the readiness command never succeeded in the FROM scratch peer image"
	timeout 10 podman exec stint-pod-stint-peer /bin/sh -c true 2>/dev/null && fail "the peer image has a shell"
	stop_and_remove play.yaml stint-pod
}

# k8s/images/Containerfile.peer-tools: the sidecar image for `stint-peer
# attach` builds FROM scratch from peer-tools.sh's context, and its tools
# run there (busybox, and strace with the libraries it was copied with).
# tests/pod/test-pod-enter.sh runs attach on the same root.
test_peer_tools_image() {
	local ctx=$TEST_TMP/peer-tools out
	"$TOP/k8s/images/peer-tools.sh" "$ctx" "$STINT_PEER_STATIC" || fail "peer-tools.sh failed"
	timeout 120 buildah build -f "$TOP/k8s/images/Containerfile.peer-tools" -t localhost/stint-peer-tools:latest \
		"$ctx" || fail "building Containerfile.peer-tools"
	out=$(timeout 30 podman run --rm --network none --entrypoint /usr/bin/strace localhost/stint-peer-tools:latest \
		-f -e trace=execve /bin/true 2>&1) || fail "strace in the tools image: $out"
	echo "$out"
	grep -q 'execve("/bin/true"' <<<"$out" || fail "strace traced nothing"
	out=$(timeout 30 podman run --rm --network none --entrypoint /bin/sh localhost/stint-peer-tools:latest \
		-c 'ps >/dev/null && netstat -tln >/dev/null && stint-peer --help | grep -cE "^  (enter|attach) "')
	assert_eq "$out" 2 "busybox and stint-peer in the tools image"
}

podman_env
run_test "setup: npm packages, a private podman store, the two images" test_setup
run_test "lxc-migration: buildah image from an LXC tarball runs and boots in k8s/pod.yaml" test_lxc_image_builds_and_boots
run_test "shell-flow: setup.sh under stint-peer exec boots the pod, persists across a replay" test_shell_flow_pod
run_test "k8s/images: Containerfile.os and Containerfile.peer (FROM scratch) build and boot k8s/pod.yaml" test_k8s_images
run_test "k8s/images: Containerfile.peer-tools (FROM scratch) builds; busybox and strace run in it" test_peer_tools_image
