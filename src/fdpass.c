/* Datagram I/O with SCM_RIGHTS for the handoff protocol. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stint/fdpass.h"
#include "stint/syscalls.h"
#include "stint/util.h"

int stint_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * STINT_MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > STINT_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	n = TEMP_FAILURE_RETRY(sendmsg(sock, &mh, MSG_NOSIGNAL));
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE; /* cannot happen on SEQPACKET, but never assume */
		return -1;
	}
	return 0;
}

int stint_send_text(int sock, uint16_t type, const char *text)
{
	uint8_t buf[STINT_MSG_MAX];
	long n = stint_encode_text(buf, sizeof(buf), type, text);

	return n < 0 ? -1 : stint_send(sock, buf, (size_t)n, NULL, 0);
}

int stint_send_ack(int sock)
{
	uint8_t buf[STINT_HDR_SIZE];
	long n = stint_encode_ack(buf, sizeof(buf));

	return n < 0 ? -1 : stint_send(sock, buf, (size_t)n, NULL, 0);
}

int stint_send_ready(int sock, uint32_t mode, const char *path)
{
	uint8_t buf[STINT_MSG_MAX];
	long n = stint_encode_ready(buf, sizeof(buf), mode, path);

	return n < 0 ? -1 : stint_send(sock, buf, (size_t)n, NULL, 0);
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

/* Move the fds of every SCM_RIGHTS block into r->fds; returns their count.
 * Any that do not fit are closed, so nothing leaks into PID 1. A sender's
 * pidfd (SCM_PIDFD) goes to r->pidfd when asked for, else it is closed. */
static size_t collect_fds(struct msghdr *mh, struct stint_recv *r)
{
	size_t n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t count;

		if (c->cmsg_level != SOL_SOCKET || (c->cmsg_type != SCM_RIGHTS && c->cmsg_type != SCM_PIDFD))
			continue;
		count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (c->cmsg_type == SCM_PIDFD && r->want_pidfd && r->pidfd < 0)
				r->pidfd = fd;
			else if (c->cmsg_type == SCM_RIGHTS && n++ < r->room)
				r->fds[n - 1] = fd;
			else
				close(fd);
		}
	}
	return n;
}

ssize_t stint_recv_raw(int sock, void *buf, size_t cap, struct stint_recv *r)
{
	union {
		/* Room for more than we accept, so that an oversized fd list
		 * is seen (and closed) rather than silently cut. */
		char buf[CMSG_SPACE(sizeof(int) * (STINT_MAX_FDS + 64)) + CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)
	};
	ssize_t n;

	r->nfds = 0;
	r->truncated = false;
	r->pidfd = -1;
	/* MSG_TRUNC: the datagram's real length, so a caller can say how
	 * much was cut instead of cutting silently. */
	n = TEMP_FAILURE_RETRY(recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC));
	if (n < 0)
		return -1;
	r->nfds = collect_fds(&mh, r);
	r->truncated = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
	return n;
}

int stint_recv_msg(int sock, struct stint_msg *msg, int *fds, size_t *nfds, size_t maxfds, char *err, size_t errlen)
{
	/* One byte more than the largest message, so that a datagram of
	 * STINT_MSG_MAX + 1 bytes is seen as too large, not cut. */
	uint8_t buf[STINT_MSG_MAX + 1];
	int got[STINT_MAX_FDS];
	struct stint_recv r = { .fds = got, .room = maxfds < STINT_MAX_FDS ? maxfds : STINT_MAX_FDS };
	size_t ngot;
	bool truncated;
	ssize_t n;

	if (nfds)
		*nfds = 0;
	n = stint_recv_raw(sock, buf, sizeof(buf), &r);
	if (n < 0)
		return STINT_RECV_ERR;
	ngot = r.nfds;
	truncated = r.truncated;
	if (n == 0 && ngot == 0)
		return STINT_RECV_EOF;
	if (truncated || n > STINT_MSG_MAX || ngot > maxfds) {
		close_all(got, ngot < maxfds ? ngot : maxfds);
		if (n > STINT_MSG_MAX)
			snprintf(err, errlen, "message larger than %d bytes", STINT_MSG_MAX);
		else
			snprintf(err, errlen, "message carries %zu file descriptors, %zu expected at most", ngot,
				 maxfds);
		return STINT_RECV_BAD;
	}
	if (stint_decode(buf, (size_t)n, msg, err, errlen) < 0) {
		close_all(got, ngot);
		return STINT_RECV_BAD;
	}
	if (msg->type == STINT_MSG_HELLO ? ngot != msg->hello.nfds : ngot != 0) {
		snprintf(err, errlen, "%s carries %zu file descriptors, expected %u", stint_msg_type_name(msg->type),
			 ngot, msg->type == STINT_MSG_HELLO ? msg->hello.nfds : 0);
		close_all(got, ngot);
		return STINT_RECV_BAD;
	}
	if (ngot > 0)
		memcpy(fds, got, ngot * sizeof(int));
	if (nfds)
		*nfds = ngot;
	return STINT_RECV_OK;
}
