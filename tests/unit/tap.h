/* Minimal TAP producer for the C unit tests (tests/test-unit.sh runs them,
 * tests/run.sh counts "ok"/"not ok" lines). Header-only: each test program
 * is one .c file. Output is line-buffered so that a crash (e.g. an ASan
 * report) still leaves every finished result on stdout. */
#ifndef STINT_TAP_H
#define STINT_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failures;

__attribute__((unused)) static void tap_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

__attribute__((unused, format(printf, 4, 5))) static int tap_ok(int pass, const char *file, int line, const char *fmt,
								...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failures++;
		printf("#   failed at %s:%d\n", file, line);
	}
	return pass;
}

/* ok(COND, "name %d", ...): one test result. Returns COND. */
#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* Comparisons that print both sides when they differ. */
#define is_int(got, want, ...)                                                                                         \
	({                                                                                                             \
		long long _g = (long long)(got), _w = (long long)(want);                                               \
		int _p = ok(_g == _w, __VA_ARGS__);                                                                    \
		if (!_p)                                                                                               \
			printf("#   got %lld, want %lld\n", _g, _w);                                                   \
		_p;                                                                                                    \
	})

#define is_str(got, want, ...)                                                                                         \
	({                                                                                                             \
		const char *_g = (got), *_w = (want);                                                                  \
		int _p = ok(_g && _w && strcmp(_g, _w) == 0, __VA_ARGS__);                                             \
		if (!_p)                                                                                               \
			printf("#   got '%s', want '%s'\n", _g ? _g : "(null)", _w ? _w : "(null)");                   \
		_p;                                                                                                    \
	})

/* A diagnostic line (TAP comment). */
__attribute__((unused, format(printf, 1, 2))) static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Print the plan; the exit status says whether everything passed. */
__attribute__((unused)) static int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures ? 1 : 0;
}

#endif
