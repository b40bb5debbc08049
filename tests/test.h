/*
 * test.h - the unit tests' tiny assertion header and shared fixtures.
 *
 * Assertions: CHECK(cond), CHECK_EQ_INT(a, b), CHECK_RC(expr, code),
 * CHECK_OK(expr), CHECK_ERR(expr), CHECK_MEM(a, b, n), CHECK_STR(a, b).
 * Each evaluates its arguments once, prints "file:line: ..." on failure
 * (error codes by name and message, via as_errname/as_strerror), counts the
 * failure and carries on; each returns nonzero when the check passed, so a
 * test can stop early with `if (!CHECK(...)) return;`.  test_ctx() sets a
 * note printed with every failure (e.g. the byte position inside a loop).
 *
 * A test program is a list of `static void test_x(void)` functions:
 *
 *     int main(void)
 *     {
 *             TEST_RUN(test_x);
 *             return TEST_DONE();
 *     }
 *
 * TEST_DONE() prints a summary and returns 1 if any check failed, else 0.
 *
 * Fixtures (below the assertions): keys from fixed seeds and sample
 * messages, so every run and the bad-input generator produce the same bytes.
 * Single-threaded; everything is static inline so unused parts cost nothing.
 */
#ifndef ANSHIM_TEST_H
#define ANSHIM_TEST_H

#include <dirent.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anshim/ack.h"
#include "anshim/credential.h"
#include "anshim/error.h"
#include "anshim/identity.h"
#include "anshim/policy.h"
#include "anshim/record.h"

/* ---- assertions ------------------------------------------------------ */

static int test_checks;      /* checks run in this program */
static int test_failures;    /* checks failed in this program */
static int test_fail_before; /* failures when the current test started */
static char test_note[200];  /* context printed with failures */

__attribute__((format(printf, 1, 2))) static inline void test_ctx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(test_note, sizeof test_note, fmt, ap);
	va_end(ap);
}

static inline void test_ctx_clear(void) { test_note[0] = '\0'; }

