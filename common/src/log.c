/*
 * log.c - leveled stderr logging (see log.h).
 *
 * Each line is formatted into a local buffer and written with one fputs, so
 * lines from different threads do not interleave.  Configuration is set
 * once at start-up; afterwards any thread may log.  The back-off of
 * recurring reports is plain data owned by its caller.
 */
#include "anshim/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_ident = "anshim";
static int log_max_level = AS_LOG_INFO;
static int log_to_journal;

static const char *const level_names[] = {
	[AS_LOG_ERR] = "error", [AS_LOG_WARNING] = "warning", [AS_LOG_NOTICE] = "notice",
	[AS_LOG_INFO] = "info", [AS_LOG_DEBUG] = "debug",
};

void as_log_init(const char *ident, int max_level)
{
	if (ident)
		log_ident = ident;
	log_max_level = max_level;
	log_to_journal = getenv("JOURNAL_STREAM") != NULL;
}

int as_log_level_parse(const char *name)
{
	for (int i = AS_LOG_ERR; i <= AS_LOG_DEBUG; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

void as_log(int level, const char *fmt, ...)
{
	char line[1024];
	int n;
	va_list ap;

	if (level > log_max_level)
		return;
	if (level < AS_LOG_ERR)
		level = AS_LOG_ERR;
	if (level > AS_LOG_DEBUG)
		level = AS_LOG_DEBUG;
	if (log_to_journal)
		n = snprintf(line, sizeof line, "<%d>", level);
	else
		n = snprintf(line, sizeof line, "%s: %s: ", log_ident, level_names[level]);
	/* A long ident must not push the message past the buffer. */
	if (n < 0 || (size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n] = '\n';
	line[n + 1] = '\0';
	fputs(line, stderr);
}

int as_log_backoff_due(struct as_log_backoff *b, uint64_t now_ms, uint64_t *held)
{
	b->total++;
	if (b->next_ms && now_ms < b->next_ms) {
		b->held++;
		return 0;
	}
	*held = b->held;
	b->held = 0;
	if (!b->interval_ms)
		b->interval_ms = AS_LOG_BACKOFF_FIRST_MS;
	else if (b->interval_ms < AS_LOG_BACKOFF_MAX_MS / 2)
		b->interval_ms *= 2;
	else
		b->interval_ms = AS_LOG_BACKOFF_MAX_MS;
	b->next_ms = now_ms + b->interval_ms;
	if (!b->next_ms)
		b->next_ms = 1;
	return 1;
}

uint64_t as_log_backoff_reset(struct as_log_backoff *b)
{
	uint64_t total = b->total;

	memset(b, 0, sizeof *b);
	return total;
}
