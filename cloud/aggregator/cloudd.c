/*
 * anshim-cloudd - the cloud aggregator daemon.
 *
 * One libuv loop: the MQTT client (batches in, acks and the retained policy
 * out), the ingest thread (verify, de-duplicate, index, commit), a daily
 * retention purge in the thread pool (LMDB serialises it with ingest, in
 * short slices), the upgrade of a store written before visit blocks (the
 * same way, until it is done), and the audit witness (witness.h: the audit log's head,
 * retained on the broker).  The run itself (configuration file, loop, signals, the
 * systemd notify/watchdog protocol) is common's daemon.c, which calls the
 * start, stop, reload and clean-up below; check_startup is shared with
 * --check-config.
 */
#include "audithead.h"
#include "authority.h"
#include "clconfig.h"
#include "ingest.h"
#include "policy_set.h"
#include "store.h"
#include "witness.h"

#include "anshim/daemon.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/log.h"

#include <errno.h>
#include "anshim/mqtt.h"
#include "anshim/parse.h"
#include "anshim/policy.h"
#include "anshim/usage.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_TOPIC "anshim/v1/gw/+/batch"
#define WALLET_TOPIC "anshim/v1/wallet/+/checkin"
#define HEARTBEAT_TOPIC "anshim/v1/gw/+/heartbeat"
#define FEED_TOPIC "anshim/v1/issuer/+/capsules"
#define POLICY_TOPIC "anshim/v1/policy"
#define PURGE_SLICE 20000
#define SUB_AUDIT_HEAD 5 /* subscription id of CL_AUDIT_HEAD_TOPIC */
#define SUB_FEED 6       /* subscription id of the issuers' capsule feed */

struct cl_daemon {
	uv_loop_t *loop;
	const char *config_path;
	struct cl_config cfg;
	struct cl_authority keys;
	struct cl_store *store;
	struct cl_ingester *ingester;
	struct as_mqtt *mqtt;
	struct cl_witness *witness;          /* NULL: audit_witness_every 0 */
	uv_timer_t purge_timer;
	int purge_timer_open;
	uv_work_t purge_work;
	int purge_running;
	uint64_t purged;
	int purge_rc;
	int64_t purge_clock_behind;          /* a later cloud time seen, or 0 */
	uv_timer_t upgrade_timer;            /* cl_store_upgrade, while rows remain */
	int upgrade_timer_open;
	uv_work_t upgrade_work;
	int upgrade_running;
	int upgrade_rc;
	uint64_t upgrade_left;               /* rows left */
	uint64_t upgrade_moved;              /* rows moved since the start */
	int upgrade_announced;
	int stopping;
	char batch_topic[160];
	char wallet_topic[160];
	char heartbeat_topic[160];
	char feed_topic[160];
	char policy_path[PATH_MAX];
	char revoked_path[4200];
	char history_path[4200];
	const char *store_override;          /* --store, borrowed from argv */
	int index_role;                      /* --role index */
	struct cl_store *source;             /* index role: the PostgreSQL store */
	uv_timer_t index_timer;
	int index_timer_open;
	uv_work_t index_work;
	int index_running;
	int index_rc;
	uint64_t index_copied, index_behind, index_total;
	int index_caught_up;
};

