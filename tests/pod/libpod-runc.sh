# A two-container "pod" under runc, the runtime Kubernetes drives through
# containerd. Source after tests/lib/libtest.sh and tests/lib/rootfs.sh.
#
#   pod_new NAME [PV_DIR]        state under $TEST_TMP/pod-NAME; PV kept across restarts
#   pod_os IMAGE_DIR CAPS ARGS.. the OS container: stint as PID 1 (ARGS = its argv)
#   pod_peer ARGS...             the privileged peer container (ARGS = its argv)
#   pod_start                    start the OS container, then the peer
#   pod_exec ARGS...             runc exec in the OS container
#   pod_peer_exec ARGS...        runc exec in the peer container
#   pod_kill SIG / pod_wait_os SECS   signal PID 1 / wait for it to exit (sets POD_OS_RC)
#   pod_delete                   remove both containers and the container layer (PV stays)
#
# cgroups: the harness follows what the test sees at /sys/fs/cgroup
# (POD_CGROUP_MODE: v2 when it is a cgroup2 mount, as on a stock Debian 12
# host or inside the v2 view of tests/pod/test-pod-cgroup2.sh; v1 otherwise,
# as on this hybrid host). POD_CGROUP_PATH is the mount systemd writes
# (the peer's cgroup-path): /sys/fs/cgroup on v2, /sys/fs/cgroup/systemd on
# v1. POD_MEMORY_LIMIT / POD_PIDS_LIMIT give the OS container runc's
# linux.resources (memory in bytes, pids). POD_CGROUP_RW=1 gives the OS
# container a read-write cgroup mount, as containerd's runtime option
# cgroup_writable or CRI-O's annotation cgroup2-mount-hierarchy-rw.crio.io
# do: with a user namespace and a cgroup namespace on v2, runc then hands
# the container's cgroup to the pod's root (delegation).
#
# User-namespaced pods (Kubernetes' hostUsers: false): POD_USERNS=K puts
# both containers in one user namespace that maps ids 0-65535 to K*2^20 and
# up (a range per pod, as the kubelet allocates them). As containerd 2 with
# runc 1.2 does, the image layer, the emptyDir and the PV reach the
# containers through idmapped mounts with that mapping (made here by
# tests/helpers/idmap-mount.c: runc 1.1 cannot), so files keep their ids on
# disk (0 = the pod's root) whatever range the pod gets. The peer is then
# privileged only inside the pod's user namespace (docs/user-namespaces.md).
#
# The OS container is what a Kubernetes pod gets by default: `runc spec`'s
# masked and read-only paths, a read-only /sys and cgroup mount, no
# privileges; capabilities = the containerd/Docker default set ("k8s"),
# "none", or an explicit comma list. Its root is an overlay of the image and
# a fresh container layer, like containerd's overlay snapshotter, so a pod
# restart starts from the image again and only the PV persists.
# Nothing is loosened for systemd here: what systemd needs must come from
# the peer (docs/os-boot.md).
#
# The peer is privileged (every capability but CAP_SYS_RESOURCE, which this
# machine refuses; no masked paths; /sys rw); it joins the OS container's
# network, IPC and UTS namespaces like a pod's containers do and has its own
# PID and mount namespaces. Both are in the initial user namespace, so the
# peer can setns() into the OS container's mount namespace with the fds stint
# passes. Both see the "emptyDir" $POD_SHARED at $POD_SHARED_PATH; the peer
# also sees the PV at /pv.
#
# Every container is deleted (runc delete -f) and every mount undone when the
# test file exits, however it exits (defer).

POD_SHARED_PATH=/run/stint
POD_RUNC_ROOT=$TEST_TMP/runc
# Whatever a test leaves behind goes when the file exits, also when the
# file is killed by tests/run.sh's timeout (bash skips the EXIT trap on a
# fatal signal unless the signal is trapped).
defer pod_delete_all
trap 'exit 143' TERM INT HUP
# Every capability runc 1.1 knows but SYS_RESOURCE (refused here, LAB-FACTS).
POD_ALL_CAPS="CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
	LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER
	SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE
	SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE
	MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE"
