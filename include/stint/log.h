/* Diagnostics for both programs: one line per event on stderr, prefixed with
 * the program name and the milliseconds since it started, so that
 * `kubectl logs` shows how long each phase of the handoff took. Never
 * stdout: in a pod that is the workload's log stream. */
#ifndef STINT_LOG_H
#define STINT_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_ERROR = 0, /* always shown, even with --quiet */
	LOG_WARN = 1,
	LOG_INFO = 2, /* default: one line per phase */
	LOG_DEBUG = 3, /* --verbose */
};

void log_init(const char *prog);
void log_set_level(int level);
int log_get_level(void);
/* "error", "warn", "info", "debug" (and the init's old aliases "quiet" =
 * error, "verbose" = debug) -> LOG_*; -1 for anything else or NULL. The
 * one parser of STINT_LOG_LEVEL and the log-level key of both programs. */
int log_level_parse(const char *name);
long log_elapsed_ms(void);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Log an error and exit with `code`. die_errno appends ": strerror(errno)"
 * using the errno saved on entry. */
void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void die_errno(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/* Write a one-line reason into err (for parsers that report rather than
 * log) and return -1, so that `return errorf(err, len, ...)` reads well. */
int errorf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