static const char usage_text[] =
"Usage: anshim-cloudd [--config FILE] [--store URI] [--role ingest|index]\n"
"                     [--check-config]\n"
"       anshim-cloudd --print-example-config\n"
"\n"
"The Anshim cloud aggregator. It subscribes to every gateway's signed\n"
"batches on the MQTT broker, verifies each against the gateway registry,\n"
"de-duplicates by (gateway, seq), indexes visits by venue and time and by\n"
"person and time, commits, and only then publishes a signed ack so the\n"
"gateway may forget what it sent. It also takes the check-ins and\n"
"check-outs that visitors' wallets send after scanning a venue code\n"
"(anshim/v1/wallet/+/checkin): it verifies the credential, the holder's\n"
"signature and the venue code (a poster signed by the authority, or a\n"
"gateway's rotating code shown within app_slot_tolerance of the check-in),\n"
"stores the visit with source 'app' and answers each wallet with a signed\n"
"stored / duplicate / rejected (reason). It takes every gateway's signed\n"
"heartbeat (anshim/v1/gw/+/heartbeat) and keeps each gateway's coverage:\n"
"the periods it was heard from and its silences ('anshim-cloud gateways').\n"
"It takes the visit tokens' capsules that each issuer (anshim-issuerd) sends\n"
"(anshim/v1/issuer/+/capsules, signed by an issuer key the policy lists),\n"
"has the reveal service derive each token's pid, and acknowledges them; a\n"
"gateway's record of a token (pass version 2) is stored under that pid, a\n"
"token seen twice is refused as a replay, and a record whose token has not\n"
"arrived waits for it ('anshim-cloud stats').\n"
"It republishes the last signed policy (retained) on every connection (in\n"
"cluster mode the newest one PostgreSQL keeps, when newer than its own) and\n"
"purges data past retention or dated later than now + time_skew.\n"
"It publishes the audit log's head (its newest entry's seq, hash and\n"
"signature) retained on anshim/v1/audit/head when the log has grown by\n"
"audit_witness_every entries, on every connection and every\n"
"audit_witness_interval, and never for a log that has lost a head it\n"
"witnessed before ('anshim-cloud audit verify --witness' checks it).\n"
"\n"
"Of the secret keys it reads sign.key only (and audit.pub, the audit log's\n"
"public key, for the witness). The pids of paper-register entries come\n"
"from the reveal service (anshim-revealed, at reveal_socket): while it\n"
"cannot be reached, batches holding such entries are not acknowledged,\n"
"and their gateways keep them and send them again.\n"
"\n"
"Options:\n"
"  -c, --config FILE        configuration (default " CL_DEFAULT_CONFIG "; it\n"
"                           must exist)\n"
"      --check-config       validate it, print the effective settings, run\n"
"                           the start-up checks (authority keys) and exit:\n"
"                           0 if the daemon would start, 1 with the reason\n"
"                           if not\n"
"      --store URI          the cluster mode: keep the registry and the visits\n"
"                           in PostgreSQL, postgresql://USER@HOST:PORT/DB\n"
"                           (the configuration's 'store'); several\n"
"                           anshim-cloudd share one database and one\n"
"                           shared_group. Default: the LMDB store in\n"
"                           store_dir\n"
"      --role index         an index node of the cluster mode: no broker;\n"
"                           it keeps the LMDB store in store_dir filled from\n"
"                           the PostgreSQL store (--store), every second,\n"
"                           for tracing ('anshim-cloud trace' and the console\n"
"                           on this machine read it); wallet check-ins are\n"
"                           not copied yet. Default: ingest\n"
"      --print-example-config\n"
"                           print a commented configuration with every key\n"
"  -h, --help               this text\n"
"\n"
"Enrol gateways, set the policy and read statistics with anshim-cloud.\n";

static void on_ack(void *ctx, const struct cl_ingest_ack *ack)
{
	struct cl_daemon *d = ctx;
	int rc;

	if (!d->mqtt)
		return; /* stopping: the gateway resends and is acknowledged later */
	rc = as_mqtt_publish(d->mqtt, ack->topic, ack->payload, ack->len, 1, 0, 0);
	if (rc)
		as_log(AS_LOG_WARNING, "cannot publish an ack (%s); the gateway will resend and "
		       "be acknowledged then", as_strerror(rc));
}

/* Republish the newest policy: this node's STORE/policy, or the newest a
 * PostgreSQL store keeps when that one is newer (policy_set.h), so no
 * node brings back an older policy than the one the broker retains. */
static void publish_saved_policy(struct cl_daemon *d)
{
	char warn[512];
	unsigned char *data;
	size_t len;
	uint64_t seq;
	int rc;

	rc = cl_policy_current(d->cfg.store_dir, d->store, d->keys.sign_pk, &data, &len, &seq,
			       warn, sizeof warn);
	if (warn[0])
		as_log(AS_LOG_WARNING, "%s", warn);
	if (rc == -ENOENT) {
		as_log(AS_LOG_WARNING, "no policy yet: gateways will not collect until one is "
		       "set with 'anshim-cloud policy set --level N'");
		return;
	}
	if (rc) {
		as_log(AS_LOG_ERR, "cannot read %s/policy: %s", d->cfg.store_dir, as_strerror(rc));
		return;
	}
	rc = as_mqtt_publish(d->mqtt, POLICY_TOPIC, data, len, 1, 1, 0);
	free(data);
	if (rc)
		as_log(AS_LOG_ERR, "cannot publish the policy: %s", as_strerror(rc));
	else
		as_log(AS_LOG_INFO, "republished the policy (seq %llu)", (unsigned long long)seq);
}

