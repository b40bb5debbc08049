/*
 * test_store.c - the cloud store (cloud/store/): registry (enroll, re-enroll
 * rules, revoke, get, each), ingest (happy path, duplicates, overlap, gap,
 * placeholders, many gateways, refused batches leave the transaction usable,
 * abort, a second write of the same thread refused while another thread's
 * waits), reject counters, query ranges (inclusive bounds, entry order,
 * other venues and pids excluded, times outside 1970..2106), one capsule
 * per person (latest wins, gone with the person's last visit), purge
 * exactness in slices across every index (visits before the horizon and
 * dated in the future beyond the skew), unattributed visits (zero pid),
 * read-only opening, reopening, a full map, and the journal chains it
 * follows per gateway (start, continuation, resend, fork reconciled by
 * content, new journal, breaks; the events; a version 3 store upgraded).
 *
 * Index exactness is also checked white-box: the test opens the store's
 * LMDB environment itself and counts the entries of each index database.
 *
 * Every store lives in a fresh directory under /tmp, removed at the end.
 */
#include "test.h"

#include "store.h"
#include "lmdb_visits.h"

#include "anshim/bytes.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <sys/wait.h>

#define MAP_TEST (UINT64_C(64) << 20)
#define DAY 86400
#define T0 TEST_NOW

/* ---- helpers ----------------------------------------------------------- */

static struct cl_store *open_store(const char *dir, uint64_t map_size, int readonly)
{
	struct cl_store *s = NULL;
	char err[300] = "";
	int rc = cl_store_open(&s, dir, map_size, readonly, err, sizeof err);

	if (!CHECK_OK(rc))
		fprintf(stderr, "  open %s: %s\n", dir, err);
	return rc ? NULL : s;
}

static void make_gateway(struct cl_gateway *g, unsigned tag, uint32_t venue)
{
	memset(g, 0, sizeof *g);
	test_fill(g->gw_id, AS_GWID_LEN, 100 + tag);
	test_fill(g->pk, AS_SIGN_PK_LEN, 200 + tag);
	g->venue_id = venue;
	g->enrolled_at = T0 - 1000 - tag;
}

static void make_venue(struct cl_venue *v, uint32_t id)
{
	memset(v, 0, sizeof *v);
	v->id = id;
	snprintf(v->name, sizeof v->name, "Venue %u", (unsigned)id);
	snprintf(v->address, sizeof v->address, "%u Example Street, Seoul", (unsigned)id);
	snprintf(v->category, sizeof v->category, "cafe");
	v->dwell_minutes = 45;
}

/* Enroll gateway `tag` at venue `venue` (creating the venue). */
static void enroll(struct cl_store *s, unsigned tag, uint32_t venue, struct cl_gateway *out)
{
	struct cl_venue v;

	make_gateway(out, tag, venue);
	make_venue(&v, venue);
	CHECK_OK(cl_store_enroll(s, out, &v));
}

/* Distinct for every person (test_fill alone repeats after 256 tags). */
static void make_pid(uint8_t pid[AS_PID_LEN], unsigned person)
{
	test_fill(pid, AS_PID_LEN, 1000 + person);
	pid[0] = (uint8_t)(person >> 8);
	pid[1] = (uint8_t)person;
}

/* A scan record of `person` at entry (exit 0 = none), its capsule tagged
 * by cap_tag. */
static void make_rec(struct as_record *r, uint64_t seq, unsigned person, int64_t entry,
		     int64_t exit, unsigned cap_tag)
{
	memset(r, 0, sizeof *r);
	r->kind = AS_REC_PASS;
	r->seq = seq;
	r->entry_time = entry;
	r->exit_time = exit;
	r->headcount = 1;
	make_pid(r->pid, person);
	test_fill(r->capsule, AS_CAPSULE_LEN, 5000 + cap_tag);
}

static void make_placeholder(struct as_record *r, uint64_t seq, int64_t entry)
{
	memset(r, 0, sizeof *r);
	r->kind = AS_REC_EXPIRED;
	r->seq = seq;
	r->entry_time = entry;
	r->headcount = 1;
}

/* One batch in its own transaction; returns the batch's result code. */
static int ingest1(struct cl_store *s, const struct cl_gateway *g, const struct as_record *recs,
		   size_t n, int64_t created, struct cl_ingest_result *res)
{
	struct cl_ingest *in;
	int rc = cl_store_ingest_begin(s, &in);

	if (!CHECK_OK(rc))
		return rc;
	rc = cl_store_ingest_batch(in, g->gw_id, recs, NULL, n, created, created + 5, res);
	if (rc) {
		cl_store_ingest_abort(in);
		return rc;
	}
	return cl_store_ingest_commit(in);
}

/* Records seq first..first+n-1 of gateway tag, person (seq % people),
 * entry base + 60 * seq. */
static void make_run(struct as_record *recs, uint64_t first, size_t n, unsigned people,
		     int64_t base)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t seq = first + i;

		make_rec(&recs[i], seq, (unsigned)(seq % people), base + 60 * (int64_t)seq, 0,
			 (unsigned)(seq % people));
	}
}

/* Counts visits and checks they come in entry order. */
struct ordered_count {
	int64_t last;
	int64_t n;
	int ordered;
};

static int ordered_count_fn(void *ctx, const struct cl_visit *v)
{
	struct ordered_count *oc = ctx;

	if (v->entry < oc->last)
		oc->ordered = 0;
	oc->last = v->entry;
	oc->n++;
	return 0;
}

struct collect {
	struct cl_visit v[256];
	size_t n;
	int stop_after;   /* > 0: return 1 after this many */
};

static int collect_fn(void *ctx, const struct cl_visit *v)
{
	struct collect *c = ctx;

	if (c->n < 256)
		c->v[c->n] = *v;
	c->n++;
	return c->stop_after && (int)c->n >= c->stop_after;
}

static size_t count_at(struct cl_store *s, uint32_t venue, int64_t from, int64_t to)
{
	struct collect c = {.n = 0};

	CHECK_OK(cl_store_visits_at(s, venue, from, to, collect_fn, &c));
	return c.n;
}

static size_t count_of(struct cl_store *s, unsigned person, int64_t from, int64_t to)
{
	struct collect c = {.n = 0};
	uint8_t pid[AS_PID_LEN];

	make_pid(pid, person);
	CHECK_OK(cl_store_visits_of(s, pid, from, to, collect_fn, &c));
	return c.n;
}

static int entries_ordered(const struct collect *c)
{
	for (size_t i = 1; i < c->n && i < 256; i++)
		if (c->v[i - 1].entry > c->v[i].entry)
			return 0;
	return 1;
}

/* Entries of one named database of the store in dir, opened read-only
 * with LMDB itself.  The store must be closed (see recheck). */
static long long db_entries(const char *dir, const char *name)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;
	long long n = -1;

	if (mdb_env_create(&env))
		return -1;
	mdb_env_set_maxdbs(env, 16);
	if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600) == 0 &&
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
		if (mdb_dbi_open(txn, name, 0, &dbi) == 0 && mdb_stat(txn, dbi, &st) == 0)
			n = (long long)st.ms_entries;
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return n;
}

/* Visits stored by vid: the present bits of visit_blocks (each value
 * begins with its block's presence bitmap, a big-endian u32) plus the rows
 * of visits a store not yet upgraded keeps; -1 if it cannot be read. */
static long long visit_count(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_stat st;
	long long n = -1;

	if (mdb_env_create(&env))
		return -1;
	mdb_env_set_maxdbs(env, 32);
	if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600) == 0 &&
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
		if (mdb_dbi_open(txn, "visits", 0, &dbi) == 0 && mdb_stat(txn, dbi, &st) == 0)
			n = (long long)st.ms_entries;
		if (n >= 0 && mdb_dbi_open(txn, "visit_blocks", 0, &dbi) == 0 &&
		    mdb_cursor_open(txn, dbi, &cur) == 0) {
			int op = MDB_FIRST;

			while (mdb_cursor_get(cur, &key, &val, op) == 0) {
				op = MDB_NEXT;
				if (val.mv_size < 4) {
					n = -1;
					break;
				}
				n += __builtin_popcount(as_get_be32(val.mv_data));
			}
			mdb_cursor_close(cur);
		}
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return n;
}

/* Index entries in by_pid, whose values hold one person's entries of one
 * day (24 bytes each); -1 if it cannot be read. */
static long long pid_entries(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val key, val;
	long long n = -1;

	if (mdb_env_create(&env))
		return -1;
	mdb_env_set_maxdbs(env, 16);
	if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600) == 0 &&
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
		if (mdb_dbi_open(txn, "by_pid", 0, &dbi) == 0 &&
		    mdb_cursor_open(txn, dbi, &cur) == 0) {
			n = 0;
			while (mdb_cursor_get(cur, &key, &val, n ? MDB_NEXT : MDB_FIRST) == 0 &&
			       n >= 0) {
				if (val.mv_size == 0 || val.mv_size % 24)
					n = -2;
				else
					n += (long long)(val.mv_size / 24);
			}
			mdb_cursor_close(cur);
		}
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return n;
}

static uint32_t be32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The people tables against by_pid, read with LMDB itself: capsules' keys
 * are exactly the person numbers found in by_pid's keys; each capsules
 * entry's pid has a persons entry naming that number (12 bytes: number,
 * fingerprint); paper holds only people of capsules (139 bytes).  0, or
 * a negative code naming the first disagreement. */
static int people_check(const char *dir)
{
	enum { MAX = 1 << 16 };
	static uint32_t caps[MAX], idx[MAX];
	size_t ncaps = 0, nidx = 0;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dcaps, dpid, dpers, dpaper;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = -1;

	if (mdb_env_create(&env))
		return -1;
	mdb_env_set_maxdbs(env, 16);
	if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600) ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) {
		mdb_env_close(env);
		return -1;
	}
	if (mdb_dbi_open(txn, "capsules", 0, &dcaps) || mdb_dbi_open(txn, "by_pid", 0, &dpid) ||
	    mdb_dbi_open(txn, "persons", 0, &dpers) || mdb_dbi_open(txn, "paper", 0, &dpaper))
		goto out;
	rc = -2; /* capsules: unreadable, or a pid without its persons entry */
	if (mdb_cursor_open(txn, dcaps, &cur))
		goto out;
	{
		int first = 1, bad = 0;

		while (!bad && mdb_cursor_get(cur, &key, &val, first ? MDB_FIRST : MDB_NEXT) == 0) {
			MDB_val pk = {16, val.mv_data}, pv;

			first = 0;
			bad = key.mv_size != 4 || val.mv_size != 16 + 131 || ncaps == MAX ||
			      mdb_get(txn, dpers, &pk, &pv) || pv.mv_size != 12 ||
			      be32(pv.mv_data) != be32(key.mv_data);
			if (!bad)
				caps[ncaps++] = be32(key.mv_data);
		}
		mdb_cursor_close(cur);
		if (bad)
			goto out;
	}
	rc = -3; /* by_pid unreadable */
	if (mdb_cursor_open(txn, dpid, &cur))
		goto out;
	while (mdb_cursor_get(cur, &key, &val, nidx ? MDB_NEXT : MDB_FIRST) == 0 && nidx < MAX) {
		if (key.mv_size != 8)
			break;
		idx[nidx++] = be32((const uint8_t *)key.mv_data + 4);
	}
	mdb_cursor_close(cur);
	qsort(idx, nidx, sizeof *idx, cmp_u32);
	{
		size_t m = 0;

		for (size_t i = 0; i < nidx; i++)
			if (!m || idx[m - 1] != idx[i])
				idx[m++] = idx[i];
		nidx = m;
	}
	rc = -4; /* capsules and by_pid name different people */
	if (nidx != ncaps || memcmp(idx, caps, ncaps * sizeof *caps) != 0)
		goto out;
	rc = -5; /* a paper entry without its person */
	if (mdb_cursor_open(txn, dpaper, &cur))
		goto out;
	{
		int first = 1, bad = 0;

		while (!bad && mdb_cursor_get(cur, &key, &val, first ? MDB_FIRST : MDB_NEXT) == 0) {
			uint32_t k;

			first = 0;
			bad = key.mv_size != 4 || val.mv_size != 8 + 131;
			k = bad ? 0 : be32(key.mv_data);
			bad = bad || !bsearch(&k, caps, ncaps, sizeof *caps, cmp_u32);
		}
		mdb_cursor_close(cur);
		if (!bad)
			rc = 0;
	}
out:
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

/* Every index holds exactly `visits` entries and capsules `people`; the
 * people tables agree with by_pid (people_check). */
static void check_indexes(const char *dir, long long visits, long long attributed,
			  long long people)
{
	CHECK_EQ_INT(visit_count(dir), visits);
	CHECK_EQ_INT(db_entries(dir, "by_venue"), visits);
	CHECK_EQ_INT(pid_entries(dir), attributed);
	CHECK_EQ_INT(db_entries(dir, "persons"), people);
	CHECK_EQ_INT(db_entries(dir, "capsules"), people);
	CHECK_EQ_INT(people_check(dir), 0);
}

/* check_indexes in the middle of a test: LMDB must not have one
 * environment open twice in a process, so close the store, count, and
 * open it again. */
static struct cl_store *recheck(struct cl_store *s, const char *dir, long long visits,
				long long attributed, long long people)
{
	cl_store_close(s);
	check_indexes(dir, visits, attributed, people);
	return open_store(dir, MAP_TEST, 0);
}

static int count_gw(void *ctx, const struct cl_gateway *g)
{
	(*(int *)ctx)++;
	return 0;
}

static int stop_first_gw(void *ctx, const struct cl_gateway *g)
{
	(*(int *)ctx)++;
	return 1;
}

static int fail_gw(void *ctx, const struct cl_gateway *g)
{
	return -EIO;
}

struct venue_list {
	uint32_t ids[16];
	int n;
};

static int list_venue(void *ctx, const struct cl_venue *v)
{
	struct venue_list *l = ctx;

	if (l->n < 16)
		l->ids[l->n] = v->id;
	l->n++;
	return 0;
}

struct reject_list {
	char reasons[8][40];
	uint64_t counts[8];
	int n;
};

static int list_reject(void *ctx, const char *reason, uint64_t count)
{
	struct reject_list *l = ctx;

	if (l->n < 8) {
		snprintf(l->reasons[l->n], sizeof l->reasons[0], "%s", reason);
		l->counts[l->n] = count;
	}
	l->n++;
	return 0;
}

/* ---- registry ---------------------------------------------------------- */

static void test_registry(void)
{
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g, g2, got;
	struct cl_venue v, vgot;
	struct venue_list vl = {.n = 0};
	int n = 0;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	make_gateway(&g, 1, 7);
	make_venue(&v, 7);
	CHECK_OK(cl_store_enroll(s, &g, &v));
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &got));
	CHECK_MEM(got.gw_id, g.gw_id, AS_GWID_LEN);
	CHECK_MEM(got.pk, g.pk, AS_SIGN_PK_LEN);
	CHECK_EQ_INT(got.venue_id, 7);
	CHECK_EQ_INT(got.revoked, 0);
	CHECK_EQ_INT(got.enrolled_at, g.enrolled_at);
	CHECK_EQ_INT(got.revoked_at, 0);
	CHECK_EQ_INT(got.through_seq, 0);
	CHECK_EQ_INT(got.records, 0);
	CHECK_EQ_INT(got.batches, 0);
	CHECK_EQ_INT(got.last_seen, 0);
	CHECK_OK(cl_store_get_venue(s, 7, &vgot));
	CHECK_EQ_INT(vgot.id, 7);
	CHECK_STR(vgot.name, v.name);
	CHECK_STR(vgot.address, v.address);
	CHECK_STR(vgot.category, v.category);
	CHECK_EQ_INT(vgot.dwell_minutes, 45);

	/* Re-enroll with the same key at another venue: the venue changes,
	 * the enrolment time and state stay. */
	g2 = g;
	g2.venue_id = 9;
	g2.enrolled_at = T0;
	make_venue(&v, 9);
	v.dwell_minutes = 0; /* default */
	CHECK_OK(cl_store_enroll(s, &g2, &v));
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &got));
	CHECK_EQ_INT(got.venue_id, 9);
	CHECK_EQ_INT(got.enrolled_at, g.enrolled_at);
	CHECK_OK(cl_store_get_venue(s, 9, &vgot));
	CHECK_EQ_INT(vgot.dwell_minutes, CL_DEFAULT_DWELL);
	CHECK_OK(cl_store_get_venue(s, 7, &vgot)); /* the old venue stays */

	/* A different key for an existing id. */
	g2.pk[0] ^= 1;
	CHECK_RC(cl_store_enroll(s, &g2, &v), AS_E_EXISTS);
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &got));
	CHECK_MEM(got.pk, g.pk, AS_SIGN_PK_LEN);

	/* The venue may be given by id only once it exists. */
	make_gateway(&g2, 2, 9);
	CHECK_OK(cl_store_enroll(s, &g2, NULL));
	make_gateway(&g2, 3, 77);
	CHECK_RC(cl_store_enroll(s, &g2, NULL), AS_E_NOT_FOUND);
	CHECK_RC(cl_store_get_gateway(s, g2.gw_id, &got), AS_E_NOT_FOUND);

	/* Bad venues. */
	make_gateway(&g2, 4, 5);
	make_venue(&v, 5);
	memset(v.name, 'x', sizeof v.name); /* no terminator */
	CHECK_RC(cl_store_enroll(s, &g2, &v), AS_E_FIELD);
	make_venue(&v, 5);
	memset(v.address, 'x', sizeof v.address);
	CHECK_RC(cl_store_enroll(s, &g2, &v), AS_E_FIELD);
	make_venue(&v, 5);
	memset(v.category, 'x', sizeof v.category);
	CHECK_RC(cl_store_enroll(s, &g2, &v), AS_E_FIELD);
	make_venue(&v, 5);
	v.dwell_minutes = 1441;
	CHECK_RC(cl_store_enroll(s, &g2, &v), AS_E_FIELD);
	make_venue(&v, 0);
	g2.venue_id = 0;
	CHECK_RC(cl_store_enroll(s, &g2, &v), AS_E_FIELD);
	make_venue(&v, 6);
	g2.venue_id = 5; /* disagrees with v.id */
	CHECK_RC(cl_store_enroll(s, &g2, &v), AS_E_FIELD);
	CHECK_RC(cl_store_get_venue(s, 5, &vgot), AS_E_NOT_FOUND);
	/* Maximal strings are fine and come back whole. */
	make_venue(&v, 5);
	memset(v.name, 'n', CL_NAME_MAX);
	v.name[CL_NAME_MAX] = '\0';
	memset(v.address, 'a', CL_ADDRESS_MAX);
	v.address[CL_ADDRESS_MAX] = '\0';
	memset(v.category, 'c', CL_CATEGORY_MAX);
	v.category[CL_CATEGORY_MAX] = '\0';
	g2.venue_id = 5;
	CHECK_OK(cl_store_enroll(s, &g2, &v));
	CHECK_OK(cl_store_get_venue(s, 5, &vgot));
	CHECK_STR(vgot.name, v.name);
	CHECK_STR(vgot.address, v.address);
	CHECK_STR(vgot.category, v.category);

	/* Revoke: idempotent, keeps the first time; a revoked gateway that is
	 * enrolled again stays revoked. */
	CHECK_OK(cl_store_revoke(s, g.gw_id, T0 + 10));
	CHECK_OK(cl_store_revoke(s, g.gw_id, T0 + 20));
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &got));
	CHECK_EQ_INT(got.revoked, 1);
	CHECK_EQ_INT(got.revoked_at, T0 + 10);
	make_venue(&v, 7);
	CHECK_OK(cl_store_enroll(s, &g, &v));
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &got));
	CHECK_EQ_INT(got.revoked, 1);
	CHECK_EQ_INT(got.venue_id, 7);
	make_gateway(&g2, 50, 7);
	CHECK_RC(cl_store_revoke(s, g2.gw_id, T0), AS_E_NOT_FOUND);

	/* each: all, stop early, error from the callback. */
	CHECK_OK(cl_store_each_gateway(s, count_gw, &n));
	CHECK_EQ_INT(n, 3);
	n = 0;
	CHECK_OK(cl_store_each_gateway(s, stop_first_gw, &n));
	CHECK_EQ_INT(n, 1);
	CHECK_RC(cl_store_each_gateway(s, fail_gw, NULL), -EIO);
	CHECK_OK(cl_store_each_venue(s, list_venue, &vl));
	CHECK_EQ_INT(vl.n, 3);
	CHECK(vl.ids[0] == 5 && vl.ids[1] == 7 && vl.ids[2] == 9);

	cl_store_close(s);
	test_rmdir(dir);
}

