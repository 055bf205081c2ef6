/* stint-peer: the privileged side of the stint handoff.
 *
 *   stint-peer [-s SOCKET] exec [--] COMMAND [ARG]...
 *   stint-peer ready [--root DIR | --pivoted]
 *   stint-peer abort REASON
 *   stint-peer [-s SOCKET] prepare [-c peer.ini] [--KEY VALUE]...
 *   stint-peer status [--state-file PATH | --notify PATH | -s SOCKET]
 *   stint-peer enter [--run-dir DIR] [--] [COMMAND [ARG]...]
 *   stint-peer attach [--target DIR] [--] [COMMAND [ARG]...]
 *   stint-peer doctor [-c peer.ini] [--json] [--KEY VALUE]...
 *   stint-peer image [show | accept | record DIR] [-c peer.ini]
 *   stint-peer diff [--shadowed] [--json] [-c peer.ini]
 *   stint-peer export [-c peer.ini] OUT.tar|-
 *
 * main() only parses and dispatches; the options are the key table of
 * src/peer/config.c, docs/peer.md describes them. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stint/exitcode.h"
#include "stint/log.h"
#include "doctor.h"
#include "image.h"
#include "peer.h"
#include "peer_config.h"

#ifndef STINT_VERSION
#define STINT_VERSION "dev"
#endif

static void print(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) < 0)
		exit(EXIT_SETUP);
}

/* The options before the command count as the command's own, given first:
 * "-s S -v prepare --mode pivot X" is read as "prepare -s S -v --mode pivot X". */
static char **join_args(int n_global, char **global, int argc, char **argv)
{
	char **v = calloc((size_t)(n_global + argc + 1), sizeof(*v));

	if (!v)
		die_errno(EXIT_SETUP, "allocating the arguments");
	v[0] = argv[0];
	memcpy(v + 1, global, (size_t)n_global * sizeof(*v));
	memcpy(v + 1 + n_global, argv + 1, (size_t)(argc - 1) * sizeof(*v));
	return v;
}

static int prepare_main(int argc, char **argv)
{
	struct peer_config c;
	char err[1024];
	int first, rc = peer_config_load(&peer_prepare_program, &c, argc, argv, &first);

	if (rc >= 0)
		return rc;
	if (first != argc) {
		log_error("prepare: unexpected argument '%s' (try --help)", argv[first]);
		return EXIT_USAGE;
	}
	if (peer_config_validate(&c, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	log_set_level(c.log_level);
	return peer_prepare(&c);
}

int main(int argc, char **argv)
{
	static struct peer_config g; /* the options before the command */
	struct cfg_args a;
	char err[1024];
	const char *cmd;
	char **sub;
	int level = log_level_parse(getenv("STINT_LOG_LEVEL"));

	log_init("stint-peer");
	if (level >= 0)
		log_set_level(level);
	g.log_level = -1;
	if (cfg_argv(&peer_global_program, &g, argc, argv, CFG_GLOBAL, true, &a, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	if (a.action == CFG_DO_HELP) {
		cfg_help(&peer_global_program, STDOUT_FILENO, CFG_GLOBAL);
		return EXIT_OK;
	}
	if (a.action == CFG_DO_VERSION) {
		print("stint-peer " STINT_VERSION "\n");
		return EXIT_OK;
	}
	if (g.log_level >= 0)
		log_set_level(g.log_level);
	if (a.first >= argc) {
		cfg_help(&peer_global_program, STDERR_FILENO, CFG_GLOBAL);
		return EXIT_USAGE;
	}
	cmd = argv[a.first];
	sub = argv + a.first;
	if (strcmp(cmd, "exec") == 0) {
		int first = argc - a.first > 1 && strcmp(sub[1], "--") == 0 ? 2 : 1;

		if (first >= argc - a.first) {
			log_error("usage: stint-peer [-s SOCKET] exec [--] COMMAND [ARG]...");
			return EXIT_USAGE;
		}
		return peer_exec(g.socket ? g.socket : getenv("STINT_SOCKET"), sub + first);
	}
	if (strcmp(cmd, "ready") == 0)
		return peer_ready(argc - a.first, sub);
	if (strcmp(cmd, "abort") == 0)
		return peer_abort(argc - a.first, sub);
	if (strcmp(cmd, "enter") == 0)
		return peer_enter(argc - a.first, sub);
	if (strcmp(cmd, "attach") == 0)
		return peer_attach(argc - a.first, sub);
	/* Up to the command: options, and maybe a "--" that ended them. */
	argc -= a.first;
	/* The commands that read the key table: their options, and those
	 * given before the command. */
	{
		static const struct {
			const char *name;
			int (*run)(int argc, char **argv);
		} keyed[] = { { "prepare", prepare_main }, { "status", peer_status }, { "doctor", peer_doctor },
			      { "image", peer_image },	   { "diff", peer_diff },     { "export", peer_export } };

		for (size_t i = 0; i < sizeof(keyed) / sizeof(keyed[0]); i++) {
			int n_global = a.first - 1 - (strcmp(argv[a.first - 1], "--") == 0);
			int rc;

			if (strcmp(cmd, keyed[i].name) != 0)
				continue;
			sub = join_args(n_global, argv + 1, argc, sub);
			rc = keyed[i].run(argc + n_global, sub);
			free(sub);
			return rc;
		}
	}
	log_error("unknown command '%s' (try --help)", cmd);
	return EXIT_USAGE;
}
