/* prepare mode, the peer's own side: connect, get the fds, get the
 * persistent volume and lower layers ready in our namespace, run the
 * target steps in a forked child (src/peer/target.c), then READY or ABORT,
 * and --then wait (src/peer/wait.c) or exit. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stint/fdpass.h"
#include "stint/log.h"
#include "stint/mountapi.h"
#include "stint/notify.h"
#include "stint/ns.h"
#include "stint/peer.h"
#include "stint/peer_config.h"
#include "stint/peer_err.h"
#include "stint/peer_handoff.h"
#include "stint/peer_prepare.h"
#include "stint/target.h"
#include "stint/util.h"

static void job_close(struct job *j)
{
	pv_close(&j->pv);
	for (int i = 0; i < j->nlower; i++)
		close(j->lower_fd[i]);
	j->nlower = 0;
	if (j->notify_fd >= 0)
		close(j->notify_fd);
	j->notify_fd = -1;
	if (j->procfd >= 0)
		close(j->procfd);
	j->procfd = -1;
}

/* Everything that must be opened in the peer's own mount namespace. */
static int job_open(struct job *j, const struct handoff *h)
{
	const struct peer_config *c = j->cfg;
	int userxattr = 0;

	j->procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (j->procfd < 0)
		return fail_errno("open /proc");
	if (h->fd[STINT_FD_USER] >= 0) {
		int same = ns_is_current(j->procfd, h->fd[STINT_FD_USER], "user");

		if (same < 0)
			return -1;
		userxattr = !same; /* trusted.* xattrs are off limits in a user ns */
	}
	if (pv_prepare(c, userxattr, &j->pv) < 0 || chain_of(j->pv.base_path, &j->pv_chain) < 0)
		return -1;
	for (size_t i = 0; i < c->lower.n; i++) {
		if (i >= ARRAY_SIZE(j->lower_fd))
			return fail("lower: more than %zu layers", ARRAY_SIZE(j->lower_fd));
		j->lower_fd[i] = sys_open_tree(AT_FDCWD, c->lower.v[i], STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC);
		if (j->lower_fd[i] < 0)
			return fail_errno("clone the lower layer %s (open_tree)", c->lower.v[i]);
		j->nlower++;
	}
	if (c->notify) {
		j->notify_fd = sys_open_tree(AT_FDCWD, c->notify, STINT_OPEN_TREE_CLONE | STINT_OPEN_TREE_CLOEXEC);
		if (j->notify_fd < 0)
			return fail_errno("clone the notify socket %s (open_tree)", c->notify);
	}
	{
		char dir[4096];
		const char *slash = strrchr(c->socket, '/');

		snprintf(dir, sizeof(dir), "%.*s", slash && slash != c->socket ? (int)(slash - c->socket) : 1,
			 c->socket);
		j->have_sock_chain = chain_of(dir, &j->sock_chain) == 0;
	}
	return 0;
}

/* In the worker: run the target steps, then report "VERDICT REASON" and,
 * on success, an O_PATH fd of the new root. */
static void worker_main(struct job *j, int sock) __attribute__((noreturn));
static void worker_main(struct job *j, int sock)
{
	char msg[1100];
	int r = target_prepare(j), fd = -1;

	snprintf(msg, sizeof(msg), "%d %s", r, r == TARGET_FAILED ? fail_reason() : "");
	if (r != TARGET_FAILED)
		fd = open(r == TARGET_PIVOTED ? "/" : j->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	stint_send(sock, msg, strlen(msg) + 1, &fd, fd >= 0 ? 1 : 0);
	_exit(0);
}

/* In the peer: the worker's verdict (TARGET_FAILED if it said nothing). */
static int read_verdict(int sock, int *rootfd)
{
	char msg[1100] = "", *reason;
	size_t nfd;
	bool truncated;
	int rc;

	if (stint_recv_raw(sock, msg, sizeof(msg) - 1, rootfd, 1, &nfd, &truncated) <= 0)
		return TARGET_FAILED;
	rc = atoi(msg);
	reason = strchr(msg, ' ');
	if (rc == TARGET_FAILED)
		fail("%s", reason && reason[1] ? reason + 1 : "unknown failure");
	return rc;
}

/* Run target_prepare() in a child (setns needs a single-threaded process
 * whose namespaces we can throw away); its verdict, reason and an O_PATH
 * fd of the new root come back over a socketpair. */
static int run_target(struct job *j, int *rootfd)
{
	int sv[2], status, rc;
	pid_t pid;

	*rootfd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return fail_errno("socketpair"), TARGET_FAILED;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return fail_errno("fork"), TARGET_FAILED;
	}
	if (pid == 0) {
		close(sv[0]);
		worker_main(j, sv[1]);
	}
	close(sv[1]);
	rc = read_verdict(sv[0], rootfd);
	close(sv[0]);
	TEMP_FAILURE_RETRY(waitpid(pid, &status, 0));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = TARGET_FAILED;
		if (WIFSIGNALED(status))
			fail("the target worker died with signal %d", WTERMSIG(status));
	}
	return rc;
}

