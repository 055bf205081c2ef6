/* Small helpers shared by stint and stint-peer: cleanup attributes, retry
 * loops and array sizes. Nothing here allocates or logs. */
#ifndef STINT_UTIL_H
#define STINT_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TEMP_FAILURE_RETRY
/* musl lacks it; retry a call interrupted by a signal. */
#define TEMP_FAILURE_RETRY(expr)                                                                                       \
	({                                                                                                             \
		long _r;                                                                                               \
		do                                                                                                     \
			_r = (long)(expr);                                                                             \
		while (_r == -1L && errno == EINTR);                                                                   \
		_r;                                                                                                    \
	})
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Copy a string into a fixed buffer, cutting it if needed (snprintf with
 * "%s" trips -Wformat-truncation where cutting is intended). */
static inline void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static inline void cleanup_fdp(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void cleanup_freep(void *p)
{
	int saved = errno;
	free(*(void **)p);
	errno = saved;
}

#define cleanup_fd __attribute__((cleanup(cleanup_fdp)))
#define cleanup_free __attribute__((cleanup(cleanup_freep)))

/* Hand an fd out of a cleanup_fd variable. */
static inline int steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

#endif
