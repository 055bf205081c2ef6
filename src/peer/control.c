/* The control socket, both sides (docs/control.md). The server runs inside
 * the then=wait loop of `stint-peer prepare` and must never hold it up:
 * everything is non-blocking, a reply is one small datagram on an empty
 * socket buffer, and a client gets CONTROL_REQUEST_MS to ask. Who may
 * connect: processes of the peer's own uid inside the sidecar — the socket
 * lives in run-dir, which only the sidecar mounts, is born 0600, and every
 * connection's SO_PEERCRED uid is checked. They could take these fds from
 * the peer anyway (same uid, same container, ptrace); the socket only
 * saves them the trouble. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "stint/config.h"
#include "stint/exitcode.h"
#include "stint/fdpass.h"
#include "stint/log.h"
#include "peer_config.h"
#include "stint/util.h"
#include "control.h"
#include "err.h"
#include "prepare.h"

#define CONTROL_CLIENT_MS 10000 /* the client's wait for an answer */
#define DROPPED "the peer dropped the connection on %s (busy with other requests?); try again"

static void conn_drop(struct control_conn *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

/* bind(2) takes a path: reach run-dir through our fd of it, so the socket
 * lands in the directory opened at start whatever happens to the path.
 * Born 0600 under a umask (the peer is single-threaded): no window in
 * which another uid could connect. */
static int bind_in(int dirfd, int sock, const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	mode_t old;
	int rc, saved;

	snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/%s", dirfd, name);
	old = umask(0177);
	rc = bind(sock, (struct sockaddr *)&a, sizeof(a));
	saved = errno;
	umask(old);
	errno = saved;
	return rc;
}

/* The name appears only once the socket listens: bound under a temporary
 * name, then renamed over whatever a previous peer left. */
void control_open(struct control *c, struct peer_run *r)
{
	char tmp[64];

	c->fd = -1;
	for (size_t i = 0; i < CONTROL_CONNS; i++)
		c->conn[i].fd = -1;
	if (r->run_dir < 0)
		return;
	snprintf(tmp, sizeof(tmp), ".control.%d.tmp", (int)getpid());
	unlinkat(r->run_dir, tmp, 0);
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0 || bind_in(r->run_dir, c->fd, tmp) < 0 || listen(c->fd, CONTROL_CONNS) < 0 ||
	    renameat(r->run_dir, tmp, r->run_dir, CONTROL_SOCKET) < 0) {
		log_warn("control socket %s/%s: %s; stint-peer enter and attach will not work", r->cfg->run_dir,
			 CONTROL_SOCKET, strerror(errno));
		unlinkat(r->run_dir, tmp, 0);
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return;
	}
	log_debug("control socket %s/%s: serving stint-peer enter and attach", r->cfg->run_dir, CONTROL_SOCKET);
}

void control_close(struct control *c, struct peer_run *r)
{
	for (size_t i = 0; i < CONTROL_CONNS; i++)
		conn_drop(&c->conn[i]);
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	if (r->run_dir >= 0)
		unlinkat(r->run_dir, CONTROL_SOCKET, 0);
}

void control_pollfds(const struct control *c, struct pollfd *p)
{
	p[0] = (struct pollfd){ c->fd, POLLIN, 0 };
	for (size_t i = 0; i < CONTROL_CONNS; i++)
		p[1 + i] = (struct pollfd){ c->conn[i].fd, POLLIN, 0 };
}

msec_t control_deadline(const struct control *c)
{
	msec_t d = DEADLINE_NONE;

	for (size_t i = 0; i < CONTROL_CONNS; i++) {
		if (c->conn[i].fd >= 0)
			d = deadline_min(d, c->conn[i].deadline);
	}
	return d;
}

/* A refusal: one line, best effort (the socket buffer of a fresh
 * connection always has room for it). */
