/* The peer's run: everything `stint-peer prepare` holds while it prepares
 * and, with then=wait, while it serves the booted OS afterwards. Every wait
 * goes through run_wait(), which also serves the sd_notify socket and
 * notices a stop signal, so the peer answers SIGTERM within a second and
 * keeps readiness current whatever it is doing. */
#ifndef STINT_PEER_PREPARE_H
#define STINT_PEER_PREPARE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "stint/deadline.h"
#include "notify.h"
#include "state.h"
#include "verify.h"

struct peer_config;

/* The init this peer prepared for and now serves. */
struct served {
	int pidfd; /* readable once it exited; -1 when none (or not known) */
	int rootfd; /* O_PATH of its new root, for ready-path; -1 */
	int pvfd; /* the persistent volume, for syncfs() when it stops; -1 */
	unsigned pid; /* as its HELLO said */
};

/* The worker that records the image once the OS has booted (target.h:
 * job.image_later): it waits for 'G' on sock, then runs. */
struct recorder {
	pid_t pid; /* 0: none */
	int sock; /* to the worker while it waits for 'G', else -1 */
	int pidfd; /* readable once it ended, or -1 */
	msec_t deadline; /* held: go then anyway; running: stopped then; else DEADLINE_NONE */
};

struct peer_run {
	const struct peer_config *cfg;
	int sigfd; /* SIGTERM, SIGINT, SIGHUP */
	int stop_signal; /* the stop signal that arrived, 0 while none */
	int procfd; /* the peer's own /proc, O_PATH */
	int run_dir; /* the peer's own directory (run-dir), O_PATH */
	int state_dir; /* the state file's directory (run-dir) ... */
	char state_name[NAME_MAX + 1]; /* ... and its name there */
	struct peer_state st;
	msec_t st_flush; /* a coalesced state write is due then */
	struct notify notify; /* .fd = -1 when off */
	unsigned notify_ignored; /* datagrams not from the init, since the last log line */
	unsigned notify_oversized; /* datagrams over NOTIFY_MAX, likewise */
	struct trust trust;
	struct served init;
	int sock_dir; /* O_PATH of the handoff socket's directory */
	char sock_name[NAME_MAX + 1];
	int sock_watch; /* inotify on sock_dir: the init's socket appears */
	int sync_pidfd; /* a child syncing the volume after an init ended, or -1 */
	pid_t sync_pid;
	msec_t sync_start;
	struct recorder rec; /* the image record after the boot (recorder.h) */
	pid_t rec_lingering; /* a killed recorder still in the kernel, reaped later */
	bool sock_new; /* it (re)appeared since the last attempt */
};

enum { PREPARE_OK = 0, PREPARE_FAILED = 1, PREPARE_NO_SOCKET = 2, PREPARE_STOPPED = 3 };

/* run.c */
int run_open(struct peer_run *r, const struct peer_config *c);
void run_close(struct peer_run *r);
/* Wait until fd has `events` or the deadline passes, serving notify and
 * watching signals. 1 = ready, 0 = deadline, -1 = a stop signal came
 * (r->stop_signal) or poll failed (fail()). r may be NULL: a plain wait. */
int run_wait(struct peer_run *r, int fd, short events, msec_t deadline);
/* Record a new state now (readiness changes are never delayed). */
void run_report(struct peer_run *r, const char *state, bool ready, const char *status);
/* Serve what the notify socket holds; write the state when it changed. */
void run_serve_notify(struct peer_run *r);
/* Write a pending coalesced state change if it is due. */
void run_flush(struct peer_run *r);
/* Keep the trust record (pinned user ns, served init) in run-dir. */
void run_save_trust(struct peer_run *r);
/* Drop the served init: close its fds, start syncing the volume. */
void run_forget_init(struct peer_run *r);
/* The sync child ended: reap it and say how it went. */
void run_sync_done(struct peer_run *r);

/* prepare.c: one whole handoff, connect ... READY/ABORT. */
int prepare_once(struct peer_run *r);

/* serve.c: then=wait; returns the exit status when a stop signal came. */
int peer_serve(struct peer_run *r);

#endif
