/*
 * trace_report.c - writes a trace's report (trace_report.h) as aligned
 * text or as the stable JSON of docs/TRACING.md, piece by piece, while the
 * engine runs.  On an index node's store (cluster mode) the report says
 * how far behind PostgreSQL the index was when its node last read it.
 *
 * Invariants: phones and names are written only with o->reveal and only
 * for contacts, and the struct holding one is wiped after each contact;
 * text from the registry or a capsule is cleaned (no control characters,
 * only well-formed UTF-8) before it is written.  Runs on the caller's
 * thread; all state is in one struct printer on its stack.
 */
#include "trace_report.h"

#include "gwcoverage.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/parse.h"
#include "anshim/strbuf.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PID_HEX (2 * AS_PID_LEN + 1)

/* State shared by the printing callbacks of one run. */
struct printer {
	struct cl_store *store;
	const struct cl_trace_report_opts *o;
	/* counts */
	uint64_t contacts, revealed, reveal_failed;
	/* output state */
	int case_done, n_visits, n_contacts;
	unsigned cur_order;
	uint32_t cur_venue;
	int venue_known;
	struct cl_venue venue;             /* cache of the last venue looked up */
	struct as_strbuf line;             /* one contact's line, reused (wiped
					    * after each when revealing) */
	struct as_strbuf venue_json;       /* the JSON string of a venue's name */
	uint32_t venue_json_id;            /* whose, if venue_json.len */
	struct cl_trace_order orders[CL_TRACE_DEPTH_MAX + 1];
	unsigned n_orders;
	unsigned visits_silent;            /* case visits marked "!" */
	unsigned visits_unknown;           /* case visits marked "?" */
	struct cl_gateway_index gateways;  /* read at the first case visit */
	int gateways_loaded;
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
	struct tm tm;

	if (!as_local_time(t, &tm) ||
	    !strftime(out, 32, with_date ? "%Y-%m-%d %H:%M" : "%H:%M", &tm))
		snprintf(out, 32, "@%lld", (long long)t);
	return out;
}

/* Is t on the same local calendar day as u? */
static int same_day(int64_t t, int64_t u)
{
	struct tm x, y;

	return as_local_time(t, &x) && as_local_time(u, &y) && x.tm_year == y.tm_year &&
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
char *cl_trace_period_text(char out[32], int64_t s)
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

	as_strbuf_add(b, "\"");
	as_strbuf_add(b, key);
	as_strbuf_add(b, "\":\"");
	as_strbuf_add(b, as_format_time(buf, t));
	as_strbuf_add(b, "\"");
}

static void out_buf(struct printer *pr, struct as_strbuf *b)
{
	if (b->len)
		pr->o->write(pr->o->write_ctx, b->p, b->len);
	as_strbuf_free(b);
}

/* ---- an index node's lag ------------------------------------------------- */

/* "5 s", "3 min", "2 h 5 min", "3 days": how long ago, for a person. */
static char *ago_text(char out[40], int64_t s)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, 40, "%lld s", (long long)s);
	else if (s < 3600)
		snprintf(out, 40, "%lld min", (long long)(s / 60));
	else if (s < 2 * 86400)
		snprintf(out, 40, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		snprintf(out, 40, "%lld days", (long long)(s / 86400));
	return out;
}

/*
 * On an index node's store (cl_store_index_lag), how far behind
 * PostgreSQL it was when its node last read it: JSON ,"index":{...} after
 * the case, text a line of the case header.  Nothing on an embedded store.
 */
static void print_index_lag(struct printer *pr, struct as_strbuf *b)
{
	struct cl_index_lag lag;
	char at[32], ago[40], caught[32];
	int rc = cl_store_index_lag(pr->store, &lag);

	if (!rc && !lag.read_at)
		return;
	if (pr->o->json) {
		if (rc) {
			as_strbuf_add(b, ",\"index\":null");
			return;
		}
		as_strbuf_add(b, ",\"index\":{");
		json_time(b, "read_at", lag.read_at);
		as_strbuf_printf(b, ",\"age_seconds\":%lld,\"behind\":%llu,",
				 (long long)(pr->o->now - lag.read_at), (unsigned long long)lag.behind);
		if (lag.caught_up_at)
			json_time(b, "caught_up_at", lag.caught_up_at);
		else
			as_strbuf_add(b, "\"caught_up_at\":null");
		as_strbuf_add(b, "}");
		return;
	}
	if (rc) {
		as_strbuf_printf(b, "  index node: how far behind PostgreSQL it is cannot be read "
				 "(%s)\n", as_strerror(rc));
		return;
	}
	as_format_time(at, lag.read_at);
	ago_text(ago, pr->o->now - lag.read_at);
	if (!lag.behind) {
		as_strbuf_printf(b, "  index node: caught up with PostgreSQL at %s (%s ago)\n", at, ago);
		return;
	}
	as_strbuf_printf(b, "  index node: %llu record%s behind PostgreSQL as of %s (%s ago)",
			 (unsigned long long)lag.behind, lag.behind == 1 ? "" : "s", at, ago);
	if (lag.caught_up_at)
		as_strbuf_printf(b, "; last caught up at %s", as_format_time(caught, lag.caught_up_at));
	as_strbuf_add(b, ": contacts stored since may be missing\n");
}

