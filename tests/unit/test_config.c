/* Unit tests of the init's settings (the key table in init/options.c, read
 * by src/config.c) and signal names (init/signals.c): every key, good and
 * bad, from files and flags. */
#include <ctype.h>
#include <signal.h>
#include <sys/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../init/init.h"
#include "cfg_check.h"
#include "stint/log.h"
#include "tap.h"

static struct config cfg;
static char err[512];

static int set(const char *key, const char *value)
{
	err[0] = '\0';
	return cfg_set(&config_program, &cfg, key, value, CFG_FROM_FLAG, err, sizeof(err));
}

#define BAD(key, value, msg)                                                                                           \
	do {                                                                                                           \
		int rc_ = set(key, value);                                                                             \
		ok(rc_ == -1 && strcmp(err, msg) == 0, "%s = '%s' refused: %s", key, value, err);                      \
	} while (0)

static void test_keys(void)
{
	ok(set("socket", "/run/stint/stint.sock") == 0 && strcmp(cfg.socket, "/run/stint/stint.sock") == 0, "socket");
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
		   cfg.n_rewrite == 2 && cfg.rewrite[0].from == SIGTERM && cfg.rewrite[0].to == 37 &&
		   cfg.rewrite[1].to == SIGTERM,
	   "rewrite list from the file");
	ok(cfg_set(&config_program, &cfg, "rewrite", "HUP:USR1", CFG_FROM_FLAG, e, sizeof(e)) == 0 &&
		   cfg.n_rewrite == 1 && cfg.rewrite[0].from == SIGHUP,
	   "a flag replaces the file's rewrites");
	ok(cfg_set(&config_program, &cfg, "rewrite", "USR2:USR1", CFG_FROM_FLAG, e, sizeof(e)) == 0 &&
		   cfg.n_rewrite == 2,
	   "a second flag adds to the first");
	BAD("rewrite", "TERM", "rewrite: 'TERM' is not FROM:TO");
	BAD("rewrite", "TERM:NOPE", "rewrite: 'NOPE' is not a signal");
	BAD("rewrite", "CHLD:TERM", "rewrite: signal CHLD cannot be rewritten");
}

/* The fields of stint's CFG_CUSTOM keys, as text. */
static void render_init(const struct cfg_key *k, const void *cfg_, char *out, size_t len)
{
	const struct config *c = cfg_;
	size_t off = 0;

	if (strcmp(k->name, "allow-uid") == 0) {
		for (size_t i = 0; i < c->n_allow_uid; i++)
			off += (size_t)snprintf(out + off, len - off, "%s%u", i ? "," : "", c->allow_uid[i]);
	} else if (strcmp(k->name, "rewrite") == 0) {
		for (size_t i = 0; i < c->n_rewrite; i++)
			off += (size_t)snprintf(out + off, len - off, "%s%d:%d", i ? "," : "", c->rewrite[i].from,
						c->rewrite[i].to);
	} else if (strcmp(k->name, "log-level") == 0) {
		snprintf(out, len, "%d", c->log_level);
	} else if (strcmp(k->name, "command") == 0) {
		for (size_t i = 0; i < c->file_command.n; i++)
			off += (size_t)snprintf(out + off, len - off, "%s%s", i ? "|" : "", c->file_command.v[i]);
	} else {
		const char *str = *(const char *const *)((const char *)cfg_ + k->off);

		snprintf(out, len, "%s", str ? str : "(null)");
	}
}

static const struct sample init_samples[] = {
	{ "socket", "/run/s.sock", "/run/s.sock" },
	{ "allow-uid", "0, 1000", "0,1000" },
	{ "root", "/new", "/new" },
	{ "ready-file", "/r", "/r" },
	{ "timeout", "1.5", "1500ms" },
	{ "peer-timeout", "2", "2000ms" },
	{ "on-failure", "boot", "boot" },
	{ "supervise", "yes", "yes" },
	{ "rewrite", "TERM:RTMIN+3", "15:37" },
	{ "grace", "0.25", "250ms" },
	{ "forward-group", "on", "yes" },
	{ "drop-caps", "cap_sys_admin", "cap_sys_admin" },
	{ "notify-socket", "/run/n", "/run/n" },
	{ "container", "podman", "podman" },
	{ "log-level", "debug", "3" },
	{ "command", "/bin/x -y", "/bin/x|-y" },
	{ NULL, NULL, NULL },
};

