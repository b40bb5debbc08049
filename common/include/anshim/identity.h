/*
 * identity.h - the identifiers every component must compute the same way:
 * the visitor pseudonym (pid), the gateway id and the holder id.
 */
#ifndef ANSHIM_IDENTITY_H
#define ANSHIM_IDENTITY_H

#include <stdint.h>

#define AS_PID_LEN 16        /* BLAKE2b-128 */
#define AS_GWID_LEN 16       /* BLAKE2b-128 of the device public key */
#define AS_HOLDER_ID_LEN 16  /* BLAKE2b-128 of the holder public key */
#define AS_SIGN_PK_LEN 32
#define AS_SIGN_SK_LEN 64
#define AS_SIG_LEN 64
#define AS_BOX_PK_LEN 32
#define AS_BOX_SK_LEN 32
#define AS_PSEUDONYM_KEY_LEN 32

/* Call once per process before any other Anshim crypto; returns 0 or
 * AS_E_CRYPTO.  Safe to call more than once. */
int as_crypto_init(void);

/*
 * pid = BLAKE2b-128(key = pseudonym key, message = normalized phone).
 * phone must already be normalized (as_phone_normalize).  Any thread.
 */
void as_pid_derive(uint8_t pid[AS_PID_LEN],
		   const uint8_t pseudonym_key[AS_PSEUDONYM_KEY_LEN],
		   const char *normalized_phone);

/* Normalize phone text and derive its pid: 0 or AS_E_PHONE. */
int as_pid_from_phone(uint8_t pid[AS_PID_LEN],
		      const uint8_t pseudonym_key[AS_PSEUDONYM_KEY_LEN],
		      const char *phone_text);

/* gateway id = BLAKE2b-128("anshim gateway id v1" || device public key). */
void as_gateway_id(uint8_t id[AS_GWID_LEN], const uint8_t device_pk[AS_SIGN_PK_LEN]);

/* holder id = BLAKE2b-128("anshim holder id v1" || holder public key); the
 * unit of holder revocation in the policy. */
void as_holder_id(uint8_t id[AS_HOLDER_ID_LEN], const uint8_t holder_pk[AS_SIGN_PK_LEN]);

#endif
