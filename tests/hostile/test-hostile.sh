#!/usr/bin/env bash
# The hostile-guest suite (issue 9): a guest, root in the OS container with
# Kubernetes' default capabilities, attacks the privileged peer for real, in
# the project's runc pods, in both switch modes. One pod per mode boots
# once; each test attacks it in turn and asserts that nothing the peer owns
# or can reach moved: victim files in the peer's container, the OS's old
# root, the PV, a loop device and the host; the peer's own run-dir; the
# mounts of the OS's mount namespace; the pod itself, which must keep
# working and come back after restarts.
#
# The guest's tool is tests/helpers/hostile.c. The shared emptyDir is out
# of the guest's reach (that is the fix), so the "peer talks to a guest's
# socket" cases run a second `stint-peer prepare --then exit` in the
# sidecar, with the sidecar's own run-dir (its trust record), against the
# guest's socket on a test-only volume.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/pod/libpod-runc.sh"
source "$TOP/tests/hostile/libhostile.sh"

require_runc
require_hostile

IMAGE=$TEST_TMP/hostile-os
hostile_image "$IMAGE"
echo "victim on the host" >"$TEST_TMP/victim-host"

# The peer of every pod here: sd_notify served, readiness from the demo
# service's file, a machine-id generated, short deadlines.
PEER_ARGS=(--notify "$NOTIFY" --ready-path /run/demo-service.ready --machine-id generate
	--timeout 5 --prepare-timeout 10 --handshake-timeout 5)

# A loop device over a file: a block device the guest can name with mknod
# (containerd lets a container make any device node, not open it) and the
# privileged peer could open; its file is a victim.
LOOP_IMG=$TEST_TMP/victim-blk.img
head -c 65536 /dev/urandom >"$LOOP_IMG"
LOOP_DEV=$(losetup -f --show "$LOOP_IMG") || fail "losetup $LOOP_IMG failed"
defer "losetup -d $LOOP_DEV"
LOOP_MAJMIN=$(printf '%d:%d' "0x$(stat -c %t "$LOOP_DEV")" "0x$(stat -c %T "$LOOP_DEV")")

# The pod of this mode boots once; every test below attacks it in turn.
t_boot() {
	echo "victim on the PV's root" >"$POD_PV/victim-pv"
	hpod_boot
	assert_eq "$(overlays)" 1 "overlays in the OS's mount namespace"
	assert_peer_files_sane
}

pod_up() {
	_pod_running "$POD_OS_ID" && _pod_running "$POD_PEER_ID" || fail "the pod of this mode is not running"
	status -q || { pod_logs; fail "the pod of this mode is not ready"; }
}

