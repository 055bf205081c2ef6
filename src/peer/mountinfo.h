/* /proc/PID/mountinfo, parsed (see proc(5)). Paths are unescaped. */
#ifndef STINT_MOUNTINFO_H
#define STINT_MOUNTINFO_H

#include <stddef.h>

#include "stint/path.h"

struct mount_entry {
	int id, parent;
	unsigned major, minor;
	char *root; /* the path inside its filesystem that is mounted */
	char *target; /* mount point, relative to the reader's root */
	char *opts; /* per-mount options: "ro,nosuid,..." */
	char *optional; /* "shared:3 master:1" or "" */
	char *fstype;
	char *source;
	char *super_opts;
};

struct mountinfo {
	struct mount_entry *m;
	size_t n;
};

/* Parse the mountinfo readable at `path` relative to `dirfd` (e.g. the
 * peer's own /proc and "self/mountinfo", read after setns: it shows the
 * task's current mount namespace). Returns 0 or -1 with errno. */
int mountinfo_read(int dirfd, const char *path, struct mountinfo *mi);
/* The same from text already in memory (pure: no I/O; the fuzzing target).
 * Returns 0, or -1 with errno EBADMSG (a line that does not parse) or
 * ENOMEM; mi is then empty. */
int mountinfo_parse(const char *buf, size_t len, struct mountinfo *mi);
void mountinfo_free(struct mountinfo *mi);

/* The topmost (last listed, i.e. visible) mount at `target`, or NULL. */
const struct mount_entry *mountinfo_find(const struct mountinfo *mi, const char *target);

/* Does an option list "a,b,c" hold `opt`? */
int mount_opt_has(const char *opts, const char *opt);

#endif
