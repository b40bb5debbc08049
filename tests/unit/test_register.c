/*
 * test_register.c - the paper register (gateway/register.c): the bounded
 * CSV reader (quotes, line ends, BOM, over-long and malformed records),
 * entry validation field by field, the privacy rule for reasons, the import
 * digest, and whole-file import of the checked-in files in tests/data/csv
 * (expected results listed in tests/data/csv/README.md).
 *
 * Runs in TZ=Asia/Seoul with a fixed clock, 2026-03-02 12:00 KST.
 */
#include "test.h"

#include "anshim/parse.h"
#include "register.h"

#include <errno.h>
#include <time.h>

#define NOW INT64_C(1772420400)         /* 2026-03-02T12:00:00+09:00 */
#define MAX_AGE (56 * INT64_C(86400))   /* 8 weeks */

static char data_dir[512];

/* ---- helpers ----------------------------------------------------------- */

/* A FILE holding exactly n bytes of data (tmpfile works for n = 0 too). */
static FILE *mem_file(const void *data, size_t n)
{
	FILE *f = tmpfile();

	if (!f) {
		perror("tmpfile");
		exit(2);
	}
	if (n && fwrite(data, 1, n, f) != n) {
		perror("fwrite");
		exit(2);
	}
	rewind(f);
	return f;
}

static FILE *str_file(const char *s) { return mem_file(s, strlen(s)); }

static FILE *data_file(const char *name)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", data_dir, name);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return f;
}

static int64_t at(const char *iso)
{
	int64_t t = 0;

	if (as_parse_time(iso, &t) != 0) {
		fprintf(stderr, "bad fixture time %s\n", iso);
		exit(2);
	}
	return t;
}

/* Text that must never appear in a reason: the digits every fixture phone
 * number shares, and every fixture name. */
static const char *const secrets[] = {
	"0000", "9876", "5432", "홍길동", "김철수", "이영희", "박민수", "정수민",
	"한지민", "서연", "송하늘", "Hong", "Gildong", "Kim", "Minho", "Jay",
	"Ja\"ne", "Unclosed", "LLLL", "AAAA", "\xc8\xab",
};

static void check_private(const char *why)
{
	/* Every reason fits the recommended buffer untruncated. */
	test_result_(strlen(why) < GW_REGISTER_WHY_MAX - 1, __FILE__, __LINE__,
		     "reason \"%s\" may have been truncated", why);
	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
		test_result_(strstr(why, secrets[i]) == NULL, __FILE__, __LINE__,
			     "reason \"%s\" contains \"%s\"", why, secrets[i]);
}

/* Results of a gw_register_read_file run. */
#define MAX_SEEN 64

struct seen {
	unsigned n_entries, n_rejects;
	unsigned entry_line[MAX_SEEN];
	struct gw_register_entry entry[MAX_SEEN];
	unsigned reject_line[MAX_SEEN];
	char reject_why[MAX_SEEN][GW_REGISTER_WHY_MAX];
};

static void on_entry(void *ctx, unsigned line, const struct gw_register_entry *e)
{
	struct seen *s = ctx;

	if (s->n_entries < MAX_SEEN) {
		s->entry_line[s->n_entries] = line;
		s->entry[s->n_entries] = *e;
	}
	s->n_entries++;
}

static void on_reject(void *ctx, unsigned line, const char *why)
{
	struct seen *s = ctx;

	check_private(why);
	if (s->n_rejects < MAX_SEEN) {
		s->reject_line[s->n_rejects] = line;
		snprintf(s->reject_why[s->n_rejects], GW_REGISTER_WHY_MAX, "%s", why);
	}
	s->n_rejects++;
}

static int read_into(struct seen *s, FILE *f)
{
	int rc;

	memset(s, 0, sizeof *s);
	rc = gw_register_read_file(f, NOW, MAX_AGE, on_entry, on_reject, s);
	fclose(f);
	return rc;
}

/* Expect the next CSV record: its line and fields (n of them). */
static void expect_row(struct as_csv_reader *r, unsigned line, unsigned n,
		       const char *const *want)
{
	struct as_csv_row row;

	if (!CHECK_RC(as_csv_next(r, &row), 1))
		return;
	CHECK_EQ_INT(row.line, line);
	if (!CHECK_EQ_INT(row.n_fields, n))
		return;
	for (unsigned i = 0; i < n; i++) {
		test_ctx("line %u field %u", line, i);
		CHECK_STR(row.fields[i], want[i]);
	}
	test_ctx_clear();
}

static void expect_reject(struct as_csv_reader *r, unsigned line, const char *part)
{
	struct as_csv_row row;

	if (!CHECK_RC(as_csv_next(r, &row), AS_E_CSV))
		return;
	CHECK_EQ_INT(row.line, line);
	CHECK_EQ_INT(row.n_fields, 0);
	if (CHECK(row.why != NULL))
		test_result_(strstr(row.why, part) != NULL, __FILE__, __LINE__,
			     "reason \"%s\" lacks \"%s\"", row.why, part);
}

static void expect_eof(struct as_csv_reader *r)
{
	struct as_csv_row row;

	CHECK_RC(as_csv_next(r, &row), 0);
	CHECK_RC(as_csv_next(r, &row), 0); /* and stays there */
}

#define ROW(r, line, ...)                                                               \
	do {                                                                            \
		static const char *const w_[] = {__VA_ARGS__};                          \
		expect_row((r), (line), (unsigned)(sizeof w_ / sizeof w_[0]), w_);      \
	} while (0)

