/*
 * ingest.c - verify, de-duplicate, index, commit, then ack (see ingest.h).
 *
 * Invariants:
 *  - an ack is produced only after the transaction holding its batch has
 *    committed (durable), and carries the store's through_seq, so a
 *    gateway never forgets a record the store does not hold;
 *  - a batch is stored only if its signature verifies with the key the
 *    registry holds for the gateway named in BOTH the topic and the header,
 *    and that gateway is not revoked;
 *  - this process holds no key that opens capsules: the pid of a
 *    paper-register entry comes from the reveal service
 *    (cl_reveal_derive_pids), which returns pids only.  When the service
 *    cannot be reached, a batch holding such entries is neither stored
 *    nor acknowledged ('reveal-service-unavailable'): the gateway keeps it
 *    and sends it again, so nothing is lost and no entry is stored
 *    without its pid.
 * Threads: see ingest.h.  Batch checks run before the write transaction
 * opens (registry reads use their own read transactions); the write
 * transaction covers the whole group.  A group whose transaction fails
 * (other than for a full store) is processed again one message per
 * transaction, so one message the store cannot take holds up no other.
 */
#include "ingest.h"
#include "collectsched.h"
#include "capsulewire.h"
#include "revealclient.h"

#include "anshim/ack.h"
#include "anshim/appcheckin.h"
#include "anshim/batch.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/heartbeat.h"
#include "anshim/log.h"
#include "anshim/policy.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOPIC_PREFIX "anshim/v1/gw/"
#define WALLET_PREFIX "anshim/v1/wallet/"
/* Refused messages: at most REJECT_LOG_BURST WARNING lines per window of
 * REJECT_LOG_WINDOW seconds, then one line with the count of the rest. */
#define REJECT_LOG_BURST 5
#define REJECT_LOG_WINDOW 10

struct message {
	struct message *next;
	char *topic;
	uint8_t *payload;
	size_t len;
};

struct ack_item {
	struct ack_item *next;
	struct cl_ingest_ack ack;
};

/* A wallet message, checked: what to store and how to answer. */
struct checked_app {
	uint8_t holder_id[AS_HOLDER_ID_LEN];   /* from the topic */
	uint8_t msg_id[AS_APP_CHECKIN_ID_LEN]; /* the answer's id */
	uint8_t kind;                          /* AS_APP_CHECKIN / CHECKOUT */
	uint8_t reason;                        /* AS_APP_R_*: rejected before storing */
	struct cl_app_visit visit;             /* check-in */
	uint8_t closes[AS_APP_CHECKIN_ID_LEN]; /* check-out: the check-in */
	int64_t exit;                          /* check-out time */
	uint8_t status;                        /* after storing: AS_APP_* */
};

/* An issuer's capsule batch (capsulewire.h), checked, with what the
 * reveal service derived from each capsule. */
struct checked_feed {
	struct cl_feed_batch b;
	struct cl_feed_issue *issues;          /* CL_FEED_MAX_ISSUES */
	uint8_t (*pids)[AS_PID_LEN];
	uint8_t (*contacts)[AS_CAPSULE_LEN];
	struct cl_tokens_result res;
};

/* One message that passed the checks, ready for the store. */
struct checked {
	uint8_t gw_id[AS_GWID_LEN];
	struct as_batch_header hdr;
	struct as_record *recs;
	uint8_t (*digests)[AS_CHAIN_LEN];      /* version 2 batches */
	uint8_t (*pids)[AS_PID_LEN];
	size_t n;
	struct checked_app *app;               /* a wallet message, or NULL */
	int ack_refused;                       /* refused for an unsynced clock's
						* time: ack the unchanged through_seq */
	uint64_t through_seq;                  /* the store's, when checked */
	int heartbeat;                         /* 1: a gateway heartbeat, in hb */
	uint8_t *refused;                      /* n flags: made while not collecting */
	size_t n_refused;                      /* how many are set */
	struct as_heartbeat hb;
	struct checked_feed *feed;             /* an issuer's capsule batch, or NULL */
};

struct cl_ingester {
	uv_loop_t *loop;
	uv_async_t async;
	uv_thread_t thread;
	uv_mutex_t lock;
	uv_cond_t wake;
	struct cl_store *store;
	const struct cl_authority *keys;
	struct cl_ingest_options opt;
	cl_ack_cb on_ack;
	void *ctx;
	/* ingest thread only: when each venue category collected */
	struct cl_collect_sched sched;
	int64_t sched_error_logged;
	/* ingest thread only: the last seq of the PostgreSQL store's policy
	 * history copied into the history file; 1 when the store is LMDB,
	 * whose history is the file alone */
	uint64_t history_seq;
	int history_in_file;
	/* ingest thread only: the rate limit of reject warnings */
	int64_t log_window_start;
	unsigned log_in_window;
	uint64_t log_suppressed;
	/* under lock */
	uv_cond_t room;                      /* the queue drained: wait_room wakes */
	struct message *head, *tail;
	unsigned backlog;
	size_t backlog_bytes;
	struct ack_item *acks, *acks_tail;   /* in store order, oldest first */
	int stopping;
	struct cl_ingest_stats stats;
};

static void free_message(struct message *m)
{
	free(m->topic);
	free(m->payload);
	free(m);
}

/* "anshim/v1/gw/{hex}{suffix}" -> gw id; 0 or AS_E_FIELD. */
static int topic_gateway(const char *topic, const char *suffix, uint8_t gw_id[AS_GWID_LEN])
{
	char hex[2 * AS_GWID_LEN + 1];
	size_t plen = strlen(TOPIC_PREFIX);

	if (strncmp(topic, TOPIC_PREFIX, plen) != 0 ||
	    strlen(topic) != plen + 2 * AS_GWID_LEN + strlen(suffix) ||
	    strcmp(topic + plen + 2 * AS_GWID_LEN, suffix) != 0)
		return AS_E_FIELD;
	memcpy(hex, topic + plen, 2 * AS_GWID_LEN);
	hex[2 * AS_GWID_LEN] = '\0';
	return as_hex_decode(gw_id, AS_GWID_LEN, hex) ? AS_E_FIELD : 0;
}

/* Derive the pid of every record: scans carry it, manual entries carry a
 * capsule the reveal service opens.  Returns the number of capsules that
 * did not open (sealed to another key: kept with a zero pid), or -1 when
 * the service did not answer (err says why). */
