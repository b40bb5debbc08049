/*
 * test_console_api.c - the console's API handlers called directly on a
 * real store, key set, audit log and policy files in a scratch directory:
 *
 *   GET /api/case: a phone in five spellings finds the same pid and its
 *     visits; the phone is in no reply, not even the error for a bad one;
 *     exactly one of phone and pid; an unknown case is 404;
 *   GET /api/gateways: silent gateways first, each with venue, last seen,
 *     backlog, lag and revoked; the visit tokens' counters;
 *   GET/POST /api/policy: none yet, then a supervisor's new policy is in
 *     force (signed: it decodes with sign.pub) and heads the history with
 *     the account's name; bad bodies are 400 naming the field;
 *   GET /api/audit: the chain verified, entries filtered by user and case,
 *     a tampered log reported not intact with the first bad entry; the
 *     witness "unreachable" with no broker listening;
 *   GET /api/reveals and the refusals of decide and open made before the
 *     reveal service is asked (404, 409, 403), 503 when it is not running;
 *   a TRACE's defaults, and no trace without the reveal service;
 *   the route table: every route of docs/CONSOLE.md with its roles.
 */
#include "test.h"

#include "api.h"
#include "api_handlers.h"
#include "api_trace.h"

#include "audit.h"
#include "authority.h"
#include "clconfig.h"
#include "store.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/heartbeat.h"
#include "anshim/identity.h"
#include "anshim/record.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAP_TEST (UINT64_C(32) << 20)

static char dir[64];
static struct cl_config cfg;
static struct cl_store *store;
static struct cl_authority keys;
static struct cs_ctx ctx;
static int64_t now;
static uint8_t case_pid[AS_PID_LEN];

static const char *const *query_pairs;

static const char *lookup(const struct cs_call *call, const char *key)
{
	(void)call;
	for (size_t i = 0; query_pairs && query_pairs[i]; i += 2)
		if (strcmp(query_pairs[i], key) == 0)
			return query_pairs[i + 1];
	return NULL;
}

static struct cs_user analyst = {"ana", CL_ROLE_ANALYST};
static struct cs_user boss = {"boss", CL_ROLE_SUPERVISOR};

/* Call handler h as user u with a GET query (pairs) or a POST body (JSON
 * text); returns the reply (caller releases reply->json). */
static struct cs_reply call(cs_handler h, const struct cs_user *u, const char *const *pairs,
			    const char *body)
{
	struct cs_call c = {0};
	struct cs_reply r = {0};
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;

	c.user = u;
	c.method = body ? "POST" : "GET";
	c.path = "/api/test";
	c.body = j;
	c.query = lookup;
	c.now = now;
	query_pairs = pairs;
	CHECK_OK(h(&ctx, &c, &r));
	json_decref(j);
	return r;
}

