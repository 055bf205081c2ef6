/* The image record after the boot. With on-image-change allow or warn the
 * prepare worker does not record the image before the switch (it must not
 * delay the boot, and on a first boot it hashes every file of the image):
 * it stays on once the init has its root and waits for the peer's go.
 * The peer says go once the OS reports it has booted (READY=1, the
 * ready-path, or at the switch when neither is watched), or at the latest
 * prepare-timeout after the switch; the record then runs at SCHED_IDLE
 * under its own prepare-timeout. The OS stopping, a new prepare or the
 * peer stopping end it: every file of a record is put in place by a
 * rename, so one cut short leaves the last whole record, and the next boot
 * records again (clearing the temp files the cut one left). */
#ifndef STINT_PEER_RECORDER_H
#define STINT_PEER_RECORDER_H

#include <stdbool.h>
#include <sys/types.h>

#include "prepare.h"

/* The init acknowledged its root: keep the waiting worker (pid, its end
 * of the socket). go_now: do not wait for readiness (nothing watches it). */
void recorder_hold(struct peer_run *r, pid_t pid, int sock, bool go_now);

/* Tell a waiting worker to record now. */
void recorder_go(struct peer_run *r);

/* Its pidfd turned readable: reap it and say how it went. */
void recorder_done(struct peer_run *r);

/* A deadline of the recorder passed (the serve loop's timer): go, or stop
 * it. */
void recorder_tick(struct peer_run *r);

/* End it now, waiting or running (the OS stopped, a new prepare, the peer
 * stops). */
void recorder_stop(struct peer_run *r);

/* then=exit: go, and wait for it within its deadline (a stop signal ends
 * the wait and the record). */
void recorder_wait(struct peer_run *r);

#endif
