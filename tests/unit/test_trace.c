/*
 * test_trace.c - the tracing engine (cloud/trace.c) on real stores.
 *
 * Every worked example of docs/TRACING.md is a test here, on a store built
 * in a fresh directory (enrolled gateways, ingested records): touching
 * intervals, exactly min-overlap, the edges of the infectious window, a
 * chain across venues up to order 3 (incubation bounds), a person reachable
 * at orders 1 and 2, the earliest exposure choosing "via", headcount and
 * unreadable paper entries, one phone written three ways, recorded exits
 * against dwell (cap, empty interval, one person recorded by two gateways),
 * risk judged on the most exposure within any 24 hours (or another risk
 * period) while the total is reported too.
 *
 * The command (cl_cmd_trace, called in-process with a real config, keys,
 * sealed capsules and audit log, against the reveal service's own code
 * answering in a thread, tests/reveal_test.h): the exact JSON of an
 * example, the human form, the break-glass --reveal, one audit entry per
 * trace written by the service before any output, nothing printed when the
 * audit log cannot be written, --as refused, usage errors.
 *
 * Then a randomized comparison: for many seeds, random venues, people,
 * visits, windows and depths; the engine's contacts (pid, order, via,
 * first exposure, overlap, the most overlap within the risk period, risk,
 * headcount extra) and unnamed counts must equal the brute force of
 * tests/trace_brute.h, written independently over the raw visit list.
 */
#include "test.h"
#include "reveal_test.h"

#include "audit.h"
#include "authority.h"
#include "cli.h"
#include "commands.h"
#include "pidcache.h"
#include "store.h"
#include "trace.h"
#include "trace_report.h"
#include "trace_brute.h"

#include "anshim/bytes.h"
#include "anshim/capsule.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>

#define MAP_TEST (UINT64_C(32) << 20)

static int64_t at(int day, int hh, int mm)
{
	return BASE + (int64_t)day * DAY + hh * HOUR + mm * MIN;
}

/* ---- a store fixture ---------------------------------------------------- */

struct pending {
	unsigned gw;
	struct as_record r;
	uint8_t pid[AS_PID_LEN];
};

struct fx {
	char dir[64];
	struct cl_store *s;
	struct {
		uint8_t id[AS_GWID_LEN];
		uint64_t seq;
	} gw[32];
	unsigned ngw;
	struct pending *pend;
	size_t npend, cap;
};

static int fx_open(struct fx *f)
{
	char err[300] = "";
	int rc;

	memset(f, 0, sizeof *f);
	test_tmpdir(f->dir);
	rc = cl_store_open(&f->s, f->dir, MAP_TEST, 0, err, sizeof err);
	if (!CHECK_OK(rc))
		fprintf(stderr, "  %s\n", err);
	return rc == 0;
}

static void fx_close(struct fx *f)
{
	cl_store_close(f->s);
	test_rmdir(f->dir);
	free(f->pend);
}

/* Enrol a new gateway at venue (created or updated with dwell); returns
 * the gateway's index for fx_visit. */
static unsigned fx_gateway(struct fx *f, uint32_t venue, const char *name, unsigned dwell)
{
	struct cl_gateway g;
	struct cl_venue v;
	unsigned i = f->ngw++;

	memset(&g, 0, sizeof g);
	memset(&v, 0, sizeof v);
	test_fill(g.gw_id, AS_GWID_LEN, 300 + i);
	test_fill(g.pk, AS_SIGN_PK_LEN, 400 + i);
	g.venue_id = venue;
	g.enrolled_at = BASE - 30 * DAY;
	v.id = venue;
	snprintf(v.name, sizeof v.name, "%s", name);
	snprintf(v.category, sizeof v.category, "test");
	v.dwell_minutes = (uint16_t)dwell;
	CHECK_OK(cl_store_enroll(f->s, &g, &v));
	memcpy(f->gw[i].id, g.gw_id, AS_GWID_LEN);
	return i;
}

/* Queue one visit at gateway gw (pid NULL: an unreadable paper entry). */
static void fx_visit(struct fx *f, unsigned gw, const uint8_t *pid, uint8_t kind, int64_t entry,
		     int64_t exit, uint16_t headcount)
{
	struct pending *p;

	if (f->npend == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->pend = realloc(f->pend, f->cap * sizeof *f->pend);
		if (!f->pend)
			abort();
	}
	p = &f->pend[f->npend++];
	memset(p, 0, sizeof *p);
	p->gw = gw;
	p->r.kind = kind;
	p->r.entry_time = entry;
	p->r.exit_time = exit;
	p->r.headcount = headcount;
	if (pid && kind != AS_REC_MANUAL)
		memcpy(p->r.pid, pid, AS_PID_LEN);
	if (pid)
		memcpy(p->pid, pid, AS_PID_LEN);
	test_fill(p->r.capsule, AS_CAPSULE_LEN, 77);
}

static void fx_scan(struct fx *f, unsigned gw, const uint8_t *pid, int64_t entry)
{
	fx_visit(f, gw, pid, AS_REC_PASS, entry, 0, 1);
}

/* Ingest everything queued: one transaction, one batch per gateway. */
static void fx_flush(struct fx *f)
{
	struct cl_ingest *in;
	struct as_record *recs = calloc(f->npend + 1, sizeof *recs);
	uint8_t (*pids)[AS_PID_LEN] = calloc(f->npend + 1, sizeof *pids);

	if (!recs || !pids)
		abort();
	if (!CHECK_OK(cl_store_ingest_begin(f->s, &in)))
		goto out;
	for (unsigned g = 0; g < f->ngw; g++) {
		struct cl_ingest_result res;
		size_t n = 0;

		for (size_t i = 0; i < f->npend; i++) {
			if (f->pend[i].gw != g)
				continue;
			recs[n] = f->pend[i].r;
			recs[n].seq = ++f->gw[g].seq;
			memcpy(pids[n], f->pend[i].pid, AS_PID_LEN);
			n++;
		}
		if (!n)
			continue;
		CHECK_OK(cl_store_ingest_batch(in, f->gw[g].id, recs,
					       (const uint8_t (*)[AS_PID_LEN])pids, n, BASE, BASE,
					       &res));
		CHECK_EQ_INT(res.stored, n);
	}
	CHECK_OK(cl_store_ingest_commit(in));
out:
	f->npend = 0;
	free(recs);
	free(pids);
}

/* One app check-in (and check-out when exit is not 0) at venue, in its own
 * transaction, as anshim-cloudd stores a wallet's messages. */
static void fx_app(struct fx *f, uint32_t venue, const uint8_t pid[AS_PID_LEN], int64_t entry,
		   int64_t exit)
{
	static unsigned n;
	struct cl_app_visit a;
	struct cl_ingest *in;
	int out = 0;

	memset(&a, 0, sizeof a);
	test_fill(a.checkin_id, CL_APP_ID_LEN, 900 + n++);
	memcpy(a.pid, pid, AS_PID_LEN);
	test_fill(a.capsule, AS_CAPSULE_LEN, 77);
	a.venue_id = venue;
	a.entry = entry;
	if (!CHECK_OK(cl_store_ingest_begin(f->s, &in)))
		return;
	CHECK_OK(cl_store_ingest_app(in, &a, &out));
	CHECK_EQ_INT(out, CL_APP_STORED);
	if (exit) {
		CHECK_OK(cl_store_ingest_app_exit(in, a.checkin_id, pid, exit, &out));
		CHECK_EQ_INT(out, CL_APP_STORED);
	}
	CHECK_OK(cl_store_ingest_commit(in));
}

/* People of the worked examples: person(pid, 'B'). */
static void person(uint8_t pid[AS_PID_LEN], char who)
{
	test_fill(pid, AS_PID_LEN, 500 + (unsigned)who);
}

/* ---- collecting results: struct got (tests/trace_brute.h) ---- */

/* Trace with the defaults but risk_period (0: the default). */
static int trace_period(struct fx *f, const uint8_t case_pid[AS_PID_LEN], int64_t from,
			int64_t to, unsigned depth, int64_t risk_period, struct got *g,
			struct cl_trace_order *total)
{
	struct cl_trace_params p;
	struct cl_trace_sink sink = {g, got_case_visit, got_contact, got_order};
	int rc;

	memset(g, 0, sizeof *g);
	cl_trace_params_init(&p);
	if (risk_period)
		p.risk_period = risk_period;
	memcpy(p.pid, case_pid, AS_PID_LEN);
	p.from = from;
	p.to = to;
	p.depth = depth;
	rc = cl_trace_run(f->s, &p, &sink, total);
	CHECK(!g->order_violation);
	CHECK(!g->late_visit);
	if (rc == 0)
		CHECK_EQ_INT(g->norders, depth);
	return rc;
}

static int trace(struct fx *f, const uint8_t case_pid[AS_PID_LEN], int64_t from, int64_t to,
		 unsigned depth, struct got *g, struct cl_trace_order *total)
{
	return trace_period(f, case_pid, from, to, depth, 0, g, total);
}

static const struct cl_trace_contact *find(const struct got *g, char who)
{
	uint8_t pid[AS_PID_LEN];
	const struct cl_trace_contact *hit = NULL;
	int n = 0;

	person(pid, who);
	for (size_t i = 0; i < g->nc; i++)
		if (memcmp(g->c[i].pid, pid, AS_PID_LEN) == 0) {
			hit = &g->c[i];
			n++;
		}
	CHECK(n <= 1); /* each person once */
	return hit;
}

/* Check contact who: order, via, venue, first exposure, overlap seconds,
 * risk.  Returns the contact. */
static const struct cl_trace_contact *expect_s(const struct got *g, char who, unsigned order,
					       char via, uint32_t venue, int64_t start, int64_t end,
					       int64_t overlap, int high)
{
	const struct cl_trace_contact *c = find(g, who);
	uint8_t via_pid[AS_PID_LEN];

	test_ctx("contact %c", who);
	if (!CHECK(c != NULL))
		return NULL;
	person(via_pid, via);
	CHECK_EQ_INT(c->order, order);
	CHECK_MEM(c->via, via_pid, AS_PID_LEN);
	CHECK_EQ_INT(c->venue, venue);
	CHECK_EQ_INT(c->start, start);
	CHECK_EQ_INT(c->end, end);
	CHECK_EQ_INT(c->overlap, overlap);
	CHECK_EQ_INT(c->high, high);
	test_ctx_clear();
	return c;
}

