#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ns.h"
#include "err.h"
#include "stint/util.h"

int ns_id_of(int fd, const char *what, struct ns_id *id)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fail_errno("stat %s", what);
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

bool ns_id_eq(const struct ns_id *a, const struct ns_id *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

int ns_own(int procfd, const char *name, struct ns_id *id)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "self/ns/%s", name);
	if (fstatat(procfd, path, &st, 0) < 0)
		return fail_errno("stat /proc/%s", path);
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

/* Is the namespace behind fd the one this process is in? 1, 0 or -1. */
static int ns_is_current(int procfd, int nsfd, const char *name)
{
	struct ns_id own = { 0 }, other = { 0 };

	if (ns_own(procfd, name, &own) < 0 || ns_id_of(nsfd, "the init's namespace fd", &other) < 0)
		return -1;
	return ns_id_eq(&own, &other);
}

int ns_user_is_initial(int procfd)
{
	char buf[128] = "", *nl;
	unsigned long inner, outer, count;
	cleanup_fd int fd = openat(procfd, "self/uid_map", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return fail_errno("open /proc/self/uid_map");
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return fail_errno("read /proc/self/uid_map");
	buf[n] = '\0';
	/* The initial namespace maps every id to itself in one line; any
	 * other (a user-namespaced pod's) maps ranges. */
	nl = strchr(buf, '\n');
	if (nl && nl[1] != '\0')
		return 0;
	return sscanf(buf, "%lu %lu %lu", &inner, &outer, &count) == 3 && inner == 0 && outer == 0 &&
	       count == 4294967295UL;
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
