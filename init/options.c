/* Settings of the init: its key table, the parsers of the keys no generic
 * type covers, and the checks across keys. src/config.c does the rest
 * (command line, --help, INI file, environment, defaults; precedence and
 * one-line errors). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "init.h"
#include "stint/log.h"
#include "stint/util.h"

#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* A path that may be relative (resolved against stint's cwd). */
static int parse_any_path(const char *value, const char **field, char *err, size_t errlen)
{
	if (!*value)
		return errorf(err, errlen, "empty path");
	if (strlen(value) > STINT_PATH_MAX)
		return errorf(err, errlen, "path longer than %d bytes", STINT_PATH_MAX);
	return (*field = cfg_strndup(value, strlen(value), err, errlen)) ? 0 : -1;
}

static int parse_socket(void *cfg, void *field, const char *value, enum cfg_source source, char *err, size_t errlen)
{
	(void)cfg, (void)source;
	if (strlen(value) > SUN_PATH_MAX)
		return errorf(err, errlen, "'%s' is longer than a unix socket path may be (%zu bytes)", value,
			      SUN_PATH_MAX);
	return parse_any_path(value, field, err, errlen);
}

static int parse_ready_file(void *cfg, void *field, const char *value, enum cfg_source source, char *err, size_t errlen)
{
	(void)cfg, (void)source;
	return parse_any_path(value, field, err, errlen);
}

/* Calls fn on each item of a list separated by commas or blanks; an item
 * too long for any key's value is refused (cut, it could mean another:
 * "000...01" cut to zeros is uid 0). */
static int each_item(const char *list, int (*fn)(struct config *, char *, char *, size_t), struct config *cfg,
		     char *err, size_t errlen)
{
	for (const char *p = list + strspn(list, ", \t"); *p; p += strspn(p, ", \t")) {
		size_t n = strcspn(p, ", \t");
		char item[64];

		if (n >= sizeof(item)) {
			snprintf(err, errlen, "'%.16s...' is longer than %zu bytes", p, sizeof(item) - 1);
			return -1;
		}
		snprintf(item, sizeof(item), "%.*s", (int)n, p);
		if (fn(cfg, item, err, errlen) < 0)
			return -1;
		p += n;
	}
	return 0;
}

static int add_uid(struct config *cfg, char *item, char *err, size_t errlen)
{
	unsigned long v;
	const char *end = parse_decimal(item, UINT32_MAX - 1, &v);

	if (!end || *end)
		return errorf(err, errlen, "'%s' is not a numeric uid", item);
	if (cfg->n_allow_uid == STINT_MAX_UIDS)
		return errorf(err, errlen, "more than %d uids", STINT_MAX_UIDS);
	cfg->allow_uid[cfg->n_allow_uid++] = (uid_t)v;
	return 0;
}

/* Every value replaces the list (it is short, and a partial merge of uid
 * lists would surprise). */
static int parse_allow_uid(void *cfg_, void *field, const char *value, enum cfg_source source, char *err, size_t errlen)
{
	struct config *cfg = cfg_;

	(void)field, (void)source;
	cfg->n_allow_uid = 0;
	if (each_item(value, add_uid, cfg, err, errlen) < 0)
		return -1;
	return cfg->n_allow_uid ? 0 : errorf(err, errlen, "empty uid list");
}

static int add_rewrite(struct config *cfg, char *item, char *err, size_t errlen)
{
	char *colon = strchr(item, ':');
	int from, to;

	if (!colon)
		return errorf(err, errlen, "'%s' is not FROM:TO", item);
	*colon = '\0';
	if ((from = signal_parse(item)) < 0)
		return errorf(err, errlen, "'%s' is not a signal", item);
	if ((to = signal_parse(colon + 1)) < 0)
		return errorf(err, errlen, "'%s' is not a signal", colon + 1);
	if (from == SIGCHLD || from == SIGKILL || from == SIGSTOP)
		return errorf(err, errlen, "signal %s cannot be rewritten", item);
	if (cfg->n_rewrite == STINT_MAX_REWRITES)
		return errorf(err, errlen, "more than %d rewrites", STINT_MAX_REWRITES);
	cfg->rewrite[cfg->n_rewrite++] = (struct rewrite){ from, to };
	return 0;
}

/* Like every list: a higher source replaces, the same one extends. */
static int parse_rewrite(void *cfg_, void *field, const char *value, enum cfg_source source, char *err, size_t errlen)
{
	struct config *cfg = cfg_;

	(void)field;
	if (cfg->rewrite_source != (int)source) {
		cfg->n_rewrite = 0;
		cfg->rewrite_source = (int)source;
	}
	return each_item(value, add_rewrite, cfg, err, errlen);
}