/* Count one check; on failure print the location, the context and msg. */
__attribute__((format(printf, 4, 5))) static inline int
test_result_(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	test_checks++;
	if (ok)
		return 1;
	test_failures++;
	fprintf(stderr, "%s:%d: FAIL: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (test_note[0])
		fprintf(stderr, " [%s]", test_note);
	fputc('\n', stderr);
	return 0;
}

/* A return code as text: "AS_E_STALE (pass is stale ...)" or "338". */
static inline const char *test_code_(int v, char buf[160])
{
	if (v > 0)
		snprintf(buf, 160, "%d", v);
	else
		snprintf(buf, 160, "%s (%s)", as_errname(v), as_strerror(v));
	return buf;
}

static inline int test_rc_(int got, int want, const char *file, int line, const char *expr)
{
	char g[160], w[160];

	return test_result_(got == want, file, line, "%s returned %s, expected %s", expr,
			    test_code_(got, g), test_code_(want, w));
}

static inline int test_err_(int got, const char *file, int line, const char *expr)
{
	char g[160];

	return test_result_(got < 0, file, line, "%s returned %s, expected an error", expr,
			    test_code_(got, g));
}

static inline int test_mem_(const void *a, const void *b, size_t n, const char *file,
			    int line, const char *ea, const char *eb)
{
	const unsigned char *x = a, *y = b;
	size_t i = 0;

	while (i < n && x[i] == y[i])
		i++;
	return test_result_(i == n, file, line, "%s and %s differ at byte %zu of %zu", ea, eb,
			    i, n);
}

#define CHECK(cond) test_result_((cond) ? 1 : 0, __FILE__, __LINE__, "%s", #cond)
#define CHECK_EQ_INT(a, b)                                                               \
	test_eq_int_((long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_RC(expr, want) test_rc_((int)(expr), (int)(want), __FILE__, __LINE__, #expr)
#define CHECK_OK(expr) CHECK_RC(expr, 0)
#define CHECK_ERR(expr) test_err_((int)(expr), __FILE__, __LINE__, #expr)
#define CHECK_MEM(a, b, n) test_mem_((a), (b), (n), __FILE__, __LINE__, #a, #b)
#define CHECK_STR(a, b) test_str_((a), (b), __FILE__, __LINE__, #a)

static inline int test_eq_int_(long long a, long long b, const char *file, int line,
			       const char *ea, const char *eb)
{
	return test_result_(a == b, file, line, "%s == %s: %lld != %lld", ea, eb, a, b);
}

static inline int test_str_(const char *a, const char *b, const char *file, int line,
			    const char *ea)
{
	int ok = a && b && strcmp(a, b) == 0;

	return test_result_(ok, file, line, "%s is \"%s\", expected \"%s\"", ea,
			    a ? a : "(null)", b ? b : "(null)");
}

static inline void test_run_(const char *name, void (*fn)(void))
{
	test_fail_before = test_failures;
	test_ctx_clear();
	fn();
	test_ctx_clear();
	printf("%s %s\n", test_failures == test_fail_before ? "ok  " : "FAIL", name);
}

static inline int test_done_(const char *file)
{
	const char *base = strrchr(file, '/');

	printf("%s: %d checks, %d failed\n", base ? base + 1 : file, test_checks,
	       test_failures);
	return test_failures ? 1 : 0;
}

#define TEST_RUN(fn) test_run_(#fn, fn)
#define TEST_DONE() test_done_(__FILE__)

/* ---- framing checks shared by the wire-format tests -------------------- */

/* A decoder under test: 0 or an error code.  Wrap each as_*_decode. */
typedef int (*test_decoder)(const uint8_t *in, size_t len);

/* Decode a private copy of exactly len bytes, so that AddressSanitizer
 * catches any read past the end. */
static inline int test_decode_copy(test_decoder dec, const void *in, size_t len)
{
	uint8_t *copy = malloc(len);
	int rc;

	if (!copy && len)
		abort();
	if (len)
		memcpy(copy, in, len);
	rc = dec(copy, len);
	free(copy);
	return rc;
}

/* Every proper prefix of msg (lengths 0..len-1) is rejected with want(n),
 * or with AS_E_TRUNCATED when want is NULL.  Stops at the first mismatch. */
static inline void test_check_truncations(const char *what, test_decoder dec,
					  const uint8_t *msg, size_t len,
					  int (*want)(size_t n))
{
	for (size_t n = 0; n < len; n++) {
		test_ctx("%s truncated to %zu of %zu bytes", what, n, len);
		if (!CHECK_RC(test_decode_copy(dec, msg, n), want ? want(n) : AS_E_TRUNCATED))
			break;
	}
	test_ctx_clear();
}

/*
 * The framing rules every format shares, checked on a valid message msg:
 * it decodes; one extra byte is AS_E_TRAILING; any other magic byte (msg[0])
 * is AS_E_MAGIC; any other version byte (msg[1]) is AS_E_VERSION; and an
 * input of oversize bytes (msg then zeros) is AS_E_OVERSIZE while one byte
 * less is not.  test_check_framing_old skips one older version old_version
 * that the decoder still reads (with its own layout).
 */
static inline void test_check_framing_old(const char *what, test_decoder dec,
					  const uint8_t *msg, size_t len, size_t oversize,
					  int old_version)
{
	uint8_t *buf = calloc(1, oversize);

	if (!buf)
		abort();
	memcpy(buf, msg, len);
	test_ctx("%s", what);
	CHECK_OK(test_decode_copy(dec, buf, len));
	CHECK_RC(test_decode_copy(dec, buf, len + 1), AS_E_TRAILING);
	CHECK_RC(test_decode_copy(dec, buf, oversize), AS_E_OVERSIZE);
	CHECK(test_decode_copy(dec, buf, oversize - 1) != AS_E_OVERSIZE);
	for (int v = 0; v < 256; v++) {
		if (v == msg[0])
			continue;
		buf[0] = (uint8_t)v;
		test_ctx("%s with magic 0x%02x", what, v);
		if (!CHECK_RC(test_decode_copy(dec, buf, len), AS_E_MAGIC))
			break;
	}
	buf[0] = msg[0];
	for (int v = 0; v < 256; v++) {
		if (v == msg[1] || v == old_version)
			continue;
		buf[1] = (uint8_t)v;
		test_ctx("%s with version %d", what, v);
		if (!CHECK_RC(test_decode_copy(dec, buf, len), AS_E_VERSION))
			break;
	}
	test_ctx_clear();
	free(buf);
}

static inline void test_check_framing(const char *what, test_decoder dec,
				      const uint8_t *msg, size_t len, size_t oversize)
{
	test_check_framing_old(what, dec, msg, len, oversize, -1);
}

/* Patch a little-endian field of width bytes at offset off in msg. */
static inline void test_put_le(uint8_t *msg, size_t off, size_t width, uint64_t v)
{
	for (size_t i = 0; i < width; i++)
		msg[off + i] = (uint8_t)(v >> (8 * i));
}

/* A version 1 ack (anshim/ack.h), as a cloud before ack version 2 signed
 * it: nothing encodes version 1 any more. */
static inline void test_ack_v1_make(uint8_t out[AS_ACK_V1_LEN], const uint8_t gw_id[AS_GWID_LEN],
				    uint64_t through_seq, int64_t cloud_time_ms,
				    const uint8_t authority_sk[AS_SIGN_SK_LEN])
{
	out[0] = AS_ACK_MAGIC;
	out[1] = 1;
	memcpy(out + 2, gw_id, AS_GWID_LEN);
	test_put_le(out, 18, 8, through_seq);
	test_put_le(out, 26, 8, (uint64_t)cloud_time_ms);
	crypto_sign_detached(out + AS_ACK_V1_LEN - AS_SIG_LEN, NULL, out,
			     AS_ACK_V1_LEN - AS_SIG_LEN, authority_sk);
}

/* ---- scratch directories ---------------------------------------------- */

/* Make a fresh directory under /tmp into buf; aborts the program if it
 * cannot (nothing else would be meaningful). */
static inline char *test_tmpdir(char buf[64])
{
	snprintf(buf, 64, "/tmp/anshim-test-XXXXXX");
	if (!mkdtemp(buf)) {
		perror("mkdtemp");
		exit(2);
	}
	return buf;
}

/* Number of entries in dir, not counting "." and ".."; -1 on error.
 * Bounded: stops counting at 10000. */
static inline int test_dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while (n < 10000 && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Remove a flat scratch directory made by test_tmpdir. */
static inline void test_rmdir(const char *dir)
{
	char path[512];
	DIR *d = opendir(dir);
	struct dirent *e;

	for (int i = 0; d && i < 10000 && (e = readdir(d)) != NULL; i++) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* ---- fixtures: deterministic keys and messages ------------------------ */

#define TEST_NOW INT64_C(1767225600)        /* 2026-01-01T00:00:00Z */
#define TEST_ISSUED (TEST_NOW - 86400)     /* credential issued a day before */
#define TEST_EXPIRES (TEST_NOW + 90 * 86400)
#define TEST_FRESHNESS 60
#define TEST_PHONE "010-1234-5678"

struct test_keys {
	uint8_t auth_pk[AS_SIGN_PK_LEN], auth_sk[AS_SIGN_SK_LEN];       /* authority */
	uint8_t other_pk[AS_SIGN_PK_LEN], other_sk[AS_SIGN_SK_LEN];     /* impostor */
	uint8_t holder_pk[AS_SIGN_PK_LEN], holder_sk[AS_SIGN_SK_LEN];   /* wallet */
	uint8_t device_pk[AS_SIGN_PK_LEN], device_sk[AS_SIGN_SK_LEN];   /* gateway */
	uint8_t contact_pk[AS_BOX_PK_LEN], contact_sk[AS_BOX_SK_LEN];   /* X25519 */
	uint8_t pseudonym[AS_PSEUDONYM_KEY_LEN];
};

/* Fill n bytes with a pattern that depends on tag. */
static inline void test_fill(void *buf, size_t n, unsigned tag)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(tag * 31u + i * 7u + 1u);
}

static inline void test_sign_keypair(uint8_t *pk, uint8_t *sk, unsigned tag)
{
	uint8_t seed[crypto_sign_SEEDBYTES];

	test_fill(seed, sizeof seed, tag);
	crypto_sign_seed_keypair(pk, sk, seed);
}

/* Initialise libsodium and derive every fixture key from a fixed seed. */
static inline void test_keys_init(struct test_keys *k)
{
	uint8_t seed[crypto_box_SEEDBYTES];

	if (as_crypto_init() != 0) {
		fprintf(stderr, "libsodium failed to initialise\n");
		exit(2);
	}
	test_sign_keypair(k->auth_pk, k->auth_sk, 1);
	test_sign_keypair(k->other_pk, k->other_sk, 2);
	test_sign_keypair(k->holder_pk, k->holder_sk, 3);
	test_sign_keypair(k->device_pk, k->device_sk, 4);
	test_fill(seed, sizeof seed, 5);
	crypto_box_seed_keypair(k->contact_pk, k->contact_sk, seed);
	test_fill(k->pseudonym, sizeof k->pseudonym, 6);
}

/*
 * A credential signed by the fixture authority: a phone credential bound to
 * the fixture holder, or (card != 0) a card credential with no holder key.
 * The capsule is a fixed byte pattern, not a real seal: crypto_box_seal is
 * randomized, and the framing tests and the checked-in corpus need the same
 * bytes on every run.  test_capsule.c seals real capsules.
 */
static inline void test_credential_make(const struct test_keys *k, struct as_credential *c,
					int card)
{
	memset(c, 0, sizeof *c);
	c->flags = card ? AS_CRED_CARD : 0;
	if (as_pid_from_phone(c->pid, k->pseudonym, TEST_PHONE) != 0)
		abort();
	if (!card)
		memcpy(c->holder_pk, k->holder_pk, AS_SIGN_PK_LEN);
	c->issued_at = TEST_ISSUED;
	c->expires_at = TEST_EXPIRES;
	test_fill(c->capsule, AS_CAPSULE_LEN, 7);
	if (as_credential_sign(c, k->auth_sk) != 0)
		abort();
}

/* A pass made by the fixture holder at time `at`. */
static inline void test_pass_make(const struct test_keys *k, struct as_pass *p, int64_t at)
{
	struct as_credential c;

	test_credential_make(k, &c, 0);
	if (as_pass_make(p, &c, at, k->holder_sk) != 0)
		abort();
}

/* A valid pass-scan record with journal sequence seq. */
static inline void test_record_make(struct as_record *r, uint64_t seq)
{
	memset(r, 0, sizeof *r);
	r->kind = AS_REC_PASS;
	r->flags = 0;
	r->seq = seq;
	r->entry_time = TEST_NOW + (int64_t)seq * 60;
	r->exit_time = 0;
	r->mono_ms = 5000 + seq * 60000;
	test_fill(r->boot_id, AS_BOOT_ID_LEN, 8);
	test_fill(r->pid, AS_PID_LEN, 9);
	r->headcount = 1;
	r->entered_by = 0;
	r->credential_expires = TEST_EXPIRES;
	test_fill(r->capsule, AS_CAPSULE_LEN, (unsigned)(10 + seq));
}

/* A policy at level 3 with ngw revoked gateways and nh revoked holders;
 * the lists point into caller-owned storage (do not as_policy_free it). */
static inline void test_policy_make(const struct test_keys *k, struct as_policy *p,
				    uint8_t (*gws)[16], uint32_t ngw,
				    uint8_t (*holders)[16], uint32_t nh)
{
	memset(p, 0, sizeof *p);
	p->policy_seq = 7;
	p->issued_at = TEST_NOW;
	p->alert_level = 3;
	memcpy(p->contact_pk, k->contact_pk, AS_BOX_PK_LEN);
	for (uint32_t i = 0; i < ngw; i++)
		test_fill(gws[i], 16, 20 + i);
	for (uint32_t i = 0; i < nh; i++)
		test_fill(holders[i], 16, 40 + i);
	p->n_revoked_gateways = ngw;
	p->revoked_gateways = ngw ? gws : NULL;
	p->n_revoked_holders = nh;
	p->revoked_holders = nh ? holders : NULL;
}

#endif
