/* The image record after the boot: recorder.h. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stint/log.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "peer_config.h"
#include "recorder.h"

#define KILL_WAIT_MS 800

void recorder_keep(struct peer_run *r, pid_t pid, int sock)
{
	/* The pidfd now, while the worker cannot have been reaped: every
	 * later wait for it is a bounded poll. */
	r->rec = (struct recorder){
		.pid = pid, .sock = sock, .pidfd = sys_pidfd_open(pid, 0), .deadline = DEADLINE_NONE
	};
	if (r->rec.pidfd < 0) {
		log_warn("image: not recorded: pidfd_open of the worker %d: %s", (int)pid, strerror(errno));
		recorder_stop(r, true);
	}
}

void recorder_hold(struct peer_run *r)
{
	if (r->rec.pid > 0)
		r->rec.deadline = deadline_in(r->cfg->prepare_timeout_ms);
}

static void reap(struct peer_run *r, bool report)
{
	struct recorder *rec = &r->rec;
	int status = 0;

	if (TEMP_FAILURE_RETRY(waitpid(rec->pid, &status, 0)) < 0)
		log_warn("image: wait for the recording worker %d: %s", (int)rec->pid, strerror(errno));
	else if (report && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		log_warn("image: the recording worker died (status %#x): the next boot records the image", status);
	else if (report)
		log_info("image: the record after the boot is done");
	if (rec->pidfd >= 0)
		close(rec->pidfd);
	if (rec->sock >= 0)
		close(rec->sock);
	*rec = (struct recorder){ .sock = -1, .pidfd = -1, .deadline = DEADLINE_NONE };
}

static void go(struct peer_run *r)
{
	struct recorder *rec = &r->rec;

	if (write(rec->sock, "G", 1) != 1) {
		log_warn("image: not recorded: telling the worker to go: %s", strerror(errno));
		recorder_stop(r, true);
		return;
	}
	close(rec->sock);
	rec->sock = -1;
	rec->deadline = deadline_in(r->cfg->prepare_timeout_ms + 1000); /* the worker's own ends 1 s before */
}

void recorder_stop(struct peer_run *r, bool quiet)
{
	struct recorder *rec = &r->rec;

	if (rec->pid <= 0)
		return;
	if (!quiet && rec->sock >= 0)
		log_info("image: not recorded: the OS did not report ready while this peer served it (the next boot "
			 "records the image)");
	else if (!quiet)
		log_warn("image: the record of the last boot had not finished: stopped (the next boot records the "
			 "image)");
	kill(rec->pid, SIGKILL);
	if (rec->pidfd >= 0 && run_wait(NULL, rec->pidfd, POLLIN, deadline_in(KILL_WAIT_MS)) <= 0) {
		/* SIGKILL waits for a sync of the volume to return; no later
		 * step of the record runs, so nothing more is written. */
		log_warn("image: the recording worker %d is still in the kernel %d ms after SIGKILL (a sync of the "
			 "volume?): left to end",
			 (int)rec->pid, KILL_WAIT_MS);
		r->rec_lingering = rec->pid;
		close(rec->pidfd);
		if (rec->sock >= 0)
			close(rec->sock);
		*rec = (struct recorder){ .sock = -1, .pidfd = -1, .deadline = DEADLINE_NONE };
		return;
	}
	reap(r, false);
}

void recorder_tick(struct peer_run *r)
{
	struct recorder *rec = &r->rec;
	struct pollfd p = { .fd = rec->pidfd, .events = POLLIN };

	if (r->rec_lingering > 0 && waitpid(r->rec_lingering, NULL, WNOHANG) != 0)
		r->rec_lingering = 0;
	if (rec->pid <= 0)
		return;
	if (poll(&p, 1, 0) > 0) {
		reap(r, rec->sock < 0);
		return;
	}
	if (rec->sock >= 0 && rec->deadline != DEADLINE_NONE && (r->st.ready || deadline_passed(rec->deadline))) {
		if (!r->st.ready)
			log_info(
				"image: the OS has not reported ready within prepare-timeout: recording its image now");
		go(r);
		return;
	}
	if (rec->sock < 0 && deadline_passed(rec->deadline)) {
		log_warn("image: the record did not finish within prepare-timeout (%ld ms)",
			 r->cfg->prepare_timeout_ms);
		recorder_stop(r, true);
	}
}

void recorder_wait(struct peer_run *r)
{
	struct recorder *rec = &r->rec;

	if (rec->pid <= 0)
		return;
	go(r);
	if (rec->pid <= 0)
		return;
	if (run_wait(r, rec->pidfd, POLLIN, rec->deadline) > 0) {
		reap(r, true);
		return;
	}
	if (!r->stop_signal)
		log_warn("image: the record did not finish within prepare-timeout (%ld ms)",
			 r->cfg->prepare_timeout_ms);
	recorder_stop(r, true);
}
