/*
 * sync.h - store-and-forward from the journal to the cloud over MQTT.
 *
 * Unsent records (seq > acked_seq) are read from the journal in seq order,
 * grouped into batches of at most batch_max_records / batch_max_bytes,
 * signed with the device key (off the loop, in libuv's thread pool) and
 * published QoS 1 to anshim/v1/gw/{gw_id}/batch, with at most `inflight`
 * batches unacknowledged.  Only the cloud's signed ack on
 * anshim/v1/gw/{gw_id}/ack moves acked_seq (persisted through the writer);
 * a PUBACK means nothing more than "the broker took it".  Missing acks
 * (ack_timeout), a lost connection, or an ack that shows the cloud missed a
 * batch all make the sender go back to acked_seq + 1 and resend.
 *
 * Every heartbeat_interval, and right after every connection, a signed
 * heartbeat (heartbeat.h) goes to anshim/v1/gw/{gw_id}/heartbeat, QoS 1,
 * whether or not anything was scanned; none is sent or kept while
 * disconnected.
 *
 * The signed policy (retained, anshim/v1/policy) is applied when newer.
 * The ack's cloud time fixes an unsynced clock: offset learned, unsynced
 * records of this boot corrected in the journal.  While the clock is
 * unsynced and no offset is known yet, one single-record batch is sent at a
 * time, so little leaves with an uncorrected time.  Loop thread only.
 */
#ifndef GW_SYNC_H
#define GW_SYNC_H

#include <stdint.h>
#include <uv.h>

#include "anshim/mqtt.h"
#include "anshim/strbuf.h"
#include "clock.h"
#include "journal.h"
#include "policy_store.h"
#include "writer.h"

#define GW_TOPIC_PREFIX "anshim/v1"

struct gw_sync_config {
	/* The broker, TLS, keep-alive and reconnect settings (strings
	 * borrowed); sync sets the client id, session and buffer itself. */
	struct as_mqtt_options mqtt;
	unsigned batch_max_records;   /* 1..AS_BATCH_MAX_RECORDS */
	size_t batch_max_bytes;
	unsigned inflight;            /* batches awaiting an ack */
	uint64_t ack_timeout_ms;
	uint32_t heartbeat_interval;  /* seconds between heartbeats, 1..86400 */
};

struct gw_sync_deps {
	struct gw_journal *journal;
	struct gw_writer *writer;
	struct gw_clock *clock;
	struct gw_policy_store *policy;
	const uint8_t *device_sk;     /* AS_SIGN_SK_LEN */
	const uint8_t *gw_id;         /* AS_GWID_LEN */
	const uint8_t *authority_pk;  /* AS_SIGN_PK_LEN */
	uint64_t started_mono_ms;     /* the daemon's start (gw_clock_mono_ms),
				       * for the heartbeat's up_since */
	/* called when a newer policy was applied (may be NULL) */
	void (*on_policy)(void *ctx);
	void *ctx;
};

struct gw_sync;

/* Start syncing (connects in the background).  cfg strings and deps are
 * borrowed and must outlive the sync. */
int gw_sync_start(struct gw_sync **out, uv_loop_t *loop, const struct gw_sync_config *cfg,
		  const struct gw_sync_deps *deps, char *err, size_t err_len);

/* New records were committed: send them if the window allows. */
void gw_sync_kick(struct gw_sync *s);

/* Go offline on purpose / come back (operator or demo). */
void gw_sync_set_offline(struct gw_sync *s, int offline);

/* Append ,"sync":{...} to a status object under construction. */
void gw_sync_status_json(const struct gw_sync *s, struct as_strbuf *b);

/* Disconnect and stop; memory released after the loop's close callbacks
 * and any batch still being built has finished. */
void gw_sync_stop(struct gw_sync *s);

#endif
