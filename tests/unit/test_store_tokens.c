/*
 * test_store_tokens.c - visit tokens in the cloud store
 * (cloud/store/lmdb_tokens.c): token ids made as the issuer makes them
 * (as_token_id_derive) are read back to their issue; a token record whose
 * issue is known is stored under the issue's pid, with the holder's
 * contact capsule as the person's capsule; a token used again at another
 * venue (or by another record of the same gateway), or one its issue
 * never had, is refused and counted; a record whose issue has not arrived
 * waits, durably (through_seq goes past it, a reopened store still holds
 * it), and becomes a visit when the issue arrives; an issue sent again
 * changes nothing; the store keeps one row per issue, not per token;
 * without the token id key a token record is refused, never lost; the
 * purge drops expired issues, their contact capsules and old waiting
 * records.
 */
#include "test.h"

#include "store.h"

#include "anshim/bytes.h"
#include "anshim/token.h"

#include <lmdb.h>

#define MAP_TEST (UINT64_C(64) << 20)
#define T0 TEST_NOW

static uint8_t id_key[AS_TOKEN_ID_KEY_LEN];

static struct cl_store *open_store(const char *dir)
{
	struct cl_store *s = NULL;
	char err[300] = "";
	int rc = cl_store_open(&s, dir, MAP_TEST, 0, err, sizeof err);

	if (!CHECK_OK(rc))
		fprintf(stderr, "  open %s: %s\n", dir, err);
	if (!rc)
		cl_store_set_token_id_key(s, id_key);
	return rc ? NULL : s;
}

static void enroll(struct cl_store *s, unsigned tag, uint32_t venue, struct cl_gateway *g)
{
	struct cl_venue v;

	memset(g, 0, sizeof *g);
	test_fill(g->gw_id, AS_GWID_LEN, 100 + tag);
	test_fill(g->pk, AS_SIGN_PK_LEN, 200 + tag);
	g->venue_id = venue;
	g->enrolled_at = T0 - 1000;
	memset(&v, 0, sizeof v);
	v.id = venue;
	snprintf(v.name, sizeof v.name, "Venue %u", (unsigned)venue);
	v.dwell_minutes = 30;
	CHECK_OK(cl_store_enroll(s, g, &v));
}


static void pid_of(uint8_t pid[AS_PID_LEN], unsigned person)
{
	test_fill(pid, AS_PID_LEN, 700 + person);
}

static void contact_of(uint8_t c[AS_CAPSULE_LEN], unsigned person)
{
	test_fill(c, AS_CAPSULE_LEN, 800 + person);
}

/* A record of token index of issue serial. */
static void token_rec(struct as_record *r, uint64_t seq, uint64_t serial, unsigned index,
		      int64_t entry)
{
	memset(r, 0, sizeof *r);
	r->kind = AS_REC_TOKEN;
	r->seq = seq;
	r->entry_time = entry;
	r->headcount = 1;
	r->credential_expires = T0 + 7 * 86400;
	if (as_token_id_derive(r->pid, id_key, serial, (uint8_t)index) != 0)
		abort();
}

static int ingest_recs(struct cl_store *s, const struct cl_gateway *g, const struct as_record *r,
		       size_t n, struct cl_ingest_result *res)
{
	struct cl_ingest *in;
	int rc = cl_store_ingest_begin(s, &in);

	if (rc)
		return rc;
	rc = cl_store_ingest_batch(in, g->gw_id, r, NULL, n, T0, T0 + 5, res);
	if (rc) {
		cl_store_ingest_abort(in);
		return rc;
	}
	return cl_store_ingest_commit(in);
}

/* Announce issue serial of count tokens of person, expiring at expires. */
static int announce(struct cl_store *s, uint64_t serial, unsigned count, unsigned person,
		    int64_t expires, struct cl_tokens_result *res)
{
	struct cl_token_issue t;
	uint8_t contact[AS_CAPSULE_LEN];
	struct cl_ingest *in;
	int rc;

	contact_of(contact, person);
	t.serial = serial;
	t.count = (uint8_t)count;
	t.expires_at = expires;
	pid_of(t.pid, person);
	t.contact = contact;
	rc = cl_store_ingest_begin(s, &in);
	if (rc)
		return rc;
	rc = cl_store_ingest_token_issues(in, &t, 1, res);
	if (rc) {
		cl_store_ingest_abort(in);
		return rc;
	}
	return cl_store_ingest_commit(in);
}

