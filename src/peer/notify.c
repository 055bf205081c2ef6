/* The sd_notify protocol (sd_notify(3)): datagrams of newline-separated
 * VAR=VALUE assignments on a unix socket named by NOTIFY_SOCKET. The init
 * sets NOTIFY_SOCKET (stint --notify-socket) to where the peer bound this
 * socket inside the new root; systemd then reports READY=1 when boot is
 * done and STOPPING=1 on the way down. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "stint/fdpass.h"
#include "stint/log.h"
#include "stint/notify.h"
#include "stint/peer_config.h"
#include "stint/peer_err.h"
#include "stint/util.h"

int notify_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_fd int fd = -1;
	struct stat st;
	int one = 1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return fail("notify socket path %s is too long", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return fail("notify socket %s: a file that is not a socket is in the way", path);
		if (unlink(path) < 0)
			return fail_errno("remove the stale notify socket %s", path);
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fail_errno("socket for %s", path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail_errno("bind the notify socket %s", path);
	/* Any uid: in a user-namespaced pod the guest's root is not ours. The
	 * socket is reachable only from the pod. */
	if (chmod(path, 0666) < 0)
		return fail_errno("chmod the notify socket %s", path);
	/* systemd sends credentials; accept them so it never gets EPERM. */
	setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	return steal_fd(&fd);
}

static void apply(struct peer_state *st, const char *line, int *changed)
{
	if (strcmp(line, "READY=1") == 0 && !st->ready) {
		st->ready = 1;
		snprintf(st->state, sizeof(st->state), "ready");
		log_info("notify: READY=1, the OS reports it has booted");
		*changed = 1;
	} else if (strcmp(line, "STOPPING=1") == 0) {
		st->ready = 0;
		snprintf(st->state, sizeof(st->state), "stopping");
		log_info("notify: STOPPING=1");
		*changed = 1;
	} else if (strncmp(line, "STATUS=", 7) == 0 && strcmp(st->status, line + 7) != 0) {
		copy_str(st->status, sizeof(st->status), line + 7);
		log_debug("notify: STATUS=%s", st->status);
		*changed = 1;
	}
}

int notify_read(int fd, struct peer_state *st)
{
	char buf[4097];
	size_t nfds;
	bool truncated;
	int changed = 0;
	/* Room for no fd: any a sender attaches is closed at once. The
	 * socket is non-blocking, so an empty queue is EAGAIN. */
	ssize_t n = stint_recv_raw(fd, buf, sizeof(buf) - 1, NULL, 0, &nfds, &truncated);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	buf[n] = '\0';
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		apply(st, line, &changed);
	return changed;
}

void state_file_path(const struct peer_config *c, char *out, size_t len)
{
	const char *base = c->socket ? c->socket : c->notify, *slash;

	if (c->state_file) {
		snprintf(out, len, "%s", c->state_file);
		return;
	}
	/* Default: next to the handoff socket (or the notify socket), in
	 * the dir the pod shares, where a probe in either container sees it. */
	slash = base ? strrchr(base, '/') : NULL;
	if (slash)
		snprintf(out, len, "%.*s/stint-peer.state", (int)(slash - base), base);
	else
		snprintf(out, len, "stint-peer.state");
}

int state_write(const char *path, const struct peer_state *st)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		log_warn("write the state file %s: %s", tmp, strerror(errno));
		return -1;
	}
	fprintf(f, "state=%s\nready=%d\nstatus=%s\npid=%d\ntime=%ld\n", st->state, st->ready, st->status, (int)getpid(),
		(long)time(NULL));
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		log_warn("write the state file %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int state_read(const char *path, struct peer_state *st)
{
	char line[512];
	FILE *f = fopen(path, "re");

	memset(st, 0, sizeof(*st));
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "state=", 6) == 0)
			copy_str(st->state, sizeof(st->state), line + 6);
		else if (strncmp(line, "ready=", 6) == 0)
			st->ready = atoi(line + 6) == 1;
		else if (strncmp(line, "status=", 7) == 0)
			copy_str(st->status, sizeof(st->status), line + 7);
	}
	fclose(f);
	return 0;
}
