#!/usr/bin/env bash
# The man pages match the programs: they build with scdoc, every long option
# each program's --help prints is documented in its page, every stint.ini key
# is in stint.ini(5), and the pages name the same exit codes as --help.
source "$(dirname "$0")/../lib/libtest.sh"

MAN=$TOP/man

# long_options PROGRAM [SUBCOMMAND]: the --options its help text lists,
# and the prepare keys (each also an option) stint-peer lists after "keys:".
long_options() {
	"$@" --help 2>&1 | awk '
		/keys:/ { k = 1; sub(/.*keys:/, "") }
		/^  [a-z]/ { k = 0 }
		k { for (i = 1; i <= NF; i++) print "--" $i }
		{ print }' | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u
}

test_pages_build() {
	command -v scdoc >/dev/null || fail "scdoc not installed (apt-get install scdoc)"
	local p
	for p in stint.8 stint-peer.8 stint.ini.5; do
		assert_exists "$MAN/$p.scd"
		scdoc <"$MAN/$p.scd" >"$TEST_TMP/$p" || fail "scdoc rejects $p.scd"
		[ -s "$TEST_TMP/$p" ] || fail "$p is empty"
		# Rendered by man(1) without warnings about the roff scdoc wrote.
		if command -v man >/dev/null; then
			MANWIDTH=80 man -l "$TEST_TMP/$p" >/dev/null 2>"$TEST_TMP/$p.err" || fail "man cannot render $p"
			[ ! -s "$TEST_TMP/$p.err" ] || { cat "$TEST_TMP/$p.err"; fail "man warns about $p"; }
		fi
	done
}

# options_documented PAGE PROGRAM [SUBCOMMAND...]: every long option of the
# help appears as *--option* in the page.
options_documented() {
	local page=$1 opt missing=()
	shift
	local opts
	opts=$(long_options "$@")
	[ -n "$opts" ] || fail "$* --help lists no long option"
	for opt in $opts; do
		grep -qE -- "\*[^*]*$opt([^a-z0-9-]|$)" "$MAN/$page" || missing+=("$opt")
	done
	[ ${#missing[@]} -eq 0 ] || fail "$page lacks: ${missing[*]}"
}

test_stint_options() {
	options_documented stint.8.scd "$STINT"
}

test_peer_options() {
	[ -x "$STINT_PEER" ] || fail "$STINT_PEER not built"
	local sub
	options_documented stint-peer.8.scd "$STINT_PEER"
	for sub in exec ready abort prepare status enter attach doctor image diff export; do
		"$STINT_PEER" "$sub" --help >/dev/null 2>&1 || continue
		options_documented stint-peer.8.scd "$STINT_PEER" "$sub"
	done
}

# Every key stint accepts in its [stint] section is described in stint.ini(5),
# and every key the page describes is accepted: feed each to a real stint.
test_ini_keys() {
	local keys key missing=()
	keys=$(long_options "$STINT" | sed 's/^--//' | grep -vxE 'config|help|version|verbose|quiet')
	for key in $keys log-level command; do
		grep -qE "^\*$key\*" "$MAN/stint.ini.5.scd" || missing+=("$key")
	done
	[ ${#missing[@]} -eq 0 ] || fail "stint.ini.5.scd lacks keys: ${missing[*]}"
	# The page's keys, each tried in a file: unknown ones would exit 2.
	local rc n=0
	for key in $(grep -oE '^\*[a-z-]+\* = ' "$MAN/stint.ini.5.scd" | tr -d '*= '); do
		n=$((n + 1))
		printf '[stint]\n%s = %s\n' "$key" "$(sample_value "$key")" >"$TEST_TMP/k.ini"
		# A socket makes stint wait for a peer: a short timeout ends that
		# run (exit 3). ready-file needs a socket.
		case $key in
		socket) echo "timeout = 0.1" >>"$TEST_TMP/k.ini" ;;
		ready-file) printf 'socket = %s/k.sock\ntimeout = 0.1\n' "$TEST_TMP" >>"$TEST_TMP/k.ini" ;;
		esac
		rc=0
		timeout 5 "$STINT" -c "$TEST_TMP/k.ini" -- true >"$TEST_TMP/k.out" 2>&1 || rc=$?
		[ $rc -ne 2 ] && [ $rc -ne 124 ] ||
			{ cat "$TEST_TMP/k.ini" "$TEST_TMP/k.out"; fail "stint rejects documented key '$key' (exit $rc)"; }
	done
	[ $n -ge 15 ] || fail "only $n keys found in stint.ini.5.scd"
	# And a key stint does not know is refused the same way (the check bites).
	printf '[stint]\nno-such-key = 1\n' >"$TEST_TMP/k.ini"
	rc=0
	"$STINT" -c "$TEST_TMP/k.ini" -- true >/dev/null 2>&1 || rc=$?
	assert_eq "$rc" 2 "exit status for an unknown key"
}

sample_value() {
	case $1 in
	socket) echo "$TEST_TMP/s.sock" ;;
	notify-socket) echo /run/host/notify ;;
	ready-file) echo "$TEST_TMP/ready" ;;
	root) echo / ;;
	allow-uid) echo 0 ;;
	timeout | grace | peer-timeout) echo 1 ;;
	on-failure) echo exit ;;
	supervise | forward-group) echo no ;;
	rewrite) echo TERM:RTMIN+3 ;;
	drop-caps) echo cap_sys_boot ;;
	container) echo stint ;;
	log-level) echo quiet ;;
	command) echo true ;;
	*) echo x ;;
	esac
}

