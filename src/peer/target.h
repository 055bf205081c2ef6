/* The part of prepare that runs inside the target's mount namespace, in a
 * forked single-threaded child of the peer (setns(CLONE_NEWNS) needs one,
 * and the peer itself stays in its own namespace to talk to the init and
 * serve the notify socket). */
#ifndef STINT_TARGET_H
#define STINT_TARGET_H

#include <stdbool.h>

#include "carry.h"
#include "image.h"
#include "stint/deadline.h"
#include "ns.h"
#include "overlay.h"

struct peer_config;
struct handoff;

struct job {
	const struct peer_config *cfg;
	const struct handoff *h;
	const char *root; /* new root path in the target */
	int procfd; /* O_PATH of the peer's own /proc: still valid after setns */
	struct pv pv;
	int lower_fd[16]; /* clones of lower= paths, in order */
	int nlower;
	int notify_fd; /* clone of the notify socket, or -1 */
	struct chain pv_chain, sock_chain;
	int have_sock_chain;
	msec_t deadline; /* the worker's end (prepare-timeout) */
	/* With on-image-change allow or warn the image is recorded after the
	 * switch (target_record_image), so that the record never delays a
	 * boot: step 3 leaves its fds and the runtime's mount points here. */
	struct image_job image;
	bool image_later;
};

/* Outcome sent up the pipe to the peer's main process. */
enum target_result {
	TARGET_READY = 0, /* overlay and mounts in place (chroot: not switched) */
	TARGET_PIVOTED = 1, /* pivot done, now or by an earlier run */
	TARGET_FAILED = 2, /* reason = fail_reason(); what we mounted is undone */
};

/* Run the steps in the target; returns enum target_result. */
int target_prepare(struct job *j);

/* The image record step 3 left for later (job.image_later): run it, then
 * free what it held. */
void target_record_image(struct job *j);

/* Undo a chroot-mode preparation the init refused (in a fresh child). */
int target_undo(struct job *j);

#endif
