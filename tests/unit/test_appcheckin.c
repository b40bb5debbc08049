/*
 * test_appcheckin.c - the wallet's check-in / check-out and the cloud's
 * answer (common/src/appcheckin.c): layout, round trips, every framing
 * error, signing rules, each verification failure with its own code, the
 * answer's signature over every byte, and the check-in id.
 */
#include "test.h"

#include "anshim/appcheckin.h"
#include "anshim/venuecode.h"

static struct test_keys keys;

#define OFF_CRED 3
#define OFF_TIME (OFF_CRED + AS_CREDENTIAL_LEN)     /* 267 */
#define OFF_NONCE (OFF_TIME + 8)                    /* 275 */
#define OFF_CODE_LEN (OFF_NONCE + AS_APP_NONCE_LEN) /* 291 */
#define OFF_CODE (OFF_CODE_LEN + 2)                 /* 293 */
#define ROTATING_MSG_LEN (OFF_CODE + AS_VENUE_ROTATING_LEN + AS_SIG_LEN) /* 454 */

static int dec_msg(const uint8_t *in, size_t len)
{
	struct as_app_checkin m;

	return as_app_checkin_decode(&m, in, len);
}

static int dec_answer(const uint8_t *in, size_t len)
{
	struct as_app_answer a;

	return as_app_answer_decode(&a, in, len, keys.auth_pk);
}

static void rotating_code(struct as_venue_code *c, int64_t at)
{
	uint8_t gw_id[AS_GWID_LEN];

	as_gateway_id(gw_id, keys.device_pk);
	if (as_venue_code_rotating(c, 42, gw_id, at, AS_SLOT_DEFAULT, keys.device_sk) != 0)
		abort();
}

static void poster_code(struct as_venue_code *c, const char *name)
{
	memset(c, 0, sizeof *c);
	c->type = AS_VC_POSTER;
	c->venue_id = 7;
	c->issued_at = TEST_NOW - 3600;
	snprintf(c->name, sizeof c->name, "%s", name);
	if (as_venue_code_sign(c, keys.auth_sk) != 0)
		abort();
}

/* A signed check-in at a rotating code (or a poster when name != NULL),
 * encoded into bin; returns its length. */
static size_t make_checkin(struct as_app_checkin *m, uint8_t bin[AS_APP_CHECKIN_MAX],
			   const char *poster_name, int64_t at)
{
	int n;

	memset(m, 0, sizeof *m);
	m->kind = AS_APP_CHECKIN;
	test_credential_make(&keys, &m->cred, 0);
	m->time = at;
	if (poster_name)
		poster_code(&m->code, poster_name);
	else
		rotating_code(&m->code, at);
	if (as_app_checkin_sign(m, keys.holder_sk) != 0)
		abort();
	n = as_app_checkin_encode(bin, AS_APP_CHECKIN_MAX, m);
	if (n < 0)
		abort();
	return (size_t)n;
}

static size_t make_checkout(struct as_app_checkin *m, uint8_t bin[AS_APP_CHECKIN_MAX],
			    const uint8_t id[AS_APP_CHECKIN_ID_LEN], int64_t at)
{
	int n;

	memset(m, 0, sizeof *m);
	m->kind = AS_APP_CHECKOUT;
	test_credential_make(&keys, &m->cred, 0);
	m->time = at;
	memcpy(m->checkin_id, id, AS_APP_CHECKIN_ID_LEN);
	if (as_app_checkin_sign(m, keys.holder_sk) != 0)
		abort();
	n = as_app_checkin_encode(bin, AS_APP_CHECKIN_MAX, m);
	if (n < 0)
		abort();
	return (size_t)n;
}

static void make_answer(uint8_t bin[AS_APP_ANSWER_LEN], struct as_app_answer *a)
{
	memset(a, 0, sizeof *a);
	test_fill(a->checkin_id, AS_APP_CHECKIN_ID_LEN, 11);
	a->status = AS_APP_REJECTED;
	a->reason = AS_APP_R_REMOTE;
	a->cloud_time = TEST_NOW + 5;
	if (as_app_answer_encode(bin, AS_APP_ANSWER_LEN, a, keys.auth_sk) != AS_APP_ANSWER_LEN)
		abort();
}

