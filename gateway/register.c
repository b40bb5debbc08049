/*
 * register.c - the paper visitor register: bounded CSV reading, entry
 * validation, the import digest and the streaming file importer (see
 * register.h for the accepted formats and the rules).
 *
 * The CSV reader is a byte-at-a-time state machine over a fixed input
 * buffer.  Every byte it reads belongs to exactly one record; a rejected
 * record is still read to its end with the quote rules applied, so the next
 * record starts where a spreadsheet would start it.  A record's text lands
 * in a fixed buffer that cannot overflow: at most GW_CSV_RECORD_MAX content
 * bytes are stored (a longer record stops being stored and is rejected) plus
 * one NUL per field, and fields beyond GW_CSV_FIELDS_MAX are never stored.
 *
 * Invariants:
 *   - no reason string contains a name or a phone number: names and phones
 *     are never quoted back, and other values only when they have the shape
 *     of a date, time or headcount and do not parse as a phone number;
 *   - plaintext contact data lives only in the reader's buffers (wiped when
 *     the next record is read and at close), in the caller's entry, and in
 *     stack copies here that are wiped before return.
 *
 * No global state.  Every function runs on its caller's thread; a reader is
 * used by one thread at a time.
 */
#include "register.h"

#include "anshim/error.h"
#include "anshim/parse.h"
#include "anshim/phone.h"
#include "anshim/record.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- CSV reader --------------------------------------------------------- */

#define CSV_INBUF 8192

struct gw_csv_reader {
	FILE *in;
	unsigned line;  /* physical line of the next unread byte, 1-based */
	int started;    /* BOM check done */
	int eof;
	int err;        /* sticky read error, -errno */
	size_t pos, len; /* unread bytes are inbuf[pos..len) */
	unsigned char inbuf[CSV_INBUF];
	char rec[GW_CSV_RECORD_MAX + GW_CSV_FIELDS_MAX + 1];
};

int gw_csv_open(struct gw_csv_reader **r, FILE *in)
{
	struct gw_csv_reader *c = calloc(1, sizeof *c);

	*r = NULL;
	if (!c)
		return -ENOMEM;
	c->in = in;
	c->line = 1;
	*r = c;
	return 0;
}

void gw_csv_close(struct gw_csv_reader *r)
{
	if (!r)
		return;
	sodium_memzero(r, sizeof *r);
	free(r);
}

/* Refill inbuf when empty.  Returns 1 if a byte is available, else 0 (end
 * of input, or an error recorded in r->err). */
static int csv_fill(struct gw_csv_reader *r)
{
	size_t n;

	if (r->pos < r->len)
		return 1;
	if (r->eof || r->err)
		return 0;
	sodium_memzero(r->inbuf, r->len);
	r->pos = r->len = 0;
	errno = 0;
	n = fread(r->inbuf, 1, sizeof r->inbuf, r->in);
	if (n == 0) {
		if (ferror(r->in))
			r->err = errno > 0 && errno < 1000 ? -errno : -EIO;
		else
			r->eof = 1;
		return 0;
	}
	r->len = n;
	return 1;
}

static int csv_getc(struct gw_csv_reader *r)
{
	return csv_fill(r) ? r->inbuf[r->pos++] : EOF;
}

static int csv_peek(struct gw_csv_reader *r)
{
	return csv_fill(r) ? r->inbuf[r->pos] : EOF;
}

static void csv_newline(struct gw_csv_reader *r)
{
	if (r->line < UINT_MAX)
		r->line++;
}

/* Skip a UTF-8 BOM at the very start.  fread may return short counts on
 * pipes, so gather up to three bytes first (at most three reads). */
static void csv_skip_bom(struct gw_csv_reader *r)
{
	for (int i = 0; i < 3 && r->len < 3 && !r->eof && !r->err; i++) {
		size_t n;

		errno = 0;
		n = fread(r->inbuf + r->len, 1, sizeof r->inbuf - r->len, r->in);
		if (n == 0) {
			if (ferror(r->in))
				r->err = errno > 0 && errno < 1000 ? -errno : -EIO;
			else
				r->eof = 1;
		}
		r->len += n;
	}
	if (r->len >= 3 && memcmp(r->inbuf, "\xEF\xBB\xBF", 3) == 0)
		r->pos = 3;
	r->started = 1;
}

