/* The process structure of `stint-peer enter` and `attach` (session.h):
 * the caller, a reaper as PID 1 of the session's own pid namespace, and
 * the command. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "stint/exitcode.h"
#include "stint/log.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "err.h"
#include "ptyrelay.h"
#include "session.h"

/* A directory every procfs has (fs/proc/root.c) and a session has no use
 * for: where the session's own procfs goes. */
#define SESSION_PROC "/proc/driver"

extern char **environ;

/* The signals the caller and the reaper pass on to the command. */
static void forwarded(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
}

static int status_of(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return EXIT_SIGNAL_BASE + WTERMSIG(st);
	return EXIT_SETUP;
}

static void command(struct session *s, const sigset_t *orig, const struct pty_relay *tty) __attribute__((noreturn));
static void command(struct session *s, const sigset_t *orig, const struct pty_relay *tty)
{
	const char *file = s->argv[0];

	sigprocmask(SIG_SETMASK, orig, NULL);
	if (s->prepare_exec && s->prepare_exec(s) < 0) {
		log_error("%s: %s", s->what, fail_reason());
		_exit(EXIT_SETUP);
	}
	if (s->argv0)
		s->argv[0] = (char *)s->argv0; /* our own copy of the session: this process execs or exits */
	if (s->envp)
		environ = s->envp;
	pty_relay_ctty(tty);
	/* Only 0, 1 and 2 go in: any other fd the caller had open names
	 * something of the sidecar, a way out of the OS's root. */
	if (sys_close_range(3, ~0U, 0) < 0 && errno != ENOSYS)
		log_warn("%s: close inherited fds: %s", s->what, strerror(errno));
	execvp(file, s->argv);
	log_error("%s: %s: %s", s->what, file, strerror(errno));
	_exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_EXEC_FAILED);
}

static bool parent_gone(int ppidfd)
{
	struct pollfd p = { .fd = ppidfd, .events = POLLIN };

	return ppidfd >= 0 && poll(&p, 1, 0) > 0;
}

/* PID 1 of the session: set it up, run the command, reap, pass signals on;
 * exit with the command's status (which also ends whatever it left). */
static void reaper(struct session *s, const sigset_t *orig, int ppidfd, struct pty_relay *tty)
	__attribute__((noreturn));
static void reaper(struct session *s, const sigset_t *orig, int ppidfd, struct pty_relay *tty)
{
	sigset_t set, keys;
	pid_t cmd;

	/* As PID 1 of its namespace the reaper ignores ^C, ^\ and ^Z (default
	 * action, SIGNAL_UNKILLABLE); they reach the command directly. */
	sigemptyset(&keys);
	sigaddset(&keys, SIGINT);
	sigaddset(&keys, SIGQUIT);
	sigaddset(&keys, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &keys, NULL);
	/* First: the operator's terminal goes no further than the caller. */
	if (pty_relay_adopt(tty) < 0) {
		log_error("%s: %s", s->what, fail_reason());
		_exit(EXIT_SETUP);
	}
	if (s->setup && s->setup(s) < 0) {
		log_error("%s: %s", s->what, fail_reason());
		_exit(EXIT_SETUP);
	}
	/* Set after setup(): joining a user namespace clears it. The caller
	 * may have died before: its pidfd says so. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (parent_gone(ppidfd))
		_exit(EXIT_SETUP);
	if (ppidfd >= 0)
		close(ppidfd);
	cmd = fork();
	if (cmd < 0) {
		log_error("%s: fork the command: %s", s->what, strerror(errno));
		_exit(EXIT_SETUP);
	}
	if (cmd == 0)
		command(s, orig, tty);
	forwarded(&set);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL), st;
		pid_t w;

		if (sig < 0)
			continue; /* EINTR */
		if (sig != SIGCHLD) {
			kill(cmd, sig);
			continue;
		}
		while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
			if (w == cmd)
				_exit(status_of(st));
		}
	}
}

/* The caller: relay the terminal, pass signals on, resize, until the
 * reaper exits (and with it every process of the session). */
static int wait_reaper(pid_t pid, int sigfd, struct pty_relay *tty)
{
	for (;;) {
		struct pollfd p[3] = { { .fd = sigfd, .events = POLLIN } };
		int n = 1 + pty_relay_pollfds(tty, p + 1), st;
		struct signalfd_siginfo si;

		if (poll(p, (nfds_t)n, -1) < 0)
			continue; /* EINTR */
		pty_relay_step(tty, p + 1, n - 1);
		if (!(p[0].revents & POLLIN) || read(sigfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGWINCH) {
			pty_relay_resize(tty);
		} else if (si.ssi_signo != SIGCHLD) {
			kill(pid, (int)si.ssi_signo);
		} else if (waitpid(pid, &st, WNOHANG) == pid) {
			pty_relay_finish(tty);
			return status_of(st);
		}
	}
}

int session_run(struct session *s)
{
	sigset_t block, orig, waited;
	struct pty_relay tty;
	cleanup_fd int sigfd = -1;
	int ppidfd;
	pid_t pid;

	/* Blocked from here on in the caller: forwarded ones are waited for,
	 * the terminal's (^C, ^\, ^Z) stay pending and never end the caller
	 * while the command runs. The command gets the original mask back. */
	forwarded(&waited);
	sigaddset(&waited, SIGWINCH);
	block = waited;
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGTSTP);
	if (sigprocmask(SIG_BLOCK, &block, &orig) < 0 || (sigfd = signalfd(-1, &waited, SFD_CLOEXEC)) < 0) {
		log_error("%s: block and wait for signals: %s", s->what, strerror(errno));
		return EXIT_SETUP;
	}
	if (unshare(CLONE_NEWPID) < 0) {
		log_error("%s: a pid namespace for the session (unshare): %s%s", s->what, strerror(errno),
			  errno == EPERM ? " (stint-peer needs CAP_SYS_ADMIN: run it in the privileged sidecar)" : "");
		return EXIT_SETUP;
	}
	if (pty_relay_open(&tty) < 0) {
		log_error("%s: %s", s->what, fail_reason());
		return EXIT_SETUP;
	}
	ppidfd = sys_pidfd_open(getpid(), 0);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_error("%s: fork: %s", s->what, strerror(errno));
		return EXIT_SETUP;
	}
	if (pid == 0) {
		close(sigfd);
		reaper(s, &orig, ppidfd, &tty);
	}
	if (ppidfd >= 0)
		close(ppidfd);
	if (pty_relay_start(&tty) < 0)
		log_warn("%s: %s: the terminal echoes twice", s->what, fail_reason());
	return wait_reaper(pid, sigfd, &tty);
}

