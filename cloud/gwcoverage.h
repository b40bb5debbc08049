/*
 * gwcoverage.h - gateway coverage read from the store: a gateway's
 * periods as an array, and the silences of the gateways of a venue during
 * a span of time (what a trace marks on a case's visit).  Built on the
 * pure rules of coverage.h.  Single-threaded CLI use (each call opens its
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

#endif
