/*
 * test_capsulefeed.c - visit tokens' capsules (cloud/tokencapsule.c), the
 * capsule feed's messages (cloud/capsulewire.c) and the issuer's outbox
 * (cloud/issuer/capsulefeed.c): a capsule opens to the contact capsule
 * only with the authority's contact key, for its own issue serial, expiry
 * and token count;
 * no two capsules share bytes; the batch and ack decoders are strict and
 * check signatures; the outbox numbers its messages without reuse, across
 * a reopening, and holds signed batches that decode.
 */
#include "test.h"

#include "anshim/bytes.h"
#include "capsulefeed.h"
#include "capsulewire.h"
#include "tokencapsule.h"

#include <lmdb.h>

static struct test_keys keys;
static uint8_t issuer_pk[AS_SIGN_PK_LEN], issuer_sk[AS_SIGN_SK_LEN];

static void make_contact(uint8_t contact[AS_CAPSULE_LEN])
{
	struct as_contact c;

	if (as_contact_set(&c, TEST_PHONE, "Kim") || as_capsule_seal(contact, &c, keys.contact_pk))
		abort();
}

static void test_capsule_round_trip(void)
{
	struct cl_tokcap_key k;
	uint8_t contact[AS_CAPSULE_LEN], cap[CL_TOKCAP_LEN], key[CL_TOKCAP_KEY_LEN];
	uint8_t back[AS_CAPSULE_LEN];
	const uint64_t id = 40, other = 41;
	struct as_contact opened;

	make_contact(contact);
	CHECK_EQ_INT(CL_TOKCAP_LEN, 171);
	CHECK_EQ_INT(CL_TOKCAP_SEALED_KEY_LEN, 80);
	if (!CHECK_OK(cl_tokcap_key_make(&k, keys.contact_pk)))
		return;
	CHECK_OK(cl_tokcap_seal(cap, &k, id, TEST_EXPIRES, 64, contact));
	/* The authority opens the batch key, then the capsule, then the
	 * contact capsule inside it. */
	CHECK_OK(cl_tokcap_open_key(key, k.sealed, keys.contact_pk, keys.contact_sk));
	CHECK_MEM(key, k.key, CL_TOKCAP_KEY_LEN);
	if (CHECK_OK(cl_tokcap_open(back, key, id, TEST_EXPIRES, 64, cap)))
		CHECK_MEM(back, contact, AS_CAPSULE_LEN);
	if (CHECK_OK(as_capsule_open(&opened, back, keys.contact_pk, keys.contact_sk)))
		CHECK_STR(opened.phone, "+821012345678");
	/* Bound to its serial, expiry and count; any changed byte fails. */
	CHECK_RC(cl_tokcap_open(back, key, other, TEST_EXPIRES, 64, cap), AS_E_CAPSULE);
	CHECK_RC(cl_tokcap_open(back, key, id, TEST_EXPIRES + 1, 64, cap), AS_E_CAPSULE);
	CHECK_RC(cl_tokcap_open(back, key, id, TEST_EXPIRES, 63, cap), AS_E_CAPSULE);
	for (size_t i = 0; i < CL_TOKCAP_LEN; i += 7) {
		cap[i] ^= 0x01;
		test_ctx("capsule byte %zu flipped", i);
		CHECK_RC(cl_tokcap_open(back, key, id, TEST_EXPIRES, 64, cap), AS_E_CAPSULE);
		cap[i] ^= 0x01;
	}
	test_ctx_clear();
	/* Another key (another batch's, or a seal to another contact key). */
	key[0] ^= 1;
	CHECK_RC(cl_tokcap_open(back, key, id, TEST_EXPIRES, 64, cap), AS_E_CAPSULE);
	{
		uint8_t pk2[AS_BOX_PK_LEN], sk2[AS_BOX_SK_LEN];

		crypto_box_keypair(pk2, sk2);
		CHECK_RC(cl_tokcap_open_key(key, k.sealed, pk2, sk2), AS_E_CAPSULE);
	}
	cl_tokcap_key_wipe(&k);
}

/* Two capsules of one holder, of one batch or two, share no 8-byte window. */
static int share_window(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i++)
		for (size_t j = 0; j + 8 <= n; j++)
			if (memcmp(a + i, b + j, 8) == 0)
				return 1;
	return 0;
}

