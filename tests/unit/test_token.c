/*
 * test_token.c - visit tokens, token requests and batches, and version 2
 * passes (common/src/token.c): round trips and framing of all four
 * formats, minting (fresh random ids, the issuer's kid and signature),
 * issuer look-up in the policy, pass v2 verification (every single-byte
 * corruption, expiry, freshness bounds, a pass made with another person's
 * token key, unknown and wrong issuers, prefix, Base45 and size), the
 * expiry grain, and the QR version of a pass v2 (<= 10 at level M).
 */
#include "test.h"

#include "anshim/base45.h"
#include "anshim/qr.h"
#include "anshim/token.h"

static struct test_keys keys;
static uint8_t issuer_pk[32], issuer_sk[64], issuer2_pk[32], issuer2_sk[64];
static uint8_t token_pk[32], token_sk[64], other_token_pk[32], other_token_sk[64];
static uint8_t issuer_list[2][32];
static struct as_policy policy;

#define EXPIRES (TEST_NOW + 7 * 86400)

/* Pass v2 byte ranges (token.h). */
#define P2_KID 2
#define P2_ID 6
#define P2_EXPIRES 22
#define P2_TOKEN_PK 26
#define P2_ISSUER_SIG 58
#define P2_TIMESTAMP 122
#define P2_TOKEN_SIG 126

static void setup(void)
{
	test_keys_init(&keys);
	test_sign_keypair(issuer_pk, issuer_sk, 50);
	test_sign_keypair(issuer2_pk, issuer2_sk, 51);
	test_sign_keypair(token_pk, token_sk, 52);
	test_sign_keypair(other_token_pk, other_token_sk, 53);
	test_policy_make(&keys, &policy, NULL, 0, NULL, 0);
	memcpy(issuer_list[0], issuer_pk, 32);
	policy.n_issuer_keys = 1;
	policy.issuer_keys = issuer_list;
}

static void mint(struct as_token *t)
{
	if (as_token_mint(t, NULL, token_pk, EXPIRES, issuer_pk, issuer_sk) != 0)
		abort();
}

/* A pass v2 text of a fresh token at `at`. */
static int pass_text(char *text, size_t cap, int64_t at, struct as_pass2 *out)
{
	struct as_token t;
	struct as_pass2 p;

	mint(&t);
	if (as_pass2_make(&p, &t, at, token_sk) != 0)
		abort();
	if (out)
		*out = p;
	return as_pass2_to_text(text, cap, &p);
}

static int verify_at(const char *text, size_t len, int64_t now, const struct as_policy *pol)
{
	struct as_pass2_verify_params params = {pol, now, TEST_FRESHNESS};
	struct as_pass2 out;

	return as_pass2_verify_text(&out, text, len, &params);
}

static int verify(const char *text)
{
	return verify_at(text, strlen(text), TEST_NOW, &policy);
}

static int dec_token(const uint8_t *in, size_t len)
{
	struct as_token t;

	return as_token_decode(&t, in, len);
}

static int dec_pass2(const uint8_t *in, size_t len)
{
	struct as_pass2 p;

	return as_pass2_decode(&p, in, len);
}

static int dec_request(const uint8_t *in, size_t len)
{
	struct as_token_request r;

	return as_token_request_decode(&r, in, len);
}

static int dec_batch(const uint8_t *in, size_t len)
{
	static struct as_token_batch b;

	return as_token_batch_decode(&b, in, len);
}

