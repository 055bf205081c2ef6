#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "stint/syscalls.h"
#include "mountpoint.h"
#include "err.h"
#include "stint/util.h"

static int open_in_root(int rootfd, const char *path)
{
	struct stint_open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = STINT_RESOLVE_IN_ROOT | STINT_RESOLVE_NO_MAGICLINKS,
	};

	return sys_openat2(rootfd, path, &how);
}

int mountpoint_make(int rootfd, const char *path, int dir)
{
	char parent[PATH_MAX];
	const char *name;
	cleanup_fd int pfd = -1;
	int fd;

	while (path[0] == '/' && path[1] == '/')
		path++;
	fd = open_in_root(rootfd, path[0] ? path : "/");
	if (fd >= 0 || errno != ENOENT) {
		if (fd < 0)
			return fail_errno("open mount point %s in the new root", path);
		return fd;
	}
	name = strrchr(path, '/');
	if (!name || !name[1] || snprintf(parent, sizeof(parent), "%.*s", (int)(name - path), path) < 0)
		return fail("mount point %s: not an absolute path", path);
	name++;
	if (strcmp(name, "..") == 0 || strcmp(name, ".") == 0)
		return fail("mount point %s: ends in '%s'", path, name);
	pfd = mountpoint_make(rootfd, parent[0] ? parent : "/", 1);
	if (pfd < 0)
		return -1;
	if (dir) {
		if (mkdirat(pfd, name, 0755) < 0 && errno != EEXIST)
			return fail_errno("mkdir %s in the new root", path);
	} else {
		int f = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

		if (f < 0 && errno != EEXIST)
			return fail_errno("create file %s in the new root", path);
		if (f >= 0)
			close(f);
	}
	fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("open mount point %s in the new root", path);
	{
		struct stat st;

		if (fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
			close(fd);
			return fail("mount point %s in the new root is a symlink whose target is missing", path);
		}
	}
	return fd;
}

int fd_is_dir(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	return S_ISDIR(st.st_mode) ? 1 : 0;
}

int mount_attach(int mntfd, int rootfd, const char *path, int dir)
{
	cleanup_fd int mp = mountpoint_make(rootfd, path, dir);

	if (mp < 0)
		return -1;
	if (sys_move_mount(mntfd, "", mp, "", STINT_MOVE_MOUNT_F_EMPTY_PATH | STINT_MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return fail_errno("attach mount at %s in the new root", path);
	return 0;
}
