/*
 * test_console_jsonin.c - reading request fields by a table
 * (cloud/console/jsonin.c): good values land in their outputs; an unknown
 * field, a missing required field, a wrong type, a value out of range,
 * text with a control character or a NUL, a bad pid or time are refused
 * with a message naming the field (and never echoing the value); query
 * arguments are read by the same table.
 */
#include "test.h"

#include "api.h"
#include "jsonin.h"

#include "anshim/error.h"

#include <string.h>

struct vals {
	const char *reason;
	int64_t depth, from, to;
	int approve, depth_given;
	uint8_t pid[AS_PID_LEN];
};

#define FIELDS(v)                                                                  \
	{                                                                          \
		{"reason", CS_IN_STRING, 1, 1, 255, &(v).reason, NULL},            \
		{"depth", CS_IN_INT, 0, 1, 3, &(v).depth, &(v).depth_given},       \
		{"from", CS_IN_TIME, 0, 0, 0, &(v).from, NULL},                    \
		{"to", CS_IN_UNTIL, 0, 0, 0, &(v).to, NULL},                       \
		{"approve", CS_IN_BOOL, 0, 0, 0, &(v).approve, NULL},              \
		{"pid", CS_IN_PID, 0, 0, 0, (v).pid, NULL},                        \
	}

/* Read text (a JSON object) into *v; returns cs_in_json's result. */
static int read_json(const char *text, struct vals *v, char *err, size_t err_len)
{
	json_error_t je;
	json_t *obj = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	struct cs_in_field f[] = FIELDS(*v);
	int rc;

	if (!obj)
		return -999;
	rc = cs_in_json(obj, f, sizeof f / sizeof f[0], err, err_len);
	/* reason is borrowed: copy it out before obj goes. */
	if (!rc && v->reason) {
		static char keep[256];

		snprintf(keep, sizeof keep, "%s", v->reason);
		v->reason = keep;
	}
	json_decref(obj);
	return rc;
}

static void test_good(void)
{
	struct vals v = {0};
	char err[256] = "";

	v.depth = 1;
	CHECK_OK(read_json("{\"reason\":\"lab report 7\",\"depth\":3,\"from\":\"2026-03-02\","
			   "\"to\":\"2026-03-02\",\"approve\":true,"
			   "\"pid\":\"00112233445566778899aabbccddeeff\"}", &v, err, sizeof err));
	CHECK_STR(v.reason, "lab report 7");
	CHECK_EQ_INT(v.depth, 3);
	CHECK_EQ_INT(v.depth_given, 1);
	CHECK_EQ_INT(v.approve, 1);
	/* to: the end of the day, from: its start (Asia/Seoul in tests). */
	CHECK_EQ_INT(v.to - v.from, 86399);
	CHECK_EQ_INT(v.pid[15], 0xff);

	memset(&v, 0, sizeof v);
	v.depth = 1;
	CHECK_OK(read_json("{\"reason\":\"x\",\"from\":1767225600}", &v, err, sizeof err));
	CHECK_EQ_INT(v.from, 1767225600);
	CHECK_EQ_INT(v.depth, 1); /* absent: the default stays */
	CHECK_EQ_INT(v.depth_given, 0);
}

/* The message for text, which must contain want. */
static void refused(const char *text, const char *want)
{
	struct vals v = {0};
	char err[512] = "";

	test_ctx("%s", text);
	CHECK_RC(read_json(text, &v, err, sizeof err), AS_E_FIELD);
	CHECK(strstr(err, want) != NULL);
	if (!strstr(err, want))
		fprintf(stderr, "  message: %s\n", err);
	test_ctx_clear();
}