/* The same with the overlap in whole minutes. */
static const struct cl_trace_contact *expect(const struct got *g, char who, unsigned order,
					     char via, uint32_t venue, int64_t start, int64_t end,
					     int64_t overlap_min, int high)
{
	return expect_s(g, who, order, via, venue, start, end, overlap_min * MIN, high);
}

/* ---- worked examples (docs/TRACING.md) --------------------------------- */

enum { CAFE = 1, GYM = 6, MARKET = 7 };

/* Example 1: intervals that only touch do not overlap; exactly 15 minutes
 * is high, 14 minutes is low. */
static void test_example_touching_and_min_overlap(void)
{
	struct fx f;
	struct got g;
	struct cl_trace_order tot;
	uint8_t a[16], b[16], c[16], d[16], e[16], ff[16];
	unsigned cafe;

	if (!fx_open(&f))
		return;
	cafe = fx_gateway(&f, CAFE, "Cafe Halla", 60);
	person(a, 'A'), person(b, 'B'), person(c, 'C'), person(d, 'D');
	person(e, 'E'), person(ff, 'F');
	fx_scan(&f, cafe, a, at(0, 12, 0));  /* [12:00, 13:00) by dwell */
	fx_scan(&f, cafe, b, at(0, 13, 0));  /* touches the end */
	fx_scan(&f, cafe, c, at(0, 11, 0));  /* touches the start */
	fx_scan(&f, cafe, d, at(0, 12, 59)); /* 1 minute */
	fx_scan(&f, cafe, e, at(0, 12, 45)); /* exactly 15 minutes */
	fx_scan(&f, cafe, ff, at(0, 12, 46)); /* 14 minutes */
	fx_flush(&f);

	CHECK_OK(trace(&f, a, at(0, 0, 0), at(0, 23, 59), 1, &g, &tot));
	CHECK_EQ_INT(g.ncv, 1);
	CHECK_EQ_INT(g.cv[0].start, at(0, 12, 0));
	CHECK_EQ_INT(g.cv[0].end, at(0, 13, 0));
	CHECK(find(&g, 'B') == NULL);
	CHECK(find(&g, 'C') == NULL);
	expect(&g, 'D', 1, 'A', CAFE, at(0, 12, 59), at(0, 13, 0), 1, 0);
	expect(&g, 'E', 1, 'A', CAFE, at(0, 12, 45), at(0, 13, 0), 15, 1);
	expect(&g, 'F', 1, 'A', CAFE, at(0, 12, 46), at(0, 13, 0), 14, 0);
	CHECK_EQ_INT(g.nc, 3);
	CHECK_EQ_INT(tot.people, 3);
	CHECK_EQ_INT(tot.high, 1);
	CHECK_EQ_INT(tot.low, 2);
	/* Sorted by (venue, start): E 12:45, F 12:46, D 12:59. */
	if (g.nc == 3) {
		CHECK_EQ_INT(g.c[0].start, at(0, 12, 45));
		CHECK_EQ_INT(g.c[2].start, at(0, 12, 59));
		CHECK_STR(cl_trace_source_name(g.c[0].kind), "scan");
	}
	got_free(&g);
	fx_close(&f);
}

/* Example 2: only case visits whose entry lies in [from, to] count; both
 * bounds are inclusive. */
static void test_example_window_edges(void)
{
	struct fx f;
	struct got g;
	uint8_t a[16], gg[16], h[16], i[16], j[16];
	unsigned v2, v3, v4, v5;
	int64_t from = at(0, 10, 0), to = at(0, 18, 0);

	if (!fx_open(&f))
		return;
	v2 = fx_gateway(&f, 2, "Noodle Bar", 30);
	v3 = fx_gateway(&f, 3, "Bookshop", 30);
	v4 = fx_gateway(&f, 4, "Bakery", 30);
	v5 = fx_gateway(&f, 5, "Karaoke", 30);
	person(a, 'A'), person(gg, 'G'), person(h, 'H'), person(i, 'I'), person(j, 'J');
	fx_scan(&f, v2, a, from - 1);  /* 09:59:59: outside */
	fx_scan(&f, v3, a, from);      /* 10:00:00: inside */
	fx_scan(&f, v4, a, to);        /* 18:00:00: inside */
	fx_scan(&f, v5, a, to + 1);    /* 18:00:01: outside */
	fx_scan(&f, v2, gg, at(0, 10, 0));
	fx_scan(&f, v3, h, at(0, 10, 10));
	fx_scan(&f, v4, i, at(0, 18, 10));
	fx_scan(&f, v5, j, at(0, 18, 10));
	fx_flush(&f);

	CHECK_OK(trace(&f, a, from, to, 1, &g, NULL));
	CHECK_EQ_INT(g.ncv, 2);
	if (g.ncv == 2) {
		CHECK_EQ_INT(g.cv[0].v.venue_id, 3);
		CHECK_EQ_INT(g.cv[1].v.venue_id, 4);
		CHECK_EQ_INT(g.cv[1].end, to + 30 * MIN);
	}
	CHECK(find(&g, 'G') == NULL);
	expect(&g, 'H', 1, 'A', 3, at(0, 10, 10), at(0, 10, 30), 20, 1);
	expect(&g, 'I', 1, 'A', 4, at(0, 18, 10), at(0, 18, 30), 20, 1);
	CHECK(find(&g, 'J') == NULL);
	CHECK_EQ_INT(g.nc, 2);
	got_free(&g);
	fx_close(&f);
}

/* Example 3: a chain across venues: A -> B (Cafe) -> C (Gym, next day) ->
 * F (Market).  B's Gym visit before B's exposure and B's visit after the
 * incubation period expose nobody. */
static void test_example_chain(void)
{
	struct fx f;
	struct got g;
	struct cl_trace_order tot;
	uint8_t a[16], b[16], c[16], d[16], e[16], ff[16];
	unsigned cafe, gym, market;

	if (!fx_open(&f))
		return;
	cafe = fx_gateway(&f, CAFE, "Cafe Halla", 60);
	gym = fx_gateway(&f, GYM, "Jeju Gym", 60);
	market = fx_gateway(&f, MARKET, "Dongmun Market", 45);
	person(a, 'A'), person(b, 'B'), person(c, 'C'), person(d, 'D');
	person(e, 'E'), person(ff, 'F');
	fx_scan(&f, cafe, a, at(0, 12, 0));
	fx_scan(&f, cafe, b, at(0, 12, 30));   /* B exposed 12:30, 30 min */
	fx_scan(&f, gym, b, at(-1, 18, 0));    /* before B's exposure */
	fx_scan(&f, gym, d, at(-1, 18, 10));
	fx_scan(&f, gym, b, at(1, 18, 0));     /* within B's 14 days */
	fx_scan(&f, gym, c, at(1, 18, 20));    /* C exposed by B, 40 min */
	fx_scan(&f, gym, b, at(15, 9, 0));     /* after 14 days from 12:30 on day 0 */
	fx_scan(&f, gym, e, at(15, 9, 0));
	fx_scan(&f, market, c, at(2, 9, 0));
	fx_scan(&f, market, ff, at(2, 9, 30)); /* F exposed by C, 15 min */
	fx_flush(&f);

	CHECK_OK(trace(&f, a, at(0, 0, 0), at(0, 23, 59), 1, &g, &tot));
	expect(&g, 'B', 1, 'A', CAFE, at(0, 12, 30), at(0, 13, 0), 30, 1);
	CHECK_EQ_INT(g.nc, 1);
	got_free(&g);

	CHECK_OK(trace(&f, a, at(0, 0, 0), at(0, 23, 59), 2, &g, &tot));
	expect(&g, 'B', 1, 'A', CAFE, at(0, 12, 30), at(0, 13, 0), 30, 1);
	expect(&g, 'C', 2, 'B', GYM, at(1, 18, 20), at(1, 19, 0), 40, 1);
	CHECK(find(&g, 'D') == NULL);
	CHECK(find(&g, 'E') == NULL);
	CHECK_EQ_INT(g.nc, 2);
	CHECK_EQ_INT(g.orders[0].people, 1);
	CHECK_EQ_INT(g.orders[1].people, 1);
	got_free(&g);

	CHECK_OK(trace(&f, a, at(0, 0, 0), at(0, 23, 59), 3, &g, &tot));
	expect(&g, 'F', 3, 'C', MARKET, at(2, 9, 30), at(2, 9, 45), 15, 1);
	CHECK_EQ_INT(g.nc, 3);
	CHECK_EQ_INT(tot.people, 3);
	CHECK_EQ_INT(tot.order, 3);
	got_free(&g);

	/* The incubation period bounds B's traced visits: with 16 days, E is
	 * reached at order 2 too. */
	{
		struct cl_trace_params p;
		struct cl_trace_sink sink = {&g, got_case_visit, got_contact, got_order};

		memset(&g, 0, sizeof g);
		cl_trace_params_init(&p);
		memcpy(p.pid, a, 16);
		p.from = at(0, 0, 0);
		p.to = at(0, 23, 59);
		p.depth = 2;
		p.incubation = 16 * DAY;
		CHECK_OK(cl_trace_run(f.s, &p, &sink, NULL));
		expect(&g, 'E', 2, 'B', GYM, at(15, 9, 0), at(15, 10, 0), 60, 1);
		got_free(&g);
	}
	fx_close(&f);
}

/* Example 4: C overlaps the case (10 min) and B (20 min): reported once,
 * at order 1, via the case, with the case's 10 minutes.  D is exposed by
 * C at the Gym and earlier by B at the Market: via B. */
static void test_example_lowest_order_and_via(void)
{
	struct fx f;
	struct got g;
	uint8_t a[16], b[16], c[16], d[16];
	unsigned cafe, gym, market;

	if (!fx_open(&f))
		return;
	cafe = fx_gateway(&f, CAFE, "Cafe Halla", 60);
	gym = fx_gateway(&f, GYM, "Jeju Gym", 60);
	market = fx_gateway(&f, MARKET, "Dongmun Market", 60);
	person(a, 'A'), person(b, 'B'), person(c, 'C'), person(d, 'D');
	fx_scan(&f, cafe, a, at(0, 12, 0));
	fx_scan(&f, cafe, b, at(0, 12, 10));
	fx_scan(&f, cafe, c, at(0, 12, 50));
	fx_scan(&f, gym, c, at(1, 18, 0));
	fx_scan(&f, gym, d, at(1, 18, 30));    /* C exposes D at 18:30, 30 min */
	fx_scan(&f, market, b, at(1, 9, 0));
	fx_scan(&f, market, d, at(1, 9, 50));  /* B exposes D at 09:50, 10 min */
	fx_flush(&f);

	CHECK_OK(trace(&f, a, at(0, 0, 0), at(0, 23, 59), 2, &g, NULL));
	expect(&g, 'B', 1, 'A', CAFE, at(0, 12, 10), at(0, 13, 0), 50, 1);
	expect(&g, 'C', 1, 'A', CAFE, at(0, 12, 50), at(0, 13, 0), 10, 0);
	expect(&g, 'D', 2, 'B', MARKET, at(1, 9, 50), at(1, 10, 0), 10, 0);
	CHECK_EQ_INT(g.nc, 3);
	got_free(&g);
	fx_close(&f);
}

