/*
 * test_policy.c - the authority's signed policy (common/src/policy.c):
 * round trips with and without revocation lists (up to the maximum),
 * encoder checks, framing, the two list counts, the alert level, the
 * signature, ownership of decoded lists and the revocation look-ups.
 */
#include "test.h"

#include "anshim/policy.h"

/* Field offsets (policy.h). */
#define OFF_LEVEL 18
#define OFF_N_GW 51
#define OFF_GWS 55

static struct test_keys keys;
static uint8_t gws[4][16], holders[4][16];

static int dec_policy(const uint8_t *in, size_t len)
{
	struct as_policy p;
	int rc = as_policy_decode(&p, in, len, keys.auth_pk);

	if (rc == 0)
		as_policy_free(&p);
	else if (p.revoked_gateways || p.revoked_holders || p.n_revoked_gateways ||
		 p.n_revoked_holders)
		return -9999; /* a failed decode must leave nothing behind */
	return rc;
}

/* Encode the fixture policy with ngw and nh entries into buf (malloc'd). */
static uint8_t *make_policy(uint32_t ngw, uint32_t nh, size_t *len)
{
	struct as_policy p;
	uint8_t *buf;
	int rc;

	test_policy_make(&keys, &p, gws, ngw, holders, nh);
	*len = as_policy_size(&p);
	buf = malloc(*len);
	if (!buf)
		abort();
	rc = as_policy_encode(buf, *len, &p, keys.auth_sk);
	if (rc != (int)*len) {
		fprintf(stderr, "as_policy_encode: %s\n", as_errname(rc));
		abort();
	}
	return buf;
}

/* Re-sign bytes after patching them, as a hostile authority could. */
static void resign(uint8_t *msg, size_t len)
{
	crypto_sign_detached(msg + len - AS_SIG_LEN, NULL, msg, len - AS_SIG_LEN, keys.auth_sk);
}

static void check_round_trip(uint32_t ngw, uint32_t nh)
{
	struct as_policy back;
	size_t len;
	uint8_t *a = make_policy(ngw, nh, &len), *b = malloc(len);

	test_ctx("%u gateways, %u holders", ngw, nh);
	CHECK_EQ_INT(len, AS_POLICY_FIXED_LEN + 16 * (ngw + nh));
	if (b && CHECK_OK(as_policy_decode(&back, a, len, keys.auth_pk))) {
		CHECK(back.policy_seq == 7 && back.issued_at == TEST_NOW);
		CHECK_EQ_INT(back.alert_level, 3);
		CHECK_MEM(back.contact_pk, keys.contact_pk, AS_BOX_PK_LEN);
		CHECK_EQ_INT(back.n_revoked_gateways, ngw);
		CHECK_EQ_INT(back.n_revoked_holders, nh);
		if (ngw)
			CHECK_MEM(back.revoked_gateways, gws, 16 * ngw);
		else
			CHECK(back.revoked_gateways == NULL);
		if (nh)
			CHECK_MEM(back.revoked_holders, holders, 16 * nh);
		CHECK_RC(as_policy_encode(b, len, &back, keys.auth_sk), (int)len);
		CHECK_MEM(a, b, len);
		as_policy_free(&back);
		CHECK(back.revoked_gateways == NULL && back.n_revoked_gateways == 0);
		as_policy_free(&back); /* twice is harmless */
	}
	free(a);
	free(b);
	test_ctx_clear();
}

static void test_round_trips(void)
{
	check_round_trip(0, 0);
	check_round_trip(2, 0);
	check_round_trip(0, 3);
	check_round_trip(2, 3);
	check_round_trip(4, 4);
}

