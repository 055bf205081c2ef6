/* Image manifests (manifest.h): written from a walk of the image, read
 * back as a stream of entries. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "stint/config.h"
#include "stint/log.h"
#include "stint/util.h"
#include "dirfile.h"
#include "err.h"
#include "manifest.h"

#define MF_MAGIC "stint-manifest 1"

struct scan {
	struct blake2b digest;
	struct obuf *out;
	const char *const *skip;
	size_t n_skip;
	const struct walk_limits *lim;
	struct mf_stats *stats;
	char prev[PATH_MAX];
	size_t prevlen;
	unsigned char io[1 << 17];
};

char mf_type_letter(mode_t m)
{
	return S_ISREG(m)  ? 'f' :
	       S_ISDIR(m)  ? 'd' :
	       S_ISLNK(m)  ? 'l' :
	       S_ISCHR(m)  ? 'c' :
	       S_ISBLK(m)  ? 'b' :
	       S_ISFIFO(m) ? 'p' :
			     's';
}

const char *mf_type_name(char type)
{
	switch (type) {
	case 'f':
		return "file";
	case 'd':
		return "directory";
	case 'l':
		return "symlink";
	case 'c':
		return "char-device";
	case 'b':
		return "block-device";
	case 'p':
		return "fifo";
	default:
		return "socket";
	}
}

static int by_str(const void *key, const void *item)
{
	return strcmp(key, *(const char *const *)item);
}

/* The content hash of the regular file `e`: the inode the walk saw,
 * never what may have been swapped in (walk_open_regular()). */
