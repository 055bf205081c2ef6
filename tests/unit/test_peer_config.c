/* Unit tests of stint-peer's settings (the key table in src/peer/config.c,
 * read by src/config.c): every key from the file, the environment and
 * flags, the list keys (replace across sources, extend within one), the
 * checks across keys, the options before the command, and --help. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_check.h"
#include "stint/log.h"
#include "../../src/peer/peer_config.h"
#include "tap.h"

static struct peer_config c;
static char err[1024];

static void render_peer(const struct cfg_key *k, const void *cfg, char *out, size_t len)
{
	const void *field = (const char *)cfg + k->off;

	if (strcmp(k->name, "log-level") == 0) {
		snprintf(out, len, "%d", *(const int *)field);
	} else { /* lower, tmpfs: lists */
		const struct strlist *l = field;
		size_t off = 0;

		for (size_t i = 0; i < l->n && off < len; i++)
			off += (size_t)snprintf(out + off, len - off, "%s%s", i ? "|" : "", l->v[i]);
	}
}

static const struct sample peer_samples[] = {
	{ "socket", "/s.sock", "/s.sock" },
	{ "mode", "chroot", "chroot" },
	{ "then", "exit", "exit" },
	{ "state", "/pv", "/pv" },
	{ "upper", "/u", "/u" },
	{ "work", "/w", "/w" },
	{ "lower", "/a:/b", "/a|/b" },
	{ "root", "/r", "/r" },
	{ "carry", "list", "list" },
	{ "include", "/x, /y", "/x|/y" },
	{ "exclude", "/e", "/e" },
	{ "tmpfs", "/run,/tmp:size=1m:mode=1777", "/run|/tmp:size=1m:mode=1777" },
	{ "cgroup", "rw", "rw" },
	{ "cgroup-path", "/sys/fs/cgroup", "/sys/fs/cgroup" },
	{ "console", "/dev/pts/0", "/dev/pts/0" },
	{ "machine-id", "generate", "generate" },
	{ "boot-id", "keep", "keep" },
	{ "ssh-host-keys", "keep", "keep" },
	{ "on-image-change", "refuse", "refuse" },
	{ "notify", "/n.sock", "/n.sock" },
	{ "notify-target", "/run/t/n.sock", "/run/t/n.sock" },
	{ "run-dir", "/run/p", "/run/p" },
	{ "state-file", "/st", "/st" },
	{ "ready-path", "/booted", "/booted" },
	{ "timeout", "5", "5000ms" },
	{ "prepare-timeout", "60.5", "60500ms" },
	{ "handshake-timeout", "2", "2000ms" },
	{ "wait-socket", "1.25", "1250ms" },
	{ "log-level", "warn", "1" },
	{ NULL, NULL, NULL },
};

static void test_every_key(void)
{
	check_every_key(&peer_prepare_program, &c, sizeof(c), peer_samples, render_peer);
	check_help_lists_every_key(&peer_prepare_program);
}

static void test_defaults(void)
{
	cfg_store_reset();
	memset(&c, 0, sizeof(c));
	ok(cfg_defaults(&peer_prepare_program, &c, err, sizeof(err)) == 0, "defaults parse: %s", err);
	ok(c.mode == PEER_MODE_PIVOT && c.then == PEER_THEN_WAIT && c.carry == PEER_CARRY_AUTO &&
		   c.cgroup == PEER_CGROUP_KEEP && c.machine_id == PEER_MACHINE_ID_KEEP && c.lower.n == 0 &&
		   c.on_image_change == PEER_IMAGE_WARN,
	   "enum defaults: pivot, wait, auto, keep, keep, warn; lower = image");
	ok(c.boot_id == PEER_BOOT_ID_GENERATE && c.ssh_host_keys == PEER_SSH_HOST_KEYS_REGENERATE,
	   "identity defaults: a boot id per start, the pod's own SSH host keys");
	ok(c.timeout_ms == 30000 && c.prepare_timeout_ms == 60000 && c.handshake_timeout_ms == 10000 &&
		   c.wait_socket_ms == 0,
	   "time defaults: timeout 30 s, prepare-timeout 60 s, handshake-timeout 10 s, wait-socket 0");
	ok(strcmp(c.notify_target, "/run/host/notify/notify.sock") == 0 && strcmp(c.run_dir, "/run/stint-peer") == 0 &&
		   strcmp(c.cgroup_path, "/sys/fs/cgroup/systemd") == 0 && c.log_level == LOG_INFO && !c.socket &&
		   !c.notify,
	   "path defaults: notify-target, run-dir, cgroup-path; no socket, no notify");
}

