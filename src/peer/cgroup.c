#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/syscalls.h"
#include "stint/util.h"
#include "cgroup.h"
#include "err.h"

bool cgroup_needs_guard(const struct mountinfo *mi, const char *path)
{
	const struct mount_entry *e = mountinfo_find(mi, path);

	return e && strcmp(e->fstype, "cgroup2") == 0 && !mount_opt_has(e->super_opts, "nsdelegate");
}

/* What systemd writes at its cgroup root: moving processes (checked by the
 * kernel against the files' inodes, not this mount), and enabling
 * controllers for the sub-tree it manages. None of them raises a limit. */
static bool stays_writable(const char *name)
{
	static const char *const keep[] = { "cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.type" };

	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		if (strcmp(name, keep[i]) == 0)
			return true;
	}
	return false;
}

static int bind_readonly(int dirfd, const char *dir, const char *name)
{
	struct stint_mount_attr attr = { .attr_set = STINT_MOUNT_ATTR_RDONLY };
	cleanup_fd int fd = sys_open_tree(dirfd, name, STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC);

	if (fd < 0)
		return fail_errno("cgroup=rw: clone %s/%s", dir, name);
	if (sys_mount_setattr(fd, "", AT_EMPTY_PATH, &attr) < 0)
		return fail_errno("cgroup=rw: make %s/%s read-only", dir, name);
	if (sys_move_mount(fd, "", dirfd, name, STINT_MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return fail_errno("cgroup=rw: bind %s/%s read-only over itself", dir, name);
	return 0;
}

int cgroup_guard_limits(int rootfd, const char *path)
{
	struct stint_open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_IN_ROOT | STINT_RESOLVE_NO_SYMLINKS |
						 STINT_RESOLVE_NO_MAGICLINKS };
	int dirfd = sys_openat2(rootfd, path, &how), n = 0;
	struct dirent *de;
	DIR *d;

	if (dirfd < 0)
		return fail_errno("cgroup=rw: open %s in the new root", path);
	d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return fail_errno("cgroup=rw: list %s", path);
	}
	while ((de = readdir(d))) {
		if (de->d_type != DT_REG || stays_writable(de->d_name))
			continue;
		if (bind_readonly(dirfd, path, de->d_name) < 0) {
			closedir(d);
			return -1;
		}
		n++;
	}
	closedir(d);
	return n;
}
