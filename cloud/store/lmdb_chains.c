/*
 * lmdb_chains.c - the journal chain the LMDB store follows per gateway,
 * and its events (start, new journal, fork, break): the judgement of a
 * chained batch, reconciliation by content, and the readers.  Invariant:
 * a gateway's chain state names the link after the highest seq taken
 * from its journal.  Threads: judging runs in the ingest transaction's
 * thread; the readers on any thread.
 */
#include "lmdb_chains.h"
#include "lmdb_tokens.h"
#include "lmdb_visits.h"
#include "pg_store.h"

#include <stdio.h>

/* ---- journal chains (see store.h: cl_store_ingest_chained_batch) ---------
 *
 * chains        gw_id[16] || slot u16 -> journal_id[16] || link[32] ||
 *               seq u64 || time i64: slot CHAIN_STATE is the chain followed
 *               (the link after the highest seq taken from it); slots
 *               0..CL_CHAIN_POINTS-1 a ring of batch-end links, by the
 *               gateway's batch count, where a restored journal's branch
 *               is found.
 * chain_events  gw_id[16] || n u32 -> kind u8 || cause u8 ||
 *               journal_id[16] || first u64 || last u64 || at u64 ||
 *               reconciled u32 || time i64.  Rare, never purged (they hold
 *               no personal data).
 */
#define CHAIN_STATE 0xffff
#define CHAIN_KEY_LEN (AS_GWID_LEN + 2)
#define CHAIN_VALUE_LEN (AS_JOURNAL_ID_LEN + AS_CHAIN_LEN + 8 + 8)
#define EVENT_KEY_LEN (AS_GWID_LEN + 4)
#define EVENT_VALUE_LEN (2 + AS_JOURNAL_ID_LEN + 8 + 8 + 8 + 4 + 8)

static void chain_key(uint8_t out[CHAIN_KEY_LEN], const uint8_t gw_id[AS_GWID_LEN], uint16_t slot)
{
	memcpy(out, gw_id, AS_GWID_LEN);
	as_put_be16(out + AS_GWID_LEN, slot);
}

static int chain_value_decode(struct cl_chain_state *st, const MDB_val *val)
{
	const uint8_t *p = val->mv_data;

	if (val->mv_size != CHAIN_VALUE_LEN)
		return MDB_CORRUPTED;
	memcpy(st->journal_id, p, AS_JOURNAL_ID_LEN);
	memcpy(st->head, p + AS_JOURNAL_ID_LEN, AS_CHAIN_LEN);
	st->seq = as_get_be64(p + AS_JOURNAL_ID_LEN + AS_CHAIN_LEN);
	st->time = (int64_t)as_get_be64(p + AS_JOURNAL_ID_LEN + AS_CHAIN_LEN + 8);
	return 0;
}

static int chain_put(MDB_txn *txn, MDB_dbi dbi, const uint8_t gw_id[AS_GWID_LEN], uint16_t slot,
		     const struct cl_chain_state *st)
{
	uint8_t k[CHAIN_KEY_LEN], v[CHAIN_VALUE_LEN];
	MDB_val key = {sizeof k, k}, val = {sizeof v, v};

	chain_key(k, gw_id, slot);
	memcpy(v, st->journal_id, AS_JOURNAL_ID_LEN);
	memcpy(v + AS_JOURNAL_ID_LEN, st->head, AS_CHAIN_LEN);
	as_put_be64(v + AS_JOURNAL_ID_LEN + AS_CHAIN_LEN, st->seq);
	as_put_be64(v + AS_JOURNAL_ID_LEN + AS_CHAIN_LEN + 8, (uint64_t)st->time);
	return mdb_put(txn, dbi, &key, &val, 0);
}

static int chain_state_get(MDB_txn *txn, MDB_dbi dbi, const uint8_t gw_id[AS_GWID_LEN],
			   struct cl_chain_state *st)
{
	uint8_t k[CHAIN_KEY_LEN];
	MDB_val key = {sizeof k, k}, val;
	int rc;

	chain_key(k, gw_id, CHAIN_STATE);
	rc = mdb_get(txn, dbi, &key, &val);
	return rc ? rc : chain_value_decode(st, &val);
}

