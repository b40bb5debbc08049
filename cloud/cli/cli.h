/*
 * cli.h - what anshim-cloud's subcommands share: the usage error, the
 * --config / --keys options and loading the configuration and store.
 * Single-threaded CLI use.
 */
#ifndef CL_CLI_H
#define CL_CLI_H

#include <stdint.h>

#include "clconfig.h"
#include "store.h"

#define CL_EXIT_USAGE 2

/* Print "anshim-cloud: MESSAGE" and the --help hint; returns CL_EXIT_USAGE. */
int cl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The --config value from argv (NULL if not given). */
const char *cl_cli_config_path(int argc, char **argv);

/* Load the configuration: the --config file (must exist), else the
 * default file if present, else built-in defaults.  Prints errors. */
int cl_cli_load_config(struct cl_config *cfg, int argc, char **argv);

/* Open the store of cfg (read-only or not).  Prints errors. */
int cl_cli_open_store(struct cl_store **out, const struct cl_config *cfg, int readonly);

/* Parse a gateway id (32 hex digits) or a device public key (64 hex
 * digits, or a device.pub file) into id (and pk when a key was given;
 * *have_pk says which).  0 or an error. */
int cl_cli_gateway_arg(const char *arg, uint8_t id[16], uint8_t pk[32], int *have_pk);

/* The end of a time span given as text: a time as as_parse_time takes it,
 * and a bare date (2026-03-02) means the end of that day, local time.
 * 0 or AS_E_TIME. */
int cl_cli_parse_until(const char *text, int64_t *out);

#define CL_CLI_USER_MAX 63

/* The Unix user running the command (its login name, else "uid:N"), for
 * the audit log and the policy history; out holds CL_CLI_USER_MAX + 1. */
void cl_cli_unix_user(char out[CL_CLI_USER_MAX + 1]);

#endif
