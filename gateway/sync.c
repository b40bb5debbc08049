/*
 * sync.c - journal -> signed batches -> MQTT, and acks back (see sync.h).
 *
 * State (loop thread): acked (durable acked_seq), ack_writing (highest
 * acked_seq being persisted), send_next (first seq not yet handed to a
 * batch), the in-flight table, and at most one batch being built in the
 * thread pool.  Invariants:
 *  - acked only grows, and only from a verified ack for this gateway; an
 *    ack that names a chain (version 2) moves it at most to the seq at
 *    which the cloud holds this journal's own link, so records of another
 *    branch under the same seqs (a restored backup's original, an earlier
 *    journal) never count as ours;
 *  - every in-flight batch covers [first, last] with first >= acked + 1,
 *    and batches are contiguous: the next one starts at send_next;
 *  - on any doubt (disconnect, ack timeout, an ack showing the cloud lacks
 *    what we think is in flight) the table is cleared and send_next goes
 *    back to acked + 1: the cloud de-duplicates by (gateway, seq), so a
 *    resend costs bandwidth, never correctness.
 * A build job outlives a rewind harmlessly: its result is dropped if the
 * sync's epoch changed while it ran.
 */
#include "sync.h"

#include "heartbeat.h"

#include "anshim/ack.h"
#include "anshim/batch.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/log.h"
#include "anshim/mqtt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INFLIGHT 32
#define SUB_ACK 1
#define SUB_POLICY 2

struct inflight {
	uint64_t id;           /* publish id (also the batch_seq) */
	uint64_t first, last;
	uint64_t sent_ms;
};

struct build_job {
	uv_work_t work;
	struct gw_sync *sync;
	uint64_t epoch;
	uint64_t first;
	unsigned max_records;
	size_t max_bytes;
	uint64_t batch_seq;
	/* results */
	int rc;
	size_t n;
	uint64_t last;
	uint8_t *buf;
	size_t len;
};

struct gw_sync {
	uv_loop_t *loop;
	struct gw_sync_config cfg;
	struct gw_sync_deps deps;
	struct as_mqtt *mqtt;
	uv_timer_t tick, hb_timer;
	char topic_batch[96], topic_ack[96], topic_heartbeat[96];
	int subscribed;          /* both subscriptions confirmed */
	int subs_pending;
	uint64_t acked, ack_writing, send_next;
	uint64_t epoch;          /* bumped on every rewind */
	uint64_t next_batch_seq;
	struct inflight inflight[MAX_INFLIGHT];
	unsigned n_inflight;
	struct build_job *building;
	int stopping;
	int tick_open, hb_open;
	uint64_t heartbeats_sent;
	int64_t last_heartbeat;  /* sent_at of the last heartbeat published */
	/* status */
	uint64_t batches_sent, acks, resends;
	uint64_t acks_other_chain; /* acks naming a chain not this journal's */
	int64_t last_ack_time;   /* cloud time of the last ack, unix s */
	char last_error[AS_MQTT_ERROR_MAX];
	struct gw_write_req ack_req;
	int ack_req_busy;
	struct gw_write_req correct_req;
	int correct_busy, corrected_this_boot;
	struct gw_write_req rebase_req;
	int rebase_busy;
};

static void pump(struct gw_sync *s);
static void sync_maybe_free(struct gw_sync *s);
static void on_ack_persisted(struct gw_write_req *req);

static uint64_t now_ms(const struct gw_sync *s)
{
	return uv_now(s->loop);
}

static void rewind_to_acked(struct gw_sync *s, const char *why)
{
	if (s->n_inflight || s->send_next > s->acked + 1) {
		as_log(AS_LOG_INFO, "sync: resending from seq %llu (%s)",
		       (unsigned long long)(s->acked + 1), why);
		s->resends++;
	}
	s->n_inflight = 0;
	s->send_next = s->acked + 1;
	s->epoch++;
}

/* ---- building batches in the thread pool ---- */

struct collect {
	struct as_record *recs;
	size_t n, cap, bytes, max_bytes;
	uint64_t expect;
};

