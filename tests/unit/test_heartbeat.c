/*
 * test_heartbeat.c - the gateway's signed heartbeat (common/src/heartbeat.c):
 * layout, round trip, every framing error, field ranges, and the device
 * signature over every byte.
 */
#include "test.h"

#include "anshim/heartbeat.h"

static struct test_keys keys;

static void make_hb(struct as_heartbeat *hb)
{
	memset(hb, 0, sizeof *hb);
	as_gateway_id(hb->gw_id, keys.device_pk);
	hb->sent_at = TEST_NOW;
	hb->up_since = TEST_NOW - 3600;
	memset(hb->boot_id, 0xb0, AS_BOOT_ID_LEN);
	hb->interval = 300;
	hb->clock_state = AS_CLOCK_CORRECTED;
	hb->last_seq = 1234;
	hb->acked_seq = 1200;
	memset(hb->chain_head, 0x5c, AS_CHAIN_HEAD_LEN);
	hb->journal_records = 34;
	hb->journal_used = 1 << 20;
	hb->journal_size = 4 << 20;
}

static void test_round_trip(void)
{
	uint8_t a[AS_HEARTBEAT_LEN], b[AS_HEARTBEAT_LEN];
	struct as_heartbeat hb, back;

	memset(&back, 0, sizeof back);
	make_hb(&hb);
	if (!CHECK_RC(as_heartbeat_encode(a, sizeof a, &hb, keys.device_sk), AS_HEARTBEAT_LEN))
		return;
	CHECK_MEM(a, "H\x01", 2);
	CHECK_MEM(a + 2, hb.gw_id, AS_GWID_LEN);
	CHECK_MEM(a + 50, "\x2c\x01\0\0", 4);          /* interval 300 */
	CHECK_EQ_INT(a[54], AS_CLOCK_CORRECTED);
	CHECK_MEM(a + 55, "\xd2\x04\0\0\0\0\0\0", 8);   /* last_seq 1234 */
	CHECK_EQ_INT(a[71], 0x5c);
	CHECK_EQ_INT(a[102], 0x5c);
	CHECK_OK(as_heartbeat_verify(a, sizeof a, keys.device_pk));
	if (!CHECK_OK(as_heartbeat_decode(&back, a, sizeof a)))
		return;
	CHECK(memcmp(&hb, &back, sizeof hb) == 0);
	CHECK_RC(as_heartbeat_encode(b, sizeof b, &back, keys.device_sk), AS_HEARTBEAT_LEN);
	CHECK_MEM(a, b, AS_HEARTBEAT_LEN);
	CHECK_RC(as_heartbeat_encode(b, sizeof b - 1, &back, keys.device_sk), AS_E_OVERSIZE);
}

static void test_framing(void)
{
	uint8_t a[2 * AS_HEARTBEAT_LEN + 2] = {0};
	struct as_heartbeat hb;

	make_hb(&hb);
	as_heartbeat_encode(a, AS_HEARTBEAT_LEN, &hb, keys.device_sk);
	for (size_t n = 0; n < AS_HEARTBEAT_LEN; n++) {
		test_ctx("cut at %zu", n);
		CHECK_RC(as_heartbeat_decode(&hb, a, n), AS_E_TRUNCATED);
		CHECK_RC(as_heartbeat_verify(a, n, keys.device_pk), AS_E_TRUNCATED);
	}
	test_ctx_clear();
	CHECK_RC(as_heartbeat_decode(&hb, a, AS_HEARTBEAT_LEN + 1), AS_E_TRAILING);
	CHECK_RC(as_heartbeat_decode(&hb, a, 2 * AS_HEARTBEAT_LEN), AS_E_TRAILING);
	CHECK_RC(as_heartbeat_decode(&hb, a, 2 * AS_HEARTBEAT_LEN + 1), AS_E_OVERSIZE);
	CHECK_RC(as_heartbeat_verify(a, AS_HEARTBEAT_LEN + 1, keys.device_pk), AS_E_TRAILING);
	a[0] = 'A';
	CHECK_RC(as_heartbeat_decode(&hb, a, AS_HEARTBEAT_LEN), AS_E_MAGIC);
	a[0] = 'H';
	a[1] = 2;
	CHECK_RC(as_heartbeat_decode(&hb, a, AS_HEARTBEAT_LEN), AS_E_VERSION);
	a[1] = 0;
	CHECK_RC(as_heartbeat_decode(&hb, a, AS_HEARTBEAT_LEN), AS_E_VERSION);
	a[1] = 1;
	CHECK_OK(as_heartbeat_decode(&hb, a, AS_HEARTBEAT_LEN));
}

