/*
 * fuzz_token.c - visit tokens and version 2 passes (common/src/token.c):
 * the token, pass v2, token request and token batch decoders on the same
 * input, and, for an input that starts with "AP2:", the gateway's offline
 * verification against a policy listing the vectors' issuer key.
 *
 * Properties: whatever decodes encodes back to the same bytes; the issuer
 * check of a decoded token answers 0 or AS_E_ISSUER_SIG, the holder check
 * of a request 0 or AS_E_HOLDER_SIG; a verified pass has a reason word
 * for its answer, an unexpired token and a time within the freshness
 * window, and prints back to the same text; a refused one leaves nothing
 * in the output.
 */
#include "fuzz.h"

#include "anshim/credential.h"
#include "anshim/error.h"
#include "anshim/token.h"

static void check_issuer(const struct as_token *t)
{
	int rc = as_token_verify_issuer(t, fuzz_k.issuer_pk);

	if (rc != 0 && rc != AS_E_ISSUER_SIG)
		fuzz_fail("issuer check answered %d", rc);
}

static void verify_text(const uint8_t *data, size_t size)
{
	static const struct as_pass2 zero;
	uint8_t keys[1][AS_SIGN_PK_LEN];
	struct as_policy policy;
	struct as_pass2_verify_params params = {&policy, FUZZ_NOW, FUZZ_FRESHNESS};
	struct as_pass2 out;
	char text[AS_PASS2_TEXT_LEN + 1];
	int rc;

	memset(&policy, 0, sizeof policy);
	memcpy(keys[0], fuzz_k.issuer_pk, AS_SIGN_PK_LEN);
	policy.n_issuer_keys = 1;
	policy.issuer_keys = keys;
	rc = as_pass2_verify_text(&out, (const char *)data, size, &params);
	if (!as_scan_reason(rc))
		fuzz_fail("no reason word for %d", rc);
	if (rc) {
		if (memcmp(&out, &zero, sizeof out) != 0)
			fuzz_fail("a refused pass left fields in the output (%d)", rc);
		return;
	}
	if (out.token.expires_at <= FUZZ_NOW ||
	    out.timestamp > FUZZ_NOW + FUZZ_FRESHNESS || out.timestamp < FUZZ_NOW - FUZZ_FRESHNESS)
		fuzz_fail("accepted an expired or stale pass");
	rc = as_pass2_to_text(text, sizeof text, &out);
	if (rc < 0 || (size_t)rc != size || memcmp(text, data, size) != 0)
		fuzz_fail("an accepted pass does not print back to its text");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[AS_TOKEN_BATCH_MAX_LEN];
	static struct as_token_batch batch;
	struct as_token token;
	struct as_pass2 pass;
	struct as_token_request req;
	int rc;

	if (as_pass2_is_text((const char *)data, size)) {
		verify_text(data, size);
		return 0;
	}
	if (as_token_decode(&token, data, size) == 0) {
		fuzz_same_bytes("token", as_token_encode(out, sizeof out, &token), out, data, size);
		check_issuer(&token);
	}
	if (as_pass2_decode(&pass, data, size) == 0) {
		fuzz_same_bytes("pass v2", as_pass2_encode(out, sizeof out, &pass), out, data, size);
		check_issuer(&pass.token);
	}
	if (as_token_request_decode(&req, data, size) == 0) {
		fuzz_same_bytes("token request", as_token_request_encode(out, sizeof out, &req), out,
				data, size);
		rc = as_token_request_verify(&req);
		if (rc != 0 && rc != AS_E_HOLDER_SIG)
			fuzz_fail("holder check answered %d", rc);
	}
	if (as_token_batch_decode(&batch, data, size) == 0) {
		fuzz_same_bytes("token batch", as_token_batch_encode(out, sizeof out, &batch), out,
				data, size);
		for (unsigned i = 0; i < batch.n; i++)
			check_issuer(&batch.tokens[i]);
	}
	return 0;
}
