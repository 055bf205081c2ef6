/* hostile: what a hostile guest does to stint-peer, for tests/hostile/.
 * A static program run inside the OS container as its root with the
 * runtime's default capabilities (or on the host, for the listener and the
 * counter). Subcommands:
 *
 *   escape [-n DEPTH] -- CMD...   leave a chroot the classic way (mkdir,
 *        chroot into it, chdir("..") DEPTH times, chroot(".")) and exec CMD
 *        in the mount namespace's real root
 *   plant KIND PATH [ARG]         put a symlink (ARG = its target), fifo,
 *        dir, file, socket, chr or blk (ARG = MAJOR:MINOR) at PATH; what is
 *        there is renamed aside. Exit 1 (with the reason) if it cannot.
 *   fake-init -s SOCK -l LOG [-v FILE] VARIANT...   a fake init: serve
 *        SOCK and answer connection N with VARIANT N (the last one repeats;
 *        with -v, the first word of FILE at each connection), logging what
 *        the peer sends back to LOG. Variants are listed in variants[].
 *   flood [-n N] [-b BYTES] [-s SOCK] [-u STOPFILE] [-o OUT] TEXT   N
 *        datagrams of TEXT (padded to BYTES) to SOCK (default
 *        $NOTIFY_SOCKET), or fewer once STOPFILE exists; never blocked for
 *        long; the counts go to stdout or OUT
 *   remount-rw PATH...            in a user and mount namespace of our own
 *        (what any guest can make), try to make each PATH writable and to
 *        unmount it. Exit 1 if anything succeeded.
 *   count-renames DIR NAME READY  count files renamed onto (or written at)
 *        DIR/NAME until SIGTERM, then print the counts; READY is created
 *        once the watch is armed.
 *   tiocsti TEXT                  type TEXT into the terminal on fd 0
 *        (TIOCSTI), as a guest's shell profile would into the terminal of
 *        whoever entered the OS; print how much went in. Exit 1 if nothing.
 *   inq                           print the bytes waiting to be read on the
 *        terminal on fd 0 (what someone typed, or injected, unread).
 *
 * It links src/proto.c and src/fdpass.c (and src/log.c for their error
 * texts): the fake HELLOs are the real wire format, only their contents
 * lie. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stint/fdpass.h"
#include "stint/proto.h"
#include "stint/syscalls.h"
#include "stint/util.h"

#define REPLY_WAIT_MS 60000 /* how long a fake init waits for the peer's answer */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("hostile: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---- escape ---------------------------------------------------------- */

static int cmd_escape(int argc, char **argv)
{
	char dir[] = "/tmp/hostile-escape.XXXXXX";
	int depth = 64, opt;

	while ((opt = getopt(argc, argv, "+n:")) != -1) {
		if (opt != 'n')
			die("usage: escape [-n DEPTH] -- CMD...");
		depth = atoi(optarg);
	}
	if (optind >= argc)
		die("escape: no command");
	if (!mkdtemp(dir))
		die("escape: mkdtemp %s: %s", dir, strerror(errno));
	/* The cwd stays outside the new chroot, so ".." walks past it. */
	if (chdir("/") < 0 || chroot(dir) < 0)
		die("escape: chroot %s: %s (needs CAP_SYS_CHROOT)", dir, strerror(errno));
	rmdir(dir + 1); /* relative to the cwd, the old root */
	for (int i = 0; i < depth; i++)
		if (chdir("..") < 0)
			die("escape: chdir ..: %s", strerror(errno));
	if (chroot(".") < 0 || chdir("/") < 0)
		die("escape: chroot .: %s", strerror(errno));
	fprintf(stderr, "hostile: escaped the chroot; exec %s in the mount namespace's root\n", argv[optind]);
	execvp(argv[optind], argv + optind);
	die("escape: exec %s: %s", argv[optind], strerror(errno));
}

/* ---- plant ----------------------------------------------------------- */

static dev_t parse_dev(const char *s)
{
	unsigned maj, min;

	if (!s || sscanf(s, "%u:%u", &maj, &min) != 2)
		die("plant: device needs MAJOR:MINOR, not '%s'", s ? s : "");
	return makedev(maj, min);
}

/* A unix socket inode nobody listens on: connect() gets ECONNREFUSED. */
static int make_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_fd int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (s < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	return bind(s, (struct sockaddr *)&sa, sizeof(sa));
}

static int cmd_plant(int argc, char **argv)
{
	const char *kind, *path, *arg;
	char aside[4200];
	struct stat st;
	int rc = -1;

	if (argc < 3)
		die("usage: plant KIND PATH [ARG]");
	kind = argv[1], path = argv[2], arg = argc > 3 ? argv[3] : NULL;
	if (lstat(path, &st) == 0) {
		snprintf(aside, sizeof(aside), "%s.hostile-old.%ld", path, (long)getpid());
		if (rename(path, aside) < 0) {
			fprintf(stderr, "hostile: plant %s at %s: cannot move what is there: %s\n", kind, path,
				strerror(errno));
			return 1;
		}
	}
	if (strcmp(kind, "symlink") == 0 && arg)
		rc = symlink(arg, path);
	else if (strcmp(kind, "fifo") == 0)
		rc = mkfifo(path, 0666);
	else if (strcmp(kind, "dir") == 0)
		rc = mkdir(path, 0777);
	else if (strcmp(kind, "file") == 0)
		rc = mknod(path, S_IFREG | 0666, 0);
	else if (strcmp(kind, "socket") == 0)
		rc = make_socket(path);
	else if (strcmp(kind, "chr") == 0)
		rc = mknod(path, S_IFCHR | 0666, parse_dev(arg));
	else if (strcmp(kind, "blk") == 0)
		rc = mknod(path, S_IFBLK | 0666, parse_dev(arg));
	else
		die("plant: unknown kind '%s' (symlink TARGET, fifo, dir, file, socket, chr M:N, blk M:N)", kind);
	if (rc < 0) {
		fprintf(stderr, "hostile: plant %s at %s: %s\n", kind, path, strerror(errno));
		return 1;
	}
	printf("planted %s at %s%s%s\n", kind, path, arg ? " -> " : "", arg ? arg : "");
	return 0;
}

/* ---- fake-init ------------------------------------------------------- */

struct hello {
	uint32_t tag[STINT_MAX_FDS];
	int fd[STINT_MAX_FDS];
	size_t n;
};

static void own_namespaces(void);
static int netns_of_own(void);

/* What the fake init sends. Each lie is one of the checks the peer must
 * make; `real` is a perfect copy of a HELLO of the guest's namespaces. */
enum how { REAL, OWN, SILENT, GARBAGE };
static const struct variant {
	const char *name;
	enum how how;
	bool pidfd_of_1; /* a pidfd of PID 1; else of this process ... */
	bool pidfd_elsewhere; /* ... or of a child in namespaces of its own */
	uint32_t drop; /* a tag left out */
	uint32_t swap; /* a tag whose fd is replaced by `with` */
	const char *with; /* "file", "netns", "eventfd", "pidfd", "socket" */
} variants[] = {
	{ "real", REAL, .pidfd_of_1 = true },
	{ "real-self", REAL, .pidfd_of_1 = false },
	{ "pidfd-elsewhere", REAL, .pidfd_elsewhere = true },
	{ "own", OWN, .pidfd_of_1 = false },
	{ "own-pid1", OWN, .pidfd_of_1 = true },
	{ "own-nouser", OWN, .drop = STINT_FD_USER },
	{ "file-as-mnt", REAL, .pidfd_of_1 = true, .swap = STINT_FD_MNT, .with = "file" },
	{ "netns-as-mnt", REAL, .pidfd_of_1 = true, .swap = STINT_FD_MNT, .with = "netns" },
	{ "own-net", REAL, .pidfd_of_1 = true, .swap = STINT_FD_NET, .with = "ownnet" },
	{ "eventfd-as-pidfd", REAL, .pidfd_of_1 = true, .swap = STINT_FD_PIDFD, .with = "eventfd" },
	{ "pidfd-as-user", REAL, .pidfd_of_1 = true, .swap = STINT_FD_USER, .with = "pidfd" },
	{ "socket-as-pid", REAL, .pidfd_of_1 = true, .swap = STINT_FD_PID, .with = "socket" },
	{ "no-pidfd", REAL, .pidfd_of_1 = true, .drop = STINT_FD_PIDFD },
	{ "garbage", GARBAGE, .pidfd_of_1 = false },
	{ "silent", SILENT, .pidfd_of_1 = false },
	/* PID 1 itself: a HELLO of the real thing, then silence after READY. */
	{ "noack", REAL, .pidfd_of_1 = true },
};

static int logfd = 2;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line on an O_APPEND fd: lines of several children
	 * never mix. */
	if (write(logfd, line, (size_t)n) < 0)
		return;
}

