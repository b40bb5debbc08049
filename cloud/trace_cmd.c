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
#include "gwcoverage.h"
#include "revealclient.h"
#include "revealwire.h"
#include "trace.h"

#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/identity.h"
#include "anshim/parse.h"
#include "anshim/strbuf.h"

#include <errno.h>
#include <pwd.h>
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

/* The contacts the reveal service opened, sorted by pid. */
struct opened {
	struct cl_revealed_contact *v;
	size_t n, cap;
	char whys[8][64];                  /* distinct reasons a contact did not open */
	unsigned n_whys;
};

/* State shared by the printing callbacks of one run. */
struct printer {
	struct cl_store *store;
	const struct trace_opts *o;
	const struct opened *opened;       /* with --reveal: what the service opened */
	int silent;                        /* the counting run */
	/* counts */
	uint64_t contacts, revealed, reveal_failed;
	/* output state */
	int case_done, n_visits, n_contacts;
	unsigned cur_order;
	uint32_t cur_venue;
	int venue_known;
	struct cl_venue venue;             /* cache of the last venue looked up */
	struct cl_trace_order orders[CL_TRACE_DEPTH_MAX + 1];
	unsigned n_orders;
	int64_t now;                       /* for the gateways' silences */
	unsigned visits_silent;            /* case visits marked "!" */
	unsigned visits_unknown;           /* case visits marked "?" */
};

/* ---- small helpers ------------------------------------------------------ */

static const char *venue_name(struct printer *pr, uint32_t id)
{
	if (!pr->venue_known || pr->venue.id != id) {
		if (cl_store_get_venue(pr->store, id, &pr->venue)) {
			memset(&pr->venue, 0, sizeof pr->venue);
			snprintf(pr->venue.name, sizeof pr->venue.name, "(unknown venue)");
		}
		pr->venue.id = id;
		pr->venue_known = 1;
	}
	return pr->venue.name;
}

static char *hex_pid(char out[PID_HEX], const uint8_t pid[AS_PID_LEN])
{
	as_hex_encode(out, pid, AS_PID_LEN);
	return out;
}

/* "12:40" or "2026-03-02 12:40" (local time). */
static char *clock_text(char out[32], int64_t t, int with_date)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) ||
	    !strftime(out, 32, with_date ? "%Y-%m-%d %H:%M" : "%H:%M", &tm))
		snprintf(out, 32, "@%lld", (long long)t);
	return out;
}

/* Is t on the same local calendar day as u? */
static int same_day(int64_t t, int64_t u)
{
	time_t a = (time_t)t, b = (time_t)u;
	struct tm x, y;

	return localtime_r(&a, &x) && localtime_r(&b, &y) && x.tm_year == y.tm_year &&
	       x.tm_yday == y.tm_yday;
}

/* "2026-03-02 12:40-13:00" or "2026-03-02 23:30-2026-03-03 00:30". */
static char *span_text(char out[72], int64_t start, int64_t end)
{
	char a[32], b[32];

	snprintf(out, 72, "%s-%s", clock_text(a, start, 1),
		 clock_text(b, end, !same_day(start, end)));
	return out;
}

/* Append s with anything that is not well-formed UTF-8 or is a control
 * character replaced by '?': registry and capsule text never reaches a
 * terminal or a JSON reader raw. */
static void add_clean(struct as_strbuf *b, const char *s, int json)
{
	as_strbuf_add_clean(b, s, json);
}

/* The risk period as the report names it: "24h", "36h", "90m". */
static char *period_text(char out[32], int64_t s)
{
	if (s % 3600 == 0)
		snprintf(out, 32, "%lldh", (long long)(s / 3600));
	else
		as_format_duration(out, s);
	return out;
}

static void json_time(struct as_strbuf *b, const char *key, int64_t t)
{
	char buf[32];

	as_strbuf_printf(b, "\"%s\":\"%s\"", key, as_format_time(buf, t));
}

