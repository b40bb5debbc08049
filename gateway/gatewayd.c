/*
 * anshim-gatewayd - the venue gateway daemon.
 *
 * Wires the modules together on one libuv loop: scan sources -> check-in
 * pipeline -> writer thread -> LMDB journal, plus the control socket and
 * the retention purge timer.  The run itself (configuration file, loop,
 * signals: TERM/INT stop, HUP reloads; the systemd notify/watchdog
 * protocol) is common's daemon.c, which calls the start, stop, reload and
 * clean-up below; check_startup is shared with --check-config.  SIGHUP
 * also re-reads the policy file in the state directory.  All state lives
 * in one struct gw_daemon owned by main; only the writer thread runs
 * elsewhere.
 */
#include "checkin.h"
#include "clock.h"
#include "control.h"
#include "gwconfig.h"
#include "journal.h"
#include "policy_store.h"
#include "sources.h"
#include "sync.h"
#include "writer.h"
#ifdef ANSHIM_STAFF_SCREEN
#include "staffauth.h"
#include "staffweb.h"
#endif

#include "anshim/bytes.h"
#include "anshim/daemon.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/keyfile.h"
#include "anshim/log.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RETIRED_SOURCES 16

struct purge_waiter {
	void (*done)(void *arg, int status, uint64_t purged);
	void *arg;
	struct purge_waiter *next;
};

struct gw_daemon {
	uv_loop_t *loop;
	const char *config_path;
	struct gw_config cfg;
	uint8_t authority_pk[AS_SIGN_PK_LEN];
	uint8_t device_pk[AS_SIGN_PK_LEN];
	uint8_t device_sk[AS_SIGN_SK_LEN];
	uint8_t gw_id[AS_GWID_LEN];
	uint8_t import_key[32];
	struct gw_journal *journal;
	struct gw_writer *writer;
	struct gw_clock clock;
	struct gw_policy_store policy;
	struct gw_checkin checkin;
	struct gw_sources *sources;
	struct gw_sources *retired[MAX_RETIRED_SOURCES];
	size_t n_retired;
	struct gw_control *control;
#ifdef ANSHIM_STAFF_SCREEN
	struct gw_staffweb *web;
#endif
	char web_error[512];        /* why the staff screen is not running, or "" */
	char web_url[128];          /* where it runs, or "" */
	struct gw_sync *sync;
	struct gw_sync_config sync_cfg;
	uv_timer_t purge_timer, release_timer;
	int timers_open;
	struct gw_write_req purge_req;
	int purge_running;
	struct purge_waiter *purge_waiters;
	int stopping;
	uint64_t started_mono_ms;   /* for the heartbeat's up_since */
};

static const char usage_text[] =
"Usage: anshim-gatewayd [--config FILE] [--check-config]\n"
"       anshim-gatewayd --print-example-config\n"
"\n"
"The Anshim venue gateway daemon. It reads visitor passes and cards from\n"
"the configured scan sources, verifies them offline against the health\n"
"authority's key, and journals every accepted check-in durably in LMDB\n"
"before answering 'accepted'. Paper-register entries arrive sealed through\n"
"the control socket (anshim-gw register / import), or are typed on the\n"
"staff screen, which seals them at once. With a broker set, it sends signed\n"
"batches to the cloud, forgets them only on the cloud's signed ack, and\n"
"sends a signed heartbeat every heartbeat_interval (5 minutes by default),\n"
"so that the cloud can tell a quiet venue from a dead gateway.\n"
"\n"
"It also serves the staff screen, on http://127.0.0.1:8470 by default\n"
"(web_listen, web_port): /kiosk shows the rotating venue code full screen\n"
"and each scan's outcome for 2 seconds (for Chromium in kiosk mode on the\n"
"counter's touchscreen); /staff, behind the staff PIN ('anshim-gw\n"
"staff-pin'), takes paper-register entries and CSV uploads, sealed at once,\n"
"and shows the status in plain words. On the venue's LAN it needs HTTPS\n"
"(web_tls_cert, web_tls_key) and the PIN; 5 wrong PINs lock a device out.\n"
"web_listen off turns it off.\n"
"\n"
"Options:\n"
"  -c, --config FILE        configuration file (default " GW_DEFAULT_CONFIG ";\n"
"                           it must exist)\n"
"      --check-config       validate the configuration, print the effective\n"
"                           settings, run the start-up checks (device key,\n"
"                           authority key, sources, time zone) and exit: 0\n"
"                           if the daemon would start, 1 with the reason if\n"
"                           not\n"
"      --print-example-config\n"
"                           print a commented configuration with every key\n"
"  -h, --help               this text\n"
"\n"
"Before the first start run 'anshim-gw init' to create the device key.\n"
"Signals: TERM/INT stop cleanly (sources closed, journal flushed); HUP\n"
"reloads the configuration and the staff PIN. With NOTIFY_SOCKET set\n"
"(systemd Type=notify) it reports READY=1 and feeds the watchdog.\n";

