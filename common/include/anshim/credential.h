/*
 * credential.h - the visitor credential, the rotating pass, the printed
 * card, their QR text forms, and offline verification.
 *
 * Binary layouts (little-endian; docs/PROTOCOL.md has the byte tables and
 * test vectors):
 *   credential  'C' ver=1 flags u8 pid[16] holder_pk[32] issued_at i64
 *               expires_at i64 capsule_len u16 (=131) capsule[131]
 *               issuer_sig[64]                             = 264 bytes
 *   pass        'P' ver=1 credential[264] timestamp i64 holder_sig[64]
 *                                                          = 338 bytes
 *   card        'K' ver=1 credential[264]                  = 266 bytes
 * The issuer signature (authority Ed25519) covers every credential byte
 * before it; the holder signature covers every pass byte before it.
 *
 * QR text: "AP1:" + Base45(pass), "AC1:" + Base45(card).
 */
#ifndef ANSHIM_CREDENTIAL_H
#define ANSHIM_CREDENTIAL_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/capsule.h"
#include "anshim/identity.h"

#define AS_CREDENTIAL_MAGIC 'C'
#define AS_PASS_MAGIC 'P'
#define AS_CARD_MAGIC 'K'
#define AS_CREDENTIAL_VERSION 1
#define AS_PASS_VERSION 1
#define AS_CARD_VERSION 1

#define AS_CREDENTIAL_LEN 264
#define AS_PASS_LEN 338
#define AS_CARD_LEN 266

#define AS_PASS_PREFIX "AP1:"
#define AS_CARD_PREFIX "AC1:"
/* Longest QR text we produce or accept for a pass or card, with NUL. */
#define AS_SCAN_TEXT_MAX 600

/* Credential flags. */
#define AS_CRED_CARD 0x01  /* issued for a printed card: no holder key */
#define AS_CRED_FLAGS_KNOWN AS_CRED_CARD

struct as_credential {
	uint8_t flags;
	uint8_t pid[AS_PID_LEN];
	uint8_t holder_pk[AS_SIGN_PK_LEN]; /* all zero for cards */
	int64_t issued_at;                 /* unix seconds */
	int64_t expires_at;                /* unix seconds */
	uint8_t capsule[AS_CAPSULE_LEN];
	uint8_t issuer_sig[AS_SIG_LEN];
};

struct as_pass {
	struct as_credential cred;
	int64_t timestamp;                 /* unix seconds when the wallet made it */
	uint8_t holder_sig[AS_SIG_LEN];
};

/* Encoders write exactly the *_LEN bytes into out and return that length,
 * or AS_E_OVERSIZE if cap is too small.  Decoders take len bytes, never
 * read past them, and fail with AS_E_TRUNCATED, AS_E_TRAILING,
 * AS_E_VERSION, AS_E_MAGIC, AS_E_LENGTH, AS_E_FIELD or AS_E_OVERSIZE.
 * Decoding checks framing only; signatures are checked by the verify calls.
 * All pure; any thread. */
int as_credential_encode(uint8_t *out, size_t cap, const struct as_credential *c);
int as_credential_decode(struct as_credential *c, const uint8_t *in, size_t len);
int as_pass_encode(uint8_t *out, size_t cap, const struct as_pass *p);
int as_pass_decode(struct as_pass *p, const uint8_t *in, size_t len);
int as_card_encode(uint8_t *out, size_t cap, const struct as_credential *c);
int as_card_decode(struct as_credential *c, const uint8_t *in, size_t len);

/* Authority side: fill issued_at/expires_at/... beforehand, then sign.
 * Returns 0 or AS_E_OVERSIZE. */
int as_credential_sign(struct as_credential *c, const uint8_t authority_sk[AS_SIGN_SK_LEN]);
/* 0 or AS_E_ISSUER_SIG. */
int as_credential_verify_issuer(const struct as_credential *c,
				const uint8_t authority_pk[AS_SIGN_PK_LEN]);

/* Wallet side: build and sign a pass for time `now`.  The credential must
 * not be a card credential (AS_E_IS_CARD). */
int as_pass_make(struct as_pass *p, const struct as_credential *c, int64_t now,
		 const uint8_t holder_sk[AS_SIGN_SK_LEN]);

/* QR text forms.  out is caller-owned, at least AS_SCAN_TEXT_MAX bytes;
 * returns the text length or an error. */
int as_pass_to_text(char *out, size_t cap, const struct as_pass *p);
int as_card_to_text(char *out, size_t cap, const struct as_credential *c);

enum as_scan_kind { AS_SCAN_PASS = 1, AS_SCAN_CARD = 2 };

/* A verified scan: what a gateway records. */
struct as_scan {
	enum as_scan_kind kind;
	struct as_credential cred;
	int64_t timestamp;          /* pass time; 0 for cards */
};

struct as_verify_params {
	const uint8_t *authority_pk; /* borrowed, AS_SIGN_PK_LEN bytes */
	int64_t now;                 /* the verifier's clock, unix seconds */
	int64_t freshness;           /* max |now - pass timestamp|, seconds */
};

/*
 * Parse and verify a scanned QR text (len bytes, need not be NUL-terminated)
 * offline.  Order of checks: prefix, length (AS_E_OVERSIZE), and Base45
 * (AS_E_PREFIX, AS_E_BASE45),
 * framing (decoder errors), issuer signature (AS_E_ISSUER_SIG), card flag
 * matches the form (AS_E_NOT_CARD / AS_E_IS_CARD), validity period
 * (AS_E_NOT_YET, AS_E_EXPIRED), holder signature (AS_E_HOLDER_SIG),
 * freshness (AS_E_STALE).  Revocation is the caller's check (policy).
 * On success fills out and returns 0.  Pure; any thread.
 */
int as_scan_verify(struct as_scan *out, const char *text, size_t len,
		   const struct as_verify_params *params);

/* Classify an error from as_scan_verify or as_pass2_verify_text (token.h)
 * into the short reason word shown to users: "malformed",
 * "bad-issuer-signature", "unknown-issuer", "bad-holder-signature",
 * "bad-token-signature", "expired", "stale", "not-yet-valid", "wrong-form",
 * "revoked".  Never NULL. */
const char *as_scan_reason(int err);

/*
 * The credential id: BLAKE2b-128("anshim credential id v1" || issuer
 * signature).  Unique per issued credential (phone or card); the unit of
 * revocation in the policy.  Pure; any thread.
 */
void as_credential_id(uint8_t id[AS_HOLDER_ID_LEN], const struct as_credential *c);

/* Credential files hold the 264 raw credential bytes, mode 0600.
 * as_credential_save writes atomically (flags: AS_WRITE_EXCLUSIVE to refuse
 * overwriting); as_credential_load reads and strictly decodes (framing only;
 * the caller verifies the issuer if it knows the authority key). */
int as_credential_save(const char *path, const struct as_credential *c, int flags);
int as_credential_load(const char *path, struct as_credential *c);

#endif
