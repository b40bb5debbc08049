/*
 * test_enrolreq.c - the self-service enrolment request codec
 * (common/src/enrolreq.c): layout, round trips, strict decoding
 * (truncation, trailing bytes, magic, version, lengths, the text rules),
 * the device signature over every signed byte, and the AE1: text form.
 */
#include "test.h"

#include "anshim/enrolreq.h"

#define OFF_PK 2
#define OFF_CREATED 34
#define OFF_VENUE 42
#define OFF_DWELL 46
#define OFF_CATEGORY_LEN 48
#define NAME "\xec\xa0\x9c\xec\xa3\xbc \xec\xb9\xb4\xed\x8e\x98" /* 제주 카페 */

static struct test_keys keys;

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void request_make(struct as_enrolreq *r)
{
	memset(r, 0, sizeof *r);
	r->created_at = TEST_NOW;
	r->venue_id = 31;
	r->dwell_minutes = 45;
	snprintf(r->category, sizeof r->category, "cafe");
	snprintf(r->name, sizeof r->name, NAME);
	snprintf(r->address, sizeof r->address, "Hallim-eup 1");
	if (as_enrolreq_sign(r, keys.device_sk) != 0)
		abort();
}

static void test_layout_and_round_trip(void)
{
	struct as_enrolreq r, back;
	uint8_t buf[AS_ENROLREQ_MAX];
	int n;

	request_make(&r);
	CHECK_MEM(r.gw_pk, keys.device_pk, AS_SIGN_PK_LEN);
	n = as_enrolreq_encode(buf, sizeof buf, &r);
	CHECK_EQ_INT(n, AS_ENROLREQ_FIXED_LEN + 4 + (int)strlen(NAME) + 12);
	CHECK_EQ_INT(buf[0], 'R');
	CHECK_EQ_INT(buf[1], 1);
	CHECK_MEM(buf + OFF_PK, keys.device_pk, AS_SIGN_PK_LEN);
	CHECK(le(buf + OFF_CREATED, 8) == (uint64_t)TEST_NOW);
	CHECK_EQ_INT((int)le(buf + OFF_VENUE, 4), 31);
	CHECK_EQ_INT((int)le(buf + OFF_DWELL, 2), 45);
	CHECK_EQ_INT(buf[OFF_CATEGORY_LEN], 4);
	CHECK_MEM(buf + OFF_CATEGORY_LEN + 1, "cafe", 4);
	CHECK_OK(as_enrolreq_decode(&back, buf, (size_t)n));
	CHECK_OK(as_enrolreq_verify(&back));
	CHECK_STR(back.name, NAME);
	CHECK_STR(back.address, "Hallim-eup 1");
	CHECK_STR(back.category, "cafe");
}

static void test_framing(void)
{
	struct as_enrolreq r, back;
	uint8_t buf[AS_ENROLREQ_MAX + 1];
	int n;

	request_make(&r);
	n = as_enrolreq_encode(buf, sizeof buf, &r);
	for (int cut = 0; cut < n; cut++)
		CHECK_ERR(as_enrolreq_decode(&back, buf, (size_t)cut));
	buf[n] = 0;
	CHECK_RC(as_enrolreq_decode(&back, buf, (size_t)n + 1), AS_E_TRAILING);
	buf[0] = 'X';
	CHECK_RC(as_enrolreq_decode(&back, buf, (size_t)n), AS_E_MAGIC);
	buf[0] = 'R';
	buf[1] = 2;
	CHECK_RC(as_enrolreq_decode(&back, buf, (size_t)n), AS_E_VERSION);
	buf[1] = 1;
	buf[OFF_CATEGORY_LEN] = 25; /* longer than a category */
	CHECK_ERR(as_enrolreq_decode(&back, buf, (size_t)n));
	buf[OFF_CATEGORY_LEN] = 4;
	buf[OFF_CATEGORY_LEN + 1] = 'C'; /* upper case */
	CHECK_RC(as_enrolreq_decode(&back, buf, (size_t)n), AS_E_FIELD);
	buf[OFF_CATEGORY_LEN + 1] = 'c';
	buf[OFF_CATEGORY_LEN + 6] = '\0'; /* a NUL inside the name */
	CHECK_RC(as_enrolreq_decode(&back, buf, (size_t)n), AS_E_FIELD);
	buf[OFF_CATEGORY_LEN + 6] = 0x01; /* a control character */
	CHECK_RC(as_enrolreq_decode(&back, buf, (size_t)n), AS_E_FIELD);
}