static void on_connected(void *ctx)
{
	struct cl_daemon *d = ctx;

	as_log(AS_LOG_NOTICE, "connected to %s; subscribing to %s and %s",
	       as_mqtt_current_broker(d->mqtt),
	       d->batch_topic, d->wallet_topic);
	if (as_mqtt_subscribe(d->mqtt, d->batch_topic, 1, 1))
		as_log(AS_LOG_ERR, "cannot subscribe to %s", d->batch_topic);
	if (as_mqtt_subscribe(d->mqtt, d->wallet_topic, 1, 2))
		as_log(AS_LOG_ERR, "cannot subscribe to %s", d->wallet_topic);
	if (as_mqtt_subscribe(d->mqtt, d->heartbeat_topic, 1, 3))
		as_log(AS_LOG_ERR, "cannot subscribe to %s", d->heartbeat_topic);
	if (as_mqtt_subscribe(d->mqtt, d->feed_topic, 1, SUB_FEED))
		as_log(AS_LOG_ERR, "cannot subscribe to %s", d->feed_topic);
	if (d->witness && as_mqtt_subscribe(d->mqtt, CL_AUDIT_HEAD_TOPIC, 1, SUB_AUDIT_HEAD))
		as_log(AS_LOG_ERR, "cannot subscribe to %s", CL_AUDIT_HEAD_TOPIC);
	publish_saved_policy(d);
}

static void on_disconnected(void *ctx, const char *why)
{
	struct cl_daemon *d = ctx;

	if (d->witness)
		cl_witness_disconnected(d->witness);
	as_log(AS_LOG_WARNING, "disconnected from the broker (%s); reconnecting", why);
}

static void on_subscribed(void *ctx, uint64_t id, int ok)
{
	struct cl_daemon *d = ctx;

	if (ok && id == SUB_AUDIT_HEAD && d->witness)
		cl_witness_connected(d->witness);
	if (!ok)
		as_log(AS_LOG_ERR, "the broker refused the %s subscription (check its ACL)",
		       id == 2 ? "wallet check-in" : id == 3 ? "heartbeat" :
		       id == SUB_FEED ? "issuers' capsule feed" :
		       id == SUB_AUDIT_HEAD ? "audit head" : "batch");
}

/* Only the audit head comes here (loop_topic); the rest goes to the
 * receiver, cl_ingester_submit_wait (start_daemon). */
static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len)
{
	struct cl_daemon *d = ctx;

	if (d->witness && strcmp(topic, CL_AUDIT_HEAD_TOPIC) == 0)
		cl_witness_message(d->witness, payload, len);
}

static const struct as_mqtt_handlers mqtt_handlers = {
	on_connected, on_disconnected, on_message, NULL, on_subscribed,
};

/* ---- the audit witness (witness.h) ---- */

static int publish_audit_head(void *ctx, const uint8_t *payload, size_t len)
{
	struct cl_daemon *d = ctx;

	if (!d->mqtt || !as_mqtt_is_connected(d->mqtt))
		return AS_E_MQTT;
	return as_mqtt_publish(d->mqtt, CL_AUDIT_HEAD_TOPIC, payload, len, 1, 1, 0);
}

/* The public keys that verify the audit log (audit.pub, and sign.pub for
 * entries from before the reveal service): a head carries an entry's own
 * signature, so publishing one needs no secret key. */
static int load_witness_keys(const struct cl_config *cfg, struct cl_audit_keys *keys,
			     char *err, size_t err_len)
{
	char why[400];
	int rc = cl_audit_keys_load(keys, cfg->keys_dir, why, sizeof why);

	if (rc)
		snprintf(err, err_len, "the audit witness needs the audit log's public key: %s "
			 "(or set audit_witness_every 0 to run without witnessing the log)", why);
	return rc;
}

