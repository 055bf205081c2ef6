#!/usr/bin/env bash
# systemd (Debian bookworm, debootstrap minbase + systemd-sysv + dbus) boots
# as PID 1 through stint in a runc pod, from an overlay whose upper is on the
# PV: it reaches running (or degraded, with the failed units listed),
# reports READY=1 on the peer's notify socket (`stint-peer status`), halts
# on SIGRTMIN+3 within 10 s, and a second boot of the same pod keeps a file,
# a dpkg-installed package, a changed config and the machine-id.
# The image is built once (about 40-70 s) and cached in ./cache.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/pod/libpod-runc.sh"

require_runc

IMAGE=$TEST_TMP/debian
SOCK=$POD_SHARED_PATH/stint.sock
PV=$TEST_TMP/pv-systemd
# A console: runc gives PID 1 a pty on /dev/console, the peer carries /dev.
POD_TERMINAL=1

t_image() {
	local t0 cached=built
	t0=$(date +%s%N)
	[ -s "$DEBIAN_TARBALL" ] && cached=cached
	make_debian_os "$IMAGE"
	echo "image ($cached) ready in $((($(date +%s%N) - t0) / 1000000)) ms"
	assert_exists "$IMAGE/lib/systemd/systemd"
	assert_eq "$(stat -c %s "$IMAGE/etc/machine-id")" 0 "machine-id size in the image"
}

# sd_pod NAME CAPS MODE PV: the pod; the peer gives systemd what the
# unprivileged container lacks (docs/os-boot.md): tmpfs /run and /run/lock,
# its cgroup sub-tree writable (the name=systemd mount on cgroup v1, the
# cgroup2 mount on v2: $POD_CGROUP_PATH), a notify socket at
# /run/host/notify/notify.sock (the peer serves it in its run-dir).
sd_pod() {
	local name=$1 caps=$2 mode=$3 pv=$4
	shift 4
	pod_new "$name" "$pv"
	pod_os "$IMAGE" "$caps" /usr/bin/stint -v -s "$SOCK" -t 30 --notify-socket /run/host/notify/notify.sock
	pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode "$mode" --state /pv --timeout 30 \
		--tmpfs /run,/run/lock --cgroup rw --cgroup-path "$POD_CGROUP_PATH" --notify /run/stint-peer/notify/notify.sock "$@"
}

# in_os CMD...: run CMD in the booted OS (pivot: runc exec lands there).
in_os() { pod_exec "$@"; }

ready() { pod_peer_exec /usr/bin/stint-peer status -q -s "$SOCK" 2>/dev/null; }

# sd_boot: start the pod, wait for READY=1 via `stint-peer status`, then
# for systemd's verdict; print the timings.
sd_boot() {
	local t0 t_ready state
	t0=$(date +%s%N)
	pod_start
	wait_for 30 ready || {
		pod_logs
		pod_peer_exec /usr/bin/stint-peer status -s "$SOCK" || true
		fail "stint-peer status never turned ready"
	}
	t_ready=$((($(date +%s%N) - t0) / 1000000))
	state=$("${SD_EXEC[@]}" systemctl is-system-running --wait 2>&1) || true
	echo "READY=1 (stint-peer status ok) $t_ready ms after pod start; is-system-running: $state"
	SD_STATE=$state
	if [ "$state" != running ]; then
		"${SD_EXEC[@]}" systemctl --failed --no-pager || true
	fi
}

# sd_halt: SIGRTMIN+3 (37) to PID 1: systemd halts, the container exits 0
# within 10 s.
sd_halt() {
	local t0 ms
	t0=$(date +%s%N)
	pod_kill 37
	pod_wait_os 10 || { pod_logs; fail "systemd still runs 10 s after signal 37"; }
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "halted in $ms ms, exit status $POD_OS_RC"
	assert_eq "$POD_OS_RC" 0 "exit status after signal 37"
}

