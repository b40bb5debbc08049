/*
 * batch.h - the signed batch a gateway publishes: a contiguous run of its
 * journal records, signed with its device key.
 *
 * Layout (little-endian):
 *   'B' ver=1 gw_id[16] batch_seq u64 first_seq u64 last_seq u64
 *   count u32 created i64
 *   count x { rec_len u16 (=215) record[rec_len] }
 *   signature[64]   (Ed25519 by the device key over every byte before it)
 * count == last_seq - first_seq + 1 and record i has seq first_seq + i.
 */
#ifndef ANSHIM_BATCH_H
#define ANSHIM_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"
#include "anshim/record.h"

#define AS_BATCH_MAGIC 'B'
#define AS_BATCH_VERSION 1
#define AS_BATCH_HEADER_LEN 54
#define AS_BATCH_MAX_RECORDS 1024
#define AS_BATCH_MAX_BYTES (AS_BATCH_HEADER_LEN + AS_BATCH_MAX_RECORDS * (2 + AS_RECORD_LEN) + AS_SIG_LEN)

struct as_batch_header {
	uint8_t gw_id[AS_GWID_LEN];
	uint64_t batch_seq;
	uint64_t first_seq;
	uint64_t last_seq;
	uint32_t count;
	int64_t created;
};

/* Bytes needed for a batch of n records. */
size_t as_batch_size(size_t n);

/*
 * Encode hdr and n records (n >= 1, n <= AS_BATCH_MAX_RECORDS, seqs
 * contiguous from hdr->first_seq >= 1; count/last_seq are set from n) into
 * out and sign it with device_sk.  Every record must pass as_record_decode's
 * checks (AS_E_FIELD otherwise), so nothing is signed that a receiver would
 * refuse.  created is unix seconds.  Returns the length or an error.
 */
int as_batch_encode(uint8_t *out, size_t cap, struct as_batch_header *hdr,
		    const struct as_record *recs, size_t n,
		    const uint8_t device_sk[AS_SIGN_SK_LEN]);

/*
 * Strictly decode a batch: header into hdr and up to recs_cap records into
 * recs (caller-owned; AS_E_LENGTH if count exceeds recs_cap).  Checks
 * framing, contiguity and each record; does NOT check the signature (the
 * caller must know the gateway's key first: as_batch_verify).  Pure.
 */
int as_batch_decode(struct as_batch_header *hdr, struct as_record *recs,
		    size_t recs_cap, const uint8_t *in, size_t len);

/* Read just the gateway id from a batch's header (for key lookup).
 * Returns 0 or a framing error. */
int as_batch_peek_gateway(uint8_t gw_id[AS_GWID_LEN], const uint8_t *in, size_t len);

/* Verify the trailing signature with the gateway's public key: 0 or
 * AS_E_SIGNATURE (AS_E_TRUNCATED if len is too short to hold one). */
int as_batch_verify(const uint8_t *in, size_t len, const uint8_t device_pk[AS_SIGN_PK_LEN]);

#endif
