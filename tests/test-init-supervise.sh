#!/usr/bin/env bash
# stint --supervise: tini's job, plus rewrite, grace and group forwarding.
. "$(dirname "$0")/lib/libtest.sh"
. "$TOP/tests/lib/rootfs.sh"
. "$TOP/tests/lib/initns.sh"

# run_sup NAME ARGS...: stint --supervise in the background (a subreaper,
# not PID 1); SUP_PID is its pid.
run_sup() {
	local name=$1
	shift
	(
		rc=0
		timeout -s KILL 30 "$STINT" --supervise "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" || rc=$?
		echo $rc >"$TEST_TMP/$name.rc"
	) &
	wait_for 5 pgrep -P $! -x timeout >/dev/null || true
	SUP_PID=$(pgrep -P "$(pgrep -P $! -x timeout)" -f "$STINT" || pgrep -P $! -f "$STINT")
	defer "kill -KILL $SUP_PID"
}

test_exit_codes_0_to_255() {
	local i rc
	for i in $(seq 0 255); do
		rc=0
		"$STINT" -q --supervise -- sh -c "exit $i" || rc=$?
		[ "$rc" -eq "$i" ] || fail "child exit $i became $rc"
	done
}

test_killed_child_gives_128_plus_signal() {
	local rc=0
	"$STINT" -q --supervise -- sh -c 'kill -KILL $$' || rc=$?
	assert_eq "$rc" 137
	rc=0
	"$STINT" -q --supervise -- sh -c 'kill -SEGV $$' || rc=$?
	assert_eq "$rc" 139
}

# A child that reports the first signal it gets among those listed.
TRAPPER='for s in TERM INT HUP USR1 USR2 QUIT WINCH 37; do trap "echo got $s; exit 0" $s; done
	echo ready >"$1"; sleep 100 & wait; sleep 100 & wait'

test_forwards_each_signal() {
	local sig
	for sig in TERM INT HUP USR1 USR2 QUIT WINCH; do
		rm -f "$TEST_TMP"/s.* ready
		run_sup s -- bash -c "$TRAPPER" trapper "$TEST_TMP/ready"
		wait_for 5 test -s "$TEST_TMP/ready" || fail "child not ready"
		kill -"$sig" "$SUP_PID"
		wait_for 5 test -s "$TEST_TMP/s.rc" || fail "stint did not exit after $sig"
		assert_file_has_content "$TEST_TMP/s.out" "^got $sig\$"
		assert_eq "$(cat "$TEST_TMP/s.rc")" 0 "$sig"
	done
}

test_rewrite_term_to_rtmin3() {
	run_sup s --rewrite TERM:RTMIN+3 -- bash -c "$TRAPPER" trapper "$TEST_TMP/ready"
	wait_for 5 test -s "$TEST_TMP/ready"
	kill -TERM "$SUP_PID"
	wait_for 5 test -s "$TEST_TMP/s.rc"
	assert_file_has_content "$TEST_TMP/s.out" '^got 37$'
}

test_rewrite_replaces_file_setting() {
	printf '[stint]\nrewrite = TERM:USR1\n' >r.ini
	run_sup s -c r.ini --rewrite TERM:USR2 -- bash -c "$TRAPPER" trapper "$TEST_TMP/ready"
	wait_for 5 test -s "$TEST_TMP/ready"
	kill -TERM "$SUP_PID"
	wait_for 5 test -s "$TEST_TMP/s.rc"
	assert_file_has_content "$TEST_TMP/s.out" '^got USR2$'
}

test_reaps_200_orphans() {
	local children zombies
	run_sup s -- sh -c 'for i in $(seq 200); do (sleep 0.5 &); done; sleep 2'
	sleep 0.4
	children=$(ps -o pid= --ppid "$SUP_PID" | wc -l)
	[ "$children" -ge 200 ] || fail "only $children children: the orphans did not come to stint"
	sleep 0.8
	zombies=$(ps -o stat= --ppid "$SUP_PID" | grep -c Z || true)
	assert_eq "$zombies" 0 "zombies under stint"
	wait_for 5 test -s "$TEST_TMP/s.rc"
	assert_eq "$(cat "$TEST_TMP/s.rc")" 0
}

test_exits_promptly_while_orphans_run() {
	local start end
	start=$(date +%s%N)
	rc=0
	"$STINT" -q --supervise -- sh -c '(sleep 5 &); exit 3' || rc=$?
	end=$(date +%s%N)
	assert_eq "$rc" 3
	[ $(((end - start) / 1000000)) -lt 2000 ] || fail "took $(((end - start) / 1000000)) ms"
	pkill -f 'sleep 5' || true
}

test_argv_env_stdio_passthrough() {
	local out
	out=$(echo "from stdin" | FOO='a b' "$STINT" -q --supervise -- sh -c \
		'printf "[%s]" "$@"; echo; echo "FOO=$FOO"; cat; echo err >&2' argv0 "one two" "" three 2>err.txt)
	assert_eq "$out" "$(printf '[one two][][three]\nFOO=a b\nfrom stdin')"
	assert_eq "$(cat err.txt)" err
}

