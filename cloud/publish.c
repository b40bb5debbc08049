/*
 * publish.c - one-shot MQTT publish and retained fetch for CLIs (see
 * publish.h), built on the same as_mqtt client the daemons use, in a
 * private loop that runs until the broker acknowledged the message (or
 * sent the retained one, or said it holds none) or the deadline timer
 * fires.
 * It logs in as the daemon's account name + "/cli" (same password): the
 * shipped broker configuration makes the account name the client id, and a
 * second connection under the daemon's name would take over its connection
 * and, with a clean session, discard what the broker queued for it.
 * Single thread.
 */
#include "publish.h"

#include "anshim/error.h"
#include "anshim/mqtt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct one_shot {
	struct as_mqtt *mqtt;
	uv_timer_t deadline;
	const char *topic;
	int fetch;         /* 0: publish payload; 1: fetch the retained message */
	const void *payload;
	size_t len;
	int retained;
	uint8_t *got;      /* fetch: the message (malloc'd) */
	size_t got_len;
	int none;          /* fetch: the broker holds no retained message */
	int done;          /* 1 acknowledged / fetched, -1 failed */
	char why[AS_MQTT_ERROR_MAX];
};

static void finish(struct one_shot *o, int result, const char *why)
{
	if (o->done)
		return;
	o->done = result;
	if (why)
		snprintf(o->why, sizeof o->why, "%s", why);
	uv_timer_stop(&o->deadline);
	uv_close((uv_handle_t *)&o->deadline, NULL);
	as_mqtt_stop(o->mqtt);
}

static void on_connected(void *ctx)
{
	struct one_shot *o = ctx;
	int rc = o->fetch ? as_mqtt_subscribe(o->mqtt, o->topic, 1, 1)
			  : as_mqtt_publish(o->mqtt, o->topic, o->payload, o->len, 1, o->retained, 1);

	if (rc)
		finish(o, -1, as_strerror(rc));
}

static void on_published(void *ctx, uint64_t id, int ok)
{
	(void)id;
	finish(ctx, ok ? 1 : -1, ok ? NULL : "the broker refused the message (check its ACL)");
}

/* The first subscription's retained message, if any, comes right after its
 * SUBACK and before the second SUBACK: the second is the barrier. */
static void on_subscribed(void *ctx, uint64_t id, int ok)
{
	struct one_shot *o = ctx;
	int rc;

	if (!ok) {
		finish(o, -1, "the broker refused the subscription (check its ACL: the "
		       "account needs read access to the topic)");
	} else if (id == 1) {
		if ((rc = as_mqtt_subscribe(o->mqtt, o->topic, 1, 2)) != 0)
			finish(o, -1, as_strerror(rc));
	} else {
		o->none = 1;
		finish(o, 1, NULL);
	}
}

static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len)
{
	struct one_shot *o = ctx;

	if (o->done || strcmp(topic, o->topic) != 0)
		return;
	o->got = malloc(len ? len : 1);
	if (!o->got) {
		finish(o, -1, as_strerror(-ENOMEM));
		return;
	}
	memcpy(o->got, payload, len);
	o->got_len = len;
	finish(o, 1, NULL);
}

static void on_deadline(uv_timer_t *t)
{
	struct one_shot *o = t->data;

	finish(o, -1, as_mqtt_last_error(o->mqtt)[0] ? as_mqtt_last_error(o->mqtt)
						       : "timed out");
}

static const struct as_mqtt_handlers handlers = {on_connected, NULL, on_message, on_published,
						 on_subscribed};

/* Connect as the CLI's account, run o to its end or the deadline. */
static int one_shot_run(const struct cl_config *cfg, struct one_shot *o, unsigned timeout_ms,
			char *err, size_t err_len)
{
	struct as_mqtt_options mo = {0};
	uv_loop_t loop;
	char client_id[64], username[300];
	int rc;

	if (uv_loop_init(&loop))
		return -ENOMEM;
	snprintf(client_id, sizeof client_id, "anshim-cloud-%ld", (long)getpid());
	AS_MQTT_OPTIONS_FROM_CONFIG(&mo, cfg, NULL);
	if (cfg->broker_username) {
		snprintf(username, sizeof username, "%s/cli", cfg->broker_username);
		mo.username = username;
	}
	mo.client_id = client_id;
	mo.keepalive = 30;
	mo.clean_session = 1;
	mo.max_buffered = 10;
	mo.reconnect_min_ms = 200;
	mo.reconnect_max_ms = 2000;
	uv_timer_init(&loop, &o->deadline);
	o->deadline.data = o;
	rc = as_mqtt_start(&o->mqtt, &loop, &mo, &handlers, o, err, err_len);
	if (rc) {
		uv_close((uv_handle_t *)&o->deadline, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return rc;
	}
	uv_timer_start(&o->deadline, on_deadline, timeout_ms, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return 0;
}

int cl_publish_once(const struct cl_config *cfg, const char *topic, const void *payload,
		    size_t len, int retained, unsigned timeout_ms, char *err, size_t err_len)
{
	struct one_shot o;
	int rc;

	memset(&o, 0, sizeof o);
	o.topic = topic;
	o.payload = payload;
	o.len = len;
	o.retained = retained;
	if ((rc = one_shot_run(cfg, &o, timeout_ms, err, err_len)) != 0)
		return rc;
	if (o.done != 1) {
		snprintf(err, err_len, "cannot publish to %s on %s: %s", topic, cfg->broker, o.why);
		return AS_E_MQTT;
	}
	return 0;
}

int cl_fetch_retained(const struct cl_config *cfg, const char *topic, unsigned timeout_ms,
		      uint8_t **payload, size_t *len, char *err, size_t err_len)
{
	struct one_shot o;
	int rc;

	*payload = NULL;
	*len = 0;
	memset(&o, 0, sizeof o);
	o.topic = topic;
	o.fetch = 1;
	if ((rc = one_shot_run(cfg, &o, timeout_ms, err, err_len)) != 0)
		return rc;
	if (o.done != 1) {
		free(o.got);
		snprintf(err, err_len, "cannot read %s on %s: %s", topic, cfg->broker, o.why);
		return AS_E_MQTT;
	}
	if (o.none)
		return 1;
	*payload = o.got;
	*len = o.got_len;
	return 0;
}