static int derive_pids(struct cl_ingester *in, struct checked *c, char *err, size_t err_len)
{
	uint8_t (*caps)[AS_CAPSULE_LEN] = NULL;
	uint8_t (*pids)[AS_PID_LEN] = NULL;
	size_t k = 0, *at = NULL;
	int unreadable = 0, rc;

	for (size_t i = 0; i < c->n; i++) {
		if (c->recs[i].kind == AS_REC_MANUAL)
			k++;
		else
			memcpy(c->pids[i], c->recs[i].pid, AS_PID_LEN);
	}
	if (k == 0)
		return 0;
	caps = calloc(k, sizeof *caps);
	pids = calloc(k, sizeof *pids);
	at = calloc(k, sizeof *at);
	if (!caps || !pids || !at) {
		snprintf(err, err_len, "out of memory");
		unreadable = -1;
		goto out;
	}
	k = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->recs[i].kind == AS_REC_MANUAL) {
			memcpy(caps[k], c->recs[i].capsule, AS_CAPSULE_LEN);
			at[k++] = i;
		}
	rc = cl_reveal_derive_pids(in->opt.reveal_socket, (const uint8_t (*)[AS_CAPSULE_LEN])caps,
				   k, pids, err, err_len);
	if (rc) {
		unreadable = -1;
		goto out;
	}
	for (size_t j = 0; j < k; j++) {
		static const uint8_t zero[AS_PID_LEN];

		memcpy(c->pids[at[j]], pids[j], AS_PID_LEN);
		if (memcmp(pids[j], zero, AS_PID_LEN) == 0)
			unreadable++;
	}
out:
	free(caps);
	free(pids);
	free(at);
	return unreadable;
}

/* A time the cloud accepts: within [now - retention, now + time_skew].
 * Returns NULL or the reject reason. */
static const char *time_verdict(const struct cl_ingester *in, int64_t t, int64_t now)
{
	if (t > now + in->opt.time_skew)
		return "time-future";
	if (t < now - in->opt.retention)
		return "time-past";
	return NULL;
}

/* Every record of a decoded batch within the accepted times (placeholders
 * carry no visit and are exempt).  Sets c->ack_refused when the first
 * offending record was stamped by an unsynced clock. */
static const char *check_times(struct cl_ingester *in, struct checked *c)
{
	int64_t now = (int64_t)time(NULL);

	for (size_t i = 0; i < c->n; i++) {
		const struct as_record *r = &c->recs[i];
		const char *why;

		if (r->kind == AS_REC_EXPIRED)
			continue;
		why = time_verdict(in, r->entry_time, now);
		if (!why && r->exit_time != 0 && r->exit_time > now + in->opt.time_skew)
			why = "time-future";
		if (why) {
			c->ack_refused = (r->flags & AS_REC_CLOCK_UNSYNCED) &&
					 !(r->flags & AS_REC_TIME_CORRECTED);
			return why;
		}
	}
	return NULL;
}

/* In cluster mode the policy history all ingest nodes share is the
 * PostgreSQL store's ('policy set' keeps it there before it publishes the
 * policy): copy it into the history file when it changed.  Checked once
 * per group of messages with a gateway's batch (one round trip), so a
 * batch is judged by every policy issued before it arrived, as the
 * embedded store judges it by the file. */
static void history_from_store(struct cl_ingester *in)
{
	int64_t t = (int64_t)time(NULL);
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (in->history_in_file || !in->opt.policy_history)
		return;
	rc = cl_store_policy_history_read(in->store, &in->history_seq, &text, &len);
	if (rc == -EOPNOTSUPP) {
		in->history_in_file = 1;
		return;
	}
	if (!rc && text)
		rc = as_file_write_atomic(in->opt.policy_history, text, len, 0644, 0);
	free(text);
	if (rc) {
		const char *detail = cl_store_last_error();

		in->history_seq = 0; /* copy it again next time */
		if (t - in->sched_error_logged >= 60) {
			in->sched_error_logged = t;
			as_log(AS_LOG_ERR, "ingest: cannot copy the policy history from the store "
			       "into %s: %s%s%s; records are judged by the policies read before",
			       in->opt.policy_history, as_strerror(rc), *detail ? ": " : "",
			       detail);
		}
	}
}

/* Mark the records of c that gw's venue made while its category was not
 * collecting (collectsched.h): c->refused, c->n_refused.  0 or -ENOMEM;
 * an unreadable history refuses nothing and is logged (once a minute). */
static int mark_not_collecting(struct cl_ingester *in, const struct cl_gateway *gw,
			       struct checked *c)
{
	struct cl_venue venue;
	char err[512];
	int rc;

	if (!in->opt.policy_history)
		return 0;
	rc = cl_collect_sched_refresh(&in->sched, in->opt.policy_history, err, sizeof err);
	if (rc < 0 && time(NULL) - in->sched_error_logged >= 60) {
		in->sched_error_logged = time(NULL);
		as_log(AS_LOG_ERR, "ingest: cannot read the policy history: %s; records are judged "
		       "by the policies read before", err);
	}
	if (in->sched.n == 0)
		return 0;
	if (cl_store_get_venue(in->store, gw->venue_id, &venue) != 0)
		venue.category[0] = '\0';
	for (size_t i = 0; i < c->n; i++) {
		if (c->recs[i].kind == AS_REC_EXPIRED ||
		    cl_collect_sched_collecting(&in->sched, venue.category, c->recs[i].entry_time))
			continue;
		if (!c->refused) {
			c->refused = calloc(c->n, 1);
			if (!c->refused)
				return -ENOMEM;
		}
		c->refused[i] = 1;
		c->n_refused++;
	}
	return 0;
}

/* Check one message; on success fill c (owning recs/pids) and return NULL,
 * else return the reject reason. */
static const char *check_message(struct cl_ingester *in, const struct message *m,
				 struct checked *c)
{
	struct cl_gateway gw;
	uint8_t header_id[AS_GWID_LEN];
	int rc;

	memset(c, 0, sizeof *c);
	if (m->len > in->opt.max_batch_bytes)
		return "oversize";
	if (topic_gateway(m->topic, "/batch", c->gw_id))
		return "bad-topic";
	if (as_batch_peek_gateway(header_id, m->payload, m->len))
		return "malformed";
	if (memcmp(header_id, c->gw_id, AS_GWID_LEN) != 0)
		return "topic-mismatch";
	rc = cl_store_get_gateway(in->store, c->gw_id, &gw);
	if (rc == AS_E_NOT_FOUND)
		return "unknown-gateway";
	if (rc)
		return "store-error";
	if (gw.revoked)
		return "revoked";
	/* Framing first (strict, bounded), so a cut or garbled frame is
	 * counted as malformed; then the signature over what parsed. */
	c->recs = calloc(AS_BATCH_MAX_RECORDS, sizeof *c->recs);
	c->digests = calloc(AS_BATCH_MAX_RECORDS, sizeof *c->digests);
	if (!c->recs || !c->digests) {
		free(c->recs);
		free(c->digests);
		c->recs = NULL;
		c->digests = NULL;
		return "out-of-memory";
	}
	rc = as_batch_decode_chained(&c->hdr, c->recs, c->digests, AS_BATCH_MAX_RECORDS,
				     m->payload, m->len);
	if (!rc && as_batch_verify(m->payload, m->len, gw.pk))
		rc = AS_E_SIGNATURE;
	if (rc) {
		free(c->recs);
		free(c->digests);
		c->recs = NULL;
		c->digests = NULL;
		return rc == AS_E_SIGNATURE ? "bad-signature" : "malformed";
	}
	c->n = c->hdr.count;
	if (c->hdr.version >= 2)
		as_chain_unseal(c->recs, c->digests, c->n);
	c->through_seq = gw.through_seq;
	{
		const char *why = check_times(in, c);

		if (why) {
			free(c->recs);
			c->recs = NULL;
			return why;
		}
	}
	if (mark_not_collecting(in, &gw, c) == -ENOMEM) {
		free(c->recs);
		c->recs = NULL;
		return "out-of-memory";
	}
	c->pids = calloc(c->n, sizeof *c->pids);
	if (!c->pids) {
		free(c->recs);
		c->recs = NULL;
		return "out-of-memory";
	}
	{
		char err[512] = "";
		int unreadable = derive_pids(in, c, err, sizeof err);

		if (unreadable < 0) {
			as_log(AS_LOG_ERR, "ingest: the pids of a batch's paper-register entries "
			       "cannot be derived: %s; the batch is not stored or acknowledged (its "
			       "gateway keeps it and sends it again)", err);
			free(c->recs);
			free(c->pids);
			c->recs = NULL;
			c->pids = NULL;
			return "reveal-service-unavailable";
		}
		if (unreadable)
			as_log(AS_LOG_WARNING, "ingest: a batch holds paper-register entries sealed "
			       "to another contact key; stored without a pseudonym");
	}
	return NULL;
}

