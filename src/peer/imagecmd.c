/* The sidecar's commands about the volume's image: `stint-peer image
 * [show | accept | record DIR]`. They run in the peer container, where the
 * volume is mounted, beside the running peer; they read and write meta/
 * through fds of directories they opened (dirfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stint/log.h"
#include "peer_config.h"
#include "stint/path.h"
#include "stint/syscalls.h"
#include "stint/util.h"
#include "dirfile.h"
#include "err.h"
#include "image.h"
#include "obuf.h"
#include "record.h"
#include "shadow.h"

int image_open_volume(const struct peer_config *c, int *base, int *meta, int *upper)
{
	struct stint_open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				      .resolve = STINT_RESOLVE_BENEATH | STINT_RESOLVE_NO_SYMLINKS |
						 STINT_RESOLVE_NO_MAGICLINKS };
	char dir[PATH_MAX];
	const char *rel = "upper";
	cleanup_fd int b = -1;

	if (c->state) {
		copy_str(dir, sizeof(dir), c->state);
	} else if (c->upper && c->work) {
		size_t n;

		path_common_dir(c->upper, c->work, dir, sizeof(dir));
		n = strlen(dir);
		rel = c->upper + (n == 1 ? 1 : n + 1);
	} else {
		return fail("no persistent volume: give state=DIR (or upper= and work=), e.g. with -c peer.ini");
	}
	b = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b < 0)
		return fail_errno("the persistent volume %s", dir);
	if (meta) {
		*meta = openat(b, "meta", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (*meta < 0)
			return errno == ENOENT ? fail("%s/meta: no records on this volume (no pod has booted from it "
						      "with this stint-peer)",
						      dir) :
						 fail_errno("%s/meta", dir);
	}
	if (upper) {
		*upper = sys_openat2(b, rel, &how);
		if (*upper < 0) {
			fail_errno("the upper layer %s/%s", dir, rel);
			if (meta) {
				close(*meta);
				*meta = -1; /* the caller's cleanup_fd must not close it again */
			}
			return -1;
		}
	}
	if (base)
		*base = steal_fd(&b);
	return 0;
}

/* "YYYY-MM-DD HH:MM:SS UTC" of seconds since the epoch. By hand: musl's
 * gmtime and strftime bring its time zone and locale code (5 KiB) into the
 * peer for this one line. Days to a civil date as in "chrono-Compatible
 * Low-Level Date Algorithms" (H. Hinnant). */
static void put_time(struct obuf *o, long long t)
{
	long long days, secs, era, doe, yoe, doy, mp, y, m, d;

	if (t <= 0) {
		obuf_str(o, "-");
		return;
	}
	days = t / 86400;
	secs = t % 86400;
	days += 719468;
	era = days / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	obuf_printf(o, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld UTC", y, m, d, secs / 3600, secs / 60 % 60,
		    secs % 60);
}

static void show_rec(struct obuf *o, int meta, const char *name, const char *title)
{
	struct image_rec r;

	if (image_rec_read(meta, name, &r) < 0) {
		if (errno != ENOENT)
			obuf_printf(o, "%-15s %s\n", title, fail_reason());
		return;
	}
	obuf_printf(o, "%-15s %s\n", title, r.pretty[0] ? r.pretty : r.name[0] ? r.name : "(no os-release)");
	obuf_printf(o, "%-15s digest %s, %lu entries, %lu files of %llu bytes, manifest %llu bytes\n", "", r.digest,
		    r.entries, r.files, r.bytes, r.manifest_bytes);
	obuf_printf(o, "%-15s first seen ", "");
	put_time(o, r.first_seen);
	obuf_str(o, ", last seen ");
	put_time(o, r.last_seen);
	obuf_str(o, "\n");
}

/* The last lines of meta/shadow: its old/new header and its trailer. */
static void show_report(struct obuf *o, int meta)
{
	cleanup_fd int fd = dirfile_open_read(meta, "shadow");
	char head[1024], tail[512];
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	n = pread(fd, head, sizeof(head) - 1, 0);
	if (n <= 0)
		return;
	head[n] = '\0';
	n = pread(fd, tail, sizeof(tail) - 1,
		  st.st_size > (off_t)sizeof(tail) - 1 ? st.st_size - (off_t)sizeof(tail) + 1 : 0);
	if (n <= 0)
		return;
	tail[n] = '\0';
	{
		char *old = strstr(head, "\nold "), *new = strstr(head, "\nnew "), *end = strstr(tail, "end ");
		char *nl;

		if (!old || !new || !end)
			return;
		old += 5 + MF_HEX;
		new += 5 + MF_HEX;
		if ((nl = strchr(old, '\n')))
			*nl = '\0';
		if ((nl = strchr(new, '\n')))
			*nl = '\0';
		if ((nl = strchr(end, '\n')))
			*nl = '\0';
		obuf_printf(o, "%-15s %s -> %s: %s (meta/shadow; stint-peer diff --shadowed)\n", "shadow report", old,
			    new, end + 4);
	}
}

