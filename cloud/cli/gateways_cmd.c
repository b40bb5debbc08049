/*
 * gateways_cmd.c - 'anshim-cloud gateways': each enrolled gateway's
 * coverage - the periods the cloud heard its signed heartbeats, the
 * silences between them (offline, down, rebooted, never heard, silent
 * now), its last heartbeat (up since, last seq, chain head, journal use,
 * clock state), and its journal chain as the cloud follows it (new
 * journals, forks, breaks; whether the last heartbeat's chain head agrees)
 * - as aligned text or JSON, optionally only the gateways silent now or
 * during a window.
 *
 * Read-only: it opens the store read-only and prints as it goes (one
 * gateway's periods in memory at a time).  Single-threaded CLI use.
 */
#include "bigarray.h"
#include "cli.h"
#include "commands.h"
#include "gwcoverage.h"

#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/parse.h"
#include "anshim/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage_text[] =
"Usage: anshim-cloud gateways [--silent] [--from TIME] [--to TIME] [--json]\n"
"                             [--config FILE]\n"
"\n"
"Show each enrolled gateway's coverage, from the signed heartbeats every\n"
"gateway sends (every heartbeat_interval, 5 minutes by default, whether or\n"
"not anybody checks in):\n"
"\n"
"  heard    a period in which its heartbeats kept coming (no two more than\n"
"           two intervals apart), with the number of heartbeats and of\n"
"           daemon restarts in it;\n"
"  silent   a gap between two such periods, or since the last heartbeat,\n"
"           of more than two intervals. Its kind says what the first\n"
"           heartbeat after it showed:\n"
"             offline      the gateway kept running but could not reach the\n"
"                          cloud (network or broker); its check-ins were\n"
"                          journaled and are delivered when it is back;\n"
"             down         the gateway daemon started again during it: it\n"
"                          was not running, nobody could check in there;\n"
"             rebooted     as down, and the device itself booted again;\n"
"             silent       still silent now: not known yet;\n"
"             never-heard  never heard at all since its enrolment.\n"
"  no data  the time before its first heartbeat (kind never-heard):\n"
"           nothing is known of it (the gateway may have run without\n"
"           heartbeats); it is not a silence, and --silent with a window\n"
"           does not count it unless the gateway was never heard at all.\n"
"\n"
"and its last heartbeat: when it was sent, up since, the journal's last\n"
"seq, the seq the cloud acknowledged, the chain head, the journal's\n"
"records and use, and whether its clock was synced, corrected from the\n"
"cloud's time, or unsynced. A heartbeat is placed at its own time when the\n"
"gateway's clock is synced or corrected, else at the time it arrived.\n"
"\n"
"Then the gateway's journal chain as the cloud follows it from its batches:\n"
"the journal id, the seq and chain head it holds, whether the last\n"
"heartbeat agrees (same seq, same head), differs (another journal at that\n"
"seq), is ahead (records not delivered yet) or behind (the journal holds\n"
"less than the cloud took: lost or restored), and the chain events in the\n"
"window: start, new-journal (the journal was made anew), fork (a restored\n"
"backup continued an earlier link; its records were reconciled by content,\n"
"none stored twice) and break (a record changed or removed in the journal,\n"
"with its cause: record-changed, head-mismatch, early-placeholder, unlinked).\n"
"\n"
"Options:\n"
"      --silent       only the gateways silent now; with --from/--to, only\n"
"                     those silent at any moment of that window\n"
"      --from TIME    show coverage from TIME (default: everything stored,\n"
"                     i.e. the retention period)\n"
"      --to TIME      show coverage up to TIME (default: now); a bare date\n"
"                     means the end of that day\n"
"                     TIME: 2026-03-02, 2026-03-02T09:00+09:00 or unix seconds\n"
"      --json         one JSON object (described in docs/OPERATE-CLOUD.md)\n"
"      --config FILE  the cloud's configuration (default " CL_DEFAULT_CONFIG ")\n"
"  -h, --help         this text\n"
"\n"
"Exit status: 0 on success (also when gateways are silent), 1 on failure,\n"
"2 on bad usage.\n";

