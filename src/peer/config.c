/* stint-peer's key table: peer.ini, STINT_* variables and flags all go
 * through the config engine (src/config.c) with it, so a key behaves the
 * same wherever it is written. Here: the table, the two keys no generic
 * type covers (lower, tmpfs), and the checks across keys. */
#include <string.h>
#include <unistd.h>

#include "stint/exitcode.h"
#include "stint/log.h"
#include "peer_config.h"
#include "stint/util.h"

/* "image" (the target's own root) or PATH[:PATH...]. */
static int parse_lower(void *cfg, void *field, const char *value, enum cfg_source source, char *err, size_t errlen)
{
	struct strlist *l = field;

	(void)cfg;
	if (strcmp(value, "image") == 0) {
		l->source = -1; /* replace, even what the same source said */
		value = "";
	}
	return cfg_list_set(l, value, ":", source, cfg_check_absolute, err, errlen);
}

/* PATH[:KEY=VALUE...] */
static int check_tmpfs(const char *s, size_t n, char *err, size_t errlen)
{
	const char *end = s + n, *opt = memchr(s, ':', n);

	if (s[0] != '/')
		return errorf(err, errlen, "'%.*s' does not start with an absolute path", (int)n, s);
	while (opt) {
		const char *next = memchr(opt + 1, ':', (size_t)(end - opt - 1));
		size_t len = (size_t)((next ? next : end) - opt - 1);

		if (len == 0 || !memchr(opt + 1, '=', len))
			return errorf(err, errlen, "option '%.*s' in '%.*s' is not KEY=VALUE", (int)len, opt + 1,
				      (int)n, s);
		opt = next;
	}
	return 0;
}

static int parse_tmpfs(void *cfg, void *field, const char *value, enum cfg_source source, char *err, size_t errlen)
{
	(void)cfg;
	return cfg_list_set(field, value, ", \t", source, check_tmpfs, err, errlen);
}

static const char *const mode_v[] = { "chroot", "pivot", NULL };
static const char *const then_v[] = { "wait", "exit", NULL };
static const char *const carry_v[] = { "auto", "none", "list", NULL };
static const char *const cgroup_v[] = { "keep", "rw", NULL };
static const char *const mid_v[] = { "keep", "generate", NULL };
static const char *const hostkeys_v[] = { "keep", "regenerate", NULL };
static const char *const image_change_v[] = { "allow", "warn", "refuse", NULL };

#define F(field) offsetof(struct peer_config, field)
#define LIST_SEPS ", \t"

