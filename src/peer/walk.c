#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "stint/syscalls.h"
#include "stint/util.h"
#include "err.h"
#include "walk.h"

struct walker {
	const struct walk_limits *lim;
	walk_fn *fn;
	void *ctx;
	dev_t dev; /* the root's file system */
	unsigned long entries;
	size_t held; /* bytes of names held by the directories being walked */
	char path[PATH_MAX];
	char link[PATH_MAX];
};

void walk_upper_limits(struct walk_limits *lim)
{
	lim->max_depth = 256;
	lim->max_entries = 16000000UL;
	lim->max_dir_entries = 1000000UL;
	lim->max_name_bytes = 256UL << 20;
	lim->deadline = DEADLINE_NONE;
	lim->procfd = -1;
	lim->what = "the upper layer";
}

int path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++) {
		unsigned ca = a[i] == '/' ? 0 : (unsigned char)a[i];
		unsigned cb = b[i] == '/' ? 0 : (unsigned char)b[i];

		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return alen < blen ? -1 : alen > blen;
}

int reopen_regular(int procfd, int pathfd, const struct stat *st)
{
	struct stat a, b;
	char proc[64];
	int fd;

	if (fstat(pathfd, &a) < 0)
		return -1;
	if (!S_ISREG(a.st_mode) || (st && (a.st_ino != st->st_ino || a.st_dev != st->st_dev))) {
		errno = EINVAL;
		return -1;
	}
	snprintf(proc, sizeof(proc), "%sself/fd/%d", procfd < 0 ? "/proc/" : "", pathfd);
	fd = openat(procfd < 0 ? AT_FDCWD : procfd, proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &b) < 0 || b.st_ino != a.st_ino || b.st_dev != a.st_dev) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

int walk_open_regular(int procfd, int dirfd, const char *name, const struct stat *st)
{
	cleanup_fd int path = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	return path < 0 ? -1 : reopen_regular(procfd, path, st);
}

int root_open_regular(int procfd, int rootfd, const char *path, uint64_t resolve)
{
	struct stint_open_how how = { .flags = O_PATH | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_IN_ROOT | STINT_RESOLVE_NO_MAGICLINKS | resolve };
	cleanup_fd int p = sys_openat2(rootfd, path, &how);

	return p < 0 ? -1 : reopen_regular(procfd, p, NULL);
}

