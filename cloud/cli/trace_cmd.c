/*
 * trace_cmd.c - 'anshim-cloud trace': run the tracing engine (trace.h) for
 * a case and print the case's timeline and its contacts, as aligned text
 * or as the stable JSON form of docs/TRACING.md; with --reveal, open the
 * contacts' names and phones (the break-glass reveal) through the reveal
 * service.
 *
 * Audit before output: this command holds no key that opens capsules or
 * signs the audit log.  The reveal service (revealclient.h) writes every
 * entry, recording this process's Unix user, before anything about the
 * trace is printed.  The entry needs the number of contacts, so the trace
 * runs twice: a first, silent run counts them; then the service writes
 * the entry ('trace'), or with --reveal runs the same trace itself, opens
 * its contacts and writes a 'break-glass' entry (only for members of
 * reveal_breakglass_group); then the second run prints.  If the service
 * refuses or cannot be reached, nothing is printed and the command fails.
 * With --reveal only the contacts the service opened are shown: contacts
 * ingested in between are shown pseudonymously, and a note says so.
 *
 * Invariants: phone numbers and names appear only on stdout, only with
 * --reveal, only for contacts; the case's phone (--phone) is turned into a
 * pid and never printed or logged; the opened contacts live in one array
 * that is wiped when the command ends; memory is bounded by the engine's
 * per-person state and the contacts opened.  Single-threaded CLI use.
 */
#include "authority.h"
#include "cli.h"
#include "commands.h"
#include "revealclient.h"
#include "revealed_set.h"
#include "revealwire.h"
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
#define REASON_MAX 255

struct trace_opts {
	const char *phone, *pid_hex, *from_text, *to_text, *reason, *case_ref, *keys;
	int json, reveal;
	struct cl_trace_params p;
};

static void write_stdout(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	fwrite(p, 1, n, stdout);
}

/* The counting run: the contacts, for the audit entry. */
static int count_contact(void *ctx, const struct cl_trace_contact *c)
{
	(void)c;
	++*(uint64_t *)ctx;
	return 0;
}

/* ---- options -------------------------------------------------------------- */

/* 1..max bytes of UTF-8 text without control characters, not all spaces. */
static int text_ok(const char *s, size_t max)
{
	return cl_revealwire_text_ok(s, 1, max) && strspn(s, " ") != strlen(s);
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
		{"case-ref", required_argument, NULL, 'C'},
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
		case 'a':
			return cl_usage_error("%s", "--as is no longer accepted: a name given on the "
					      "command line proves nothing. The audit log records "
					      "your Unix user (the reveal service learns it from "
					      "the socket); drop --as");
		case 'C': o->case_ref = optarg; break;
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
	if (o->case_ref && (strlen(o->case_ref) > CL_CASE_REF_MAX ||
			    (o->case_ref[0] && !text_ok(o->case_ref, CL_CASE_REF_MAX))))
		return cl_usage_error("--case-ref: at most %d bytes of UTF-8 text, no control "
				      "characters", CL_CASE_REF_MAX);
	if (o->pid_hex && (strlen(o->pid_hex) != 2 * AS_PID_LEN ||
			   as_hex_decode(o->p.pid, AS_PID_LEN, o->pid_hex)))
		return cl_usage_error("--pid '%s': give the 32 hex digits of a pid", o->pid_hex);
	return 0;
}

/* ---- the command ------------------------------------------------------------- */

/* The audit entry, written by the reveal service: a 'trace', or with
 * --reveal a 'break-glass' that also opens the contacts into *opened. */
static int audit(struct cl_config *cfg, const struct trace_opts *o, uint64_t contacts,
		 struct cl_revealed_set *opened)
{
	struct cl_reveal_scope scope;
	char err[1024] = "";
	int rc;

	memset(&scope, 0, sizeof scope);
	scope.params = o->p;
	snprintf(scope.reason, sizeof scope.reason, "%s", o->reason);
	snprintf(scope.case_ref, sizeof scope.case_ref, "%s", o->case_ref ? o->case_ref : "");
	if (o->reveal) {
		rc = cl_reveal_break_glass(cfg->reveal_socket, &scope, cl_revealed_set_add, opened,
					   err, sizeof err);
		cl_revealed_set_sort(opened);
	} else {
		rc = cl_reveal_log_trace(cfg->reveal_socket, NULL, &scope,
					 contacts > UINT32_MAX ? UINT32_MAX : (uint32_t)contacts,
					 NULL, err, sizeof err);
	}
	if (rc)
		fprintf(stderr, "anshim-cloud: trace not %s: %s\n",
			o->reveal ? "revealed" : "shown: the audit entry cannot be written",
			err[0] ? err : as_strerror(rc));
	return rc;
}

