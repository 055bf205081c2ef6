#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/log.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "dirfile.h"
#include "err.h"
#include "identity.h"

/* A directory of the new root, never reached through a symlink. */
static int open_root_dir(int rootfd, const char *path, int create)
{
	struct stint_open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_IN_ROOT | STINT_RESOLVE_NO_SYMLINKS |
						 STINT_RESOLVE_NO_MAGICLINKS };
	int fd = sys_openat2(rootfd, path, &how);

	if (fd < 0 && errno == ENOENT && create && mkdirat(rootfd, path, 0755) == 0)
		fd = sys_openat2(rootfd, path, &how);
	return fd;
}

/* 1 when a new id is needed, 0 when a good one exists or the file is not
 * ours to touch, -1 on failure. */
static int needs_id(int etcfd)
{
	char buf[64];
	ssize_t n = dirfile_read(etcfd, "machine-id", buf, sizeof(buf));

	if (n < 0 && errno == ENOENT)
		return 1;
	if (n < 0 && (errno == EINVAL || errno == ELOOP)) {
		log_warn("machine-id: /etc/machine-id in the new root is not a regular file (a symlink, FIFO or "
			 "device?): left alone");
		return 0;
	}
	if (n < 0 && errno == EFBIG)
		return 0; /* not ours to judge */
	if (n < 0)
		return fail_errno("read /etc/machine-id in the new root");
	return n == 0 || buf[0] == '\n' || strncmp(buf, "uninitialized", 13) == 0;
}

int machine_id_ensure(int rootfd)
{
	unsigned char r[16];
	char hex[34];
	cleanup_fd int etc = open_root_dir(rootfd, "etc", 1);
	int need;

	if (etc < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		log_warn("machine-id: /etc in the new root is a symlink or not a directory: not writing one");
		return 0;
	}
	if (etc < 0)
		return fail_errno("open /etc in the new root");
	need = needs_id(etc);
	if (need <= 0)
		return need;
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return fail_errno("getrandom for a machine-id");
	/* systemd's format: 32 lowercase hex digits of a v4 UUID, newline. */
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	hex[32] = '\n';
	if (dirfile_write(etc, "machine-id", hex, 33, 0444, 0) < 0)
		return -1;
	return 1;
}
