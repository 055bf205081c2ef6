/* `stint-peer export OUT.tar|-`: the upper layer as an OCI image layer
 * (image-spec layer.md): a tar, POSIX pax format, in the walk's order
 * (parents first), paths relative to the root. Overlay whiteouts (0:0
 * character devices) become empty `.wh.NAME` files, opaque directories
 * get a `.wh..wh..opq` entry; ownership, modes, mtimes, symlinks, hard
 * links (within the upper), devices, FIFOs and the xattrs a layer carries
 * (security.capability, system.posix_acl_*, user.* but overlayfs' own) are
 * kept; long names, big ids and xattrs go in pax headers. Sockets are left
 * out. The peer image has no tar: this writes the format itself.
 *
 * To put the layer on the old image (docs/peer.md):
 *   ctr=$(buildah from OLD); buildah add $ctr OUT.tar /; buildah commit $ctr NEW
 * buildah add unpacks the tar as plain files; the committed layer carries
 * the .wh. entries, which every runtime applies as whiteouts when it
 * unpacks the image. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "stint/log.h"
#include "peer_config.h"
#include "stint/util.h"
#include "err.h"
#include "image.h"
#include "obuf.h"
#include "walk.h"

#define BLOCK 512
#define XATTR_LIST_MAX_BYTES 65536
#define XATTR_VALUE_MAX_BYTES 65536

struct ustar {
	char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], type, linkname[100];
	char magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8], prefix[155], pad[12];
};

struct link {
	dev_t dev;
	ino_t ino;
	char *path; /* relative, as written */
};

struct tarw {
	struct obuf o;
	struct link *links; /* open addressing, cap a power of 2 */
	size_t nlinks, cap;
	unsigned long files, sockets, short_files;
	char *pax; /* the pending pax records */
	size_t paxlen, paxcap;
	int oom;
	unsigned char io[1 << 16];
};

static size_t ndigits(size_t v)
{
	size_t d = 1;

	for (; v >= 10; v /= 10)
		d++;
	return d;
}

static void pax_add(struct tarw *t, const char *key, const char *val, size_t vlen)
{
	size_t base = strlen(key) + vlen + 3, len = base + 1; /* ' ', '=', '\n' */

	/* The record's length counts its own digits. */
	while (len != base + ndigits(len))
		len = base + ndigits(len);
	if (t->paxlen + len + 1 > t->paxcap) {
		size_t cap = 2 * t->paxcap + len + 1024;
		char *more = realloc(t->pax, cap);

		if (!more) {
			t->oom = 1;
			return;
		}
		t->pax = more;
		t->paxcap = cap;
	}
	{
		char *p = t->pax + t->paxlen;
		int n = snprintf(p, t->paxcap - t->paxlen, "%zu %s=", len, key);

		memcpy(p + n, val, vlen);
		p[(size_t)n + vlen] = '\n';
		t->paxlen += len;
	}
}

static bool octal(char *field, size_t width, unsigned long long v)
{
	if (width - 1 < 22 && (v >> (3 * (width - 1))) != 0)
		return false;
	snprintf(field, width, "%0*llo", (int)(width - 1), v);
	return true;
}

/* n zero bytes (no table of zeros in the binary). */
static void put_zeros(struct tarw *t, unsigned long long n)
{
	char z[64];

	memset(z, 0, sizeof(z));
	for (; n; n -= n < sizeof(z) ? n : sizeof(z))
		obuf_put(&t->o, z, n < sizeof(z) ? (size_t)n : sizeof(z));
}

static void pad_block(struct tarw *t, unsigned long long size)
{
	if (size % BLOCK)
		put_zeros(t, BLOCK - size % BLOCK);
}

static void checksum(struct ustar *h)
{
	unsigned sum = 0;
	const unsigned char *p = (const unsigned char *)h;

	memset(h->chksum, ' ', sizeof(h->chksum));
	for (size_t i = 0; i < sizeof(*h); i++)
		sum += p[i];
	snprintf(h->chksum, sizeof(h->chksum), "%06o", sum);
	h->chksum[7] = ' ';
}

