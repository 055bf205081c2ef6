#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stint/log.h"

static const char *log_prog = "stint";
static int log_level = LOG_INFO;
static struct timespec log_start;

void log_init(const char *prog)
{
	log_prog = prog;
	clock_gettime(CLOCK_MONOTONIC, &log_start);
}

void log_set_level(int level)
{
	log_level = level;
}

int log_level_parse(const char *name)
{
	static const char *const names[] = { "error", "warn", "info", "debug", "quiet", "verbose" };

	for (int i = 0; name && i < (int)(sizeof(names) / sizeof(names[0])); i++) {
		if (strcmp(name, names[i]) == 0)
			return i == 4 ? LOG_ERROR : i == 5 ? LOG_DEBUG : i;
	}
	return -1;
}

int log_get_level(void)
{
	return log_level;
}

long log_elapsed_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - log_start.tv_sec) * 1000L + (now.tv_nsec - log_start.tv_nsec) / 1000000L;
}

static const char *level_tag(int level)
{
	switch (level) {
	case LOG_ERROR:
		return "error: ";
	case LOG_WARN:
		return "warning: ";
	default:
		return "";
	}
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
	char line[2048];
	int saved = errno;
	int n;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "%s: [+%ld ms] %s", log_prog, log_elapsed_ms(), level_tag(level));
	if (n >= 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* One write per line so that lines from several processes sharing
	 * stderr do not interleave. */
	n = (int)strlen(line);
	if (n < (int)sizeof(line) - 1)
		line[n++] = '\n';
	else
		line[sizeof(line) - 2] = '\n', n = (int)sizeof(line) - 1;
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(code);
}

void die_errno(int code, const char *fmt, ...)
{
	char msg[1536];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s: %s", msg, strerror(saved));
	exit(code);
}

int errorf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}
