/* stint: PID 1 of an unprivileged container whose root a privileged peer
 * prepares. Reads like its life: settings, signals, the handoff, the switch,
 * then exec or supervise COMMAND. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "init.h"
#include "stint/log.h"

/* Not PID 1 (e.g. under `docker run --init`-less tests or a shell): become
 * the reaper of our orphans anyway, so none escape to a foreign init. */
static void become_subreaper(void)
{
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("PR_SET_CHILD_SUBREAPER: %s; orphans will not be reaped by stint", strerror(errno));
}

static void handoff_failed(const struct config *cfg)
{
	if (cfg->on_failure != ON_FAILURE_BOOT)
		die(EXIT_HANDOFF, "handoff failed; exiting (on-failure=exit)");
	log_warn("!!! handoff failed: booting %s in the CURRENT root, which is NOT persistent "
		 "(on-failure=boot) !!!",
		 cfg->command[0]);
}

static void do_handoff(const struct config *cfg, int sigfd)
{
	struct handoff_outcome how;

	handoff_run(cfg, sigfd, &how);
	switch (how.result) {
	case HANDOFF_SIGNALLED:
		exit(EXIT_SIGNAL_BASE + how.signo);
	case HANDOFF_FAILED:
		handoff_failed(cfg);
		break;
	case HANDOFF_CHROOT:
	case HANDOFF_PIVOTED:
		if (switch_root(&how) < 0)
			handoff_failed(cfg);
		break;
	}
}

int main(int argc, char **argv)
{
	struct config cfg;
	sigset_t saved;
	int sigfd;

	log_init("stint");
	/* Not the init: a preStop hook beside it (halt.c). */
	if (argc > 1 && strcmp(argv[1], "halt") == 0)
		return halt_main(argc - 1, argv + 1);
	config_load(&cfg, argc, argv);
	sigfd = signals_setup(&saved);
	become_subreaper();
	log_info("stint %s starting as pid %d", STINT_VERSION, getpid());
	config_log(&cfg);

	if (cfg.socket)
		do_handoff(&cfg, sigfd);
	if (prepare_environment(&cfg) < 0)
		return EXIT_SETUP;
	if (cfg.supervise)
		run_supervise(&cfg, sigfd, &saved);
	run_exec(&cfg, &saved);
}
