/*
 * audit_cmd.c - 'anshim-cloud audit verify' and 'anshim-cloud audit show':
 * the command-line view of the audit log of traces and reveals (audit.h).
 *
 *   verify  checks every entry (chain, sequence, hashes, signatures with
 *           audit.pub, and sign.pub for version 1 entries, from keys_dir)
 *           and prints one line saying the log is
 *           intact with N entries, or which entry is the first broken one
 *           and why.  Exit 0 / 1.  With --witness it first fetches the
 *           audit head anshim-cloudd keeps retained on the broker
 *           (audithead.h), checks its signature, and then also requires
 *           that the log holds that entry with that hash: a log cut short
 *           or rewritten after the head was published fails.
 *   show    lists the entries in order (text or --json).  It checks the
 *           chain but not the signatures; it says so when the log is broken
 *           and points at 'verify'.
 *
 * Invariants: free text from the log (who, reason) is never written raw to
 * a terminal -- control characters and ill-formed UTF-8 are escaped, as
 * they are in the file.  Single-threaded CLI use.
 */
#include "audit.h"
#include "authority.h"
#include "cli.h"
#include "commands.h"
#include "witnesscheck.h"

#include "anshim/error.h"
#include "anshim/parse.h"
#include "anshim/strbuf.h"

#include "anshim/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct audit_args {
	int json;
	const char *keys; /* --keys DIR, or NULL for keys_dir */
	int witness;      /* --witness */
	int64_t wait_s;   /* --wait SECONDS for the broker */
};

#define WITNESS_WAIT_DEFAULT 10
#define WITNESS_WAIT_MAX 600

/* Options after 'audit verify|show': --config FILE (read by cli.c),
 * --keys DIR (verify), --json (show). */
