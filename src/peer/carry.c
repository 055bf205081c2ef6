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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/carry.h"
#include "stint/log.h"
#include "stint/syscalls.h"
#include "mountpoint.h"
#include "stint/peer_config.h"
#include "err.h"
#include "stint/util.h"

#define OPEN_TREE_FLAGS (STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC)
#define EMPTY_PATH 0x1000 /* AT_EMPTY_PATH */

static int plan_add(struct plan *p, const char *path, int kind, const char *spec, int fd)
{
	struct item *v = realloc(p->v, (p->n + 1) * sizeof(*v));

	if (!v)
		return fail("out of memory");
	p->v = v;
	memset(&v[p->n], 0, sizeof(v[p->n]));
	snprintf(v[p->n].path, sizeof(v[p->n].path), "%s", path);
	v[p->n].kind = kind;
	v[p->n].spec = spec;
	v[p->n].fd = fd;
	p->n++;
	return 0;
}

/* A later item at the same path replaces a carried mount there. */
static void plan_drop_carry(struct plan *p, const char *path)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->v[i].kind == ITEM_CARRY && strcmp(p->v[i].path, path) == 0) {
			memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof(p->v[i]));
			p->n--;
			i--;
		}
	}
}

void plan_free(struct plan *p)
{
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

static int in_list(const struct strlist *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++) {
		if (path_is_under(path, l->v[i]))
			return 1;
	}
	return 0;
}

