#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/util.h"
#include "err.h"
#include "shadow.h"
#include "stint/path.h"

#define UPPER_MAX_DEPTH 256

/* The package managers' own records of what is installed. */
static const char *const pkgdb_dirs[] = {
	"/var/lib/dpkg", "/var/lib/rpm", "/usr/lib/sysimage/rpm", "/lib/apk",
	"/usr/lib/apk",	 "/etc/apk",	 "/var/lib/pacman",	  "/var/lib/apt/extended_states",
};

enum shadow_group shadow_group_of(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(pkgdb_dirs); i++)
		if (path_is_under(path, pkgdb_dirs[i]))
			return SHADOW_PKGDB;
	if (path_is_under(path, "/etc"))
		return SHADOW_ETC;
	if (path_is_under(path, "/bin") || path_is_under(path, "/sbin") || path_is_under(path, "/usr/bin") ||
	    path_is_under(path, "/usr/sbin"))
		return SHADOW_BINLIB;
	/* /lib*, /usr/lib*: lib, lib32, lib64, libx32, libexec */
	if (strncmp(path, "/lib", 4) == 0 || strncmp(path, "/usr/lib", 8) == 0)
		return SHADOW_BINLIB;
	return SHADOW_OTHER;
}

const char *shadow_group_name(enum shadow_group g)
{
	static const char *const n[] = { "package-db", "etc", "bin-lib", "other" };

	return n[g];
}

const char *shadow_group_title(enum shadow_group g)
{
	static const char *const n[] = { "package database", "/etc", "binaries and libraries", "other" };

	return n[g];
}

/* Lookups in the upper, reusing the directories opened for the previous
 * path (the paths come sorted, so neighbours share their parents). */
enum up_kind { UP_ABSENT, UP_ENTRY, UP_WHITEOUT, UP_WHITEOUT_ABOVE, UP_OPAQUE_ABOVE, UP_REPLACED_ABOVE };

struct upper_look {
	int fd[UPPER_MAX_DEPTH + 1]; /* fd[0]: the upper's root (not ours) */
	size_t end[UPPER_MAX_DEPTH + 1]; /* level k is dir[0..end[k]) */
	bool opaque[UPPER_MAX_DEPTH + 1];
	unsigned depth;
	char dir[PATH_MAX];
	size_t by; /* for *_ABOVE: the ancestor is path[0..by) */
};

static void look_init(struct upper_look *u, int root)
{
	u->fd[0] = root;
	u->end[0] = 0;
	u->opaque[0] = is_opaque_dir(root);
	u->depth = 0;
}

static void look_pop(struct upper_look *u)
{
	close(u->fd[u->depth]);
	u->depth--;
}

static void look_done(struct upper_look *u)
{
	while (u->depth)
		look_pop(u);
}

/* Is a directory of the chain opaque? Then u->by = the deepest one. */
static bool hidden_by_opaque(struct upper_look *u)
{
	for (unsigned k = u->depth + 1; k-- > 0;)
		if (u->opaque[k]) {
			u->by = u->end[k];
			return true;
		}
	return false;
}

/* Where is `path` (not "/") in the upper? *st gets the upper's entry for
 * UP_ENTRY. Returns the kind, or -1 (fail()). */
