/* The peer's run context: the stop signals, the state record, the trust
 * record and the sd_notify socket, served during every wait. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stint/config.h"
#include "stint/log.h"
#include "stint/path.h"
#include "stint/syscalls.h"
#include "peer_config.h"
#include "stint/util.h"
#include "dirfile.h"
#include "recorder.h"
#include "err.h"
#include "prepare.h"

#define TRUST_FILE "trust"
#define NOTIFY_BURST 64 /* datagrams served per wake-up, so nothing starves */
#define STATUS_COALESCE_MS 200 /* STATUS= alone is written at most this often */

static int signals_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return fail_errno("block SIGTERM, SIGINT, SIGHUP");
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* "KEY=N:N" or "KEY=N" lines into the numbers that follow each key. */
static void trust_field(const char *buf, const char *key, unsigned long long *a, unsigned long long *b)
{
	const char *p = strstr(buf, key);
	unsigned long v;

	if (!p || !(p = parse_decimal(p + strlen(key), ~0UL, &v)))
		return;
	*a = v;
	if (b && *p == ':' && parse_decimal(p + 1, ~0UL, &v))
		*b = v;
}

static void trust_load(struct peer_run *r, int run_dir)
{
	char buf[512];
	unsigned long long init = 0, mnt_id = 0;

	if (dirfile_read(run_dir, TRUST_FILE, buf, sizeof(buf)) < 0)
		return;
	trust_field(buf, "user=", &r->trust.pod_user.dev, &r->trust.pod_user.ino);
	trust_field(buf, "served_mnt=", &r->trust.served_mnt.dev, &r->trust.served_mnt.ino);
	trust_field(buf, "served_init=", &init, NULL);
	r->trust.served_init = init;
	trust_field(buf, "served_mnt_id=", &mnt_id, NULL);
	r->trust.served_mnt_id = mnt_id;
	if (r->trust.pod_user.ino)
		log_debug("trust record: this pod's user namespace is %llu", r->trust.pod_user.ino);
}

void run_save_trust(struct peer_run *r)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf),
			 "user=%llu:%llu\nserved_mnt=%llu:%llu\nserved_init=%llu\nserved_mnt_id=%llu\n",
			 r->trust.pod_user.dev, r->trust.pod_user.ino, r->trust.served_mnt.dev, r->trust.served_mnt.ino,
			 (unsigned long long)r->trust.served_init, (unsigned long long)r->trust.served_mnt_id);

	if (dirfile_write(r->run_dir, TRUST_FILE, buf, (size_t)n, 0600, 0) < 0)
		log_warn("%s", fail_reason());
}

/* The notify socket's directory is shown to the OS: it must be neither the
 * handoff socket's directory nor the run-dir. */
static int check_notify_dir(struct peer_run *r)
{
	struct stat n, s, d;

	if (fstat(r->notify.dirfd, &n) < 0 || fstat(r->sock_dir, &s) < 0 || fstat(r->run_dir, &d) < 0)
		return fail_errno("stat the notify socket's directory");
	if ((n.st_dev == s.st_dev && n.st_ino == s.st_ino) || (n.st_dev == d.st_dev && n.st_ino == d.st_ino))
		return fail("notify: %s is shown to the OS, so it must be a directory of its own (not the handoff "
			    "socket's, not run-dir)",
			    r->notify.dir);
	return 0;
}

static int watch_socket_dir(struct peer_run *r)
{
	char dir[64];

	r->sock_dir = path_open_parent(r->cfg->socket, r->sock_name, sizeof(r->sock_name));
	if (r->sock_dir < 0)
		return fail_errno("open the directory of the handoff socket %s", r->cfg->socket);
	r->sock_watch = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (r->sock_watch < 0)
		return fail_errno("inotify_init1");
	/* The fd's own path, so the watch is on the directory opened above. */
	snprintf(dir, sizeof(dir), "/proc/self/fd/%d", r->sock_dir);
	if (inotify_add_watch(r->sock_watch, dir, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR) < 0)
		return fail_errno("watch the directory of %s (inotify)", r->cfg->socket);
	return 0;
}

