/*
 * test_scan.c - offline verification of scanned QR texts (as_scan_verify in
 * common/src/credential.c): valid passes and cards, every single-byte
 * corruption of a pass, expiry and freshness bounds, wrong keys, a card
 * shown as a pass and the reverse, bad prefixes and Base45, truncated and
 * oversized texts, and the reason words of as_scan_reason.
 */
#include "test.h"

#include "anshim/base45.h"

static struct test_keys keys;

/* Pass byte ranges (credential.h), for the flip test. */
#define PASS_CRED 2
#define P_FLAGS (PASS_CRED + 2)
#define P_CAPSULE_LEN (PASS_CRED + 67)
#define P_CAPSULE (PASS_CRED + 69)
#define P_ISSUER_SIG (PASS_CRED + 200)
#define P_TIMESTAMP 266
#define P_HOLDER_SIG 274

static int scan_at(const char *text, size_t len, int64_t now, const uint8_t *authority_pk,
		   struct as_scan *out)
{
	struct as_verify_params params = {authority_pk, now, TEST_FRESHNESS};
	struct as_scan scratch;

	return as_scan_verify(out ? out : &scratch, text, len, &params);
}

/* Verify text at TEST_NOW with the fixture authority. */
static int scan(const char *text)
{
	return scan_at(text, strlen(text), TEST_NOW, keys.auth_pk, NULL);
}

/* prefix + Base45(bin) into text (AS_SCAN_TEXT_MAX bytes or more). */
static void to_text(char *text, size_t cap, const char *prefix, const uint8_t *bin,
		    size_t len)
{
	size_t plen = strlen(prefix);

	memcpy(text, prefix, plen);
	if (as_base45_encode(text + plen, cap - plen, bin, len) < 0)
		abort();
}

/* A pass over any credential, signed by holder_sk, bypassing as_pass_make's
 * refusal of card credentials. */
static void pass_text_raw(char *text, const struct as_credential *c, int64_t at,
			  const uint8_t *holder_sk)
{
	struct as_pass p;
	uint8_t bin[AS_PASS_LEN];

	p.cred = *c;
	p.timestamp = at;
	memset(p.holder_sig, 0, AS_SIG_LEN);
	as_pass_encode(bin, sizeof bin, &p);
	crypto_sign_detached(bin + AS_PASS_LEN - AS_SIG_LEN, NULL, bin,
			     AS_PASS_LEN - AS_SIG_LEN, holder_sk);
	to_text(text, AS_SCAN_TEXT_MAX, AS_PASS_PREFIX, bin, sizeof bin);
}

/* A phone credential valid from issued to expires. */
static void credential_valid(struct as_credential *c, int card, int64_t issued,
			     int64_t expires)
{
	test_credential_make(&keys, c, card);
	c->issued_at = issued;
	c->expires_at = expires;
	as_credential_sign(c, keys.auth_sk);
}

static void test_valid_pass(void)
{
	struct as_pass p;
	struct as_scan out;
	char text[AS_SCAN_TEXT_MAX + 8];
	int n;

	test_pass_make(&keys, &p, TEST_NOW);
	n = as_pass_to_text(text, sizeof text, &p);
	CHECK(n > 0);
	if (!CHECK_OK(scan_at(text, (size_t)n, TEST_NOW, keys.auth_pk, &out)))
		return;
	CHECK_EQ_INT(out.kind, AS_SCAN_PASS);
	CHECK(out.timestamp == TEST_NOW);
	CHECK_MEM(out.cred.pid, p.cred.pid, AS_PID_LEN);
	CHECK_MEM(out.cred.holder_pk, keys.holder_pk, AS_SIGN_PK_LEN);
	CHECK(out.cred.expires_at == TEST_EXPIRES);
	/* The text need not be NUL-terminated: only len bytes count. */
	memcpy(text + n, "GARBAGE", 8);
	CHECK_OK(scan_at(text, (size_t)n, TEST_NOW, keys.auth_pk, NULL));
}