/* Example 5: a paper entry for K and two companions; an unreadable paper
 * entry for two people; one that does not overlap. */
static void test_example_headcount(void)
{
	struct fx f;
	struct got g;
	struct cl_trace_order tot;
	uint8_t a[16], k[16];
	const struct cl_trace_contact *c;
	unsigned cafe;

	if (!fx_open(&f))
		return;
	cafe = fx_gateway(&f, CAFE, "Cafe Halla", 60);
	person(a, 'A'), person(k, 'K');
	fx_scan(&f, cafe, a, at(0, 12, 0));
	fx_visit(&f, cafe, k, AS_REC_MANUAL, at(0, 12, 20), 0, 3);
	fx_visit(&f, cafe, NULL, AS_REC_MANUAL, at(0, 12, 30), 0, 2);
	fx_visit(&f, cafe, NULL, AS_REC_MANUAL, at(0, 14, 0), 0, 4);
	fx_flush(&f);

	CHECK_OK(trace(&f, a, at(0, 0, 0), at(0, 23, 59), 1, &g, &tot));
	c = expect(&g, 'K', 1, 'A', CAFE, at(0, 12, 20), at(0, 13, 0), 40, 1);
	if (c) {
		CHECK_EQ_INT(c->headcount_extra, 2);
		CHECK_STR(cl_trace_source_name(c->kind), "manual");
	}
	CHECK_EQ_INT(g.nc, 1);
	CHECK_EQ_INT(tot.people, 1);
	CHECK_EQ_INT(tot.extra, 2);
	CHECK_EQ_INT(tot.unnamed_visits, 1);
	CHECK_EQ_INT(tot.unnamed_people, 2);
	got_free(&g);
	fx_close(&f);
}

/* Example 6: one phone, three spellings.  The case scanned a credential
 * issued for 010-1234-5678 at the Cafe and was written on paper as
 * +82 10 1234 5678 at the Market; the investigator types +82 10-1234-5678.
 * L: credential for +82-10-9876-5432, paper entry 01098765432. */
static void test_example_phone_spellings(void)
{
	struct fx f;
	struct got g;
	struct test_keys keys;
	uint8_t a_scan[16], a_paper[16], a_query[16], l_scan[16], l_paper[16];
	const struct cl_trace_contact *c;
	unsigned cafe, market;

	test_keys_init(&keys);
	if (!fx_open(&f))
		return;
	CHECK_OK(as_pid_from_phone(a_scan, keys.pseudonym, "010-1234-5678"));
	CHECK_OK(as_pid_from_phone(a_paper, keys.pseudonym, "+82 10 1234 5678"));
	CHECK_OK(as_pid_from_phone(a_query, keys.pseudonym, "+82 10-1234-5678"));
	CHECK_OK(as_pid_from_phone(l_scan, keys.pseudonym, "+82-10-9876-5432"));
	CHECK_OK(as_pid_from_phone(l_paper, keys.pseudonym, "01098765432"));
	CHECK_MEM(a_scan, a_paper, 16);
	CHECK_MEM(l_scan, l_paper, 16);
	cafe = fx_gateway(&f, CAFE, "Cafe Halla", 60);
	market = fx_gateway(&f, MARKET, "Dongmun Market", 60);
	fx_scan(&f, cafe, a_scan, at(0, 12, 0));
	fx_visit(&f, market, a_paper, AS_REC_MANUAL, at(0, 15, 0), 0, 1);
	fx_visit(&f, cafe, l_scan, AS_REC_CARD, at(0, 12, 40), 0, 1);
	fx_visit(&f, market, l_paper, AS_REC_MANUAL, at(0, 15, 50), 0, 1);
	fx_flush(&f);

	CHECK_OK(trace(&f, a_query, at(0, 0, 0), at(0, 23, 59), 1, &g, NULL));
	CHECK_EQ_INT(g.ncv, 2);
	if (g.ncv == 2) {
		CHECK_STR(cl_trace_source_name(g.cv[0].v.kind), "scan");
		CHECK_STR(cl_trace_source_name(g.cv[1].v.kind), "manual");
	}
	CHECK_EQ_INT(g.nc, 1);
	c = g.nc ? &g.c[0] : NULL;
	if (CHECK(c != NULL)) {
		CHECK_MEM(c->pid, l_scan, 16);
		CHECK_MEM(c->via, a_query, 16);
		CHECK_EQ_INT(c->venue, CAFE);
		CHECK_EQ_INT(c->start, at(0, 12, 40));
		CHECK_EQ_INT(c->end, at(0, 13, 0));
		CHECK_EQ_INT(c->overlap, 30 * MIN); /* 20 at the Cafe + 10 at the Market */
		CHECK_EQ_INT(c->high, 1);
		CHECK_STR(cl_trace_source_name(c->kind), "card");
	}
	got_free(&g);
	fx_close(&f);
}

/* Example 7: a recorded exit wins over dwell; visits are capped at 24 h;
 * an exit at the entry time is an empty visit; one person recorded by two
 * gateways of a venue is counted once. */
static void test_example_exit_and_dwell(void)
{
	struct fx f;
	struct got g;
	uint8_t a[16], m[16], n[16], o[16], p[16], q[16], r[16];
	unsigned gw1, gw2;

	if (!fx_open(&f))
		return;
	gw1 = fx_gateway(&f, CAFE, "Cafe Halla", 60);
	gw2 = fx_gateway(&f, CAFE, "Cafe Halla", 60); /* second door */
	person(a, 'A'), person(m, 'M'), person(n, 'N'), person(o, 'O');
	person(p, 'P'), person(q, 'Q'), person(r, 'R');
	fx_visit(&f, gw1, a, AS_REC_PASS, at(0, 12, 0), at(0, 12, 20), 1);
	fx_scan(&f, gw1, m, at(0, 12, 30));                               /* after A left */
	fx_visit(&f, gw2, n, AS_REC_PASS, at(0, 11, 0), at(0, 12, 10), 1); /* 10 min */
	fx_scan(&f, gw2, o, at(0, 11, 50));                               /* 20 min by dwell */
	fx_visit(&f, gw1, p, AS_REC_PASS, at(-1, 11, 0), at(0, 14, 0), 1); /* 27 h: capped */
	fx_scan(&f, gw1, q, at(0, 12, 0));
	fx_scan(&f, gw2, q, at(0, 12, 5));                                /* counted once */
	fx_visit(&f, gw2, r, AS_REC_PASS, at(0, 12, 10), at(0, 12, 10), 1); /* empty */
	fx_flush(&f);

	CHECK_OK(trace(&f, a, at(0, 0, 0), at(0, 23, 59), 1, &g, NULL));
	CHECK_EQ_INT(g.ncv, 1);
	if (g.ncv)
		CHECK_EQ_INT(g.cv[0].end, at(0, 12, 20));
	CHECK(find(&g, 'M') == NULL);
	expect(&g, 'N', 1, 'A', CAFE, at(0, 12, 0), at(0, 12, 10), 10, 0);
	expect(&g, 'O', 1, 'A', CAFE, at(0, 12, 0), at(0, 12, 20), 20, 1);
	CHECK(find(&g, 'P') == NULL);
	expect(&g, 'Q', 1, 'A', CAFE, at(0, 12, 0), at(0, 12, 20), 20, 1);
	CHECK(find(&g, 'R') == NULL);
	CHECK_EQ_INT(g.nc, 3);
	got_free(&g);
	fx_close(&f);
}

/* Example 9: the case checked in by app (rotating code) and checked out;
 * a contact written on paper; an app visitor who arrived as the case left;
 * a pass scanned before. */
static void test_example_app_and_paper(void)
{
	struct fx f;
	struct got g;
	uint8_t a[16], s_[16], t[16], u[16];
	const struct cl_trace_contact *x;
	unsigned cafe;

	if (!fx_open(&f))
		return;
	cafe = fx_gateway(&f, CAFE, "Cafe Halla", 60);
	person(a, 'A'), person(s_, 'S'), person(t, 'T'), person(u, 'U');
	fx_visit(&f, cafe, s_, AS_REC_MANUAL, at(0, 12, 30), 0, 1); /* paper: [12:30, 13:30) */
	fx_scan(&f, cafe, u, at(0, 11, 30));                         /* pass: [11:30, 12:30) */
	fx_flush(&f);
	fx_app(&f, CAFE, a, at(0, 12, 0), at(0, 12, 45));            /* [12:00, 12:45) */
	fx_app(&f, CAFE, t, at(0, 12, 45), 0);                       /* arrives as A leaves */

	CHECK_OK(trace(&f, a, at(0, 0, 0), at(0, 23, 59), 1, &g, NULL));
	CHECK_EQ_INT(g.ncv, 1);
	if (g.ncv) {
		CHECK_EQ_INT(g.cv[0].v.kind, AS_REC_APP);
		CHECK_EQ_INT(g.cv[0].end, at(0, 12, 45));
		CHECK(strcmp(cl_trace_source_name(g.cv[0].v.kind), "app") == 0);
	}
	x = expect(&g, 'S', 1, 'A', CAFE, at(0, 12, 30), at(0, 12, 45), 15, 1);
	CHECK(x && x->kind == AS_REC_MANUAL);
	x = expect(&g, 'U', 1, 'A', CAFE, at(0, 12, 0), at(0, 12, 30), 30, 1);
	CHECK(x && x->kind == AS_REC_PASS);
	CHECK(find(&g, 'T') == NULL);
	CHECK_EQ_INT(g.nc, 2);
	got_free(&g);

	/* Traced from the paper side, the case is S's contact by app. */
	CHECK_OK(trace(&f, s_, at(0, 0, 0), at(0, 23, 59), 1, &g, NULL));
	x = expect(&g, 'A', 1, 'S', CAFE, at(0, 12, 30), at(0, 12, 45), 15, 1);
	CHECK(x && x->kind == AS_REC_APP);
	got_free(&g);
	fx_close(&f);
}

