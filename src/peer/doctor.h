/* `stint-peer doctor`: everything a boot needs, checked from the sidecar
 * and printed as a table (check, result, detail, the fix for a failure) or
 * as JSON. doctor.c runs the checks and prints; doctor_os.c looks at the OS
 * container (the init it would serve, its capabilities, cgroups, the OS's
 * init and how it stops); doctor_host.c at the node (kernel features) and
 * the persistent volume. Nothing here changes what a boot does: the
 * volume gets a probe directory that is removed again, the init sees a
 * peer that connects, reads HELLO and goes (it waits for the next one). */
#ifndef STINT_PEER_DOCTOR_H
#define STINT_PEER_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

struct peer_config;

enum dr_result { DR_OK, DR_NOTE, DR_WARN, DR_FAIL, DR_SKIP };

struct dr_row {
	char check[24];
	enum dr_result result;
	char detail[640];
	char fix[480];
};

#define DR_MAX_ROWS 40

/* What the checks learn about the OS container, for the checks after
 * them. */
struct dr_os {
	int rootfd; /* O_PATH of the OS container's root (stint's before the boot, the new root after), -1 */
	bool booted; /* the OS runs (the peer switched it); else stint still waits */
	bool userns; /* a user-namespaced pod */
	const char *init_kind; /* the OS's init (struct init_kind's name), NULL = unknown */
	int init_signo; /* the signal it halts on (0: sysvinit's runlevel 0) */
};

struct doctor {
	const struct peer_config *cfg;
	struct dr_row rows[DR_MAX_ROWS];
	size_t n;
	struct dr_os os;
	int procfd; /* the peer's own /proc */
};

/* Add a row; fix may be NULL (or "") when there is nothing to do. */
void dr_add(struct doctor *d, const char *check, enum dr_result r, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* doctor_os.c */
/* The init: before the boot its HELLO (connect, read, verify, close), after
 * it the peer's state record and, through its control socket, the running
 * OS's root. Fills d->os. */
void dr_check_init(struct doctor *d);
/* With d->os: the OS's init and its stop, capabilities versus the mode and
 * the init, cgroups (version, cgroup-path, nsdelegate). */
void dr_check_os(struct doctor *d);
/* Close what dr_check_init opened. */
void dr_os_close(struct doctor *d);

/* doctor_host.c */
void dr_check_kernel(struct doctor *d);
void dr_check_pv(struct doctor *d);

/* stint-peer doctor [-c peer.ini] [--json] [--KEY VALUE]... */
int peer_doctor(int argc, char **argv);

#endif
