/*
 * anshim-consoled - the investigator console: the health officials' web
 * application over HTTPS (docs/CONSOLE.md).
 *
 * It opens the cloud store read-only beside anshim-cloudd (LMDB allows
 * many reader processes), so a crash or an overload here never stops
 * ingest; it holds the pseudonym key (a phone typed in a case search
 * becomes a pid) and the authority's public signing key, and never reads
 * contact.key: names and phones come only from the reveal service.
 *
 * The HTTP server (common's httpserver.c: libmicrohttpd, GnuTLS) runs its
 * own fixed pool of threads, which run router.c and the API handlers; the
 * libuv loop of common's daemon.c only runs the signals and systemd's
 * watchdog.  Invariants: everything the handlers see (struct cs_ctx) is
 * set before the server starts and read-only until it has stopped; the
 * server stops (and every running request returns) before the store
 * closes.
 */
#include "accounts.h"
#include "api.h"
#include "authority.h"
#include "clconfig.h"
#include "pidcache.h"
#include "router.h"
#include "sessions.h"
#include "store.h"

#include "anshim/daemon.h"
#include "anshim/error.h"
#include "anshim/httpserver.h"
#include "anshim/log.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define CS_DEFAULT_CONFIG "/etc/anshim/console.conf"
#define CS_BODY_MAX (64 * 1024)

struct cs_config {
	char *listen;
	int64_t port;
	char *tls_cert;
	char *tls_key;
	char *web_dir;
	char *cloud_config;
	int64_t session_idle;
	int64_t session_absolute;
	int64_t max_sessions;
	int64_t threads;
	int64_t max_connections;
	int64_t max_connections_per_ip;
	int64_t connection_timeout;
	int log_level;
};

#define OPT(field) offsetof(struct cs_config, field)

static const char *const log_choices[] = {"error", "warning", "notice", "info", "debug", NULL};

static const struct as_config_option cs_config_table[] = {
	AS_HTTP_LISTEN_CONFIG_ROWS(struct cs_config, "8080", "(127.0.0.1, ::1)",
				   "the health office LAN's or 0.0.0.0",
				   "Browsers are then sent Strict-Transport-Security and the session "
				   "cookie is marked Secure.",
				   "the console's"),
	{"web_dir", AS_CFG_PATH, OPT(web_dir), 0, 0, NULL, 0, "/usr/share/anshim/console",
	 "The console's pages (HTML, CSS, JavaScript modules), served as they are: "
	 "no CDN, nothing from another host."},
	{"cloud_config", AS_CFG_PATH, OPT(cloud_config), 0, 0, NULL, 0, "/etc/anshim/cloud.conf",
	 "The cloud's configuration, from which the console takes store_dir (opened "
	 "read-only), keys_dir (pseudonym.key and sign.pub only), audit_log, "
	 "accounts and reveal_socket. Under systemd, keys given as credentials "
	 "(LoadCredential=pseudonym.key and sign.pub) are read from "
	 "$CREDENTIALS_DIRECTORY instead of keys_dir."},
	{"session_idle", AS_CFG_DURATION, OPT(session_idle), 1, 24 * 3600, NULL, 0, "15m",
	 "A session ends after this long without a request."},
	{"session_absolute", AS_CFG_DURATION, OPT(session_absolute), 1, 7 * 24 * 3600, NULL, 0,
	 "8h", "A session ends this long after its login, however busy."},
	{"max_sessions", AS_CFG_INT, OPT(max_sessions), 1, 100000, NULL, 0, "1000",
	 "Most sessions alive at once. When all are in use a login is refused (429); "
	 "no session is ever pushed out."},
	{"threads", AS_CFG_INT, OPT(threads), 1, 64, NULL, 0, "4",
	 "Threads that answer requests (a fixed pool). Each also bounds how many "
	 "password hashes (64 MiB each) run at once."},
	{"max_connections", AS_CFG_INT, OPT(max_connections), 1, 65536, NULL, 0, "256",
	 "Most open connections in all; more wait in the listen queue."},
	{"max_connections_per_ip", AS_CFG_INT, OPT(max_connections_per_ip), 0, 65536, NULL, 0,
	 "64", "Most open connections from one client address (0: no limit). Keep it "
	 "above a browser's six connections times the users behind one address "
	 "(a proxy)."},
	{"connection_timeout", AS_CFG_DURATION, OPT(connection_timeout), 1, 3600, NULL, 0, "30s",
	 "A connection that sends nothing for this long is closed: slow headers "
	 "(slowloris), a stalled body, an idle keep-alive."},
	{"log_level", AS_CFG_ENUM, OPT(log_level), 0, 0, log_choices, 0, "info",
	 "Least important messages to log. 'info' logs each request's method, path, "
	 "status, account and client address (never a query string)."},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL, NULL},
};

