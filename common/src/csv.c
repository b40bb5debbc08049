/*
 * csv.c - the CSV reader of csv.h.
 *
 * A byte-at-a-time state machine over a fixed input buffer.  Every byte it
 * reads belongs to exactly one record; a rejected record is still read to
 * its end with the quote rules applied, so the next record starts where a
 * spreadsheet would start it.  A record's text lands in a fixed buffer that
 * cannot overflow: at most AS_CSV_RECORD_MAX content bytes are stored (a
 * longer record stops being stored and is rejected) plus one NUL per field,
 * and fields beyond AS_CSV_FIELDS_MAX are never stored.  The buffers may
 * hold contact data: they are wiped before each record and at close.
 *
 * No global state; a reader is used by one thread at a time.
 */
#include "anshim/csv.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* ---- CSV reader --------------------------------------------------------- */

#define CSV_INBUF 8192

struct as_csv_reader {
	FILE *in;
	unsigned line;  /* physical line of the next unread byte, 1-based */
	int started;    /* BOM check done */
	int eof;
	int err;        /* sticky read error, -errno */
	size_t pos, len; /* unread bytes are inbuf[pos..len) */
	unsigned char inbuf[CSV_INBUF];
	char rec[AS_CSV_RECORD_MAX + AS_CSV_FIELDS_MAX + 1];
};

int as_csv_open(struct as_csv_reader **r, FILE *in)
{
	struct as_csv_reader *c = calloc(1, sizeof *c);

	*r = NULL;
	if (!c)
		return -ENOMEM;
	c->in = in;
	c->line = 1;
	*r = c;
	return 0;
}

void as_csv_close(struct as_csv_reader *r)
{
	if (!r)
		return;
	sodium_memzero(r, sizeof *r);
	free(r);
}

/* Refill inbuf when empty.  Returns 1 if a byte is available, else 0 (end
 * of input, or an error recorded in r->err). */
static int csv_fill(struct as_csv_reader *r)
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

static int csv_getc(struct as_csv_reader *r)
{
	return csv_fill(r) ? r->inbuf[r->pos++] : EOF;
}

static int csv_peek(struct as_csv_reader *r)
{
	return csv_fill(r) ? r->inbuf[r->pos] : EOF;
}

static void csv_newline(struct as_csv_reader *r)
{
	if (r->line < UINT_MAX)
		r->line++;
}

/* Skip a UTF-8 BOM at the very start.  fread may return short counts on
 * pipes, so gather up to three bytes first (at most three reads). */
static void csv_skip_bom(struct as_csv_reader *r)
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
	struct as_csv_reader *r;
	size_t out;         /* bytes stored in r->rec */
	size_t start;       /* where the current field's text starts */
	unsigned nf;        /* fields completed */
	size_t offs[AS_CSV_FIELDS_MAX];
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
	if (k->nf == AS_CSV_FIELDS_MAX) {
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
static int csv_record(struct as_csv_reader *r, struct as_csv_row *row)
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
		} else if (++raw > AS_CSV_RECORD_MAX) {
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

int as_csv_next(struct as_csv_reader *r, struct as_csv_row *row)
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
