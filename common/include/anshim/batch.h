/*
 * batch.h - the signed batch a gateway publishes: a contiguous run of its
 * journal records, signed with its device key.
 *
 * Layout (little-endian), version 2:
 *   'B' ver=2 gw_id[16] batch_seq u64 first_seq u64 last_seq u64
 *   count u32 created i64 journal_id[16] chain_prev[32] chain_head[32]
 *   count x { rec_len u16 (=215) record[rec_len] seal[32] }
 *   signature[64]   (Ed25519 by the device key over every byte before it)
 * count == last_seq - first_seq + 1 and record i has seq first_seq + i.
 * The chain fields (anshim/chain.h): journal_id names the journal the
 * records come from; chain_prev is the link before the first record,
 * chain_head the link the journal holds after the last, and seal the
 * record's digest as the journal appended it, or for an AS_REC_EXPIRED
 * placeholder the personal hash of the record it replaced (as_chain_unseal
 * turns seals into digests).  The decoder checks only the framing; whether
 * the digests fold from chain_prev to chain_head and match the records is
 * the receiver's judgement (as_chain_verify).
 *
 * Version 1 (still decoded, never encoded): no chain fields and no
 * digests; its header is the first 54 bytes of the above.
 */
#ifndef ANSHIM_BATCH_H
#define ANSHIM_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/chain.h"
#include "anshim/identity.h"
#include "anshim/record.h"

#define AS_BATCH_MAGIC 'B'
#define AS_BATCH_VERSION 2
#define AS_BATCH_V1_HEADER_LEN 54
#define AS_BATCH_HEADER_LEN (AS_BATCH_V1_HEADER_LEN + AS_JOURNAL_ID_LEN + 2 * AS_CHAIN_LEN)
#define AS_BATCH_ENTRY_LEN (2 + AS_RECORD_LEN + AS_CHAIN_LEN)
#define AS_BATCH_V1_ENTRY_LEN (2 + AS_RECORD_LEN)
#define AS_BATCH_MAX_RECORDS 1024
#define AS_BATCH_MAX_BYTES (AS_BATCH_HEADER_LEN + AS_BATCH_MAX_RECORDS * AS_BATCH_ENTRY_LEN + AS_SIG_LEN)

struct as_batch_header {
	uint8_t version;              /* decode: 1 or 2; encode writes 2 */
	uint8_t gw_id[AS_GWID_LEN];
	uint64_t batch_seq;
	uint64_t first_seq;
	uint64_t last_seq;
	uint32_t count;
	int64_t created;
	uint8_t journal_id[AS_JOURNAL_ID_LEN]; /* all zero in a version 1 batch */
	uint8_t chain_prev[AS_CHAIN_LEN];
	uint8_t chain_head[AS_CHAIN_LEN];
};

/* Bytes needed for a (version 2) batch of n records. */
size_t as_batch_size(size_t n);

/*
 * Encode hdr and n records (n >= 1, n <= AS_BATCH_MAX_RECORDS, seqs
 * contiguous from hdr->first_seq >= 1; count/last_seq are set from n) with
 * digests[i] the chain seal of record i as its journal holds it (its digest,
 * or a placeholder's personal hash: chain.h), into out
 * and sign it with device_sk.  hdr's journal_id, chain_prev and chain_head
 * are written as given.  Every record must pass as_record_decode's checks
 * (AS_E_FIELD otherwise), so nothing is signed that a receiver would
 * refuse.  created is unix seconds.  Returns the length or an error.
 */
int as_batch_encode_chained(uint8_t *out, size_t cap, struct as_batch_header *hdr,
			    const struct as_record *recs, const uint8_t (*digests)[AS_CHAIN_LEN],
			    size_t n, const uint8_t device_sk[AS_SIGN_SK_LEN]);

/* as_batch_encode_chained with each record's seal computed from the
 * record (as_chain_record_seal), and hdr->chain_head set to their fold from hdr->chain_prev (for
 * callers without a journal: tests, benchmarks). */
int as_batch_encode(uint8_t *out, size_t cap, struct as_batch_header *hdr,
		    const struct as_record *recs, size_t n,
		    const uint8_t device_sk[AS_SIGN_SK_LEN]);

/*
 * Strictly decode a batch of version 1 or 2: header into hdr, up to
 * recs_cap records into recs and (when digests is not NULL, version 2) their
 * digests into digests[] (both caller-owned; AS_E_LENGTH if count exceeds
 * recs_cap).  digests get the seals as carried: as_chain_unseal them
 * before as_chain_verify.  Checks framing, contiguity and each record; does NOT check
 * the signature (the caller must know the gateway's key first:
 * as_batch_verify) nor the chain (as_chain_verify).  Pure.
 */
int as_batch_decode_chained(struct as_batch_header *hdr, struct as_record *recs,
			    uint8_t (*digests)[AS_CHAIN_LEN], size_t recs_cap,
			    const uint8_t *in, size_t len);

/* as_batch_decode_chained without the digests. */
int as_batch_decode(struct as_batch_header *hdr, struct as_record *recs,
		    size_t recs_cap, const uint8_t *in, size_t len);

/* Read just the gateway id from a batch's header (for key lookup).
 * Returns 0 or a framing error. */
int as_batch_peek_gateway(uint8_t gw_id[AS_GWID_LEN], const uint8_t *in, size_t len);

/* Verify the trailing signature with the gateway's public key: 0 or
 * AS_E_SIGNATURE (AS_E_TRUNCATED if len is too short to hold one). */
int as_batch_verify(const uint8_t *in, size_t len, const uint8_t device_pk[AS_SIGN_PK_LEN]);

#endif
