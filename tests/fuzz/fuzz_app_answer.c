/*
 * fuzz_app_answer.c - the cloud's signed answer to a wallet's check-in, as
 * the wallet receives it (as_app_answer_decode, vectors' authority key).
 *
 * Properties: a decoded answer has names for its status and reason and is
 * signed again to exactly the same bytes.
 */
#include "fuzz.h"

#include "anshim/appcheckin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_app_answer a;
	uint8_t out[AS_APP_ANSWER_LEN];

	if (as_app_answer_decode(&a, data, size, fuzz_k.auth_pk) != 0)
		return 0;
	if (strcmp(as_app_status_name(a.status), "unknown") == 0 ||
	    strcmp(as_app_reason_name(a.reason), "unknown") == 0)
		fuzz_fail("answer decodes with status %u reason %u", a.status, a.reason);
	fuzz_same_bytes("app answer", as_app_answer_encode(out, sizeof out, &a, fuzz_k.auth_sk),
			out, data, size);
	return 0;
}
