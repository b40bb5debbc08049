/*
 * trace.h - the contact-tracing engine: from a case (a pid and an
 * infectious window) to everyone who shared a venue with the case at the
 * same time, and, order by order, with those people after their exposure.
 *
 * The rules (docs/TRACING.md is the reference, with worked examples):
 *
 *  - A visit is the interval [entry, end): end is the recorded exit when
 *    there is one, else entry + the venue's dwell minutes (registry; 60 when
 *    the venue is unknown), and never more than CL_TRACE_MAX_VISIT after
 *    entry.  A recorded exit equal to the entry makes an empty interval.
 *  - A source is a person whose visits are traced: the case (order 0), with
 *    the visits whose entry lies in [from, to]; and each contact of order k
 *    first exposed at t, with the visits whose entry lies in
 *    [t, t + incubation], for order k + 1.  A source's traced visits at one
 *    venue are merged into a union of intervals.
 *  - A person C (not the source itself) is exposed to a source S when one of
 *    C's visits at a venue overlaps S's union there by at least one second.
 *    C's order is the lowest k such that C is exposed to a source of order
 *    k - 1; C is reported once, at that order.  The case is never a contact.
 *  - C's first exposure time t is the earliest moment of overlap with any
 *    source of order k - 1; "via" is that source (ties: the smallest pid,
 *    then the smallest venue id).  C's exposure is the total overlap of
 *    C's visits with via's union, summed over venues, each second counted
 *    once even if C was recorded twice (two gateways of one venue).
 *    C's period exposure is the largest part of that exposure inside any
 *    one window [w, w + risk_period) (24 hours by default), and risk is
 *    high when the period exposure is at least min_overlap.
 *  - Visits of unknown people (all-zero pid: a paper entry whose capsule did
 *    not open) are counted, never traced: each such visit counts its
 *    headcount once, at the lowest order at which it overlapped a source.
 *    A contact's headcount_extra is the largest headcount - 1 among C's
 *    visits that overlapped via's union.
 *
 * Efficiency: a source's visits come from the (pid, time) index; who was
 * at a venue comes from one (venue, time) range query per cluster of
 * nearby source intervals at that venue (all sources of an order
 * together), widened by the longest a visit there can be (the venue's
 * dwell or longest recorded visit, at most CL_TRACE_MAX_VISIT); each index
 * entry carries the whole visit, so a contact's exposure needs no further
 * query.  All queries read one snapshot (cl_reader).  The engine keeps per-person
 * state only (about 100 bytes each) plus one order's source intervals,
 * and hands each order's contacts to the caller as soon as the order is
 * complete, so output is streamed and nothing holds the report text.
 *
 * Threads: one trace runs on the calling thread, which an order with
 * many sources (split_min) joins for a while by a second one reading half
 * of their visits and sweeping half of the venues; several traces may run
 * on one store at once.  A trace reads one snapshot of the store (one LMDB
 * read transaction): visits ingested or purged while it runs are not seen,
 * and ingest never waits for it.
 */
#ifndef CL_TRACE_H
#define CL_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"
#include "store.h"

#define CL_TRACE_DEPTH_MAX 3
#define CL_TRACE_MAX_VISIT (24 * 3600)          /* cap on one visit's length, s */
#define CL_TRACE_DEFAULT_MIN_OVERLAP (15 * 60)  /* seconds */
#define CL_TRACE_DEFAULT_INCUBATION (14 * 86400)
#define CL_TRACE_DEFAULT_RISK_PERIOD (24 * 3600) /* seconds */

struct cl_pid_cache;

struct cl_trace_params {
	uint8_t pid[AS_PID_LEN];   /* the case; not all zero */
	int64_t from, to;          /* infectious window: case visits with entry in [from, to] */
	unsigned depth;            /* 1..CL_TRACE_DEPTH_MAX */
	int64_t min_overlap;       /* seconds, >= 0: exposure for risk "high" */
	int64_t incubation;        /* seconds, >= 0 */
	int64_t risk_period;       /* seconds, > 0: risk is judged on the most
				    * exposure within any period this long */
	size_t split_min;          /* an order with this many sources (source
				    * intervals) or more reads (sweeps) on two
				    * threads (0: 4096) */
	size_t memory_budget;      /* bytes the trace's working memory may
				    * reach (0: no bound): see cl_trace_run */
	struct cl_pid_cache *pids; /* borrowed, or NULL: the contacts' pids are
				    * looked up through it (pidcache.h; made for
				    * the store traced) */
};

