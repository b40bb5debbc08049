/*
 * test_ack.c - the cloud's signed ack (common/src/ack.c): layout of
 * version 2, round trip, framing, the authority signature over every byte,
 * and version 1 still decoded (with no chain).
 */
#include "test.h"

#include "anshim/ack.h"

static struct test_keys keys;

static int dec_ack(const uint8_t *in, size_t len)
{
	struct as_ack ack;

	return as_ack_decode(&ack, in, len, keys.auth_pk);
}

static void make_ack(uint8_t bin[AS_ACK_LEN], struct as_ack *ack)
{
	memset(ack, 0, sizeof *ack);
	as_gateway_id(ack->gw_id, keys.device_pk);
	ack->through_seq = 1234;
	ack->cloud_time_ms = TEST_NOW * 1000 + 567;
	for (int i = 0; i < AS_JOURNAL_ID_LEN; i++)
		ack->journal_id[i] = (uint8_t)(0x10 + i);
	ack->chain_seq = 1200;
	for (int i = 0; i < AS_CHAIN_LEN; i++)
		ack->chain_link[i] = (uint8_t)(0xC0 + i);
	if (as_ack_encode(bin, AS_ACK_LEN, ack, keys.auth_sk) != AS_ACK_LEN)
		abort();
}

static void test_round_trip(void)
{
	uint8_t a[AS_ACK_LEN], b[AS_ACK_LEN];
	struct as_ack ack, back;

	make_ack(a, &ack);
	CHECK_EQ_INT(AS_ACK_LEN, 154);
	CHECK_MEM(a, "A\x02", 2);
	CHECK_MEM(a + 18, "\xd2\x04\0\0\0\0\0\0", 8); /* through_seq 1234 */
	CHECK_MEM(a + 34, ack.journal_id, AS_JOURNAL_ID_LEN);
	CHECK_MEM(a + 50, "\xb0\x04\0\0\0\0\0\0", 8); /* chain_seq 1200 */
	CHECK_MEM(a + 58, ack.chain_link, AS_CHAIN_LEN);
	if (!CHECK_OK(as_ack_decode(&back, a, AS_ACK_LEN, keys.auth_pk)))
		return;
	CHECK_EQ_INT(back.version, 2);
	CHECK_MEM(back.gw_id, ack.gw_id, AS_GWID_LEN);
	CHECK(back.through_seq == 1234);
	CHECK(back.cloud_time_ms == TEST_NOW * 1000 + 567);
	CHECK_MEM(back.journal_id, ack.journal_id, AS_JOURNAL_ID_LEN);
	CHECK(back.chain_seq == 1200);
	CHECK_MEM(back.chain_link, ack.chain_link, AS_CHAIN_LEN);
	CHECK(as_ack_has_chain(&back));
	CHECK_RC(as_ack_encode(b, sizeof b, &back, keys.auth_sk), AS_ACK_LEN);
	CHECK_MEM(a, b, AS_ACK_LEN);
	/* Extreme values survive too. */
	ack.through_seq = UINT64_MAX;
	ack.cloud_time_ms = INT64_MIN;
	CHECK_RC(as_ack_encode(a, sizeof a, &ack, keys.auth_sk), AS_ACK_LEN);
	CHECK_OK(as_ack_decode(&back, a, AS_ACK_LEN, keys.auth_pk));
	CHECK(back.through_seq == UINT64_MAX && back.cloud_time_ms == INT64_MIN);
	/* A cloud that follows no chain of the gateway: journal id all zero. */
	memset(ack.journal_id, 0, sizeof ack.journal_id);
	ack.chain_seq = 0;
	memset(ack.chain_link, 0, sizeof ack.chain_link);
	CHECK_RC(as_ack_encode(a, sizeof a, &ack, keys.auth_sk), AS_ACK_LEN);
	if (CHECK_OK(as_ack_decode(&back, a, AS_ACK_LEN, keys.auth_pk)))
		CHECK(!as_ack_has_chain(&back));
}

/* Version 1 (98 bytes, no chain fields) from a cloud before version 2:
 * decoded with version 1 and no chain; its own framing is strict. */