/* Flags on top of a file, as `stint-peer prepare -c FILE ARGS` loads. */
static int load(const char *text, char **args)
{
	char *argv[16] = { "prepare", "-c", (char *)ini_file(text) };
	struct cfg_args a;
	int argc = 3;

	while (*args && argc < 15)
		argv[argc++] = *args++;
	argv[argc] = NULL;
	cfg_store_reset();
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	return cfg_load(&peer_prepare_program, &c, argc, argv, &a, err, sizeof(err));
}

static const char *items(const struct strlist *l)
{
	static char out[512];
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++)
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%s", i ? "|" : "", l->v[i]);
	return out;
}

static void test_lists(void)
{
	const char *file = "[peer]\ninclude = /a, /b\ninclude = /c\nexclude = /x\ntmpfs = /run\nlower = /l1:/l2\n";

	ok(load(file, (char *[]){ NULL }) == 0, "a file with lists: %s", err);
	is_str(items(&c.include), "/a|/b|/c", "the same source extends a list");
	ok(c.include.v[c.include.n] == NULL, "a list ends with NULL");
	is_str(items(&c.lower), "/l1|/l2", "lower splits on ':'");
	ok(load(file, (char *[]){ "--include", "/f", "--include=/g,/h", "--exclude", "", NULL }) == 0, "%s", err);
	is_str(items(&c.include), "/f|/g|/h", "flags replace the file's list, then extend it");
	ok(c.exclude.n == 0, "an empty value clears a list");
	setenv("STINT_PEER_STATE", "/env", 1);
	ok(load("[peer]\nstate = /file\nlower = /l1\nlower = image\n", (char *[]){ NULL }) == 0 &&
		   strcmp(c.state, "/env") == 0 && c.lower.n == 0,
	   "the environment over the file; lower = image clears the list: %s", err);
	ok(load("[peer]\nstate = /file\n", (char *[]){ "--state", "/flag", NULL }) == 0 &&
		   strcmp(c.state, "/flag") == 0,
	   "a flag over the environment");
	unsetenv("STINT_PEER_STATE");
}

static void test_bad_values(void)
{
	static const struct {
		const char *text, *error;
	} bad[] = {
		{ "mode = sideways", "mode: 'sideways' is not one of chroot, pivot" },
		{ "carry = most", "carry: 'most' is not one of auto, none, list" },
		{ "timeout = soon", "timeout: 'soon' is not a number of seconds" },
		{ "timeout = 0", "timeout: '0' is out of range (1 to 3600 seconds)" },
		{ "timeout = 3600.001", "timeout: '3600.001' is out of range (1 to 3600 seconds)" },
		{ "handshake-timeout = 601", "handshake-timeout: '601' is out of range (1 to 600 seconds)" },
		{ "prepare-timeout = 0.5", "prepare-timeout: '0.5' is out of range (1 to 3600 seconds)" },
		{ "wait-socket = -1", "wait-socket: '-1' is not a number of seconds" },
		{ "state = pv", "state: 'pv' is not an absolute path" },
		{ "run-dir =", "run-dir: empty path" },
		{ "include = /a,b", "include: 'b' is not an absolute path" },
		{ "lower = /a:rel", "lower: 'rel' is not an absolute path" },
		{ "tmpfs = tmp", "tmpfs: 'tmp' does not start with an absolute path" },
		{ "tmpfs = /tmp:size", "tmpfs: option 'size' in '/tmp:size' is not KEY=VALUE" },
		{ "tmpfs = /tmp::mode=1", "tmpfs: option '' in '/tmp::mode=1' is not KEY=VALUE" },
		{ "log-level = loud", "log-level: 'loud' is not one of error, warn, info, debug" },
		{ "verbose = 1", "unknown key 'verbose'" },
		{ "bogus = 1", "unknown key 'bogus'" },
	};
	char text[256], want[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[peer]\n\n%s\n", bad[i].text);
		snprintf(want, sizeof(want), "%s:3: %s", cfg_check_path, bad[i].error);
		is_str(load(text, (char *[]){ NULL }) < 0 ? err : "(accepted)", want, "%s", bad[i].text);
	}
	snprintf(want, sizeof(want), "%s:2: unknown section [stint] (stint-peer reads [peer])", cfg_check_path);
	is_str(load("[stint]\nmode = pivot\n", (char *[]){ NULL }) < 0 ? err : "(accepted)", want, "another section");
	is_str(load("[peer]\n", (char *[]){ "--carry", "most", NULL }) < 0 ? err : "(accepted)",
	       "--carry: 'most' is not one of auto, none, list (try --help)", "a bad flag");
	setenv("STINT_PEER_MODE", "sideways", 1);
	is_str(load("[peer]\n", (char *[]){ NULL }) < 0 ? err : "(accepted)",
	       "environment STINT_PEER_MODE: 'sideways' is not one of chroot, pivot", "a bad variable");
	unsetenv("STINT_PEER_MODE");
}

