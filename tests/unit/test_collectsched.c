/*
 * test_collectsched.c - the collection schedule by venue category
 * (cloud/collectsched.c): which policy was in force at a time, each
 * category's level in it, the default level 3, times before the first
 * policy, an empty history, reloading only a changed file, and a bad line
 * that leaves the schedule as it was.
 */
#include "test.h"

#include "collectsched.h"

#include <stdio.h>
#include <unistd.h>

static char dir[256], path[300];

static void write_history(const char *text)
{
	char tmp[320];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
		abort();
}

/* 2026-01-01T00:00:00+09:00 is 1767193200. */
#define T0 INT64_C(1767193200)

static void test_periods(void)
{
	struct cl_collect_sched s = {0};
	char err[256];

	write_history(
		"{\"seq\":1,\"issued\":\"2026-01-01T00:00:00+09:00\",\"level\":3,\"who\":\"a\"}\n"
		"{\"seq\":2,\"issued\":\"2026-01-01T01:00:00+09:00\",\"level\":2,\"who\":\"a\","
		"\"categories\":{\"bar\":2,\"cafe\":3}}\n"
		"\n"
		"{\"seq\":3,\"issued\":\"2026-01-01T02:00:00+09:00\",\"level\":2,\"who\":\"a\","
		"\"categories\":{}}\n");
	CHECK_RC(cl_collect_sched_refresh(&s, path, err, sizeof err), 1);
	CHECK_EQ_INT(s.n, 3);
	/* The first policy (level 3, no table): everyone collects. */
	CHECK_EQ_INT(cl_collect_sched_collecting(&s, "bar", T0 + 10), 1);
	CHECK_EQ_INT(cl_collect_sched_collecting(&s, "cafe", T0 + 10), 1);
	CHECK_EQ_INT(cl_collect_sched_collecting(&s, NULL, T0), 1);
	/* Before the first policy: judged by it. */
	CHECK_EQ_INT(cl_collect_sched_collecting(&s, "cafe", T0 - 86400), 1);
	/* Level 2 with bar=2, cafe=3: bar yes, cafe no, no category no. */
	CHECK_EQ_INT(cl_collect_sched_collecting(&s, "bar", T0 + 3600), 1);
	CHECK_EQ_INT(cl_collect_sched_collecting(&s, "cafe", T0 + 3600), 0);
	CHECK_EQ_INT(cl_collect_sched_collecting(&s, "", T0 + 3600 + 100), 0);
	CHECK_EQ_INT(cl_collect_sched_collecting(&s, "gym", T0 + 3600 + 100), 0);
	/* Level 2, table emptied: bar no longer collects. */
	CHECK_EQ_INT(cl_collect_sched_collecting(&s, "bar", T0 + 7200), 0);
	CHECK_EQ_INT(cl_collect_sched_collecting(&s, "bar", T0 + 7199), 1);
	/* Unchanged file: not read again. */
	CHECK_RC(cl_collect_sched_refresh(&s, path, err, sizeof err), 0);
	cl_collect_sched_free(&s);
}

static void test_empty_and_bad(void)
{
	struct cl_collect_sched s = {0};
	char err[256] = "";

	unlink(path);
	CHECK_RC(cl_collect_sched_refresh(&s, path, err, sizeof err), 1);
	CHECK_EQ_INT(s.n, 0);
	CHECK_EQ_INT(cl_collect_sched_collecting(&s, "cafe", T0), 1); /* no basis: nothing refused */
	write_history("{\"issued\":\"2026-01-01T00:00:00+09:00\",\"level\":2}\n");
	CHECK_RC(cl_collect_sched_refresh(&s, path, err, sizeof err), 1);
	CHECK_EQ_INT(cl_collect_sched_collecting(&s, "cafe", T0), 0);
	/* A bad line: an error naming the file and line; the schedule stays. */
	write_history("{\"issued\":\"2026-01-01T00:00:00+09:00\",\"level\":2}\n"
		      "{\"issued\":\"2026-01-01T00:00:00+09:00\",\"level\":7}\n");
	CHECK_ERR(cl_collect_sched_refresh(&s, path, err, sizeof err));
	CHECK(strstr(err, "line 2") != NULL);
	CHECK_EQ_INT(s.n, 1);
	write_history("{\"issued\":\"2026-01-01T00:00:00+09:00\",\"level\":3,"
		      "\"categories\":{\"Bar\":2}}\n");
	CHECK_ERR(cl_collect_sched_refresh(&s, path, err, sizeof err));
	write_history("not json\n");
	CHECK_ERR(cl_collect_sched_refresh(&s, path, err, sizeof err));
	CHECK_EQ_INT(s.n, 1);
	cl_collect_sched_free(&s);
}

int main(void)
{
	snprintf(dir, sizeof dir, "%s/anshim-collectsched.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/policy-history", dir);
	TEST_RUN(test_periods);
	TEST_RUN(test_empty_and_bad);
	unlink(path);
	rmdir(dir);
	return TEST_DONE();
}
