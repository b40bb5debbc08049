/*
 * parse.c - strict number and time parsing (see parse.h).
 *
 * Invariant: a parser either consumes its whole input and returns a value
 * inside the stated range, or fails without touching *out.  Any thread.
 */
#include "anshim/parse.h"
#include "anshim/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int as_parse_int64(const char *text, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!text || !*text || isspace((unsigned char)*text))
		return AS_E_FIELD;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return AS_E_FIELD;
	*out = v;
	return 0;
}

/* Read exactly n digits at *p into *v; advance.  0 or -1. */
static int take_digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

int as_parse_time(const char *text, int64_t *out)
{
	const char *p = text;
	struct tm tm = {0};
	int year, month, day, hour = 0, minute = 0, second = 0;
	int has_offset = 0, offset_sign = 1, off_h = 0, off_m = 0;
	time_t t;

	if (!text || !*text)
		return AS_E_TIME;
	if (strchr(text, '-') == NULL) {
		int64_t v;
		if (as_parse_int64(text, 0, 253402300799LL, &v))
			return AS_E_TIME;
		*out = v;
		return 0;
	}
	if (take_digits(&p, 4, &year) || *p++ != '-' || take_digits(&p, 2, &month) ||
	    *p++ != '-' || take_digits(&p, 2, &day))
		return AS_E_TIME;
	if (year < 1970 || month < 1 || month > 12 || day < 1 ||
	    day > days_in_month(year, month))
		return AS_E_TIME;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (take_digits(&p, 2, &hour) || *p++ != ':' || take_digits(&p, 2, &minute))
			return AS_E_TIME;
		if (*p == ':' && (p++, take_digits(&p, 2, &second)))
			return AS_E_TIME;
		if (hour > 23 || minute > 59 || second > 59)
			return AS_E_TIME;
		if (*p == 'Z') {
			has_offset = 1;
			p++;
		} else if (*p == '+' || *p == '-') {
			has_offset = 1;
			offset_sign = *p++ == '-' ? -1 : 1;
			if (take_digits(&p, 2, &off_h))
				return AS_E_TIME;
			if (*p == ':')
				p++;
			if (take_digits(&p, 2, &off_m) || off_h > 14 || off_m > 59)
				return AS_E_TIME;
		}
	}
	if (*p)
		return AS_E_TIME;
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = minute;
	tm.tm_sec = second;
	if (has_offset) {
		t = timegm(&tm);
		if (t == (time_t)-1)
			return AS_E_TIME;
		*out = (int64_t)t - offset_sign * (off_h * 3600 + off_m * 60);
		return 0;
	}
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1)
		return AS_E_TIME;
	*out = (int64_t)t;
	return 0;
}

