/* Running COMMAND: exec it so that it becomes PID 1 (the default: systemd
 * and busybox init want to be PID 1), or fork it and stay PID 1 as its
 * supervisor, forwarding signals and reaping orphans like tini. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "stint/deadline.h"
#include "stint/log.h"
#include "stint/syscalls.h"
#include "stint/util.h"

/* The workload inherits 0, 1 and 2 only: the namespace fds, the socket and
 * the signalfd are stint's business. */
struct fd_sweep {
	int first, dirfd;
};

static int close_listed(const char *name, void *arg)
{
	const struct fd_sweep *s = arg;
	unsigned long fd;
	const char *end = parse_decimal(name, INT_MAX, &fd);

	if (end && !*end && (int)fd >= s->first && (int)fd != s->dirfd)
		close((int)fd);
	return 0;
}

void close_fds_from(int first)
{
	struct fd_sweep s = { first, -1 };

	/* close_range (Linux >= 5.9; ENOSYS before, then the sweep below). */
	if (sys_close_range((unsigned)first, ~0U, 0) == 0)
		return;
	s.dirfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.dirfd < 0 || dir_each(s.dirfd, close_listed, &s) < 0) {
		/* No /proc in the new root: close a generous range instead. */
		for (int fd = first; fd < 65536; fd++)
			close(fd);
		return;
	}
	close(s.dirfd);
}

static void exec_command(const struct config *cfg, const sigset_t *saved) __attribute__((noreturn));
static void exec_command(const struct config *cfg, const sigset_t *saved)
{
	int err;

	close_fds_from(3);
	sigprocmask(SIG_SETMASK, saved, NULL);
	execvp(cfg->command[0], cfg->command);
	err = errno;
	log_error("exec %s: %s", cfg->command[0], strerror(err));
	_exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_EXEC_FAILED);
}

void run_exec(const struct config *cfg, const sigset_t *saved)
{
	int status;

	reap_children(0, &status); /* leave no zombie to the next PID 1 */
	log_info("exec %s", cfg->command[0]);
	exec_command(cfg, saved);
}

static void child_main(const struct config *cfg, const sigset_t *saved) __attribute__((noreturn));
static void child_main(const struct config *cfg, const sigset_t *saved)
{
	/* Its own process group, so that a group-wide signal from a shell or a
	 * terminal reaches the workload and not stint; and the terminal's
	 * foreground, so that interactive programs can read it. SIGTTOU is
	 * still blocked here, so tcsetpgrp from the background is allowed. */
	if (setpgid(0, 0) < 0)
		log_warn("setpgid: %s", strerror(errno));
	if (isatty(STDIN_FILENO) && tcsetpgrp(STDIN_FILENO, getpgrp()) < 0)
		log_debug("tcsetpgrp: %s", strerror(errno));
	exec_command(cfg, saved);
}

static int rewrite_signal(const struct config *cfg, int sig)
{
	for (size_t i = 0; i < cfg->n_rewrite; i++) {
		if (cfg->rewrite[i].from == sig)
			return cfg->rewrite[i].to;
	}
	return sig;
}

static void forward(const struct config *cfg, pid_t child, int sig)
{
	int to = rewrite_signal(cfg, sig);
	char a[32], b[32];

	if (to != sig)
		log_debug("forwarding %s as %s", signal_describe(sig, a, sizeof(a)), signal_describe(to, b, sizeof(b)));
	if (kill(cfg->forward_group ? -child : child, to) < 0 && errno != ESRCH)
		log_warn("forwarding %s to %d: %s", signal_describe(to, b, sizeof(b)), child, strerror(errno));
}

static void finish(int code) __attribute__((noreturn));
static void finish(int code)
{
	log_debug("exiting with %d", code);
	exit(code);
}

static bool no_children_left(void)
{
	return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

/* The main child has exited: end the rest gently if asked, then go. */
static void begin_grace(const struct config *cfg, int code, msec_t *deadline)
{
	if (cfg->grace_ms == 0 || no_children_left())
		finish(code);
	if (signal_descendants(SIGTERM) == 0)
		finish(code); /* they went in the meantime */
	log_info("sent SIGTERM to the remaining processes; waiting up to %ld ms", cfg->grace_ms);
	*deadline = deadline_in(cfg->grace_ms);
}

void run_supervise(const struct config *cfg, int sigfd, const sigset_t *saved)
{
	msec_t deadline = DEADLINE_NONE;
	int status, code = 0;
	pid_t child;

	child = fork();
	if (child < 0)
		die_errno(EXIT_SETUP, "fork for %s", cfg->command[0]);
	if (child == 0)
		child_main(cfg, saved);
	/* Also from this side: whichever runs first, the group exists before
	 * a signal is forwarded to it. */
	if (setpgid(child, child) < 0 && errno != EACCES && errno != ESRCH)
		log_debug("setpgid %d: %s", child, strerror(errno));
	log_info("supervising %s (pid %d)", cfg->command[0], child);

	/* From here on the workload runs: stint must not die on a recoverable
	 * error, only warn and keep reaping. */
	for (;;) {
		struct pollfd p = { sigfd, POLLIN, 0 };
		struct signalfd_siginfo si;

		if (deadline_passed(deadline)) {
			log_warn("grace period over: sending SIGKILL to the remaining processes");
			signal_descendants(SIGKILL);
			while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
				;
			finish(code);
		}
		if (poll(&p, 1, deadline_poll_ms(deadline)) < 0 && errno != EINTR)
			log_warn("poll: %s", strerror(errno));
		while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo != SIGCHLD) {
				if (deadline == DEADLINE_NONE)
					forward(cfg, child, (int)si.ssi_signo);
				continue;
			}
			if (deadline == DEADLINE_NONE && reap_children(child, &status)) {
				code = exit_code_of(status);
				log_info("%s exited with status %d", cfg->command[0], code);
				begin_grace(cfg, code, &deadline);
			} else if (deadline != DEADLINE_NONE) {
				reap_children(0, &status);
				if (no_children_left())
					finish(code);
			}
		}
	}
}
