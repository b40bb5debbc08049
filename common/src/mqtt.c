/*
 * mqtt.c - Paho MQTTAsync marshalled onto a libuv loop (see mqtt.h).
 *
 * Threads: the Paho callbacks (connect/subscribe/send outcomes,
 * connectionLost, messageArrived) run on Paho's threads; they allocate one
 * event, push it on a mutex-protected queue and call uv_async_send - never
 * anything else, in particular never back into Paho.  (Except that
 * messageArrived drops retained messages when told to, and hands messages
 * to the application's receiver instead when it has one, which may block:
 * backpressure, see mqtt.h; messages on loop_topic always take the queue.)
 * Everything else runs
 * on the loop thread.  Every callback is set once, before the first
 * connect.
 *
 * Invariants: one connect attempt at a time; reconnects come only from the
 * timer, or at once to the next broker of the list when one fails; an
 * operation context allocated for Paho is freed by its callback, or at stop
 * if Paho never called back (they are all on one list).
 *
 * Failover: the broker setting may list several brokers in failover order.
 * Each connect attempt goes to one of them (Paho's serverURIs with one
 * entry, so each failure is explained for its own broker).  An attempt
 * starts at the first; when a broker fails, the next is tried at once; when
 * the last fails, the backoff timer starts again at the first.  A lost
 * connection starts again at the first too, so clients return to the
 * preferred broker whenever they reconnect.  While connected to a later
 * broker, the client stays there.
 *
 * A failed connection is explained in plain words with the fix (which
 * setting of which file to check) in last_error; with log_failures it is
 * also logged, once when it starts or changes cause, then with a back-off
 * (struct as_log_backoff), each attempt only at debug level.
 */
#include "anshim/mqtt.h"

#include "anshim/error.h"
#include "anshim/log.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mqtt_event_type {
	EV_CONNECTED,
	EV_CONNECT_FAILED,
	EV_CONNECTION_LOST,
	EV_MESSAGE,
	EV_PUBLISHED,
	EV_SUBSCRIBED,
	EV_DISCONNECTED           /* a disconnect we asked for has finished */
};

struct mqtt_event {
	enum mqtt_event_type type;
	uint64_t id;
	int ok;
	char *topic;              /* EV_MESSAGE */
	uint8_t *payload;         /* EV_MESSAGE */
	size_t len;
	int code;                 /* Paho's failure code (CONNACK code 1-5) */
	char text[160];           /* failure reason */
	struct mqtt_event *next;
};

/* What Paho gets as the context of one operation. */
struct mqtt_op {
	struct as_mqtt *m;
	uint64_t id;
	enum mqtt_event_type type;
	struct mqtt_op *prev, *next;
};

struct as_mqtt {
	uv_loop_t *loop;
	uv_async_t async;
	uv_timer_t retry;
	MQTTAsync client;
	const struct as_mqtt_handlers *handlers;
	void (*on_connect_failed)(void *ctx, const char *why);
	void *ctx;
	/* copies of the options */
	char *uri, *client_id, *username, *password, *ca_file, *cert_file, *key_file;
	/* the brokers of uri in failover order (pointers into uri_words) */
	char *uri_words;
	char *uris[AS_MQTT_BROKERS_MAX];
	size_t n_uris, cur;           /* cur: the broker of the current attempt */
	int failover_logged;          /* a failover was logged since the last connect */
	char *config_path;
	char *loop_topic;             /* opts->loop_topic, or NULL */
	int keepalive, clean_session, log_failures, ignore_retained;
	void (*receiver)(void *receiver_ctx, const char *topic, const uint8_t *payload,
			 size_t len);
	void *receiver_ctx;
	uint64_t backoff_min, backoff_max, backoff;
	/* loop-thread state */
	int connected, connecting, offline, stopping, handles_open;
	/* Disconnects asked of Paho and not finished yet: a connect started
	 * meanwhile can be lost by Paho with no callback at all, so none is
	 * started until they finish (EV_DISCONNECTED), or until
	 * DISCONNECT_GRACE_MS after the last one, should Paho not say. */
	int disconnecting;
	uint64_t disconnect_started;      /* uv_now of the last one */
	int last_connack;                /* CONNACK refusal of the last attempt, or 0 */
	char last_error[AS_MQTT_ERROR_MAX];
	char reported[AS_MQTT_ERROR_MAX]; /* the failure last logged */
	struct as_log_backoff report;
	/* shared with Paho threads, under lock */
	uv_mutex_t lock;
	struct mqtt_event *head, *tail;
	struct mqtt_op *ops;
	uint64_t retained_ignored;
};

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* ---- Paho threads: copy, enqueue, wake ---- */

