/* A buffered writer to an fd, for the peer's long outputs (manifests,
 * reports, `diff`, `export`): the peer links no stdio FILE (see
 * src/format.c). Errors stick: the first failed write is kept and every
 * later call does nothing, so a caller checks once, at obuf_flush(). */
#ifndef STINT_PEER_OBUF_H
#define STINT_PEER_OBUF_H

#include <stddef.h>

#include "blake2b.h"

struct obuf {
	int fd;
	int err; /* errno of the first failed write, or 0 */
	size_t n;
	unsigned long long total; /* bytes written through this buffer */
	struct blake2b *hash; /* if set, every byte is hashed as well */
	char buf[65536];
};

/* Write all of buf to fd (retrying short writes and EINTR). Returns 0,
 * or the errno of the failed write (EIO for a write of 0 bytes). */
int fd_write_all(int fd, const void *buf, size_t len);

void obuf_init(struct obuf *o, int fd);
void obuf_put(struct obuf *o, const void *p, size_t n);
void obuf_str(struct obuf *o, const char *s);
void obuf_printf(struct obuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write what is buffered. Returns 0, or -1 with errno = the first error. */
int obuf_flush(struct obuf *o);

/* Path bytes, escaped for a line format: every byte below 0x21, 0x7f and
 * the backslash as \ooo (octal), so a field never holds a blank or a
 * newline. */
void obuf_escaped(struct obuf *o, const char *s, size_t n);

/* A JSON string (with its quotes): control characters, '"' and '\\'
 * escaped; bytes that are not valid UTF-8 as \u00XX (their Latin-1
 * reading), so the output is always valid JSON. */
void obuf_json_str(struct obuf *o, const char *s, size_t n);

/* Text for a terminal: control characters (C0, DEL, C1) and bytes that are
 * not valid UTF-8 each as one '?', so a string from elsewhere (a guest's
 * command line) never moves the cursor or sends an escape sequence. */
void obuf_printable(struct obuf *o, const char *s, size_t n);

#endif