/* ---- CSV reader -------------------------------------------------------- */

/* A reader over a FILE holding some bytes. */
struct src {
	FILE *f;
	struct as_csv_reader *r;
};

static struct src src_mem(const void *data, size_t n)
{
	struct src s = {mem_file(data, n), NULL};

	if (as_csv_open(&s.r, s.f) != 0) {
		fprintf(stderr, "as_csv_open failed\n");
		exit(2);
	}
	return s;
}

static struct src src_str(const char *text) { return src_mem(text, strlen(text)); }

static void src_close(struct src *s)
{
	as_csv_close(s->r);
	fclose(s->f);
}

static void test_csv_quotes_and_trimming(void)
{
	struct src s = src_str("a, b ,\"c,d\",\"e\"\"f\",,\"  g  \" , \t\"\"\n"
			       "\"\"\"\",\" \"\n"
			       "one\n");

	ROW(s.r, 1, "a", "b", "c,d", "e\"f", "", "  g  ", "");
	ROW(s.r, 2, "\"", " ");
	ROW(s.r, 3, "one");
	expect_eof(s.r);
	src_close(&s);
}

static void test_csv_line_ends(void)
{
	/* CRLF, a blank line, a quoted newline, a lone CR, no final line end. */
	struct src s = src_str("h1,h2\r\nx,y\r\n\r\n\"multi\nline\",z\rlast,row");

	ROW(s.r, 1, "h1", "h2");
	ROW(s.r, 2, "x", "y");
	ROW(s.r, 4, "multi\nline", "z");
	ROW(s.r, 6, "last", "row");
	expect_eof(s.r);
	src_close(&s);

	/* Blank and all-blank lines are skipped; a quoted empty field is not. */
	s = src_str("\n   \n\t\na\n\"\"\n\n");
	ROW(s.r, 4, "a");
	ROW(s.r, 5, "");
	expect_eof(s.r);
	src_close(&s);

	s = src_str("");
	expect_eof(s.r);
	src_close(&s);
}

/* Many records cross the reader's input buffer boundaries intact. */
static void test_csv_many_rows(void)
{
	char *text = malloc(40000), want[32];
	size_t n = 0;
	struct as_csv_row row;
	struct src s;
	unsigned i;

	if (!text)
		exit(2);
	for (i = 1; i <= 2000; i++)
		n += (size_t)snprintf(text + n, 40000 - n, "row,\"%u\"\r\n", i);
	s = src_mem(text, n);
	for (i = 1; i <= 2000; i++) {
		snprintf(want, sizeof want, "%u", i);
		test_ctx("row %u", i);
		if (!CHECK_RC(as_csv_next(s.r, &row), 1) || !CHECK_EQ_INT(row.line, i) ||
		    !CHECK_EQ_INT(row.n_fields, 2) || !CHECK_STR(row.fields[1], want))
			break;
	}
	test_ctx_clear();
	expect_eof(s.r);
	src_close(&s);
	free(text);
}

static void test_csv_bom(void)
{
	struct src s = src_str("\xEF\xBB\xBF" "date,x\r\n\xEF\xBB\xBF" "b\r\n");

	ROW(s.r, 1, "date", "x");
	ROW(s.r, 2, "\xEF\xBB\xBF" "b"); /* only a leading BOM is skipped */
	expect_eof(s.r);
	src_close(&s);

	/* A prefix of a BOM is data. */
	s = src_str("\xEF\xBB");
	ROW(s.r, 1, "\xEF\xBB");
	expect_eof(s.r);
	src_close(&s);
}

/* A record of exactly len bytes: "x," then a quoted run of 'L' with one
 * embedded newline, so skipping it must respect quotes. */
static char *long_record(size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		exit(2);
	memset(s, 'L', len);
	memcpy(s, "x,\"", 3);
	s[100] = '\n';
	s[len - 1] = '"';
	s[len] = '\0';
	return s;
}

static void test_csv_long_record(void)
{
	size_t sizes[] = {AS_CSV_RECORD_MAX, AS_CSV_RECORD_MAX + 1, 5000};

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *rec = long_record(sizes[i]);
		size_t n = strlen(rec) + 64;
		char *text = malloc(n);
		struct as_csv_row row;
		struct src s;

		if (!text)
			exit(2);
		snprintf(text, n, "head\r\n%s\r\nnext,row\r\n", rec);
		s = src_str(text);
		test_ctx("record of %zu bytes", sizes[i]);
		ROW(s.r, 1, "head");
		if (sizes[i] <= AS_CSV_RECORD_MAX) {
			if (CHECK_RC(as_csv_next(s.r, &row), 1)) {
				CHECK_EQ_INT(row.n_fields, 2);
				CHECK_EQ_INT(strlen(row.fields[1]), sizes[i] - 4);
			}
		} else {
			expect_reject(s.r, 2, "longer than 4096 bytes");
		}
		ROW(s.r, 4, "next", "row"); /* the record spanned lines 2-3 */
		expect_eof(s.r);
		src_close(&s);
		free(text);
		free(rec);
	}
	test_ctx_clear();
}