static void test_every_key(void)
{
	struct config c;

	check_every_key(&config_program, &c, sizeof(c), init_samples, render_init);
	check_help_lists_every_key(&config_program);
}

/* config_load() as stint runs it; exits on error, so errors go to the
 * cfg_load() tests below. */
static int load(struct config *c, int argc, char **argv, char *e, size_t elen)
{
	struct cfg_args a;

	cfg_store_reset();
	memset(c, 0, sizeof(*c));
	return cfg_load(&config_program, c, argc, argv, &a, e, elen);
}

static void test_precedence(void)
{
	char e[512], file[] = "-c", *path;
	struct config c;

	path = (char *)ini_file("[stint]\ntimeout = 1\nroot = /file\ncontainer = file\nrewrite = INT:TERM\n");
	{
		char *argv[] = { "stint", file, path, NULL };
		ok(load(&c, 3, argv, e, sizeof(e)) == 0 && c.timeout_ms == 1000 && strcmp(c.root, "/file") == 0 &&
			   strcmp(c.config_file, path) == 0,
		   "the file over the defaults: %s", e);
	}
	setenv("STINT_TIMEOUT", "2", 1);
	setenv("STINT_ROOT", "/env", 1);
	{
		char *argv[] = { "stint", file, path, NULL };
		ok(load(&c, 3, argv, e, sizeof(e)) == 0 && c.timeout_ms == 2000 && strcmp(c.root, "/env") == 0 &&
			   strcmp(c.container, "file") == 0,
		   "the environment over the file: %s", e);
	}
	{
		char *argv[] = { "stint",     "-t",	  "3",	 file, path, "--root=/flag",
				 "--rewrite", "HUP:USR1", "cmd", "-x", NULL };
		ok(load(&c, 10, argv, e, sizeof(e)) == 0 && c.timeout_ms == 3000 && strcmp(c.root, "/flag") == 0 &&
			   c.n_rewrite == 1 && c.rewrite[0].from == SIGHUP,
		   "flags over the environment, a flag's list replaces the file's: %s", e);
	}
	setenv("STINT_TIMEOUT", "", 1);
	{
		char *argv[] = { "stint", file, path, NULL };
		ok(load(&c, 3, argv, e, sizeof(e)) == 0 && c.timeout_ms == 1000, "an empty variable counts as unset");
	}
	unsetenv("STINT_TIMEOUT");
	unsetenv("STINT_ROOT");
	setenv("STINT_CONFIG", path, 1);
	{
		char *argv[] = { "stint", NULL };
		ok(load(&c, 1, argv, e, sizeof(e)) == 0 && c.timeout_ms == 1000 && strcmp(c.config_file, path) == 0,
		   "STINT_CONFIG names the file");
	}
	setenv("STINT_CONFIG", "/nonexistent/stint.ini", 1);
	{
		char *argv[] = { "stint", NULL };
		ok(load(&c, 1, argv, e, sizeof(e)) == -1 &&
			   strcmp(e, "config file /nonexistent/stint.ini: No such file or directory") == 0,
		   "a file named by STINT_CONFIG must exist: %s", e);
	}
	unsetenv("STINT_CONFIG");
	{
		char *argv[] = { "stint", "--config", "/nonexistent/x.ini", NULL };
		ok(load(&c, 3, argv, e, sizeof(e)) == -1 &&
			   strcmp(e, "config file /nonexistent/x.ini: No such file or directory") == 0,
		   "a file named by -c must exist: %s", e);
	}
}

/* A key twice in one file: the later value counts, a list grows, and
 * nothing is left behind (the values are in the store, not on the heap:
 * `make check SANITIZE=1` runs this under LeakSanitizer). */
static void test_double_keys(void)
{
	char e[512];

	cfg_store_reset();
	memset(&cfg, 0, sizeof(cfg));
	cfg_defaults(&config_program, &cfg, e, sizeof(e));
	ok(cfg_file(&config_program, &cfg,
		    ini_file("[stint]\ncommand = /bin/a 1\ncommand = /bin/b 2\nroot = /one\nroot = /two\n"
			     "rewrite = INT:TERM\nrewrite = HUP:USR1\nallow-uid = 1\nallow-uid = 2,3\n"
			     "drop-caps = cap_chown\ndrop-caps = cap_kill\nsocket = /a\nsocket = /b\n"),
		    true, e, sizeof(e)) == 0,
	   "a file with every kind of key twice: %s", e);
	ok(cfg.file_command.n == 2 && strcmp(cfg.file_command.v[0], "/bin/b") == 0 && !cfg.file_command.v[2],
	   "command twice: the second one");
	ok(strcmp(cfg.root, "/two") == 0 && strcmp(cfg.socket, "/b") == 0 && strcmp(cfg.drop_caps, "cap_kill") == 0,
	   "strings twice: the second one");
	ok(cfg.n_rewrite == 2 && cfg.rewrite[1].from == SIGHUP, "rewrite twice in one file: both");
	ok(cfg.n_allow_uid == 2 && cfg.allow_uid[0] == 2, "allow-uid twice: the second list");
}

