#!/usr/bin/env bash
# The project's pods under a real CRI runtime, driven like a kubelet drives
# it: containerd 1.6 (its CRI plugin) started by this file, the images built
# from k8s/images/ and imported, tests/cri/kubelet.py reading the manifests
# (k8s/pod.yaml; the k8s/base and pivot-drop-all StatefulSets rendered, as
# the controller's first pod stint-os-0 with claim state-stint-os-0) and
# calling RunPodSandbox, CreateContainer (the native sidecar first),
# ExecSync of the readiness probe every periodSeconds, the preStop hook
# (stint halt) then StopContainer (the image's STOPSIGNAL: containerd 1.6
# has no CRI stop signal),
# RemoveContainer. busybox and Debian systemd; on this host's cgroups (v1,
# hybrid), then in the cgroup v2 view (the unified hierarchy bound over
# /sys/fs/cgroup for containerd, runc and the pods; a second containerd on
# the first one's root, so the images are imported once).
#
# On this cgroup v1 host the peer gets `--cgroup-path /sys/fs/cgroup/systemd`
# (the manifests say /sys/fs/cgroup, for cgroup v2 nodes); in the v2 view the
# manifests run as shipped. busybox init sends no sd_notify: its pods get
# `--ready-path /run/demo-service.ready` (tests/images/images.sh's service).
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/k8s/lib-podman.sh"
source "$TOP/tests/cri/libcri.sh"

K8S=$TOP/k8s
NODE_DIR=${STINT_NODE_DIR:-$TOP/cache/node}
OVERLAY=$TEST_TMP/overlay.yaml
BASE_SS=$TEST_TMP/base.yaml
BUSYBOX_READY=(--peer-arg=--ready-path --peer-arg=/run/demo-service.ready)

# ---- helpers ----------------------------------------------------------------

# run_pod POD MANIFEST OS_TAG CLAIM=PV [kubelet.py run-pod args...]
run_pod() {
	local pod=$1 manifest=$2 tag=$3 claim=$4
	shift 4
	kubelet "$pod" run-pod "$manifest" --root "$KUBELET_ROOT" --claim "$claim" --cgroup-root "$CGROOT" \
		--image "localhost/stint-os:latest=localhost/stint-os:$tag" "$@"
}

# v1_systemd: what the peer needs for systemd on this host's cgroup v1.
v1_systemd() { [ "$NODE_MODE" = v2 ] || echo "--peer-arg=--cgroup-path --peer-arg=/sys/fs/cgroup/systemd"; }

# os_sh POD CMD...: CMD in the OS container, in the booted root. An exec
# lands there with pivot; with chroot it lands in the image's old root
# (README "kubectl exec"), where the booted root is /proc/1/root.
os_sh() {
	local pod=$1
	shift
	kubelet "$pod" exec os -- sh -c \
		'if [ / -ef /proc/1/root ]; then exec "$@"; else exec chroot /proc/1/root "$@"; fi' sh "$@"
}

wait_ready() {
	kubelet "$1" wait-ready "${2:-60}" || {
		kubelet "$1" logs stint-peer | tail -n 20
		kubelet "$1" logs os | tail -n 30
		fail "pod $1 did not become ready"
	}
}

# peer_boots POD: the boot count the peer reports (stint-peer status -v;
# the count lives on the PV, so it spans containers and pods).
peer_boots() {
	kubelet "$1" exec stint-peer -- /usr/bin/stint-peer status -v -c /etc/stint/peer.ini 2>&1 |
		sed -n 's/^boots=//p'
}

probe_fails() { ! kubelet "$1" probe >/dev/null 2>&1; }
probe_says() { kubelet "$1" probe 2>&1 | grep -cF -- "$2" >/dev/null; }
heartbeat_after() { [ "$(os_sh "$1" cat /var/lib/demo/heartbeat)" != "$2" ]; }
systemd_running() { [ "$(os_sh "$1" systemctl is-system-running)" = running ]; }

