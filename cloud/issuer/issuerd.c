/*
 * anshim-issuerd - the issuer: the internet-facing service where visitors
 * enrol themselves (docs/ISSUER.md).  A wallet sends a phone number and
 * its holder key; the issuer sends a one-time code to the phone; with the
 * code and the consent the wallet gets an enrolment credential, and with
 * that, batches of single-use visit tokens.
 *
 * It is a process of its own, apart from the console and the aggregator,
 * and holds only what it needs: its own signing key (issuer.key, never
 * the authority's), a hashing key for phones, addresses and codes
 * (hash.key), the authority's public contact key, and its state (an LMDB
 * environment of keyed hashes, sealed capsules and counters; issuer_state.h).
 *
 * The HTTP server (common's httpserver.c) runs a fixed pool of threads
 * that run api.c; the libuv loop of common's daemon.c runs the signals,
 * systemd's watchdog and an hourly purge of what has expired.
 * Invariants: struct is_api is set before the server starts and
 * read-only until it has stopped; the server stops (every running request
 * returns) before the state closes; keys are wiped at clean-up.
 */
#include "capsulefeed.h"
#include "issuer_api.h"
#include "issuerconf.h"
#include "code_sender.h"
#include "issuer_state.h"

#include "anshim/daemon.h"
#include "anshim/error.h"
#include "anshim/httpserver.h"
#include "anshim/log.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IS_BODY_MAX (16 * 1024)
#define PURGE_INTERVAL_MS (3600 * 1000)

static const char usage_text[] =
"Usage: anshim-issuerd [--config FILE] [--check-config]\n"
"       anshim-issuerd --print-example-config\n"
"\n"
"The Anshim issuer: where visitors enrol themselves from their phone. It\n"
"serves a JSON API over HTTPS (docs/ISSUER.md):\n"
"\n"
"  GET  /v1/consent       the consent text, its version and SHA-256\n"
"  GET  /v1/issuer        the issuer's public key\n"
"  POST /v1/enrol/start   a phone number (any usual spelling) and the\n"
"                         wallet's holder key: a 6-digit code is sent to\n"
"                         the phone through code_command\n"
"  POST /v1/enrol/finish  the code and the consent's version and hash:\n"
"                         answers the enrolment credential (holder key,\n"
"                         consent version, expiry; no phone, no pid)\n"
"  POST /v1/tokens        a request signed by the holder key: answers a\n"
"                         batch of single-use visit tokens\n"
"\n"
"A code is stored only as a keyed hash, expires after code_lifetime (5\n"
"minutes), works once, and dies after code_tries (5) wrong tries. Every\n"
"request is rate-limited per phone number, per holder key and per client\n"
"address (token buckets kept in the state directory, so a restart does\n"
"not reset them); a refusal is HTTP 429 with Retry-After. Phone numbers\n"
"are never stored or logged: the state keeps keyed hashes, and for the\n"
"health authority a capsule sealed to its contact key.\n"
"\n"
"On its first start it creates its signing key (STATE/issuer.key, mode\n"
"0600; the public half in STATE/issuer.pub) and its hashing key\n"
"(STATE/hash.key). The authority lists issuer.pub in the signed policy,\n"
"so gateways trust the tokens ('anshim-cloud policy set --issuer-key').\n"
"Revoke a phone with 'anshim-issuer revoke'.\n"
"\n"
"For every batch of tokens it makes their ids (with token_id_key, the\n"
"cloud's tokenid.key: the cloud reads them as the batch's serial and\n"
"index) and one capsule (the phone, sealed to the authority, under fresh\n"
"randomness) and puts it in an outbox in the state directory in the same\n"
"transaction that records the batch; they are published to the cloud's broker (broker, broker_*) on\n"
"anshim/v1/issuer/ISSUER_ID/capsules and leave the outbox only when the\n"
"cloud's signed ack arrives. Tokens are issued while the broker is away.\n"
"\n"
"Plain HTTP is served on a loopback address only (for a TLS proxy in\n"
"front of it); any other listen address needs tls_cert and tls_key.\n"
"\n"
"Options:\n"
"  -c, --config FILE        configuration (default " IS_DEFAULT_CONFIG "; it\n"
"                           must exist)\n"
"      --check-config       validate it, print the effective settings, run\n"
"                           the start-up checks (TLS files, code_command,\n"
"                           consent text, contact key, state directory) and\n"
"                           exit: 0 if the daemon would start, 1 with the\n"
"                           reason if not\n"
"      --print-example-config\n"
"                           print a commented configuration with every key\n"
"  -h, --help               this text\n"
"\n"
"Signals: TERM and INT stop it (running requests finish first); HUP is\n"
"ignored (settings need a restart).\n"
"\n"
"Files:\n"
"  " IS_DEFAULT_CONFIG "      this daemon's settings\n"
"  /var/lib/anshim-issuer       state_dir: keys and state\n"
"  /usr/share/anshim/consent    the consent texts (consent_file)\n";

