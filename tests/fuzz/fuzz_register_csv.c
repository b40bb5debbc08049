/*
 * fuzz_register_csv.c - a paper-register CSV file through the gateway's
 * importer (gw_register_read_file) and, on the same bytes, the bare CSV
 * reader (as_csv_open / as_csv_next), read from memory (fmemopen).
 *
 * The clock is FUZZ_NOW and the zone Asia/Seoul (the register's own), so
 * every run answers alike.  Properties: every data row is reported once,
 * as an entry within the time rules or as a reject with a reason; the
 * reader's rows have 1..AS_CSV_FIELDS_MAX fields within the record bound,
 * and it ends within a number of calls bounded by the input length.
 */
#include "fuzz.h"

#include "anshim/record.h"
#include "register.h"

struct tally {
	unsigned last_line;
	size_t reports;
};

static void on_entry(void *ctx, unsigned line, const struct gw_register_entry *e)
{
	struct tally *t = ctx;
	uint8_t digest[GW_REGISTER_DIGEST_LEN];

	if (line < t->last_line)
		fuzz_fail("row of line %u reported after line %u", line, t->last_line);
	t->last_line = line;
	t->reports++;
	if (e->entry_time > FUZZ_NOW + GW_REGISTER_SKEW_MAX ||
	    e->entry_time < FUZZ_NOW - FUZZ_RETENTION)
		fuzz_fail("entry at %lld accepted", (long long)e->entry_time);
	if (e->exit_time != 0 && e->exit_time <= e->entry_time)
		fuzz_fail("exit before entry accepted");
	if (e->headcount < 1 || e->headcount > AS_HEADCOUNT_MAX)
		fuzz_fail("headcount %u accepted", e->headcount);
	gw_register_row_digest(digest, e);
}

static void on_reject(void *ctx, unsigned line, const char *why)
{
	struct tally *t = ctx;

	if (line < t->last_line)
		fuzz_fail("reject of line %u reported after line %u", line, t->last_line);
	t->last_line = line;
	t->reports++;
	if (!why || !why[0])
		fuzz_fail("reject without a reason");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally t = {0, 0};
	struct as_csv_reader *r;
	struct as_csv_row row;
	FILE *in;
	size_t calls = 0;
	int rc;

	if (size == 0)
		return 0;
	in = fmemopen((void *)data, size, "r");
	if (!in)
		abort();
	rc = gw_register_read_file(in, FUZZ_NOW, FUZZ_RETENTION, on_entry, on_reject, &t);
	if (rc != 0 && rc != AS_E_CSV)
		fuzz_fail("register import from memory answered %d", rc);
	if (t.reports > size + 1)
		fuzz_fail("%zu rows reported from %zu bytes", t.reports, size);
	fclose(in);

	in = fmemopen((void *)data, size, "r");
	if (!in || as_csv_open(&r, in) != 0)
		abort();
	while ((rc = as_csv_next(r, &row)) != 0) {
		if (++calls > size + 1)
			fuzz_fail("csv reader does not end");
		if (rc == 1) {
			if (row.n_fields < 1 || row.n_fields > AS_CSV_FIELDS_MAX)
				fuzz_fail("row with %u fields", row.n_fields);
			for (unsigned i = 0; i < row.n_fields; i++)
				if (strlen(row.fields[i]) > AS_CSV_RECORD_MAX)
					fuzz_fail("field longer than a record");
		} else if (rc == AS_E_CSV) {
			if (!row.why)
				fuzz_fail("rejected record without a reason");
		} else {
			fuzz_fail("csv reader answered %d", rc);
		}
	}
	as_csv_close(r);
	fclose(in);
	return 0;
}
