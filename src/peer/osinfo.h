/* What `stint-peer enter` learns of the booted OS before it runs a command
 * there "as the OS's own processes": root's login shell and home from the
 * OS's /etc/passwd, PATH, LANG and container= from its init's environment,
 * the init's capability sets and no_new_privs, and the init's cgroups.
 * Everything is read through the OS's root fd with openat2(RESOLVE_IN_ROOT
 * | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), regular files only, each
 * capped in size, the /proc ones only from a procfs: the OS's files are
 * the guest's, and the peer is root on the node. */
#ifndef STINT_PEER_OSINFO_H
#define STINT_PEER_OSINFO_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct os_info {
	char shell[PATH_MAX]; /* root's login shell, /bin/sh when unknown */
	char home[PATH_MAX]; /* root's home, /root when unknown */
	char path[1024]; /* the init's PATH, or a default */
	char lang[128], container[128]; /* the init's LANG and container=, "" if unset */
	bool have_caps; /* the init's capabilities were read: */
	uint64_t cap_inh, cap_bnd;
	bool no_new_privs;
	char caps_error[PATH_MAX]; /* when !have_caps: which file, and why */
};

/* /proc/PID/cgroup of an init in a (v1) pod with long paths: room enough. */
#define OS_CGROUP_MAX 16384

/* Fill o from the OS behind rootfd; pid is its init's pid in the OS's pid
 * namespace (its /proc). Missing pieces fall back to defaults (logged at
 * debug level), except the capability sets: without them have_caps is
 * false and caps_error says why, and the caller must refuse to run
 * anything (running it with the sidecar's capabilities would fail open). */
void os_info_read(int rootfd, unsigned pid, struct os_info *o);

/* Apply the init's capability bounding and inheritable sets and
 * no_new_privs to this process, so that what it execs as root gets the
 * capabilities the OS's own processes get. Returns 0 or -1 (fail()). */
int os_caps_apply(const struct os_info *o);

/* Read /proc/PID/cgroup of the init (pid in the OS's pid namespace) into
 * buf the way os_info_read reads its status: through rootfd, on a procfs,
 * whole (at most cap - 1 bytes). Call in the OS's cgroup namespace (the
 * paths are relative to the reader's) while /proc is still the sidecar's.
 * Returns 0 or -1 (fail()). */
int os_cgroup_read(int rootfd, unsigned pid, char *buf, size_t cap);

/* Move this process into the cgroups listed in `cgroups` (os_cgroup_read;
 * taken apart in place): for each hierarchy, "0" is written to
 * cgroup.procs of the same path in a fresh, detached mount of that
 * hierarchy made here. Call in the OS's cgroup namespace, while still
 * privileged. Returns the number of hierarchies joined, or -1 (fail() and
 * errno: the first that could not be joined and why; ENOENT where cgroup2
 * is delegated at namespaces, nsdelegate, and refuses the move). */
int os_cgroup_join(char *cgroups);

#endif
