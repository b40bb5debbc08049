/*
 * daemon.h - the command line both daemons share: -c/--config FILE,
 * --check-config, --print-example-config, -h/--help.
 */
#ifndef ANSHIM_DAEMON_H
#define ANSHIM_DAEMON_H

#include <stddef.h>

#include "anshim/config.h"

struct as_daemon_spec {
	const char *prog;                     /* "anshim-gatewayd" */
	const char *usage;                    /* the --help text */
	const char *default_config;           /* "/etc/anshim/gateway.conf" */
	const struct as_config_option *table; /* the daemon's config table */
	size_t config_size;                   /* sizeof the config struct */
	/* Checks beyond the table for --check-config (may be NULL): 0 or an
	 * error with a message in err. */
	int (*extra_check)(const void *config, char *err, size_t err_len);
};

/*
 * Parse argv.  Returns -1 when the daemon should run, with *config_path
 * set (borrowed from argv or the spec); otherwise the exit status after
 * doing what was asked (help, example configuration, --check-config with
 * the effective settings printed) or reporting bad usage (status 2).
 * Single-threaded start-up.
 */
int as_daemon_args(int argc, char **argv, const struct as_daemon_spec *spec,
		   const char **config_path);

#endif
