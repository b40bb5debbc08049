/*
 * staffweb.c - the staff screen and kiosk page (see staffweb.h).
 *
 * Two kinds of thread meet here, and this is how they stay apart:
 *
 *  - The libuv loop thread owns the gateway's state: the check-in
 *    pipeline, the policy (contact key), the journal's status.  Nothing
 *    else may touch it.
 *  - libmicrohttpd's pool threads run every request handler (and the SSE
 *    streams' reads).  A handler that needs the loop's state makes a
 *    `struct call`, queues it under calls_lock, wakes the loop with
 *    uv_async_send (the only door into the loop), and waits on calls_cond
 *    with a deadline.  The loop thread (on_async) runs the call -- a
 *    status snapshot, the contact key, or a register entry handed to
 *    gw_checkin_manual, whose outcome arrives later on the loop -- and
 *    marks it done.  A handler that stops waiting (deadline, or the
 *    daemon stopping) marks its call abandoned, and whoever finishes it
 *    frees it; so a call is freed exactly once, by the waiter or by the
 *    loop.
 *  - Check-in outcomes go the other way: the loop thread calls
 *    gw_staffweb_event, which formats the event into a ring (events_lock)
 *    and wakes every stream (as_http_stream_wake: any thread); a stream's
 *    read, on a pool thread, copies what it has not sent yet.  A timer on
 *    the loop bumps ping_gen every PING_MS so that each stream sends an
 *    SSE comment: a parked connection does not notice a client that left
 *    until something is written to it.
 *
 * Lock order: events_lock before a stream's own lock (inside
 * httpserver.c); calls_lock is never held with another.  Work that needs
 * no loop state stays on the pool thread: the venue code is signed there
 * (device key copied at start, read-only), PINs are checked there
 * (staffauth.c, its own locks), register entries are validated and sealed
 * there.
 *
 * Personal data: the register handler's plaintext lives in the request
 * body (wiped by httpserver.c), in jansson's values (jansson allocates
 * through wipe_malloc/wipe_free while this module runs, so they are wiped
 * when freed) and in one struct gw_register_entry (sodium_memzero after
 * sealing).  Error texts come from register.c, which never quotes a name
 * or phone.  The CSV upload reads the body in place through fmemopen.
 */
#include "staffweb.h"

#include "control.h"
#include "register.h"
#include "staffauth.h"

#include "anshim/bytes.h"
#include "anshim/capsule.h"
#include "anshim/error.h"
#include "anshim/httpserver.h"
#include "anshim/log.h"
#include "anshim/qr.h"
#include "anshim/venuecode.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define RING 64                   /* events kept for the streams */
#define EVENT_JSON_MAX 320
#define STREAMS_MAX 8
#define PING_MS 15000
#define CALL_WAIT_MS 15000        /* a status or key request */
#define ENTRY_WAIT_MS 30000       /* a register entry (durable commit) */
#define IMPORT_WAIT_MS 120000     /* a whole CSV upload */
#define MAX_BODY (4u << 20)       /* a CSV upload of about 50 000 rows */
#define COOKIE "anshim_staff"
/* The journal's entered_by of entries typed on the staff screen. */
#define STAFF_SCREEN_UID 0xfffffffeu

enum call_kind { CALL_STATUS, CALL_CONTACT_KEY, CALL_MANUAL };

struct call {
	struct gw_staffweb *w;
	enum call_kind kind;
	struct gw_manual_entry entry;       /* CALL_MANUAL: sealed already */
	int done, abandoned;
	int status;                          /* 0, or -ECANCELED, ... */
	struct as_strbuf out;                /* CALL_STATUS */
	uint8_t key[AS_BOX_PK_LEN];          /* CALL_CONTACT_KEY */
	int have_key;
	enum gw_outcome outcome;             /* CALL_MANUAL */
	char reason[48];
	uint64_t seq;
	unsigned line;                       /* CSV upload: the row's line */
	struct call *next;
};

struct event_slot {
	uint64_t seq;
	char json[EVENT_JSON_MAX];
};

struct stream_ctx {
	struct gw_staffweb *w;
	struct as_http_stream *st;
	uint64_t cursor;                     /* last event seq sent */
	unsigned ping_seen;
	int hello;
	int reserved;                        /* counted in n_streams */
	struct stream_ctx *prev, *next;
};

struct gw_staffweb {
	uv_loop_t *loop;
	uv_async_t async;
	uv_timer_t ping_timer;
	int handles_open;
	struct as_http_server *server;
	struct gw_staffauth *auth;
	struct gw_checkin *checkin;
	const struct gw_staffweb_ops *ops;
	void *ctx;
	/* copies, read-only while running */
	char *listen, *web_dir, *pin_file, *timezone;
	uint32_t venue_id;
	unsigned code_slot;
	int64_t retention, session;
	uint8_t device_sk[AS_SIGN_SK_LEN];
	uint8_t gw_id[AS_GWID_LEN];
	/* calls into the loop */
	pthread_mutex_t calls_lock;
	pthread_cond_t calls_cond;
	struct call *queue_head, *queue_tail;
	int stopping;
	/* events out of the loop */
	pthread_mutex_t events_lock;
	struct event_slot ring[RING];
	uint64_t last_seq;
	unsigned ping_gen;
	struct stream_ctx *streams;
	unsigned n_streams;
};

/* ---- jansson's memory, wiped when freed --------------------------------- */

struct wipe_head {
	size_t size;
	max_align_t align;
};