/* ---- the case ------------------------------------------------------------ */

static void print_case_header(struct printer *pr, const struct cl_trace_visit *first)
{
	const struct cl_trace_report_opts *o = pr->o;
	char pid[PID_HEX], from[32], to[32], period[32];
	struct as_strbuf b = {0};

	pr->case_done = 1;
	hex_pid(pid, o->p->pid);
	if (o->json) {
		as_strbuf_printf(&b, "{\"case\":{\"pid\":\"%s\",", pid);
		json_time(&b, "from", o->p->from);
		as_strbuf_add(&b, ",");
		json_time(&b, "to", o->p->to);
		as_strbuf_printf(&b, ",\"depth\":%u,\"min_overlap_minutes\":%lld,"
				 "\"risk_period_minutes\":%lld,\"incubation_days\":%lld,\"source\":",
				 o->p->depth, (long long)(o->p->min_overlap / 60),
				 (long long)(o->p->risk_period / 60), (long long)(o->p->incubation / 86400));
		if (first)
			as_strbuf_printf(&b, "\"%s\"", cl_trace_source_name(first->v.kind));
		else
			as_strbuf_add(&b, "null");
		as_strbuf_add(&b, "}");
		print_index_lag(pr, &b);
		as_strbuf_add(&b, ",\"visits\":[");
	} else {
		as_strbuf_printf(&b, "Case %s\n", pid);
		as_strbuf_printf(&b, "  infectious window  %s .. %s\n", as_format_time(from, o->p->from),
				 as_format_time(to, o->p->to));
		as_strbuf_printf(&b, "  depth %u, min overlap %lld min within any %s, incubation "
				 "%lld days\n", o->p->depth, (long long)(o->p->min_overlap / 60),
				 cl_trace_period_text(period, o->p->risk_period),
				 (long long)(o->p->incubation / 86400));
		print_index_lag(pr, &b);
		as_strbuf_add(&b, "\nCase visits (entry inside the window):\n");
		if (!first)
			as_strbuf_add(&b, "  none\n");
	}
	out_buf(pr, &b);
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
	/* One walk of the gateway registry for all the case's visits. */
	rc = pr->gateways_loaded ? 0 : cl_gateway_index_load(pr->store, &pr->gateways);
	pr->gateways_loaded = 1;
	if (!rc)
		rc = cl_venue_silences_in(pr->store, &pr->gateways, v->v.venue_id, v->start, v->end,
					  pr->o->now, mark_silence, &m);
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

	if (!pr->case_done)
		print_case_header(pr, v);
	name = venue_name(pr, v->v.venue_id);
	if (pr->o->json) {
		as_strbuf_printf(&b, "%s{\"venue\":%u,\"venue_name\":", pr->n_visits ? "," : "",
				 v->v.venue_id);
		add_clean(&b, name, 1);
		/* venue_name() just cached the venue: its registry category */
		as_strbuf_add(&b, ",\"venue_category\":");
		add_clean(&b, pr->venue.category, 1);
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
	out_buf(pr, &b);
	return 0;
}

/* After the case's visits: close them once. */
static void end_visits(struct printer *pr)
{
	if (!pr->case_done)
		print_case_header(pr, NULL);
	if (pr->case_done == 1) {
		pr->case_done = 2;
		if (pr->o->json)
			pr->o->write(pr->o->write_ctx, "],\"contacts\":[", 14);
	}
}

/* ---- contacts --------------------------------------------------------------- */

/* Ask the caller to open pid's contact: 1 opened, 0 not (*why says why). */
static int reveal(struct printer *pr, const uint8_t pid[AS_PID_LEN], struct as_contact *c,
		  const char **why)
{
	int opened;

	memset(c, 0, sizeof *c);
	*why = "not revealed";
	opened = pr->o->open(pr->o->open_ctx, pid, c, why) == 1;
	if (!opened) {
		sodium_memzero(c, sizeof *c);
		pr->reveal_failed++;
		return 0;
	}
	pr->revealed++;
	return 1;
}

/* Append literal, number or text to a line being built in a local
 * buffer (the callers size it for the most they write). */
static char *put_lit(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}
#define PUT_LIT(p, s) put_lit((p), (s), sizeof(s) - 1)

static char *put_str(char *p, const char *s)
{
	return put_lit(p, s, strlen(s));
}

/* A decimal integer, as printf's %lld would write it. */
static char *put_int(char *p, long long v)
{
	char d[24], *q = d + sizeof d;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do
		*--q = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--q = '-';
	return put_lit(p, q, (size_t)(d + sizeof d - q));
}

static char *put_hex(char *p, const uint8_t pid[AS_PID_LEN])
{
	char hex[PID_HEX];

	return put_lit(p, hex_pid(hex, pid), PID_HEX - 1);
}

static void contact_json(struct printer *pr, const struct cl_trace_contact *c, struct as_strbuf *b,
			 const struct as_contact *who, int opened, const char *why)
{
	/* Built in place, not through printf or one add per piece: a trace
	 * writes some thousands of these.  At most 94 bytes go before the
	 * venue's name and 241 after it (times of 31, numbers of 20). */
	char head[128], tail[256], t[32], *p = head;

	p = put_lit(p, pr->n_contacts ? ",{\"pid\":\"" : "{\"pid\":\"", pr->n_contacts ? 9 : 8);
	p = put_hex(p, c->pid);
	p = PUT_LIT(p, "\",\"order\":");
	p = put_int(p, c->order);
	p = PUT_LIT(p, ",\"venue\":");
	p = put_int(p, c->venue);
	p = PUT_LIT(p, ",\"venue_name\":");
	as_strbuf_addn(b, head, (size_t)(p - head));
	if (!pr->venue_json.len || pr->venue_json_id != c->venue) {
		/* Contacts come by venue: cleaned and quoted once a venue. */
		pr->venue_json.len = 0;
		add_clean(&pr->venue_json, venue_name(pr, c->venue), 1);
		pr->venue_json_id = c->venue;
	}
	if (pr->venue_json.failed)
		b->failed = 1;
	else
		as_strbuf_addn(b, pr->venue_json.p, pr->venue_json.len);
	p = tail;
	p = PUT_LIT(p, ",\"start\":\"");
	p = put_str(p, as_format_time(t, c->start));
	p = PUT_LIT(p, "\",\"end\":\"");
	p = put_str(p, as_format_time(t, c->end));
	p = PUT_LIT(p, "\",\"overlap_minutes\":");
	p = put_int(p, c->overlap / 60);
	p = PUT_LIT(p, ",\"period_overlap_minutes\":");
	p = put_int(p, c->period_overlap / 60);
	p = c->high ? PUT_LIT(p, ",\"risk\":\"high\",\"via\":\"")
		    : PUT_LIT(p, ",\"risk\":\"low\",\"via\":\"");
	p = put_hex(p, c->via);
	p = PUT_LIT(p, "\",\"source\":\"");
	p = put_str(p, cl_trace_source_name(c->kind));
	p = PUT_LIT(p, "\"");
	as_strbuf_addn(b, tail, (size_t)(p - tail));
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
	snprintf(head, sizeof head, "max in %s", cl_trace_period_text(period, pr->o->p->risk_period));
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
	struct as_strbuf *b = &pr->line;
	const char *why = "";
	int opened = 0;

	pr->contacts++;
	end_visits(pr);
	if (pr->o->reveal)
		opened = reveal(pr, c->pid, &who, &why);
	b->len = 0;
	if (pr->o->json)
		contact_json(pr, c, b, &who, opened, why);
	else
		contact_text(pr, c, b, &who, opened, why);
	if (pr->o->reveal)
		sodium_memzero(&who, sizeof who);
	pr->n_contacts++;
	if (!b->failed && b->len)
		pr->o->write(pr->o->write_ctx, b->p, b->len);
	if (pr->o->reveal && b->p)
		sodium_memzero(b->p, b->cap); /* a phone and a name may be in it */
	return b->failed ? -ENOMEM : 0;
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
	out_buf(pr, &b);
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
	out_buf(pr, &b);
}

char *cl_trace_budget_text(char *out, size_t len, uint64_t budget,
			   const struct cl_trace_report_counts *counts)
{
	unsigned long long mib = (unsigned long long)(budget >> 20);

	if (counts->orders == 0)
		snprintf(out, len, "the trace stopped in its first order: the case's contacts "
			 "alone would take more than the trace memory budget of %llu MiB "
			 "(trace_memory in cloud.conf). Narrow the infectious window (from, to), "
			 "or raise trace_memory if this machine has the memory", mib);
	else
		snprintf(out, len, "the trace stopped before order %u: it would take more than "
			 "the trace memory budget of %llu MiB (trace_memory in cloud.conf). "
			 "Orders 1 to %u reached %llu people. Narrow the infectious window (from, "
			 "to) or lower the depth, or raise trace_memory if this machine has the "
			 "memory", counts->orders + 1, mib, counts->orders,
			 (unsigned long long)counts->people);
	return out;
}

int cl_trace_report(struct cl_store *s, const struct cl_trace_report_opts *o,
		    struct cl_trace_report_counts *counts)
{
	struct printer pr;
	struct cl_trace_sink sink;
	struct cl_trace_order total;
	int rc;

	memset(&pr, 0, sizeof pr);
	pr.store = s;
	pr.o = o;
	sink.ctx = &pr;
	sink.case_visit = on_case_visit;
	sink.contact = on_contact;
	sink.order_done = on_order;
	rc = cl_trace_run(s, o->p, &sink, &total);
	if (!rc)
		print_totals(&pr, &total);
	cl_gateway_index_free(&pr.gateways);
	as_strbuf_free(&pr.venue_json);
	as_strbuf_free(&pr.line);
	if (counts) {
		counts->contacts = pr.contacts;
		counts->revealed = pr.revealed;
		counts->reveal_failed = pr.reveal_failed;
		counts->orders = total.order;
		counts->people = total.people;
	}
	return rc;
}
