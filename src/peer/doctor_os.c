/* stint-peer doctor: the OS container. Before the boot the doctor is a
 * peer that connects to the init's socket, reads and verifies its HELLO
 * (as prepare does) and hangs up: stint logs "peer disconnected before
 * ready" and waits for the next peer. HELLO's O_PATH fd of the
 * container's root is the window into it: its /proc (the runtime's mount)
 * shows stint's status and command line, its mountinfo shows the cgroup
 * mounts the runtime made, and its files are the image. After the boot
 * the socket is gone: the peer's state record in run-dir says what runs,
 * and the peer's control socket (control.c) hands over the running OS's
 * root fd for the same looks. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "stint/initkind.h"
#include "peer_config.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "cgroup.h"
#include "control.h"
#include "doctor.h"
#include "err.h"
#include "handoff.h"
#include "mountinfo.h"
#include "state.h"
#include "verify.h"
#include "walk.h"

#define CGROUP2_MAGIC 0x63677270
#define TMPFS_MAGIC 0x01021994

enum { CAP_SETGID_ = 6, CAP_SETUID_ = 7, CAP_SETPCAP_ = 8, CAP_SYS_CHROOT_ = 18 };

/* A name of the OS container, resolved inside its root (symlinks too, never
 * out of it), as an O_PATH fd: that opens nothing. */
static int os_path(const struct doctor *d, const char *path, int flags)
{
	struct stint_open_how how = { .flags = (uint64_t)flags | O_PATH | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_IN_ROOT | STINT_RESOLVE_NO_MAGICLINKS };

	return sys_openat2(d->os.rootfd, path, &how);
}

/* A regular file of the OS container, open for reading: resolved the same
 * way, and only ever opened once it is seen to be a regular file
 * (root_open_regular()). The guest owns these names: a FIFO would block
 * the doctor, a device node (its own, CAP_MKNOD) could act when opened or
 * never end. */
static int os_open(const struct doctor *d, const char *path)
{
	return root_open_regular(d->procfd, d->os.rootfd, path, 0);
}

static ssize_t os_read(const struct doctor *d, const char *path, char *buf, size_t len)
{
	return root_read(d->procfd, d->os.rootfd, path, 0, buf, len);
}

static bool peer_in_userns(void)
{
	char map[128] = "";
	cleanup_fd int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, map, sizeof(map) - 1) : -1;

	map[n > 0 ? n : 0] = '\0';
	/* The initial user namespace maps all of 0..2^32-2 onto itself. */
	return n > 0 && !strstr(map, "4294967295");
}

/* ---- the init ------------------------------------------------------------ */

/* After the boot: the running OS's root from the peer's control socket
 * (docs/control.md), the window the checks of the OS container need. */
static void os_through_control(struct doctor *d)
{
	struct control_reply r;

	fail_clear();
	if (control_fetch(d->cfg->run_dir, &r) < 0) {
		dr_add(d, "OS container", DR_SKIP, NULL,
		       "not reached (%s): its init, capabilities and cgroup mounts are checked before a boot, or "
		       "through the peer's control socket",
		       fail_reason());
		return;
	}
	d->os.rootfd = steal_fd(&r.rootfd);
	dr_add(d, "OS container", DR_OK, NULL, "reached through the peer's control socket (its init, pid %u, boot %u)",
	       r.pid, r.boot);
	control_reply_close(&r);
}

static void no_socket(struct doctor *d)
{
	const struct peer_config *c = d->cfg;
	struct peer_state st;
	bool known = state_load_path(c->state_file, c->run_dir, &st, NULL, 0) == 0;

	if (known && st.boots &&
	    (!strcmp(st.state, "ready") || !strcmp(st.state, "booting") || !strcmp(st.state, "stopping"))) {
		d->os.booted = true;
		dr_add(d, "init", DR_OK, NULL,
		       "the OS booted (boot %u); the peer says %s%s%s, serving %s; no socket at %s, as after every "
		       "handoff",
		       st.boots, st.state, st.status[0] ? ": " : "", st.status, st.init, c->socket);
		os_through_control(d);
	} else if (known && st.boots && (!strcmp(st.state, "stopped") || !strcmp(st.state, "failed"))) {
		dr_add(d, "init", DR_FAIL,
		       "kubectl logs POD -c os (and -c stint-peer); the kubelet restarts the container",
		       "no init serves %s: the peer says %s (%s) after boot %u", c->socket, st.state, st.status,
		       st.boots);
	} else {
		dr_add(d, "init", DR_FAIL,
		       "the OS container must run stint (ENTRYPOINT) with socket = this path in stint.ini, in an "
		       "emptyDir mounted in both containers at the same path",
		       "no init serves %s (%s)%s", c->socket, strerror(ENOENT),
		       known ? "" : "; the peer has not recorded a boot in run-dir either");
	}
}