/* Does this mount show the persistent layer or the socket's dir? */
static int shows_private_dir(const struct carry_ctx *ctx, const char *target)
{
	struct stat st;

	if (fstatat(AT_FDCWD, target, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return chain_has(ctx->pv, st.st_dev, st.st_ino) || (ctx->sock && chain_has(ctx->sock, st.st_dev, st.st_ino));
}

static int depth(const char *path)
{
	int d = 0;

	for (; *path; path++)
		d += *path == '/';
	return d;
}

static int by_depth(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int dx = depth(x->path), dy = depth(y->path);

	return dx - dy;
}

static void sort_stable(struct plan *p)
{
	/* Insertion sort: stable (qsort is not), and plans are short. The
	 * order within a depth is the mountinfo order, i.e. mount order. */
	for (size_t i = 1; i < p->n; i++) {
		struct item tmp = p->v[i];
		size_t j = i;

		while (j > 0 && by_depth(&p->v[j - 1], &tmp) > 0) {
			p->v[j] = p->v[j - 1];
			j--;
		}
		p->v[j] = tmp;
	}
}

static const struct mount_entry *by_id(const struct mountinfo *mi, int id)
{
	for (size_t i = 0; i < mi->n; i++) {
		if (mi->m[i].id == id)
			return &mi->m[i];
	}
	return NULL;
}

/* Is mount i covered by a later mount at or above its mount point that is
 * not one of its ancestors? (mounted over it after the fact: the target
 * cannot see it, so neither may the new root) */
static int is_covered(const struct mountinfo *mi, size_t i)
{
	const struct mount_entry *e = &mi->m[i];

	for (size_t k = i + 1; k < mi->n; k++) {
		const struct mount_entry *f = &mi->m[k], *a = e;
		int depth = 0;

		if (!path_is_under(e->target, f->target))
			continue;
		while (a && a->id != f->id && a->parent != a->id && depth++ < 64)
			a = by_id(mi, a->parent);
		if (!a || a->id != f->id)
			return 1;
	}
	return 0;
}

static int add_carried(const struct carry_ctx *ctx, const struct mountinfo *mi, struct plan *p)
{
	const struct peer_config *c = ctx->cfg;
	char *hidden[256];
	size_t nhidden = 0;

	if (c->carry == PEER_CARRY_NONE)
		return 0;
	for (size_t i = 0; i < mi->n; i++) {
		const struct mount_entry *e = &mi->m[i];
		int inc = in_list(&c->include, e->target);

		if (strcmp(e->target, "/") == 0 || path_is_under(e->target, ctx->root))
			continue;
		if (path_is_under(ctx->root, e->target)) {
			log_warn("not carrying %s: the new root %s lies inside it", e->target, ctx->root);
			continue;
		}
		if (is_covered(mi, i))
			continue; /* over-mounted: only the visible one counts */
		if (c->carry == PEER_CARRY_LIST && !inc)
			continue;
		if (!inc && in_list(&c->exclude, e->target)) {
			log_debug("not carrying %s: excluded", e->target);
			continue;
		}
		if (!inc && shows_private_dir(ctx, e->target) && nhidden < ARRAY_SIZE(hidden)) {
			log_info("not carrying %s: it holds the persistent layer or the handoff socket", e->target);
			hidden[nhidden++] = e->target;
			continue;
		}
		if (!inc) {
			int under = 0;

			for (size_t h = 0; h < nhidden; h++)
				under |= path_is_under(e->target, hidden[h]);
			if (under)
				continue;
		}
		if (plan_add(p, e->target, ITEM_CARRY, NULL, -1) < 0)
			return -1;
	}
	/* Included paths that are not mount points are bound as they are. */
	for (size_t i = 0; i < c->include.n; i++) {
		if (!mountinfo_find(mi, c->include.v[i]) && plan_add(p, c->include.v[i], ITEM_CARRY, NULL, -1) < 0)
			return -1;
	}
	return 0;
}

int plan_build(const struct carry_ctx *ctx, const struct mountinfo *mi, struct plan *p)
{
	const struct peer_config *c = ctx->cfg;

	p->v = NULL;
	p->n = 0;
	if (add_carried(ctx, mi, p) < 0)
		return -1;
	for (size_t i = 0; i < c->tmpfs.n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%.*s", (int)strcspn(c->tmpfs.v[i], ":"), c->tmpfs.v[i]);
		plan_drop_carry(p, path);
		if (plan_add(p, path, ITEM_TMPFS, c->tmpfs.v[i], -1) < 0)
			return -1;
	}
	if (c->cgroup == PEER_CGROUP_RW) {
		if (!mountinfo_find(mi, c->cgroup_path))
			return fail("cgroup=rw: the target has no mount at %s (cgroup-path)", c->cgroup_path);
		plan_drop_carry(p, c->cgroup_path);
		if (plan_add(p, c->cgroup_path, ITEM_RW, NULL, -1) < 0)
			return -1;
	}
	if (c->console) {
		plan_drop_carry(p, "/dev/console");
		if (plan_add(p, "/dev/console", ITEM_CONSOLE, c->console, -1) < 0)
			return -1;
	}
	if (ctx->notify_fd >= 0 && plan_add(p, ctx->notify_dir, ITEM_FD, NULL, ctx->notify_fd) < 0)
		return -1;
	sort_stable(p);
	return 0;
}

/* A detached tmpfs from "PATH[:key=value...]"; mode defaults to 1777 for
 * temporary dirs and 755 elsewhere (what systemd expects of /tmp, /run). */
static int tmpfs_make(const char *spec)
{
	const char *path_end = spec + strcspn(spec, ":");
	cleanup_fd int fs = sys_fsopen("tmpfs", STINT_FSOPEN_CLOEXEC);
	int has_mode = 0, mnt;
	char path[4096];

	snprintf(path, sizeof(path), "%.*s", (int)(path_end - spec), spec);
	if (fs < 0)
		return fail_errno("fsopen tmpfs for %s", path);
	if (sys_fsconfig(fs, STINT_FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0)
		return fail_errno("tmpfs %s: source", path);
	for (const char *o = *path_end ? path_end + 1 : NULL; o && *o;) {
		size_t n = strcspn(o, ":");
		char kv[256], *eq;

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
		return tmpfs_make(it->spec);
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
	char covered[16][4096];
	size_t ncovered = 0;
	int count = 0;

	for (size_t i = 0; i < p->n; i++) {
		const struct item *it = &p->v[i];
		int skip = 0, rec = 0;

		for (size_t c = 0; c < ncovered; c++)
			skip |= path_is_under(it->path, covered[c]) && it->kind == ITEM_CARRY;
		if (skip)
			continue;
		if (it->kind == ITEM_CARRY) {
			if (carry_one(it, rootfd, userns, &rec) < 0)
				return -1;
			if (rec && ncovered < ARRAY_SIZE(covered))
				snprintf(covered[ncovered++], sizeof(covered[0]), "%s", it->path);
		} else {
			cleanup_fd int fd = item_fd(it);

			if (fd < 0 || mount_attach(fd, rootfd, it->path, fd_is_dir(fd) == 1) < 0)
				return -1;
		}
		log_debug("  %s %s", kind_names[it->kind], it->path);
		count++;
	}
	return count;
}
