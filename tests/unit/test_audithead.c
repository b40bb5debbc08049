/*
 * test_audithead.c - the witnessed audit head (cloud/audithead.c) and the
 * witness's view of the log (cl_audit_last, cl_audit_verify_at in
 * cloud/audit.c).
 *
 * The head: the test vector tests/data/vectors/audit_head.hex rebuilt byte
 * for byte from the vectors' audit key (seed 07) and checked at its
 * offsets; round trip; every truncation, trailing byte, magic, version and
 * oversize; seq 0 and entry versions other than 1 and 2; every byte
 * flipped fails (framing, field or signature) except in seq (which only
 * the log can refute); a version 2 head verifies with audit.pub only, a
 * version 1 head with sign.pub only (and not at all without it).  The log: the last entry of a
 * real log (tail read) is what its line says and its head verifies; the
 * hash at an earlier entry is that entry's; a head beyond the log is not
 * reached; an empty, missing or torn log answers as documented.
 *
 *   unit_audithead --write DIR   write audit_head.hex into DIR
 */
#include "test.h"

#include "audit.h"
#include "audithead.h"

#include "anshim/bytes.h"
#include "anshim/fileio.h"
#include "anshim/keyfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VECTOR_FILE "audit_head.hex"
#define VECTOR_SEQ 2
#define CASE_PID "0123456789abcdef0123456789abcdef"

static struct test_keys keys;
/* The vectors' keys: audit.key seed 07, sign.key seed 01. */
static uint8_t audit_sk[64], sign_sk[64];
static struct cl_audit_keys vec_keys;

/* A head of entry seq (version 1 or 2), hash 32 x a5, signed as the log
 * signs such an entry (with sk). */
static void make_head(struct cl_audit_head *h, unsigned version, uint64_t seq,
		      const uint8_t *sk)
{
	uint8_t msg[16 + CL_AUDIT_HASH_LEN];

	memset(h, 0, sizeof *h);
	h->seq = seq;
	h->version = version;
	memset(h->hash, 0xa5, sizeof h->hash);
	memcpy(msg, "anshim-audit-sig", 16);
	memcpy(msg + 16, h->hash, CL_AUDIT_HASH_LEN);
	crypto_sign_detached(h->sig, NULL, msg, sizeof msg, sk);
}

/* The vector: a version 2 entry, seq 2. */
static void vector_head(struct cl_audit_head *h)
{
	make_head(h, 2, VECTOR_SEQ, audit_sk);
}

static int decode_vec(const uint8_t *in, size_t len)
{
	struct cl_audit_head h;

	return cl_audit_head_decode(&h, in, len, &vec_keys);
}

static void test_vector(void)
{
	struct cl_audit_head h, back;
	uint8_t msg[CL_AUDIT_HEAD_LEN], file[CL_AUDIT_HEAD_LEN];
	char path[1024], hex[2 * CL_AUDIT_HEAD_LEN + 2];
	unsigned char *text = NULL;
	size_t len = 0;

	vector_head(&h);
	if (!CHECK_RC(cl_audit_head_encode(msg, sizeof msg, &h), CL_AUDIT_HEAD_LEN))
		return;
	CHECK_MEM(msg, "T\x01\x02", 3);
	CHECK_MEM(msg + 3, "\x02\0\0\0\0\0\0\0", 8);
	CHECK_EQ_INT(msg[11], 0xa5);
	CHECK_EQ_INT(msg[42], 0xa5);
	CHECK_MEM(msg + 43, h.sig, 64);
	snprintf(path, sizeof path, "%s/vectors/" VECTOR_FILE, getenv("ANSHIM_TEST_DATA"));
	if (!CHECK_OK(as_file_read_all(path, 4096, &text, &len)))
		return;
	CHECK_EQ_INT(len, 2 * CL_AUDIT_HEAD_LEN + 1);
	if (len == 2 * CL_AUDIT_HEAD_LEN + 1) {
		memcpy(hex, text, 2 * CL_AUDIT_HEAD_LEN);
		hex[2 * CL_AUDIT_HEAD_LEN] = '\0';
		CHECK_EQ_INT(text[len - 1], '\n');
		CHECK_OK(as_hex_decode(file, sizeof file, hex));
		CHECK_MEM(file, msg, sizeof msg);
	}
	free(text);
	CHECK_OK(cl_audit_head_decode(&back, msg, sizeof msg, &vec_keys));
	CHECK(memcmp(&back, &h, sizeof h) == 0);
	CHECK_RC(cl_audit_head_encode(msg, sizeof msg - 1, &h), AS_E_OVERSIZE);
	h.version = 3;
	CHECK_RC(cl_audit_head_encode(msg, sizeof msg, &h), AS_E_FIELD);
	h.version = 0;
	CHECK_RC(cl_audit_head_encode(msg, sizeof msg, &h), AS_E_FIELD);
	h.version = 2;
	h.seq = 0;
	CHECK_RC(cl_audit_head_encode(msg, sizeof msg, &h), AS_E_FIELD);
}

