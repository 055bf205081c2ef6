#!/usr/bin/env bash
# A clean stop on any cluster: the OS container stopped the way a kubelet
# stops it (tests/pod/libpod-runc.sh pod_stop_like_kubelet: the preStop
# exec hook, SIGTERM to PID 1, the grace period, SIGKILL), with the
# manifests' hook `stint halt`, in runc pods (pivot and chroot modes):
# - busybox init runs its ::shutdown and exits 0 before SIGTERM matters;
# - systemd exits 0 within the grace, its journal closed (no journal file
#   on the PV left "online"); without the hook SIGTERM only re-executes it,
#   the grace runs out and SIGKILL leaves the journal online (the check
#   above is not vacuous);
# - sysvinit (Debian's, in a busybox root) takes a runlevel 0 request
#   through /run/initctl and runs its rc0; it stays until SIGKILL without
#   CAP_SYS_BOOT, and ends the container itself with it;
# - a file the OS wrote and fsynced just before the stop is intact on the
#   PV after the pod is gone, and the peer synced the PV when the OS ended
#   and again when it was stopped itself (its log says so);
# - stint halt's own failures: an init that ignores the signal (timeout,
#   exit 1), bad options (exit 2).
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/pod/libpod-runc.sh"

require_runc

BB_IMAGE=$TEST_TMP/busybox-os
SD_IMAGE=$TEST_TMP/debian
SOCK=$POD_SHARED_PATH/stint.sock
GRACE=30 # the kubelet's grace period here (the manifests say 60)
HALT=(/usr/bin/stint halt --timeout 25)
make_busybox_os "$BB_IMAGE"

# bb_pod NAME MODE: the busybox OS booting through stint, the peer waiting
# (then=wait, as in the manifests) with the busybox service's ready-path.
bb_pod() {
	pod_new "$1"
	pod_os "$BB_IMAGE" k8s /usr/bin/stint -v -s "$SOCK" -t 20
	pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode "$2" --state /pv --timeout 20 \
		--ready-path /run/demo-service.ready
}

peer_ready() { pod_peer_exec /usr/bin/stint-peer status -q -s "$SOCK" 2>/dev/null; }

boot() {
	pod_start
	wait_for 30 peer_ready || { pod_logs; fail "the OS did not become ready"; }
}

# in_os MODE CMD...: CMD in the booted OS (chroot mode: exec lands in the
# image's old root; the OS is PID 1's root).
in_os() {
	local mode=$1
	shift
	if [ "$mode" = chroot ]; then pod_exec chroot /proc/1/root "$@"; else pod_exec "$@"; fi
}

# write_fsynced MODE: the OS writes 1 MiB of random data and fsyncs it, just
# before the stop; its sha256 is kept to compare with the PV afterwards.
write_fsynced() {
	in_os "$1" sh -c 'dd if=/dev/urandom of=/root/fsynced bs=64k count=16 conv=fsync 2>/dev/null &&
		sha256sum /root/fsynced' | awk '{print $1}' >"$TEST_TMP/fsynced.sum"
	grep -qE '^[0-9a-f]{64}$' "$TEST_TMP/fsynced.sum" || fail "the OS could not write the fsynced file"
}

# stop_peer: the kubelet stops the native sidecar after the containers: its
# SIGTERM ends the peer at once, and the peer syncs the PV first.
stop_peer() {
	local t0
	t0=$(date +%s%N)
	_pod_runc kill "$POD_PEER_ID" TERM
	pod_wait_peer 5 || { pod_logs; fail "the peer did not end on SIGTERM"; }
	echo "peer stopped in $((($(date +%s%N) - t0) / 1000000)) ms, exit $POD_PEER_RC"
	assert_eq "$POD_PEER_RC" 0 "the peer's exit status on SIGTERM"
}

# after_pod MODE: the pod is gone: the fsynced file is intact on the PV,
# and the peer logged a sync of the PV when the OS ended and at its stop.
after_pod() {
	assert_eq "$(sha256sum "$POD_PV/upper/root/fsynced" | awk '{print $1}')" "$(cat "$TEST_TMP/fsynced.sum")" \
		"the fsynced file on the PV after the pod"
	assert_file_has_content "$POD_PEER_LOG" "the OS container's init \(pid [0-9]+\) exited"
	assert_file_has_content "$POD_PEER_LOG" 'persistent volume synced \([0-9]+ ms\)'
	assert_eq "$(grep -c 'persistent volume synced' "$POD_PEER_LOG")" 2 \
		"syncs of the PV (when the OS ended, when the peer stopped)"
}

