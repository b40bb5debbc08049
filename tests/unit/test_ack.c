/*
 * test_ack.c - the cloud's signed ack (common/src/ack.c): layout, round
 * trip, framing, and the authority signature over every byte.
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
	if (as_ack_encode(bin, AS_ACK_LEN, ack, keys.auth_sk) != AS_ACK_LEN)
		abort();
}

static void test_round_trip(void)
{
	uint8_t a[AS_ACK_LEN], b[AS_ACK_LEN];
	struct as_ack ack, back;

	make_ack(a, &ack);
	CHECK_MEM(a, "A\x01", 2);
	CHECK_MEM(a + 18, "\xd2\x04\0\0\0\0\0\0", 8); /* through_seq 1234 */
	if (!CHECK_OK(as_ack_decode(&back, a, AS_ACK_LEN, keys.auth_pk)))
		return;
	CHECK_MEM(back.gw_id, ack.gw_id, AS_GWID_LEN);
	CHECK(back.through_seq == 1234);
	CHECK(back.cloud_time_ms == TEST_NOW * 1000 + 567);
	CHECK_RC(as_ack_encode(b, sizeof b, &back, keys.auth_sk), AS_ACK_LEN);
	CHECK_MEM(a, b, AS_ACK_LEN);
	/* Extreme values survive too. */
	ack.through_seq = UINT64_MAX;
	ack.cloud_time_ms = INT64_MIN;
	CHECK_RC(as_ack_encode(a, sizeof a, &ack, keys.auth_sk), AS_ACK_LEN);
	CHECK_OK(as_ack_decode(&back, a, AS_ACK_LEN, keys.auth_pk));
	CHECK(back.through_seq == UINT64_MAX && back.cloud_time_ms == INT64_MIN);
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
	test_check_framing("ack", dec_ack, bin, AS_ACK_LEN, 2 * AS_ACK_LEN + 1);
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
	return TEST_DONE();
}
