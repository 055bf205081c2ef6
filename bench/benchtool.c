/* Helpers for bench/run.sh that need more precision or more processes than
 * a shell gives. Every time is CLOCK_MONOTONIC, printed in microseconds.
 *
 *   benchtool boot [--notify SOCK] [--state FILE] [--sock FILE] [--scope DIR]
 *                  [--log FILE] [--timeout SECS] -- CMD...
 *       Item 1: start CMD (`runc run -d ...`) and time, from its spawn:
 *       runc_us  CMD exited (runc run -d returns once the container runs),
 *       sock_us  FILE (--sock, stint's handoff socket) was created or
 *                renamed into place,
 *       scope_us DIR/init.scope was created (systemd's first cgroup, --scope
 *                = the container's name=systemd cgroup dir),
 *       ready_us READY=1 arrived on SOCK (a datagram socket bound here and
 *                given to the container as NOTIFY_SOCKET), or FILE (--state,
 *                the peer's state file) said ready=1.
 *       Prints "runc_us=N sock_us=N scope_us=N ready_us=N" (-1: not seen).
 *   benchtool time LOG -- CMD...
 *       Item 2: run CMD with its output appended to LOG; print its wall
 *       time (spawn to reaped exit) and its CPU time (user + system, its
 *       own and its reaped children's), "WALL_US CPU_US"; fail if CMD fails.
 *   benchtool mounts PID N DIR
 *       Item 2: in PID's mount namespace, N tmpfs mounts at DIR/m0..m(N-1).
 *   benchtool reap ROUNDS N LABEL INIT... [::: LABEL INIT...]...
 *       Item 3: ROUNDS times, each INIT in turn as PID 1 of a new PID and
 *       mount namespace (its own /proc) running `benchtool orphans N`;
 *       prints "LABEL reap_us init_cpu_us" lines (one per run).
 *   benchtool siglat ROUNDS LABEL INIT... [::: LABEL INIT...]...
 *       Item 4: every INIT as PID 1 of a new PID namespace running
 *       `benchtool sigchild`; ROUNDS times, to each in turn: note the time,
 *       kill(PID 1, SIGUSR1), read the time the child's handler ran; prints
 *       "LABEL latency_us" lines.
 * Internal (run as the workload of an init):
 *   benchtool orphans N   fork N children that each fork a grandchild and
 *       exit; once all grandchildren belong to PID 1, let them all exit at
 *       once and time until PID 1 has reaped every one, and the CPU time
 *       PID 1 spent meanwhile (/proc/1/schedstat, in ns: what the init
 *       itself costs, apart from the exit storm and the machine's load);
 *       then count what is left in this namespace's /proc. Prints
 *       "reap_us=N init_cpu_us=N zombies=N left=N".
 *   benchtool sigchild    write its handler's CLOCK_MONOTONIC (ns, 8 bytes)
 *       to stdout for every SIGUSR1.
 * Exit status 1 on any failure, with a message naming what failed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define MAX_INITS 16

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("benchtool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#define die_errno(fmt, ...) die(fmt ": %s", ##__VA_ARGS__, strerror(errno))

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long us_since(long long t0, long long t)
{
	return t < 0 ? -1 : (t - t0) / 1000;
}

static long parse_num(const char *s, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		die("%s: '%s' is not a number from %ld to %ld", what, s, min, max);
	return v;
}

/* ---- boot ---- */

struct boot {
	const char *notify, *state, *sock, *scope, *log;
	long timeout;
	int inofd, nfd, wd_state, wd_sock, wd_scope;
	long long t_runc, t_sock, t_scope, t_ready;
};

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int watch_dir_of(int inofd, const char *path, uint32_t mask)
{
	char dir[PATH_MAX];
	const char *s = strrchr(path, '/');
	int wd;

	snprintf(dir, sizeof(dir), "%.*s", s && s != path ? (int)(s - path) : 1, s ? path : ".");
	wd = inotify_add_watch(inofd, dir, mask);
	if (wd < 0)
		die_errno("inotify_add_watch %s", dir);
	return wd;
}

static int notify_bind(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		die_errno("socket for %s", path);
	if (strlen(path) >= sizeof(sa.sun_path))
		die("notify socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die_errno("bind %s", path);
	if (chmod(path, 0666) < 0)
		die_errno("chmod %s", path);
	return fd;
}

/* Does the peer's state file (written by rename) say ready now? Lines
 * "ready=1" or "state=ready". */
static int state_ready(const char *path)
{
	char line[256];
	FILE *f = fopen(path, "re");
	int ready = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		ready |= strcmp(line, "ready=1") == 0 || strcmp(line, "state=ready") == 0;
	}
	fclose(f);
	return ready;
}

