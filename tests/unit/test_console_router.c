/*
 * test_console_router.c - the console's router (cloud/console/router.c)
 * over the real HTTP server, with a route table of its own, so that every
 * promise api.h makes before a handler runs is checked against a handler
 * that records what it got: no session 401; each role against each
 * route's mask (403 outside it, the handler never called); CSRF required
 * on CS_STATE_CHANGING routes only; POST bodies: not JSON 415, bad JSON or
 * not an object 400, an empty body is {}; the handler sees the user, the
 * method, the path, the query and the body; a failing handler is a 500
 * with a JSON error; a CSV reply goes out with its type and file name; a
 * role changed in the accounts file takes effect at the next request.
 */
#include "test.h"

#include "accounts.h"
#include "router.h"
#include "sessions.h"

#include "http_test.h"

#include <errno.h>
#include <stdatomic.h>

static atomic_int calls;
static char seen[512];

static int h_echo(const struct cs_ctx *ctx, const struct cs_call *call, struct cs_reply *reply)
{
	const char *q = call->query(call, "q");
	char *body = call->body ? json_dumps(call->body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	(void)ctx;
	atomic_fetch_add(&calls, 1);
	snprintf(seen, sizeof seen, "%s %s %s %s q=%s body=%s",
		 call->user ? call->user->name : "(none)",
		 call->user ? cl_role_name(call->user->role) : "-", call->method, call->path,
		 q ? q : "-", body ? body : "-");
	free(body);
	return cs_reply_json(reply, 200, json_pack("{s:s}", "seen", seen));
}

static int h_fail(const struct cs_ctx *ctx, const struct cs_call *call, struct cs_reply *reply)
{
	(void)ctx;
	(void)call;
	(void)reply;
	atomic_fetch_add(&calls, 1);
	return -EIO;
}

static int h_csv(const struct cs_ctx *ctx, const struct cs_call *call, struct cs_reply *reply)
{
	(void)ctx;
	(void)call;
	atomic_fetch_add(&calls, 1);
	reply->status = 200;
	reply->body = strdup("a,b\r\n'=1,2\r\n");
	reply->body_len = strlen(reply->body);
	reply->content_type = "text/csv; charset=utf-8";
	snprintf(reply->filename, sizeof reply->filename, "contacts-42.csv");
	return 0;
}

#define ANALYST CL_ROLE_BIT(CL_ROLE_ANALYST)
#define INVESTIGATOR CL_ROLE_BIT(CL_ROLE_INVESTIGATOR)
#define SUPERVISOR CL_ROLE_BIT(CL_ROLE_SUPERVISOR)

static const struct cs_route routes[] = {
	{"GET", "/api/t/all", CL_ROLES_ALL, 0, h_echo},
	{"GET", "/api/t/super", SUPERVISOR, 0, h_echo},
	{"POST", "/api/t/ask", INVESTIGATOR | SUPERVISOR, CS_STATE_CHANGING, h_echo},
	{"POST", "/api/t/read", CL_ROLES_ALL, 0, h_echo},
	{"POST", "/api/t/public", 0, CS_PUBLIC, h_echo},
	{"GET", "/api/t/fail", CL_ROLES_ALL, 0, h_fail},
	{"GET", "/api/t/csv", CL_ROLES_ALL, 0, h_csv},
};

static char dir[128], accounts[256];
static struct cs_sessions *sessions;
static uint16_t port;
static struct {
	const char *name;
	enum cl_role role;
	char id[CS_TOKEN_HEX + 1], csrf[CS_TOKEN_HEX + 1];
} users[] = {
	{"ana", CL_ROLE_ANALYST, "", ""},
	{"ivy", CL_ROLE_INVESTIGATOR, "", ""},
	{"sue", CL_ROLE_SUPERVISOR, "", ""},
};

/* Send method path as user u (-1: no cookie) with the CSRF token (csrf
 * NULL: none; "": the user's) and a JSON body (NULL: none). */
static int call_as(int u, const char *method, const char *path, const char *csrf,
		   const char *content_type, const char *body, char *answer, size_t cap)
{
	char request[4096], cookie[128] = "", token[128] = "", type[128] = "";

	if (u >= 0)
		snprintf(cookie, sizeof cookie, "Cookie: " CS_SESSION_COOKIE "=%s\r\n", users[u].id);
	if (csrf)
		snprintf(token, sizeof token, CS_CSRF_HEADER ": %s\r\n",
			 csrf[0] ? csrf : users[u].csrf);
	if (content_type)
		snprintf(type, sizeof type, "Content-Type: %s\r\n", content_type);
	snprintf(request, sizeof request,
		 "%s %s HTTP/1.1\r\nHost: x\r\n%s%s%sContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n%s",
		 method, path, cookie, token, type, body ? strlen(body) : 0, body ? body : "");
	exchange(port, request, answer, cap);
	return status_of(answer);
}

static void test_roles_and_sessions(void)
{
	char answer[8192];
	int before;

	/* No session: 401, the handler never runs. */
	before = atomic_load(&calls);
	CHECK_EQ_INT(call_as(-1, "GET", "/api/t/all", NULL, NULL, NULL, answer, sizeof answer), 401);
	CHECK_EQ_INT(call_as(-1, "POST", "/api/t/ask", NULL, "application/json", "{}", answer,
			     sizeof answer), 401);
	CHECK_EQ_INT(atomic_load(&calls), before);

	/* Each role against each mask. */
	static const struct {
		const char *method, *path;
		int want[3]; /* ana, ivy, sue */
	} grid[] = {
		{"GET", "/api/t/all", {200, 200, 200}},
		{"GET", "/api/t/super", {403, 403, 200}},
		{"POST", "/api/t/ask", {403, 200, 200}},
		{"POST", "/api/t/read", {200, 200, 200}},
	};
	for (size_t g = 0; g < sizeof grid / sizeof grid[0]; g++) {
		for (int u = 0; u < 3; u++) {
			test_ctx("%s %s as %s", grid[g].method, grid[g].path, users[u].name);
			before = atomic_load(&calls);
			int post = strcmp(grid[g].method, "POST") == 0;
			int status = call_as(u, grid[g].method, grid[g].path, post ? "" : NULL,
					     post ? "application/json" : NULL, post ? "{\"x\":1}" : NULL,
					     answer, sizeof answer);
			CHECK_EQ_INT(status, grid[g].want[u]);
			CHECK_EQ_INT(atomic_load(&calls) - before, grid[g].want[u] == 200);
			if (status == 403)
				CHECK(strstr(answer, "may not use") != NULL);
		}
	}
	test_ctx("%s", "");

	/* What the handler sees. */
	CHECK_EQ_INT(call_as(1, "GET", "/api/t/all?q=%ED%95%9C+x&other=1", NULL, NULL, NULL,
			     answer, sizeof answer), 200);
	if (!CHECK(strstr(answer, "ivy investigator GET /api/t/all q=\\uD55C x body=-") != NULL))
		fprintf(stderr, "%s\n", answer);
	CHECK_EQ_INT(call_as(2, "POST", "/api/t/ask", "", "application/json; charset=utf-8",
			     "{\"b\": [1, 2], \"a\": \"z\"}", answer, sizeof answer), 200);
	CHECK(strstr(answer, "sue supervisor POST /api/t/ask q=- body={\\\"a\\\":\\\"z\\\","
			     "\\\"b\\\":[1,2]}") != NULL);
	/* HEAD is GET. */
	CHECK_EQ_INT(call_as(0, "HEAD", "/api/t/all", NULL, NULL, NULL, answer, sizeof answer),
		     200);
	/* A public route: no session needed, no user given. */
	CHECK_EQ_INT(call_as(-1, "POST", "/api/t/public", NULL, "application/json", "{}", answer,
			     sizeof answer), 200);
	CHECK(strstr(answer, "(none) - POST /api/t/public") != NULL);
}

static void test_csrf_and_bodies(void)
{
	char answer[8192];
	int before = atomic_load(&calls);

	/* CSRF on the state-changing route only. */
	CHECK_EQ_INT(call_as(1, "POST", "/api/t/ask", NULL, "application/json", "{}", answer,
			     sizeof answer), 403);
	CHECK(strstr(answer, "CSRF") != NULL);
	CHECK_EQ_INT(call_as(1, "POST", "/api/t/ask", users[2].csrf, "application/json", "{}",
			     answer, sizeof answer), 403);
	CHECK_EQ_INT(call_as(1, "POST", "/api/t/ask", "zz", "application/json", "{}", answer,
			     sizeof answer), 403);
	CHECK_EQ_INT(atomic_load(&calls), before);
	CHECK_EQ_INT(call_as(1, "POST", "/api/t/read", NULL, "application/json", "{}", answer,
			     sizeof answer), 200);

	/* Bodies. */
	static const struct {
		const char *type, *body;
		int want;
		const char *says;
	} bodies[] = {
		{"text/plain", "{}", 415, "application/json"},
		{"application/x-www-form-urlencoded", "a=1", 415, "application/json"},
		{"application/json", "{\"a\":", 400, "bad JSON"},
		{"application/json", "[1]", 400, "one JSON object"},
		{"application/json", "\"x\"", 400, "bad JSON"},
		{"application/json", "{\"a\":1,\"a\":2}", 400, "bad JSON"},
		{"application/json", "{} {}", 400, "bad JSON"},
		{"application/json", "{\"a\":\"\\ud800\"}", 400, "bad JSON"},
		{NULL, "", 200, "body={}"},
		{"application/json", "{\"k\":null}", 200, "body={\\\"k\\\":null}"},
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		test_ctx("body %s", bodies[i].body);
		before = atomic_load(&calls);
		CHECK_EQ_INT(call_as(1, "POST", "/api/t/ask", "", bodies[i].type, bodies[i].body,
				     answer, sizeof answer), bodies[i].want);
		CHECK(strstr(answer, bodies[i].says) != NULL);
		CHECK_EQ_INT(atomic_load(&calls) - before, bodies[i].want == 200);
		CHECK(has_header(answer, "\r\nCache-Control: no-store\r\n"));
		if (bodies[i].want != 200)
			CHECK(strstr(answer, "{\"error\":") != NULL);
	}
	test_ctx("%s", "");
}

static void test_replies(void)
{
	char answer[8192];

	CHECK_EQ_INT(call_as(0, "GET", "/api/t/fail", NULL, NULL, NULL, answer, sizeof answer),
		     500);
	CHECK(strstr(answer, "{\"error\":\"internal error") != NULL);
	CHECK_EQ_INT(call_as(0, "GET", "/api/t/csv", NULL, NULL, NULL, answer, sizeof answer), 200);
	CHECK(has_header(answer, "\r\nContent-Type: text/csv; charset=utf-8\r\n"));
	CHECK(has_header(answer,
			 "\r\nContent-Disposition: attachment; filename=\"contacts-42.csv\"\r\n"));
	CHECK(strstr(answer, "\r\n\r\na,b\r\n'=1,2\r\n") != NULL);
	CHECK_EQ_INT(call_as(0, "GET", "/api/t/nothing", NULL, NULL, NULL, answer, sizeof answer),
		     404);
	CHECK_EQ_INT(call_as(0, "POST", "/api/t/all", "", "application/json", "{}", answer,
			     sizeof answer), 405);
}

static void test_role_change(void)
{
	char answer[8192], err[256];

	/* ana's role is read from the accounts file at every request. */
	CHECK_EQ_INT(call_as(0, "GET", "/api/t/super", NULL, NULL, NULL, answer, sizeof answer),
		     403);
	CHECK_OK(cl_accounts_disable(accounts, "ana", err, sizeof err));
	CHECK_EQ_INT(call_as(0, "GET", "/api/t/all", NULL, NULL, NULL, answer, sizeof answer), 403);
	CHECK(strstr(answer, "disabled") != NULL);
	CHECK_EQ_INT(call_as(0, "GET", "/api/t/all", NULL, NULL, NULL, answer, sizeof answer), 401);
}

int main(void)
{
	struct as_http_server *srv = NULL;
	struct cs_ctx ctx;
	struct cs_router router;
	char err[512];

	if (sodium_init() < 0)
		return 1;
	snprintf(dir, sizeof dir, "/tmp/anshim-router-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(accounts, sizeof accounts, "%s/accounts", dir);
	if (cs_sessions_new(&sessions, 16, 900, 3600) != 0)
		return 1;
	for (int u = 0; u < 3; u++) {
		struct cs_user cu;
		memset(&cu, 0, sizeof cu);
		snprintf(cu.name, sizeof cu.name, "%s", users[u].name);
		cu.role = users[u].role;
		if (cl_accounts_add(accounts, users[u].name, users[u].role, "a-long-password", 1000,
				    err, sizeof err) != 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		cs_sessions_create(sessions, &cu, time(NULL), users[u].id, users[u].csrf);
	}
	memset(&ctx, 0, sizeof ctx);
	router = (struct cs_router){
		.ctx = &ctx,
		.sessions = sessions,
		.accounts = accounts,
		.secure_cookie = 0,
		.routes = routes,
		.n_routes = sizeof routes / sizeof routes[0],
	};
	const struct as_http_config cfg = {
		.address = "127.0.0.1",
		.threads = 2,
		.max_connections = 64,
		.connection_timeout = 10,
		.max_body = 64 * 1024,
		.api_prefix = "/api/",
		.handler = cs_router_handle,
		.handler_ctx = &router,
	};
	if (as_http_server_start(&cfg, &srv, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	port = as_http_server_port(srv);

	TEST_RUN(test_roles_and_sessions);
	TEST_RUN(test_csrf_and_bodies);
	TEST_RUN(test_replies);
	TEST_RUN(test_role_change);

	as_http_server_stop(srv);
	cs_sessions_free(sessions);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	return TEST_DONE();
}
