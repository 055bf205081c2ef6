# shellcheck shell=bash disable=SC2034,SC2120,SC2154
# (Variables and functions here are used by the test files that source it.)
# The hostile-guest suite's pods and checks. Source after libtest.sh,
# rootfs.sh, images.sh and libpod-runc.sh.
#
# A hostile pod is the project's runc pod (tests/pod/libpod-runc.sh) with
# the busybox OS and Kubernetes' default capabilities, plus what a real
# cluster gives that `runc spec` does not:
# - the OS container may mknod any device (containerd's default device
#   rules allow "c *:* m" and "b *:* m"; only opening is denied), and
# - the peer, privileged, may open any device (as a privileged pod may).
# Both containers also mount $POD_DIR/hostile at /hostile: a test-only
# volume through which the sidecar can reach a socket the guest serves (the
# shared emptyDir is out of the guest's reach, which is the point).
#
# The peer under attack is the development build ($STINT_PEER: with
# SANITIZE=1 the ASan+UBSan one, whose reports fail the test), with its
# test hooks; stint in the OS container is whatever libpod-runc installs.

HOSTILE=$STINT_HELPER_DIR/hostile
NOTIFYINIT=$STINT_HELPER_DIR/notifyinit
SOCK=${POD_SHARED_PATH:-/run/stint}/stint.sock
NOTIFY=/run/stint-peer/notify/notify.sock
NOTIFY_TARGET=/run/host/notify/notify.sock

require_hostile() {
	[ -x "$HOSTILE" ] || fail "$HOSTILE missing: make test-helpers"
}

# hostile_image DIR: the busybox OS with the guest's tool, notifyinit and
# victim files a fooled peer would change: /victim-os (a file) and
# /victim-dir (a directory) exist in the old root and in the new one.
hostile_image() {
	local dir=$1
	make_busybox_os "$dir"
	install -m 0755 "$HOSTILE" "$dir/usr/bin/hostile"
	install -m 0755 "$NOTIFYINIT" "$dir/usr/bin/notifyinit"
	echo "victim in the OS image" >"$dir/victim-os"
	mkdir -p "$dir/victim-dir"
	echo "victim dir" >"$dir/victim-dir/file"
}

# hpod NAME MODE OS_ARGS --peer PEER_ARGS: a hostile pod. OS_ARGS: the OS
# container's argv (default: stint booting /sbin/init). The peer runs
# `stint-peer -v -s $SOCK prepare` with PEER_ARGS after the suite's own.
hpod() {
	local name=$1 mode=$2 os_args=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != --peer ]; do os_args+=("$1") && shift; done
	[ $# -gt 0 ] && shift
	pod_new "$name"
	HMODE=$mode
	POD_OS_LOG=$POD_DIR/os.log POD_PEER_LOG=$POD_DIR/peer.log
	mkdir -p "$POD_DIR/hostile"
	hpod_os "${os_args[@]}"
	hpod_peer "$@"
}

