#!/usr/bin/env bash
# Image upgrades under a kept upper (issue 11, part 1), in runc pods: the
# peer records the image on the PV at every boot, and when a pod starts on
# a new image it logs the change and writes the shadow report (the upper's
# entries that hide what the new image changed); on-image-change warn,
# allow and refuse (refused until `stint-peer image accept`); `stint-peer
# diff` and `export`, and an image built with buildah from the exported
# layer whose fresh boot shows the pod's changes. Busybox images for most
# cases; Debian with systemd for one realistic package upgrade.
source "$(dirname "$0")/../lib/libtest.sh"
source "$TOP/tests/lib/rootfs.sh"
source "$TOP/tests/images/images.sh"
source "$TOP/tests/pod/libpod-runc.sh"
source "$TOP/tests/k8s/lib-podman.sh"

require_runc

SOCK=$POD_SHARED_PATH/stint.sock
V1=$TEST_TMP/bb-v1
V2=$TEST_TMP/bb-v2

# bb_image DIR VERSION: the busybox OS with what an update changes: its
# os-release, /etc files, a library, a package database, a tool, and a
# directory of data. Each version is built from scratch (new mtimes
# everywhere): only contents that differ may count as changes.
bb_image() {
	local dir=$1 v=$2
	make_busybox_os "$dir"
	mkdir -p "$dir/usr/lib" "$dir/var/lib/dpkg" "$dir/opt/app"
	printf 'NAME="Busybox test"\nVERSION_ID=%s\nPRETTY_NAME="Busybox test %s"\n' "$v" "$v" >"$dir/etc/os-release"
	echo "motd $v" >"$dir/etc/motd"
	echo "setting=$v" >"$dir/etc/app.conf"
	echo "libdemo $v" >"$dir/usr/lib/libdemo.so.1"
	printf 'Package: demo\nVersion: %s\n' "$v" >"$dir/var/lib/dpkg/status"
	printf '#!/bin/sh\necho tool %s\n' "$v" >"$dir/usr/bin/demo-tool"
	chmod 755 "$dir/usr/bin/demo-tool"
	echo "data $v" >"$dir/opt/app/data"
	# v2 ships a tool the pod installed on its own under v1.
	[ "$v" = 1 ] || printf '#!/bin/sh\necho newtool\n' >"$dir/usr/bin/newtool"
}
bb_image "$V1" 1
bb_image "$V2" 2

# up_pod NAME IMAGE PV [PEER ARGS...]: a pivot-mode pod booting IMAGE on PV.
up_pod() {
	local name=$1 image=$2 pv=$3
	shift 3
	pod_new "$name" "$pv"
	pod_os "$image" k8s /usr/bin/stint -v -s "$SOCK" -t 20
	pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode pivot --state /pv --timeout 20 "$@"
}

# booted: this boot's rcS ran and the service (re)created its ready file.
booted() { grep -q '^rcS: boot' "$POD_OS_LOG" && [ -e "$POD_PV/upper/run/demo-service.ready" ]; }

# await_record REGEX: with allow and warn the peer records the image
# after the switch, beside the booting OS: wait for REGEX in its log and
# for every record to be done (one per READY acknowledged).
records_done() {
	[ "$(grep -c 'image: the record after the boot is done' "$POD_PEER_LOG")" -ge \
		"$(grep -c 'acknowledged by the init' "$POD_PEER_LOG")" ]
}
await_record() {
	wait_for 60 grep -qE -- "$1" "$POD_PEER_LOG" && wait_for 60 records_done ||
		{ pod_logs; fail "the peer's log lacks /$1/ or a record is not done"; }
}

# log_line REGEX: the number of the peer log's first line matching REGEX.
log_line() {
	local n
	n=$(grep -n -m1 -E -- "$1" "$POD_PEER_LOG" | cut -d: -f1)
	[ -n "$n" ] || fail "the peer's log lacks /$1/"
	echo "$n"
}

up_boot() {
	rm -f "$POD_PV/upper/run/demo-service.ready"
	pod_start
	wait_for 20 booted || { pod_logs; fail "the busybox OS did not boot"; }
}

