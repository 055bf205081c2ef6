#!/usr/bin/env bash
# The hostile-guest suite (issue 9): a guest, root in the OS container with
# Kubernetes' default capabilities, attacks the privileged peer for real, in
# the project's runc pods, in both switch modes. Each test boots a pod,
# attacks, and asserts that nothing the peer owns or can reach moved:
# victim files in the peer's container, the OS's old root, the PV and the
# host; the peer's own run-dir; the number of overlays in the OS's mount
# namespace; the pod itself, which must keep working and restart.
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

# A guest that leaves its chroot (chroot mode: the OS runs chrooted in the
# old root's /.stint/root) looks for what the peer and stint use, and plants
# junk at every such name it can reach. Nothing of it may reach the shared
# emptyDir, the peer's run-dir or a victim; the peer and the pod go on.
t_escape_and_plant() {
	local mode=$1 before after seen plants
	hpod "escape-$mode" "$mode" -- "${PEER_ARGS[@]}"
	echo "victim on the PV's root" >"$POD_PV/victim-pv"
	hpod_boot
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

run_test "pivot: an escaped guest finds no shared dir, PV or run-dir; its plants reach nothing" t_escape_and_plant pivot
run_test "chroot: an escaped guest finds no shared dir, PV or run-dir; its plants reach nothing" t_escape_and_plant chroot

# second_peer SOCK OUT [ARGS...]: a second `stint-peer prepare --then exit`
# in the sidecar, with the sidecar's own run-dir (so its trust record) but
# its own state file (the running peer's stays its own), against SOCK.
# Prints its exit status; its log goes to OUT.
second_peer() {
	local sock=$1 out=$2 rc=0
	shift 2
	pod_peer_exec /usr/bin/stint-peer -v -s "$sock" prepare --then exit --mode "$HMODE" --state /pv \
		--root /.stint/root --state-file /tmp/second.state --handshake-timeout 3 --prepare-timeout 5 \
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
	"own-nouser|the mount namespace is owned by user namespace [0-9]+, not [0-9]+"
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
	local mode=$1 before after entry variant want rc t0 ms n=0
	hpod "forged-$mode" "$mode" -- "${PEER_ARGS[@]}"
	echo "victim on the PV's root" >"$POD_PV/victim-pv"
	hpod_boot
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

run_test "pivot: forged HELLOs from a guest's fake init are all refused, nothing mounted" t_forged_hello pivot
run_test "chroot: forged HELLOs from a guest's fake init are all refused, nothing mounted" t_forged_hello chroot
