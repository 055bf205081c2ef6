/* The image a pod boots on, tracked on its persistent volume (meta/, next
 * to upper/ and work/; the guest never sees it): on every prepare the
 * worker identifies the lower (os-release and a digest of its metadata),
 * compares it with the record of the last boot, and when it changed,
 * writes the new image's manifest, computes the shadow report
 * (shadow.h) against the old manifest, logs one line and applies
 * on-image-change: allow, warn, or refuse (nothing boots until
 * `stint-peer image accept` records the acceptance of that exact image).
 *
 * Files in meta/ (docs/peer.md, "Image records"):
 *   image            the image of the last boot (key=value lines)
 *   image.prev       the one before it
 *   image.pending    a new image seen but refused
 *   image.accept     the digest `stint-peer image accept` accepted
 *   manifest-DIGEST  an image's manifest (manifest.h), one per record
 *   shadow           the last shadow report (old -> new) */
#ifndef STINT_PEER_IMAGE_H
#define STINT_PEER_IMAGE_H

#include <stddef.h>

#include "stint/deadline.h"
#include "manifest.h"

struct peer_config;

struct image_rec {
	char digest[MF_HEX];
	char name[128], version_id[64], pretty[160];
	unsigned long entries, files;
	unsigned long long bytes, manifest_bytes;
	long long first_seen, last_seen; /* seconds since the epoch */
	char manifest[16 + MF_HEX]; /* "manifest-DIGEST" */
};

struct image_job {
	int policy; /* enum peer_image_change */
	int lowerfd; /* the image as the overlay will show it (readable dir) */
	int pvfd; /* the volume's base directory (holds meta/) */
	int upperfd; /* the upper layer (readable dir) */
	const char *const *mounts; /* sorted paths the runtime mounts over */
	size_t n_mounts;
	msec_t deadline;
	int procfd; /* a /proc of this process's PID namespace (O_PATH), or -1 */
};

/* The check of prepare (and of `image record`). Returns 0 to boot, or -1
 * with fail(): the image changed under on-image-change=refuse, or it could
 * not be identified and the policy is refuse. With allow or warn a failure
 * to identify the image is logged and the boot goes on. */
int image_check(const struct image_job *ij);

/* Read a record (0), or -1 with errno (ENOENT: none) and fail(). */
int image_rec_read(int meta, const char *name, struct image_rec *r);

/* The sidecar's way to the volume: its meta/ and upper/ directories from
 * the config (state=, or upper= and work=). Each out-pointer may be NULL.
 * Returns 0 or -1 (fail()). */
int image_open_volume(const struct peer_config *c, int *base, int *meta, int *upper);

/* Subcommands: image [show | accept | record DIR], diff, export. */
int peer_image(int argc, char **argv);
int peer_diff(int argc, char **argv);
int peer_export(int argc, char **argv);

#endif