static const struct variant *variant_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(variants); i++)
		if (strcmp(variants[i].name, name) == 0)
			return &variants[i];
	return NULL;
}

static void hello_add(struct hello *h, uint32_t tag, int fd)
{
	if (fd < 0)
		die("fake-init: fd for tag %u: %s", tag, strerror(errno));
	h->tag[h->n] = tag;
	h->fd[h->n++] = fd;
}

static int substitute(const char *with)
{
	if (strcmp(with, "file") == 0)
		return open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	if (strcmp(with, "netns") == 0)
		return open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (strcmp(with, "ownnet") == 0)
		return netns_of_own();
	if (strcmp(with, "eventfd") == 0)
		return eventfd(0, EFD_CLOEXEC);
	if (strcmp(with, "pidfd") == 0)
		return sys_pidfd_open(1, 0);
	if (strcmp(with, "socket") == 0)
		return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	die("fake-init: nothing to substitute called '%s'", with);
}

/* A child that moved into a user and mount namespace of its own, and into
 * the namespaces of `more` too (they are then owned by that user ns); it
 * lives as long as we do. Returns once it has moved. */
static pid_t child_elsewhere(int more)
{
	int ready[2];
	char c;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0)
		die("pipe2: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		own_namespaces();
		if (more && unshare(more) < 0)
			die("unshare(%#x): %s", more, strerror(errno));
		if (write(ready[1], "x", 1) != 1)
			die("write: %s", strerror(errno));
		for (;;)
			pause();
	}
	if (pid < 0)
		die("fork: %s", strerror(errno));
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		die("the child did not move into its namespaces");
	close(ready[0]);
	return pid;
}

