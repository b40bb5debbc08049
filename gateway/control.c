/*
 * control.c - the control socket (protocol in control.h).
 *
 * Manual entries are decoded field by field with strict parsers; a request
 * that does not parse is answered "ID rejected malformed" (or "error ...")
 * and the connection stays usable.  The control socket never carries the
 * plaintext of a paper-register row: the client seals it before sending
 * (the staff screen, staffweb.c, seals its own entries in the daemon).
 * gw_control_parse turns a line into a request and touches nothing else
 * (any thread; tests/fuzz feeds it arbitrary lines); the rest runs on the
 * loop thread only.
 */
#include "control.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/parse.h"
#include "lineserver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBSCRIBED 1

struct gw_control {
	struct gw_lineserver *server;
	struct gw_checkin *checkin;
	const struct gw_control_ops *ops;
	void *ctx;
};

struct manual_reply {
	struct gw_lineclient *cl;
	char id[24];
};

void gw_control_event_json(struct as_strbuf *b, const struct gw_outcome_event *ev)
{
	as_strbuf_printf(b, "{\"outcome\":\"%s\"", gw_outcome_name(ev->outcome));
	if (ev->reason && ev->reason[0])
		as_strbuf_printf(b, ",\"reason\":\"%s\"", ev->reason);
	as_strbuf_add(b, ",\"source\":");
	as_strbuf_add_json(b, ev->source ? ev->source : "");
	if (ev->kind)
		as_strbuf_printf(b, ",\"kind\":\"%s\"", as_record_kind_name(ev->kind));
	if (ev->seq)
		as_strbuf_printf(b, ",\"seq\":%llu", (unsigned long long)ev->seq);
	if (ev->time)
		as_strbuf_printf(b, ",\"time\":%lld", (long long)ev->time);
	if (ev->kind == AS_REC_MANUAL)
		as_strbuf_printf(b, ",\"headcount\":%u", ev->headcount);
	as_strbuf_add(b, "}");
}

static void send_text(struct gw_lineclient *cl, const char *text)
{
	gw_lineclient_send(cl, text, strlen(text));
}

static void send_buf(struct gw_lineclient *cl, struct as_strbuf *b)
{
	as_strbuf_add(b, "\n");
	if (b->failed)
		send_text(cl, "error out-of-memory\n");
	else
		gw_lineclient_send(cl, b->p, b->len);
	as_strbuf_free(b);
}

static void on_manual_outcome(void *ctx, const struct gw_outcome_event *ev)
{
	struct manual_reply *r = ctx;
	char text[128];

	if (ev->outcome == GW_OUTCOME_ACCEPTED)
		snprintf(text, sizeof text, "%s accepted seq=%llu\n", r->id,
			 (unsigned long long)ev->seq);
	else if (ev->outcome == GW_OUTCOME_REJECTED)
		snprintf(text, sizeof text, "%s rejected %s\n", r->id, ev->reason);
	else
		snprintf(text, sizeof text, "%s %s\n", r->id, gw_outcome_name(ev->outcome));
	send_text(r->cl, text);
	gw_lineclient_release(r->cl);
	free(r);
}

/* "manual ID ENTRY EXIT HEADCOUNT CAPSULE DIGEST": args is the text after
 * "manual " (modified by strtok_r). */
static void parse_manual(struct gw_control_request *req, char *args)
{
	struct gw_manual_entry *m = &req->entry;
	char *fields[6], *save = NULL;
	int64_t entry, exit_time, headcount;
	size_t n = 0;

	for (char *tok = strtok_r(args, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (n == 6) {
			n = 7;
			break;
		}
		fields[n++] = tok;
	}
	if (n < 1 || strlen(fields[0]) >= sizeof req->id) {
		req->kind = GW_CTL_MANUAL_USAGE;
		return;
	}
	snprintf(req->id, sizeof req->id, "%s", fields[0]);
	if (n != 6 || as_parse_int64(fields[1], 0, INT64_MAX / 2, &entry) ||
	    as_parse_int64(fields[2], 0, INT64_MAX / 2, &exit_time) ||
	    as_parse_int64(fields[3], 1, AS_HEADCOUNT_MAX, &headcount) ||
	    as_hex_decode(m->capsule, AS_CAPSULE_LEN, fields[4]) ||
	    (strcmp(fields[5], "-") != 0 &&
	     as_hex_decode(m->row_digest, sizeof m->row_digest, fields[5]))) {
		memset(m, 0, sizeof *m);
		req->kind = GW_CTL_MANUAL_MALFORMED;
		return;
	}
	m->entry_time = entry;
	m->exit_time = exit_time;
	m->headcount = (uint16_t)headcount;
	m->has_row_digest = strcmp(fields[5], "-") != 0;
	req->kind = GW_CTL_MANUAL;
}

void gw_control_parse(struct gw_control_request *req, const char *line, size_t len)
{
	static const struct {
		const char *word;
		enum gw_control_request_kind kind;
	} words[] = {
		{"status", GW_CTL_STATUS},   {"events", GW_CTL_EVENTS},
		{"purge", GW_CTL_PURGE},     {"offline", GW_CTL_OFFLINE},
		{"online", GW_CTL_ONLINE},   {"contact-key", GW_CTL_CONTACT_KEY},
	};
	char buf[GW_CONTROL_MAX_LINE + 1];
	size_t n = len < GW_CONTROL_MAX_LINE ? len : GW_CONTROL_MAX_LINE;

	memset(req, 0, sizeof *req);
	memcpy(buf, line, n);
	buf[n] = '\0';
	req->kind = GW_CTL_UNKNOWN;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(buf, words[i].word) == 0)
			req->kind = words[i].kind;
	if (strncmp(buf, "manual ", 7) == 0)
		parse_manual(req, buf + 7);
}