static int notify_has_ready(int fd)
{
	char buf[4096];
	ssize_t n;
	int ready = 0;

	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			ready |= strncmp(l, "READY=1", 7) == 0 && (l[7] == '\n' || l[7] == '\0');
	}
	return ready;
}

static void boot_inotify(struct boot *b)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(b->inofd, buf, sizeof(buf));
	long long t = now_ns();

	for (char *p = buf; n > 0 && p < buf + n;) {
		const struct inotify_event *ev = (const struct inotify_event *)p;
		const char *name = ev->len ? ev->name : "";

		if (ev->wd == b->wd_sock && b->t_sock < 0 && strcmp(name, base_of(b->sock)) == 0)
			b->t_sock = t;
		if (ev->wd == b->wd_scope && b->t_scope < 0 && strcmp(name, "init.scope") == 0)
			b->t_scope = t;
		if (ev->wd == b->wd_state && b->t_ready < 0 && strcmp(name, base_of(b->state)) == 0 &&
		    state_ready(b->state))
			b->t_ready = t;
		p += sizeof(*ev) + ev->len;
	}
}

static pid_t spawn_logged(char **argv, const char *log)
{
	pid_t pid = fork();

	if (pid < 0)
		die_errno("fork");
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY),
		    out = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) {
			fprintf(stderr, "benchtool: stdio for %s (%s): %s\n", argv[0], log ? log : "/dev/null",
				strerror(errno));
			_exit(127);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "benchtool: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static int cmd_boot(int argc, char **argv)
{
	struct boot b = { .timeout = 60,
			  .nfd = -1,
			  .wd_state = -1,
			  .wd_sock = -1,
			  .wd_scope = -1,
			  .t_runc = -1,
			  .t_sock = -1,
			  .t_scope = -1,
			  .t_ready = -1 };
	int i, pidfd, status = 0, exited = 0;
	long long t0, deadline;
	pid_t pid;

	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			die("boot: %s needs a value", k);
		if (strcmp(k, "--notify") == 0)
			b.notify = v;
		else if (strcmp(k, "--state") == 0)
			b.state = v;
		else if (strcmp(k, "--sock") == 0)
			b.sock = v;
		else if (strcmp(k, "--scope") == 0)
			b.scope = v;
		else if (strcmp(k, "--log") == 0)
			b.log = v;
		else if (strcmp(k, "--timeout") == 0)
			b.timeout = parse_num(v, "boot --timeout", 1, 3600);
		else
			die("boot: unknown option %s", k);
	}
	if (i + 1 >= argc)
		die("boot: no command after --");
	if (!b.notify == !b.state)
		die("boot: give one of --notify SOCK and --state FILE");
	b.inofd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (b.inofd < 0)
		die_errno("inotify_init1");
	if (b.state)
		b.wd_state = watch_dir_of(b.inofd, b.state, IN_MOVED_TO | IN_CLOSE_WRITE);
	if (b.sock)
		b.wd_sock = watch_dir_of(b.inofd, b.sock, IN_CREATE | IN_MOVED_TO);
	if (b.scope) {
		b.wd_scope = inotify_add_watch(b.inofd, b.scope, IN_CREATE);
		if (b.wd_scope < 0)
			die_errno("inotify_add_watch %s", b.scope);
	}
	if (b.notify)
		b.nfd = notify_bind(b.notify);

	t0 = now_ns();
	deadline = t0 + b.timeout * 1000000000LL;
	pid = spawn_logged(argv + i + 1, b.log);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		die_errno("pidfd_open %d", (int)pid);
	while (b.t_ready < 0 || !exited) {
		/* Negative fds are skipped by poll(): no notify socket in
		 * --state mode, no pidfd once CMD has exited. */
		struct pollfd p[3] = { { b.inofd, POLLIN, 0 },
				       { b.nfd, POLLIN, 0 },
				       { exited ? -1 : pidfd, POLLIN, 0 } };
		long long left = (deadline - now_ns()) / 1000000;

		if (left <= 0)
			break;
		if (poll(p, 3, (int)left) < 0 && errno != EINTR)
			die_errno("poll");
		if ((p[1].revents & POLLIN) && notify_has_ready(b.nfd) && b.t_ready < 0)
			b.t_ready = now_ns();
		if (p[0].revents & POLLIN)
			boot_inotify(&b);
		if (p[2].revents & POLLIN) {
			if (waitpid(pid, &status, 0) < 0)
				die_errno("waitpid %d", (int)pid);
			b.t_runc = now_ns();
			exited = 1;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				break;
		}
	}
	close(pidfd);
	printf("runc_us=%lld sock_us=%lld scope_us=%lld ready_us=%lld\n", us_since(t0, b.t_runc),
	       us_since(t0, b.t_sock), us_since(t0, b.t_scope), us_since(t0, b.t_ready));
	if (exited && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		die("boot: %s failed (status 0x%x; log %s)", argv[i + 1], status, b.log ? b.log : "none");
	if (b.t_ready < 0)
		die("boot: no READY=1 within %ld s (log %s)", b.timeout, b.log ? b.log : "none");
	if (!exited)
		die("boot: %s did not exit within %ld s", argv[i + 1], b.timeout);
	if (b.notify)
		unlink(b.notify);
	return 0;
}

/* ---- time ---- */

static int cmd_time(int argc, char **argv)
{
	struct rusage ru;
	long long t0;
	pid_t pid;
	int st;

	if (argc < 3 || strcmp(argv[1], "--") != 0)
		die("usage: benchtool time LOG -- CMD...");
	t0 = now_ns();
	pid = spawn_logged(argv + 2, argv[0]);
	/* CPU time is what the program itself costs; on this shared machine
	 * the wall time also holds the waits for a core. */
	while (wait4(pid, &st, 0, &ru) < 0) {
		if (errno != EINTR)
			die_errno("wait4 %s", argv[2]);
	}
	printf("%lld %lld\n", (now_ns() - t0) / 1000,
	       (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
		       ru.ru_stime.tv_usec);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("%s failed (status 0x%x; log %s)", argv[2], st, argv[0]);
	return 0;
}

/* ---- mounts ---- */

static void mkdir_p(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				die_errno("mkdir %s", path);
			*p = c;
			if (!c)
				return;
		}
	}
}