t_busybox() {
	local mode=$1
	bb_pod "bb-$mode" "$mode"
	boot
	write_fsynced "$mode"
	pod_stop_like_kubelet "$GRACE" "${HALT[@]}"
	cat "$POD_DIR/prestop.out"
	echo "stopped in $POD_STOP_MS ms: hook exit $POD_HOOK_RC, OS exit $POD_OS_RC, SIGKILL needed: $POD_STOP_KILLED"
	assert_eq "$POD_HOOK_RC" 0 "stint halt's exit status"
	assert_file_has_content "$POD_DIR/prestop.out" 'PID 1 is busybox init \(.*/bin/busybox\): sending SIGUSR2'
	assert_file_has_content "$POD_DIR/prestop.out" 'SIGTERM from pid 1: the init is ending every process'
	assert_eq "$POD_STOP_KILLED" 0 "SIGKILL needed"
	assert_eq "$POD_OS_RC" 0 "the OS container's exit status"
	# busybox init ran its ::shutdown (rcK), which recorded the stop on the PV.
	assert_file_has_content "$POD_OS_LOG" '^rcK: clean shutdown$'
	assert_exists "$POD_PV/upper/var/lib/demo/stopped"
	wait_for 10 grep -q 'persistent volume synced' "$POD_PEER_LOG" || { pod_logs; fail "the peer did not sync the PV"; }
	stop_peer
	pod_logs
	after_pod
}

# sd_pod NAME MODE: Debian with systemd, the peer giving it what it needs
# (tests/pod/test-pod-systemd.sh), the PV kept across the file's pods.
sd_pod() {
	pod_new "$1" "$TEST_TMP/pv-$1"
	pod_os "$SD_IMAGE" k8s /usr/bin/stint -v -s "$SOCK" -t 30 --notify-socket /run/host/notify/notify.sock
	pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode "$2" --state /pv --timeout 30 \
		--tmpfs /run,/run/lock --cgroup rw --notify /run/stint-peer/notify/notify.sock
}

# journal_states: the state byte of every journal file on the PV (offset
# 16 of the header: 0 offline, 1 online, 2 archived); "online" after the
# container ended means journald never closed it.
journal_states() {
	local f
	for f in "$POD_PV"/upper/var/log/journal/*/*.journal; do
		[ -e "$f" ] || continue
		case $(od -An -tu1 -j16 -N1 "$f" | tr -d ' ') in
		0) echo "offline $f" ;; 1) echo "online $f" ;; 2) echo "archived $f" ;; *) echo "unknown $f" ;;
		esac
	done
}

t_systemd() {
	local mode=$1 states
	[ -d "$SD_IMAGE/lib/systemd" ] || make_debian_os "$SD_IMAGE"
	sd_pod "sd-$mode" "$mode"
	boot
	write_fsynced "$mode"
	pod_stop_like_kubelet "$GRACE" "${HALT[@]}"
	cat "$POD_DIR/prestop.out"
	echo "stopped in $POD_STOP_MS ms: hook exit $POD_HOOK_RC, OS exit $POD_OS_RC, SIGKILL needed: $POD_STOP_KILLED"
	assert_eq "$POD_HOOK_RC" 0 "stint halt's exit status"
	assert_file_has_content "$POD_DIR/prestop.out" 'PID 1 is systemd \(.*/lib/systemd/systemd\): sending SIGRTMIN\+3'
	assert_file_has_content "$POD_DIR/prestop.out" 'SIGTERM from pid 1: the init is ending every process'
	assert_eq "$POD_STOP_KILLED" 0 "SIGKILL needed"
	assert_eq "$POD_OS_RC" 0 "the OS container's exit status"
	states=$(journal_states)
	echo "$states"
	[ -n "$states" ] || fail "no journal on the PV"
	! grep -q '^online\|^unknown' <<<"$states" || fail "a journal file was left open"
	wait_for 10 grep -q 'persistent volume synced' "$POD_PEER_LOG" || { pod_logs; fail "the peer did not sync the PV"; }
	stop_peer
	after_pod
}

# The same pod without the hook, as a cluster without it stops it: SIGTERM
# only makes systemd re-execute, the grace runs out, SIGKILL; journald is
# killed with its files open. (Short grace: the outcome is the same.)
t_systemd_no_hook() {
	local states
	sd_pod sd-nohook pivot
	boot
	pod_stop_like_kubelet 4
	echo "stopped in $POD_STOP_MS ms: OS exit $POD_OS_RC, SIGKILL needed: $POD_STOP_KILLED"
	assert_eq "$POD_STOP_KILLED" 1 "SIGKILL needed without the hook"
	assert_eq "$POD_OS_RC" 137 "the OS container's exit status"
	states=$(journal_states)
	echo "$states"
	grep -q '^online' <<<"$states" || fail "SIGKILL left no journal file online: the journal check above proves nothing"
	stop_peer
}