/* ---- ingest ------------------------------------------------------------ */

static void test_ingest_happy(void)
{
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g, got;
	struct as_record recs[10];
	struct cl_ingest_result res;
	struct cl_store_stats st;
	struct cl_ingest *in;
	struct collect c = {.n = 0};
	uint8_t pid[AS_PID_LEN], cap[AS_CAPSULE_LEN];

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	for (int i = 0; i < 10; i++)
		make_rec(&recs[i], (uint64_t)i + 1, 3, T0 + 600 * i, i % 2 ? T0 + 600 * i + 90 : 0,
			 3);
	recs[4].kind = AS_REC_CARD;
	recs[5].flags = AS_REC_CLOCK_UNSYNCED;
	recs[6].headcount = 4;
	CHECK_OK(cl_store_ingest_begin(s, &in));
	CHECK_OK(cl_store_ingest_batch(in, g.gw_id, recs, NULL, 10, T0 + 7000, T0 + 7005, &res));
	CHECK_EQ_INT(res.stored, 10);
	CHECK_EQ_INT(res.duplicates, 0);
	CHECK_EQ_INT(res.expired, 0);
	CHECK_EQ_INT(res.gap, 0);
	CHECK_EQ_INT(res.through_seq, 10);
	/* Nothing is visible before the commit. */
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.visits, 0);
	CHECK_EQ_INT(count_at(s, 7, 0, INT64_MAX), 0);
	CHECK_OK(cl_store_ingest_commit(in));

	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.visits, 10);
	CHECK_EQ_INT(st.people, 1);
	CHECK_EQ_INT(st.batches, 1);
	CHECK_EQ_INT(st.rejects_total, 0);
	CHECK(st.map_size == MAP_TEST);
	CHECK(st.map_used > 0 && st.map_used < st.map_size);
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &got));
	CHECK_EQ_INT(got.through_seq, 10);
	CHECK_EQ_INT(got.records, 10);
	CHECK_EQ_INT(got.batches, 1);
	CHECK_EQ_INT(got.last_seen, T0 + 7005);
	CHECK_EQ_INT(got.last_created, T0 + 7000);

	make_pid(pid, 3);
	CHECK_OK(cl_store_visits_of(s, pid, INT64_MIN, INT64_MAX, collect_fn, &c));
	CHECK_EQ_INT(c.n, 10);
	for (size_t i = 0; i < c.n && i < 10; i++) {
		test_ctx("visit %zu", i);
		CHECK_MEM(c.v[i].pid, pid, AS_PID_LEN);
		CHECK_EQ_INT(c.v[i].venue_id, 7);
		CHECK_EQ_INT(c.v[i].entry, recs[i].entry_time);
		CHECK_EQ_INT(c.v[i].exit, recs[i].exit_time);
		CHECK_EQ_INT(c.v[i].headcount, recs[i].headcount);
		CHECK_EQ_INT(c.v[i].kind, recs[i].kind);
		CHECK_EQ_INT(c.v[i].flags, recs[i].flags);
		CHECK(c.v[i].vid != 0);
		CHECK(i == 0 || c.v[i].vid > c.v[i - 1].vid);
	}
	test_ctx_clear();
	c.n = 0;
	CHECK_OK(cl_store_visits_at(s, 7, INT64_MIN, INT64_MAX, collect_fn, &c));
	CHECK_EQ_INT(c.n, 10);
	for (size_t i = 0; i < c.n && i < 10; i++)
		CHECK_MEM(c.v[i].pid, pid, AS_PID_LEN);
	CHECK_OK(cl_store_capsule(s, pid, cap));
	CHECK_MEM(cap, recs[9].capsule, AS_CAPSULE_LEN);
	cl_store_close(s);
	check_indexes(dir, 10, 10, 1);
	test_rmdir(dir);
}

/* The same batch twice (in separate transactions and in one) changes
 * nothing; an overlapping batch stores only its new records. */
static void test_duplicates_overlap(void)
{
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g, before, after;
	struct as_record recs[16];
	struct cl_ingest_result res;
	struct cl_store_stats st1, st2;
	struct cl_ingest *in;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	make_run(recs, 1, 10, 4, T0);
	CHECK_OK(ingest1(s, &g, recs, 10, T0 + 1000, &res));
	CHECK_EQ_INT(res.stored, 10);
	CHECK_OK(cl_store_stats(s, &st1));
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &before));

	CHECK_OK(ingest1(s, &g, recs, 10, T0 + 2000, &res));
	CHECK_EQ_INT(res.stored, 0);
	CHECK_EQ_INT(res.duplicates, 10);
	CHECK_EQ_INT(res.through_seq, 10);
	CHECK_EQ_INT(res.gap, 0);
	CHECK_OK(cl_store_stats(s, &st2));
	CHECK_EQ_INT(st2.visits, st1.visits);
	CHECK_EQ_INT(st2.people, st1.people);
	CHECK_EQ_INT(st2.batches, st1.batches);
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &after));
	CHECK(memcmp(&before, &after, sizeof before) == 0);
	CHECK_EQ_INT(count_at(s, 7, INT64_MIN, INT64_MAX), 10);

	/* Twice inside one transaction: the second sees the first. */
	make_run(recs, 11, 5, 4, T0);
	CHECK_OK(cl_store_ingest_begin(s, &in));
	CHECK_OK(cl_store_ingest_batch(in, g.gw_id, recs, NULL, 5, T0, T0, &res));
	CHECK_EQ_INT(res.stored, 5);
	CHECK_OK(cl_store_ingest_batch(in, g.gw_id, recs, NULL, 5, T0, T0, &res));
	CHECK_EQ_INT(res.stored, 0);
	CHECK_EQ_INT(res.duplicates, 5);
	CHECK_EQ_INT(res.through_seq, 15);
	CHECK_OK(cl_store_ingest_commit(in));

	/* Overlap: 11..26, of which 16..26 are new. */
	make_run(recs, 11, 16, 4, T0);
	CHECK_OK(ingest1(s, &g, recs, 16, T0, &res));
	CHECK_EQ_INT(res.stored, 11);
	CHECK_EQ_INT(res.duplicates, 5);
	CHECK_EQ_INT(res.through_seq, 26);
	CHECK_OK(cl_store_stats(s, &st2));
	CHECK_EQ_INT(st2.visits, 26);
	CHECK_EQ_INT(st2.batches, 3);
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &after));
	CHECK_EQ_INT(after.records, 26);
	CHECK_EQ_INT(after.batches, 3);
	CHECK_EQ_INT(count_at(s, 7, INT64_MIN, INT64_MAX), 26);
	cl_store_close(s);
	check_indexes(dir, 26, 26, 4);
	test_rmdir(dir);
}

static void test_gap_and_placeholders(void)
{
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g, before, after;
	struct as_record recs[10];
	struct cl_ingest_result res;
	struct cl_store_stats st;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	/* A first batch that does not start at 1 is a gap too. */
	make_run(recs, 2, 3, 3, T0);
	CHECK_OK(ingest1(s, &g, recs, 3, T0, &res));
	CHECK_EQ_INT(res.gap, 1);
	CHECK_EQ_INT(res.stored, 0);
	CHECK_EQ_INT(res.through_seq, 0);

	make_run(recs, 1, 10, 3, T0);
	CHECK_OK(ingest1(s, &g, recs, 10, T0, &res));
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &before));
	make_run(recs, 12, 5, 3, T0);
	CHECK_OK(ingest1(s, &g, recs, 5, T0 + 99, &res));
	CHECK_EQ_INT(res.gap, 1);
	CHECK_EQ_INT(res.stored, 0);
	CHECK_EQ_INT(res.duplicates, 0);
	CHECK_EQ_INT(res.through_seq, 10);
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &after));
	CHECK(memcmp(&before, &after, sizeof before) == 0);
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.visits, 10);

	/* 11..16 with 12 and 13 placeholders. */
	make_run(recs, 11, 6, 3, T0);
	make_placeholder(&recs[1], 12, T0);
	make_placeholder(&recs[2], 13, T0);
	CHECK_OK(ingest1(s, &g, recs, 6, T0, &res));
	CHECK_EQ_INT(res.gap, 0);
	CHECK_EQ_INT(res.stored, 4);
	CHECK_EQ_INT(res.expired, 2);
	CHECK_EQ_INT(res.through_seq, 16);
	/* A batch of placeholders only still advances through_seq. */
	make_placeholder(&recs[0], 17, T0);
	make_placeholder(&recs[1], 18, T0);
	CHECK_OK(ingest1(s, &g, recs, 2, T0, &res));
	CHECK_EQ_INT(res.stored, 0);
	CHECK_EQ_INT(res.expired, 2);
	CHECK_EQ_INT(res.through_seq, 18);
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &after));
	CHECK_EQ_INT(after.through_seq, 18);
	CHECK_EQ_INT(after.records, 14);
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.visits, 14);
	/* Replaying the placeholders is a duplicate. */
	CHECK_OK(ingest1(s, &g, recs, 2, T0, &res));
	CHECK_EQ_INT(res.duplicates, 2);
	CHECK_EQ_INT(res.expired, 0);
	cl_store_close(s);
	check_indexes(dir, 14, 14, 3);
	test_rmdir(dir);
}

/* Refused batches leave the transaction usable; abort stores nothing; a
 * second write transaction of the same process is refused, not a deadlock. */
static void test_refusals(void)
{
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g, g2, unknown, got;
	struct as_record recs[5];
	struct cl_ingest_result res;
	struct cl_store_stats st;
	struct cl_ingest *in, *in2;
	struct cl_venue v;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	enroll(s, 2, 8, &g2);
	CHECK_OK(cl_store_revoke(s, g2.gw_id, T0));
	make_gateway(&unknown, 3, 7);
	make_run(recs, 1, 5, 2, T0);
	CHECK_OK(cl_store_ingest_begin(s, &in));
	CHECK_RC(cl_store_ingest_batch(in, g.gw_id, recs, NULL, 0, T0, T0, &res), AS_E_LENGTH);
	CHECK_RC(cl_store_ingest_batch(in, unknown.gw_id, recs, NULL, 5, T0, T0, &res),
		 AS_E_NOT_FOUND);
	CHECK_RC(cl_store_ingest_batch(in, g2.gw_id, recs, NULL, 5, T0, T0, &res), AS_E_REVOKED);
	recs[3].seq = 9;
	CHECK_RC(cl_store_ingest_batch(in, g.gw_id, recs, NULL, 5, T0, T0, &res), AS_E_FIELD);
	recs[3].seq = 4;
	recs[2].headcount = 0;
	CHECK_RC(cl_store_ingest_batch(in, g.gw_id, recs, NULL, 5, T0, T0, &res), AS_E_FIELD);
	recs[2].headcount = 1;
	recs[2].exit_time = recs[2].entry_time - 1;
	CHECK_RC(cl_store_ingest_batch(in, g.gw_id, recs, NULL, 5, T0, T0, &res), AS_E_FIELD);
	recs[2].exit_time = 0;
	recs[2].kind = 9;
	CHECK_RC(cl_store_ingest_batch(in, g.gw_id, recs, NULL, 5, T0, T0, &res), AS_E_FIELD);
	recs[2].kind = AS_REC_PASS;
	recs[2].flags = 0x80;
	CHECK_RC(cl_store_ingest_batch(in, g.gw_id, recs, NULL, 5, T0, T0, &res), AS_E_FIELD);
	recs[2].flags = 0;
	/* Another write while the ingest is open. */
	make_venue(&v, 7);
	CHECK_RC(cl_store_enroll(s, &g, &v), -EBUSY);
	CHECK_RC(cl_store_revoke(s, g.gw_id, T0), -EBUSY);
	CHECK_RC(cl_store_ingest_begin(s, &in2), -EBUSY);
	CHECK_RC(cl_store_purge(s, T0, 10, NULL), -EBUSY);
	/* Still usable. */
	CHECK_OK(cl_store_ingest_batch(in, g.gw_id, recs, NULL, 5, T0, T0, &res));
	CHECK_EQ_INT(res.stored, 5);
	CHECK_OK(cl_store_ingest_commit(in));
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.visits, 5);

	/* Abort: nothing of it stays. */
	make_run(recs, 6, 5, 2, T0);
	CHECK_OK(cl_store_ingest_begin(s, &in));
	CHECK_OK(cl_store_ingest_batch(in, g.gw_id, recs, NULL, 5, T0, T0, &res));
	CHECK_OK(cl_store_ingest_count_reject(in, "bad-signature"));
	cl_store_ingest_abort(in);
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.visits, 5);
	CHECK_EQ_INT(st.rejects_total, 0);
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &got));
	CHECK_EQ_INT(got.through_seq, 5);
	/* And the writer is free again. */
	CHECK_OK(ingest1(s, &g, recs, 5, T0, &res));
	CHECK_EQ_INT(res.stored, 5);
	cl_store_close(s);
	check_indexes(dir, 10, 10, 2);
	test_rmdir(dir);
}

struct revoke_arg {
	struct cl_store *s;
	const uint8_t *gw_id;
	int rc;
};

static void *revoke_thread(void *p)
{
	struct revoke_arg *a = p;

	a->rc = cl_store_revoke(a->s, a->gw_id, T0 + 1);
	return NULL;
}

/* A write from another thread of the process waits for the ingest's
 * commit (LMDB's writer lock) instead of failing or deadlocking. */
static void test_writer_threads(void)
{
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g, g2, got;
	struct as_record recs[5];
	struct cl_ingest_result res;
	struct cl_ingest *in;
	struct revoke_arg a;
	pthread_t t;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	enroll(s, 2, 8, &g2);
	make_run(recs, 1, 5, 2, T0);
	if (!CHECK_OK(cl_store_ingest_begin(s, &in))) {
		cl_store_close(s);
		test_rmdir(dir);
		return;
	}
	a = (struct revoke_arg){s, g2.gw_id, 1};
	if (!CHECK(pthread_create(&t, NULL, revoke_thread, &a) == 0)) {
		cl_store_ingest_abort(in);
		cl_store_close(s);
		test_rmdir(dir);
		return;
	}
	CHECK_OK(cl_store_ingest_batch(in, g.gw_id, recs, NULL, 5, T0, T0, &res));
	CHECK_OK(cl_store_ingest_commit(in));
	pthread_join(t, NULL);
	CHECK_OK(a.rc);
	CHECK_OK(cl_store_get_gateway(s, g2.gw_id, &got));
	CHECK_EQ_INT(got.revoked, 1);
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &got));
	CHECK_EQ_INT(got.through_seq, 5);
	cl_store_close(s);
	test_rmdir(dir);
}

