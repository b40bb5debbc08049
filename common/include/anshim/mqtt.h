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

#include "anshim/config.h"

#define AS_MQTT_ERROR_MAX 512 /* bytes of as_mqtt_last_error, with its NUL */
#define AS_MQTT_BROKERS_MAX 8  /* brokers in one failover list */

struct as_mqtt;

struct as_mqtt_options {
	/* tcp://host:port or ssl://host:port; or up to AS_MQTT_BROKERS_MAX of
	 * them separated by spaces: brokers in failover order.  Each attempt
	 * goes to the first that answers; a lost connection tries the first
	 * again (mqtt.c).  The TLS and login settings apply to all of them. */
	const char *uri;
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
	/* Messages on this one topic (exact name; NULL: none) always go to
	 * on_message on the loop, retained or not, whatever ignore_retained
	 * and receiver say: a daemon that ingests live traffic through the
	 * receiver can still read one retained message of its own (the
	 * aggregator's witnessed audit head).  Copied. */
	const char *loop_topic;
	/* The configuration file the settings came from, named in the fix of a
	 * connection error ("check broker_password in FILE"); NULL: none. */
	const char *config_path;
	/* Log failed connection attempts (as_log): the cause and the fix when
	 * they start or change, then again after 1 min, 2 min, 4 min ... up to
	 * hourly while they go on; each attempt at debug level only.  For
	 * daemons; short-lived clients read as_mqtt_last_error instead. */
	int log_failures;
};

/*
 * The broker and TLS rows of a configuration table, the same in every
 * program that talks to the broker: keys broker, broker_username,
 * broker_password, broker_ca_file, broker_cert_file, broker_key_file, into
 * the char * fields of those names in TYPE.  Only the broker's default and
 * help differ (a gateway without a broker works offline); the help is
 * followed by the failover list's.  A file that sets broker_password must
 * not be readable by every user (config.h).
 */
#define AS_MQTT_CONFIG_ROWS(TYPE, BROKER_DEFAULT, BROKER_HELP)                             \
	{"broker", AS_CFG_STRING, offsetof(TYPE, broker), 0, 2048, NULL, 0, BROKER_DEFAULT, \
	 BROKER_HELP " Several brokers, separated by spaces (at most 8), are tried in "    \
	 "failover order: a connection goes to the first that answers, and every "         \
	 "reconnection starts again at the first. They must carry the same topics: a "   \
	 "bridged pair or a clustered broker (docs/OPERATE-CLOUD.md)."},                    \
	{"broker_username", AS_CFG_STRING, offsetof(TYPE, broker_username), 0, 256, NULL, 0, \
	 NULL, "User name at the broker, whose ACL gives each user its own topics. The "    \
	 "shipped ACL names accounts by role: gw/GATEWAY_ID for a gateway (its default "   \
	 "when a password is set), anshim-cloud for the aggregator ('anshim-cloud policy " \
	 "set' logs in as NAME/cli, same password). The shipped broker makes it the "     \
	 "client id too."},                                                                  \
	{"broker_password", AS_CFG_STRING, offsetof(TYPE, broker_password), 0, 256, NULL,    \
	 AS_CFG_SECRET, NULL,                                                                \
	 "Password of broker_username. Keep this file mode 0640, owner root, group "        \
	 "of the service's user."},                                                          \
	{"broker_ca_file", AS_CFG_PATH, offsetof(TYPE, broker_ca_file), 0, 0, NULL, 0, NULL,  \
	 "TLS (ssl://): the CA certificate that signed the broker's certificate."},          \
	{"broker_cert_file", AS_CFG_PATH, offsetof(TYPE, broker_cert_file), 0, 0, NULL, 0,   \
	 NULL, "TLS: this client's certificate, if the broker asks for one."},               \
	{"broker_key_file", AS_CFG_PATH, offsetof(TYPE, broker_key_file), 0, 0, NULL, 0,     \
	 NULL, "TLS: the private key of broker_cert_file."}

/* Point mo's broker and TLS settings at those of CFG (a struct with the
 * fields of AS_MQTT_CONFIG_ROWS), read from the file PATH. */
#define AS_MQTT_OPTIONS_FROM_CONFIG(MO, CFG, PATH)                                          \
	do {                                                                                 \
		(MO)->uri = (CFG)->broker;                                                   \
		(MO)->username = (CFG)->broker_username;                                     \
		(MO)->password = (CFG)->broker_password;                                     \
		(MO)->ca_file = (CFG)->broker_ca_file;                                       \
		(MO)->cert_file = (CFG)->broker_cert_file;                                   \
		(MO)->key_file = (CFG)->broker_key_file;                                     \
		(MO)->config_path = (PATH);                                                  \
	} while (0)

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
/* The broker of the current connection (or of the last attempt), one entry
 * of the failover list; borrowed until as_mqtt_stop.  Loop thread. */
const char *as_mqtt_current_broker(const struct as_mqtt *m);
/* Retained messages dropped under ignore_retained so far.  Loop thread. */
uint64_t as_mqtt_retained_ignored(const struct as_mqtt *m);
/* Last connection error ("" if none), in plain words with the fix, e.g.
 * "the broker at URI refused the password for user 'u' ...: check
 * broker_username and broker_password in FILE"; borrowed until the next
 * event. */
const char *as_mqtt_last_error(const struct as_mqtt *m);
/* The broker's CONNACK refusal code (MQTT 3.1.1: 1 protocol, 2 client id,
 * 3 unavailable, 4 bad user name or password, 5 not authorised) of the last
 * failed attempt, or 0 when it failed otherwise or none failed. */
int as_mqtt_last_connack(const struct as_mqtt *m);

/* Go offline on purpose (disconnect, no reconnect) / come back. */
void as_mqtt_set_offline(struct as_mqtt *m, int offline);
int as_mqtt_is_offline(const struct as_mqtt *m);

/* Disconnect and destroy.  Pending publishes are dropped without callbacks.
 * The memory is released once the loop has run the close callbacks. */
void as_mqtt_stop(struct as_mqtt *m);

#endif