static void test_largest_policy(void)
{
	struct as_policy p, back;
	uint8_t (*list)[16] = calloc(AS_POLICY_MAX_REVOKED, 16);
	uint8_t *buf = malloc(AS_POLICY_MAX_BYTES);
	uint8_t probe[16];

	if (!CHECK(list && buf))
		goto out;
	test_policy_make(&keys, &p, NULL, 0, NULL, 0);
	for (uint32_t i = 0; i < AS_POLICY_MAX_REVOKED; i++)
		memcpy(list[i], &i, sizeof i);
	p.n_revoked_gateways = p.n_revoked_holders = AS_POLICY_MAX_REVOKED;
	p.revoked_gateways = p.revoked_holders = list;
	CHECK_EQ_INT(as_policy_size(&p), AS_POLICY_MAX_BYTES);
	CHECK_RC(as_policy_encode(buf, AS_POLICY_MAX_BYTES, &p, keys.auth_sk),
		 AS_POLICY_MAX_BYTES);
	if (CHECK_OK(as_policy_decode(&back, buf, AS_POLICY_MAX_BYTES, keys.auth_pk))) {
		memcpy(probe, list[AS_POLICY_MAX_REVOKED - 1], 16);
		CHECK(as_policy_gateway_revoked(&back, probe));
		CHECK(as_policy_holder_revoked(&back, probe));
		as_policy_free(&back);
	}
	/* One entry more is refused by the encoder. */
	p.n_revoked_holders = AS_POLICY_MAX_REVOKED + 1;
	CHECK_RC(as_policy_encode(buf, AS_POLICY_MAX_BYTES, &p, keys.auth_sk), AS_E_LENGTH);
	p.n_revoked_holders = 0;
	p.n_revoked_gateways = UINT32_MAX;
	CHECK_RC(as_policy_encode(buf, AS_POLICY_MAX_BYTES, &p, keys.auth_sk), AS_E_LENGTH);
out:
	free(list);
	free(buf);
}

static void test_encode_checks(void)
{
	struct as_policy p;
	uint8_t buf[AS_POLICY_FIXED_LEN + 2 * 16];
	size_t len = AS_POLICY_FIXED_LEN + 2 * 16;

	test_policy_make(&keys, &p, gws, 1, holders, 1);
	for (int level = 0; level < 256; level++) {
		p.alert_level = (uint8_t)level;
		test_ctx("level %d", level);
		CHECK_RC(as_policy_encode(buf, sizeof buf, &p, keys.auth_sk),
			 level >= 1 && level <= 4 ? (int)len : AS_E_FIELD);
	}
	test_ctx_clear();
	p.alert_level = 4;
	for (size_t cap = 0; cap < len; cap++) {
		uint8_t *exact = malloc(cap);
		int rc = as_policy_encode(exact, cap, &p, keys.auth_sk);

		free(exact);
		test_ctx("capacity %zu", cap);
		if (!CHECK_RC(rc, AS_E_OVERSIZE))
			break;
	}
	test_ctx_clear();
}

/* Where a truncated policy with 2 gateways and 3 holders fails: a cut
 * inside a revocation list is reported as a bad count (the count promises
 * more entries than there are bytes), anywhere else as truncation. */
static size_t trunc_ngw = 2, trunc_nh = 3;

static int truncation_code(size_t n)
{
	size_t gws_end = OFF_GWS + 16 * trunc_ngw;
	size_t holders_at = gws_end + 4, holders_end = holders_at + 16 * trunc_nh;

	if (n >= OFF_GWS && n < gws_end)
		return AS_E_LENGTH;
	if (n >= holders_at && n < holders_end)
		return AS_E_LENGTH;
	return AS_E_TRUNCATED;
}

static void test_framing(void)
{
	size_t len;
	uint8_t *msg = make_policy(2, 3, &len);

	test_check_truncations("policy", dec_policy, msg, len, truncation_code);
	test_check_framing("policy", dec_policy, msg, len, AS_POLICY_MAX_BYTES + 1);
	free(msg);
	/* With empty lists every cut is a plain truncation. */
	msg = make_policy(0, 0, &len);
	test_check_truncations("empty policy", dec_policy, msg, len, NULL);
	test_check_framing("empty policy", dec_policy, msg, len, AS_POLICY_MAX_BYTES + 1);
	free(msg);
}

/* Decode a copy of msg with a count field patched (and re-signed, so only
 * the framing can fail). */
static int decode_count(const uint8_t *msg, size_t len, size_t off, uint32_t v)
{
	uint8_t *copy = malloc(len);
	int rc;

	if (!copy)
		abort();
	memcpy(copy, msg, len);
	test_put_le(copy, off, 4, v);
	resign(copy, len);
	rc = test_decode_copy(dec_policy, copy, len);
	free(copy);
	return rc;
}

