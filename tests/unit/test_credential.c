/*
 * test_credential.c - the credential, pass and card codecs, issuer signing
 * and verification, pass making, the QR text forms, credential ids and
 * credential files (common/src/credential.c).  Scanning (as_scan_verify)
 * is in test_scan.c.
 */
#include "test.h"

#include "anshim/base45.h"
#include "anshim/fileio.h"

#include <errno.h>
#include <sys/stat.h>

/* Credential field offsets (credential.h). */
#define OFF_FLAGS 2
#define OFF_ISSUED 51
#define OFF_EXPIRES 59
#define OFF_CAPSULE_LEN 67
#define OFF_ISSUER_SIG 200
/* Pass: the credential starts at byte 2. */
#define PASS_CRED 2
#define OFF_PASS_TIMESTAMP 266

static struct test_keys keys;

static int dec_credential(const uint8_t *in, size_t len)
{
	struct as_credential c;

	return as_credential_decode(&c, in, len);
}

static int dec_pass(const uint8_t *in, size_t len)
{
	struct as_pass p;

	return as_pass_decode(&p, in, len);
}

static int dec_card(const uint8_t *in, size_t len)
{
	struct as_credential c;

	return as_card_decode(&c, in, len);
}

static void test_layout_sizes(void)
{
	struct as_credential c;
	struct as_pass p;
	uint8_t buf[AS_PASS_LEN + 10];

	test_credential_make(&keys, &c, 0);
	test_pass_make(&keys, &p, TEST_NOW);
	CHECK_RC(as_credential_encode(buf, sizeof buf, &c), AS_CREDENTIAL_LEN);
	CHECK_EQ_INT(buf[0], 'C');
	CHECK_EQ_INT(buf[1], 1);
	CHECK_EQ_INT(buf[OFF_CAPSULE_LEN], AS_CAPSULE_LEN);
	CHECK_EQ_INT(buf[OFF_CAPSULE_LEN + 1], 0);
	CHECK_MEM(buf + OFF_ISSUER_SIG, c.issuer_sig, AS_SIG_LEN);
	CHECK_RC(as_pass_encode(buf, sizeof buf, &p), AS_PASS_LEN);
	CHECK_MEM(buf, "P\x01" "C\x01", 4);
	CHECK_MEM(buf + AS_PASS_LEN - AS_SIG_LEN, p.holder_sig, AS_SIG_LEN);
	CHECK_RC(as_card_encode(buf, sizeof buf, &c), AS_CARD_LEN);
	CHECK_MEM(buf, "K\x01" "C\x01", 4);
}

static void test_round_trips(void)
{
	struct as_credential c, c2;
	struct as_pass p, p2;
	uint8_t a[AS_PASS_LEN], b[AS_PASS_LEN];

	test_credential_make(&keys, &c, 0);
	CHECK_RC(as_credential_encode(a, sizeof a, &c), AS_CREDENTIAL_LEN);
	CHECK_OK(as_credential_decode(&c2, a, AS_CREDENTIAL_LEN));
	CHECK_RC(as_credential_encode(b, sizeof b, &c2), AS_CREDENTIAL_LEN);
	CHECK_MEM(a, b, AS_CREDENTIAL_LEN);
	CHECK(c2.issued_at == TEST_ISSUED && c2.expires_at == TEST_EXPIRES);
	CHECK_MEM(c2.holder_pk, keys.holder_pk, AS_SIGN_PK_LEN);

	test_pass_make(&keys, &p, TEST_NOW);
	CHECK_RC(as_pass_encode(a, sizeof a, &p), AS_PASS_LEN);
	CHECK_OK(as_pass_decode(&p2, a, AS_PASS_LEN));
	CHECK_RC(as_pass_encode(b, sizeof b, &p2), AS_PASS_LEN);
	CHECK_MEM(a, b, AS_PASS_LEN);
	CHECK(p2.timestamp == TEST_NOW);

	test_credential_make(&keys, &c, 1);
	CHECK_RC(as_card_encode(a, sizeof a, &c), AS_CARD_LEN);
	CHECK_OK(as_card_decode(&c2, a, AS_CARD_LEN));
	CHECK_RC(as_card_encode(b, sizeof b, &c2), AS_CARD_LEN);
	CHECK_MEM(a, b, AS_CARD_LEN);
	CHECK_EQ_INT(c2.flags, AS_CRED_CARD);
}

