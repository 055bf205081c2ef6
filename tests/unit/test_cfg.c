/* Unit tests of the settings engine's own parts (src/config.c) that the
 * programs' tables (test_config.c, test_peer_config.c) do not reach one by
 * one: seconds into milliseconds with integers only, decimal numbers, the
 * INI file's limits, and --help's layout. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg_check.h"
#include "stint/config.h"
#include "stint/log.h"
#include "tap.h"

static void test_seconds(void)
{
	static const struct {
		const char *in;
		long ms; /* -1: refused */
		const char *error;
	} cases[] = {
		{ "0", 0, NULL },
		{ "1", 1000, NULL },
		{ "1.5", 1500, NULL },
		{ "1.25", 1250, NULL },
		{ "0.001", 1, NULL },
		{ "007.10", 7100, NULL },
		{ "3600", 3600000, NULL },
		{ "3600.000", 3600000, NULL },
		{ "3600.001", -1, "'3600.001' is out of range (0 to 3600 seconds)" },
		{ "99999999999999999999", -1, "'99999999999999999999' is out of range (0 to 3600 seconds)" },
		{ "1.2345", -1, "'1.2345' has more than 3 decimals (milliseconds)" },
		{ "1.", -1, "'1.' is not a number of seconds" },
		{ ".5", -1, "'.5' is not a number of seconds" },
		{ "-1", -1, "'-1' is not a number of seconds" },
		{ "+1", -1, "'+1' is not a number of seconds" },
		{ " 1", -1, "' 1' is not a number of seconds" },
		{ "1 ", -1, "'1 ' is not a number of seconds" },
		{ "1e3", -1, "'1e3' is not a number of seconds" },
		{ "0x10", -1, "'0x10' is not a number of seconds" },
		{ "", -1, "'' is not a number of seconds" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long ms = -1;
		int rc = cfg_parse_ms(cases[i].in, 0, 3600, &ms, err, sizeof(err));

		if (cases[i].ms >= 0)
			ok(rc == 0 && ms == cases[i].ms, "'%s' s = %ld ms (%ld)", cases[i].in, cases[i].ms, ms);
		else
			ok(rc == -1 && strcmp(err, cases[i].error) == 0, "'%s' refused: %s", cases[i].in, err);
	}
	ok(cfg_parse_ms("0.999", 1, 10, &(long){ 0 }, err, sizeof(err)) == -1 &&
		   strcmp(err, "'0.999' is out of range (1 to 10 seconds)") == 0,
	   "below the minimum: %s", err);
}

static void test_decimal(void)
{
	unsigned long v = 0;
	const char *end;

	end = parse_decimal("123abc", 1000, &v);
	ok(end && *end == 'a' && v == 123, "digits up to the first other character");
	ok(!parse_decimal("1001", 1000, &v) && parse_decimal("1000", 1000, &v) && v == 1000, "the maximum holds");
	ok(!parse_decimal("", 10, &v) && !parse_decimal("-1", 10, &v) && !parse_decimal(" 1", 10, &v),
	   "no digit: no number");
	ok(parse_decimal("18446744073709551615", ULONG_MAX, &v) && v == ULONG_MAX &&
		   !parse_decimal("18446744073709551616", ULONG_MAX, &v),
	   "no overflow at ULONG_MAX");
}

/* A table of one key of each kind, for the file and --help checks. */
struct demo {
	const char *file, *name;
	int log_level;
};

static const struct cfg_key demo_keys[] = {
	{ "config", NULL, NULL, "FILE", "the file", .off = offsetof(struct demo, file), .short_opt = 'c',
	  .type = CFG_STR, .flags = CFG_ARGV_ONLY | CFG_CONFIG_FILE },
	{ "name", "DEMO_NAME", "x", "NAME", "a name", .off = offsetof(struct demo, name), .type = CFG_STR },
	{ "only-here", NULL, NULL, "TEXT", "in the file only", .off = offsetof(struct demo, name), .type = CFG_STR,
	  .flags = CFG_FILE_ONLY },
	{ "log-level", NULL, "info", "LEVEL", "how much", .u.parse = cfg_parse_log_level,
	  .off = offsetof(struct demo, log_level), .type = CFG_CUSTOM },
};

static const struct cfg_program demo = {
	.name = "demo",
	.section = "demo",
	.keys = demo_keys,
	.n_keys = sizeof(demo_keys) / sizeof(demo_keys[0]),
	.usage = "Usage: demo\n",
	.epilog = "The end.\n",
};

