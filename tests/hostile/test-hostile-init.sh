#!/usr/bin/env bash
# The hostile-guest suite, part 2: the OS container's PID 1 itself is
# hostile (tests/helpers/hostile.c fake-init serves the shared socket with
# the container's real namespaces, then goes quiet), in the project's runc
# pods, in both switch modes. Every wait of the peer has a deadline and
# gives way to SIGTERM within 1 s: the HELLO that never comes, the worker
# that hangs (STINT_PEER_TEST_HANG_AT, a development build's hook), the
# ACK that never comes. Then the real OS replaces the hostile init and the
# pod recovers. And an init that floods the notify socket gets its
# readiness, but not a state write per datagram.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/pod/libpod-runc.sh"
source "$TOP/tests/hostile/libhostile.sh"

require_runc
require_hostile

IMAGE=$TEST_TMP/hostile-os
hostile_image "$IMAGE"
INIT_LOG=/hostile/init.log

# peer_run [PEER_ARGS...]: a fresh peer container (its run-dir an empty
# emptyDir again) against the running hostile init; HPOD_ENV for its env.
peer_run() {
	_pod_runc delete -f "$POD_PEER_ID" >/dev/null 2>&1 || true
	rm -rf "$PEER_RUN"
	: >"$POD_PEER_LOG"
	hpod_peer "$@"
	pod_start_peer
}

# the init answers the next connections this way
init_does() { echo "$1" >"$POD_DIR/hostile/variant"; }

# elapsed_between REGEX1 REGEX2: ms between two lines of the peer's log,
# by its own clock (a busy machine does not stretch it).
elapsed_between() {
	local a b
	a=$(ms_of "$1" "$POD_PEER_LOG") b=$(ms_of "$2" "$POD_PEER_LOG")
	[ -n "$a" ] && [ -n "$b" ] || fail "no log lines /$1/ and /$2/"
	echo $((b - a))
}

# assert_deadline MS SECS KEY: a deadline of SECS was kept: it took at least
# SECS and at most 2 s more (a busy machine).
assert_deadline() {
	echo "measured: $3 took $1 ms for a deadline of $2 s"
	[ "$1" -ge $(($2 * 1000)) ] && [ "$1" -le $(($2 * 1000 + 2000)) ] ||
		fail "a deadline of $2 s took $1 ms"
}

t_init_up() {
	init_does silent
	pod_start_os
	wait_for 10 grep -q 'listening on' "$POD_DIR$INIT_LOG" ||
		{ cat "$POD_OS_LOG"; fail "the hostile init does not listen"; }
}

# An init that accepts and never sends HELLO: handshake-timeout ends the
# try; the peer stays (then=wait) and a SIGTERM ends it within 1 s.
t_no_hello() {
	peer_run --handshake-timeout 1
	wait_for 10 grep -q 'within the handshake timeout' "$POD_PEER_LOG" || { pod_logs; fail "no handshake timeout"; }
	cat "$POD_PEER_LOG"
	assert_deadline "$(ms_of 'within the handshake timeout' "$POD_PEER_LOG")" 1 handshake-timeout
	assert_file_has_content "$POD_PEER_LOG" 'waiting for the next one'
	assert_term_within_1s "idle after a failed handshake"
	# And while it waits for that HELLO.
	peer_run --handshake-timeout 60
	wait_for 10 count_ge "$POD_DIR$INIT_LOG" 'silent: connected, sending nothing' 2 || fail "the peer did not connect"
	assert_term_within_1s "waiting for HELLO"
}

# The worker hangs in the container (STINT_PEER_TEST_HANG_AT=lower):
# prepare-timeout kills it and the init gets an ABORT naming the deadline;
# and a SIGTERM meanwhile ends the peer within 1 s, with an ABORT too.
t_worker_hangs() {
	init_does noack
	HPOD_ENV=STINT_PEER_TEST_HANG_AT=lower peer_run --prepare-timeout 1
	wait_for 10 grep -q 'did not finish within prepare-timeout' "$POD_PEER_LOG" || { pod_logs; fail "no prepare timeout"; }
	cat "$POD_PEER_LOG"
	assert_file_has_content "$POD_PEER_LOG" 'test hook STINT_PEER_TEST_HANG_AT=lower'
	assert_deadline "$(elapsed_between 'connected to the init' 'did not finish within prepare-timeout')" 1 \
		prepare-timeout
	wait_for 5 grep -q 'ABORT: the steps in the container did not finish within prepare-timeout' \
		"$POD_DIR$INIT_LOG" || { cat "$POD_DIR$INIT_LOG"; fail "the init got no ABORT"; }
	assert_term_within_1s "idle after a worker killed"
	HPOD_ENV=STINT_PEER_TEST_HANG_AT=lower peer_run --prepare-timeout 60
	wait_for 10 grep -q 'test hook STINT_PEER_TEST_HANG_AT=lower' "$POD_PEER_LOG" || { pod_logs; fail "no hang"; }
	assert_term_within_1s "worker running"
	wait_for 5 grep -q 'ABORT: stint-peer is stopping (signal 15)' "$POD_DIR$INIT_LOG" ||
		{ cat "$POD_DIR$INIT_LOG"; fail "the init got no ABORT on SIGTERM"; }
}

