/*
 * test_venuecode.c - the venue code codec (common/src/venuecode.c): poster
 * and rotating layouts, strict decoding (truncation, trailing bytes, magic,
 * version, type, field ranges, the name's UTF-8), signatures over every
 * signed byte, the QR text form and slot arithmetic.
 */
#include "test.h"

#include "anshim/base45.h"
#include "anshim/bytes.h"
#include "anshim/venuecode.h"

/* Field offsets (venuecode.h). */
#define OFF_TYPE 2
#define OFF_VENUE 3
#define OFF_ISSUED 7
#define OFF_NAME_LEN 15
#define OFF_NAME 16
#define OFF_GWID 7
#define OFF_SLOT_START 23
#define OFF_SLOT_SECONDS 31
#define OFF_ROT_SIG 33

#define POSTER_NAME "\xec\x95\x88\xec\x8b\xac \xec\xb9\xb4\xed\x8e\x98 Jeju" /* 안심 카페 Jeju */

static struct test_keys keys;

static int dec_code(const uint8_t *in, size_t len)
{
	struct as_venue_code c;

	return as_venue_code_decode(&c, in, len);
}

static void poster_make(struct as_venue_code *c, const char *name)
{
	memset(c, 0, sizeof *c);
	c->type = AS_VC_POSTER;
	c->venue_id = 4242;
	c->issued_at = TEST_NOW;
	snprintf(c->name, sizeof c->name, "%s", name);
	if (as_venue_code_sign(c, keys.auth_sk) != 0)
		abort();
}

static void rotating_make(struct as_venue_code *c, int64_t now)
{
	uint8_t gw_id[AS_GWID_LEN];

	as_gateway_id(gw_id, keys.device_pk);
	if (as_venue_code_rotating(c, 4242, gw_id, now, AS_SLOT_DEFAULT, keys.device_sk) != 0)
		abort();
}

static void test_layouts(void)
{
	struct as_venue_code p, r;
	uint8_t buf[AS_VENUE_CODE_MAX + 8], gw_id[AS_GWID_LEN];
	size_t nlen = strlen(POSTER_NAME);

	poster_make(&p, POSTER_NAME);
	CHECK_RC(as_venue_code_encode(buf, sizeof buf, &p), (int)(AS_VENUE_POSTER_BASE_LEN + nlen));
	CHECK_MEM(buf, "V\x01\x01", 3);
	CHECK_EQ_INT(buf[OFF_VENUE], 4242 & 0xff);
	CHECK_EQ_INT(buf[OFF_VENUE + 1], 4242 >> 8);
	CHECK_EQ_INT(buf[OFF_ISSUED], TEST_NOW & 0xff);
	CHECK_EQ_INT(buf[OFF_NAME_LEN], nlen);
	CHECK_MEM(buf + OFF_NAME, POSTER_NAME, nlen);
	CHECK_MEM(buf + OFF_NAME + nlen, p.sig, AS_SIG_LEN);

	rotating_make(&r, TEST_NOW + 17);
	as_gateway_id(gw_id, keys.device_pk);
	CHECK_RC(as_venue_code_encode(buf, sizeof buf, &r), AS_VENUE_ROTATING_LEN);
	CHECK_MEM(buf, "V\x01\x02", 3);
	CHECK_MEM(buf + OFF_GWID, gw_id, AS_GWID_LEN);
	CHECK_EQ_INT(buf[OFF_SLOT_SECONDS], AS_SLOT_DEFAULT);
	CHECK_EQ_INT(buf[OFF_SLOT_SECONDS + 1], 0);
	CHECK_MEM(buf + OFF_ROT_SIG, r.sig, AS_SIG_LEN);
	CHECK(r.slot_start == TEST_NOW); /* TEST_NOW is a multiple of 30 */
	/* A buffer one byte short is refused. */
	CHECK_RC(as_venue_code_encode(buf, AS_VENUE_ROTATING_LEN - 1, &r), AS_E_OVERSIZE);
}