static char *dump(const struct cs_reply *r)
{
	static char text[65536];
	char *s = r->json ? json_dumps(r->json, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	snprintf(text, sizeof text, "%s", s ? s : "(no json)");
	free(s);
	return text;
}

static void setup(void)
{
	char err[512] = "";
	const char *failed = NULL;

	test_tmpdir(dir);
	now = (int64_t)time(NULL);
	CHECK_OK(cl_config_load(&cfg, NULL, err, sizeof err));
	free(cfg.store_dir);
	free(cfg.keys_dir);
	free(cfg.audit_log);
	free(cfg.broker);
	cfg.store_dir = strdup(dir);
	cfg.keys_dir = strdup(dir);
	cfg.audit_log = malloc(128);
	snprintf(cfg.audit_log, 128, "%s/audit.log", dir);
	cfg.broker = strdup("tcp://127.0.0.1:1"); /* nothing listens: publish fails fast */
	free(cfg.reveal_socket);
	cfg.reveal_socket = malloc(128);
	snprintf(cfg.reveal_socket, 128, "%s/no-reveal.sock", dir); /* not running */
	CHECK_OK(cl_authority_create(dir, &failed));
	CHECK_OK(cl_authority_load(&keys, dir, CL_KEY_SIGN | CL_KEY_PSEUDONYM, &failed));
	if (!CHECK_OK(cl_store_open(&store, dir, MAP_TEST, 0, err, sizeof err)))
		fprintf(stderr, "  %s\n", err);
	ctx.cloud = &cfg;
	ctx.store = store;
	ctx.pseudonym_key = keys.pseudonym_key;
	ctx.sign_pk = keys.sign_pk;
}

static void teardown(void)
{
	cl_store_close(store);
	cl_authority_wipe(&keys);
	cl_config_free(&cfg);
	test_rmdir(dir);
}

/* Two gateways: 1 at venue 1 heard just now, 2 at venue 2 never heard;
 * the case visits venue 1 three times. */
static void fill_store(void)
{
	struct cl_gateway g;
	struct cl_venue v;
	struct cl_ingest *in;
	struct cl_ingest_result res;
	struct as_record recs[3];
	uint8_t pids[3][AS_PID_LEN];
	struct as_heartbeat hb;

	for (unsigned i = 1; i <= 2; i++) {
		memset(&g, 0, sizeof g);
		memset(&v, 0, sizeof v);
		test_fill(g.gw_id, AS_GWID_LEN, 300 + i);
		test_fill(g.pk, AS_SIGN_PK_LEN, 400 + i);
		g.venue_id = i;
		g.enrolled_at = now - 3 * 86400;
		v.id = i;
		snprintf(v.name, sizeof v.name, i == 1 ? "Cafe One" : "Gym =Two");
		snprintf(v.category, sizeof v.category, "test");
		v.dwell_minutes = 60;
		CHECK_OK(cl_store_enroll(store, &g, &v));
	}
	CHECK_OK(as_pid_from_phone(case_pid, keys.pseudonym_key, "010-7000-0001"));
	memset(recs, 0, sizeof recs);
	for (unsigned i = 0; i < 3; i++) {
		recs[i].seq = i + 1;
		recs[i].kind = AS_REC_PASS;
		recs[i].entry_time = now - 86400 + i * 3600;
		recs[i].headcount = 1;
		memcpy(recs[i].pid, case_pid, AS_PID_LEN);
		memcpy(pids[i], case_pid, AS_PID_LEN);
		test_fill(recs[i].capsule, AS_CAPSULE_LEN, 77);
	}
	memset(&hb, 0, sizeof hb);
	test_fill(hb.gw_id, AS_GWID_LEN, 301);
	hb.sent_at = now;
	hb.up_since = now - 3600;
	hb.interval = 300;
	hb.clock_state = 1;
	hb.last_seq = 5; /* two records not taken yet */
	if (!CHECK_OK(cl_store_ingest_begin(store, &in)))
		return;
	test_fill(g.gw_id, AS_GWID_LEN, 301);
	CHECK_OK(cl_store_ingest_batch(in, g.gw_id, recs, (const uint8_t (*)[AS_PID_LEN])pids, 3,
				       now - 70, now - 60, &res));
	CHECK_OK(cl_store_ingest_heartbeat(in, &hb, now, now, NULL));
	CHECK_OK(cl_store_ingest_commit(in));
}

static void test_case(void)
{
	static const char *const spellings[] = {"010-7000-0001", "01070000001", "+82 10 7000 0001",
						"+821070000001", "010 7000 0001"};
	char hex[2 * AS_PID_LEN + 1];
	struct cs_reply r;

	as_hex_encode(hex, case_pid, AS_PID_LEN);
	for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
		const char *q[] = {"phone", spellings[i], NULL};

		test_ctx("phone %s", spellings[i]);
		r = call(cs_api_case, &analyst, q, NULL);
		CHECK_EQ_INT(r.status, 200);
		CHECK_STR(json_string_value(json_object_get(r.json, "pid")), hex);
		CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "visits")), 3);
		CHECK(json_is_string(json_object_get(r.json, "first")));
		CHECK(strstr(dump(&r), "7000") == NULL);
		json_decref(r.json);
	}
	test_ctx_clear();
	{
		const char *q[] = {"pid", hex, NULL};

		r = call(cs_api_case, &analyst, q, NULL);
		CHECK_EQ_INT(r.status, 200);
		CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "visits")), 3);
		json_decref(r.json);
	}
	{
		const char *q[] = {"phone", "010-7000-99x9", NULL};

		r = call(cs_api_case, &analyst, q, NULL);
		CHECK_EQ_INT(r.status, 400);
		CHECK(strstr(dump(&r), "'phone'") != NULL);
		CHECK(strstr(dump(&r), "99x9") == NULL);
		json_decref(r.json);
	}
	{
		const char *q[] = {"phone", "010-7000-0009", NULL};

		r = call(cs_api_case, &analyst, q, NULL);
		CHECK_EQ_INT(r.status, 404);
		CHECK(strstr(dump(&r), "0009") == NULL);
		json_decref(r.json);
	}
	{
		const char *both[] = {"phone", "010-7000-0001", "pid", hex, NULL};
		const char *none[] = {NULL};
		const char *badpid[] = {"pid", "12345", NULL};

		r = call(cs_api_case, &analyst, both, NULL);
		CHECK_EQ_INT(r.status, 400);
		CHECK(strstr(dump(&r), "exactly one") != NULL);
		json_decref(r.json);
		r = call(cs_api_case, &analyst, none, NULL);
		CHECK_EQ_INT(r.status, 400);
		json_decref(r.json);
		r = call(cs_api_case, &analyst, badpid, NULL);
		CHECK_EQ_INT(r.status, 400);
		CHECK(strstr(dump(&r), "query argument 'pid' must be a pid") != NULL);
		json_decref(r.json);
	}
}