static void test_version1(void)
{
	uint8_t v1[AS_ACK_V1_LEN], bad[AS_ACK_LEN];
	uint8_t gw[AS_GWID_LEN];
	struct as_ack back;

	as_gateway_id(gw, keys.device_pk);
	test_ack_v1_make(v1, gw, 41, TEST_NOW * 1000, keys.auth_sk);
	memset(&back, 0xEE, sizeof back);
	if (CHECK_OK(as_ack_decode(&back, v1, sizeof v1, keys.auth_pk))) {
		static const uint8_t zero[AS_CHAIN_LEN];

		CHECK_EQ_INT(back.version, 1);
		CHECK_MEM(back.gw_id, gw, AS_GWID_LEN);
		CHECK(back.through_seq == 41);
		CHECK(back.cloud_time_ms == TEST_NOW * 1000);
		CHECK_MEM(back.journal_id, zero, AS_JOURNAL_ID_LEN);
		CHECK(back.chain_seq == 0);
		CHECK_MEM(back.chain_link, zero, AS_CHAIN_LEN);
		CHECK(!as_ack_has_chain(&back));
	}
	{
		/* The encoder writes the same bytes for a version 1 ack. */
		uint8_t enc[AS_ACK_LEN];

		CHECK_RC(as_ack_encode(enc, sizeof enc, &back, keys.auth_sk), AS_ACK_V1_LEN);
		CHECK_MEM(enc, v1, AS_ACK_V1_LEN);
		CHECK_RC(as_ack_encode(enc, AS_ACK_V1_LEN - 1, &back, keys.auth_sk),
			 AS_E_OVERSIZE);
	}
	test_check_truncations("ack v1", dec_ack, v1, sizeof v1, NULL);
	memset(bad, 0, sizeof bad);
	memcpy(bad, v1, sizeof v1);
	CHECK_RC(test_decode_copy(dec_ack, bad, sizeof v1 + 1), AS_E_TRAILING);
	/* A version 1 ack padded to version 2's length is not a version 2
	 * ack; a version 2 ack cut to version 1's length is not a version 1
	 * ack. */
	memset(bad, 0, sizeof bad);
	memcpy(bad, v1, sizeof v1);
	CHECK_RC(test_decode_copy(dec_ack, bad, AS_ACK_LEN), AS_E_TRAILING);
	memcpy(bad, v1, sizeof v1);
	bad[1] = 2;
	CHECK_RC(test_decode_copy(dec_ack, bad, AS_ACK_V1_LEN), AS_E_TRUNCATED);
	/* Its signature covers every byte after magic and version too. */
	for (size_t at = 2; at < AS_ACK_V1_LEN; at++) {
		memcpy(bad, v1, sizeof v1);
		bad[at] ^= 0x04;
		test_ctx("v1 byte %zu flipped", at);
		if (!CHECK_RC(test_decode_copy(dec_ack, bad, AS_ACK_V1_LEN), AS_E_SIGNATURE))
			break;
	}
	test_ctx_clear();
	CHECK_RC(as_ack_decode(&back, v1, sizeof v1, keys.other_pk), AS_E_SIGNATURE);
}

static void test_encode_capacity(void)
{
	uint8_t bin[AS_ACK_LEN];
	struct as_ack ack;

	make_ack(bin, &ack);
	for (size_t cap = 0; cap < AS_ACK_LEN; cap++) {
		uint8_t *exact = malloc(cap);
		int rc = as_ack_encode(exact, cap, &ack, keys.auth_sk);

		free(exact);
		test_ctx("capacity %zu", cap);
		if (!CHECK_RC(rc, AS_E_OVERSIZE))
			break;
	}
	test_ctx_clear();
}

static void test_framing(void)
{
	uint8_t bin[AS_ACK_LEN];
	struct as_ack ack;

	make_ack(bin, &ack);
	test_check_truncations("ack", dec_ack, bin, AS_ACK_LEN, NULL);
	test_check_framing_old("ack", dec_ack, bin, AS_ACK_LEN, 2 * AS_ACK_LEN + 1, 1);
}

static void test_signature(void)
{
	uint8_t bin[AS_ACK_LEN], bad[AS_ACK_LEN];
	struct as_ack ack, back;

	make_ack(bin, &ack);
	CHECK_RC(as_ack_decode(&back, bin, AS_ACK_LEN, keys.other_pk), AS_E_SIGNATURE);
	CHECK_RC(as_ack_decode(&back, bin, AS_ACK_LEN, keys.device_pk), AS_E_SIGNATURE);
	/* Every byte after magic and version is signed. */
	for (size_t at = 2; at < AS_ACK_LEN; at++) {
		memcpy(bad, bin, sizeof bad);
		bad[at] ^= 0x04;
		test_ctx("byte %zu flipped", at);
		if (!CHECK_RC(test_decode_copy(dec_ack, bad, AS_ACK_LEN), AS_E_SIGNATURE))
			break;
	}
	test_ctx_clear();
	/* An ack signed by someone else. */
	CHECK_RC(as_ack_encode(bad, sizeof bad, &ack, keys.other_sk), AS_ACK_LEN);
	CHECK_RC(test_decode_copy(dec_ack, bad, AS_ACK_LEN), AS_E_SIGNATURE);
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_round_trip);
	TEST_RUN(test_encode_capacity);
	TEST_RUN(test_framing);
	TEST_RUN(test_signature);
	TEST_RUN(test_version1);
	return TEST_DONE();
}
