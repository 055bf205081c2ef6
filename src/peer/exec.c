/* Exec mode, the original nsfdsuds --client: receive the init's fds and
 * hand them to a command (a shell script, usually) through the environment,
 * plus the `ready` and `abort` subcommands such a script runs at its end. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stint/config.h"
#include "stint/fdpass.h"
#include "stint/exitcode.h"
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
		return EXIT_USAGE;
	}
	switch (handoff_connect(&h, socket, NULL, deadline_in(EXEC_HANDSHAKE_MS))) {
	case HANDOFF_OK:
		break;
	case HANDOFF_NO_SOCKET:
		log_error("exec: nothing listens on %s (the init has switched root, or has not started)", socket);
		return EXIT_SETUP;
	default:
		log_error("exec: %s", fail_reason());
		return EXIT_SETUP;
	}
	for (uint32_t tag = 1; tag <= STINT_FD_TAG_MAX; tag++) {
		if (h.fd[tag] >= 0 && export_fd(stint_fd_tag_env(tag), h.fd[tag]) < 0)
			die_errno(EXIT_SETUP, "exec: export fd %s", stint_fd_tag_env(tag));
	}
	if (export_fd("SOCK", h.sock) < 0)
		die_errno(EXIT_SETUP, "exec: export the connection fd");
	snprintf(pid, sizeof(pid), "%u", h.pid);
	if (setenv("STINT_INIT_PID", pid, 1) < 0 || setenv("STINT_ROOT", h.root, 1) < 0)
		die_errno(EXIT_SETUP, "exec: setenv");
	log_info("exec: received %s's fds, running %s", socket, argv[0]);
	execvp(argv[0], argv);
	log_error("exec %s: %s", argv[0], strerror(errno));
	return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_EXEC_FAILED;
}

/* The connection inherited from `stint-peer exec`. */
static int inherited_sock(void)
{
	const char *v = getenv("STINT_FD_SOCK");
	const char *end;
	unsigned long fd;

	if (!v || !*v) {
		log_error("STINT_FD_SOCK is not set: run this under 'stint-peer exec'");
		return -1;
	}
	end = parse_decimal(v, 65535, &fd);
	if (!end || *end || fcntl((int)fd, F_GETFD) < 0) {
		log_error("STINT_FD_SOCK=%s is not an open fd", v);
		return -1;
	}
	return (int)fd;
}

/* `ready`'s options, read by the config engine like every other option. */
struct ready_opts {
	const char *root;
	bool pivoted;
	long timeout_ms;
};

static const struct cfg_key ready_keys[] = {
	{ "root", NULL, NULL, "DIR", "the init chroots into DIR (needs CAP_SYS_CHROOT; default: its own root)",
	  .off = offsetof(struct ready_opts, root), .short_opt = 'r', .type = CFG_PATH },
	{ "pivoted", NULL, NULL, NULL, "you already pivot_root'ed the init's mount namespace",
	  .off = offsetof(struct ready_opts, pivoted), .short_opt = 'p', .type = CFG_BOOL },
	{ "timeout", NULL, "30", "SECS", "wait at most SECS for the init's answer", .min = 1, .max = 3600,
	  .off = offsetof(struct ready_opts, timeout_ms), .short_opt = 't', .type = CFG_MS },
	CFG_KEY_HELP(CFG_ARGV_ONLY),
};

static const struct cfg_program ready_program = {
	.name = "stint-peer ready",
	.section = "ready",
	.keys = ready_keys,
	.n_keys = ARRAY_SIZE(ready_keys),
	.usage = "usage: stint-peer ready [--root DIR | --pivoted] [--timeout SECS]\n"
		 "(inside exec) tell the init its root is ready, wait for its answer.\n\n",
};

int peer_ready(int argc, char **argv)
{
	struct ready_opts o = { 0 };
	struct cfg_args a;
	char err[512];
	int sock;

	if (cfg_load_argv(&ready_program, &o, argc, argv, &a, err, sizeof(err)) < 0) {
		log_error("ready: %s", err);
		return EXIT_USAGE;
	}
	if (a.action == CFG_DO_HELP) {
		cfg_help(&ready_program, STDOUT_FILENO, 0);
		return EXIT_OK;
	}
	if (a.first != argc || (o.pivoted && o.root)) {
		log_error("usage: stint-peer ready [--root DIR | --pivoted] [--timeout SECS]");
		return EXIT_USAGE;
	}
	if ((sock = inherited_sock()) < 0)
		return EXIT_USAGE;
	if (handoff_ready(sock, o.pivoted ? STINT_READY_PIVOTED : STINT_READY_CHROOT, o.root ? o.root : "", NULL,
			  deadline_in(o.timeout_ms)) != HANDOFF_OK) {
		log_error("ready: %s", fail_reason());
		return EXIT_SETUP;
	}
	log_info("ready: the init acknowledged (%s)", o.pivoted ? "pivoted" : o.root ? o.root : "default root");
	return EXIT_OK;
}

int peer_abort(int argc, char **argv)
{
	int sock;

	if (argc != 2 || !argv[1][0]) {
		log_error("usage: stint-peer abort REASON");
		return EXIT_USAGE;
	}
	if ((sock = inherited_sock()) < 0)
		return EXIT_USAGE;
	if (handoff_abort(sock, argv[1]) < 0) {
		log_error("abort: %s", fail_reason());
		return EXIT_SETUP;
	}
	return EXIT_OK;
}
