/*
 * fuzz_scan_text.c - a scanned QR text (pass "AP1:", card "AC1:", any
 * other text) through the gateway's offline verification, as_scan_verify,
 * with the vectors' authority key at FUZZ_NOW.
 *
 * Properties: every input gets an answer and a reason word; an accepted
 * card, or an accepted pass of the vectors' holder (which can be signed
 * again), prints back to exactly the scanned text.
 */
#include "fuzz.h"

#include "anshim/credential.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_verify_params params = {fuzz_k.auth_pk, FUZZ_NOW, FUZZ_FRESHNESS};
	struct as_scan scan;
	struct as_pass pass;
	char text[AS_SCAN_TEXT_MAX];
	int rc, n;

	rc = as_scan_verify(&scan, (const char *)data, size, &params);
	if (!as_scan_reason(rc))
		fuzz_fail("no reason word for %d", rc);
	if (rc != 0)
		return 0;
	if (scan.kind == AS_SCAN_PASS) {
		/* Ed25519 is deterministic: a pass of the vectors' holder,
		 * made again, prints back to the same text. */
		if (memcmp(scan.cred.holder_pk, fuzz_k.holder_pk, AS_SIGN_PK_LEN) != 0)
			return 0;
		if (as_pass_make(&pass, &scan.cred, scan.timestamp, fuzz_k.holder_sk) != 0)
			fuzz_fail("accepted pass cannot be made again");
		n = as_pass_to_text(text, sizeof text, &pass);
		fuzz_same_bytes("pass text", n, text, data, size);
	} else if (scan.kind == AS_SCAN_CARD) {
		n = as_card_to_text(text, sizeof text, &scan.cred);
		fuzz_same_bytes("card text", n, text, data, size);
	} else {
		fuzz_fail("accepted scan of kind %d", (int)scan.kind);
	}
	return 0;
}