static void test_round_trips(void)
{
	struct as_venue_code p, r, d;
	uint8_t a[AS_VENUE_CODE_MAX], b[AS_VENUE_CODE_MAX];
	int n;

	poster_make(&p, POSTER_NAME);
	n = as_venue_code_encode(a, sizeof a, &p);
	CHECK(n > 0);
	CHECK_OK(as_venue_code_decode(&d, a, (size_t)n));
	CHECK_EQ_INT(d.type, AS_VC_POSTER);
	CHECK_EQ_INT(d.venue_id, 4242);
	CHECK(d.issued_at == TEST_NOW);
	CHECK_STR(d.name, POSTER_NAME);
	CHECK_OK(as_venue_code_verify(&d, keys.auth_pk));
	CHECK_RC(as_venue_code_encode(b, sizeof b, &d), n);
	CHECK_MEM(a, b, (size_t)n);

	rotating_make(&r, TEST_NOW + 45);
	n = as_venue_code_encode(a, sizeof a, &r);
	CHECK_RC(n, AS_VENUE_ROTATING_LEN);
	CHECK_OK(as_venue_code_decode(&d, a, (size_t)n));
	CHECK_EQ_INT(d.type, AS_VC_ROTATING);
	CHECK(d.slot_start == TEST_NOW + 30);
	CHECK_EQ_INT(d.slot_seconds, AS_SLOT_DEFAULT);
	CHECK_MEM(d.gw_id, r.gw_id, AS_GWID_LEN);
	CHECK_OK(as_venue_code_verify(&d, keys.device_pk));
	CHECK_RC(as_venue_code_verify(&d, keys.auth_pk), AS_E_SIGNATURE);
	CHECK_RC(as_venue_code_encode(b, sizeof b, &d), n);
	CHECK_MEM(a, b, (size_t)n);

	/* The longest name fits AS_VENUE_CODE_MAX exactly. */
	char longest[AS_VENUE_NAME_MAX + 1];
	memset(longest, 'x', AS_VENUE_NAME_MAX);
	longest[AS_VENUE_NAME_MAX] = '\0';
	poster_make(&p, longest);
	CHECK_RC(as_venue_code_encode(a, sizeof a, &p), AS_VENUE_CODE_MAX);
	CHECK_OK(as_venue_code_decode(&d, a, AS_VENUE_CODE_MAX));
	CHECK_STR(d.name, longest);
}

static void test_framing(void)
{
	struct as_venue_code p, r;
	uint8_t pb[AS_VENUE_CODE_MAX], rb[AS_VENUE_CODE_MAX];
	int pn, rn;

	poster_make(&p, POSTER_NAME);
	rotating_make(&r, TEST_NOW);
	pn = as_venue_code_encode(pb, sizeof pb, &p);
	rn = as_venue_code_encode(rb, sizeof rb, &r);
	if (!CHECK(pn > 0 && rn > 0))
		return;
	test_check_truncations("poster", dec_code, pb, (size_t)pn, NULL);
	test_check_truncations("rotating", dec_code, rb, (size_t)rn, NULL);
	test_check_framing("poster", dec_code, pb, (size_t)pn, 2 * AS_VENUE_CODE_MAX + 1);
	test_check_framing("rotating", dec_code, rb, (size_t)rn, 2 * AS_VENUE_CODE_MAX + 1);

	/* Unknown types; a poster's bytes read as a rotating code and back. */
	for (int t = 0; t < 256; t++) {
		uint8_t save = pb[OFF_TYPE];
		if (t == AS_VC_POSTER || t == AS_VC_ROTATING)
			continue;
		pb[OFF_TYPE] = (uint8_t)t;
		test_ctx("type %d", t);
		if (!CHECK_RC(test_decode_copy(dec_code, pb, (size_t)pn), AS_E_FIELD))
			break;
		pb[OFF_TYPE] = save;
	}
	test_ctx_clear();
	pb[OFF_TYPE] = AS_VC_ROTATING;
	CHECK_ERR(test_decode_copy(dec_code, pb, (size_t)pn));
	pb[OFF_TYPE] = AS_VC_POSTER;
	rb[OFF_TYPE] = AS_VC_POSTER;
	CHECK_ERR(test_decode_copy(dec_code, rb, (size_t)rn));
	rb[OFF_TYPE] = AS_VC_ROTATING;

	/* Fields. */
	test_put_le(pb, OFF_VENUE, 4, 0);
	CHECK_RC(test_decode_copy(dec_code, pb, (size_t)pn), AS_E_FIELD);
	test_put_le(pb, OFF_VENUE, 4, 4242);
	test_put_le(rb, OFF_VENUE, 4, 0);
	CHECK_RC(test_decode_copy(dec_code, rb, (size_t)rn), AS_E_FIELD);
	test_put_le(rb, OFF_VENUE, 4, 4242);
	CHECK_OK(test_decode_copy(dec_code, pb, (size_t)pn));
	CHECK_OK(test_decode_copy(dec_code, rb, (size_t)rn));
}

