/* Checking a HELLO before acting on it. The socket's directory is the
 * pod's, but the peer is privileged on the node: it must not setns into,
 * or attach the volume into, a namespace the guest made for itself, nor
 * prepare twice for an init it already serves. */
#ifndef STINT_PEER_VERIFY_H
#define STINT_PEER_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "handoff.h"
#include "ns.h"

/* What HELLOs are checked against; kept in the peer's run-dir so that a
 * restarted sidecar keeps it. */
struct trust {
	struct ns_id pod_user; /* user ns of this pod's inits, pinned at the first HELLO; {0} = none yet */
	struct ns_id served_mnt; /* the mount ns last served ... */
	uint64_t served_mnt_id; /* ... its id (NS_GET_MNTNS_ID), 0 = none or unknown ... */
	uint64_t served_init; /* ... and its init's pidfd inode (pidfs), 0 = none */
	bool served_alive; /* that init is known to run (this peer holds its pidfd) */
};

/* What a verified HELLO names. */
struct hello_ids {
	struct ns_id user, mnt, pid;
	uint64_t mnt_id; /* the mount ns's id, 0 when the kernel has none (Linux < 6.8) */
	uint64_t init; /* pidfd inode, 0 when the kernel has no pidfs */
	bool userns; /* the user ns is not the peer's own (a user-namespaced pod) */
};

/* Check every fd of h: each namespace fd is the type its tag says; the user
 * ns is the peer's own or the pod's pinned one (a direct child of the
 * peer's); the mount and pid ns are owned by it, the others by it or by the
 * peer's own user ns; the pidfd is a live
 * process in exactly the namespaces sent (Linux >= 6.11 tells); and it is
 * not the init we already serve. procfd: the peer's own /proc. Returns 0
 * with *ids filled, or -1 (fail()). */
int hello_verify(const struct handoff *h, int procfd, const struct trust *t, struct hello_ids *ids);

/* The pidfd's inode number when pidfds live on pidfs (Linux >= 6.9),
 * which names one process for the whole boot; 0 otherwise. */
uint64_t pidfd_inode(int pidfd);

#endif
