/* The settings engine (include/stint/config.h): one key table per program
 * drives the command line, --help, the INI file, the environment and the
 * defaults, so that a key behaves the same wherever it is written. */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "stint/config.h"
#include "stint/format.h"
#include "stint/log.h"
#include "stint/proto.h"
#include "stint/util.h"

/* Every stored value (strings from the file, list items and arrays) is
 * carved from here and never freed: settings are read once at start-up,
 * and a value replaced by a later one just stays behind. No heap, so no
 * leak, and nothing to free on any exit path. */
#define CFG_STORE_SIZE 32768
static char store[CFG_STORE_SIZE] __attribute__((aligned(16)));
static size_t store_used;

void cfg_store_reset(void)
{
	store_used = 0;
}

static void *store_alloc(size_t size, char *err, size_t errlen)
{
	size_t at = (store_used + 7) & ~(size_t)7;

	if (size > sizeof(store) - at) {
		errorf(err, errlen, "more than %d bytes of settings", CFG_STORE_SIZE);
		return NULL;
	}
	store_used = at + size;
	return store + at;
}

const char *cfg_strndup(const char *s, size_t n, char *err, size_t errlen)
{
	char *copy = store_alloc(n + 1, err, errlen);

	if (copy) {
		memcpy(copy, s, n);
		copy[n] = '\0';
	}
	return copy;
}

const char *parse_decimal(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (max - d) / 10)
			return NULL;
		v = v * 10 + d;
	}
	if (p == s)
		return NULL;
	*out = v;
	return p;
}

/* Integers only: the init links no floating-point parser. */
int cfg_parse_ms(const char *s, int min_s, int max_s, long *ms, char *err, size_t errlen)
{
	unsigned long sec = 0, frac = 0;
	const char *p = s;
	int decimals = 0;

	for (; *p >= '0' && *p <= '9'; p++) /* saturates: a huge number is out of range */
		sec = sec < 1000000000 ? sec * 10 + (unsigned long)(*p - '0') : sec;
	if (p == s)
		p = NULL;
	else if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, decimals++)
			frac = decimals < 3 ? frac * 10 + (unsigned long)(*p - '0') : frac;
		if (decimals == 0)
			p = NULL;
	}
	if (!p || *p)
		return errorf(err, errlen, "'%s' is not a number of seconds", s);
	if (decimals > 3)
		return errorf(err, errlen, "'%s' has more than 3 decimals (milliseconds)", s);
	for (; decimals < 3; decimals++)
		frac *= 10;
	if (sec > (unsigned long)max_s || (sec == (unsigned long)max_s && frac) ||
	    sec * 1000 + frac < (unsigned long)min_s * 1000)
		return errorf(err, errlen, "'%s' is out of range (%d to %d seconds)", s, min_s, max_s);
	*ms = (long)(sec * 1000 + frac);
	return 0;
}

int cfg_check_absolute(const char *s, size_t n, char *err, size_t errlen)
{
	if (s[0] != '/')
		return errorf(err, errlen, "'%.*s' is not an absolute path", (int)n, s);
	if (n > STINT_PATH_MAX)
		return errorf(err, errlen, "path longer than %d bytes", STINT_PATH_MAX);
	return 0;
}

