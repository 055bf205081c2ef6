/* `stint halt`: stop the OS the way its own init wants to be stopped, from
 * a preStop exec hook of the OS container. Kubernetes stops a container
 * with SIGTERM (or the image's STOPSIGNAL, or lifecycle.stopSignal where
 * the cluster has it); most OS inits do not halt on SIGTERM: systemd
 * re-executes itself, sysvinit ignores it. So the hook names the init
 * (PID 1 of the container's pid namespace: /proc/1/exe, /proc/1/comm),
 * asks it to halt in its own terms, and waits.
 *
 * The wait ends well when the init, halting, sends every process the final
 * SIGTERM (systemd-shutdown, busybox init, sysvinit's sendsigs and
 * openrc-init all do): by then the OS's services have stopped, and the
 * hook returns 0 so that the kubelet goes on with its stop. An init that
 * exits without that takes this process with it (the kernel kills a pid
 * namespace with its init). Past --timeout it exits 1 and the kubelet's
 * own signal, then SIGKILL, follow. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"
#include "stint/deadline.h"
#include "stint/initkind.h"
#include "stint/log.h"
#include "stint/util.h"

#define SYSV_FIFO "/proc/1/root/run/initctl"

struct halt_opts {
	long timeout_ms;
	const char *signal; /* --signal: overrides what the table says */
	int log_level;
};

#define F(field) offsetof(struct halt_opts, field)

static const struct cfg_key halt_keys[] = {
	{ "timeout", NULL, "30", "SECS", "wait at most SECS for the init to halt", .min = 1, .max = 3600,
	  .off = F(timeout_ms), .short_opt = 't', .type = CFG_MS },
	{ "signal", NULL, NULL, "SIG", "send SIG instead of the init's own halt signal", .off = F(signal),
	  .type = CFG_STR },
	{ "quiet", NULL, NULL, NULL, "log errors only", .min = LOG_ERROR, .off = F(log_level), .short_opt = 'q',
	  .type = CFG_FLAG },
	CFG_KEY_HELP(0),
};

static const struct cfg_program halt_program = {
	.name = "stint",
	.section = "halt",
	.keys = halt_keys,
	.n_keys = ARRAY_SIZE(halt_keys),
	.usage = "Usage: stint halt [--timeout SECS] [--signal SIG]\n"
		 "Halt the OS of this container (a preStop hook): name PID 1's init, send it the\n"
		 "signal it halts on (systemd RTMIN+3, busybox init USR2, openrc-init TERM; sysvinit:\n"
		 "runlevel 0 through /run/initctl), wait until it ends every process.\n\n",
	.epilog = "Exit status: 0 the init is halting (its final SIGTERM came), 1 it did not\n"
		  "within SECS or could not be asked, 2 usage. See stint(8).\n",
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* PID 1's executable (as this process's root sees it) and comm. */
static void pid1_names(char *exe, size_t exelen, char *comm, size_t commlen)
{
	ssize_t n = readlink("/proc/1/exe", exe, exelen - 1);
	cleanup_fd int fd = open("/proc/1/comm", O_RDONLY | O_CLOEXEC);

	exe[n > 0 ? n : 0] = '\0';
	n = fd >= 0 ? read(fd, comm, commlen - 1) : -1;
	comm[n > 0 ? n : 0] = '\0';
	if (n > 0 && comm[n - 1] == '\n')
		comm[n - 1] = '\0';
}

