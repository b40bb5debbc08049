/*
 * fuzz_policy.c - the authority's signed policy as gateways and wallets
 * receive it (as_policy_decode with the vectors' authority key).
 *
 * Properties: a failed decode owns nothing (LeakSanitizer checks); a
 * policy that decodes has a level in 1..4, finds every gateway and holder
 * on its own lists, every issuer key, category level and gateway category
 * of its sections, and (unless it held sections of unknown type, which are
 * skipped) is signed again to exactly the same bytes.
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
	for (uint32_t i = 0; i < p.n_issuer_keys; i++)
		if (!as_policy_issuer_known(&p, p.issuer_keys[i]))
			fuzz_fail("issuer key %u not found", i);
	for (uint32_t i = 0; i < p.n_category_levels; i++)
		if (as_policy_category_check(p.category_levels[i].name) ||
		    as_policy_min_level(&p, p.category_levels[i].name) !=
			    p.category_levels[i].min_level)
			fuzz_fail("category %u breaks its rules", i);
	for (uint32_t i = 0; i < p.n_gateway_categories; i++)
		if (as_policy_gateway_category(&p, p.gateway_categories[i].gw_id) !=
		    p.gateway_categories[i].category)
			fuzz_fail("gateway category %u not found", i);
	if (p.v1_until_set && p.v1_passes_until < 0)
		fuzz_fail("negative v1 deadline");
	if (p.n_unknown_sections) {
		as_policy_free(&p);
		return 0;
	}
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
