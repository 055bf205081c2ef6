#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/util.h"
#include "dirfile.h"
#include "err.h"

/* A name nobody can have prepared beside `name`. */
static int create_temp(int dirfd, const char *name, char *tmp, size_t len, mode_t mode)
{
	unsigned char r[6];

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return -1;
	snprintf(tmp, len, ".%.40s.%02x%02x%02x%02x%02x%02x", name, r[0], r[1], r[2], r[3], r[4], r[5]);
	return openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
}

/* Put the written temporary file in place of `name` (after fsync when
 * sync); on failure it is removed. */
static int put_in_place(int dirfd, const char *tmp, const char *name, int fd, int sync)
{
	if (sync && fsync(fd) < 0) {
		fail_errno("write %s", tmp);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		fail_errno("replace %s", name);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

int dirfile_write(int dirfd, const char *name, const void *buf, size_t len, mode_t mode, int sync)
{
	char tmp[64];
	cleanup_fd int fd = create_temp(dirfd, name, tmp, sizeof(tmp), mode);

	if (fd < 0)
		return fail_errno("create a new %s", name);
	if (write(fd, buf, len) != (ssize_t)len) {
		fail_errno("write %s", tmp);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return put_in_place(dirfd, tmp, name, fd, sync);
}

int dirfile_open_read(int dirfd, const char *name)
{
	cleanup_fd int path = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	cleanup_fd int fd = -1;
	struct stat a, b;

	if (path < 0 || fstat(path, &a) < 0)
		return -1;
	if (!S_ISREG(a.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	/* O_NONBLOCK: should the name be swapped for a FIFO now, the open
	 * does not hang; the second fstat catches any swap. */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &b) < 0)
		return -1;
	if (b.st_dev != a.st_dev || b.st_ino != a.st_ino || !S_ISREG(b.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	return steal_fd(&fd);
}

ssize_t dirfile_read(int dirfd, const char *name, char *buf, size_t cap)
{
	cleanup_fd int fd = dirfile_open_read(dirfd, name);
	struct stat b;
	ssize_t n;

	if (fd < 0 || fstat(fd, &b) < 0)
		return -1;
	if ((size_t)b.st_size >= cap) {
		errno = EFBIG;
		return -1;
	}
	n = read(fd, buf, cap - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int dirfile_create(int dirfd, const char *name, char *tmp, size_t len, mode_t mode)
{
	int fd = create_temp(dirfd, name, tmp, len, mode);

	if (fd < 0)
		return fail_errno("create a new %s", name);
	return fd;
}

int dirfile_commit(int dirfd, const char *tmp, const char *name, int fd)
{
	return put_in_place(dirfd, tmp, name, fd, 1);
}