static void *wipe_malloc(size_t n)
{
	struct wipe_head *h;

	if (n > SIZE_MAX - sizeof *h)
		return NULL;
	h = malloc(sizeof *h + n);
	if (!h)
		return NULL;
	h->size = n;
	return h + 1;
}

static void wipe_free(void *p)
{
	struct wipe_head *h;

	if (!p)
		return;
	h = (struct wipe_head *)p - 1;
	sodium_memzero(p, h->size);
	free(h);
}

/* ---- calls into the loop ------------------------------------------------ */

static void call_free(struct call *c)
{
	as_strbuf_free(&c->out);
	sodium_memzero(c, sizeof *c);
	free(c);
}

/* Mark c done and wake its waiter, or free it if nobody waits.  Loop. */
static void call_finish(struct call *c)
{
	struct gw_staffweb *w = c->w;

	pthread_mutex_lock(&w->calls_lock);
	c->done = 1;
	if (c->abandoned) {
		pthread_mutex_unlock(&w->calls_lock);
		call_free(c);
		return;
	}
	pthread_cond_broadcast(&w->calls_cond);
	pthread_mutex_unlock(&w->calls_lock);
}

/* Queue c for the loop.  0, or -ECANCELED when stopping (c not queued,
 * still the caller's).  Pool thread. */
static int call_submit(struct gw_staffweb *w, struct call *c)
{
	pthread_mutex_lock(&w->calls_lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->calls_lock);
		return -ECANCELED;
	}
	c->w = w;
	if (w->queue_tail)
		w->queue_tail->next = c;
	else
		w->queue_head = c;
	w->queue_tail = c;
	pthread_mutex_unlock(&w->calls_lock);
	uv_async_send(&w->async);
	return 0;
}

static void deadline_after(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait until every call in cs is done, or the deadline, or stop.  0: all
 * done (the caller frees them); otherwise the ones not done are abandoned
 * (the loop frees them) and set to NULL in cs, and the error is returned.
 * Pool thread. */
static int calls_wait(struct gw_staffweb *w, struct call **cs, size_t n, unsigned ms)
{
	struct timespec deadline;
	int rc = 0;

	deadline_after(&deadline, ms);
	pthread_mutex_lock(&w->calls_lock);
	for (size_t i = 0; i < n; i++) {
		while (cs[i] && !cs[i]->done && !w->stopping && rc == 0)
			if (pthread_cond_timedwait(&w->calls_cond, &w->calls_lock, &deadline) ==
			    ETIMEDOUT)
				rc = -ETIMEDOUT;
		if (cs[i] && !cs[i]->done) {
			if (rc == 0)
				rc = -ECANCELED;
			cs[i]->abandoned = 1;
			cs[i] = NULL;
		}
	}
	pthread_mutex_unlock(&w->calls_lock);
	return rc;
}

/* Submit one call and wait for it.  0 (c done, the caller's to free) or
 * an error (c is no longer the caller's, except after -ECANCELED from
 * submit, when it was freed here). */
static int call_run(struct gw_staffweb *w, struct call *c, unsigned ms)
{
	int rc = call_submit(w, c);

	if (rc) {
		call_free(c);
		return rc;
	}
	return calls_wait(w, &c, 1, ms);
}

static struct call *call_new(enum call_kind kind)
{
	struct call *c = calloc(1, sizeof *c);

	if (c)
		c->kind = kind;
	return c;
}

static void on_manual_outcome(void *ctx, const struct gw_outcome_event *ev)
{
	struct call *c = ctx;

	c->outcome = ev->outcome;
	c->seq = ev->seq;
	snprintf(c->reason, sizeof c->reason, "%s", ev->reason ? ev->reason : "");
	call_finish(c);
}

static void on_async(uv_async_t *h)
{
	struct gw_staffweb *w = h->data;
	struct call *c, *next;
	int stopping;

	pthread_mutex_lock(&w->calls_lock);
	c = w->queue_head;
	w->queue_head = w->queue_tail = NULL;
	stopping = w->stopping;
	pthread_mutex_unlock(&w->calls_lock);
	for (; c; c = next) {
		next = c->next;
		c->next = NULL;
		if (stopping) {
			c->status = -ECANCELED;
			call_finish(c);
			continue;
		}
		switch (c->kind) {
		case CALL_STATUS:
			w->ops->status(w->ctx, &c->out);
			c->status = c->out.failed ? -ENOMEM : 0;
			call_finish(c);
			break;
		case CALL_CONTACT_KEY: {
			const uint8_t *key = w->ops->contact_key(w->ctx);
			if (key) {
				memcpy(c->key, key, AS_BOX_PK_LEN);
				c->have_key = 1;
			}
			call_finish(c);
			break;
		}
		case CALL_MANUAL:
			gw_checkin_manual(w->checkin, &c->entry, "staff-screen", on_manual_outcome, c);
			break;
		}
	}
}

/* ---- events ------------------------------------------------------------- */

/* Wake every stream.  Under events_lock. */
static void wake_streams(struct gw_staffweb *w)
{
	for (struct stream_ctx *s = w->streams; s; s = s->next)
		as_http_stream_wake(s->st);
}

void gw_staffweb_event(struct gw_staffweb *w, const struct gw_outcome_event *ev)
{
	struct as_strbuf b = {0};
	struct event_slot *slot;

	if (!w)
		return;
	gw_control_event_json(&b, ev);
	if (b.failed || b.len >= EVENT_JSON_MAX) {
		as_strbuf_free(&b);
		return;
	}
	pthread_mutex_lock(&w->events_lock);
	slot = &w->ring[(w->last_seq + 1) % RING];
	slot->seq = ++w->last_seq;
	memcpy(slot->json, b.p, b.len + 1);
	wake_streams(w);
	pthread_mutex_unlock(&w->events_lock);
	as_strbuf_free(&b);
}

static void on_ping(uv_timer_t *t)
{
	struct gw_staffweb *w = t->data;

	pthread_mutex_lock(&w->events_lock);
	w->ping_gen++;
	wake_streams(w);
	pthread_mutex_unlock(&w->events_lock);
}

static long stream_read(void *ctx, char *buf, size_t max)
{
	struct stream_ctx *s = ctx;
	struct gw_staffweb *w = s->w;
	long n = 0;

	pthread_mutex_lock(&w->events_lock);
	if (!s->hello) {
		n = snprintf(buf, max, "retry: 2000\n: anshim gateway events\n\n");
		s->hello = 1;
	} else {
		uint64_t oldest = w->last_seq >= RING ? w->last_seq - RING + 1 : 1;
		if (s->cursor + 1 < oldest)
			s->cursor = oldest - 1;
		if (s->cursor < w->last_seq) {
			const struct event_slot *slot = &w->ring[(s->cursor + 1) % RING];
			int k = snprintf(buf, max, "id: %llu\nevent: outcome\ndata: %s\n\n",
					 (unsigned long long)slot->seq, slot->json);
			if (k > 0 && (size_t)k < max) {
				n = k;
				s->cursor++;
			}
		} else if (s->ping_seen != w->ping_gen) {
			s->ping_seen = w->ping_gen;
			n = snprintf(buf, max, ": ping\n\n");
		}
	}
	pthread_mutex_unlock(&w->events_lock);
	return n > 0 && (size_t)n < max ? n : 0;
}

static void stream_done(void *ctx)
{
	struct stream_ctx *s = ctx;
	struct gw_staffweb *w = s->w;

	pthread_mutex_lock(&w->events_lock);
	if (s->st) { /* linked */
		if (s->prev)
			s->prev->next = s->next;
		else
			w->streams = s->next;
		if (s->next)
			s->next->prev = s->prev;
	}
	if (s->reserved)
		w->n_streams--;
	pthread_mutex_unlock(&w->events_lock);
	free(s);
}

/* ---- replies -------------------------------------------------------------- */

static void reply_json(struct as_http_response *resp, int status, const char *json)
{
	as_http_response_text(resp, status, "application/json", json);
}

static void reply_buf(struct as_http_response *resp, int status, struct as_strbuf *b)
{
	if (b->failed)
		reply_json(resp, 500, "{\"error\":\"out-of-memory\"}");
	else
		reply_json(resp, status, b->p);
	as_strbuf_free(b);
}

static void reply_error(struct as_http_response *resp, int status, const char *code,
			const char *detail)
{
	struct as_strbuf b = {0};

	as_strbuf_add(&b, "{\"error\":");
	as_strbuf_add_json(&b, code);
	if (detail) {
		as_strbuf_add(&b, ",\"detail\":");
		as_strbuf_add_json(&b, detail);
	}
	as_strbuf_add(&b, "}");
	reply_buf(resp, status, &b);
}

static int content_type_is(const struct as_http_request *req, const char *type)
{
	const char *ct = as_http_request_header(req, "Content-Type");
	size_t n = strlen(type);

	return ct && strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';');
}