int run_open(struct peer_run *r, const struct peer_config *c)
{
	memset(r, 0, sizeof(*r));
	r->cfg = c;
	r->sigfd = r->procfd = r->state_dir = r->sock_dir = r->sock_watch = r->run_dir = -1;
	r->notify.fd = r->notify.dirfd = -1;
	r->init = (struct served){ .pidfd = -1, .rootfd = -1, .pvfd = -1 };
	r->st_flush = DEADLINE_NONE;
	r->sync_pidfd = -1;
	r->rec = (struct recorder){ .sock = -1, .pidfd = -1, .deadline = DEADLINE_NONE };
	if ((r->sigfd = signals_open()) < 0)
		return fail_errno("signalfd");
	r->procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->procfd < 0)
		return fail_errno("open /proc");
	if ((r->run_dir = state_dir_open(c->run_dir)) < 0)
		return -1;
	if (c->state_file)
		r->state_dir = path_open_parent(c->state_file, r->state_name, sizeof(r->state_name));
	else
		r->state_dir = dup(r->run_dir), snprintf(r->state_name, sizeof(r->state_name), "state");
	if (r->state_dir < 0)
		return fail_errno("open the directory of the state file %s", c->state_file);
	/* The boot count goes on across restarts of the peer. */
	if (state_load(r->state_dir, r->state_name, &r->st) < 0)
		memset(&r->st, 0, sizeof(r->st));
	trust_load(r, r->run_dir);
	if (watch_socket_dir(r) < 0)
		return -1;
	if (c->notify && (notify_open(&r->notify, c->notify) < 0 || check_notify_dir(r) < 0))
		return -1;
	return 0;
}

/* What the OS wrote must reach the disk once it stopped, before the node
 * may lose power or the volume move, but syncfs() can take long on a busy
 * node and cannot be interrupted: a child does it, the peer goes on
 * serving (readiness already says "stopped") and reaps it later. */
static void sync_start(struct peer_run *r, int pvfd)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(syncfs(pvfd) == 0 ? 0 : errno);
	if (pid < 0) {
		log_warn("fork to sync the persistent volume: %s", strerror(errno));
		return;
	}
	r->sync_pid = pid;
	r->sync_start = clock_ms();
	r->sync_pidfd = sys_pidfd_open(pid, 0);
	if (r->sync_pidfd < 0)
		run_sync_done(r); /* no pidfd to watch: wait here */
}

void run_sync_done(struct peer_run *r)
{
	int status = 0;

	if (r->sync_pid <= 0)
		return;
	if (TEMP_FAILURE_RETRY(waitpid(r->sync_pid, &status, 0)) < 0)
		log_warn("wait for the sync of the persistent volume: %s", strerror(errno));
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_info("persistent volume synced (%lld ms)", clock_ms() - r->sync_start);
	else
		log_warn("syncfs of the persistent volume: %s",
			 WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "the sync was killed");
	if (r->sync_pidfd >= 0)
		close(r->sync_pidfd);
	r->sync_pidfd = -1;
	r->sync_pid = 0;
}

void run_forget_init(struct peer_run *r)
{
	recorder_stop(r, r->stop_signal != 0);
	if (r->init.pvfd >= 0) {
		if (r->sync_pid > 0)
			run_sync_done(r);
		sync_start(r, r->init.pvfd);
		close(r->init.pvfd);
	}
	if (r->init.pidfd >= 0)
		close(r->init.pidfd);
	if (r->init.rootfd >= 0)
		close(r->init.rootfd);
	r->init = (struct served){ .pidfd = -1, .rootfd = -1, .pvfd = -1 };
	r->trust.served_alive = false;
	r->trust.served_init = 0;
	r->trust.served_mnt_id = 0;
	memset(&r->trust.served_mnt, 0, sizeof(r->trust.served_mnt));
	run_save_trust(r);
}

/* Before the sidecar stops, the volume is synced again once an OS has
 * booted from it (boots, kept in run-dir): this run may not have seen the
 * OS end (a sidecar restarted while the OS ran holds no pidfd of it), and
 * a syncfs() of a clean file system costs nothing. */
