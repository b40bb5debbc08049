/*
 * test_capsule.c - contact capsules (common/src/capsule.c): checking the
 * contact, sealing to the authority contact key and opening it again, with
 * Korean UTF-8 names; wrong keys and damaged capsules; malformed plaintext.
 */
#include "test.h"

#include "anshim/capsule.h"

static struct test_keys keys;

static void check_round_trip(const char *phone, const char *name, const char *want_phone)
{
	struct as_contact c, back;
	uint8_t capsule[AS_CAPSULE_LEN];

	test_ctx("phone \"%s\" name \"%s\"", phone, name ? name : "(null)");
	if (!CHECK_OK(as_contact_set(&c, phone, name)))
		goto out;
	CHECK_STR(c.phone, want_phone);
	CHECK_STR(c.name, name ? name : "");
	if (!CHECK_OK(as_capsule_seal(capsule, &c, keys.contact_pk)))
		goto out;
	if (CHECK_OK(as_capsule_open(&back, capsule, keys.contact_pk, keys.contact_sk))) {
		CHECK_STR(back.phone, want_phone);
		CHECK_STR(back.name, name ? name : "");
	}
out:
	test_ctx_clear();
}

static void test_round_trips(void)
{
	char max_name[AS_CONTACT_NAME_MAX + 1];

	check_round_trip("010-1234-5678", "홍길동", "+821012345678");
	check_round_trip("+82 10 9876 5432", "김민준 (Kim Min-jun)", "+821098765432");
	check_round_trip("02-123-4567", "", "+8221234567");
	check_round_trip("+1 202 555 0100", NULL, "+12025550100");
	check_round_trip("+123456789012345", "x", "+123456789012345"); /* longest phone */
	/* 64 bytes exactly: 21 three-byte Hangul syllables and one ASCII. */
	max_name[0] = '\0';
	for (int i = 0; i < 21; i++)
		memcpy(max_name + 3 * i, "가", 3);
	max_name[63] = 'A';
	max_name[64] = '\0';
	check_round_trip("010-1234-5678", max_name, "+821012345678");
}

static void test_sealing_is_randomized(void)
{
	struct as_contact c;
	uint8_t a[AS_CAPSULE_LEN], b[AS_CAPSULE_LEN];

	CHECK_OK(as_contact_set(&c, TEST_PHONE, "홍길동"));
	CHECK_OK(as_capsule_seal(a, &c, keys.contact_pk));
	CHECK_OK(as_capsule_seal(b, &c, keys.contact_pk));
	/* Two capsules of one contact must not be linkable. */
	CHECK(memcmp(a, b, AS_CAPSULE_LEN) != 0);
	/* Nor reveal the name's length: one size for every contact. */
	CHECK_EQ_INT(AS_CAPSULE_LEN, 131);
}

static void test_wrong_key_and_damage(void)
{
	struct as_contact c, back;
	uint8_t capsule[AS_CAPSULE_LEN], bad[AS_CAPSULE_LEN];
	uint8_t other_pk[AS_BOX_PK_LEN], other_sk[AS_BOX_SK_LEN], seed[32];
	int rejected = 0;

	test_fill(seed, sizeof seed, 99);
	crypto_box_seed_keypair(other_pk, other_sk, seed);
	CHECK_OK(as_contact_set(&c, TEST_PHONE, "홍길동"));
	CHECK_OK(as_capsule_seal(capsule, &c, keys.contact_pk));

	CHECK_RC(as_capsule_open(&back, capsule, other_pk, other_sk), AS_E_CAPSULE);
	CHECK_STR(back.phone, ""); /* nothing leaks into out on failure */
	CHECK_RC(as_capsule_open(&back, capsule, keys.contact_pk, other_sk), AS_E_CAPSULE);

	/* Every single flipped bit is detected. */
	for (size_t i = 0; i < AS_CAPSULE_LEN; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(bad, capsule, sizeof bad);
			bad[i] ^= (uint8_t)(1u << bit);
			if (as_capsule_open(&back, bad, keys.contact_pk, keys.contact_sk) ==
			    AS_E_CAPSULE)
				rejected++;
		}
	}
	CHECK_EQ_INT(rejected, AS_CAPSULE_LEN * 8);
	memset(bad, 0, sizeof bad);
	CHECK_RC(as_capsule_open(&back, bad, keys.contact_pk, keys.contact_sk), AS_E_CAPSULE);
}