/* One entry: a pax header first when a field does not fit ustar or
 * t->pax holds xattrs, then the ustar header. */
static void tar_header(struct tarw *t, const char *name, size_t nlen, char type, const struct stat *st,
		       unsigned long long size, const char *link)
{
	struct ustar h;
	size_t llen = link ? strlen(link) : 0;
	long long mtime = (long long)st->st_mtim.tv_sec;
	char num[32];

	memset(&h, 0, sizeof(h));
	if (nlen >= sizeof(h.name))
		pax_add(t, "path", name, nlen);
	if (llen >= sizeof(h.linkname))
		pax_add(t, "linkpath", link, llen);
	if (!octal(h.uid, sizeof(h.uid), st->st_uid)) {
		snprintf(num, sizeof(num), "%lu", (unsigned long)st->st_uid);
		pax_add(t, "uid", num, strlen(num));
		octal(h.uid, sizeof(h.uid), 0);
	}
	if (!octal(h.gid, sizeof(h.gid), st->st_gid)) {
		snprintf(num, sizeof(num), "%lu", (unsigned long)st->st_gid);
		pax_add(t, "gid", num, strlen(num));
		octal(h.gid, sizeof(h.gid), 0);
	}
	if (!octal(h.size, sizeof(h.size), size)) {
		snprintf(num, sizeof(num), "%llu", size);
		pax_add(t, "size", num, strlen(num));
		octal(h.size, sizeof(h.size), 0);
	}
	if (mtime < 0 || !octal(h.mtime, sizeof(h.mtime), (unsigned long long)mtime)) {
		snprintf(num, sizeof(num), "%lld", mtime);
		pax_add(t, "mtime", num, strlen(num));
		octal(h.mtime, sizeof(h.mtime), 0);
	}
	if (t->paxlen) {
		struct ustar x;

		memset(&x, 0, sizeof(x));
		snprintf(x.name, sizeof(x.name), "PaxHeaders/%.*s", (int)(nlen < 80 ? nlen : 80), name);
		octal(x.mode, sizeof(x.mode), 0644);
		octal(x.uid, sizeof(x.uid), 0);
		octal(x.gid, sizeof(x.gid), 0);
		octal(x.size, sizeof(x.size), t->paxlen);
		octal(x.mtime, sizeof(x.mtime), 0);
		x.type = 'x';
		memcpy(x.magic, "ustar", 6);
		memcpy(x.version, "00", 2);
		checksum(&x);
		obuf_put(&t->o, &x, sizeof(x));
		obuf_put(&t->o, t->pax, t->paxlen);
		pad_block(t, t->paxlen);
		t->paxlen = 0;
	}
	memcpy(h.name, name, nlen < sizeof(h.name) ? nlen : sizeof(h.name));
	octal(h.mode, sizeof(h.mode), st->st_mode & 07777);
	h.type = type;
	if (link)
		memcpy(h.linkname, link, llen < sizeof(h.linkname) ? llen : sizeof(h.linkname));
	memcpy(h.magic, "ustar", 6);
	memcpy(h.version, "00", 2);
	if (type == '3' || type == '4') {
		octal(h.devmajor, sizeof(h.devmajor), major(st->st_rdev));
		octal(h.devminor, sizeof(h.devminor), minor(st->st_rdev));
	}
	checksum(&h);
	obuf_put(&t->o, &h, sizeof(h));
}

/* The xattrs a layer carries, as pax records: file capabilities, ACLs and
 * user.* but overlayfs' own (trusted.* and security.selinux belong to the
 * node, not to the image). */
static bool xattr_wanted(const char *n)
{
	if (strncmp(n, "user.", 5) == 0)
		return strncmp(n, "user.overlay.", 13) != 0;
	return strcmp(n, "security.capability") == 0 || strcmp(n, "system.posix_acl_access") == 0 ||
	       strcmp(n, "system.posix_acl_default") == 0;
}

