/* Unit tests of the init's settings (the key table in init/options.c, read
 * by src/config.c) and signal names (init/signals.c): every key, good and
 * bad, from files and flags. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../init/init.h"
#include "stint/log.h"
#include "tap.h"

static struct config cfg;
static char err[512];

static int set(const char *key, const char *value)
{
	err[0] = '\0';
	return cfg_set(&config_program, &cfg, key, value, CFG_FROM_FLAG, err, sizeof(err));
}

#define BAD(key, value, msg)                                                                                   \
	do {                                                                                                   \
		int rc_ = set(key, value);                                                                     \
		ok(rc_ == -1 && strcmp(err, msg) == 0, "%s = '%s' refused: %s", key, value, err);             \
	} while (0)

static void test_keys(void)
{
	ok(set("socket", "/run/stint/stint.sock") == 0 && strcmp(cfg.socket, "/run/stint/stint.sock") == 0,
	   "socket");
	ok(set("timeout", "1.25") == 0 && cfg.timeout_ms == 1250, "timeout 1.25 = 1250 ms");
	ok(set("timeout", "0") == 0 && cfg.timeout_ms == 0, "timeout 0 = forever");
	BAD("timeout", "-1", "timeout: '-1' is not a number of seconds");
	BAD("timeout", "1e9", "timeout: '1e9' is not a number of seconds");
	BAD("timeout", "", "timeout: '' is not a number of seconds");
	ok(set("grace", "2") == 0 && cfg.grace_ms == 2000, "grace 2");
	ok(set("allow-uid", "0, 1000,65534") == 0 && cfg.n_allow_uid == 3 && cfg.allow_uid[2] == 65534,
	   "allow-uid list with spaces");
	BAD("allow-uid", "0,-1", "allow-uid: '-1' is not a numeric uid");
	BAD("allow-uid", "4294967295", "allow-uid: '4294967295' is not a numeric uid");
	BAD("allow-uid", ",", "allow-uid: empty uid list");
	ok(set("root", "/new") == 0 && strcmp(cfg.root, "/new") == 0, "root");
	BAD("root", "new", "root: 'new' is not an absolute path");
	BAD("root", "", "root: empty path");
	ok(set("on-failure", "boot") == 0 && cfg.on_failure == ON_FAILURE_BOOT, "on-failure boot");
	ok(set("on-failure", "exit") == 0 && cfg.on_failure == ON_FAILURE_EXIT, "on-failure exit");
	BAD("on-failure", "Exit", "on-failure: 'Exit' is not one of exit, boot");
	ok(set("supervise", "Yes") == 0 && cfg.supervise, "supervise Yes");
	ok(set("supervise", "off") == 0 && !cfg.supervise, "supervise off");
	BAD("supervise", "2", "supervise: '2' is not a boolean (yes/no)");
	ok(set("drop-caps", "cap_sys_admin, cap_net_raw") == 0, "drop-caps names");
	ok(set("drop-caps", "all") == 0, "drop-caps all");
	BAD("drop-caps", "sys_admin", "drop-caps: 'sys_admin' is not a capability name (e.g. cap_sys_admin)");
	BAD("drop-caps", "", "drop-caps: empty list");
	BAD("notify-socket", "run/notify", "notify-socket: 'run/notify' is not an absolute path");
	ok(set("container", "") == 0 && cfg.container[0] == '\0', "container may be empty");
	ok(set("log-level", "debug") == 0 && cfg.log_level == LOG_DEBUG, "log-level debug");
	BAD("log-level", "loud", "log-level: 'loud' is not one of error, warn, info, debug");
	BAD("command", "/bin/x", "unknown key 'command'"); /* file only */
	BAD("bogus", "1", "unknown key 'bogus'");
	{
		char longpath[200];
		memset(longpath, 'x', sizeof(longpath) - 1);
		longpath[0] = '/';
		longpath[sizeof(longpath) - 1] = '\0';
		ok(set("socket", longpath) == -1 && strstr(err, "longer than a unix socket path may be (107 bytes)"),
		   "socket path over sun_path refused");
	}
}

