#!/usr/bin/env bash
# Run test files (default: every tests/*.sh and tests/*/*.sh that starts
# with "test-"), pass their TAP through, and end with one summary line
# "N passed, M failed[, K skipped]". Exit status 1 if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${TEST_TIMEOUT:=900}"

# This run's own things, told apart from those of another run on the same
# machine: every test's temp dir carries the run id (tests/lib/libtest.sh),
# and every process the tests start lives in this run's cgroup (runc puts
# containers into cgroups of their own; the tests delete those).
STINT_TEST_RUN=r$$
export STINT_TEST_RUN
run_cgroup=
for h in /sys/fs/cgroup /sys/fs/cgroup/pids; do
	if [ "$(id -u)" = 0 ] && [ -w "$h/cgroup.procs" ] && mkdir "$h/stint-check-$STINT_TEST_RUN" 2>/dev/null; then
		run_cgroup=$h/stint-check-$STINT_TEST_RUN
		echo $$ >"$run_cgroup/cgroup.procs" || run_cgroup=
		break
	fi
done

# leftovers: what this run left behind after every file ended — processes
# in its cgroup other than this shell, mounts of its temp dirs.
leftovers() {
	local pid procs=()
	if [ -n "$run_cgroup" ]; then
		# A snapshot taken by the shell itself: no helper process in it.
		mapfile -t procs <"$run_cgroup/cgroup.procs"
		for pid in "${procs[@]}"; do
			[ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
			[ -r "/proc/$pid/cmdline" ] || continue
			echo "process $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline)"
		done
	fi
	grep -F "/stint-test.$STINT_TEST_RUN." /proc/self/mountinfo | awk '{print "mount " $5}'
}

files=("$@")
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(ls tests/test-*.sh tests/*/test-*.sh 2>/dev/null | sort)

passed=0 failed=0 skipped=0
for f in "${files[@]}"; do
	echo "# $f"
	start=$(date +%s%N)
	out=$(timeout --kill-after=10 "$TEST_TIMEOUT" bash "$f" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(grep -cE '^ok ' <<<"$out" || true)
	s=$(grep -cE '^ok .*# SKIP' <<<"$out" || true)
	n=$(grep -cE '^not ok ' <<<"$out" || true)
	passed=$((passed + p - s)) skipped=$((skipped + s)) failed=$((failed + n))
	if [ $rc -ne 0 ] && [ "$n" -eq 0 ]; then
		echo "not ok - $f exited $rc without reporting a failure"
		failed=$((failed + 1))
	fi
	if [ "$p" -eq 0 ] && [ "$n" -eq 0 ] && [ $rc -eq 0 ]; then
		echo "not ok - $f ran no test"
		failed=$((failed + 1))
	fi
	echo "# $f: $(((($(date +%s%N) - start)) / 1000000)) ms"
done
# The suite must stop what it started: anything left is a failure of the
# run (said here, then cleaned up so it pins nothing).
left=$(leftovers)
if [ -n "$left" ]; then
	echo "not ok - the tests left these behind:"
	sed 's/^/#   /' <<<"$left"
	failed=$((failed + 1))
	if [ -n "$run_cgroup" ]; then
		while read -r pid; do
			[ "$pid" = $$ ] || kill -KILL "$pid" 2>/dev/null
		done <"$run_cgroup/cgroup.procs"
	fi
	grep -F "/stint-test.$STINT_TEST_RUN." /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
else
	echo "# nothing left behind (no process in $run_cgroup, no mount of this run's temp dirs)"
fi
if [ -n "$run_cgroup" ]; then
	echo $$ >"$(dirname "$run_cgroup")/cgroup.procs" 2>/dev/null
	rmdir "$run_cgroup" 2>/dev/null
fi

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
