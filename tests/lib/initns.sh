# Running stint as PID 1 of fresh pid and mount namespaces, with the
# capabilities of a default container, for the init's integration tests.
# Source after libtest.sh.

SOCKDIR=$TEST_TMP/shared
SOCK=$SOCKDIR/stint.sock
PYPEER="$PY $TOP/tests/helpers/pypeer.py"

# build_probe: a static probe (tests/helpers/fdprobe.c) at $PROBE.
build_probe() {
	PROBE=$TEST_TMP/fdprobe
	[ -x "$PROBE" ] || cc -static -O2 -o "$PROBE" "$TOP/tests/helpers/fdprobe.c"
}

# make_newroot DIR MARKER: a busybox root with the probe at /probe.
make_newroot() {
	build_probe
	make_busybox_rootfs "$1"
	cp "$PROBE" "$1/probe"
	echo "$2" >"$1/marker"
}

# start_init NAME CAPS STINT-ARGS...: stint as PID 1 in the background.
# Its stdout/stderr go to $TEST_TMP/NAME.out/.err, its exit status to
# NAME.rc; INIT_PID is unshare's pid (the init is its only child).
start_init() {
	local name=$1 caps=$2
	shift 2
	mkdir -p "$SOCKDIR"
	# shellcheck disable=SC2046
	(
		rc=0
		timeout -s KILL 60 unshare --pid --mount --fork --mount-proc --propagation private -- \
			setpriv $(cap_args "$caps") -- "$STINT" "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" || rc=$?
		echo $rc >"$TEST_TMP/$name.rc"
	) &
	INIT_PID=$!
	defer "kill_tree $INIT_PID"
}

# stint's own pid (as seen here): the child of unshare.
init_host_pid() {
	local u
	u=$(pgrep -P "$INIT_PID" -x timeout) || u=$INIT_PID
	u=$(pgrep -P "$u" -x unshare) || return 1
	pgrep -P "$u"
}

wait_socket() { wait_for 10 test -S "${1:-$SOCK}" || fail "socket ${1:-$SOCK} never appeared"; }

# wait_init NAME: wait for the init to exit; echo its exit status.
wait_init() {
	wait_for 20 test -s "$TEST_TMP/$1.rc" || fail "init $1 did not exit"
	cat "$TEST_TMP/$1.rc"
}

show_init() {
	echo "--- $1 stdout"; cat "$TEST_TMP/$1.out"
	echo "--- $1 stderr"; cat "$TEST_TMP/$1.err"
}