enum csv_state {
	CSV_START,    /* at the start of a field, blanks skipped so far */
	CSV_UNQUOTED, /* inside an unquoted field */
	CSV_QUOTED,   /* inside a quoted field */
	CSV_QUOTE,    /* just after a '"' inside a quoted field */
	CSV_AFTER     /* blanks after a closing quote */
};

/* One record in progress. */
struct csv_rec {
	struct gw_csv_reader *r;
	size_t out;         /* bytes stored in r->rec */
	size_t start;       /* where the current field's text starts */
	unsigned nf;        /* fields completed */
	size_t offs[GW_CSV_FIELDS_MAX];
	int quoted;         /* the current field was quoted */
	int any_quoted;
	const char *why;    /* first problem found, or NULL */
};

static void rec_reject(struct csv_rec *k, const char *why)
{
	if (!k->why)
		k->why = why;
}

static void rec_put(struct csv_rec *k, int c)
{
	if (k->why || k->out >= sizeof k->r->rec - 1)
		return;
	k->r->rec[k->out++] = (char)c;
}

static void rec_end_field(struct csv_rec *k)
{
	if (k->why)
		return;
	if (k->nf == GW_CSV_FIELDS_MAX) {
		rec_reject(k, "row: more than 16 fields (merge or delete columns)");
		return;
	}
	if (!k->quoted)
		while (k->out > k->start &&
		       (k->r->rec[k->out - 1] == ' ' || k->r->rec[k->out - 1] == '\t'))
			k->out--;
	k->r->rec[k->out++] = '\0';
	k->offs[k->nf++] = k->start;
	k->start = k->out;
	k->quoted = 0;
}

/*
 * Read one record.  Returns 1 (row), 2 (a blank line, skipped by the
 * caller), 0 (end of input), AS_E_CSV (malformed record, consumed) or
 * -errno.  Each loop turn consumes one byte, so the loop is bounded by the
 * input; the bytes stored are bounded as described at the top.
 */
static int csv_record(struct gw_csv_reader *r, struct gw_csv_row *row)
{
	struct csv_rec k = {.r = r};
	enum csv_state st = CSV_START;
	size_t raw = 0;
	int c;

	row->line = r->line;
	c = csv_getc(r);
	if (c == EOF)
		return r->err ? r->err : 0;
	for (;; c = csv_getc(r)) {
		int end = 0;

		if (c == EOF && r->err)
			return r->err;
		if (c == EOF && st == CSV_QUOTED) {
			rec_reject(&k, "row: a quoted field is never closed (look for an "
				       "unmatched '\"')");
			break;
		}
		if (st != CSV_QUOTED && (c == EOF || c == '\n' || c == '\r')) {
			/* End of record. */
			if (c == '\r' && csv_peek(r) == '\n')
				csv_getc(r);
			if (c != EOF)
				csv_newline(r);
			end = 1;
		} else if (++raw > GW_CSV_RECORD_MAX) {
			rec_reject(&k, "row: longer than 4096 bytes (look for an unmatched "
				       "'\"', or shorten the row)");
		} else if (c == '\0') {
			rec_reject(&k, "row: contains a NUL byte (is this a text CSV file?)");
		}
		if (end) {
			rec_end_field(&k);
			break;
		}
		switch (st) {
		case CSV_START:
			if (c == ' ' || c == '\t')
				break;
			if (c == '"') {
				k.quoted = k.any_quoted = 1;
				st = CSV_QUOTED;
			} else if (c == ',') {
				rec_end_field(&k);
			} else {
				rec_put(&k, c);
				st = CSV_UNQUOTED;
			}
			break;
		case CSV_UNQUOTED:
			if (c == ',') {
				rec_end_field(&k);
				st = CSV_START;
			} else if (c == '"') {
				rec_reject(&k, "row: a '\"' inside an unquoted field (put the "
					       "field in quotes and write the '\"' twice)");
			} else {
				rec_put(&k, c);
			}
			break;
		case CSV_QUOTED:
			if (c == '"') {
				st = CSV_QUOTE;
				break;
			}
			if (c == '\n' || (c == '\r' && csv_peek(r) != '\n'))
				csv_newline(r);
			rec_put(&k, c);
			break;
		case CSV_QUOTE:
			if (c == '"') {
				rec_put(&k, '"');
				st = CSV_QUOTED;
				break;
			}
			/* The quote closed the field. */
			/* fall through */
		case CSV_AFTER:
			if (c == ',') {
				rec_end_field(&k);
				st = CSV_START;
			} else if (c == ' ' || c == '\t') {
				st = CSV_AFTER;
			} else {
				rec_reject(&k, "row: text after a closing '\"' (put the whole "
					       "field in quotes and write inner '\"' twice)");
				st = CSV_UNQUOTED;
			}
			break;
		}
	}
	if (k.why) {
		row->why = k.why;
		return AS_E_CSV;
	}
	if (k.nf == 1 && !k.any_quoted && r->rec[0] == '\0')
		return 2;
	for (unsigned i = 0; i < k.nf; i++)
		row->fields[i] = r->rec + k.offs[i];
	row->n_fields = k.nf;
	return 1;
}