/* A detached mount of a new filesystem (no options). Returns its fd. */
static int new_fs(const char *type, unsigned attrs)
{
	cleanup_fd int fs = sys_fsopen(type, STINT_FSOPEN_CLOEXEC);
	int mnt;

	if (fs < 0)
		return fail_errno("fsopen %s", type);
	if (sys_fsconfig(fs, STINT_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fail_errno("create a %s", type);
	mnt = sys_fsmount(fs, STINT_FSMOUNT_CLOEXEC, attrs);
	return mnt < 0 ? fail_errno("fsmount %s", type) : mnt;
}

/* Put a symlink to `target` over the (symlink) `at`: a symlink cloned
 * from a private tmpfs can be mounted on another one. */
static int link_over(int tmpfs, const char *name, const char *target, const char *at)
{
	cleanup_fd int fd = -1;

	if (symlinkat(target, tmpfs, name) < 0)
		return fail_errno("symlink %s", name);
	fd = sys_open_tree(tmpfs, name, STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	if (fd < 0)
		return fail_errno("clone the symlink %s", name);
	if (sys_move_mount(fd, "", AT_FDCWD, at, STINT_MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return fail_errno("mount a symlink over %s", at);
	return 0;
}

int session_fix_proc(void)
{
	unsigned attrs = STINT_MOUNT_ATTR_NOSUID | STINT_MOUNT_ATTR_NODEV | STINT_MOUNT_ATTR_NOEXEC;
	cleanup_fd int proc = -1;
	cleanup_fd int tmp = -1;
	struct statfs sfs;

	if (statfs("/proc", &sfs) < 0 || sfs.f_type != STINT_PROC_SUPER_MAGIC) {
		log_debug("no procfs at /proc: /proc/self left as it is");
		return 0;
	}
	if ((proc = new_fs("proc", attrs)) < 0 || (tmp = new_fs("tmpfs", attrs)) < 0)
		return -1;
	if (sys_move_mount(proc, "", AT_FDCWD, SESSION_PROC, STINT_MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return fail_errno("mount the session's procfs at %s", SESSION_PROC);
	if (link_over(tmp, "self", SESSION_PROC "/self", "/proc/self") < 0 ||
	    link_over(tmp, "thread-self", SESSION_PROC "/thread-self", "/proc/thread-self") < 0)
		return -1;
	return 0;
}

int session_same_userns(int pidfd)
{
	cleanup_fd int ns = ioctl(pidfd, STINT_PIDFD_GET_NS(STINT_PIDFD_NS_USER), 0);
	struct stat a, b;

	if (ns < 0)
		return fail_errno("the user namespace of the OS's init (PIDFD_GET_USER_NAMESPACE, Linux >= 6.11)");
	if (fstat(ns, &a) < 0 || stat("/proc/self/ns/user", &b) < 0)
		return fail_errno("stat a user namespace");
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int session_ns_to_join(int pidfd, int wanted)
{
	static const struct {
		int flag, pidfd_ns;
		const char *name;
	} kinds[] = {
		{ CLONE_NEWNS, STINT_PIDFD_NS_MNT, "mnt" },	      { CLONE_NEWNET, STINT_PIDFD_NS_NET, "net" },
		{ CLONE_NEWIPC, STINT_PIDFD_NS_IPC, "ipc" },	      { CLONE_NEWUTS, STINT_PIDFD_NS_UTS, "uts" },
		{ CLONE_NEWCGROUP, STINT_PIDFD_NS_CGROUP, "cgroup" }, { CLONE_NEWTIME, STINT_PIDFD_NS_TIME, "time" },
	};
	int flags = 0;

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		char path[32];
		struct stat own, os;
		cleanup_fd int fd = -1;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", kinds[i].name);
		if (!(wanted & kinds[i].flag) || stat(path, &own) < 0)
			continue; /* not wanted, or this kernel has no such namespace */
		fd = ioctl(pidfd, STINT_PIDFD_GET_NS(kinds[i].pidfd_ns), 0);
		if (fd >= 0 && fstat(fd, &os) == 0 && os.st_dev == own.st_dev && os.st_ino == own.st_ino)
			continue; /* the OS's is ours already */
		flags |= kinds[i].flag;
	}
	return flags;
}
