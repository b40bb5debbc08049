/*
 * venuecsv.c - the roll-out venue list reader (venuecsv.h).
 *
 * Invariants: a row is good only when every field passed its check; a bad
 * row's reason names the column and what to fix, and quotes back at most
 * the venue id (venue lists hold no personal data, but names can be long).
 * Venue ids and gateway ids seen so far are kept in sorted arrays, so a
 * duplicate within the file is found in O(log n) per row.  Single-threaded.
 */
#include "venuecsv.h"

#include "anshim/bytes.h"
#include "anshim/csv.h"
#include "anshim/error.h"
#include "anshim/parse.h"
#include "anshim/policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum column { COL_ID, COL_NAME, COL_ADDRESS, COL_CATEGORY, COL_DWELL, COL_KEY, COL_COUNT };

static const char *const column_names[COL_COUNT] = {
	"venue_id", "name", "address", "category", "dwell", "gateway_key",
};

struct seen {
	uint8_t (*keys)[16];            /* sorted */
	size_t n, cap;
};

struct cl_venuecsv {
	struct as_csv_reader *csv;
	int col[COL_COUNT];             /* field index of each column, -1 absent */
	unsigned n_columns;             /* fields in the header row */
	struct seen venues, gateways;
};

/* Add key to s if absent: 1 added, 0 already there, -ENOMEM. */
static int seen_add(struct seen *s, const uint8_t key[16])
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(s->keys[mid], key, 16);
		if (c == 0)
			return 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		void *p = realloc(s->keys, cap * 16);
		if (!p)
			return -ENOMEM;
		s->keys = p;
		s->cap = cap;
	}
	memmove(s->keys[lo + 1], s->keys[lo], (s->n - lo) * 16);
	memcpy(s->keys[lo], key, 16);
	s->n++;
	return 1;
}

__attribute__((format(printf, 2, 3))) static int bad(struct cl_venuecsv_row *row,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(row->why, sizeof row->why, fmt, ap);
	va_end(ap);
	return AS_E_CSV;
}

/* Text that is valid UTF-8 without control characters, at most max bytes. */
static int text_check(const char *s, size_t max)
{
	size_t len = strlen(s), i = 0;

	if (len > max)
		return -1;
	while (i < len) {
		size_t n = as_utf8_char((const unsigned char *)s + i, len - i);
		if (n == 0)
			return -1;
		i += n;
	}
	return 0;
}

static void header_name(char *out, size_t cap, const char *field)
{
	size_t n = 0;

	for (; *field && n + 1 < cap; field++)
		if (*field != ' ')
			out[n++] = (char)tolower((unsigned char)*field);
	out[n] = '\0';
}

int cl_venuecsv_open(struct cl_venuecsv **out, FILE *in, char *why, size_t why_len)
{
	struct cl_venuecsv *r = calloc(1, sizeof *r);
	struct as_csv_row row;
	int rc;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	for (int i = 0; i < COL_COUNT; i++)
		r->col[i] = -1;
	rc = as_csv_open(&r->csv, in);
	if (rc) {
		free(r);
		return rc;
	}
	rc = as_csv_next(r->csv, &row);
	if (rc == 0)
		snprintf(why, why_len, "the file is empty: its first row names the columns "
			 "(venue_id,name,address,category,dwell,gateway_key)");
	else if (rc == AS_E_CSV)
		snprintf(why, why_len, "line %u: the header row is malformed (%s)", row.line,
			 row.why);
	else if (rc < 0)
		snprintf(why, why_len, "cannot read: %s", as_strerror(rc));
	for (unsigned i = 0; rc == 1 && i < row.n_fields; i++) {
		char name[32];
		int col = -1;

		header_name(name, sizeof name, row.fields[i]);
		for (int k = 0; k < COL_COUNT; k++)
			if (strcmp(name, column_names[k]) == 0)
				col = k;
		if (col < 0) {
			snprintf(why, why_len, "line %u: unknown column '%.24s'; the columns are "
				 "venue_id, name, address, category, dwell, gateway_key", row.line,
				 row.fields[i]);
			rc = AS_E_CSV;
		} else if (r->col[col] >= 0) {
			snprintf(why, why_len, "line %u: column %s is named twice", row.line,
				 column_names[col]);
			rc = AS_E_CSV;
		} else {
			r->col[col] = (int)i;
		}
	}
	if (rc == 1 && (r->col[COL_ID] < 0 || r->col[COL_NAME] < 0)) {
		snprintf(why, why_len, "line %u: the header needs the columns venue_id and name "
			 "(and may have address, category, dwell, gateway_key)", row.line);
		rc = AS_E_CSV;
	}
	r->n_columns = row.n_fields;
	if (rc != 1) {
		cl_venuecsv_close(r);
		return rc ? rc : AS_E_CSV;
	}
	*out = r;
	return 0;
}

