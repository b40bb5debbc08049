/*
 * api_reveal.c - the two-person reveal in the console: GET /api/reveals
 * (the requests, from the audit log), POST /api/reveals/ask, /decide and
 * /open.  The reveal service (revealclient.h) writes every entry and alone
 * opens capsules; this module checks the request first so each refusal
 * has a clear status and message (the service checks again), and turns an
 * opened request into the trace report with phone and name on each
 * contact.
 *
 * Invariants: phones and names exist only inside cs_reveal_report, in
 * one array that is wiped before it is freed, and in the report it
 * writes; nothing here logs.  Any handler thread; every call reads the
 * audit log afresh (the service appends to it).
 */
#include "api_handlers.h"
#include "api_trace.h"
#include "jsonout.h"

#include "audit.h"
#include "revealed_set.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/parse.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the requests, from the audit log ---- */

static json_t *request_json(const struct cl_request *r, const struct cs_user *u)
{
	int mine = strcmp(r->ask.who, u->name) == 0;

	return json_pack("{s:I, s:s, s:o, s:o, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:o, s:o,"
			 " s:I, s:o, s:o, s:o, s:I, s:o, s:b, s:b, s:b}",
			 "id", (json_int_t)r->id, "state", cl_request_state_name(r->state),
			 "asked_by", cs_json_text(r->ask.who), "asked_at", cs_json_time(r->ask.time),
			 "case", r->ask.case_ref, "from", cs_json_time(r->ask.window_from),
			 "to", cs_json_time(r->ask.window_to), "depth", (json_int_t)r->ask.depth,
			 "min_overlap_minutes", (json_int_t)(r->ask.min_overlap / 60),
			 "risk_period_minutes", (json_int_t)(r->ask.risk_period / 60),
			 "incubation_days", (json_int_t)(r->ask.incubation / 86400),
			 "reason", cs_json_text(r->ask.reason), "case_ref", cs_json_text(r->ask.case_no),
			 "contacts", (json_int_t)r->ask.contacts,
			 "decided_by", r->decided_by[0] ? cs_json_text(r->decided_by) : json_null(),
			 "decided_at", cs_json_time(r->decided_at),
			 "decision_reason", r->decided_at ? cs_json_text(r->decision_reason) : json_null(),
			 "reveals", (json_int_t)r->reveals, "last_revealed",
			 cs_json_time(r->last_revealed), "mine", mine,
			 "may_decide", u->role == CL_ROLE_SUPERVISOR && !mine &&
				 r->state == CL_REQUEST_PENDING,
			 "may_open", mine && (r->state == CL_REQUEST_APPROVED ||
					      r->state == CL_REQUEST_REVEALED));
}

/* Read every request; 0, or fills reply (500) and returns 1. */
static int read_requests(const struct cs_ctx *ctx, struct cl_request **out, size_t *n,
			 struct cs_reply *reply)
{
	char err[512] = "";
	int rc = cl_audit_requests(ctx->cloud->audit_log, out, n, err, sizeof err);

	if (rc) {
		cs_reply_error(reply, 500, "reading the reveal requests from the audit log: %s",
			       err[0] ? err : as_strerror(rc));
		return 1;
	}
	return 0;
}

static const struct cl_request *find_request(const struct cl_request *r, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].id == id)
			return &r[i];
	return NULL;
}

int cs_api_reveals(const struct cs_ctx *ctx, const struct cs_call *call, struct cs_reply *reply)
{
	const char *state = "pending";
	struct cl_request *r = NULL;
	size_t n = 0;
	char err[512];
	const struct cs_in_field fields[] = {
		{"state", CS_IN_STRING, 0, 1, 16, &state, NULL},
	};
	json_t *list;
	int all;

	if (cs_in_query(call, fields, 1, err, sizeof err))
		return cs_reply_error(reply, 400, "%s", err);
	if (strcmp(state, "pending") != 0 && strcmp(state, "all") != 0)
		return cs_reply_error(reply, 400, "query argument 'state' must be pending or all");
	all = strcmp(state, "all") == 0;
	if (read_requests(ctx, &r, &n, reply))
		return 0;
	list = json_array();
	/* Newest first.  An investigator sees their own requests; a
	 * supervisor sees everyone's. */
	for (size_t i = n; list && i-- > 0;) {
		json_t *j;

		if (!all && r[i].state != CL_REQUEST_PENDING)
			continue;
		if (call->user->role != CL_ROLE_SUPERVISOR && strcmp(r[i].ask.who, call->user->name))
			continue;
		j = request_json(&r[i], call->user);
		if (!j || json_array_append_new(list, j)) {
			json_decref(list);
			list = NULL;
		}
	}
	free(r);
	if (!list)
		return cs_reply_error(reply, 500, "out of memory");
	return cs_reply_json(reply, 200, json_pack("{s:o}", "requests", list));
}

/* ---- ask, decide ---- */

int cs_api_reveal_ask(const struct cs_ctx *ctx, const struct cs_call *call,
		      struct cs_reply *reply)
{
	struct cl_reveal_scope scope;
	char err[512] = "";
	uint64_t id = 0;
	int rc;

	if (cs_trace_scope_read(call->body, &scope, reply))
		return 0;
	rc = cl_reveal_ask(ctx->cloud->reveal_socket, call->user->name, &scope, &id, err,
			   sizeof err);
	if (rc)
		return cs_reply_error(reply, cs_reveal_status(rc), "the request was not made: %s",
				      err[0] ? err : as_strerror(rc));
	return cs_reply_json(reply, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state",
						   "pending"));
}

