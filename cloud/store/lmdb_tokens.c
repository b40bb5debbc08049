/*
 * lmdb_tokens.c - visit tokens in the LMDB store: the issues of tokens the
 * issuer's capsule feed announced, their tokens' first use, replays, and
 * records waiting for an issue not announced yet (see store.h, "visit
 * tokens").
 *
 * A token id is r[8] || ChaCha20(tokenid.key, r) XOR (serial || index)
 * (anshim/token.h): the store reads a record's token id as (issue serial,
 * index in the issue) and keeps one row per issue, never one per token:
 * the tokens an issue holds cost nothing until used, and a use sets a bit.
 *
 * Databases (created when a store is opened for writing; a reader of a
 * store no writer has opened since goes without them: no tokens):
 *   tokens          serial u64 -> expires u32 pid[16] state u8 used u64
 *                                 (29 bytes): an issue; state = contact
 *                                 << 6 | (count - 1); bit i of used is set
 *                                 once token i was used
 *   token_contacts  serial u64 -> expires i64 capsule[131]: the holder's
 *                                  contact capsule of an issue none of
 *                                  whose tokens is used yet
 *   token_wait      serial u64 index u8 -> a record waiting for its issue:
 *                                  expires i64 gw_id[16] seq u64 venue u32
 *                                  entry i64 exit i64 headcount u16 flags u8
 *                                  digest[8] (63 bytes)
 *   meta            "replayed_tokens" u64
 * Integers big-endian.  An issue's contact is 0: none (a capsule that did
 * not open: its visits are stored unattributed); 1: in token_contacts
 * under its serial; 2: the person's capsule (capsules, by pid).  The first
 * use of an issue stores its visit with the contact capsule, which so
 * becomes the person's, and the commit drops it from token_contacts: a
 * person's capsule is kept once, as for a pass.  (A person whose visits were all purged while an
 * issue of theirs still had unused tokens has none: a later use is stored
 * under the pid without a capsule.  That takes a record older than the
 * retention less the token lifetime, from a gateway offline that long.)
 *
 * Invariants (each write transaction keeps them):
 *  - a (serial, index) waits in token_wait only while its issue is not in
 *    tokens;
 *  - a used bit and a waiting record each stand for the one record that
 *    used the token; any other record with that token is a replay (under
 *    a broken chain, a record this gateway holds already is not: it is the
 *    same visit renumbered);
 *  - a visit of kind AS_REC_TOKEN is stored exactly once per token.
 * Threads: the ingest transaction's (store.h).
 */
#include "lmdb_tokens.h"
#include "lmdb_chains.h"
#include "pg_store.h"

#include "anshim/token.h"

#include <errno.h>
#include <sodium.h>
#include <errno.h>
#include <stdlib.h>

#define ISSUE_KEY_LEN 8
#define ISSUE_LEN (4 + AS_PID_LEN + 1 + 8)
#define WAIT_KEY_LEN (8 + 1)
#define CONTACT_VALUE_LEN (8 + AS_CAPSULE_LEN)
#define WAIT_LEN (8 + AS_GWID_LEN + 8 + 4 + 8 + 8 + 2 + 1 + VISIT_DIGEST_LEN)
#define CONTACT_PERSON UINT64_MAX