/* A pidfd of a process, but not one in the namespaces the HELLO names. */
static int pidfd_of_elsewhere(void)
{
	return sys_pidfd_open(child_elsewhere(0), 0);
}

/* A network namespace the guest made (owned by a user ns of its own). */
static int netns_of_own(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)child_elsewhere(CLONE_NEWNET));
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* The fds this process would hand over, with the variant's lies. */
static void hello_build(const struct variant *v, struct hello *h)
{
	char path[64];

	h->n = 0;
	for (uint32_t tag = STINT_FD_MNT; tag <= STINT_FD_NS_LAST; tag++) {
		int fd;

		if (tag == v->drop)
			continue;
		if (tag == v->swap) {
			hello_add(h, tag, substitute(v->with));
			continue;
		}
		snprintf(path, sizeof(path), "/proc/self/ns/%s", stint_fd_tag_name(tag));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;
		hello_add(h, tag, fd);
	}
	if (v->drop != STINT_FD_PIDFD)
		hello_add(h, STINT_FD_PIDFD,
			  v->swap == STINT_FD_PIDFD ? substitute(v->with) :
			  v->pidfd_elsewhere	    ? pidfd_of_elsewhere() :
						      sys_pidfd_open(v->pidfd_of_1 ? 1 : getpid(), 0));
	hello_add(h, STINT_FD_ROOT, open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
	hello_add(h, STINT_FD_READY, eventfd(0, EFD_CLOEXEC));
}

static void write_file(const char *path, const char *text)
{
	cleanup_fd int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die("write %s: %s", path, strerror(errno));
}

/* A user namespace of our own (root in it = our uid outside) and a mount
 * namespace it owns: what `unshare -Urm` gives any guest process. */
static void own_namespaces(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char map[64];

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		die("unshare(CLONE_NEWUSER|CLONE_NEWNS): %s", strerror(errno));
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	write_file("/proc/self/gid_map", map);
}

/* The mount ids of our mount namespace as "\nID\nID\n...", and their count. */
static size_t mount_ids(char *out, size_t cap)
{
	char line[4096];
	size_t n = 1, count = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	snprintf(out, cap, "\n");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		int id;

		if (sscanf(line, "%d", &id) == 1 && n + 16 < cap)
			n += (size_t)snprintf(out + n, cap - n, "%d\n", id);
		count++;
	}
	fclose(f);
	return count;
}

