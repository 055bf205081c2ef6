/* Mount points inside a new root, made without ever leaving it: paths are
 * resolved with openat2(RESOLVE_IN_ROOT) against the root's fd, so an
 * absolute symlink in the image (/etc/resolv.conf -> /run/...) or ".."
 * cannot send a mount onto the host's or the old root's files. */
#ifndef STINT_MOUNTPOINT_H
#define STINT_MOUNTPOINT_H

/* O_PATH fd of `path` (absolute, inside rootfd), creating what is missing:
 * parents as 0755 dirs, the last component as a dir (dir != 0) or an empty
 * file. Returns the fd or -1 (reason via fail()). */
int mountpoint_make(int rootfd, const char *path, int dir);

/* Attach the detached mount `mntfd` at `path` inside rootfd (creating the
 * mount point). Returns 0 or -1. */
int mount_attach(int mntfd, int rootfd, const char *path, int dir);

/* Is the (detached or attached) mount behind fd a directory? 1, 0 or -1. */
int fd_is_dir(int fd);

#endif
