/*
 * api_audit.c - GET /api/audit?user=U&case=PID: the audit log's chain
 * verification (every entry's hash, chain and signature, cl_audit_verify)
 * and its entries, filtered by the account or Unix user who wrote them and
 * by the case's pid, the newest CS_AUDIT_ROWS_MAX that match, in log
 * order.  Break-glass entries are flagged for the page to show in red.
 *
 * "witness" is the check of 'anshim-cloud audit verify --witness'
 * (witnesscheck.h): does the log hold the head anshim-cloudd witnessed on
 * the broker?  The head is fetched with the cloud configuration's broker
 * settings (as the CLI, account broker_username + "/cli"), waiting at most
 * CS_WITNESS_WAIT_MS, and kept CS_WITNESS_KEEP_S (a failed fetch
 * CS_WITNESS_RETRY_S), so an audit page costs one walk of the log and
 * rarely a broker round trip; the log is compared with it on every request,
 * so a cut or rewrite shows at once.
 *
 * Any handler thread; the log is read under its shared lock (audit.c);
 * the kept head under witness_lock, held during a fetch so that only one
 * connects at a time (the account is also the client id): other audit
 * requests wait at most CS_WITNESS_WAIT_MS, other routes not at all.
 */
#include "api_handlers.h"
#include "jsonin.h"
#include "jsonout.h"

#include "audit.h"
#include "witnesscheck.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/parse.h"
#include "anshim/strbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define CS_AUDIT_ROWS_MAX 2000
#define CS_WITNESS_WAIT_MS 3000
#define CS_WITNESS_KEEP_S 30
#define CS_WITNESS_RETRY_S 5

static pthread_mutex_t witness_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int valid;
	int64_t fetched;             /* unix seconds */
	struct cl_witness_result r;  /* as cl_witness_fetch left it */
} witness_kept;

/* The broker's head into *r (fetched, or kept from a fetch younger than
 * CS_WITNESS_KEEP_S; a failure CS_WITNESS_RETRY_S), and *fetched. */
static void witness_head(const struct cs_ctx *ctx, const struct cl_audit_keys *keys, int64_t now,
			 struct cl_witness_result *r, int64_t *fetched)
{
	int64_t age;

	pthread_mutex_lock(&witness_lock);
	age = now - witness_kept.fetched;
	if (!witness_kept.valid || age < 0 ||
	    age >= (witness_kept.r.have_head ? CS_WITNESS_KEEP_S : CS_WITNESS_RETRY_S)) {
		cl_witness_fetch(ctx->cloud, keys, CS_WITNESS_WAIT_MS, &witness_kept.r);
		witness_kept.fetched = now;
		witness_kept.valid = 1;
	}
	*r = witness_kept.r;
	*fetched = witness_kept.fetched;
	pthread_mutex_unlock(&witness_lock);
}

static json_t *witness_json(const struct cl_witness_result *r, int64_t fetched)
{
	return json_pack("{s:s, s:o, s:o, s:s, s:o}", "state", cl_witness_state_name(r->state),
			 "seq", r->have_head ? json_integer((json_int_t)r->head.seq) : json_null(),
			 "holds", r->have_head ? json_boolean(r->state == CL_WITNESS_INTACT)
					       : json_null(),
			 "message", r->message, "fetched", cs_json_time(fetched));
}

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
	struct cl_witness_result w;
	int64_t fetched;
	char err[512] = "";
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
	witness_head(ctx, &keys, call->now, &w, &fetched);
	cl_witness_compare(ctx->cloud->audit_log, &keys, &w);
	rc = w.log_rc;
	if (rc == -ENOENT) {
		rc = 0; /* no log yet: nothing was audited, nothing is wrong */
	} else if (rc < 0 && rc > AS_ERR_BASE && w.first_bad == 0) {
		return cs_reply_error(reply, 500, "cannot read the audit log %s: %s",
				      ctx->cloud->audit_log, as_strerror(rc));
	}
	verify = json_pack("{s:b, s:I, s:o, s:o, s:o}", "intact", rc == 0, "entries",
			   (json_int_t)w.entries,
			   "first_bad", w.first_bad ? json_integer((json_int_t)w.first_bad)
						    : json_null(),
			   "why", rc ? json_string(w.why[0] ? w.why : as_strerror(rc)) : json_null(),
			   "witness", witness_json(&w, fetched));
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