static void sync_at_stop(struct peer_run *r)
{
	const char *pv = r->cfg->state ? r->cfg->state : r->cfg->upper;
	cleanup_fd int fd = pv ? open(pv, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (r->sync_pid > 0 || !r->st.boots)
		return; /* the sync of the OS's end is still running, or no OS ever ran */
	if (fd < 0) {
		if (pv)
			log_warn("sync at stop: open the persistent volume %s: %s", pv, strerror(errno));
		return;
	}
	sync_start(r, fd);
}

void run_close(struct peer_run *r)
{
	int *fds[] = { &r->sigfd, &r->procfd, &r->state_dir, &r->run_dir, &r->sock_dir, &r->sock_watch };

	if (r->init.pvfd >= 0 || r->init.pidfd >= 0)
		run_forget_init(r);
	else if (r->cfg)
		sync_at_stop(r);
	/* A stopping peer gives the sync a moment, not its whole grace. A
	 * syncfs() cannot be interrupted, so the child is left to finish it,
	 * not reaped: as PID 1 of the sidecar's pid namespace the peer's exit
	 * then waits for it in the kernel, so the sidecar still ends only
	 * once the volume is synced. */
	if (r->sync_pidfd >= 0 && run_wait(NULL, r->sync_pidfd, POLLIN, deadline_in(800)) <= 0) {
		log_warn("the sync of the persistent volume is still running after 800 ms: leaving it to finish");
		close(r->sync_pidfd);
		r->sync_pidfd = -1;
		r->sync_pid = 0;
	}
	run_sync_done(r);
	notify_close(&r->notify);
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static void state_write_now(struct peer_run *r)
{
	r->st_flush = DEADLINE_NONE;
	if (state_save(r->state_dir, r->state_name, &r->st) < 0)
		log_warn("state file %s: %s", r->state_name, fail_reason());
}

void run_report(struct peer_run *r, const char *state, bool ready, const char *status)
{
	state_set(&r->st, state, ready, status);
	state_write_now(r);
}

void run_flush(struct peer_run *r)
{
	if (r->st_flush != DEADLINE_NONE && deadline_passed(r->st_flush))
		state_write_now(r);
}

/* Did the OS's init send this? Only its word counts for readiness: any
 * other process of the guest can reach the socket too. Without a pidfd of
 * the init (a restarted peer adopts a running OS) or of the sender (Linux
 * < 6.5), or where pidfds have no identity (Linux < 6.9), the kernel
 * cannot tell, and every sender counts. */
static bool from_init(const struct peer_run *r, int sender)
{
	uint64_t a, b;

	if (r->init.pidfd < 0 || !r->notify.pidfds)
		return true;
	if (sender < 0)
		return false;
	a = pidfd_inode(sender);
	b = pidfd_inode(r->init.pidfd);
	return !a || !b || a == b;
}

static void apply(struct peer_run *r, const struct notify_msg *m)
{
	bool changed = false;

	if (m->has_status && strcmp(r->st.status, m->status) != 0) {
		copy_str(r->st.status, sizeof(r->st.status), m->status);
		log_debug("notify: STATUS=%s", m->status);
		if (r->st_flush == DEADLINE_NONE)
			r->st_flush = deadline_in(STATUS_COALESCE_MS);
	}
	if (m->ready && !r->st.ready && strcmp(r->st.state, "stopping") != 0) {
		log_info("notify: READY=1, the OS reports it has booted");
		snprintf(r->st.state, sizeof(r->st.state), "ready");
		r->st.ready = true;
		changed = true;
	}
	if (m->stopping && strcmp(r->st.state, "stopping") != 0) {
		log_info("notify: STOPPING=1, the OS is shutting down");
		snprintf(r->st.state, sizeof(r->st.state), "stopping");
		r->st.ready = false;
		changed = true;
	}
	if (changed)
		state_write_now(r);
}

void run_serve_notify(struct peer_run *r)
{
	for (int i = 0; i < NOTIFY_BURST && r->notify.fd >= 0; i++) {
		struct notify_msg m;
		size_t size;
		int sender, rc = notify_recv(&r->notify, &m, &sender, &size);

		if (rc == 0)
			return;
		if (rc < 0) {
			log_warn("notify: read: %s", strerror(errno));
			return;
		}
		/* Said once, as for other senders: any process of the guest
		 * can send, and the peer's log must not grow per datagram. */
		if (rc == 2) {
			if (r->notify_oversized++ == 0)
				log_warn("notify: ignoring datagrams of more than %d bytes (the first: %zu)",
					 NOTIFY_MAX, size);
		} else if (!from_init(r, sender)) {
			if (r->notify_ignored++ == 0)
				log_warn("notify: ignoring datagrams from processes other than the OS's init");
		} else {
			apply(r, &m);
		}
		if (sender >= 0)
			close(sender);
	}
}

int run_wait(struct peer_run *r, int fd, short events, msec_t deadline)
{
	for (;;) {
		struct pollfd p[3] = {
			{ r ? r->sigfd : -1, POLLIN, 0 },
			{ r ? r->notify.fd : -1, POLLIN, 0 },
			{ fd, events, 0 },
		};
		msec_t until = r ? deadline_min(deadline, r->st_flush) : deadline;
		int n = poll(p, 3, deadline_poll_ms(until));

		if (n < 0 && errno != EINTR)
			return fail_errno("poll");
		if (n > 0 && p[0].revents) {
			struct signalfd_siginfo si;

			if (read(r->sigfd, &si, sizeof(si)) == sizeof(si)) {
				r->stop_signal = (int)si.ssi_signo;
				return -1;
			}
		}
		if (n > 0 && p[1].revents)
			run_serve_notify(r);
		if (r)
			run_flush(r);
		if (n > 0 && fd >= 0 && p[2].revents)
			return 1;
		if (deadline_passed(deadline))
			return 0;
	}
}
