/*
 * enrolment.h - what a wallet and the issuer (anshim-issuerd) exchange
 * after a phone was verified: the enrolment credential, and the
 * holder-signed request for a batch of visit tokens.
 *
 * Binary layouts (little-endian; docs/PROTOCOL.md has the byte tables and
 * test vectors):
 *   enrolment       'E' ver=1 holder_pk[32] consent_version u32
 *                   issued_at i64 expires_at i64 issuer_sig[64]  = 118 bytes
 *   tokens request  'R' ver=1 enrolment[118] requested_at i64 n u8 (1..64)
 *                   token_pk[n][32] holder_sig[64]        = 194 + 32n bytes
 * The issuer signature (the issuer's Ed25519 key, not the authority's)
 * covers every enrolment byte before it; the holder signature (the key
 * holder_pk names) covers every request byte before it.
 *
 * The enrolment carries no pid and no phone: it only says "this holder key
 * verified a phone and consented to consent_version, until expires_at".
 * Its id (as_enrolment_id) is the unit of revocation, like a credential's.
 */
#ifndef ANSHIM_ENROLMENT_H
#define ANSHIM_ENROLMENT_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"

#define AS_ENROLMENT_MAGIC 'E'
#define AS_ENROLMENT_VERSION 1
#define AS_ENROLMENT_LEN 118
#define AS_TOKENS_REQUEST_MAGIC 'R'
#define AS_TOKENS_REQUEST_VERSION 1
#define AS_TOKENS_REQUEST_MAX_N 64
#define AS_TOKENS_REQUEST_LEN(n) (2 + AS_ENROLMENT_LEN + 8 + 1 + 32 * (size_t)(n) + AS_SIG_LEN)
#define AS_TOKENS_REQUEST_MAX_LEN AS_TOKENS_REQUEST_LEN(AS_TOKENS_REQUEST_MAX_N)

struct as_enrolment {
	uint8_t holder_pk[AS_SIGN_PK_LEN];
	uint32_t consent_version;   /* >= 1 */
	int64_t issued_at;          /* unix seconds */
	int64_t expires_at;         /* unix seconds, > issued_at */
	uint8_t issuer_sig[AS_SIG_LEN];
};

struct as_tokens_request {
	struct as_enrolment enrolment;
	int64_t requested_at;       /* unix seconds, the wallet's clock */
	uint8_t n;                  /* 1..AS_TOKENS_REQUEST_MAX_N */
	uint8_t token_pk[AS_TOKENS_REQUEST_MAX_N][AS_SIGN_PK_LEN];
	uint8_t holder_sig[AS_SIG_LEN];
};

/* Encoders write exactly the layout's bytes and return that length, or
 * AS_E_OVERSIZE when cap is too small (AS_E_FIELD for n out of range).
 * Decoders take len bytes, never read past them, and fail with
 * AS_E_TRUNCATED, AS_E_TRAILING, AS_E_MAGIC, AS_E_VERSION or AS_E_FIELD
 * (consent_version 0, expires_at not after issued_at, n out of range).
 * Framing only: signatures are the verify calls'.  Pure; any thread. */
int as_enrolment_encode(uint8_t *out, size_t cap, const struct as_enrolment *e);
int as_enrolment_decode(struct as_enrolment *e, const uint8_t *in, size_t len);
int as_tokens_request_encode(uint8_t *out, size_t cap, const struct as_tokens_request *r);
int as_tokens_request_decode(struct as_tokens_request *r, const uint8_t *in, size_t len);

/* Issuer side: fill the fields, then sign with the issuer's secret key.
 * 0, or AS_E_FIELD when a field is out of range. */
int as_enrolment_sign(struct as_enrolment *e, const uint8_t issuer_sk[AS_SIGN_SK_LEN]);
/* 0 or AS_E_ISSUER_SIG. */
int as_enrolment_verify(const struct as_enrolment *e, const uint8_t issuer_pk[AS_SIGN_PK_LEN]);

/* Wallet side: fill enrolment, requested_at, n and token_pk, then sign
 * with the holder's secret key.  0 or AS_E_FIELD. */
int as_tokens_request_sign(struct as_tokens_request *r, const uint8_t holder_sk[AS_SIGN_SK_LEN]);
/* The holder signature, by r->enrolment.holder_pk: 0 or AS_E_HOLDER_SIG. */
int as_tokens_request_verify(const struct as_tokens_request *r);

/* BLAKE2b-128("anshim enrolment id v1" || issuer_sig): the enrolment's
 * id, 16 bytes like a credential id, so revoked enrolments go into the
 * policy's revoked list.  Pure; any thread. */
void as_enrolment_id(uint8_t id[AS_HOLDER_ID_LEN], const struct as_enrolment *e);

#endif
