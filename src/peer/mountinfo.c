/* mountinfo parsing. Each line:
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 * fields 1-6, zero or more optional fields, "-", fstype, source, super options.
 * The kernel escapes space, tab, newline and backslash as \ooo octal. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mountinfo.h"
#include "stint/config.h"
#include "stint/util.h"

static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static char *dup_field(const char *s)
{
	char *d = strdup(s);

	if (d)
		unescape(d);
	return d;
}

static void entry_free(struct mount_entry *e)
{
	free(e->root);
	free(e->target);
	free(e->opts);
	free(e->optional);
	free(e->fstype);
	free(e->source);
	free(e->super_opts);
}

static int parse_line(char *line, struct mount_entry *e)
{
	char *f[6], *save = NULL, *tok, *sep;
	char optional[256] = "";
	unsigned long n[4];
	const char *end;
	int i;

	memset(e, 0, sizeof(*e));
	sep = strstr(line, " - ");
	if (!sep)
		return -1;
	*sep = '\0';
	for (i = 0, tok = strtok_r(line, " ", &save); tok && i < 6; tok = strtok_r(NULL, " ", &save))
		f[i++] = tok;
	if (i < 6)
		return -1;
	for (; tok; tok = strtok_r(NULL, " ", &save)) {
		if (optional[0])
			strncat(optional, " ", sizeof(optional) - strlen(optional) - 1);
		strncat(optional, tok, sizeof(optional) - strlen(optional) - 1);
	}
	/* "ID PARENT MAJOR:MINOR", all decimal (no sscanf: it brings the
	 * libc's whole scanf, floating point included, into the peer). */
	if (!(end = parse_decimal(f[0], INT_MAX, &n[0])) || *end || !(end = parse_decimal(f[1], INT_MAX, &n[1])) ||
	    *end || !(end = parse_decimal(f[2], UINT_MAX, &n[2])) || *end != ':' ||
	    !(end = parse_decimal(end + 1, UINT_MAX, &n[3])) || *end)
		return -1;
	e->id = (int)n[0];
	e->parent = (int)n[1];
	e->major = (unsigned)n[2];
	e->minor = (unsigned)n[3];
	e->root = dup_field(f[3]);
	e->target = dup_field(f[4]);
	e->opts = strdup(f[5]);
	e->optional = strdup(optional);
	save = NULL;
	tok = strtok_r(sep + 3, " ", &save);
	e->fstype = dup_field(tok ? tok : "");
	tok = strtok_r(NULL, " ", &save);
	e->source = dup_field(tok ? tok : "");
	tok = strtok_r(NULL, " ", &save);
	e->super_opts = dup_field(tok ? tok : "");
	if (!e->root || !e->target || !e->opts || !e->optional || !e->fstype || !e->source || !e->super_opts) {
		entry_free(e);
		return -1;
	}
	return 0;
}

/* Append a parsed entry; on failure the entry is freed. */
static int append(struct mountinfo *mi, struct mount_entry *e)
{
	struct mount_entry *grown = realloc(mi->m, (mi->n + 1) * sizeof(*grown));

	if (!grown) {
		entry_free(e);
		return -1;
	}
	mi->m = grown;
	mi->m[mi->n++] = *e;
	return 0;
}

int mountinfo_parse(const char *buf, size_t len, struct mountinfo *mi)
{
	cleanup_free char *line = NULL;
	size_t cap = 0;

	mi->m = NULL;
	mi->n = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;
		struct mount_entry e;

		/* parse_line() cuts the line in place: work on a copy. */
		if (n + 1 > cap) {
			char *bigger = realloc(line, n + 1);

			if (!bigger)
				goto nomem;
			line = bigger;
			cap = n + 1;
		}
		memcpy(line, buf + i, n);
		line[n] = '\0';
		i += n + 1;
		/* A line we cannot read could be a mount we must not miss (a
		 * private one the carry leaves out): refuse the whole text. */
		if (parse_line(line, &e) < 0) {
			mountinfo_free(mi);
			errno = EBADMSG;
			return -1;
		}
		if (append(mi, &e) < 0)
			goto nomem;
	}
	return 0;
nomem:
	mountinfo_free(mi);
	errno = ENOMEM;
	return -1;
}

/* Read all of fd (a /proc file: its size is not known in advance). */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 16384;
	char *buf = malloc(cap);

	*len = 0;
	while (buf) {
		ssize_t r;

		if (*len == cap) {
			char *bigger = realloc(buf, cap *= 2);

			if (!bigger)
				break;
			buf = bigger;
		}
		r = TEMP_FAILURE_RETRY(read(fd, buf + *len, cap - *len));
		if (r == 0)
			return buf;
		if (r < 0) {
			int saved = errno;

			free(buf);
			errno = saved;
			return NULL;
		}
		*len += (size_t)r;
	}
	free(buf);
	errno = ENOMEM;
	return NULL;
}

int mountinfo_read(int dirfd, const char *path, struct mountinfo *mi)
{
	cleanup_fd int fd = -1;
	cleanup_free char *buf = NULL;
	size_t len;

	mi->m = NULL;
	mi->n = 0;
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	buf = read_all(fd, &len);
	if (!buf)
		return -1;
	return mountinfo_parse(buf, len, mi);
}

void mountinfo_free(struct mountinfo *mi)
{
	for (size_t i = 0; i < mi->n; i++)
		entry_free(&mi->m[i]);
	free(mi->m);
	mi->m = NULL;
	mi->n = 0;
}

const struct mount_entry *mountinfo_find(const struct mountinfo *mi, const char *target)
{
	for (size_t i = mi->n; i > 0; i--) {
		if (strcmp(mi->m[i - 1].target, target) == 0)
			return &mi->m[i - 1];
	}
	return NULL;
}

int mount_opt_has(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = opts; p && *p;) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, opt, n) == 0)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}
