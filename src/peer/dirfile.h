/* Small files the privileged peer writes and reads, always through an fd
 * of a directory it opened itself: a write creates a randomly named file
 * with O_CREAT|O_EXCL|O_NOFOLLOW and renames it over the name (rename
 * replaces a symlink, never what it points to); a read opens with
 * O_NOFOLLOW|O_NONBLOCK and accepts a regular file only (a FIFO cannot
 * hang it, a device is never read). */
#ifndef STINT_PEER_DIRFILE_H
#define STINT_PEER_DIRFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Replace `name` in dirfd with len bytes of buf, created with `mode`.
 * With sync, the data reaches the disk first (fsync), for records on the
 * volume. Returns 0 or -1 (fail()). */
int dirfile_write(int dirfd, const char *name, const void *buf, size_t len, mode_t mode, int sync);

/* Read at most cap - 1 bytes of `name` in dirfd into buf, NUL-terminated.
 * The name is looked at (O_PATH) before it is opened, so a device node is
 * never opened. Returns the length, or -1 with errno (ENOENT; EINVAL: not
 * a regular file; EFBIG: longer than cap - 1). */
ssize_t dirfile_read(int dirfd, const char *name, char *buf, size_t cap);

/* Open `name` in dirfd for reading, as dirfile_read() does (a regular file
 * only, never a device or a FIFO). Returns the fd or -1 with errno. */
int dirfile_open_read(int dirfd, const char *name);

/* For files too long for one buffer: a new temp file beside `name` (its
 * name into tmp, at least 64 bytes), written by the caller, then
 * dirfile_commit() syncs it and renames it over `name` (or removes it on
 * failure). Both return -1 with fail(). */
int dirfile_create(int dirfd, const char *name, char *tmp, size_t len, mode_t mode);
int dirfile_commit(int dirfd, const char *tmp, const char *name, int fd);

#endif
