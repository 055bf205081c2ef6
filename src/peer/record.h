/* What the peer records on the persistent volume itself, beside upper/
 * and work/ in its meta/ directory (the guest never sees it: the volume is
 * not carried into the new root): the pod's boot count. Records live as
 * long as the pod's data, across pod re-creation and node moves. */
#ifndef STINT_PEER_RECORD_H
#define STINT_PEER_RECORD_H

/* Open (creating it, 0700) the meta/ directory of the volume whose base
 * directory is pvfd. Returns an O_PATH fd or -1 (fail()). */
int record_dir_open(int pvfd);

/* Count one more boot of this pod (an init that took the new root) and
 * return the new count, or 0 on failure (fail()). Synced to the disk. */
unsigned record_boot(int metafd);

#endif