/* ---- the venue code ------------------------------------------------------- */

/* Sign the code for the slot holding t.  0 or an error. */
static int venue_code_at(const struct gw_staffweb *w, int64_t t, struct as_venue_code *code,
			 char *text, size_t cap)
{
	int rc = as_venue_code_rotating(code, w->venue_id, w->gw_id, t, w->code_slot,
					w->device_sk);

	if (rc == 0 && as_venue_code_to_text(text, cap, code) < 0)
		rc = AS_E_FIELD;
	return rc;
}

static void handle_code(struct gw_staffweb *w, struct as_http_response *resp)
{
	struct as_venue_code code;
	char text[AS_VENUE_CODE_TEXT_MAX];
	struct as_strbuf b = {0};
	int64_t now = (int64_t)time(NULL);

	if (w->venue_id == 0) {
		reply_error(resp, 503, "no-venue",
			    "venue_id is not set in the gateway's configuration");
		return;
	}
	if (venue_code_at(w, now, &code, text, sizeof text)) {
		reply_error(resp, 500, "code-failed", NULL);
		return;
	}
	as_strbuf_printf(&b, "{\"venue_id\":%u,\"slot_start\":%lld,\"slot_seconds\":%u,"
			 "\"now\":%lld,\"text\":\"%s\"}", (unsigned)w->venue_id,
			 (long long)code.slot_start, (unsigned)code.slot_seconds, (long long)now,
			 text);
	reply_buf(resp, 200, &b);
}

/* /api/code.svg?slot=START: the code of that slot, if it is the current one
 * or a neighbour (so a screen a little early or late still draws one). */
static void handle_code_svg(struct gw_staffweb *w, const struct as_http_request *req,
			    struct as_http_response *resp)
{
	struct as_venue_code code;
	char text[AS_VENUE_CODE_TEXT_MAX];
	const char *arg = as_http_request_query(req, "slot");
	int64_t now = (int64_t)time(NULL), at = now;
	struct as_qr qr;
	unsigned char *svg = NULL;
	size_t len = 0;

