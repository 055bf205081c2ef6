/* snprintf() and vsnprintf() of both programs, in place of the libc's.
 *
 * Why: every message of stint goes through them, and musl's versions are
 * its one vfprintf (10 KiB in the static init, most of it floating-point
 * formatting stint never uses) plus the FILE machinery behind it. These
 * ~1 KiB do what stint's messages need, the C way: flags - 0 + space #,
 * width and precision (digits or *), lengths hh h l ll z j t, conversions
 * d i u x X o c s p %. No floating point: a %f, %e, %g or %a (or anything
 * else unknown) ends the output with "<bad format>" instead of reading
 * arguments it cannot know; tests/unit/test_format.c checks that no source
 * file uses one, and compares the output with the C library's.
 *
 * Being the program's own definitions, they replace the libc's for every
 * caller linked into the program, in the static and the dev builds alike
 * (a libc's internal calls keep its own). */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

struct out {
	char *buf;
	size_t size, len; /* len counts what would be written, as C says */
};

static void put(struct out *o, const char *s, size_t n)
{
	for (; n; n--, s++, o->len++) {
		if (o->len + 1 < o->size)
			o->buf[o->len] = *s;
	}
}

static void pad(struct out *o, char c, int n)
{
	for (; n > 0; n--)
		put(o, &c, 1);
}

static const char flag_chars[] = "-0+ #";
enum { MINUS, ZERO, PLUS, SPACE, ALT };

struct spec {
	int width, prec; /* prec < 0: none */
	char flag[sizeof(flag_chars) - 1]; /* indexed by MINUS... */
};

/* One integer: sign or prefix, zeros for the precision or the 0 flag,
 * digits, padding on the side the - flag says. */
static void put_int(struct out *o, const struct spec *sp, uintmax_t v, int neg, unsigned base, int upper)
{
	const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char digits[3 * sizeof(v)], *d = digits + sizeof(digits);
	const char *prefix = neg ? "-" : sp->flag[PLUS] ? "+" : sp->flag[SPACE] ? " " : "";
	int n, zeros, fill;

	if (sp->flag[ALT] && v && base == 16)
		prefix = upper ? "0X" : "0x";
	for (; v; v /= base)
		*--d = hex[v % base];
	if (sp->flag[ALT] && base == 8 && (d == digits + sizeof(digits) || *d != '0'))
		*--d = '0';
	if (d == digits + sizeof(digits) && sp->prec != 0)
		*--d = '0';
	n = (int)(digits + sizeof(digits) - d);
	zeros = sp->prec > n ? sp->prec - n : 0;
	fill = sp->width - n - zeros - (int)strlen(prefix);
	if (sp->flag[ZERO] && !sp->flag[MINUS] && sp->prec < 0)
		zeros += fill > 0 ? fill : 0, fill = 0;
	if (!sp->flag[MINUS])
		pad(o, ' ', fill);
	put(o, prefix, strlen(prefix));
	pad(o, '0', zeros);
	put(o, d, (size_t)n);
	if (sp->flag[MINUS])
		pad(o, ' ', fill);
}

static void put_str(struct out *o, const struct spec *sp, const char *s, size_t n)
{
	if (sp->prec >= 0 && n > (size_t)sp->prec)
		n = (size_t)sp->prec;
	if (!sp->flag[MINUS])
		pad(o, ' ', sp->width - (int)n);
	put(o, s, n);
	if (sp->flag[MINUS])
		pad(o, ' ', sp->width - (int)n);
}

/* "123" or "*" at *f; advances *f. */
static int number(const char **f, va_list *ap)
{
	int v = 0;

	if (**f == '*')
		return (*f)++, va_arg(*ap, int);
	for (; **f >= '0' && **f <= '9'; (*f)++)
		v = v < INT_MAX / 10 ? v * 10 + (**f - '0') : INT_MAX;
	return v;
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap_in)
{
	struct out o = { buf, size, 0 };
	va_list ap;

	va_copy(ap, ap_in);
	for (const char *f = fmt; *f; f++) {
		struct spec sp = { .prec = -1 };
		int len = 0; /* 'H' hh, 'h', 'l', 'L' ll, 'z', 'j', 't' */
		const char *flag;
		uintmax_t v;
		intmax_t s;

		if (*f != '%') {
			put(&o, f, 1);
			continue;
		}
		for (f++; *f && (flag = strchr(flag_chars, *f)); f++)
			sp.flag[flag - flag_chars] = 1;
		if ((sp.width = number(&f, &ap)) < 0) /* a negative * width means - */
			sp.flag[MINUS] = 1, sp.width = -sp.width;
		if (*f == '.') {
			f++;
			if ((sp.prec = number(&f, &ap)) < 0) /* a negative * precision: none */
				sp.prec = -1;
		}
		for (; *f && strchr("hlzjt", *f); f++)
			len = len == *f && (*f == 'h' || *f == 'l') ? *f - 32 : *f;
		switch (*f) {
		case 'd':
		case 'i':
			s = len == 'H' ? (signed char)va_arg(ap, int) :
			    len == 'h' ? (short)va_arg(ap, int) :
			    len == 'l' ? va_arg(ap, long) :
			    len == 'L' ? va_arg(ap, long long) :
			    len == 'z' ? va_arg(ap, ssize_t) :
			    len == 'j' ? va_arg(ap, intmax_t) :
			    len == 't' ? va_arg(ap, ptrdiff_t) :
					 va_arg(ap, int);
			put_int(&o, &sp, s < 0 ? -(uintmax_t)s : (uintmax_t)s, s < 0, 10, 0);
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			v = len == 'H' ? (unsigned char)va_arg(ap, unsigned) :
			    len == 'h' ? (unsigned short)va_arg(ap, unsigned) :
			    len == 'l' ? va_arg(ap, unsigned long) :
			    len == 'L' ? va_arg(ap, unsigned long long) :
			    len == 'z' ? va_arg(ap, size_t) :
			    len == 'j' ? va_arg(ap, uintmax_t) :
			    len == 't' ? (uintmax_t)va_arg(ap, ptrdiff_t) :
					 va_arg(ap, unsigned);
			sp.flag[PLUS] = sp.flag[SPACE] = 0;
			put_int(&o, &sp, v, 0, *f == 'u' ? 10 : *f == 'o' ? 8 : 16, *f == 'X');
			break;
		case 'p':
			sp.flag[ALT] = 1;
			put_int(&o, &sp, (uintptr_t)va_arg(ap, void *), 0, 16, 0);
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);

			put_str(&o, &sp, &c, 1);
			break;
		}
		case 's': {
			const char *str = va_arg(ap, const char *);

			if (!str)
				str = "(null)";
			put_str(&o, &sp, str, sp.prec >= 0 ? strnlen(str, (size_t)sp.prec) : strlen(str));
			break;
		}
		case '%':
			put(&o, "%", 1);
			break;
		default:
			put(&o, "<bad format>", 12);
			goto end;
		}
	}
end:
	va_end(ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len > INT_MAX ? -1 : (int)o.len;
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int fd_printf(int fd, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	return (int)write(fd, line, (size_t)n);
}
