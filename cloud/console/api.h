/*
 * api.h - the contract between the console's HTTP side (consoled.c,
 * sessions.c: TLS, cookies, sessions, CSRF, login) and its JSON API
 * handlers (api_*.c: search, trace, reveal, export, gateways, policy,
 * audit).  docs/CONSOLE.md documents every route.
 *
 * The HTTP side matches a request to a route in cs_routes, and before any
 * handler runs it has already: required a live session (except routes
 * with CS_PUBLIC), checked the session's role against route->roles
 * (403 otherwise), checked the CSRF token on every route with
 * CS_STATE_CHANGING (403), refused a body over 64 KiB (413), and parsed a
 * POST body as one JSON object (400 on bad JSON).  Handlers check the
 * object's fields themselves: unknown fields and wrong types are 400 with
 * a message naming the field.
 *
 * A handler fills *reply and returns 0; it never writes to the network.
 * Every error reply is {"error": "message"} with a 4xx/5xx status.
 * Handlers run on the HTTP library's worker threads, several at once:
 * struct cs_ctx is read-only after start-up and every handler opens its
 * own read transactions.
 */
#ifndef CS_API_H
#define CS_API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "accounts.h"
#include "clconfig.h"

struct cl_store;

/* What every handler may use; set up once at start-up, read-only after. */
struct cs_ctx {
	const struct cl_config *cloud;   /* store_dir, keys_dir, audit_log,
					  * accounts, reveal_socket, broker */
	struct cl_store *store;          /* opened read-only */
	struct cl_pid_cache *pids;       /* the store's person number -> pid
					  * answers, shared by every trace */
	const uint8_t *pseudonym_key;    /* phone -> pid (case search) */
	const uint8_t *sign_pk;          /* audit and policy verification */
};

struct cs_user {
	char name[CL_ACCOUNT_NAME_MAX + 1];
	enum cl_role role;
};

struct cs_call {
	const struct cs_user *user;      /* NULL only on CS_PUBLIC routes */
	const char *method;              /* "GET", "POST" */
	const char *path;                /* "/api/trace" */
	json_t *body;                    /* POST: the parsed object (borrowed);
					  * GET: NULL */
	/* GET query argument key, or NULL when absent (borrowed). */
	const char *(*query)(const struct cs_call *call, const char *key);
	/* fn(ctx, key) for each query argument's key until fn returns
	 * nonzero; returns that value or 0. */
	int (*query_keys)(const struct cs_call *call, int (*fn)(void *ctx, const char *key),
			  void *ctx);
	void *query_ctx;
	int64_t now;                     /* unix seconds */
};

struct cs_reply {
	int status;                      /* 200, 400, 403, 404, 409, ... */
	json_t *json;                    /* owned: sent as application/json */
	/* or, instead of json, a body of another type (owned, malloc'd): */
	char *body;
	size_t body_len;
	const char *content_type;        /* e.g. "text/csv; charset=utf-8" */
	char filename[96];               /* non-empty: Content-Disposition
					  * attachment; filename=... */
};

typedef int (*cs_handler)(const struct cs_ctx *ctx, const struct cs_call *call,
			  struct cs_reply *reply);

enum {
	CS_PUBLIC = 1u << 0,             /* no session needed (login) */
	CS_STATE_CHANGING = 1u << 1,     /* CSRF token required */
};

struct cs_route {
	const char *method;
	const char *path;                /* exact match, no path parameters */
	unsigned roles;                  /* CL_ROLE_BIT mask */
	unsigned flags;
	cs_handler handler;
};

/* The API handlers' routes (api_*.c); the HTTP side adds its own
 * (/api/login, /api/logout, /api/me). */
extern const struct cs_route cs_api_routes[];
extern const size_t cs_api_routes_count;

/* Helpers for handlers: an error reply (status, message) and a JSON reply
 * (takes ownership of j).  Both return 0. */
int cs_reply_error(struct cs_reply *reply, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int cs_reply_json(struct cs_reply *reply, int status, json_t *j);
/* A reply of another type: takes ownership of body (malloc'd, len bytes);
 * content_type is static; filename (NULL: none) makes it an attachment.
 * Returns 0. */
int cs_reply_body(struct cs_reply *reply, int status, char *body, size_t len,
		  const char *content_type, const char *filename);

#endif
