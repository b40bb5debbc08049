/*
 * revealed_set.h - the contacts the reveal service opened for one trace
 * (revealclient.h), kept so a trace report (trace_report.h) can show each
 * contact's phone and name: collected by the service's sink, sorted by
 * pid, looked up by the report's open callback, wiped at the end.  Used
 * by 'anshim-cloud trace --reveal' (break-glass) and by the console's
 * opened requests.
 */
#ifndef CL_REVEALED_SET_H
#define CL_REVEALED_SET_H

#include <stddef.h>

#include "anshim/capsule.h"
#include "revealclient.h"

struct cl_revealed_set {
	struct cl_revealed_contact *v;     /* owned; wiped by cl_revealed_set_wipe */
	size_t n, cap;
	char whys[8][64];                  /* distinct reasons a contact did not open */
	unsigned n_whys;
};

/* A cl_reveal_sink: keep a copy of c in the set (ctx).  0 or -ENOMEM. */
int cl_revealed_set_add(void *ctx, const struct cl_revealed_contact *c);

/* Sort the set by pid (after the service answered, before look-ups). */
void cl_revealed_set_sort(struct cl_revealed_set *s);

/* cl_trace_report_opts.open over a sorted set (ctx): pid's phone and name
 * into *c and 1, or 0 with *why (not in the service's answer, or it did
 * not open). */
int cl_revealed_set_open(void *ctx, const uint8_t pid[AS_PID_LEN], struct as_contact *c,
			 const char **why);

/* Zero and free what the set holds; it is empty again. */
void cl_revealed_set_wipe(struct cl_revealed_set *s);

#endif