test_no_fd_leaks_into_child() {
	build_probe
	"$STINT" -q --supervise -- "$PROBE" 3</dev/null 7</dev/null >sup.txt
	assert_file_has_content sup.txt '^fds: 0 1 2$'
	"$STINT" -q -- "$PROBE" 3</dev/null 7</dev/null >exec.txt
	assert_file_has_content exec.txt '^fds: 0 1 2$'
	# the probe does see inherited fds, so the test can fail
	"$PROBE" 3</dev/null >direct.txt
	assert_file_has_content direct.txt '^fds: 0 1 2 3'
}

test_no_busy_loop() {
	local ticks
	run_sup s -- sleep 1.5
	sleep 1.2
	# utime + stime, in clock ticks (1/100 s), fields 14 and 15
	ticks=$(awk '{print $14 + $15}' "/proc/$SUP_PID/stat")
	[ "$ticks" -le 2 ] || fail "stint used $ticks ticks of CPU while idle"
}

test_child_gets_its_own_group_and_the_tty() {
	command -v script >/dev/null || skip "util-linux script not installed"
	script -qec "$STINT -q --supervise -- sh -c 'echo pgid=\$(ps -o pgid= -p \$\$) tpgid=\$(ps -o tpgid= -p \$\$) pid=\$\$'" \
		/dev/null >tty.txt
	cat tty.txt
	read -r pgid tpgid pid < <(sed 's/[a-z]*=//g; s/\r//' tty.txt)
	assert_eq "$pgid" "$pid" "child leads its own process group"
	assert_eq "$tpgid" "$pid" "child's group has the terminal"
}

test_forward_group() {
	run_sup s -g -- sh -c 'sleep 100 & echo $! >"$1"; wait' grp "$TEST_TMP/bg"
	wait_for 5 test -s "$TEST_TMP/bg"
	kill -TERM "$SUP_PID"
	wait_for 5 test -s "$TEST_TMP/s.rc"
	assert_eq "$(cat "$TEST_TMP/s.rc")" 143
	wait_for 2 sh -c "! kill -0 $(cat "$TEST_TMP/bg") 2>/dev/null" || fail "background sleep in the group survived"
}

# Main child exits at once and leaves two orphans: one that ends on TERM
# (and says so), one that ignores TERM and must be KILLed after the grace.
GRACE_CHILD='(trap "echo termed >$1/polite; exit 0" TERM; sleep 100 & wait) &
	(trap "" TERM; exec sleep 100) & echo $! >"$1/stubborn"; sleep 0.3; exit 4'

check_grace() {
	local start=$1 end
	end=$(date +%s%N)
	assert_eq "$(cat "$TEST_TMP/polite")" termed
	[ $(((end - start) / 1000000)) -ge 900 ] || fail "exited before the grace period ended"
	! kill -0 "$(cat "$TEST_TMP/stubborn")" 2>/dev/null || fail "stubborn orphan survived"
}

test_grace_as_subreaper() {
	local start rc=0
	start=$(date +%s%N)
	"$STINT" --supervise --grace 1 -- bash -c "$GRACE_CHILD" grace "$TEST_TMP" 2>err.txt || rc=$?
	cat err.txt
	assert_eq "$rc" 4
	check_grace "$start"
	assert_file_has_content err.txt 'sent SIGTERM to the remaining processes; waiting up to 1000 ms'
	assert_file_has_content err.txt 'grace period over: sending SIGKILL'
}

test_grace_as_pid1() {
	local start
	start=$(date +%s%N)
	start_init g "$DEFAULT_CAPS" --supervise --grace 1 -- bash -c "$GRACE_CHILD" grace "$TEST_TMP"
	assert_eq "$(wait_init g)" 4
	show_init g
	assert_file_has_content "$TEST_TMP/g.err" 'sent SIGTERM to all remaining processes'
	assert_eq "$(cat "$TEST_TMP/polite")" termed
}

test_without_grace_orphans_are_not_waited_for() {
	start_init g "$DEFAULT_CAPS" --supervise -- bash -c "$GRACE_CHILD" grace "$TEST_TMP"
	assert_eq "$(wait_init g)" 4
	assert_not_exists "$TEST_TMP/polite"
}

test_kernel_rtmin_is_forwarded_not_fatal() {
	# Signal 34 is the kernel's first real-time signal; musl's sigfillset()
	# leaves it out, so a static stint must block it explicitly.
	local bin rc
	for bin in "$STINT" "$STINT_STATIC"; do
		[ -x "$bin" ] || fail "$bin not built (make static)"
		rc=0
		"$bin" -q --supervise -- sh -c 'trap "exit 9" 34; kill -34 $PPID; sleep 2 & wait' || rc=$?
		assert_eq "$rc" 9 "$bin"
	done
}

for t in $(declare -F | awk '$3 ~ /^test_/ {print $3}'); do
	run_test "${t#test_}" "$t"
	rm -f "$TEST_TMP"/s.* "$TEST_TMP"/g.* "$TEST_TMP"/ready "$TEST_TMP"/polite "$TEST_TMP"/stubborn
done
