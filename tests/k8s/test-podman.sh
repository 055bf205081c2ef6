#!/usr/bin/env bash
# k8s/pod.yaml, run for real with `podman kube play` (podman 4.3 from Debian,
# as root): images built locally with `podman import` (busybox init + static
# stint; busybox + static stint-peer), the native sidecar moved to the
# containers list because podman 4.3 runs initContainers to completion (see
# tests/k8s/node/podman-pod.mjs). Proves: the handoff completes, the OS
# boots from an overlay whose upper is on the PVC's volume, the readiness
# command turns true, the pod stops cleanly on the image's STOPSIGNAL, and
# what the OS wrote is there when the same manifest is played again.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/k8s/lib-podman.sh"

POD=stint-pod
OS_CTR=$POD-os
PEER_CTR=$POD-stint-peer

# play VARIANT_JSON [PATTERN [CONTAINER]]: play k8s/pod.yaml (rewritten
# for podman) and wait until the OS container's log (or CONTAINER's) shows
# PATTERN (default: busybox init ran rcS).
play() {
	node "$NODE_DIR/podman-pod.mjs" "$TOP/k8s/pod.yaml" "${1:-}" >play.yaml
	# podman 4.3 looks for a directory named like each image's last path
	# component in the working directory to build it from: run where
	# none is (the test's temp dir, not the repo with its stint-peer).
	# Whatever happens next, the test's pod goes with the test.
	defer "timeout 60 podman pod rm -f -t 0 $POD"
	timeout 120 podman kube play --network none play.yaml >play.out 2>&1 ||
		{ cat play.out; fail "podman kube play failed"; }
	local ctr=${3:-$OS_CTR} log
	if ! wait_for 60 logs_have "$ctr" "${2:-rcS: boot}"; then
		log=$(podman container inspect --format '{{.HostConfig.LogConfig.Path}}' "$ctr" 2>&1)
		echo "--- $OS_CTR:"; podman logs "$OS_CTR" 2>&1 | tail -n 30
		echo "--- $PEER_CTR:"; podman logs "$PEER_CTR" 2>&1 | tail -n 30
		echo "--- the head of $ctr's log, as read ($log):"
		head -n 5 "$TEST_TMP/logs_have.txt"
		fail "the OS did not boot in $POD: no /${2:-rcS: boot}/ in $ctr's log ($log, $(wc -l <"$TEST_TMP/logs_have.txt") lines)"
	fi
}

# down: stop the pod as the kubelet would (the image's STOPSIGNAL, then
# SIGKILL after the grace period), then remove it; volumes stay. `podman
# pod stop` is used for the stop because `podman kube down` (4.3.1) did not
# let busybox init run its ::shutdown actions in our runs, while
# `pod stop` and `pod rm -f` did.
down() {
	local t0 t1
	t0=$(date +%s%N)
	timeout 60 podman pod stop -t 30 "$POD" >/dev/null || fail "podman pod stop failed"
	t1=$(date +%s%N)
	echo "pod stop took $(((t1 - t0) / 1000000)) ms"
	timeout 60 podman logs "$OS_CTR" >stop.log 2>&1
	assert_eq "$(podman inspect "$OS_CTR" --format '{{.State.ExitCode}}')" 0 "exit code of the OS container"
	timeout 60 podman kube down play.yaml >/dev/null || fail "podman kube down failed"
	# busybox init needs about 3 s (TERM, 1 s, KILL); SIGKILL after the
	# 30 s grace would take >= 30 s.
	[ $(((t1 - t0) / 1000000)) -lt 10000 ] || fail "the pod did not stop on its STOPSIGNAL (took >= 10 s)"
}

pv_dir() { podman volume inspect stint-pod-state --format '{{.Mountpoint}}'; }

# upper_has FILE: FILE (relative to the OS root) is in the upper on the PV.
upper_has() { [ -e "$(pv_dir)/upper/$1" ]; }


test_setup() {
	command -v node >/dev/null || fail "node not installed"
	timeout 600 "$TOP/tests/k8s/setup-node.sh" || fail "npm setup failed"
	podman_setup
	build_pod_images
	timeout 30 podman images
}

# busybox init does not speak sd_notify: the readiness probe uses the
# ready-path fallback (the demo service creates it). Everything else is
# pod.yaml's peer.ini as shipped.
BUSYBOX_ARGS='"--ready-path", "/run/demo-service.ready"'

probe() { timeout 10 podman exec "$PEER_CTR" /usr/bin/stint-peer status -c /etc/stint/peer.ini; }