struct gateways_opts {
	int silent_only, json, window_given;
	int64_t from, to, now;
};

struct lister {
	struct cl_store *store;
	const struct gateways_opts *o;
	unsigned shown;
	int rc;
};

/* The silences of one gateway in the window. */
struct silence_list {
	struct cl_silence *s;
	size_t n, cap;
};

static int add_silence(void *ctx, const struct cl_silence *sl)
{
	struct silence_list *l = ctx;

	if (big_grow((void **)&l->s, &l->cap, l->n + 1, sizeof *l->s))
		return -ENOMEM;
	l->s[l->n++] = *sl;
	return 0;
}

static void json_time(struct as_strbuf *b, const char *key, int64_t t)
{
	char buf[32];

	as_strbuf_printf(b, "\"%s\":\"%s\"", key, as_format_time(buf, t));
}

/* "2 d 3 h", "3 h 5 min", "12 min", "40 s". */
static char *duration_text(char out[32], int64_t s)
{
	if (s >= 86400)
		snprintf(out, 32, "%lld d %lld h", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, 32, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(out, 32, "%lld min", (long long)(s / 60));
	else
		snprintf(out, 32, "%lld s", (long long)s);
	return out;
}

static int period_in_window(const struct cl_period *p, const struct gateways_opts *o)
{
	return p->end >= o->from && p->start <= o->to;
}

static void text_heard(struct as_strbuf *b, const struct cl_period *p)
{
	char a[32], z[32], d[32];

	as_strbuf_printf(b, "    heard   %s .. %s  %-13s %u heartbeat%s", as_format_time(a, p->start),
			 as_format_time(z, p->end), duration_text(d, p->end - p->start),
			 p->heartbeats, p->heartbeats == 1 ? "" : "s");
	if (p->restarts)
		as_strbuf_printf(b, ", %u restart%s", p->restarts, p->restarts == 1 ? "" : "s");
	as_strbuf_add(b, "\n");
}

/* heard: the gateway has been heard at least once (else its whole time
 * since enrolment is one silence). */
static void text_silence(struct as_strbuf *b, const struct cl_silence *sl, int heard)
{
	char a[32], z[32], d[32];

	if (sl->kind == CL_SILENT_NOW)
		snprintf(z, sizeof z, "now");
	else
		as_format_time(z, sl->to);
	/* Before the first heartbeat nothing is known: not a silence. */
	as_strbuf_printf(b, "    %-7s %s .. %-20s  %-13s %s\n",
			 sl->kind == CL_SILENT_NEVER && heard ? "no data" : "SILENT", as_format_time(a, sl->from),
			 z, duration_text(d, sl->to - sl->from), cl_silence_kind_name(sl->kind));
}

static void json_period(struct as_strbuf *b, const struct cl_period *p, int first)
{
	as_strbuf_add(b, first ? "{" : ",{");
	json_time(b, "from", p->start);
	as_strbuf_add(b, ",");
	json_time(b, "to", p->end);
	as_strbuf_printf(b, ",\"heartbeats\":%u,\"restarts\":%u,\"interval\":%u}", p->heartbeats,
			 p->restarts, p->interval);
}

static void json_silence(struct as_strbuf *b, const struct cl_silence *sl, int first)
{
	as_strbuf_add(b, first ? "{" : ",{");
	json_time(b, "from", sl->from);
	as_strbuf_add(b, ",");
	json_time(b, "to", sl->to);
	as_strbuf_printf(b, ",\"seconds\":%lld,\"kind\":\"%s\"}", (long long)(sl->to - sl->from),
			 cl_silence_kind_name(sl->kind));
}

static void json_last(struct as_strbuf *b, const struct cl_period *last)
{
	char head[2 * AS_CHAIN_HEAD_LEN + 1];

	as_hex_encode(head, last->chain_head, AS_CHAIN_HEAD_LEN);
	as_strbuf_add(b, "{");
	json_time(b, "at", last->end);
	as_strbuf_add(b, ",");
	json_time(b, "received", last->received);
	as_strbuf_add(b, ",");
	json_time(b, "up_since", last->last_up_since);
	as_strbuf_printf(b, ",\"clock\":\"%s\",\"interval\":%u,\"last_seq\":%llu,\"acked_seq\":%llu,"
			 "\"chain_head\":\"%s\",\"journal_records\":%llu,\"journal_used\":%llu,"
			 "\"journal_size\":%llu}", as_clock_state_name(last->clock_state),
			 last->interval, (unsigned long long)last->last_seq,
			 (unsigned long long)last->acked_seq, head,
			 (unsigned long long)last->journal_records,
			 (unsigned long long)last->journal_used,
			 (unsigned long long)last->journal_size);
}

/* ---- the journal chain the cloud follows (store.h) ---- */

struct chain_view {
	int have;                      /* the store follows a chain for it */
	struct cl_chain_state st;
	struct as_strbuf *b;
	const struct gateways_opts *o;
	unsigned shown, flagged;       /* events listed; forks and breaks among them */
};

/* How the last heartbeat's chain head compares with the chain the cloud
 * follows: "agrees" (same seq, same link), "differs" (same seq, another
 * link: the journal is not the one the cloud follows), "ahead" (records
 * not delivered yet), "behind" (the journal holds less than the cloud
 * took from it: lost or restored), or "unknown". */
static const char *heartbeat_vs_chain(const struct chain_view *c, const struct cl_period *last)
{
	if (!c->have || !last)
		return "unknown";
	if (last->last_seq > c->st.seq)
		return "ahead";
	if (last->last_seq < c->st.seq)
		return "behind";
	return memcmp(last->chain_head, c->st.head, AS_CHAIN_HEAD_LEN) == 0 ? "agrees" : "differs";
}

static const char *heartbeat_phrase(const char *verdict)
{
	if (strcmp(verdict, "agrees") == 0)
		return "agrees with it";
	if (strcmp(verdict, "differs") == 0)
		return "DIFFERS at that seq: its journal is not the one the cloud follows";
	if (strcmp(verdict, "ahead") == 0)
		return "is ahead: records not delivered yet";
	if (strcmp(verdict, "behind") == 0)
		return "is behind: the journal holds less than the cloud took (lost or restored?)";
	return "cannot be compared";
}

static int chain_event_in_window(const struct cl_chain_event *ev, const struct gateways_opts *o)
{
	return ev->time >= o->from && ev->time <= o->to;
}

static int text_chain_event(void *ctx, const struct cl_chain_event *ev)
{
	struct chain_view *c = ctx;
	char t[32], jid[2 * AS_JOURNAL_ID_LEN + 1];

	if (!chain_event_in_window(ev, c->o))
		return 0;
	as_hex_encode(jid, ev->journal_id, AS_JOURNAL_ID_LEN);
	as_strbuf_printf(c->b, "    %s  %-11s", as_format_time(t, ev->time),
			 cl_chain_event_name(ev->kind));
	if (ev->kind == CL_CHAIN_BREAK)
		as_strbuf_printf(c->b, " (%s)", cl_chain_cause_name(ev->cause));
	as_strbuf_printf(c->b, " journal %s, batch seqs %llu-%llu", jid,
			 (unsigned long long)ev->first_seq, (unsigned long long)ev->last_seq);
	if (ev->at_seq)
		as_strbuf_printf(c->b, ", at seq %llu", (unsigned long long)ev->at_seq);
	if (ev->reconciled)
		as_strbuf_printf(c->b, ", %u records found stored already", ev->reconciled);
	as_strbuf_add(c->b, "\n");
	c->shown++;
	if (ev->kind == CL_CHAIN_FORK || ev->kind == CL_CHAIN_BREAK)
		c->flagged++;
	return 0;
}

static int json_chain_event(void *ctx, const struct cl_chain_event *ev)
{
	struct chain_view *c = ctx;
	char jid[2 * AS_JOURNAL_ID_LEN + 1];

	if (!chain_event_in_window(ev, c->o))
		return 0;
	as_hex_encode(jid, ev->journal_id, AS_JOURNAL_ID_LEN);
	as_strbuf_printf(c->b, "%s{\"n\":%u,\"kind\":\"%s\",\"cause\":\"%s\",\"journal_id\":\"%s\","
			 "\"first_seq\":%llu,\"last_seq\":%llu,\"at_seq\":%llu,\"reconciled\":%u,",
			 c->shown ? "," : "", ev->n, cl_chain_event_name(ev->kind),
			 cl_chain_cause_name(ev->cause), jid, (unsigned long long)ev->first_seq,
			 (unsigned long long)ev->last_seq, (unsigned long long)ev->at_seq,
			 ev->reconciled);
	json_time(c->b, "time", ev->time);
	as_strbuf_add(c->b, "}");
	c->shown++;
	if (ev->kind == CL_CHAIN_FORK || ev->kind == CL_CHAIN_BREAK)
		c->flagged++;
	return 0;
}

/* The chain part of one gateway: what the cloud follows, how the last
 * heartbeat compares, and the chain events in the window. */
static int print_chain(struct lister *l, const struct cl_gateway *g, const struct cl_period *last,
		       struct as_strbuf *b)
{
	struct chain_view c = {0};
	char jid[2 * AS_JOURNAL_ID_LEN + 1], head[2 * AS_CHAIN_HEAD_LEN + 1];
	int rc = cl_store_gateway_chain(l->store, g->gw_id, &c.st);

	if (rc && rc != AS_E_NOT_FOUND)
		return rc;
	c.have = rc == 0;
	c.b = b;
	c.o = l->o;
	as_hex_encode(jid, c.st.journal_id, AS_JOURNAL_ID_LEN);
	as_hex_encode(head, c.st.head, AS_CHAIN_HEAD_LEN);
	if (l->o->json) {
		as_strbuf_printf(b, ",\"chain\":{\"followed\":%s", c.have ? "true" : "false");
		if (c.have)
			as_strbuf_printf(b, ",\"journal_id\":\"%s\",\"seq\":%llu,\"head\":\"%s\"", jid,
					 (unsigned long long)c.st.seq, head);
		as_strbuf_printf(b, ",\"heartbeat\":\"%s\",\"events\":[", heartbeat_vs_chain(&c, last));
		rc = cl_store_gateway_chain_events(l->store, g->gw_id, json_chain_event, &c);
		as_strbuf_printf(b, "],\"forks_or_breaks\":%u}", c.flagged);
		return rc;
	}
	if (c.have)
		as_strbuf_printf(b, "  chain           journal %s through seq %llu, head %s\n"
				 "                  the last heartbeat %s\n", jid,
				 (unsigned long long)c.st.seq, head,
				 heartbeat_phrase(heartbeat_vs_chain(&c, last)));
	else
		as_strbuf_add(b, "  chain           no chained batch taken yet\n");
	rc = cl_store_gateway_chain_events(l->store, g->gw_id, text_chain_event, &c);
	if (!rc && c.shown == 0)
		as_strbuf_add(b, "    no chain events (new journal, fork, break) in this window\n");
	else if (!rc && c.flagged == 0)
		as_strbuf_add(b, "    no forks or breaks\n");
	return rc;
}

/* Print one gateway (periods p[0..n), silences in the window sl). */
static int print_gateway(struct lister *l, const struct cl_gateway *g, const struct cl_venue *v,
			  const struct cl_period *p, size_t n, const struct silence_list *sl,
			  struct as_strbuf *b)
{
	const struct gateways_opts *o = l->o;
	const struct cl_period *last = n ? &p[n - 1] : NULL;
	int silent = cl_coverage_silent_now(p, n, o->now);
	char hex[2 * AS_GWID_LEN + 1], a[32], d[32];
	size_t i = 0, j = 0;
	int first, rc;

	as_hex_encode(hex, g->gw_id, AS_GWID_LEN);
	if (o->json) {
		as_strbuf_printf(b, "%s{\"gateway\":\"%s\",\"venue\":%u,\"venue_name\":",
				 l->shown ? "," : "", hex, g->venue_id);
		as_strbuf_add_clean(b, v->name, 1);
		as_strbuf_printf(b, ",\"revoked\":%s,\"silent_now\":%s,", g->revoked ? "true" : "false",
				 silent ? "true" : "false");
		json_time(b, "enrolled", g->enrolled_at);
		as_strbuf_add(b, ",\"last_heartbeat\":");
		if (last)
			json_last(b, last);
		else
			as_strbuf_add(b, "null");
		as_strbuf_add(b, ",\"heard\":[");
		first = 1;
		for (i = 0; i < n; i++)
			if (period_in_window(&p[i], o)) {
				json_period(b, &p[i], first);
				first = 0;
			}
		as_strbuf_add(b, "],\"silent\":[");
		for (j = 0; j < sl->n; j++)
			json_silence(b, &sl->s[j], j == 0);
		as_strbuf_add(b, "]");
		rc = print_chain(l, g, last, b);
		as_strbuf_add(b, "}");
		return rc;
	}
	as_strbuf_printf(b, "%sgateway %s  venue %u ", l->shown ? "\n" : "", hex, g->venue_id);
	as_strbuf_add_clean(b, v->name, 0);
	if (g->revoked)
		as_strbuf_add(b, "  (revoked)");
	if (!last)
		as_strbuf_add(b, "\n  SILENT: never heard from since its enrolment\n");
	else if (silent)
		as_strbuf_printf(b, "\n  SILENT since %s (%s)\n", as_format_time(a, last->end),
				 duration_text(d, o->now - last->end));
	else
		as_strbuf_printf(b, "\n  up: last heard %s ago\n", duration_text(d, o->now - last->end));
	if (last) {
		char head[2 * AS_CHAIN_HEAD_LEN + 1];

		as_hex_encode(head, last->chain_head, AS_CHAIN_HEAD_LEN);
		as_strbuf_printf(b, "  last heartbeat  %s, up since %s, clock %s, every %u s\n",
				 as_format_time(a, last->end), as_format_time(d, last->last_up_since),
				 as_clock_state_name(last->clock_state), last->interval);
		as_strbuf_printf(b, "  journal         last seq %llu, acknowledged %llu, %llu records, "
				 "%.1f of %.1f MiB used\n", (unsigned long long)last->last_seq,
				 (unsigned long long)last->acked_seq,
				 (unsigned long long)last->journal_records,
				 (double)last->journal_used / 1048576,
				 (double)last->journal_size / 1048576);
		as_strbuf_printf(b, "  chain head      %s\n", head);
	}
	as_strbuf_add(b, "  coverage:\n");
	/* Heard periods and silences merged in time order; a period comes
	 * before a silence that starts where it ends. */
	for (i = 0, j = 0; i < n || j < sl->n;) {
		if (i < n && !period_in_window(&p[i], o)) {
			i++;
		} else if (i < n && (j == sl->n || p[i].start <= sl->s[j].from)) {
			text_heard(b, &p[i++]);
		} else {
			text_silence(b, &sl->s[j++], n > 0);
		}
	}
	return print_chain(l, g, last, b);
}

/* Was a gateway with n periods silent in the window (silences sl)?  The
 * time before its first heartbeat is no data, not a silence, unless it was
 * never heard at all (then it is silent since its enrolment). */
static int silent_in_window(const struct silence_list *sl, size_t n)
{
	for (size_t j = 0; j < sl->n; j++)
		if (sl->s[j].kind != CL_SILENT_NEVER || n == 0)
			return 1;
	return 0;
}

static int list_gateway(void *ctx, const struct cl_gateway *g)
{
	struct lister *l = ctx;
	const struct gateways_opts *o = l->o;
	struct silence_list sl = {NULL, 0, 0};
	struct as_strbuf b = {0};
	struct cl_period *p = NULL;
	struct cl_venue v;
	size_t n = 0;
	int rc;

	rc = cl_gateway_periods(l->store, g->gw_id, &p, &n);
	if (!rc)
		rc = cl_coverage_silences(p, n, g->enrolled_at, o->now, o->from, o->to, add_silence, &sl);
	if (rc) {
		l->rc = rc;
		big_free(p);
		big_free(sl.s);
		return 1;
	}
	if (o->silent_only && !(o->window_given ? silent_in_window(&sl, n)
						: cl_coverage_silent_now(p, n, o->now))) {
		big_free(p);
		big_free(sl.s);
		return 0;
	}
	if (cl_store_get_venue(l->store, g->venue_id, &v)) {
		memset(&v, 0, sizeof v);
		snprintf(v.name, sizeof v.name, "(unknown venue)");
	}
	rc = print_gateway(l, g, &v, p, n, &sl, &b);
	big_free(p);
	big_free(sl.s);
	if (rc || b.failed) {
		as_strbuf_free(&b);
		l->rc = rc ? rc : -ENOMEM;
		return 1;
	}
	fwrite(b.p, 1, b.len, stdout);
	as_strbuf_free(&b);
	l->shown++;
	return 0;
}

static int parse_opts(int argc, char **argv, struct gateways_opts *o, int *help)
{
	static const struct option options[] = {
		{"silent", no_argument, NULL, 's'},
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *from = NULL, *to = NULL;
	int c;

	memset(o, 0, sizeof *o);
	*help = 0;
	o->now = (int64_t)time(NULL);
	optind = 2;
	opterr = 0;
	while ((c = as_args_next("anshim-cloud", argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 's': o->silent_only = 1; break;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'j': o->json = 1; break;
		case 'c': break; /* read by cl_cli_load_config */
		case 'h': *help = 1; return 0;
		default: return CL_EXIT_USAGE; /* as_args_next printed why */
		}
	}
	if (optind < argc)
		return cl_usage_error("unexpected argument '%s' for 'gateways'", argv[optind]);
	o->from = INT64_MIN;
	o->to = o->now;
	if (from && as_parse_time(from, &o->from))
		return cl_usage_error("--from '%s' is not a time (2026-03-02, "
				      "2026-03-02T09:00+09:00 or unix seconds)", from);
	if (to && cl_cli_parse_until(to, &o->to))
		return cl_usage_error("--to '%s' is not a time (2026-03-02, "
				      "2026-03-02T18:00+09:00 or unix seconds)", to);
	if (o->from > o->to)
		return cl_usage_error("%s", "--from is after --to");
	o->window_given = from || to;
	return 0;
}

int cl_cmd_gateways(int argc, char **argv)
{
	struct gateways_opts o;
	struct cl_config cfg;
	struct cl_store *store;
	struct lister l = {0};
	char now[32];
	int help, rc = parse_opts(argc, argv, &o, &help);

	if (rc)
		return rc;
	if (help)
		return fputs(usage_text, stdout), 0;
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	if (cl_cli_open_store(&store, &cfg, 1)) {
		cl_config_free(&cfg);
		return 1;
	}
	if (o.from == INT64_MIN)
		o.from = o.now - cfg.retention;
	l.store = store;
	l.o = &o;
	if (o.json) {
		struct as_strbuf b = {0};

		as_strbuf_add(&b, "{");
		json_time(&b, "now", o.now);
		as_strbuf_add(&b, ",");
		json_time(&b, "from", o.from);
		as_strbuf_add(&b, ",");
		json_time(&b, "to", o.to);
		as_strbuf_printf(&b, ",\"silent_only\":%s,\"gateways\":[",
				 o.silent_only ? "true" : "false");
		if (!b.failed)
			fwrite(b.p, 1, b.len, stdout);
		as_strbuf_free(&b);
	} else {
		char from[32], to[32];

		printf("Gateway coverage, %s .. %s (now %s)%s\n\n", as_format_time(from, o.from),
		       as_format_time(to, o.to), as_format_time(now, o.now),
		       o.silent_only ? ", silent gateways only" : "");
	}
	rc = cl_store_each_gateway(store, list_gateway, &l);
	if (!rc)
		rc = l.rc;
	if (o.json)
		printf("],\"shown\":%u}\n", l.shown);
	else if (!rc && l.shown == 0)
		printf(o.silent_only ? "no gateway is silent%s\n" : "no gateway is enrolled%s\n",
		       o.silent_only && o.window_given ? " in this window" : "");
	cl_store_close(store);
	cl_config_free(&cfg);
	if (rc) {
		fprintf(stderr, "anshim-cloud: reading gateway coverage from the store: %s\n",
			as_strerror(rc));
		return 1;
	}
	return 0;
}