/* Ties: D is exposed at the same moment by B at the Gym and by C at the
 * Market (order 2): via is the smaller pid.  E is exposed at the same
 * moment by the case at two venues: the smaller venue id. */
/* Example 10 is on real dates: day 0 is Monday 30 November 2026 (KST). */
#define NOV30 INT64_C(1795964400) /* 2026-11-30T00:00:00+09:00 */

static int64_t nov30(int day, int hh, int mm, int ss)
{
	return NOV30 + (int64_t)day * DAY + hh * HOUR + mm * MIN + ss;
}

/* Contact who's total and most-in-one-period exposure (seconds), and risk. */
static void expect_period(const struct got *g, char who, int64_t overlap, int64_t period_overlap,
			  int high)
{
	const struct cl_trace_contact *c = find(g, who);

	test_ctx("contact %c", who);
	if (CHECK(c != NULL)) {
		CHECK_EQ_INT(c->overlap, overlap);
		CHECK_EQ_INT(c->period_overlap, period_overlap);
		CHECK_EQ_INT(c->high, high);
	}
	test_ctx_clear();
}

/*
 * Example 10: risk is judged on the most exposure within any 24 hours,
 * not on the total over the window.  B: 8.5 min on 30 November and 17 on
 * 4 December (25.5 in total, 17 in one period: high).  C: 8.5 and 8.5
 * (17 in total, 8.5 in one period: low).  D: 9 min on 2 December 20:51
 * and 7 on 3 December 10:53, 14 hours apart (16 in one period: high).  E:
 * 10 min at 20:50 on 2 and on 3 December, exactly 24 hours apart (20 in
 * total, never more than 10 in one period: low).
 */
static void test_example_risk_period(void)
{
	struct fx f;
	struct got g;
	struct cl_trace_order tot;
	uint8_t a[16], b[16], c[16], d[16], e[16];
	unsigned cafe, market;
	int64_t from = nov30(0, 0, 0, 0), to = nov30(5, 0, 0, 0) - 1;

	if (!fx_open(&f))
		return;
	cafe = fx_gateway(&f, CAFE, "Cafe Halla", 60);
	market = fx_gateway(&f, MARKET, "Market", 60);
	person(a, 'A'), person(b, 'B'), person(c, 'C'), person(d, 'D'), person(e, 'E');
	fx_scan(&f, cafe, a, nov30(0, 12, 0, 0));    /* [12:00, 13:00) */
	fx_scan(&f, market, a, nov30(2, 20, 0, 0));  /* 2 Dec [20:00, 21:00) */
	fx_scan(&f, market, a, nov30(3, 10, 0, 0));  /* 3 Dec [10:00, 11:00) */
	fx_scan(&f, market, a, nov30(3, 20, 0, 0));  /* 3 Dec [20:00, 21:00) */
	fx_scan(&f, cafe, a, nov30(4, 18, 0, 0));    /* 4 Dec [18:00, 19:00) */
	fx_scan(&f, cafe, b, nov30(0, 12, 51, 30));  /* 8.5 min */
	fx_scan(&f, cafe, b, nov30(4, 18, 43, 0));   /* 17 min */
	fx_scan(&f, cafe, c, nov30(0, 12, 51, 30));  /* 8.5 min */
	fx_scan(&f, cafe, c, nov30(4, 18, 51, 30));  /* 8.5 min */
	fx_scan(&f, market, d, nov30(2, 20, 51, 0)); /* 9 min */
	fx_scan(&f, market, d, nov30(3, 10, 53, 0)); /* 7 min, 14 h later */
	fx_scan(&f, market, e, nov30(2, 20, 50, 0)); /* 10 min */
	fx_scan(&f, market, e, nov30(3, 20, 50, 0)); /* 10 min, 24 h later */
	fx_flush(&f);

	/* The default: 15 minutes within any 24 hours. */
	CHECK_OK(trace(&f, a, from, to, 1, &g, &tot));
	CHECK_EQ_INT(g.ncv, 5);
	expect_s(&g, 'B', 1, 'A', CAFE, nov30(0, 12, 51, 30), nov30(0, 13, 0, 0), 25 * MIN + 30, 1);
	expect_period(&g, 'B', 25 * MIN + 30, 17 * MIN, 1);
	expect_s(&g, 'C', 1, 'A', CAFE, nov30(0, 12, 51, 30), nov30(0, 13, 0, 0), 17 * MIN, 0);
	expect_period(&g, 'C', 17 * MIN, 8 * MIN + 30, 0);
	expect(&g, 'D', 1, 'A', MARKET, nov30(2, 20, 51, 0), nov30(2, 21, 0, 0), 16, 1);
	expect_period(&g, 'D', 16 * MIN, 16 * MIN, 1);
	expect(&g, 'E', 1, 'A', MARKET, nov30(2, 20, 50, 0), nov30(2, 21, 0, 0), 20, 0);
	expect_period(&g, 'E', 20 * MIN, 10 * MIN, 0);
	CHECK_EQ_INT(g.nc, 4);
	CHECK_EQ_INT(tot.high, 2);
	CHECK_EQ_INT(tot.low, 2);
	got_free(&g);

	/* 25 hours: E's two exposures fall in one period. */
	CHECK_OK(trace_period(&f, a, from, to, 1, 25 * HOUR, &g, &tot));
	expect_period(&g, 'B', 25 * MIN + 30, 17 * MIN, 1);
	expect_period(&g, 'C', 17 * MIN, 8 * MIN + 30, 0);
	expect_period(&g, 'D', 16 * MIN, 16 * MIN, 1);
	expect_period(&g, 'E', 20 * MIN, 20 * MIN, 1);
	CHECK_EQ_INT(tot.high, 3);
	got_free(&g);

	/* 12 hours: D's are 14 hours apart. */
	CHECK_OK(trace_period(&f, a, from, to, 1, 12 * HOUR, &g, &tot));
	expect_period(&g, 'B', 25 * MIN + 30, 17 * MIN, 1);
	expect_period(&g, 'D', 16 * MIN, 9 * MIN, 0);
	expect_period(&g, 'E', 20 * MIN, 10 * MIN, 0);
	CHECK_EQ_INT(tot.high, 1);
	got_free(&g);

	/* A period as long as the window: the total decides, as everyone's
	 * would have before risk periods. */
	CHECK_OK(trace_period(&f, a, from, to, 1, 5 * DAY, &g, &tot));
	expect_period(&g, 'B', 25 * MIN + 30, 25 * MIN + 30, 1);
	expect_period(&g, 'C', 17 * MIN, 17 * MIN, 1);
	expect_period(&g, 'D', 16 * MIN, 16 * MIN, 1);
	expect_period(&g, 'E', 20 * MIN, 20 * MIN, 1);
	CHECK_EQ_INT(tot.high, 4);
	got_free(&g);
	fx_close(&f);
}

static void test_ties(void)
{
	struct fx f;
	struct got g;
	uint8_t a[16], b[16], c[16], d[16], e[16];
	const struct cl_trace_contact *x;
	unsigned cafe, gym, market;
	char lo, hi;

	if (!fx_open(&f))
		return;
	cafe = fx_gateway(&f, CAFE, "Cafe Halla", 60);
	gym = fx_gateway(&f, GYM, "Jeju Gym", 60);
	market = fx_gateway(&f, MARKET, "Dongmun Market", 60);
	person(a, 'A'), person(b, 'B'), person(c, 'C'), person(d, 'D'), person(e, 'E');
	lo = memcmp(b, c, 16) < 0 ? 'B' : 'C';
	hi = lo == 'B' ? 'C' : 'B';
	fx_scan(&f, cafe, a, at(0, 12, 0));
	fx_scan(&f, cafe, b, at(0, 12, 10));
	fx_scan(&f, cafe, c, at(0, 12, 10));
	fx_scan(&f, gym, hi == 'B' ? b : c, at(1, 17, 0));
	fx_scan(&f, market, lo == 'B' ? b : c, at(1, 17, 30));
	fx_scan(&f, gym, d, at(1, 17, 40));      /* exposed by hi at 17:40, 20 min */
	fx_scan(&f, market, d, at(1, 17, 40));   /* and by lo at 17:40, 50 min */
	fx_scan(&f, gym, a, at(0, 9, 0));        /* the case at two venues at once */
	fx_scan(&f, market, a, at(0, 9, 0));
	fx_scan(&f, market, e, at(0, 9, 30));
	fx_scan(&f, gym, e, at(0, 9, 30));
	fx_flush(&f);

	CHECK_OK(trace(&f, a, at(0, 0, 0), at(0, 23, 59), 2, &g, NULL));
	expect(&g, 'D', 2, lo, MARKET, at(1, 17, 40), at(1, 18, 30), 50, 1);
	x = expect(&g, 'E', 1, 'A', GYM, at(0, 9, 30), at(0, 10, 0), 60, 1);
	(void)x;
	CHECK_EQ_INT(g.nc, 4);
	got_free(&g);
	fx_close(&f);
}

/* Bad parameters; a case with no visits; an interval helper check. */
static void test_params_and_empty(void)
{
	struct fx f;
	struct got g;
	struct cl_trace_params p;
	struct cl_trace_order tot;
	struct cl_visit v;
	int64_t s, e;
	uint8_t a[16];

	if (!fx_open(&f))
		return;
	person(a, 'A');
	cl_trace_params_init(&p);
	CHECK_EQ_INT(p.depth, 1);
	CHECK_EQ_INT(p.min_overlap, 15 * MIN);
	CHECK_EQ_INT(p.incubation, 14 * DAY);
	CHECK_EQ_INT(p.risk_period, 24 * HOUR);
	CHECK_RC(cl_trace_run(f.s, &p, NULL, NULL), AS_E_FIELD); /* zero pid */
	memcpy(p.pid, a, 16);
	p.from = 10, p.to = 9;
	CHECK_RC(cl_trace_run(f.s, &p, NULL, NULL), AS_E_FIELD);
	p.from = 0, p.to = 9;
	p.depth = 0;
	CHECK_RC(cl_trace_run(f.s, &p, NULL, NULL), AS_E_FIELD);
	p.depth = CL_TRACE_DEPTH_MAX + 1;
	CHECK_RC(cl_trace_run(f.s, &p, NULL, NULL), AS_E_FIELD);
	p.depth = 1;
	p.min_overlap = -1;
	CHECK_RC(cl_trace_run(f.s, &p, NULL, NULL), AS_E_FIELD);
	p.min_overlap = 0;
	p.incubation = -1;
	CHECK_RC(cl_trace_run(f.s, &p, NULL, NULL), AS_E_FIELD);
	p.incubation = 0;
	p.risk_period = 0;
	CHECK_RC(cl_trace_run(f.s, &p, NULL, NULL), AS_E_FIELD);
	p.risk_period = -DAY;
	CHECK_RC(cl_trace_run(f.s, &p, NULL, NULL), AS_E_FIELD);

	CHECK_OK(trace(&f, a, INT64_MIN, INT64_MAX, 3, &g, &tot));
	CHECK_EQ_INT(g.ncv, 0);
	CHECK_EQ_INT(g.nc, 0);
	CHECK_EQ_INT(tot.people, 0);
	got_free(&g);

	memset(&v, 0, sizeof v);
	v.entry = 1000;
	cl_trace_interval(&v, 0, &s, &e);
	CHECK_EQ_INT(e - s, CL_DEFAULT_DWELL * MIN);
	v.exit = 999; /* before entry: empty */
	cl_trace_interval(&v, 30, &s, &e);
	CHECK_EQ_INT(e, s);
	v.entry = INT64_MAX - 5;
	v.exit = 0;
	cl_trace_interval(&v, 30, &s, &e);
	CHECK_EQ_INT(e, INT64_MAX);
	fx_close(&f);
}

