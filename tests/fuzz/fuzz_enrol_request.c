/*
 * fuzz_enrol_request.c - a gateway's self-service enrolment request as the
 * authority imports it: the binary decoder, and the text parser ("AE1:" +
 * Base45, signature checked) on the same input.
 *
 * Properties: whatever decodes encodes back to the same bytes (binary) or
 * text; the texts are NUL-terminated within their bounds; the signature
 * check answers 0 or AS_E_SIGNATURE, and a parsed text verifies.
 */
#include "fuzz.h"

#include "anshim/enrolreq.h"
#include "anshim/error.h"

static void check_request(const struct as_enrolreq *r)
{
	int rc;

	if (!memchr(r->name, '\0', sizeof r->name) || !memchr(r->address, '\0', sizeof r->address) ||
	    !memchr(r->category, '\0', sizeof r->category))
		fuzz_fail("enrolment request text not terminated");
	if (!r->name[0])
		fuzz_fail("enrolment request without a name decodes");
	if (r->dwell_minutes > 1440)
		fuzz_fail("dwell %u decodes", r->dwell_minutes);
	rc = as_enrolreq_verify(r);
	if (rc != 0 && rc != AS_E_SIGNATURE)
		fuzz_fail("enrolment request verify answered %d", rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_enrolreq r;
	uint8_t bin[AS_ENROLREQ_MAX];
	char text[AS_ENROLREQ_TEXT_MAX];

	if (as_enrolreq_decode(&r, data, size) == 0) {
		check_request(&r);
		fuzz_same_bytes("enrolment request", as_enrolreq_encode(bin, sizeof bin, &r), bin,
				data, size);
	}
	if (as_enrolreq_from_text(&r, (const char *)data, size) == 0) {
		check_request(&r);
		if (as_enrolreq_verify(&r) != 0)
			fuzz_fail("a parsed enrolment request does not verify");
		fuzz_same_bytes("enrolment request text", as_enrolreq_to_text(text, sizeof text, &r),
				text, data, size);
	}
	return 0;
}