# delete_pod POD: the kubelet's pod deletion; nothing of the pod is left
# in the runtime.
delete_pod() {
	kubelet "$1" delete-pod || fail "deleting pod $1"
	assert_not_exists "$NODE/$1.json"
}

# stop_os POD: the kubelet's stop of the OS container: the manifests'
# preStop hook (stint halt) must halt the OS (exit 0, the init's final
# SIGTERM reached it), then StopContainer; the container exits 0.
stop_os() {
	local code
	code=$(kubelet "$1" stop os 2>stop.err) || { cat stop.err; fail "StopContainer os"; }
	cat stop.err
	assert_file_has_content stop.err 'preStop of os: /usr/sbin/stint halt --timeout 50: exit 0 in [0-9]+ ms: .*halt: PID 1 is .*SIGTERM from pid'
	assert_eq "$code" 0 "exit code of the OS container after stint halt and its STOPSIGNAL"
}

# peer_synced POD: the peer synced the PV once the OS container ended.
peer_synced() { kubelet "$1" logs stint-peer | grep -c 'persistent volume synced' >/dev/null; }

# probe_not_ready POD: right after the OS stopped, the readiness probe
# fails, at the latest by the kubelet's next probe (periodSeconds 2).
probe_not_ready() {
	wait_for 2 probe_fails "$1" || {
		kubelet "$1" probe
		fail "the probe still reports ready after the OS container stopped"
	}
}

# restart_os POD: what the kubelet does for a container that exited: remove
# it, create the next attempt in the same sandbox, start it.
restart_os() {
	kubelet "$1" remove os || fail "RemoveContainer os"
	kubelet "$1" start os || fail "CreateContainer/StartContainer os"
	wait_ready "$1"
}

restart_sidecar() {
	assert_eq "$(kubelet "$1" stop stint-peer)" 0 "the peer's exit code on SIGTERM"
	kubelet "$1" remove stint-peer || fail "RemoveContainer stint-peer"
	kubelet "$1" start stint-peer || fail "CreateContainer/StartContainer stint-peer"
}

# ini_key MANIFEST FILE KEY: a key of an INI file in the manifest's ConfigMap.
ini_key() {
	"$CRI_PY" - "$@" <<'PY'
import sys, yaml, configparser
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
ini = next(d for d in docs if d["kind"] == "ConfigMap")["data"][sys.argv[2]]
cp = configparser.ConfigParser()
cp.read_string(ini)
print(cp[cp.sections()[0]][sys.argv[3]])
PY
}


# ---- the node ---------------------------------------------------------------

test_setup() {
	local bb=$TEST_TMP/rootfs-busybox deb=$TEST_TMP/rootfs-debian
	cri_require
	command -v node >/dev/null || fail "node not installed (for the kustomize renderer)"
	timeout 600 "$TOP/tests/k8s/setup-node.sh" >/dev/null || fail "npm setup failed"
	node "$NODE_DIR/kustomize-lite.mjs" "$K8S/overlays/pivot-drop-all" >"$OVERLAY" || fail "rendering the overlay"
	node "$NODE_DIR/kustomize-lite.mjs" "$K8S/base" >"$BASE_SS" || fail "rendering the base"
	podman_setup
	cri_build_pause
	cri_build_peer
	make_busybox_os "$bb"
	cri_build_os "$bb" busybox SIGUSR2
	make_debian_os "$deb"
	cri_build_os "$deb" debian SIGRTMIN+3
	rm -rf "$bb" "$deb"
	ls -la "$CRI_IMAGES"
}

test_node_up() {
	cri_node_start
	# The first node imports the images; the next one finds them in the
	# root it shares with the first.
	ctr --address "$CRI_SOCK" -n k8s.io images ls -q >images.txt
	grep -qx localhost/stint-pause:1 images.txt || cri_import_images
	ctr --address "$CRI_SOCK" -n k8s.io images ls -q | tee images.txt
	assert_file_has_content images.txt '^localhost/stint-os:debian$'
	assert_file_has_content images.txt '^localhost/stint-os:busybox$'
	assert_file_has_content images.txt '^localhost/stint-peer:latest$'
	assert_file_has_content images.txt '^localhost/stint-pause:1$'
}