/* ---- heartbeats ---- */

static int is_heartbeat_topic(const char *topic)
{
	size_t n = strlen(topic);

	return n > 10 && strcmp(topic + n - 10, "/heartbeat") == 0 &&
	       strncmp(topic, TOPIC_PREFIX, strlen(TOPIC_PREFIX)) == 0;
}

/* Check a heartbeat into c->hb; NULL, or the reject reason.  Nothing of
 * it is trusted before the signature verifies with the enrolled key of the
 * gateway named by both the topic and the message. */
static const char *check_heartbeat(struct cl_ingester *in, const struct message *m,
				   struct checked *c)
{
	struct cl_gateway gw;
	int rc;

	memset(c, 0, sizeof *c);
	c->heartbeat = 1;
	if (topic_gateway(m->topic, "/heartbeat", c->gw_id))
		return "heartbeat-bad-topic";
	if (as_heartbeat_decode(&c->hb, m->payload, m->len))
		return "heartbeat-malformed";
	if (memcmp(c->hb.gw_id, c->gw_id, AS_GWID_LEN) != 0)
		return "heartbeat-topic-mismatch";
	rc = cl_store_get_gateway(in->store, c->gw_id, &gw);
	if (rc == AS_E_NOT_FOUND)
		return "heartbeat-unknown-gateway";
	if (rc)
		return "store-error";
	if (gw.revoked)
		return "heartbeat-revoked";
	if (as_heartbeat_verify(m->payload, m->len, gw.pk))
		return "heartbeat-bad-signature";
	return NULL;
}

/* ---- the issuers' capsule feed ---- */

static int is_feed_topic(const char *topic)
{
	size_t n = strlen(topic), plen = strlen(CL_FEED_TOPIC_PREFIX);

	return n > plen + 9 && strncmp(topic, CL_FEED_TOPIC_PREFIX, plen) == 0 &&
	       strcmp(topic + n - 9, "/capsules") == 0;
}

/* The issuer keys the signed policy certifies (opt.policy_file, verified
 * with the authority's key); none when there is no policy yet. */
struct issuer_keys {
	struct as_policy policy;
	int loaded;
};

static void load_issuer_keys(const struct cl_ingester *in, struct issuer_keys *k)
{
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	memset(k, 0, sizeof *k);
	if (!in->opt.policy_file)
		return;
	rc = as_file_read_all(in->opt.policy_file, AS_POLICY_MAX_BYTES, &data, &len);
	if (!rc)
		rc = as_policy_decode(&k->policy, data, len, in->keys->sign_pk);
	free(data);
	if (rc && rc != -ENOENT)
		as_log(AS_LOG_ERR, "ingest: the policy %s does not load (%s): no issuer's capsules "
		       "are taken until 'anshim-cloud policy set' writes a good one",
		       in->opt.policy_file, as_strerror(rc));
	k->loaded = rc == 0;
}

static const uint8_t *issuer_key_of(const struct issuer_keys *k,
				    const uint8_t id[CL_ISSUER_ID_LEN])
{
	for (uint32_t i = 0; k->loaded && i < k->policy.n_issuer_keys; i++) {
		uint8_t known[CL_ISSUER_ID_LEN];

		cl_issuer_id(known, k->policy.issuer_keys[i]);
		if (memcmp(known, id, CL_ISSUER_ID_LEN) == 0)
			return k->policy.issuer_keys[i];
	}
	return NULL;
}

static void free_feed(struct checked_feed *f)
{
	if (!f)
		return;
	free(f->issues);
	free(f->pids);
	if (f->contacts)
		sodium_memzero(f->contacts, (size_t)CL_FEED_MAX_ISSUES * AS_CAPSULE_LEN);
	free(f->contacts);
	free(f);
}

/* Check a capsule batch into c->feed and have the reveal service derive
 * each token's pid; NULL, or the reject reason.  Nothing of it is trusted
 * before its signature verifies with an issuer key the policy lists. */
static const char *check_feed(struct cl_ingester *in, const struct message *m,
			      const struct issuer_keys *keys, struct checked *c)
{
	struct checked_feed *f;
	uint8_t topic_id[CL_ISSUER_ID_LEN], msg_id[CL_ISSUER_ID_LEN];
	const uint8_t *pk;
	char err[512] = "";
	int rc;

	memset(c, 0, sizeof *c);
	if (m->len > CL_FEED_MAX_LEN)
		return "feed-oversize";
	if (cl_feed_topic_issuer(m->topic, topic_id))
		return "feed-bad-topic";
	if (cl_feed_peek_issuer(msg_id, m->payload, m->len))
		return "feed-malformed";
	if (memcmp(topic_id, msg_id, CL_ISSUER_ID_LEN) != 0)
		return "feed-topic-mismatch";
	pk = issuer_key_of(keys, msg_id);
	if (!pk)
		return "feed-unknown-issuer";
	f = calloc(1, sizeof *f);
	if (f) {
		f->issues = calloc(CL_FEED_MAX_ISSUES, sizeof *f->issues);
		f->pids = calloc(CL_FEED_MAX_ISSUES, sizeof *f->pids);
		f->contacts = calloc(CL_FEED_MAX_ISSUES, sizeof *f->contacts);
	}
	c->feed = f;
	if (!f || !f->issues || !f->pids || !f->contacts)
		return "out-of-memory";
	f->b.issues = f->issues;
	rc = cl_feed_decode(&f->b, CL_FEED_MAX_ISSUES, m->payload, m->len, pk);
	if (rc)
		return rc == AS_E_SIGNATURE ? "feed-bad-signature" : "feed-malformed";
	rc = cl_reveal_derive_token_pids(in->opt.reveal_socket, f->b.sealed_key, f->issues,
					 f->b.count, f->pids, f->contacts, err, sizeof err);
	if (rc) {
		as_log(AS_LOG_ERR, "ingest: the pids of an issuer's capsule batch cannot be "
		       "derived: %s; the batch is not stored or acknowledged (the issuer keeps "
		       "it and sends it again)", err);
		return "reveal-service-unavailable";
	}
	return NULL;
}

