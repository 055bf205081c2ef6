/* Namespaces as the peer sees them: what a namespace fd is, and entering
 * the target container's. */
#ifndef STINT_PEER_NS_H
#define STINT_PEER_NS_H

#include <stdbool.h>
#include <sys/types.h>

/* A namespace (or any inode) by device and inode number. */
struct ns_id {
	unsigned long long dev, ino;
};

/* The identity behind fd. Returns 0 or -1 (fail()). */
int ns_id_of(int fd, const char *what, struct ns_id *id);
bool ns_id_eq(const struct ns_id *a, const struct ns_id *b);

/* This process's own namespace NAME ("user", "mnt"), read through procfd
 * (the peer's own /proc, still valid after setns). Returns 0 or -1. */
int ns_own(int procfd, const char *name, struct ns_id *id);

/* Is this process in the initial user namespace (its /proc/self/uid_map,
 * through procfd, maps all ids to themselves)? 1, 0, or -1 (fail()). */
int ns_user_is_initial(int procfd);

/* setns() into the target's user ns (when userfd >= 0 and it differs from
 * ours: *entered_user is set) and then its mount ns. Must run in a
 * single-threaded process; cwd and root become the target ns's root.
 * Returns 0 or -1 (fail()). */
int ns_enter_mount(int procfd, int mntfd, int userfd, int *entered_user);

#endif
