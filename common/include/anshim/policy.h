/*
 * policy.h - the authority's signed policy: alert level, contact key and
 * revocation lists.  Published retained on anshim/v1/policy.
 *
 * Layout (little-endian):
 *   'L' ver=1 policy_seq u64 issued_at i64 alert_level u8 (1..4)
 *   contact_pk[32]
 *   n_revoked_gateways u32, n x gw_id[16]
 *   n_revoked_holders u32,  n x holder_id[16]
 *   signature[64]  (authority signing key, over every byte before it)
 * policy_seq only grows: a receiver ignores a policy whose seq is not
 * higher than the one it holds (no rollback by replaying old policies).
 */
#ifndef ANSHIM_POLICY_H
#define ANSHIM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"

#define AS_POLICY_MAGIC 'L'
#define AS_POLICY_VERSION 1
#define AS_POLICY_FIXED_LEN (2 + 8 + 8 + 1 + 32 + 4 + 4 + AS_SIG_LEN)
#define AS_POLICY_MAX_REVOKED 65536
#define AS_POLICY_MAX_BYTES (AS_POLICY_FIXED_LEN + 2 * AS_POLICY_MAX_REVOKED * 16)

struct as_policy {
	uint64_t policy_seq;
	int64_t issued_at;
	uint8_t alert_level;                /* 1..4; collection at >= 3 by default */
	uint8_t contact_pk[AS_BOX_PK_LEN];
	uint32_t n_revoked_gateways;
	uint8_t (*revoked_gateways)[AS_GWID_LEN];   /* owned; as_policy_free */
	uint32_t n_revoked_holders;
	uint8_t (*revoked_holders)[AS_HOLDER_ID_LEN]; /* owned; as_policy_free */
};

/* Bytes needed to encode p. */
size_t as_policy_size(const struct as_policy *p);

/* Encode and sign.  Returns the length or an error (AS_E_FIELD for a level
 * outside 1..4, AS_E_LENGTH for too many entries).  Any thread. */
int as_policy_encode(uint8_t *out, size_t cap, const struct as_policy *p,
		     const uint8_t authority_sk[AS_SIGN_SK_LEN]);

/* Strict decode and signature check.  On success p owns malloc'd lists the
 * caller releases with as_policy_free; on failure p holds nothing. */
int as_policy_decode(struct as_policy *p, const uint8_t *in, size_t len,
		     const uint8_t authority_pk[AS_SIGN_PK_LEN]);

/* Release the lists of p (safe on a zeroed or freed policy). */
void as_policy_free(struct as_policy *p);

/* Nonzero if the gateway / holder id is on the policy's revocation list.
 * Linear scan; lists are small.  Any thread for a policy it owns. */
int as_policy_gateway_revoked(const struct as_policy *p, const uint8_t gw_id[AS_GWID_LEN]);
int as_policy_holder_revoked(const struct as_policy *p,
			     const uint8_t holder_id[AS_HOLDER_ID_LEN]);

#endif