static int collect_one(void *ctx, const struct as_record *rec)
{
	struct collect *c = ctx;

	if (rec->seq != c->expect || c->n == c->cap ||
	    as_batch_size(c->n + 1) > c->max_bytes)
		return 1;
	c->recs[c->n++] = *rec;
	c->expect++;
	return 0;
}

static void build_work(uv_work_t *w)
{
	struct build_job *job = w->data;
	struct gw_sync *s = job->sync;
	struct as_batch_header hdr;
	struct collect c = {0};
	uint8_t (*digests)[AS_CHAIN_LEN] = NULL;

	c.recs = calloc(job->max_records, sizeof *c.recs);
	c.cap = job->max_records;
	c.max_bytes = job->max_bytes;
	c.expect = job->first;
	if (!c.recs) {
		job->rc = -ENOMEM;
		return;
	}
	job->rc = gw_journal_scan(s->deps.journal, job->first, 0, job->max_records, collect_one, &c);
	job->n = c.n;
	if (!job->rc && c.n) {
		struct gw_journal_chain chain;

		job->len = as_batch_size(c.n);
		job->buf = malloc(job->len);
		digests = malloc(c.n * sizeof *digests);
		memset(&hdr, 0, sizeof hdr);
		memcpy(hdr.gw_id, s->deps.gw_id, AS_GWID_LEN);
		hdr.batch_seq = job->batch_seq;
		hdr.first_seq = job->first;
		hdr.created = (int64_t)time(NULL);
		/* The chain as the journal holds it, never recomputed here: a
		 * record changed or removed on disk must show at the cloud. */
		job->rc = job->buf && digests ? gw_journal_chain_head(s->deps.journal, &chain)
					      : -ENOMEM;
		if (!job->rc) {
			memcpy(hdr.journal_id, chain.journal_id, AS_JOURNAL_ID_LEN);
			job->rc = gw_journal_chain_range(s->deps.journal, job->first, c.n,
							 hdr.chain_prev, digests, hdr.chain_head);
		}
		if (!job->rc)
			job->rc = as_batch_encode_chained(job->buf, job->len, &hdr, c.recs,
							  (const uint8_t (*)[AS_CHAIN_LEN])digests,
							  c.n, s->deps.device_sk);
		if (job->rc > 0) {
			job->len = (size_t)job->rc;
			job->last = hdr.last_seq;
			job->rc = 0;
		}
	}
	free(digests);
	free(c.recs);
}

static void build_done(uv_work_t *w, int status)
{
	struct build_job *job = w->data;
	struct gw_sync *s = job->sync;
	int rc;

	s->building = NULL;
	if (s->stopping || status != 0 || job->epoch != s->epoch) {
		free(job->buf);
		free(job);
		if (s->stopping)
			sync_maybe_free(s);
		else
			pump(s);
		return;
	}
	if (job->rc) {
		snprintf(s->last_error, sizeof s->last_error, "cannot build a batch: %s",
			 as_strerror(job->rc));
		as_log(AS_LOG_ERR, "sync: %s", s->last_error);
		rc = job->rc;
	} else if (job->n) {
		rc = as_mqtt_publish(s->mqtt, s->topic_batch, job->buf, job->len, 1, 0,
				     job->batch_seq);
		if (rc == 0) {
			struct inflight *f = &s->inflight[s->n_inflight++];
			f->id = job->batch_seq;
			f->first = job->first;
			f->last = job->last;
			f->sent_ms = now_ms(s);
			s->send_next = job->last + 1;
			s->batches_sent++;
		} else {
			snprintf(s->last_error, sizeof s->last_error, "publish failed: %s",
				 as_strerror(rc));
		}
	} else {
		rc = 1; /* nothing to send: wait for a kick */
	}
	free(job->buf);
	free(job);
	/* After a failure the tick timer retries; no busy loop here. */
	if (rc == 0)
		pump(s);
}