static const char *field(const struct as_csv_row *row, int index)
{
	return index >= 0 && (unsigned)index < row->n_fields ? row->fields[index] : "";
}

static int check_row(struct cl_venuecsv *r, const struct as_csv_row *in,
		     struct cl_venuecsv_row *row)
{
	const char *id = field(in, r->col[COL_ID]), *name = field(in, r->col[COL_NAME]);
	const char *address = field(in, r->col[COL_ADDRESS]);
	const char *category = field(in, r->col[COL_CATEGORY]);
	const char *dwell = field(in, r->col[COL_DWELL]), *key = field(in, r->col[COL_KEY]);
	uint8_t vkey[16] = {0};
	int64_t n;
	int rc;

	if (in->n_fields > r->n_columns)
		return bad(row, "%u fields, but the header names %u columns (quote a field "
			   "that holds a comma)", in->n_fields, r->n_columns);
	if (as_parse_int64(id, 1, UINT32_MAX, &n))
		return bad(row, "venue_id '%.12s' is not a number from 1 to 4294967295", id);
	row->venue.id = (uint32_t)n;
	if (!name[0])
		return bad(row, "venue %u: the name is empty", row->venue.id);
	if (text_check(name, CL_NAME_MAX))
		return bad(row, "venue %u: the name is longer than %d bytes or has control "
			   "characters or bytes that are not UTF-8", row->venue.id, CL_NAME_MAX);
	if (text_check(address, CL_ADDRESS_MAX))
		return bad(row, "venue %u: the address is longer than %d bytes or has control "
			   "characters or bytes that are not UTF-8", row->venue.id, CL_ADDRESS_MAX);
	memcpy(row->venue.name, name, strlen(name) + 1);
	memcpy(row->venue.address, address, strlen(address) + 1);
	if (category[0]) {
		char folded[32];
		size_t len = strlen(category);

		for (size_t i = 0; i < len && i < sizeof folded - 1; i++)
			folded[i] = (char)tolower((unsigned char)category[i]);
		folded[len < sizeof folded - 1 ? len : sizeof folded - 1] = '\0';
		if (len > 24 || as_policy_category_check(folded))
			return bad(row, "venue %u: category '%.24s' is not 1-24 letters a-z, digits "
				   "or '-' (e.g. bar, cafe, karaoke)", row->venue.id, category);
		memcpy(row->venue.category, folded, strlen(folded) + 1);
	}
	row->venue.dwell_minutes = CL_DEFAULT_DWELL;
	if (dwell[0]) {
		if (as_parse_int64(dwell, 1, 1440, &n))
			return bad(row, "venue %u: dwell '%.12s' is not minutes from 1 to 1440",
				   row->venue.id, dwell);
		row->venue.dwell_minutes = (uint16_t)n;
	}
	if (key[0]) {
		if (strlen(key) != 2 * AS_SIGN_PK_LEN ||
		    as_hex_decode(row->gw_pk, AS_SIGN_PK_LEN, key) != 0)
			return bad(row, "venue %u: gateway_key is not the 64 hex digits 'anshim-gw "
				   "init' prints (leave it empty for a poster-only venue)",
				   row->venue.id);
		as_gateway_id(row->gw_id, row->gw_pk);
		row->has_gateway = 1;
	}
	as_put_be32(vkey, row->venue.id);
	rc = seen_add(&r->venues, vkey);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return bad(row, "venue %u is listed twice in this file (an earlier row has it)",
			   row->venue.id);
	if (row->has_gateway) {
		rc = seen_add(&r->gateways, row->gw_id);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return bad(row, "venue %u: this gateway_key is given to an earlier row too: "
				   "one gateway serves one venue", row->venue.id);
	}
	return 1;
}

int cl_venuecsv_next(struct cl_venuecsv *r, struct cl_venuecsv_row *row)
{
	struct as_csv_row in;
	int rc;

	memset(row, 0, sizeof *row);
	rc = as_csv_next(r->csv, &in);
	row->line = in.line;
	if (rc == AS_E_CSV)
		return bad(row, "malformed CSV (%s)", in.why);
	if (rc != 1)
		return rc;
	return check_row(r, &in, row);
}

void cl_venuecsv_close(struct cl_venuecsv *r)
{
	if (!r)
		return;
	as_csv_close(r->csv);
	free(r->venues.keys);
	free(r->gateways.keys);
	free(r);
}