/* ---- observers ---- */

static void on_outcome(void *ctx, const struct gw_outcome_event *ev)
{
	struct gw_daemon *d = ctx;
	struct as_strbuf b = {0};

	gw_control_event_json(&b, ev);
	as_log(ev->outcome == GW_OUTCOME_ACCEPTED ? AS_LOG_INFO : AS_LOG_NOTICE, "check-in %s",
	       b.failed ? gw_outcome_name(ev->outcome) : b.p);
	as_strbuf_free(&b);
	gw_control_event(d->control, ev);
#ifdef ANSHIM_STAFF_SCREEN
	gw_staffweb_event(d->web, ev);
#endif
	if (ev->outcome == GW_OUTCOME_ACCEPTED)
		gw_sync_kick(d->sync);
}

/* ---- purge ---- */

static void on_purge_done(struct gw_write_req *req)
{
	struct gw_daemon *d = req->data;
	struct purge_waiter *w = d->purge_waiters;

	d->purge_running = 0;
	d->purge_waiters = NULL;
	gw_journal_release_pages(d->journal); /* the pass touched every page */
	if (req->status)
		as_log(AS_LOG_ERR, "purge failed: %s", as_strerror(req->status));
	else if (req->purged)
		as_log(AS_LOG_INFO, "purged %llu records past retention (or dated in the future)",
		       (unsigned long long)req->purged);
	while (w) {
		struct purge_waiter *next = w->next;
		w->done(w->arg, req->status, req->purged);
		free(w);
		w = next;
	}
}

static void start_purge(void *ctx, void (*done)(void *arg, int status, uint64_t purged),
			void *arg)
{
	struct gw_daemon *d = ctx;
	int64_t now = gw_clock_now();

	if (done) {
		struct purge_waiter *w = calloc(1, sizeof *w);
		if (!w) {
			done(arg, -ENOMEM, 0);
			return;
		}
		w->done = done;
		w->arg = arg;
		w->next = d->purge_waiters;
		d->purge_waiters = w;
	}
	if (d->purge_running || d->stopping)
		return;
	memset(&d->purge_req, 0, sizeof d->purge_req);
	d->purge_req.kind = GW_WRITE_PURGE;
	d->purge_req.horizon = now - d->cfg.retention;
	d->purge_req.sent_horizon = now - d->cfg.sent_retention;
	/* With a trusted clock, a record dated beyond the skew (typed while
	 * the clock was years ahead) would never age out, and the cloud
	 * refuses it: replace it too.  This boot's unsynced records are about
	 * to be corrected and are spared. */
	if (gw_clock_synced(&d->clock) || d->clock.has_offset) {
		d->purge_req.future_horizon = gw_clock_trusted_now(&d->clock) + GW_TIME_SKEW;
		memcpy(d->purge_req.boot_id, d->clock.boot_id, AS_BOOT_ID_LEN);
		d->purge_req.has_boot_id = 1;
	}
	d->purge_req.done = on_purge_done;
	d->purge_req.data = d;
	d->purge_running = 1;
	gw_writer_submit(d->writer, &d->purge_req);
}

