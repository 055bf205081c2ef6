/* stint-peer doctor: the node's kernel and the persistent volume. Each
 * kernel feature is probed with a call that cannot do anything (a bad fd,
 * a probe socket): ENOSYS (a missing system call) or ENOTTY/EINVAL (a
 * missing ioctl) says it is absent, any other answer that it exists. The
 * volume is probed where the overlay will be: a directory beside upper/
 * and work/ holds a small overlay of its own (mounted detached, never
 * attached anywhere), in which a file of the lower is deleted and a
 * directory replaced, which is what overlayfs needs the volume for. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "peer_config.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "doctor.h"
#include "err.h"
#include "mountinfo.h"
#include "overlay.h"

#define PIDFS_MAGIC 0x50494446
#define FREE_WARN_MIB 512 /* a systemd boot writes ~8 MB, a package install far more */

/* ---- the kernel ---------------------------------------------------------- */

static bool absent(long rc, bool ioctl)
{
	return rc < 0 && (errno == ENOSYS || (ioctl && (errno == ENOTTY || errno == EINVAL)));
}

/* One row per feature: required ones fail, the others are notes saying what
 * the peer does without them. */
static void feature(struct doctor *d, const char *name, bool missing, bool required, const char *since,
		    const char *without)
{
	if (!missing)
		dr_add(d, name, DR_OK, NULL, "present (Linux %s)", since);
	else
		dr_add(d, name, required ? DR_FAIL : DR_NOTE,
		       required ? "run the pod on a node with a newer kernel" : NULL, "missing (Linux %s): %s", since,
		       without);
}

static void check_overlay_fs(struct doctor *d)
{
	cleanup_fd int fs = sys_fsopen("overlay", STINT_FSOPEN_CLOEXEC);

	if (fs >= 0)
		dr_add(d, "fsopen(overlay)", DR_OK, NULL, "overlayfs is available to the new mount API (Linux 5.2)");
	else if (errno == ENODEV)
		dr_add(d, "fsopen(overlay)", DR_FAIL, "load it on the node: modprobe overlay (or a kernel with it)",
		       "the kernel has no overlay file system");
	else
		dr_add(d, "fsopen(overlay)", DR_FAIL, "run the pod on a node with Linux >= 5.2",
		       "fsopen(\"overlay\"): %s", strerror(errno));
}

void dr_check_kernel(struct doctor *d)
{
	struct stint_mount_attr attr = { 0 };
	struct stint_open_how how = { .flags = O_PATH | O_CLOEXEC };
	struct utsname u;
	struct statfs sfs;
	long rc;
	int one = 1;
	cleanup_fd int pidfd = sys_pidfd_open(getpid(), 0);
	cleanup_fd int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cleanup_fd int ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	cleanup_fd int nsfd = -1, o2 = -1;

	dr_add(d, "kernel", DR_OK, NULL, "%s", uname(&u) == 0 ? u.release : "(uname failed)");
	rc = sys_open_tree(-1, "", 0);
	feature(d, "open_tree/move_mount", absent(rc, false) || absent(sys_move_mount(-1, "", -1, "", 0), false), true,
		"5.2", "the peer clones the volume and carries mounts with them");
	check_overlay_fs(d);
	feature(d, "mount_setattr", absent(sys_mount_setattr(-1, "", 0, &attr), false), true, "5.12",
		"read-only clones of the image and the notify directory");
	o2 = sys_openat2(AT_FDCWD, "/", &how);
	feature(d, "openat2", o2 < 0 && errno == ENOSYS, true, "5.6",
		"the peer touches the guest's tree only with RESOLVE_IN_ROOT");
	feature(d, "pidfd_open", pidfd < 0 && errno == ENOSYS, true, "5.3", "the init's pidfd in HELLO");
	feature(d, "NS_GET_NSTYPE", ns < 0 || absent(ioctl(ns, STINT_NS_GET_NSTYPE), true), true, "4.11",
		"every HELLO namespace fd is checked with it");
	feature(d, "SCM_PIDFD", sock < 0 || setsockopt(sock, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one)) < 0, false,
		"6.5", "READY=1 counts from any process of the OS, not only from its init");
	feature(d, "pidfs", pidfd < 0 || fstatfs(pidfd, &sfs) < 0 || sfs.f_type != PIDFS_MAGIC, false, "6.9",
		"a restarted sidecar cannot tell the init it served by its pidfd's identity");
	if (pidfd >= 0)
		nsfd = ioctl(pidfd, STINT_PIDFD_GET_NS(STINT_PIDFD_NS_MNT), 0);
	feature(d, "PIDFD_GET_NAMESPACE", pidfd < 0 || absent(nsfd, true), false, "6.11",
		"HELLO's namespaces are checked by their owner only, not against the init's pidfd");
}