static const char usage_text[] =
"Usage: anshim-consoled [--config FILE] [--check-config]\n"
"       anshim-consoled --print-example-config\n"
"\n"
"The Anshim investigator console: the web application of the health\n"
"officials who trace contacts. It serves the console's pages and its JSON\n"
"API (docs/CONSOLE.md) over HTTPS, with accounts of three roles (analyst,\n"
"investigator, supervisor; 'anshim-cloud user add'), server-side sessions\n"
"(cookie anshim_session, HttpOnly, SameSite=Strict, Secure under TLS) that\n"
"end after session_idle without a request or session_absolute in all, and\n"
"a CSRF token that every state-changing request sends in X-CSRF-Token. An\n"
"account is locked for 15 minutes after 5 wrong passwords.\n"
"\n"
"It opens the cloud store read-only beside anshim-cloudd: a crash or an\n"
"overload of the console never stops ingest. It reads the pseudonym key\n"
"and the authority's public key, never contact.key: names and phones come\n"
"only from the reveal service (anshim-revealed), for a reveal that a\n"
"second person approved.\n"
"\n"
"By default it listens on 127.0.0.1 only, with plain HTTP. Any other\n"
"address needs tls_cert and tls_key: it refuses to start otherwise.\n"
"\n"
"Options:\n"
"  -c, --config FILE        configuration (default " CS_DEFAULT_CONFIG "; it\n"
"                           must exist)\n"
"      --check-config       validate it, print the effective settings, run\n"
"                           the start-up checks (cloud configuration, keys,\n"
"                           web files, TLS files, listen address) and exit:\n"
"                           0 if the daemon would start, 1 with the reason\n"
"                           if not\n"
"      --print-example-config\n"
"                           print a commented configuration with every key\n"
"  -h, --help               this text\n"
"\n"
"Signals: TERM and INT stop it (running requests finish first); HUP is\n"
"ignored (accounts are read at every request; other settings need a\n"
"restart).\n"
"\n"
"Files:\n"
"  " CS_DEFAULT_CONFIG "   this daemon's settings\n"
"  /etc/anshim/cloud.conf     the store, keys, audit log, accounts file\n"
"                             and reveal socket it uses (cloud_config)\n"
"  /usr/share/anshim/console  the pages (web_dir)\n"
"\n"
"Manage accounts with 'anshim-cloud user add|passwd|disable|list'.\n";

struct cs_daemon {
	const char *config_path;
	struct cs_config cfg;
	struct cl_config cloud;
	int cloud_loaded;
	struct cl_authority keys;
	struct cl_store *store;
	struct cl_pid_cache *pids;      /* the traces' person number -> pid */
	uv_thread_t pid_fill;           /* fills pids once at start */
	int pid_fill_started;
	struct cs_ctx ctx;
	struct cs_sessions *sessions;
	struct cs_router router;
	struct as_http_server *http;
};

/* Where pseudonym.key and sign.pub are read: systemd's credentials when
 * it gave them, else the cloud's keys_dir. */
static const char *keys_dir_for(const struct cl_config *cloud)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char path[PATH_MAX];

	if (creds && creds[0] == '/' &&
	    snprintf(path, sizeof path, "%s/pseudonym.key", creds) < (int)sizeof path &&
	    access(path, F_OK) == 0)
		return creds;
	return cloud->keys_dir;
}

