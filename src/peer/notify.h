/* The sd_notify socket the peer serves for the booted OS (sd_notify(3)):
 * datagrams of newline-separated VAR=VALUE lines. The socket sits alone in
 * a directory of the peer's run-dir; that directory (not the socket file)
 * is bound read-only into the new root, so a restarted peer that binds a
 * new socket there is reached by the running OS, and the OS can plant
 * nothing beside it. */
#ifndef STINT_PEER_NOTIFY_H
#define STINT_PEER_NOTIFY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define NOTIFY_MAX 4096 /* longest datagram read; longer ones are ignored */

struct notify {
	int fd; /* the bound socket (non-blocking), -1 when off */
	int dirfd; /* O_PATH of its directory */
	char dir[PATH_MAX]; /* that directory, in the peer's mount ns */
	char name[NAME_MAX + 1];
	bool pidfds; /* the kernel tells each sender's pidfd (SO_PASSPIDFD) */
};

/* What one datagram says, as far as the peer cares. */
struct notify_msg {
	bool ready; /* READY=1 */
	bool stopping; /* STOPPING=1 */
	bool has_status; /* STATUS=... */
	char status[256];
};

/* Bind a SOCK_DGRAM socket at path, creating its directory (0755) if
 * missing; whatever sits at the name is removed first (its directory is
 * the peer's). Born 0666 under a umask: any uid of the guest may send.
 * Returns 0 or -1 (fail()). */
int notify_open(struct notify *n, const char *path);
void notify_close(struct notify *n);

/* Parse one datagram (pure: no I/O; the fuzzing target). Unknown lines
 * are ignored; STATUS= is cut to fit, control characters become '?'. */
void notify_parse(const char *buf, size_t len, struct notify_msg *m);

/* Receive and parse one datagram. *sender is the sender's pidfd or -1 (the
 * caller closes it); *size its real length. Returns 1 for a datagram that
 * was parsed, 2 for one ignored because it is over NOTIFY_MAX, 0 when the
 * queue is empty, -1 on an error (errno). Attached fds are closed. */
int notify_recv(struct notify *n, struct notify_msg *m, int *sender, size_t *size);

#endif