static void test_args(void)
{
	static const struct {
		const char *args[4], *error;
	} bad[] = {
		{ { "--bogus" }, "option --bogus is unknown (try --help)" },
		{ { "-x" }, "option -x is unknown (try --help)" },
		{ { "-s" }, "option -s needs an argument (try --help)" },
		{ { "--socket" }, "option --socket needs an argument (try --help)" },
		{ { "--supervise=maybe" }, "--supervise: 'maybe' is not a boolean (yes/no) (try --help)" },
		{ { "--verbose=1" }, "option --verbose takes no argument (try --help)" },
		{ { "--r", "/x" }, "option --r is ambiguous (try --help)" },
		{ { "--timeout", "86401" }, "--timeout: '86401' is out of range (0 to 86400 seconds) (try --help)" },
		{ { "-t", "1.0001" }, "--timeout: '1.0001' has more than 3 decimals (milliseconds) (try --help)" },
		{ { "--peer-timeout", "0" }, "--peer-timeout: '0' is out of range (1 to 3600 seconds) (try --help)" },
		{ { "--grace", "3601" }, "--grace: '3601' is out of range (0 to 3600 seconds) (try --help)" },
		{ { "--log-level", "loud" },
		  "--log-level: 'loud' is not one of error, warn, info, debug (try --help)" },
		{ { "--socket=" }, "--socket: empty path (try --help)" },
		{ { "-vqr", "rel" }, "--root: 'rel' is not an absolute path (try --help)" },
	};
	char e[512];
	struct config c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[6] = { "stint" };
		int argc = 1;

		for (; bad[i].args[argc - 1]; argc++)
			argv[argc] = (char *)bad[i].args[argc - 1];
		is_str(load(&c, argc, argv, e, sizeof(e)) == -1 ? e : "(accepted)", bad[i].error, "stint %s%s%s",
		       bad[i].args[0], bad[i].args[1] ? " " : "", bad[i].args[1] ? bad[i].args[1] : "");
	}
	{
		char *argv[] = {
			"stint", "-gvqs/run/x.sock", "--sup", "--forward-group=no", "--log-level", "warn", "--", "-v",
			NULL
		};
		ok(load(&c, 8, argv, e, sizeof(e)) == 0 && strcmp(c.socket, "/run/x.sock") == 0 && c.supervise &&
			   !c.forward_group && c.log_level == LOG_WARN,
		   "-gvqsVALUE, a unique prefix, --bool=no, the last level wins: %s", e);
	}
	{
		struct cfg_args a;
		char *argv[] = { "stint", "-q", "--", "-v", NULL };

		cfg_store_reset();
		ok(cfg_load(&config_program, &c, 4, argv, &a, e, sizeof(e)) == 0 && a.first == 3 &&
			   c.log_level == LOG_ERROR,
		   "-- ends the options (the command is -v)");
	}
	{
		struct cfg_args a;
		char *argv[] = { "stint", "-q", "sh", "-v", NULL };

		cfg_store_reset();
		ok(cfg_load(&config_program, &c, 4, argv, &a, e, sizeof(e)) == 0 && a.first == 2 &&
			   c.log_level == LOG_ERROR,
		   "the first non-option ends them");
	}
	{
		struct cfg_args a;
		char *argv[] = { "stint", "--bogus-later", "-h", NULL }, *argv2[] = { "stint", "-h", "--bogus", NULL };

		cfg_store_reset();
		ok(cfg_load(&config_program, &c, 3, argv, &a, e, sizeof(e)) == -1, "an unknown option before -h");
		ok(cfg_load(&config_program, &c, 3, argv2, &a, e, sizeof(e)) == 0 && a.action == CFG_DO_HELP,
		   "-h before anything else asks for the help");
		argv2[1] = "-V";
		ok(cfg_load(&config_program, &c, 3, argv2, &a, e, sizeof(e)) == 0 && a.action == CFG_DO_VERSION,
		   "-V asks for the version");
	}
}