peer() { pod_peer_exec /usr/bin/stint-peer "$@"; }

# What a pod does under v1: edit /etc, delete a config, patch a library,
# install a "package" (its database and a tool), replace a directory.
guest_changes() {
	pod_exec /bin/sh -c '
		echo "edited by the pod" >>/etc/motd
		rm /etc/app.conf
		echo patched >/usr/lib/libdemo.so.1
		printf "Package: demo\nVersion: 1\n\nPackage: extra\nVersion: 1\n" >/var/lib/dpkg/status
		printf "#!/bin/sh\necho mine\n" >/usr/bin/newtool
		rm -rf /opt/app && mkdir /opt/app && echo mine >/opt/app/mine
		echo note >/root/note'
}

# The report's entries (without its header and trailer), sorted.
report_entries() { grep -vE '^(stint-shadow|old|new|time|end) ' "$1" | sort; }

EXPECTED_SHADOW="bin-lib added file /usr/bin/newtool
bin-lib content file /usr/lib/libdemo.so.1
etc content file /etc/motd
etc content whiteout /etc/app.conf
other content opaque-above /opt/app/data /opt/app
package-db content file /var/lib/dpkg/status"

# Default policy (warn): the same image again is "unchanged"; a new one
# boots, with one warning line and the report on the PV naming exactly the
# upper entries that hide the new image's changes.
t_report_warn() {
	local pv=$TEST_TMP/pv-warn
	up_pod warn "$V1" "$pv"
	up_boot
	await_record "image: Busybox test 1, digest [0-9a-f]{8}, recorded as this volume's image"
	assert_file_has_content "$pv/meta/image" '^pretty_name=Busybox test 1$'
	guest_changes
	pod_delete

	up_pod warn "$V1" "$pv"
	up_boot
	await_record 'image: Busybox test 1, digest [0-9a-f]{8}, unchanged'
	assert_not_exists "$pv/meta/shadow"
	pod_delete

	up_pod warn "$V2" "$pv"
	up_boot
	pod_logs
	await_record 'warning: image changed: Busybox test 1 \([0-9a-f]{8}\) -> Busybox test 2 \([0-9a-f]{8}\); upper entries shadowing the new image: 6 \(package database 1, /etc 2, binaries and libraries 2, other 1\), listed in meta/shadow on the volume'
	report_entries "$pv/meta/shadow" >got.txt
	echo "$EXPECTED_SHADOW" >want.txt
	diff -u want.txt got.txt || fail "the shadow report is not the expected one"
	assert_file_has_content "$pv/meta/shadow" '^end 6 package-db 1 etc 2 bin-lib 2 other 1$'
	# The shadow is real: the pod sees its own files, not v2's.
	assert_eq "$(pod_exec cat /usr/lib/libdemo.so.1)" patched
	assert_eq "$(pod_exec cat /usr/bin/demo-tool | tail -n 1)" "echo tool 2" "a file the pod never changed"
	# The same, computed again in the sidecar, as JSON.
	peer diff --shadowed --json --state /pv >shadow.json || fail "stint-peer diff --shadowed --json failed"
	jq -r '.shadowed[] | [.group, .change, .upper, .path, (.by // empty)] | join(" ")' shadow.json | sort >got.txt
	diff -u want.txt got.txt || fail "diff --shadowed --json differs from the report"
	assert_eq "$(jq -r '.old.version_id + " " + .new.version_id + " " + (.total|tostring)' shadow.json)" "1 2 6"
	peer diff --shadowed --state /pv >shadow.txt
	cat shadow.txt
	assert_file_has_content shadow.txt '^Busybox test 1 \([0-9a-f]{8}\) -> Busybox test 2 \([0-9a-f]{8}\): upper entries shadowing the new image: 6$'
	assert_file_has_content shadow.txt '^  content  opaque-above    /opt/app/data \(by /opt/app\)$'
	peer image --state /pv >image.txt
	cat image.txt
	assert_file_has_content image.txt '^image +Busybox test 2$'
	assert_file_has_content image.txt '^previous image +Busybox test 1$'
	assert_file_has_content image.txt '^shadow report +Busybox test 1 -> Busybox test 2: 6 '
	# One manifest per recorded image, nothing else left behind.
	printf '%s\n' boots image image.prev shadow "manifest-$(sed -n 's/^digest=//p' "$pv/meta/image")" \
		"manifest-$(sed -n 's/^digest=//p' "$pv/meta/image.prev")" | sort >want.txt
	ls "$pv/meta" | sort >got.txt
	diff -u want.txt got.txt || fail "meta/ holds other files"
}

