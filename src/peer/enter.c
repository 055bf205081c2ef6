/* `stint-peer enter [--] [COMMAND [ARG]...]`: run COMMAND (default: root's
 * login shell of the OS) inside the booted OS, the way its own processes
 * run — with the namespaces, root, cgroups, capabilities and basic
 * environment of its init — from the sidecar, also in chroot mode where
 * `kubectl exec -c os` lands in the image's old root. docs/control.md.
 *
 * What the kernel allows differs from "exactly" in two places, both
 * documented: the session cannot join the OS's pid namespace (a sibling of
 * the sidecar's; see session.h), so it has one of its own and sees the
 * OS's processes through the OS's /proc; and it runs in a private copy of
 * the OS's mount namespace (a slave: the OS's later mounts show up, the
 * session's own stay in it), because /proc/self must name the session's
 * processes there (session_fix_proc()). */
#include <errno.h>
#include <linux/capability.h>
#include <limits.h>
#include <grp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/config.h"
#include "stint/exitcode.h"
#include "stint/log.h"
#include "stint/util.h"
#include "control.h"
#include "err.h"
#include "osinfo.h"
#include "peer.h"
#include "session.h"
#include "sessiondev.h"

struct enter {
	struct control_reply rep;
	struct os_info os;
	int same_userns; /* 1, 0, or -1 = this kernel cannot tell */
	int ns_flags; /* namespaces to join besides the user one */
	char *env[12];
	char argv0[NAME_MAX + 2];
	char *shell_argv[2];
	char cgroups[OS_CGROUP_MAX]; /* the init's /proc/PID/cgroup */
	struct session_devices dev; /* the sidecar's standard nodes, for a session outside the OS's cgroups */
};

static const struct cfg_key enter_keys[] = {
	SESSION_OPTS_KEYS,
	CFG_KEY_HELP(CFG_ARGV_ONLY),
};

static const struct cfg_program enter_program = {
	.name = "stint-peer",
	.section = "peer",
	.keys = enter_keys,
	.n_keys = ARRAY_SIZE(enter_keys),
	.usage = "usage: stint-peer [-v|-q] enter [-c FILE] [--run-dir DIR] [--] [COMMAND [ARG]...]\n"
		 "Run COMMAND (default: root's login shell of the OS) inside the booted OS, from the\n"
		 "stint-peer sidecar. The run-dir is also STINT_PEER_RUN_DIR or peer.ini's run-dir.\n\n",
	.epilog = "See stint-peer(8) and docs/control.md.\n",
};

/* Become root of the OS's user namespace, if it is not ours (a
 * user-namespaced pod): last, since it gives up the node's privileges. */
static int join_userns(struct session *s, const struct enter *e)
{
	if (setgroups(0, NULL) < 0)
		return fail_errno("drop supplementary groups");
	if (e->same_userns == 1)
		return 0;
	if (setns(s->pidfd, CLONE_NEWUSER) < 0) {
		if (e->same_userns < 0 && errno == EINVAL)
			return 0; /* ours after all: joining it is EINVAL */
		return fail_errno("join the OS's user namespace");
	}
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return fail_errno("become root of the OS's user namespace");
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		return fail_errno("drop supplementary groups in the OS's user namespace");
	return 0;
}

/* setns through the init's pidfd, saying so when it is stale. */
static int join_ns(struct session *s, int flags)
{
	if (setns(s->pidfd, flags) < 0)
		return errno == ESRCH ?
			       fail("the OS has restarted meanwhile (stale pidfd: its init exited); try again") :
			       fail_errno("join the OS's namespaces (setns through its init's pidfd)");
	return 0;
}

/* Outside the OS init's cgroups the session is in the sidecar's, which
 * has no device filter: a node the guest made beforehand would open what
 * it names, and with CAP_MKNOD the OS's own shell (its profile) could make
 * one. Refusing to run is no answer: where cgroup2 delegates at namespaces
 * (nsdelegate, the usual pod) the kernel always refuses the move. So the
 * command runs without CAP_MKNOD, and no mount of the session opens a
 * device but the OS's terminals and the standard nodes (sessiondev.h). */
static int cgroup_join(struct enter *e, const char *read_error)
{
	int joined = read_error[0] ? -1 : os_cgroup_join(e->cgroups);

	if (joined >= 0) {
		log_debug("enter: joined the OS init's cgroups in %d hierarchies", joined);
		return 0;
	}
	e->os.cap_bnd &= ~(1ULL << CAP_MKNOD);
	e->os.cap_inh &= ~(1ULL << CAP_MKNOD);
	log_warn("enter: not in the OS init's cgroups (%s): the command runs without CAP_MKNOD, and only the "
		 "OS's terminals and null, zero, full, random, urandom, tty open as devices",
		 read_error[0] ? read_error : fail_reason());
	return session_devices_restrict(&e->dev);
}

/* In the session's reaper, still privileged on the node. The cgroup
 * namespace first, alone: the init's cgroups are read there (their paths
 * are relative to the reader's) while /proc is still the sidecar's. */
