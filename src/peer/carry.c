/* Carrying the runtime's mounts into the new root. Each mount is cloned on
 * its own (open_tree without AT_RECURSIVE) and attached at the same path
 * under the new root, parents first: a clone keeps the mount's flags
 * (read-only /sys, /proc/sys), and masks such as /dev/null over
 * /proc/kcore are mounts of their own and come along the same way. Never
 * a fresh procfs: that would unmask everything the runtime hid. Going one
 * by one (rather than one recursive bind of /dev, say) lets the peer leave
 * out the persistent volume or the socket dir wherever they are mounted. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carry.h"
#include "stint/log.h"
#include "stint/syscalls.h"
#include "mountpoint.h"
#include "err.h"
#include "stint/util.h"

#define OPEN_TREE_FLAGS (STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC)
#define EMPTY_PATH 0x1000 /* AT_EMPTY_PATH */
/* How far up a mount's parents is_covered() looks for an ancestor; past
 * that a later mount above it counts as covering it (not carried). */
#define MAX_CHAIN 64

/* ---- keyset: a hash set of borrowed byte strings, each with a value ----
 * Keys are (pointer, length), so that the prefixes of a path can be looked
 * up in place, and a mount id can be a key too. A pod may have thousands of
 * mounts: every question below is a lookup, never a scan of the list. */

struct key {
	const void *p; /* NULL: free slot */
	size_t len;
	size_t val;
};

struct keyset {
	struct key *slot;
	size_t cap, n; /* cap: a power of two, at most half full */
};

static uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static struct key *set_slot(const struct keyset *set, const void *p, size_t len)
{
	size_t i = (size_t)hash_bytes(p, len) & (set->cap - 1);

	while (set->slot[i].p && (set->slot[i].len != len || memcmp(set->slot[i].p, p, len) != 0))
		i = (i + 1) & (set->cap - 1);
	return &set->slot[i];
}

static const struct key *set_find(const struct keyset *set, const void *p, size_t len)
{
	const struct key *k;

	if (set->n == 0)
		return NULL;
	k = set_slot(set, p, len);
	return k->p ? k : NULL;
}

static int set_grow(struct keyset *set)
{
	struct keyset big = { .cap = set->cap ? set->cap * 2 : 16 };

	big.slot = calloc(big.cap, sizeof(*big.slot));
	if (!big.slot)
		return fail("out of memory");
	for (size_t i = 0; i < set->cap; i++) {
		if (set->slot[i].p)
			*set_slot(&big, set->slot[i].p, set->slot[i].len) = set->slot[i];
	}
	big.n = set->n;
	free(set->slot);
	*set = big;
	return 0;
}

/* Add a key (kept as is if present: the first value wins). 0 or -1. */
static int set_add(struct keyset *set, const void *p, size_t len, size_t val)
{
	struct key *k;

	if ((set->n + 1) * 2 > set->cap && set_grow(set) < 0)
		return -1;
	k = set_slot(set, p, len);
	if (!k->p) {
		*k = (struct key){ .p = p, .len = len, .val = val };
		set->n++;
	}
	return 0;
}

static void set_free(struct keyset *set)
{
	free(set->slot);
	*set = (struct keyset){ 0 };
}

static int set_of_list(struct keyset *set, const struct carry_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (set_add(set, l->v[i], strlen(l->v[i]), i) < 0)
			return -1;
	}
	return 0;
}

/* path_is_under(path, d) for some d in the set? d is "/" (every absolute
 * path is under it), or path cut at one of its '/' or at its end. */
static int set_covers(const struct keyset *set, const char *path)
{
	if (set->n == 0)
		return 0;
	if (path[0] == '/' && set_find(set, "/", 1))
		return 1;
	for (size_t j = 0;; j++) {
		if (path[j] == '/' || path[j] == '\0') {
			if (set_find(set, path, j))
				return 1;
			if (!path[j])
				return 0;
		}
	}
}

/* ---- the plan ---- */

/* Add an item (path: len bytes, copied). Carried mounts at a path that
 * gets a tmpfs, the writable cgroup or the console (`override`) are left
 * out: that item replaces them. */
