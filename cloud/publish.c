/*
 * publish.c - one-shot MQTT publish for CLIs (see publish.h), built on the
 * same as_mqtt client the daemons use, in a private loop that runs until
 * the broker acknowledged the message or the deadline timer fires.
 * It logs in as the daemon's account name + "/cli" (same password): the
 * shipped broker configuration makes the account name the client id, and a
 * second connection under the daemon's name would take over its connection
 * and, with a clean session, discard what the broker queued for it.
 * Single thread.
 */
#include "publish.h"

#include "anshim/error.h"
#include "anshim/mqtt.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct one_shot {
	struct as_mqtt *mqtt;
	uv_timer_t deadline;
	const char *topic;
	const void *payload;
	size_t len;
	int retained;
	int done;          /* 1 acknowledged, -1 failed */
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
	int rc = as_mqtt_publish(o->mqtt, o->topic, o->payload, o->len, 1, o->retained, 1);

	if (rc)
		finish(o, -1, as_strerror(rc));
}

static void on_published(void *ctx, uint64_t id, int ok)
{
	(void)id;
	finish(ctx, ok ? 1 : -1, ok ? NULL : "the broker refused the message (check its ACL)");
}

static void on_deadline(uv_timer_t *t)
{
	struct one_shot *o = t->data;

	finish(o, -1, as_mqtt_last_error(o->mqtt)[0] ? as_mqtt_last_error(o->mqtt)
						       : "timed out");
}

static const struct as_mqtt_handlers handlers = {on_connected, NULL, NULL, on_published, NULL};

int cl_publish_once(const struct cl_config *cfg, const char *topic, const void *payload,
		    size_t len, int retained, unsigned timeout_ms, char *err, size_t err_len)
{
	struct as_mqtt_options mo = {0};
	struct one_shot o;
	uv_loop_t loop;
	char client_id[64], username[300];
	int rc;

	memset(&o, 0, sizeof o);
	o.topic = topic;
	o.payload = payload;
	o.len = len;
	o.retained = retained;
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
	uv_timer_init(&loop, &o.deadline);
	o.deadline.data = &o;
	rc = as_mqtt_start(&o.mqtt, &loop, &mo, &handlers, &o, err, err_len);
	if (rc) {
		uv_close((uv_handle_t *)&o.deadline, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return rc;
	}
	uv_timer_start(&o.deadline, on_deadline, timeout_ms, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	if (o.done != 1) {
		snprintf(err, err_len, "cannot publish to %s on %s: %s", topic, cfg->broker, o.why);
		return AS_E_MQTT;
	}
	return 0;
}
