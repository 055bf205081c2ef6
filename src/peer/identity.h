/* The pod's own identity in its new root, written by the worker through
 * the new root's fd before the OS boots: its machine-id, a boot id of its
 * own for each start, SSH host keys of its own (issue 12). The upper layer
 * is the guest's: every path is resolved with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS|
 * RESOLVE_NO_MAGICLINKS), only regular files are read, and files are
 * replaced by a rename, so nothing the guest planted (a symlink, a FIFO, a
 * device node) turns into a write outside the overlay or a hang. */
#ifndef STINT_PEER_IDENTITY_H
#define STINT_PEER_IDENTITY_H

#include <stddef.h>

#include "peer_config.h"

/* Write a fresh /etc/machine-id when it is missing, empty or
 * "uninitialized". 1 = written, 0 = kept (or left alone, with a warning,
 * when the guest made /etc or the file something else), -1 = failure. */
int machine_id_ensure(int rootfd);

/* O_PATH fd of the upper directory below the persistent volume's clone
 * `pvfd` (the peer's own mount), to tell the pod's files from the image's;
 * -1 with a reason (fail()). */
int identity_open_upper(int pvfd, const char *upper_rel);

/* The rest of the pod's identity, after the overlay is mounted and the
 * runtime's mounts are carried (/proc, the peer's /run tmpfs), before the
 * switch: with boot-id = generate a fresh boot id bound read-only over
 * /proc/sys/kernel/random/boot_id; with ssh-host-keys = regenerate the
 * image's SSH host keys removed where the upper (`upperfd`) has none, and
 * an `ssh-keygen -A` unit in /run/systemd/system. Writes a summary to
 * `what`. Returns 0, or -1 with a reason (fail()). */
int identity_apply(const struct peer_config *c, int rootfd, int upperfd, char *what, size_t len);

#endif