static int start_witness(struct cl_daemon *d, char *err, size_t err_len)
{
	struct cl_audit_keys keys;
	struct cl_witness_options wo = {
		.audit_log = d->cfg.audit_log,
		.log_keys = &keys,
		.every = (uint64_t)d->cfg.audit_witness_every,
		.interval_ms = (uint64_t)d->cfg.audit_witness_interval * 1000,
	};
	int rc;

	if (d->cfg.audit_witness_every == 0)
		return 0;
	if ((rc = load_witness_keys(&d->cfg, &keys, err, err_len)) != 0)
		return rc;
	rc = cl_witness_start(&d->witness, d->loop, &wo, publish_audit_head, d);
	if (rc)
		snprintf(err, err_len, "cannot start the audit witness: %s", as_strerror(rc));
	return rc;
}

/* ---- purge ---- */

static void purge_work(uv_work_t *w)
{
	struct cl_daemon *d = w->data;

	const int64_t now = (int64_t)time(NULL);

	/* The window ingest accepts: what lies before it or beyond it goes,
	 * unless this clock has gone back. */
	d->purge_rc = cl_store_purge_now(d->store, now, d->cfg.retention, d->cfg.time_skew,
					 PURGE_SLICE, &d->purged, &d->purge_clock_behind);
}

static void purge_done(uv_work_t *w, int status)
{
	struct cl_daemon *d = w->data;

	char seen[32];

	d->purge_running = 0;
	if (status == 0 && d->purge_clock_behind)
		as_log(AS_LOG_ERR,
		       "this machine's clock reads earlier than a batch received at %s: the clock "
		       "went back, so nothing dated in the future was purged; set the clock right "
		       "(NTP)",
		       as_format_time(seen, d->purge_clock_behind));
	if (status == 0 && d->purge_rc)
		as_log(AS_LOG_ERR, "retention purge failed: %s", as_strerror(d->purge_rc));
	else if (status == 0)
		as_log(AS_LOG_INFO,
		       "retention purge: %llu visits older than %lld days (or dated later than "
		       "now + time_skew) deleted",
		       (unsigned long long)d->purged, (long long)(d->cfg.retention / 86400));
}

static void on_purge_timer(uv_timer_t *t)
{
	struct cl_daemon *d = t->data;

	if (d->purge_running || d->stopping)
		return;
	d->purge_work.data = d;
	if (uv_queue_work(d->loop, &d->purge_work, purge_work, purge_done) == 0)
		d->purge_running = 1;
}

/* ---- the store's upgrade into visit blocks ---- */

#define UPGRADE_RUN_MS 2000 /* longest upgrade work item (the stop waits) */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Slices of cl_store_upgrade for up to UPGRADE_RUN_MS, each followed by a
 * pause as long as it took, so that ingest gets the writer half the time. */
static void upgrade_work(uv_work_t *w)
{
	struct cl_daemon *d = w->data;
	const int64_t start = mono_ms();

	do {
		const int64_t t = mono_ms();
		uint64_t moved = 0;
		int64_t took;

		d->upgrade_rc = cl_store_upgrade(d->store, 0, &moved, &d->upgrade_left);
		d->upgrade_moved += moved;
		if (d->upgrade_rc || !d->upgrade_left)
			break;
		took = mono_ms() - t;
		nanosleep(&(struct timespec){took / 1000, (long)(took % 1000) * 1000000}, NULL);
	} while (mono_ms() - start < UPGRADE_RUN_MS);
}

static void upgrade_stop(struct cl_daemon *d)
{
	if (d->upgrade_timer_open)
		uv_close((uv_handle_t *)&d->upgrade_timer, NULL);
	d->upgrade_timer_open = 0;
}

