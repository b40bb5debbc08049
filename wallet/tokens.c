/*
 * tokens.c - the wallet's visit tokens (see tokens.h for the file).
 *
 * Invariants: every entry in memory decoded strictly and holds a token
 * whose public key matches its secret key; used is 0 or 1; secret keys
 * are wiped before memory is released.  Single-threaded.
 */
#include "tokens.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/fileio.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAGIC 'W'
#define FILE_VERSION 1
#define FILE_HEAD 4
#define FILE_MAX (FILE_HEAD + (size_t)WL_TOKENS_MAX * WL_TOKEN_ENTRY_LEN)

/* sk is a whole Ed25519 secret key (seed and public half) whose public key
 * is pk: the key pair made again from its seed gives both back. */
static int key_pair_ok(const uint8_t sk[AS_SIGN_SK_LEN], const uint8_t pk[AS_SIGN_PK_LEN])
{
	uint8_t seed[crypto_sign_SEEDBYTES], pk2[AS_SIGN_PK_LEN], sk2[AS_SIGN_SK_LEN];
	int ok;

	crypto_sign_ed25519_sk_to_seed(seed, sk);
	crypto_sign_seed_keypair(pk2, sk2, seed);
	ok = sodium_memcmp(sk2, sk, AS_SIGN_SK_LEN) == 0 &&
	     sodium_memcmp(pk2, pk, AS_SIGN_PK_LEN) == 0;
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(sk2, sizeof sk2);
	return ok;
}

static int key_matches(const struct wl_token *e)
{
	return key_pair_ok(e->sk, e->token.token_pk);
}

int wl_tokens_load(struct wl_tokens *t, const char *path, char *err, size_t err_len)
{
	unsigned char *data = NULL;
	struct as_reader r;
	size_t len;
	uint16_t n;
	int rc;

	memset(t, 0, sizeof *t);
	rc = as_file_read_all(path, FILE_MAX, &data, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc) {
		as_err_printf(err, err_len, "%s: %s", path, as_strerror(rc));
		return rc;
	}
	as_reader_init(&r, data, len);
	if (as_reader_u8(&r) != FILE_MAGIC || as_reader_u8(&r) != FILE_VERSION) {
		as_err_printf(err, err_len, "%s: not an anshim-wallet tokens file", path);
		rc = AS_E_CORRUPT;
		goto out;
	}
	n = as_reader_u16(&r);
	if (r.err || n > WL_TOKENS_MAX || r.left != (size_t)n * WL_TOKEN_ENTRY_LEN) {
		as_err_printf(err, err_len, "%s: the token count does not match the file's size",
			      path);
		rc = AS_E_CORRUPT;
		goto out;
	}
	t->e = n ? calloc(n, sizeof *t->e) : NULL;
	if (n && !t->e) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct wl_token *e = &t->e[i];
		const uint8_t *tok = as_reader_take(&r, AS_TOKEN_LEN);

		rc = as_token_decode(&e->token, tok, AS_TOKEN_LEN);
		as_reader_copy(&r, e->sk, AS_SIGN_SK_LEN);
		e->used = as_reader_u8(&r);
		t->n = i + 1;
		if (rc || e->used > 1 || !key_matches(e)) {
			as_err_printf(err, err_len, "%s: token %zu is damaged%s%s", path, i + 1,
				      rc ? ": " : "", rc ? as_strerror(rc) : "");
			rc = AS_E_CORRUPT;
			goto out;
		}
	}
out:
	if (data) {
		sodium_memzero(data, len);
		free(data);
	}
	if (rc)
		wl_tokens_free(t);
	return rc;
}