static const struct cfg_key keys[] = {
	{ "config", NULL, "/etc/stint/peer.ini", "FILE",
	  "INI file, section [peer] (default /etc/stint/peer.ini if present)", .off = F(config_file), .short_opt = 'c',
	  .type = CFG_STR, .flags = CFG_ARGV_ONLY | CFG_CONFIG_FILE },
	{ "socket", "STINT_SOCKET", NULL, "PATH", "the init's handoff socket, as the peer sees it (required)",
	  .off = F(socket), .short_opt = 's', .type = CFG_PATH, .flags = CFG_GLOBAL },
	{ "mode", "STINT_PEER_MODE", "pivot", NULL, "pivot_root the container, or let the init chroot",
	  .u.choices = mode_v, .off = F(mode), .type = CFG_ENUM },
	{ "then", NULL, "wait", NULL, "after READY: serve and prepare again for a restarted init, or exit",
	  .u.choices = then_v, .off = F(then), .type = CFG_ENUM },
	{ "state", "STINT_PEER_STATE", NULL, "DIR", "the persistent volume: upper = DIR/upper, work = DIR/work",
	  .off = F(state), .type = CFG_PATH },
	{ "upper", NULL, NULL, "DIR", "instead of state: the overlay's upper dir", .off = F(upper), .type = CFG_PATH },
	{ "work", NULL, NULL, "DIR", "instead of state: the overlay's work dir", .off = F(work), .type = CFG_PATH },
	{ "lower", NULL, "image", "image|PATH[:PATH...]", "the image's own root, or these dirs (first = topmost)",
	  .u.parse = parse_lower, .off = F(lower), .type = CFG_CUSTOM },
	{ "root", NULL, NULL, "DIR", "where the overlay is mounted in the container (default: the init's root)",
	  .off = F(root), .type = CFG_PATH },
	{ "carry", NULL, "auto", NULL,
	  "the container's mounts carried into the new root: auto, none, or list (include= only)", .u.choices = carry_v,
	  .off = F(carry), .type = CFG_ENUM },
	{ "include", NULL, NULL, "PATH,...", "carried even if excluded (carry=list: the only ones)",
	  .u.seps = LIST_SEPS, .off = F(include), .type = CFG_LIST, .flags = CFG_ABSOLUTE },
	{ "exclude", NULL, NULL, "PATH,...", "not carried, nor anything below them", .u.seps = LIST_SEPS,
	  .off = F(exclude), .type = CFG_LIST, .flags = CFG_ABSOLUTE },
	{ "tmpfs", NULL, NULL, "PATH[:K=V...],...", "fresh tmpfs mounts in the new root", .u.parse = parse_tmpfs,
	  .off = F(tmpfs), .type = CFG_CUSTOM },
	{ "cgroup", NULL, "keep", NULL, "rw: make the container's cgroup at cgroup-path writable",
	  .u.choices = cgroup_v, .off = F(cgroup), .type = CFG_ENUM },
	{ "cgroup-path", NULL, "/sys/fs/cgroup/systemd", "PATH", "the hierarchy cgroup=rw applies to",
	  .off = F(cgroup_path), .type = CFG_PATH },
	{ "console", NULL, NULL, "PATH", "a path in the container bound at /dev/console in the new root",
	  .off = F(console), .type = CFG_PATH },
	{ "machine-id", NULL, "keep", NULL, "generate: write /etc/machine-id in the new root if it has none",
	  .u.choices = mid_v, .off = F(machine_id), .type = CFG_ENUM },
	{ "boot-id", NULL, "generate", NULL,
	  "generate: each start of the OS gets its own boot id (over /proc/sys/kernel/random/boot_id)",
	  .u.choices = mid_v, .off = F(boot_id), .type = CFG_ENUM },
	{ "ssh-host-keys", NULL, "regenerate", NULL,
	  "regenerate: the image's SSH host keys are replaced by the pod's own (made on its first boot)",
	  .u.choices = hostkeys_v, .off = F(ssh_host_keys), .type = CFG_ENUM },
	{ "on-image-change", "STINT_PEER_ON_IMAGE_CHANGE", "warn", NULL,
	  "a start on another image: boot (allow), boot and log the shadow report (warn), or boot nothing until "
	  "`stint-peer image accept` (refuse)",
	  .u.choices = image_change_v, .off = F(on_image_change), .type = CFG_ENUM },
	{ "notify", NULL, NULL, "PATH", "serve an sd_notify socket here, shown in the new root at notify-target",
	  .off = F(notify), .type = CFG_PATH },
	{ "notify-target", NULL, "/run/host/notify/notify.sock", "PATH",
	  "where the notify socket appears in the new root", .off = F(notify_target), .type = CFG_PATH },
	{ "run-dir", "STINT_PEER_RUN_DIR", "/run/stint-peer", "DIR",
	  "the peer's own files: state, trust record (a directory only the sidecar mounts)", .off = F(run_dir),
	  .type = CFG_PATH },
	{ "state-file", "STINT_PEER_STATE_FILE", NULL, "PATH",
	  "the readiness record `status` reads (default RUN-DIR/state)", .off = F(state_file), .type = CFG_PATH },
	{ "ready-path", NULL, NULL, "PATH", "ready once PATH exists in the new root (inits without sd_notify)",
	  .off = F(ready_path), .type = CFG_PATH },
	{ "timeout", NULL, "30", "SECS", "wait for the init's answer to READY", .min = 1, .max = 3600,
	  .off = F(timeout_ms), .type = CFG_MS },
	{ "prepare-timeout", NULL, "60", "SECS", "the whole preparation of the new root", .min = 1, .max = 3600,
	  .off = F(prepare_timeout_ms), .type = CFG_MS },
	{ "handshake-timeout", NULL, "10", "SECS", "connecting to the init and receiving its HELLO", .min = 1,
	  .max = 600, .off = F(handshake_timeout_ms), .type = CFG_MS },
	{ "wait-socket", NULL, "0", "SECS", "wait for the socket to appear before concluding there is no init",
	  .min = 0, .max = 86400, .off = F(wait_socket_ms), .type = CFG_MS },
	{ "log-level", "STINT_LOG_LEVEL", "info", "LEVEL",
	  "error, warn, info or debug (quiet = error, verbose = debug)", .u.parse = cfg_parse_log_level,
	  .off = F(log_level), .type = CFG_CUSTOM },
	{ "verbose", NULL, NULL, NULL, "log debug lines too (= --log-level debug)", .min = LOG_DEBUG,
	  .off = F(log_level), .short_opt = 'v', .type = CFG_FLAG, .flags = CFG_ARGV_ONLY | CFG_GLOBAL },
	{ "quiet", NULL, NULL, NULL, "log errors only (= --log-level error)", .min = LOG_ERROR, .off = F(log_level),
	  .short_opt = 'q', .type = CFG_FLAG, .flags = CFG_ARGV_ONLY | CFG_GLOBAL },
	{ "version", NULL, NULL, NULL, "print the version and exit", .short_opt = 'V', .type = CFG_VERSION,
	  .flags = CFG_ARGV_ONLY | CFG_GLOBAL },
	CFG_KEY_HELP(CFG_ARGV_ONLY | CFG_GLOBAL),
};