static void test_lengths(void)
{
	CHECK_EQ_INT(AS_APP_CHECKIN_MAX, 501);
	CHECK_EQ_INT(AS_APP_CHECKOUT_LEN, 387);
	CHECK_EQ_INT(AS_APP_ANSWER_LEN, 108);
	CHECK_EQ_INT(AS_APP_CODE_MIN, 81);
	CHECK_EQ_INT(ROTATING_MSG_LEN, 454);
}

static void test_checkin_round_trip(void)
{
	uint8_t a[AS_APP_CHECKIN_MAX], b[AS_APP_CHECKIN_MAX], cred[AS_CREDENTIAL_LEN];
	struct as_app_checkin m, back;
	const char *names[] = {NULL, "A", "Cafe Jeju", "한라산 식당",
			       "0123456789012345678901234567890123456789012345678901234567890123"};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		int n = (int)make_checkin(&m, a, names[i], TEST_NOW + 60);
		size_t want = names[i] ? OFF_CODE + AS_VENUE_POSTER_BASE_LEN + strlen(names[i]) +
			      AS_SIG_LEN : ROTATING_MSG_LEN;

		test_ctx("poster name %s", names[i] ? names[i] : "(rotating)");
		CHECK_EQ_INT(n, want);
		CHECK_MEM(a, "W\x01\x01", 3);
		CHECK_RC(as_credential_encode(cred, sizeof cred, &m.cred), AS_CREDENTIAL_LEN);
		CHECK_MEM(a + OFF_CRED, cred, AS_CREDENTIAL_LEN);
		CHECK_MEM(a + OFF_TIME, "\x3c\xb9\x55\x69\0\0\0\0", 8); /* TEST_NOW + 60 */
		CHECK_MEM(a + OFF_NONCE, m.nonce, AS_APP_NONCE_LEN);
		CHECK_EQ_INT(a[OFF_CODE_LEN] | a[OFF_CODE_LEN + 1] << 8,
			     n - OFF_CODE - AS_SIG_LEN);
		CHECK_MEM(a + n - AS_SIG_LEN, m.holder_sig, AS_SIG_LEN);
		if (!CHECK_OK(as_app_checkin_decode(&back, a, (size_t)n)))
			continue;
		CHECK_EQ_INT(back.kind, AS_APP_CHECKIN);
		CHECK_EQ_INT(back.time, TEST_NOW + 60);
		CHECK_EQ_INT(back.code.type, names[i] ? AS_VC_POSTER : AS_VC_ROTATING);
		CHECK_EQ_INT(back.code.venue_id, names[i] ? 7 : 42);
		if (names[i])
			CHECK_STR(back.code.name, names[i]);
		CHECK_RC(as_app_checkin_encode(b, sizeof b, &back), n);
		CHECK_MEM(a, b, (size_t)n);
		CHECK_OK(as_app_checkin_verify(&back, keys.auth_pk));
	}
}

static void test_checkout_round_trip(void)
{
	uint8_t a[AS_APP_CHECKIN_MAX], b[AS_APP_CHECKIN_MAX], id[AS_APP_CHECKIN_ID_LEN];
	struct as_app_checkin m, back;
	int n;

	test_fill(id, sizeof id, 12);
	n = (int)make_checkout(&m, a, id, TEST_NOW + 3600);
	CHECK_EQ_INT(n, AS_APP_CHECKOUT_LEN);
	CHECK_MEM(a, "W\x01\x02", 3);
	CHECK_MEM(a + OFF_CODE_LEN, id, AS_APP_CHECKIN_ID_LEN);
	if (!CHECK_OK(as_app_checkin_decode(&back, a, (size_t)n)))
		return;
	CHECK_EQ_INT(back.kind, AS_APP_CHECKOUT);
	CHECK_EQ_INT(back.time, TEST_NOW + 3600);
	CHECK_MEM(back.checkin_id, id, sizeof id);
	CHECK_RC(as_app_checkin_encode(b, sizeof b, &back), n);
	CHECK_MEM(a, b, (size_t)n);
	CHECK_OK(as_app_checkin_verify(&back, keys.auth_pk));
	/* Extreme times survive. */
	back.time = INT64_MIN;
	CHECK_RC(as_app_checkin_encode(b, sizeof b, &back), n);
	CHECK_OK(as_app_checkin_decode(&m, b, (size_t)n));
	CHECK(m.time == INT64_MIN);
}