static int parse_drop_caps(void *cfg, void *field, const char *value, enum cfg_source source, char *err, size_t errlen)
{
	(void)cfg, (void)source;
	if (caps_validate(value, err, errlen) < 0)
		return -1;
	return (*(const char **)field = cfg_strndup(value, strlen(value), err, errlen)) ? 0 : -1;
}

/* Split on blanks; no quoting, by design: use a wrapper script for more.
 * A second command line replaces the first. */
static int parse_command(void *cfg, void *field, const char *value, enum cfg_source source, char *err, size_t errlen)
{
	struct strlist *l = field;

	(void)cfg;
	l->source = -1;
	if (cfg_list_set(l, value, " \t", source, NULL, err, errlen) < 0)
		return -1;
	return l->n ? 0 : errorf(err, errlen, "empty");
}

static const char *const on_failure_names[] = { "exit", "boot", NULL };

#define F(field) offsetof(struct config, field)

static const struct cfg_key keys[] = {
	{ "config", "STINT_CONFIG", STINT_DEFAULT_CONFIG, "FILE",
	  "INI file, section [stint] (default " STINT_DEFAULT_CONFIG " if present)", .off = F(config_file),
	  .short_opt = 'c', .type = CFG_STR, .flags = CFG_ARGV_ONLY | CFG_CONFIG_FILE },
	{ "socket", "STINT_SOCKET", NULL, "PATH", "serve the handoff on this unix socket (none: just run COMMAND)",
	  .u.parse = parse_socket, .off = F(socket), .short_opt = 's', .type = CFG_CUSTOM },
	{ "allow-uid", NULL, "0", "LIST", "peer uids accepted, comma-separated", .u.parse = parse_allow_uid,
	  .off = F(allow_uid), .type = CFG_CUSTOM },
	{ "root", "STINT_ROOT", STINT_DEFAULT_ROOT, "DIR", "root to enter when ready names none", .off = F(root),
	  .short_opt = 'r', .type = CFG_PATH },
	{ "ready-file", "STINT_READY_FILE", NULL, "PATH", "the creation of PATH also means ready",
	  .u.parse = parse_ready_file, .off = F(ready_file), .type = CFG_CUSTOM },
	{ "timeout", "STINT_TIMEOUT", "0", "SECS", "wait at most SECS for the peer to finish, 0 = forever", .min = 0,
	  .max = 86400, .off = F(timeout_ms), .short_opt = 't', .type = CFG_MS },
	{ "peer-timeout", NULL, "120", "SECS", "a connected peer must send READY or ABORT within SECS", .min = 1,
	  .max = 3600, .off = F(peer_timeout_ms), .type = CFG_MS },
	{ "on-failure", "STINT_ON_FAILURE", "exit", NULL,
	  "when the handoff fails: exit, or boot COMMAND in the current root", .u.choices = on_failure_names,
	  .off = F(on_failure), .type = CFG_ENUM },
	{ "supervise", NULL, "no", NULL, "stay PID 1: fork COMMAND, forward signals, reap, exit with its status",
	  .off = F(supervise), .type = CFG_BOOL },
	{ "rewrite", NULL, NULL, "SIG:SIG", "supervise: rewrite a forwarded signal (repeatable, e.g. TERM:RTMIN+3)",
	  .u.parse = parse_rewrite, .off = F(rewrite), .type = CFG_CUSTOM },
	{ "grace", NULL, "0", "SECS", "supervise: when COMMAND exits, TERM the rest, wait SECS, then KILL", .min = 0,
	  .max = 3600, .off = F(grace_ms), .type = CFG_MS },
	{ "forward-group", NULL, "no", NULL, "supervise: forward signals to COMMAND's process group",
	  .off = F(forward_group), .short_opt = 'g', .type = CFG_BOOL },
	{ "drop-caps", NULL, NULL, "LIST", "drop these capabilities (or \"all\") from the bounding set",
	  .u.parse = parse_drop_caps, .off = F(drop_caps), .type = CFG_CUSTOM },
	{ "notify-socket", NULL, NULL, "PATH", "set NOTIFY_SOCKET=PATH for COMMAND (sd_notify readiness)",
	  .off = F(notify_socket), .type = CFG_PATH },
	{ "container", NULL, "stint", "NAME", "set container=NAME for COMMAND if unset (\"\" = no)",
	  .off = F(container), .type = CFG_STR },
	{ "log-level", "STINT_LOG_LEVEL", "info", "LEVEL",
	  "error, warn, info or debug (quiet = error, verbose = debug)", .u.parse = cfg_parse_log_level,
	  .off = F(log_level), .type = CFG_CUSTOM },
	{ "command", NULL, "/sbin/init", "PROGRAM [ARG]...", "run this when no COMMAND follows the options",
	  .u.parse = parse_command, .off = F(file_command), .type = CFG_CUSTOM, .flags = CFG_FILE_ONLY },
	{ "verbose", NULL, NULL, NULL, "log every step and setting (= --log-level debug)", .min = LOG_DEBUG,
	  .off = F(log_level), .short_opt = 'v', .type = CFG_FLAG, .flags = CFG_ARGV_ONLY },
	{ "quiet", NULL, NULL, NULL, "log errors only (= --log-level error)", .min = LOG_ERROR, .off = F(log_level),
	  .short_opt = 'q', .type = CFG_FLAG, .flags = CFG_ARGV_ONLY },
	{ "version", NULL, NULL, NULL, "print the version and exit", .short_opt = 'V', .type = CFG_VERSION,
	  .flags = CFG_ARGV_ONLY },
	CFG_KEY_HELP(CFG_ARGV_ONLY),
};

