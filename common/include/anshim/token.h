/*
 * token.h - visit tokens, the token request a wallet sends, the token batch
 * an issuer answers with, and the version 2 pass made from one token:
 * codecs, minting, making and offline verification.
 *
 * A visit token is a single-use, issuer-signed permission to check in: a
 * token id that looks random to all but the issuer and the cloud, an expiry, and a fresh per-token Ed25519 public key
 * whose secret only the wallet holds.  It carries no pid, no holder key and
 * no capsule: the authority keeps the capsule by token id.  Two tokens of
 * one person share only bytes every token of that issuer and day shares.
 *
 * Binary layouts (little-endian; docs/PROTOCOL.md has the byte tables and
 * test vectors).  Times in tokens and v2 passes are u32 unix seconds (to
 * 2106), to keep the QR code small:
 *   token    'O' ver=1 issuer_kid[4] token_id[16] expires_at u32
 *            token_pk[32] issuer_sig[64]                        = 122 bytes
 *            issuer_kid = first 4 bytes of the issuer public key;
 *            issuer_sig (issuer key) over the 58 bytes before it.
 *   pass v2  'P' ver=2 issuer_kid[4] token_id[16] expires_at u32
 *            token_pk[32] issuer_sig[64] timestamp u32
 *            token_sig[64]                                      = 190 bytes
 *            i.e. the token without its magic and version, then the time;
 *            token_sig (token key) over the 126 bytes before it.
 *   request  'Q' ver=1 holder_pk[32] request_id[16] created_at i64
 *            n u8 (1..64) n x token_pk[32] holder_sig[64]  = 123 + 32 n
 *            holder_sig (holder key) over every byte before it.
 *   batch    'G' ver=1 n u8 (1..64) n x token[122]          = 3 + 122 n
 *            (each token carries its own signature).
 *
 * QR text of a pass v2: "AP2:" + Base45(pass) = 289 characters, QR
 * version 10 at error correction level M.
 */
#ifndef ANSHIM_TOKEN_H
#define ANSHIM_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"
#include "anshim/policy.h"

#define AS_TOKEN_MAGIC 'O'
#define AS_TOKEN_VERSION 1
#define AS_PASS2_MAGIC 'P'
#define AS_PASS2_VERSION 2
#define AS_TOKEN_REQUEST_MAGIC 'Q'
#define AS_TOKEN_REQUEST_VERSION 1
#define AS_TOKEN_BATCH_MAGIC 'G'
#define AS_TOKEN_BATCH_VERSION 1

#define AS_TOKEN_ID_LEN 16       /* same size as a credential id: one
				  * revocation list holds both */
#define AS_ISSUER_KID_LEN 4
#define AS_TOKEN_LEN 122
#define AS_TOKEN_SIGNED_LEN (AS_TOKEN_LEN - AS_SIG_LEN)           /* 58 */
#define AS_PASS2_LEN 190
#define AS_PASS2_SIGNED_LEN (AS_PASS2_LEN - AS_SIG_LEN)           /* 126 */
#define AS_TOKEN_BATCH_MAX 64    /* tokens per request and per batch */
#define AS_TOKEN_REQUEST_LEN(n) (123 + 32 * (size_t)(n))
#define AS_TOKEN_REQUEST_MAX_LEN AS_TOKEN_REQUEST_LEN(AS_TOKEN_BATCH_MAX)
#define AS_TOKEN_BATCH_LEN(n) (3 + AS_TOKEN_LEN * (size_t)(n))
#define AS_TOKEN_BATCH_MAX_LEN AS_TOKEN_BATCH_LEN(AS_TOKEN_BATCH_MAX)

#define AS_PASS2_PREFIX "AP2:"
#define AS_PASS2_TEXT_LEN (4 + AS_PASS2_LEN / 2 * 3)              /* 289 */

/* Token expiries are rounded up to a multiple of this (a day, UTC), so
 * every token issued on one day shares its expiry: the expiry tells a
 * venue nothing about who, or which batch. */
#define AS_TOKEN_EXPIRY_GRAIN 86400
#define AS_TOKEN_LIFETIME_DEFAULT (7 * 86400)