ssize_t root_read(int procfd, int rootfd, const char *path, uint64_t resolve, char *buf, size_t cap)
{
	cleanup_fd int fd = root_open_regular(procfd, rootfd, path, resolve);
	size_t len = 0;

	if (fd < 0)
		return -1;
	while (len < cap - 1) {
		ssize_t n = TEMP_FAILURE_RETRY(read(fd, buf + len, cap - 1 - len));

		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

bool is_opaque_dir(int fd)
{
	static const char *const names[] = { "trusted.overlay.opaque", "user.overlay.opaque" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char v[4];
		ssize_t n = fgetxattr(fd, names[i], v, sizeof(v));

		if (n == 1 && v[0] == 'y')
			return true;
	}
	return false;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of one directory, end to end in one allocation. */
struct names {
	char *buf;
	size_t used, cap, n;
};

static int names_add(struct walker *w, struct names *nm, const char *name)
{
	size_t len = strlen(name);

	if (len > NAME_MAX)
		return fail("%s: a name longer than %d bytes in %s", w->lim->what, NAME_MAX, w->path);
	if (++nm->n > w->lim->max_dir_entries)
		return fail("%s: more than %lu names in the directory %s (the walk's limit)", w->lim->what,
			    w->lim->max_dir_entries, w->path);
	if (w->held + nm->used + len + 1 > w->lim->max_name_bytes)
		return fail("%s: more than %zu bytes of names held at once at %s (the walk's limit)", w->lim->what,
			    w->lim->max_name_bytes, w->path);
	if (nm->used + len + 1 > nm->cap) {
		size_t cap = nm->cap ? 2 * nm->cap + len + 1 : 4096;
		char *more = realloc(nm->buf, cap);

		if (!more)
			return fail_errno("%s: memory for the names in %s", w->lim->what, w->path);
		nm->buf = more;
		nm->cap = cap;
	}
	memcpy(nm->buf + nm->used, name, len + 1);
	nm->used += len + 1;
	return 0;
}

/* The names in the directory fd (without . and ..), sorted, in one
 * allocation (*arena) that the caller frees; *names points into it. */
static int read_names(struct walker *w, int fd, char **arena, char ***names, size_t *count)
{
	struct names nm = { 0 };
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0), rc = 0;
	DIR *d = dupfd >= 0 ? fdopendir(dupfd) : NULL;
	struct dirent *de;

	if (!d) {
		if (dupfd >= 0)
			close(dupfd);
		return fail_errno("%s: read the directory %s", w->lim->what, w->path);
	}
	rewinddir(d);
	for (errno = 0; rc == 0 && (de = readdir(d)); errno = 0)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			rc = names_add(w, &nm, de->d_name);
	if (rc == 0 && errno)
		rc = fail_errno("%s: read the directory %s", w->lim->what, w->path);
	closedir(d);
	if (rc == 0 && !(*names = malloc((nm.n ? nm.n : 1) * sizeof(**names))))
		rc = fail_errno("%s: memory for the names in %s", w->lim->what, w->path);
	if (rc < 0) {
		free(nm.buf);
		return -1;
	}
	for (size_t i = 0, off = 0; i < nm.n; i++) {
		(*names)[i] = nm.buf + off;
		off += strlen(nm.buf + off) + 1;
	}
	qsort(*names, nm.n, sizeof(**names), by_name);
	*arena = nm.buf;
	*count = nm.n;
	w->held += nm.used;
	return 0;
}

static int walk_dir(struct walker *w, int fd, size_t len, unsigned depth);

/* One name of the directory dirfd, whose path is w->path[0..len). */
static int walk_one(struct walker *w, int dirfd, size_t len, unsigned depth, const char *name)
{
	size_t nlen = strlen(name), plen = len == 1 ? 1 + nlen : len + 1 + nlen;
	struct walk_entry e = { .path = w->path, .len = plen, .name = name, .dirfd = dirfd, .fd = -1, .depth = depth };
	struct stat st;
	cleanup_fd int fd = -1;
	int rc;

	if (plen >= sizeof(w->path))
		return fail("%s: a path longer than %zu bytes below %s", w->lim->what, sizeof(w->path) - 1, w->path);
	if (++w->entries > w->lim->max_entries)
		return fail("%s: more than %lu entries (the walk's limit)", w->lim->what, w->lim->max_entries);
	if ((w->entries & 255) == 0 && deadline_passed(w->lim->deadline))
		return fail("%s: the walk did not finish in time (at %s)", w->lim->what, w->path);
	snprintf(w->path + len, sizeof(w->path) - len, "%s%s", len == 1 ? "" : "/", name);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		w->path[len] = '\0';
		/* Gone since the directory was read (a live upper): not there. */
		return errno == ENOENT ?
			       0 :
			       fail_errno("%s: stat %s%s%s", w->lim->what, w->path, len == 1 ? "" : "/", name);
	}
	e.st = &st;
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(dirfd, name, w->link, sizeof(w->link));

		if (n < 0 || (size_t)n >= sizeof(w->link))
			return n < 0 ? fail_errno("%s: readlink %s", w->lim->what, w->path) :
				       fail("%s: the symlink %s is too long", w->lim->what, w->path);
		w->link[n] = '\0';
		e.link = w->link;
	} else if (S_ISDIR(st.st_mode)) {
		struct stat again;

		e.other_fs = st.st_dev != w->dev;
		if (!e.other_fs) {
			fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			if (fd < 0)
				return errno == ENOENT ? 0 :
							 fail_errno("%s: open the directory %s", w->lim->what, w->path);
			/* Swapped since the stat? Then this is not the same directory. */
			if (fstat(fd, &again) < 0 || again.st_ino != st.st_ino || again.st_dev != st.st_dev)
				return fail("%s: %s changed during the walk", w->lim->what, w->path);
			e.fd = fd;
		}
	}
	rc = w->fn(w->ctx, &e);
	if (rc < 0)
		return -1;
	if (fd >= 0 && rc != WALK_SKIP) {
		if (depth + 1 > w->lim->max_depth)
			return fail("%s: directories nested deeper than %u levels at %s (the walk's limit)",
				    w->lim->what, w->lim->max_depth, w->path);
		if (walk_dir(w, fd, plen, depth + 1) < 0)
			return -1;
	}
	w->path[len] = '\0';
	return 0;
}

static int walk_dir(struct walker *w, int fd, size_t len, unsigned depth)
{
	char *arena = NULL, **names = NULL;
	size_t n = 0, bytes = 0;
	int rc = 0;

	if (read_names(w, fd, &arena, &names, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		bytes += strlen(names[i]) + 1;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = walk_one(w, fd, len, depth, names[i]);
	w->path[len] = '\0';
	w->held -= bytes;
	free(names);
	free(arena);
	return rc;
}

int walk_tree(int rootfd, const struct walk_limits *lim, walk_fn *fn, void *ctx)
{
	struct walker *w = calloc(1, sizeof(*w));
	struct stat st;
	struct walk_entry e = { .path = "/", .len = 1, .name = ".", .dirfd = rootfd, .fd = rootfd };
	int rc;

	if (!w)
		return fail_errno("%s: memory for the walk", lim->what);
	w->lim = lim;
	w->fn = fn;
	w->ctx = ctx;
	w->path[0] = '/';
	if (fstat(rootfd, &st) < 0) {
		free(w);
		return fail_errno("%s: stat its root", lim->what);
	}
	w->dev = st.st_dev;
	e.st = &st;
	rc = fn(ctx, &e);
	if (rc >= 0 && rc != WALK_SKIP)
		rc = walk_dir(w, rootfd, 1, 1);
	free(w);
	return rc < 0 ? -1 : 0;
}