static int image_show(const struct peer_config *c)
{
	struct obuf *o = malloc(sizeof(*o));
	cleanup_fd int meta = -1;
	char acc[128];
	int rc = 0;

	if (!o)
		return 1;
	if (image_open_volume(c, NULL, &meta, NULL) < 0) {
		log_error("image: %s", fail_reason());
		free(o);
		return 1;
	}
	obuf_init(o, STDOUT_FILENO);
	show_rec(o, meta, "image", "image");
	show_rec(o, meta, "image.prev", "previous image");
	show_rec(o, meta, "image.pending", "refused image");
	if (dirfile_read(meta, "image.accept", acc, sizeof(acc)) > 0)
		obuf_printf(o, "%-15s %.*s (boots at the next start)\n", "accepted", MF_HEX - 1, acc);
	else if (faccessat(meta, "image.pending", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		obuf_printf(o, "%-15s stint-peer image accept\n", "to boot it");
	show_report(o, meta);
	if (obuf_flush(o) < 0)
		rc = 1;
	free(o);
	return rc;
}

static int image_accept(const struct peer_config *c)
{
	struct image_rec p, cur;
	cleanup_fd int meta = -1;
	char line[MF_HEX + 1];
	int have_cur;

	if (image_open_volume(c, NULL, &meta, NULL) < 0) {
		log_error("image accept: %s", fail_reason());
		return 1;
	}
	if (image_rec_read(meta, "image.pending", &p) < 0) {
		if (errno == ENOENT)
			log_error("image accept: nothing to accept: no image was refused (no meta/image.pending)");
		else
			log_error("image accept: %s", fail_reason());
		return 1;
	}
	have_cur = image_rec_read(meta, "image", &cur) == 0;
	snprintf(line, sizeof(line), "%s\n", p.digest);
	if (dirfile_write(meta, "image.accept", line, strlen(line), 0644, 1) < 0) {
		log_error("image accept: %s", fail_reason());
		return 1;
	}
	log_info("accepted %s (digest %.8s)%s%s: the next start of the OS container boots it",
		 p.pretty[0] ? p.pretty :
		 p.name[0]   ? p.name :
			       "the new image",
		 p.digest, have_cur ? " in place of " : "", have_cur ? (cur.pretty[0] ? cur.pretty : cur.digest) : "");
	return 0;
}

static int image_record(const struct peer_config *c, const char *dir)
{
	cleanup_fd int base = -1, upper = -1, lower = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct image_job ij = { .policy = c->on_image_change,
				.deadline = deadline_in(c->prepare_timeout_ms),
				.procfd = -1 };

	if (lower < 0) {
		log_error("image record: %s: %s", dir, strerror(errno));
		return 1;
	}
	if (image_open_volume(c, &base, NULL, &upper) < 0) {
		log_error("image record: %s", fail_reason());
		return 1;
	}
	ij.lowerfd = lower;
	ij.pvfd = base;
	ij.upperfd = upper;
	if (image_check(&ij) < 0) {
		log_error("image record: %s", fail_reason());
		return 1;
	}
	return 0;
}

/* The verb (show, accept, record) may stand anywhere among the options:
 * the options given before `image` are moved after it (main.c). */
static const char *take_verb(int *argc, char **argv, bool *given)
{
	static const char *const verbs[] = { "show", "accept", "record" };

	for (int i = 1; i < *argc && strcmp(argv[i], "--") != 0; i++)
		for (size_t v = 0; v < ARRAY_SIZE(verbs); v++)
			if (strcmp(argv[i], verbs[v]) == 0) {
				memmove(argv + i, argv + i + 1, (size_t)(*argc - i) * sizeof(*argv));
				(*argc)--;
				*given = true;
				return verbs[v];
			}
	*given = false;
	return "show";
}

int peer_image(int argc, char **argv)
{
	struct peer_config c;
	bool given;
	const char *verb = take_verb(&argc, argv, &given);
	int first, rc = peer_config_load(&peer_image_program, &c, argc, argv, &first);

	if (rc >= 0)
		return rc;
	log_set_level(c.log_level);
	if (strcmp(verb, "record") == 0) {
		if (first != argc - 1) {
			log_error("image record: give one image directory (try --help)");
			return 2;
		}
		return image_record(&c, argv[first]);
	}
	if (first != argc) {
		if (!given)
			log_error("image: unknown command '%s': show, accept or record (try --help)", argv[first]);
		else
			log_error("image %s: unexpected argument '%s' (try --help)", verb, argv[first]);
		return 2;
	}
	return strcmp(verb, "show") == 0 ? image_show(&c) : image_accept(&c);
}