static void push_event(struct as_mqtt *m, struct mqtt_event *ev)
{
	uv_mutex_lock(&m->lock);
	ev->next = NULL;
	if (m->tail)
		m->tail->next = ev;
	else
		m->head = ev;
	m->tail = ev;
	uv_mutex_unlock(&m->lock);
	uv_async_send(&m->async);
}

static void push_simple(struct as_mqtt *m, enum mqtt_event_type type, uint64_t id, int ok,
			int code, const char *text)
{
	struct mqtt_event *ev = calloc(1, sizeof *ev);

	if (!ev)
		return; /* out of memory on a Paho thread: nothing better to do */
	ev->type = type;
	ev->id = id;
	ev->ok = ok;
	ev->code = code;
	if (text)
		snprintf(ev->text, sizeof ev->text, "%s", text);
	push_event(m, ev);
}

/* Take op off the list; returns its owner.  Paho thread or loop. */
static struct as_mqtt *op_finish(struct mqtt_op *op, uint64_t *id, enum mqtt_event_type *type)
{
	struct as_mqtt *m = op->m;

	uv_mutex_lock(&m->lock);
	if (op->prev)
		op->prev->next = op->next;
	else
		m->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	uv_mutex_unlock(&m->lock);
	*id = op->id;
	*type = op->type;
	free(op);
	return m;
}

static void on_op_success(void *context, MQTTAsync_successData *data)
{
	enum mqtt_event_type type;
	uint64_t id;
	struct as_mqtt *m = op_finish(context, &id, &type);

	(void)data;
	push_simple(m, type, id, 1, 0, NULL);
}

static void on_op_failure(void *context, MQTTAsync_failureData *data)
{
	enum mqtt_event_type type;
	uint64_t id;
	struct as_mqtt *m = op_finish(context, &id, &type);
	char text[160];

	snprintf(text, sizeof text, "%s (code %d)", data && data->message ? data->message :
		 "operation failed", data ? data->code : 0);
	push_simple(m, type == EV_CONNECTED ? EV_CONNECT_FAILED : type, id, 0,
		    data ? data->code : 0, text);
}

static void on_connection_lost(void *context, char *cause)
{
	push_simple(context, EV_CONNECTION_LOST, 0, 0, 0, cause ? cause : "connection lost");
}

