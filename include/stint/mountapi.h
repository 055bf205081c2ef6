/* Thin wrappers for the syscalls the peer needs that libc does not wrap
 * everywhere: the new mount API (open_tree, move_mount, fsopen, fsconfig,
 * fsmount, mount_setattr, Linux >= 5.2/5.12), openat2 (5.6), pivot_root and
 * pidfd_open (5.3). musl 1.2.3 has the syscall numbers but no prototypes,
 * glibc 2.36 has prototypes whose headers clash with <linux/mount.h>; so the
 * constants are ours and every call goes through syscall(2). Names carry a
 * sys_ prefix so they never collide with a libc declaration. A kernel that
 * lacks a call returns ENOSYS, which callers report as such. */
#ifndef STINT_MOUNTAPI_H
#define STINT_MOUNTAPI_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

#define STINT_OPEN_TREE_CLONE 1U
#define STINT_OPEN_TREE_CLOEXEC 02000000U /* O_CLOEXEC */
#define STINT_AT_RECURSIVE 0x8000U

#define STINT_MOVE_MOUNT_F_EMPTY_PATH 0x04U
#define STINT_MOVE_MOUNT_T_EMPTY_PATH 0x40U

#define STINT_FSOPEN_CLOEXEC 1U
#define STINT_FSMOUNT_CLOEXEC 1U
#define STINT_FSCONFIG_SET_FLAG 0U
#define STINT_FSCONFIG_SET_STRING 1U
#define STINT_FSCONFIG_CMD_CREATE 6U

#define STINT_MOUNT_ATTR_RDONLY 0x00000001ULL
#define STINT_MOUNT_ATTR_NOSUID 0x00000002ULL
#define STINT_MOUNT_ATTR_NODEV 0x00000004ULL
#define STINT_MOUNT_ATTR_NOEXEC 0x00000008ULL

#define STINT_RESOLVE_NO_MAGICLINKS 0x02ULL
#define STINT_RESOLVE_IN_ROOT 0x10ULL

struct stint_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

struct stint_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

static inline int sys_open_tree(int dfd, const char *path, unsigned flags)
{
	return (int)syscall(SYS_open_tree, dfd, path, flags);
}

static inline int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned flags)
{
	return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

static inline int sys_fsopen(const char *fsname, unsigned flags)
{
	return (int)syscall(SYS_fsopen, fsname, flags);
}

static inline int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux)
{
	return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}

static inline int sys_fsmount(int fd, unsigned flags, unsigned attr_flags)
{
	return (int)syscall(SYS_fsmount, fd, flags, attr_flags);
}

static inline int sys_mount_setattr(int dfd, const char *path, unsigned flags, struct stint_mount_attr *attr)
{
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof(*attr));
}

static inline int sys_openat2(int dfd, const char *path, struct stint_open_how *how)
{
	return (int)syscall(SYS_openat2, dfd, path, how, sizeof(*how));
}

static inline int sys_pivot_root(const char *new_root, const char *put_old)
{
	return (int)syscall(SYS_pivot_root, new_root, put_old);
}

static inline int sys_pidfd_open(pid_t pid, unsigned flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

#endif