int gw_csv_next(struct gw_csv_reader *r, struct gw_csv_row *row)
{
	int rc;

	memset(row, 0, sizeof *row);
	sodium_memzero(r->rec, sizeof r->rec); /* the last row's text */
	if (r->err)
		return r->err;
	if (!r->started)
		csv_skip_bom(r);
	/* Each turn consumes at least one byte: bounded by the input. */
	do {
		rc = csv_record(r, row);
	} while (rc == 2);
	return rc;
}

/* ---- reasons ------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static void why_set(char *why, size_t n,
							   const char *fmt, ...)
{
	va_list ap;

	if (!why || n == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
}

/* A value with blanks around it removed. */
struct span {
	const char *p;
	size_t n;
};

static struct span span_trim(const char *s)
{
	struct span v = {"", 0};

	if (!s)
		return v;
	while (*s == ' ' || *s == '\t')
		s++;
	v.p = s;
	v.n = strlen(s);
	while (v.n > 0 && (s[v.n - 1] == ' ' || s[v.n - 1] == '\t'))
		v.n--;
	return v;
}

/*
 * Quote v back as "'v' is" when it looks like the kind of value expected:
 * at most maxlen bytes, only digits and characters of seps, at least
 * min_seps of those, and not a phone number.  Otherwise "the value is", so
 * a name or phone typed into the wrong column never reaches a log.
 */
static const char *echo(char buf[24], struct span v, const char *seps, int min_seps,
			size_t maxlen)
{
	char text[16], phone[AS_PHONE_MAX + 1];
	int nseps = 0, ok = v.n > 0 && v.n <= maxlen && v.n < sizeof text;

	for (size_t i = 0; ok && i < v.n; i++) {
		if (strchr(seps, v.p[i]) && v.p[i] != '\0')
			nseps++;
		else if (v.p[i] < '0' || v.p[i] > '9')
			ok = 0;
	}
	if (ok && nseps >= min_seps) {
		memcpy(text, v.p, v.n);
		text[v.n] = '\0';
		if (as_phone_normalize(phone, text) != 0) {
			snprintf(buf, 24, "'%s' is", text);
			return buf;
		}
	}
	return "the value is";
}

/* ---- field parsers ------------------------------------------------------ */

