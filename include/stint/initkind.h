/* The OS inits stint knows and how each one halts: one table for `stint
 * halt` (the init, in a preStop hook) and `stint-peer doctor` (the peer,
 * which says what the OS will need at its stop). docs/os-boot.md "Stopping"
 * has the measurements behind it. */
#ifndef STINT_INITKIND_H
#define STINT_INITKIND_H

struct init_kind {
	const char *base; /* its executable's file name (or comm) */
	const char *name; /* what to call it */
	int signo; /* the signal it halts on; 0: sysvinit, which halts on none
		    * (runlevel 0, requested through /run/initctl) */
};

/* The init whose executable is named exe_base (or whose comm is comm; both
 * may be ""), or NULL. A plain "init" is returned as sysvinit: callers
 * confirm it (its FIFO, or its binary). */
const struct init_kind *init_kind_find(const char *exe_base, const char *comm);

#endif
