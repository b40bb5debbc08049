/*
 * gwcoverage.c - coverage reads over the store (see gwcoverage.h).
 *
 * A gateway's periods are few (one per stretch between silences, purged
 * past retention), so they are read whole into memory.  Any thread; the
 * one shared thing is the process's last gateway index (cl_gateway_index_load),
 * under a mutex, kept while the store's data version is unchanged.
 */
#include "gwcoverage.h"

#include "bigarray.h"

#include "anshim/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct period_list {
	struct cl_period *p;
	size_t n, cap;
};

static int add_period(void *ctx, const struct cl_period *p)
{
	struct period_list *l = ctx;

	if (big_grow((void **)&l->p, &l->cap, l->n + 1, sizeof *l->p))
		return -ENOMEM;
	l->p[l->n++] = *p;
	return 0;
}

int cl_gateway_periods(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
		       struct cl_period **out, size_t *n)
{
	struct period_list l = {NULL, 0, 0};
	int rc = cl_store_each_period(s, gw_id, add_period, &l);

	if (rc) {
		big_free(l.p);
		l.p = NULL;
		l.n = 0;
	}
	*out = l.p;
	*n = l.n;
	return rc;
}

/* The gateways of one venue, or of all. */
struct venue_gateways {
	uint32_t venue;
	int all;
	struct cl_gateway *g;
	size_t n, cap;
	int failed;
};

static int add_gateway(void *ctx, const struct cl_gateway *g)
{
	struct venue_gateways *v = ctx;

	if (!v->all && g->venue_id != v->venue)
		return 0;
	if (big_grow((void **)&v->g, &v->cap, v->n + 1, sizeof *v->g)) {
		v->failed = 1;
		return 1;
	}
	v->g[v->n++] = *g;
	return 0;
}

struct silence_relay {
	const struct cl_gateway *g;
	int (*fn)(void *ctx, const struct cl_gateway *g, const struct cl_silence *sl);
	void *ctx;
};

static int relay(void *ctx, const struct cl_silence *sl)
{
	struct silence_relay *r = ctx;

	return r->fn(r->ctx, r->g, sl);
}

/* The silences of gateways g[0..n) (all at one venue), as
 * cl_venue_silences reports them. */
static int gateways_silences(struct cl_store *s, const struct cl_gateway *g, size_t n,
			     int64_t from, int64_t to, int64_t now,
			     int (*fn)(void *ctx, const struct cl_gateway *g,
				       const struct cl_silence *sl),
			     void *ctx)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < n; i++) {
		struct silence_relay r = {&g[i], fn, ctx};
		struct cl_period *p;
		size_t np;

		rc = cl_gateway_periods(s, g[i].gw_id, &p, &np);
		if (rc)
			break;
		/* Before its first heartbeat nothing is known of a gateway, even
		 * before its enrolment (a gateway journals offline first). */
		rc = cl_coverage_silences(p, np, from < g[i].enrolled_at ? from : g[i].enrolled_at,
					  now, from, to, relay, &r);
		big_free(p);
	}
	return rc;
}

