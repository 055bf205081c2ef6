/* The shadow report: the upper layer's entries whose counterpart in the
 * image changed between two images. overlayfs shows the upper's copy of a
 * file over the image's, so after an image update such a file keeps its
 * old version (or the guest's edit) and hides the new one: the classic
 * half-upgraded system (a package database in the upper that no longer
 * matches the image's files, a library an admin patched, /etc/passwd).
 *
 * The report is computed from the two images' manifests alone (no image
 * needs to be at hand) and the upper: the manifests are merged (both are
 * sorted the same way), and only the paths that differ are looked up in
 * the upper, component by component without following anything, so the
 * cost grows with the change between the images, not with the size of
 * the upper. An entry is reported when the new image changed, added or
 * removed it and the upper has its own entry there, or hides it: a
 * whiteout (deleted by the guest) at it or above it, an opaque directory
 * above it, or a non-directory above it. */
#ifndef STINT_PEER_SHADOW_H
#define STINT_PEER_SHADOW_H

#include <stddef.h>

#include "manifest.h"

enum shadow_group { SHADOW_PKGDB, SHADOW_ETC, SHADOW_BINLIB, SHADOW_OTHER, SHADOW_NGROUPS };

struct shadow_item {
	const char *path;
	size_t len;
	enum shadow_group group;
	const char *change; /* content, mode, owner, type, target, device, added, removed */
	const char *upper; /* file, directory, symlink, ..., whiteout, whiteout-above, opaque-above, replaced-above */
	const char *by; /* the *-above ancestor's path, else NULL */
	size_t bylen;
};

typedef int shadow_sink(void *ctx, const struct shadow_item *it);

struct shadow_counts {
	unsigned long total, group[SHADOW_NGROUPS];
	unsigned long changed; /* paths that differ between the two images */
};

/* Merge the manifests `old_name` and `new_name` (in metadir), look the
 * differing paths up in the upper (upperfd: its root, readable), and call
 * sink for each shadowed entry, in path order. Returns 0 or -1 (fail()). */
int shadow_compute(int metadir, const char *old_name, const char *new_name, int upperfd, shadow_sink *sink, void *ctx,
		   struct shadow_counts *counts);

const char *shadow_group_name(enum shadow_group g); /* package-db, etc, bin-lib, other */
const char *shadow_group_title(enum shadow_group g); /* "package database", "/etc", ... */
enum shadow_group shadow_group_of(const char *path);

#endif