static void on_purge_timer(uv_timer_t *t)
{
	start_purge(t->data, NULL, NULL);
}

/* Appends and reads leave journal pages mapped in; they are page cache, not
 * the daemon's own memory, but they count in its RSS.  Let them go now and
 * then so a small Pi's accounting stays honest. */
static void on_release_timer(uv_timer_t *t)
{
	struct gw_daemon *d = t->data;

	gw_journal_release_pages(d->journal);
}

/* ---- status ---- */

static const char *clock_state(const struct gw_daemon *d)
{
	if (gw_clock_synced(&d->clock))
		return "synced";
	return d->clock.has_offset ? "corrected" : "unsynced";
}

static void status_json(void *ctx, struct as_strbuf *b)
{
	struct gw_daemon *d = ctx;
	struct gw_journal_stats st;
	const struct gw_checkin_counters *k = &d->checkin.counters;
	char id_hex[2 * AS_GWID_LEN + 1];
	int rc = gw_journal_stats(d->journal, &st);

	as_hex_encode(id_hex, d->gw_id, AS_GWID_LEN);
	as_strbuf_printf(b, "{\"gateway_id\":\"%s\",\"collecting\":%s,\"alert_level\":%d,"
			 "\"clock\":\"%s\"", id_hex,
			 gw_policy_store_collecting(&d->policy, (int)d->cfg.collect_level) ?
			 "true" : "false",
			 gw_policy_store_level(&d->policy), clock_state(d));
	if (rc == 0)
		as_strbuf_printf(b, ",\"records\":%llu,\"last_seq\":%llu,\"acked_seq\":%llu,"
				 "\"unsent\":%llu,\"oldest_unsent\":%lld,\"map_used\":%llu,"
				 "\"map_size\":%llu",
				 (unsigned long long)st.records, (unsigned long long)st.last_seq,
				 (unsigned long long)st.acked_seq, (unsigned long long)st.unsent,
				 (long long)st.oldest_unsent, (unsigned long long)st.map_used,
				 (unsigned long long)st.map_size);
	as_strbuf_printf(b, ",\"accepted\":%llu,\"duplicate\":%llu,\"rejected\":%llu,"
			 "\"not_collecting\":%llu,\"storage_full\":%llu,\"in_flight\":%u",
			 (unsigned long long)k->accepted, (unsigned long long)k->duplicate,
			 (unsigned long long)k->rejected, (unsigned long long)k->not_collecting,
			 (unsigned long long)k->storage_full, d->checkin.in_flight);
	{
		uint32_t issuer_keys;
		int64_t v1_until;

		gw_policy_store_passes(&d->policy, &issuer_keys, &v1_until);
		as_strbuf_printf(b, ",\"issuer_keys\":%u,\"v1_passes_until\":", issuer_keys);
		if (v1_until < 0)
			as_strbuf_add(b, "null");
		else
			as_strbuf_printf(b, "%lld", (long long)v1_until);
	}
	as_strbuf_add(b, ",\"last_error\":");
	as_strbuf_add_json(b, rc ? as_strerror(rc) :
			   d->checkin.last_error ? as_strerror(d->checkin.last_error) : "");
	as_strbuf_add(b, ",\"sources\":");
	gw_sources_status_json(d->sources, b);
	gw_sync_status_json(d->sync, b);
	as_strbuf_add(b, ",\"web\":{\"url\":");
	as_strbuf_add_json(b, d->web_url);
	as_strbuf_add(b, ",\"error\":");
	as_strbuf_add_json(b, d->web_error);
	as_strbuf_add(b, "}}");
}

static const uint8_t *contact_key(void *ctx)
{
	struct gw_daemon *d = ctx;

	return gw_policy_store_contact_key(&d->policy);
}