# ---- busybox ----------------------------------------------------------------

# k8s/pod.yaml as is (the base's pod), its PV a directory.
test_busybox_boot() {
	local pv
	pv=$(pv_dir busybox)
	run_pod bb "$K8S/pod.yaml" busybox "stint-pod-state=$pv" "${BUSYBOX_READY[@]}" || fail "run-pod"
	wait_ready bb
	# What the kubelet mounted reached the booted root through the peer's
	# carry: the ConfigMap (atomic-writer layout), the service-account
	# token, /etc/hosts with the pod's name, the termination log. One exec
	# for all the looks (each exec costs a CRI round trip).
	os_sh bb sh -c 'echo "boots=$(cat /var/lib/demo/boots)"; echo "data=$(readlink /etc/stint/..data)"
		grep -q "^\[stint\]" /etc/stint/stint.ini && echo ini=ok
		test -s /var/run/secrets/kubernetes.io/serviceaccount/token && echo token=ok
		grep -q "stint-pod\$" /etc/hosts && echo hosts=ok
		test -e /dev/termination-log && echo termlog=ok' >look.txt
	cat look.txt
	assert_file_has_content look.txt '^boots=1$'
	assert_file_has_content look.txt '^data=\.\.[0-9_.]+$'
	assert_file_has_content look.txt '^ini=ok$'
	assert_file_has_content look.txt '^token=ok$'
	assert_file_has_content look.txt '^hosts=ok$'
	assert_file_has_content look.txt '^termlog=ok$'
	# The handoff emptyDir is a tmpfs of its sizeLimit (1Mi) in the peer.
	in_node grep -q " $KUBELET_ROOT/pods/[^ ]*/kubernetes.io~empty-dir/handoff .*[ ,]size=1024k[, ]" /proc/self/mountinfo ||
		fail "the emptyDir is not a 1Mi tmpfs"
	os_sh bb sh -c 'echo "kept $$" >/var/lib/cri-keep && cat /var/lib/cri-keep' >"$NODE/bb.keep"
	assert_file_has_content "$NODE/bb.keep" '^kept [0-9]+$'
}

# StopContainer: busybox init runs its ::shutdown on the image's STOPSIGNAL
# (SIGUSR2) and exits 0; the probe reports not ready by its next period.
test_busybox_stop() {
	stop_os bb
	wait_for 10 peer_synced bb || fail "the peer did not sync the PV after the OS ended"
	in_node test -s "$NODE/pv/busybox/upper/var/lib/demo/stopped" || fail "busybox's shutdown did not run"
	probe_not_ready bb
}

# RemoveContainer, CreateContainer (attempt 1) in the same sandbox: ready
# again, with what the OS wrote.
test_busybox_restart() {
	restart_os bb
	assert_eq "$(os_sh bb sh -c 'echo $(cat /var/lib/demo/boots) $(cat /var/lib/cri-keep)')" "2 $(cat "$NODE/bb.keep")" \
		"boots and a file written in the OS, after the container restart"
	assert_eq "$(peer_boots bb)" 2 "the peer's boot count"
}

# The sidecar restarts while the OS runs: the OS is not disturbed, and the
# new peer serves the OS's next restart.
test_busybox_sidecar_restart() {
	local hb
	restart_sidecar bb
	assert_eq "$(kubelet bb status os)" "CONTAINER_RUNNING 0" "the OS container during the sidecar restart"
	hb=$(os_sh bb cat /var/lib/demo/heartbeat)
	wait_for 10 heartbeat_after bb "$hb" || fail "the OS's service stopped beating"
	stop_os bb
	restart_os bb
	assert_eq "$(os_sh bb cat /var/lib/demo/boots)" 3 "boots after the sidecar restart and an OS restart"
	assert_eq "$(peer_boots bb)" 3 "the new peer's boot count (from the PV)"
	kubelet bb logs stint-peer >peer.log
	assert_file_has_content peer.log 'step 6/7 switch'
}

