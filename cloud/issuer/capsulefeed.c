/*
 * capsulefeed.c - the issuer's outbox of capsule batches and its delivery
 * to the aggregator (see capsulefeed.h).
 *
 * Outbox: database "capsule_outbox" in the issuer's environment; key 8
 * bytes big-endian seq -> the signed feed message (capsulewire.h); key 0
 * holds the last seq handed out (u64 LE), so a seq is never reused even
 * when the outbox empties, and a late ack cannot drop a newer message.
 *
 * Invariants:
 *  - a message is deleted only after an ack for its seq, signed by the
 *    authority, arrived; until then it is resent (after resend_ms, and
 *    after every reconnection), oldest first;
 *  - at most `window` messages are in flight;
 *  - the outbox's write transactions (append: the caller's; delete: ours,
 *    in libuv's thread pool) are LMDB's, serialised by its writer lock.
 * Threads: append on the caller's thread; kick and stats on any (stats
 * under lock); everything else on the loop thread.
 */
#include "capsulefeed.h"
#include "capsulewire.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/log.h"
#include "anshim/token.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_NAME "capsule_outbox"
#define TICK_MS 1000
#define DELETE_MAX 256         /* acked seqs deleted in one transaction */

struct flight {
	uint64_t seq;
	uint64_t sent_ms;          /* uv_now when published */
};

struct cl_capsulefeed {
	MDB_env *env;
	MDB_dbi dbi;
	uint8_t sk[AS_SIGN_SK_LEN];
	uint8_t issuer_id[CL_ISSUER_ID_LEN];
	/* loop thread */
	uv_loop_t *loop;
	uv_async_t kick;
	uv_timer_t tick;
	int handles;               /* open handles, for close */
	struct as_mqtt *mqtt;
	struct cl_capsulefeed_options opt;
	char topic[64], ack_topic[64];
	int subscribed;
	struct flight *flights;    /* opt.window slots, seq 0 = free */
	uint64_t acked_seqs[DELETE_MAX];   /* acked, delete not yet done */
	size_t nacked;
	uv_work_t del_work;
	int deleting;
	uint64_t del_seqs[DELETE_MAX];
	size_t ndel;
	int del_rc;
	/* under lock */
	uv_mutex_t lock;
	struct cl_capsulefeed_stats st;
};

static void key_of(uint8_t k[8], uint64_t seq)
{
	as_put_be64(k, seq);
}

static int lmdb_rc(int rc)
{
	if (rc == 0)
		return 0;
	if (rc == MDB_MAP_FULL)
		return AS_E_FULL;
	return rc > 0 ? -rc : AS_E_STORE;
}

int cl_capsulefeed_open(struct cl_capsulefeed **out, MDB_env *env,
			const uint8_t issuer_sk[AS_SIGN_SK_LEN], char *err, size_t err_len)
{
	struct cl_capsulefeed *f = calloc(1, sizeof *f);
	MDB_txn *txn = NULL;
	int rc;

	*out = NULL;
	if (!f) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	f->env = env;
	memcpy(f->sk, issuer_sk, AS_SIGN_SK_LEN);
	/* The public key is the second half of an Ed25519 secret key. */
	cl_issuer_id(f->issuer_id, issuer_sk + 32);
	rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, DB_NAME, MDB_CREATE, &f->dbi);
	if (!rc) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (rc) {
		if (txn)
			mdb_txn_abort(txn);
		snprintf(err, err_len, "opening the capsule outbox (database '%s'): %s%s", DB_NAME,
			 mdb_strerror(rc),
			 rc == MDB_DBS_FULL ? " (the environment needs one more named database: "
					      "mdb_env_set_maxdbs)" : "");
		sodium_memzero(f->sk, sizeof f->sk);
		free(f);
		return lmdb_rc(rc);
	}
	uv_mutex_init(&f->lock);
	*out = f;
	return 0;
}