static void upgrade_done(uv_work_t *w, int status)
{
	struct cl_daemon *d = w->data;

	d->upgrade_running = 0;
	if (status)
		return;
	if (d->upgrade_rc) {
		as_log(AS_LOG_ERR, "upgrading the store's visits into blocks failed (%s); "
		       "the store works as it is, and the next start tries again",
		       as_strerror(d->upgrade_rc));
		upgrade_stop(d);
	} else if (!d->upgrade_left) {
		if (d->upgrade_moved)
			as_log(AS_LOG_NOTICE, "store upgrade: %llu visits moved into visit blocks; "
			       "every visit is in visit blocks now",
			       (unsigned long long)d->upgrade_moved);
		upgrade_stop(d);
	} else if (!d->upgrade_announced) {
		as_log(AS_LOG_NOTICE, "store upgrade: moving %llu more visits into visit blocks, "
		       "in the background (the store works meanwhile; a stop resumes it at the "
		       "next start)", (unsigned long long)d->upgrade_left);
		d->upgrade_announced = 1;
	}
}

static void on_upgrade_timer(uv_timer_t *t)
{
	struct cl_daemon *d = t->data;

	if (d->upgrade_running || d->stopping)
		return;
	d->upgrade_work.data = d;
	if (uv_queue_work(d->loop, &d->upgrade_work, upgrade_work, upgrade_done) == 0)
		d->upgrade_running = 1;
}

/* The upgrade starts a second after the start and goes on every 100 ms
 * until no row is left; a store without any stops at the first look. */
static void upgrade_start(struct cl_daemon *d)
{
	uv_timer_init(d->loop, &d->upgrade_timer);
	d->upgrade_timer_open = 1;
	d->upgrade_timer.data = d;
	uv_timer_start(&d->upgrade_timer, on_upgrade_timer, 1000, 100);
}

/* ---- index role: fill the LMDB store from PostgreSQL ---- */

/* Steps until caught up, for at most a few seconds (the stop waits). */
static void index_work(uv_work_t *w)
{
	struct cl_daemon *d = w->data;
	time_t until = time(NULL) + 5;

	d->index_copied = 0;
	do {
		uint64_t copied = 0;

		d->index_rc = cl_store_index_step(d->store, d->source, 20000, &copied,
						  &d->index_behind);
		d->index_copied += copied;
	} while (!d->index_rc && d->index_behind && !d->stopping && time(NULL) < until);
}

static void index_done(uv_work_t *w, int status)
{
	struct cl_daemon *d = w->data;

	d->index_running = 0;
	if (status)
		return;
	d->index_total += d->index_copied;
	if (d->index_rc) {
		const char *detail = cl_store_last_error();

		as_log(AS_LOG_ERR, "index: copying from PostgreSQL failed: %s%s%s; trying again "
		       "in a second", as_strerror(d->index_rc), *detail ? ": " : "", detail);
	} else if (!d->index_behind && !d->index_caught_up) {
		as_log(AS_LOG_NOTICE, "index: caught up with PostgreSQL (%llu visits copied since "
		       "the start)", (unsigned long long)d->index_total);
	} else if (d->index_behind && d->index_copied) {
		as_log(AS_LOG_INFO, "index: %llu visits copied, %llu records behind PostgreSQL",
		       (unsigned long long)d->index_copied, (unsigned long long)d->index_behind);
	}
	d->index_caught_up = !d->index_rc && !d->index_behind;
}

static void on_index_timer(uv_timer_t *t)
{
	struct cl_daemon *d = t->data;

	if (d->index_running || d->stopping)
		return;
	d->index_work.data = d;
	if (uv_queue_work(d->loop, &d->index_work, index_work, index_done) == 0)
		d->index_running = 1;
}

static int start_index(struct cl_daemon *d, char *err, size_t err_len)
{
	int rc;

	if (!d->store_override && !cl_store_is_cluster(cl_config_store(&d->cfg))) {
		snprintf(err, err_len, "--role index needs the PostgreSQL store to copy from: "
			 "--store postgresql://... (or 'store' in %s)", d->config_path);
		return AS_E_CONFIG;
	}
	rc = cl_store_open(&d->source, d->store_override ? d->store_override
							 : cl_config_store(&d->cfg),
			   0, 1, err, err_len);
	if (!rc)
		rc = cl_store_open(&d->store, d->cfg.store_dir, d->cfg.map_size, 0, err, err_len);
	if (rc)
		return rc;
	uv_timer_init(d->loop, &d->index_timer);
	d->index_timer_open = 1;
	d->index_timer.data = d;
	uv_timer_start(&d->index_timer, on_index_timer, 0, 1000);
	upgrade_start(d);
	uv_timer_init(d->loop, &d->purge_timer);
	d->purge_timer_open = 1;
	d->purge_timer.data = d;
	uv_timer_start(&d->purge_timer, on_purge_timer, 5000, (uint64_t)d->cfg.purge_interval * 1000);
	return 0;
}

