/*
 * routes.c - the API handlers' route table (api.h: cs_api_routes), which
 * the HTTP side (consoled.c) matches after its own routes (/api/login,
 * /api/logout, /api/me).  Each route names its method, exact path, the
 * roles allowed and whether it changes state (CSRF checked).
 *
 * Invariant: a path appears once per method.  Read-only; any thread.
 */
#include "api.h"

const struct cs_route cs_api_routes[] = {
	{NULL, NULL, 0, 0, NULL},
};
const size_t cs_api_routes_count = 0;