# A guest that leaves its chroot (chroot mode: the OS runs chrooted in the
# old root's /.stint/root) looks for what the peer and stint use, and plants
# junk at every such name it can reach. Nothing of it may reach the shared
# emptyDir, the peer's run-dir or a victim; the peer and the pod go on.
t_escape_and_plant() {
	local before after seen plants
	pod_up
	before=$(victims; peer_files; overlays)
	# What the escaped guest sees of the mount namespace's root.
	guest hostile escape -- /bin/sh -c '
		echo "root: $(stat -c %i /) $(grep -c . /proc/self/mountinfo) mounts"
		grep -E " /run/stint | /pv | /run/stint-peer " /proc/self/mountinfo | sed "s/^/MOUNT /"
		for p in /run/stint/stint.sock /pv/upper /run/stint-peer/state; do
			[ -e "$p" ] && echo "REACHABLE $p"
		done
		ls -A /run/stint 2>/dev/null | sed "s/^/SHARED-DIR /"
		true' >escaped.out 2>&1 || { cat escaped.out; fail "the escape did not run"; }
	cat escaped.out
	seen=$(grep -E '^(MOUNT|REACHABLE|SHARED-DIR)' escaped.out || true)
	assert_eq "$seen" "" "what the escaped guest found of the shared dir, the PV and the run-dir"
	# Plant, from outside the chroot, at every name stint and the peer
	# use; then in the OS's own root (the same one in pivot mode).
	plants='
		mkdir -p /run/stint
		hostile plant symlink /run/stint/stint.sock /victim-os
		hostile plant fifo /run/stint/.stint.1.tmp
		hostile plant dir /run/stint/state
		hostile plant symlink /run/stint/stint-peer.state.tmp /proc/self/root/victim-peer
		hostile plant chr /run/stint/trust 1:3
		hostile plant socket /run/stint/notify.sock
		hostile plant symlink /run/stint-peer ../../../../victim-dir
		true'
	guest hostile escape -- /bin/sh -c "$plants
		hostile plant symlink /.stint/root.new /victim-dir" >plant.out 2>&1
	guest /bin/sh -c "$plants
		for n in notify.sock x; do hostile plant fifo /run/host/notify/\$n; done
		hostile plant symlink /run/host/notify/notify.sock /victim-os
		hostile plant symlink /run/host/notify.new /victim-dir
		true" >>plant.out 2>&1
	cat plant.out
	# The notify directory shown to the OS is read-only: nothing lands there.
	assert_file_has_content plant.out 'plant fifo at /run/host/notify/x: Read-only file system'
	assert_file_has_content plant.out 'plant symlink at /run/host/notify/notify.sock: cannot move what is there: (Read-only file system|Device or resource busy)'
	# The peer keeps serving: notify goes on, readiness stays.
	guest hostile flood -n 1 -s "$NOTIFY_TARGET" 'STATUS=still here' >/dev/null
	wait_for 5 status -q || { pod_logs; fail "not ready after the plants"; }
	after=$(victims; peer_files; overlays)
	assert_eq "$after" "$before" "victims, the peer's run-dir and overlays after the plants"
	assert_peer_files_sane
	assert_eq "$(ls -A "$PEER_RUN/notify")" notify.sock "the notify socket's directory"
	assert_no_sanitizer_report "$POD_PEER_LOG"
}


# second_peer SOCK OUT [ARGS...]: a second `stint-peer prepare --then exit`
# in the sidecar, with the sidecar's own run-dir (so its trust record) but
# its own state file (the running peer's stays its own), against SOCK.
# Prints its exit status; its log goes to OUT.
second_peer() {
	local sock=$1 out=$2 rc=0
	shift 2
	pod_peer_exec /usr/bin/stint-peer -v -s "$sock" prepare --then exit --mode "$HMODE" --state /pv \
		--root /.stint/root --state-file /tmp/second.state --handshake-timeout 1 --prepare-timeout 5 \
		--timeout 3 "$@" >"$out" 2>&1 || rc=$?
	echo "$rc"
}

# The forged HELLOs: variant of hostile's fake init | what the peer must say.
FORGED=(
	"real|(mount namespace [0-9]+ is|its init \(pidfd inode [0-9]+\) is the one) already served"
	"real-self|mount namespace [0-9]+ is already served and its init still runs"
	"pidfd-elsewhere|the (mnt|user) namespace sent is not the one of the process behind the pidfd"
	"own|user namespace [0-9]+ is not this pod's"
	"own-pid1|user namespace [0-9]+ is not this pod's"
	"own-nouser|the mnt namespace is owned by user namespace [0-9]+, not [0-9]+"
	"own-net|the net namespace is owned by user namespace [0-9]+, not [0-9]+ nor the node's"
	"file-as-mnt|the mnt fd is not a namespace"
	"netns-as-mnt|the mnt fd is a namespace of another type"
	"eventfd-as-pidfd|the pidfd fd is not a pidfd"
	"pidfd-as-user|the user fd is not a namespace"
	"socket-as-pid|the pid fd is not a namespace"
	"no-pidfd|no pidfd of the init"
	"garbage|bad HELLO"
	"silent|no HELLO from the init on /hostile/fake.sock within the handshake timeout"
)

