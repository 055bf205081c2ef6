/* The sandbox ("pause") image's only program, for tests/cri: it holds the
 * pod's namespaces and does nothing else until the runtime stops the
 * sandbox (SIGTERM or SIGINT, exit 0). A registry's pause image cannot be
 * pulled here, so the test builds this one (static, musl) FROM scratch. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void leave(int sig)
{
	(void)sig;
	_exit(0);
}

int main(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = leave;
	/* As PID 1 of its namespace a signal without a handler is ignored. */
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
		perror("pause: sigaction");
		return 1;
	}
	for (;;)
		pause();
}
