/* Dropping capabilities from the bounding set before exec, so that nothing
 * the workload runs can regain them. Needs CAP_SETPCAP. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>

#include "init.h"
#include "stint/log.h"
#include "stint/util.h"

/* Calls fn for each capability LIST names ("all" = every one this kernel
 * knows). Returns 0, or -1 with the bad name in err. */
static int for_each_cap(const char *list, int (*fn)(cap_value_t, const char *), char *err, size_t errlen)
{
	cleanup_free char *copy = strdup(list);
	char *save = NULL;

	if (!copy)
		die_errno(EXIT_SETUP, "strdup");
	if (strcmp(list, "all") == 0) {
		for (cap_value_t c = 0; c <= CAP_LAST_CAP || cap_valid(c); c++) {
			if (CAP_IS_SUPPORTED(c) && fn && fn(c, "all") < 0)
				return -1;
		}
		return 0;
	}
	for (char *name = strtok_r(copy, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
		cap_value_t c;

		if (cap_from_name(name, &c) < 0) {
			snprintf(err, errlen, "'%s' is not a capability name (e.g. cap_sys_admin)", name);
			return -1;
		}
		if (fn && fn(c, name) < 0)
			return -1;
	}
	return 0;
}

int caps_validate(const char *list, char *err, size_t errlen)
{
	if (!*list) {
		snprintf(err, errlen, "empty list");
		return -1;
	}
	return for_each_cap(list, NULL, err, errlen);
}

static int drop_one(cap_value_t c, const char *name)
{
	if (cap_drop_bound(c) < 0) {
		char *n = cap_to_name(c);
		log_error("dropping %s from the bounding set: %s%s", n ? n : name, strerror(errno),
			  errno == EPERM ? " (needs CAP_SETPCAP)" : "");
		cap_free(n);
		return -1;
	}
	return 0;
}

int caps_drop_bounding(const char *list)
{
	char err[256];

	if (for_each_cap(list, drop_one, err, sizeof(err)) < 0)
		return -1;
	log_debug("dropped from the bounding set: %s", list);
	return 0;
}
