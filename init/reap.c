/* Reaping and finding descendants. PID 1 inherits every orphan of its
 * namespace (and, as a subreaper, every orphan below it), including those a
 * peer leaves behind after joining our PID namespace; all of them are
 * reaped on every SIGCHLD, in every phase. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "stint/log.h"
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
		return 128 + WTERMSIG(status);
	return 255;
}

/* Parent pid from /proc/PID/stat; the command name may hold spaces and
 * parentheses, so parse after the last ')'. */
static pid_t parent_of(int procfd, const char *pid)
{
	char path[64], buf[512], *p;
	cleanup_fd int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stat", pid);
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
	return (pid_t)strtol(p + 4, NULL, 10); /* ") S PPID" */
}

struct proc_entry {
	pid_t pid, ppid;
};

static size_t list_processes(struct proc_entry **out)
{
	cleanup_fd int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t n = 0, cap = 64;
	struct proc_entry *v;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	if (procfd < 0 || !(d = fdopendir(dup(procfd)))) {
		log_warn("listing processes in /proc: %s", strerror(errno));
		return 0;
	}
	v = malloc(cap * sizeof(*v));
	while (v && (de = readdir(d))) {
		pid_t ppid;

		if (!isdigit((unsigned char)de->d_name[0]) || (ppid = parent_of(procfd, de->d_name)) < 0)
			continue;
		if (n == cap) {
			struct proc_entry *nv = realloc(v, (cap *= 2) * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[n++] = (struct proc_entry){ (pid_t)atoi(de->d_name), ppid };
	}
	closedir(d);
	*out = v;
	return v ? n : 0;
}

static bool descends_from(const struct proc_entry *v, size_t n, pid_t pid, pid_t ancestor)
{
	/* Bounded walk: a pid reused mid-scan cannot loop us forever. */
	for (size_t depth = 0; depth < n && pid > 1; depth++) {
		pid_t parent = -1;

		for (size_t i = 0; i < n; i++) {
			if (v[i].pid == pid) {
				parent = v[i].ppid;
				break;
			}
		}
		if (parent == ancestor)
			return true;
		pid = parent;
	}
	return false;
}

int signal_descendants(int sig)
{
	cleanup_free struct proc_entry *v = NULL;
	pid_t self = getpid();
	size_t n;
	int count = 0;

	if (self == 1) {
		/* Everyone else in the namespace; kill(-1) skips the caller. */
		return kill(-1, sig) == 0 ? 1 : 0;
	}
	n = list_processes(&v);
	for (size_t i = 0; i < n; i++) {
		if (v[i].pid != self && descends_from(v, n, v[i].pid, self) && kill(v[i].pid, sig) == 0)
			count++;
	}
	return count;
}