/* A poster whose name bytes are name[0..len) (any bytes), signature zero. */
static int poster_raw(uint8_t *out, const void *name, size_t len)
{
	struct as_writer w;

	as_writer_init(&w, out, AS_VENUE_CODE_MAX + 300);
	as_writer_u8(&w, 'V');
	as_writer_u8(&w, 1);
	as_writer_u8(&w, AS_VC_POSTER);
	as_writer_u32(&w, 7);
	as_writer_i64(&w, TEST_NOW);
	as_writer_u8(&w, (uint8_t)len);
	as_writer_bytes(&w, name, len);
	as_writer_bytes(&w, keys.auth_pk, 32); /* 64 arbitrary bytes */
	as_writer_bytes(&w, keys.auth_pk, 32);
	return w.err ? w.err : (int)w.len;
}

static void test_names(void)
{
	static const struct { const char *name; size_t len; int want; } cases[] = {
		{"", 0, AS_E_LENGTH},
		{"ok", 2, 0},
		{"\xed\x95\x9c", 3, 0},               /* 한 */
		{"\xed\x95", 2, AS_E_FIELD},          /* cut in the middle */
		{"\xc0\x80", 2, AS_E_FIELD},          /* overlong NUL */
		{"\xed\xa0\x80", 3, AS_E_FIELD},      /* surrogate */
		{"\xff", 1, AS_E_FIELD},
		{"a\nb", 3, AS_E_FIELD},
		{"tab\t", 4, AS_E_FIELD},
		{"del\x7f", 4, AS_E_FIELD},
		{"c1\xc2\x85", 4, AS_E_FIELD},        /* NEL, a C1 control */
		{"nul\0x", 5, AS_E_FIELD},
	};
	uint8_t buf[AS_VENUE_CODE_MAX + 300];
	char big[AS_VENUE_NAME_MAX + 2];
	struct as_venue_code c;
	int n;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		test_ctx("name case %zu", i);
		n = poster_raw(buf, cases[i].name, cases[i].len);
		CHECK_RC(test_decode_copy(dec_code, buf, (size_t)n), cases[i].want);
	}
	memset(big, 'n', sizeof big);
	test_ctx("name of 64 bytes");
	n = poster_raw(buf, big, AS_VENUE_NAME_MAX);
	CHECK_OK(test_decode_copy(dec_code, buf, (size_t)n));
	test_ctx("name of 65 bytes");
	n = poster_raw(buf, big, AS_VENUE_NAME_MAX + 1);
	CHECK_RC(test_decode_copy(dec_code, buf, (size_t)n), AS_E_LENGTH);
	test_ctx("name of 200 bytes");
	{
		char huge[200];
		memset(huge, 'h', sizeof huge);
		n = poster_raw(buf, huge, sizeof huge);
		CHECK_RC(test_decode_copy(dec_code, buf, (size_t)n), AS_E_LENGTH);
	}
	test_ctx_clear();

	/* The encoder and signer refuse the same names. */
	memset(&c, 0, sizeof c);
	c.type = AS_VC_POSTER;
	c.venue_id = 1;
	CHECK_RC(as_venue_code_sign(&c, keys.auth_sk), AS_E_FIELD); /* empty */
	snprintf(c.name, sizeof c.name, "bad\x01");
	CHECK_RC(as_venue_code_encode(buf, sizeof buf, &c), AS_E_FIELD);
	snprintf(c.name, sizeof c.name, "\xed\x95");
	CHECK_RC(as_venue_code_encode(buf, sizeof buf, &c), AS_E_FIELD);
	memset(c.name, 'x', sizeof c.name); /* no NUL */
	CHECK_RC(as_venue_code_encode(buf, sizeof buf, &c), AS_E_FIELD);
	snprintf(c.name, sizeof c.name, "fine");
	c.venue_id = 0;
	CHECK_RC(as_venue_code_encode(buf, sizeof buf, &c), AS_E_FIELD);
	c.venue_id = 1;
	c.type = 3;
	CHECK_RC(as_venue_code_encode(buf, sizeof buf, &c), AS_E_FIELD);
}

