/*
 * api_trace.h - what the trace, reveal and export handlers share: reading
 * a TRACE object (docs/CONSOLE.md) into a reveal scope, and writing a
 * trace's report as JSON into a buffer, exactly as 'anshim-cloud trace
 * --json' prints it (trace_report.h).
 */
#ifndef CS_API_TRACE_H
#define CS_API_TRACE_H

#include "api.h"
#include "jsonin.h"
#include "revealclient.h"
#include "trace_report.h"

#include "anshim/strbuf.h"

/*
 * Read body (a TRACE object) into *scope, with the defaults of
 * 'anshim-cloud trace' for what it leaves out.  Returns 0, or fills reply
 * with a 400 naming the field and returns 1.
 */
int cs_trace_scope_read(const json_t *body, struct cl_reveal_scope *scope,
			struct cs_reply *reply);

/*
 * Run the trace p on ctx's store and write its JSON report into *out
 * (caller-owned; release with as_strbuf_free).  open (may be NULL) reveals
 * contacts, as in trace_report.h.  *counts gets what the report holds.
 * Returns 0, -ENOMEM, or the engine's error.
 */
int cs_trace_json(const struct cs_ctx *ctx, const struct cl_trace_params *p,
		  int (*open)(void *octx, const uint8_t pid[AS_PID_LEN], struct as_contact *c,
			      const char **why),
		  void *open_ctx, struct as_strbuf *out, struct cl_trace_report_counts *counts);

/* Fill reply with the report in *report (consumed: freed in any case) and
 * "audit_seq": seq inserted as its last member.  Returns 0. */
int cs_trace_reply(struct cs_reply *reply, struct as_strbuf *report, uint64_t seq);

/* The status for a reveal service error: 503 when it cannot be reached,
 * 404 for no such request, 409 for a request in the wrong state, 403 when
 * the service refuses the caller, else 500. */
int cs_reveal_status(int rc);

#endif
