# A test "pod" made with unshare, standing in for an unprivileged container
# as a runtime makes it: new mount, pid, net, ipc and uts namespaces (cgroup
# too with POD_CGROUP=1, and a user namespace with POD_USERNS=1), a busybox-static root pivot_root'ed into, /proc
# and /sys read-only, /proc/{kcore,keys,timer_list} masked with /dev/null, /dev a tmpfs with
# device binds, devpts, shm and mqueue, hosts/resolv.conf/hostname files
# bound in, a volume (/vol), a persistent volume (/pv) and the shared dir
# (/shared, holding the handoff socket), capabilities cut to a set. stint
# runs as its PID 1. Source after tests/lib/libtest.sh and rootfs.sh.
#
#   pod_create NAME              dirs under $TEST_TMP/NAME (kept across runs:
#                                call pod_start again for "run 2")
#   pod_start NAME CAPS [STINT_ARG...] [-- COMMAND...]
#                                CAPS: a comma list, "default" (Docker's) or
#                                "none"; sets POD_PID (host pid of stint)
#   pod_wait NAME [SECS]         wait for the pod to exit; prints its status
#   pod_kill NAME                SIGKILL it (done when the test ends)
# Paths: POD_DIR=$TEST_TMP/NAME, $POD_DIR/{rootfs,shared,vol,pv,pod.log}.

pod_dir() { echo "$TEST_TMP/$1"; }

# The cgroup layout of this host, as a runtime would follow it (v2 when
# /sys/fs/cgroup is a cgroup2 mount), and the mount systemd writes in the
# pod (the peer's cgroup-path): POD_CGROUP=1 gives the pod that layout.
if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
	POD_CGROUP_MODE=v2 POD_CGROUP_PATH=/sys/fs/cgroup POD_CGROUP_HOST=/sys/fs/cgroup
else
	POD_CGROUP_MODE=v1 POD_CGROUP_PATH=/sys/fs/cgroup/systemd POD_CGROUP_HOST=/sys/fs/cgroup/systemd
fi
export POD_CGROUP_MODE POD_CGROUP_PATH

