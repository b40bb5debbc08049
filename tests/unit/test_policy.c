/*
 * test_policy.c - the authority's signed policy (common/src/policy.c):
 * round trips with and without revocation lists (up to the maximum),
 * encoder checks, framing, the two list counts, the alert level, the
 * signature, ownership of decoded lists and the revocation look-ups;
 * version 2 sections (issuer keys, v1-pass deadline, category levels,
 * gateway categories): round trip, strict rejection of every malformed
 * section, unknown types skipped, the encoder's rules and the look-ups.
 */
#include "test.h"

#include "anshim/bytes.h"
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

/* A distinct 24-byte category name for i. */
static void long_name(char out[AS_CATEGORY_MAX + 1], uint32_t i)
{
	memset(out, 'a', AS_CATEGORY_MAX);
	out[AS_CATEGORY_MAX] = '\0';
	for (int d = 0; d < 6; d++, i /= 10)
		out[AS_CATEGORY_MAX - 1 - d] = (char)('0' + i % 10);
}

static void test_largest_policy(void)
{
	struct as_policy p, back;
	uint8_t (*list)[16] = calloc(AS_POLICY_MAX_REVOKED, 16);
	uint8_t (*ikeys)[32] = calloc(AS_POLICY_MAX_ISSUER_KEYS, 32);
	struct as_policy_category *cats = calloc(AS_POLICY_MAX_CATEGORIES, sizeof *cats);
	struct as_policy_gateway_category *gcs =
		calloc(AS_POLICY_MAX_GATEWAY_CATEGORIES, sizeof *gcs);
	uint8_t *buf = malloc(AS_POLICY_MAX_BYTES);
	uint8_t probe[16];

	if (!CHECK(list && buf && ikeys && cats && gcs))
		goto out;
	test_policy_make(&keys, &p, NULL, 0, NULL, 0);
	for (uint32_t i = 0; i < AS_POLICY_MAX_REVOKED; i++)
		memcpy(list[i], &i, sizeof i);
	p.n_revoked_gateways = p.n_revoked_holders = AS_POLICY_MAX_REVOKED;
	p.revoked_gateways = p.revoked_holders = list;
	for (uint32_t i = 0; i < AS_POLICY_MAX_ISSUER_KEYS; i++)
		memcpy(ikeys[i], &i, sizeof i);
	for (uint32_t i = 0; i < AS_POLICY_MAX_CATEGORIES; i++) {
		long_name(cats[i].name, i);
		cats[i].min_level = (uint8_t)(1 + i % 4);
	}
	for (uint32_t i = 0; i < AS_POLICY_MAX_GATEWAY_CATEGORIES; i++) {
		as_put_be32(gcs[i].gw_id, i);
		long_name(gcs[i].category, i % 7);
	}
	p.n_issuer_keys = AS_POLICY_MAX_ISSUER_KEYS;
	p.issuer_keys = ikeys;
	p.v1_until_set = 1;
	p.v1_passes_until = TEST_NOW;
	p.n_category_levels = AS_POLICY_MAX_CATEGORIES;
	p.category_levels = cats;
	p.n_gateway_categories = AS_POLICY_MAX_GATEWAY_CATEGORIES;
	p.gateway_categories = gcs;
	CHECK_EQ_INT(as_policy_size(&p), AS_POLICY_MAX_BYTES);
	CHECK_RC(as_policy_encode(buf, AS_POLICY_MAX_BYTES, &p, keys.auth_sk),
		 AS_POLICY_MAX_BYTES);
	if (CHECK_OK(as_policy_decode(&back, buf, AS_POLICY_MAX_BYTES, keys.auth_pk))) {
		memcpy(probe, list[AS_POLICY_MAX_REVOKED - 1], 16);
		CHECK(as_policy_gateway_revoked(&back, probe));
		CHECK(as_policy_holder_revoked(&back, probe));
		CHECK(as_policy_issuer_known(&back, ikeys[AS_POLICY_MAX_ISSUER_KEYS - 1]));
		CHECK_EQ_INT(as_policy_min_level(&back, cats[255].name), 4);
		CHECK_STR(as_policy_gateway_category(&back, gcs[65535].gw_id), gcs[65535].category);
		as_policy_free(&back);
	}
	/* One entry more is refused by the encoder. */
	p.n_issuer_keys++;
	CHECK_RC(as_policy_encode(buf, AS_POLICY_MAX_BYTES, &p, keys.auth_sk), AS_E_LENGTH);
	p.n_issuer_keys--;
	p.n_category_levels++;
	CHECK_RC(as_policy_encode(buf, AS_POLICY_MAX_BYTES, &p, keys.auth_sk), AS_E_LENGTH);
	p.n_category_levels--;
	p.n_gateway_categories++;
	CHECK_RC(as_policy_encode(buf, AS_POLICY_MAX_BYTES, &p, keys.auth_sk), AS_E_LENGTH);
	p.n_gateway_categories--;
	p.n_revoked_holders = AS_POLICY_MAX_REVOKED + 1;
	CHECK_RC(as_policy_encode(buf, AS_POLICY_MAX_BYTES, &p, keys.auth_sk), AS_E_LENGTH);
	p.n_revoked_holders = 0;
	p.n_revoked_gateways = UINT32_MAX;
	CHECK_RC(as_policy_encode(buf, AS_POLICY_MAX_BYTES, &p, keys.auth_sk), AS_E_LENGTH);
out:
	free(list);
	free(ikeys);
	free(cats);
	free(gcs);
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
	test_check_framing_old("policy", dec_policy, msg, len, AS_POLICY_MAX_BYTES + 1,
			       AS_POLICY_VERSION_2);
	free(msg);
	/* With empty lists every cut is a plain truncation. */
	msg = make_policy(0, 0, &len);
	test_check_truncations("empty policy", dec_policy, msg, len, NULL);
	test_check_framing_old("empty policy", dec_policy, msg, len, AS_POLICY_MAX_BYTES + 1,
			       AS_POLICY_VERSION_2);
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

/* ---- version 2 sections ---- */

static uint8_t ikeys2[2][32];
static struct as_policy_category cats3[3] = {
	{"restaurant", 2}, {"cafe", 3}, {"public-office", 4},
};
static struct as_policy_gateway_category gcats3[3];

/* The fixture policy with 1 revoked gateway, 1 revoked holder and all four
 * sections. */
static void v2_fixture(struct as_policy *p)
{
	test_policy_make(&keys, p, gws, 1, holders, 1);
	test_fill(ikeys2[0], 32, 60);
	test_fill(ikeys2[1], 32, 61);
	p->n_issuer_keys = 2;
	p->issuer_keys = ikeys2;
	p->v1_until_set = 1;
	p->v1_passes_until = TEST_NOW + 30 * 86400;
	p->n_category_levels = 3;
	p->category_levels = cats3;
	for (int i = 0; i < 3; i++) {
		memset(gcats3[i].gw_id, 0x10 * (i + 1), 16);
		snprintf(gcats3[i].category, sizeof gcats3[i].category, "%s", cats3[2 - i].name);
	}
	p->n_gateway_categories = 3;
	p->gateway_categories = gcats3;
}

static uint8_t *encode_or_die(const struct as_policy *p, size_t *len)
{
	uint8_t *buf;
	int rc;

	*len = as_policy_size(p);
	buf = malloc(*len);
	if (!buf)
		abort();
	rc = as_policy_encode(buf, *len, p, keys.auth_sk);
	if (rc != (int)*len) {
		fprintf(stderr, "as_policy_encode: %s\n", as_errname(rc));
		abort();
	}
	return buf;
}

static void test_v2_round_trip(void)
{
	struct as_policy p, back;
	size_t len;
	uint8_t *msg, *again;

	v2_fixture(&p);
	msg = encode_or_die(&p, &len);
	CHECK_EQ_INT(msg[1], AS_POLICY_VERSION_2);
	/* fixed + 2 list entries + count + 4 section heads + bodies */
	CHECK_EQ_INT(len, AS_POLICY_FIXED_LEN + 32 + 1 + 4 * 5 + 64 + 8 +
			  (2 + 10 + 2 + 4 + 2 + 13) + 3 * 17 + 13 + 4 + 10);
	if (!CHECK_OK(as_policy_decode(&back, msg, len, keys.auth_pk)))
		goto out;
	CHECK_EQ_INT(back.n_issuer_keys, 2);
	CHECK_MEM(back.issuer_keys, ikeys2, 64);
	CHECK(back.v1_until_set && back.v1_passes_until == TEST_NOW + 30 * 86400);
	CHECK_EQ_INT(back.n_category_levels, 3);
	CHECK_STR(back.category_levels[2].name, "public-office");
	CHECK_EQ_INT(back.category_levels[2].min_level, 4);
	CHECK_EQ_INT(back.n_gateway_categories, 3);
	CHECK_STR(back.gateway_categories[0].category, "public-office");
	CHECK_EQ_INT(back.n_unknown_sections, 0);
	CHECK_EQ_INT(back.n_revoked_gateways, 1);
	CHECK_EQ_INT(back.n_revoked_holders, 1);
	again = malloc(len);
	if (CHECK(again != NULL)) {
		CHECK_RC(as_policy_encode(again, len, &back, keys.auth_sk), (int)len);
		CHECK_MEM(again, msg, len);
	}
	free(again);
	/* Any one section alone is version 2 too; none is version 1. */
	for (int only = 1; only <= 4; only++) {
		struct as_policy q;
		uint8_t *m;
		size_t n;

		v2_fixture(&q);
		if (only != 1) q.n_issuer_keys = 0;
		if (only != 2) q.v1_until_set = 0;
		if (only != 3) q.n_category_levels = 0;
		if (only != 4) q.n_gateway_categories = 0;
		m = encode_or_die(&q, &n);
		test_ctx("only section %d", only);
		CHECK_EQ_INT(m[1], 2);
		CHECK_OK(test_decode_copy(dec_policy, m, n));
		free(m);
	}
	test_ctx_clear();
	as_policy_free(&back);
	/* The look-ups. */
	v2_fixture(&p);
	CHECK(as_policy_issuer_known(&p, ikeys2[1]));
	CHECK(!as_policy_issuer_known(&p, keys.auth_pk));
	CHECK_EQ_INT(as_policy_min_level(&p, "restaurant"), 2);
	CHECK_EQ_INT(as_policy_min_level(&p, "public-office"), 4);
	CHECK_EQ_INT(as_policy_min_level(&p, "bar"), AS_POLICY_DEFAULT_MIN_LEVEL);
	CHECK_EQ_INT(as_policy_min_level(&p, NULL), AS_POLICY_DEFAULT_MIN_LEVEL);
	CHECK_EQ_INT(as_policy_min_level(&p, ""), AS_POLICY_DEFAULT_MIN_LEVEL);
	CHECK_STR(as_policy_gateway_category(&p, gcats3[1].gw_id), "cafe");
	CHECK(as_policy_gateway_category(&p, gws[0]) == NULL);
	CHECK(as_policy_v1_accepted(&p, TEST_NOW));
	CHECK(!as_policy_v1_accepted(&p, TEST_NOW + 30 * 86400));
	p.v1_passes_until = 0;
	CHECK(!as_policy_v1_accepted(&p, 0));
	CHECK(!as_policy_v1_accepted(&p, TEST_NOW));
	p.v1_until_set = 0;
	CHECK(as_policy_v1_accepted(&p, TEST_NOW + 10 * 365 * 86400LL));
out:
	free(msg);
}

/* Where a cut of a version 2 policy fails: inside a list or a section body
 * the count or length promises more than there is (AS_E_LENGTH); anywhere
 * else the input just ends (AS_E_TRUNCATED). */
static size_t v2_bodies[8][2];
static int v2_n_bodies;

static int v2_truncation_code(size_t n)
{
	for (int i = 0; i < v2_n_bodies; i++)
		if (n >= v2_bodies[i][0] && n < v2_bodies[i][1])
			return AS_E_LENGTH;
	return AS_E_TRUNCATED;
}

static void test_v2_framing(void)
{
	struct as_policy p;
	size_t len, at;
	uint8_t *msg;
	uint8_t nsec;

	v2_fixture(&p);
	msg = encode_or_die(&p, &len);
	v2_n_bodies = 0;
	v2_bodies[v2_n_bodies][0] = OFF_GWS;
	v2_bodies[v2_n_bodies++][1] = OFF_GWS + 16;
	v2_bodies[v2_n_bodies][0] = OFF_GWS + 16 + 4;
	v2_bodies[v2_n_bodies++][1] = OFF_GWS + 16 + 4 + 16;
	at = OFF_GWS + 16 + 4 + 16;
	nsec = msg[at++];
	CHECK_EQ_INT(nsec, 4);
	for (int i = 0; i < nsec; i++) {
		uint32_t slen = (uint32_t)msg[at + 1] | (uint32_t)msg[at + 2] << 8 |
				(uint32_t)msg[at + 3] << 16 | (uint32_t)msg[at + 4] << 24;

		CHECK_EQ_INT(msg[at], i + 1);
		v2_bodies[v2_n_bodies][0] = at + 5;
		v2_bodies[v2_n_bodies++][1] = at + 5 + slen;
		at += 5 + slen;
	}
	CHECK_EQ_INT(at + AS_SIG_LEN, len);
	test_check_truncations("v2 policy", dec_policy, msg, len, v2_truncation_code);
	test_check_framing_old("v2 policy", dec_policy, msg, len, AS_POLICY_MAX_BYTES + 1,
			       AS_POLICY_VERSION);
	free(msg);
}

/* A version 2 policy built by hand: the fixed fields with empty lists,
 * then n_sections and the raw section bytes, signed.  Returns the decode
 * result; *out_policy receives the policy when it decodes (caller frees). */
static int raw_v2(uint8_t n_sections, const uint8_t *sec, size_t sec_len,
		  struct as_policy *out_policy)
{
	struct as_policy p, got;
	size_t head = AS_POLICY_FIXED_LEN - AS_SIG_LEN, len = head + 1 + sec_len + AS_SIG_LEN;
	uint8_t *msg = malloc(len);
	int rc;

	if (!msg)
		abort();
	test_policy_make(&keys, &p, NULL, 0, NULL, 0);
	if (as_policy_encode(msg, len, &p, keys.auth_sk) != AS_POLICY_FIXED_LEN)
		abort();
	msg[1] = AS_POLICY_VERSION_2;
	msg[head] = n_sections;
	memcpy(msg + head + 1, sec, sec_len);
	resign(msg, len);
	rc = as_policy_decode(&got, msg, len, keys.auth_pk);
	if (rc && (got.issuer_keys || got.category_levels || got.gateway_categories ||
		   got.n_issuer_keys || got.n_category_levels || got.n_gateway_categories))
		rc = -9999; /* a failed decode must leave nothing behind */
	if (!rc && out_policy)
		*out_policy = got;
	else if (!rc)
		as_policy_free(&got);
	free(msg);
	return rc;
}

/* Append a section to buf at *at. */
static void put_section(uint8_t *buf, size_t *at, uint8_t type, uint32_t len,
			const void *body, size_t body_len)
{
	buf[(*at)++] = type;
	test_put_le(buf, *at, 4, len);
	*at += 4;
	memcpy(buf + *at, body, body_len);
	*at += body_len;
}

/* One section (type, body) alone: the decode result. */
static int one_section(uint8_t type, const void *body, size_t len)
{
	uint8_t *buf = malloc(5 + len);
	size_t at = 0;
	int rc;

	if (!buf)
		abort();
	put_section(buf, &at, type, (uint32_t)len, body, len);
	rc = raw_v2(1, buf, at, NULL);
	free(buf);
	return rc;
}

static void test_v2_malformed(void)
{
	uint8_t buf[512], key[64], i64[8];
	struct as_policy got;
	size_t at;

	test_fill(key, 64, 70);
	/* Section count and framing. */
	CHECK_RC(raw_v2(0, (const uint8_t *)"", 0, NULL), AS_E_LENGTH); /* no section */
	{
		/* The count promises a section the bytes do not hold: the
		 * signature is read as a section header, which cannot fit. */
		int rc = raw_v2(1, (const uint8_t *)"", 0, NULL);

		CHECK(rc == AS_E_LENGTH || rc == AS_E_FIELD);
	}
	at = 0;
	put_section(buf, &at, 1, 32, key, 32);
	CHECK_OK(raw_v2(1, buf, at, NULL));
	{
		int rc = raw_v2(2, buf, at, NULL);                  /* count too high */

		CHECK(rc == AS_E_LENGTH || rc == AS_E_FIELD);
	}
	/* A body one byte short, or a length one byte long, eats into the
	 * signature, which is then one byte short. */
	CHECK_RC(raw_v2(1, buf, at - 1, NULL), AS_E_TRUNCATED);
	at = 0;
	put_section(buf, &at, 1, 33, key, 32);
	CHECK_RC(raw_v2(1, buf, at, NULL), AS_E_TRUNCATED);
	at = 0;
	put_section(buf, &at, 1, 32 + AS_SIG_LEN + 1, key, 32);     /* past the end */
	CHECK_RC(raw_v2(1, buf, at, NULL), AS_E_LENGTH);
	at = 0;
	put_section(buf, &at, 1, UINT32_MAX, key, 32);
	CHECK_RC(raw_v2(1, buf, at, NULL), AS_E_LENGTH);
	CHECK_RC(one_section(1, key, 0), AS_E_LENGTH);              /* empty */
	CHECK_RC(one_section(0, key, 32), AS_E_FIELD);              /* type 0 */
	/* Order: repeated, descending. */
	at = 0;
	put_section(buf, &at, 1, 32, key, 32);
	put_section(buf, &at, 1, 32, key + 32, 32);
	CHECK_RC(raw_v2(2, buf, at, NULL), AS_E_FIELD);
	at = 0;
	test_put_le(i64, 0, 8, (uint64_t)TEST_NOW);
	put_section(buf, &at, 2, 8, i64, 8);
	put_section(buf, &at, 1, 32, key, 32);
	CHECK_RC(raw_v2(2, buf, at, NULL), AS_E_FIELD);
	/* Unknown types are skipped, in order, and counted. */
	at = 0;
	put_section(buf, &at, 1, 32, key, 32);
	put_section(buf, &at, 9, 5, "hello", 5);
	put_section(buf, &at, 200, 1, "x", 1);
	if (CHECK_OK(raw_v2(3, buf, at, &got))) {
		CHECK_EQ_INT(got.n_unknown_sections, 2);
		CHECK_EQ_INT(got.n_issuer_keys, 1);
		CHECK_MEM(got.issuer_keys[0], key, 32);
		as_policy_free(&got);
	}
	at = 0;
	put_section(buf, &at, 9, 5, "hello", 5);
	put_section(buf, &at, 3, 6, "\4cafe\3", 6);
	CHECK_RC(raw_v2(2, buf, at, NULL), AS_E_FIELD);             /* known after unknown */
	CHECK_RC(one_section(9, key, 0), AS_E_LENGTH);              /* empty unknown */
	/* 1: issuer keys. */
	CHECK_OK(one_section(1, key, 64));
	CHECK_RC(one_section(1, key, 31), AS_E_LENGTH);
	CHECK_RC(one_section(1, key, 40), AS_E_LENGTH);
	memcpy(buf, key, 32);
	memcpy(buf + 32, key, 32);
	CHECK_RC(one_section(1, buf, 64), AS_E_FIELD);              /* duplicate */
	{
		uint8_t many[(AS_POLICY_MAX_ISSUER_KEYS + 1) * 32];

		for (size_t k = 0; k < sizeof many / 32; k++)
			test_fill(many + 32 * k, 32, (unsigned)(100 + k));
		CHECK_OK(one_section(1, many, sizeof many - 32));
		CHECK_RC(one_section(1, many, sizeof many), AS_E_LENGTH);
	}
	/* 2: v1 passes until. */
	if (CHECK_OK(raw_v2(1, (const uint8_t *)"\2\10\0\0\0\0\0\0\0\0\0\0\0", 13,
			    &got))) {
		CHECK(got.v1_until_set && got.v1_passes_until == 0);
		as_policy_free(&got);
	}
	CHECK_RC(one_section(2, i64, 7), AS_E_LENGTH);
	CHECK_RC(one_section(2, key, 9), AS_E_LENGTH);
	test_put_le(i64, 0, 8, (uint64_t)-1);
	CHECK_RC(one_section(2, i64, 8), AS_E_FIELD);
	/* 3: category levels. */
	CHECK_OK(one_section(3, "\4cafe\3\3bar\4", 11));
	CHECK_RC(one_section(3, "\4Cafe\3", 6), AS_E_FIELD);       /* upper case */
	CHECK_RC(one_section(3, "\4ca e\3", 6), AS_E_FIELD);
	CHECK_RC(one_section(3, "\4ca\0e\3", 6), AS_E_FIELD);     /* NUL inside */
	CHECK_RC(one_section(3, "\0\3", 2), AS_E_FIELD);           /* empty name */
	CHECK_RC(one_section(3, "\4cafe\0", 6), AS_E_FIELD);       /* level 0 */
	CHECK_RC(one_section(3, "\4cafe\5", 6), AS_E_FIELD);       /* level 5 */
	CHECK_RC(one_section(3, "\4cafe\3\4cafe\2", 12), AS_E_FIELD); /* twice */
	CHECK_RC(one_section(3, "\4cafe", 5), AS_E_LENGTH);         /* no level */
	CHECK_RC(one_section(3, "\5cafe", 5), AS_E_LENGTH);         /* name past end */
	{
		char e[2 + 25];

		e[0] = 25;
		memset(e + 1, 'a', 25);
		e[26] = 3;
		CHECK_RC(one_section(3, e, 27), AS_E_FIELD);           /* 25 bytes */
		e[0] = 24;
		e[25] = 3;
		CHECK_OK(one_section(3, e, 26));
	}
	/* 4: gateway categories. */
	{
		uint8_t g[2 * 21];

		memset(g, 0x11, 16);
		memcpy(g + 16, "\4cafe", 5);
		memset(g + 21, 0x22, 16);
		memcpy(g + 37, "\4cafe", 5);
		CHECK_OK(one_section(4, g, 42));
		CHECK_RC(one_section(4, g, 41), AS_E_LENGTH);
		CHECK_RC(one_section(4, g, 30), AS_E_LENGTH);
		CHECK_RC(one_section(4, g, 17), AS_E_LENGTH);
		g[21] = 0x11;                                           /* not ascending */
		memset(g + 21, 0x11, 16);
		CHECK_RC(one_section(4, g, 42), AS_E_FIELD);
		memset(g + 21, 0x01, 16);
		CHECK_RC(one_section(4, g, 42), AS_E_FIELD);
		memset(g + 21, 0x22, 16);
		g[17] = 'C';
		CHECK_RC(one_section(4, g, 42), AS_E_FIELD);
		g[17] = 'c';
		g[16] = 0;
		CHECK_RC(one_section(4, g, 42), AS_E_FIELD);
	}
}

static void test_v2_encode_checks(void)
{
	struct as_policy p;
	struct as_policy_category bad[2];
	struct as_policy_gateway_category gc[3];
	uint8_t dup[2][32];
	uint8_t buf[2048];

	v2_fixture(&p);
	CHECK_RC(as_policy_encode(buf, sizeof buf, &p, keys.auth_sk), as_policy_size(&p));
	p.v1_passes_until = -1;
	CHECK_RC(as_policy_encode(buf, sizeof buf, &p, keys.auth_sk), AS_E_FIELD);
	v2_fixture(&p);
	memset(dup, 7, sizeof dup);
	p.issuer_keys = dup;
	CHECK_RC(as_policy_encode(buf, sizeof buf, &p, keys.auth_sk), AS_E_FIELD);
	v2_fixture(&p);
	p.category_levels = bad;
	p.n_category_levels = 1;
	strcpy(bad[0].name, "cafe");
	bad[0].min_level = 0;
	CHECK_RC(as_policy_encode(buf, sizeof buf, &p, keys.auth_sk), AS_E_FIELD);
	bad[0].min_level = 5;
	CHECK_RC(as_policy_encode(buf, sizeof buf, &p, keys.auth_sk), AS_E_FIELD);
	bad[0].min_level = 1;
	strcpy(bad[0].name, "Cafe");
	CHECK_RC(as_policy_encode(buf, sizeof buf, &p, keys.auth_sk), AS_E_FIELD);
	bad[0].name[0] = '\0';
	CHECK_RC(as_policy_encode(buf, sizeof buf, &p, keys.auth_sk), AS_E_FIELD);
	memset(bad[0].name, 'a', sizeof bad[0].name); /* not terminated */
	CHECK_RC(as_policy_encode(buf, sizeof buf, &p, keys.auth_sk), AS_E_FIELD);
	strcpy(bad[0].name, "cafe");
	bad[1] = bad[0];
	p.n_category_levels = 2;
	CHECK_RC(as_policy_encode(buf, sizeof buf, &p, keys.auth_sk), AS_E_FIELD);
	/* Gateway categories must be ascending; the sort helper fixes that and
	 * refuses a gateway listed twice. */
	v2_fixture(&p);
	gc[0] = gcats3[2];
	gc[1] = gcats3[0];
	gc[2] = gcats3[1];
	p.gateway_categories = gc;
	CHECK_RC(as_policy_encode(buf, sizeof buf, &p, keys.auth_sk), AS_E_FIELD);
	CHECK_OK(as_policy_sort_gateway_categories(&p));
	CHECK_MEM(gc, gcats3, sizeof gc);
	CHECK_RC(as_policy_encode(buf, sizeof buf, &p, keys.auth_sk), as_policy_size(&p));
	gc[2] = gc[0];
	CHECK_RC(as_policy_sort_gateway_categories(&p), AS_E_FIELD);
	strcpy(gc[0].category, "no way");
	CHECK_RC(as_policy_encode(buf, sizeof buf, &p, keys.auth_sk), AS_E_FIELD);
	/* Category names. */
	CHECK_OK(as_policy_category_check("a"));
	CHECK_OK(as_policy_category_check("karaoke-24h"));
	CHECK_OK(as_policy_category_check("abcdefghijklmnopqrstuvwx"));
	CHECK_RC(as_policy_category_check("abcdefghijklmnopqrstuvwxy"), AS_E_FIELD);
	CHECK_RC(as_policy_category_check(""), AS_E_FIELD);
	CHECK_RC(as_policy_category_check("caf\xc3\xa9"), AS_E_FIELD);
	CHECK_RC(as_policy_category_check("a_b"), AS_E_FIELD);
}

/* Every byte of a version 2 policy is signed: flipping one either breaks
 * a field rule or the signature, never passes. */
static void test_v2_signature(void)
{
	struct as_policy p;
	size_t len;
	uint8_t *msg, *bad;

	v2_fixture(&p);
	msg = encode_or_die(&p, &len);
	bad = malloc(len);
	if (!CHECK(bad != NULL))
		goto out;
	for (size_t at = 0; at < len; at++) {
		memcpy(bad, msg, len);
		bad[at] ^= 0x01;
		test_ctx("byte %zu flipped", at);
		if (!CHECK(test_decode_copy(dec_policy, bad, len) != 0))
			break;
	}
	test_ctx_clear();
	/* An issuer key byte: only the signature catches it. */
	memcpy(bad, msg, len);
	bad[OFF_GWS + 16 + 4 + 16 + 1 + 5] ^= 0x01;
	CHECK_RC(test_decode_copy(dec_policy, bad, len), AS_E_SIGNATURE);
	CHECK_RC(as_policy_decode(&p, msg, len, keys.other_pk), AS_E_SIGNATURE);
	CHECK(p.issuer_keys == NULL && p.n_issuer_keys == 0 && p.category_levels == NULL);
out:
	free(bad);
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
	TEST_RUN(test_v2_round_trip);
	TEST_RUN(test_v2_framing);
	TEST_RUN(test_v2_malformed);
	TEST_RUN(test_v2_encode_checks);
	TEST_RUN(test_v2_signature);
	return TEST_DONE();
}
