#!/usr/bin/env bash
# stint-peer enter and attach in a runc pod with the busybox OS, run as
# `kubectl exec -c stint-peer` runs them (runc exec into the sidecar), with
# and without a terminal, in pivot and chroot mode: enter runs a command
# inside the booted OS (its root with the PV's upper, its processes, its
# hostname, its init's cgroups and capabilities); attach runs the sidecar's
# own busybox beside it (the OS's processes and sockets, its root at
# /target); both refuse cleanly before the boot and after the OS container
# stopped, and work again for the restarted OS. The sidecar's root is the
# tools image's (k8s/images/peer-tools.sh). To prove the joins, this pod's
# sidecar keeps network and UTS namespaces of its own (a real pod shares
# them): only entering the OS's shows its hostname and sockets.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/pod/libpod-runc.sh"

require_runc

IMAGE=$TEST_TMP/busybox-os
TOOLS=$TEST_TMP/peer-tools
SOCK=$POD_SHARED_PATH/stint.sock
POD_SHARED_NS="ipc"
PEER_HOSTNAME=the-sidecar
# No cgroup namespace for the OS container (containerd on cgroup v1 runs
# containers so). With one, runc 1.1.5 cannot place the container in the
# hybrid host's unified hierarchy once that is mounted with nsdelegate,
# and every runc exec into it fails (seen here).
export POD_CGROUPNS=${POD_CGROUPNS:-0}

make_busybox_os "$IMAGE"
# A service that listens, to find with netstat.
echo '::respawn:/usr/sbin/httpd -f -p 127.0.0.1:8080 -h /var/www' >>"$IMAGE/etc/inittab"
mkdir -p "$IMAGE/var/www"
"$TOP/k8s/images/peer-tools.sh" "$TOOLS" "$STINT_PEER_STATIC" >/dev/null || fail "peer-tools.sh failed"
# A guest's tool in the OS (it types into its terminal) and the sidecar's
# probe of its own terminal.
cp "$STINT_HELPER_DIR/hostile" "$IMAGE/usr/bin/hostile"
cp "$STINT_HELPER_DIR/hostile" "$TOOLS/usr/bin/hostile"

# ep_pod NAME MODE [PREPARE-ARG]...: the pod; the PV holds a file before
# the first boot, so it exists only in the OS's upper layer.
ep_pod() {
	local name=$1 mode=$2
	shift 2
	pod_new "$name"
	mkdir -p "$POD_PV/upper/etc" "$POD_DIR/peer"
	echo "from the PV" >"$POD_PV/upper/etc/only-on-the-pv"
	cp -a "$TOOLS" "$POD_DIR/peer/rootfs"
	mkdir -p "$POD_DIR/peer/rootfs/pv" "$POD_DIR/peer/rootfs$POD_SHARED_PATH"
	pod_os "$IMAGE" k8s /usr/bin/stint -v -s "$SOCK" -t 20
	pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode "$mode" --state /pv --timeout 20 \
		--ready-path /run/demo-service.ready "$@"
	_pod_jq "$POD_DIR/peer" '.hostname = $h' --arg h "$PEER_HOSTNAME"
}

ready() { pod_peer_exec /usr/bin/stint-peer status -q 2>/dev/null; }
httpd_up() { [ -n "$(pod_exec pidof httpd 2>/dev/null)" ]; }

ep_boot() {
	pod_start
	wait_for 20 ready || {
		pod_logs
		fail "the OS did not boot (stint-peer status never ready)"
	}
	wait_for 10 httpd_up || fail "httpd did not start in the OS"
}

enter() { pod_peer_exec /usr/bin/stint-peer enter "$@"; }
attach() { pod_peer_exec /usr/bin/stint-peer attach "$@"; }

