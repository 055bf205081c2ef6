/* Fuzz target "peer_ini": stint-peer's settings for prepare, loaded as the
 * peer loads them through the config engine (src/config.c) and its key
 * table (src/peer/config.c): defaults, the command line's syntax, the INI
 * file, the command line's values, then the checks of the whole
 * (peer_config_validate()). The input is the file, then after a NUL byte
 * the arguments, NUL-separated (fuzz_config.h).
 * Invariants: no crash, no UB, no leak; a refusal has a reason; a loaded
 * config holds only values its key table allows.
 *
 * load() is the adapter to the config code: when that code changes, it is
 * the one function to change. */
#include <stdint.h>
#include <string.h>

#include "../../src/peer/peer_config.h"
#include "fuzz_config.h"
#include "stint/log.h"

static void load(struct fuzz_config_input *in)
{
	static struct peer_config c;
	const struct cfg_program *p = &peer_prepare_program;
	struct cfg_args args;
	char err[1024];

	memset(&c, 0, sizeof(c));
	memset(err, 0x55, sizeof(err)); /* not NUL: an unterminated reason shows */
	cfg_store_reset(); /* the engine's store is for one load */
	FUZZ_CHECK(cfg_defaults(p, &c, err, sizeof(err)) == 0, "the defaults are refused");
	if (cfg_argv(p, &c, in->argc, in->argv, 0, false, &args, err, sizeof(err)) < 0 ||
	    cfg_file(p, &c, in->file, true, err, sizeof(err)) < 0 ||
	    cfg_argv(p, &c, in->argc, in->argv, 0, true, &args, err, sizeof(err)) < 0) {
		fuzz_config_refused(err, sizeof(err));
		return;
	}
	FUZZ_CHECK(args.first >= 1 && args.first <= in->argc, "first operand %d of %d", args.first, in->argc);
	fuzz_check_config(p, &c);
	if (peer_config_validate(&c, err, sizeof(err)) < 0)
		fuzz_config_refused(err, sizeof(err));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("stint-peer");
	log_set_level(-1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_config_input in;

	fuzz_config_split(data, size, "prepare", &in); /* argv[0] is the command */
	load(&in);
	return 0;
}
