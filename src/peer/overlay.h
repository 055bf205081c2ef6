/* The persistent layer: upper and work dirs on the persistent volume, and
 * the overlay that puts them over the image. */
#ifndef STINT_OVERLAY_H
#define STINT_OVERLAY_H

#include <stdbool.h>
#include <sys/types.h>

struct peer_config;

struct pv {
	int base; /* detached clone (open_tree) of the dir holding upper and work */
	char base_path[4096]; /* its path in the peer's mount ns */
	char upper_rel[4096], work_rel[4096]; /* upper and work relative to base */
	int userxattr; /* overlay metadata in user.overlay.* (a user-namespaced pod) */
};

/* In the peer's own mount ns: make upper and work (mkdir -p), check they
 * share a filesystem that has what overlayfs needs (d_type, trusted or
 * user xattrs), and clone their common parent so it can travel into the
 * target's mount ns. Returns 0 or -1 (fail()). */
int pv_prepare(const struct peer_config *c, int userxattr, struct pv *pv);
void pv_close(struct pv *pv);

/* Does the file system of dir keep overlayfs' xattrs (trusted.*, or user.*
 * with userxattr) and report d_type? A probe file is made in dir and
 * removed. Returns 0 or -1 (fail(): which one it lacks). */
int pv_probe_fs(const char *dir, int userxattr);

/* Was the upper made under the other overlay xattr namespace (user.* in a
 * user-namespaced pod, trusted.* otherwise)? By the mode recorded on work,
 * else the overlay xattrs on the upper and its first entries. Returns 0
 * (the same, or none seen: with `record`, this mode is recorded on work),
 * or -1 (fail(): which, and the fix). */
int pv_upper_mode_check(const char *upper, const char *work, int userxattr, bool record);

/* Make a detached overlay (source "stint") from paths valid in the current
 * mount ns: lowers = "a:b", upper, work. Returns the mount fd or -1. */
int overlay_make(const char *lowers, const char *upper, const char *work, int userxattr);

#endif