/* Start building the next batch if the window and the connection allow. */
static void pump(struct gw_sync *s)
{
	struct build_job *job;
	int probing;
	unsigned window;

	/* While the journal's times are being corrected, wait: a batch built
	 * now would carry the uncorrected times. */
	if (s->stopping || s->building || s->rebase_busy || s->correct_busy || !s->subscribed ||
	    !as_mqtt_is_connected(s->mqtt))
		return;
	/* Unsynced clock, no trusted offset yet: one record at a time until
	 * the first ack tells us the time. */
	probing = !gw_clock_synced(s->deps.clock) && !s->deps.clock->has_offset;
	window = probing ? 1 : s->cfg.inflight;
	if (s->n_inflight >= window || s->n_inflight >= MAX_INFLIGHT)
		return;
	job = calloc(1, sizeof *job);
	if (!job)
		return;
	job->sync = s;
	job->epoch = s->epoch;
	job->first = s->send_next;
	job->max_records = probing ? 1 : s->cfg.batch_max_records;
	job->max_bytes = s->cfg.batch_max_bytes;
	job->batch_seq = s->next_batch_seq++;
	job->work.data = job;
	if (uv_queue_work(s->loop, &job->work, build_work, build_done) != 0) {
		free(job);
		return;
	}
	s->building = job;
}

/* ---- acks ---- */

static void on_correct_done(struct gw_write_req *req)
{
	struct gw_sync *s = req->data;

	s->correct_busy = 0;
	if (req->status)
		as_log(AS_LOG_ERR, "sync: correcting record times failed: %s",
		       as_strerror(req->status));
	else if (req->purged)
		as_log(AS_LOG_NOTICE, "sync: corrected the time of %llu records made while the "
		       "clock was unsynced", (unsigned long long)req->purged);
	if (s->stopping) {
		sync_maybe_free(s);
		return;
	}
	/* Batches built before the correction went out with old times: send
	 * from the first unacked record again, now corrected. */
	rewind_to_acked(s, "times corrected");
	pump(s);
}

static void submit_ack_write(struct gw_sync *s, uint64_t through)
{
	memset(&s->ack_req, 0, sizeof s->ack_req);
	s->ack_req.kind = GW_WRITE_META;
	s->ack_req.meta_name = "acked_seq";
	s->ack_req.meta_value = through;
	s->ack_req.done = on_ack_persisted;
	s->ack_req.data = s;
	s->ack_req_busy = 1;
	gw_writer_submit(s->deps.writer, &s->ack_req);
}

static void on_ack_persisted(struct gw_write_req *req)
{
	struct gw_sync *s = req->data;
	unsigned keep = 0;

	s->ack_req_busy = 0;
	if (req->status) {
		as_log(AS_LOG_ERR, "sync: cannot persist acked_seq: %s", as_strerror(req->status));
		s->ack_writing = s->acked;
		sync_maybe_free(s);
		return;
	}
	if (req->meta_value > s->acked)
		s->acked = req->meta_value;
	if (s->stopping) {
		sync_maybe_free(s);
		return;
	}
	for (unsigned i = 0; i < s->n_inflight; i++)
		if (s->inflight[i].last > s->acked)
			s->inflight[keep++] = s->inflight[i];
	s->n_inflight = keep;
	if (s->send_next < s->acked + 1)
		s->send_next = s->acked + 1;
	/* A newer ack may have arrived while this one was being written. */
	if (s->ack_writing > s->acked)
		submit_ack_write(s, s->ack_writing);
	pump(s);
}

static void learn_time(struct gw_sync *s, int64_t cloud_ms)
{
	struct gw_clock *c = s->deps.clock;

	s->last_ack_time = cloud_ms / 1000;
	if (gw_clock_synced(c) || c->has_offset)
		return;
	gw_clock_learn(c, cloud_ms, gw_clock_mono_ms());
	as_log(AS_LOG_NOTICE, "sync: clock unsynced; using the cloud's signed time, "
	       "correcting this boot's records");
	if (s->correct_busy)
		return;
	memset(&s->correct_req, 0, sizeof s->correct_req);
	s->correct_req.kind = GW_WRITE_CORRECT;
	memcpy(s->correct_req.boot_id, c->boot_id, AS_BOOT_ID_LEN);
	s->correct_req.offset = c->offset;
	s->correct_req.done = on_correct_done;
	s->correct_req.data = s;
	s->correct_busy = 1;
	gw_writer_submit(s->deps.writer, &s->correct_req);
}

