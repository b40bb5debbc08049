/*
 * test_log.c - leveled logging (common/src/log.c): level names, the line
 * format on a terminal and under the journal (JOURNAL_STREAM), filtering,
 * level clamping and long messages.  stderr is captured in a temp file.
 */
#include "test.h"

#include "anshim/log.h"

static char out[4096];

/* Run as_log(level, "%s", msg) with stderr captured into out; returns
 * the number of bytes written. */
static size_t capture(int level, const char *msg)
{
	FILE *tmp = tmpfile();
	int saved;
	size_t n;

	out[0] = '\0';
	if (!tmp)
		return 0;
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	as_log(level, "%s", msg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof out - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return n;
}

static void test_level_names(void)
{
	CHECK_EQ_INT(as_log_level_parse("error"), AS_LOG_ERR);
	CHECK_EQ_INT(as_log_level_parse("warning"), AS_LOG_WARNING);
	CHECK_EQ_INT(as_log_level_parse("notice"), AS_LOG_NOTICE);
	CHECK_EQ_INT(as_log_level_parse("info"), AS_LOG_INFO);
	CHECK_EQ_INT(as_log_level_parse("debug"), AS_LOG_DEBUG);
	CHECK_EQ_INT(as_log_level_parse("warn"), -1);
	CHECK_EQ_INT(as_log_level_parse("ERROR"), -1);
	CHECK_EQ_INT(as_log_level_parse(""), -1);
	CHECK_EQ_INT(as_log_level_parse("info "), -1);
}

static void test_terminal_format(void)
{
	unsetenv("JOURNAL_STREAM");
	as_log_init("anshim-test", AS_LOG_INFO);
	capture(AS_LOG_INFO, "hello 5");
	CHECK_STR(out, "anshim-test: info: hello 5\n");
	capture(AS_LOG_ERR, "disk full");
	CHECK_STR(out, "anshim-test: error: disk full\n");
	capture(AS_LOG_WARNING, "w");
	CHECK_STR(out, "anshim-test: warning: w\n");
	capture(AS_LOG_NOTICE, "n");
	CHECK_STR(out, "anshim-test: notice: n\n");
	/* Above the maximum level: nothing. */
	CHECK_EQ_INT(capture(AS_LOG_DEBUG, "quiet"), 0);
	as_log_init(NULL, AS_LOG_DEBUG); /* NULL keeps the ident */
	capture(AS_LOG_DEBUG, "loud");
	CHECK_STR(out, "anshim-test: debug: loud\n");
	/* Out-of-range levels are clamped. */
	capture(0, "emergency");
	CHECK_STR(out, "anshim-test: error: emergency\n");
	as_log_init("anshim-test", 9);
	capture(9, "trace");
	CHECK_STR(out, "anshim-test: debug: trace\n");
}

static void test_journal_format(void)
{
	setenv("JOURNAL_STREAM", "8:12345", 1);
	as_log_init("anshim-test", AS_LOG_INFO);
	capture(AS_LOG_INFO, "hello");
	CHECK_STR(out, "<6>hello\n");
	capture(AS_LOG_ERR, "bad");
	CHECK_STR(out, "<3>bad\n");
	capture(1, "clamped");
	CHECK_STR(out, "<3>clamped\n");
	unsetenv("JOURNAL_STREAM");
}

static void test_long_lines(void)
{
	static char msg[5000];

	memset(msg, 'm', sizeof msg - 1);
	msg[sizeof msg - 1] = '\0';
	unsetenv("JOURNAL_STREAM");
	as_log_init("anshim-test", AS_LOG_INFO);
	/* Cut to one 1024-byte line, still ending in a newline. */
	CHECK_EQ_INT(capture(AS_LOG_INFO, msg), 1023);
	CHECK(out[1022] == '\n');
	CHECK(strncmp(out, "anshim-test: info: mmm", 22) == 0);
	CHECK_EQ_INT(capture(AS_LOG_INFO, "%s %d %n"), 28); /* no format injection */
	CHECK_STR(out, "anshim-test: info: %s %d %n\n");

	{
		/* An ident that fills the line buffer must not make as_log
		 * write past it (was a bug: snprintf's result unclamped). */
		static char ident[1100];

		memset(ident, 'i', 1015);
		ident[1015] = '\0';
		as_log_init(ident, AS_LOG_INFO);
		as_log(AS_LOG_INFO, "x"); /* to the real stderr, for the report */
		as_log_init("anshim-test", AS_LOG_INFO);
	}
}

/* A condition retried every second for four hours: reported at once,
 * then after 1, 2, 4, 8, 16, 32 min, then hourly (four hours); every occurrence is
 * either reported or counted as held. */
static void test_backoff(void)
{
	struct as_log_backoff b = {0};
	uint64_t held = 99, reported = 0, held_sum = 0, last = 0;
	uint64_t gaps[16];
	size_t n_gaps = 0;

	for (uint64_t t = 0; t < 4 * 3600; t++) {
		if (as_log_backoff_due(&b, t * 1000, &held)) {
			if (reported)
				gaps[n_gaps < 16 ? n_gaps++ : 15] = t - last;
			else
				CHECK_EQ_INT(held, 0);
			held_sum += held + 1;
			reported++;
			last = t;
		}
	}
	CHECK_EQ_INT(b.total, 4 * 3600);
	CHECK_EQ_INT(held_sum + b.held, 4 * 3600);
	if (!CHECK(n_gaps >= 8))
		return;
	CHECK_EQ_INT(gaps[0], 60);
	CHECK_EQ_INT(gaps[1], 120);
	CHECK_EQ_INT(gaps[2], 240);
	CHECK_EQ_INT(gaps[5], 1920);
	CHECK_EQ_INT(gaps[6], 3600);
	CHECK_EQ_INT(gaps[7], 3600);
	/* A reset (the condition ended) reports the next occurrence at once. */
	CHECK_EQ_INT(as_log_backoff_reset(&b), 4 * 3600);
	CHECK(as_log_backoff_due(&b, 4 * 3600 * 1000 + 5, &held));
	CHECK_EQ_INT(held, 0);
	CHECK(!as_log_backoff_due(&b, 4 * 3600 * 1000 + 6, &held));
}

int main(void)
{
	TEST_RUN(test_level_names);
	TEST_RUN(test_terminal_format);
	TEST_RUN(test_journal_format);
	TEST_RUN(test_long_lines);
	TEST_RUN(test_backoff);
	return TEST_DONE();
}