static void test_env_errors(void)
{
	static const struct {
		const char *var, *value, *error;
	} bad[] = {
		{ "STINT_TIMEOUT", "x", "environment STINT_TIMEOUT: 'x' is not a number of seconds" },
		{ "STINT_LOG_LEVEL", "loud",
		  "environment STINT_LOG_LEVEL: 'loud' is not one of error, warn, info, debug" },
		{ "STINT_ON_FAILURE", "reboot", "environment STINT_ON_FAILURE: 'reboot' is not one of exit, boot" },
		{ "STINT_ROOT", "rel", "environment STINT_ROOT: 'rel' is not an absolute path" },
	};
	char e[512];
	struct config c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { "stint", NULL };

		setenv(bad[i].var, bad[i].value, 1);
		is_str(load(&c, 1, argv, e, sizeof(e)) == -1 ? e : "(accepted)", bad[i].error, "%s=%s", bad[i].var,
		       bad[i].value);
		unsetenv(bad[i].var);
	}
	setenv("STINT_LOG_LEVEL", "quiet", 1);
	{
		char *argv[] = { "stint", NULL };
		ok(load(&c, 1, argv, e, sizeof(e)) == 0 && c.log_level == LOG_ERROR, "STINT_LOG_LEVEL=quiet is error");
	}
	setenv("STINT_LOG_LEVEL", "verbose", 1);
	{
		char *argv[] = { "stint", "-q", NULL };
		ok(load(&c, 1, argv, e, sizeof(e)) == 0 && c.log_level == LOG_DEBUG,
		   "STINT_LOG_LEVEL=verbose is debug");
		ok(load(&c, 2, argv, e, sizeof(e)) == 0 && c.log_level == LOG_ERROR, "-q beats the environment");
	}
	unsetenv("STINT_LOG_LEVEL");
}

/* The names of caps.c's own table are libcap's, number for number. */
static void test_capability_names(void)
{
	int wrong = 0;

	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		char *name = cap_to_name(c), upper[64];

		if (caps_value(name, strlen(name)) != c) {
			printf("#   %s is %d for stint, %d for libcap\n", name, caps_value(name, strlen(name)), c);
			wrong++;
		}
		for (size_t i = 0; i <= strlen(name) && i < sizeof(upper); i++)
			upper[i] = (char)toupper((unsigned char)name[i]);
		if (caps_value(upper, strlen(upper)) != c)
			wrong++;
		cap_free(name);
	}
	ok(wrong == 0, "caps.c names all %d capabilities like libcap, in any case", CAP_LAST_CAP + 1);
	ok(caps_value("12", 2) == 12 && caps_value("cap_chown,", 9) == 0 && caps_value("chown", 5) == -1 &&
		   caps_value("cap_", 4) == -1 && caps_value("cap_chownx", 10) == -1,
	   "numbers, a length-bounded name, no prefix, nothing after the prefix, a longer name");
}

static void test_signal_names(void)
{
	static const struct {
		const char *name;
		int signo;
	} cases[] = {
		{ "TERM", SIGTERM },	{ "SIGTERM", SIGTERM },
		{ "sigterm", SIGTERM }, { "15", SIGTERM },
		{ "RTMIN", 34 },	{ "RTMIN+3", 37 },
		{ "SIGRTMIN+3", 37 },	{ "RTMAX", 64 },
		{ "RTMAX-1", 63 },	{ "64", 64 },
		{ "WINCH", SIGWINCH },	{ "PWR", SIGPWR },
		{ "65", -1 },		{ "0", -1 },
		{ "RTMIN+31", -1 },	{ "RTMIN3", -1 },
		{ "FOO", -1 },		{ "", -1 },
		{ "+3", -1 },		{ "RTMAX+1", -1 },
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

	ok(parse_text(
		   "[stint]\nsocket = /s\n; comment\n# comment\ntimeout = 3\ncommand = /sbin/init --log-level=info\n",
		   logged, sizeof(logged)) == 0 &&
		   cfg.timeout_ms == 3000 && cfg.file_command.n == 2 &&
		   strcmp(cfg.file_command.v[1], "--log-level=info") == 0,
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
	test_every_key();
	test_precedence();
	test_double_keys();
	test_args();
	test_env_errors();
	test_capability_names();
	diag("settings parser and signal names");
	return tap_done();
}
