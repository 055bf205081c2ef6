/* `stint-peer diff [--shadowed] [--json]`: the upper layer read as a
 * change set against the current image, in the sidecar. The image itself
 * is not at hand there; its manifest on the volume is, and it is sorted
 * like the walk of the upper, so the two merge in one pass.
 *
 *   A  added: the image has no such path
 *   C  changed: the upper's own copy of an image path (content, type,
 *      mode or owner; "metadata" when the content is the image's)
 *   D  deleted: an overlay whiteout (a 0:0 character device)
 *   R  replaced: an opaque directory (trusted. or user.overlay.opaque =
 *      "y"): the image's entries below it are hidden
 *
 * A directory the image has and the upper merges with is not listed
 * unless its own mode or owner differs. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/log.h"
#include "peer_config.h"
#include "stint/util.h"
#include "err.h"
#include "image.h"
#include "manifest.h"
#include "obuf.h"
#include "shadow.h"
#include "walk.h"

/* Remove every FLAG before a "--" from argv; how many there were. */
static int take_flag(int *argc, char **argv, const char *flag)
{
	int n = 0, o = 1;

	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[o++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], flag) == 0)
			n++;
		else
			argv[o++] = argv[i];
	}
	*argc = o;
	argv[o] = NULL;
	return n;
}

struct differ {
	struct obuf o;
	bool json, first;
	struct mf_reader rd;
	struct mf_entry cur; /* the manifest's entry at or after the last path */
	int have; /* 1: cur is valid; 0: the manifest ended; -1: error */
	unsigned long counts[4]; /* A C D R */
	unsigned char io[1 << 16];
};

/* Advance the manifest to path: the image's entry there, or NULL. */
static const struct mf_entry *image_entry(struct differ *d, const char *path, size_t len)
{
	while (d->have > 0) {
		int c = path_cmp(d->cur.path, d->cur.len, path, len);

		if (c == 0)
			return &d->cur;
		if (c > 0)
			return NULL;
		d->have = mf_next(&d->rd, &d->cur);
	}
	return NULL;
}

/* Does the upper's regular file hold the image's content? */
static bool same_content(struct differ *d, const struct walk_entry *e, const struct mf_entry *img)
{
	cleanup_fd int fd = -1;
	char hex[MF_HEX];

	if ((unsigned long long)e->st->st_size != img->size)
		return false;
	fd = walk_open_regular(-1, e->dirfd, e->name, e->st);
	return fd >= 0 && mf_hash_fd(fd, d->io, sizeof(d->io), DEADLINE_NONE, hex) == 0 && strcmp(hex, img->extra) == 0;
}

/* What differs between the upper's entry and the image's. */
static const char *detail_of(struct differ *d, const struct walk_entry *e, const struct mf_entry *img)
{
	char t = mf_type_letter(e->st->st_mode);

	if (t != img->type)
		return "type";
	if (t == 'f')
		return same_content(d, e, img) ? "metadata" : "content";
	if (t == 'l')
		return strcmp(e->link, img->extra) == 0 ? "metadata" : "target";
	return "metadata";
}

static void emit(struct differ *d, char kind, const struct walk_entry *e, const char *detail)
{
	static const char *const words[] = { "added", "changed", "deleted", "replaced" };
	int k = kind == 'A' ? 0 : kind == 'C' ? 1 : kind == 'D' ? 2 : 3;

	d->counts[k]++;
	if (!d->json) {
		obuf_printf(&d->o, "%c ", kind);
		obuf_escaped(&d->o, e->path, e->len);
		if (detail)
			obuf_printf(&d->o, " (%s)", detail);
		obuf_str(&d->o, "\n");
		return;
	}
	obuf_str(&d->o, d->first ? "\n  {\"path\": " : ",\n  {\"path\": ");
	d->first = false;
	obuf_json_str(&d->o, e->path, e->len);
	obuf_printf(&d->o, ", \"change\": \"%s\", \"type\": \"%s\"", words[k],
		    kind == 'D' ? "whiteout" : mf_type_name(mf_type_letter(e->st->st_mode)));
	if (detail)
		obuf_printf(&d->o, ", \"detail\": \"%s\"", detail);
	obuf_str(&d->o, "}");
}

