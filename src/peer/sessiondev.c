/* The devices of a session outside the OS's device filter (sessiondev.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "stint/log.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "err.h"
#include "sessiondev.h"

#define DEVPTS_SUPER_MAGIC 0x1cd1

static const char *const names[SESSION_DEV_NODES] = { "null", "zero", "full", "random", "urandom", "tty" };

void session_devices_clone(struct session_devices *d)
{
	for (size_t i = 0; i < SESSION_DEV_NODES; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/dev/%s", names[i]);
		d->node[i] = sys_open_tree(AT_FDCWD, path,
					   STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
		if (d->node[i] < 0)
			log_debug("enter: no clone of the sidecar's %s: %s", path, strerror(errno));
	}
}

/* The OS's devpts at /dev/pts, if that is one, keeps its devices: the
 * OS's own terminals (devpts makes its nodes itself; mknod there fails). */
static void devpts_keep(void)
{
	struct stint_mount_attr clr = { .attr_clr = STINT_MOUNT_ATTR_NODEV };
	cleanup_fd int fd = open("/dev/pts", O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	struct statfs sfs;

	if (fd < 0 || fstatfs(fd, &sfs) < 0 || sfs.f_type != DEVPTS_SUPER_MAGIC)
		return;
	if (sys_mount_setattr(fd, "", AT_EMPTY_PATH, &clr) < 0)
		log_debug("enter: /dev/pts stays nodev: %s", strerror(errno));
}

/* The sidecar's node over the OS's /dev/NAME (opened without following
 * a symlink the guest may have put there); where that fails the OS's
 * stays, nodev: it opens nothing. */
static void node_bind(int node, const char *name)
{
	char path[32];
	cleanup_fd int at = -1;

	snprintf(path, sizeof(path), "/dev/%s", name);
	at = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (node < 0 || at < 0 ||
	    sys_move_mount(node, "", at, "", STINT_MOVE_MOUNT_F_EMPTY_PATH | STINT_MOVE_MOUNT_T_EMPTY_PATH) < 0)
		log_debug("enter: %s of the OS stays (nodev): %s", path,
			  node < 0 ? "no node to bind" : strerror(errno));
}

int session_devices_restrict(struct session_devices *d)
{
	struct stint_mount_attr set = { .attr_set = STINT_MOUNT_ATTR_NODEV };

	if (sys_mount_setattr(AT_FDCWD, "/", STINT_AT_RECURSIVE, &set) < 0)
		return fail_errno("make every mount of the session nodev");
	devpts_keep();
	for (size_t i = 0; i < SESSION_DEV_NODES; i++)
		node_bind(d->node[i], names[i]);
	return 0;
}

void session_devices_close(struct session_devices *d)
{
	for (size_t i = 0; i < SESSION_DEV_NODES; i++) {
		if (d->node[i] >= 0)
			close(d->node[i]);
		d->node[i] = -1;
	}
}