/* The ack of a capsule batch: its issuer may drop it from its outbox. */
static void make_feed_ack(struct cl_ingester *in, const struct cl_feed_batch *b,
			  struct cl_ingest_ack *out)
{
	struct cl_feed_ack a;
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	memcpy(a.issuer_id, b->issuer_id, CL_ISSUER_ID_LEN);
	a.seq = b->seq;
	a.cloud_time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	cl_feed_topic(out->topic, b->issuer_id, 1);
	rc = cl_feed_ack_encode(out->payload, &a, in->keys->sign_sk);
	out->len = rc > 0 ? (size_t)rc : 0;
}

/* ---- wallet messages ---- */

static int is_wallet_topic(const char *topic)
{
	return strncmp(topic, WALLET_PREFIX, strlen(WALLET_PREFIX)) == 0;
}

/* "anshim/v1/wallet/{hex}/checkin" -> holder id; 0 or AS_E_FIELD. */
static int topic_holder(const char *topic, uint8_t id[AS_HOLDER_ID_LEN])
{
	char hex[2 * AS_HOLDER_ID_LEN + 1];
	size_t plen = strlen(WALLET_PREFIX);

	if (!is_wallet_topic(topic) || strlen(topic) != plen + 2 * AS_HOLDER_ID_LEN + 8 ||
	    strcmp(topic + plen + 2 * AS_HOLDER_ID_LEN, "/checkin") != 0)
		return AS_E_FIELD;
	memcpy(hex, topic + plen, 2 * AS_HOLDER_ID_LEN);
	hex[2 * AS_HOLDER_ID_LEN] = '\0';
	return as_hex_decode(id, AS_HOLDER_ID_LEN, hex) ? AS_E_FIELD : 0;
}

/* The revoked credential ids (16 bytes each), read again for each group
 * that holds wallet messages: a small file the policy command rewrites
 * atomically.  Missing: none revoked. */
struct id_set {
	unsigned char *ids;
	size_t n;
};

static void load_revoked(const struct cl_ingester *in, struct id_set *set)
{
	size_t len = 0;

	set->ids = NULL;
	set->n = 0;
	if (!in->opt.revoked_credentials ||
	    as_file_read_all(in->opt.revoked_credentials, (size_t)AS_POLICY_MAX_REVOKED * 16,
			     &set->ids, &len) != 0)
		return;
	set->n = len / 16;
}

static int id_set_has(const struct id_set *set, const uint8_t id[16])
{
	for (size_t i = 0; i < set->n; i++)
		if (memcmp(set->ids + 16 * i, id, 16) == 0)
			return 1;
	return 0;
}

/* One use per holder and rotating code: BLAKE2b-256 over a label, the pid
 * and the code's bytes. */
static void replay_key_of(uint8_t out[CL_APP_ID_LEN], const uint8_t pid[AS_PID_LEN],
			  const struct as_venue_code *code)
{
	static const char label[] = "anshim app replay v1";
	uint8_t buf[AS_VENUE_CODE_MAX];
	crypto_generichash_state st;
	int len = as_venue_code_encode(buf, sizeof buf, code);

	crypto_generichash_init(&st, NULL, 0, CL_APP_ID_LEN);
	crypto_generichash_update(&st, (const unsigned char *)label, sizeof label - 1);
	crypto_generichash_update(&st, pid, AS_PID_LEN);
	if (len > 0)
		crypto_generichash_update(&st, buf, (size_t)len);
	crypto_generichash_final(&st, out, CL_APP_ID_LEN);
}

/* The venue code of a check-in: AS_APP_OK or the reason to refuse it. */
static uint8_t check_code(struct cl_ingester *in, const struct as_app_checkin *msg)
{
	const struct as_venue_code *code = &msg->code;
	struct cl_gateway gw;
	struct cl_venue venue;
	int rc;

	if (code->type == AS_VC_POSTER) {
		if (as_venue_code_verify(code, in->keys->sign_pk))
			return AS_APP_R_FORGED_CODE;
		rc = cl_store_get_venue(in->store, code->venue_id, &venue);
		return rc ? AS_APP_R_UNKNOWN_VENUE : AS_APP_OK;
	}
	rc = cl_store_get_gateway(in->store, code->gw_id, &gw);
	if (rc)
		return AS_APP_R_UNKNOWN_VENUE;
	if (as_venue_code_verify(code, gw.pk))
		return AS_APP_R_FORGED_CODE;
	if (gw.revoked)
		return AS_APP_R_REVOKED_GATEWAY;
	if (gw.venue_id != code->venue_id)
		return AS_APP_R_UNKNOWN_VENUE;
	/* The check-in must be made while the code is shown, give or take
	 * the tolerance: a screenshot used later is a remote check-in. */
	if (msg->time < code->slot_start - in->opt.app_tolerance ||
	    msg->time >= code->slot_start + code->slot_seconds + in->opt.app_tolerance)
		return AS_APP_R_REMOTE;
	return AS_APP_OK;
}

/* Check a wallet message into *a.  Returns 0, or -1 when it cannot even be
 * answered (its topic names no wallet). */
static int check_app(struct cl_ingester *in, const struct message *m, const struct id_set *revoked,
		     struct checked_app *a)
{
	struct as_app_checkin msg;
	uint8_t id[AS_HOLDER_ID_LEN];
	int rc;

