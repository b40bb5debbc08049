/*
 * cluster_trace.c - a test helper: the trace engine gives the brute
 * force's answers on both backends (test_cluster_trace.sh).
 *
 *   cluster_trace EMBEDDED_DIR INDEX_DIR POSTGRESQL_URI FIRST_SEED LAST_SEED
 *
 * For each seed it makes the random world of tests/trace_brute.h (venues,
 * people, gateways' visits of every kind, windows, depths) and turns a
 * quarter of the named people's visits into app check-ins (check-outs for
 * those with an exit, some in a later transaction).  Every visit goes
 * through the store contract (store.h) into an embedded LMDB store and
 * into PostgreSQL.  PostgreSQL's app check-ins are written by up to three
 * ingest transactions open at once and committed in random order, with
 * index steps (cl_store_index_step, a small budget so that rounds span
 * steps) run in between: a check-in whose transaction took its id first
 * often commits after later ones.  (A person's check-ins, and check-outs
 * at a venue, go to one open transaction at a time: two would wait on
 * each other's row locks, the person's capsule or the venue's longest
 * visit, and this one thread would wait forever.)  Then the index (an LMDB store) is
 * brought up to date and the engine traces the world's case at depths 1,
 * 2 and 3 on the embedded store and on the index: both must equal the
 * brute force, and the index must hold exactly the embedded store's
 * visits (none missed, none twice).  After every step, the lag the index
 * recorded (cl_store_index_lag) is what the step returned, and a trace
 * report on the index says so; an embedded store records none.  Prints counts; exits 1 on a failed
 * check, 2 on a usage or setup error.  Single-threaded.
 */
#include "test.h"

#include "store.h"
#include "trace.h"
#include "trace_brute.h"
#include "trace_report.h"

#include "anshim/bytes.h"
#include "anshim/identity.h"

#include <time.h>

#define OPEN_MAX 3          /* app ingest transactions open at once */
#define STEP_BUDGET 7       /* records per index step while ingest runs */
#define STEPS_MAX 100000    /* bound on steps to catch up */
#define MAP_SIZE (UINT64_C(1) << 30)

static struct cl_store *embedded, *pg, *idx;
static const char *arg_embedded, *arg_index, *arg_uri;
static uint64_t first_seed, last_seed;
static unsigned app_count, app_late_exits, out_of_order_commits, index_steps, lagging_steps;

/* The two doors of each pool venue, as tests/unit/test_trace.c enrols
 * them, on every store that takes ingest. */
static uint8_t gw_ids[R_POOL][2][AS_GWID_LEN];
static uint64_t gw_seq[R_POOL][2];

static int enroll_pool(struct cl_store *s)
{
	for (unsigned k = 0; k < R_POOL; k++)
		for (unsigned d = 0; d < 2; d++) {
			struct cl_gateway g;
			struct cl_venue v;

			memset(&g, 0, sizeof g);
			memset(&v, 0, sizeof v);
			test_fill(g.gw_id, AS_GWID_LEN, 300 + 2 * k + d);
			test_fill(g.pk, AS_SIGN_PK_LEN, 400 + 2 * k + d);
			memcpy(gw_ids[k][d], g.gw_id, AS_GWID_LEN);
			g.venue_id = pool_venue(k);
			g.enrolled_at = BASE - 30 * DAY;
			v.id = g.venue_id;
			snprintf(v.name, sizeof v.name, "Pool venue %u", k);
			snprintf(v.category, sizeof v.category, "test");
			v.dwell_minutes = (uint16_t)pool_dwell[k];
			if (!CHECK_OK(cl_store_enroll(s, &g, &v)))
				return -1;
		}
	return 0;
}

/* The report's text (JSON: json) of a depth-1 trace of nobody on idx. */
struct text {
	char buf[4096];
	size_t len;
};