static void test_many_gateways(void)
{
	enum { GWS = 24, VENUES = 6, ROUNDS = 5, PER = 20 };
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g[GWS], got;
	struct as_record recs[PER];
	struct cl_ingest_result res;
	struct cl_store_stats st;
	size_t total = 0;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	for (unsigned i = 0; i < GWS; i++)
		enroll(s, i, 1 + i % VENUES, &g[i]);
	/* Rounds of one batch per gateway, interleaved, two rounds per txn;
	 * entries of a venue's gateways interleave in time. */
	for (int r = 0; r < ROUNDS; r += 2) {
		struct cl_ingest *in;

		if (!CHECK_OK(cl_store_ingest_begin(s, &in)))
			break;
		for (int rr = r; rr < r + 2 && rr < ROUNDS; rr++)
			for (unsigned i = 0; i < GWS; i++) {
				for (int k = 0; k < PER; k++)
					make_rec(&recs[k], (uint64_t)(rr * PER + k + 1), i * 31 + (unsigned)k % 7,
						 T0 + (rr * PER + k) * 300 + (int64_t)i, 0, i);
				CHECK_OK(cl_store_ingest_batch(in, g[i].gw_id, recs, NULL, PER, T0, T0,
							       &res));
				CHECK_EQ_INT(res.stored, PER);
				CHECK_EQ_INT(res.through_seq, (rr + 1) * PER);
			}
		CHECK_OK(cl_store_ingest_commit(in));
	}
	for (unsigned i = 0; i < GWS; i++) {
		CHECK_OK(cl_store_get_gateway(s, g[i].gw_id, &got));
		CHECK_EQ_INT(got.through_seq, ROUNDS * PER);
		CHECK_EQ_INT(got.records, ROUNDS * PER);
		CHECK_EQ_INT(got.batches, ROUNDS);
	}
	for (uint32_t v = 1; v <= VENUES; v++) {
		struct collect c = {.n = 0};

		CHECK_OK(cl_store_visits_at(s, v, INT64_MIN, INT64_MAX, collect_fn, &c));
		CHECK_EQ_INT(c.n, GWS / VENUES * ROUNDS * PER);
		CHECK(entries_ordered(&c));
		for (size_t k = 0; k < c.n && k < 256; k++)
			if (!CHECK_EQ_INT(c.v[k].venue_id, v))
				break;
		total += c.n;
	}
	CHECK_EQ_INT(total, GWS * ROUNDS * PER);
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.visits, GWS * ROUNDS * PER);
	CHECK_EQ_INT(st.batches, GWS * ROUNDS);
	cl_store_close(s);
	check_indexes(dir, GWS * ROUNDS * PER, GWS * ROUNDS * PER, GWS * 7);
	test_rmdir(dir);
}

static void test_counters(void)
{
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_ingest *in;
	struct cl_store_stats st;
	struct reject_list l = {.n = 0};
	char longer[40];

	if (!s) {
		test_rmdir(dir);
		return;
	}
	CHECK_OK(cl_store_ingest_begin(s, &in));
	CHECK_OK(cl_store_ingest_count_reject(in, "bad-signature"));
	CHECK_OK(cl_store_ingest_count_reject(in, "gap"));
	CHECK_OK(cl_store_ingest_count_reject(in, "bad-signature"));
	CHECK_RC(cl_store_ingest_count_reject(in, ""), AS_E_FIELD);
	CHECK_RC(cl_store_ingest_count_reject(in, "Bad Signature"), AS_E_FIELD);
	memset(longer, 'a', 33);
	longer[33] = '\0';
	CHECK_RC(cl_store_ingest_count_reject(in, longer), AS_E_FIELD);
	CHECK_OK(cl_store_ingest_commit(in));
	CHECK_OK(cl_store_ingest_begin(s, &in));
	CHECK_OK(cl_store_ingest_count_reject(in, "unknown-gateway"));
	CHECK_OK(cl_store_ingest_count_reject(in, "gap"));
	CHECK_OK(cl_store_ingest_commit(in));
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.rejects_total, 5);
	CHECK_EQ_INT(st.batches, 0);
	CHECK_OK(cl_store_each_reject(s, list_reject, &l));
	CHECK_EQ_INT(l.n, 3);
	CHECK_STR(l.reasons[0], "bad-signature");
	CHECK_EQ_INT(l.counts[0], 2);
	CHECK_STR(l.reasons[1], "gap");
	CHECK_EQ_INT(l.counts[1], 2);
	CHECK_STR(l.reasons[2], "unknown-gateway");
	CHECK_EQ_INT(l.counts[2], 1);
	/* Kept by purge. */
	CHECK_OK(cl_store_purge(s, INT64_MAX, 0, NULL));
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.rejects_total, 5);
	cl_store_close(s);
	test_rmdir(dir);
}

/* ---- queries ----------------------------------------------------------- */

static void test_query_ranges(void)
{
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g7, g8;
	struct as_record recs[8];
	struct cl_ingest_result res;
	struct collect c = {.n = 0};
	uint8_t pid[AS_PID_LEN];

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g7);
	enroll(s, 2, 8, &g8);
	/* Venue 7, person 1: entries out of arrival order, two at T0+100. */
	make_rec(&recs[0], 1, 1, T0 + 300, 0, 1);
	make_rec(&recs[1], 2, 1, T0 + 100, T0 + 150, 1);
	make_rec(&recs[2], 3, 2, T0 + 100, 0, 2);
	make_rec(&recs[3], 4, 1, T0 + 200, 0, 1);
	make_rec(&recs[4], 5, 1, T0, 0, 1);
	make_rec(&recs[5], 6, 1, T0 + 400, 0, 1);
	CHECK_OK(ingest1(s, &g7, recs, 6, T0, &res));
	/* A later batch with earlier entries (a late paper register). */
	make_rec(&recs[0], 7, 1, T0 + 150, 0, 1);
	make_rec(&recs[1], 8, 1, T0 - 50, 0, 1);
	CHECK_OK(ingest1(s, &g7, recs, 2, T0, &res));
	/* Venue 8, same person and times. */
	make_rec(&recs[0], 1, 1, T0 + 100, 0, 1);
	make_rec(&recs[1], 2, 1, T0 + 200, 0, 1);
	CHECK_OK(ingest1(s, &g8, recs, 2, T0, &res));

	CHECK_OK(cl_store_visits_at(s, 7, T0 + 100, T0 + 200, collect_fn, &c));
	CHECK_EQ_INT(c.n, 4);
	CHECK(c.n == 4 && c.v[0].entry == T0 + 100 && c.v[1].entry == T0 + 100 &&
	      c.v[2].entry == T0 + 150 && c.v[3].entry == T0 + 200);
	CHECK(c.v[0].vid < c.v[1].vid);
	CHECK_EQ_INT(c.v[0].exit, T0 + 150);
	make_pid(pid, 1);
	CHECK_MEM(c.v[0].pid, pid, AS_PID_LEN);
	CHECK_MEM(c.v[2].pid, pid, AS_PID_LEN);
	make_pid(pid, 2);
	CHECK_MEM(c.v[1].pid, pid, AS_PID_LEN);
	for (size_t i = 0; i < c.n && i < 4; i++)
		CHECK_EQ_INT(c.v[i].venue_id, 7);
	CHECK_EQ_INT(count_at(s, 7, T0 + 101, T0 + 199), 1);
	CHECK_EQ_INT(count_at(s, 7, T0 + 100, T0 + 100), 2);
	CHECK_EQ_INT(count_at(s, 7, T0 + 200, T0 + 100), 0);
	CHECK_EQ_INT(count_at(s, 7, INT64_MIN, INT64_MAX), 8);
	CHECK_EQ_INT(count_at(s, 7, T0 - 50, T0 + 400), 8);
	CHECK_EQ_INT(count_at(s, 7, T0 - 49, T0 + 399), 6);
	CHECK_EQ_INT(count_at(s, 8, INT64_MIN, INT64_MAX), 2);
	CHECK_EQ_INT(count_at(s, 9, INT64_MIN, INT64_MAX), 0);

	c.n = 0;
	make_pid(pid, 1);
	CHECK_OK(cl_store_visits_of(s, pid, T0 + 100, T0 + 200, collect_fn, &c));
	CHECK_EQ_INT(c.n, 5); /* venue 7: 100, 150, 200; venue 8: 100, 200 */
	CHECK(entries_ordered(&c));
	for (size_t i = 0; i < c.n && i < 5; i++)
		CHECK_MEM(c.v[i].pid, pid, AS_PID_LEN);
	CHECK_EQ_INT(count_of(s, 2, INT64_MIN, INT64_MAX), 1);
	CHECK_EQ_INT(count_of(s, 1, INT64_MIN, INT64_MAX), 9);
	CHECK_EQ_INT(count_of(s, 3, INT64_MIN, INT64_MAX), 0);
	CHECK_EQ_INT(count_of(s, 1, T0 + 401, INT64_MAX), 0);

	/* Stop early. */
	c.n = 0;
	c.stop_after = 2;
	CHECK_OK(cl_store_visits_at(s, 7, INT64_MIN, INT64_MAX, collect_fn, &c));
	CHECK_EQ_INT(c.n, 2);
	cl_store_close(s);
	test_rmdir(dir);
}

/* Entry times outside 1970..2106 are kept exactly; bounds stay exact (exits
 * more than 2^32 - 2 s after the entry read as that much). */
static void test_extreme_times(void)
{
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g;
	struct as_record recs[4];
	struct cl_ingest_result res;
	struct collect c = {.n = 0};
	const int64_t big = (int64_t)UINT32_MAX + 1000;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	make_rec(&recs[0], 1, 1, -5, 0, 1);
	make_rec(&recs[1], 2, 1, big, big + 7, 1);
	make_rec(&recs[2], 3, 1, INT64_MIN, INT64_MAX, 1);
	make_rec(&recs[3], 4, 1, 1000, 0, 1);
	CHECK_OK(ingest1(s, &g, recs, 4, T0, &res));
	CHECK_EQ_INT(res.stored, 4);
	CHECK_EQ_INT(count_at(s, 7, INT64_MIN, INT64_MAX), 4);
	CHECK_EQ_INT(count_at(s, 7, 0, UINT32_MAX), 1);
	CHECK_EQ_INT(count_at(s, 7, -5, -5), 1);
	CHECK_EQ_INT(count_at(s, 7, INT64_MIN, -6), 1);
	CHECK_EQ_INT(count_at(s, 7, big, big), 1);
	CHECK_OK(cl_store_visits_at(s, 7, big, INT64_MAX, collect_fn, &c));
	CHECK(c.n == 1 && c.v[0].exit == big + 7);
	c.n = 0;
	CHECK_OK(cl_store_visits_at(s, 7, INT64_MIN, INT64_MIN, collect_fn, &c));
	/* An exit more than 2^32 - 2 s after the entry reads as that much. */
	CHECK(c.n == 1 && c.v[0].exit == INT64_MIN + (int64_t)UINT32_MAX - 1);
	/* Purge before 0 takes only the two negative ones. */
	{
		uint64_t deleted = 0;

		CHECK_OK(cl_store_purge(s, 0, 1, &deleted));
		CHECK_EQ_INT(deleted, 2);
		CHECK_EQ_INT(count_at(s, 7, INT64_MIN, INT64_MAX), 2);
		CHECK_OK(cl_store_purge(s, INT64_MAX, 1, &deleted));
		CHECK_EQ_INT(deleted, 2);
	}
	cl_store_close(s);
	check_indexes(dir, 0, 0, 0);
	test_rmdir(dir);
}


/* ---- many people at once ------------------------------------------------- */

struct many_seen {
	size_t n;
	size_t span[4096];
	struct cl_visit v[4096];
	size_t stop_after;   /* > 0: answer 1 after this many */
};

static int many_fn(void *ctx, size_t span, const struct cl_visit *v)
{
	struct many_seen *m = ctx;

	if (m->n < 4096) {
		m->span[m->n] = span;
		m->v[m->n] = *v;
	}
	m->n++;
	return m->stop_after && m->n >= m->stop_after ? 1 : 0;
}

/* What visits_at reported, against a level table: bad counts visits of
 * people at levels 1..max (which a skip should have left out). */
struct skip_check {
	const uint8_t *level;
	uint8_t max;
	int64_t seen, bad, at_levels_1_2;
};

static int skip_check_fn(void *ctx, const struct cl_visit *v)
{
	struct skip_check *sc = ctx;
	uint8_t l = v->person < 300 ? sc->level[v->person] : 0;

	sc->seen++;
	if (l && l <= sc->max)
		sc->bad++;
	if (l == 1 || l == 2)
		sc->at_levels_1_2++;
	return 0;
}

static uint64_t many_rng = 1;

static uint32_t many_rand(uint32_t n)
{
	many_rng = many_rng * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (uint32_t)(many_rng >> 33) % n;
}

/* cl_reader_visits_of_many gives, for every span, exactly the visits
 * cl_reader_visits_of gives, in the same order; days come in order; the
 * spans must be sorted; stop and errors from the callback end it. */
static void test_visits_of_many(void)
{
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g;
	struct as_record recs[100];
	struct cl_ingest_result res;
	struct cl_reader *r = NULL;
	uint32_t person_of[121];
	static struct many_seen m;
	uint64_t seq = 1;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	/* 120 people; about half of them visit on each of 6 days, some
	 * twice. */
	for (int day = 0; day < 6; day++) {
		size_t n = 0;

		for (unsigned p = 1; p <= 120; p++) {
			if (many_rand(2))
				continue;
			for (unsigned k = 0; k <= many_rand(2) && n < 100; k++)
				make_rec(&recs[n++], seq++, p,
					 T0 + (int64_t)day * 86400 + many_rand(80000), 0, p);
			if (n == 100) {
				CHECK_OK(ingest1(s, &g, recs, n, T0, &res));
				n = 0;
			}
		}
		if (n)
			CHECK_OK(ingest1(s, &g, recs, n, T0, &res));
	}
	if (!CHECK_OK(cl_reader_begin(s, &r)))
		goto out;
	for (unsigned p = 1; p <= 120; p++) {
		uint8_t pid[AS_PID_LEN];

		make_pid(pid, p);
		person_of[p] = 0;
		if (cl_reader_person(r, pid, &person_of[p]) != 0)
			person_of[p] = 200 + p; /* never visited: a number with no key */
	}
	for (int round = 0; round < 200; round++) {
		struct cl_reader_span spans[64];
		size_t n = 1 + many_rand(64), at = 0;
		uint32_t persons[64];

		/* Sorted person numbers, repeats allowed, some without visits. */
		for (size_t i = 0; i < n; i++)
			persons[i] = person_of[1 + many_rand(120)];
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && persons[j - 1] > persons[j]; j--) {
				uint32_t x = persons[j];

				persons[j] = persons[j - 1];
				persons[j - 1] = x;
			}
		for (size_t i = 0; i < n; i++) {
			int64_t a = T0 - 86400 + (int64_t)many_rand(8 * 86400);
			int64_t b = a + (int64_t)many_rand(4 * 86400) - 3600; /* some empty */

			spans[i] = (struct cl_reader_span){persons[i], a, b};
		}
		if (round % 50 == 7)
			spans[0] = (struct cl_reader_span){persons[0], INT64_MIN, INT64_MAX};
		m.n = 0;
		m.stop_after = 0;
		if (!CHECK_OK(cl_reader_visits_of_many(r, spans, n, many_fn, &m)))
			break;
		if (!CHECK(m.n <= 4096))
			break;
		/* Days never go back (within the same span-ordered day pass). */
		for (size_t i = 1; i < m.n && round % 50 != 7; i++)
			if (!CHECK(m.v[i].entry / 86400 >= m.v[i - 1].entry / 86400))
				break;
		/* Each span's visits are exactly its own query's, in order. */
		for (size_t i = 0; i < n; i++) {
			struct collect one = {.n = 0};
			size_t k = 0;

			CHECK_OK(cl_reader_visits_of(r, spans[i].person, spans[i].from, spans[i].to,
						     collect_fn, &one));
			for (size_t j = 0; j < m.n; j++) {
				if (m.span[j] != i)
					continue;
				if (!CHECK(k < one.n && m.v[j].vid == one.v[k].vid &&
					   m.v[j].entry == one.v[k].entry &&
					   m.v[j].person == spans[i].person))
					break;
				k++;
			}
			CHECK_EQ_INT(k, one.n);
			at += one.n;
		}
		CHECK_EQ_INT(m.n, at);
	}
	/* cl_reader_pid in increasing, decreasing and scattered order (the
	 * reader steps its cursor when asked in order), with numbers that
	 * have no person and cl_reader_person_limit moving the cursor. */
	for (int pass = 0; pass < 3; pass++) {
		for (unsigned k = 0; k < 130; k++) {
			unsigned p = pass == 0 ? k : pass == 1 ? 129 - k : (k * 37) % 130;
			uint8_t got[AS_PID_LEN], want[AS_PID_LEN];
			uint32_t limit;

			test_ctx("pass %d person %u", pass, p);
			if (p >= 1 && p <= 120 && person_of[p] < 200) {
				make_pid(want, p);
				CHECK_OK(cl_reader_pid(r, person_of[p], got));
				if (!CHECK_MEM(got, want, AS_PID_LEN))
					break;
			} else {
				CHECK_EQ_INT(cl_reader_pid(r, 500 + p, got), AS_E_NOT_FOUND);
			}
			if (k % 17 == 0) {
				CHECK_OK(cl_reader_person_limit(r, &limit));
				CHECK(limit > 1 && limit <= 121);
			}
		}
	}
	test_ctx_clear();
	/* cl_reader_skip_people: visits_at leaves out the people at levels
	 * 1..max, exactly, and reports everyone again once reset. */
	{
		static uint8_t level[300];
		struct ordered_count all = {INT64_MIN, 0, 1}, kept = {INT64_MIN, 0, 1};
		struct skip_check sc = {level, 2, 0, 0, 0};
		int64_t lo = T0 + 86400, hi = T0 + 3 * 86400;

		for (unsigned p = 1; p <= 120; p++)
			if (person_of[p] < 200)
				level[person_of[p]] = (uint8_t)(p % 4); /* 0 .. 3 */
		CHECK_OK(cl_reader_visits_at(r, 7, lo, hi, ordered_count_fn, &all));
		cl_reader_skip_people(r, level, sizeof level, 2);
		CHECK_OK(cl_reader_visits_at(r, 7, lo, hi, ordered_count_fn, &kept));
		CHECK_OK(cl_reader_visits_at(r, 7, lo, hi, skip_check_fn, &sc));
		CHECK_EQ_INT(sc.bad, 0);
		CHECK(kept.ordered && kept.n == sc.seen && kept.n > 0 && kept.n < all.n);
		cl_reader_skip_people(r, NULL, 0, 0);
		sc = (struct skip_check){level, 0, 0, 0, 0};
		CHECK_OK(cl_reader_visits_at(r, 7, lo, hi, skip_check_fn, &sc));
		CHECK_EQ_INT(sc.seen, all.n);
		/* Without the skip: the levels 1 and 2 make up the difference. */
		{
			int64_t skipped = 0;
			struct skip_check count12 = {level, 0, 0, 0, 0};

			CHECK_OK(cl_reader_visits_at(r, 7, lo, hi, skip_check_fn, &count12));
			skipped = count12.at_levels_1_2;
			CHECK_EQ_INT(all.n - kept.n, skipped);
		}
	}
	/* Unsorted spans are refused; a stop ends the walk early. */
	{
		struct cl_reader_span two[2] = {{person_of[2], T0, T0 + 6 * 86400},
						{person_of[1], T0, T0 + 6 * 86400}};

		if (two[0].person < two[1].person) {
			struct cl_reader_span x = two[0];

			two[0] = two[1];
			two[1] = x;
		}
		m.n = 0;
		CHECK_EQ_INT(cl_reader_visits_of_many(r, two, 2, many_fn, &m), AS_E_FIELD);
		CHECK_EQ_INT(m.n, 0);
		{
			struct cl_reader_span x = two[0];

			two[0] = two[1];
			two[1] = x;
		}
		m.n = 0;
		m.stop_after = 1;
		CHECK_OK(cl_reader_visits_of_many(r, two, 2, many_fn, &m));
		CHECK_EQ_INT(m.n, 1);
	}