	if (w->venue_id == 0) {
		reply_error(resp, 503, "no-venue", NULL);
		return;
	}
	if (arg && *arg) {
		char *end = NULL;
		long long v = strtoll(arg, &end, 10);
		if (*end || v < now - (int64_t)w->code_slot * 2 ||
		    v > now + (int64_t)w->code_slot * 2) {
			reply_error(resp, 404, "slot-out-of-range", NULL);
			return;
		}
		at = v;
	}
	if (venue_code_at(w, at, &code, text, sizeof text) || as_qr_encode(&qr, text, 15)) {
		reply_error(resp, 500, "code-failed", NULL);
		return;
	}
	if (as_qr_render_svg(&qr, 8, NULL, &svg, &len)) {
		as_qr_free(&qr);
		reply_error(resp, 500, "code-failed", NULL);
		return;
	}
	as_qr_free(&qr);
	resp->status = 200;
	resp->body = (char *)svg;
	resp->body_len = len;
	resp->content_type = "image/svg+xml";
}

/* ---- staff login ------------------------------------------------------------ */

static int staff_ok(struct gw_staffweb *w, const struct as_http_request *req)
{
	return gw_staffauth_session_ok(w->auth, as_http_request_cookie(req, COOKIE),
				       (int64_t)time(NULL));
}

static void set_cookie(struct as_http_response *resp, const struct as_http_request *req,
		       const char *token, int64_t max_age)
{
	char value[256];

	snprintf(value, sizeof value, COOKIE "=%s; Path=/; Max-Age=%lld; HttpOnly; "
		 "SameSite=Strict%s", token, (long long)max_age,
		 as_http_request_tls(req) ? "; Secure" : "");
	as_http_response_header(resp, "Set-Cookie", value);
}

/* Parse the body as a JSON object (wiped memory); NULL after an answer. */
static json_t *body_json(const struct as_http_request *req, struct as_http_response *resp)
{
	size_t len;
	const char *body = as_http_request_body(req, &len);
	json_t *root;

	if (!content_type_is(req, "application/json")) {
		reply_error(resp, 415, "content-type", "send application/json");
		return NULL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		reply_error(resp, 400, "bad-json", "the body is not a JSON object");
		return NULL;
	}
	return root;
}

static const char *json_text(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void handle_login(struct gw_staffweb *w, const struct as_http_request *req,
			 struct as_http_response *resp)
{
	json_t *root = body_json(req, resp);
	char token[GW_STAFF_TOKEN_LEN + 1], msg[96];
	unsigned left = 0;
	int64_t wait = 0;
	enum gw_login_result r;
	const char *pin;

	if (!root)
		return;
	pin = json_text(root, "pin");
	r = gw_staffauth_login(w->auth, as_http_request_client(req), pin ? pin : "",
			       (int64_t)time(NULL), token, &left, &wait);
	json_decref(root);
	switch (r) {
	case GW_LOGIN_OK:
		set_cookie(resp, req, token, w->session);
		sodium_memzero(token, sizeof token);
		reply_json(resp, 200, "{\"ok\":true}");
		as_log(AS_LOG_NOTICE, "staff screen: login from %s", as_http_request_client(req));
		break;
	case GW_LOGIN_WRONG:
		snprintf(msg, sizeof msg, "{\"error\":\"wrong-pin\",\"tries_left\":%u}", left);
		reply_json(resp, 401, msg);
		as_log(AS_LOG_WARNING, "staff screen: wrong PIN from %s (%u tries left)",
		       as_http_request_client(req), left);
		break;
	case GW_LOGIN_LOCKED:
		snprintf(msg, sizeof msg, "%lld", (long long)wait);
		as_http_response_header(resp, "Retry-After", msg);
		snprintf(msg, sizeof msg, "{\"error\":\"locked\",\"retry_after\":%lld}",
			 (long long)wait);
		reply_json(resp, 429, msg);
		as_log(AS_LOG_WARNING, "staff screen: %s is locked out for %lld s after wrong PINs",
		       as_http_request_client(req), (long long)wait);
		break;
	case GW_LOGIN_NO_PIN:
		reply_error(resp, 503, "no-pin", "set a staff PIN with 'anshim-gw staff-pin'");
		break;
	}
}

static void handle_session(struct gw_staffweb *w, const struct as_http_request *req,
			   struct as_http_response *resp)
{
	struct as_strbuf b = {0};
	char today[16] = "", hm[8] = "";
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm)) {
		strftime(today, sizeof today, "%Y-%m-%d", &tm);
		strftime(hm, sizeof hm, "%H:%M", &tm);
	}
	as_strbuf_printf(&b, "{\"staff\":%s,\"pin_set\":%s,\"tls\":%s,\"today\":\"%s\","
			 "\"now_hm\":\"%s\",\"now\":%lld,\"timezone\":",
			 staff_ok(w, req) ? "true" : "false",
			 gw_staffauth_has_pin(w->auth) ? "true" : "false",
			 as_http_request_tls(req) ? "true" : "false", today, hm, (long long)now);
	as_strbuf_add_json(&b, w->timezone);
	as_strbuf_add(&b, "}");
	reply_buf(resp, 200, &b);
}

/* ---- status ------------------------------------------------------------------ */

