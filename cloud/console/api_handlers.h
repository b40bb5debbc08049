/*
 * api_handlers.h - the console's API handlers (api.h: cs_handler), one
 * per route of docs/CONSOLE.md; routes.c puts them in the route table
 * with their roles.  Each checks its request's fields itself (jsonin.h).
 */
#ifndef CS_API_HANDLERS_H
#define CS_API_HANDLERS_H

#include "api.h"

int cs_api_case(const struct cs_ctx *ctx, const struct cs_call *call, struct cs_reply *reply);
int cs_api_trace(const struct cs_ctx *ctx, const struct cs_call *call, struct cs_reply *reply);
int cs_api_reveals(const struct cs_ctx *ctx, const struct cs_call *call, struct cs_reply *reply);
int cs_api_reveal_ask(const struct cs_ctx *ctx, const struct cs_call *call,
		      struct cs_reply *reply);
int cs_api_reveal_decide(const struct cs_ctx *ctx, const struct cs_call *call,
			 struct cs_reply *reply);
int cs_api_reveal_open(const struct cs_ctx *ctx, const struct cs_call *call,
		       struct cs_reply *reply);
int cs_api_export(const struct cs_ctx *ctx, const struct cs_call *call, struct cs_reply *reply);
int cs_api_gateways(const struct cs_ctx *ctx, const struct cs_call *call,
		    struct cs_reply *reply);
int cs_api_policy_get(const struct cs_ctx *ctx, const struct cs_call *call,
		      struct cs_reply *reply);
int cs_api_policy_set(const struct cs_ctx *ctx, const struct cs_call *call,
		      struct cs_reply *reply);
int cs_api_audit(const struct cs_ctx *ctx, const struct cs_call *call, struct cs_reply *reply);

#endif
