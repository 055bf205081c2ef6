#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "obuf.h"

void obuf_init(struct obuf *o, int fd)
{
	o->fd = fd;
	o->err = 0;
	o->n = 0;
	o->total = 0;
	o->hash = NULL;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void drain(struct obuf *o)
{
	if (!o->err)
		o->err = fd_write_all(o->fd, o->buf, o->n);
	o->n = 0;
}

void obuf_put(struct obuf *o, const void *p, size_t n)
{
	const char *s = p;

	if (o->err)
		return;
	if (o->hash)
		blake2b_update(o->hash, p, n);
	o->total += n;
	while (n) {
		size_t room = sizeof(o->buf) - o->n, take = n < room ? n : room;

		memcpy(o->buf + o->n, s, take);
		o->n += take;
		s += take;
		n -= take;
		if (o->n == sizeof(o->buf))
			drain(o);
	}
}

void obuf_str(struct obuf *o, const char *s)
{
	obuf_put(o, s, strlen(s));
}

void obuf_printf(struct obuf *o, const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	obuf_put(o, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

int obuf_flush(struct obuf *o)
{
	drain(o);
	if (o->err) {
		errno = o->err;
		return -1;
	}
	return 0;
}

void obuf_escaped(struct obuf *o, const char *s, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c > 0x20 && c != 0x7f && c != '\\')
			continue;
		obuf_put(o, s + run, i - run);
		{
			char esc[4] = { '\\', (char)('0' + (c >> 6)), (char)('0' + ((c >> 3) & 7)),
					(char)('0' + (c & 7)) };

			obuf_put(o, esc, sizeof(esc));
		}
		run = i + 1;
	}
	obuf_put(o, s + run, n - run);
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned min;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, min = 0x80, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, min = 0x800, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, min = 0x10000, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void obuf_json_str(struct obuf *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	obuf_put(o, "\"", 1);
	for (size_t i = 0; i < n;) {
		size_t len = utf8_len(u + i, n - i);

		if (len > 1 || (len == 1 && u[i] >= 0x20 && u[i] != '"' && u[i] != '\\' && u[i] != 0x7f)) {
			obuf_put(o, s + i, len);
			i += len;
			continue;
		}
		if (u[i] == '"' || u[i] == '\\') {
			char esc[2] = { '\\', (char)u[i] };

			obuf_put(o, esc, 2);
		} else {
			obuf_printf(o, "\\u%04x", u[i]);
		}
		i++;
	}
	obuf_put(o, "\"", 1);
}

void obuf_printable(struct obuf *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t len = utf8_len(u + i, n - i);
		bool c1 = len == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0;

		if (len == 0 || c1 || (len == 1 && (u[i] < 0x20 || u[i] == 0x7f))) {
			obuf_put(o, "?", 1);
			i += len ? len : 1;
			continue;
		}
		obuf_put(o, s + i, len);
		i += len;
	}
}