struct is_daemon {
	const char *config_path;
	struct is_config cfg;
	struct is_keys keys;
	struct is_state *state;
	struct cl_capsulefeed *feed;
	struct as_mqtt_options mqtt;      /* the feed's broker settings */
	struct is_api api;
	struct as_http_server *http;
	uv_timer_t purge;
	int purge_open, feed_started;
};

static int load_config(void *ctx, const char *path, char *err, size_t err_len)
{
	struct is_daemon *d = ctx;

	d->config_path = path;
	return is_config_load(&d->cfg, path, err, err_len);
}

static int log_level(const void *ctx)
{
	const struct is_daemon *d = ctx;

	return AS_LOG_ERR + d->cfg.log_level;
}

static void on_purge(uv_timer_t *t)
{
	struct is_daemon *d = t->data;
	uint64_t dropped = 0;
	int rc = is_state_purge(d->state, (int64_t)time(NULL), &dropped);

	if (rc)
		as_log(AS_LOG_ERR, "purge of expired state failed: %s", as_strerror(rc));
	else if (dropped)
		as_log(AS_LOG_INFO, "purged %llu expired entries", (unsigned long long)dropped);
}

static int start_daemon(void *ctx, uv_loop_t *loop, char *err, size_t err_len)
{
	struct is_daemon *d = ctx;
	const struct is_config *c = &d->cfg;
	int rc;

	if ((rc = is_config_check(c, d->config_path, err, err_len)) != 0)
		return rc;
	if ((rc = is_keys_load(&d->keys, c, IS_KEYS_CREATE, err, err_len)) != 0)
		return rc;
	if ((rc = is_state_open(&d->state, c->state_dir, c->map_size, err, err_len)) != 0)
		return rc;
	if ((rc = cl_capsulefeed_open(&d->feed, is_state_env(d->state), d->keys.issuer_sk, err,
				      err_len)) != 0)
		return rc;
	struct as_mqtt_options *mo = &d->mqtt;
	AS_MQTT_OPTIONS_FROM_CONFIG(mo, c, d->config_path);
	mo->log_failures = 1;
	mo->client_id = c->client_id;
	mo->keepalive = 30;
	mo->clean_session = 0;
	mo->max_buffered = 100;
	mo->reconnect_min_ms = 500;
	mo->reconnect_max_ms = 30000;
	struct cl_capsulefeed_options fo = {.mqtt = mo};
	memcpy(fo.authority_pk, d->keys.authority_pk, AS_SIGN_PK_LEN);
	if ((rc = cl_capsulefeed_start(d->feed, loop, &fo, err, err_len)) != 0)
		return rc;
	d->feed_started = 1;

	struct is_api *a = &d->api;
	a->state = d->state;
	a->feed = d->feed;
	memcpy(a->issuer_sk, d->keys.issuer_sk, sizeof a->issuer_sk);
	memcpy(a->issuer_pk, d->keys.issuer_pk, sizeof a->issuer_pk);
	memcpy(a->hash_key, d->keys.hash_key, sizeof a->hash_key);
	memcpy(a->token_id_key, d->keys.token_id_key, sizeof a->token_id_key);
	memcpy(a->contact_pk, d->keys.contact_pk, sizeof a->contact_pk);
	memcpy(a->consent_hash, d->keys.consent_hash, sizeof a->consent_hash);
	a->consent_text = d->keys.consent_text;
	a->code_command = c->code_command;
	a->code_command_timeout = c->code_command_timeout;
	a->code_lifetime = c->code_lifetime;
	a->code_tries = (unsigned)c->code_tries;
	a->consent_lifetime = c->consent_lifetime;
	a->consent_version = (uint32_t)c->consent_version;
	a->token_lifetime = c->token_lifetime;
	a->request_skew = c->request_skew;
	a->rate_phone = (struct is_rate_rule){c->rate_phone_burst, c->rate_phone_period};
	a->rate_holder = (struct is_rate_rule){c->rate_holder_burst, c->rate_holder_period};
	a->rate_address = (struct is_rate_rule){c->rate_address_burst, c->rate_address_period};

	uv_timer_init(loop, &d->purge);
	d->purge.data = d;
	d->purge_open = 1;
	uv_timer_start(&d->purge, on_purge, 1000, PURGE_INTERVAL_MS);

	const struct as_http_config http = {
		.address = c->listen,
		.port = (uint16_t)c->port,
		.tls_cert_file = c->tls_cert,
		.tls_key_file = c->tls_key,
		.threads = (unsigned)c->threads,
		.max_connections = (unsigned)c->max_connections,
		.max_connections_per_ip = (unsigned)c->max_connections_per_ip,
		.connection_timeout = (unsigned)c->connection_timeout,
		.max_body = IS_BODY_MAX,
		.api_prefix = "/v1/",
		.static_dir = NULL,
		.handler = is_api_handle,
		.handler_ctx = a,
	};
	return as_http_server_start(&http, &d->http, err, err_len);
}

