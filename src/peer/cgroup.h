/* cgroup = rw: systemd must write its own cgroup sub-tree, which runtimes
 * mount read-only. On cgroup v2 the container's cgroup is the root of its
 * cgroup namespace, and that root's files hold the container's own limits
 * (memory.max, pids.max, cgroup.max.descendants, ...). The node keeps them
 * out of the guest's reach only when cgroup2 is mounted with nsdelegate —
 * which a privileged container mounting cgroup2 can clear for the whole
 * node (containerd 1.6/runc 1.1 do). So without nsdelegate the peer binds
 * each of those files read-only over itself in the new root; the guest
 * (no CAP_SYS_ADMIN) cannot take the binds away. */
#ifndef STINT_PEER_CGROUP_H
#define STINT_PEER_CGROUP_H

#include <stdbool.h>

#include "mountinfo.h"

/* Does the cgroup mount at path need its root's limits guarded? */
bool cgroup_needs_guard(const struct mountinfo *mi, const char *path);

/* In the new root (rootfd), bind every file of the cgroup directory at path
 * read-only over itself, but for those systemd must write at its root
 * (cgroup.procs, cgroup.threads, cgroup.subtree_control, cgroup.type).
 * Returns how many were bound, or -1 (fail()). */
int cgroup_guard_limits(int rootfd, const char *path);

#endif