static int parse_args(int argc, char **argv, int is_show, struct audit_args *a)
{
	static const struct option show_options[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	static const struct option verify_options[] = {
		{"config", required_argument, NULL, 'c'},
		{"keys", required_argument, NULL, 'k'},
		{"witness", no_argument, NULL, 'w'},
		{"wait", required_argument, NULL, 'W'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof *a);
	a->wait_s = WITNESS_WAIT_DEFAULT;
	optind = 3;
	while ((c = as_args_next("anshim-cloud", argc, argv, "",
				 is_show ? show_options : verify_options, NULL)) != -1) {
		if (c == 'j')
			a->json = 1;
		else if (c == 'k')
			a->keys = optarg;
		else if (c == 'w')
			a->witness = 1;
		else if (c == 'W' && as_parse_int64(optarg, 1, WITNESS_WAIT_MAX, &a->wait_s) != 0)
			return cl_usage_error("--wait '%s': give whole seconds, 1-%d", optarg,
					      WITNESS_WAIT_MAX);
		else if (c != 'c' && c != 'W')
			return CL_EXIT_USAGE; /* as_args_next printed why */
	}
	if (optind < argc)
		return cl_usage_error("unexpected argument '%s' for 'audit %s'", argv[optind],
				      argv[2]);
	return 0;
}

/* verify --witness (witnesscheck.h): the verdict on stdout, or on stderr
 * why there is none (the broker, the log unreadable); 0 only when the log
 * holds the witnessed head. */
static int verify_witnessed(const struct cl_config *cfg, const struct cl_audit_keys *keys,
			    unsigned wait_ms)
{
	struct cl_witness_result r;

	if (cl_witness_fetch(cfg, keys, wait_ms, &r) == 0 &&
	    cl_witness_compare(cfg->audit_log, keys, &r) == 0) {
		printf("%s\n", r.message);
		return 0;
	}
	if (r.state == CL_WITNESS_UNREACHABLE)
		fprintf(stderr, "anshim-cloud: audit verify --witness: %s (is the broker up? "
			"check broker and the broker_* settings; --wait SECONDS waits longer)\n",
			r.message);
	else if (r.state == CL_WITNESS_NO_HEAD)
		fprintf(stderr, "anshim-cloud: audit verify --witness: %s\n", r.message);
	else if (r.state == CL_WITNESS_LOG_UNREADABLE)
		fprintf(stderr, "anshim-cloud: %s\n", r.message);
	else
		printf("%s\n", r.message);
	return 1;
}

static int audit_verify(int argc, char **argv)
{
	struct audit_args args;
	struct cl_config cfg;
	struct cl_audit_keys keys;
	uint64_t n = 0, bad = 0;
	char why[300];
	int rc;

	if ((rc = parse_args(argc, argv, 0, &args)) != 0)
		return rc;
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	rc = cl_audit_keys_load(&keys, args.keys ? args.keys : cfg.keys_dir, why, sizeof why);
	if (rc) {
		fprintf(stderr, "anshim-cloud: %s\n", why);
		cl_config_free(&cfg);
		return 1;
	}
	if (args.witness) {
		rc = verify_witnessed(&cfg, &keys, (unsigned)args.wait_s * 1000);
		cl_config_free(&cfg);
		return rc;
	}
	rc = cl_audit_verify(cfg.audit_log, &keys, &n, &bad, why, sizeof why);
	if (rc == 0)
		printf("audit log %s: %llu entries, chain intact\n", cfg.audit_log,
		       (unsigned long long)n);
	else if (bad > 0)
		printf("audit log %s: entry %llu is broken: %s\n", cfg.audit_log,
		       (unsigned long long)bad, why);
	else
		fprintf(stderr, "anshim-cloud: audit log %s: %s%s\n", cfg.audit_log, why,
			rc == -ENOENT ? " (no trace or reveal has been recorded yet, the log "
			"was removed, or audit_log points elsewhere)" : "");
	cl_config_free(&cfg);
	return rc ? 1 : 0;
}

struct show_ctx {
	int json;
	int write_failed; /* stdout or memory failed: stop listing */
	uint64_t shown;
};

/* Text as it is written in the log: quoted, with \xHH for '"', '\\',
 * control characters and ill-formed UTF-8. */
static void add_quoted(struct as_strbuf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;

	as_strbuf_add(b, "\"");
	while (i < n) {
		size_t k = (u[i] == '"' || u[i] == '\\') ? 0 : as_utf8_char(u + i, n - i);
		if (k == 0) {
			as_strbuf_printf(b, "\\x%02x", u[i]);
			i++;
		} else {
			as_strbuf_addn(b, s + i, k);
			i += k;
		}
	}
	as_strbuf_add(b, "\"");
}

/* A JSON string: valid UTF-8 kept, controls as \u00XX, ill-formed bytes as
 * U+FFFD (JSON text must be UTF-8). */
static void add_json(struct as_strbuf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;

	as_strbuf_add(b, "\"");
	while (i < n) {
		size_t k = as_utf8_char(u + i, n - i);
		if (u[i] == '"' || u[i] == '\\') {
			as_strbuf_printf(b, "\\%c", u[i]);
			i++;
		} else if (k > 0) {
			as_strbuf_addn(b, s + i, k);
			i += k;
		} else if (u[i] < 0x80 || (u[i] == 0xC2 && i + 1 < n && u[i + 1] >= 0x80 &&
					   u[i + 1] <= 0x9F)) {
			/* C0, DEL, or a C1 control (U+0080..U+009F, two bytes) */
			unsigned cp = u[i] < 0x80 ? u[i] : u[i + 1];
			as_strbuf_printf(b, "\\u%04x", cp);
			i += u[i] < 0x80 ? 1 : 2;
		} else {
			as_strbuf_add(b, "\\ufffd");
			i++;
		}
	}
	as_strbuf_add(b, "\"");
}

static int show_one(void *ctx, uint64_t index, const struct cl_audit_entry *e)
{
	struct show_ctx *s = ctx;
	struct as_strbuf b = {0};
	char t[32], from[32], to[32];
	as_format_time(t, e->time);
	as_format_time(from, e->window_from);
	as_format_time(to, e->window_to);
	if (s->json) {
		as_strbuf_printf(&b, "%s{\"entry\":%llu,\"time\":\"%s\",\"who\":",
				 s->shown ? "," : "", (unsigned long long)index, t);
		add_json(&b, e->who);
		as_strbuf_printf(&b, ",\"action\":\"%s\",\"case\":\"%s\",\"window_from\":\"%s\","
				 "\"window_to\":\"%s\",\"depth\":%lu,\"contacts\":%lu,"
				 "\"revealed\":%lu,\"reason\":", e->action, e->case_ref, from, to,
				 (unsigned long)e->depth, (unsigned long)e->contacts,
				 (unsigned long)e->revealed);
		add_json(&b, e->reason);
		as_strbuf_printf(&b, ",\"version\":%u", e->version);
		if (e->version == 2) {
			as_strbuf_printf(&b, ",\"min_overlap_minutes\":%lld,\"risk_period_minutes\":"
					 "%lld,\"incubation_days\":%lld,\"request\":%llu,"
					 "\"case_no\":", (long long)(e->min_overlap / 60),
					 (long long)(e->risk_period / 60),
					 (long long)(e->incubation / 86400),
					 (unsigned long long)e->request);
			add_json(&b, e->case_no);
		}
		as_strbuf_add(&b, "}\n");
	} else {
		as_strbuf_printf(&b, "%llu  %s  %-6s  case %s  by ", (unsigned long long)index, t,
				 e->action, e->case_ref);
		add_quoted(&b, e->who);
		if (e->request)
			as_strbuf_printf(&b, "  request %llu", (unsigned long long)e->request);
		if (e->case_no[0]) {
			as_strbuf_add(&b, "  case no ");
			add_quoted(&b, e->case_no);
		}
		as_strbuf_printf(&b, "\n     window %s .. %s  depth %lu  contacts %lu  "
				 "revealed %lu\n     reason ", from, to, (unsigned long)e->depth,
				 (unsigned long)e->contacts, (unsigned long)e->revealed);
		add_quoted(&b, e->reason);
		as_strbuf_add(&b, "\n");
	}
	if (b.failed || !b.p || fputs(b.p, stdout) == EOF)
		s->write_failed = 1;
	as_strbuf_free(&b);
	s->shown++;
	return s->write_failed;
}

static int audit_show(int argc, char **argv)
{
	struct audit_args args;
	struct cl_config cfg;
	struct show_ctx s = {0};
	int rc;

	if ((rc = parse_args(argc, argv, 1, &args)) != 0)
		return rc;
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	s.json = args.json;
	if (s.json)
		printf("[\n");
	rc = cl_audit_each(cfg.audit_log, show_one, &s);
	if (s.json)
		printf("]\n");
	else if (!rc)
		printf("%llu entries (signatures not checked here: run 'anshim-cloud audit "
		       "verify')\n", (unsigned long long)s.shown);
	if (s.write_failed)
		fprintf(stderr, "anshim-cloud: audit show: writing the listing failed\n");
	else if (rc == -ENOENT && s.shown == 0)
		fprintf(stderr, "anshim-cloud: audit log %s does not exist (no trace or reveal "
			"has been recorded yet, or audit_log points elsewhere)\n", cfg.audit_log);
	else if (rc)
		fprintf(stderr, "anshim-cloud: audit log %s: entry %llu is broken: %s; run "
			"'anshim-cloud audit verify'\n", cfg.audit_log,
			(unsigned long long)s.shown + 1, as_strerror(rc));
	cl_config_free(&cfg);
	return rc ? 1 : 0;
}

int cl_cmd_audit(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[2], "verify") == 0)
		return audit_verify(argc, argv);
	if (argc >= 3 && strcmp(argv[2], "show") == 0)
		return audit_show(argc, argv);
	return cl_usage_error("%s", "usage: anshim-cloud audit verify [--keys DIR] "
			      "[--witness [--wait SECONDS]] | audit show [--json]");
}
