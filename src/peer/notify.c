#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "stint/fdpass.h"
#include "stint/path.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "err.h"
#include "notify.h"

/* bind(2) takes a path, not a dirfd: bind the name relative to the
 * directory's fd, with the cwd moved there for the call only. */
static int bind_in(int fd, int dirfd, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_fd int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	mode_t old;
	int rc, saved;

	if (cwd < 0 || fchdir(dirfd) < 0)
		return -1;
	copy_str(sa.sun_path, sizeof(sa.sun_path), name);
	/* Born 0666: the guest's root may be any uid (a user-namespaced
	 * pod); no chmod afterwards, so no window and no path to race. */
	old = umask(0111);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	saved = errno;
	umask(old);
	if (fchdir(cwd) < 0 && rc == 0)
		return -1;
	errno = saved;
	return rc;
}

static int open_dir(struct notify *n, const char *path)
{
	if (path_split(path, n->dir, sizeof(n->dir), n->name, sizeof(n->name)) < 0)
		return fail_errno("notify socket %s", path);
	if (strlen(n->name) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return fail("notify socket %s: name too long for a unix socket", path);
	if (mkdir(n->dir, 0755) < 0 && errno != EEXIST)
		return fail_errno("create the notify socket's directory %s", n->dir);
	n->dirfd = open(n->dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (n->dirfd < 0)
		return fail_errno("open the notify socket's directory %s", n->dir);
	return 0;
}

int notify_open(struct notify *n, const char *path)
{
	int one = 1;

	n->fd = n->dirfd = -1;
	n->pidfds = false;
	if (open_dir(n, path) < 0)
		return -1;
	if (unlinkat(n->dirfd, n->name, 0) < 0 && errno != ENOENT)
		return fail_errno("remove what is in the way at %s", path);
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0)
		return fail_errno("socket for %s", path);
	if (bind_in(n->fd, n->dirfd, n->name) < 0)
		return fail_errno("bind the notify socket %s", path);
	/* The sender's pidfd tells the OS's init from its other processes. */
	n->pidfds = setsockopt(n->fd, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one)) == 0;
	/* systemd sends credentials; accepting them spares it an EPERM. */
	setsockopt(n->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	return 0;
}

void notify_close(struct notify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	if (n->dirfd >= 0)
		close(n->dirfd);
	n->fd = n->dirfd = -1;
}

static void apply_line(const char *line, size_t len, struct notify_msg *m)
{
	if (len == 7 && memcmp(line, "READY=1", 7) == 0) {
		m->ready = true;
	} else if (len == 10 && memcmp(line, "STOPPING=1", 10) == 0) {
		m->stopping = true;
	} else if (len >= 7 && memcmp(line, "STATUS=", 7) == 0) {
		size_t n = len - 7 < sizeof(m->status) - 1 ? len - 7 : sizeof(m->status) - 1;

		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)line[7 + i];

			m->status[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
		}
		m->status[n] = '\0';
		m->has_status = true;
	}
}

void notify_parse(const char *buf, size_t len, struct notify_msg *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;

		apply_line(buf + i, n, m);
		i += n + 1;
	}
}

int notify_recv(struct notify *n, struct notify_msg *m, int *sender, size_t *size)
{
	char buf[NOTIFY_MAX];
	struct stint_recv r = { .want_pidfd = true };
	ssize_t len = stint_recv_raw(n->fd, buf, sizeof(buf), &r);

	*sender = -1;
	*size = 0;
	if (len < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	*sender = r.pidfd;
	*size = (size_t)len;
	if ((size_t)len > sizeof(buf))
		return 2;
	notify_parse(buf, (size_t)len, m);
	return 1;
}
