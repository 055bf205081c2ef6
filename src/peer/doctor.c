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
#include "obuf.h"

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
 * whole (the rows fit in struct obuf's buffer). The rows' text may hold
 * the guest's strings (its init's path, comm, command line): the table
 * shows their control characters as '?', the JSON escapes them. */
static void put_text(struct obuf *o, const char *s, int width)
{
	size_t n = strlen(s);

	obuf_printable(o, s, n);
	for (; width > 0 && n < (size_t)width; n++)
		obuf_put(o, " ", 1);
}

static void put_json_str(struct obuf *o, const char *s)
{
	obuf_json_str(o, s, strlen(s));
}

static void print_json(const struct doctor *d, struct obuf *o, int failed)
{
	obuf_str(o, "{\"config\":");
	put_json_str(o, d->cfg->config_file ? d->cfg->config_file : "");
	obuf_printf(o, ",\"ok\":%s,\"checks\":[", failed ? "false" : "true");
	for (size_t i = 0; i < d->n; i++) {
		const struct dr_row *r = &d->rows[i];

		obuf_printf(o, "%s\n {\"check\":", i ? "," : "");
		put_json_str(o, r->check);
		obuf_printf(o,
			    ",\"result\":\"%s\",\"detail\":", r->result == DR_FAIL ? "fail" : result_word[r->result]);
		put_json_str(o, r->detail);
		obuf_str(o, ",\"fix\":");
		put_json_str(o, r->fix);
		obuf_str(o, "}");
	}
	obuf_str(o, "\n]}\n");
}

static void print_table(const struct doctor *d, struct obuf *o)
{
	unsigned count[DR_SKIP + 1] = { 0 };

	obuf_printf(o, "%-20s %-6s %s\n", "CHECK", "RESULT", "DETAIL");
	for (size_t i = 0; i < d->n; i++) {
		const struct dr_row *r = &d->rows[i];

		count[r->result]++;
		put_text(o, r->check, 20);
		obuf_printf(o, " %-6s ", result_word[r->result]);
		put_text(o, r->detail, 0);
		obuf_str(o, "\n");
		if (r->fix[0]) {
			obuf_printf(o, "%-27s fix: ", "");
			put_text(o, r->fix, 0);
			obuf_str(o, "\n");
		}
	}
	obuf_printf(o, "%zu checks: %u ok, %u notes, %u warnings, %u failed, %u skipped\n", d->n, count[DR_OK],
		    count[DR_NOTE], count[DR_WARN], count[DR_FAIL], count[DR_SKIP]);
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
	static struct obuf out;
	struct obuf *o = &out;
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
	obuf_init(o, STDOUT_FILENO);
	if (json)
		print_json(&d, o, failed);
	else
		print_table(&d, o);
	obuf_flush(o);
	return failed ? EXIT_SETUP : EXIT_OK;
}
