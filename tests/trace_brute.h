/*
 * trace_brute.h - the brute-force oracle of the tracing engine, shared by
 * the tests that compare the engine with it (tests/unit/test_trace.c on
 * the embedded store; tests/integration/cluster_trace.c on an index node
 * filled from PostgreSQL): random worlds of venues, people and visits
 * (world_make, one per seed), and the answer a trace must give, computed
 * independently over the raw visit list (brute: it counts overlap on
 * elementary segments instead of merging intervals, and finds the most
 * within one period by summing the segments inside every window that
 * starts or ends at a segment's edge).  Include after test.h and store.h
 * and trace.h.  Single-threaded (one random generator).
 */
#ifndef ANSHIM_TRACE_BRUTE_H
#define ANSHIM_TRACE_BRUTE_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BASE INT64_C(1772377200) /* 2026-03-02T00:00:00+09:00, a Monday */
#undef MIN /* sys/param.h, through uv.h */
#define MIN 60
#define HOUR 3600
#define DAY 86400

#define R_PEOPLE_MAX 40
#define R_VISITS_MAX 220
#define R_VENUES_MAX 4

struct rvisit {
	int who;          /* person index, or -1: unreadable paper entry */
	unsigned venue;   /* 1..nvenues */
	int64_t entry, exit;
	uint16_t headcount;
	uint8_t kind;
};

/* Every seed's world uses a few venues of one pool, enrolled once in one
 * store; worlds are 20 days apart, so they cannot meet (a visit lasts at
 * most a day, a world's visits span 4 days, windows reach 3 more). */
#define R_POOL 12
#define R_SPACING (20 * DAY)
static const unsigned pool_dwell[R_POOL] = {1, 5, 10, 15, 30, 45, 60, 90, 120, 180, 720, 1440};

struct world {
	unsigned nvenues, npeople, nvisits;
	unsigned pool[R_VENUES_MAX + 1];   /* venue index -> pool index, ascending */
	unsigned dwell[R_VENUES_MAX + 1];
	int64_t base;
	uint8_t pid[R_PEOPLE_MAX][AS_PID_LEN];
	struct rvisit v[R_VISITS_MAX];
	int casei;
	int64_t from, to, min_overlap, incubation, risk_period;
	unsigned depth;
};