static void out_buf(struct as_strbuf *b)
{
	if (b->len)
		fwrite(b->p, 1, b->len, stdout);
	as_strbuf_free(b);
}

/* ---- the case ------------------------------------------------------------ */

static void print_case_header(struct printer *pr, const struct cl_trace_visit *first)
{
	const struct trace_opts *o = pr->o;
	char pid[PID_HEX], from[32], to[32], period[32];
	struct as_strbuf b = {0};

	pr->case_done = 1;
	hex_pid(pid, o->p.pid);
	if (o->json) {
		as_strbuf_printf(&b, "{\"case\":{\"pid\":\"%s\",", pid);
		json_time(&b, "from", o->p.from);
		as_strbuf_add(&b, ",");
		json_time(&b, "to", o->p.to);
		as_strbuf_printf(&b, ",\"depth\":%u,\"min_overlap_minutes\":%lld,"
				 "\"risk_period_minutes\":%lld,\"incubation_days\":%lld,\"source\":",
				 o->p.depth, (long long)(o->p.min_overlap / 60),
				 (long long)(o->p.risk_period / 60), (long long)(o->p.incubation / 86400));
		if (first)
			as_strbuf_printf(&b, "\"%s\"", cl_trace_source_name(first->v.kind));
		else
			as_strbuf_add(&b, "null");
		as_strbuf_add(&b, "},\"visits\":[");
	} else {
		as_strbuf_printf(&b, "Case %s\n", pid);
		as_strbuf_printf(&b, "  infectious window  %s .. %s\n", as_format_time(from, o->p.from),
				 as_format_time(to, o->p.to));
		as_strbuf_printf(&b, "  depth %u, min overlap %lld min within any %s, incubation "
				 "%lld days\n\n", o->p.depth, (long long)(o->p.min_overlap / 60),
				 period_text(period, o->p.risk_period),
				 (long long)(o->p.incubation / 86400));
		as_strbuf_add(&b, "Case visits (entry inside the window):\n");
		if (!first)
			as_strbuf_add(&b, "  none\n");
	}
	out_buf(&b);
}

/* ---- silent gateways ------------------------------------------------------ */

/* Each silence of the venue's gateways during a case visit is marked "!".
 * The time before a gateway's first heartbeat is not a silence: nothing is
 * known of it then (a gateway that ran before heartbeats existed, or a day
 * replayed with --at times, recorded the visit itself), so it is marked
 * apart, "?", as unknown coverage, and never counted as silent. */
struct silence_marks {
	struct as_strbuf *b;         /* "!" marks (JSON: gateway_silent) */
	struct as_strbuf unknown;    /* "?" marks (JSON: gateway_coverage_unknown) */
	int json;
	unsigned n, n_unknown;
};

/* One silence (or stretch of unknown coverage) of one of the venue's
 * gateways during the visit. */
static int mark_silence(void *ctx, const struct cl_gateway *g, const struct cl_silence *sl)
{
	struct silence_marks *m = ctx;
	char hex[2 * AS_GWID_LEN + 1], a[32], z[32];

	as_hex_encode(hex, g->gw_id, AS_GWID_LEN);
	if (sl->kind == CL_SILENT_NEVER) {
		if (m->json) {
			as_strbuf_printf(&m->unknown, "%s{\"gateway\":\"%s\",", m->n_unknown ? "," : "",
					 hex);
			json_time(&m->unknown, "before", sl->to);
			as_strbuf_add(&m->unknown, "}");
		} else {
			as_strbuf_printf(&m->unknown, "      ? gateway %s sent no heartbeat before %s: "
					 "its coverage then is unknown (not a silence)\n", hex,
					 as_format_time(z, sl->to));
		}
		m->n_unknown++;
		return 0;
	}
	if (m->json) {
		as_strbuf_printf(m->b, "%s{\"gateway\":\"%s\",\"kind\":\"%s\",", m->n ? "," : "",
				 hex, cl_silence_kind_name(sl->kind));
		json_time(m->b, "from", sl->from);
		as_strbuf_add(m->b, ",");
		json_time(m->b, "to", sl->to);
		as_strbuf_add(m->b, "}");
	} else {
		as_strbuf_printf(m->b, "      ! gateway %s was silent (%s) %s .. %s: check-ins there "
				 "may be missing\n", hex, cl_silence_kind_name(sl->kind),
				 as_format_time(a, sl->from),
				 sl->kind == CL_SILENT_NOW ? "now" : as_format_time(z, sl->to));
	}
	m->n++;
	return 0;
}