static void test_capsule_fresh(void)
{
	struct cl_tokcap_key k1, k2;
	uint8_t contact[AS_CAPSULE_LEN];
	uint8_t caps[4][CL_TOKCAP_LEN];
	uint64_t id = 42;

	make_contact(contact);
	if (!CHECK_OK(cl_tokcap_key_make(&k1, keys.contact_pk)) ||
	    !CHECK_OK(cl_tokcap_key_make(&k2, keys.contact_pk)))
		return;
	CHECK(memcmp(k1.sealed, k2.sealed, sizeof k1.sealed) != 0);
	/* Even the same serial and expiry twice under one key. */
	CHECK_OK(cl_tokcap_seal(caps[0], &k1, id, TEST_EXPIRES, 64, contact));
	CHECK_OK(cl_tokcap_seal(caps[1], &k1, id, TEST_EXPIRES, 64, contact));
	id++;
	CHECK_OK(cl_tokcap_seal(caps[2], &k1, id, TEST_EXPIRES, 64, contact));
	CHECK_OK(cl_tokcap_seal(caps[3], &k2, id, TEST_EXPIRES, 64, contact));
	for (int a = 0; a < 4; a++)
		for (int b = a + 1; b < 4; b++) {
			test_ctx("capsules %d and %d", a, b);
			CHECK(!share_window(caps[a], caps[b], CL_TOKCAP_LEN));
		}
	test_ctx_clear();
}

/* A batch of n issues with fixed bytes (capsules are opaque here). */
static int make_batch(uint8_t *out, size_t cap, size_t n, struct cl_feed_issue *issues)
{
	struct cl_feed_batch b;

	memset(&b, 0, sizeof b);
	cl_issuer_id(b.issuer_id, issuer_pk);
	b.seq = 7;
	b.created = TEST_NOW;
	test_fill(b.sealed_key, sizeof b.sealed_key, 50);
	b.count = (uint16_t)n;
	b.issues = issues;
	for (size_t i = 0; i < n && i < CL_FEED_MAX_ISSUES; i++) {
		issues[i].serial = 0x0007060504030201 + i;
		issues[i].expires_at = TEST_EXPIRES + (int64_t)i;
		issues[i].count = (uint8_t)(64 - i % 64);
		test_fill(issues[i].capsule, CL_TOKCAP_LEN, 90 + (unsigned)i);
	}
	return cl_feed_encode(out, cap, &b, issuer_sk);
}

static int dec_batch(const uint8_t *in, size_t len)
{
	static struct cl_feed_issue issues[CL_FEED_MAX_ISSUES];
	struct cl_feed_batch b = {.issues = issues};

	return cl_feed_decode(&b, CL_FEED_MAX_ISSUES, in, len, issuer_pk);
}

