/* Unit tests of the mountinfo parser (src/peer/mountinfo.c): fields,
 * optional fields, octal escapes, a bad line refusing the whole text, and that
 * mountinfo_read() of a live /proc file gives what mountinfo_parse() gives
 * for the same text. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/peer/mountinfo.h"
#include "stint/util.h"
#include "tap.h"

static int parse(const char *text, struct mountinfo *mi)
{
	return mountinfo_parse(text, strlen(text), mi);
}

static void test_fields(void)
{
	struct mountinfo mi;
	const struct mount_entry *e;

	is_int(parse("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n", &mi),
	       0, "a proc(5) example line parses");
	is_int(mi.n, 1, "one entry");
	e = &mi.m[0];
	ok(e->id == 36 && e->parent == 35 && e->major == 98 && e->minor == 0, "ids and device");
	is_str(e->root, "/mnt1", "root");
	is_str(e->target, "/mnt2", "target");
	is_str(e->opts, "rw,noatime", "per-mount options");
	is_str(e->optional, "master:1 shared:7", "optional fields joined by one space");
	is_str(e->fstype, "ext3", "fstype");
	is_str(e->source, "/dev/root", "source");
	is_str(e->super_opts, "rw,errors=continue", "super options");
	mountinfo_free(&mi);
}

static void test_escapes(void)
{
	static const char text[] = "1 2 3:4 / /a\\040b\\011c\\012d\\134e rw - tmpfs my\\040src rw\n"
				   "5 6 7:8 /\\400 /last rw - proc\n"; /* no source */
	struct mountinfo mi;

	is_int(mountinfo_parse(text, sizeof(text) - 1, &mi), 0, "text with escapes parses");
	is_int(mi.n, 2, "two entries");
	if (mi.n != 2)
		return;
	is_str(mi.m[0].target, "/a b\tc\nd\\e", "\\040 \\011 \\012 \\134 are unescaped");
	is_str(mi.m[0].source, "my src", "the source is unescaped too");
	is_str(mi.m[1].root, "/\\400", "\\400 is not an escape (first digit over 3)");
	is_str(mi.m[1].source, "", "a missing source is empty, not NULL");
	is_str(mi.m[1].super_opts, "", "missing super options are empty, not NULL");
	ok(mountinfo_find(&mi, "/last") == &mi.m[1], "mountinfo_find finds the entry");
	mountinfo_free(&mi);
}

/* One line the parser cannot read fails the whole text: a mount it does
 * not see could be one the carry must leave out. */
static void test_bad_lines_refused(void)
{
	static const char *const bad[] = {
		"bad line without separator",	     "",
		"x 2 3:4 / /bad-id rw - tmpfs t rw", "1 2 3-4 / /bad-dev rw - tmpfs t rw",
		"1 2 3:4 / rw - tmpfs t rw",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char text[256];
		struct mountinfo mi = { .n = 99 };
		int rc;

		snprintf(text, sizeof(text), "1 2 3:4 / /good rw - tmpfs t rw\n%s\n5 6 7:8 / /after rw - proc p rw\n",
			 bad[i]);
		errno = 0;
		rc = mountinfo_parse(text, strlen(text), &mi);
		ok(rc == -1 && errno == EBADMSG && mi.n == 0 && mi.m == NULL,
		   "a text with the line '%s' is refused (EBADMSG, no entries)", bad[i]);
	}
}

static void test_empty(void)
{
	struct mountinfo mi = { .n = 99 };

	is_int(mountinfo_parse("", 0, &mi), 0, "empty text parses");
	ok(mi.n == 0 && mi.m == NULL, "to no entries");
}

static int same_entry(const struct mount_entry *a, const struct mount_entry *b)
{
	return a->id == b->id && a->parent == b->parent && a->major == b->major && a->minor == b->minor &&
	       !strcmp(a->root, b->root) && !strcmp(a->target, b->target) && !strcmp(a->opts, b->opts) &&
	       !strcmp(a->optional, b->optional) && !strcmp(a->fstype, b->fstype) && !strcmp(a->source, b->source) &&
	       !strcmp(a->super_opts, b->super_opts);
}

/* Our own mount namespace does not change between the two reads. */
static void test_read_matches_parse(void)
{
	struct mountinfo a, b;
	char *text = NULL;
	size_t cap = 0, len = 0, same = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int c;

	if (!ok(f != NULL, "open /proc/self/mountinfo"))
		return;
	while ((c = getc(f)) != EOF) {
		if (len + 1 >= cap && !(text = realloc(text, cap = cap * 2 + 4096)))
			abort();
		text[len++] = (char)c;
	}
	fclose(f);
	is_int(mountinfo_read(AT_FDCWD, "/proc/self/mountinfo", &a), 0, "mountinfo_read of /proc/self/mountinfo");
	is_int(mountinfo_parse(text, len, &b), 0, "mountinfo_parse of the same text");
	ok(a.n > 0 && a.n == b.n, "same number of entries (%zu, %zu)", a.n, b.n);
	for (size_t i = 0; i < a.n && i < b.n; i++)
		same += same_entry(&a.m[i], &b.m[i]);
	ok(same == a.n, "every entry the same");
	ok(mountinfo_find(&a, "/") != NULL, "/ is among them");
	mountinfo_free(&b);
	is_int(mountinfo_read(AT_FDCWD, "/nonexistent/mountinfo", &b), -1, "a missing file is an error");
	mountinfo_free(&a);
	free(text);
}

int main(void)
{
	tap_init();
	test_fields();
	test_escapes();
	test_bad_lines_refused();
	test_empty();
	test_read_matches_parse();
	return tap_done();
}