# A guest process serves a fake init's socket and answers each connection
# with a forged HELLO: the guest's real namespaces (with PID 1's pidfd, or
# its own), namespaces of its own (unshare -Urm), fds of the wrong type
# under a tag, junk, silence. Every one is refused with its reason, within
# the deadlines; nothing is mounted in the OS's namespace or in the
# guest's own; the peer's run-dir and the victims stay as they were.
t_forged_hello() {
	local before after entry variant want rc t0 ms n=0
	pod_up
	before=$(victims; peer_files; overlays; awk '{print $1, $5}' "/proc/$(pod_os_pid)/mountinfo")
	echo real >"$POD_DIR/hostile/variant"
	# From outside the chroot: a chrooted process may not make a user
	# namespace (unshare(2), EPERM), a process that left it may.
	guest_bg hostile escape -- hostile fake-init -s /hostile/fake.sock -l /hostile/fake.log -v /hostile/variant real
	wait_for 5 test -S "$POD_DIR/hostile/fake.sock" || fail "the fake init does not listen"
	for entry in "${FORGED[@]}"; do
		variant=${entry%%|*} want=${entry#*|} n=$((n + 1))
		echo "$variant" >"$POD_DIR/hostile/variant"
		t0=$(now_ms)
		rc=$(second_peer /hostile/fake.sock "peer-$variant.log")
		ms=$(($(now_ms) - t0))
		echo "== $variant: exit $rc in $ms ms"
		cat "peer-$variant.log"
		assert_eq "$rc" 1 "exit status of the peer given '$variant'"
		assert_file_has_content "peer-$variant.log" "$want"
		assert_file_lacks_content "peer-$variant.log" 'step [0-9]/7'
		# What the fake init heard back: the refusal itself, or the
		# hang-up of a peer that got no HELLO it could read.
		wait_for 5 grep -qE "^conn $n $variant: (ABORT|EOF)" "$POD_DIR/hostile/fake.log" ||
			{ cat "$POD_DIR/hostile/fake.log"; fail "the fake init did not see the peer leave ($variant)"; }
		assert_no_sanitizer_report "peer-$variant.log"
	done
	cat "$POD_DIR/hostile/fake.log"
	# The ABORT carries the reason to the init, as the log says it.
	assert_file_has_content "$POD_DIR/hostile/fake.log" "^conn 1 real: ABORT: HELLO: (mount namespace|its init)"
	# Nothing attached into the namespaces the guest made.
	assert_file_lacks_content "$POD_DIR/hostile/fake.log" 'NEW MOUNT|REMOUNTED'
	[ "$(grep -c 'my mounts: before=[0-9]* new=0$' "$POD_DIR/hostile/fake.log")" = 3 ] ||
		fail "the fake init did not check its own mounts three times"
	after=$(victims; peer_files; overlays; awk '{print $1, $5}' "/proc/$(pod_os_pid)/mountinfo")
	assert_eq "$after" "$before" "victims, the run-dir, the OS's mounts after the forged HELLOs"
	assert_eq "$(overlays)" 1 "overlays in the OS's mount namespace"
	assert_peer_files_sane
	status -q || fail "the pod is not ready any more"
}


# A socket appears at the shared path (made on the host: the guest cannot
# reach it) while the init the peer serves runs: the peer logs it and does
# not even connect, each time.
t_no_connect_while_served() {
	local n0 pid
	pod_up
	n0=$(grep -c 'a socket appeared at' "$POD_PEER_LOG" || true)
	"$HOSTILE" fake-init -s "$POD_SHARED/stint.sock" -l "$TEST_TMP/listener.log" real &
	pid=$!
	defer "kill $pid; rm -f '$POD_SHARED/stint.sock' '$POD_SHARED/moved.sock'"
	wait_for 10 count_ge "$POD_PEER_LOG" 'a socket appeared at' $((n0 + 1)) ||
		{ pod_logs; fail "the peer did not notice the socket"; }
	# Once more, renamed in: the second event must be refused the same way.
	mv "$POD_SHARED/stint.sock" "$POD_SHARED/moved.sock"
	mv "$POD_SHARED/moved.sock" "$POD_SHARED/stint.sock"
	wait_for 10 count_ge "$POD_PEER_LOG" 'a socket appeared at' $((n0 + 2)) ||
		{ pod_logs; fail "the peer did not notice the renamed socket"; }
	grep 'a socket appeared at' "$POD_PEER_LOG"
	assert_file_has_content "$POD_PEER_LOG" "a socket appeared at $SOCK while the init served \\(pid [0-9]+\\) still runs: not connecting"
	cat "$TEST_TMP/listener.log"
	assert_file_lacks_content "$TEST_TMP/listener.log" 'a peer connected'
	status -q || fail "not ready any more"
}

# Guest processes that are not the OS's init flood the notify socket:
# READY/STOPPING/STATUS from them change nothing, oversized datagrams are
# dropped, the peer's log does not grow per datagram, its state file is not
# rewritten at all, and `stint-peer status` answers within 1 s meanwhile.
t_notify_flood() {
	local before counter lines0 lines1 i out
	pod_up
	before=$(fingerprint "$PEER_RUN/state")
	lines0=$(wc -l <"$POD_PEER_LOG")
	rm -f counter.ready
	"$HOSTILE" count-renames "$PEER_RUN" state counter.ready >renames.out &
	counter=$!
	defer "kill $counter"
	wait_for 5 test -e counter.ready || fail "the counter did not start"
	# A flood that lasts until the probes below are done.
	guest rm -f /run/flood.stop /run/flood.out
	guest_bg hostile flood -n 100000000 -u /run/flood.stop -o /run/flood.out -s "$NOTIFY_TARGET" \
		'READY=1\nSTOPPING=1\nSTATUS=pwned by a guest process'
	wait_for 10 grep -q "ignoring datagrams from processes other than the OS's init" "$POD_PEER_LOG" ||
		fail "the flood did not reach the peer"
	# The probe, meanwhile: timeout(1) in the sidecar, so runc's own
	# start-up is not counted.
	for i in 1 2 3 4 5; do
		out=$(pod_peer_exec /bin/sh -c 'timeout 1 /usr/bin/stint-peer status; echo "rc=$?"' 2>&1)
		echo "status $i: $out"
		[[ $out == *"rc=0"* ]] || fail "stint-peer status did not answer 'ready' within 1 s during the flood: $out"
	done
	guest touch /run/flood.stop
	wait_for 10 eval 'guest test -s /run/flood.out' || fail "the flood did not end"
	guest cat /run/flood.out >flood.out
	echo "measured: $(cat flood.out), meanwhile 5 status probes answered within 1 s"
	guest hostile flood -n 2000 -b 65536 -s "$NOTIFY_TARGET" 'STOPPING=1' >>flood.out 2>&1
	guest hostile flood -n 2000 -b 4097 -s "$NOTIFY_TARGET" 'STOPPING=1' >>flood.out 2>&1
	cat flood.out
	assert_file_has_content flood.out '^flood: [0-9]{4,} datagrams of 52 bytes sent, 0 failed'
	# Every datagram was read before the counts are taken.
	wait_for 10 eval '[ "$(notify_queue)" = 0 ]' ||
		{ nsenter -t "$(_pod_pid "$POD_PEER_ID")" -n ss -xaH; fail "the notify socket is not drained: '$(notify_queue)'"; }
	kill "$counter"
	wait "$counter" || true
	cat renames.out
	assert_eq "$(cat renames.out)" "renames=0 writes=0" "state file writes caused by the flood"
	assert_eq "$(fingerprint "$PEER_RUN/state")" "$before" "the state file"
	out=$(status 2>&1) || fail "not ready after the flood: $out"
	assert_eq "$out" "ready: ready" "status after the flood"
	# Said once each, whatever the number of datagrams.
	assert_eq "$(grep -c "ignoring datagrams from processes other than the OS's init" "$POD_PEER_LOG")" 1 \
		"warnings about other senders"
	assert_eq "$(grep -c 'ignoring datagrams of more than 4096 bytes' "$POD_PEER_LOG")" 1 \
		"warnings about oversized datagrams"
	lines1=$(wc -l <"$POD_PEER_LOG")
	tail -n 20 "$POD_PEER_LOG"
	[ $((lines1 - lines0)) -le 10 ] ||
		fail "the peer's log grew by $((lines1 - lines0)) lines for the flood of a guest"
	assert_no_sanitizer_report "$POD_PEER_LOG"
}

# The guest makes a user and a mount namespace of its own (root there)
# and tries to make every read-only mount it can see writable, or to
# unmount it (which would uncover what a mask hides): the kernel keeps
# mounts the peer placed locked, as it does the runtime's. And the image,
# the read-only lower, stays as it was.
t_readonly_stays() {
	local image0 out
	pod_up
	image0=$(cd "$IMAGE" && find . -printf '%p %y %s %m\n' | sort | sha256sum)
	out=$(guest hostile escape -- /bin/sh -c \
		'hostile remount-rw $(awk "\$6 ~ /^ro/ {print \$5}" /proc/self/mountinfo); echo "exit $?"' 2>&1)
	echo "$out"
	[[ $out == *"exit 0"* ]] || fail "a read-only mount became writable or went away"
	[[ $out == *"/run/host/notify: remount read-write refused"* ]] || fail "the notify directory was not tried"
	[[ $out == *"/sys: remount read-write refused"* ]] || fail "/sys was not tried"
	assert_eq "$(cd "$IMAGE" && find . -printf '%p %y %s %m\n' | sort | sha256sum)" "$image0" "the image"
	out=$(guest /bin/sh -c 'echo x >/run/host/notify/x' 2>&1) && fail "the notify directory is writable"
	[[ $out == *"Read-only file system"* ]] || fail "writing into the notify directory: $out"
}

# What the guest plants in its own root persists on the PV, so the next
# prepare meets it: /etc/machine-id as a FIFO (it would hang every boot),
# a device node (the overlay is nodev; the loop device's file is a
# victim), a symlink out of the root, /etc itself a symlink out of the
# root, and the notify target's parent a symlink. Each time the OS
# container restarts, the peer prepares within its deadline, leaves the
# guest's thing alone and writes nowhere else; the OS boots again.
# MACHINE_ID_PLANTS: what to plant | what the peer must say about it.
MACHINE_ID_PLANTS=(
	"hostile plant fifo /etc/machine-id; hostile plant symlink /run/host ../../../victim-dir|/etc/machine-id in the new root is not a regular file"
	"hostile plant chr /etc/machine-id 1:3|/etc/machine-id in the new root is not a regular file"
	"hostile plant blk /etc/machine-id $LOOP_MAJMIN|/etc/machine-id in the new root is not a regular file"
	"hostile plant symlink /etc/machine-id ../../../victim-os|/etc/machine-id in the new root is not a regular file"
	"mv /etc /etc.real; ln -s /victim-dir /etc|/etc in the new root is a symlink or not a directory: not writing one"
)

# restart_os: the OS container's PID 1 killed, the container started
# again from its image (the kubelet's restart); wait for the handoff.
restart_os() {
	local n
	n=$(grep -c 'step 6/7 switch: READY' "$POD_PEER_LOG" || true)
	_pod_runc kill "$POD_OS_ID" KILL
	wait_for 10 eval '! _pod_running "$POD_OS_ID"' || fail "the OS container did not stop"
	pod_restart_os
	wait_for 15 count_ge "$POD_PEER_LOG" 'step 6/7 switch: READY' $((n + 1)) ||
		{ pod_logs; fail "the peer did not prepare the restarted OS container within 15 s"; }
}

t_plants_across_restarts() {
	local entry plant want before n
	pod_up
	before=$(victims)
	for entry in "${MACHINE_ID_PLANTS[@]}"; do
		plant=${entry%%|*} want=${entry#*|}
		echo "== $plant"
		guest /bin/sh -c "$plant" || fail "could not plant: $plant"
		n=$(grep -cE -- "$want" "$POD_PEER_LOG" || true)
		restart_os
		count_ge "$POD_PEER_LOG" "$want" $((n + 1)) || { pod_logs; fail "the peer did not say: $want"; }
		assert_eq "$(victims)" "$before" "victims after: $plant"
		assert_eq "$(overlays)" 1 "overlays after: $plant"
		# The guest's thing is still there, untouched.
		case $plant in
		*"fifo /etc"*) [ -p "$POD_PV/upper/etc/machine-id" ] || fail "the FIFO was replaced" ;;
		*"chr /etc"* | *"blk /etc"*) [ -c "$POD_PV/upper/etc/machine-id" ] || [ -b "$POD_PV/upper/etc/machine-id" ] ||
			fail "the device node was replaced" ;;
		*"symlink /etc/machine-id"*) [ -L "$POD_PV/upper/etc/machine-id" ] || fail "the symlink was replaced" ;;
		*"ln -s"*) [ -L "$POD_PV/upper/etc" ] || fail "/etc was replaced" ;;
		esac
		case $plant in
		*"ln -s"*) # no inittab: busybox init cannot boot the demo; the handoff is what counts
			wait_for 10 grep -q 'exec /sbin/init' "$POD_OS_LOG" || { pod_logs; fail "stint did not exec the init"; } ;;
		*) wait_for 20 booted || { pod_logs; fail "the OS did not boot after: $plant"; } ;;
		esac
	done
	# The pod recovers: /etc and a regular machine-id back, one more
	# restart, a new machine-id written, booted and ready.
	guest /bin/sh -c 'rm /etc && mv /etc.real /etc && rm -f /etc/machine-id'
	restart_os
	wait_for 20 booted || { pod_logs; fail "the OS did not boot again"; }
	wait_for 10 status -q || { pod_logs; fail "not ready after the recovery"; }
	[ -f "$POD_PV/upper/etc/machine-id" ] && [ "$(wc -c <"$POD_PV/upper/etc/machine-id")" = 33 ] ||
		fail "no new machine-id"
	assert_eq "$(victims)" "$before" "victims after the recovery"
	assert_peer_files_sane
	assert_no_sanitizer_report "$POD_PEER_LOG"
}

