/* What goes into the new root besides the overlay: the runtime's mounts
 * carried from the target (/proc, /sys, /dev..., volumes, hosts files),
 * fresh tmpfs dirs, a writable cgroup sub-tree, the console and the notify
 * socket. One ordered plan, parents before children. Linear in the number
 * of the target's mounts (a pod with thousands of volumes and secrets). */
#ifndef STINT_CARRY_H
#define STINT_CARRY_H

#include <stddef.h>

#include <stdbool.h>
#include <sys/types.h>

#include "mountinfo.h"

/* A directory's (dev, inode) and those of its ancestors on the same file
 * system: a mount of any of them, in any namespace, shows the directory.
 * That is how the peer recognises the persistent volume and the handoff
 * socket's directory wherever a runtime mounted them. */
struct devino {
	dev_t dev;
	ino_t ino;
};
struct chain {
	struct devino d[64];
	size_t n;
};

/* The chain of dir (a path in the caller's mount ns). A directory deeper
 * than the chain holds fails (closed): an ancestor left out would let a
 * mount showing it through. Returns 0 or -1 (fail()). */
int chain_of(const char *dir, struct chain *ch);

/* Does the directory at path (in the current mount ns) show what pv or
 * sock (either may be NULL) hold? */
bool shows_private_dir(const struct chain *pv, const struct chain *sock, const char *path);

enum item_kind {
	ITEM_CARRY, /* the target's mount at path, same flags, non-recursive */
	ITEM_TMPFS, /* a fresh tmpfs (spec = "PATH[:opt=val...]") */
	ITEM_RW, /* the target's mount at path, made read-write (cgroup) */
	ITEM_CONSOLE, /* spec = a target path bound at /dev/console */
	ITEM_FD, /* a mount fd made before entering (the notify socket) */
};

struct item {
	char *path; /* in the new root; owned by the plan */
	int kind;
	const char *spec;
	int fd;
};

struct plan {
	struct item *v;
	size_t n, cap;
};

enum carry_mode {
	CARRY_AUTO = 0, /* every mount the target sees, but the private ones */
	CARRY_NONE = 1, /* none */
	CARRY_LIST = 2, /* only those under `include` */
};

/* A list of absolute paths (borrowed). */
struct carry_list {
	const char *const *v;
	size_t n;
};

/* Everything the plan depends on, as values (the peer's settings and what
 * prepare found): what must never be carried are the dirs holding the
 * persistent layer and the handoff socket (from the peer's side), and the
 * new root itself. Strings are borrowed and must outlive the plan. */
struct carry_ctx {
	int mode; /* enum carry_mode */
	struct carry_list include; /* always carried (also non-mount-points) */
	struct carry_list exclude; /* never carried (unless included) */
	struct carry_list tmpfs; /* "PATH[:opt=val...]": a fresh tmpfs each */
	const char *cgroup_rw; /* this mount made read-write, or NULL */
	const char *console; /* a target path bound over /dev/console, or NULL */
	int notify_fd; /* read-only clone of the notify socket's directory, or -1 */
	const char *notify_dir; /* where that directory goes in the new root */
	const char *root; /* new root path in the target */
	const struct chain *pv, *sock;
};

/* Build the plan from the target's mountinfo; must run inside the target's
 * mount ns (it stats mount points). Returns 0 or -1 (fail()). */
int plan_build(const struct carry_ctx *ctx, const struct mountinfo *mi, struct plan *p);
void plan_free(struct plan *p);

/* Carry out every item into the new root (rootfd); returns the count of
 * mounts made, or -1 (fail()). */
int plan_apply(const struct plan *p, int rootfd, int userns);

#endif