static void test_framing(void)
{
	struct as_credential c, card;
	struct as_pass p;
	uint8_t cred_bin[AS_CREDENTIAL_LEN], pass_bin[AS_PASS_LEN], card_bin[AS_CARD_LEN];

	test_credential_make(&keys, &c, 0);
	test_credential_make(&keys, &card, 1);
	test_pass_make(&keys, &p, TEST_NOW);
	as_credential_encode(cred_bin, sizeof cred_bin, &c);
	as_pass_encode(pass_bin, sizeof pass_bin, &p);
	as_card_encode(card_bin, sizeof card_bin, &card);

	test_check_truncations("credential", dec_credential, cred_bin, AS_CREDENTIAL_LEN, NULL);
	test_check_truncations("pass", dec_pass, pass_bin, AS_PASS_LEN, NULL);
	test_check_truncations("card", dec_card, card_bin, AS_CARD_LEN, NULL);
	/* Up to twice the size is reported as trailing bytes, beyond that as
	 * oversized. */
	test_check_framing("credential", dec_credential, cred_bin, AS_CREDENTIAL_LEN,
			   2 * AS_CREDENTIAL_LEN + 1);
	test_check_framing("pass", dec_pass, pass_bin, AS_PASS_LEN, 2 * AS_PASS_LEN + 1);
	test_check_framing("card", dec_card, card_bin, AS_CARD_LEN, 2 * AS_CARD_LEN + 1);
	/* The credential inside a pass or card is framed too. */
	pass_bin[PASS_CRED] = 'K';
	CHECK_RC(dec_pass(pass_bin, AS_PASS_LEN), AS_E_MAGIC);
	pass_bin[PASS_CRED] = 'C';
	pass_bin[PASS_CRED + 1] = 2;
	CHECK_RC(dec_pass(pass_bin, AS_PASS_LEN), AS_E_VERSION);
	pass_bin[PASS_CRED + 1] = 1;
	card_bin[PASS_CRED] = 'P';
	CHECK_RC(dec_card(card_bin, AS_CARD_LEN), AS_E_MAGIC);
	card_bin[PASS_CRED] = 'C';
	/* A pass is not a card and neither is a bare credential. */
	CHECK_RC(dec_card(pass_bin, AS_CARD_LEN), AS_E_MAGIC);
	CHECK_RC(dec_pass(card_bin, AS_CARD_LEN), AS_E_MAGIC);
	CHECK_RC(dec_credential(pass_bin, AS_CREDENTIAL_LEN), AS_E_MAGIC);
}

/* Decode msg with its u16 capsule_len at off replaced by v. */
static int with_capsule_len(test_decoder dec, const uint8_t *msg, size_t len, size_t off,
			    uint16_t v)
{
	uint8_t buf[AS_PASS_LEN];

	memcpy(buf, msg, len);
	test_put_le(buf, off, 2, v);
	return test_decode_copy(dec, buf, len);
}

static void test_capsule_length_field(void)
{
	static const uint16_t bad[] = {0, 1, 130, 132, 0x0183, 0xffff};
	struct as_credential c;
	struct as_pass p;
	uint8_t cred_bin[AS_CREDENTIAL_LEN], pass_bin[AS_PASS_LEN], card_bin[AS_CARD_LEN];

	test_credential_make(&keys, &c, 0);
	test_pass_make(&keys, &p, TEST_NOW);
	as_credential_encode(cred_bin, sizeof cred_bin, &c);
	as_pass_encode(pass_bin, sizeof pass_bin, &p);
	test_credential_make(&keys, &c, 1);
	as_card_encode(card_bin, sizeof card_bin, &c);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		test_ctx("capsule_len %u", bad[i]);
		CHECK_RC(with_capsule_len(dec_credential, cred_bin, AS_CREDENTIAL_LEN,
					  OFF_CAPSULE_LEN, bad[i]), AS_E_LENGTH);
		CHECK_RC(with_capsule_len(dec_pass, pass_bin, AS_PASS_LEN,
					  PASS_CRED + OFF_CAPSULE_LEN, bad[i]), AS_E_LENGTH);
		CHECK_RC(with_capsule_len(dec_card, card_bin, AS_CARD_LEN,
					  PASS_CRED + OFF_CAPSULE_LEN, bad[i]), AS_E_LENGTH);
	}
	test_ctx_clear();
}

