/* Client side of the handoff protocol (docs/protocol.md). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "stint/fdpass.h"
#include "stint/log.h"
#include "stint/peer_handoff.h"
#include "stint/util.h"

static int try_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_fd int s = -1;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (TEMP_FAILURE_RETRY(connect(s, (struct sockaddr *)&sa, sizeof(sa))) < 0)
		return -1;
	return steal_fd(&s);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Connect, retrying while nobody listens yet. */
static int connect_wait(const char *path, unsigned wait_secs, int *absent)
{
	long deadline = now_ms() + (long)wait_secs * 1000L;
	int s;

	*absent = 0;
	for (;;) {
		s = try_connect(path);
		if (s >= 0)
			return s;
		if (errno == ECONNREFUSED) {
			struct stat st;

			if (stat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
				log_error("connect to the init's socket: %s is not a socket", path);
				return -1;
			}
		}
		if (errno != ENOENT && errno != ECONNREFUSED) {
			log_error("connect to the init's socket %s: %s", path, strerror(errno));
			return -1;
		}
		if (now_ms() >= deadline) {
			*absent = 1;
			return -1;
		}
		usleep(50 * 1000);
	}
}

int handoff_connect(struct handoff *h, const char *path, unsigned wait_secs)
{
	struct stint_msg msg;
	int fds[STINT_MAX_FDS];
	size_t nfds = 0;
	char err[256];
	int absent, rc;

	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < ARRAY_SIZE(h->fd); i++)
		h->fd[i] = -1;
	h->sock = connect_wait(path, wait_secs, &absent);
	if (h->sock < 0)
		return absent ? HANDOFF_NO_SOCKET : HANDOFF_FAILED;
	rc = stint_recv_msg(h->sock, &msg, fds, &nfds, STINT_MAX_FDS, err, sizeof(err));
	if (rc == STINT_RECV_ERR) {
		log_error("read HELLO from %s: %s", path, strerror(errno));
		goto fail;
	}
	if (rc == STINT_RECV_EOF) {
		log_error("the init closed %s before HELLO (is this peer's uid allowed? see --allow-uid)", path);
		goto fail;
	}
	if (rc == STINT_RECV_BAD || msg.type != STINT_MSG_HELLO) {
		log_error("bad HELLO from %s: %s", path, rc == STINT_RECV_BAD ? err : "another message type");
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		goto fail;
	}
	h->pid = msg.hello.pid;
	snprintf(h->root, sizeof(h->root), "%s", msg.hello.root);
	for (size_t i = 0; i < nfds; i++) {
		uint32_t tag = msg.hello.tags[i];

		/* An unknown or repeated tag is a newer init: keep going. */
		if (tag >= 1 && tag <= STINT_FD_TAG_MAX && h->fd[tag] < 0)
			h->fd[tag] = fds[i];
		else
			close(fds[i]);
	}
	log_debug("HELLO from init pid %u, %zu fds, default root %s", h->pid, nfds, h->root);
	return HANDOFF_OK;
fail:
	close(h->sock);
	h->sock = -1;
	return HANDOFF_FAILED;
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

int handoff_ready(int sock, uint32_t mode, const char *path, unsigned timeout)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct stint_msg msg;
	char err[256];
	int rc;

	if (stint_send_ready(sock, mode, path) < 0) {
		log_error("send READY to the init: %s", strerror(errno));
		return -1;
	}
	rc = TEMP_FAILURE_RETRY(poll(&p, 1, timeout ? (int)timeout * 1000 : -1));
	if (rc == 0) {
		log_error("no answer from the init to READY within %u s", timeout);
		return -1;
	}
	rc = stint_recv_msg(sock, &msg, NULL, NULL, 0, err, sizeof(err));
	if (rc == STINT_RECV_OK && msg.type == STINT_MSG_ACK)
		return 0;
	if (rc == STINT_RECV_OK && msg.type == STINT_MSG_ERROR)
		log_error("the init refused READY: %s", msg.text);
	else if (rc == STINT_RECV_EOF)
		log_error("the init closed the connection instead of acknowledging READY");
	else if (rc == STINT_RECV_ERR)
		log_error("read the init's answer to READY: %s", strerror(errno));
	else
		log_error("bad answer from the init to READY: %s", rc == STINT_RECV_BAD ? err : "unexpected type");
	return -1;
}

void handoff_abort(int sock, const char *reason)
{
	if (sock >= 0 && stint_send_text(sock, STINT_MSG_ABORT, reason) < 0)
		log_warn("send ABORT to the init: %s", strerror(errno));
}