static int set_offline(void *ctx, int offline)
{
	struct gw_daemon *d = ctx;

	if (!d->sync)
		return -ENOTCONN;
	gw_sync_set_offline(d->sync, offline);
	return 0;
}

static const struct gw_control_ops control_ops = {status_json, start_purge, contact_key,
						  set_offline};

/* ---- the staff screen ---- */

static int web_enabled(const struct gw_config *cfg)
{
	return strcmp(cfg->web_listen, "off") != 0;
}

#ifdef ANSHIM_STAFF_SCREEN
static const struct gw_staffweb_ops web_ops = {status_json, contact_key};

static void web_config(struct gw_staffweb_config *wc, const struct gw_config *cfg,
		       char *pin_file, size_t pin_len)
{
	snprintf(pin_file, pin_len, "%s/" GW_STAFF_PIN_FILE, cfg->state_dir);
	memset(wc, 0, sizeof *wc);
	wc->listen = cfg->web_listen;
	wc->port = (uint16_t)cfg->web_port;
	wc->tls_cert = cfg->web_tls_cert;
	wc->tls_key = cfg->web_tls_key;
	wc->web_dir = cfg->web_dir;
	wc->pin_file = pin_file;
	wc->lockout = cfg->staff_lockout;
	wc->session = cfg->staff_session;
	wc->venue_id = (uint32_t)cfg->venue_id;
	wc->code_slot = (unsigned)cfg->code_slot;
	wc->retention = cfg->retention;
	wc->timezone = cfg->timezone;
}

/* Start the staff screen.  A configuration error stops the daemon; a
 * failure to listen (the port taken) does not: check-ins go on, and the
 * status and log say why the screen is missing. */
static int start_web(struct gw_daemon *d, char *err, size_t err_len)
{
	struct gw_staffweb_config wc;
	char pin_file[PATH_MAX];
	int rc;

	if (!web_enabled(&d->cfg))
		return 0;
	web_config(&wc, &d->cfg, pin_file, sizeof pin_file);
	rc = gw_staffweb_start(&d->web, d->loop, &wc, &d->checkin, d->device_sk, d->gw_id,
			       &web_ops, d, d->web_error, sizeof d->web_error);
	if (rc == AS_E_CONFIG || rc == -ENOMEM) {
		snprintf(err, err_len, "%s", d->web_error);
		return rc;
	}
	if (rc) {
		as_log(AS_LOG_ERR, "the staff screen is not running: %s (check-ins go on; free "
		       "the port or change web_port, then restart)", d->web_error);
		return 0;
	}
	d->web_error[0] = '\0';
	snprintf(d->web_url, sizeof d->web_url, "%s://%s%s%s:%u/",
		 gw_staffweb_tls(d->web) ? "https" : "http", strchr(wc.listen, ':') ? "[" : "",
		 wc.listen, strchr(wc.listen, ':') ? "]" : "", (unsigned)gw_staffweb_port(d->web));
	return 0;
}
#endif

/* ---- configuration ---- */

static void apply_checkin_config(struct gw_daemon *d)
{
	struct gw_checkin_config cc = {
		.freshness = d->cfg.freshness,
		.duplicate_window = d->cfg.duplicate_window,
		.min_level = (int)d->cfg.collect_level,
		.retention = d->cfg.retention,
	};

	d->checkin.cfg = cc;
	d->checkin.recent.window = cc.duplicate_window;
}

static int lists_equal(const struct as_config_list *a, const struct as_config_list *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->items[i], b->items[i]) != 0)
			return 0;
	return 1;
}

