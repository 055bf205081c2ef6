/* The handoff server: one poll loop over the signalfd, the listening socket,
 * the connected peer, the ready eventfd, the ready-file's inotify watch and
 * the deadline. It ends with a root to enter, a pivot already done, a
 * failure, or a stop signal; in every case the socket is unlinked and no
 * handoff fd outlives it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "init.h"
#include "stint/deadline.h"
#include "stint/fdpass.h"
#include "stint/log.h"
#include "stint/path.h"
#include "stint/util.h"

struct server {
	const struct config *cfg;
	int sigfd;
	int listen_fd, peer_fd;
	int sock_dir_fd; /* O_PATH: unlink the socket even after the root changed */
	char sock_name[NAME_MAX + 1];
	bool bound;
	int ino_fd, ready_dir_fd;
	char ready_name[NAME_MAX + 1];
	struct handfds fds;
	struct stat root_before; /* "/" at start: a pivot changes it */
	msec_t deadline; /* the whole wait (--timeout), or DEADLINE_NONE */
	msec_t peer_deadline; /* the connected peer's (--peer-timeout) */
	struct handoff_outcome *out;
};

/* Clear the socket's name: a socket left by an earlier run of this
 * container, or anything else found there (the directory is the pod's
 * own, so whatever is in the way is junk: refusing would make every
 * restart fail the same way). A directory is moved aside, not emptied. */
static int clear_socket_name(struct server *s)
{
	char aside[NAME_MAX + 1];
	struct stat st;

	if (fstatat(s->sock_dir_fd, s->sock_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : (log_error("stat %s: %s", s->cfg->socket, strerror(errno)), -1);
	if (S_ISSOCK(st.st_mode))
		log_debug("removing stale socket %s", s->cfg->socket);
	else
		log_warn("%s exists and is not a socket: removing it", s->cfg->socket);
	if (unlinkat(s->sock_dir_fd, s->sock_name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) == 0)
		return 0;
	if (S_ISDIR(st.st_mode) && (errno == ENOTEMPTY || errno == EEXIST)) {
		snprintf(aside, sizeof(aside), "%.200s.stale-%ld", s->sock_name, (long)clock_ms());
		if (renameat(s->sock_dir_fd, s->sock_name, s->sock_dir_fd, aside) == 0) {
			log_warn("moved the directory in the way to %s", aside);
			return 0;
		}
	}
	log_error("clear %s for the socket: %s", s->cfg->socket, strerror(errno));
	return -1;
}

/* bind(2) takes a path, not a dirfd: bind `name` in the socket's
 * directory with the cwd moved there for the call (stint is
 * single-threaded), born 0600 under a umask: no window for others. */
static int bind_in_dir(struct server *s, const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC), rc = -1, saved;
	mode_t old_umask;

	if (cwd < 0 || fchdir(s->sock_dir_fd) < 0) {
		saved = errno;
		goto out;
	}
	copy_str(addr.sun_path, sizeof(addr.sun_path), name);
	old_umask = umask(0177);
	rc = bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
	saved = errno;
	umask(old_umask);
	if (fchdir(cwd) < 0)
		log_warn("return to the working directory: %s", strerror(errno));
out:
	if (cwd >= 0)
		close(cwd);
	errno = saved;
	return rc;
}

/* The socket appears at its name only once it listens: bound under a
 * temporary name, then renamed. A peer that watches the directory
 * (inotify) and connects at once is never refused by a socket that is
 * bound but not yet listening. */
static int open_listener(struct server *s)
{
	char tmp[NAME_MAX + 1];

	s->sock_dir_fd = path_open_parent(s->cfg->socket, s->sock_name, sizeof(s->sock_name));
	if (s->sock_dir_fd < 0) {
		log_error("directory of %s: %s", s->cfg->socket, strerror(errno));
		return -1;
	}
	if (clear_socket_name(s) < 0)
		return -1;
	s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0) {
		log_error("socket(AF_UNIX, SOCK_SEQPACKET): %s", strerror(errno));
		return -1;
	}
	/* Short enough for sun_path whatever the name's length. */
	snprintf(tmp, sizeof(tmp), ".stint.%d.tmp", (int)getpid());
	unlinkat(s->sock_dir_fd, tmp, 0);
	if (bind_in_dir(s, tmp) < 0) {
		log_error("bind %s: %s", s->cfg->socket, strerror(errno));
		return -1;
	}
	if (listen(s->listen_fd, 8) < 0 || renameat(s->sock_dir_fd, tmp, s->sock_dir_fd, s->sock_name) < 0) {
		log_error("listen on %s: %s", s->cfg->socket, strerror(errno));
		unlinkat(s->sock_dir_fd, tmp, 0);
		return -1;
	}
	s->bound = true;
	return 0;
}

