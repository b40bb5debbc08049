/*
 * fuzz_ack.c - the cloud's signed ack as a gateway receives it
 * (as_ack_decode with the vectors' authority key).
 *
 * Property: an ack that decodes and verifies is signed again (Ed25519 is
 * deterministic) to exactly the same bytes.
 */
#include "fuzz.h"

#include "anshim/ack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_ack ack;
	uint8_t out[AS_ACK_LEN];

	if (as_ack_decode(&ack, data, size, fuzz_k.auth_pk) != 0)
		return 0;
	fuzz_same_bytes("ack", as_ack_encode(out, sizeof out, &ack, fuzz_k.auth_sk), out, data,
			size);
	return 0;
}
