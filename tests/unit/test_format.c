/* Unit tests of src/format.c, stint's own snprintf/vsnprintf: the same
 * output and return value as the C library's (found behind ours with
 * dlsym(RTLD_NEXT)) for every flag, width, precision and length stint's
 * messages may use; truncation; and "<bad format>" for what it refuses
 * (floating point). */
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "tap.h"

typedef int vsnprintf_fn(char *, size_t, const char *, va_list);
static vsnprintf_fn *libc_vsnprintf;
static int failures;

/* Format with both; report only differences (one ok() per group). */
__attribute__((format(printf, 1, 2))) static void same(const char *fmt, ...)
{
	char ours[256], theirs[256];
	va_list a, b;
	int n1, n2;

	va_start(a, fmt);
	va_copy(b, a);
	n1 = vsnprintf(ours, sizeof(ours), fmt, a);
	n2 = libc_vsnprintf(theirs, sizeof(theirs), fmt, b);
	va_end(b);
	va_end(a);
	if (n1 != n2 || strcmp(ours, theirs) != 0) {
		failures++;
		printf("#   '%s': ours '%s' (%d), libc '%s' (%d)\n", fmt, ours, n1, theirs, n2);
	}
}

static void test_integers(void)
{
	static const long long values[] = { 0, 1, -1, 7, 42, -42, 255, 65535, INT_MAX, INT_MIN, LLONG_MAX, LLONG_MIN };
	static const char *const flags[] = { "", "-", "0", "+", " ", "#", "-+", "0+", "- ", "#0", "-#" };
	static const char *const sizes[] = { "", "1", "5", "12", "25" };
	static const char *const precs[] = { "", ".", ".0", ".1", ".3", ".8" };
	static const char conv[] = "diuxXo";
	char fmt[32];

	failures = 0;
	for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
		for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			for (size_t w = 0; w < sizeof(sizes) / sizeof(sizes[0]); w++) {
				for (size_t p = 0; p < sizeof(precs) / sizeof(precs[0]); p++) {
					for (const char *c = conv; *c; c++) {
						/* The combinations the C standard leaves undefined: # with d, i, u. */
						if (strchr(flags[f], '#') && strchr("diu", *c))
							continue;
							/* Built here, so not checked by the compiler. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
						snprintf(fmt, sizeof(fmt), "[%%%s%s%sll%c]", flags[f], sizes[w],
							 precs[p], *c);
						same(fmt, values[v]);
						snprintf(fmt, sizeof(fmt), "[%%%s%s%s%c]", flags[f], sizes[w], precs[p],
							 *c);
						same(fmt, (int)values[v]);
#pragma GCC diagnostic pop
					}
				}
			}
		}
	}
	ok(failures == 0, "integers: every flag, width, precision and conversion like the libc (%d differ)", failures);

	failures = 0;
	same("%hhd %hhu %hd %hu %hhx", 300, 300, 70000, 70000, -1);
	same("%ld %lu %lx %lld %llu", LONG_MIN, ULONG_MAX, 0xdeadbeefUL, LLONG_MIN, ULLONG_MAX);
	same("%zu %zd %zx", (size_t)SIZE_MAX, (ssize_t)-5, (size_t)4096);
	same("%jd %ju %td", INTMAX_MIN, UINTMAX_MAX, (ptrdiff_t)-3);
	same("%*d|%-*d|%*d", 6, 42, 6, 42, -6, 42);
	same("%.*d|%.*d|%*.*d", 5, 42, -1, 42, 8, 4, -7);
	same("%02x%02x:%02x", 10, 255, 0);
	same("%u %d", 4294967295U, -2147483647 - 1);
	ok(failures == 0, "length modifiers and * arguments like the libc (%d differ)", failures);
}

static void test_strings(void)
{
	failures = 0;
	same("%s|%10s|%-10s|%.2s|%10.3s|%-10.3s|", "hello", "hello", "hello", "hello", "hello", "hello");
	same("%.*s|%.*s|%*s", 3, "abcdef", -1, "abc", -4, "ab");
	same("%.0s|%s|", "abc", "");
	same("%c|%3c|%-3c|%%|100%%", 'x', 'y', 'z');
	same("plain text, no conversion");
	same("%s: [+%ld ms] %s%s", "stint", 12L, "error: ", "exec /x: No such file or directory");
	same("'%.*s' is not an absolute path", 3, "abcdef");
	ok(failures == 0, "strings, chars and %%%% like the libc (%d differ)", failures);
}

static void test_truncation(void)
{
	char buf[8];
	int n;

#pragma GCC diagnostic ignored "-Wformat-truncation" /* the point here */
	memset(buf, 'x', sizeof(buf));
	n = snprintf(buf, sizeof(buf), "%s-%d", "abcdef", 12345);
	ok(n == 12 && strcmp(buf, "abcdef-") == 0, "truncated to the buffer, returns the full length (%d, '%s')", n,
	   buf);
	memset(buf, 'x', sizeof(buf));
	n = snprintf(buf, 1, "%d", 123);
	ok(n == 3 && buf[0] == '\0' && buf[1] == 'x', "size 1: only the terminator");
	n = snprintf(buf, 0, "%s", "abc");
	ok(n == 3 && buf[0] == '\0' && buf[1] == 'x', "size 0: nothing written, length returned");
	ok(snprintf(NULL, 0, "%d-%s", -5, "ab") == 5, "NULL buffer of size 0 measures");
	n = snprintf(buf, sizeof(buf), "%s", "1234567");
	ok(n == 7 && strcmp(buf, "1234567") == 0, "exactly full");
}

/* What stint does not format: the output stops there, visibly, and no
 * argument after it is read (it could not know their types). */
static void test_refused(void)
{
	char buf[64];
	int n;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
	n = snprintf(buf, sizeof(buf), "waited %.1f s for %s", 1.5, "x");
	ok(strcmp(buf, "waited <bad format>") == 0 && n == (int)strlen(buf), "%%f is refused: '%s'", buf);
	snprintf(buf, sizeof(buf), "%g|%e|%a|%n", 1.0, 1.0, 1.0, &n);
	ok(strcmp(buf, "<bad format>") == 0, "%%g, %%e, %%a, %%n are refused: '%s'", buf);
	snprintf(buf, sizeof(buf), "%d%", 5);
	ok(strcmp(buf, "5<bad format>") == 0, "a lone %% at the end is refused: '%s'", buf);
#pragma GCC diagnostic pop
}

int main(void)
{
	tap_init();
	libc_vsnprintf = (vsnprintf_fn *)dlsym(RTLD_NEXT, "vsnprintf");
	if (!libc_vsnprintf || libc_vsnprintf == vsnprintf) {
		printf("not ok 1 - the C library's vsnprintf not found behind ours (%s)\n", dlerror());
		return 1;
	}
	test_integers();
	test_strings();
	test_truncation();
	test_refused();
	diag("snprintf against the C library's");
	return tap_done();
}