static void test_field_checks(void)
{
	struct as_credential c;
	uint8_t bin[AS_CREDENTIAL_LEN], buf[AS_CREDENTIAL_LEN];

	test_credential_make(&keys, &c, 0);
	as_credential_encode(bin, sizeof bin, &c);
	/* Unknown flag bits. */
	for (int bit = 1; bit < 8; bit++) {
		memcpy(buf, bin, sizeof buf);
		buf[OFF_FLAGS] |= (uint8_t)(1u << bit);
		test_ctx("flags 0x%02x", buf[OFF_FLAGS]);
		CHECK_RC(dec_credential(buf, sizeof buf), AS_E_FIELD);
	}
	test_ctx_clear();
	/* Expiry not after issue, negative issue time. */
	memcpy(buf, bin, sizeof buf);
	test_put_le(buf, OFF_EXPIRES, 8, (uint64_t)TEST_ISSUED);
	CHECK_RC(dec_credential(buf, sizeof buf), AS_E_FIELD);
	test_put_le(buf, OFF_EXPIRES, 8, (uint64_t)(TEST_ISSUED - 1));
	CHECK_RC(dec_credential(buf, sizeof buf), AS_E_FIELD);
	memcpy(buf, bin, sizeof buf);
	test_put_le(buf, OFF_ISSUED, 8, (uint64_t)INT64_C(-1));
	CHECK_RC(dec_credential(buf, sizeof buf), AS_E_FIELD);
	test_put_le(buf, OFF_ISSUED, 8, 0);
	CHECK_OK(dec_credential(buf, sizeof buf)); /* 0 is a valid time */
	/* Decoding checks framing only: a bad signature still decodes. */
	memcpy(buf, bin, sizeof buf);
	buf[OFF_ISSUER_SIG] ^= 1;
	CHECK_OK(dec_credential(buf, sizeof buf));
}

static void test_encode_capacity(void)
{
	struct as_credential c;
	struct as_pass p;
	uint8_t buf[AS_PASS_LEN];

	test_credential_make(&keys, &c, 0);
	test_pass_make(&keys, &p, TEST_NOW);
	CHECK_RC(as_credential_encode(buf, AS_CREDENTIAL_LEN - 1, &c), AS_E_OVERSIZE);
	CHECK_RC(as_credential_encode(buf, 0, &c), AS_E_OVERSIZE);
	CHECK_RC(as_credential_encode(NULL, 0, &c), AS_E_OVERSIZE);
	CHECK_RC(as_pass_encode(buf, AS_PASS_LEN - 1, &p), AS_E_OVERSIZE);
	CHECK_RC(as_card_encode(buf, AS_CARD_LEN - 1, &c), AS_E_OVERSIZE);
	CHECK_RC(as_card_encode(buf, AS_CARD_LEN, &c), AS_CARD_LEN);
}

