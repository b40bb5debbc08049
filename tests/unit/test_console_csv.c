/*
 * test_console_csv.c - CSV cells (cloud/console/csvout.c): plain cells as
 * they are; cells a spreadsheet would run as a formula (= + - @, a tab or
 * a CR anywhere) guarded by a leading "'"; commas, quotes and line breaks
 * quoted with quotes doubled; empty and NULL cells empty.
 */
#include "test.h"

#include "csvout.h"

/* One cell alone, as a string (static buffer). */
static const char *cell(const char *s)
{
	static char out[256];
	struct as_strbuf b = {0};

	cs_csv_cell(&b, s, 1);
	snprintf(out, sizeof out, "%s", b.len ? b.p : "");
	as_strbuf_free(&b);
	return out;
}

static void test_plain(void)
{
	CHECK_STR(cell("Park Bee"), "Park Bee");
	CHECK_STR(cell("2026-03-02T12:40:00+09:00"), "2026-03-02T12:40:00+09:00");
	CHECK_STR(cell("0a1b"), "0a1b");
	CHECK_STR(cell("박민수"), "박민수");
	CHECK_STR(cell(""), "");
	CHECK_STR(cell(NULL), "");
}

static void test_formulas_guarded(void)
{
	CHECK_STR(cell("=HYPERLINK(\"http://x.example/?a\",\"click\")"),
		  "\"'=HYPERLINK(\"\"http://x.example/?a\"\",\"\"click\"\")\"");
	CHECK_STR(cell("+1"), "\"'+1\"");
	CHECK_STR(cell("-2"), "\"'-2\"");
	CHECK_STR(cell("@x"), "\"'@x\"");
	CHECK_STR(cell("=1+1"), "\"'=1+1\"");
	CHECK_STR(cell("a\tb"), "\"'a\tb\"");
	CHECK_STR(cell("a\rb"), "\"'a\rb\"");
	CHECK_STR(cell("\t=1"), "\"'\t=1\"");
	/* Not at the start: no formula. */
	CHECK_STR(cell("a=1"), "a=1");
	CHECK_STR(cell("x-2"), "x-2");
}

static void test_quoting(void)
{
	CHECK_STR(cell("Kim, Min"), "\"Kim, Min\"");
	CHECK_STR(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
	CHECK_STR(cell("two\nlines"), "\"two\nlines\"");
	/* A cell that starts with ' itself is quoted, so it is not read as
	 * guarded text. */
	CHECK_STR(cell("'quoted"), "\"'quoted\"");
}

static void test_row(void)
{
	struct as_strbuf b = {0};

	cs_csv_cell(&b, "1", 1);
	cs_csv_cell(&b, "+82", 0);
	cs_csv_cell(&b, NULL, 0);
	cs_csv_cell(&b, "a,b", 0);
	cs_csv_row_end(&b);
	CHECK(!b.failed);
	CHECK_STR(b.p, "1,\"'+82\",,\"a,b\"\r\n");
	as_strbuf_free(&b);
}

int main(void)
{
	TEST_RUN(test_plain);
	TEST_RUN(test_formulas_guarded);
	TEST_RUN(test_quoting);
	TEST_RUN(test_row);
	return TEST_DONE();
}