static int str_changed(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

/* Offer the policy file in the state directory again (an operator may have
 * placed a newer one); only a validly signed, newer policy is applied. */
static void reload_policy_file(struct gw_daemon *d)
{
	unsigned char *data;
	size_t len;
	int rc = as_file_read_all(d->policy.path, AS_POLICY_MAX_BYTES, &data, &len);

	if (rc == -ENOENT)
		return;
	if (!rc) {
		rc = gw_policy_store_offer(&d->policy, data, len);
		free(data);
	}
	if (rc < 0)
		as_log(AS_LOG_ERR, "policy file %s refused: %s (keeping alert level %d)",
		       d->policy.path, as_strerror(rc), gw_policy_store_level(&d->policy));
	else if (rc == 1)
		as_log(AS_LOG_NOTICE, "policy applied: alert level %d, %s",
		       gw_policy_store_level(&d->policy),
		       gw_policy_store_collecting(&d->policy, (int)d->cfg.collect_level) ?
		       "collecting" : "not collecting");
}

static void reload_config(void *ctx)
{
	struct gw_daemon *d = ctx;
	struct gw_config fresh;
	char err[PATH_MAX + 512];
	int rc;

	memset(&fresh, 0, sizeof fresh);
	rc = gw_config_load(&fresh, d->config_path, err, sizeof err);
	if (!rc)
		rc = gw_sources_check(&fresh.sources, err, sizeof err);
	if (rc) {
		as_log(AS_LOG_ERR, "reload refused, keeping the running configuration: %s", err);
		gw_config_free(&fresh);
		return;
	}
	if (str_changed(fresh.state_dir, d->cfg.state_dir) ||
	    str_changed(fresh.authority_key, d->cfg.authority_key) ||
	    str_changed(fresh.control_socket, d->cfg.control_socket) ||
	    fresh.map_size != d->cfg.map_size ||
	    fresh.commit_max_records != d->cfg.commit_max_records || fresh.clock != d->cfg.clock ||
	    fresh.heartbeat_interval != d->cfg.heartbeat_interval ||
	    str_changed(fresh.web_listen, d->cfg.web_listen) || fresh.web_port != d->cfg.web_port ||
	    str_changed(fresh.timezone, d->cfg.timezone))
		as_log(AS_LOG_WARNING, "reload: state_dir, authority_key, control_socket, "
		       "map_size, commit_max_records, clock, heartbeat_interval, timezone and the "
		       "staff screen's settings (web_*, staff_*, venue_id, code_slot) take effect "
		       "at the next restart");
	if (!lists_equal(&fresh.sources, &d->cfg.sources)) {
		struct gw_sources *next = NULL;
		if (d->n_retired == MAX_RETIRED_SOURCES) {
			as_log(AS_LOG_ERR, "reload: too many source changes; restart the daemon");
		} else {
			gw_sources_stop(d->sources);
			d->retired[d->n_retired++] = d->sources;
			rc = gw_sources_start(&next, d->loop, &d->checkin, &fresh.sources,
					      (size_t)fresh.max_line, err, sizeof err);
			if (rc)
				as_log(AS_LOG_ERR, "reload: sources: %s", err);
			d->sources = next;
		}
	}
	/* Keep the settings that only a restart changes. */
	{
		struct gw_config old = d->cfg;
		char *keep_state = old.state_dir, *keep_auth = old.authority_key,
		     *keep_ctl = old.control_socket;
		fresh.map_size = old.map_size;
		fresh.commit_max_records = old.commit_max_records;
		fresh.clock = old.clock;
		old.state_dir = fresh.state_dir;
		old.authority_key = fresh.authority_key;
		old.control_socket = fresh.control_socket;
		fresh.state_dir = keep_state;
		fresh.authority_key = keep_auth;
		fresh.control_socket = keep_ctl;
		d->cfg = fresh;
		gw_config_free(&old);
	}
	as_log_init("anshim-gatewayd", gw_config_log_level(&d->cfg));
	apply_checkin_config(d);
	reload_policy_file(d);
#ifdef ANSHIM_STAFF_SCREEN
	if (d->web && gw_staffweb_reload_pin(d->web, err, sizeof err) != 0)
		as_log(AS_LOG_ERR, "reload: staff PIN: %s (keeping the previous PIN)", err);
#endif
	uv_timer_set_repeat(&d->purge_timer, (uint64_t)d->cfg.purge_interval * 1000);
	as_log(AS_LOG_NOTICE, "configuration reloaded from %s", d->config_path);
}

/* ---- lifecycle (the loop, signals and watchdog are daemon.c's) ---- */

static void stop_daemon(void *ctx)
{
	struct gw_daemon *d = ctx;

	d->stopping = 1;
	as_log(AS_LOG_NOTICE, "stopping: closing sources, flushing the journal");
	gw_sources_stop(d->sources);
#ifdef ANSHIM_STAFF_SCREEN
	gw_staffweb_stop(d->web);
#endif
	gw_control_stop(d->control);
	gw_sync_stop(d->sync);
	d->sync = NULL;
	if (d->timers_open) {
		uv_close((uv_handle_t *)&d->purge_timer, NULL);
		uv_close((uv_handle_t *)&d->release_timer, NULL);
		d->timers_open = 0;
	}
	/* Finishes every queued write and delivers its outcome first. */
	gw_writer_stop(d->writer);
	d->writer = NULL;
}

/* Read the keys start-up needs into the given buffers: the device key and
 * import key that 'anshim-gw init' made in state_dir, and the authority's
 * public key.  Messages name the file and the fix. */
static int read_keys(const struct gw_config *cfg, const char *config_path,
		     uint8_t device_sk[AS_SIGN_SK_LEN], uint8_t import_key[32],
		     uint8_t authority_pk[AS_SIGN_PK_LEN], char *err, size_t err_len)
{
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof path, "%s/device.key", cfg->state_dir);
	rc = as_keyfile_read(path, AS_KEY_SIGN_SECRET, device_sk);
	if (!rc) {
		snprintf(path, sizeof path, "%s/import.key", cfg->state_dir);
		rc = as_keyfile_read(path, AS_KEY_PSEUDONYM, import_key);
	}
	if (rc) {
		snprintf(err, err_len, "cannot read %s: %s (%s)", path, as_strerror(rc),
			 rc == -ENOENT ? "run 'anshim-gw init --config FILE' first, as the "
			 "gateway's user" : rc == AS_E_KEY_PERMS ? "make it mode 0600" :
			 "is state_dir right, and does the gateway's user own it?");
		return rc;
	}
	rc = as_keyfile_read(cfg->authority_key, AS_KEY_SIGN_PUBLIC, authority_pk);
	if (rc) {
		snprintf(err, err_len, "cannot read the authority key %s: %s (copy the "
			 "authority's sign.pub there, or set authority_key in %s)",
			 cfg->authority_key, as_strerror(rc), config_path);
		return rc;
	}
	return 0;
}