static void test_token_codec(void)
{
	struct as_token t, back;
	uint8_t buf[AS_TOKEN_LEN], again[AS_TOKEN_LEN];

	mint(&t);
	CHECK_RC(as_token_encode(buf, sizeof buf, &t), AS_TOKEN_LEN);
	CHECK_EQ_INT(buf[0], 'O');
	CHECK_EQ_INT(buf[1], 1);
	CHECK_MEM(buf + 2, issuer_pk, 4);
	CHECK_MEM(buf + 6, t.token_id, 16);
	CHECK_MEM(buf + 26, token_pk, 32);
	CHECK(crypto_sign_verify_detached(buf + 58, buf, 58, issuer_pk) == 0);
	if (CHECK_OK(as_token_decode(&back, buf, sizeof buf))) {
		CHECK(back.expires_at == EXPIRES);
		CHECK_RC(as_token_encode(again, sizeof again, &back), AS_TOKEN_LEN);
		CHECK_MEM(again, buf, sizeof buf);
	}
	test_check_truncations("token", dec_token, buf, sizeof buf, NULL);
	test_check_framing("token", dec_token, buf, sizeof buf, 2 * AS_TOKEN_LEN + 1);
	/* expires_at 0 is refused; the encoder refuses what u32 cannot hold. */
	memset(buf + 22, 0, 4);
	CHECK_RC(dec_token(buf, sizeof buf), AS_E_FIELD);
	t.expires_at = 0;
	CHECK_RC(as_token_encode(buf, sizeof buf, &t), AS_E_FIELD);
	t.expires_at = (int64_t)UINT32_MAX + 1;
	CHECK_RC(as_token_encode(buf, sizeof buf, &t), AS_E_FIELD);
	t.expires_at = UINT32_MAX;
	CHECK_RC(as_token_encode(buf, sizeof buf, &t), AS_TOKEN_LEN);
	CHECK_RC(as_token_encode(buf, AS_TOKEN_LEN - 1, &t), AS_E_OVERSIZE);
	CHECK_RC(as_token_mint(&t, NULL, token_pk, 0, issuer_pk, issuer_sk), AS_E_FIELD);
}

/* Token ids: read back to their serial and index with the key alone; no
 * two ids of one issue share an 8-byte window; serials past 56 bits are
 * refused; a given id is minted as given. */
static void test_token_ids(void)
{
	static const uint64_t serials[] = {1, 2, 255, 256, UINT64_C(0x123456789abc),
					   AS_TOKEN_SERIAL_MAX};
	uint8_t key[AS_TOKEN_ID_KEY_LEN], other[AS_TOKEN_ID_KEY_LEN], ids[64][AS_TOKEN_ID_LEN];
	uint64_t serial;
	uint8_t index;

	randombytes_buf(key, sizeof key);
	memcpy(other, key, sizeof other);
	other[31] ^= 1;
	for (size_t s = 0; s < sizeof serials / sizeof serials[0]; s++)
		for (unsigned i = 0; i < 64; i++) {
			test_ctx("serial %llu index %u", (unsigned long long)serials[s], i);
			if (!CHECK_OK(as_token_id_derive(ids[i], key, serials[s], (uint8_t)i)))
				continue;
			as_token_id_open(&serial, &index, ids[i], key);
			CHECK(serial == serials[s] && index == i);
			as_token_id_open(&serial, &index, ids[i], other);
			CHECK(serial != serials[s] || index != i);
		}
	test_ctx_clear();
	/* the last serial's 64 ids: no 8-byte window in common */
	for (unsigned a = 0; a < 64; a++)
		for (unsigned b = a + 1; b < 64; b++)
			for (unsigned x = 0; x + 8 <= AS_TOKEN_ID_LEN; x++)
				for (unsigned y = 0; y + 8 <= AS_TOKEN_ID_LEN; y++)
					if (memcmp(ids[a] + x, ids[b] + y, 8) == 0) {
						test_ctx("ids %u and %u", a, b);
						CHECK(!"two ids of one issue share 8 bytes");
						test_ctx_clear();
					}
	CHECK_RC(as_token_id_derive(ids[0], key, AS_TOKEN_SERIAL_MAX + 1, 0), AS_E_FIELD);
	{
		struct as_token t;
		uint8_t pk[AS_SIGN_PK_LEN] = {1};

		CHECK_OK(as_token_id_derive(ids[1], key, 9, 3));
		if (CHECK_OK(as_token_mint(&t, ids[1], pk, EXPIRES, issuer_pk, issuer_sk))) {
			CHECK_MEM(t.token_id, ids[1], AS_TOKEN_ID_LEN);
			CHECK_OK(as_token_verify_issuer(&t, issuer_pk));
		}
	}
}

