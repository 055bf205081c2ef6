/* `stint-peer status`: the readiness probe, run in the sidecar. Exit 0
 * once the OS reported READY=1 on the notify socket (or, without one, once
 * the root switched or the ready-path appeared) and its init still runs;
 * otherwise exit 1 with one line saying why. It reads the state file in the
 * peer's own run-dir, a regular file only. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stint/exitcode.h"
#include "stint/format.h"
#include "stint/log.h"
#include "stint/path.h"
#include "peer_config.h"
#include "stint/util.h"
#include "peer.h"
#include "state.h"

int peer_status(int argc, char **argv)
{
	struct peer_config c;
	struct peer_state st;
	char where[PATH_MAX + 16];
	int first, quiet, verbose, rc = peer_config_load(&peer_status_program, &c, argc, argv, &first);

	if (rc >= 0)
		return rc;
	if (first != argc) {
		log_error("status: unexpected argument '%s' (try --help)", argv[first]);
		return EXIT_USAGE;
	}
	/* -q is log-level error: the "ready" line is for people; -v (debug)
	 * adds the boot count and the init served. */
	quiet = c.log_level == LOG_ERROR;
	verbose = c.log_level == LOG_DEBUG;
	rc = EXIT_SETUP;
	if (state_load_path(c.state_file, c.run_dir, &st, where, sizeof(where)) < 0) {
		if (errno == ENOENT)
			fd_printf(STDERR_FILENO, "not ready: no state file %s (the peer has not run yet)\n", where);
		else
			fd_printf(STDERR_FILENO, "not ready: state file %s: %s\n", where,
				  errno == EINVAL ? "not a regular state file" : strerror(errno));
		goto out;
	}
	if (st.ready) {
		if (!quiet)
			fd_printf(STDERR_FILENO, "ready: %s%s%s\n", st.state, st.status[0] ? ": " : "", st.status);
		rc = EXIT_OK;
	} else {
		fd_printf(STDERR_FILENO, "not ready: %s%s%s\n", st.state, st.status[0] ? ": " : "", st.status);
	}
	if (verbose)
		fd_printf(STDERR_FILENO, "boots=%u\ninit=%s\n", st.boots, st.init);
out:
	return rc;
}
