/* Entering the prepared root. After a READY naming a directory, stint
 * chroots into it (CAP_SYS_CHROOT); after a pivot by the peer, the kernel has
 * already moved our root and cwd, and stint only re-anchors its cwd. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "init.h"
#include "stint/log.h"

int switch_root(const struct handoff_outcome *how)
{
	if (how->result == HANDOFF_PIVOTED) {
		if (chdir("/") < 0) {
			log_error("chdir / in the pivoted root: %s", strerror(errno));
			return -1;
		}
		log_info("switched root: pivoted by the peer");
		return 0;
	}
	if (chdir(how->root) < 0) {
		log_error("chdir %s: %s", how->root, strerror(errno));
		return -1;
	}
	if (chroot(".") < 0) {
		log_error("chroot %s: %s%s", how->root, strerror(errno),
			  errno == EPERM ? " (needs CAP_SYS_CHROOT; without it let the peer pivot instead)" : "");
		return -1;
	}
	if (chdir("/") < 0) {
		log_error("chdir / after chroot into %s: %s", how->root, strerror(errno));
		return -1;
	}
	log_info("switched root: chroot into %s", how->root);
	return 0;
}

/* setenv() for what stint sets once before running COMMAND, in memory
 * that is never freed (it is COMMAND's environment). Neither setenv() nor
 * malloc(): in the static init either would bring musl's full allocator
 * (~6 KiB of 64) for these few bytes, so one anonymous mapping holds the
 * new entry and, when the variable is new, the longer copy of environ. */
static int env_set(const char *name, const char *value, bool overwrite)
{
	size_t len = strlen(name), n = 0, entry_len = len + strlen(value) + 2;
	char **v, *entry;

	for (; environ && environ[n]; n++) {
		if (strncmp(environ[n], name, len) == 0 && environ[n][len] == '=') {
			if (!overwrite)
				return 0;
			break;
		}
	}
	v = mmap(NULL, (n + 2) * sizeof(*v) + entry_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED)
		return -1;
	entry = (char *)(v + n + 2);
	snprintf(entry, entry_len, "%s=%s", name, value);
	if (environ && environ[n]) {
		environ[n] = entry;
		return 0;
	}
	if (n)
		memcpy(v, environ, n * sizeof(*v));
	v[n] = entry;
	v[n + 1] = NULL;
	environ = v;
	return 0;
}

/* What a container manager owes the OS it starts (systemd's container
 * interface): container= names the manager; NOTIFY_SOCKET lets the OS say
 * when it has booted. */
int prepare_environment(const struct config *cfg)
{
	if (cfg->container[0] && env_set("container", cfg->container, false) < 0) {
		log_error("setenv container: %s", strerror(errno));
		return -1;
	}
	if (cfg->notify_socket && env_set("NOTIFY_SOCKET", cfg->notify_socket, true) < 0) {
		log_error("setenv NOTIFY_SOCKET: %s", strerror(errno));
		return -1;
	}
	if (cfg->drop_caps && caps_drop_bounding(cfg->drop_caps) < 0)
		return -1;
	return 0;
}