struct seen {
	unsigned n;
	struct cl_visit v[8];
};

static int collect(void *ctx, const struct cl_visit *v)
{
	struct seen *s = ctx;

	if (s->n < 8)
		s->v[s->n] = *v;
	s->n++;
	return 0;
}

/* Entries of database name in the (closed) store in dir: white-box. */
static long db_entries(const char *dir, const char *name)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat ms;
	long n = -1;

	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 32);
	if (mdb_env_open(env, dir, MDB_RDONLY, 0600) == 0 &&
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
		if (mdb_dbi_open(txn, name, 0, &dbi) == 0 && mdb_stat(txn, dbi, &ms) == 0)
			n = (long)ms.ms_entries;
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return n;
}

static void test_use_and_replay(void)
{
	char dir[64];
	struct cl_store *s;
	struct cl_gateway g1, g2;
	struct cl_ingest_result res;
	struct cl_tokens_result tr;
	struct cl_store_stats st;
	struct as_record r[3];
	struct seen seen = {0};
	uint8_t pid[AS_PID_LEN], contact[AS_CAPSULE_LEN], cap[AS_CAPSULE_LEN];

	test_tmpdir(dir);
	if (!(s = open_store(dir)))
		return;
	enroll(s, 1, 11, &g1);
	enroll(s, 2, 22, &g2);
	CHECK_OK(announce(s, 1, 4, 1, T0 + 7 * 86400, &tr));
	CHECK(tr.added == 1 && tr.known == 0 && tr.resolved == 0);
	/* sent again: nothing changes */
	CHECK_OK(announce(s, 1, 4, 1, T0 + 7 * 86400, &tr));
	CHECK(tr.added == 0 && tr.known == 1 && tr.conflicting == 0);
	/* the same serial for another person: kept as first stored, flagged */
	CHECK_OK(announce(s, 1, 4, 2, T0 + 7 * 86400, &tr));
	CHECK(tr.added == 0 && tr.known == 1 && tr.conflicting == 1);
	/* out of range: refused, nothing written */
	CHECK_RC(announce(s, 2, 0, 1, T0 + 7 * 86400, &tr), AS_E_FIELD);
	CHECK_RC(announce(s, 2, 65, 1, T0 + 7 * 86400, &tr), AS_E_FIELD);
	CHECK_RC(announce(s, 0, 4, 1, T0 + 7 * 86400, &tr), AS_E_FIELD);
	/* tokens 0 and 1 of issue 1 used at venue 11 */
	token_rec(&r[0], 1, 1, 0, T0 + 60);
	token_rec(&r[1], 2, 1, 1, T0 + 120);
	if (!CHECK_OK(ingest_recs(s, &g1, r, 2, &res)))
		return;
	CHECK(res.stored == 2 && res.through_seq == 2 && res.tokens_replayed == 0);
	/* both under the person's pid, the contact capsule as the person's */
	pid_of(pid, 1);
	contact_of(contact, 1);
	CHECK_OK(cl_store_visits_of(s, pid, T0, T0 + 3600, collect, &seen));
	CHECK_EQ_INT(seen.n, 2);
	CHECK(seen.v[0].kind == AS_REC_TOKEN && seen.v[0].venue_id == 11);
	if (CHECK_OK(cl_store_capsule(s, pid, cap)))
		CHECK_MEM(cap, contact, AS_CAPSULE_LEN);
	/* token 0 replayed at venue 22 (with a fresh token 2 beside it; the
	 * replay's id is made anew: another r, the same token), and token 1
	 * replayed by the same gateway under another seq */
	token_rec(&r[0], 1, 1, 2, T0 + 200);
	token_rec(&r[1], 2, 1, 0, T0 + 260);
	if (CHECK_OK(ingest_recs(s, &g2, r, 2, &res)))
		CHECK(res.stored == 1 && res.tokens_replayed == 1 && res.through_seq == 2);
	token_rec(&r[0], 3, 1, 1, T0 + 300);
	if (CHECK_OK(ingest_recs(s, &g1, r, 1, &res)))
		CHECK(res.stored == 0 && res.tokens_replayed == 1 && res.through_seq == 3);
	/* the same batch again: duplicates, no replay counted */
	if (CHECK_OK(ingest_recs(s, &g1, r, 1, &res)))
		CHECK(res.duplicates == 1 && res.tokens_replayed == 0);
	/* token 4 of an issue of 4 (0..3): the issue never had it */
	token_rec(&r[0], 4, 1, 4, T0 + 330);
	if (CHECK_OK(ingest_recs(s, &g1, r, 1, &res)))
		CHECK(res.stored == 0 && res.tokens_replayed == 1 && res.through_seq == 4);
	seen.n = 0;
	CHECK_OK(cl_store_visits_of(s, pid, T0, T0 + 3600, collect, &seen));
	CHECK_EQ_INT(seen.n, 3);
	/* token 2, used in a later transaction, read the person's capsule:
	 * it is still the contact capsule */
	if (CHECK_OK(cl_store_capsule(s, pid, cap)))
		CHECK_MEM(cap, contact, AS_CAPSULE_LEN);
	if (CHECK_OK(cl_store_stats(s, &st))) {
		CHECK(st.tokens == 1);    /* one row for the issue */
		CHECK(st.tokens_replayed == 3);
		CHECK(st.tokens_waiting == 0);
		CHECK(st.visits == 3);
	}
	cl_store_close(s);
	/* used: its contact capsule is the person's now, kept once */
	CHECK_EQ_INT(db_entries(dir, "token_contacts"), 0);
	CHECK_EQ_INT(db_entries(dir, "tokens"), 1);
	test_rmdir(dir);
}

