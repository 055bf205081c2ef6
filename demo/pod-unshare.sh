# The demo's fallback when runc cannot run containers here (sourced by
# demo/run.sh): the OS "container" is made with unshare (mount, pid, net, ipc
# and uts namespaces, runc's masked paths, the default capabilities; see
# tests/peer/libpod.sh) and stint-peer runs on the host as the privileged
# peer. Same story as demo/pod-runc.sh.
source tests/peer/libpod.sh

show_log() {
	sed -e '/^stint-peer: .*  carry \//d' -e 's/^/    /' "$1"
}

demo_boot() {
	local t0 d=$TEST_TMP/demo
	t0=$(date +%s%N)
	pod_start demo default -s /shared/stint.sock -t 30
	# (libpod.sh's pod_defer takes over the EXIT trap; keep ours, which runs both.)
	trap demo_cleanup EXIT
	pod_wait_socket demo
	"$STINT_PEER" -s "$d/shared/stint.sock" prepare --mode pivot --state "$d/pv" --timeout 30 \
		--ready-path /run/demo-service.ready >"$d/peer.log" 2>&1 &
	PEER_PID=$!
	defer "kill $PEER_PID"
	wait_for 15 "$STINT_PEER" status -q -s "$d/shared/stint.sock" 2>/dev/null || {
		cat "$d/pod.log" "$d/peer.log"
		fail "the OS did not become ready"
	}
	BOOT_MS=$(ms_since "$t0")
}

# in_os CMD: run CMD in the booted OS (pivot mode: PID 1's root is the new root).
in_os() { nsenter -t "$POD_PID" -m -p -u -r -w -- "$@"; }

demo_stop() {
	local t0 rc
	t0=$(date +%s%N)
	kill -USR2 "$POD_PID"
	rc=$(pod_wait demo 15)
	kill "$PEER_PID" 2>/dev/null || true
	wait "$PEER_PID" 2>/dev/null || true
	say "SIGUSR2 -> busybox init ran its shutdown and exited $rc in $(ms_since "$t0") ms"
}

demo_main() {
	local d=$TEST_TMP/demo
	step "the pod, made with unshare: OS namespaces (stint as PID 1, the 14 default capabilities)"
	say "       + stint-peer on the host (prepare --mode pivot --state PV)"
	pod_create demo
	rm -rf "$d/rootfs"
	make_busybox_os "$d/rootfs"
	install_binary "$d/rootfs" "$STINT" /usr/bin/stint
	install_binary "$d/rootfs" "$(command -v setpriv)" /usr/bin/setpriv
	demo_boot
	say "ready in $BOOT_MS ms (handoff, busybox init, service up: stint-peer status = 0)"
	say "stint's log:"
	show_log "$d/pod.log"
	say "stint-peer's log:"
	show_log "$d/peer.log"

	step "inside the booted OS"
	in_os /bin/sh -c 'echo "hello from boot $(cat /var/lib/demo/boots)" >/root/hello; cat /root/hello'
	say "on the PV: $(cat "$d/pv/upper/root/hello")"

	step "restart the pod with the same PV"
	demo_stop
	demo_boot
	say "ready again in $BOOT_MS ms"
	in_os /bin/sh -c 'cat /root/hello; echo "boots: $(cat /var/lib/demo/boots)"'
	grep -q '^hello from boot 1$' "$d/pv/upper/root/hello" || fail "the file did not survive"
	say "the file survived the restart"
	demo_stop
}
