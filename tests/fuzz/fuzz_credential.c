/*
 * fuzz_credential.c - the binary credential, pass and card decoders on the
 * same input (the bytes inside a QR text after Base45).
 *
 * Properties: whatever decodes encodes back to the same bytes; the issuer
 * check of a decoded credential answers 0 or AS_E_ISSUER_SIG.
 */
#include "fuzz.h"

#include "anshim/credential.h"
#include "anshim/error.h"

static void check_issuer(const struct as_credential *c)
{
	int rc = as_credential_verify_issuer(c, fuzz_k.auth_pk);

	if (rc != 0 && rc != AS_E_ISSUER_SIG)
		fuzz_fail("issuer check answered %d", rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_credential cred;
	struct as_pass pass;
	uint8_t out[AS_PASS_LEN];
	uint8_t id[AS_HOLDER_ID_LEN];

	if (as_credential_decode(&cred, data, size) == 0) {
		fuzz_same_bytes("credential", as_credential_encode(out, sizeof out, &cred), out,
				data, size);
		check_issuer(&cred);
		as_credential_id(id, &cred);
	}
	if (as_pass_decode(&pass, data, size) == 0) {
		fuzz_same_bytes("pass", as_pass_encode(out, sizeof out, &pass), out, data, size);
		check_issuer(&pass.cred);
	}
	if (as_card_decode(&cred, data, size) == 0) {
		fuzz_same_bytes("card", as_card_encode(out, sizeof out, &cred), out, data, size);
		check_issuer(&cred);
	}
	return 0;
}
