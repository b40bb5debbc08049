/*
 * appcheckin.h - a wallet's own check-in and check-out at a venue code
 * (the Jeju flow), sent by the phone to the cloud over MQTT, and the
 * cloud's signed answer.
 *
 * Binary layouts (little-endian; docs/PROTOCOL.md has the byte tables):
 *   check-in   'W' ver=1 kind=1 credential[264] time i64 nonce[16]
 *              code_len u16 code[code_len] holder_sig[64]
 *   check-out  'W' ver=1 kind=2 credential[264] time i64 nonce[16]
 *              checkin_id[32] holder_sig[64]                 = 387 bytes
 *   answer     'Y' ver=1 checkin_id[32] status u8 reason u8
 *              cloud_time i64 authority_sig[64]              = 108 bytes
 * code is an encoded venue code (venuecode.h), code_len within
 * AS_APP_CODE_MIN..AS_VENUE_CODE_MAX (a poster with a one-byte name is
 * 81 bytes, shorter than a rotating code).  The holder signature (the
 * credential's holder key) covers every byte before it; the authority
 * signature every answer byte before it.  time is the wallet's clock.
 *
 * The check-in id is BLAKE2b-256("anshim app checkin v1" || every byte of
 * the encoded message): a check-out names its check-in by it, the cloud
 * de-duplicates by it and the answer carries it.  A check-out message has
 * an id of its own, computed the same way; its answer carries that id (the
 * wallet's outbox matches answers to messages by the message's own id).
 *
 * Topics (prefix anshim/v1): wallet/{holder_id hex}/checkin (wallet ->
 * cloud, QoS 1, both kinds) and wallet/{holder_id hex}/ack (cloud ->
 * wallet, QoS 1, answers); holder_id = as_holder_id(holder_pk).
 */
#ifndef ANSHIM_APPCHECKIN_H
#define ANSHIM_APPCHECKIN_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/credential.h"
#include "anshim/venuecode.h"

#define AS_APP_CHECKIN_MAGIC 'W'
#define AS_APP_CHECKIN_VERSION 1
#define AS_APP_NONCE_LEN 16
#define AS_APP_CHECKIN_ID_LEN 32
#define AS_APP_CHECKOUT_LEN 387
#define AS_APP_CODE_MIN (AS_VENUE_POSTER_BASE_LEN + 1)
#define AS_APP_CHECKIN_MAX (3 + AS_CREDENTIAL_LEN + 8 + AS_APP_NONCE_LEN + 2 + \
			    AS_VENUE_CODE_MAX + AS_SIG_LEN)
/* The times a wallet signs and the cloud accepts (the cloud's own are
 * configured: time_skew, retention; these are their defaults). */
#define AS_APP_TIME_SKEW 600              /* at most this far ahead of now */
#define AS_APP_MAX_AGE (56 * 86400)       /* at most this far behind */
#define AS_APP_ANSWER_MAGIC 'Y'
#define AS_APP_ANSWER_VERSION 1
#define AS_APP_ANSWER_LEN 108

enum as_app_kind { AS_APP_CHECKIN = 1, AS_APP_CHECKOUT = 2 };

struct as_app_checkin {
	uint8_t kind;                                   /* enum as_app_kind */
	struct as_credential cred;                      /* a phone credential */
	int64_t time;                                   /* unix seconds */
	uint8_t nonce[AS_APP_NONCE_LEN];                /* random per message */
	struct as_venue_code code;                      /* AS_APP_CHECKIN */
	uint8_t checkin_id[AS_APP_CHECKIN_ID_LEN];      /* AS_APP_CHECKOUT */
	uint8_t holder_sig[AS_SIG_LEN];
};

/* Encode (returns the length) / strict decode (framing only, the embedded
 * credential and venue code included; no signatures checked).  Errors as
 * the other codecs.  Pure; any thread. */