/* Mark the case's visit v with every silence of its venue's gateways
 * during it (JSON: the "gateway_silent" array), then with the gateways
 * whose coverage is unknown then ("gateway_coverage_unknown"). */
static int mark_silent_gateways(struct printer *pr, const struct cl_trace_visit *v,
				struct as_strbuf *b)
{
	struct silence_marks m = {b, {0}, pr->o->json, 0, 0};
	int rc;

	if (pr->o->json)
		as_strbuf_add(b, ",\"gateway_silent\":[");
	rc = cl_venue_silences(pr->store, v->v.venue_id, v->start, v->end, pr->now, mark_silence, &m);
	if (pr->o->json) {
		as_strbuf_add(b, "],\"gateway_coverage_unknown\":[");
		if (m.unknown.len)
			as_strbuf_add(b, m.unknown.p);
		as_strbuf_add(b, "]");
	} else if (m.unknown.len) {
		as_strbuf_add(b, m.unknown.p);
	}
	if (m.unknown.failed)
		b->failed = 1;
	as_strbuf_free(&m.unknown);
	if (m.n)
		pr->visits_silent++;
	if (m.n_unknown)
		pr->visits_unknown++;
	return rc;
}

static int on_case_visit(void *ctx, const struct cl_trace_visit *v)
{
	struct printer *pr = ctx;
	struct as_strbuf b = {0};
	char span[72];
	const char *name;
	int rc = 0;

	if (pr->silent)
		return 0;
	if (!pr->case_done)
		print_case_header(pr, v);
	name = venue_name(pr, v->v.venue_id);
	if (pr->o->json) {
		as_strbuf_printf(&b, "%s{\"venue\":%u,\"venue_name\":", pr->n_visits ? "," : "",
				 v->v.venue_id);
		add_clean(&b, name, 1);
		as_strbuf_add(&b, ",");
		json_time(&b, "start", v->start);
		as_strbuf_add(&b, ",");
		json_time(&b, "end", v->end);
		as_strbuf_printf(&b, ",\"source\":\"%s\",\"headcount\":%u,\"exit_recorded\":%s,"
				 "\"clock_unsynced\":%s",
				 cl_trace_source_name(v->v.kind), v->v.headcount,
				 v->v.exit ? "true" : "false",
				 (v->v.flags & AS_REC_CLOCK_UNSYNCED) ? "true" : "false");
		rc = mark_silent_gateways(pr, v, &b);
		as_strbuf_add(&b, "}");
	} else {
		as_strbuf_printf(&b, "  %-26s %-6s  %-13s  venue %-6u ", span_text(span, v->start, v->end),
				 cl_trace_source_name(v->v.kind), v->v.exit ? "exit recorded" : "by dwell",
				 v->v.venue_id);
		add_clean(&b, name, 0);
		if (v->v.headcount > 1)
			as_strbuf_printf(&b, ", %u people", v->v.headcount);
		if (v->v.flags & AS_REC_CLOCK_UNSYNCED)
			as_strbuf_add(&b, ", gateway clock unsynced");
		as_strbuf_add(&b, "\n");
		rc = mark_silent_gateways(pr, v, &b);
	}
	pr->n_visits++;
	if (rc || b.failed) {
		as_strbuf_free(&b);
		return rc ? rc : -ENOMEM;
	}
	out_buf(&b);
	return 0;
}