/* ---- lifecycle (the loop, signals and watchdog are daemon.c's) ---- */

static void stop_daemon(void *ctx)
{
	struct cl_daemon *d = ctx;

	d->stopping = 1;
	as_log(AS_LOG_NOTICE, "stopping: finishing queued batches");
	as_mqtt_stop(d->mqtt);
	d->mqtt = NULL;
	cl_witness_stop(d->witness);
	d->witness = NULL;
	/* Acks produced while stopping have no client to go out on: the
	 * gateways resend and are acknowledged after the restart. */
	cl_ingester_stop(d->ingester);
	d->ingester = NULL;
	if (d->purge_timer_open)
		uv_close((uv_handle_t *)&d->purge_timer, NULL);
	d->purge_timer_open = 0;
	upgrade_stop(d);
	if (d->index_timer_open)
		uv_close((uv_handle_t *)&d->index_timer, NULL);
	d->index_timer_open = 0;
}

/* SIGHUP: the registry and counters live in the store, read per batch; the
 * policy is republished from the store directory. */
static void reload_daemon(void *ctx)
{
	struct cl_daemon *d = ctx;

	if (d->mqtt && as_mqtt_is_connected(d->mqtt))
		publish_saved_policy(d);
	as_log(AS_LOG_NOTICE, "SIGHUP: policy republished (other settings need a restart)");
}

/* What start-up needs beyond the table: the authority's signing key (it
 * holds no key that opens capsules: the reveal service derives the pids of
 * paper-register entries). */
static int check_startup(const void *config, const char *config_path, char *err,
			 size_t err_len)
{
	const struct cl_config *cfg = config;
	struct cl_authority keys;
	const char *failed = NULL;
	struct cl_audit_keys log_keys;
	int rc = cl_authority_load(&keys, cfg->keys_dir, CL_KEY_SIGN, &failed);

	cl_authority_wipe(&keys);
	if (!rc && cfg->audit_witness_every > 0)
		return load_witness_keys(cfg, &log_keys, err, err_len);
	if (rc)
		snprintf(err, err_len, "cannot load authority key %s: %s (%s; or set keys_dir "
			 "in %s)", failed ? failed : cfg->keys_dir, as_strerror(rc),
			 rc == -ENOENT ? "create the keys with 'anshim-cloud keys init --dir "
			 "DIR'" : "the secret keys must be mode 0600, owned by the service's "
			 "user", config_path);
	return rc;
}

