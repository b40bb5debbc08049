/*
 * enrolreq.h - a gateway's self-service enrolment request: the device's
 * public key and the venue details its owner typed at 'anshim-gw init',
 * signed by the device key, printed as a QR code and as text for the
 * health authority, who imports requests in bulk ('anshim-cloud enroll
 * --requests') and approves or rejects each.
 *
 * Binary layout (little-endian; docs/PROTOCOL.md has the byte table):
 *   'R' ver=1 gw_pk[32] created_at i64 venue_id u32 dwell u16
 *   category_len u8 category[category_len]
 *   name_len u8 name[name_len]
 *   address_len u8 address[address_len]
 *   device_sig[64]   (gw_pk's signature over every byte before it)
 * venue_id 0 asks the authority to choose one; dwell is minutes 1..1440,
 * or 0 for the authority's default.  category is empty or 1..24 of
 * [a-z0-9-]; name 1..AS_ENROLREQ_NAME_MAX and address
 * 0..AS_ENROLREQ_ADDRESS_MAX bytes of UTF-8 without control characters.
 *
 * Text: "AE1:" + Base45(request), one request per line.
 * Possession of the device key is proven by the signature; who the owner
 * is, is for the authority to check before approving.
 */
#ifndef ANSHIM_ENROLREQ_H
#define ANSHIM_ENROLREQ_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"

#define AS_ENROLREQ_MAGIC 'R'
#define AS_ENROLREQ_VERSION 1
#define AS_ENROLREQ_PREFIX "AE1:"
#define AS_ENROLREQ_CATEGORY_MAX 24
#define AS_ENROLREQ_NAME_MAX 127
#define AS_ENROLREQ_ADDRESS_MAX 160
#define AS_ENROLREQ_FIXED_LEN (2 + AS_SIGN_PK_LEN + 8 + 4 + 2 + 3 + AS_SIG_LEN)
#define AS_ENROLREQ_MAX                                                          \
	(AS_ENROLREQ_FIXED_LEN + AS_ENROLREQ_CATEGORY_MAX + AS_ENROLREQ_NAME_MAX + \
	 AS_ENROLREQ_ADDRESS_MAX)
/* Longest text form, with its NUL: prefix + Base45 of the longest. */
#define AS_ENROLREQ_TEXT_MAX (4 + (AS_ENROLREQ_MAX / 2) * 3 + 2 + 1)

struct as_enrolreq {
	uint8_t gw_pk[AS_SIGN_PK_LEN];
	int64_t created_at;                        /* unix seconds */
	uint32_t venue_id;                         /* 0: the authority chooses */
	uint16_t dwell_minutes;                    /* 0: default */
	char category[AS_ENROLREQ_CATEGORY_MAX + 1];
	char name[AS_ENROLREQ_NAME_MAX + 1];
	char address[AS_ENROLREQ_ADDRESS_MAX + 1];
	uint8_t sig[AS_SIG_LEN];
};

/* Encode (returns the length) / strict decode (framing, ranges, text
 * rules; no signature check): AS_E_TRUNCATED, AS_E_TRAILING,
 * AS_E_VERSION, AS_E_MAGIC, AS_E_FIELD, AS_E_OVERSIZE.  Pure; any thread. */
int as_enrolreq_encode(uint8_t *out, size_t cap, const struct as_enrolreq *r);
int as_enrolreq_decode(struct as_enrolreq *r, const uint8_t *in, size_t len);

/* Set r->gw_pk from sk (its last 32 bytes) and fill r->sig.  0, or the
 * encoder's error for invalid fields. */
int as_enrolreq_sign(struct as_enrolreq *r, const uint8_t sk[AS_SIGN_SK_LEN]);

/* 0 if r->sig is gw_pk's signature over r, else AS_E_SIGNATURE. */
int as_enrolreq_verify(const struct as_enrolreq *r);

/* Text form, NUL-terminated; returns its length (cap >= AS_ENROLREQ_TEXT_MAX
 * is always enough). */
int as_enrolreq_to_text(char *out, size_t cap, const struct as_enrolreq *r);

/* Parse the text form (len bytes, no NUL needed) and verify its
 * signature: AS_E_PREFIX, AS_E_OVERSIZE, AS_E_BASE45, a decoder error or
 * AS_E_SIGNATURE; r is zeroed on failure. */
int as_enrolreq_from_text(struct as_enrolreq *r, const char *text, size_t len);

#endif
