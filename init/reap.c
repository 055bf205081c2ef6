/* Reaping and finding descendants. PID 1 inherits every orphan of its
 * namespace (and, as a subreaper, every orphan below it), including those a
 * peer leaves behind after joining our PID namespace; all of them are
 * reaped on every SIGCHLD, in every phase. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "stint/log.h"
#include "stint/syscalls.h"
#include "stint/util.h"

int reap_children(pid_t main, int *main_status)
{
	int found = 0, status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == main) {
			*main_status = status;
			found = 1;
		} else {
			log_debug("reaped orphan %d (status %d)", pid, exit_code_of(status));
		}
	}
	if (pid < 0 && errno != ECHILD)
		log_warn("waitpid: %s", strerror(errno));
	return found;
}

int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return EXIT_SIGNAL_BASE + WTERMSIG(status);
	return 255;
}

int dir_each(int dirfd, int (*fn)(const char *name, void *arg), void *arg)
{
	/* struct linux_dirent64 (getdents64(2)) */
	struct entry {
		uint64_t ino;
		int64_t off;
		unsigned short reclen;
		unsigned char type;
		char name[];
	};
	char buf[4096] __attribute__((aligned(8)));
	long n;

	while ((n = sys_getdents64(dirfd, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < n; at += ((struct entry *)(buf + at))->reclen) {
			const char *name = ((struct entry *)(buf + at))->name;

			if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && fn(name, arg) < 0)
				return -1;
		}
	}
	return n < 0 ? -1 : 0;
}

/* Parent pid from /proc/PID/stat; the command name may hold spaces and
 * parentheses, so parse after the last ')'. */
static pid_t parent_of(int procfd, pid_t pid)
{
	char path[64], buf[512], *p;
	unsigned long ppid;
	cleanup_fd int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%d/stat", pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || strlen(p) < 5)
		return -1;
	return parse_decimal(p + 4, INT_MAX, &ppid) ? (pid_t)ppid : -1; /* ") S PPID" */
}

/* Follows the parents in /proc as they are now. No list of every process
 * (and no heap): this runs only when stint is not PID 1, at the end of a
 * supervised run, where a few reads per process cost nothing. */
static bool descends_from(int procfd, pid_t pid, pid_t ancestor)
{
	/* Bounded walk: a pid reused mid-walk cannot loop us forever. */
	for (int depth = 0; depth < 4096 && pid > 1; depth++) {
		pid_t parent = parent_of(procfd, pid);

		if (parent == ancestor)
			return true;
		pid = parent;
	}
	return false;
}

struct signal_walk {
	int procfd, sig, count;
	pid_t self;
};

static int signal_if_descendant(const char *name, void *arg)
{
	struct signal_walk *w = arg;
	unsigned long pid;
	const char *end = parse_decimal(name, INT_MAX, &pid);

	if (end && !*end && (pid_t)pid != w->self && descends_from(w->procfd, (pid_t)pid, w->self) &&
	    kill((pid_t)pid, w->sig) == 0)
		w->count++;
	return 0;
}

int signal_descendants(int sig)
{
	cleanup_fd int procfd = -1;
	struct signal_walk w = { .sig = sig, .self = getpid() };

	if (w.self == 1) {
		/* Everyone else in the namespace; kill(-1) skips the caller. */
		return kill(-1, sig) == 0 ? 1 : 0;
	}
	procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	w.procfd = procfd;
	if (procfd < 0 || dir_each(procfd, signal_if_descendant, &w) < 0)
		log_warn("listing processes in /proc: %s", strerror(errno));
	return w.count;
}