	memset(a, 0, sizeof *a);
	if (topic_holder(m->topic, a->holder_id))
		return -1;
	as_app_checkin_id(a->msg_id, m->payload, m->len);
	if (m->len > AS_APP_CHECKIN_MAX || as_app_checkin_decode(&msg, m->payload, m->len)) {
		a->reason = AS_APP_R_MALFORMED;
		return 0;
	}
	a->kind = msg.kind;
	as_holder_id(id, msg.cred.holder_pk);
	if (memcmp(id, a->holder_id, AS_HOLDER_ID_LEN) != 0) {
		a->reason = AS_APP_R_MALFORMED; /* sent on another wallet's topic */
		return 0;
	}
	rc = as_app_checkin_verify(&msg, in->keys->sign_pk);
	if (rc) {
		a->reason = rc == AS_E_HOLDER_SIG ? AS_APP_R_HOLDER_SIG : AS_APP_R_CREDENTIAL;
		return 0;
	}
	as_credential_id(id, &msg.cred);
	if (id_set_has(revoked, id)) {
		a->reason = AS_APP_R_REVOKED_HOLDER;
		return 0;
	}
	{
		const char *why = time_verdict(in, msg.time, (int64_t)time(NULL));

		if (why) {
			a->reason = strcmp(why, "time-future") == 0 ? AS_APP_R_TIME_FUTURE
								  : AS_APP_R_TIME_PAST;
			return 0;
		}
	}
	if (msg.kind == AS_APP_CHECKOUT) {
		memcpy(a->closes, msg.checkin_id, AS_APP_CHECKIN_ID_LEN);
		memcpy(a->visit.pid, msg.cred.pid, AS_PID_LEN);
		a->exit = msg.time;
		return 0;
	}
	a->reason = check_code(in, &msg);
	if (a->reason)
		return 0;
	memcpy(a->visit.checkin_id, a->msg_id, CL_APP_ID_LEN);
	if (msg.code.type == AS_VC_ROTATING)
		replay_key_of(a->visit.replay_key, msg.cred.pid, &msg.code);
	memcpy(a->visit.pid, msg.cred.pid, AS_PID_LEN);
	memcpy(a->visit.capsule, msg.cred.capsule, AS_CAPSULE_LEN);
	a->visit.venue_id = msg.code.venue_id;
	a->visit.entry = msg.time;
	return 0;
}

/* Store a checked wallet message in txn; sets a->status (and a->reason).
 * Returns a store error (the transaction is then lost). */
static int store_app(struct cl_ingest *txn, struct checked_app *a)
{
	int rc, outcome = 0;

	if (a->reason) {
		a->status = AS_APP_REJECTED;
		return 0;
	}
	if (a->kind == AS_APP_CHECKIN)
		rc = cl_store_ingest_app(txn, &a->visit, &outcome);
	else
		rc = cl_store_ingest_app_exit(txn, a->closes, a->visit.pid, a->exit, &outcome);
	if (rc == AS_E_FIELD) {
		a->status = AS_APP_REJECTED;
		a->reason = AS_APP_R_MALFORMED; /* a check-out before its check-in */
		return 0;
	}
	if (rc)
		return rc;
	switch (outcome) {
	case CL_APP_STORED: a->status = AS_APP_STORED; break;
	case CL_APP_DUPLICATE: a->status = AS_APP_DUPLICATE; break;
	case CL_APP_REPLAY:
		a->status = AS_APP_REJECTED;
		a->reason = AS_APP_R_REPLAY;
		break;
	default:
		a->status = AS_APP_REJECTED;
		a->reason = AS_APP_R_UNKNOWN_CHECKIN;
		break;
	}
	return 0;
}

static void make_answer(struct cl_ingester *in, const struct checked_app *a,
			struct cl_ingest_ack *out)
{
	struct as_app_answer ans;
	char hex[2 * AS_HOLDER_ID_LEN + 1];
	int rc;

	memcpy(ans.checkin_id, a->msg_id, AS_APP_CHECKIN_ID_LEN);
	ans.status = a->status;
	ans.reason = a->status == AS_APP_REJECTED ? a->reason : AS_APP_OK;
	ans.cloud_time = (int64_t)time(NULL);
	as_hex_encode(hex, a->holder_id, AS_HOLDER_ID_LEN);
	snprintf(out->topic, sizeof out->topic, WALLET_PREFIX "%s/ack", hex);
	rc = as_app_answer_encode(out->payload, sizeof out->payload, &ans, in->keys->sign_sk);
	out->len = rc > 0 ? (size_t)rc : 0;
}

/* The ack of one batch: where the store stands for its gateway, and the
 * chain position it holds (anshim/ack.h), after the batch; version 1 for a
 * version 1 batch, whose gateway reads no other. */
static void make_ack(struct cl_ingester *in, const uint8_t gw_id[AS_GWID_LEN],
		     uint8_t batch_version, const struct cl_ingest_result *res,
		     struct cl_ingest_ack *out)
{
	struct as_ack ack;
	struct timespec ts;
	char hex[2 * AS_GWID_LEN + 1];
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&ack, 0, sizeof ack);
	ack.version = batch_version >= 2 ? AS_ACK_VERSION : 1; /* what its gateway reads */
	memcpy(ack.gw_id, gw_id, AS_GWID_LEN);
	ack.through_seq = res->through_seq;
	if (res->has_chain) {
		memcpy(ack.journal_id, res->chain.journal_id, AS_JOURNAL_ID_LEN);
		ack.chain_seq = res->chain.seq;
		memcpy(ack.chain_link, res->chain.head, AS_CHAIN_LEN);
	}
	ack.cloud_time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	as_hex_encode(hex, gw_id, AS_GWID_LEN);
	snprintf(out->topic, sizeof out->topic, TOPIC_PREFIX "%s/ack", hex);
	rc = as_ack_encode(out->payload, sizeof out->payload, &ack, in->keys->sign_sk);
	out->len = rc > 0 ? (size_t)rc : 0;
}

/* May one more refusal be logged now?  Opens a new window when the last
 * one is over, first reporting how many refusals it did not log. */
static int reject_log_allowed(struct cl_ingester *in)
{
	int64_t now = (int64_t)time(NULL);

	if (now - in->log_window_start >= REJECT_LOG_WINDOW || now < in->log_window_start) {
		if (in->log_suppressed)
			as_log(AS_LOG_WARNING, "ingest: %llu more messages rejected in %lld s, not "
			       "logged one by one (counts by reason: anshim-cloud stats)",
			       (unsigned long long)in->log_suppressed,
			       (long long)(now - in->log_window_start));
		in->log_window_start = now;
		in->log_in_window = 0;
		in->log_suppressed = 0;
	}
	if (in->log_in_window < REJECT_LOG_BURST) {
		in->log_in_window++;
		return 1;
	}
	in->log_suppressed++;
	return 0;
}

static void log_reject(struct cl_ingester *in, const struct message *m, const char *reason)
{
	if (reject_log_allowed(in))
		as_log(AS_LOG_WARNING, "ingest: batch on '%.80s' (%zu bytes) rejected: %s",
		       m->topic, m->len, reason);
}

/* A batch that did not simply extend its gateway's chain (store.h). */
static void log_chain_event(const uint8_t gw_id[AS_GWID_LEN], const struct as_batch_header *hdr,
			    const struct cl_ingest_result *res)
{
	char gw[2 * AS_GWID_LEN + 1], journal[2 * AS_JOURNAL_ID_LEN + 1];

	as_hex_encode(gw, gw_id, AS_GWID_LEN);
	as_hex_encode(journal, hdr->journal_id, AS_JOURNAL_ID_LEN);
	as_log(res->chain_event == CL_CHAIN_START ? AS_LOG_INFO : AS_LOG_WARNING,
	       "ingest: gateway %s journal %s, batch seqs %llu..%llu: chain %s%s%s; %u record(s) "
	       "found stored already (not stored again)%s", gw, journal,
	       (unsigned long long)hdr->first_seq, (unsigned long long)hdr->last_seq,
	       cl_chain_event_name(res->chain_event), res->chain_cause ? " " : "",
	       cl_chain_cause_name(res->chain_cause), (unsigned)res->reconciled,
	       res->chain_event == CL_CHAIN_BREAK
		       ? " (the gateway's journal was changed on disk, or records were removed: "
			"recorded as a chain event of the gateway)" : "");
}

