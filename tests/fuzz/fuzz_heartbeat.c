/*
 * fuzz_heartbeat.c - a gateway's signed heartbeat as the cloud receives
 * it: the strict decoder, then the signature check with the vectors'
 * device key.
 *
 * Properties: a decoded heartbeat keeps the decoder's field rules (clock
 * state named, interval 1..86400, up_since not after sent_at, journal use
 * within its size); one that also verifies is signed again to exactly the
 * same bytes.
 */
#include "fuzz.h"

#include "anshim/heartbeat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_heartbeat hb;
	uint8_t out[AS_HEARTBEAT_LEN];

	if (as_heartbeat_decode(&hb, data, size) != 0)
		return 0;
	if (strcmp(as_clock_state_name(hb.clock_state), "unknown") == 0 || hb.interval < 1 ||
	    hb.interval > AS_HEARTBEAT_INTERVAL_MAX || hb.up_since > hb.sent_at ||
	    hb.journal_used > hb.journal_size)
		fuzz_fail("heartbeat decodes against its field rules");
	if (as_heartbeat_verify(data, size, fuzz_k.device_pk) != 0)
		return 0;
	fuzz_same_bytes("heartbeat",
			as_heartbeat_encode(out, sizeof out, &hb, fuzz_k.device_sk), out, data,
			size);
	return 0;
}