static void refuse(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(int fd, const char *fmt, ...)
{
	char msg[CONTROL_MSG_MAX];
	va_list ap;
	int n = snprintf(msg, sizeof(msg), "error ");

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (stint_send(fd, msg, strlen(msg), NULL, 0) < 0)
		log_debug("control: send the refusal: %s", strerror(errno));
}

/* Why there is nothing to hand over, in the words of the one asking. */
static void refuse_no_init(int fd, const struct peer_run *r)
{
	if (r->st.boots == 0)
		refuse(fd, "no OS booted yet (the peer is %s)", r->st.state[0] ? r->st.state : "waiting");
	else if (r->trust.served_init)
		refuse(fd,
		       "this peer holds no handle on the running OS (boot %u): the sidecar restarted after that boot; "
		       "enter and attach work again once the OS container restarts",
		       r->st.boots);
	else
		refuse(fd, "the OS is not running: the init of boot %u exited (the peer is %s)", r->st.boots,
		       r->st.state[0] ? r->st.state : "waiting");
}

static void answer(struct control_conn *k, const struct peer_run *r)
{
	char req[64], msg[CONTROL_MSG_MAX];
	struct stint_recv rv = { .fds = NULL, .room = 0 };
	struct pollfd p = { .fd = r->init.pidfd, .events = POLLIN };
	ssize_t n = stint_recv_raw(k->fd, req, sizeof(req) - 1, &rv);
	int fds[2] = { r->init.pidfd, r->init.rootfd };

	if (n <= 0 || rv.truncated || rv.nfds) {
		if (n < 0 && errno == EAGAIN)
			return; /* not yet */
		log_debug("control: pid %d sent %s", (int)k->pid, n <= 0 ? "nothing" : "a request it may not");
		refuse(k->fd, "bad request (this peer speaks '%s')", CONTROL_REQUEST);
		conn_drop(k);
		return;
	}
	req[n] = '\0';
	if (k->uid != geteuid()) {
		log_warn("control: refused pid %d: uid %u is not the peer's (%u)", (int)k->pid, k->uid, geteuid());
		refuse(k->fd, "not allowed: uid %u is not the peer's uid %u", k->uid, geteuid());
	} else if (strcmp(req, CONTROL_REQUEST) != 0) {
		refuse(k->fd, "unknown request '%.40s' (this peer speaks '%s')", req, CONTROL_REQUEST);
	} else if (r->init.pidfd < 0 || r->init.rootfd < 0) {
		refuse_no_init(k->fd, r);
	} else if (poll(&p, 1, 0) > 0) {
		refuse(k->fd, "the OS has just stopped: the init of boot %u exited", r->st.boots);
	} else {
		snprintf(msg, sizeof(msg), "ok pid=%u boot=%u", r->init.pid, r->st.boots);
		if (stint_send(k->fd, msg, strlen(msg), fds, 2) < 0)
			log_warn("control: hand the init's fds to pid %d: %s", (int)k->pid, strerror(errno));
		else
			log_info("control: handed the init of boot %u to pid %d (stint-peer enter/attach)", r->st.boots,
				 (int)k->pid);
	}
	conn_drop(k);
}

static void accept_one(struct control *c, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct control_conn *k = NULL;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("control: SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return;
	}
	/* Any refusal comes as the answer to the request, once that is read:
	 * a unix socket closed with unread data makes the client's next read
	 * fail with ECONNRESET instead of showing the refusal. */
	for (size_t i = 0; i < CONTROL_CONNS && !k; i++) {
		if (c->conn[i].fd < 0)
			k = &c->conn[i];
	}
	if (!k) {
		log_warn("control: pid %d dropped: %d other requests are waiting", (int)cred.pid, CONTROL_CONNS);
		close(fd);
		return;
	}
	*k = (struct control_conn){
		.fd = fd, .deadline = deadline_in(CONTROL_REQUEST_MS), .pid = cred.pid, .uid = cred.uid
	};
}

void control_serve(struct control *c, struct peer_run *r, const struct pollfd *p)
{
	int fd;

	if (c->fd < 0)
		return;
	for (size_t i = 0; i < CONTROL_CONNS; i++) {
		struct control_conn *k = &c->conn[i];

		if (k->fd >= 0 && p[1 + i].fd == k->fd && p[1 + i].revents)
			answer(k, r);
		if (k->fd >= 0 && deadline_passed(k->deadline)) {
			log_debug("control: pid %d asked nothing within %d ms: dropped", (int)k->pid,
				  CONTROL_REQUEST_MS);
			conn_drop(k);
		}
	}
	if (!p[0].revents)
		return;
	while ((fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0)
		accept_one(c, fd);
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED && errno != EINTR)
		log_warn("control: accept: %s", strerror(errno));
}

/* ---- the client ---- */

void control_reply_close(struct control_reply *r)
{
	if (r->pidfd >= 0)
		close(r->pidfd);
	if (r->rootfd >= 0)
		close(r->rootfd);
	r->pidfd = r->rootfd = -1;
}

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	cleanup_fd int fd = -1;

	if (strlen(path) >= sizeof(a.sun_path))
		return fail("control socket path %s is longer than a unix socket address allows", path);
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fail_errno("socket(AF_UNIX, SOCK_SEQPACKET)");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return steal_fd(&fd);
	if (errno == ENOENT || errno == ENOTDIR)
		return fail("not in the sidecar: no control socket %s (run this in the stint-peer container, "
			    "beside its running `stint-peer prepare`, or give its --run-dir)",
			    path);
	if (errno == ECONNREFUSED)
		return fail("no peer serves %s (connection refused): `stint-peer prepare` is not running here", path);
	if (errno == EAGAIN)
		return fail("the peer's control socket %s is busy; try again", path);
	if (errno == EACCES || errno == EPERM)
		return fail_errno("not allowed to connect to %s (only the peer's uid may)", path);
	return fail_errno("connect to %s", path);
}

