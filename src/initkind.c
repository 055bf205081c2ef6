/* The table behind include/stint/initkind.h. */
#include <string.h>

#include "stint/initkind.h"
#include "stint/util.h"

static const struct init_kind kinds[] = {
	{ "systemd", "systemd", 34 + 3 /* SIGRTMIN+3 (kernel numbering): halt; SIGTERM re-executes it */ },
	{ "busybox", "busybox init", 12 /* SIGUSR2: poweroff (SIGUSR1: halt) */ },
	{ "openrc-init", "openrc-init", 15 /* SIGTERM (or SIGPWR): the shutdown runlevel */ },
	{ "stint", "stint (no OS booted yet, or --supervise)", 15 },
	{ "init", "sysvinit", 0 },
};

const struct init_kind *init_kind_find(const char *exe_base, const char *comm)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if ((exe_base && strcmp(exe_base, kinds[i].base) == 0) || (comm && strcmp(comm, kinds[i].base) == 0))
			return &kinds[i];
	}
	return NULL;
}
