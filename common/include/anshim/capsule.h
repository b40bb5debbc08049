/*
 * capsule.h - the sealed contact capsule: a visitor's phone and name,
 * sealed (crypto_box_seal) to the authority contact key.
 *
 * Plaintext layout (83 bytes, fixed so the capsule's length reveals nothing
 * about the name): version u8 = 1, phone_len u8, phone[16] zero-padded,
 * name_len u8, name[64] UTF-8 zero-padded.  Sealed: 83 + 48 = 131 bytes.
 */
#ifndef ANSHIM_CAPSULE_H
#define ANSHIM_CAPSULE_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"
#include "anshim/phone.h"

#define AS_CONTACT_NAME_MAX 64
#define AS_CAPSULE_PLAIN_LEN 83
#define AS_CAPSULE_LEN (AS_CAPSULE_PLAIN_LEN + 48)

struct as_contact {
	char phone[AS_PHONE_MAX + 1];        /* normalized, NUL-terminated */
	char name[AS_CONTACT_NAME_MAX + 1];  /* UTF-8, may be empty */
};

/*
 * Normalize phone_text, check name (at most 64 bytes of well-formed UTF-8,
 * no control characters) and fill out.  Returns 0, AS_E_PHONE or AS_E_FIELD.
 */
int as_contact_set(struct as_contact *out, const char *phone_text, const char *name);

/* Seal contact to the authority contact public key.  Returns 0 or
 * AS_E_CRYPTO.  The plaintext copy made inside is wiped.  Any thread. */
int as_capsule_seal(uint8_t capsule[AS_CAPSULE_LEN], const struct as_contact *contact,
		    const uint8_t contact_pk[AS_BOX_PK_LEN]);

/* Open a capsule with the contact key pair.  Returns 0, AS_E_CAPSULE if it
 * does not open with this key, or AS_E_CORRUPT if the opened plaintext is
 * malformed (including a phone not in normalized form).  The caller wipes out when done. */
int as_capsule_open(struct as_contact *out, const uint8_t capsule[AS_CAPSULE_LEN],
		    const uint8_t contact_pk[AS_BOX_PK_LEN],
		    const uint8_t contact_sk[AS_BOX_SK_LEN]);

#endif