static void test_batch_codec(void)
{
	static struct cl_feed_issue tokens[CL_FEED_MAX_ISSUES], back_tokens[CL_FEED_MAX_ISSUES];
	static uint8_t msg[CL_FEED_MAX_LEN];
	struct cl_feed_batch back = {.issues = back_tokens};
	uint8_t id[CL_ISSUER_ID_LEN];
	int len = make_batch(msg, sizeof msg, 3, tokens);

	if (!CHECK_RC(len, CL_FEED_LEN(3)))
		return;
	CHECK_EQ_INT(CL_FEED_HEADER_LEN, 116);
	CHECK_EQ_INT(CL_FEED_ENTRY_LEN, 188);
	CHECK_MEM(msg, "F\x01", 2);
	CHECK_MEM(msg + 18, "\x07\0\0\0\0\0\0\0", 8);
	CHECK_MEM(msg + 114, "\x03\0", 2);
	CHECK_MEM(msg + 116, "\x01\x02\x03\x04\x05\x06\x07\x00", 8);
	CHECK(msg[116 + 16] == 64);
	if (!CHECK_OK(cl_feed_decode(&back, CL_FEED_MAX_ISSUES, msg, (size_t)len, issuer_pk)))
		return;
	CHECK(back.seq == 7 && back.created == TEST_NOW && back.count == 3);
	for (int i = 0; i < 3; i++) {
		CHECK(back.issues[i].serial == tokens[i].serial);
		CHECK(back.issues[i].count == tokens[i].count);
		CHECK(back.issues[i].expires_at == tokens[i].expires_at);
		CHECK_MEM(back.issues[i].capsule, tokens[i].capsule, CL_TOKCAP_LEN);
	}
	CHECK_OK(cl_feed_peek_issuer(id, msg, (size_t)len));
	CHECK_MEM(id, back.issuer_id, CL_ISSUER_ID_LEN);
	/* room for fewer issues than the batch holds */
	CHECK_RC(cl_feed_decode(&back, 2, msg, (size_t)len, issuer_pk), AS_E_LENGTH);
	test_check_framing("capsule batch", dec_batch, msg, (size_t)len, CL_FEED_MAX_LEN + 1);
	test_check_truncations("capsule batch", dec_batch, msg, (size_t)len, NULL);
	/* every byte is signed; the issuer's key, no other */
	for (int i = 2; i < len; i += 13) {
		msg[i] ^= 0x20;
		test_ctx("batch byte %d flipped", i);
		CHECK_ERR(dec_batch(msg, (size_t)len));
		msg[i] ^= 0x20;
	}
	test_ctx_clear();
	CHECK_RC(cl_feed_decode(&back, CL_FEED_MAX_ISSUES, msg, (size_t)len, keys.auth_pk),
		 AS_E_SIGNATURE);
	/* an issue of 0 or 65 tokens, serial 0 (the signature would verify) */
	tokens[0].count = 0;
	CHECK_RC(make_batch(msg, sizeof msg, 1, tokens), CL_FEED_LEN(1));
	{
		struct cl_feed_batch b;

		memset(&b, 0, sizeof b);
		cl_issuer_id(b.issuer_id, issuer_pk);
		b.seq = 7;
		b.count = 1;
		b.issues = tokens;
		tokens[0].count = 0;
		CHECK_RC(cl_feed_encode(msg, sizeof msg, &b, issuer_sk), AS_E_FIELD);
		tokens[0].count = 65;
		CHECK_RC(cl_feed_encode(msg, sizeof msg, &b, issuer_sk), AS_E_FIELD);
		tokens[0].count = 1;
		tokens[0].serial = 0;
		CHECK_RC(cl_feed_encode(msg, sizeof msg, &b, issuer_sk), AS_E_FIELD);
		/* made by hand: the decoder refuses it too */
		len = make_batch(msg, sizeof msg, 1, tokens);
		msg[116 + 16] = 65;
		crypto_sign_detached(msg + len - AS_SIG_LEN, NULL, msg, (size_t)len - AS_SIG_LEN,
				     issuer_sk);
		CHECK_RC(dec_batch(msg, (size_t)len), AS_E_FIELD);
	}
	/* count 0, count above the maximum, seq 0 */
	CHECK_RC(make_batch(msg, sizeof msg, 0, tokens), AS_E_FIELD);
	CHECK_RC(make_batch(msg, sizeof msg, CL_FEED_MAX_ISSUES + 1, tokens), AS_E_FIELD);
	CHECK_RC(make_batch(msg, CL_FEED_LEN(3) - 1, 3, tokens), AS_E_OVERSIZE);
	len = make_batch(msg, sizeof msg, CL_FEED_MAX_ISSUES, tokens);
	CHECK_RC(len, CL_FEED_MAX_LEN);
	CHECK_OK(dec_batch(msg, (size_t)len));
	len = make_batch(msg, sizeof msg, 1, tokens);
	test_put_le(msg, 114, 2, 0);
	CHECK_RC(dec_batch(msg, (size_t)len), AS_E_LENGTH);
	test_put_le(msg, 114, 2, CL_FEED_MAX_ISSUES + 1);
	CHECK_RC(dec_batch(msg, (size_t)len), AS_E_LENGTH);
	test_put_le(msg, 114, 2, 2);
	CHECK_RC(dec_batch(msg, (size_t)len), AS_E_TRUNCATED);
}

static int dec_ack(const uint8_t *in, size_t len)
{
	struct cl_feed_ack a;

	return cl_feed_ack_decode(&a, in, len, keys.auth_pk);
}