static void handle_status(struct gw_staffweb *w, struct as_http_response *resp)
{
	struct call *c = call_new(CALL_STATUS);
	struct as_strbuf b = {0};
	int rc;

	if (!c) {
		reply_error(resp, 500, "out-of-memory", NULL);
		return;
	}
	rc = call_run(w, c, CALL_WAIT_MS);
	if (rc) {
		reply_error(resp, 503, rc == -ETIMEDOUT ? "busy" : "stopping", NULL);
		return;
	}
	as_strbuf_printf(&b, "{\"now\":%lld,\"venue_id\":%u,\"timezone\":", (long long)time(NULL),
			 (unsigned)w->venue_id);
	as_strbuf_add_json(&b, w->timezone);
	as_strbuf_add(&b, ",\"gateway\":");
	as_strbuf_addn(&b, c->out.p ? c->out.p : "{}", c->out.p ? c->out.len : 2);
	as_strbuf_add(&b, "}");
	call_free(c);
	reply_buf(resp, 200, &b);
}

/* ---- the paper register -------------------------------------------------------- */

/* Fetch the contact key from the loop into key.  0, AS_E_CONFIG (no
 * policy yet) or a call error. */
static int fetch_contact_key(struct gw_staffweb *w, uint8_t key[AS_BOX_PK_LEN])
{
	struct call *c = call_new(CALL_CONTACT_KEY);
	int rc;

	if (!c)
		return -ENOMEM;
	rc = call_run(w, c, CALL_WAIT_MS);
	if (rc)
		return rc;
	rc = c->have_key ? 0 : AS_E_CONFIG;
	memcpy(key, c->key, AS_BOX_PK_LEN);
	call_free(c);
	return rc;
}

/* Seal e into a new manual call (e is the caller's to wipe).  NULL on
 * failure (*rc set). */
static struct call *sealed_call(const struct gw_register_entry *e,
				const uint8_t key[AS_BOX_PK_LEN], int *rc)
{
	struct call *c = call_new(CALL_MANUAL);

	if (!c) {
		*rc = -ENOMEM;
		return NULL;
	}
	*rc = as_capsule_seal(c->entry.capsule, &e->contact, key);
	if (*rc) {
		call_free(c);
		return NULL;
	}
	gw_register_row_digest(c->entry.row_digest, e);
	c->entry.has_row_digest = 1;
	c->entry.entry_time = e->entry_time;
	c->entry.exit_time = e->exit_time;
	c->entry.headcount = e->headcount;
	c->entry.entered_by = STAFF_SCREEN_UID;
	return c;
}

static const struct {
	const char *key;
	enum gw_register_field field;
} form_fields[] = {
	{"date", GW_REG_DATE},           {"time", GW_REG_TIME},
	{"exit_time", GW_REG_EXIT_TIME}, {"name", GW_REG_NAME},
	{"phone", GW_REG_PHONE},         {"headcount", GW_REG_HEADCOUNT},
};

/* The form field a reason "field: ..." from register.c is about. */
static const char *field_of_reason(const char *why)
{
	for (size_t i = 0; i < sizeof form_fields / sizeof form_fields[0]; i++) {
		size_t n = strlen(form_fields[i].key);
		if (strncmp(why, form_fields[i].key, n) == 0 && why[n] == ':')
			return form_fields[i].key;
	}
	return "date";
}

static void handle_register(struct gw_staffweb *w, const struct as_http_request *req,
			    struct as_http_response *resp)
{
	json_t *root = body_json(req, resp);
	struct gw_register_entry e;
	struct as_strbuf b = {0};
	char why[GW_REGISTER_WHY_MAX];
	uint8_t key[AS_BOX_PK_LEN];
	struct call *c;
	int bad = 0, rc;

	if (!root)
		return;
	/* Every bad field at once, so the form marks them all. */
	as_strbuf_add(&b, "{\"error\":\"invalid\",\"fields\":{");
	for (size_t i = 0; i < sizeof form_fields / sizeof form_fields[0]; i++) {
		json_t *jv = json_object_get(root, form_fields[i].key);
		const char *v = json_text(root, form_fields[i].key);
		if (jv && !json_is_string(jv))
			snprintf(why, sizeof why, "%s: send it as text", form_fields[i].key);
		else if (gw_register_check_field(form_fields[i].field, v, why, sizeof why) == 0)
			continue;
		as_strbuf_printf(&b, "%s\"%s\":", bad++ ? "," : "", form_fields[i].key);
		as_strbuf_add_json(&b, why);
	}
	if (!bad) {
		rc = gw_register_validate(&e, json_text(root, "date"), json_text(root, "time"),
					  json_text(root, "name"), json_text(root, "phone"),
					  json_text(root, "headcount"),
					  json_text(root, "exit_time"), (int64_t)time(NULL),
					  w->retention, why, sizeof why);
		if (rc) {
			as_strbuf_printf(&b, "\"%s\":", field_of_reason(why));
			as_strbuf_add_json(&b, why);
			bad = 1;
		}
	}
	json_decref(root); /* wipes the name and phone (wipe_free) */
	if (bad) {
		as_strbuf_add(&b, "}}");
		reply_buf(resp, 422, &b);
		return;
	}
	as_strbuf_free(&b);
	rc = fetch_contact_key(w, key);
	c = rc ? NULL : sealed_call(&e, key, &rc);
	sodium_memzero(&e, sizeof e);
	if (!c) {
		if (rc == AS_E_CONFIG)
			reply_error(resp, 503, "no-policy", NULL);
		else
			reply_error(resp, 503, rc == -ETIMEDOUT ? "busy" : "failed", as_strerror(rc));
		return;
	}
	rc = call_run(w, c, ENTRY_WAIT_MS);
	if (rc) {
		reply_error(resp, 503, rc == -ETIMEDOUT ? "not-confirmed" : "stopping", NULL);
		return;
	}
	switch (c->outcome) {
	case GW_OUTCOME_ACCEPTED:
		reply_json(resp, 200, "{\"result\":\"recorded\"}");
		break;
	case GW_OUTCOME_DUPLICATE:
		reply_json(resp, 200, "{\"result\":\"duplicate\"}");
		break;
	case GW_OUTCOME_NOT_COLLECTING:
		reply_json(resp, 409, "{\"result\":\"not-collecting\"}");
		break;
	case GW_OUTCOME_REJECTED:
		as_strbuf_add(&b, "{\"result\":\"rejected\",\"reason\":");
		as_strbuf_add_json(&b, c->reason);
		as_strbuf_add(&b, "}");
		reply_buf(resp, 422, &b);
		break;
	}
	call_free(c);
}