static bool is_fifo(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* The init, or NULL. A plain "init" is sysvinit only where its FIFO
 * exists (systemd has one too, but it is matched first, by name). */
static const struct init_kind *identify(const char *exe, const char *comm)
{
	const struct init_kind *k = init_kind_find(exe[0] ? base_name(exe) : NULL, comm);

	return k && k->signo == 0 && !is_fifo(SYSV_FIFO) ? NULL : k;
}

/* sysvinit's request (initreq.h): runlevel 0 = halt, 384 bytes in all. */
static int sysv_runlevel_0(void)
{
	int32_t req[96] = { 0x03091969 /* magic */, 1 /* INIT_CMD_RUNLVL */, '0', 5 /* s between TERM and KILL */ };
	cleanup_fd int fd = open(SYSV_FIFO, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return log_error("halt: open %s (sysvinit's /run/initctl): %s", SYSV_FIFO, strerror(errno)), -1;
	if (write(fd, req, sizeof(req)) != (ssize_t)sizeof(req))
		return log_error("halt: write the runlevel 0 request to %s: %s", SYSV_FIFO, strerror(errno)), -1;
	return 0;
}

/* Wait for the init's final SIGTERM (or SIGHUP) until the deadline; SIGINT
 * (also in the set, blocked) ends the wait as a failure. */
static int wait_for_halt(const sigset_t *set, long timeout_ms, const char *what)
{
	msec_t deadline = deadline_in(timeout_ms);
	struct pollfd p = { signalfd(-1, set, SFD_CLOEXEC), POLLIN, 0 };
	struct signalfd_siginfo si;
	char name[32];

	if (p.fd < 0)
		return log_error("halt: signalfd: %s", strerror(errno)), 1;
	while (!deadline_passed(deadline)) {
		if (poll(&p, 1, deadline_poll_ms(deadline)) > 0 && read(p.fd, &si, sizeof(si)) == sizeof(si)) {
			/* ^C of the one who runs it (kubectl exec -it) says
			 * nothing about the init. */
			if (si.ssi_signo == SIGINT) {
				log_error("halt: interrupted (SIGINT from pid %u) before %s ended", si.ssi_pid, what);
				return 1;
			}
			log_info("halt: %s from pid %u: the init is ending every process, its services have stopped",
				 signal_describe((int)si.ssi_signo, name, sizeof(name)), si.ssi_pid);
			return 0;
		}
	}
	log_error("halt: %s still runs %ld s after it was asked to halt", what, timeout_ms / 1000);
	return 1;
}

static int parse(struct halt_opts *o, int argc, char **argv)
{
	struct cfg_args a;
	char err[512];

	memset(o, 0, sizeof(*o));
	o->log_level = LOG_INFO;
	if (cfg_load_argv(&halt_program, o, argc, argv, &a, err, sizeof(err)) < 0)
		return log_error("halt: %s", err), EXIT_USAGE;
	if (a.action == CFG_DO_HELP)
		return cfg_help(&halt_program, STDOUT_FILENO, 0), 0;
	if (a.first < argc)
		return log_error("halt: unexpected argument '%s' (try --help)", argv[a.first]), EXIT_USAGE;
	if (o->signal && signal_parse(o->signal) < 0)
		return log_error("halt: --signal: '%s' is not a signal (try --help)", o->signal), EXIT_USAGE;
	log_set_level(o->log_level);
	return -1;
}

int halt_main(int argc, char **argv)
{
	struct halt_opts o;
	char exe[PATH_MAX], comm[32], sig[32];
	const struct init_kind *k;
	const char *what;
	sigset_t set;
	int rc = parse(&o, argc, argv), signo;

	if (rc >= 0)
		return rc;
	if (getpid() == 1)
		return log_error("halt: this is PID 1 itself: run `stint halt` beside the init (kubectl exec, "
				 "a preStop hook)"),
		       EXIT_USAGE;
	/* Blocked before asking: the init's answer may come at once. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid1_names(exe, sizeof(exe), comm, sizeof(comm));
	k = identify(exe, comm);
	what = k ? k->name : comm[0] ? comm : "PID 1";
	signo = o.signal ? signal_parse(o.signal) : k ? k->signo : SIGTERM;
	if (!k && !o.signal)
		log_warn("halt: PID 1 (%s, %s) is no init stint knows: sending SIGTERM (give --signal)",
			 comm[0] ? comm : "?", exe[0] ? exe : "exe unreadable");
	if (signo == 0) {
		log_info("halt: PID 1 is %s (%s): requesting runlevel 0 through /run/initctl", what, exe);
		if (sysv_runlevel_0() < 0)
			return 1;
	} else {
		log_info("halt: PID 1 is %s (%s): sending %s", what, exe[0] ? exe : comm,
			 signal_describe(signo, sig, sizeof(sig)));
		if (kill(1, signo) < 0)
			return log_error("halt: kill 1 %s: %s", sig, strerror(errno)), 1;
	}
	return wait_for_halt(&set, o.timeout_ms, what);
}
