/* One protocol message per datagram over a SOCK_SEQPACKET socket, with
 * file descriptors attached as SCM_RIGHTS. */
#ifndef STINT_FDPASS_H
#define STINT_FDPASS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#include "stint/proto.h"

/* Send one datagram with nfds fds attached (nfds may be 0). MSG_NOSIGNAL:
 * a peer that went away must not kill PID 1 with SIGPIPE. Returns 0 or -1
 * with errno. */
int stint_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds);

/* Convenience senders; return 0 or -1 with errno. */
int stint_send_text(int sock, uint16_t type, const char *text);
int stint_send_ack(int sock);
int stint_send_ready(int sock, uint32_t mode, const char *path);

/* What stint_recv_raw() found besides the payload. */
struct stint_recv {
	int *fds; /* in: where to keep received fds (close-on-exec) ... */
	size_t room; /* ... up to this many; any further ones are closed */
	bool want_pidfd; /* in: keep the sender's SCM_PIDFD (SO_PASSPIDFD) */
	size_t nfds; /* out: how many fds came, kept or not */
	bool truncated; /* out: the datagram or its control data did not fit */
	int pidfd; /* out: the sender's pidfd, or -1; the caller closes it */
};

/* Receive one datagram of any content into buf (at most cap bytes).
 * Returns its full length — more than cap when it was cut, which also
 * sets r->truncated — 0 at end of connection, or -1 with errno. */
ssize_t stint_recv_raw(int sock, void *buf, size_t cap, struct stint_recv *r);

enum stint_recv_result {
	STINT_RECV_OK = 0,
	STINT_RECV_EOF = 1, /* the other side closed the connection */
	STINT_RECV_BAD = 2, /* a datagram arrived but is not valid: see err */
	STINT_RECV_ERR = -1, /* recvmsg failed: errno */
};

/* Receive and decode one message. Received fds (close-on-exec) are stored in
 * fds[0..*nfds) when the caller passes room for them; fds sent where none
 * are expected (maxfds == 0), fds beyond maxfds, and any fd of a bad message
 * are closed and reported as BAD. A HELLO's fd count must match its tags. */
int stint_recv_msg(int sock, struct stint_msg *msg, int *fds, size_t *nfds, size_t maxfds, char *err, size_t errlen);

#endif