struct issue {
	int found;
	int64_t expires;
	uint8_t pid[AS_PID_LEN];
	uint64_t contact;               /* 0, the serial (in token_contacts) or
					 * CONTACT_PERSON */
	uint8_t count;
	uint64_t used;                  /* bit i: token i used */
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

void cl_store_set_token_id_key(struct cl_store *s, const uint8_t key[AS_TOKEN_ID_KEY_LEN])
{
	memcpy(s->token_id_key, key, AS_TOKEN_ID_KEY_LEN);
	s->has_token_id_key = 1;
}

static int issue_get(struct cl_ingest *in, uint64_t serial, struct issue *t)
{
	uint8_t kb[ISSUE_KEY_LEN];
	MDB_val k = {ISSUE_KEY_LEN, kb}, v;
	const uint8_t *p;
	int rc;

	memset(t, 0, sizeof *t);
	as_put_be64(kb, serial);
	rc = mdb_get(in->txn, in->s->tokens, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_fail("reading tokens", rc);
	if (v.mv_size != ISSUE_LEN)
		return store_fail("reading tokens", MDB_CORRUPTED);
	p = v.mv_data;
	t->expires = (int64_t)as_get_be32(p);
	memcpy(t->pid, p + 4, AS_PID_LEN);
	switch (p[4 + AS_PID_LEN] >> 6) {
	case 0: t->contact = 0; break;
	case 1: t->contact = serial; break;
	case 2: t->contact = CONTACT_PERSON; break;
	default: return store_fail("reading tokens", MDB_CORRUPTED);
	}
	t->count = (uint8_t)((p[4 + AS_PID_LEN] & 0x3f) + 1);
	t->used = as_get_be64(p + 5 + AS_PID_LEN);
	t->found = 1;
	return 0;
}

static int issue_put(struct cl_ingest *in, uint64_t serial, const struct issue *t)
{
	uint8_t kb[ISSUE_KEY_LEN], buf[ISSUE_LEN];
	MDB_val k = {ISSUE_KEY_LEN, kb}, v = {ISSUE_LEN, buf};

	if (t->count < 1 || t->count > 64 || t->expires < 0 || t->expires > UINT32_MAX ||
	    (t->contact && t->contact != serial && t->contact != CONTACT_PERSON))
		return store_fail("writing tokens", MDB_BAD_VALSIZE);
	as_put_be64(kb, serial);
	as_put_be32(buf, (uint32_t)t->expires);
	memcpy(buf + 4, t->pid, AS_PID_LEN);
	buf[4 + AS_PID_LEN] = (uint8_t)((t->contact == 0 ? 0 : t->contact == serial ? 1 : 2) << 6 |
					 (t->count - 1));
	as_put_be64(buf + 5 + AS_PID_LEN, t->used);
	return store_fail("writing tokens", mdb_put(in->txn, in->s->tokens, &k, &v, 0));
}

static void wait_key(uint8_t kb[WAIT_KEY_LEN], uint64_t serial, uint8_t index)
{
	as_put_be64(kb, serial);
	kb[8] = index;
}

static void wait_parse(struct waiting *w, const uint8_t *p)
{
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
}

static int wait_get(struct cl_ingest *in, uint64_t serial, uint8_t index, struct waiting *w,
		    int *found)
{
	uint8_t kb[WAIT_KEY_LEN];
	MDB_val k = {WAIT_KEY_LEN, kb}, v;
	int rc;

	*found = 0;
	wait_key(kb, serial, index);
	rc = mdb_get(in->txn, in->s->token_wait, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_fail("reading token_wait", rc);
	if (v.mv_size != WAIT_LEN)
		return store_fail("reading token_wait", MDB_CORRUPTED);
	wait_parse(w, v.mv_data);
	*found = 1;
	return 0;
}

static int wait_put(struct cl_ingest *in, uint64_t serial, uint8_t index,
		    const struct waiting *w)
{
	uint8_t kb[WAIT_KEY_LEN], buf[WAIT_LEN], *p = buf;
	MDB_val k = {WAIT_KEY_LEN, kb}, v = {WAIT_LEN, buf};

	wait_key(kb, serial, index);
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

/* The contact capsule of issue n in token_contacts (all zero for 0 or one
 * purged), or for CONTACT_PERSON the capsule of person pid (all zero when
 * purged). */
static int contact_get(struct cl_ingest *in, uint64_t n, const uint8_t pid[AS_PID_LEN],
		       uint8_t contact[AS_CAPSULE_LEN])
{
	uint8_t kb[8];
	MDB_val k = {8, kb}, v;
	int rc;

	memset(contact, 0, AS_CAPSULE_LEN);
	if (n == 0)
		return 0;
	if (n == CONTACT_PERSON) {
		uint8_t stored_pid[AS_PID_LEN];
		uint32_t person;

		rc = store_person_of(in->txn, in->s->persons, pid, &person);
		if (!rc)
			rc = store_person_get(in->txn, in->s->capsules, person, stored_pid, contact);
		if (rc == MDB_NOTFOUND) {
			memset(contact, 0, AS_CAPSULE_LEN);
			return 0;
		}
		if (!rc && memcmp(stored_pid, pid, AS_PID_LEN) != 0)
			rc = MDB_CORRUPTED;
		return store_fail("reading the person's capsule", rc);
	}
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

/* Issue serial's contact capsule n moves to the person at the commit. */
static int contact_will_move(struct cl_ingest *in, uint64_t serial, uint64_t n)
{
	if (n == 0 || n == CONTACT_PERSON)
		return 0;
	if (in->nmoved == in->moved_cap) {
		size_t cap = in->moved_cap ? in->moved_cap * 2 : 256;
		uint64_t (*m)[2] = realloc(in->moved, cap * sizeof *m);

		if (!m)
			return ENOMEM;
		in->moved = m;
		in->moved_cap = cap;
	}
	in->moved[in->nmoved][0] = serial;
	in->moved[in->nmoved][1] = n;
	in->nmoved++;
	return 0;
}

int store_token_contacts_moved(struct cl_ingest *in)
{
	int rc = 0;

	for (size_t i = 0; i < in->nmoved && !rc; i++) {
		uint8_t kb[8];
		MDB_val k = {8, kb};
		struct issue t;

		as_put_be64(kb, in->moved[i][1]);
		rc = mdb_del(in->txn, in->s->token_contacts, &k, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		rc = store_fail("deleting from token_contacts", rc);
		if (!rc)
			rc = issue_get(in, in->moved[i][0], &t);
		if (!rc && t.found && t.contact == in->moved[i][1]) {
			t.contact = CONTACT_PERSON;
			rc = issue_put(in, in->moved[i][0], &t);
		}
	}
	in->nmoved = 0;
	return rc;
}

static int count_replay(struct cl_ingest *in)
{
	uint64_t n = 0;
	int rc = as_lmdb_meta_get_u64(in->txn, in->s->meta, "replayed_tokens", &n);

	if (rc)
		return store_fail("reading meta", rc);
	return store_fail("writing meta", as_lmdb_meta_put_u64(in->txn, in->s->meta, "replayed_tokens",
							 n + 1));
}

/* The outcome of a record whose token was used before: held (this very
 * record, or under a broken chain the same visit of this gateway) or a
 * replay, counted. */
static int judge_reuse(struct cl_ingest *in, int held, int *outcome)
{
	*outcome = held ? STORE_TOKEN_HELD : STORE_TOKEN_REPLAY;
	return held ? 0 : count_replay(in);
}

int store_token_held(struct cl_ingest *in, const struct stored_gateway *sg,
		     const struct as_record *r, const uint8_t digest[AS_CHAIN_LEN], int *held)
{
	struct issue t;
	struct waiting w;
	uint64_t serial, held_seq;
	uint8_t index;
	int found, rc;

	*held = 0;
	if (!in->s->has_token_id_key || in->s->no_tokens)
		return 0;
	as_token_id_open(&serial, &index, r->pid, in->s->token_id_key);
	rc = wait_get(in, serial, index, &w, &found);
	if (rc || found) {
		*held = found && memcmp(w.gw_id, sg->g.gw_id, AS_GWID_LEN) == 0 && w.seq == r->seq;
		return rc;
	}
	rc = issue_get(in, serial, &t);
	if (rc || !t.found || index >= t.count || index >= 64 || !(t.used >> index & 1))
		return rc;
	return store_visit_held(in, sg, r, t.pid, digest, r->seq, held, &held_seq);
}

int store_token_take(struct cl_ingest *in, const struct stored_gateway *sg,
		     const struct as_record *r, const uint8_t digest[AS_CHAIN_LEN], int reconcile,
		     int *outcome, uint8_t pid[AS_PID_LEN], uint8_t contact[AS_CAPSULE_LEN])
{
	struct issue t;
	struct waiting w;
	uint64_t serial;
	uint8_t index;
	int found, rc;

	if (!in->s->has_token_id_key)
		return AS_E_CONFIG;
	as_token_id_open(&serial, &index, r->pid, in->s->token_id_key);
	rc = wait_get(in, serial, index, &w, &found);
	if (rc)
		return rc;
	if (found)
		return judge_reuse(in, memcmp(w.gw_id, sg->g.gw_id, AS_GWID_LEN) == 0 &&
				       (w.seq == r->seq || reconcile), outcome);
	rc = issue_get(in, serial, &t);
	if (rc)
		return rc;
	if (t.found && (index >= t.count || index >= 64))
		return judge_reuse(in, 0, outcome);   /* a token its issue never had */
	if (t.found && (t.used >> index & 1)) {
		int held = 0;
		uint64_t held_seq;

		/* Past through_seq, the same (gateway, seq) is met again only
		 * when the chain broke: then this gateway's stored visit with
		 * the record's content is the same visit. */
		if (reconcile) {
			rc = store_visit_held(in, sg, r, t.pid, digest, 0, &held, &held_seq);
			if (rc)
				return rc;
		}
		return judge_reuse(in, held, outcome);
	}
	if (t.found) {
		memcpy(pid, t.pid, AS_PID_LEN);
		rc = contact_get(in, t.contact, t.pid, contact);
		if (!rc && t.used == 0)
			rc = contact_will_move(in, serial, t.contact);
		t.used |= UINT64_C(1) << index;
		if (!rc)
			rc = issue_put(in, serial, &t);
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
	return wait_put(in, serial, index, &w);
}

/* Store the visit of a waiting record now that its issue t arrived. */
static int resolve_waiting(struct cl_ingest *in, const struct waiting *w, const struct issue *t,
			   const uint8_t *contact)
{
	static const uint8_t no_contact[AS_CAPSULE_LEN];
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
	rc = store_ingest_visit(in, &sv, contact ? contact : no_contact);
	if (rc)
		return rc;
	in->next_vid++;
	span = visit_span(w->entry, w->exit);
	rc = span ? store_venue_raise_longest(in->txn, in->s->venues, w->venue, span) : 0;
	if (!rc) {
		sg.g.records++;
		rc = store_gateway_put(in->txn, in->s->gateways, &sg);
	}
	return rc;
}

/* Resolve every record waiting for issue serial (t, arrived now): its
 * tokens' visits are stored and their bits set in t->used; a record of a
 * token the issue never had is refused as a replay. */
static int resolve_issue(struct cl_ingest *in, uint64_t serial, struct issue *t,
			 const uint8_t *contact, uint32_t *resolved)
{
	uint8_t kb[WAIT_KEY_LEN];
	MDB_val k = {WAIT_KEY_LEN, kb}, v;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(in->txn, in->s->token_wait, &cur);

	if (rc)
		return store_fail("reading token_wait", rc);
	wait_key(kb, serial, 0);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size == WAIT_KEY_LEN && as_get_be64(k.mv_data) == serial) {
		uint8_t index = ((const uint8_t *)k.mv_data)[8];
		struct waiting w;

		if (v.mv_size != WAIT_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		wait_parse(&w, v.mv_data);
		if (index < t->count && index < 64) {
			if (t->used == 0)
				rc = contact_will_move(in, serial, t->contact);
			if (!rc)
				rc = resolve_waiting(in, &w, t, contact);
			t->used |= UINT64_C(1) << index;
			(*resolved)++;
		} else {
			rc = count_replay(in);
		}
		if (!rc)
			rc = mdb_cursor_del(cur, 0);
		if (!rc) {
			k.mv_size = WAIT_KEY_LEN;
			k.mv_data = kb;
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : store_fail("resolving token_wait", rc);
}

int cl_store_ingest_token_issues(struct cl_ingest *in, const struct cl_token_issue *t, size_t n,
				 struct cl_tokens_result *res)
{
	int rc = 0;

	memset(res, 0, sizeof *res);
	if (in->pg)
		return cl_pg_ingest_token_issues(in->pg, t, n, res);
	if (in->failed)
		return store_error(in->failed);
	if (in->s->no_tokens)
		return AS_E_VERSION;
	for (size_t i = 0; i < n; i++)
		if (t[i].serial == 0 || t[i].serial > AS_TOKEN_SERIAL_MAX || t[i].count == 0 ||
		    t[i].count > 64 || t[i].expires_at < 1 || t[i].expires_at > UINT32_MAX)
			return AS_E_FIELD;
	for (size_t i = 0; i < n && !rc; i++) {
		struct issue is;

		rc = issue_get(in, t[i].serial, &is);
		if (rc)
			break;
		if (is.found) {
			res->known++;
			if (memcmp(is.pid, t[i].pid, AS_PID_LEN) != 0 || is.count != t[i].count ||
			    is.expires != t[i].expires_at)
				res->conflicting++;
			continue;
		}
		/* Its own contact capsule, until its first use. */
		if (t[i].contact)
			rc = contact_put(in, t[i].serial, t[i].expires_at, t[i].contact);
		if (rc)
			break;
		memset(&is, 0, sizeof is);
		is.expires = t[i].expires_at;
		memcpy(is.pid, t[i].pid, AS_PID_LEN);
		is.contact = t[i].contact ? t[i].serial : 0;
		is.count = t[i].count;
		rc = resolve_issue(in, t[i].serial, &is, t[i].contact, &res->resolved);
		if (!rc)
			rc = issue_put(in, t[i].serial, &is);
		res->added++;
	}
	if (rc) {
		in->failed = rc;
		memset(res, 0, sizeof *res);
		return store_error(rc);
	}
	return 0;
}

int store_token_purge_judge(int64_t horizon, const MDB_val *key, const MDB_val *val)
{
	if (key->mv_size != ISSUE_KEY_LEN || val->mv_size != ISSUE_LEN)
		return MDB_CORRUPTED;
	return (int64_t)as_get_be32(val->mv_data) < horizon;
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

	if (key->mv_size != WAIT_KEY_LEN || val->mv_size != WAIT_LEN)
		return MDB_CORRUPTED;
	entry = (int64_t)as_get_be64((const uint8_t *)val->mv_data + 8 + AS_GWID_LEN + 12);
	return entry < horizon || entry > limit;
}
