/*
 * capsulefeed.h - the issuer's side of the capsule feed: a persisted
 * outbox of token capsules and its reliable delivery to the aggregator.
 *
 * For every batch of visit tokens it issues, anshim-issuerd calls
 * cl_capsulefeed_append inside the LMDB write transaction that records
 * the batch: the capsules (tokencapsule.h; one fresh batch key sealed to
 * the authority's contact key, one capsule per issue) are made, signed
 * with the issuer key as one feed message (capsulewire.h) and put in the
 * outbox, a database ("capsule_outbox") in the issuer's own LMDB
 * environment.  So a batch handed to a wallet always has its capsules in
 * the outbox: both commit, or neither.
 *
 * The publisher (cl_capsulefeed_start) runs on the issuer's libuv loop:
 * it publishes outbox messages over MQTT (QoS 1) to
 * anshim/v1/issuer/{id}/capsules, at most `window` unacknowledged at a
 * time, oldest first, and resends one not acknowledged within resend_ms
 * or after a reconnection.  A message leaves the outbox only when the
 * cloud's ack for its seq, signed by the authority, arrives on
 * anshim/v1/issuer/{id}/ack (a PUBACK is not a receipt).  The cloud
 * stores capsules by issue serial and acknowledges a batch it holds already,
 * so a resend is harmless: at-least-once delivery, idempotent at the
 * cloud, nothing lost when either side is killed.
 *
 * Threads: open and close on one thread while no other uses the feed;
 * append on any thread, inside that thread's write transaction; kick and
 * stats on any thread; start and stop on the loop thread.  Outbox deletes
 * run in libuv's thread pool.
 */
#ifndef CL_CAPSULEFEED_H
#define CL_CAPSULEFEED_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "anshim/identity.h"
#include "anshim/mqtt.h"
#include "tokencapsule.h"

struct cl_capsulefeed;

#define CL_CAPSULEFEED_WINDOW 16          /* messages in flight by default */
#define CL_CAPSULEFEED_RESEND_MS 30000    /* resend an unacknowledged one after */

/*
 * Open the outbox in env (which must allow one more named database than
 * its owner uses: mdb_env_set_maxdbs), in a write transaction of its own.
 * issuer_sk signs the feed messages (copied; wiped at close).  err names
 * what failed.
 */
int cl_capsulefeed_open(struct cl_capsulefeed **out, MDB_env *env,
			const uint8_t issuer_sk[AS_SIGN_SK_LEN], char *err, size_t err_len);

/*
 * Add the capsule of one issue of tokens to the outbox in txn (the
 * caller's write transaction; nothing is visible or sent before it
 * commits): issue serial (its token ids carry it: as_token_id_derive) of
 * count tokens (1..CL_ISSUE_MAX_TOKENS) expiring at expires_at, issued to
 * the holder whose contact capsule (sealed to the authority at enrolment,
 * anshim/capsule.h) is contact; the batch key is sealed to contact_pk.
 * One message per issue.  *seq (may be NULL) gets the message's
 * outbox seq.  After the commit, cl_capsulefeed_kick sends it at once
 * (otherwise it goes within resend_ms).  0, AS_E_FIELD (serial or count), or an
 * LMDB failure as AS_E_STORE / AS_E_FULL; err says which.
 */
int cl_capsulefeed_append(struct cl_capsulefeed *f, MDB_txn *txn,
			  const uint8_t contact_pk[AS_BOX_PK_LEN],
			  const uint8_t contact[AS_CAPSULE_LEN], uint64_t serial, unsigned count,
			  int64_t expires_at, uint64_t *seq, char *err, size_t err_len);

struct cl_capsulefeed_options {
	const struct as_mqtt_options *mqtt;  /* broker settings (client id, account) */
	uint8_t authority_pk[AS_SIGN_PK_LEN]; /* verifies the cloud's acks */
	unsigned window;                     /* 0: CL_CAPSULEFEED_WINDOW */
	uint64_t resend_ms;                  /* 0: CL_CAPSULEFEED_RESEND_MS */
};

/* Connect and start delivering what the outbox holds.  Loop thread. */
int cl_capsulefeed_start(struct cl_capsulefeed *f, uv_loop_t *loop,
			 const struct cl_capsulefeed_options *opt, char *err, size_t err_len);

/* New messages were committed: publish soon.  Any thread. */
void cl_capsulefeed_kick(struct cl_capsulefeed *f);

struct cl_capsulefeed_stats {
	uint64_t queued;        /* messages in the outbox (not yet acknowledged) */
	uint64_t oldest_seq;    /* the oldest of them, 0 if none */
	uint64_t published;     /* publishes made (resends included) */
	uint64_t taken;         /* of them, taken by the broker (PUBACK: not a
				 * receipt, the broker may still drop one) */
	uint64_t acked;         /* messages acknowledged and dropped */
	uint64_t bad_acks;      /* acks that did not verify or name no queued seq */
	int connected;
};
/* Any thread. */
void cl_capsulefeed_stats(struct cl_capsulefeed *f, struct cl_capsulefeed_stats *st);

/* Disconnect and stop publishing (the outbox keeps what is not
 * acknowledged).  Loop thread; run the loop afterwards for the handles to
 * close.  Then cl_capsulefeed_close (after the loop ran) frees f. */
void cl_capsulefeed_stop(struct cl_capsulefeed *f);
void cl_capsulefeed_close(struct cl_capsulefeed *f);

#endif
