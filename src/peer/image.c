/* Image records on the persistent volume and the check prepare runs on
 * every boot (image.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "stint/config.h"
#include "stint/log.h"
#include "peer_config.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "dirfile.h"
#include "err.h"
#include "image.h"
#include "record.h"
#include "shadow.h"

/* Bounds of the walk of an image: far above real images (Debian with
 * systemd: about 10,000 entries), low enough to keep a hostile tree from
 * eating the worker's memory and time. */
#define IMAGE_MAX_DEPTH 256
#define IMAGE_MAX_ENTRIES 4000000UL
#define IMAGE_MAX_DIR_ENTRIES 1000000UL
#define IMAGE_MAX_NAME_BYTES (64UL << 20)

static const char *const policy_v[] = { "allow", "warn", "refuse" };

static long long now_s(void)
{
	return (long long)time(NULL);
}

/* Records */

/* Printable text only (os-release belongs to the image): control bytes
 * become '?', quotes around the value go. */
static void clean_value(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;

	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
		s++;
		n -= 2;
	}
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' && i + 1 < n) /* shell-style escapes in os-release */
			c = (unsigned char)s[++i];
		dst[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	dst[o] = '\0';
}

static const char *rec_title(const struct image_rec *r)
{
	return r->pretty[0] ? r->pretty : r->name[0] ? r->name : "an image without os-release";
}

static void parse_rec_line(struct image_rec *r, const char *line)
{
	const char *eq = strchr(line, '=');
	unsigned long v;
	size_t k;
	const char *val;

	if (!eq)
		return;
	k = (size_t)(eq - line);
	val = eq + 1;
#define IS(key) (k == sizeof(key) - 1 && memcmp(line, key, k) == 0)
	if (IS("digest"))
		copy_str(r->digest, sizeof(r->digest), val);
	else if (IS("name"))
		copy_str(r->name, sizeof(r->name), val);
	else if (IS("version_id"))
		copy_str(r->version_id, sizeof(r->version_id), val);
	else if (IS("pretty_name"))
		copy_str(r->pretty, sizeof(r->pretty), val);
	else if (IS("manifest"))
		copy_str(r->manifest, sizeof(r->manifest), val);
	else if (IS("entries") && parse_decimal(val, ~0UL, &v))
		r->entries = v;
	else if (IS("files") && parse_decimal(val, ~0UL, &v))
		r->files = v;
	else if (IS("bytes") && parse_decimal(val, ~0UL, &v))
		r->bytes = v;
	else if (IS("manifest_bytes") && parse_decimal(val, ~0UL, &v))
		r->manifest_bytes = v;
	else if (IS("first_seen") && parse_decimal(val, ~0UL, &v))
		r->first_seen = (long long)v;
	else if (IS("last_seen") && parse_decimal(val, ~0UL, &v))
		r->last_seen = (long long)v;
#undef IS
}

int image_rec_read(int meta, const char *name, struct image_rec *r)
{
	char buf[4096];

	memset(r, 0, sizeof(*r));
	if (dirfile_read(meta, name, buf, sizeof(buf)) < 0)
		return fail_errno("read the record %s", name);
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		parse_rec_line(r, line);
	if (strlen(r->digest) != MF_HEX - 1 || strncmp(r->manifest, "manifest-", 9) != 0 || strchr(r->manifest, '/')) {
		errno = EINVAL;
		return fail("the record %s is malformed", name);
	}
	return 0;
}

static int rec_write(int meta, const char *name, const struct image_rec *r)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf),
			 "digest=%s\nname=%s\nversion_id=%s\npretty_name=%s\nentries=%lu\nfiles=%lu\nbytes=%llu\n"
			 "manifest=%s\nmanifest_bytes=%llu\nfirst_seen=%lld\nlast_seen=%lld\n",
			 r->digest, r->name, r->version_id, r->pretty, r->entries, r->files, r->bytes, r->manifest,
			 r->manifest_bytes, r->first_seen, r->last_seen);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return fail("the record %s is too long", name);
	return dirfile_write(meta, name, buf, (size_t)n, 0644, 1);
}

/* os-release of the image, read below its root only, never through a
 * symlink (/etc/os-release is often one to ../usr/lib/os-release: then
 * that file is read instead), a regular file only. */