static void test_gateways(void)
{
	struct cs_reply r = call(cs_api_gateways, &analyst, NULL, NULL);
	const json_t *list = json_object_get(r.json, "gateways"), *g0, *g1;

	CHECK_EQ_INT(r.status, 200);
	if (!CHECK(json_array_size(list) == 2))
		return (void)json_decref(r.json);
	g0 = json_array_get(list, 0);
	g1 = json_array_get(list, 1);
	/* The silent one (never heard, venue 2) first. */
	CHECK(json_is_true(json_object_get(g0, "silent")));
	CHECK_EQ_INT(json_integer_value(json_object_get(g0, "venue")), 2);
	CHECK_STR(json_string_value(json_object_get(g0, "venue_name")), "Gym =Two");
	CHECK(json_is_null(json_object_get(g0, "last_seen")));
	CHECK(json_is_null(json_object_get(g0, "lag_seconds")));
	CHECK(json_is_false(json_object_get(g1, "silent")));
	CHECK_EQ_INT(json_integer_value(json_object_get(g1, "venue")), 1);
	CHECK_EQ_INT(json_integer_value(json_object_get(g1, "backlog")), 2);
	CHECK_EQ_INT(json_integer_value(json_object_get(g1, "lag_seconds")), 10);
	CHECK(json_is_string(json_object_get(g1, "last_seen")));
	CHECK(json_is_false(json_object_get(g1, "revoked")));
	/* The visit tokens' counters (none in this store). */
	{
		const json_t *t = json_object_get(r.json, "tokens");

		CHECK(json_is_object(t) && json_object_size(t) == 3);
		CHECK(json_is_integer(json_object_get(t, "known")) &&
		      json_integer_value(json_object_get(t, "known")) == 0);
		CHECK(json_is_integer(json_object_get(t, "pending")) &&
		      json_integer_value(json_object_get(t, "pending")) == 0);
		CHECK(json_is_integer(json_object_get(t, "replayed")) &&
		      json_integer_value(json_object_get(t, "replayed")) == 0);
	}
	json_decref(r.json);
}

static void test_policy(void)
{
	struct cs_reply r = call(cs_api_policy_get, &analyst, NULL, NULL);
	const json_t *h;

	CHECK_EQ_INT(r.status, 200);
	CHECK(json_is_null(json_object_get(r.json, "current")));
	CHECK_EQ_INT(json_array_size(json_object_get(r.json, "history")), 0);
	json_decref(r.json);

	r = call(cs_api_policy_set, &boss, NULL, "{\"level\": 3}");
	CHECK_EQ_INT(r.status, 200);
	CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "level")), 3);
	/* Nothing listens on the broker address: saved, not published. */
	CHECK(json_is_false(json_object_get(r.json, "published")));
	CHECK(json_is_string(json_object_get(r.json, "publish_error")));
	json_decref(r.json);
	r = call(cs_api_policy_set, &boss, NULL, "{\"level\": 2}");
	CHECK_EQ_INT(r.status, 200);
	json_decref(r.json);

	r = call(cs_api_policy_get, &analyst, NULL, NULL);
	CHECK_EQ_INT(r.status, 200);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(r.json, "current"),
							 "level")), 2);
	h = json_object_get(r.json, "history");
	CHECK_EQ_INT(json_array_size(h), 2);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(h, 0), "level")), 2);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(h, 1), "level")), 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(h, 0), "who")), "boss");
	CHECK(json_integer_value(json_object_get(json_array_get(h, 0), "seq")) >
	      json_integer_value(json_object_get(json_array_get(h, 1), "seq")));
	json_decref(r.json);

	static const char *const bad[][2] = {
		{"{\"level\": 5}", "field 'level' must be an integer from 1 to 4"},
		{"{\"level\": \"3\"}", "field 'level' must be an integer"},
		{"{}", "field 'level' is required"},
		{"{\"level\": 3, \"force\": true}", "unknown field 'force'"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		test_ctx("%s", bad[i][0]);
		r = call(cs_api_policy_set, &boss, NULL, bad[i][0]);
		CHECK_EQ_INT(r.status, 400);
		CHECK(strstr(dump(&r), bad[i][1]) != NULL);
		json_decref(r.json);
	}
	test_ctx_clear();
}