static int watch_ready_file(struct server *s)
{
	const char *path = s->cfg->ready_file;
	char dir[PATH_MAX];

	s->ready_dir_fd = path_open_parent(path, s->ready_name, sizeof(s->ready_name));
	if (s->ready_dir_fd < 0)
		return log_error("directory of %s: %s", path, strerror(errno)), -1;
	/* A ready-file that exists before any peer got our namespaces is left
	 * from an earlier run of this container: it must not count. */
	if (unlinkat(s->ready_dir_fd, s->ready_name, 0) == 0)
		log_warn("removed stale ready-file %s from an earlier run", path);
	else if (errno != ENOENT)
		return log_error("remove stale ready-file %s: %s", path, strerror(errno)), -1;
	s->ino_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (s->ino_fd < 0)
		return log_error("inotify_init1: %s", strerror(errno)), -1;
	snprintf(dir, sizeof(dir), "/proc/self/fd/%d", s->ready_dir_fd);
	if (inotify_add_watch(s->ino_fd, dir, IN_CREATE | IN_MOVED_TO) < 0)
		return log_error("inotify watch on the directory of %s: %s", path, strerror(errno)), -1;
	return 0;
}

static void close_peer(struct server *s)
{
	if (s->peer_fd >= 0)
		close(s->peer_fd);
	s->peer_fd = -1;
	s->peer_deadline = DEADLINE_NONE;
}

static void server_cleanup(struct server *s)
{
	int *fds[] = { &s->listen_fd, &s->sock_dir_fd, &s->ino_fd, &s->ready_dir_fd };

	close_peer(s);
	/* Gone socket = switched init: a late peer finds nothing to talk to. */
	if (s->bound && unlinkat(s->sock_dir_fd, s->sock_name, 0) < 0)
		log_warn("unlink %s: %s", s->cfg->socket, strerror(errno));
	if (s->ready_dir_fd >= 0 && unlinkat(s->ready_dir_fd, s->ready_name, 0) < 0 && errno != ENOENT)
		log_warn("unlink ready-file %s: %s", s->cfg->ready_file, strerror(errno));
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	handfds_close(&s->fds);
}

static bool root_changed(const struct server *s)
{
	struct stat st;

	if (stat("/", &st) < 0) {
		log_warn("stat /: %s", strerror(errno));
		return false;
	}
	return st.st_dev != s->root_before.st_dev || st.st_ino != s->root_before.st_ino;
}

/* Returns 0 if `path` can be entered; else writes why into err. */
static int check_root_dir(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return snprintf(err, errlen, "root %s: %s", path, strerror(errno)), -1;
	if (!S_ISDIR(st.st_mode))
		return snprintf(err, errlen, "root %s is not a directory", path), -1;
	return 0;
}

static void finish(struct server *s, enum handoff_result r, const char *root)
{
	s->out->result = r;
	if (root)
		snprintf(s->out->root, sizeof(s->out->root), "%s", root);
}

/* Ready without a message (eventfd or ready-file): the peer pivoted if our
 * "/" changed, else the default root is prepared. */
static bool ready_signalled(struct server *s, const char *how)
{
	char err[STINT_PATH_MAX + 128];

	if (root_changed(s)) {
		log_info("ready (%s): the peer pivoted this container's root", how);
		finish(s, HANDOFF_PIVOTED, NULL);
		return true;
	}
	if (check_root_dir(s->cfg->root, err, sizeof(err)) < 0) {
		log_error("ready (%s), but %s", how, err);
		finish(s, HANDOFF_FAILED, NULL);
		return true;
	}
	log_info("ready (%s): entering %s", how, s->cfg->root);
	finish(s, HANDOFF_CHROOT, s->cfg->root);
	return true;
}

/* The peer said something we will not act on: tell it why and hang up. */
static void refuse(struct server *s, const char *reason)
{
	log_warn("peer: %s; answered ERROR, waiting for the next peer", reason);
	if (stint_send_text(s->peer_fd, STINT_MSG_ERROR, reason) < 0)
		log_debug("sending ERROR: %s", strerror(errno));
	close_peer(s);
}