/* Expected result per person. */
struct want {
	int order;        /* -1 not reached, 0 the case */
	int via;          /* person index */
	unsigned venue;
	int64_t t, end, overlap;
	int64_t period_overlap; /* the most of overlap within one risk period */
	uint16_t extra;
	int kind;         /* -1 if ambiguous */
	int64_t lo, hi;   /* traced window as a source */
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int64_t rnd_in(int64_t lo, int64_t hi) /* inclusive */
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static void world_make(struct world *w, uint64_t seed)
{
	int64_t span = 4 * DAY;
	int used[R_POOL] = {0};
	unsigned n = 0;

	memset(w, 0, sizeof *w);
	rng_state = seed * 7919 + 1;
	w->base = BASE + (int64_t)seed * R_SPACING;
	w->nvenues = (unsigned)rnd_in(1, R_VENUES_MAX);
	w->npeople = (unsigned)rnd_in(3, R_PEOPLE_MAX);
	w->nvisits = (unsigned)rnd_in(5, R_VISITS_MAX);
	while (n < w->nvenues) {
		unsigned k = (unsigned)rnd_in(0, R_POOL - 1);

		n += !used[k];
		used[k] = 1;
	}
	n = 0;
	for (unsigned k = 0; k < R_POOL; k++)
		if (used[k]) {
			w->pool[++n] = k;
			w->dwell[n] = pool_dwell[k];
		}
	for (unsigned i = 0; i < w->npeople; i++)
		for (unsigned b = 0; b < AS_PID_LEN; b++)
			w->pid[i][b] = (uint8_t)rnd();
	for (unsigned i = 0; i < w->nvisits; i++) {
		struct rvisit *v = &w->v[i];
		int64_t r = rnd_in(0, 99);

		v->who = r < 8 ? -1 : (int)rnd_in(0, w->npeople - 1);
		v->venue = (unsigned)rnd_in(1, w->nvenues);
		/* Either any second, or on a 10-minute grid so ties happen. */
		v->entry = rnd_in(0, 1) ? w->base + rnd_in(0, span)
					: w->base + 600 * rnd_in(0, span / 600);
		r = rnd_in(0, 99);
		if (r < 5)
			v->exit = v->entry;                        /* empty */
		else if (r < 10)
			v->exit = v->entry + rnd_in(20 * HOUR, 40 * HOUR); /* capped */
		else if (r < 35)
			v->exit = v->entry + rnd_in(1, 3 * HOUR);
		else
			v->exit = 0;
		v->headcount = rnd_in(0, 99) < 15 ? (uint16_t)rnd_in(2, 5) : 1;
		v->kind = (uint8_t)rnd_in(AS_REC_PASS, AS_REC_MANUAL);
		/* Sometimes the same person at another venue at the same moment
		 * (a forgotten check-out, a shared credential): ties across
		 * venues. */
		if (i + 1 < w->nvisits && w->nvenues > 1 && rnd_in(0, 99) < 6) {
			w->v[i + 1] = *v;
			w->v[i + 1].venue = v->venue % w->nvenues + 1;
			i++;
		}
	}
	w->casei = (int)rnd_in(0, w->npeople - 1);
	w->from = w->base + rnd_in(-DAY, 2 * DAY);
	w->to = w->from + rnd_in(0, 2 * DAY);
	w->depth = (unsigned)rnd_in(1, CL_TRACE_DEPTH_MAX);
	w->min_overlap = rnd_in(0, 60) * MIN;
	w->incubation = rnd_in(0, 1) ? rnd_in(0, 3) * DAY : rnd_in(0, 3 * DAY);
	/* Drawn last, so the worlds are those of the seeds before risk
	 * periods: a third the default, a third a few hours (shorter than
	 * some visits), a third any length up to 3 days. */
	switch (rnd_in(0, 2)) {
	case 0: w->risk_period = DAY; break;
	case 1: w->risk_period = rnd_in(1, 12) * HOUR; break;
	default: w->risk_period = rnd_in(1, 3 * DAY); break;
	}
}

static int64_t b_end(const struct world *w, const struct rvisit *v)
{
	int64_t e = v->exit ? v->exit : v->entry + (int64_t)w->dwell[v->venue] * MIN;

	return e < v->entry + DAY ? e : v->entry + DAY;
}

static int b_overlaps(const struct world *w, const struct rvisit *x, const struct rvisit *y)
{
	int64_t s = x->entry > y->entry ? x->entry : y->entry;
	int64_t e1 = b_end(w, x), e2 = b_end(w, y);

	return x->venue == y->venue && s < (e1 < e2 ? e1 : e2);
}

static int in_window(const struct want *s, const struct rvisit *v)
{
	return v->entry >= s->lo && v->entry <= s->hi;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

/* Is [x, y) inside some visit of person who at venue (window-limited when
 * src is not NULL)? */
static int covered(const struct world *w, int who, unsigned venue, const struct want *src,
		   int64_t x, int64_t y)
{
	for (unsigned i = 0; i < w->nvisits; i++) {
		const struct rvisit *v = &w->v[i];

		if (v->who != who || v->venue != venue || (src && !in_window(src, v)))
			continue;
		if (v->entry <= x && b_end(w, v) >= y && v->entry < b_end(w, v))
			return 1;
	}
	return 0;
}

#define B_SEGS_MAX (R_VENUES_MAX * 2 * R_VISITS_MAX)

/* Seconds of the segments seg[0..n) (counted at every venue) inside
 * [u, u + period). */
static int64_t b_window(const int64_t (*seg)[2], size_t n, int64_t u, int64_t period)
{
	int64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		int64_t lo = seg[i][0] > u ? seg[i][0] : u;
		int64_t hi = seg[i][1] < u + period ? seg[i][1] : u + period;

		if (hi > lo)
			sum += hi - lo;
	}
	return sum;
}

/*
 * The most of the segments inside any window of length period, naively:
 * the sum inside [u, u + period) changes slope only where u or u + period
 * meets a segment's edge, so it is largest at one of those u; every one
 * is summed afresh.  Windows at random other u must not hold more.
 */
static int64_t b_period_max(const int64_t (*seg)[2], size_t n, int64_t period)
{
	int64_t best = 0;

	for (size_t i = 0; i < n; i++)
		for (int edge = 0; edge < 2; edge++)
			for (int side = 0; side < 2; side++) {
				int64_t u = seg[i][edge] - (side ? period : 0);
				int64_t sum = b_window(seg, n, u, period);

				if (sum > best)
					best = sum;
			}
	for (int k = 0; k < 20 && n; k++) {
		int64_t u = seg[0][0] - period + rnd_in(0, seg[n - 1][1] - seg[0][0] + period);

		CHECK(b_window(seg, n, u, period) <= best);
	}
	return best;
}

/* Exposure of p to source s: total covered length on elementary segments,
 * the most of it within one risk period, and the end of the run of
 * covered segments that starts at p's t. */
static void b_exposure(const struct world *w, struct want *wp, int p, int s,
		       const struct want *ws)
{
	static int64_t pts[2 * R_VISITS_MAX];
	static int64_t seg[B_SEGS_MAX][2];
	size_t nseg = 0;

	wp->overlap = 0;
	wp->end = wp->t;
	for (unsigned venue = 1; venue <= w->nvenues; venue++) {
		size_t n = 0;
		int run = 0; /* 0 before the first exposure, 1 in it, 2 after */

		for (unsigned i = 0; i < w->nvisits; i++) {
			const struct rvisit *v = &w->v[i];

			if (v->venue != venue || (v->who != p && v->who != s) ||
			    (v->who == s && !in_window(ws, v)))
				continue;
			pts[n++] = v->entry;
			pts[n++] = b_end(w, v);
		}
		qsort(pts, n, sizeof pts[0], cmp_i64);
		for (size_t i = 0; i + 1 < n; i++) {
			int both;

			if (pts[i] == pts[i + 1])
				continue;
			both = covered(w, p, venue, NULL, pts[i], pts[i + 1]) &&
			       covered(w, s, venue, ws, pts[i], pts[i + 1]);
			if (both) {
				wp->overlap += pts[i + 1] - pts[i];
				seg[nseg][0] = pts[i];
				seg[nseg++][1] = pts[i + 1];
			}
			if (venue != wp->venue)
				continue;
			if (run == 0 && both && pts[i] == wp->t)
				run = 1;
			if (run == 1 && both)
				wp->end = pts[i + 1];
			else if (run == 1)
				run = 2;
		}
	}
	wp->period_overlap = b_period_max(seg, nseg, w->risk_period);
}

/* The whole brute force: fills want[] and the unnamed counts per order. */
static void brute(const struct world *w, struct want *wt, uint64_t unnamed_v[4],
		  uint64_t unnamed_p[4])
{
	int counted[R_VISITS_MAX] = {0};

	for (unsigned p = 0; p < w->npeople; p++)
		wt[p].order = -1;
	wt[w->casei].order = 0;
	wt[w->casei].lo = w->from;
	wt[w->casei].hi = w->to;
	for (unsigned k = 1; k <= w->depth; k++) {
		unnamed_v[k] = unnamed_p[k] = 0;
		for (unsigned p = 0; p < w->npeople; p++) {
			int best_s = -1;
			int64_t best_t = 0;
			unsigned best_venue = 0;

			if (wt[p].order != -1)
				continue;
			for (unsigned s = 0; s < w->npeople; s++) {
				if (wt[s].order != (int)k - 1)
					continue;
				for (unsigned i = 0; i < w->nvisits; i++) {
					const struct rvisit *vs = &w->v[i];

					if (vs->who != (int)s || !in_window(&wt[s], vs))
						continue;
					for (unsigned j = 0; j < w->nvisits; j++) {
						const struct rvisit *vp = &w->v[j];
						int64_t t;
						int d;

						if (vp->who != (int)p || !b_overlaps(w, vs, vp))
							continue;
						t = vs->entry > vp->entry ? vs->entry : vp->entry;
						d = best_s < 0 ? -1
							       : memcmp(w->pid[s], w->pid[best_s], 16);
						if (best_s < 0 || t < best_t ||
						    (t == best_t && (d < 0 || (d == 0 &&
						     vs->venue < best_venue)))) {
							best_s = (int)s;
							best_t = t;
							best_venue = vs->venue;
						}
					}
				}
			}
			if (best_s < 0)
				continue;
			/* Assigned after this loop over p would not change anything:
			 * only order k - 1 people are sources. */
			wt[p].order = (int)k;
			wt[p].via = best_s;
			wt[p].t = best_t;
			wt[p].venue = best_venue;
		}
		for (unsigned i = 0; i < w->nvisits; i++) {
			const struct rvisit *vz = &w->v[i];

			if (vz->who != -1 || counted[i])
				continue;
			for (unsigned j = 0; j < w->nvisits && !counted[i]; j++) {
				const struct rvisit *vs = &w->v[j];

				if (vs->who < 0 || wt[vs->who].order != (int)k - 1 ||
				    !in_window(&wt[vs->who], vs) || !b_overlaps(w, vs, vz))
					continue;
				counted[i] = 1;
				unnamed_v[k]++;
				unnamed_p[k] += vz->headcount;
			}
		}
		for (unsigned p = 0; p < w->npeople; p++) {
			struct want *wp = &wt[p];

			if (wp->order != (int)k)
				continue;
			b_exposure(w, wp, (int)p, wp->via, &wt[wp->via]);
			wp->extra = 0;
			wp->kind = -1;
			for (unsigned i = 0; i < w->nvisits; i++) {
				const struct rvisit *vp = &w->v[i];
				int hit = 0;

				if (vp->who != (int)p)
					continue;
				for (unsigned j = 0; j < w->nvisits && !hit; j++)
					hit = w->v[j].who == wp->via && in_window(&wt[wp->via], &w->v[j]) &&
					      b_overlaps(w, &w->v[j], vp);
				if (hit && vp->headcount - 1 > wp->extra)
					wp->extra = (uint16_t)(vp->headcount - 1);
				/* The kind at t: the earliest entry containing t; ambiguous
				 * if two visits share that entry with different kinds. */
				if (vp->venue == wp->venue && vp->entry <= wp->t && wp->t < b_end(w, vp)) {
					int better_entry = 1;

					for (unsigned j = 0; j < w->nvisits; j++) {
						const struct rvisit *o = &w->v[j];

						if (j != i && o->who == (int)p && o->venue == wp->venue &&
						    o->entry <= wp->t && wp->t < b_end(w, o) &&
						    (o->entry < vp->entry ||
						     (o->entry == vp->entry && o->kind != vp->kind)))
							better_entry = 0;
					}
					if (better_entry)
						wp->kind = vp->kind;
				}
			}
			wp->lo = wp->t;
			wp->hi = wp->t + w->incubation;
		}
	}
}

static uint32_t pool_venue(unsigned k)
{
	return 101 + k;
}

/* ---- collecting results ----------------------------------------------- */

struct got {
	struct cl_trace_visit cv[64];
	size_t ncv;
	struct cl_trace_contact *c;
	size_t nc, capc;
	struct cl_trace_order orders[CL_TRACE_DEPTH_MAX + 1];
	size_t norders;
	int order_violation; /* contacts out of (order, venue, start, pid) order */
	int late_visit;      /* a case visit after a contact */
};

static int got_case_visit(void *ctx, const struct cl_trace_visit *v)
{
	struct got *g = ctx;

	if (g->nc || g->norders)
		g->late_visit = 1;
	if (g->ncv < 64)
		g->cv[g->ncv++] = *v;
	return 0;
}

static int got_contact(void *ctx, const struct cl_trace_contact *c)
{
	struct got *g = ctx;

	if (g->nc == g->capc) {
		g->capc = g->capc ? 2 * g->capc : 32;
		g->c = realloc(g->c, g->capc * sizeof *g->c);
		if (!g->c)
			return -ENOMEM;
	}
	if (g->nc) {
		const struct cl_trace_contact *p = &g->c[g->nc - 1];

		if (p->order > c->order ||
		    (p->order == c->order &&
		     (p->venue > c->venue ||
		      (p->venue == c->venue &&
		       (p->start > c->start ||
			(p->start == c->start && memcmp(p->pid, c->pid, AS_PID_LEN) >= 0))))))
			g->order_violation = 1;
	}
	if (c->order != g->norders + 1)
		g->order_violation = 1;
	g->c[g->nc++] = *c;
	return 0;
}

static int got_order(void *ctx, const struct cl_trace_order *o)
{
	struct got *g = ctx;

	if (o->order != g->norders + 1)
		g->order_violation = 1;
	if (g->norders < CL_TRACE_DEPTH_MAX + 1)
		g->orders[g->norders++] = *o;
	return 0;
}

static void got_free(struct got *g)
{
	free(g->c);
	memset(g, 0, sizeof *g);
}


/*
 * Check the engine's answer g (a trace of w's case with w's parameters)
 * against the brute force's wt, unnamed_v and unnamed_p; reached counts
 * the contacts checked per order, split[0] those with less exposure in
 * one risk period than in all, split[1] those that are low only because
 * of the risk period.
 */
static void brute_check(const struct world *w, const struct want *wt, const uint64_t unnamed_v[4],
			const uint64_t unnamed_p[4], const struct got *g, uint64_t seed,
			unsigned *reached, unsigned split[2])
{
	unsigned expected = 0;

	CHECK(!g->order_violation);
	for (unsigned i = 0; i < w->npeople; i++) {
		const struct want *e = &wt[i];
		const struct cl_trace_contact *c = NULL;
		int n = 0;

		for (size_t j = 0; j < g->nc; j++)
			if (memcmp(g->c[j].pid, w->pid[i], 16) == 0) {
				c = &g->c[j];
				n++;
			}
		test_ctx("seed %llu person %u", (unsigned long long)seed, i);
		if (e->order <= 0) {
			CHECK_EQ_INT(n, 0);
			continue;
		}
		expected++;
		reached[e->order]++;
		if (!CHECK_EQ_INT(n, 1))
			continue;
		CHECK_EQ_INT(c->order, e->order);
		CHECK_MEM(c->via, w->pid[e->via], 16);
		CHECK_EQ_INT(c->venue, pool_venue(w->pool[e->venue]));
		CHECK_EQ_INT(c->start, e->t);
		CHECK_EQ_INT(c->end, e->end);
		CHECK_EQ_INT(c->overlap, e->overlap);
		CHECK_EQ_INT(c->period_overlap, e->period_overlap);
		CHECK_EQ_INT(c->high, e->period_overlap >= w->min_overlap);
		split[0] += e->period_overlap < e->overlap;
		split[1] += e->period_overlap < w->min_overlap && e->overlap >= w->min_overlap;
		CHECK_EQ_INT(c->headcount_extra, e->extra);
		if (e->kind >= 0)
			CHECK_EQ_INT(c->kind, e->kind);
	}
	test_ctx("seed %llu", (unsigned long long)seed);
	CHECK_EQ_INT(g->nc, expected);
	for (unsigned k = 1; k <= w->depth && k <= g->norders; k++) {
		CHECK_EQ_INT(g->orders[k - 1].unnamed_visits, unnamed_v[k]);
		CHECK_EQ_INT(g->orders[k - 1].unnamed_people, unnamed_p[k]);
	}
	test_ctx_clear();
}

#endif