/* The highest seq of a ring point of gw_id in journal_id whose link is
 * link: 0 (found, *seq), MDB_NOTFOUND or an error. */
static int chain_find_point(MDB_txn *txn, MDB_dbi dbi, const uint8_t gw_id[AS_GWID_LEN],
			    const uint8_t journal_id[AS_JOURNAL_ID_LEN],
			    const uint8_t link[AS_CHAIN_LEN], uint64_t *seq)
{
	uint8_t k[CHAIN_KEY_LEN];
	MDB_val key = {sizeof k, k}, val;
	MDB_cursor *cur;
	int rc, found = 0, op = MDB_SET_RANGE;

	chain_key(k, gw_id, 0);
	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return rc;
	for (int i = 0; i <= CL_CHAIN_POINTS; i++) {
		struct cl_chain_state p;

		rc = mdb_cursor_get(cur, &key, &val, op);
		op = MDB_NEXT;
		if (rc)
			break;
		if (key.mv_size != CHAIN_KEY_LEN || memcmp(key.mv_data, gw_id, AS_GWID_LEN) != 0 ||
		    as_get_be16((const uint8_t *)key.mv_data + AS_GWID_LEN) == CHAIN_STATE)
			break;
		rc = chain_value_decode(&p, &val);
		if (rc)
			break;
		if (memcmp(p.journal_id, journal_id, AS_JOURNAL_ID_LEN) == 0 &&
		    as_chain_equal(p.head, link) && (!found || p.seq > *seq)) {
			*seq = p.seq;
			found = 1;
		}
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	return found ? 0 : MDB_NOTFOUND;
}

/* Append an event of gw_id (numbered after its last one). */
static int chain_event_put(MDB_txn *txn, MDB_dbi dbi, const uint8_t gw_id[AS_GWID_LEN],
			   const struct cl_chain_event *ev)
{
	uint8_t k[EVENT_KEY_LEN], v[EVENT_VALUE_LEN];
	MDB_val key = {sizeof k, k}, val;
	MDB_cursor *cur;
	uint32_t n = 1;
	int rc;

	memcpy(k, gw_id, AS_GWID_LEN);
	as_put_be32(k + AS_GWID_LEN, UINT32_MAX);
	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return rc;
	/* The gateway's last event: the entry before the first key past its
	 * range (or the last entry of all). */
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	if (rc == 0 || rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &key, &val, rc == MDB_NOTFOUND ? MDB_LAST : MDB_PREV);
	if (rc == 0 && key.mv_size == EVENT_KEY_LEN && memcmp(key.mv_data, gw_id, AS_GWID_LEN) == 0)
		n = as_get_be32((const uint8_t *)key.mv_data + AS_GWID_LEN) + 1;
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	if (n == UINT32_MAX)
		return 0; /* four billion events: keep the first ones */
	as_put_be32(k + AS_GWID_LEN, n);
	v[0] = ev->kind;
	v[1] = ev->cause;
	memcpy(v + 2, ev->journal_id, AS_JOURNAL_ID_LEN);
	as_put_be64(v + 18, ev->first_seq);
	as_put_be64(v + 26, ev->last_seq);
	as_put_be64(v + 34, ev->at_seq);
	as_put_be32(v + 42, ev->reconciled);
	as_put_be64(v + 46, (uint64_t)ev->time);
	key = (MDB_val){sizeof k, k};
	val = (MDB_val){sizeof v, v};
	return store_fail("adding to chain_events", mdb_put(txn, dbi, &key, &val, MDB_NOOVERWRITE));
}

/*
 * Where does a batch that left the chain followed come from?  Its
 * chain_prev is the link at the end of an earlier batch (the ring), or its
 * first record (not a placeholder) is one the store holds under seq q, so
 * chain_prev is the link at q - 1 (a copy older than the ring): a fork at
 * *at_seq.  Otherwise MDB_NOTFOUND: a break.
 */
static int chain_fork_point(struct cl_ingest *in, const struct stored_gateway *sg,
			    const struct cl_chain_batch *chain, const struct as_record *recs,
			    const uint8_t (*pids)[AS_PID_LEN], size_t n, uint64_t *at_seq)
{
	uint8_t digest[AS_CHAIN_LEN];
	uint64_t held_seq = 0;
	int rc, held = 0;

	if (as_chain_is_genesis(chain->prev)) {
		*at_seq = 0;
		return 0;
	}
	rc = chain_find_point(in->txn, in->s->chains, sg->g.gw_id, chain->journal_id,
			      chain->prev, at_seq);
	if (rc != MDB_NOTFOUND)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].kind == AS_REC_EXPIRED)
			continue;
		as_chain_record_digest(&recs[i], digest);
		rc = store_visit_held(in, sg, &recs[i], pids ? pids[i] : recs[i].pid, digest, 0,
				      &held, &held_seq);
		if (rc)
			return rc;
		if (!held || held_seq < i + 1)
			return MDB_NOTFOUND;
		*at_seq = held_seq - i - 1;
		return 0;
	}
	return MDB_NOTFOUND;
}