/* Read min..max digits at *p (before end) into *v; advance.  0 or -1. */
static int take_digits(const char **p, const char *end, int min, int max, int *v)
{
	int n = 0;

	*v = 0;
	while (*p < end && n < max && **p >= '0' && **p <= '9') {
		*v = *v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n >= min ? 0 : -1;
}

struct ymd {
	int y, m, d;
};

struct hms {
	int h, m, s;
};

/* A date in one of the three accepted spellings, checked against the
 * calendar by as_parse_time.  0 or AS_E_TIME. */
static int parse_date(struct span v, struct ymd *out)
{
	const char *p = v.p, *end = v.p + v.n;
	char iso[48];
	int64_t t;
	char sep;

	if (take_digits(&p, end, 4, 4, &out->y) || p == end || !strchr("-./", *p))
		return AS_E_TIME;
	sep = *p++;
	if (take_digits(&p, end, 1, 2, &out->m) || p == end || *p++ != sep ||
	    take_digits(&p, end, 1, 2, &out->d) || p != end)
		return AS_E_TIME;
	if (out->m < 1 || out->m > 12 || out->d < 1)
		return AS_E_TIME;
	snprintf(iso, sizeof iso, "%04d-%02d-%02d", out->y, out->m, out->d);
	return as_parse_time(iso, &t) == 0 ? 0 : AS_E_TIME;
}

/* H:MM or H:MM:SS (H one or two digits), 24-hour.  0 or AS_E_TIME. */
static int parse_clock(struct span v, struct hms *out)
{
	const char *p = v.p, *end = v.p + v.n;

	out->s = 0;
	if (take_digits(&p, end, 1, 2, &out->h) || p == end || *p++ != ':' ||
	    take_digits(&p, end, 2, 2, &out->m))
		return AS_E_TIME;
	if (p < end && (*p++ != ':' || take_digits(&p, end, 2, 2, &out->s)))
		return AS_E_TIME;
	if (p != end || out->h > 23 || out->m > 59 || out->s > 59)
		return AS_E_TIME;
	return 0;
}

/* Local date + clock to unix seconds via as_parse_time; a time skipped by
 * a daylight-saving change (mktime moves it) is refused.  0 or AS_E_TIME. */
static int local_time(const struct ymd *d, const struct hms *c, int64_t *out)
{
	char iso[48];
	struct tm tm;
	time_t tt;

	snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d", d->y, d->m, d->d, c->h,
		 c->m, c->s);
	if (as_parse_time(iso, out) != 0)
		return AS_E_TIME;
	tt = (time_t)*out;
	if (!localtime_r(&tt, &tm) || tm.tm_hour != c->h || tm.tm_min != c->m ||
	    tm.tm_mday != d->d)
		return AS_E_TIME;
	return 0;
}

static int check_date(struct span v, struct ymd *d, char *why, size_t n)
{
	char e[24];

	if (v.n == 0) {
		why_set(why, n, "date: empty (write the visit date as YYYY-MM-DD)");
		return AS_E_TIME;
	}
	if (parse_date(v, d) != 0) {
		why_set(why, n, "date: %s not a date (use YYYY-MM-DD, YYYY.MM.DD or "
			"YYYY/MM/DD)", echo(e, v, "-./", 2, 10));
		return AS_E_TIME;
	}
	return 0;
}

static int check_clock(const char *field, struct span v, int optional, struct hms *c,
		       char *why, size_t n)
{
	char e[24];

	if (v.n == 0 && !optional) {
		why_set(why, n, "%s: empty (write the time as HH:MM, 24-hour)", field);
		return AS_E_TIME;
	}
	if (v.n > 0 && parse_clock(v, c) != 0) {
		why_set(why, n, "%s: %s not a time (use HH:MM or HH:MM:SS, 24-hour%s)",
			field, echo(e, v, ":", 1, 8), optional ? ", or leave it empty" : "");
		return AS_E_TIME;
	}
	return 0;
}

/* Never quotes the name back. */
static int check_name(struct span v, char *why, size_t n)
{
	const unsigned char *s = (const unsigned char *)v.p;

	if (v.n == 0) {
		why_set(why, n, "name: empty (write the visitor's name)");
		return AS_E_FIELD;
	}
	if (v.n > AS_CONTACT_NAME_MAX) {
		why_set(why, n, "name: %zu bytes, at most %d allowed (shorten it)", v.n,
			AS_CONTACT_NAME_MAX);
		return AS_E_FIELD;
	}
	for (size_t i = 0; i < v.n;) {
		size_t len = as_utf8_char(s + i, v.n - i);

		if (len == 0) {
			if (s[i] < 0x20 || s[i] == 0x7F ||
			    (s[i] == 0xC2 && i + 1 < v.n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F))
				why_set(why, n, "name: contains a control character (remove it)");
			else
				why_set(why, n, "name: not valid UTF-8 (save the file as "
					"\"CSV UTF-8\", not in the legacy Korean encoding)");
			return AS_E_FIELD;
		}
		i += len;
	}
	return 0;
}