static void test_csv_field_limit(void)
{
	struct src s = src_str("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\n"
			       "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n"
			       ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n"
			       "ok\n");
	struct as_csv_row row;

	if (CHECK_RC(as_csv_next(s.r, &row), 1)) {
		CHECK_EQ_INT(row.n_fields, 16);
		CHECK_STR(row.fields[15], "16");
	}
	expect_reject(s.r, 2, "more than 16 fields");
	expect_reject(s.r, 3, "more than 16 fields");
	ROW(s.r, 4, "ok");
	expect_eof(s.r);
	src_close(&s);
}

static void test_csv_malformed(void)
{
	static const char text[] = "a\"b,c\n"       /* 1: quote in unquoted field */
				   "\"ab\"x,c\n"     /* 2: text after closing quote */
				   "a\0b,c\n"        /* 3: NUL byte */
				   "ok,1\n"          /* 4 */
				   "a,\"open\nmore\n"; /* 5-6: never closed */
	struct src s = src_mem(text, sizeof text - 1);

	expect_reject(s.r, 1, "inside an unquoted field");
	expect_reject(s.r, 2, "text after a closing");
	expect_reject(s.r, 3, "NUL byte");
	ROW(s.r, 4, "ok", "1");
	expect_reject(s.r, 5, "never closed");
	expect_eof(s.r);
	src_close(&s);
}

static void test_csv_read_error(void)
{
	FILE *f = fopen("/dev/null", "w"); /* reading it fails with EBADF */
	struct as_csv_reader *r;
	struct as_csv_row row;
	struct seen s;

	if (!f) {
		perror("/dev/null");
		exit(2);
	}
	if (CHECK_OK(as_csv_open(&r, f))) {
		CHECK_RC(as_csv_next(r, &row), -EBADF);
		CHECK_RC(as_csv_next(r, &row), -EBADF); /* sticky */
		as_csv_close(r);
	}
	CHECK_RC(read_into(&s, f), -EBADF);
	CHECK_EQ_INT(s.n_entries + s.n_rejects, 0);
	as_csv_close(NULL);
}

/* ---- validation -------------------------------------------------------- */

/* n times the syllable "가" (3 bytes each), then tail; out is large enough. */
static void syllables(char *out, int n, const char *tail)
{
	size_t len = 0;

	for (int i = 0; i < n; i++, len += 3)
		memcpy(out + len, "\xea\xb0\x80", 3);
	memcpy(out + len, tail, strlen(tail) + 1);
}

static int validate(struct gw_register_entry *e, const char *date, const char *time,
		    const char *name, const char *phone, const char *hc, const char *exit_t,
		    char *why)
{
	int rc = gw_register_validate(e, date, time, name, phone, hc, exit_t, NOW, MAX_AGE,
				      why, GW_REGISTER_WHY_MAX);

	check_private(why);
	return rc;
}

static void test_validate_good(void)
{
	static const char *const dates[] = {"2026-03-01", "2026.03.01", "2026/03/01",
					    "2026-3-1", " 2026-03-01 "};
	int64_t want = at("2026-03-01T09:05:00+09:00");
	struct gw_register_entry e;
	char why[GW_REGISTER_WHY_MAX];

	for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
		test_ctx("date %s", dates[i]);
		memset(why, 'x', sizeof why);
		if (!CHECK_OK(validate(&e, dates[i], "09:05", "홍길동", "010-0000-0001", NULL,
				       NULL, why)))
			continue;
		CHECK_STR(why, "");
		CHECK_EQ_INT(e.entry_time, want);
		CHECK_EQ_INT(e.exit_time, 0);
		CHECK_EQ_INT(e.headcount, 1);
		CHECK_STR(e.contact.phone, "+821000000001");
		CHECK_STR(e.contact.name, "홍길동");
	}
	test_ctx_clear();

	if (CHECK_OK(validate(&e, "2026-03-01", "9:05:30", "  Hong Gildong ", "+82 10 0000 0001",
			      "12", "23:59:59", why))) {
		CHECK_EQ_INT(e.entry_time, want + 30);
		CHECK_EQ_INT(e.exit_time, at("2026-03-01T23:59:59+09:00"));
		CHECK_EQ_INT(e.headcount, 12);
		CHECK_STR(e.contact.name, "Hong Gildong");
	}
	CHECK_RC(validate(&e, "2024-02-29", "00:00", "a", "010-0000-0001", "", "", why),
		 AS_E_TIME); /* a real leap day, but too old */
	CHECK_OK(validate(&e, "2026-03-01", "00:00", "a", "010-0000-0001", "999", "", why));
	CHECK_EQ_INT(e.headcount, 999);
	/* 64 bytes of UTF-8 exactly: 21 three-byte syllables and one ASCII. */
	{
		char name[80];

		syllables(name, 21, "a");
		CHECK_EQ_INT(strlen(name), 64);
		CHECK_OK(validate(&e, "2026-03-01", "10:00", name, "010-0000-0001", NULL, NULL,
				  why));
	}
	sodium_memzero(&e, sizeof e);
}

struct bad_case {
	const char *date, *time, *name, *phone, *hc, *exit_t;
	int rc;
	const char *why; /* the reason starts with this */
};

