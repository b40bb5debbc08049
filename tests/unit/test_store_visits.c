/*
 * test_store_visits.c - the LMDB store's visit blocks (lmdb_visits.c):
 * rows put, read and deleted by vid against a model, in random rounds of
 * committed and aborted transactions; blocks that empty are dropped; a
 * vid stored twice or deleted when absent is an error.  (The upgrade of
 * version 4 rows is test_store.c's test_visits_upgrade: it needs ingest.)
 */
#include "test.h"
#include "lmdb_visits.h"

#include <stdlib.h>

#define NV 4000                  /* vids 1..NV-1 */
#define MAP_TEST (UINT64_C(64) << 20)

struct model {
	struct visit_row rows[NV];
	uint8_t present[NV];
	uint64_t next;               /* the next vid to put */
};

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? rng % n : 0;
}

static int row_eq(const struct visit_row *a, const struct visit_row *b)
{
	return a->vid == b->vid && a->gw_index == b->gw_index && a->seq == b->seq &&
	       !a->has_digest == !b->has_digest &&
	       (!a->has_digest || memcmp(a->digest, b->digest, VISIT_DIGEST_LEN) == 0);
}

/* A run of rows as ingest makes them: mostly one gateway's consecutive
 * seqs, sometimes another gateway, an app check-in (gateway 0, seq 0), a
 * row without digest (stored by version 3), extreme numbers, and vids
 * skipped (absent slots). */
static size_t make_rows(struct model *m, struct visit_row *out, size_t want)
{
	static uint32_t gw = 1;
	static uint64_t seq = 1;
	size_t n = 0;

	while (n < want && m->next < NV) {
		struct visit_row *r = &out[n];
		uint64_t pick = rnd(100);

		if (pick < 5)
			m->next += 1 + rnd(40); /* a gap: slots left empty */
		if (m->next >= NV)
			break;
		memset(r, 0, sizeof *r);
		r->vid = m->next++;
		if (pick < 15) {
			gw = (uint32_t)(1 + rnd(3000));
			seq = 1 + rnd(100000);
		} else if (pick < 17) {
			gw = UINT32_MAX;
			seq = UINT64_MAX - rnd(2);
		}
		if (pick >= 17 && pick < 20) {
			r->gw_index = 0; /* an app check-in */
			r->seq = 0;
		} else {
			r->gw_index = gw;
			r->seq = seq++;
			r->has_digest = pick % 7 != 0;
			test_fill(r->digest, VISIT_DIGEST_LEN, (unsigned)r->vid);
		}
		n++;
	}
	return n;
}

/* Every vid below NV as the model says, the last vid, and one block per
 * 32-vid range holding any visit. */
static void check_model(struct cl_store *s, const struct model *m, const char *when)
{
	MDB_txn *txn;
	MDB_stat st;
	uint64_t last = 0, want_last = 0, blocks = 0;
	size_t bad = 0;

	if (!CHECK_OK(store_read_begin(s, &txn)))
		return;
	for (uint64_t vid = 1; vid < NV; vid++) {
		struct visit_row got;
		int rc = store_visit_get(s, txn, vid, &got);

		if (m->present[vid]) {
			want_last = vid;
			if (rc || !row_eq(&got, &m->rows[vid]))
				bad++;
		} else if (rc != MDB_NOTFOUND) {
			bad++;
		}
	}
	for (uint64_t b = 0; b < NV; b += VISIT_BLOCK_SLOTS) {
		int any = 0;

		for (uint64_t v = b; v < b + VISIT_BLOCK_SLOTS && v < NV; v++)
			any |= m->present[v];
		blocks += (uint64_t)any;
	}
	CHECK_OK(store_visits_last(s, txn, &last));
	CHECK_OK(mdb_stat(txn, s->visit_blocks, &st));
	mdb_txn_abort(txn);
	if (bad || last != want_last || st.ms_entries != blocks)
		fprintf(stderr, "  %s: %zu vids differ, last %llu (want %llu), %llu blocks (want "
			"%llu)\n", when, bad, (unsigned long long)last,
			(unsigned long long)want_last, (unsigned long long)st.ms_entries,
			(unsigned long long)blocks);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(last, want_last);
	CHECK_EQ_INT(st.ms_entries, blocks);
}