/* A sink error stops the trace and is returned. */
static int fail_contact(void *ctx, const struct cl_trace_contact *c)
{
	(*(int *)ctx)++;
	return -EIO;
}

static void test_sink_error(void)
{
	struct fx f;
	struct cl_trace_params p;
	struct cl_trace_sink sink;
	uint8_t a[16], b[16], c[16];
	unsigned cafe;
	int calls = 0;

	if (!fx_open(&f))
		return;
	cafe = fx_gateway(&f, CAFE, "Cafe Halla", 60);
	person(a, 'A'), person(b, 'B'), person(c, 'C');
	fx_scan(&f, cafe, a, at(0, 12, 0));
	fx_scan(&f, cafe, b, at(0, 12, 10));
	fx_scan(&f, cafe, c, at(0, 12, 20));
	fx_flush(&f);
	cl_trace_params_init(&p);
	memcpy(p.pid, a, 16);
	p.from = at(0, 0, 0);
	p.to = at(1, 0, 0);
	memset(&sink, 0, sizeof sink);
	sink.ctx = &calls;
	sink.contact = fail_contact;
	CHECK_RC(cl_trace_run(f.s, &p, &sink, NULL), -EIO);
	CHECK_EQ_INT(calls, 1);
	fx_close(&f);
}

/* ---- the command ----------------------------------------------------------- */

struct cli {
	struct fx f;
	char keys[64], adir[64];
	char conf[128], log[128], badconf[128];
	struct cl_authority auth;
	struct reveal_test rt, bad_rt;    /* the reveal service of conf, of badconf */
	uint8_t a[16], b[16], c[16];
};

static void seal(struct fx *f, const struct cli *x, const char *phone, const char *name)
{
	struct as_contact ct;

	CHECK_OK(as_contact_set(&ct, phone, name));
	CHECK_OK(as_capsule_seal(f->pend[f->npend - 1].r.capsule, &ct, x->auth.contact_pk));
}

/* This process's group may break glass. */
static void write_conf(const char *path, const char *store, const char *keys, const char *log)
{
	FILE *fp = fopen(path, "w");

	if (!fp)
		abort();
	fprintf(fp, "# test_trace\nstore_dir %s\nkeys_dir %s\naudit_log %s\nmap_size 32M\n"
		"reveal_socket %s.sock\nreveal_breakglass_group %lu\n", store, keys, log, path,
		(unsigned long)getgid());
	fclose(fp);
}

/*
 * The store of example 5 with real capsules: case A (010-1234-5678) at the
 * Cafe 12:00; B (010-2222-3333, a Korean name) on a card at 12:40; C on
 * paper (+82 10 4444 5555) with two companions at 12:50; an unreadable
 * paper entry for two at 12:30.
 */
/* Heartbeats of gateway gw every 300 s from `from` to `to`, its daemon up
 * since up_since, filed at their own times. */
static void fx_heartbeats(struct fx *f, unsigned gw, int64_t from, int64_t to, int64_t up_since)
{
	struct cl_ingest *in;
	struct as_heartbeat hb;

	if (!CHECK_OK(cl_store_ingest_begin(f->s, &in)))
		return;
	memset(&hb, 0, sizeof hb);
	memcpy(hb.gw_id, f->gw[gw].id, AS_GWID_LEN);
	hb.up_since = up_since;
	hb.interval = 300;
	hb.clock_state = AS_CLOCK_SYNCED;
	for (int64_t t = from; t <= to; t += 300) {
		hb.sent_at = t;
		CHECK_OK(cl_store_ingest_heartbeat(in, &hb, t, t + 1, NULL));
	}
	CHECK_OK(cl_store_ingest_commit(in));
}

/* museum: also a museum (venue GYM) that the case visits at 15:00, whose
 * gateway sent its first heartbeat at 15:30, and a market (venue MARKET)
 * whose gateway was never heard (see cli_open). */
static int cli_open_with(struct cli *x, int museum)
{
	const char *failed = NULL;
	unsigned cafe, gym = 0;

	memset(x, 0, sizeof *x);
	if (!fx_open(&x->f))
		return 0;
	test_tmpdir(x->keys);
	test_tmpdir(x->adir);
	if (!CHECK_OK(cl_authority_create(x->keys, &failed)) ||
	    !CHECK_OK(cl_authority_load(&x->auth, x->keys, CL_KEY_CONTACT | CL_KEY_PSEUDONYM,
					&failed)))
		return 0;
	snprintf(x->conf, sizeof x->conf, "%s/cloud.conf", x->adir);
	snprintf(x->log, sizeof x->log, "%s/audit.log", x->adir);
	snprintf(x->badconf, sizeof x->badconf, "%s/bad.conf", x->adir);
	write_conf(x->conf, x->f.dir, x->keys, x->log);
	{
		/* An audit log that cannot be opened: under a regular file. */
		char bad[160];

		snprintf(bad, sizeof bad, "%s/cloud.conf/audit.log", x->adir);
		write_conf(x->badconf, x->f.dir, x->keys, bad);
	}
	CHECK_OK(as_pid_from_phone(x->a, x->auth.pseudonym_key, "010-1234-5678"));
	CHECK_OK(as_pid_from_phone(x->b, x->auth.pseudonym_key, "010-2222-3333"));
	CHECK_OK(as_pid_from_phone(x->c, x->auth.pseudonym_key, "+82 10 4444 5555"));
	cafe = fx_gateway(&x->f, CAFE, "Cafe \"Halla\"", 60);
	fx_scan(&x->f, cafe, x->a, at(0, 12, 0));
	seal(&x->f, x, "010-1234-5678", "Case Person");
	fx_visit(&x->f, cafe, x->b, AS_REC_CARD, at(0, 12, 40), 0, 1);
	seal(&x->f, x, "010-2222-3333", "\xea\xb9\x80\xeb\xaf\xbc\xec\x88\x98"); /* 김민수 */
	fx_visit(&x->f, cafe, x->c, AS_REC_MANUAL, at(0, 12, 50), 0, 3);
	seal(&x->f, x, "+82 10 4444 5555", "Lee");
	fx_visit(&x->f, cafe, NULL, AS_REC_MANUAL, at(0, 12, 30), 0, 2);
	if (museum) {
		gym = fx_gateway(&x->f, GYM, "Museum", 60);
		fx_scan(&x->f, gym, x->a, at(0, 15, 0));
		fx_gateway(&x->f, MARKET, "Market", 60);   /* never heard */
	}
	fx_flush(&x->f);
	/* The museum's gateway was first heard at 15:30 (it ran software
	 * without heartbeats before, or its day is replayed with --at times):
	 * the case's visit there 15:00-16:00, which that gateway recorded, is
	 * not a silence but unknown coverage until 15:30. */
	if (museum)
		fx_heartbeats(&x->f, gym, at(0, 15, 30), at(0, 17, 0), at(0, 15, 29));
	/* The cafe's gateway was heard every 5 minutes from 11:00 to 14:00,
	 * but for 12:20-12:40, when its daemon restarted (up since 12:38): the
	 * case's visit 12:00-13:00 is marked with that silence, "down". */
	fx_heartbeats(&x->f, cafe, at(0, 11, 0), at(0, 12, 20), at(0, 10, 0));
	fx_heartbeats(&x->f, cafe, at(0, 12, 40), at(0, 14, 0), at(0, 12, 38));
	/* The command opens the store itself. */
	cl_store_close(x->f.s);
	x->f.s = NULL;
	return CHECK(reveal_test_start(&x->rt, x->conf) == 0) &&
	       CHECK(reveal_test_start(&x->bad_rt, x->badconf) == 0);
}

static int cli_open(struct cli *x)
{
	return cli_open_with(x, 0);
}

static void cli_close(struct cli *x)
{
	reveal_test_stop(&x->rt);
	reveal_test_stop(&x->bad_rt);
	cl_authority_wipe(&x->auth);
	test_rmdir(x->adir);
	test_rmdir(x->keys);
	fx_close(&x->f);
}

/* Run anshim-cloud with the words of cmd (space-separated; '_' inside a
 * word stands for a space); returns stdout (caller frees) and the status. */
