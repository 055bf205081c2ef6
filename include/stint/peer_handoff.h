/* The peer's end of the handoff: connect to the init's socket, receive
 * HELLO with its fds, answer READY or ABORT and wait for the verdict. */
#ifndef STINT_PEER_HANDOFF_H
#define STINT_PEER_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#include "stint/proto.h"

struct handoff {
	int sock;
	uint32_t pid; /* the init's pid in its own pid namespace */
	char root[STINT_PATH_MAX + 1]; /* the init's default root */
	int fd[STINT_FD_TAG_MAX + 1]; /* by tag; -1 when absent */
};

/* Result of handoff_connect(). */
enum { HANDOFF_OK = 0, HANDOFF_NO_SOCKET = 1, HANDOFF_FAILED = -1 };

/* Connect to `path` and read the HELLO. When nothing listens there
 * (ENOENT/ECONNREFUSED) waits up to wait_secs (0 = don't wait) and then
 * returns HANDOFF_NO_SOCKET; other failures are logged and return
 * HANDOFF_FAILED. */
int handoff_connect(struct handoff *h, const char *path, unsigned wait_secs);
void handoff_close(struct handoff *h);

/* Send READY and wait up to timeout secs (0 = forever) for ACK. Returns 0
 * on ACK, -1 after logging the ERROR text or the failure. */
int handoff_ready(int sock, uint32_t mode, const char *path, unsigned timeout);

/* Send ABORT with `reason` (best effort). */
void handoff_abort(int sock, const char *reason);

#endif