POD_K8S_CAPS="CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE"
: "${POD_TIMEOUT:=30}"

# pod_cgroup_mode: v2 when /sys/fs/cgroup (as this process sees it) is a
# cgroup2 mount, else v1 (a v1 or hybrid layout). runc decides the same way.
pod_cgroup_mode() {
	if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then echo v2; else echo v1; fi
}
POD_CGROUP_MODE=$(pod_cgroup_mode)
if [ "$POD_CGROUP_MODE" = v2 ]; then
	POD_CGROUP_PATH=/sys/fs/cgroup
else
	POD_CGROUP_PATH=/sys/fs/cgroup/systemd
fi
# The parent of this test file's containers' cgroups: its own (test files
# run two at a time, checkouts side by side): a parent shared by all would
# be removed by one file's cleanup while runc makes a container under it
# for another ("mkdir .../stint-pods/ID: no such file or directory").
POD_CGROUP_PARENT=stint-pods.${TEST_TMP##*/stint-test.}
# pod_cgroup_dir ID: the host directory of container ID's cgroup (on v1 the
# name=systemd one, which every runc container gets).
pod_cgroup_dir() { echo "$POD_CGROUP_PATH/$POD_CGROUP_PARENT/$1"; }

# Every pod test file starts with this: without runc it has nothing to run
# (a skip, which STINT_MUST_WORK=1 turns into a failure).
require_runc() {
	command -v runc >/dev/null && return 0
	run_test "runc pod" skip "runc is not installed (apt-get install runc)"
	exit 0
}

_pod_runc() { timeout "$POD_TIMEOUT" runc --root "$POD_RUNC_ROOT" "$@"; }

# pod_use NAME [PV_DIR]: point the POD_* variables at pod NAME, touching
# nothing (a test that drives two pods switches between them with it).
pod_use() {
	POD_NAME=$1
	POD_DIR=$TEST_TMP/pod-$1
	POD_SHARED=$POD_DIR/shared
	POD_PV=${2:-$POD_DIR/pv}
	POD_OS_ID=stint-$1-os-$$
	POD_PEER_ID=stint-$1-peer-$$
	POD_CGROUP=/$POD_CGROUP_PARENT/$POD_OS_ID
	POD_TERMINAL=${POD_TERMINAL:-0}
	POD_OS_LOG=$POD_DIR/os.log
	POD_PEER_LOG=$POD_DIR/peer.log
	export POD_NAME POD_DIR POD_SHARED POD_PV POD_RUNC_ROOT POD_OS_ID POD_PEER_ID POD_CGROUP
}

# pod_new NAME [PV_DIR]: set up the pod's directories; a given PV_DIR is
# reused as is (that is how a test restarts "the same pod" with its data).
pod_new() {
	pod_use "$@"
	POD_OS_RC=
	_pod_userns_stop
	# A new pod gets a new emptyDir, and the peer a fresh container layer
	# (here: its /run): a state file left by the previous pod must not
	# answer the new pod's readiness probe.
	rm -rf "$POD_SHARED" "$POD_DIR/peer/rootfs/run"
	[ ! -d "$POD_DIR/peer/rootfs" ] || mkdir -p "$POD_DIR/peer/rootfs/run"
	mkdir -p "$POD_DIR" "$POD_SHARED" "$POD_PV" "$POD_RUNC_ROOT"
	export POD_NAME POD_DIR POD_SHARED POD_PV POD_RUNC_ROOT POD_OS_ID POD_PEER_ID POD_CGROUP
	POD_USERNS_PATH=
	[ -z "${POD_USERNS:-}" ] || _pod_userns_start
	# Clean up when the test ends (run_test runs a test's defers when its
	# subshell exits), also when the subshell is killed by a signal.
	defer pod_delete_all
	[ "$BASH_SUBSHELL" -eq 0 ] || trap 'exit 143' TERM INT HUP
}

# The pod's user namespace is held by a process of ours (what a pause
# container does for containerd): `unshare --user` with no mapping, to
# which this root process writes the pod's range. Both containers join it
# by path. Its pid is in $POD_DIR/userns.pid.
_pod_userns_start() {
	local pid self
	POD_USERNS_BASE=$((POD_USERNS * 1048576))
	# runc sets up the root from inside the user namespace: the pod's
	# root must be able to reach the bundle (mktemp made the dir 0700),
	# as containerd's state directories are 0711.
	chmod 0711 "$TEST_TMP"
	self=$(readlink /proc/self/ns/user)
	unshare --user -- sleep infinity </dev/null >/dev/null 2>&1 &
	pid=$!
	echo "$pid" >"$POD_DIR/userns.pid"
	wait_for 5 eval '[ "$(readlink /proc/'"$pid"'/ns/user)" != "'"$self"'" ]' ||
		fail "the pod's user namespace holder ($pid) did not unshare"
	echo "0 $POD_USERNS_BASE 65536" >"/proc/$pid/uid_map" || fail "write /proc/$pid/uid_map"
	echo "0 $POD_USERNS_BASE 65536" >"/proc/$pid/gid_map" || fail "write /proc/$pid/gid_map"
	POD_USERNS_PATH=/proc/$pid/ns/user
	export POD_USERNS_BASE POD_USERNS_PATH
	_pod_idmap "$POD_SHARED" shared
	_pod_idmap "$POD_PV" pv
}

_pod_userns_stop() {
	local pid m
	for m in "$POD_DIR"/idmap/*; do
		mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	pid=$(cat "$POD_DIR/userns.pid" 2>/dev/null) || return 0
	rm -f "$POD_DIR/userns.pid"
	kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	return 0
}

# _pod_idmap SOURCE NAME: SOURCE idmapped with the pod's mapping at
# $POD_DIR/idmap/NAME (what the containers then bind).
_pod_idmap() {
	local src=$1 dst=$POD_DIR/idmap/$2 tool=$STINT_HELPER_DIR/idmap-mount
	[ -x "$tool" ] || fail "$tool missing: make test-helpers"
	mountpoint -q "$dst" 2>/dev/null && umount "$dst"
	mkdir -p "$dst"
	"$tool" "$POD_USERNS_PATH" "$src" "$dst" || fail "idmapped mount of $src failed"
}

# _pod_src PATH NAME: the source a container binds for PATH: the idmapped
# mount in a user-namespaced pod, PATH itself otherwise.
_pod_src() {
	if [ -n "${POD_USERNS_PATH:-}" ]; then echo "$POD_DIR/idmap/$2"; else echo "$1"; fi
}

# _pod_userns_json DIR: make DIR's bundle join the pod's user namespace.
_pod_userns_json() {
	[ -n "${POD_USERNS_PATH:-}" ] || return 0
	_pod_jq "$1" '
		.linux.namespaces |= map(select(.type != "user")) + [{type: "user", path: $ns}]
		| .linux.uidMappings = [{containerID: 0, hostID: $base, size: 65536}]
		| .linux.gidMappings = [{containerID: 0, hostID: $base, size: 65536}]' \
		--arg ns "$POD_USERNS_PATH" --argjson base "$POD_USERNS_BASE"
}

# _pod_chown PATH...: in a user-namespaced pod, files this root process put
# into a container's root belong to the pod's root (0 in the pod).
_pod_chown() {
	[ -z "${POD_USERNS_PATH:-}" ] || chown -h "$POD_USERNS_BASE:$POD_USERNS_BASE" "$@"
}

# _pod_spec DIR: a fresh `runc spec` in DIR.
_pod_spec() {
	rm -f "$1/config.json"
	(cd "$1" && runc spec) || fail "runc spec in $1 failed"
}

# _pod_jq DIR FILTER [JQ ARGS]: edit DIR/config.json in place.
_pod_jq() {
	local dir=$1 filter=$2
	shift 2
	jq "$@" "$filter" "$dir/config.json" >"$dir/config.json.new" || fail "jq '$filter' failed"
	mv "$dir/config.json.new" "$dir/config.json"
}

_pod_caps_json() {
	case $1 in
	k8s) printf '%s\n' $POD_K8S_CAPS | sed 's/^/CAP_/' | jq -R . | jq -sc . ;;
	none) echo '[]' ;;
	*) tr ',' '\n' <<<"$1" | tr a-z A-Z | sed 's/^\(CAP_\)\?/CAP_/' | jq -R . | jq -sc . ;;
	esac
}

# pod_os IMAGE_DIR CAPS ARGS...: write the OS container's bundle. Its own
# cgroup namespace unless POD_CGROUPNS=0 (on cgroup v2 `runc spec` lists one
# already: exactly one is kept, runc refuses a duplicate). The root is
# an overlay: IMAGE_DIR below a fresh container layer (with POD_OS_SNAPSHOT=1:
# IMAGE_DIR itself, a container root made by an image tool). $STINT_STATIC (or the
# dev build with its libraries) is installed as /usr/bin/stint in that layer,
# as an image built FROM the OS image would add it.
pod_os() {
	local image=$1 caps=$2 b=$POD_DIR/os
	shift 2
	mkdir -p "$b"
	_pod_os_rootfs "$image"
	_pod_spec "$b"
	_pod_jq "$b" '
		.root = {path: "rootfs", readonly: false}
		| .process.args = $args
		| .process.terminal = ($term == "1")
		| .process.capabilities = {bounding: $caps, effective: $caps, permitted: $caps, ambient: []}
		| .process.noNewPrivileges = false
		| .hostname = $name
		| .linux.cgroupsPath = $cg
		| .linux.namespaces |= map(select(.type != "cgroup")) + (if $cgns == "1" then [{type: "cgroup"}] else [] end)
		| if $cgrw == "1" then .mounts |= map(if .destination == "/sys/fs/cgroup"
			then .options |= map(select(. != "ro")) + ["rw"] else . end) else . end
		| if $mem != "" then .linux.resources.memory = {limit: ($mem | tonumber)} else . end
		| if $pids != "" then .linux.resources.pids = {limit: ($pids | tonumber)} else . end
		| .mounts += [{destination: $shp, type: "bind", source: $sh, options: ["rbind", "rw"]}]' \
		--argjson args "$(jq -nc '$ARGS.positional' --args -- "$@")" \
		--argjson caps "$(_pod_caps_json "$caps")" \
		--arg term "$POD_TERMINAL" --arg cgns "${POD_CGROUPNS:-1}" --arg name "$POD_NAME" --arg cg "$POD_CGROUP" \
		--arg cgrw "${POD_CGROUP_RW:-0}" --arg mem "${POD_MEMORY_LIMIT:-}" --arg pids "${POD_PIDS_LIMIT:-}" \
		--arg shp "$POD_SHARED_PATH" --arg sh "$(_pod_src "$POD_SHARED" shared)"
	_pod_userns_json "$b"
	_pod_delegate_hook "$b"
}

# _pod_delegate_hook BUNDLE: with POD_CGROUP_RW=1 in a user-namespaced pod
# on cgroup v2 (with a cgroup namespace), hand the container's cgroup to the
# pod's root as runc 1.2 does by itself (runc's cgroup_delegation tests):
# the directory and the files /sys/kernel/cgroup/delegate lists. runc 1.1
# does not, so an OCI createRuntime hook (run by runc once the cgroup exists,
# before the container's process starts) does it here.
_pod_delegate_hook() {
	local b=$1 hook=$1/delegate-hook
	[ "${POD_CGROUP_RW:-0}" = 1 ] && [ -n "${POD_USERNS_PATH:-}" ] && [ "$POD_CGROUP_MODE" = v2 ] &&
		[ "${POD_CGROUPNS:-1}" = 1 ] || return 0
	cat >"$hook" <<HOOK
#!/bin/bash
# The container's state (JSON) on stdin; its pid's cgroup is its own.
set -eu
pid=\$(jq -r .pid)
dir=/sys/fs/cgroup\$(sed -n 's/^0:://p' "/proc/\$pid/cgroup")
chown $POD_USERNS_BASE:$POD_USERNS_BASE "\$dir"
while read -r f; do
	[ ! -e "\$dir/\$f" ] || chown $POD_USERNS_BASE:$POD_USERNS_BASE "\$dir/\$f"
done </sys/kernel/cgroup/delegate
HOOK
	chmod 755 "$hook"
	_pod_jq "$b" '.hooks.createRuntime = [{path: $hook}]' --arg hook "$hook"
}

_pod_os_rootfs() {
	local image=$1 b=$POD_DIR/os bin
	POD_OS_IMAGE=$image
	mountpoint -q "$b/rootfs" && umount "$b/rootfs"
	rm -rf "$b/layer" "$b/layer-work"
	mkdir -p "$b/rootfs" "$b/layer" "$b/layer-work"
	if [ "${POD_OS_SNAPSHOT:-0}" = 1 ]; then
		# IMAGE is a container's writable root already (`buildah mount` of
		# a working container: image layers plus a container layer, what
		# containerd's snapshotter gives a runtime): used as it is.
		mount --bind "$image" "$b/rootfs" || fail "bind $image on $b/rootfs failed"
	else
		# A user-namespaced pod sees the image through an idmapped mount (its
		# files owned by the pod's ids), as containerd 2's overlay snapshotter
		# gives it idmapped lower layers.
		if [ -n "${POD_USERNS_PATH:-}" ]; then
			_pod_idmap "$image" image
			image=$POD_DIR/idmap/image
		fi
		mount -t overlay overlay -o "lowerdir=$image,upperdir=$b/layer,workdir=$b/layer-work" "$b/rootfs" ||
			fail "mount overlay lowerdir=$image upperdir=$b/layer on $b/rootfs failed"
	fi
	bin=$STINT_STATIC
	[ -x "$bin" ] || bin=$STINT
	[ -x "$bin" ] || fail "no stint binary ($STINT_STATIC or $STINT): run make"
	install_binary "$b/rootfs" "$bin" /usr/bin/stint
	mkdir -p "$b/rootfs$POD_SHARED_PATH" "$b/rootfs/.stint/root"
	_pod_chown "$b/rootfs/usr/bin/stint" "$b/rootfs$POD_SHARED_PATH" "$b/rootfs/.stint" "$b/rootfs/.stint/root"
}

# pod_peer ARGS...: write the peer container's bundle (a busybox root with
# stint-peer) running ARGS.
pod_peer() {
	local b=$POD_DIR/peer bin caps
	mkdir -p "$b"
	if [ ! -e "$b/rootfs/bin/busybox" ]; then
		make_busybox_rootfs "$b/rootfs"
		mkdir -p "$b/rootfs/pv" "$b/rootfs$POD_SHARED_PATH"
	fi
	bin=$STINT_PEER_STATIC
	[ -x "$bin" ] || bin=$STINT_PEER
	if [ -x "$bin" ]; then
		install_binary "$b/rootfs" "$bin" /usr/bin/stint-peer
	else
		echo "pod_peer: no stint-peer binary ($STINT_PEER_STATIC or $STINT_PEER)" >&2
	fi
	# In a user-namespaced pod the peer's root belongs to the pod's root.
	[ -z "${POD_USERNS_PATH:-}" ] || chown -hR "$POD_USERNS_BASE:$POD_USERNS_BASE" "$b/rootfs"
	caps=$(printf 'CAP_%s\n' $POD_ALL_CAPS | jq -R . | jq -sc .)
	_pod_spec "$b"
	_pod_jq "$b" '
		.root = {path: "rootfs", readonly: false}
		| .process.args = $args
		| .process.terminal = false
		| .process.capabilities = {bounding: $caps, effective: $caps, permitted: $caps, inheritable: $caps, ambient: $caps}
		| .process.noNewPrivileges = false
		| .hostname = $name
		| .linux.maskedPaths = [] | .linux.readonlyPaths = []
		| .linux.cgroupsPath = $cg
		| .mounts |= map(if .destination == "/sys" or .destination == "/sys/fs/cgroup"
			then .options |= map(select(. != "ro")) + ["rw"] else . end)
		| .mounts += [{destination: $shp, type: "bind", source: $sh, options: ["rbind", "rw"]},
			{destination: "/pv", type: "bind", source: $pv, options: ["rbind", "rw"]}]' \
		--argjson args "$(jq -nc '$ARGS.positional' --args -- "$@")" \
		--argjson caps "$caps" --arg cg "/$POD_CGROUP_PARENT/$POD_PEER_ID" --arg name "$POD_NAME" \
		--arg shp "$POD_SHARED_PATH" --arg sh "$(_pod_src "$POD_SHARED" shared)" --arg pv "$(_pod_src "$POD_PV" pv)"
	_pod_userns_json "$b"
}

# _pod_join_ns BUNDLE PID: make BUNDLE join PID's network, IPC and UTS
# namespaces (a pod shares them; containerd does it with the sandbox's).
# POD_SHARED_NS (default "network ipc uts") lets a test keep some apart.
_pod_join_ns() {
	_pod_jq "$1" '.linux.namespaces |= map(
		if (.type as $t | $shared | index($t))
		then .path = "/proc/\($pid)/ns/" + ({network: "net"}[.type] // .type) else . end)
		| if ($shared | index("uts")) then del(.hostname) else . end' --arg pid "$2" \
		--argjson shared "$(printf '%s\n' ${POD_SHARED_NS:-network ipc uts} | jq -R . | jq -sc .)"
}

# _pod_run ID BUNDLE LOG: `runc run` in the foreground, as a background job of
# this shell (so `wait` yields the container's exit status, like a shim).
# With POD_TERMINAL=1, script(1) gives runc a pty and runc gives the
# container its own: PID 1 gets a real terminal, as with `kubectl run -t`.
_pod_run() {
	local id=$1 bundle=$2 log=$3
	if [ "$(jq -r .process.terminal "$bundle/config.json")" = true ]; then
		script -q -e -f -c "runc --root '$POD_RUNC_ROOT' run --bundle '$bundle' '$id'" "$log" \
			</dev/null >/dev/null 2>&1 &
	else
		runc --root "$POD_RUNC_ROOT" run --bundle "$bundle" "$id" </dev/null >"$log" 2>&1 &
	fi
}

# pod_state ID: runc's status of a container (running, stopped, ...) or "none".
pod_state() {
	_pod_runc state "$1" 2>/dev/null | jq -r .status 2>/dev/null || echo none
}

_pod_running() { [ "$(pod_state "$1")" = running ]; }

# _pod_started ID JOB LOG: ID runs, or its runc job ended: then fine if the
# container ran (a short-lived PID 1), a failure if runc could not start it.
_pod_started() {
	_pod_running "$1" && return 0
	kill -0 "$2" 2>/dev/null && return 1
	! grep -q 'level=error' "$3" || fail "runc could not start $1: $(grep 'level=error' "$3")"
}

# pod_os_pid: host PID of the OS container's PID 1.
pod_os_pid() { _pod_pid "$POD_OS_ID"; }
_pod_pid() { _pod_runc state "$1" | jq -r .pid; }

# pod_start_os / pod_start_peer / pod_start: run the containers. The one
# started second joins the network, IPC and UTS namespaces of the one
# running (a pod's containers share them; containerd keeps them in a pause
# container). pod_start starts the OS container first; a test may start
# the peer first, as a sidecar listed first would be.
pod_start_os() {
	POD_OS_LOG=$POD_DIR/os.log
	if _pod_running "$POD_PEER_ID"; then
		_pod_join_ns "$POD_DIR/os" "$(_pod_pid "$POD_PEER_ID")"
	fi
	_pod_run "$POD_OS_ID" "$POD_DIR/os" "$POD_OS_LOG"
	POD_OS_JOB=$!
	wait_for "$POD_TIMEOUT" _pod_started "$POD_OS_ID" "$POD_OS_JOB" "$POD_OS_LOG" || {
		cat "$POD_OS_LOG" >&2
		fail "OS container $POD_OS_ID did not start"
	}
}

pod_start_peer() {
	POD_PEER_LOG=$POD_DIR/peer.log
	if _pod_running "$POD_OS_ID"; then
		_pod_join_ns "$POD_DIR/peer" "$(pod_os_pid)"
	fi
	_pod_run "$POD_PEER_ID" "$POD_DIR/peer" "$POD_PEER_LOG"
	POD_PEER_JOB=$!
}

pod_start() {
	pod_start_os
	pod_start_peer
}

# pod_restart_os: what the kubelet does when the OS container exited and
# the pod's restartPolicy says restart: delete that container only, make a
# fresh container layer from the image, start it again (joining the running
# peer's namespaces). The peer and the PV stay.
pod_restart_os() {
	_pod_runc delete -f "$POD_OS_ID" >/dev/null 2>&1 || true
	[ -z "${POD_OS_JOB:-}" ] || wait "$POD_OS_JOB" 2>/dev/null || true
	_pod_os_rootfs "$POD_OS_IMAGE"
	pod_start_os
}

pod_exec() { _pod_runc exec "$POD_OS_ID" "$@"; }
pod_peer_exec() { _pod_runc exec "$POD_PEER_ID" "$@"; }

# pod_kill SIG: signal the OS container's PID 1 (numbers for real-time
# signals: runc 1.1 refuses "RTMIN+3").
pod_kill() { _pod_runc kill "$POD_OS_ID" "$1"; }

# pod_wait_os SECS: wait for the OS container to exit; POD_OS_RC = its status.
pod_wait_os() {
	local secs=$1 i
	for ((i = 0; i < secs * 50; i++)); do
		if ! kill -0 "$POD_OS_JOB" 2>/dev/null; then
			POD_OS_RC=0
			wait "$POD_OS_JOB" || POD_OS_RC=$?
			return 0
		fi
		sleep 0.02
	done
	return 1
}

# pod_wait_peer SECS: wait for the peer container to exit; POD_PEER_RC = status.
pod_wait_peer() {
	local secs=$1 i
	for ((i = 0; i < secs * 50; i++)); do
		if ! kill -0 "$POD_PEER_JOB" 2>/dev/null; then
			POD_PEER_RC=0
			wait "$POD_PEER_JOB" || POD_PEER_RC=$?
			return 0
		fi
		sleep 0.02
	done
	return 1
}

# pod_delete: remove both containers and the container layer; keep the PV.
pod_delete() {
	local id
	for id in "$POD_PEER_ID" "$POD_OS_ID"; do
		_pod_runc delete -f "$id" >/dev/null 2>&1 || true
	done
	# The containers' runc jobs (a bare `wait` would also wait for the
	# user namespace holder, which runs until _pod_userns_stop).
	[ -z "${POD_OS_JOB:-}" ] || wait "$POD_OS_JOB" 2>/dev/null || true
	[ -z "${POD_PEER_JOB:-}" ] || wait "$POD_PEER_JOB" 2>/dev/null || true
	if mountpoint -q "$POD_DIR/os/rootfs"; then
		umount "$POD_DIR/os/rootfs" 2>/dev/null || umount -l "$POD_DIR/os/rootfs"
	fi
	# The peer's run-dir is an emptyDir of the pod: it goes with the pod.
	rm -rf "$POD_DIR/peer/rootfs/run/stint-peer"
	_pod_userns_stop
	rmdir "$POD_CGROUP_PATH/$POD_CGROUP_PARENT" 2>/dev/null || true
	return 0
}

# pod_delete_all: every container of this file's runc root, the
# containers' root overlays, the pods' cgroup parents.
pod_delete_all() {
	local id c m d
	for id in $(runc --root "$POD_RUNC_ROOT" list -q 2>/dev/null); do
		timeout 20 runc --root "$POD_RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
	done
	for m in "$TEST_TMP"/pod-*/os/rootfs; do
		mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	for d in "$TEST_TMP"/pod-*; do
		[ -d "$d" ] && POD_DIR=$d _pod_userns_stop
	done
	for c in /sys/fs/cgroup/*/"$POD_CGROUP_PARENT" /sys/fs/cgroup/"$POD_CGROUP_PARENT"; do
		rmdir "$c" 2>/dev/null || true
	done
}

# assert_switched pivot|chroot: the init took the new root, as the peer's
# log has it (the init's ACK). Not the OS's log: with a terminal, systemd
# flushes its console when it starts (TCIOFLUSH), and stint's last lines
# the harness had not read yet go with it on a busy machine.
assert_switched() {
	local how=pivoted
	[ "$1" = pivot ] || how=/.stint/root
	assert_file_has_content "$POD_PEER_LOG" "step 6/7 switch: READY \\($how\\) acknowledged by the init"
}

# pod_logs: both containers' output, for a failing test's log.
pod_logs() {
	echo "--- OS container ($POD_OS_ID):"
	cat "$POD_DIR/os.log" 2>/dev/null
	echo "--- peer container ($POD_PEER_ID):"
	cat "$POD_DIR/peer.log" 2>/dev/null
}

# pod_stop_like_kubelet GRACE [HOOK ARGS...]: stop the OS container the way
# the kubelet does (pkg/kubelet/kuberuntime killContainer): run the preStop
# exec hook HOOK in the container (if given) within the grace period, then
# SIGTERM to PID 1 (containerd: the image's STOPSIGNAL; the tests' images
# have none), wait for the rest of the grace, then SIGKILL. Sets
# POD_HOOK_RC (the hook's exit status, 124 = cut at the grace),
# POD_STOP_KILLED (1 when SIGKILL was needed), POD_OS_RC and POD_STOP_MS;
# the hook's output is in $POD_DIR/prestop.out.
pod_stop_like_kubelet() {
	local grace=$1 t0 left
	shift
	t0=$(date +%s%N)
	POD_HOOK_RC=0 POD_STOP_KILLED=0
	if [ $# -gt 0 ]; then
		timeout "$grace" runc --root "$POD_RUNC_ROOT" exec "$POD_OS_ID" "$@" >"$POD_DIR/prestop.out" 2>&1 ||
			POD_HOOK_RC=$?
	fi
	left=$((grace - ($(date +%s%N) - t0) / 1000000000))
	[ "$left" -ge 1 ] || left=1
	_pod_runc kill "$POD_OS_ID" TERM >/dev/null 2>&1 || true
	if ! pod_wait_os "$left"; then
		POD_STOP_KILLED=1
		_pod_runc kill "$POD_OS_ID" KILL >/dev/null 2>&1 || true
		pod_wait_os 10 || fail "the OS container survived SIGKILL"
	fi
	POD_STOP_MS=$((($(date +%s%N) - t0) / 1000000))
}
