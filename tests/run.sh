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

# Files run STINT_TEST_JOBS at a time (default 2): most of the suite waits
# on containers booting, not on a CPU. Every file is independent (its own
# temp dir, runc root, podman store, containerd), and the suite must hold
# on a busy machine anyway. The longest files of the last run start first,
# so the run does not end on one long file alone.
: "${STINT_TEST_JOBS:=2}"
times=build/test-times
if [ -s "$times" ]; then
	mapfile -t files < <(for f in "${files[@]}"; do
		# Unknown files first: a new one may well be long.
		printf '%s %s\n' "$(awk -v f="$f" '$1 == f {t = $2} END {print t ? t : 999999999}' "$times")" "$f"
	done | sort -k1,1nr | awk '{print $NF}')
fi
outdir=$(mktemp -d "/tmp/stint-run.$STINT_TEST_RUN.XXXXXX")

# run_file I FILE: one test file, its output and status kept in outdir.
run_file() {
	local start=$(date +%s%N) rc=0
	timeout --kill-after=10 "$TEST_TIMEOUT" bash "$2" >"$outdir/$1.out" 2>&1 || rc=$?
	echo "$rc $((($(date +%s%N) - start) / 1000000))" >"$outdir/$1.rc.tmp"
	mv "$outdir/$1.rc.tmp" "$outdir/$1.rc"
}

# report I FILE: its TAP, then the counts.
report() {
	local out rc ms p s n
	out=$(cat "$outdir/$1.out")
	read -r rc ms <"$outdir/$1.rc"
	echo "# $2"
	printf '%s\n' "$out"
	p=$(grep -cE '^ok ' <<<"$out" || true)
	s=$(grep -cE '^ok .*# SKIP' <<<"$out" || true)
	n=$(grep -cE '^not ok ' <<<"$out" || true)
	passed=$((passed + p - s)) skipped=$((skipped + s)) failed=$((failed + n))
	if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
		echo "not ok - $2 exited $rc without reporting a failure"
		failed=$((failed + 1))
	fi
	if [ "$p" -eq 0 ] && [ "$n" -eq 0 ] && [ "$rc" -eq 0 ]; then
		echo "not ok - $2 ran no test"
		failed=$((failed + 1))
	fi
	echo "# $2: $ms ms"
	echo "$2 $ms" >>"$outdir/times"
}

passed=0 failed=0 skipped=0
declare -A running=()
next=0
while [ $next -lt ${#files[@]} ] || [ ${#running[@]} -gt 0 ]; do
	while [ $next -lt ${#files[@]} ] && [ ${#running[@]} -lt "$STINT_TEST_JOBS" ]; do
		run_file $next "${files[$next]}" &
		running[$next]=${files[$next]}
		next=$((next + 1))
	done
	wait -n 2>/dev/null || true
	for i in "${!running[@]}"; do
		[ -e "$outdir/$i.rc" ] || continue
		report "$i" "${running[$i]}"
		unset "running[$i]"
	done
done
if [ -s "$outdir/times" ]; then
	mkdir -p build
	{ [ -s "$times" ] && awk 'NR == FNR {ran[$1] = 1; next} !($1 in ran)' "$outdir/times" "$times"
	  cat "$outdir/times"; } >"$times.new" && mv "$times.new" "$times"
fi
rm -rf "$outdir"
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
