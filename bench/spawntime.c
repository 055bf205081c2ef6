/* Timing harness for bench/run.sh: microsecond timings of whole process
 * lifetimes, without a shell's fork overhead in the numbers.
 *
 *   spawntime run N CMD [ARG]... [::: CMD [ARG]...]...
 *       spawn each CMD N times (stdout/stderr to /dev/null), timing each
 *       from spawn to reaped exit, the commands taking turns so that a
 *       noisy moment of the machine hits all of them alike; print one line
 *       "median_us min_us p90_us" per CMD (with SPAWNTIME_RAW=1 in the
 *       environment followed by every run's time, sorted).
 *   spawntime handoff N SOCK INIT... --- PEER...
 *       N times: start INIT (which serves SOCK), wait until SOCK listens,
 *       then time PEER from spawn to exit (connect, HELLO with the fds,
 *       READY, ACK) and INIT until it exits after the switch; print
 *       "peer_median_us peer_min_us total_median_us total_min_us".
 * Exits 1 if any run of CMD/INIT/PEER fails. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static pid_t spawn_quiet(char **argv)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "spawntime: spawn %s: %s\n", argv[0], strerror(rc));
		exit(1);
	}
	return pid;
}

static void wait_ok(pid_t pid, const char *what)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			perror("spawntime: waitpid");
			exit(1);
		}
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "spawntime: %s failed (status 0x%x)\n", what, st);
		exit(1);
	}
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static long long pct(long long *v, int n, int p)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_ll);
	return v[(n - 1) * p / 100];
}

static int run(int n, char **argv)
{
	char **cmds[64];
	long long *t[64];
	int ncmd = 0;

	cmds[ncmd++] = argv;
	for (char **a = argv; *a && ncmd < 64; a++) {
		if (strcmp(*a, ":::") == 0) {
			*a = NULL;
			cmds[ncmd++] = a + 1;
		}
	}
	for (int c = 0; c < ncmd; c++) {
		if (!cmds[c][0]) {
			fprintf(stderr, "spawntime: empty command\n");
			return 2;
		}
		t[c] = calloc((size_t)n, sizeof(**t));
	}
	for (int i = 0; i < n; i++) {
		for (int c = 0; c < ncmd; c++) {
			long long t0 = now_us();

			wait_ok(spawn_quiet(cmds[c]), cmds[c][0]);
			t[c][i] = now_us() - t0;
		}
	}
	for (int c = 0; c < ncmd; c++) {
		const char *raw = getenv("SPAWNTIME_RAW");

		printf("%lld %lld %lld", pct(t[c], n, 50), pct(t[c], n, 0), pct(t[c], n, 90));
		for (int i = 0; raw && strcmp(raw, "1") == 0 && i < n; i++)
			printf(" %lld", t[c][i]);
		printf("\n");
		free(t[c]);
	}
	return 0;
}

/* Does stint listen at path? stint binds a temporary name and renames it
 * into place after listen(), so a socket at path is one that listens (a
 * test connection instead would show in its log as a peer gone away). */
static int listening(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int handoff(int n, const char *sock, char **init, char **peer)
{
	long long *tp = calloc((size_t)n, sizeof(*tp)), *tt = calloc((size_t)n, sizeof(*tt));
	for (int i = 0; i < n; i++) {
		pid_t ipid, ppid;
		long long t0, deadline;

		unlink(sock);
		ipid = spawn_quiet(init);
		deadline = now_us() + 5000000;
		while (!listening(sock)) {
			if (now_us() > deadline) {
				fprintf(stderr, "spawntime: %s did not appear\n", sock);
				kill(ipid, SIGKILL); /* leave nothing running */
				waitpid(ipid, NULL, 0);
				exit(1);
			}
			usleep(50);
		}
		t0 = now_us();
		ppid = spawn_quiet(peer);
		wait_ok(ppid, peer[0]);
		tp[i] = now_us() - t0;
		wait_ok(ipid, init[0]);
		tt[i] = now_us() - t0;
	}
	printf("%lld %lld %lld %lld\n", pct(tp, n, 50), pct(tp, n, 0), pct(tt, n, 50), pct(tt, n, 0));
	free(tp);
	free(tt);
	return 0;
}

int main(int argc, char **argv)
{
	int n;

	if (argc >= 4 && strcmp(argv[1], "run") == 0 && (n = atoi(argv[2])) > 0)
		return run(n, argv + 3);
	if (argc >= 7 && strcmp(argv[1], "handoff") == 0 && (n = atoi(argv[2])) > 0) {
		char **init = argv + 4, **peer = NULL;

		for (char **a = init; *a; a++) {
			if (strcmp(*a, "---") == 0) {
				*a = NULL;
				peer = a + 1;
				break;
			}
		}
		if (peer && *peer && init[0])
			return handoff(n, argv[3], init, peer);
	}
	fprintf(stderr, "usage: spawntime run N CMD [ARG]... [::: CMD [ARG]...]...\n"
			"       spawntime handoff N SOCK INIT... --- PEER...\n");
	return 2;
}