static int diff_one(void *ctx, const struct walk_entry *e)
{
	struct differ *d = ctx;
	const struct mf_entry *img;

	if (e->len == 1) /* the root is the overlay's own */
		return 0;
	img = image_entry(d, e->path, e->len);
	if (d->have < 0)
		return -1;
	if (is_whiteout(e->st)) {
		emit(d, 'D', e, img ? NULL : "not in the image");
	} else if (!img) {
		emit(d, 'A', e, NULL);
	} else if (S_ISDIR(e->st->st_mode) && e->fd >= 0 && is_opaque_dir(e->fd)) {
		emit(d, 'R', e, NULL);
	} else if (S_ISDIR(e->st->st_mode) && img->type == 'd') {
		if ((e->st->st_mode & 07777) != img->mode || e->st->st_uid != img->uid || e->st->st_gid != img->gid)
			emit(d, 'C', e, "metadata");
	} else {
		emit(d, 'C', e, detail_of(d, e, img));
	}
	return d->o.err ? fail("write the diff: %s", strerror(d->o.err)) : 0;
}

static void json_image(struct obuf *o, const struct image_rec *r)
{
	obuf_str(o, "{\"digest\": ");
	obuf_json_str(o, r->digest, strlen(r->digest));
	obuf_str(o, ", \"name\": ");
	obuf_json_str(o, r->name, strlen(r->name));
	obuf_str(o, ", \"version_id\": ");
	obuf_json_str(o, r->version_id, strlen(r->version_id));
	obuf_str(o, ", \"pretty_name\": ");
	obuf_json_str(o, r->pretty, strlen(r->pretty));
	obuf_str(o, "}");
}

static int diff_upper(int meta, int upper, const struct image_rec *img, bool json)
{
	struct differ *d = calloc(1, sizeof(*d));
	struct walk_limits lim;
	int rc;

	if (!d)
		return fail_errno("memory for the diff");
	obuf_init(&d->o, STDOUT_FILENO);
	d->json = json;
	d->first = true;
	if (mf_open(&d->rd, meta, img->manifest) < 0) {
		free(d);
		return -1;
	}
	d->have = mf_next(&d->rd, &d->cur);
	if (json) {
		obuf_str(&d->o, "{\"image\": ");
		json_image(&d->o, img);
		obuf_str(&d->o, ",\n \"changes\": [");
	}
	walk_upper_limits(&lim);
	rc = d->have < 0 ? -1 : walk_tree(upper, &lim, diff_one, d);
	/* Read the manifest to its trailer: a damaged one is reported even
	 * when the upper did not need its end. */
	while (rc == 0 && d->have > 0)
		d->have = mf_next(&d->rd, &d->cur);
	if (rc == 0 && d->have < 0)
		rc = -1;
	if (rc == 0 && json)
		obuf_printf(&d->o,
			    "\n ],\n \"counts\": {\"added\": %lu, \"changed\": %lu, \"deleted\": %lu, "
			    "\"replaced\": %lu}}\n",
			    d->counts[0], d->counts[1], d->counts[2], d->counts[3]);
	if (obuf_flush(&d->o) < 0 && rc == 0)
		rc = fail_errno("write the diff");
	mf_close(&d->rd);
	free(d);
	return rc;
}

/* --shadowed */

struct shadowed {
	struct obuf o;
	bool json, first;
	char *lines[SHADOW_NGROUPS]; /* human output, grouped: kept until the end */
	size_t len[SHADOW_NGROUPS], cap[SHADOW_NGROUPS];
	int oom;
};

static void add_text(struct shadowed *s, int g, const char *p, size_t n)
{
	if (s->len[g] + n > s->cap[g]) {
		size_t cap = 2 * s->cap[g] + n + 4096;
		char *more = realloc(s->lines[g], cap);

		if (!more) {
			s->oom = 1;
			return;
		}
		s->lines[g] = more;
		s->cap[g] = cap;
	}
	memcpy(s->lines[g] + s->len[g], p, n);
	s->len[g] += n;
}

