/* `stint-peer status`: a readiness probe. Exit 0 once the OS reported
 * READY=1 on the notify socket (or, without one, once the root switched or
 * the ready-path appeared); otherwise exit 1 with one line saying why. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "stint/log.h"
#include "stint/notify.h"
#include "stint/peer.h"
#include "stint/peer_config.h"

int peer_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-file", required_argument, NULL, 'f' },
		{ "notify", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct peer_config c;
	struct peer_state st;
	char path[4096], err[1024];
	int opt, quiet = 0, rc = 1;

	peer_config_defaults(&c);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "+c:s:f:n:q", opts, NULL)) != -1) {
		const char *key = opt == 'c' ? NULL : opt == 's' ? "socket" : opt == 'f' ? "state-file" : "notify";

		if (opt == '?') {
			rc = 2;
			goto out;
		}
		if (opt == 'q') {
			quiet = 1;
			continue;
		}
		if (opt == 'c' ? peer_config_load(&c, optarg, err, sizeof(err)) :
				 peer_config_set(&c, key, optarg, PEER_LVL_FLAG, err, sizeof(err))) {
			log_error("%s", err);
			rc = 2;
			goto out;
		}
	}
	if (!c.state_file && !c.socket && !c.notify) {
		log_error("status: give --state-file PATH, --notify PATH, -s SOCKET or -c peer.ini");
		rc = 2;
		goto out;
	}
	state_file_path(&c, path, sizeof(path));
	if (state_read(path, &st) < 0) {
		fprintf(stderr, "not ready: no state file %s (the peer has not run yet)\n", path);
		goto out;
	}
	if (st.ready && strcmp(st.state, "stopping") != 0) {
		if (!quiet)
			fprintf(stderr, "ready: %s%s%s\n", st.state, st.status[0] ? ": " : "", st.status);
		rc = 0;
	} else {
		fprintf(stderr, "not ready: %s%s%s\n", st.state[0] ? st.state : "unknown", st.status[0] ? ": " : "",
			st.status);
	}
out:
	peer_config_free(&c);
	return rc;
}
