/*
 * test_wallet_tokens.c - the wallet's visit tokens (wallet/tokens.c):
 * a missing file is an empty set; a batch is added only for key pairs the
 * wallet asked for, with matching secret keys and the issuer's signature,
 * whole or not at all; tokens already held are skipped; the limit; take
 * gives the unused token expiring first and never one expired; prune;
 * save and load round trip with mode 0600; a damaged file is refused.
 */
#include "test.h"

#include "anshim/fileio.h"
#include "tokens.h"

#include <sys/stat.h>

#define N 6

static uint8_t issuer_pk[32], issuer_sk[64], other_pk[32], other_sk[64];
static uint8_t pks[N][32], sks[N][64];
static char dir[64], path[128];

/* A batch of tokens for keys first..first+n-1, expiring at base + i days. */
static void batch_make(struct as_token_batch *b, int first, int n, int64_t base)
{
	memset(b, 0, sizeof *b);
	b->n = (uint8_t)n;
	for (int i = 0; i < n; i++)
		if (as_token_mint(&b->tokens[i], NULL, pks[first + i], base + (int64_t)(n - i) * 86400,
				  issuer_pk, issuer_sk) != 0)
			abort();
}

static void test_add_and_take(void)
{
	static struct as_token_batch b;
	struct wl_tokens t;
	const struct wl_token *got;
	char err[256];
	int64_t now = TEST_NOW;

	CHECK_OK(wl_tokens_load(&t, path, err, sizeof err)); /* missing: empty */
	CHECK_EQ_INT(t.n, 0);
	CHECK(wl_tokens_take(&t, now) == NULL);
	batch_make(&b, 0, 4, now);
	CHECK_RC(wl_tokens_add(&t, &b, (const uint8_t (*)[32])pks, (const uint8_t (*)[64])sks, N,
			       issuer_pk), 4);
	/* The same batch again adds nothing. */
	CHECK_RC(wl_tokens_add(&t, &b, (const uint8_t (*)[32])pks, (const uint8_t (*)[64])sks, N,
			       issuer_pk), 0);
	CHECK_EQ_INT(t.n, 4);
	CHECK_EQ_INT(wl_tokens_unused(&t, now), 4);
	/* Take: the one that expires first (the last of the batch). */
	got = wl_tokens_take(&t, now);
	if (CHECK(got != NULL)) {
		CHECK_MEM(got->token.token_id, b.tokens[3].token_id, 16);
		CHECK_MEM(got->sk, sks[3], 64);
	}
	CHECK_EQ_INT(wl_tokens_unused(&t, now), 3);
	/* A token is not taken at or after its expiry. */
	CHECK_EQ_INT(wl_tokens_unused(&t, now + 3 * 86400), 1);
	got = wl_tokens_take(&t, now + 4 * 86400);
	CHECK(got == NULL);
	CHECK_EQ_INT(wl_tokens_prune(&t, now + 3 * 86400), 3); /* the used one and two expired */
	CHECK_EQ_INT(t.n, 1);
	CHECK_MEM(t.e[0].token.token_id, b.tokens[0].token_id, 16);
	/* Save, load, same content, mode 0600. */
	CHECK_OK(wl_tokens_save(&t, path));
	wl_tokens_free(&t);
	CHECK(t.e == NULL && t.n == 0);
	{
		struct stat st;

		CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	}
	if (CHECK_OK(wl_tokens_load(&t, path, err, sizeof err))) {
		CHECK_EQ_INT(t.n, 1);
		CHECK_MEM(t.e[0].token.token_id, b.tokens[0].token_id, 16);
		CHECK_MEM(t.e[0].sk, sks[0], 64);
		CHECK_EQ_INT(t.e[0].used, 0);
	}
	wl_tokens_free(&t);
}

static void test_add_refusals(void)
{
	static struct as_token_batch b;
	struct wl_tokens t = {0};
	uint8_t wrong_sks[N][64];

	batch_make(&b, 0, 3, TEST_NOW);
	/* A token for a key the wallet did not ask for: nothing added. */
	CHECK_RC(wl_tokens_add(&t, &b, (const uint8_t (*)[32])pks, (const uint8_t (*)[64])sks, 2,
			       issuer_pk), AS_E_NOT_FOUND);
	CHECK_EQ_INT(t.n, 0);
	/* Another issuer's signature. */
	CHECK_RC(wl_tokens_add(&t, &b, (const uint8_t (*)[32])pks, (const uint8_t (*)[64])sks, N,
			       other_pk), AS_E_ISSUER_SIG);
	CHECK_EQ_INT(t.n, 0);
	/* Secret keys that are not those public keys' (the last one wrong). */
	memcpy(wrong_sks, sks, sizeof wrong_sks);
	memcpy(wrong_sks[2], other_sk, 64);
	CHECK_RC(wl_tokens_add(&t, &b, (const uint8_t (*)[32])pks,
			       (const uint8_t (*)[64])wrong_sks, N, issuer_pk), AS_E_CRYPTO);
	CHECK_EQ_INT(t.n, 0);
	/* Without an issuer key the signature is not checked. */
	CHECK_RC(wl_tokens_add(&t, &b, (const uint8_t (*)[32])pks, (const uint8_t (*)[64])sks, N,
			       NULL), 3);
	wl_tokens_free(&t);
}