static void test_valid_card(void)
{
	struct as_credential card;
	struct as_scan out;
	char text[AS_SCAN_TEXT_MAX];
	int n;

	test_credential_make(&keys, &card, 1);
	n = as_card_to_text(text, sizeof text, &card);
	if (!CHECK_OK(scan_at(text, (size_t)n, TEST_NOW, keys.auth_pk, &out)))
		return;
	CHECK_EQ_INT(out.kind, AS_SCAN_CARD);
	CHECK(out.timestamp == 0);
	CHECK_EQ_INT(out.cred.flags, AS_CRED_CARD);
	/* A card does not go stale: it is printed once. */
	CHECK_OK(scan_at(text, (size_t)n, TEST_EXPIRES - 1, keys.auth_pk, NULL));
	CHECK_RC(scan_at(text, (size_t)n, TEST_EXPIRES, keys.auth_pk, NULL), AS_E_EXPIRED);
	CHECK_RC(scan_at(text, (size_t)n, TEST_ISSUED - 1, keys.auth_pk, NULL), AS_E_NOT_YET);
	CHECK_RC(scan_at(text, (size_t)n, TEST_NOW, keys.other_pk, NULL), AS_E_ISSUER_SIG);
}

/* The code a pass with byte `at` xor-ed must give, or 0 for "either
 * AS_E_ISSUER_SIG or AS_E_FIELD" (a changed time or flag byte may make the
 * credential malformed before its signature is checked). */
static int flip_expected(size_t at)
{
	if (at == 0 || at == PASS_CRED)
		return AS_E_MAGIC;
	if (at == 1 || at == PASS_CRED + 1)
		return AS_E_VERSION;
	if (at < P_CAPSULE_LEN)
		return 0;
	if (at < P_CAPSULE)
		return AS_E_LENGTH;
	if (at < P_TIMESTAMP)
		return AS_E_ISSUER_SIG; /* capsule and issuer signature */
	return AS_E_HOLDER_SIG;         /* timestamp and holder signature */
}

static void test_every_byte_flipped(void)
{
	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	struct as_pass p;
	uint8_t bin[AS_PASS_LEN], bad[AS_PASS_LEN];
	char text[AS_SCAN_TEXT_MAX];
	int issuer = 0, holder = 0;

	test_pass_make(&keys, &p, TEST_NOW);
	as_pass_encode(bin, sizeof bin, &p);
	to_text(text, sizeof text, AS_PASS_PREFIX, bin, sizeof bin);
	CHECK_OK(scan(text));
	for (size_t m = 0; m < sizeof masks; m++) {
		for (size_t at = 0; at < AS_PASS_LEN; at++) {
			int want = flip_expected(at), rc;

			memcpy(bad, bin, sizeof bad);
			bad[at] ^= masks[m];
			to_text(text, sizeof text, AS_PASS_PREFIX, bad, sizeof bad);
			rc = scan(text);
			test_ctx("byte %zu ^ 0x%02x", at, masks[m]);
			if (want)
				CHECK_RC(rc, want);
			else if (rc != AS_E_FIELD)
				CHECK_RC(rc, AS_E_ISSUER_SIG);
			issuer += rc == AS_E_ISSUER_SIG && at >= P_ISSUER_SIG && at < P_TIMESTAMP;
			holder += rc == AS_E_HOLDER_SIG && at >= P_HOLDER_SIG;
		}
	}
	test_ctx_clear();
	CHECK_EQ_INT(issuer, 3 * AS_SIG_LEN);
	CHECK_EQ_INT(holder, 3 * AS_SIG_LEN);
}