struct as_token {
	uint8_t issuer_kid[AS_ISSUER_KID_LEN];
	uint8_t token_id[AS_TOKEN_ID_LEN];
	int64_t expires_at;                  /* unix seconds, 1..UINT32_MAX */
	uint8_t token_pk[AS_SIGN_PK_LEN];
	uint8_t issuer_sig[AS_SIG_LEN];
};

struct as_pass2 {
	struct as_token token;
	int64_t timestamp;                   /* unix seconds, 0..UINT32_MAX */
	uint8_t token_sig[AS_SIG_LEN];
};

struct as_token_request {
	uint8_t holder_pk[AS_SIGN_PK_LEN];
	uint8_t request_id[16];              /* random per request: a retry of
					      * the same request has the same id */
	int64_t created_at;                  /* unix seconds */
	uint8_t n;                           /* 1..AS_TOKEN_BATCH_MAX */
	uint8_t token_pks[AS_TOKEN_BATCH_MAX][AS_SIGN_PK_LEN];
	uint8_t holder_sig[AS_SIG_LEN];
};

struct as_token_batch {
	uint8_t n;                           /* 1..AS_TOKEN_BATCH_MAX */
	struct as_token tokens[AS_TOKEN_BATCH_MAX];
};

/*
 * Codecs.  Encoders write the exact length and return it, or AS_E_OVERSIZE
 * when cap is too small, AS_E_FIELD for a field out of range (a time
 * outside u32, n outside 1..64).  Decoders take exactly len bytes and fail
 * with AS_E_TRUNCATED, AS_E_TRAILING, AS_E_OVERSIZE, AS_E_MAGIC,
 * AS_E_VERSION, AS_E_LENGTH (n out of range) or AS_E_FIELD (expires_at
 * 0).  Decoding checks framing only; signatures are checked by the verify
 * calls.  All pure; any thread.
 */
int as_token_encode(uint8_t *out, size_t cap, const struct as_token *t);
int as_token_decode(struct as_token *t, const uint8_t *in, size_t len);
int as_pass2_encode(uint8_t *out, size_t cap, const struct as_pass2 *p);
int as_pass2_decode(struct as_pass2 *p, const uint8_t *in, size_t len);
int as_token_request_encode(uint8_t *out, size_t cap, const struct as_token_request *r);
int as_token_request_decode(struct as_token_request *r, const uint8_t *in, size_t len);
int as_token_batch_encode(uint8_t *out, size_t cap, const struct as_token_batch *b);
int as_token_batch_decode(struct as_token_batch *b, const uint8_t *in, size_t len);

/* The key id of an issuer public key: its first 4 bytes. */
void as_issuer_kid(uint8_t kid[AS_ISSUER_KID_LEN], const uint8_t issuer_pk[AS_SIGN_PK_LEN]);

/* The expiry of a token issued at `now` that lives `lifetime` seconds:
 * now + lifetime rounded up to the next multiple of AS_TOKEN_EXPIRY_GRAIN.
 * Pure. */
int64_t as_token_expiry(int64_t now, int64_t lifetime);

/*
 * Token ids the authority can read.  A token id is
 *   r[8] || ChaCha20(key, nonce = r) XOR (serial u56 BE || index u8)
 * where r is 8 fresh random bytes, serial numbers the issue (one
 * /v1/tokens answer, AS_TOKEN_SERIAL_MAX at most) and index the token's
 * place in it.  key (AS_TOKEN_ID_KEY_LEN bytes, tokenid.key) is shared by
 * the issuer and the cloud's aggregator only: to anyone else an id is 16
 * random-looking bytes, and no two ids share bytes (r is fresh per
 * token).  The cloud keeps one row per issue, not one per token.
 * as_token_id_derive returns 0 or AS_E_FIELD (serial out of range);
 * as_token_id_open always succeeds (any 16 bytes open to some serial and
 * index: only the issue's row says whether it was issued).  Any thread.
 */
#define AS_TOKEN_ID_KEY_LEN 32
#define AS_TOKEN_SERIAL_MAX ((UINT64_C(1) << 56) - 1)
int as_token_id_derive(uint8_t id[AS_TOKEN_ID_LEN], const uint8_t key[AS_TOKEN_ID_KEY_LEN],
		       uint64_t serial, uint8_t index);
