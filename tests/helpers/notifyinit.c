/* notifyinit: a tiny PID 1 for tests of the peer's notify socket. The
 * peer counts READY=1/STOPPING=1/STATUS= only from the OS's init, so the
 * test's messages must come from PID 1 itself: this program runs its
 * arguments as a child (e.g. a probe script), then reads lines from the
 * FIFO $NOTIFYINIT_FIFO (created if missing):
 *   send TEXT   one datagram TEXT to $NOTIFY_SOCKET ("\n" = newline)
 *   exit N      exit with status N
 * and reaps every child meanwhile. Errors go to stderr and end it (1). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void send_notify(const char *text)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = getenv("NOTIFY_SOCKET");
	char msg[8192];
	size_t n = 0;
	int s;

	for (const char *p = text; *p && n < sizeof(msg) - 1; p++) {
		if (p[0] == '\\' && p[1] == 'n') {
			msg[n++] = '\n';
			p++;
		} else {
			msg[n++] = *p;
		}
	}
	if (!path || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "notifyinit: NOTIFY_SOCKET unset or too long\n");
		exit(1);
	}
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || sendto(s, msg, n, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fprintf(stderr, "notifyinit: send to %s: %s\n", path, strerror(errno));
	close(s);
}

int main(int argc, char **argv)
{
	const char *fifo = getenv("NOTIFYINIT_FIFO");
	char line[8192];
	FILE *f;
	int fd;

	if (!fifo) {
		fprintf(stderr, "notifyinit: NOTIFYINIT_FIFO is not set\n");
		return 1;
	}
	if (mkfifo(fifo, 0600) < 0 && errno != EEXIST) {
		fprintf(stderr, "notifyinit: mkfifo %s: %s\n", fifo, strerror(errno));
		return 1;
	}
	if (argc > 1 && fork() == 0) {
		execv(argv[1], argv + 1);
		fprintf(stderr, "notifyinit: exec %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	/* O_RDWR: the FIFO never reads end-of-file between writers. */
	fd = open(fifo, O_RDWR | O_CLOEXEC);
	if (fd < 0 || !(f = fdopen(fd, "r"))) {
		fprintf(stderr, "notifyinit: open %s: %s\n", fifo, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (strncmp(line, "send ", 5) == 0)
			send_notify(line + 5);
		else if (strncmp(line, "exit ", 5) == 0)
			return atoi(line + 5);
	}
	return 1;
}