int mf_hash_fd(int fd, unsigned char *io, size_t iolen, msec_t deadline, char *hex)
{
	unsigned char sum[MF_HASH_BYTES];
	unsigned long long done = 0;
	struct blake2b h;

	blake2b_init(&h, MF_HASH_BYTES);
	for (;;) {
		ssize_t n = read(fd, io, iolen);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		blake2b_update(&h, io, (size_t)n);
		done += (unsigned long long)n;
		/* The clock is read once per 64 MiB. */
		if ((done & ((1ULL << 26) - 1)) < (unsigned long long)n && deadline_passed(deadline)) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	blake2b_final(&h, sum);
	hex_encode(sum, sizeof(sum), hex);
	return 0;
}

static int hash_file(struct scan *s, const struct walk_entry *e, char *hex)
{
	cleanup_fd int fd = walk_open_regular(s->lim->procfd, e->dirfd, e->name, e->st);

	if (fd < 0 && errno == EINVAL)
		return fail("%s: %s changed during the walk", s->lim->what, e->path);
	if (fd < 0)
		return fail_errno("%s: open %s", s->lim->what, e->path);
	if (mf_hash_fd(fd, s->io, sizeof(s->io), s->lim->deadline, hex) == 0)
		return 0;
	return errno == ETIMEDOUT ?
		       fail("%s: reading the files did not finish in time (at %s)", s->lim->what, e->path) :
		       fail_errno("%s: read %s", s->lim->what, e->path);
}

static void digest_entry(struct scan *s, const struct walk_entry *e, char type)
{
	const struct stat *st = e->st;
	bool dir = type == 'd';
	bool mounted = s->skip && bsearch(e->path, s->skip, s->n_skip, sizeof(*s->skip), by_str);
	char rec[160];
	int n = snprintf(rec, sizeof(rec), "%c %o %lu %lu %llu %lld %u,%u", type, (unsigned)(st->st_mode & 07777),
			 (unsigned long)st->st_uid, (unsigned long)st->st_gid,
			 dir ? 0ULL : (unsigned long long)st->st_size,
			 dir || mounted ? 0LL : (long long)st->st_mtim.tv_sec, major(st->st_rdev), minor(st->st_rdev));

	blake2b_update(&s->digest, e->path, e->len + 1); /* with its NUL */
	blake2b_update(&s->digest, rec, (size_t)n + 1);
	if (e->link)
		blake2b_update(&s->digest, e->link, strlen(e->link));
	blake2b_update(&s->digest, "", 1);
}

static int write_entry(struct scan *s, const struct walk_entry *e, char type)
{
	const struct stat *st = e->st;
	size_t shared = 0;
	char hex[MF_HEX];

	while (shared < s->prevlen && shared < e->len && s->prev[shared] == e->path[shared])
		shared++;
	obuf_printf(s->out, "%zu ", shared);
	obuf_escaped(s->out, e->path + shared, e->len - shared);
	obuf_printf(s->out, " %c %o %lu %lu %llu %lld ", type, (unsigned)(st->st_mode & 07777),
		    (unsigned long)st->st_uid, (unsigned long)st->st_gid,
		    type == 'd' ? 0ULL : (unsigned long long)st->st_size, (long long)st->st_mtim.tv_sec);
	if (type == 'f') {
		if (hash_file(s, e, hex) < 0)
			return -1;
		obuf_str(s->out, hex);
	} else if (type == 'l') {
		obuf_escaped(s->out, e->link, strlen(e->link));
	} else if (type == 'c' || type == 'b') {
		obuf_printf(s->out, "%u,%u", major(st->st_rdev), minor(st->st_rdev));
	} else {
		obuf_str(s->out, "-");
	}
	obuf_str(s->out, "\n");
	memcpy(s->prev, e->path, e->len);
	s->prevlen = e->len;
	return 0;
}

static int scan_one(void *ctx, const struct walk_entry *e)
{
	struct scan *s = ctx;
	char type = mf_type_letter(e->st->st_mode);

	s->stats->entries++;
	if (type == 'f') {
		s->stats->files++;
		s->stats->bytes += (unsigned long long)e->st->st_size;
	}
	digest_entry(s, e, type);
	if (s->out && write_entry(s, e, type) < 0)
		return -1;
	return 0;
}

int manifest_scan(int rootfd, const struct walk_limits *lim, const char *const *skip_mtime, size_t n_skip,
		  struct obuf *out, struct mf_stats *stats)
{
	struct scan *s = calloc(1, sizeof(*s));
	unsigned char sum[MF_HASH_BYTES];
	long t0 = log_elapsed_ms();
	int rc;

	if (!s)
		return fail_errno("memory for a manifest");
	memset(stats, 0, sizeof(*stats));
	blake2b_init(&s->digest, MF_HASH_BYTES);
	s->out = out;
	s->skip = skip_mtime;
	s->n_skip = n_skip;
	s->lim = lim;
	s->stats = stats;
	if (out)
		obuf_str(out, MF_MAGIC "\n");
	rc = walk_tree(rootfd, lim, scan_one, s);
	if (rc == 0) {
		blake2b_final(&s->digest, sum);
		hex_encode(sum, sizeof(sum), stats->digest);
		if (out)
			obuf_printf(out, "end %lu %s\n", stats->entries, stats->digest);
	}
	stats->ms = log_elapsed_ms() - t0;
	free(s);
	return rc;
}

/* Reading back */

int mf_open(struct mf_reader *r, int dirfd, const char *name)
{
	char head[sizeof(MF_MAGIC)];

	memset(r, 0, offsetof(struct mf_reader, buf));
	copy_str(r->what, sizeof(r->what), name);
	r->fd = dirfile_open_read(dirfd, name);
	if (r->fd < 0)
		return fail_errno("open the manifest %s", name);
	if (read(r->fd, head, sizeof(head)) != (ssize_t)sizeof(head) ||
	    memcmp(head, MF_MAGIC "\n", sizeof(head)) != 0) {
		mf_close(r);
		errno = EINVAL;
		return fail("the manifest %s: not a stint-manifest 1 file", name);
	}
	r->line = 1;
	return 0;
}

void mf_close(struct mf_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* The next line (without its newline, NUL-terminated) or NULL at the end
 * of the file; *bad on a read error or an overlong line. */
static char *next_line(struct mf_reader *r, bool *bad)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);

		if (nl) {
			char *line = r->buf + r->start;

			*nl = '\0';
			r->start = (size_t)(nl - r->buf) + 1;
			r->line++;
			return line;
		}
		if (r->eof) {
			*bad = r->start != r->end; /* a cut last line */
			return NULL;
		}
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		if (r->end == sizeof(r->buf)) {
			*bad = true;
			return NULL;
		}
		{
			ssize_t n = read(r->fd, r->buf + r->end, sizeof(r->buf) - r->end);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				*bad = true;
				return NULL;
			}
			if (n == 0)
				r->eof = true;
			r->end += (size_t)n;
		}
	}
}

long mf_unescape(const char *src, size_t n, char *dst, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = src[i];

		if (c == '\\') {
			if (i + 3 >= n || src[i + 1] < '0' || src[i + 1] > '3' || src[i + 2] < '0' ||
			    src[i + 2] > '7' || src[i + 3] < '0' || src[i + 3] > '7')
				return -1;
			c = (char)(((src[i + 1] - '0') << 6) | ((src[i + 2] - '0') << 3) | (src[i + 3] - '0'));
			i += 3;
			if (c == '\0')
				return -1;
		}
		if (o + 1 >= cap)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return (long)o;
}

