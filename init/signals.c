/* PID 1's signals: everything that can be blocked is, and arrives through a
 * signalfd read in the main loop, so no work ever happens in a handler.
 * Signals the kernel raises for a fault in stint itself stay unblocked. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>

#include "init.h"
#include "stint/log.h"
#include "stint/util.h"

/* The kernel's first real-time signal. libcs reserve a few for threads and
 * move their SIGRTMIN up (glibc 34, musl 35), but "RTMIN+3" in systemd's,
 * runc's and Kubernetes' sense is kernel signal 37, so names use 34. */
#define KERNEL_RTMIN 34
#define KERNEL_RTMAX 64

static const struct {
	const char *name;
	int signo;
} signal_names[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },	      { "QUIT", SIGQUIT }, { "ILL", SIGILL },	  { "TRAP", SIGTRAP },
	{ "ABRT", SIGABRT }, { "IOT", SIGABRT },      { "BUS", SIGBUS },   { "FPE", SIGFPE },	  { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },     { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE },	  { "ALRM", SIGALRM },
	{ "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },	  { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },     { "TTOU", SIGTTOU }, { "URG", SIGURG },	  { "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "POLL", SIGIO },   { "PWR", SIGPWR },	      { "SYS", SIGSYS },
};

/* Faults in our own code must still kill us (and dump core) immediately. */
static const int unblockable[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS };

int signals_setup(sigset_t *saved)
{
	sigset_t all;
	int fd;

	/* Not sigfillset(): musl's leaves out 32-34, and 34 is the kernel's
	 * SIGRTMIN, which would then kill a stint that is not a namespace's
	 * PID 1. (glibc still refuses to block its internal 32 and 33.) */
	memset(&all, 0xff, sizeof(all));
	for (size_t i = 0; i < ARRAY_SIZE(unblockable); i++)
		sigdelset(&all, unblockable[i]);
	/* A blocked signal is queued even for a namespace's PID 1, which the
	 * kernel would otherwise drop when its disposition is SIG_DFL. */
	if (sigprocmask(SIG_SETMASK, &all, saved) < 0)
		die_errno(EXIT_SETUP, "blocking signals");
	fd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		die_errno(EXIT_SETUP, "signalfd");
	return fd;
}

static int parse_number(const char *s, int min, int max)
{
	unsigned long v;
	const char *end = parse_decimal(s, (unsigned long)max, &v);

	return !end || *end || v < (unsigned long)min ? -1 : (int)v;
}

int signal_parse(const char *name)
{
	int off;

	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	if (strncasecmp(name, "RTMIN", 5) == 0) {
		off = name[5] == '\0' ? 0 : name[5] == '+' ? parse_number(name + 6, 0, 30) : -1;
		return off < 0 ? -1 : KERNEL_RTMIN + off;
	}
	if (strncasecmp(name, "RTMAX", 5) == 0) {
		off = name[5] == '\0' ? 0 : name[5] == '-' ? parse_number(name + 6, 0, 30) : -1;
		return off < 0 ? -1 : KERNEL_RTMAX - off;
	}
	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++) {
		if (strcasecmp(name, signal_names[i].name) == 0)
			return signal_names[i].signo;
	}
	return parse_number(name, 1, KERNEL_RTMAX);
}

const char *signal_describe(int signo, char *buf, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++) {
		if (signal_names[i].signo == signo) {
			snprintf(buf, len, "SIG%s", signal_names[i].name);
			return buf;
		}
	}
	if (signo >= KERNEL_RTMIN && signo <= KERNEL_RTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", signo - KERNEL_RTMIN);
	else
		snprintf(buf, len, "signal %d", signo);
	return buf;
}

bool signal_stops_init(int signo)
{
	/* While waiting for the peer there is no child to forward to; any
	 * signal a runtime uses to stop a container (TERM from Kubernetes,
	 * RTMIN+3 for systemd images, USR1/USR2 for busybox images, INT,
	 * QUIT, HUP, PWR) ends the wait. Job-control and bookkeeping signals do
	 * not. */
	switch (signo) {
	case SIGCHLD:
	case SIGWINCH:
	case SIGCONT:
	case SIGURG:
	case SIGPIPE:
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
	case SIGALRM:
	case SIGVTALRM:
	case SIGPROF:
	case SIGIO:
	case SIGXCPU:
	case SIGXFSZ:
	case SIGSTKFLT:
		return false;
	default:
		return true;
	}
}
