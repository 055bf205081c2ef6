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

/* The worker has sent its verdict and waits (pid, the peer's end of its
 * socket): keep it; nothing goes before recorder_hold(). */
void recorder_keep(struct peer_run *r, pid_t pid, int sock);

/* The init acknowledged its root: from now on the record may go. */
void recorder_hold(struct peer_run *r);

/* The serve loop's turn: go once the OS is ready (or at the deadline),
 * stop a record past its deadline, reap what has ended. */
void recorder_tick(struct peer_run *r);

/* End it now, waiting or running (the OS stopped, the switch failed, the
 * peer stops); quiet: the caller has said why. Never waits more than
 * 800 ms: a worker in an uninterruptible sync of the volume is left to
 * end and reaped later. */
void recorder_stop(struct peer_run *r, bool quiet);

/* then=exit: go now, and wait for the record within its deadline (a stop
 * signal ends the wait and the record). */
void recorder_wait(struct peer_run *r);

#endif