static void on_rebased(struct gw_write_req *req)
{
	struct gw_sync *s = req->data;

	s->rebase_busy = 0;
	if (req->status) {
		as_log(AS_LOG_ERR, "sync: cannot renumber the journal: %s", as_strerror(req->status));
	} else {
		as_log(AS_LOG_WARNING, "sync: the cloud already holds this gateway through seq "
		       "%llu, beyond the journal (lost or restored?): %llu unsent records "
		       "renumbered after it", (unsigned long long)req->meta_value,
		       (unsigned long long)req->purged);
		if (req->meta_value > s->acked)
			s->acked = s->ack_writing = req->meta_value;
	}
	if (s->stopping) {
		sync_maybe_free(s);
		return;
	}
	rewind_to_acked(s, "journal renumbered");
	pump(s);
}

/* An ack above anything journaled means the journal restarted from seq 1
 * while the device key (and so the cloud's count) went on.  Renumber the
 * unsent records so the cloud takes them as new.  Returns 1 if so.  (Only
 * for an ack that names no chain: one that does says whose records the
 * cloud holds, and the cloud reconciles the seqs it holds by content.) */
static int journal_behind(struct gw_sync *s, uint64_t through)
{
	struct gw_journal_stats st;

	if (gw_journal_stats(s->deps.journal, &st) || through <= st.last_seq)
		return 0;
	memset(&s->rebase_req, 0, sizeof s->rebase_req);
	s->rebase_req.kind = GW_WRITE_REBASE;
	s->rebase_req.meta_value = through;
	s->rebase_req.done = on_rebased;
	s->rebase_req.data = s;
	s->rebase_busy = 1;
	s->n_inflight = 0;
	s->epoch++;
	gw_writer_submit(s->deps.writer, &s->rebase_req);
	return 1;
}

/* Is the chain the ack reports this journal's?  1 if the journal id is
 * ours and our link after record chain_seq is the ack's link (the cloud
 * took our records through chain_seq), 0 if not (the records the cloud
 * holds are another branch's: the original of a restored backup, or an
 * earlier journal), or an error (the journal could not be read). */
static int ack_chain_is_ours(struct gw_sync *s, const struct as_ack *ack)
{
	struct gw_journal_chain own;
	uint8_t prev[AS_CHAIN_LEN], digest[1][AS_CHAIN_LEN], link[AS_CHAIN_LEN];
	int rc = gw_journal_chain_head(s->deps.journal, &own);

	if (rc)
		return rc;
	if (memcmp(own.journal_id, ack->journal_id, AS_JOURNAL_ID_LEN) != 0)
		return 0;
	if (ack->chain_seq == 0)
		return as_chain_is_genesis(ack->chain_link);
	rc = gw_journal_chain_range(s->deps.journal, ack->chain_seq, 1, prev, digest, link);
	if (rc == AS_E_NOT_FOUND)
		return 0;   /* not a seq of ours (any more): not ours to confirm */
	if (rc)
		return rc;
	return as_chain_equal(link, ack->chain_link);
}