static int plan_add(struct plan *p, const char *path, size_t len, int kind, const char *spec, int fd,
		    const struct keyset *override)
{
	char *copy;

	if (kind == ITEM_CARRY && override && set_find(override, path, len))
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct item *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return fail("out of memory");
		p->v = v;
		p->cap = cap;
	}
	copy = strndup(path, len);
	if (!copy)
		return fail("out of memory");
	p->v[p->n++] = (struct item){ .path = copy, .kind = kind, .spec = spec, .fd = fd };
	return 0;
}

void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].path);
	free(p->v);
	*p = (struct plan){ 0 };
}

int chain_of(const char *dir, struct chain *ch)
{
	cleanup_fd int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st, up;

	ch->n = 0;
	if (fd < 0)
		return fail_errno("open %s", dir);
	if (fstat(fd, &st) < 0)
		return fail_errno("stat %s", dir);
	for (;;) {
		int parent;

		if (ch->n == ARRAY_SIZE(ch->d))
			return fail("%s lies more than %zu directories deep in its file system: too deep to recognise "
				    "every mount that shows it",
				    dir, ARRAY_SIZE(ch->d));
		ch->d[ch->n++] = (struct devino){ st.st_dev, st.st_ino };
		parent = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0)
			return fail_errno("open %s/..", dir);
		close(fd);
		fd = parent;
		if (fstat(fd, &up) < 0)
			return fail_errno("stat a parent of %s", dir);
		if (up.st_dev != st.st_dev || up.st_ino == st.st_ino)
			return 0;
		st = up;
	}
}

static bool chain_has(const struct chain *ch, dev_t dev, ino_t ino)
{
	for (size_t i = 0; ch && i < ch->n; i++) {
		if (ch->d[i].dev == dev && ch->d[i].ino == ino)
			return true;
	}
	return false;
}

bool shows_private_dir(const struct chain *pv, const struct chain *sock, const char *path)
{
	struct stat st;

	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return false;
	return chain_has(pv, st.st_dev, st.st_ino) || chain_has(sock, st.st_dev, st.st_ino);
}

static size_t depth(const char *path)
{
	size_t d = 0;

	for (; *path; path++)
		d += *path == '/';
	return d;
}

/* Parents before children: a stable counting sort by the number of '/'
 * (within a depth the order stays the mountinfo order, i.e. mount order). */
static int sort_by_depth(struct plan *p)
{
	size_t maxd = 0, *start = NULL, *d = NULL;
	struct item *out = NULL;
	int rc = -1;

	if (p->n < 2)
		return 0;
	d = malloc(p->n * sizeof(*d));
	out = malloc(p->n * sizeof(*out));
	if (!d || !out)
		goto out;
	for (size_t i = 0; i < p->n; i++) {
		d[i] = depth(p->v[i].path);
		maxd = d[i] > maxd ? d[i] : maxd;
	}
	start = calloc(maxd + 2, sizeof(*start));
	if (!start)
		goto out;
	for (size_t i = 0; i < p->n; i++)
		start[d[i] + 1]++;
	for (size_t k = 1; k <= maxd + 1; k++)
		start[k] += start[k - 1];
	for (size_t i = 0; i < p->n; i++)
		out[start[d[i]]++] = p->v[i];
	free(p->v);
	p->v = out;
	out = NULL;
	p->cap = p->n;
	rc = 0;
out:
	if (rc < 0)
		fail("out of memory");
	free(d);
	free(out);
	free(start);
	return rc;
}

/* ---- the target's mounts, indexed ---- */

#define NONE SIZE_MAX

struct mount_index {
	struct keyset by_target; /* target -> index of the last mount there */
	struct keyset by_id; /* mount id -> index of its first entry */
	size_t *prev; /* index of the mount listed before it at its target, or NONE */
};

static void index_free(struct mount_index *ix)
{
	set_free(&ix->by_target);
	set_free(&ix->by_id);
	free(ix->prev);
}

static int index_build(struct mount_index *ix, const struct mountinfo *mi)
{
	*ix = (struct mount_index){ 0 };
	ix->prev = malloc((mi->n + 1) * sizeof(*ix->prev));
	if (!ix->prev)
		return fail("out of memory");
	for (size_t i = 0; i < mi->n; i++) {
		const char *t = mi->m[i].target;
		struct key *k;

		if (set_add(&ix->by_target, t, strlen(t), NONE) < 0 ||
		    set_add(&ix->by_id, &mi->m[i].id, sizeof(mi->m[i].id), i) < 0)
			return -1;
		k = set_slot(&ix->by_target, t, strlen(t));
		ix->prev[i] = k->val;
		k->val = i;
	}
	return 0;
}