static void test_limit(void)
{
	static struct as_token_batch b;
	struct wl_tokens t = {0};
	int added = 0;

	batch_make(&b, 0, 1, TEST_NOW);
	for (int i = 0; i < WL_TOKENS_MAX + 1; i++) {
		int rc;

		if (as_token_mint(&b.tokens[0], NULL, pks[0], TEST_NOW + 86400, issuer_pk, issuer_sk))
			abort();
		rc = wl_tokens_add(&t, &b, (const uint8_t (*)[32])pks, (const uint8_t (*)[64])sks,
				   1, issuer_pk);
		if (i < WL_TOKENS_MAX)
			added += rc == 1;
		else
			CHECK_RC(rc, AS_E_FULL);
	}
	CHECK_EQ_INT(added, WL_TOKENS_MAX);
	CHECK_EQ_INT(t.n, WL_TOKENS_MAX);
	CHECK_OK(wl_tokens_save(&t, path));
	wl_tokens_free(&t);
}

/* Write bytes as the tokens file, then load: the error. */
static int load_bytes(const uint8_t *data, size_t len)
{
	struct wl_tokens t;
	char err[256] = "";
	int rc;

	if (as_file_write_atomic(path, data, len, 0600, 0) != 0)
		abort();
	rc = wl_tokens_load(&t, path, err, sizeof err);
	if (rc && !err[0])
		return -9999; /* an error must say why */
	if (rc && (t.e || t.n))
		return -9998; /* and hold nothing */
	wl_tokens_free(&t);
	return rc;
}

static void test_damaged(void)
{
	static struct as_token_batch b;
	struct wl_tokens t = {0};
	unsigned char *good;
	uint8_t *bad;
	size_t len;

	batch_make(&b, 0, 2, TEST_NOW);
	CHECK_RC(wl_tokens_add(&t, &b, (const uint8_t (*)[32])pks, (const uint8_t (*)[64])sks, N,
			       issuer_pk), 2);
	CHECK_OK(wl_tokens_save(&t, path));
	wl_tokens_free(&t);
	if (!CHECK_OK(as_file_read_all(path, 1 << 20, &good, &len)))
		return;
	CHECK_EQ_INT(len, 4 + 2 * WL_TOKEN_ENTRY_LEN);
	bad = malloc(len + 1);
	if (!bad)
		abort();
	CHECK_OK(load_bytes(good, len));
	memcpy(bad, good, len);
	bad[0] = 'X';
	CHECK_RC(load_bytes(bad, len), AS_E_CORRUPT);              /* magic */
	memcpy(bad, good, len);
	bad[2] = 3;
	CHECK_RC(load_bytes(bad, len), AS_E_CORRUPT);              /* count */
	CHECK_RC(load_bytes(good, len - 1), AS_E_CORRUPT);         /* cut */
	memcpy(bad, good, len);
	bad[len] = 0;
	CHECK_RC(load_bytes(bad, len + 1), AS_E_CORRUPT);          /* trailing */
	memcpy(bad, good, len);
	bad[4 + AS_TOKEN_LEN + 10] ^= 1;                           /* secret key */
	CHECK_RC(load_bytes(bad, len), AS_E_CORRUPT);
	memcpy(bad, good, len);
	bad[4 + WL_TOKEN_ENTRY_LEN - 1] = 2;                       /* used flag */
	CHECK_RC(load_bytes(bad, len), AS_E_CORRUPT);
	memcpy(bad, good, len);
	bad[4 + 22] = bad[4 + 23] = bad[4 + 24] = bad[4 + 25] = 0;  /* expiry 0 */
	CHECK_RC(load_bytes(bad, len), AS_E_CORRUPT);
	CHECK_OK(load_bytes(good, 0) == AS_E_CORRUPT ? 0 : -1);    /* empty file */
	free(bad);
	free(good);
}

int main(void)
{
	struct test_keys keys;

	test_keys_init(&keys);
	test_sign_keypair(issuer_pk, issuer_sk, 50);
	test_sign_keypair(other_pk, other_sk, 51);
	for (int i = 0; i < N; i++)
		test_sign_keypair(pks[i], sks[i], 60 + i);
	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/tokens", dir);
	TEST_RUN(test_add_and_take);
	TEST_RUN(test_add_refusals);
	TEST_RUN(test_limit);
	TEST_RUN(test_damaged);
	test_rmdir(dir);
	return TEST_DONE();
}