static void text_write(void *ctx, const char *p, size_t n)
{
	struct text *t = ctx;

	if (n > sizeof t->buf - 1 - t->len)
		n = sizeof t->buf - 1 - t->len;
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

/* What a trace on the index says of its lag, once while it is behind:
 * "N records behind PostgreSQL as of" (text), "behind":N (JSON). */
static void check_report_lag(uint64_t behind)
{
	static int done;
	struct cl_trace_params p;
	char want[96];

	if (done++)
		return;
	cl_trace_params_init(&p);
	memset(p.pid, 0x5a, AS_PID_LEN);
	p.from = BASE;
	p.to = BASE + DAY;
	p.depth = 1;
	for (int json = 0; json < 2; json++) {
		struct text t = {.len = 0};
		struct cl_trace_report_opts o = {.p = &p, .json = json, .now = (int64_t)time(NULL),
						 .write = text_write, .write_ctx = &t};

		t.buf[0] = '\0';
		if (!CHECK_OK(cl_trace_report(idx, &o, NULL)))
			continue;
		if (json)
			snprintf(want, sizeof want, "\"behind\":%llu,", (unsigned long long)behind);
		else
			snprintf(want, sizeof want, "index node: %llu record%s behind PostgreSQL as of ",
				 (unsigned long long)behind, behind == 1 ? "" : "s");
		if (!CHECK(strstr(t.buf, want) != NULL))
			printf("  wanted \"%s\" in:\n%s\n", want, t.buf);
	}
}

/* One index step; counts it, and checks the lag it records: what it
 * returned, read at most INDEX_LAG_REFRESH (10) seconds before. */
static void index_step(size_t budget, uint64_t *behind)
{
	uint64_t copied = 0;
	int64_t t0 = (int64_t)time(NULL);
	int rc = cl_store_index_step(idx, pg, budget, &copied, behind);
	struct cl_index_lag lag;

	index_steps++;
	if (!CHECK_OK(rc)) {
		fprintf(stderr, "  %s\n", cl_store_last_error());
		return;
	}
	if (CHECK_OK(cl_store_index_lag(idx, &lag))) {
		CHECK_EQ_INT(lag.behind, *behind);
		CHECK(lag.read_at >= t0 - 10 && lag.read_at <= (int64_t)time(NULL));
		if (*behind == 0)
			CHECK_EQ_INT(lag.caught_up_at, lag.read_at);
		else
			lagging_steps++;
		if (*behind)
			check_report_lag(*behind);
	}
}

/* The gateways' visits of w, one batch per door, in one transaction per
 * store (the same records and seqs on both). */
static void store_gateway_visits(const struct world *w, const int *is_app)
{
	struct cl_store *stores[2] = {embedded, pg};
	static struct as_record recs[R_POOL][2][R_VISITS_MAX];
	static uint8_t pids[R_POOL][2][R_VISITS_MAX][AS_PID_LEN];
	size_t n[R_POOL][2] = {{0}};

	for (unsigned i = 0; i < w->nvisits; i++) {
		const struct rvisit *v = &w->v[i];
		unsigned k = w->pool[v->venue], d = i % 2;
		struct as_record *r = &recs[k][d][n[k][d]];

		if (is_app[i])
			continue;
		memset(r, 0, sizeof *r);
		r->kind = v->kind;
		r->entry_time = v->entry;
		r->exit_time = v->exit;
		r->headcount = v->headcount;
		test_fill(r->capsule, AS_CAPSULE_LEN, 77);
		memset(pids[k][d][n[k][d]], 0, AS_PID_LEN);
		if (v->who >= 0) {
			if (v->kind != AS_REC_MANUAL)
				memcpy(r->pid, w->pid[v->who], AS_PID_LEN);
			memcpy(pids[k][d][n[k][d]], w->pid[v->who], AS_PID_LEN);
		}
		n[k][d]++;
	}
	for (int s = 0; s < 2; s++) {
		struct cl_ingest *in;

		if (!CHECK_OK(cl_store_ingest_begin(stores[s], &in)))
			return;
		for (unsigned k = 0; k < R_POOL; k++)
			for (unsigned d = 0; d < 2; d++) {
				struct cl_ingest_result res;

				if (!n[k][d])
					continue;
				for (size_t j = 0; j < n[k][d]; j++)
					recs[k][d][j].seq = gw_seq[k][d] + 1 + j;
				CHECK_OK(cl_store_ingest_batch(in, gw_ids[k][d], recs[k][d],
							       (const uint8_t (*)[AS_PID_LEN])pids[k][d],
							       n[k][d], BASE, BASE, &res));
				CHECK_EQ_INT(res.stored, n[k][d]);
			}
		CHECK_OK(cl_store_ingest_commit(in));
	}
	for (unsigned k = 0; k < R_POOL; k++)
		for (unsigned d = 0; d < 2; d++)
			gw_seq[k][d] += n[k][d];
}

static void app_of(const struct world *w, uint64_t seed, unsigned i, struct cl_app_visit *a)
{
	const struct rvisit *v = &w->v[i];

	memset(a, 0, sizeof *a);
	/* Unique per (seed, visit). */
	test_fill(a->checkin_id, CL_APP_ID_LEN, i);
	as_put_be64(a->checkin_id, seed);
	as_put_be32(a->checkin_id + 8, i);
	memcpy(a->pid, w->pid[v->who], AS_PID_LEN);
	test_fill(a->capsule, AS_CAPSULE_LEN, 77);
	a->venue_id = pool_venue(w->pool[v->venue]);
	a->entry = v->entry;
}

/* The app check-ins of w: on the embedded store one transaction each; on
 * PostgreSQL several open at once, committed in random order, index
 * steps in between.  Check-outs with the check-in, or (late) in a
 * transaction of their own after it committed. */
static void store_app_visits(const struct world *w, uint64_t seed, const int *is_app)
{
	struct cl_ingest *open[OPEN_MAX] = {NULL};
	unsigned opened_at[OPEN_MAX] = {0}, serial = 0, late[R_VISITS_MAX], nlate = 0;
	uint64_t people[OPEN_MAX] = {0}, exits_at[OPEN_MAX] = {0}; /* bit masks */
	uint64_t behind;

	for (unsigned i = 0; i < w->nvisits; i++) {
		const struct rvisit *v = &w->v[i];
		struct cl_app_visit a;
		struct cl_ingest *in;
		int out = 0, late_exit = v->exit && rnd_in(0, 2) == 0;
		unsigned slot = (unsigned)rnd_in(0, OPEN_MAX - 1);

		if (!is_app[i])
			continue;
		for (unsigned o = 0; o < OPEN_MAX; o++)
			if (open[o] && (people[o] >> v->who & 1))
				slot = o;
		for (unsigned o = 0; o < OPEN_MAX; o++)
			if (o != slot && open[o] && (exits_at[o] >> v->venue & 1))
				late_exit = v->exit != 0;
		app_count++;
		app_of(w, seed, i, &a);
		if (CHECK_OK(cl_store_ingest_begin(embedded, &in))) {
			CHECK_OK(cl_store_ingest_app(in, &a, &out));
			CHECK_EQ_INT(out, CL_APP_STORED);
			if (v->exit) {
				CHECK_OK(cl_store_ingest_app_exit(in, a.checkin_id, a.pid, v->exit,
								  &out));
				CHECK_EQ_INT(out, CL_APP_STORED);
			}
			CHECK_OK(cl_store_ingest_commit(in));
		}
		if (!open[slot]) {
			if (!CHECK_OK(cl_store_ingest_begin(pg, &open[slot])))
				return;
			opened_at[slot] = serial++;
			people[slot] = exits_at[slot] = 0;
		}
		people[slot] |= UINT64_C(1) << v->who;
		CHECK_OK(cl_store_ingest_app(open[slot], &a, &out));
		CHECK_EQ_INT(out, CL_APP_STORED);
		if (v->exit && !late_exit) {
			CHECK_OK(cl_store_ingest_app_exit(open[slot], a.checkin_id, a.pid, v->exit,
							  &out));
			CHECK_EQ_INT(out, CL_APP_STORED);
			exits_at[slot] |= UINT64_C(1) << v->venue;
		} else if (v->exit) {
			late[nlate++] = i;
		}
		/* Commit a random open transaction now and then, and step. */
		if (rnd_in(0, 2) == 0) {
			unsigned c = (unsigned)rnd_in(0, OPEN_MAX - 1);

			for (unsigned o = 0; o < OPEN_MAX; o++)
				if (open[o] && opened_at[o] < opened_at[c] && open[c])
					out_of_order_commits++;
			if (open[c])
				CHECK_OK(cl_store_ingest_commit(open[c]));
			open[c] = NULL;
		}
		if (rnd_in(0, 1) == 0)
			index_step(STEP_BUDGET, &behind);
	}
	for (unsigned o = OPEN_MAX; o-- > 0;)
		if (open[o])
			CHECK_OK(cl_store_ingest_commit(open[o]));
	index_step(STEP_BUDGET, &behind);
	/* Late check-outs: a new version of a row the index may hold. */
	for (unsigned j = 0; j < nlate; j++) {
		struct cl_app_visit a;
		struct cl_ingest *in;
		int out = 0;

		app_of(w, seed, late[j], &a);
		if (!CHECK_OK(cl_store_ingest_begin(pg, &in)))
			return;
		CHECK_OK(cl_store_ingest_app_exit(in, a.checkin_id, a.pid, w->v[late[j]].exit,
						  &out));
		CHECK_EQ_INT(out, CL_APP_STORED);
		CHECK_OK(cl_store_ingest_commit(in));
		app_late_exits++;
		if (j % 2)
			index_step(STEP_BUDGET, &behind);
	}
}

static void catch_up(void)
{
	uint64_t behind = 1;

	for (unsigned i = 0; i < STEPS_MAX && behind; i++)
		index_step(0, &behind);
	CHECK_EQ_INT(behind, 0);
}

static void trace_check(struct cl_store *s, const char *name, struct world *w, uint64_t seed,
			unsigned *reached, unsigned split[2])
{
	static struct want wt[R_PEOPLE_MAX];
	uint64_t unnamed_v[4] = {0}, unnamed_p[4] = {0};
	struct cl_trace_params p;
	struct cl_trace_sink sink;
	struct cl_trace_order tot;
	struct got g;

	memset(wt, 0, sizeof wt);
	brute(w, wt, unnamed_v, unnamed_p);
	memset(&g, 0, sizeof g);
	sink = (struct cl_trace_sink){&g, got_case_visit, got_contact, got_order};
	cl_trace_params_init(&p);
	memcpy(p.pid, w->pid[w->casei], AS_PID_LEN);
	p.from = w->from;
	p.to = w->to;
	p.depth = w->depth;
	p.min_overlap = w->min_overlap;
	p.incubation = w->incubation;
	p.risk_period = w->risk_period;
	test_ctx("%s seed %llu depth %u", name, (unsigned long long)seed, w->depth);
	if (CHECK_OK(cl_trace_run(s, &p, &sink, &tot))) {
		int before = test_failures;

		CHECK_EQ_INT(g.norders, w->depth);
		brute_check(w, wt, unnamed_v, unnamed_p, &g, seed, reached, split);
		if (test_failures != before)
			printf("  the trace on the %s store differs (seed %llu, depth %u)\n", name,
			       (unsigned long long)seed, w->depth);
	}
	test_ctx_clear();
	got_free(&g);
}

static void test_both_backends(void)
{
	static struct world w;
	static int is_app[R_VISITS_MAX];
	unsigned reached[2][CL_TRACE_DEPTH_MAX + 1] = {{0}}, split[2][2] = {{0}};
	struct cl_store_stats se, si;
	char err[300] = "";

	if (!CHECK_OK(cl_store_open(&embedded, arg_embedded, MAP_SIZE, 0, err, sizeof err)) ||
	    !CHECK_OK(cl_store_open(&pg, arg_uri, 0, 0, err, sizeof err)) ||
	    !CHECK_OK(cl_store_open(&idx, arg_index, MAP_SIZE, 0, err, sizeof err))) {
		fprintf(stderr, "  %s\n", err);
		exit(2);
	}
	if (enroll_pool(embedded) || enroll_pool(pg))
		exit(2);
	for (uint64_t seed = first_seed; seed <= last_seed; seed++) {
		unsigned depth;

		world_make(&w, seed);
		/* A quarter of the named people's visits are app check-ins (one
		 * person each, any exit at or after the entry). */
		for (unsigned i = 0; i < w.nvisits; i++) {
			is_app[i] = w.v[i].who >= 0 && rnd_in(0, 3) == 0;
			if (is_app[i]) {
				w.v[i].kind = AS_REC_APP;
				w.v[i].headcount = 1;
			}
		}
		store_gateway_visits(&w, is_app);
		store_app_visits(&w, seed, is_app);
		catch_up();
		depth = w.depth;
		for (w.depth = 1; w.depth <= CL_TRACE_DEPTH_MAX; w.depth++) {
			trace_check(embedded, "embedded", &w, seed, reached[0], split[0]);
			trace_check(idx, "index", &w, seed, reached[1], split[1]);
		}
		w.depth = depth;
	}
	/* An embedded store says nothing of an index. */
	{
		struct cl_index_lag lag;

		if (CHECK_OK(cl_store_index_lag(embedded, &lag)))
			CHECK_EQ_INT(lag.read_at, 0);
	}
	/* Every visit on the index exactly once. */
	if (CHECK_OK(cl_store_stats(embedded, &se)) && CHECK_OK(cl_store_stats(idx, &si))) {
		CHECK_EQ_INT(si.visits, se.visits);
		CHECK_EQ_INT(si.people, se.people);
	}
	printf("  visits: %llu on the embedded store, %llu on the index; app check-ins %u "
	       "(late check-outs %u, out-of-order commits %u); index steps %u (%u recorded "
	       "records behind)\n",
	       (unsigned long long)se.visits, (unsigned long long)si.visits, app_count,
	       app_late_exits, out_of_order_commits, index_steps, lagging_steps);
	printf("  contacts checked by order: embedded 1:%u 2:%u 3:%u, index 1:%u 2:%u 3:%u\n",
	       reached[0][1], reached[0][2], reached[0][3], reached[1][1], reached[1][2],
	       reached[1][3]);
	CHECK(reached[1][1] > 0 && reached[1][2] > 0 && reached[1][3] > 0);
	CHECK_EQ_INT(reached[1][1], reached[0][1]);
	CHECK(app_late_exits > 0 && out_of_order_commits > 0 && lagging_steps > 0);
	cl_store_close(idx);
	cl_store_close(pg);
	cl_store_close(embedded);
}

int main(int argc, char **argv)
{
	char *end1 = NULL, *end2 = NULL;

	if (argc != 6) {
		fprintf(stderr, "usage: cluster_trace EMBEDDED_DIR INDEX_DIR POSTGRESQL_URI "
				"FIRST_SEED LAST_SEED\n");
		return 2;
	}
	arg_embedded = argv[1];
	arg_index = argv[2];
	arg_uri = argv[3];
	first_seed = strtoull(argv[4], &end1, 10);
	last_seed = strtoull(argv[5], &end2, 10);
	if (*end1 || *end2 || first_seed == 0 || last_seed < first_seed ||
	    last_seed - first_seed > 1000) {
		fprintf(stderr, "cluster_trace: seeds FIRST_SEED <= LAST_SEED, from 1, at most "
				"1000 apart\n");
		return 2;
	}
	if (as_crypto_init())
		return 2;
	setenv("TZ", "KST-9", 1);
	tzset();
	TEST_RUN(test_both_backends);
	return TEST_DONE();
}