static char *run_cli(const char *cmd, int *status)
{
	char buf[1024], *argv[32], *out;
	int argc = 0, saved, fd;
	FILE *tmp = tmpfile();
	long len;

	if (!tmp)
		abort();
	snprintf(buf, sizeof buf, "anshim-cloud %s", cmd);
	for (char *tok = strtok(buf, " "); tok && argc < 31; tok = strtok(NULL, " ")) {
		for (char *q = tok; *q; q++)
			if (*q == '_')
				*q = ' ';
		argv[argc++] = tok;
	}
	argv[argc] = NULL;
	fflush(stdout);
	saved = dup(1);
	fd = fileno(tmp);
	dup2(fd, 1);
	*status = argc > 1 && strcmp(argv[1], "gateways") == 0 ? cl_cmd_gateways(argc, argv)
							       : cl_cmd_trace(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	len = ftell(tmp);
	out = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
	if (!out)
		abort();
	rewind(tmp);
	if (len > 0 && fread(out, 1, (size_t)len, tmp) != (size_t)len)
		out[0] = '\0';
	fclose(tmp);
	return out;
}

struct audit_list {
	struct cl_audit_entry e[8];
	int n;
};

static int audit_collect(void *ctx, uint64_t index, const struct cl_audit_entry *e)
{
	struct audit_list *l = ctx;

	if (l->n < 8)
		l->e[l->n] = *e;
	l->n++;
	return 0;
}

static int audit_count(const struct cli *x, struct audit_list *l)
{
	memset(l, 0, sizeof *l);
	if (access(x->log, F_OK) != 0)
		return 0;
	CHECK_OK(cl_audit_each(x->log, audit_collect, l));
	return l->n;
}

static void test_cli_json(void)
{
	struct cli x;
	struct audit_list al;
	char cmd[600], want[4096], a[33], b[33], c[33], gw[33];
	char *out;
	int st;

	if (!cli_open(&x))
		goto out;
	as_hex_encode(gw, x.f.gw[0].id, 16);
	as_hex_encode(a, x.a, 16);
	as_hex_encode(b, x.b, 16);
	as_hex_encode(c, x.c, 16);
	snprintf(cmd, sizeof cmd, "trace --config %s --phone +82_10_1234_5678 --from 2026-03-02 "
		 "--to 2026-03-02 --json --reason lab_report_case_7", x.conf);
	out = run_cli(cmd, &st);
	CHECK_EQ_INT(st, 0);
	snprintf(want, sizeof want,
		 "{\"case\":{\"pid\":\"%s\",\"from\":\"2026-03-02T00:00:00+09:00\","
		 "\"to\":\"2026-03-02T23:59:59+09:00\",\"depth\":1,\"min_overlap_minutes\":15,"
		 "\"risk_period_minutes\":1440,\"incubation_days\":14,\"source\":\"scan\"},"
		 "\"visits\":[{\"venue\":1,\"venue_name\":\"Cafe \\\"Halla\\\"\","
		 "\"venue_category\":\"test\",\"start\":\"2026-03-02T12:00:00+09:00\",\"end\":\"2026-03-02T13:00:00+09:00\","
		 "\"source\":\"scan\",\"headcount\":1,\"exit_recorded\":false,"
		 "\"clock_unsynced\":false,\"gateway_silent\":[{\"gateway\":\"%s\","
		 "\"kind\":\"down\",\"from\":\"2026-03-02T12:20:00+09:00\","
		 "\"to\":\"2026-03-02T12:40:00+09:00\"}],\"gateway_coverage_unknown\":[]}],"
		 "\"contacts\":[{\"pid\":\"%s\",\"order\":1,\"venue\":1,"
		 "\"venue_name\":\"Cafe \\\"Halla\\\"\",\"start\":\"2026-03-02T12:40:00+09:00\","
		 "\"end\":\"2026-03-02T13:00:00+09:00\",\"overlap_minutes\":20,"
		 "\"period_overlap_minutes\":20,\"risk\":\"high\","
		 "\"via\":\"%s\",\"source\":\"card\"},"
		 "{\"pid\":\"%s\",\"order\":1,\"venue\":1,"
		 "\"venue_name\":\"Cafe \\\"Halla\\\"\",\"start\":\"2026-03-02T12:50:00+09:00\","
		 "\"end\":\"2026-03-02T13:00:00+09:00\",\"overlap_minutes\":10,"
		 "\"period_overlap_minutes\":10,\"risk\":\"low\","
		 "\"via\":\"%s\",\"source\":\"manual\",\"headcount_extra\":2}],"
		 "\"orders\":[{\"order\":1,\"people\":2,\"high\":1,\"low\":1,\"headcount_extra\":2,"
		 "\"unnamed_visits\":1,\"unnamed_people\":2}],"
		 "\"totals\":{\"people\":2,\"high\":1,\"low\":1,\"headcount_extra\":2,"
		 "\"unnamed_visits\":1,\"unnamed_people\":2},\"visits_gateway_silent\":1,"
		 "\"visits_coverage_unknown\":0}\n",
		 a, gw, b, a, c, a);
	CHECK_STR(out, want);
	CHECK(strstr(out, "+8210") == NULL);
	free(out);
	if (CHECK_EQ_INT(audit_count(&x, &al), 1)) {
		CHECK_STR(al.e[0].action, "trace");
		CHECK_STR(al.e[0].case_ref, a);
		CHECK_STR(al.e[0].reason, "lab report case 7");
		CHECK_EQ_INT(al.e[0].contacts, 2);
		CHECK_EQ_INT(al.e[0].revealed, 0);
		CHECK_EQ_INT(al.e[0].depth, 1);
		CHECK_EQ_INT(al.e[0].window_from, at(0, 0, 0));
		CHECK_EQ_INT(al.e[0].window_to, at(1, 0, 0) - 1);
		CHECK(al.e[0].who[0] != '\0');
	}

	/* --reveal (break-glass): phones and names, and the entry says how
	 * many, with this process's Unix user. */
	snprintf(cmd, sizeof cmd, "trace --config %s --pid %s --from 2026-03-02T00:00+09:00 "
		 "--to 2026-03-03T00:00+09:00 --json --reveal --reason second_look", x.conf, a);
	out = run_cli(cmd, &st);
	CHECK_EQ_INT(st, 0);
	CHECK(strstr(out, "\"phone\":\"+821022223333\",\"name\":\"\xea\xb9\x80\xeb\xaf\xbc\xec\x88\x98\"}") != NULL);
	CHECK(strstr(out, "\"phone\":\"+821044445555\",\"name\":\"Lee\"") != NULL);
	CHECK(strstr(out, "\"revealed\":2}") != NULL);
	CHECK(strstr(out, "+821012345678") == NULL); /* never the case's own */
	free(out);
	if (CHECK_EQ_INT(audit_count(&x, &al), 2)) {
		struct rv_peer me = {.uid = getuid()};

		rv_peer_name(&me);
		CHECK_STR(al.e[1].action, "break-glass");
		CHECK_STR(al.e[1].who, me.user);
		CHECK_STR(al.e[0].who, me.user);
		CHECK_EQ_INT(al.e[1].contacts, 2);
		CHECK_EQ_INT(al.e[1].revealed, 2);
		CHECK_EQ_INT(al.e[1].window_to, at(1, 0, 0));
	}
out:
	cli_close(&x);
}

/* A case visit before the venue's gateway's first heartbeat (recorded by
 * that very gateway) is marked "?", unknown coverage, not "!" silent: the
 * gateway was evidently up to record it.  Only the real silence at the
 * cafe counts as silent. */
static void test_cli_before_first_heartbeat(void)
{
	struct cli x;
	char cmd[600], gym[33];
	char *out;
	int st;

	if (!cli_open_with(&x, 1))
		goto out;
	as_hex_encode(gym, x.f.gw[1].id, 16);
	snprintf(cmd, sizeof cmd, "trace --config %s --phone 01012345678 --from 2026-03-02 "
		 "--to 2026-03-02 --reason lab_report", x.conf);
	out = run_cli(cmd, &st);
	CHECK_EQ_INT(st, 0);
	CHECK(strstr(out, "venue 6      Museum\n      ? gateway ") != NULL);
	CHECK(strstr(out, " sent no heartbeat before 2026-03-02T15:30:00+09:00: its coverage then "
			  "is unknown (not a silence)\n") != NULL);
	CHECK(strstr(out, "never-heard") == NULL);
	{
		char mark[60];

		snprintf(mark, sizeof mark, "! gateway %s", gym);
		CHECK(strstr(out, gym) != NULL);
		CHECK(strstr(out, mark) == NULL);
	}
	CHECK(strstr(out, "Case visits at a venue whose gateway was silent: 1 (marked !)") != NULL);
	CHECK(strstr(out, "Case visits before a gateway's first heartbeat: 1 (marked ?)") != NULL);
	free(out);

	snprintf(cmd, sizeof cmd, "trace --config %s --phone 01012345678 --from 2026-03-02 "
		 "--to 2026-03-02 --reason lab_report --json", x.conf);
	out = run_cli(cmd, &st);
	CHECK_EQ_INT(st, 0);
	{
		char want[300];

		snprintf(want, sizeof want, "\"gateway_silent\":[],\"gateway_coverage_unknown\":"
			 "[{\"gateway\":\"%s\",\"before\":\"2026-03-02T15:30:00+09:00\"}]}", gym);
		CHECK(strstr(out, want) != NULL);
	}
	CHECK(strstr(out, "\"visits_gateway_silent\":1,\"visits_coverage_unknown\":1") != NULL);
	free(out);

	/* 'gateways': the museum's time before its first heartbeat is shown
	 * as no data, and '--silent' over it does not list the museum. */
	snprintf(cmd, sizeof cmd, "gateways --config %s --from 2026-03-02T11:30:00+09:00 "
		 "--to 2026-03-02T12:00:00+09:00", x.conf);
	out = run_cli(cmd, &st);
	CHECK_EQ_INT(st, 0);
	CHECK(strstr(out, "    no data 2026-0") != NULL);
	CHECK(strstr(out, " .. 2026-03-02T15:30:00+09:00  ") != NULL);
	CHECK(strstr(out, "    no data 2026-01-31T") != NULL);
	/* The market's gateway, never heard at all, is silent throughout. */
	CHECK(strstr(out, "Market\n  SILENT: never heard from since its enrolment\n  coverage:\n"
			  "    SILENT  2026-01-31T") != NULL);
	free(out);
	snprintf(cmd, sizeof cmd, "gateways --config %s --silent --json --from "
		 "2026-03-02T11:30:00+09:00 --to 2026-03-02T12:00:00+09:00", x.conf);
	out = run_cli(cmd, &st);
	CHECK_EQ_INT(st, 0);
	CHECK(strstr(out, "\"shown\":1") != NULL);
	CHECK(strstr(out, "\"venue_name\":\"Market\"") != NULL);
	CHECK(strstr(out, gym) == NULL);
	free(out);
out:
	cli_close(&x);
}

/* Trace the case of cli_open on 2 March with the options extra, which
 * must succeed; returns stdout (caller frees). */
static char *trace_case(const struct cli *x, const char *extra)
{
	char cmd[600];
	char *out;
	int st;

	snprintf(cmd, sizeof cmd, "trace --config %s --phone 01012345678 --from 2026-03-02 "
		 "--to 2026-03-02 --reason r %s", x->conf, extra);
	out = run_cli(cmd, &st);
	CHECK_EQ_INT(st, 0);
	return out;
}

static void test_cli_text(void)
{
	struct cli x;
	struct audit_list al;
	char cmd[600];
	char *out;
	int st;

	if (!cli_open(&x))
		goto out;
	snprintf(cmd, sizeof cmd, "trace --config %s --phone 01012345678 --from 2026-03-02 "
		 "--to 2026-03-02 --depth 2 --reason lab_report", x.conf);
	out = run_cli(cmd, &st);
	CHECK_EQ_INT(st, 0);
	CHECK(strstr(out, "Case visits (entry inside the window):\n  2026-03-02 12:00-13:00     "
			  "scan    by dwell       venue 1      Cafe \"Halla\"\n"
			  "      ! gateway ") != NULL);
	CHECK(strstr(out, " was silent (down) 2026-03-02T12:20:00+09:00 .. "
			  "2026-03-02T12:40:00+09:00: check-ins there may be missing\n") != NULL);
	CHECK(strstr(out, "Case visits at a venue whose gateway was silent: 1 (marked !)") != NULL);
	CHECK(strstr(out, "  depth 2, min overlap 15 min within any 24h, incubation 14 days\n") !=
	      NULL);
	CHECK(strstr(out, "Order 1 contacts (with the case):\n  Cafe \"Halla\" (venue 1)\n") != NULL);
	/* The heading says which figure is which: risk is judged on the
	 * first, the total sums every venue and day. */
	CHECK(strstr(out, "    pid                               first exposure             max in 24h"
			  "  total exposure  risk  source  via\n") != NULL);
	CHECK(strstr(out, "  2026-03-02 12:40-13:00         20 min          20 min  HIGH  card    "
			  "case\n") != NULL);
	CHECK(strstr(out, "  2026-03-02 12:50-13:00         10 min          10 min  low   manual  "
			  "case  +2 unnamed\n") != NULL);
	CHECK(strstr(out, "Order 2 contacts:\n  none\n  order 2 total: 0 people") != NULL);
	CHECK(strstr(out, "Total: 2 people (1 high, 1 low), 2 unnamed with them, 1 unreadable entry "
			  "(2 people)\n") != NULL);
	CHECK(strstr(out, "+8210") == NULL);
	CHECK(strstr(out, "Lee") == NULL);
	free(out);

	snprintf(cmd, sizeof cmd, "trace --config %s --phone 01012345678 --from 2026-03-02 "
		 "--to 2026-03-02 --reveal --reason call_them", x.conf);
	out = run_cli(cmd, &st);
	CHECK_EQ_INT(st, 0);
	CHECK(strstr(out, "      phone +821022223333  name \xea\xb9\x80\xeb\xaf\xbc\xec\x88\x98\n") != NULL);
	CHECK(strstr(out, "      phone +821044445555  name Lee\n") != NULL);
	CHECK(strstr(out, "Revealed: 2 contacts\n") != NULL);
	free(out);
	CHECK_EQ_INT(audit_count(&x, &al), 2);

	/* Another risk period, named in the report and in the JSON. */
	out = trace_case(&x, "--risk-period 36h");
	CHECK(strstr(out, "min overlap 15 min within any 36h,") != NULL);
	CHECK(strstr(out, "max in 36h  total exposure") != NULL);
	free(out);
	out = trace_case(&x, "--risk-period 10m --min-overlap 10 --json");
	CHECK(strstr(out, "\"min_overlap_minutes\":10,\"risk_period_minutes\":10,") != NULL);
	/* B's 20 minutes hold at most 10 in any 10 minutes: still high. */
	CHECK(strstr(out, "\"overlap_minutes\":20,\"period_overlap_minutes\":10,\"risk\":\"high\"")
	      != NULL);
	free(out);
	out = trace_case(&x, "--risk-period 90m --json");
	CHECK(strstr(out, "\"risk_period_minutes\":90,") != NULL);
	free(out);
	CHECK_EQ_INT(audit_count(&x, &al), 5);
out:
	cli_close(&x);
}

static void test_cli_refusals(void)
{
	struct cli x;
	struct audit_list al;
	char cmd[600];
	char *out;
	int st;

	if (!cli_open(&x))
		goto out;
	/* No audit entry possible: nothing printed, status 1. */
	snprintf(cmd, sizeof cmd, "trace --config %s --phone 01012345678 --from 2026-03-02 "
		 "--to 2026-03-02 --reveal --reason r", x.badconf);
	out = run_cli(cmd, &st);
	CHECK_EQ_INT(st, 1);
	CHECK_STR(out, "");
	free(out);

	/* Usage errors: no reason, --as (a name proves nothing), both or
	 * neither of --phone/--pid, a bad phone, a bad pid, bad numbers,
	 * from > to. */
	{
		static const char *const bad[] = {
			"--phone 01012345678 --from 2026-03-02 --to 2026-03-02",
			"--phone 01012345678 --from 2026-03-02 --to 2026-03-02 --reason _",
			"--phone 01012345678 --from 2026-03-02 --to 2026-03-02 --as kim --reason r",
			"--from 2026-03-02 --to 2026-03-02 --reason r",
			"--phone 01012345678 --pid 00112233445566778899aabbccddeeff --from 2026-03-02 "
			"--to 2026-03-02 --reason r",
			"--phone 12 --from 2026-03-02 --to 2026-03-02 --reason r",
			"--pid 0011 --from 2026-03-02 --to 2026-03-02 --reason r",
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-03 --to 2026-03-02 "
			"--reason r",
			"--pid 00112233445566778899aabbccddeeff --from yesterday --to 2026-03-02 "
			"--reason r",
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-02 --to 2026-03-02 "
			"--depth 4 --reason r",
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-02 --to 2026-03-02 "
			"--min-overlap -1 --reason r",
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-02 --to 2026-03-02 "
			"--incubation 61 --reason r",
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-02 --to 2026-03-02 "
			"--reason r extra",
			/* A risk period needs its unit, one unit, whole minutes, at
			 * least the minimum overlap, at most 60 days. */
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-02 --to 2026-03-02 "
			"--risk-period 24 --reason r",
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-02 --to 2026-03-02 "
			"--risk-period 1d12h --reason r",
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-02 --to 2026-03-02 "
			"--risk-period 24H --reason r",
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-02 --to 2026-03-02 "
			"--risk-period 90s --reason r",
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-02 --to 2026-03-02 "
			"--risk-period 0m --reason r",
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-02 --to 2026-03-02 "
			"--risk-period 10m --reason r",
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-02 --to 2026-03-02 "
			"--risk-period 61d --reason r",
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-02 --to 2026-03-02 "
			"--risk-period 99999999999999999999w --reason r",
			"--pid 00112233445566778899aabbccddeeff --from 2026-03-02 --to 2026-03-02 "
			"--risk-period= --reason r",
		};

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			snprintf(cmd, sizeof cmd, "trace --config %s %s", x.conf, bad[i]);
			test_ctx("%s", bad[i]);
			out = run_cli(cmd, &st);
			CHECK_EQ_INT(st, CL_EXIT_USAGE);
			CHECK_STR(out, "");
			free(out);
		}
		test_ctx_clear();
	}
	CHECK_EQ_INT(audit_count(&x, &al), 0);

	/* A case nobody met: still audited, an empty report. */
	snprintf(cmd, sizeof cmd, "trace --config %s --pid 00112233445566778899aabbccddeeff "
		 "--from 2026-03-02 --to 2026-03-02 --json --reason r", x.conf);
	out = run_cli(cmd, &st);
	CHECK_EQ_INT(st, 0);
	CHECK(strstr(out, "\"source\":null},\"visits\":[],\"contacts\":[],\"orders\":[{\"order\":1,"
			  "\"people\":0,") != NULL);
	free(out);
	CHECK_EQ_INT(audit_count(&x, &al), 1);
out:
	cli_close(&x);
}

