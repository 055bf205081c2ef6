/* `stint-peer attach [--target DIR] [--] [COMMAND [ARG]...]`: run COMMAND
 * (default: $SHELL or /bin/sh of the sidecar) with the sidecar's own files
 * and tools, beside the booted OS: in its network, IPC, UTS and cgroup
 * namespaces, with the OS's root tree at DIR (default /target) and the
 * OS's procfs at /proc, so that ps, netstat -p, ss and ip of the sidecar
 * see the OS — without joining the OS's mount namespace: the session has a
 * private one of the sidecar's (a slave), holding the clones.
 *
 * The OS's pid namespace cannot be joined (session.h): ps lists the OS's
 * processes from its /proc, but pids given to kill or `strace -p` name
 * processes of the session's own pid namespace. docs/control.md. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "stint/config.h"
#include "stint/exitcode.h"
#include "stint/log.h"
#include "stint/path.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "control.h"
#include "err.h"
#include "peer.h"
#include "session.h"

struct attach {
	struct control_reply rep;
	const char *target;
	char *shell_argv[2];
};

#define O(field) offsetof(struct session_opts, field)

static const struct cfg_key attach_keys[] = {
	SESSION_OPTS_KEYS,
	{ "target", NULL, "/target", "DIR", "where the OS's root appears (created if missing; not /, not in /proc)",
	  .off = O(target), .short_opt = 't', .type = CFG_PATH, .flags = CFG_ARGV_ONLY },
	CFG_KEY_HELP(CFG_ARGV_ONLY),
};

static const struct cfg_program attach_program = {
	.name = "stint-peer",
	.section = "peer",
	.keys = attach_keys,
	.n_keys = ARRAY_SIZE(attach_keys),
	.usage = "usage: stint-peer [-v|-q] attach [-c FILE] [--run-dir DIR] [--target DIR] [--] [COMMAND [ARG]...]\n"
		 "Run COMMAND (default: $SHELL or /bin/sh) with the sidecar's tools beside the booted OS:\n"
		 "its net, ipc, uts and cgroup namespaces, its processes in /proc, its root at --target.\n\n",
	.epilog = "See stint-peer(8) and docs/control.md.\n",
};

/* Clones of the OS's root tree and of its /proc, made from inside its
 * mount namespace (open_tree() clones mounts of the caller's namespace
 * only), then back into ours. Each clone is recursive: the OS's own
 * mounts (and /proc's masks) come along. */
static int clone_os_trees(struct session *s, int rootfd, int *tree, int *proc)
{
	unsigned flags = STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC | STINT_AT_RECURSIVE;
	cleanup_fd int own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	cleanup_fd int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct statfs sfs;

	if (own < 0 || cwd < 0)
		return fail_errno("open this process's mount namespace and working directory");
	if (setns(s->pidfd, CLONE_NEWNS) < 0)
		return errno == ESRCH ?
			       fail("the OS has restarted meanwhile (stale pidfd: its init exited); try again") :
			       fail_errno("enter the OS's mount namespace");
	*tree = sys_open_tree(rootfd, "", flags | AT_EMPTY_PATH);
	*proc = sys_open_tree(rootfd, "proc", flags | AT_SYMLINK_NOFOLLOW);
	if (*tree < 0)
		fail_errno("clone the OS's root tree");
	if (*proc >= 0 && (fstatfs(*proc, &sfs) < 0 || sfs.f_type != STINT_PROC_SUPER_MAGIC)) {
		close(*proc);
		*proc = -1;
		errno = ENOENT;
	}
	if (*proc < 0)
		log_warn("attach: the OS's /proc (no procfs there: %s); /proc stays the sidecar's", strerror(errno));
	if (setns(own, CLONE_NEWNS) < 0 || fchdir(cwd) < 0)
		return fail_errno("return to the sidecar's mount namespace");
	return *tree < 0 ? -1 : 0;
}

/* The OS's tree as the sidecar's privileged tools see it: no device node
 * the guest made (in its /dev tmpfs, say) opens, no set-uid file of its
 * takes effect (the session runs in the sidecar's cgroup, without the
 * OS's device filter). */
static int disarm(int tree)
{
	struct stint_mount_attr attr = { .attr_set = STINT_MOUNT_ATTR_NODEV | STINT_MOUNT_ATTR_NOSUID };

	if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | STINT_AT_RECURSIVE, &attr) < 0)
		return fail_errno("make the clone of the OS's tree nodev and nosuid");
	return 0;
}

/* Attach a detached tree at `at` as a slave: the OS's mount events still
 * arrive, none of the session's reach the OS. */
static int place(int tree, const char *at)
{
	if (sys_move_mount(tree, "", AT_FDCWD, at, STINT_MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return fail_errno("mount the OS's tree at %s", at);
	if (mount(NULL, at, NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return fail_errno("make %s a slave of the OS's mounts", at);
	return 0;
}

/* DIR and its missing parents, in the sidecar's own file system. */
static int ensure_dir(const char *dir)
{
	char path[PATH_MAX], c;
	struct stat st;

	copy_str(path, sizeof(path), dir);
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return fail_errno("create the mount point %s in the sidecar (--target)", path);
		if (!c)
			break;
		*p = c;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail("--target %s is not a directory", dir);
	return 0;
}

/* In the session's reaper, privileged. */
static int attach_setup(struct session *s)
{
	struct attach *a = s->data;
	int ns = session_ns_to_join(s->pidfd, CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP);
	cleanup_fd int tree = -1;
	cleanup_fd int proc = -1;

	if (clone_os_trees(s, a->rep.rootfd, &tree, &proc) < 0)
		return -1;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return fail_errno("a private mount namespace for the session");
	if (disarm(tree) < 0 || ensure_dir(a->target) < 0 || place(tree, a->target) < 0)
		return -1;
	if (proc >= 0 && place(proc, "/proc") < 0)
		log_warn("attach: %s; /proc stays the sidecar's", fail_reason());
	else if (proc >= 0 && session_fix_proc() < 0)
		log_warn("attach: /proc/self will not work in the session: %s", fail_reason());
	if (ns && setns(s->pidfd, ns) < 0)
		return fail_errno("join the OS's network, IPC, UTS and cgroup namespaces");
	return 0;
}

int peer_attach(int argc, char **argv)
{
	struct session_opts o;
	const char *shell = getenv("SHELL");
	char run_dir[PATH_MAX];
	struct attach a = { .rep = { .pidfd = -1, .rootfd = -1 } };
	struct session s = { .what = "attach", .setup = attach_setup, .data = &a };
	int first, rc = control_options(&attach_program, &o, argc, argv, &first, run_dir, sizeof(run_dir));

	if (rc >= 0)
		return rc;
	a.target = o.target;
	if (strcmp(a.target, "/") == 0 || path_is_under(a.target, "/proc")) {
		log_error("attach: --target %s must be a directory other than / and not under /proc", a.target);
		return EXIT_USAGE;
	}
	if (control_fetch(run_dir, &a.rep) < 0) {
		log_error("attach: %s", fail_reason());
		return EXIT_SETUP;
	}
	s.pidfd = a.rep.pidfd;
	if (first < argc) {
		s.argv = argv + first;
	} else {
		a.shell_argv[0] = (char *)(shell && shell[0] == '/' ? shell : "/bin/sh");
		s.argv = a.shell_argv;
	}
	log_debug("attach: boot %u of the OS at %s; running %s", a.rep.boot, a.target, s.argv[0]);
	rc = session_run(&s);
	control_reply_close(&a.rep);
	return rc;
}
