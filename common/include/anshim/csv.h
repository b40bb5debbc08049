/*
 * csv.h - a bounded CSV reader for the files people make in spreadsheets:
 * the paper register (anshim-gw import) and the venue list (anshim-cloud
 * enroll/poster --csv).
 */
#ifndef ANSHIM_CSV_H
#define ANSHIM_CSV_H

#include <stdio.h>

#include "anshim/error.h" /* AS_E_CSV */

/* ---- CSV reading ----------------------------------------------------------
 *
 * The RFC 4180 subset that spreadsheets write:
 *   - fields separated by ',', records ended by LF, CRLF or a lone CR
 *     (old Mac exports); the last record may lack a line end;
 *   - a field may be double-quoted; inside quotes "" is one '"', and ',',
 *     CR and LF are data; blanks around the quotes are ignored;
 *   - blanks (space, tab) around unquoted fields are trimmed;
 *   - a UTF-8 byte order mark at the start of the input is skipped;
 *   - lines holding nothing but blanks are skipped.
 * A record is rejected, and reading resumes at the next record, when it is
 * longer than AS_CSV_RECORD_MAX bytes (line end excluded), has more than
 * AS_CSV_FIELDS_MAX fields, contains a NUL byte, has a '"' inside an
 * unquoted field or text after a closing quote, or ends inside quotes (an
 * unmatched '"' makes the rest of the input one record, as RFC 4180 says).
 * Memory use is fixed (about 12 KiB per reader) whatever the input.
 */

#define AS_CSV_RECORD_MAX 4096
#define AS_CSV_FIELDS_MAX 16

/* Opaque; made by as_csv_open, freed by as_csv_close. */
struct as_csv_reader;

/* One record, filled by as_csv_next.  The strings are owned by the reader
 * and valid until the next as_csv_next or as_csv_close on it. */
struct as_csv_row {
	unsigned line;     /* 1-based line on which the record started */
	unsigned n_fields; /* 1..AS_CSV_FIELDS_MAX for a row, 0 if rejected */
	const char *fields[AS_CSV_FIELDS_MAX]; /* NUL-terminated, unquoted */
	const char *why;   /* rejected record: static reason, else NULL */
};

/*
 * Make a reader over in, which stays borrowed (never closed here) and must
 * outlive the reader.  Returns 0 and *r, or -ENOMEM.  Any thread; a reader
 * is used by one thread at a time.
 */
int as_csv_open(struct as_csv_reader **r, FILE *in);

/*
 * Read the next record into row.  Returns:
 *   1         a record: row->line, row->n_fields, row->fields;
 *   0         end of input;
 *   AS_E_CSV  a malformed record: row->line and row->why say where and why;
 *             it has been skipped, so call again for the next one;
 *   -errno    a read error (sticky: later calls return it too).
 * The previous row's text is wiped first.
 */
int as_csv_next(struct as_csv_reader *r, struct as_csv_row *row);

/* Wipe the reader's buffers (they held contact data) and free it.  NULL is
 * a no-op.  Does not close the FILE. */
void as_csv_close(struct as_csv_reader *r);

#endif
