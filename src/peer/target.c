/* prepare, steps 1-6, inside the target's mount namespace:
 *   1 enter    setns; find what an earlier (killed) run left and remove it
 *   2 lower    a private staging tmpfs at the new root path, holding a
 *              read-only NON-recursive clone of the target's "/" (or the
 *              lower= clones) ...
 *   3 upper    ... and the persistent volume's clone brought from the
 *              peer's namespace
 *   4 overlay  made detached from the staging paths; the staging tmpfs is
 *              then dropped (overlayfs holds private clones of its layers)
 *              and the overlay attached at the new root path
 *   5 carry    the runtime's mounts, tmpfs dirs, cgroup, console, notify
 *   6 switch   pivot mode: pivot_root the namespace into the new root
 * Nothing is ever bound onto "/" itself (that breaks `runc exec`). */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "carry.h"
#include "stint/log.h"
#include "stint/syscalls.h"
#include "mountinfo.h"
#include "mountpoint.h"
#include "peer_config.h"
#include "err.h"
#include "handoff.h"
#include "cgroup.h"
#include "identity.h"
#include "image.h"
#include "pivot.h"
#include "target.h"
#include "stint/util.h"

#define STAGE_SOURCE "stint-stage"
#define OVERLAY_SOURCE "stint"

static long step_start;

static void step_begin(void)
{
	step_start = log_elapsed_ms();
}

static void step_done(int n, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void step_done(int n, const char *name, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_info("step %d/7 %s: %s (%ld ms)", n, name, what, log_elapsed_ms() - step_start);
	step_begin();
}

#ifdef STINT_TEST_HOOKS
/* Test hooks, compiled into development builds only (never into the static
 * release binaries). KILL_AT: die like `kill -9` of the whole peer at a
 * step, leaving its mounts behind, to prove a restarted peer completes.
 * HANG_AT: the worker stops at a step for good, as on a volume that never
 * answers, to prove prepare-timeout and SIGTERM end it. */
static void test_kill_at(const char *name)
{
	const char *v = getenv("STINT_PEER_TEST_KILL_AT");
	const char *h = getenv("STINT_PEER_TEST_HANG_AT");

	if (v && strcmp(v, name) == 0) {
		log_info("test hook STINT_PEER_TEST_KILL_AT=%s: killing the peer now", name);
		kill(getppid(), SIGKILL);
		raise(SIGKILL);
	}
	if (h && strcmp(h, name) == 0) {
		log_info("test hook STINT_PEER_TEST_HANG_AT=%s: the worker hangs here", name);
		for (;;)
			pause();
	}
}
#else
static void test_kill_at(const char *name)
{
	(void)name;
}
#endif

static int is_ours(const struct mount_entry *e)
{
	return e && (strcmp(e->source, STAGE_SOURCE) == 0 ||
		     (strcmp(e->fstype, "overlay") == 0 && strcmp(e->source, OVERLAY_SOURCE) == 0));
}

/* Remove what an earlier run left at the new root path. Re-reads mountinfo
 * into *mi, which then is the target as its runtime made it. */
static int clear_leftovers(struct job *j, struct mountinfo *mi)
{
	for (int round = 0; round < 8; round++) {
		const struct mount_entry *e;

		mountinfo_free(mi);
		if (mountinfo_read(j->procfd, "self/mountinfo", mi) < 0)
			return fail_errno("read the target's mountinfo (through the peer's /proc)");
		e = mountinfo_find(mi, j->root);
		if (!is_ours(e))
			return 0;
		log_info("removing a %s left at %s by an earlier run", e->fstype, j->root);
		if (umount2(j->root, MNT_DETACH) < 0)
			return fail_errno("detach the leftover %s at %s", e->fstype, j->root);
	}
	return fail("cannot clear %s: mounts keep reappearing", j->root);
}

/* The new root's mount point inside the container, made where missing,
 * never through a symlink: an image whose /.stint is a link must not send
 * the overlay (and the volume under it) somewhere else. */
static int root_open(const char *root)
{
	struct stint_open_how how = { .flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_BENEATH | STINT_RESOLVE_NO_SYMLINKS |
						 STINT_RESOLVE_NO_MAGICLINKS };
	char copy[PATH_MAX];
	cleanup_fd int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *save = NULL;

	if (dir < 0)
		return fail_errno("open the target's /");
	if (root[0] != '/' || snprintf(copy, sizeof(copy), "%s", root) >= (int)sizeof(copy))
		return fail("new root %s: not an absolute path that fits PATH_MAX", root);
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next;

		if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
			return fail("new root %s: '.' and '..' are not allowed", root);
		next = sys_openat2(dir, c, &how);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(dir, c, 0755) < 0 && errno != EEXIST)
				return fail_errno("create %s of the new root %s in the target", c, root);
			next = sys_openat2(dir, c, &how);
		}
		if (next < 0)
			return fail_errno("new root %s: %s%s", root, c,
					  errno == ELOOP ?
						  " is a symlink (the new root must not be reached through one)" :
					  errno == ENOTDIR ? " is not a directory" :
							     "");
		close(dir);
		dir = next;
	}
	return steal_fd(&dir);
}