int cfg_list_set(struct strlist *l, const char *value, const char *seps, enum cfg_source source, cfg_check_fn *check,
		 char *err, size_t errlen)
{
	size_t add = 0;

	for (const char *p = value + strspn(value, seps); *p; p += strspn(p, seps)) {
		size_t n = strcspn(p, seps);

		if (check && check(p, n, err, errlen) < 0)
			return -1;
		add++;
		p += n;
	}
	if ((int)source != l->source) {
		l->n = 0;
		l->source = (int)source;
		if (l->v)
			l->v[0] = NULL;
	}
	if (l->n + add + 1 > l->cap) {
		size_t cap = 2 * l->cap > l->n + add + 1 ? 2 * l->cap : l->n + add + 1;
		const char **v = store_alloc(cap * sizeof(*v), err, errlen);

		if (!v)
			return -1;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	for (const char *p = value + strspn(value, seps); *p; p += strspn(p, seps)) {
		size_t n = strcspn(p, seps);

		if (!(l->v[l->n] = cfg_strndup(p, n, err, errlen)))
			return -1;
		l->n++;
		p += n;
	}
	if (l->v)
		l->v[l->n] = NULL;
	return 0;
}

int cfg_parse_log_level(void *cfg, void *field, const char *value, enum cfg_source source, char *err, size_t errlen)
{
	int level = log_level_parse(value);

	(void)cfg, (void)source;
	if (level < 0)
		return errorf(err, errlen, "'%s' is not one of error, warn, info, debug", value);
	*(int *)field = level;
	return 0;
}

static int parse_enum(const struct cfg_key *k, int *field, const char *value, char *err, size_t errlen)
{
	char allowed[128] = "";
	size_t off = 0;

	for (int i = 0; k->u.choices[i]; i++) {
		if (strcmp(k->u.choices[i], value) == 0) {
			*field = i;
			return 0;
		}
		off += (size_t)snprintf(allowed + off, off < sizeof(allowed) ? sizeof(allowed) - off : 0, "%s%s",
					i ? ", " : "", k->u.choices[i]);
	}
	return errorf(err, errlen, "'%s' is not one of %s", value, allowed);
}

static int parse_bool(const char *s, bool *b)
{
	static const char *const words[] = { "no", "yes", "false", "true", "off", "on", "0", "1" };

	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		if (strcasecmp(s, words[i]) == 0)
			return *b = i & 1, 0;
	}
	return -1;
}

/* Store one value; err gets the reason alone (callers add where it came
 * from). Values from the file are copied: inih reuses its line buffer. */
static int set_value(void *cfg, const struct cfg_key *k, const char *value, enum cfg_source source, char *err,
		     size_t errlen)
{
	void *field = (char *)cfg + k->off;

	switch (k->type) {
	case CFG_PATH:
		if (!*value)
			return errorf(err, errlen, "empty path");
		if (cfg_check_absolute(value, strlen(value), err, errlen) < 0)
			return -1;
		/* fall through */
	case CFG_STR:
		if (source == CFG_FROM_FILE && !(value = cfg_strndup(value, strlen(value), err, errlen)))
			return -1;
		*(const char **)field = value;
		return 0;
	case CFG_ENUM:
		return parse_enum(k, field, value, err, errlen);
	case CFG_BOOL:
		if (parse_bool(value, field) < 0)
			return errorf(err, errlen, "'%s' is not a boolean (yes/no)", value);
		return 0;
	case CFG_MS:
		return cfg_parse_ms(value, k->min, k->max, field, err, errlen);
	case CFG_LIST:
		return cfg_list_set(field, value, k->u.seps, source,
				    k->flags & CFG_ABSOLUTE ? cfg_check_absolute : NULL, err, errlen);
	case CFG_CUSTOM:
		return k->u.parse(cfg, field, value, source, err, errlen);
	case CFG_FLAG:
		*(int *)field = k->min;
		return 0;
	}
	return 0;
}

static bool in_file(const struct cfg_key *k)
{
	return !(k->flags & CFG_ARGV_ONLY);
}

static bool in_argv(const struct cfg_key *k, unsigned mask)
{
	return !(k->flags & CFG_FILE_ONLY) && (!mask || (k->flags & mask));
}

static bool takes_value(const struct cfg_key *k)
{
	return k->type < CFG_FLAG && k->type != CFG_BOOL;
}

int cfg_defaults(const struct cfg_program *p, void *cfg, char *err, size_t errlen)
{
	char why[256];

	for (const struct cfg_key *k = p->keys; k < p->keys + p->n_keys; k++) {
		if (k->def && k->type < CFG_FLAG && set_value(cfg, k, k->def, CFG_FROM_DEFAULT, why, sizeof(why)) < 0)
			return errorf(err, errlen, "default %s: %s", k->name, why);
	}
	return 0;
}

int cfg_set(const struct cfg_program *p, void *cfg, const char *key, const char *value, enum cfg_source source,
	    char *err, size_t errlen)
{
	char why[512];

	for (const struct cfg_key *k = p->keys; k < p->keys + p->n_keys; k++) {
		if (strcmp(k->name, key) != 0 || k->type >= CFG_FLAG ||
		    (source == CFG_FROM_FLAG ? !in_argv(k, 0) : !in_file(k)))
			continue;
		if (set_value(cfg, k, value, source, why, sizeof(why)) < 0)
			return errorf(err, errlen, "%s: %s", key, why);
		return 0;
	}
	return errorf(err, errlen, "unknown key '%s'", key);
}