void dr_check_init(struct doctor *d)
{
	const struct peer_config *c = d->cfg;
	struct trust none = { 0 };
	struct hello_ids ids;
	struct handoff h;
	struct stat st;
	int rc, nfds = 0;

	d->os.userns = peer_in_userns();
	if (!c->socket) {
		dr_add(d, "init", DR_SKIP, NULL, "no socket configured");
		return;
	}
	if (stat(c->socket, &st) < 0 && errno == ENOENT) {
		no_socket(d);
		return;
	}
	fail_clear();
	rc = handoff_connect(&h, c->socket, NULL, deadline_in(c->handshake_timeout_ms));
	if (rc == HANDOFF_NO_SOCKET) {
		dr_add(d, "init", DR_FAIL, "restart the OS container (its stint makes a new socket)",
		       "%s exists but nobody listens: a socket left by an init that is gone", c->socket);
		return;
	}
	if (rc != HANDOFF_OK) {
		dr_add(d, "init", DR_FAIL,
		       "is stint the OS container's PID 1, and this peer's uid in its allow-uid? (another peer may be "
		       "connected: the sidecar's own prepare)",
		       "%s", fail_reason());
		return;
	}
	if (hello_verify(&h, d->procfd, &none, &ids) < 0) {
		dr_add(d, "init", DR_FAIL, "the socket's directory must be the pod's emptyDir, shared with stint only",
		       "the HELLO on %s does not check out: %s", c->socket, fail_reason());
		handoff_close(&h);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(h.fd); i++)
		nfds += h.fd[i] >= 0;
	dr_add(d, "init", DR_OK, NULL,
	       "stint serves %s (pid %u in its pid namespace): its HELLO (%d fds) checks out; it waits for the next "
	       "peer",
	       c->socket, h.pid, nfds);
	d->os.userns = d->os.userns || ids.userns;
	if (h.fd[STINT_FD_ROOT] >= 0)
		d->os.rootfd = steal_fd(&h.fd[STINT_FD_ROOT]);
	handoff_close(&h);
}

void dr_os_close(struct doctor *d)
{
	if (d->os.rootfd >= 0)
		close(d->os.rootfd);
	d->os.rootfd = -1;
}

/* ---- what the OS will boot, and how it stops ------------------------------ */

/* The command stint will exec: the first argument on its command line that
 * is an executable file of the image other than stint itself (an option's
 * value is a socket, a directory or a plain file); else its default. */
static void boot_command(const struct doctor *d, char *cmd, size_t len)
{
	char line[4096];
	ssize_t n = os_read(d, "/proc/1/cmdline", line, sizeof(line));

	snprintf(cmd, len, "/sbin/init");
	for (ssize_t off = n > 0 ? (ssize_t)strlen(line) + 1 : n; off >= 0 && off < n;
	     off += (ssize_t)strlen(line + off) + 1) {
		const char *a = line + off, *slash = strrchr(a, '/');
		cleanup_fd int fd = a[0] == '/' ? os_open(d, a) : -1;
		struct stat st;

		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) &&
		    strcmp(slash + 1, "stint") != 0) {
			snprintf(cmd, len, "%s", a);
			return;
		}
	}
}

