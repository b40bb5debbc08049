/*
 * router.c - the console's HTTP side: routes, sessions, CSRF, JSON
 * bodies, login, logout and me (see router.h for the order of checks).
 *
 * Invariants: no handler runs before every check of its route passed; a
 * handler's reply is the only thing that reaches the network for it, with
 * Cache-Control no-store and the security headers (added by the server);
 * passwords, session ids, CSRF tokens and query strings are never logged
 * (a query may hold a phone number): the log line of a request is its
 * method, path, status, account and client address.
 *
 * Threads: any of the HTTP server's; nothing here is written after
 * set-up except the sessions (locked inside sessions.c) and the accounts
 * file (locked inside accounts.c).
 */
#include "router.h"

#include "anshim/error.h"
#include "anshim/log.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The router's own routes. */
enum own_route { OWN_NONE, OWN_LOGIN, OWN_LOGOUT, OWN_ME };

static const struct {
	const char *method, *path;
	unsigned flags;
	enum own_route which;
} own_routes[] = {
	{"POST", "/api/login", CS_PUBLIC, OWN_LOGIN},
	{"POST", "/api/logout", CS_STATE_CHANGING, OWN_LOGOUT},
	{"GET", "/api/me", 0, OWN_ME},
};

/* ---- replies ----------------------------------------------------------- */

static void reply_release(struct cs_reply *reply)
{
	json_decref(reply->json);
	free(reply->body);
	memset(reply, 0, sizeof *reply);
}

