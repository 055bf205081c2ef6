/* Splitting paths, for both programs. Nothing here follows a path the
 * guest can write: callers pass only paths of their own configuration. */
#ifndef STINT_PATH_H
#define STINT_PATH_H

#include <stddef.h>

/* "/a/b/c" -> dir "/a/b", name "c"; "/c" -> "/", "c"; "c" -> ".", "c".
 * Returns 0, or -1 with errno ENAMETOOLONG (a buffer is too small) or
 * EINVAL (empty path, or one ending in '/', "." or ".."). */
int path_split(const char *path, char *dir, size_t dirlen, char *name, size_t namelen);

/* An O_PATH fd of path's directory, and its last component in name.
 * Returns the fd or -1 with errno. */
int path_open_parent(const char *path, char *name, size_t namelen);

/* The deepest directory holding both a and b (absolute, normalized paths:
 * no "//", ".", ".."): "/pv/os/upper", "/pv/os/work" -> "/pv/os". */
void path_common_dir(const char *a, const char *b, char *out, size_t len);

/* Is `path` equal to `dir` or below it? (component-aware: /ab is not
 * under /a) */
int path_is_under(const char *path, const char *dir);

#endif