/*
 * Whether a chained batch wholly at or below through_seq is a resend of
 * what the store took: the link at the end of one of the gateway's last
 * batches with the same journal, head and last seq; or its last record
 * (not a placeholder) held under the same seq.  *resend 1 (also when the
 * batch holds only placeholders) or 0 (other records under those seqs);
 * returns 0 or an LMDB error.
 */
static int chain_is_resend(struct cl_ingest *in, const struct stored_gateway *sg,
			   const struct cl_chain_batch *chain, const struct as_record *recs,
			   const uint8_t (*pids)[AS_PID_LEN], const uint8_t *refused,
			   size_t n_refused, size_t n, int *resend)
{
	uint8_t digest[AS_CHAIN_LEN];
	uint64_t seq = 0, held_seq = 0;
	int rc, held = 0;

	*resend = 1;
	rc = chain_find_point(in->txn, in->s->chains, sg->g.gw_id, chain->journal_id,
			      chain->head, &seq);
	if (rc == 0 && seq == recs[n - 1].seq)
		return 0;
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	/* The last record the store could hold decides.  Placeholders and
	 * records refused as not collecting left nothing; nor did a token
	 * record that was a replay: a token record not held decides nothing
	 * (a batch none of whose records left anything is a resend). */
	for (size_t k = n; k-- > 0;) {
		const struct as_record *r = &recs[k];

		if (r->kind == AS_REC_EXPIRED || (refused && k < n_refused && refused[k]))
			continue;
		as_chain_record_digest(r, digest);
		if (r->kind == AS_REC_TOKEN) {
			rc = store_token_held(in, sg, r, digest, &held);
			if (rc || !held)
				continue;
			return rc;
		}
		rc = store_visit_held(in, sg, r, pids ? pids[k] : r->pid, digest, r->seq, &held,
				      &held_seq);
		if (!rc)
			*resend = held;
		return rc;
	}
	return 0;
}

/* Whether the batch's chain passes through link: chain_prev or a link
 * after one of its digests is link.  A journal that renumbered its unsent
 * records after the cloud's through_seq (a journal made anew, whose first
 * records the cloud took under their first seqs) sends them again under
 * other seqs, on the chain the cloud follows. */
int store_chain_passes(const struct cl_chain_batch *chain, size_t n,
		       const uint8_t link[AS_CHAIN_LEN])
{
	uint8_t at[AS_CHAIN_LEN];

	memcpy(at, chain->prev, AS_CHAIN_LEN);
	for (size_t i = 0; i <= n; i++) {
		if (as_chain_equal(at, link))
			return 1;
		if (i < n)
			as_chain_link(at, chain->digests[i], at);
	}
	return 0;
}