test_pod_persists() {
	local out
	play "{\"peerArgs\": [$BUSYBOX_ARGS]}"
	wait_for 10 probe || fail "readiness probe (stint-peer status) never turned ready"
	podman logs "$OS_CTR" >os.log 2>&1
	podman logs "$PEER_CTR" >peer.log 2>&1
	cat os.log peer.log
	assert_file_has_content os.log 'stint: .* peer connected'
	assert_file_has_content os.log 'switched root: pivoted by the peer'
	assert_file_has_content os.log 'rcS: boot 1, container=stint'
	assert_file_has_content peer.log 'step 6/7 switch'
	# The boot counter went to the upper layer on the PVC's volume.
	upper_has var/lib/demo/boots || fail "no var/lib/demo/boots in $(pv_dir)/upper"
	assert_eq "$(cat "$(pv_dir)/upper/var/lib/demo/boots")" 1
	# pivot mode (pod.yaml as shipped): `podman exec` lands in the new,
	# persistent root, and the handoff's shared dir is gone from it.
	out=$(timeout 10 podman exec "$OS_CTR" cat /var/lib/demo/boots)
	assert_eq "$out" 1 "boots seen by podman exec"
	if timeout 10 podman exec "$OS_CTR" test -e /run/stint/stint.sock; then
		fail "the OS sees the handoff socket"
	fi
	down
	assert_file_has_content stop.log 'rcK: clean shutdown'
	upper_has var/lib/demo/stopped || fail "busybox init did not run ::shutdown (no clean stop)"
	play "{\"peerArgs\": [$BUSYBOX_ARGS]}"
	podman logs "$OS_CTR" >os2.log 2>&1
	cat os2.log
	assert_file_has_content os2.log 'rcS: boot 2'
	assert_eq "$(cat "$(pv_dir)/upper/var/lib/demo/boots")" 2 "boots after the replay"
	down
}

# chroot mode (k8s/overlays/chroot's flag): `podman exec` lands in the
# image's old root, and the mount of the shared dir is gone from it.
test_chroot_pod() {
	local out
	timeout 30 podman volume rm -f stint-pod-state >/dev/null 2>&1 || true
	play "{\"peerArgs\": [$BUSYBOX_ARGS, \"--mode\", \"chroot\"]}"
	wait_for 10 probe || fail "readiness probe (stint-peer status) never turned ready"
	podman logs "$OS_CTR" >os.log 2>&1
	cat os.log
	assert_file_has_content os.log 'switched root: chroot into /.stint/root'
	out=$(timeout 10 podman exec "$OS_CTR" cat /proc/1/root/var/lib/demo/boots)
	assert_eq "$out" 1 "boots seen through /proc/1/root"
	if timeout 10 podman exec "$OS_CTR" test -e /var/lib/demo/boots; then
		fail "podman exec in chroot mode should land in the old root"
	fi
	out=$(timeout 10 podman exec "$OS_CTR" cat /proc/self/mountinfo)
	if grep -q ' /run/stint ' <<<"$out"; then
		fail "the shared dir is still mounted in the old root"
	fi
	down
}

# The overlay's variant (k8s/overlays/pivot-drop-all), applied to the Pod.
test_pivot_drop_all_pod() {
	local out
	timeout 30 podman volume rm -f stint-pod-state >/dev/null 2>&1 || true
	play "{\"dropAll\": true, \"peerArgs\": [$BUSYBOX_ARGS, \"--mode\", \"pivot\"]}"
	wait_for 10 probe || fail "readiness probe (stint-peer status) never turned ready"
	podman logs "$OS_CTR" >os.log 2>&1
	cat os.log
	assert_file_has_content os.log 'switched root: pivoted by the peer'
	out=$(timeout 10 podman exec "$OS_CTR" grep -E '^Cap(Eff|Bnd)' /proc/1/status)
	echo "$out"
	grep -q 'CapEff:.0000000000000000' <<<"$out" || fail "PID 1 has effective capabilities"
	grep -q 'CapBnd:.0000000000000000' <<<"$out" || fail "PID 1 has a bounding set"
	# pivot mode: `podman exec` lands in the new, persistent root.
	out=$(timeout 10 podman exec "$OS_CTR" cat /var/lib/demo/boots)
	assert_eq "$out" 1 "boots seen by podman exec"
	down
}

# k8s/pod.yaml, unchanged but for the cgroup hierarchy systemd writes: the
# manifests name cgroup v2's /sys/fs/cgroup; on a cgroup v1 host (this
# one) it is the name=systemd hierarchy.
cgroup_path() {
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo /sys/fs/cgroup
	else
		echo /sys/fs/cgroup/systemd
	fi
}

# Debian bookworm with systemd (tests/images: debootstrap, cached) as the
# OS image, replacing the busybox one.
build_systemd_image() {
	local os=$TEST_TMP/img-debian
	make_debian_os "$os"
	install_binary "$os" "$STINT_STATIC" /usr/sbin/stint
	mkdir -p "$os/etc/stint" "$os/run/stint" "$os/.stint/root"
	timeout 60 podman rmi -f localhost/stint-os:latest >/dev/null 2>&1 || true
	podman_import "$os" localhost/stint-os:latest \
		'ENTRYPOINT ["/usr/sbin/stint"]' 'CMD ["/sbin/init"]' 'STOPSIGNAL SIGRTMIN+3' "$IMAGE_PATH"
	rm -rf "$os"
}

