/* The pod's own identity in its new root, written by the worker through
 * the new root's fd before the OS boots. The upper layer is the guest's:
 * every path is resolved with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS|
 * RESOLVE_NO_MAGICLINKS), only regular files are read, and files are
 * replaced by a rename, so nothing the guest planted (a symlink, a FIFO, a
 * device node) turns into a write outside the overlay or a hang. */
#ifndef STINT_PEER_IDENTITY_H
#define STINT_PEER_IDENTITY_H

/* Write a fresh /etc/machine-id when it is missing, empty or
 * "uninitialized". 1 = written, 0 = kept (or left alone, with a warning,
 * when the guest made /etc or the file something else), -1 = failure. */
int machine_id_ensure(int rootfd);

#endif
