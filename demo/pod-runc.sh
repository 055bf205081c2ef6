# The demo's pod under runc (sourced by demo/run.sh): tests/pod/libpod-runc.sh
# makes the two containers; this file tells the story.
source tests/pod/libpod-runc.sh

SOCK=$POD_SHARED_PATH/stint.sock
PV=$TEST_TMP/pv

# The handoff log, without the peer's one-line-per-carried-mount detail.
show_log() {
	sed -e '/^stint-peer: .*  carry \//d' -e 's/^/    /' "$1"
}

demo_pod() {
	pod_new demo "$PV"
	pod_os "$IMAGE" k8s /usr/bin/stint -s "$SOCK" -t 30
	pod_peer /usr/bin/stint-peer -s "$SOCK" prepare --mode pivot --state /pv --timeout 30 \
		--ready-path /run/demo-service.ready
}

demo_boot() {
	local t0
	t0=$(date +%s%N)
	pod_start
	wait_for 15 pod_peer_exec /usr/bin/stint-peer status -q -s "$SOCK" 2>/dev/null || {
		pod_logs
		fail "the OS did not become ready"
	}
	BOOT_MS=$(ms_since "$t0")
}

demo_stop() {
	local t0
	t0=$(date +%s%N)
	pod_kill USR2
	pod_wait_os 15 || fail "busybox init did not stop"
	say "SIGUSR2 -> busybox init ran its shutdown and exited $POD_OS_RC in $(ms_since "$t0") ms"
	pod_delete
}

demo_main() {
	step "the pod, under runc: OS container (stint as PID 1, the 14 default capabilities, unprivileged)"
	say "       + privileged peer (stint-peer prepare --mode pivot --state /pv)"
	demo_pod
	demo_boot
	say "ready in $BOOT_MS ms (runc start, handoff, busybox init, service up: stint-peer status = 0)"
	say "stint's log (OS container; the peer container starts meanwhile):"
	show_log "$POD_OS_LOG"
	say "stint-peer's log (peer container):"
	show_log "$POD_PEER_LOG"

	step "inside the booted OS (runc exec lands in the new root: pivot mode)"
	say "\$ runc exec $POD_OS_ID sh -c 'echo hello from boot \$(cat /var/lib/demo/boots) >/root/hello; cat /root/hello'"
	pod_exec /bin/sh -c 'echo "hello from boot $(cat /var/lib/demo/boots)" >/root/hello; cat /root/hello'
	say "on the PV: $(cat "$PV/upper/root/hello")   ($PV/upper/root/hello)"

	step "restart the pod: stop, delete both containers, start them again with the same PV"
	demo_stop
	demo_pod
	demo_boot
	say "ready again in $BOOT_MS ms"
	say "\$ runc exec $POD_OS_ID sh -c 'cat /root/hello; echo boots: \$(cat /var/lib/demo/boots)'"
	pod_exec /bin/sh -c 'cat /root/hello; echo "boots: $(cat /var/lib/demo/boots)"'
	grep -q '^hello from boot 1$' "$PV/upper/root/hello" || fail "the file did not survive"
	say "the file survived the restart"
	demo_stop
}