static int enter_setup(struct session *s)
{
	struct enter *e = s->data;
	char read_error[512] = "";
	int rc;

	session_devices_clone(&e->dev);
	if ((e->ns_flags & CLONE_NEWCGROUP) && join_ns(s, CLONE_NEWCGROUP) < 0)
		return -1;
	if (os_cgroup_read(e->rep.rootfd, e->rep.pid, e->cgroups, sizeof(e->cgroups)) < 0)
		copy_str(read_error, sizeof(read_error), fail_reason());
	if ((e->ns_flags & ~CLONE_NEWCGROUP) && join_ns(s, e->ns_flags & ~CLONE_NEWCGROUP) < 0)
		return -1;
	/* Its root: the namespace's own in pivot mode, the chroot's in chroot
	 * mode; the fd names it either way. */
	if (fchdir(e->rep.rootfd) < 0 || chroot(".") < 0)
		return fail_errno("change root to the OS's root");
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return fail_errno("a private copy of the OS's mount namespace");
	if (session_fix_proc() < 0)
		log_warn("enter: /proc/self will not work in the session: %s", fail_reason());
	rc = cgroup_join(e, read_error);
	session_devices_close(&e->dev);
	return rc < 0 ? -1 : join_userns(s, e);
}

/* In the command's process: the OS init's capabilities, root's home. */
static int enter_exec(struct session *s)
{
	struct enter *e = s->data;

	if (os_caps_apply(&e->os) < 0)
		return -1;
	if (chdir(e->os.home) < 0 && chdir("/") < 0)
		return fail_errno("chdir /");
	return 0;
}

static char *kv(const char *k, const char *v)
{
	size_t n = strlen(k) + strlen(v) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s=%s", k, v);
	return s;
}

/* PATH, LANG and container= of the OS's init, root's HOME and SHELL, and
 * TERM from the caller when there is a terminal. */
static void build_env(struct enter *e)
{
	const char *term = getenv("TERM");
	size_t n = 0;

	e->env[n++] = kv("PATH", e->os.path);
	e->env[n++] = kv("HOME", e->os.home);
	e->env[n++] = kv("SHELL", e->os.shell);
	e->env[n++] = kv("USER", "root");
	e->env[n++] = kv("LOGNAME", "root");
	if (term && isatty(STDIN_FILENO))
		e->env[n++] = kv("TERM", term);
	if (e->os.lang[0])
		e->env[n++] = kv("LANG", e->os.lang);
	if (e->os.container[0])
		e->env[n++] = kv("container", e->os.container);
	/* systemctl run as root talks to PID 1's private socket and refuses a
	 * peer whose SO_PEERCRED pid it cannot see (ENODATA: the session is
	 * not in the OS's pid namespace); through the system bus it works. */
	e->env[n++] = kv("SYSTEMCTL_FORCE_BUS", "1");
	e->env[n] = NULL;
}

static void free_env(struct enter *e)
{
	for (size_t i = 0; e->env[i]; i++)
		free(e->env[i]);
}

int peer_enter(int argc, char **argv)
{
	struct session_opts o;
	char run_dir[PATH_MAX];
	struct enter e = { .rep = { .pidfd = -1, .rootfd = -1 } };
	struct session s = { .what = "enter", .setup = enter_setup, .prepare_exec = enter_exec, .data = &e };
	const char *base;
	int first, rc = control_options(&enter_program, &o, argc, argv, &first, run_dir, sizeof(run_dir));

	if (rc >= 0)
		return rc;
	if (control_fetch(run_dir, &e.rep) < 0) {
		log_error("enter: %s", fail_reason());
		return EXIT_SETUP;
	}
	os_info_read(e.rep.rootfd, e.rep.pid, &e.os);
	if (!e.os.have_caps) {
		/* Fail closed: never the command with the sidecar's capabilities. */
		log_error("enter: the OS init's capability sets: %s; not running the command", e.os.caps_error);
		control_reply_close(&e.rep);
		return EXIT_SETUP;
	}
	e.same_userns = session_same_userns(e.rep.pidfd);
	if (e.same_userns < 0)
		log_debug("enter: %s", fail_reason());
	e.ns_flags = session_ns_to_join(e.rep.pidfd, CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
							     CLONE_NEWCGROUP | CLONE_NEWTIME);
	build_env(&e);
	s.pidfd = e.rep.pidfd;
	s.envp = e.env;
	if (first < argc) {
		s.argv = argv + first;
	} else {
		/* A login shell: argv[0] "-sh" makes it read /etc/profile. */
		base = strrchr(e.os.shell, '/');
		e.argv0[0] = '-';
		copy_str(e.argv0 + 1, sizeof(e.argv0) - 1, base ? base + 1 : e.os.shell);
		e.shell_argv[0] = e.os.shell;
		s.argv = e.shell_argv;
		s.argv0 = e.argv0;
	}
	log_debug("enter: boot %u of the OS, its init is pid %u there; running %s", e.rep.boot, e.rep.pid, s.argv[0]);
	rc = session_run(&s);
	free_env(&e);
	control_reply_close(&e.rep);
	return rc;
}
