/*
 * capsulewire.h - the capsule feed's messages: the issuer's signed batch
 * of token capsules, and the cloud's signed acknowledgement of one.
 *
 * Topics (docs/PROTOCOL.md, "Capsule feed"):
 *   anshim/v1/issuer/{issuer id hex}/capsules   issuer -> cloud, QoS 1
 *   anshim/v1/issuer/{issuer id hex}/ack        cloud -> issuer, QoS 1
 * The issuer id is BLAKE2b-128 of the issuer's Ed25519 public key, which
 * the authority certifies by listing it in the signed policy.
 *
 * Capsule batch, version 1 (little-endian):
 *   'F' ver=1 issuer_id[16] seq u64 created i64 sealed_key[80] count u16
 *   count x { serial u64 expires_at i64 tokens u8 capsule[171] }
 *   signature[64]      Ed25519, issuer key, over every byte before it
 * seq numbers the issuer's outbox (1, 2, ...; never reused); count is
 * 1..CL_FEED_MAX_ISSUES; an entry is one issue of tokens: its serial
 * (the token ids carry it, anshim/token.h), its expiry, how many tokens it
 * has (1..64) and its capsule (tokencapsule.h), all under the one batch key
 * sealed in sealed_key.
 *
 * Ack, version 1, 98 bytes:
 *   'K' ver=1 issuer_id[16] seq u64 cloud_time_ms i64 signature[64]
 * signed by the authority signing key: the cloud has committed every
 * issue of batch seq (or held them already).  Only this lets the issuer
 * drop the batch from its outbox; a PUBACK does not.
 *
 * Parsers are strict: magic, version, lengths, no trailing bytes.  Any
 * thread; no state.
 */
#ifndef CL_CAPSULEWIRE_H
#define CL_CAPSULEWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"
#include "tokencapsule.h"

#define CL_FEED_MAGIC 'F'
#define CL_FEED_ACK_MAGIC 'K'
#define CL_FEED_VERSION 1
#define CL_ISSUER_ID_LEN 16
#define CL_FEED_MAX_ISSUES 64
#define CL_FEED_HEADER_LEN (2 + CL_ISSUER_ID_LEN + 8 + 8 + CL_TOKCAP_SEALED_KEY_LEN + 2)
#define CL_FEED_ENTRY_LEN (8 + 8 + 1 + CL_TOKCAP_LEN)
#define CL_FEED_LEN(n) (CL_FEED_HEADER_LEN + (size_t)(n) * CL_FEED_ENTRY_LEN + AS_SIG_LEN)
#define CL_FEED_MAX_LEN CL_FEED_LEN(CL_FEED_MAX_ISSUES)
#define CL_FEED_ACK_LEN (2 + CL_ISSUER_ID_LEN + 8 + 8 + AS_SIG_LEN)

#define CL_FEED_TOPIC_PREFIX "anshim/v1/issuer/"

struct cl_feed_issue {
	uint64_t serial;                /* 1..AS_TOKEN_SERIAL_MAX */
	int64_t expires_at;
	uint8_t count;                  /* tokens: 1..CL_ISSUE_MAX_TOKENS */
	uint8_t capsule[CL_TOKCAP_LEN];
};

struct cl_feed_batch {
	uint8_t issuer_id[CL_ISSUER_ID_LEN];
	uint64_t seq;
	int64_t created;
	uint8_t sealed_key[CL_TOKCAP_SEALED_KEY_LEN];
	uint16_t count;
	struct cl_feed_issue *issues;   /* count entries; owned by the caller */
};

struct cl_feed_ack {
	uint8_t issuer_id[CL_ISSUER_ID_LEN];
	uint64_t seq;
	int64_t cloud_time_ms;
};

/* The issuer id of an issuer public key. */
void cl_issuer_id(uint8_t id[CL_ISSUER_ID_LEN], const uint8_t issuer_pk[AS_SIGN_PK_LEN]);

/* Encode and sign b; returns the length (CL_FEED_LEN(b->count)) or an
 * error (AS_E_FIELD: count 0 or above the maximum; AS_E_OVERSIZE: cap). */
int cl_feed_encode(uint8_t *out, size_t cap, const struct cl_feed_batch *b,
		   const uint8_t issuer_sk[AS_SIGN_SK_LEN]);

/* The issuer id a batch names, before anything else is checked (to find
 * the key that verifies it): 0, AS_E_MAGIC, AS_E_VERSION or AS_E_TRUNCATED. */
int cl_feed_peek_issuer(uint8_t id[CL_ISSUER_ID_LEN], const uint8_t *in, size_t len);

/* Strict decode and signature check against issuer_pk: b->issues must
 * hold room for max entries (CL_FEED_MAX_ISSUES covers every batch).
 * An entry's serial 0 or above AS_TOKEN_SERIAL_MAX, or its token count 0
 * or above CL_ISSUE_MAX_TOKENS, is AS_E_FIELD.
 * Framing errors (AS_E_MAGIC, AS_E_VERSION, AS_E_TRUNCATED, AS_E_LENGTH,
 * AS_E_TRAILING) or AS_E_SIGNATURE. */
int cl_feed_decode(struct cl_feed_batch *b, size_t max, const uint8_t *in, size_t len,
		   const uint8_t issuer_pk[AS_SIGN_PK_LEN]);

/* The ack: encode (CL_FEED_ACK_LEN, signed) and strict decode + verify. */
int cl_feed_ack_encode(uint8_t out[CL_FEED_ACK_LEN], const struct cl_feed_ack *a,
		       const uint8_t authority_sk[AS_SIGN_SK_LEN]);
int cl_feed_ack_decode(struct cl_feed_ack *a, const uint8_t *in, size_t len,
		       const uint8_t authority_pk[AS_SIGN_PK_LEN]);

/* "anshim/v1/issuer/{hex}/capsules" and ".../ack" (out: 64 bytes). */
void cl_feed_topic(char out[64], const uint8_t issuer_id[CL_ISSUER_ID_LEN], int ack);
/* The issuer id of a capsules topic: 0 or AS_E_FIELD. */
int cl_feed_topic_issuer(const char *topic, uint8_t issuer_id[CL_ISSUER_ID_LEN]);

#endif
