/* Settings of the init, from four sources in rising precedence: built-in
 * defaults, the INI file, STINT_* environment variables, command-line flags.
 * Every key is validated where it is read, and the first bad one ends the
 * program with a one-line error naming where it came from. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "init.h"
#include "stint/log.h"
#include "stint/util.h"

static const char usage_text[] =
	"Usage: stint [OPTIONS] [--] [COMMAND [ARG]...]\n"
	"PID 1 for an unprivileged container whose root a privileged peer prepares.\n"
	"Serves the peer its namespaces over a unix socket, waits for ready, enters\n"
	"the prepared root and runs COMMAND (default /sbin/init).\n"
	"\n"
	"  -c, --config FILE        INI file, section [stint] (default " STINT_DEFAULT_CONFIG " if present)\n"
	"  -s, --socket PATH        serve the handoff on this unix socket (none: just run COMMAND)\n"
	"      --allow-uid LIST     peer uids accepted, comma-separated (default 0)\n"
	"  -r, --root DIR           root to enter when ready names none (default " STINT_DEFAULT_ROOT ")\n"
	"      --ready-file PATH    the creation of PATH also means ready\n"
	"  -t, --timeout SECS       wait at most SECS for the peer to finish (0 = forever, default)\n"
	"      --on-failure MODE    exit (default) or boot: run COMMAND in the current root\n"
	"      --supervise          stay PID 1: fork COMMAND, forward signals, reap, exit with its status\n"
	"      --rewrite SIG:SIG    supervise: rewrite a forwarded signal (repeatable, e.g. TERM:RTMIN+3)\n"
	"      --grace SECS         supervise: when COMMAND exits, TERM the rest, wait SECS, then KILL\n"
	"  -g, --forward-group      supervise: forward signals to COMMAND's process group\n"
	"      --drop-caps LIST     drop these capabilities (or \"all\") from the bounding set\n"
	"      --notify-socket PATH set NOTIFY_SOCKET=PATH for COMMAND (sd_notify readiness)\n"
	"      --container NAME     set container=NAME for COMMAND if unset (default stint; \"\" = no)\n"
	"  -v, --verbose            log every step and setting\n"
	"  -q, --quiet              log errors only\n"
	"  -V, --version            print the version and exit\n"
	"  -h, --help               print this help and exit\n"
	"\n"
	"Environment: STINT_CONFIG, STINT_SOCKET, STINT_ROOT, STINT_READY_FILE, STINT_TIMEOUT,\n"
	"STINT_ON_FAILURE, STINT_LOG_LEVEL override the file; flags override both.\n"
	"Exit status: COMMAND's (supervise), 1 setup error, 2 usage or config error,\n"
	"3 handoff failed, 126 exec failed, 127 command not found, 128+N killed by signal N.\n";

enum { OPT_ALLOW_UID = 256, OPT_READY_FILE, OPT_ON_FAILURE, OPT_SUPERVISE, OPT_REWRITE,
       OPT_GRACE, OPT_DROP_CAPS, OPT_NOTIFY_SOCKET, OPT_CONTAINER };

static const struct option long_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "socket", required_argument, NULL, 's' },
	{ "allow-uid", required_argument, NULL, OPT_ALLOW_UID },
	{ "root", required_argument, NULL, 'r' },
	{ "ready-file", required_argument, NULL, OPT_READY_FILE },
	{ "timeout", required_argument, NULL, 't' },
	{ "on-failure", required_argument, NULL, OPT_ON_FAILURE },
	{ "supervise", no_argument, NULL, OPT_SUPERVISE },
	{ "rewrite", required_argument, NULL, OPT_REWRITE },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "forward-group", no_argument, NULL, 'g' },
	{ "drop-caps", required_argument, NULL, OPT_DROP_CAPS },
	{ "notify-socket", required_argument, NULL, OPT_NOTIFY_SOCKET },
	{ "container", required_argument, NULL, OPT_CONTAINER },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};
static const char short_options[] = "+c:s:r:t:gvqVh";

static const char *const env_keys[][2] = {
	{ "STINT_SOCKET", "socket" },	      { "STINT_ROOT", "root" },
	{ "STINT_READY_FILE", "ready-file" }, { "STINT_TIMEOUT", "timeout" },
	{ "STINT_ON_FAILURE", "on-failure" }, { "STINT_LOG_LEVEL", "log-level" },
};


static int set_string(char **dst, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		die_errno(EXIT_SETUP, "strdup");
	free(*dst);
	*dst = copy;
	return 0;
}

/* "1.5" -> 1500 ms; whole seconds up to a year, milliseconds at most. */
static int parse_seconds(const char *s, long *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 366.0 * 86400 || !isdigit((unsigned char)s[0]))
		return -1;
	*ms = (long)(v * 1000 + 0.5);
	return 0;
}