static void test_ack_codec(void)
{
	struct cl_feed_ack a, back;
	uint8_t msg[CL_FEED_ACK_LEN];

	memset(&a, 0, sizeof a);
	cl_issuer_id(a.issuer_id, issuer_pk);
	a.seq = UINT64_MAX;
	a.cloud_time_ms = TEST_NOW * 1000 + 5;
	CHECK_EQ_INT(CL_FEED_ACK_LEN, 98);
	if (!CHECK_RC(cl_feed_ack_encode(msg, &a, keys.auth_sk), CL_FEED_ACK_LEN))
		return;
	CHECK_MEM(msg, "K\x01", 2);
	if (CHECK_OK(cl_feed_ack_decode(&back, msg, sizeof msg, keys.auth_pk))) {
		CHECK_MEM(back.issuer_id, a.issuer_id, CL_ISSUER_ID_LEN);
		CHECK(back.seq == UINT64_MAX && back.cloud_time_ms == a.cloud_time_ms);
	}
	CHECK_RC(cl_feed_ack_decode(&back, msg, sizeof msg, issuer_pk), AS_E_SIGNATURE);
	test_check_framing("feed ack", dec_ack, msg, sizeof msg, 2 * CL_FEED_ACK_LEN + 1);
	test_check_truncations("feed ack", dec_ack, msg, sizeof msg, NULL);
}

static void test_topics(void)
{
	uint8_t id[CL_ISSUER_ID_LEN], back[CL_ISSUER_ID_LEN];
	char topic[64];

	cl_issuer_id(id, issuer_pk);
	cl_feed_topic(topic, id, 0);
	CHECK(strncmp(topic, "anshim/v1/issuer/", 17) == 0);
	CHECK(strcmp(topic + 17 + 32, "/capsules") == 0);
	if (CHECK_OK(cl_feed_topic_issuer(topic, back)))
		CHECK_MEM(back, id, CL_ISSUER_ID_LEN);
	cl_feed_topic(topic, id, 1);
	CHECK(strcmp(topic + 17 + 32, "/ack") == 0);
	CHECK_RC(cl_feed_topic_issuer(topic, back), AS_E_FIELD);
	CHECK_RC(cl_feed_topic_issuer("anshim/v1/issuer/zz/capsules", back), AS_E_FIELD);
	CHECK_RC(cl_feed_topic_issuer("anshim/v1/gw/00112233445566778899aabbccddeeff/capsules",
				      back), AS_E_FIELD);
}

static int open_env(const char *dir, MDB_env **env)
{
	int rc = mdb_env_create(env);

	if (!rc)
		rc = mdb_env_set_maxdbs(*env, 4);
	if (!rc)
		rc = mdb_env_open(*env, dir, 0, 0600);
	return rc;
}

/* Messages of the outbox, in seq order: their seqs into seqs[]. */
static size_t outbox_seqs(MDB_env *env, uint64_t *seqs, size_t max, int verify)
{
	static struct cl_feed_issue issues[CL_FEED_MAX_ISSUES];
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0;

	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) ||
	    mdb_dbi_open(txn, "capsule_outbox", 0, &dbi) || mdb_cursor_open(txn, dbi, &cur))
		abort();
	while (n < max && mdb_cursor_get(cur, &k, &v, n ? MDB_NEXT : MDB_FIRST) == 0) {
		struct cl_feed_batch b = {.issues = issues};

		if (as_get_be64(k.mv_data) == 0) {
			seqs[n++] = 0;   /* the counter */
			continue;
		}
		seqs[n++] = as_get_be64(k.mv_data);
		if (verify && CHECK_OK(cl_feed_decode(&b, CL_FEED_MAX_ISSUES, v.mv_data,
						     v.mv_size, issuer_pk)))
			CHECK(b.seq == seqs[n - 1] && b.count == 1 &&
			      b.issues[0].serial == 100 + b.seq);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return n;
}