/* Everything start-up checks before it opens anything: the keys and the
 * scan sources.  --check-config runs it too. */
static int check_startup(const void *config, const char *config_path, char *err,
			 size_t err_len)
{
	const struct gw_config *cfg = config;
	uint8_t sk[AS_SIGN_SK_LEN], import_key[32], pk[AS_SIGN_PK_LEN];
	int rc = read_keys(cfg, config_path, sk, import_key, pk, err, err_len);

	sodium_memzero(sk, sizeof sk);
	sodium_memzero(import_key, sizeof import_key);
	if (!rc)
		rc = gw_sources_check(&cfg->sources, err, err_len);
	if (!rc)
		rc = gw_config_check_timezone(cfg, config_path, err, err_len);
#ifdef ANSHIM_STAFF_SCREEN
	if (!rc && web_enabled(cfg)) {
		struct gw_staffweb_config wc;
		char pin_file[PATH_MAX];
		web_config(&wc, cfg, pin_file, sizeof pin_file);
		rc = gw_staffweb_check(&wc, err, err_len);
	}
#endif
	return rc;
}

static int load_state_keys(struct gw_daemon *d, char *err, size_t err_len)
{
	int rc = check_startup(&d->cfg, d->config_path, err, err_len);

	if (!rc)
		rc = read_keys(&d->cfg, d->config_path, d->device_sk, d->import_key,
			       d->authority_pk, err, err_len);
	if (rc)
		return rc;
	crypto_sign_ed25519_sk_to_pk(d->device_pk, d->device_sk);
	as_gateway_id(d->gw_id, d->device_pk);
	return 0;
}

