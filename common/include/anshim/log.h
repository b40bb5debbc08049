/*
 * log.h - leveled logging to stderr for daemons and tools.
 *
 * Lines carry a syslog priority prefix ("<3>") when stderr is connected to
 * the systemd journal (JOURNAL_STREAM set), and "ident: level: " otherwise.
 * Never pass personal data, keys or raw passes to these functions.
 */
#ifndef ANSHIM_LOG_H
#define ANSHIM_LOG_H

#include <stdint.h>

enum as_log_level {
	AS_LOG_ERR = 3,
	AS_LOG_WARNING = 4,
	AS_LOG_NOTICE = 5,
	AS_LOG_INFO = 6,
	AS_LOG_DEBUG = 7
};

/* Set the program name shown in lines (borrowed; must outlive logging) and
 * the most verbose level that is printed (default AS_LOG_INFO).  Call at
 * start-up, before threads exist. */
void as_log_init(const char *ident, int max_level);

/* Parse "error", "warning", "notice", "info", "debug": level or -1. */
int as_log_level_parse(const char *name);

/* Print one line at level.  Thread-safe (one fprintf per line). */
void as_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A condition that goes on (the broker unreachable, a flood of bad input)
 * is logged once when it starts, then again after AS_LOG_BACKOFF_FIRST_MS,
 * the interval doubling up to AS_LOG_BACKOFF_MAX_MS, so the log tells the
 * operator without drowning the journal.  Zero-initialise; the owner's
 * thread only.
 */
#define AS_LOG_BACKOFF_FIRST_MS 60000u   /* 1 min */
#define AS_LOG_BACKOFF_MAX_MS 3600000u   /* 1 h */

struct as_log_backoff {
	uint64_t next_ms;     /* no report before this (0: report now) */
	uint64_t interval_ms; /* the wait after the last report */
	uint64_t held;        /* occurrences not reported since the last report */
	uint64_t total;       /* occurrences since the condition started */
};

/* One more occurrence at now_ms (any monotonic clock in ms): returns 1 when
 * it should be logged now, with *held set to the occurrences left out since
 * the previous report (0 for the first), else 0. */
int as_log_backoff_due(struct as_log_backoff *b, uint64_t now_ms, uint64_t *held);

/* The condition ended (or changed cause): the next occurrence is reported
 * at once.  Returns how many occurrences it had in all. */
uint64_t as_log_backoff_reset(struct as_log_backoff *b);

#endif
