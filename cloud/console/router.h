/*
 * router.h - the console's HTTP side between the HTTP server
 * (anshim/httpserver.h) and the API handlers (api.h): it matches a request
 * to a route, enforces what api.h promises before a handler runs
 * (session, role, CSRF token, JSON body), runs the handler and turns its
 * reply into the HTTP response.  It serves its own routes too: POST
 * /api/login, POST /api/logout and GET /api/me (docs/CONSOLE.md).
 *
 * Order of the checks, each with its status: no such path 404 (a known
 * path with another method 405); no session or an expired one 401; the
 * account disabled or gone since login 403 (its sessions end); the role
 * not in the route's mask 403; a state-changing route without the
 * session's token in X-CSRF-Token 403; a POST body that is not JSON
 * (Content-Type other than application/json) 415, or not one JSON object
 * 400.  (Bodies over the cap never get here: the server answers 413.)
 *
 * The account is read again at every request, so disabling an account or
 * changing its role takes effect at its next request.
 *
 * Threads: cs_router_handle runs on the HTTP server's threads, several at
 * once; the router is read-only after set-up, and sessions have their
 * own lock.
 */
#ifndef CS_ROUTER_H
#define CS_ROUTER_H

#include <stddef.h>

#include "anshim/httpserver.h"

#include "api.h"
#include "sessions.h"

#define CS_SESSION_COOKIE "anshim_session"
#define CS_CSRF_HEADER "X-CSRF-Token"

struct cs_router {
	const struct cs_ctx *ctx;
	struct cs_sessions *sessions;
	const char *accounts;            /* the accounts file */
	int secure_cookie;               /* under TLS: the cookie is Secure */
	const struct cs_route *routes;   /* the API handlers' (cs_api_routes) */
	size_t n_routes;
};

/* The HTTP server's callback (as_http_handler); ctx is a struct cs_router. */
void cs_router_handle(void *router, const struct as_http_request *req,
		      struct as_http_response *resp);

#endif