static int cmd_mounts(int argc, char **argv)
{
	char path[PATH_MAX];
	long pid, n;
	int fd;

	if (argc != 3)
		die("usage: benchtool mounts PID N DIR");
	pid = parse_num(argv[0], "mounts PID", 1, INT_MAX);
	n = parse_num(argv[1], "mounts N", 0, 100000);
	snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die_errno("open %s", path);
	/* setns to a mount namespace also moves our root and cwd to its root:
	 * DIR is a path in the container. */
	if (setns(fd, CLONE_NEWNS) < 0)
		die_errno("setns %s", path);
	close(fd);
	snprintf(path, sizeof(path), "%s", argv[2]);
	mkdir_p(path);
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/m%ld", argv[2], i);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			die_errno("mkdir %s (in the mount namespace of %ld)", path, pid);
		if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755") < 0)
			die_errno("mount tmpfs on %s (in the mount namespace of %ld)", path, pid);
	}
	return 0;
}

/* ---- running an init as PID 1 of a new PID namespace ---- */

struct cmdset {
	const char *label[MAX_INITS];
	char **argv[MAX_INITS];
	int n;
};

/* "LABEL INIT... ::: LABEL INIT..." into cmdset; each argv gets `tail`
 * (benchtool's own path and a sub-command) appended. */
static void parse_cmdset(int argc, char **argv, const char *const *tail, int ntail, struct cmdset *s)
{
	int i = 0;

	s->n = 0;
	while (i < argc) {
		int start = i + 1, end = start, k = 0;
		char **v;

		if (s->n == MAX_INITS)
			die("more than %d inits", MAX_INITS);
		while (end < argc && strcmp(argv[end], ":::") != 0)
			end++;
		if (end == start)
			die("init '%s' has no command", argv[i]);
		v = calloc((size_t)(end - start + ntail + 1), sizeof(*v));
		if (!v)
			die("out of memory");
		for (int j = start; j < end; j++)
			v[k++] = argv[j];
		for (int j = 0; j < ntail; j++)
			v[k++] = (char *)tail[j];
		s->label[s->n] = argv[i];
		s->argv[s->n++] = v;
		i = end + 1;
	}
	if (s->n == 0)
		die("no init given");
}

/* clone() like fork() but into new PID and mount namespaces: the child is
 * PID 1 there, with a /proc of its own namespace. Its stdout is out_fd. */
static pid_t spawn_pid1(char **argv, int out_fd)
{
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);

	if (pid < 0)
		die_errno("clone a new PID namespace for %s", argv[0]);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);

		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
			fprintf(stderr, "benchtool: a private /proc for %s: %s\n", argv[0], strerror(errno));
			_exit(127);
		}
		if (in < 0 || dup2(in, 0) < 0 || dup2(out_fd, 1) < 0) {
			fprintf(stderr, "benchtool: stdio for %s: %s\n", argv[0], strerror(errno));
			_exit(127);
		}
		execv(argv[0], argv);
		fprintf(stderr, "benchtool: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static const char *self_exe(void)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n < 0)
		die_errno("readlink /proc/self/exe");
	path[n] = '\0';
	return path;
}