# in_tty CMD...: runc exec -t into the sidecar under script(1), which
# gives runc the terminal it needs; the output is the terminal's. With
# TTY_SIZE="ROWS COLS" script's terminal has that size (runc copies it).
in_tty() {
	local cmd
	cmd="runc --root '$POD_RUNC_ROOT' exec -t '$POD_PEER_ID'$(printf " '%s'" "$@")"
	[ -z "${TTY_SIZE:-}" ] || cmd="stty rows ${TTY_SIZE% *} cols ${TTY_SIZE#* }; $cmd"
	timeout 30 script -q -e -c "$cmd" /dev/null </dev/null | tr -d '\r'
}

# The OS's view, for comparison: pivot mode lands runc exec in the OS.
os_view() { pod_exec "$@"; }

t_enter_pivot() {
	local out
	ep_pod enter-pivot pivot
	ep_boot
	# The new root: the PV's upper and the boot the OS counted.
	assert_eq "$(enter -- cat /etc/only-on-the-pv)" "from the PV" "a file only in the PV's upper"
	assert_eq "$(enter -- cat /var/lib/demo/boots)" 1 "the OS's boot count"
	enter -- grep -q '^stint / overlay' /proc/mounts || fail "enter's / is not the OS's overlay"
	# Its hostname (the sidecar has its own here).
	assert_eq "$(pod_peer_exec hostname)" "$PEER_HOSTNAME" "the sidecar's hostname"
	assert_eq "$(enter -- hostname)" enter-pivot "the OS's hostname"
	# Its processes, not the sidecar's.
	out=$(enter -- ps)
	echo "$out"
	grep -q demo-service <<<"$out" || fail "enter's ps does not list the OS's service"
	grep -q 'httpd -f' <<<"$out" || fail "enter's ps does not list the OS's httpd"
	! grep -q 'stint-peer.*prepare' <<<"$out" || fail "enter's ps lists the sidecar's peer"
	# /proc/self names the session's own process.
	assert_eq "$(enter -- sh -c 'read -r pid rest </proc/self/stat; echo "$pid $$"')" "2 2" "/proc/self of the shell"
	enter -- ls /proc/self/fd/ >/dev/null || fail "/proc/self/fd does not work in enter"
	# The init's cgroups, capabilities and environment.
	assert_eq "$(enter -- cat /proc/self/cgroup)" "$(os_view cat /proc/1/cgroup)" "cgroups"
	assert_eq "$(enter -- grep CapBnd /proc/self/status)" "$(os_view grep CapBnd /proc/1/status)" "bounding set"
	assert_eq "$(enter -- grep CapEff /proc/self/status)" "$(os_view grep CapBnd /proc/1/status | sed s/Bnd/Eff/)" \
		"effective set"
	enter -- env >"$TEST_TMP/env"
	cat "$TEST_TMP/env"
	assert_file_has_content "$TEST_TMP/env" '^container=stint$'
	assert_file_has_content "$TEST_TMP/env" '^HOME=/root$'
	assert_file_has_content "$TEST_TMP/env" '^PATH=/'
	assert_file_lacks_content "$TEST_TMP/env" '^TERM='
	assert_eq "$(enter -- pwd)" /root "working directory"
	# Nothing of the session reaches the OS's mount table.
	os_view cat /proc/self/mountinfo >"$TEST_TMP/os-mounts"
	assert_file_lacks_content "$TEST_TMP/os-mounts" ' /proc/driver '
}