static bool handle_ready_msg(struct server *s, const struct stint_ready *r)
{
	char err[STINT_PATH_MAX + 128];
	const char *root = r->path[0] ? r->path : s->cfg->root;

	if (r->mode == STINT_READY_PIVOTED) {
		if (!root_changed(s)) {
			refuse(s, "READY pivoted, but '/' of the init is unchanged: pivot_root was not done in "
				  "its mount namespace");
			return false;
		}
	} else if (check_root_dir(root, err, sizeof(err)) < 0) {
		refuse(s, err);
		return false;
	}
	if (stint_send_ack(s->peer_fd) < 0)
		log_warn("sending ACK: %s (switching anyway: the root is ready)", strerror(errno));
	if (r->mode == STINT_READY_PIVOTED) {
		log_info("ready (message): the peer pivoted this container's root");
		finish(s, HANDOFF_PIVOTED, NULL);
	} else {
		log_info("ready (message): entering %s", root);
		finish(s, HANDOFF_CHROOT, root);
	}
	return true;
}

static bool handle_peer(struct server *s)
{
	struct stint_msg msg;
	char err[256];
	int rc = stint_recv_msg(s->peer_fd, &msg, NULL, NULL, 0, err, sizeof(err));

	switch (rc) {
	case STINT_RECV_EOF:
		log_info("peer disconnected before ready; waiting for the next peer");
		close_peer(s);
		return false;
	case STINT_RECV_ERR:
		if (errno == EAGAIN)
			return false;
		log_warn("reading from peer: %s; waiting for the next peer", strerror(errno));
		close_peer(s);
		return false;
	case STINT_RECV_BAD:
		refuse(s, err);
		return false;
	}
	switch (msg.type) {
	case STINT_MSG_READY:
		return handle_ready_msg(s, &msg.ready);
	case STINT_MSG_ABORT:
		log_error("peer aborted: %s", msg.text);
		close_peer(s);
		finish(s, HANDOFF_FAILED, NULL);
		return true;
	default:
		snprintf(err, sizeof(err), "unexpected %s message from a peer", stint_msg_type_name(msg.type));
		refuse(s, err);
		return false;
	}
}

static bool uid_allowed(const struct config *cfg, uid_t uid)
{
	for (size_t i = 0; i < cfg->n_allow_uid; i++) {
		if (cfg->allow_uid[i] == uid)
			return true;
	}
	return false;
}

static void send_hello(struct server *s)
{
	uint8_t buf[STINT_MSG_MAX];
	long n = stint_encode_hello(buf, sizeof(buf), (uint32_t)getpid(), s->fds.tag, (uint32_t)s->fds.n, s->cfg->root);

	if (n < 0 || stint_send(s->peer_fd, buf, (size_t)n, s->fds.fd, s->fds.n) < 0) {
		log_warn("sending HELLO: %s; waiting for the next peer", strerror(errno));
		close_peer(s);
		return;
	}
	log_debug("sent HELLO with %zu fds", s->fds.n);
}

static void accept_peer(struct server *s)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	/* Non-blocking: PID 1 must never hang on a peer that stops reading. */
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept on %s: %s", s->cfg->socket, strerror(errno));
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("SO_PEERCRED: %s; dropping the connection", strerror(errno));
		close(fd);
		return;
	}
	if (!uid_allowed(s->cfg, cred.uid)) {
		log_warn("refused peer pid %d uid %u: uid not in allow-uid", cred.pid, cred.uid);
		close(fd);
		return;
	}
	/* pid 0: the peer's pid namespace is not below ours (a sidecar). */
	if (cred.pid > 0)
		log_info("peer connected: pid %d uid %u gid %u", cred.pid, cred.uid, cred.gid);
	else
		log_info("peer connected: uid %u gid %u (its pid namespace is not visible from here)", cred.uid,
			 cred.gid);
	s->peer_fd = fd;
	/* One peer at a time, and not for ever: a peer that never finishes
	 * must not lock the others out. */
	s->peer_deadline = deadline_in(s->cfg->peer_timeout_ms);
	send_hello(s);
}

