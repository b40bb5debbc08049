/*
 * test_strbuf.c - the growing text buffer (common/src/strbuf.c): appends
 * across many growths, printf, JSON and XML escaping, and free.
 */
#include "test.h"

#include "anshim/strbuf.h"

static void test_append_and_grow(void)
{
	struct as_strbuf b = {0};
	char want[16];

	as_strbuf_add(&b, "");
	CHECK(b.p != NULL && b.len == 0 && b.p[0] == '\0');
	/* 10000 appends: many reallocations, content intact. */
	for (int i = 0; i < 10000; i++)
		as_strbuf_addn(&b, "0123456789" + i % 10, 1);
	CHECK_EQ_INT(b.len, 10000);
	CHECK(b.cap > b.len);
	CHECK_EQ_INT(strlen(b.p), 10000);
	CHECK(strncmp(b.p + 9990, "0123456789", 10) == 0);
	CHECK(!b.failed);
	as_strbuf_addn(&b, "xyz", 2); /* only n bytes */
	snprintf(want, sizeof want, "%s", b.p + b.len - 3);
	CHECK_STR(want, "9xy");
	as_strbuf_free(&b);
	CHECK(b.p == NULL && b.len == 0 && b.cap == 0 && !b.failed);
	as_strbuf_free(&b); /* freeing twice is harmless */
}

static void test_printf(void)
{
	struct as_strbuf b = {0};
	char big[1000];

	as_strbuf_printf(&b, "%d-%s", 42, "x");
	CHECK_STR(b.p, "42-x");
	as_strbuf_printf(&b, "%s", "");
	CHECK_STR(b.p, "42-x");
	memset(big, 'b', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	as_strbuf_printf(&b, "[%s]", big); /* larger than the first allocation */
	CHECK_EQ_INT(b.len, 4 + 2 + 999);
	CHECK_EQ_INT(strlen(b.p), b.len);
	CHECK(b.p[b.len - 1] == ']');
	as_strbuf_free(&b);
}

static void test_json(void)
{
	struct as_strbuf b = {0};

	as_strbuf_add_json(&b, "plain");
	CHECK_STR(b.p, "\"plain\"");
	as_strbuf_free(&b);
	as_strbuf_add_json(&b, "q\"b\\s/");
	CHECK_STR(b.p, "\"q\\\"b\\\\s/\"");
	as_strbuf_free(&b);
	as_strbuf_add_json(&b, "a\nb\tc\x01\x1f\x7f");
	CHECK_STR(b.p, "\"a\\u000ab\\u0009c\\u0001\\u001f\\u007f\"");
	as_strbuf_free(&b);
	as_strbuf_add_json(&b, "안심 café"); /* UTF-8 passes through */
	CHECK_STR(b.p, "\"안심 café\"");
	as_strbuf_free(&b);
	as_strbuf_add_json(&b, "");
	CHECK_STR(b.p, "\"\"");
	as_strbuf_free(&b);
}

static void test_clean(void)
{
	struct as_strbuf b = {0};

	as_strbuf_add_clean(&b, "Cafe \x1b[31mred\x7f \xff\xfe 안심", 0);
	CHECK_STR(b.p, "Cafe ?[31mred? ?? 안심");
	as_strbuf_free(&b);
	as_strbuf_add_clean(&b, "a\"b\x01\xc3", 1);
	CHECK_STR(b.p, "\"a\\\"b??\"");
	as_strbuf_free(&b);
	as_strbuf_add_clean(&b, "", 0);
	CHECK(b.len == 0);
	as_strbuf_free(&b);
}

static void test_xml(void)
{
	struct as_strbuf b = {0};

	as_strbuf_add_xml(&b, "<a href=\"x\">Tom & Jerry's</a>");
	CHECK_STR(b.p, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry's&lt;/a&gt;");
	as_strbuf_free(&b);
	as_strbuf_add_xml(&b, "");
	CHECK(b.len == 0);
	as_strbuf_free(&b);
}

int main(void)
{
	TEST_RUN(test_append_and_grow);
	TEST_RUN(test_printf);
	TEST_RUN(test_json);
	TEST_RUN(test_clean);
	TEST_RUN(test_xml);
	return TEST_DONE();
}