static int load_cloud(const struct cs_config *cfg, struct cl_config *cloud, char *err,
		      size_t err_len)
{
	char inner[768];
	int rc = cl_config_load(cloud, cfg->cloud_config, inner, sizeof inner);

	if (rc)
		snprintf(err, err_len, "cloud_config: %s", inner);
	return rc;
}

static int load_keys(const struct cl_config *cloud, struct cl_authority *keys,
		     const char *config_path, char *err, size_t err_len)
{
	const char *failed = NULL, *dir = keys_dir_for(cloud);
	int rc = cl_authority_load(keys, dir, CL_KEY_PSEUDONYM | CL_KEY_SIGN_PUBLIC, &failed);

	if (rc)
		snprintf(err, err_len,
			 "cannot load authority key %s: %s (the console needs pseudonym.key and "
			 "sign.pub from keys_dir in the cloud configuration named by %s, readable "
			 "by its user; under systemd, give them with LoadCredential=)",
			 failed ? failed : dir, as_strerror(rc), config_path);
	return rc;
}

/* What start-up needs beyond the table; shared with --check-config. */
static int check_startup(const void *config, const char *config_path, char *err,
			 size_t err_len)
{
	const struct cs_config *cfg = config;
	struct cl_config cloud;
	struct cl_authority keys;
	struct stat st;
	int rc;

	if ((rc = as_http_listen_check(cfg->listen, cfg->tls_cert, cfg->tls_key, config_path,
				       err, err_len)) != 0)
		return rc;
	if (stat(cfg->web_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, err_len, "%s: web_dir %s is not a directory (install the console's "
			 "pages there, or set web_dir)", config_path, cfg->web_dir);
		return -ENOENT;
	}
	memset(&cloud, 0, sizeof cloud);
	rc = load_cloud(cfg, &cloud, err, err_len);
	if (rc == 0) {
		rc = load_keys(&cloud, &keys, cfg->cloud_config, err, err_len);
		cl_authority_wipe(&keys);
	}
	cl_config_free(&cloud);
	return rc;
}

static int load_config(void *ctx, const char *path, char *err, size_t err_len)
{
	struct cs_daemon *d = ctx;

	d->config_path = path;
	return as_config_load_file(path, cs_config_table, &d->cfg, err, err_len);
}

static int log_level(const void *ctx)
{
	const struct cs_daemon *d = ctx;

	return AS_LOG_ERR + d->cfg.log_level;
}

/* The pid cache's fill, on its own thread: traces go on meanwhile (they
 * read what they miss from the store and keep it). */
static void fill_pids(void *arg)
{
	struct cs_daemon *d = arg;
	uint64_t people = 0;
	uint64_t t0 = uv_hrtime();
	int rc = cl_pid_cache_fill(d->pids, d->store, &people);

	if (rc)
		as_log(AS_LOG_WARNING, "pid cache: reading the store's people failed (%s): traces "
		       "read pids from the store as they need them", as_strerror(rc));
	else
		as_log(AS_LOG_INFO, "pid cache: %llu people's pids in memory (%.1f MiB, %.2f s)",
		       (unsigned long long)people,
		       (double)cl_pid_cache_bytes(d->pids) / 1048576.0,
		       (double)(uv_hrtime() - t0) / 1e9);
}

