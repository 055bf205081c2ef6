/* idmap-mount USERNS SOURCE TARGET: bind SOURCE on TARGET as an idmapped
 * mount (mount_setattr MOUNT_ATTR_IDMAP) with the id mapping of the user
 * namespace USERNS (a path such as /proc/PID/ns/user), as containerd and
 * CRI-O do for the volumes and image layers of a pod with hostUsers: false:
 * a file owned by id N on disk shows as owned by the id that N maps to in
 * that namespace. Non-recursive. Used by the runc pod harness
 * (tests/pod/libpod-runc.sh), whose runc 1.1 cannot make idmapped mounts. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stint/syscalls.h"

int main(int argc, char **argv)
{
	struct stint_mount_attr attr = { .attr_set = STINT_MOUNT_ATTR_IDMAP };
	int ns, tree;

	if (argc != 4) {
		fprintf(stderr, "usage: idmap-mount USERNS SOURCE TARGET\n");
		return 2;
	}
	ns = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (ns < 0) {
		fprintf(stderr, "idmap-mount: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	tree = sys_open_tree(AT_FDCWD, argv[2], STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC);
	if (tree < 0) {
		fprintf(stderr, "idmap-mount: open_tree %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	attr.userns_fd = ns;
	if (sys_mount_setattr(tree, "", AT_EMPTY_PATH, &attr) < 0) {
		fprintf(stderr, "idmap-mount: idmap %s with %s: %s\n", argv[2], argv[1], strerror(errno));
		return 1;
	}
	if (sys_move_mount(tree, "", AT_FDCWD, argv[3], STINT_MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		fprintf(stderr, "idmap-mount: mount on %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	return 0;
}