static int start_daemon(void *ctx, uv_loop_t *loop, char *err, size_t err_len)
{
	struct cl_daemon *d = ctx;
	struct as_mqtt_options mo = {0};
	const char *failed = NULL;
	const struct cl_ingest_options ingest_opt = {
		.max_batch_bytes = (size_t)d->cfg.max_batch_bytes,
		.group = (unsigned)d->cfg.ingest_group,
		.group_bytes = (size_t)d->cfg.ingest_group_bytes,
		.app_tolerance = d->cfg.app_slot_tolerance,
		.revoked_credentials = d->revoked_path,
		.policy_history = d->history_path,
		.queue_messages = (size_t)d->cfg.ingest_queue_messages,
		.queue_bytes = (size_t)d->cfg.ingest_queue_bytes,
		.retention = d->cfg.retention,
		.time_skew = d->cfg.time_skew,
		.reveal_socket = d->cfg.reveal_socket,
		.policy_file = d->policy_path,
	};
	int rc;

	d->loop = loop;
	if (d->index_role)
		return start_index(d, err, err_len);
	if ((rc = check_startup(&d->cfg, d->config_path, err, err_len)) != 0)
		return rc;
	rc = cl_authority_load(&d->keys, d->cfg.keys_dir, CL_KEY_SIGN, &failed);
	if (rc) {
		snprintf(err, err_len, "cannot load authority key %s: %s",
			 failed ? failed : d->cfg.keys_dir, as_strerror(rc));
		return rc;
	}
	/* Written by 'anshim-cloud policy set --revoke-credential'. */
	/* Written by 'anshim-cloud policy set': when each category collected. */
	snprintf(d->history_path, sizeof d->history_path, "%s/policy-history",
		 d->cfg.store_dir);
	snprintf(d->revoked_path, sizeof d->revoked_path, "%s/revoked-credentials",
		 d->cfg.store_dir);
	snprintf(d->policy_path, sizeof d->policy_path, "%s/policy", d->cfg.store_dir);
	rc = cl_store_open(&d->store, d->store_override ? d->store_override
							: cl_config_store(&d->cfg),
			   d->cfg.map_size, 0, err, err_len);
	if (rc)
		return rc;
	{
		/* tokenid.key reads a visit token's issue (anshim/token.h). */
		struct cl_authority tk;

		rc = cl_authority_load(&tk, d->cfg.keys_dir, CL_KEY_TOKEN_ID, &failed);
		if (rc == 0)
			cl_store_set_token_id_key(d->store, tk.token_id_key);
		else if (rc == -ENOENT)
			as_log(AS_LOG_WARNING, "%s/tokenid.key is missing: batches with visit "
			       "token records are refused (their gateways keep them) until it is "
			       "there ('anshim-cloud keys init --token-ids', then restart)",
			       d->cfg.keys_dir);
		cl_authority_wipe(&tk);
		if (rc && rc != -ENOENT) {
			snprintf(err, err_len, "cannot load %s: %s",
				 failed ? failed : d->cfg.keys_dir, as_strerror(rc));
			return rc;
		}
	}
	rc = cl_ingester_start(&d->ingester, d->loop, d->store, &d->keys, &ingest_opt,
			       on_ack, d);
	if (rc) {
		snprintf(err, err_len, "cannot start the ingest thread: %s", uv_strerror(rc));
		return rc;
	}
	if (d->cfg.shared_group && d->cfg.shared_group[0]) {
		snprintf(d->batch_topic, sizeof d->batch_topic, "$share/%s/" BATCH_TOPIC,
			 d->cfg.shared_group);
		snprintf(d->wallet_topic, sizeof d->wallet_topic, "$share/%s/" WALLET_TOPIC,
			 d->cfg.shared_group);
		snprintf(d->heartbeat_topic, sizeof d->heartbeat_topic, "$share/%s/" HEARTBEAT_TOPIC,
			 d->cfg.shared_group);
		snprintf(d->feed_topic, sizeof d->feed_topic, "$share/%s/" FEED_TOPIC,
			 d->cfg.shared_group);
	} else {
		snprintf(d->batch_topic, sizeof d->batch_topic, BATCH_TOPIC);
		snprintf(d->wallet_topic, sizeof d->wallet_topic, WALLET_TOPIC);
		snprintf(d->heartbeat_topic, sizeof d->heartbeat_topic, HEARTBEAT_TOPIC);
		snprintf(d->feed_topic, sizeof d->feed_topic, FEED_TOPIC);
	}
	AS_MQTT_OPTIONS_FROM_CONFIG(&mo, &d->cfg, d->config_path);
	mo.log_failures = 1;
	mo.client_id = d->cfg.client_id;
	mo.keepalive = 30;
	/* A persistent session: the broker queues batches for us while we
	 * restart (gateways also resend what stays unacknowledged). */
	mo.clean_session = 0;
	mo.max_buffered = 10000;
	/* A retained message on an ingest topic is junk someone left there:
	 * live traffic is never retained.  Messages go straight from Paho's
	 * receive thread into the ingest queue; when it is full, that thread
	 * waits and the broker holds the rest (backpressure). */
	mo.ignore_retained = 1;
	mo.receiver = cl_ingester_submit_wait;
	mo.receiver_ctx = d->ingester;
	mo.loop_topic = CL_AUDIT_HEAD_TOPIC;
	mo.reconnect_min_ms = 500;
	mo.reconnect_max_ms = 30000;
	if ((rc = start_witness(d, err, err_len)) != 0)
		return rc;
	rc = as_mqtt_start(&d->mqtt, d->loop, &mo, &mqtt_handlers, d, err, err_len);
	if (rc)
		return rc;
	upgrade_start(d);
	uv_timer_init(d->loop, &d->purge_timer);
	d->purge_timer_open = 1;
	d->purge_timer.data = d;
	uv_timer_start(&d->purge_timer, on_purge_timer, 5000, (uint64_t)d->cfg.purge_interval * 1000);
	return 0;
}