static void test_waiting(void)
{
	char dir[64];
	struct cl_store *s;
	struct cl_gateway g1, g2;
	struct cl_ingest_result res;
	struct cl_tokens_result tr;
	struct cl_store_stats st;
	struct as_record r[2];
	struct seen seen = {0};
	uint8_t pid[AS_PID_LEN];

	test_tmpdir(dir);
	if (!(s = open_store(dir)))
		return;
	enroll(s, 1, 11, &g1);
	enroll(s, 2, 22, &g2);
	/* token 0 of issue 5 and of issue 6 scanned before their issues arrived */
	token_rec(&r[0], 1, 5, 0, T0 + 60);
	r[0].exit_time = T0 + 60 + 7200;
	token_rec(&r[1], 2, 6, 0, T0 + 90);
	if (!CHECK_OK(ingest_recs(s, &g1, r, 2, &res)))
		return;
	CHECK(res.stored == 0 && res.tokens_waiting == 2 && res.through_seq == 2);
	/* the waiting one is a token's use already: another venue's is a replay */
	token_rec(&r[0], 1, 5, 0, T0 + 100);
	if (CHECK_OK(ingest_recs(s, &g2, r, 1, &res)))
		CHECK(res.tokens_replayed == 1 && res.tokens_waiting == 0);
	/* durable: a reopened store still holds them */
	cl_store_close(s);
	if (!(s = open_store(dir)))
		return;
	if (CHECK_OK(cl_store_stats(s, &st)))
		CHECK(st.tokens_waiting == 2 && st.visits == 0 && st.tokens_replayed == 1);
	/* issue 5 arrives: stored as the visit it was, at venue 11 */
	CHECK_OK(announce(s, 5, 1, 2, T0 + 7 * 86400, &tr));
	CHECK(tr.resolved == 1 && tr.added == 1);
	pid_of(pid, 2);
	CHECK_OK(cl_store_visits_of(s, pid, T0, T0 + 3600, collect, &seen));
	if (CHECK_EQ_INT(seen.n, 1)) {
		CHECK(seen.v[0].venue_id == 11 && seen.v[0].entry == T0 + 60);
		CHECK(seen.v[0].exit == T0 + 60 + 7200 && seen.v[0].kind == AS_REC_TOKEN);
	}
	{
		struct cl_gateway back;
		struct cl_venue v;

		if (CHECK_OK(cl_store_get_gateway(s, g1.gw_id, &back)))
			CHECK(back.records == 1 && back.through_seq == 2);
		if (CHECK_OK(cl_store_get_venue(s, 11, &v)))
			CHECK(v.longest_visit == 7200);
	}
	/* used now: another venue's use is a replay; announcing again, known */
	token_rec(&r[0], 2, 5, 0, T0 + 400);
	if (CHECK_OK(ingest_recs(s, &g2, r, 1, &res)))
		CHECK(res.tokens_replayed == 1 && res.stored == 0);
	CHECK_OK(announce(s, 5, 1, 2, T0 + 7 * 86400, &tr));
	CHECK(tr.known == 1 && tr.resolved == 0);
	CHECK_OK(announce(s, 6, 2, 2, T0 + 7 * 86400, &tr));
	CHECK(tr.added == 1 && tr.resolved == 1);
	/* waiting for token 3 of issue 7, which has 2: refused when it arrives */
	token_rec(&r[0], 3, 7, 3, T0 + 500);
	if (CHECK_OK(ingest_recs(s, &g2, r, 1, &res)))
		CHECK(res.tokens_waiting == 1);
	CHECK_OK(announce(s, 7, 2, 2, T0 + 7 * 86400, &tr));
	CHECK(tr.added == 1 && tr.resolved == 0);
	if (CHECK_OK(cl_store_stats(s, &st))) {
		CHECK(st.tokens_waiting == 0 && st.visits == 2 && st.tokens == 3);
		CHECK(st.tokens_replayed == 3);
	}
	cl_store_close(s);
	/* issues 5 and 6 used; 7 not: only its contact capsule waits */
	CHECK_EQ_INT(db_entries(dir, "token_contacts"), 1);
	test_rmdir(dir);
}

