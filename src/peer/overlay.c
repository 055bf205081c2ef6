/* Persistent volume checks and the overlay mount. Overlayfs accepts an
 * upper filesystem without xattrs or d_type and silently degrades (no
 * whiteouts that survive, no opaque dirs): deleted image files would come
 * back. So the peer probes first and refuses with a reason. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "stint/log.h"
#include "stint/path.h"
#include "stint/syscalls.h"
#include "mountinfo.h"
#include "overlay.h"
#include "peer_config.h"
#include "err.h"
#include "stint/util.h"

/* Make the directory `path` (creating what is missing, 0755) without
 * following a symlink anywhere on the way: an older upper layer is the
 * guest's tree, and a config that points inside one must not be steered.
 * Writes the path normalized (no "//") into out. Returns 0 or -1. */
static int dir_make_nofollow(const char *path, char *out, size_t outlen)
{
	struct stint_open_how how = { .flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_BENEATH | STINT_RESOLVE_NO_SYMLINKS |
						 STINT_RESOLVE_NO_MAGICLINKS };
	char copy[PATH_MAX];
	cleanup_fd int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	size_t len = 0;

	if (path[0] != '/' || snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return fail("%s: not an absolute path that fits PATH_MAX", path);
	if (dir < 0)
		return fail_errno("open /");
	out[0] = '\0';
	for (char *save = NULL, *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next;

		if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
			return fail("%s: '.' and '..' are not allowed", path);
		next = sys_openat2(dir, c, &how);
		if (next < 0 && errno == ENOENT && mkdirat(dir, c, 0755) < 0 && errno != EEXIST)
			return fail_errno("mkdir %s in %s", c, path);
		if (next < 0)
			next = sys_openat2(dir, c, &how);
		if (next < 0)
			return fail_errno("%s: %s%s", path, c,
					  errno == ELOOP ? " is a symlink (not allowed here)" : "");
		close(dir);
		dir = next;
		len += (size_t)snprintf(out + len, outlen - len, "/%s", c);
		if (len >= outlen)
			return fail("%s: path too long", path);
	}
	if (!out[0])
		snprintf(out, outlen, "/");
	return 0;
}

/* Can overlayfs keep whiteouts and opaque dirs here? */
int pv_probe_fs(const char *dir, int userxattr)
{
	const char *xname = userxattr ? "user.overlay.stint-probe" : "trusted.overlay.stint-probe";
	char path[PATH_MAX];
	cleanup_fd int fd = -1;
	DIR *d;
	struct dirent *de;
	int dtype = DT_UNKNOWN, rc = 0;

	if (snprintf(path, sizeof(path), "%s/.stint-probe", dir) >= (int)sizeof(path))
		return fail("%s: path too long", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fail_errno("persistent volume: create %s", path);
	if (fsetxattr(fd, xname, "1", 1, 0) < 0) {
		rc = fail_errno("persistent volume %s cannot hold overlayfs' %s xattrs (set %s)", dir,
				userxattr ? "user.*" : "trusted.*", xname);
		goto out;
	}
	d = opendir(dir);
	if (!d) {
		rc = fail_errno("persistent volume: opendir %s", dir);
		goto out;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".stint-probe") == 0)
			dtype = de->d_type;
	closedir(d);
	if (dtype == DT_UNKNOWN)
		rc = fail("persistent volume %s does not report file types (d_type), which overlayfs needs", dir);
out:
	unlink(path);
	return rc;
}

/* Overlayfs keeps whiteout, opaque and origin metadata in trusted.overlay.*
 * xattrs, or in user.overlay.* with userxattr (a mount in a user
 * namespace), and each mode ignores the other's: deleted image files and
 * the old contents of replaced directories would come back. The mode an
 * upper was made in is recorded on its work dir (a user.* xattr, readable
 * in both modes, out of the guest's sight); an upper from before that
 * record is recognised by the overlay xattrs visible here on it and its
 * entries (trusted.* ones are invisible inside a user namespace). */
#define MODE_XATTR "user.stint.overlay-xattrs"

/* 1 if name (in dirfd) has an xattr starting with prefix, 0 if not, -1
 * (fail()) if its list cannot be read. The list is read whole, however
 * long: the guest sets user.* xattrs on its files, and one cut at a fixed
 * size could hide the one that matters. */
static int has_overlay_xattr(int dirfd, const char *name, const char *prefix)
{
	char path[PATH_MAX];
	cleanup_free char *list = NULL;
	ssize_t n = 0;

	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
	for (int tries = 0; tries < 4; tries++) {
		ssize_t size = llistxattr(path, NULL, 0);

		if (size <= 0)
			return size < 0 && errno != ENOTSUP ? fail_errno("list the xattrs of %s", name) : 0;
		free(list);
		list = malloc((size_t)size);
		if (!list)
			return fail_errno("list the xattrs of %s", name);
		n = llistxattr(path, list, (size_t)size);
		if (n >= 0 || errno != ERANGE)
			break; /* ERANGE: it grew meanwhile */
	}
	if (n < 0)
		return fail_errno("list the xattrs of %s", name);
	for (ssize_t i = 0; i < n; i += (ssize_t)strnlen(list + i, (size_t)(n - i)) + 1)
		if (strncmp(list + i, prefix, strlen(prefix)) == 0)
			return 1;
	return 0;
}

/* Does the upper (or one of its first entries) carry xattrs of prefix? */
static int upper_has_xattrs(const char *upper, const char *prefix)
{
	cleanup_fd int fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	int found, count = 0;
	DIR *d;

	if (fd < 0)
		return fail_errno("open upper %s", upper);
	found = has_overlay_xattr(fd, ".", prefix);
	d = found ? NULL : fdopendir(fcntl(fd, F_DUPFD_CLOEXEC, 3));
	if (!found && !d)
		return fail_errno("opendir upper %s", upper);
	while (found == 0 && count++ < 1024 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			found = has_overlay_xattr(fd, de->d_name, prefix);
	if (d)
		closedir(d);
	return found;
}

static int upper_refuse(const char *upper, int made_userxattr)
{
	if (made_userxattr)
		return fail("upper %s was made by a pod with a user namespace (user.overlay.* xattrs); "
			    "without one the overlay reads trusted.overlay.* only and deleted files would "
			    "come back: run this pod with hostUsers: false, or move the files to a new volume",
			    upper);
	return fail("upper %s was made by a pod without a user namespace (trusted.overlay.* xattrs); "
		    "in a user namespace (hostUsers: false) the overlay reads user.overlay.* only and "
		    "deleted files would come back: run this pod without a user namespace, or move the "
		    "files to a new volume",
		    upper);
}

int pv_upper_mode_check(const char *upper, const char *work, int userxattr, bool record)
{
	const char *mine = userxattr ? "user" : "trusted";
	char val[16];
	ssize_t n = getxattr(work, MODE_XATTR, val, sizeof(val) - 1);
	int other;

	if (n >= 0) {
		val[n] = '\0';
		return strcmp(val, mine) == 0 ? 0 : upper_refuse(upper, strcmp(val, "user") == 0);
	}
	if (errno != ENODATA && errno != ENOTSUP)
		return fail_errno("read %s of %s", MODE_XATTR, work);
	other = upper_has_xattrs(upper, userxattr ? "trusted.overlay." : "user.overlay.");
	if (other < 0)
		return -1;
	if (other)
		return upper_refuse(upper, !userxattr);
	if (record && setxattr(work, MODE_XATTR, mine, strlen(mine), 0) < 0)
		log_debug("cannot record the overlay's xattr mode on %s: %s", work, strerror(errno));
	return 0;
}

static int resolve_dirs(const struct peer_config *c, char *upper, char *work)
{
	char u[PATH_MAX], w[PATH_MAX];

	if (c->state) {
		struct stat st;

		/* The volume itself must exist: a missing mount must not be
		 * papered over by creating an empty dir in its place. */
		if (stat(c->state, &st) < 0)
			return fail_errno("persistent volume %s", c->state);
		if (!S_ISDIR(st.st_mode))
			return fail("persistent volume %s is not a directory", c->state);
		if (snprintf(u, sizeof(u), "%s/upper", c->state) >= (int)sizeof(u) ||
		    snprintf(w, sizeof(w), "%s/work", c->state) >= (int)sizeof(w))
			return fail("%s: path too long", c->state);
	} else {
		snprintf(u, sizeof(u), "%s", c->upper);
		snprintf(w, sizeof(w), "%s", c->work);
	}
	if (dir_make_nofollow(u, upper, PATH_MAX) < 0 || dir_make_nofollow(w, work, PATH_MAX) < 0)
		return -1;
	if (path_is_under(upper, work) || path_is_under(work, upper))
		return fail("upper %s and work %s must not contain each other", upper, work);
	return 0;
}

int pv_prepare(const struct peer_config *c, int userxattr, struct pv *pv)
{
	char upper[PATH_MAX], work[PATH_MAX];
	struct stat su, sw;
	size_t n;

	memset(pv, 0, sizeof(*pv));
	pv->base = -1;
	pv->userxattr = userxattr;
	if (resolve_dirs(c, upper, work) < 0)
		return -1;
	if (stat(upper, &su) < 0)
		return fail_errno("stat upper %s", upper);
	if (stat(work, &sw) < 0)
		return fail_errno("stat work %s", work);
	if (su.st_dev != sw.st_dev)
		return fail("upper %s and work %s are on different filesystems; overlayfs needs one", upper, work);
	if (pv_probe_fs(work, userxattr) < 0 || pv_upper_mode_check(upper, work, userxattr, true) < 0)
		return -1;
	path_common_dir(upper, work, pv->base_path, sizeof(pv->base_path));
	n = strlen(pv->base_path);
	if (n == 1)
		n = 0; /* base "/" */
	snprintf(pv->upper_rel, sizeof(pv->upper_rel), "%s", upper[n] ? upper + n + 1 : ".");
	snprintf(pv->work_rel, sizeof(pv->work_rel), "%s", work[n] ? work + n + 1 : ".");
	pv->base = sys_open_tree(AT_FDCWD, pv->base_path, STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC);
	if (pv->base < 0)
		return fail_errno("clone the persistent volume %s (open_tree)", pv->base_path);
	log_debug("persistent layer: upper %s, work %s (via %s)", upper, work, pv->base_path);
	return 0;
}

void pv_close(struct pv *pv)
{
	if (pv->base >= 0)
		close(pv->base);
	pv->base = -1;
}

static int set_str(int fs, const char *key, const char *val)
{
	return sys_fsconfig(fs, STINT_FSCONFIG_SET_STRING, key, val, 0);
}

int overlay_make(const char *lowers, const char *upper, const char *work, int userxattr)
{
	cleanup_fd int fs = sys_fsopen("overlay", STINT_FSOPEN_CLOEXEC);
	int mnt;

	if (fs < 0)
		return fail_errno("fsopen overlay (is the overlay module loaded?)");
	/* index=off, metacopy=off and redirect_dir=follow whatever the
	 * kernel's defaults: the upper must keep mounting over a NEW image (an
	 * upgrade is a different lower), which the index refuses; every upper
	 * file must carry its own data rather than point into an old lower;
	 * and a renamed directory must be copied up whole (rename gives EXDEV,
	 * tools fall back to a copy) rather than redirect into a lower that
	 * the next image may not have — stint-peer diff and export read the
	 * upper as complete. (With userxattr the kernel takes nofollow only.) */
	if (set_str(fs, "source", "stint") < 0 || set_str(fs, "lowerdir", lowers) < 0 ||
	    set_str(fs, "upperdir", upper) < 0 || set_str(fs, "workdir", work) < 0 || set_str(fs, "index", "off") < 0 ||
	    set_str(fs, "metacopy", "off") < 0 || set_str(fs, "redirect_dir", userxattr ? "nofollow" : "follow") < 0 ||
	    (userxattr && sys_fsconfig(fs, STINT_FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0))
		return fail_errno("overlay options lowerdir=%s,upperdir=%s,workdir=%s", lowers, upper, work);
	if (sys_fsconfig(fs, STINT_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int saved = errno;
		char msg[512] = "";
		ssize_t r;

		/* The kernel explains overlay refusals in the fs context log. */
		r = read(fs, msg, sizeof(msg) - 1);
		msg[r > 0 ? r : 0] = '\0';
		if (r > 0 && msg[r - 1] == '\n')
			msg[r - 1] = '\0';
		errno = saved;
		return fail_errno("mount overlay lowerdir=%s,upperdir=%s,workdir=%s%s%s", lowers, upper, work,
				  msg[0] ? ": kernel says " : "", msg);
	}
	/* nodev: device nodes the guest makes in its root (CAP_MKNOD is in the
	 * default set) open nothing; /dev is carried in on its own. */
	mnt = sys_fsmount(fs, STINT_FSMOUNT_CLOEXEC, (unsigned)STINT_MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return fail_errno("fsmount overlay");
	return mnt;
}
