/* stint-peer settings: one struct filled by the config engine
 * (stint/config.h) from the key table in src/peer/config.c: defaults, then
 * peer.ini (section [peer]), then STINT_* environment variables, then
 * flags. Every ini key is also a long option of the same name; docs/peer.md
 * and stint-peer(8) list them. */
#ifndef STINT_PEER_CONFIG_H
#define STINT_PEER_CONFIG_H

#include <stddef.h>

#include "stint/config.h"

/* Enum keys store the index of the word in their list of choices. */
enum peer_mode { PEER_MODE_CHROOT, PEER_MODE_PIVOT };
enum peer_then { PEER_THEN_WAIT, PEER_THEN_EXIT };
enum peer_carry { PEER_CARRY_AUTO, PEER_CARRY_NONE, PEER_CARRY_LIST };
enum peer_cgroup { PEER_CGROUP_KEEP, PEER_CGROUP_RW };
enum peer_machine_id { PEER_MACHINE_ID_KEEP, PEER_MACHINE_ID_GENERATE };
enum peer_boot_id { PEER_BOOT_ID_KEEP, PEER_BOOT_ID_GENERATE };
enum peer_ssh_host_keys { PEER_SSH_HOST_KEYS_KEEP, PEER_SSH_HOST_KEYS_REGENERATE };
enum peer_image_change { PEER_IMAGE_ALLOW, PEER_IMAGE_WARN, PEER_IMAGE_REFUSE };

struct peer_config {
	const char *config_file; /* the peer.ini read, if any */
	const char *socket; /* the init's handoff socket, in the peer's mount ns */
	int mode;
	int then;
	struct strlist lower; /* empty = "image": the target's own root */
	const char *upper, *work; /* overlay dirs on the persistent volume */
	const char *state; /* or: one dir holding upper/ and work/ */
	const char *root; /* new root in the target; NULL = the HELLO's default */
	int carry;
	struct strlist include, exclude, tmpfs;
	int cgroup;
	const char *cgroup_path; /* the hierarchy systemd writes (v1 name=systemd) */
	const char *notify; /* sd_notify socket the peer serves, peer-side path */
	const char *notify_target; /* where it appears in the new root */
	const char *run_dir; /* the peer's own files (state, pinned user ns) */
	const char *state_file; /* readiness record for `stint-peer status` */
	const char *ready_path; /* fallback readiness: this path appears in the new root */
	const char *console; /* target path bound over /dev/console in the new root */
	int machine_id;
	int boot_id; /* each start its own boot id (identity.c) */
	int ssh_host_keys; /* the image's SSH host keys replaced per pod */
	int on_image_change; /* a start on another image than the last boot's */
	long timeout_ms; /* wait for the init's ACK to READY */
	long prepare_timeout_ms; /* the whole prepare worker */
	long handshake_timeout_ms; /* connect and HELLO */
	long wait_socket_ms; /* wait for the socket to appear */
	int log_level;
};

/* The key table, with the help of each command that reads it:
 * prepare (every key), status (the same keys, to find the state file) and
 * the global options before the command (the keys marked CFG_GLOBAL). */
extern const struct cfg_program peer_prepare_program, peer_status_program, peer_global_program;
/* stint-peer doctor: prepare's keys, its own usage. */
extern const struct cfg_program peer_doctor_program;
/* image, diff, export: the same keys (they need the volume's). */
extern const struct cfg_program peer_image_program, peer_diff_program, peer_export_program;

/* Fill c for prepare or status (p) from every source, argv[0] being the
 * command. Returns -1 to go on (*first = the first operand), else the exit
 * status: 2 after a bad setting (logged), 0 after --help or --version. */
int peer_config_load(const struct cfg_program *p, struct peer_config *c, int argc, char **argv, int *first);

/* Whole-config checks after every source was applied (the ones about one
 * key are made where it is read, with its file line). Returns 0 or -1. */
int peer_config_validate(const struct peer_config *c, char *err, size_t errlen);

#endif
