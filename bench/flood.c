/*
 * flood.c - a window of QoS 1 publishes over one MQTT connection (flood.h).
 * Invariant: inflight = published - acknowledged - failed <= window.
 * Thread: the caller's, inside the loop this module runs.
 */
#include "flood.h"

#include "anshim/error.h"
#include "anshim/mqtt.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <uv.h>

#define FLOOD_DEADLINE_MS 600000

struct flood {
	const char *prog;
	struct as_mqtt *mqtt;
	uv_timer_t deadline;
	const struct bench_flood_msg *msgs;
	uint64_t count, next, acked, failed;
	unsigned window, inflight;
	int done;
};

static void finish(struct flood *f)
{
	if (f->done)
		return;
	f->done = 1;
	uv_timer_stop(&f->deadline);
	uv_close((uv_handle_t *)&f->deadline, NULL);
	as_mqtt_stop(f->mqtt);
}

/* Publish until the window is full or everything is out. */
static void pump(struct flood *f)
{
	while (!f->done && f->next < f->count && f->inflight < f->window) {
		const struct bench_flood_msg *m = &f->msgs[f->next];
		int rc = as_mqtt_publish(f->mqtt, m->topic, m->data, m->len, 1, 0, f->next);

		if (rc == -ENOBUFS)
			return; /* Paho's buffer: wait for acks */
		if (rc) {
			fprintf(stderr, "%s: publish failed: %s\n", f->prog, as_strerror(rc));
			finish(f);
			return;
		}
		f->next++;
		f->inflight++;
	}
	if (f->acked + f->failed == f->count)
		finish(f);
}

static void on_connected(void *ctx)
{
	pump(ctx);
}

static void on_disconnected(void *ctx, const char *why)
{
	struct flood *f = ctx;

	fprintf(stderr, "%s: disconnected (%s) after %llu acknowledged\n", f->prog, why,
		(unsigned long long)f->acked);
	f->failed += f->next - f->acked - f->failed;
	finish(f);
}

static void on_published(void *ctx, uint64_t id, int ok)
{
	struct flood *f = ctx;

	(void)id;
	f->inflight--;
	if (ok)
		f->acked++;
	else
		f->failed++;
	pump(f);
}

static const struct as_mqtt_handlers handlers = {
	.on_connected = on_connected,
	.on_disconnected = on_disconnected,
	.on_published = on_published,
};

static void on_deadline(uv_timer_t *t)
{
	struct flood *f = t->data;

	fprintf(stderr, "%s: deadline reached after %llu acknowledged (%s)\n", f->prog,
		(unsigned long long)f->acked, as_mqtt_last_error(f->mqtt));
	finish(f);
}

uint64_t bench_flood_publish(const char *prog, const char *broker,
			     const struct bench_flood_msg *msgs, uint64_t count, unsigned window)
{
	struct flood f = {.prog = prog, .msgs = msgs, .count = count, .window = window};
	struct as_mqtt_options mo = {0};
	char err[256], client_id[64];
	uv_loop_t loop;

	if (count == 0)
		return 0;
	uv_loop_init(&loop);
	uv_timer_init(&loop, &f.deadline);
	f.deadline.data = &f;
	uv_timer_start(&f.deadline, on_deadline, FLOOD_DEADLINE_MS, 0);
	snprintf(client_id, sizeof client_id, "flood-%u", (unsigned)randombytes_random());
	mo.uri = broker;
	mo.client_id = client_id;
	mo.keepalive = 30;
	mo.clean_session = 1;
	mo.max_buffered = (int)window + 10;
	mo.reconnect_min_ms = 200;
	mo.reconnect_max_ms = 1000;
	if (as_mqtt_start(&f.mqtt, &loop, &mo, &handlers, &f, err, sizeof err)) {
		fprintf(stderr, "%s: %s\n", prog, err);
		uv_close((uv_handle_t *)&f.deadline, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return 0;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return f.acked;
}
