/*
 * trace.c - the contact-tracing engine (rules and contract in trace.h,
 * worked examples in docs/TRACING.md).
 *
 * Breadth-first by order.  For order k:
 *
 *   1. Sources: the people of order k - 1 (the case for k = 1).  All
 *      sources' visits in their windows come from one
 *      cl_reader_visits_of_many (one pass over the days, people in number
 *      order); per source and venue they are merged into disjoint
 *      intervals, collected in one array and sorted by (venue, start) with
 *      a radix sort.
 *   2. Sweep: per venue, source intervals whose query ranges touch form a
 *      cluster; one cl_reader_visits_at over [first start - L + 1,
 *      last end - 1] returns every visit that can overlap any of them,
 *      where L is the longest a visit there can be: the venue's dwell or
 *      its longest recorded visit (the store keeps it), at most
 *      CL_TRACE_MAX_VISIT.  Each visit is
 *      matched against the cluster's intervals (binary search, then a
 *      backward scan bounded by the cluster's longest interval).  A named
 *      visitor not yet known becomes a person of order k, keeping the
 *      best (earliest start, smallest via pid) exposure, and the visit is
 *      kept as a hit of that person; a visit of nobody (person 0) is
 *      counted once (a set of visit ids).
 *   3. Exposure: for each new person C, C's hits (every visit of C that
 *      overlaps a source of this order, so every one that overlaps via)
 *      are merged per venue and intersected with via's intervals (found
 *      with one galloping search per merged interval), giving
 *      the overlap in seconds (each second once), the end of the first
 *      exposure, the visit kind and headcount_extra.  When those pieces
 *      of overlap span more than the risk period, the most of them in any
 *      one period comes from a sliding window over them (period_max:
 *      linear for pieces apart and in order, as one venue's are, else over
 *      their sorted starts and ends); otherwise it is the whole overlap.
 *      No store query.
 *   4. The order's new people are sorted by (venue, start, pid) (a radix
 *      sort, sort_report: at a busy venue hundreds share a start) and
 *      handed to the sink straight from people[]; they are the sources of
 *      order k + 1.
 *
 * All queries read one snapshot of the store (a cl_reader, and for a
 * deep trace a twin on the same snapshot for the second thread), in the
 * store's person numbers; a person's pid is read once, after the order
 * that reached the person.
 *
 * Invariants:
 *  - people[] is grouped by order (append-only, BFS); people[0] is the
 *    case with order 0; order1_of and index_of map every person number in
 *    people[] to its order and index and hold nothing else; start_of[i]
 *    is people[i].c.start;
 *  - a person's order never changes once assigned, so each person is
 *    reported exactly once, at the lowest order;
 *  - per-order arrays (intervals, scratch visits, hits) are reused by the
 *    next order; only people[] and the two hash tables grow with the
 *    result.  Arrays that can grow large are big_grow's (huge pages).
 *  - all time arithmetic saturates, so hostile stored times cannot
 *    overflow;
 *  - while a second thread runs, it writes only its own arrays (its read
 *    visits, its sweep events) and reads only what does not change
 *    meanwhile (iv, end_max, span tables, sources' people[] entries, a
 *    copy of order1_of); people[] is sized for everyone in a deep trace
 *    so it never moves.
 *
 * Threads: the caller's thread, joined by a second one for part of an
 * order's reading and sweeping (read_sources, sweep) when the order is
 * large, and always joined before the order goes on.  No personal data is
 * handled here: pids only.
 */
#include "trace.h"

#include "bigarray.h"
#include "pidcache.h"

#include "anshim/error.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* ---- small helpers ----------------------------------------------------- */

/* An order with this many sources (or source intervals) or more shares
 * reading (and sweeping) with a second thread; params.split_min overrides. */
#define SPLIT_MIN 4096
/* A growth is checked with this much beside the array's own bytes: a
 * mapping's header and rounding (bigarray.c). */
#define BIG_SLACK ((size_t)2 << 20)
/* people[] is counted against the memory budget in blocks of this many. */
#define PEOPLE_BLOCK 1024

static int64_t sat_add(int64_t a, int64_t b) /* b >= 0 */
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int64_t sat_sub(int64_t a, int64_t b) /* b >= 0 */
{
	return a < INT64_MIN + b ? INT64_MIN : a - b;
}

/* b - a for b >= a, at most INT64_MAX. */
static int64_t sat_diff(int64_t b, int64_t a)
{
	uint64_t d = (uint64_t)b - (uint64_t)a;

	return d > INT64_MAX ? INT64_MAX : (int64_t)d;
}

static int64_t sat_mul(int64_t a, int64_t b) /* a, b >= 0 */
{
	return a && b > INT64_MAX / a ? INT64_MAX : a * b;
}