static char *field(char **p)
{
	char *s = *p, *sp;

	if (!s)
		return NULL;
	sp = strchr(s, ' ');
	if (sp) {
		*sp = '\0';
		*p = sp + 1;
	} else {
		*p = NULL;
	}
	return s;
}

static bool num(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long v;
	const char *end = s ? parse_decimal(s, (unsigned long)max, &v) : NULL;

	if (!end || *end)
		return false;
	*out = v;
	return true;
}

static bool octal(const char *s, unsigned *out)
{
	unsigned v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '7' || v > 07777)
			return false;
		v = v * 8 + (unsigned)(*s - '0');
	}
	*out = v;
	return v <= 07777;
}

static int bad_line(struct mf_reader *r, const char *why)
{
	errno = EINVAL;
	return fail("the manifest %s, line %lu: %s", r->what, r->line, why);
}

static int parse_trailer(struct mf_reader *r, char *rest)
{
	char *count = field(&rest), *digest = field(&rest);
	unsigned long long n;

	if (!num(count, ~0UL, &n) || n != r->entries)
		return bad_line(r, "the trailer's count does not match the entries");
	if (!digest || strlen(digest) != MF_HEX - 1 || rest)
		return bad_line(r, "a malformed trailer");
	copy_str(r->digest, sizeof(r->digest), digest);
	r->done = true;
	return 0;
}

int mf_next(struct mf_reader *r, struct mf_entry *e)
{
	bool bad = false;
	char *line, *p, *f[9];
	unsigned long long shared, uid, gid, mtime;
	long sl;

	if (r->done)
		return 0;
	line = next_line(r, &bad);
	if (!line)
		return bad ? bad_line(r, "cut short or unreadable") : bad_line(r, "no trailer: the file is cut short");
	if (strncmp(line, "end ", 4) == 0)
		return parse_trailer(r, line + 4) < 0 ? -1 : 0;
	p = line;
	for (int i = 0; i < 9; i++)
		f[i] = field(&p);
	if (!f[8] || p)
		return bad_line(r, "not 9 fields");
	if (!num(f[0], r->prevlen, &shared) || strlen(f[2]) != 1 || !strchr("fdlcbps", f[2][0]) ||
	    !octal(f[3], &e->mode) || !num(f[4], ~0UL, &uid) || !num(f[5], ~0UL, &gid) || !num(f[6], ~0UL, &e->size))
		return bad_line(r, "a malformed field");
	if (!num(f[7] + (f[7][0] == '-'), (unsigned long long)LLONG_MAX, &mtime))
		return bad_line(r, "a malformed mtime");
	e->mtime = f[7][0] == '-' ? -(long long)mtime : (long long)mtime;
	memcpy(e->path, r->prev, shared);
	sl = mf_unescape(f[1], strlen(f[1]), e->path + shared, sizeof(e->path) - shared);
	if (sl <= 0)
		return bad_line(r, "a malformed path");
	e->len = shared + (size_t)sl;
	if (e->path[0] != '/' || (r->entries && path_cmp(r->prev, r->prevlen, e->path, e->len) >= 0))
		return bad_line(r, "paths out of order");
	e->type = f[2][0];
	e->uid = (unsigned long)uid;
	e->gid = (unsigned long)gid;
	if (mf_unescape(f[8], strlen(f[8]), e->extra, sizeof(e->extra)) < 0)
		return bad_line(r, "a malformed last field");
	memcpy(r->prev, e->path, e->len + 1);
	r->prevlen = e->len;
	r->entries++;
	return 1;
}

const char *mf_changed(const struct mf_entry *a, const struct mf_entry *b)
{
	if (a->type != b->type)
		return "type";
	if (a->type == 'f' && (a->size != b->size || strcmp(a->extra, b->extra) != 0))
		return "content";
	if (a->type == 'l' && strcmp(a->extra, b->extra) != 0)
		return "target";
	if ((a->type == 'c' || a->type == 'b') && strcmp(a->extra, b->extra) != 0)
		return "device";
	if (a->type != 'l' && a->mode != b->mode)
		return "mode";
	if (a->uid != b->uid || a->gid != b->gid)
		return "owner";
	return NULL;
}
