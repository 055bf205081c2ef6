/* Raw system calls and kernel constants that libc does not wrap (or not
 * everywhere), for both programs: the new mount API (open_tree, move_mount,
 * fsopen, fsconfig, fsmount, mount_setattr; Linux >= 5.2/5.12), openat2
 * (5.6), pidfd_open (5.3), close_range (5.9),
 * pivot_root, and the ioctls that tell what a namespace or pidfd is.
 *
 * musl 1.2.3 has most numbers but no prototypes; glibc 2.36 has prototypes
 * whose headers clash with <linux/mount.h>. So the constants are ours and
 * every call goes through syscall(2) under a sys_ prefix that never meets a
 * libc declaration. The numbers from 424 on are the same on every
 * architecture. A kernel that lacks a call answers ENOSYS (an ioctl it
 * lacks, ENOTTY): callers report that or fall back, never guess. */
#ifndef STINT_SYSCALLS_H
#define STINT_SYSCALLS_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
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
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#define STINT_AT_RECURSIVE 0x8000U

#define STINT_OPEN_TREE_CLONE 1U
#define STINT_OPEN_TREE_CLOEXEC 02000000U /* O_CLOEXEC */

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
#define STINT_MOUNT_ATTR_IDMAP 0x00100000ULL

#define STINT_RESOLVE_NO_XDEV 0x01ULL
#define STINT_RESOLVE_NO_MAGICLINKS 0x02ULL
#define STINT_RESOLVE_NO_SYMLINKS 0x04ULL
#define STINT_RESOLVE_BENEATH 0x08ULL
#define STINT_RESOLVE_IN_ROOT 0x10ULL

/* statfs(2) f_type of a procfs (linux/magic.h): what tells the kernel's
 * /proc from a directory a guest wrote. */
#define STINT_PROC_SUPER_MAGIC 0x9fa0

/* ioctl_ns(2): what a namespace fd is, and who owns it. */
#define STINT_NS_GET_USERNS _IO(0xb7, 0x1)
#define STINT_NS_GET_PARENT _IO(0xb7, 0x2)
#define STINT_NS_GET_NSTYPE _IO(0xb7, 0x3)
/* A mount namespace's id, never reused during a boot (Linux >= 6.8). */
#define STINT_NS_GET_MNTNS_ID _IOR(0xb7, 0x5, uint64_t)

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080 /* Linux >= 5.6; older libc headers lack it */
#endif

/* A pidfd's namespaces (Linux >= 6.11; ENOTTY before). */
#define STINT_PIDFD_GET_NS(n) _IO(0xFF, (n))
enum {
	STINT_PIDFD_NS_CGROUP = 1,
	STINT_PIDFD_NS_IPC = 2,
	STINT_PIDFD_NS_MNT = 3,
	STINT_PIDFD_NS_NET = 4,
	STINT_PIDFD_NS_PID = 5,
	STINT_PIDFD_NS_PID_FOR_CHILDREN = 6,
	STINT_PIDFD_NS_TIME = 7,
	STINT_PIDFD_NS_TIME_FOR_CHILDREN = 8,
	STINT_PIDFD_NS_USER = 9,
	STINT_PIDFD_NS_UTS = 10,
};

/* unix(7): a pidfd of the sender with every datagram (Linux >= 6.5). */
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

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

/* With RESOLVE_IN_ROOT or RESOLVE_BENEATH the kernel answers EAGAIN when a
 * rename or mount anywhere on the node raced a ".." of the lookup (it
 * cannot tell an escape from a race): retried, a bounded number of times
 * (a guest renaming in a loop must not hold the caller forever). Seen on
 * a busy node with the peer's mount point lookups. EINTR is retried too. */
#define STINT_OPENAT2_TRIES 128

static inline int sys_openat2(int dfd, const char *path, struct stint_open_how *how)
{
	int fd = -1;

	for (int i = 0; i < STINT_OPENAT2_TRIES; i++) {
		fd = (int)syscall(SYS_openat2, dfd, path, how, sizeof(*how));
		if (fd >= 0 || (errno != EAGAIN && errno != EINTR))
			break;
	}
	return fd;
}

static inline int sys_pivot_root(const char *new_root, const char *put_old)
{
	return (int)syscall(SYS_pivot_root, new_root, put_old);
}

/* pidfd_open() sets O_CLOEXEC on the fd it returns. */
static inline int sys_pidfd_open(pid_t pid, unsigned flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

/* getdents64: reading a directory without opendir(), whose heap the
 * small init does without. */
static inline long sys_getdents64(int fd, void *buf, size_t len)
{
	return syscall(SYS_getdents64, fd, buf, len);
}

static inline int sys_close_range(unsigned first, unsigned last, unsigned flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}

/* musl's sched_setscheduler() is a stub (ENOSYS: POSIX means the process,
 * the system call sets one thread); for a single-threaded caller the two
 * are the same. */
static inline int sys_sched_setscheduler(pid_t pid, int policy, const struct sched_param *param)
{
	return (int)syscall(SYS_sched_setscheduler, pid, policy, param);
}

#endif
