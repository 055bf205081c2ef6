/* The peer's end of the handoff protocol (docs/protocol.md): connect to
 * the init's socket, receive HELLO with its fds, answer READY or ABORT and
 * wait for the verdict — each step within a deadline. */
#ifndef STINT_PEER_HANDOFF_H
#define STINT_PEER_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#include "stint/deadline.h"
#include "stint/proto.h"

struct peer_run;

struct handoff {
	int sock;
	uint32_t pid; /* the init's pid in its own pid namespace */
	char root[STINT_PATH_MAX + 1]; /* the init's default root */
	int fd[STINT_FD_TAG_MAX + 1]; /* by tag; -1 when absent */
};

enum {
	HANDOFF_OK = 0,
	HANDOFF_NO_SOCKET = 1, /* nobody listens at the path (gone, stale or not yet) */
	HANDOFF_FAILED = -1, /* fail() says why */
	HANDOFF_STOPPED = -2, /* a stop signal came while waiting (r->stop_signal) */
};

/* Connect to `path` and read the HELLO before `deadline`. The waits go
 * through run_wait(r, ...) (r may be NULL). */
int handoff_connect(struct handoff *h, const char *path, struct peer_run *r, msec_t deadline);
void handoff_close(struct handoff *h);

/* Send READY and wait for ACK before `deadline`. Returns HANDOFF_OK,
 * HANDOFF_FAILED (fail(): the ERROR text or the failure) or HANDOFF_STOPPED. */
int handoff_ready(int sock, uint32_t mode, const char *path, struct peer_run *r, msec_t deadline);

/* Send ABORT with `reason`. Returns 0 or -1 (fail()). */
int handoff_abort(int sock, const char *reason);

#endif
