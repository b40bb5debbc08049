/*
 * api_case.c - GET /api/case?phone=P or ?pid=HEX: the case's pseudonym
 * and how many visits the store holds for it, so the investigator knows
 * the case is there before tracing it.
 *
 * Invariant: the phone is turned into a pid with the pseudonym key and
 * forgotten: it is never in a reply, an error message or a log line (the
 * error for a bad phone does not echo it).  Any handler thread; reads the
 * store in its own read transaction.
 */
#include "api_handlers.h"
#include "jsonin.h"
#include "jsonout.h"
#include "store.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/identity.h"
#include "anshim/parse.h"

#include <stdint.h>
#include <string.h>

struct case_count {
	uint64_t visits;
	int64_t first, last;
};

static int count_visit(void *ctx, const struct cl_visit *v)
{
	struct case_count *c = ctx;

	if (!c->visits || v->entry < c->first)
		c->first = v->entry;
	if (!c->visits || v->entry > c->last)
		c->last = v->entry;
	c->visits++;
	return 0;
}

int cs_api_case(const struct cs_ctx *ctx, const struct cs_call *call, struct cs_reply *reply)
{
	const char *phone = NULL;
	uint8_t pid[AS_PID_LEN] = {0};
	int have_phone = 0, have_pid = 0, rc;
	struct case_count c = {0, 0, 0};
	char err[512], hex[2 * AS_PID_LEN + 1];
	const struct cs_in_field fields[] = {
		{"phone", CS_IN_STRING, 0, 1, 64, &phone, &have_phone},
		{"pid", CS_IN_PID, 0, 0, 0, pid, &have_pid},
	};

	if (cs_in_query(call, fields, 2, err, sizeof err)) {
		/* A phone that is not text is not echoed either: the message
		 * names the argument only. */
		return cs_reply_error(reply, 400, "%s", err);
	}
	if (have_phone == have_pid)
		return cs_reply_error(reply, 400, "give exactly one of the query arguments 'phone' "
				      "(any spelling: 010-1234-5678, +82 10 1234 5678) or 'pid' "
				      "(32 hex digits)");
	if (have_phone && as_pid_from_phone(pid, ctx->pseudonym_key, phone))
		return cs_reply_error(reply, 400, "query argument 'phone' is not a phone number we "
				      "accept (examples: 010-1234-5678, +82 10 1234 5678)");
	/* The store keeps visits for the retention period (and accepts a
	 * little clock skew ahead): look there, a day wider each side. */
	rc = cl_store_visits_of(ctx->store, pid, call->now - ctx->cloud->retention - 86400,
				call->now + ctx->cloud->time_skew + 86400, count_visit, &c);
	if (rc)
		return cs_reply_error(reply, 500, "reading the store: %s", as_strerror(rc));
	if (!c.visits)
		return cs_reply_error(reply, 404, "no visits are stored for this case (within the "
				      "retention period)");
	as_hex_encode(hex, pid, AS_PID_LEN);
	return cs_reply_json(reply, 200,
			     json_pack("{s:s, s:I, s:o, s:o}", "pid", hex, "visits",
				       (json_int_t)c.visits, "first", cs_json_time(c.first),
				       "last", cs_json_time(c.last)));
}
