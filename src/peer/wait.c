/* prepare's top level and --then wait. A sidecar that exits is restarted
 * by Kubernetes, so by default the peer stays: it serves the sd_notify
 * socket, records readiness for `stint-peer status`, and when a new init
 * serves the handoff socket again (the OS container restarted) it prepares
 * again. SIGTERM/SIGINT end it with status 0. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/log.h"
#include "stint/mountapi.h"
#include "stint/notify.h"
#include "stint/peer.h"
#include "stint/peer_config.h"
#include "stint/peer_err.h"
#include "stint/peer_prepare.h"
#include "stint/util.h"

#define TICK_MS 250

/* Has a new init created the socket since the one we served? (No test
 * connection: the init would log a peer that went away.) */
static int socket_is_new(struct peer_run *run)
{
	struct stat st;

	if (stat(run->cfg->socket, &st) < 0) {
		run->sock_gone = 1;
		return 0;
	}
	/* Inode numbers get reused, often at once: a socket seen gone and
	 * back, or made at another time, is new too. */
	return S_ISSOCK(st.st_mode) &&
	       (st.st_ino != run->sock_ino || run->sock_gone || st.st_ctim.tv_sec != run->sock_ctime.tv_sec ||
		st.st_ctim.tv_nsec != run->sock_ctime.tv_nsec);
}

/* Fallback readiness for inits without sd_notify: a path in the new root. */
static void check_ready_path(struct peer_run *run)
{
	struct stint_open_how how = { .flags = O_PATH | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_IN_ROOT | STINT_RESOLVE_NO_MAGICLINKS };
	int fd;

	if (!run->cfg->ready_path || run->rootfd < 0 || run->st.ready)
		return;
	fd = sys_openat2(run->rootfd, run->cfg->ready_path, &how);
	if (fd < 0)
		return;
	close(fd);
	log_info("ready-path %s appeared in the new root: the OS is ready", run->cfg->ready_path);
	snprintf(run->st.state, sizeof(run->st.state), "ready");
	run->st.ready = 1;
	state_write(run->state_path, &run->st);
}

static int block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int peer_wait(struct peer_run *run)
{
	cleanup_fd int sfd = block_signals();
	struct pollfd p[2];

	if (sfd < 0)
		die_errno(1, "signalfd");
	log_info("step 7/7 then: waiting (SIGTERM ends the peer)%s", run->notify_fd >= 0 ? ", serving the notify socket" : "");
	for (;;) {
		int n;

		p[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = run->notify_fd, .events = POLLIN };
		n = poll(p, run->notify_fd >= 0 ? 2 : 1, TICK_MS);
		if (n < 0 && errno != EINTR)
			die_errno(1, "poll");
		if (n > 0 && (p[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				log_info("signal %u: exiting", si.ssi_signo);
				return 0;
			}
		}
		if (n > 0 && run->notify_fd >= 0 && (p[1].revents & POLLIN)) {
			while (notify_read(run->notify_fd, &run->st) > 0)
				state_write(run->state_path, &run->st);
		}
		check_ready_path(run);
		if (socket_is_new(run)) {
			log_info("a new init serves %s: preparing again", run->cfg->socket);
			memset(&run->st, 0, sizeof(run->st));
			if (prepare_once(run) == PREPARE_FAILED)
				log_error("prepare for the new init failed; waiting for the next one");
		}
	}
}

int peer_prepare(struct peer_config *c)
{
	struct peer_run run = { .cfg = c, .notify_fd = -1, .rootfd = -1 };
	int rc;

	state_file_path(c, run.state_path, sizeof(run.state_path));
	if ((c->notify || c->ready_path) && c->then == PEER_THEN_EXIT)
		log_warn("then=exit: nobody will watch %s after the switch, so readiness stays 'booting'",
			 c->notify ? "the notify socket" : "ready-path");
	if (c->notify && (run.notify_fd = notify_open(c->notify)) < 0) {
		log_error("prepare failed: %s", fail_reason());
		return 1;
	}
	rc = prepare_once(&run);
	if (rc == PREPARE_FAILED)
		return 1;
	if (rc == PREPARE_NO_SOCKET)
		log_info("no init listens on %s: it has already switched root (or has not started yet); nothing to "
			 "prepare%s",
			 c->socket, c->then == PEER_THEN_WAIT ? ", waiting for one" : "");
	if (c->then == PEER_THEN_EXIT) {
		log_info("step 7/7 then: exit");
		return 0;
	}
	return peer_wait(&run);
}