/* "ok pid=PID boot=N" with two fds, or "error REASON". */
static int parse_reply(const char *msg, size_t nfds, struct control_reply *out)
{
	unsigned long pid = 0, boot = 0;
	const char *p = strncmp(msg, "ok pid=", 7) == 0 ? parse_decimal(msg + 7, 0xffffffffUL, &pid) : NULL;

	if (strncmp(msg, "error ", 6) == 0)
		return fail("%s", msg + 6);
	if (p && strncmp(p, " boot=", 6) == 0)
		p = parse_decimal(p + 6, 0xffffffffUL, &boot);
	else
		p = NULL;
	if (!p || *p || nfds != 2)
		return fail("the peer's answer '%.80s' (%zu fds) is not one this version understands", msg, nfds);
	out->pid = (unsigned)pid;
	out->boot = (unsigned)boot;
	return 0;
}

int control_fetch(const char *run_dir, struct control_reply *out)
{
	char path[PATH_MAX], msg[CONTROL_MSG_MAX + 1];
	int fds[2] = { -1, -1 };
	struct stint_recv rv = { .fds = fds, .room = 2 };
	cleanup_fd int fd = -1;
	struct pollfd p;
	ssize_t n;

	*out = (struct control_reply){ .pidfd = -1, .rootfd = -1 };
	snprintf(path, sizeof(path), "%s/%s", run_dir, CONTROL_SOCKET);
	if ((fd = connect_to(path)) < 0)
		return -1;
	if (stint_send(fd, CONTROL_REQUEST, strlen(CONTROL_REQUEST), NULL, 0) < 0)
		return errno == EPIPE || errno == ECONNRESET ? fail(DROPPED, path) :
							       fail_errno("send the request to %s", path);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	n = TEMP_FAILURE_RETRY(poll(&p, 1, CONTROL_CLIENT_MS));
	if (n == 0)
		return fail("no answer from the peer on %s within %d s (it answers between two prepares: is it "
			    "preparing the OS right now?)",
			    path, CONTROL_CLIENT_MS / 1000);
	n = n < 0 ? -1 : stint_recv_raw(fd, msg, sizeof(msg) - 1, &rv);
	if (n < 0)
		return errno == ECONNRESET ? fail(DROPPED, path) : fail_errno("read the answer on %s", path);
	if (n == 0)
		return fail("the peer closed %s without an answer", path);
	msg[n < (ssize_t)sizeof(msg) ? n : (ssize_t)sizeof(msg) - 1] = '\0';
	out->pidfd = rv.nfds > 0 ? fds[0] : -1;
	out->rootfd = rv.nfds > 1 ? fds[1] : -1;
	if (parse_reply(msg, rv.nfds, out) < 0) {
		control_reply_close(out);
		return -1;
	}
#ifdef STINT_TEST_HOOKS
	/* Tests: hold the fds until the init they name has exited (or 30 s),
	 * to see the check below catch a stale pidfd. */
	if (getenv("STINT_PEER_TEST_HOLD")) {
		p = (struct pollfd){ .fd = out->pidfd, .events = POLLIN };
		log_info("test hook: holding the init of boot %u until it exits", out->boot);
		poll(&p, 1, 30000);
	}
#endif
	/* The init may have exited since the peer answered: its pidfd is
	 * readable then, and everything it names is of a gone boot. */
	p = (struct pollfd){ .fd = out->pidfd, .events = POLLIN };
	if (poll(&p, 1, 0) > 0) {
		control_reply_close(out);
		return fail("the OS has restarted since the peer handed over the init of boot %u (stale pidfd: "
			    "that init has exited); try again",
			    out->boot);
	}
	return 0;
}

int control_options(const struct cfg_program *p, struct session_opts *o, int argc, char **argv, int *first,
		    char *run_dir, size_t len)
{
	char *status_argv[] = { (char *)"status", (char *)"-c", NULL, NULL };
	struct peer_config c;
	struct cfg_args a;
	char err[1024];
	int rc, ignored;

	if (cfg_load_argv(p, o, argc, argv, &a, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	if (a.action == CFG_DO_HELP) {
		cfg_help(p, STDOUT_FILENO, 0);
		return EXIT_OK;
	}
	*first = a.first;
	if (o->run_dir) {
		copy_str(run_dir, len, o->run_dir);
		return -1;
	}
	/* The run-dir `prepare` uses: read as `status` reads it. */
	status_argv[2] = (char *)o->config;
	rc = peer_config_load(&peer_status_program, &c, o->config ? 3 : 1, status_argv, &ignored);
	if (rc >= 0)
		return rc;
	copy_str(run_dir, len, c.run_dir);
	return -1;
}
