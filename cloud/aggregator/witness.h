/*
 * witness.h - anshim-cloudd's audit witness: it publishes the audit log's
 * head (audithead.h), retained, on the broker, so that the newest entry is
 * on record outside the machine and 'anshim-cloud audit verify --witness'
 * finds entries cut off the end of the log or rewritten.
 *
 * It watches the log cheaply (a stat every second on the loop; reading the
 * last entry, and walking the log, in the thread pool) and publishes the
 * head of the log when it has grown by 'every' entries since the last head
 * published, at every connection (once the broker's retained head has had
 * time to arrive and be checked), and every interval_ms.  Before any
 * publish it checks that the log still holds the newest head witnessed (its
 * own, or the broker's retained one from before a restart): a log that does
 * not (cut short, rewritten, removed) gets no new head, so the broker keeps
 * the evidence, and the error is logged.  Heads read from the broker are
 * decoded strictly and verified; a malformed one is logged and replaced.
 *
 * Loop thread only.
 */
#ifndef CL_WITNESS_H
#define CL_WITNESS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "audit.h"

struct cl_witness;

struct cl_witness_options {
	const char *audit_log;   /* copied */
	const struct cl_audit_keys *log_keys; /* the log's public keys; copied */
	uint64_t every;          /* entries, >= 1 */
	uint64_t interval_ms;    /* republish at least this often, >= 1000 */
};

/* Publish one head (payload borrowed for the call), retained, QoS 1, on
 * CL_AUDIT_HEAD_TOPIC; 0 if handed to the client. */
typedef int (*cl_witness_publish_fn)(void *ctx, const uint8_t *payload, size_t len);

/* Start watching.  publish and ctx are borrowed until cl_witness_stop.
 * 0, or -ENOMEM / a libuv error. */
int cl_witness_start(struct cl_witness **out, uv_loop_t *loop,
		     const struct cl_witness_options *opts, cl_witness_publish_fn publish,
		     void *ctx);

/* The client is subscribed to CL_AUDIT_HEAD_TOPIC on a new connection: the
 * broker's retained head (if any) arrives next; the connection's first head
 * is published after it has been checked, or a settling time. */
void cl_witness_connected(struct cl_witness *w);
void cl_witness_disconnected(struct cl_witness *w);

/* A message on CL_AUDIT_HEAD_TOPIC (payload borrowed for the call). */
void cl_witness_message(struct cl_witness *w, const uint8_t *payload, size_t len);

/* Stop; the memory is released once the loop has run the close callbacks
 * and any read in the thread pool has finished.  NULL is fine. */
void cl_witness_stop(struct cl_witness *w);

#endif
