/* The pod's identity (issue 12): what makes a booted OS one machine
 * belongs to the pod, not to the image every pod shares nor to the node.
 *
 *   machine-id  machine_id_ensure() (machine-id = generate).
 *   boot id     Each start of the OS gets its own, as LXC gives each
 *               container start: a random UUID in a file on a private
 *               tmpfs, bound read-only over /proc/sys/kernel/random/boot_id
 *               in the new root. Without it every container boot shares
 *               the node's id and journald merges them into one boot.
 *   host keys   SSH host keys baked into the image would be the same in
 *               every pod. Those the image carries and the pod's upper does
 *               not are removed from the new root by unlinking them through
 *               the overlay (a whiteout in the upper, so once per pod); a
 *               runtime unit on the peer's /run tmpfs runs `ssh-keygen -A`
 *               before sshd (Debian's ssh.service only checks for keys), and
 *               the new keys land in the upper, where they stay.
 *
 * The new root's content comes from the image and the pod's upper layer,
 * both untrusted: every path below it is resolved with openat2(
 * RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) from the
 * root's fd, only regular files are removed, files are written by
 * dirfile_write() (random name, O_EXCL|O_NOFOLLOW, rename). The OS does not
 * run yet while this happens, so nothing changes the tree under us. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "stint/log.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "dirfile.h"
#include "err.h"
#include "identity.h"

/* A directory of the new root, never reached through a symlink. */
static int open_root_dir(int rootfd, const char *path, int create)
{
	struct stint_open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_IN_ROOT | STINT_RESOLVE_NO_SYMLINKS |
						 STINT_RESOLVE_NO_MAGICLINKS };
	int fd = sys_openat2(rootfd, path, &how);

	if (fd < 0 && errno == ENOENT && create && mkdirat(rootfd, path, 0755) == 0)
		fd = sys_openat2(rootfd, path, &how);
	return fd;
}

/* 1 when a new id is needed, 0 when a good one exists or the file is not
 * ours to touch, -1 on failure. */
static int needs_id(int etcfd)
{
	char buf[64];
	ssize_t n = dirfile_read(etcfd, "machine-id", buf, sizeof(buf));

	if (n < 0 && errno == ENOENT)
		return 1;
	if (n < 0 && (errno == EINVAL || errno == ELOOP)) {
		log_warn("machine-id: /etc/machine-id in the new root is not a regular file (a symlink, FIFO or "
			 "device?): left alone");
		return 0;
	}
	if (n < 0 && errno == EFBIG)
		return 0; /* not ours to judge */
	if (n < 0)
		return fail_errno("read /etc/machine-id in the new root");
	return n == 0 || buf[0] == '\n' || strncmp(buf, "uninitialized", 13) == 0;
}

int machine_id_ensure(int rootfd)
{
	unsigned char r[16];
	char hex[34];
	cleanup_fd int etc = open_root_dir(rootfd, "etc", 1);
	int need;

	if (etc < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		log_warn("machine-id: /etc in the new root is a symlink or not a directory: not writing one");
		return 0;
	}
	if (etc < 0)
		return fail_errno("open /etc in the new root");
	need = needs_id(etc);
	if (need <= 0)
		return need;
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return fail_errno("getrandom for a machine-id");
	/* systemd's format: 32 lowercase hex digits of a v4 UUID, newline. */
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	hex[32] = '\n';
	if (dirfile_write(etc, "machine-id", hex, 33, 0444, 0) < 0)
		return -1;
	return 1;
}

#define STINT_TMPFS_MAGIC 0x01021994 /* linux/magic.h */
#define BOOT_ID_PATH "proc/sys/kernel/random/boot_id"
#define KEYGEN_UNIT "ssh-host-keys.service"

/* open_in_root: `path` below `rootfd`, never leaving it and following no
 * symlink at all (a symlink anywhere on the path is ELOOP). */
static int open_in_root(int rootfd, const char *path, int flags)
{
	struct stint_open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = STINT_RESOLVE_IN_ROOT | STINT_RESOLVE_NO_SYMLINKS | STINT_RESOLVE_NO_MAGICLINKS,
	};

	return sys_openat2(rootfd, path, &how);
}

int identity_open_upper(int pvfd, const char *upper_rel)
{
	int fd = open_in_root(pvfd, upper_rel, O_PATH | O_DIRECTORY);

	if (fd < 0)
		return fail_errno("open the upper layer %s on the persistent volume", upper_rel);
	return fd;
}

/* A random v4 UUID as the kernel prints boot_id: 36 characters. */
static int uuid_random(char out[37])
{
	unsigned char r[16];

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return fail_errno("getrandom for a boot id");
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
	return 0;
}

/* boot_id_mount: a detached, read-only mount of one file holding `id`,
 * on a tmpfs of its own (nothing else can reach that file). */
