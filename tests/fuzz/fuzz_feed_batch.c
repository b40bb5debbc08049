/*
 * fuzz_feed_batch.c - an issuer's capsule batch as anshim-cloudd receives
 * it (cloud/capsulewire.c: cl_feed_peek_issuer, then cl_feed_decode with
 * the vectors' issuer key, seed 06).
 *
 * Properties: a batch that decodes and verifies names the issuer the peek
 * found, holds 1..64 issues (each of serial >= 1 and 1..64 tokens) and a
 * seq >= 1, and is signed again
 * (Ed25519 is deterministic) to exactly the same bytes.
 */
#include "fuzz.h"

#include "capsulewire.h"

static uint8_t issuer_pk[AS_SIGN_PK_LEN], issuer_sk[AS_SIGN_SK_LEN];
static int issuer_made;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cl_feed_issue issues[CL_FEED_MAX_ISSUES];
	static uint8_t out[CL_FEED_MAX_LEN];
	struct cl_feed_batch b = {.issues = issues};
	uint8_t peeked[CL_ISSUER_ID_LEN];

	if (!issuer_made) {
		uint8_t seed[32];

		memset(seed, 0x06, sizeof seed);
		crypto_sign_seed_keypair(issuer_pk, issuer_sk, seed);
		issuer_made = 1;
	}
	if (cl_feed_decode(&b, CL_FEED_MAX_ISSUES, data, size, issuer_pk) != 0)
		return 0;
	if (cl_feed_peek_issuer(peeked, data, size) != 0 ||
	    memcmp(peeked, b.issuer_id, CL_ISSUER_ID_LEN) != 0)
		fuzz_fail("capsule batch: the peek disagrees with the decoder");
	if (b.count < 1 || b.count > CL_FEED_MAX_ISSUES || b.seq == 0)
		fuzz_fail("capsule batch: count or seq out of range");
	for (size_t i = 0; i < b.count; i++)
		if (b.issues[i].serial == 0 || b.issues[i].count < 1 ||
		    b.issues[i].count > CL_ISSUE_MAX_TOKENS)
			fuzz_fail("capsule batch: an issue out of range");
	fuzz_same_bytes("capsule batch", cl_feed_encode(out, sizeof out, &b, issuer_sk), out, data,
			size);
	return 0;
}
