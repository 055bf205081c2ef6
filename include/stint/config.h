/* The settings engine of both programs. Each program describes its keys in
 * one table (struct cfg_key: name = INI key = long option, short option,
 * type, range, environment variable, default, help); from it the engine
 * parses the command line, prints --help, reads the INI file and the
 * STINT_* variables, and applies the built-in defaults. Sources rise in
 * precedence: defaults < file < environment < flags.
 *
 * Every bad value becomes ONE line naming where it came from:
 *   FILE:LINE: key: reason
 *   environment STINT_X: reason
 *   --key: reason (try --help)
 *
 * Values live in a static store (no heap): a key given twice just points at
 * its new copy, so nothing can leak, and the init links no allocator for
 * its settings. */
#ifndef STINT_CONFIG_H
#define STINT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Where a value came from, in rising precedence. */
enum cfg_source { CFG_FROM_DEFAULT, CFG_FROM_FILE, CFG_FROM_ENV, CFG_FROM_FLAG };

enum cfg_type {
	CFG_STR, /* any text, may be empty (const char *) */
	CFG_PATH, /* absolute path (const char *) */
	CFG_ENUM, /* one of .choices, stored as its index (int) */
	CFG_BOOL, /* yes/no/true/false/on/off/1/0 (bool); on the command line
		   * a flag without argument (or --key=BOOL) */
	CFG_MS, /* seconds with up to 3 decimals, .min to .max seconds; stored
		 * in milliseconds (long) */
	CFG_LIST, /* items split on .seps (struct strlist): a higher source
		   * replaces the list, the same source extends it */
	CFG_CUSTOM, /* .parse checks and stores the value */
	CFG_FLAG, /* command line only, no argument: stores .min (int) */
	CFG_HELP, /* command line only: the caller prints the help */
	CFG_VERSION, /* command line only: the caller prints the version */
};

/* cfg_key.flags */
enum {
	CFG_FILE_ONLY = 1, /* not a command-line option (e.g. the init's command) */
	CFG_ARGV_ONLY = 2, /* not an INI key (--config, --verbose, --help) */
	CFG_GLOBAL = 4, /* stint-peer: accepted before the subcommand too */
	CFG_CONFIG_FILE = 8, /* names the INI file (read before the file) */
	CFG_ABSOLUTE = 16, /* CFG_LIST: every item is an absolute path */
};

/* Stores the value of a CFG_CUSTOM key: `field` is the key's field in the
 * config at `cfg`. Returns 0, or -1 with the reason (without the key's
 * name) in err. */
typedef int cfg_parse_fn(void *cfg, void *field, const char *value, enum cfg_source source, char *err, size_t errlen);

struct cfg_key {
	const char *name; /* INI key and long option */
	const char *env; /* STINT_* variable, or NULL */
	const char *def; /* default, written as in the file; NULL = none */
	const char *metavar; /* in --help; NULL for keys without argument */
	const char *help; /* one line */
	union {
		const char *const *choices; /* CFG_ENUM: NULL-terminated */
		const char *seps; /* CFG_LIST */
		cfg_parse_fn *parse; /* CFG_CUSTOM */
	} u;
	int min, max; /* CFG_MS: seconds; CFG_FLAG: min is the value */
	unsigned short off; /* offsetof the field in the program's config */
	char short_opt; /* 0: none */
	unsigned char type, flags;
};

/* The -h/--help key of every program's table. */
#define CFG_KEY_HELP(key_flags)                                                                                        \
	{                                                                                                              \
		"help", NULL, NULL, NULL, "print this help and exit", .short_opt = 'h', .type = CFG_HELP,              \
								      .flags = (key_flags)                             \
	}

struct cfg_program {
	const char *name; /* "stint" */
	const char *section; /* the INI section read: "stint" */
	const struct cfg_key *keys;
	size_t n_keys;
	const char *usage; /* --help: printed before the options */
	const char *epilog; /* --help: printed after them */
};

/* A CFG_LIST value. v is NULL-terminated (when n > 0), so a list can serve
 * as an argv. */
struct strlist {
	const char **v;
	size_t n, cap;
	int source; /* enum cfg_source of the items */
};