static int parse_bool(const char *s, bool *b)
{
	static const char *const yes[] = { "1", "yes", "true", "on" }, *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *b = true, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *b = false, 0;
	}
	return -1;
}

static int parse_uid_list(struct config *cfg, const char *list, char *err, size_t errlen)
{
	cleanup_free char *copy = strdup(list);
	char *save = NULL;
	size_t n = 0;

	if (!copy)
		die_errno(EXIT_SETUP, "strdup");
	for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(tok, &end, 10);
		if (errno || end == tok || *end || !isdigit((unsigned char)tok[0]) || v >= UINT32_MAX)
			return errorf(err, errlen, "allow-uid: '%s' is not a numeric uid", tok);
		if (n == STINT_MAX_UIDS)
			return errorf(err, errlen, "allow-uid: more than %d uids", STINT_MAX_UIDS);
		cfg->allow_uid[n++] = (uid_t)v;
	}
	if (n == 0)
		return errorf(err, errlen, "allow-uid: empty uid list");
	cfg->n_allow_uid = n;
	return 0;
}

static int parse_rewrite(struct config *cfg, const char *spec, enum config_source source, char *err, size_t errlen)
{
	cleanup_free char *copy = strdup(spec);
	char *save = NULL;

	if (!copy)
		die_errno(EXIT_SETUP, "strdup");
	if (cfg->rewrite_source != source) {
		cfg->n_rewrite = 0; /* a higher source replaces, not extends */
		cfg->rewrite_source = source;
	}
	for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *colon = strchr(tok, ':');
		int from, to;

		if (!colon)
			return errorf(err, errlen, "rewrite: '%s' is not FROM:TO", tok);
		*colon = '\0';
		from = signal_parse(tok);
		to = signal_parse(colon + 1);
		if (from < 0)
			return errorf(err, errlen, "rewrite: '%s' is not a signal", tok);
		if (to < 0)
			return errorf(err, errlen, "rewrite: '%s' is not a signal", colon + 1);
		if (from == SIGCHLD || from == SIGKILL || from == SIGSTOP)
			return errorf(err, errlen, "rewrite: signal %s cannot be rewritten", tok);
		if (cfg->n_rewrite == STINT_MAX_REWRITES)
			return errorf(err, errlen, "rewrite: more than %d rewrites", STINT_MAX_REWRITES);
		cfg->rewrite[cfg->n_rewrite++] = (struct rewrite){ from, to };
	}
	return 0;
}

/* Split on white space; no quoting, by design: use a wrapper script for more. */
static char **split_words(const char *s)
{
	size_t cap = 8, n = 0;
	char **v = calloc(cap, sizeof(*v));
	cleanup_free char *copy = strdup(s);
	char *save = NULL;

	if (!v || !copy)
		die_errno(EXIT_SETUP, "allocating the command");
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n + 2 > cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof(*v));
			if (!nv)
				die_errno(EXIT_SETUP, "allocating the command");
			v = nv;
		}
		if (!(v[n++] = strdup(w)))
			die_errno(EXIT_SETUP, "allocating the command");
	}
	v[n] = NULL;
	return v;
}

static int parse_log_level(const char *s)
{
	if (strcmp(s, "quiet") == 0 || strcmp(s, "error") == 0)
		return LOG_ERROR;
	if (strcmp(s, "warn") == 0)
		return LOG_WARN;
	if (strcmp(s, "info") == 0)
		return LOG_INFO;
	if (strcmp(s, "debug") == 0 || strcmp(s, "verbose") == 0)
		return LOG_DEBUG;
	return -1;
}

static int check_path(const char *key, const char *value, bool absolute, char *err, size_t errlen)
{
	if (!*value)
		return errorf(err, errlen, "%s: empty path", key);
	if (absolute && value[0] != '/')
		return errorf(err, errlen, "%s: '%s' is not an absolute path", key, value);
	if (strlen(value) > STINT_PATH_MAX)
		return errorf(err, errlen, "%s: path longer than %d bytes", key, STINT_PATH_MAX);
	return 0;
}

