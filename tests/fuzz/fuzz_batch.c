/*
 * fuzz_batch.c - a signed batch as the cloud receives it: the gateway id
 * peek, the strict decoder and the signature check with the vectors'
 * device key.
 *
 * Properties: a batch that decodes has count records numbered first_seq..
 * last_seq and the peeked gateway id; one that also verifies is encoded
 * back (Ed25519 is deterministic) to exactly the same bytes.
 */
#include "fuzz.h"

#include "anshim/batch.h"
#include "anshim/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_batch_header hdr, again;
	struct as_record *recs;
	uint8_t gw_id[AS_GWID_LEN];
	uint8_t *out;
	size_t cap;
	int peek, rc, n;

	peek = as_batch_peek_gateway(gw_id, data, size);
	/* room for every record the input could hold, at most the maximum:
	 * a batch claiming more fails either way */
	cap = size / (2 + AS_RECORD_LEN) + 1;
	if (cap > AS_BATCH_MAX_RECORDS)
		cap = AS_BATCH_MAX_RECORDS;
	recs = malloc(cap * sizeof *recs);
	if (!recs)
		abort();
	rc = as_batch_decode(&hdr, recs, cap, data, size);
	if (rc == 0) {
		if (peek != 0 || memcmp(gw_id, hdr.gw_id, AS_GWID_LEN) != 0)
			fuzz_fail("batch decodes but its gateway id peek does not (%d)", peek);
		if (hdr.count < 1 || hdr.count != hdr.last_seq - hdr.first_seq + 1)
			fuzz_fail("batch decodes with count %u for %llu..%llu", hdr.count,
				  (unsigned long long)hdr.first_seq,
				  (unsigned long long)hdr.last_seq);
		for (uint32_t i = 0; i < hdr.count; i++)
			if (recs[i].seq != hdr.first_seq + i)
				fuzz_fail("record %u has seq %llu", i,
					  (unsigned long long)recs[i].seq);
	}
	if (as_batch_verify(data, size, fuzz_k.device_pk) == 0 && rc == 0) {
		out = malloc(size);
		if (!out)
			abort();
		again = hdr;
		n = as_batch_encode(out, size, &again, recs, hdr.count, fuzz_k.device_sk);
		fuzz_same_bytes("signed batch", n, out, data, size);
		free(out);
	}
	free(recs);
	return 0;
}