static void test_encode_capacity(void)
{
	uint8_t bin[AS_APP_CHECKIN_MAX];
	struct as_app_checkin m;
	int n = (int)make_checkin(&m, bin, NULL, TEST_NOW);

	for (int cap = 0; cap < n; cap++) {
		uint8_t *exact = malloc((size_t)cap + 1);

		test_ctx("capacity %d", cap);
		if (!CHECK_RC(as_app_checkin_encode(exact, (size_t)cap, &m), AS_E_OVERSIZE)) {
			free(exact);
			break;
		}
		free(exact);
	}
	test_ctx_clear();
	m.kind = 3;
	CHECK_RC(as_app_checkin_encode(bin, sizeof bin, &m), AS_E_FIELD);
	m.kind = 0;
	CHECK_RC(as_app_checkin_encode(bin, sizeof bin, &m), AS_E_FIELD);
}

static void test_framing(void)
{
	uint8_t bin[AS_APP_CHECKIN_MAX], id[AS_APP_CHECKIN_ID_LEN] = {0};
	struct as_app_checkin m;
	size_t n;

	n = make_checkin(&m, bin, NULL, TEST_NOW);
	test_check_truncations("rotating check-in", dec_msg, bin, n, NULL);
	test_check_framing("rotating check-in", dec_msg, bin, n, AS_APP_CHECKIN_MAX + 1);
	n = make_checkin(&m, bin, "Cafe", TEST_NOW);
	test_check_truncations("poster check-in", dec_msg, bin, n, NULL);
	test_check_framing("poster check-in", dec_msg, bin, n, AS_APP_CHECKIN_MAX + 1);
	n = make_checkout(&m, bin, id, TEST_NOW);
	test_check_truncations("check-out", dec_msg, bin, n, NULL);
	test_check_framing("check-out", dec_msg, bin, n, AS_APP_CHECKIN_MAX + 1);
	/* A longest check-in (poster, 64-byte name) is exactly the maximum. */
	n = make_checkin(&m, bin, "0123456789012345678901234567890123456789012345678901234567890123",
			 TEST_NOW);
	CHECK_EQ_INT(n, AS_APP_CHECKIN_MAX);
	CHECK_OK(test_decode_copy(dec_msg, bin, n));
}