static void ready(void *ctx)
{
	struct is_daemon *d = ctx;
	int v6 = strchr(d->cfg.listen, ':') != NULL;

	as_log(AS_LOG_NOTICE, "ready: listening on %s://%s%s%s:%u/ (configuration %s, state %s, "
	       "consent version %lld)", d->cfg.tls_cert ? "https" : "http", v6 ? "[" : "",
	       d->cfg.listen, v6 ? "]" : "", (unsigned)as_http_server_port(d->http),
	       d->config_path, d->cfg.state_dir, (long long)d->cfg.consent_version);
}

static void stop_daemon(void *ctx)
{
	struct is_daemon *d = ctx;

	as_http_server_stop(d->http);
	d->http = NULL;
	if (d->feed_started) {
		cl_capsulefeed_stop(d->feed);
		d->feed_started = 0;
	}
	if (d->purge_open) {
		uv_close((uv_handle_t *)&d->purge, NULL);
		d->purge_open = 0;
	}
}

static void reload_daemon(void *ctx)
{
	(void)ctx;
	as_log(AS_LOG_NOTICE, "SIGHUP: nothing to reload (settings need a restart)");
}

static void cleanup(void *ctx)
{
	struct is_daemon *d = ctx;

	cl_capsulefeed_close(d->feed);
	is_state_close(d->state);
	sodium_memzero(&d->api, sizeof d->api);
	is_keys_wipe(&d->keys);
	is_config_free(&d->cfg);
}

static int check_startup(const void *config, const char *config_path, char *err,
			 size_t err_len)
{
	const struct is_config *c = config;
	struct is_keys keys;
	int rc = is_config_check(c, config_path, err, err_len);

	if (rc)
		return rc;
	rc = is_keys_load(&keys, c, IS_KEYS_CHECK, err, err_len);
	is_keys_wipe(&keys);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct as_daemon_spec spec = {
		"anshim-issuerd", usage_text, IS_DEFAULT_CONFIG, is_config_table,
		sizeof(struct is_config), check_startup,
	};
	static const struct as_daemon_ops ops = {
		load_config, log_level, start_daemon, ready, stop_daemon, reload_daemon, cleanup,
	};
	static struct is_daemon d;

	return as_daemon_main(argc, argv, &spec, &ops, &d);
}
