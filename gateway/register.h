/*
 * register.h - the paper visitor register, digitized: a bounded streaming
 * CSV reader, validation of one register entry (typed at the prompt or read
 * from a CSV row), the import digest, and a streaming file importer.
 *
 * Privacy rule: no reason string made here ever contains a visitor's name or
 * phone number.  Dates, times and headcounts are quoted back only when the
 * text has the shape of such a value and is not a phone number, so a file
 * with its columns swapped does not leak through its error messages.
 *
 * Nothing here seals or stores: the caller seals entry->contact
 * (as_capsule_seal) at once and wipes the entry (sodium_memzero).
 */
#ifndef ANSHIM_GW_REGISTER_H
#define ANSHIM_GW_REGISTER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "anshim/capsule.h"
#include "anshim/error.h" /* the AS_E_* codes returned here */

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
 * longer than GW_CSV_RECORD_MAX bytes (line end excluded), has more than
 * GW_CSV_FIELDS_MAX fields, contains a NUL byte, has a '"' inside an
 * unquoted field or text after a closing quote, or ends inside quotes (an
 * unmatched '"' makes the rest of the input one record, as RFC 4180 says).
 * Memory use is fixed (about 12 KiB per reader) whatever the input.
 */

#define GW_CSV_RECORD_MAX 4096
#define GW_CSV_FIELDS_MAX 16

/* Opaque; made by gw_csv_open, freed by gw_csv_close. */
struct gw_csv_reader;

/* One record, filled by gw_csv_next.  The strings are owned by the reader
 * and valid until the next gw_csv_next or gw_csv_close on it. */
struct gw_csv_row {
	unsigned line;     /* 1-based line on which the record started */
	unsigned n_fields; /* 1..GW_CSV_FIELDS_MAX for a row, 0 if rejected */
	const char *fields[GW_CSV_FIELDS_MAX]; /* NUL-terminated, unquoted */
	const char *why;   /* rejected record: static reason, else NULL */
};

/*
 * Make a reader over in, which stays borrowed (never closed here) and must
 * outlive the reader.  Returns 0 and *r, or -ENOMEM.  Any thread; a reader
 * is used by one thread at a time.
 */
int gw_csv_open(struct gw_csv_reader **r, FILE *in);

/*
 * Read the next record into row.  Returns:
 *   1         a record: row->line, row->n_fields, row->fields;
 *   0         end of input;
 *   AS_E_CSV  a malformed record: row->line and row->why say where and why;
 *             it has been skipped, so call again for the next one;
 *   -errno    a read error (sticky: later calls return it too).
 * The previous row's text is wiped first.
 */
int gw_csv_next(struct gw_csv_reader *r, struct gw_csv_row *row);

/* Wipe the reader's buffers (they held contact data) and free it.  NULL is
 * a no-op.  Does not close the FILE. */
void gw_csv_close(struct gw_csv_reader *r);

/* ---- register entries ------------------------------------------------- */

/* Entries may lie at most this far ahead of the gateway clock. */
#define GW_REGISTER_SKEW_MAX 600
/* A why buffer this large holds every reason in full. */
#define GW_REGISTER_WHY_MAX 192
#define GW_REGISTER_DIGEST_LEN 32

struct gw_register_entry {
	int64_t entry_time;        /* unix seconds */
	int64_t exit_time;         /* unix seconds; 0 = none */
	uint16_t headcount;        /* 1..AS_HEADCOUNT_MAX; default 1 */
	struct as_contact contact; /* normalized phone, trimmed name */
};

/* The register's columns, in header order. */
enum gw_register_field {
	GW_REG_DATE,      /* YYYY-MM-DD, YYYY.MM.DD or YYYY/MM/DD (M, D: 1-2 digits) */
	GW_REG_TIME,      /* H:MM or H:MM:SS, 24-hour, local time */
	GW_REG_NAME,      /* 1..64 bytes of UTF-8, no control characters */
	GW_REG_PHONE,     /* anything as_phone_normalize accepts */
	GW_REG_HEADCOUNT, /* optional: 1..999, empty = 1 */
	GW_REG_EXIT_TIME, /* optional: H:MM[:SS] on the entry date, after entry */
	GW_REG_FIELD_COUNT
};

/*
 * Check one field on its own, for a prompt that re-asks only the bad one:
 * its syntax and range, not the rules that relate fields (future, too old,
 * exit after entry: gw_register_check_times).  value is borrowed; blanks
 * around it are ignored; NULL counts as empty, which is valid for the
 * optional fields only.  Returns 0, or AS_E_TIME (date, time, exit_time),
 * AS_E_PHONE (phone), AS_E_FIELD (name, headcount, unknown field) with a
 * reason in why (may be NULL).  Pure; any thread.
 */
int gw_register_check_field(enum gw_register_field field, const char *value, char *why,
			    size_t why_len);

/*
 * Turn date + time (+ exit_time, may be NULL or "") into unix seconds in
 * the process's local time zone, and apply the time rules: the entry is at
 * most GW_REGISTER_SKEW_MAX seconds after now and at most max_age_seconds
 * (the retention period, >= 0) before it; the exit, if any, is later than
 * the entry on the same date and not in the future either.  Fills *entry
 * and *exit (0 = none) on success.  Returns 0 or AS_E_TIME with a reason.
 * Any thread (mktime).
 */
