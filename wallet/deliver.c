/*
 * deliver.c - one delivery run of the wallet's outbox over MQTT (see
 * deliver.h for the topics and the rule that only a signed answer empties
 * the queue).
 *
 * A run: connect (client id = holder id, persistent session so that an
 * answer sent while we were away is still delivered next time), subscribe
 * to the ack topic, then publish the queued entries in diary order with at
 * most WINDOW unacknowledged publishes (Paho's own buffer is bounded).
 * Each verified answer is applied to the diary and the diary saved at
 * once, so a crash mid-run re-sends only what is still unanswered.  The
 * run ends when nothing is queued, at the deadline, at a refused
 * connection, or (give_up_offline) at the first failed connection attempt.
 *
 * Invariants: nothing leaves the queue on a PUBACK; an answer that does
 * not verify with the authority key, or names no queued entry, changes
 * nothing; logs name check-in ids by a short prefix and never print the
 * message (it holds the credential).  Thread: everything here runs on the
 * run's own libuv loop in the caller's thread; the mqtt module marshals
 * Paho's callbacks onto it.
 */
#include "deliver.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/mqtt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#define WINDOW 16
#define SUB_ID UINT64_MAX

struct run {
	uv_loop_t loop;
	uv_timer_t deadline;
	struct as_mqtt *mqtt;
	struct wl_diary *d;
	const struct wl_deliver_opts *o;
	struct wl_deliver_result *res;
	char ack_topic[96], checkin_topic[96];
	size_t next;            /* next diary index to consider publishing */
	int inflight;           /* publishes without their PUBACK yet */
	int subscribed;
	int finished;
	int rc;
};

void wl_topic(char *out, size_t cap, const uint8_t holder_pk[AS_SIGN_PK_LEN], const char *leaf)
{
	uint8_t hid[AS_HOLDER_ID_LEN];
	char hex[2 * AS_HOLDER_ID_LEN + 1];

	as_holder_id(hid, holder_pk);
	as_hex_encode(hex, hid, sizeof hid);
	snprintf(out, cap, "anshim/v1/wallet/%s/%s", hex, leaf);
}

static void on_closed(uv_handle_t *h)
{
	(void)h;
}

static void finish(struct run *r, int rc)
{
	if (r->finished)
		return;
	r->finished = 1;
	r->rc = rc;
	uv_timer_stop(&r->deadline);
	as_mqtt_stop(r->mqtt);
	r->mqtt = NULL;
}

static void pump(struct run *r)
{
	while (!r->finished && r->subscribed && r->inflight < WINDOW && r->next < r->d->n) {
		size_t i = r->next++;
		const struct wl_entry *e = &r->d->e[i];
		int rc;

		if (e->state != WL_QUEUED)
			continue;
		rc = as_mqtt_publish(r->mqtt, r->checkin_topic, e->msg, e->len, 1, 0, i);
		if (rc) {
			/* Paho's buffer or the connection: try again on the
			 * next PUBACK or reconnection. */
			r->next = i;
			return;
		}
		r->inflight++;
	}
}

static void on_connected(void *ctx)
{
	struct run *r = ctx;
	int rc;

	r->res->connected = 1;
	r->subscribed = 0;
	r->inflight = 0;
	r->next = 0;
	rc = as_mqtt_subscribe(r->mqtt, r->ack_topic, 1, SUB_ID);
	if (rc) {
		snprintf(r->res->error, sizeof r->res->error, "cannot subscribe to the answers: %s",
			 as_strerror(rc));
		finish(r, AS_E_MQTT);
	}
}

static void on_disconnected(void *ctx, const char *why)
{
	struct run *r = ctx;

	r->subscribed = 0;
	r->inflight = 0;
	snprintf(r->res->error, sizeof r->res->error, "connection lost: %s", why);
}

static void on_connect_failed(void *ctx, const char *why)
{
	struct run *r = ctx;

	int connack = as_mqtt_last_connack(r->mqtt);

	/* Refused by the broker (2 client id, 4 bad user name or password,
	 * 5 not authorised): retrying would not help. */
	if (connack == 2 || connack == 4 || connack == 5) {
		r->res->refused = 1;
		snprintf(r->res->error, sizeof r->res->error,
			 "the broker %s refused the connection: %s (check the user name "
			 "and password: wallet.conf, --username, --password-file)", r->o->uri, why);
		finish(r, AS_E_MQTT);
		return;
	}
	snprintf(r->res->error, sizeof r->res->error, "cannot connect to %s: %s", r->o->uri, why);
	if (r->o->give_up_offline)
		finish(r, AS_E_MQTT);
}

static void on_subscribed(void *ctx, uint64_t id, int ok)
{
	struct run *r = ctx;

	if (id != SUB_ID)
		return;
	if (!ok) {
		snprintf(r->res->error, sizeof r->res->error,
			 "the broker refused the subscription to %s (check its ACL)", r->ack_topic);
		finish(r, AS_E_MQTT);
		return;
	}
	r->subscribed = 1;
	r->res->error[0] = '\0';
	pump(r);
}

static void on_published(void *ctx, uint64_t id, int ok)
{
	struct run *r = ctx;

	(void)id;
	if (r->inflight > 0)
		r->inflight--;
	if (ok)
		r->res->published++;
	pump(r);
}