# The overlay's StatefulSet pod (pivot, the OS container drops ALL), its PV
# an ext4 file system on a loop device; then the whole pod is deleted and
# made again (new sandbox, new uid) on the same PV.
test_busybox_statefulset_recreated() {
	local pv
	pv=$(pv_ext4 ss-busybox 64M)
	run_pod ssbb "$OVERLAY" busybox "state-stint-os-0=$pv" "${BUSYBOX_READY[@]}" || fail "run-pod"
	wait_ready ssbb
	kubelet ssbb logs os >os.log
	assert_file_has_content os.log 'switched root: pivoted by the peer'
	os_sh ssbb sh -c 'grep -q "stint-os-0.stint-os" /etc/hosts && echo hosts=ok
		sed -n "s/^CapEff:\t/caps=/p" /proc/1/status; echo first-pod >/var/lib/cri-keep' >look.txt
	cat look.txt
	assert_file_has_content look.txt '^hosts=ok$'
	assert_file_has_content look.txt '^caps=0000000000000000$'
	delete_pod ssbb
	pv_ext4_release ss-busybox
	pv=$(pv_ext4 ss-busybox 64M)
	run_pod ssbb "$OVERLAY" busybox "state-stint-os-0=$pv" "${BUSYBOX_READY[@]}" || fail "run-pod again"
	wait_ready ssbb
	assert_eq "$(os_sh ssbb sh -c 'echo $(cat /var/lib/demo/boots) $(cat /var/lib/cri-keep)')" "2 first-pod" \
		"boots and a file written by the first pod, in the re-created pod"
	assert_eq "$(peer_boots ssbb)" 2 "the peer's boot count in the re-created pod"
	delete_pod ssbb
	pv_ext4_release ss-busybox
}

# ---- Debian with systemd --------------------------------------------------

# k8s/pod.yaml with systemd, its PV ext4 on a loop device: boot to READY=1
# and `running`.
test_systemd_boot() {
	local pv
	pv=$(pv_ext4 sd 256M)
	# shellcheck disable=SC2046
	run_pod sd "$K8S/pod.yaml" debian "stint-pod-state=$pv" $(v1_systemd) || fail "run-pod"
	wait_ready sd
	kubelet sd probe >probe.txt
	assert_file_has_content probe.txt '^ready'
	wait_for 30 systemd_running sd || { os_sh sd systemctl --failed; fail "systemd is not running"; }
	os_sh sd sh -c 'cat /proc/1/cgroup; echo "fs=$(stat -f -c %T /sys/fs/cgroup)"
		echo "mid=$(cat /etc/machine-id)"; echo "kept $$" >/var/lib/cri-keep; echo "keep=$(cat /var/lib/cri-keep)"' >look.txt
	cat look.txt
	if [ "$NODE_MODE" = v2 ]; then
		# (The v1 hierarchies still list there; nothing is in them.)
		assert_file_has_content look.txt '^0::/init\.scope$'
		assert_file_has_content look.txt '^fs=cgroup2fs$'
	fi
	assert_file_has_content look.txt '^mid=[0-9a-f]{32}$'
	sed -n 's/^mid=//p' look.txt >"$NODE/sd.machine-id"
	sed -n 's/^keep=//p' look.txt >"$NODE/sd.keep"
	[ -s "$NODE/sd.keep" ] || fail "could not write a file in the OS"
}

# StopContainer: SIGRTMIN+3 (the image's STOPSIGNAL) halts systemd, exit 0;
# not ready by the next probe.
test_systemd_stop() {
	stop_os sd
	wait_for 10 peer_synced sd || fail "the peer did not sync the PV after the OS ended"
	probe_not_ready sd
}

test_systemd_restart() {
	restart_os sd
	assert_eq "$(os_sh sd sh -c 'echo $(cat /etc/machine-id) $(cat /var/lib/cri-keep)')" \
		"$(cat "$NODE/sd.machine-id") $(cat "$NODE/sd.keep")" "machine-id and a file written in the OS, after the restart"
	assert_eq "$(peer_boots sd)" 2 "the peer's boot count"
}

