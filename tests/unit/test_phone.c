/*
 * test_phone.c - phone number normalization to E.164 (common/src/phone.c):
 * every spelling of a Korean mobile number gives one string, landlines and
 * foreign numbers, the trunk-zero rule after +82, and rejected inputs.
 */
#include "test.h"

#include "anshim/phone.h"

static void check_ok(const char *text, const char *want)
{
	char out[AS_PHONE_MAX + 1];

	test_ctx("input \"%s\"", text);
	memset(out, 'x', sizeof out);
	if (CHECK_OK(as_phone_normalize(out, text)))
		CHECK_STR(out, want);
	test_ctx_clear();
}

static void check_bad(const char *text)
{
	char out[AS_PHONE_MAX + 1];

	test_ctx("input \"%s\"", text ? text : "(null)");
	CHECK_RC(as_phone_normalize(out, text), AS_E_PHONE);
	test_ctx_clear();
}

static void test_mobile_spellings(void)
{
	static const char *const spellings[] = {
		"010-1234-5678", "01012345678", "+82 10 1234 5678", "+82-10-1234-5678",
		"+821012345678", "+82 010 1234 5678", "010 1234 5678", "010.1234.5678",
		"(010) 1234-5678", "  010-1234-5678", "010-1234-5678 ", "\t+82 10-1234-5678",
		"+82 (0)10 1234 5678",
	};

	for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++)
		check_ok(spellings[i], "+821012345678");
}

static void test_other_korean_numbers(void)
{
	check_ok("02-123-4567", "+8221234567");    /* Seoul landline, 7 digits */
	check_ok("02-1234-5678", "+82212345678");  /* Seoul landline, 8 digits */
	check_ok("031-123-4567", "+82311234567");  /* Gyeonggi */
	check_ok("064-123-4567", "+82641234567");  /* Jeju */
	check_ok("070-1234-5678", "+827012345678"); /* VoIP */
	check_ok("011-123-4567", "+82111234567");  /* old 3-digit mobile */
	check_ok("+82 2 123 4567", "+8221234567");
	check_ok("+82 02 123 4567", "+8221234567");
}

static void test_foreign_numbers(void)
{
	check_ok("+1 202 555 0100", "+12025550100");
	check_ok("+44 20 7946 0958", "+442079460958");
	check_ok("+81-3-1234-5678", "+81312345678");
	check_ok("+12345678", "+12345678");               /* 8 digits: shortest */
	check_ok("+123456789012345", "+123456789012345"); /* 15 digits: E.164 max */
}

static void test_rejected(void)
{
	static const char *const bad[] = {
		"", " ", "-", "()", "abc", "010-1234-567a", "010-CALL-ME", "12345",
		"1012345678", "010-1234", "010-1234-56789", "0101234567890123456789", "+",
		"++821012345678", "+ +82 10 1234 5678", "010+1234+5678", "0101234+5678",
		"010-1234-5678+", "0", "00", "+0", "+0101234567", "+1234567",
		"+1234567890123456", "+82", "+82 0", "+82 1012", "+82 00 1234 5678",
		"+82 080 123 4567", "080-123-4567", "08-123-4567", "010_1234_5678",
		"010/1234/5678", "010,1234,5678", "010\n1234\n5678", "０１０-1234-5678",
		"01-123-4567", "010-123-456", "+82 10 1234 56789",
		"999999999999999999999999999999999999999999999999999999999999",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check_bad(bad[i]);
	check_bad(NULL);
}

static void test_output_never_overflows(void)
{
	char out[AS_PHONE_MAX + 2];

	/* The longest accepted number fills the buffer exactly. */
	out[AS_PHONE_MAX + 1] = 0x5a;
	CHECK_OK(as_phone_normalize(out, "+999999999999999"));
	CHECK_EQ_INT(strlen(out), AS_PHONE_MAX);
	CHECK_EQ_INT(out[AS_PHONE_MAX + 1], 0x5a);
}

static void test_idempotent(void)
{
	static const char *const inputs[] = {
		"010-1234-5678", "02-123-4567", "+1 202 555 0100", "+82 010 9876 5432",
	};
	char once[AS_PHONE_MAX + 1], twice[AS_PHONE_MAX + 1];

	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		test_ctx("input \"%s\"", inputs[i]);
		if (CHECK_OK(as_phone_normalize(once, inputs[i])) &&
		    CHECK_OK(as_phone_normalize(twice, once)))
			CHECK_STR(twice, once);
	}
	test_ctx_clear();
}

int main(void)
{
	TEST_RUN(test_mobile_spellings);
	TEST_RUN(test_other_korean_numbers);
	TEST_RUN(test_foreign_numbers);
	TEST_RUN(test_rejected);
	TEST_RUN(test_output_never_overflows);
	TEST_RUN(test_idempotent);
	return TEST_DONE();
}
