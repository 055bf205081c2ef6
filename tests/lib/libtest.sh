# Test harness shared by every tests/*.sh file. Source it, define test
# functions, then `run_test NAME FUNCTION`. Output is TAP; tests/run.sh adds
# up every file. Each test runs in its own subshell with `set -e`, so a
# failed assertion ends that test only. Cleanups registered with `defer`
# run when the file exits, however it exits.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TOP
: "${STINT:=$TOP/stint}"
: "${STINT_PEER:=$TOP/stint-peer}"
: "${STINT_STATIC:=$TOP/build/static/stint}"
: "${STINT_PEER_STATIC:=$TOP/build/static/stint-peer}"
: "${STINT_HELPER_DIR:=$TOP/build/test-helpers}"
export STINT STINT_PEER STINT_STATIC STINT_PEER_STATIC STINT_HELPER_DIR
PY=/usr/bin/python3

TEST_TMP=$(mktemp -d "/tmp/stint-test.${STINT_TEST_RUN:-manual}.XXXXXX")
export TEST_TMP
_test_n=0
_cleanups=()

# defer CMD... : run CMD at exit (last registered first).
defer() { _cleanups+=("$*"); }

_run_deferred() {
	local i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	_cleanups=()
}

_run_cleanups() {
	_run_deferred
	# Unmount anything a test left below the temp dir before removing it.
	if [ -d "$TEST_TMP" ]; then
		awk -v t="$TEST_TMP" '$5 ~ "^"t {print $5}' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null || true; done
		rm -rf "$TEST_TMP"
	fi
}
trap _run_cleanups EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# run_test NAME FUNCTION [ARGS...]
# STINT_TEST_ONLY (an extended regex matched against the whole FUNCTION
# name) runs only those tests of a file; STINT_TEST_PREFIX goes before every
# test name. tests/pod/test-pod-cgroup2.sh uses both to re-run chosen pod
# tests in a cgroup v2 view.
run_test() {
	local name=${STINT_TEST_PREFIX:-}$1 fn=$2 log rc
	shift 2
	if [ -n "${STINT_TEST_ONLY:-}" ] && ! [[ $fn =~ ^(${STINT_TEST_ONLY})$ ]]; then
		return 0
	fi
	_test_n=$((_test_n + 1))
	log="$TEST_TMP/test-$_test_n.log"
	(
		# A test's own `defer`s run when its subshell ends, pass or fail.
		_cleanups=()
		trap _run_deferred EXIT
		set -e
		cd "$TEST_TMP"
		"$fn" "$@"
	) >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "ok $_test_n - $name"
	elif [ $rc -eq 77 ]; then
		if [ "${STINT_MUST_WORK:-0}" = 1 ]; then
			echo "not ok $_test_n - $name # skip not allowed (STINT_MUST_WORK=1)"
			sed 's/^/# /' "$log"
		else
			echo "ok $_test_n - $name # SKIP $(tail -n 1 "$log")"
		fi
	else
		# The reason on the result line itself: a log cut short by whoever
		# shows it (CI keeps the ends of its output) still says why.
		echo "not ok $_test_n - $name (exit $rc)$(grep -m1 '^FAIL: ' "$log" | cut -c1-300 | sed 's/^/ /')"
		tail -n 40 "$log" | sed 's/^/# /'
	fi
}

# skip REASON: end the current test as skipped (only where the machine
# truly cannot run it; STINT_MUST_WORK=1 turns skips into failures).
skip() {
	echo "$*"
	exit 77
}

assert_eq() { [ "$1" = "$2" ] || fail "expected '$2', got '$1'${3:+ ($3)}"; }
assert_ne() { [ "$1" != "$2" ] || fail "did not expect '$2'${3:+ ($3)}"; }
assert_file_has_content() { grep -qE -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "'$1' lacks /$2/"; }; }
assert_file_lacks_content() { ! grep -qE -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "'$1' has /$2/"; }; }
assert_exists() { [ -e "$1" ] || fail "'$1' does not exist"; }
assert_not_exists() { [ ! -e "$1" ] && [ ! -L "$1" ] || fail "'$1' exists"; }

# kill_tree PID [SIG]: signal PID and every descendant, children first
# listed (found through the process tree, never by name).
kill_tree() {
	local pid=$1 sig=${2:-KILL} child
	kill -STOP "$pid" 2>/dev/null # no new children while we look
	for child in $(pgrep -P "$pid"); do
		kill_tree "$child" "$sig"
	done
	kill -"$sig" "$pid" 2>/dev/null
	kill -CONT "$pid" 2>/dev/null
	return 0
}

# wait_for SECONDS CMD...: poll CMD every 20 ms until it succeeds.
wait_for() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.02
	done
}

# Capabilities of a default container runtime (Docker's default set, which
# Kubernetes/containerd uses too), for setpriv --bounding-set etc.
DEFAULT_CAPS="chown,dac_override,fsetid,fowner,mknod,net_raw,setgid,setuid,setfcap,setpcap,net_bind_service,sys_chroot,kill,audit_write"

# cap_args CAPS: setpriv arguments that leave only CAPS (a comma list, or
# "none") in every set, as an unprivileged container's process has. For
# root, the bounding set also limits what the next exec gets.
cap_args() {
	local list=
	[ "$1" = none ] || list=,$(echo "$1" | sed 's/\([a-z_]*\)/+\1/g')
	echo "--inh-caps=-all$list --ambient-caps=-all$list --bounding-set=-all$list"
}

# with_caps CAPS CMD...: run CMD with only CAPS.
with_caps() {
	local caps=$1
	shift
	# shellcheck disable=SC2046
	setpriv $(cap_args "$caps") -- "$@"
}