static void test_count_fields(void)
{
	size_t len;
	uint8_t *msg = make_policy(2, 3, &len);
	size_t off_nh = OFF_GWS + 2 * 16;

	CHECK_OK(decode_count(msg, len, OFF_N_GW, 2));
	/* Counts beyond the maximum or the bytes present. */
	CHECK_RC(decode_count(msg, len, OFF_N_GW, AS_POLICY_MAX_REVOKED + 1), AS_E_LENGTH);
	CHECK_RC(decode_count(msg, len, OFF_N_GW, UINT32_MAX), AS_E_LENGTH);
	CHECK_RC(decode_count(msg, len, OFF_N_GW, 1000), AS_E_LENGTH);
	CHECK_RC(decode_count(msg, len, off_nh, AS_POLICY_MAX_REVOKED + 1), AS_E_LENGTH);
	CHECK_RC(decode_count(msg, len, off_nh, 8), AS_E_LENGTH);
	/* Shifting the boundary between the lists: the gateway list swallows
	 * the holder count, or a gateway entry is read as the holder count. */
	CHECK_RC(decode_count(msg, len, OFF_N_GW, 3), AS_E_LENGTH);
	CHECK_RC(decode_count(msg, len, OFF_N_GW, 1), AS_E_LENGTH);
	/* One holder more eats into the signature; one fewer leaves bytes. */
	CHECK_RC(decode_count(msg, len, off_nh, 4), AS_E_TRUNCATED);
	CHECK_RC(decode_count(msg, len, off_nh, 2), AS_E_TRAILING);
	CHECK_RC(decode_count(msg, len, off_nh, 0), AS_E_TRAILING);
	free(msg);
}

static void test_alert_level_and_signature(void)
{
	size_t len;
	uint8_t *msg = make_policy(1, 1, &len);
	uint8_t *bad = malloc(len);
	struct as_policy p;
	int signature = 0;

	if (!CHECK(bad != NULL))
		goto out;
	/* Levels outside 1..4, even when properly signed. */
	for (int level = 0; level < 256; level++) {
		memcpy(bad, msg, len);
		bad[OFF_LEVEL] = (uint8_t)level;
		resign(bad, len);
		test_ctx("level %d", level);
		CHECK_RC(test_decode_copy(dec_policy, bad, len),
			 level >= 1 && level <= 4 ? 0 : AS_E_FIELD);
	}
	test_ctx_clear();
	/* Wrong key. */
	CHECK_RC(as_policy_decode(&p, msg, len, keys.other_pk), AS_E_SIGNATURE);
	CHECK(p.revoked_gateways == NULL && p.n_revoked_gateways == 0);
	/* Every byte outside the framing fields is signed. */
	for (size_t at = 2; at < len; at++) {
		int rc;

		if (at == OFF_LEVEL || (at >= OFF_N_GW && at < OFF_GWS) ||
		    (at >= OFF_GWS + 16 && at < OFF_GWS + 20))
			continue; /* level and counts: checked as fields, above */
		memcpy(bad, msg, len);
		bad[at] ^= 0x20;
		rc = test_decode_copy(dec_policy, bad, len);
		test_ctx("byte %zu flipped", at);
		CHECK_RC(rc, AS_E_SIGNATURE);
		signature += rc == AS_E_SIGNATURE;
	}
	test_ctx_clear();
	CHECK_EQ_INT(signature, len - 2 - 1 - 8);
out:
	free(bad);
	free(msg);
}

static void test_revocation_lookups(void)
{
	struct as_policy p, empty;
	size_t len;
	uint8_t *msg = make_policy(2, 3, &len);
	uint8_t id[16];

	if (!CHECK_OK(as_policy_decode(&p, msg, len, keys.auth_pk)))
		goto out;
	CHECK(as_policy_gateway_revoked(&p, gws[0]));
	CHECK(as_policy_gateway_revoked(&p, gws[1]));
	CHECK(!as_policy_gateway_revoked(&p, gws[2]));
	CHECK(as_policy_holder_revoked(&p, holders[2]));
	CHECK(!as_policy_holder_revoked(&p, gws[0])); /* lists are separate */
	CHECK(!as_policy_gateway_revoked(&p, holders[0]));
	memcpy(id, gws[0], 16);
	id[15] ^= 1;
	CHECK(!as_policy_gateway_revoked(&p, id));
	as_policy_free(&p);
	/* A zeroed policy has empty lists and frees safely. */
	memset(&empty, 0, sizeof empty);
	CHECK(!as_policy_gateway_revoked(&empty, gws[0]));
	CHECK(!as_policy_holder_revoked(&empty, holders[0]));
	as_policy_free(&empty);
out:
	free(msg);
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_round_trips);
	TEST_RUN(test_largest_policy);
	TEST_RUN(test_encode_checks);
	TEST_RUN(test_framing);
	TEST_RUN(test_count_fields);
	TEST_RUN(test_alert_level_and_signature);
	TEST_RUN(test_revocation_lookups);
	return TEST_DONE();
}
