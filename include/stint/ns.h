/* Entering the target container's namespaces from the peer. */
#ifndef STINT_NS_H
#define STINT_NS_H

#include <sys/types.h>

/* Is the namespace behind fd the one this process is in (/proc/self/ns/NAME
 * read through procfd, the peer's own procfs)? 1, 0, or -1 (fail()). */
int ns_is_current(int procfd, int nsfd, const char *name);

/* setns() into the target's user ns (when userfd >= 0 and it differs from
 * ours: *entered_user is set) and then its mount ns. Must run in a
 * single-threaded process; cwd and root become the target ns's root.
 * Returns 0 or -1 (fail()). */
int ns_enter_mount(int procfd, int mntfd, int userfd, int *entered_user);

/* A directory's (dev, inode) and those of its ancestors on the same
 * filesystem: any mount of one of them, in any namespace, would show the
 * directory. */
struct devino {
	dev_t dev;
	ino_t ino;
};
struct chain {
	struct devino d[64];
	size_t n;
};
int chain_of(const char *dir, struct chain *ch);
int chain_has(const struct chain *ch, dev_t dev, ino_t ino);

#endif
