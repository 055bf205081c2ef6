/* A session of `stint-peer enter` or `attach`: a command run from the
 * sidecar beside the booted OS. The kernel does not let the sidecar join
 * the OS's pid namespace — setns(2) into a pid namespace, by pidfd or by
 * namespace fd, is refused (EINVAL) unless it is the caller's own or a
 * descendant of it, and the OS container's is a sibling of the sidecar's —
 * nor mount a procfs of it ("proc: cannot set pidns to non-descendant
 * pidns"). So a session gets a pid namespace of its own (a child of the
 * sidecar's), whose PID 1 is a small reaper; pids the command signals
 * then reach neither the peer nor other processes of the sidecar.
 *
 *   caller (sidecar pid ns) --fork--> reaper, PID 1 of a new pid ns:
 *        setup(): namespaces, mounts, cgroup (still privileged)
 *        --fork--> the command: prepare_exec(), then exec
 *
 * The caller forwards SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 to the reaper,
 * which forwards them to the command; the terminal's own signals (^C, ^\,
 * ^Z) reach the command's process group directly. The caller exits with
 * the command's status (128+N for signal N). */
#ifndef STINT_PEER_SESSION_H
#define STINT_PEER_SESSION_H

struct session {
	const char *what; /* "enter" or "attach", for messages */
	int pidfd; /* the OS's init */
	/* In the reaper, before the command forks: 0, or -1 with fail(). */
	int (*setup)(struct session *s);
	/* In the command's process right before exec: 0, or -1 with fail(). */
	int (*prepare_exec)(struct session *s);
	char **argv; /* the command; argv[0] is looked up in PATH */
	const char *argv0; /* what the command sees as argv[0]; NULL: argv[0] */
	char **envp; /* its environment; NULL: the caller's */
	void *data; /* the subcommand's own */
};

/* Run the session; returns the exit status for the caller. */
int session_run(struct session *s);

/* Inside a session whose /proc shows the OS's processes (a procfs of the
 * OS's pid namespace, in which the session's processes have no pid), make
 * /proc/self and /proc/thread-self name the session's own processes: a
 * procfs of the session's pid namespace is mounted over /proc/driver, and
 * symlinks to it over /proc/self and /proc/thread-self (so /proc/mounts,
 * /proc/net, /dev/fd work too). Call from the reaper, in a private mount
 * namespace, with /proc already the OS's. Returns 0 or -1 (fail()). */
int session_fix_proc(void);

/* The user namespace of the process behind pidfd: 1 = ours, 0 = another,
 * -1 = unknown (fail()). */
int session_same_userns(int pidfd);

/* Of the namespace types in `wanted` (CLONE_NEW*), those the OS's init
 * (pidfd) is in and this process is not, as setns(pidfd, ...) takes them.
 * One the two share needs no join, and may refuse one: the node's time
 * namespace, or its cgroup namespace under containerd on cgroup v1, is
 * owned by a user namespace above a user-namespaced pod's (EPERM). Where
 * the kernel cannot tell a pidfd's namespaces (Linux < 6.11) every type
 * this kernel has is kept. */
int session_ns_to_join(int pidfd, int wanted);

#endif
