#!/usr/bin/env bash
# stint and stint-peer end to end in a runc pod with a busybox-init OS
# (tests/images/images.sh make_busybox_os): both switch modes, where
# `runc exec` lands, persistence across a pod restart with the same PV,
# a clean stop on busybox init's signals, and the no-capabilities variant.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/pod/libpod-runc.sh"

require_runc

IMAGE=$TEST_TMP/busybox-os
make_busybox_os "$IMAGE"
SOCK=$POD_SHARED_PATH/stint.sock

# bb_pod NAME CAPS MODE [PV [PEER ARGS...]]: a pod booting the busybox OS
# through stint; the peer builds the overlay on the PV and switches in MODE.
bb_pod() {
	local name=$1 caps=$2 mode=$3 pv=${4:-}
	shift 4 2>/dev/null || shift $#
	pod_new "$name" $pv
	pod_os "$IMAGE" "$caps" /usr/bin/stint -v -s "$SOCK" -t 20
	pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode "$mode" --state /pv --timeout 20 "$@"
}

# status: the readiness probe a pod would run in the peer container.
status() { pod_peer_exec /usr/bin/stint-peer status -s "$SOCK"; }

# booted: this boot's rcS ran (it removes the service's ready file left by
# an earlier boot) and the service started (it creates that file again; /run
# is not a tmpfs in this image, so it lands on the PV).
booted() {
	grep -q '^rcS: boot' "$POD_OS_LOG" && [ -e "$POD_PV/upper/run/demo-service.ready" ]
}

bb_boot() {
	local t0
	t0=$(date +%s%N)
	pod_start
	wait_for 10 booted || { pod_logs; fail "the busybox OS did not boot (no service on the PV)"; }
	echo "booted in $((($(date +%s%N) - t0) / 1000000)) ms"
}

# bb_stop SIG: stop PID 1 with SIG; it must exit 0 within 10 s after running
# its ::shutdown action (which writes /var/lib/demo/stopped on the PV).
bb_stop() {
	local t0
	t0=$(date +%s%N)
	pod_kill "$1"
	pod_wait_os 10 || { pod_logs; fail "PID 1 still runs 10 s after SIG$1"; }
	echo "stopped in $((($(date +%s%N) - t0) / 1000000)) ms after SIG$1"
	pod_logs
	assert_eq "$POD_OS_RC" 0 "exit status after SIG$1"
	assert_exists "$POD_PV/upper/var/lib/demo/stopped"
	assert_file_has_content "$POD_OS_LOG" '^rcK: clean shutdown$'
}

t_pivot() {
	bb_pod pivot k8s pivot "" --ready-path /run/demo-service.ready
	bb_boot
	# Readiness fallback for an init without sd_notify: the service's file.
	wait_for 5 status || fail "stint-peer status not ready although the ready-path exists"
	assert_file_has_content "$POD_OS_LOG" 'switched root: pivoted by the peer'
	assert_file_has_content "$POD_OS_LOG" '^rcS: boot 1, container=stint$'
	# pivot: runc exec lands in the new root, the persistent one.
	assert_eq "$(pod_exec cat /var/lib/demo/boots)" 1 "runc exec in pivot mode"
	pod_exec /bin/sh -c 'echo from-exec >/root/note'
	assert_eq "$(cat "$POD_PV/upper/root/note")" from-exec
	pod_exec /bin/sh -c '! test -e /run/stint/stint.sock && ! grep " /pv\| /.stint" /proc/self/mountinfo' ||
		fail "the OS sees the handoff socket or the PV"
	bb_stop USR2
}

t_chroot() {
	bb_pod chroot k8s chroot
	bb_boot
	assert_file_has_content "$POD_OS_LOG" 'switched root: chroot into /.stint/root'
	# chroot: runc exec lands in the old root (the image and the container
	# layer), where the boot count does not exist; PID 1's root has it.
	! pod_exec cat /var/lib/demo/boots 2>/dev/null || fail "runc exec landed in the new root"
	assert_eq "$(pod_exec cat /proc/1/root/var/lib/demo/boots)" 1 "PID 1's root"
	bb_stop USR1
}

t_no_caps() {
	bb_pod nocaps none pivot "" --notify /run/stint-peer/notify/notify.sock
	bb_boot
	# A notify socket, but busybox init never sends READY=1: not ready,
	# although PID 1 runs and the root switched. (The peer writes
	# "booting" once the init's ACK is in, which a loaded machine may
	# show after busybox has already run rcS: "preparing" until then.)
	local out rc=0
	wait_for 10 eval '[ "$(status 2>&1)" = "not ready: booting" ]' ||
		fail "the state never became booting: $(status 2>&1)"
	out=$(status 2>&1) || rc=$?
	echo "status: exit $rc: $out"
	assert_eq "$rc" 1 "stint-peer status exit status without READY=1"
	assert_eq "$out" "not ready: booting"
	assert_file_has_content "$POD_OS_LOG" 'switched root: pivoted by the peer'
	assert_eq "$(pod_exec grep CapEff /proc/1/status)" "CapEff:	0000000000000000"
	bb_stop USR2
}

# No CAP_SYS_CHROOT: stint cannot chroot, says so, and exits 3.
t_no_caps_chroot_fails() {
	bb_pod nocaps-chroot none chroot
	pod_start
	pod_wait_os 20 || { pod_logs; fail "stint did not give up"; }
	pod_logs
	assert_eq "$POD_OS_RC" 3 "stint's exit status"
	assert_file_has_content "$POD_OS_LOG" '[Cc]hroot.*(Operation not permitted|EPERM)'
}