static void read_os_release(int rootfd, struct image_rec *r)
{
	static const char *const paths[] = { "etc/os-release", "usr/lib/os-release" };
	struct stint_open_how how = { .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_IN_ROOT | STINT_RESOLVE_NO_SYMLINKS |
						 STINT_RESOLVE_NO_MAGICLINKS };
	char buf[8192];
	ssize_t n = -1;

	for (size_t i = 0; i < ARRAY_SIZE(paths) && n < 0; i++) {
		cleanup_fd int fd = sys_openat2(rootfd, paths[i], &how);
		struct stat st;

		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			n = read(fd, buf, sizeof(buf) - 1);
	}
	if (n < 0)
		return;
	buf[n] = '\0';
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "NAME=", 5) == 0)
			clean_value(r->name, sizeof(r->name), line + 5, strlen(line + 5));
		else if (strncmp(line, "VERSION_ID=", 11) == 0)
			clean_value(r->version_id, sizeof(r->version_id), line + 11, strlen(line + 11));
		else if (strncmp(line, "PRETTY_NAME=", 12) == 0)
			clean_value(r->pretty, sizeof(r->pretty), line + 12, strlen(line + 12));
	}
}

/* Manifests */

static void limits_for(struct walk_limits *lim, const struct image_job *ij)
{
	lim->max_depth = IMAGE_MAX_DEPTH;
	lim->max_entries = IMAGE_MAX_ENTRIES;
	lim->max_dir_entries = IMAGE_MAX_DIR_ENTRIES;
	lim->max_name_bytes = IMAGE_MAX_NAME_BYTES;
	lim->deadline = ij->deadline;
	lim->procfd = ij->procfd;
	lim->what = "the image";
}

/* Is the manifest of r there and whole? Checked cheaply, on every boot:
 * a regular file of the size the record noted, ending with the trailer
 * the record's count and digest make. (A manifest is written once, whole;
 * what this catches is a lost or cut file. Its reader checks every line
 * when a report needs it.) */
static bool manifest_ok(int meta, const struct image_rec *r)
{
	cleanup_fd int fd = dirfile_open_read(meta, r->manifest);
	char want[32 + MF_HEX], got[sizeof(want)];
	int n = snprintf(want, sizeof(want), "\nend %lu %s\n", r->entries, r->digest);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 ||
	    (r->manifest_bytes && (unsigned long long)st.st_size != r->manifest_bytes) || st.st_size < n)
		return false;
	return pread(fd, got, (size_t)n, st.st_size - n) == n && memcmp(got, want, (size_t)n) == 0;
}

/* Write the manifest of the image at ij->lowerfd as r->manifest, checking
 * that the tree is still the one r->digest names. */
static int build_manifest(const struct image_job *ij, int meta, struct image_rec *r)
{
	struct walk_limits lim;
	struct mf_stats st;
	struct obuf *o = malloc(sizeof(*o));
	char tmp[96];
	cleanup_fd int fd = -1;

	if (!o)
		return fail_errno("memory for a manifest");
	limits_for(&lim, ij);
	fd = dirfile_create(meta, r->manifest, tmp, sizeof(tmp), 0644);
	if (fd < 0) {
		free(o);
		return -1;
	}
	obuf_init(o, fd);
	if (manifest_scan(ij->lowerfd, &lim, ij->mounts, ij->n_mounts, o, &st) < 0 || obuf_flush(o) < 0) {
		if (o->err)
			fail_errno("write the manifest %s", tmp);
		unlinkat(meta, tmp, 0);
		free(o);
		return -1;
	}
	r->manifest_bytes = o->total;
	free(o);
	if (strcmp(st.digest, r->digest) != 0) {
		unlinkat(meta, tmp, 0);
		return fail("the image changed while its manifest was written");
	}
	if (dirfile_commit(meta, tmp, r->manifest, fd) < 0)
		return -1;
	log_info("image: manifest of %s written: %lu entries, %lu files of %llu bytes hashed, %llu bytes in "
		 "meta/%s (%ld ms)",
		 rec_title(r), st.entries, st.files, st.bytes, r->manifest_bytes, r->manifest, st.ms);
	return 0;
}

/* Remove the manifests no record names, and temp files a killed run left. */
static void collect_garbage(int meta)
{
	static const char *const recs[] = { "image", "image.prev", "image.pending" };
	char keep[ARRAY_SIZE(recs)][16 + MF_HEX];
	int fd = openat(meta, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(recs); i++) {
		struct image_rec r;

		keep[i][0] = '\0';
		if (image_rec_read(meta, recs[i], &r) == 0)
			copy_str(keep[i], sizeof(keep[i]), r.manifest);
	}
	while ((de = readdir(d))) {
		bool kept = false;

		if (strncmp(de->d_name, ".manifest-", 10) == 0) {
			unlinkat(meta, de->d_name, 0);
			continue;
		}
		if (strncmp(de->d_name, "manifest-", 9) != 0)
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(recs); i++)
			kept |= strcmp(keep[i], de->d_name) == 0;
		if (!kept && unlinkat(meta, de->d_name, 0) == 0)
			log_debug("image: removed meta/%s (no record names it)", de->d_name);
	}
	closedir(d);
}