void as_token_id_open(uint64_t *serial, uint8_t *index, const uint8_t id[AS_TOKEN_ID_LEN],
		      const uint8_t key[AS_TOKEN_ID_KEY_LEN]);

/*
 * Issuer side: mint one token for token_pk (from a verified request) with
 * id token_id (as_token_id_derive; NULL: a random id, for tests and
 * benches of the gateway, whose ids no cloud reads), the kid of issuer_pk,
 * and the issuer signature.  Returns 0, or AS_E_FIELD for an expiry
 * outside u32.  Any thread.
 */
int as_token_mint(struct as_token *t, const uint8_t token_id[AS_TOKEN_ID_LEN],
		  const uint8_t token_pk[AS_SIGN_PK_LEN],
		  int64_t expires_at, const uint8_t issuer_pk[AS_SIGN_PK_LEN],
		  const uint8_t issuer_sk[AS_SIGN_SK_LEN]);

/* Sign t as it is (kid, token id, expiry, public key set by the caller):
 * as_token_mint without the random id, for fixed test vectors.  0 or
 * AS_E_FIELD. */
int as_token_sign(struct as_token *t, const uint8_t issuer_sk[AS_SIGN_SK_LEN]);

/* 0 if t's issuer signature verifies under issuer_pk (and t's kid is that
 * key's), else AS_E_ISSUER_SIG.  Pure. */
int as_token_verify_issuer(const struct as_token *t, const uint8_t issuer_pk[AS_SIGN_PK_LEN]);

/* The issuer key of policy p that signed t: 0 and *issuer_pk borrowed from
 * p, AS_E_ISSUER_UNKNOWN when no key of p has t's kid, AS_E_ISSUER_SIG when
 * none of those verifies.  Pure. */
int as_token_find_issuer(const struct as_token *t, const struct as_policy *p,
			 const uint8_t **issuer_pk);

/*
 * Wallet side.  as_token_request_make fills r (created_at = now, a random
 * request_id, the n public keys) and signs it with the holder key; 0 or
 * AS_E_FIELD for n outside 1..64.  as_token_request_verify checks the
 * holder signature against r->holder_pk: 0 or AS_E_HOLDER_SIG.
 */
int as_token_request_make(struct as_token_request *r, const uint8_t holder_pk[AS_SIGN_PK_LEN],
			  const uint8_t holder_sk[AS_SIGN_SK_LEN], int64_t now, unsigned n,
			  const uint8_t (*token_pks)[AS_SIGN_PK_LEN]);
int as_token_request_verify(const struct as_token_request *r);

/* Make a pass from token t at time now, signed with the token's secret key
 * (AS_E_FIELD if now is outside u32).  Any thread. */
int as_pass2_make(struct as_pass2 *p, const struct as_token *t, int64_t now,
		  const uint8_t token_sk[AS_SIGN_SK_LEN]);

/* "AP2:" + Base45 into out (cap >= AS_PASS2_TEXT_LEN + 1); the length or
 * an error. */
int as_pass2_to_text(char *out, size_t cap, const struct as_pass2 *p);

struct as_pass2_verify_params {
	const struct as_policy *policy;      /* borrowed: the issuer keys */
	int64_t now;                         /* the verifier's clock */
	int64_t freshness;                   /* max |now - timestamp|, seconds */
};

/*
 * Parse and verify a scanned "AP2:" text (len bytes) offline.  Order:
 * prefix (AS_E_PREFIX), length (AS_E_OVERSIZE), Base45 (AS_E_BASE45),
 * framing (decoder errors), issuer (AS_E_ISSUER_UNKNOWN, AS_E_ISSUER_SIG),
 * expiry (AS_E_EXPIRED), token-key signature (AS_E_TOKEN_SIG), freshness
 * (AS_E_STALE).  Revocation of the token id and de-duplication are the
 * caller's.  On success fills out and returns 0.  Pure; any thread.
 */
int as_pass2_verify_text(struct as_pass2 *out, const char *text, size_t len,
			 const struct as_pass2_verify_params *params);

/* Nonzero if text (len bytes) starts with the pass v2 prefix. */
int as_pass2_is_text(const char *text, size_t len);

#endif
