/*
 * publish.h - one MQTT exchange from a command-line tool, with a deadline:
 * publish one message and wait until the broker has taken it (QoS 1), or
 * fetch the message retained on one topic.
 */
#ifndef CL_PUBLISH_H
#define CL_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "clconfig.h"

/* Connect to cfg's broker, publish payload on topic (retained if asked),
 * wait for the PUBACK, disconnect.  Gives up after timeout_ms.  Single
 * thread (runs its own private libuv loop). */
int cl_publish_once(const struct cl_config *cfg, const char *topic, const void *payload,
		    size_t len, int retained, unsigned timeout_ms, char *err, size_t err_len);

/* Connect to cfg's broker (as publish does), subscribe to topic and give
 * the retained message: *payload (malloc'd, the caller frees it) and *len,
 * and 0.  1 when the broker holds none on topic (*payload NULL): it
 * acknowledged a second subscription, which it answers only after sending
 * the retained message of the first.  AS_E_MQTT with err when the broker
 * cannot be reached, refuses the subscription (its ACL), or timeout_ms
 * passes.  Single thread (runs its own private libuv loop). */
int cl_fetch_retained(const struct cl_config *cfg, const char *topic, unsigned timeout_ms,
		      uint8_t **payload, size_t *len, char *err, size_t err_len);

#endif