t_restart_keeps_data() {
	local pv=$TEST_TMP/pv-restart
	bb_pod restart k8s pivot "$pv"
	bb_boot
	pod_exec /bin/sh -c 'echo kept >/root/note; echo scratch >/.stint/scratch 2>/dev/null; sync'
	bb_stop USR2
	pod_delete

	# The same pod again: a new container layer from the image, the same PV.
	bb_pod restart k8s pivot "$pv"
	bb_boot
	assert_file_has_content "$POD_OS_LOG" '^rcS: boot 2, container=stint$'
	assert_eq "$(pod_exec cat /var/lib/demo/boots)" 2 "boot count"
	assert_eq "$(pod_exec cat /root/note)" kept "file written before the restart"
	# (busybox init takes 3 s to stop; the clean stops are tested above.)
}

# The peer fails (here: a lower layer that does not exist): it aborts the
# handoff with its reason; stint logs it and exits 3, or with
# --on-failure boot runs the init in the image's own root (no persistence).
t_peer_fails() {
	local policy=$1
	pod_new "peer-fails-$policy"
	pod_os "$IMAGE" k8s /usr/bin/stint -v -s "$SOCK" -t 20 --on-failure "$policy"
	pod_peer /usr/bin/stint-peer -s "$SOCK" prepare --state /pv --lower /nonexistent
	pod_start
	if [ "$policy" = exit ]; then
		pod_wait_os 20 || { pod_logs; fail "stint did not exit"; }
		pod_logs
		assert_eq "$POD_OS_RC" 3 "stint's exit status"
	else
		wait_for 10 grep -q '^rcS: boot 1' "$POD_OS_LOG" || { pod_logs; fail "no boot in the image's root"; }
		pod_logs
		assert_eq "$(pod_exec cat /var/lib/demo/boots)" 1 "the image's own root"
		[ ! -e "$POD_PV/upper/var/lib/demo/boots" ] || fail "the failed handoff wrote to the PV"
	fi
	assert_file_has_content "$POD_OS_LOG" 'peer aborted: clone the lower layer /nonexistent.*No such file or directory'
}

# A new image version under the same PV: what the OS never changed comes
# from the new image, what it changed (copied up) shadows the new version.
t_image_update() {
	local pv=$TEST_TMP/pv-update v1=$TEST_TMP/busybox-os-v1 v2=$TEST_TMP/busybox-os-v2
	cp -a "$IMAGE" "$v1"
	echo v1 >"$v1/etc/image-version"
	echo "image v1" >"$v1/etc/motd"
	IMAGE=$v1 bb_pod update k8s pivot "$pv"
	bb_boot
	pod_exec /bin/sh -c 'echo "edited by the OS" >/etc/motd'
	pod_delete
	cp -a "$v1" "$v2"
	echo v2 >"$v2/etc/image-version"
	echo "image v2" >"$v2/etc/motd"
	IMAGE=$v2 bb_pod update k8s pivot "$pv"
	bb_boot
	assert_eq "$(pod_exec cat /etc/image-version)" v2 "a file the OS never changed"
	assert_eq "$(pod_exec cat /etc/motd)" "edited by the OS" "a file the OS changed"
	assert_eq "$(pod_exec cat /var/lib/demo/boots)" 2 "boot count"
}

# The peer listed (and started) first, as a sidecar may be: it waits for
# stint's socket; the OS container joins its namespaces.
t_peer_first() {
	bb_pod peer-first k8s pivot "" --wait-socket 20
	pod_start_peer
	wait_for 10 grep -q 'waiting for one' "$POD_PEER_LOG" || { pod_logs; fail "the peer did not reach its wait"; }
	_pod_running "$POD_PEER_ID" || { pod_logs; fail "the peer did not wait for the socket"; }
	pod_start_os
	wait_for 10 booted || { pod_logs; fail "the busybox OS did not boot"; }
	assert_eq "$(pod_exec cat /var/lib/demo/boots)" 1
	assert_eq "$(readlink "/proc/$(pod_os_pid)/ns/net")" "$(readlink "/proc/$(_pod_pid "$POD_PEER_ID")/ns/net")"
}

# The OS container alone restarts (the kubelet's restartPolicy after PID 1
# exited): the peer keeps running, sees a new init serve the socket and
# prepares again; the PV's data is there.
t_container_restart() {
	bb_pod restart-one k8s pivot
	bb_boot
	pod_exec /bin/sh -c 'echo kept >/root/note'
	bb_stop USR2
	_pod_running "$POD_PEER_ID" || fail "the peer ended with the OS container"
	pod_restart_os
	wait_for 10 booted || { pod_logs; fail "the restarted OS container did not boot"; }
	pod_logs
	assert_file_has_content "$POD_PEER_LOG" 'a new init serves'
	assert_file_has_content "$POD_OS_LOG" '^rcS: boot 2, container=stint$'
	assert_eq "$(pod_exec cat /root/note)" kept
}

run_test "busybox init, pivot mode: boots, runc exec lands in the new root, stops on USR2" t_pivot
run_test "busybox init, chroot mode: boots, runc exec lands in the old root, stops on USR1" t_chroot
run_test "busybox init without any capability (pivot mode)" t_no_caps
run_test "chroot mode without CAP_SYS_CHROOT fails cleanly (exit 3)" t_no_caps_chroot_fails
run_test "pod restart with the same PV keeps the data" t_restart_keeps_data
run_test "a failing peer aborts: stint exits 3 with its reason" t_peer_fails exit
run_test "a failing peer with --on-failure boot: the image boots without persistence" t_peer_fails boot
run_test "a new image version under the same PV: unchanged files update, changed ones stay" t_image_update
run_test "peer started first: waits for the socket, the OS container joins the pod" t_peer_first
run_test "OS container restart alone: the running peer prepares the new init again" t_container_restart
