/*
 * test_parse.c - strict number and time parsing (common/src/parse.c):
 * integer ranges and junk, every accepted time form, rejected dates and
 * times, and formatting back in local time; durations with their units,
 * rejected and overlong ones, and formatting them back.  Local forms run with
 * TZ=KST-9 (Korea, no daylight saving; needs no tzdata).
 */
#include "test.h"

#include "anshim/parse.h"

#include <errno.h>
#include <time.h>

static void check_int(const char *text, int64_t min, int64_t max, int want_rc, int64_t want)
{
	int64_t v = 12345;

	test_ctx("int \"%s\" in [%" PRId64 ", %" PRId64 "]", text ? text : "(null)", min, max);
	if (CHECK_RC(as_parse_int64(text, min, max, &v), want_rc))
		CHECK(v == (want_rc ? 12345 : want)); /* untouched on failure */
	test_ctx_clear();
}

static void test_int64(void)
{
	check_int("0", 0, 10, 0, 0);
	check_int("10", 0, 10, 0, 10);
	check_int("-5", -10, 10, 0, -5);
	check_int("+7", 0, 10, 0, 7);
	check_int("007", 0, 10, 0, 7);
	check_int("9223372036854775807", INT64_MIN, INT64_MAX, 0, INT64_MAX);
	check_int("-9223372036854775808", INT64_MIN, INT64_MAX, 0, INT64_MIN);
	check_int("11", 0, 10, AS_E_FIELD, 0);
	check_int("-1", 0, 10, AS_E_FIELD, 0);
	check_int("9223372036854775808", INT64_MIN, INT64_MAX, AS_E_FIELD, 0);
	check_int("", 0, 10, AS_E_FIELD, 0);
	check_int(NULL, 0, 10, AS_E_FIELD, 0);
	check_int(" 5", 0, 10, AS_E_FIELD, 0);
	check_int("5 ", 0, 10, AS_E_FIELD, 0);
	check_int("5x", 0, 10, AS_E_FIELD, 0);
	check_int("0x5", 0, 10, AS_E_FIELD, 0);
	check_int("5.0", 0, 10, AS_E_FIELD, 0);
	check_int("1e3", 0, 10000, AS_E_FIELD, 0);
	check_int("-", 0, 10, AS_E_FIELD, 0);
	check_int("--5", -10, 10, AS_E_FIELD, 0);
}

static void check_time(const char *text, int want_rc, int64_t want)
{
	int64_t v = 777;

	test_ctx("time \"%s\"", text ? text : "(null)");
	if (CHECK_RC(as_parse_time(text, &v), want_rc))
		CHECK_EQ_INT(v, want_rc ? 777 : want);
	test_ctx_clear();
}

static void test_time_forms(void)
{
	/* TEST_NOW is 2026-01-01T00:00:00Z = 09:00 in Seoul. */
	check_time("1767225600", 0, TEST_NOW);
	check_time("0", 0, 0);
	check_time("253402300799", 0, INT64_C(253402300799)); /* 9999-12-31T23:59:59Z */
	check_time("2026-01-01T00:00:00Z", 0, TEST_NOW);
	check_time("2026-01-01T09:00:00+09:00", 0, TEST_NOW);
	check_time("2026-01-01 09:00:00+09:00", 0, TEST_NOW);
	check_time("2026-01-01T09:00+0900", 0, TEST_NOW);
	check_time("2025-12-31T19:00:00-05:00", 0, TEST_NOW);
	check_time("2026-01-01T05:30:00+05:30", 0, TEST_NOW);
	check_time("2026-01-01T09:00", 0, TEST_NOW);    /* local (KST) */
	check_time("2026-01-01T09:00:00", 0, TEST_NOW); /* local, seconds */
	check_time("2026-01-01", 0, TEST_NOW - 9 * 3600); /* local midnight */
	check_time("2024-02-29T00:00:00Z", 0, INT64_C(1709164800)); /* leap day */
	check_time("2000-02-29T00:00:00Z", 0, INT64_C(951782400));
	check_time("1970-01-01T00:00:00Z", 0, 0);
	check_time("2026-11-28T10:15:00+09:00", 0, INT64_C(1795828500));
}