static int start_daemon(void *ctx, uv_loop_t *loop, char *err, size_t err_len)
{
	struct gw_daemon *d = ctx;
	char path[PATH_MAX];
	enum gw_clock_mode mode = (enum gw_clock_mode)d->cfg.clock;
	int rc;

	d->loop = loop;
	if ((rc = load_state_keys(d, err, err_len)) != 0)
		return rc;
	/* The staff screen reads register times in the venue's zone; set it
	 * while this is the only thread. */
	if ((rc = gw_config_use_timezone(&d->cfg, d->config_path, err, err_len)) != 0)
		return rc;
	rc = gw_clock_init(&d->clock, mode);
	if (rc) {
		snprintf(err, err_len, "cannot read the boot id: %s", as_strerror(rc));
		return rc;
	}
	snprintf(path, sizeof path, "%s/policy", d->cfg.state_dir);
	rc = gw_policy_store_init(&d->policy, d->authority_pk, path, err, err_len);
	if (rc == -ENOMEM)
		return rc;
	if (rc) /* keep running, fail closed: no valid policy means not collecting */
		as_log(AS_LOG_ERR, "%s", err);
	if (!d->policy.have_policy)
		as_log(AS_LOG_WARNING, "no policy yet (%s): scans are answered 'not-collecting' "
		       "until a signed policy arrives", path);
	snprintf(path, sizeof path, "%s/journal", d->cfg.state_dir);
	rc = gw_journal_open(&d->journal, path, d->cfg.map_size, err, err_len);
	if (rc)
		return rc;
	rc = gw_writer_start(&d->writer, d->loop, d->journal, (unsigned)d->cfg.commit_max_records);
	if (rc) {
		snprintf(err, err_len, "cannot start the writer thread: %s", uv_strerror(rc));
		return rc;
	}
	d->checkin.authority_pk = d->authority_pk;
	d->checkin.import_key = d->import_key;
	d->checkin.policy = &d->policy;
	d->checkin.clock = &d->clock;
	d->checkin.writer = d->writer;
	d->checkin.observer = on_outcome;
	d->checkin.observer_ctx = d;
	{
		struct gw_checkin_config cc = {d->cfg.freshness, d->cfg.duplicate_window,
					       (int)d->cfg.collect_level, d->cfg.retention};
		if ((rc = gw_checkin_init(&d->checkin, &cc)) != 0)
			return rc;
	}
	rc = gw_checkin_load_recent(&d->checkin, d->journal);
	if (rc) {
		snprintf(err, err_len, "cannot read the journal: %s", as_strerror(rc));
		return rc;
	}
	gw_journal_release_pages(d->journal);
	rc = gw_control_start(&d->control, d->loop, d->cfg.control_socket, &d->checkin,
			      &control_ops, d, err, err_len);
	if (rc)
		return rc;
	rc = gw_sources_start(&d->sources, d->loop, &d->checkin, &d->cfg.sources,
			      (size_t)d->cfg.max_line, err, err_len);
	if (rc)
		return rc;
#ifdef ANSHIM_STAFF_SCREEN
	if ((rc = start_web(d, err, err_len)) != 0)
		return rc;
#else
	if (web_enabled(&d->cfg))
		snprintf(d->web_error, sizeof d->web_error, "this build has no staff screen");
#endif
	if (d->cfg.broker) {
		struct gw_sync_deps deps = {d->journal, d->writer, &d->clock, &d->policy,
					    d->device_sk, d->gw_id, d->authority_pk,
					    d->started_mono_ms, NULL, d};
		struct gw_sync_config *sc = &d->sync_cfg;
		AS_MQTT_OPTIONS_FROM_CONFIG(&sc->mqtt, &d->cfg, d->config_path);
		sc->mqtt.keepalive = (int)d->cfg.mqtt_keepalive;
		sc->mqtt.reconnect_min_ms = (uint64_t)d->cfg.reconnect_min * 1000;
		sc->mqtt.reconnect_max_ms = (uint64_t)d->cfg.reconnect_max * 1000;
		sc->mqtt.log_failures = 1;
		sc->batch_max_records = (unsigned)d->cfg.batch_max_records;
		sc->batch_max_bytes = (size_t)d->cfg.batch_max_bytes;
		sc->inflight = (unsigned)d->cfg.inflight_batches;
		sc->ack_timeout_ms = (uint64_t)d->cfg.ack_timeout * 1000;
		sc->heartbeat_interval = (uint32_t)d->cfg.heartbeat_interval;
		rc = gw_sync_start(&d->sync, d->loop, sc, &deps, err, err_len);
		if (rc)
			return rc;
	} else {
		as_log(AS_LOG_WARNING, "no broker configured: working offline; check-ins stay "
		       "in the journal until 'broker' is set");
	}
	uv_timer_init(d->loop, &d->purge_timer);
	d->purge_timer.data = d;
	uv_timer_start(&d->purge_timer, on_purge_timer, 1000, (uint64_t)d->cfg.purge_interval * 1000);
	uv_timer_init(d->loop, &d->release_timer);
	d->release_timer.data = d;
	uv_timer_start(&d->release_timer, on_release_timer, 30000, 30000);
	d->timers_open = 1;
	return 0;
}

