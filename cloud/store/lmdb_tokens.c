/*
 * lmdb_tokens.c - visit tokens in the LMDB store: the tokens the issuer's
 * capsule feed announced, their first use, replays, and records waiting
 * for a token not announced yet (see store.h, "visit tokens").
 *
 * Databases (created when a store is opened for writing; a reader of a
 * store no writer has opened since goes without them: no tokens):
 *   tokens         DUPSORT|DUPFIXED: expiry day u16 -> token_id[0..7] ||
 *                  state u64, 16 bytes each (64 bits of a random id, within
 *                  one expiry day: among a day's n tokens two agree on them
 *                  with probability about n^2 / 2^65, 3e-10 for a million)
 *                    state, top bit 0: announced, not used; the rest is
 *                      the number of its announcement in token_issues
 *                    state, top bit 1: used; the rest is a 63-bit hash of
 *                      the (gateway index, seq) of the record that used it
 *   token_issues   number u64 -> expires i64 (the latest of its tokens)
 *                  pid[16] capsule[131]: one per run of tokens of one
 *                  holder in a capsule batch (64 tokens, one issue), the
 *                  pid the reveal service derived and the holder's contact
 *                  capsule
 *   token_wait     token_id[16] -> a record waiting for its token: expires
 *                  i64 gw_id[16] seq u64 venue u32 entry i64 exit i64
 *                  headcount u16 flags u8 digest[8] (63 bytes)
 *   meta           "next_issue" u64, "replayed_tokens" u64
 * Integers big-endian.
 *
 * Why this shape: token ids are random, so a table keyed by them alone is
 * written all over at every commit and costs a node header per token.
 * Tokens expire at a whole UTC day (anshim/token.h), and a day's visits
 * use tokens of the next few expiry days only: keyed by expiry day first,
 * a commit writes the pages of those days, and the purge deletes whole
 * days from the front.  As fixed-size duplicates, a token costs its 16
 * bytes in a packed page, with no node of its own.  The pid and contact
 * capsule are kept once per issue, not per token.  The expiry day comes
 * from the record (credential_expires, the token's expiry the gateway
 * verified) and from the feed; a record whose expiry is not its token's
 * finds no token and waits (it is never stored under a wrong pid).
 *
 * Invariants (each write transaction keeps them):
 *  - a token id is in tokens or in token_wait, never both;
 *  - a used token and a waiting record name the one record that used the
 *    token; another record with that token is a replay;
 *  - a visit of kind AS_REC_TOKEN is stored once per token.
 * Threads: the ingest transaction's (store.h).
 */
#include "lmdb_tokens.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>

#define TOKEN_ID_LEN 16
#define TKEY_LEN 2                      /* expiry day u16 */
#define TFP_LEN 8                       /* id[0..7]: 64 bits of the random id */
#define TVAL_LEN (TFP_LEN + 8)          /* id[0..7] || state */
#define STATE_USED (UINT64_C(1) << 63)
#define ISSUE_VALUE_LEN (8 + AS_PID_LEN + AS_CAPSULE_LEN)
#define WAIT_LEN (8 + AS_GWID_LEN + 8 + 4 + 8 + 8 + 2 + 1 + VISIT_DIGEST_LEN)

struct waiting {
	int64_t expires;
	uint8_t gw_id[AS_GWID_LEN];
	uint64_t seq;
	uint32_t venue;
	int64_t entry, exit;
	uint16_t headcount;
	uint8_t flags;
	uint8_t digest[VISIT_DIGEST_LEN];
};

static uint16_t expiry_day(int64_t expires)
{
	if (expires <= 0)
		return 0;
	return expires / DAY_SECONDS > UINT16_MAX ? UINT16_MAX
						  : (uint16_t)(expires / DAY_SECONDS);
}

static void tkey(uint8_t k[TKEY_LEN], int64_t expires)
{
	as_put_be16(k, expiry_day(expires));
}

/* The state word of a use by (gateway index, seq): the gateway index's
 * low 24 bits, then 39 bits of a hash of both. */
