/*
 * api_trace.c - POST /api/trace: a pseudonymous trace, answered in the
 * stable JSON form of docs/TRACING.md (the bytes 'anshim-cloud trace
 * --json' prints for the same case), plus "audit_seq"; and the helpers the
 * reveal and export handlers share (api_trace.h).
 *
 * Audit before answer: the report is built in memory, then the reveal
 * service appends the 'trace' entry (with the account's name and the
 * number of contacts), and only then is the report answered.  If the
 * service cannot be reached or refuses, the answer is an error and the
 * report is dropped.  No phone or name is ever in this report: the open
 * callback is NULL here.
 *
 * Threads: any handler thread; everything is on the caller's stack or in
 * the reply.
 */
#include "api_trace.h"
#include "api_handlers.h"

#include "anshim/error.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RISK_PERIOD_MAX_MINUTES (60 * 1440)

int cs_trace_scope_read(const json_t *body, struct cl_reveal_scope *scope,
			struct cs_reply *reply)
{
	struct cl_trace_params *p = &scope->params;
	const char *reason = NULL, *case_ref = NULL;
	int64_t depth, min_overlap, incubation, risk_period;
	char err[768];
	int rc;

	memset(scope, 0, sizeof *scope);
	cl_trace_params_init(p);
	depth = p->depth;
	min_overlap = p->min_overlap / 60;
	incubation = p->incubation / 86400;
	risk_period = p->risk_period / 60;
	{
		const struct cs_in_field fields[] = {
			{"pid", CS_IN_PID, 1, 0, 0, p->pid, NULL},
			{"from", CS_IN_TIME, 1, 0, 0, &p->from, NULL},
			{"to", CS_IN_UNTIL, 1, 0, 0, &p->to, NULL},
			{"depth", CS_IN_INT, 0, 1, CL_TRACE_DEPTH_MAX, &depth, NULL},
			{"min_overlap", CS_IN_INT, 0, 0, 1440, &min_overlap, NULL},
			{"incubation", CS_IN_INT, 0, 0, 60, &incubation, NULL},
			{"risk_period", CS_IN_INT, 0, 1, RISK_PERIOD_MAX_MINUTES, &risk_period, NULL},
			{"reason", CS_IN_STRING, 1, 1, CL_REASON_MAX, &reason, NULL},
			{"case_ref", CS_IN_STRING, 0, 0, CL_CASE_REF_MAX, &case_ref, NULL},
		};

		rc = cs_in_json(body, fields, sizeof fields / sizeof fields[0], err, sizeof err);
	}
	if (rc) {
		cs_reply_error(reply, 400, "%s", err);
		return 1;
	}
	p->depth = (unsigned)depth;
	p->min_overlap = min_overlap * 60;
	p->incubation = incubation * 86400;
	p->risk_period = risk_period * 60;
	if (p->from > p->to) {
		cs_reply_error(reply, 400, "field 'from' is after field 'to': give the infectious "
			       "window in order");
		return 1;
	}
	if (p->risk_period < p->min_overlap) {
		cs_reply_error(reply, 400, "field 'risk_period' (%" PRId64 " min) is shorter than "
			       "'min_overlap' (%" PRId64 " min): nobody could reach high risk",
			       risk_period, min_overlap);
		return 1;
	}
	if (sodium_is_zero(p->pid, AS_PID_LEN)) {
		cs_reply_error(reply, 400, "field 'pid' is all zeros: that is nobody");
		return 1;
	}
	snprintf(scope->reason, sizeof scope->reason, "%s", reason);
	snprintf(scope->case_ref, sizeof scope->case_ref, "%s", case_ref ? case_ref : "");
	return 0;
}

static void write_buf(void *ctx, const char *p, size_t n)
{
	as_strbuf_addn(ctx, p, n);
}