static void add_xattrs(struct tarw *t, int fd, const char *path)
{
	char *list = malloc(XATTR_LIST_MAX_BYTES), *val = malloc(XATTR_VALUE_MAX_BYTES);
	ssize_t n = list && val ? flistxattr(fd, list, XATTR_LIST_MAX_BYTES) : -1;

	for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(list + off) + 1) {
		const char *name = list + off;
		char key[300];
		ssize_t v;

		if (!xattr_wanted(name))
			continue;
		v = fgetxattr(fd, name, val, XATTR_VALUE_MAX_BYTES);
		if (v < 0) {
			log_warn("export: %s: xattr %s: %s (left out)", path, name, strerror(errno));
			continue;
		}
		snprintf(key, sizeof(key), "SCHILY.xattr.%s", name);
		pax_add(t, key, val, (size_t)v);
	}
	free(list);
	free(val);
}

static size_t link_slot(const struct tarw *t, dev_t dev, ino_t ino)
{
	size_t h = ((size_t)ino * 0x9e3779b97f4a7c15ULL ^ (size_t)dev) & (t->cap - 1);

	while (t->links[h].path && !(t->links[h].dev == dev && t->links[h].ino == ino))
		h = (h + 1) & (t->cap - 1);
	return h;
}

/* The first path of a hard-linked file, or NULL (then this one is it). */
static const char *link_target(struct tarw *t, const struct stat *st, const char *rel)
{
	size_t h;

	if (2 * (t->nlinks + 1) > t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 1024;
		struct link *old = t->links, *grown = calloc(cap, sizeof(*grown));
		size_t oldcap = t->cap;

		if (!grown) {
			t->oom = 1;
			return NULL;
		}
		t->links = grown;
		t->cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].path)
				t->links[link_slot(t, old[i].dev, old[i].ino)] = old[i];
		free(old);
	}
	h = link_slot(t, st->st_dev, st->st_ino);
	if (t->links[h].path)
		return t->links[h].path;
	t->links[h] = (struct link){ st->st_dev, st->st_ino, strdup(rel) };
	if (!t->links[h].path)
		t->oom = 1;
	else
		t->nlinks++;
	return NULL;
}

