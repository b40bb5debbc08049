/*
 * tokencapsule.c - a visit token's capsule: its batch key sealed to the
 * authority, the holder's contact capsule under that key (see
 * tokencapsule.h for the format).
 *
 * Invariants: every capsule has its own random nonce; the additional data
 * binds it to its issue's serial, expiry and token count; nothing is returned from a capsule
 * that does not authenticate.
 * Any thread; no state.
 */
#include "tokencapsule.h"

#include "anshim/bytes.h"
#include "anshim/error.h"

#include <sodium.h>
#include <string.h>

#define AD_LABEL "anshim-tokcap-2"
#define AD_LEN (sizeof AD_LABEL - 1 + 8 + 8 + 1)

static void make_ad(uint8_t ad[AD_LEN], uint64_t serial, int64_t expires_at, uint8_t count)
{
	struct as_writer w;

	as_writer_init(&w, ad, AD_LEN);
	as_writer_bytes(&w, AD_LABEL, sizeof AD_LABEL - 1);
	as_writer_u64(&w, serial);
	as_writer_i64(&w, expires_at);
	as_writer_u8(&w, count);
}

int cl_tokcap_key_make(struct cl_tokcap_key *k, const uint8_t contact_pk[AS_BOX_PK_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_keygen(k->key);
	if (crypto_box_seal(k->sealed, k->key, CL_TOKCAP_KEY_LEN, contact_pk) != 0) {
		sodium_memzero(k, sizeof *k);
		return AS_E_CRYPTO;
	}
	return 0;
}

void cl_tokcap_key_wipe(struct cl_tokcap_key *k)
{
	sodium_memzero(k, sizeof *k);
}

int cl_tokcap_seal(uint8_t capsule[CL_TOKCAP_LEN], const struct cl_tokcap_key *k,
		   uint64_t serial, int64_t expires_at, uint8_t count,
		   const uint8_t contact[AS_CAPSULE_LEN])
{
	uint8_t ad[AD_LEN];

	make_ad(ad, serial, expires_at, count);
	randombytes_buf(capsule, CL_TOKCAP_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(capsule + CL_TOKCAP_NONCE_LEN, NULL, contact,
						   AS_CAPSULE_LEN, ad, sizeof ad, NULL, capsule,
						   k->key);
	return 0;
}

int cl_tokcap_open_key(uint8_t key[CL_TOKCAP_KEY_LEN],
		       const uint8_t sealed[CL_TOKCAP_SEALED_KEY_LEN],
		       const uint8_t contact_pk[AS_BOX_PK_LEN],
		       const uint8_t contact_sk[AS_BOX_SK_LEN])
{
	if (crypto_box_seal_open(key, sealed, CL_TOKCAP_SEALED_KEY_LEN, contact_pk, contact_sk))
		return AS_E_CAPSULE;
	return 0;
}

int cl_tokcap_open(uint8_t contact[AS_CAPSULE_LEN], const uint8_t key[CL_TOKCAP_KEY_LEN],
		   uint64_t serial, int64_t expires_at, uint8_t count,
		   const uint8_t capsule[CL_TOKCAP_LEN])
{
	uint8_t ad[AD_LEN];

	make_ad(ad, serial, expires_at, count);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(contact, NULL, NULL,
						       capsule + CL_TOKCAP_NONCE_LEN,
						       CL_TOKCAP_LEN - CL_TOKCAP_NONCE_LEN, ad,
						       sizeof ad, capsule, key) != 0)
		return AS_E_CAPSULE;
	return 0;
}