int config_set(struct config *cfg, const char *key, const char *value, enum config_source source, char *err,
	       size_t errlen)
{
	if (strcmp(key, "socket") == 0) {
		if (strlen(value) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return errorf(err, errlen, "socket: '%s' is longer than a unix socket path may be (%zu bytes)",
				    value, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return check_path(key, value, false, err, errlen) ?: set_string(&cfg->socket, value);
	}
	if (strcmp(key, "allow-uid") == 0)
		return parse_uid_list(cfg, value, err, errlen);
	if (strcmp(key, "root") == 0)
		return check_path(key, value, true, err, errlen) ?: set_string(&cfg->root, value);
	if (strcmp(key, "ready-file") == 0)
		return check_path(key, value, false, err, errlen) ?: set_string(&cfg->ready_file, value);
	if (strcmp(key, "timeout") == 0 || strcmp(key, "grace") == 0) {
		long *dst = key[0] == 't' ? &cfg->timeout_ms : &cfg->grace_ms;
		if (parse_seconds(value, dst))
			return errorf(err, errlen, "%s: '%s' is not a number of seconds", key, value);
		return 0;
	}
	if (strcmp(key, "on-failure") == 0) {
		if (strcmp(value, "exit") && strcmp(value, "boot"))
			return errorf(err, errlen, "on-failure: '%s' is neither exit nor boot", value);
		cfg->on_failure_boot = value[0] == 'b';
		return 0;
	}
	if (strcmp(key, "supervise") == 0 || strcmp(key, "forward-group") == 0) {
		bool *dst = key[0] == 's' ? &cfg->supervise : &cfg->forward_group;
		if (parse_bool(value, dst))
			return errorf(err, errlen, "%s: '%s' is not a boolean (yes/no)", key, value);
		return 0;
	}
	if (strcmp(key, "rewrite") == 0)
		return parse_rewrite(cfg, value, source, err, errlen);
	if (strcmp(key, "drop-caps") == 0) {
		if (caps_validate(value, err, errlen))
			return -1;
		return set_string(&cfg->drop_caps, value);
	}
	if (strcmp(key, "notify-socket") == 0)
		return check_path(key, value, true, err, errlen) ?: set_string(&cfg->notify_socket, value);
	if (strcmp(key, "container") == 0)
		return set_string(&cfg->container, value);
	if (strcmp(key, "log-level") == 0) {
		int level = parse_log_level(value);
		if (level < 0)
			return errorf(err, errlen, "log-level: '%s' is not quiet, info or debug", value);
		cfg->log_level = level;
		return 0;
	}
	if (strcmp(key, "command") == 0 && source == SRC_FILE) {
		cfg->file_command = split_words(value);
		if (!cfg->file_command[0])
			return errorf(err, errlen, "command: empty");
		return 0;
	}
	return errorf(err, errlen, "unknown key '%s'", key);
}

struct ini_ctx {
	struct config *cfg;
	char err[512];
};

static int on_ini_line(void *user, const char *section, const char *key, const char *value)
{
	struct ini_ctx *ctx = user;

	if (ctx->err[0])
		return 1; /* report the first error only; inih returns its line */
	if (strcmp(section, "stint") != 0) {
		snprintf(ctx->err, sizeof(ctx->err), "unknown section [%s] (stint reads [stint])", section);
		return 0;
	}
	return config_set(ctx->cfg, key, value, SRC_FILE, ctx->err, sizeof(ctx->err)) == 0;
}

int config_parse_file(struct config *cfg, const char *path, bool must_exist)
{
	struct ini_ctx ctx = { .cfg = cfg };
	FILE *f = fopen(path, "re");
	int line;

	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		log_error("config file %s: %s", path, strerror(errno));
		return -1;
	}
	line = ini_parse_file(f, on_ini_line, &ctx);
	fclose(f);
	if (line == 0)
		return 0;
	if (line < 0) {
		log_error("config file %s: cannot read it", path);
	} else {
		log_error("%s:%d: %s", path, line,
			  ctx.err[0] ? ctx.err : "syntax error (expected [section] or key = value, lines < 200 bytes)");
	}
	return -1;
}


static const char *option_key(int opt)
{
	for (const struct option *o = long_options; o->name; o++) {
		if (o->val == opt)
			return o->name;
	}
	return NULL;
}

/* First pass: what must be known before the file is read. */
static void scan_early_flags(struct config *cfg, int argc, char **argv, const char **file, bool *explicit_file)
{
	int opt;

	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			*file = optarg, *explicit_file = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf("stint %s\n", STINT_VERSION);
			exit(0);
		case '?':
			if (optopt)
				die(EXIT_USAGE, "option -%c is unknown or needs an argument (try --help)", optopt);
			die(EXIT_USAGE, "option %s is unknown or needs an argument (try --help)", argv[optind - 1]);
		}
	}
	(void)cfg;
}