/* Never quotes the phone back. */
static int check_phone(struct span v, char *why, size_t n)
{
	char text[64], phone[AS_PHONE_MAX + 1];
	int rc = AS_E_PHONE;

	if (v.n == 0) {
		why_set(why, n, "phone: empty (write the visitor's phone number)");
		return AS_E_PHONE;
	}
	if (v.n < sizeof text) {
		memcpy(text, v.p, v.n);
		text[v.n] = '\0';
		rc = as_phone_normalize(phone, text);
		sodium_memzero(text, sizeof text);
		sodium_memzero(phone, sizeof phone);
	}
	if (rc != 0)
		why_set(why, n, "phone: not a phone number (write it as 010-XXXX-XXXX, "
			"or +, country code and number for a foreign phone)");
	return rc ? AS_E_PHONE : 0;
}

static int check_headcount(struct span v, uint16_t *out, char *why, size_t n)
{
	char text[8], e[24];
	int64_t h;

	*out = 1;
	if (v.n == 0)
		return 0;
	if (v.n < sizeof text) {
		memcpy(text, v.p, v.n);
		text[v.n] = '\0';
		if (as_parse_int64(text, 1, AS_HEADCOUNT_MAX, &h) == 0) {
			*out = (uint16_t)h;
			return 0;
		}
	}
	why_set(why, n, "headcount: %s not a number of people from 1 to %d (leave it "
		"empty for 1)", echo(e, v, "", 0, 4), AS_HEADCOUNT_MAX);
	return AS_E_FIELD;
}

int gw_register_check_field(enum gw_register_field field, const char *value, char *why,
			    size_t why_len)
{
	struct span v = span_trim(value);
	struct ymd d;
	struct hms c;
	uint16_t h;

	why_set(why, why_len, "%s", "");
	switch (field) {
	case GW_REG_DATE:
		return check_date(v, &d, why, why_len);
	case GW_REG_TIME:
		return check_clock("time", v, 0, &c, why, why_len);
	case GW_REG_NAME:
		return check_name(v, why, why_len);
	case GW_REG_PHONE:
		return check_phone(v, why, why_len);
	case GW_REG_HEADCOUNT:
		return check_headcount(v, &h, why, why_len);
	case GW_REG_EXIT_TIME:
		return check_clock("exit_time", v, 1, &c, why, why_len);
	case GW_REG_FIELD_COUNT:
		break;
	}
	why_set(why, why_len, "no such register field");
	return AS_E_FIELD;
}

/* "N-day" when max_age is whole days, else "N-second". */
static void age_text(char buf[40], int64_t max_age)
{
	if (max_age > 0 && max_age % 86400 == 0)
		snprintf(buf, 40, "%lld-day", (long long)(max_age / 86400));
	else
		snprintf(buf, 40, "%lld-second", (long long)max_age);
}

int gw_register_check_times(int64_t *entry, int64_t *exit, const char *date,
			    const char *time, const char *exit_time, int64_t now,
			    int64_t max_age_seconds, char *why, size_t why_len)
{
	struct span dv = span_trim(date), tv = span_trim(time), xv = span_trim(exit_time);
	struct ymd d;
	struct hms c, x;
	int64_t t, xt = 0;
	char age[40];
	int rc;

	why_set(why, why_len, "%s", "");
	if ((rc = check_date(dv, &d, why, why_len)) != 0 ||
	    (rc = check_clock("time", tv, 0, &c, why, why_len)) != 0 ||
	    (rc = check_clock("exit_time", xv, 1, &x, why, why_len)) != 0)
		return rc;
	if (local_time(&d, &c, &t) != 0) {
		why_set(why, why_len, "time: %04d-%02d-%02d %02d:%02d does not exist in the "
			"local time zone (check the date and time)", d.y, d.m, d.d, c.h, c.m);
		return AS_E_TIME;
	}
	if (t > now && (uint64_t)t - (uint64_t)now > GW_REGISTER_SKEW_MAX) {
		why_set(why, why_len, "time: %04d-%02d-%02d %02d:%02d is more than 10 minutes "
			"in the future (check the date, the time and the gateway clock)",
			d.y, d.m, d.d, c.h, c.m);
		return AS_E_TIME;
	}
	if (max_age_seconds < 0)
		max_age_seconds = 0;
	if (t < now && (uint64_t)now - (uint64_t)t > (uint64_t)max_age_seconds) {
		age_text(age, max_age_seconds);
		why_set(why, why_len, "date: %04d-%02d-%02d is older than the %s retention "
			"period (it would be deleted at once; do not enter it)",
			d.y, d.m, d.d, age);
		return AS_E_TIME;
	}
	if (xv.n > 0) {
		if (local_time(&d, &x, &xt) != 0) {
			why_set(why, why_len, "exit_time: %02d:%02d does not exist on %04d-%02d-%02d "
				"in the local time zone", x.h, x.m, d.y, d.m, d.d);
			return AS_E_TIME;
		}
		if (xt <= t) {
			why_set(why, why_len, "exit_time: %02d:%02d:%02d is not after the entry "
				"time %02d:%02d:%02d (an exit after midnight or unknown: leave "
				"it empty)", x.h, x.m, x.s, c.h, c.m, c.s);
			return AS_E_TIME;
		}
		if (xt > now && (uint64_t)xt - (uint64_t)now > GW_REGISTER_SKEW_MAX) {
			why_set(why, why_len, "exit_time: %02d:%02d is more than 10 minutes in the "
				"future (leave it empty if the visitor has not left)", x.h, x.m);
			return AS_E_TIME;
		}
	}
	*entry = t;
	*exit = xt;
	return 0;
}

