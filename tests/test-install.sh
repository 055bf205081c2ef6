#!/usr/bin/env bash
# make install: PREFIX, BINDIR, MANDIR and DESTDIR honoured, modes right,
# the static build preferred when it exists, uninstall removes it all.
. "$(dirname "$0")/lib/libtest.sh"

PROGS=(stint)
[ -e "$TOP/src/peer/main.c" ] && PROGS+=(stint-peer)
# Man pages come from man/*.scd via scdoc (mk/man.mk).
PAGES=()
for f in "$TOP"/man/*.scd; do
	[ -e "$f" ] && PAGES+=("$(basename "$f" .scd)")
done

# Run make in the source tree, keeping the caller's SANITIZE (make check
# passes it down in MAKEFLAGS), quietly.
mk() { timeout 300 make -s -C "$TOP" "$@"; }

mode_of() { stat -c %a "$1"; }

test_prefix_destdir() {
	local d=$TEST_TMP/dest p page sec
	mk install DESTDIR="$d" PREFIX=/usr
	for p in "${PROGS[@]}"; do
		assert_exists "$d/usr/bin/$p"
		assert_eq "$(mode_of "$d/usr/bin/$p")" 755 "mode of $p"
		"$d/usr/bin/$p" --version | grep -q "^$p " || fail "installed $p does not run"
	done
	for page in "${PAGES[@]}"; do
		sec=${page##*.}
		assert_exists "$d/usr/share/man/man$sec/$page"
		assert_eq "$(mode_of "$d/usr/share/man/man$sec/$page")" 644 "mode of $page"
	done
	# Nothing outside PREFIX under DESTDIR.
	assert_eq "$(ls "$d")" usr
	assert_eq "$(find "$d/usr" -maxdepth 1 -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')" \
		"$( ( echo bin; [ ${#PAGES[@]} -gt 0 ] && echo share) | sort | tr '\n' ' ')"
}

test_bindir_mandir() {
	local d=$TEST_TMP/dest2 p page
	mk install DESTDIR="$d" BINDIR=/opt/stint/sbin MANDIR=/opt/stint/man
	for p in "${PROGS[@]}"; do
		assert_exists "$d/opt/stint/sbin/$p"
	done
	for page in "${PAGES[@]}"; do
		assert_exists "$d/opt/stint/man/man${page##*.}/$page"
	done
	assert_not_exists "$d/usr"
	assert_not_exists "$d/usr/local"
}

test_default_prefix() {
	local d=$TEST_TMP/dest3
	mk install DESTDIR="$d"
	assert_exists "$d/usr/local/bin/stint"
	[ ${#PAGES[@]} -eq 0 ] || assert_exists "$d/usr/local/share/man/man8/stint.8"
}

test_static_preferred() {
	local d=$TEST_TMP/dest4 p
	[ -x "$STINT_STATIC" ] || mk static
	mk install DESTDIR="$d" PREFIX=/usr
	for p in "${PROGS[@]}"; do
		cmp "$d/usr/bin/$p" "$TOP/build/static/$p" || fail "$p installed is not the static build"
		file "$d/usr/bin/$p" | grep -q 'statically linked' || fail "$p is not static"
	done
	mk install DESTDIR="$d/dev" PREFIX=/usr INSTALL_FROM=dev
	cmp "$d/dev/usr/bin/stint" "$STINT" || fail "INSTALL_FROM=dev did not install $STINT"
}

test_uninstall() {
	local d=$TEST_TMP/dest5
	mk install DESTDIR="$d" PREFIX=/usr
	mk uninstall DESTDIR="$d" PREFIX=/usr
	[ -z "$(find "$d" -type f)" ] || { find "$d" -type f; fail "files left after uninstall"; }
}

run_test "install honours PREFIX and DESTDIR, modes 755/644" test_prefix_destdir
run_test "install honours BINDIR and MANDIR" test_bindir_mandir
run_test "install defaults to PREFIX=/usr/local" test_default_prefix
run_test "install takes the static build when built (INSTALL_FROM=dev overrides)" test_static_preferred
run_test "uninstall removes what install put there" test_uninstall
