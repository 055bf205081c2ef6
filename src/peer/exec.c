/* Exec mode, the original nsfdsuds --client: receive the init's fds and
 * hand them to a command (a shell script, usually) through the environment,
 * plus the `ready` and `abort` subcommands such a script runs at its end. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stint/fdpass.h"
#include "stint/log.h"
#include "peer.h"
#include "err.h"
#include "handoff.h"

/* exec mode: the init answers HELLO at once, or something is wrong. */
#define EXEC_HANDSHAKE_MS 10000
#include "stint/util.h"

static int keep_on_exec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags < 0 ? -1 : fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
}

static int export_fd(const char *name, int fd)
{
	char var[64], val[16];

	if (keep_on_exec(fd) < 0)
		return -1;
	snprintf(var, sizeof(var), "STINT_FD_%s", name);
	snprintf(val, sizeof(val), "%d", fd);
	return setenv(var, val, 1);
}

int peer_exec(const char *socket, char **argv)
{
	struct handoff h;
	char pid[16];

	if (!socket) {
		log_error("exec: no socket: give -s PATH or set STINT_SOCKET");
		return 2;
	}
	switch (handoff_connect(&h, socket, NULL, deadline_in(EXEC_HANDSHAKE_MS))) {
	case HANDOFF_OK:
		break;
	case HANDOFF_NO_SOCKET:
		log_error("exec: nothing listens on %s (the init has switched root, or has not started)", socket);
		return 1;
	default:
		log_error("exec: %s", fail_reason());
		return 1;
	}
	for (uint32_t tag = 1; tag <= STINT_FD_TAG_MAX; tag++) {
		if (h.fd[tag] >= 0 && export_fd(stint_fd_tag_env(tag), h.fd[tag]) < 0)
			die_errno(1, "exec: export fd %s", stint_fd_tag_env(tag));
	}
	if (export_fd("SOCK", h.sock) < 0)
		die_errno(1, "exec: export the connection fd");
	snprintf(pid, sizeof(pid), "%u", h.pid);
	if (setenv("STINT_INIT_PID", pid, 1) < 0 || setenv("STINT_ROOT", h.root, 1) < 0)
		die_errno(1, "exec: setenv");
	log_info("exec: received %s's fds, running %s", socket, argv[0]);
	execvp(argv[0], argv);
	log_error("exec %s: %s", argv[0], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

/* The connection inherited from `stint-peer exec`. */
static int inherited_sock(void)
{
	const char *v = getenv("STINT_FD_SOCK");
	char *end;
	long fd;

	if (!v || !*v) {
		log_error("STINT_FD_SOCK is not set: run this under 'stint-peer exec'");
		return -1;
	}
	fd = strtol(v, &end, 10);
	if (*end || fd < 0 || fd > 65535 || fcntl((int)fd, F_GETFD) < 0) {
		log_error("STINT_FD_SOCK=%s is not an open fd", v);
		return -1;
	}
	return (int)fd;
}

int peer_ready(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "pivoted", no_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root = "";
	unsigned long timeout = 30;
	char *end;
	int pivoted = 0, c, sock;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+r:pt:", opts, NULL)) != -1) {
		if (c == 'r') {
			root = optarg;
		} else if (c == 'p') {
			pivoted = 1;
		} else if (c == 't') {
			timeout = strtoul(optarg, &end, 10);
			if (timeout < 1 || timeout > 3600 || *end || optarg[0] == '-') {
				log_error("ready: --timeout '%s' is not a number of seconds from 1 to 3600", optarg);
				return 2;
			}
		} else {
			return 2;
		}
	}
	if (optind != argc || (pivoted && root[0])) {
		log_error("usage: stint-peer ready [--root DIR | --pivoted] [--timeout SECS]");
		return 2;
	}
	if (root[0] && root[0] != '/') {
		log_error("ready: --root %s is not an absolute path", root);
		return 2;
	}
	if ((sock = inherited_sock()) < 0)
		return 2;
	if (handoff_ready(sock, pivoted ? STINT_READY_PIVOTED : STINT_READY_CHROOT, root, NULL,
			  deadline_in((long long)timeout * 1000)) != HANDOFF_OK) {
		log_error("ready: %s", fail_reason());
		return 1;
	}
	log_info("ready: the init acknowledged (%s)", pivoted ? "pivoted" : root[0] ? root : "default root");
	return 0;
}

int peer_abort(int argc, char **argv)
{
	int sock;

	if (argc != 2 || !argv[1][0]) {
		log_error("usage: stint-peer abort REASON");
		return 2;
	}
	if ((sock = inherited_sock()) < 0)
		return 2;
	if (handoff_abort(sock, argv[1]) < 0) {
		log_error("abort: %s", fail_reason());
		return 1;
	}
	return 0;
}
