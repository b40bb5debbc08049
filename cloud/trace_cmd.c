/*
 * trace_cmd.c - 'anshim-cloud trace': run the tracing engine (trace.h) for
 * a case and print the case's timeline and its contacts, as aligned text
 * or as the stable JSON form of docs/TRACING.md; with --reveal, open the
 * contacts' sealed capsules so investigators can call them.
 *
 * Audit before output: every trace is written to the audit log (audit.h)
 * before anything about it is printed.  The entry needs the number of
 * contacts and of capsules revealed, so the trace runs twice: a first,
 * silent run counts them (opening each capsule in memory, then wiping
 * it); then the entry is appended and fsynced; then the second run prints.
 * If the audit entry cannot be written, nothing is printed and the
 * command fails.  The second run never opens more capsules than the
 * entry says: if visits ingested in between add contacts, those past the
 * count are shown pseudonymously, and a note says so.
 *
 * Invariants: phone numbers and names appear only on stdout, only with
 * --reveal, only for contacts; the case's phone (--phone) is turned into a
 * pid and never printed or logged; opened capsules live in one stack
 * struct that is wiped after each contact; memory is bounded by the
 * engine's per-person state (each line or JSON object is printed as soon
 * as it is known).  Single-threaded CLI use.
 */
#include "audit.h"
#include "authority.h"
#include "cli.h"
#include "commands.h"
#include "trace.h"
#include "trace_report.h"

#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/identity.h"
#include "anshim/parse.h"
#include "anshim/strbuf.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PID_HEX (2 * AS_PID_LEN + 1)
#define RISK_PERIOD_MAX (60 * 86400)
#define WHO_MAX 63
#define REASON_MAX 255

struct trace_opts {
	const char *phone, *pid_hex, *from_text, *to_text, *who, *reason, *keys;
	int json, reveal;
	struct cl_trace_params p;
};

/* Opening capsules for --reveal: the counting run opens (and wipes) each
 * contact's capsule to count them for the audit entry; the printing run
 * opens at most as many as the entry says. */
struct opener {
	struct cl_store *store;
	const struct cl_authority *auth;
	uint64_t revealed, limit;
};

/* cl_trace_report_opts.open: pid's capsule into *c. */
static int open_capsule(void *ctx, const uint8_t pid[AS_PID_LEN], struct as_contact *c,
			const char **why)
{
	struct opener *op = ctx;
	uint8_t capsule[AS_CAPSULE_LEN];
	int rc;

	if (op->revealed >= op->limit) {
		*why = "found after the audit entry was written; trace again";
		return 0;
	}
	rc = cl_store_capsule(op->store, pid, capsule);
	if (!rc)
		rc = as_capsule_open(c, capsule, op->auth->contact_pk, op->auth->contact_sk);
	if (rc) {
		*why = rc == AS_E_NOT_FOUND ? "no capsule stored" : as_strerror(rc);
		return 0;
	}
	op->revealed++;
	return 1;
}

static void write_stdout(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	fwrite(p, 1, n, stdout);
}

/* The counting run: contacts, and with --reveal the capsules that open
 * (each wiped at once). */
struct counter {
	struct opener *op;
	int reveal;
	uint64_t contacts;
};

static int count_contact(void *ctx, const struct cl_trace_contact *c)
{
	struct counter *n = ctx;
	struct as_contact who;
	const char *why;

	n->contacts++;
	if (n->reveal) {
		memset(&who, 0, sizeof who);
		open_capsule(n->op, c->pid, &who, &why);
		sodium_memzero(&who, sizeof who);
	}
	return 0;
}

/* ---- options -------------------------------------------------------------- */

static int text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t k = as_utf8_char((const unsigned char *)s + i, n - i);

		if (!k)
			return 0;
		i += k;
	}
	return strspn(s, " ") != n;
}

/*
 * --risk-period: a duration with its unit, in whole minutes, from the
 * minimum overlap (checked by the caller) to 60 days.  0, or the usage
 * error's status.
 */
