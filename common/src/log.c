/*
 * log.c - leveled stderr logging (see log.h).
 *
 * Each line is formatted into a local buffer and written with one fputs, so
 * lines from different threads do not interleave.  Configuration is set
 * once at start-up; afterwards any thread may log.
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
