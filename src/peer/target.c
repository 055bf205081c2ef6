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

#include "stint/carry.h"
#include "stint/log.h"
#include "stint/mountapi.h"
#include "stint/mountinfo.h"
#include "stint/mountpoint.h"
#include "stint/peer_config.h"
#include "stint/peer_err.h"
#include "stint/peer_handoff.h"
#include "stint/pivot.h"
#include "stint/target.h"
#include "stint/util.h"

#define EMPTY_PATH 0x1000 /* AT_EMPTY_PATH */
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

/* Test hook: die like `kill -9` of the whole peer at a step, leaving its
 * mounts behind, to prove a restarted peer completes. */
static void test_kill_at(const char *name)
{
	const char *v = getenv("STINT_PEER_TEST_KILL_AT");

	if (v && strcmp(v, name) == 0) {
		log_info("test hook STINT_PEER_TEST_KILL_AT=%s: killing the peer now", name);
		kill(getppid(), SIGKILL);
		raise(SIGKILL);
	}
}

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

static int mkdir_p_target(const char *path)
{
	char buf[4096];
	struct stat st;

	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : fail("new root %s exists and is not a directory", path);
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return fail_errno("create the new root's mount point %s in the target", buf);
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

static int make_stage(const char *root)
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
	if (sys_move_mount(mnt, "", AT_FDCWD, root, STINT_MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return fail_errno("mount the staging tmpfs at %s", root);
	return 0;
}

static int attach_ro(int fd, int stagefd, const char *name)
{
	struct stint_mount_attr attr = { .attr_set = STINT_MOUNT_ATTR_RDONLY };

	if (sys_mount_setattr(fd, "", EMPTY_PATH, &attr) < 0)
		return fail_errno("make the lower %s read-only", name);
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

static int steps(struct job *j, int *mounted)
{
	const struct peer_config *c = j->cfg;
	struct mountinfo mi = { 0 };
	char lowers[8192], upper[8192], work[8192];
	cleanup_fd int stagefd = -1, ovl = -1, rootfd = -1;
	struct plan plan = { 0 };
	int userns = 0, shared, n = 0, rc = -1;

	step_begin();
	if (ns_enter_mount(j->procfd, j->h->fd[STINT_FD_MNT], j->h->fd[STINT_FD_USER], &userns) < 0 ||
	    clear_leftovers(j, &mi) < 0)
		goto out;
	if (root_is_ours(&mi)) {
		step_done(1, "enter", "the target's / is already our overlay: an earlier run pivoted");
		rc = TARGET_PIVOTED;
		goto out;
	}
	if (!mountinfo_find(&mi, "/")) {
		fail("the target's mountinfo lists no / mount");
		goto out;
	}
	shared = strstr(mountinfo_find(&mi, "/")->optional, "shared:") != NULL;
	if (mkdir_p_target(j->root) < 0 || root_unshare(shared) < 0)
		goto out;
	step_done(1, "enter", "in the init's mount namespace%s, %zu mounts%s", userns ? " and user namespace" : "",
		  mi.n, shared ? ", / made a slave" : "");
	test_kill_at("enter");

	if (make_stage(j->root) < 0)
		goto out;
	*mounted = 1;
	stagefd = open(j->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (stagefd < 0) {
		fail_errno("open the staging dir %s", j->root);
		goto out;
	}
	if (stage_lowers(j, stagefd, lowers, sizeof(lowers)) < 0)
		goto out;
	step_done(2, "lower", "%s read-only at %s", j->nlower ? "lower= paths" : "the image (target's /)", lowers);
	test_kill_at("lower");

	if (mount_attach(j->pv.base, stagefd, "/pv", 1) < 0)
		goto out;
	snprintf(upper, sizeof(upper), "%s/pv/%s", j->root, j->pv.upper_rel);
	snprintf(work, sizeof(work), "%s/pv/%s", j->root, j->pv.work_rel);
	step_done(3, "upper", "persistent volume %s staged (upper %s, work %s)", j->pv.base_path, j->pv.upper_rel,
		  j->pv.work_rel);
	test_kill_at("upper");

	ovl = overlay_make(lowers, upper, work, userns);
	if (ovl < 0)
		goto out;
	/* The overlay holds private clones of its layers: the staging area
	 * can go before the overlay takes its place. */
	if (umount2(j->root, MNT_DETACH) < 0) {
		fail_errno("detach the staging tmpfs %s", j->root);
		goto out;
	}
	*mounted = 0;
	if (sys_move_mount(ovl, "", AT_FDCWD, j->root, STINT_MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		fail_errno("attach the overlay at %s", j->root);
		goto out;
	}
	*mounted = 1;
	rootfd = open(j->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		fail_errno("open the new root %s", j->root);
		goto out;
	}
	if (c->machine_id == PEER_MACHINE_ID_GENERATE && (n = machine_id_ensure(rootfd)) < 0)
		goto out;
	step_done(4, "overlay", "mounted at %s%s", j->root,
		  c->machine_id == PEER_MACHINE_ID_GENERATE ? (n ? ", new machine-id written" : ", machine-id kept") :
							      "");
	test_kill_at("overlay");

	{
		struct carry_ctx ctx = { .cfg = c,
					 .root = j->root,
					 .pv = &j->pv_chain,
					 .sock = j->have_sock_chain ? &j->sock_chain : NULL,
					 .notify_fd = j->notify_fd };

		if (plan_build(&ctx, &mi, &plan) < 0 || (n = plan_apply(&plan, rootfd, userns)) < 0)
			goto out;
	}
	step_done(5, "carry", "%d mounts placed in the new root", n);
	test_kill_at("carry");

	if (c->mode == PEER_MODE_PIVOT) {
		if (pivot_into(rootfd) < 0)
			goto out;
		*mounted = 0; /* past the point of no return */
		step_done(6, "switch", "pivot_root done: the init's / is now the overlay");
		test_kill_at("switch");
		rc = TARGET_PIVOTED;
	} else {
		rc = TARGET_READY;
	}
out:
	plan_free(&plan);
	mountinfo_free(&mi);
	return rc;
}

int target_prepare(struct job *j)
{
	int mounted = 0, rc = steps(j, &mounted);

	if (rc >= 0)
		return rc;
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