/* The mounts that appeared in our namespace since `before`; each is tried
 * read-write, as the guest would (a lower layer attached here could be). */
static int new_mounts(const char *before)
{
	char line[4096], key[24], target[4096];
	int found = 0, id;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %*d %*s %*s %4095s", &id, target) != 2)
			continue;
		snprintf(key, sizeof(key), "\n%d\n", id);
		if (strstr(before, key))
			continue;
		line[strcspn(line, "\n")] = '\0';
		logf_("  NEW MOUNT in a namespace the guest owns: %s", line);
		if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND, NULL) == 0)
			logf_("  REMOUNTED READ-WRITE by the guest: %s", target);
		found++;
	}
	fclose(f);
	return found;
}

/* Log every message the peer sends until it hangs up (or the wait ends);
 * never answer: an init that goes quiet. */
static void read_replies(int conn, const char *who)
{
	for (;;) {
		struct pollfd p = { conn, POLLIN, 0 };
		struct stint_msg msg;
		char err[256];
		int rc;

		if (poll(&p, 1, REPLY_WAIT_MS) <= 0) {
			logf_("%s: no answer from the peer within %d ms", who, REPLY_WAIT_MS);
			return;
		}
		rc = stint_recv_msg(conn, &msg, NULL, NULL, 0, err, sizeof(err));
		if (rc == STINT_RECV_EOF) {
			logf_("%s: EOF", who);
			return;
		}
		if (rc == STINT_RECV_ERR) {
			logf_("%s: read error: %s", who, strerror(errno));
			return;
		}
		if (rc == STINT_RECV_BAD)
			logf_("%s: BAD message: %s", who, err);
		else if (msg.type == STINT_MSG_ABORT)
			logf_("%s: ABORT: %s", who, msg.text);
		else if (msg.type == STINT_MSG_READY)
			logf_("%s: READY mode=%u path='%s' (not answered)", who, msg.ready.mode, msg.ready.path);
		else
			logf_("%s: message type %u", who, msg.type);
	}
}

static void serve_one(int conn, int n, const struct variant *v) __attribute__((noreturn));
static void serve_one(int conn, int n, const struct variant *v)
{
	char who[96], before[65536];
	uint8_t buf[STINT_MSG_MAX];
	struct hello h;
	size_t mounts = 0;
	long len;

	snprintf(who, sizeof(who), "conn %d %s", n, v->name);
	if (v->how == SILENT) {
		logf_("%s: connected, sending nothing", who);
		read_replies(conn, who);
		_exit(0);
	}
	if (v->how == GARBAGE) {
		static const char junk[] = "NOT A HELLO, just junk bytes";

		send(conn, junk, sizeof(junk), MSG_NOSIGNAL);
		logf_("%s: sent %zu bytes of junk", who, sizeof(junk));
		read_replies(conn, who);
		_exit(0);
	}
	if (v->how == OWN) {
		own_namespaces();
		mounts = mount_ids(before, sizeof(before));
	}
	hello_build(v, &h);
	len = stint_encode_hello(buf, sizeof(buf), v->pidfd_of_1 ? 1 : (uint32_t)getpid(), h.tag, (uint32_t)h.n,
				 "/.stint/root");
	if (len < 0 || stint_send(conn, buf, (size_t)len, h.fd, h.n) < 0) {
		logf_("%s: sending HELLO: %s", who, strerror(errno));
		_exit(1);
	}
	logf_("%s: sent HELLO with %zu fds", who, h.n);
	read_replies(conn, who);
	if (v->how == OWN)
		logf_("%s: my mounts: before=%zu new=%d", who, mounts, new_mounts(before));
	_exit(0);
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int s;

	if (strlen(path) >= sizeof(sa.sun_path))
		die("fake-init: %s: path too long", path);
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0 && (S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path)) < 0)
		die("fake-init: clear %s: %s", path, strerror(errno));
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 16) < 0)
		die("fake-init: listen on %s: %s", path, strerror(errno));
	return s;
}

/* The variant for this connection: from the file (read now), else the
 * list (the last one repeats). */
