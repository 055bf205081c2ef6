/* Helpers for the tests of a program's key table (test_config.c for stint,
 * test_peer_config.c for stint-peer): set one key from the file, the
 * environment or a flag into a fresh config, render a field as text, and
 * check that every key of a table behaves the same from every source. */
#ifndef STINT_CFG_CHECK_H
#define STINT_CFG_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stint/config.h"
#include "tap.h"

/* A scratch INI file, removed at exit. */
static char cfg_check_path[64];

__attribute__((unused)) static void cfg_check_cleanup(void)
{
	if (cfg_check_path[0])
		unlink(cfg_check_path);
}

/* Write TEXT to the scratch file; returns its path. */
__attribute__((unused)) static const char *ini_file(const char *text)
{
	FILE *f;

	if (!cfg_check_path[0]) {
		int fd;

		snprintf(cfg_check_path, sizeof(cfg_check_path), "/tmp/stint-unit-XXXXXX");
		fd = mkstemp(cfg_check_path);
		if (fd < 0) {
			perror("mkstemp");
			exit(2);
		}
		close(fd);
		atexit(cfg_check_cleanup);
	}
	f = fopen(cfg_check_path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(cfg_check_path);
		exit(2);
	}
	return cfg_check_path;
}

/* A fresh config (defaults applied) with `key = value` from `src`.
 * Returns 0, or -1 with the one-line error in err. */
__attribute__((unused)) static int set_from(const struct cfg_program *p, void *cfg, size_t size,
					    const struct cfg_key *k, const char *value, enum cfg_source src, char *err,
					    size_t errlen)
{
	char text[512], opt[128];
	struct cfg_args a;
	int rc = 0;

	cfg_store_reset();
	memset(cfg, 0, size);
	err[0] = '\0';
	if (cfg_defaults(p, cfg, err, errlen) < 0)
		return -1;
	switch (src) {
	case CFG_FROM_FILE:
		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", p->section, k->name, value);
		return cfg_file(p, cfg, ini_file(text), true, err, errlen);
	case CFG_FROM_ENV:
		setenv(k->env, value, 1);
		rc = cfg_env(p, cfg, err, errlen);
		unsetenv(k->env);
		return rc;
	case CFG_FROM_FLAG: {
		char *argv[] = { (char *)p->name, opt, (char *)value, NULL };
		int argc = 3;

		/* A boolean is a flag without argument, or --key=BOOL. */
		snprintf(opt, sizeof(opt), k->type == CFG_BOOL ? "--%s=%s" : "--%s", k->name, value);
		if (k->type == CFG_BOOL)
			argc = 2, argv[2] = NULL;
		if (cfg_argv(p, cfg, argc, argv, 0, true, &a, err, errlen) < 0)
			return -1;
		return a.first == argc ? 0 : (snprintf(err, errlen, "operand left: %d", a.first), -1);
	}
	case CFG_FROM_DEFAULT:
		break;
	}
	return rc;
}

/* How a test prints the field of a CFG_CUSTOM key. */
typedef void render_custom_fn(const struct cfg_key *k, const void *cfg, char *out, size_t len);

/* The field of k as text: strings as they are ("(null)" when unset), enums
 * by name, booleans yes/no, times in ms, lists joined with '|'. */
__attribute__((unused)) static const char *render(const struct cfg_key *k, const void *cfg, render_custom_fn *custom,
						  char *out, size_t len)
{
	const void *field = (const char *)cfg + k->off;

	out[0] = '\0';
	switch (k->type) {
	case CFG_STR:
	case CFG_PATH: {
		const char *s = *(const char *const *)field;

		snprintf(out, len, "%s", s ? s : "(null)");
		break;
	}
	case CFG_ENUM:
		snprintf(out, len, "%s", k->u.choices[*(const int *)field]);
		break;
	case CFG_BOOL:
		snprintf(out, len, "%s", *(const bool *)field ? "yes" : "no");
		break;
	case CFG_MS:
		snprintf(out, len, "%ldms", *(const long *)field);
		break;
	case CFG_LIST: {
		const struct strlist *l = field;
		size_t off = 0;

		for (size_t i = 0; i < l->n && off < len; i++)
			off += (size_t)snprintf(out + off, len - off, "%s%s", i ? "|" : "", l->v[i]);
		break;
	}
	case CFG_CUSTOM:
	case CFG_FLAG:
		custom(k, cfg, out, len);
		break;
	default:
		break;
	}
	return out;
}