static const struct {
	char suffix;
	int64_t seconds;
} duration_units[] = {{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};

#define N_DURATION_UNITS (sizeof duration_units / sizeof duration_units[0])

int as_parse_duration(const char *text, int64_t *out)
{
	char digits[24];
	size_t d = 0, k = N_DURATION_UNITS - 1; /* no unit: seconds */
	int64_t v;

	if (!text)
		return AS_E_FIELD;
	while (text[d] >= '0' && text[d] <= '9')
		d++;
	if (d == 0 || (text[d] && text[d + 1]))
		return AS_E_FIELD;
	if (text[d]) {
		k = 0;
		while (k < N_DURATION_UNITS && duration_units[k].suffix != text[d])
			k++;
		if (k == N_DURATION_UNITS)
			return AS_E_FIELD;
	}
	if (d >= sizeof digits)
		return -ERANGE;
	memcpy(digits, text, d);
	digits[d] = '\0';
	if (as_parse_int64(digits, 0, INT64_MAX / duration_units[k].seconds, &v))
		return -ERANGE;
	*out = v * duration_units[k].seconds;
	return 0;
}

char *as_format_duration(char out[32], int64_t s)
{
	size_t k = 0;

	while (s != 0 && k + 1 < N_DURATION_UNITS && s % duration_units[k].seconds != 0)
		k++;
	if (s == 0)
		k = N_DURATION_UNITS - 1;
	snprintf(out, 32, "%lld%c", (long long)(s / duration_units[k].seconds),
		 duration_units[k].suffix);
	return out;
}

static char *put_digits(char *p, long v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + n;
}

/* The proleptic Gregorian date and time of local seconds since the epoch
 * (year, month 0-11, day, hour, minute, second, day of the year and of
 * the week; other fields untouched). */
static void civil_time(int64_t local, struct tm *tm)
{
	int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	int64_t secs = local - days * 86400;
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* from March 1 */
	int64_t mp = (5 * doy + 2) / 153;
	int64_t month = mp < 10 ? mp + 3 : mp - 9;
	int64_t year = yoe + era * 400 + (month <= 2);
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	int64_t wday = (days + 4) % 7; /* 1970-01-01 was a Thursday */

	tm->tm_year = (int)(year - 1900);
	tm->tm_mon = (int)month - 1;
	tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->tm_hour = (int)(secs / 3600);
	tm->tm_min = (int)(secs / 60 % 60);
	tm->tm_sec = (int)(secs % 60);
	tm->tm_yday = (int)(month >= 3 ? doy + 59 + leap : doy - 306);
	tm->tm_wday = (int)(wday < 0 ? wday + 7 : wday);
}

static int same_civil(const struct tm *a, const struct tm *b)
{
	return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon && a->tm_mday == b->tm_mday &&
	       a->tm_hour == b->tm_hour && a->tm_min == b->tm_min && a->tm_sec == b->tm_sec &&
	       a->tm_yday == b->tm_yday && a->tm_wday == b->tm_wday;
}

/*
 * The zone over recent UTC hours, per thread: localtime_r takes a
 * process-wide lock on every call (and glibc parses the zone's rule text
 * again for each time past its last listed change), while a trace asks
 * thousands of times about a few dozen hours.  An hour is cached only if
 * localtime_r gives the same offset, DST flag and zone name at its first
 * and last second and plain arithmetic (t + offset) reproduces its answer
 * at both (so zones with leap seconds are never cached); an hour that does
 * not qualify is remembered as such and asks localtime_r.  ZONE_HOURS
 * slots, the hour number picking the slot.  The cache is keyed on TZ's
 * value (a change empties it): the programs that change the zone set TZ
 * and call tzset() together.
 */
#define ZONE_KEY_MAX 64
#define ZONE_HOURS 64
struct zone_hour {
	int filled;                   /* from holds */
	int valid;                    /* and the hour qualified: zone holds */
	int64_t from;                 /* the hour [from, from + 3600) */
	struct tm zone;               /* localtime_r's answer at from */
};
struct zone_cache {
	int keyed;                    /* tz_set and tz hold */
	int tz_set;                   /* TZ was set, to tz */
	char tz[ZONE_KEY_MAX];
	struct zone_hour hour[ZONE_HOURS];
};
static _Thread_local struct zone_cache zone_cache;

/* Whether the cache holds answers for TZ = tz (NULL: unset); emptied and
 * keyed anew if not.  0: tz cannot key it (too long). */
static int zone_cache_key(struct zone_cache *c, const char *tz)
{
	if (c->keyed && (tz ? c->tz_set && strcmp(c->tz, tz) == 0 : !c->tz_set))
		return 1;
	memset(c, 0, sizeof *c);
	if (tz && strlen(tz) >= ZONE_KEY_MAX)
		return 0;
	c->tz_set = tz != NULL;
	if (tz)
		strcpy(c->tz, tz);
	c->keyed = 1;
	return 1;
}

/* Fill z for the hour starting at from (see above). */
static void zone_hour_fill(struct zone_hour *z, int64_t from)
{
	time_t a = (time_t)from, b = (time_t)(from + 3599);
	struct tm ta, tb, ca, cb;

	z->from = from;
	z->filled = 1;
	z->valid = 0;
	if ((int64_t)a != from || (int64_t)b != from + 3599 || !localtime_r(&a, &ta) ||
	    !localtime_r(&b, &tb))
		return;
	if (ta.tm_gmtoff != tb.tm_gmtoff || ta.tm_isdst != tb.tm_isdst ||
	    !(ta.tm_zone == tb.tm_zone ||
	      (ta.tm_zone && tb.tm_zone && strcmp(ta.tm_zone, tb.tm_zone) == 0)))
		return;
	ca = ta;
	cb = tb;
	civil_time(from + ta.tm_gmtoff, &ca);
	civil_time(from + 3599 + tb.tm_gmtoff, &cb);
	if (!same_civil(&ca, &ta) || !same_civil(&cb, &tb))
		return;
	z->zone = ta;
	z->valid = 1;
}

int as_local_time(int64_t t, struct tm *out)
{
	time_t tt = (time_t)t;

	if (t > INT64_MIN + 3600 && t < INT64_MAX - 3600 && zone_cache_key(&zone_cache, getenv("TZ"))) {
		int64_t hour = t >= 0 ? t / 3600 : -((-t + 3599) / 3600);
		struct zone_hour *z = &zone_cache.hour[(uint64_t)hour % ZONE_HOURS];

		if (!z->filled || z->from != hour * 3600)
			zone_hour_fill(z, hour * 3600);
		if (z->valid) {
			*out = z->zone;
			civil_time(t + z->zone.tm_gmtoff, out);
			return 1;
		}
	}
	return (int64_t)tt == t && localtime_r(&tt, out) != NULL;
}

char *as_format_time(char out[32], int64_t t)
{
	struct tm tm;
	char zone[8];
	long year, off;

	if (!as_local_time(t, &tm)) {
		snprintf(out, 32, "@%lld", (long long)t);
		return out;
	}
	/* The common case written directly (a trace formats thousands of
	 * times); what strftime would print differently (years outside four
	 * digits, a zero, unknown or odd-second offset) goes to strftime. */
	year = (long)tm.tm_year + 1900;
	off = (long)tm.tm_gmtoff;
	if (year >= 1000 && year <= 9999 && tm.tm_isdst >= 0 && off != 0 && off % 60 == 0 &&
	    off > -100L * 3600 && off < 100L * 3600) {
		char *p = out;
		long a = off < 0 ? -off : off;

		p = put_digits(p, year, 4);
		*p++ = '-';
		p = put_digits(p, tm.tm_mon + 1, 2);
		*p++ = '-';
		p = put_digits(p, tm.tm_mday, 2);
		*p++ = 'T';
		p = put_digits(p, tm.tm_hour, 2);
		*p++ = ':';
		p = put_digits(p, tm.tm_min, 2);
		*p++ = ':';
		p = put_digits(p, tm.tm_sec, 2);
		*p++ = off < 0 ? '-' : '+';
		p = put_digits(p, a / 3600, 2);
		*p++ = ':';
		p = put_digits(p, a / 60 % 60, 2);
		*p = '\0';
		return out;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof zone, "%z", &tm); /* +0900 */
	if (strlen(zone) == 5) {
		size_t n = strlen(out);
		snprintf(out + n, 32 - n, "%.3s:%.2s", zone, zone + 3);
	}
	return out;
}

/* See parse.h.  Overlong forms, surrogates and code points above
 * U+10FFFF are not well formed. */
size_t as_utf8_char(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len;

	if (c < 0x80)
		return c >= 0x20 && c != 0x7F ? 1 : 0;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	if (c == 0xC2 && s[1] <= 0x9F) /* U+0080..U+009F, the C1 controls */
		return 0;
	return len;
}