static void test_issuer_signature(void)
{
	struct as_credential c, bad;

	test_credential_make(&keys, &c, 0);
	CHECK_OK(as_credential_verify_issuer(&c, keys.auth_pk));
	CHECK_RC(as_credential_verify_issuer(&c, keys.other_pk), AS_E_ISSUER_SIG);
	CHECK_RC(as_credential_verify_issuer(&c, keys.holder_pk), AS_E_ISSUER_SIG);
	/* Every signed field is covered. */
	bad = c;
	bad.flags ^= AS_CRED_CARD;
	CHECK_RC(as_credential_verify_issuer(&bad, keys.auth_pk), AS_E_ISSUER_SIG);
	bad = c;
	bad.pid[15] ^= 1;
	CHECK_RC(as_credential_verify_issuer(&bad, keys.auth_pk), AS_E_ISSUER_SIG);
	bad = c;
	bad.holder_pk[0] ^= 1;
	CHECK_RC(as_credential_verify_issuer(&bad, keys.auth_pk), AS_E_ISSUER_SIG);
	bad = c;
	bad.issued_at--;
	CHECK_RC(as_credential_verify_issuer(&bad, keys.auth_pk), AS_E_ISSUER_SIG);
	bad = c;
	bad.expires_at++;
	CHECK_RC(as_credential_verify_issuer(&bad, keys.auth_pk), AS_E_ISSUER_SIG);
	bad = c;
	bad.capsule[AS_CAPSULE_LEN - 1] ^= 0x80;
	CHECK_RC(as_credential_verify_issuer(&bad, keys.auth_pk), AS_E_ISSUER_SIG);
	bad = c;
	bad.issuer_sig[63] ^= 1;
	CHECK_RC(as_credential_verify_issuer(&bad, keys.auth_pk), AS_E_ISSUER_SIG);
	/* Signing is deterministic (Ed25519) and ignores the old signature. */
	bad = c;
	memset(bad.issuer_sig, 0xaa, AS_SIG_LEN);
	CHECK_OK(as_credential_sign(&bad, keys.auth_sk));
	CHECK_MEM(bad.issuer_sig, c.issuer_sig, AS_SIG_LEN);
}

static void test_pass_make_rules(void)
{
	struct as_credential c, card;
	struct as_pass p, p2;
	uint8_t bin[AS_PASS_LEN];

	test_credential_make(&keys, &c, 0);
	test_credential_make(&keys, &card, 1);
	CHECK_RC(as_pass_make(&p, &card, TEST_NOW, keys.holder_sk), AS_E_IS_CARD);
	CHECK_OK(as_pass_make(&p, &c, TEST_NOW, keys.holder_sk));
	/* The holder signature covers every pass byte before it. */
	as_pass_encode(bin, sizeof bin, &p);
	CHECK(crypto_sign_verify_detached(p.holder_sig, bin, AS_PASS_LEN - AS_SIG_LEN,
					  keys.holder_pk) == 0);
	CHECK_MEM(bin + OFF_PASS_TIMESTAMP, "\x00\xb9\x55\x69\x00\x00\x00\x00", 8);
	/* A pass made a second later differs (it rotates). */
	CHECK_OK(as_pass_make(&p2, &c, TEST_NOW + 1, keys.holder_sk));
	CHECK(memcmp(p.holder_sig, p2.holder_sig, AS_SIG_LEN) != 0);
}

