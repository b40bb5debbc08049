/*
 * lmdb_tokens.c - visit tokens in the LMDB store: the tokens the issuer's
 * capsule feed announced, their first use, replays, and records waiting
 * for a token not announced yet (see store.h, "visit tokens").
 *
 * Databases (created when a store is opened for writing; a reader of a
 * store no writer has opened since goes without them: no tokens):
 *   tokens          token_id[16] -> 'I' expires i64 pid[16] contact u64
 *                                        (issued, unused: 33 bytes)
 *                                 | 'U' expires i64 gateway index u32 seq u64
 *                                        (used by that record: 21 bytes)
 *   token_contacts  contact u64 -> expires i64 (the latest of its tokens)
 *                                  capsule[131]: a holder's contact capsule,
 *                                  once per feed batch, not per token
 *   token_wait      token_id[16] -> a record waiting for its token: expires
 *                                  i64 gw_id[16] seq u64 venue u32 entry i64
 *                                  exit i64 headcount u16 flags u8
 *                                  digest[8] (63 bytes)
 *   meta            "next_contact" u64, "replayed_tokens" u64
 * Integers big-endian.  contact 0 means none (a capsule that did not
 * open: its visits are stored unattributed).
 *
 * Invariants (each write transaction keeps them):
 *  - a token id is in tokens or in token_wait, never both;
 *  - a 'U' token and a waiting record name the one record that used the
 *    token; any other record with that token is a replay;
 *  - a visit of kind AS_REC_TOKEN is stored exactly once per token.
 * Threads: the ingest transaction's (store.h).
 */
#include "lmdb_tokens.h"

#include <stdlib.h>

#define TOKEN_ID_LEN 16
#define ISSUED_LEN (1 + 8 + AS_PID_LEN + 8)
#define USED_LEN (1 + 8 + 4 + 8)
#define CONTACT_VALUE_LEN (8 + AS_CAPSULE_LEN)
#define WAIT_LEN (8 + AS_GWID_LEN + 8 + 4 + 8 + 8 + 2 + 1 + VISIT_DIGEST_LEN)

struct token_state {
	uint8_t state;                  /* 'I', 'U', or 0: none */
	int64_t expires;
	uint8_t pid[AS_PID_LEN];        /* 'I' */
	uint64_t contact;               /* 'I' */
	uint32_t gw_index;              /* 'U' */
	uint64_t seq;                   /* 'U' */
};

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

static int token_get(struct cl_ingest *in, const uint8_t id[TOKEN_ID_LEN], struct token_state *t)
{
	MDB_val k = {TOKEN_ID_LEN, (void *)id}, v;
	const uint8_t *p;
	int rc = mdb_get(in->txn, in->s->tokens, &k, &v);

	memset(t, 0, sizeof *t);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_fail("reading tokens", rc);
	p = v.mv_data;
	if (v.mv_size == ISSUED_LEN && p[0] == 'I') {
		t->expires = (int64_t)as_get_be64(p + 1);
		memcpy(t->pid, p + 9, AS_PID_LEN);
		t->contact = as_get_be64(p + 9 + AS_PID_LEN);
	} else if (v.mv_size == USED_LEN && p[0] == 'U') {
		t->expires = (int64_t)as_get_be64(p + 1);
		t->gw_index = as_get_be32(p + 9);
		t->seq = as_get_be64(p + 13);
	} else {
		return store_fail("reading tokens", MDB_CORRUPTED);
	}
	t->state = p[0];
	return 0;
}

