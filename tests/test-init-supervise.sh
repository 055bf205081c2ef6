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

# A child that reports the first signal it gets among those listed, and
# ends its background sleep on the way out (nothing of it is left).
TRAPPER='for s in TERM INT HUP USR1 USR2 QUIT WINCH 37; do trap "echo got $s; kill \$! 2>/dev/null; exit 0" $s; done
	sleep 100 & echo ready >"$1"; wait'

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

# 200 orphans reparented to stint at once, each blocked on a FIFO until the
# test lets them go; then every one must be reaped, none left a zombie.
test_reaps_200_orphans() {
	local orphans=$TEST_TMP/orphans.fifo main=$TEST_TMP/main.fifo
	mkfifo "$orphans" "$main"
	run_sup s -- sh -c 'for i in $(seq 200); do (cat "$1" >/dev/null &); done; cat "$2" >/dev/null' - "$orphans" "$main"
	count() { ps -o stat= --ppid "$SUP_PID" | grep -vc "${1:-^$}" || true; }
	wait_for 30 eval '[ "$(count)" -ge 201 ]' ||
		fail "only $(count) children: the orphans did not come to stint"
	: >"$orphans" # every reader sees end-of-file and exits
	# Left: the main child only, and no zombie among the orphans.
	wait_for 30 eval '[ "$(count)" -eq 1 ]' || fail "$(count) children left after the orphans exited"
	assert_eq "$(ps -o stat= --ppid "$SUP_PID" | grep -c Z || true)" 0 "zombies under stint"
	: >"$main"
	wait_for 10 test -s "$TEST_TMP/s.rc" || fail "stint did not exit"
	assert_eq "$(cat "$TEST_TMP/s.rc")" 0
}

test_exits_promptly_while_orphans_run() {
	local start end rc=0
	start=$(date +%s%N)
	"$STINT" -q --supervise -- sh -c '(sleep 60 & echo $! >"$1"); exit 3' - "$TEST_TMP/orphan" || rc=$?
	end=$(date +%s%N)
	kill "$(cat "$TEST_TMP/orphan")"
	assert_eq "$rc" 3
	[ $(((end - start) / 1000000)) -lt 5000 ] || fail "took $(((end - start) / 1000000)) ms"
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
	mkfifo "$TEST_TMP/idle.fifo"
	run_sup s -- cat "$TEST_TMP/idle.fifo"
	# A measurement window, not a wait for something: a second of idling.
	sleep 1
	# utime + stime, in clock ticks (1/100 s), fields 14 and 15
	ticks=$(awk '{print $14 + $15}' "/proc/$SUP_PID/stat")
	: >"$TEST_TMP/idle.fifo"
	wait_for 10 test -s "$TEST_TMP/s.rc" || fail "stint did not exit"
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

# Main child leaves two orphans: one that ends on TERM (and says so), one
# that ignores TERM and must be KILLed after the grace; it exits once both
# are set up (their traps in place), not after a guessed delay.
GRACE_CHILD='(trap "echo termed >$1/polite; kill \$! 2>/dev/null; exit 0" TERM; sleep 100 & : >"$1/polite.ready"; wait) &
	(trap "" TERM; : >"$1/stubborn.ready"; exec sleep 100) & echo $! >"$1/stubborn"
	until [ -e "$1/polite.ready" ] && [ -e "$1/stubborn.ready" ]; do sleep 0.01; done; exit 4'

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
	assert_file_has_content "$TEST_TMP/g.err" 'sent SIGTERM to the remaining processes'
	assert_eq "$(cat "$TEST_TMP/polite")" termed
}

test_without_grace_orphans_are_not_waited_for() {
	# stint is PID 1 of its pid namespace: its exit ends the orphans too.
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
		"$bin" -q --supervise -- sh -c 'trap "kill \$! 2>/dev/null; exit 9" 34; sleep 30 & kill -34 $PPID; wait' || rc=$?
		assert_eq "$rc" 9 "$bin"
	done
}

for t in $(declare -F | awk '$3 ~ /^test_/ {print $3}'); do
	run_test "${t#test_}" "$t"
	rm -f "$TEST_TMP"/s.* "$TEST_TMP"/g.* "$TEST_TMP"/ready "$TEST_TMP"/polite* "$TEST_TMP"/stubborn*
done