const struct cfg_program config_program = {
	.name = "stint",
	.section = "stint",
	.keys = keys,
	.n_keys = ARRAY_SIZE(keys),
	.usage = "Usage: stint [OPTIONS] [--] [COMMAND [ARG]...]\n"
		 "PID 1 for an unprivileged container whose root a privileged peer prepares.\n"
		 "Serves the peer its namespaces over a unix socket, waits for ready, enters\n"
		 "the prepared root and runs COMMAND (default /sbin/init).\n"
		 "\n",
	.epilog = "\n"
		  "Every option but -c, -v, -q, -V and -h is also a key of the file's [stint] section.\n"
		  "Precedence: defaults < file < environment (env) < options.\n"
		  "Exit status: COMMAND's (supervise), 1 setup error, 2 usage or config error,\n"
		  "3 handoff failed, 126 exec failed, 127 command not found, 128+N killed by signal N.\n",
};

static void validate(const struct config *cfg)
{
	if (!cfg->supervise && (cfg->n_rewrite || cfg->grace_ms || cfg->forward_group))
		log_warn("rewrite, grace and forward-group only apply with --supervise; ignoring them");
	if (cfg->ready_file && !cfg->socket)
		die(EXIT_USAGE, "ready-file '%s' needs a socket: the peer gets the namespaces from it (try --help)",
		    cfg->ready_file);
}

static void print(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) < 0)
		exit(EXIT_SETUP);
}

void config_load(struct config *cfg, int argc, char **argv)
{
	struct cfg_args args;
	char err[768];

	memset(cfg, 0, sizeof(*cfg));
	if (cfg_load(&config_program, cfg, argc, argv, &args, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "%s", err);
	if (args.action == CFG_DO_HELP) {
		cfg_help(&config_program, STDOUT_FILENO, 0);
		exit(0);
	}
	if (args.action == CFG_DO_VERSION) {
		print("stint " STINT_VERSION "\n");
		exit(0);
	}
	log_set_level(cfg->log_level);
	cfg->command = args.first < argc ? argv + args.first : (char **)cfg->file_command.v;
	validate(cfg);
}

void config_log(const struct config *cfg)
{
	char uids[256] = "", rw[512] = "";
	size_t off = 0;

	if (log_get_level() < LOG_DEBUG)
		return; /* PID 1's start-up formats nothing it will not print */
	for (size_t i = 0; i < cfg->n_allow_uid && off < sizeof(uids); i++)
		off += (size_t)snprintf(uids + off, sizeof(uids) - off, "%s%u", i ? "," : "", cfg->allow_uid[i]);
	off = 0;
	for (size_t i = 0; i < cfg->n_rewrite && off < sizeof(rw); i++)
		off += (size_t)snprintf(rw + off, sizeof(rw) - off, "%s%d:%d", i ? "," : "", cfg->rewrite[i].from,
					cfg->rewrite[i].to);
	log_debug("settings: config=%s socket=%s allow-uid=%s root=%s ready-file=%s timeout=%ldms on-failure=%s "
		  "supervise=%s rewrite=%s grace=%ldms forward-group=%s drop-caps=%s notify-socket=%s container=%s "
		  "command=%s peer-timeout=%ldms",
		  cfg->config_file, cfg->socket ?: "(none)", uids, cfg->root, cfg->ready_file ?: "(none)",
		  cfg->timeout_ms, on_failure_names[cfg->on_failure], cfg->supervise ? "yes" : "no",
		  rw[0] ? rw : "(none)", cfg->grace_ms, cfg->forward_group ? "yes" : "no", cfg->drop_caps ?: "(none)",
		  cfg->notify_socket ?: "(none)", cfg->container, cfg->command[0], cfg->peer_timeout_ms);
}