static void append(const char *who, const char *action, const uint8_t pid[AS_PID_LEN],
		   uint64_t request)
{
	struct cl_audit_entry e;
	char err[512] = "";

	memset(&e, 0, sizeof e);
	snprintf(e.who, sizeof e.who, "%s", who);
	snprintf(e.action, sizeof e.action, "%s", action);
	as_hex_encode(e.case_ref, pid, AS_PID_LEN);
	e.window_from = now - 86400;
	e.window_to = now;
	e.depth = 1;
	e.request = request;
	e.min_overlap = 900;
	e.risk_period = 86400;
	e.incubation = 14 * 86400;
	snprintf(e.reason, sizeof e.reason, "test");
	if (!CHECK_OK(cl_audit_append(&cfg, &e, NULL, err, sizeof err)))
		fprintf(stderr, "  %s\n", err);
}

static void test_audit(void)
{
	uint8_t other[AS_PID_LEN];
	char hex[2 * AS_PID_LEN + 1];
	struct cs_reply r;
	const json_t *v, *e;
	const char *msg;
	struct stat st;
	FILE *f;

	test_fill(other, AS_PID_LEN, 55);
	append("alice", CL_AUDIT_TRACE, case_pid, 0);
	append("bob", CL_AUDIT_TRACE, other, 0);
	append("alice", CL_AUDIT_ASK, case_pid, 0);
	append("boss", CL_AUDIT_APPROVE, case_pid, 3);
	append("root", CL_AUDIT_BREAK_GLASS, other, 0);

	r = call(cs_api_audit, &boss, NULL, NULL);
	CHECK_EQ_INT(r.status, 200);
	v = json_object_get(r.json, "verify");
	CHECK(json_is_true(json_object_get(v, "intact")));
	CHECK_EQ_INT(json_integer_value(json_object_get(v, "entries")), 5);
	e = json_object_get(r.json, "entries");
	CHECK_EQ_INT(json_array_size(e), 5);
	CHECK(json_is_true(json_object_get(json_array_get(e, 4), "break_glass")));
	CHECK(json_is_false(json_object_get(json_array_get(e, 0), "break_glass")));
	CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(e, 3), "request")), 3);
	/* Nothing listens on the broker: no witness, and it says why. */
	e = json_object_get(v, "witness");
	CHECK_STR(json_string_value(json_object_get(e, "state")), "unreachable");
	CHECK(json_is_null(json_object_get(e, "seq")));
	CHECK(json_is_null(json_object_get(e, "holds")));
	msg = json_string_value(json_object_get(e, "message"));
	CHECK(msg && strstr(msg, "cannot read anshim/v1/audit/head on tcp://127.0.0.1:1"));
	json_decref(r.json);

	{
		const char *q[] = {"user", "alice", NULL};

		r = call(cs_api_audit, &boss, q, NULL);
		e = json_object_get(r.json, "entries");
		CHECK_EQ_INT(json_array_size(e), 2);
		CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(e, 1), "seq")), 3);
		json_decref(r.json);
	}
	as_hex_encode(hex, other, AS_PID_LEN);
	{
		const char *q[] = {"case", hex, NULL};
		const char *both[] = {"case", hex, "user", "bob", NULL};
		const char *bad[] = {"case", "010-7000-0001", NULL};

		r = call(cs_api_audit, &boss, q, NULL);
		CHECK_EQ_INT(json_array_size(json_object_get(r.json, "entries")), 2);
		json_decref(r.json);
		r = call(cs_api_audit, &boss, both, NULL);
		CHECK_EQ_INT(json_array_size(json_object_get(r.json, "entries")), 1);
		json_decref(r.json);
		r = call(cs_api_audit, &boss, bad, NULL);
		CHECK_EQ_INT(r.status, 400);
		CHECK(strstr(dump(&r), "7000") == NULL);
		json_decref(r.json);
	}
	/* Tamper: a malformed entry 6 (taken off again below). */
	if (!CHECK_OK(stat(cfg.audit_log, &st)))
		return;
	f = fopen(cfg.audit_log, "a");
	if (CHECK(f != NULL)) {
		fputs("v=2 seq=6 time=2026-01-01T00:00:00Z action=trace\n", f);
		fclose(f);
	}
	r = call(cs_api_audit, &boss, NULL, NULL);
	CHECK_EQ_INT(r.status, 200);
	v = json_object_get(r.json, "verify");
	CHECK(json_is_false(json_object_get(v, "intact")));
	CHECK_EQ_INT(json_integer_value(json_object_get(v, "first_bad")), 6);
	CHECK(json_is_string(json_object_get(v, "why")));
	CHECK_EQ_INT(json_array_size(json_object_get(r.json, "entries")), 5);
	json_decref(r.json);
	CHECK_OK(truncate(cfg.audit_log, st.st_size));
}