static void test_rewrite(void)
{
	char e[256];

	cfg.n_rewrite = 0;
	cfg.rewrite_source = CFG_FROM_DEFAULT;
	ok(cfg_set(&config_program, &cfg, "rewrite", "TERM:RTMIN+3, INT:TERM", CFG_FROM_FILE, e, sizeof(e)) == 0 &&
		   cfg.n_rewrite == 2 &&
		   cfg.rewrite[0].from == SIGTERM && cfg.rewrite[0].to == 37 && cfg.rewrite[1].to == SIGTERM,
	   "rewrite list from the file");
	ok(cfg_set(&config_program, &cfg, "rewrite", "HUP:USR1", CFG_FROM_FLAG, e, sizeof(e)) == 0 && cfg.n_rewrite == 1 &&
		   cfg.rewrite[0].from == SIGHUP,
	   "a flag replaces the file's rewrites");
	ok(cfg_set(&config_program, &cfg, "rewrite", "USR2:USR1", CFG_FROM_FLAG, e, sizeof(e)) == 0 && cfg.n_rewrite == 2,
	   "a second flag adds to the first");
	BAD("rewrite", "TERM", "rewrite: 'TERM' is not FROM:TO");
	BAD("rewrite", "TERM:NOPE", "rewrite: 'NOPE' is not a signal");
	BAD("rewrite", "CHLD:TERM", "rewrite: signal CHLD cannot be rewritten");
}

static void test_signal_names(void)
{
	static const struct {
		const char *name;
		int signo;
	} cases[] = {
		{ "TERM", SIGTERM }, { "SIGTERM", SIGTERM }, { "sigterm", SIGTERM }, { "15", SIGTERM },
		{ "RTMIN", 34 },     { "RTMIN+3", 37 },	     { "SIGRTMIN+3", 37 },   { "RTMAX", 64 },
		{ "RTMAX-1", 63 },   { "64", 64 },	     { "WINCH", SIGWINCH },  { "PWR", SIGPWR },
		{ "65", -1 },	     { "0", -1 },	     { "RTMIN+31", -1 },     { "RTMIN3", -1 },
		{ "FOO", -1 },	     { "", -1 },	     { "+3", -1 },	     { "RTMAX+1", -1 },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(signal_parse(cases[i].name) == cases[i].signo, "signal '%s' = %d", cases[i].name, cases[i].signo);
	ok(strcmp(signal_describe(37, buf, sizeof(buf)), "SIGRTMIN+3") == 0, "37 is SIGRTMIN+3");
	ok(strcmp(signal_describe(SIGTERM, buf, sizeof(buf)), "SIGTERM") == 0, "15 is SIGTERM");
	ok(signal_stops_init(SIGTERM) && signal_stops_init(37) && signal_stops_init(SIGUSR2), "stop signals");
	ok(!signal_stops_init(SIGCHLD) && !signal_stops_init(SIGWINCH), "bookkeeping signals do not stop");
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Parse TEXT as a file; return the one-line error after the file's name
 * (":LINE: reason"), or "" when it parsed. */
static int parse_text(const char *text, char *logged, size_t len)
{
	char path[] = "/tmp/stint-config-XXXXXX";
	int fd = mkstemp(path), rc;

	close(fd);
	write_file(path, text);
	logged[0] = '\0';
	rc = cfg_file(&config_program, &cfg, path, true, logged, len);
	if (rc < 0 && strncmp(logged, path, strlen(path)) == 0)
		memmove(logged, logged + strlen(path), strlen(logged + strlen(path)) + 1);
	unlink(path);
	return rc;
}

static void test_files(void)
{
	char logged[1024];

	ok(parse_text("[stint]\nsocket = /s\n; comment\n# comment\ntimeout = 3\ncommand = /sbin/init --log-level=info\n",
		      logged, sizeof(logged)) == 0 &&
		   cfg.timeout_ms == 3000 && cfg.file_command.n == 2 && strcmp(cfg.file_command.v[1], "--log-level=info") == 0,
	   "good file, command split on spaces");
	ok(parse_text("[stint]\nsocket = /s\nnope = 1\n", logged, sizeof(logged)) == -1 &&
		   strcmp(logged, ":3: unknown key 'nope'") == 0,
	   "unknown key names its line: %s", logged);
	ok(parse_text("[other]\nsocket = /s\n", logged, sizeof(logged)) == -1 &&
		   strcmp(logged, ":2: unknown section [other] (stint reads [stint])") == 0,
	   "unknown section: %s", logged);
	ok(parse_text("[stint]\ngrace = x\nnope = 1\n", logged, sizeof(logged)) == -1 &&
		   strcmp(logged, ":2: grace: 'x' is not a number of seconds") == 0,
	   "the first error is reported: %s", logged);
	ok(parse_text("[stint\n", logged, sizeof(logged)) == -1 && strstr(logged, ":1: syntax error"),
	   "syntax error: %s", logged);
	ok(cfg_file(&config_program, &cfg, "/nonexistent/stint.ini", false, logged, sizeof(logged)) == 0,
	   "a missing default file is fine");
}

int main(void)
{
	tap_init();
	log_init("stint");
	test_keys();
	test_rewrite();
	test_signal_names();
	test_files();
	diag("settings parser and signal names");
	return tap_done();
}