/* Process one group of messages: check, store in one transaction, ack.
 * Returns the transaction's failure (nothing stored, nothing acknowledged)
 * or 0. */
static int process_group(struct cl_ingester *in, struct message **msgs, size_t n)
{
	struct checked *checked = calloc(n, sizeof *checked);
	const char **reasons = calloc(n, sizeof *reasons);
	struct cl_ingest_result *results = calloc(n, sizeof *results);
	struct ack_item *acks = NULL, **acks_end = &acks;
	struct cl_ingest *txn = NULL;
	int64_t now = (int64_t)time(NULL);
	uint64_t stored = 0, dups = 0, rejected = 0, batches = 0, heartbeats = 0;
	uint64_t app_counts[4] = {0};   /* by AS_APP_* status */
	struct id_set revoked = {NULL, 0};
	struct issuer_keys issuers = {.loaded = 0};
	uint64_t feeds = 0, tok_added = 0, tok_resolved = 0, tok_waiting = 0, tok_replayed = 0;
	int rc, have_app = 0, have_feed = 0, failed = 0;

	if (!checked || !reasons || !results) {
		as_log(AS_LOG_ERR, "ingest: out of memory; %zu batches dropped unacknowledged "
		       "(gateways will resend)", n);
		goto out;
	}
	for (size_t i = 0; i < n && !have_app; i++)
		have_app = is_wallet_topic(msgs[i]->topic);
	if (have_app)
		load_revoked(in, &revoked);
	for (size_t i = 0; i < n && !have_feed; i++)
		have_feed = is_feed_topic(msgs[i]->topic);
	if (have_feed)
		load_issuer_keys(in, &issuers);
	for (size_t i = 0; i < n; i++)
		if (!is_feed_topic(msgs[i]->topic) && !is_heartbeat_topic(msgs[i]->topic) &&
		    !is_wallet_topic(msgs[i]->topic)) {
			history_from_store(in);
			break;
		}
	for (size_t i = 0; i < n; i++) {
		if (is_feed_topic(msgs[i]->topic)) {
			reasons[i] = check_feed(in, msgs[i], &issuers, &checked[i]);
			continue;
		}
		if (is_heartbeat_topic(msgs[i]->topic)) {
			reasons[i] = check_heartbeat(in, msgs[i], &checked[i]);
			continue;
		}
		if (!is_wallet_topic(msgs[i]->topic)) {
			reasons[i] = check_message(in, msgs[i], &checked[i]);
			continue;
		}
		checked[i].app = calloc(1, sizeof *checked[i].app);
		if (!checked[i].app)
			reasons[i] = "out-of-memory";
		else if (check_app(in, msgs[i], &revoked, checked[i].app))
			reasons[i] = "app-bad-topic";
	}
	rc = cl_store_ingest_begin(in->store, &txn);
	for (size_t i = 0; !rc && i < n; i++) {
		if (reasons[i]) {
			rc = cl_store_ingest_count_reject(txn, reasons[i]);
			continue;
		}
		if (checked[i].heartbeat) {
			const struct as_heartbeat *hb = &checked[i].hb;
			int replay = 0;

			rc = cl_store_ingest_heartbeat(txn, hb,
						       cl_coverage_time(hb, now, in->opt.retention),
						       now, &replay);
			if (!rc && replay) {
				reasons[i] = "heartbeat-replay";
				rc = cl_store_ingest_count_reject(txn, reasons[i]);
			}
			continue;
		}
		if (checked[i].feed) {
			struct checked_feed *f = checked[i].feed;
			struct cl_token_issue t[CL_FEED_MAX_ISSUES];
			static const uint8_t zero[AS_PID_LEN];

			for (size_t k = 0; k < f->b.count; k++) {
				t[k].serial = f->issues[k].serial;
				t[k].count = f->issues[k].count;
				t[k].expires_at = f->issues[k].expires_at;
				memcpy(t[k].pid, f->pids[k], AS_PID_LEN);
				t[k].contact = memcmp(f->pids[k], zero, AS_PID_LEN) != 0
						       ? f->contacts[k] : NULL;
			}
			rc = cl_store_ingest_token_issues(txn, t, f->b.count, &f->res);
			continue;
		}
		if (checked[i].app) {
			rc = store_app(txn, checked[i].app);
			if (!rc && checked[i].app->status == AS_APP_REJECTED) {
				char word[32];

				snprintf(word, sizeof word, "app-%s",
					 as_app_reason_name(checked[i].app->reason));
				rc = cl_store_ingest_count_reject(txn, word);
			}
			continue;
		}
		if (checked[i].refused)
			cl_store_ingest_refuse(txn, checked[i].refused, checked[i].n);
		if (checked[i].hdr.version >= 2) {
			struct cl_chain_batch chain;

			memcpy(chain.journal_id, checked[i].hdr.journal_id, AS_JOURNAL_ID_LEN);
			memcpy(chain.prev, checked[i].hdr.chain_prev, AS_CHAIN_LEN);
			memcpy(chain.head, checked[i].hdr.chain_head, AS_CHAIN_LEN);
			chain.digests = (const uint8_t (*)[AS_CHAIN_LEN])checked[i].digests;
			/* A gateway purges an unsent record into a placeholder
			 * at its retention horizon, which is the cloud's, or
			 * when it is dated in the future: both times the cloud
			 * would refuse in a live record. */
			chain.keep_from = now - in->opt.retention + in->opt.time_skew;
			chain.keep_to = now + in->opt.time_skew;
			rc = cl_store_ingest_chained_batch(
				txn, checked[i].gw_id, &chain, checked[i].recs,
				(const uint8_t (*)[AS_PID_LEN])checked[i].pids, checked[i].n,
				checked[i].hdr.created, now, &results[i]);
		} else {
			rc = cl_store_ingest_batch(txn, checked[i].gw_id, checked[i].recs,
						   (const uint8_t (*)[AS_PID_LEN])checked[i].pids,
						   checked[i].n, checked[i].hdr.created, now,
						   &results[i]);
		}
		if (!rc && results[i].gap) {
			reasons[i] = "gap";
			rc = cl_store_ingest_count_reject(txn, "gap");
		}
		/* Records, not batches: each one refused counts. */
		for (uint32_t k = 0; !rc && k < results[i].refused; k++)
			rc = cl_store_ingest_count_reject(txn, "not-collecting");
	}
	if (!rc && txn) {
		rc = cl_store_ingest_commit(txn);
		txn = NULL;
	}
	if (rc) {
		const char *detail = cl_store_last_error();

		if (txn)
			cl_store_ingest_abort(txn);
		if (n == 1)
			as_log(AS_LOG_ERR, "ingest: storing the message on '%.80s' (%zu bytes) "
			       "failed: %s%s%s; not acknowledged (its sender will resend)",
			       msgs[0]->topic, msgs[0]->len, as_strerror(rc),
			       *detail ? ": " : "", detail);
		else
			as_log(AS_LOG_ERR, "ingest: storing %zu batches failed: %s%s%s; not "
			       "acknowledged (gateways will resend)", n, as_strerror(rc),
			       *detail ? ": " : "", detail);
		failed = rc;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct ack_item *a;

		if (reasons[i] && strcmp(reasons[i], "gap") != 0) {
			log_reject(in, msgs[i], reasons[i]);
			rejected++;
			if (!checked[i].ack_refused)
				continue;
			/* Teach an unsynced gateway the cloud's time; it keeps
			 * the refused records and sends them corrected. */
			a = calloc(1, sizeof *a);
			if (!a)
				continue;
			{
				/* Nothing taken: the chain position it reports
				 * is the one the store follows (as for a gap). */
				struct cl_ingest_result held;

				memset(&held, 0, sizeof held);
				held.through_seq = checked[i].through_seq;
				held.has_chain = checked[i].hdr.version >= 2 &&
						 cl_store_gateway_chain(in->store, checked[i].gw_id,
									&held.chain) == 0;
				make_ack(in, checked[i].gw_id, checked[i].hdr.version, &held,
					 &a->ack);
			}
			*acks_end = a;
			acks_end = &a->next;
			continue;
		}
		if (checked[i].heartbeat) {
			heartbeats++;
			continue;   /* nothing answers a heartbeat */
		}
		if (checked[i].feed) {
			const struct checked_feed *f = checked[i].feed;

			feeds++;
			tok_added += f->res.added;
			tok_resolved += f->res.resolved;
			if (f->res.resolved)
				as_log(AS_LOG_INFO, "ingest: %u waiting token record(s) stored as "
				       "visits: their issues arrived", f->res.resolved);
			if (f->res.conflicting)
				as_log(AS_LOG_ERR, "ingest: capsule batch %llu names %u issue "
				       "serial(s) stored before for another holder, count or "
				       "expiry: two issuers share tokenid.key, or the issuer's "
				       "state was restored from an old copy; the first stored is "
				       "kept (give each issuer its own state and tokenid.key)",
				       (unsigned long long)f->b.seq, f->res.conflicting);
			a = calloc(1, sizeof *a);
			if (!a)
				continue;
			make_feed_ack(in, &f->b, &a->ack);
			*acks_end = a;
			acks_end = &a->next;
			continue;
		}
		if (checked[i].app) {
			const struct checked_app *ap = checked[i].app;

			if (ap->status == AS_APP_REJECTED && reject_log_allowed(in))
				as_log(AS_LOG_WARNING, "ingest: wallet %s (%zu bytes) rejected: %s",
				       ap->kind == AS_APP_CHECKOUT ? "check-out" : "check-in",
				       msgs[i]->len, as_app_reason_name(ap->reason));
			app_counts[ap->status & 3]++;
			a = calloc(1, sizeof *a);
			if (!a)
				continue;
			make_answer(in, ap, &a->ack);
			*acks_end = a;
			acks_end = &a->next;
			continue;
		}
		if (reasons[i])
			log_reject(in, msgs[i], "gap (acknowledging the contiguous part only)");
		else
			batches++;
		stored += results[i].stored;
		dups += results[i].duplicates + results[i].reconciled;
		tok_waiting += results[i].tokens_waiting;
		tok_replayed += results[i].tokens_replayed;
		if (results[i].tokens_replayed && reject_log_allowed(in)) {
			char hex[2 * AS_GWID_LEN + 1];

			as_hex_encode(hex, checked[i].gw_id, AS_GWID_LEN);
			as_log(AS_LOG_WARNING, "ingest: gateway %.16s's batch %llu..%llu holds %u "
			       "replayed visit token(s), used before at another venue or by another "
			       "record: refused, no visit stored (counted as replayed-tokens)", hex,
			       (unsigned long long)checked[i].hdr.first_seq,
			       (unsigned long long)checked[i].hdr.last_seq,
			       results[i].tokens_replayed);
		}
		if (results[i].chain_event)
			log_chain_event(checked[i].gw_id, &checked[i].hdr, &results[i]);
		/* A gap or a replay is acknowledged too: the ack's through_seq
		 * tells the gateway where the store stands. */
		a = calloc(1, sizeof *a);
		if (!a)
			continue;
		make_ack(in, checked[i].gw_id, checked[i].hdr.version, &results[i], &a->ack);
		*acks_end = a;
		acks_end = &a->next;
	}
out:
	for (size_t i = 0; checked && i < n; i++) {
		free(checked[i].recs);
		free(checked[i].digests);
		free(checked[i].pids);
		free(checked[i].refused);
		if (checked[i].app)
			sodium_memzero(checked[i].app, sizeof *checked[i].app);
		free(checked[i].app);
		free_feed(checked[i].feed);
	}
	as_policy_free(&issuers.policy);
	free(revoked.ids);
	free(checked);
	free(reasons);
	free(results);
	uv_mutex_lock(&in->lock);
	in->stats.batches += batches;
	in->stats.heartbeats += heartbeats;
	in->stats.records += stored;
	in->stats.duplicates += dups;
	in->stats.rejected += rejected;
	in->stats.app_stored += app_counts[AS_APP_STORED];
	in->stats.app_duplicates += app_counts[AS_APP_DUPLICATE];
	in->stats.app_rejected += app_counts[AS_APP_REJECTED];
	in->stats.feed_batches += feeds;
	in->stats.tokens_added += tok_added;
	in->stats.tokens_resolved += tok_resolved;
	in->stats.tokens_waiting += tok_waiting;
	in->stats.tokens_replayed += tok_replayed;
	/* Keep store order: a gateway must never see a lower through_seq after
	 * a higher one. */
	if (acks) {
		if (in->acks_tail)
			in->acks_tail->next = acks;
		else
			in->acks = acks;
		for (in->acks_tail = acks; in->acks_tail->next;)
			in->acks_tail = in->acks_tail->next;
	}
	uv_mutex_unlock(&in->lock);
	uv_async_send(&in->async);
	return failed;
}

