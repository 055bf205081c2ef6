#!/usr/bin/env bash
# The runc pod tests under cgroup v2 on this cgroup v1 (hybrid) host. A
# private mount namespace gets the unified hierarchy (/sys/fs/cgroup/unified)
# bound over /sys/fs/cgroup: runc then runs containers in cgroup v2 mode
# (a cgroup2 mount and its own cgroup namespace inside) and systemd boots in
# unified mode (0::/init.scope). The pod test files run there unchanged
# (tests/pod/libpod-runc.sh follows what /sys/fs/cgroup is), each limited to
# the tests that prove v2 works (STINT_TEST_ONLY): the pod itself, busybox
# boot and restart, systemd boot to `running` and a second boot, and the
# user-namespaced pod with systemd (its cgroup delegated by runc on v2).
#
# What the view cannot test: the cpu, memory, pids and io controllers stay
# attached to the v1 hierarchies of the host (only hugetlb is free for the
# unified one), so no resource limit can be set or checked there; the pods
# run without limits (limits are tested on v1, test-pod-systemd.sh). On a
# host that is cgroup v2 already the pod files run in v2 mode by themselves.
source "$(dirname "$0")/../lib/libtest.sh"

UNIFIED=/sys/fs/cgroup/unified

# in_view FILE TESTS: run the test file FILE in the v2 view, only the tests
# whose function names match the regex TESTS; its TAP lines pass through
# (labelled), and a file that fails without a failing test is one.
in_view() {
	local file=$1 only=$2 out rc=0
	out=$(unshare -m --propagation private -- \
		env STINT_TEST_ONLY="$only" STINT_TEST_PREFIX="cgroup v2 view: " \
		bash -c 'mount --bind "$1" /sys/fs/cgroup && exec bash "$2"' sh "$UNIFIED" "$TOP/$file" 2>&1) || rc=$?
	printf '%s\n' "$out" | grep -E '^(not )?ok |^#'
	if [ $rc -ne 0 ] && ! grep -q '^not ok ' <<<"$out"; then
		echo "not ok - $file in the cgroup v2 view exited $rc"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
	fi
	if ! grep -q '^ok ' <<<"$out" && ! grep -q '^not ok ' <<<"$out"; then
		echo "not ok - $file in the cgroup v2 view ran no test"
	fi
}

if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
	t_host_v2() { assert_eq "$(stat -fc %T /sys/fs/cgroup)" cgroup2fs; }
	run_test "cgroup v2 host: the pod test files run in v2 mode themselves" t_host_v2
	exit 0
fi
if [ "$(stat -fc %T "$UNIFIED" 2>/dev/null)" != cgroup2fs ]; then
	t_no_unified() { skip "no unified cgroup v2 hierarchy at $UNIFIED (a pure cgroup v1 host)"; }
	run_test "cgroup v2 view" t_no_unified
	exit 0
fi
command -v runc >/dev/null || {
	t_no_runc() { skip "runc is not installed (apt-get install runc)"; }
	run_test "cgroup v2 view" t_no_runc
	exit 0
}

# The view is the hierarchy as the host has it. Its nsdelegate flag is the
# whole machine's (a remount changes it for everyone, and a privileged
# container mounting cgroup2 clears it), so no test here touches it: the
# peer's cgroup = rw keeps the container's own limits out of the guest's
# reach with it (the kernel does) and without it (the peer binds them
# read-only; tests/hostile/test-hostile-unshare.sh checks both ways).
t_view() {
	awk -v m="$UNIFIED" '$5 == m' /proc/self/mountinfo
	# The view itself: /sys/fs/cgroup is the cgroup2 hierarchy there.
	assert_eq "$(unshare -m --propagation private -- sh -c \
		'mount --bind "$1" /sys/fs/cgroup && stat -fc %T /sys/fs/cgroup' sh "$UNIFIED")" cgroup2fs "view"
	# ... and the host's own /sys/fs/cgroup is untouched.
	assert_eq "$(stat -fc %T /sys/fs/cgroup)" tmpfs "host"
}
run_test "the v2 view: the unified hierarchy over /sys/fs/cgroup in a private mount namespace" t_view

in_view tests/pod/test-runc-pod.sh 't_.*'
in_view tests/pod/test-pod-busybox.sh 't_pivot|t_restart_keeps_data'
in_view tests/pod/test-pod-systemd.sh 't_image|t_first_boot|t_second_boot'
in_view tests/pod/test-pod-userns.sh 't_image|t_systemd_.*'
