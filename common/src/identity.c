/*
 * identity.c - pid, gateway id and holder id derivations (libsodium
 * BLAKE2b).  Domain-separation strings keep a gateway id from ever equalling
 * a holder id of the same key.  Pure apart from as_crypto_init; any thread.
 */
#include "anshim/identity.h"
#include "anshim/error.h"
#include "anshim/phone.h"

#include <sodium.h>
#include <string.h>

int as_crypto_init(void)
{
	return sodium_init() < 0 ? AS_E_CRYPTO : 0;
}

void as_pid_derive(uint8_t pid[AS_PID_LEN],
		   const uint8_t pseudonym_key[AS_PSEUDONYM_KEY_LEN],
		   const char *normalized_phone)
{
	crypto_generichash(pid, AS_PID_LEN, (const unsigned char *)normalized_phone,
			   strlen(normalized_phone), pseudonym_key, AS_PSEUDONYM_KEY_LEN);
}

int as_pid_from_phone(uint8_t pid[AS_PID_LEN],
		      const uint8_t pseudonym_key[AS_PSEUDONYM_KEY_LEN],
		      const char *phone_text)
{
	char phone[AS_PHONE_MAX + 1];
	int rc = as_phone_normalize(phone, phone_text);

	if (rc)
		return rc;
	as_pid_derive(pid, pseudonym_key, phone);
	sodium_memzero(phone, sizeof phone);
	return 0;
}

static void tagged_hash(uint8_t *out, size_t out_len, const char *tag,
			const uint8_t *key, size_t key_len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, out_len);
	crypto_generichash_update(&st, (const unsigned char *)tag, strlen(tag));
	crypto_generichash_update(&st, key, key_len);
	crypto_generichash_final(&st, out, out_len);
}

void as_gateway_id(uint8_t id[AS_GWID_LEN], const uint8_t device_pk[AS_SIGN_PK_LEN])
{
	tagged_hash(id, AS_GWID_LEN, "anshim gateway id v1", device_pk, AS_SIGN_PK_LEN);
}

void as_holder_id(uint8_t id[AS_HOLDER_ID_LEN], const uint8_t holder_pk[AS_SIGN_PK_LEN])
{
	tagged_hash(id, AS_HOLDER_ID_LEN, "anshim holder id v1", holder_pk, AS_SIGN_PK_LEN);
}