/* The file an open fd is (its name after every symlink). */
static const char *real_name(int fd, char *buf, size_t len)
{
	char proc[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	return strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
}

/* Does the file hold `needle`? Read in chunks that overlap by the
 * needle's length, up to its size and FILE_HAS_MAX at most (an init is a
 * few MiB; the guest's file may be anything). (sysvinit's binary says
 * INIT_VERSION=sysvinit-) */
#define FILE_HAS_MAX (64LL << 20)
static bool file_has(int fd, const char *needle)
{
	char buf[16384];
	size_t len = strlen(needle);
	struct stat st;
	off_t off = 0, end;
	ssize_t n;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	end = st.st_size < FILE_HAS_MAX ? st.st_size : FILE_HAS_MAX;
	while (off < end && (n = pread(fd, buf, (size_t)(end - off) < sizeof(buf) ? (size_t)(end - off) : sizeof(buf),
				       off)) > (ssize_t)len) {
		if (memmem(buf, (size_t)n, needle, len))
			return true;
		off += n - (ssize_t)len;
	}
	return false;
}

static const char *stop_note(const struct init_kind *k)
{
	if (!k)
		return "stint does not know how this init halts: the pod sends SIGTERM unless the image's STOPSIGNAL "
		       "or the pod's lifecycle say otherwise; `stint halt --signal SIG` as preStop sends another";
	if (k->signo == 34 + 3)
		return "systemd halts on SIGRTMIN+3 only; SIGTERM (Kubernetes' default) re-executes it and the pod "
		       "waits out its grace period for SIGKILL";
	if (k->signo == 0)
		return "sysvinit halts on no signal (SIGTERM is ignored): a runlevel 0 request (`stint halt`, telinit 0) "
		       "runs its shutdown scripts; without CAP_SYS_BOOT it then stays until the grace period ends";
	if (k->signo == 12)
		return "busybox init halts on SIGUSR2 (poweroff) or SIGUSR1, and SIGTERM (reboot) ends the container "
		       "too: each runs its ::shutdown actions";
	return "it halts on SIGTERM, the signal Kubernetes sends by default";
}

/* The preStop hook needs stint in the image: where k8s/images/
 * Containerfile.os puts it, or in /usr/bin. */
static void check_halt_binary(struct doctor *d)
{
	static const char *const paths[] = { "/usr/sbin/stint", "/usr/bin/stint" };

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		cleanup_fd int fd = os_path(d, paths[i], 0);

		if (fd >= 0) {
			dr_add(d, "stint halt", DR_OK, NULL,
			       "%s is in the image: a preStop [\"%s\", \"halt\"] runs in both modes", paths[i],
			       paths[i]);
			return;
		}
	}
	dr_add(d, "stint halt", DR_WARN, "put the static stint into the image (k8s/images/Containerfile.os)",
	       "the image has neither /usr/sbin/stint nor /usr/bin/stint: a preStop `stint halt` cannot run");
}

/* After the boot: what PID 1 of the OS runs (its exe as the OS's /proc
 * says, else its comm). */
static void running_init(const struct doctor *d, char *exe, size_t len, char *comm, size_t commlen)
{
	cleanup_fd int proc1 = os_path(d, "/proc/1", O_DIRECTORY);
	ssize_t n = proc1 >= 0 ? readlinkat(proc1, "exe", exe, len - 1) : -1;

	exe[n > 0 ? n : 0] = '\0';
	n = os_read(d, "/proc/1/comm", comm, commlen);
	if (n > 0 && comm[n - 1] == '\n')
		comm[n - 1] = '\0';
}

static void check_boot(struct doctor *d)
{
	char cmd[PATH_MAX], real[PATH_MAX], comm[32] = "";
	const struct init_kind *k = NULL;
	const char *base;
	cleanup_fd int fd = -1;

	if (d->os.booted)
		running_init(d, cmd, sizeof(cmd), comm, sizeof(comm));
	else
		boot_command(d, cmd, sizeof(cmd));
	fd = cmd[0] ? os_open(d, cmd) : -1;
	if (fd < 0 && !d->os.booted) {
		dr_add(d, "OS init", DR_FAIL, "the image must have the init stint runs (CMD, or command= in stint.ini)",
		       "%s in the image: %s", cmd, errno == EINVAL ? "not a regular file" : strerror(errno));
		return;
	}
	/* A booted OS's exe may lie outside its root as the peer sees it
	 * (chroot mode): then its name alone. */
	base = fd >= 0 ? real_name(fd, real, sizeof(real)) : strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;
	k = init_kind_find(base, comm);
	if (k && k->signo == 0 && (fd < 0 || !file_has(fd, "INIT_VERSION=sysvinit-")))
		k = NULL;
	d->os.init_kind = k ? k->name : NULL;
	d->os.init_signo = k ? k->signo : 15;
	dr_add(d, "OS init", k ? DR_OK : DR_NOTE, NULL, "%s %s, which is %s%s%s",
	       d->os.booted ? "PID 1 of the OS runs" : "stint will exec", cmd[0] ? cmd : comm,
	       k ? k->name : "an init stint does not know (", k ? "" : base, k ? "" : ")");
	dr_add(d, "stop signal", DR_NOTE,
	       "the manifests' preStop `stint halt` stops it in its own terms whatever the pod's stop signal",
	       "%s. The sidecar cannot see the image's STOPSIGNAL nor the pod's lifecycle.stopSignal and preStop: "
	       "check them with kubectl get pod -o yaml and the image's config",
	       stop_note(k));
	check_halt_binary(d);
}