static void test_expiry_bounds(void)
{
	struct as_credential c;
	char text[AS_SCAN_TEXT_MAX];

	/* Expired a day ago. */
	credential_valid(&c, 0, TEST_NOW - 100 * 86400, TEST_NOW - 86400);
	pass_text_raw(text, &c, TEST_NOW, keys.holder_sk);
	CHECK_RC(scan(text), AS_E_EXPIRED);
	/* Expires exactly now: already expired. */
	credential_valid(&c, 0, TEST_ISSUED, TEST_NOW);
	pass_text_raw(text, &c, TEST_NOW, keys.holder_sk);
	CHECK_RC(scan(text), AS_E_EXPIRED);
	/* Expires a second from now: still valid. */
	credential_valid(&c, 0, TEST_ISSUED, TEST_NOW + 1);
	pass_text_raw(text, &c, TEST_NOW, keys.holder_sk);
	CHECK_OK(scan(text));
	/* Valid from a second from now: not yet; from now: valid. */
	credential_valid(&c, 0, TEST_NOW + 1, TEST_EXPIRES);
	pass_text_raw(text, &c, TEST_NOW, keys.holder_sk);
	CHECK_RC(scan(text), AS_E_NOT_YET);
	credential_valid(&c, 0, TEST_NOW, TEST_EXPIRES);
	pass_text_raw(text, &c, TEST_NOW, keys.holder_sk);
	CHECK_OK(scan(text));
}

static void test_freshness_bounds(void)
{
	static const struct { int64_t offset; int want; } cases[] = {
		{0, 0},
		{TEST_FRESHNESS, 0},
		{-TEST_FRESHNESS, 0},
		{TEST_FRESHNESS + 1, AS_E_STALE},  /* from the future */
		{-TEST_FRESHNESS - 1, AS_E_STALE}, /* a replayed screenshot */
		{-86400, AS_E_STALE},
		{INT64_C(1) << 40, AS_E_STALE},
	};
	struct as_pass p;
	char text[AS_SCAN_TEXT_MAX];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		test_pass_make(&keys, &p, TEST_NOW + cases[i].offset);
		as_pass_to_text(text, sizeof text, &p);
		test_ctx("pass made at now%+" PRId64, cases[i].offset);
		CHECK_RC(scan(text), cases[i].want);
	}
	test_ctx_clear();
	/* The holder signature is checked before freshness: a stale pass with
	 * a bad holder signature reports the signature. */
	test_pass_make(&keys, &p, TEST_NOW - 1000);
	p.holder_sig[0] ^= 1;
	as_pass_to_text(text, sizeof text, &p);
	CHECK_RC(scan(text), AS_E_HOLDER_SIG);
}

static void test_wrong_keys(void)
{
	struct as_credential c;
	struct as_pass p;
	char text[AS_SCAN_TEXT_MAX];

	test_pass_make(&keys, &p, TEST_NOW);
	as_pass_to_text(text, sizeof text, &p);
	CHECK_RC(scan_at(text, strlen(text), TEST_NOW, keys.other_pk, NULL), AS_E_ISSUER_SIG);
	CHECK_RC(scan_at(text, strlen(text), TEST_NOW, keys.holder_pk, NULL), AS_E_ISSUER_SIG);
	/* A credential issued by an impostor authority. */
	test_credential_make(&keys, &c, 0);
	as_credential_sign(&c, keys.other_sk);
	pass_text_raw(text, &c, TEST_NOW, keys.holder_sk);
	CHECK_RC(scan(text), AS_E_ISSUER_SIG);
	/* A stolen credential shown by someone without the holder key. */
	test_credential_make(&keys, &c, 0);
	pass_text_raw(text, &c, TEST_NOW, keys.other_sk);
	CHECK_RC(scan(text), AS_E_HOLDER_SIG);
}