static int on_message_arrived(void *context, char *topic, int topic_len, MQTTAsync_message *msg)
{
	struct as_mqtt *m = context;
	struct mqtt_event *ev;
	size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	int to_loop = m->loop_topic && strlen(m->loop_topic) == tlen &&
		      memcmp(m->loop_topic, topic, tlen) == 0;

	if (msg->retained && m->ignore_retained && !to_loop) {
		uv_mutex_lock(&m->lock);
		m->retained_ignored++;
		uv_mutex_unlock(&m->lock);
		MQTTAsync_freeMessage(&msg);
		MQTTAsync_free(topic);
		return 1;
	}
	if (m->receiver && !to_loop) {
		char *t = topic_len > 0 ? strndup(topic, tlen) : NULL;

		/* A NULL copy (out of memory) falls back to the borrowed topic,
		 * NUL-terminated when topic_len is 0. */
		m->receiver(m->receiver_ctx, t ? t : topic, msg->payload,
			    msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0);
		free(t);
		MQTTAsync_freeMessage(&msg);
		MQTTAsync_free(topic);
		return 1;
	}
	ev = calloc(1, sizeof *ev);
	if (ev) {
		ev->type = EV_MESSAGE;
		ev->topic = malloc(tlen + 1);
		ev->len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
		ev->payload = malloc(ev->len ? ev->len : 1);
		if (ev->topic && ev->payload) {
			memcpy(ev->topic, topic, tlen);
			ev->topic[tlen] = '\0';
			if (ev->len)
				memcpy(ev->payload, msg->payload, ev->len);
			push_event(m, ev);
		} else {
			free(ev->topic);
			free(ev->payload);
			free(ev);
		}
	}
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

/* ---- loop thread ---- */

static struct mqtt_op *op_new(struct as_mqtt *m, uint64_t id, enum mqtt_event_type type)
{
	struct mqtt_op *op = calloc(1, sizeof *op);

	if (!op)
		return NULL;
	op->m = m;
	op->id = id;
	op->type = type;
	uv_mutex_lock(&m->lock);
	op->next = m->ops;
	if (m->ops)
		m->ops->prev = op;
	m->ops = op;
	uv_mutex_unlock(&m->lock);
	return op;
}

static void op_cancel(struct mqtt_op *op)
{
	uint64_t id;
	enum mqtt_event_type type;

	op_finish(op, &id, &type);
}

static void schedule_reconnect(struct as_mqtt *m);
static void report_failure(struct as_mqtt *m);

/* The broker of the current (or last) connection attempt. */
static const char *cur_uri(const struct as_mqtt *m)
{
	return m->uris[m->cur];
}

static int uri_is_tls(const char *uri)
{
	return strncmp(uri, "ssl://", 6) == 0 || strncmp(uri, "mqtts://", 8) == 0 ||
	       strncmp(uri, "wss://", 6) == 0;
}

/* Paho's disconnect waits up to this long for messages in flight. */
#define DISCONNECT_TIMEOUT_MS 1000
#define DISCONNECT_GRACE_MS (3 * DISCONNECT_TIMEOUT_MS)

static void on_retry(uv_timer_t *t);

/* Ask Paho to disconnect, and note it until it says it is done. */
static void disconnect_now(struct as_mqtt *m)
{
	MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer;
	struct mqtt_op *op = op_new(m, 0, EV_DISCONNECTED);

	dopts.timeout = DISCONNECT_TIMEOUT_MS;
	if (op) {
		dopts.onSuccess = on_op_success;
		dopts.onFailure = on_op_failure;
		dopts.context = op;
	}
	if (MQTTAsync_disconnect(m->client, &dopts) != MQTTASYNC_SUCCESS) {
		if (op)
			op_cancel(op);
		return;
	}
	if (op)
		m->disconnecting++;
	m->disconnect_started = uv_now(m->loop);
}

static void connect_now(struct as_mqtt *m)
{
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	struct mqtt_op *op;
	int rc;

	if (m->stopping || m->offline || m->connecting || m->connected)
		return;
	if (m->disconnecting) {
		uint64_t since = uv_now(m->loop) - m->disconnect_started;

		if (since < DISCONNECT_GRACE_MS) {
			/* EV_DISCONNECTED connects; this timer, should it not come. */
			uv_timer_start(&m->retry, on_retry, DISCONNECT_GRACE_MS - since, 0);
			return;
		}
		m->disconnecting = 0;
	}
	op = op_new(m, 0, EV_CONNECTED);
	if (!op)
		return;
	co.keepAliveInterval = m->keepalive;
	co.cleansession = m->clean_session;
	co.automaticReconnect = 0;
	co.connectTimeout = 10;
	co.username = m->username;
	co.password = m->password;
	co.onSuccess = on_op_success;
	co.onFailure = on_op_failure;
	co.context = op;
	co.serverURIs = &m->uris[m->cur];
	co.serverURIcount = 1;
	if (uri_is_tls(cur_uri(m))) {
		ssl.trustStore = m->ca_file;
		ssl.keyStore = m->cert_file;
		ssl.privateKey = m->key_file;
		ssl.enableServerCertAuth = 1;
		ssl.verify = 1;
		co.ssl = &ssl;
	}
	m->connecting = 1;
	rc = MQTTAsync_connect(m->client, &co);
	if (rc != MQTTASYNC_SUCCESS) {
		op_cancel(op);
		m->connecting = 0;
		snprintf(m->last_error, sizeof m->last_error, "the MQTT client library cannot "
			 "start a connection to %s (code %d)%s", cur_uri(m), rc,
			 co.ssl ? ": check broker_ca_file, broker_cert_file and broker_key_file" :
			 "");
		if (m->cur + 1 < m->n_uris) {
			/* The next broker, at once (at most AS_MQTT_BROKERS_MAX deep). */
			m->cur++;
			connect_now(m);
			return;
		}
		m->cur = 0;
		report_failure(m);
		schedule_reconnect(m);
	}
}

static void on_retry(uv_timer_t *t)
{
	connect_now(t->data);
}

static void schedule_reconnect(struct as_mqtt *m)
{
	uint64_t delay;

	if (m->stopping || m->offline)
		return;
	/* Full backoff doubles up to the cap; the delay is drawn uniformly
	 * from its upper half so a crowd of gateways spreads out. */
	m->backoff = m->backoff ? m->backoff * 2 : m->backoff_min;
	if (m->backoff > m->backoff_max)
		m->backoff = m->backoff_max;
	delay = m->backoff / 2 + randombytes_uniform((uint32_t)(m->backoff / 2 + 1));
	uv_timer_start(&m->retry, on_retry, delay, 0);
}

/* Put the failure of a connection attempt into plain words, with the fix:
 * code is Paho's (1-5: the broker's CONNACK refusal, MQTT 3.1.1), text its
 * own words. */
static void explain_failure(struct as_mqtt *m, int code, const char *text)
{
	const char *file = m->config_path ? m->config_path : "the configuration";
	const char *uri = cur_uri(m);
	int tls = uri_is_tls(uri);

	m->last_connack = code >= 1 && code <= 5 ? code : 0;
	switch (m->last_connack) {
	case 4:
	case 5:
		if (m->username)
			snprintf(m->last_error, sizeof m->last_error,
				 "the broker at %s refused the password for user '%s' or does "
				 "not know the user (%s, CONNACK code %d): check broker_username "
				 "and broker_password in %s against the broker's password file",
				 uri, m->username, code == 4 ? "bad user name or password" :
				 "not authorised", code, file);
		else
			snprintf(m->last_error, sizeof m->last_error,
				 "the broker at %s refused a connection without a user name "
				 "(not authorised, CONNACK code %d): set broker_username and "
				 "broker_password in %s", uri, code, file);
		break;
	case 2:
		snprintf(m->last_error, sizeof m->last_error,
			 "the broker at %s refused the client id '%s' (CONNACK code 2): check "
			 "the broker's client id rules for user '%s'", uri, m->client_id,
			 m->username ? m->username : "(none)");
		break;
	case 1:
	case 3:
		snprintf(m->last_error, sizeof m->last_error,
			 "the broker at %s turned the connection away (%s, CONNACK code %d): "
			 "check the broker's own log", uri, code == 1 ?
			 "protocol version not supported" : "server unavailable", code);
		break;
	default:
		snprintf(m->last_error, sizeof m->last_error,
			 "cannot reach the broker at %s (%s): check that it runs and listens "
			 "there, the network, and 'broker' in %s%s", uri, text, file,
			 tls ? " (for ssl://, also broker_ca_file and the broker's certificate)" :
			 "");
		break;
	}
}

/* Log a failed attempt: every one at debug level; the report (cause and
 * fix) when it starts or changes, then with a back-off. */
static void report_failure(struct as_mqtt *m)
{
	uint64_t held = 0, total;

	if (!m->log_failures)
		return;
	if (strcmp(m->reported, m->last_error) != 0) {
		as_log_backoff_reset(&m->report);
		snprintf(m->reported, sizeof m->reported, "%s", m->last_error);
	}
	total = m->report.total + 1;
	as_log(AS_LOG_DEBUG, "connection attempt %llu failed: %s", (unsigned long long)total,
	       m->last_error);
	if (!as_log_backoff_due(&m->report, uv_now(m->loop), &held))
		return;
	if (total == 1)
		as_log(AS_LOG_ERR, "%s; retrying, with growing pauses", m->last_error);
	else
		as_log(AS_LOG_ERR, "still failing after %llu attempts (%llu since the last "
		       "report): %s", (unsigned long long)total, (unsigned long long)held + 1,
		       m->last_error);
}

/* The copies of the caller's settings that m owns (the password wiped). */
static void free_settings(struct as_mqtt *m)
{
	free(m->uri);
	free(m->uri_words);
	free(m->client_id);
	free(m->username);
	if (m->password)
		sodium_memzero(m->password, strlen(m->password));
	free(m->password);
	free(m->ca_file);
	free(m->cert_file);
	free(m->key_file);
	free(m->config_path);
	free(m->loop_topic);
}

static void free_event(struct mqtt_event *ev)
{
	free(ev->topic);
	free(ev->payload);
	free(ev);
}

static void handle_event(struct as_mqtt *m, struct mqtt_event *ev)
{
	const struct as_mqtt_handlers *h = m->handlers;

	switch (ev->type) {
	case EV_CONNECTED:
		m->connecting = 0;
		if (m->offline) {
			/* The attempt finished after we were told to go offline. */
			disconnect_now(m);
			break;
		}
		m->connected = 1;
		m->backoff = 0;
		m->last_error[0] = '\0';
		m->last_connack = 0;
		m->reported[0] = '\0';
		if (m->log_failures && m->n_uris > 1 && (m->report.total || m->failover_logged))
			as_log(AS_LOG_NOTICE, "connected to the broker at %s (%zu of %zu in "
			       "failover order) after %llu failed rounds", cur_uri(m),
			       m->cur + 1, m->n_uris, (unsigned long long)m->report.total);
		else if (m->log_failures && m->report.total)
			as_log(AS_LOG_NOTICE, "connected to the broker at %s after %llu failed "
			       "attempts", cur_uri(m), (unsigned long long)m->report.total);
		m->failover_logged = 0;
		as_log_backoff_reset(&m->report);
		if (h->on_connected)
			h->on_connected(m->ctx);
		break;
	case EV_CONNECT_FAILED:
		m->connecting = 0;
		explain_failure(m, ev->code, ev->text);
		if (m->cur + 1 < m->n_uris) {
			/* Fail over to the next broker now; only the last failure
			 * of a round counts as a failed attempt. */
			if (m->log_failures)
				as_log(m->failover_logged ? AS_LOG_DEBUG : AS_LOG_WARNING,
				       "%s; trying the next broker, %s", m->last_error,
				       m->uris[m->cur + 1]);
			m->failover_logged = 1;
			m->cur++;
			connect_now(m);
			break;
		}
		m->cur = 0;
		report_failure(m);
		schedule_reconnect(m);
		if (m->on_connect_failed)
			m->on_connect_failed(m->ctx, ev->text);
		break;
	case EV_CONNECTION_LOST:
		m->connected = 0;
		m->connecting = 0;
		snprintf(m->last_error, sizeof m->last_error, "lost the connection to the broker "
			 "at %s (%s); reconnecting", cur_uri(m), ev->text);
		m->cur = 0; /* back to the preferred broker */
		if (h->on_disconnected)
			h->on_disconnected(m->ctx, ev->text);
		schedule_reconnect(m);
		break;
	case EV_MESSAGE:
		if (h->on_message)
			h->on_message(m->ctx, ev->topic, ev->payload, ev->len);
		break;
	case EV_PUBLISHED:
		if (h->on_published)
			h->on_published(m->ctx, ev->id, ev->ok);
		break;
	case EV_SUBSCRIBED:
		if (h->on_subscribed)
			h->on_subscribed(m->ctx, ev->id, ev->ok);
		break;
	case EV_DISCONNECTED:
		if (m->disconnecting > 0)
			m->disconnecting--;
		if (!m->disconnecting)
			connect_now(m);
		break;
	}
}

static void on_async(uv_async_t *a)
{
	struct as_mqtt *m = a->data;
	struct mqtt_event *ev;

	uv_mutex_lock(&m->lock);
	ev = m->head;
	m->head = m->tail = NULL;
	uv_mutex_unlock(&m->lock);
	while (ev) {
		struct mqtt_event *next = ev->next;
		if (!m->stopping)
			handle_event(m, ev);
		free_event(ev);
		ev = next;
	}
}

/* Split m->uri_words, in place, into m->uris: brokers separated by spaces
 * or tabs, each with a scheme Paho knows.  Returns 0, or AS_E_MQTT with err
 * naming the entry and the fix. */
static int split_brokers(struct as_mqtt *m, char *err, size_t err_len)
{
	static const char *const schemes[] = {"tcp://", "ssl://", "mqtt://", "mqtts://",
					      "ws://", "wss://"};
	char *p = m->uri_words;

	m->n_uris = 0;
	for (;;) {
		size_t len, i;
		int known = 0;

		p += strspn(p, " \t");
		if (!*p)
			break;
		len = strcspn(p, " \t");
		if (m->n_uris == AS_MQTT_BROKERS_MAX) {
			snprintf(err, err_len, "more than %d brokers in '%s': list at most %d, "
				 "in failover order", AS_MQTT_BROKERS_MAX, m->uri,
				 AS_MQTT_BROKERS_MAX);
			return AS_E_MQTT;
		}
		for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
			if (len > strlen(schemes[i]) &&
			    strncmp(p, schemes[i], strlen(schemes[i])) == 0)
				known = 1;
		if (!known) {
			snprintf(err, err_len, "broker %zu of '%s', '%.*s', is not a broker "
				 "address: use tcp://HOST:PORT or ssl://HOST:PORT, several "
				 "separated by spaces in failover order", m->n_uris + 1, m->uri,
				 (int)(len > 80 ? 80 : len), p);
			return AS_E_MQTT;
		}
		m->uris[m->n_uris++] = p;
		p += len;
		if (*p)
			*p++ = '\0';
	}
	if (m->n_uris == 0) {
		snprintf(err, err_len, "no broker address in '%s': use tcp://HOST:PORT or "
			 "ssl://HOST:PORT", m->uri);
		return AS_E_MQTT;
	}
	return 0;
}

int as_mqtt_start(struct as_mqtt **out, uv_loop_t *loop, const struct as_mqtt_options *opts,
		  const struct as_mqtt_handlers *handlers, void *ctx, char *err, size_t err_len)
{
	MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer;
	struct as_mqtt *m;
	int rc;

	*out = NULL;
	m = calloc(1, sizeof *m);
	if (!m)
		return -ENOMEM;
	m->loop = loop;
	m->handlers = handlers;
	m->ctx = ctx;
	m->uri = opts->uri ? strdup(opts->uri) : NULL;
	m->uri_words = opts->uri ? strdup(opts->uri) : NULL;
	m->client_id = strdup(opts->client_id);
	m->username = dup_or_null(opts->username);
	m->password = dup_or_null(opts->password);
	m->ca_file = dup_or_null(opts->ca_file);
	m->cert_file = dup_or_null(opts->cert_file);
	m->key_file = dup_or_null(opts->key_file);
	m->config_path = dup_or_null(opts->config_path);
	m->loop_topic = dup_or_null(opts->loop_topic);
	m->log_failures = opts->log_failures;
	m->keepalive = opts->keepalive > 0 ? opts->keepalive : 60;
	m->clean_session = opts->clean_session;
	m->ignore_retained = opts->ignore_retained;
	m->receiver = opts->receiver;
	m->receiver_ctx = opts->receiver_ctx;
	m->backoff_min = opts->reconnect_min_ms ? opts->reconnect_min_ms : 1000;
	m->backoff_max = opts->reconnect_max_ms > m->backoff_min ? opts->reconnect_max_ms
								 : m->backoff_min;
	uv_mutex_init(&m->lock);
	create.sendWhileDisconnected = 0;
	create.maxBufferedMessages = opts->max_buffered > 0 ? opts->max_buffered : 100;
	rc = m->uri_words ? split_brokers(m, err, err_len) : MQTTASYNC_FAILURE;
	if (rc == AS_E_MQTT)
		goto fail;
	rc = m->n_uris && m->client_id
		     ? MQTTAsync_createWithOptions(&m->client, m->uris[0], m->client_id,
						   MQTTCLIENT_PERSISTENCE_NONE, NULL, &create)
		     : MQTTASYNC_FAILURE;
	if (rc != MQTTASYNC_SUCCESS) {
		snprintf(err, err_len, "cannot create an MQTT client for '%s' (code %d; use "
			 "tcp://HOST:PORT or ssl://HOST:PORT)", opts->uri ? opts->uri : "", rc);
fail:
		free_settings(m);
		uv_mutex_destroy(&m->lock);
		free(m);
		return AS_E_MQTT;
	}
	MQTTAsync_setCallbacks(m->client, m, on_connection_lost, on_message_arrived, NULL);
	uv_async_init(loop, &m->async, on_async);
	m->async.data = m;
	uv_timer_init(loop, &m->retry);
	m->retry.data = m;
	m->handles_open = 2;
	*out = m;
	connect_now(m);
	return 0;
}

int as_mqtt_subscribe(struct as_mqtt *m, const char *topic, int qos, uint64_t id)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	struct mqtt_op *op;
	int rc;

	if (!m->connected)
		return -ENOTCONN;
	op = op_new(m, id, EV_SUBSCRIBED);
	if (!op)
		return -ENOMEM;
	ro.onSuccess = on_op_success;
	ro.onFailure = on_op_failure;
	ro.context = op;
	rc = MQTTAsync_subscribe(m->client, topic, qos, &ro);
	if (rc != MQTTASYNC_SUCCESS) {
		op_cancel(op);
		return AS_E_MQTT;
	}
	return 0;
}