#define PEER_EPILOG                                                                                                    \
	"\nEvery option but -c, -v, -q, -V and -h is also a key of peer.ini's [peer] section.\n"                       \
	"Precedence: defaults < file < environment (env) < options. See stint-peer(8).\n"

/* Every command of the peer but ready reads the same [peer] keys. */
#define PEER_PROGRAM(text)                                                                                             \
	{                                                                                                              \
		.name = "stint-peer", .section = "peer", .keys = keys, .n_keys = ARRAY_SIZE(keys), .usage = text,      \
		.epilog = PEER_EPILOG,                                                                                 \
	}

const struct cfg_program peer_prepare_program =
	PEER_PROGRAM("usage: stint-peer [-s SOCKET] [-v|-q] prepare [-c FILE] [--KEY VALUE]...\n"
		     "Build the persistent root of the init's container and switch it there.\n\n");

const struct cfg_program peer_status_program =
	PEER_PROGRAM("usage: stint-peer status [--state-file PATH | --run-dir DIR | -c FILE] [-q|-v]\n"
		     "Exit 0 if the OS is ready. The state file is state-file, else RUN-DIR/state;\n"
		     "every prepare key is read (file, environment, options). -q (log-level error)\n"
		     "prints nothing when ready, -v (debug) also the boot count and the init.\n\n");

const struct cfg_program peer_doctor_program =
	PEER_PROGRAM("usage: stint-peer doctor [-c FILE] [--json] [--KEY VALUE]...\n"
		     "Check what a boot needs (the init, capabilities, cgroups, the volume, the kernel)\n"
		     "and print a table with the fix for each failure (--json: as JSON). Exit 0 when\n"
		     "nothing failed, 1 otherwise, 2 on a bad option. Reads the keys prepare reads.\n\n");

/* The commands a user runs in the sidecar about the volume's image and
 * upper layer (docs/peer.md): they read the keys that locate the volume
 * (state=, or upper= and work=), from peer.ini like prepare. */
const struct cfg_program peer_image_program =
	PEER_PROGRAM("usage: stint-peer image [show] [-c FILE] [--state DIR]\n"
		     "       stint-peer image accept [-c FILE] [--state DIR]\n"
		     "       stint-peer image record [-c FILE] [--state DIR] [--on-image-change POLICY] IMAGE-DIR\n"
		     "show: the image records of the persistent volume (meta/) and the last shadow report;\n"
		     "accept: let the image on-image-change=refuse stopped boot at the next start;\n"
		     "record: record IMAGE-DIR as the volume's image, as prepare does at a boot.\n\n");

