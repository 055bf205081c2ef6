/* `stint-peer doctor`: run every check, print the table or JSON, exit 0
 * only when none failed. The checks live in doctor_os.c and
 * doctor_host.c; this file holds the rows and their output. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stint/exitcode.h"
#include "stint/log.h"
#include "peer_config.h"
#include "stint/util.h"
#include "doctor.h"

static const char *const result_word[] = { "ok", "note", "warn", "FAIL", "skip" };

void dr_add(struct doctor *d, const char *check, enum dr_result r, const char *fix, const char *fmt, ...)
{
	struct dr_row *row;
	va_list ap;

	if (d->n == DR_MAX_ROWS)
		return;
	row = &d->rows[d->n++];
	copy_str(row->check, sizeof(row->check), check);
	row->result = r;
	va_start(ap, fmt);
	vsnprintf(row->detail, sizeof(row->detail), fmt, ap);
	va_end(ap);
	copy_str(row->fix, sizeof(row->fix), fix ? fix : "");
}

/* Everything goes to stdout through one buffer, written at the end: the
 * answer is the command's output (not a log), and a pipe reader gets it
 * whole. */
struct out {
	char buf[DR_MAX_ROWS * 1400 + 1024];
	size_t len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= sizeof(o->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	o->len += n > 0 ? (size_t)n : 0;
	if (o->len > sizeof(o->buf) - 1)
		o->len = sizeof(o->buf) - 1;
}

static void flush(const struct out *o)
{
	size_t off = 0;

	while (off < o->len) {
		ssize_t n = write(STDOUT_FILENO, o->buf + off, o->len - off);

		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void put_json_str(struct out *o, const char *s)
{
	put(o, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			put(o, "\\%c", c);
		else if (c < 0x20)
			put(o, "\\u%04x", c);
		else
			put(o, "%c", c);
	}
	put(o, "\"");
}

static void print_json(const struct doctor *d, struct out *o, int failed)
{
	put(o, "{\"config\":");
	put_json_str(o, d->cfg->config_file ? d->cfg->config_file : "");
	put(o, ",\"ok\":%s,\"checks\":[", failed ? "false" : "true");
	for (size_t i = 0; i < d->n; i++) {
		const struct dr_row *r = &d->rows[i];

		put(o, "%s\n {\"check\":", i ? "," : "");
		put_json_str(o, r->check);
		put(o, ",\"result\":\"%s\",\"detail\":", r->result == DR_FAIL ? "fail" : result_word[r->result]);
		put_json_str(o, r->detail);
		put(o, ",\"fix\":");
		put_json_str(o, r->fix);
		put(o, "}");
	}
	put(o, "\n]}\n");
}

static void print_table(const struct doctor *d, struct out *o)
{
	unsigned count[DR_SKIP + 1] = { 0 };

	put(o, "%-20s %-6s %s\n", "CHECK", "RESULT", "DETAIL");
	for (size_t i = 0; i < d->n; i++) {
		const struct dr_row *r = &d->rows[i];

		count[r->result]++;
		put(o, "%-20s %-6s %s\n", r->check, result_word[r->result], r->detail);
		if (r->fix[0])
			put(o, "%-27s fix: %s\n", "", r->fix);
	}
	put(o, "%zu checks: %u ok, %u notes, %u warnings, %u failed, %u skipped\n", d->n, count[DR_OK], count[DR_NOTE],
	    count[DR_WARN], count[DR_FAIL], count[DR_SKIP]);
}

static void check_config(struct doctor *d)
{
	const struct peer_config *c = d->cfg;
	char err[1024];

	if (peer_config_validate(c, err, sizeof(err)) < 0) {
		dr_add(d, "config", DR_FAIL, "fix the key named (stint-peer(8), docs/peer.md)", "%s: %s",
		       c->config_file, err);
		return;
	}
	dr_add(d, "config", DR_OK, NULL, "%s: socket %s, mode %s, %s %s, cgroup %s%s, run-dir %s",
	       access(c->config_file, R_OK) == 0 ? c->config_file : "(no file)", c->socket,
	       c->mode == PEER_MODE_PIVOT ? "pivot" : "chroot", c->state ? "state" : "upper",
	       c->state ? c->state : c->upper, c->cgroup == PEER_CGROUP_RW ? "rw at " : "keep",
	       c->cgroup == PEER_CGROUP_RW ? c->cgroup_path : "", c->run_dir);
}

/* --json is the doctor's own option; the rest are prepare's keys. */
static int take_json(int *argc, char **argv)
{
	int json = 0, w = 1;

	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[w++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else
			argv[w++] = argv[i];
	}
	*argc = w;
	argv[w] = NULL;
	return json;
}

int peer_doctor(int argc, char **argv)
{
	static struct doctor d; /* large: not on the stack */
	static struct out out;
	struct out *o = &out;
	struct peer_config c;
	int first, failed = 0, json = take_json(&argc, argv);
	int rc = peer_config_load(&peer_doctor_program, &c, argc, argv, &first);

	if (rc >= 0)
		return rc;
	if (first != argc) {
		log_error("doctor: unexpected argument '%s' (try --help)", argv[first]);
		return EXIT_USAGE;
	}
	log_set_level(c.log_level);
	memset(&d, 0, sizeof(d));
	d.cfg = &c;
	d.os.rootfd = -1;
	d.procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	check_config(&d);
	dr_check_kernel(&d);
	dr_check_init(&d);
	dr_check_os(&d);
	dr_check_pv(&d);
	dr_os_close(&d);
	if (d.procfd >= 0)
		close(d.procfd);
	for (size_t i = 0; i < d.n; i++)
		failed += d.rows[i].result == DR_FAIL;
	if (json)
		print_json(&d, o, failed);
	else
		print_table(&d, o);
	flush(o);
	return failed ? EXIT_SETUP : EXIT_OK;
}