static void test_framing(void)
{
	struct cl_audit_head h, dec;
	uint8_t msg[CL_AUDIT_HEAD_LEN];

	vector_head(&h);
	cl_audit_head_encode(msg, sizeof msg, &h);
	test_check_truncations("head", decode_vec, msg, sizeof msg, NULL);
	test_check_framing("head", decode_vec, msg, sizeof msg, 2 * CL_AUDIT_HEAD_LEN + 1);
	memset(msg + 3, 0, 8); /* seq 0 */
	CHECK_RC(cl_audit_head_decode(&dec, msg, sizeof msg, &vec_keys), AS_E_FIELD);
	CHECK_EQ_INT(dec.seq, 0);
	cl_audit_head_encode(msg, sizeof msg, &h);
	for (unsigned v = 0; v < 256; v++) {
		if (v == 1 || v == 2)
			continue;
		msg[2] = (uint8_t)v;
		test_ctx("entry version %u", v);
		if (!CHECK_RC(cl_audit_head_decode(&dec, msg, sizeof msg, &vec_keys), AS_E_FIELD))
			break;
	}
	test_ctx_clear();
}

/* Any byte flipped fails: framing, seq (the signature is over the hash,
 * which covers seq only in the log: a changed seq still verifies here and
 * fails against the log, see test_log), hash or signature. */
static void test_signature(void)
{
	struct cl_audit_head h, dec;
	uint8_t msg[CL_AUDIT_HEAD_LEN];

	vector_head(&h);
	cl_audit_head_encode(msg, sizeof msg, &h);
	for (size_t i = 0; i < sizeof msg; i++) {
		msg[i] ^= 0x01;
		test_ctx("flip byte %zu", i);
		if (i >= 3 && i < 11)
			CHECK_OK(cl_audit_head_decode(&dec, msg, sizeof msg, &vec_keys));
		else
			CHECK(cl_audit_head_decode(&dec, msg, sizeof msg, &vec_keys) != 0);
		msg[i] ^= 0x01;
	}
	test_ctx_clear();
	CHECK_OK(cl_audit_head_decode(&dec, msg, sizeof msg, &vec_keys));
	/* A version 2 head said to be version 1: sign.pub does not verify it. */
	msg[2] = 1;
	CHECK_RC(cl_audit_head_decode(&dec, msg, sizeof msg, &vec_keys), AS_E_SIGNATURE);
	CHECK_EQ_INT(dec.seq, 0);
	/* A version 1 head: sign.pub only, and only when the keys have it. */
	make_head(&h, 1, 7, sign_sk);
	cl_audit_head_encode(msg, sizeof msg, &h);
	CHECK_OK(cl_audit_head_decode(&dec, msg, sizeof msg, &vec_keys));
	CHECK_EQ_INT(dec.version, 1);
	vec_keys.has_sign = 0;
	CHECK_RC(cl_audit_head_decode(&dec, msg, sizeof msg, &vec_keys), AS_E_SIGNATURE);
	vec_keys.has_sign = 1;
	/* Signed by sign.key but said to be version 2 (anshim-cloudd holds
	 * sign.key: it cannot make a version 2 head). */
	make_head(&h, 2, 7, sign_sk);
	cl_audit_head_encode(msg, sizeof msg, &h);
	CHECK_RC(cl_audit_head_decode(&dec, msg, sizeof msg, &vec_keys), AS_E_SIGNATURE);
}