/* ---- capabilities --------------------------------------------------------- */

static unsigned long long cap_field(const char *status, const char *key)
{
	const char *p = strstr(status, key);
	unsigned long long v = 0;

	for (p = p ? p + strlen(key) : ""; *p == '\t' || *p == ' '; p++)
		;
	for (; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'); p++)
		v = v * 16 + (unsigned long long)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
	return v;
}

static void check_caps(struct doctor *d)
{
	char status[4096], missing[64] = "";
	unsigned long long eff, bnd;
	static const struct {
		int cap;
		const char *name;
	} sd[] = { { CAP_SETPCAP_, "SETPCAP" }, { CAP_SETUID_, "SETUID" }, { CAP_SETGID_, "SETGID" } };
	size_t off = 0;

	if (os_read(d, "/proc/1/status", status, sizeof(status)) <= 0) {
		dr_add(d, "capabilities", DR_SKIP, NULL, "cannot read /proc/1/status of the OS container: %s",
		       strerror(errno));
		return;
	}
	eff = cap_field(status, "CapEff:");
	bnd = cap_field(status, "CapBnd:");
	if (d->cfg->mode == PEER_MODE_PIVOT)
		dr_add(d, "caps for the mode", DR_OK, NULL,
		       "pivot: the peer switches the root, the OS container needs no "
		       "capability (it has CapEff %016llx)",
		       eff);
	else if (d->os.booted)
		dr_add(d, "caps for the mode", DR_OK, NULL, "chroot: done (the OS runs)");
	else if (eff & (1ULL << CAP_SYS_CHROOT_))
		dr_add(d, "caps for the mode", DR_OK, NULL, "chroot: stint has CAP_SYS_CHROOT (CapEff %016llx)", eff);
	else
		dr_add(d, "caps for the mode", DR_FAIL,
		       "mode = pivot (no capability needed), or keep CAP_SYS_CHROOT (in the runtime's default set)",
		       "chroot: stint lacks CAP_SYS_CHROOT (CapEff %016llx) and will exit 3 (chroot: Operation not "
		       "permitted)",
		       eff);
	if (!d->os.init_kind || strcmp(d->os.init_kind, "systemd") != 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(sd); i++) {
		if (!(bnd & (1ULL << sd[i].cap)))
			off += (size_t)snprintf(missing + off, sizeof(missing) - off, "%s%s", off ? ", " : "",
						sd[i].name);
	}
	if (off)
		dr_add(d, "caps for systemd", DR_FAIL,
		       "keep the runtime's default capabilities in the OS container (no drop of SETPCAP, SETUID, SETGID)",
		       "systemd without %s (CapBnd %016llx) ends degraded: journald, logind and dbus fail with 'Failed "
		       "to drop capabilities'; with no capability at all it never finishes booting",
		       missing, bnd);
	else
		dr_add(d, "caps for systemd", DR_OK, NULL, "SETPCAP, SETUID, SETGID are there (CapBnd %016llx)", bnd);
}

/* ---- cgroups --------------------------------------------------------------- */

static int node_cgroup_version(char *what, size_t len)
{
	struct statfs s;

	if (statfs("/sys/fs/cgroup", &s) < 0)
		return snprintf(what, len, "unknown (statfs /sys/fs/cgroup: %s)", strerror(errno)), 0;
	if (s.f_type == CGROUP2_MAGIC)
		return snprintf(what, len, "cgroup v2 (unified)"), 2;
	if (s.f_type == TMPFS_MAGIC && statfs("/sys/fs/cgroup/unified", &s) == 0 && s.f_type == CGROUP2_MAGIC)
		return snprintf(what, len, "cgroup v1 (hybrid: v2 also at /sys/fs/cgroup/unified)"), 1;
	return snprintf(what, len, "cgroup v1"), 1;
}

static void check_cgroup(struct doctor *d)
{
	const struct peer_config *c = d->cfg;
	const char *right, *whose = d->os.rootfd >= 0 ? "the OS container" : "this sidecar";
	const struct mount_entry *m;
	struct mountinfo mi = { 0 };
	char what[128], fix[160];
	cleanup_fd int fd = d->os.rootfd >= 0 ? os_path(d, "/proc/1", O_DIRECTORY) : -1;
	int v = node_cgroup_version(what, sizeof(what)), rc;
	bool systemd = d->os.init_kind && strcmp(d->os.init_kind, "systemd") == 0;

	dr_add(d, "cgroup (node)", v ? DR_OK : DR_WARN, NULL, "%s", what);
	right = v == 2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/systemd";
	snprintf(fix, sizeof(fix), "cgroup = rw, cgroup-path = %s (on this cgroup v%d node)", right, v);
	if (c->cgroup != PEER_CGROUP_RW) {
		dr_add(d, "cgroup-path", systemd ? DR_FAIL : DR_OK, systemd ? fix : NULL, "cgroup = keep%s",
		       systemd ? ": systemd exits 255 at once without its own cgroup sub-tree writable" :
				 " (an init other than systemd needs no writable cgroup)");
		return;
	}
	rc = fd >= 0 ? mountinfo_read(fd, "mountinfo", &mi) : mountinfo_read(d->procfd, "self/mountinfo", &mi);
	if (rc < 0) {
		dr_add(d, "cgroup-path", DR_SKIP, NULL, "cannot read the mounts of %s: %s", whose, strerror(errno));
		return;
	}
	m = mountinfo_find(&mi, c->cgroup_path);
	if (!m || (strcmp(m->fstype, "cgroup2") != 0 &&
		   !(strcmp(m->fstype, "cgroup") == 0 && mount_opt_has(m->super_opts, "name=systemd"))))
		dr_add(d, "cgroup-path", DR_FAIL, fix,
		       "%s is %s%s in %s, not the cgroup2 mount (v2) nor the name=systemd hierarchy (v1)",
		       c->cgroup_path, m ? "a mount of " : "no mount", m ? m->fstype : "", whose);
	else
		dr_add(d, "cgroup-path", DR_OK, NULL, "%s is the %s mount in %s", c->cgroup_path,
		       strcmp(m->fstype, "cgroup2") == 0 ? "cgroup2" : "name=systemd", whose);
	if (m && strcmp(m->fstype, "cgroup2") == 0)
		dr_add(d, "nsdelegate", cgroup_needs_guard(&mi, c->cgroup_path) ? DR_WARN : DR_OK,
		       cgroup_needs_guard(&mi, c->cgroup_path) ?
			       "for full delegation mount cgroup2 with nsdelegate on the node (systemd's default)" :
			       NULL,
		       "%s",
		       cgroup_needs_guard(&mi, c->cgroup_path) ?
			       "cgroup2 without nsdelegate: the peer makes the container's own limit files "
			       "read-only in the new root (systemd still boots; its cgroup.* files stay writable)" :
			       "cgroup2 is mounted with nsdelegate: the OS gets its cgroup, not its own limits");
	mountinfo_free(&mi);
}

void dr_check_os(struct doctor *d)
{
	dr_add(d, "user namespace", DR_OK, NULL, "%s",
	       d->os.userns ?
		       "yes (hostUsers: false): the overlay keeps user.overlay.* xattrs (Linux >= 5.11)" :
		       "no: the pod shares the node's user namespace; the overlay keeps trusted.overlay.* xattrs");
	if (d->os.rootfd >= 0) {
		check_boot(d);
		check_caps(d);
	}
	check_cgroup(d);
}