/* The request named by an {"id"} field: 0, or fills reply and returns 1. */
static int request_id(const json_t *body, const struct cs_in_field *extra, size_t n_extra,
		      uint64_t *id, struct cs_reply *reply)
{
	int64_t v = 0;
	char err[512];
	struct cs_in_field fields[4] = {
		{"id", CS_IN_INT, 1, 1, INT64_MAX, &v, NULL},
	};

	for (size_t i = 0; i < n_extra && i < 3; i++)
		fields[1 + i] = extra[i];
	if (cs_in_json(body, fields, 1 + (n_extra < 3 ? n_extra : 3), err, sizeof err)) {
		cs_reply_error(reply, 400, "%s", err);
		return 1;
	}
	*id = (uint64_t)v;
	return 0;
}

int cs_api_reveal_decide(const struct cs_ctx *ctx, const struct cs_call *call,
			 struct cs_reply *reply)
{
	int approve = 0;
	const char *reason = NULL;
	const struct cs_in_field extra[] = {
		{"approve", CS_IN_BOOL, 1, 0, 0, &approve, NULL},
		{"reason", CS_IN_STRING, 1, 1, CL_REASON_MAX, &reason, NULL},
	};
	const struct cl_request *q;
	struct cl_request *r = NULL;
	size_t n = 0;
	uint64_t id;
	char err[512] = "";
	int rc;

	if (request_id(call->body, extra, 2, &id, reply) || read_requests(ctx, &r, &n, reply))
		return 0;
	q = find_request(r, n, id);
	if (!q)
		rc = cs_reply_error(reply, 404, "no reveal request %" PRIu64, id);
	else if (strcmp(q->ask.who, call->user->name) == 0)
		rc = cs_reply_error(reply, 409, "request %" PRIu64 " is yours: another supervisor "
				    "must decide it", id);
	else if (q->state != CL_REQUEST_PENDING)
		rc = cs_reply_error(reply, 409, "request %" PRIu64 " is %s already", id,
				    cl_request_state_name(q->state));
	else
		rc = -1;
	free(r);
	if (rc != -1)
		return 0;
	rc = cl_reveal_decide(ctx->cloud->reveal_socket, call->user->name, id, approve, reason,
			      err, sizeof err);
	if (rc)
		return cs_reply_error(reply, cs_reveal_status(rc), "request %" PRIu64 " was not "
				      "decided: %s", id, err[0] ? err : as_strerror(rc));
	return cs_reply_json(reply, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state",
						   approve ? "approved" : "refused"));
}

/* ---- open ---- */

int cs_reveal_report(const struct cs_ctx *ctx, const struct cs_user *user, uint64_t id,
		     struct as_strbuf *out, struct cs_reply *reply)
{
	struct cl_revealed_set l = {0};
	const struct cl_request *q;
	struct cl_request *r = NULL;
	struct cl_trace_params p;
	size_t n = 0;
	char err[512] = "";
	int rc;

	if (read_requests(ctx, &r, &n, reply))
		return 1;
	q = find_request(r, n, id);
	if (!q)
		rc = cs_reply_error(reply, 404, "no reveal request %" PRIu64, id);
	else if (strcmp(q->ask.who, user->name) != 0)
		rc = cs_reply_error(reply, 403, "request %" PRIu64 " is not yours: only the "
				    "investigator who asked may open it", id);
	else if (q->state != CL_REQUEST_APPROVED && q->state != CL_REQUEST_REVEALED)
		rc = cs_reply_error(reply, 409, "request %" PRIu64 " is %s: only an approved "
				    "request opens", id, cl_request_state_name(q->state));
	else
		rc = -1;
	if (rc != -1) {
		free(r);
		return 1;
	}
	/* The request's own trace, as the service runs it. */
	cl_trace_params_init(&p);
	if (as_hex_decode(p.pid, AS_PID_LEN, q->ask.case_ref) != 0) {
		free(r);
		cs_reply_error(reply, 500, "request %" PRIu64 ": its case is not a pid", id);
		return 1;
	}
	p.from = q->ask.window_from;
	p.to = q->ask.window_to;
	p.depth = q->ask.depth;
	p.min_overlap = q->ask.min_overlap;
	p.risk_period = q->ask.risk_period;
	p.incubation = q->ask.incubation;
	free(r);
	rc = cl_reveal_open(ctx->cloud->reveal_socket, user->name, id, cl_revealed_set_add, &l,
			    err, sizeof err);
	if (!rc) {
		cl_revealed_set_sort(&l);
		struct cl_trace_report_counts counts;

		rc = cs_trace_json(ctx, &p, cl_revealed_set_open, &l, out, &counts);
		if (rc) {
			cs_strbuf_wipe(out);
			if (rc == AS_E_BUDGET)
				cl_trace_budget_text(err, sizeof err, ctx->cloud->trace_memory,
						     &counts);
			else
				snprintf(err, sizeof err, "the trace failed: %s", as_strerror(rc));
		}
	}
	cl_revealed_set_wipe(&l);
	if (rc) {
		cs_reply_error(reply, rc == -ENOMEM || rc == AS_E_STORE ? 500 : cs_reveal_status(rc),
			       "request %" PRIu64 " was not opened: %s", id,
			       err[0] ? err : as_strerror(rc));
		return 1;
	}
	return 0;
}

int cs_api_reveal_open(const struct cs_ctx *ctx, const struct cs_call *call,
		       struct cs_reply *reply)
{
	struct as_strbuf report = {0};
	uint64_t id;

	if (request_id(call->body, NULL, 0, &id, reply))
		return 0;
	if (cs_reveal_report(ctx, call->user, id, &report, reply))
		return 0;
	return cs_trace_reply(reply, &report, "request", id);
}