static void test_text_forms(void)
{
	struct as_credential card;
	struct as_pass p, back;
	char text[AS_SCAN_TEXT_MAX];
	uint8_t bin[AS_PASS_LEN + 1];
	int n;

	test_pass_make(&keys, &p, TEST_NOW);
	n = as_pass_to_text(text, sizeof text, &p);
	CHECK_EQ_INT(n, 4 + as_base45_encoded_len(AS_PASS_LEN));
	CHECK_EQ_INT(strlen(text), (size_t)n);
	CHECK(strncmp(text, AS_PASS_PREFIX, 4) == 0);
	CHECK_EQ_INT(strspn(text + 4, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"),
		     (size_t)n - 4);
	CHECK_RC(as_base45_decode(bin, sizeof bin, text + 4, (size_t)n - 4), AS_PASS_LEN);
	CHECK_OK(as_pass_decode(&back, bin, AS_PASS_LEN));
	CHECK_MEM(back.holder_sig, p.holder_sig, AS_SIG_LEN);
	/* Exactly enough room, one byte short, and too small for the prefix. */
	CHECK_RC(as_pass_to_text(text, (size_t)n + 1, &p), n);
	CHECK_RC(as_pass_to_text(text, (size_t)n, &p), AS_E_OVERSIZE);
	CHECK_RC(as_pass_to_text(text, 4, &p), AS_E_OVERSIZE);
	CHECK_RC(as_pass_to_text(text, 0, &p), AS_E_OVERSIZE);

	test_credential_make(&keys, &card, 1);
	n = as_card_to_text(text, sizeof text, &card);
	CHECK_EQ_INT(n, 4 + as_base45_encoded_len(AS_CARD_LEN));
	CHECK(strncmp(text, AS_CARD_PREFIX, 4) == 0);
	CHECK(n < AS_SCAN_TEXT_MAX);
}

static void test_credential_id(void)
{
	struct as_credential c, card, other;
	uint8_t a[AS_HOLDER_ID_LEN], b[AS_HOLDER_ID_LEN], want[AS_HOLDER_ID_LEN];
	crypto_generichash_state st;
	static const char tag[] = "anshim credential id v1";

	test_credential_make(&keys, &c, 0);
	test_credential_make(&keys, &card, 1);
	as_credential_id(a, &c);
	as_credential_id(b, &c);
	CHECK_MEM(a, b, AS_HOLDER_ID_LEN);
	/* BLAKE2b-128(tag || issuer signature), as documented. */
	crypto_generichash_init(&st, NULL, 0, AS_HOLDER_ID_LEN);
	crypto_generichash_update(&st, (const unsigned char *)tag, strlen(tag));
	crypto_generichash_update(&st, c.issuer_sig, AS_SIG_LEN);
	crypto_generichash_final(&st, want, AS_HOLDER_ID_LEN);
	CHECK_MEM(a, want, AS_HOLDER_ID_LEN);
	/* Each issued credential has its own id. */
	as_credential_id(b, &card);
	CHECK(memcmp(a, b, AS_HOLDER_ID_LEN) != 0);
	other = c;
	other.expires_at++;
	as_credential_sign(&other, keys.auth_sk);
	as_credential_id(b, &other);
	CHECK(memcmp(a, b, AS_HOLDER_ID_LEN) != 0);
	/* And it is not the holder id of the same wallet. */
	as_holder_id(b, keys.holder_pk);
	CHECK(memcmp(a, b, AS_HOLDER_ID_LEN) != 0);
}

static void test_save_and_load(void)
{
	struct as_credential c, back;
	uint8_t bin[AS_CREDENTIAL_LEN], raw[AS_CREDENTIAL_LEN];
	char dir[64], path[128];
	struct stat st;
	static uint8_t big[5000];

	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/credential.bin", dir);
	test_credential_make(&keys, &c, 0);
	CHECK_OK(as_credential_save(path, &c, AS_WRITE_EXCLUSIVE));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	if (CHECK_OK(as_credential_load(path, &back))) {
		as_credential_encode(bin, sizeof bin, &c);
		as_credential_encode(raw, sizeof raw, &back);
		CHECK_MEM(raw, bin, AS_CREDENTIAL_LEN);
	}
	CHECK_RC(as_credential_save(path, &c, AS_WRITE_EXCLUSIVE), AS_E_EXISTS);
	CHECK_OK(as_credential_save(path, &c, 0));
	/* The file is the raw credential bytes, strictly decoded on load. */
	as_credential_encode(bin, sizeof bin, &c);
	CHECK_OK(as_file_write_atomic(path, bin, AS_CREDENTIAL_LEN - 1, 0600, 0));
	CHECK_RC(as_credential_load(path, &back), AS_E_TRUNCATED);
	bin[1] = 9;
	CHECK_OK(as_file_write_atomic(path, bin, AS_CREDENTIAL_LEN, 0600, 0));
	CHECK_RC(as_credential_load(path, &back), AS_E_VERSION);
	CHECK_OK(as_file_write_atomic(path, big, sizeof big, 0600, 0));
	CHECK_RC(as_credential_load(path, &back), AS_E_OVERSIZE);
	CHECK_OK(unlink(path));
	CHECK_RC(as_credential_load(path, &back), -ENOENT);
	CHECK_EQ_INT(test_dir_count(dir), 0);
	test_rmdir(dir);
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_layout_sizes);
	TEST_RUN(test_round_trips);
	TEST_RUN(test_framing);
	TEST_RUN(test_capsule_length_field);
	TEST_RUN(test_field_checks);
	TEST_RUN(test_encode_capacity);
	TEST_RUN(test_issuer_signature);
	TEST_RUN(test_pass_make_rules);
	TEST_RUN(test_text_forms);
	TEST_RUN(test_credential_id);
	TEST_RUN(test_save_and_load);
	return TEST_DONE();
}