static void test_slots(void)
{
	struct as_venue_code r;
	uint8_t buf[AS_VENUE_CODE_MAX], gw_id[AS_GWID_LEN];
	int n;

	rotating_make(&r, TEST_NOW);
	n = as_venue_code_encode(buf, sizeof buf, &r);
	if (!CHECK_RC(n, AS_VENUE_ROTATING_LEN))
		return;
	test_put_le(buf, OFF_SLOT_SECONDS, 2, AS_SLOT_MIN - 1);
	CHECK_RC(test_decode_copy(dec_code, buf, (size_t)n), AS_E_FIELD);
	test_put_le(buf, OFF_SLOT_SECONDS, 2, 0);
	CHECK_RC(test_decode_copy(dec_code, buf, (size_t)n), AS_E_FIELD);
	test_put_le(buf, OFF_SLOT_SECONDS, 2, AS_SLOT_MAX + 1);
	CHECK_RC(test_decode_copy(dec_code, buf, (size_t)n), AS_E_FIELD);
	test_put_le(buf, OFF_SLOT_SECONDS, 2, 65535);
	CHECK_RC(test_decode_copy(dec_code, buf, (size_t)n), AS_E_FIELD);
	test_put_le(buf, OFF_SLOT_SECONDS, 2, AS_SLOT_MIN);
	CHECK_OK(test_decode_copy(dec_code, buf, (size_t)n)); /* TEST_NOW % 5 == 0 */
	test_put_le(buf, OFF_SLOT_SECONDS, 2, 3600);
	CHECK_OK(test_decode_copy(dec_code, buf, (size_t)n)); /* TEST_NOW % 3600 == 0 */
	test_put_le(buf, OFF_SLOT_START, 8, (uint64_t)(TEST_NOW + 1));
	CHECK_RC(test_decode_copy(dec_code, buf, (size_t)n), AS_E_FIELD);
	test_put_le(buf, OFF_SLOT_SECONDS, 2, 30);
	test_put_le(buf, OFF_SLOT_START, 8, (uint64_t)(TEST_NOW + 15));
	CHECK_RC(test_decode_copy(dec_code, buf, (size_t)n), AS_E_FIELD);
	test_put_le(buf, OFF_SLOT_START, 8, (uint64_t)(int64_t)-60);
	CHECK_OK(test_decode_copy(dec_code, buf, (size_t)n));
	test_put_le(buf, OFF_SLOT_START, 8, (uint64_t)(int64_t)-61);
	CHECK_RC(test_decode_copy(dec_code, buf, (size_t)n), AS_E_FIELD);

	/* as_venue_slot_start is a floor, also below zero. */
	CHECK(as_venue_slot_start(0, 30) == 0);
	CHECK(as_venue_slot_start(29, 30) == 0);
	CHECK(as_venue_slot_start(30, 30) == 30);
	CHECK(as_venue_slot_start(-1, 30) == -30);
	CHECK(as_venue_slot_start(-30, 30) == -30);
	CHECK(as_venue_slot_start(-31, 30) == -60);
	CHECK(as_venue_slot_start(-59, 30) == -60);
	CHECK(as_venue_slot_start(TEST_NOW + 3599, 3600) == TEST_NOW);
	CHECK(as_venue_slot_start(INT64_MAX, 5) % 5 == 0);
	CHECK(as_venue_slot_start(INT64_MIN + 1, 5) % 5 == 0); /* no overflow */
	for (int64_t t = -200; t <= 200; t++) {
		int64_t s = as_venue_slot_start(t, 7);
		test_ctx("t=%lld", (long long)t);
		if (!CHECK(s <= t && t < s + 7 && s % 7 == 0))
			break;
	}
	test_ctx_clear();

	/* The builder: slot holding now; out-of-range slot lengths refused. */
	as_gateway_id(gw_id, keys.device_pk);
	CHECK_OK(as_venue_code_rotating(&r, 9, gw_id, -1, 30, keys.device_sk));
	CHECK(r.slot_start == -30);
	CHECK_OK(as_venue_code_verify(&r, keys.device_pk));
	CHECK_RC(as_venue_code_rotating(&r, 9, gw_id, TEST_NOW, AS_SLOT_MIN - 1, keys.device_sk),
		 AS_E_FIELD);
	CHECK_RC(as_venue_code_rotating(&r, 9, gw_id, TEST_NOW, AS_SLOT_MAX + 1, keys.device_sk),
		 AS_E_FIELD);
	CHECK_RC(as_venue_code_rotating(&r, 0, gw_id, TEST_NOW, 30, keys.device_sk), AS_E_FIELD);
	CHECK_OK(as_venue_code_rotating(&r, 9, gw_id, TEST_NOW + 3599, AS_SLOT_MAX,
					keys.device_sk));
	CHECK(r.slot_start == TEST_NOW);
}

