#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/syscalls.h"
#include "err.h"
#include "pivot.h"
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
