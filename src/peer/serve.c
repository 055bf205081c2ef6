/* then=wait: after the switch the peer stays, as a native sidecar does. It
 * serves the sd_notify socket, keeps readiness true to the OS (the served
 * init's pidfd turns readable the moment it exits: not ready at once), and
 * prepares again for the next init — which it learns of from inotify on the
 * socket's directory, never by polling, and only once the init it serves
 * has exited. SIGTERM, SIGINT and SIGHUP end it with status 0. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "stint/log.h"
#include "stint/path.h"
#include "peer_config.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "control.h"
#include "err.h"
#include "prepare.h"
#include "recorder.h"

/* Fallback readiness for inits without sd_notify: a path appearing in the
 * new root. inotify watches the deepest directory of it that exists (so a
 * /run/x/ready whose /run/x is made later is still seen), and it is
 * re-armed after every event. */
struct ready_watch {
	int ino; /* inotify fd, -1 when not watching */
	int wd;
};

static bool ready_path_exists(const struct peer_run *r, const char *path)
{
	struct stint_open_how how = { .flags = O_PATH | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_IN_ROOT | STINT_RESOLVE_NO_MAGICLINKS };
	int fd = sys_openat2(r->init.rootfd, path, &how);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void ready_watch_arm(const struct peer_run *r, struct ready_watch *w)
{
	char dir[PATH_MAX], name[NAME_MAX + 1], proc[64];
	struct stint_open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_IN_ROOT | STINT_RESOLVE_NO_MAGICLINKS };
	cleanup_fd int fd = -1;

	if (w->ino < 0 || r->init.rootfd < 0)
		return;
	if (w->wd >= 0)
		inotify_rm_watch(w->ino, w->wd);
	w->wd = -1;
	copy_str(dir, sizeof(dir), r->cfg->ready_path);
	/* Up from the ready-path's directory to the first one that exists. */
	while (path_split(dir, dir, sizeof(dir), name, sizeof(name)) == 0) {
		fd = sys_openat2(r->init.rootfd, dir, &how);
		if (fd >= 0 || strcmp(dir, "/") == 0)
			break;
	}
	if (fd < 0)
		return;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	w->wd = inotify_add_watch(w->ino, proc, IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR);
	if (w->wd < 0)
		log_warn("ready-path: watch %s in the new root: %s", dir, strerror(errno));
}

static void ready_watch_check(struct peer_run *r, struct ready_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (w->ino >= 0 && read(w->ino, buf, sizeof(buf)) > 0)
		;
	if (r->st.ready || r->init.rootfd < 0 || !r->cfg->ready_path)
		return;
	if (ready_path_exists(r, r->cfg->ready_path)) {
		log_info("ready-path %s appeared in the new root: the OS is ready", r->cfg->ready_path);
		run_report(r, "ready", true, NULL);
		return;
	}
	ready_watch_arm(r, w);
}

/* Did the init's socket (re)appear in its directory? */
static void drain_socket_events(struct peer_run *r)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(r->sock_watch, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->len && strcmp(ev->name, r->sock_name) == 0)
				r->sock_new = true;
			p += sizeof(*ev) + ev->len;
		}
	}
}

static void init_exited(struct peer_run *r)
{
	char why[128];

	snprintf(why, sizeof(why), "the OS container's init (pid %u) exited", r->init.pid);
	log_info("%s: not ready until a new init is prepared", why);
	run_forget_init(r);
	run_report(r, "stopped", false, why);
}

static void try_prepare(struct peer_run *r, struct ready_watch *w)
{
	int rc;

	r->sock_new = false;
	if (r->st.boots)
		log_info("a new init serves %s: preparing again", r->cfg->socket);
	rc = prepare_once(r);
	if (rc == PREPARE_NO_SOCKET)
		log_info("no init listens on %s: it has already switched root (or has not started yet); waiting "
			 "for one",
			 r->cfg->socket);
	if (rc == PREPARE_FAILED)
		log_error("prepare for this init failed; waiting for the next one");
	if (rc == PREPARE_OK && r->cfg->ready_path) {
		ready_watch_arm(r, w);
		ready_watch_check(r, w);
	}
}

/* The next time the loop has something to do without an event. */
static msec_t next_deadline(const struct peer_run *r, const struct control *ctl)
{
	msec_t d = deadline_min(r->st_flush, control_deadline(ctl));

	return deadline_min(d, r->rec.deadline);
}

enum { P_SIG, P_NOTIFY, P_SOCK, P_INIT, P_READY, P_SYNC, P_RECORD, P_COUNT };

int peer_serve(struct peer_run *r)
{
	struct ready_watch w = { .ino = -1, .wd = -1 };
	struct control ctl;

	control_open(&ctl, r);
	if (r->cfg->ready_path && (w.ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0)
		log_warn("ready-path: inotify_init1: %s", strerror(errno));
	if (r->init.rootfd >= 0)
		ready_watch_arm(r, &w);
	log_info("step 7/7 then: waiting (SIGTERM ends the peer)%s",
		 r->notify.fd >= 0 ? ", serving the notify socket" : "");
	while (!r->stop_signal) {
		struct pollfd p[P_COUNT + CONTROL_POLLFDS];

		if (r->sock_new && r->init.pidfd < 0)
			try_prepare(r, &w);
		if (r->stop_signal)
			break;
		recorder_tick(r); /* before the wait: READY=1 just served lets the record go */
		p[P_SIG] = (struct pollfd){ r->sigfd, POLLIN, 0 };
		p[P_NOTIFY] = (struct pollfd){ r->notify.fd, POLLIN, 0 };
		p[P_SOCK] = (struct pollfd){ r->sock_watch, POLLIN, 0 };
		p[P_INIT] = (struct pollfd){ r->init.pidfd, POLLIN, 0 };
		p[P_READY] = (struct pollfd){ w.ino, POLLIN, 0 };
		p[P_SYNC] = (struct pollfd){ r->sync_pidfd, POLLIN, 0 };
		p[P_RECORD] = (struct pollfd){ r->rec.pidfd, POLLIN, 0 };
		control_pollfds(&ctl, p + P_COUNT);
		if (poll(p, ARRAY_SIZE(p), deadline_poll_ms(next_deadline(r, &ctl))) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (p[P_SIG].revents) {
			struct signalfd_siginfo si;

			if (read(r->sigfd, &si, sizeof(si)) == sizeof(si))
				r->stop_signal = (int)si.ssi_signo;
			break;
		}
		if (p[P_NOTIFY].revents)
			run_serve_notify(r);
		if (p[P_INIT].revents)
			init_exited(r);
		if (p[P_READY].revents)
			ready_watch_check(r, &w);
		if (p[P_SYNC].revents)
			run_sync_done(r);
		control_serve(&ctl, r, p + P_COUNT); /* after init_exited(): never hand out a dead init */
		if (p[P_SOCK].revents) {
			drain_socket_events(r);
			/* A new prepare starts only once the init served has
			 * exited: that, a live guest cannot fake. */
			if (r->sock_new && r->init.pidfd >= 0)
				log_warn("a socket appeared at %s while the init served (pid %u) still runs: not "
					 "connecting until it exits",
					 r->cfg->socket, r->init.pid);
		}
		run_flush(r);
	}
	control_close(&ctl, r);
	if (w.ino >= 0)
		close(w.ino);
	if (r->stop_signal)
		log_info("signal %d: exiting", r->stop_signal);
	return 0;
}