static int pid_is_zero(const uint8_t pid[AS_PID_LEN])
{
	uint8_t acc = 0;

	for (size_t i = 0; i < AS_PID_LEN; i++)
		acc |= pid[i];
	return acc == 0;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

void cl_trace_interval(const struct cl_visit *v, unsigned dwell_minutes, int64_t *start,
		       int64_t *end)
{
	int64_t cap = sat_add(v->entry, CL_TRACE_MAX_VISIT), e;

	if (dwell_minutes == 0)
		dwell_minutes = CL_DEFAULT_DWELL;
	if (v->exit != 0)
		e = v->exit < v->entry ? v->entry : v->exit;
	else
		e = sat_add(v->entry, (int64_t)dwell_minutes * 60);
	*start = v->entry;
	*end = e < cap ? e : cap;
}

const char *cl_trace_source_name(uint8_t kind)
{
	switch (kind) {
	case AS_REC_PASS:
	case AS_REC_TOKEN: return "scan"; /* a phone's pass, version 1 or 2 */
	case AS_REC_CARD: return "card";
	case AS_REC_MANUAL: return "manual";
	case AS_REC_APP: return "app";
	default: return "unknown";
	}
}

void cl_trace_params_init(struct cl_trace_params *p)
{
	memset(p, 0, sizeof *p);
	p->depth = 1;
	p->min_overlap = CL_TRACE_DEFAULT_MIN_OVERLAP;
	p->incubation = CL_TRACE_DEFAULT_INCUBATION;
	p->risk_period = CL_TRACE_DEFAULT_RISK_PERIOD;
}

/* ---- state ------------------------------------------------------------- */

struct person {
	struct cl_trace_contact c;  /* order 0: the case (pid only) */
	uint32_t person;            /* the store's person number */
	uint32_t via_idx;           /* index of via in people[] */
	int64_t lo, hi;             /* window of the visits traced from this person */
};

/* A merged interval of one source at one venue (or, while the sources'
 * visits are collected, one visit's interval). */
struct ival {
	uint32_t venue;
	uint32_t src;     /* index in people[] */
	int64_t a, b;     /* [a, b), a < b */
};

/* A visit of a person of the order being computed that overlapped a
 * source interval. */
struct hit {
	uint32_t who;     /* index in people[] */
	uint32_t venue;
	int64_t a, b;     /* [a, b), a < b */
	uint16_t headcount;
	uint8_t kind;
};

/* One piece of a contact's exposure: where one of C's merged intervals
 * and one of via's overlap, [a, b), a < b. */
struct piece {
	int64_t a, b;
};

/* Open addressing, keys nonzero (stored as key), linear probing. */
struct u64map {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, used;   /* cap a power of two, or 0 */
};

struct tracer {
	struct cl_store *s;
	struct cl_reader *r;
	struct cl_reader *r2;           /* on r's snapshot, for a second thread; or NULL */
	const struct cl_trace_params *p;
	const struct cl_trace_sink *sink;
	unsigned k;                     /* order being computed */

	struct person *people;
	size_t n_people, cap_people;
	/* What the sweep asks of every visit, by person number (dense: the
	 * store hands them out from 1), in small arrays that stay in the
	 * cache: "known at a lower order?" is one byte. */
	uint8_t *order1_of;             /* order + 1; 0: not reached */
	uint32_t *index_of;             /* index in people[], where reached */
	size_t cap_by_person;           /* of both (big arrays: their own caps below) */
	size_t cap_order1, cap_index_of;
	int64_t *start_of;              /* by index in people[]: c.start, kept equal */
	size_t cap_start_of;

	struct u64map vids;             /* zero-pid visits counted (vid + 1) */
	struct u64map dwell;            /* venue + 1 -> dwell minutes */

	struct ival *iv;                /* this order's intervals, by (venue, a) */
	size_t n_iv, cap_iv;
	struct ival *by_src;            /* those of the sources that are some new
					 * person's via, by (src, venue, a) */
	size_t n_by_src, cap_by_src;
	size_t *via_at;                 /* the end of each source's in by_src */
	size_t cap_via_at;
	size_t src_lo;                  /* the order's first source (via_at[0]) */
	int64_t *end_max;               /* end_max[i]: the latest b of iv[j..i], j the
					 * first interval of iv[i]'s venue */
	size_t cap_end_max;
	struct ival *all_vis;           /* scratch: the sources' visits (collect_sources),
					 * then the sorts' second buffer */
	size_t n_all_vis, cap_all_vis;
	struct cl_reader_span *spans;   /* scratch: the sources, by person number */
	size_t cap_spans;
	uint32_t *span_src;             /* the source (index in people[]) of each span */
	size_t cap_span_src;
	struct ival *tmp;               /* scratch: one source's intervals */
	size_t cap_tmp;
	struct out_key *out_keys;       /* scratch: one order's contacts, sorted */
	size_t cap_out_keys;
	struct out_key *out_tmp;        /* scratch: the sort's second buffer */
	size_t cap_out_tmp;
	struct hit *hits;               /* this order's hits */
	size_t n_hits, cap_hits;
	struct hit *hits_tmp;           /* scratch for group_hits */
	size_t cap_hits_tmp;
	size_t *hit_at;                 /* per new person: first hit */
	size_t cap_hit_at;
	struct piece *pieces;           /* scratch: one contact's exposure pieces */
	size_t cap_pieces;
	int64_t *pm;                    /* scratch for period_max: 8 per piece */
	size_t cap_pm;

	struct cl_trace_order cur;

	/* Working memory counted against p->memory_budget (see tgrow). */
	atomic_size_t used;
	size_t people_counted;          /* people[] entries counted in used */
};

/* ---- u64 map ----------------------------------------------------------- */

static size_t map_slot(const struct u64map *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = (size_t)mix64(key) & mask;

	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & mask;
	return i;
}

/* *found = 1 and *val if present. */
static void map_get(const struct u64map *m, uint64_t key, int *found, uint32_t *val)
{
	size_t i;

	*found = 0;
	if (!m->cap)
		return;
	i = map_slot(m, key);
	if (m->keys[i]) {
		*found = 1;
		*val = m->vals[i];
	}
}

/* Insert key (nonzero); *added = 0 if it was there (value unchanged). */
static int map_put(struct u64map *m, uint64_t key, uint32_t val, int *added)
{
	size_t i;

	if ((m->used + 1) * 2 > m->cap) {
		struct u64map n = {0};
		size_t cap = m->cap ? m->cap * 2 : 64;

		if (cap > SIZE_MAX / sizeof(uint64_t))
			return -ENOMEM;
		n.keys = calloc(cap, sizeof *n.keys);
		n.vals = calloc(cap, sizeof *n.vals);
		if (!n.keys || !n.vals) {
			free(n.keys);
			free(n.vals);
			return -ENOMEM;
		}
		n.cap = cap;
		for (size_t j = 0; j < m->cap; j++) {
			if (m->keys[j]) {
				size_t s = map_slot(&n, m->keys[j]);
				n.keys[s] = m->keys[j];
				n.vals[s] = m->vals[j];
			}
		}
		n.used = m->used;
		free(m->keys);
		free(m->vals);
		*m = n;
	}
	i = map_slot(m, key);
	*added = m->keys[i] == 0;
	if (*added) {
		m->keys[i] = key;
		m->vals[i] = val;
		m->used++;
	}
	return 0;
}

static void map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

/* ---- the memory budget --------------------------------------------------- */

/* Count bytes more against the budget: 0, or AS_E_BUDGET (nothing
 * counted) if they would pass it.  Any of the trace's threads. */
static int budget_take(struct tracer *t, size_t bytes)
{
	size_t budget = t->p->memory_budget, used = atomic_load(&t->used);

	if (budget && (used > budget || bytes > budget - used))
		return AS_E_BUDGET;
	atomic_fetch_add(&t->used, bytes);
	return 0;
}

/*
 * big_grow (exact: big_reserve) for an array of the trace, counted: the
 * growth it would make (big_grow: at least double) is checked against the
 * budget before anything is allocated.  0, -ENOMEM or AS_E_BUDGET (*arr and *cap unchanged).  Any of
 * the trace's threads, each on its own arrays.
 */
static int tgrow_as(struct tracer *t, void **arr, size_t *cap, size_t need, size_t elem,
		    int exact)
{
	size_t before = *cap, want = exact ? need : before ? before : 16;
	int rc;

	if (need <= before)
		return 0;
	while (want < need) { /* big_grow's doubling */
		if (want > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		want *= 2;
	}
	if (want > SIZE_MAX / elem)
		return -ENOMEM;
	/* What the block will take: the array, its header and the rounding
	 * of a mapping to 2 MiB (counted as taken, as it is mapped). */
	size_t old_size = big_size(*arr), est = (want - before) * elem + BIG_SLACK, new_size;

	rc = budget_take(t, est);
	if (rc)
		return rc;
	if ((exact ? big_reserve : big_grow)(arr, cap, need, elem)) {
		atomic_fetch_sub(&t->used, est);
		return -ENOMEM;
	}
	new_size = big_size(*arr);
	atomic_fetch_add(&t->used, new_size - old_size);
	atomic_fetch_sub(&t->used, est);
	return 0;
}

static int tgrow(struct tracer *t, void **arr, size_t *cap, size_t need, size_t elem)
{
	return tgrow_as(t, arr, cap, need, elem, 0);
}

/* malloc (zeroed: calloc) of a scratch block, counted; NULL if out of
 * memory or past the budget (*rc says which).  Release with tfree_block. */
static void *talloc(struct tracer *t, size_t bytes, int zeroed, int *rc)
{
	void *p;

	*rc = budget_take(t, bytes);
	if (*rc)
		return NULL;
	p = zeroed ? calloc(1, bytes ? bytes : 1) : malloc(bytes ? bytes : 1);
	if (!p) {
		atomic_fetch_sub(&t->used, bytes);
		*rc = -ENOMEM;
	}
	return p;
}

static void tfree_block(struct tracer *t, void *p, size_t bytes)
{
	if (!p)
		return;
	free(p);
	atomic_fetch_sub(&t->used, bytes);
}

/* big_free for a tgrow array freed before the trace ends. */
static void tfree(struct tracer *t, void *arr)
{
	atomic_fetch_sub(&t->used, big_size(arr));
	big_free(arr);
}

/* ---- people ------------------------------------------------------------ */

/* Append person number person (not present) at order, with its pid
 * (NULL: all zero until resolve_pids); returns its index or an error. */
static long person_add(struct tracer *t, uint32_t person, const uint8_t *pid, unsigned order)
{
	struct person *np;

	if (t->n_people >= UINT32_MAX - 1)
		return -ENOMEM;
	if (person >= t->cap_by_person) {
		size_t cap = t->cap_by_person ? t->cap_by_person : 1024, had = t->cap_order1;

		while (cap <= person)
			cap *= 2;
		if (big_reserve((void **)&t->order1_of, &t->cap_order1, cap, sizeof *t->order1_of) ||
		    big_reserve((void **)&t->index_of, &t->cap_index_of, cap, sizeof *t->index_of))
			return -ENOMEM;
		memset(t->order1_of + had, 0, (cap - had) * sizeof *t->order1_of);
		t->cap_by_person = cap;
	}
	if ((t->n_people >= t->cap_people &&
	     big_grow((void **)&t->people, &t->cap_people, t->n_people + 1, sizeof *t->people)) ||
	    (t->n_people >= t->cap_start_of &&
	     big_grow((void **)&t->start_of, &t->cap_start_of, t->n_people + 1,
		      sizeof *t->start_of)))
		return -ENOMEM;
	if (t->n_people >= t->people_counted) {
		/* people[] and start_of, counted a block of people at a time
		 * (a deep trace sizes them for everyone at the start: only
		 * what the trace reaches is touched). */
		int rc = budget_take(t, PEOPLE_BLOCK * (sizeof *t->people + sizeof *t->start_of));

		if (rc)
			return rc;
		t->people_counted += PEOPLE_BLOCK;
	}
	np = &t->people[t->n_people];
	memset(np, 0, sizeof *np);
	np->person = person;
	np->c.order = order;
	if (pid)
		memcpy(np->c.pid, pid, AS_PID_LEN);
	t->order1_of[person] = (uint8_t)(order + 1);
	t->index_of[person] = (uint32_t)t->n_people;
	t->start_of[t->n_people] = 0;
	return (long)t->n_people++;
}

struct person_ref {
	uint32_t person, idx;
};

/*
 * Sort refs[0..n) by person number: a least-significant-digit radix sort,
 * one byte a pass over the bytes that differ (person numbers are dense:
 * three passes for a few million people), through a counted scratch
 * block.  0, -ENOMEM or AS_E_BUDGET (refs unsorted).
 */
static int sort_person_refs(struct tracer *t, struct person_ref *refs, size_t n)
{
	size_t count[4][256];
	uint32_t p_and = UINT32_MAX, p_or = 0;
	struct person_ref *v = refs, *tmp;
	int rc;

	if (n < 2)
		return 0;
	tmp = talloc(t, n * sizeof *tmp, 0, &rc);
	if (!tmp)
		return rc;
	memset(count, 0, sizeof count);
	for (size_t i = 0; i < n; i++) {
		uint32_t x = refs[i].person;

		p_and &= x;
		p_or |= x;
		count[0][x & 0xff]++;
		count[1][x >> 8 & 0xff]++;
		count[2][x >> 16 & 0xff]++;
		count[3][x >> 24]++;
	}
	for (unsigned d = 0; d < 4; d++) {
		size_t at = 0;
		struct person_ref *swap;

		if (((p_and ^ p_or) >> (8 * d) & 0xff) == 0)
			continue; /* every number has this byte */
		for (unsigned c = 0; c < 256; c++) {
			size_t m = count[d][c];

			count[d][c] = at;
			at += m;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[d][v[i].person >> (8 * d) & 0xff]++] = v[i];
		swap = v;
		v = tmp;
		tmp = swap;
	}
	if (v != refs) {
		memcpy(refs, v, n * sizeof *refs);
		tmp = v;
	}
	tfree_block(t, tmp, n * sizeof *tmp);
	return 0;
}

/* people[lo..hi) as (person number, index) in person-number order, the
 * order the store reads neighbours cheaply in (counted: release with
 * tfree_block, hi - lo + 1 of them); NULL and *rc if out of memory or
 * past the budget. */
static struct person_ref *refs_by_person(struct tracer *t, size_t lo, size_t hi, int *rc)
{
	struct person_ref *refs = talloc(t, (hi - lo + 1) * sizeof *refs, 0, rc);

	if (!refs)
		return NULL;
	for (size_t i = lo; i < hi; i++)
		refs[i - lo] = (struct person_ref){t->people[i].person, (uint32_t)i};
	*rc = sort_person_refs(t, refs, hi - lo);
	if (*rc) {
		tfree_block(t, refs, (hi - lo + 1) * sizeof *refs);
		return NULL;
	}
	return refs;
}

/* Read the pids of people[lo..n_people): those the caller's pid cache
 * holds from it, the others from the store (through the cache, which
 * keeps them) in person-number order (neighbouring lookups share pages). */
static int resolve_pids(struct tracer *t, size_t lo)
{
	size_t n = 0;
	struct person_ref *refs;
	int rc = 0;

	if (t->n_people == lo)
		return 0;
	refs = talloc(t, (t->n_people - lo) * sizeof *refs, 0, &rc);
	if (!refs)
		return rc;
	for (size_t i = lo; i < t->n_people; i++) {
		struct person *p = &t->people[i];

		if (!cl_pid_cache_peek(t->p->pids, p->person, p->c.pid))
			refs[n++] = (struct person_ref){p->person, (uint32_t)i};
	}
	rc = sort_person_refs(t, refs, n);
	for (size_t i = 0; i < n && !rc; i++) {
		rc = cl_pid_cache_get(t->p->pids, t->r, refs[i].person,
				      t->people[refs[i].idx].c.pid);
		if (rc == AS_E_NOT_FOUND)
			rc = AS_E_CORRUPT; /* an index entry of a person not stored */
	}
	tfree_block(t, refs, (t->n_people - lo) * sizeof *refs);
	return rc;
}

/* ---- venues ------------------------------------------------------------ */

/*
 * The dwell minutes of venue (the default for an unknown venue) and, if
 * lookback is not NULL, the longest any visit there can be, in seconds:
 * the dwell or the longest recorded visit (registry), at most
 * CL_TRACE_MAX_VISIT.  Cached per venue as dwell | lookback << 11 (one
 * cache per reading thread).
 */
static int venue_dwell_in(struct cl_reader *r, struct u64map *cache, uint32_t venue,
			  unsigned *dwell, int64_t *lookback)
{
	struct cl_venue v;
	uint32_t val = 0, longest = 0;
	unsigned minutes;
	int found, added, rc;

	map_get(cache, (uint64_t)venue + 1, &found, &val);
	if (!found) {
		rc = cl_reader_venue(r, venue, &v);
		if (rc == AS_E_NOT_FOUND) {
			minutes = CL_DEFAULT_DWELL;
			longest = CL_TRACE_MAX_VISIT; /* nothing known: the cap */
		} else if (rc) {
			return rc;
		} else {
			minutes = v.dwell_minutes ? v.dwell_minutes : CL_DEFAULT_DWELL;
			longest = v.longest_visit;
		}
		if (longest < minutes * 60)
			longest = minutes * 60;
		if (longest > CL_TRACE_MAX_VISIT)
			longest = CL_TRACE_MAX_VISIT;
		val = minutes | longest << 11;
		rc = map_put(cache, (uint64_t)venue + 1, val, &added);
		if (rc)
			return rc;
	}
	*dwell = val & 0x7ff;
	if (lookback)
		*lookback = val >> 11;
	return 0;
}

static int venue_dwell(struct tracer *t, uint32_t venue, unsigned *dwell, int64_t *lookback)
{
	return venue_dwell_in(t->r, &t->dwell, venue, dwell, lookback);
}

/* ---- collecting visits ------------------------------------------------- */

static int cmp_ival_venue(const void *x, const void *y)
{
	const struct ival *a = x, *b = y;

	if (a->venue != b->venue)
		return a->venue < b->venue ? -1 : 1;
	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	if (a->src != b->src)
		return a->src < b->src ? -1 : 1;
	return 0;
}

/*
 * Sort v[0..n) by (venue, a), stably, through tmp (room for n); returns
 * the array that holds the result (v or tmp).  A least-significant-digit
 * radix sort on venue << 32 | (a - amin), one byte a pass, skipping the
 * bytes every element shares (most of them: venue numbers and a few weeks
 * of seconds need five or six).  Starts spread over more than 2^32 seconds
 * (only hostile stored times) fall back to qsort by (venue, a, src).
 * Nothing depends on the order of equal (venue, a).
 */
static struct ival *sort_venue_start(struct ival *v, struct ival *tmp, size_t n)
{
	static const unsigned bytes = 8;
	size_t (*count)[256];
	int64_t amin = INT64_MAX, amax = INT64_MIN;

	if (n < 2)
		return v;
	for (size_t i = 0; i < n; i++) {
		if (v[i].a < amin)
			amin = v[i].a;
		if (v[i].a > amax)
			amax = v[i].a;
	}
	count = calloc(bytes, sizeof *count);
	if (n < 16 || (uint64_t)amax - (uint64_t)amin > UINT32_MAX || !count) {
		free(count);
		qsort(v, n, sizeof *v, cmp_ival_venue);
		return v;
	}
#define SORT_KEY(e) ((uint64_t)(e).venue << 32 | (uint32_t)((uint64_t)(e).a - (uint64_t)amin))
	for (size_t i = 0; i < n; i++) {
		uint64_t key = SORT_KEY(v[i]);

		for (unsigned d = 0; d < bytes; d++)
			count[d][key >> (8 * d) & 0xff]++;
	}
	for (unsigned d = 0; d < bytes; d++) {
		size_t at = 0;
		struct ival *swap;

		if (count[d][SORT_KEY(v[0]) >> (8 * d) & 0xff] == n)
			continue; /* every element has this byte */
		for (unsigned c = 0; c < 256; c++) {
			size_t k = count[d][c];

			count[d][c] = at;
			at += k;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[d][SORT_KEY(v[i]) >> (8 * d) & 0xff]++] = v[i];
		swap = v;
		v = tmp;
		tmp = swap;
	}
#undef SORT_KEY
	free(count);
	return v;
}

/* One visit of the span-th source: its interval into t->all_vis (and, for
 * the case, the visit to the sink). */
/* A thread reading sources' visits: what it reads with and fills. */
struct reading {
	struct tracer *t;               /* read only while two threads read */
	struct cl_reader *r;
	struct u64map *dwell;           /* this thread's venue cache */
	const struct cl_reader_span *spans;
	const uint32_t *span_src;       /* the source of each of spans */
	size_t n_spans;
	struct ival *out;               /* the visits' intervals */
	size_t n_out, cap_out;
	int rc;
};

static int push_source_visit(void *ctx, size_t span, const struct cl_visit *v)
{
	struct reading *rd = ctx;
	struct tracer *t = rd->t;
	uint32_t src = rd->span_src[span];
	unsigned dwell;
	int64_t a, b;
	int rc = venue_dwell_in(rd->r, rd->dwell, v->venue_id, &dwell, NULL);

	if (rc)
		return rc;
	cl_trace_interval(v, dwell, &a, &b);
	if (t->k == 1 && t->sink->case_visit) {
		struct cl_trace_visit cv = {*v, a, b};

		memcpy(cv.v.pid, t->people[src].c.pid, AS_PID_LEN);
		rc = t->sink->case_visit(t->sink->ctx, &cv);
		if (rc)
			return rc < 0 ? rc : AS_E_FIELD;
	}
	if (b <= a)
		return 0; /* empty: exit recorded at entry */
	rc = tgrow(t, (void **)&rd->out, &rd->cap_out, rd->n_out + 1, sizeof *rd->out);
	if (rc)
		return rc;
	rd->out[rd->n_out++] = (struct ival){v->venue_id, src, a, b};
	return 0;
}

static void read_spans(void *arg)
{
	struct reading *rd = arg;

	rd->rc = cl_reader_visits_of_many(rd->r, rd->spans, rd->n_spans, push_source_visit, rd);
}

/*
 * Read the visits of t->spans[0..n) into t->all_vis.  Many sources are
 * split between this thread and a second one with the second reader (its
 * own venue cache and output, appended afterwards), so the two cores share
 * the biggest read of a deep trace (from params.split_min sources,
 * SPLIT_MIN by default).  Without a second reader, or if a thread cannot
 * start, this thread reads them all.
 */
static int read_sources(struct tracer *t, size_t n)
{
	struct reading one = {t, t->r, &t->dwell, t->spans, t->span_src, n, t->all_vis, 0,
			      t->cap_all_vis, 0};
	struct reading two = {0};
	struct u64map dwell2 = {0};
	uv_thread_t th;
	int threaded = 0;
	size_t split_min = t->p->split_min ? t->p->split_min : SPLIT_MIN;

	if (n >= split_min && n >= 2 && t->k > 1 && t->r2) {
		size_t h = n / 2;

		two = (struct reading){t, t->r2, &dwell2, t->spans + h, t->span_src + h, n - h,
				       NULL, 0, 0, 0};
		one.n_spans = h;
		threaded = uv_thread_create(&th, read_spans, &two) == 0;
		if (!threaded)
			one.n_spans = n;
	}
	read_spans(&one);
	if (threaded)
		uv_thread_join(&th);
	t->all_vis = one.out;
	t->cap_all_vis = one.cap_out;
	t->n_all_vis = one.n_out;
	if (!one.rc && threaded)
		one.rc = two.rc;
	if (!one.rc && two.n_out) {
		one.rc = tgrow(t, (void **)&t->all_vis, &t->cap_all_vis, t->n_all_vis + two.n_out,
			       sizeof *t->all_vis);
		if (!one.rc) {
			memcpy(t->all_vis + t->n_all_vis, two.out, two.n_out * sizeof *two.out);
			t->n_all_vis += two.n_out;
		}
	}
	tfree(t, two.out);
	map_free(&dwell2);
	return one.rc;
}

/*
 * The traced visits of sources people[lo..hi) -> t->iv, each source's
 * visits merged per venue into disjoint intervals, sorted by (venue, a).
 * The visits are read in one pass over the store
 * (cl_reader_visits_of_many: day by day, people in number order, so
 * neighbouring lookups share pages), kept as bare intervals, radix-sorted
 * by (venue, a) and merged in that order.  The case's visits also go to
 * the sink, in entry order.
 */
static int collect_sources(struct tracer *t, size_t lo, size_t hi)
{
	struct open_ival {
		uint32_t venue, at1;
	} *last;
	size_t n = hi - lo;
	struct person_ref *refs;
	struct ival *v;
	int rc;

	rc = tgrow(t, (void **)&t->spans, &t->cap_spans, n + 1, sizeof *t->spans);
	if (!rc)
		rc = tgrow(t, (void **)&t->span_src, &t->cap_span_src, n + 1, sizeof *t->span_src);
	if (rc)
		return rc;
	if (!(refs = refs_by_person(t, lo, hi, &rc)))
		return rc;
	/* The spans in person order, each with its source's index. */
	for (size_t i = 0; i < n; i++) {
		const struct person *p = &t->people[refs[i].idx];

		t->spans[i] = (struct cl_reader_span){p->person, p->lo, p->hi};
		t->span_src[i] = refs[i].idx;
	}
	tfree_block(t, refs, (n + 1) * sizeof *refs);
	t->n_all_vis = 0;
	/* About 20 visits a source: grown once to that rather than doubled
	 * from 16 (unless that guess alone would pass the budget: then as
	 * needed). */
	if (n <= SIZE_MAX / 32) {
		rc = tgrow_as(t, (void **)&t->all_vis, &t->cap_all_vis, n * 20,
			      sizeof *t->all_vis, 1);
		if (rc && rc != AS_E_BUDGET)
			return rc;
	}
	rc = read_sources(t, n);
	if (rc)
		return rc;
	if (t->n_all_vis == 0)
		return 0;
	/* Sort by (venue, a), with t->iv as the second buffer. */
	if (t->n_all_vis >= UINT32_MAX)
		return -ENOMEM;
	rc = tgrow_as(t, (void **)&t->iv, &t->cap_iv, t->n_all_vis + 1, sizeof *t->iv, 1);
	if (rc)
		return rc;
	v = sort_venue_start(t->all_vis, t->iv, t->n_all_vis);
	if (v != t->iv) {
		/* Make t->iv the sorted array. */
		struct ival *p = t->iv;
		size_t cap = t->cap_iv;

		t->iv = v;
		t->cap_iv = t->cap_all_vis;
		t->all_vis = p;
		t->cap_all_vis = cap;
	}
	/* Merge each source's visits per venue, in place and in this order:
	 * last[s] is the output interval source lo + s wrote last (one past
	 * it, and its venue, so that one of another venue is passed over
	 * without loading it).  The output never overtakes the input, and
	 * stays sorted by (venue, a). */
	last = talloc(t, n * sizeof *last, 1, &rc);
	if (!last)
		return rc;
	t->n_iv = 0;
	for (size_t i = 0; i < t->n_all_vis; i++) {
		const struct ival g = v[i];
		struct open_ival *o = &last[g.src - lo];

		if (o->at1 && o->venue == g.venue && g.a <= v[o->at1 - 1].b) {
			if (g.b > v[o->at1 - 1].b)
				v[o->at1 - 1].b = g.b;
			continue;
		}
		v[t->n_iv++] = g;
		*o = (struct open_ival){g.venue, (uint32_t)t->n_iv};
	}
	tfree_block(t, last, n * sizeof *last);
	return 0;
}

/* ---- the sweep --------------------------------------------------------- */

/* A cluster: source intervals t->iv[lo..hi) at one venue, and the range
 * of entry times [qlo, qhi] whose visits can overlap them. */
struct cluster {
	size_t lo, hi;
	int64_t maxlen;         /* the longest of the intervals */
	int64_t qlo, qhi;
	uint32_t venue;
	unsigned dwell;
};

/* A swept visit that overlaps a source interval, as the sweep keeps it. */
struct seen {
	uint64_t vid;
	uint32_t person, venue;
	int64_t xa, xb;         /* its interval */
	uint16_t headcount;
	uint8_t kind;
};

/* A thread sweeping clusters: what it reads with and, for the second
 * thread, what it leaves for the first to apply in order. */
struct sweeper {
	struct tracer *t;
	struct cl_reader *r;
	const uint8_t *order1;          /* order + 1 by person number, for the skip */
	const struct cluster *cl;       /* the cluster being swept */
	int later;                      /* 1: record events instead of applying */
	struct sweep_event {
		struct seen v;
		int64_t best_start;
		size_t best;            /* SIZE_MAX: an unnamed visit */
	} *ev;
	size_t n_ev, cap_ev;
	size_t c_lo, c_hi;              /* clusters to sweep */
	const struct cluster *clusters;
	int rc;
};

/* Does (start, via, venue) beat person c's current first exposure? */
static int better(const struct cl_trace_contact *c, int64_t start, const uint8_t *via,
		  uint32_t venue)
{
	int d;

	if (start != c->start)
		return start < c->start;
	d = memcmp(via, c->via, AS_PID_LEN);
	if (d)
		return d < 0;
	return venue < c->venue;
}

/* Keep visit v of people[who] as a hit of this order. */
static int add_hit(struct tracer *t, long who, const struct seen *v)
{
	int rc = t->n_hits < t->cap_hits ? 0 : tgrow(t, (void **)&t->hits, &t->cap_hits,
						     t->n_hits + 1, sizeof *t->hits);

	if (rc)
		return rc;
	t->hits[t->n_hits++] = (struct hit){(uint32_t)who, v->venue, v->xa, v->xb, v->headcount,
					    v->kind};
	return 0;
}

/*
 * Does visit x (swept for cluster cl) overlap a source interval, and is
 * it of someone not known at a lower order (order1)?  1 with *v filled and
 * *first the first interval starting at or after its end; 0: nothing to
 * do; or an error.
 */
static int match(const struct tracer *t, const uint8_t *order1, const struct cluster *cl,
		 const struct cl_visit *x, struct seen *v, size_t *first)
{
	size_t lo = cl->lo, hi = cl->hi;

	cl_trace_interval(x, cl->dwell, &v->xa, &v->xb);
	if (v->xb <= v->xa)
		return 0;
	if (x->person >= t->cap_by_person)
		return AS_E_CORRUPT; /* a person number the store never handed out */
	/* Known at a lower order (this includes every source of this order,
	 * so nobody is their own contact, and the case)? */
	if (x->person != 0 && order1[x->person] && order1[x->person] <= t->k)
		return 0;
	/* Intervals from the first with a >= xb cannot overlap. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->iv[mid].a < v->xb)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* None of the intervals before it ends after xa: no overlap. */
	if (lo == cl->lo || t->end_max[lo - 1] <= v->xa)
		return 0;
	v->vid = x->vid;
	v->person = x->person;
	v->venue = x->venue_id;
	v->headcount = x->headcount;
	v->kind = x->kind;
	*first = lo;
	return 1;
}

/* The source interval of cl before first giving v its earliest overlap
 * (smallest pid on a tie): scan back while an interval can still end
 * after xa.  Its index (one exists: match saw end_max) and *start. */
static size_t best_source(const struct tracer *t, const struct cluster *cl, size_t first,
			  const struct seen *v, int64_t *start)
{
	int64_t reach = sat_sub(v->xa, cl->maxlen);
	size_t best = SIZE_MAX;

	for (size_t i = first; i-- > cl->lo && t->iv[i].a > reach && t->end_max[i] > v->xa;) {
		const struct ival *iv = &t->iv[i];
		int64_t s;

		if (iv->b <= v->xa)
			continue;
		s = v->xa > iv->a ? v->xa : iv->a;
		if (best == SIZE_MAX || s < *start ||
		    (s == *start && memcmp(t->people[iv->src].c.pid,
					   t->people[t->iv[best].src].c.pid, AS_PID_LEN) < 0)) {
			best = i;
			*start = s;
		}
	}
	return best;
}

/* An unnamed visit that overlapped a source: counted once. */
static int count_unnamed(struct tracer *t, const struct seen *v)
{
	int added, rc = map_put(&t->vids, v->vid + 1, 0, &added);

	if (!rc && added) {
		t->cur.unnamed_visits++;
		t->cur.unnamed_people += v->headcount;
	}
	return rc;
}

/* Named visit v, whose earliest overlap is with interval best from start:
 * a new person of this order, or maybe a better first exposure. */
static int take_visit(struct tracer *t, const struct seen *v, size_t best, int64_t start)
{
	const struct ival *b = &t->iv[best];
	struct person *p;
	long who;

	if (best >= t->n_iv)
		return AS_E_CORRUPT; /* end_max said an interval overlaps */
	if (t->order1_of[v->person]) {
		who = (long)t->index_of[v->person];
		p = &t->people[who];
		if (!better(&p->c, start, t->people[b->src].c.pid, b->venue))
			return add_hit(t, who, v);
	} else {
		who = person_add(t, v->person, NULL, t->k);
		if (who < 0)
			return (int)who;
		p = &t->people[who];
	}
	p->c.start = t->start_of[who] = start;
	p->c.venue = b->venue;
	p->via_idx = b->src;
	memcpy(p->c.via, t->people[b->src].c.pid, AS_PID_LEN);
	return add_hit(t, who, v);
}

/* The first thread's callback: apply each visit at once. */
static int on_venue_visit(void *ctx, const struct cl_visit *x)
{
	struct sweeper *w = ctx;
	struct tracer *t = w->t;
	struct seen v;
	size_t first, best;
	int64_t start = 0;
	int rc = match(t, t->order1_of, w->cl, x, &v, &first);

	if (rc <= 0)
		return rc;
	if (v.person == 0)
		return count_unnamed(t, &v);
	/* Exposed through this visit, which starts after the first exposure
	 * found for them so far: nothing to compare. */
	if (t->order1_of[v.person] && t->start_of[t->index_of[v.person]] < v.xa)
		return add_hit(t, (long)t->index_of[v.person], &v);
	best = best_source(t, w->cl, first, &v, &start);
	return take_visit(t, &v, best, start);
}

/* The second thread's callback: touch nothing the first one writes;
 * record what the first must apply, in order, after it. */
static int on_venue_visit_later(void *ctx, const struct cl_visit *x)
{
	struct sweeper *w = ctx;
	struct seen v;
	size_t first, best = SIZE_MAX;
	int64_t start = 0;
	int rc = match(w->t, w->order1, w->cl, x, &v, &first);

	if (rc <= 0)
		return rc;
	if (v.person != 0)
		best = best_source(w->t, w->cl, first, &v, &start);
	rc = tgrow(w->t, (void **)&w->ev, &w->cap_ev, w->n_ev + 1, sizeof *w->ev);
	if (rc)
		return rc;
	w->ev[w->n_ev++] = (struct sweep_event){v, start, best};
	return 0;
}

static void sweep_clusters(void *arg)
{
	struct sweeper *w = arg;

	for (size_t c = w->c_lo; c < w->c_hi && !w->rc; c++) {
		w->cl = &w->clusters[c];
		w->rc = cl_reader_visits_at(w->r, w->cl->venue, w->cl->qlo, w->cl->qhi,
					    w->later ? on_venue_visit_later : on_venue_visit, w);
	}
}

/*
 * Query each cluster of t->iv (sorted by venue, a) once.  A visit that
 * enters before a - lookback + 1 ends by a: the query starts there.  With
 * many intervals (split_min) and the second reader, the clusters are split
 * in two halves by interval count: the second thread sweeps the later half
 * against a copy of the order table, recording its findings, which this
 * thread applies after its own half, so hits come in the same order as
 * from one thread.  people[] does not move meanwhile (sized for everyone
 * at the start).
 */
#define SWEEP_SLACK (2 * 3600)

static int sweep(struct tracer *t)
{
	struct cluster *cls = NULL;
	size_t ncl = 0, cap_cls = 0, split, i = 0;
	struct sweeper one = {0}, two = {0};
	uint8_t *order_copy = NULL;
	int64_t slack = 0;
	uv_thread_t th;
	int threaded = 0, rc = 0, copy_rc; /* copy_rc: no copy, one thread */

	/* When most people are known (at the deep orders), reading the few
	 * hours between two clusters, whose visits are mostly skipped, costs
	 * less than another descent of the index: clusters that close are
	 * one query. */
	if (t->n_people > t->cap_by_person / 2)
		slack = SWEEP_SLACK;
	while (i < t->n_iv && !rc) {
		struct cluster cl = {i, i + 1, t->iv[i].b - t->iv[i].a, 0, t->iv[i].b, t->iv[i].venue, 0};
		int64_t lookback;

		rc = venue_dwell(t, cl.venue, &cl.dwell, &lookback);
		if (rc)
			break;
		cl.qlo = sat_sub(t->iv[i].a, lookback - 1);
		while (cl.hi < t->n_iv && t->iv[cl.hi].venue == cl.venue &&
		       sat_sub(t->iv[cl.hi].a, sat_add(lookback - 1, slack)) <= cl.qhi) {
			const struct ival *n = &t->iv[cl.hi];

			if (n->b > cl.qhi)
				cl.qhi = n->b;
			if (n->b - n->a > cl.maxlen)
				cl.maxlen = n->b - n->a;
			cl.hi++;
		}
		cl.qhi--; /* the last end, exclusive */
		rc = tgrow(t, (void **)&cls, &cap_cls, ncl + 1, sizeof *cls);
		if (!rc)
			cls[ncl++] = cl;
		i = cl.hi;
	}
	/* Split by intervals swept: the clusters before split hold half. */
	split = ncl;
	if (!rc && t->r2 && t->n_iv >= (t->p->split_min ? t->p->split_min : SPLIT_MIN) &&
	    ncl >= 2 && t->cap_people > t->cap_by_person && t->cap_start_of > t->cap_by_person &&
	    (order_copy = talloc(t, t->cap_by_person + 1, 0, &copy_rc))) {
		size_t half = 0;

		memcpy(order_copy, t->order1_of, t->cap_by_person);
		for (split = 0; split < ncl - 1 && half < t->n_iv / 2; split++)
			half += cls[split].hi - cls[split].lo;
		if (split == 0)
			split = 1;
	}
	one = (struct sweeper){.t = t, .r = t->r, .clusters = cls, .c_lo = 0, .c_hi = split};
	two = (struct sweeper){.t = t, .r = t->r2, .order1 = order_copy, .later = 1,
			       .clusters = cls, .c_lo = split, .c_hi = ncl};
	if (!rc && split < ncl) {
		cl_reader_skip_people(t->r2, order_copy, t->cap_by_person, (uint8_t)t->k);
		threaded = uv_thread_create(&th, sweep_clusters, &two) == 0;
		if (!threaded)
			one.c_hi = ncl;
	}
	/* The store passes over people known at a lower order: at the deeper
	 * orders, most visits.  order1_of does not move meanwhile: person_add
	 * grows it only for numbers beyond the store's limit, which match
	 * refuses. */
	cl_reader_skip_people(t->r, t->order1_of, t->cap_by_person, (uint8_t)t->k);
	if (!rc)
		sweep_clusters(&one);
	if (threaded)
		uv_thread_join(&th);
	rc = rc ? rc : one.rc ? one.rc : two.rc;
	for (size_t e = 0; e < two.n_ev && !rc; e++) {
		const struct sweep_event *ev = &two.ev[e];

		rc = ev->best == SIZE_MAX ? count_unnamed(t, &ev->v)
					  : take_visit(t, &ev->v, ev->best, ev->best_start);
	}
	cl_reader_skip_people(t->r, NULL, 0, 0);
	if (t->r2)
		cl_reader_skip_people(t->r2, NULL, 0, 0);
	tfree(t, two.ev);
	tfree(t, cls);
	tfree_block(t, order_copy, t->cap_by_person + 1);
	return rc;
}

/* ---- exposure of one new person ---------------------------------------- */

/*
 * t->by_src: the intervals of the sources people[src_lo..src_hi) that are
 * the via of some new person (people[new_lo..]), grouped by source with a
 * stable counting sort, so by (src, venue, a).  At the deep orders most
 * sources reach nobody new: their intervals are left out.
 */
static int group_vias(struct tracer *t, size_t src_lo, size_t src_hi, size_t new_lo)
{
	size_t n = src_hi - src_lo, m = 0, *at;
	uint8_t *is_via = NULL;
	int rc = tgrow_as(t, (void **)&t->via_at, &t->cap_via_at, n + 1, sizeof *t->via_at, 1);

	if (rc)
		return rc;
	at = t->via_at;
	memset(at, 0, (n + 1) * sizeof *at);
	t->src_lo = src_lo;
	is_via = talloc(t, n + 1, 1, &rc);
	if (!is_via)
		goto out;
	for (size_t i = new_lo; i < t->n_people; i++)
		is_via[t->people[i].via_idx - src_lo] = 1;
	for (size_t i = 0; i < t->n_iv; i++)
		if (is_via[t->iv[i].src - src_lo]) {
			at[t->iv[i].src - src_lo + 1]++;
			m++;
		}
	rc = tgrow(t, (void **)&t->by_src, &t->cap_by_src, m + 1, sizeof *t->by_src);
	if (rc)
		goto out;
	for (size_t i = 0; i < n; i++)
		at[i + 1] += at[i];
	for (size_t i = 0; i < t->n_iv; i++)
		if (is_via[t->iv[i].src - src_lo])
			t->by_src[at[t->iv[i].src - src_lo]++] = t->iv[i];
	t->n_by_src = m;
out:
	tfree_block(t, is_via, n + 1);
	return rc;
}

/* by_src[*lo..*hi): the intervals of source src (index in people[]),
 * from group_vias: t->via_at[s] is the end of source src_lo + s's. */
static void via_range(const struct tracer *t, uint32_t src, size_t *lo, size_t *hi)
{
	size_t s = src - t->src_lo;

	*lo = s ? t->via_at[s - 1] : 0;
	*hi = t->via_at[s];
}

/* Is by_src[q] before (venue, a): at an earlier venue, or ending by a? */
#define VIA_BEFORE(q, venue, a)                                                              \
	(t->by_src[q].venue < (venue) || (t->by_src[q].venue == (venue) && t->by_src[q].b <= (a)))

/* The first index q in by_src[j..hi) (one source's intervals, by (venue,
 * a), disjoint per venue, so by (venue, b) too) at venue or after it
 * whose interval ends after a.  Usually j itself or close to it (a
 * contact's hits come in (venue, a) order), else far (via's other
 * venues): a galloping search. */
static size_t via_from(const struct tracer *t, size_t j, size_t hi, uint32_t venue, int64_t a)
{
	size_t step = 1;

	if (j >= hi || !VIA_BEFORE(j, venue, a))
		return j;
	/* by_src[j] is before: find a bound hi' with by_src[hi'] not. */
	while (step < hi - j && VIA_BEFORE(j + step, venue, a)) {
		j += step;
		step *= 2;
	}
	if (step < hi - j)
		hi = j + step;
	j++;
	while (j < hi) {
		size_t mid = j + (hi - j) / 2;

		if (VIA_BEFORE(mid, venue, a))
			j = mid + 1;
		else
			hi = mid;
	}
	return j;
}
#undef VIA_BEFORE

/* Group this order's hits by person (people[lo..n_people)), keeping the
 * sweep's order within each, which is by venue, then entry: a stable
 * counting sort.  t->hit_at[i - lo] is where person i's hits begin in
 * t->hits, t->hit_at[n] their end. */
static int group_hits(struct tracer *t, size_t lo)
{
	size_t n = t->n_people - lo;
	struct hit *sorted;
	int rc = tgrow_as(t, (void **)&t->hit_at, &t->cap_hit_at, n + 1, sizeof *t->hit_at, 1);

	if (!rc)
		rc = tgrow_as(t, (void **)&t->hits_tmp, &t->cap_hits_tmp, t->n_hits + 1,
			      sizeof *t->hits_tmp, 1);
	if (rc)
		return rc;
	memset(t->hit_at, 0, (n + 1) * sizeof *t->hit_at);
	for (size_t i = 0; i < t->n_hits; i++)
		t->hit_at[t->hits[i].who - lo + 1]++;
	for (size_t i = 0; i < n; i++)
		t->hit_at[i + 1] += t->hit_at[i];
	for (size_t i = 0; i < t->n_hits; i++)
		t->hits_tmp[t->hit_at[t->hits[i].who - lo]++] = t->hits[i];
	/* hit_at[i] now holds the end of person i's hits: shift back. */
	memmove(t->hit_at + 1, t->hit_at, n * sizeof *t->hit_at);
	t->hit_at[0] = 0;
	sorted = t->hits_tmp;
	t->hits_tmp = t->hits;
	t->hits = sorted;
	{
		size_t cap = t->cap_hits_tmp;

		t->cap_hits_tmp = t->cap_hits;
		t->cap_hits = cap;
	}
	return 0;
}

static int cmp_int64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

/* Exposure up to y, W(y) = the seconds of the pieces before y, from the
 * breakpoints x[0..m) of W with w[q] = W(x[q]) and d[q] pieces covering
 * [x[q], x[q + 1]) (d[m - 1] = 0).  *q is a cursor: y never decreases
 * between calls with one cursor. */
static int64_t exposure_before(const int64_t *x, const int64_t *w, const int64_t *d, size_t m,
			       size_t *q, int64_t y)
{
	if (y < x[0])
		return 0;
	while (*q + 1 < m && x[*q + 1] <= y)
		(*q)++;
	return sat_add(w[*q], sat_mul(d[*q], sat_diff(y, x[*q])));
}

/*
 * The most seconds of the pieces p[0..n), in time order and apart (each
 * begins at or after the end of the one before: one venue's), inside any
 * window [u, u + period).  Some best window begins where a piece begins:
 * one that begins in a gap gains nothing by starting earlier, and one
 * that begins inside a piece loses at its end at most what it gains at
 * its start by moving back to that piece's start.  One pass, with j the
 * first piece not whole in the window.
 */
static int64_t period_max_apart(const struct piece *p, size_t n, int64_t period)
{
	int64_t best = 0, whole = 0; /* whole: the seconds of p[i..j) */
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		int64_t end = sat_add(p[i].a, period), here;

		if (j < i) {
			j = i;
			whole = 0;
		}
		while (j < n && p[j].b <= end) {
			whole = sat_add(whole, sat_diff(p[j].b, p[j].a));
			j++;
		}
		here = j < n && p[j].a < end ? sat_add(whole, end - p[j].a) : whole;
		if (here > best)
			best = here;
		if (j > i)
			whole -= sat_diff(p[i].b, p[i].a);
	}
	return best;
}

/*
 * *best = the most seconds of t->pieces[0..n) inside any window [u, u +
 * period).  Pieces at different venues may overlap in time (one person
 * at two venues at once); each counts, as in the total.  Pieces apart
 * and in order take period_max_apart.  Otherwise, with W as in
 * exposure_before, a window holds f(u) = W(u + period) - W(u), which is
 * piecewise linear and bends only where u or u + period is a breakpoint
 * x[q] of W (a piece's start or end): its maximum is at one of those u.
 * Both kinds of u increase with q, so after sorting the starts and the
 * ends each kind is one pass with two cursors: O(n log n).
 */
static int period_max(struct tracer *t, size_t n, int64_t period, int64_t *best)
{
	int64_t *starts, *ends, *x, *w, *d;
	size_t i = 1, j = 0, m = 0, q1 = 0, q2 = 0;
	int64_t depth = 0, max = 0;
	int rc;

	while (i < n && t->pieces[i].a >= t->pieces[i - 1].b)
		i++;
	if (i >= n) {
		*best = period_max_apart(t->pieces, n, period);
		return 0;
	}
	rc = tgrow(t, (void **)&t->pm, &t->cap_pm, 8 * n, sizeof *t->pm);
	if (rc)
		return rc;
	starts = t->pm;
	ends = starts + n;
	x = ends + n;
	w = x + 2 * n;
	d = w + 2 * n;
	for (size_t k = 0; k < n; k++) {
		starts[k] = t->pieces[k].a;
		ends[k] = t->pieces[k].b;
	}
	qsort(starts, n, sizeof *starts, cmp_int64);
	qsort(ends, n, sizeof *ends, cmp_int64);
	i = 0;
	while (j < n) { /* every start is before its end: the ends finish last */
		int64_t at = i < n && starts[i] < ends[j] ? starts[i] : ends[j];

		x[m] = at;
		w[m] = m ? sat_add(w[m - 1], sat_mul(d[m - 1], sat_diff(at, x[m - 1]))) : 0;
		while (i < n && starts[i] == at) {
			depth++;
			i++;
		}
		while (j < n && ends[j] == at) {
			depth--;
			j++;
		}
		d[m++] = depth;
	}
	for (size_t k = 0; k < m; k++) {
		/* Windows starting at x[k], and windows ending at x[k]. */
		int64_t a = sat_sub(exposure_before(x, w, d, m, &q1, sat_add(x[k], period)), w[k]);
		int64_t b = sat_sub(w[k], exposure_before(x, w, d, m, &q2, sat_sub(x[k], period)));

		if (a > max)
			max = a;
		if (b > max)
			max = b;
	}
	*best = max;
	return 0;
}

/* Exposure of new person who from its hits h[0..nh), sorted by (venue, a). */
static int exposure(struct tracer *t, uint32_t who, const struct hit *h, size_t nh)
{
	struct person *p = &t->people[who];
	uint32_t via = p->via_idx;
	size_t vlo, vhi, m = 0, j, np = 0;
	int64_t first_end = p->c.start, lo = INT64_MAX, hi = INT64_MIN;
	int found_kind = 0, rc;

	via_range(t, via, &vlo, &vhi);
	rc = nh < t->cap_tmp ? 0 : tgrow(t, (void **)&t->tmp, &t->cap_tmp, nh + 1, sizeof *t->tmp);
	if (!rc && nh + (vhi - vlo) >= t->cap_pieces)
		rc = tgrow(t, (void **)&t->pieces, &t->cap_pieces, nh + (vhi - vlo) + 1,
			   sizeof *t->pieces);
	if (rc)
		return rc;
	/* Per hit: headcount_extra and the kind at the first exposure; and
	 * p's hits merged per venue into t->tmp, each merged interval with
	 * (in src) the first of via's intervals that can meet it.  via's
	 * intervals are sorted by (venue, a) and disjoint per venue. */
	j = vlo;
	for (size_t i = 0; i < nh; i++) {
		const struct hit *v = &h[i];
		size_t q;

		j = via_from(t, j, vhi, v->venue, v->a);
		/* The intervals at this venue ending after v->a start at j; v
		 * overlaps one iff the first of them begins before v->b.  v's
		 * successors have a >= v->a, so j never needs to move back. */
		q = j;
		if (q < vhi && t->by_src[q].venue == v->venue && t->by_src[q].a < v->b) {
			if (v->headcount > 1 && v->headcount - 1 > p->c.headcount_extra)
				p->c.headcount_extra = (uint16_t)(v->headcount - 1);
			if (!found_kind && v->venue == p->c.venue && v->a <= p->c.start &&
			    p->c.start < v->b) {
				p->c.kind = v->kind;
				found_kind = 1;
			}
		}
		if (m && t->tmp[m - 1].venue == v->venue && v->a <= t->tmp[m - 1].b) {
			if (v->b > t->tmp[m - 1].b)
				t->tmp[m - 1].b = v->b;
			continue;
		}
		t->tmp[m++] = (struct ival){v->venue, (uint32_t)j, v->a, v->b};
	}

	/* Intersect the merged intervals with via's: per venue, two sorted
	 * sets of disjoint intervals meet in fewer pieces than they have
	 * intervals together. */
	p->c.overlap = 0;
	for (size_t i = 0; i < m; i++) {
		const struct ival *c = &t->tmp[i];

		/* c->src: via_from for c's first hit, whose a is c->a. */
		for (size_t q = c->src; q < vhi && t->by_src[q].venue == c->venue &&
				   t->by_src[q].a < c->b; q++) {
			const struct ival *d = &t->by_src[q];
			int64_t s = c->a > d->a ? c->a : d->a, e = c->b < d->b ? c->b : d->b;

			if (e <= s)
				continue;
			p->c.overlap = sat_add(p->c.overlap, e - s);
			if (c->venue == p->c.venue && s == p->c.start)
				first_end = e;
			if (s < lo)
				lo = s;
			if (e > hi)
				hi = e;
			t->pieces[np++] = (struct piece){s, e};
		}
	}
	p->c.end = first_end;
	/* Pieces that all fit in one period: all of the overlap is in it. */
	p->c.period_overlap = p->c.overlap;
	if (np && sat_diff(hi, lo) > t->p->risk_period) {
		rc = period_max(t, np, t->p->risk_period, &p->c.period_overlap);
		if (rc)
			return rc;
	}
	p->c.high = p->c.period_overlap >= t->p->min_overlap;
	return 0;
}

/* ---- one order --------------------------------------------------------- */

/* A contact's place in the order's report, (venue, start, pid): the
 * contacts themselves (people[], 128 bytes each) are not moved while
 * sorting. */
struct out_key {
	uint64_t key;                   /* venue << 32 | start - the order's first start */
	uint32_t pid2;                  /* the pid's first 2 bytes, big-endian */
	const struct cl_trace_contact *c; /* the contact, in people[] */
};

static int cmp_out_pid(const void *x, const void *y)
{
	const struct out_key *a = x, *b = y;

	return memcmp(a->c->pid, b->c->pid, AS_PID_LEN);
}

/* (venue, start, pid) from the contacts themselves (wide starts). */
static int cmp_out_full(const void *x, const void *y)
{
	const struct cl_trace_contact *a = ((const struct out_key *)x)->c,
				      *b = ((const struct out_key *)y)->c;

	if (a->venue != b->venue)
		return a->venue < b->venue ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return memcmp(a->pid, b->pid, AS_PID_LEN);
}

/* Radix digit d of an out_key: the pid's 2 bytes first (the least
 * significant), then key's 8. */
#define OUT_DIGITS 10
#define OUT_DIGIT(e, d) ((d) < 2 ? (e).pid2 >> (8 * (d)) & 0xff : (e).key >> (8 * ((d) - 2)) & 0xff)

/*
 * Sort the contacts of this order, people[lo..lo + n), by (venue, start,
 * pid) into t->out_keys: a least-significant-digit radix sort, one byte a
 * pass, on the pid's first 2 bytes and then on key, skipping the bytes all
 * share (a venue number and a few weeks of seconds need five or six); the
 * few pids that share their first 2 bytes within one (venue, start) are
 * put in order after (insertion, or qsort for a long run).  Contacts who
 * were at a busy venue when a case came share that start: comparing their
 * pids one by one was most of the sort.  Starts spread over more than
 * 2^32 seconds (only hostile stored times) are compared whole (qsort).
 */
static int sort_report(struct tracer *t, size_t lo, size_t n)
{
	struct out_key *k = t->out_keys, *tmp;
	int64_t smin = INT64_MAX, smax = INT64_MIN;
	size_t count[OUT_DIGITS][256];
	uint64_t key_and = UINT64_MAX, key_or = 0, pid_and = UINT64_MAX, pid_or = 0, varies;
	unsigned digit[OUT_DIGITS], n_digits = 0;
	int wide, rc;

	for (size_t i = 0; i < n; i++) {
		int64_t st = t->people[lo + i].c.start;

		smin = st < smin ? st : smin;
		smax = st > smax ? st : smax;
	}
	wide = n && (uint64_t)smax - (uint64_t)smin > UINT32_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct cl_trace_contact *c = &t->people[lo + i].c;

		k[i] = (struct out_key){(uint64_t)c->venue << 32 |
						(wide ? 0 : (uint32_t)((uint64_t)c->start - (uint64_t)smin)),
					(uint32_t)c->pid[0] << 8 | c->pid[1], c};
		key_and &= k[i].key;
		key_or |= k[i].key;
		pid_and &= k[i].pid2;
		pid_or |= k[i].pid2;
	}
	if (n < 2)
		return 0;
	if (wide) {
		qsort(k, n, sizeof *k, cmp_out_full);
		return 0;
	}
	rc = tgrow_as(t, (void **)&t->out_tmp, &t->cap_out_tmp, n, sizeof *t->out_tmp, 1);
	if (rc)
		return rc;
	tmp = t->out_tmp;
	/* Only the bytes that differ somewhere need a pass (and a count). */
	for (unsigned d = 0; d < OUT_DIGITS; d++) {
		varies = d < 2 ? (pid_and ^ pid_or) >> (8 * d) : (key_and ^ key_or) >> (8 * (d - 2));
		if (varies & 0xff)
			digit[n_digits++] = d;
	}
	memset(count, 0, sizeof count);
	for (size_t i = 0; i < n; i++) {
		uint64_t x = k[i].key;

		/* Written out: one pass, no loop over the digits. */
		count[0][k[i].pid2 & 0xff]++;
		count[1][k[i].pid2 >> 8]++;
		count[2][x & 0xff]++;
		count[3][x >> 8 & 0xff]++;
		count[4][x >> 16 & 0xff]++;
		count[5][x >> 24 & 0xff]++;
		count[6][x >> 32 & 0xff]++;
		count[7][x >> 40 & 0xff]++;
		count[8][x >> 48 & 0xff]++;
		count[9][x >> 56]++;
	}
	for (unsigned q = 0; q < n_digits; q++) {
		unsigned d = digit[q];
		size_t at = 0;
		struct out_key *swap;

		for (unsigned c = 0; c < 256; c++) {
			size_t m = count[d][c];

			count[d][c] = at;
			at += m;
		}
		if (d < 2) {
			for (size_t i = 0; i < n; i++)
				tmp[count[d][k[i].pid2 >> (8 * d) & 0xff]++] = k[i];
		} else {
			for (size_t i = 0; i < n; i++)
				tmp[count[d][k[i].key >> (8 * (d - 2)) & 0xff]++] = k[i];
		}
		swap = k;
		k = tmp;
		tmp = swap;
	}
	if (k != t->out_keys) {
		/* Keep the sorted array as t->out_keys. */
		size_t cap = t->cap_out_keys;

		t->out_tmp = t->out_keys;
		t->out_keys = k;
		t->cap_out_keys = t->cap_out_tmp;
		t->cap_out_tmp = cap;
	}
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && k[j].key == k[i].key && k[j].pid2 == k[i].pid2; j++)
			;
		if (j - i > 16) {
			qsort(k + i, j - i, sizeof *k, cmp_out_pid);
			continue;
		}
		for (size_t a = i + 1; a < j; a++)
			for (size_t b = a; b > i && cmp_out_pid(&k[b - 1], &k[b]) > 0; b--) {
				struct out_key x = k[b];

				k[b] = k[b - 1];
				k[b - 1] = x;
			}
	}
	return 0;
}
#undef OUT_DIGIT
#undef OUT_DIGITS