/* After the case's visits: close them once. */
static void end_visits(struct printer *pr)
{
	if (!pr->case_done)
		print_case_header(pr, NULL);
	if (pr->case_done == 1) {
		pr->case_done = 2;
		fputs(pr->o->json ? "],\"contacts\":[" : "", stdout);
	}
}

/* ---- contacts --------------------------------------------------------------- */

static int cmp_pid(const void *a, const void *b)
{
	return memcmp(((const struct cl_revealed_contact *)a)->pid,
		      ((const struct cl_revealed_contact *)b)->pid, AS_PID_LEN);
}

/* The reveal service's sink: keep a copy of each contact. */
static int keep_opened(void *ctx, const struct cl_revealed_contact *c)
{
	struct opened *o = ctx;

	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 64;
		struct cl_revealed_contact *v = calloc(cap, sizeof *v);

		if (!v)
			return -ENOMEM;
		if (o->v) {
			memcpy(v, o->v, o->n * sizeof *v);
			sodium_memzero(o->v, o->cap * sizeof *v);
			free(o->v);
		}
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n] = *c;
	o->v[o->n].why = "";
	if (!c->opened) {
		unsigned k;

		for (k = 0; k < o->n_whys && strcmp(o->whys[k], c->why) != 0; k++)
			;
		if (k == o->n_whys && k < 8)
			snprintf(o->whys[o->n_whys++], sizeof o->whys[0], "%s", c->why);
		o->v[o->n].why = k < 8 ? o->whys[k] : "does not open";
	}
	o->n++;
	return 0;
}

static void opened_free(struct opened *o)
{
	if (o->v) {
		sodium_memzero(o->v, o->cap * sizeof *o->v);
		free(o->v);
	}
	memset(o, 0, sizeof *o);
}

/*
 * pid's contact as the reveal service opened it, into *c: 1 opened, 0 not
 * (not in the service's answer, or it did not open; *why says which).
 */
static int reveal(struct printer *pr, const uint8_t pid[AS_PID_LEN], struct as_contact *c,
		  const char **why)
{
	struct cl_revealed_contact key;
	const struct cl_revealed_contact *hit;

	memset(c, 0, sizeof *c);
	memcpy(key.pid, pid, AS_PID_LEN);
	hit = pr->opened && pr->opened->n ?
	      bsearch(&key, pr->opened->v, pr->opened->n, sizeof key, cmp_pid) : NULL;
	if (!hit) {
		*why = "found after the audit entry was written; trace again";
		pr->reveal_failed++;
		return 0;
	}
	if (!hit->opened) {
		*why = hit->why;
		pr->reveal_failed++;
		return 0;
	}
	memcpy(c->phone, hit->phone, strnlen(hit->phone, sizeof c->phone - 1));
	memcpy(c->name, hit->name, strnlen(hit->name, sizeof c->name - 1));
	pr->revealed++;
	return 1;
}

static void contact_json(struct printer *pr, const struct cl_trace_contact *c, struct as_strbuf *b,
			 const struct as_contact *who, int opened, const char *why)
{
	char pid[PID_HEX], via[PID_HEX];

	as_strbuf_printf(b, "%s{\"pid\":\"%s\",\"order\":%u,\"venue\":%u,\"venue_name\":",
			 pr->n_contacts ? "," : "", hex_pid(pid, c->pid), c->order, c->venue);
	add_clean(b, venue_name(pr, c->venue), 1);
	as_strbuf_add(b, ",");
	json_time(b, "start", c->start);
	as_strbuf_add(b, ",");
	json_time(b, "end", c->end);
	as_strbuf_printf(b, ",\"overlap_minutes\":%lld,\"period_overlap_minutes\":%lld,"
			 "\"risk\":\"%s\",\"via\":\"%s\",\"source\":\"%s\"",
			 (long long)(c->overlap / 60), (long long)(c->period_overlap / 60),
			 c->high ? "high" : "low", hex_pid(via, c->via), cl_trace_source_name(c->kind));
	if (c->headcount_extra)
		as_strbuf_printf(b, ",\"headcount_extra\":%u", c->headcount_extra);
	if (pr->o->reveal) {
		if (opened) {
			as_strbuf_add(b, ",\"phone\":");
			as_strbuf_add_json(b, who->phone);
			as_strbuf_add(b, ",\"name\":");
			add_clean(b, who->name, 1);
		} else {
			as_strbuf_add(b, ",\"phone\":null,\"name\":null,\"reveal_error\":");
			as_strbuf_add_json(b, why);
		}
	}
	as_strbuf_add(b, "}");
}