static uint64_t used_state(uint32_t gw_index, uint64_t seq)
{
	uint8_t in[12], h[8];

	as_put_be32(in, gw_index);
	as_put_be64(in + 4, seq);
	crypto_generichash(h, sizeof h, in, sizeof in, NULL, 0);
	return STATE_USED | (uint64_t)(gw_index & 0xFFFFFF) << 39 |
	       (as_get_be64(h) & ((UINT64_C(1) << 39) - 1));
}

static uint32_t used_gateway(uint64_t state)
{
	return (uint32_t)(state >> 39) & 0xFFFFFF;
}

/*
 * Find the token (id, expiring at expires): *found, its state, and cur
 * left on it (for MDB_CURRENT).  cur is the caller's cursor on tokens.
 */
static int token_find(MDB_cursor *cur, const uint8_t id[TOKEN_ID_LEN], int64_t expires,
		      int *found, uint64_t *state)
{
	uint8_t k[TKEY_LEN], probe[TVAL_LEN] = {0};
	MDB_val key = {TKEY_LEN, k}, val = {TVAL_LEN, probe};
	int rc;

	*found = 0;
	tkey(k, expires);
	memcpy(probe, id, TFP_LEN);
	rc = mdb_cursor_get(cur, &key, &val, MDB_GET_BOTH_RANGE);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_fail("reading tokens", rc);
	if (val.mv_size != TVAL_LEN)
		return store_fail("reading tokens", MDB_CORRUPTED);
	if (memcmp(val.mv_data, id, TFP_LEN) != 0)
		return 0;
	*found = 1;
	*state = as_get_be64((const uint8_t *)val.mv_data + TFP_LEN);
	return 0;
}

/* Put the token's state; with current, the token token_find left cur on
 * is replaced (deleted, then put: MDB_CURRENT does not replace a
 * duplicate's bytes). */
static int token_put(MDB_cursor *cur, const uint8_t id[TOKEN_ID_LEN], int64_t expires,
		     uint64_t state, int current)
{
	uint8_t k[TKEY_LEN], v[TVAL_LEN];
	MDB_val key = {TKEY_LEN, k}, val = {TVAL_LEN, v};
	int rc = current ? mdb_cursor_del(cur, 0) : 0;

	tkey(k, expires);
	memcpy(v, id, TFP_LEN);
	as_put_be64(v + TFP_LEN, state);
	if (!rc)
		rc = mdb_cursor_put(cur, &key, &val, 0);
	return store_fail("writing tokens", rc);
}

static int wait_get(struct cl_ingest *in, const uint8_t id[TOKEN_ID_LEN], struct waiting *w,
		    int *found)
{
	MDB_val k = {TOKEN_ID_LEN, (void *)id}, v;
	const uint8_t *p;
	int rc = mdb_get(in->txn, in->s->token_wait, &k, &v);

	*found = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_fail("reading token_wait", rc);
	if (v.mv_size != WAIT_LEN)
		return store_fail("reading token_wait", MDB_CORRUPTED);
	p = v.mv_data;
	w->expires = (int64_t)as_get_be64(p);
	memcpy(w->gw_id, p + 8, AS_GWID_LEN);
	p += 8 + AS_GWID_LEN;
	w->seq = as_get_be64(p);
	w->venue = as_get_be32(p + 8);
	w->entry = (int64_t)as_get_be64(p + 12);
	w->exit = (int64_t)as_get_be64(p + 20);
	w->headcount = as_get_be16(p + 28);
	w->flags = p[30];
	memcpy(w->digest, p + 31, VISIT_DIGEST_LEN);
	*found = 1;
	return 0;
}

