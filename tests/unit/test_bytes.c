/*
 * test_bytes.c - the bounded byte cursors (as_reader / as_writer), the
 * big-endian key helpers and hex, from common/src/bytes.c.
 */
#include "test.h"

#include "anshim/bytes.h"

static void test_writer_little_endian(void)
{
	uint8_t buf[32];
	static const uint8_t want[] = {
		0xab,                                           /* u8 */
		0x34, 0x12,                                     /* u16 */
		0x78, 0x56, 0x34, 0x12,                         /* u32 */
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* u64 */
		0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* i64 -2 */
		'h', 'i',
	};
	struct as_writer w;

	as_writer_init(&w, buf, sizeof buf);
	as_writer_u8(&w, 0xab);
	as_writer_u16(&w, 0x1234);
	as_writer_u32(&w, 0x12345678);
	as_writer_u64(&w, UINT64_C(0x0102030405060708));
	as_writer_i64(&w, -2);
	as_writer_bytes(&w, "hi", 2);
	CHECK_OK(w.err);
	CHECK_EQ_INT(w.len, sizeof want);
	CHECK_MEM(buf, want, sizeof want);
}

static void test_reader_round_trip(void)
{
	uint8_t buf[64], copy[3];
	struct as_writer w;
	struct as_reader r;

	as_writer_init(&w, buf, sizeof buf);
	as_writer_u8(&w, 200);
	as_writer_u16(&w, 65535);
	as_writer_u32(&w, 4000000000u);
	as_writer_u64(&w, UINT64_MAX);
	as_writer_i64(&w, INT64_MIN);
	as_writer_bytes(&w, "xyz", 3);
	CHECK_OK(w.err);

	as_reader_init(&r, buf, w.len);
	CHECK_EQ_INT(as_reader_u8(&r), 200);
	CHECK_EQ_INT(as_reader_u16(&r), 65535);
	CHECK(as_reader_u32(&r) == 4000000000u);
	CHECK(as_reader_u64(&r) == UINT64_MAX);
	CHECK(as_reader_i64(&r) == INT64_MIN);
	as_reader_copy(&r, copy, 3);
	CHECK_MEM(copy, "xyz", 3);
	CHECK_OK(as_reader_finish(&r));
}

static void test_reader_truncated_is_sticky(void)
{
	static const uint8_t data[] = {1, 2, 3};
	uint8_t copy[4] = {9, 9, 9, 9};
	struct as_reader r;

	as_reader_init(&r, data, sizeof data);
	CHECK_EQ_INT(as_reader_u16(&r), 0x0201);
	/* Only one byte left: a u32 fails and returns 0 without consuming. */
	CHECK_EQ_INT(as_reader_u32(&r), 0);
	CHECK_RC(r.err, AS_E_TRUNCATED);
	CHECK_EQ_INT(r.left, 1);
	/* Later takes fail too, even ones that would fit. */
	CHECK_EQ_INT(as_reader_u8(&r), 0);
	CHECK(as_reader_take(&r, 0) == NULL);
	as_reader_copy(&r, copy, sizeof copy);
	CHECK_MEM(copy, "\0\0\0\0", 4);
	CHECK_RC(as_reader_finish(&r), AS_E_TRUNCATED);
}

static void test_reader_trailing_and_take(void)
{
	static const uint8_t data[] = {1, 2, 3, 4};
	const uint8_t *p;
	struct as_reader r;

	as_reader_init(&r, data, sizeof data);
	p = as_reader_take(&r, 3);
	CHECK(p == data);
	CHECK_RC(as_reader_finish(&r), AS_E_TRAILING);
	CHECK(as_reader_take(&r, 1) == data + 3);
	CHECK_OK(as_reader_finish(&r));
	/* A huge length must not wrap around. */
	as_reader_init(&r, data, sizeof data);
	CHECK(as_reader_take(&r, SIZE_MAX) == NULL);
	CHECK_RC(as_reader_finish(&r), AS_E_TRUNCATED);
}

static void test_reader_empty_and_null(void)
{
	struct as_reader r;

	as_reader_init(&r, NULL, 10); /* NULL data means no bytes at all */
	CHECK_EQ_INT(r.left, 0);
	CHECK_OK(as_reader_finish(&r));
	CHECK_EQ_INT(as_reader_u8(&r), 0);
	CHECK_RC(as_reader_finish(&r), AS_E_TRUNCATED);
}

