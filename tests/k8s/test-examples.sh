#!/usr/bin/env bash
# The examples work: examples/lxc-migration builds an image with buildah from
# an LXC container's tarball and that image boots through k8s/pod.yaml;
# examples/shell-flow's scripts build the persistent root in a pod (podman
# kube play) and it persists across a replay.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/k8s/lib-podman.sh"

NODE_DIR=${STINT_NODE_DIR:-$TOP/cache/node}
EX=$TOP/examples

# Not `podman logs | grep -q`: grep quits at the first match, podman gets
# SIGPIPE and, with pipefail, a long log (systemd's) reads as no match.
logs_have() {
	timeout 10 podman logs "$1" >"$TEST_TMP/logs_have.txt" 2>&1
	grep -qE -- "$2" "$TEST_TMP/logs_have.txt"
}
pv_dir() { podman volume inspect "$1" --format '{{.Mountpoint}}'; }

# play_and_boot YAML POD: play the pod, wait for busybox init's rcS.
play_and_boot() {
	timeout 120 podman kube play --network none "$1" >play.out 2>&1 || { cat play.out; fail "kube play $1"; }
	if ! wait_for 30 logs_have "$2-os" 'rcS: boot'; then
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

test_lxc2stint() {
	"$EX/lxc-migration/lxc2stint.sh" "$EX/lxc-migration/sample.config" >map.txt
	cat map.txt
	assert_file_has_content map.txt '^lxc.init.cmd +/sbin/init$'
	assert_file_has_content map.txt '^    -> build-image.sh --init "/sbin/init"'
	assert_file_has_content map.txt '^    -> build-image.sh --stop-signal SIGRTMIN\+3'
	assert_file_has_content map.txt 'volumeMount at /var/www'
	# Exactly the one made-up key is left for a human.
	[ "$(sed -n '/^not mapped/,$p' map.txt | grep -c '^    lxc')" = 1 ] || fail "unexpected unmapped keys"
	assert_file_has_content map.txt '^    lxc.custom.thing = 1'
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
	assert_file_has_content os.log 'switched root: chroot into /.stint/root'
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

# examples/vm-migration: a partitioned raw disk holding a "VM" root (the
# busybox OS plus what VMs have: fstab, network config, machine-id, a
# serial getty, cloud-init, /boot, a file capability, a user's file) goes
# through disk-to-tar.sh and fix-root.sh, then build-image.sh, and boots in
# k8s/pod.yaml.
test_vm_disk_to_pod() {
	local loop root=$TEST_TMP/vmroot out
	command -v sfdisk >/dev/null || fail "sfdisk not installed (apt-get install fdisk)"
	command -v setcap >/dev/null || fail "setcap not installed (apt-get install libcap2-bin)"
	make_busybox_os "$root"
	printf 'UUID=1234 / ext4 defaults 0 1\nUUID=5678 none swap sw 0 0\ntmpfs /tmp tmpfs defaults 0 0\n' >"$root/etc/fstab"
	mkdir -p "$root/etc/network" "$root/etc/cloud" "$root/lib/systemd/system" "$root/boot" "$root/home/user"
	printf 'auto lo\niface lo inet loopback\nauto eth0\niface eth0 inet dhcp\n' >"$root/etc/network/interfaces"
	echo 0123456789abcdef0123456789abcdef >"$root/etc/machine-id"
	: >"$root/lib/systemd/system/serial-getty@.service"
	: >"$root/boot/vmlinuz-6.1.0"
	echo hi >"$root/home/user/notes" && chown -R 1000:1000 "$root/home/user"
	cp "$root/bin/busybox" "$root/bin/ping-cap" && setcap cap_net_raw+ep "$root/bin/ping-cap"
	rm -rf "$root/.stint"
	# A 64 MB disk, one partition, ext4 filled from the tree (mke2fs -d).
	truncate -s 64M disk.raw
	echo ',,L' | sfdisk -q disk.raw || fail "sfdisk"
	loop=$(losetup --find --show --partscan disk.raw)
	defer "losetup -d $loop"
	# --partscan does not always scan here; partx does.
	[ -b "${loop}p1" ] || partx -a "$loop" || fail "partx -a $loop"
	test -b "${loop}p1" || fail "no ${loop}p1"
	mkfs.ext4 -q -d "$root" "${loop}p1" || fail "mkfs.ext4 -d"
	losetup -d "$loop"

	"$EX/vm-migration/disk-to-tar.sh" disk.raw vm.tar || fail "disk-to-tar.sh failed"
	mkdir vm && tar -C vm --numeric-owner --xattrs --xattrs-include='*' -xpf vm.tar
	assert_eq "$(stat -c %u:%g vm/home/user/notes)" 1000:1000 "owner of a user's file"
	getcap vm/bin/ping-cap | grep -q cap_net_raw || fail "the file capability was lost"
	assert_not_exists vm/boot/vmlinuz-6.1.0

	"$EX/vm-migration/fix-root.sh" vm >fix.log
	cat fix.log
	assert_file_lacks_content vm/etc/fstab 'UUID='
	assert_file_has_content vm/etc/fstab '^tmpfs /tmp'
	assert_file_lacks_content vm/etc/network/interfaces eth0
	[ ! -s vm/etc/machine-id ] || fail "machine-id not emptied"
	assert_eq "$(readlink vm/etc/systemd/system/serial-getty@ttyS0.service)" /dev/null "serial getty masked"
	assert_exists vm/etc/cloud/cloud-init.disabled
	assert_exists vm/.stint/root
	# Idempotent: a second run changes nothing.
	"$EX/vm-migration/fix-root.sh" vm >fix2.log
	[ ! -s fix2.log ] || { cat fix2.log; fail "fix-root.sh is not idempotent"; }

	tar -C vm --numeric-owner --xattrs --xattrs-include='*' -cf vm-fixed.tar .
	timeout 60 podman rmi -f localhost/stint-os:latest >/dev/null 2>&1
	"$EX/lxc-migration/build-image.sh" -t localhost/stint-os:latest --stint "$STINT_STATIC" \
		--stop-signal SIGUSR2 vm-fixed.tar || fail "build-image.sh failed"
	timeout 30 podman volume rm -f stint-pod-state >/dev/null 2>&1
	node "$NODE_DIR/podman-pod.mjs" "$TOP/k8s/pod.yaml" '{"peerArgs": ["--ready-path", "/run/demo-service.ready"]}' >play.yaml
	play_and_boot play.yaml stint-pod
	out=$(timeout 10 podman exec stint-pod-os cat /proc/1/root/home/user/notes)
	assert_eq "$out" hi "the VM user's file in the booted pod"
	# machine-id = generate (pod.yaml's peer.ini) wrote one into the upper.
	[ -s "$(pv_dir stint-pod-state)/upper/etc/machine-id" ] || fail "no machine-id generated for the pod"
	stop_and_remove play.yaml stint-pod
}

podman_env
run_test "setup: npm packages, a private podman store, the two images" test_setup
run_test "lxc2stint.sh maps every key of an LXC config" test_lxc2stint
run_test "lxc-migration: buildah image from an LXC tarball runs and boots in k8s/pod.yaml" test_lxc_image_builds_and_boots
run_test "shell-flow: setup.sh under stint-peer exec boots the pod, persists across a replay" test_shell_flow_pod
run_test "vm-migration: raw disk -> disk-to-tar.sh -> fix-root.sh -> image -> boots in k8s/pod.yaml" test_vm_disk_to_pod
run_test "k8s/images: Containerfile.os and Containerfile.peer (FROM scratch) build and boot k8s/pod.yaml" test_k8s_images
run_test "k8s/images: Containerfile.peer-tools (FROM scratch) builds; busybox and strace run in it" test_peer_tools_image