int as_app_checkin_encode(uint8_t *out, size_t cap, const struct as_app_checkin *m);
int as_app_checkin_decode(struct as_app_checkin *m, const uint8_t *in, size_t len);

/* Wallet side: fill nonce (random) and holder_sig over the rest.  The
 * credential must be a phone credential (AS_E_IS_CARD otherwise). */
int as_app_checkin_sign(struct as_app_checkin *m, const uint8_t holder_sk[AS_SIGN_SK_LEN]);

/* Cloud side: the credential's issuer signature (AS_E_ISSUER_SIG), phone
 * form (AS_E_IS_CARD), validity at m->time (AS_E_NOT_YET, AS_E_EXPIRED),
 * holder signature (AS_E_HOLDER_SIG).  The venue code's signature is the
 * caller's check (it needs the registry).  0 on success. */
int as_app_checkin_verify(const struct as_app_checkin *m,
			  const uint8_t authority_pk[AS_SIGN_PK_LEN]);

/* The id of an encoded message (see above). */
void as_app_checkin_id(uint8_t id[AS_APP_CHECKIN_ID_LEN], const uint8_t *msg, size_t len);

/* ---- the cloud's answer ---- */

enum as_app_status {
	AS_APP_STORED = 1,      /* new; stored and indexed */
	AS_APP_DUPLICATE = 2,   /* this exact message was stored before */
	AS_APP_REJECTED = 3     /* refused for `reason`; resending cannot help */
};

enum as_app_reason {
	AS_APP_OK = 0,
	AS_APP_R_MALFORMED = 1,       /* the message does not decode */
	AS_APP_R_CREDENTIAL = 2,      /* issuer signature, card form, validity */
	AS_APP_R_HOLDER_SIG = 3,      /* holder signature does not verify */
	AS_APP_R_REVOKED_HOLDER = 4,  /* credential revoked in the policy */
	AS_APP_R_FORGED_CODE = 5,     /* venue code signature does not verify */
	AS_APP_R_UNKNOWN_VENUE = 6,   /* no such venue or gateway, or they disagree */
	AS_APP_R_REVOKED_GATEWAY = 7, /* rotating code of a revoked gateway */
	AS_APP_R_REMOTE = 8,          /* check-in time far from the code's slot */
	AS_APP_R_REPLAY = 9,          /* this holder already used this rotating code */
	AS_APP_R_UNKNOWN_CHECKIN = 10,/* check-out of a check-in not stored (or not theirs) */
	AS_APP_R_TIME_FUTURE = 11,    /* time later than the cloud's now + skew */
	AS_APP_R_TIME_PAST = 12,      /* time older than the cloud's retention */
	AS_APP_R_LAST = 12
};

struct as_app_answer {
	uint8_t checkin_id[AS_APP_CHECKIN_ID_LEN];
	uint8_t status;                 /* enum as_app_status */
	uint8_t reason;                 /* enum as_app_reason; 0 unless rejected */
	int64_t cloud_time;             /* unix seconds */
};

/* Encode and sign with the authority key (returns AS_APP_ANSWER_LEN) /
 * strict decode and verify (framing errors, or AS_E_SIGNATURE). */
int as_app_answer_encode(uint8_t *out, size_t cap, const struct as_app_answer *a,
			 const uint8_t authority_sk[AS_SIGN_SK_LEN]);
int as_app_answer_decode(struct as_app_answer *a, const uint8_t *in, size_t len,
			 const uint8_t authority_pk[AS_SIGN_PK_LEN]);

/* "malformed", "bad-credential", "bad-holder-signature", "revoked-holder",
 * "forged-code", "unknown-venue", "revoked-gateway", "remote", "replay",
 * "unknown-checkin" ("ok" for 0, "unknown" otherwise); never NULL. */
const char *as_app_reason_name(uint8_t reason);
/* "stored", "duplicate", "rejected" ("unknown" otherwise). */
const char *as_app_status_name(uint8_t status);

#endif
