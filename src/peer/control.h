/* The peer's control socket (docs/control.md): RUN-DIR/control.sock, a
 * SOCK_SEQPACKET unix socket in the sidecar's own directory, born 0600,
 * that hands the served init's pidfd and the new root's O_PATH fd to a
 * `stint-peer enter` or `attach` of the same uid. One short request per
 * connection, answered at once from the then=wait loop, which it never
 * blocks: the listener and every connection are non-blocking and a
 * connection that sends nothing within CONTROL_REQUEST_MS is dropped. */
#ifndef STINT_PEER_CONTROL_H
#define STINT_PEER_CONTROL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "stint/deadline.h"

#define CONTROL_SOCKET "control.sock"
#define CONTROL_REQUEST "get-init 1" /* the one request of protocol version 1 */
#define CONTROL_CONNS 4 /* connections waiting for their request at once */
#define CONTROL_POLLFDS (1 + CONTROL_CONNS)
#define CONTROL_REQUEST_MS 2000 /* a connected client must ask within this */
#define CONTROL_MSG_MAX 512

struct peer_run;
struct cfg_program;

/* The server, one per then=wait loop. */
struct control {
	int fd; /* the listener, -1 when off */
	struct control_conn {
		int fd; /* -1: free */
		msec_t deadline;
		pid_t pid; /* the client, as SO_PEERCRED says ... */
		uid_t uid; /* ... refused at its request unless the peer's */
	} conn[CONTROL_CONNS];
};

/* Serve RUN-DIR/control.sock (replacing a stale one). On failure the peer
 * goes on without it: a warning, and c->fd stays -1. */
void control_open(struct control *c, struct peer_run *r);
/* Stop serving; the socket's name goes with it. */
void control_close(struct control *c, struct peer_run *r);
/* Fill CONTROL_POLLFDS entries (fd -1 where unused). */
void control_pollfds(const struct control *c, struct pollfd *p);
/* The earliest connection deadline, DEADLINE_NONE when none waits. */
msec_t control_deadline(const struct control *c);
/* After poll(): accept, answer, drop expired connections. Never blocks. */
void control_serve(struct control *c, struct peer_run *r, const struct pollfd *p);

/* The client's side: what the peer handed over. */
struct control_reply {
	int pidfd; /* the served init's pidfd */
	int rootfd; /* O_PATH of its new root */
	unsigned pid; /* the init's pid in its own pid namespace */
	unsigned boot; /* the peer's boot counter for this init */
};

/* Ask the peer whose run-dir is run_dir. Returns 0 with both fds open (and
 * the init checked alive), or -1 with a one-line reason in fail(). */
int control_fetch(const char *run_dir, struct control_reply *out);
/* The options of enter and attach (their key tables: struct cfg_program
 * over this struct, in enter.c and attach.c). */
struct session_opts {
	const char *config; /* -c: the peer.ini to find run-dir in */
	const char *run_dir; /* --run-dir */
	const char *target; /* attach --target */
};

/* The options enter and attach share, first in each one's key table. */
/* clang-format off */
#define SESSION_OPTS_KEYS \
	{ "config", NULL, NULL, "FILE", "the peer.ini whose run-dir to use (default /etc/stint/peer.ini if present)", \
	  .off = offsetof(struct session_opts, config), .short_opt = 'c', .type = CFG_STR, .flags = CFG_ARGV_ONLY }, \
	{ "run-dir", NULL, NULL, "DIR", "the peer's run-dir, with its control socket (default: as prepare reads it)", \
	  .off = offsetof(struct session_opts, run_dir), .type = CFG_PATH, .flags = CFG_ARGV_ONLY }
/* clang-format on */

/* Parse argv (argv[0] = the command) with p, then find the run-dir: the
 * --run-dir option, else run-dir as `status` reads it (its default,
 * peer.ini — -c FILE or /etc/stint/peer.ini — and STINT_PEER_RUN_DIR).
 * Returns -1 to go on (*first = the command's index, after any "--"),
 * else the exit status (2: bad option, logged; 0: --help printed). */
int control_options(const struct cfg_program *p, struct session_opts *o, int argc, char **argv, int *first,
		    char *run_dir, size_t len);
void control_reply_close(struct control_reply *r);

#endif