static int token_put_used(struct cl_ingest *in, const uint8_t id[TOKEN_ID_LEN], int64_t expires,
			  uint32_t gw_index, uint64_t seq)
{
	uint8_t buf[USED_LEN];
	MDB_val k = {TOKEN_ID_LEN, (void *)id}, v = {USED_LEN, buf};

	buf[0] = 'U';
	as_put_be64(buf + 1, (uint64_t)expires);
	as_put_be32(buf + 9, gw_index);
	as_put_be64(buf + 13, seq);
	return store_fail("writing tokens", mdb_put(in->txn, in->s->tokens, &k, &v, 0));
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

/* The contact capsule numbered n (all zero for 0 or one purged). */
static int contact_get(struct cl_ingest *in, uint64_t n, uint8_t contact[AS_CAPSULE_LEN])
{
	uint8_t kb[8];
	MDB_val k = {8, kb}, v;
	int rc;

	memset(contact, 0, AS_CAPSULE_LEN);
	if (n == 0)
		return 0;
	as_put_be64(kb, n);
	rc = mdb_get(in->txn, in->s->token_contacts, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_fail("reading token_contacts", rc);
	if (v.mv_size != CONTACT_VALUE_LEN)
		return store_fail("reading token_contacts", MDB_CORRUPTED);
	memcpy(contact, (const uint8_t *)v.mv_data + 8, AS_CAPSULE_LEN);
	return 0;
}

static int contact_put(struct cl_ingest *in, uint64_t n, int64_t expires,
		       const uint8_t contact[AS_CAPSULE_LEN])
{
	uint8_t kb[8], buf[CONTACT_VALUE_LEN];
	MDB_val k = {8, kb}, v = {sizeof buf, buf};

	as_put_be64(kb, n);
	as_put_be64(buf, (uint64_t)expires);
	memcpy(buf + 8, contact, AS_CAPSULE_LEN);
	return store_fail("writing token_contacts",
			  mdb_put(in->txn, in->s->token_contacts, &k, &v, 0));
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
	struct token_state t;
	struct waiting w;
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
	rc = token_get(in, id, &t);
	if (rc)
		return rc;
	if (t.state == 'U') {
		int same_gw = t.gw_index == sg->index;

		*outcome = same_gw && (t.seq == r->seq || reconcile) ? STORE_TOKEN_HELD
								   : STORE_TOKEN_REPLAY;
		return *outcome == STORE_TOKEN_REPLAY ? count_replay(in) : 0;
	}
	if (t.state == 'I') {
		memcpy(pid, t.pid, AS_PID_LEN);
		rc = contact_get(in, t.contact, contact);
		if (!rc)
			rc = token_put_used(in, id, t.expires, sg->index, r->seq);
		*outcome = STORE_TOKEN_USE;
		return rc;
	}
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

/* Store the visit of a waiting record now that its token arrived. */
static int resolve_waiting(struct cl_ingest *in, const uint8_t id[TOKEN_ID_LEN],
			   const struct waiting *w, const struct cl_token_issued *t)
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
		rc = token_put_used(in, id, t->expires_at, sg.index, w->seq);
	return rc;
}

int cl_store_ingest_tokens(struct cl_ingest *in, const struct cl_token_issued *t, size_t n,
			   struct cl_tokens_result *res)
{
	uint64_t contact = 0, next = 0;
	int64_t contact_expires = 0;
	const uint8_t *last = NULL;
	int rc = 0;

	memset(res, 0, sizeof *res);
	if (in->failed)
		return store_error(in->failed);
	if (in->s->no_tokens)
		return AS_E_VERSION;
	for (size_t i = 0; i < n && !rc; i++) {
		uint8_t buf[ISSUED_LEN];
		MDB_val k = {TOKEN_ID_LEN, (void *)t[i].token_id}, v = {ISSUED_LEN, buf};
		struct token_state ts;
		struct waiting w;
		int found;

		rc = token_get(in, t[i].token_id, &ts);
		if (rc)
			break;
		if (ts.state) {
			res->known++;
			continue;
		}
		/* One contact capsule per run of tokens that bring the same. */
		if (t[i].contact && (!last || memcmp(last, t[i].contact, AS_CAPSULE_LEN) != 0)) {
			if (!next) {
				rc = store_meta_get(in->txn, in->s->meta, "next_contact", &next);
				if (rc)
					break;
				if (next == 0)
					next = 1;   /* 0 means none */
			}
			contact = next++;
			contact_expires = t[i].expires_at;
			last = t[i].contact;
			rc = contact_put(in, contact, contact_expires, last);
		} else if (t[i].contact && t[i].expires_at > contact_expires) {
			contact_expires = t[i].expires_at;
			rc = contact_put(in, contact, contact_expires, last);
		}
		if (rc)
			break;
		rc = wait_get(in, t[i].token_id, &w, &found);
		if (rc)
			break;
		if (found) {
			rc = resolve_waiting(in, t[i].token_id, &w, &t[i]);
			res->resolved++;
			continue;
		}
		buf[0] = 'I';
		as_put_be64(buf + 1, (uint64_t)t[i].expires_at);
		memcpy(buf + 9, t[i].pid, AS_PID_LEN);
		as_put_be64(buf + 9 + AS_PID_LEN, t[i].contact ? contact : 0);
		rc = store_fail("writing tokens", mdb_put(in->txn, in->s->tokens, &k, &v, 0));
		res->added++;
	}
	if (!rc && next)
		rc = store_fail("writing meta",
				store_meta_put(in->txn, in->s->meta, "next_contact", next));
	if (rc) {
		in->failed = rc;
		memset(res, 0, sizeof *res);
		return store_error(rc);
	}
	return 0;
}

int store_token_purge_judge(int64_t horizon, const MDB_val *key, const MDB_val *val)
{
	const uint8_t *p = val->mv_data;

	if (key->mv_size != TOKEN_ID_LEN ||
	    !((val->mv_size == ISSUED_LEN && p[0] == 'I') ||
	      (val->mv_size == USED_LEN && p[0] == 'U')))
		return MDB_CORRUPTED;
	return (int64_t)as_get_be64(p + 1) < horizon;
}

int store_token_contact_purge_judge(int64_t horizon, const MDB_val *key, const MDB_val *val)
{
	if (key->mv_size != 8 || val->mv_size != CONTACT_VALUE_LEN)
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