static void test_kind_and_code_len(void)
{
	uint8_t bin[AS_APP_CHECKIN_MAX], copy[AS_APP_CHECKIN_MAX];
	static const unsigned bad_kinds[] = {0, 3, 4, 0x81, 0xff};
	static const unsigned bad_lens[] = {0, 1, 80, 145, 200, 0xffff};
	struct as_app_checkin m;
	int n = (int)make_checkin(&m, bin, NULL, TEST_NOW);

	for (size_t i = 0; i < sizeof bad_kinds / sizeof bad_kinds[0]; i++) {
		memcpy(copy, bin, (size_t)n);
		copy[2] = (uint8_t)bad_kinds[i];
		test_ctx("kind %u", bad_kinds[i]);
		CHECK_RC(test_decode_copy(dec_msg, copy, (size_t)n), AS_E_FIELD);
		/* The kind is checked before the rest is looked for. */
		CHECK_RC(test_decode_copy(dec_msg, copy, 3), AS_E_FIELD);
	}
	for (size_t i = 0; i < sizeof bad_lens / sizeof bad_lens[0]; i++) {
		memcpy(copy, bin, (size_t)n);
		test_put_le(copy, OFF_CODE_LEN, 2, bad_lens[i]);
		test_ctx("code_len %u", bad_lens[i]);
		CHECK_RC(test_decode_copy(dec_msg, copy, (size_t)n), AS_E_LENGTH);
		/* ... as soon as it is read. */
		CHECK_RC(test_decode_copy(dec_msg, copy, OFF_CODE), AS_E_LENGTH);
	}
	/* code_len in range but not the code's own length: the venue code
	 * decoder sees a cut or an overlong code. */
	memcpy(copy, bin, (size_t)n);
	test_put_le(copy, OFF_CODE_LEN, 2, AS_VENUE_ROTATING_LEN + 1);
	test_ctx("code_len one more than the code");
	CHECK_RC(test_decode_copy(dec_msg, copy, (size_t)n), AS_E_TRAILING);
	test_put_le(copy, OFF_CODE_LEN, 2, AS_VENUE_ROTATING_LEN - 1);
	test_ctx("code_len one less than the code");
	CHECK_RC(test_decode_copy(dec_msg, copy, (size_t)n), AS_E_TRUNCATED);
	/* Errors of the embedded values come through. */
	memcpy(copy, bin, (size_t)n);
	copy[OFF_CRED] = 'X';
	test_ctx("credential magic");
	CHECK_RC(test_decode_copy(dec_msg, copy, (size_t)n), AS_E_MAGIC);
	CHECK_RC(test_decode_copy(dec_msg, copy, OFF_CRED + 2), AS_E_MAGIC);
	memcpy(copy, bin, (size_t)n);
	copy[OFF_CODE] = 'X';
	test_ctx("venue code magic");
	CHECK_RC(test_decode_copy(dec_msg, copy, (size_t)n), AS_E_MAGIC);
	memcpy(copy, bin, (size_t)n);
	copy[OFF_CODE + 1] = 9;
	test_ctx("venue code version");
	CHECK_RC(test_decode_copy(dec_msg, copy, (size_t)n), AS_E_VERSION);
	test_ctx_clear();
}

static void test_sign_rules(void)
{
	uint8_t bin[AS_APP_CHECKIN_MAX];
	struct as_app_checkin m, m2;

	make_checkin(&m, bin, NULL, TEST_NOW);
	/* A card credential is refused, whatever else is right. */
	test_credential_make(&keys, &m.cred, 1);
	memset(m.holder_sig, 0xaa, AS_SIG_LEN);
	CHECK_RC(as_app_checkin_sign(&m, keys.holder_sk), AS_E_IS_CARD);
	m.kind = AS_APP_CHECKOUT;
	CHECK_RC(as_app_checkin_sign(&m, keys.holder_sk), AS_E_IS_CARD);
	/* A fresh nonce each time: the same visit signed twice is two messages. */
	make_checkin(&m, bin, NULL, TEST_NOW);
	m2 = m;
	CHECK_OK(as_app_checkin_sign(&m2, keys.holder_sk));
	CHECK(memcmp(m.nonce, m2.nonce, AS_APP_NONCE_LEN) != 0);
	CHECK(memcmp(m.holder_sig, m2.holder_sig, AS_SIG_LEN) != 0);
	CHECK_OK(as_app_checkin_verify(&m2, keys.auth_pk));
	/* An invalid message cannot be signed. */
	m2.kind = 9;
	CHECK_RC(as_app_checkin_sign(&m2, keys.holder_sk), AS_E_FIELD);
}

/* Sign m by hand (no card check), as a forger would. */
static void sign_raw(struct as_app_checkin *m, const uint8_t *sk)
{
	uint8_t buf[AS_APP_CHECKIN_MAX];
	int n;

	memset(m->holder_sig, 0, AS_SIG_LEN);
	n = as_app_checkin_encode(buf, sizeof buf, m);
	if (n < 0)
		abort();
	crypto_sign_detached(m->holder_sig, NULL, buf, (size_t)n - AS_SIG_LEN, sk);
}

