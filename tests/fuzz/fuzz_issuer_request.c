/*
 * fuzz_issuer_request.c - the issuer API's JSON bodies (cloud/issuer/
 * issuer_request.c), as anshim-issuerd reads them: the first byte picks the
 * request (0 /v1/enrol/start, 1 /v1/enrol/finish, 2 /v1/tokens), the rest
 * is the body.
 *
 * Properties: a refusal has a reason word and a message and leaves the
 * output zeroed; an accepted start has a normalized phone ("+" and 4..15
 * digits) and a valid Ed25519 point; an accepted finish has 6 digits and a
 * consent version >= 1; an accepted tokens body has an enrolment that
 * encodes back to a valid credential and 1..4096 request bytes.
 */
#include "fuzz.h"

#include "issuer_request.h"

#include "anshim/enrolment.h"
#include "anshim/error.h"

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static void refused(int rc, const char *reason, const char *msg, const void *out, size_t n)
{
	if (rc != AS_E_FIELD)
		fuzz_fail("a parser answered %d", rc);
	if (!reason || !reason[0] || !msg[0])
		fuzz_fail("a refusal without a reason or a message");
	if (!all_zero(out, n))
		fuzz_fail("a refused request left fields set (%s)", reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct is_tokens_body tokens;
	struct is_start_request start;
	struct is_finish_request finish;
	const char *reason = NULL;
	char msg[512] = "";
	int rc;

	if (size < 1)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 3) {
	case 0:
		rc = is_request_parse_start(body, len, &start, &reason, msg, sizeof msg);
		if (rc) {
			refused(rc, reason, msg, &start, sizeof start);
			break;
		}
		size_t pl = strlen(start.phone);
		if (start.phone[0] != '+' || pl < 5 || pl > AS_PHONE_MAX ||
		    strspn(start.phone + 1, "0123456789") != pl - 1)
			fuzz_fail("accepted phone is not normalized");
		if (crypto_core_ed25519_is_valid_point(start.holder_pk) != 1)
			fuzz_fail("accepted holder key is not a point");
		break;
	case 1:
		rc = is_request_parse_finish(body, len, &finish, &reason, msg, sizeof msg);
		if (rc) {
			refused(rc, reason, msg, &finish, sizeof finish);
			break;
		}
		if (strlen(finish.code) != 6 || strspn(finish.code, "0123456789") != 6)
			fuzz_fail("accepted code is not 6 digits");
		if (finish.consent_version < 1)
			fuzz_fail("accepted consent version 0");
		break;
	default:
		rc = is_request_parse_tokens(body, len, &tokens, &reason, msg, sizeof msg);
		if (rc) {
			refused(rc, reason, msg, &tokens, sizeof tokens);
			break;
		}
		uint8_t raw[AS_ENROLMENT_LEN];
		struct as_enrolment again;
		if (as_enrolment_encode(raw, sizeof raw, &tokens.enrolment) != AS_ENROLMENT_LEN ||
		    as_enrolment_decode(&again, raw, sizeof raw) != 0)
			fuzz_fail("accepted enrolment does not round-trip");
		if (tokens.request_len < 1 || tokens.request_len > IS_TOKEN_REQUEST_RAW_MAX)
			fuzz_fail("request length %zu", tokens.request_len);
		break;
	}
	return 0;
}