/* Sources people[src_lo..src_hi) (order k - 1) -> people of order k. */
static int run_order(struct tracer *t, size_t src_lo, size_t src_hi)
{
	size_t new_lo = t->n_people, n;
	int rc;

	memset(&t->cur, 0, sizeof t->cur);
	t->cur.order = t->k;
	t->n_iv = 0;
	t->n_hits = 0;
	rc = collect_sources(t, src_lo, src_hi);
	if (rc)
		return rc;
	rc = tgrow_as(t, (void **)&t->end_max, &t->cap_end_max, t->n_iv + 1, sizeof *t->end_max,
		      1);
	if (rc)
		return rc;
	for (size_t i = 0; i < t->n_iv; i++)
		t->end_max[i] = i && t->iv[i - 1].venue == t->iv[i].venue &&
					t->end_max[i - 1] > t->iv[i].b
				? t->end_max[i - 1]
				: t->iv[i].b;
	rc = sweep(t);
	if (!rc)
		rc = resolve_pids(t, new_lo);
	if (!rc)
		rc = group_vias(t, src_lo, src_hi, new_lo);
	if (rc)
		return rc;

	n = t->n_people - new_lo;
	rc = tgrow_as(t, (void **)&t->out_keys, &t->cap_out_keys, n, sizeof *t->out_keys, 1);
	if (rc)
		return rc;
	/* Every hit is of a person of this order: all new. */
	rc = group_hits(t, new_lo);
	if (rc)
		return rc;
	for (size_t i = new_lo; i < t->n_people; i++) {
		struct person *p = &t->people[i];
		size_t h = t->hit_at[i - new_lo], h_end = t->hit_at[i - new_lo + 1];

		rc = exposure(t, (uint32_t)i, t->hits + h, h_end - h);
		if (rc)
			return rc;
		/* The next order traces p's visits from its first exposure. */
		p->lo = p->c.start;
		p->hi = sat_add(p->c.start, t->p->incubation);
		t->cur.people++;
		if (p->c.high)
			t->cur.high++;
		else
			t->cur.low++;
		t->cur.extra += p->c.headcount_extra;
	}
	rc = sort_report(t, new_lo, n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && t->sink->contact; i++) {
		rc = t->sink->contact(t->sink->ctx, t->out_keys[i].c);
		if (rc)
			return rc < 0 ? rc : AS_E_FIELD;
	}
	if (t->sink->order_done) {
		rc = t->sink->order_done(t->sink->ctx, &t->cur);
		if (rc)
			return rc < 0 ? rc : AS_E_FIELD;
	}
	return 0;
}

