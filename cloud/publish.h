/*
 * publish.h - publish one message from a command-line tool and wait until
 * the broker has taken it (QoS 1), with a deadline.
 */
#ifndef CL_PUBLISH_H
#define CL_PUBLISH_H

#include <stddef.h>

#include "clconfig.h"

/* Connect to cfg's broker, publish payload on topic (retained if asked),
 * wait for the PUBACK, disconnect.  Gives up after timeout_ms.  Single
 * thread (runs its own private libuv loop). */
int cl_publish_once(const struct cl_config *cfg, const char *topic, const void *payload,
		    size_t len, int retained, unsigned timeout_ms, char *err, size_t err_len);

#endif