/* The hash= field of line n (1-based) of the log text. */
static int line_hash(const char *text, unsigned n, uint8_t out[CL_AUDIT_HASH_LEN])
{
	const char *p = text;
	char hex[2 * CL_AUDIT_HASH_LEN + 1];

	for (unsigned i = 1; i < n && p; i++) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (!p || !(p = strstr(p, " hash=")))
		return -1;
	memcpy(hex, p + 6, 2 * CL_AUDIT_HASH_LEN);
	hex[2 * CL_AUDIT_HASH_LEN] = '\0';
	return as_hex_decode(out, CL_AUDIT_HASH_LEN, hex);
}

static void test_log(void)
{
	char dir[64], path[160], log[160], err[512], why[300];
	struct cl_config cfg;
	struct cl_audit_keys k, other;
	struct cl_audit_entry e;
	struct cl_audit_head last, dec;
	uint8_t hash[CL_AUDIT_HASH_LEN], want[CL_AUDIT_HASH_LEN], msg[CL_AUDIT_HEAD_LEN];
	unsigned char *text = NULL;
	uint64_t n = 0, bad = 0;
	size_t len = 0;
	int reached = -1;

	test_tmpdir(dir);
	snprintf(log, sizeof log, "%s/audit.log", dir);
	snprintf(path, sizeof path, "%s/sign.key", dir);
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_SECRET, keys.auth_sk, 0));
	snprintf(path, sizeof path, "%s/sign.pub", dir);
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_PUBLIC, keys.auth_pk, 0));
	snprintf(path, sizeof path, "%s/audit.key", dir);
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_SECRET, keys.device_sk, 0));
	snprintf(path, sizeof path, "%s/audit.pub", dir);
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_PUBLIC, keys.device_pk, 0));
	CHECK_OK(cl_audit_keys_load(&k, dir, err, sizeof err));
	other = k;
	memcpy(other.audit_pk, keys.other_pk, sizeof other.audit_pk);
	memset(&cfg, 0, sizeof cfg);
	cfg.keys_dir = dir;
	cfg.audit_log = log;

	/* Missing, then empty. */
	CHECK_RC(cl_audit_last(log, &k, &last, err, sizeof err), -ENOENT);
	CHECK_OK(as_file_write_atomic(log, "", 0, 0600, 0));
	CHECK_OK(cl_audit_last(log, &k, &last, err, sizeof err));
	CHECK_EQ_INT(last.seq, 0);

	for (unsigned i = 1; i <= 3; i++) {
		memset(&e, 0, sizeof e);
		e.time = TEST_NOW + i;
		snprintf(e.who, sizeof e.who, "kim");
		snprintf(e.action, sizeof e.action, "trace");
		snprintf(e.case_ref, sizeof e.case_ref, CASE_PID);
		e.window_from = TEST_NOW - 86400;
		e.window_to = TEST_NOW;
		CHECK_OK(cl_audit_append(&cfg, &e, NULL, err, sizeof err));
	}
	if (!CHECK_OK(as_file_read_all(log, 1 << 20, &text, &len)))
		return;
	text = realloc(text, len + 1);
	text[len] = '\0';

	CHECK_OK(cl_audit_last(log, &k, &last, err, sizeof err));
	CHECK_EQ_INT(last.seq, 3);
	CHECK_OK(line_hash((char *)text, 3, want));
	CHECK_MEM(last.hash, want, sizeof want);
	CHECK_EQ_INT(last.version, 2);
	CHECK(cl_audit_sig_ok(2, last.hash, last.sig, &k));
	CHECK(!cl_audit_sig_ok(1, last.hash, last.sig, &k));
	CHECK(!cl_audit_sig_ok(2, last.hash, last.sig, &other));
	CHECK_RC(cl_audit_last(log, &other, &last, err, sizeof err), AS_E_SIGNATURE);
	CHECK_OK(cl_audit_last(log, &k, &last, err, sizeof err));
	/* Its head, published and read back. */
	CHECK_RC(cl_audit_head_encode(msg, sizeof msg, &last), CL_AUDIT_HEAD_LEN);
	CHECK_OK(cl_audit_head_decode(&dec, msg, sizeof msg, &k));
	CHECK_EQ_INT(last.end, len);
	CHECK_EQ_INT(dec.end, 0);
	dec.end = last.end;
	CHECK(memcmp(&dec, &last, sizeof dec) == 0);

	/* Entry 2 where its line ends, found again after entry 3 came. */
	{
		const char *nl2 = strchr(strchr((char *)text, '\n') + 1, '\n');
		uint64_t end2 = (uint64_t)(nl2 - (char *)text) + 1;
		struct cl_audit_head two;

		CHECK_OK(cl_audit_entry_ending(log, &k, end2, &two, err, sizeof err));
		CHECK_EQ_INT(two.seq, 2);
		CHECK_EQ_INT(two.end, end2);
		CHECK_OK(line_hash((char *)text, 2, want));
		CHECK_MEM(two.hash, want, sizeof want);
		/* Not a line's end, beyond the log, 0, another key. */
		CHECK(cl_audit_entry_ending(log, &k, end2 - 1, &two, err, sizeof err) != 0);
		CHECK_EQ_INT(two.seq, 0);
		CHECK_RC(cl_audit_entry_ending(log, &k, len + 1, &two, err, sizeof err),
			 AS_E_TRUNCATED);
		CHECK_RC(cl_audit_entry_ending(log, &k, 0, &two, err, sizeof err), AS_E_FIELD);
		CHECK_RC(cl_audit_entry_ending(log, &other, end2, &two, err, sizeof err),
			 AS_E_SIGNATURE);
	}

	/* The hash at entry 2, with and without signatures. */
	CHECK_OK(line_hash((char *)text, 2, want));
	CHECK_OK(cl_audit_verify_at(log, &k, 2, hash, &reached, &n, &bad, why,
				    sizeof why));
	CHECK_EQ_INT(reached, 1);
	CHECK_EQ_INT(n, 3);
	CHECK_MEM(hash, want, sizeof want);
	memset(hash, 0, sizeof hash);
	CHECK_OK(cl_audit_verify_at(log, NULL, 2, hash, &reached, &n, &bad, why, sizeof why));
	CHECK_MEM(hash, want, sizeof want);
	CHECK_OK(cl_audit_verify_at(log, &k, 3, hash, &reached, &n, &bad, why,
				    sizeof why));
	CHECK_MEM(hash, last.hash, sizeof hash);
	/* Beyond the end: not reached, the log itself intact. */
	CHECK_OK(cl_audit_verify_at(log, &k, 5, hash, &reached, &n, &bad, why,
				    sizeof why));
	CHECK_EQ_INT(reached, 0);
	CHECK_EQ_INT(n, 3);
	/* Another key: the walk fails at entry 1. */
	CHECK_RC(cl_audit_verify_at(log, &other, 2, hash, &reached, &n, &bad, why,
				    sizeof why), AS_E_SIGNATURE);
	CHECK_EQ_INT(bad, 1);

	/* A torn last line: no head from it. */
	CHECK_OK(as_file_write_atomic(log, text, len - 5, 0600, 0));
	CHECK_RC(cl_audit_last(log, &k, &last, err, sizeof err), AS_E_TRUNCATED);
	CHECK(strstr(err, "torn") != NULL);
	free(text);
	test_rmdir(dir);
}

