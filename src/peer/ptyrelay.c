/* A pseudo-terminal between the operator's terminal and a session's
 * command (ptyrelay.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "stint/log.h"
#include "stint/util.h"
#include "err.h"
#include "obuf.h"
#include "ptyrelay.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* The operator's terminal the slave takes its modes and size from. */
static int operator_tty(const struct pty_relay *r)
{
	return r->replaced & 1 ? STDIN_FILENO : r->out;
}

/* The pseudo-terminal's two ends, set like the operator's terminal. */
static int open_pair(struct pty_relay *r)
{
	struct termios modes;
	struct winsize ws;

	r->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (r->master < 0)
		return fail_errno("open a pseudo-terminal for the session (/dev/ptmx)");
	/* The slave by the master's fd, not by a path in /dev/pts. */
	if (unlockpt(r->master) < 0 || (r->slave = ioctl(r->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return fail_errno("open the session's pseudo-terminal slave");
	if (tcgetattr(operator_tty(r), &modes) == 0 && tcsetattr(r->slave, TCSANOW, &modes) < 0)
		return fail_errno("copy the terminal's modes to the session's");
	if (ioctl(operator_tty(r), TIOCGWINSZ, &ws) == 0 && ioctl(r->master, TIOCSWINSZ, &ws) < 0)
		return fail_errno("copy the terminal's size to the session's");
	if (fcntl(r->master, F_SETFL, O_NONBLOCK) < 0)
		return fail_errno("make the session's pseudo-terminal non-blocking");
	return 0;
}

int pty_relay_open(struct pty_relay *r)
{
	memset(r, 0, sizeof(*r));
	r->master = r->slave = r->out = -1;
	for (int fd = 0; fd <= 2; fd++)
		if (isatty(fd))
			r->replaced |= 1u << fd;
	if (!r->replaced)
		return 0;
	r->out = r->replaced & 2 ? STDOUT_FILENO : r->replaced & 4 ? STDERR_FILENO : STDIN_FILENO;
	if (open_pair(r) == 0)
		return 0;
	if (r->slave >= 0)
		close(r->slave);
	if (r->master >= 0)
		close(r->master);
	r->master = r->slave = -1;
	return -1;
}

int pty_relay_adopt(struct pty_relay *r)
{
	if (r->slave < 0)
		return 0;
	for (int fd = 0; fd <= 2; fd++)
		if (r->replaced & (1u << fd) && dup2(r->slave, fd) < 0)
			return fail_errno("the session's pseudo-terminal as fd %d", fd);
	close(r->slave);
	close(r->master);
	r->slave = r->master = -1;
	return 0;
}

void pty_relay_ctty(const struct pty_relay *r)
{
	/* A session of its own in any case: not one whose terminal is the
	 * operator's (kubectl exec -t makes it the caller's). */
	if (setsid() < 0)
		return;
	for (int fd = 0; fd <= 2; fd++)
		if (r->replaced & (1u << fd)) {
			ioctl(fd, TIOCSCTTY, 0);
			return;
		}
}

int pty_relay_start(struct pty_relay *r)
{
	struct termios raw;

	if (r->slave >= 0)
		close(r->slave);
	r->slave = -1;
	/* Input and raw mode only from the terminal's foreground: a
	 * background job's read() or tcsetattr() would stop it (SIGTTIN,
	 * SIGTTOU). */
	if (!(r->replaced & 1) || tcgetpgrp(STDIN_FILENO) != getpgrp())
		return 0;
	r->input = true;
	if (tcgetattr(STDIN_FILENO, &r->saved) < 0)
		return fail_errno("read the terminal's modes");
	raw = r->saved;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0)
		return fail_errno("put the terminal in raw mode");
	r->raw = true;
	return 0;
}

int pty_relay_pollfds(const struct pty_relay *r, struct pollfd *p)
{
	int n = 0;

	if (r->master < 0)
		return 0;
	p[n++] = (struct pollfd){ .fd = r->master, .events = POLLIN | (r->npending ? POLLOUT : 0) };
	if (r->input && !r->in_eof && !r->npending)
		p[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	return n;
}

/* The slave's output to the operator: what read() gave (0 or -1 with
 * EIO once every slave fd is closed, EAGAIN when nothing is there). */
static ssize_t copy_out(struct pty_relay *r)
{
	char buf[4096];
	ssize_t n = TEMP_FAILURE_RETRY(read(r->master, buf, sizeof(buf)));

	if (n > 0)
		(void)fd_write_all(r->out, buf, (size_t)n); /* the terminal gone: nobody to tell */
	return n;
}

static void copy_in(struct pty_relay *r)
{
	ssize_t n = TEMP_FAILURE_RETRY(write(r->master, r->pending, r->npending));

	if (n > 0) {
		memmove(r->pending, r->pending + n, r->npending - (size_t)n);
		r->npending -= (size_t)n;
	} else if (n < 0 && errno != EAGAIN) {
		r->npending = 0; /* the session's side is gone */
	}
}

void pty_relay_step(struct pty_relay *r, const struct pollfd *p, int n)
{
	for (int i = 0; i < n; i++) {
		if (p[i].fd == r->master && p[i].revents & POLLOUT)
			copy_in(r);
		if (p[i].fd == r->master && p[i].revents & (POLLIN | POLLHUP | POLLERR) && copy_out(r) <= 0 &&
		    errno != EAGAIN) {
			/* Every slave fd closed: nothing more to relay. */
			close(r->master);
			r->master = -1;
			return;
		}
		if (p[i].fd == STDIN_FILENO && p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t got = TEMP_FAILURE_RETRY(read(STDIN_FILENO, r->pending, sizeof(r->pending)));

			if (got > 0)
				r->npending = (size_t)got;
			else if (got == 0 || errno != EAGAIN)
				r->in_eof = true;
		}
	}
}

void pty_relay_resize(const struct pty_relay *r)
{
	struct winsize ws;

	if (r->master >= 0 && ioctl(operator_tty(r), TIOCGWINSZ, &ws) == 0)
		ioctl(r->master, TIOCSWINSZ, &ws);
}

void pty_relay_finish(struct pty_relay *r)
{
	/* The session's processes are all gone (its PID 1 exited): what they
	 * wrote is read until EIO. */
	while (r->master >= 0 && copy_out(r) > 0)
		;
	if (r->master >= 0)
		close(r->master);
	r->master = -1;
	if (r->raw && tcsetattr(STDIN_FILENO, TCSADRAIN, &r->saved) < 0)
		log_warn("restore the terminal's modes: %s", strerror(errno));
	r->raw = false;
}