out:
	cl_reader_end(r);
	cl_store_close(s);
	test_rmdir(dir);
}

/* ---- capsules, unattributed visits --------------------------------------- */

static void test_capsules(void)
{
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g;
	struct as_record recs[4];
	struct cl_ingest_result res;
	struct cl_store_stats st;
	uint8_t pid[AS_PID_LEN], cap[AS_CAPSULE_LEN], want[AS_CAPSULE_LEN];
	uint64_t deleted;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	make_rec(&recs[0], 1, 1, T0, 0, 10);
	make_rec(&recs[1], 2, 2, T0, 0, 20);
	make_rec(&recs[2], 3, 1, T0 + DAY, 0, 11); /* person 1, new capsule */
	CHECK_OK(ingest1(s, &g, recs, 3, T0, &res));
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.people, 2);
	make_pid(pid, 1);
	CHECK_OK(cl_store_capsule(s, pid, cap));
	CHECK_MEM(cap, recs[2].capsule, AS_CAPSULE_LEN);
	/* A later batch replaces it again; the same capsule changes nothing. */
	make_rec(&recs[0], 4, 1, T0 + 2 * DAY, 0, 12);
	make_rec(&recs[1], 5, 1, T0 + 2 * DAY, 0, 12);
	CHECK_OK(ingest1(s, &g, recs, 2, T0, &res));
	memcpy(want, recs[0].capsule, AS_CAPSULE_LEN);
	CHECK_OK(cl_store_capsule(s, pid, cap));
	CHECK_MEM(cap, want, AS_CAPSULE_LEN);
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.people, 2);
	make_pid(pid, 3);
	CHECK_RC(cl_store_capsule(s, pid, cap), AS_E_NOT_FOUND);

	/* Purging person 2's only visit removes the capsule; person 1 keeps
	 * theirs while a visit is left. */
	CHECK_OK(cl_store_purge(s, T0 + DAY, 1, &deleted));
	CHECK_EQ_INT(deleted, 2);
	make_pid(pid, 2);
	CHECK_RC(cl_store_capsule(s, pid, cap), AS_E_NOT_FOUND);
	make_pid(pid, 1);
	CHECK_OK(cl_store_capsule(s, pid, cap));
	CHECK_MEM(cap, want, AS_CAPSULE_LEN);
	CHECK_OK(cl_store_purge(s, T0 + 2 * DAY, 1, &deleted));
	CHECK_EQ_INT(deleted, 1);
	CHECK_OK(cl_store_capsule(s, pid, cap));
	CHECK_OK(cl_store_purge(s, T0 + 2 * DAY + 1, 1, &deleted));
	CHECK_EQ_INT(deleted, 2);
	CHECK_RC(cl_store_capsule(s, pid, cap), AS_E_NOT_FOUND);
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.people, 0);
	CHECK_EQ_INT(st.visits, 0);
	s = recheck(s, dir, 0, 0, 0);
	if (!s) {
		test_rmdir(dir);
		return;
	}
	/* A purged person who comes back is a person again, found by pid. */
	make_rec(&recs[0], 6, 1, T0 + 3 * DAY, 0, 13);
	CHECK_OK(ingest1(s, &g, recs, 1, T0, &res));
	CHECK_OK(cl_store_capsule(s, pid, cap));
	CHECK_MEM(cap, recs[0].capsule, AS_CAPSULE_LEN);
	{
		struct collect c = {.n = 0};

		CHECK_OK(cl_store_visits_at(s, 7, INT64_MIN, INT64_MAX, collect_fn, &c));
		CHECK(c.n == 1 && memcmp(c.v[0].pid, pid, AS_PID_LEN) == 0);
	}
	CHECK_EQ_INT(count_of(s, 1, INT64_MIN, INT64_MAX), 1);
	cl_store_close(s);
	check_indexes(dir, 1, 1, 1);
	test_rmdir(dir);
}

/* The capsule person 1 has now: want's tag, and paper holding `paper`
 * entries (closes and reopens the store). */
static struct cl_store *check_capsule(struct cl_store *s, const char *dir, unsigned tag,
				      long long paper)
{
	uint8_t pid[AS_PID_LEN], cap[AS_CAPSULE_LEN], want[AS_CAPSULE_LEN];

	make_pid(pid, 1);
	test_fill(want, AS_CAPSULE_LEN, 5000 + tag);
	CHECK_OK(cl_store_capsule(s, pid, cap));
	CHECK_MEM(cap, want, AS_CAPSULE_LEN);
	cl_store_close(s);
	CHECK_EQ_INT(db_entries(dir, "paper"), paper);
	CHECK_EQ_INT(people_check(dir), 0);
	return open_store(dir, MAP_TEST, 0);
}

/* Paper entries bring a fresh capsule each time: it is the person's latest
 * capsule (kept in paper) until a visit brings another; the same paper
 * capsule again changes nothing; a pass with the stored capsule takes the
 * paper one's place, a pass with a new one replaces the stored one; the
 * latest of a transaction wins; the purge takes paper entries with their
 * person. */
static void test_paper_capsules(void)
{
	static const struct {
		unsigned tags[2];       /* capsule tags of one batch; 0: none */
		uint8_t kinds[2];
		unsigned want;          /* the capsule afterwards */
		long long paper;        /* paper entries afterwards */
	} steps[] = {
		{{10, 0}, {AS_REC_PASS, 0}, 10, 0},
		{{20, 0}, {AS_REC_MANUAL, 0}, 20, 1},
		{{20, 0}, {AS_REC_MANUAL, 0}, 20, 1},
		{{10, 0}, {AS_REC_CARD, 0}, 10, 0},
		{{21, 10}, {AS_REC_MANUAL, AS_REC_PASS}, 10, 0},
		{{10, 22}, {AS_REC_PASS, AS_REC_MANUAL}, 22, 1},
		{{23, 0}, {AS_REC_MANUAL, 0}, 23, 1},
		{{11, 0}, {AS_REC_PASS, 0}, 11, 0},
		{{24, 0}, {AS_REC_MANUAL, 0}, 24, 1},
		{{11, 0}, {AS_REC_PASS, 0}, 11, 0},
		{{25, 0}, {AS_REC_MANUAL, 0}, 25, 1},
	};
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g;
	struct as_record recs[2];
	struct cl_ingest_result res;
	uint8_t pid[AS_PID_LEN], cap[AS_CAPSULE_LEN], want[AS_CAPSULE_LEN];
	uint64_t seq = 1, deleted;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0] && s; i++) {
		size_t n = 0;

		test_ctx("step %zu", i);
		for (; n < 2 && steps[i].tags[n]; n++) {
			make_rec(&recs[n], seq, 1, T0 + (int64_t)seq * 600, 0, steps[i].tags[n]);
			recs[n].kind = steps[i].kinds[n];
			seq++;
		}
		CHECK_OK(ingest1(s, &g, recs, n, T0, &res));
		CHECK_EQ_INT(res.stored, n);
		s = check_capsule(s, dir, steps[i].want, steps[i].paper);
	}
	test_ctx_clear();
	if (!s) {
		test_rmdir(dir);
		return;
	}
	/* A new person whose first visit is a paper entry: that capsule is
	 * the stored one, nothing in paper. */
	make_rec(&recs[0], seq++, 2, T0 + DAY, 0, 30);
	recs[0].kind = AS_REC_MANUAL;
	CHECK_OK(ingest1(s, &g, recs, 1, T0, &res));
	make_pid(pid, 2);
	test_fill(want, AS_CAPSULE_LEN, 5000 + 30);
	CHECK_OK(cl_store_capsule(s, pid, cap));
	CHECK_MEM(cap, want, AS_CAPSULE_LEN);
	cl_store_close(s);
	CHECK_EQ_INT(db_entries(dir, "paper"), 1);
	check_indexes(dir, (long long)seq - 1, (long long)seq - 1, 2);
	s = open_store(dir, MAP_TEST, 0);
	if (s) {
		/* Person 1's visits all go (person 2's on day 1 stays): so does
		 * the paper entry. */
		CHECK_OK(cl_store_purge(s, T0 + DAY, 1, &deleted));
		CHECK_EQ_INT(deleted, seq - 2);
		make_pid(pid, 1);
		CHECK_RC(cl_store_capsule(s, pid, cap), AS_E_NOT_FOUND);
		cl_store_close(s);
	}
	CHECK_EQ_INT(db_entries(dir, "paper"), 0);
	check_indexes(dir, 1, 1, 1);
	test_rmdir(dir);
}

/* The purge's people phase, in slices of 1, 2 and 5 people: a person goes
 * exactly when no visit is left, whether the visits left are on the
 * horizon's day, days later or after a gap of days; people of a later
 * slice and of days after the last purged one are found too. */
static void test_purge_people(void)
{
	enum { PEOPLE = 23 };
	/* People slices are an eighth of max: 1, 1, 1, 2 and 5 people. */
	const size_t slices[] = {1, 2, 5, 16, 40};

	for (size_t t = 0; t < sizeof slices / sizeof slices[0]; t++) {
		char dir[64];
		struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
		struct cl_gateway g;
		static struct as_record recs[4 * PEOPLE];
		struct cl_ingest_result res;
		struct cl_store_stats st;
		const int64_t horizon = T0 + 5 * DAY + 3600;
		uint64_t deleted;
		size_t n = 0;
		long long left = 0, alive = 0;

		test_ctx("slice %zu", slices[t]);
		if (!s) {
			test_rmdir(dir);
			continue;
		}
		enroll(s, 1, 7, &g);
		/* Person p's visits, by p % 5: day 1 only; days 1 and 9; day 9
		 * only; day 1 and day 5 after the horizon; day 5 before it.
		 * Every third person's latest visit is a paper entry. */
		for (unsigned p = 0; p < PEOPLE; p++) {
			static const int64_t when[5][2] = {
				{DAY + 100, -1},     {DAY + 200, 9 * DAY},
				{9 * DAY + 50, -1},  {DAY + 300, 5 * DAY + 7200},
				{5 * DAY + 60, -1},
			};

			for (int k = 0; k < 2; k++) {
				int64_t e = when[p % 5][k];

				if (e < 0)
					continue;
				make_rec(&recs[n], 0, p, T0 + e, 0, p);
				if (p % 3 == 0 && (k == 1 || when[p % 5][1] < 0)) {
					recs[n].kind = AS_REC_MANUAL;
					test_fill(recs[n].capsule, AS_CAPSULE_LEN, 9000 + p);
				}
				if (T0 + e >= horizon)
					left++;
				n++;
			}
			alive += p % 5 == 1 || p % 5 == 2 || p % 5 == 3;
		}
		for (size_t i = 0; i < n; i++)
			recs[i].seq = i + 1;
		CHECK_OK(ingest1(s, &g, recs, n, T0, &res));
		CHECK_EQ_INT(res.stored, n);
		CHECK_OK(cl_store_purge(s, horizon, slices[t], &deleted));
		CHECK_EQ_INT(deleted, (long long)n - left);
		CHECK_OK(cl_store_stats(s, &st));
		CHECK_EQ_INT(st.people, alive);
		for (unsigned p = 0; p < PEOPLE; p++) {
			uint8_t pid[AS_PID_LEN], cap[AS_CAPSULE_LEN], want[AS_CAPSULE_LEN];
			int lives = p % 5 == 1 || p % 5 == 2 || p % 5 == 3;

			make_pid(pid, p);
			test_fill(want, AS_CAPSULE_LEN, p % 3 == 0 ? 9000 + p : 5000 + p);
			if (!CHECK_RC(cl_store_capsule(s, pid, cap), lives ? 0 : AS_E_NOT_FOUND))
				break;
			if (lives && !CHECK_MEM(cap, want, AS_CAPSULE_LEN))
				break;
		}
		cl_store_close(s);
		check_indexes(dir, left, left, alive);
		test_rmdir(dir);
	}
	test_ctx_clear();
}

/* Transactions of 10 batches of 512 records by 300 people, capsules
 * changing along the way (every fifth record a paper entry with a fresh
 * one): the latest capsule of each person wins, within a batch, across
 * batches of one transaction and across transactions. */
static void test_big_transaction(void)
{
	enum { BATCHES = 10, PER = 512, PEOPLE = 300, ROUNDS = 3 };
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g;
	static struct as_record recs[PER];
	static unsigned last_tag[PEOPLE];
	static int visits_of_person[PEOPLE];
	struct cl_ingest_result res;
	struct cl_store_stats st;
	struct cl_ingest *in;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	for (int round = 0; round < ROUNDS; round++) {
		if (!CHECK_OK(cl_store_ingest_begin(s, &in))) {
			cl_store_close(s);
			test_rmdir(dir);
			return;
		}
		for (int b = 0; b < BATCHES; b++) {
			for (int k = 0; k < PER; k++) {
				uint64_t seq = (uint64_t)((round * BATCHES + b) * PER + k + 1);
				unsigned person = (unsigned)((seq * 7919 + (uint64_t)round) % PEOPLE);
				unsigned tag = (unsigned)(seq % 5 == 0 ? 100000 + seq : person);

				make_rec(&recs[k], seq, person, T0 + (int64_t)seq * 30, 0, tag);
				if (seq % 5 == 0)
					recs[k].kind = AS_REC_MANUAL;
				last_tag[person] = tag;
				visits_of_person[person]++;
			}
			CHECK_OK(cl_store_ingest_batch(in, g.gw_id, recs, NULL, PER, T0, T0, &res));
			CHECK_EQ_INT(res.stored, PER);
		}
		CHECK_OK(cl_store_ingest_commit(in));
	}
	/* Then a pass with the credential's capsule by every third person
	 * only: the paper entries of the others stay, between theirs. */
	for (unsigned p = 0; p < PEOPLE; p += 3) {
		uint64_t seq = ROUNDS * BATCHES * PER + p / 3 + 1;

		make_rec(&recs[p / 3], seq, p, T0 + (int64_t)seq * 30, 0, p);
		last_tag[p] = p;
		visits_of_person[p]++;
	}
	CHECK_OK(ingest1(s, &g, recs, PEOPLE / 3, T0, &res));
	CHECK_EQ_INT(res.stored, PEOPLE / 3);
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.visits, ROUNDS * BATCHES * PER + PEOPLE / 3);
	CHECK_EQ_INT(st.people, PEOPLE);
	for (unsigned p = 0; p < PEOPLE; p++) {
		uint8_t pid[AS_PID_LEN], cap[AS_CAPSULE_LEN], want[AS_CAPSULE_LEN];

		test_ctx("person %u", p);
		make_pid(pid, p);
		test_fill(want, AS_CAPSULE_LEN, 5000 + last_tag[p]);
		CHECK_OK(cl_store_capsule(s, pid, cap));
		if (!CHECK_MEM(cap, want, AS_CAPSULE_LEN))
			break;
		if (!CHECK_EQ_INT(count_of(s, p, INT64_MIN, INT64_MAX), visits_of_person[p]))
			break;
	}
	test_ctx_clear();
	CHECK_EQ_INT(count_at(s, 7, T0, T0 + 30 * 100), 100);
	/* Ranges starting and ending anywhere in the venue's pages of
	 * entries (the visit of seq N enters at T0 + 30 N, over five days):
	 * exactly the visits inside, in entry order. */
	for (int64_t k = 0, total = ROUNDS * BATCHES * PER + PEOPLE / 3; k < 300; k++) {
		int64_t a = (k * 7919 * 30 + k) % (total * 30 + 600) - 300;
		int64_t b = a + (k * 104729) % 90000;
		int64_t lo = a < 30 ? 1 : (a + 29) / 30, hi = b / 30 < total ? b / 30 : total;
		struct ordered_count oc = {INT64_MIN, 0, 1};

		test_ctx("range %lld..%lld", (long long)a, (long long)b);
		CHECK_OK(cl_store_visits_at(s, 7, T0 + a, T0 + b, ordered_count_fn, &oc));
		if (!CHECK_EQ_INT(oc.n, hi >= lo ? hi - lo + 1 : 0) || !CHECK(oc.ordered))
			break;
	}
	test_ctx_clear();
	cl_store_close(s);
	check_indexes(dir, ROUNDS * BATCHES * PER + PEOPLE / 3, ROUNDS * BATCHES * PER + PEOPLE / 3,
		      PEOPLE);
	CHECK(db_entries(dir, "paper") > 0);
	test_rmdir(dir);
}

