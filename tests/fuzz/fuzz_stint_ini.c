/* Fuzz target "stint_ini": the init's settings, loaded as the init loads
 * them through the config engine (src/config.c) and its key table
 * (init/options.c): defaults, the command line's syntax, the INI file,
 * then the command line's values (the environment is left out: it is not
 * an input of the guest or of the fuzzer). The input is the file, then
 * after a NUL byte the arguments, NUL-separated (fuzz_config.h).
 * Invariants: no crash, no UB, no leak; a refusal has a reason; a loaded
 * config holds only values its key table allows.
 *
 * load() is the adapter to the config code: when that code changes, it is
 * the one function to change. */
#include <stdint.h>
#include <string.h>

#include "../../init/init.h"
#include "fuzz_config.h"
#include "stint/log.h"

static void load(struct fuzz_config_input *in)
{
	static struct config cfg;
	struct cfg_args args;
	char err[768];

	memset(&cfg, 0, sizeof(cfg));
	memset(err, 0x55, sizeof(err)); /* not NUL: an unterminated reason shows */
	cfg_store_reset(); /* the engine's store is for one load */
	FUZZ_CHECK(cfg_defaults(&config_program, &cfg, err, sizeof(err)) == 0, "the defaults are refused");
	if (cfg_argv(&config_program, &cfg, in->argc, in->argv, 0, false, &args, err, sizeof(err)) < 0 ||
	    cfg_file(&config_program, &cfg, in->file, true, err, sizeof(err)) < 0 ||
	    cfg_argv(&config_program, &cfg, in->argc, in->argv, 0, true, &args, err, sizeof(err)) < 0) {
		fuzz_config_refused(err, sizeof(err));
		return;
	}
	FUZZ_CHECK(args.first >= 1 && args.first <= in->argc, "first operand %d of %d", args.first, in->argc);
	fuzz_check_config(&config_program, &cfg);
	cfg.command = args.first < in->argc ? in->argv + args.first : (char **)cfg.file_command.v;
	FUZZ_CHECK(cfg.command && cfg.command[0], "no command to run");
	config_log(&cfg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("stint");
	log_set_level(-1); /* below LOG_ERROR: the refusals are not the point */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_config_input in;

	fuzz_config_split(data, size, "stint", &in);
	load(&in);
	return 0;
}