# hpod_os [ARGS...]: (re)write the OS container's bundle: ARGS as its argv.
hpod_os() {
	[ $# -gt 0 ] || set -- /usr/bin/stint -v -s "$SOCK" -t 30
	pod_os "$IMAGE" k8s "$@"
	_pod_jq "$POD_DIR/os" '
		.mounts += [{destination: "/hostile", type: "bind", source: $h, options: ["rbind", "rw"]}]
		| .linux.resources.devices += [{allow: true, type: "c", access: "m"}, {allow: true, type: "b", access: "m"}]' \
		--arg h "$POD_DIR/hostile"
}

# hpod_peer [PEER_ARGS...]: (re)write the peer's bundle (HPOD_ENV="K=V ..."
# adds to its environment).
hpod_peer() {
	STINT_PEER_STATIC=/nonexistent pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode "$HMODE" \
		--state /pv --root /.stint/root "$@"
	_pod_jq "$POD_DIR/peer" '
		.mounts += [{destination: "/hostile", type: "bind", source: $h, options: ["rbind", "rw"]}]
		| .linux.resources.devices = [{allow: true, access: "rwm"}]
		| .process.env += $env' \
		--arg h "$POD_DIR/hostile" --argjson env "$(hpod_env)"
	echo "victim in the peer's container" >"$POD_DIR/peer/rootfs/victim-peer"
	PEER_RUN=$POD_DIR/peer/rootfs/run/stint-peer
}

# The peer container's extra environment: the sanitizer options of
# `make check SANITIZE=1` (runc gives a container only its spec's env) and
# any HPOD_ENV="K=V ..." of the test.
hpod_env() {
	local kv
	{
		for kv in ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} ${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
			${HPOD_ENV:-}; do
			echo "$kv"
		done
	} | jq -R . | jq -sc .
}

# guest CMD...: run CMD as the OS's own processes run: in PID 1's root
# (the new root in both modes; runc exec lands in the old root in chroot
# mode), as root with the default capabilities.
guest() { pod_exec chroot /proc/1/root "$@"; }

# guest_bg CMD...: the same, detached (it lives as long as the container).
guest_bg() { _pod_runc exec -d "$POD_OS_ID" chroot /proc/1/root "$@"; }

status() { pod_peer_exec /usr/bin/stint-peer status "$@"; }

# booted: this container's busybox init ran rcS (the log is the current
# container's) and the demo service is up (its file, which rcS removes).
booted() { grep -q '^rcS: boot [0-9]*,' "$POD_OS_LOG" && [ -e "$POD_PV/upper/run/demo-service.ready" ]; }

# hpod_boot: start the pod and wait until the OS booted and is ready.
hpod_boot() {
	pod_start
	wait_for 20 booted || { pod_logs; fail "the busybox OS did not boot"; }
	wait_for 10 status -q || { pod_logs; status; fail "stint-peer status not ready after the boot"; }
}

# overlays: how many overlays the peer made are mounted in the OS
# container's mount namespace (seen through its PID 1).
overlays() { grep -c ' - overlay stint ' "/proc/$(pod_os_pid)/mountinfo" || true; }

# fingerprint PATH...: type, inode, size, mode and content hash of each
# path (what a victim or the peer's own files must keep).
fingerprint() {
	local p
	for p in "$@"; do
		if [ -f "$p" ] && [ ! -L "$p" ]; then
			echo "$p $(stat -c '%F %i %s %a %U' "$p") $(sha256sum <"$p" | cut -c1-16)"
		elif [ -e "$p" ] || [ -L "$p" ]; then
			echo "$p $(stat -c '%F %i %s %a %U %t:%T' "$p")"
		else
			echo "$p absent"
		fi
	done
}

# victims: every file a fooled peer could have written, in the peer's
# container, the OS's old root (its container layer and image), the PV's
# volume root and the host.
victims() {
	fingerprint "$POD_DIR/peer/rootfs/victim-peer" "$POD_DIR/os/rootfs/victim-os" \
		"$POD_DIR/os/rootfs/victim-dir/file" "$POD_DIR/os/rootfs/victim-dir/machine-id" \
		"$IMAGE/victim-os" "$TEST_TMP/victim-host" "$POD_PV/victim-pv" \
		${LOOP_IMG:+"$LOOP_IMG"}
	ls -A "$POD_DIR/os/rootfs/victim-dir" "$POD_SHARED"
}

# peer_files: the peer's own run-dir as it must stay: regular files the
# peer wrote, nothing else (the notify socket alone in its directory).
peer_files() {
	(cd "$PEER_RUN" && find . -printf '%p %y %m %u\n' | sort)
}

# assert_peer_files_sane: state and trust are regular files, 0644 and
# 0600, owned by root, the state one parses; nothing foreign in run-dir.
assert_peer_files_sane() {
	local f
	peer_files
	[ "$(stat -c '%F %a %U' "$PEER_RUN/state")" = "regular file 644 root" ] || fail "state file: $(stat -c '%F %a %U' "$PEER_RUN/state")"
	[ "$(stat -c '%F %a %U' "$PEER_RUN/trust")" = "regular file 600 root" ] || fail "trust file: $(stat -c '%F %a %U' "$PEER_RUN/trust")"
	grep -q '^state=' "$PEER_RUN/state" || fail "state file does not parse"
	for f in $(cd "$PEER_RUN" && find . -mindepth 1 | sort); do
		case $f in
		./state | ./trust | ./notify | ./notify/notify.sock) ;;
		./control.sock)
			# the sidecar's control socket (stint-peer enter/attach): born 0600
			[ "$(stat -c '%F %a %U' "$PEER_RUN/control.sock")" = "socket 600 root" ] ||
				fail "control socket: $(stat -c '%F %a %U' "$PEER_RUN/control.sock")" ;;
		*) fail "unexpected entry in the peer's run-dir: $f" ;;
		esac
	done
	[ -S "$PEER_RUN/notify/notify.sock" ] || [ ! -e "$PEER_RUN/notify" ] || fail "notify socket is not a socket"
}