static const struct variant *pick(int dirfd, const char *file, char **list, int nlist, int n)
{
	const char *name = list[n - 1 < nlist ? n - 1 : nlist - 1];
	char buf[64] = "";

	if (file) {
		cleanup_fd int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
		ssize_t r = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

		buf[r > 0 ? r : 0] = '\0';
		buf[strcspn(buf, " \n")] = '\0';
		if (buf[0])
			name = buf;
	}
	return variant_by_name(name);
}

static int cmd_fake_init(int argc, char **argv)
{
	const char *sock = NULL, *log = NULL, *vfile = NULL;
	char vdir[4096] = ".", *slash;
	int opt, s, n = 0;
	cleanup_fd int dirfd = -1;

	while ((opt = getopt(argc, argv, "+s:l:v:")) != -1) {
		if (opt == 's')
			sock = optarg;
		else if (opt == 'l')
			log = optarg;
		else if (opt == 'v')
			vfile = optarg;
		else
			die("usage: fake-init -s SOCK -l LOG [-v FILE] VARIANT...");
	}
	if (!sock || !log || optind >= argc)
		die("usage: fake-init -s SOCK -l LOG [-v FILE] VARIANT...");
	for (int i = optind; i < argc; i++)
		if (!variant_by_name(argv[i]))
			die("fake-init: unknown variant '%s'", argv[i]);
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		die("fake-init: open %s: %s", log, strerror(errno));
	/* The variant file's directory is opened now: after a pivot by the
	 * peer, its path may name something else. */
	if (vfile) {
		snprintf(vdir, sizeof(vdir), "%s", vfile);
		slash = strrchr(vdir, '/');
		if (slash) {
			*slash = '\0';
			vfile = vfile + (slash - vdir) + 1;
		}
		dirfd = open(vdir[0] ? vdir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			die("fake-init: open %s: %s", vdir, strerror(errno));
	}
	signal(SIGPIPE, SIG_IGN);
	s = listen_at(sock);
	logf_("fake init pid %d listening on %s", (int)getpid(), sock);
	for (;;) {
		int conn = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		const struct variant *v;
		struct ucred cred;
		socklen_t len = sizeof(cred);

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (conn < 0) {
			if (errno != EINTR)
				logf_("accept: %s", strerror(errno));
			continue;
		}
		n++;
		if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
			cred.pid = -1, cred.uid = (uid_t)-1;
		v = pick(dirfd, vfile, argv + optind, argc - optind, n);
		logf_("conn %d: a peer connected (pid %d uid %d), answering '%s'", n, (int)cred.pid, (int)cred.uid,
		      v ? v->name : "?");
		if (v && fork() == 0)
			serve_one(conn, n, v);
		close(conn);
	}
}

/* ---- flood ----------------------------------------------------------- */

static int cmd_flood(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 2 };
	const char *sock = getenv("NOTIFY_SOCKET"), *stop = NULL, *out = NULL;
	long count = 1000, bytes = 0, sent = 0, failed = 0;
	int opt, last_err = 0;
	cleanup_free char *msg = NULL;
	cleanup_fd int s = -1;
	size_t len;

	while ((opt = getopt(argc, argv, "+n:b:s:u:o:")) != -1) {
		if (opt == 'n')
			count = atol(optarg);
		else if (opt == 'b')
			bytes = atol(optarg);
		else if (opt == 's')
			sock = optarg;
		else if (opt == 'u')
			stop = optarg;
		else if (opt == 'o')
			out = optarg;
		else
			die("usage: flood [-n N] [-b BYTES] [-s SOCK] [-u STOPFILE] [-o OUT] TEXT");
	}
	if (optind >= argc || !sock || strlen(sock) >= sizeof(sa.sun_path))
		die("usage: flood [-n N] [-b BYTES] [-s SOCK] TEXT (and a socket: -s or $NOTIFY_SOCKET)");
	len = strlen(argv[optind]);
	if ((size_t)bytes < len)
		bytes = (long)len;
	msg = malloc((size_t)bytes + 1);
	if (!msg)
		die("flood: out of memory");
	/* "\n" in TEXT is a newline, as in notifyinit. */
	len = 0;
	for (const char *p = argv[optind]; *p; p++) {
		if (p[0] == '\\' && p[1] == 'n')
			msg[len++] = '\n', p++;
		else
			msg[len++] = *p;
	}
	while ((long)len < bytes) {
		msg[len] = len + 1 == (size_t)bytes ? '\n' : 'x';
		len++;
	}
	strcpy(sa.sun_path, sock);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("flood: socket: %s", strerror(errno));
	/* A full receive queue blocks a sender: not for more than 2 s. */
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (long i = 0; i < count; i++) {
		if (stop && i % 256 == 0 && access(stop, F_OK) == 0)
			break;
		if (sendto(s, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len) {
			sent++;
		} else {
			failed++;
			last_err = errno;
			if (errno == ECONNREFUSED || errno == ENOENT)
				break;
		}
	}
	if (out && !freopen(out, "w", stdout))
		die("flood: %s: %s", out, strerror(errno));
	printf("flood: %ld datagrams of %zu bytes sent, %ld failed%s%s\n", sent, len, failed, failed ? ": " : "",
	       failed ? strerror(last_err) : "");
	return 0;
}

/* ---- remount-rw ------------------------------------------------------ */

static int cmd_remount_rw(int argc, char **argv)
{
	int won = 0;

	if (argc < 2)
		die("usage: remount-rw PATH...");
	own_namespaces();
	for (int i = 1; i < argc; i++) {
		if (mount(NULL, argv[i], NULL, MS_REMOUNT | MS_BIND, NULL) == 0) {
			printf("%s: REMOUNTED READ-WRITE\n", argv[i]);
			won++;
		} else {
			printf("%s: remount read-write refused: %s\n", argv[i], strerror(errno));
		}
		if (umount2(argv[i], MNT_DETACH) == 0) {
			printf("%s: UNMOUNTED (what it covered is exposed)\n", argv[i]);
			won++;
		} else {
			printf("%s: unmount refused: %s\n", argv[i], strerror(errno));
		}
	}
	return won ? 1 : 0;
}

/* ---- count-renames --------------------------------------------------- */

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int cmd_count_renames(int argc, char **argv)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct sigaction sa = { .sa_handler = on_term }; /* no SA_RESTART: read() returns */
	long renames = 0, writes = 0;
	cleanup_fd int ino = -1;

	if (argc != 4)
		die("usage: count-renames DIR NAME READY");
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	ino = inotify_init1(IN_CLOEXEC);
	if (ino < 0 || inotify_add_watch(ino, argv[1], IN_MOVED_TO | IN_MODIFY) < 0)
		die("count-renames: watch %s: %s", argv[1], strerror(errno));
	close(open(argv[3], O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	while (!stop) {
		ssize_t n = read(ino, buf, sizeof(buf));

		for (char *p = buf; n > 0 && p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->len && strcmp(ev->name, argv[2]) == 0) {
				if (ev->mask & IN_MOVED_TO)
					renames++;
				else
					writes++;
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	printf("renames=%ld writes=%ld\n", renames, writes);
	return 0;
}

/* ---- tiocsti, inq ------------------------------------------------------ */

static int cmd_tiocsti(int argc, char **argv)
{
	size_t n = 0;

	if (argc != 2)
		die("usage: tiocsti TEXT");
	for (const char *c = argv[1]; *c; c++, n++)
		if (ioctl(STDIN_FILENO, TIOCSTI, c) < 0)
			break;
	printf("tiocsti: %zu of %zu bytes typed%s%s\n", n, strlen(argv[1]), n < strlen(argv[1]) ? ": " : "",
	       n < strlen(argv[1]) ? strerror(errno) : "");
	return n ? 0 : 1;
}

static int cmd_inq(int argc, char **argv)
{
	int n = 0;

	(void)argv;
	if (argc != 1 || ioctl(STDIN_FILENO, FIONREAD, &n) < 0)
		die("usage: inq (with a terminal on fd 0): %s", strerror(errno));
	printf("inq=%d\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "escape", cmd_escape },	  { "plant", cmd_plant },
		{ "fake-init", cmd_fake_init },	  { "flood", cmd_flood },
		{ "remount-rw", cmd_remount_rw }, { "count-renames", cmd_count_renames },
		{ "tiocsti", cmd_tiocsti },	  { "inq", cmd_inq },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; argc > 1 && i < ARRAY_SIZE(cmds); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	die("usage: hostile escape|plant|fake-init|flood|remount-rw|count-renames|tiocsti|inq ARGS (see the source)");
}