int store_chain_judge(struct cl_ingest *in, const struct stored_gateway *sg, uint64_t through,
		       const struct cl_chain_batch *chain, const struct as_record *recs,
		       const uint8_t (*pids)[AS_PID_LEN], const uint8_t *refused,
		       size_t n_refused, size_t n, int64_t now, struct chain_judgement *j)
{
	const uint8_t *gw_id = sg->g.gw_id;
	struct cl_chain_state st;
	uint64_t first = recs[0].seq, last = recs[n - 1].seq, at_seq = 0;
	size_t at = 0;
	enum as_chain_verdict verdict;
	int rc;

	memset(j, 0, sizeof *j);
	j->dups_through = through;
	if (last <= through) {
		/* A resend, or a renumbered journal's first send; or the
		 * first batch of a copy of the journal (a restored backup)
		 * that went on scanning, or of a journal made anew, whose
		 * seqs the cloud holds other records under: those are new. */
		int resend;

		rc = chain_is_resend(in, sg, chain, recs, pids, refused, n_refused, n, &resend);
		if (rc || resend)
			return rc;
		j->reconcile = 1;
		j->dups_through = 0;
	}
	j->judged = 1;
	memcpy(j->first.journal_id, chain->journal_id, AS_JOURNAL_ID_LEN);
	j->first.first_seq = first;
	j->first.last_seq = last;
	j->first.time = now;
	j->brk = j->first;
	verdict = as_chain_verify(chain->prev, chain->head, recs, chain->digests, n,
				  chain->keep_from, chain->keep_to, &at);
	j->intact = verdict == AS_CHAIN_INTACT;
	if (verdict != AS_CHAIN_INTACT) {
		j->brk.kind = CL_CHAIN_BREAK;
		j->brk.cause = verdict == AS_CHAIN_RECORD_CHANGED     ? CL_BREAK_RECORD_CHANGED
			       : verdict == AS_CHAIN_EARLY_PLACEHOLDER ? CL_BREAK_EARLY_PLACEHOLDER
								       : CL_BREAK_HEAD_MISMATCH;
		j->brk.at_seq = verdict == AS_CHAIN_HEAD_MISMATCH ? 0 : recs[at].seq;
	}
	rc = chain_state_get(in->txn, in->s->chains, gw_id, &st);
	if (rc == MDB_NOTFOUND) {
		j->first.kind = CL_CHAIN_START;
		return 0;
	}
	if (rc)
		return rc;
	if (memcmp(st.journal_id, chain->journal_id, AS_JOURNAL_ID_LEN) != 0) {
		j->first.kind = CL_CHAIN_NEW_JOURNAL;
		j->reconcile = 1;
		j->dups_through = 0;
		return 0;
	}
	if (first <= st.seq + 1 && last > st.seq) {
		uint8_t link[AS_CHAIN_LEN];

		as_chain_fold(chain->prev, chain->digests, (size_t)(st.seq + 1 - first), link);
		if (as_chain_equal(link, st.head)) {
			/* Continues the chain followed.  A chain followed since
			 * a fork below through_seq has not reached it: its
			 * records past st.seq are new to the cloud, whose
			 * through_seq counts the other branch. */
			if (st.seq < through) {
				j->reconcile = 1;
				j->dups_through = st.seq;
			}
			return 0;
		}
	}
	j->reconcile = 1;
	j->dups_through = 0;
	if (store_chain_passes(chain, n, st.head))
		return 0; /* renumbered: holds what was taken, then goes on */
	rc = chain_fork_point(in, sg, chain, recs, pids, n, &at_seq);
	if (rc == 0) {
		j->first.kind = CL_CHAIN_FORK;
		j->first.at_seq = at_seq;
	} else if (rc == MDB_NOTFOUND) {
		j->first.kind = CL_CHAIN_BREAK;
		j->first.cause = CL_BREAK_UNLINKED;
	} else {
		return rc;
	}
	return 0;
}

/* After the batch: record its events, and follow its chain. */
int store_chain_follow(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			const struct stored_gateway *sg, const struct cl_chain_batch *chain,
			uint64_t last, int64_t now, struct chain_judgement *j, uint32_t reconciled,
			struct cl_ingest_result *res)
{
	struct cl_chain_state st;
	int rc = 0;

