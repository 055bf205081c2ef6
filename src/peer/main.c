/* stint-peer: the privileged side of the stint handoff.
 *
 *   stint-peer [-s SOCKET] exec [--] COMMAND [ARG]...
 *   stint-peer ready [--root DIR | --pivoted]
 *   stint-peer abort REASON
 *   stint-peer [-s SOCKET] prepare [-c peer.ini] [--KEY VALUE]...
 *   stint-peer status [--state-file PATH | --notify PATH | -s SOCKET]
 *
 * main() only parses and dispatches; docs/peer.md describes every option. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stint/log.h"
#include "peer.h"
#include "stint/peer_config.h"

#ifndef STINT_VERSION
#define STINT_VERSION "dev"
#endif

static const char usage_text[] =
	"usage: stint-peer [-s SOCKET] [-v|-q] COMMAND ...\n"
	"  exec [--] CMD [ARG]...   receive the init's fds, export STINT_FD_* and exec CMD\n"
	"  ready [--root DIR | --pivoted]   (inside exec) tell the init the root is ready\n"
	"  abort REASON             (inside exec) tell the init preparation failed\n"
	"  prepare [-c FILE] [--KEY VALUE]...   build the persistent root and switch\n"
	"      keys: socket mode then lower upper work state root carry include exclude\n"
	"            tmpfs cgroup cgroup-path notify notify-target state-file ready-path\n"
	"            console machine-id timeout wait-socket log-level run-dir\n"
	"            prepare-timeout handshake-timeout\n"
	"  status [--state-file P | --notify P | -s SOCKET | -c FILE]   readiness probe\n"
	"See docs/peer.md.\n";

/* prepare's flags: one long option per config key, plus -c. */
static struct option prepare_opts[40];

static void build_prepare_opts(void)
{
	static const char *const names[] = { "socket",	  "mode",	   "then",	 "lower",	"upper",
					     "work",	  "state",	   "root",	 "carry",	"include",
					     "exclude",	  "tmpfs",	   "cgroup",	 "cgroup-path", "notify",
					     "notify-target", "state-file", "ready-path", "console",	"machine-id",
					     "timeout",	  "wait-socket", "log-level", "run-dir", "prepare-timeout",
					     "handshake-timeout", NULL };
	size_t i;

	for (i = 0; names[i]; i++)
		prepare_opts[i] = (struct option){ names[i], required_argument, NULL, 1000 + (int)i };
	prepare_opts[i++] = (struct option){ "config", required_argument, NULL, 'c' };
	prepare_opts[i++] = (struct option){ "help", no_argument, NULL, 'h' };
	prepare_opts[i++] = (struct option){ "verbose", no_argument, NULL, 'v' };
	prepare_opts[i++] = (struct option){ "quiet", no_argument, NULL, 'q' };
	prepare_opts[i] = (struct option){ NULL, 0, NULL, 0 };
}

static int prepare_main(int argc, char **argv, const char *socket, int verbosity)
{
	struct peer_config c;
	char err[1024];
	const char *file = NULL;
	int opt, idx, rc = 2;

	build_prepare_opts();
	peer_config_defaults(&c);
	/* Pass 1: find the config file, so that flags override it. */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+c:hvq", prepare_opts, &idx)) != -1) {
		if (opt == 'c')
			file = optarg;
		if (opt == 'h') {
			fputs(usage_text, stdout);
			rc = 0;
			goto out;
		}
	}
	if (!file && access("/etc/stint/peer.ini", F_OK) == 0)
		file = "/etc/stint/peer.ini";
	if (file && peer_config_load(&c, file, err, sizeof(err)) < 0)
		goto bad;
	if (peer_config_env(&c, err, sizeof(err)) < 0)
		goto bad;
	if (socket && peer_config_set(&c, "socket", socket, PEER_LVL_FLAG, err, sizeof(err)) < 0)
		goto bad;
	optind = 0;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "+c:hvq", prepare_opts, &idx)) != -1) {
		if (opt == '?') {
			log_error("prepare: bad option (try --help)");
			goto out;
		}
		if (opt == 'v' || opt == 'q')
			verbosity = opt == 'v' ? 1 : -1;
		if (opt >= 1000 &&
		    peer_config_set(&c, prepare_opts[opt - 1000].name, optarg, PEER_LVL_FLAG, err, sizeof(err)) < 0)
			goto bad;
	}
	if (optind != argc) {
		log_error("prepare: unexpected argument '%s' (try --help)", argv[optind]);
		goto out;
	}
	if (peer_config_validate(&c, err, sizeof(err)) < 0)
		goto bad;
	log_set_level(verbosity > 0 ? LOG_DEBUG : verbosity < 0 ? LOG_ERROR : c.log_level);
	rc = peer_prepare(&c);
	goto out;
bad:
	log_error("%s", err);
out:
	peer_config_free(&c);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },	    { "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	const char *socket = NULL, *cmd;
	int opt, verbosity = 0;

	log_init("stint-peer");
	if (getenv("STINT_LOG_LEVEL") && strcmp(getenv("STINT_LOG_LEVEL"), "debug") == 0)
		log_set_level(LOG_DEBUG);
	while ((opt = getopt_long(argc, argv, "+s:vqVh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket = optarg;
			break;
		case 'v':
			verbosity = 1;
			log_set_level(LOG_DEBUG);
			break;
		case 'q':
			verbosity = -1;
			log_set_level(LOG_ERROR);
			break;
		case 'V':
			printf("stint-peer %s\n", STINT_VERSION);
			return 0;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs("try 'stint-peer --help'\n", stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "exec") == 0) {
		int first = argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1;

		if (first >= argc) {
			log_error("usage: stint-peer [-s SOCKET] exec [--] COMMAND [ARG]...");
			return 2;
		}
		return peer_exec(socket ? socket : getenv("STINT_SOCKET"), argv + first);
	}
	if (strcmp(cmd, "ready") == 0)
		return peer_ready(argc, argv);
	if (strcmp(cmd, "abort") == 0)
		return peer_abort(argc, argv);
	if (strcmp(cmd, "prepare") == 0)
		return prepare_main(argc, argv, socket, verbosity);
	if (strcmp(cmd, "status") == 0)
		return peer_status(argc, argv);
	log_error("unknown command '%s' (try --help)", cmd);
	return 2;
}
