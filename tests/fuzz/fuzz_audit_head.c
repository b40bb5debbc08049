/*
 * fuzz_audit_head.c - the witnessed audit head as anshim-cloudd and
 * 'anshim-cloud audit verify --witness' read it from the broker
 * (cl_audit_head_decode with the vectors' audit key, seed 07, for version
 * 2 entries and their authority key, seed 01, for version 1).
 *
 * Properties: a head that decodes and verifies has seq >= 1 and encodes
 * back to exactly the same bytes; a head that fails is zeroed.
 */
#include "fuzz.h"

#include "anshim/error.h"

#include "audithead.h"

/* Made on the first input, read-only afterwards. */
static struct cl_audit_keys log_keys;
static int log_keys_made;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cl_audit_head zero;
	struct cl_audit_head head;
	uint8_t out[CL_AUDIT_HEAD_LEN];

	if (!log_keys_made) {
		uint8_t seed[32], sk[64];

		memset(seed, 0x07, sizeof seed);
		crypto_sign_seed_keypair(log_keys.audit_pk, sk, seed);
		memcpy(log_keys.sign_pk, fuzz_k.auth_pk, sizeof log_keys.sign_pk);
		log_keys.has_sign = 1;
		log_keys_made = 1;
	}
	if (cl_audit_head_decode(&head, data, size, &log_keys) != 0) {
		if (memcmp(&head, &zero, sizeof head) != 0)
			fuzz_fail("audit head: a refused head left fields behind");
		return 0;
	}
	if (head.seq == 0 || (head.version != 1 && head.version != 2))
		fuzz_fail("audit head: decoded with seq 0 or an unknown entry version");
	fuzz_same_bytes("audit head", cl_audit_head_encode(out, sizeof out, &head), out, data,
			size);
	return 0;
}
