/*
 * tokenstore.c - DIR/tokens (see tokenstore.h).
 *
 * Invariants: a token is usable only while unused and at least
 * WL_TOKEN_MARGIN seconds before its expiry (a pass made from it must
 * still verify at the door); the file is only ever replaced whole
 * (as_file_write_atomic), so a crash leaves the old or the new store.
 * Single-threaded CLI.
 */
#include "tokenstore.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/fileio.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_MAGIC 'W'
#define STORE_VERSION 1
#define ENTRY_LEN (AS_TOKEN_LEN + AS_SIGN_SK_LEN + 1)
#define STORE_MAX (4 + WL_TOKENS_MAX * ENTRY_LEN)

static int store_path(char out[PATH_MAX], const char *dir)
{
	return snprintf(out, PATH_MAX, "%s/tokens", dir) < PATH_MAX ? 0 : -ENAMETOOLONG;
}

int wl_tokens_load(struct wl_tokens *t, const char *dir)
{
	char path[PATH_MAX];
	unsigned char *data = NULL;
	size_t len = 0;
	struct as_reader r;
	int rc;

	t->n = 0;
	if ((rc = store_path(path, dir)) != 0)
		return rc;
	rc = as_file_read_all(path, STORE_MAX, &data, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc == AS_E_OVERSIZE ? AS_E_CORRUPT : rc;
	as_reader_init(&r, data, len);
	uint8_t magic = as_reader_u8(&r), version = as_reader_u8(&r);
	uint16_t n = as_reader_u16(&r);
	if (r.err || magic != STORE_MAGIC || version != STORE_VERSION || n > WL_TOKENS_MAX)
		rc = AS_E_CORRUPT;
	for (size_t i = 0; !rc && i < n; i++) {
		const uint8_t *tok = as_reader_take(&r, AS_TOKEN_LEN);
		struct wl_token_entry *e = &t->e[i];
		if (!tok || as_token_decode(&e->token, tok, AS_TOKEN_LEN) != 0) {
			rc = AS_E_CORRUPT;
			break;
		}
		as_reader_copy(&r, e->token_sk, AS_SIGN_SK_LEN);
		e->used = as_reader_u8(&r);
		if (r.err || e->used > 1)
			rc = AS_E_CORRUPT;
	}
	if (!rc && as_reader_finish(&r))
		rc = AS_E_CORRUPT;
	t->n = rc ? 0 : n;
	sodium_memzero(data, len);
	free(data);
	return rc;
}

int wl_tokens_save(const struct wl_tokens *t, const char *dir)
{
	char path[PATH_MAX];
	uint8_t *buf = malloc(STORE_MAX);
	struct as_writer w;
	int rc;

	if (!buf)
		return -ENOMEM;
	if ((rc = store_path(path, dir)) != 0) {
		free(buf);
		return rc;
	}
	as_writer_init(&w, buf, STORE_MAX);
	as_writer_u8(&w, STORE_MAGIC);
	as_writer_u8(&w, STORE_VERSION);
	as_writer_u16(&w, (uint16_t)t->n);
	for (size_t i = 0; i < t->n && !w.err; i++) {
		uint8_t tok[AS_TOKEN_LEN];
		if (as_token_encode(tok, sizeof tok, &t->e[i].token) != AS_TOKEN_LEN) {
			w.err = AS_E_FIELD;
			break;
		}
		as_writer_bytes(&w, tok, sizeof tok);
		as_writer_bytes(&w, t->e[i].token_sk, AS_SIGN_SK_LEN);
		as_writer_u8(&w, t->e[i].used);
	}
	rc = w.err ? w.err : as_file_write_atomic(path, buf, w.len, 0600, 0);
	sodium_memzero(buf, STORE_MAX);
	free(buf);
	return rc;
}

static int usable(const struct wl_token_entry *e, int64_t now)
{
	return !e->used && e->token.expires_at - WL_TOKEN_MARGIN > now;
}

void wl_tokens_prune(struct wl_tokens *t, int64_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->e[i].used || t->e[i].token.expires_at <= now)
			continue;
		if (k != i)
			t->e[k] = t->e[i];
		k++;
	}
	for (size_t i = k; i < t->n; i++)
		sodium_memzero(&t->e[i], sizeof t->e[i]);
	t->n = k;
}

size_t wl_tokens_usable(const struct wl_tokens *t, int64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += usable(&t->e[i], now);
	return n;
}

int wl_tokens_take(struct wl_tokens *t, int64_t now)
{
	int best = -1;

	for (size_t i = 0; i < t->n; i++)
		if (usable(&t->e[i], now) &&
		    (best < 0 || t->e[i].token.expires_at < t->e[best].token.expires_at))
			best = (int)i;
	if (best >= 0)
		t->e[best].used = 1;
	return best;
}

void wl_tokens_wipe(struct wl_tokens *t)
{
	sodium_memzero(t, sizeof *t);
}