/* One pass scanned thousands of times in a day (a test wallet, a card
 * passed around, a scanner stuck on one code): every visit is stored, and
 * the person's visits of that day do not stop the ingest of anyone else's. */
static void test_busy_person(void)
{
	enum { PER = 500, BATCHES = 10 };
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	static struct as_record recs[PER];
	struct cl_ingest_result res;
	struct cl_gateway g;
	uint64_t seq = 0;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	for (int b = 0; b < BATCHES; b++) {
		int rc;

		for (int k = 0; k < PER; k++) {
			seq++;
			make_rec(&recs[k], seq, 1, T0 + (int64_t)seq, 0, 1);
		}
		test_ctx("batch %d", b);
		rc = ingest1(s, &g, recs, PER, T0, &res);
		if (!CHECK_OK(rc)) {
			fprintf(stderr, "  %s\n", cl_store_last_error());
			break;
		}
		CHECK_EQ_INT(res.stored, PER);
	}
	test_ctx_clear();
	CHECK_EQ_INT(count_of(s, 1, INT64_MIN, INT64_MAX), PER * BATCHES);
	/* Someone else's visit the same day, and the busy person's next. */
	make_rec(&recs[0], seq + 1, 2, T0 + 1, 0, 2);
	make_rec(&recs[1], seq + 2, 1, T0 + 2, 0, 1);
	CHECK_OK(ingest1(s, &g, recs, 2, T0, &res));
	CHECK_EQ_INT(count_of(s, 2, INT64_MIN, INT64_MAX), 1);
	CHECK_EQ_INT(count_of(s, 1, INT64_MIN, INT64_MAX), PER * BATCHES + 1);
	cl_store_close(s);
	check_indexes(dir, PER * BATCHES + 2, PER * BATCHES + 2, 2);
	test_rmdir(dir);
}

/* A record whose pid the caller could not derive (all zero): stored and
 * found by venue, but not attributed to anyone. */
static void test_unattributed(void)
{
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g;
	struct as_record recs[3];
	uint8_t pids[3][AS_PID_LEN], zero[AS_PID_LEN] = {0};
	struct cl_ingest_result res;
	struct cl_store_stats st;
	struct cl_ingest *in;
	struct collect c = {.n = 0};
	uint64_t deleted;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	for (int i = 0; i < 3; i++) {
		make_rec(&recs[i], (uint64_t)i + 1, 1, T0 + i, 0, 1);
		memcpy(pids[i], recs[i].pid, AS_PID_LEN);
	}
	recs[1].kind = AS_REC_MANUAL;
	memset(recs[1].pid, 0, AS_PID_LEN);
	memset(pids[1], 0, AS_PID_LEN);
	CHECK_OK(cl_store_ingest_begin(s, &in));
	CHECK_OK(cl_store_ingest_batch(in, g.gw_id, recs, (const uint8_t (*)[AS_PID_LEN])pids, 3,
				       T0, T0, &res));
	CHECK_EQ_INT(res.stored, 3);
	CHECK_OK(cl_store_ingest_commit(in));
	CHECK_OK(cl_store_visits_at(s, 7, INT64_MIN, INT64_MAX, collect_fn, &c));
	CHECK_EQ_INT(c.n, 3);
	CHECK(c.n == 3 && memcmp(c.v[1].pid, zero, AS_PID_LEN) == 0 &&
	      c.v[1].kind == AS_REC_MANUAL);
	CHECK_EQ_INT(count_of(s, 1, INT64_MIN, INT64_MAX), 2);
	c.n = 0;
	CHECK_OK(cl_store_visits_of(s, zero, INT64_MIN, INT64_MAX, collect_fn, &c));
	CHECK_EQ_INT(c.n, 0);
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.people, 1);
	s = recheck(s, dir, 3, 2, 1);
	if (!s) {
		test_rmdir(dir);
		return;
	}
	CHECK_OK(cl_store_purge(s, INT64_MAX, 2, &deleted));
	CHECK_EQ_INT(deleted, 3);
	cl_store_close(s);
	check_indexes(dir, 0, 0, 0);
	test_rmdir(dir);
}

/* ---- purge ------------------------------------------------------------- */

/* Visits over 12 days from 4 gateways at 3 venues for 9 people; purge at
 * a horizon in the middle of a day, in slices of 7; then every query
 * agrees with a model, and every index has exactly the survivors. */
static void test_purge_exact(void)
{
	enum { GWS = 4, PER_GW = 60, PEOPLE = 9 };
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g[GWS], before[GWS], after;
	struct as_record recs[PER_GW];
	struct cl_ingest_result res;
	struct cl_store_stats st;
	struct cl_ingest *in;
	int64_t entries[GWS][PER_GW];
	const int64_t horizon = T0 + 5 * DAY + 3600 * 7 + 13;
	long long expect_deleted = 0, left = 0;
	long long left_at[4] = {0}, left_of[PEOPLE] = {0};
	uint64_t deleted = 0;
	int alive[PEOPLE] = {0}, people_left = 0;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	for (unsigned i = 0; i < GWS; i++)
		enroll(s, i, 1 + i % 3, &g[i]);
	CHECK_OK(cl_store_ingest_begin(s, &in));
	for (unsigned i = 0; i < GWS; i++) {
		for (int k = 0; k < PER_GW; k++) {
			/* 5 per day, pseudo-random order within the batch */
			int64_t e = T0 + (int64_t)((k * 7 + (int)i * 3) % PER_GW) * (12 * DAY / PER_GW) +
				    (k % 3) * 11;
			unsigned person = (i * 5 + (unsigned)k) % PEOPLE;

			make_rec(&recs[k], (uint64_t)k + 1, person, e, k % 4 ? 0 : e + 600, person);
			entries[i][k] = e;
			if (e < horizon) {
				expect_deleted++;
			} else {
				left++;
				left_at[1 + i % 3]++;
				left_of[person]++;
				alive[person] = 1;
			}
		}
		CHECK_OK(cl_store_ingest_batch(in, g[i].gw_id, recs, NULL, PER_GW, T0, T0, &res));
		CHECK_EQ_INT(res.stored, PER_GW);
	}
	CHECK_OK(cl_store_ingest_count_reject(in, "gap"));
	CHECK_OK(cl_store_ingest_commit(in));
	for (unsigned i = 0; i < GWS; i++)
		CHECK_OK(cl_store_get_gateway(s, g[i].gw_id, &before[i]));
	for (int p = 0; p < PEOPLE; p++)
		people_left += alive[p];
	CHECK(expect_deleted > 20 && left > 20);

	CHECK_OK(cl_store_purge(s, horizon, 7, &deleted));
	CHECK_EQ_INT(deleted, expect_deleted);
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.visits, left);
	CHECK_EQ_INT(st.people, people_left);
	CHECK_EQ_INT(st.rejects_total, 1);
	CHECK_EQ_INT(st.batches, GWS);
	for (uint32_t v = 1; v <= 3; v++) {
		struct collect c = {.n = 0};

		test_ctx("venue %u", (unsigned)v);
		CHECK_OK(cl_store_visits_at(s, v, INT64_MIN, INT64_MAX, collect_fn, &c));
		CHECK_EQ_INT(c.n, left_at[v]);
		CHECK(entries_ordered(&c));
		for (size_t k = 0; k < c.n && k < 256; k++)
			if (!CHECK(c.v[k].entry >= horizon))
				break;
		CHECK_EQ_INT(count_at(s, v, INT64_MIN, horizon - 1), 0);
	}
	for (unsigned p = 0; p < PEOPLE; p++) {
		uint8_t pid[AS_PID_LEN], cap[AS_CAPSULE_LEN];

		test_ctx("person %u", p);
		CHECK_EQ_INT(count_of(s, p, INT64_MIN, INT64_MAX), left_of[p]);
		make_pid(pid, p);
		CHECK_RC(cl_store_capsule(s, pid, cap), alive[p] ? 0 : AS_E_NOT_FOUND);
	}
	test_ctx_clear();
	/* Registry and counters are kept; replays are still duplicates. */
	for (unsigned i = 0; i < GWS; i++) {
		CHECK_OK(cl_store_get_gateway(s, g[i].gw_id, &after));
		CHECK(memcmp(&before[i], &after, sizeof after) == 0);
	}
	for (int k = 0; k < PER_GW; k++)
		make_rec(&recs[k], (uint64_t)k + 1, 0, entries[0][k], 0, 0);
	CHECK_OK(ingest1(s, &g[0], recs, PER_GW, T0, &res));
	CHECK_EQ_INT(res.stored, 0);
	CHECK_EQ_INT(res.duplicates, PER_GW);
	/* Nothing more to do at the same horizon; indexes agree exactly. */
	CHECK_OK(cl_store_purge(s, horizon, 7, &deleted));
	CHECK_EQ_INT(deleted, 0);
	cl_store_close(s);
	{
		long long attributed = left;

		check_indexes(dir, left, attributed, people_left);
	}
	s = open_store(dir, MAP_TEST, 0);
	if (s) {
		CHECK_OK(cl_store_purge(s, INT64_MAX, 1000, &deleted));
		CHECK_EQ_INT(deleted, left);
		cl_store_close(s);
	}
	check_indexes(dir, 0, 0, 0);
	test_rmdir(dir);
}

/*
 * Purge of a window [horizon, limit]: visits dated after the limit (now +
 * skew) go like those before the horizon: a visit in 2076, one after 2106
 * (clamped to the last index day), one on a day between, and entries after
 * the limit on the limit's own day (trailing a kept entry in the same
 * venue key and the same by_pid value); app check-ins in the future go
 * with their app entries; people left with none lose their capsules.  A
 * purge with no limit keeps them; bounds are inclusive; counts are exact
 * after slices of one.
 */
static void test_purge_future(void)
{
	const int64_t now = T0 + 10 * DAY + 43200, limit = now + 600, horizon = now - 5 * DAY;
	const int64_t y2076 = INT64_C(3345062400) + 3600; /* 2076-01-01T01:00Z */
	const struct {
		unsigned person;
		int64_t entry, exit;
		int kept;
	} visits[] = {
		{1, T0 + DAY, 0, 0},                /* before the horizon's day */
		{1, horizon - 1, 0, 0},            /* the horizon's day, before it */
		{2, horizon, 0, 1},
		{2, now - DAY, now - DAY + 900, 1},
		{2, limit, 0, 1},
		{2, limit + 1, 0, 0},              /* the limit's day, after it */
		{4, now - 7200, 0, 1},
		{4, now + 3600, 0, 0},
		{3, y2076, y2076 + 1800, 0},       /* the issue's 2076 visit */
		{6, INT64_C(5000000000), 0, 0},    /* 2128: the clamped last day */
		{1, now + 2 * DAY, 0, 0},          /* a day after the limit's */
	};
	enum { N = sizeof visits / sizeof visits[0] };
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g;
	struct as_record recs[N];
	struct cl_ingest_result res;
	struct cl_store_stats st;
	struct cl_app_visit a[3];
	struct cl_ingest *in;
	uint64_t deleted = 0;
	int out = 0;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	for (size_t i = 0; i < N; i++)
		make_rec(&recs[i], i + 1, visits[i].person, visits[i].entry, visits[i].exit,
			 visits[i].person);
	memset(a, 0, sizeof a);
	for (unsigned i = 0; i < 3; i++) {
		test_fill(a[i].checkin_id, CL_APP_ID_LEN, 60 + i);
		test_fill(a[i].replay_key, CL_APP_ID_LEN, 70 + i);
		test_fill(a[i].capsule, AS_CAPSULE_LEN, 5005);
		make_pid(a[i].pid, 5);
		a[i].venue_id = 8;
	}
	a[0].entry = now + 2 * DAY;         /* future: goes, with its 'i' and 'r' */
	a[1].entry = now - 3600;            /* kept, person 2's */
	make_pid(a[1].pid, 2);
	test_fill(a[1].capsule, AS_CAPSULE_LEN, 5002);
	a[2].entry = y2076;                 /* a poster check-in in 2076 */
	memset(a[2].replay_key, 0, CL_APP_ID_LEN);
	CHECK_OK(cl_store_ingest_begin(s, &in));
	CHECK_OK(cl_store_ingest_batch(in, g.gw_id, recs, NULL, N, now, now, &res));
	CHECK_EQ_INT(res.stored, N);
	for (unsigned i = 0; i < 3; i++) {
		CHECK_OK(cl_store_ingest_app(in, &a[i], &out));
		CHECK_EQ_INT(out, CL_APP_STORED);
	}
	CHECK_OK(cl_store_ingest_commit(in));
	CHECK_EQ_INT(count_of(s, 3, y2076, y2076), 1); /* traced before the purge */
	s = recheck(s, dir, N + 3, N + 3, 6);
	if (!s) {
		test_rmdir(dir);
		return;
	}
	CHECK_EQ_INT(db_entries(dir, "app"), 5);

	/* No limit: only the two before the horizon go. */
	CHECK_OK(cl_store_purge(s, horizon, 1, &deleted));
	CHECK_EQ_INT(deleted, 2);
	s = recheck(s, dir, N + 1, N + 1, 6);
	if (!s) {
		test_rmdir(dir);
		return;
	}

	/* The window: everything after the limit goes too, in slices of one. */
	CHECK_OK(cl_store_purge_outside(s, horizon, limit, 1, &deleted));
	CHECK_EQ_INT(deleted, N + 3 - 2 - 5);
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.visits, 5);
	CHECK_EQ_INT(st.people, 2);
	CHECK_EQ_INT(count_at(s, 7, INT64_MIN, INT64_MAX), 4);
	CHECK_EQ_INT(count_at(s, 7, limit, limit), 1);
	CHECK_EQ_INT(count_at(s, 7, horizon, horizon), 1);
	CHECK_EQ_INT(count_at(s, 7, limit + 1, INT64_MAX), 0);
	CHECK_EQ_INT(count_at(s, 8, INT64_MIN, INT64_MAX), 1);
	CHECK_EQ_INT(count_of(s, 2, INT64_MIN, INT64_MAX), 4);
	CHECK_EQ_INT(count_of(s, 4, INT64_MIN, INT64_MAX), 1);
	for (unsigned p = 1; p <= 6; p++) {
		uint8_t pid[AS_PID_LEN], cap[AS_CAPSULE_LEN];
		int alive = p == 2 || p == 4;

		test_ctx("person %u", p);
		if (!alive)
			CHECK_EQ_INT(count_of(s, p, INT64_MIN, INT64_MAX), 0);
		make_pid(pid, p);
		CHECK_RC(cl_store_capsule(s, pid, cap), alive ? 0 : AS_E_NOT_FOUND);
	}
	test_ctx_clear();
	/* Nothing more at the same window. */
	CHECK_OK(cl_store_purge_outside(s, horizon, limit, 1, &deleted));
	CHECK_EQ_INT(deleted, 0);
	cl_store_close(s);
	check_indexes(dir, 5, 5, 2);
	CHECK_EQ_INT(db_entries(dir, "app"), 2); /* a[1]'s 'i' and 'r' */
	test_rmdir(dir);
}

/* ---- opening ------------------------------------------------------------ */

/* What a read-only handle sees: 0 if it is `visits` visits and a gateway
 * through `through`, else a nonzero bit mask.  Runs in a child: no CHECKs. */
static int readonly_view(struct cl_store *ro, const struct cl_gateway *g, uint64_t visits,
			 uint64_t through)
{
	struct cl_store_stats st;
	struct cl_gateway got;
	struct collect c = {.n = 0};
	int bad = 0;

	if (cl_store_stats(ro, &st) || st.visits != visits)
		bad |= 1;
	if (cl_store_get_gateway(ro, g->gw_id, &got) || got.through_seq != through ||
	    cl_store_visits_at(ro, 7, INT64_MIN, INT64_MAX, collect_fn, &c) || c.n != visits)
		bad |= 2;
	return bad;
}

/* App check-ins: stored with kind APP beside scans, found by venue and by
 * person; the same check-in id again is a duplicate, a used replay key a
 * replay; a check-out sets the exit (queued in the same transaction or
 * stored before), again is a duplicate, of another person's or an unknown
 * check-in is unknown, before the entry refused; the venue's longest visit
 * follows; purge removes app visits and their entries. */
