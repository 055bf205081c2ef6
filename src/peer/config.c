/* peer.ini, STINT_* variables and flags all funnel through
 * peer_config_set(), so a key behaves the same wherever it is written. */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stint/log.h"
#include "stint/peer_config.h"
#include "stint/util.h"

enum key_type { K_STR, K_PATH, K_ENUM, K_LIST, K_COLONS, K_UINT };

struct key {
	const char *name;
	enum key_type type;
	size_t off; /* offset of the field in struct peer_config */
	const char *const *choices; /* K_ENUM: index = stored value */
};

#define F(field) offsetof(struct peer_config, field)

static const char *const mode_v[] = { "", "chroot", "pivot", NULL };
static const char *const then_v[] = { "wait", "exit", NULL };
static const char *const carry_v[] = { "auto", "none", "list", NULL };
static const char *const cgroup_v[] = { "keep", "rw", NULL };
static const char *const mid_v[] = { "keep", "generate", NULL };
static const char *const level_v[] = { "error", "warn", "info", "debug", NULL };

static const struct key keys[] = {
	{ "socket", K_PATH, F(socket), NULL },
	{ "mode", K_ENUM, F(mode), mode_v },
	{ "then", K_ENUM, F(then), then_v },
	{ "lower", K_COLONS, F(lower), NULL },
	{ "upper", K_PATH, F(upper), NULL },
	{ "work", K_PATH, F(work), NULL },
	{ "state", K_PATH, F(state), NULL },
	{ "root", K_PATH, F(root), NULL },
	{ "carry", K_ENUM, F(carry), carry_v },
	{ "include", K_LIST, F(include), NULL },
	{ "exclude", K_LIST, F(exclude), NULL },
	{ "tmpfs", K_LIST, F(tmpfs), NULL },
	{ "cgroup", K_ENUM, F(cgroup), cgroup_v },
	{ "cgroup-path", K_PATH, F(cgroup_path), NULL },
	{ "notify", K_PATH, F(notify), NULL },
	{ "notify-target", K_PATH, F(notify_target), NULL },
	{ "state-file", K_PATH, F(state_file), NULL },
	{ "ready-path", K_PATH, F(ready_path), NULL },
	{ "console", K_PATH, F(console), NULL },
	{ "machine-id", K_ENUM, F(machine_id), mid_v },
	{ "timeout", K_UINT, F(timeout), NULL },
	{ "prepare-timeout", K_UINT, F(prepare_timeout), NULL },
	{ "handshake-timeout", K_UINT, F(handshake_timeout), NULL },
	{ "run-dir", K_PATH, F(run_dir), NULL },
	{ "wait-socket", K_UINT, F(wait_socket), NULL },
	{ "log-level", K_ENUM, F(log_level), level_v },
};

void peer_config_defaults(struct peer_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = PEER_MODE_PIVOT;
	c->then = PEER_THEN_WAIT;
	c->carry = PEER_CARRY_AUTO;
	c->cgroup = PEER_CGROUP_KEEP;
	c->machine_id = PEER_MACHINE_ID_KEEP;
	c->log_level = LOG_INFO;
	c->cgroup_path = strdup("/sys/fs/cgroup/systemd");
	c->notify_target = strdup("/run/host/notify/notify.sock");
	c->run_dir = strdup("/run/stint-peer");
	c->timeout = 30;
	c->prepare_timeout = 60;
	c->handshake_timeout = 10;
}

static void strlist_clear(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void peer_config_free(struct peer_config *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		void *field = (char *)c + keys[i].off;

		if (keys[i].type == K_STR || keys[i].type == K_PATH)
			free(*(char **)field);
		else if (keys[i].type == K_LIST || keys[i].type == K_COLONS)
			strlist_clear(field);
	}
}

static int strlist_add(struct strlist *l, const char *s, size_t n)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -1;
	l->v = v;
	if (!(v[l->n] = strndup(s, n)))
		return -1;
	l->n++;
	return 0;
}

/* Split on any of `seps`; empty items are dropped. */
static int strlist_split(struct strlist *l, const char *value, const char *seps)
{
	for (const char *p = value; *p;) {
		size_t n = strcspn(p, seps);

		if (n > 0 && strlist_add(l, p, n) < 0)
			return -1;
		p += n;
		p += strspn(p, seps);
	}
	return 0;
}

static int set_list(struct strlist *l, const char *value, int level, const char *seps)
{
	if (level != l->level) {
		strlist_clear(l);
		l->level = level;
	}
	return strlist_split(l, value, seps);
}

static int set_enum(int *field, const struct key *k, const char *value, char *err, size_t errlen)
{
	char allowed[128] = "";

	for (int i = 0; k->choices[i]; i++) {
		if (k->choices[i][0] && strcmp(k->choices[i], value) == 0) {
			*field = i;
			return 0;
		}
		if (k->choices[i][0]) {
			strncat(allowed, allowed[0] ? ", " : "", sizeof(allowed) - strlen(allowed) - 1);
			strncat(allowed, k->choices[i], sizeof(allowed) - strlen(allowed) - 1);
		}
	}
	return errorf(err, errlen, "%s: '%s' is not one of %s", k->name, value, allowed);
}

static int set_uint(unsigned *field, const struct key *k, const char *value, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' || v > UINT_MAX / 1000)
		return errorf(err, errlen, "%s: '%s' is not a number of seconds", k->name, value);
	*field = (unsigned)v;
	return 0;
}

int peer_config_has_key(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strcmp(keys[i].name, key) == 0)
			return 1;
	}
	return 0;
}