int cl_cmd_trace(int argc, char **argv)
{
	struct trace_opts o;
	struct cl_config cfg;
	struct cl_store *store = NULL;
	struct cl_authority auth;
	struct cl_revealed_set opened = {0};
	uint64_t counted = 0;
	const char *failed = NULL;
	unsigned need = 0;
	int rc, status = 1;

	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc;
	memset(&auth, 0, sizeof auth);
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	o.p.memory_budget = (size_t)cfg.trace_memory;
	if (o.keys) {
		char *k = strdup(o.keys);

		if (!k) {
			fprintf(stderr, "anshim-cloud: out of memory\n");
			goto out;
		}
		free(cfg.keys_dir);
		cfg.keys_dir = k;
	}
	/* --keys DIR: pseudonym.key read here (an offline key set); otherwise
	 * the reveal service, which alone holds it, derives the pid. */
	need = o.phone && o.keys ? CL_KEY_PSEUDONYM : 0;
	if (need && (rc = cl_authority_load(&auth, cfg.keys_dir, need, &failed)) != 0) {
		fprintf(stderr, "anshim-cloud: cannot load authority key %s: %s%s\n",
			failed ? failed : cfg.keys_dir, as_strerror(rc),
			" (without --keys the reveal service derives the pid; or give the "
			"case's pid with --pid)");
		goto out;
	}
	if (o.phone) {
		char err[512] = "";

		rc = need ? as_pid_from_phone(o.p.pid, auth.pseudonym_key, o.phone)
			  : cl_reveal_pid_of_phone(cfg.reveal_socket, o.phone, o.p.pid, err,
						   sizeof err);
		if (rc == AS_E_FIELD || (need && rc)) {
			/* The number itself is not echoed: stderr may be logged. */
			status = cl_usage_error("%s", "--phone: not a phone number we accept "
						"(examples: 010-1234-5678, +82 10 1234 5678)");
			goto out;
		}
		if (rc) {
			fprintf(stderr, "anshim-cloud: --phone: %s\n", err);
			goto out;
		}
	}
	if (cl_cli_open_store(&store, &cfg, 1))
		goto out;

	/* Run 1: count, print nothing; then the audit entry. */
	{
		struct cl_trace_sink sink = {&counted, NULL, count_contact, NULL};

		struct cl_trace_order total;

		rc = cl_trace_run(store, &o.p, &sink, &total);
		if (rc == AS_E_BUDGET) {
			struct cl_trace_report_counts c = {.orders = total.order,
							   .people = total.people};
			char text[600];

			fprintf(stderr, "anshim-cloud: %s (nothing was printed or revealed)\n",
				cl_trace_budget_text(text, sizeof text, cfg.trace_memory, &c));
			goto out;
		}
		if (rc) {
			const char *detail = cl_store_last_error();

			/* e.g. a PostgreSQL store: "trace on an index node" */
			fprintf(stderr, "anshim-cloud: trace failed: %s%s%s\n", as_strerror(rc),
				*detail ? ": " : "", detail);
			goto out;
		}
		if (audit(&cfg, &o, counted, &opened))
			goto out;
	}

	/* Run 2: print, revealing only what the service opened. */
	{
		struct cl_trace_report_opts ro = {
			.p = &o.p, .json = o.json, .reveal = o.reveal, .now = (int64_t)time(NULL),
			.open = cl_revealed_set_open, .open_ctx = &opened, .write = write_stdout,
		};
		struct cl_trace_report_counts shown;

		rc = cl_trace_report(store, &ro, &shown);
		if (rc) {
			char text[600];

			fflush(stdout);
			fprintf(stderr, "anshim-cloud: %s\n",
				rc == AS_E_BUDGET
					? cl_trace_budget_text(text, sizeof text, cfg.trace_memory,
							       &shown)
					: as_strerror(rc));
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
	cl_revealed_set_wipe(&opened);
	cl_authority_wipe(&auth);
	if (store)
		cl_store_close(store);
	cl_config_free(&cfg);
	return status;
}