static const struct mount_entry *index_by_id(const struct mount_index *ix, const struct mountinfo *mi, int id)
{
	const struct key *k = set_find(&ix->by_id, &id, sizeof(id));

	return k ? &mi->m[k->val] : NULL;
}

/* Is there a mount listed after i at the path (p, len) whose id is not in
 * i's chain of parents? Walks that path's mounts from the last one down:
 * each step either answers or meets one of the (at most MAX_CHAIN + 1)
 * chain ids, so the walk is short however many mounts share the path. */
static int later_stranger(const struct mount_index *ix, const struct mountinfo *mi, const char *p, size_t len, size_t i,
			  const int *chain, size_t nchain)
{
	const struct key *k = set_find(&ix->by_target, p, len);

	for (size_t m = k ? k->val : NONE; m != NONE && m > i; m = ix->prev[m]) {
		int known = 0;

		for (size_t c = 0; c < nchain && !known; c++)
			known = chain[c] == mi->m[m].id;
		if (!known)
			return 1;
	}
	return 0;
}

/* Is mount i covered by a later mount at or above its mount point that is
 * not one of its ancestors? (mounted over it after the fact: the target
 * cannot see it, so neither may the new root) */
static int is_covered(const struct mount_index *ix, const struct mountinfo *mi, size_t i)
{
	const struct mount_entry *a = &mi->m[i];
	const char *t = a->target;
	int chain[MAX_CHAIN + 1];
	size_t nchain = 0;

	/* i itself and up to MAX_CHAIN parents, up to one that is its own
	 * parent or is not listed (the root's parent is outside our view). */
	for (int up = 0;; up++) {
		chain[nchain++] = a->id;
		if (a->parent == a->id || up >= MAX_CHAIN)
			break;
		a = index_by_id(ix, mi, a->parent);
		if (!a)
			break;
	}
	if (t[0] == '/' && later_stranger(ix, mi, "/", 1, i, chain, nchain))
		return 1;
	for (size_t j = 0;; j++) {
		if (t[j] == '/' || t[j] == '\0') {
			if (later_stranger(ix, mi, t, j, i, chain, nchain))
				return 1;
			if (!t[j])
				return 0;
		}
	}
}

/* One mount of the target: 1 = carry it, 0 = leave it out, -1 = error. */
static int want_mount(const struct carry_ctx *ctx, const struct mount_index *ix, const struct mountinfo *mi, size_t i,
		      const struct keyset *include, const struct keyset *exclude, struct keyset *hidden)
{
	const char *t = mi->m[i].target;
	int inc = set_covers(include, t);

	if (strcmp(t, "/") == 0 || path_is_under(t, ctx->root))
		return 0;
	if (path_is_under(ctx->root, t)) {
		log_warn("not carrying %s: the new root %s lies inside it", t, ctx->root);
		return 0;
	}
	if (is_covered(ix, mi, i))
		return 0; /* over-mounted: only the visible one counts */
	if (ctx->mode == CARRY_LIST && !inc)
		return 0;
	if (!inc && set_covers(exclude, t)) {
		log_debug("not carrying %s: excluded", t);
		return 0;
	}
	if (shows_private_dir(ctx->pv, ctx->sock, t)) {
		/* Never, not even when asked for: the guest must not reach the
		 * volume's raw tree nor the handoff socket. */
		if (inc)
			return fail("include=%s: it shows the persistent volume or the handoff socket's directory, "
				    "which the OS must never see",
				    t);
		log_info("not carrying %s: it holds the persistent layer or the handoff socket", t);
		/* Whatever is mounted below it goes too: no limit here, a mount
		 * showing the PV is never carried. */
		return set_add(hidden, t, strlen(t), 0) < 0 ? -1 : 0;
	}
	if (!inc && set_covers(hidden, t))
		return 0;
	return 1;
}