/* One visit of the case inside the window. */
struct cl_trace_visit {
	struct cl_visit v;         /* as stored */
	int64_t start, end;        /* the visit interval [start, end) by the rules above */
};

/* One contact, reported once at its lowest order. */
struct cl_trace_contact {
	uint8_t pid[AS_PID_LEN];
	uint8_t via[AS_PID_LEN];   /* the order - 1 person (the case for order 1) */
	unsigned order;            /* 1..depth */
	uint32_t venue;            /* where the first exposure happened */
	int64_t start;             /* first exposure: the first moment of overlap */
	int64_t end;               /* end of that uninterrupted overlap */
	int64_t overlap;           /* seconds of overlap with via, all venues */
	int64_t period_overlap;    /* the most of those seconds within any
				    * [w, w + risk_period); <= overlap */
	int high;                  /* period_overlap >= min_overlap */
	uint8_t kind;              /* AS_REC_PASS/CARD/MANUAL: C's visit at start */
	uint16_t headcount_extra;  /* unnamed people who came with C (0 = none) */
};

/* What one order found. */
struct cl_trace_order {
	unsigned order;
	uint64_t people, high, low;    /* named contacts first found at this order */
	uint64_t extra;                /* sum of their headcount_extra */
	uint64_t unnamed_visits;       /* zero-pid visits first overlapped at this order */
	uint64_t unnamed_people;       /* their headcounts summed */
};

/*
 * Where results go.  Each callback returns 0 to go on or a negative error
 * that stops the trace (cl_trace_run returns it).  Pointers passed are
 * borrowed for the call only.  Call order: case_visit for each case visit
 * in the window (entry order); then for k = 1..depth: contact for each
 * contact of order k, sorted by (venue, start, pid), then order_done(k).
 * Any callback may be NULL.
 */
struct cl_trace_sink {
	void *ctx;
	int (*case_visit)(void *ctx, const struct cl_trace_visit *v);
	int (*contact)(void *ctx, const struct cl_trace_contact *c);
	int (*order_done)(void *ctx, const struct cl_trace_order *o);
};

/* Fill p with the defaults (depth 1, 15 min within 24 hours, 14 days);
 * pid/from/to zeroed. */
void cl_trace_params_init(struct cl_trace_params *p);

/*
 * Run the trace described by p on store s, reporting to sink; *total (if
 * not NULL) gets the sums over all orders (total->order = depth).
 * Returns 0, AS_E_FIELD for bad parameters (zero pid, from > to, depth out
 * of range, negative durations, risk_period not above 0), -ENOMEM, a store
 * error, a sink error, or AS_E_BUDGET: the next order would have taken
 * the working memory past p->memory_budget.  Then every order before it
 * went to the sink whole, *total sums those orders and total->order is
 * the last of them (0: none), and nothing of the order that stopped was
 * reported (but the case's visits, if it was the first).  The working memory is the engine's arrays, which grow with
 * the visits read and the people found (the few small tables beside them
 * and the sink's own memory are not counted).
 * After another error, the sink may have received part of the results.
 */
int cl_trace_run(struct cl_store *s, const struct cl_trace_params *p,
		 const struct cl_trace_sink *sink, struct cl_trace_order *total);

/* "scan", "card" or "manual" for a visit kind ("unknown" otherwise). */
const char *cl_trace_source_name(uint8_t kind);

/* The visit interval of v by the rules above; dwell_minutes 0 means the
 * default.  Pure. */
void cl_trace_interval(const struct cl_visit *v, unsigned dwell_minutes, int64_t *start,
		       int64_t *end);

#endif
