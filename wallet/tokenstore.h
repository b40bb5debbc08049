/*
 * tokenstore.h - the wallet's visit tokens, DIR/tokens: each token the
 * issuer signed with the secret key only this wallet holds, and whether it
 * was used.  A token makes one pass (version 2) and is then spent: the
 * store marks it used, durably, before the pass is shown, so no token is
 * ever shown twice, even after a crash.
 *
 * File layout (little-endian, mode 0600, replaced atomically):
 *   'W' ver=1 n u16 (0..WL_TOKENS_MAX),
 *   n x { token[122] (anshim/token.h) token_sk[64] used u8 (0 or 1) }
 *
 * Single-threaded CLI (the wallet directory's lock held).
 */
#ifndef WALLET_TOKENSTORE_H
#define WALLET_TOKENSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/token.h"

#define WL_TOKENS_MAX 256      /* tokens kept at most */
#define WL_TOKENS_LOW 16       /* fewer usable than this: top up when online */
#define WL_TOKEN_MARGIN 3600   /* a token this close to its expiry is not used */

struct wl_token_entry {
	struct as_token token;
	uint8_t token_sk[AS_SIGN_SK_LEN];
	uint8_t used;
};

struct wl_tokens {
	size_t n;
	struct wl_token_entry e[WL_TOKENS_MAX];
};

/* Load DIR/tokens into t (a missing file is an empty store).  0,
 * AS_E_CORRUPT (a file this version cannot read), or -errno. */
int wl_tokens_load(struct wl_tokens *t, const char *dir);
/* Write t to DIR/tokens atomically (0600).  0 or -errno. */
int wl_tokens_save(const struct wl_tokens *t, const char *dir);
/* Drop used tokens and those expired at now. */
void wl_tokens_prune(struct wl_tokens *t, int64_t now);
/* Tokens that can still make a pass at now. */
size_t wl_tokens_usable(const struct wl_tokens *t, int64_t now);
/* The usable token expiring first: its index, marked used; or -1. */
int wl_tokens_take(struct wl_tokens *t, int64_t now);
/* Wipe the secrets in t. */
void wl_tokens_wipe(struct wl_tokens *t);

#endif
