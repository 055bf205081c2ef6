/* The devices of an `enter` session that runs outside the OS init's
 * cgroups (cgroup v2 delegated at namespaces refuses the move; a
 * user-namespaced pod's v1 cgroups are not its to write): there the
 * OS's device filter does not hold, and a node the guest made beforehand
 * (CAP_MKNOD, in its /dev tmpfs or a volume) would open whatever it
 * names, for a command the guest's own shell profile may run. So every
 * mount of the session is made nodev but the OS's devpts (its own
 * terminals; devpts takes no mknod), and the standard nodes (null, zero,
 * full, random, urandom, tty) are the sidecar's, bound over the OS's. */
#ifndef STINT_PEER_SESSIONDEV_H
#define STINT_PEER_SESSIONDEV_H

#define SESSION_DEV_NODES 6

struct session_devices {
	int node[SESSION_DEV_NODES]; /* detached clones of the sidecar's /dev/NAME, -1 if none */
};

/* In the sidecar's mount namespace: clone its standard nodes (a missing
 * one stays -1). */
void session_devices_clone(struct session_devices *d);

/* In the session's private copy of the OS's mount namespace, its root
 * the OS's: nodev everywhere but the OS's devpts, the clones bound over
 * the OS's nodes. 0 or -1 (fail()): the session must not run then. */
int session_devices_restrict(struct session_devices *d);

void session_devices_close(struct session_devices *d);

#endif