static void test_contact_checks(void)
{
	struct as_contact c;
	char name[80];

	CHECK_RC(as_contact_set(&c, "not a phone", "홍길동"), AS_E_PHONE);
	CHECK_RC(as_contact_set(&c, "", "x"), AS_E_PHONE);
	/* 65 bytes is one too many. */
	memset(name, 'a', 65);
	name[65] = '\0';
	CHECK_RC(as_contact_set(&c, TEST_PHONE, name), AS_E_FIELD);
	name[64] = '\0';
	CHECK_OK(as_contact_set(&c, TEST_PHONE, name));
	/* 22 Hangul syllables are 66 bytes: the limit is bytes, not characters. */
	for (int i = 0; i < 22; i++)
		memcpy(name + 3 * i, "가", 3);
	name[66] = '\0';
	CHECK_RC(as_contact_set(&c, TEST_PHONE, name), AS_E_FIELD);
	/* Control characters. */
	CHECK_RC(as_contact_set(&c, TEST_PHONE, "Kim\nMin"), AS_E_FIELD);
	CHECK_RC(as_contact_set(&c, TEST_PHONE, "Kim\tMin"), AS_E_FIELD);
	CHECK_RC(as_contact_set(&c, TEST_PHONE, "Kim\rMin"), AS_E_FIELD);
	CHECK_RC(as_contact_set(&c, TEST_PHONE, "\x1b[31mred"), AS_E_FIELD);
	CHECK_RC(as_contact_set(&c, TEST_PHONE, "del\x7f"), AS_E_FIELD);
	CHECK_RC(as_contact_set(&c, TEST_PHONE, "\x01"), AS_E_FIELD);
	CHECK_OK(as_contact_set(&c, TEST_PHONE, "O'Brien-Smith, Jr. & Co."));
}

/* Seal a hand-made plaintext, the way a buggy or hostile issuer might. */
static int open_plain(const uint8_t plain[AS_CAPSULE_PLAIN_LEN])
{
	uint8_t capsule[AS_CAPSULE_LEN];
	struct as_contact back;

	if (crypto_box_seal(capsule, plain, AS_CAPSULE_PLAIN_LEN, keys.contact_pk) != 0)
		return -1;
	return as_capsule_open(&back, capsule, keys.contact_pk, keys.contact_sk);
}

static void make_plain(uint8_t plain[AS_CAPSULE_PLAIN_LEN])
{
	memset(plain, 0, AS_CAPSULE_PLAIN_LEN);
	plain[0] = 1;
	plain[1] = 13;
	memcpy(plain + 2, "+821012345678", 13);
	plain[18] = 3;
	memcpy(plain + 19, "Kim", 3);
}

static void test_malformed_plaintext(void)
{
	uint8_t plain[AS_CAPSULE_PLAIN_LEN];

	make_plain(plain);
	CHECK_OK(open_plain(plain));
	make_plain(plain);
	plain[0] = 2; /* unknown version */
	CHECK_RC(open_plain(plain), AS_E_CORRUPT);
	make_plain(plain);
	plain[1] = 0; /* no phone */
	CHECK_RC(open_plain(plain), AS_E_CORRUPT);
	make_plain(plain);
	plain[1] = 17; /* phone longer than its field */
	CHECK_RC(open_plain(plain), AS_E_CORRUPT);
	make_plain(plain);
	plain[18] = 65; /* name longer than its field */
	CHECK_RC(open_plain(plain), AS_E_CORRUPT);
	make_plain(plain);
	plain[1] = 14; /* phone length covers a NUL */
	CHECK_RC(open_plain(plain), AS_E_CORRUPT);
	make_plain(plain);
	plain[18] = 4; /* name length covers a NUL */
	CHECK_RC(open_plain(plain), AS_E_CORRUPT);
	make_plain(plain);
	plain[1] = 16;
	memcpy(plain + 2, "+123456789012345", 16); /* full phone field */
	plain[18] = 64;
	memset(plain + 19, 'n', 64);                 /* full name field */
	CHECK_OK(open_plain(plain));
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_round_trips);
	TEST_RUN(test_sealing_is_randomized);
	TEST_RUN(test_wrong_key_and_damage);
	TEST_RUN(test_contact_checks);
	TEST_RUN(test_malformed_plaintext);
	return TEST_DONE();
}