static void tracer_free(struct tracer *t)
{
	big_free(t->people);
	big_free(t->order1_of);
	big_free(t->index_of);
	big_free(t->start_of);
	map_free(&t->vids);
	map_free(&t->dwell);
	big_free(t->iv);
	big_free(t->by_src);
	big_free(t->via_at);
	big_free(t->end_max);
	big_free(t->all_vis);
	big_free(t->spans);
	big_free(t->span_src);
	big_free(t->tmp);
	big_free(t->out_keys);
	big_free(t->out_tmp);
	big_free(t->hits);
	big_free(t->hits_tmp);
	big_free(t->hit_at);
	big_free(t->pieces);
	big_free(t->pm);
	cl_reader_end(t->r2);
	cl_reader_end(t->r);
}

int cl_trace_run(struct cl_store *s, const struct cl_trace_params *p,
		 const struct cl_trace_sink *sink, struct cl_trace_order *total)
{
	static const struct cl_trace_sink no_sink = {0};
	struct tracer t;
	size_t src_lo = 0, src_hi;
	uint32_t case_person;
	long casei;
	int rc = 0;

	if (total)
		memset(total, 0, sizeof *total);
	if (!s || !p || pid_is_zero(p->pid) || p->from > p->to || p->depth < 1 ||
	    p->depth > CL_TRACE_DEPTH_MAX || p->min_overlap < 0 || p->incubation < 0 ||
	    p->risk_period <= 0)
		return AS_E_FIELD;
	memset(&t, 0, sizeof t);
	t.s = s;
	t.p = p;
	t.sink = sink ? sink : &no_sink;
	rc = cl_reader_begin(s, &t.r);
	if (rc)
		return rc;
	/* The person table sized once, not doubled as people are found
	 * (index_of is read only where order1_of says so: never zeroed). */
	{
		uint32_t limit = 0;

		rc = cl_reader_person_limit(t.r, &limit);
		if (!rc && limit > 1) {
			if (big_reserve_zero((void **)&t.order1_of, &t.cap_order1, limit,
					     sizeof *t.order1_of) ||
			    big_reserve((void **)&t.index_of, &t.cap_index_of, limit,
					sizeof *t.index_of))
				rc = -ENOMEM;
			else
				t.cap_by_person = limit;
			if (!rc)
				rc = budget_take(&t, (size_t)limit * (sizeof *t.order1_of +
								      sizeof *t.index_of));
		}
		/* A deep trace: a second reader on the same snapshot for a
		 * second thread (none if a commit came in between), and
		 * people[] sized for everyone, so that it never moves while
		 * that thread reads it. */
		if (!rc && limit > 1 && p->depth > 1) {
			if (cl_reader_begin_twin(t.r, &t.r2) != 0)
				t.r2 = NULL;
			if (big_grow((void **)&t.people, &t.cap_people, (size_t)limit + 1,
				     sizeof *t.people) ||
			    big_grow((void **)&t.start_of, &t.cap_start_of, (size_t)limit + 1,
				     sizeof *t.start_of))
				rc = -ENOMEM;
		}
		if (rc) {
			tracer_free(&t);
			return rc;
		}
	}
	rc = cl_reader_person(t.r, p->pid, &case_person);
	if (rc == AS_E_NOT_FOUND) {
		case_person = 0; /* no visit stored: an empty trace */
		rc = 0;
	}
	casei = rc ? rc : person_add(&t, case_person, p->pid, 0);
	if (casei < 0) {
		tracer_free(&t);
		return (int)casei;
	}
	t.people[0].lo = p->from;
	t.people[0].hi = p->to;
	src_hi = 1;
	for (t.k = 1; t.k <= p->depth; t.k++) {
		rc = run_order(&t, src_lo, src_hi);
		if (rc)
			break;
		if (total) {
			total->people += t.cur.people;
			total->high += t.cur.high;
			total->low += t.cur.low;
			total->extra += t.cur.extra;
			total->unnamed_visits += t.cur.unnamed_visits;
			total->unnamed_people += t.cur.unnamed_people;
		}
		src_lo = src_hi;
		src_hi = t.n_people;
	}
	if (total)
		total->order = rc == AS_E_BUDGET ? t.k - 1 : p->depth;
	tracer_free(&t);
	return rc;
}