static void test_purge(void)
{
	char dir[64];
	struct cl_store *s;
	struct cl_gateway g1;
	struct cl_ingest_result res;
	struct cl_tokens_result tr;
	struct cl_store_stats st;
	struct as_record r;
	uint64_t deleted = 0;

	test_tmpdir(dir);
	if (!(s = open_store(dir)))
		return;
	enroll(s, 1, 11, &g1);
	CHECK_OK(announce(s, 1, 3, 1, T0 + 86400, &tr));       /* expire early */
	CHECK_OK(announce(s, 10, 2, 2, T0 + 30 * 86400, &tr)); /* expire late */
	token_rec(&r, 1, 1, 0, T0 + 60);                         /* used */
	CHECK_OK(ingest_recs(s, &g1, &r, 1, &res));
	token_rec(&r, 2, 20, 0, T0 + 120);                       /* waits */
	CHECK_OK(ingest_recs(s, &g1, &r, 1, &res));
	if (CHECK_OK(cl_store_stats(s, &st)))
		CHECK(st.tokens == 2 && st.tokens_waiting == 1);
	/* horizon after the early expiry and the waiting record's entry, in
	 * slices of one */
	CHECK_OK(cl_store_purge(s, T0 + 2 * 86400, 1, &deleted));
	if (CHECK_OK(cl_store_stats(s, &st)))
		CHECK(st.tokens == 1 && st.tokens_waiting == 0 && st.visits == 0);
	/* person 1's contact capsule went with its tokens: white-box count */
	{
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_stat ms;

		mdb_env_create(&env);
		mdb_env_set_maxdbs(env, 32);
		if (CHECK_OK(mdb_env_open(env, dir, MDB_RDONLY, 0600))) {
			mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
			if (CHECK_OK(mdb_dbi_open(txn, "token_contacts", 0, &dbi))) {
				mdb_stat(txn, dbi, &ms);
				CHECK_EQ_INT(ms.ms_entries, 1);
			}
			mdb_txn_abort(txn);
		}
		mdb_env_close(env);
	}
	cl_store_close(s);
	test_rmdir(dir);
}

/* Without the token id key, a batch with a token record is refused as a
 * whole and nothing of it is taken: its gateway keeps it. */
static void test_no_key(void)
{
	char dir[64], err[300] = "";
	struct cl_store *s = NULL;
	struct cl_gateway g1;
	struct cl_ingest_result res;
	struct as_record r;

	test_tmpdir(dir);
	if (!CHECK_OK(cl_store_open(&s, dir, MAP_TEST, 0, err, sizeof err)))
		return;
	enroll(s, 1, 11, &g1);
	token_rec(&r, 1, 1, 0, T0 + 60);
	CHECK_RC(ingest_recs(s, &g1, &r, 1, &res), AS_E_CONFIG);
	{
		struct cl_gateway back;

		if (CHECK_OK(cl_store_get_gateway(s, g1.gw_id, &back)))
			CHECK(back.through_seq == 0);
	}
	cl_store_set_token_id_key(s, id_key);
	if (CHECK_OK(ingest_recs(s, &g1, &r, 1, &res)))
		CHECK(res.tokens_waiting == 1 && res.through_seq == 1);
	cl_store_close(s);
	test_rmdir(dir);
}

int main(void)
{
	if (as_crypto_init() != 0)
		return 2;
	test_fill(id_key, sizeof id_key, 77);
	TEST_RUN(test_use_and_replay);
	TEST_RUN(test_no_key);
	TEST_RUN(test_waiting);
	TEST_RUN(test_purge);
	return test_done_(__FILE__);
}
