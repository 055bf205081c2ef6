/* Helpers shared by the libFuzzer harnesses in tests/fuzz/ (see
 * mk/fuzz.mk and tests/fuzz/README.md). Header-only: each harness is one
 * .c file linked with the project's own objects. */
#ifndef STINT_FUZZ_H
#define STINT_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* An invariant of the code under test: when it does not hold, say which
 * and abort, so libFuzzer keeps the input as a crash reproducer. */
#define FUZZ_CHECK(cond, ...)                                                                                          \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "fuzz: invariant failed: %s: ", #cond);                                        \
			fprintf(stderr, __VA_ARGS__);                                                                  \
			fputc('\n', stderr);                                                                           \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

/* A NUL-terminated string that fits in `size` bytes, as every fixed
 * buffer the code under test fills must be. */
static inline int fuzz_terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* Does s[0..n) hold a C0 control character or DEL? */
static inline int fuzz_has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return 1;
	}
	return 0;
}

/* For entry points that take a file name: the input written into a
 * memfd, named by its /proc/self/fd path (opening that path gives a new
 * open file description at offset 0). One memfd for the whole run. */
static inline const char *fuzz_as_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	size_t done = 0;

	if (fd < 0) {
		fd = memfd_create("stint-fuzz", MFD_CLOEXEC);
		if (fd < 0) {
			perror("fuzz: memfd_create");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0) {
		perror("fuzz: ftruncate the memfd");
		abort();
	}
	while (done < size) {
		ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);

		if (n <= 0) {
			perror("fuzz: write the memfd");
			abort();
		}
		done += (size_t)n;
	}
	return path;
}

#endif