static int start_daemon(void *ctx, uv_loop_t *loop, char *err, size_t err_len)
{
	struct cs_daemon *d = ctx;
	struct stat st;
	int rc;

	(void)loop;
	if ((rc = check_startup(&d->cfg, d->config_path, err, err_len)) != 0)
		return rc;
	if ((rc = load_cloud(&d->cfg, &d->cloud, err, err_len)) != 0)
		return rc;
	d->cloud_loaded = 1;
	if ((rc = load_keys(&d->cloud, &d->keys, d->cfg.cloud_config, err, err_len)) != 0)
		return rc;
	if (stat(d->cloud.accounts, &st) != 0)
		as_log(AS_LOG_WARNING, "no accounts file %s yet: nobody can log in until one is "
		       "made with 'anshim-cloud user add NAME --role supervisor'",
		       d->cloud.accounts);
	char inner[512];
	rc = cl_store_open(&d->store, d->cloud.store_dir, d->cloud.map_size, 1, inner,
			   sizeof inner);
	if (rc) {
		snprintf(err, err_len, "%s%s", inner,
			 rc == -ENOENT ? " (the console only reads the store: anshim-cloudd "
			 "creates it when it first starts)" : "");
		return rc;
	}
	rc = cl_pid_cache_new(0, &d->pids);
	if (rc) {
		snprintf(err, err_len, "pid cache: %s", as_strerror(rc));
		return rc;
	}
	d->ctx.cloud = &d->cloud;
	d->ctx.store = d->store;
	d->ctx.pids = d->pids;
	d->pid_fill_started = uv_thread_create(&d->pid_fill, fill_pids, d) == 0;
	d->ctx.pseudonym_key = d->keys.pseudonym_key;
	d->ctx.sign_pk = d->keys.sign_pk;
	rc = cs_sessions_new(&d->sessions, (size_t)d->cfg.max_sessions, d->cfg.session_idle,
			     d->cfg.session_absolute);
	if (rc) {
		snprintf(err, err_len, "sessions: %s", as_strerror(rc));
		return rc;
	}
	d->router.ctx = &d->ctx;
	d->router.sessions = d->sessions;
	d->router.accounts = d->cloud.accounts;
	d->router.secure_cookie = d->cfg.tls_cert != NULL;
	d->router.routes = cs_api_routes;
	d->router.n_routes = cs_api_routes_count;

	const struct as_http_config http = {
		.address = d->cfg.listen,
		.port = (uint16_t)d->cfg.port,
		.tls_cert_file = d->cfg.tls_cert,
		.tls_key_file = d->cfg.tls_key,
		.threads = (unsigned)d->cfg.threads,
		.max_connections = (unsigned)d->cfg.max_connections,
		.max_connections_per_ip = (unsigned)d->cfg.max_connections_per_ip,
		.connection_timeout = (unsigned)d->cfg.connection_timeout,
		.max_body = CS_BODY_MAX,
		.api_prefix = "/api/",
		.static_dir = d->cfg.web_dir,
		.handler = cs_router_handle,
		.handler_ctx = &d->router,
	};
	rc = as_http_server_start(&http, &d->http, err, err_len);
	return rc;
}

static void ready(void *ctx)
{
	struct cs_daemon *d = ctx;
	int v6 = strchr(d->cfg.listen, ':') != NULL;

	as_log(AS_LOG_NOTICE, "ready: listening on %s://%s%s%s:%u/ (configuration %s, store %s "
	       "read-only, %zu API routes)", d->cfg.tls_cert ? "https" : "http", v6 ? "[" : "",
	       d->cfg.listen, v6 ? "]" : "", (unsigned)as_http_server_port(d->http),
	       d->config_path, d->cloud.store_dir, cs_api_routes_count);
}

static void stop_daemon(void *ctx)
{
	struct cs_daemon *d = ctx;

	/* Every running request returns before this does. */
	as_http_server_stop(d->http);
	d->http = NULL;
}

static void reload_daemon(void *ctx)
{
	(void)ctx;
	as_log(AS_LOG_NOTICE, "SIGHUP: nothing to reload (accounts are read at every request; "
	       "other settings need a restart)");
}

static void cleanup(void *ctx)
{
	struct cs_daemon *d = ctx;

	cs_sessions_free(d->sessions);
	if (d->pid_fill_started)
		uv_thread_join(&d->pid_fill); /* it reads the store */
	cl_store_close(d->store);
	cl_pid_cache_free(d->pids);
	cl_authority_wipe(&d->keys);
	if (d->cloud_loaded)
		cl_config_free(&d->cloud);
	as_config_free(cs_config_table, &d->cfg);
}

int main(int argc, char **argv)
{
	static const struct as_daemon_spec spec = {
		"anshim-consoled", usage_text, CS_DEFAULT_CONFIG, cs_config_table,
		sizeof(struct cs_config), check_startup,
	};
	static const struct as_daemon_ops ops = {
		load_config, log_level, start_daemon, ready, stop_daemon, reload_daemon, cleanup,
	};
	static struct cs_daemon d;

	return as_daemon_main(argc, argv, &spec, &ops, &d);
}