/* Read what fd has until EOF or the deadline; 0 or -1 (timeout). */
static int read_all(int fd, char *buf, size_t len, long long deadline)
{
	size_t have = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long long left = (deadline - now_ns()) / 1000000;
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			die_errno("poll");
		n = read(fd, buf + have, len - have - 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		if (have == len - 1)
			break;
	}
	buf[have] = '\0';
	return 0;
}

static void wait_pid1(pid_t pid, const char *label)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			die_errno("waitpid %s", label);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("%s: the init ended with status 0x%x", label, st);
}

/* ---- reap ---- */

static int cmd_reap(int argc, char **argv)
{
	struct cmdset s;
	char nbuf[16];
	const char *tail[3];
	long rounds, n;

	if (argc < 4)
		die("usage: benchtool reap ROUNDS N LABEL INIT... [::: LABEL INIT...]...");
	rounds = parse_num(argv[0], "reap ROUNDS", 1, 100000);
	n = parse_num(argv[1], "reap N", 1, 30000);
	snprintf(nbuf, sizeof(nbuf), "%ld", n);
	tail[0] = self_exe();
	tail[1] = "orphans";
	tail[2] = nbuf;
	parse_cmdset(argc - 2, argv + 2, tail, 3, &s);
	for (long r = 0; r < rounds; r++) {
		for (int c = 0; c < s.n; c++) {
			char out[512];
			long long reap = -1, cpu = -1, zombies = -1, left = -1;
			int p[2];
			pid_t pid;

			if (pipe2(p, O_CLOEXEC) < 0)
				die_errno("pipe");
			pid = spawn_pid1(s.argv[c], p[1]);
			close(p[1]);
			if (read_all(p[0], out, sizeof(out), now_ns() + 120 * 1000000000LL) < 0) {
				kill(pid, SIGKILL);
				die("%s: no result within 120 s", s.label[c]);
			}
			close(p[0]);
			wait_pid1(pid, s.label[c]);
			if (sscanf(out, "reap_us=%lld init_cpu_us=%lld zombies=%lld left=%lld", &reap, &cpu, &zombies,
				   &left) != 4)
				die("%s: unexpected output '%s'", s.label[c], out);
			if (zombies != 0 || left != 0)
				die("%s: %lld zombies and %lld other processes left", s.label[c], zombies, left);
			printf("%s\t%lld\t%lld\n", s.label[c], reap, cpu);
			fflush(stdout);
		}
	}
	return 0;
}

/* Zombies and other processes (not PID 1, not us) in our /proc. */
static void count_procs(long long *zombies, long long *others)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();

	*zombies = *others = 0;
	if (!d)
		die_errno("opendir /proc");
	while ((de = readdir(d))) {
		char path[64], buf[512], *p;
		int fd, pid = atoi(de->d_name);
		ssize_t n;

		if (pid <= 1 || pid == self)
			continue;
		(*others)++;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		p = strrchr(buf, ')');
		*zombies += p && p[1] == ' ' && p[2] == 'Z';
	}
	closedir(d);
}

/* CPU time of PID 1 so far (ns): the first field of /proc/1/schedstat. */
static long long init_cpu_ns(void)
{
	long long ns = -1;
	FILE *f = fopen("/proc/1/schedstat", "re");

	if (!f || fscanf(f, "%lld", &ns) != 1)
		die_errno("read /proc/1/schedstat");
	fclose(f);
	return ns;
}

