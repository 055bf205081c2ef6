#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "stint/fdpass.h"
#include "stint/log.h"
#include "stint/util.h"
#include "err.h"
#include "handoff.h"
#include "prepare.h"

#define BACKLOG_RETRY_MS 20

/* A non-blocking connect: a unix socket's connect() only waits when the
 * listener's backlog is full (EAGAIN), which is retried until the deadline;
 * it never waits on the socket file itself. */
static int connect_nb(const char *path, struct peer_run *r, msec_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_fd int s = -1;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -1;
	while (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (deadline_passed(deadline)) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (run_wait(r, -1, 0, deadline_min(deadline, deadline_in(BACKLOG_RETRY_MS))) < 0)
			return -2;
	}
	return steal_fd(&s);
}

static void hello_fds(struct handoff *h, const struct stint_msg *msg, int *fds, size_t nfds)
{
	for (size_t i = 0; i < nfds; i++) {
		uint32_t tag = msg->hello.tags[i];

		/* An unknown or repeated tag is a newer init: keep going. */
		if (tag >= 1 && tag <= STINT_FD_TAG_MAX && h->fd[tag] < 0)
			h->fd[tag] = fds[i];
		else
			close(fds[i]);
	}
}

static int read_hello(struct handoff *h, const char *path)
{
	struct stint_msg msg;
	int fds[STINT_MAX_FDS];
	size_t nfds = 0;
	char err[256];
	int rc = stint_recv_msg(h->sock, &msg, fds, &nfds, STINT_MAX_FDS, err, sizeof(err));

	if (rc == STINT_RECV_ERR)
		return fail_errno("read HELLO from %s", path);
	if (rc == STINT_RECV_EOF)
		return fail("the init closed %s before HELLO (is this peer's uid in its allow-uid?)", path);
	if (rc == STINT_RECV_BAD || msg.type != STINT_MSG_HELLO) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		return fail("bad HELLO from %s: %s", path, rc == STINT_RECV_BAD ? err : "another message type");
	}
	h->pid = msg.hello.pid;
	copy_str(h->root, sizeof(h->root), msg.hello.root);
	hello_fds(h, &msg, fds, nfds);
	log_debug("HELLO from init pid %u, %zu fds, default root %s", h->pid, nfds, h->root);
	return 0;
}

int handoff_connect(struct handoff *h, const char *path, struct peer_run *r, msec_t deadline)
{
	struct stat st;
	int rc;

	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < ARRAY_SIZE(h->fd); i++)
		h->fd[i] = -1;
	h->sock = connect_nb(path, r, deadline);
	if (h->sock == -2)
		return h->sock = -1, HANDOFF_STOPPED;
	if (h->sock < 0) {
		if (errno == ENOENT)
			return HANDOFF_NO_SOCKET;
		if (errno == ECONNREFUSED)
			return stat(path, &st) == 0 && !S_ISSOCK(st.st_mode) ?
				       (fail("connect to the init's socket: %s is not a socket", path),
					HANDOFF_FAILED) :
				       HANDOFF_NO_SOCKET;
		return fail_errno("connect to the init's socket %s", path), HANDOFF_FAILED;
	}
	rc = run_wait(r, h->sock, POLLIN, deadline);
	if (rc > 0 && read_hello(h, path) == 0)
		return HANDOFF_OK;
	if (rc == 0)
		fail("no HELLO from the init on %s within the handshake timeout", path);
	close(h->sock);
	h->sock = -1;
	return rc < 0 && r && r->stop_signal ? HANDOFF_STOPPED : HANDOFF_FAILED;
}

void handoff_close(struct handoff *h)
{
	for (size_t i = 0; i < ARRAY_SIZE(h->fd); i++) {
		if (h->fd[i] >= 0)
			close(h->fd[i]);
		h->fd[i] = -1;
	}
	if (h->sock >= 0)
		close(h->sock);
	h->sock = -1;
}

int handoff_ready(int sock, uint32_t mode, const char *path, struct peer_run *r, msec_t deadline)
{
	struct stint_msg msg;
	char err[256];
	int rc;

	if (stint_send_ready(sock, mode, path) < 0)
		return fail_errno("send READY to the init"), HANDOFF_FAILED;
	rc = run_wait(r, sock, POLLIN, deadline);
	if (rc < 0)
		return r && r->stop_signal ? HANDOFF_STOPPED : HANDOFF_FAILED;
	if (rc == 0)
		return fail("no answer from the init to READY within the timeout"), HANDOFF_FAILED;
	rc = stint_recv_msg(sock, &msg, NULL, NULL, 0, err, sizeof(err));
	if (rc == STINT_RECV_OK && msg.type == STINT_MSG_ACK)
		return HANDOFF_OK;
	if (rc == STINT_RECV_OK && msg.type == STINT_MSG_ERROR)
		fail("the init refused READY: %s", msg.text);
	else if (rc == STINT_RECV_EOF)
		fail("the init closed the connection instead of acknowledging READY");
	else if (rc == STINT_RECV_ERR)
		fail_errno("read the init's answer to READY");
	else
		fail("bad answer from the init to READY: %s", rc == STINT_RECV_BAD ? err : "unexpected type");
	return HANDOFF_FAILED;
}

int handoff_abort(int sock, const char *reason)
{
	if (sock >= 0 && stint_send_text(sock, STINT_MSG_ABORT, reason) < 0)
		return fail_errno("send ABORT to the init");
	return 0;
}