	memcpy(st.journal_id, chain->journal_id, AS_JOURNAL_ID_LEN);
	memcpy(st.head, chain->head, AS_CHAIN_LEN);
	st.seq = last;
	st.time = now;
	j->first.reconciled = j->brk.reconciled = reconciled;
	if (j->first.kind) {
		rc = chain_event_put(in->txn, in->s->chain_events, gw_id, &j->first);
		res->chain_event = j->first.kind;
		res->chain_cause = j->first.cause;
	}
	if (!rc && j->brk.kind) {
		rc = chain_event_put(in->txn, in->s->chain_events, gw_id, &j->brk);
		res->chain_event = j->brk.kind;
		res->chain_cause = j->brk.cause;
	}
	if (!rc)
		rc = chain_put(in->txn, in->s->chains, gw_id, CHAIN_STATE, &st);
	if (!rc)
		rc = chain_put(in->txn, in->s->chains, gw_id,
			       (uint16_t)(sg->g.batches % CL_CHAIN_POINTS), &st);
	return rc;
}

/* Whether sg already stored r (with pid and digest) as a visit, before or
 * queued in this transaction: a visit from this gateway at its venue with
 * the same entry, exit, person, kind and headcount, and the same digest
 * (a visit stored before store version 4 has none: the fields decide).
 * only_seq 0: under any seq; else only a visit stored under only_seq
 * counts (the same pass scanned twice in one second, with no duplicate
 * window, makes records of the same content under two seqs).  A visit the
 * batch being taken stored itself never counts: a journal holds a record
 * once, so another record of the batch with its content is another visit.
 * *held 1 or 0; when 1, *held_seq is the seq it was stored under. */
int store_visit_held(struct cl_ingest *in, const struct stored_gateway *sg,
		      const struct as_record *r, const uint8_t pid[AS_PID_LEN],
		      const uint8_t digest[AS_CHAIN_LEN], uint64_t only_seq, int *held,
		      uint64_t *held_seq)
{
	uint8_t k[IDX_KEY_LEN], probe[IDX_LEN] = {0};
	MDB_val key = {sizeof k, k}, val = {sizeof probe, probe};
	MDB_cursor *cur;
	uint32_t person = 0;
	int rc;

	*held = 0;
	for (size_t i = 0; i < in->npend; i++) {
		const struct stored_visit *p = &in->pend[i].sv;

		if (p->v.vid < in->batch_first_vid && p->gw_index == sg->index &&
		    (!only_seq || p->seq == only_seq) &&
		    p->v.entry == r->entry_time &&
		    p->v.exit == r->exit_time && p->v.kind == r->kind &&
		    p->v.headcount == r->headcount && memcmp(p->v.pid, pid, AS_PID_LEN) == 0 &&
		    p->has_digest && memcmp(p->digest, digest, VISIT_DIGEST_LEN) == 0) {
			*held = 1;
			*held_seq = p->seq;
			return 0;
		}
	}
	if (!pid_is_zero(pid)) {
		rc = store_person_of(in->txn, in->s->persons, pid, &person);
		if (rc == MDB_NOTFOUND)
			return 0; /* nobody with that pid was ever stored */
		if (rc)
			return rc;
	}
	idx_key(k, day_of(r->entry_time), sg->g.venue_id);
	put_time(probe, r->entry_time);
	rc = mdb_cursor_open(in->txn, in->s->by_venue, &cur);
	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &key, &val, MDB_GET_BOTH_RANGE);
	for (int guard = 0; rc == 0 && guard < 1000000; guard++) {
		struct cl_visit v;
		struct visit_row row;

		rc = idx_decode(&v, &val, sg->g.venue_id, 0);
		if (rc || v.entry != r->entry_time)
			break;
		if (v.vid < in->batch_first_vid && v.person == person && v.kind == r->kind &&
		    v.headcount == r->headcount && v.exit == (r->exit_time ? r->exit_time : 0)) {
			rc = store_visit_get(in->s, in->txn, v.vid, &row);
			if (rc)
				break;
			if (row.gw_index == sg->index && (!only_seq || row.seq == only_seq) &&
			    (!row.has_digest ||
			     memcmp(row.digest, digest, VISIT_DIGEST_LEN) == 0)) {
				*held = 1;
				*held_seq = row.seq;
				break;
			}
		}
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT_DUP);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Fill res->chain with what the ack of a batch reports (anshim/ack.h): a
 * batch taken (stored, reconciled, or a resend of records the store holds)
 * names its own chain position, the store now holding that journal's
 * records through its last seq; a batch not taken (a gap) names the chain
 * the store follows, if any.  0 or a store error (the transaction is then
 * failed). */