# pod_defer CMD...: run CMD when the current test ends. (libtest's defer
# registers in the run_test subshell, whose list the file's exit trap never
# sees; this one traps that subshell's own exit.)
_pod_cleanups=()
pod_defer() {
	_pod_cleanups+=("$*")
	trap _pod_run_cleanups EXIT
}
_pod_run_cleanups() {
	local i
	for ((i = ${#_pod_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_pod_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	_pod_cleanups=()
}

pod_create() {
	local d
	d=$(pod_dir "$1")
	POD_DIR=$d
	mkdir -p "$d"/{shared,vol,pv}
	# The peer's own run-dir (state file, trust record): one per pod, as a
	# sidecar-only emptyDir is.
	export STINT_PEER_RUN_DIR=$d/peer-run
	make_busybox_rootfs "$d/rootfs"
	install_binary "$d/rootfs" "$STINT" /usr/bin/stint
	# setpriv (with its libraries) cuts the capabilities after the pivot.
	install_binary "$d/rootfs" "$(command -v setpriv)" /usr/bin/setpriv
	echo "127.0.0.1 localhost" >"$d/hosts"
	echo "10.0.0.1 pod-host-entry" >>"$d/hosts"
	echo "nameserver 10.0.0.53" >"$d/resolv.conf"
	echo "pod-$1" >"$d/hostname"
}

# The script the pod's first process runs (as PID 1 of the new pid ns,
# still with every capability), ending in exec of stint.
_pod_setup_script() {
	cat <<'SETUP'
set -e
d=$1 caps=$2
shift 2
R=$d/rootfs
mount --bind "$R" "$R"
mkdir -p "$R/.oldroot"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
# runc's masked paths; this kernel may have no /proc/kcore (CONFIG_PROC_KCORE).
for m in kcore keys timer_list; do
	[ -e "$R/proc/$m" ] && mount --bind /dev/null "$R/proc/$m"
done
mount -o remount,bind,ro,nosuid,nodev,noexec "$R/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
if [ "${POD_CGROUP:-0}" = 1 ] && [ "$POD_CGROUP_MODE" = v2 ]; then
	# cgroup v2: the hierarchy, rooted at the pod's cgroup (its namespace).
	mount -t cgroup2 -o ro,nosuid,nodev,noexec cgroup "$R/sys/fs/cgroup"
elif [ "${POD_CGROUP:-0}" = 1 ]; then
	mount -t tmpfs -o mode=755,nosuid,nodev,noexec cgroup "$R/sys/fs/cgroup"
	mkdir "$R/sys/fs/cgroup/systemd"
	mount -t cgroup -o none,name=systemd,nosuid,nodev,noexec cgroup "$R/sys/fs/cgroup/systemd"
	mount -o remount,bind,ro,nosuid,nodev,noexec "$R/sys/fs/cgroup/systemd"
	mount -o remount,bind,ro,nosuid,nodev,noexec "$R/sys/fs/cgroup"
fi
mount -t tmpfs -o mode=755,nosuid,size=65536k tmpfs "$R/dev"
for n in null zero full random urandom tty; do
	touch "$R/dev/$n"
	mount --bind "/dev/$n" "$R/dev/$n"
done
mkdir "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,nosuid,noexec devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev,noexec shm "$R/dev/shm"
mount -t mqueue -o nosuid,nodev,noexec mqueue "$R/dev/mqueue"
for f in hosts resolv.conf hostname; do
	mount --bind "$d/$f" "$R/etc/$f"
done
for v in vol pv shared; do
	mkdir -p "$R/$v"
	mount --bind "$d/$v" "$R/$v"
done
# POD_EXTRA: more setup (shell, $R = the root, $d = the pod dir).
eval "${POD_EXTRA:-}"
hostname "pod-$(basename "$d")"
cd "$R"
pivot_root . .oldroot
cd /
/bin/umount -l /.oldroot
/bin/rmdir /.oldroot 2>/dev/null || true # a read-only root keeps it
# Some runtimes leave the root mount shared (rootfsPropagation: shared).
[ "${POD_SHARED_ROOT:-0}" = 1 ] && /bin/mount --make-shared /
if [ "$caps" = none ]; then
	exec /usr/bin/setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- /usr/bin/stint "$@"
fi
list=$(echo "$caps" | sed 's/\([a-z_]*\)/+\1/g')
exec /usr/bin/setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all,$list -- /usr/bin/stint "$@"
SETUP
}

pod_start() {
	local name=$1 caps=$2 d pid i
	shift 2
	d=$(pod_dir "$name")
	[ "$caps" = default ] && caps=$DEFAULT_CAPS
	_pod_setup_script >"$d/setup.sh"
	rm -f "$d/shared/stint.sock" "$d/unshare.pid"
	local ns="--mount --pid --net --ipc --uts"
	[ "${POD_CGROUP:-0}" = 1 ] && ns="$ns --cgroup"
	# A user-namespaced pod (as with Kubernetes' hostUsers: false).
	[ "${POD_USERNS:-0}" = 1 ] && ns="--user --map-root-user $ns"
	rm -f "$d/exit"
	# The subshell records the pod's exit status for pod_wait.
	(
		if [ "${POD_CGROUP:-0}" = 1 ]; then
			# Its own name=systemd cgroup, as a runtime gives each
			# container: the cgroup namespace is rooted there.
			local cg=$POD_CGROUP_HOST/stint-test-${TEST_TMP##*.}-$name
			mkdir -p "$cg"
			echo "$BASHPID" >"$cg/cgroup.procs"
		fi
		# shellcheck disable=SC2086
		unshare $ns --fork --propagation private -- bash "$d/setup.sh" "$d" "$caps" "$@" \
			>"$d/pod.log" 2>&1 </dev/null &
		echo $! >"$d/unshare.pid.tmp"
		mv "$d/unshare.pid.tmp" "$d/unshare.pid"
		rc=0
		wait $! || rc=$?
		echo $rc >"$d/exit.tmp"
		mv "$d/exit.tmp" "$d/exit"
	) &
	wait_for 5 test -e "$d/unshare.pid" || fail "pod $name: unshare did not start"
	pid=$(cat "$d/unshare.pid")
	pod_defer "pod_kill $name"
	[ "${POD_CGROUP:-0}" = 1 ] && pod_defer "pod_cgroup_rm $POD_CGROUP_HOST/stint-test-${TEST_TMP##*.}-$name"
	for i in $(seq 200); do
		POD_PID=$(awk '{print $1}' "/proc/$pid/task/$pid/children" 2>/dev/null)
		[ -n "$POD_PID" ] && break
		sleep 0.02
	done
	[ -n "$POD_PID" ] || { cat "$d/pod.log"; fail "pod $name did not start"; }
	echo "$POD_PID" >"$d/pod.pid"
	export POD_PID POD_DIR=$d
}

# pod_wait_socket NAME: wait until stint serves the socket.
pod_wait_socket() {
	local d
	d=$(pod_dir "$1")
	wait_for 10 test -S "$d/shared/stint.sock" || { cat "$d/pod.log"; fail "no socket from the pod $1"; }
}

pod_wait() {
	local d secs=${2:-20}
	d=$(pod_dir "$1")
	if ! wait_for "$secs" test -e "$d/exit"; then
		echo "pod $1 still runs after $secs s" >&2
		echo 124
		return 0
	fi
	cat "$d/exit"
}

# Remove a pod's cgroup once its last process has left it.
pod_cgroup_rm() {
	wait_for 3 eval "[ ! -s '$1/cgroup.procs' ]" || true
	rmdir "$1"
}

pod_kill() {
	local d pid
	d=$(pod_dir "$1")
	pid=$(cat "$d/unshare.pid" 2>/dev/null) || return 0
	[ -e "$d/exit" ] && return 0 # gone already; its pids may be reused
	kill -KILL "$(cat "$d/pod.pid" 2>/dev/null)" "$pid" 2>/dev/null || true
}

# Host mounts that could have leaked from a pod: anything under our temp
# dir and any overlay made by a peer.
host_mounts() {
	grep -E "$TEST_TMP| - overlay stint | stint-stage " /proc/self/mountinfo | awk '{ $1=""; $2=""; print }' | sort || true
}

# pod_probe NAME: write /vol/probe.sh, a command that records what it sees
# of its root in /vol/out (KEY=VALUE lines plus its mountinfo in
# /vol/mountinfo), then waits for /vol/stop (at most 30 s) so a test can
# join the pod meanwhile. Run it as: pod_start ... -- /bin/sh /vol/probe.sh
pod_probe() {
	local d
	d=$(pod_dir "$1")
	rm -f "$d/vol/out" "$d/vol/stop"
	cat >"$d/vol/probe.sh" <<'PROBE'
o=/vol/out.tmp
{
	echo "root=$(grep ' / / ' /proc/self/mountinfo | tail -n 1 | sed 's/.* - //')"
	echo "pid1=$(cat /proc/1/comm)"
	echo x >/dev/null && echo "devnull=ok"
	grep -q pod-host-entry /etc/hosts && echo "hosts=ok"
	[ -f /vol/probe.sh ] && echo "vol=ok"
	if [ -e /pv/upper ] || [ -e /pv/work ]; then echo "pv=visible"; else echo "pv=hidden"; fi
	if [ -S /shared/stint.sock ]; then echo "shared=visible"; else echo "shared=hidden"; fi
	echo "timer_list_bytes=$(wc -c </proc/timer_list)"
	echo "proc_opts=$(awk '$5=="/proc"{print $6}' /proc/self/mountinfo | tail -n 1)"
	echo "sys_opts=$(awk '$5=="/sys"{print $6}' /proc/self/mountinfo | tail -n 1)"
	echo "persist=$(cat /persist 2>/dev/null | tr '\n' ' ')"
	echo "hostname=$(hostname)"
	echo "notify=${NOTIFY_SOCKET:-}"
	echo "container=${container:-}"
	echo "run_mode=$(stat -c %a /run)"
	echo "tmp_mode=$(stat -c %a /tmp)"
	[ -S /run/host/notify/notify.sock ] && echo "notify_sock=ok"
	echo "notify_dir_ro=$(awk '$5=="/run/host/notify"{split($6, o, ","); print o[1]}' /proc/self/mountinfo)"
	echo "machine_id=$(cat /etc/machine-id 2>/dev/null)"
	cg=/sys/fs/cgroup/systemd
	[ -d $cg ] || cg=/sys/fs/cgroup
	if mkdir $cg/probe.scope 2>/dev/null; then
		rmdir $cg/probe.scope
		echo "cgroup_write=ok"
	else
		echo "cgroup_write=no"
	fi
	echo "console=$(awk '$5=="/dev/console"{print $4}' /proc/self/mountinfo)"
} >$o
cat /proc/self/mountinfo >/vol/mountinfo
echo "run" >>/persist
mv $o /vol/out
i=0
while [ ! -e /vol/stop ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
PROBE
}

# probe_value KEY: the value the probe recorded (needs POD_DIR).
probe_value() { sed -n "s/^$1=//p" "$POD_DIR/vol/out"; }