static void undo_in_child(struct job *j)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(target_undo(j) == 0 ? 0 : 1);
	if (pid > 0)
		TEMP_FAILURE_RETRY(waitpid(pid, NULL, 0));
}

static void set_state(struct peer_run *run, const char *state, int ready, const char *status)
{
	snprintf(run->st.state, sizeof(run->st.state), "%s", state);
	run->st.ready = ready;
	snprintf(run->st.status, sizeof(run->st.status), "%s", status ? status : "");
	state_write(run->state_path, &run->st);
}

int prepare_once(struct peer_run *run)
{
	const struct peer_config *c = run->cfg;
	struct handoff h;
	struct job j = { .cfg = c, .h = &h, .procfd = -1, .notify_fd = -1 };
	struct stat st;
	long t;
	int rc, result, rootfd = -1;

	fail_clear();
	/* Even an O_PATH fd pins the last overlay, and with it overlayfs'
	 * in-use lock on upper and work: a new overlay on them would fail
	 * with EBUSY. */
	if (run->rootfd >= 0)
		close(run->rootfd);
	run->rootfd = -1;
	rc = handoff_connect(&h, c->socket, c->wait_socket);
	/* Remember the socket even when nobody listens there (a dead init's
	 * leftover), so that the wait loop only retries for a new one. */
	if (stat(c->socket, &st) == 0) {
		run->sock_ino = st.st_ino;
		run->sock_ctime = st.st_ctim;
	}
	run->sock_gone = 0;
	if (rc == HANDOFF_NO_SOCKET)
		return PREPARE_NO_SOCKET;
	if (rc != HANDOFF_OK)
		return PREPARE_FAILED;
	j.root = c->root ? c->root : h.root;
	log_info("connected to the init (pid %u in its namespace); new root %s, mode %s", h.pid, j.root,
		 c->mode == PEER_MODE_PIVOT ? "pivot" : "chroot");
	set_state(run, "preparing", 0, NULL);
	if (job_open(&j, &h) < 0)
		result = TARGET_FAILED;
	else
		result = run_target(&j, &rootfd);
	if (result == TARGET_FAILED) {
		log_error("prepare failed: %s", fail_reason());
		handoff_abort(h.sock, fail_reason());
		set_state(run, "failed", 0, fail_reason());
		goto fail;
	}
	t = log_elapsed_ms();
	if (handoff_ready(h.sock, result == TARGET_PIVOTED ? STINT_READY_PIVOTED : STINT_READY_CHROOT,
			  result == TARGET_PIVOTED ? "" : j.root, c->timeout) < 0) {
		if (result == TARGET_READY)
			undo_in_child(&j);
		set_state(run, "failed", 0, "the init refused READY");
		goto fail;
	}
	log_info("step 6/7 switch: READY (%s) acknowledged by the init (%ld ms)",
		 result == TARGET_PIVOTED ? "pivoted" : j.root, log_elapsed_ms() - t);
	/* Without a notify socket or a ready-path, the switch is the best
	 * readiness there is. */
	set_state(run, c->notify || c->ready_path ? "booting" : "switched", !(c->notify || c->ready_path), NULL);
	run->rootfd = rootfd;
	job_close(&j);
	handoff_close(&h);
	return PREPARE_OK;
fail:
	if (rootfd >= 0)
		close(rootfd);
	job_close(&j);
	handoff_close(&h);
	return PREPARE_FAILED;
}
