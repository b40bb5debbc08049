/*
 * api_export.c - POST /api/export: a trace's contacts as CSV, one row per
 * contact in trace order (docs/CONSOLE.md).  With {"id"}: an approved
 * reveal request of the caller's, with name and phone (opened through the
 * reveal service, which writes the 'reveal' entry); with a TRACE object:
 * the pseudonymous contacts, audited as a trace first, like POST
 * /api/trace.  The rows come from the same JSON report the trace routes
 * answer (api_trace.h), so the CSV never disagrees with the screen.
 *
 * Every cell goes through csvout.h: one starting with = + - @ or holding a
 * tab or CR is guarded against formula injection.  Any handler thread.
 */
#include "api_handlers.h"
#include "api_trace.h"
#include "csvout.h"

#include "anshim/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const columns[] = {
	"order", "pid", "venue", "venue_name", "start", "end", "overlap_minutes", "risk", "via",
	"source",
};
#define N_COLUMNS (sizeof columns / sizeof columns[0])

/* One member of contact c as cell text. */
static void cell(struct as_strbuf *b, const json_t *c, const char *key, int first)
{
	const json_t *v = json_object_get(c, key);
	char num[32];

	if (json_is_string(v)) {
		cs_csv_cell(b, json_string_value(v), first);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		cs_csv_cell(b, num, first);
	} else {
		cs_csv_cell(b, NULL, first);
	}
}

/* The CSV of report (a trace report's JSON text) into *csv. */
static int report_csv(const struct as_strbuf *report, int revealed, struct as_strbuf *csv)
{
	json_t *j = json_loadb(report->p, report->len, 0, NULL);
	const json_t *contacts = json_object_get(j, "contacts");
	size_t i;
	json_t *c;

	if (!json_is_array(contacts)) {
		json_decref(j);
		return -1;
	}
	for (i = 0; i < N_COLUMNS; i++)
		cs_csv_cell(csv, columns[i], i == 0);
	if (revealed) {
		cs_csv_cell(csv, "name", 0);
		cs_csv_cell(csv, "phone", 0);
	}
	cs_csv_row_end(csv);
	json_array_foreach(contacts, i, c) {
		for (size_t k = 0; k < N_COLUMNS; k++)
			cell(csv, c, columns[k], k == 0);
		if (revealed) {
			cell(csv, c, "name", 0);
			cell(csv, c, "phone", 0);
		}
		cs_csv_row_end(csv);
	}
	json_decref(j);
	return csv->failed ? -1 : 0;
}

int cs_api_export(const struct cs_ctx *ctx, const struct cs_call *call, struct cs_reply *reply)
{
	struct as_strbuf report = {0}, csv = {0};
	struct cl_reveal_scope scope;
	char err[512] = "", name[96];
	uint64_t seq;
	int rc, revealed = json_object_get(call->body, "id") != NULL;

	if (revealed) {
		int64_t id = 0;
		const struct cs_in_field fields[] = {
			{"id", CS_IN_INT, 1, 1, INT64_MAX, &id, NULL},
		};

		if (cs_in_json(call->body, fields, 1, err, sizeof err))
			return cs_reply_error(reply, 400, "%s (an export is {\"id\"} of an approved "
					      "request, or a trace)", err);
		if (cs_reveal_report(ctx, call->user, (uint64_t)id, &report, reply))
			return 0;
		snprintf(name, sizeof name, "contacts-request-%" PRId64 ".csv", id);
	} else {
		if (cs_trace_scope_read(call->body, &scope, reply) ||
		    cs_trace_audited(ctx, call->user, &scope, "export", &report, &seq, reply))
			return 0;
		snprintf(name, sizeof name, "contacts-trace-%" PRIu64 ".csv", seq);
	}
	rc = report_csv(&report, revealed, &csv);
	cs_strbuf_wipe(&report);
	if (rc) {
		cs_strbuf_wipe(&csv);
		return cs_reply_error(reply, 500, "the CSV could not be built");
	}
	return cs_reply_body(reply, 200, csv.p, csv.len, "text/csv; charset=utf-8", name);
}