static void run_ingest(void *arg)
{
	struct cl_ingester *in = arg;
	struct message **msgs = calloc(in->opt.group, sizeof *msgs);

	for (;;) {
		size_t n = 0, bytes = 0;
		int rc;

		uv_mutex_lock(&in->lock);
		while (!in->head && !in->stopping)
			uv_cond_wait(&in->wake, &in->lock);
		/* A group: what is waiting, up to group messages and group_bytes
		 * bytes (one message at least). */
		while (msgs && in->head && n < in->opt.group &&
		       (n == 0 || bytes + in->head->len <= in->opt.group_bytes)) {
			bytes += in->head->len;
			msgs[n++] = in->head;
			in->head = in->head->next;
			if (!in->head)
				in->tail = NULL;
			in->backlog--;
			in->backlog_bytes -= msgs[n - 1]->len;
		}
		uv_cond_broadcast(&in->room);
		uv_mutex_unlock(&in->lock);
		if (n == 0)
			break;
		/* A group that cannot be stored is stored again one message
		 * at a time: a message the store cannot take (whatever the
		 * cause) then holds up itself alone, not every gateway whose
		 * batches share a group with it.  Not when the store is full:
		 * that holds up everything alike. */
		rc = process_group(in, msgs, n);
		if (rc && rc != AS_E_FULL && n > 1) {
			as_log(AS_LOG_WARNING, "ingest: storing the %zu messages one at a time, so "
			       "that one that cannot be stored holds up no other", n);
			for (size_t i = 0; i < n; i++)
				process_group(in, &msgs[i], 1);
		}
		for (size_t i = 0; i < n; i++)
			free_message(msgs[i]);
	}
	free(msgs);
}