static void test_fields(void)
{
	static const uint8_t bad_clock[] = {0, 4, 0xff};
	uint8_t a[AS_HEARTBEAT_LEN];
	struct as_heartbeat hb, dec;

	for (size_t i = 0; i < 3; i++) {
		make_hb(&hb);
		as_heartbeat_encode(a, sizeof a, &hb, keys.device_sk);
		a[54] = bad_clock[i];
		test_ctx("clock_state %u", bad_clock[i]);
		CHECK_RC(as_heartbeat_decode(&dec, a, sizeof a), AS_E_FIELD);
	}
	test_ctx_clear();
	make_hb(&hb);
	as_heartbeat_encode(a, sizeof a, &hb, keys.device_sk);
	memset(a + 50, 0, 4);          /* interval 0 */
	CHECK_RC(as_heartbeat_decode(&dec, a, sizeof a), AS_E_FIELD);
	/* The encoder refuses what the decoder refuses. */
	make_hb(&hb);
	hb.interval = 0;
	CHECK_RC(as_heartbeat_encode(a, sizeof a, &hb, keys.device_sk), AS_E_FIELD);
	hb.interval = AS_HEARTBEAT_INTERVAL_MAX + 1;
	CHECK_RC(as_heartbeat_encode(a, sizeof a, &hb, keys.device_sk), AS_E_FIELD);
	hb.interval = AS_HEARTBEAT_INTERVAL_MAX;
	CHECK_RC(as_heartbeat_encode(a, sizeof a, &hb, keys.device_sk), AS_HEARTBEAT_LEN);
	hb.interval = 1;
	hb.up_since = hb.sent_at + 1;
	CHECK_RC(as_heartbeat_encode(a, sizeof a, &hb, keys.device_sk), AS_E_FIELD);
	hb.up_since = hb.sent_at;
	CHECK_RC(as_heartbeat_encode(a, sizeof a, &hb, keys.device_sk), AS_HEARTBEAT_LEN);
	hb.journal_used = hb.journal_size + 1;
	CHECK_RC(as_heartbeat_encode(a, sizeof a, &hb, keys.device_sk), AS_E_FIELD);
	hb.journal_used = hb.journal_size;
	hb.clock_state = 0;
	CHECK_RC(as_heartbeat_encode(a, sizeof a, &hb, keys.device_sk), AS_E_FIELD);
	CHECK_STR(as_clock_state_name(AS_CLOCK_SYNCED), "synced");
	CHECK_STR(as_clock_state_name(AS_CLOCK_UNSYNCED), "unsynced");
	CHECK_STR(as_clock_state_name(9), "unknown");
}

/* Flipping any byte breaks the signature (or the framing first). */
static void test_signature(void)
{
	uint8_t a[AS_HEARTBEAT_LEN];
	struct as_heartbeat hb, dec;
	uint8_t other_pk[AS_SIGN_PK_LEN];

	make_hb(&hb);
	as_heartbeat_encode(a, sizeof a, &hb, keys.device_sk);
	for (size_t i = 0; i < AS_HEARTBEAT_LEN; i++) {
		a[i] ^= 0x01;
		test_ctx("flip byte %zu", i);
		CHECK(as_heartbeat_decode(&dec, a, sizeof a) != 0 ||
		      as_heartbeat_verify(a, sizeof a, keys.device_pk) == AS_E_SIGNATURE);
		a[i] ^= 0x01;
	}
	test_ctx_clear();
	memcpy(other_pk, keys.holder_pk, sizeof other_pk);
	CHECK_RC(as_heartbeat_verify(a, sizeof a, other_pk), AS_E_SIGNATURE);
	CHECK_OK(as_heartbeat_verify(a, sizeof a, keys.device_pk));
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_round_trip);
	TEST_RUN(test_framing);
	TEST_RUN(test_fields);
	TEST_RUN(test_signature);
	return TEST_DONE();
}