struct ini_ctx {
	const struct cfg_program *p;
	void *cfg;
	const char *next; /* the text not yet handed to inih */
	int line; /* the line last handed to inih, from 1 */
	int why_line; /* the line `why` is about, 0 if none */
	char why[512];
};

/* inih's reader: one line of the text per call, so that x->line is the
 * line inih is parsing (its handler is not told). */
static char *next_line(char *buf, int size, void *stream)
{
	struct ini_ctx *x = stream;
	const char *nl = strchr(x->next, '\n');
	size_t n = nl ? (size_t)(nl - x->next) + 1 : strlen(x->next);

	if (n == 0 || x->why_line)
		return NULL;
	x->line++;
	/* inih's buffer (INI_MAX_LINE) would cut it and parse the rest as
	 * another line: refused instead. */
	if (n > (size_t)size - 1) {
		x->why_line = x->line;
		errorf(x->why, sizeof(x->why), "line longer than %d bytes", size - 2);
		return NULL;
	}
	memcpy(buf, x->next, n);
	buf[n] = '\0';
	x->next += n;
	return buf;
}

static int on_ini_key(struct ini_ctx *x, const char *section, const char *key, const char *value)
{
	if (strcmp(section, x->p->section) != 0) {
		errorf(x->why, sizeof(x->why), "unknown section [%s] (%s reads [%s])", section, x->p->name,
		       x->p->section);
		return 0;
	}
	return cfg_set(x->p, x->cfg, key, value, CFG_FROM_FILE, x->why, sizeof(x->why)) == 0;
}

/* inih calls this per key; returning 0 makes inih report the line. Only
 * the first error is kept, with its line. */
static int on_ini_line(void *user, const char *section, const char *key, const char *value)
{
	struct ini_ctx *x = user;
	int ok;

	if (x->why_line)
		return 1;
	ok = on_ini_key(x, section, key, value);
	if (!ok)
		x->why_line = x->line;
	return ok;
}

/* The file's text. stint reads it itself and hands it to
 * ini_parse_stream() (next_line): inih's own ini_parse_file() would bring musl's FILE
 * input (and through fclose, its allocator) into the static init. */
#define CFG_FILE_MAX 65536
static char file_text[CFG_FILE_MAX + 1];

/* Returns the length read, 0 for a missing file that may be missing, or -1. */
static ssize_t read_file(const char *path, bool must_exist, char *err, size_t errlen)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n = 1;

	if (fd < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return errorf(err, errlen, "config file %s: %s", path, strerror(errno));
	}
	while (n > 0 && len <= CFG_FILE_MAX) {
		n = TEMP_FAILURE_RETRY(read(fd, file_text + len, CFG_FILE_MAX + 1 - len));
		len += n > 0 ? (size_t)n : 0;
	}
	if (n < 0)
		return errorf(err, errlen, "config file %s: %s", path, strerror(errno));
	if (len > CFG_FILE_MAX)
		return errorf(err, errlen, "config file %s: larger than %d bytes", path, CFG_FILE_MAX);
	file_text[len] = '\0';
	return (ssize_t)len;
}

int cfg_file(const struct cfg_program *p, void *cfg, const char *path, bool must_exist, char *err, size_t errlen)
{
	struct ini_ctx x = { .p = p, .cfg = cfg };
	ssize_t len = read_file(path, must_exist, err, errlen);
	int line;

	if (len <= 0)
		return (int)len;
	x.next = file_text;
	line = ini_parse_stream(next_line, &x, on_ini_line, &x);
	if (line < 0)
		return errorf(err, errlen, "config file %s: inih failed (%d)", path, line);
	/* inih names the first line in error: a syntax error it found itself,
	 * or the one our handler or reader refused. */
	if (line == 0 && !x.why_line)
		return 0;
	if (line == 0 || line == x.why_line)
		return errorf(err, errlen, "%s:%d: %s", path, x.why_line, x.why);
	return errorf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)", path, line);
}

int cfg_env(const struct cfg_program *p, void *cfg, char *err, size_t errlen)
{
	char why[512];

	for (const struct cfg_key *k = p->keys; k < p->keys + p->n_keys; k++) {
		const char *v = k->env && !(k->flags & CFG_CONFIG_FILE) ? getenv(k->env) : NULL;

		/* An empty variable counts as unset (a manifest's way to clear it). */
		if (v && *v && set_value(cfg, k, v, CFG_FROM_ENV, why, sizeof(why)) < 0)
			return errorf(err, errlen, "environment %s: %s", k->env, why);
	}
	return 0;
}

