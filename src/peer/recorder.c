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

void recorder_hold(struct peer_run *r, pid_t pid, int sock, bool go_now)
{
	r->rec = (struct recorder){
		.pid = pid, .sock = sock, .pidfd = -1, .deadline = deadline_in(r->cfg->prepare_timeout_ms)
	};
	if (go_now)
		recorder_go(r);
}

void recorder_go(struct peer_run *r)
{
	struct recorder *rec = &r->rec;

	if (rec->pid <= 0 || rec->sock < 0)
		return;
	if (write(rec->sock, "G", 1) != 1) {
		log_warn("image: the record after the boot could not start: %s", strerror(errno));
		recorder_stop(r);
		return;
	}
	close(rec->sock);
	rec->sock = -1;
	rec->deadline = deadline_in(r->cfg->prepare_timeout_ms + 1000); /* the worker's own ends 1 s before */
	rec->pidfd = sys_pidfd_open(rec->pid, 0);
	if (rec->pidfd < 0) {
		log_warn("image: pidfd_open of the recording worker %d: %s: waiting for it now", (int)rec->pid,
			 strerror(errno));
		recorder_wait(r);
	}
}

static void reap(struct recorder *rec, bool report)
{
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
	*rec = (struct recorder){ .sock = -1, .pidfd = -1 };
}

void recorder_done(struct peer_run *r)
{
	if (r->rec.pid > 0)
		reap(&r->rec, true);
}

void recorder_stop(struct peer_run *r)
{
	struct recorder *rec = &r->rec;

	if (rec->pid <= 0)
		return;
	if (rec->sock >= 0)
		log_info("image: not recorded: the OS did not report ready while this peer served it (the next boot "
			 "records the image)");
	else
		log_warn("image: the record of the last boot had not finished: stopped (the next boot records the "
			 "image)");
	kill(rec->pid, SIGKILL);
	reap(rec, false);
}

void recorder_tick(struct peer_run *r)
{
	struct recorder *rec = &r->rec;

	if (rec->pid <= 0 || !deadline_passed(rec->deadline))
		return;
	if (rec->sock >= 0) {
		log_info("image: the OS has not reported ready within prepare-timeout: recording its image now");
		recorder_go(r);
		return;
	}
	log_warn("image: the record did not finish within prepare-timeout (%ld ms)", r->cfg->prepare_timeout_ms);
	recorder_stop(r);
}

void recorder_wait(struct peer_run *r)
{
	struct recorder *rec = &r->rec;

	recorder_go(r);
	if (rec->pid <= 0 || rec->pidfd < 0)
		return;
	if (run_wait(r, rec->pidfd, POLLIN, rec->deadline) > 0) {
		recorder_done(r);
		return;
	}
	if (!r->stop_signal)
		log_warn("image: the record did not finish within prepare-timeout (%ld ms)",
			 r->cfg->prepare_timeout_ms);
	recorder_stop(r);
}