static void test_app_checkins(void)
{
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0);
	struct cl_gateway g;
	struct cl_app_visit a, b;
	struct as_record rec;
	struct cl_ingest_result res;
	struct cl_ingest *in;
	struct cl_venue v;
	struct collect c = {.n = 0};
	uint8_t unknown[CL_APP_ID_LEN], other_pid[AS_PID_LEN];
	uint64_t deleted = 0;
	int out = 0;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	memset(&a, 0, sizeof a);
	test_fill(a.checkin_id, CL_APP_ID_LEN, 41);
	test_fill(a.replay_key, CL_APP_ID_LEN, 42);
	make_pid(a.pid, 3);
	test_fill(a.capsule, AS_CAPSULE_LEN, 5003);
	a.venue_id = 7;
	a.entry = T0 + 100;
	b = a;
	test_fill(b.checkin_id, CL_APP_ID_LEN, 43);
	memset(b.replay_key, 0, sizeof b.replay_key); /* a poster: no key */
	b.entry = T0 + 2 * DAY;
	test_fill(unknown, CL_APP_ID_LEN, 44);
	make_pid(other_pid, 4);

	CHECK_OK(cl_store_ingest_begin(s, &in));
	make_rec(&rec, 1, 3, T0, 0, 3);
	CHECK_OK(cl_store_ingest_batch(in, g.gw_id, &rec, NULL, 1, T0, T0, &res));
	CHECK_OK(cl_store_ingest_app(in, &a, &out));
	CHECK_EQ_INT(out, CL_APP_STORED);
	CHECK_OK(cl_store_ingest_app(in, &a, &out));
	CHECK_EQ_INT(out, CL_APP_DUPLICATE);
	{
		struct cl_app_visit r = a;

		test_fill(r.checkin_id, CL_APP_ID_LEN, 45);
		CHECK_OK(cl_store_ingest_app(in, &r, &out));
		CHECK_EQ_INT(out, CL_APP_REPLAY);
	}
	/* Check-out of the visit queued in this transaction. */
	CHECK_OK(cl_store_ingest_app_exit(in, a.checkin_id, a.pid, a.entry + 1800, &out));
	CHECK_EQ_INT(out, CL_APP_STORED);
	CHECK_EQ_INT(cl_store_ingest_app_exit(in, a.checkin_id, a.pid, a.entry - 1, &out),
		     AS_E_FIELD);
	CHECK_OK(cl_store_ingest_app_exit(in, a.checkin_id, other_pid, a.entry + 60, &out));
	CHECK_EQ_INT(out, CL_APP_UNKNOWN);
	CHECK_OK(cl_store_ingest_app(in, &b, &out));
	CHECK_EQ_INT(out, CL_APP_STORED);
	CHECK_OK(cl_store_ingest_commit(in));

	CHECK_OK(cl_store_visits_at(s, 7, T0, T0 + 3 * DAY, collect_fn, &c));
	CHECK_EQ_INT(c.n, 3);
	CHECK(c.n == 3 && c.v[0].kind == AS_REC_PASS && c.v[1].kind == AS_REC_APP &&
	      c.v[1].exit == a.entry + 1800 && c.v[2].kind == AS_REC_APP && c.v[2].exit == 0);
	CHECK(c.n == 3 && memcmp(c.v[1].pid, a.pid, AS_PID_LEN) == 0 && c.v[1].headcount == 1);
	CHECK_EQ_INT(count_of(s, 3, T0, T0 + 3 * DAY), 3);
	CHECK_OK(cl_store_get_venue(s, 7, &v));
	CHECK_EQ_INT(v.longest_visit, 1800);

	/* A later transaction: check-out of a stored visit, then again. */
	CHECK_OK(cl_store_ingest_begin(s, &in));
	CHECK_OK(cl_store_ingest_app_exit(in, b.checkin_id, b.pid, b.entry + 7200, &out));
	CHECK_EQ_INT(out, CL_APP_STORED);
	CHECK_OK(cl_store_ingest_app_exit(in, b.checkin_id, b.pid, b.entry + 7200, &out));
	CHECK_EQ_INT(out, CL_APP_DUPLICATE);
	CHECK_OK(cl_store_ingest_app_exit(in, unknown, b.pid, b.entry + 60, &out));
	CHECK_EQ_INT(out, CL_APP_UNKNOWN);
	CHECK_OK(cl_store_ingest_app(in, &a, &out));
	CHECK_EQ_INT(out, CL_APP_DUPLICATE);
	CHECK_OK(cl_store_ingest_commit(in));
	c.n = 0;
	CHECK_OK(cl_store_visits_at(s, 7, b.entry, b.entry, collect_fn, &c));
	CHECK(c.n == 1 && c.v[0].exit == b.entry + 7200);
	CHECK_OK(cl_store_get_venue(s, 7, &v));
	CHECK_EQ_INT(v.longest_visit, 7200);
	/* Re-enrolment keeps the longest visit. */
	enroll(s, 1, 7, &g);
	CHECK_OK(cl_store_get_venue(s, 7, &v));
	CHECK_EQ_INT(v.longest_visit, 7200);

	/* Purge the first day: the scan and the first app visit go, and their
	 * app entries with them, so the check-in id is new again. */
	CHECK_OK(cl_store_purge(s, T0 + DAY, 1, &deleted));
	CHECK_EQ_INT(deleted, 2);
	CHECK_EQ_INT(count_at(s, 7, INT64_MIN, INT64_MAX), 1);
	cl_store_close(s);
	CHECK_EQ_INT(db_entries(dir, "app"), 1); /* b's 'i' entry only */
	s = open_store(dir, MAP_TEST, 0);
	if (s) {
		CHECK_OK(cl_store_purge(s, T0 + 3 * DAY, 1, &deleted));
		CHECK_EQ_INT(deleted, 1);
		cl_store_close(s);
	}
	check_indexes(dir, 0, 0, 0);
	CHECK_EQ_INT(db_entries(dir, "app"), 0);
	test_rmdir(dir);
}


/* ---- journal chains ------------------------------------------------------ */

#define SIM_MAX (CL_CHAIN_POINTS + 16)

/* The retention the simulated cloud judges placeholders by. */
#define SIM_RETENTION (14 * 86400)

/* A gateway journal as the cloud sees it: records by seq, their digests
 * (placeholders' unsealed, as ingest hands them on) and the links after
 * them (links[0] the genesis). */
struct sim_journal {
	uint8_t id[AS_JOURNAL_ID_LEN];
	struct as_record recs[SIM_MAX];
	uint8_t digests[SIM_MAX][AS_CHAIN_LEN];
	uint8_t links[SIM_MAX + 1][AS_CHAIN_LEN];
	size_t n;
};

static void sim_init(struct sim_journal *j, unsigned tag)
{
	memset(j, 0, sizeof *j);
	test_fill(j->id, AS_JOURNAL_ID_LEN, 300 + tag);
}

/* Append a copy of r (any seq) to j. */
static void sim_append(struct sim_journal *j, const struct as_record *r)
{
	if (j->n == SIM_MAX)
		abort();
	j->recs[j->n] = *r;
	as_chain_record_digest(r, j->digests[j->n]);
	as_chain_link(j->links[j->n], j->digests[j->n], j->links[j->n + 1]);
	j->n++;
}

/* Send j's records from index i (n of them) as seqs first..: one chained
 * batch in its own transaction. */
static int sim_send(struct cl_store *s, const struct cl_gateway *g, struct sim_journal *j,
		    size_t i, size_t n, uint64_t first, struct cl_ingest_result *res)
{
	struct as_record recs[SIM_MAX];
	struct cl_chain_batch chain;
	struct cl_ingest *in;
	int rc;

	for (size_t k = 0; k < n; k++) {
		recs[k] = j->recs[i + k];
		recs[k].seq = first + k;
	}
	memcpy(chain.journal_id, j->id, AS_JOURNAL_ID_LEN);
	memcpy(chain.prev, j->links[i], AS_CHAIN_LEN);
	memcpy(chain.head, j->links[i + n], AS_CHAIN_LEN);
	chain.digests = (const uint8_t (*)[AS_CHAIN_LEN])&j->digests[i];
	chain.keep_from = T0 + 5 - SIM_RETENTION;
	chain.keep_to = T0 + 5 + 300;
	rc = cl_store_ingest_begin(s, &in);
	if (!CHECK_OK(rc))
		return rc;
	rc = cl_store_ingest_chained_batch(in, g->gw_id, &chain, recs, NULL, n, T0, T0 + 5, res);
	if (rc) {
		cl_store_ingest_abort(in);
		return rc;
	}
	return cl_store_ingest_commit(in);
}

struct event_list {
	struct cl_chain_event ev[16];
	size_t n;
};

static int collect_event(void *ctx, const struct cl_chain_event *ev)
{
	struct event_list *l = ctx;

	if (l->n < 16)
		l->ev[l->n++] = *ev;
	return 0;
}

static void check_result(const struct cl_ingest_result *res, uint32_t stored, uint32_t dups,
			 uint32_t reconciled, uint8_t event, uint8_t cause)
{
	CHECK_EQ_INT(res->stored, stored);
	CHECK_EQ_INT(res->duplicates, dups);
	CHECK_EQ_INT(res->reconciled, reconciled);
	CHECK_EQ_INT(res->chain_event, event);
	CHECK_EQ_INT(res->chain_cause, cause);
}

/* A placeholder the gateway made at its retention horizon, or of a record
 * dated in the future, continues the chain; a live record turned into one by an edit on disk (its seal the
 * true personal hash, so its digest still folds) is younger than the
 * horizon: a break, early-placeholder, at its seq. */
static void test_chain_placeholders(void)
{
	char dir[64];
	struct cl_store *s;
	struct cl_gateway g;
	static struct sim_journal j;
	struct cl_ingest_result res;
	struct cl_store_stats stats;
	struct as_record r;
	struct event_list l = {.n = 0};

	test_tmpdir(dir);
	s = open_store(dir, MAP_TEST, 0);
	if (!s)
		goto out;
	enroll(s, 1, 10, &g);
	sim_init(&j, 1);
	make_rec(&r, 1, 1, T0 - 60, 0, 1);
	sim_append(&j, &r);
	make_rec(&r, 2, 2, T0 + 5 - SIM_RETENTION - 3600, 0, 2); /* past the horizon */
	sim_append(&j, &r);
	make_rec(&r, 3, 3, T0 - 30, 0, 3);
	sim_append(&j, &r);
	make_rec(&r, 4, 4, T0 + 5 + 3600, 0, 4);                 /* dated in the future */
	sim_append(&j, &r);
	make_rec(&r, 5, 5, T0 - 20, 0, 5);                       /* hidden by an edit */
	sim_append(&j, &r);
	/* The journal's purge and the edit: same change to the record; the
	 * digest stays what the journal appended. */
	as_record_make_placeholder(&j.recs[1]);
	as_record_make_placeholder(&j.recs[3]);
	as_record_make_placeholder(&j.recs[4]);
	CHECK_OK(sim_send(s, &g, &j, 0, 4, 1, &res));
	check_result(&res, 2, 0, 0, CL_CHAIN_START, 0);
	CHECK_EQ_INT(res.expired, 2);
	CHECK_OK(sim_send(s, &g, &j, 4, 1, 5, &res));
	check_result(&res, 0, 0, 0, CL_CHAIN_BREAK, CL_BREAK_EARLY_PLACEHOLDER);
	CHECK_OK(cl_store_gateway_chain_events(s, g.gw_id, collect_event, &l));
	if (CHECK_EQ_INT(l.n, 2)) {
		CHECK_EQ_INT(l.ev[1].cause, CL_BREAK_EARLY_PLACEHOLDER);
		CHECK_EQ_INT(l.ev[1].at_seq, 5);
	}
	CHECK(strcmp(cl_chain_cause_name(CL_BREAK_EARLY_PLACEHOLDER), "early-placeholder") == 0);
	if (CHECK_OK(cl_store_stats(s, &stats)))
		CHECK_EQ_INT(stats.visits, 2);
	cl_store_close(s);
out:
	test_rmdir(dir);
}

static void test_chains(void)
{
	char dir[64];
	struct cl_store *s;
	struct cl_gateway g, h;
	static struct sim_journal j1, j2;
	struct cl_ingest_result res;
	struct cl_chain_state st;
	struct event_list l = {.n = 0};
	struct cl_store_stats stats;
	struct as_record r;

	test_tmpdir(dir);
	s = open_store(dir, MAP_TEST, 0);
	if (!s)
		goto out;
	enroll(s, 1, 10, &g);
	enroll(s, 2, 11, &h);
	sim_init(&j1, 1);
	for (uint64_t seq = 1; seq <= 12; seq++) {
		make_rec(&r, seq, (unsigned)seq, T0 + 60 * (int64_t)seq, 0, (unsigned)seq);
		sim_append(&j1, &r);
	}
	CHECK_RC(cl_store_gateway_chain(s, g.gw_id, &st), AS_E_NOT_FOUND);
	/* The first chained batch starts the chain; the next continues it. */
	CHECK_OK(sim_send(s, &g, &j1, 0, 5, 1, &res));
	check_result(&res, 5, 0, 0, CL_CHAIN_START, 0);
	CHECK_OK(sim_send(s, &g, &j1, 5, 5, 6, &res));
	check_result(&res, 5, 0, 0, 0, 0);
	/* A resend changes nothing; an overlapping one stores its new part. */
	CHECK_OK(sim_send(s, &g, &j1, 5, 5, 6, &res));
	check_result(&res, 0, 5, 0, 0, 0);
	CHECK_OK(sim_send(s, &g, &j1, 3, 9, 4, &res));
	check_result(&res, 2, 7, 0, 0, 0);
	if (CHECK_OK(cl_store_gateway_chain(s, g.gw_id, &st))) {
		CHECK_MEM(st.journal_id, j1.id, AS_JOURNAL_ID_LEN);
		CHECK_MEM(st.head, j1.links[12], AS_CHAIN_LEN);
		CHECK_EQ_INT(st.seq, 12);
		CHECK_EQ_INT(st.time, T0 + 5);
	}
	/* A backup of the journal taken after seq 5, restored: its records 6..8
	 * (stored already) and a new one, renumbered after the cloud's 12.  A
	 * fork at 5: the three are found by content, the new one stored. */
	{
		static struct sim_journal fork;

		fork = j1;
		fork.n = 8;
		make_rec(&r, 9, 40, T0 + 5000, 0, 40);
		sim_append(&fork, &r);
		CHECK_OK(sim_send(s, &g, &fork, 5, 4, 13, &res));
		check_result(&res, 1, 0, 3, CL_CHAIN_FORK, 0);
		/* The fork goes on: its next record continues it. */
		make_rec(&r, 10, 41, T0 + 5060, 0, 41);
		sim_append(&fork, &r);
		CHECK_OK(sim_send(s, &g, &fork, 9, 1, 17, &res));
		check_result(&res, 1, 0, 0, 0, 0);
	}
	/* The same person at the same second, but another record (another
	 * capsule): stored, not taken for the one already there. */
	sim_init(&j2, 2);
	make_rec(&r, 1, 6, T0 + 60 * 6, 0, 99);
	sim_append(&j2, &r);
	make_rec(&r, 2, 50, T0 + 9000, 0, 50);
	sim_append(&j2, &r);
	/* A new journal (the old one lost), renumbered after the cloud's 17. */
	CHECK_OK(sim_send(s, &g, &j2, 0, 2, 18, &res));
	check_result(&res, 2, 0, 0, CL_CHAIN_NEW_JOURNAL, 0);
	/* A batch that continues no link the cloud knows (a record removed
	 * before it), one of its records stored already: a break, reconciled. */
	make_rec(&r, 3, 51, T0 + 9060, 0, 51);
	sim_append(&j2, &r);                       /* never sent: "removed" */
	make_rec(&r, 4, 52, T0 + 9120, 0, 52);
	sim_append(&j2, &r);
	sim_append(&j2, &j1.recs[0]);              /* record 1 of the first journal again */
	CHECK_OK(sim_send(s, &g, &j2, 3, 2, 20, &res));
	check_result(&res, 1, 0, 1, CL_CHAIN_BREAK, CL_BREAK_UNLINKED);
	/* A record changed after the journal chained it: a break, stored. */
	make_rec(&r, 5, 53, T0 + 9180, 0, 53);
	sim_append(&j2, &r);
	j2.recs[5].headcount = 3;
	CHECK_OK(sim_send(s, &g, &j2, 5, 1, 22, &res));
	check_result(&res, 1, 0, 0, CL_CHAIN_BREAK, CL_BREAK_RECORD_CHANGED);
	/* A record left out of a batch: the digests do not fold to the head. */
	make_rec(&r, 6, 54, T0 + 9240, 0, 54);
	sim_append(&j2, &r);
	make_rec(&r, 7, 55, T0 + 9300, 0, 55);
	sim_append(&j2, &r);
	{
		struct cl_chain_batch chain;
		struct cl_ingest *in;

		memcpy(chain.journal_id, j2.id, AS_JOURNAL_ID_LEN);
		memcpy(chain.prev, j2.links[6], AS_CHAIN_LEN);
		memcpy(chain.head, j2.links[8], AS_CHAIN_LEN);
		chain.digests = (const uint8_t (*)[AS_CHAIN_LEN])&j2.digests[7];
		chain.keep_from = T0 + 5 - SIM_RETENTION;
		chain.keep_to = T0 + 5 + 300;
		r = j2.recs[7];
		r.seq = 23;
		if (CHECK_OK(cl_store_ingest_begin(s, &in))) {
			CHECK_OK(cl_store_ingest_chained_batch(in, g.gw_id, &chain, &r, NULL, 1, T0,
							       T0 + 5, &res));
			CHECK_OK(cl_store_ingest_commit(in));
		}
		check_result(&res, 1, 0, 0, CL_CHAIN_BREAK, CL_BREAK_HEAD_MISMATCH);
	}
	/* The events, in order. */
	CHECK_OK(cl_store_gateway_chain_events(s, g.gw_id, collect_event, &l));
	if (CHECK_EQ_INT(l.n, 6)) {
		static const uint8_t kinds[] = {CL_CHAIN_START, CL_CHAIN_FORK, CL_CHAIN_NEW_JOURNAL,
						CL_CHAIN_BREAK, CL_CHAIN_BREAK, CL_CHAIN_BREAK};
		for (size_t i = 0; i < 6; i++) {
			CHECK_EQ_INT(l.ev[i].n, i + 1);
			CHECK_EQ_INT(l.ev[i].kind, kinds[i]);
			CHECK_EQ_INT(l.ev[i].time, T0 + 5);
		}
		CHECK_MEM(l.ev[0].journal_id, j1.id, AS_JOURNAL_ID_LEN);
		CHECK_EQ_INT(l.ev[0].first_seq, 1);
		CHECK_EQ_INT(l.ev[0].last_seq, 5);
		CHECK_EQ_INT(l.ev[1].at_seq, 5);
		CHECK_EQ_INT(l.ev[1].first_seq, 13);
		CHECK_EQ_INT(l.ev[1].last_seq, 16);
		CHECK_EQ_INT(l.ev[1].reconciled, 3);
		CHECK_MEM(l.ev[2].journal_id, j2.id, AS_JOURNAL_ID_LEN);
		CHECK_EQ_INT(l.ev[3].cause, CL_BREAK_UNLINKED);
		CHECK_EQ_INT(l.ev[3].reconciled, 1);
		CHECK_EQ_INT(l.ev[4].cause, CL_BREAK_RECORD_CHANGED);
		CHECK_EQ_INT(l.ev[4].at_seq, 22);
		CHECK_EQ_INT(l.ev[5].cause, CL_BREAK_HEAD_MISMATCH);
		CHECK_EQ_INT(l.ev[5].first_seq, 23);
	}
	CHECK(strcmp(cl_chain_event_name(CL_CHAIN_FORK), "fork") == 0);
	CHECK(strcmp(cl_chain_cause_name(CL_BREAK_HEAD_MISMATCH), "head-mismatch") == 0);
	CHECK(strcmp(cl_chain_event_name(99), "unknown") == 0);
	/* Nothing stored twice: 12 + 2 (fork) + 2 (new journal) + 1 + 1 + 1. */
	if (CHECK_OK(cl_store_stats(s, &stats)))
		CHECK_EQ_INT(stats.visits, 19);
	/* A restored copy that went on scanning past the cloud's seq before it
	 * reached the cloud: its seqs 6..8 hold other records than the
	 * cloud's, so content decides below through_seq too. */
	{
		static struct sim_journal a, copy;
		struct cl_gateway k;

		enroll(s, 3, 12, &k);
		sim_init(&a, 3);
		for (uint64_t seq = 1; seq <= 8; seq++) {
			make_rec(&r, seq, 100 + (unsigned)seq, T0 + 60 * (int64_t)seq, 0, 100);
			sim_append(&a, &r);
		}
		CHECK_OK(sim_send(s, &k, &a, 0, 3, 1, &res));
		CHECK_OK(sim_send(s, &k, &a, 3, 5, 4, &res));      /* cloud: 1..8 */
		copy = a;
		copy.n = 5;                                        /* backup after 5 */
		for (uint64_t seq = 6; seq <= 9; seq++) {
			make_rec(&r, seq, 200 + (unsigned)seq, T0 + 7000 + (int64_t)seq, 0, 200);
			sim_append(&copy, &r);
		}
		CHECK_OK(sim_send(s, &k, &copy, 3, 6, 4, &res));   /* 4..9 */
		check_result(&res, 4, 0, 2, CL_CHAIN_FORK, 0);
		CHECK_EQ_INT(res.through_seq, 9);
		/* A journal made anew that reached seq 10 before the cloud: its
		 * records 1..10 are all new. */
		sim_init(&a, 4);
		for (uint64_t seq = 1; seq <= 10; seq++) {
			make_rec(&r, seq, 300 + (unsigned)seq, T0 + 60 * (int64_t)seq, 0, 300);
			sim_append(&a, &r);
		}
		CHECK_OK(sim_send(s, &k, &a, 0, 10, 1, &res));
		check_result(&res, 10, 0, 0, CL_CHAIN_NEW_JOURNAL, 0);
		/* ...and sent again: a resend, nothing judged. */
		CHECK_OK(sim_send(s, &k, &a, 0, 10, 1, &res));
		check_result(&res, 0, 10, 0, 0, 0);
		if (CHECK_OK(cl_store_stats(s, &stats)))
			CHECK_EQ_INT(stats.visits, 19 + 8 + 4 + 10);
	}
	/* A copy older than the ring of batch ends: the fork point is found
	 * from the first record, which the store holds. */
	{
		static struct sim_journal a, copy;
		struct cl_gateway k;
		struct event_list kl = {.n = 0};

		enroll(s, 4, 13, &k);
		sim_init(&a, 5);
		for (uint64_t seq = 1; seq <= CL_CHAIN_POINTS + 6; seq++) {
			make_rec(&r, seq, 400 + (unsigned)seq, T0 + 60 * (int64_t)seq, 0, 400);
			sim_append(&a, &r);
			CHECK_OK(sim_send(s, &k, &a, seq - 1, 1, seq, &res));
		}
		copy = a;
		copy.n = 5;                                  /* backup after 5, 3..5 unsent */
		make_rec(&r, 6, 600, T0 + 90000, 0, 600);
		sim_append(&copy, &r);
		CHECK_OK(sim_send(s, &k, &copy, 2, 4, CL_CHAIN_POINTS + 7, &res));
		check_result(&res, 1, 0, 3, CL_CHAIN_FORK, 0);
		CHECK_OK(cl_store_gateway_chain_events(s, k.gw_id, collect_event, &kl));
		if (CHECK_EQ_INT(kl.n, 2))
			CHECK_EQ_INT(kl.ev[1].at_seq, 2);
	}
	/* An unchained (version 1) batch: no chain, no event. */
	make_rec(&r, 1, 60, T0 + 100, 0, 60);
	CHECK_OK(ingest1(s, &h, &r, 1, T0, &res));
	CHECK_EQ_INT(res.stored, 1);
	CHECK_RC(cl_store_gateway_chain(s, h.gw_id, &st), AS_E_NOT_FOUND);
	l.n = 0;
	CHECK_OK(cl_store_gateway_chain_events(s, h.gw_id, collect_event, &l));
	CHECK_EQ_INT(l.n, 0);
	cl_store_close(s);
	/* Read-only, the same. */
	s = open_store(dir, 0, 1);
	if (s) {
		l.n = 0;
		CHECK_OK(cl_store_gateway_chain_events(s, g.gw_id, collect_event, &l));
		CHECK_EQ_INT(l.n, 6);
		CHECK_OK(cl_store_gateway_chain(s, g.gw_id, &st));
		cl_store_close(s);
	}
out:
	test_rmdir(dir);
}