static void handle_ack(struct gw_sync *s, const uint8_t *payload, size_t len)
{
	struct as_ack ack;
	int rc = as_ack_decode(&ack, payload, len, s->deps.authority_pk);
	int continues = 0;
	uint64_t through;

	if (rc || memcmp(ack.gw_id, s->deps.gw_id, AS_GWID_LEN) != 0) {
		as_log(AS_LOG_WARNING, "sync: ignored an ack that %s",
		       rc ? as_strerror(rc) : "names another gateway");
		return;
	}
	s->acks++;
	learn_time(s, ack.cloud_time_ms);
	through = ack.through_seq;
	if (through < s->ack_writing || s->rebase_busy)
		return; /* older news than an ack already taken */
	/* through_seq says the cloud holds some record under every seq up to
	 * it, not whose: a restored backup's original, or an earlier journal,
	 * may have filled seqs this journal has other records under.  An ack
	 * that names a chain says how far the cloud holds this journal's: take
	 * it only that far, and an ack naming another chain (or a link that is
	 * not ours) not at all; what is unsent goes on under its own seqs,
	 * which the cloud reconciles by content.  An ack that names none
	 * (version 1, or a cloud following no chain of this gateway) is taken
	 * as it is (docs/PROTOCOL.md, section 12). */
	if (as_ack_has_chain(&ack)) {
		rc = ack_chain_is_ours(s, &ack);
		if (rc < 0) {
			as_log(AS_LOG_ERR, "sync: cannot read the journal's chain to check an ack: "
			       "%s", as_strerror(rc));
			return;
		}
		if (!rc) {
			s->acks_other_chain++;
			return;
		}
		if (ack.chain_seq < through)
			through = ack.chain_seq;
		if (through < s->ack_writing)
			return;
	} else if (journal_behind(s, through)) {
		return;
	}
	if (through > s->ack_writing) {
		s->ack_writing = through;
		if (!s->ack_req_busy)
			submit_ack_write(s, through);
	}
	/* Does what is in flight continue where the cloud stands?  If some
	 * batch was sent beyond through but none starts at or before
	 * through + 1, the cloud lost or refused one: go back. */
	for (unsigned i = 0; i < s->n_inflight; i++)
		if (s->inflight[i].first <= through + 1)
			continues = 1;
	if (!continues && s->send_next > through + 1) {
		rewind_to_acked(s, "the cloud's ack shows a missing batch");
		if (through + 1 > s->send_next)
			s->send_next = through + 1;
	}
	pump(s);
}

/* ---- heartbeats ---- */

/* Publish a heartbeat now if connected; a disconnected gateway's silence
 * is what the cloud records, so nothing is queued. */
static void send_heartbeat(struct gw_sync *s)
{
	uint8_t buf[AS_HEARTBEAT_LEN];
	struct as_heartbeat hb;
	int rc;

	if (s->stopping || !s->mqtt || !as_mqtt_is_connected(s->mqtt))
		return;
	rc = gw_heartbeat_fill(&hb, s->deps.journal, s->deps.clock, s->deps.gw_id,
			       s->deps.started_mono_ms, s->cfg.heartbeat_interval);
	/* Two heartbeats of one run in the same second (a reconnect right
	 * after one) would read as a replay to the cloud, which refuses one
	 * not newer than the last: the first already says it all. */
	if (!rc && s->heartbeats_sent && hb.sent_at == s->last_heartbeat)
		return;
	if (!rc)
		rc = as_heartbeat_encode(buf, sizeof buf, &hb, s->deps.device_sk);
	if (rc > 0)
		rc = as_mqtt_publish(s->mqtt, s->topic_heartbeat, buf, (size_t)rc, 1, 0, 0);
	if (rc) {
		as_log(AS_LOG_WARNING, "sync: cannot send a heartbeat: %s", as_strerror(rc));
		return;
	}
	s->heartbeats_sent++;
	s->last_heartbeat = hb.sent_at;
}

static void on_hb_timer(uv_timer_t *t)
{
	send_heartbeat(t->data);
}

/* ---- MQTT events ---- */

static void on_connected(void *ctx)
{
	struct gw_sync *s = ctx;

	as_log(AS_LOG_NOTICE, "sync: connected to %s", as_mqtt_current_broker(s->mqtt));
	s->subscribed = 0;
	s->subs_pending = 2;
	s->last_error[0] = '\0';
	rewind_to_acked(s, "reconnected");
	if (as_mqtt_subscribe(s->mqtt, s->topic_ack, 1, SUB_ACK) ||
	    as_mqtt_subscribe(s->mqtt, GW_TOPIC_PREFIX "/policy", 1, SUB_POLICY))
		as_log(AS_LOG_ERR, "sync: cannot subscribe");
	/* Tell the cloud at once that the silence (if any) is over. */
	send_heartbeat(s);
}

static void on_disconnected(void *ctx, const char *why)
{
	struct gw_sync *s = ctx;

	as_log(AS_LOG_WARNING, "sync: disconnected (%s); records stay in the journal", why);
	s->last_error[0] = '\0'; /* the MQTT client's own words say why */
	s->subscribed = 0;
	rewind_to_acked(s, "disconnected");
}

