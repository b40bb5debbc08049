/*
 * enrolment.h - the enrolment credential: what the issuer
 * (anshim-issuerd) gives a wallet after its phone was verified by a code
 * and its holder consented.  The wallet sends it with every request for
 * visit tokens (anshim/token.h's holder-signed request), which the holder
 * key it names must have signed.
 *
 * Binary layout (little-endian; docs/PROTOCOL.md has the byte table and
 * test vectors):
 *   enrolment       'E' ver=1 holder_pk[32] consent_version u32
 *                   issued_at i64 expires_at i64 issuer_sig[64]  = 118 bytes
 * The issuer signature (the issuer's Ed25519 key, not the authority's)
 * covers every byte before it.
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

struct as_enrolment {
	uint8_t holder_pk[AS_SIGN_PK_LEN];
	uint32_t consent_version;   /* >= 1 */
	int64_t issued_at;          /* unix seconds */
	int64_t expires_at;         /* unix seconds, > issued_at */
	uint8_t issuer_sig[AS_SIG_LEN];
};

/* The encoder writes exactly AS_ENROLMENT_LEN bytes and returns that
 * length, or AS_E_OVERSIZE when cap is too small.  The decoder takes len
 * bytes, never reads past them, and fails with AS_E_TRUNCATED,
 * AS_E_TRAILING, AS_E_MAGIC, AS_E_VERSION or AS_E_FIELD (consent_version
 * 0, expires_at not after issued_at).  Framing only: the signature is
 * as_enrolment_verify's.  Pure; any thread. */
int as_enrolment_encode(uint8_t *out, size_t cap, const struct as_enrolment *e);
int as_enrolment_decode(struct as_enrolment *e, const uint8_t *in, size_t len);

/* Issuer side: fill the fields, then sign with the issuer's secret key.
 * 0, or AS_E_FIELD when a field is out of range. */
int as_enrolment_sign(struct as_enrolment *e, const uint8_t issuer_sk[AS_SIGN_SK_LEN]);
/* 0 or AS_E_ISSUER_SIG. */
int as_enrolment_verify(const struct as_enrolment *e, const uint8_t issuer_pk[AS_SIGN_PK_LEN]);

/* BLAKE2b-128("anshim enrolment id v1" || issuer_sig): the enrolment's
 * id, 16 bytes like a credential id, so revoked enrolments go into the
 * policy's revoked list.  Pure; any thread. */
void as_enrolment_id(uint8_t id[AS_HOLDER_ID_LEN], const struct as_enrolment *e);

#endif
