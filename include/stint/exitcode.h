/* Exit statuses of both programs (stint(8), stint-peer(8)). */
#ifndef STINT_EXITCODE_H
#define STINT_EXITCODE_H

enum {
	EXIT_OK = 0,
	EXIT_SETUP = 1, /* could not set up, or the work failed (prepare, not ready) */
	EXIT_USAGE = 2, /* bad command line, config file or environment */
	EXIT_HANDOFF = 3, /* the handoff failed: timeout, ABORT, switch */
	EXIT_EXEC_FAILED = 126, /* COMMAND found but not run */
	EXIT_NOT_FOUND = 127, /* COMMAND not found */
	EXIT_SIGNAL_BASE = 128, /* + N: ended by signal N */
};

#endif
