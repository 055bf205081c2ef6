#!/usr/bin/env bash
# stint's settings: INI file, environment and flags, and every bad input
# ending in one line that names the source and the reason.
. "$(dirname "$0")/lib/libtest.sh"

# expect_usage_error EXPECTED-LINE CMD...: exit 2 and exactly that one line.
expect_usage_error() {
	local want=$1 rc=0
	shift
	"$@" >out.txt 2>err.txt || rc=$?
	assert_eq "$rc" 2 "exit status of: $*"
	assert_eq "$(wc -l <err.txt)" 1 "one line of error"
	assert_eq "$(sed 's/^stint: \[+[0-9]* ms\] //' err.txt)" "error: $want"
	assert_eq "$(cat out.txt)" "" "nothing on stdout"
}

test_good_file_is_applied() {
	cat >good.ini <<-'INI'
	; comment
	[stint]
	socket = x.sock
	allow-uid = 0,1000
	root = /new
	timeout = 0.1
	on-failure = boot
	supervise = yes
	rewrite = TERM:RTMIN+3, INT:TERM
	grace = 3
	forward-group = on
	drop-caps = cap_sys_admin,cap_net_raw
	notify-socket = /run/host/notify
	container = podman
	log-level = debug
	command = /bin/echo from the file
	INI
	"$STINT" -c good.ini -- true 2>err.txt >/dev/null
	assert_file_has_content err.txt "settings: config=good.ini socket=x.sock allow-uid=0,1000 root=/new \
ready-file=\(none\) timeout=100ms on-failure=boot supervise=yes rewrite=15:37,2:15 grace=3000ms forward-group=yes \
drop-caps=cap_sys_admin,cap_net_raw notify-socket=/run/host/notify container=podman command=true"
	expect_usage_error "--socket: empty path (try --help)" "$STINT" -c good.ini --socket= -- true
}

test_file_values_reach_the_program() {
	printf '[stint]\nsupervise = yes\ncommand = /bin/echo from the file\nlog-level = debug\ncontainer = podman\n' >f.ini
	"$STINT" -c f.ini >out.txt 2>err.txt
	assert_eq "$(cat out.txt)" "from the file"
	assert_file_has_content err.txt 'settings: config=f.ini .*supervise=yes .*container=podman command=/bin/echo'
	# COMMAND on the command line wins over the file's
	assert_eq "$("$STINT" -c f.ini -- echo from argv 2>/dev/null)" "from argv"
}

# A key given twice: the later value counts (it once leaked the first
# command's list, which a SANITIZE=1 build reports).
test_key_twice() {
	printf '[stint]\nsupervise = yes\ncommand = /bin/echo first\ncommand = /bin/echo second\nroot = /a\nroot = /b\n' >twice.ini
	assert_eq "$("$STINT" -q -c twice.ini 2>err.txt)" "second"
	assert_eq "$(cat err.txt)" ""
}

test_precedence_file_env_flag() {
	printf '[stint]\ntimeout = 1\nroot = /from-file\nlog-level = debug\n' >p.ini
	"$STINT" -c p.ini -- true 2>err.txt
	assert_file_has_content err.txt 'root=/from-file ready-file=\(none\) timeout=1000ms'
	STINT_ROOT=/from-env STINT_TIMEOUT=2 "$STINT" -c p.ini -- true 2>err.txt
	assert_file_has_content err.txt 'root=/from-env ready-file=\(none\) timeout=2000ms'
	STINT_ROOT=/from-env STINT_TIMEOUT=2 "$STINT" -c p.ini -r /from-flag -t 3 -- true 2>err.txt
	assert_file_has_content err.txt 'root=/from-flag ready-file=\(none\) timeout=3000ms'
	STINT_CONFIG=p.ini "$STINT" -- true 2>err.txt
	assert_file_has_content err.txt 'config=p.ini'
}

test_log_levels() {
	"$STINT" -- true 2>err.txt
	assert_file_has_content err.txt 'exec true'
	"$STINT" -q -- true 2>err.txt
	assert_eq "$(cat err.txt)" ""
	STINT_LOG_LEVEL=quiet "$STINT" -- true 2>err.txt
	assert_eq "$(cat err.txt)" ""
	"$STINT" -q -- /no/such 2>err.txt || true
	assert_file_has_content err.txt 'error: exec /no/such: No such file or directory'
}

