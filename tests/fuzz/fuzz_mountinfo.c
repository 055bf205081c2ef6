/* Fuzz target "mountinfo": mountinfo_parse() (src/peer/mountinfo.c). The
 * peer reads the mountinfo of the guest's mount namespace, where the
 * guest chooses mount points and sources (a FUSE or tmpfs source string,
 * a directory name with spaces, newlines and backslashes). Invariants:
 * - every string of every entry is non-NULL (callers strcmp them);
 * - unescaping never grows a string: all the entries' strings together
 *   are no longer than the text they came from, and each fits its line;
 * - unescaping undoes the kernel's escaping: a root or target, escaped as
 *   the kernel does (\ooo for space, tab, newline, backslash) into a line
 *   of its own, parses back to itself;
 * - mountinfo_find() finds the last entry of each target. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../src/peer/mountinfo.h"
#include "fuzz.h"

static size_t longest_line(const char *buf, size_t len, size_t *lines)
{
	size_t best = 0;

	*lines = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;

		best = n > best ? n : best;
		i += n + 1;
		++*lines;
	}
	return best;
}

/* Escape like the kernel's seq_path()/mangle(): " \t\n\\" as \ooo. */
static char *escape(const char *s, char *out)
{
	char *w = out;

	for (; *s; s++) {
		if (strchr(" \t\n\\", *s))
			w += sprintf(w, "\\%03o", (unsigned char)*s);
		else
			*w++ = *s;
	}
	*w = '\0';
	return out;
}

/* root and target, escaped into a line of their own, parse back. */
static void check_roundtrip(const struct mount_entry *e)
{
	static char root[4 * 65536 + 1], target[4 * 65536 + 1], line[8 * 65536 + 64];
	struct mountinfo mi;
	int n;

	if (e->root[0] != '/' || e->target[0] != '/' || strlen(e->root) > 65536 || strlen(e->target) > 65536)
		return; /* the kernel writes absolute paths; "-" alone would be the separator */
	n = snprintf(line, sizeof(line), "1 0 0:0 %s %s rw - fs src rw", escape(e->root, root),
		     escape(e->target, target));
	FUZZ_CHECK(mountinfo_parse(line, (size_t)n, &mi) == 0, "parse of a re-escaped line failed");
	FUZZ_CHECK(mi.n == 1, "the re-escaped line '%s' gives %zu entries", line, mi.n);
	FUZZ_CHECK(strcmp(mi.m[0].root, e->root) == 0, "root '%s' comes back as '%s'", e->root, mi.m[0].root);
	FUZZ_CHECK(strcmp(mi.m[0].target, e->target) == 0, "target '%s' comes back as '%s'", e->target, mi.m[0].target);
	mountinfo_free(&mi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t lines, line_max = longest_line(text, size, &lines), total = 0;
	struct mountinfo mi;

	if (mountinfo_parse(text, size, &mi) < 0) {
		FUZZ_CHECK((errno == ENOMEM || errno == EBADMSG) && mi.n == 0 && mi.m == NULL,
			   "parse failed without ENOMEM or EBADMSG, or left entries");
		return 0;
	}
	FUZZ_CHECK(mi.n <= lines, "%zu entries from %zu lines", mi.n, lines);
	for (size_t i = 0; i < mi.n; i++) {
		const struct mount_entry *e = &mi.m[i];
		const char *s[] = { e->root, e->target, e->opts, e->optional, e->fstype, e->source, e->super_opts };
		size_t sum = 0;
		const struct mount_entry *found;

		for (size_t k = 0; k < sizeof(s) / sizeof(s[0]); k++) {
			FUZZ_CHECK(s[k] != NULL, "entry %zu: string %zu is NULL", i, k);
			sum += strlen(s[k]);
		}
		FUZZ_CHECK(sum <= line_max, "entry %zu: %zu bytes of strings from lines of at most %zu", i, sum,
			   line_max);
		total += sum;
		check_roundtrip(e);
		found = mountinfo_find(&mi, e->target);
		FUZZ_CHECK(found && found >= e && strcmp(found->target, e->target) == 0,
			   "mountinfo_find('%s') misses the last entry", e->target);
		(void)mount_opt_has(e->opts, "ro");
	}
	FUZZ_CHECK(total <= size, "%zu bytes of strings from %zu bytes of text", total, size);
	mountinfo_free(&mi);
	return 0;
}