static int load_config(void *ctx, const char *path, char *err, size_t err_len)
{
	struct gw_daemon *d = ctx;

	d->config_path = path;
	return gw_config_load(&d->cfg, path, err, err_len);
}

static int log_level(const void *ctx)
{
	const struct gw_daemon *d = ctx;

	return gw_config_log_level(&d->cfg);
}

static void ready(void *ctx)
{
	struct gw_daemon *d = ctx;
	char id_hex[2 * AS_GWID_LEN + 1];

	as_hex_encode(id_hex, d->gw_id, AS_GWID_LEN);
	as_log(AS_LOG_NOTICE, "gateway %s ready: configuration %s, %zu source(s), alert level "
	       "%d, %s", id_hex, d->config_path, d->cfg.sources.n,
	       gw_policy_store_level(&d->policy),
	       gw_policy_store_collecting(&d->policy, (int)d->cfg.collect_level) ?
	       "collecting" : "not collecting");
}

static void cleanup(void *ctx)
{
	struct gw_daemon *d = ctx;

	gw_sources_free(d->sources);
	for (size_t i = 0; i < d->n_retired; i++)
		gw_sources_free(d->retired[i]);
	gw_control_free(d->control);
#ifdef ANSHIM_STAFF_SCREEN
	gw_staffweb_free(d->web);
#endif
	gw_checkin_free(&d->checkin);
	gw_policy_store_free(&d->policy);
	gw_journal_close(d->journal);
	sodium_memzero(d->device_sk, sizeof d->device_sk);
	sodium_memzero(d->import_key, sizeof d->import_key);
	gw_config_free(&d->cfg);
}

int main(int argc, char **argv)
{
	static const struct as_daemon_spec spec = {
		"anshim-gatewayd", usage_text, GW_DEFAULT_CONFIG, gw_config_table,
		sizeof(struct gw_config), check_startup,
	};
	static const struct as_daemon_ops ops = {
		load_config, log_level, start_daemon, ready, stop_daemon, reload_config, cleanup,
	};
	static struct gw_daemon d;

	d.started_mono_ms = gw_clock_mono_ms();
	return as_daemon_main(argc, argv, &spec, &ops, &d);
}