static void test_wrong_form(void)
{
	struct as_credential card, phone;
	char text[AS_SCAN_TEXT_MAX];
	uint8_t bin[AS_CARD_LEN];

	/* A card credential inside a phone pass. */
	test_credential_make(&keys, &card, 1);
	pass_text_raw(text, &card, TEST_NOW, keys.holder_sk);
	CHECK_RC(scan(text), AS_E_IS_CARD);
	/* A phone credential printed as a card. */
	test_credential_make(&keys, &phone, 0);
	as_card_to_text(text, sizeof text, &phone);
	CHECK_RC(scan(text), AS_E_NOT_CARD);
	/* A card flag with a holder key is not a card either. */
	phone.flags = AS_CRED_CARD;
	as_credential_sign(&phone, keys.auth_sk);
	as_card_to_text(text, sizeof text, &phone);
	CHECK_RC(scan(text), AS_E_NOT_CARD);
	/* A card body under the pass prefix, and the reverse. */
	as_card_encode(bin, sizeof bin, &card);
	to_text(text, sizeof text, AS_PASS_PREFIX, bin, sizeof bin);
	CHECK_RC(scan(text), AS_E_MAGIC);
	{
		struct as_pass p;
		uint8_t pass_bin[AS_PASS_LEN];

		test_pass_make(&keys, &p, TEST_NOW);
		as_pass_encode(pass_bin, sizeof pass_bin, &p);
		to_text(text, sizeof text, AS_CARD_PREFIX, pass_bin, sizeof pass_bin);
		/* The card decoder checks the length before the magic. */
		CHECK_RC(scan(text), AS_E_TRAILING);
	}
}

static void test_prefix_and_base45(void)
{
	struct as_pass p;
	char text[AS_SCAN_TEXT_MAX + 8], bad[AS_SCAN_TEXT_MAX + 8];
	int n;

	test_pass_make(&keys, &p, TEST_NOW);
	n = as_pass_to_text(text, sizeof text, &p);

	CHECK_RC(scan(""), AS_E_PREFIX);
	CHECK_RC(scan("AP1"), AS_E_PREFIX);
	CHECK_RC(scan_at(NULL, 0, TEST_NOW, keys.auth_pk, NULL), AS_E_PREFIX);
	CHECK_RC(scan("HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N IOP-IA%NFQGRJPC"),
		 AS_E_PREFIX);
	memcpy(bad, text, (size_t)n + 1);
	bad[2] = '2'; /* AP2: */
	CHECK_RC(scan(bad), AS_E_PREFIX);
	memcpy(bad, text, (size_t)n + 1);
	bad[0] = 'a'; /* ap1: */
	bad[1] = 'p';
	CHECK_RC(scan(bad), AS_E_PREFIX);
	memcpy(bad, text, (size_t)n + 1);
	bad[3] = ' ';
	CHECK_RC(scan(bad), AS_E_PREFIX);
	CHECK_RC(scan_at(text + 1, (size_t)n - 1, TEST_NOW, keys.auth_pk, NULL), AS_E_PREFIX);

	/* Only the prefix: an empty pass. */
	CHECK_RC(scan("AP1:"), AS_E_TRUNCATED);
	CHECK_RC(scan("AC1:"), AS_E_TRUNCATED);
	/* Characters outside Base45. */
	memcpy(bad, text, (size_t)n + 1);
	for (int i = 4; i < n; i++)
		if (bad[i] >= 'A' && bad[i] <= 'Z')
			bad[i] = (char)(bad[i] - 'A' + 'a');
	CHECK_RC(scan(bad), AS_E_BASE45);
	memcpy(bad, text, (size_t)n);
	memcpy(bad + n, "\r\n", 3); /* a scanner's line end, not stripped */
	CHECK_RC(scan(bad), AS_E_BASE45);
	memcpy(bad, text, (size_t)n + 1);
	bad[100] = '#';
	CHECK_RC(scan(bad), AS_E_BASE45);
	memcpy(bad, text, (size_t)n + 1);
	memcpy(bad + 4, "GGW", 3); /* a group above 0xffff */
	CHECK_RC(scan(bad), AS_E_BASE45);
}