static int cmd_orphans(int argc, char **argv)
{
	int release[2], pids[2];
	long long t0, cpu0, z, o;
	pid_t *g;
	long n;

	if (argc != 1)
		die("usage: benchtool orphans N");
	n = parse_num(argv[0], "orphans N", 1, 30000);
	g = calloc((size_t)n, sizeof(*g));
	if (!g || pipe2(release, O_CLOEXEC) < 0 || pipe2(pids, O_CLOEXEC) < 0)
		die_errno("orphans: setup");
	/* Every child writes its grandchild's pid before exiting: room for all. */
	if (fcntl(pids[1], F_SETPIPE_SZ, (int)(n * sizeof(pid_t) + 4096)) < 0)
		die_errno("orphans: F_SETPIPE_SZ");
	for (long i = 0; i < n; i++) {
		pid_t c = fork();

		if (c < 0)
			die_errno("orphans: fork child %ld", i);
		if (c == 0) {
			pid_t gc = fork();
			char x;

			if (gc == 0) {
				/* The grandchild: wait for the release, then exit. */
				close(release[1]);
				while (read(release[0], &x, 1) < 0 && errno == EINTR)
					;
				_exit(0);
			}
			if (gc < 0 || write(pids[1], &gc, sizeof(gc)) != sizeof(gc))
				_exit(1);
			_exit(0);
		}
	}
	/* Reap our children: their children now belong to PID 1. */
	for (long i = 0; i < n; i++) {
		int st;

		if (wait(&st) < 0)
			die_errno("orphans: wait");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("orphans: a child could not fork its grandchild");
		if (read(pids[0], &g[i], sizeof(g[i])) != sizeof(g[i]))
			die_errno("orphans: read a grandchild's pid");
	}
	cpu0 = init_cpu_ns();
	t0 = now_ns();
	close(release[1]); /* every grandchild reads EOF and exits, at once */
	for (long i = 0; i < n; i++) {
		long long deadline = now_ns() + 60 * 1000000000LL;

		/* kill(pid, 0) works on a zombie and fails only once it is
		 * reaped (nothing forks in this namespace any more: no reuse). */
		while (kill(g[i], 0) == 0) {
			if (now_ns() > deadline)
				die("orphans: pid %d not reaped within 60 s", (int)g[i]);
			usleep(100);
		}
	}
	printf("reap_us=%lld init_cpu_us=%lld", (now_ns() - t0) / 1000, (init_cpu_ns() - cpu0) / 1000);
	count_procs(&z, &o);
	printf(" zombies=%lld left=%lld\n", z, o);
	free(g);
	return z || o;
}

/* ---- siglat ---- */

static void on_usr1(int sig)
{
	int64_t t = now_ns();

	(void)sig;
	if (write(STDOUT_FILENO, &t, sizeof(t)) < 0)
		_exit(1);
}

static int cmd_sigchild(void)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	int64_t zero = 0;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		die_errno("sigaction SIGUSR1");
	if (write(STDOUT_FILENO, &zero, sizeof(zero)) != sizeof(zero))
		die_errno("sigchild: write the ready mark");
	for (;;)
		pause();
}

static int64_t read_stamp(int fd, const char *label)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int64_t t;

	if (poll(&p, 1, 10000) <= 0)
		die("%s: no answer from the child within 10 s", label);
	if (read(fd, &t, sizeof(t)) != sizeof(t))
		die("%s: the child's pipe closed", label);
	return t;
}

static int cmd_siglat(int argc, char **argv)
{
	struct cmdset s;
	const char *tail[2];
	pid_t pid[MAX_INITS];
	int fd[MAX_INITS];
	long rounds;

	if (argc < 3)
		die("usage: benchtool siglat ROUNDS LABEL INIT... [::: LABEL INIT...]...");
	rounds = parse_num(argv[0], "siglat ROUNDS", 1, 1000000);
	tail[0] = self_exe();
	tail[1] = "sigchild";
	parse_cmdset(argc - 1, argv + 1, tail, 2, &s);
	for (int c = 0; c < s.n; c++) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0)
			die_errno("pipe");
		pid[c] = spawn_pid1(s.argv[c], p[1]);
		close(p[1]);
		fd[c] = p[0];
		read_stamp(fd[c], s.label[c]); /* the handler is in place */
	}
	for (long r = 0; r < rounds; r++) {
		for (int c = 0; c < s.n; c++) {
			long long t0 = now_ns();

			if (kill(pid[c], SIGUSR1) < 0)
				die_errno("kill %s (pid %d)", s.label[c], (int)pid[c]);
			printf("%s\t%.1f\n", s.label[c], (double)(read_stamp(fd[c], s.label[c]) - t0) / 1000.0);
		}
	}
	/* SIGKILL to PID 1 ends its whole namespace. */
	for (int c = 0; c < s.n; c++) {
		kill(pid[c], SIGKILL);
		waitpid(pid[c], NULL, 0);
		close(fd[c]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "boot") == 0)
		return cmd_boot(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "time") == 0)
		return cmd_time(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "mounts") == 0)
		return cmd_mounts(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "reap") == 0)
		return cmd_reap(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "orphans") == 0)
		return cmd_orphans(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "siglat") == 0)
		return cmd_siglat(argc - 2, argv + 2);
	if (argc == 2 && strcmp(argv[1], "sigchild") == 0)
		return cmd_sigchild();
	fprintf(stderr, "usage: benchtool boot|time|mounts|reap|siglat ... (see bench/benchtool.c)\n");
	return 2;
}
