/* sys_openat2() (include/stint/syscalls.h) under RESOLVE_IN_ROOT while
 * something on the node renames in a loop: the kernel answers EAGAIN when a
 * rename races a ".." of the lookup (about 1 in 40 lookups here), which the
 * wrapper retries; the peer's mount point lookups failed so on a busy node. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stint/syscalls.h"
#include "tap.h"

#define LOOKUPS 100000

/* A child that renames x to y and back until killed. */
static pid_t renamer(int dir)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;) {
			renameat(dir, "x", dir, "y");
			renameat(dir, "y", dir, "x");
		}
	}
	return pid;
}

static int lookups(int dir, bool raw, int *eagain)
{
	struct stint_open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = STINT_RESOLVE_IN_ROOT };
	int failed = 0;

	*eagain = 0;
	for (int i = 0; i < LOOKUPS; i++) {
		int fd = raw ? (int)syscall(SYS_openat2, dir, "a/b/../up/b", &how, sizeof(how)) :
			       sys_openat2(dir, "a/b/../up/b", &how);

		if (fd >= 0) {
			close(fd);
			continue;
		}
		failed++;
		*eagain += errno == EAGAIN;
	}
	return failed;
}

int main(void)
{
	char tmp[] = "/tmp/stint-unit-openat2.XXXXXX";
	int dir, failed, eagain;
	pid_t pid;

	tap_init();
	if (!mkdtemp(tmp) || (dir = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 || mkdirat(dir, "a", 0755) < 0 ||
	    mkdirat(dir, "a/b", 0755) < 0 || mkdirat(dir, "x", 0755) < 0 || symlinkat("../a", dir, "a/up") < 0) {
		perror(tmp);
		return 1;
	}
	pid = renamer(dir);
	ok(pid > 0, "a renamer runs");
	failed = lookups(dir, true, &eagain);
	printf("# the bare syscall: %d of %d lookups failed, %d with EAGAIN\n", failed, LOOKUPS, eagain);
	ok(failed == eagain, "the bare syscall fails with EAGAIN only");
	failed = lookups(dir, false, &eagain);
	ok(failed == 0, "sys_openat2: every lookup succeeds (%d failed, %d with EAGAIN)", failed, eagain);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlinkat(dir, "a/up", 0);
	unlinkat(dir, "a/b", AT_REMOVEDIR);
	unlinkat(dir, "a", AT_REMOVEDIR);
	unlinkat(dir, "x", AT_REMOVEDIR);
	unlinkat(dir, "y", AT_REMOVEDIR);
	rmdir(tmp);
	return tap_done();
}