# make_sysvinit_os DIR: a busybox root whose /sbin/init is Debian's
# sysvinit (sysvinit-core, fetched once into the cache with apt-get
# download; its libraries from this Debian host). Runlevel 2 runs a
# service; runlevel 0 (rc0) records the stop on the PV, sends every process
# TERM then KILL as Debian's sendsigs does, and halts (reboot(2): refused
# without CAP_SYS_BOOT).
make_sysvinit_os() {
	local dir=$1 deb='' f lib
	for f in "$STINT_CACHE"/sysvinit-core_*.deb; do [ -e "$f" ] && deb=$f; done
	if [ -z "$deb" ]; then
		mkdir -p "$STINT_CACHE"
		(cd "$STINT_CACHE" && apt-get download sysvinit-core) || fail "apt-get download sysvinit-core failed"
		for f in "$STINT_CACHE"/sysvinit-core_*.deb; do [ -e "$f" ] && deb=$f; done
		[ -n "$deb" ] || fail "apt-get download sysvinit-core left no .deb in $STINT_CACHE"
	fi
	make_busybox_rootfs "$dir"
	dpkg-deb -x "$deb" "$TEST_TMP/sysvinit-core"
	rm -f "$dir/sbin/init"
	cp "$TEST_TMP/sysvinit-core/sbin/init" "$dir/sbin/init"
	for lib in $(ldd "$dir/sbin/init" | grep -oE '/[^ ]+'); do
		mkdir -p "$dir$(dirname "$lib")"
		cp -L "$lib" "$dir$lib"
	done
	mkdir -p "$dir/etc/init.d" "$dir/var/lib/demo"
	cat >"$dir/etc/inittab" <<'TAB'
id:2:initdefault:
si::sysinit:/etc/init.d/rcS
l0:0:wait:/etc/init.d/rc0
sv:2:respawn:/bin/sh -c 'while :; do sleep 1; done'
TAB
	printf '#!/bin/sh\nrm -f /var/lib/demo/stopped\necho "rcS: sysvinit boot"\n' >"$dir/etc/init.d/rcS"
	cat >"$dir/etc/init.d/rc0" <<'SH'
#!/bin/sh
echo "rc0: runlevel 0"
date +%s >/var/lib/demo/stopped
kill -TERM -1
sleep 1
kill -KILL -1
sync
halt -f
echo "rc0: halt: exit $?"
SH
	chmod 755 "$dir/etc/init.d/rcS" "$dir/etc/init.d/rc0"
}

# sysvinit halts on no signal: stint halt writes a runlevel 0 request to
# /run/initctl; its rc0 runs, whose TERM to every process ends the hook.
# Without CAP_SYS_BOOT its halt is refused and it stays until SIGKILL at
# the end of the grace period (documented); with CAP_SYS_BOOT the kernel
# ends the container (killed by SIGINT: 130) right after rc0.
t_sysvinit() {
	local caps=$1 img=$TEST_TMP/sysvinit-os
	[ -x "$img/sbin/init" ] || make_sysvinit_os "$img"
	POD_TERMINAL=1 # sysvinit's children write to /dev/console
	pod_new "sysv-$2"
	pod_os "$img" "$caps" /usr/bin/stint -v -s "$SOCK" -t 20
	pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode pivot --state /pv --timeout 20
	pod_start
	wait_for 20 grep -q 'rcS: sysvinit boot' "$POD_OS_LOG" || { pod_logs; fail "sysvinit did not boot"; }
	wait_for 10 pod_exec test -p /run/initctl || fail "sysvinit made no /run/initctl"
	# The doctor names it (by its binary) and says how it stops.
	pod_peer_exec /usr/bin/stint-peer doctor -s "$SOCK" --state /pv >doctor.out 2>&1 || true
	grep -E '^(OS init|stop signal) ' doctor.out
	assert_file_has_content doctor.out '^OS init +ok +PID 1 of the OS runs /sbin/init, which is sysvinit'
	assert_file_has_content doctor.out '^stop signal +note +sysvinit halts on no signal'
	write_fsynced pivot
	pod_stop_like_kubelet 6 "${HALT[@]}"
	cat "$POD_DIR/prestop.out"
	echo "stopped in $POD_STOP_MS ms: hook exit $POD_HOOK_RC, OS exit $POD_OS_RC, SIGKILL needed: $POD_STOP_KILLED"
	assert_eq "$POD_HOOK_RC" 0 "stint halt's exit status"
	assert_file_has_content "$POD_DIR/prestop.out" 'PID 1 is sysvinit \(/sbin/init\): requesting runlevel 0 through /run/initctl'
	assert_file_has_content "$POD_DIR/prestop.out" 'SIGTERM from pid [0-9]+: the init is ending every process'
	assert_file_has_content "$POD_OS_LOG" 'rc0: runlevel 0'
	assert_exists "$POD_PV/upper/var/lib/demo/stopped"
	if [ "$2" = sys_boot ]; then
		assert_eq "$POD_STOP_KILLED" 0 "SIGKILL needed with CAP_SYS_BOOT"
		assert_eq "$POD_OS_RC" 130 "the OS container's exit status (the kernel's halt of a pid namespace: SIGINT)"
	else
		assert_file_has_content "$POD_OS_LOG" 'halt: .*Operation not permitted'
		assert_eq "$POD_STOP_KILLED" 1 "SIGKILL needed without CAP_SYS_BOOT"
	fi
	wait_for 10 grep -q 'persistent volume synced' "$POD_PEER_LOG" || { pod_logs; fail "the peer did not sync the PV"; }
	stop_peer
	after_pod
}