/* After test_audit: alice asked (entry 3), boss approved it (entry 4). */
static void test_reveals(void)
{
	static struct cs_user alice = {"alice", CL_ROLE_INVESTIGATOR};
	static struct cs_user bob = {"bob", CL_ROLE_INVESTIGATOR};
	const char *all[] = {"state", "all", NULL};
	const char *bogus[] = {"state", "open", NULL};
	struct cs_reply r;
	const json_t *list, *q;

	r = call(cs_api_reveals, &alice, all, NULL);
	CHECK_EQ_INT(r.status, 200);
	list = json_object_get(r.json, "requests");
	if (CHECK(json_array_size(list) == 1)) {
		q = json_array_get(list, 0);
		CHECK_EQ_INT(json_integer_value(json_object_get(q, "id")), 3);
		CHECK_STR(json_string_value(json_object_get(q, "state")), "approved");
		CHECK_STR(json_string_value(json_object_get(q, "asked_by")), "alice");
		CHECK_STR(json_string_value(json_object_get(q, "decided_by")), "boss");
		CHECK(json_is_true(json_object_get(q, "may_open")));
		CHECK(json_is_false(json_object_get(q, "may_decide")));
	}
	json_decref(r.json);
	/* Pending only (the default): none. */
	r = call(cs_api_reveals, &boss, NULL, NULL);
	CHECK_EQ_INT(json_array_size(json_object_get(r.json, "requests")), 0);
	json_decref(r.json);
	/* Another investigator does not see alice's; a supervisor does. */
	r = call(cs_api_reveals, &bob, all, NULL);
	CHECK_EQ_INT(json_array_size(json_object_get(r.json, "requests")), 0);
	json_decref(r.json);
	r = call(cs_api_reveals, &boss, all, NULL);
	CHECK_EQ_INT(json_array_size(json_object_get(r.json, "requests")), 1);
	json_decref(r.json);
	r = call(cs_api_reveals, &boss, bogus, NULL);
	CHECK_EQ_INT(r.status, 400);
	json_decref(r.json);

	/* Refused here, before the reveal service is asked. */
	r = call(cs_api_reveal_decide, &boss, NULL, "{\"id\": 3, \"approve\": true, \"reason\": \"x\"}");
	CHECK_EQ_INT(r.status, 409);
	CHECK(strstr(dump(&r), "approved already") != NULL);
	json_decref(r.json);
	r = call(cs_api_reveal_decide, &boss, NULL, "{\"id\": 77, \"approve\": false, \"reason\": \"x\"}");
	CHECK_EQ_INT(r.status, 404);
	json_decref(r.json);
	r = call(cs_api_reveal_open, &bob, NULL, "{\"id\": 3}");
	CHECK_EQ_INT(r.status, 403);
	CHECK(strstr(dump(&r), "only the investigator who asked") != NULL);
	json_decref(r.json);
	r = call(cs_api_reveal_open, &bob, NULL, "{\"id\": 2}");
	CHECK_EQ_INT(r.status, 404); /* entry 2 is a trace, not a request */
	json_decref(r.json);
	/* alice's own, approved: the service is asked, and is not running. */
	r = call(cs_api_reveal_open, &alice, NULL, "{\"id\": 3}");
	CHECK_EQ_INT(r.status, 503);
	CHECK(strstr(dump(&r), "anshim-revealed") != NULL);
	json_decref(r.json);
}

