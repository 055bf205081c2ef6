#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "stint/log.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "err.h"
#include "verify.h"

#define PIDFS_MAGIC 0x50494446

static const struct {
	uint32_t tag;
	int type; /* what NS_GET_NSTYPE must say */
	int pidfd_ns; /* PIDFD_GET_*_NAMESPACE of the same namespace */
} ns_tags[] = {
	{ STINT_FD_MNT, CLONE_NEWNS, STINT_PIDFD_NS_MNT },
	{ STINT_FD_PID, CLONE_NEWPID, STINT_PIDFD_NS_PID },
	{ STINT_FD_NET, CLONE_NEWNET, STINT_PIDFD_NS_NET },
	{ STINT_FD_IPC, CLONE_NEWIPC, STINT_PIDFD_NS_IPC },
	{ STINT_FD_UTS, CLONE_NEWUTS, STINT_PIDFD_NS_UTS },
	{ STINT_FD_USER, CLONE_NEWUSER, STINT_PIDFD_NS_USER },
	{ STINT_FD_CGROUP, CLONE_NEWCGROUP, STINT_PIDFD_NS_CGROUP },
	{ STINT_FD_TIME, CLONE_NEWTIME, STINT_PIDFD_NS_TIME },
	{ STINT_FD_PID_FOR_CHILDREN, CLONE_NEWPID, STINT_PIDFD_NS_PID_FOR_CHILDREN },
	{ STINT_FD_TIME_FOR_CHILDREN, CLONE_NEWTIME, STINT_PIDFD_NS_TIME_FOR_CHILDREN },
};

uint64_t pidfd_inode(int pidfd)
{
	struct statfs sfs;
	struct stat st;

	if (fstatfs(pidfd, &sfs) < 0 || sfs.f_type != PIDFS_MAGIC || fstat(pidfd, &st) < 0)
		return 0;
	return st.st_ino;
}

static int check_types(const struct handoff *h)
{
	for (size_t i = 0; i < ARRAY_SIZE(ns_tags); i++) {
		int fd = h->fd[ns_tags[i].tag], type;

		if (fd < 0)
			continue;
		type = ioctl(fd, STINT_NS_GET_NSTYPE);
		if (type < 0)
			return fail_errno("HELLO: the %s fd is not a namespace", stint_fd_tag_name(ns_tags[i].tag));
		if (type != ns_tags[i].type)
			return fail("HELLO: the %s fd is a namespace of another type (%#x)",
				    stint_fd_tag_name(ns_tags[i].tag), type);
	}
	return 0;
}

/* The mount namespace's id: unlike its inode number, never given to
 * another namespace during this boot. 0 when the kernel has none. */
static uint64_t mntns_id(int fd)
{
	uint64_t id = 0;

	return ioctl(fd, STINT_NS_GET_MNTNS_ID, &id) < 0 ? 0 : id;
}

/* The user ns: ours (a pod without a user namespace), or a direct child of
 * ours that is this pod's — pinned at its first HELLO. A guest's own
 * `unshare -U` is nested in the pod's, or, in a pod without one, differs
 * from ours while nothing was pinned but ours. */
static int check_user(const struct handoff *h, const struct ns_id *own, const struct trust *t, struct ns_id *user,
		      bool *foreign)
{
	struct ns_id parent;
	int userfd = h->fd[STINT_FD_USER];
	cleanup_fd int pfd = -1;

	if (userfd < 0) {
		*user = *own; /* a kernel without user namespaces */
		return 0;
	}
	if (ns_id_of(userfd, "the HELLO's user namespace", user) < 0)
		return -1;
	if (t->pod_user.ino && !ns_id_eq(user, &t->pod_user))
		return fail("HELLO: user namespace %llu is not this pod's (%llu, pinned at its first HELLO): refusing "
			    "a namespace the guest may have made",
			    user->ino, t->pod_user.ino);
	*foreign = !ns_id_eq(user, own);
	if (!*foreign)
		return 0;
	pfd = ioctl(userfd, STINT_NS_GET_PARENT);
	if (pfd < 0 || ns_id_of(pfd, "a parent user namespace", &parent) < 0)
		return fail_errno("HELLO: the parent of user namespace %llu", user->ino);
	if (!ns_id_eq(&parent, own))
		return fail("HELLO: user namespace %llu is nested in another one, not a pod's: refusing a namespace "
			    "the guest made",
			    user->ino);
	return 0;
}

/* Who owns each namespace sent. The mount and pid ns: the HELLO's user ns,
 * nothing else (the root is attached in the first, the init lives in the
 * second). The others may also be owned by the peer's own user ns or one
 * above it: a namespace the pod shares with the node (the time ns; the
 * cgroup ns under containerd on cgroup v1), whose owner the kernel does not
 * even name (EPERM) to a peer in a user-namespaced pod. A namespace the
 * guest made is owned by a user ns it made, nested below the pod's: none
 * of these. This holds where the kernel cannot tell a pidfd's namespaces
 * (Linux < 6.11), so it comes first. */
