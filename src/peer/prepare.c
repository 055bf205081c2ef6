/* prepare, end to end: connect to the init, check its HELLO, get the
 * persistent volume and the lower layers ready in the peer's own mount
 * namespace, run the steps inside the container in a forked worker
 * (target.c) under a deadline, then READY or ABORT; with then=wait hand
 * over to serve.c. Every wait has a deadline and gives way to SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stint/fdpass.h"
#include "stint/exitcode.h"
#include "stint/log.h"
#include "peer_config.h"
#include "stint/syscalls.h"
#include "stint/config.h"
#include "stint/util.h"
#include "err.h"
#include "handoff.h"
#include "peer.h"
#include "prepare.h"
#include "record.h"
#include "recorder.h"
#include "target.h"

static void job_close(struct job *j)
{
	pv_close(&j->pv);
	for (int i = 0; i < j->nlower; i++)
		close(j->lower_fd[i]);
	j->nlower = 0;
	if (j->notify_fd >= 0)
		close(j->notify_fd);
	j->notify_fd = -1;
}

/* The notify socket's directory, cloned read-only for the new root: the
 * OS may send to the socket but plant nothing beside it. */
static int clone_notify_dir(const struct notify *n)
{
	struct stint_mount_attr attr = { .attr_set = STINT_MOUNT_ATTR_RDONLY | STINT_MOUNT_ATTR_NOSUID |
						     STINT_MOUNT_ATTR_NODEV | STINT_MOUNT_ATTR_NOEXEC };
	cleanup_fd int fd =
		sys_open_tree(n->dirfd, "", STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);

	if (fd < 0)
		return fail_errno("clone the notify socket's directory %s (open_tree)", n->dir);
	if (sys_mount_setattr(fd, "", AT_EMPTY_PATH, &attr) < 0)
		return fail_errno("make the clone of %s read-only", n->dir);
	return steal_fd(&fd);
}

/* Everything that must be opened in the peer's own mount namespace.
 * userns: the init is in a user namespace other than ours. trusted.*
 * xattrs are off limits outside the initial user namespace: the overlay
 * needs userxattr then, and also when this peer shares the init's user
 * namespace in a user-namespaced pod (hostUsers: false). */
static int job_open(struct job *j, struct peer_run *r, bool userns)
{
	const struct peer_config *c = j->cfg;
	int initial = userns ? 0 : ns_user_is_initial(j->procfd);

	if (initial < 0 || pv_prepare(c, !initial, &j->pv) < 0 || chain_of(j->pv.base_path, &j->pv_chain) < 0)
		return -1;
	for (size_t i = 0; i < c->lower.n; i++) {
		if (i >= ARRAY_SIZE(j->lower_fd))
			return fail("lower: more than %zu layers", ARRAY_SIZE(j->lower_fd));
		j->lower_fd[i] =
			sys_open_tree(AT_FDCWD, c->lower.v[i], STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC);
		if (j->lower_fd[i] < 0)
			return fail_errno("clone the lower layer %s (open_tree)", c->lower.v[i]);
		j->nlower++;
	}
	if (r->notify.fd >= 0 && (j->notify_fd = clone_notify_dir(&r->notify)) < 0)
		return -1;
	{
		char dir[64];

		snprintf(dir, sizeof(dir), "/proc/self/fd/%d", r->sock_dir);
		j->have_sock_chain = chain_of(dir, &j->sock_chain) == 0;
	}
	return 0;
}

/* Close every fd but those in keep (sorted, ascending; -1s ignored). */
static void close_all_but(const int *keep, size_t n)
{
	unsigned from = 0;

	for (size_t i = 0; i <= n; i++) {
		unsigned to = i < n ? (unsigned)keep[i] : ~0U;

		if (i < n && keep[i] < 0)
			continue;
		if (to > from && sys_close_range(from, to - 1, 0) < 0)
			log_debug("image: close_range %u-%u: %s", from, to - 1, strerror(errno));
		if (i < n)
			from = to + 1;
	}
}

