/*
 * record.h - the gateway journal record: one check-in, as journaled at the
 * venue and carried in batches to the cloud.
 *
 * Layout (little-endian, 215 bytes):
 *   'R' ver=1 kind u8 flags u8 seq u64 entry_time i64 exit_time i64
 *   mono_ms u64 boot_id[16] pid[16] headcount u16 entered_by u32
 *   credential_expires i64 capsule_len u16 (=131) capsule[131]
 *
 * Times are unix seconds.  exit_time 0 means "no recorded exit".  pid is
 * all zero for manual entries (the cloud derives it from the capsule); for
 * a visit token (kind 6) it holds the token id, and the capsule is all
 * zero (the authority keeps the token's capsule by its id).
 * No field holds plaintext personal data.
 */
#ifndef ANSHIM_RECORD_H
#define ANSHIM_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/capsule.h"
#include "anshim/identity.h"

#define AS_RECORD_MAGIC 'R'
#define AS_RECORD_VERSION 1
#define AS_RECORD_LEN 215
#define AS_BOOT_ID_LEN 16

enum as_record_kind {
	AS_REC_PASS = 1,   /* phone pass scanned at the gateway */
	AS_REC_CARD = 2,   /* printed card scanned at the gateway */
	AS_REC_MANUAL = 3, /* paper register entry typed or imported by staff */
	AS_REC_EXPIRED = 4, /* placeholder for a record the gateway purged unsent at
			    * the retention horizon: pid and capsule all zero.
			    * Keeps seqs contiguous; the cloud stores nothing. */
	AS_REC_APP = 5,    /* cloud only: a wallet's own check-in at a venue code
			    * (appcheckin.h); never in a journal or a batch, so
			    * as_record_decode refuses it */
	AS_REC_TOKEN = 6   /* pass v2 (a visit token) scanned at the gateway: pid
			    * holds the token id (never all zero), the capsule
			    * is all zero, headcount 1, credential_expires the
			    * token's expiry */
};

/* Record flags. */
#define AS_REC_CLOCK_UNSYNCED 0x01  /* wall clock was not synchronized */
#define AS_REC_TIME_CORRECTED 0x02  /* entry_time corrected from trusted time */
#define AS_REC_FLAGS_KNOWN 0x03

#define AS_HEADCOUNT_MAX 999

struct as_record {
	uint8_t kind;             /* enum as_record_kind */
	uint8_t flags;
	uint64_t seq;             /* journal sequence, 1-based, per gateway */
	int64_t entry_time;
	int64_t exit_time;        /* 0 if none */
	uint64_t mono_ms;         /* CLOCK_BOOTTIME at recording, milliseconds */
	uint8_t boot_id[AS_BOOT_ID_LEN];
	uint8_t pid[AS_PID_LEN];
	uint16_t headcount;       /* people covered by this entry, >= 1 */
	uint32_t entered_by;      /* staff uid for manual entries, else 0 */
	int64_t credential_expires; /* scans: credential expiry; manual: 0 */
	uint8_t capsule[AS_CAPSULE_LEN];
};

/* Encode exactly AS_RECORD_LEN bytes; returns the length or
 * AS_E_OVERSIZE.  Pure; any thread. */
int as_record_encode(uint8_t *out, size_t cap, const struct as_record *rec);

/* Strict decode of exactly one record.  Rejects unknown kinds, flags,
 * headcount 0 or > AS_HEADCOUNT_MAX, exit before entry, seq 0, and an
 * AS_REC_EXPIRED placeholder whose pid or capsule is not all zero, and
 * an AS_REC_TOKEN record that breaks its rules (see the enum). */
int as_record_decode(struct as_record *rec, const uint8_t *in, size_t len);

/* Turn rec into an AS_REC_EXPIRED placeholder (keeps seq and times). */
void as_record_make_placeholder(struct as_record *rec);

/* "pass", "card", "manual", "expired", "app" or "token" ("unknown"
 * otherwise); never NULL. */
const char *as_record_kind_name(uint8_t kind);

#endif