static void test_verify_codes(void)
{
	uint8_t bin[AS_APP_CHECKIN_MAX];
	struct as_app_checkin m, x;

	make_checkin(&m, bin, NULL, TEST_NOW);
	CHECK_OK(as_app_checkin_verify(&m, keys.auth_pk));
	CHECK_RC(as_app_checkin_verify(&m, keys.other_pk), AS_E_ISSUER_SIG);
	/* Validity is judged at the message's own time. */
	x = m;
	x.time = TEST_ISSUED - 1;
	sign_raw(&x, keys.holder_sk);
	CHECK_RC(as_app_checkin_verify(&x, keys.auth_pk), AS_E_NOT_YET);
	x.time = TEST_ISSUED;
	sign_raw(&x, keys.holder_sk);
	CHECK_OK(as_app_checkin_verify(&x, keys.auth_pk));
	x.time = TEST_EXPIRES - 1;
	sign_raw(&x, keys.holder_sk);
	CHECK_OK(as_app_checkin_verify(&x, keys.auth_pk));
	x.time = TEST_EXPIRES;
	sign_raw(&x, keys.holder_sk);
	CHECK_RC(as_app_checkin_verify(&x, keys.auth_pk), AS_E_EXPIRED);
	/* Someone else's key. */
	x = m;
	sign_raw(&x, keys.other_sk);
	CHECK_RC(as_app_checkin_verify(&x, keys.auth_pk), AS_E_HOLDER_SIG);
	/* A card credential (validly issued) signed by hand is the wrong form. */
	x = m;
	test_credential_make(&keys, &x.cred, 1);
	sign_raw(&x, keys.holder_sk);
	CHECK_RC(as_app_checkin_verify(&x, keys.auth_pk), AS_E_IS_CARD);
	/* Issuer first: a card with a forged issuer signature says so. */
	x.cred.issuer_sig[0] ^= 1;
	CHECK_RC(as_app_checkin_verify(&x, keys.auth_pk), AS_E_ISSUER_SIG);
}

/* Flip one bit of every byte of a signed message: it never verifies, and
 * the code says which signature or check caught it. */
static void flip_each_byte(const char *what, const uint8_t *bin, size_t n)
{
	uint8_t copy[AS_APP_CHECKIN_MAX];
	struct as_app_checkin m;

	for (size_t i = 0; i < n; i++) {
		int rc, want;

		memcpy(copy, bin, n);
		copy[i] ^= 0x01;
		test_ctx("%s, byte %zu flipped", what, i);
		rc = as_app_checkin_decode(&m, copy, n);
		if (rc) {
			/* Framing or range checks caught it first: fine, but
			 * never inside a signature or the nonce. */
			CHECK(i < OFF_CRED + AS_CREDENTIAL_LEN - AS_SIG_LEN ||
			      (i >= OFF_CODE_LEN && i < n - AS_SIG_LEN));
			continue;
		}
		if (i >= OFF_CRED && i < OFF_TIME)
			want = AS_E_ISSUER_SIG;
		else if (i >= OFF_TIME && i < OFF_NONCE && m.time < TEST_ISSUED)
			want = AS_E_NOT_YET;
		else if (i >= OFF_TIME && i < OFF_NONCE && m.time >= TEST_EXPIRES)
			want = AS_E_EXPIRED;
		else
			want = AS_E_HOLDER_SIG;
		if (!CHECK_RC(as_app_checkin_verify(&m, keys.auth_pk), want))
			break;
	}
	test_ctx_clear();
}

static void test_flips(void)
{
	uint8_t bin[AS_APP_CHECKIN_MAX], id[AS_APP_CHECKIN_ID_LEN] = {1};
	struct as_app_checkin m;
	int n;

	n = (int)make_checkin(&m, bin, NULL, TEST_NOW);
	flip_each_byte("rotating check-in", bin, (size_t)n);
	n = (int)make_checkin(&m, bin, "Cafe", TEST_NOW);
	flip_each_byte("poster check-in", bin, (size_t)n);
	n = (int)make_checkout(&m, bin, id, TEST_NOW);
	flip_each_byte("check-out", bin, (size_t)n);
}