int gw_register_validate(struct gw_register_entry *out, const char *date, const char *time,
			 const char *name, const char *phone, const char *headcount,
			 const char *exit_time, int64_t now, int64_t max_age_seconds,
			 char *why, size_t why_len)
{
	struct span nv = span_trim(name), pv = span_trim(phone);
	char name_buf[AS_CONTACT_NAME_MAX + 1];
	int rc;

	sodium_memzero(out, sizeof *out);
	rc = gw_register_check_times(&out->entry_time, &out->exit_time, date, time,
				     exit_time, now, max_age_seconds, why, why_len);
	if (rc == 0)
		rc = check_name(nv, why, why_len);
	if (rc == 0)
		rc = check_phone(pv, why, why_len);
	if (rc == 0)
		rc = check_headcount(span_trim(headcount), &out->headcount, why, why_len);
	if (rc == 0) {
		/* check_name bounded nv.n by AS_CONTACT_NAME_MAX. */
		memcpy(name_buf, nv.p, nv.n);
		name_buf[nv.n] = '\0';
		rc = as_contact_set(&out->contact, phone, name_buf);
		sodium_memzero(name_buf, sizeof name_buf);
		if (rc == AS_E_PHONE)
			why_set(why, why_len, "phone: not a phone number");
		else if (rc != 0)
			why_set(why, why_len, "name: not accepted");
	}
	if (rc != 0)
		sodium_memzero(out, sizeof *out);
	return rc;
}

/* ---- digest ------------------------------------------------------------- */

#define DIGEST_TAG "anshim-register-row-v1"

static void put_le(uint8_t *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* The encoding of register.h into a BLAKE2b state, then the digest. */
static void digest_entry(crypto_generichash_state *st, uint8_t out[GW_REGISTER_DIGEST_LEN],
			 const struct gw_register_entry *e)
{
	uint8_t b[18], len;
	size_t phone_len = strnlen(e->contact.phone, AS_PHONE_MAX);
	size_t name_len = strnlen(e->contact.name, AS_CONTACT_NAME_MAX);

	len = (uint8_t)(sizeof DIGEST_TAG - 1);
	crypto_generichash_update(st, &len, 1);
	crypto_generichash_update(st, (const uint8_t *)DIGEST_TAG, len);
	put_le(b, (uint64_t)e->entry_time, 8);
	put_le(b + 8, (uint64_t)e->exit_time, 8);
	put_le(b + 16, e->headcount, 2);
	crypto_generichash_update(st, b, sizeof b);
	len = (uint8_t)phone_len;
	crypto_generichash_update(st, &len, 1);
	crypto_generichash_update(st, (const uint8_t *)e->contact.phone, phone_len);
	len = (uint8_t)name_len;
	crypto_generichash_update(st, &len, 1);
	crypto_generichash_update(st, (const uint8_t *)e->contact.name, name_len);
	crypto_generichash_final(st, out, GW_REGISTER_DIGEST_LEN);
	sodium_memzero(st, sizeof *st);
}

void gw_register_row_digest(uint8_t out[GW_REGISTER_DIGEST_LEN],
			    const struct gw_register_entry *e)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, GW_REGISTER_DIGEST_LEN);
	digest_entry(&st, out, e);
}