# The sidecar restarts while systemd runs: the OS's sd_notify path still
# reaches the (new) peer, whose status then shows what the OS sent.
test_systemd_sidecar_restart() {
	local sock msg="after the sidecar restart $RANDOM"
	sock=$(ini_key "$K8S/pod.yaml" stint.ini notify-socket)
	restart_sidecar sd
	assert_eq "$(kubelet sd status os)" "CONTAINER_RUNNING 0" "the OS container during the sidecar restart"
	os_sh sd env NOTIFY_SOCKET="$sock" systemd-notify --status="$msg" ||
		fail "systemd-notify in the OS could not reach the restarted peer at $sock"
	wait_for 4 probe_says sd "$msg" ||
		{ kubelet sd probe; fail "the peer's status does not show the OS's STATUS= after its restart"; }
}

# The base's StatefulSet pod (rendered, as the controller's stint-os-0 with
# claim state-stint-os-0) with systemd: ready, and the whole pod re-created
# on the same PV keeps the OS's files and machine-id.
test_systemd_statefulset_recreated() {
	local pv
	pv=$(pv_ext4 ss-debian 256M)
	# shellcheck disable=SC2046
	run_pod sssd "$BASE_SS" debian "state-stint-os-0=$pv" $(v1_systemd) || fail "run-pod"
	wait_ready sssd
	os_sh sssd sh -c 'echo first-pod >/var/lib/cri-keep; cat /etc/machine-id' >mid.txt
	delete_pod sssd
	pv_ext4_release ss-debian
	pv=$(pv_ext4 ss-debian 256M)
	# shellcheck disable=SC2046
	run_pod sssd "$BASE_SS" debian "state-stint-os-0=$pv" $(v1_systemd) || fail "run-pod again"
	wait_ready sssd
	assert_eq "$(os_sh sssd sh -c 'echo $(cat /var/lib/cri-keep) $(cat /etc/machine-id)')" "first-pod $(cat mid.txt)" \
		"a file written by the first pod and its machine-id, in the re-created pod"
	delete_pod sssd
	pv_ext4_release ss-debian
}

systemd_is_pid1() { [ "$(os_sh "$1" cat /proc/1/comm)" = systemd ]; }

# systemd in the pivot-drop-all overlay's pod: the peer pivots and systemd
# runs as PID 1, but with no capability at all its boot does not finish
# cleanly (dbus, logind; README: keep the default capabilities for systemd).
# Readiness must follow systemd's own view: not ready while it is
# "starting", ready only once it finished (then "degraded").
test_systemd_drop_all() {
	local pv state rc=0
	pv=$(pv_ext4 ss-drop 256M)
	# shellcheck disable=SC2046
	run_pod ssdrop "$OVERLAY" debian "state-stint-os-0=$pv" $(v1_systemd) || fail "run-pod"
	wait_for 30 systemd_is_pid1 ssdrop || fail "systemd is not PID 1 in the pivoted root"
	kubelet ssdrop logs os >os.log
	assert_file_has_content os.log 'switched root: pivoted by the peer'
	assert_eq "$(os_sh ssdrop sed -n 's/^CapEff:\t//p' /proc/1/status)" 0000000000000000 "systemd's capabilities"
	state=$(os_sh ssdrop systemctl is-system-running) || true
	kubelet ssdrop probe >probe.txt 2>&1 || rc=$?
	echo "systemd: $state; probe: $(cat probe.txt) (exit $rc)"
	case $state in
	starting | initializing) [ $rc -ne 0 ] || fail "ready while systemd is still $state" ;;
	degraded) [ $rc -eq 0 ] || fail "systemd finished booting (degraded) but the probe says not ready" ;;
	*) fail "unexpected systemd state '$state' with no capabilities" ;;
	esac
	delete_pod ssdrop
	pv_ext4_release ss-drop
}

test_delete_pods() {
	local p
	for p in "$@"; do delete_pod "$p"; done
	pv_ext4_release sd
}

# ---- teardown ---------------------------------------------------------------

