/*
 * fuzz_venue_code.c - a venue code (poster or rotating) as a phone scans
 * it and the cloud reads it: the binary decoder and the QR text parser
 * ("AV1:" + Base45) on the same input, and the signature check.
 *
 * Properties: whatever decodes encodes back to the same bytes (binary) or
 * text; a decoded poster's name is NUL-terminated within its bound; a
 * signature check answers 0 or AS_E_SIGNATURE.
 */
#include "fuzz.h"

#include "anshim/error.h"
#include "anshim/venuecode.h"

static void check_code(const struct as_venue_code *c)
{
	const uint8_t *pk = c->type == AS_VC_POSTER ? fuzz_k.auth_pk : fuzz_k.device_pk;
	int rc;

	if (c->type != AS_VC_POSTER && c->type != AS_VC_ROTATING)
		fuzz_fail("venue code of type %u decodes", c->type);
	if (memchr(c->name, '\0', sizeof c->name) == NULL)
		fuzz_fail("venue name not terminated");
	rc = as_venue_code_verify(c, pk);
	if (rc != 0 && rc != AS_E_SIGNATURE)
		fuzz_fail("venue code verify answered %d", rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_venue_code c;
	uint8_t bin[AS_VENUE_CODE_MAX];
	char text[AS_VENUE_CODE_TEXT_MAX];

	if (as_venue_code_decode(&c, data, size) == 0) {
		check_code(&c);
		fuzz_same_bytes("venue code", as_venue_code_encode(bin, sizeof bin, &c), bin, data,
				size);
	}
	if (as_venue_code_from_text(&c, (const char *)data, size) == 0) {
		check_code(&c);
		fuzz_same_bytes("venue code text", as_venue_code_to_text(text, sizeof text, &c),
				text, data, size);
	}
	return 0;
}
