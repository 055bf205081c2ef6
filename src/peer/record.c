#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/config.h"
#include "dirfile.h"
#include "err.h"
#include "record.h"

#define META_DIR "meta"

int record_dir_open(int pvfd)
{
	int fd;

	if (mkdirat(pvfd, META_DIR, 0700) < 0 && errno != EEXIST)
		return fail_errno("create the volume's %s/ directory", META_DIR);
	fd = openat(pvfd, META_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("open the volume's %s/ directory", META_DIR);
	return fd;
}

unsigned record_boot(int metafd)
{
	char buf[32];
	unsigned long n = 0;
	int len;

	if (dirfile_read(metafd, "boots", buf, sizeof(buf)) >= 0)
		parse_decimal(buf, ~0UL, &n);
	else if (errno != ENOENT)
		return fail_errno("read the volume's boot count"), 0;
	len = snprintf(buf, sizeof(buf), "%lu\n", n + 1);
	if (dirfile_write(metafd, "boots", buf, (size_t)len, 0644, 1) < 0)
		return 0;
	return (unsigned)(n + 1);
}