/* A regular file's data, exactly `size` bytes as its header says. */
static int file_data(struct tarw *t, int fd, unsigned long long size, const char *path)
{
	unsigned long long done = 0;

	while (done < size) {
		size_t want = size - done < sizeof(t->io) ? (size_t)(size - done) : sizeof(t->io);
		ssize_t n = read(fd, t->io, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail_errno("export: read %s", path);
		if (n == 0)
			break;
		obuf_put(&t->o, t->io, (size_t)n);
		done += (unsigned long long)n;
	}
	if (done < size) {
		/* It shrank while being read (the OS runs): keep the header. */
		t->short_files++;
		log_warn("export: %s shrank while it was read: padded with zeros", path);
		put_zeros(t, size - done);
	}
	pad_block(t, size);
	return 0;
}

static int export_file(struct tarw *t, const struct walk_entry *e, const char *rel, size_t rlen)
{
	const char *first = e->st->st_nlink > 1 ? link_target(t, e->st, rel) : NULL;
	cleanup_fd int fd = -1;
	struct stat st;

	if (first) {
		tar_header(t, rel, rlen, '1', e->st, 0, first);
		return 0;
	}
	fd = walk_open_regular(-1, e->dirfd, e->name, e->st);
	if (fd < 0 && errno == ENOENT)
		return 0; /* gone since the walk saw it */
	if (fd < 0 && errno == EINVAL)
		return fail("export: %s changed while it was read (no longer that regular file)", e->path);
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail_errno("export: open %s", e->path);
	add_xattrs(t, fd, e->path);
	tar_header(t, rel, rlen, '0', &st, (unsigned long long)st.st_size, NULL);
	t->files++;
	return file_data(t, fd, (unsigned long long)st.st_size, e->path);
}

static int export_one(void *ctx, const struct walk_entry *e)
{
	struct tarw *t = ctx;
	const struct stat *st = e->st;
	char rel[PATH_MAX + 16];
	size_t rlen;
	int rc = 0;

	if (e->len == 1) {
		if (is_opaque_dir(e->fd))
			tar_header(t, ".wh..wh..opq", 12, '0', &(struct stat){ .st_mode = 0644 }, 0, NULL);
		return 0;
	}
	memcpy(rel, e->path + 1, e->len); /* with its NUL */
	rlen = e->len - 1;
	if (is_whiteout(st)) {
		/* dir/.wh.NAME */
		size_t dir = (size_t)((const char *)memrchr(e->path, '/', e->len) - e->path);

		rlen = (size_t)snprintf(rel, sizeof(rel), "%.*s.wh.%s", (int)dir, e->path + 1, e->name);
		tar_header(t, rel, rlen, '0', &(struct stat){ .st_mode = 0644, .st_mtim = st->st_mtim }, 0, NULL);
	} else if (S_ISDIR(st->st_mode)) {
		rel[rlen++] = '/';
		rel[rlen] = '\0';
		if (e->fd >= 0)
			add_xattrs(t, e->fd, e->path);
		tar_header(t, rel, rlen, '5', st, 0, NULL);
		if (e->fd >= 0 && is_opaque_dir(e->fd)) {
			memcpy(rel + rlen, ".wh..wh..opq", 13);
			tar_header(t, rel, rlen + 12, '0', &(struct stat){ .st_mode = 0644, .st_mtim = st->st_mtim }, 0,
				   NULL);
		}
	} else if (S_ISREG(st->st_mode)) {
		rc = export_file(t, e, rel, rlen);
	} else if (S_ISLNK(st->st_mode)) {
		tar_header(t, rel, rlen, '2', st, 0, e->link);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		tar_header(t, rel, rlen, S_ISCHR(st->st_mode) ? '3' : '4', st, 0, NULL);
	} else if (S_ISFIFO(st->st_mode)) {
		tar_header(t, rel, rlen, '6', st, 0, NULL);
	} else {
		t->sockets++;
	}
	if (t->oom)
		return fail("export: out of memory");
	if (t->o.err)
		return fail("export: write: %s", strerror(t->o.err));
	return rc;
}

static int export_upper(int upper, int out)
{
	struct tarw *t = calloc(1, sizeof(*t));
	struct walk_limits lim;
	int rc;

	if (!t)
		return fail_errno("export: memory");
	obuf_init(&t->o, out);
	walk_upper_limits(&lim);
	rc = walk_tree(upper, &lim, export_one, t);
	if (rc == 0) {
		put_zeros(t, 2 * BLOCK); /* the end of the archive */
		if (obuf_flush(&t->o) < 0)
			rc = fail_errno("export: write");
	}
	if (rc == 0)
		log_info("export: %llu bytes, %lu files%s%s", t->o.total, t->files,
			 t->sockets ? " (sockets left out: " : "", t->sockets ? "a layer cannot hold them)" : "");
	for (size_t i = 0; i < t->cap; i++)
		free(t->links[i].path);
	free(t->links);
	free(t->pax);
	free(t);
	return rc;
}

int peer_export(int argc, char **argv)
{
	struct peer_config c;
	cleanup_fd int upper = -1, out = -1;
	int first, rc = peer_config_load(&peer_export_program, &c, argc, argv, &first);

	if (rc >= 0)
		return rc;
	log_set_level(c.log_level);
	if (first != argc - 1) {
		log_error("export: give one output file, or - for stdout (try --help)");
		return 2;
	}
	if (image_open_volume(&c, NULL, NULL, &upper) < 0) {
		log_error("export: %s", fail_reason());
		return 1;
	}
	if (strcmp(argv[first], "-") == 0) {
		out = dup(STDOUT_FILENO);
	} else {
		out = open(argv[first], O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0) {
			log_error("export: %s: %s", argv[first], strerror(errno));
			return 1;
		}
	}
	if (export_upper(upper, out) < 0) {
		log_error("%s", fail_reason());
		return 1;
	}
	return 0;
}
