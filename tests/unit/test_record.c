/*
 * test_record.c - the gateway journal record codec (common/src/record.c):
 * round trips, framing (truncation, trailing bytes, magic, version,
 * oversize, capsule_len) and the field range checks.
 */
#include "test.h"

/* Record field offsets (record.h). */
#define OFF_KIND 2
#define OFF_FLAGS 3
#define OFF_SEQ 4
#define OFF_ENTRY 12
#define OFF_EXIT 20
#define OFF_HEADCOUNT 68
#define OFF_CAPSULE_LEN 82

static int dec_record(const uint8_t *in, size_t len)
{
	struct as_record r;

	return as_record_decode(&r, in, len);
}

static void encode_fixture(uint8_t bin[AS_RECORD_LEN])
{
	struct as_record r;

	test_record_make(&r, 42);
	if (as_record_encode(bin, AS_RECORD_LEN, &r) != AS_RECORD_LEN)
		abort();
}

/* Decode the fixture with a little-endian field of width bytes at off set
 * to v. */
static int decode_patched(size_t off, size_t width, uint64_t v)
{
	uint8_t bin[AS_RECORD_LEN];

	encode_fixture(bin);
	test_put_le(bin, off, width, v);
	return test_decode_copy(dec_record, bin, sizeof bin);
}

static void check_round_trip(const struct as_record *r)
{
	uint8_t a[AS_RECORD_LEN], b[AS_RECORD_LEN];
	struct as_record back;

	if (!CHECK_RC(as_record_encode(a, sizeof a, r), AS_RECORD_LEN))
		return;
	if (!CHECK_OK(as_record_decode(&back, a, sizeof a)))
		return;
	CHECK_RC(as_record_encode(b, sizeof b, &back), AS_RECORD_LEN);
	CHECK_MEM(a, b, AS_RECORD_LEN);
	CHECK_EQ_INT(back.kind, r->kind);
	CHECK_EQ_INT(back.flags, r->flags);
	CHECK(back.seq == r->seq);
	CHECK(back.entry_time == r->entry_time && back.exit_time == r->exit_time);
	CHECK(back.mono_ms == r->mono_ms);
	CHECK_EQ_INT(back.headcount, r->headcount);
	CHECK_EQ_INT(back.entered_by, r->entered_by);
	CHECK(back.credential_expires == r->credential_expires);
	CHECK_MEM(back.boot_id, r->boot_id, AS_BOOT_ID_LEN);
	CHECK_MEM(back.pid, r->pid, AS_PID_LEN);
	CHECK_MEM(back.capsule, r->capsule, AS_CAPSULE_LEN);
}

static void test_round_trips(void)
{
	struct as_record r;

	test_record_make(&r, 1);
	check_round_trip(&r);
	/* A manual entry for a family, clock unsynced and corrected. */
	test_record_make(&r, UINT64_MAX);
	r.kind = AS_REC_MANUAL;
	r.flags = AS_REC_CLOCK_UNSYNCED | AS_REC_TIME_CORRECTED;
	memset(r.pid, 0, AS_PID_LEN);
	r.headcount = AS_HEADCOUNT_MAX;
	r.entered_by = 1001;
	r.credential_expires = 0;
	r.exit_time = r.entry_time; /* exit at entry is allowed */
	check_round_trip(&r);
	/* A card scan with a recorded exit, negative times. */
	test_record_make(&r, 7);
	r.kind = AS_REC_CARD;
	r.entry_time = -100;
	r.exit_time = 3600;
	r.mono_ms = UINT64_MAX;
	check_round_trip(&r);
	/* A visit token: token id in the pid field, no capsule. */
	test_record_make(&r, 9);
	r.kind = AS_REC_TOKEN;
	memset(r.capsule, 0, AS_CAPSULE_LEN);
	check_round_trip(&r);
}

/* The rules of a kind-6 (token) record. */
static void test_token_records(void)
{
	struct as_record r, back;
	uint8_t bin[AS_RECORD_LEN];

	test_record_make(&r, 3);
	r.kind = AS_REC_TOKEN;
	memset(r.capsule, 0, AS_CAPSULE_LEN);
	CHECK_RC(as_record_encode(bin, sizeof bin, &r), AS_RECORD_LEN);
	CHECK_OK(as_record_decode(&back, bin, sizeof bin));
	CHECK_STR(as_record_kind_name(AS_REC_TOKEN), "token");
	r.capsule[130] = 1;                       /* a capsule */
	as_record_encode(bin, sizeof bin, &r);
	CHECK_RC(as_record_decode(&back, bin, sizeof bin), AS_E_FIELD);
	r.capsule[130] = 0;
	memset(r.pid, 0, AS_PID_LEN);              /* no token id */
	as_record_encode(bin, sizeof bin, &r);
	CHECK_RC(as_record_decode(&back, bin, sizeof bin), AS_E_FIELD);
	test_fill(r.pid, AS_PID_LEN, 9);
	r.headcount = 2;                           /* a token is one person */
	as_record_encode(bin, sizeof bin, &r);
	CHECK_RC(as_record_decode(&back, bin, sizeof bin), AS_E_FIELD);
	r.headcount = 1;
	r.credential_expires = 0;                  /* tokens expire */
	as_record_encode(bin, sizeof bin, &r);
	CHECK_RC(as_record_decode(&back, bin, sizeof bin), AS_E_FIELD);
	/* Kind 5 (app) never appears in a journal; 7 does not exist. */
	test_record_make(&r, 3);
	r.kind = AS_REC_APP;
	as_record_encode(bin, sizeof bin, &r);
	CHECK_RC(as_record_decode(&back, bin, sizeof bin), AS_E_FIELD);
	r.kind = 7;
	as_record_encode(bin, sizeof bin, &r);
	CHECK_RC(as_record_decode(&back, bin, sizeof bin), AS_E_FIELD);
}