static void test_id(void)
{
	uint8_t bin[AS_APP_CHECKIN_MAX], copy[AS_APP_CHECKIN_MAX];
	uint8_t id1[AS_APP_CHECKIN_ID_LEN], id2[AS_APP_CHECKIN_ID_LEN], plain[32];
	struct as_app_checkin m;
	int n = (int)make_checkin(&m, bin, NULL, TEST_NOW);

	as_app_checkin_id(id1, bin, (size_t)n);
	memcpy(copy, bin, (size_t)n);
	as_app_checkin_id(id2, copy, (size_t)n);
	CHECK_MEM(id1, id2, sizeof id1);
	/* Re-encoding a decoded message gives the same id. */
	CHECK_OK(as_app_checkin_decode(&m, bin, (size_t)n));
	CHECK_RC(as_app_checkin_encode(copy, sizeof copy, &m), n);
	as_app_checkin_id(id2, copy, (size_t)n);
	CHECK_MEM(id1, id2, sizeof id1);
	/* Any change, anywhere, gives another id; so does a shorter message. */
	for (int i = 0; i < n; i++) {
		memcpy(copy, bin, (size_t)n);
		copy[i] ^= 0x80;
		as_app_checkin_id(id2, copy, (size_t)n);
		test_ctx("byte %d changed", i);
		if (!CHECK(memcmp(id1, id2, sizeof id1) != 0))
			break;
	}
	test_ctx_clear();
	as_app_checkin_id(id2, bin, (size_t)n - 1);
	CHECK(memcmp(id1, id2, sizeof id1) != 0);
	/* The same visit signed again (new nonce) is another check-in. */
	CHECK_OK(as_app_checkin_sign(&m, keys.holder_sk));
	CHECK_RC(as_app_checkin_encode(copy, sizeof copy, &m), n);
	as_app_checkin_id(id2, copy, (size_t)n);
	CHECK(memcmp(id1, id2, sizeof id1) != 0);
	/* Domain-separated: not the bare hash of the bytes. */
	crypto_generichash(plain, sizeof plain, bin, (size_t)n, NULL, 0);
	CHECK(memcmp(id1, plain, sizeof id1) != 0);
}

