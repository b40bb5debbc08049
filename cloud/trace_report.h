/*
 * trace_report.h - a trace as the investigator reads it: the case's
 * visits (with the silences of the venues' gateways), its contacts order by
 * order and the totals, as aligned text or as the stable JSON form of
 * docs/TRACING.md.  'anshim-cloud trace' prints it to stdout; the console
 * answers it (JSON) to POST /api/trace; both get the same bytes.
 *
 * The report runs the engine (trace.h) once and hands each piece of text
 * to o->write as soon as it is known (memory bounded by the engine's
 * per-person state).  With o->reveal, each contact carries a phone and a
 * name (or null and why not), asked from o->open; the report wipes what
 * open filled in after writing it.  Phones and names reach o->write only
 * then.  Any thread; several reports may run at once on one store.
 */
#ifndef CL_TRACE_REPORT_H
#define CL_TRACE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/capsule.h"
#include "trace.h"

struct cl_trace_report_opts {
	const struct cl_trace_params *p;   /* borrowed */
	int json;                          /* JSON, else aligned text */
	int reveal;                        /* phone and name on each contact */
	int64_t now;                       /* cloud time: gateways silent "now" */
	/* With reveal: fill *c for the contact pid and return 1, or return 0
	 * and point *why at a static reason it was not opened. */
	int (*open)(void *ctx, const uint8_t pid[AS_PID_LEN], struct as_contact *c,
		    const char **why);
	void *open_ctx;
	/* Each piece of the report, in order (p is borrowed for the call). */
	void (*write)(void *ctx, const char *p, size_t n);
	void *write_ctx;
};

struct cl_trace_report_counts {
	uint64_t contacts;        /* contacts reported */
	uint64_t revealed;        /* of them opened (reveal only) */
	uint64_t reveal_failed;   /* of them not opened (reveal only) */
	unsigned orders;          /* whole orders traced (all of them unless the
				   * trace stopped: AS_E_BUDGET) */
	uint64_t people;          /* people those orders reached */
};

/*
 * Run the trace o->p on s and write its report.  *counts (if not NULL) is
 * filled also on error.  Returns 0, or the engine's error (trace.h); after
 * an error the report written so far is incomplete.
 */
int cl_trace_report(struct cl_store *s, const struct cl_trace_report_opts *o,
		    struct cl_trace_report_counts *counts);

/*
 * What to tell the user whose trace stopped at its memory budget (the
 * engine returned AS_E_BUDGET; counts as cl_trace_report filled them,
 * budget in bytes), into out (len bytes).  Returns out.  Pure.
 */
char *cl_trace_budget_text(char *out, size_t len, uint64_t budget,
			   const struct cl_trace_report_counts *counts);

/* A risk period as the report names it: "24h", "36h", "90m".  Pure. */
char *cl_trace_period_text(char out[32], int64_t seconds);

#endif
