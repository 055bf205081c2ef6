#!/usr/bin/env bash
# Carrying mounts at the scale of a big pod (issue 10): a test pod
# (tests/peer/libpod.sh) with 500 extra tmpfs mounts and 300 binds that
# show the persistent volume. Every tmpfs reaches the new root, in its
# place; no bind of the PV does, however many there are (the peer once
# stopped hiding them after 256 and carried the rest). How long it takes is
# `make bench`'s business (item 2), not this test's.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/peer/libpod.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }

NTMPFS=500
NPV=300

test_many_mounts() {
	local n_many n_pv
	pod_create big
	pod_probe big
	# Made by the pod's setup ($R = its root) before stint starts, as a
	# runtime mounts volumes: /many/N tmpfs, /pvmany/N binds of the PV.
	POD_EXTRA="mkdir -p \$(seq -f \"\$R/many/%g\" $NTMPFS) \$(seq -f \"\$R/pvmany/%g\" $NPV)
		for i in \$(seq $NTMPFS); do mount -t tmpfs -o size=16k tmpfs \$R/many/\$i; done
		for i in \$(seq $NPV); do mount --bind \$d/pv \$R/pvmany/\$i; done" \
		pod_start big none -s /shared/stint.sock -t 60 -- /bin/sh /vol/probe.sh
	wait_for 60 test -S "$POD_DIR/shared/stint.sock" || { cat "$POD_DIR/pod.log"; fail "no socket from the pod"; }
	timeout 60 "$STINT_PEER" -s "$POD_DIR/shared/stint.sock" prepare --state "$POD_DIR/pv" --mode pivot \
		--then exit 2>"$POD_DIR/peer.log" || { cat "$POD_DIR/peer.log" "$POD_DIR/pod.log"; fail "peer failed"; }
	wait_for 20 test -e "$POD_DIR/vol/out" || { cat "$POD_DIR/peer.log" "$POD_DIR/pod.log"; fail "probe did not run"; }
	grep 'step ' "$POD_DIR/peer.log"
	n_many=$(awk '$5 ~ "^/many/[0-9]+$" && / - tmpfs /' "$POD_DIR/vol/mountinfo" | wc -l)
	n_pv=$(awk '$5 ~ "^/pvmany/"' "$POD_DIR/vol/mountinfo" | wc -l)
	echo "in the new root: $n_many of $NTMPFS tmpfs mounts, $n_pv of $NPV binds of the PV"
	assert_eq "$n_many" "$NTMPFS" "tmpfs mounts carried"
	assert_eq "$n_pv" 0 "binds of the persistent volume carried"
	assert_eq "$(probe_value pv)" hidden
	assert_eq "$(grep -c 'not carrying /pvmany/.*persistent layer' "$POD_DIR/peer.log")" "$NPV" "binds left out"
	# Parents before children, each tmpfs at its own path (not stacked).
	assert_eq "$(awk '$5 ~ "^/many/"' "$POD_DIR/vol/mountinfo" | awk '{print $5}' | sort -u | wc -l)" "$NTMPFS"
	touch "$POD_DIR/vol/stop"
	assert_eq "$(pod_wait big 30)" 0 "pod exit status"
}

run_test "500 tmpfs mounts all carried, 300 binds of the PV all left out" test_many_mounts
