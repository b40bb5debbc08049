/*
 * capsule.c - seal and open contact capsules (libsodium crypto_box_seal).
 *
 * Invariant: plaintext contact data exists only in caller-owned structs and
 * in stack buffers here that are wiped before return.  Any thread.
 */
#include "anshim/capsule.h"
#include "anshim/error.h"
#include "anshim/parse.h"

#include <sodium.h>
#include <string.h>

int as_contact_set(struct as_contact *out, const char *phone_text, const char *name)
{
	size_t name_len = name ? strlen(name) : 0;
	int rc;

	memset(out, 0, sizeof *out);
	rc = as_phone_normalize(out->phone, phone_text);
	if (rc)
		return rc;
	if (name_len > AS_CONTACT_NAME_MAX)
		return AS_E_FIELD;
	for (size_t i = 0; i < name_len;) {
		size_t len = as_utf8_char((const unsigned char *)name + i, name_len - i);
		if (len == 0)
			return AS_E_FIELD; /* malformed UTF-8 or a control character */
		i += len;
	}
	if (name_len)
		memcpy(out->name, name, name_len);
	return 0;
}

int as_capsule_seal(uint8_t capsule[AS_CAPSULE_LEN], const struct as_contact *contact,
		    const uint8_t contact_pk[AS_BOX_PK_LEN])
{
	uint8_t plain[AS_CAPSULE_PLAIN_LEN] = {0};
	size_t phone_len = strnlen(contact->phone, AS_PHONE_MAX);
	size_t name_len = strnlen(contact->name, AS_CONTACT_NAME_MAX);
	int rc;

	plain[0] = 1;
	plain[1] = (uint8_t)phone_len;
	memcpy(plain + 2, contact->phone, phone_len);
	plain[18] = (uint8_t)name_len;
	memcpy(plain + 19, contact->name, name_len);
	rc = crypto_box_seal(capsule, plain, sizeof plain, contact_pk) ? AS_E_CRYPTO : 0;
	sodium_memzero(plain, sizeof plain);
	return rc;
}

int as_capsule_open(struct as_contact *out, const uint8_t capsule[AS_CAPSULE_LEN],
		    const uint8_t contact_pk[AS_BOX_PK_LEN],
		    const uint8_t contact_sk[AS_BOX_SK_LEN])
{
	uint8_t plain[AS_CAPSULE_PLAIN_LEN];
	int rc = 0;

	memset(out, 0, sizeof *out);
	if (crypto_box_seal_open(plain, capsule, AS_CAPSULE_LEN, contact_pk, contact_sk))
		return AS_E_CAPSULE;
	if (plain[0] != 1 || plain[1] == 0 || plain[1] > AS_PHONE_MAX ||
	    plain[18] > AS_CONTACT_NAME_MAX ||
	    memchr(plain + 2, 0, plain[1]) || memchr(plain + 19, 0, plain[18])) {
		rc = AS_E_CORRUPT;
	} else {
		char normalized[AS_PHONE_MAX + 1];
		memcpy(out->phone, plain + 2, plain[1]);
		memcpy(out->name, plain + 19, plain[18]);
		/* The pid is derived from this phone: it must already be in the
		 * one normalized form, or the same person would get two pids. */
		if (as_phone_normalize(normalized, out->phone) != 0 ||
		    strcmp(normalized, out->phone) != 0) {
			sodium_memzero(out, sizeof *out);
			rc = AS_E_CORRUPT;
		}
		sodium_memzero(normalized, sizeof normalized);
	}
	sodium_memzero(plain, sizeof plain);
	return rc;
}