# docs/peer.md's key table has every key `stint-peer prepare --help` lists
# (the help is generated from the key table in src/peer/config.c).
test_peer_md_keys() {
	local key missing=()
	[ -x "$STINT_PEER" ] || fail "$STINT_PEER not built"
	for key in $(long_options "$STINT_PEER" prepare | sed 's/^--//' | grep -vxE 'config|help|version|verbose|quiet'); do
		grep -qF -- "\`$key\`" "$TOP/docs/peer.md" || missing+=("$key")
	done
	[ ${#missing[@]} -eq 0 ] || fail "docs/peer.md lacks keys: ${missing[*]}"
}

# Every variable a --help names (env STINT_X) is in the program's page.
test_env_documented() {
	local var missing=()
	for var in $("$STINT" --help | grep -oE 'env STINT_[A-Z_]+' | cut -d' ' -f2 | sort -u); do
		grep -qF -- "*$var*" "$MAN/stint.8.scd" || missing+=("stint.8: $var")
	done
	for var in $("$STINT_PEER" prepare --help | grep -oE 'env STINT_[A-Z_]+' | cut -d' ' -f2 | sort -u); do
		grep -qF -- "$var" "$MAN/stint-peer.8.scd" || missing+=("stint-peer.8: $var")
	done
	[ ${#missing[@]} -eq 0 ] || fail "undocumented variables: ${missing[*]}"
}

test_exit_codes() {
	local code
	for code in 1 2 3 126 127; do
		grep -qE "^\*$code\*" "$MAN/stint.8.scd" || fail "stint.8 does not document exit status $code"
	done
}

# README.md's troubleshooting table quotes the programs' messages: each
# quoted fragment must still be in the C sources (and in the README), so a
# reworded message fails here instead of leaving the table stale.
test_readme_messages() {
	local frag missing=()
	while IFS= read -r frag; do
		[ -n "$frag" ] || continue
		grep -qF -- "$frag" "$TOP/README.md" || missing+=("README: $frag")
		grep -rqF -- "$frag" "$TOP/init" "$TOP/src" || missing+=("code: $frag")
	done <<'EOF'
waiting for the peer
a peer is connected but did not finish
uid not in allow-uid
peer aborted: 
handoff failed; exiting (on-failure=exit)
needs CAP_SYS_CHROOT; without it let the peer pivot instead
directory of 
exists and is not a socket: removing it
unknown key '
which is NOT persistent
persistent volume 
cannot hold overlayfs' 
does not report file types (d_type)
are on different filesystems; overlayfs needs one
setns into the init's mount namespace
the target has no mount at 
is the overlay module loaded?
no init listens on 
it has already switched root (or has not started yet)
the peer has not run yet
was made by a pod without a user namespace (trusted.overlay.* xattrs)
was made by a pod with a user namespace (user.overlay.* xattrs)
not in the sidecar: no control socket
no OS booted yet
the OS is not running: the init of boot
this peer holds no handle on the running OS
after it was asked to halt
upper entries shadowing the new image: 
on-image-change=refuse: the image changed from 
EOF
	[ ${#missing[@]} -eq 0 ] || { printf '%s\n' "${missing[@]}"; fail "README.md and the code disagree"; }
}

# docs/architecture.md names every source file, and no file that is gone.
test_architecture_files() {
	local f missing=() stale=()
	for f in "$TOP"/init/*.c "$TOP"/src/*.c "$TOP"/src/peer/*.c; do
		f=${f#"$TOP"/}
		# Listed as `init/x.c`, or as `x.c` in a row naming its directory.
		grep -qF -- "${f##*/}" "$TOP/docs/architecture.md" || missing+=("$f")
	done
	for f in $(grep -oE '`(init|src|src/peer)/[a-z_]+\.c`' "$TOP/docs/architecture.md" | tr -d '`' | sort -u); do
		[ -e "$TOP/$f" ] || stale+=("$f")
	done
	[ ${#missing[@]} -eq 0 ] || fail "docs/architecture.md does not mention: ${missing[*]}"
	[ ${#stale[@]} -eq 0 ] || fail "docs/architecture.md names files that do not exist: ${stale[*]}"
}

# examples/stint.ini shows every key stint accepts, and stint accepts the
# file with every key uncommented (socket and ready-file pointed into the
# test dir and a short timeout by flags, which override the file: exit 3,
# the handoff timed out, means the file parsed).
test_example_stint_ini() {
	local keys key missing=() rc=0
	keys=$(long_options "$STINT" | sed 's/^--//' | grep -vxE 'config|help|version|verbose|quiet')
	for key in $keys log-level command; do
		grep -qE "^;$key = " "$TOP/examples/stint.ini" || missing+=("$key")
	done
	[ ${#missing[@]} -eq 0 ] || fail "examples/stint.ini lacks: ${missing[*]}"
	sed 's/^;//' "$TOP/examples/stint.ini" >all.ini
	timeout 10 "$STINT" -c all.ini --socket "$TEST_TMP/s.sock" --ready-file "$TEST_TMP/ready" \
		--timeout 0.1 -- true >out.txt 2>&1 || rc=$?
	cat out.txt
	assert_eq "$rc" 3 "stint on examples/stint.ini uncommented (2 = config error)"
}

run_test "man pages build with scdoc and render" test_pages_build
run_test "stint(8) documents every stint --help option" test_stint_options
run_test "stint-peer(8) documents every stint-peer --help option" test_peer_options
run_test "stint.ini(5) documents exactly the keys stint accepts" test_ini_keys
run_test "docs/peer.md lists every prepare key" test_peer_md_keys
run_test "the man pages name every variable --help names" test_env_documented
run_test "stint(8) documents the exit codes" test_exit_codes
run_test "README.md's troubleshooting messages exist in the code" test_readme_messages
run_test "docs/architecture.md covers every source file" test_architecture_files
run_test "examples/stint.ini has every key and parses" test_example_stint_ini
