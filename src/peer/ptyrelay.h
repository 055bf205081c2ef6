/* The operator's terminal never reaches a session's command (session.h).
 *
 * Whoever holds a terminal as its controlling one can push input into it
 * (TIOCSTI, allowed while dev.tty.legacy_tiocsti is 1) and change its modes:
 * a command of the OS, whose shell profile the guest writes, would type
 * into the sidecar's shell once `enter` returns. So when any of fds 0-2 is
 * a terminal, the caller opens a pseudo-terminal of its own, the command
 * gets its slave in place of each terminal fd (and as its controlling
 * terminal), and the caller copies bytes between the two: the operator's
 * terminal in raw mode, the slave with its modes and window size, resized
 * with it (SIGWINCH), what the guest injects lands in its own slave. */
#ifndef STINT_PEER_PTYRELAY_H
#define STINT_PEER_PTYRELAY_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

struct pty_relay {
	int master, slave; /* -1: no terminal, nothing to relay */
	unsigned replaced; /* bit N: fd N is a terminal the slave replaces */
	int out; /* the operator's terminal fd the slave's output goes to */
	bool input; /* the operator's input is relayed (fd 0, in the foreground) */
	bool raw; /* the operator's terminal was put in raw mode */
	struct termios saved; /* its modes before */
	char pending[4096]; /* read from the operator, not yet written */
	size_t npending;
	bool in_eof; /* the operator's input ended */
};

/* In the caller, before the session forks: the pseudo-terminal when fds
 * 0-2 hold a terminal. 0 or -1 (fail()). */
int pty_relay_open(struct pty_relay *r);

/* In the session's first process: the slave in place of each terminal fd;
 * the master and the slave's own fd closed. 0 or -1 (fail()). */
int pty_relay_adopt(struct pty_relay *r);

/* In the command's process: a session of its own, the slave (if any) its
 * controlling terminal. */
void pty_relay_ctty(const struct pty_relay *r);

/* In the caller, after the fork: close the slave, put the operator's
 * terminal in raw mode. 0 or -1 (fail()). */
int pty_relay_start(struct pty_relay *r);

/* The fds to poll (at most 2) into p; returns how many. */
int pty_relay_pollfds(const struct pty_relay *r, struct pollfd *p);

/* Move what is ready between the two ends after a poll. */
void pty_relay_step(struct pty_relay *r, const struct pollfd *p, int n);

/* The operator's window size to the slave (on SIGWINCH). */
void pty_relay_resize(const struct pty_relay *r);

/* After the session ended: the slave's last output, the operator's
 * terminal modes back, the master closed. */
void pty_relay_finish(struct pty_relay *r);

#endif