static void test_mint(void)
{
	struct as_token a, b;
	const uint8_t *found;
	uint8_t wrong_kid_list[1][32];
	struct as_policy other = policy;

	mint(&a);
	mint(&b);
	/* Same inputs, fresh random ids and so different signatures. */
	CHECK(memcmp(a.token_id, b.token_id, 16) != 0);
	CHECK(memcmp(a.issuer_sig, b.issuer_sig, 64) != 0);
	CHECK_MEM(a.issuer_kid, issuer_pk, 4);
	CHECK_OK(as_token_verify_issuer(&a, issuer_pk));
	CHECK_RC(as_token_verify_issuer(&a, issuer2_pk), AS_E_ISSUER_SIG);
	CHECK_OK(as_token_find_issuer(&a, &policy, &found));
	CHECK(found == policy.issuer_keys[0]);
	/* Two keys: the right one is found whichever comes first. */
	memcpy(issuer_list[0], issuer2_pk, 32);
	memcpy(issuer_list[1], issuer_pk, 32);
	policy.n_issuer_keys = 2;
	CHECK_OK(as_token_find_issuer(&a, &policy, &found));
	CHECK(found == policy.issuer_keys[1]);
	memcpy(issuer_list[0], issuer_pk, 32);
	policy.n_issuer_keys = 1;
	/* No key with the kid: unknown; a key with the kid that did not sign:
	 * bad signature. */
	other.issuer_keys = wrong_kid_list;
	memcpy(wrong_kid_list[0], issuer2_pk, 32);
	CHECK_RC(as_token_find_issuer(&a, &other, &found), AS_E_ISSUER_UNKNOWN);
	CHECK(found == NULL);
	memcpy(wrong_kid_list[0], issuer_pk, 4);
	CHECK_RC(as_token_find_issuer(&a, &other, &found), AS_E_ISSUER_SIG);
	other.n_issuer_keys = 0;
	CHECK_RC(as_token_find_issuer(&a, &other, &found), AS_E_ISSUER_UNKNOWN);
	/* Every signed field is covered. */
	b = a;
	b.token_id[3] ^= 1;
	CHECK_RC(as_token_verify_issuer(&b, issuer_pk), AS_E_ISSUER_SIG);
	b = a;
	b.expires_at++;
	CHECK_RC(as_token_verify_issuer(&b, issuer_pk), AS_E_ISSUER_SIG);
	b = a;
	b.token_pk[0] ^= 1;
	CHECK_RC(as_token_verify_issuer(&b, issuer_pk), AS_E_ISSUER_SIG);
}

static void test_expiry(void)
{
	CHECK(as_token_expiry(TEST_NOW, 7 * 86400) == TEST_NOW + 7 * 86400); /* midnight */
	CHECK(as_token_expiry(TEST_NOW + 1, 7 * 86400) == TEST_NOW + 8 * 86400);
	CHECK(as_token_expiry(TEST_NOW + 86399, 7 * 86400) == TEST_NOW + 8 * 86400);
	/* Everyone issued on one day shares the expiry. */
	CHECK(as_token_expiry(TEST_NOW + 3600, 86400) == as_token_expiry(TEST_NOW + 80000, 86400));
}

static void test_pass2_codec(void)
{
	struct as_pass2 p, back;
	uint8_t buf[AS_PASS2_LEN], again[AS_PASS2_LEN];
	char text[AS_PASS2_TEXT_LEN + 1];

	CHECK_RC(pass_text(text, sizeof text, TEST_NOW, &p), AS_PASS2_TEXT_LEN);
	CHECK_EQ_INT(strlen(text), 289);
	CHECK(strncmp(text, "AP2:", 4) == 0);
	CHECK_RC(as_pass2_encode(buf, sizeof buf, &p), AS_PASS2_LEN);
	CHECK_EQ_INT(buf[0], 'P');
	CHECK_EQ_INT(buf[1], 2);
	CHECK_MEM(buf + P2_ID, p.token.token_id, 16);
	CHECK_MEM(buf + P2_TOKEN_PK, token_pk, 32);
	CHECK(crypto_sign_verify_detached(buf + P2_TOKEN_SIG, buf, P2_TOKEN_SIG, token_pk) == 0);
	if (CHECK_OK(as_pass2_decode(&back, buf, sizeof buf))) {
		CHECK(back.timestamp == TEST_NOW);
		CHECK_RC(as_pass2_encode(again, sizeof again, &back), AS_PASS2_LEN);
		CHECK_MEM(again, buf, sizeof buf);
	}
	test_check_truncations("pass v2", dec_pass2, buf, sizeof buf, NULL);
	/* Version 1 is the other pass layout: AS_E_VERSION here too. */
	test_check_framing("pass v2", dec_pass2, buf, sizeof buf, 2 * AS_PASS2_LEN + 1);
	CHECK_RC(as_pass2_to_text(text, 4, &p), AS_E_OVERSIZE);
	CHECK_RC(as_pass2_to_text(text, AS_PASS2_TEXT_LEN, &p), AS_E_OVERSIZE);
	p.timestamp = -1;
	CHECK_RC(as_pass2_encode(buf, sizeof buf, &p), AS_E_FIELD);
	CHECK_RC(as_pass2_make(&p, &p.token, (int64_t)UINT32_MAX + 1, token_sk), AS_E_FIELD);
}

