#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "stint/path.h"

int path_split(const char *path, char *dir, size_t dirlen, char *name, size_t namelen)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dn = slash ? (slash == path ? 1 : (size_t)(slash - path)) : 1;

	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		errno = EINVAL;
		return -1;
	}
	if (strlen(base) >= namelen || dn >= dirlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, slash ? path : ".", dn);
	dir[dn] = '\0';
	strcpy(name, base);
	return 0;
}

int path_open_parent(const char *path, char *name, size_t namelen)
{
	char dir[PATH_MAX];

	if (path_split(path, dir, sizeof(dir), name, namelen) < 0)
		return -1;
	return open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int path_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

void path_common_dir(const char *a, const char *b, char *out, size_t len)
{
	size_t i = 0, last = 0;

	while (a[i] && a[i] == b[i]) {
		if (a[i] == '/')
			last = i;
		i++;
	}
	if ((a[i] == '\0' || a[i] == '/') && (b[i] == '\0' || b[i] == '/'))
		last = i;
	snprintf(out, len, "%.*s", (int)(last ? last : 1), a);
}