int cl_capsulefeed_append(struct cl_capsulefeed *f, MDB_txn *txn,
			  const uint8_t contact_pk[AS_BOX_PK_LEN],
			  const uint8_t contact[AS_CAPSULE_LEN], uint64_t serial, unsigned count,
			  int64_t expires_at, uint64_t *seq, char *err, size_t err_len)
{
	struct cl_feed_batch b;
	struct cl_feed_issue issue;
	struct cl_tokcap_key key;
	uint8_t k0[8], kseq[8], counter[8], msg[CL_FEED_LEN(1)];
	MDB_val mk = {8, k0}, mv;
	uint64_t last = 0;
	int rc, len;

	if (count == 0 || count > CL_ISSUE_MAX_TOKENS || serial == 0 ||
	    serial > AS_TOKEN_SERIAL_MAX) {
		snprintf(err, err_len, "an issue holds 1 to %d tokens and a serial from 1, not "
			 "%u tokens of serial %llu", CL_ISSUE_MAX_TOKENS, count,
			 (unsigned long long)serial);
		return AS_E_FIELD;
	}
	memset(&b, 0, sizeof b);
	memset(&issue, 0, sizeof issue);
	b.issues = &issue;
	key_of(k0, 0);
	rc = mdb_get(txn, f->dbi, &mk, &mv);
	if (rc == 0 && mv.mv_size == 8) {
		struct as_reader r;

		as_reader_init(&r, mv.mv_data, 8);
		last = as_reader_u64(&r);
	} else if (rc != MDB_NOTFOUND) {
		snprintf(err, err_len, "reading the capsule outbox's counter: %s",
			 rc ? mdb_strerror(rc) : "wrong size");
		rc = rc ? lmdb_rc(rc) : AS_E_CORRUPT;
		goto out;
	}
	rc = cl_tokcap_key_make(&key, contact_pk);
	if (rc) {
		snprintf(err, err_len, "sealing a batch key to the contact key failed");
		goto out;
	}
	memcpy(b.issuer_id, f->issuer_id, CL_ISSUER_ID_LEN);
	b.seq = last + 1;
	b.created = (int64_t)time(NULL);
	memcpy(b.sealed_key, key.sealed, sizeof b.sealed_key);
	b.count = 1;
	issue.serial = serial;
	issue.expires_at = expires_at;
	issue.count = (uint8_t)count;
	cl_tokcap_seal(issue.capsule, &key, serial, expires_at, issue.count, contact);
	cl_tokcap_key_wipe(&key);
	len = cl_feed_encode(msg, sizeof msg, &b, f->sk);
	if (len < 0) {
		rc = len;
		snprintf(err, err_len, "encoding a capsule batch: %s", as_strerror(rc));
		goto out;
	}
	{
		struct as_writer w;

		as_writer_init(&w, counter, sizeof counter);
		as_writer_u64(&w, b.seq);
	}
	mv.mv_size = 8;
	mv.mv_data = counter;
	rc = mdb_put(txn, f->dbi, &mk, &mv, 0);
	if (!rc) {
		MDB_val k = {8, kseq}, v = {(size_t)len, msg};

		key_of(kseq, b.seq);
		rc = mdb_put(txn, f->dbi, &k, &v, MDB_NOOVERWRITE);
	}
	if (rc) {
		snprintf(err, err_len, "adding batch %llu to the capsule outbox: %s",
			 (unsigned long long)b.seq, mdb_strerror(rc));
		rc = lmdb_rc(rc);
		goto out;
	}
	if (seq)
		*seq = b.seq;
out:
	return rc;
}

/* ---- the publisher (loop thread) ---- */

static struct flight *flight_of(struct cl_capsulefeed *f, uint64_t seq)
{
	for (unsigned i = 0; i < f->opt.window; i++)
		if (f->flights[i].seq == seq)
			return &f->flights[i];
	return NULL;
}

static int is_acked(const struct cl_capsulefeed *f, uint64_t seq)
{
	for (size_t i = 0; i < f->nacked; i++)
		if (f->acked_seqs[i] == seq)
			return 1;
	for (size_t i = 0; f->deleting && i < f->ndel; i++)
		if (f->del_seqs[i] == seq)
			return 1;
	return 0;
}

/* Publish what the window allows: unsent messages, and those in flight
 * longer than resend_ms.  Also refreshes the outbox statistics. */