static int parse_risk_period(const char *text, int64_t *out)
{
	size_t n = strlen(text);
	int64_t v = 0;
	int rc;

	if (n && strspn(text, "0123456789") == n)
		return cl_usage_error("--risk-period '%s': give a unit, e.g. %sh for hours, %sd "
				      "for days or %sm for minutes", text, text, text, text);
	rc = as_parse_duration(text, &v);
	if (rc == AS_E_FIELD)
		return cl_usage_error("--risk-period '%s' is not a duration: give one number and "
				      "one unit (m, h, d or w), e.g. 24h, 36h, 2d or 90m", text);
	if (rc || v < 60 || v > RISK_PERIOD_MAX || v % 60 != 0)
		return cl_usage_error("--risk-period '%s': whole minutes from 1m to 60d (e.g. 24h, "
				      "the default)", text);
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct trace_opts *o)
{
	enum { OPT_RISK_PERIOD = 256 };
	static const struct option options[] = {
		{"phone", required_argument, NULL, 'p'},
		{"pid", required_argument, NULL, 'P'},
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"depth", required_argument, NULL, 'd'},
		{"min-overlap", required_argument, NULL, 'm'},
		{"incubation", required_argument, NULL, 'i'},
		{"risk-period", required_argument, NULL, OPT_RISK_PERIOD},
		{"json", no_argument, NULL, 'j'},
		{"reveal", no_argument, NULL, 'r'},
		{"as", required_argument, NULL, 'a'},
		{"reason", required_argument, NULL, 'R'},
		{"config", required_argument, NULL, 'c'},
		{"keys", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char period[32];
	int64_t v;
	int c, rc;

	memset(o, 0, sizeof *o);
	cl_trace_params_init(&o->p);
	optind = 2;
	opterr = 0;
	while ((c = as_args_next("anshim-cloud", argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'p': o->phone = optarg; break;
		case 'P': o->pid_hex = optarg; break;
		case 'f': o->from_text = optarg; break;
		case 't': o->to_text = optarg; break;
		case 'd':
			if (as_parse_int64(optarg, 1, CL_TRACE_DEPTH_MAX, &v))
				return cl_usage_error("--depth '%s': 1 to %d", optarg, CL_TRACE_DEPTH_MAX);
			o->p.depth = (unsigned)v;
			break;
		case 'm':
			if (as_parse_int64(optarg, 0, 1440, &v))
				return cl_usage_error("--min-overlap '%s': minutes, 0 to 1440", optarg);
			o->p.min_overlap = v * 60;
			break;
		case 'i':
			if (as_parse_int64(optarg, 0, 60, &v))
				return cl_usage_error("--incubation '%s': days, 0 to 60", optarg);
			o->p.incubation = v * 86400;
			break;
		case OPT_RISK_PERIOD:
			rc = parse_risk_period(optarg, &o->p.risk_period);
			if (rc)
				return rc;
			break;
		case 'j': o->json = 1; break;
		case 'r': o->reveal = 1; break;
		case 'a': o->who = optarg; break;
		case 'R': o->reason = optarg; break;
		case 'c': break; /* read by cl_cli_load_config */
		case 'k': o->keys = optarg; break;
		case 'h': return cl_usage_error("%s", "see the trace section of --help");
		default: return CL_EXIT_USAGE; /* as_args_next printed why */
		}
	}
	if (optind < argc)
		return cl_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->phone == !o->pid_hex)
		return cl_usage_error("%s", "trace needs exactly one of --phone PHONE or --pid HEX");
	if (!o->from_text || !o->to_text)
		return cl_usage_error("%s", "trace needs the infectious window: --from TIME --to TIME");
	if (as_parse_time(o->from_text, &o->p.from))
		return cl_usage_error("--from '%s' is not a time (2026-03-02, "
				      "2026-03-02T09:00+09:00 or unix seconds)", o->from_text);
	if (cl_cli_parse_until(o->to_text, &o->p.to))
		return cl_usage_error("--to '%s' is not a time (2026-03-02, "
				      "2026-03-02T18:00+09:00 or unix seconds)", o->to_text);
	if (o->p.from > o->p.to)
		return cl_usage_error("%s", "--from is after --to");
	if (o->p.risk_period < o->p.min_overlap)
		return cl_usage_error("--risk-period %s is shorter than the minimum overlap (%lld "
				      "min): nobody could reach high risk; give a longer period "
				      "(default 24h) or a smaller --min-overlap",
				      cl_trace_period_text(period, o->p.risk_period),
				      (long long)(o->p.min_overlap / 60));
	if (!o->reason)
		return cl_usage_error("%s", "trace needs --reason TEXT: the audit log records why "
				      "each trace was run");
	if (!text_ok(o->reason, REASON_MAX))
		return cl_usage_error("--reason: 1 to %d bytes of UTF-8 text, no control characters",
				      REASON_MAX);
	if (o->reveal && !o->who)
		return cl_usage_error("%s", "--reveal needs --as NAME: who is opening the contacts' "
				      "data (written to the audit log)");
	if (o->who && !text_ok(o->who, WHO_MAX))
		return cl_usage_error("--as: 1 to %d bytes of UTF-8 text, no control characters",
				      WHO_MAX);
	if (o->pid_hex && (strlen(o->pid_hex) != 2 * AS_PID_LEN ||
			   as_hex_decode(o->p.pid, AS_PID_LEN, o->pid_hex)))
		return cl_usage_error("--pid '%s': give the 32 hex digits of a pid", o->pid_hex);
	return 0;
}

/* ---- the command ------------------------------------------------------------- */

static int audit(struct cl_config *cfg, const struct trace_opts *o, const char *who,
		 uint64_t contacts, uint64_t revealed)
{
	struct cl_audit_entry e;
	char err[1024] = "";
	int rc;

	memset(&e, 0, sizeof e);
	snprintf(e.who, sizeof e.who, "%s", who);
	snprintf(e.action, sizeof e.action, "%s", o->reveal ? "reveal" : "trace");
	as_hex_encode(e.case_ref, o->p.pid, AS_PID_LEN);
	e.window_from = o->p.from;
	e.window_to = o->p.to;
	e.depth = o->p.depth;
	e.contacts = contacts > UINT32_MAX ? UINT32_MAX : (uint32_t)contacts;
	e.revealed = revealed > UINT32_MAX ? UINT32_MAX : (uint32_t)revealed;
	snprintf(e.reason, sizeof e.reason, "%s", o->reason);
	rc = cl_audit_append(cfg, &e, NULL, err, sizeof err);
	if (rc)
		fprintf(stderr, "anshim-cloud: trace not run: cannot write the audit entry: %s\n",
			err[0] ? err : as_strerror(rc));
	return rc;
}

int cl_cmd_trace(int argc, char **argv)
{
	struct trace_opts o;
	struct cl_config cfg;
	struct cl_store *store = NULL;
	struct cl_authority auth;
	uint64_t counted = 0, limit = 0;
	char who[WHO_MAX + 1];
	const char *failed = NULL;
	unsigned need = 0;
	int rc, status = 1;

	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc;
	memset(&auth, 0, sizeof auth);
	if (o.who)
		snprintf(who, sizeof who, "%s", o.who);
	else
		cl_cli_unix_user(who);
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	if (o.keys) {
		char *k = strdup(o.keys);

		if (!k) {
			fprintf(stderr, "anshim-cloud: out of memory\n");
			goto out;
		}
		free(cfg.keys_dir);
		cfg.keys_dir = k; /* the audit log's signing key comes from here too */
	}
	need = (o.phone ? CL_KEY_PSEUDONYM : 0) | (o.reveal ? CL_KEY_CONTACT : 0);
	if (need && (rc = cl_authority_load(&auth, cfg.keys_dir, need, &failed)) != 0) {
		fprintf(stderr, "anshim-cloud: cannot load authority key %s: %s%s\n",
			failed ? failed : cfg.keys_dir, as_strerror(rc),
			rc == -ENOENT ? " (pass --keys DIR or set keys_dir in the config)" : "");
		goto out;
	}
	if (o.phone) {
		rc = as_pid_from_phone(o.p.pid, auth.pseudonym_key, o.phone);
		if (rc) {
			/* The number itself is not echoed: stderr may be logged. */
			status = cl_usage_error("%s", "--phone: not a phone number we accept "
						"(examples: 010-1234-5678, +82 10 1234 5678)");
			goto out;
		}
	}
	if (cl_cli_open_store(&store, &cfg, 1))
		goto out;

	/* Run 1: count, print nothing. */
	{
		struct opener op = {store, &auth, 0, UINT64_MAX};
		struct counter n = {&op, o.reveal, 0};
		struct cl_trace_sink sink = {&n, NULL, count_contact, NULL};

		rc = cl_trace_run(store, &o.p, &sink, NULL);
		if (rc) {
			fprintf(stderr, "anshim-cloud: trace failed: %s\n", as_strerror(rc));
			goto out;
		}
		if (audit(&cfg, &o, who, n.contacts, op.revealed))
			goto out;
		counted = n.contacts;
		limit = op.revealed;
	}

	/* Run 2: print, revealing at most what the audit entry says. */
	{
		struct opener op = {store, &auth, 0, limit};
		struct cl_trace_report_opts ro = {
			.p = &o.p, .json = o.json, .reveal = o.reveal, .now = (int64_t)time(NULL),
			.open = open_capsule, .open_ctx = &op, .write = write_stdout,
		};
		struct cl_trace_report_counts shown;

		rc = cl_trace_report(store, &ro, &shown);
		if (rc) {
			fflush(stdout);
			fprintf(stderr, "anshim-cloud: trace failed: %s\n", as_strerror(rc));
			goto out;
		}
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "anshim-cloud: cannot write the trace to stdout\n");
			goto out;
		}
		if (shown.contacts != counted)
			fprintf(stderr, "anshim-cloud: note: the store changed during the trace: %llu "
				"contacts when the audit entry was written, %llu printed\n",
				(unsigned long long)counted, (unsigned long long)shown.contacts);
		if (o.reveal && shown.reveal_failed)
			fprintf(stderr, "anshim-cloud: %llu contact(s) could not be revealed (see "
				"\"not revealed\")\n", (unsigned long long)shown.reveal_failed);
	}
	status = 0;
out:
	cl_authority_wipe(&auth);
	if (store)
		cl_store_close(store);
	cl_config_free(&cfg);
	return status;
}
