/* The peer's readiness record: one small file in the peer's own run-dir,
 * which `stint-peer status` (the readiness probe, run in the sidecar)
 * reads. The directory is the sidecar's alone — never the dir shared with
 * the OS container — and every access goes through an fd of it: the file
 * is replaced by a rename of a freshly created, randomly named file, and
 * read only when it is a regular file. */
#ifndef STINT_PEER_STATE_H
#define STINT_PEER_STATE_H

#include <stdbool.h>

struct peer_state {
	char state[32]; /* waiting, preparing, booting, ready, stopping, stopped, failed */
	bool ready;
	char status[256]; /* the OS's last STATUS=, or why we are in this state */
	unsigned boots; /* inits this run-dir has seen reach READY (ACK) */
	char init[64]; /* what is served, e.g. "pid 1, mnt:[4026532]" */
};

/* Set state, ready and status (NULL: ""), as one change. */
void state_set(struct peer_state *st, const char *state, bool ready, const char *status);

/* Open (creating it 0700 if missing) the directory for the state file.
 * Returns an O_PATH fd or -1 (fail()). */
int state_dir_open(const char *dir);

/* Write st as `name` in dirfd, atomically. Returns 0 or -1 (fail()). */
int state_save(int dirfd, const char *name, const struct peer_state *st);

/* Read `name` in dirfd. Returns 0, or -1 with errno (ENOENT: none yet,
 * EINVAL: not a regular file or not a state file). */
int state_load(int dirfd, const char *name, struct peer_state *st);

/* Read the state file a configuration names: state_file, else
 * RUN_DIR/state; its path goes to where (unless NULL). Returns as
 * state_load(). */
int state_load_path(const char *state_file, const char *run_dir, struct peer_state *st, char *where, size_t len);

#endif