int wl_tokens_save(const struct wl_tokens *t, const char *path)
{
	size_t len = FILE_HEAD + t->n * WL_TOKEN_ENTRY_LEN;
	uint8_t *buf = malloc(len);
	struct as_writer w;
	int rc;

	if (!buf)
		return -ENOMEM;
	as_writer_init(&w, buf, len);
	as_writer_u8(&w, FILE_MAGIC);
	as_writer_u8(&w, FILE_VERSION);
	as_writer_u16(&w, (uint16_t)t->n);
	for (size_t i = 0; i < t->n && !w.err; i++) {
		if (w.cap - w.len < AS_TOKEN_LEN ||
		    as_token_encode(w.p + w.len, AS_TOKEN_LEN, &t->e[i].token) != AS_TOKEN_LEN) {
			w.err = AS_E_FIELD;
			break;
		}
		w.len += AS_TOKEN_LEN;
		as_writer_bytes(&w, t->e[i].sk, AS_SIGN_SK_LEN);
		as_writer_u8(&w, t->e[i].used);
	}
	rc = w.err ? w.err : as_file_write_atomic(path, buf, w.len, 0600, 0);
	sodium_memzero(buf, len);
	free(buf);
	return rc;
}

void wl_tokens_free(struct wl_tokens *t)
{
	if (t->e) {
		sodium_memzero(t->e, t->n * sizeof *t->e);
		free(t->e);
	}
	t->e = NULL;
	t->n = 0;
}

static int held(const struct wl_tokens *t, const uint8_t id[AS_TOKEN_ID_LEN])
{
	for (size_t i = 0; i < t->n; i++)
		if (memcmp(t->e[i].token.token_id, id, AS_TOKEN_ID_LEN) == 0)
			return 1;
	return 0;
}

int wl_tokens_add(struct wl_tokens *t, const struct as_token_batch *b,
		  const uint8_t (*pks)[AS_SIGN_PK_LEN], const uint8_t (*sks)[AS_SIGN_SK_LEN],
		  size_t n_keys, const uint8_t *issuer_pk)
{
	size_t key_of[AS_TOKEN_BATCH_MAX], added = 0, fresh = 0;
	struct wl_token *grown;

	/* Check everything first: a batch is added whole or not at all. */
	for (unsigned i = 0; i < b->n; i++) {
		size_t k = 0;

		if (issuer_pk && as_token_verify_issuer(&b->tokens[i], issuer_pk) != 0)
			return AS_E_ISSUER_SIG;
		while (k < n_keys && memcmp(pks[k], b->tokens[i].token_pk, AS_SIGN_PK_LEN) != 0)
			k++;
		if (k == n_keys)
			return AS_E_NOT_FOUND;
		if (!key_pair_ok(sks[k], pks[k]))
			return AS_E_CRYPTO; /* the caller's key pair does not match */
		key_of[i] = k;
		fresh += !held(t, b->tokens[i].token_id);
	}
	if (t->n + fresh > WL_TOKENS_MAX)
		return AS_E_FULL;
	if (!fresh)
		return 0;
	grown = realloc(t->e, (t->n + fresh) * sizeof *t->e);
	if (!grown)
		return -ENOMEM;
	t->e = grown;
	for (unsigned i = 0; i < b->n; i++) {
		struct wl_token *e;

		if (held(t, b->tokens[i].token_id))
			continue;
		e = &t->e[t->n];
		memset(e, 0, sizeof *e);
		e->token = b->tokens[i];
		memcpy(e->sk, sks[key_of[i]], AS_SIGN_SK_LEN);
		t->n++;
		added++;
	}
	return (int)added;
}

static int valid_at(const struct wl_token *e, int64_t now)
{
	return !e->used && now < e->token.expires_at;
}

size_t wl_tokens_prune(struct wl_tokens *t, int64_t now)
{
	size_t kept = 0, n = t->n;

	for (size_t i = 0; i < n; i++) {
		if (!valid_at(&t->e[i], now))
			continue;
		if (kept != i)
			t->e[kept] = t->e[i];
		kept++;
	}
	if (kept < n)
		sodium_memzero(t->e + kept, (n - kept) * sizeof *t->e);
	t->n = kept;
	return n - kept;
}

size_t wl_tokens_unused(const struct wl_tokens *t, int64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += valid_at(&t->e[i], now);
	return n;
}

const struct wl_token *wl_tokens_take(struct wl_tokens *t, int64_t now)
{
	struct wl_token *best = NULL;

	for (size_t i = 0; i < t->n; i++)
		if (valid_at(&t->e[i], now) &&
		    (!best || t->e[i].token.expires_at < best->token.expires_at))
			best = &t->e[i];
	if (best)
		best->used = 1;
	return best;
}
