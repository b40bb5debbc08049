/*
 * fuzz_feed_ack.c - the cloud's ack of a capsule batch as an issuer
 * receives it (cloud/capsulewire.c: cl_feed_ack_decode with the vectors'
 * authority key).
 *
 * Property: an ack that decodes and verifies is signed again to exactly
 * the same bytes.
 */
#include "fuzz.h"

#include "capsulewire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_feed_ack a;
	uint8_t out[CL_FEED_ACK_LEN];

	if (cl_feed_ack_decode(&a, data, size, fuzz_k.auth_pk) != 0)
		return 0;
	fuzz_same_bytes("capsule feed ack", cl_feed_ack_encode(out, &a, fuzz_k.auth_sk), out, data,
			size);
	return 0;
}
