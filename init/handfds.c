/* The file descriptors a HELLO hands to the peer: every namespace this
 * kernel has, a pidfd and the root of the init, and an eventfd the peer can
 * write to signal ready. Opened once, before any peer connects, so that
 * every peer gets the same set and a pivot cannot change what they name. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "init.h"
#include "stint/log.h"
#include "stint/syscalls.h"
#include "stint/util.h"

static void add(struct handfds *h, uint32_t tag, int fd)
{
	h->tag[h->n] = tag;
	h->fd[h->n++] = fd;
}

/* pidfd_open() sets O_CLOEXEC on the fd it returns; a kernel without it
 * (Linux < 5.3) answers ENOSYS and no pidfd is handed over. */
static int pidfd_self(void)
{
	return sys_pidfd_open(getpid(), 0);
}

int handfds_open(struct handfds *h)
{
	char path[64];
	int fd;

	h->n = 0;
	h->ready_fd = -1;
	for (uint32_t tag = STINT_FD_MNT; tag <= STINT_FD_NS_LAST; tag++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", stint_fd_tag_name(tag));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			add(h, tag, fd);
		} else if (errno == ENOENT && tag != STINT_FD_MNT) {
			log_debug("%s: not in this kernel, not handed over", path);
		} else {
			log_error("open %s: %s%s", path, strerror(errno),
				  errno == ENOENT ? " (is /proc mounted in the container?)" : "");
			goto fail;
		}
	}
	fd = pidfd_self();
	if (fd >= 0)
		add(h, STINT_FD_PIDFD, fd);
	else
		log_debug("pidfd_open: %s; no pidfd handed over", strerror(errno));
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		log_error("open /: %s", strerror(errno));
		goto fail;
	}
	add(h, STINT_FD_ROOT, fd);
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		log_error("eventfd: %s", strerror(errno));
		goto fail;
	}
	add(h, STINT_FD_READY, fd);
	h->ready_fd = fd;
	return 0;
fail:
	handfds_close(h);
	return -1;
}

void handfds_close(struct handfds *h)
{
	for (size_t i = 0; i < h->n; i++)
		close(h->fd[i]);
	h->n = 0;
	h->ready_fd = -1;
}