static int by_fd(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* In the worker, once the steps succeeded with the image record left for
 * later: it lives on beside the running OS, so it first lets go of all it
 * inherited from the peer (the notify and control sockets, the handoff),
 * keeps no core, and dies with the peer. The peer sends 'G' once the OS
 * has booted (recorder.h) or kills it; the wait has a deadline of its own
 * in case both fail. Then the record runs at SCHED_IDLE. */
static void record_after_ack(struct job *j, int sock, pid_t peer)
{
	int keep[] = { 0, 1, 2, sock, j->image.lowerfd, j->image.upperfd, j->image.pvfd, j->image.procfd };
	long wait_ms = j->cfg->timeout_ms + j->cfg->prepare_timeout_ms + 5000;
	struct pollfd p = { .fd = sock, .events = POLLIN };
	char go = 0;

	/* PDEATHSIG set here: entering a user namespace in the steps
	 * cleared any earlier setting. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != peer || prctl(PR_SET_DUMPABLE, 0) < 0)
		return;
	qsort(keep, ARRAY_SIZE(keep), sizeof(keep[0]), by_fd);
	close_all_but(keep, ARRAY_SIZE(keep));
	if (TEMP_FAILURE_RETRY(poll(&p, 1, (int)wait_ms)) <= 0 || read(sock, &go, 1) != 1 || go != 'G')
		return;
	if (sys_sched_setscheduler(0, SCHED_IDLE, &(struct sched_param){ 0 }) < 0)
		log_debug("image: sched_setscheduler SCHED_IDLE: %s", strerror(errno));
	target_record_image(j);
}

/* In the worker: run the target steps, then report "VERDICT LATER REASON"
 * (LATER: 'R' when the image record waits for the ACK, else '-') and, on
 * success, an O_PATH fd of the new root. */
static void worker_main(struct job *j, int sock, pid_t peer) __attribute__((noreturn));
static void worker_main(struct job *j, int sock, pid_t peer)
{
	char msg[1100];
	int r = target_prepare(j), fd = -1;
	bool later = r != TARGET_FAILED && j->image_later;

	snprintf(msg, sizeof(msg), "%d%c %s", r, later ? 'R' : '-', r == TARGET_FAILED ? fail_reason() : "");
	if (r != TARGET_FAILED)
		fd = open(r == TARGET_PIVOTED ? "/" : j->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (stint_send(sock, msg, strlen(msg) + 1, &fd, fd >= 0 ? 1 : 0) == 0 && later) {
		if (fd >= 0)
			close(fd);
		record_after_ack(j, sock, peer);
	}
	_exit(0);
}

/* In the peer: the worker's verdict (TARGET_FAILED if it said nothing);
 * *later: it waits to record the image. */
static int read_verdict(int sock, int *rootfd, bool *later)
{
	char msg[1100] = "", *reason;
	struct stint_recv rv = { .fds = rootfd, .room = 1 };
	ssize_t n = stint_recv_raw(sock, msg, sizeof(msg) - 1, &rv);
	int rc;

	if (n <= 0 || rv.truncated)
		return fail("the prepare worker ended without a verdict"), TARGET_FAILED;
	msg[n] = '\0';
	rc = n >= 3 && msg[0] >= '0' && msg[0] <= '2' && (msg[1] == 'R' || msg[1] == '-') && msg[2] == ' ' ?
		     msg[0] - '0' :
		     TARGET_FAILED;
	*later = rc != TARGET_FAILED && msg[1] == 'R';
	reason = strchr(msg, ' ');
	if (rc == TARGET_FAILED)
		fail("%s", reason && reason[1] ? reason + 1 : "the prepare worker gave no reason");
	return rc;
}

/* Fork the worker and wait for its verdict within prepare-timeout; past it
 * (or on SIGTERM) the worker is killed: a killed run's mounts are cleared
 * by the next one (target.c, step 1). A worker that succeeded and records
 * the image later is kept waiting (recorder_keep). */
static int run_worker(struct peer_run *r, struct job *j, int *rootfd)
{
	msec_t deadline = deadline_in(r->cfg->prepare_timeout_ms);
	int sv[2], status, rc, w;
	bool later = false;
	pid_t pid, peer;

	*rootfd = -1;
	/* The worker's own steps (the image walk) end a little before it is
	 * killed, so that it can still say why. */
	j->deadline = deadline_in(r->cfg->prepare_timeout_ms > 2000 ? r->cfg->prepare_timeout_ms - 1000 :
								      r->cfg->prepare_timeout_ms);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return fail_errno("socketpair"), TARGET_FAILED;
	peer = getpid();
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return fail_errno("fork"), TARGET_FAILED;
	}
	if (pid == 0) {
		close(sv[0]);
		worker_main(j, sv[1], peer);
	}
	close(sv[1]);
	w = run_wait(r, sv[0], POLLIN, deadline);
	if (w > 0) {
		rc = read_verdict(sv[0], rootfd, &later);
	} else {
		kill(pid, SIGKILL);
		rc = TARGET_FAILED;
		if (w == 0)
			fail("the steps in the container did not finish within prepare-timeout (%ld ms): the worker was "
			     "killed",
			     r->cfg->prepare_timeout_ms);
		else if (r->stop_signal)
			fail("stint-peer is stopping (signal %d)", r->stop_signal);
	}
	if (later) {
		recorder_keep(r, pid, sv[0]);
		return rc;
	}
	close(sv[0]);
	TEMP_FAILURE_RETRY(waitpid(pid, &status, 0));
	if (rc != TARGET_FAILED && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		rc = TARGET_FAILED;
		fail("the prepare worker died (status %#x)", status);
	}
	if (rc == TARGET_FAILED && *rootfd >= 0) {
		close(*rootfd);
		*rootfd = -1;
	}
	return rc;
}

static void undo_in_child(struct job *j)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(target_undo(j) == 0 ? 0 : 1);
	if (pid > 0)
		TEMP_FAILURE_RETRY(waitpid(pid, NULL, 0));
}

/* Keep what serve.c needs of the init just switched. */
static void adopt_init(struct peer_run *r, struct handoff *h, const struct hello_ids *ids, int rootfd)
{
	r->init.pidfd = steal_fd(&h->fd[STINT_FD_PIDFD]);
	r->init.rootfd = rootfd;
	r->init.pid = h->pid;
	r->trust.served_mnt = ids->mnt;
	r->trust.served_mnt_id = ids->mnt_id;
	r->trust.served_init = ids->init;
	r->trust.served_alive = true;
	snprintf(r->st.init, sizeof(r->st.init), "pid %u, mnt:[%llu]", h->pid, ids->mnt.ino);
	run_save_trust(r);
}

/* The pod's boot count lives on its volume, so it survives the pod. */
static void count_boot(struct peer_run *r, int pvfd)
{
	cleanup_fd int meta = pvfd >= 0 ? record_dir_open(pvfd) : -1;
	unsigned n = meta >= 0 ? record_boot(meta) : 0;

	if (!n) {
		log_warn("boot count: %s", pvfd < 0 ? "cannot open the persistent volume" : fail_reason());
		r->st.boots++;
		return;
	}
	r->st.boots = n;
	log_info("boot %u of this pod", n);
}

static int fail_handoff(struct peer_run *r, struct handoff *h, struct job *j, const char *what)
{
	log_error("%s: %s", what, fail_reason());
	if (handoff_abort(h->sock, fail_reason()) < 0)
		log_warn("%s", fail_reason());
	run_report(r, "failed", false, fail_reason());
	job_close(j);
	handoff_close(h);
	return r->stop_signal ? PREPARE_STOPPED : PREPARE_FAILED;
}

static int pin_user(struct peer_run *r, const struct hello_ids *ids)
{
	if (r->trust.pod_user.ino)
		return 0;
	r->trust.pod_user = ids->user;
	log_info("this pod's inits run in user namespace %llu (pinned: a HELLO with another one is refused)",
		 ids->user.ino);
	return 0;
}

int prepare_once(struct peer_run *r)
{
	const struct peer_config *c = r->cfg;
	struct handoff h;
	struct hello_ids ids;
	struct job j = { .cfg = c, .h = &h, .procfd = r->procfd, .notify_fd = -1, .pv = { .base = -1 } };
	int rc, result, rootfd = -1, pvfd;
	long t;

	fail_clear();
	rc = handoff_connect(&h, c->socket, r, deadline_in(c->handshake_timeout_ms));
	if (rc == HANDOFF_NO_SOCKET)
		return PREPARE_NO_SOCKET;
	if (rc == HANDOFF_STOPPED)
		return PREPARE_STOPPED;
	if (rc != HANDOFF_OK) {
		log_error("handoff: %s", fail_reason());
		return PREPARE_FAILED;
	}
	if (hello_verify(&h, r->procfd, &r->trust, &ids) < 0)
		return fail_handoff(r, &h, &j, "refusing this init");
	pin_user(r, &ids);
	j.root = c->root ? c->root : h.root;
	log_info("connected to the init (pid %u in its namespace); new root %s, mode %s", h.pid, j.root,
		 c->mode == PEER_MODE_PIVOT ? "pivot" : "chroot");
	run_report(r, "preparing", false, NULL);
	if (job_open(&j, r, ids.userns) < 0)
		return fail_handoff(r, &h, &j, "prepare failed");
	result = run_worker(r, &j, &rootfd);
	if (result == TARGET_FAILED)
		return fail_handoff(r, &h, &j, "prepare failed");
	t = log_elapsed_ms();
	rc = handoff_ready(h.sock, result == TARGET_PIVOTED ? STINT_READY_PIVOTED : STINT_READY_CHROOT,
			   result == TARGET_PIVOTED ? "" : j.root, r, deadline_in(c->timeout_ms));
	if (rc != HANDOFF_OK) {
		recorder_stop(r, true); /* no boot, no record */
		if (result == TARGET_READY)
			undo_in_child(&j);
		if (rootfd >= 0)
			close(rootfd);
		log_error("switch: %s", rc == HANDOFF_STOPPED ? "stopped while waiting for the ACK" : fail_reason());
		run_report(r, "failed", false, rc == HANDOFF_STOPPED ? "stopped" : fail_reason());
		job_close(&j);
		handoff_close(&h);
		return rc == HANDOFF_STOPPED ? PREPARE_STOPPED : PREPARE_FAILED;
	}
	log_info("step 6/7 switch: READY (%s) acknowledged by the init (%ld ms)",
		 result == TARGET_PIVOTED ? "pivoted" : j.root, log_elapsed_ms() - t);
	pvfd = open(j.pv.base_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	adopt_init(r, &h, &ids, rootfd);
	r->init.pvfd = pvfd;
	count_boot(r, pvfd);
	recorder_hold(r); /* the record goes once the OS is ready (recorder.h) */
	/* Without a notify socket or a ready-path, the switch is the best
	 * readiness there is. */
	run_report(r, c->notify || c->ready_path ? "booting" : "ready", !(c->notify || c->ready_path), NULL);
	job_close(&j);
	handoff_close(&h);
	return PREPARE_OK;
}

/* then=exit with wait-socket: wait (inotify, no polling) for the socket. */
static int prepare_when_there(struct peer_run *r)
{
	msec_t deadline = deadline_in(r->cfg->wait_socket_ms);
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		int rc = prepare_once(r);

		if (rc != PREPARE_NO_SOCKET || deadline_passed(deadline))
			return rc;
		rc = run_wait(r, r->sock_watch, POLLIN, deadline);
		if (rc < 0)
			return PREPARE_STOPPED;
		while (read(r->sock_watch, buf, sizeof(buf)) > 0)
			;
	}
}

int peer_prepare(const struct peer_config *c)
{
	struct peer_run r;
	int rc = EXIT_SETUP;

	if ((c->notify || c->ready_path) && c->then == PEER_THEN_EXIT)
		log_warn("then=exit: nobody will watch %s after the switch, so readiness stays 'booting'",
			 c->notify ? "the notify socket" : "ready-path");
	if (run_open(&r, c) < 0) {
		log_error("prepare failed: %s", fail_reason());
		run_close(&r);
		return EXIT_SETUP;
	}
	if (c->then == PEER_THEN_WAIT) {
		r.sock_new = true; /* the init may be there already */
		rc = peer_serve(&r);
	} else {
		switch (prepare_when_there(&r)) {
		case PREPARE_OK:
			recorder_wait(&r);
			log_info("step 7/7 then: exit");
			rc = EXIT_OK;
			break;
		case PREPARE_NO_SOCKET:
			log_info("no init listens on %s: it has already switched root (or has not started yet); "
				 "nothing to prepare",
				 c->socket);
			rc = EXIT_OK;
			break;
		case PREPARE_STOPPED:
			rc = EXIT_SIGNAL_BASE + r.stop_signal;
			break;
		default:
			rc = EXIT_SETUP;
		}
	}
	run_close(&r);
	return rc;
}