static void test_truncated_and_oversized_text(void)
{
	struct as_pass p;
	char text[AS_SCAN_TEXT_MAX + 8], big[700];
	uint8_t bin[AS_PASS_LEN + 2];
	int n;

	test_pass_make(&keys, &p, TEST_NOW);
	n = as_pass_to_text(text, sizeof text, &p); /* 4 + 507 characters */
	CHECK_EQ_INT(n, 511);
	/* Three characters fewer: whole groups, two bytes short. */
	CHECK_RC(scan_at(text, (size_t)n - 3, TEST_NOW, keys.auth_pk, NULL), AS_E_TRUNCATED);
	/* Two fewer leaves a dangling character: not Base45. */
	CHECK_RC(scan_at(text, (size_t)n - 2, TEST_NOW, keys.auth_pk, NULL), AS_E_BASE45);
	/* One fewer ends in a 2-character group; here its value (the first two
	 * characters of the last 3-character group) is above 255. */
	CHECK_RC(scan_at(text, (size_t)n - 1, TEST_NOW, keys.auth_pk, NULL), AS_E_BASE45);
	/* Every shorter text fails. */
	for (int len = 0; len < n; len++) {
		test_ctx("text truncated to %d of %d characters", len, n);
		if (!CHECK_ERR(scan_at(text, (size_t)len, TEST_NOW, keys.auth_pk, NULL)))
			break;
	}
	test_ctx_clear();

	/* One and two bytes too many are trailing bytes. */
	as_pass_encode(bin, sizeof bin, &p);
	bin[AS_PASS_LEN] = 0;
	bin[AS_PASS_LEN + 1] = 0;
	to_text(big, sizeof big, AS_PASS_PREFIX, bin, AS_PASS_LEN + 1);
	CHECK_RC(scan(big), AS_E_TRAILING);
	to_text(big, sizeof big, AS_PASS_PREFIX, bin, AS_PASS_LEN + 2);
	CHECK_EQ_INT(strlen(big), 4 + 510);
	CHECK_RC(scan(big), AS_E_TRAILING);
	/* Anything longer is refused before decoding. */
	memset(big, '0', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big, AS_PASS_PREFIX, 4);
	CHECK_RC(scan_at(big, 4 + 511, TEST_NOW, keys.auth_pk, NULL), AS_E_OVERSIZE);
	CHECK_RC(scan_at(big, 4 + 513, TEST_NOW, keys.auth_pk, NULL), AS_E_OVERSIZE);
	CHECK_RC(scan(big), AS_E_OVERSIZE);
	memcpy(big, AS_CARD_PREFIX, 4);
	CHECK_RC(scan(big), AS_E_OVERSIZE);
}

static void test_reasons(void)
{
	static const struct { int code; const char *reason; } cases[] = {
		{0, "valid"},
		{AS_E_ISSUER_SIG, "bad-issuer-signature"},
		{AS_E_HOLDER_SIG, "bad-holder-signature"},
		{AS_E_EXPIRED, "expired"},
		{AS_E_STALE, "stale"},
		{AS_E_NOT_YET, "not-yet-valid"},
		{AS_E_NOT_CARD, "wrong-form"},
		{AS_E_IS_CARD, "wrong-form"},
		{AS_E_REVOKED, "revoked"},
		{AS_E_PREFIX, "malformed"},
		{AS_E_BASE45, "malformed"},
		{AS_E_TRUNCATED, "malformed"},
		{AS_E_TRAILING, "malformed"},
		{AS_E_MAGIC, "malformed"},
		{AS_E_VERSION, "malformed"},
		{AS_E_LENGTH, "malformed"},
		{AS_E_FIELD, "malformed"},
		{AS_E_OVERSIZE, "malformed"},
		{-12345, "malformed"},
		{7, "malformed"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		test_ctx("code %s", as_errname(cases[i].code));
		CHECK_STR(as_scan_reason(cases[i].code), cases[i].reason);
	}
	test_ctx_clear();
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_valid_pass);
	TEST_RUN(test_valid_card);
	TEST_RUN(test_every_byte_flipped);
	TEST_RUN(test_expiry_bounds);
	TEST_RUN(test_freshness_bounds);
	TEST_RUN(test_wrong_keys);
	TEST_RUN(test_wrong_form);
	TEST_RUN(test_prefix_and_base45);
	TEST_RUN(test_truncated_and_oversized_text);
	TEST_RUN(test_reasons);
	return TEST_DONE();
}