static void test_writer_overflow_is_sticky(void)
{
	uint8_t buf[8];
	struct as_writer w;

	memset(buf, 0xee, sizeof buf);
	as_writer_init(&w, buf, 5);
	as_writer_u32(&w, 0x01020304);
	as_writer_u16(&w, 0xffff); /* does not fit: nothing written */
	CHECK_RC(w.err, AS_E_OVERSIZE);
	CHECK_EQ_INT(w.len, 4);
	as_writer_u8(&w, 7);       /* would fit, but the error is sticky */
	CHECK_EQ_INT(w.len, 4);
	CHECK_EQ_INT(buf[4], 0xee);
	CHECK_EQ_INT(buf[5], 0xee);

	as_writer_init(&w, NULL, 100); /* no buffer: capacity 0 */
	as_writer_bytes(&w, "", 0);
	CHECK_OK(w.err);
	as_writer_u8(&w, 1);
	CHECK_RC(w.err, AS_E_OVERSIZE);
}

static void test_big_endian_keys(void)
{
	uint8_t b8[8], b4[4];
	uint8_t lo[8], hi[8];

	as_put_be64(b8, UINT64_C(0x0102030405060708));
	CHECK_MEM(b8, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	CHECK(as_get_be64(b8) == UINT64_C(0x0102030405060708));
	as_put_be32(b4, 0xa1b2c3d4u);
	CHECK_MEM(b4, "\xa1\xb2\xc3\xd4", 4);
	CHECK(as_get_be32(b4) == 0xa1b2c3d4u);
	/* Byte order equals numeric order (what LMDB keys rely on). */
	as_put_be64(lo, 255);
	as_put_be64(hi, 256);
	CHECK(memcmp(lo, hi, 8) < 0);
	as_put_be64(lo, UINT64_MAX - 1);
	as_put_be64(hi, UINT64_MAX);
	CHECK(memcmp(lo, hi, 8) < 0);
}

static void test_hex(void)
{
	static const uint8_t bin[] = {0x00, 0x01, 0xab, 0xff};
	char text[9];
	uint8_t out[4];

	as_hex_encode(text, bin, sizeof bin);
	CHECK_STR(text, "0001abff");
	CHECK_OK(as_hex_decode(out, 4, "0001abff"));
	CHECK_MEM(out, bin, 4);
	CHECK_OK(as_hex_decode(out, 4, "0001ABFF"));
	CHECK_MEM(out, bin, 4);
	as_hex_encode(text, bin, 0);
	CHECK_STR(text, "");
	CHECK_RC(as_hex_decode(out, 4, "0001abf"), AS_E_HEX);   /* short */
	CHECK_RC(as_hex_decode(out, 4, "0001abff0"), AS_E_HEX); /* long */
	CHECK_RC(as_hex_decode(out, 4, "0001abfg"), AS_E_HEX);  /* not hex */
	CHECK_RC(as_hex_decode(out, 4, "0001ab f"), AS_E_HEX);
	CHECK_RC(as_hex_decode(out, 4, NULL), AS_E_HEX);
	CHECK_OK(as_hex_decode(out, 0, ""));
}

static void test_error_names(void)
{
	/* Every project code has its own name and message. */
	for (int code = AS_ERR_BASE; code >= AS_E_LAST; code--) {
		const char *name = as_errname(code);

		test_ctx("code %d", code);
		CHECK(name != NULL);
		CHECK(as_strerror(code) != NULL);
		if (strcmp(name, "AS_E_UNKNOWN") == 0) {
			CHECK_STR(as_strerror(code), "unknown Anshim error");
			continue;
		}
		CHECK(strncmp(name, "AS_E_", 5) == 0);
		for (int other = code - 1; other >= AS_E_LAST; other--)
			CHECK(strcmp(name, as_errname(other)) != 0);
	}
	test_ctx_clear();
	CHECK_STR(as_errname(0), "OK");
	CHECK_STR(as_strerror(0), "success");
	CHECK_STR(as_errname(AS_E_STALE), "AS_E_STALE");
	CHECK_STR(as_errname(AS_E_QR), "AS_E_QR");
	CHECK_STR(as_errname(-2), "errno 2");
	CHECK(strlen(as_strerror(-2)) > 0);
	CHECK(as_strerror(5) != NULL);
	CHECK_STR(as_errname(AS_E_LAST - 1), "AS_E_UNKNOWN");
}

int main(void)
{
	TEST_RUN(test_writer_little_endian);
	TEST_RUN(test_reader_round_trip);
	TEST_RUN(test_reader_truncated_is_sticky);
	TEST_RUN(test_reader_trailing_and_take);
	TEST_RUN(test_reader_empty_and_null);
	TEST_RUN(test_writer_overflow_is_sticky);
	TEST_RUN(test_big_endian_keys);
	TEST_RUN(test_hex);
	TEST_RUN(test_error_names);
	return TEST_DONE();
}