/* ---- randomized comparison with a brute force (tests/trace_brute.h) ---- */

/* Enrol two gateways (two doors) at each pool venue. */
static void pool_enroll(struct fx *f, unsigned gws[R_POOL][2])
{
	for (unsigned k = 0; k < R_POOL; k++) {
		char name[32];

		snprintf(name, sizeof name, "Pool venue %u", k);
		gws[k][0] = fx_gateway(f, pool_venue(k), name, pool_dwell[k]);
		gws[k][1] = fx_gateway(f, pool_venue(k), name, pool_dwell[k]);
	}
}

static void world_store(struct fx *f, unsigned gws[R_POOL][2], const struct world *w)
{
	for (unsigned i = 0; i < w->nvisits; i++) {
		const struct rvisit *v = &w->v[i];

		fx_visit(f, gws[w->pool[v->venue]][i % 2], v->who < 0 ? NULL : w->pid[v->who],
			 v->kind, v->entry, v->exit, v->headcount);
	}
	fx_flush(f);
}

/* split[0] counts contacts with less exposure in one risk period than in
 * all, split[1] those that are low only because of the risk period. */
/*
 * The memory budget: the trace p (whose unbounded result is all and
 * all_tot) with budgets rising from 8 KiB until it completes.  Each run
 * either completes with the same result, or stops with AS_E_BUDGET after
 * delivering exactly the whole orders before the one that stopped it (the
 * same contacts, in the same order) and summing them in total.  At least
 * one budget must stop it; a completed run's budget is never below a
 * stopped one's.
 */
static void check_budgets(struct fx *fp, const struct cl_trace_params *p, const struct got *all,
			  const struct cl_trace_order *all_tot, uint64_t seed)
{
	struct cl_trace_params q = *p;
	unsigned stops = 0;
	int done = 0;

	for (size_t budget = 8192; !done && budget <= ((size_t)64 << 20); budget += 8192) {
		struct got g;
		struct cl_trace_sink sink = {&g, got_case_visit, got_contact, got_order};
		struct cl_trace_order tot;
		size_t n = 0;
		uint64_t people = 0;
		int rc;

		memset(&g, 0, sizeof g);
		q.memory_budget = budget;
		test_ctx("seed %llu budget %zu", (unsigned long long)seed, budget);
		rc = cl_trace_run(fp->s, &q, &sink, &tot);
		if (rc == 0) {
			done = 1;
			CHECK_EQ_INT(g.nc, all->nc);
			CHECK_EQ_INT(tot.people, all_tot->people);
		} else if (CHECK_EQ_INT(rc, AS_E_BUDGET)) {
			stops++;
			CHECK(tot.order < p->depth);
			CHECK_EQ_INT(g.norders, tot.order);
			for (size_t i = 0; i < all->nc && all->c[i].order <= tot.order; i++)
				n++;
			for (unsigned k = 0; k < tot.order && k < all->norders; k++)
				people += all->orders[k].people;
			CHECK_EQ_INT(g.nc, n);
			CHECK_EQ_INT(tot.people, people);
		}
		for (size_t i = 0; i < g.nc && i < all->nc; i++)
			if (memcmp(&g.c[i], &all->c[i], sizeof g.c[i]) != 0) {
				CHECK(!"a contact differs from the unbounded trace's");
				break;
			}
		got_free(&g);
	}
	test_ctx_clear();
	CHECK(done);
	CHECK(stops > 0);
}