t_first_boot() {
	local deb=$TEST_TMP/stint-hello.deb
	[ -d "$IMAGE/lib/systemd" ] || fail "no image"
	SD_EXEC=(pod_exec)
	sd_pod systemd k8s pivot "$PV"
	sd_boot
	assert_eq "$SD_STATE" running "systemctl is-system-running"
	assert_switched pivot
	# systemd runs in the host's cgroup layout: unified on v2, its own
	# name=systemd sub-tree on v1 (in either case its cgroup namespace).
	if [ "$POD_CGROUP_MODE" = v2 ]; then
		in_os grep -qx '0::/init.scope' /proc/1/cgroup || fail "PID 1 not in 0::/init.scope"
	else
		in_os grep -qx '[0-9]*:name=systemd:/init.scope' /proc/1/cgroup || fail "PID 1 not in name=systemd:/init.scope"
	fi
	# The console works: systemd's boot log reached the pty.
	assert_file_has_content "$POD_OS_LOG" 'Welcome to .*Debian GNU/Linux 12'
	# What stint must do for systemd's container interface.
	in_os cat /proc/1/environ | tr '\0' '\n' >"$TEST_TMP/environ"
	assert_file_has_content "$TEST_TMP/environ" '^container=stint$'
	assert_file_has_content "$TEST_TMP/environ" '^NOTIFY_SOCKET=/run/host/notify/notify.sock$'
	assert_eq "$(in_os systemd-detect-virt -c)" container-other
	for m in /sys /proc/sys; do
		assert_eq "$(in_os awk -v m=$m '$2 == m {split($4, o, ","); print o[1]}' /proc/mounts)" ro "$m"
	done
	# The persistent layer really is the root.
	assert_exists "$PV/upper/var/log/journal"
	# The booted OS sees neither the handoff socket nor the PV's mount.
	in_os sh -c '! test -e /run/stint/stint.sock && ! grep " /pv\| /.stint" /proc/self/mountinfo' ||
		fail "the OS sees the handoff socket or the PV"

	# Changes to keep: a file, a package from a local .deb, a config.
	make_hello_deb "$deb"
	in_os sh -c 'cat >/tmp/stint-hello.deb' <"$deb"
	in_os dpkg -i /tmp/stint-hello.deb
	in_os systemctl enable stint-hello.service
	in_os sh -c 'echo kept >/root/kept; mkdir -p /etc/systemd/journald.conf.d &&
		printf "[Journal]\nSystemMaxUse=16M\n" >/etc/systemd/journald.conf.d/stint.conf'
	in_os cat /etc/machine-id >"$TEST_TMP/machine-id"
	echo "machine-id: $(cat "$TEST_TMP/machine-id")"
	grep -qE '^[0-9a-f]{32}$' "$TEST_TMP/machine-id" || fail "bad machine-id"
	sd_halt
	pod_delete
}

t_second_boot() {
	[ -s "$TEST_TMP/machine-id" ] || fail "the first boot did not finish"
	SD_EXEC=(pod_exec)
	sd_pod systemd k8s pivot "$PV"
	sd_boot
	assert_eq "$SD_STATE" running "systemctl is-system-running"
	assert_eq "$(in_os cat /root/kept)" kept "file"
	assert_eq "$(in_os dpkg-query -W -f '${Status}' stint-hello)" "install ok installed" "package"
	assert_eq "$(in_os systemctl is-enabled stint-hello.service)" enabled "unit enablement"
	# The packaged service ran in this boot (its boot_id is this boot's).
	assert_eq "$(in_os tail -n 1 /var/lib/stint-hello/boots)" "$(in_os cat /proc/sys/kernel/random/boot_id)"
	assert_eq "$(in_os systemd-analyze cat-config systemd/journald.conf | grep -c '^SystemMaxUse=16M')" 1 "config"
	assert_eq "$(in_os cat /etc/machine-id)" "$(cat "$TEST_TMP/machine-id")" "machine-id"
	# Two boots of this pod, counted by the peer on the PV, and in the
	# persistent journal: each start has its own boot id (the peer's
	# boot-id = generate). Journal boots are counted by their lines:
	# systemd 252 prints a header and has no --no-legend for --list-boots.
	assert_eq "$(cat "$PV/meta/boots")" 2 "boots recorded on the PV"
	assert_eq "$(pod_peer_exec /usr/bin/stint-peer status -v 2>&1 | sed -n 's/^boots=//p')" 2 "stint-peer status -v"
	assert_eq "$(in_os journalctl --list-boots --no-pager | grep -cE '^ *-?[0-9]+ [0-9a-f]{32} ')" 2 "boots in the journal"
	sd_halt
}