static int shadowed_one(void *ctx, const struct shadow_item *it)
{
	struct shadowed *s = ctx;

	if (s->json) {
		obuf_str(&s->o, s->first ? "\n  {\"path\": " : ",\n  {\"path\": ");
		s->first = false;
		obuf_json_str(&s->o, it->path, it->len);
		obuf_printf(&s->o, ", \"group\": \"%s\", \"change\": \"%s\", \"upper\": \"%s\"",
			    shadow_group_name(it->group), it->change, it->upper);
		if (it->by) {
			obuf_str(&s->o, ", \"by\": ");
			obuf_json_str(&s->o, it->by, it->bylen);
		}
		obuf_str(&s->o, "}");
		return s->o.err ? fail("write the report: %s", strerror(s->o.err)) : 0;
	}
	{
		struct obuf *line = malloc(sizeof(*line));

		if (!line)
			return fail_errno("memory for the report");
		/* Format into a buffer that is never flushed (fd -1). */
		obuf_init(line, -1);
		obuf_printf(line, "  %-8s %-15s ", it->change, it->upper);
		obuf_escaped(line, it->path, it->len);
		if (it->by) {
			obuf_str(line, " (by ");
			obuf_escaped(line, it->by, it->bylen);
			obuf_str(line, ")");
		}
		obuf_str(line, "\n");
		if (line->n < sizeof(line->buf))
			add_text(s, it->group, line->buf, line->n);
		free(line);
	}
	return s->oom ? fail("memory for the report") : 0;
}

static int diff_shadowed(int meta, int upper, const struct image_rec *img, bool json)
{
	struct shadowed *s = calloc(1, sizeof(*s));
	struct shadow_counts c;
	struct image_rec prev;
	int rc;

	if (!s)
		return fail_errno("memory for the report");
	obuf_init(&s->o, STDOUT_FILENO);
	s->json = json;
	s->first = true;
	if (image_rec_read(meta, "image.prev", &prev) < 0) {
		if (errno != ENOENT) {
			free(s);
			return -1;
		}
		/* One image only: nothing can hide a change. */
		if (json) {
			obuf_str(&s->o, "{\"old\": null, \"new\": ");
			json_image(&s->o, img);
			obuf_str(&s->o, ", \"total\": 0, \"shadowed\": []}\n");
		} else {
			obuf_str(&s->o, "no earlier image is recorded on this volume: nothing is shadowed\n");
		}
		rc = obuf_flush(&s->o) < 0 ? fail_errno("write the report") : 0;
		free(s);
		return rc;
	}
	if (json) {
		obuf_str(&s->o, "{\"old\": ");
		json_image(&s->o, &prev);
		obuf_str(&s->o, ", \"new\": ");
		json_image(&s->o, img);
		obuf_str(&s->o, ",\n \"shadowed\": [");
	}
	rc = shadow_compute(meta, prev.manifest, img->manifest, upper, shadowed_one, s, &c);
	if (rc == 0 && json) {
		obuf_printf(&s->o, "\n ],\n \"total\": %lu, \"groups\": {", c.total);
		for (int g = 0; g < SHADOW_NGROUPS; g++)
			obuf_printf(&s->o, "%s\"%s\": %lu", g ? ", " : "", shadow_group_name(g), c.group[g]);
		obuf_str(&s->o, "}}\n");
	} else if (rc == 0) {
		obuf_printf(&s->o, "%s (%.8s) -> %s (%.8s): upper entries shadowing the new image: %lu\n",
			    prev.pretty[0] ? prev.pretty : prev.name, prev.digest,
			    img->pretty[0] ? img->pretty : img->name, img->digest, c.total);
		for (int g = 0; g < SHADOW_NGROUPS; g++) {
			obuf_printf(&s->o, "%s: %lu\n", shadow_group_title(g), c.group[g]);
			obuf_put(&s->o, s->lines[g], s->len[g]);
		}
	}
	if (obuf_flush(&s->o) < 0 && rc == 0)
		rc = fail_errno("write the report");
	for (int g = 0; g < SHADOW_NGROUPS; g++)
		free(s->lines[g]);
	free(s);
	return rc;
}

int peer_diff(int argc, char **argv)
{
	struct peer_config c;
	struct image_rec img;
	cleanup_fd int meta = -1, upper = -1;
	bool shadowed = take_flag(&argc, argv, "--shadowed") > 0, json = take_flag(&argc, argv, "--json") > 0;
	int first, rc = peer_config_load(&peer_diff_program, &c, argc, argv, &first);

	if (rc >= 0)
		return rc;
	log_set_level(c.log_level);
	if (first != argc) {
		log_error("diff: unexpected argument '%s' (try --help)", argv[first]);
		return 2;
	}
	if (image_open_volume(&c, NULL, &meta, &upper) < 0 || image_rec_read(meta, "image", &img) < 0) {
		log_error("diff: %s", fail_reason());
		return 1;
	}
	rc = shadowed ? diff_shadowed(meta, upper, &img, json) : diff_upper(meta, upper, &img, json);
	if (rc < 0) {
		log_error("diff: %s", fail_reason());
		return 1;
	}
	return 0;
}