static int add_carried(const struct carry_ctx *ctx, const struct mountinfo *mi, struct plan *p,
		       const struct keyset *override)
{
	struct keyset include = { 0 }, exclude = { 0 }, hidden = { 0 };
	struct mount_index ix = { 0 };
	int rc = -1;

	if (ctx->mode == CARRY_NONE)
		return 0;
	if (set_of_list(&include, &ctx->include) < 0 || set_of_list(&exclude, &ctx->exclude) < 0 ||
	    index_build(&ix, mi) < 0)
		goto out;
	for (size_t i = 0; i < mi->n; i++) {
		const char *t = mi->m[i].target;
		int want = want_mount(ctx, &ix, mi, i, &include, &exclude, &hidden);

		if (want < 0 || (want && plan_add(p, t, strlen(t), ITEM_CARRY, NULL, -1, override) < 0))
			goto out;
	}
	/* Included paths that are not mount points are bound as they are. */
	for (size_t i = 0; i < ctx->include.n; i++) {
		const char *v = ctx->include.v[i];

		if (!set_find(&ix.by_target, v, strlen(v)) &&
		    plan_add(p, v, strlen(v), ITEM_CARRY, NULL, -1, override) < 0)
			goto out;
	}
	rc = 0;
out:
	set_free(&include);
	set_free(&exclude);
	set_free(&hidden);
	index_free(&ix);
	return rc;
}

static int plan_build_items(const struct carry_ctx *ctx, const struct mountinfo *mi, struct plan *p,
			    struct keyset *override)
{
	/* What replaces a carried mount at the same path. */
	for (size_t i = 0; i < ctx->tmpfs.n; i++) {
		if (set_add(override, ctx->tmpfs.v[i], strcspn(ctx->tmpfs.v[i], ":"), 0) < 0)
			return -1;
	}
	if ((ctx->cgroup_rw && set_add(override, ctx->cgroup_rw, strlen(ctx->cgroup_rw), 0) < 0) ||
	    (ctx->console && set_add(override, "/dev/console", strlen("/dev/console"), 0) < 0))
		return -1;

	if (add_carried(ctx, mi, p, override) < 0)
		return -1;
	for (size_t i = 0; i < ctx->tmpfs.n; i++) {
		const char *spec = ctx->tmpfs.v[i];

		if (plan_add(p, spec, strcspn(spec, ":"), ITEM_TMPFS, spec, -1, NULL) < 0)
			return -1;
	}
	if (ctx->cgroup_rw) {
		if (!mountinfo_find(mi, ctx->cgroup_rw))
			return fail("cgroup=rw: the target has no mount at %s (cgroup-path)", ctx->cgroup_rw);
		if (plan_add(p, ctx->cgroup_rw, strlen(ctx->cgroup_rw), ITEM_RW, NULL, -1, NULL) < 0)
			return -1;
	}
	if (ctx->console &&
	    plan_add(p, "/dev/console", strlen("/dev/console"), ITEM_CONSOLE, ctx->console, -1, NULL) < 0)
		return -1;
	if (ctx->notify_fd >= 0 &&
	    plan_add(p, ctx->notify_dir, strlen(ctx->notify_dir), ITEM_FD, NULL, ctx->notify_fd, NULL) < 0)
		return -1;
	return sort_by_depth(p);
}

int plan_build(const struct carry_ctx *ctx, const struct mountinfo *mi, struct plan *p)
{
	struct keyset override = { 0 };
	int rc;

	*p = (struct plan){ 0 };
	rc = plan_build_items(ctx, mi, p, &override);
	set_free(&override);
	return rc;
}

/* A detached tmpfs for path from "PATH[:key=value...]"; mode defaults to
 * 1777 for temporary dirs and 755 elsewhere (what systemd expects of /tmp,
 * /run). */