static void contact_text(struct printer *pr, const struct cl_trace_contact *c, struct as_strbuf *b,
			 const struct as_contact *who, int opened, const char *why)
{
	char pid[PID_HEX], via[PID_HEX], span[72], ov[24], most[24], period[32], head[48];
	int wide;

	if (c->order != pr->cur_order) {
		pr->cur_order = c->order;
		pr->cur_venue = 0;
		as_strbuf_printf(b, "\nOrder %u contacts%s:\n", c->order,
				 c->order == 1 ? " (with the case)" : "");
	}
	/* Risk is judged on the most exposure within one risk period; the
	 * total sums every venue and day, so it can exceed the span shown. */
	snprintf(head, sizeof head, "max in %s", period_text(period, pr->o->p.risk_period));
	wide = (int)strlen(head) > 10 ? (int)strlen(head) : 10;
	if (c->venue != pr->cur_venue) {
		pr->cur_venue = c->venue;
		as_strbuf_add(b, "  ");
		add_clean(b, venue_name(pr, c->venue), 0);
		as_strbuf_printf(b, " (venue %u)\n", c->venue);
		as_strbuf_printf(b, "    %-32s  %-26s %*s  %14s  %-4s  %-6s  %s\n", "pid",
				 "first exposure", wide, head, "total exposure", "risk", "source",
				 "via");
	}
	snprintf(most, sizeof most, "%lld min", (long long)(c->period_overlap / 60));
	snprintf(ov, sizeof ov, "%lld min", (long long)(c->overlap / 60));
	hex_pid(via, c->via);
	as_strbuf_printf(b, "    %s  %-26s %*s  %14s  %-4s  %-6s  %s", hex_pid(pid, c->pid),
			 span_text(span, c->start, c->end), wide, most, ov, c->high ? "HIGH" : "low",
			 cl_trace_source_name(c->kind), c->order == 1 ? "case" : via);
	if (c->headcount_extra)
		as_strbuf_printf(b, "  +%u unnamed", c->headcount_extra);
	as_strbuf_add(b, "\n");
	if (pr->o->reveal) {
		if (opened) {
			as_strbuf_printf(b, "      phone %s  name ", who->phone);
			add_clean(b, who->name[0] ? who->name : "(none given)", 0);
			as_strbuf_add(b, "\n");
		} else {
			as_strbuf_printf(b, "      not revealed: %s\n", why);
		}
	}
}

static int on_contact(void *ctx, const struct cl_trace_contact *c)
{
	struct printer *pr = ctx;
	struct as_contact who;
	struct as_strbuf b = {0};
	const char *why = "";
	int opened = 0;

	pr->contacts++;
	if (pr->silent)
		return 0;
	end_visits(pr);
	if (pr->o->reveal)
		opened = reveal(pr, c->pid, &who, &why);
	if (pr->o->json)
		contact_json(pr, c, &b, &who, opened, why);
	else
		contact_text(pr, c, &b, &who, opened, why);
	if (pr->o->reveal)
		sodium_memzero(&who, sizeof who);
	pr->n_contacts++;
	if (b.failed) {
		as_strbuf_free(&b);
		return -ENOMEM;
	}
	out_buf(&b);
	return 0;
}