static void on_async(uv_async_t *a)
{
	struct cl_ingester *in = a->data;
	struct ack_item *acks;

	uv_mutex_lock(&in->lock);
	acks = in->acks;
	in->acks = in->acks_tail = NULL;
	uv_mutex_unlock(&in->lock);
	while (acks) {
		struct ack_item *next = acks->next;
		if (acks->ack.len)
			in->on_ack(in->ctx, &acks->ack);
		free(acks);
		acks = next;
	}
}

int cl_ingester_start(struct cl_ingester **out, uv_loop_t *loop, struct cl_store *store,
		      const struct cl_authority *keys, const struct cl_ingest_options *opt,
		      cl_ack_cb on_ack, void *ctx)
{
	struct cl_ingester *in = calloc(1, sizeof *in);
	int rc;

	*out = NULL;
	if (!in)
		return -ENOMEM;
	in->loop = loop;
	in->store = store;
	in->keys = keys;
	in->opt = *opt;
	if (in->opt.group == 0)
		in->opt.group = 1;
	in->on_ack = on_ack;
	in->ctx = ctx;
	uv_mutex_init(&in->lock);
	uv_cond_init(&in->wake);
	uv_cond_init(&in->room);
	uv_async_init(loop, &in->async, on_async);
	in->async.data = in;
	rc = uv_thread_create(&in->thread, run_ingest, in);
	if (rc) {
		uv_close((uv_handle_t *)&in->async, NULL);
		return rc; /* in is leaked on this start-up failure path */
	}
	*out = in;
	return 0;
}

void cl_ingester_submit(struct cl_ingester *in, const char *topic, const uint8_t *payload,
			size_t len)
{
	struct message *m = calloc(1, sizeof *m);

	if (!m)
		return;
	m->topic = strdup(topic);
	m->payload = malloc(len ? len : 1);
	if (!m->topic || !m->payload) {
		free_message(m);
		return;
	}
	memcpy(m->payload, payload, len);
	m->len = len;
	uv_mutex_lock(&in->lock);
	if (in->tail)
		in->tail->next = m;
	else
		in->head = m;
	in->tail = m;
	in->backlog++;
	in->backlog_bytes += len;
	if (in->backlog > in->stats.queue_peak)
		in->stats.queue_peak = in->backlog;
	if (in->backlog_bytes > in->stats.queue_peak_bytes)
		in->stats.queue_peak_bytes = in->backlog_bytes;
	uv_cond_signal(&in->wake);
	uv_mutex_unlock(&in->lock);
}

static int queue_full(const struct cl_ingester *in)
{
	return (in->opt.queue_messages && in->backlog >= in->opt.queue_messages) ||
	       (in->opt.queue_bytes && in->backlog_bytes >= in->opt.queue_bytes);
}

static int queue_above_half(const struct cl_ingester *in)
{
	return (in->opt.queue_messages && in->backlog > in->opt.queue_messages / 2) ||
	       (in->opt.queue_bytes && in->backlog_bytes > in->opt.queue_bytes / 2);
}

void cl_ingester_submit_wait(void *ingester, const char *topic, const uint8_t *payload,
			     size_t len)
{
	struct cl_ingester *in = ingester;
	uint64_t held = 0;

	uv_mutex_lock(&in->lock);
	if (queue_full(in)) {
		held = ++in->stats.held;
		while (!in->stopping && queue_above_half(in))
			uv_cond_wait(&in->room, &in->lock);
	}
	uv_mutex_unlock(&in->lock);
	/* 1st, 10th, 100th, ... time: the operator learns of it, once in a
	 * while. */
	for (uint64_t p = 1; held && p <= held; p *= 10)
		if (p == held)
			as_log(AS_LOG_NOTICE, "ingest: the queue was full (%zu messages or %zu "
			       "bytes) %llu time(s); the broker held the rest back",
			       in->opt.queue_messages, in->opt.queue_bytes,
			       (unsigned long long)held);
	cl_ingester_submit(in, topic, payload, len);
}

unsigned cl_ingester_backlog(const struct cl_ingester *in)
{
	unsigned n;

	uv_mutex_lock((uv_mutex_t *)&in->lock);
	n = in->backlog;
	uv_mutex_unlock((uv_mutex_t *)&in->lock);
	return n;
}

void cl_ingester_stats(const struct cl_ingester *in, struct cl_ingest_stats *out)
{
	uv_mutex_lock((uv_mutex_t *)&in->lock);
	*out = in->stats;
	uv_mutex_unlock((uv_mutex_t *)&in->lock);
}

static void on_closed(uv_handle_t *h)
{
	struct cl_ingester *in = h->data;

	uv_cond_destroy(&in->wake);
	uv_cond_destroy(&in->room);
	uv_mutex_destroy(&in->lock);
	free(in);
}

void cl_ingester_stop(struct cl_ingester *in)
{
	if (!in)
		return;
	uv_mutex_lock(&in->lock);
	in->stopping = 1;
	uv_cond_signal(&in->wake);
	uv_cond_broadcast(&in->room);
	uv_mutex_unlock(&in->lock);
	uv_thread_join(&in->thread);
	cl_collect_sched_free(&in->sched);
	as_log(AS_LOG_INFO, "ingest: at most %llu messages (%llu bytes) were queued at once",
	       (unsigned long long)in->stats.queue_peak,
	       (unsigned long long)in->stats.queue_peak_bytes);
	as_log(AS_LOG_INFO, "ingest: %llu batches taken, %llu records stored since the start",
	       (unsigned long long)in->stats.batches, (unsigned long long)in->stats.records);
	on_async(&in->async);
	uv_close((uv_handle_t *)&in->async, on_closed);
}
