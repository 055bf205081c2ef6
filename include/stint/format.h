/* Formatted output without stdio, for both programs: src/format.c
 * replaces the libc's snprintf/vsnprintf (no floating point, a fraction
 * of musl's size) and adds this. */
#ifndef STINT_FORMAT_H
#define STINT_FORMAT_H

/* Format into a buffer of at most 4 KiB and write it to fd in one
 * write(2), so lines from several processes sharing fd do not interleave.
 * Longer output is cut. Returns the bytes written, or -1 (errno). */
int fd_printf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