/* What a user reads when a trace stops at its budget. */
static void test_budget_text(void)
{
	struct cl_trace_report_counts c = {.orders = 2, .people = 123456};
	char text[600];

	cl_trace_budget_text(text, sizeof text, (uint64_t)512 << 20, &c);
	CHECK(strstr(text, "stopped before order 3") != NULL);
	CHECK(strstr(text, "512 MiB (trace_memory in cloud.conf)") != NULL);
	CHECK(strstr(text, "Orders 1 to 2 reached 123456 people") != NULL);
	CHECK(strstr(text, "Narrow the infectious window") != NULL);
	c.orders = 0;
	cl_trace_budget_text(text, sizeof text, (uint64_t)16 << 20, &c);
	CHECK(strstr(text, "stopped in its first order") != NULL);
	CHECK(strstr(text, "16 MiB") != NULL);
}

static void compare_seed(struct fx *fp, unsigned gws[R_POOL][2], uint64_t seed,
			 struct cl_pid_cache *pids, unsigned *reached, unsigned split[2])
{
	static struct world w;
	static struct want wt[R_PEOPLE_MAX];
	uint64_t unnamed_v[4] = {0}, unnamed_p[4] = {0};
	struct cl_trace_params p;
	struct cl_trace_sink sink;
	struct cl_trace_order tot;
	struct got g;

	world_make(&w, seed);
	memset(wt, 0, sizeof wt);
	brute(&w, wt, unnamed_v, unnamed_p);
	world_store(fp, gws, &w);

	memset(&g, 0, sizeof g);
	sink = (struct cl_trace_sink){&g, got_case_visit, got_contact, got_order};
	cl_trace_params_init(&p);
	memcpy(p.pid, w.pid[w.casei], 16);
	p.from = w.from;
	p.to = w.to;
	p.depth = w.depth;
	p.min_overlap = w.min_overlap;
	p.incubation = w.incubation;
	p.risk_period = w.risk_period;
	/* Every other seed reads the sources on two threads from 2 sources
	 * on: the same results as one thread. */
	p.split_min = seed % 2 ? 2 : 0;
	/* Two seeds in three look pids up through one cache kept across
	 * seeds (the store grows and keeps its numbers): the same results. */
	p.pids = seed % 3 ? pids : NULL;
	test_ctx("seed %llu", (unsigned long long)seed);
	if (!CHECK_OK(cl_trace_run(fp->s, &p, &sink, &tot)))
		goto out;
	CHECK_EQ_INT(g.norders, w.depth);
	brute_check(&w, wt, unnamed_v, unnamed_p, &g, seed, reached, split);
	test_ctx_clear();
	if (seed % 25 == 0)
		check_budgets(fp, &p, &g, &tot, seed);
out:
	got_free(&g);
}

static void test_random_vs_brute_force(void)
{
	unsigned reached[CL_TRACE_DEPTH_MAX + 1] = {0}, gws[R_POOL][2], split[2] = {0};
	int before = test_failures;
	struct cl_pid_cache *pids;
	struct fx f;

	if (!CHECK_OK(cl_pid_cache_new(0, &pids)))
		return;
	if (!fx_open(&f)) {
		cl_pid_cache_free(pids);
		return;
	}
	pool_enroll(&f, gws);
	for (uint64_t seed = 1; seed <= 300 && test_failures - before < 20; seed++)
		compare_seed(&f, gws, seed, pids, reached, split);
	CHECK(cl_pid_cache_bytes(pids) > 0); /* answers were kept */
	fx_close(&f);
	cl_pid_cache_free(pids);
	/* The generator must exercise every order. */
	printf("  contacts checked by order: 1:%u 2:%u 3:%u\n", reached[1], reached[2],
	       reached[3]);
	CHECK(reached[1] > 150);
	CHECK(reached[2] > 75);
	CHECK(reached[3] > 30);
	/* ... and contacts whose exposure spreads beyond one risk period. */
	printf("  contacts with less exposure in one risk period than in all: %u, low only "
	       "because of it: %u\n", split[0], split[1]);
	CHECK(split[0] > 50);
	CHECK(split[1] > 0);
}

/*
 * The pid cache against the store: answers equal cl_reader_pid's, through
 * a purge (a person purged and seen again gets a new number; the old
 * number's answer stays what it was); a number not stored is not kept.
 */
static void expect_cached(struct cl_pid_cache *c, struct cl_store *s, uint32_t person,
			  const uint8_t want[AS_PID_LEN])
{
	struct cl_reader *r;
	uint8_t got[AS_PID_LEN], direct[AS_PID_LEN];

	if (!CHECK_OK(cl_reader_begin(s, &r)))
		return;
	CHECK_OK(cl_pid_cache_get(c, r, person, got));
	CHECK_MEM(got, want, AS_PID_LEN);
	CHECK(cl_pid_cache_peek(c, person, direct) == 1);
	CHECK_MEM(direct, want, AS_PID_LEN);
	cl_reader_end(r);
}

static uint32_t person_number(struct cl_store *s, const uint8_t pid[AS_PID_LEN])
{
	struct cl_reader *r;
	uint32_t n = 0;

	if (CHECK_OK(cl_reader_begin(s, &r))) {
		CHECK_OK(cl_reader_person(r, pid, &n));
		cl_reader_end(r);
	}
	return n;
}

static void test_pid_cache(void)
{
	struct cl_pid_cache *c;
	struct cl_reader *r;
	uint8_t a[AS_PID_LEN], b[AS_PID_LEN], out[AS_PID_LEN];
	uint32_t na, nb, na2;
	uint64_t deleted = 0;
	struct fx f;
	unsigned gw;

	if (!fx_open(&f))
		return;
	if (!CHECK_OK(cl_pid_cache_new(0, &c))) {
		fx_close(&f);
		return;
	}
	person(a, 'A');
	person(b, 'B');
	gw = fx_gateway(&f, 1, "Cafe", 60);
	fx_scan(&f, gw, a, at(0, 10, 0));
	fx_scan(&f, gw, b, at(3, 10, 0));
	fx_flush(&f);
	na = person_number(f.s, a);
	nb = person_number(f.s, b);
	CHECK(na != 0 && nb != 0 && na != nb);
	CHECK(cl_pid_cache_peek(c, na, out) == 0);       /* empty */
	CHECK(cl_pid_cache_peek(NULL, na, out) == 0);
	expect_cached(c, f.s, na, a);
	expect_cached(c, f.s, nb, b);
	CHECK(cl_pid_cache_bytes(c) > 0);
	/* Without a cache: the store's answer, every time. */
	if (CHECK_OK(cl_reader_begin(f.s, &r))) {
		CHECK_OK(cl_pid_cache_get(NULL, r, na, out));
		CHECK_MEM(out, a, AS_PID_LEN);
		CHECK_EQ_INT(cl_pid_cache_get(c, r, nb + 1000, out), AS_E_NOT_FOUND);
		CHECK(cl_pid_cache_peek(c, nb + 1000, out) == 0); /* not kept */
		cl_reader_end(r);
	}
	/* Purge A's day: A is gone from the store; A seen again is a new
	 * person number, and both answers stay right. */
	CHECK_OK(cl_store_purge(f.s, at(1, 0, 0), 1000, &deleted));
	CHECK_EQ_INT(deleted, 1);
	if (CHECK_OK(cl_reader_begin(f.s, &r))) {
		CHECK_EQ_INT(cl_reader_pid(r, na, out), AS_E_NOT_FOUND);
		cl_reader_end(r);
	}
	fx_scan(&f, gw, a, at(4, 10, 0));
	fx_flush(&f);
	na2 = person_number(f.s, a);
	CHECK(na2 != na && na2 != nb);
	expect_cached(c, f.s, na2, a);
	CHECK(cl_pid_cache_peek(c, na, out) == 1);
	CHECK_MEM(out, a, AS_PID_LEN);
	expect_cached(c, f.s, nb, b);
	/* A fill reads every stored person (not the purged number). */
	{
		struct cl_pid_cache *fresh;
		uint64_t people = 0;

		if (CHECK_OK(cl_pid_cache_new(0, &fresh))) {
			CHECK_OK(cl_pid_cache_fill(fresh, f.s, &people));
			CHECK_EQ_INT(people, 2);
			CHECK(cl_pid_cache_peek(fresh, na2, out) == 1);
			CHECK_MEM(out, a, AS_PID_LEN);
			CHECK(cl_pid_cache_peek(fresh, nb, out) == 1);
			CHECK_MEM(out, b, AS_PID_LEN);
			CHECK(cl_pid_cache_peek(fresh, na, out) == 0);
			cl_pid_cache_free(fresh);
		}
	}
	cl_pid_cache_free(c);
	cl_pid_cache_free(NULL);
	fx_close(&f);
}

int main(void)
{
	if (as_crypto_init())
		return 2;
	/* Korea Standard Time without needing tzdata: the JSON times below. */
	setenv("TZ", "KST-9", 1);
	tzset();
	TEST_RUN(test_example_touching_and_min_overlap);
	TEST_RUN(test_example_window_edges);
	TEST_RUN(test_example_chain);
	TEST_RUN(test_example_lowest_order_and_via);
	TEST_RUN(test_example_headcount);
	TEST_RUN(test_example_phone_spellings);
	TEST_RUN(test_example_exit_and_dwell);
	TEST_RUN(test_example_app_and_paper);
	TEST_RUN(test_example_risk_period);
	TEST_RUN(test_ties);
	TEST_RUN(test_params_and_empty);
	TEST_RUN(test_sink_error);
	TEST_RUN(test_cli_json);
	TEST_RUN(test_cli_text);
	TEST_RUN(test_cli_before_first_heartbeat);
	TEST_RUN(test_cli_refusals);
	TEST_RUN(test_pid_cache);
	TEST_RUN(test_budget_text);
	TEST_RUN(test_random_vs_brute_force);
	return TEST_DONE();
}
