/*
 * api_audit.c - GET /api/audit?user=U&case=PID: the audit log's chain
 * verification (every entry's hash, chain and signature, cl_audit_verify)
 * and its entries, filtered by the account or Unix user who wrote them and
 * by the case's pid, the newest CS_AUDIT_ROWS_MAX that match, in log
 * order.  Break-glass entries are flagged for the page to show in red.
 *
 * Any handler thread; the log is read under its shared lock (audit.c).
 */
#include "api_handlers.h"
#include "jsonin.h"
#include "jsonout.h"

#include "audit.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/parse.h"
#include "anshim/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CS_AUDIT_ROWS_MAX 2000

struct audit_filter {
	const char *user;            /* NULL: anyone */
	char case_hex[2 * AS_PID_LEN + 1]; /* "": any case */
	json_t *rows;
	int failed;
};

static int add_entry(void *ctx, uint64_t index, const struct cl_audit_entry *e)
{
	struct audit_filter *f = ctx;
	json_t *j;

	if (f->user && strcmp(f->user, e->who) != 0)
		return 0;
	if (f->case_hex[0] && strcmp(f->case_hex, e->case_ref) != 0)
		return 0;
	j = json_pack("{s:I, s:i, s:o, s:s, s:o, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I,"
		      " s:I, s:o, s:o, s:b}",
		      "seq", (json_int_t)index, "version", (int)e->version, "time", cs_json_time(e->time),
		      "action", e->action, "who", cs_json_text(e->who), "case", e->case_ref,
		      "from", cs_json_time(e->window_from), "to", cs_json_time(e->window_to),
		      "depth", (json_int_t)e->depth,
		      "min_overlap_minutes", (json_int_t)(e->min_overlap / 60),
		      "risk_period_minutes", (json_int_t)(e->risk_period / 60),
		      "incubation_days", (json_int_t)(e->incubation / 86400),
		      "contacts", (json_int_t)e->contacts, "revealed", (json_int_t)e->revealed,
		      "request", (json_int_t)e->request, "case_ref", cs_json_text(e->case_no),
		      "reason", cs_json_text(e->reason),
		      "break_glass", strcmp(e->action, CL_AUDIT_BREAK_GLASS) == 0);
	if (!j || json_array_append_new(f->rows, j)) {
		f->failed = 1;
		return 1;
	}
	if (json_array_size(f->rows) > CS_AUDIT_ROWS_MAX)
		json_array_remove(f->rows, 0);
	return 0;
}

int cs_api_audit(const struct cs_ctx *ctx, const struct cs_call *call, struct cs_reply *reply)
{
	const char *user = NULL;
	uint8_t pid[AS_PID_LEN];
	int have_case = 0, rc;
	struct audit_filter f = {NULL, "", NULL, 0};
	struct cl_audit_keys keys;
	uint64_t entries = 0, first_bad = 0;
	char err[512] = "", why[256] = "";
	const struct cs_in_field fields[] = {
		{"user", CS_IN_STRING, 0, 1, 63, &user, NULL},
		{"case", CS_IN_PID, 0, 0, 0, pid, &have_case},
	};
	json_t *verify;

	if (cs_in_query(call, fields, 2, err, sizeof err))
		return cs_reply_error(reply, 400, "%s", err);
	f.user = user;
	if (have_case)
		as_hex_encode(f.case_hex, pid, AS_PID_LEN);
	rc = cl_audit_keys_load(&keys, ctx->cloud->keys_dir, err, sizeof err);
	if (rc)
		return cs_reply_error(reply, 500, "cannot verify the audit log: %s", err);
	rc = cl_audit_verify(ctx->cloud->audit_log, &keys, &entries, &first_bad, why, sizeof why);
	if (rc == -ENOENT) {
		rc = 0; /* no log yet: nothing was audited, nothing is wrong */
	} else if (rc < 0 && rc > AS_ERR_BASE && first_bad == 0) {
		return cs_reply_error(reply, 500, "cannot read the audit log %s: %s",
				      ctx->cloud->audit_log, as_strerror(rc));
	}
	verify = json_pack("{s:b, s:I, s:o, s:o, s:n}", "intact", rc == 0, "entries",
			   (json_int_t)entries,
			   "first_bad", first_bad ? json_integer((json_int_t)first_bad) : json_null(),
			   "why", rc ? json_string(why[0] ? why : as_strerror(rc)) : json_null(),
			   "witness");
	f.rows = json_array();
	if (!verify || !f.rows) {
		json_decref(verify);
		json_decref(f.rows);
		return cs_reply_error(reply, 500, "out of memory");
	}
	/* The entries before the first bad one are listed all the same. */
	rc = cl_audit_each(ctx->cloud->audit_log, add_entry, &f);
	if (f.failed) {
		json_decref(verify);
		json_decref(f.rows);
		return cs_reply_error(reply, 500, "out of memory");
	}
	return cs_reply_json(reply, 200, json_pack("{s:o, s:o}", "verify", verify, "entries",
						   f.rows));
}