static void pump(struct cl_capsulefeed *f)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint8_t first[8];
	uint64_t now = uv_now(f->loop), queued = 0, oldest = 0, published = 0;
	int rc, connected = f->mqtt && as_mqtt_is_connected(f->mqtt) && f->subscribed;

	rc = mdb_txn_begin(f->env, NULL, MDB_RDONLY, &txn);
	if (!rc)
		rc = mdb_cursor_open(txn, f->dbi, &cur);
	if (rc) {
		as_log(AS_LOG_ERR, "capsule feed: reading the outbox: %s", mdb_strerror(rc));
		if (txn)
			mdb_txn_abort(txn);
		return;
	}
	key_of(first, 1);
	k.mv_size = 8;
	k.mv_data = first;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t seq;
		struct flight *fl;

		if (k.mv_size != 8)
			continue;
		seq = as_get_be64(k.mv_data);
		if (is_acked(f, seq))
			continue;
		queued++;
		if (!oldest)
			oldest = seq;
		if (!connected)
			continue;
		fl = flight_of(f, seq);
		if (fl && now - fl->sent_ms < f->opt.resend_ms)
			continue;
		if (!fl)
			fl = flight_of(f, 0);
		if (!fl)
			continue;   /* window full: count the rest only */
		if (as_mqtt_publish(f->mqtt, f->topic, v.mv_data, v.mv_size, 1, 0, seq) == 0) {
			fl->seq = seq;
			fl->sent_ms = now;
			published++;
		}
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	uv_mutex_lock(&f->lock);
	f->st.queued = queued;
	f->st.oldest_seq = oldest;
	f->st.published += published;
	f->st.connected = connected;
	uv_mutex_unlock(&f->lock);
}

static void delete_work(uv_work_t *w)
{
	struct cl_capsulefeed *f = w->data;
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(f->env, NULL, 0, &txn);

	for (size_t i = 0; !rc && i < f->ndel; i++) {
		uint8_t kb[8];
		MDB_val k = {8, kb};

		key_of(kb, f->del_seqs[i]);
		rc = mdb_del(txn, f->dbi, &k, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;   /* acked twice */
	}
	if (!rc) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (txn)
		mdb_txn_abort(txn);
	f->del_rc = rc;
}

static void start_delete(struct cl_capsulefeed *f);

static void delete_done(uv_work_t *w, int status)
{
	struct cl_capsulefeed *f = w->data;

	(void)status;
	f->deleting = 0;
	if (f->del_rc) {
		/* Kept in the outbox: sent again, acknowledged again. */
		as_log(AS_LOG_ERR, "capsule feed: dropping %zu acknowledged batches from the "
		       "outbox failed: %s; they will be sent again", f->ndel,
		       mdb_strerror(f->del_rc));
	} else {
		uv_mutex_lock(&f->lock);
		f->st.acked += f->ndel;
		uv_mutex_unlock(&f->lock);
	}
	f->ndel = 0;
	if (f->nacked && f->handles)
		start_delete(f);
	if (f->handles)
		pump(f);
}

static void start_delete(struct cl_capsulefeed *f)
{
	if (f->deleting || f->nacked == 0)
		return;
	memcpy(f->del_seqs, f->acked_seqs, f->nacked * sizeof f->acked_seqs[0]);
	f->ndel = f->nacked;
	f->nacked = 0;
	f->deleting = 1;
	f->del_work.data = f;
	if (uv_queue_work(f->loop, &f->del_work, delete_work, delete_done) != 0) {
		f->deleting = 0;
		f->ndel = 0;
	}
}

static void on_connected(void *ctx)
{
	struct cl_capsulefeed *f = ctx;

	f->subscribed = 0;
	if (as_mqtt_subscribe(f->mqtt, f->ack_topic, 1, 1) != 0)
		as_log(AS_LOG_ERR, "capsule feed: subscribing to %s failed", f->ack_topic);
}

static void on_subscribed(void *ctx, uint64_t id, int ok)
{
	struct cl_capsulefeed *f = ctx;

	(void)id;
	if (!ok) {
		as_log(AS_LOG_ERR, "capsule feed: the broker refused the subscription to %s "
		       "(check the issuer account's ACL: it must read that topic)", f->ack_topic);
		return;
	}
	f->subscribed = 1;
	/* A new connection: everything in flight is sent again. */
	memset(f->flights, 0, f->opt.window * sizeof *f->flights);
	pump(f);
}

static void on_disconnected(void *ctx, const char *why)
{
	struct cl_capsulefeed *f = ctx;

	(void)why;
	f->subscribed = 0;
}

static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len)
{
	struct cl_capsulefeed *f = ctx;
	struct cl_feed_ack a;
	struct flight *fl;

	if (strcmp(topic, f->ack_topic) != 0)
		return;
	if (cl_feed_ack_decode(&a, payload, len, f->opt.authority_pk) != 0 ||
	    memcmp(a.issuer_id, f->issuer_id, CL_ISSUER_ID_LEN) != 0 || a.seq == 0) {
		uv_mutex_lock(&f->lock);
		f->st.bad_acks++;
		uv_mutex_unlock(&f->lock);
		as_log(AS_LOG_WARNING, "capsule feed: an ack (%zu bytes) that does not verify "
		       "with the authority's key, or names another issuer, was ignored", len);
		return;
	}
	fl = flight_of(f, a.seq);
	if (fl)
		fl->seq = 0;
	if (!is_acked(f, a.seq)) {
		if (f->nacked == DELETE_MAX)
			return;   /* dropped: the message is resent and acked again */
		f->acked_seqs[f->nacked++] = a.seq;
	}
	start_delete(f);
	pump(f);
}

