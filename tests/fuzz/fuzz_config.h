/* Shared by the two settings harnesses (fuzz_stint_ini.c, fuzz_peer_ini.c):
 * the input's layout, and the invariants of a loaded config that follow
 * from its key table (include/stint/config.h). */
#ifndef STINT_FUZZ_CONFIG_H
#define STINT_FUZZ_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "stint/config.h"

#define FUZZ_MAX_ARGS 64

/* One input = the INI file, then, after a NUL byte, the command line:
 * words separated by NUL bytes (argv[0] is the program's name). Without a
 * NUL the whole input is the file and the command line is empty. */
struct fuzz_config_input {
	const char *file; /* /proc/self/fd/N of a memfd holding the file */
	int argc;
	char *argv[FUZZ_MAX_ARGS + 2];
	char words[4096 + 1];
};

static inline void fuzz_config_split(const uint8_t *data, size_t size, const char *prog, struct fuzz_config_input *in)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t file_len = nul ? (size_t)(nul - data) : size;
	size_t n = nul ? size - file_len - 1 : 0;

	in->file = fuzz_as_file(data, file_len);
	in->argc = 0;
	in->argv[in->argc++] = (char *)prog;
	if (n > sizeof(in->words) - 1)
		n = sizeof(in->words) - 1;
	memcpy(in->words, nul ? nul + 1 : data, n);
	in->words[n] = '\0';
	for (char *w = in->words; nul && in->argc <= FUZZ_MAX_ARGS && w <= in->words + n; w += strlen(w) + 1)
		in->argv[in->argc++] = w;
	in->argv[in->argc] = NULL;
}

/* A refusal: a reason that is not empty and fits its buffer.
 * FUZZ_VERBOSE=1 in the environment prints it (when reproducing). */
static inline void fuzz_config_refused(const char *err, size_t errlen)
{
	static int verbose = -1;

	FUZZ_CHECK(fuzz_terminated(err, errlen), "the reason is not NUL-terminated");
	FUZZ_CHECK(err[0] != '\0', "a refusal without a reason");
	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "fuzz: refused: %s\n", err);
}

static inline size_t fuzz_count_choices(const char *const *choices)
{
	size_t n = 0;

	while (choices[n])
		n++;
	return n;
}

/* Whatever the sources said, each typed key holds a value its type
 * allows: paths absolute, enums in range, durations within their bounds,
 * lists NULL-terminated with non-empty (absolute) items. */
static inline void fuzz_check_config(const struct cfg_program *p, const void *cfg)
{
	for (const struct cfg_key *k = p->keys; k < p->keys + p->n_keys; k++) {
		const void *field = (const char *)cfg + k->off;

		switch (k->type) {
		case CFG_PATH: {
			const char *v = *(const char *const *)field;

			FUZZ_CHECK(!v || v[0] == '/', "%s = '%s' is not absolute", k->name, v);
			break;
		}
		case CFG_ENUM: {
			int v = *(const int *)field;

			FUZZ_CHECK(v >= 0 && (size_t)v < fuzz_count_choices(k->u.choices), "%s = %d, not a choice",
				   k->name, v);
			break;
		}
		case CFG_MS: {
			long v = *(const long *)field;

			FUZZ_CHECK(v >= k->min * 1000L && v <= k->max * 1000L, "%s = %ld ms, outside %d..%d s", k->name,
				   v, k->min, k->max);
			break;
		}
		case CFG_LIST: {
			const struct strlist *l = field;

			FUZZ_CHECK(l->n == 0 || (l->v && !l->v[l->n]), "%s: list not NULL-terminated", k->name);
			for (size_t i = 0; i < l->n; i++) {
				FUZZ_CHECK(l->v[i] && l->v[i][0], "%s: item %zu empty", k->name, i);
				FUZZ_CHECK(!(k->flags & CFG_ABSOLUTE) || l->v[i][0] == '/',
					   "%s: item '%s' not absolute", k->name, l->v[i]);
			}
			break;
		}
		default:
			break;
		}
	}
}

#endif
