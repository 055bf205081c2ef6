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
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

#define OPEN_TREE_CLONE_ 1
#define OPEN_TREE_CLOEXEC_ O_CLOEXEC
#define MOVE_MOUNT_F_EMPTY_PATH_ 0x4
#define MOUNT_ATTR_IDMAP_ 0x100000
#define AT_EMPTY_PATH_ 0x1000

struct mount_attr_ {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

int main(int argc, char **argv)
{
	struct mount_attr_ attr = { .attr_set = MOUNT_ATTR_IDMAP_ };
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
	tree = syscall(SYS_open_tree, AT_FDCWD, argv[2], OPEN_TREE_CLONE_ | OPEN_TREE_CLOEXEC_);
	if (tree < 0) {
		fprintf(stderr, "idmap-mount: open_tree %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	attr.userns_fd = ns;
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH_, &attr, sizeof(attr)) < 0) {
		fprintf(stderr, "idmap-mount: idmap %s with %s: %s\n", argv[2], argv[1], strerror(errno));
		return 1;
	}
	if (syscall(SYS_move_mount, tree, "", AT_FDCWD, argv[3], MOVE_MOUNT_F_EMPTY_PATH_) < 0) {
		fprintf(stderr, "idmap-mount: mount on %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	return 0;
}
