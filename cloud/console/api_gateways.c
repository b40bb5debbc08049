/*
 * api_gateways.c - GET /api/gateways: every enrolled gateway at a glance
 * (venue, last seen, backlog, lag, revoked, silent), silent gateways
 * first, then by gateway id; and the visit tokens' counters (known,
 * pending-tokens, replayed-tokens).  The figures are the ones
 * 'anshim-cloud stats' and 'anshim-cloud gateways' show
 * (gwcoverage.h: cl_gateway_glance).
 *
 * Any handler thread; reads the store in its own read transactions.
 */
#include "api_handlers.h"
#include "jsonout.h"

#include "gwcoverage.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/parse.h"
#include "anshim/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_list {
	struct cl_store *store;
	int64_t now;
	json_t *silent, *heard;   /* silent ones first, then the others */
	int rc;
};

static int add_gateway(void *ctx, const struct cl_gateway *g)
{
	struct gw_list *l = ctx;
	struct cl_gateway_glance at;
	struct cl_venue v;
	char hex[2 * AS_GWID_LEN + 1];
	json_t *j;
	int rc = cl_gateway_glance(l->store, g, l->now, &at);

	if (rc) {
		l->rc = rc;
		return 1;
	}
	if (cl_store_get_venue(l->store, g->venue_id, &v))
		snprintf(v.name, sizeof v.name, "(unknown venue)");
	as_hex_encode(hex, g->gw_id, AS_GWID_LEN);
	j = json_pack("{s:s, s:I, s:o, s:o, s:I, s:o, s:b, s:b}", "gateway", hex, "venue",
		      (json_int_t)g->venue_id, "venue_name", cs_json_text(v.name), "last_seen",
		      cs_json_time(at.last_seen),
		      "backlog", (json_int_t)at.backlog, "lag_seconds",
		      at.lag >= 0 ? json_integer(at.lag) : json_null(), "revoked", g->revoked,
		      "silent", at.silent);
	if (!j || json_array_append_new(at.silent ? l->silent : l->heard, j)) {
		l->rc = -ENOMEM;
		return 1;
	}
	return 0;
}

int cs_api_gateways(const struct cs_ctx *ctx, const struct cs_call *call,
		    struct cs_reply *reply)
{
	struct gw_list l = {ctx->store, call->now, json_array(), json_array(), 0};
	struct cl_store_stats st;
	int rc;

	if (!l.silent || !l.heard) {
		rc = -ENOMEM;
	} else {
		rc = cl_store_each_gateway(ctx->store, add_gateway, &l);
		if (!rc || rc == 1)
			rc = l.rc;
	}
	if (!rc && json_array_extend(l.silent, l.heard))
		rc = -ENOMEM;
	if (!rc)
		rc = cl_store_stats(ctx->store, &st);
	json_decref(l.heard);
	if (rc) {
		json_decref(l.silent);
		return cs_reply_error(reply, 500, "reading the gateways: %s", as_strerror(rc));
	}
	return cs_reply_json(reply, 200,
			     json_pack("{s:o, s:{s:I, s:I, s:I}}", "gateways", l.silent, "tokens",
				       "known", (json_int_t)st.tokens, "pending",
				       (json_int_t)st.tokens_waiting, "replayed",
				       (json_int_t)st.tokens_replayed));
}
