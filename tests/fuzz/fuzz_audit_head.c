/*
 * fuzz_audit_head.c - the witnessed audit head as anshim-cloudd and
 * 'anshim-cloud audit verify --witness' read it from the broker
 * (cl_audit_head_decode with the vectors' authority key as the key that
 * signs the log).
 *
 * Properties: a head that decodes and verifies has seq >= 1 and encodes
 * back to exactly the same bytes; a head that fails is zeroed.
 */
#include "fuzz.h"

#include "anshim/error.h"

#include "audithead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cl_audit_head zero;
	struct cl_audit_head head;
	uint8_t out[CL_AUDIT_HEAD_LEN];

	if (cl_audit_head_decode(&head, data, size, fuzz_k.auth_pk) != 0) {
		if (memcmp(&head, &zero, sizeof head) != 0)
			fuzz_fail("audit head: a refused head left fields behind");
		return 0;
	}
	if (head.seq == 0)
		fuzz_fail("audit head: decoded with seq 0");
	fuzz_same_bytes("audit head", cl_audit_head_encode(out, sizeof out, &head), out, data,
			size);
	return 0;
}