static int write_vector(const char *dir)
{
	struct cl_audit_head h;
	uint8_t msg[CL_AUDIT_HEAD_LEN];
	char hex[2 * CL_AUDIT_HEAD_LEN + 2], path[1024];

	vector_head(&h);
	if (cl_audit_head_encode(msg, sizeof msg, &h) != CL_AUDIT_HEAD_LEN)
		return 1;
	as_hex_encode(hex, msg, sizeof msg);
	hex[2 * CL_AUDIT_HEAD_LEN] = '\n';
	snprintf(path, sizeof path, "%s/" VECTOR_FILE, dir);
	return as_file_write_atomic(path, hex, 2 * CL_AUDIT_HEAD_LEN + 1, 0644, 0) ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint8_t seed[32];

	test_keys_init(&keys);
	memset(&vec_keys, 0, sizeof vec_keys);
	memset(seed, 0x07, sizeof seed);
	crypto_sign_seed_keypair(vec_keys.audit_pk, audit_sk, seed);
	memset(seed, 0x01, sizeof seed);
	crypto_sign_seed_keypair(vec_keys.sign_pk, sign_sk, seed);
	vec_keys.has_sign = 1;
	if (argc == 3 && strcmp(argv[1], "--write") == 0)
		return write_vector(argv[2]);
	TEST_RUN(test_vector);
	TEST_RUN(test_framing);
	TEST_RUN(test_signature);
	TEST_RUN(test_log);
	return TEST_DONE();
}
