/* The manifest of an image: one line per entry of its tree, in the walk's
 * order (walk.h), so that the image a pod booted on can be compared with
 * the next one without the old image at hand. Format (docs/peer.md,
 * "Image manifests"):
 *
 *   stint-manifest 1
 *   SHARED SUFFIX TYPE MODE UID GID SIZE MTIME EXTRA     one per entry
 *   end ENTRIES DIGEST
 *
 * SHARED is how many leading bytes the path shares with the previous one,
 * SUFFIX the rest of it (front coding: the paths of a sorted walk share
 * long prefixes); TYPE one of f d l c b p s; MODE octal permission bits;
 * SIZE in bytes (0 for directories); MTIME in seconds; EXTRA the content
 * hash of a regular file (BLAKE2b-128, hex: `b2sum -l 128`), a symlink's
 * target, a device's MAJOR,MINOR, else "-". SUFFIX and a target are
 * escaped (bytes up to 0x20, 0x7f and '\' as \ooo), so fields never hold
 * a blank. DIGEST is the tree's metadata digest (below); the trailer
 * proves the file whole.
 *
 * The metadata digest identifies a tree cheaply, without reading a file:
 * BLAKE2b-128 over every entry's path, type, mode, owner, size, mtime,
 * target and device, but neither the size nor the mtime of directories
 * (they depend on the file system and on entries the digest covers
 * anyway), nor the mtime of paths a runtime mounts over (a file it
 * creates for /etc/hosts gets a new mtime in every container). */
#ifndef STINT_PEER_MANIFEST_H
#define STINT_PEER_MANIFEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "stint/deadline.h"
#include "obuf.h"
#include "walk.h"

#define MF_HASH_BYTES 16
#define MF_HEX (2 * MF_HASH_BYTES + 1)

struct mf_stats {
	unsigned long entries, files;
	unsigned long long bytes; /* regular files' sizes */
	char digest[MF_HEX];
	long ms; /* the walk's time */
};

/* Walk the tree at rootfd (readable directory) and compute its metadata
 * digest; with out, write its manifest there too (content hashes read from
 * every regular file). skip_mtime: sorted paths whose mtime the digest
 * leaves out (NULL = none). Returns 0 or -1 (fail()). */
int manifest_scan(int rootfd, const struct walk_limits *lim, const char *const *skip_mtime, size_t n_skip,
		  struct obuf *out, struct mf_stats *stats);

/* One entry read back. */
struct mf_entry {
	char path[PATH_MAX];
	size_t len;
	char type; /* f d l c b p s */
	unsigned mode;
	unsigned long uid, gid;
	unsigned long long size;
	long long mtime;
	char extra[PATH_MAX]; /* hash, target (unescaped) or "MAJ,MIN" or "-" */
};

struct mf_reader {
	int fd;
	size_t start, end;
	unsigned long line, entries;
	bool eof, done;
	char what[64]; /* for messages: the file's name */
	char digest[MF_HEX]; /* from the trailer, once done */
	char prev[PATH_MAX];
	size_t prevlen;
	char buf[65536];
};

/* Open the manifest `name` in dirfd (a regular file only) and check its
 * header. Returns 0 or -1 (fail(); errno ENOENT when it does not exist). */
int mf_open(struct mf_reader *r, int dirfd, const char *name);
/* The next entry into e: 1, or 0 at the trailer (checked: count, order),
 * or -1 on a malformed or cut file (fail()). */
int mf_next(struct mf_reader *r, struct mf_entry *e);
void mf_close(struct mf_reader *r);

/* How two entries of the same path differ, as the shadow report says it:
 * NULL when equal for what a running system sees (content, type, mode,
 * owner, target, device; not the mtime), else "content", "type", "mode",
 * "owner", "target" or "device". */
const char *mf_changed(const struct mf_entry *a, const struct mf_entry *b);

/* Undo obuf_escaped(): in place-safe from src to dst (dst may be src).
 * Returns the length, or -1 on a bad escape. */
long mf_unescape(const char *src, size_t n, char *dst, size_t cap);

/* The content hash of what fd reads (BLAKE2b-128, hex into MF_HEX bytes),
 * io as the read buffer. 0, or -1 with errno (ETIMEDOUT: past deadline). */
int mf_hash_fd(int fd, unsigned char *io, size_t iolen, msec_t deadline, char *hex);

/* The manifest's one-letter type of a file mode: f d l c b p s. */
char mf_type_letter(mode_t m);

/* "file", "directory", ... for a manifest type letter. */
const char *mf_type_name(char type);

#endif