static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len)
{
	struct run *r = ctx;
	struct as_app_answer a;
	char idhex[2 * AS_APP_CHECKIN_ID_LEN + 1];
	int rc;

	if (strcmp(topic, r->ack_topic) != 0)
		return;
	rc = as_app_answer_decode(&a, payload, len, r->o->authority_pk);
	if (rc) {
		r->res->ignored++;
		fprintf(stderr, "anshim-wallet: ignored an answer that is not valid (%s)\n",
			as_strerror(rc));
		return;
	}
	if (!wl_diary_answer(r->d, &a)) {
		r->res->ignored++;
		return;
	}
	r->res->answered++;
	as_hex_encode(idhex, a.checkin_id, sizeof a.checkin_id);
	if (a.status == AS_APP_REJECTED &&
	    !(r->o->own_id && memcmp(r->o->own_id, a.checkin_id, sizeof a.checkin_id) == 0))
		fprintf(stderr, "anshim-wallet: the cloud rejected %.12s: %s\n", idhex,
			as_app_reason_name(a.reason));
	rc = wl_diary_save(r->d, r->o->diary_path);
	if (rc) {
		snprintf(r->res->error, sizeof r->res->error, "cannot save the diary %s: %s",
			 r->o->diary_path, as_strerror(rc));
		finish(r, rc);
		return;
	}
	if (wl_diary_queued(r->d) == 0)
		finish(r, 0);
}

static void on_deadline(uv_timer_t *t)
{
	struct run *r = t->data;
	char last[sizeof r->res->error];

	snprintf(last, sizeof last, "%s", r->res->error);
	if (r->subscribed) {
		snprintf(r->res->error, sizeof r->res->error, "no answer from the cloud for "
			 "%zu message(s) within %llu s", wl_diary_queued(r->d),
			 (unsigned long long)(r->o->timeout_ms / 1000));
		finish(r, -ETIMEDOUT);
		return;
	}
	snprintf(r->res->error, sizeof r->res->error, "no usable connection to %s within "
		 "%llu s%s%.180s", r->o->uri, (unsigned long long)(r->o->timeout_ms / 1000),
		 last[0] ? ": " : "", last);
	finish(r, r->res->connected ? -ETIMEDOUT : AS_E_MQTT);
}

static const struct as_mqtt_handlers handlers = {
	.on_connected = on_connected,
	.on_disconnected = on_disconnected,
	.on_message = on_message,
	.on_published = on_published,
	.on_subscribed = on_subscribed,
};

int wl_deliver(struct wl_diary *d, const struct wl_deliver_opts *o,
	       struct wl_deliver_result *res)
{
	struct as_mqtt_options mo = {0};
	char client_id[2 * AS_HOLDER_ID_LEN + 8], err[200];
	uint8_t hid[AS_HOLDER_ID_LEN];
	struct run r;
	int rc;

	memset(res, 0, sizeof *res);
	if (wl_diary_queued(d) == 0)
		return 0;
	memset(&r, 0, sizeof r);
	r.d = d;
	r.o = o;
	r.res = res;
	wl_topic(r.ack_topic, sizeof r.ack_topic, o->holder_pk, "ack");
	wl_topic(r.checkin_topic, sizeof r.checkin_topic, o->holder_pk, "checkin");
	as_holder_id(hid, o->holder_pk);
	/* The wallet's broker account is "wallet/ID" (ID: its holder id), and
	 * so is its client id (the shipped broker configuration enforces it). */
	memcpy(client_id, "wallet/", 7);
	as_hex_encode(client_id + 7, hid, sizeof hid);
	mo.uri = o->uri;
	mo.client_id = client_id;
	mo.username = o->username ? o->username : o->password ? client_id : NULL;
	mo.password = o->password;
	mo.ca_file = o->ca_file;
	mo.keepalive = 30;
	mo.clean_session = 0;
	mo.max_buffered = 4 * WINDOW;
	mo.reconnect_min_ms = 500;
	mo.reconnect_max_ms = 4000;

	rc = uv_loop_init(&r.loop);
	if (rc) {
		snprintf(res->error, sizeof res->error, "libuv: %s", uv_strerror(rc));
		return rc;
	}
	uv_timer_init(&r.loop, &r.deadline);
	r.deadline.data = &r;
	rc = as_mqtt_start(&r.mqtt, &r.loop, &mo, &handlers, &r, err, sizeof err);
	if (rc) {
		snprintf(res->error, sizeof res->error, "cannot start MQTT for %s: %s", o->uri, err);
		r.rc = AS_E_MQTT;
		r.finished = 1;
	} else {
		as_mqtt_on_connect_failed(r.mqtt, on_connect_failed);
		uv_timer_start(&r.deadline, on_deadline, o->timeout_ms, 0);
	}
	while (!r.finished && uv_run(&r.loop, UV_RUN_ONCE))
		;
	uv_close((uv_handle_t *)&r.deadline, on_closed);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	rc = uv_loop_close(&r.loop);
	if (rc)
		fprintf(stderr, "anshim-wallet: libuv loop not empty at exit: %s\n", uv_strerror(rc));
	return r.rc;
}
