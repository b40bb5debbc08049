/*
 * gwcoverage.h - gateway coverage read from the store: a gateway's
 * periods as an array, and the silences of the gateways of a venue during
 * a span of time (what a trace marks on a case's visit).  Built on the
 * pure rules of coverage.h.  Any thread (each call opens its
 * own read transactions).
 */
#ifndef CL_GWCOVERAGE_H
#define CL_GWCOVERAGE_H

#include <stddef.h>
#include <stdint.h>

#include "coverage.h"
#include "store.h"

/* Every stored period of gw_id, in start order, into *out (the caller
 * releases it with big_free, bigarray.h; NULL when *n is 0).  0, -ENOMEM
 * or a store error. */
int cl_gateway_periods(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
		       struct cl_period **out, size_t *n);

/*
 * For each gateway enrolled at venue_id (revoked ones too: they were
 * there), each of its silences (coverage.h) that overlaps [from, to] at
 * cloud time now: fn(ctx, gateway, silence), in gateway then time order
 * (the time before a gateway's first heartbeat, even before its
 * enrolment, comes as CL_SILENT_NEVER: no data, nothing is known of it
 * then, which a trace shows as unknown coverage, not as a silence);
 * fn returns 0 to go on.  Returns fn's nonzero value, 0, or an error.
 */
int cl_venue_silences(struct cl_store *s, uint32_t venue_id, int64_t from, int64_t to,
		      int64_t now,
		      int (*fn)(void *ctx, const struct cl_gateway *g, const struct cl_silence *sl),
		      void *ctx);

/*
 * The gateway registry read once into memory, for the many venue lookups
 * of one trace report (a walk of the registry for each of the case's
 * visits cost more than the trace itself).  A snapshot: gateways
 * enrolled after cl_gateway_index_load are not in it.  Caller-owned;
 * release with cl_gateway_index_free.  0, -ENOMEM or a store error.
 * The process keeps its last snapshot and hands out copies of it while
 * cl_store_data_version is unchanged (any write to the store, such as an
 * enrolment or a batch, changes it); any thread may call.
 */
struct cl_gateway_index {
	struct cl_gateway *g;  /* in registry (gateway id) order */
	size_t n, cap;
	uint64_t *by_venue;    /* n keys venue_id << 32 | position in g, sorted
				* (a venue's gateways in registry order); NULL:
				* cl_venue_silences_in scans g */
};
int cl_gateway_index_load(struct cl_store *s, struct cl_gateway_index *ix);
void cl_gateway_index_free(struct cl_gateway_index *ix);

/* As cl_venue_silences, with the venue's gateways found in ix. */
int cl_venue_silences_in(struct cl_store *s, const struct cl_gateway_index *ix,
			 uint32_t venue_id, int64_t from, int64_t to, int64_t now,
			 int (*fn)(void *ctx, const struct cl_gateway *g,
				   const struct cl_silence *sl),
			 void *ctx);

/* A gateway at a glance, as 'anshim-cloud stats' and the console's
 * gateway list show it. */
struct cl_gateway_glance {
	int silent;            /* silent now (coverage.h), or never heard */
	int64_t last_seen;     /* cloud time of its last batch or heartbeat,
				* whichever came later; 0: never */
	int64_t lag;           /* its last batch: arrival - creation, s; -1: none */
	uint64_t backlog;      /* records its journal held (last heartbeat) past
				* what the cloud has taken; 0 when unknown */
};

/* The lag of g's last batch (arrival - creation, s), -1 when it sent
 * none.  Pure. */
int64_t cl_gateway_lag(const struct cl_gateway *g);

/* Fill *out for g at cloud time now (reads its periods).  0, -ENOMEM or a
 * store error. */
int cl_gateway_glance(struct cl_store *s, const struct cl_gateway *g, int64_t now,
		      struct cl_gateway_glance *out);

#endif
