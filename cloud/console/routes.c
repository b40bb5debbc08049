/*
 * routes.c - the API handlers' route table (api.h: cs_api_routes), which
 * the HTTP side (consoled.c) matches after its own routes (/api/login,
 * /api/logout, /api/me).  Each route names its method, exact path, the
 * roles allowed and whether it changes state (CSRF checked).  The table
 * is docs/CONSOLE.md's route table: change both together.
 *
 * Invariant: a path appears once per method.  Read-only; any thread.
 */
#include "api.h"
#include "api_handlers.h"

#define ALL CL_ROLES_ALL
#define INVESTIGATORS (CL_ROLE_BIT(CL_ROLE_INVESTIGATOR) | CL_ROLE_BIT(CL_ROLE_SUPERVISOR))
#define SUPERVISORS CL_ROLE_BIT(CL_ROLE_SUPERVISOR)
#define POST_FLAGS CS_STATE_CHANGING

const struct cs_route cs_api_routes[] = {
	{"GET", "/api/case", ALL, 0, cs_api_case},
	{"POST", "/api/trace", ALL, POST_FLAGS, cs_api_trace},
	{"GET", "/api/reveals", INVESTIGATORS, 0, cs_api_reveals},
	{"POST", "/api/reveals/ask", INVESTIGATORS, POST_FLAGS, cs_api_reveal_ask},
	{"POST", "/api/reveals/decide", SUPERVISORS, POST_FLAGS, cs_api_reveal_decide},
	{"POST", "/api/reveals/open", INVESTIGATORS, POST_FLAGS, cs_api_reveal_open},
	{"POST", "/api/export", ALL, POST_FLAGS, cs_api_export},
	{"GET", "/api/gateways", ALL, 0, cs_api_gateways},
	{"GET", "/api/policy", ALL, 0, cs_api_policy_get},
	{"POST", "/api/policy", SUPERVISORS, POST_FLAGS, cs_api_policy_set},
	{"GET", "/api/audit", SUPERVISORS, 0, cs_api_audit},
};
const size_t cs_api_routes_count = sizeof cs_api_routes / sizeof cs_api_routes[0];
