/* Dropping capabilities from the bounding set before exec, so that nothing
 * the workload runs can regain them. Needs CAP_SETPCAP. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>

#include "init.h"
#include "stint/log.h"

/* The kernel's capability names, in the order of their numbers
 * (linux/capability.h; tests/unit/test_config.c checks them against
 * libcap's). Not libcap's cap_from_name(): its file brings a destructor
 * that frees, and with it musl's whole allocator and FILE code, ~9 KiB of
 * the 64 KiB static init. A capability newer than this list is dropped
 * by "all" all the same, or named by its number. */
static const char cap_names[] = "chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap "
				"linux_immutable net_bind_service net_broadcast net_admin net_raw ipc_lock "
				"ipc_owner sys_module sys_rawio sys_chroot sys_ptrace sys_pacct sys_admin "
				"sys_boot sys_nice sys_resource sys_time sys_tty_config mknod lease audit_write "
				"audit_control setfcap mac_override mac_admin syslog wake_alarm block_suspend "
				"audit_read perfmon bpf checkpoint_restore ";

int caps_value(const char *name, size_t len)
{
	unsigned long n;
	const char *end = parse_decimal(name, CAP_LAST_CAP, &n);
	int value = 0;

	if (end && end == name + len)
		return (int)n;
	if (len <= 4 || strncasecmp(name, "cap_", 4) != 0)
		return -1;
	name += 4, len -= 4;
	for (const char *p = cap_names; *p; p += strcspn(p, " ") + 1, value++) {
		if (strcspn(p, " ") == len && strncasecmp(p, name, len) == 0)
			return value;
	}
	return -1;
}

/* Calls fn for each capability LIST names ("all" = every one this kernel
 * knows). Returns 0, or -1 with the bad name in err. */
static int for_each_cap(const char *list, int (*fn)(int, const char *, int), char *err, size_t errlen)
{
	if (strcmp(list, "all") == 0) {
		for (int c = 0; c <= CAP_LAST_CAP || CAP_IS_SUPPORTED(c); c++) {
			if (CAP_IS_SUPPORTED(c) && fn && fn(c, "capability", 10) < 0)
				return -1;
		}
		return 0;
	}
	for (const char *p = list + strspn(list, ", "); *p; p += strspn(p, ", ")) {
		size_t n = strcspn(p, ", ");
		int c = caps_value(p, n);

		if (c < 0)
			return errorf(err, errlen, "'%.*s' is not a capability name (e.g. cap_sys_admin)", (int)n, p);
		if (fn && fn(c, p, (int)n) < 0)
			return -1;
		p += n;
	}
	return 0;
}

int caps_validate(const char *list, char *err, size_t errlen)
{
	if (!list[strspn(list, ", ")])
		return errorf(err, errlen, "empty list");
	return for_each_cap(list, NULL, err, errlen);
}

/* name is the list's word (len bytes), or "capability" for "all". */
static int drop_one(int c, const char *name, int len)
{
	if (cap_drop_bound(c) < 0) {
		log_error("dropping %.*s (%d) from the bounding set: %s%s", len, name, c, strerror(errno),
			  errno == EPERM ? " (needs CAP_SETPCAP)" : "");
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
