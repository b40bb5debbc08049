/*
 * daemon.c - the shared daemon command line (see daemon.h).  Start-up
 * only, single-threaded; --check-config loads the file into a scratch
 * config struct of the daemon's size and releases it again.
 */
#include "anshim/daemon.h"

#include "anshim/args.h"
#include "anshim/usage.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

static int check_config(const struct as_daemon_spec *spec, const char *path)
{
	char err[PATH_MAX + 512];
	void *cfg = calloc(1, spec->config_size);
	int rc;

	if (!cfg) {
		fprintf(stderr, "%s: out of memory\n", spec->prog);
		return 1;
	}
	rc = as_config_load_file(path, spec->table, cfg, err, sizeof err);
	if (!rc && spec->extra_check)
		rc = spec->extra_check(cfg, err, sizeof err);
	if (rc) {
		fprintf(stderr, "%s: %s\n", spec->prog, err);
	} else {
		as_config_dump(stdout, spec->table, cfg);
		printf("# configuration %s is valid\n", path);
	}
	as_config_free(spec->table, cfg);
	free(cfg);
	return rc ? 1 : 0;
}

int as_daemon_args(int argc, char **argv, const struct as_daemon_spec *spec,
		   const char **config_path)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"print-example-config", no_argument, NULL, 'E'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char title[128];
	int c, check = 0;

	*config_path = spec->default_config;
	optind = 1;
	while ((c = as_args_next(spec->prog, argc, argv, "c:h", options, NULL)) != -1) {
		switch (c) {
		case 'c': *config_path = optarg; break;
		case 'C': check = 1; break;
		case 'E':
			snprintf(title, sizeof title, "%s configuration (%s)", spec->prog,
				 spec->default_config);
			return as_config_write_example(stdout, spec->table, title) ? 1 : 0;
		case 'h': fputs(spec->usage, stdout); return 0;
		default: return AS_EXIT_USAGE; /* as_args_next said why */
		}
	}
	if (optind < argc) {
		return as_usage_error(spec->prog, "unexpected argument '%s'", argv[optind]);
	}
	return check ? check_config(spec, *config_path) : -1;
}