static void order_text(struct as_strbuf *b, const char *label, const struct cl_trace_order *o)
{
	as_strbuf_printf(b, "%s%llu %s (%llu high, %llu low)", label,
			 (unsigned long long)o->people, o->people == 1 ? "person" : "people",
			 (unsigned long long)o->high, (unsigned long long)o->low);
	if (o->extra)
		as_strbuf_printf(b, ", %llu unnamed with them", (unsigned long long)o->extra);
	if (o->unnamed_visits)
		as_strbuf_printf(b, ", %llu unreadable %s (%llu people)",
				 (unsigned long long)o->unnamed_visits,
				 o->unnamed_visits == 1 ? "entry" : "entries",
				 (unsigned long long)o->unnamed_people);
	as_strbuf_add(b, "\n");
}

static int on_order(void *ctx, const struct cl_trace_order *o)
{
	struct printer *pr = ctx;
	struct as_strbuf b = {0};
	char label[32];

	if (pr->n_orders < CL_TRACE_DEPTH_MAX + 1)
		pr->orders[pr->n_orders++] = *o;
	if (pr->silent)
		return 0;
	end_visits(pr);
	if (pr->o->json)
		return 0;
	if (o->order != pr->cur_order) {
		pr->cur_order = o->order;
		pr->cur_venue = 0;
		as_strbuf_printf(&b, "\nOrder %u contacts%s:\n  none\n", o->order,
				 o->order == 1 ? " (with the case)" : "");
	}
	snprintf(label, sizeof label, "  order %u total: ", o->order);
	order_text(&b, label, o);
	out_buf(&b);
	return 0;
}

static void json_order(struct as_strbuf *b, const struct cl_trace_order *o, int with_order)
{
	as_strbuf_add(b, "{");
	if (with_order)
		as_strbuf_printf(b, "\"order\":%u,", o->order);
	as_strbuf_printf(b, "\"people\":%llu,\"high\":%llu,\"low\":%llu,\"headcount_extra\":%llu,"
			 "\"unnamed_visits\":%llu,\"unnamed_people\":%llu}",
			 (unsigned long long)o->people, (unsigned long long)o->high,
			 (unsigned long long)o->low, (unsigned long long)o->extra,
			 (unsigned long long)o->unnamed_visits, (unsigned long long)o->unnamed_people);
}