/* The shadow report */

struct report {
	struct obuf o;
};

static int report_line(void *ctx, const struct shadow_item *it)
{
	struct report *rp = ctx;

	obuf_printf(&rp->o, "%s %s %s ", shadow_group_name(it->group), it->change, it->upper);
	obuf_escaped(&rp->o, it->path, it->len);
	if (it->by) {
		obuf_str(&rp->o, " ");
		obuf_escaped(&rp->o, it->by, it->bylen);
	}
	obuf_str(&rp->o, "\n");
	return 0;
}

/* meta/shadow: the upper's entries the change from old to new shadows. */
static int write_report(const struct image_job *ij, int meta, const struct image_rec *old, const struct image_rec *new,
			struct shadow_counts *c)
{
	struct report *rp = malloc(sizeof(*rp));
	char tmp[96];
	cleanup_fd int fd = -1;
	int rc;

	if (!rp)
		return fail_errno("memory for the shadow report");
	fd = dirfile_create(meta, "shadow", tmp, sizeof(tmp), 0644);
	if (fd < 0) {
		free(rp);
		return -1;
	}
	obuf_init(&rp->o, fd);
	obuf_printf(&rp->o, "stint-shadow 1\nold %s %s\nnew %s %s\ntime %lld\n", old->digest, rec_title(old),
		    new->digest, rec_title(new), now_s());
	rc = shadow_compute(meta, old->manifest, new->manifest, ij->upperfd, report_line, rp, c);
	if (rc == 0) {
		obuf_printf(&rp->o, "end %lu", c->total);
		for (int g = 0; g < SHADOW_NGROUPS; g++)
			obuf_printf(&rp->o, " %s %lu", shadow_group_name(g), c->group[g]);
		obuf_str(&rp->o, "\n");
		if (obuf_flush(&rp->o) < 0)
			rc = fail_errno("write the shadow report %s", tmp);
	}
	free(rp);
	if (rc < 0) {
		unlinkat(meta, tmp, 0);
		return -1;
	}
	return dirfile_commit(meta, tmp, "shadow", fd);
}

/* The check */

static bool accepted(int meta, const char *digest)
{
	char buf[128];

	if (dirfile_read(meta, "image.accept", buf, sizeof(buf)) < 0)
		return false;
	return strncmp(buf, digest, MF_HEX - 1) == 0 && (buf[MF_HEX - 1] == '\n' || buf[MF_HEX - 1] == '\0');
}

static int same_image(const struct image_job *ij, int meta, struct image_rec *cur, const struct mf_stats *st)
{
	if (!manifest_ok(meta, cur)) {
		log_warn("image: the manifest meta/%s is missing or damaged: writing it again", cur->manifest);
		if (build_manifest(ij, meta, cur) < 0)
			return -1;
	}
	cur->last_seen = now_s();
	if (rec_write(meta, "image", cur) < 0)
		return -1;
	log_info("image: %s, digest %.8s, unchanged (%lu entries walked in %ld ms)", rec_title(cur), cur->digest,
		 st->entries, st->ms);
	return 0;
}

static int first_record(const struct image_job *ij, int meta, struct image_rec *r)
{
	if (build_manifest(ij, meta, r) < 0 || rec_write(meta, "image", r) < 0)
		return -1;
	log_info("image: %s, digest %.8s, recorded as this volume's image (%lu entries)", rec_title(r), r->digest,
		 r->entries);
	return 0;
}

/* The new image's record and manifest, kept as pending until it boots:
 * a refused image is not hashed again at the next start. */
static int pending_record(const struct image_job *ij, int meta, struct image_rec *r)
{
	struct image_rec p;

	if (image_rec_read(meta, "image.pending", &p) == 0 && strcmp(p.digest, r->digest) == 0 &&
	    manifest_ok(meta, &p)) {
		r->manifest_bytes = p.manifest_bytes;
		r->first_seen = p.first_seen;
		return 0;
	}
	if (build_manifest(ij, meta, r) < 0)
		return -1;
	return rec_write(meta, "image.pending", r);
}

static void log_change(const struct image_job *ij, const struct image_rec *old, const struct image_rec *new,
		       const struct shadow_counts *c, int report_rc, long ms)
{
	int level = ij->policy == PEER_IMAGE_ALLOW ? LOG_INFO : LOG_WARN;

	if (report_rc < 0) {
		log_msg(level, "image changed: %s (%.8s) -> %s (%.8s); no shadow report: %s", rec_title(old),
			old->digest, rec_title(new), new->digest, fail_reason());
		return;
	}
	log_msg(level,
		"image changed: %s (%.8s) -> %s (%.8s); upper entries shadowing the new image: %lu (package "
		"database %lu, /etc %lu, binaries and libraries %lu, other %lu), listed in meta/shadow on the volume "
		"(%ld ms)",
		rec_title(old), old->digest, rec_title(new), new->digest, c->total, c->group[SHADOW_PKGDB],
		c->group[SHADOW_ETC], c->group[SHADOW_BINLIB], c->group[SHADOW_OTHER], ms);
}

