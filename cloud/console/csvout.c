/*
 * csvout.c - CSV cells escaped against formula injection (csvout.h).
 *
 * Invariant: what a spreadsheet reads back from a cell never starts with
 * = + - @ and never holds a raw tab or CR outside the "'" guard.  Pure;
 * any thread.
 */
#include "csvout.h"

#include <string.h>

void cs_csv_cell(struct as_strbuf *b, const char *s, int first)
{
	int guard, quote;

	if (!first)
		as_strbuf_add(b, ",");
	if (!s || !*s)
		return;
	guard = strchr("=+-@", s[0]) != NULL || strpbrk(s, "\t\r") != NULL;
	quote = guard || strpbrk(s, ",\"\n'") != NULL;
	if (quote)
		as_strbuf_add(b, "\"");
	if (guard)
		as_strbuf_add(b, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			as_strbuf_add(b, "\"\"");
		else
			as_strbuf_addn(b, p, 1);
	}
	if (quote)
		as_strbuf_add(b, "\"");
}

void cs_csv_row_end(struct as_strbuf *b)
{
	as_strbuf_add(b, "\r\n");
}