int cl_venue_silences(struct cl_store *s, uint32_t venue_id, int64_t from, int64_t to,
		      int64_t now,
		      int (*fn)(void *ctx, const struct cl_gateway *g, const struct cl_silence *sl),
		      void *ctx)
{
	struct venue_gateways v = {venue_id, 0, NULL, 0, 0, 0};
	int rc = cl_store_each_gateway(s, add_gateway, &v);

	if (!rc && v.failed)
		rc = -ENOMEM;
	if (!rc)
		rc = gateways_silences(s, v.g, v.n, from, to, now, fn, ctx);
	big_free(v.g);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Fill ix->by_venue (left NULL if out of memory or too many gateways). */
static void venue_order(struct cl_gateway_index *ix)
{
	uint64_t *keys;

	if (ix->n == 0 || ix->n > UINT32_MAX)
		return;
	keys = malloc(ix->n * sizeof *keys);
	if (!keys)
		return;
	for (size_t i = 0; i < ix->n; i++)
		keys[i] = (uint64_t)ix->g[i].venue_id << 32 | (uint64_t)i;
	qsort(keys, ix->n, sizeof *keys, cmp_u64);
	ix->by_venue = keys;
}

static int index_read(struct cl_store *s, struct cl_gateway_index *ix)
{
	struct venue_gateways v = {0, 1, NULL, 0, 0, 0};
	int rc = cl_store_each_gateway(s, add_gateway, &v);

	if (!rc && v.failed)
		rc = -ENOMEM;
	if (rc) {
		big_free(v.g);
		memset(ix, 0, sizeof *ix);
		return rc;
	}
	ix->g = v.g;
	ix->n = v.n;
	ix->cap = v.cap;
	ix->by_venue = NULL;
	venue_order(ix); /* without it (no memory) lookups scan */
	return 0;
}

/* The last index read in this process and the store data version it was
 * read at (read before the walk: a write during the walk makes the pair
 * stale, never wrong, and the next load reads again). */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cl_gateway_index cache;
static uint64_t cache_serial, cache_txn;

static int index_copy(const struct cl_gateway_index *from, struct cl_gateway_index *to)
{
	memset(to, 0, sizeof *to);
	if (big_grow((void **)&to->g, &to->cap, from->n ? from->n : 1, sizeof *to->g))
		return -ENOMEM;
	if (from->n)
		memcpy(to->g, from->g, from->n * sizeof *to->g);
	to->n = from->n;
	if (from->by_venue) {
		to->by_venue = malloc(from->n * sizeof *to->by_venue);
		if (!to->by_venue) {
			big_free(to->g);
			memset(to, 0, sizeof *to);
			return -ENOMEM;
		}
		memcpy(to->by_venue, from->by_venue, from->n * sizeof *to->by_venue);
	}
	return 0;
}

int cl_gateway_index_load(struct cl_store *s, struct cl_gateway_index *ix)
{
	uint64_t serial, txn;
	int rc = cl_store_data_version(s, &serial, &txn);

	if (rc)
		return rc;
	pthread_mutex_lock(&cache_lock);
	if (cache.g && cache_serial == serial && cache_txn == txn) {
		rc = index_copy(&cache, ix);
		pthread_mutex_unlock(&cache_lock);
		return rc;
	}
	pthread_mutex_unlock(&cache_lock);
	rc = index_read(s, ix);
	if (rc)
		return rc;
	pthread_mutex_lock(&cache_lock);
	if (!cache.g || cache_serial != serial || cache_txn != txn) {
		struct cl_gateway_index fresh;

		if (!index_copy(ix, &fresh)) {
			cl_gateway_index_free(&cache);
			cache = fresh;
			cache_serial = serial;
			cache_txn = txn;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	return 0;
}

void cl_gateway_index_free(struct cl_gateway_index *ix)
{
	big_free(ix->g);
	free(ix->by_venue);
	memset(ix, 0, sizeof *ix);
}

int cl_venue_silences_in(struct cl_store *s, const struct cl_gateway_index *ix,
			 uint32_t venue_id, int64_t from, int64_t to, int64_t now,
			 int (*fn)(void *ctx, const struct cl_gateway *g,
				   const struct cl_silence *sl),
			 void *ctx)
{
	int rc = 0;

	if (ix->by_venue) {
		/* The first key of the venue, then its gateways in order. */
		uint64_t want = (uint64_t)venue_id << 32;
		size_t lo = 0, hi = ix->n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (ix->by_venue[mid] < want)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t k = lo; !rc && k < ix->n && ix->by_venue[k] >> 32 == venue_id; k++)
			rc = gateways_silences(s, &ix->g[(uint32_t)ix->by_venue[k]], 1, from, to,
					       now, fn, ctx);
		return rc;
	}
	/* A scan of the array in memory: some microseconds for thousands of
	 * gateways, where a walk of the registry took a millisecond or more. */
	for (size_t i = 0; !rc && i < ix->n; i++)
		if (ix->g[i].venue_id == venue_id)
			rc = gateways_silences(s, &ix->g[i], 1, from, to, now, fn, ctx);
	return rc;
}

int64_t cl_gateway_lag(const struct cl_gateway *g)
{
	return g->last_seen && g->last_created ? g->last_seen - g->last_created : -1;
}

int cl_gateway_glance(struct cl_store *s, const struct cl_gateway *g, int64_t now,
		      struct cl_gateway_glance *out)
{
	const struct cl_period *last;
	struct cl_period *p;
	size_t n;
	int rc = cl_gateway_periods(s, g->gw_id, &p, &n);

	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	last = n ? &p[n - 1] : NULL;
	out->silent = cl_coverage_silent_now(p, n, now);
	out->lag = cl_gateway_lag(g);
	out->last_seen = g->last_seen;
	if (last && last->received > out->last_seen)
		out->last_seen = last->received;
	if (last && last->last_seq > g->through_seq)
		out->backlog = last->last_seq - g->through_seq;
	big_free(p);
	return 0;
}