int gw_register_check_times(int64_t *entry, int64_t *exit, const char *date,
			    const char *time, const char *exit_time, int64_t now,
			    int64_t max_age_seconds, char *why, size_t why_len);

/*
 * Validate one register entry and fill *out: the time rules above, then
 * name, phone (normalized by as_contact_set), headcount (NULL or "" = 1).
 * The first problem found is reported, in the order date, time, exit_time,
 * name, phone, headcount.  Returns 0, or AS_E_TIME / AS_E_FIELD /
 * AS_E_PHONE with why = "field: what is wrong (what to do)", e.g.
 * "date: '2026-13-01' is not a date (use YYYY-MM-DD)"; why is "" on
 * success.  On failure *out is zeroed.  The strings are borrowed; the
 * caller owns *out and wipes it (sodium_memzero) once sealed.  Any thread.
 */
int gw_register_validate(struct gw_register_entry *out, const char *date, const char *time,
			 const char *name, const char *phone, const char *headcount,
			 const char *exit_time, int64_t now, int64_t max_age_seconds,
			 char *why, size_t why_len);

/*
 * The import digest: unkeyed BLAKE2b-256 (crypto_generichash) of this
 * canonical encoding of a validated entry (all integers little-endian):
 *
 *   u8  22, "anshim-register-row-v1"  (domain tag, length-prefixed)
 *   i64 entry_time
 *   i64 exit_time                     (0 = none)
 *   u16 headcount
 *   u8  phone_len, phone              (normalized "+<digits>", 1..16 bytes)
 *   u8  name_len,  name               (as validated, 0..64 bytes)
 *
 * Every variable field carries its length, so no two entries encode alike.
 * Because the phone is normalized, one row spelled "010-1234-5678" or
 * "+82 10 1234 5678" gives one digest; the same person at another time
 * gives another.  Used to make CSV import idempotent.
 *
 * CAUTION: phone numbers and names are guessable and the times are stored
 * in clear in the journal, so an unkeyed digest kept on the gateway lets
 * whoever takes its disk confirm a guessed visitor (or search all 10^8
 * mobile numbers for a known name).  Keep such digests only as long as
 * re-imports matter, or use gw_register_row_digest_keyed with a secret
 * that is not stored next to them.
 *
 * Requires as_crypto_init() first.  Wipes the hash state.  Any thread.
 */
void gw_register_row_digest(uint8_t out[GW_REGISTER_DIGEST_LEN],
			    const struct gw_register_entry *e);

/* The same encoding under keyed BLAKE2b-256.  key (borrowed) is
 * crypto_generichash_KEYBYTES_MIN..MAX (16..64) bytes.  Returns 0, or
 * AS_E_USAGE for a missing key or a bad key length (out is then not
 * written).  Wipes the hash state.  Any thread. */
int gw_register_row_digest_keyed(uint8_t out[GW_REGISTER_DIGEST_LEN],
				 const struct gw_register_entry *e, const uint8_t *key,
				 size_t key_len);

/*
 * Read a whole register CSV from in (borrowed, not closed): a header row
 * "date,time,name,phone[,headcount][,exit_time]" (names matched without
 * regard to case, in that order; a column may be left out only when it is
 * optional), then data rows.  Every data row is reported, in file order,
 * either to on_entry (valid; e and its strings are borrowed for the call
 * and wiped after it) or to on_reject (line where the row starts, and a
 * reason without personal data).  Rows whose fields are all empty (blank
 * spreadsheet rows) are skipped silently.  A row may have extra fields
 * only when they are empty.  Either callback may be NULL.
 *
 * Returns 0 when the whole file was read, or a file-level error: AS_E_CSV
 * for an empty file or a bad header (on_reject has then been called with
 * the header's line and a reason naming the expected header), -errno for a
 * read error.  Rows reported before an error stay reported.
 * Runs the callbacks on the calling thread; any thread.
 */
int gw_register_read_file(FILE *in, int64_t now, int64_t max_age_seconds,
			  void (*on_entry)(void *ctx, unsigned line,
					   const struct gw_register_entry *e),
			  void (*on_reject)(void *ctx, unsigned line, const char *why),
			  void *ctx);

/* ---- the import report ------------------------------------------------
 *
 * One report for 'anshim-gw import' and the staff screen's CSV upload:
 * rows the gateway did not record get a line each, then a summary.
 */

struct gw_register_tally {
	unsigned long imported, duplicate, rejected, not_collecting;
	unsigned long invalid;       /* rows gw_register_read_file rejected */
	unsigned long unconfirmed;   /* sent, but no answer came */
};

/*
 * Count one row's answer from the gateway: outcome is the control
 * socket's word ("accepted", "duplicate", "not-collecting", or anything
 * else for a rejection, with its reason).  line (cap bytes) receives the
 * row's report line, with its newline, or "" for a recorded or duplicate
 * row.  Pure; any thread.
 */
void gw_register_tally_outcome(struct gw_register_tally *t, char *line, size_t cap,
			       unsigned long row_line, const char *outcome, const char *reason);

/* The summary line of an import of name (with its newline): counts, what
 * to do about bad rows, and the time zone the times were read in. */
void gw_register_summary(char *out, size_t cap, const char *name,
			 const struct gw_register_tally *t, const char *timezone);

/* The line for a file-level error rc of gw_register_read_file on name. */
void gw_register_file_error(char *out, size_t cap, const char *name, int rc);

#endif
