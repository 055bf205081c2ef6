/* A bounded walk of a directory tree the peer must not trust: an upper
 * layer the guest wrote, or an image. Nothing is followed: every lookup is
 * relative to the fd of the directory just opened (openat O_NOFOLLOW |
 * O_DIRECTORY, fstatat AT_SYMLINK_NOFOLLOW), a symlink is read with
 * readlinkat and reported, never entered; the walker opens directories only
 * (file contents are for the callback, which gets the parent's fd). A
 * directory on another file system (a mount point) is reported but not
 * entered. Past a limit (depth, entries, names in a directory, path
 * length, the deadline) the walk fails with a message: it never returns a
 * silently shortened tree.
 *
 * Order: pre-order, the names of a directory sorted bytewise, which is the
 * order of path_cmp() below: two walks of equal trees list the same
 * entries in the same order, and sorted lists merge. */
#ifndef STINT_PEER_WALK_H
#define STINT_PEER_WALK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>

#include "stint/deadline.h"

struct walk_limits {
	unsigned max_depth; /* directories below the root */
	unsigned long max_entries; /* in the whole tree */
	unsigned long max_dir_entries; /* names in one directory */
	size_t max_name_bytes; /* names held at once, every level together */
	msec_t deadline; /* DEADLINE_NONE: none */
	int procfd; /* this process's /proc (O_PATH), for walk_open_regular();
		     * -1: "/proc" as this process sees it */
	const char *what; /* "the image", "the upper layer": for messages */
};

struct walk_entry {
	const char *path; /* "/" for the root, else "/a/b" */
	size_t len;
	const char *name; /* the last component ("." for the root) */
	int dirfd; /* the parent directory (the root: the root itself) */
	int fd; /* a directory: its own fd (O_RDONLY), else -1 */
	const struct stat *st;
	const char *link; /* a symlink's target, else NULL */
	unsigned depth; /* 0 for the root */
	bool other_fs; /* a directory on another file system: not entered */
};

#define WALK_SKIP 1 /* a callback's answer: do not enter this directory */

/* Called for every entry; returns 0, WALK_SKIP, or -1 to stop the walk
 * (with fail()). */
typedef int walk_fn(void *ctx, const struct walk_entry *e);

/* Walk the tree below the directory rootfd (which must be readable:
 * O_RDONLY | O_DIRECTORY). Returns 0, or -1 with fail(). */
int walk_tree(int rootfd, const struct walk_limits *lim, walk_fn *fn, void *ctx);

/* The bounds of a walk of an upper layer by a command in the sidecar
 * (diff, export): a real upper can hold millions of files. */
void walk_upper_limits(struct walk_limits *lim);

/* The walk's order: paths compared component by component ('/' below
 * every other byte). <0, 0, >0. */
int path_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* Open the regular file `name` of dirfd for reading, in a tree a guest
 * may be changing under us: the name is opened O_PATH (which opens
 * nothing), checked to be a regular file (the inode `st` describes, if
 * given), and that very inode is then reopened through procfd's
 * self/fd/N (procfd: a /proc of this process's PID namespace, or -1 for
 * "/proc"), so a device node or a FIFO swapped in meanwhile is never
 * opened (opening some devices acts: a watchdog arms, a tape rewinds).
 * Returns the fd, or -1 with errno (EINVAL: not that regular file). */
int walk_open_regular(int procfd, int dirfd, const char *name, const struct stat *st);

/* The second half of walk_open_regular(): pathfd (an O_PATH fd, already
 * looked up) checked to be a regular file (the inode `st` describes, if
 * given) and that inode reopened O_RDONLY | O_NONBLOCK | O_NOCTTY through
 * procfd's self/fd/N. Returns the fd, or -1 with errno (EINVAL: not that
 * regular file). */
int reopen_regular(int procfd, int pathfd, const struct stat *st);

/* Open `path` of the tree behind rootfd (a root the guest owns) for
 * reading, resolved as a process chrooted there would resolve it
 * (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, plus `resolve`, e.g.
 * STINT_RESOLVE_NO_SYMLINKS): symlinks never lead out of the root, and
 * only a regular file is ever opened (reopen_regular()): a FIFO, a device
 * node or a symlink to one is refused with EINVAL, never opened. Returns
 * the fd, or -1 with errno. */
int root_open_regular(int procfd, int rootfd, const char *path, uint64_t resolve);

/* root_open_regular() and read it into buf: at most cap - 1 bytes (cap >=
 * 1), NUL-terminated. Returns the length, or -1 with errno. */
ssize_t root_read(int procfd, int rootfd, const char *path, uint64_t resolve, char *buf, size_t cap);

/* An overlay whiteout: a character device 0:0. */
bool is_whiteout(const struct stat *st);

/* Is the directory fd opaque to overlayfs (trusted.overlay.opaque or
 * user.overlay.opaque = "y")? */
bool is_opaque_dir(int fd);

#endif