# The init takes READY and never answers: timeout ends the wait; SIGTERM
# during it ends the peer within 1 s.
t_no_ack() {
	init_does noack
	peer_run --timeout 1
	wait_for 15 grep -q 'no answer from the init to READY within the timeout' "$POD_PEER_LOG" ||
		{ pod_logs; fail "no ACK timeout"; }
	cat "$POD_PEER_LOG"
	assert_deadline "$(elapsed_between 'step 6/7 switch' 'no answer from the init to READY')" 1 timeout
	assert_term_within_1s "idle after no ACK"
	peer_run --timeout 60
	wait_for 15 count_ge "$POD_DIR$INIT_LOG" 'READY mode=' 2 || { cat "$POD_DIR$INIT_LOG"; fail "no second READY"; }
	assert_term_within_1s "waiting for the ACK"
	cat "$POD_DIR$INIT_LOG"
}

# The hostile init goes (its container restarts, with the real OS this
# time): the peer prepares it, the OS boots and is ready.
t_recovers() {
	_pod_runc delete -f "$POD_OS_ID" >/dev/null 2>&1
	peer_run --notify "$NOTIFY" --ready-path /run/demo-service.ready --timeout 5 --prepare-timeout 10
	wait_for 10 _pod_running "$POD_PEER_ID" || { pod_logs; fail "the peer did not start"; }
	hpod_os
	pod_restart_os
	wait_for 20 booted || { pod_logs; fail "the OS did not boot after the hostile init"; }
	wait_for 10 status -q || { pod_logs; fail "not ready after the hostile init"; }
	assert_eq "$(overlays)" 1 "overlays in the new OS container"
	assert_peer_files_sane
	assert_no_sanitizer_report "$POD_PEER_LOG"
}

# An init (notifyinit as PID 1, which sends what it reads from a FIFO)
# floods the notify socket with STATUS= lines: the latest one reaches the
# state file, but not a write per datagram (they are coalesced), and
# `stint-peer status` answers within 1 s meanwhile; its READY=1 counts.
t_init_floods() {
	local counter flooder ms writes i out first last n
	pod_start
	wait_for 15 eval 'guest test -p /run/ni.fifo 2>/dev/null' || { pod_logs; fail "notifyinit did not start"; }
	rm -f counter.ready
	"$HOSTILE" count-renames "$PEER_RUN" state counter.ready >renames.out &
	counter=$!
	defer "kill $counter"
	wait_for 5 test -e counter.ready || fail "the counter did not start"
	# STATUS= lines until the probes below are done, then READY=1.
	guest rm -f /run/flood.stop /run/flood.count
	guest /bin/sh -c 'i=0; while [ ! -e /run/flood.stop ]; do echo "send STATUS=step $i"; i=$((i + 1)); done \
		>/run/ni.fifo; echo $i >/run/flood.count; echo "send READY=1" >/run/ni.fifo' &
	flooder=$!
	wait_for 10 grep -q 'notify: STATUS=step' "$POD_PEER_LOG" || fail "the flood did not reach the peer"
	for i in 1 2 3; do
		out=$(pod_peer_exec /bin/sh -c 'timeout 1 /usr/bin/stint-peer status; echo "rc=$?"' 2>&1)
		echo "status $i: $out"
		[[ $out == *"rc=1"* ]] || fail "stint-peer status did not answer 'not ready' within 1 s during the flood"
	done
	guest touch /run/flood.stop
	wait "$flooder" || fail "the flood did not run"
	n=$(guest cat /run/flood.count)
	wait_for 10 status -q || { pod_logs; fail "READY=1 from the init did not count"; }
	wait_for 10 eval '[ "$(notify_queue)" = 0 ]' || fail "the notify socket is not drained"
	out=$(status 2>&1)
	assert_eq "$out" "ready: ready: step $((n - 1))" "the state after the flood (the last STATUS= kept)"
	kill "$counter"
	wait "$counter" || true
	cat renames.out
	writes=$(sed -n 's/^renames=\([0-9]*\) writes=0$/\1/p' renames.out)
	[ -n "$writes" ] || fail "the state file was written in place: $(cat renames.out)"
	first=$(ms_of 'notify: STATUS=step 0$' "$POD_PEER_LOG") last=$(ms_of "notify: STATUS=step $((n - 1))\$" "$POD_PEER_LOG")
	ms=$((last - first))
	echo "measured: $((n + 1)) datagrams from the init over $ms ms: $writes state file writes"
	# Coalesced: at most one write per 200 ms, plus READY's own.
	[ "$writes" -le $((ms / 200 + 3)) ] || fail "$writes state writes for $((n + 1)) datagrams in $ms ms"
	assert_peer_files_sane
	assert_no_sanitizer_report "$POD_PEER_LOG"
}

for mode in ${HOSTILE_MODES:-pivot chroot}; do
	hpod "init-$mode" "$mode" /usr/bin/hostile fake-init -s "$SOCK" -l "$INIT_LOG" -v /hostile/variant silent --peer
	hrun "$mode: a hostile init (the OS container's PID 1) serves the shared socket" t_init_up
	hrun "$mode: no HELLO: handshake-timeout; SIGTERM within 1 s while waiting and after" t_no_hello
	hrun "$mode: a hanging worker: prepare-timeout kills it, ABORT; SIGTERM within 1 s" t_worker_hangs
	hrun "$mode: no ACK: timeout; SIGTERM within 1 s while waiting and after" t_no_ack
	hrun "$mode: the OS container restarts with the real OS: the pod recovers" t_recovers
	pod_delete
	hpod "flood-$mode" "$mode" /usr/bin/stint -v -s "$SOCK" -t 30 --notify-socket "$NOTIFY_TARGET" -- \
		/usr/bin/notifyinit --peer --notify "$NOTIFY"
	_pod_jq "$POD_DIR/os" '.process.env += ["NOTIFYINIT_FIFO=/run/ni.fifo"]'
	hrun "$mode: an init floods notify: coalesced state writes, status answers, READY counts" t_init_floods
	pod_delete
done