static void print_totals(struct printer *pr, const struct cl_trace_order *t)
{
	struct as_strbuf b = {0};

	end_visits(pr);
	if (pr->o->json) {
		as_strbuf_add(&b, "],\"orders\":[");
		for (unsigned i = 0; i < pr->n_orders; i++) {
			if (i)
				as_strbuf_add(&b, ",");
			json_order(&b, &pr->orders[i], 1);
		}
		as_strbuf_add(&b, "],\"totals\":");
		json_order(&b, t, 0);
		as_strbuf_printf(&b, ",\"visits_gateway_silent\":%u,\"visits_coverage_unknown\":%u",
				 pr->visits_silent, pr->visits_unknown);
		if (pr->o->reveal)
			as_strbuf_printf(&b, ",\"revealed\":%llu", (unsigned long long)pr->revealed);
		as_strbuf_add(&b, "}\n");
	} else {
		as_strbuf_add(&b, "\n");
		order_text(&b, "Total: ", t);
		if (pr->visits_silent)
			as_strbuf_printf(&b, "Case visits at a venue whose gateway was silent: %u (marked "
					 "!): people there may be missing from the contacts.\n",
					 pr->visits_silent);
		if (pr->visits_unknown)
			as_strbuf_printf(&b, "Case visits before a gateway's first heartbeat: %u (marked ?): "
					 "whether it was up then is unknown.\n", pr->visits_unknown);
		if (pr->o->reveal)
			as_strbuf_printf(&b, "Revealed: %llu contact%s\n", (unsigned long long)pr->revealed,
					 pr->revealed == 1 ? "" : "s");
		else if (t->people)
			as_strbuf_add(&b, "Names and phones are sealed: ask for a reveal in the console "
					  "(another supervisor approves it).\n");
	}
	out_buf(&b);
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
				      period_text(period, o->p.risk_period),
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

static int run(struct printer *pr, struct cl_trace_order *total)
{
	struct cl_trace_sink sink = {pr, on_case_visit, on_contact, on_order};

	return cl_trace_run(pr->store, &pr->o->p, &sink, total);
}

/* The audit entry, written by the reveal service: a 'trace', or with
 * --reveal a 'break-glass' that also opens the contacts into *opened. */
static int audit(struct cl_config *cfg, const struct trace_opts *o, uint64_t contacts,
		 struct opened *opened)
{
	struct cl_reveal_scope scope;
	char err[1024] = "";
	int rc;

	memset(&scope, 0, sizeof scope);
	scope.params = o->p;
	snprintf(scope.reason, sizeof scope.reason, "%s", o->reason);
	snprintf(scope.case_ref, sizeof scope.case_ref, "%s", o->case_ref ? o->case_ref : "");
	if (o->reveal) {
		rc = cl_reveal_break_glass(cfg->reveal_socket, &scope, keep_opened, opened, err,
					   sizeof err);
		if (!rc && opened->n)
			qsort(opened->v, opened->n, sizeof *opened->v, cmp_pid);
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
	struct printer pr;
	struct cl_trace_order total;
	struct opened opened = {0};
	const char *failed = NULL;
	unsigned need = 0;
	int rc, status = 1;

	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc;
	memset(&auth, 0, sizeof auth);
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	if (o.keys) {
		char *k = strdup(o.keys);

		if (!k) {
			fprintf(stderr, "anshim-cloud: out of memory\n");
			goto out;
		}
		free(cfg.keys_dir);
		cfg.keys_dir = k;
	}
	need = o.phone ? CL_KEY_PSEUDONYM : 0;
	if (need && (rc = cl_authority_load(&auth, cfg.keys_dir, need, &failed)) != 0) {
		fprintf(stderr, "anshim-cloud: cannot load authority key %s: %s%s\n",
			failed ? failed : cfg.keys_dir, as_strerror(rc),
			rc == -ENOENT ? " (pass --keys DIR or set keys_dir in the config)" :
			" (or give the case's pid with --pid)");
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
	memset(&pr, 0, sizeof pr);
	pr.store = store;
	pr.o = &o;
	pr.silent = 1;
	rc = run(&pr, &total);
	if (rc) {
		fprintf(stderr, "anshim-cloud: trace failed: %s\n", as_strerror(rc));
		goto out;
	}
	if (audit(&cfg, &o, pr.contacts, &opened))
		goto out;

	/* Run 2: print, revealing only what the service opened. */
	{
		uint64_t counted = pr.contacts;

		memset(&pr, 0, sizeof pr);
		pr.store = store;
		pr.o = &o;
		pr.opened = &opened;
		pr.now = (int64_t)time(NULL);
		rc = run(&pr, &total);
		if (rc) {
			fflush(stdout);
			fprintf(stderr, "anshim-cloud: trace failed: %s\n", as_strerror(rc));
			goto out;
		}
		print_totals(&pr, &total);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "anshim-cloud: cannot write the trace to stdout\n");
			goto out;
		}
		if (pr.contacts != counted)
			fprintf(stderr, "anshim-cloud: note: the store changed during the trace: %llu "
				"contacts when the audit entry was written, %llu printed\n",
				(unsigned long long)counted, (unsigned long long)pr.contacts);
		if (o.reveal && pr.reveal_failed)
			fprintf(stderr, "anshim-cloud: %llu contact(s) could not be revealed (see "
				"\"not revealed\")\n", (unsigned long long)pr.reveal_failed);
	}
	status = 0;
out:
	opened_free(&opened);
	cl_authority_wipe(&auth);
	if (store)
		cl_store_close(store);
	cl_config_free(&cfg);
	return status;
}
