/* Reading the booted OS for `stint-peer enter` (osinfo.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "stint/log.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "err.h"
#include "osinfo.h"

#define OS_FILE_MAX 65536 /* /etc/passwd or an environment: read at most this */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Read `path` of the OS (absolute, resolved inside rootfd) into buf, at
 * most cap - 1 bytes, NUL-terminated. The name is looked at (O_PATH) and
 * only a regular file is opened, through its fd: nothing the guest plants
 * there (a FIFO, a device) is ever opened. A `kernel` file (/proc/PID/...)
 * must be on a procfs, and whole: with /proc not carried (carry=none, a
 * list without it) the OS's /proc is a directory the guest wrote, and what
 * it says there must not pass for its init's. The reopen goes through
 * /proc/self/fd: call while /proc is still the sidecar's. Returns the
 * length, or -1 (fail()). */
static ssize_t os_read(int rootfd, const char *path, bool kernel, char *buf, size_t cap)
{
	struct stint_open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_IN_ROOT | STINT_RESOLVE_NO_SYMLINKS |
						 STINT_RESOLVE_NO_MAGICLINKS };
	cleanup_fd int p = sys_openat2(rootfd, path, &how);
	cleanup_fd int fd = -1;
	char self[64], extra;
	struct statfs sfs;
	struct stat st;
	size_t len = 0;

	if (p < 0 || fstat(p, &st) < 0 || fstatfs(p, &sfs) < 0)
		return fail_errno("%s", path);
	if (kernel && sfs.f_type != STINT_PROC_SUPER_MAGIC)
		return fail("%s: not the kernel's (not on a procfs: is /proc carried?)", path);
	if (!S_ISREG(st.st_mode))
		return fail("%s: not a regular file", path);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", p);
	fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("reopen %s", path);
	while (len < cap - 1) {
		ssize_t n = TEMP_FAILURE_RETRY(read(fd, buf + len, cap - 1 - len));

		if (n < 0)
			return fail_errno("read %s", path);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (kernel && len == cap - 1 && TEMP_FAILURE_RETRY(read(fd, &extra, 1)) != 0)
		return fail("%s: larger than %zu bytes", path, cap - 1);
	return (ssize_t)len;
}

/* A path the OS names (a shell, a home) that we will exec or chdir to:
 * absolute, printable, no newline games. */
static bool sane_path(const char *s)
{
	if (s[0] != '/')
		return false;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

/* root's entry (the first with uid 0): name:pw:uid:gid:gecos:home:shell */
static void read_passwd(int rootfd, struct os_info *o)
{
	cleanup_free char *buf = malloc(OS_FILE_MAX);
	char *save = NULL;

	if (!buf || os_read(rootfd, "/etc/passwd", false, buf, OS_FILE_MAX) < 0) {
		log_debug("enter: the OS's /etc/passwd: %s; root's shell is /bin/sh",
			  buf ? fail_reason() : "no memory");
		return;
	}
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[7] = { 0 }, *p = line;
		int n = 0;

		for (; n < 7 && p; n++) {
			f[n] = p;
			p = strchr(p, ':');
			if (p)
				*p++ = '\0';
		}
		if (n < 7 || strcmp(f[2], "0") != 0)
			continue;
		if (sane_path(f[5]))
			copy_str(o->home, sizeof(o->home), f[5]);
		if (sane_path(f[6]))
			copy_str(o->shell, sizeof(o->shell), f[6]);
		return;
	}
	log_debug("enter: no uid 0 in the OS's /etc/passwd; root's shell is /bin/sh");
}

static void read_environ(int rootfd, unsigned pid, struct os_info *o)
{
	cleanup_free char *buf = malloc(OS_FILE_MAX);
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/environ", pid);
	if (!buf || (n = os_read(rootfd, path, true, buf, OS_FILE_MAX)) < 0) {
		log_debug("enter: the OS init's environment: %s", buf ? fail_reason() : "no memory");
		return;
	}
	for (char *v = buf; v < buf + n; v += strlen(v) + 1) {
		if (strncmp(v, "PATH=", 5) == 0 && v[5] == '/')
			copy_str(o->path, sizeof(o->path), v + 5);
		else if (strncmp(v, "LANG=", 5) == 0)
			copy_str(o->lang, sizeof(o->lang), v + 5);
		else if (strncmp(v, "container=", 10) == 0)
			copy_str(o->container, sizeof(o->container), v + 10);
	}
}

/* The hex number after "KEY:" and blanks at the start of line l. */
static bool hex_field(const char *l, const char *key, uint64_t *v)
{
	size_t n = strlen(key);
	int digits = 0;

	if (strncmp(l, key, n) != 0)
		return false;
	for (l += n; *l == ' ' || *l == '\t'; l++)
		;
	for (*v = 0; digits < 16; l++, digits++) {
		int d = *l >= '0' && *l <= '9' ? *l - '0' : *l >= 'a' && *l <= 'f' ? *l - 'a' + 10 : -1;

		if (d < 0)
			break;
		*v = *v << 4 | (uint64_t)d;
	}
	return digits > 0 && *l == '\0';
}

static void read_status(int rootfd, unsigned pid, struct os_info *o)
{
	/* Not a page: Cpus_allowed alone is 2 kB where NR_CPUS is 8192. */
	cleanup_free char *buf = malloc(OS_FILE_MAX);
	char path[64];
	uint64_t v;
	int got = 0;

	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	if (!buf || os_read(rootfd, path, true, buf, OS_FILE_MAX) < 0) {
		copy_str(o->caps_error, sizeof(o->caps_error), buf ? fail_reason() : "no memory");
		return;
	}
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (hex_field(l, "CapInh:", &v))
			o->cap_inh = v, got |= 1;
		else if (hex_field(l, "CapBnd:", &v))
			o->cap_bnd = v, got |= 2;
		else if (hex_field(l, "NoNewPrivs:", &v))
			o->no_new_privs = v != 0;
	}
	o->have_caps = got == 3;
	if (!o->have_caps)
		snprintf(o->caps_error, sizeof(o->caps_error), "%s: no CapInh and CapBnd lines", path);
}