const struct cfg_program peer_diff_program =
	PEER_PROGRAM("usage: stint-peer diff [--shadowed] [--json] [-c FILE] [--state DIR]\n"
		     "What the upper layer adds (A), changes (C), deletes (D) and replaces (R: an opaque\n"
		     "directory) relative to the current image, from its manifest on the volume.\n"
		     "--shadowed: the upper's entries that hide a change between the previous image and\n"
		     "the current one (the shadow report). --json: one JSON document.\n\n");

const struct cfg_program peer_export_program =
	PEER_PROGRAM("usage: stint-peer export [-c FILE] [--state DIR] OUT.tar|-\n"
		     "The upper layer as an OCI image layer (tar, whiteouts as .wh. entries) into OUT.tar\n"
		     "or stdout: `buildah add CTR OUT.tar /` and `buildah commit` put it on the old image.\n\n");

const struct cfg_program peer_global_program = {
	.name = "stint-peer",
	.section = "peer",
	.keys = keys,
	.n_keys = ARRAY_SIZE(keys),
	.usage = "usage: stint-peer [-s SOCKET] [-v|-q] COMMAND ...\n"
		 "  exec [--] CMD [ARG]...   receive the init's fds, export STINT_FD_* and exec CMD\n"
		 "  ready [--root DIR | --pivoted] [--timeout SECS]   (inside exec) the root is ready\n"
		 "  abort REASON             (inside exec) tell the init preparation failed\n"
		 "  prepare [-c FILE] [--KEY VALUE]...   build the persistent root and switch\n"
		 "  status [--state-file P | --run-dir DIR | -c FILE] [-q|-v]   readiness probe\n"
		 "  enter [--run-dir DIR] [--] [CMD]...   (in the sidecar) run CMD inside the booted OS\n"
		 "  attach [--target DIR] [--] [CMD]...   (in the sidecar) the sidecar's tools beside the OS\n"
		 "  doctor [-c FILE] [--json]   check what a boot needs, with the fixes\n"
		 "  image [show | accept | record DIR] [-c FILE]   the volume's image records\n"
		 "  diff [--shadowed] [--json] [-c FILE]   the upper layer against the image\n"
		 "  export [-c FILE] OUT.tar|-   the upper layer as an OCI layer tarball\n"
		 "`stint-peer prepare --help` lists the keys.\n\nOptions before COMMAND:\n",
	.epilog = "See stint-peer(8) and docs/peer.md.\n",
};

int peer_config_validate(const struct peer_config *c, char *err, size_t errlen)
{
	if (!c->socket)
		return errorf(err, errlen, "no socket: give -s PATH, socket= in peer.ini or STINT_SOCKET");
	if (!c->state && (!c->upper || !c->work))
		return errorf(err, errlen, "no persistent volume: give state=DIR, or both upper= and work=");
	if (c->state && (c->upper || c->work))
		return errorf(err, errlen, "state= and upper=/work= exclude each other");
	if (c->carry == PEER_CARRY_LIST && c->include.n == 0)
		return errorf(err, errlen, "carry=list needs include=PATH,...");
	if (c->root && strcmp(c->root, "/") == 0)
		return errorf(err, errlen, "root: the new root cannot be '/'");
	if (c->notify && strcmp(strrchr(c->notify, '/'), strrchr(c->notify_target, '/')) != 0)
		return errorf(err, errlen,
			      "notify %s and notify-target %s: the socket's directory is shown in the new root, so "
			      "their last components must be the same",
			      c->notify, c->notify_target);
	return 0;
}

int peer_config_load(const struct cfg_program *p, struct peer_config *c, int argc, char **argv, int *first)
{
	struct cfg_args a;
	char err[1024];

	memset(c, 0, sizeof(*c));
	if (cfg_load(p, c, argc, argv, &a, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	if (a.action == CFG_DO_HELP) {
		cfg_help(p, STDOUT_FILENO, 0);
		return 0;
	}
	if (a.action == CFG_DO_VERSION) {
		static const char version[] = "stint-peer " STINT_VERSION "\n";

		return write(STDOUT_FILENO, version, sizeof(version) - 1) < 0;
	}
	*first = a.first;
	return -1;
}