static void test_layout(void)
{
	uint8_t bin[AS_RECORD_LEN];

	encode_fixture(bin);
	CHECK_EQ_INT(bin[0], 'R');
	CHECK_EQ_INT(bin[1], 1);
	CHECK_EQ_INT(bin[OFF_KIND], AS_REC_PASS);
	CHECK_MEM(bin + OFF_SEQ, "\x2a\0\0\0\0\0\0\0", 8);
	CHECK_MEM(bin + OFF_HEADCOUNT, "\x01\x00", 2);
	CHECK_MEM(bin + OFF_CAPSULE_LEN, "\x83\x00", 2); /* 131 */
}

static void test_framing(void)
{
	uint8_t bin[AS_RECORD_LEN];

	encode_fixture(bin);
	test_check_truncations("record", dec_record, bin, AS_RECORD_LEN, NULL);
	test_check_framing("record", dec_record, bin, AS_RECORD_LEN, 2 * AS_RECORD_LEN + 1);
	CHECK_RC(decode_patched(OFF_CAPSULE_LEN, 2, 0), AS_E_LENGTH);
	CHECK_RC(decode_patched(OFF_CAPSULE_LEN, 2, 130), AS_E_LENGTH);
	CHECK_RC(decode_patched(OFF_CAPSULE_LEN, 2, 132), AS_E_LENGTH);
	CHECK_RC(decode_patched(OFF_CAPSULE_LEN, 2, 0xffff), AS_E_LENGTH);
}

static void test_field_checks(void)
{
	CHECK_RC(decode_patched(OFF_KIND, 1, 0), AS_E_FIELD);
	CHECK_RC(decode_patched(OFF_KIND, 1, 4), AS_E_FIELD);
	CHECK_RC(decode_patched(OFF_KIND, 1, 255), AS_E_FIELD);
	CHECK_OK(decode_patched(OFF_KIND, 1, AS_REC_MANUAL));
	CHECK_RC(decode_patched(OFF_FLAGS, 1, 0x04), AS_E_FIELD);
	CHECK_RC(decode_patched(OFF_FLAGS, 1, 0x80), AS_E_FIELD);
	CHECK_OK(decode_patched(OFF_FLAGS, 1, AS_REC_FLAGS_KNOWN));
	CHECK_RC(decode_patched(OFF_SEQ, 8, 0), AS_E_FIELD);
	CHECK_RC(decode_patched(OFF_HEADCOUNT, 2, 0), AS_E_FIELD);
	CHECK_RC(decode_patched(OFF_HEADCOUNT, 2, AS_HEADCOUNT_MAX + 1), AS_E_FIELD);
	CHECK_RC(decode_patched(OFF_HEADCOUNT, 2, 0xffff), AS_E_FIELD);
	CHECK_OK(decode_patched(OFF_HEADCOUNT, 2, AS_HEADCOUNT_MAX));
	/* Exit before entry (entry is TEST_NOW + 42 minutes). */
	CHECK_RC(decode_patched(OFF_EXIT, 8, (uint64_t)TEST_NOW), AS_E_FIELD);
	CHECK_OK(decode_patched(OFF_EXIT, 8, (uint64_t)(TEST_NOW + 42 * 60)));
	CHECK_OK(decode_patched(OFF_EXIT, 8, 0));
	CHECK_RC(decode_patched(OFF_EXIT, 8, (uint64_t)INT64_C(-1)), AS_E_FIELD);
	/* Framing errors win over field errors. */
	{
		uint8_t bin[AS_RECORD_LEN];

		encode_fixture(bin);
		bin[OFF_KIND] = 0;
		CHECK_RC(test_decode_copy(dec_record, bin, AS_RECORD_LEN - 1), AS_E_TRUNCATED);
		test_put_le(bin, OFF_CAPSULE_LEN, 2, 1);
		CHECK_RC(test_decode_copy(dec_record, bin, AS_RECORD_LEN), AS_E_LENGTH);
	}
}

static void test_encode_capacity_and_names(void)
{
	struct as_record r;
	uint8_t bin[AS_RECORD_LEN];

	test_record_make(&r, 1);
	CHECK_RC(as_record_encode(bin, AS_RECORD_LEN - 1, &r), AS_E_OVERSIZE);
	CHECK_RC(as_record_encode(NULL, 0, &r), AS_E_OVERSIZE);
	CHECK_STR(as_record_kind_name(AS_REC_PASS), "pass");
	CHECK_STR(as_record_kind_name(AS_REC_CARD), "card");
	CHECK_STR(as_record_kind_name(AS_REC_MANUAL), "manual");
	CHECK_STR(as_record_kind_name(0), "unknown");
	CHECK_STR(as_record_kind_name(200), "unknown");
}

int main(void)
{
	struct test_keys keys;

	test_keys_init(&keys);
	TEST_RUN(test_round_trips);
	TEST_RUN(test_token_records);
	TEST_RUN(test_layout);
	TEST_RUN(test_framing);
	TEST_RUN(test_field_checks);
	TEST_RUN(test_encode_capacity_and_names);
	return TEST_DONE();
}