# warn (and allow) record the image beside the booting OS, not before it:
# an image whose manifest takes long (a 64 GiB sparse file to hash) boots
# at once; an OS restart stops the unfinished record (the next boot
# records again, clearing what the cut one left); a record still running
# at prepare-timeout ends with one warning, and the OS keeps running.
t_record_after_switch() {
	local pv=$TEST_TMP/pv-slow img=$TEST_TMP/bb-slow
	cp -a "$V1" "$img"
	truncate -s 64G "$img/opt/app/big"
	up_pod slow "$img" "$pv" --prepare-timeout 15
	up_boot
	pod_logs
	# Booted while the record runs (a record before the boot would have
	# ended, failed at prepare-timeout, before the init's ACK).
	assert_file_lacks_content "$POD_PEER_LOG" "image: .*(recorded|record failed)"
	pod_kill USR2
	pod_wait_os 20 || { pod_logs; fail "busybox init did not stop on SIGUSR2"; }
	rm -f "$POD_PV/upper/run/demo-service.ready"
	pod_restart_os
	wait_for 20 booted || { pod_logs; fail "the restarted OS did not boot"; }
	assert_file_has_content "$POD_PEER_LOG" 'image: the record of the last boot had not finished: stopped \(the next boot records the image\)'
	wait_for 60 grep -q 'image: the record failed' "$POD_PEER_LOG" || { pod_logs; fail "the record did not end"; }
	pod_logs
	assert_file_has_content "$POD_PEER_LOG" 'image: the record failed \(on-image-change=warn, booting anyway\): the image: reading the files did not finish in time \(at /opt/app/big\)'
	# The record's end came long after the boot's ACK, and the OS runs on.
	[ "$(grep -n -E 'acknowledged by the init' "$POD_PEER_LOG" | tail -n 1 | cut -d: -f1)" -lt \
		"$(log_line 'image: the record failed')" ] || fail "the second boot waited for its record"
	_pod_running "$POD_OS_ID" || fail "the OS container ended"
	assert_exists "$POD_PV/upper/run/demo-service.ready"
	# Nothing claims the image, and nothing is left of either record: the
	# second cleared what the killed first left, and its own temp file.
	assert_eq "$(ls -A "$pv/meta" | tr '\n' ' ')" "boots " "meta/"
}