/* A filename for Content-Disposition: letters, digits, '.', '_', '-'. */
static int filename_ok(const char *name)
{
	if (!name[0] || name[0] == '.')
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

/* Move reply (consumed) into resp. */
static void reply_to_http(struct cs_reply *reply, struct as_http_response *resp)
{
	static const char internal[] = "{\"error\": \"internal error; see the console's log\"}";

	resp->status = reply->status ? reply->status : 500;
	if (reply->json) {
		char *text = json_dumps(reply->json, JSON_COMPACT | JSON_ENSURE_ASCII);
		if (text) {
			resp->body = text;
			resp->body_len = strlen(text);
			resp->content_type = "application/json";
		} else {
			resp->status = 500;
		}
	} else if (reply->body) {
		resp->body = reply->body;
		resp->body_len = reply->body_len;
		resp->content_type = reply->content_type ? reply->content_type
							 : "application/octet-stream";
		reply->body = NULL;
		if (reply->filename[0]) {
			char value[160];
			if (filename_ok(reply->filename)) {
				snprintf(value, sizeof value, "attachment; filename=\"%s\"",
					 reply->filename);
				as_http_response_header(resp, "Content-Disposition", value);
			} else {
				as_log(AS_LOG_ERR, "console: a handler gave a bad file name; sent "
				       "without one");
				as_http_response_header(resp, "Content-Disposition", "attachment");
			}
		}
	}
	if (!resp->body) {
		if (resp->status < 400)
			resp->status = 500;
		if (resp->status == 500)
			as_http_response_text(resp, 500, "application/json", internal);
		else
			as_http_response_text(resp, resp->status, "application/json",
					      "{\"error\": \"request refused\"}");
	}
	reply_release(reply);
}

static void http_error(struct as_http_response *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void http_error(struct as_http_response *resp, int status, const char *fmt, ...)
{
	struct cs_reply reply = {0};
	char message[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	cs_reply_error(&reply, status, "%s", message);
	reply_to_http(&reply, resp);
}

/* ---- cookies ----------------------------------------------------------- */

static void set_cookie(const struct cs_router *r, struct as_http_response *resp,
		       const char *id)
{
	char value[256];

	if (id)
		snprintf(value, sizeof value, CS_SESSION_COOKIE "=%s; Path=/; HttpOnly; "
			 "SameSite=Strict%s", id, r->secure_cookie ? "; Secure" : "");
	else
		snprintf(value, sizeof value, CS_SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; "
			 "SameSite=Strict%s", r->secure_cookie ? "; Secure" : "");
	as_http_response_header(resp, "Set-Cookie", value);
}

static json_t *user_json(const struct cs_user *user, const char *csrf)
{
	return json_pack("{s:{s:s,s:s},s:s}", "user", "name", user->name, "role",
			 cl_role_name(user->role), "csrf", csrf);
}

/* ---- the router's own routes ------------------------------------------ */

static void do_login(const struct cs_router *r, const struct as_http_request *req,
		     json_t *body, int64_t now, struct as_http_response *resp,
		     struct cs_user *logged)
{
	const char *key, *name = NULL, *password = NULL;
	json_t *value;
	struct cl_account account;
	struct cs_user user;
	int64_t retry_after = 0;
	char err[512], id[CS_TOKEN_HEX + 1], csrf[CS_TOKEN_HEX + 1];
	int rc;

	json_object_foreach(body, key, value) {
		if (strcmp(key, "name") == 0 && json_is_string(value)) {
			name = json_string_value(value);
		} else if (strcmp(key, "password") == 0 && json_is_string(value)) {
			password = json_string_value(value);
		} else if (strcmp(key, "name") == 0 || strcmp(key, "password") == 0) {
			http_error(resp, 400, "field '%s': expected a string", key);
			return;
		} else {
			http_error(resp, 400, "unknown field '%.64s' (a login has 'name' and "
				   "'password')", key);
			return;
		}
	}
	if (!name || !password) {
		http_error(resp, 400, "field '%s' is missing", name ? "password" : "name");
		return;
	}
	if (strlen(name) > CL_ACCOUNT_NAME_MAX || strlen(password) > CL_PASSWORD_MAX) {
		http_error(resp, 401, "wrong name or password");
		return;
	}
	memset(&account, 0, sizeof account);
	rc = cl_accounts_login(r->accounts, name, password, now, &account, &retry_after, err,
			       sizeof err);
	if (rc < 0) {
		as_log(AS_LOG_ERR, "login: %s", err);
		http_error(resp, 500, "the accounts cannot be read; see the console's log");
		return;
	}
	switch (rc) {
	case CL_LOGIN_OK:
		break;
	case CL_LOGIN_LOCKED: {
		char seconds[32];
		if (retry_after < 1)
			retry_after = 1;
		snprintf(seconds, sizeof seconds, "%" PRId64, retry_after);
		as_log(AS_LOG_NOTICE, "login: account '%s' is locked (%" PRId64 " s left), from %s",
		       name, retry_after, as_http_request_client(req));
		http_error(resp, 429, "this account is locked after %d wrong passwords; try again "
			   "in %" PRId64 " minutes, or ask a supervisor",
			   CL_ACCOUNTS_MAX_FAILED, (retry_after + 59) / 60);
		as_http_response_header(resp, "Retry-After", seconds);
		return;
	}
	case CL_LOGIN_DISABLED:
		as_log(AS_LOG_NOTICE, "login: account '%s' is disabled, from %s", name,
		       as_http_request_client(req));
		http_error(resp, 403, "this account is disabled; ask a supervisor");
		return;
	default:
		as_log(AS_LOG_NOTICE, "login: wrong name or password, from %s",
		       as_http_request_client(req));
		http_error(resp, 401, "wrong name or password");
		return;
	}
	memset(&user, 0, sizeof user);
	snprintf(user.name, sizeof user.name, "%s", account.name);
	user.role = account.role;
	/* A new id at every login (never one the client brought). */
	const char *old = as_http_request_cookie(req, CS_SESSION_COOKIE);
	if (old)
		cs_sessions_end(r->sessions, old);
	rc = cs_sessions_create(r->sessions, &user, now, id, csrf);
	if (rc == AS_E_FULL) {
		as_log(AS_LOG_WARNING, "login: '%s' refused: every session is in use (raise "
		       "max_sessions?)", user.name);
		http_error(resp, 429, "too many people are logged in; try again later, or ask the "
			   "operator to raise max_sessions");
		return;
	}
	struct cs_reply reply = {0};
	cs_reply_json(&reply, 200, user_json(&user, csrf));
	reply_to_http(&reply, resp);
	set_cookie(r, resp, id);
	sodium_memzero(id, sizeof id);
	*logged = user;
	as_log(AS_LOG_INFO, "login: '%s' (%s) from %s", user.name, cl_role_name(user.role),
	       as_http_request_client(req));
}

static void do_own(const struct cs_router *r, enum own_route which,
		   const struct as_http_request *req, const struct cs_session *session,
		   json_t *body, int64_t now, struct as_http_response *resp, struct cs_user *user)
{
	struct cs_reply reply = {0};

	switch (which) {
	case OWN_LOGIN:
		do_login(r, req, body, now, resp, user);
		return;
	case OWN_LOGOUT:
		cs_sessions_end(r->sessions, as_http_request_cookie(req, CS_SESSION_COOKIE));
		cs_reply_json(&reply, 200, json_pack("{s:b}", "ok", 1));
		reply_to_http(&reply, resp);
		set_cookie(r, resp, NULL);
		return;
	case OWN_ME:
		cs_reply_json(&reply, 200, user_json(&session->user, session->csrf));
		reply_to_http(&reply, resp);
		return;
	case OWN_NONE:
		break;
	}
	http_error(resp, 500, "internal error");
}

/* ---- the checks ------------------------------------------------------- */

static const char *call_query(const struct cs_call *call, const char *key)
{
	return as_http_request_query(call->query_ctx, key);
}

static int call_query_keys(const struct cs_call *call, int (*fn)(void *ctx, const char *key),
			   void *ctx)
{
	return as_http_request_query_keys(call->query_ctx, fn, ctx);
}

static int json_content_type(const char *type)
{
	size_t n = strlen("application/json");

	if (!type || strncasecmp(type, "application/json", n) != 0)
		return 0;
	return type[n] == '\0' || type[n] == ';' || type[n] == ' ';
}

/* The account behind a session, read again: 0 with user updated (role), or
 * the status to answer (403 disabled, 401 gone, 500). */
static int recheck_account(const struct cs_router *r, struct cs_user *user, char *why,
			   size_t why_len)
{
	struct cl_account account;
	char err[512];
	int rc = cl_accounts_get(r->accounts, user->name, &account, err, sizeof err);

	if (rc == AS_E_NOT_FOUND) {
		snprintf(why, why_len, "your account no longer exists; log in again");
		return 401;
	}
	if (rc != 0) {
		as_log(AS_LOG_ERR, "accounts: %s", err);
		snprintf(why, why_len, "the accounts cannot be read; see the console's log");
		return 500;
	}
	if (account.disabled) {
		snprintf(why, why_len, "your account is disabled; ask a supervisor");
		return 403;
	}
	user->role = account.role;
	return 0;
}

void cs_router_handle(void *ctx, const struct as_http_request *req,
		      struct as_http_response *resp)
{
	const struct cs_router *r = ctx;
	const char *method = as_http_request_method(req);
	const char *path = as_http_request_path(req);
	const struct cs_route *route = NULL;
	enum own_route own = OWN_NONE;
	unsigned flags = 0, roles = CL_ROLES_ALL;
	int path_known = 0, rc;
	struct cs_session session;
	struct cs_user user;
	json_t *body = NULL;
	int64_t now = (int64_t)time(NULL);

	memset(&session, 0, sizeof session);
	memset(&user, 0, sizeof user);
	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	for (size_t i = 0; i < sizeof own_routes / sizeof own_routes[0]; i++) {
		if (strcmp(path, own_routes[i].path) != 0)
			continue;
		path_known = 1;
		if (strcmp(method, own_routes[i].method) == 0) {
			own = own_routes[i].which;
			flags = own_routes[i].flags;
		}
	}
	for (size_t i = 0; own == OWN_NONE && !route && i < r->n_routes; i++) {
		if (strcmp(path, r->routes[i].path) != 0)
			continue;
		path_known = 1;
		if (strcmp(method, r->routes[i].method) == 0) {
			route = &r->routes[i];
			flags = route->flags;
			roles = route->roles;
		}
	}
	if (own == OWN_NONE && !route) {
		if (path_known)
			http_error(resp, 405, "%s is not allowed on %s", method, path);
		else
			http_error(resp, 404, "no such route: %.100s", path);
		goto done;
	}

	if (!(flags & CS_PUBLIC)) {
		const char *cookie = as_http_request_cookie(req, CS_SESSION_COOKIE);
		rc = cookie ? cs_sessions_find(r->sessions, cookie, now, &session) : AS_E_NOT_FOUND;
		if (rc == AS_E_EXPIRED) {
			http_error(resp, 401, "your session has expired; log in again");
			set_cookie(r, resp, NULL);
			goto done;
		}
		if (rc != 0) {
			http_error(resp, 401, "not logged in; log in first (POST /api/login)");
			goto done;
		}
		user = session.user;
		char why[160];
		int status = recheck_account(r, &user, why, sizeof why);
		if (status) {
			if (status != 500)
				cs_sessions_end_user(r->sessions, user.name);
			http_error(resp, status, "%s", why);
			goto done;
		}
		session.user = user;
		if (!(roles & CL_ROLE_BIT(user.role))) {
			http_error(resp, 403, "the role %s may not use %s %s", cl_role_name(user.role),
				   method, path);
			goto done;
		}
		if ((flags & CS_STATE_CHANGING) &&
		    !cs_csrf_ok(&session, as_http_request_header(req, CS_CSRF_HEADER))) {
			http_error(resp, 403, "missing or wrong CSRF token: send the token from "
				   "login or /api/me in the " CS_CSRF_HEADER " header");
			goto done;
		}
	}

	if (strcmp(method, "POST") == 0) {
		size_t len = 0;
		const char *text = as_http_request_body(req, &len);
		json_error_t jerr;
		if (len == 0) {
			body = json_object();
		} else if (!json_content_type(as_http_request_header(req, "Content-Type"))) {
			http_error(resp, 415, "the body must be JSON, sent with Content-Type: "
				   "application/json");
			goto done;
		} else {
			body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
			if (!body) {
				http_error(resp, 400, "bad JSON at line %d, column %d: %s", jerr.line,
					   jerr.column, jerr.text);
				goto done;
			}
		}
		if (!json_is_object(body)) {
			http_error(resp, 400, "the body must be one JSON object ({...})");
			goto done;
		}
	}

	if (own != OWN_NONE) {
		do_own(r, own, req, &session, body, now, resp, &user);
	} else {
		struct cs_call call = {
			.user = (flags & CS_PUBLIC) ? NULL : &user,
			.method = method,
			.path = path,
			.body = body,
			.query = call_query,
			.query_keys = call_query_keys,
			.query_ctx = (void *)req,
			.now = now,
		};
		struct cs_reply reply = {0};
		rc = route->handler(r->ctx, &call, &reply);
		if (rc != 0) {
			as_log(AS_LOG_ERR, "%s %s: the handler failed (%s)", method, path,
			       as_strerror(rc));
			reply_release(&reply);
			cs_reply_error(&reply, 500, "internal error; see the console's log");
		}
		reply_to_http(&reply, resp);
	}

done:
	json_decref(body);
	/* The route's own path: a path no route knows may hold anything. */
	as_log(resp->status >= 500 ? AS_LOG_ERR : AS_LOG_INFO, "%s %s %d %s %s", method,
	       path_known ? path : "(no such route)", resp->status,
	       user.name[0] ? user.name : "-", as_http_request_client(req));
}
