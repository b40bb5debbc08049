/*
 * ack.h - the cloud's signed acknowledgement to a gateway.
 *
 * Layout (little-endian, 98 bytes):
 *   'A' ver=1 gw_id[16] through_seq u64 cloud_time_ms i64 signature[64]
 * Signed by the authority signing key.  through_seq is the highest seq such
 * that every record 1..through_seq of that gateway is stored in the cloud.
 */
#ifndef ANSHIM_ACK_H
#define ANSHIM_ACK_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"

#define AS_ACK_MAGIC 'A'
#define AS_ACK_VERSION 1
#define AS_ACK_LEN 98

struct as_ack {
	uint8_t gw_id[AS_GWID_LEN];
	uint64_t through_seq;
	int64_t cloud_time_ms;  /* cloud's unix time in milliseconds */
};

/* Encode and sign; returns AS_ACK_LEN or an error.  Any thread. */
int as_ack_encode(uint8_t *out, size_t cap, const struct as_ack *ack,
		  const uint8_t authority_sk[AS_SIGN_SK_LEN]);

/* Strict decode and signature check: framing errors, or AS_E_SIGNATURE. */
int as_ack_decode(struct as_ack *ack, const uint8_t *in, size_t len,
		  const uint8_t authority_pk[AS_SIGN_PK_LEN]);

#endif
