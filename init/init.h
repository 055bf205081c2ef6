/* Internal interfaces of the stint init (PID 1). The file names say what
 * each part does:
 *   options.c   settings from defaults, INI file, environment and flags
 *   signals.c   the signal mask, the signalfd and signal names
 *   reap.c      reaping zombies and finding our descendants
 *   handoff.c   serving the socket and waiting for "ready"
 *   handfds.c   opening the fds handed to the peer
 *   switch.c    entering the prepared root and shedding the handoff state
 *   run.c       exec'ing COMMAND, or supervising it like tini
 *   caps.c      dropping capabilities from the bounding set
 *   halt.c      `stint halt`: a preStop hook asks PID 1 to halt */
#ifndef STINT_INIT_H
#define STINT_INIT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stint/config.h"
#include "stint/exitcode.h"
#include "stint/proto.h"

#define STINT_MAX_UIDS 32
#define STINT_MAX_REWRITES 32
#define STINT_DEFAULT_ROOT "/.stint/root"
#define STINT_DEFAULT_CONFIG "/etc/stint/stint.ini"

struct rewrite {
	int from, to;
};

enum on_failure { ON_FAILURE_EXIT, ON_FAILURE_BOOT };

/* Filled by options.c from the key table there (src/config.c does the
 * parsing); every string points into argv, the environment or the settings
 * store, and lives as long as the process. */
struct config {
	const char *config_file;
	const char *socket;
	uid_t allow_uid[STINT_MAX_UIDS];
	size_t n_allow_uid;
	const char *root;
	const char *ready_file;
	long timeout_ms; /* 0 = wait forever */
	long peer_timeout_ms; /* a connected peer must finish within this */
	int on_failure; /* enum on_failure */
	bool supervise;
	struct rewrite rewrite[STINT_MAX_REWRITES];
	size_t n_rewrite;
	int rewrite_source; /* enum cfg_source: a higher source replaces the list */
	long grace_ms;
	bool forward_group;
	const char *drop_caps;
	const char *notify_socket;
	const char *container;
	int log_level;
	struct strlist file_command; /* the INI file's command key */
	char **command; /* NULL-terminated argv */
};

/* options.c: the key table of stint, for cfg_*() and the unit tests. */
extern const struct cfg_program config_program;
/* Fill cfg from every source; exits 2 with a one-line error on bad input,
 * 0 after --help/--version. */
void config_load(struct config *cfg, int argc, char **argv);
/* For tests and `--verbose`: log every effective setting. */
void config_log(const struct config *cfg);

/* signals.c */
int signals_setup(sigset_t *saved); /* block all, return a signalfd */
int signal_parse(const char *name); /* "TERM", "SIGTERM", "15", "RTMIN+3" -> number, -1 if bad */
const char *signal_describe(int signo, char *buf, size_t len);
bool signal_stops_init(int signo); /* a stop request while no child runs */

/* reap.c */
/* Reap every exited child; when `main` is among them store its status and
 * return 1, else 0. */
int reap_children(pid_t main, int *main_status);
/* Send sig to every descendant of this process. As a namespace's PID 1
 * that is every other process, in one kill(-1): then it returns 1 when
 * there was any and 0 when not, otherwise how many were signalled. */
int signal_descendants(int sig);
int exit_code_of(int status);
/* Calls fn(name) for each entry of the directory dirfd but . and ..,
 * without opendir() (whose closedir() would bring musl's allocator into the
 * static init). Stops at fn's first -1; returns 0, or -1 (errno set). */
int dir_each(int dirfd, int (*fn)(const char *name, void *arg), void *arg);

/* handfds.c: the fds a HELLO carries. */
struct handfds {
	int fd[STINT_MAX_FDS];
	uint32_t tag[STINT_MAX_FDS];
	size_t n;
	int ready_fd; /* also in fd[]: the eventfd */
};
int handfds_open(struct handfds *h);
void handfds_close(struct handfds *h);

/* handoff.c */
enum handoff_result { HANDOFF_CHROOT, HANDOFF_PIVOTED, HANDOFF_FAILED, HANDOFF_SIGNALLED };
struct handoff_outcome {
	enum handoff_result result;
	char root[STINT_PATH_MAX + 1]; /* HANDOFF_CHROOT */
	int signo; /* HANDOFF_SIGNALLED */
};
void handoff_run(const struct config *cfg, int sigfd, struct handoff_outcome *out);

/* switch.c: returns 0 or -1 after logging why. */
int switch_root(const struct handoff_outcome *how);
int prepare_environment(const struct config *cfg);

/* caps.c */
/* "cap_sys_admin" (any case) or a number -> the capability, or -1. */
int caps_value(const char *name, size_t len);
int caps_validate(const char *list, char *err, size_t errlen);
int caps_drop_bounding(const char *list);

/* halt.c: `stint halt [OPTIONS]` (argv[0] = "halt"); the exit status. */
int halt_main(int argc, char **argv);

/* run.c: neither returns. */
void run_exec(const struct config *cfg, const sigset_t *saved) __attribute__((noreturn));
void run_supervise(const struct config *cfg, int sigfd, const sigset_t *saved) __attribute__((noreturn));
void close_fds_from(int first);

#endif
