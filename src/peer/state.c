#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/config.h"
#include "stint/path.h"
#include "stint/util.h"
#include "dirfile.h"
#include "err.h"
#include "state.h"

void state_set(struct peer_state *st, const char *state, bool ready, const char *status)
{
	copy_str(st->state, sizeof(st->state), state);
	st->ready = ready;
	copy_str(st->status, sizeof(st->status), status ? status : "");
}

int state_dir_open(const char *dir)
{
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return fail_errno("create the peer's run-dir %s", dir);
	fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("open the peer's run-dir %s", dir);
	return fd;
}

int state_save(int dirfd, const char *name, const struct peer_state *st)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "state=%s\nready=%d\nstatus=%s\nboots=%u\ninit=%s\n", st->state, st->ready,
			 st->status, st->boots, st->init);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return fail("state record too long");
	return dirfile_write(dirfd, name, buf, (size_t)n, 0644, 0);
}

static void parse_line(struct peer_state *st, const char *line)
{
	unsigned long n;

	if (strncmp(line, "state=", 6) == 0)
		copy_str(st->state, sizeof(st->state), line + 6);
	else if (strncmp(line, "ready=", 6) == 0)
		st->ready = strcmp(line + 6, "1") == 0;
	else if (strncmp(line, "status=", 7) == 0)
		copy_str(st->status, sizeof(st->status), line + 7);
	else if (strncmp(line, "boots=", 6) == 0)
		st->boots = parse_decimal(line + 6, ~0U, &n) ? (unsigned)n : 0;
	else if (strncmp(line, "init=", 5) == 0)
		copy_str(st->init, sizeof(st->init), line + 5);
}

int state_load(int dirfd, const char *name, struct peer_state *st)
{
	char buf[2048];

	memset(st, 0, sizeof(*st));
	if (dirfile_read(dirfd, name, buf, sizeof(buf)) < 0)
		return -1;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		parse_line(st, line);
	if (!st->state[0]) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int state_load_path(const char *state_file, const char *run_dir, struct peer_state *st, char *where, size_t len)
{
	char name[NAME_MAX + 1];
	cleanup_fd int dir = -1;

	if (state_file) {
		if (where)
			copy_str(where, len, state_file);
		dir = path_open_parent(state_file, name, sizeof(name));
	} else {
		if (where)
			snprintf(where, len, "%s/state", run_dir);
		copy_str(name, sizeof(name), "state");
		dir = open(run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (dir < 0)
		return -1;
	return state_load(dir, name, st);
}