int gw_register_row_digest_keyed(uint8_t out[GW_REGISTER_DIGEST_LEN],
				 const struct gw_register_entry *e, const uint8_t *key,
				 size_t key_len)
{
	crypto_generichash_state st;

	if (!key || key_len < crypto_generichash_KEYBYTES_MIN ||
	    key_len > crypto_generichash_KEYBYTES_MAX ||
	    crypto_generichash_init(&st, key, key_len, GW_REGISTER_DIGEST_LEN) != 0)
		return AS_E_USAGE;
	digest_entry(&st, out, e);
	return 0;
}

/* ---- file import -------------------------------------------------------- */

#define HEADER_TEXT "date,time,name,phone[,headcount][,exit_time]"

static const char *const field_names[GW_REG_FIELD_COUNT] = {
	"date", "time", "name", "phone", "headcount", "exit_time",
};

/* Column of field f, or -1 when the file has no such column. */
struct columns {
	int col[GW_REG_FIELD_COUNT];
	unsigned n; /* columns the header names */
};

static int field_by_name(const char *s)
{
	for (int f = 0; f < GW_REG_FIELD_COUNT; f++)
		if (strcasecmp(s, field_names[f]) == 0)
			return f;
	return -1;
}

/* Match the header row.  A cell is quoted back only when it is one of the
 * column names, so a data row taken for a header does not leak. */
static int parse_header(const struct gw_csv_row *row, struct columns *cols, char *why,
			size_t n)
{
	unsigned i = 0, last = row->n_fields;
	int f;

	while (last > 0 && row->fields[last - 1][0] == '\0')
		last--; /* trailing empty cells from a spreadsheet */
	for (f = 0; f < GW_REG_FIELD_COUNT; f++)
		cols->col[f] = -1;
	for (f = 0; f < GW_REG_FIELD_COUNT && i < last; f++) {
		const char *cell = row->fields[i];

		if (strcasecmp(cell, field_names[f]) == 0) {
			cols->col[f] = (int)i++;
			continue;
		}
		if (f >= GW_REG_HEADCOUNT)
			continue; /* optional column left out */
		break;
	}
	if (f < GW_REG_HEADCOUNT || i < last) {
		unsigned col = i + 1;
		int known = i < last ? field_by_name(row->fields[i]) : -1;

		if (i >= last)
			why_set(why, n, "header: column %u '%s' is missing (the first row must "
				"be " HEADER_TEXT ")", col, field_names[f]);
		else if (known >= 0 && f < GW_REG_HEADCOUNT)
			why_set(why, n, "header: column %u is '%s' where '%s' was expected (the "
				"first row must be " HEADER_TEXT ")", col, field_names[known],
				field_names[f]);
		else if (known >= 0)
			why_set(why, n, "header: column %u '%s' is out of order or repeated (the "
				"first row must be " HEADER_TEXT ")", col, field_names[known]);
		else
			why_set(why, n, "header: column %u is not a known column name (the "
				"first row must be " HEADER_TEXT ")", col);
		return AS_E_CSV;
	}
	cols->n = last;
	return 0;
}

/* Whether fields from..n_fields-1 are all empty. */
static int tail_empty(const struct gw_csv_row *row, unsigned from)
{
	for (unsigned i = from; i < row->n_fields; i++)
		if (row->fields[i][0] != '\0')
			return 0;
	return 1;
}

static const char *row_field(const struct gw_csv_row *row, const struct columns *cols,
			     enum gw_register_field f)
{
	return cols->col[f] >= 0 ? row->fields[cols->col[f]] : NULL;
}