static int boot_id_mount(const char *id)
{
	cleanup_fd int fs = sys_fsopen("tmpfs", STINT_FSOPEN_CLOEXEC), mnt = -1, file = -1;
	struct stint_mount_attr ro = { .attr_set = STINT_MOUNT_ATTR_RDONLY };
	char line[40];

	if (fs < 0 || sys_fsconfig(fs, STINT_FSCONFIG_SET_STRING, "source", "stint-boot-id", 0) < 0 ||
	    sys_fsconfig(fs, STINT_FSCONFIG_SET_STRING, "size", "4k", 0) < 0 ||
	    sys_fsconfig(fs, STINT_FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
	    sys_fsconfig(fs, STINT_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fail_errno("create a tmpfs for the boot id");
	mnt = sys_fsmount(fs, STINT_FSMOUNT_CLOEXEC,
			  (unsigned)(STINT_MOUNT_ATTR_NOSUID | STINT_MOUNT_ATTR_NODEV | STINT_MOUNT_ATTR_NOEXEC));
	if (mnt < 0)
		return fail_errno("fsmount the boot id tmpfs");
	snprintf(line, sizeof(line), "%s\n", id);
	if (dirfile_write(mnt, "boot_id", line, strlen(line), 0444, 0) < 0)
		return -1;
	file = sys_open_tree(mnt, "boot_id", STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC);
	if (file < 0)
		return fail_errno("clone the boot id file (open_tree)");
	if (sys_mount_setattr(file, "", AT_EMPTY_PATH, &ro) < 0)
		return fail_errno("make the boot id mount read-only");
	return steal_fd(&file);
}

/* boot_id_apply: a new boot id over the carried /proc's boot_id. Returns 1
 * when bound, 0 when the new root has no procfs there (carry excluded it:
 * nothing to cover), -1 on failure. */
static int boot_id_apply(int rootfd, char id[37])
{
	cleanup_fd int target = -1, mnt = -1;
	struct statfs sfs;
	struct stat st;

	target = open_in_root(rootfd, BOOT_ID_PATH, O_PATH);
	if (target < 0 && (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)) {
		log_warn("identity: no /%s in the new root (is /proc carried?): the OS keeps the node's boot id",
			 BOOT_ID_PATH);
		return 0;
	}
	if (target < 0)
		return fail_errno("open /%s in the new root", BOOT_ID_PATH);
	if (fstatfs(target, &sfs) < 0 || fstat(target, &st) < 0)
		return fail_errno("stat /%s in the new root", BOOT_ID_PATH);
	if (sfs.f_type != STINT_PROC_SUPER_MAGIC || !S_ISREG(st.st_mode)) {
		log_warn("identity: /%s in the new root is not the kernel's (not on procfs): left alone", BOOT_ID_PATH);
		return 0;
	}
	if (uuid_random(id) < 0 || (mnt = boot_id_mount(id)) < 0)
		return -1;
	if (sys_move_mount(mnt, "", target, "", STINT_MOVE_MOUNT_F_EMPTY_PATH | STINT_MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return fail_errno("bind the boot id over /%s in the new root", BOOT_ID_PATH);
	return 1;
}

static const char *const key_types[] = { "rsa", "ecdsa", "ed25519", "dsa" };

/* image_key: should `name` in /etc/ssh be removed? Only a regular file the
 * merged view shows and the upper has no entry for (neither a key of the
 * pod's own nor a whiteout): it comes from the image. */
static int image_key(int sshfd, int upper_sshfd, const char *name)
{
	struct stat st;

	if (upper_sshfd >= 0 && fstatat(upper_sshfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (fstatat(sshfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : fail_errno("stat /etc/ssh/%s in the new root", name);
	if (!S_ISREG(st.st_mode)) {
		log_warn("identity: /etc/ssh/%s in the new root is not a regular file: left alone", name);
		return 0;
	}
	return 1;
}

/* host_keys_remove: unlink the image's SSH host keys through the overlay
 * (overlayfs records a whiteout in the upper). Returns how many. */
static int host_keys_remove(int rootfd, int upperfd)
{
	cleanup_fd int sshfd = open_in_root(rootfd, "etc/ssh", O_PATH | O_DIRECTORY), upper_sshfd = -1;
	int removed = 0;

	if (sshfd < 0 && errno == ENOENT)
		return 0;
	if (sshfd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		log_warn("identity: /etc/ssh in the new root is a symlink or not a directory: host keys left alone");
		return 0;
	}
	if (sshfd < 0)
		return fail_errno("open /etc/ssh in the new root");
	upper_sshfd = open_in_root(upperfd, "etc/ssh", O_PATH | O_DIRECTORY);
	if (upper_sshfd < 0 && errno != ENOENT && errno != ELOOP && errno != ENOTDIR)
		return fail_errno("open etc/ssh in the upper layer");
	for (size_t i = 0; i < ARRAY_SIZE(key_types); i++) {
		for (int pub = 0; pub < 2; pub++) {
			char name[64];
			int r;

			snprintf(name, sizeof(name), "ssh_host_%s_key%s", key_types[i], pub ? ".pub" : "");
			r = image_key(sshfd, upper_sshfd, name);
			if (r < 0)
				return -1;
			if (r == 0)
				continue;
			if (unlinkat(sshfd, name, 0) < 0)
				return fail_errno("remove the image's /etc/ssh/%s from the new root", name);
			log_debug("identity: removed the image's /etc/ssh/%s (a whiteout in the upper)", name);
			removed++;
		}
	}
	return removed;
}

static const char keygen_unit[] = "# Written by stint-peer (ssh-host-keys = regenerate) on its /run tmpfs:\n"
				  "# this pod makes its own SSH host keys; the image's are not in its root.\n"
				  "# A unit of the same name in /etc/systemd/system takes precedence.\n"
				  "[Unit]\n"
				  "Description=Make the missing SSH host keys of this pod\n"
				  "Documentation=man:ssh-keygen(1)\n"
				  "Before=ssh.service\n"
				  "ConditionFileIsExecutable=/usr/bin/ssh-keygen\n"
				  "ConditionFileNotEmpty=|!/etc/ssh/ssh_host_ed25519_key\n"
				  "ConditionFileNotEmpty=|!/etc/ssh/ssh_host_ecdsa_key\n"
				  "ConditionFileNotEmpty=|!/etc/ssh/ssh_host_rsa_key\n"
				  "\n"
				  "[Service]\n"
				  "Type=oneshot\n"
				  "ExecStart=/usr/bin/ssh-keygen -A\n";

/* subdir: `name` below `dirfd`, created if missing, never a symlink. */
static int subdir(int dirfd, const char *name)
{
	int fd = open_root_dir(dirfd, name, 1);

	if (fd < 0)
		return fail_errno("open %s in the new root's /run", name);
	return fd;
}

/* keygen_unit: ssh-host-keys.service, wanted by ssh.service, in
 * /run/systemd/system of the new root: a unit directory systemd reads,
 * on the tmpfs the peer mounted there in this run (so it holds nothing of
 * the guest's). Returns 1 when written, 0 when /run is not a tmpfs. */
static int keygen_unit_write(int rootfd)
{
	cleanup_fd int run = open_in_root(rootfd, "run", O_PATH | O_DIRECTORY), sd = -1, sys = -1, wants = -1;
	struct statfs sfs;

	if (run < 0)
		return fail_errno("open /run in the new root");
	if (fstatfs(run, &sfs) < 0)
		return fail_errno("statfs /run in the new root");
	if (sfs.f_type != STINT_TMPFS_MAGIC)
		return 0;
	if ((sd = subdir(run, "systemd")) < 0 || (sys = subdir(sd, "system")) < 0 ||
	    (wants = subdir(sys, "ssh.service.wants")) < 0)
		return -1;
	if (dirfile_write(sys, KEYGEN_UNIT, keygen_unit, sizeof(keygen_unit) - 1, 0644, 0) < 0)
		return -1;
	if (symlinkat("../" KEYGEN_UNIT, wants, KEYGEN_UNIT) < 0 && errno != EEXIST)
		return fail_errno("enable %s in the new root's /run/systemd/system", KEYGEN_UNIT);
	return 1;
}

/* Is "/run" one of the tmpfs dirs the peer mounts ("PATH[:options]")? */
static int run_is_peer_tmpfs(const struct peer_config *c)
{
	for (size_t i = 0; i < c->tmpfs.n; i++)
		if (strncmp(c->tmpfs.v[i], "/run", 4) == 0 && (c->tmpfs.v[i][4] == '\0' || c->tmpfs.v[i][4] == ':'))
			return 1;
	return 0;
}

int identity_apply(const struct peer_config *c, int rootfd, int upperfd, char *what, size_t len)
{
	char id[37] = "", keys[64];
	int bound = 0, removed = 0, unit = 0;

	what[0] = '\0';
	if (c->boot_id == PEER_BOOT_ID_GENERATE && (bound = boot_id_apply(rootfd, id)) < 0)
		return -1;
	if (c->ssh_host_keys == PEER_SSH_HOST_KEYS_REGENERATE) {
		if ((removed = host_keys_remove(rootfd, upperfd)) < 0)
			return -1;
		if (run_is_peer_tmpfs(c) && (unit = keygen_unit_write(rootfd)) < 0)
			return -1;
		if (removed && !unit)
			log_warn("identity: the image's SSH host keys were removed but /run is not the peer's tmpfs "
				 "(tmpfs = /run): the OS must make new ones itself (ssh-keygen -A)");
	}
	if (c->ssh_host_keys != PEER_SSH_HOST_KEYS_REGENERATE)
		snprintf(keys, sizeof(keys), "SSH host keys as they are");
	else if (removed)
		snprintf(keys, sizeof(keys), "%d SSH host key file%s of the image removed", removed,
			 removed == 1 ? "" : "s");
	else
		snprintf(keys, sizeof(keys), "no SSH host key of the image");
	snprintf(what, len, "boot id %s, %s%s", bound ? id : "of the node", keys,
		 unit ? ", " KEYGEN_UNIT " in /run" : "");
	return 0;
}