/* Flip each bit pattern 0x01 of every byte in turn: a code that still
 * decodes must no longer verify. */
static void check_flips(const char *what, const struct as_venue_code *c, const uint8_t *pk)
{
	uint8_t buf[AS_VENUE_CODE_MAX];
	struct as_venue_code d;
	int n = as_venue_code_encode(buf, sizeof buf, c), decoded = 0;

	if (!CHECK(n > 0))
		return;
	for (int i = 0; i < n; i++) {
		buf[i] ^= 0x01;
		test_ctx("%s with byte %d flipped", what, i);
		if (as_venue_code_decode(&d, buf, (size_t)n) == 0) {
			decoded++;
			if (!CHECK_RC(as_venue_code_verify(&d, pk), AS_E_SIGNATURE))
				break;
		}
		buf[i] ^= 0x01;
	}
	test_ctx_clear();
	/* Most bytes (all of the signature and ids) still decode when flipped. */
	CHECK(decoded >= AS_SIG_LEN + 4);
	CHECK_OK(as_venue_code_decode(&d, buf, (size_t)n));
	CHECK_OK(as_venue_code_verify(&d, pk));
}

static void test_signatures(void)
{
	struct as_venue_code p, r, x;

	poster_make(&p, POSTER_NAME);
	rotating_make(&r, TEST_NOW);
	CHECK_OK(as_venue_code_verify(&p, keys.auth_pk));
	CHECK_RC(as_venue_code_verify(&p, keys.other_pk), AS_E_SIGNATURE);
	CHECK_OK(as_venue_code_verify(&r, keys.device_pk));
	CHECK_RC(as_venue_code_verify(&r, keys.auth_pk), AS_E_SIGNATURE);
	check_flips("poster", &p, keys.auth_pk);
	check_flips("rotating", &r, keys.device_pk);

	/* Changing a field in the struct breaks the signature too. */
	x = p;
	x.issued_at++;
	CHECK_RC(as_venue_code_verify(&x, keys.auth_pk), AS_E_SIGNATURE);
	x = p;
	x.name[0] = 'X';
	CHECK_RC(as_venue_code_verify(&x, keys.auth_pk), AS_E_SIGNATURE);
	x = r;
	x.slot_start += 30;
	CHECK_RC(as_venue_code_verify(&x, keys.device_pk), AS_E_SIGNATURE);
	/* An invalid struct never verifies. */
	x = r;
	x.slot_seconds = 1;
	CHECK_RC(as_venue_code_verify(&x, keys.device_pk), AS_E_SIGNATURE);
	/* Signing is deterministic (Ed25519): the same code, the same bytes. */
	x = p;
	CHECK_OK(as_venue_code_sign(&x, keys.auth_sk));
	CHECK_MEM(x.sig, p.sig, AS_SIG_LEN);
}