# chroot mode: runc exec lands in the old root, so reach systemd through
# chroot (CAP_SYS_CHROOT is in the default set).
t_chroot() {
	SD_EXEC=(pod_exec chroot /.stint/root)
	sd_pod systemd-chroot k8s chroot "$TEST_TMP/pv-chroot"
	sd_boot
	assert_eq "$SD_STATE" running "systemctl is-system-running"
	assert_switched chroot
	! pod_exec test -e /run/systemd/private || fail "runc exec landed in the new root"
	# stint-peer enter, from the sidecar, lands in the booted OS: systemd
	# answers there, and the session is in PID 1's cgroup.
	assert_eq "$(pod_peer_exec /usr/bin/stint-peer enter -- systemctl is-system-running)" running "enter: systemctl"
	assert_eq "$(pod_peer_exec /usr/bin/stint-peer enter -- grep name=systemd /proc/self/cgroup)" \
		"$(pod_peer_exec /usr/bin/stint-peer enter -- grep name=systemd /proc/1/cgroup)" "enter: systemd's cgroup"
	# SIGTERM (what Kubernetes sends) only makes systemd re-execute itself.
	pod_kill TERM
	# systemd says so in its journal; then it must still be running.
	reexecuted() { pod_exec chroot /.stint/root journalctl -b -o cat _PID=1 --no-pager | grep -c '^Reexecuting' >/dev/null; }
	wait_for 20 reexecuted || { pod_logs; fail "systemd did not re-execute on SIGTERM"; }
	_pod_running "$POD_OS_ID" || fail "systemd stopped on SIGTERM"
	# Back from the re-execution (until then systemctl may say "unknown").
	back_running() { [ "$(pod_exec chroot /.stint/root systemctl is-system-running --wait 2>&1)" = running ]; }
	wait_for 30 back_running ||
		fail "after SIGTERM: $(pod_exec chroot /.stint/root systemctl is-system-running 2>&1)"
	# A preStop-style exec sending SIGRTMIN+3 to PID 1 halts it.
	local t0
	t0=$(date +%s%N)
	pod_exec /bin/bash -c 'kill -s SIGRTMIN+3 1'
	pod_wait_os 10 || fail "systemd still runs 10 s after an exec'd kill -RTMIN+3 1"
	echo "halted by an exec'd kill in $((($(date +%s%N) - t0) / 1000000)) ms, exit status $POD_OS_RC"
	assert_eq "$POD_OS_RC" 0 "exit status"
}

# runc's own default caps (AUDIT_WRITE KILL NET_BIND_SERVICE): systemd ends
# degraded because services cannot drop capabilities without CAP_SETPCAP.
t_runc_default_caps() {
	SD_EXEC=(pod_exec)
	sd_pod systemd-3caps AUDIT_WRITE,KILL,NET_BIND_SERVICE pivot "$TEST_TMP/pv-3caps"
	sd_boot
	assert_eq "$SD_STATE" degraded "systemctl is-system-running"
	# systemd's console log says why (journald is one of the failed units).
	assert_file_has_content "$POD_OS_LOG" 'Failed to drop capabilities'
	sd_halt
}