/* ---- the persistent volume ---------------------------------------------- */

struct pv_paths {
	char dir[PATH_MAX]; /* the volume (state), or the parent of work */
	char upper[PATH_MAX + 8], work[PATH_MAX + 8];
	char probe[PATH_MAX + 32]; /* dir/.stint-doctor.PID, removed at the end */
};

static const char *fs_name(unsigned long magic)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} names[] = {
		{ 0xEF53, "ext2/3/4" },	 { 0x58465342, "xfs" },	    { 0x9123683E, "btrfs" }, { 0x01021994, "tmpfs" },
		{ 0x858458f6, "ramfs" }, { 0x794c7630, "overlay" }, { 0x6969, "nfs" },	     { 0xFF534D42, "cifs" },
		{ 0x65735546, "fuse" },	 { 0x2FC12FC1, "zfs" },	    { 0x5346544e, "ntfs" },  { 0x4d44, "vfat" },
		{ 0xf2f52010, "f2fs" },	 { 0x00c36400, "ceph" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (names[i].magic == magic)
			return names[i].name;
	}
	return "unknown";
}

/* The mount of the peer's namespace that holds path: the longest mount
 * point above it. */
static const struct mount_entry *mount_of(const struct mountinfo *mi, const char *path)
{
	const struct mount_entry *best = NULL;

	for (size_t i = 0; i < mi->n; i++) {
		const struct mount_entry *e = &mi->m[i];

		if ((strcmp(e->target, "/") == 0 || path_is_under(path, e->target)) &&
		    (!best || strlen(e->target) >= strlen(best->target)))
			best = e;
	}
	return best;
}

