/* State shared by prepare (src/peer/prepare.c) and the --then wait loop
 * (src/peer/wait.c). */
#ifndef STINT_PEER_PREPARE_H
#define STINT_PEER_PREPARE_H

#include <sys/types.h>
#include <time.h>

#include "stint/notify.h"

struct peer_config;

struct peer_run {
	const struct peer_config *cfg;
	char state_path[4096];
	struct peer_state st;
	int notify_fd; /* the sd_notify socket we serve, or -1 */
	int rootfd; /* O_PATH of the new root after a switch, or -1 */
	ino_t sock_ino; /* the socket we last prepared through ... */
	struct timespec sock_ctime; /* ... and when it was made: inodes get reused */
	int sock_gone; /* it disappeared since (the init switched) */
};

enum { PREPARE_OK = 0, PREPARE_FAILED = 1, PREPARE_NO_SOCKET = 2 };

/* One whole handoff: connect ... READY/ABORT. */
int prepare_once(struct peer_run *run);

/* --then wait: serve the notify socket, watch ready-path, prepare again
 * when a new init serves the socket; return on SIGTERM/SIGINT. */
int peer_wait(struct peer_run *run);

#endif