static void on_published(void *ctx, uint64_t id, int ok)
{
	struct cl_capsulefeed *f = ctx;
	struct flight *fl;

	if (ok) {
		uv_mutex_lock(&f->lock);
		f->st.taken++;
		uv_mutex_unlock(&f->lock);
		return;
	}
	/* Not taken by the broker: free the slot so the next pump resends. */
	fl = flight_of(f, id);
	if (fl)
		fl->seq = 0;
}

static void on_kick(uv_async_t *h)
{
	pump(h->data);
}

static void on_tick(uv_timer_t *t)
{
	pump(t->data);
}

int cl_capsulefeed_start(struct cl_capsulefeed *f, uv_loop_t *loop,
			 const struct cl_capsulefeed_options *opt, char *err, size_t err_len)
{
	static const struct as_mqtt_handlers handlers = {
		.on_connected = on_connected,
		.on_disconnected = on_disconnected,
		.on_message = on_message,
		.on_published = on_published,
		.on_subscribed = on_subscribed,
	};
	int rc;

	f->loop = loop;
	f->opt = *opt;
	if (!f->opt.window)
		f->opt.window = CL_CAPSULEFEED_WINDOW;
	if (!f->opt.resend_ms)
		f->opt.resend_ms = CL_CAPSULEFEED_RESEND_MS;
	f->flights = calloc(f->opt.window, sizeof *f->flights);
	if (!f->flights) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	cl_feed_topic(f->topic, f->issuer_id, 0);
	cl_feed_topic(f->ack_topic, f->issuer_id, 1);
	uv_async_init(loop, &f->kick, on_kick);
	f->kick.data = f;
	uv_timer_init(loop, &f->tick);
	f->tick.data = f;
	f->handles = 2;
	uv_timer_start(&f->tick, on_tick, TICK_MS, TICK_MS);
	rc = as_mqtt_start(&f->mqtt, loop, opt->mqtt, &handlers, f, err, err_len);
	if (rc) {
		cl_capsulefeed_stop(f);
		return rc;
	}
	pump(f);
	return 0;
}

void cl_capsulefeed_kick(struct cl_capsulefeed *f)
{
	if (f->handles)
		uv_async_send(&f->kick);
}

void cl_capsulefeed_stats(struct cl_capsulefeed *f, struct cl_capsulefeed_stats *st)
{
	uv_mutex_lock(&f->lock);
	*st = f->st;
	uv_mutex_unlock(&f->lock);
}

void cl_capsulefeed_stop(struct cl_capsulefeed *f)
{
	if (f->mqtt) {
		as_mqtt_stop(f->mqtt);
		f->mqtt = NULL;
	}
	if (f->handles) {
		f->handles = 0;
		uv_close((uv_handle_t *)&f->kick, NULL);
		uv_close((uv_handle_t *)&f->tick, NULL);
	}
}

void cl_capsulefeed_close(struct cl_capsulefeed *f)
{
	if (!f)
		return;
	sodium_memzero(f->sk, sizeof f->sk);
	uv_mutex_destroy(&f->lock);
	free(f->flights);
	free(f);
}
