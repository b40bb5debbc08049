/*
 * fuzz_reveal_scope.c - the trace scope of a reveal service request (the
 * JSON object every log_trace, ask and break_glass carries), as
 * anshim-revealed decodes it before it runs a trace or writes an audit
 * entry: the input is parsed as JSON (duplicate keys refused, as the
 * service does) and given to cl_revealwire_scope_from_json.
 *
 * Properties: a scope that decodes has a pid, a window from <= to, depth
 * 1..3, durations in range, a reason of 1..255 bytes and a case reference
 * of at most 63, all terminated; encoding it again and decoding that gives
 * the same scope; a refusal says why.
 */
#include "fuzz.h"

#include "revealwire.h"

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_reveal_scope sc, again;
	json_error_t je;
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je), *back;
	char why[256] = "";
	int rc;

	if (!j)
		return 0;
	rc = cl_revealwire_scope_from_json(j, &sc, why, sizeof why);
	json_decref(j);
	if (rc) {
		if (!why[0])
			fuzz_fail("a refused scope without a reason");
		return 0;
	}
	if (sc.params.from > sc.params.to || sc.params.from < 0)
		fuzz_fail("window %lld..%lld", (long long)sc.params.from, (long long)sc.params.to);
	if (sc.params.depth < 1 || sc.params.depth > CL_TRACE_DEPTH_MAX)
		fuzz_fail("depth %u", sc.params.depth);
	if (sc.params.risk_period <= 0 || sc.params.min_overlap < 0 || sc.params.incubation < 0)
		fuzz_fail("a duration out of range");
	if (!memchr(sc.reason, '\0', sizeof sc.reason) || !sc.reason[0] ||
	    !memchr(sc.case_ref, '\0', sizeof sc.case_ref))
		fuzz_fail("reason or case_ref not a string of its size");
	back = cl_revealwire_scope_to_json(&sc);
	if (!back)
		fuzz_fail("encoding a decoded scope failed");
	if (cl_revealwire_scope_from_json(back, &again, why, sizeof why) != 0)
		fuzz_fail("a decoded scope does not decode again: %s", why);
	json_decref(back);
	if (memcmp(&sc.params, &again.params, sizeof sc.params) != 0 ||
	    strcmp(sc.reason, again.reason) != 0 || strcmp(sc.case_ref, again.case_ref) != 0)
		fuzz_fail("the scope changed on a round trip");
	return 0;
}
