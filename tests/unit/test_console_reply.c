/*
 * test_console_reply.c - the API handlers' reply helpers
 * (cloud/console/reply.c): an error is {"error": message} with its status,
 * a long message is cut at a character boundary, a JSON reply takes
 * ownership, a second reply replaces the first without a leak, a missing
 * value is a 500, and a body of another type (cs_reply_body) replaces and
 * is replaced the same way.
 */
#include "test.h"

#include "api.h"

static void test_error(void)
{
	struct cs_reply r = {0};

	CHECK_OK(cs_reply_error(&r, 400, "field '%s': expected %s", "depth", "an integer"));
	CHECK_EQ_INT(r.status, 400);
	CHECK(json_is_object(r.json));
	CHECK_STR(json_string_value(json_object_get(r.json, "error")),
		  "field 'depth': expected an integer");
	CHECK_EQ_INT(json_object_size(r.json), 1);
	json_decref(r.json);
}

static void test_long_error_cut_at_character(void)
{
	struct cs_reply r = {0};
	char text[2000];
	size_t n = 0;

	/* 'a' then three-byte characters (U+D55C), so the cut falls inside one. */
	text[n++] = 'a';
	while (n + 3 < sizeof text) {
		memcpy(text + n, "\xED\x95\x9C", 3);
		n += 3;
	}
	text[n] = '\0';
	CHECK_OK(cs_reply_error(&r, 404, "%s", text));
	CHECK_EQ_INT(r.status, 404);
	const char *m = json_string_value(json_object_get(r.json, "error"));
	if (!CHECK(m != NULL))
		return;
	CHECK(strlen(m) > 400 && strlen(m) < 512);
	CHECK_EQ_INT((strlen(m) - 1) % 3, 0);
	json_decref(r.json);
}

static void test_json_and_replace(void)
{
	struct cs_reply r = {0};

	CHECK_OK(cs_reply_json(&r, 200, json_pack("{s:i}", "id", 7)));
	CHECK_EQ_INT(r.status, 200);
	CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "id")), 7);
	/* A body of another type is released when an error replaces it. */
	r.body = strdup("a,b\n");
	r.body_len = 4;
	r.content_type = "text/csv";
	CHECK_OK(cs_reply_error(&r, 409, "not approved"));
	CHECK(r.body == NULL && r.body_len == 0 && r.content_type == NULL);
	CHECK_EQ_INT(r.status, 409);
	json_decref(r.json);
	r.json = NULL;
	/* No value (jansson could not allocate): 500, nothing held. */
	CHECK_OK(cs_reply_json(&r, 200, NULL));
	CHECK_EQ_INT(r.status, 500);
	CHECK(r.json == NULL);
}

static void test_body(void)
{
	struct cs_reply r = {0};

	CHECK_OK(cs_reply_json(&r, 200, json_pack("{s:i}", "id", 7)));
	/* A body replaces the JSON value (released) and names its file. */
	CHECK_OK(cs_reply_body(&r, 200, strdup("a,b\r\n"), 5, "text/csv", "contacts.csv"));
	CHECK(r.json == NULL);
	CHECK_EQ_INT(r.status, 200);
	CHECK_EQ_INT(r.body_len, 5);
	CHECK_STR(r.content_type, "text/csv");
	CHECK_STR(r.filename, "contacts.csv");
	/* And an error replaces the body: no file name is left behind. */
	CHECK_OK(cs_reply_error(&r, 503, "down"));
	CHECK(r.body == NULL && r.filename[0] == '\0');
	json_decref(r.json);
}

int main(void)
{
	TEST_RUN(test_error);
	TEST_RUN(test_long_error_cut_at_character);
	TEST_RUN(test_json_and_replace);
	TEST_RUN(test_body);
	return TEST_DONE();
}