static void test_outbox(void)
{
	char dir[64], err[256];
	MDB_env *env;
	MDB_txn *txn;
	struct cl_capsulefeed *f;
	uint8_t contact[AS_CAPSULE_LEN];
	uint64_t seq = 0, seqs[8];

	make_contact(contact);
	test_tmpdir(dir);
	if (!CHECK_OK(open_env(dir, &env)))
		return;
	if (!CHECK_OK(cl_capsulefeed_open(&f, env, issuer_sk, err, sizeof err)))
		return;
	/* three batches in one transaction, the second aborted in another */
	mdb_txn_begin(env, NULL, 0, &txn);
	CHECK_OK(cl_capsulefeed_append(f, txn, keys.contact_pk, contact, 101, 64, TEST_EXPIRES,
				       &seq, err, sizeof err));
	CHECK(seq == 1);
	CHECK_RC(cl_capsulefeed_append(f, txn, keys.contact_pk, contact, 102, 0, TEST_EXPIRES,
				       &seq, err, sizeof err), AS_E_FIELD);
	CHECK(strstr(err, "1 to 64 tokens") != NULL);
	CHECK_RC(cl_capsulefeed_append(f, txn, keys.contact_pk, contact, 102, 65, TEST_EXPIRES,
				       &seq, err, sizeof err), AS_E_FIELD);
	CHECK_RC(cl_capsulefeed_append(f, txn, keys.contact_pk, contact, 0, 1, TEST_EXPIRES,
				       &seq, err, sizeof err), AS_E_FIELD);
	CHECK_OK(cl_capsulefeed_append(f, txn, keys.contact_pk, contact, 102, 1, TEST_EXPIRES,
				       &seq, err, sizeof err));
	CHECK(seq == 2);
	CHECK_OK(mdb_txn_commit(txn));
	mdb_txn_begin(env, NULL, 0, &txn);
	CHECK_OK(cl_capsulefeed_append(f, txn, keys.contact_pk, contact, 103, 2, TEST_EXPIRES,
				       &seq, err, sizeof err));
	CHECK(seq == 3);
	mdb_txn_abort(txn);
	CHECK_EQ_INT(outbox_seqs(env, seqs, 8, 1), 3);
	CHECK(seqs[0] == 0 && seqs[1] == 1 && seqs[2] == 2);
	cl_capsulefeed_close(f);
	mdb_env_close(env);
	/* Reopened: numbering goes on, even after the outbox was emptied. */
	if (!CHECK_OK(open_env(dir, &env)))
		return;
	if (!CHECK_OK(cl_capsulefeed_open(&f, env, issuer_sk, err, sizeof err)))
		return;
	{
		MDB_dbi dbi;
		uint8_t kb[8];
		MDB_val k = {8, kb};

		mdb_txn_begin(env, NULL, 0, &txn);
		mdb_dbi_open(txn, "capsule_outbox", 0, &dbi);
		for (uint64_t s = 1; s <= 2; s++) {
			as_put_be64(kb, s);
			CHECK_OK(mdb_del(txn, dbi, &k, NULL));
		}
		CHECK_OK(mdb_txn_commit(txn));
	}
	mdb_txn_begin(env, NULL, 0, &txn);
	CHECK_OK(cl_capsulefeed_append(f, txn, keys.contact_pk, contact, 103, 5, TEST_EXPIRES,
				       &seq, err, sizeof err));
	CHECK(seq == 3);
	CHECK_OK(mdb_txn_commit(txn));
	CHECK_EQ_INT(outbox_seqs(env, seqs, 8, 1), 2);
	CHECK(seqs[1] == 3);
	cl_capsulefeed_close(f);
	mdb_env_close(env);
	test_rmdir(dir);
}

static void test_outbox_maxdbs(void)
{
	char dir[64], err[256];
	MDB_env *env;
	struct cl_capsulefeed *f = NULL;

	test_tmpdir(dir);
	mdb_env_create(&env);
	mdb_env_open(env, dir, 0, 0600);   /* no named databases allowed */
	CHECK_ERR(cl_capsulefeed_open(&f, env, issuer_sk, err, sizeof err));
	CHECK(f == NULL);
	CHECK(strstr(err, "mdb_env_set_maxdbs") != NULL);
	mdb_env_close(env);
	test_rmdir(dir);
}

int main(void)
{
	test_keys_init(&keys);
	test_sign_keypair(issuer_pk, issuer_sk, 7);
	TEST_RUN(test_capsule_round_trip);
	TEST_RUN(test_capsule_fresh);
	TEST_RUN(test_batch_codec);
	TEST_RUN(test_ack_codec);
	TEST_RUN(test_topics);
	TEST_RUN(test_outbox);
	TEST_RUN(test_outbox_maxdbs);
	return test_done_(__FILE__);
}