static void test_validate(void)
{
	static const struct {
		const char *text, *error;
	} bad[] = {
		{ "state = /pv", "no socket: give -s PATH, socket= in peer.ini or STINT_SOCKET" },
		{ "socket = /s", "no persistent volume: give state=DIR, or both upper= and work=" },
		{ "socket = /s\nupper = /u", "no persistent volume: give state=DIR, or both upper= and work=" },
		{ "socket = /s\nstate = /pv\nwork = /w", "state= and upper=/work= exclude each other" },
		{ "socket = /s\nstate = /pv\ncarry = list", "carry=list needs include=PATH,..." },
		{ "socket = /s\nstate = /pv\nroot = /", "root: the new root cannot be '/'" },
	};
	char text[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[peer]\n%s\n", bad[i].text);
		load(text, (char *[]){ NULL });
		is_str(peer_config_validate(&c, err, sizeof(err)) < 0 ? err : "(accepted)", bad[i].error, "check %zu",
		       i);
	}
	load("[peer]\nsocket = /s\nupper = /u\nwork = /w\ncarry = list\ninclude = /x\n", (char *[]){ NULL });
	ok(peer_config_validate(&c, err, sizeof(err)) == 0, "upper + work + carry=list with include is fine");
}

/* The options before the command: only socket, verbose, quiet, version
 * and help; the rest belongs to prepare. */
static void test_global_options(void)
{
	struct cfg_args a;
	char *ok_argv[] = { "stint-peer", "-s", "/s", "-v", "prepare", "--mode", "chroot", NULL };
	char *bad_argv[] = { "stint-peer", "--mode", "chroot", "prepare", NULL };

	cfg_store_reset();
	memset(&c, 0, sizeof(c));
	ok(cfg_argv(&peer_global_program, &c, 7, ok_argv, CFG_GLOBAL, true, &a, err, sizeof(err)) == 0 &&
		   a.first == 4 && strcmp(c.socket, "/s") == 0 && c.log_level == LOG_DEBUG,
	   "-s and -v before the command; it starts at 'prepare'");
	is_str(cfg_argv(&peer_global_program, &c, 4, bad_argv, CFG_GLOBAL, true, &a, err, sizeof(err)) < 0 ?
		       err :
		       "(accepted)",
	       "option --mode is unknown (try --help)", "a prepare key before the command");
	{
		const char *help = help_text(&peer_global_program, CFG_GLOBAL);

		ok(strstr(help, "--socket") && strstr(help, "--verbose") && strstr(help, "--quiet") &&
			   strstr(help, "--version") && strstr(help, "--help") && !strstr(help, "--mode") &&
			   strstr(help, "prepare [-c FILE]"),
		   "the global help: the commands and the global options only");
	}
}

/* The settings store: values copied from files live in a fixed store; one
 * that would not fit is an error, not a truncation. */
static void test_store_full(void)
{
	static char text[40000];
	size_t off = (size_t)snprintf(text, sizeof(text), "[peer]\n");
	char want[256];

	for (int line = 2; off < sizeof(text) - 200; line++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "exclude = /%0150d\n", line);
	snprintf(want, sizeof(want), "more than %d bytes of settings", 32768);
	ok(load(text, (char *[]){ NULL }) < 0 && strstr(err, want), "a full store is an error: %.80s", err);
}

int main(void)
{
	tap_init();
	log_init("stint-peer");
	test_every_key();
	test_defaults();
	test_lists();
	test_bad_values();
	test_validate();
	test_global_options();
	test_store_full();
	diag("stint-peer settings");
	return tap_done();
}