/* Long option `arg` (after "--", "name" or "name=value"). */
static const struct cfg_key *find_long(const struct cfg_program *p, const char *arg, size_t len, unsigned mask,
				       char *err, size_t errlen)
{
	const struct cfg_key *found = NULL;
	int matches = 0;

	for (const struct cfg_key *k = p->keys; k < p->keys + p->n_keys; k++) {
		if (!in_argv(k, mask) || strncmp(k->name, arg, len) != 0)
			continue;
		if (k->name[len] == '\0')
			return k;
		found = k, matches++; /* a prefix, as getopt_long allows */
	}
	if (matches == 1)
		return found;
	errorf(err, errlen, "option --%.*s is %s (try --help)", (int)len, arg, matches ? "ambiguous" : "unknown");
	return NULL;
}

static const struct cfg_key *find_short(const struct cfg_program *p, char c, unsigned mask, char *err, size_t errlen)
{
	for (const struct cfg_key *k = p->keys; k < p->keys + p->n_keys; k++) {
		if (k->short_opt == c && in_argv(k, mask))
			return k;
	}
	errorf(err, errlen, "option -%c is unknown (try --help)", c);
	return NULL;
}

/* One option with its value (NULL: none given). */
static int take(void *cfg, const struct cfg_key *k, const char *value, bool apply, struct cfg_args *out, char *err,
		size_t errlen)
{
	char why[512];

	if (k->type == CFG_HELP || k->type == CFG_VERSION) {
		out->action = k->type == CFG_HELP ? CFG_DO_HELP : CFG_DO_VERSION;
		return 0;
	}
	if (k->flags & CFG_CONFIG_FILE)
		out->file = value;
	if (!apply)
		return 0;
	if (set_value(cfg, k, value ? value : "yes", CFG_FROM_FLAG, why, sizeof(why)) < 0)
		return errorf(err, errlen, "--%s: %s (try --help)", k->name, why);
	return 0;
}

static int long_option(const struct cfg_program *p, void *cfg, char **argv, int *i, int argc, unsigned mask, bool apply,
		       struct cfg_args *out, char *err, size_t errlen)
{
	const char *arg = argv[*i] + 2, *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct cfg_key *k = find_long(p, arg, len, mask, err, errlen);
	const char *value = eq ? eq + 1 : NULL;

	if (!k)
		return -1;
	if (takes_value(k) && !value) {
		if (*i + 1 >= argc)
			return errorf(err, errlen, "option --%s needs an argument (try --help)", k->name);
		value = argv[++*i];
	} else if (value && !takes_value(k) && k->type != CFG_BOOL) {
		return errorf(err, errlen, "option --%s takes no argument (try --help)", k->name);
	}
	return take(cfg, k, value, apply, out, err, errlen);
}

/* -abc, -sVALUE, -s VALUE */
static int short_options(const struct cfg_program *p, void *cfg, char **argv, int *i, int argc, unsigned mask,
			 bool apply, struct cfg_args *out, char *err, size_t errlen)
{
	for (const char *c = argv[*i] + 1; *c && out->action == CFG_RUN; c++) {
		const struct cfg_key *k = find_short(p, *c, mask, err, errlen);
		const char *value = NULL;

		if (!k)
			return -1;
		if (takes_value(k)) {
			if (c[1])
				value = c + 1;
			else if (*i + 1 < argc)
				value = argv[++*i];
			else
				return errorf(err, errlen, "option -%c needs an argument (try --help)", *c);
		}
		if (take(cfg, k, value, apply, out, err, errlen) < 0)
			return -1;
		if (value)
			break;
	}
	return 0;
}

int cfg_argv(const struct cfg_program *p, void *cfg, int argc, char **argv, unsigned mask, bool apply,
	     struct cfg_args *out, char *err, size_t errlen)
{
	int i;

	out->action = CFG_RUN;
	out->file = NULL;
	for (i = 1; i < argc && out->action == CFG_RUN; i++) {
		const char *a = argv[i];
		int rc;

		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		rc = a[1] == '-' ? long_option(p, cfg, argv, &i, argc, mask, apply, out, err, errlen) :
				   short_options(p, cfg, argv, &i, argc, mask, apply, out, err, errlen);
		if (rc < 0)
			return -1;
	}
	out->first = i;
	return 0;
}