void os_info_read(int rootfd, unsigned pid, struct os_info *o)
{
	memset(o, 0, sizeof(*o));
	copy_str(o->shell, sizeof(o->shell), "/bin/sh");
	copy_str(o->home, sizeof(o->home), "/root");
	copy_str(o->path, sizeof(o->path), DEFAULT_PATH);
	read_passwd(rootfd, o);
	read_environ(rootfd, pid, o);
	read_status(rootfd, pid, o);
}

int os_caps_apply(const struct os_info *o)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	/* Never the sidecar's full set instead (enter refuses earlier too). */
	if (!o->have_caps)
		return fail("the OS init's capabilities: %s", o->caps_error);
	if (capget(&hdr, data) < 0)
		return fail_errno("capget");
	data[0].inheritable = (uint32_t)(o->cap_inh & o->cap_bnd);
	data[1].inheritable = (uint32_t)((o->cap_inh & o->cap_bnd) >> 32);
	if (capset(&hdr, data) < 0)
		return fail_errno("set the inheritable capabilities to the OS init's (%#llx)",
				  (unsigned long long)o->cap_inh);
	/* A root process's exec gets inheritable | bounding: this bounding
	 * set makes it the OS init's. */
	for (int c = 0; c < 64; c++) {
		if (o->cap_bnd & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the last capability this kernel knows */
			return fail_errno("drop capability %d from the bounding set", c);
		}
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (o->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail_errno("set no_new_privs like the OS's init");
	return 0;
}

/* A fresh, detached mount of the hierarchy /proc/PID/cgroup calls
 * `ctrls` ("" = cgroup2; "cpu,cpuacct"; "name=systemd"). Made in the
 * current cgroup namespace, its root is that namespace's root. */
static int hierarchy_mount(const char *ctrls)
{
	cleanup_fd int fs = sys_fsopen(ctrls[0] ? "cgroup" : "cgroup2", STINT_FSOPEN_CLOEXEC);
	char list[256], *save = NULL;
	int mnt;

	if (fs < 0)
		return fail_errno("fsopen %s", ctrls[0] ? "cgroup" : "cgroup2");
	copy_str(list, sizeof(list), ctrls);
	/* Each controller is a flag; a named hierarchy is name=X plus none. */
	for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		bool named = strncmp(c, "name=", 5) == 0;

		if ((named && (sys_fsconfig(fs, STINT_FSCONFIG_SET_STRING, "name", c + 5, 0) < 0 ||
			       sys_fsconfig(fs, STINT_FSCONFIG_SET_FLAG, "none", NULL, 0) < 0)) ||
		    (!named && sys_fsconfig(fs, STINT_FSCONFIG_SET_FLAG, c, NULL, 0) < 0))
			return fail_errno("cgroup hierarchy %s: option %s", ctrls, c);
	}
	if (sys_fsconfig(fs, STINT_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fail_errno("mount the cgroup hierarchy %s", ctrls[0] ? ctrls : "cgroup2");
	mnt = sys_fsmount(fs, STINT_FSMOUNT_CLOEXEC, 0);
	return mnt < 0 ? fail_errno("fsmount the cgroup hierarchy %s", ctrls[0] ? ctrls : "cgroup2") : mnt;
}

static int join_one(const char *ctrls, const char *path)
{
	struct stint_open_how how = { .flags = O_WRONLY | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_BENEATH | STINT_RESOLVE_NO_SYMLINKS |
						 STINT_RESOLVE_NO_MAGICLINKS | STINT_RESOLVE_NO_XDEV };
	const char *name = ctrls[0] ? ctrls : "cgroup2";
	char procs[PATH_MAX];
	cleanup_fd int mnt = -1;
	cleanup_fd int fd = -1;

	if (path[0] != '/' || strncmp(path, "/..", 3) == 0)
		return fail("cgroup %s: the init's cgroup %s is outside this cgroup namespace", name, path);
	if ((mnt = hierarchy_mount(ctrls)) < 0)
		return -1;
	snprintf(procs, sizeof(procs), "%s%scgroup.procs", path + 1, path[1] ? "/" : "");
	fd = sys_openat2(mnt, procs, &how);
	if (fd < 0)
		return fail_errno("cgroup %s: open %s/cgroup.procs", name, path);
	if (write(fd, "0", 1) != 1)
		return fail_errno("cgroup %s: move into %s%s", name, path,
				  errno == ENOENT ? " (the kernel refuses moves across cgroup namespaces where cgroup2 "
						    "delegates at them: nsdelegate)" :
						    "");
	return 0;
}

int os_cgroup_read(int rootfd, unsigned pid, char *buf, size_t cap)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	return os_read(rootfd, path, true, buf, cap) < 0 ? -1 : 0;
}

int os_cgroup_join(char *cgroups)
{
	char first[512] = "", *save = NULL;
	int joined = 0, first_errno = 0;

	/* Each line: ID:CONTROLLERS:PATH. Go on past a failure: the rest may
	 * work; the first reason is kept. */
	for (char *l = strtok_r(cgroups, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c2 = '\0';
		if (join_one(c1 + 1, c2 + 1) == 0)
			joined++;
		else if (!first[0])
			first_errno = errno, copy_str(first, sizeof(first), fail_reason());
	}
	if (first[0]) {
		fail("%s", first);
		errno = first_errno;
		return -1;
	}
	return joined;
}
