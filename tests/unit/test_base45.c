/*
 * test_base45.c - Base45 (RFC 9285): the RFC's examples, strict decoding
 * (bad characters, lowercase, dangling characters, groups out of range),
 * buffer limits, and exhaustive round trips of every 1- and 2-byte value.
 */
#include "test.h"

#include "anshim/base45.h"

static void check_encode(const char *bin, const char *want)
{
	char text[64];
	size_t n = strlen(bin);

	test_ctx("encode \"%s\"", bin);
	CHECK_EQ_INT(as_base45_encoded_len(n), strlen(want));
	CHECK_RC(as_base45_encode(text, sizeof text, bin, n), (int)strlen(want));
	CHECK_STR(text, want);
	test_ctx_clear();
}

static void check_decode(const char *text, const char *want)
{
	uint8_t bin[64];

	test_ctx("decode \"%s\"", text);
	if (CHECK_RC(as_base45_decode(bin, sizeof bin, text, strlen(text)), (int)strlen(want)))
		CHECK_MEM(bin, want, strlen(want));
	test_ctx_clear();
}

static int decode_rc(const char *text)
{
	uint8_t bin[64];

	return as_base45_decode(bin, sizeof bin, text, strlen(text));
}

static void test_rfc9285_examples(void)
{
	check_encode("AB", "BB8");
	check_encode("Hello!!", "%69 VD92EX0");
	check_encode("base-45", "UJCLQE7W581");
	check_encode("ietf!", "QED8WEX0");
	check_decode("BB8", "AB");
	check_decode("%69 VD92EX0", "Hello!!");
	check_decode("UJCLQE7W581", "base-45");
	check_decode("QED8WEX0", "ietf!");
	check_encode("", "");
	check_decode("", "");
}

static void test_invalid_decodes(void)
{
	CHECK_RC(decode_rc("GGW"), AS_E_BASE45);  /* 65536: one past 0xffff */
	CHECK_RC(decode_rc("FGW"), 2);            /* 65535 is the largest group */
	CHECK_RC(decode_rc("ZZZZ"), AS_E_BASE45); /* dangling 4th character */
	CHECK_RC(decode_rc("Z"), AS_E_BASE45);    /* a single character */
	CHECK_RC(decode_rc("BB8B"), AS_E_BASE45);
	CHECK_RC(decode_rc("::"), AS_E_BASE45);   /* 2-char group 2024 > 255 */
	CHECK_RC(decode_rc("U5"), 1);             /* 30 + 5*45 = 255 */
	CHECK_RC(decode_rc("V5"), AS_E_BASE45);   /* 256 */
	CHECK_RC(decode_rc("bb8"), AS_E_BASE45);  /* lowercase is not Base45 */
	CHECK_RC(decode_rc("BB8qed"), AS_E_BASE45);
	CHECK_RC(decode_rc("BB#"), AS_E_BASE45);
	CHECK_RC(decode_rc("B=8"), AS_E_BASE45);
	CHECK_RC(decode_rc("BB8\n"), AS_E_BASE45);
	CHECK_RC(decode_rc("BB_"), AS_E_BASE45);
	CHECK_RC(decode_rc("\xc3\xa9\x41"), AS_E_BASE45); /* UTF-8 'é' */
	/* An embedded NUL is a bad character, not an end of text. */
	{
		uint8_t bin[8];
		CHECK_RC(as_base45_decode(bin, sizeof bin, "B\0" "8", 3), AS_E_BASE45);
	}
}

static void test_every_alphabet_character(void)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
	uint8_t bin[4];
	char text[4];

	/* "c0" decodes to the character's value: the alphabet's order. */
	for (int c = 0; c < 256; c++) {
		const char *at = c ? memchr(alphabet, c, 45) : NULL;

		text[0] = (char)c;
		text[1] = '0';
		test_ctx("character 0x%02x", c);
		if (at) {
			if (CHECK_RC(as_base45_decode(bin, sizeof bin, text, 2), 1))
				CHECK_EQ_INT(bin[0], at - alphabet);
		} else {
			CHECK_RC(as_base45_decode(bin, sizeof bin, text, 2), AS_E_BASE45);
		}
	}
	test_ctx_clear();
}

