/* Unit tests of src/log.c: the line format `kubectl logs` shows, level
 * filtering, errno kept intact, long messages cut to one line, and the
 * die helpers' exit codes and errno text. stderr is redirected to a
 * temporary file for each check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stint/log.h"
#include "tap.h"

static char captured[8192];

/* Point fd 2 at a fresh temporary file; returns the saved stderr. */
static int capture_start(FILE **tmp)
{
	int saved = dup(STDERR_FILENO);

	*tmp = tmpfile();
	if (saved < 0 || !*tmp || dup2(fileno(*tmp), STDERR_FILENO) < 0) {
		perror("capture");
		exit(2);
	}
	return saved;
}

/* Restore stderr and return what was written (NUL-terminated). */
static const char *capture_end(FILE *tmp, int saved)
{
	size_t n;

	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(captured, 1, sizeof(captured) - 1, tmp);
	captured[n] = '\0';
	fclose(tmp);
	return captured;
}

/* "PROG: [+N ms] REST\n" with N a number: returns REST (without the
 * newline) or NULL when the line does not have that shape. */
static const char *after_prefix(const char *line, const char *prog)
{
	static char rest[8192];
	size_t pl = strlen(prog);
	const char *p = line, *nl;

	if (strncmp(p, prog, pl) != 0 || strncmp(p + pl, ": [+", 4) != 0)
		return NULL;
	p += pl + 4;
	if (*p < '0' || *p > '9')
		return NULL;
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncmp(p, " ms] ", 5) != 0)
		return NULL;
	p += 5;
	nl = strchr(p, '\n');
	if (!nl || nl[1] != '\0')
		return NULL;
	memcpy(rest, p, (size_t)(nl - p));
	rest[nl - p] = '\0';
	return rest;
}

static void test_format(void)
{
	FILE *tmp;
	int saved;
	const char *out, *rest;

	log_init("stint-test");
	log_set_level(LOG_INFO);
	saved = capture_start(&tmp);
	log_info("phase %d: %s", 3, "serving");
	out = capture_end(tmp, saved);
	rest = after_prefix(out, "stint-test");
	ok(rest != NULL, "an info line is 'prog: [+N ms] message' and a newline");
	if (!rest)
		diag("got: %s", out);
	is_str(rest, "phase 3: serving", "the message follows the prefix, no level tag for info");

	saved = capture_start(&tmp);
	log_warn("careful");
	rest = after_prefix(capture_end(tmp, saved), "stint-test");
	is_str(rest, "warning: careful", "warnings are tagged 'warning: '");

	saved = capture_start(&tmp);
	log_error("broken");
	rest = after_prefix(capture_end(tmp, saved), "stint-test");
	is_str(rest, "error: broken", "errors are tagged 'error: '");
}

static void test_levels(void)
{
	FILE *tmp;
	int saved;

	log_set_level(LOG_ERROR); /* --quiet */
	saved = capture_start(&tmp);
	log_info("hidden");
	log_warn("hidden");
	log_debug("hidden");
	log_error("shown");
	capture_end(tmp, saved);
	ok(strstr(captured, "hidden") == NULL && strstr(captured, "error: shown") != NULL,
	   "quiet: only errors are printed");

	log_set_level(LOG_INFO);
	saved = capture_start(&tmp);
	log_debug("dbg");
	log_info("inf");
	capture_end(tmp, saved);
	ok(strstr(captured, "dbg") == NULL && strstr(captured, "inf") != NULL, "default: info, not debug");

	log_set_level(LOG_DEBUG);
	is_int(log_get_level(), LOG_DEBUG, "log_get_level returns what was set");
	saved = capture_start(&tmp);
	log_debug("dbg");
	capture_end(tmp, saved);
	ok(strstr(captured, "dbg") != NULL, "verbose: debug lines printed");
	log_set_level(LOG_INFO);
}

static void test_errno_kept(void)
{
	FILE *tmp;
	int saved = capture_start(&tmp);

	errno = EXDEV;
	log_info("something");
	log_error("%s", strerror(ENOENT));
	is_int(errno, EXDEV, "logging does not change errno");
	capture_end(tmp, saved);
}

static void test_long_line(void)
{
	static char big[6000];
	FILE *tmp;
	int saved;
	size_t n;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	saved = capture_start(&tmp);
	log_info("%s", big);
	log_info("next");
	capture_end(tmp, saved);
	n = strcspn(captured, "\n");
	ok(captured[n] == '\n' && n < 2048, "a 6000-byte message is cut to one line of %zu bytes", n);
	ok(after_prefix(captured + n + 1, "stint-test") && strstr(captured + n + 1, "next"),
	   "the next message starts on its own line");
}

static void test_elapsed(void)
{
	long a, b;

	log_init("stint-test");
	a = log_elapsed_ms();
	usleep(30 * 1000);
	b = log_elapsed_ms();
	ok(a >= 0 && a < 20, "elapsed starts near 0 ms at log_init (%ld)", a);
	ok(b - a >= 25 && b - a < 2000, "elapsed grows with time (%ld ms after a 30 ms sleep)", b - a);
}

/* die/die_errno exit, so run them in a child and read its stderr. */
static int run_child(int which, char *buf, size_t len)
{
	int p[2], st;
	ssize_t n, total = 0;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		log_init("stint-test");
		if (which == 0)
			die(3, "handoff failed: %s", "timeout");
		errno = ENOENT;
		die_errno(126, "exec %s", "/sbin/init");
	}
	close(p[1]);
	while ((n = read(p[0], buf + total, len - 1 - (size_t)total)) > 0)
		total += n;
	buf[total] = '\0';
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_die(void)
{
	char buf[1024];
	int code;

	code = run_child(0, buf, sizeof(buf));
	is_int(code, 3, "die(3, ...) exits 3");
	is_str(after_prefix(buf, "stint-test"), "error: handoff failed: timeout", "die logs an error line");

	code = run_child(1, buf, sizeof(buf));
	is_int(code, 126, "die_errno(126, ...) exits 126");
	is_str(after_prefix(buf, "stint-test"), "error: exec /sbin/init: No such file or directory",
	       "die_errno appends strerror of the errno at the call");
}

int main(void)
{
	tap_init();
	test_format();
	test_levels();
	test_errno_kept();
	test_long_line();
	test_elapsed();
	test_die();
	return tap_done();
}