int as_mqtt_publish(struct as_mqtt *m, const char *topic, const void *payload, size_t len,
		    int qos, int retained, uint64_t id)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	struct mqtt_op *op;
	int rc;

	/* While a connection is being made, Paho may already hold it: the
	 * messages the broker kept in our session can arrive, and be answered,
	 * before the connect callback reaches this loop.  Paho knows whether
	 * it is connected, so let it decide (MQTTASYNC_DISCONNECTED below). */
	if (!m->connected && !m->connecting)
		return -ENOTCONN;
	if (len > INT32_MAX)
		return AS_E_OVERSIZE;
	op = op_new(m, id, EV_PUBLISHED);
	if (!op)
		return -ENOMEM;
	msg.payload = (void *)payload; /* Paho copies it before returning */
	msg.payloadlen = (int)len;
	msg.qos = qos;
	msg.retained = retained;
	ro.onSuccess = on_op_success;
	ro.onFailure = on_op_failure;
	ro.context = op;
	rc = MQTTAsync_sendMessage(m->client, topic, &msg, &ro);
	if (rc != MQTTASYNC_SUCCESS) {
		op_cancel(op);
		if (rc == MQTTASYNC_DISCONNECTED)
			return -ENOTCONN;
		return rc == MQTTASYNC_MAX_BUFFERED_MESSAGES ? -ENOBUFS : AS_E_MQTT;
	}
	return 0;
}