# assert_no_sanitizer_report LOG...: an ASan/UBSan report fails the test.
assert_no_sanitizer_report() {
	local f
	for f in "$@"; do
		! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f" ||
			{ cat "$f"; fail "sanitizer report in $f"; }
	done
}

# ms_of LINE_REGEX LOG: the peer's own timestamp (ms since its start) of
# the first log line matching LINE_REGEX.
ms_of() {
	grep -E -- "$1" "$2" | head -n 1 | sed -n 's/^stint-peer: \[+\([0-9]*\) ms\].*/\1/p'
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# notify_queue: datagrams waiting in the peer's notify socket (ss in the
# pod's network namespace, which owns the socket).
notify_queue() {
	nsenter -t "$(_pod_pid "$POD_PEER_ID")" -n ss -xaH 2>/dev/null | awk -v p="$NOTIFY" -v n="${NOTIFY##*/}" '$5 == p || $5 == n {print $3; exit}'
}

# count_ge FILE REGEX N: FILE has at least N lines matching REGEX (for
# wait_for, which runs its command again each time).
count_ge() { [ "$(grep -cE -- "$2" "$1" 2>/dev/null)" -ge "$3" ]; }

# hrun NAME FUNCTION [ARGS]: run_test, then the time it took as a TAP
# comment (the suite has a time budget; see the report in docs/testing).
hrun() {
	local t0
	t0=$(now_ms)
	run_test "$@"
	echo "# $(($(now_ms) - t0)) ms"
	# What the test measured (lines starting with "measured:").
	sed -n 's/^measured: /#   /p' "$TEST_TMP/test-$_test_n.log" 2>/dev/null
}

# term_peer: SIGTERM to the peer (PID 1 of its container, from the host);
# prints how many ms it took to end. Fails if it still runs after 5 s.
term_peer() {
	local pid t0
	pid=$(_pod_pid "$POD_PEER_ID")
	t0=$(now_ms)
	kill -TERM "$pid"
	wait_for 5 eval '! kill -0 '"$pid"' 2>/dev/null' || fail "the peer still runs 5 s after SIGTERM"
	echo $(($(now_ms) - t0))
}

# assert_term_within_1s WHAT: SIGTERM the peer; it must end within 1 s.
assert_term_within_1s() {
	local ms
	ms=$(term_peer)
	echo "measured: $1: the peer ended $ms ms after SIGTERM"
	[ "$ms" -le 1000 ] || { tail -n 5 "$POD_PEER_LOG"; fail "$1: the peer took $ms ms to end after SIGTERM"; }
	assert_file_has_content "$POD_PEER_LOG" 'signal 15'
	assert_no_sanitizer_report "$POD_PEER_LOG"
}