int gw_register_read_file(FILE *in, int64_t now, int64_t max_age_seconds,
			  void (*on_entry)(void *ctx, unsigned line,
					   const struct gw_register_entry *e),
			  void (*on_reject)(void *ctx, unsigned line, const char *why),
			  void *ctx)
{
	struct gw_csv_reader *r;
	struct gw_csv_row row;
	struct gw_register_entry e;
	struct columns cols;
	char why[GW_REGISTER_WHY_MAX];
	int rc;

	rc = gw_csv_open(&r, in);
	if (rc)
		return rc;
	rc = gw_csv_next(r, &row);
	if (rc == 0) {
		if (on_reject)
			on_reject(ctx, row.line, "header: the file is empty (the first row "
				  "must be " HEADER_TEXT ")");
		rc = AS_E_CSV;
		goto out;
	}
	if (rc == AS_E_CSV) {
		snprintf(why, sizeof why, "header: %s; the first row must be " HEADER_TEXT,
			 row.why);
		if (on_reject)
			on_reject(ctx, row.line, why);
		goto out;
	}
	if (rc < 0)
		goto out;
	if (parse_header(&row, &cols, why, sizeof why) != 0) {
		if (on_reject)
			on_reject(ctx, row.line, why);
		rc = AS_E_CSV;
		goto out;
	}
	/* One record per turn, each at least one byte: bounded by the file. */
	while ((rc = gw_csv_next(r, &row)) != 0) {
		if (rc == AS_E_CSV) {
			if (on_reject)
				on_reject(ctx, row.line, row.why);
			continue;
		}
		if (rc < 0)
			goto out;
		if (tail_empty(&row, 0))
			continue;
		if (row.n_fields < cols.n) {
			snprintf(why, sizeof why, "row: %u fields where the header has %u (fill "
				 "in the missing columns)", row.n_fields, cols.n);
			if (on_reject)
				on_reject(ctx, row.line, why);
			continue;
		}
		if (!tail_empty(&row, cols.n)) {
			snprintf(why, sizeof why, "row: %u fields where the header has %u (a "
				 "name with a ',' must be in quotes)", row.n_fields, cols.n);
			if (on_reject)
				on_reject(ctx, row.line, why);
			continue;
		}
		rc = gw_register_validate(&e, row_field(&row, &cols, GW_REG_DATE),
					  row_field(&row, &cols, GW_REG_TIME),
					  row_field(&row, &cols, GW_REG_NAME),
					  row_field(&row, &cols, GW_REG_PHONE),
					  row_field(&row, &cols, GW_REG_HEADCOUNT),
					  row_field(&row, &cols, GW_REG_EXIT_TIME), now,
					  max_age_seconds, why, sizeof why);
		if (rc == 0) {
			if (on_entry)
				on_entry(ctx, row.line, &e);
		} else if (on_reject) {
			on_reject(ctx, row.line, why);
		}
		sodium_memzero(&e, sizeof e);
	}
out:
	gw_csv_close(r);
	return rc;
}

/* ---- the import report ---------------------------------------------------- */

void gw_register_tally_outcome(struct gw_register_tally *t, char *line, size_t cap,
			       unsigned long row_line, const char *outcome, const char *reason)
{
	line[0] = '\0';
	if (strcmp(outcome, "accepted") == 0) {
		t->imported++;
	} else if (strcmp(outcome, "duplicate") == 0) {
		t->duplicate++;
	} else if (strcmp(outcome, "not-collecting") == 0) {
		t->not_collecting++;
		snprintf(line, cap, "line %lu: not recorded: the alert level is below the "
			 "collection level\n", row_line);
	} else {
		t->rejected++;
		snprintf(line, cap, "line %lu: rejected by the gateway: %s\n", row_line,
			 reason && reason[0] ? reason : outcome);
	}
}

void gw_register_summary(char *out, size_t cap, const char *name,
			 const struct gw_register_tally *t, const char *timezone)
{
	snprintf(out, cap, "%s: %lu imported, %lu already imported, %lu rejected by the gateway, "
		 "%lu invalid rows%s%s; dates and times read in the time zone %s\n", name,
		 t->imported, t->duplicate, t->rejected + t->not_collecting, t->invalid,
		 t->invalid ? " (fix them and import the file again)" : "",
		 t->unconfirmed ? " (some rows were not confirmed: import the file again)" : "",
		 timezone);
}

void gw_register_file_error(char *out, size_t cap, const char *name, int rc)
{
	snprintf(out, cap, "%s: %s (the first line must be the header "
		 "date,time,name,phone[,headcount][,exit_time])\n", name, as_strerror(rc));
}