/* ---- CSV upload ---------------------------------------------------------------- */

struct upload {
	struct gw_staffweb *w;
	uint8_t key[AS_BOX_PK_LEN];
	struct call **calls;
	size_t n_calls, cap_calls;
	unsigned long invalid;
	struct as_strbuf invalid_lines;   /* "line N: rejected: why\n" */
	int failed;
};

static void upload_on_entry(void *ctx, unsigned line, const struct gw_register_entry *e)
{
	struct upload *u = ctx;
	struct call *c;
	int rc;

	if (u->failed)
		return;
	if (u->n_calls == u->cap_calls) {
		size_t cap = u->cap_calls ? u->cap_calls * 2 : 64;
		struct call **grown = realloc(u->calls, cap * sizeof *grown);
		if (!grown) {
			u->failed = -ENOMEM;
			return;
		}
		u->calls = grown;
		u->cap_calls = cap;
	}
	c = sealed_call(e, u->key, &rc);
	if (!c) {
		u->failed = rc;
		return;
	}
	c->line = line;
	if ((rc = call_submit(u->w, c)) != 0) {
		call_free(c);
		u->failed = rc;
		return;
	}
	u->calls[u->n_calls++] = c;
}

static void upload_on_reject(void *ctx, unsigned line, const char *why)
{
	struct upload *u = ctx;

	u->invalid++;
	as_strbuf_printf(&u->invalid_lines, "line %u: rejected: %s\n", line, why);
}

static void handle_import(struct gw_staffweb *w, const struct as_http_request *req,
			  struct as_http_response *resp)
{
	size_t len;
	const char *body = as_http_request_body(req, &len);
	struct upload u;
	struct as_strbuf out = {0};
	struct gw_register_tally tally = {0};
	char summary[512];
	FILE *in;
	int rc, wait_rc = 0;

	if (!content_type_is(req, "text/csv")) {
		reply_error(resp, 415, "content-type", "send text/csv");
		return;
	}
	memset(&u, 0, sizeof u);
	u.w = w;
	rc = fetch_contact_key(w, u.key);
	if (rc) {
		reply_error(resp, 503, rc == AS_E_CONFIG ? "no-policy" : "busy", NULL);
		return;
	}
	in = len ? fmemopen((void *)body, len, "r") : NULL;
	if (!in) {
		reply_error(resp, 400, "empty", "the file is empty");
		return;
	}
	rc = gw_register_read_file(in, (int64_t)time(NULL), w->retention, upload_on_entry,
				   upload_on_reject, &u);
	fclose(in);
	if (u.n_calls)
		wait_rc = calls_wait(w, u.calls, u.n_calls, IMPORT_WAIT_MS);
	/* The report: the rows in file order, as 'anshim-gw import' prints it. */
	if (rc) {
		as_strbuf_add(&out, u.invalid_lines.p ? u.invalid_lines.p : "");
		gw_register_file_error(summary, sizeof summary, "the upload", rc);
		as_strbuf_add(&out, summary);
	} else {
		as_strbuf_add(&out, u.invalid_lines.p ? u.invalid_lines.p : "");
		tally.invalid = u.invalid;
		for (size_t i = 0; i < u.n_calls; i++) {
			struct call *c = u.calls[i];
			char line[128];
			if (!c) {
				tally.unconfirmed++;
				continue;
			}
			gw_register_tally_outcome(&tally, line, sizeof line, c->line,
						  gw_outcome_name(c->outcome), c->reason);
			as_strbuf_add(&out, line);
		}
		if (u.failed || wait_rc)
			as_strbuf_printf(&out, "the gateway could not take every row (%s); upload "
					 "the same file again: rows already recorded are skipped\n",
					 as_strerror(u.failed ? u.failed : wait_rc));
		gw_register_summary(summary, sizeof summary, "upload", &tally, w->timezone);
		as_strbuf_add(&out, summary);
	}
	for (size_t i = 0; i < u.n_calls; i++)
		if (u.calls[i])
			call_free(u.calls[i]);
	free(u.calls);
	as_strbuf_free(&u.invalid_lines);
	sodium_memzero(u.key, sizeof u.key);
	if (out.failed) {
		as_strbuf_free(&out);
		reply_error(resp, 500, "out-of-memory", NULL);
		return;
	}
	as_http_response_text(resp, rc ? 400 : 200, "text/plain; charset=utf-8", out.p);
	as_strbuf_free(&out);
}

/* ---- routing ------------------------------------------------------------------- */