# machine-id without CAP_DAC_OVERRIDE (runc's 3 caps): systemd can neither
# write the image's empty, read-only /etc/machine-id nor mount a transient
# one, so nothing persists; the peer's --machine-id generate writes one in
# the upper before the boot, and it stays across boots.
t_machine_id_generate() {
	local pv=$TEST_TMP/pv-mid caps=AUDIT_WRITE,KILL,NET_BIND_SERVICE id2
	SD_EXEC=(pod_exec)
	sd_pod mid $caps pivot "$pv"
	sd_boot
	assert_file_has_content "$POD_OS_LOG" 'Initializing machine ID from random generator'
	assert_file_has_content "$POD_OS_LOG" 'Failed to mount /run/machine-id'
	[ ! -s "$pv/upper/etc/machine-id" ] || fail "systemd stored a machine-id without CAP_DAC_OVERRIDE"
	sd_halt
	pod_delete

	sd_pod mid $caps pivot "$pv" --machine-id generate
	sd_boot
	assert_file_has_content "$POD_PEER_LOG" 'new machine-id written'
	id2=$(in_os cat /etc/machine-id)
	echo "machine-id written by the peer: $id2"
	grep -qE '^[0-9a-f]{32}$' <<<"$id2" || fail "bad machine-id '$id2'"
	assert_file_lacks_content "$POD_OS_LOG" 'Initializing machine ID'
	sd_halt
	pod_delete

	sd_pod mid $caps pivot "$pv" --machine-id generate
	sd_boot
	assert_file_lacks_content "$POD_PEER_LOG" 'new machine-id written'
	assert_eq "$(in_os cat /etc/machine-id)" "$id2" "machine-id on the next boot"
	sd_halt
}

# No cgroup namespace, as containerd runs containers on cgroup v1: runc
# still mounts only the container's own name=systemd sub-tree, and the
# peer's --cgroup rw is enough.
t_no_cgroupns() {
	SD_EXEC=(pod_exec)
	# ... and no terminal either: no /dev/console, systemd's boot log goes
	# to the journal only, the boot is the same.
	POD_TERMINAL=0
	POD_CGROUPNS=0 sd_pod systemd-hostcgns k8s pivot "$TEST_TMP/pv-hostcgns"
	sd_boot
	assert_eq "$SD_STATE" running "systemctl is-system-running"
	assert_file_lacks_content "$POD_OS_LOG" 'Welcome to'
	! in_os test -e /dev/console || fail "a /dev/console without a terminal"
	local want="name=systemd:/$POD_CGROUP_PARENT/$POD_OS_ID"
	[ "$POD_CGROUP_MODE" = v1 ] || want="0::/$POD_CGROUP_PARENT/$POD_OS_ID"
	in_os cat /proc/1/cgroup | grep -q "$want" || fail "PID 1 is not in the host's cgroup namespace ($want)"
	sd_halt
}