t_enter_status_and_shell() {
	local rc
	ep_pod enter-status pivot
	ep_boot
	rc=0; enter -- sh -c 'exit 7' || rc=$?
	assert_eq "$rc" 7 "exit status"
	rc=0; enter -- sh -c 'kill -TERM $$' || rc=$?
	assert_eq "$rc" 143 "killed by SIGTERM"
	rc=0; enter -- /no/such/command 2>"$TEST_TMP/err" || rc=$?
	assert_eq "$rc" 127 "a missing command"
	assert_file_has_content "$TEST_TMP/err" 'enter: /no/such/command: No such file or directory'
	# No COMMAND: root's login shell of the OS, reading stdin.
	rc=0
	out=$(echo 'echo "shell=$0 home=$HOME"; exit 3' | pod_peer_exec /usr/bin/stint-peer enter) || rc=$?
	assert_eq "$out" "shell=-sh home=/root" "the login shell"
	assert_eq "$rc" 3 "the shell's exit status"
	# With a terminal (kubectl exec -it): the command's stdin is a tty,
	# its controlling terminal, and TERM comes along.
	out=$(in_tty env TERM=xterm-test /usr/bin/stint-peer enter -- \
		sh -c 'test -t 0 && echo tty=yes; echo "TERM=$TERM"; awk "{print \"ctty=\" \$7}" /proc/self/stat')
	echo "$out"
	# (The terminal may echo a ^@ of script's at the start: no ^ anchors.)
	grep -q 'tty=yes$' <<<"$out" || fail "no terminal on stdin"
	grep -q 'TERM=xterm-test$' <<<"$out" || fail "TERM did not come along"
	grep -q 'ctty=[1-9][0-9]*$' <<<"$out" || fail "no controlling terminal"
}