# stint halt's failures: an init that ignores the signal it was given
# (busybox init ignores 37) -> exit 1 at the timeout, the OS still runs;
# bad options -> exit 2; `stint halt` as PID 1 -> exit 2 (no pod needed).
t_halt_failures() {
	local rc=0 out
	bb_pod bb-halt-fails pivot
	boot
	out=$(pod_exec /usr/bin/stint halt --signal RTMIN+3 --timeout 1 2>&1) || rc=$?
	echo "$out"
	assert_eq "$rc" 1 "stint halt's exit status when the init ignores the signal"
	grep -q 'busybox init still runs 1 s after it was asked to halt' <<<"$out" || fail "no timeout message"
	_pod_running "$POD_OS_ID" || fail "the OS stopped"
	# ^C of the one running it is no halt: exit 1, not 0. SIGINT is sent
	# once stint halt has blocked it (its SigBlk shows signal 2).
	rc=0
	out=$(pod_exec /bin/sh -c '/usr/bin/stint halt --signal RTMIN+3 --timeout 20 & p=$!
		i=0; until grep -q "^SigBlk:.*[2367abef]$" /proc/$p/status || [ $i -ge 200 ]; do i=$((i+1)); sleep 0.05; done
		kill -INT $p; wait $p' 2>&1) || rc=$?
	echo "$out"
	assert_eq "$rc" 1 "stint halt's exit status after SIGINT"
	grep -q 'halt: interrupted (SIGINT from pid [0-9]*) before busybox init ended' <<<"$out" || fail "no interruption message"
	_pod_running "$POD_OS_ID" || fail "the OS stopped"
	rc=0
	out=$(pod_exec /usr/bin/stint halt --signal NOPE 2>&1) || rc=$?
	echo "$out"
	assert_eq "$rc" 2 "bad --signal"
	grep -q "'NOPE' is not a signal" <<<"$out" || fail "no reason for the bad --signal"
	rc=0
	out=$(pod_exec /usr/bin/stint halt --timeout 0 2>&1) || rc=$?
	echo "$out"
	assert_eq "$rc" 2 "--timeout 0"
	rc=0
	out=$(pod_exec /usr/bin/stint halt now 2>&1) || rc=$?
	assert_eq "$rc" 2 "an operand"
	# Whole output first: grep -q would quit early and, with pipefail, a
	# writer cut short by SIGPIPE would read as no match.
	out=$(pod_exec /usr/bin/stint halt --help 2>&1) || true
	grep -q '^Usage: stint halt' <<<"$out" || fail "no --help: $out"
	rc=0
	out=$(unshare --pid --fork "$STINT" halt 2>&1) || rc=$?
	echo "$out"
	assert_eq "$rc" 2 "stint halt as PID 1"
	pod_stop_like_kubelet "$GRACE" "${HALT[@]}"
	assert_eq "$POD_HOOK_RC" 0 "stint halt after the failed attempts"
}

run_test "busybox, pivot: preStop stint halt (USR2), ::shutdown ran, exit 0 without SIGKILL; fsynced file on the PV" t_busybox pivot
run_test "busybox, chroot (exec lands in the image's old root): stint halt works there too" t_busybox chroot
run_test "systemd, pivot: preStop stint halt (RTMIN+3): exit 0 within the grace, journal closed, fsynced file on the PV" t_systemd pivot
run_test "systemd, chroot: the same from the image's old root" t_systemd chroot
run_test "systemd without the hook: SIGTERM re-executes it, SIGKILL after the grace leaves the journal online" t_systemd_no_hook
run_test "sysvinit: a runlevel 0 request through /run/initctl; rc0 ran; without CAP_SYS_BOOT it stays until SIGKILL" t_sysvinit k8s k8s
run_test "sysvinit with CAP_SYS_BOOT: its halt ends the container (130) right after rc0" t_sysvinit "$(echo $POD_K8S_CAPS | tr ' ' ,),SYS_BOOT" sys_boot
run_test "stint halt: an init ignoring the signal (timeout, exit 1), bad options (exit 2), run as PID 1 (exit 2)" t_halt_failures