/* What each key of a table is set to, and how it reads back. */
struct sample {
	const char *key, *value, *shown;
};

/* Every key that holds a value: set from the file, the environment (when
 * the key has a variable) and a flag (unless file-only), the field reads
 * back as `shown` each time, and `shown` is not the default. A key with no
 * sample fails: a new key needs one here. */
__attribute__((unused)) static void check_every_key(const struct cfg_program *p, void *cfg, size_t size,
						    const struct sample *samples, render_custom_fn *custom)
{
	static const enum cfg_source sources[] = { CFG_FROM_FILE, CFG_FROM_ENV, CFG_FROM_FLAG };
	static const char *const source_names[] = { "default", "file", "env", "flag" };
	char err[512], got[512], def[512];

	for (const struct cfg_key *k = p->keys; k < p->keys + p->n_keys; k++) {
		const struct sample *s = samples;

		if (k->type >= CFG_FLAG || (k->flags & CFG_CONFIG_FILE))
			continue;
		while (s->key && strcmp(s->key, k->name) != 0)
			s++;
		if (!s->key) {
			ok(0, "%s: key '%s' has a sample value in the test", p->name, k->name);
			continue;
		}
		set_from(p, cfg, size, k, "", CFG_FROM_DEFAULT, err, sizeof(err));
		render(k, cfg, custom, def, sizeof(def));
		ok(strcmp(def, s->shown) != 0, "%s %s: the sample '%s' differs from the default '%s'", p->name, k->name,
		   s->shown, def);
		for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
			enum cfg_source src = sources[i];

			if ((src == CFG_FROM_ENV && !k->env) || (src == CFG_FROM_FLAG && (k->flags & CFG_FILE_ONLY)))
				continue;
			if (set_from(p, cfg, size, k, s->value, src, err, sizeof(err)) < 0) {
				ok(0, "%s %s = '%s' from the %s: %s", p->name, k->name, s->value, source_names[src],
				   err);
				continue;
			}
			is_str(render(k, cfg, custom, got, sizeof(got)), s->shown, "%s %s = '%s' from the %s", p->name,
			       k->name, s->value, source_names[src]);
		}
	}
}

/* The --help text of p (mask as for cfg_help). */
__attribute__((unused)) static const char *help_text(const struct cfg_program *p, unsigned mask)
{
	static char text[16384];
	int fds[2];
	ssize_t n;

	if (pipe(fds) < 0) {
		perror("pipe");
		exit(2);
	}
	cfg_help(p, fds[1], mask);
	close(fds[1]);
	n = read(fds[0], text, sizeof(text) - 1);
	close(fds[0]);
	text[n > 0 ? n : 0] = '\0';
	return text;
}

/* Every key is in the help: "--name" for options, "  name = " for the
 * file-only ones, with its variable and default when it has them. */
__attribute__((unused)) static void check_help_lists_every_key(const struct cfg_program *p)
{
	const char *help = help_text(p, 0);
	int missing = 0;

	for (const struct cfg_key *k = p->keys; k < p->keys + p->n_keys; k++) {
		char want[96];
		const char *line;

		if (k->flags & CFG_FILE_ONLY)
			snprintf(want, sizeof(want), "  %s = ", k->name);
		else
			snprintf(want, sizeof(want), "--%s", k->name);
		line = strstr(help, want);
		if (!line) {
			printf("#   %s --help lacks '%s'\n", p->name, want);
			missing++;
			continue;
		}
		while (line > help && line[-1] != '\n')
			line--; /* the whole line */
		line = strndup(line, strcspn(line, "\n"));
		if (k->env && !strstr(line, k->env))
			printf("#   %s --help: %s without its variable %s\n", p->name, k->name, k->env), missing++;
		if (k->def && k->type < CFG_FLAG && !(k->flags & CFG_CONFIG_FILE) && !strstr(line, k->def))
			printf("#   %s --help: %s without its default %s\n", p->name, k->name, k->def), missing++;
		if (k->short_opt) {
			char s[8];

			snprintf(s, sizeof(s), "-%c, ", k->short_opt);
			if (!strstr(line, s))
				printf("#   %s --help: %s without -%c\n", p->name, k->name, k->short_opt), missing++;
		}
		free((void *)line);
	}
	ok(missing == 0, "%s --help lists every key with its short option, default and variable", p->name);
}

#endif