/* A TRACE with only what is required gets the CLI's defaults; a trace
 * without the reveal service is 503 and no report. */
static void test_trace_scope(void)
{
	char body[512], hex[2 * AS_PID_LEN + 1];
	struct cl_reveal_scope sc;
	struct cs_reply r = {0};
	json_t *j;

	as_hex_encode(hex, case_pid, AS_PID_LEN);
	snprintf(body, sizeof body, "{\"pid\": \"%s\", \"from\": \"2026-03-01\", "
		 "\"to\": \"2026-03-02\", \"reason\": \"lab\"}", hex);
	j = json_loads(body, 0, NULL);
	CHECK_OK(cs_trace_scope_read(j, &sc, &r));
	CHECK_EQ_INT(sc.params.depth, 1);
	CHECK_EQ_INT(sc.params.min_overlap, 15 * 60);
	CHECK_EQ_INT(sc.params.incubation, 14 * 86400);
	CHECK_EQ_INT(sc.params.risk_period, 86400);
	CHECK_EQ_INT(sc.params.to - sc.params.from, 2 * 86400 - 1);
	CHECK_STR(sc.reason, "lab");
	CHECK_STR(sc.case_ref, "");
	CHECK(!memcmp(sc.params.pid, case_pid, AS_PID_LEN));
	json_decref(j);

	r = call(cs_api_trace, &analyst, NULL, body);
	CHECK_EQ_INT(r.status, 503);
	CHECK(r.body == NULL);
	CHECK(strstr(dump(&r), "\"contacts\"") == NULL);
	json_decref(r.json);
	free(r.body);
}

static void test_routes(void)
{
	static const struct {
		const char *method, *path;
		unsigned roles;
		int post;
	} want[] = {
		{"GET", "/api/case", CL_ROLES_ALL, 0},
		{"POST", "/api/trace", CL_ROLES_ALL, 1},
		{"GET", "/api/reveals", CL_ROLES_ALL & ~CL_ROLE_BIT(CL_ROLE_ANALYST), 0},
		{"POST", "/api/reveals/ask", CL_ROLES_ALL & ~CL_ROLE_BIT(CL_ROLE_ANALYST), 1},
		{"POST", "/api/reveals/decide", CL_ROLE_BIT(CL_ROLE_SUPERVISOR), 1},
		{"POST", "/api/reveals/open", CL_ROLES_ALL & ~CL_ROLE_BIT(CL_ROLE_ANALYST), 1},
		{"POST", "/api/export", CL_ROLES_ALL, 1},
		{"GET", "/api/gateways", CL_ROLES_ALL, 0},
		{"GET", "/api/policy", CL_ROLES_ALL, 0},
		{"POST", "/api/policy", CL_ROLE_BIT(CL_ROLE_SUPERVISOR), 1},
		{"GET", "/api/audit", CL_ROLE_BIT(CL_ROLE_SUPERVISOR), 0},
	};

	CHECK_EQ_INT(cs_api_routes_count, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		size_t k;

		for (k = 0; k < cs_api_routes_count; k++)
			if (strcmp(cs_api_routes[k].method, want[i].method) == 0 &&
			    strcmp(cs_api_routes[k].path, want[i].path) == 0)
				break;
		test_ctx("%s %s", want[i].method, want[i].path);
		if (!CHECK(k < cs_api_routes_count))
			continue;
		CHECK_EQ_INT(cs_api_routes[k].roles, want[i].roles);
		CHECK_EQ_INT(!!(cs_api_routes[k].flags & CS_STATE_CHANGING), want[i].post);
		CHECK(!(cs_api_routes[k].flags & CS_PUBLIC));
		CHECK(cs_api_routes[k].handler != NULL);
	}
	test_ctx_clear();
}

int main(void)
{
	setenv("TZ", "Asia/Seoul", 1);
	setup();
	fill_store();
	TEST_RUN(test_case);
	TEST_RUN(test_gateways);
	TEST_RUN(test_policy);
	TEST_RUN(test_audit);
	TEST_RUN(test_reveals);
	TEST_RUN(test_trace_scope);
	TEST_RUN(test_routes);
	teardown();
	return TEST_DONE();
}
