#!/usr/bin/env bash
# make static: fully static musl binaries that run with no libc at all
# (an empty root), and that are really the musl build with libcap and inih.
. "$(dirname "$0")/lib/libtest.sh"
. "$TOP/tests/lib/rootfs.sh"

BINS=("$STINT_STATIC")
[ -e "$TOP/src/peer/main.c" ] && BINS+=("$STINT_PEER_STATIC")

test_statically_linked() {
	local b
	for b in "${BINS[@]}"; do
		assert_exists "$b"
		file -L "$b" | tee -a /dev/stderr | grep -q 'statically linked' || fail "$b is not statically linked"
		# A musl binary, not glibc: glibc's static binaries carry this string.
		! grep -qa 'GLIBC_PRIVATE\|glibc' "$b" || fail "$b contains glibc"
		! readelf -lW "$b" | grep -q INTERP || fail "$b has a program interpreter"
		readelf -SW "$b" | grep -q '\.debug_' && fail "$b is not stripped"
	done
	return 0
}

# The proof that nothing is needed at run time: an empty directory with
# only the binary in it, as root.
test_runs_in_empty_root() {
	local root=$TEST_TMP/empty b out rc mode
	mkdir -p "$root"
	for b in "${BINS[@]}"; do
		cp "$b" "$root/"
		out=$(timeout 10 chroot "$root" "/$(basename "$b")" --version)
		echo "$out"
		assert_eq "$out" "$(basename "$b") $(sed -n 's/^VERSION *:= *//p' "$TOP/Makefile")"
	done
	# Supervise mode in the empty root: fork, exec, reap, exit status passthrough.
	cp "$STINT_STATIC" "$root/stint"
	set +e
	timeout 10 chroot "$root" /stint --supervise -- /stint --version >"$TEST_TMP/out" 2>&1
	rc=$?
	set -e
	cat "$TEST_TMP/out"
	assert_eq "$rc" 0 "stint --supervise -- stint --version"
	for mode in --supervise --quiet; do
		set +e
		timeout 10 chroot "$root" /stint "$mode" -- /nonexistent 2>"$TEST_TMP/err"
		rc=$?
		set -e
		cat "$TEST_TMP/err"
		assert_eq "$rc" 127 "stint $mode -- /nonexistent"
		assert_file_has_content "$TEST_TMP/err" 'exec /nonexistent: No such file or directory'
	done
}

# libcap linked in works: --drop-caps parses capability names with
# libcap's cap_from_name() and drops them from the bounding set.
test_libcap_linked() {
	local root=$TEST_TMP/capsroot out bnd
	make_busybox_rootfs "$root"
	cp "$STINT_STATIC" "$root/stint"
	mount -t proc proc "$root/proc"
	defer umount -l "$root/proc"
	out=$(timeout 10 chroot "$root" /stint --drop-caps cap_sys_admin,cap_net_raw -- /bin/grep CapBnd /proc/self/status)
	echo "$out"
	bnd=$(awk '/CapBnd/ {print $2}' <<<"$out")
	[ -n "$bnd" ] || fail "no CapBnd line"
	# CAP_SYS_ADMIN is bit 21, CAP_NET_RAW bit 13: both must be gone, CAP_CHOWN (0) kept.
	(((0x$bnd >> 21) & 1)) && fail "CAP_SYS_ADMIN still in the bounding set ($bnd)"
	(((0x$bnd >> 13) & 1)) && fail "CAP_NET_RAW still in the bounding set ($bnd)"
	(((0x$bnd >> 0) & 1)) || fail "CAP_CHOWN dropped too ($bnd)"
	timeout 10 chroot "$root" /stint --drop-caps cap_no_such -- /bin/true 2>"$TEST_TMP/err" &&
		fail "an unknown capability name was accepted"
	cat "$TEST_TMP/err"
	assert_file_has_content "$TEST_TMP/err" cap_no_such
}

# inih linked in works: a config file is read (and an error names file:line).
test_inih_linked() {
	local root=$TEST_TMP/iniroot rc
	mkdir -p "$root"
	cp "$STINT_STATIC" "$root/stint"
	printf '[stint]\nsupervise = true\n' >"$root/good.ini"
	printf '[stint]\nsupervise = true\nno_such_key = 1\n' >"$root/bad.ini"
	timeout 10 chroot "$root" /stint -c /good.ini -- /stint --version
	set +e
	timeout 10 chroot "$root" /stint -c /bad.ini -- /stint --version 2>"$TEST_TMP/err"
	rc=$?
	set -e
	cat "$TEST_TMP/err"
	assert_eq "$rc" 2 "exit status for a bad config"
	assert_file_has_content "$TEST_TMP/err" 'bad\.ini:3'
}

test_size_recorded() {
	local b
	for b in "${BINS[@]}"; do
		echo "# $(basename "$b"): $(stat -c %s "$b") bytes; $(size "$b" | tail -n 1 | awk '{print "text " $1 ", data " $2 ", bss " $3}')"
	done
	# The init stays within 64 KiB (docs/building.md says what each part
	# costs): a printf/fprintf, a strtod, a setenv or a free() in the init
	# brings musl's vfprintf, float parser or allocator back and fails here.
	[ "$(stat -c %s "$STINT_STATIC")" -le 65536 ] || fail "static stint over 64 KiB: $(stat -c %s "$STINT_STATIC") bytes"
}

run_test "static binaries are statically linked, musl, stripped" test_statically_linked
run_test "static binaries run in an empty root" test_runs_in_empty_root
run_test "libcap is linked in and works (--drop-caps)" test_libcap_linked
run_test "inih is linked in and works (-c FILE, file:line errors)" test_inih_linked
run_test "static binary sizes" test_size_recorded
