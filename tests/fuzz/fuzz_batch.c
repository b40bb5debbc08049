/*
 * fuzz_batch.c - a signed batch as the cloud receives it: the gateway id
 * peek, the strict decoder (versions 1 and 2) with the chain seals, their
 * digests, the chain verdict and the signature check with the vectors'
 * device key.
 *
 * Properties: a batch that decodes has count records numbered first_seq..
 * last_seq and the peeked gateway id; its chain verdict is one of the
 * four; a version 2 batch that also verifies is encoded back (Ed25519 is
 * deterministic) to exactly the same bytes (version 1 is never encoded).
 */
#include "fuzz.h"

#include "anshim/batch.h"
#include "anshim/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_batch_header hdr, again;
	struct as_record *recs;
	uint8_t (*digests)[AS_CHAIN_LEN], (*unsealed)[AS_CHAIN_LEN];
	uint8_t gw_id[AS_GWID_LEN];
	uint8_t *out;
	size_t cap, at = 0;
	int peek, rc, n;
	enum as_chain_verdict verdict;

	peek = as_batch_peek_gateway(gw_id, data, size);
	/* room for every record the input could hold, at most the maximum:
	 * a batch claiming more fails either way */
	cap = size / AS_BATCH_V1_ENTRY_LEN + 1;
	if (cap > AS_BATCH_MAX_RECORDS)
		cap = AS_BATCH_MAX_RECORDS;
	recs = malloc(cap * sizeof *recs);
	digests = malloc(cap * sizeof *digests);
	unsealed = malloc(cap * sizeof *unsealed);
	if (!recs || !digests || !unsealed)
		abort();
	rc = as_batch_decode_chained(&hdr, recs, digests, cap, data, size);
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
		if (data[1] == AS_BATCH_VERSION) {
			/* the cloud's window, around the batch's own time
			 * (clamped so the window's ends cannot overflow) */
			int64_t t = hdr.created > INT64_MAX / 2 || hdr.created < INT64_MIN / 2
					    ? 0
					    : hdr.created;

			memcpy(unsealed, digests, hdr.count * sizeof *digests);
			as_chain_unseal(recs, unsealed, hdr.count);
			verdict = as_chain_verify(hdr.chain_prev, hdr.chain_head, recs,
						  (const uint8_t(*)[AS_CHAIN_LEN])unsealed,
						  hdr.count, t - 56 * 86400, t + 300, &at);
			if (verdict != AS_CHAIN_INTACT && verdict != AS_CHAIN_HEAD_MISMATCH &&
			    !((verdict == AS_CHAIN_RECORD_CHANGED ||
			       verdict == AS_CHAIN_EARLY_PLACEHOLDER) && at < hdr.count))
				fuzz_fail("chain verdict %d at %zu", (int)verdict, at);
		}
	}
	if (rc == 0 && data[1] == AS_BATCH_VERSION &&
	    as_batch_verify(data, size, fuzz_k.device_pk) == 0) {
		out = malloc(size);
		if (!out)
			abort();
		again = hdr;
		n = as_batch_encode_chained(out, size, &again, recs,
					    (const uint8_t(*)[AS_CHAIN_LEN])digests, hdr.count,
					    fuzz_k.device_sk);
		fuzz_same_bytes("signed batch", n, out, data, size);
		free(out);
	}
	free(unsealed);
	free(digests);
	free(recs);
	return 0;
}
