/*
 * fuzz_app_checkin.c - a wallet's check-in or check-out message as the
 * cloud receives it: the strict decoder (credential and venue code
 * inside), the verification with the vectors' authority key, and the
 * message id.
 *
 * Properties: whatever decodes encodes back to the same bytes; the
 * verification answers 0 or one of its documented errors.
 */
#include "fuzz.h"

#include "anshim/appcheckin.h"
#include "anshim/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_app_checkin m;
	uint8_t out[AS_APP_CHECKIN_MAX];
	uint8_t id[AS_APP_CHECKIN_ID_LEN];
	int rc;

	as_app_checkin_id(id, data, size);
	if (as_app_checkin_decode(&m, data, size) != 0)
		return 0;
	if (m.kind != AS_APP_CHECKIN && m.kind != AS_APP_CHECKOUT)
		fuzz_fail("app message of kind %u decodes", m.kind);
	fuzz_same_bytes("app check-in", as_app_checkin_encode(out, sizeof out, &m), out, data,
			size);
	rc = as_app_checkin_verify(&m, fuzz_k.auth_pk);
	if (rc != 0 && rc != AS_E_ISSUER_SIG && rc != AS_E_IS_CARD && rc != AS_E_NOT_YET &&
	    rc != AS_E_EXPIRED && rc != AS_E_HOLDER_SIG)
		fuzz_fail("app check-in verify answered %d", rc);
	return 0;
}