static void handle_manual(struct gw_control *c, struct gw_lineclient *cl,
			  const struct gw_control_request *req)
{
	struct manual_reply *r;
	struct gw_manual_entry m = req->entry;

	r = calloc(1, sizeof *r);
	if (!r) {
		send_text(cl, "error out-of-memory\n");
		return;
	}
	m.entered_by = (uint32_t)gw_lineclient_uid(cl);
	r->cl = cl;
	snprintf(r->id, sizeof r->id, "%s", req->id);
	gw_lineclient_hold(cl);
	gw_checkin_manual(c->checkin, &m, "register", on_manual_outcome, r);
}

struct purge_reply {
	struct gw_lineclient *cl;
};

static void on_purged(void *arg, int status, uint64_t purged)
{
	struct purge_reply *r = arg;
	char text[96];

	if (status)
		snprintf(text, sizeof text, "error purge failed: %s\n", as_strerror(status));
	else
		snprintf(text, sizeof text, "{\"purged\":%llu}\n", (unsigned long long)purged);
	send_text(r->cl, text);
	gw_lineclient_release(r->cl);
	free(r);
}

static void on_control_line(void *ctx, struct gw_lineclient *cl, const char *line, size_t len)
{
	struct gw_control *c = ctx;
	struct gw_control_request req;
	char text[2 * AS_BOX_PK_LEN + 16];

	gw_control_parse(&req, line, len);
	switch (req.kind) {
	case GW_CTL_STATUS: {
		struct as_strbuf b = {0};
		c->ops->status(c->ctx, &b);
		send_buf(cl, &b);
		break;
	}
	case GW_CTL_EVENTS:
		*gw_lineclient_flags(cl) |= SUBSCRIBED;
		send_text(cl, "ok\n");
		break;
	case GW_CTL_PURGE: {
		struct purge_reply *r = calloc(1, sizeof *r);
		if (!r) {
			send_text(cl, "error out-of-memory\n");
			break;
		}
		r->cl = cl;
		gw_lineclient_hold(cl);
		c->ops->purge(c->ctx, on_purged, r);
		break;
	}
	case GW_CTL_OFFLINE:
	case GW_CTL_ONLINE: {
		int rc = c->ops->set_offline(c->ctx, req.kind == GW_CTL_OFFLINE);
		send_text(cl, rc ? "error no broker configured\n" : "ok\n");
		break;
	}
	case GW_CTL_CONTACT_KEY: {
		const uint8_t *key = c->ops->contact_key(c->ctx);
		if (!key) {
			send_text(cl, "error no-policy\n");
			break;
		}
		memcpy(text, "contact-key ", 12);
		as_hex_encode(text + 12, key, AS_BOX_PK_LEN);
		text[12 + 2 * AS_BOX_PK_LEN] = '\n';
		text[13 + 2 * AS_BOX_PK_LEN] = '\0';
		send_text(cl, text);
		break;
	}
	case GW_CTL_MANUAL:
		handle_manual(c, cl, &req);
		break;
	case GW_CTL_MANUAL_MALFORMED:
		snprintf(text, sizeof text, "%s rejected malformed\n", req.id);
		send_text(cl, text);
		break;
	case GW_CTL_MANUAL_USAGE:
		send_text(cl, "error manual needs: ID ENTRY EXIT HEADCOUNT CAPSULE DIGEST\n");
		break;
	case GW_CTL_UNKNOWN:
		send_text(cl, "error unknown request (status, events, purge, offline, online, "
			  "contact-key, manual)\n");
		break;
	}
}

static void on_control_oversize(void *ctx, struct gw_lineclient *cl, size_t dropped)
{
	(void)ctx;
	(void)dropped;
	send_text(cl, "error request too long\n");
}

static const struct gw_lineserver_ops control_ops = {on_control_line, on_control_oversize};

int gw_control_start(struct gw_control **out, uv_loop_t *loop, const char *path,
		     struct gw_checkin *checkin, const struct gw_control_ops *ops, void *ctx,
		     char *err, size_t err_len)
{
	struct gw_control *c = calloc(1, sizeof *c);
	int rc;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->checkin = checkin;
	c->ops = ops;
	c->ctx = ctx;
	rc = gw_lineserver_start(&c->server, loop, path, 0660, GW_CONTROL_MAX_LINE, &control_ops, c,
				 err, err_len);
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void gw_control_stop(struct gw_control *c)
{
	if (c && c->server) {
		gw_lineserver_stop(c->server);
		c->server = NULL;
	}
}

void gw_control_free(struct gw_control *c)
{
	free(c);
}

struct broadcast {
	const char *text;
	size_t len;
};

static void send_if_subscribed(void *arg, struct gw_lineclient *cl)
{
	struct broadcast *b = arg;

	if (*gw_lineclient_flags(cl) & SUBSCRIBED)
		gw_lineclient_send(cl, b->text, b->len);
}

void gw_control_event(struct gw_control *c, const struct gw_outcome_event *ev)
{
	struct as_strbuf b = {0};
	struct broadcast msg;

	if (!c || !c->server)
		return;
	gw_control_event_json(&b, ev);
	as_strbuf_add(&b, "\n");
	if (!b.failed) {
		msg.text = b.p;
		msg.len = b.len;
		gw_lineserver_foreach(c->server, send_if_subscribed, &msg);
	}
	as_strbuf_free(&b);
}