# With a readiness the peer watches (here a ready-path the OS never
# makes), the record waits for it: at the latest prepare-timeout after the
# switch it goes on anyway; an OS that stops before it is ready leaves
# its image unrecorded, and says so.
t_record_waits_for_ready() {
	local pv=$TEST_TMP/pv-ready
	up_pod ready "$V1" "$pv" --ready-path /run/never --prepare-timeout 5
	up_boot
	await_record "image: Busybox test 1, digest [0-9a-f]{8}, recorded as this volume's image"
	[ "$(log_line 'image: the OS has not reported ready within prepare-timeout: recording its image now')" -lt \
		"$(log_line "recorded as this volume's image")" ] || { pod_logs; fail "the record did not wait"; }
	assert_file_has_content "$pv/meta/image" '^pretty_name=Busybox test 1$'
	pod_delete

	up_pod ready "$V2" "$pv" --ready-path /run/never
	up_boot
	pod_kill USR2
	pod_wait_os 20 || { pod_logs; fail "busybox init did not stop on SIGUSR2"; }
	wait_for 10 grep -q 'image: not recorded: the OS did not report ready while this peer served it' \
		"$POD_PEER_LOG" || { pod_logs; fail "the waiting record was not ended with the OS"; }
	assert_file_lacks_content "$POD_PEER_LOG" 'image changed'
	assert_file_has_content "$pv/meta/image" '^pretty_name=Busybox test 1$'
}

# A hostile guest shapes its upper for the peer's record: over files the
# new image changes it puts a FIFO (a reader would block), a symlink to
# the peer's own state file, a device node (/dev/null's numbers) and a
# directory. The record of the next boot names each one by its type, opens
# none, follows none, and ends; the peer's files are untouched.
t_report_hostile_upper() {
	local pv=$TEST_TMP/pv-hostile
	up_pod hostile "$V1" "$pv"
	up_boot
	await_record "recorded as this volume's image"
	pod_exec /bin/sh -c '
		rm -f /etc/motd /usr/lib/libdemo.so.1 /etc/app.conf /var/lib/dpkg/status
		mkfifo /etc/motd
		ln -s /run/stint-peer/state /usr/lib/libdemo.so.1
		mknod /etc/app.conf c 1 3
		mkdir /var/lib/dpkg/status && mkfifo /var/lib/dpkg/status/fifo' ||
		fail "the guest could not plant its entries"
	pod_delete

	up_pod hostile "$V2" "$pv"
	up_boot
	await_record 'warning: image changed: Busybox test 1 .* upper entries shadowing the new image: '
	pod_logs
	report_entries "$pv/meta/shadow" | tee got.txt
	for want in 'etc content fifo /etc/motd' 'etc content char-device /etc/app.conf' \
		'bin-lib content symlink /usr/lib/libdemo.so.1' 'package-db content directory /var/lib/dpkg/status'; do
		grep -qxF "$want" got.txt || fail "the report lacks '$want'"
	done
	_pod_running "$POD_OS_ID" || fail "the OS container ended"
	peer status -s "$SOCK" || fail "the peer's state is not 'ready' after the record"
}

# allow: boots, the change is an info line, not a warning.
t_allow() {
	local pv=$TEST_TMP/pv-allow
	up_pod allow "$V1" "$pv" --on-image-change allow
	up_boot
	guest_changes
	pod_delete
	up_pod allow "$V2" "$pv" --on-image-change allow
	up_boot
	await_record '\] image changed: Busybox test 1 .* upper entries shadowing the new image: 6 '
	assert_file_lacks_content "$POD_PEER_LOG" 'warning: image changed'
	assert_eq "$(cat "$pv/upper/var/lib/demo/boots")" 2 "boots"
}

# refuse: nothing boots on the new image, the reason says how to accept;
# it stays refused across restarts until `stint-peer image accept`, then
# the next start boots it.
t_refuse() {
	local pv=$TEST_TMP/pv-refuse out rc=0
	up_pod refuse "$V1" "$pv" --on-image-change refuse
	up_boot
	# refuse must know before the boot: the record comes before the overlay.
	[ "$(log_line "recorded as this volume's image")" -lt "$(log_line 'step 4/7 overlay')" ] ||
		{ pod_logs; fail "refuse: the image was not recorded before step 4"; }
	guest_changes
	pod_delete

	up_pod refuse "$V2" "$pv" --on-image-change refuse
	pod_start
	pod_wait_os 20 || { pod_logs; fail "stint did not give up on the refused image"; }
	pod_logs
	assert_eq "$POD_OS_RC" 3 "stint's exit status"
	assert_file_has_content "$POD_OS_LOG" 'peer aborted: on-image-change=refuse: the image changed from Busybox test 1 \([0-9a-f]{8}\) to Busybox test 2 \([0-9a-f]{8}\); upper entries shadowing it: 6 \(meta/shadow on the volume\); nothing was booted. To boot the new image run `stint-peer image accept` in the peer container'
	assert_eq "$(cat "$pv/upper/var/lib/demo/boots")" 1 "boots (the refused image did not boot)"
	assert_file_has_content "$pv/meta/image" '^pretty_name=Busybox test 1$'
	assert_file_has_content "$pv/meta/image.pending" '^pretty_name=Busybox test 2$'
	out=$(peer status -s "$SOCK" 2>&1) || rc=$?
	echo "status: exit $rc: $out"
	assert_eq "$rc" 1 "stint-peer status exit status"
	[[ $out == "not ready: failed: on-image-change=refuse: "* ]] || fail "status does not say why"

	# A restart does not get past it.
	pod_restart_os
	pod_wait_os 20 || { pod_logs; fail "the restarted OS container booted the refused image"; }
	assert_eq "$POD_OS_RC" 3 "stint's exit status after a restart"
	assert_eq "$(cat "$pv/upper/var/lib/demo/boots")" 1 "boots"

	peer image accept --state /pv >accept.txt 2>&1 || { cat accept.txt; fail "image accept failed"; }
	cat accept.txt
	assert_file_has_content accept.txt 'accepted Busybox test 2 \(digest [0-9a-f]{8}\) in place of Busybox test 1: the next start of the OS container boots it'
	peer image --state /pv | grep -E '^accepted +[0-9a-f]{32} \(boots at the next start\)$' || fail "image show lacks the acceptance"
	pod_restart_os
	wait_for 20 booted || { pod_logs; fail "the accepted image did not boot"; }
	pod_logs
	assert_file_has_content "$POD_PEER_LOG" 'image: [0-9a-f]{8} was accepted \(stint-peer image accept\): booting it'
	assert_eq "$(cat "$pv/upper/var/lib/demo/boots")" 2 "boots"
	assert_file_has_content "$pv/meta/image" '^pretty_name=Busybox test 2$'
	assert_not_exists "$pv/meta/image.pending"
	assert_not_exists "$pv/meta/image.accept"
	# Nothing left to accept.
	! peer image accept --state /pv 2>accept.txt || fail "a second accept succeeded"
	assert_file_has_content accept.txt 'nothing to accept: no image was refused'
}

# diff and export in the sidecar; the exported layer committed onto the
# old image with buildah gives an image whose fresh boot (a new pod, an
# empty PV) has the pod's changes: a file added, one changed, one deleted,
# a symlink, an owner, a replaced directory.
t_diff_export_buildah() {
	local pv=$TEST_TMP/pv-export new=$TEST_TMP/bb-new ctr m
	command -v buildah >/dev/null || fail "buildah not installed (apt-get install buildah)"
	up_pod export "$V1" "$pv"
	up_boot
	pod_exec /bin/sh -c '
		echo added >/root/added && chown 1000:1000 /root/added && chmod 640 /root/added
		echo "changed by the pod" >>/etc/motd
		rm /etc/app.conf
		ln -s /etc/motd /root/motd-link
		rm -rf /opt/app && mkdir /opt/app && echo mine >/opt/app/mine'
	peer diff --state /pv >diff.txt || fail "stint-peer diff failed"
	cat diff.txt
	for line in 'A /root/added' 'C /etc/motd \(content\)' 'D /etc/app.conf' 'A /root/motd-link' \
		'R /opt/app' 'A /opt/app/mine'; do
		assert_file_has_content diff.txt "^$line\$"
	done
	assert_file_lacks_content diff.txt '^. /(bin|usr/bin)'
	peer diff --json --state /pv >diff.json || fail "stint-peer diff --json failed"
	assert_eq "$(jq -r '.changes[] | select(.path == "/etc/app.conf") | .change + " " + .type' diff.json)" "deleted whiteout"
	assert_eq "$(jq -r '.image.pretty_name' diff.json)" "Busybox test 1"
	peer export --state /pv - >upper.tar || fail "stint-peer export failed"
	pod_delete
	tar -tvf upper.tar >tar.txt || fail "the exported layer is not a tar"
	cat tar.txt
	assert_file_has_content tar.txt ' etc/\.wh\.app\.conf$'
	assert_file_has_content tar.txt ' opt/app/\.wh\.\.wh\.\.opq$'
	assert_file_has_content tar.txt '^-rw-r----- 1000/1000 +6 .* root/added$'
	assert_file_has_content tar.txt ' root/motd-link -> /etc/motd$'

	podman_env
	podman_setup
	podman_import "$V1" localhost/upgrade-old:1
	ctr=$(buildah from localhost/upgrade-old:1) || fail "buildah from"
	buildah add "$ctr" upper.tar / || fail "buildah add"
	buildah commit -q "$ctr" localhost/upgrade-new:1 || fail "buildah commit"
	buildah rm "$ctr" >/dev/null
	ctr=$(buildah from localhost/upgrade-new:1) || fail "buildah from the new image"
	m=$(buildah mount "$ctr") || fail "buildah mount"
	cp -a "$m" "$new"
	buildah umount "$ctr" >/dev/null
	buildah rm "$ctr" >/dev/null

	up_pod fresh "$new" "$TEST_TMP/pv-fresh"
	up_boot
	assert_eq "$(pod_exec cat /root/added)" added "the added file"
	assert_eq "$(pod_exec stat -c %u:%g:%a /root/added)" 1000:1000:640 "its owner and mode"
	assert_eq "$(pod_exec tail -n 1 /etc/motd)" "changed by the pod" "the changed file"
	pod_exec test ! -e /etc/app.conf || fail "the deleted file is back"
	assert_eq "$(pod_exec readlink /root/motd-link)" /etc/motd "the symlink"
	assert_eq "$(pod_exec ls /opt/app)" mine "the replaced directory"
	# The fresh pod's upper holds none of it: it all comes from the image.
	assert_not_exists "$TEST_TMP/pv-fresh/upper/root/added"
}

# lower= two layers (a base and a top with a whiteout), on a volume of the
# peer's: the image the peer identifies is their merged view (a read-only
# overlay of the two), so a change of the top layer is a change of the
# image, and the report is computed on what the OS sees.
t_two_lowers() {
	local pv=$TEST_TMP/pv-layers v motd_hash
	mkdir -p "$pv/vol" "$pv/layers"
	cp -a "$V1" "$pv/layers/base"
	mkdir -p "$pv/layers/top/etc"
	echo "from the top layer" >"$pv/layers/top/etc/motd"
	mknod "$pv/layers/top/etc/app.conf" c 0 0
	up_pod layers "$V1" "$pv" --state /pv/vol --lower /pv/layers/top:/pv/layers/base
	rm -f "$pv/vol/upper/run/demo-service.ready"
	pod_start
	wait_for 20 eval '[ -e "$pv/vol/upper/run/demo-service.ready" ]' || { pod_logs; fail "no boot from two lowers"; }
	assert_eq "$(pod_exec cat /etc/motd)" "from the top layer"
	pod_exec test ! -e /etc/app.conf || fail "the top layer's whiteout does not hide /etc/app.conf"
	await_record "image: Busybox test 1, digest [0-9a-f]{8}, recorded as this volume's image"
	v=$pv/vol/meta/$(sed -n 's/^manifest=//p' "$pv/vol/meta/image")
	motd_hash=$(b2sum -l 128 "$pv/layers/top/etc/motd" | cut -d' ' -f1)
	assert_file_has_content "$v" "^[0-9]+ [^ ]*motd f 644 0 0 19 [0-9]+ $motd_hash\$"
	assert_file_lacks_content "$v" 'app\.conf'
	pod_exec /bin/sh -c 'echo "edited by the pod" >>/etc/motd'
	pod_delete

	echo "from the top layer, v2" >"$pv/layers/top/etc/motd"
	up_pod layers "$V1" "$pv" --state /pv/vol --lower /pv/layers/top:/pv/layers/base
	rm -f "$pv/vol/upper/run/demo-service.ready"
	pod_start
	wait_for 20 eval '[ -e "$pv/vol/upper/run/demo-service.ready" ]' || { pod_logs; fail "no boot from the new top layer"; }
	await_record 'warning: image changed: Busybox test 1 .* upper entries shadowing the new image: 1 '
	assert_eq "$(report_entries "$pv/vol/meta/shadow")" "etc content file /etc/motd"
}

# make_demo_deb OUT.deb VERSION: a package whose library, tool and
# config change with its version.
make_demo_deb() {
	local out=$1 v=$2 d
	d=$(mktemp -d)
	chmod 755 "$d"
	mkdir -p "$d/DEBIAN" "$d/usr/lib/stint-demo" "$d/usr/bin" "$d/etc"
	printf 'Package: stint-demo\nVersion: %s\nArchitecture: all\nMaintainer: stint tests <tests@stint.invalid>\nDescription: stint upgrade test\n a package that changes\n' "$v" >"$d/DEBIAN/control"
	echo "libdemo $v" >"$d/usr/lib/stint-demo/libdemo.so.1"
	printf '#!/bin/sh\necho stint-demo %s\n' "$v" >"$d/usr/bin/stint-demo"
	chmod 755 "$d/usr/bin/stint-demo"
	echo "demo=$v" >"$d/etc/stint-demo.conf"
	dpkg-deb --root-owner-group -Zgzip --build "$d" "$out" >/dev/null || { rm -rf "$d"; fail "dpkg-deb --build failed"; }
	rm -rf "$d"
}

# shadow_oracle V1 V2 UPPER: the paths the report must name, computed
# independently: every path whose type, mode, owner, content, target or
# device differs between the two image trees (or that only one has), and
# that the upper holds itself (a file, a whiteout, a directory whose own
# metadata changed), by the report's rules.
shadow_oracle() {
	"$PY" - "$@" <<'PY'
import hashlib, os, stat, sys

v1, v2, up = sys.argv[1:4]

def tree(root):
    out = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            out[p[len(root):]] = p
    return out

def desc(p, st):
    m = st.st_mode
    d = [stat.S_IFMT(m), 0 if stat.S_ISLNK(m) else stat.S_IMODE(m), st.st_uid, st.st_gid]
    if stat.S_ISREG(m):
        with open(p, "rb") as f:
            d.append(hashlib.sha256(f.read()).hexdigest())
    elif stat.S_ISLNK(m):
        d.append(os.readlink(p))
    elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
        d.append(st.st_rdev)
    return d

t1, t2 = tree(v1), tree(v2)
for rel in sorted(set(t1) | set(t2)):
    s1 = os.lstat(t1[rel]) if rel in t1 else None
    s2 = os.lstat(t2[rel]) if rel in t2 else None
    if s1 and s2 and (s1.st_dev, s1.st_ino) == (s2.st_dev, s2.st_ino):
        continue  # one file (a hard link between the trees)
    a = desc(t1[rel], s1) if s1 else None
    b = desc(t2[rel], s2) if s2 else None
    if a == b:
        continue
    try:
        u = os.lstat(up + rel)
    except FileNotFoundError:
        continue
    whiteout = stat.S_ISCHR(u.st_mode) and u.st_rdev == 0
    udir = stat.S_ISDIR(u.st_mode)
    if b is None and (whiteout or udir):
        continue  # removed: a whiteout or a merged directory hides nothing
    if udir and b is not None and a is None and stat.S_ISDIR(b[0]):
        continue  # a directory the image added merges with the upper's
    print(rel)
PY
}

# Debian with systemd, version 1 -> 2: a package upgraded (stint-demo 1 ->
# 2) and an /etc file changed in the image; the pod installed a package of
# its own with dpkg and edited /etc. The report names exactly what the
# oracle computes from the two trees and the upper, among them dpkg's
# status file, whose upper copy still says stint-demo 1 while the image's
# files are version 2: the half-upgraded system the report warns about.
t_debian_package_upgrade() {
	local d1=$TEST_TMP/deb-v1 d2=$TEST_TMP/deb-v2 pv=$TEST_TMP/pv-debian
	make_debian_os "$d1"
	make_demo_deb demo1.deb 1
	make_demo_deb demo2.deb 2
	make_hello_deb hello.deb
	dpkg --root="$d1" --force-script-chrootless --log=/dev/null -i demo1.deb >/dev/null || fail "dpkg -i into the v1 image"
	# v2 shares v1's unchanged files (hard links: a copy takes seconds);
	# dpkg replaces the files it changes by rename, and the two it appends
	# to are copied first.
	cp -al "$d1" "$d2"
	for f in var/log/dpkg.log etc/issue; do
		cp -p "$d1/$f" "$d2/$f.new" && mv "$d2/$f.new" "$d2/$f"
	done
	dpkg --root="$d2" --force-script-chrootless --log=/dev/null -i demo2.deb >/dev/null || fail "dpkg -i into the v2 image"
	echo "Updated image (v2)" >>"$d2/etc/issue"

	sd_ready() { peer status -q -s "$SOCK" 2>/dev/null; }
	deb_pod() {
		pod_new debian "$pv"
		pod_os "$1" k8s /usr/bin/stint -v -s "$SOCK" -t 30 --notify-socket /run/host/notify/notify.sock
		pod_peer /usr/bin/stint-peer -v -s "$SOCK" prepare --mode pivot --state /pv --timeout 30 \
			--tmpfs /run,/run/lock --cgroup rw --notify /run/stint-peer/notify/notify.sock
		pod_start
		wait_for 60 sd_ready || { pod_logs; fail "systemd did not report READY=1"; }
	}
	deb_pod "$d1"
	await_record 'image: manifest of Debian GNU/Linux 12 \(bookworm\) written: [0-9]+ entries'
	# With sd_notify the record waits for the OS's READY=1: it never
	# competes with the boot.
	[ "$(log_line 'notify: READY=1')" -lt "$(log_line 'image: manifest of Debian')" ] ||
		{ pod_logs; fail "the image was recorded before systemd's READY=1"; }
	pod_exec sh -c 'cat >/tmp/hello.deb' <hello.deb
	pod_exec dpkg -i /tmp/hello.deb >/dev/null || fail "dpkg -i in the pod"
	pod_exec sh -c 'echo "Welcome to this pod" >>/etc/issue'
	pod_delete

	deb_pod "$d2"
	pod_logs | grep 'image' || true
	await_record 'warning: image changed: Debian GNU/Linux 12 \(bookworm\) \([0-9a-f]{8}\) -> Debian GNU/Linux 12 \(bookworm\) \([0-9a-f]{8}\); upper entries shadowing the new image: [0-9]+ '
	report_entries "$pv/meta/shadow" | tee report.txt
	awk '{print $4}' report.txt | sort >got.txt
	shadow_oracle "$d1" "$d2" "$pv/upper" | sort >want.txt
	diff -u want.txt got.txt || fail "the report differs from the oracle"
	assert_file_has_content report.txt '^package-db content file /var/lib/dpkg/status$'
	assert_file_has_content report.txt '^etc content file /etc/issue$'
	assert_file_lacks_content report.txt 'stint-demo|-above '
	# The half-upgraded system: the image's files are version 2, the
	# package database (the pod's copy) still says 1.
	assert_eq "$(pod_exec stint-demo)" "stint-demo 2" "the image's tool"
	assert_eq "$(pod_exec dpkg-query -W -f '${Version}' stint-demo)" 1 "the upper's package database"
	assert_eq "$(pod_exec dpkg-query -W -f '${Status}' stint-hello)" "install ok installed" "the pod's own package"
	assert_eq "$(pod_exec tail -n 1 /etc/issue)" "Welcome to this pod" "the pod's /etc/issue"
}

run_test "warn: the new image boots; the shadow report names exactly the shadowing upper entries" t_report_warn
run_test "warn: the image is recorded after the switch; a restart or prepare-timeout stops a long record" t_record_after_switch
run_test "warn with a watched readiness: the record waits for it (or prepare-timeout), an OS stopping first leaves none" t_record_waits_for_ready
run_test "hostile upper: FIFO, symlink, device and directory over changed files: named by type, none opened" t_report_hostile_upper
run_test "allow: the new image boots, the change is logged as info" t_allow
run_test "refuse: nothing boots until stint-peer image accept, then the next start does" t_refuse
run_test "diff, export, and buildah: the pod's changes in a new image, booted fresh" t_diff_export_buildah
run_test "lower= two layers: the image identified is their merged view" t_two_lowers
run_test "Debian with systemd: a package upgrade under an upper that installed a package and edited /etc" t_debian_package_upgrade