static void test_text(void)
{
	struct as_venue_code p, r, d;
	char text[AS_VENUE_CODE_TEXT_MAX], bad[AS_VENUE_CODE_TEXT_MAX + 200];
	char longest[AS_VENUE_NAME_MAX + 1];
	uint8_t bin[AS_VENUE_CODE_MAX + 2];
	int n, m;

	poster_make(&p, POSTER_NAME);
	n = as_venue_code_to_text(text, sizeof text, &p);
	CHECK(n > 4 && (size_t)n == strlen(text));
	CHECK(strncmp(text, "AV1:", 4) == 0);
	CHECK_OK(as_venue_code_from_text(&d, text, (size_t)n));
	CHECK_STR(d.name, POSTER_NAME);
	CHECK_OK(as_venue_code_verify(&d, keys.auth_pk));

	rotating_make(&r, TEST_NOW);
	n = as_venue_code_to_text(text, sizeof text, &r);
	CHECK(n > 4);
	CHECK_OK(as_venue_code_from_text(&d, text, (size_t)n));
	CHECK_OK(as_venue_code_verify(&d, keys.device_pk));
	CHECK(d.slot_start == TEST_NOW);

	/* The longest code fits AS_VENUE_CODE_TEXT_MAX; one byte less is refused. */
	memset(longest, 'w', AS_VENUE_NAME_MAX);
	longest[AS_VENUE_NAME_MAX] = '\0';
	poster_make(&p, longest);
	n = as_venue_code_to_text(text, sizeof text, &p);
	CHECK(n > 0 && n < AS_VENUE_CODE_TEXT_MAX);
	CHECK_RC(as_venue_code_to_text(text, (size_t)n, &p), AS_E_OVERSIZE);
	CHECK_RC(as_venue_code_to_text(text, 4, &p), AS_E_OVERSIZE);

	/* Prefixes. */
	CHECK_RC(as_venue_code_from_text(&d, "", 0), AS_E_PREFIX);
	CHECK_RC(as_venue_code_from_text(&d, "AV1", 3), AS_E_PREFIX);
	n = as_venue_code_to_text(text, sizeof text, &r);
	text[2] = '2';
	CHECK_RC(as_venue_code_from_text(&d, text, (size_t)n), AS_E_PREFIX);
	text[2] = '1';
	text[0] = 'a';
	CHECK_RC(as_venue_code_from_text(&d, text, (size_t)n), AS_E_PREFIX);
	text[0] = 'A';
	CHECK_RC(as_venue_code_from_text(&d, "AP1:AAAA", 8), AS_E_PREFIX);
	/* Bad Base45, an empty body, a cut text, trailing and oversized input. */
	CHECK_RC(as_venue_code_from_text(&d, "AV1:aa", 6), AS_E_BASE45);
	CHECK_RC(as_venue_code_from_text(&d, "AV1:", 4), AS_E_TRUNCATED);
	CHECK_ERR(as_venue_code_from_text(&d, text, (size_t)n - 3));
	m = as_venue_code_encode(bin, sizeof bin, &r);
	bin[m] = 0;
	memcpy(bad, "AV1:", 4);
	n = as_base45_encode(bad + 4, sizeof bad - 4, bin, (size_t)m + 1);
	CHECK_RC(as_venue_code_from_text(&d, bad, (size_t)n + 4), AS_E_TRAILING);
	memset(bad + 4, '0', sizeof bad - 4);
	CHECK_RC(as_venue_code_from_text(&d, bad, sizeof bad), AS_E_OVERSIZE);
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_layouts);
	TEST_RUN(test_round_trips);
	TEST_RUN(test_framing);
	TEST_RUN(test_names);
	TEST_RUN(test_slots);
	TEST_RUN(test_signatures);
	TEST_RUN(test_text);
	return TEST_DONE();
}
