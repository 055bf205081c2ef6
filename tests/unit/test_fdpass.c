/* Unit tests of the datagram transport (src/fdpass.c) over a real
 * SOCK_SEQPACKET socketpair: fds attached with SCM_RIGHTS, and every
 * refused message (oversized, fds where none belong, a HELLO whose fd
 * count differs from its tags, more fds than the control buffer holds)
 * must leave no received fd open: the init is PID 1 and a leaked fd would
 * end up in the workload. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto_util.h"
#include "stint/fdpass.h"
#include "stint/proto.h"
#include "tap.h"

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d) {
		perror("opendir /proc/self/fd");
		exit(2);
	}
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static void socket_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		exit(2);
	}
}

static int open_null(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		perror("open /dev/null");
		exit(2);
	}
	return fd;
}

/* sendmsg with any number of fds (stint_send caps them at STINT_MAX_FDS;
 * a hostile peer does not). */
static int raw_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	static union {
		char buf[CMSG_SPACE(sizeof(int) * 253)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

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
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* Send buf with n fresh /dev/null fds attached (our copies are closed), then
 * receive it with room for maxfds. Returns the stint_recv_msg result. */
static int send_recv(const void *buf, size_t len, size_t n, size_t maxfds, struct stint_msg *m, int *fds, size_t *nfds,
		     char *err, size_t errlen)
{
	int sv[2], out[253], rc;

	socket_pair(sv);
	for (size_t i = 0; i < n; i++)
		out[i] = open_null();
	if (raw_send(sv[0], buf, len, out, n) < 0) {
		perror("sendmsg");
		exit(2);
	}
	for (size_t i = 0; i < n; i++)
		close(out[i]);
	err[0] = '\0';
	rc = stint_recv_msg(sv[1], m, fds, nfds, maxfds, err, errlen);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

/* ---- fdpass over a real SOCK_SEQPACKET socketpair ---- */

static void test_send_recv_hello_fds(void)
{
	static const char *const ns[] = { "mnt", "pid", "net", "ipc", "uts", "user", "cgroup" };
	static const uint32_t ns_tags[] = { STINT_FD_MNT, STINT_FD_PID,	 STINT_FD_NET,	 STINT_FD_IPC,
					    STINT_FD_UTS, STINT_FD_USER, STINT_FD_CGROUP };
	uint8_t buf[STINT_MSG_MAX];
	int sv[2], out[7], in[STINT_MAX_FDS];
	size_t nin = 99, nns = 7;
	struct stint_msg m;
	char err[256] = "", path[64];
	int before, same = 1, cloexec = 1;
	long n;

	before = count_fds();
	socket_pair(sv);
	for (size_t i = 0; i < nns; i++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
		out[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (out[i] < 0) {
			perror(path);
			exit(2);
		}
	}
	n = stint_encode_hello(buf, sizeof(buf), (uint32_t)getpid(), ns_tags, (uint32_t)nns, "/.stint/root");
	is_int(stint_send(sv[0], buf, (size_t)n, out, nns), 0, "stint_send HELLO with 7 namespace fds");
	is_int(stint_recv_msg(sv[1], &m, in, &nin, STINT_MAX_FDS, err, sizeof(err)), STINT_RECV_OK,
	       "stint_recv_msg HELLO: %s", err);
	is_int(nin, nns, "7 fds received");
	is_int(m.hello.pid, getpid(), "HELLO pid over the socket");
	for (size_t i = 0; i < nin && i < nns; i++) {
		struct stat a, b;

		same &= fstat(out[i], &a) == 0 && fstat(in[i], &b) == 0 && a.st_ino == b.st_ino &&
			a.st_dev == b.st_dev && in[i] != out[i];
		cloexec &= (fcntl(in[i], F_GETFD) & FD_CLOEXEC) != 0;
	}
	ok(same, "received fds are the same namespaces, in tag order (inode numbers)");
	ok(cloexec, "received fds are close-on-exec");
	for (size_t i = 0; i < nns; i++)
		close(out[i]);
	for (size_t i = 0; i < nin; i++)
		close(in[i]);
	close(sv[0]);
	close(sv[1]);
	is_int(count_fds(), before, "no fd left behind");
}

static void test_senders(void)
{
	int sv[2], fds[STINT_MAX_FDS + 1];
	struct stint_msg m;
	size_t nfds = 99;
	char err[256] = "";

	socket_pair(sv);
	ok(stint_send_ready(sv[0], STINT_READY_CHROOT, "/new") == 0 &&
		   stint_recv_msg(sv[1], &m, fds, &nfds, STINT_MAX_FDS, err, sizeof(err)) == STINT_RECV_OK &&
		   m.type == STINT_MSG_READY && strcmp(m.ready.path, "/new") == 0 && nfds == 0,
	   "stint_send_ready → READY /new, no fds: %s", err);
	ok(stint_send_ready(sv[0], STINT_READY_PIVOTED, NULL) == 0 &&
		   stint_recv_msg(sv[1], &m, NULL, NULL, 0, err, sizeof(err)) == STINT_RECV_OK &&
		   m.ready.mode == STINT_READY_PIVOTED,
	   "stint_send_ready pivoted, received with no fd room: %s", err);
	ok(stint_send_text(sv[1], STINT_MSG_ERROR, "no") == 0 &&
		   stint_recv_msg(sv[0], &m, NULL, NULL, 0, err, sizeof(err)) == STINT_RECV_OK &&
		   m.type == STINT_MSG_ERROR && strcmp(m.text, "no") == 0,
	   "stint_send_text ERROR → ERROR: %s", err);
	ok(stint_send_ack(sv[1]) == 0 && stint_recv_msg(sv[0], &m, NULL, NULL, 0, err, sizeof(err)) == STINT_RECV_OK &&
		   m.type == STINT_MSG_ACK,
	   "stint_send_ack → ACK: %s", err);
	errno = 0;
	ok(stint_send_ready(sv[0], 9, "/x") == -1 && errno == EINVAL, "stint_send_ready with mode 9: EINVAL");
	for (int i = 0; i <= STINT_MAX_FDS; i++)
		fds[i] = 0;
	errno = 0;
	ok(stint_send(sv[0], "x", 1, fds, STINT_MAX_FDS + 1) == -1 && errno == EINVAL, "stint_send with %d fds: EINVAL",
	   STINT_MAX_FDS + 1);
	close(sv[0]);
	close(sv[1]);
}

/* The oversized datagram must be refused whole: not decoded from its
 * first STINT_MSG_MAX bytes, its fds closed, and the next one read fine. */
static void test_oversized(void)
{
	static uint8_t big[STINT_MSG_MAX + 1000];
	struct stint_msg m;
	int sv[2], fds[STINT_MAX_FDS], out[2];
	size_t nfds = 99;
	char err[256] = "";
	int before, rc;
	long n;

	before = count_fds();
	/* A valid HELLO at the front, padding after: only the size is wrong. */
	n = make_hello(big, sizeof(big), "/r");
	memset(big + n, 'p', sizeof(big) - (size_t)n);
	set_plen(big, (uint32_t)(STINT_MSG_MAX + 1 - STINT_HDR_SIZE));
	socket_pair(sv);
	out[0] = open_null();
	out[1] = open_null();
	ok(raw_send(sv[0], big, STINT_MSG_MAX + 1, out, 2) == 0, "sent a datagram of %d bytes with 2 fds",
	   STINT_MSG_MAX + 1);
	ok(raw_send(sv[0], big, sizeof(big), NULL, 0) == 0, "sent a datagram of %zu bytes", sizeof(big));
	ok(stint_send_ack(sv[0]) == 0, "sent an ACK after them");
	close(out[0]);
	close(out[1]);
	rc = stint_recv_msg(sv[1], &m, fds, &nfds, STINT_MAX_FDS, err, sizeof(err));
	ok(rc == STINT_RECV_BAD && nfds == 0, "%d-byte datagram: STINT_RECV_BAD, no fds handed out: %s",
	   STINT_MSG_MAX + 1, err);
	ok(strstr(err, "larger than") && has_number(err, STINT_MSG_MAX), "one byte over: refused for its size");
	rc = stint_recv_msg(sv[1], &m, fds, &nfds, STINT_MAX_FDS, err, sizeof(err));
	is_int(rc, STINT_RECV_BAD, "%zu-byte datagram: STINT_RECV_BAD: %s", sizeof(big), err);
	ok(has_number(err, STINT_MSG_MAX), "the reason names the limit");
	rc = stint_recv_msg(sv[1], &m, fds, &nfds, STINT_MAX_FDS, err, sizeof(err));
	ok(rc == STINT_RECV_OK && m.type == STINT_MSG_ACK, "the next datagram is read whole (ACK)");
	close(sv[0]);
	close(sv[1]);
	is_int(count_fds(), before, "no fd leaked by the oversized datagram");

	/* Exactly STINT_MSG_MAX bytes is still accepted when valid. */
	uint8_t maxbuf[STINT_MSG_MAX];
	memset(maxbuf, 0, sizeof(maxbuf));
	n = stint_encode_text(maxbuf, sizeof(maxbuf), STINT_MSG_ABORT, "x");
	set_plen(maxbuf, STINT_MSG_MAX - STINT_HDR_SIZE);
	rc = send_recv(maxbuf, sizeof(maxbuf), 0, 0, &m, NULL, NULL, err, sizeof(err));
	ok(rc == STINT_RECV_BAD && strstr(err, "larger") == NULL,
	   "a %d-byte datagram is read whole and judged by its content: %s", STINT_MSG_MAX, err);
}

static void test_unexpected_fds(void)
{
	uint8_t buf[STINT_MSG_MAX];
	struct stint_msg m;
	int fds[STINT_MAX_FDS];
	size_t nfds = 99;
	char err[256] = "";
	int before = count_fds(), rc;
	long n;

	n = stint_encode_ready(buf, sizeof(buf), STINT_READY_CHROOT, "/r");
	rc = send_recv(buf, (size_t)n, 3, STINT_MAX_FDS, &m, fds, &nfds, err, sizeof(err));
	ok(rc == STINT_RECV_BAD && nfds == 0, "READY with 3 fds attached: BAD: %s", err);
	is_int(count_fds(), before, "the 3 fds were closed");

	rc = send_recv(buf, (size_t)n, 2, 0, &m, NULL, NULL, err, sizeof(err));
	is_int(rc, STINT_RECV_BAD, "READY with 2 fds, receiver expects none: BAD: %s", err);
	is_int(count_fds(), before, "those fds were closed");

	n = stint_encode_ack(buf, sizeof(buf));
	rc = send_recv(buf, (size_t)n, 1, STINT_MAX_FDS, &m, fds, &nfds, err, sizeof(err));
	ok(rc == STINT_RECV_BAD && nfds == 0, "ACK with an fd: BAD: %s", err);
	n = stint_encode_text(buf, sizeof(buf), STINT_MSG_ABORT, "x");
	rc = send_recv(buf, (size_t)n, 1, STINT_MAX_FDS, &m, fds, &nfds, err, sizeof(err));
	ok(rc == STINT_RECV_BAD && nfds == 0, "ABORT with an fd: BAD: %s", err);
	is_int(count_fds(), before, "no fd leaked by ACK/ABORT with fds");

	memcpy(buf, "garbage!garbage!", 16);
	rc = send_recv(buf, 16, 4, STINT_MAX_FDS, &m, fds, &nfds, err, sizeof(err));
	ok(rc == STINT_RECV_BAD && nfds == 0, "garbage with 4 fds: BAD: %s", err);
	rc = send_recv(buf, 0, 2, STINT_MAX_FDS, &m, fds, &nfds, err, sizeof(err));
	ok(rc == STINT_RECV_BAD && nfds == 0, "an empty datagram with 2 fds: BAD, not EOF: %s", err);
	is_int(count_fds(), before, "no fd leaked by garbage with fds");
}

static void test_hello_fd_count(void)
{
	uint8_t buf[STINT_MSG_MAX];
	struct stint_msg m;
	int fds[STINT_MAX_FDS];
	size_t nfds = 99;
	char err[256] = "";
	int before = count_fds(), rc;
	long n = stint_encode_hello(buf, sizeof(buf), 1, all_tags, 3, "/r");

	rc = send_recv(buf, (size_t)n, 2, STINT_MAX_FDS, &m, fds, &nfds, err, sizeof(err));
	ok(rc == STINT_RECV_BAD && nfds == 0 && has_number(err, 2) && has_number(err, 3),
	   "HELLO with 3 tags and 2 fds: BAD naming both counts: %s", err);
	rc = send_recv(buf, (size_t)n, 4, STINT_MAX_FDS, &m, fds, &nfds, err, sizeof(err));
	ok(rc == STINT_RECV_BAD && nfds == 0, "HELLO with 3 tags and 4 fds: BAD: %s", err);
	rc = send_recv(buf, (size_t)n, 0, STINT_MAX_FDS, &m, fds, &nfds, err, sizeof(err));
	ok(rc == STINT_RECV_BAD && nfds == 0, "HELLO with 3 tags and no fds: BAD: %s", err);
	rc = send_recv(buf, (size_t)n, 3, 2, &m, fds, &nfds, err, sizeof(err));
	ok(rc == STINT_RECV_BAD && nfds == 0, "HELLO with 3 fds, receiver has room for 2: BAD: %s", err);
	is_int(count_fds(), before, "every fd of those refused HELLOs was closed");

	rc = send_recv(buf, (size_t)n, 3, STINT_MAX_FDS, &m, fds, &nfds, err, sizeof(err));
	ok(rc == STINT_RECV_OK && nfds == 3, "HELLO with 3 tags and 3 fds: OK: %s", err);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);

	/* More fds than the protocol allows, and more than the receiver's
	 * control buffer holds (the kernel then truncates: MSG_CTRUNC). */
	uint32_t tags[STINT_MAX_FDS];
	for (int i = 0; i < STINT_MAX_FDS; i++)
		tags[i] = STINT_FD_MNT;
	n = stint_encode_hello(buf, sizeof(buf), 1, tags, STINT_MAX_FDS, "/r");
	rc = send_recv(buf, (size_t)n, STINT_MAX_FDS + 4, STINT_MAX_FDS, &m, fds, &nfds, err, sizeof(err));
	ok(rc == STINT_RECV_BAD && nfds == 0, "HELLO with %d fds: BAD: %s", STINT_MAX_FDS + 4, err);
	rc = send_recv(buf, (size_t)n, 200, STINT_MAX_FDS, &m, fds, &nfds, err, sizeof(err));
	ok(rc == STINT_RECV_BAD && nfds == 0, "HELLO with 200 fds: BAD: %s", err);
	is_int(count_fds(), before, "none of those fds leaked");
}

static void test_eof_and_errors(void)
{
	struct stint_msg m;
	int sv[2];
	char err[256] = "";
	int rc;

	socket_pair(sv);
	close(sv[0]);
	rc = stint_recv_msg(sv[1], &m, NULL, NULL, 0, err, sizeof(err));
	is_int(rc, STINT_RECV_EOF, "closed peer: STINT_RECV_EOF");
	close(sv[1]);

	socket_pair(sv);
	close(sv[1]);
	errno = 0;
	/* MSG_NOSIGNAL: SIGPIPE would kill us here (default action). */
	ok(stint_send_ack(sv[0]) == -1 && errno == EPIPE, "send to a closed peer: EPIPE, no SIGPIPE");
	close(sv[0]);

	errno = 0;
	rc = stint_recv_msg(-1, &m, NULL, NULL, 0, err, sizeof(err));
	ok(rc == STINT_RECV_ERR && errno == EBADF, "recv on fd -1: STINT_RECV_ERR with EBADF");
}

int main(void)
{
	tap_init();
	signal(SIGPIPE, SIG_DFL);
	test_send_recv_hello_fds();
	test_senders();
	test_oversized();
	test_unexpected_fds();
	test_hello_fd_count();
	test_eof_and_errors();
	return tap_done();
}