static void handle_events(struct gw_staffweb *w, struct as_http_response *resp)
{
	struct stream_ctx *s = calloc(1, sizeof *s);
	struct as_http_stream *st;

	if (!s) {
		reply_error(resp, 500, "out-of-memory", NULL);
		return;
	}
	s->w = w;
	pthread_mutex_lock(&w->events_lock);
	if (w->n_streams >= STREAMS_MAX) {
		/* Some may be dead (a parked connection only notices a client
		 * that left when it writes): ping them all now, so a retry
		 * finds their places free. */
		w->ping_gen++;
		wake_streams(w);
		pthread_mutex_unlock(&w->events_lock);
		free(s);
		reply_error(resp, 503, "too-many-streams", NULL);
		return;
	}
	w->n_streams++; /* reserved: stream_done gives it back */
	s->reserved = 1;
	s->cursor = w->last_seq;
	s->ping_seen = w->ping_gen;
	pthread_mutex_unlock(&w->events_lock);
	/* Outside events_lock: on failure this calls stream_done at once.
	 * Otherwise nothing reads the stream before this handler returns. */
	st = as_http_response_stream(resp, "text/event-stream", stream_read, stream_done, s);
	if (!st)
		return;
	pthread_mutex_lock(&w->events_lock);
	s->st = st;
	s->next = w->streams;
	if (s->next)
		s->next->prev = s;
	w->streams = s;
	pthread_mutex_unlock(&w->events_lock);
}

static void on_request(void *ctx, const struct as_http_request *req,
		       struct as_http_response *resp)
{
	struct gw_staffweb *w = ctx;
	const char *method = as_http_request_method(req);
	const char *path = as_http_request_path(req);
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	int post = strcmp(method, "POST") == 0;

	if (get && strcmp(path, "/api/code") == 0)
		handle_code(w, resp);
	else if (get && strcmp(path, "/api/code.svg") == 0)
		handle_code_svg(w, req, resp);
	else if (get && strcmp(path, "/api/events") == 0)
		handle_events(w, resp);
	else if (get && strcmp(path, "/api/session") == 0)
		handle_session(w, req, resp);
	else if (post && strcmp(path, "/api/login") == 0)
		handle_login(w, req, resp);
	else if (post && strcmp(path, "/api/logout") == 0) {
		if (!content_type_is(req, "application/json")) {
			reply_error(resp, 415, "content-type", "send application/json");
			return;
		}
		gw_staffauth_logout(w->auth, as_http_request_cookie(req, COOKIE));
		set_cookie(resp, req, "", 0);
		reply_json(resp, 200, "{\"ok\":true}");
	} else if (strcmp(path, "/api/status") == 0 || strcmp(path, "/api/register") == 0 ||
		   strcmp(path, "/api/import") == 0) {
		if (!staff_ok(w, req))
			reply_error(resp, 401, "login", "log in with the staff PIN");
		else if (get && strcmp(path, "/api/status") == 0)
			handle_status(w, resp);
		else if (post && strcmp(path, "/api/register") == 0)
			handle_register(w, req, resp);
		else if (post && strcmp(path, "/api/import") == 0)
			handle_import(w, req, resp);
		else
			reply_error(resp, 405, "method", NULL);
	} else {
		reply_error(resp, 404, "not-found", NULL);
	}
}

/* ---- start and stop ------------------------------------------------------------ */

static char *dup_or_null(const char *s, int *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = 1;
	return d;
}

int gw_staffweb_reload_pin(struct gw_staffweb *w, char *err, size_t err_len)
{
	int have = 0;

	if (!w)
		return 0;
	return gw_staffauth_load_pin(w->auth, w->pin_file, &have, err, err_len);
}

