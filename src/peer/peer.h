/* Entry points of stint-peer's subcommands (src/peer/). Each returns the
 * process exit status. */
#ifndef STINT_PEER_H
#define STINT_PEER_H

struct peer_config;

int peer_exec(const char *socket, char **argv); /* exec mode (nsfdsuds --client) */
int peer_ready(int argc, char **argv); /* ready [--root DIR | --pivoted] */
int peer_abort(int argc, char **argv); /* abort REASON */
int peer_prepare(const struct peer_config *c); /* prepare mode */
int peer_status(int argc, char **argv); /* readiness probe */
int peer_enter(int argc, char **argv); /* a command inside the booted OS (enter.c) */
int peer_attach(int argc, char **argv); /* the sidecar's tools beside the OS (attach.c) */

#endif
