/*
 * tokens.h - the wallet's visit tokens: each token the issuer signed for
 * it, the secret key of the token's public key, and whether it was shown.
 *
 * A token is shown once: 'anshim-wallet pass' takes the unused token that
 * expires first, marks it used and saves the file before the pass is made,
 * so a crash can waste a token but never show one twice.  Tokens arrive in
 * batches for key pairs the wallet generated (wl_tokens_add matches each
 * token to its secret key by public key).
 *
 * File DIR/tokens (binary, little-endian, mode 0600, replaced atomically
 * with as_file_write_atomic):
 *     'W' ver=1 n u16 (0..WL_TOKENS_MAX)
 *     n x { token[122] (token.h), token_sk[64], used u8 (0 or 1) }
 * Loading is strict: anything else is AS_E_CORRUPT.  Secret keys are wiped
 * when the set is freed.  Single-threaded (the wallet CLI); one process
 * at a time per wallet directory (wl_diary_lock).
 */
#ifndef WALLET_TOKENS_H
#define WALLET_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/token.h"

#define WL_TOKENS_MAX 512
#define WL_TOKEN_ENTRY_LEN (AS_TOKEN_LEN + AS_SIGN_SK_LEN + 1)

struct wl_token {
	struct as_token token;
	uint8_t sk[AS_SIGN_SK_LEN];
	uint8_t used;
};

struct wl_tokens {
	struct wl_token *e;      /* owned; n entries */
	size_t n;
};

/* Load path into t (zeroed or freed before).  A missing file is an empty
 * set.  Returns 0, AS_E_CORRUPT (err says why), AS_E_OVERSIZE, -ENOMEM or
 * -errno. */
int wl_tokens_load(struct wl_tokens *t, const char *path, char *err, size_t err_len);

/* Replace path with t, atomically and durably (mode 0600).  0 or -errno. */
int wl_tokens_save(const struct wl_tokens *t, const char *path);

/* Wipe the secret keys and release t (safe on a zeroed set). */
void wl_tokens_free(struct wl_tokens *t);

/*
 * Add the tokens of batch b whose token_pk is one of pks[0..n_keys) (the
 * key pairs the wallet put in its request), each with its secret key from
 * sks.  When issuer_pk is not NULL every token's issuer signature must
 * verify under it (AS_E_ISSUER_SIG, nothing added).  A token whose public
 * key the wallet did not ask for is AS_E_NOT_FOUND, a secret key that is
 * not its public key's AS_E_CRYPTO (nothing added either way); a token
 * already held is skipped.  AS_E_FULL past WL_TOKENS_MAX.  Returns the
 * number added or an error.
 */
int wl_tokens_add(struct wl_tokens *t, const struct as_token_batch *b,
		  const uint8_t (*pks)[AS_SIGN_PK_LEN], const uint8_t (*sks)[AS_SIGN_SK_LEN],
		  size_t n_keys, const uint8_t *issuer_pk);

/* Drop used tokens and those expired at now.  Returns how many. */
size_t wl_tokens_prune(struct wl_tokens *t, int64_t now);

/* Unused tokens still valid at now. */
size_t wl_tokens_unused(const struct wl_tokens *t, int64_t now);

/* The unused token valid at now that expires first, marked used; NULL if
 * none.  The caller saves t before showing the pass.  Points into t. */
const struct wl_token *wl_tokens_take(struct wl_tokens *t, int64_t now);

#endif
