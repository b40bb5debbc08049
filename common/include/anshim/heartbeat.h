/*
 * heartbeat.h - a gateway's signed heartbeat: "I am up, and this is where
 * my journal stands", sent every heartbeat_interval even when nobody checks
 * in, so that the cloud can tell "nobody came" from "the device was down".
 *
 * Layout (little-endian, 191 bytes; docs/PROTOCOL.md section 18):
 *   'H' ver=1 gw_id[16] sent_at i64 up_since i64 boot_id[16] interval u32
 *   clock_state u8 last_seq u64 acked_seq u64 chain_head[32]
 *   journal_records u64 journal_used u64 journal_size u64 signature[64]
 * Signed by the gateway's device key over every byte before the signature.
 * Pure codec; any thread.
 */
#ifndef ANSHIM_HEARTBEAT_H
#define ANSHIM_HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"
#include "anshim/record.h"

#define AS_HEARTBEAT_MAGIC 'H'
#define AS_HEARTBEAT_VERSION 1
#define AS_HEARTBEAT_LEN 191
#define AS_HEARTBEAT_SIGNED_LEN (AS_HEARTBEAT_LEN - AS_SIG_LEN)
#define AS_CHAIN_HEAD_LEN 32
#define AS_HEARTBEAT_INTERVAL_MAX 86400   /* seconds */

/* What the gateway knows about its own clock when it sends. */
enum as_clock_state {
	AS_CLOCK_SYNCED = 1,     /* the wall clock is synchronized (NTP, RTC) */
	AS_CLOCK_CORRECTED = 2,  /* not synchronized, but corrected from the
				  * cloud's signed time during this boot */
	AS_CLOCK_UNSYNCED = 3    /* not synchronized, nothing to correct it */
};

struct as_heartbeat {
	uint8_t gw_id[AS_GWID_LEN];
	int64_t sent_at;          /* the gateway's best time now, unix s */
	int64_t up_since;         /* when the daemon started, same time base */
	uint8_t boot_id[AS_BOOT_ID_LEN];
	uint32_t interval;        /* seconds to the next heartbeat, 1..86400 */
	uint8_t clock_state;      /* enum as_clock_state */
	uint64_t last_seq;        /* highest journal seq assigned (0: none) */
	uint64_t acked_seq;       /* highest seq the cloud acknowledged */
	uint8_t chain_head[AS_CHAIN_HEAD_LEN]; /* journal chain head; all zero
						* for an empty journal */
	uint64_t journal_records; /* records held in the journal */
	uint64_t journal_used;    /* bytes of the journal map in use */
	uint64_t journal_size;    /* bytes of the journal map */
};

/* Encode hb and sign it with the device key; returns AS_HEARTBEAT_LEN, or
 * AS_E_FIELD (a field the decoder would refuse) / AS_E_OVERSIZE (cap too
 * small).  Any thread. */
int as_heartbeat_encode(uint8_t *out, size_t cap, const struct as_heartbeat *hb,
			const uint8_t device_sk[AS_SIGN_SK_LEN]);

/*
 * Strict decode, without the signature (the receiver first looks up the
 * device key of hb->gw_id): framing errors as in every decoder, then
 * AS_E_FIELD for clock_state outside 1..3, interval outside 1..86400,
 * up_since after sent_at, or journal_used above journal_size.
 */
int as_heartbeat_decode(struct as_heartbeat *hb, const uint8_t *in, size_t len);

/* Check the device signature of a heartbeat of len bytes: 0,
 * AS_E_TRUNCATED (shorter than a heartbeat) or AS_E_SIGNATURE. */
int as_heartbeat_verify(const uint8_t *in, size_t len, const uint8_t device_pk[AS_SIGN_PK_LEN]);

/* "synced", "corrected", "unsynced", or "unknown". */
const char *as_clock_state_name(uint8_t state);

#endif