const char *as_mqtt_current_broker(const struct as_mqtt *m)
{
	return m->uris[m->cur];
}

int as_mqtt_is_connected(const struct as_mqtt *m)
{
	return m && m->connected;
}

uint64_t as_mqtt_retained_ignored(const struct as_mqtt *m)
{
	uint64_t n;

	if (!m)
		return 0;
	uv_mutex_lock((uv_mutex_t *)&m->lock);
	n = m->retained_ignored;
	uv_mutex_unlock((uv_mutex_t *)&m->lock);
	return n;
}

const char *as_mqtt_last_error(const struct as_mqtt *m)
{
	return m ? m->last_error : "";
}

int as_mqtt_last_connack(const struct as_mqtt *m)
{
	return m ? m->last_connack : 0;
}

void as_mqtt_set_offline(struct as_mqtt *m, int offline)
{
	if (!m || m->offline == offline)
		return;
	m->offline = offline;
	if (offline) {
		uv_timer_stop(&m->retry);
		m->cur = 0;
		if (m->connected || m->connecting)
			disconnect_now(m);
		if (m->connected && m->handlers->on_disconnected)
			m->handlers->on_disconnected(m->ctx, "taken offline");
		m->connected = 0;
		m->connecting = 0;
		snprintf(m->last_error, sizeof m->last_error, "offline on request");
	} else {
		m->backoff = 0;
		connect_now(m);
	}
}

void as_mqtt_on_connect_failed(struct as_mqtt *m, void (*cb)(void *ctx, const char *why))
{
	m->on_connect_failed = cb;
}

int as_mqtt_is_offline(const struct as_mqtt *m)
{
	return m && m->offline;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct as_mqtt *m = h->data;

	if (--m->handles_open > 0)
		return;
	uv_mutex_destroy(&m->lock);
	free(m);
}

void as_mqtt_stop(struct as_mqtt *m)
{
	struct mqtt_event *ev;

	if (!m || m->stopping)
		return;
	m->stopping = 1;
	uv_timer_stop(&m->retry);
	if (m->connected) {
		MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer;
		dopts.timeout = 1000;
		MQTTAsync_disconnect(m->client, &dopts);
	}
	MQTTAsync_destroy(&m->client);
	/* Paho's threads are gone: free what it never called back for. */
	while (m->ops)
		op_cancel(m->ops);
	ev = m->head;
	m->head = m->tail = NULL;
	while (ev) {
		struct mqtt_event *next = ev->next;
		free_event(ev);
		ev = next;
	}
	free_settings(m);
	uv_close((uv_handle_t *)&m->async, on_handle_closed);
	uv_close((uv_handle_t *)&m->retry, on_handle_closed);
}