static void test_pass2_verify(void)
{
	char text[AS_PASS2_TEXT_LEN + 1];
	struct as_pass2_verify_params params = {&policy, TEST_NOW, TEST_FRESHNESS};
	struct as_pass2 p, out;
	struct as_token t;
	struct as_policy none = policy;
	uint8_t bin[AS_PASS2_LEN];
	size_t n = (size_t)pass_text(text, sizeof text, TEST_NOW, &p);
	int valid = 0;

	if (CHECK_OK(as_pass2_verify_text(&out, text, n, &params))) {
		CHECK_MEM(out.token.token_id, p.token.token_id, 16);
		CHECK(out.token.expires_at == EXPIRES && out.timestamp == TEST_NOW);
	}
	/* Freshness, both sides, at the bounds. */
	CHECK_OK(verify_at(text, n, TEST_NOW + TEST_FRESHNESS, &policy));
	CHECK_OK(verify_at(text, n, TEST_NOW - TEST_FRESHNESS, &policy));
	CHECK_RC(verify_at(text, n, TEST_NOW + TEST_FRESHNESS + 1, &policy), AS_E_STALE);
	CHECK_RC(verify_at(text, n, TEST_NOW - TEST_FRESHNESS - 1, &policy), AS_E_STALE);
	/* Expiry: valid up to the second before. */
	pass_text(text, sizeof text, EXPIRES - 1, NULL);
	CHECK_OK(verify_at(text, n, EXPIRES - 1, &policy));
	pass_text(text, sizeof text, EXPIRES, NULL);
	CHECK_RC(verify_at(text, n, EXPIRES, &policy), AS_E_EXPIRED);
	/* Another person's token: the pass is signed with a key that is not
	 * the token's. */
	mint(&t);
	CHECK_OK(as_pass2_make(&p, &t, TEST_NOW, other_token_sk));
	as_pass2_to_text(text, sizeof text, &p);
	CHECK_RC(verify(text), AS_E_TOKEN_SIG);
	CHECK_STR(as_scan_reason(AS_E_TOKEN_SIG), "bad-token-signature");
	/* An issuer the policy does not list, or a policy with none. */
	CHECK_OK(as_token_mint(&t, NULL, token_pk, EXPIRES, issuer2_pk, issuer2_sk));
	CHECK_OK(as_pass2_make(&p, &t, TEST_NOW, token_sk));
	as_pass2_to_text(text, sizeof text, &p);
	CHECK_RC(verify(text), AS_E_ISSUER_UNKNOWN);
	CHECK_STR(as_scan_reason(AS_E_ISSUER_UNKNOWN), "unknown-issuer");
	pass_text(text, sizeof text, TEST_NOW, &p);
	none.n_issuer_keys = 0;
	CHECK_RC(verify_at(text, n, TEST_NOW, &none), AS_E_ISSUER_UNKNOWN);
	/* Every single-byte corruption fails (and never crashes). */
	CHECK_RC(as_pass2_encode(bin, sizeof bin, &p), AS_PASS2_LEN);
	for (size_t at = 0; at < sizeof bin; at++) {
		uint8_t bad[AS_PASS2_LEN];
		int rc, want;

		memcpy(bad, bin, sizeof bad);
		bad[at] ^= 0x01;
		text[4 + as_base45_encode(text + 4, sizeof text - 4, bad, sizeof bad)] = '\0';
		rc = verify(text);
		if (at < 2)
			want = at == 0 ? AS_E_MAGIC : AS_E_VERSION;
		else if (at < P2_ID)
			want = AS_E_ISSUER_UNKNOWN;
		else if (at < P2_TIMESTAMP)
			want = AS_E_ISSUER_SIG;
		else if (at < P2_TOKEN_SIG)
			want = AS_E_TOKEN_SIG;
		else
			want = AS_E_TOKEN_SIG;
		test_ctx("byte %zu flipped", at);
		if (!CHECK_RC(rc, want))
			break;
		valid++;
	}
	test_ctx_clear();
	CHECK_EQ_INT(valid, AS_PASS2_LEN);
	/* Text-level failures. */
	CHECK_RC(verify("AP1:00"), AS_E_PREFIX);
	CHECK_RC(verify("AP2"), AS_E_PREFIX);
	CHECK_RC(verify("AP2:"), AS_E_TRUNCATED);
	CHECK_RC(verify("AP2:0"), AS_E_BASE45);
	CHECK_RC(verify("AP2:ab"), AS_E_BASE45);
	pass_text(text, sizeof text, TEST_NOW, NULL);
	CHECK_RC(verify_at(text, n - 3, TEST_NOW, &policy), AS_E_TRUNCATED);
	{
		char big[AS_PASS2_TEXT_LEN + 16];

		memcpy(big, text, n);
		memcpy(big + n, "000", 3);
		CHECK_RC(verify_at(big, n + 3, TEST_NOW, &policy), AS_E_TRAILING);
		memset(big + n, '0', 12);
		CHECK_RC(verify_at(big, n + 12, TEST_NOW, &policy), AS_E_OVERSIZE);
	}
	CHECK(as_pass2_is_text(text, n));
	CHECK(!as_pass2_is_text("AP1:", 4));
	CHECK(!as_pass2_is_text("AP2", 3));
	/* A failed verification leaves nothing in out. */
	{
		static const uint8_t zero[sizeof out];

		as_pass2_verify_text(&out, "AP2:00", 6, &params);
		CHECK_MEM(&out, zero, sizeof out);
	}
}