# The operator's terminal never reaches the OS. In the sidecar's shell
# (kubectl exec -it -c stint-peer -- sh), enter a command of the OS that
# types a command line into its terminal (TIOCSTI: what a shell profile
# the guest wrote would do): it lands in the session's own terminal, and
# nothing waits on the sidecar's for its shell to run once enter returns.
# The session's terminal has the operator's size and follows a resize.
t_enter_terminal() {
	local out
	ep_pod enter-tty pivot
	cat >"$POD_DIR/peer/rootfs/tty-test.sh" <<-'EOF'
		# runc passes script's terminal size on to this one when it gets to
		# it, maybe after this starts: wait for it.
		i=0
		while [ "$(stty size)" != "33 101" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
		/usr/bin/stint-peer enter -- sh -c 'test -t 0 && echo inner-tty=yes; echo "size $(stty size)"
			hostile tiocsti "echo INJECTED
		"'
		echo "enter: $?"
		hostile inq
		# A resize while a session runs (in the background: stdin is not
		# the terminal there, its output is).
		/usr/bin/stint-peer enter -- sh -c 'trap "echo \"resized \$(stty size <&2)\"; exit 0" WINCH
			echo >/armed; while :; do sleep 1; done' &
		i=0
		while [ ! -e /pv/upper/armed ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
		stty rows 44 cols 88
		wait $!
		echo "resize enter: $?"
		# In the background of an interactive shell (job control: not the
		# terminal's foreground) a session neither reads the terminal nor
		# sets its modes: either would stop it (SIGTTIN, SIGTTOU).
		sh -ic '/usr/bin/stint-peer enter -- sh -c "echo bg-ran" & wait $!; echo "bg enter: $?"' 2>/dev/null
	EOF
	ep_boot
	out=$(TTY_SIZE="33 101" in_tty sh /tty-test.sh)
	echo "$out"
	grep -q 'inner-tty=yes' <<<"$out" || fail "the session's command has no terminal"
	grep -q 'size 33 101' <<<"$out" || fail "the session's terminal does not have the operator's size"
	grep -q 'tiocsti: 14 of 14 bytes typed' <<<"$out" || fail "the guest could not type into its own terminal"
	grep -q 'enter: 0' <<<"$out" || fail "enter failed"
	grep -q 'inq=0' <<<"$out" || fail "the guest typed into the sidecar's terminal"
	grep -q 'resized 44 88' <<<"$out" || fail "the session's terminal did not follow the resize"
	grep -q 'resize enter: 0' <<<"$out" || fail "the resized session did not end well"
	grep -q 'bg-ran' <<<"$out" || fail "a session in the background did not run"
	grep -q 'bg enter: 0' <<<"$out" || fail "a session in the background did not end well"
}

t_enter_chroot() {
	ep_pod enter-chroot chroot
	ep_boot
	# runc exec lands in the old root; enter in the OS.
	! pod_exec cat /var/lib/demo/boots 2>/dev/null || fail "runc exec landed in the new root"
	assert_eq "$(enter -- cat /var/lib/demo/boots)" 1 "the OS's boot count"
	assert_eq "$(enter -- cat /etc/only-on-the-pv)" "from the PV" "a file only in the PV's upper"
	enter -- test ! -e /.stint/root/etc || fail "enter is in the old root"
	assert_eq "$(enter -- cat /proc/self/cgroup)" "$(pod_exec cat /proc/1/cgroup)" "cgroups"
}

t_attach() {
	local mode=$1 out
	ep_pod "attach-$mode" "$mode"
	ep_boot
	# The sidecar's own busybox: the OS's processes and sockets.
	out=$(attach -- ps)
	echo "$out"
	grep -q demo-service <<<"$out" || fail "attach's ps does not list the OS's service"
	! grep -q 'stint-peer.*prepare' <<<"$out" || fail "attach's ps lists the sidecar's peer"
	pod_peer_exec netstat -tln | grep -c ':8080 ' >/dev/null && fail "the sidecar sees the OS's socket without attach"
	attach -- netstat -tln | grep -c '127.0.0.1:8080 .*LISTEN' >/dev/null || fail "attach's netstat misses the OS's socket"
	assert_eq "$(attach -- hostname)" "attach-$mode" "the OS's hostname"
	# The OS's root at /target, the sidecar's own files at /.
	assert_eq "$(attach -- cat /target/var/lib/demo/boots)" 1 "the OS's boot count via /target"
	assert_eq "$(attach -- cat /target/etc/only-on-the-pv)" "from the PV" "a file of the OS's upper"
	attach -- test -x /usr/bin/strace || fail "attach does not run in the sidecar's root"
	attach -- test ! -e /target/usr/bin/strace || fail "/target is not the OS's root"
	attach --target /mnt/os -- cat /mnt/os/var/lib/demo/boots >/dev/null || fail "--target /mnt/os"
	# A device node the guest made in its /dev (a tmpfs without nodev)
	# opens nothing for the sidecar's privileged tools at /target.
	pod_exec /bin/sh -c 'mknod /dev/guest-zero c 1 5' || fail "the guest could not make its device node"
	attach -- test -c /target/dev/guest-zero || fail "no /target/dev/guest-zero"
	attach -- head -c 1 /target/dev/guest-zero >/dev/null 2>&1 && fail "a device node of the guest opened at /target"
	# The tools work: strace on a command of the session, /proc/self.
	attach -- strace -f -e trace=execve -o /dev/null /bin/true || fail "strace in attach"
	out=$(in_tty /usr/bin/stint-peer attach -- sh -c 'test -t 0 && echo tty=yes')
	grep -q 'tty=yes$' <<<"$out" || fail "attach with a terminal: no terminal on stdin: $out"
	assert_eq "$(attach -- sh -c 'read -r pid rest </proc/self/stat; echo "$pid $$"')" "2 2" "/proc/self of the shell"
	# Nothing of it reaches the OS.
	pod_exec cat /proc/self/mountinfo >"$TEST_TMP/os-mounts"
	assert_file_lacks_content "$TEST_TMP/os-mounts" ' /proc/driver | /target '
}

# /proc not carried: the OS's /proc is a directory of its upper, where the
# guest planted its init's "status" (the full bounding set) and a FIFO as
# its "cgroup". enter refuses, naming the file, and does not hang.
t_enter_forged_proc() {
	local rc out
	ep_pod enter-noproc pivot --exclude /proc
	mkdir -p "$POD_PV/upper/proc/1"
	printf 'Name:\tinit\nCapInh:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n' \
		>"$POD_PV/upper/proc/1/status"
	mkfifo "$POD_PV/upper/proc/1/cgroup"
	pod_start
	wait_for 20 ready || {
		pod_logs
		fail "the OS did not boot without /proc"
	}
	rc=0
	out=$(POD_TIMEOUT=20 pod_peer_exec /usr/bin/stint-peer enter -- true 2>&1) || rc=$?
	echo "enter with a forged /proc: exit $rc: $out"
	assert_eq "$rc" 1 "enter with a forged /proc"
	grep -q "error: enter: the OS init's capability sets: /proc/1/status: not the kernel's" <<<"$out" ||
		fail "no refusal naming /proc/1/status"
}

# Before the OS boots, after it stopped, and after it came back.
t_refusals() {
	local rc out
	ep_pod refusals pivot
	pod_start_peer
	wait_for 10 pod_peer_exec test -S /run/stint-peer/control.sock || {
		pod_logs
		fail "no control socket"
	}
	assert_eq "$(pod_peer_exec stat -c %a /run/stint-peer/control.sock)" 600 "the control socket's mode"
	for cmd in enter attach; do
		rc=0
		out=$(pod_peer_exec /usr/bin/stint-peer $cmd -- true 2>&1) || rc=$?
		echo "$cmd before the boot: exit $rc: $out"
		assert_eq "$rc" 1 "$cmd before the boot"
		grep -q "error: $cmd: no OS booted yet" <<<"$out" || fail "$cmd before the boot said: $out"
	done
	pod_start_os
	wait_for 20 ready || { pod_logs; fail "the OS did not boot"; }
	assert_eq "$(enter -- cat /var/lib/demo/boots)" 1 "boot 1"
	# The OS container's init dies; the peer notices at once (its pidfd).
	pod_kill KILL
	pod_wait_os 10 || fail "the OS container did not stop"
	wait_for 10 eval '! ready' || fail "still ready after the OS stopped"
	for cmd in enter attach; do
		rc=0
		out=$(pod_peer_exec /usr/bin/stint-peer $cmd -- true 2>&1) || rc=$?
		echo "$cmd after the stop: exit $rc: $out"
		assert_eq "$rc" 1 "$cmd after the stop"
		grep -q "error: $cmd: the OS is not running: the init of boot 1 exited" <<<"$out" ||
			fail "$cmd after the stop said: $out"
	done
	pod_restart_os
	wait_for 20 ready || { pod_logs; fail "the restarted OS did not boot"; }
	assert_eq "$(enter -- cat /var/lib/demo/boots)" 2 "boot 2 through enter"
	assert_eq "$(attach -- cat /target/var/lib/demo/boots)" 2 "boot 2 through attach"
	# Not in the sidecar, and not the peer's uid.
	rc=0
	out=$(pod_peer_exec /usr/bin/stint-peer enter --run-dir /tmp -- true 2>&1) || rc=$?
	assert_eq "$rc" 1 "enter without a control socket"
	grep -q 'not in the sidecar: no control socket /tmp/control.sock' <<<"$out" || fail "no socket: $out"
	rc=0
	out=$(_pod_runc exec --user 1000:1000 "$POD_PEER_ID" /usr/bin/stint-peer enter -- true 2>&1) || rc=$?
	echo "uid 1000: exit $rc: $out"
	assert_eq "$rc" 1 "enter as another uid"
	grep -qE 'not allowed' <<<"$out" || fail "uid 1000 was not refused: $out"
}

# silent_clients SOCKET N: N clients that connect and ask nothing; each
# line says when the peer dropped one (and what it got: nothing).
silent_clients() {
	"$PY" - "$1" "$2" <<'PY'
import socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    socks.append(s)
print("connected", flush=True)
t0 = time.monotonic()
for s in socks:
    s.settimeout(20)
    data = s.recv(512)
    print("dropped after %.1f s, got %r" % (time.monotonic() - t0, data), flush=True)
PY
}

# The control socket never holds up the peer's loop: clients that ask
# nothing take the waiting slots and are dropped after 2 s, meanwhile a
# further client is turned away at once; a bad request gets a one-line
# answer; SIGTERM ends the peer at once with silent clients connected.
t_control_loop() {
	local sock rc out t0
	ep_pod control pivot
	ep_boot
	sock=$POD_DIR/peer/rootfs/run/stint-peer/control.sock
	silent_clients "$sock" 4 >"$TEST_TMP/silent" 2>&1 &
	wait_for 10 grep -q connected "$TEST_TMP/silent" || fail "the silent clients did not connect"
	rc=0
	out=$(enter -- true 2>&1) || rc=$?
	echo "a fifth client: exit $rc: $out"
	assert_eq "$rc" 1 "a client beyond the waiting slots"
	grep -q 'dropped the connection' <<<"$out" || fail "the fifth client was not turned away: $out"
	wait $! || fail "the silent clients were not dropped: $(cat "$TEST_TMP/silent")"
	cat "$TEST_TMP/silent"
	assert_eq "$(grep -c "got b''" "$TEST_TMP/silent")" 4 "silent clients dropped without an answer"
	assert_eq "$(enter -- cat /var/lib/demo/boots)" 1 "enter once the slots are free"
	out=$("$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1]); s.send(b"hello"); print(s.recv(512).decode())' "$sock")
	assert_eq "$out" "error unknown request 'hello' (this peer speaks 'get-init 1')" "a bad request"
	silent_clients "$sock" 2 >"$TEST_TMP/silent" 2>&1 &
	wait_for 10 grep -q connected "$TEST_TMP/silent" || fail "the silent clients did not connect"
	t0=$(date +%s%N)
	_pod_runc kill "$POD_PEER_ID" TERM
	pod_wait_peer 10 || fail "the peer did not stop on SIGTERM with silent clients connected"
	echo "the peer stopped $((($(date +%s%N) - t0) / 1000000)) ms after SIGTERM, status $POD_PEER_RC"
	assert_eq "$POD_PEER_RC" 0 "the peer's exit status"
	wait $! || true
}

# The init exits after the peer handed it over: the client sees its pidfd
# readable and refuses (a test hook of the dev build holds the fds until
# then).
t_stale() {
	local rc out
	ep_pod stale pivot
	install_binary "$POD_DIR/peer/rootfs" "$STINT_PEER" /usr/bin/stint-peer-dev
	ep_boot
	_pod_runc exec --env STINT_PEER_TEST_HOLD=1 "$POD_PEER_ID" /usr/bin/stint-peer-dev enter -- true \
		>"$TEST_TMP/stale" 2>&1 &
	wait_for 10 grep -q 'holding the init' "$TEST_TMP/stale" || {
		cat "$TEST_TMP/stale"
		fail "enter did not get the fds"
	}
	pod_kill KILL
	rc=0
	wait $! || rc=$?
	out=$(cat "$TEST_TMP/stale")
	echo "enter across the stop: exit $rc: $out"
	assert_eq "$rc" 1 "enter with a stale pidfd"
	grep -q 'error: enter: the OS has restarted since the peer handed over the init of boot 1 (stale pidfd' \
		<<<"$out" || fail "no stale-pidfd refusal"
}

run_test "enter (pivot): the OS's root, PV upper, hostname, processes, cgroups, caps, env" t_enter_pivot
run_test "enter: exit status, signals, missing command, login shell, with a terminal" t_enter_status_and_shell
run_test "enter: the operator's terminal stays in the sidecar (TIOCSTI lands in the session's own), resized" t_enter_terminal
run_test "enter (chroot mode): lands in the OS, where runc exec lands in the old root" t_enter_chroot
run_test "attach (pivot): the sidecar's busybox sees the OS's processes, sockets, root at /target" t_attach pivot
run_test "attach (chroot): the same in chroot mode" t_attach chroot
run_test "enter refuses a /proc the guest wrote (not carried): no forged caps, no FIFO opened" t_enter_forged_proc
run_test "enter/attach refuse before the boot and after the OS stopped; work for the restarted OS" t_refusals
run_test "enter refuses a pidfd that went stale after the peer handed it over" t_stale
run_test "the control socket: silent clients dropped, others turned away at once, bad requests, SIGTERM" t_control_loop
