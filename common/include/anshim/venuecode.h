/*
 * venuecode.h - the venue QR code a visitor's phone scans (the Jeju flow):
 * a static poster signed by the authority, or a rotating code a gateway
 * shows on a screen, signed by the gateway's device key.
 *
 * Binary layouts (little-endian; docs/PROTOCOL.md has the byte tables):
 *   poster    'V' ver=1 type=1 venue_id u32 issued_at i64 name_len u8
 *             name[name_len] authority_sig[64]            = 80 + name_len
 *   rotating  'V' ver=1 type=2 venue_id u32 gw_id[16] slot_start i64
 *             slot_seconds u16 gateway_sig[64]             = 97 bytes
 * The signature covers every byte before it.  name is 1..AS_VENUE_NAME_MAX
 * bytes of UTF-8 without control characters.  slot_seconds is
 * AS_SLOT_MIN..AS_SLOT_MAX and slot_start a multiple of it: the code is
 * the one for [slot_start, slot_start + slot_seconds).  venue_id >= 1.
 *
 * QR text: "AV1:" + Base45(code).
 */
#ifndef ANSHIM_VENUECODE_H
#define ANSHIM_VENUECODE_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"

#define AS_VENUE_CODE_MAGIC 'V'
#define AS_VENUE_CODE_VERSION 1
#define AS_VENUE_CODE_PREFIX "AV1:"
#define AS_VENUE_NAME_MAX 64           /* bytes of UTF-8 in a poster */
#define AS_VENUE_POSTER_BASE_LEN 80    /* poster length without the name */
#define AS_VENUE_ROTATING_LEN 97
#define AS_VENUE_CODE_MAX (AS_VENUE_POSTER_BASE_LEN + AS_VENUE_NAME_MAX)
/* Longest QR text of a venue code, with NUL (prefix + Base45 of the max). */
#define AS_VENUE_CODE_TEXT_MAX 256
#define AS_SLOT_DEFAULT 30
#define AS_SLOT_MIN 5
#define AS_SLOT_MAX 3600

enum as_venue_code_type { AS_VC_POSTER = 1, AS_VC_ROTATING = 2 };

struct as_venue_code {
	uint8_t type;                       /* enum as_venue_code_type */
	uint32_t venue_id;
	/* poster */
	int64_t issued_at;                  /* unix seconds */
	char name[AS_VENUE_NAME_MAX + 1];   /* NUL-terminated */
	/* rotating */
	uint8_t gw_id[AS_GWID_LEN];
	int64_t slot_start;                 /* unix seconds */
	uint16_t slot_seconds;
	/* both: authority (poster) or gateway device (rotating) signature */
	uint8_t sig[AS_SIG_LEN];
};

/* Encode (returns the length) / strict decode (framing, ranges, UTF-8;
 * no signature check): AS_E_TRUNCATED, AS_E_TRAILING, AS_E_VERSION,
 * AS_E_MAGIC, AS_E_LENGTH, AS_E_FIELD, AS_E_OVERSIZE.  Pure; any thread. */
int as_venue_code_encode(uint8_t *out, size_t cap, const struct as_venue_code *c);
int as_venue_code_decode(struct as_venue_code *c, const uint8_t *in, size_t len);

/* Fill c->sig with sk's signature over the encoded bytes before it.
 * 0, or the encoder's error for an invalid code. */
int as_venue_code_sign(struct as_venue_code *c, const uint8_t sk[AS_SIGN_SK_LEN]);
/* 0 or AS_E_SIGNATURE (pk: the authority for posters, the gateway's device
 * key for rotating codes). */
int as_venue_code_verify(const struct as_venue_code *c, const uint8_t pk[AS_SIGN_PK_LEN]);

/* QR text ("AV1:" + Base45), NUL-terminated; returns its length.  cap at
 * least AS_VENUE_CODE_TEXT_MAX. */
int as_venue_code_to_text(char *out, size_t cap, const struct as_venue_code *c);
/* Parse QR text (len bytes, no NUL needed): AS_E_PREFIX, AS_E_OVERSIZE,
 * AS_E_BASE45 or a decoder error. */
int as_venue_code_from_text(struct as_venue_code *c, const char *text, size_t len);

/* The start of the slot of slot_seconds that holds t (floor, also for t < 0). */
int64_t as_venue_slot_start(int64_t t, unsigned slot_seconds);

/* Build and sign the rotating code of gateway gw_id (device key sk) for the
 * slot holding now.  0 or an error. */
int as_venue_code_rotating(struct as_venue_code *c, uint32_t venue_id,
			   const uint8_t gw_id[AS_GWID_LEN], int64_t now, unsigned slot_seconds,
			   const uint8_t sk[AS_SIGN_SK_LEN]);

#endif