static bool handle_signals(struct server *s)
{
	struct signalfd_siginfo si;
	char name[32];
	int status;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap_children(0, &status);
		} else if (signal_stops_init((int)si.ssi_signo)) {
			log_info("%s while waiting for the peer: stopping",
				 signal_describe((int)si.ssi_signo, name, sizeof(name)));
			s->out->result = HANDOFF_SIGNALLED;
			s->out->signo = (int)si.ssi_signo;
			return true;
		} else {
			log_debug("ignoring %s while waiting", signal_describe((int)si.ssi_signo, name, sizeof(name)));
		}
	}
	return false;
}

static bool handle_eventfd(struct server *s)
{
	uint64_t v;

	if (read(s->fds.ready_fd, &v, sizeof(v)) != sizeof(v))
		return false;
	return ready_signalled(s, "eventfd");
}

static bool handle_inotify(struct server *s)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(s->ino_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->len && strcmp(ev->name, s->ready_name) == 0)
				return ready_signalled(s, "ready-file");
			p += sizeof(*ev) + ev->len;
		}
	}
	return false;
}

enum { P_SIG, P_LISTEN, P_PEER, P_EVENT, P_INOTIFY, P_COUNT };

static bool wait_once(struct server *s)
{
	struct pollfd p[P_COUNT] = {
		[P_SIG] = { s->sigfd, POLLIN, 0 },
		/* One peer at a time: others wait in the backlog. */
		[P_LISTEN] = { s->peer_fd < 0 ? s->listen_fd : -1, POLLIN, 0 },
		[P_PEER] = { s->peer_fd, POLLIN, 0 },
		[P_EVENT] = { s->fds.ready_fd, POLLIN, 0 },
		[P_INOTIFY] = { s->ino_fd, POLLIN, 0 },
	};
	int n;

	if (deadline_passed(s->deadline)) {
		log_error("timed out after %ld.%ld s waiting for the peer%s", s->cfg->timeout_ms / 1000,
			  s->cfg->timeout_ms % 1000 / 100,
			  s->peer_fd >= 0 ? " (a peer is connected but did not finish)" : " to connect");
		finish(s, HANDOFF_FAILED, NULL);
		return true;
	}
	if (s->peer_fd >= 0 && deadline_passed(s->peer_deadline)) {
		log_warn("the peer did not finish within %ld s (peer-timeout): dropping it, waiting for the next peer",
			 s->cfg->peer_timeout_ms / 1000);
		close_peer(s);
	}
	n = poll(p, P_COUNT,
		 deadline_poll_ms(deadline_min(s->deadline, s->peer_fd >= 0 ? s->peer_deadline : DEADLINE_NONE)));
	if (n < 0) {
		if (errno != EINTR)
			log_warn("poll: %s", strerror(errno));
		return false;
	}
	if (p[P_SIG].revents && handle_signals(s))
		return true;
	if (p[P_EVENT].revents && handle_eventfd(s))
		return true;
	if (p[P_INOTIFY].revents && handle_inotify(s))
		return true;
	if (p[P_PEER].revents && s->peer_fd >= 0 && handle_peer(s))
		return true;
	if (p[P_LISTEN].revents && s->peer_fd < 0)
		accept_peer(s);
	return false;
}

void handoff_run(const struct config *cfg, int sigfd, struct handoff_outcome *out)
{
	struct server s = { .cfg = cfg,
			    .sigfd = sigfd,
			    .listen_fd = -1,
			    .peer_fd = -1,
			    .sock_dir_fd = -1,
			    .ino_fd = -1,
			    .ready_dir_fd = -1,
			    .out = out };

	memset(out, 0, sizeof(*out));
	out->result = HANDOFF_FAILED;
	s.deadline = cfg->timeout_ms ? deadline_in(cfg->timeout_ms) : DEADLINE_NONE;
	s.peer_deadline = DEADLINE_NONE;
	if (stat("/", &s.root_before) < 0) {
		log_error("stat /: %s", strerror(errno));
		return;
	}
	if (handfds_open(&s.fds) < 0 || open_listener(&s) < 0 || (cfg->ready_file && watch_ready_file(&s) < 0)) {
		server_cleanup(&s);
		return;
	}
	log_info("serving the handoff on %s (ready by message, eventfd%s)", cfg->socket,
		 cfg->ready_file ? " or ready-file" : "");
	while (!wait_once(&s))
		;
	server_cleanup(&s);
}