/* A restored copy of a journal that went on scanning, whose batches end
 * at or below the cloud's through_seq (small batches, or one record at a
 * time while the clock is unsynced): its records under seqs the cloud
 * holds other records under are new, and stored; resends of either branch
 * store nothing twice. */
static void test_chains_below_through(void)
{
	char dir[64];
	struct cl_store *s;
	struct cl_gateway k;
	static struct sim_journal a, copy;
	struct cl_ingest_result res;
	struct cl_store_stats stats;
	struct event_list l = {.n = 0};
	struct as_record r;

	test_tmpdir(dir);
	s = open_store(dir, MAP_TEST, 0);
	if (!s)
		goto out;
	enroll(s, 5, 14, &k);
	sim_init(&a, 6);
	for (uint64_t seq = 1; seq <= 8; seq++) {
		make_rec(&r, seq, 700 + (unsigned)seq, T0 + 60 * (int64_t)seq, 0, 700 + (unsigned)seq);
		sim_append(&a, &r);
	}
	CHECK_OK(sim_send(s, &k, &a, 0, 3, 1, &res));
	check_result(&res, 3, 0, 0, CL_CHAIN_START, 0);
	CHECK_OK(sim_send(s, &k, &a, 3, 5, 4, &res));          /* cloud: 1..8 */
	check_result(&res, 5, 0, 0, 0, 0);
	copy = a;
	copy.n = 3;                                             /* backup after 3 */
	for (uint64_t seq = 4; seq <= 9; seq++) {
		make_rec(&r, seq, 800 + (unsigned)seq, T0 + 9000 + (int64_t)seq, 0,
			 800 + (unsigned)seq);
		sim_append(&copy, &r);
	}
	/* 4..6 of the copy: other visits than the cloud's 4..6. */
	CHECK_OK(sim_send(s, &k, &copy, 3, 3, 4, &res));
	check_result(&res, 3, 0, 0, CL_CHAIN_FORK, 0);
	CHECK_EQ_INT(res.through_seq, 8);
	/* 7..8 continue the copy, still at or below the cloud's 8; 9 is past. */
	CHECK_OK(sim_send(s, &k, &copy, 6, 2, 7, &res));
	check_result(&res, 2, 0, 0, 0, 0);
	CHECK_OK(sim_send(s, &k, &copy, 8, 1, 9, &res));
	check_result(&res, 1, 0, 0, 0, 0);
	/* Resends: the same batch, other boundaries, the original's. */
	CHECK_OK(sim_send(s, &k, &copy, 3, 3, 4, &res));
	check_result(&res, 0, 3, 0, 0, 0);
	CHECK_OK(sim_send(s, &k, &copy, 4, 5, 5, &res));
	check_result(&res, 0, 5, 0, 0, 0);
	CHECK_OK(sim_send(s, &k, &a, 5, 3, 6, &res));
	check_result(&res, 0, 3, 0, 0, 0);
	/* Nothing lost, nothing twice: the original's 8 and the copy's 6. */
	if (CHECK_OK(cl_store_stats(s, &stats)))
		CHECK_EQ_INT(stats.visits, 8 + 6);
	CHECK_OK(cl_store_gateway_chain_events(s, k.gw_id, collect_event, &l));
	if (CHECK_EQ_INT(l.n, 2))
		CHECK_EQ_INT(l.ev[1].at_seq, 3);
	/* A journal made anew sends its first record alone under seq 1 (the
	 * cloud holds 9): new, stored.  The ack makes it renumber its records
	 * after 9: that one again (found), and two more (stored), on the same
	 * chain: no fork. */
	sim_init(&a, 7);
	for (uint64_t seq = 1; seq <= 3; seq++) {
		make_rec(&r, seq, 900 + (unsigned)seq, T0 + 20000 + (int64_t)seq, 0,
			 900 + (unsigned)seq);
		sim_append(&a, &r);
	}
	CHECK_OK(sim_send(s, &k, &a, 0, 1, 1, &res));
	check_result(&res, 1, 0, 0, CL_CHAIN_NEW_JOURNAL, 0);
	CHECK_OK(sim_send(s, &k, &a, 0, 3, 10, &res));
	check_result(&res, 2, 0, 1, 0, 0);
	CHECK_EQ_INT(res.through_seq, 12);
	if (CHECK_OK(cl_store_stats(s, &stats)))
		CHECK_EQ_INT(stats.visits, 8 + 6 + 3);
	cl_store_close(s);
out:
	test_rmdir(dir);
}

/* Records of the same content under several seqs (the same pass scanned
 * twice in one second with no duplicate window: both answered accepted)
 * are distinct visits.  A resend with other boundaries than the batches
 * the store took (its head in no ring point) whose last record matches an
 * earlier seq's by content is still a resend, not a fork; and the next
 * batch's records of the same content are stored, not taken for the ones
 * already there: every seq through through_seq is a visit. */
static void test_chains_same_content(void)
{
	char dir[64];
	struct cl_store *s;
	struct cl_gateway g;
	static struct sim_journal j, j2;
	struct cl_ingest_result res;
	struct cl_store_stats stats;
	struct event_list l = {.n = 0};
	struct as_record r;

	test_tmpdir(dir);
	s = open_store(dir, MAP_TEST, 0);
	if (!s)
		goto out;
	enroll(s, 6, 15, &g);
	sim_init(&j, 8);
	make_rec(&r, 1, 601, T0 + 10, 0, 601);
	sim_append(&j, &r);
	for (uint64_t seq = 2; seq <= 6; seq++) {  /* one pass, one second, five times */
		make_rec(&r, seq, 602, T0 + 20, 0, 602);
		sim_append(&j, &r);
	}
	CHECK_OK(sim_send(s, &g, &j, 0, 2, 1, &res));
	check_result(&res, 2, 0, 0, CL_CHAIN_START, 0);
	CHECK_OK(sim_send(s, &g, &j, 2, 2, 3, &res));           /* cloud: 1..4 */
	check_result(&res, 2, 0, 0, 0, 0);
	/* 2..3 again (an ack lost, the gateway restarted): duplicates. */
	CHECK_OK(sim_send(s, &g, &j, 1, 2, 2, &res));
	check_result(&res, 0, 2, 0, 0, 0);
	CHECK_EQ_INT(res.through_seq, 4);
	/* 5..6 continue the chain: both stored. */
	CHECK_OK(sim_send(s, &g, &j, 4, 2, 5, &res));
	check_result(&res, 2, 0, 0, 0, 0);
	CHECK_EQ_INT(res.through_seq, 6);
	if (CHECK_OK(cl_store_stats(s, &stats)))
		CHECK_EQ_INT(stats.visits, 6);
	CHECK_OK(cl_store_gateway_chain_events(s, g.gw_id, collect_event, &l));
	CHECK_EQ_INT(l.n, 1);
	/* A journal made anew: its batch is reconciled by content.  A record
	 * the cloud holds is found; two of one content the cloud has none of
	 * are two visits, not one found in the batch itself. */
	sim_init(&j2, 9);
	sim_append(&j2, &j.recs[0]);
	make_rec(&r, 2, 603, T0 + 30, 0, 603);
	sim_append(&j2, &r);
	sim_append(&j2, &r);
	CHECK_OK(sim_send(s, &g, &j2, 0, 3, 7, &res));
	check_result(&res, 2, 0, 1, CL_CHAIN_NEW_JOURNAL, 0);
	CHECK_EQ_INT(res.through_seq, 9);
	if (CHECK_OK(cl_store_stats(s, &stats)))
		CHECK_EQ_INT(stats.visits, 8);
	cl_store_close(s);
out:
	test_rmdir(dir);
}

/* What each batch's ack reports (anshim/ack.h): a batch taken names its
 * own chain position, even a resend below through_seq (so a restored copy
 * learns the cloud holds its records through that batch, not through the
 * original's through_seq); a gap names the chain the store follows. */
static void test_chains_ack_position(void)
{
	char dir[64];
	struct cl_store *s;
	struct cl_gateway k;
	static struct sim_journal a, copy;
	struct cl_ingest_result res;
	struct as_record r;

	test_tmpdir(dir);
	s = open_store(dir, MAP_TEST, 0);
	if (!s)
		goto out;
	enroll(s, 5, 14, &k);
	sim_init(&a, 8);
	for (uint64_t seq = 1; seq <= 8; seq++) {
		make_rec(&r, seq, 700 + (unsigned)seq, T0 + 60 * (int64_t)seq, 0, 700 + (unsigned)seq);
		sim_append(&a, &r);
	}
	CHECK_OK(sim_send(s, &k, &a, 0, 3, 1, &res));
	CHECK_OK(sim_send(s, &k, &a, 3, 5, 4, &res));          /* cloud: 1..8 */
	CHECK(res.has_chain);
	CHECK_MEM(res.chain.journal_id, a.id, AS_JOURNAL_ID_LEN);
	CHECK_EQ_INT(res.chain.seq, 8);
	CHECK_MEM(res.chain.head, a.links[8], AS_CHAIN_LEN);
	copy = a;
	copy.n = 3;                                             /* backup after 3 */
	for (uint64_t seq = 4; seq <= 6; seq++) {
		make_rec(&r, seq, 800 + (unsigned)seq, T0 + 9000 + (int64_t)seq, 0,
			 800 + (unsigned)seq);
		sim_append(&copy, &r);
	}
	/* The copy's 2..3 alone: a resend, acked through 8, position 3. */
	CHECK_OK(sim_send(s, &k, &copy, 1, 2, 2, &res));
	check_result(&res, 0, 2, 0, 0, 0);
	CHECK_EQ_INT(res.through_seq, 8);
	CHECK(res.has_chain);
	CHECK_MEM(res.chain.journal_id, a.id, AS_JOURNAL_ID_LEN);
	CHECK_EQ_INT(res.chain.seq, 3);
	CHECK_MEM(res.chain.head, copy.links[3], AS_CHAIN_LEN);
	/* A gap: the chain the store follows (the original's, at 8), which is
	 * not the copy's link at 8. */
	CHECK_OK(sim_send(s, &k, &copy, 5, 1, 20, &res));
	CHECK(res.gap);
	CHECK(res.has_chain);
	CHECK_EQ_INT(res.chain.seq, 8);
	CHECK_MEM(res.chain.head, a.links[8], AS_CHAIN_LEN);
	/* The copy's own 4 alone: a fork, stored, position 4 of the copy. */
	CHECK_OK(sim_send(s, &k, &copy, 3, 1, 4, &res));
	check_result(&res, 1, 0, 0, CL_CHAIN_FORK, 0);
	CHECK_EQ_INT(res.through_seq, 8);
	CHECK(res.has_chain);
	CHECK_EQ_INT(res.chain.seq, 4);
	CHECK_MEM(res.chain.head, copy.links[4], AS_CHAIN_LEN);
	cl_store_close(s);
out:
	test_rmdir(dir);
}

/* A version 3 store (no chain databases): read-only it has no chains; a
 * writer adds them (and visit_blocks) and it becomes version 5. */
static void test_chains_upgrade(void)
{
	char dir[64];
	struct cl_store *s;
	struct cl_gateway g;
	struct cl_chain_state st;
	struct event_list l = {.n = 0};
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, dbi;
	uint8_t v[4];
	MDB_val key = {7, (void *)"version"}, val = {4, v};

	test_tmpdir(dir);
	s = open_store(dir, MAP_TEST, 0);
	if (!s)
		goto out;
	enroll(s, 1, 10, &g);
	cl_store_close(s);
	CHECK_OK(mdb_env_create(&env));
	CHECK_OK(mdb_env_set_maxdbs(env, 16));
	if (CHECK_OK(mdb_env_open(env, dir, 0, 0600)) && CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn))) {
		CHECK_OK(mdb_dbi_open(txn, "meta", 0, &meta));
		as_put_be32(v, 3);
		CHECK_OK(mdb_put(txn, meta, &key, &val, 0));
		CHECK_OK(mdb_dbi_open(txn, "chains", 0, &dbi));
		CHECK_OK(mdb_drop(txn, dbi, 1));
		CHECK_OK(mdb_dbi_open(txn, "chain_events", 0, &dbi));
		CHECK_OK(mdb_drop(txn, dbi, 1));
		CHECK_OK(mdb_txn_commit(txn));
	}
	mdb_env_close(env);
	s = open_store(dir, 0, 1);
	if (s) {
		CHECK_RC(cl_store_gateway_chain(s, g.gw_id, &st), AS_E_NOT_FOUND);
		CHECK_OK(cl_store_gateway_chain_events(s, g.gw_id, collect_event, &l));
		CHECK_EQ_INT(l.n, 0);
		cl_store_close(s);
	}
	s = open_store(dir, MAP_TEST, 0);
	if (s) {
		static struct sim_journal j;
		struct cl_ingest_result res;
		struct as_record r;

		sim_init(&j, 7);
		make_rec(&r, 1, 1, T0 + 60, 0, 1);
		sim_append(&j, &r);
		CHECK_OK(sim_send(s, &g, &j, 0, 1, 1, &res));
		check_result(&res, 1, 0, 0, CL_CHAIN_START, 0);
		cl_store_close(s);
	}
	CHECK_OK(mdb_env_create(&env));
	CHECK_OK(mdb_env_set_maxdbs(env, 16));
	if (CHECK_OK(mdb_env_open(env, dir, MDB_RDONLY, 0600)) &&
	    CHECK_OK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn))) {
		CHECK_OK(mdb_dbi_open(txn, "meta", 0, &meta));
		if (CHECK_OK(mdb_get(txn, meta, &key, &val)))
			CHECK_EQ_INT(as_get_be32(val.mv_data), 5);
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
out:
	test_rmdir(dir);
}