static int load_config(void *ctx, const char *path, char *err, size_t err_len)
{
	struct cl_daemon *d = ctx;

	d->config_path = path;
	return cl_config_load(&d->cfg, path, err, err_len);
}

static int log_level(const void *ctx)
{
	const struct cl_daemon *d = ctx;

	return cl_config_log_level(&d->cfg);
}

static void ready(void *ctx)
{
	struct cl_daemon *d = ctx;

	const char *store = d->store_override ? d->store_override : cl_config_store(&d->cfg);

	/* A URI may hold a password: only its kind is logged. */
	if (d->index_role) {
		as_log(AS_LOG_NOTICE, "ready: configuration %s, index node: the LMDB store %s "
		       "filled from PostgreSQL", d->config_path, d->cfg.store_dir);
		return;
	}
	as_log(AS_LOG_NOTICE, "ready: configuration %s, store %s, broker %s", d->config_path,
	       cl_store_is_cluster(store) ? "PostgreSQL (cluster mode)" : store,
	       d->cfg.broker);
}

static void cleanup(void *ctx)
{
	struct cl_daemon *d = ctx;

	cl_store_close(d->store);
	cl_store_close(d->source);
	cl_authority_wipe(&d->keys);
	cl_config_free(&d->cfg);
}

/* Take --store URI and --role ROLE (or --OPTION=VALUE) out of argv, the
 * daemon's other options being common to every daemon (as_daemon_main).
 * Returns the new argc, or -1 after saying what is wrong. */
static int take_cluster_options(int argc, char **argv, const char **store, int *index_role)
{
	int out = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strncmp(argv[i], "--role", 6) == 0 && (argv[i][6] == '\0' || argv[i][6] == '=')) {
			const char *role = argv[i][6] ? argv[i] + 7 : i + 1 < argc ? argv[++i] : "";

			if (strcmp(role, "index") != 0 && strcmp(role, "ingest") != 0) {
				as_usage_error("anshim-cloudd", "--role takes 'ingest' (the "
					       "default) or 'index', not '%s'", role);
				return -1;
			}
			*index_role = strcmp(role, "index") == 0;
			continue;
		}
		if (strncmp(argv[i], "--store=", 8) == 0) {
			*store = argv[i] + 8;
		} else if (strcmp(argv[i], "--store") == 0) {
			if (i + 1 >= argc) {
				as_usage_error("anshim-cloudd", "--store needs a URI "
					       "(postgresql://USER@HOST:PORT/DATABASE)");
				return -1;
			}
			*store = argv[++i];
		} else {
			argv[out++] = argv[i];
			continue;
		}
		if (!cl_store_is_cluster(*store)) {
			as_usage_error("anshim-cloudd", "--store takes a PostgreSQL URI, "
				       "postgresql://USER@HOST:PORT/DATABASE (the LMDB store's "
				       "directory is store_dir in the configuration)");
			return -1;
		}
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	static const struct as_daemon_spec spec = {
		"anshim-cloudd", usage_text, CL_DEFAULT_CONFIG, cl_config_table,
		sizeof(struct cl_config), check_startup,
	};
	static const struct as_daemon_ops ops = {
		load_config, log_level, start_daemon, ready, stop_daemon, reload_daemon, cleanup,
	};
	static struct cl_daemon d;

	argc = take_cluster_options(argc, argv, &d.store_override, &d.index_role);
	if (argc < 0)
		return AS_EXIT_USAGE;
	return as_daemon_main(argc, argv, &spec, &ops, &d);
}
