/*
 * daemon.h - what both daemons (anshim-gatewayd, anshim-cloudd) share:
 *
 *  - the command line: -c/--config FILE, --check-config,
 *    --print-example-config, -h/--help (as_daemon_args);
 *  - finding the configuration file: the named one, or the default, which
 *    must exist; the file used is named in the log (as_daemon_config_path);
 *  - the run: logging, libsodium, the configuration, one libuv loop with
 *    the signals (TERM/INT stop, HUP reload), the systemd notify/watchdog
 *    protocol, start-up, the ready line, shutdown and clean-up
 *    (as_daemon_main).  A daemon supplies only its own parts (struct
 *    as_daemon_ops).
 *
 * --check-config runs the same start-up checks as a real start (spec's
 * check: keys readable, scan sources valid, ...), so "valid" means the
 * daemon would start.
 */
#ifndef ANSHIM_DAEMON_H
#define ANSHIM_DAEMON_H

#include <stddef.h>
#include <uv.h>

#include "anshim/config.h"

struct as_daemon_spec {
	const char *prog;                     /* "anshim-gatewayd" */
	const char *usage;                    /* the --help text */
	const char *default_config;           /* "/etc/anshim/gateway.conf" */
	const struct as_config_option *table; /* the daemon's config table */
	size_t config_size;                   /* sizeof the config struct */
	/* What start-up needs beyond the table (keys present and readable, ...),
	 * checked by --check-config and by the daemon's own start: 0, or an
	 * error with the message and its fix in err.  config is a loaded
	 * configuration read from config_path.  May be NULL. */
	int (*check)(const void *config, const char *config_path, char *err, size_t err_len);
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

/*
 * The configuration file to read: given (from --config), else dflt.  It
 * must exist: otherwise returns -ENOENT with a message in err that names
 * the file and how to make one ('prog --print-example-config').  The same
 * rule for every program that runs on a configuration or creates state
 * from it.  Single-threaded start-up.
 */
int as_daemon_config_path(const char *prog, const char *given, const char *dflt,
			  const char **used, char *err, size_t err_len);

/* A daemon's own parts, each called on the loop thread with its ctx. */
struct as_daemon_ops {
	/* Load the configuration file at path into ctx (keep path: it is
	 * borrowed for the whole run).  0, or an error with the message in err. */
	int (*load)(void *ctx, const char *path, char *err, size_t err_len);
	/* The syslog level the loaded configuration asks for. */
	int (*log_level)(const void *ctx);
	/* Start everything on loop.  On failure (message in err) whatever did
	 * start is closed by stop, so the loop can finish. */
	int (*start)(void *ctx, uv_loop_t *loop, char *err, size_t err_len);
	/* Log the ready line (as_daemon_main adds nothing to it). */
	void (*ready)(void *ctx);
	/* SIGTERM/SIGINT (or a failed start): close every handle start opened,
	 * finishing durable work first.  Called once. */
	void (*stop)(void *ctx);
	/* SIGHUP: reload what can be reloaded.  May be NULL. */
	void (*reload)(void *ctx);
	/* After the loop has finished: free everything. */
	void (*cleanup)(void *ctx);
};

/*
 * The whole life of a daemon: argv (as_daemon_args), logging, libsodium,
 * SIGPIPE ignored, the configuration (as_daemon_config_path, ops->load),
 * the default loop with the signal handlers and the watchdog, ops->start,
 * READY=1 and ops->ready, the loop until stopped, STOPPING=1, ops->stop,
 * ops->cleanup.  Returns the process exit status: 0 after a clean stop, 1
 * when start-up failed, 2 on bad usage.  Call once, from main.
 */
int as_daemon_main(int argc, char **argv, const struct as_daemon_spec *spec,
		   const struct as_daemon_ops *ops, void *ctx);

#endif
