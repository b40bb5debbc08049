/*
 * fuzz_policy.c - the authority's signed policy as gateways and wallets
 * receive it (as_policy_decode with the vectors' authority key).
 *
 * Properties: a failed decode owns nothing (LeakSanitizer checks); a
 * policy that decodes has a level in 1..4, finds every gateway and holder
 * on its own lists, and is signed again to exactly the same bytes.
 */
#include "fuzz.h"

#include "anshim/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_policy p;
	uint8_t *out;
	size_t need;
	int n;

	if (as_policy_decode(&p, data, size, fuzz_k.auth_pk) != 0)
		return 0;
	if (p.alert_level < 1 || p.alert_level > 4)
		fuzz_fail("policy decodes with level %u", p.alert_level);
	for (uint32_t i = 0; i < p.n_revoked_gateways; i++)
		if (!as_policy_gateway_revoked(&p, p.revoked_gateways[i]))
			fuzz_fail("revoked gateway %u not found", i);
	for (uint32_t i = 0; i < p.n_revoked_holders; i++)
		if (!as_policy_holder_revoked(&p, p.revoked_holders[i]))
			fuzz_fail("revoked holder %u not found", i);
	need = as_policy_size(&p);
	out = malloc(need ? need : 1);
	if (!out)
		abort();
	n = as_policy_encode(out, need, &p, fuzz_k.auth_sk);
	fuzz_same_bytes("policy", n, out, data, size);
	free(out);
	as_policy_free(&p);
	return 0;
}
