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
	assert_file_has_content "$POD_PEER_LOG" "image: Busybox test 1, digest [0-9a-f]{8}, recorded as this volume's image"
	assert_file_has_content "$pv/meta/image" '^pretty_name=Busybox test 1$'
	guest_changes
	pod_delete

	up_pod warn "$V1" "$pv"
	up_boot
	assert_file_has_content "$POD_PEER_LOG" 'image: Busybox test 1, digest [0-9a-f]{8}, unchanged'
	assert_not_exists "$pv/meta/shadow"
	pod_delete

	up_pod warn "$V2" "$pv"
	up_boot
	pod_logs
	assert_file_has_content "$POD_PEER_LOG" 'warning: image changed: Busybox test 1 \([0-9a-f]{8}\) -> Busybox test 2 \([0-9a-f]{8}\); 6 upper entries shadow the new image \(package database 1, /etc 2, binaries and libraries 2, other 1\): meta/shadow on the volume'
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
	assert_file_has_content shadow.txt '^Busybox test 1 \([0-9a-f]{8}\) -> Busybox test 2 \([0-9a-f]{8}\): 6 upper entries shadow the new image$'
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

# allow: boots, the change is an info line, not a warning.
t_allow() {
	local pv=$TEST_TMP/pv-allow
	up_pod allow "$V1" "$pv" --on-image-change allow
	up_boot
	guest_changes
	pod_delete
	up_pod allow "$V2" "$pv" --on-image-change allow
	up_boot
	assert_file_has_content "$POD_PEER_LOG" '\] image changed: Busybox test 1 .* 6 upper entries shadow the new image'
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
	guest_changes
	pod_delete

	up_pod refuse "$V2" "$pv" --on-image-change refuse
	pod_start
	pod_wait_os 20 || { pod_logs; fail "stint did not give up on the refused image"; }
	pod_logs
	assert_eq "$POD_OS_RC" 3 "stint's exit status"
	assert_file_has_content "$POD_OS_LOG" 'peer aborted: on-image-change=refuse: the image changed from Busybox test 1 \([0-9a-f]{8}\) to Busybox test 2 \([0-9a-f]{8}\) and 6 upper entries shadow it \(meta/shadow on the volume\); nothing was booted. To boot the new image run `stint-peer image accept` in the peer container'
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

run_test "warn: the new image boots; the shadow report names exactly the shadowing upper entries" t_report_warn
run_test "allow: the new image boots, the change is logged as info" t_allow
run_test "refuse: nothing boots until stint-peer image accept, then the next start does" t_refuse
run_test "diff, export, and buildah: the pod's changes in a new image, booted fresh" t_diff_export_buildah
