/* stint-peer settings: one struct filled from defaults, then peer.ini
 * (section [peer]), then STINT_* environment variables, then flags. Every
 * ini key is also a long option of the same name; docs/peer.md lists them. */
#ifndef STINT_PEER_CONFIG_H
#define STINT_PEER_CONFIG_H

#include <stddef.h>

enum peer_mode { PEER_MODE_CHROOT = 1, PEER_MODE_PIVOT = 2 };
enum peer_then { PEER_THEN_WAIT = 0, PEER_THEN_EXIT = 1 };
enum peer_carry { PEER_CARRY_AUTO = 0, PEER_CARRY_NONE = 1, PEER_CARRY_LIST = 2 };
enum peer_cgroup { PEER_CGROUP_KEEP = 0, PEER_CGROUP_RW = 1 };
enum peer_machine_id { PEER_MACHINE_ID_KEEP = 0, PEER_MACHINE_ID_GENERATE = 1 };

/* Where a setting came from; a list set at a higher level replaces the
 * lower level's list, repeated at the same level it grows. */
enum peer_level { PEER_LVL_DEFAULT = 0, PEER_LVL_FILE = 1, PEER_LVL_ENV = 2, PEER_LVL_FLAG = 3 };

struct strlist {
	char **v;
	size_t n;
	int level;
};

struct peer_config {
	char *socket; /* the init's handoff socket, in the peer's mount ns */
	int mode;
	int then;
	struct strlist lower; /* empty = "image": the target's own root */
	char *upper, *work; /* overlay dirs on the persistent volume */
	char *state; /* or: one dir holding upper/ and work/ */
	char *root; /* new root in the target; NULL = the HELLO's default */
	int carry;
	struct strlist include, exclude, tmpfs;
	int cgroup;
	char *cgroup_path; /* the hierarchy systemd writes (v1 name=systemd) */
	char *notify; /* sd_notify socket the peer serves, peer-side path */
	char *notify_target; /* where it appears in the new root */
	char *state_file; /* readiness record for `stint-peer status` */
	char *ready_path; /* fallback readiness: this path appears in the new root */
	char *console; /* target path bound over /dev/console in the new root */
	int machine_id;
	unsigned timeout; /* seconds for the init's ACK */
	unsigned prepare_timeout; /* seconds for the worker's steps */
	unsigned handshake_timeout; /* seconds for connect + HELLO */
	unsigned wait_socket; /* then=exit: seconds to wait for the socket to appear */
	char *run_dir; /* the peer's own dir: state file, records */
	int log_level;
};

void peer_config_defaults(struct peer_config *c);
void peer_config_free(struct peer_config *c);

/* Apply one key. Returns 0, or -1 with a reason in err ("unknown key 'x'",
 * "mode: 'x' is not chroot or pivot"). */
int peer_config_set(struct peer_config *c, const char *key, const char *value, int level, char *err,
		    size_t errlen);

/* Load an ini file; errors are "FILE:LINE: reason" in err. Returns 0 or -1. */
int peer_config_load(struct peer_config *c, const char *path, char *err, size_t errlen);

/* STINT_SOCKET, STINT_PEER_STATE, STINT_LOG_LEVEL... Returns 0 or -1. */
int peer_config_env(struct peer_config *c, char *err, size_t errlen);

/* Whole-config checks after every source was applied. */
int peer_config_validate(const struct peer_config *c, char *err, size_t errlen);

/* Is `key` a known key taking a value? (for the option table) */
int peer_config_has_key(const char *key);

#endif
