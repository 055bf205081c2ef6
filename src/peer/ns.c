#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/ns.h"
#include "stint/peer_err.h"
#include "stint/util.h"

int ns_is_current(int procfd, int nsfd, const char *name)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "self/ns/%s", name);
	if (fstatat(procfd, path, &a, 0) < 0)
		return fail_errno("stat /proc/%s", path);
	if (fstat(nsfd, &b) < 0)
		return fail_errno("stat the init's %s namespace fd", name);
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int ns_enter_mount(int procfd, int mntfd, int userfd, int *entered_user)
{
	int same;

	*entered_user = 0;
	if (mntfd < 0)
		return fail("the init sent no mount namespace fd");
	if (userfd >= 0) {
		same = ns_is_current(procfd, userfd, "user");
		if (same < 0)
			return -1;
		/* Joining a user ns we are already in is EINVAL: only when it
		 * differs (a user-namespaced pod). */
		if (!same) {
			if (setns(userfd, CLONE_NEWUSER) < 0)
				return fail_errno("setns into the init's user namespace");
			*entered_user = 1;
		}
	}
	same = ns_is_current(procfd, mntfd, "mnt");
	if (same < 0)
		return -1;
	if (same)
		return fail("the init shares this peer's mount namespace: refusing to prepare a root in our own");
	if (setns(mntfd, CLONE_NEWNS) < 0)
		return fail_errno("setns into the init's mount namespace");
	return 0;
}

int chain_of(const char *dir, struct chain *ch)
{
	cleanup_fd int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st, up;

	ch->n = 0;
	if (fd < 0)
		return fail_errno("open %s", dir);
	if (fstat(fd, &st) < 0)
		return fail_errno("stat %s", dir);
	while (ch->n < ARRAY_SIZE(ch->d)) {
		int parent;

		ch->d[ch->n++] = (struct devino){ st.st_dev, st.st_ino };
		parent = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0)
			return fail_errno("open %s/..", dir);
		close(fd);
		fd = parent;
		if (fstat(fd, &up) < 0)
			return fail_errno("stat a parent of %s", dir);
		if (up.st_dev != st.st_dev || up.st_ino == st.st_ino)
			break;
		st = up;
	}
	return 0;
}

int chain_has(const struct chain *ch, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < ch->n; i++) {
		if (ch->d[i].dev == dev && ch->d[i].ino == ino)
			return 1;
	}
	return 0;
}