/* Random rounds: each puts a run (sometimes across a commit boundary into
 * the last block), deletes a random set (any order, some twice), and
 * commits or aborts. */
static void test_blocks_model(void)
{
	static struct model m, saved;
	static struct visit_row run[300];
	static uint64_t dead[400];
	char dir[64], when[64];
	struct cl_store *s = NULL;
	char err[200];

	test_tmpdir(dir);
	if (!CHECK_OK(cl_store_open(&s, dir, MAP_TEST, 0, err, sizeof err)))
		goto out;
	memset(&m, 0, sizeof m);
	m.next = 1;
	for (int round = 0; round < 120 && m.next < NV; round++) {
		MDB_txn *txn;
		size_t n = make_rows(&m, run, 1 + rnd(round % 5 == 0 ? 300 : 40)), nd = 0;
		int abort_it = rnd(6) == 0, rc;

		saved = m;
		if (!CHECK_OK(store_write_begin(s, &txn)))
			break;
		rc = store_visits_put(s, txn, run, n);
		for (size_t i = 0; i < n; i++) {
			m.rows[run[i].vid] = run[i];
			m.present[run[i].vid] = 1;
		}
		for (size_t tries = rnd(60) + (round % 9 == 0 ? 300 : 0); tries > 0 && !rc; tries--) {
			uint64_t vid = 1 + rnd(m.next - 1 < 1 ? 1 : m.next - 1);

			if (vid < NV && m.present[vid] && nd < 400) {
				dead[nd++] = vid;
				if (rnd(10) == 0 && nd < 400)
					dead[nd++] = vid; /* named twice: deleted once */
				m.present[vid] = 0;
			}
		}
		if (!rc)
			rc = store_visits_delete(s, txn, dead, nd);
		CHECK_OK(rc);
		if (abort_it || rc) {
			store_write_abort(s, txn);
			m = saved;
		} else {
			CHECK_OK(store_write_end(s, txn, 0));
		}
		snprintf(when, sizeof when, "round %d", round);
		check_model(s, &m, when);
	}
	/* Errors: a vid stored again, a vid deleted that is not stored. */
	{
		MDB_txn *txn;
		uint64_t vid = 0, none = 0;

		for (uint64_t v = 1; v < NV; v++) {
			if (m.present[v] && !vid)
				vid = v;
			if (!m.present[v] && !none && v < m.next)
				none = v;
		}
		if (vid && CHECK_OK(store_write_begin(s, &txn))) {
			CHECK_RC(store_visits_put(s, txn, &m.rows[vid], 1), MDB_KEYEXIST);
			store_write_abort(s, txn);
		}
		if (none && CHECK_OK(store_write_begin(s, &txn))) {
			CHECK_RC(store_visits_delete(s, txn, &none, 1), MDB_CORRUPTED);
			store_write_abort(s, txn);
		}
		check_model(s, &m, "after the refused writes");
	}
	/* Everything deleted: no block is left. */
	{
		MDB_txn *txn;
		size_t nd = 0;
		static uint64_t all[NV];

		for (uint64_t v = 1; v < NV; v++)
			if (m.present[v]) {
				all[nd++] = v;
				m.present[v] = 0;
			}
		if (CHECK_OK(store_write_begin(s, &txn)))
			CHECK_OK(store_write_end(s, txn, store_visits_delete(s, txn, all, nd)));
		check_model(s, &m, "all deleted");
	}
out:
	cl_store_close(s);
	test_rmdir(dir);
}

int main(void)
{
	TEST_RUN(test_blocks_model);
	return TEST_DONE();
}