static void test_file_limits(void)
{
	static char big[70000];
	struct demo d = { 0 };
	char err[512], want[512];

	memset(big, ';', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(want, sizeof(want), "config file %s: larger than 65536 bytes", ini_file(big));
	ok(cfg_file(&demo, &d, cfg_check_path, true, err, sizeof(err)) < 0 && strcmp(err, want) == 0,
	   "a file over 64 KiB is refused: %s", err);
	ok(cfg_file(&demo, &d, "/", true, err, sizeof(err)) < 0 && strcmp(err, "config file /: Is a directory") == 0,
	   "a directory: %s", err);
	ok(cfg_file(&demo, &d, "/nonexistent", false, err, sizeof(err)) == 0, "a missing optional file is fine");
	ok(cfg_file(&demo, &d, ini_file("[demo]\nname = a ; comment\n\n# comment\nonly-here  =  b  c  \n"), true, err,
		    sizeof(err)) == 0 &&
		   strcmp(d.name, "b  c") == 0,
	   "comments, blank lines, blanks around keys and values (%s)", d.name);
	snprintf(want, sizeof(want), "%s:2: syntax error (expected [section] or key = value)",
		 ini_file("[demo]\nno equals sign\n"));
	ok(cfg_file(&demo, &d, cfg_check_path, true, err, sizeof(err)) < 0 && strcmp(err, want) == 0, "%s", err);
	/* inih goes on after an error and names the first line in error: the
	 * reason must be that line's, not a later key's. */
	snprintf(want, sizeof(want), "%s:2: syntax error (expected [section] or key = value)",
		 ini_file("[demo]\nno equals sign\n\nnope = 1\n"));
	ok(cfg_file(&demo, &d, cfg_check_path, true, err, sizeof(err)) < 0 && strcmp(err, want) == 0,
	   "a syntax error before a bad key is the one named: %s", err);
	snprintf(want, sizeof(want), "%s:3: syntax error (expected [section] or key = value)",
		 ini_file("[demo]\nname = a\nno equals sign\nnope = 1\n"));
	ok(cfg_file(&demo, &d, cfg_check_path, true, err, sizeof(err)) < 0 && strcmp(err, want) == 0,
	   "with its own line number: %s", err);
	{
		char text[400];

		/* A line inih's 200-byte buffer would cut (and parse its rest
		 * as another line) is refused at its own line number. */
		snprintf(text, sizeof(text), "[demo]\n\nname = %0250d\nnope = 1\n", 7);
		snprintf(want, sizeof(want), "%s:3: line longer than 198 bytes", ini_file(text));
		ok(cfg_file(&demo, &d, cfg_check_path, true, err, sizeof(err)) < 0 && strcmp(err, want) == 0,
		   "an overlong line is refused, not cut: %s", err);
		snprintf(text, sizeof(text), "[demo]\nname = %0191d\n", 7);
		is_int(cfg_file(&demo, &d, ini_file(text), true, err, sizeof(err)), 0, "a line of 198 bytes is read");
		is_int(strlen(d.name), 191, "whole");
	}
	snprintf(want, sizeof(want), "%s:2: unknown key 'nope'", ini_file("[demo]\nnope = 1\nalso = 2\n"));
	ok(cfg_file(&demo, &d, cfg_check_path, true, err, sizeof(err)) < 0 && strcmp(err, want) == 0,
	   "the first error only: %s", err);
	snprintf(want, sizeof(want), "%s:1: log-level: 'x' is not one of error, warn, info, debug",
		 ini_file("log-level = x\n"));
	ok(cfg_file(&demo, &d, cfg_check_path, true, err, sizeof(err)) < 0, "a key before any section is refused: %s",
	   err);
}

static void test_help_layout(void)
{
	const char *help = help_text(&demo, 0);

	ok(strncmp(help, "Usage: demo\n", 12) == 0, "the usage first");
	/* The texts start in one column, after 29 characters. */
	ok(strstr(help, "\n  -c, --config FILE          the file\n") != NULL, "an option with its short form");
	ok(strstr(help, "\n      --name NAME            a name (default x; env DEMO_NAME)\n") != NULL,
	   "default and variable after the text");
	ok(strstr(help, "\nOnly in the [demo] section of the file:\n  only-here = TEXT") != NULL,
	   "file-only keys under their own heading");
	ok(!strstr(help, "--only-here"), "a file-only key is no option");
	ok(strlen(help) > 9 && strcmp(help + strlen(help) - 9, "The end.\n") == 0, "the epilog last");
}

int main(void)
{
	tap_init();
	log_init("test");
	test_seconds();
	test_decimal();
	test_file_limits();
	test_help_layout();
	diag("the settings engine");
	return tap_done();
}