static void test_fields(void)
{
	struct as_enrolreq r;

	request_make(&r);
	r.dwell_minutes = 1441;
	CHECK_RC(as_enrolreq_sign(&r, keys.device_sk), AS_E_FIELD);
	request_make(&r);
	r.name[0] = '\0';
	CHECK_RC(as_enrolreq_sign(&r, keys.device_sk), AS_E_FIELD);
	request_make(&r);
	snprintf(r.category, sizeof r.category, "Bar");
	CHECK_RC(as_enrolreq_sign(&r, keys.device_sk), AS_E_FIELD);
	request_make(&r);
	snprintf(r.name, sizeof r.name, "bad \xff byte");
	CHECK_RC(as_enrolreq_sign(&r, keys.device_sk), AS_E_FIELD);
	request_make(&r);
	r.category[0] = '\0';
	r.address[0] = '\0';
	r.venue_id = 0;
	r.dwell_minutes = 0;
	CHECK_OK(as_enrolreq_sign(&r, keys.device_sk)); /* all optional */
}

static void test_signature(void)
{
	struct as_enrolreq r, back;
	uint8_t buf[AS_ENROLREQ_MAX];
	int n;

	request_make(&r);
	n = as_enrolreq_encode(buf, sizeof buf, &r);
	/* Flipping any byte makes the request fail to decode or to verify. */
	for (int i = 0; i < n; i++) {
		buf[i] ^= 0x20;
		CHECK(as_enrolreq_decode(&back, buf, (size_t)n) != 0 ||
		      as_enrolreq_verify(&back) == AS_E_SIGNATURE);
		buf[i] ^= 0x20;
	}
	/* Signed by another key than the one it carries. */
	as_enrolreq_sign(&r, keys.auth_sk);
	memcpy(r.gw_pk, keys.device_pk, AS_SIGN_PK_LEN);
	CHECK_RC(as_enrolreq_verify(&r), AS_E_SIGNATURE);
}

static void test_text(void)
{
	struct as_enrolreq r, back;
	char text[AS_ENROLREQ_TEXT_MAX];
	int n;

	request_make(&r);
	n = as_enrolreq_to_text(text, sizeof text, &r);
	CHECK(n > 4);
	CHECK(strncmp(text, "AE1:", 4) == 0);
	CHECK_OK(as_enrolreq_from_text(&back, text, (size_t)n));
	CHECK_STR(back.name, NAME);
	CHECK_RC(as_enrolreq_from_text(&back, text + 1, (size_t)n - 1), AS_E_PREFIX);
	CHECK_ERR(as_enrolreq_from_text(&back, text, (size_t)n - 1));
	text[10] = text[10] == 'A' ? 'B' : 'A';
	CHECK_ERR(as_enrolreq_from_text(&back, text, (size_t)n));
	CHECK(back.name[0] == '\0'); /* zeroed on failure */
	/* The longest request fits its text bound. */
	request_make(&r);
	memset(r.name, 'n', AS_ENROLREQ_NAME_MAX);
	r.name[AS_ENROLREQ_NAME_MAX] = '\0';
	memset(r.address, 'a', AS_ENROLREQ_ADDRESS_MAX);
	r.address[AS_ENROLREQ_ADDRESS_MAX] = '\0';
	memset(r.category, 'c', AS_ENROLREQ_CATEGORY_MAX);
	r.category[AS_ENROLREQ_CATEGORY_MAX] = '\0';
	CHECK_OK(as_enrolreq_sign(&r, keys.device_sk));
	n = as_enrolreq_to_text(text, sizeof text, &r);
	CHECK(n > 0 && n < AS_ENROLREQ_TEXT_MAX);
	CHECK_OK(as_enrolreq_from_text(&back, text, (size_t)n));
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_layout_and_round_trip);
	TEST_RUN(test_framing);
	TEST_RUN(test_fields);
	TEST_RUN(test_signature);
	TEST_RUN(test_text);
	return TEST_DONE();
}
