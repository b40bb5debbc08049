/*
 * ingest.h - the aggregator's ingest thread: batches in, acks out.
 *
 * The loop thread hands every message from a batch topic to
 * cl_ingest_submit.  One ingest thread takes everything queued (up to
 * `group` batches), checks each (size, topic vs header, enrolment,
 * revocation, device signature, strict decoding), opens paper-register
 * capsules in memory only to derive the pid, stores the batches in one
 * LMDB transaction, commits, and only then hands back a signed ack per
 * accepted batch (highest contiguous seq stored + cloud time) for the loop
 * to publish.  Invalid batches are counted by reason, logged and not
 * acknowledged.
 *
 * Gateway heartbeats (anshim/v1/gw/{gw id}/heartbeat, heartbeat.h) share
 * the queue and the transactions too: checked (strict decoding, topic vs
 * message, enrolled and not revoked, device signature) and merged into the
 * gateway's coverage periods (coverage.h); nothing answers them.  Rejects
 * are counted as "heartbeat-REASON".
 *
 * Wallet messages (anshim/v1/wallet/{holder id}/checkin: a check-in at a
 * venue code, or a check-out; appcheckin.h) share the queue and the
 * transactions.  Each is checked (strict decoding, topic vs holder key,
 * credential and holder signature, revocation, the venue code's signature
 * against the authority (poster) or the gateway that shows it (rotating,
 * enrolled and not revoked, its slot within app_tolerance of the check-in
 * time), stored (de-duplicated by check-in id; a holder uses a rotating
 * code once) and answered with a signed as_app_answer: stored, duplicate,
 * or rejected with its reason (counted as "app-REASON").  A rejected
 * message is answered too, so the wallet stops resending it.
 *
 * Time sanity: a check-in, or a batch record, whose time lies after now +
 * time_skew or before now - retention is refused ("time-future",
 * "time-past"; a wallet gets the answer with that reason).  A batch is
 * refused whole and not stored; if the offending record carries the
 * gateway's clock-unsynced flag, the refusal is still acknowledged with the
 * store's unchanged through_seq, so that the gateway learns the cloud's
 * time from the ack, corrects its records and sends them again.
 *
 * The WARNING logged per refused message is rate-limited: a few per
 * window, then one line with the count of those not logged.
 *
 * Threads: submit from any thread (anshim-cloudd: Paho's receive thread,
 * through cl_ingester_submit_wait), stop on the loop; the rest on the
 * ingest thread; results return through uv_async_send.
 */
#ifndef CL_INGEST_H
#define CL_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "anshim/ack.h"
#include "anshim/appcheckin.h"

#include "authority.h"
#include "store.h"

struct cl_ingest_ack {
	char topic[96];
	uint8_t payload[AS_ACK_LEN > AS_APP_ANSWER_LEN ? AS_ACK_LEN : AS_APP_ANSWER_LEN];
	size_t len;
};

/* Called on the loop thread for every ack to publish (borrowed). */
typedef void (*cl_ack_cb)(void *ctx, const struct cl_ingest_ack *ack);

struct cl_ingester;

struct cl_ingest_stats {
	uint64_t batches, records, duplicates, rejected;
	uint64_t app_stored, app_duplicates, app_rejected;   /* wallet messages */
	uint64_t held;              /* times the queue was full and the broker held back */
	uint64_t queue_peak;        /* most messages queued at once */
	uint64_t queue_peak_bytes;  /* most payload bytes queued at once */
	uint64_t heartbeats;                                 /* merged into coverage */
	uint64_t feed_batches;      /* issuers' capsule batches stored */
	uint64_t tokens_added;      /* issues of visit tokens they announced */
	uint64_t tokens_resolved;   /* waiting token records they resolved */
	uint64_t tokens_waiting;    /* token records kept waiting for their token */
	uint64_t tokens_replayed;   /* token records refused as replays */
};

struct cl_ingest_options {
	size_t max_batch_bytes;  /* larger messages on a batch topic: oversize */
	unsigned group;          /* most messages in one write transaction */
	size_t group_bytes;      /* most payload bytes in one (one message at least) */
	int64_t app_tolerance;   /* seconds a wallet check-in's time may lie
				  * outside its rotating code's slot */
	const char *revoked_credentials; /* file of revoked credential ids
					  * (16 bytes each), or NULL */
	const char *policy_history; /* the policy history (collectsched.h): records
				     * a venue made while its category was not
				     * collecting are taken but not stored, and
				     * counted 'not-collecting'; NULL: none refused */
	size_t queue_messages;   /* bound of the queue (0: none): when reached, */
	size_t queue_bytes;      /* cl_ingester_submit_wait waits until it is half */
	int64_t retention;       /* seconds: times older than now - retention are
				  * refused; a heartbeat's own time older than
				  * this is not believed (cl_coverage_time) */
	int64_t time_skew;       /* times later than now + time_skew are refused */
	const char *reveal_socket; /* the reveal service, which derives the pids of
				    * paper-register entries and visit tokens
				    * (revealclient.h) */
	const char *policy_file;   /* the signed policy, whose issuer keys verify
				    * the issuers' capsule batches (NULL: none
				    * taken) */
};

int cl_ingester_start(struct cl_ingester **out, uv_loop_t *loop, struct cl_store *store,
		      const struct cl_authority *keys, const struct cl_ingest_options *opt,
		      cl_ack_cb on_ack, void *ctx);

/* Queue a message received on topic (copied), whatever the queue holds.
 * Any thread. */
void cl_ingester_submit(struct cl_ingester *in, const char *topic, const uint8_t *payload,
			size_t len);

/*
 * cl_ingester_submit with backpressure, for as_mqtt's receiver: if the
 * queue holds queue_messages messages or queue_bytes bytes, first wait
 * until the ingest thread has drained it to half of both (or the ingester
 * stops).  Any thread but the loop's: it waits only for the ingest thread,
 * which never waits for the loop or for Paho.  ingester is a struct
 * cl_ingester.
 */
void cl_ingester_submit_wait(void *ingester, const char *topic, const uint8_t *payload,
			     size_t len);

/* Messages queued and not yet processed. */
unsigned cl_ingester_backlog(const struct cl_ingester *in);
void cl_ingester_stats(const struct cl_ingester *in, struct cl_ingest_stats *out);

/* Process everything queued, join the thread, release.  Loop thread; run
 * the loop afterwards for the close to complete. */
void cl_ingester_stop(struct cl_ingester *in);

#endif