static void test_request(void)
{
	uint8_t pks[AS_TOKEN_BATCH_MAX][32], buf[AS_TOKEN_REQUEST_MAX_LEN],
		again[AS_TOKEN_REQUEST_MAX_LEN];
	struct as_token_request r, back, r2;
	int n;

	for (int i = 0; i < AS_TOKEN_BATCH_MAX; i++)
		test_fill(pks[i], 32, (unsigned)(200 + i));
	CHECK_OK(as_token_request_make(&r, keys.holder_pk, keys.holder_sk, TEST_NOW, 64,
				       (const uint8_t (*)[32])pks));
	CHECK_OK(as_token_request_verify(&r));
	CHECK_OK(as_token_request_make(&r2, keys.holder_pk, keys.holder_sk, TEST_NOW, 64,
				       (const uint8_t (*)[32])pks));
	CHECK(memcmp(r.request_id, r2.request_id, 16) != 0);
	n = as_token_request_encode(buf, sizeof buf, &r);
	CHECK_EQ_INT(n, AS_TOKEN_REQUEST_LEN(64));
	CHECK_EQ_INT(n, 2171);
	if (CHECK_OK(as_token_request_decode(&back, buf, (size_t)n))) {
		CHECK_OK(as_token_request_verify(&back));
		CHECK_MEM(back.token_pks[63], pks[63], 32);
		CHECK_RC(as_token_request_encode(again, sizeof again, &back), n);
		CHECK_MEM(again, buf, (size_t)n);
	}
	CHECK_RC(dec_request(buf, (size_t)n + 1), AS_E_OVERSIZE); /* the largest, plus one */
	/* Tampering breaks the holder signature. */
	back = r;
	back.token_pks[5][0] ^= 1;
	CHECK_RC(as_token_request_verify(&back), AS_E_HOLDER_SIG);
	back = r;
	back.created_at++;
	CHECK_RC(as_token_request_verify(&back), AS_E_HOLDER_SIG);
	back = r;
	memcpy(back.holder_pk, keys.other_pk, 32);
	CHECK_RC(as_token_request_verify(&back), AS_E_HOLDER_SIG);
	/* Counts. */
	CHECK_RC(as_token_request_make(&back, keys.holder_pk, keys.holder_sk, TEST_NOW, 0,
				       (const uint8_t (*)[32])pks), AS_E_FIELD);
	CHECK_RC(as_token_request_make(&back, keys.holder_pk, keys.holder_sk, TEST_NOW, 65,
				       (const uint8_t (*)[32])pks), AS_E_FIELD);
	CHECK_OK(as_token_request_make(&back, keys.holder_pk, keys.holder_sk, TEST_NOW, 1,
				       (const uint8_t (*)[32])pks));
	n = as_token_request_encode(buf, sizeof buf, &back);
	CHECK_EQ_INT(n, 155);
	test_check_truncations("request of 1", dec_request, buf, (size_t)n, NULL);
	test_check_framing("request of 1", dec_request, buf, (size_t)n,
			   AS_TOKEN_REQUEST_MAX_LEN + 1);
	buf[58] = 0;
	CHECK_RC(dec_request(buf, (size_t)n), AS_E_LENGTH);
	buf[58] = 65;
	CHECK_RC(dec_request(buf, (size_t)n), AS_E_LENGTH);
	buf[58] = 2;
	CHECK_RC(dec_request(buf, (size_t)n), AS_E_TRUNCATED);
}

