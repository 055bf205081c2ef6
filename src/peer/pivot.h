/* Switching the target's mount namespace to the new root. */
#ifndef STINT_PIVOT_H
#define STINT_PIVOT_H

/* Inside the target's mount ns: make rootfd's mount the ns root with
 * pivot_root(".", ".") and detach the old root. Every process whose root
 * or cwd was the old root (the init) moves along. Returns 0 or -1. */
int pivot_into(int rootfd);

/* Make "/" of the current mount ns a slave if it is shared, so nothing the
 * peer mounts propagates back to the host, and pivot_root (which refuses
 * shared parents) can work. Returns 0 or -1. */
int root_unshare(int shared);

#endif