static int web_dir_ok(const char *dir)
{
	struct stat st;

	return dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int gw_staffweb_check(const struct gw_staffweb_config *cfg, char *err, size_t err_len)
{
	struct stat st;
	int rc;

	if (!cfg->listen || !(as_http_address_is_loopback(cfg->listen) ||
			      strspn(cfg->listen, "0123456789.:abcdefABCDEF") == strlen(cfg->listen))) {
		snprintf(err, err_len, "web_listen '%s' is not a numeric IP address (give "
			 "127.0.0.1, an address of this gateway on the LAN, or 'off')",
			 cfg->listen ? cfg->listen : "");
		return AS_E_CONFIG;
	}
	if (!cfg->tls_cert != !cfg->tls_key) {
		snprintf(err, err_len, "the staff screen's TLS needs both web_tls_cert and "
			 "web_tls_key (only %s is set)", cfg->tls_cert ? "web_tls_cert" : "web_tls_key");
		return AS_E_CONFIG;
	}
	if (!as_http_address_is_loopback(cfg->listen)) {
		if (!cfg->tls_cert) {
			snprintf(err, err_len, "web_listen %s is on the network: set web_tls_cert and "
				 "web_tls_key (HTTPS), or listen on 127.0.0.1", cfg->listen);
			return AS_E_CONFIG;
		}
		if (stat(cfg->pin_file, &st) != 0) {
			snprintf(err, err_len, "web_listen %s is on the network, which needs a staff "
				 "PIN: set one with 'anshim-gw staff-pin' (kept in %s), or listen on "
				 "127.0.0.1", cfg->listen, cfg->pin_file);
			return AS_E_CONFIG;
		}
	}
	if (cfg->tls_cert && (rc = as_http_tls_files_check(cfg->tls_cert, cfg->tls_key, err,
							   err_len)) != 0)
		return rc;
	return 0;
}

int gw_staffweb_start(struct gw_staffweb **out, uv_loop_t *loop,
		      const struct gw_staffweb_config *cfg, struct gw_checkin *checkin,
		      const uint8_t device_sk[AS_SIGN_SK_LEN], const uint8_t gw_id[AS_GWID_LEN],
		      const struct gw_staffweb_ops *ops, void *ctx, char *err, size_t err_len)
{
	struct gw_staffweb *w;
	pthread_condattr_t ca;
	int failed = 0, have_pin = 0, rc;

	*out = NULL;
	w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->loop = loop;
	w->checkin = checkin;
	w->ops = ops;
	w->ctx = ctx;
	w->listen = dup_or_null(cfg->listen, &failed);
	w->web_dir = dup_or_null(cfg->web_dir, &failed);
	w->pin_file = dup_or_null(cfg->pin_file, &failed);
	w->timezone = dup_or_null(cfg->timezone ? cfg->timezone : "", &failed);
	w->venue_id = cfg->venue_id;
	w->code_slot = cfg->code_slot;
	w->retention = cfg->retention;
	w->session = cfg->session;
	memcpy(w->device_sk, device_sk, AS_SIGN_SK_LEN);
	memcpy(w->gw_id, gw_id, AS_GWID_LEN);
	pthread_mutex_init(&w->calls_lock, NULL);
	pthread_mutex_init(&w->events_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->calls_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (failed || gw_staffauth_new(&w->auth, cfg->lockout, cfg->session)) {
		gw_staffweb_free(w);
		return -ENOMEM;
	}
	rc = gw_staffweb_check(cfg, err, err_len);
	if (!rc)
		rc = gw_staffauth_load_pin(w->auth, w->pin_file, &have_pin, err, err_len);
	if (!rc && !have_pin && !as_http_address_is_loopback(w->listen)) {
		snprintf(err, err_len, "web_listen %s is on the network, which needs a staff PIN: "
			 "set one with 'anshim-gw staff-pin' (it is kept in %s), or listen on "
			 "127.0.0.1", w->listen, w->pin_file);
		rc = AS_E_CONFIG;
	}
	if (rc) {
		gw_staffweb_free(w);
		return rc == -ENOMEM ? rc : AS_E_CONFIG;
	}
	json_set_alloc_funcs(wipe_malloc, wipe_free);
	if (!web_dir_ok(w->web_dir))
		as_log(AS_LOG_WARNING, "web_dir '%s' is not a directory: the staff screen answers "
		       "its API only, without pages (install the package's web files there)",
		       w->web_dir ? w->web_dir : "");

	uv_async_init(loop, &w->async, on_async);
	w->async.data = w;
	uv_timer_init(loop, &w->ping_timer);
	w->ping_timer.data = w;
	uv_timer_start(&w->ping_timer, on_ping, PING_MS, PING_MS);
	w->handles_open = 1;

	struct as_http_config hc = {
		.address = w->listen,
		.port = cfg->port,
		.tls_cert_file = cfg->tls_cert,
		.tls_key_file = cfg->tls_key,
		.threads = 2,
		.max_connections = 32,
		.max_connections_per_ip = 16,
		.connection_timeout = 60,
		.max_body = MAX_BODY,
		.api_prefix = "/api/",
		.static_dir = web_dir_ok(w->web_dir) ? w->web_dir : NULL,
		.handler = on_request,
		.handler_ctx = w,
	};
	rc = as_http_server_start(&hc, &w->server, err, err_len);
	if (rc) {
		/* The handles are open: the caller stops and frees as usual. */
		*out = w;
		return rc;
	}
	as_log(AS_LOG_NOTICE, "staff screen on %s://%s%s%s:%u/kiosk (staff pages at /staff%s)",
	       as_http_server_tls(w->server) ? "https" : "http", strchr(w->listen, ':') ? "[" : "",
	       w->listen, strchr(w->listen, ':') ? "]" : "", (unsigned)as_http_server_port(w->server),
	       have_pin ? "" : "; no staff PIN yet: set one with 'anshim-gw staff-pin'");
	*out = w;
	return 0;
}

uint16_t gw_staffweb_port(const struct gw_staffweb *w)
{
	return w && w->server ? as_http_server_port(w->server) : 0;
}

int gw_staffweb_tls(const struct gw_staffweb *w)
{
	return w && w->server ? as_http_server_tls(w->server) : 0;
}

void gw_staffweb_stop(struct gw_staffweb *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->calls_lock);
	w->stopping = 1;
	pthread_cond_broadcast(&w->calls_cond);
	pthread_mutex_unlock(&w->calls_lock);
	/* Calls still queued: answer them (their waiters have given up or
	 * will see them done). */
	if (w->handles_open)
		on_async(&w->async);
	as_http_server_stop(w->server);
	w->server = NULL;
	if (w->handles_open) {
		uv_close((uv_handle_t *)&w->async, NULL);
		uv_close((uv_handle_t *)&w->ping_timer, NULL);
		w->handles_open = 0;
	}
}

void gw_staffweb_free(struct gw_staffweb *w)
{
	if (!w)
		return;
	gw_staffauth_free(w->auth);
	pthread_mutex_destroy(&w->calls_lock);
	pthread_mutex_destroy(&w->events_lock);
	pthread_cond_destroy(&w->calls_cond);
	free(w->listen);
	free(w->web_dir);
	free(w->pin_file);
	free(w->timezone);
	sodium_memzero(w->device_sk, sizeof w->device_sk);
	free(w);
}