static int wait_put(struct cl_ingest *in, const uint8_t id[TOKEN_ID_LEN], const struct waiting *w)
{
	uint8_t buf[WAIT_LEN], *p = buf;
	MDB_val k = {TOKEN_ID_LEN, (void *)id}, v = {WAIT_LEN, buf};

	as_put_be64(p, (uint64_t)w->expires);
	memcpy(p + 8, w->gw_id, AS_GWID_LEN);
	p += 8 + AS_GWID_LEN;
	as_put_be64(p, w->seq);
	as_put_be32(p + 8, w->venue);
	as_put_be64(p + 12, (uint64_t)w->entry);
	as_put_be64(p + 20, (uint64_t)w->exit);
	as_put_be16(p + 28, w->headcount);
	p[30] = w->flags;
	memcpy(p + 31, w->digest, VISIT_DIGEST_LEN);
	return store_fail("writing token_wait", mdb_put(in->txn, in->s->token_wait, &k, &v, 0));
}

/* Issue n's pid and contact capsule. */
static int issue_get(struct cl_ingest *in, uint64_t n, uint8_t pid[AS_PID_LEN],
		     uint8_t contact[AS_CAPSULE_LEN])
{
	uint8_t kb[8];
	MDB_val k = {8, kb}, v;
	int rc;

	as_put_be64(kb, n);
	rc = mdb_get(in->txn, in->s->token_issues, &k, &v);
	if (rc)
		return store_fail("reading token_issues", rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc);
	if (v.mv_size != ISSUE_VALUE_LEN)
		return store_fail("reading token_issues", MDB_CORRUPTED);
	memcpy(pid, (const uint8_t *)v.mv_data + 8, AS_PID_LEN);
	memcpy(contact, (const uint8_t *)v.mv_data + 8 + AS_PID_LEN, AS_CAPSULE_LEN);
	return 0;
}

static int issue_put(struct cl_ingest *in, uint64_t n, int64_t expires,
		     const uint8_t pid[AS_PID_LEN], const uint8_t *contact)
{
	uint8_t kb[8], buf[ISSUE_VALUE_LEN];
	MDB_val k = {8, kb}, v = {sizeof buf, buf};

	as_put_be64(kb, n);
	as_put_be64(buf, (uint64_t)expires);
	memcpy(buf + 8, pid, AS_PID_LEN);
	if (contact)
		memcpy(buf + 8 + AS_PID_LEN, contact, AS_CAPSULE_LEN);
	else
		memset(buf + 8 + AS_PID_LEN, 0, AS_CAPSULE_LEN);
	return store_fail("writing token_issues", mdb_put(in->txn, in->s->token_issues, &k, &v, 0));
}

static int count_replay(struct cl_ingest *in)
{
	uint64_t n = 0;
	int rc = store_meta_get(in->txn, in->s->meta, "replayed_tokens", &n);

	if (rc)
		return store_fail("reading meta", rc);
	return store_fail("writing meta", store_meta_put(in->txn, in->s->meta, "replayed_tokens",
							 n + 1));
}