/* ---- the upgrade of a version 4 store's visits into blocks ---- */

#define UPG_B 37  /* gateway B's visits (three days ago), vids 1..37 */
#define UPG_A 100 /* gateway A's (today), vids 38..137 */
#define UPG_N (UPG_A + UPG_B)

/* Every vid's row as the store gives it, in a read transaction. */
static int upgrade_rows(struct cl_store *s, struct visit_row *rows, uint64_t n)
{
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn), bad = 0;

	if (rc)
		return rc;
	for (uint64_t vid = 1; vid <= n; vid++) {
		rc = store_visit_get(s, txn, vid, &rows[vid]);
		if (rc == MDB_NOTFOUND)
			rows[vid].vid = 0;
		else if (rc)
			bad++;
	}
	mdb_txn_abort(txn);
	return bad ? MDB_CORRUPTED : 0;
}

/* Rows 1..n as truth says (vid 0: not stored); how many differ. */
static int upgrade_differs(struct cl_store *s, const struct visit_row *truth, uint64_t n)
{
	static struct visit_row got[UPG_N + 64];
	int differ = 0;

	if (!CHECK_OK(upgrade_rows(s, got, n)))
		return -1;
	for (uint64_t vid = 1; vid <= n; vid++)
		if (got[vid].vid != truth[vid].vid ||
		    (truth[vid].vid &&
		     (got[vid].gw_index != truth[vid].gw_index || got[vid].seq != truth[vid].seq ||
		      got[vid].has_digest != truth[vid].has_digest ||
		      (truth[vid].has_digest &&
		       memcmp(got[vid].digest, truth[vid].digest, VISIT_DIGEST_LEN)))))
			differ++;
	return differ;
}

static size_t old_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	for (; v >= 0x80; v >>= 7)
		p[n++] = (uint8_t)(v | 0x80);
	p[n++] = (uint8_t)v;
	return n;
}

/*
 * A store of version 4 (each visit a row of visits, no visit_blocks), made
 * here from a new one: read-only it is read as it is; opened for writing
 * it is version 5 and works while cl_store_upgrade moves its rows, which
 * is cut short after one transaction (a crash between transactions) and
 * resumed later, with ingest and a purge in between.  Every visit is kept,
 * where it came from unchanged; the purged ones go from either place.
 */
static void test_visits_upgrade(void)
{
	static struct visit_row truth[UPG_N + 64];
	static struct as_record recs[UPG_A];
	char dir[64];
	struct cl_store *s;
	struct cl_gateway a, b;
	struct cl_ingest_result res;
	struct cl_store_stats st;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, visits, blocks;
	uint8_t v[4];
	MDB_val key = {7, (void *)"version"}, val = {4, v};
	uint64_t left = 0, moved = 0, last = 0;
	int calls;

	test_tmpdir(dir);
	s = open_store(dir, MAP_TEST, 0);
	if (!s)
		goto out;
	enroll(s, 1, 10, &a);
	enroll(s, 2, 20, &b);
	make_run(recs, 1, UPG_B, 7, T0 - 3 * DAY);
	CHECK_OK(ingest1(s, &b, recs, UPG_B, T0, &res));
	make_run(recs, 1, UPG_A, 9, T0);
	CHECK_OK(ingest1(s, &a, recs, 60, T0, &res));
	CHECK_OK(ingest1(s, &a, recs + 60, UPG_A - 60, T0, &res));
	CHECK_OK(upgrade_rows(s, truth, UPG_N));
	cl_store_close(s);
	for (uint64_t vid = 1; vid <= UPG_N; vid++)
		CHECK_EQ_INT(truth[vid].vid, vid);

	/* Back to version 4: the rows, a few without a digest (stored by
	 * version 3), and no visit_blocks. */
	CHECK_OK(mdb_env_create(&env));
	CHECK_OK(mdb_env_set_maxdbs(env, 32));
	if (CHECK_OK(mdb_env_open(env, dir, 0, 0600)) && CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn))) {
		CHECK_OK(mdb_dbi_open(txn, "meta", 0, &meta));
		CHECK_OK(mdb_dbi_open(txn, "visits", 0, &visits));
		for (uint64_t vid = 1; vid <= UPG_N; vid++) {
			uint8_t k[6], row[32];
			MDB_val rk = {6, k}, rv = {0, row};

			if (vid % 10 == 3)
				truth[vid].has_digest = 0;
			for (int i = 5; i >= 0; i--)
				k[5 - i] = (uint8_t)(vid >> (8 * i));
			rv.mv_size = old_varint(row, truth[vid].gw_index);
			rv.mv_size += old_varint(row + rv.mv_size, truth[vid].seq);
			if (truth[vid].has_digest) {
				memcpy(row + rv.mv_size, truth[vid].digest, VISIT_DIGEST_LEN);
				rv.mv_size += VISIT_DIGEST_LEN;
			}
			CHECK_OK(mdb_put(txn, visits, &rk, &rv, MDB_APPEND));
		}
		CHECK_OK(mdb_dbi_open(txn, "visit_blocks", 0, &blocks));
		CHECK_OK(mdb_drop(txn, blocks, 1));
		as_put_be32(v, 4);
		CHECK_OK(mdb_put(txn, meta, &key, &val, 0));
		CHECK_OK(mdb_txn_commit(txn));
	}
	mdb_env_close(env);
	CHECK_EQ_INT(visit_count(dir), UPG_N);

	/* Read-only, as it is. */
	s = open_store(dir, 0, 1);
	if (s) {
		CHECK_EQ_INT(upgrade_differs(s, truth, UPG_N), 0);
		if (CHECK_OK(cl_store_stats(s, &st)))
			CHECK_EQ_INT(st.visits, UPG_N);
		CHECK_RC(cl_store_upgrade(s, 0, &moved, &left), -EACCES);
		cl_store_close(s);
	}
	/* Opened for writing: one transaction of the upgrade, then "a crash". */
	s = open_store(dir, MAP_TEST, 0);
	if (!s)
		goto out;
	CHECK_OK(cl_store_upgrade(s, 20, &moved, &left));
	CHECK_EQ_INT(moved, 20);
	CHECK_EQ_INT(left, UPG_N - 20);
	cl_store_close(s);
	CHECK_EQ_INT(db_entries(dir, "visits"), UPG_N - 20);
	CHECK_EQ_INT(visit_count(dir), UPG_N);

	s = open_store(dir, MAP_TEST, 0);
	if (!s)
		goto out;
	CHECK_EQ_INT(upgrade_differs(s, truth, UPG_N), 0);
	/* Ingest while rows remain: vids go on after the rows' (138..147,
	 * in the block that rows 128..137 will join). */
	make_run(recs, UPG_A + 1, 10, 9, T0);
	CHECK_OK(ingest1(s, &a, recs, 10, T0, &res));
	CHECK_EQ_INT(res.stored, 10);
	CHECK_OK(upgrade_rows(s, truth, UPG_N + 10));
	for (uint64_t vid = UPG_N + 1; vid <= UPG_N + 10; vid++)
		CHECK_EQ_INT(truth[vid].vid, vid);
	/* A duplicate changes nothing. */
	make_run(recs, 1, 5, 9, T0);
	CHECK_OK(ingest1(s, &a, recs, 5, T0, &res));
	CHECK_EQ_INT(res.duplicates, 5);
	/* A purge while rows remain: B's visits go, vids 1..20 from their
	 * block, 21..37 as rows (21..31 beside that block). */
	{
		uint64_t deleted = 0;

		CHECK_OK(cl_store_purge(s, T0 - DAY, 8, &deleted));
		CHECK_EQ_INT(deleted, UPG_B);
		for (uint64_t vid = 1; vid <= UPG_B; vid++)
			truth[vid].vid = 0;
	}
	CHECK_EQ_INT(upgrade_differs(s, truth, UPG_N + 10), 0);
	/* The rest of the upgrade, in small steps. */
	calls = 0;
	do
		CHECK_OK(cl_store_upgrade(s, 7, &moved, &left));
	while (left && ++calls < 100);
	CHECK_EQ_INT(left, 0);
	CHECK_OK(cl_store_upgrade(s, 7, &moved, &left));
	CHECK_EQ_INT(moved, 0);
	CHECK_EQ_INT(left, 0);
	CHECK_EQ_INT(upgrade_differs(s, truth, UPG_N + 10), 0);
	if (CHECK_OK(cl_store_stats(s, &st)))
		CHECK_EQ_INT(st.visits, UPG_A + 10);
	CHECK_EQ_INT(count_at(s, 10, T0 - 10 * DAY, T0 + 10 * DAY), UPG_A + 10);
	CHECK_EQ_INT(count_at(s, 20, T0 - 10 * DAY, T0 + 10 * DAY), 0);
	/* vids are never reused: the next visit is 148. */
	make_run(recs, UPG_A + 11, 1, 9, T0);
	CHECK_OK(ingest1(s, &a, recs, 1, T0, &res));
	if (CHECK_OK(store_read_begin(s, &txn))) {
		CHECK_OK(store_visits_last(s, txn, &last));
		mdb_txn_abort(txn);
	}
	CHECK_EQ_INT(last, UPG_N + 11);
	cl_store_close(s);
	CHECK_EQ_INT(db_entries(dir, "visits"), 0);
	check_indexes(dir, UPG_A + 11, UPG_A + 11, 9);
out:
	test_rmdir(dir);
}

static void test_readonly_and_reopen(void)
{
	char dir[64], missing[80];
	struct cl_store *s = open_store(test_tmpdir(dir), MAP_TEST, 0), *ro, *bad = NULL;
	struct cl_gateway g, got;
	struct as_record recs[10];
	struct cl_ingest_result res;
	struct cl_store_stats st;
	struct cl_venue v;
	struct cl_ingest *in;
	struct collect c = {.n = 0};
	char err[300] = "";
	uint64_t first_vid;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	make_run(recs, 1, 10, 3, T0);
	CHECK_OK(ingest1(s, &g, recs, 10, T0, &res));

	/* A read-only handle in another process (LMDB must not open one
	 * environment twice in a process), while the writer is open, sees
	 * committed data and what is committed later, and cannot write. */
	{
		int to_child[2], to_parent[2], status = -1;
		char byte = 0;
		pid_t child;

		if (!CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0))
			return;
		child = fork();
		if (child == 0) {
			int wrong = 0;

			ro = NULL;
			if (cl_store_open(&ro, dir, 0, 1, err, sizeof err))
				_exit(100);
			wrong |= readonly_view(ro, &g, 10, 10) << 0;
			if (write(to_parent[1], "r", 1) != 1 || read(to_child[0], &byte, 1) != 1)
				_exit(101);
			wrong |= readonly_view(ro, &g, 15, 15) << 2;
			make_venue(&v, 7);
			wrong |= (cl_store_enroll(ro, &g, &v) != -EACCES) << 4;
			wrong |= (cl_store_ingest_begin(ro, &in) != -EACCES) << 5;
			wrong |= (cl_store_purge(ro, INT64_MAX, 1, NULL) != -EACCES) << 6;
			cl_store_close(ro);
			_exit(wrong);
		}
		CHECK(child > 0);
		if (child > 0 && CHECK(read(to_parent[0], &byte, 1) == 1)) {
			make_run(recs, 11, 5, 3, T0);
			CHECK_OK(ingest1(s, &g, recs, 5, T0, &res));
			CHECK(write(to_child[1], "c", 1) == 1);
		}
		if (child > 0)
			CHECK(waitpid(child, &status, 0) == child);
		test_ctx("read-only child's exit status");
		CHECK(WIFEXITED(status));
		CHECK_EQ_INT(WEXITSTATUS(status), 0);
		test_ctx_clear();
		close(to_child[0]);
		close(to_child[1]);
		close(to_parent[0]);
		close(to_parent[1]);
	}
	CHECK_OK(cl_store_visits_at(s, 7, INT64_MIN, INT64_MAX, collect_fn, &c));
	first_vid = c.n ? c.v[0].vid : 0;
	cl_store_close(s);

	/* Reopen: everything is there, and new visits get new vids even after
	 * the newest were purged. */
	s = open_store(dir, 0, 0);
	if (!s) {
		test_rmdir(dir);
		return;
	}
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.visits, 15);
	/* the default map: 64 GiB on 64-bit, 1 GiB where size_t is 32 bits */
	CHECK_EQ_INT(st.map_size, sizeof(size_t) >= 8 ? UINT64_C(64) << 30 : UINT64_C(1) << 30);
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &got));
	CHECK_EQ_INT(got.through_seq, 15);
	CHECK_OK(cl_store_purge(s, INT64_MAX, 4, NULL));
	make_run(recs, 16, 2, 3, T0);
	CHECK_OK(ingest1(s, &g, recs, 2, T0, &res));
	c.n = 0;
	CHECK_OK(cl_store_visits_at(s, 7, INT64_MIN, INT64_MAX, collect_fn, &c));
	CHECK(c.n == 2 && c.v[0].vid > first_vid + 14);
	cl_store_close(s);

	snprintf(missing, sizeof missing, "%s/none", dir);
	err[0] = '\0';
	CHECK_ERR(cl_store_open(&bad, missing, 0, 1, err, sizeof err));
	CHECK(bad == NULL);
	CHECK(strstr(err, missing) != NULL);
	test_rmdir(dir);
}

/* A tiny map fills: AS_E_FULL, nothing of the failed transaction is kept,
 * reads go on, and reopening with a larger map lets ingest continue. */
static void test_map_full(void)
{
	enum { PER = 64 };
	char dir[64];
	struct cl_store *s = open_store(test_tmpdir(dir), UINT64_C(256) << 10, 0);
	struct cl_gateway g, got;
	struct as_record recs[PER];
	struct cl_ingest_result res;
	struct cl_store_stats st;
	uint64_t seq = 1, committed = 0;
	int rc = 0;

	if (!s) {
		test_rmdir(dir);
		return;
	}
	enroll(s, 1, 7, &g);
	for (int round = 0; round < 200; round++) {
		for (int k = 0; k < PER; k++)
			make_rec(&recs[k], seq + (uint64_t)k, (unsigned)(seq + (uint64_t)k),
				 T0 + (int64_t)(seq + (uint64_t)k), 0, (unsigned)k);
		rc = ingest1(s, &g, recs, PER, T0, &res);
		if (rc)
			break;
		seq += PER;
		committed += PER;
	}
	CHECK_RC(rc, AS_E_FULL);
	CHECK(committed > 0);
	CHECK_OK(cl_store_stats(s, &st));
	CHECK_EQ_INT(st.visits, committed);
	CHECK_OK(cl_store_get_gateway(s, g.gw_id, &got));
	CHECK_EQ_INT(got.through_seq, committed);
	CHECK_EQ_INT(count_at(s, 7, INT64_MIN, INT64_MAX), committed);
	cl_store_close(s);

	s = open_store(dir, UINT64_C(8) << 20, 0);
	if (!s) {
		test_rmdir(dir);
		return;
	}
	CHECK_OK(ingest1(s, &g, recs, PER, T0, &res));
	CHECK_EQ_INT(res.stored, PER);
	CHECK_EQ_INT(res.through_seq, committed + PER);
	CHECK_OK(cl_store_purge(s, INT64_MAX, 100, NULL));
	cl_store_close(s);
	check_indexes(dir, 0, 0, 0);
	test_rmdir(dir);
}

int main(void)
{
	if (as_crypto_init() != 0)
		return 2;
	TEST_RUN(test_registry);
	TEST_RUN(test_ingest_happy);
	TEST_RUN(test_duplicates_overlap);
	TEST_RUN(test_gap_and_placeholders);
	TEST_RUN(test_refusals);
	TEST_RUN(test_writer_threads);
	TEST_RUN(test_many_gateways);
	TEST_RUN(test_big_transaction);
	TEST_RUN(test_busy_person);
	TEST_RUN(test_counters);
	TEST_RUN(test_query_ranges);
	TEST_RUN(test_extreme_times);
	TEST_RUN(test_visits_of_many);
	TEST_RUN(test_capsules);
	TEST_RUN(test_unattributed);
	TEST_RUN(test_purge_exact);
	TEST_RUN(test_purge_future);
	TEST_RUN(test_paper_capsules);
	TEST_RUN(test_purge_people);
	TEST_RUN(test_app_checkins);
	TEST_RUN(test_readonly_and_reopen);
	TEST_RUN(test_map_full);
	TEST_RUN(test_chains);
	TEST_RUN(test_chain_placeholders);
	TEST_RUN(test_chains_below_through);
	TEST_RUN(test_chains_same_content);
	TEST_RUN(test_chains_ack_position);
	TEST_RUN(test_chains_upgrade);
	TEST_RUN(test_visits_upgrade);
	return TEST_DONE();
}