static void on_subscribed(void *ctx, uint64_t id, int ok)
{
	struct gw_sync *s = ctx;

	(void)id;
	if (!ok) {
		as_log(AS_LOG_ERR, "sync: subscription refused by the broker (check its ACL)");
		snprintf(s->last_error, sizeof s->last_error, "subscription refused");
		return;
	}
	if (--s->subs_pending == 0) {
		s->subscribed = 1;
		pump(s);
	}
}

static void on_published(void *ctx, uint64_t id, int ok)
{
	struct gw_sync *s = ctx;

	/* A PUBACK only means the broker took it; the ack decides. */
	if (ok)
		return;
	for (unsigned i = 0; i < s->n_inflight; i++) {
		if (s->inflight[i].id == id) {
			rewind_to_acked(s, "publish failed");
			pump(s);
			return;
		}
	}
}

static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len)
{
	struct gw_sync *s = ctx;
	int rc;

	if (strcmp(topic, s->topic_ack) == 0) {
		handle_ack(s, payload, len);
		return;
	}
	if (strcmp(topic, GW_TOPIC_PREFIX "/policy") != 0)
		return;
	rc = gw_policy_store_offer(s->deps.policy, payload, len);
	if (rc < 0) {
		as_log(AS_LOG_WARNING, "sync: refused a policy message: %s", as_strerror(rc));
	} else if (rc == 1) {
		uint32_t venue = gw_policy_store_venue(s->deps.policy);
		const char *category = gw_policy_store_category(s->deps.policy);
		char enrolled[48] = "";

		if (venue)
			snprintf(enrolled, sizeof enrolled, ", enrolled as venue %u", venue);
		as_log(AS_LOG_NOTICE, "sync: new policy applied: alert level %d%s%s%s",
		       gw_policy_store_level(s->deps.policy), enrolled,
		       category ? ", category " : "", category ? category : "");
		if (s->deps.on_policy)
			s->deps.on_policy(s->deps.ctx);
	}
}

static const struct as_mqtt_handlers mqtt_handlers = {
	on_connected, on_disconnected, on_message, on_published, on_subscribed,
};

static void on_tick(uv_timer_t *t)
{
	struct gw_sync *s = t->data;

	if (s->n_inflight && now_ms(s) - s->inflight[0].sent_ms > s->cfg.ack_timeout_ms)
		rewind_to_acked(s, "no ack in time");
	pump(s);
}

int gw_sync_start(struct gw_sync **out, uv_loop_t *loop, const struct gw_sync_config *cfg,
		  const struct gw_sync_deps *deps, char *err, size_t err_len)
{
	struct as_mqtt_options mo;
	struct gw_sync *s;
	char id_hex[2 * AS_GWID_LEN + 1], account[2 * AS_GWID_LEN + 4];
	uint64_t acked = 0;
	int rc;

	*out = NULL;
	rc = gw_journal_get_meta(deps->journal, "acked_seq", &acked);
	if (rc) {
		snprintf(err, err_len, "cannot read acked_seq from the journal: %s", as_strerror(rc));
		return rc;
	}
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->cfg = *cfg;
	if (s->cfg.inflight < 1)
		s->cfg.inflight = 1;
	if (s->cfg.inflight > MAX_INFLIGHT)
		s->cfg.inflight = MAX_INFLIGHT;
	if (s->cfg.heartbeat_interval < 1 || s->cfg.heartbeat_interval > AS_HEARTBEAT_INTERVAL_MAX)
		s->cfg.heartbeat_interval = 300;
	s->deps = *deps;
	s->acked = s->ack_writing = acked;
	s->send_next = acked + 1;
	s->next_batch_seq = 1;
	as_hex_encode(id_hex, deps->gw_id, AS_GWID_LEN);
	snprintf(s->topic_batch, sizeof s->topic_batch, GW_TOPIC_PREFIX "/gw/%s/batch", id_hex);
	snprintf(s->topic_ack, sizeof s->topic_ack, GW_TOPIC_PREFIX "/gw/%s/ack", id_hex);
	snprintf(s->topic_heartbeat, sizeof s->topic_heartbeat, GW_TOPIC_PREFIX "/gw/%s/heartbeat",
		 id_hex);
	/* The broker account of a gateway is "gw/ID" (the shipped ACL's
	 * patterns expand it into this gateway's own topics only); the client
	 * id is the same, which the shipped broker configuration enforces. */
	snprintf(account, sizeof account, "gw/%s", id_hex);
	mo = cfg->mqtt;
	mo.client_id = account;
	if (!mo.username && mo.password)
		mo.username = account;
	mo.clean_session = 1;
	/* Our window stays far below Paho's buffer limit, which also applies
	 * while connected. */
	mo.max_buffered = 4 * MAX_INFLIGHT;
	rc = as_mqtt_start(&s->mqtt, loop, &mo, &mqtt_handlers, s, err, err_len);
	if (rc) {
		free(s);
		return rc;
	}
	uv_timer_init(loop, &s->tick);
	s->tick.data = s;
	s->tick_open = 1;
	uv_timer_start(&s->tick, on_tick, 1000, 1000);
	uv_timer_init(loop, &s->hb_timer);
	s->hb_timer.data = s;
	s->hb_open = 1;
	uv_timer_start(&s->hb_timer, on_hb_timer, (uint64_t)s->cfg.heartbeat_interval * 1000,
		       (uint64_t)s->cfg.heartbeat_interval * 1000);
	*out = s;
	return 0;
}