int store_token_take(struct cl_ingest *in, const struct stored_gateway *sg,
		     const struct as_record *r, const uint8_t digest[AS_CHAIN_LEN], int reconcile,
		     int *outcome, uint8_t pid[AS_PID_LEN], uint8_t contact[AS_CAPSULE_LEN])
{
	const uint8_t *id = r->pid;
	uint64_t state = 0;
	struct waiting w;
	MDB_cursor *cur;
	int found, rc;

	rc = wait_get(in, id, &w, &found);
	if (rc)
		return rc;
	if (found) {
		int same_gw = memcmp(w.gw_id, sg->g.gw_id, AS_GWID_LEN) == 0;

		*outcome = same_gw && (w.seq == r->seq || reconcile) ? STORE_TOKEN_HELD
								   : STORE_TOKEN_REPLAY;
		return *outcome == STORE_TOKEN_REPLAY ? count_replay(in) : 0;
	}
	rc = store_fail("opening a cursor on tokens", mdb_cursor_open(in->txn, in->s->tokens, &cur));
	if (rc)
		return rc;
	rc = token_find(cur, id, r->credential_expires, &found, &state);
	if (!rc && found && (state & STATE_USED)) {
		/* The same record again, a renumbered copy of it in a batch
		 * the chain has the store reconcile (same gateway), or a
		 * replay. */
		int same = state == used_state(sg->index, r->seq) ||
			   (reconcile && used_gateway(state) == used_gateway(used_state(sg->index, 0)));

		*outcome = same ? STORE_TOKEN_HELD : STORE_TOKEN_REPLAY;
		mdb_cursor_close(cur);
		return same ? 0 : count_replay(in);
	}
	if (!rc && found) {
		rc = issue_get(in, state, pid, contact);
		if (!rc)
			rc = token_put(cur, id, r->credential_expires, used_state(sg->index, r->seq),
				       1);
		mdb_cursor_close(cur);
		*outcome = STORE_TOKEN_USE;
		return rc;
	}
	mdb_cursor_close(cur);
	if (rc)
		return rc;
	memset(&w, 0, sizeof w);
	w.expires = r->credential_expires;
	memcpy(w.gw_id, sg->g.gw_id, AS_GWID_LEN);
	w.seq = r->seq;
	w.venue = sg->g.venue_id;
	w.entry = r->entry_time;
	w.exit = r->exit_time;
	w.headcount = r->headcount;
	w.flags = r->flags;
	memcpy(w.digest, digest, VISIT_DIGEST_LEN);
	*outcome = STORE_TOKEN_WAIT;
	return wait_put(in, id, &w);
}

/* Store the visit of a waiting record now that its token arrived, and
 * mark the token used by it. */
static int resolve_waiting(struct cl_ingest *in, MDB_cursor *cur,
			   const uint8_t id[TOKEN_ID_LEN], const struct waiting *w,
			   const struct cl_token_issued *t)
{
	static const uint8_t no_contact[AS_CAPSULE_LEN];
	MDB_val k = {TOKEN_ID_LEN, (void *)id};
	struct stored_gateway sg;
	struct stored_visit sv;
	uint32_t span;
	int rc;

	rc = store_gateway_get(in->txn, in->s->gateways, w->gw_id, &sg);
	if (rc)
		return store_fail("reading gateways", rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc);
	if (in->next_vid > VID_MAX)
		return MDB_MAP_FULL;
	memset(&sv, 0, sizeof sv);
	sv.v.vid = in->next_vid;
	memcpy(sv.v.pid, t->pid, AS_PID_LEN);
	sv.v.venue_id = w->venue;
	sv.v.entry = w->entry;
	sv.v.exit = w->exit;
	sv.v.headcount = w->headcount;
	sv.v.kind = AS_REC_TOKEN;
	sv.v.flags = w->flags;
	sv.gw_index = sg.index;
	sv.seq = w->seq;
	sv.has_digest = 1;
	memcpy(sv.digest, w->digest, VISIT_DIGEST_LEN);
	rc = store_ingest_visit(in, &sv, t->contact ? t->contact : no_contact);
	if (rc)
		return rc;
	in->next_vid++;
	span = visit_span(w->entry, w->exit);
	rc = span ? store_venue_raise_longest(in->txn, in->s->venues, w->venue, span) : 0;
	if (!rc) {
		sg.g.records++;
		rc = store_gateway_put(in->txn, in->s->gateways, &sg);
	}
	if (!rc)
		rc = store_fail("deleting from token_wait",
				mdb_del(in->txn, in->s->token_wait, &k, NULL));
	if (!rc)
		rc = token_put(cur, id, t->expires_at, used_state(sg.index, w->seq), 0);
	return rc;
}

int cl_store_ingest_tokens(struct cl_ingest *in, const struct cl_token_issued *t, size_t n,
			   struct cl_tokens_result *res)
{
	static const uint8_t zero_pid[AS_PID_LEN];
	uint64_t issue = 0, next = 0;
	int64_t issue_expires = 0;
	const struct cl_token_issued *run = NULL;
	MDB_cursor *cur = NULL;
	int rc;