static void test_answer(void)
{
	uint8_t a[AS_APP_ANSWER_LEN], b[AS_APP_ANSWER_LEN];
	struct as_app_answer ans, back;

	make_answer(a, &ans);
	CHECK_MEM(a, "Y\x01", 2);
	CHECK_MEM(a + 2, ans.checkin_id, AS_APP_CHECKIN_ID_LEN);
	CHECK_EQ_INT(a[34], AS_APP_REJECTED);
	CHECK_EQ_INT(a[35], AS_APP_R_REMOTE);
	CHECK_MEM(a + 36, "\x05\xb9\x55\x69\0\0\0\0", 8); /* TEST_NOW + 5 */
	if (CHECK_OK(as_app_answer_decode(&back, a, sizeof a, keys.auth_pk))) {
		CHECK_MEM(back.checkin_id, ans.checkin_id, AS_APP_CHECKIN_ID_LEN);
		CHECK_EQ_INT(back.status, AS_APP_REJECTED);
		CHECK_EQ_INT(back.reason, AS_APP_R_REMOTE);
		CHECK(back.cloud_time == TEST_NOW + 5);
		CHECK_RC(as_app_answer_encode(b, sizeof b, &back, keys.auth_sk), AS_APP_ANSWER_LEN);
		CHECK_MEM(a, b, sizeof a);
	}
	CHECK_RC(as_app_answer_decode(&back, a, sizeof a, keys.other_pk), AS_E_SIGNATURE);
	test_check_truncations("answer", dec_answer, a, sizeof a, NULL);
	test_check_framing("answer", dec_answer, a, sizeof a, 2 * AS_APP_ANSWER_LEN + 1);
	CHECK_RC(as_app_answer_encode(b, sizeof b - 1, &ans, keys.auth_sk), AS_E_OVERSIZE);
	/* Status and reason must agree, when encoding and when decoding. */
	{
		static const uint8_t bad[][2] = {{0, 0}, {4, 0}, {AS_APP_STORED, 1},
						 {AS_APP_DUPLICATE, 3}, {AS_APP_REJECTED, 0},
						 {AS_APP_REJECTED, AS_APP_R_LAST + 1}};
		static const uint8_t good[][2] = {{AS_APP_STORED, 0}, {AS_APP_DUPLICATE, 0},
						  {AS_APP_REJECTED, 1},
						  {AS_APP_REJECTED, AS_APP_R_LAST}};

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			struct as_app_answer x = ans;

			x.status = bad[i][0];
			x.reason = bad[i][1];
			test_ctx("status %u reason %u", bad[i][0], bad[i][1]);
			CHECK_RC(as_app_answer_encode(b, sizeof b, &x, keys.auth_sk), AS_E_FIELD);
			/* Signed anyway by the authority: still refused. */
			memcpy(b, a, sizeof b);
			b[34] = bad[i][0];
			b[35] = bad[i][1];
			crypto_sign_detached(b + AS_APP_ANSWER_LEN - AS_SIG_LEN, NULL, b,
					     AS_APP_ANSWER_LEN - AS_SIG_LEN, keys.auth_sk);
			CHECK_RC(test_decode_copy(dec_answer, b, sizeof b), AS_E_FIELD);
		}
		for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
			struct as_app_answer x = ans;

			x.status = good[i][0];
			x.reason = good[i][1];
			test_ctx("status %u reason %u", good[i][0], good[i][1]);
			CHECK_RC(as_app_answer_encode(b, sizeof b, &x, keys.auth_sk),
				 AS_APP_ANSWER_LEN);
			CHECK_OK(test_decode_copy(dec_answer, b, sizeof b));
		}
		test_ctx_clear();
	}
	/* Every byte is covered by the signature. */
	for (size_t i = 2; i < sizeof a; i++) {
		int rc;

		memcpy(b, a, sizeof b);
		b[i] ^= 0x01;
		rc = test_decode_copy(dec_answer, b, sizeof b);
		test_ctx("answer byte %zu flipped", i);
		if (!CHECK(rc == AS_E_SIGNATURE || (rc == AS_E_FIELD && (i == 34 || i == 35))))
			break;
	}
	test_ctx_clear();
}

static void test_names(void)
{
	CHECK_STR(as_app_status_name(AS_APP_STORED), "stored");
	CHECK_STR(as_app_status_name(AS_APP_DUPLICATE), "duplicate");
	CHECK_STR(as_app_status_name(AS_APP_REJECTED), "rejected");
	CHECK_STR(as_app_status_name(0), "unknown");
	CHECK_STR(as_app_reason_name(AS_APP_OK), "ok");
	CHECK_STR(as_app_reason_name(AS_APP_R_REMOTE), "remote");
	CHECK_STR(as_app_reason_name(AS_APP_R_UNKNOWN_CHECKIN), "unknown-checkin");
	CHECK_STR(as_app_reason_name(AS_APP_R_LAST + 1), "unknown");
	for (int r = 0; r <= 255; r++)
		CHECK(as_app_reason_name((uint8_t)r) != NULL);
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_lengths);
	TEST_RUN(test_checkin_round_trip);
	TEST_RUN(test_checkout_round_trip);
	TEST_RUN(test_encode_capacity);
	TEST_RUN(test_framing);
	TEST_RUN(test_kind_and_code_len);
	TEST_RUN(test_sign_rules);
	TEST_RUN(test_verify_codes);
	TEST_RUN(test_flips);
	TEST_RUN(test_id);
	TEST_RUN(test_answer);
	TEST_RUN(test_names);
	return TEST_DONE();
}