# No capabilities at all: systemd boots but never finishes (documented in
# docs/os-boot.md): dbus-daemon cannot drop its capabilities nor raise its
# fd limit and fails; logind keeps waiting for the bus. The readiness probe
# must say "not ready" all along: nothing sent READY=1.
t_no_caps() {
	local out rc=0 state
	SD_EXEC=(pod_exec)
	sd_pod systemd-nocaps none pivot "$TEST_TMP/pv-nocaps"
	pod_start
	wait_for 15 eval 'pod_exec systemctl is-failed --quiet dbus.service' || {
		pod_logs
		fail "dbus.service did not fail without capabilities"
	}
	# Proving it never finishes needs a window: 3 s more after dbus failed
	# (the boot takes under 1 s with capabilities).
	sleep 3
	state=$(pod_exec systemctl is-system-running 2>&1) || true
	echo "is-system-running without capabilities: $state"
	assert_eq "$state" starting "systemctl is-system-running"
	out=$(pod_peer_exec /usr/bin/stint-peer status -s "$SOCK" 2>&1) || rc=$?
	echo "stint-peer status: exit $rc: $out"
	assert_eq "$rc" 1 "stint-peer status without READY=1"
	# dbus-daemon's own stderr reaches the journal after systemd's lines
	# about the unit, and a process that exits at once can lose its unit
	# field (seen on a loaded machine): wait, and match its identifier too.
	dbus_says_why() {
		pod_exec journalctl -b --no-pager -o cat _SYSTEMD_UNIT=dbus.service + SYSLOG_IDENTIFIER=dbus-daemon \
			+ UNIT=dbus.service >"$TEST_TMP/dbus.log" 2>&1 || true
		grep -qE 'Failed to drop capabilities|Failed to set fd limit' "$TEST_TMP/dbus.log"
	}
	wait_for 20 dbus_says_why || true
	cat "$TEST_TMP/dbus.log"
	assert_file_has_content "$TEST_TMP/dbus.log" 'Failed to drop capabilities|Failed to set fd limit'
	pod_exec systemctl list-jobs --no-pager | grep -E 'systemd-logind.service +start +running' ||
		fail "logind is not the job holding the boot"
	sd_halt
}

# cg_file CONTROLLER FILE: a file of the OS container's cgroup on the host
# (v1: the controller's hierarchy; v2: the one hierarchy).
cg_file() {
	if [ "$POD_CGROUP_MODE" = v2 ]; then
		echo "$(pod_cgroup_dir "$POD_OS_ID")/$2"
	else
		echo "/sys/fs/cgroup/$1/$POD_CGROUP_PARENT/$POD_OS_ID/$2"
	fi
}