static void test_validate_bad(void)
{
	char name65[66], name64c[65];
	const struct bad_case cases[] = {
		{"2026-02-30", "10:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "date: '2026-02-30' is not a date (use YYYY-MM-DD"},
		{"2026-13-01", "10:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "date: '2026-13-01' is not a date"},
		{"2026-03-01T10", "10:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "date: the value is not a date"},
		{"2026-03/01", "10:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "date: '2026-03/01' is not a date"},
		{"26-03-01", "10:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "date: '26-03-01' is not a date"},
		{"", "10:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME, "date: empty"},
		{NULL, "10:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME, "date: empty"},
		{"2026-03-01", "25:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "time: '25:00' is not a time (use HH:MM or HH:MM:SS, 24-hour)"},
		{"2026-03-01", "10:60", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "time: '10:60' is not a time"},
		{"2026-03-01", "10:00 PM", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "time: the value is not a time"},
		{"2026-03-01", "1000", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "time: the value is not a time"},
		{"2026-03-01", "", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME, "time: empty"},
		{"2026-03-01", "14:00", "Kim", "010-9876-5432", NULL, "13:30", AS_E_TIME,
		 "exit_time: 13:30:00 is not after the entry time 14:00:00"},
		{"2026-03-01", "14:00", "Kim", "010-9876-5432", NULL, "14:00", AS_E_TIME,
		 "exit_time: 14:00:00 is not after the entry time"},
		{"2026-03-01", "14:00", "Kim", "010-9876-5432", NULL, "24:00", AS_E_TIME,
		 "exit_time: '24:00' is not a time (use HH:MM or HH:MM:SS, 24-hour, or leave it"},
		{"2026-03-02", "11:00", "Kim", "010-9876-5432", NULL, "12:30", AS_E_TIME,
		 "exit_time: 12:30 is more than 10 minutes in the future"},
		{"2026-03-02", "12:10:01", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "time: 2026-03-02 12:10 is more than 10 minutes in the future"},
		{"2026-03-03", "09:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "time: 2026-03-03 09:00 is more than 10 minutes in the future"},
		{"2026-01-05", "11:59:59", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "date: 2026-01-05 is older than the 56-day retention period"},
		{"1969-12-31", "10:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "date: '1969-12-31' is not a date"},
		{"2026-03-01", "10:00", "Kim", "010-98", NULL, NULL, AS_E_PHONE,
		 "phone: not a phone number ("},
		{"2026-03-01", "10:00", "Kim", "Kim", NULL, NULL, AS_E_PHONE,
		 "phone: not a phone number"},
		{"2026-03-01", "10:00", "Kim", "010-9876-5432x", NULL, NULL, AS_E_PHONE,
		 "phone: not a phone number"},
		{"2026-03-01", "10:00", "Kim", "", NULL, NULL, AS_E_PHONE, "phone: empty"},
		{"2026-03-01", "10:00", "", "010-9876-5432", NULL, NULL, AS_E_FIELD,
		 "name: empty"},
		{"2026-03-01", "10:00", "   ", "010-9876-5432", NULL, NULL, AS_E_FIELD,
		 "name: empty"},
		{"2026-03-01", "10:00", name65, "010-9876-5432", NULL, NULL, AS_E_FIELD,
		 "name: 65 bytes, at most 64 allowed"},
		{"2026-03-01", "10:00", "\xc8\xab\xb1\xe6\xb5\xbf", "010-9876-5432", NULL, NULL,
		 AS_E_FIELD, "name: not valid UTF-8"},                 /* 홍길동 in CP949 */
		{"2026-03-01", "10:00", "Kim\xc0\xaf", "010-9876-5432", NULL, NULL, AS_E_FIELD,
		 "name: not valid UTF-8"},                             /* overlong '/' */
		{"2026-03-01", "10:00", "Kim\xed\xa0\x80", "010-9876-5432", NULL, NULL,
		 AS_E_FIELD, "name: not valid UTF-8"},                 /* surrogate */
		{"2026-03-01", "10:00", "Kim\xf4\x90\x80\x80", "010-9876-5432", NULL, NULL,
		 AS_E_FIELD, "name: not valid UTF-8"},                 /* > U+10FFFF */
		{"2026-03-01", "10:00", "\xea\xb0", "010-9876-5432", NULL, NULL, AS_E_FIELD,
		 "name: not valid UTF-8"},                             /* truncated */
		{"2026-03-01", "10:00", "Kim\nLee", "010-9876-5432", NULL, NULL, AS_E_FIELD,
		 "name: contains a control character"},
		{"2026-03-01", "10:00", "Kim\x7f", "010-9876-5432", NULL, NULL, AS_E_FIELD,
		 "name: contains a control character"},
		{"2026-03-01", "10:00", "Kim\xc2\x85", "010-9876-5432", NULL, NULL, AS_E_FIELD,
		 "name: contains a control character"},                /* C1 NEL */
		{"2026-03-01", "10:00", name64c, "010-9876-5432", NULL, NULL, AS_E_FIELD,
		 "name: not valid UTF-8"},                             /* cut mid-character */
		{"2026-03-01", "10:00", "Kim", "010-9876-5432", "0", NULL, AS_E_FIELD,
		 "headcount: '0' is not a number of people from 1 to 999 (leave it empty"},
		{"2026-03-01", "10:00", "Kim", "010-9876-5432", "1000", NULL, AS_E_FIELD,
		 "headcount: '1000' is not a number of people from 1 to 999"},
		{"2026-03-01", "10:00", "Kim", "010-9876-5432", "abc", NULL, AS_E_FIELD,
		 "headcount: the value is not a number of people"},
		{"2026-03-01", "10:00", "Kim", "010-9876-5432", "-1", NULL, AS_E_FIELD,
		 "headcount: the value is not"},
		{"2026-03-01", "10:00", "Kim", "010-9876-5432", "2.5", NULL, AS_E_FIELD,
		 "headcount: the value is not"},
		/* Columns swapped: a phone or a name where a date, time or headcount
		 * belongs is never quoted back. */
		{"010-9876-5432", "10:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "date: the value is not a date"},
		{"0298765432", "10:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "date: the value is not a date"},
		{"9876-5432", "10:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "date: the value is not a date"},
		{"Kim", "10:00", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "date: the value is not a date"},
		{"2026-03-01", "98765432", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "time: the value is not a time"},
		{"2026-03-01", "Hong Gildong", "Kim", "010-9876-5432", NULL, NULL, AS_E_TIME,
		 "time: the value is not a time"},
		{"2026-03-01", "10:00", "Kim", "010-9876-5432", "01098765432", NULL, AS_E_FIELD,
		 "headcount: the value is not"},
		{"2026-03-01", "10:00", "Kim", "010-9876-5432", "홍길동", NULL, AS_E_FIELD,
		 "headcount: the value is not"},
		{"2026-03-01", "10:00", "Kim", "010-9876-5432", NULL, "010-9876-5432", AS_E_TIME,
		 "exit_time: the value is not a time"},
	};
	struct gw_register_entry e;
	char why[GW_REGISTER_WHY_MAX];

	memset(name65, 'A', 65);
	name65[65] = '\0';
	/* 64 bytes: 21 syllables (63 bytes) and the first byte of another. */
	syllables(name64c, 21, "\xea");

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct bad_case *c = &cases[i];

		test_ctx("case %zu (%s)", i, c->why);
		memset(&e, 0x55, sizeof e);
		CHECK_RC(validate(&e, c->date, c->time, c->name, c->phone, c->hc, c->exit_t, why),
			 c->rc);
		test_result_(strncmp(why, c->why, strlen(c->why)) == 0, __FILE__, __LINE__,
			     "reason \"%s\", expected \"%s...\"", why, c->why);
		CHECK(sodium_is_zero((const unsigned char *)&e, sizeof e));
	}
	test_ctx_clear();

	/* A short buffer truncates; a NULL buffer is allowed. */
	CHECK_RC(gw_register_validate(&e, "2026-13-01", "10:00", "Kim", "010-9876-5432", NULL,
				      NULL, NOW, MAX_AGE, why, 8),
		 AS_E_TIME);
	CHECK_STR(why, "date: '");
	CHECK_RC(gw_register_validate(&e, "2026-13-01", "10:00", "Kim", "010-9876-5432", NULL,
				      NULL, NOW, MAX_AGE, NULL, 0),
		 AS_E_TIME);
}

static void test_time_bounds(void)
{
	int64_t entry, exit_t;
	char why[GW_REGISTER_WHY_MAX];

	/* Exactly 10 minutes ahead is fine, one second more is not. */
	CHECK_OK(gw_register_check_times(&entry, &exit_t, "2026-03-02", "12:10:00", NULL,
					 NOW, MAX_AGE, why, sizeof why));
	CHECK_EQ_INT(entry, NOW + GW_REGISTER_SKEW_MAX);
	CHECK_RC(gw_register_check_times(&entry, &exit_t, "2026-03-02", "12:10:01", NULL, NOW,
					 MAX_AGE, why, sizeof why),
		 AS_E_TIME);
	/* Exactly max_age old is kept, one second older is not. */
	CHECK_OK(gw_register_check_times(&entry, &exit_t, "2026-01-05", "12:00:00", "",
					 NOW, MAX_AGE, why, sizeof why));
	CHECK_EQ_INT(entry, NOW - MAX_AGE);
	CHECK_EQ_INT(exit_t, 0);
	CHECK_RC(gw_register_check_times(&entry, &exit_t, "2026-01-05", "11:59:59", "", NOW,
					 MAX_AGE, why, sizeof why),
		 AS_E_TIME);
	CHECK_STR(why, "date: 2026-01-05 is older than the 56-day retention period (it would "
		       "be deleted at once; do not enter it)");
	CHECK_RC(gw_register_check_times(&entry, &exit_t, "2026-03-02", "11:00", NULL, NOW,
					 3599, why, sizeof why),
		 AS_E_TIME);
	CHECK(strstr(why, "3599-second retention") != NULL);
	/* An exit one second after entry is enough. */
	CHECK_OK(gw_register_check_times(&entry, &exit_t, "2026-03-02", "11:00:00", "11:00:01",
					 NOW, MAX_AGE, why, sizeof why));
	CHECK_EQ_INT(exit_t - entry, 1);
	/* Local time: the same wall clock is 9 h earlier in UTC. */
	CHECK_OK(gw_register_check_times(&entry, &exit_t, "2026-03-02", "03:00", NULL, NOW,
					 MAX_AGE, why, sizeof why));
	CHECK_EQ_INT(entry, at("2026-03-01T18:00:00Z"));
}

static void test_check_field(void)
{
	char why[GW_REGISTER_WHY_MAX];
	struct {
		enum gw_register_field f;
		const char *value;
		int rc;
	} cases[] = {
		{GW_REG_DATE, "2026/03/01", 0},      {GW_REG_DATE, "2026-02-29", AS_E_TIME},
		{GW_REG_DATE, "2028-02-29", 0},      {GW_REG_DATE, "2026.03-01", AS_E_TIME},
		{GW_REG_DATE, "", AS_E_TIME},        {GW_REG_TIME, "23:59:59", 0},
		{GW_REG_TIME, "7:05", 0},            {GW_REG_TIME, "7:5", AS_E_TIME},
		{GW_REG_TIME, "12:00:", AS_E_TIME},  {GW_REG_TIME, NULL, AS_E_TIME},
		{GW_REG_NAME, "이순신", 0},          {GW_REG_NAME, "", AS_E_FIELD},
		{GW_REG_NAME, "a\tb", AS_E_FIELD},   {GW_REG_PHONE, "010 0000 0001", 0},
		{GW_REG_PHONE, "12", AS_E_PHONE},    {GW_REG_PHONE, NULL, AS_E_PHONE},
		{GW_REG_HEADCOUNT, "", 0},           {GW_REG_HEADCOUNT, NULL, 0},
		{GW_REG_HEADCOUNT, " 7 ", 0},        {GW_REG_HEADCOUNT, "0", AS_E_FIELD},
		{GW_REG_EXIT_TIME, "", 0},           {GW_REG_EXIT_TIME, "18:00", 0},
		{GW_REG_EXIT_TIME, "18", AS_E_TIME}, {GW_REG_FIELD_COUNT, "x", AS_E_FIELD},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		test_ctx("field %d value \"%s\"", (int)cases[i].f,
			 cases[i].value ? cases[i].value : "(null)");
		CHECK_RC(gw_register_check_field(cases[i].f, cases[i].value, why, sizeof why),
			 cases[i].rc);
		CHECK(cases[i].rc == 0 ? why[0] == '\0' : why[0] != '\0');
		if (cases[i].f == GW_REG_PHONE)
			check_private(why);
	}
	test_ctx_clear();
}

/* ---- digest ------------------------------------------------------------ */

/* The digest recomputed from the encoding documented in register.h. */
static void digest_by_spec(uint8_t out[32], const struct gw_register_entry *e)
{
	uint8_t buf[256];
	size_t n = 0, pl = strlen(e->contact.phone), nl = strlen(e->contact.name);
	const char *tag = "anshim-register-row-v1";

	buf[n++] = (uint8_t)strlen(tag);
	memcpy(buf + n, tag, strlen(tag));
	n += strlen(tag);
	for (int i = 0; i < 8; i++)
		buf[n++] = (uint8_t)((uint64_t)e->entry_time >> (8 * i));
	for (int i = 0; i < 8; i++)
		buf[n++] = (uint8_t)((uint64_t)e->exit_time >> (8 * i));
	buf[n++] = (uint8_t)e->headcount;
	buf[n++] = (uint8_t)(e->headcount >> 8);
	buf[n++] = (uint8_t)pl;
	memcpy(buf + n, e->contact.phone, pl);
	n += pl;
	buf[n++] = (uint8_t)nl;
	memcpy(buf + n, e->contact.name, nl);
	n += nl;
	crypto_generichash(out, 32, buf, n, NULL, 0);
}

static void test_digest(void)
{
	struct gw_register_entry a, b;
	uint8_t da[32], db[32], spec[32], key[32];
	char why[GW_REGISTER_WHY_MAX];

	CHECK_OK(validate(&a, "2026-03-01", "10:00", "홍길동", "010-1234-5678", "2", "11:00",
			  why));
	CHECK_OK(validate(&b, "2026/3/1", "10:00:00", " 홍길동 ", "+82 10 1234 5678", "2",
			  "11:00:00", why));
	gw_register_row_digest(da, &a);
	gw_register_row_digest(db, &b);
	CHECK_MEM(da, db, 32);
	digest_by_spec(spec, &a);
	CHECK_MEM(da, spec, 32);

	struct {
		const char *time, *name, *phone, *hc, *exit_t;
	} other[] = {
		{"10:01", "홍길동", "010-1234-5678", "2", "11:00"},  /* another time */
		{"10:00", "홍길동", "010-1234-5678", "2", "11:01"},  /* another exit */
		{"10:00", "홍길동", "010-1234-5678", "2", ""},       /* no exit */
		{"10:00", "홍길동", "010-1234-5678", "3", "11:00"},  /* headcount */
		{"10:00", "홍길순", "010-1234-5678", "2", "11:00"},  /* name */
		{"10:00", "홍길동", "010-1234-5679", "2", "11:00"},  /* phone */
	};
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
		test_ctx("variant %zu", i);
		if (!CHECK_OK(validate(&b, "2026-03-01", other[i].time, other[i].name,
				       other[i].phone, other[i].hc, other[i].exit_t, why)))
			continue;
		gw_register_row_digest(db, &b);
		CHECK(memcmp(da, db, 32) != 0);
		digest_by_spec(spec, &b);
		CHECK_MEM(db, spec, 32);
	}
	test_ctx_clear();

	/* Keyed: differs from unkeyed and between keys; same key, same digest. */
	test_fill(key, sizeof key, 11);
	CHECK_OK(gw_register_row_digest_keyed(db, &a, key, sizeof key));
	CHECK(memcmp(da, db, 32) != 0);
	CHECK_OK(gw_register_row_digest_keyed(spec, &a, key, sizeof key));
	CHECK_MEM(db, spec, 32);
	key[0] ^= 1;
	CHECK_OK(gw_register_row_digest_keyed(spec, &a, key, sizeof key));
	CHECK(memcmp(db, spec, 32) != 0);
	CHECK_OK(gw_register_row_digest_keyed(spec, &a, key, 16));
	CHECK_RC(gw_register_row_digest_keyed(spec, &a, key, 15), AS_E_USAGE);
	CHECK_RC(gw_register_row_digest_keyed(spec, &a, key, 65), AS_E_USAGE);
	CHECK_RC(gw_register_row_digest_keyed(spec, &a, NULL, 32), AS_E_USAGE);
	sodium_memzero(&a, sizeof a);
	sodium_memzero(&b, sizeof b);
}

/* ---- whole files ------------------------------------------------------- */

static void test_file_good(void)
{
	static const unsigned lines[] = {2, 3, 4, 5, 6, 7, 8};
	struct seen s;

	CHECK_OK(read_into(&s, data_file("good.csv")));
	CHECK_EQ_INT(s.n_rejects, 0);
	for (unsigned i = 0; i < s.n_rejects && i < MAX_SEEN; i++)
		fprintf(stderr, "  unexpected reject line %u: %s\n", s.reject_line[i],
			s.reject_why[i]);
	if (!CHECK_EQ_INT(s.n_entries, 7))
		return;
	for (unsigned i = 0; i < 7; i++)
		CHECK_EQ_INT(s.entry_line[i], lines[i]);
	CHECK_EQ_INT(s.entry[0].entry_time, at("2026-03-01T09:05:00+09:00"));
	CHECK_EQ_INT(s.entry[0].exit_time, at("2026-03-01T10:30:00+09:00"));
	CHECK_STR(s.entry[0].contact.name, "홍길동");
	CHECK_STR(s.entry[1].contact.phone, "+821000000002");
	CHECK_EQ_INT(s.entry[1].entry_time, at("2026-03-01T12:30:15+09:00"));
	CHECK_EQ_INT(s.entry[1].headcount, 2);
	CHECK_EQ_INT(s.entry[1].exit_time, 0);
	CHECK_STR(s.entry[2].contact.name, "Lee, Younghee");
	CHECK_EQ_INT(s.entry[2].headcount, 1);
	CHECK_STR(s.entry[3].contact.name, "Park \"PJ\" Jisung");
	CHECK_EQ_INT(s.entry[3].entry_time, at("2026-03-02T07:50:00+09:00"));
	CHECK_EQ_INT(s.entry[3].headcount, 4);
	CHECK_STR(s.entry[4].contact.name, "O'Brien Sean");
	CHECK_STR(s.entry[4].contact.phone, "+12025550100");
	CHECK_EQ_INT(s.entry[5].entry_time, at("2026-01-06T09:00:00+09:00"));
	CHECK_EQ_INT(s.entry[6].headcount, 999);
	sodium_memzero(&s, sizeof s);
}

/* The expectations written down in tests/data/csv/README.md. */
static void test_file_mixed(void)
{
	static const unsigned ok_lines[] = {2, 13, 18, 21};
	static const struct {
		unsigned line;
		const char *why;
	} rejects[] = {
		{3, "date: '2026-02-30' is not a date"},
		{4, "time: '25:00' is not a time"},
		{5, "exit_time: 13:30:00 is not after the entry time 14:00:00"},
		{6, "time: 2026-03-02 12:30 is more than 10 minutes in the future"},
		{7, "date: 2025-12-01 is older than the 56-day retention period"},
		{8, "phone: not a phone number"},
		{9, "name: empty"},
		{10, "headcount: '0' is not a number of people from 1 to 999"},
		{11, "headcount: '1000' is not a number of people from 1 to 999"},
		{12, "headcount: the value is not a number of people from 1 to 999"},
		{14, "name: contains a control character"},
		{16, "row: 3 fields where the header has 6"},
		{17, "row: 7 fields where the header has 6"},
		{20, "row: a '\"' inside an unquoted field"},
		{22, "name: not valid UTF-8"},
		{23, "name: 65 bytes, at most 64 allowed"},
		{24, "row: a quoted field is never closed"},
	};
	const size_t nr = sizeof rejects / sizeof rejects[0];
	struct seen s;

	CHECK_OK(read_into(&s, data_file("mixed.csv")));
	if (CHECK_EQ_INT(s.n_entries, 4))
		for (unsigned i = 0; i < 4; i++)
			CHECK_EQ_INT(s.entry_line[i], ok_lines[i]);
	CHECK_EQ_INT(s.n_rejects, nr);
	for (size_t i = 0; i < nr && i < s.n_rejects; i++) {
		test_ctx("reject %zu: line %u \"%s\"", i, s.reject_line[i], s.reject_why[i]);
		CHECK_EQ_INT(s.reject_line[i], rejects[i].line);
		CHECK(strncmp(s.reject_why[i], rejects[i].why, strlen(rejects[i].why)) == 0);
	}
	test_ctx_clear();
	CHECK_STR(s.entry[1].contact.name, "Kim, \"Jay\"");
	CHECK_EQ_INT(s.entry[1].exit_time, at("2026-03-01T14:00:00+09:00"));
	CHECK_STR(s.entry[3].contact.phone, "+821000000014");
	sodium_memzero(&s, sizeof s);
}

static void test_file_long_record(void)
{
	struct seen s;

	CHECK_OK(read_into(&s, data_file("long_record.csv")));
	if (CHECK_EQ_INT(s.n_rejects, 1)) {
		CHECK_EQ_INT(s.reject_line[0], 2);
		CHECK(strstr(s.reject_why[0], "longer than 4096 bytes") != NULL);
	}
	if (CHECK_EQ_INT(s.n_entries, 1)) {
		CHECK_EQ_INT(s.entry_line[0], 3);
		CHECK_STR(s.entry[0].contact.name, "홍길동");
	}
	sodium_memzero(&s, sizeof s);
}

static void expect_header_error(FILE *f, unsigned line, const char *part)
{
	struct seen s;

	CHECK_RC(read_into(&s, f), AS_E_CSV);
	CHECK_EQ_INT(s.n_entries, 0);
	if (!CHECK_EQ_INT(s.n_rejects, 1))
		return;
	CHECK_EQ_INT(s.reject_line[0], line);
	test_result_(strstr(s.reject_why[0], part) != NULL, __FILE__, __LINE__,
		     "reason \"%s\" lacks \"%s\"", s.reject_why[0], part);
	test_result_(strstr(s.reject_why[0], "date,time,name,phone[,headcount][,exit_time]") !=
			     NULL,
		     __FILE__, __LINE__, "reason \"%s\" does not name the header",
		     s.reject_why[0]);
}

static void test_file_headers(void)
{
	static const struct {
		const char *header, *row;
	} good[] = {
		{"date,time,name,phone", "2026-03-01,10:00,Kim,010-0000-0001"},
		{"DATE,Time,NaMe,PHONE", "2026-03-01,10:00,Kim,010-0000-0001"},
		{"date,time,name,phone,headcount", "2026-03-01,10:00,Kim,010-0000-0001,3"},
		{"date,time,name,phone,exit_time", "2026-03-01,10:00,Kim,010-0000-0001,11:00"},
		{"date,time,name,phone,headcount,exit_time,,",
		 "2026-03-01,10:00,Kim,010-0000-0001,,11:00"},
		{" date , \"time\",name,phone", "2026-03-01,10:00,Kim,010-0000-0001,,,"},
	};
	struct seen s;
	char text[200];

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		test_ctx("header %s", good[i].header);
		snprintf(text, sizeof text, "%s\n%s\n", good[i].header, good[i].row);
		CHECK_OK(read_into(&s, str_file(text)));
		CHECK_EQ_INT(s.n_entries, 1);
		CHECK_EQ_INT(s.n_rejects, 0);
	}
	test_ctx_clear();
	/* exit_time without headcount is read from the right column. */
	CHECK_OK(read_into(&s, str_file("date,time,name,phone,exit_time\n"
					"2026-03-01,10:00,Kim,010-0000-0001,11:00\n")));
	if (CHECK_EQ_INT(s.n_entries, 1)) {
		CHECK_EQ_INT(s.entry[0].headcount, 1);
		CHECK_EQ_INT(s.entry[0].exit_time, at("2026-03-01T11:00:00+09:00"));
	}

	expect_header_error(data_file("no_header.csv"), 1,
			    "column 1 is not a known column name");
	expect_header_error(data_file("bad_header.csv"), 1,
			    "column 4 is not a known column name");
	expect_header_error(str_file(""), 1, "the file is empty");
	expect_header_error(str_file("\n\n,,,\n"), 3, "column 1 'date' is missing");
	expect_header_error(str_file("date,time,name\n"), 1,
			    "column 4 'phone' is missing");
	expect_header_error(str_file("date,time,phone,name\n"), 1,
			    "column 3 is 'phone' where 'name' was expected");
	expect_header_error(str_file("date,time,name,phone,exit_time,headcount\n"), 1,
			    "column 6 'headcount' is out of order or repeated");
	expect_header_error(str_file("date,time,name,phone,phone\n"), 1,
			    "column 5 'phone' is out of order or repeated");
	expect_header_error(str_file("date,time,name,phone,note\n"), 1,
			    "column 5 is not a known column name");
	expect_header_error(str_file("date,\"time\n"), 1,
			    "header: row: a quoted field is never");
}

int main(void)
{
	const char *env = getenv("ANSHIM_TEST_DATA");

	if (!env || !*env) {
		fprintf(stderr, "test_register: set ANSHIM_TEST_DATA to the tests/data "
				"directory\n");
		return 1;
	}
	snprintf(data_dir, sizeof data_dir, "%s/csv", env);
	if (as_crypto_init() != 0) {
		fprintf(stderr, "libsodium failed to initialise\n");
		return 2;
	}
	setenv("TZ", "Asia/Seoul", 1);
	tzset();
	if (at("2026-03-02T12:00") != NOW) {
		fprintf(stderr, "test_register: time zone Asia/Seoul is not available\n");
		return 1;
	}

	TEST_RUN(test_csv_quotes_and_trimming);
	TEST_RUN(test_csv_line_ends);
	TEST_RUN(test_csv_many_rows);
	TEST_RUN(test_csv_bom);
	TEST_RUN(test_csv_long_record);
	TEST_RUN(test_csv_field_limit);
	TEST_RUN(test_csv_malformed);
	TEST_RUN(test_csv_read_error);
	TEST_RUN(test_validate_good);
	TEST_RUN(test_validate_bad);
	TEST_RUN(test_time_bounds);
	TEST_RUN(test_check_field);
	TEST_RUN(test_digest);
	TEST_RUN(test_file_good);
	TEST_RUN(test_file_mixed);
	TEST_RUN(test_file_long_record);
	TEST_RUN(test_file_headers);
	return TEST_DONE();
}