static void test_refused(void)
{
	refused("{\"reason\":\"x\",\"colour\":1}", "unknown field 'colour'");
	refused("{\"reason\":\"x\",\"colour\":1}", "known: reason, depth, from, to, approve, pid");
	refused("{\"depth\":1}", "field 'reason' is required");
	refused("{\"reason\":5}", "field 'reason' must be text");
	refused("{\"reason\":\"\"}", "field 'reason' must be text of 1 to 255 bytes");
	refused("{\"reason\":\"a\\u0007b\"}", "field 'reason'");
	refused("{\"reason\":\"a\\u0000b\"}", "field 'reason'");
	refused("{\"reason\":\"x\",\"depth\":4}", "field 'depth' must be an integer from 1 to 3");
	refused("{\"reason\":\"x\",\"depth\":0}", "field 'depth'");
	refused("{\"reason\":\"x\",\"depth\":\"2\"}", "field 'depth'");
	refused("{\"reason\":\"x\",\"depth\":2.5}", "field 'depth'");
	refused("{\"reason\":\"x\",\"depth\":null}", "field 'depth'");
	refused("{\"reason\":\"x\",\"approve\":1}", "field 'approve' must be true or false");
	refused("{\"reason\":\"x\",\"from\":\"yesterday\"}", "field 'from' must be a time");
	refused("{\"reason\":\"x\",\"from\":-5}", "field 'from'");
	refused("{\"reason\":\"x\",\"pid\":\"00112233\"}", "field 'pid' must be a pid");
	refused("{\"reason\":\"x\",\"pid\":\"0011223344556677889900aabbccddeg\"}", "field 'pid'");
	/* A key that is not plain text is not echoed. */
	refused("{\"reason\":\"x\",\"010-1234-5678 <b>\":1}", "unknown field (known:");
	refused("{\"reason\":\"x\",\"01012345678\":1}", "unknown field (known:");
}

static void test_not_object(void)
{
	json_t *arr = json_array();
	struct vals v = {0};
	struct cs_in_field f[] = FIELDS(v);
	char err[256] = "";

	CHECK_RC(cs_in_json(arr, f, 6, err, sizeof err), AS_E_FIELD);
	CHECK(strstr(err, "JSON object") != NULL);
	json_decref(arr);
}

/* A query of "key=value" pairs. */
static const char *const *query_pairs;
static const char *lookup(const struct cs_call *call, const char *key)
{
	(void)call;
	for (size_t i = 0; query_pairs[i]; i += 2)
		if (strcmp(query_pairs[i], key) == 0)
			return query_pairs[i + 1];
	return NULL;
}

static int lookup_keys(const struct cs_call *call, int (*fn)(void *ctx, const char *key),
		       void *ctx)
{
	(void)call;
	for (size_t i = 0; query_pairs[i]; i += 2) {
		int rc = fn(ctx, query_pairs[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static void test_query(void)
{
	static const char *const good[] = {"reason", "r", "depth", "2", "approve", "false",
					   NULL};
	static const char *const bad[] = {"reason", "r", "depth", "2x", NULL};
	static const char *const none[] = {NULL};
	struct cs_call call = {0};
	struct vals v = {0};
	struct cs_in_field f[] = FIELDS(v);
	char err[256] = "";

	call.query = lookup;
	query_pairs = good;
	v.approve = 1;
	CHECK_OK(cs_in_query(&call, f, 6, err, sizeof err));
	CHECK_STR(v.reason, "r");
	CHECK_EQ_INT(v.depth, 2);
	CHECK_EQ_INT(v.approve, 0);
	query_pairs = bad;
	CHECK_RC(cs_in_query(&call, f, 6, err, sizeof err), AS_E_FIELD);
	CHECK(strstr(err, "query argument 'depth' must be an integer from 1 to 3") != NULL);
	query_pairs = none;
	CHECK_RC(cs_in_query(&call, f, 6, err, sizeof err), AS_E_FIELD);
	CHECK(strstr(err, "query argument 'reason' is required") != NULL);

	/* With the keys known, an argument not in the table is refused; a
	 * key that could be data is not echoed. */
	static const char *const extra[] = {"reason", "r", "verbose", "1", NULL};
	static const char *const phone_key[] = {"reason", "r", "010-1234-5678", "", NULL};
	call.query_keys = lookup_keys;
	query_pairs = good;
	CHECK_OK(cs_in_query(&call, f, 6, err, sizeof err));
	query_pairs = extra;
	CHECK_RC(cs_in_query(&call, f, 6, err, sizeof err), AS_E_FIELD);
	CHECK(strstr(err, "unknown query argument 'verbose' (known: ") != NULL);
	query_pairs = phone_key;
	CHECK_RC(cs_in_query(&call, f, 6, err, sizeof err), AS_E_FIELD);
	CHECK(strstr(err, "unknown query argument (known: ") != NULL);
	CHECK(strstr(err, "1234") == NULL);
}

int main(void)
{
	setenv("TZ", "Asia/Seoul", 1);
	TEST_RUN(test_good);
	TEST_RUN(test_refused);
	TEST_RUN(test_not_object);
	TEST_RUN(test_query);
	return TEST_DONE();
}