# SIGTERM ends the serving peer (then=wait, after READY) within 1 s.
t_sigterm_serving() {
	pod_up
	assert_term_within_1s "serving the booted OS"
	_pod_running "$POD_OS_ID" || fail "the OS container ended with the peer"
}

for mode in ${HOSTILE_MODES:-pivot chroot}; do
	hpod "guest-$mode" "$mode" --peer "${PEER_ARGS[@]}"
	hrun "$mode: the pod boots (busybox OS, Kubernetes' default capabilities)" t_boot
	hrun "$mode: an escaped guest finds no shared dir, PV or run-dir; its plants reach nothing" t_escape_and_plant
	hrun "$mode: forged HELLOs from a guest's fake init are all refused, nothing mounted" t_forged_hello
	hrun "$mode: a socket at the shared path while the served init lives: no connection" t_no_connect_while_served
	hrun "$mode: notify flood from guest processes: ignored, no state writes, status answers" t_notify_flood
	hrun "$mode: the guest in its own namespaces cannot make read-only mounts writable" t_readonly_stays
	hrun "$mode: FIFO, device, symlink at /etc/machine-id and /etc across restarts; the pod recovers" t_plants_across_restarts
	hrun "$mode: SIGTERM ends the serving peer within 1 s" t_sigterm_serving
	pod_delete
done