static int changed_image(const struct image_job *ij, int meta, struct image_rec *cur, struct image_rec *new)
{
	struct shadow_counts c = { 0 };
	long t0 = log_elapsed_ms();
	int report_rc;

	if (pending_record(ij, meta, new) < 0)
		return -1;
	report_rc = manifest_ok(meta, cur) ?
			    write_report(ij, meta, cur, new, &c) :
			    fail("the manifest of the old image (meta/%s) is missing or damaged", cur->manifest);
	if (report_rc < 0)
		unlinkat(meta, "shadow", 0); /* not an older change's report */
	log_change(ij, cur, new, &c, report_rc, log_elapsed_ms() - t0);
	if (ij->policy == PEER_IMAGE_REFUSE && !accepted(meta, new->digest)) {
		char count[64] = "the shadow report failed";

		if (report_rc == 0)
			snprintf(count, sizeof(count), "upper entries shadowing it: %lu", c.total);
		return fail("on-image-change=refuse: the image changed from %s (%.8s) to %s (%.8s); %s "
			    "(meta/shadow on the volume); nothing was booted. To boot the new image run `stint-peer "
			    "image accept` in the peer container (kubectl exec POD -c stint-peer -- stint-peer image "
			    "accept); the next start of the OS container boots it",
			    rec_title(cur), cur->digest, rec_title(new), new->digest, count);
	}
	if (ij->policy == PEER_IMAGE_REFUSE)
		log_info("image: %.8s was accepted (stint-peer image accept): booting it", new->digest);
	/* The old record becomes the previous one, then the new one the
	 * current: each write is atomic, and a crash between them leaves a
	 * state the next start handles (it sees a change again). */
	if (rec_write(meta, "image.prev", cur) < 0)
		return -1;
	new->last_seen = now_s();
	if (rec_write(meta, "image", new) < 0)
		return -1;
	unlinkat(meta, "image.pending", 0);
	unlinkat(meta, "image.accept", 0);
	collect_garbage(meta);
	return 0;
}

static int identify(const struct image_job *ij, struct image_rec *r, struct mf_stats *st)
{
	struct walk_limits lim;

	memset(r, 0, sizeof(*r));
	limits_for(&lim, ij);
	if (manifest_scan(ij->lowerfd, &lim, ij->mounts, ij->n_mounts, NULL, st) < 0)
		return -1;
	copy_str(r->digest, sizeof(r->digest), st->digest);
	snprintf(r->manifest, sizeof(r->manifest), "manifest-%s", st->digest);
	r->entries = st->entries;
	r->files = st->files;
	r->bytes = st->bytes;
	r->first_seen = r->last_seen = now_s();
	read_os_release(ij->lowerfd, r);
	return 0;
}

int image_check(const struct image_job *ij)
{
	struct image_rec cur, new;
	struct mf_stats st;
	cleanup_fd int meta = record_dir_open(ij->pvfd);
	int rc;

	if (meta < 0 || identify(ij, &new, &st) < 0) {
		if (ij->policy == PEER_IMAGE_REFUSE) {
			char why[768];

			copy_str(why, sizeof(why), fail_reason()); /* fail() writes where it lives */
			return fail("on-image-change=refuse: the image cannot be identified, so nothing was booted: %s",
				    why);
		}
		log_warn("image: not recorded (on-image-change=%s, booting anyway): %s", policy_v[ij->policy],
			 fail_reason());
		return 0;
	}
	collect_garbage(meta); /* what a record cut short left */
	if (image_rec_read(meta, "image", &cur) < 0) {
		if (errno != ENOENT)
			log_warn("image: %s: recording the current image afresh", fail_reason());
		rc = first_record(ij, meta, &new);
	} else if (strcmp(cur.digest, new.digest) == 0) {
		rc = same_image(ij, meta, &cur, &st);
	} else {
		rc = changed_image(ij, meta, &cur, &new);
	}
	/* Only refuse stops a boot; with allow and warn a volume that cannot
	 * take the record (full, read-only) must not keep the OS down. */
	if (rc < 0 && ij->policy != PEER_IMAGE_REFUSE) {
		log_warn("image: the record failed (on-image-change=%s, booting anyway): %s", policy_v[ij->policy],
			 fail_reason());
		return 0;
	}
	return rc;
}