# Every pod deleted through CRI, containerd stopped: nothing of it is left
# (processes, the mount namespace and its mounts, cgroups, netns).
test_node_down_clean() {
	local pid shims
	pid=$(node_pid)
	shims=$(cat "$NODE"/state/io.containerd.runtime.v2.task/*/*/shim.pid 2>/dev/null || true)
	assert_eq "$(kubelet none cleanup-all)" 0 "sandboxes left after the scenarios deleted their pods"
	cri_node_stop
	! kill -0 "$pid" 2>/dev/null || fail "containerd still runs"
	for p in $shims; do ! kill -0 "$p" 2>/dev/null || fail "shim $p still runs"; done
	for d in /sys/fs/cgroup/*"$CGROOT" /sys/fs/cgroup/unified"$CGROOT"; do
		[ ! -d "$d" ] || fail "cgroup $d left"
	done
	# The namespaces made for this node's pods (the plugin recorded each),
	# not the machine's: another run may make its own meanwhile.
	[ -s "$NODE/netns.made" ] || fail "the CNI plugin recorded no network namespace"
	while read -r ns; do
		[ ! -e "$ns" ] || fail "network namespace $ns left"
	done <"$NODE/netns.made"
}

podman_env
run_test "setup: images from k8s/images (busybox, Debian systemd, peer) and a pause image, as OCI archives" test_setup

cri_env v1
run_test "v1: containerd with its CRI plugin up (private root, state, socket, mount namespace); images imported" test_node_up
run_test "v1 busybox k8s/pod.yaml: boot -> ready; kubelet volumes reach the booted root" test_busybox_boot
run_test "v1 busybox: preStop stint halt (SIGUSR2), StopContainer -> exit 0, not ready at the next probe" test_busybox_stop
run_test "v1 busybox: RemoveContainer -> CreateContainer in the same sandbox -> ready, state kept" test_busybox_restart
run_test "v1 busybox: sidecar restart while the OS runs; the new peer serves the next OS restart" test_busybox_sidecar_restart
run_test "v1 busybox pivot-drop-all StatefulSet pod on an ext4 PV: ready; pod re-created, state kept" test_busybox_statefulset_recreated
run_test "v1 systemd k8s/pod.yaml on an ext4 PV: READY=1 -> ready, running" test_systemd_boot
run_test "v1 systemd: preStop stint halt (SIGRTMIN+3), StopContainer -> exit 0, not ready at the next probe" test_systemd_stop
run_test "v1 systemd: RemoveContainer -> CreateContainer -> ready, machine-id and files kept" test_systemd_restart
run_test "v1 systemd: sidecar restart while the OS runs; the OS's sd_notify reaches the new peer" test_systemd_sidecar_restart
run_test "v1: both pods deleted as the kubelet deletes them" test_delete_pods bb sd
run_test "v1 systemd k8s/base StatefulSet pod on an ext4 PV: ready; pod re-created, state kept" test_systemd_statefulset_recreated
run_test "v1 systemd pivot-drop-all StatefulSet pod: pivoted, no caps; ready only when systemd finished" test_systemd_drop_all
run_test "v1: node down: no sandbox, process, cgroup or netns left" test_node_down_clean

cri_env v2
run_test "v2 view: containerd in the cgroup v2 view (unified hierarchy over /sys/fs/cgroup), same images" test_node_up
run_test "v2 busybox k8s/pod.yaml: boot -> ready; kubelet volumes reach the booted root" test_busybox_boot
run_test "v2 systemd k8s/pod.yaml as shipped (cgroup-path /sys/fs/cgroup): 0::/init.scope, READY=1, running" test_systemd_boot
run_test "v2 systemd: preStop stint halt, StopContainer -> exit 0, not ready at the next probe" test_systemd_stop
run_test "v2 systemd: RemoveContainer -> CreateContainer -> ready, state kept" test_systemd_restart
run_test "v2: both pods deleted as the kubelet deletes them" test_delete_pods bb sd
run_test "v2: node down: nothing left" test_node_down_clean