	memset(res, 0, sizeof *res);
	if (in->pg) /* the PostgreSQL store keeps no visit tokens yet */
		return -EOPNOTSUPP;
	if (in->failed)
		return store_error(in->failed);
	if (in->s->no_tokens)
		return AS_E_VERSION;
	rc = store_fail("opening a cursor on tokens", mdb_cursor_open(in->txn, in->s->tokens, &cur));
	for (size_t i = 0; i < n && !rc; i++) {
		uint64_t state;
		struct waiting w;
		int found;

		rc = token_find(cur, t[i].token_id, t[i].expires_at, &found, &state);
		if (rc)
			break;
		if (found) {
			res->known++;   /* announced before: a batch sent again */
			continue;
		}
		rc = wait_get(in, t[i].token_id, &w, &found);
		if (rc)
			break;
		if (found) {
			rc = resolve_waiting(in, cur, t[i].token_id, &w, &t[i]);
			res->resolved++;
			continue;
		}
		/* One issue per run of tokens with the same pid and contact. */
		if (!run || memcmp(run->pid, t[i].pid, AS_PID_LEN) != 0 ||
		    (run->contact == NULL) != (t[i].contact == NULL) ||
		    (run->contact && memcmp(run->contact, t[i].contact, AS_CAPSULE_LEN) != 0)) {
			if (!next) {
				rc = store_meta_get(in->txn, in->s->meta, "next_issue", &next);
				if (rc)
					break;
				if (next == 0)
					next = 1;
			}
			issue = next++;
			run = &t[i];
			issue_expires = t[i].expires_at;
			rc = issue_put(in, issue, issue_expires,
				       memcmp(t[i].pid, zero_pid, AS_PID_LEN) ? t[i].pid : zero_pid,
				       t[i].contact);
		} else if (t[i].expires_at > issue_expires) {
			issue_expires = t[i].expires_at;
			rc = issue_put(in, issue, issue_expires, run->pid, run->contact);
		}
		if (!rc)
			rc = token_put(cur, t[i].token_id, t[i].expires_at, issue, 0);
		res->added++;
	}
	if (cur)
		mdb_cursor_close(cur);
	if (!rc && next)
		rc = store_fail("writing meta",
				store_meta_put(in->txn, in->s->meta, "next_issue", next));
	if (rc) {
		in->failed = rc;
		memset(res, 0, sizeof *res);
		return store_error(rc);
	}
	return 0;
}

int store_tokens_purge(struct cl_store *s, MDB_txn *txn, int64_t horizon, size_t max,
		       uint64_t *deleted, int *more)
{
	uint16_t keep_from = expiry_day(horizon);
	MDB_cursor *cur;
	MDB_val key, val;
	size_t ops = 0;
	int rc;

	*more = 0;
	rc = mdb_cursor_open(txn, s->tokens, &cur);
	if (rc)
		return rc;
	/* Whole days from the front, a key (all its tokens) at a time. */
	while ((rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST)) == 0) {
		size_t n = 0;

		if (key.mv_size != TKEY_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (as_get_be16(key.mv_data) >= keep_from)
			break;
		if (ops >= max) {
			*more = 1;
			break;
		}
		rc = mdb_cursor_count(cur, &n);
		if (!rc)
			rc = mdb_cursor_del(cur, MDB_NODUPDATA);
		if (rc)
			break;
		*deleted += n;
		ops += n;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int store_token_issue_purge_judge(int64_t horizon, const MDB_val *key, const MDB_val *val)
{
	if (key->mv_size != 8 || val->mv_size != ISSUE_VALUE_LEN)
		return MDB_CORRUPTED;
	return (int64_t)as_get_be64(val->mv_data) < horizon;
}

int store_token_wait_purge_judge(int64_t horizon, int64_t limit, const MDB_val *key,
				 const MDB_val *val)
{
	int64_t entry;

	if (key->mv_size != TOKEN_ID_LEN || val->mv_size != WAIT_LEN)
		return MDB_CORRUPTED;
	entry = (int64_t)as_get_be64((const uint8_t *)val->mv_data + 8 + AS_GWID_LEN + 12);
	return entry < horizon || entry > limit;
}