# In chroot mode `podman exec` lands in the image's old root: reach the OS
# through PID 1's root.
in_os() { timeout 20 podman exec "$OS_CTR" chroot /proc/1/root "$@"; }

test_systemd_pod() {
	local id1 id2 state
	build_systemd_image
	timeout 30 podman volume rm -f stint-pod-state >/dev/null 2>&1 || true
	play "{\"peerArgs\": [\"--cgroup-path\", \"$(cgroup_path)\"]}" 'READY \(pivoted\) acknowledged' "$PEER_CTR"
	wait_for 30 probe || { podman logs "$OS_CTR" 2>&1 | tail -n 40; fail "probe never ready (no READY=1)"; }
	podman logs "$PEER_CTR" >peer.log 2>&1
	cat peer.log
	assert_file_has_content peer.log 'notify: READY=1, the OS reports it has booted'
	state=$(in_os systemctl is-system-running || true)
	if [ "$state" != running ]; then
		in_os systemctl --failed --no-pager || true
		fail "systemctl is-system-running: $state"
	fi
	id1=$(cat "$(pv_dir)/upper/etc/machine-id")
	[ ${#id1} = 32 ] || fail "no machine-id in the upper layer ('$id1')"
	in_os sh -c 'echo kept >/root/kept'
	down
	assert_file_has_content stop.log 'Halting system|Exiting container'
	play "{\"peerArgs\": [\"--cgroup-path\", \"$(cgroup_path)\"]}" 'READY \(pivoted\) acknowledged' "$PEER_CTR"
	wait_for 30 probe || fail "probe never ready after the replay"
	id2=$(in_os cat /etc/machine-id)
	assert_eq "$id2" "$id1" "machine-id after the replay"
	assert_eq "$(in_os cat /root/kept)" kept "file written in the first boot"
	down
}

# The StatefulSet of the pivot-drop-all overlay, rendered by kustomize and
# turned into its first pod (stint-os-0, claim state-stint-os-0) as the
# controller would: the overlay's patches as they are, run for real.
test_overlay_statefulset_pod() {
	local out ss=stint-os-0
	node "$NODE_DIR/kustomize-lite.mjs" "$TOP/k8s/overlays/pivot-drop-all" >ss.yaml
	node "$NODE_DIR/podman-pod.mjs" ss.yaml "{\"peerArgs\": [$BUSYBOX_ARGS]}" >play.yaml
	timeout 120 podman kube play --network none play.yaml >play.out 2>&1 || { cat play.out; fail "kube play"; }
	if ! wait_for 60 logs_have "$ss-os" 'rcS: boot'; then
		podman logs "$ss-os" 2>&1 | tail -n 30; podman logs "$ss-stint-peer" 2>&1 | tail -n 30
		fail "the OS did not boot in $ss"
	fi
	podman logs "$ss-os" >os.log 2>&1
	cat os.log
	assert_file_has_content os.log 'switched root: pivoted by the peer'
	out=$(timeout 10 podman exec "$ss-os" grep -E '^CapBnd' /proc/1/status)
	grep -q 'CapBnd:.0000000000000000' <<<"$out" || fail "PID 1 has a bounding set: $out"
	out=$(timeout 10 podman exec "$ss-os" cat /var/lib/demo/boots)
	assert_eq "$out" 1 "boots seen by podman exec in the new root"
	[ -e "$(podman volume inspect state-$ss --format '{{.Mountpoint}}')/upper/var/lib/demo/boots" ] ||
		fail "the boot counter is not on the claim state-$ss"
	timeout 60 podman pod stop -t 30 "$ss" >/dev/null || fail "pod stop"
	assert_eq "$(podman inspect "$ss-os" --format '{{.State.ExitCode}}')" 0 "exit code of the OS container"
	timeout 60 podman kube down play.yaml >/dev/null || fail "kube down"
}

NODE_DIR=${STINT_NODE_DIR:-$TOP/cache/node}
podman_env
run_test "setup: npm packages, a private podman store, the two images" test_setup
run_test "podman kube play k8s/pod.yaml: handoff (pivot), boot, persistence across a replay" test_pod_persists
run_test "podman kube play, chroot mode: exec in the old root, the shared dir detached from it" test_chroot_pod
run_test "podman kube play, pivot mode with capabilities drop ALL" test_pivot_drop_all_pod
run_test "podman kube play of the overlay pivot-drop-all's StatefulSet pod" test_overlay_statefulset_pod
run_test "podman kube play k8s/pod.yaml with systemd: READY=1 probe, running, STOPSIGNAL 37, machine-id kept" test_systemd_pod
