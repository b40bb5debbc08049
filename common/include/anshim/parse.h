/*
 * parse.h - strict parsers for numbers and times given on command lines, in
 * config files and in CSV imports.  No atoi: every value is range-checked
 * and the whole string must be consumed.
 */
#ifndef ANSHIM_PARSE_H
#define ANSHIM_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Parse a decimal integer in [min, max].  Returns 0, or AS_E_FIELD when the
 * text is empty, has junk, or is out of range.  Pure; any thread. */
int as_parse_int64(const char *text, int64_t min, int64_t max, int64_t *out);

/*
 * Parse a point in time to unix seconds.  Accepted forms:
 *   1767225600                      unix seconds
 *   2026-11-28T10:15:00+09:00       ISO 8601 with offset (also Z, +0900,
 *   2026-11-28 10:15:00+09:00       a space instead of T, seconds optional)
 *   2026-11-28T10:15                local time (the process's TZ)
 *   2026-11-28                      local midnight
 * Returns 0 or AS_E_TIME.  Any thread (uses mktime for local forms).
 */
int as_parse_time(const char *text, int64_t *out);

/*
 * Parse a duration: decimal digits and at most one unit, s m h d w
 * ("90" and "90s" are seconds; "15m", "24h", "56d", "8w") to seconds.
 * Returns 0, AS_E_FIELD when the text is not of that form, or -ERANGE when
 * it is a duration too long for int64 seconds.  Pure; any thread.
 */
int as_parse_duration(const char *text, int64_t *out);

/* Format s seconds (>= 0) in the largest unit that holds them exactly
 * ("1h", "90m", "2d", "45s"), as as_parse_duration reads it, into out (at
 * least 32 bytes).  Returns out.  Pure; any thread. */
char *as_format_duration(char out[32], int64_t s);

/* localtime_r for t (the process's TZ) into *out: 1, or 0 if t has no
 * local time.  Within an hour it has just answered for, a thread gets the
 * same fields without the C library's zone lock (see parse.c).  Any
 * thread. */
int as_local_time(int64_t t, struct tm *out);

/* Format t as "2026-11-28T10:15:00+09:00" in local time (the process's TZ)
 * into out (at least 32 bytes).  Returns out. */
char *as_format_time(char out[32], int64_t t);

/* Length (1-4) of the well-formed UTF-8 character at s (n > 0 bytes
 * left), or 0 if it is malformed or a control character (C0, DEL, C1).
 * Pure; any thread. */
size_t as_utf8_char(const unsigned char *s, size_t n);

#endif