/* Every entry point below returns 0 or -1 with one line in err. */

/* Apply every key's default. */
int cfg_defaults(const struct cfg_program *p, void *cfg, char *err, size_t errlen);

/* Read one INI file, section p->section. A missing file is fine unless
 * must_exist. */
int cfg_file(const struct cfg_program *p, void *cfg, const char *path, bool must_exist, char *err, size_t errlen);

/* Apply the STINT_* variables of the keys that have one. */
int cfg_env(const struct cfg_program *p, void *cfg, char *err, size_t errlen);

/* Command-line options, getopt_long style with "+": long options
 * (--key VALUE, --key=VALUE, unambiguous prefixes), short ones (-k VALUE,
 * -kVALUE, -vq), "--" ends them, and so does the first non-option.
 * `mask` limits them to keys with those flags (CFG_GLOBAL), 0 = every
 * command-line key. apply=false only checks the syntax and returns what the
 * caller must act on before anything else (help, version, the file);
 * apply=true stores every value.
 * Returns the index of the first operand in argv (>= 1), or -1. */
enum cfg_action { CFG_RUN, CFG_DO_HELP, CFG_DO_VERSION };
struct cfg_args {
	int first; /* index of the first operand */
	enum cfg_action action;
	const char *file; /* the CFG_CONFIG_FILE option's value, or NULL */
};
int cfg_argv(const struct cfg_program *p, void *cfg, int argc, char **argv, unsigned mask, bool apply,
	     struct cfg_args *out, char *err, size_t errlen);

/* For a command whose keys come from its command line only: the defaults,
 * then argv applied. */
int cfg_load_argv(const struct cfg_program *p, void *cfg, int argc, char **argv, struct cfg_args *out, char *err,
		  size_t errlen);

/* The usual sequence: defaults, argv syntax, the file (the CFG_CONFIG_FILE
 * key's flag, else its environment variable, else its default, which may
 * be missing), environment, flags. Returns 0 (out->action says whether to
 * print the help or the version instead of running), or -1. */
int cfg_load(const struct cfg_program *p, void *cfg, int argc, char **argv, struct cfg_args *out, char *err,
	     size_t errlen);

/* Set one key by name from `source`, as the file would; err gets
 * "key: reason" (or "unknown key 'x'"). For tests and callers that have a
 * value of their own. */
int cfg_set(const struct cfg_program *p, void *cfg, const char *key, const char *value, enum cfg_source source,
	    char *err, size_t errlen);

/* Write the generated --help (usage, one line per option, file-only keys,
 * epilog) to fd; mask as for cfg_argv. */
void cfg_help(const struct cfg_program *p, int fd, unsigned mask);

/* Helpers for CFG_CUSTOM parsers and programs. */

/* A copy of s[0..n) in the settings store; NULL (reason in err) when the
 * store is full. */
const char *cfg_strndup(const char *s, size_t n, char *err, size_t errlen);
/* Add the items of value (split on seps, empty ones skipped) to l: replace
 * it when source differs from the list's, extend it otherwise. check, if
 * not NULL, vets each item (s[0..n)) first. */
typedef int cfg_check_fn(const char *s, size_t n, char *err, size_t errlen);
int cfg_list_set(struct strlist *l, const char *value, const char *seps, enum cfg_source source, cfg_check_fn *check,
		 char *err, size_t errlen);
cfg_check_fn cfg_check_absolute; /* "'x' is not an absolute path" */
/* The log-level key of both programs (log_level_parse()), into an int. */
cfg_parse_fn cfg_parse_log_level;
/* "1.5" -> 1500. Decimal seconds, at most 3 decimals, min_s..max_s. */
int cfg_parse_ms(const char *s, int min_s, int max_s, long *ms, char *err, size_t errlen);
/* Decimal digits at s (no sign, no blank) up to max: returns the end of the
 * digits, or NULL when there is none or the number exceeds max. */
const char *parse_decimal(const char *s, unsigned long max, unsigned long *out);
/* Forget every stored value (unit tests that load many configs). */
void cfg_store_reset(void);

#endif
