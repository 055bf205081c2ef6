/* A tiny static probe used as COMMAND inside test roots that may have no
 * /proc and no libc: prints the fds it inherited, its pid, a marker file
 * and chosen environment variables. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[256];
	int fd;
	ssize_t n;

	printf("fds:");
	for (int i = 0; i < 4096; i++) {
		if (fcntl(i, F_GETFD) >= 0)
			printf(" %d", i);
	}
	printf("\npid: %d\n", getpid());
	fd = open("/marker", O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	printf("marker: %.*s\n", n > 0 ? (int)n - (buf[n - 1] == '\n') : 4, n > 0 ? buf : "none");
	for (int i = 1; i < argc; i++)
		printf("env %s=%s\n", argv[i], getenv(argv[i]) ? getenv(argv[i]) : "(unset)");
	return 0;
}