test_bad_files() {
	printf '[stint]\nsocket = /a\nsokcet = /b\n' >k.ini
	expect_usage_error "k.ini:3: unknown key 'sokcet'" "$STINT" -c k.ini
	printf '[stint]\ntimeout = soon\n' >v.ini
	expect_usage_error "v.ini:2: timeout: 'soon' is not a number of seconds" "$STINT" -c v.ini
	printf '[init]\nroot = /x\n' >s.ini
	expect_usage_error "s.ini:2: unknown section [init] (stint reads [stint])" "$STINT" -c s.ini
	printf '[stint]\nthis line has no equals sign\n' >x.ini
	expect_usage_error "x.ini:2: syntax error (expected [section] or key = value)" "$STINT" -c x.ini
	printf '[stint]\nthis line has no equals sign\nsokcet = /b\n' >xk.ini
	expect_usage_error "xk.ini:2: syntax error (expected [section] or key = value)" "$STINT" -c xk.ini
	printf '[stint]\nsocket = /%0300d\nsokcet = /b\n' 1 >long.ini
	expect_usage_error "long.ini:2: line longer than 198 bytes" "$STINT" -c long.ini
	printf '[stint]\nroot = relative\n' >r.ini
	expect_usage_error "r.ini:2: root: 'relative' is not an absolute path" "$STINT" -c r.ini
	printf '[stint]\nsupervise = maybe\n' >b.ini
	expect_usage_error "b.ini:2: supervise: 'maybe' is not a boolean (yes/no)" "$STINT" -c b.ini
	expect_usage_error "config file missing.ini: No such file or directory" "$STINT" -c missing.ini
	expect_usage_error "config file missing.ini: No such file or directory" env STINT_CONFIG=missing.ini "$STINT"
}

test_bad_flags_and_env() {
	expect_usage_error "--on-failure: 'reboot' is not one of exit, boot (try --help)" "$STINT" --on-failure reboot
	expect_usage_error "--allow-uid: 'root' is not a numeric uid (try --help)" "$STINT" --allow-uid 0,root
	# Cut to fit, 70 zeros and a 1 would read as uid 0: refused whole.
	expect_usage_error "--allow-uid: '0000000000000000...' is longer than 63 bytes (try --help)" \
		"$STINT" --allow-uid "$(printf '0%.0s' $(seq 70))1"
	expect_usage_error "--rewrite: 'FOO' is not a signal (try --help)" "$STINT" --rewrite FOO:TERM
	expect_usage_error "--rewrite: 'TERM' is not FROM:TO (try --help)" "$STINT" --rewrite TERM
	expect_usage_error "--rewrite: signal KILL cannot be rewritten (try --help)" "$STINT" --rewrite KILL:TERM
	expect_usage_error "--drop-caps: 'cap_bogus' is not a capability name (e.g. cap_sys_admin) (try --help)" \
		"$STINT" --drop-caps cap_chown,cap_bogus
	expect_usage_error "--timeout: '-1' is not a number of seconds (try --help)" "$STINT" --timeout -1
	expect_usage_error "--grace: '1x' is not a number of seconds (try --help)" "$STINT" --grace 1x
	expect_usage_error "--socket: '/$(printf 'x%.0s' $(seq 120))' is longer than a unix socket path may be (107 bytes) (try --help)" \
		"$STINT" --socket "/$(printf 'x%.0s' $(seq 120))"
	expect_usage_error "option --bogus is unknown (try --help)" "$STINT" --bogus
	expect_usage_error "option -s needs an argument (try --help)" "$STINT" -s
	expect_usage_error "environment STINT_TIMEOUT: 'x' is not a number of seconds" env STINT_TIMEOUT=x "$STINT"
	expect_usage_error "environment STINT_LOG_LEVEL: 'loud' is not one of error, warn, info, debug" \
		env STINT_LOG_LEVEL=loud "$STINT"
	expect_usage_error "ready-file '/r' needs a socket: the peer gets the namespaces from it (try --help)" \
		"$STINT" --ready-file /r
}

test_help_and_version() {
	"$STINT" --help >help.txt 2>err.txt
	assert_file_has_content help.txt '^Usage: stint \[OPTIONS\]'
	assert_eq "$(cat err.txt)" ""
	for opt in config socket allow-uid root ready-file timeout on-failure supervise rewrite grace \
		forward-group drop-caps notify-socket container log-level peer-timeout verbose quiet version help; do
		assert_file_has_content help.txt "--$opt"
	done
	assert_eq "$("$STINT" --version)" "stint 0.1.0"
}

test_stop_at_first_non_option() {
	assert_eq "$("$STINT" -q echo -v --help)" "-v --help"
}

for t in $(declare -F | awk '$3 ~ /^test_/ {print $3}'); do
	run_test "${t#test_}" "$t"
done
