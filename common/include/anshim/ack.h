/*
 * ack.h - the cloud's signed acknowledgement to a gateway.
 *
 * Layout (little-endian), version 2, 154 bytes:
 *   'A' ver=2 gw_id[16] through_seq u64 cloud_time_ms i64
 *   journal_id[16] chain_seq u64 chain_link[32] signature[64]
 * Signed by the authority signing key over every byte before it.
 * through_seq is the highest seq such that the cloud stores a record under
 * every seq 1..through_seq of that gateway.  Those records may come from
 * another branch of the gateway's journal (a restored backup's original,
 * a journal made anew): the chain fields say which branch the cloud
 * follows.  journal_id is the journal the cloud follows for this gateway,
 * chain_link the link (anshim/chain.h) after that journal's record
 * chain_seq, the highest seq the cloud took from it.  All zero: the cloud
 * follows no chain of this gateway yet.
 *
 * Version 1: no chain fields; its 98 bytes are the first 34 bytes above
 * and the signature.  Decoded with version 1 and the chain fields zero;
 * encoded only to answer a version 1 batch (a gateway that predates the
 * chain decodes only version 1).
 */
#ifndef ANSHIM_ACK_H
#define ANSHIM_ACK_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/chain.h"
#include "anshim/identity.h"

#define AS_ACK_MAGIC 'A'
#define AS_ACK_VERSION 2
#define AS_ACK_V1_LEN 98
#define AS_ACK_LEN (AS_ACK_V1_LEN + AS_JOURNAL_ID_LEN + 8 + AS_CHAIN_LEN)

struct as_ack {
	uint8_t version;        /* decode: 1 or 2; encode writes 1 if 1, else 2 */
	uint8_t gw_id[AS_GWID_LEN];
	uint64_t through_seq;
	int64_t cloud_time_ms;  /* cloud's unix time in milliseconds */
	uint8_t journal_id[AS_JOURNAL_ID_LEN]; /* all zero: no chain followed */
	uint64_t chain_seq;
	uint8_t chain_link[AS_CHAIN_LEN];
};

/* Encode (version 2, or 1 if ack->version is 1: the chain fields are then
 * left out) and sign; returns the length (AS_ACK_LEN, AS_ACK_V1_LEN) or an
 * error.  Any thread. */
int as_ack_encode(uint8_t *out, size_t cap, const struct as_ack *ack,
		  const uint8_t authority_sk[AS_SIGN_SK_LEN]);

/* Strict decode of version 1 or 2 and signature check: framing errors, or
 * AS_E_SIGNATURE. */
int as_ack_decode(struct as_ack *ack, const uint8_t *in, size_t len,
		  const uint8_t authority_pk[AS_SIGN_PK_LEN]);

/* 1 if the ack names a chain (version 2, journal_id not all zero). */
int as_ack_has_chain(const struct as_ack *ack);

#endif
