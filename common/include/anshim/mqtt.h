/*
 * mqtt.h - an MQTT client for a libuv loop, on Eclipse Paho's MQTTAsync.
 *
 * Paho runs its own threads and calls back while holding its own lock; this
 * module's callbacks only copy what they were given into a queue and wake
 * the loop with uv_async_send, so every handler below runs on the loop
 * thread and may call back into this module freely.  Paho's persistence is
 * off and nothing is sent while disconnected: the caller's store is the
 * outbox, and a PUBACK only means the broker took the message (it is not a
 * receipt - see docs/ARCHITECTURE.md).  Reconnection is ours, from a timer,
 * with exponential backoff and random jitter so that many clients do not
 * return at the same moment.
 */
#ifndef ANSHIM_MQTT_H
#define ANSHIM_MQTT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct as_mqtt;

struct as_mqtt_options {
	const char *uri;            /* tcp://host:port or ssl://host:port */
	const char *client_id;
	const char *username;       /* NULL: none */
	const char *password;       /* NULL: none */
	const char *ca_file;        /* TLS: CA to verify the broker; NULL: system */
	const char *cert_file;      /* TLS client certificate; NULL: none */
	const char *key_file;       /* TLS client key; NULL: none */
	int keepalive;              /* seconds */
	int clean_session;
	int max_buffered;           /* Paho maxBufferedMessages (>= 1) */
	uint64_t reconnect_min_ms;  /* first retry delay */
	uint64_t reconnect_max_ms;  /* cap */
	/* Drop, uncounted by the handlers, every message the broker delivers
	 * because it was retained on a topic we subscribed to (a subscriber
	 * that only ingests live traffic); as_mqtt_retained_ignored counts
	 * them. */
	int ignore_retained;
	/*
	 * A receiver that takes messages on Paho's receive thread instead of
	 * on_message on the loop (NULL: on_message).  topic and payload are
	 * borrowed for the call.  It may block until the application has
	 * room: backpressure.  While it blocks, Paho reads nothing more from
	 * the socket, so TCP flow control stops the broker, which keeps the
	 * QoS 1 messages queued for us.  (Paho acknowledges a QoS 1 message
	 * when it reads it, before messageArrived, and returning 0 from
	 * messageArrived only keeps the message in Paho's own unbounded queue:
	 * neither bounds anything.)  Paho holds its own mutex meanwhile, so the
	 * receiver must never wait for the loop thread nor for anything that
	 * calls into Paho, and must not call this module; the loop's own Paho
	 * calls (publish, subscribe) wait until it returns.  receiver_ctx is
	 * borrowed until as_mqtt_stop.
	 */
	void (*receiver)(void *receiver_ctx, const char *topic, const uint8_t *payload,
			 size_t len);
	void *receiver_ctx;
};

/* Handlers run on the loop thread.  Any may be NULL. */
struct as_mqtt_handlers {
	void (*on_connected)(void *ctx);
	void (*on_disconnected)(void *ctx, const char *why);
	/* topic and payload are borrowed for the call. */
	void (*on_message)(void *ctx, const char *topic, const uint8_t *payload, size_t len);
	/* A publish finished: ok = 1 when the broker acknowledged it (QoS 1). */
	void (*on_published)(void *ctx, uint64_t id, int ok);
	void (*on_subscribed)(void *ctx, uint64_t id, int ok);
};

/*
 * Create the client and start connecting.  opts strings are copied;
 * handlers and ctx are borrowed until as_mqtt_stop.  On failure err says
 * why (e.g. a bad URI).  Loop thread.
 */
int as_mqtt_start(struct as_mqtt **out, uv_loop_t *loop, const struct as_mqtt_options *opts,
		  const struct as_mqtt_handlers *handlers, void *ctx, char *err, size_t err_len);

/* Subscribe / publish; the outcome arrives in on_subscribed / on_published
 * with the caller's id.  A call that returns an error never calls back.
 * Loop thread. */
int as_mqtt_subscribe(struct as_mqtt *m, const char *topic, int qos, uint64_t id);
int as_mqtt_publish(struct as_mqtt *m, const char *topic, const void *payload, size_t len,
		    int qos, int retained, uint64_t id);

/* Also call cb (on the loop thread, with the start's ctx) when a connection
 * attempt fails: unreachable, or refused by the broker (why has Paho's text
 * and code); a retry is already scheduled.  For short-lived clients that
 * give up instead of waiting.  Set it right after as_mqtt_start, before the
 * loop runs.  Loop thread. */
void as_mqtt_on_connect_failed(struct as_mqtt *m, void (*cb)(void *ctx, const char *why));

int as_mqtt_is_connected(const struct as_mqtt *m);
/* Retained messages dropped under ignore_retained so far.  Loop thread. */
uint64_t as_mqtt_retained_ignored(const struct as_mqtt *m);
/* Last connection error text ("" if none); borrowed until the next event. */
const char *as_mqtt_last_error(const struct as_mqtt *m);

/* Go offline on purpose (disconnect, no reconnect) / come back. */
void as_mqtt_set_offline(struct as_mqtt *m, int offline);
int as_mqtt_is_offline(const struct as_mqtt *m);

/* Disconnect and destroy.  Pending publishes are dropped without callbacks.
 * The memory is released once the loop has run the close callbacks. */
void as_mqtt_stop(struct as_mqtt *m);

#endif
