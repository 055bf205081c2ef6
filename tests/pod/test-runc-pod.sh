#!/usr/bin/env bash
# The runc pod itself (tests/pod/libpod-runc.sh): the OS container is the
# unprivileged container a Kubernetes pod gets, the peer is privileged, both
# share the emptyDir, only the peer sees the PV, and nothing survives the
# test. stint runs as PID 1 without a handoff (no -s) to probe the container.
# Both cgroup layouts: v1 (this host) and v2 (a v2 host, or the v2 view of
# tests/pod/test-pod-cgroup2.sh, which runs this file there too).
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/pod/libpod-runc.sh"

require_runc

# The OS container's view, printed by a probe run by stint as PID 1.
# $POD_CGROUP_PATH: the cgroup mount systemd would write (v1 or v2 layout).
probe_os() {
	echo "cg=$POD_CGROUP_PATH"
	cat <<'SH'
echo "pid=$$ container=$container"
grep -E '^Cap(Eff|Bnd)' /proc/self/status
[ -n "$(head -c 1 /proc/timer_list)" ] && echo timer_list-readable || echo timer_list-masked
for m in /sys /proc/sys $cg; do
	echo "$m $(awk -v m=$m '$2 == m {split($4, o, ","); print o[1]}' /proc/mounts)"
done
echo "cgroupfs=$(awk '$2 == "/sys/fs/cgroup" {print $3}' /proc/mounts)"
sed 's/^/cgroup:/' /proc/self/cgroup
echo os >/run/stint/from-os && echo shared-ok
[ -e /pv ] && echo pv-visible || echo pv-absent
SH
}

t_os_container_is_unprivileged() {
	local caps=$1 out
	make_busybox_os img
	pod_new "os-$caps"
	pod_os "$TEST_TMP/img" "$caps" /usr/bin/stint -q -- /bin/sh -c "$(probe_os)"
	pod_start_os
	pod_wait_os 10 || fail "the probe did not finish"
	out=$POD_OS_LOG
	cat "$out"
	assert_eq "$POD_OS_RC" 0 "probe exit status"
	assert_file_has_content "$out" '^pid=1 container=stint$'
	if [ "$caps" = none ]; then
		assert_file_has_content "$out" '^CapEff:.0000000000000000$'
		assert_file_has_content "$out" '^CapBnd:.0000000000000000$'
	else
		# The 14 default capabilities: bits 0-8,10,13,18,27,29,31 = 0xa80425fb.
		assert_file_has_content "$out" '^CapEff:.00000000a80425fb$'
	fi
	assert_file_has_content "$out" '^timer_list-masked$'
	assert_file_has_content "$out" '^/sys ro$'
	assert_file_has_content "$out" '^/proc/sys ro$'
	assert_file_has_content "$out" "^$POD_CGROUP_PATH ro\$"
	# Its own cgroup namespace, in the host's layout.
	if [ "$POD_CGROUP_MODE" = v2 ]; then
		assert_file_has_content "$out" '^cgroupfs=cgroup2$'
		assert_file_has_content "$out" '^cgroup:0::/$'
	else
		assert_file_has_content "$out" '^cgroupfs=tmpfs$'
		assert_file_has_content "$out" '^cgroup:[0-9]+:name=systemd:/$'
	fi
	assert_file_has_content "$out" '^shared-ok$'
	assert_file_has_content "$out" '^pv-absent$'
	assert_eq "$(cat "$POD_SHARED/from-os")" os
}

t_peer_is_privileged_and_joins_the_pod() {
	make_busybox_os img
	pod_new peer
	pod_os "$TEST_TMP/img" k8s /usr/bin/stint -q -- /bin/sh -c 'hostname >/run/stint/os-uts; sleep 30'
	pod_peer /bin/sh -c 'grep CapEff /proc/self/status >/pv/caps; hostname >/pv/uts;
		readlink /proc/self/ns/net >/pv/net; mkdir "$1/probe" && echo rw >/pv/cgroup;
		rmdir "$1/probe"; echo peer >/run/stint/from-peer' sh "$POD_CGROUP_PATH"
	pod_start
	pod_wait_peer 10 || fail "the peer probe did not finish"
	pod_logs
	assert_eq "$POD_PEER_RC" 0 "peer exit status"
	# Everything but CAP_SYS_RESOURCE (bit 24).
	assert_eq "$(cat "$POD_PV/caps")" "CapEff:	000001fffeffffff"
	assert_eq "$(cat "$POD_PV/uts")" "$POD_NAME"
	assert_eq "$(cat "$POD_PV/net")" "$(readlink "/proc/$(pod_os_pid)/ns/net")"
	assert_eq "$(cat "$POD_PV/cgroup")" rw
	assert_eq "$(cat "$POD_SHARED/from-peer")" peer
}

# A test that fails with the pod running still leaves nothing behind.
t_cleanup_after_failure() {
	make_busybox_os img
	pod_new fails
	pod_os "$TEST_TMP/img" k8s /usr/bin/stint -q -- /bin/sleep 60
	pod_start_os
	echo "$POD_OS_ID $(pod_os_pid)" >"$TEST_TMP/fails.ids"
	fail "failing on purpose with $POD_OS_ID running"
}

t_nothing_left() {
	local id pid
	[ -s "$TEST_TMP/fails.ids" ] || fail "the failing test did not start its pod"
	read -r id pid <"$TEST_TMP/fails.ids"
	assert_eq "$(pod_state "$id")" none "runc state of $id"
	! kill -0 "$pid" 2>/dev/null || fail "PID 1 of $id ($pid) still runs"
	! grep -q " $TEST_TMP/pod-fails/os/rootfs " /proc/self/mountinfo || fail "root overlay still mounted"
	[ ! -d "$(pod_cgroup_dir "$id")" ] || fail "cgroup $(pod_cgroup_dir "$id") left"
}

run_test "OS container: default runc spec, Kubernetes caps, unprivileged" t_os_container_is_unprivileged k8s
run_test "OS container: no capabilities at all" t_os_container_is_unprivileged none
run_test "peer container: privileged, joins the pod's namespaces, sees the PV" t_peer_is_privileged_and_joins_the_pod
# The next test must fail (its cleanup is what is tested): run it outside
# the TAP count and check the aftermath.
(run_test "(expected failure)" t_cleanup_after_failure >/dev/null)
run_test "a failing test deletes its containers, mounts and cgroups" t_nothing_left