static void test_time_rejected(void)
{
	static const char *const bad[] = {
		"", "now", "-1", "253402300800", "1767225600.5", " 1767225600",
		"2026-1-01", "2026-01-1", "26-01-01", "2026/01/01", "2026-00-01",
		"2026-13-01", "2026-01-00", "2026-01-32", "2026-02-29", "2100-02-29",
		"2026-04-31", "1969-12-31T23:59:59Z", "2026-01-01T24:00", "2026-01-01T23:60",
		"2026-01-01T23:59:60", "2026-01-01T9:00", "2026-01-01T09", "2026-01-01T09:00:0",
		"2026-01-01T09:00Z ", "2026-01-01Z", "2026-01-01T09:00+9", "2026-01-01T09:00+15:00",
		"2026-01-01T09:00+09:60", "2026-01-01T09:00+09:", "2026-01-01T09:00:00.000Z",
		"2026-01-01t09:00", "2026-01-01T09:00 +09:00", "2026-01-01x",
		"2026-01-01T09:00:00+09:00:00",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check_time(bad[i], AS_E_TIME, 0);
	check_time(NULL, AS_E_TIME, 0);
}

static void test_format_time(void)
{
	char out[32];

	CHECK_STR(as_format_time(out, TEST_NOW), "2026-01-01T09:00:00+09:00");
	CHECK_STR(as_format_time(out, 0), "1970-01-01T09:00:00+09:00");
	/* What is formatted parses back to the same time. */
	for (int64_t t = 0; t < INT64_C(4000000000); t += INT64_C(123456789)) {
		int64_t back = -1;

		test_ctx("t = %" PRId64, t);
		as_format_time(out, t);
		if (CHECK_OK(as_parse_time(out, &back)))
			CHECK_EQ_INT(back, t);
	}
	test_ctx_clear();
}

/* as_format_time as strftime alone writes it (the direct forms and the
 * per-thread zone cache must agree with it byte for byte). */
static void reference_time(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char zone[8];

	if (!localtime_r(&tt, &tm)) {
		snprintf(out, 32, "@%lld", (long long)t);
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof zone, "%z", &tm);
	if (strlen(zone) == 5) {
		size_t n = strlen(out);
		snprintf(out + n, 32 - n, "%.3s:%.2s", zone, zone + 3);
	}
}

/* Every zone and time, DST changes (whole and half hour, at odd UTC
 * minutes) and zone switches included, formats as localtime_r says. */
static void test_format_time_zones(void)
{
	static const char *const zones[] = {
		"KST-9", "Asia/Seoul", "America/New_York", "Australia/Lord_Howe",
		"Asia/Kolkata", "UTC", "Europe/London", "right/Asia/Seoul", "America/St_Johns",
	};
	char got[32], want[32];

	for (size_t z = 0; z < sizeof zones / sizeof *zones; z++) {
		setenv("TZ", zones[z], 1);
		tzset();
		/* 2026 minute by minute around each hour (DST changes fall
		 * inside), then sparse across centuries. */
		for (int64_t t = INT64_C(1767225600); t < INT64_C(1798761600); t += 1799) {
			test_ctx("%s t = %" PRId64, zones[z], t);
			as_format_time(got, t);
			reference_time(want, t);
			if (!CHECK_STR(got, want))
				break;
		}
		/* Scattered over 2026 (hours sharing a cache slot in turn). */
		for (uint64_t k = 0, x = 88172645463325252u; k < 20000; k++) {
			int64_t t;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			t = INT64_C(1767225600) + (int64_t)(x % 31536000u);
			test_ctx("%s t = %" PRId64, zones[z], t);
			as_format_time(got, t);
			reference_time(want, t);
			if (!CHECK_STR(got, want))
				break;
		}
		for (int64_t t = -INT64_C(40000000000); t < INT64_C(300000000000);
		     t += INT64_C(987654321)) {
			test_ctx("%s t = %" PRId64, zones[z], t);
			as_format_time(got, t);
			reference_time(want, t);
			if (!CHECK_STR(got, want))
				break;
		}
	}
	test_ctx_clear();
	/* The ends of the range: no local time, or the direct forms. */
	for (int i = 0; i < 4; i++) {
		int64_t t = i < 2 ? INT64_MAX - i * 1000 : INT64_MIN + (i - 2) * 1000;

		test_ctx("t = %" PRId64, t);
		as_format_time(got, t);
		reference_time(want, t);
		CHECK_STR(got, want);
	}
	test_ctx_clear();
	setenv("TZ", "KST-9", 1);
	tzset();
}

static void check_duration(const char *text, int want_rc, int64_t want)
{
	int64_t v = 12345;

	test_ctx("duration \"%s\"", text ? text : "(null)");
	if (CHECK_RC(as_parse_duration(text, &v), want_rc))
		CHECK_EQ_INT(v, want_rc ? 12345 : want); /* untouched on failure */
	test_ctx_clear();
}

static void test_duration(void)
{
	char out[32];

	check_duration("90", 0, 90);
	check_duration("90s", 0, 90);
	check_duration("15m", 0, 900);
	check_duration("24h", 0, 86400);
	check_duration("56d", 0, 56 * 86400);
	check_duration("8w", 0, 8 * 604800);
	check_duration("0m", 0, 0);
	check_duration("0024h", 0, 86400);
	check_duration("15250284452471w", 0, INT64_C(15250284452471) * 604800);
	check_duration("15250284452472w", -ERANGE, 0);
	check_duration("99999999999999999999999999s", -ERANGE, 0);
	check_duration(NULL, AS_E_FIELD, 0);
	check_duration("", AS_E_FIELD, 0);
	check_duration("h", AS_E_FIELD, 0);
	check_duration("24H", AS_E_FIELD, 0);
	check_duration("24 h", AS_E_FIELD, 0);
	check_duration(" 24h", AS_E_FIELD, 0);
	check_duration("24hr", AS_E_FIELD, 0);
	check_duration("1d12h", AS_E_FIELD, 0);
	check_duration("1.5h", AS_E_FIELD, 0);
	check_duration("-1h", AS_E_FIELD, 0);
	check_duration("+1h", AS_E_FIELD, 0);
	check_duration("24x", AS_E_FIELD, 0);
	CHECK_STR(as_format_duration(out, 0), "0s");
	CHECK_STR(as_format_duration(out, 45), "45s");
	CHECK_STR(as_format_duration(out, 5400), "90m");
	CHECK_STR(as_format_duration(out, 3600), "1h");
	CHECK_STR(as_format_duration(out, 86400), "1d");
	CHECK_STR(as_format_duration(out, 129600), "36h");
	CHECK_STR(as_format_duration(out, 1209600), "2w");
	/* What is formatted parses back to the same duration. */
	for (int64_t s = 0; s < INT64_C(40000000); s += 77777) {
		int64_t back = -1;

		test_ctx("s = %" PRId64, s);
		if (CHECK_OK(as_parse_duration(as_format_duration(out, s), &back)))
			CHECK_EQ_INT(back, s);
	}
	test_ctx_clear();
}

int main(void)
{
	setenv("TZ", "KST-9", 1);
	tzset();
	TEST_RUN(test_int64);
	TEST_RUN(test_time_forms);
	TEST_RUN(test_time_rejected);
	TEST_RUN(test_format_time);
	TEST_RUN(test_format_time_zones);
	TEST_RUN(test_duration);
	return TEST_DONE();
}