static int pv_locate(struct doctor *d, struct pv_paths *p)
{
	const struct peer_config *c = d->cfg;
	struct mountinfo mi = { 0 };
	const struct mount_entry *m;
	struct statfs sfs;
	struct stat st;
	const char *fix = "mount the PersistentVolumeClaim in the stint-peer container at state (volumeMounts)";

	if (c->state) {
		snprintf(p->dir, sizeof(p->dir), "%s", c->state);
		snprintf(p->upper, sizeof(p->upper), "%s/upper", c->state);
		snprintf(p->work, sizeof(p->work), "%s/work", c->state);
	} else if (c->upper && c->work) {
		snprintf(p->upper, sizeof(p->upper), "%s", c->upper);
		snprintf(p->work, sizeof(p->work), "%s", c->work);
		snprintf(p->dir, sizeof(p->dir), "%s", c->work);
		*strrchr(p->dir, '/') = '\0';
		if (!p->dir[0])
			snprintf(p->dir, sizeof(p->dir), "/");
	} else {
		dr_add(d, "volume", DR_SKIP, NULL, "no state (or upper and work) configured");
		return -1;
	}
	if (stat(p->dir, &st) < 0) {
		dr_add(d, "volume", DR_FAIL, fix, "%s: %s", p->dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		dr_add(d, "volume", DR_FAIL, fix, "%s is not a directory", p->dir);
		return -1;
	}
	if (statfs(p->dir, &sfs) < 0) {
		dr_add(d, "volume", DR_FAIL, NULL, "statfs %s: %s", p->dir, strerror(errno));
		return -1;
	}
	m = mountinfo_read(d->procfd, "self/mountinfo", &mi) == 0 ? mount_of(&mi, p->dir) : NULL;
	if (m && strcmp(m->target, "/") == 0)
		dr_add(d, "volume", DR_WARN, fix,
		       "%s is on the sidecar's own root file system (%s), not a volume: the OS's changes would go "
		       "with the sidecar",
		       p->dir, m->fstype);
	else
		dr_add(d, "volume", DR_OK, NULL, "%s: %s (%s, source %s, mounted at %s)", p->dir, fs_name(sfs.f_type),
		       m ? m->fstype : "?", m ? m->source : "?", m ? m->target : "?");
	mountinfo_free(&mi);
	return 0;
}

static void check_upper_work(struct doctor *d, const struct pv_paths *p)
{
	struct stat su, sw;
	bool has_u = lstat(p->upper, &su) == 0, has_w = lstat(p->work, &sw) == 0;

	if ((has_u && !S_ISDIR(su.st_mode)) || (has_w && !S_ISDIR(sw.st_mode)))
		dr_add(d, "upper/work", DR_FAIL, "remove what is in the way (prepare makes both directories)",
		       "%s or %s exists and is not a directory (a symlink is refused too)", p->upper, p->work);
	else if (has_u && has_w && su.st_dev != sw.st_dev)
		dr_add(d, "upper/work", DR_FAIL, "put both on the one volume (state = DIR makes DIR/upper, DIR/work)",
		       "%s and %s are on different file systems; overlayfs needs one", p->upper, p->work);
	else if (has_u)
		dr_add(d, "upper/work", DR_OK, NULL, "%s and %s exist, on one file system", p->upper, p->work);
	else
		dr_add(d, "upper/work", DR_OK, NULL, "not made yet (a first boot): prepare makes %s and %s", p->upper,
		       p->work);
}

/* An existing upper made under the other overlay xattr namespace: the
 * check prepare makes (overlay.c), without recording anything. */
static void check_xattr_ns(struct doctor *d, const struct pv_paths *p)
{
	const char *now = d->os.userns ? "user" : "trusted";
	struct stat st;

	fail_clear();
	if (stat(p->upper, &st) < 0 || stat(p->work, &st) < 0)
		dr_add(d, "upper xattrs", DR_OK, NULL, "no upper yet: this pod will use %s.overlay.* xattrs", now);
	else if (pv_upper_mode_check(p->upper, p->work, d->os.userns, false) < 0)
		dr_add(d, "upper xattrs", DR_FAIL,
		       "the pod's old hostUsers setting, or the files copied to a new volume", "%s", fail_reason());
	else
		dr_add(d, "upper xattrs", DR_OK, NULL,
		       "no overlay xattrs of the other namespace on the upper: this pod's %s.overlay.* fit", now);
}

static void check_space(struct doctor *d, const struct pv_paths *p)
{
	struct statvfs v;
	unsigned long long mib, total, pct;

	if (statvfs(p->dir, &v) < 0) {
		dr_add(d, "free space", DR_FAIL, NULL, "statvfs %s: %s", p->dir, strerror(errno));
		return;
	}
	if (!v.f_blocks) {
		dr_add(d, "free space", DR_NOTE, NULL, "%s reports no size (ramfs and the like): unknown", p->dir);
		return;
	}
	mib = (unsigned long long)v.f_bavail * v.f_frsize >> 20;
	total = (unsigned long long)v.f_blocks * v.f_frsize >> 20;
	pct = v.f_blocks ? (unsigned long long)v.f_bavail * 100 / v.f_blocks : 0;
	dr_add(d, "free space", mib < FREE_WARN_MIB || (v.f_files && v.f_favail * 20 < v.f_files) ? DR_WARN : DR_OK,
	       mib < FREE_WARN_MIB ? "a larger PersistentVolumeClaim (resources.requests.storage)" : NULL,
	       "%llu MiB free of %llu MiB (%llu%%), %llu of %llu inodes free%s", mib, total, pct,
	       (unsigned long long)v.f_favail, (unsigned long long)v.f_files,
	       mib < FREE_WARN_MIB ? " (under 512 MiB)" : "");
}

/* The probe directory's tree: lower/{gone, dir/x}, upper/, work/. */
static int probe_make(struct pv_paths *p)
{
	char path[PATH_MAX + 64];
	static const char *const dirs[] = { "", "/lower", "/lower/dir", "/upper", "/work" };
	int fd;

	snprintf(p->probe, sizeof(p->probe), "%s/.stint-doctor.%d", p->dir, (int)getpid());
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s%s", p->probe, dirs[i]);
		if (mkdir(path, 0700) < 0)
			return fail_errno("mkdir %s", path);
	}
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/lower/%s", p->probe, i ? "dir/x" : "gone");
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return fail_errno("create %s", path);
		close(fd);
	}
	return 0;
}