static void test_batch(void)
{
	static struct as_token_batch b, back;
	static uint8_t buf[AS_TOKEN_BATCH_MAX_LEN], again[AS_TOKEN_BATCH_MAX_LEN];
	int n;

	b.n = AS_TOKEN_BATCH_MAX;
	for (int i = 0; i < b.n; i++)
		mint(&b.tokens[i]);
	n = as_token_batch_encode(buf, sizeof buf, &b);
	CHECK_EQ_INT(n, AS_TOKEN_BATCH_LEN(64));
	CHECK_EQ_INT(n, 7811);
	if (CHECK_OK(as_token_batch_decode(&back, buf, (size_t)n))) {
		CHECK_EQ_INT(back.n, 64);
		for (int i = 0; i < back.n; i++)
			CHECK_OK(as_token_verify_issuer(&back.tokens[i], issuer_pk));
		CHECK_RC(as_token_batch_encode(again, sizeof again, &back), n);
		CHECK_MEM(again, buf, (size_t)n);
	}
	CHECK_RC(dec_batch(buf, (size_t)n + 1), AS_E_OVERSIZE);
	b.n = 2;
	n = as_token_batch_encode(buf, sizeof buf, &b);
	CHECK_EQ_INT(n, 3 + 2 * 122);
	test_check_truncations("batch of 2", dec_batch, buf, (size_t)n, NULL);
	test_check_framing("batch of 2", dec_batch, buf, (size_t)n, AS_TOKEN_BATCH_MAX_LEN + 1);
	buf[2] = 0;
	CHECK_RC(dec_batch(buf, (size_t)n), AS_E_LENGTH);
	buf[2] = 65;
	CHECK_RC(dec_batch(buf, (size_t)n), AS_E_LENGTH);
	buf[2] = 1;
	CHECK_RC(dec_batch(buf, (size_t)n), AS_E_TRAILING);
	buf[2] = 2;
	buf[3 + 122] = 'X'; /* the second token's magic */
	CHECK_RC(dec_batch(buf, (size_t)n), AS_E_MAGIC);
	b.n = 0;
	CHECK_RC(as_token_batch_encode(buf, sizeof buf, &b), AS_E_FIELD);
}

/* The issue's size target: a pass v2 is QR version 10 or less at level M,
 * however random its bytes (Base45 text of fixed length). */
static void test_qr_version(void)
{
	char text[AS_PASS2_TEXT_LEN + 1];
	struct as_qr qr;

	for (int i = 0; i < 20; i++) {
		pass_text(text, sizeof text, TEST_NOW + i, NULL);
		test_ctx("pass %d", i);
		if (CHECK_OK(as_qr_encode(&qr, text, 10))) {
			CHECK(qr.version <= 10);
			as_qr_free(&qr);
		}
	}
	test_ctx_clear();
}

int main(void)
{
	setup();
	TEST_RUN(test_token_codec);
	TEST_RUN(test_token_ids);
	TEST_RUN(test_mint);
	TEST_RUN(test_expiry);
	TEST_RUN(test_pass2_codec);
	TEST_RUN(test_pass2_verify);
	TEST_RUN(test_request);
	TEST_RUN(test_batch);
	TEST_RUN(test_qr_version);
	return TEST_DONE();
}