static const struct cfg_key *config_key(const struct cfg_program *p)
{
	for (const struct cfg_key *k = p->keys; k < p->keys + p->n_keys; k++) {
		if (k->flags & CFG_CONFIG_FILE)
			return k;
	}
	return NULL;
}

int cfg_load_argv(const struct cfg_program *p, void *cfg, int argc, char **argv, struct cfg_args *out, char *err,
		  size_t errlen)
{
	if (cfg_defaults(p, cfg, err, errlen) < 0)
		return -1;
	return cfg_argv(p, cfg, argc, argv, 0, true, out, err, errlen);
}

int cfg_load(const struct cfg_program *p, void *cfg, int argc, char **argv, struct cfg_args *out, char *err,
	     size_t errlen)
{
	const struct cfg_key *ck = config_key(p);
	const char *file = NULL;
	bool must_exist = true;

	if (cfg_defaults(p, cfg, err, errlen) < 0 || cfg_argv(p, cfg, argc, argv, 0, false, out, err, errlen) < 0)
		return -1;
	if (out->action != CFG_RUN)
		return 0;
	if (ck) {
		file = out->file;
		if (!file && ck->env && (file = getenv(ck->env)) && !*file)
			file = NULL;
		if (!file)
			file = ck->def, must_exist = false;
		*(const char **)((char *)cfg + ck->off) = file;
	}
	if (file && cfg_file(p, cfg, file, must_exist, err, errlen) < 0)
		return -1;
	if (cfg_env(p, cfg, err, errlen) < 0)
		return -1;
	return cfg_argv(p, cfg, argc, argv, 0, true, out, err, errlen);
}

/* --help */

static void put_str(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0) {
		/* stdout closed: nothing to tell anyone */
	}
}

/* "a|b|c" for an enum, else the key's metavar. */
static const char *metavar(const struct cfg_key *k, char *buf, size_t len)
{
	size_t off = 0;

	if (k->type != CFG_ENUM || k->metavar)
		return k->metavar ? k->metavar : "";
	buf[0] = '\0';
	for (int i = 0; k->u.choices[i] && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "|" : "", k->u.choices[i]);
	return buf;
}

/* " (default X; 1..3600 s; env STINT_X)", or "". */
static const char *details(const struct cfg_key *k, char *buf, size_t len)
{
	const char *sep = " (";
	size_t off = 0;

	buf[0] = '\0';
	if (k->def && k->type < CFG_FLAG && !(k->flags & CFG_CONFIG_FILE)) {
		off += (size_t)snprintf(buf + off, len - off, "%sdefault %s", sep, k->def[0] ? k->def : "\"\"");
		sep = "; ";
	}
	if (k->type == CFG_MS && off < len) {
		off += (size_t)snprintf(buf + off, len - off, "%s%d..%d s", sep, k->min, k->max);
		sep = "; ";
	}
	if (k->env && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%senv %s", sep, k->env);
	if (off && off < len)
		snprintf(buf + off, len - off, ")");
	return buf;
}

static void help_line(int fd, const struct cfg_key *k, bool file_key)
{
	char opt[160], mv[96], more[160];
	const char *m = metavar(k, mv, sizeof(mv));

	if (file_key)
		snprintf(opt, sizeof(opt), "  %s = %s", k->name, m);
	else if (k->short_opt)
		snprintf(opt, sizeof(opt), "  -%c, --%s%s%s", k->short_opt, k->name, *m ? " " : "", m);
	else
		snprintf(opt, sizeof(opt), "      --%s%s%s", k->name, *m ? " " : "", m);
	fd_printf(fd, "%-28s %s%s\n", opt, k->help, details(k, more, sizeof(more)));
}

void cfg_help(const struct cfg_program *p, int fd, unsigned mask)
{
	bool file_only = false;

	put_str(fd, p->usage);
	for (const struct cfg_key *k = p->keys; k < p->keys + p->n_keys; k++) {
		if (in_argv(k, mask))
			help_line(fd, k, false);
		file_only |= !in_argv(k, 0);
	}
	if (file_only && !mask) {
		fd_printf(fd, "\nOnly in the [%s] section of the file:\n", p->section);
		for (const struct cfg_key *k = p->keys; k < p->keys + p->n_keys; k++) {
			if (!in_argv(k, 0))
				help_line(fd, k, true);
		}
	}
	if (p->epilog)
		put_str(fd, p->epilog);
}
