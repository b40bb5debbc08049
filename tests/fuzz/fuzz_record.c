/*
 * fuzz_record.c - the journal record decoder (as_record_decode), as the
 * gateway reads its journal and the cloud reads a batch's records.
 *
 * Property: whatever decodes encodes back to the same bytes, and its kind
 * has a name.
 */
#include "fuzz.h"

#include "anshim/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_record rec;
	uint8_t out[AS_RECORD_LEN];

	if (as_record_decode(&rec, data, size) != 0)
		return 0;
	fuzz_same_bytes("record", as_record_encode(out, sizeof out, &rec), out, data, size);
	if (strcmp(as_record_kind_name(rec.kind), "unknown") == 0)
		fuzz_fail("decoded a record of unknown kind %u", rec.kind);
	return 0;
}