int cs_trace_json(const struct cs_ctx *ctx, const struct cl_trace_params *p,
		  int (*open)(void *octx, const uint8_t pid[AS_PID_LEN], struct as_contact *c,
			      const char **why),
		  void *open_ctx, struct as_strbuf *out, struct cl_trace_report_counts *counts)
{
	struct cl_trace_params with_cache = *p;
	struct cl_trace_report_opts o = {
		.p = &with_cache, .json = 1, .reveal = open != NULL, .now = (int64_t)time(NULL),
		.open = open, .open_ctx = open_ctx, .write = write_buf, .write_ctx = out,
	};
	int rc;

	with_cache.pids = ctx->pids;
	with_cache.memory_budget = (size_t)ctx->cloud->trace_memory;
	rc = cl_trace_report(ctx->store, &o, counts);

	if (!rc && out->failed)
		rc = -ENOMEM;
	return rc;
}

int cs_trace_reply(struct cs_reply *reply, struct as_strbuf *report, const char *key,
		   uint64_t value)
{
	size_t end = report->len;

	/* The report is one object and a newline: put the member before its
	 * closing brace. */
	while (end && (report->p[end - 1] == '\n'))
		end--;
	if (report->failed || !end || report->p[end - 1] != '}') {
		as_strbuf_free(report);
		return cs_reply_error(reply, 500, "the trace report could not be built");
	}
	report->len = end - 1;
	as_strbuf_printf(report, ",\"%s\":%" PRIu64 "}\n", key, value);
	if (report->failed) {
		as_strbuf_free(report);
		return cs_reply_error(reply, 500, "out of memory");
	}
	cs_reply_body(reply, 200, report->p, report->len, "application/json", NULL);
	memset(report, 0, sizeof *report);
	return 0;
}

void cs_strbuf_wipe(struct as_strbuf *b)
{
	if (b->p)
		sodium_memzero(b->p, b->cap);
	as_strbuf_free(b);
}

int cs_reveal_status(int rc)
{
	switch (rc) {
	case -ECONNREFUSED:
	case -ENOENT:
	case -EACCES:          /* the socket, not the service, refused */
	case -ETIMEDOUT:
	case -ECONNRESET:
	case -EPIPE:
	case -EINTR:
		return 503;
	case AS_E_NOT_FOUND:
		return 404;
	case -EPERM:           /* the service refused the caller */
		return 403;
	case -EBUSY:
	case -EALREADY:
		return 409;
	case AS_E_FIELD:
		return 400;
	case AS_E_BUDGET:
		return 422; /* the trace stopped at its memory budget */
	default:
		return 500;
	}
}

int cs_trace_audited(const struct cs_ctx *ctx, const struct cs_user *user,
		     const struct cl_reveal_scope *scope, const char *what,
		     struct as_strbuf *report, uint64_t *seq, struct cs_reply *reply)
{
	struct cl_trace_report_counts counts;
	char err[512] = "";
	int rc = cs_trace_json(ctx, &scope->params, NULL, NULL, report, &counts);

	if (rc == AS_E_BUDGET) {
		char text[600];

		as_strbuf_free(report);
		cs_reply_error(reply, 422, "%s", cl_trace_budget_text(text, sizeof text,
								     ctx->cloud->trace_memory,
								     &counts));
		return 1;
	}
	if (rc) {
		as_strbuf_free(report);
		cs_reply_error(reply, 500, "the trace failed: %s", as_strerror(rc));
		return 1;
	}
	rc = cl_reveal_log_trace(ctx->cloud->reveal_socket, user->name, scope,
				 counts.contacts > UINT32_MAX ? UINT32_MAX : (uint32_t)counts.contacts,
				 seq, err, sizeof err);
	if (rc) {
		as_strbuf_free(report);
		cs_reply_error(reply, cs_reveal_status(rc), "the %s was not made: its audit entry "
			       "could not be written: %s", what, err[0] ? err : as_strerror(rc));
		return 1;
	}
	return 0;
}

/* POST /api/trace */
int cs_api_trace(const struct cs_ctx *ctx, const struct cs_call *call, struct cs_reply *reply)
{
	struct cl_reveal_scope scope;
	struct as_strbuf report = {0};
	uint64_t seq = 0;

	if (cs_trace_scope_read(call->body, &scope, reply) ||
	    cs_trace_audited(ctx, call->user, &scope, "trace", &report, &seq, reply))
		return 0;
	return cs_trace_reply(reply, &report, "audit_seq", seq);
}