# Memory and pids limits (runc's linux.resources, as a pod's
# resources.limits give them): systemd boots inside them, every process of
# the OS is in the limited cgroup, and the limits hold when the guest
# pushes (a fork storm and a memory hog are stopped, systemd keeps running).
t_limits() {
	local mem=$((256 * 1024 * 1024)) pids=200 v1=0 peak usage cur hits n
	[ "$POD_CGROUP_MODE" = v1 ] && v1=1
	SD_EXEC=(pod_exec)
	POD_TERMINAL=0
	POD_MEMORY_LIMIT=$mem POD_PIDS_LIMIT=$pids sd_pod limits k8s pivot "$TEST_TMP/pv-limits"
	sd_boot
	assert_eq "$SD_STATE" running "systemctl is-system-running"
	# The limits, from the host's cgroup files.
	if [ $v1 = 1 ]; then
		assert_eq "$(cat "$(cg_file memory memory.limit_in_bytes)")" $mem "memory.limit_in_bytes"
	else
		assert_eq "$(cat "$(cg_file memory memory.max)")" $mem "memory.max"
	fi
	assert_eq "$(cat "$(cg_file pids pids.max)")" $pids "pids.max"
	# Every process of the OS is in that cgroup: the root of its cgroup
	# namespace (the container's cgroup) in both hierarchies.
	in_os sh -c 'for f in /proc/[0-9]*/cgroup; do cat "$f" 2>/dev/null; done' >"$TEST_TMP/procs-cgroups"
	n=$(grep -c ':memory:\|^0::' "$TEST_TMP/procs-cgroups")
	if [ $v1 = 1 ]; then
		assert_eq "$(grep -cE '^[0-9]+:(memory|pids):/$' "$TEST_TMP/procs-cgroups")" \
			$((2 * $(grep -c ':memory:' "$TEST_TMP/procs-cgroups"))) "memory and pids lines at the namespace root"
		assert_file_lacks_content "$TEST_TMP/procs-cgroups" ':(memory|pids):/.+'
	else
		assert_file_lacks_content "$TEST_TMP/procs-cgroups" '^0::/\.\.'
	fi
	echo "$n processes checked"
	[ "$n" -ge 3 ] || fail "too few processes seen in the OS ($n)"
	# ... and the OS sees its own limit where its cgroup is mounted.
	if [ $v1 = 1 ]; then
		assert_eq "$(in_os cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" $mem "the limit inside"
	else
		assert_eq "$(in_os cat /sys/fs/cgroup/memory.max)" $mem "the limit inside"
	fi
	# A fork storm: the fork that would pass pids.max fails (and ends the
	# shell). The sleeps it started end by themselves (no exec could even
	# start in the full cgroup); wait for them to go.
	in_os sh -c 'i=0; while [ $i -lt 400 ]; do sleep 10 </dev/null >/dev/null 2>&1 & i=$((i + 1)); done' \
		>"$TEST_TMP/storm.log" 2>&1 || true
	cat "$TEST_TMP/storm.log"
	wait_for 30 eval '[ "$(cat "$(cg_file pids pids.current)")" -lt 100 ]' || fail "the storm's sleeps did not end"
	assert_file_has_content "$TEST_TMP/storm.log" '[Cc]annot fork|Resource temporarily unavailable'
	hits=$(awk '$1 == "max" {print $2}' "$(cg_file pids pids.events)")
	echo "pids.events max: $hits"
	[ "${hits:-0}" -gt 0 ] || fail "pids.max was never hit"
	# A memory hog (tail keeps the whole last line, here 400 MB of
	# zeros): killed by the OOM killer of the container's cgroup.
	local rc=0
	in_os sh -c 'head -c 400M /dev/zero | tail -n 1 >/dev/null' || rc=$?
	echo "memory hog: exit $rc"
	[ "$rc" -ne 0 ] || fail "a 400 MB tail finished under a 256 MB limit"
	if [ $v1 = 1 ]; then
		grep -q '^oom_kill [1-9]' "$(cg_file memory memory.oom_control)" ||
			{ cat "$(cg_file memory memory.oom_control)"; fail "no OOM kill in the container's cgroup"; }
		peak=$(cat "$(cg_file memory memory.max_usage_in_bytes)")
		usage=$(cat "$(cg_file memory memory.usage_in_bytes)")
	else
		grep -q '^oom_kill [1-9]' "$(cg_file memory memory.events)" || fail "no OOM kill in the container's cgroup"
		peak=$(cat "$(cg_file memory memory.peak)")
		usage=$(cat "$(cg_file memory memory.current)")
	fi
	cur=$(cat "$(cg_file pids pids.current)")
	echo "memory: usage $usage, peak $peak, limit $mem; pids: $cur of $pids"
	[ "$peak" -le $mem ] || fail "memory peak $peak above the limit $mem"
	[ "$usage" -lt $mem ] || fail "memory usage $usage not below the limit $mem"
	[ "$cur" -le $pids ] || fail "pids.current $cur above pids.max"
	assert_eq "$(in_os systemctl is-system-running)" running "systemd after the storm and the hog"
	sd_halt
}

run_test "Debian image with systemd (debootstrap once, then from ./cache)" t_image
run_test "systemd boots through stint from the PV: running, READY=1, halts on signal 37" t_first_boot
run_test "second boot keeps a file, a dpkg-installed package, a config and the machine-id" t_second_boot
run_test "systemd in chroot mode; SIGTERM only re-executes it; an exec'd kill -RTMIN+3 1 halts it" t_chroot
run_test "systemd with runc's 3 default capabilities ends degraded (documented)" t_runc_default_caps
run_test "machine-id: not storable with runc's 3 caps; stint-peer --machine-id generate keeps one" t_machine_id_generate
run_test "systemd in a pod with memory and pids limits: boots inside them, they hold" t_limits
run_test "systemd without a cgroup namespace (containerd on cgroup v1) and without a terminal" t_no_cgroupns
run_test "systemd without any capability never finishes booting; status stays not ready (documented)" t_no_caps