int store_chain_report(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			const struct cl_chain_batch *chain, uint64_t last_seq,
			struct cl_ingest_result *res)
{
	int rc;

	if (!chain || !in->s->has_chain)
		return 0;
	if (!res->gap) {
		memcpy(res->chain.journal_id, chain->journal_id, AS_JOURNAL_ID_LEN);
		memcpy(res->chain.head, chain->head, AS_CHAIN_LEN);
		res->chain.seq = last_seq;
		res->has_chain = 1;
		return 0;
	}
	rc = chain_state_get(in->txn, in->s->chains, gw_id, &res->chain);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc) {
		in->failed = rc;
		memset(res, 0, sizeof *res);
		return store_error(rc);
	}
	res->has_chain = 1;
	return 0;
}

/* ---- journal chains: readers ---------------------------------------------- */

int cl_store_gateway_chain(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
			   struct cl_chain_state *out)
{
	if (s->pg)
		return cl_pg_gateway_chain(s->pg, gw_id, out);
	MDB_txn *txn;
	int rc;

	memset(out, 0, sizeof *out);
	if (!s->has_chain)
		return AS_E_NOT_FOUND;
	rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	rc = chain_state_get(txn, s->chains, gw_id, out);
	mdb_txn_abort(txn);
	if (rc)
		memset(out, 0, sizeof *out);
	return store_error(rc);
}

int cl_store_gateway_chain_events(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
				  int (*fn)(void *ctx, const struct cl_chain_event *ev),
				  void *ctx)
{
	if (s->pg)
		return cl_pg_gateway_chain_events(s->pg, gw_id, fn, ctx);
	uint8_t k[EVENT_KEY_LEN];
	MDB_val key = {sizeof k, k}, val;
	MDB_txn *txn;
	MDB_cursor *cur;
	int rc, stop = 0, op = MDB_SET_RANGE;

	if (!s->has_chain)
		return 0;
	rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	rc = mdb_cursor_open(txn, s->chain_events, &cur);
	if (rc) {
		mdb_txn_abort(txn);
		return store_error(rc);
	}
	memcpy(k, gw_id, AS_GWID_LEN);
	as_put_be32(k + AS_GWID_LEN, 0);
	while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
		const uint8_t *v = val.mv_data;
		struct cl_chain_event ev;

		op = MDB_NEXT;
		if (key.mv_size != EVENT_KEY_LEN || memcmp(key.mv_data, gw_id, AS_GWID_LEN) != 0)
			break;
		if (val.mv_size != EVENT_VALUE_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		ev.n = as_get_be32((const uint8_t *)key.mv_data + AS_GWID_LEN);
		ev.kind = v[0];
		ev.cause = v[1];
		memcpy(ev.journal_id, v + 2, AS_JOURNAL_ID_LEN);
		ev.first_seq = as_get_be64(v + 18);
		ev.last_seq = as_get_be64(v + 26);
		ev.at_seq = as_get_be64(v + 34);
		ev.reconciled = as_get_be32(v + 42);
		ev.time = (int64_t)as_get_be64(v + 46);
		stop = fn(ctx, &ev);
		if (stop)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (stop)
		return stop;
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : store_error(rc);
}

const char *cl_chain_event_name(uint8_t kind)
{
	switch (kind) {
	case CL_CHAIN_START: return "start";
	case CL_CHAIN_NEW_JOURNAL: return "new-journal";
	case CL_CHAIN_FORK: return "fork";
	case CL_CHAIN_BREAK: return "break";
	default: return "unknown";
	}
}

const char *cl_chain_cause_name(uint8_t cause)
{
	switch (cause) {
	case CL_BREAK_UNLINKED: return "unlinked";
	case CL_BREAK_RECORD_CHANGED: return "record-changed";
	case CL_BREAK_HEAD_MISMATCH: return "head-mismatch";
	case CL_BREAK_EARLY_PLACEHOLDER: return "early-placeholder";
	default: return "";
	}
}