static int check_owners(const struct handoff *h, const struct ns_id *own, const struct ns_id *user)
{
	for (size_t i = 0; i < ARRAY_SIZE(ns_tags); i++) {
		uint32_t tag = ns_tags[i].tag;
		bool strict = tag == STINT_FD_MNT || tag == STINT_FD_PID;
		const char *what = stint_fd_tag_name(tag);
		cleanup_fd int ownerfd = -1;
		struct ns_id owner;

		if (tag == STINT_FD_USER || h->fd[tag] < 0)
			continue;
		ownerfd = ioctl(h->fd[tag], STINT_NS_GET_USERNS);
		if (ownerfd < 0 && errno == EPERM && !strict)
			continue; /* owned above the peer's user ns: the node's */
		if (ownerfd < 0)
			return fail_errno("HELLO: the owner of the %s namespace", what);
		if (ns_id_of(ownerfd, "an owning user namespace", &owner) < 0)
			return -1;
		if (ns_id_eq(&owner, user) || (!strict && ns_id_eq(&owner, own)))
			continue;
		return fail("HELLO: the %s namespace is owned by user namespace %llu, not %llu%s", what, owner.ino,
			    user->ino, strict ? "" : " nor the node's");
	}
	return 0;
}

/* Is fd a pidfd? On pidfs (Linux >= 6.9) by its file system, before that
 * by the anonymous inode's name. */
static bool is_pidfd(int procfd, int fd)
{
	char path[64], target[64];
	ssize_t n;

	if (pidfd_inode(fd))
		return true;
	snprintf(path, sizeof(path), "self/fd/%d", fd);
	n = readlinkat(procfd, path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[pidfd]") == 0;
}

/* The pidfd names a live process in exactly the namespaces sent. (A pidfd
 * turns readable when its process has exited; pidfd_send_signal() cannot
 * tell: it refuses a process of a sibling pid namespace.) */
static int check_pidfd(const struct handoff *h, int procfd)
{
	int pidfd = h->fd[STINT_FD_PIDFD];
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (pidfd < 0)
		return fail("HELLO: no pidfd of the init (a kernel without pidfd_open, Linux < 5.3, is not supported)");
	if (!is_pidfd(procfd, pidfd))
		return fail("HELLO: the pidfd fd is not a pidfd");
	if (poll(&p, 1, 0) != 0)
		return fail("HELLO: the init behind the pidfd has already exited");
	for (size_t i = 0; i < ARRAY_SIZE(ns_tags); i++) {
		struct ns_id sent, real;
		cleanup_fd int nsfd = -1;

		if (h->fd[ns_tags[i].tag] < 0)
			continue;
		/* The argument must be 0: the kernel answers any other with
		 * EINVAL, which must not read as "cannot tell" (fail open). */
		nsfd = ioctl(pidfd, STINT_PIDFD_GET_NS(ns_tags[i].pidfd_ns), 0);
		if (nsfd < 0 && (errno == ENOTTY || errno == EOPNOTSUPP)) {
			log_debug("this kernel cannot tell a pidfd's namespaces (Linux < 6.11): relying on ownership");
			return 0;
		}
		if (nsfd < 0)
			return fail_errno("HELLO: the %s namespace of the init's pidfd",
					  stint_fd_tag_name(ns_tags[i].tag));
		if (ns_id_of(nsfd, "a namespace of the init", &real) < 0 ||
		    ns_id_of(h->fd[ns_tags[i].tag], "a namespace fd", &sent) < 0)
			return -1;
		if (!ns_id_eq(&sent, &real))
			return fail("HELLO: the %s namespace sent is not the one of the process behind the pidfd",
				    stint_fd_tag_name(ns_tags[i].tag));
	}
	return 0;
}

int hello_verify(const struct handoff *h, int procfd, const struct trust *t, struct hello_ids *ids)
{
	struct ns_id own;

	memset(ids, 0, sizeof(*ids));
	if (h->fd[STINT_FD_MNT] < 0)
		return fail("HELLO: no mount namespace fd");
	if (check_types(h) < 0 || ns_own(procfd, "user", &own) < 0 ||
	    check_user(h, &own, t, &ids->user, &ids->userns) < 0 || check_owners(h, &own, &ids->user) < 0)
		return -1;
	if (ns_id_of(h->fd[STINT_FD_MNT], "the HELLO's mount namespace", &ids->mnt) < 0)
		return -1;
	ids->mnt_id = mntns_id(h->fd[STINT_FD_MNT]);
	if (h->fd[STINT_FD_PID] >= 0 && ns_id_of(h->fd[STINT_FD_PID], "the HELLO's pid namespace", &ids->pid) < 0)
		return -1;
	if (check_pidfd(h, procfd) < 0)
		return -1;
	ids->init = pidfd_inode(h->fd[STINT_FD_PIDFD]);
	/* A restarted peer holds no pidfd of the init it served and cannot
	 * tell whether it runs; the namespace's id still names that one
	 * namespace, which lives as long as its init (an inode number could
	 * be a new container's, so it counts only while the init is known). */
	if ((t->served_alive && ns_id_eq(&ids->mnt, &t->served_mnt)) ||
	    (t->served_mnt_id && ids->mnt_id == t->served_mnt_id))
		return fail("HELLO: mount namespace %llu is already served and its init still runs: refusing to "
			    "prepare a second root in it",
			    ids->mnt.ino);
	if (t->served_init && ids->init == t->served_init)
		return fail("HELLO: its init (pidfd inode %llu) is the one already served and still running: refusing "
			    "to prepare a second root under it",
			    (unsigned long long)ids->init);
	return 0;
}