static void apply_env(struct config *cfg)
{
	char err[512];

	for (size_t i = 0; i < ARRAY_SIZE(env_keys); i++) {
		const char *v = getenv(env_keys[i][0]);
		if (v && config_set(cfg, env_keys[i][1], v, SRC_ENV, err, sizeof(err)))
			die(EXIT_USAGE, "environment %s: %s", env_keys[i][0], err);
	}
}

static void apply_flags(struct config *cfg, int argc, char **argv)
{
	char err[512];
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		const char *key = option_key(opt);

		switch (opt) {
		case 'c':
			break;
		case 'v':
			cfg->log_level = LOG_DEBUG;
			break;
		case 'q':
			cfg->log_level = LOG_ERROR;
			break;
		case 'g':
			cfg->forward_group = true;
			break;
		case OPT_SUPERVISE:
			cfg->supervise = true;
			break;
		default:
			if (config_set(cfg, key, optarg, SRC_CLI, err, sizeof(err)))
				die(EXIT_USAGE, "--%s (try --help)", err);
		}
	}
}

static void set_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->allow_uid[0] = 0;
	cfg->n_allow_uid = 1;
	set_string(&cfg->root, STINT_DEFAULT_ROOT);
	set_string(&cfg->container, "stint");
	cfg->log_level = LOG_INFO;
	cfg->peer_timeout_ms = 120 * 1000;
}

static void validate(struct config *cfg)
{
	if (!cfg->supervise && (cfg->n_rewrite || cfg->grace_ms || cfg->forward_group))
		log_warn("rewrite, grace and forward-group only apply with --supervise; ignoring them");
	if (cfg->ready_file && !cfg->socket)
		die(EXIT_USAGE, "ready-file '%s' needs a socket: the peer gets the namespaces from it (try --help)",
		    cfg->ready_file);
}

void config_load(struct config *cfg, int argc, char **argv)
{
	static char *default_command[] = { "/sbin/init", NULL };
	const char *file = getenv("STINT_CONFIG");
	bool explicit_file = file != NULL;

	set_defaults(cfg);
	scan_early_flags(cfg, argc, argv, &file, &explicit_file);
	cfg->config_file = file ? file : STINT_DEFAULT_CONFIG;
	if (config_parse_file(cfg, cfg->config_file, explicit_file))
		exit(EXIT_USAGE);
	apply_env(cfg);
	apply_flags(cfg, argc, argv);
	log_set_level(cfg->log_level);
	cfg->command = optind < argc ? argv + optind : cfg->file_command ? cfg->file_command : default_command;
	validate(cfg);
}

void config_log(const struct config *cfg)
{
	char uids[256] = "", rw[512] = "";
	size_t off = 0;

	for (size_t i = 0; i < cfg->n_allow_uid && off < sizeof(uids); i++)
		off += (size_t)snprintf(uids + off, sizeof(uids) - off, "%s%u", i ? "," : "", cfg->allow_uid[i]);
	off = 0;
	for (size_t i = 0; i < cfg->n_rewrite && off < sizeof(rw); i++)
		off += (size_t)snprintf(rw + off, sizeof(rw) - off, "%s%d:%d", i ? "," : "", cfg->rewrite[i].from,
					cfg->rewrite[i].to);
	log_debug("settings: config=%s socket=%s allow-uid=%s root=%s ready-file=%s timeout=%ldms on-failure=%s "
		  "supervise=%s rewrite=%s grace=%ldms forward-group=%s drop-caps=%s notify-socket=%s container=%s "
		  "command=%s",
		  cfg->config_file, cfg->socket ?: "(none)", uids, cfg->root, cfg->ready_file ?: "(none)",
		  cfg->timeout_ms, cfg->on_failure_boot ? "boot" : "exit", cfg->supervise ? "yes" : "no",
		  rw[0] ? rw : "(none)", cfg->grace_ms, cfg->forward_group ? "yes" : "no",
		  cfg->drop_caps ?: "(none)", cfg->notify_socket ?: "(none)", cfg->container, cfg->command[0]);
}
