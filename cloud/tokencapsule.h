/*
 * tokencapsule.h - the capsule of a visit token: what lets the authority,
 * and only the authority, find the person behind a token id.
 *
 * A visit token (anshim/token.h) carries no capsule and no pid: a venue
 * sees a random-looking token id only, which the cloud alone reads as
 * (issue serial, index).  At issuance the issuer makes, per issue (one
 * answer to a wallet's token request), a capsule it never gives the
 * wallet; the capsule feed (capsulewire.h, issuer/capsulefeed.h) delivers
 * (serial -> capsule, expiry, token count) to the aggregator, and the reveal service opens it to derive the pid exactly as
 * for a paper-register entry: pid = BLAKE2b-128(pseudonym.key, E.164 phone).
 * The issuer keeps no phone in plain text: it keeps the holder's contact
 * capsule (anshim/capsule.h, sealed to the authority at enrolment, which
 * it cannot open), and a token capsule wraps that contact capsule.
 *
 * Format (docs/PROTOCOL.md, "Token capsules"):
 *   batch key: 32 random bytes per issued batch, sent once per batch as
 *     crypto_box_seal(key, contact.pub)                  (80 bytes)
 *   capsule of one issue (171 bytes):
 *     nonce[24] (random, fresh per capsule)
 *     XChaCha20-Poly1305-IETF(key, nonce, plaintext = the holder's contact
 *       capsule[131]; additional data = "anshim-tokcap-2" || serial u64
 *       || expires_at i64 || count u8, little-endian) -> 131 + 16-byte tag
 * Only contact.key opens the batch key, so only the reveal service opens a
 * capsule; a capsule bound to its serial, expiry and count cannot be moved
 * to another issue.  No two capsules share bytes (fresh nonce, AEAD
 * output), though the issues of one batch share the sealed batch key,
 * which only the issuer and the cloud ever see.
 *
 * Any thread; no state.
 */
#ifndef CL_TOKENCAPSULE_H
#define CL_TOKENCAPSULE_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/capsule.h"
#include "anshim/identity.h"

#define CL_TOKEN_ID_LEN 16
#define CL_ISSUE_MAX_TOKENS 64                             /* AS_TOKEN_BATCH_MAX */
#define CL_TOKCAP_KEY_LEN 32
#define CL_TOKCAP_SEALED_KEY_LEN (CL_TOKCAP_KEY_LEN + 48)  /* crypto_box_SEALBYTES */
#define CL_TOKCAP_NONCE_LEN 24
#define CL_TOKCAP_PLAIN_LEN AS_CAPSULE_LEN                 /* 131 */
#define CL_TOKCAP_LEN (CL_TOKCAP_NONCE_LEN + CL_TOKCAP_PLAIN_LEN + 16)  /* 171 */

/* A batch key: the key itself (secret: wipe it with cl_tokcap_key_wipe)
 * and its seal to the authority's contact key. */
struct cl_tokcap_key {
	uint8_t key[CL_TOKCAP_KEY_LEN];
	uint8_t sealed[CL_TOKCAP_SEALED_KEY_LEN];
};

/* A fresh batch key sealed to contact_pk.  0 or AS_E_CRYPTO. */
int cl_tokcap_key_make(struct cl_tokcap_key *k, const uint8_t contact_pk[AS_BOX_PK_LEN]);
void cl_tokcap_key_wipe(struct cl_tokcap_key *k);

/* The capsule of issue serial (count tokens expiring at expires_at) for
 * the holder whose contact capsule (sealed at enrolment) is contact.
 * Always 0. */
int cl_tokcap_seal(uint8_t capsule[CL_TOKCAP_LEN], const struct cl_tokcap_key *k,
		   uint64_t serial, int64_t expires_at, uint8_t count,
		   const uint8_t contact[AS_CAPSULE_LEN]);

/* The authority side: the batch key from its seal (0 or AS_E_CAPSULE when
 * it was sealed to another key), then the contact capsule inside one token
 * capsule (0, or AS_E_CAPSULE when the capsule, its serial, expiry or count was
 * altered, or another batch's key was given), which as_capsule_open opens
 * with contact.key.  key is secret: the caller wipes it. */
int cl_tokcap_open_key(uint8_t key[CL_TOKCAP_KEY_LEN],
		       const uint8_t sealed[CL_TOKCAP_SEALED_KEY_LEN],
		       const uint8_t contact_pk[AS_BOX_PK_LEN],
		       const uint8_t contact_sk[AS_BOX_SK_LEN]);
int cl_tokcap_open(uint8_t contact[AS_CAPSULE_LEN], const uint8_t key[CL_TOKCAP_KEY_LEN],
		   uint64_t serial, int64_t expires_at, uint8_t count,
		   const uint8_t capsule[CL_TOKCAP_LEN]);

#endif
