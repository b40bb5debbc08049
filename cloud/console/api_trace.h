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

/*
 * The pseudonymous report of scope's trace into *report, audited: the
 * reveal service writes its 'trace' entry for user (*seq) before this
 * returns 0.  Otherwise fills reply (500 when the trace fails, the
 * service's status when the entry is not written: "WHAT was not made")
 * with *report freed, and returns 1.
 */
int cs_trace_audited(const struct cs_ctx *ctx, const struct cs_user *user,
		     const struct cl_reveal_scope *scope, const char *what,
		     struct as_strbuf *report, uint64_t *seq, struct cs_reply *reply);

/* Fill reply with the report in *report (consumed: freed in any case)
 * with "KEY": value inserted as its last member ("audit_seq" for a trace,
 * "request" for an opened request).  Returns 0. */
int cs_trace_reply(struct cs_reply *reply, struct as_strbuf *report, const char *key,
		   uint64_t value);

/*
 * The report of reveal request id for the account user (its asker), with
 * phone and name on each contact: checks the request in the audit log
 * (404 none, 403 not the asker's, 409 not approved), has the reveal
 * service open it (which writes the 'reveal' entry), and writes the JSON
 * report into *out.  Returns 0, or fills reply with the error and returns
 * 1.  Phones and names are in *out only; the caller wipes it
 * (cs_strbuf_wipe) when done.
 */
int cs_reveal_report(const struct cs_ctx *ctx, const struct cs_user *user, uint64_t id,
		     struct as_strbuf *out, struct cs_reply *reply);

/* Zero b's bytes, then free it. */
void cs_strbuf_wipe(struct as_strbuf *b);

/* The status for a reveal service error: 503 when it cannot be reached
 * (no socket, refused, not permitted, timed out), 404 for no such request,
 * 409 for a request in the wrong state, 403 when the service refuses the
 * caller (-EPERM), 400 for a field it refuses, else 500. */
int cs_reveal_status(int rc);

#endif