static int tmpfs_make(const char *path, const char *spec)
{
	const char *path_end = spec + strcspn(spec, ":");
	cleanup_fd int fs = sys_fsopen("tmpfs", STINT_FSOPEN_CLOEXEC);
	int has_mode = 0, mnt;

	if (fs < 0)
		return fail_errno("fsopen tmpfs for %s", path);
	if (sys_fsconfig(fs, STINT_FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0)
		return fail_errno("tmpfs %s: source", path);
	for (const char *o = *path_end ? path_end + 1 : NULL; o && *o;) {
		size_t n = strcspn(o, ":");
		char kv[256], *eq;

		if (n >= sizeof(kv))
			return fail("tmpfs %s: option '%.32s...' is longer than %zu bytes", path, o, sizeof(kv) - 1);
		snprintf(kv, sizeof(kv), "%.*s", (int)n, o);
		eq = strchr(kv, '=');
		if (eq) {
			*eq = '\0';
			has_mode |= strcmp(kv, "mode") == 0;
			if (sys_fsconfig(fs, STINT_FSCONFIG_SET_STRING, kv, eq + 1, 0) < 0)
				return fail_errno("tmpfs %s: option %s=%s", path, kv, eq + 1);
		}
		o += n;
		o += *o == ':';
	}
	if (!has_mode) {
		int sticky = strcmp(path, "/tmp") == 0 || strcmp(path, "/var/tmp") == 0;

		if (sys_fsconfig(fs, STINT_FSCONFIG_SET_STRING, "mode", sticky ? "1777" : "755", 0) < 0)
			return fail_errno("tmpfs %s: mode", path);
	}
	if (sys_fsconfig(fs, STINT_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fail_errno("create tmpfs for %s", path);
	mnt = sys_fsmount(fs, STINT_FSMOUNT_CLOEXEC, (unsigned)(STINT_MOUNT_ATTR_NOSUID | STINT_MOUNT_ATTR_NODEV));
	if (mnt < 0)
		return fail_errno("fsmount tmpfs for %s", path);
	return mnt;
}

/* Clone of the target's mount at path with the read-only flag cleared: the
 * runtime mounts cgroups read-only but systemd must write its own sub-tree. */
static int clone_rw(const char *path)
{
	struct stint_mount_attr attr = { .attr_clr = STINT_MOUNT_ATTR_RDONLY };
	cleanup_fd int fd = sys_open_tree(AT_FDCWD, path, OPEN_TREE_FLAGS);

	if (fd < 0)
		return fail_errno("clone %s (open_tree)", path);
	if (sys_mount_setattr(fd, "", EMPTY_PATH, &attr) < 0)
		return fail_errno("make the clone of %s read-write", path);
	return steal_fd(&fd);
}

static int carry_one(const struct item *it, int rootfd, int userns, int *recursive)
{
	cleanup_fd int fd = sys_open_tree(AT_FDCWD, it->path, OPEN_TREE_FLAGS);

	*recursive = 0;
	/* In a user-namespaced pod, a mount with submounts the runtime locked
	 * can only be cloned with them (the kernel hides what they cover). */
	if (fd < 0 && errno == EINVAL && userns) {
		fd = sys_open_tree(AT_FDCWD, it->path, OPEN_TREE_FLAGS | STINT_AT_RECURSIVE);
		*recursive = 1;
	}
	if (fd < 0)
		return fail_errno("clone the target's mount %s (open_tree)", it->path);
	return mount_attach(fd, rootfd, it->path, fd_is_dir(fd) == 1);
}

static int item_fd(const struct item *it)
{
	switch (it->kind) {
	case ITEM_TMPFS:
		return tmpfs_make(it->path, it->spec);
	case ITEM_RW:
		return clone_rw(it->path);
	case ITEM_CONSOLE: {
		int fd = sys_open_tree(AT_FDCWD, it->spec, OPEN_TREE_FLAGS);

		return fd < 0 ? fail_errno("clone the console %s (open_tree)", it->spec) : fd;
	}
	case ITEM_FD:
		return fcntl(it->fd, F_DUPFD_CLOEXEC, 3);
	}
	return fail("bad plan item");
}

static const char *const kind_names[] = { "carry", "tmpfs", "rw", "console", "bind" };

int plan_apply(const struct plan *p, int rootfd, int userns)
{
	struct keyset covered = { 0 }; /* cloned with their submounts */
	int count = 0, rc = -1;

	for (size_t i = 0; i < p->n; i++) {
		const struct item *it = &p->v[i];
		int rec = 0;

		if (it->kind == ITEM_CARRY && set_covers(&covered, it->path))
			continue;
		if (it->kind == ITEM_CARRY) {
			if (carry_one(it, rootfd, userns, &rec) < 0 ||
			    (rec && set_add(&covered, it->path, strlen(it->path), 0) < 0))
				goto out;
		} else {
			cleanup_fd int fd = item_fd(it);

			if (fd < 0 || mount_attach(fd, rootfd, it->path, fd_is_dir(fd) == 1) < 0)
				goto out;
		}
		log_debug("  %s %s", kind_names[it->kind], it->path);
		count++;
	}
	rc = count;
out:
	set_free(&covered);
	return rc;
}