static int look_up(struct upper_look *u, const char *path, size_t len, struct stat *st)
{
	size_t slash = len, pos;
	char name[NAME_MAX + 1];

	while (slash > 0 && path[slash - 1] != '/')
		slash--;
	slash--; /* path[slash] is the last '/' */
	/* Keep the opened levels that are ancestors of this path. */
	while (u->depth > 0 && !(u->end[u->depth] <= slash && path[u->end[u->depth]] == '/' &&
				 memcmp(u->dir, path, u->end[u->depth]) == 0))
		look_pop(u);
	for (pos = u->end[u->depth]; pos < slash;) {
		size_t start = pos + 1, stop = start;
		int fd;

		while (stop < slash && path[stop] != '/')
			stop++;
		if (stop - start > NAME_MAX)
			return fail("the upper layer: a name longer than %d bytes in %.*s", NAME_MAX, (int)len, path);
		memcpy(name, path + start, stop - start);
		name[stop - start] = '\0';
		if (fstatat(u->fd[u->depth], name, st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return fail_errno("the upper layer: stat %.*s", (int)stop, path);
			return hidden_by_opaque(u) ? UP_OPAQUE_ABOVE : UP_ABSENT;
		}
		u->by = stop;
		if (is_whiteout(st))
			return UP_WHITEOUT_ABOVE;
		if (!S_ISDIR(st->st_mode))
			return UP_REPLACED_ABOVE;
		if (u->depth == UPPER_MAX_DEPTH)
			return fail("the upper layer: directories nested deeper than %d levels at %.*s",
				    UPPER_MAX_DEPTH, (int)stop, path);
		fd = openat(u->fd[u->depth], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return fail_errno("the upper layer: open %.*s", (int)stop, path);
		u->depth++;
		u->fd[u->depth] = fd;
		u->end[u->depth] = stop;
		u->opaque[u->depth] = is_opaque_dir(fd);
		memcpy(u->dir + start - 1, path + start - 1, stop - start + 1);
		pos = stop;
	}
	if (len - slash - 1 > NAME_MAX)
		return fail("the upper layer: a name longer than %d bytes in %.*s", NAME_MAX, (int)len, path);
	memcpy(name, path + slash + 1, len - slash - 1);
	name[len - slash - 1] = '\0';
	if (fstatat(u->fd[u->depth], name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return fail_errno("the upper layer: stat %.*s", (int)len, path);
		return hidden_by_opaque(u) ? UP_OPAQUE_ABOVE : UP_ABSENT;
	}
	return is_whiteout(st) ? UP_WHITEOUT : UP_ENTRY;
}

static const char *upper_name(int kind, const struct stat *st)
{
	static const char *const above[] = { [UP_WHITEOUT] = "whiteout",
					     [UP_WHITEOUT_ABOVE] = "whiteout-above",
					     [UP_OPAQUE_ABOVE] = "opaque-above",
					     [UP_REPLACED_ABOVE] = "replaced-above" };
	if (kind != UP_ENTRY)
		return above[kind];
	return mf_type_name(mf_type_letter(st->st_mode));
}

struct merge {
	struct upper_look look;
	shadow_sink *sink;
	void *ctx;
	struct shadow_counts *counts;
};

/* A path that differs between the images: is it shadowed? `now` is the new
 * image's entry (NULL if it removed the path). */
static int consider(struct merge *m, const struct mf_entry *e, const char *change, const struct mf_entry *now)
{
	struct stat st;
	struct shadow_item it = { .path = e->path, .len = e->len, .change = change };
	int kind;

	if (e->len == 1) /* "/": the upper's root is the overlay's root */
		return 0;
	m->counts->changed++;
	kind = look_up(&m->look, e->path, e->len, &st);
	if (kind < 0)
		return -1;
	if (kind == UP_ABSENT)
		return 0;
	if (!now && kind != UP_ENTRY) /* removed, and hidden anyway */
		return 0;
	/* A directory over a directory merges: only its own mode and owner
	 * (copied up with it) hide the image's, which matters for a changed
	 * one, not for one the image added or removed. */
	if (kind == UP_ENTRY && S_ISDIR(st.st_mode) && (!now || (now->type == 'd' && strcmp(change, "added") == 0)))
		return 0;
	it.upper = upper_name(kind, &st);
	if (kind == UP_WHITEOUT_ABOVE || kind == UP_OPAQUE_ABOVE || kind == UP_REPLACED_ABOVE) {
		it.by = e->path;
		it.bylen = m->look.by ? m->look.by : 1;
	}
	it.group = shadow_group_of(e->path);
	m->counts->total++;
	m->counts->group[it.group]++;
	return m->sink(m->ctx, &it);
}

int shadow_compute(int metadir, const char *old_name, const char *new_name, int upperfd, shadow_sink *sink, void *ctx,
		   struct shadow_counts *counts)
{
	struct mf_reader *ra = malloc(sizeof(*ra)), *rb = malloc(sizeof(*rb));
	struct mf_entry *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct merge *m = malloc(sizeof(*m));
	int rc = -1, ha = 0, hb = 0;

	memset(counts, 0, sizeof(*counts));
	if (!ra || !rb || !a || !b || !m) {
		fail_errno("memory for the shadow report");
		goto out;
	}
	ra->fd = rb->fd = -1;
	if (mf_open(ra, metadir, old_name) < 0 || mf_open(rb, metadir, new_name) < 0)
		goto out;
	look_init(&m->look, upperfd);
	m->sink = sink;
	m->ctx = ctx;
	m->counts = counts;
	ha = mf_next(ra, a);
	hb = mf_next(rb, b);
	while ((ha > 0 || hb > 0) && ha >= 0 && hb >= 0) {
		int c = ha <= 0 ? 1 : hb <= 0 ? -1 : path_cmp(a->path, a->len, b->path, b->len);
		const char *ch;

		if (c == 0) {
			if ((ch = mf_changed(a, b)) && consider(m, b, ch, b) < 0)
				break;
			ha = mf_next(ra, a);
			hb = mf_next(rb, b);
		} else if (c < 0) {
			if (consider(m, a, "removed", NULL) < 0)
				break;
			ha = mf_next(ra, a);
		} else {
			if (consider(m, b, "added", b) < 0)
				break;
			hb = mf_next(rb, b);
		}
	}
	if (ha == 0 && hb == 0)
		rc = 0;
	look_done(&m->look);
out:
	if (ra)
		mf_close(ra);
	if (rb)
		mf_close(rb);
	free(ra);
	free(rb);
	free(a);
	free(b);
	free(m);
	return rc;
}