void gw_sync_kick(struct gw_sync *s)
{
	if (s)
		pump(s);
}

void gw_sync_set_offline(struct gw_sync *s, int offline)
{
	if (!s || !s->mqtt)
		return;
	as_log(AS_LOG_NOTICE, "sync: going %s on request", offline ? "offline" : "online");
	as_mqtt_set_offline(s->mqtt, offline);
	if (offline) {
		s->subscribed = 0;
		rewind_to_acked(s, "offline");
	}
}

void gw_sync_status_json(const struct gw_sync *s, struct as_strbuf *b)
{
	if (!s) {
		as_strbuf_add(b, ",\"sync\":{\"enabled\":false}");
		return;
	}
	as_strbuf_add(b, ",\"sync\":{\"broker\":");
	as_strbuf_add_json(b, as_mqtt_current_broker(s->mqtt));
	as_strbuf_printf(b, ",\"enabled\":true,\"connected\":%s,\"offline\":%s,"
			 "\"acked_seq\":%llu,\"send_next\":%llu,\"inflight\":%u,"
			 "\"batches_sent\":%llu,\"acks\":%llu,\"resends\":%llu,"
			 "\"acks_other_chain\":%llu,\"last_ack_time\":%lld,\"heartbeats_sent\":%llu,"
			 "\"last_heartbeat\":%lld,\"heartbeat_interval\":%u,\"last_error\":",
			 as_mqtt_is_connected(s->mqtt) && s->subscribed ? "true" : "false",
			 as_mqtt_is_offline(s->mqtt) ? "true" : "false",
			 (unsigned long long)s->acked, (unsigned long long)s->send_next,
			 s->n_inflight, (unsigned long long)s->batches_sent,
			 (unsigned long long)s->acks, (unsigned long long)s->resends,
			 (unsigned long long)s->acks_other_chain, (long long)s->last_ack_time, (unsigned long long)s->heartbeats_sent,
			 (long long)s->last_heartbeat, s->cfg.heartbeat_interval);
	as_strbuf_add_json(b, s->last_error[0] ? s->last_error : as_mqtt_last_error(s->mqtt));
	as_strbuf_add(b, "}");
}

static void sync_maybe_free(struct gw_sync *s)
{
	if (s->stopping && !s->building && !s->tick_open && !s->hb_open && !s->ack_req_busy &&
	    !s->correct_busy && !s->rebase_busy)
		free(s);
}

static void on_tick_closed(uv_handle_t *h)
{
	struct gw_sync *s = h->data;

	if (h == (uv_handle_t *)&s->hb_timer)
		s->hb_open = 0;
	else
		s->tick_open = 0;
	sync_maybe_free(s);
}

void gw_sync_stop(struct gw_sync *s)
{
	if (!s || s->stopping)
		return;
	s->stopping = 1;
	as_mqtt_stop(s->mqtt);
	s->mqtt = NULL;
	uv_close((uv_handle_t *)&s->tick, on_tick_closed);
	uv_close((uv_handle_t *)&s->hb_timer, on_tick_closed);
}
