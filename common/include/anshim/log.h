/*
 * log.h - leveled logging to stderr for daemons and tools.
 *
 * Lines carry a syslog priority prefix ("<3>") when stderr is connected to
 * the systemd journal (JOURNAL_STREAM set), and "ident: level: " otherwise.
 * Never pass personal data, keys or raw passes to these functions.
 */
#ifndef ANSHIM_LOG_H
#define ANSHIM_LOG_H

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

#endif