static void test_buffer_limits(void)
{
	char text[16];
	uint8_t bin[4];

	/* "Hello!!" needs 11 characters and a NUL. */
	CHECK_RC(as_base45_encode(text, 12, "Hello!!", 7), 11);
	CHECK_RC(as_base45_encode(text, 11, "Hello!!", 7), AS_E_OVERSIZE);
	CHECK_RC(as_base45_encode(text, 0, "", 0), AS_E_OVERSIZE);
	CHECK_RC(as_base45_encode(text, 1, "", 0), 0);
	/* "%69 VD92EX0" decodes to 7 bytes. */
	{
		uint8_t big[8];
		CHECK_RC(as_base45_decode(big, 7, "%69 VD92EX0", 11), 7);
		CHECK_RC(as_base45_decode(big, 6, "%69 VD92EX0", 11), AS_E_OVERSIZE);
	}
	CHECK_RC(as_base45_decode(bin, 1, "BB8", 3), AS_E_OVERSIZE);
	CHECK_RC(as_base45_decode(bin, 2, "BB8", 3), 2);
}

static void test_exhaustive_round_trip(void)
{
	uint8_t in[2], out[2];
	char text[4];
	int bad = 0;

	/* Every 2-byte value: 3 characters, and back. */
	for (unsigned v = 0; v <= 0xffff; v++) {
		in[0] = (uint8_t)(v >> 8);
		in[1] = (uint8_t)v;
		if (as_base45_encode(text, sizeof text, in, 2) != 3 ||
		    as_base45_decode(out, sizeof out, text, 3) != 2 || memcmp(in, out, 2) != 0)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	/* Every 1-byte value: 2 characters, and back. */
	for (unsigned v = 0; v <= 0xff; v++) {
		in[0] = (uint8_t)v;
		if (as_base45_encode(text, sizeof text, in, 1) != 2 ||
		    as_base45_decode(out, sizeof out, text, 2) != 1 || out[0] != in[0])
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
}

static void test_round_trip_lengths(void)
{
	uint8_t in[400], out[400];
	char text[601];

	test_fill(in, sizeof in, 3);
	for (size_t n = 0; n <= sizeof in; n++) {
		int len = as_base45_encode(text, sizeof text, in, n);

		test_ctx("length %zu", n);
		if (!CHECK_EQ_INT(len, as_base45_encoded_len(n)))
			continue;
		CHECK_EQ_INT(strspn(text, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"),
			     (size_t)len);
		if (CHECK_RC(as_base45_decode(out, sizeof out, text, (size_t)len), (int)n))
			CHECK_MEM(out, in, n);
	}
	test_ctx_clear();
}

/* The QR text forms: prefix + Base45 both ways. */
static void test_prefixed_text(void)
{
	char text[32];
	uint8_t out[8];

	CHECK_RC(as_base45_text_encode(text, sizeof text, "AX9:", "AB", 2), 7);
	CHECK_STR(text, "AX9:BB8");
	CHECK_RC(as_base45_text_encode(text, 4, "AX9:", "AB", 2), AS_E_OVERSIZE);
	CHECK_RC(as_base45_text_encode(text, 7, "AX9:", "AB", 2), AS_E_OVERSIZE);
	CHECK_RC(as_base45_text_encode(text, 8, "AX9:", "AB", 2), 7);
	CHECK_RC(as_base45_text_decode(out, sizeof out, "AX9:", "AX9:BB8", 7), 2);
	CHECK_MEM(out, "AB", 2);
	CHECK_RC(as_base45_text_decode(out, sizeof out, "AX9:", "AX8:BB8", 7), AS_E_PREFIX);
	CHECK_RC(as_base45_text_decode(out, sizeof out, "AX9:", "AX9", 3), AS_E_PREFIX);
	CHECK_RC(as_base45_text_decode(out, sizeof out, "AX9:", "AX9:", 4), 0);
	CHECK_RC(as_base45_text_decode(out, sizeof out, "AX9:", "AX9:bb8", 7), AS_E_BASE45);
	/* 2 bytes of room: 3 characters fit, 4 or more are too many. */
	CHECK_RC(as_base45_text_decode(out, 2, "AX9:", "AX9:BB8", 7), 2);
	CHECK_RC(as_base45_text_decode(out, 2, "AX9:", "AX9:BB80", 8), AS_E_OVERSIZE);
}

int main(void)
{
	TEST_RUN(test_rfc9285_examples);
	TEST_RUN(test_invalid_decodes);
	TEST_RUN(test_every_alphabet_character);
	TEST_RUN(test_buffer_limits);
	TEST_RUN(test_exhaustive_round_trip);
	TEST_RUN(test_round_trip_lengths);
	TEST_RUN(test_prefixed_text);
	return TEST_DONE();
}