int peer_config_set(struct peer_config *c, const char *key, const char *value, int level, char *err,
		    size_t errlen)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key *k = &keys[i];
		void *field = (char *)c + k->off;

		if (strcmp(k->name, key) != 0)
			continue;
		switch (k->type) {
		case K_PATH:
			if (value[0] != '/')
				return errorf(err, errlen, "%s: '%s' is not an absolute path", key, value);
			/* fall through */
		case K_STR:
			free(*(char **)field);
			if (!(*(char **)field = strdup(value)))
				return errorf(err, errlen, "%s: out of memory", key);
			return 0;
		case K_ENUM:
			return set_enum(field, k, value, err, errlen);
		case K_UINT:
			return set_uint(field, k, value, err, errlen);
		case K_LIST:
			if (set_list(field, value, level, ", \t") < 0)
				return errorf(err, errlen, "%s: out of memory", key);
			return 0;
		case K_COLONS:
			if (set_list(field, strcmp(value, "image") == 0 ? "" : value, level, ":") < 0)
				return errorf(err, errlen, "%s: out of memory", key);
			return 0;
		}
	}
	return errorf(err, errlen, "unknown key '%s'", key);
}

struct ini_ctx {
	struct peer_config *c;
	char reason[512];
};

static int peer_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ctx = user;

	if (strcmp(section, "peer") != 0) {
		snprintf(ctx->reason, sizeof(ctx->reason), "unknown section [%s] (expected [peer])", section);
		return 0;
	}
	if (!value || !*value) {
		snprintf(ctx->reason, sizeof(ctx->reason), "%s: empty value", name);
		return 0;
	}
	return peer_config_set(ctx->c, name, value, PEER_LVL_FILE, ctx->reason, sizeof(ctx->reason)) == 0;
}

int peer_config_load(struct peer_config *c, const char *path, char *err, size_t errlen)
{
	struct ini_ctx ctx = { .c = c };
	FILE *f = fopen(path, "re");
	int rc;

	if (!f)
		return errorf(err, errlen, "%s: %s", path, strerror(errno));
	rc = ini_parse_file(f, peer_ini_handler, &ctx);
	fclose(f);
	if (rc == 0)
		return 0;
	if (ctx.reason[0] == '\0')
		snprintf(ctx.reason, sizeof(ctx.reason), "syntax error");
	return errorf(err, errlen, "%s:%d: %s", path, rc, ctx.reason);
}

int peer_config_env(struct peer_config *c, char *err, size_t errlen)
{
	static const struct {
		const char *env, *key;
	} vars[] = {
		{ "STINT_SOCKET", "socket" },
		{ "STINT_PEER_STATE", "state" },
		{ "STINT_PEER_MODE", "mode" },
		{ "STINT_PEER_STATE_FILE", "state-file" },
		{ "STINT_PEER_RUN_DIR", "run-dir" },
		{ "STINT_LOG_LEVEL", "log-level" },
	};
	char why[512];

	for (size_t i = 0; i < ARRAY_SIZE(vars); i++) {
		const char *v = getenv(vars[i].env);

		if (!v || !*v)
			continue;
		/* STINT_LOG_LEVEL is shared with the init, which says "quiet". */
		if (strcmp(vars[i].env, "STINT_LOG_LEVEL") == 0 && strcmp(v, "quiet") == 0)
			v = "error";
		if (peer_config_set(c, vars[i].key, v, PEER_LVL_ENV, why, sizeof(why)) < 0)
			return errorf(err, errlen, "%s: %s", vars[i].env, why);
	}
	return 0;
}

static int check_tmpfs_entry(const char *entry, char *err, size_t errlen)
{
	if (entry[0] != '/')
		return errorf(err, errlen, "tmpfs: '%s' does not start with an absolute path", entry);
	for (const char *o = strchr(entry, ':'); o; o = strchr(o + 1, ':')) {
		const char *next = strchr(o + 1, ':');
		size_t n = next ? (size_t)(next - o - 1) : strlen(o + 1);

		if (n == 0 || !memchr(o + 1, '=', n))
			return errorf(err, errlen, "tmpfs: option '%.*s' in '%s' is not KEY=VALUE", (int)n, o + 1,
				    entry);
	}
	return 0;
}

static int check_paths(const struct strlist *l, const char *key, char *err, size_t errlen)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i][0] != '/')
			return errorf(err, errlen, "%s: '%s' is not an absolute path", key, l->v[i]);
	}
	return 0;
}

int peer_config_validate(const struct peer_config *c, char *err, size_t errlen)
{
	if (!c->socket)
		return errorf(err, errlen, "no socket: give -s PATH, socket= in peer.ini or STINT_SOCKET");
	if (!c->state && (!c->upper || !c->work))
		return errorf(err, errlen, "no persistent volume: give state=DIR, or both upper= and work=");
	if (c->state && (c->upper || c->work))
		return errorf(err, errlen, "state= and upper=/work= exclude each other");
	if (check_paths(&c->lower, "lower", err, errlen) || check_paths(&c->include, "include", err, errlen) ||
	    check_paths(&c->exclude, "exclude", err, errlen))
		return -1;
	for (size_t i = 0; i < c->tmpfs.n; i++) {
		if (check_tmpfs_entry(c->tmpfs.v[i], err, errlen) < 0)
			return -1;
	}
	if (c->carry == PEER_CARRY_LIST && c->include.n == 0)
		return errorf(err, errlen, "carry=list needs include=PATH,...");
	if (c->root && strcmp(c->root, "/") == 0)
		return errorf(err, errlen, "root: the new root cannot be '/'");
	if (c->notify && strcmp(strrchr(c->notify, '/'), strrchr(c->notify_target, '/')) != 0)
		return errorf(err, errlen,
			      "notify %s and notify-target %s: the socket's directory is shown in the new root, so "
			      "their last components must be the same",
			      c->notify, c->notify_target);
	return 0;
}
