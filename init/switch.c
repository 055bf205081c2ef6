/* Entering the prepared root. After a READY naming a directory, stint
 * chroots into it (CAP_SYS_CHROOT); after a pivot by the peer, the kernel has
 * already moved our root and cwd, and stint only re-anchors its cwd. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

/* What a container manager owes the OS it starts (systemd's container
 * interface): container= names the manager; NOTIFY_SOCKET lets the OS say
 * when it has booted. */
int prepare_environment(const struct config *cfg)
{
	if (cfg->container[0] && setenv("container", cfg->container, 0) < 0) {
		log_error("setenv container: %s", strerror(errno));
		return -1;
	}
	if (cfg->notify_socket && setenv("NOTIFY_SOCKET", cfg->notify_socket, 1) < 0) {
		log_error("setenv NOTIFY_SOCKET: %s", strerror(errno));
		return -1;
	}
	if (cfg->drop_caps && caps_drop_bounding(cfg->drop_caps) < 0)
		return -1;
	return 0;
}