/* Remove the probe tree (depth 3 at most; overlay adds work/work). */
static void probe_remove(const char *dir, int depth)
{
	cleanup_fd int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char buf[4096] __attribute__((aligned(8)));
	char path[PATH_MAX];
	long n;

	while (fd >= 0 && depth > 0 && (n = sys_getdents64(fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			const char *name = buf + off + 19; /* linux_dirent64: ino 8, off 8, reclen 2, type 1 */
			unsigned short reclen;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			off += reclen;
			if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			if (unlink(path) < 0 && (errno == EISDIR || errno == EPERM))
				probe_remove(path, depth - 1);
		}
	}
	rmdir(dir);
}

/* The kernel's own words from an fs context ("w overlayfs: ..." lines). */
static void fs_messages(int fs, char *out, size_t len)
{
	char msg[256];
	size_t off = 0;
	ssize_t n;

	out[0] = '\0';
	while ((n = read(fs, msg, sizeof(msg) - 1)) > 0 && off < len) {
		msg[n] = '\0';
		if (n && msg[n - 1] == '\n')
			msg[n - 1] = '\0';
		off += (size_t)snprintf(out + off, len - off, "%s%s", off ? "; " : "", msg);
	}
}

static int set_str(int fs, const char *key, const char *val)
{
	return sys_fsconfig(fs, STINT_FSCONFIG_SET_STRING, key, val, 0);
}

/* Mount the probe overlay detached, delete a lower file and replace a lower
 * directory through it, and look at what the upper keeps. */
static void check_overlay(struct doctor *d, const struct pv_paths *p)
{
	const char *xname = d->os.userns ? "user.overlay.opaque" : "trusted.overlay.opaque";
	char lower[PATH_MAX + 48], upper[PATH_MAX + 48], work[PATH_MAX + 48], path[PATH_MAX + 64], msgs[400], val[4];
	cleanup_fd int fs = sys_fsopen("overlay", STINT_FSOPEN_CLOEXEC);
	cleanup_fd int mnt = -1;
	struct stat st;
	const char *fix = "a volume of ext4, xfs (ftype=1) or btrfs; not NFS, overlay or ramfs";

	snprintf(lower, sizeof(lower), "%s/lower", p->probe);
	snprintf(upper, sizeof(upper), "%s/upper", p->probe);
	snprintf(work, sizeof(work), "%s/work", p->probe);
	if (fs < 0 || set_str(fs, "source", "stint-doctor") < 0 || set_str(fs, "lowerdir", lower) < 0 ||
	    set_str(fs, "upperdir", upper) < 0 || set_str(fs, "workdir", work) < 0 || set_str(fs, "index", "off") < 0 ||
	    set_str(fs, "metacopy", "off") < 0 ||
	    (d->os.userns && sys_fsconfig(fs, STINT_FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0) ||
	    sys_fsconfig(fs, STINT_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (mnt = sys_fsmount(fs, STINT_FSMOUNT_CLOEXEC, 0)) < 0) {
		int saved = errno;

		fs_messages(fs, msgs, sizeof(msgs));
		dr_add(d, "overlay on volume", DR_FAIL, fix, "an overlay with its upper on %s: %s%s%s", p->dir,
		       strerror(saved), msgs[0] ? "; the kernel says: " : "", msgs);
		return;
	}
	fs_messages(fs, msgs, sizeof(msgs));
	dr_add(d, "overlay on volume", msgs[0] ? DR_WARN : DR_OK, msgs[0] ? fix : NULL,
	       "an overlay with its upper on %s mounts%s%s", p->dir, msgs[0] ? "; the kernel warns: " : "", msgs);
	/* A deleted image file must stay deleted: a whiteout in the upper. */
	snprintf(path, sizeof(path), "%s/gone", upper);
	if (unlinkat(mnt, "gone", 0) < 0)
		dr_add(d, "whiteouts", DR_FAIL, fix, "delete a lower file through the overlay: %s", strerror(errno));
	else if (faccessat(mnt, "gone", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		dr_add(d, "whiteouts", DR_FAIL, fix, "a deleted lower file came back");
	else if (lstat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
		dr_add(d, "whiteouts", DR_OK, NULL, "a deleted image file is a 0:0 character device in the upper");
	else
		dr_add(d, "whiteouts", DR_OK, NULL, "a deleted image file stays deleted (whiteout kept as an xattr)");
	/* A directory the OS replaces must not show the image's old entries:
	 * an opaque directory (an overlay xattr on the upper's copy). */
	snprintf(path, sizeof(path), "%s/dir", upper);
	if (unlinkat(mnt, "dir/x", 0) < 0 || unlinkat(mnt, "dir", AT_REMOVEDIR) < 0 || mkdirat(mnt, "dir", 0700) < 0)
		dr_add(d, "opaque dirs", DR_FAIL, fix, "replace a lower directory through the overlay: %s",
		       strerror(errno));
	else if (faccessat(mnt, "dir/x", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		dr_add(d, "opaque dirs", DR_FAIL, fix, "a replaced directory shows the image's old entries again");
	else if (lgetxattr(path, xname, val, sizeof(val)) < 0)
		dr_add(d, "opaque dirs", DR_FAIL, fix, "the upper's copy has no %s: %s", xname, strerror(errno));
	else
		dr_add(d, "opaque dirs", DR_OK, NULL, "a replaced image directory is opaque (%s)", xname);
}

void dr_check_pv(struct doctor *d)
{
	struct pv_paths p;

	memset(&p, 0, sizeof(p));
	if (pv_locate(d, &p) < 0)
		return;
	check_upper_work(d, &p);
	check_space(d, &p);
	check_xattr_ns(d, &p);
	fail_clear();
	if (probe_make(&p) < 0) {
		dr_add(d, "volume writable", DR_FAIL, "a volume the sidecar can write (not readOnly)", "%s",
		       fail_reason());
	} else if (pv_probe_fs(p.probe, d->os.userns) < 0) {
		dr_add(d, "xattrs, d_type", DR_FAIL,
		       "a volume of ext4, xfs (ftype=1) or btrfs; tmpfs needs Linux >= 6.6 "
		       "for user.* xattrs; ramfs has none",
		       "%s", fail_reason());
	} else {
		dr_add(d, "xattrs, d_type", DR_OK, NULL, "%s keeps %s.* xattrs and reports file types", p.dir,
		       d->os.userns ? "user" : "trusted");
		check_overlay(d, &p);
	}
	if (p.probe[0])
		probe_remove(p.probe, 3);
}