static int make_stage(int rootfd, const char *root)
{
	cleanup_fd int fs = sys_fsopen("tmpfs", STINT_FSOPEN_CLOEXEC);
	cleanup_fd int mnt = -1;

	if (fs < 0 || sys_fsconfig(fs, STINT_FSCONFIG_SET_STRING, "source", STAGE_SOURCE, 0) < 0 ||
	    sys_fsconfig(fs, STINT_FSCONFIG_SET_STRING, "mode", "700", 0) < 0 ||
	    sys_fsconfig(fs, STINT_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fail_errno("create the staging tmpfs");
	mnt = sys_fsmount(fs, STINT_FSMOUNT_CLOEXEC, 0);
	if (mnt < 0)
		return fail_errno("fsmount the staging tmpfs");
	if (sys_move_mount(mnt, "", rootfd, "", STINT_MOVE_MOUNT_F_EMPTY_PATH | STINT_MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return fail_errno("mount the staging tmpfs at %s", root);
	return 0;
}

static int attach_ro(int fd, int stagefd, const char *name)
{
	/* nodev: the peer itself reads the image (os-release, the record);
	 * a device node in it must open nothing (the overlay is nodev too). */
	struct stint_mount_attr attr = { .attr_set = STINT_MOUNT_ATTR_RDONLY | STINT_MOUNT_ATTR_NODEV };

	if (sys_mount_setattr(fd, "", AT_EMPTY_PATH, &attr) < 0)
		return fail_errno("make the lower %s read-only and nodev", name);
	return mount_attach(fd, stagefd, name, 1);
}

/* Step 2: the lower layer(s) into the staging area; lowers = their paths. */
static int stage_lowers(struct job *j, int stagefd, char *lowers, size_t len)
{
	lowers[0] = '\0';
	if (j->nlower == 0) {
		/* Non-recursive on purpose: the image only, without /proc,
		 * /dev and volumes mounted on it. */
		cleanup_fd int fd = sys_open_tree(AT_FDCWD, "/", STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC);

		if (fd < 0)
			return fail_errno("clone the target's root (open_tree /)");
		if (attach_ro(fd, stagefd, "/lower0") < 0)
			return -1;
		snprintf(lowers, len, "%s/lower0", j->root);
		return 0;
	}
	for (int i = 0; i < j->nlower; i++) {
		char name[32];
		size_t n = strlen(lowers);

		snprintf(name, sizeof(name), "/lower%d", i);
		if (attach_ro(j->lower_fd[i], stagefd, name) < 0)
			return -1;
		snprintf(lowers + n, len - n, "%s%s%s", i ? ":" : "", j->root, name);
	}
	return 0;
}

static int root_is_ours(const struct mountinfo *mi)
{
	const struct mount_entry *e = mountinfo_find(mi, "/");

	return e && strcmp(e->fstype, "overlay") == 0 && strcmp(e->source, OVERLAY_SOURCE) == 0;
}

/* chroot mode: the guest can leave a chroot (CAP_SYS_CHROOT is in the
 * default set), so before READY every mount of the old root that shows the
 * handoff socket's directory or the volume leaves the container's mount
 * namespace. stint keeps working through the fds it holds. /proc, /sys and
 * /dev of the old root stay: `kubectl exec` (runc exec) needs them. */
static int hide_private_mounts(const struct job *j, const struct mountinfo *mi)
{
	int n = 0;

	for (size_t i = mi->n; i > 0; i--) {
		const struct mount_entry *e = &mi->m[i - 1];

		if (strcmp(e->target, "/") == 0 || path_is_under(e->target, j->root) ||
		    !shows_private_dir(&j->pv_chain, j->have_sock_chain ? &j->sock_chain : NULL, e->target))
			continue;
		/* Never send the unmount to the node's copy of the mount. */
		if (strstr(e->optional, "shared:") && mount(NULL, e->target, NULL, MS_PRIVATE, NULL) < 0)
			return fail_errno("make %s private before detaching it", e->target);
		if (umount2(e->target, MNT_DETACH) < 0)
			return fail_errno("detach %s from the old root (it shows the handoff socket or the volume)",
					  e->target);
		log_debug("detached %s from the old root", e->target);
		n++;
	}
	return n;
}

static int step_enter(struct job *j, struct mountinfo *mi, int *userns, int *rootdir)
{
	const struct mount_entry *root;
	int shared;

	step_begin();
	if (ns_enter_mount(j->procfd, j->h->fd[STINT_FD_MNT], j->h->fd[STINT_FD_USER], userns) < 0 ||
	    clear_leftovers(j, mi) < 0)
		return -1;
	if (root_is_ours(mi)) {
		step_done(1, "enter", "the target's / is already our overlay: an earlier run pivoted");
		return TARGET_PIVOTED;
	}
	if (!(root = mountinfo_find(mi, "/")))
		return fail("the target's mountinfo lists no / mount");
	shared = strstr(root->optional, "shared:") != NULL;
	if ((*rootdir = root_open(j->root)) < 0 || root_unshare(shared) < 0)
		return -1;
	step_done(1, "enter", "in the init's mount namespace%s, %zu mounts%s", *userns ? " and user namespace" : "",
		  mi->n, shared ? ", / made a slave" : "");
	test_kill_at("enter");
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The image as the overlay will show it, readable: the one staged lower,
 * or, for several lower= paths, a read-only overlay of them alone. */
static int image_root(const struct job *j, int stagefd, const char *lowers, int userns)
{
	cleanup_fd int mnt = -1, fs = -1;
	int fd;

	if (j->nlower <= 1) {
		fd = openat(stagefd, "lower0", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		return fd < 0 ? fail_errno("open the staged image %s/lower0", j->root) : fd;
	}
	fs = sys_fsopen("overlay", STINT_FSOPEN_CLOEXEC);
	if (fs < 0 || sys_fsconfig(fs, STINT_FSCONFIG_SET_STRING, "lowerdir", lowers, 0) < 0 ||
	    (userns && sys_fsconfig(fs, STINT_FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0) ||
	    sys_fsconfig(fs, STINT_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fail_errno("a read-only overlay of the lowers %s (to identify the image)", lowers);
	mnt = sys_fsmount(fs, STINT_FSMOUNT_CLOEXEC, STINT_MOUNT_ATTR_RDONLY | STINT_MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return fail_errno("fsmount the read-only overlay of %s", lowers);
	fd = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? fail_errno("open the read-only overlay of %s", lowers) : fd;
}

/* The runtime's mount points, sorted, as copies (the record may outlive
 * the mountinfo): their mtime stays out of the image's digest, since a
 * file the runtime creates to mount over gets a new one in every
 * container. Only when the image is the target's own root. */
static int copy_mount_points(const struct job *j, const struct mountinfo *mi, struct image_job *ij)
{
	const char **mounts;

	if (j->nlower != 0 || !mi->n)
		return 0;
	if (!(mounts = calloc(mi->n, sizeof(*mounts))))
		return fail_errno("memory for %zu mount points", mi->n);
	for (size_t i = 0; i < mi->n; i++) {
		if (!(mounts[i] = strdup(mi->m[i].target))) {
			ij->mounts = mounts;
			ij->n_mounts = i;
			return fail_errno("memory for %zu mount points", mi->n);
		}
	}
	qsort(mounts, mi->n, sizeof(*mounts), by_path);
	ij->mounts = mounts;
	ij->n_mounts = mi->n;
	return 0;
}

static void image_job_free(struct image_job *ij)
{
	for (size_t i = 0; i < ij->n_mounts; i++)
		free((char *)ij->mounts[i]);
	free((void *)ij->mounts);
	ij->mounts = NULL;
	ij->n_mounts = 0;
	if (ij->lowerfd >= 0)
		close(ij->lowerfd);
	if (ij->upperfd >= 0)
		close(ij->upperfd);
	ij->lowerfd = ij->upperfd = -1;
}

/* Between steps 3 and 4: identify the image, record it on the volume,
 * report what the upper shadows when it changed (image.c). Only refuse
 * needs the answer before the boot; with allow and warn in pivot mode the
 * record is made once the OS has booted (target_record_image). */
static int step_image(struct job *j, const struct mountinfo *mi, int stagefd, const char *lowers, int userns)
{
	struct stint_open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_BENEATH | STINT_RESOLVE_NO_SYMLINKS |
						 STINT_RESOLVE_NO_MAGICLINKS };
	struct image_job ij = { .policy = j->cfg->on_image_change,
				.pvfd = j->pv.base,
				.deadline = j->deadline,
				.procfd = j->procfd,
				.lowerfd = -1,
				.upperfd = -1 };
	int rc;

	if ((ij.lowerfd = image_root(j, stagefd, lowers, userns)) < 0 ||
	    (ij.upperfd = sys_openat2(j->pv.base, j->pv.upper_rel, &how)) < 0 || copy_mount_points(j, mi, &ij) < 0) {
		if (ij.lowerfd >= 0 && ij.upperfd < 0)
			fail_errno("open the upper layer %s on the volume", j->pv.upper_rel);
		image_job_free(&ij);
		if (j->cfg->on_image_change == PEER_IMAGE_REFUSE)
			return -1;
		log_warn("image: not recorded (booting anyway): %s", fail_reason());
		return 0;
	}
	/* Not in chroot mode: there a guest that leaves its chroot can write
	 * the container's root, the lower, while the record would run. */
	if (j->cfg->on_image_change != PEER_IMAGE_REFUSE && j->cfg->mode == PEER_MODE_PIVOT) {
		j->image = ij;
		j->image_later = true;
		return 0;
	}
	rc = image_check(&ij);
	image_job_free(&ij);
	return rc;
}

void target_record_image(struct job *j)
{
	if (!j->image_later)
		return;
	j->image.deadline = deadline_in(j->cfg->prepare_timeout_ms);
	image_check(&j->image);
	image_job_free(&j->image);
	j->image_later = false;
}

/* Steps 2-4: the layers staged under the new root, the overlay made from
 * them and put in their place. Returns the overlay's O_PATH fd. */
static int step_overlay(struct job *j, const struct mountinfo *mi, int rootdir, int userns, int *mounted)
{
	char lowers[8192], upper[8192], work[8192];
	cleanup_fd int stagefd = -1, ovl = -1;
	int fd;

	if (make_stage(rootdir, j->root) < 0)
		return -1;
	*mounted = 1;
	stagefd = open(j->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (stagefd < 0)
		return fail_errno("open the staging dir %s", j->root);
	if (stage_lowers(j, stagefd, lowers, sizeof(lowers)) < 0)
		return -1;
	step_done(2, "lower", "%s read-only at %s", j->nlower ? "lower= paths" : "the image (target's /)", lowers);
	test_kill_at("lower");

	if (mount_attach(j->pv.base, stagefd, "/pv", 1) < 0)
		return -1;
	snprintf(upper, sizeof(upper), "%s/pv/%s", j->root, j->pv.upper_rel);
	snprintf(work, sizeof(work), "%s/pv/%s", j->root, j->pv.work_rel);
	step_done(3, "upper", "persistent volume %s staged (upper %s, work %s)", j->pv.base_path, j->pv.upper_rel,
		  j->pv.work_rel);
	test_kill_at("upper");
	if (step_image(j, mi, stagefd, lowers, userns) < 0)
		return -1;
	step_begin();

	if ((ovl = overlay_make(lowers, upper, work, userns)) < 0)
		return -1;
	/* The overlay holds private clones of its layers: the staging area
	 * can go before the overlay takes its place. */
	if (umount2(j->root, MNT_DETACH) < 0)
		return fail_errno("detach the staging tmpfs %s", j->root);
	*mounted = 0;
	if (sys_move_mount(ovl, "", rootdir, "", STINT_MOVE_MOUNT_F_EMPTY_PATH | STINT_MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return fail_errno("attach the overlay at %s", j->root);
	*mounted = 1;
	fd = open(j->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("open the new root %s", j->root);
	return fd;
}

static int step_identity(struct job *j, int rootfd)
{
	int n = 0;

	if (j->cfg->machine_id == PEER_MACHINE_ID_GENERATE && (n = machine_id_ensure(rootfd)) < 0)
		return -1;
	step_done(4, "overlay", "mounted at %s%s", j->root,
		  j->cfg->machine_id == PEER_MACHINE_ID_GENERATE ?
			  (n ? ", new machine-id written" : ", machine-id kept") :
			  "");
	test_kill_at("overlay");
	return 0;
}

static int step_carry(struct job *j, const struct mountinfo *mi, int rootfd, int userns)
{
	const struct peer_config *c = j->cfg;
	char notify_dir[PATH_MAX], name[NAME_MAX + 1];
	struct carry_ctx ctx = {
		.mode = c->carry == PEER_CARRY_NONE ? CARRY_NONE :
			c->carry == PEER_CARRY_LIST ? CARRY_LIST :
						      CARRY_AUTO,
		.include = { c->include.v, c->include.n },
		.exclude = { c->exclude.v, c->exclude.n },
		.tmpfs = { c->tmpfs.v, c->tmpfs.n },
		.cgroup_rw = c->cgroup == PEER_CGROUP_RW ? c->cgroup_path : NULL,
		.console = c->console,
		.notify_fd = j->notify_fd,
		.notify_dir = notify_dir,
		.root = j->root,
		.pv = &j->pv_chain,
		.sock = j->have_sock_chain ? &j->sock_chain : NULL,
	};
	struct plan plan = { 0 };
	int n;

	if (path_split(j->cfg->notify_target, notify_dir, sizeof(notify_dir), name, sizeof(name)) < 0)
		return fail_errno("notify-target %s", j->cfg->notify_target);
	n = plan_build(&ctx, mi, &plan) < 0 ? -1 : plan_apply(&plan, rootfd, userns);

	plan_free(&plan);
	if (n < 0)
		return -1;
	if (j->cfg->cgroup == PEER_CGROUP_RW && cgroup_needs_guard(mi, j->cfg->cgroup_path)) {
		int guarded = cgroup_guard_limits(rootfd, j->cfg->cgroup_path);

		if (guarded < 0)
			return -1;
		log_info("cgroup=rw: the node's cgroup2 has no nsdelegate: %d files of the container's own cgroup "
			 "(its limits) stay read-only",
			 guarded);
	}
	step_done(5, "carry", "%d mounts placed in the new root", n);
	test_kill_at("carry");
	return 0;
}

/* The rest of the pod's identity, once /proc and the /run tmpfs are in
 * place (identity.c). */
static int step_own_identity(struct job *j, int rootfd, int upperfd)
{
	char what[200];

	if (identity_apply(j->cfg, rootfd, upperfd, what, sizeof(what)) < 0)
		return -1;
	step_done(5, "identity", "%s", what);
	return 0;
}

static int step_switch(struct job *j, const struct mountinfo *mi, int rootfd, int *mounted)
{
	int n;

	if (j->cfg->mode != PEER_MODE_PIVOT) {
		if ((n = hide_private_mounts(j, mi)) < 0)
			return -1;
		step_done(6, "switch",
			  "chroot mode: %d mount%s of the old root that show the handoff socket or the "
			  "volume detached; stint enters %s",
			  n, n == 1 ? "" : "s", j->root);
		return TARGET_READY;
	}
	if (pivot_into(rootfd) < 0)
		return -1;
	*mounted = 0; /* past the point of no return */
	step_done(6, "switch", "pivot_root done: the init's / is now the overlay");
	test_kill_at("switch");
	return TARGET_PIVOTED;
}

static int steps(struct job *j, int *mounted)
{
	struct mountinfo mi = { 0 };
	cleanup_fd int rootdir = -1, rootfd = -1, upperfd = -1;
	int userns = 0, rc;

	rc = step_enter(j, &mi, &userns, &rootdir);
	/* Past here "userns" means "not in the initial user namespace": the
	 * init's, entered, or ours, shared with the init (pv.userxattr). */
	userns = j->pv.userxattr;
	/* The pod's own layer, opened before the volume's clone moves into
	 * the staging area: it tells the pod's files from the image's. */
	if (rc == 0 && (upperfd = identity_open_upper(j->pv.base, j->pv.upper_rel)) < 0)
		rc = -1;
	if (rc == 0 && (rootfd = step_overlay(j, &mi, rootdir, userns, mounted)) < 0)
		rc = -1;
	if (rc == 0 && (step_identity(j, rootfd) < 0 || step_carry(j, &mi, rootfd, userns) < 0 ||
			step_own_identity(j, rootfd, upperfd) < 0))
		rc = -1;
	if (rc == 0)
		rc = step_switch(j, &mi, rootfd, mounted);
	mountinfo_free(&mi);
	return rc;
}

int target_prepare(struct job *j)
{
	int mounted = 0, rc = steps(j, &mounted);

	if (rc >= 0)
		return rc;
	if (j->image_later) {
		image_job_free(&j->image);
		j->image_later = false;
	}
	/* Undo: everything of ours hangs below the new root path. */
	if (mounted && umount2(j->root, MNT_DETACH) < 0)
		log_warn("undo: detach %s: %s", j->root, strerror(errno));
	else if (mounted)
		log_info("undo: detached what this run mounted at %s", j->root);
	return TARGET_FAILED;
}

int target_undo(struct job *j)
{
	struct mountinfo mi = { 0 };
	int userns;

	if (ns_enter_mount(j->procfd, j->h->fd[STINT_FD_MNT], j->h->fd[STINT_FD_USER], &userns) < 0)
		return -1;
	if (clear_leftovers(j, &mi) < 0) {
		mountinfo_free(&mi);
		return -1;
	}
	mountinfo_free(&mi);
	return 0;
}
