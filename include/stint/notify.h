/* Readiness: an sd_notify socket the peer serves for the booted OS, and a
 * small state file in the shared dir that `stint-peer status` reads. */
#ifndef STINT_NOTIFY_H
#define STINT_NOTIFY_H

#include <stddef.h>

struct peer_config;

struct peer_state {
	char state[32]; /* preparing, switched, booting, ready, stopping, failed */
	int ready;
	char status[256]; /* last STATUS= text, or a reason */
};

/* Bind a SOCK_DGRAM unix socket at path (a stale socket there is
 * replaced, any other file is an error), writable by the container's
 * root whatever its uid. Returns the fd or -1 (fail()). */
int notify_open(const char *path);

/* Read one datagram (sd_notify: "READY=1\nSTATUS=...") and update st.
 * Returns 1 if st changed, 0 if not, -1 on a read error. fds sent along
 * (FDSTORE=1) are closed. */
int notify_read(int fd, struct peer_state *st);

/* Where the state file lives: state-file=, else next to the socket. */
void state_file_path(const struct peer_config *c, char *out, size_t len);

/* Atomically replace the state file. Returns 0 or -1 (logged). */
int state_write(const char *path, const struct peer_state *st);
int state_read(const char *path, struct peer_state *st);

#endif
