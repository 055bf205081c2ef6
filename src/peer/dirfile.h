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

#endif
