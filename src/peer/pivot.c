#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/mountapi.h"
#include "stint/peer_err.h"
#include "stint/pivot.h"
#include "stint/util.h"

int root_unshare(int shared)
{
	if (!shared)
		return 0;
	/* MS_SLAVE, not private: the container keeps receiving the host's
	 * mount events it was set up to receive, it just stops sending. */
	if (mount(NULL, "/", NULL, MS_SLAVE, NULL) < 0)
		return fail_errno("make the target's / a slave mount");
	return 0;
}

int pivot_into(int rootfd)
{
	/* The crun/lxc way: with new_root == put_old the old root ends up
	 * stacked on "." and one lazy unmount removes it; no directory for
	 * the old root has to exist in the image. */
	if (fchdir(rootfd) < 0)
		return fail_errno("chdir into the new root");
	if (sys_pivot_root(".", ".") < 0)
		return fail_errno("pivot_root into the new root%s",
				  errno == EINVAL ? " (is a parent mount shared, or the root not a mount?)" : "");
	if (umount2(".", MNT_DETACH) < 0)
		return fail_errno("detach the old root after pivot_root");
	if (chdir("/") < 0)
		return fail_errno("chdir / after pivot_root");
	return 0;
}

static int needs_id(int rootfd)
{
	char buf[64] = "";
	cleanup_fd int fd = openat(rootfd, "etc/machine-id", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? 1 : fail_errno("open /etc/machine-id in the new root");
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return fail_errno("read /etc/machine-id in the new root");
	buf[n] = '\0';
	return n == 0 || strncmp(buf, "uninitialized", 13) == 0 || buf[0] == '\n';
}

int machine_id_ensure(int rootfd)
{
	unsigned char r[16];
	char hex[34];
	cleanup_fd int fd = -1;
	int need = needs_id(rootfd);

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
	if (mkdirat(rootfd, "etc", 0755) < 0 && errno != EEXIST)
		return fail_errno("mkdir /etc in the new root");
	fd = openat(rootfd, "etc/machine-id", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		return fail_errno("create /etc/machine-id in the new root");
	if (write(fd, hex, 33) != 33)
		return fail_errno("write /etc/machine-id in the new root");
	return 1;
}
