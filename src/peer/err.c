#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static char reason[1024];

int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return -1;
}

int fail_errno(const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	n = strlen(reason);
	/* Hints for errnos that mislead on their own. */
	snprintf(reason + n, sizeof(reason) - n, ": %s%s", strerror(saved),
		 saved == ENOSPC ? " (mount table full?)" :
		 saved == ENOSYS ? " (kernel too old for the new mount API, need Linux >= 5.12)" :
				   "");
	errno = saved;
	return -1;
}

const char *fail_reason(void)
{
	return reason[0] ? reason : "unknown failure";
}

void fail_clear(void)
{
	reason[0] = '\0';
}
