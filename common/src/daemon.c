/*
 * daemon.c - the life of a daemon, shared by anshim-gatewayd and
 * anshim-cloudd (see daemon.h).
 *
 * Invariants: the signal handles and the watchdog timer are open from just
 * before ops->start until the stop, and closed exactly once (struct
 * daemon_run.stopping); ops->stop runs exactly once, before those handles
 * close, so a daemon never sees a signal after it stopped.  --check-config
 * loads the file into a scratch config struct of the daemon's size, runs
 * the spec's start-up check on it and releases it again.
 *
 * Threads: everything here runs on the main thread, which is the loop
 * thread.
 */
#include "anshim/daemon.h"

#include "anshim/args.h"
#include "anshim/identity.h"
#include "anshim/log.h"
#include "anshim/sdnotify.h"
#include "anshim/usage.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ERR_MAX (PATH_MAX + 1024)

int as_daemon_config_path(const char *prog, const char *given, const char *dflt,
			  const char **used, char *err, size_t err_len)
{
	const char *path = given ? given : dflt;

	*used = path;
	if (access(path, F_OK) == 0)
		return 0;
	if (given)
		snprintf(err, err_len, "%s: no such configuration file (check the --config "
			 "argument)", path);
	else
		snprintf(err, err_len, "no configuration file %s: write one with '%s "
			 "--print-example-config > %s' and edit it, or name another with "
			 "--config FILE", path, prog, path);
	return -ENOENT;
}

static int check_config(const struct as_daemon_spec *spec, const char *given)
{
	char err[ERR_MAX];
	const char *path;
	void *cfg;
	int rc;

	if (as_daemon_config_path(spec->prog, given, spec->default_config, &path, err,
				  sizeof err)) {
		fprintf(stderr, "%s: %s\n", spec->prog, err);
		return 1;
	}
	cfg = calloc(1, spec->config_size);
	if (!cfg) {
		fprintf(stderr, "%s: out of memory\n", spec->prog);
		return 1;
	}
	rc = as_config_load_file(path, spec->table, cfg, err, sizeof err);
	if (rc) {
		fprintf(stderr, "%s: %s\n", spec->prog, err);
	} else {
		as_config_dump(stdout, spec->table, cfg);
		rc = spec->check ? spec->check(cfg, path, err, sizeof err) : 0;
		if (rc)
			fprintf(stderr, "%s: %s parses, but %s would not start: %s\n", spec->prog,
				path, spec->prog, err);
		else
			printf("# configuration %s is valid and %s can start with it\n", path,
			       spec->prog);
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

	*config_path = NULL;
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
	if (optind < argc)
		return as_usage_error(spec->prog, "unexpected argument '%s'", argv[optind]);
	return check ? check_config(spec, *config_path) : -1;
}

/* ---- the run ---- */

struct daemon_run {
	const struct as_daemon_ops *ops;
	void *ctx;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t watchdog;
	int stopping;
};

static void on_watchdog(uv_timer_t *t)
{
	(void)t;
	as_sd_notify("WATCHDOG=1");
}

static void run_stop(struct daemon_run *r)
{
	if (r->stopping)
		return;
	r->stopping = 1;
	as_sd_notify("STOPPING=1");
	r->ops->stop(r->ctx);
	uv_close((uv_handle_t *)&r->sig_term, NULL);
	uv_close((uv_handle_t *)&r->sig_int, NULL);
	uv_close((uv_handle_t *)&r->sig_hup, NULL);
	uv_close((uv_handle_t *)&r->watchdog, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct daemon_run *r = h->data;

	if (signum != SIGHUP)
		run_stop(r);
	else if (r->ops->reload)
		r->ops->reload(r->ctx);
	else
		as_log(AS_LOG_NOTICE, "SIGHUP: nothing to reload");
}

int as_daemon_main(int argc, char **argv, const struct as_daemon_spec *spec,
		   const struct as_daemon_ops *ops, void *ctx)
{
	struct daemon_run r;
	char err[ERR_MAX];
	const char *given, *path;
	uv_loop_t *loop;
	uint64_t watchdog_usec;
	int rc, status = 0;

	memset(&r, 0, sizeof r);
	r.ops = ops;
	r.ctx = ctx;
	rc = as_daemon_args(argc, argv, spec, &given);
	if (rc >= 0)
		return rc;
	as_log_init(spec->prog, AS_LOG_INFO);
	if (as_crypto_init()) {
		as_log(AS_LOG_ERR, "libsodium failed to initialise");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	rc = as_daemon_config_path(spec->prog, given, spec->default_config, &path, err,
				   sizeof err);
	if (!rc)
		rc = ops->load(ctx, path, err, sizeof err);
	if (rc) {
		as_log(AS_LOG_ERR, "%s", err);
		return 1;
	}
	as_log_init(spec->prog, ops->log_level(ctx));
	as_log(AS_LOG_INFO, "configuration %s", path);
	loop = uv_default_loop();
	uv_signal_init(loop, &r.sig_term);
	uv_signal_init(loop, &r.sig_int);
	uv_signal_init(loop, &r.sig_hup);
	uv_timer_init(loop, &r.watchdog);
	r.sig_term.data = r.sig_int.data = r.sig_hup.data = &r;
	uv_signal_start(&r.sig_term, on_signal, SIGTERM);
	uv_signal_start(&r.sig_int, on_signal, SIGINT);
	uv_signal_start(&r.sig_hup, on_signal, SIGHUP);
	watchdog_usec = as_sd_watchdog_usec();
	if (watchdog_usec)
		uv_timer_start(&r.watchdog, on_watchdog, 0, watchdog_usec / 2000 + 1);
	rc = ops->start(ctx, loop, err, sizeof err);
	if (rc) {
		as_log(AS_LOG_ERR, "%s", err);
		status = 1;
		run_stop(&r);
	} else {
		ops->ready(ctx);
		as_sd_notify("READY=1\nSTATUS=running");
	}
	uv_run(loop, UV_RUN_DEFAULT);
	if (uv_loop_close(loop))
		as_log(AS_LOG_WARNING, "event loop closed with handles still open");
	ops->cleanup(ctx);
	if (!status)
		as_log(AS_LOG_NOTICE, "stopped");
	return status;
}
