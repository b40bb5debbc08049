/*
 * test_identity.c - pid, gateway id and holder id derivations
 * (common/src/identity.c): determinism, one pid for every spelling of a
 * phone, separation between keys, phones and id kinds.
 */
#include "test.h"

static struct test_keys keys;

static void test_pid_is_deterministic(void)
{
	uint8_t a[AS_PID_LEN], b[AS_PID_LEN], zero[AS_PID_LEN] = {0};

	as_pid_derive(a, keys.pseudonym, "+821012345678");
	as_pid_derive(b, keys.pseudonym, "+821012345678");
	CHECK_MEM(a, b, AS_PID_LEN);
	CHECK(memcmp(a, zero, AS_PID_LEN) != 0);
	/* It is keyed BLAKE2b-128 of the normalized phone, as documented. */
	crypto_generichash(b, AS_PID_LEN, (const unsigned char *)"+821012345678", 13,
			   keys.pseudonym, AS_PSEUDONYM_KEY_LEN);
	CHECK_MEM(a, b, AS_PID_LEN);
}

static void test_pid_differs(void)
{
	uint8_t a[AS_PID_LEN], b[AS_PID_LEN], other_key[AS_PSEUDONYM_KEY_LEN];

	as_pid_derive(a, keys.pseudonym, "+821012345678");
	as_pid_derive(b, keys.pseudonym, "+821012345679");
	CHECK(memcmp(a, b, AS_PID_LEN) != 0);
	memcpy(other_key, keys.pseudonym, sizeof other_key);
	other_key[31] ^= 1;
	as_pid_derive(b, other_key, "+821012345678");
	CHECK(memcmp(a, b, AS_PID_LEN) != 0);
}

static void test_pid_from_every_spelling(void)
{
	static const char *const spellings[] = {
		"010-1234-5678", "01012345678", "+82 10 1234 5678", "+82-10-1234-5678",
		"+82 010 1234 5678", "(010) 1234 5678", "+821012345678",
	};
	uint8_t want[AS_PID_LEN], got[AS_PID_LEN];

	as_pid_derive(want, keys.pseudonym, "+821012345678");
	for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
		test_ctx("spelling \"%s\"", spellings[i]);
		memset(got, 0, sizeof got);
		if (CHECK_OK(as_pid_from_phone(got, keys.pseudonym, spellings[i])))
			CHECK_MEM(got, want, AS_PID_LEN);
	}
	test_ctx_clear();
	CHECK_RC(as_pid_from_phone(got, keys.pseudonym, "call me"), AS_E_PHONE);
	CHECK_RC(as_pid_from_phone(got, keys.pseudonym, ""), AS_E_PHONE);
}

static void test_gateway_and_holder_ids(void)
{
	uint8_t gw[AS_GWID_LEN], gw2[AS_GWID_LEN], holder[AS_HOLDER_ID_LEN];
	uint8_t other_gw[AS_GWID_LEN], pid[AS_PID_LEN];

	as_gateway_id(gw, keys.device_pk);
	as_gateway_id(gw2, keys.device_pk);
	CHECK_MEM(gw, gw2, AS_GWID_LEN);
	/* Domain separation: the same key gives different ids per role. */
	as_holder_id(holder, keys.device_pk);
	CHECK(memcmp(gw, holder, AS_GWID_LEN) != 0);
	as_gateway_id(other_gw, keys.holder_pk);
	CHECK(memcmp(gw, other_gw, AS_GWID_LEN) != 0);
	/* And neither is the unkeyed hash of the bare key. */
	crypto_generichash(pid, sizeof pid, keys.device_pk, AS_SIGN_PK_LEN, NULL, 0);
	CHECK(memcmp(gw, pid, AS_GWID_LEN) != 0);
	CHECK(memcmp(holder, pid, AS_HOLDER_ID_LEN) != 0);
	/* The documented construction: BLAKE2b-128(tag || key). */
	{
		crypto_generichash_state st;
		static const char tag[] = "anshim gateway id v1";

		crypto_generichash_init(&st, NULL, 0, AS_GWID_LEN);
		crypto_generichash_update(&st, (const unsigned char *)tag, strlen(tag));
		crypto_generichash_update(&st, keys.device_pk, AS_SIGN_PK_LEN);
		crypto_generichash_final(&st, gw2, AS_GWID_LEN);
		CHECK_MEM(gw, gw2, AS_GWID_LEN);
	}
}

static void test_crypto_init_twice(void)
{
	CHECK_OK(as_crypto_init());
	CHECK_OK(as_crypto_init());
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_pid_is_deterministic);
	TEST_RUN(test_pid_differs);
	TEST_RUN(test_pid_from_every_spelling);
	TEST_RUN(test_gateway_and_holder_ids);
	TEST_RUN(test_crypto_init_twice);
	return TEST_DONE();
}
