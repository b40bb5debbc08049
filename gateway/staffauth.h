/*
 * staffauth.h - who may use the staff screen: the staff PIN (an argon2id
 * hash, libsodium's crypto_pwhash_str, kept in state_dir/staff.pin, mode
 * 0600), login sessions, and the lock-out after wrong PINs.
 *
 * Rules: a PIN is GW_STAFF_PIN_MIN..GW_STAFF_PIN_MAX digits.  After
 * GW_STAFF_TRIES wrong PINs in a row from one address, that address is
 * locked out for the lock-out time (even the right PIN is refused); after
 * GW_STAFF_TRIES_ALL wrong PINs from all addresses within one lock-out
 * time, every address is.  A successful login clears its address's count.
 * Only one PIN is checked at a time (argon2id takes tens of megabytes and
 * a good part of a second on a Pi), which also slows guessing.  A session
 * is a random 256-bit token given to the browser in a cookie; only its
 * BLAKE2b hash is kept, for at most the session time.
 *
 * Threads: every function may be called from any thread; the state is
 * guarded by one mutex (and PIN checks by another).
 */
#ifndef GW_STAFFAUTH_H
#define GW_STAFFAUTH_H

#include <stddef.h>
#include <stdint.h>

#define GW_STAFF_PIN_MIN 4
#define GW_STAFF_PIN_MAX 12
#define GW_STAFF_TRIES 5        /* wrong PINs in a row from one address */
#define GW_STAFF_TRIES_ALL 20   /* wrong PINs from all addresses, per lock-out time */
#define GW_STAFF_SESSIONS 16    /* sessions at once; the oldest gives way */
#define GW_STAFF_TOKEN_LEN 64   /* hex characters of a session token */
#define GW_STAFF_PIN_FILE "staff.pin"   /* in state_dir */

struct gw_staffauth;

enum gw_login_result {
	GW_LOGIN_OK,
	GW_LOGIN_WRONG,     /* *tries_left more tries before the lock-out */
	GW_LOGIN_LOCKED,    /* *retry_after seconds to wait */
	GW_LOGIN_NO_PIN     /* no PIN set: run 'anshim-gw staff-pin' */
};

/* Make the state (lock-out and session times in seconds, >= 1).  0 or
 * -ENOMEM.  Free with gw_staffauth_free. */
int gw_staffauth_new(struct gw_staffauth **out, int64_t lockout, int64_t session);
void gw_staffauth_free(struct gw_staffauth *a);

/*
 * (Re)read the PIN hash from path.  A missing file is not an error: the
 * staff screen then has no PIN and refuses every login (returns 0 and
 * *have_pin 0).  A file readable by others, or one without an argon2id
 * hash, is an error (AS_E_KEY_PERMS, AS_E_CONFIG) with err naming the
 * file and the fix; the previous PIN then stays.  Ends every session when
 * the PIN changes.
 */
int gw_staffauth_load_pin(struct gw_staffauth *a, const char *path, int *have_pin,
			  char *err, size_t err_len);
int gw_staffauth_has_pin(struct gw_staffauth *a);

/* Check pin from the client address; on GW_LOGIN_OK token (at least
 * GW_STAFF_TOKEN_LEN + 1 bytes) holds a new session's token. */
enum gw_login_result gw_staffauth_login(struct gw_staffauth *a, const char *client,
					const char *pin, int64_t now, char *token,
					unsigned *tries_left, int64_t *retry_after);

/* 1 if token (may be NULL) is a live session at now, else 0. */
int gw_staffauth_session_ok(struct gw_staffauth *a, const char *token, int64_t now);

/* End the session of token (NULL or unknown: nothing). */
void gw_staffauth_logout(struct gw_staffauth *a, const char *token);

/* Is pin a well-formed PIN (digits only, GW_STAFF_PIN_MIN..MAX)? 1/0. */
int gw_staffauth_pin_valid(const char *pin);

/*
 * The line stored in the PIN file for pin: an argon2id hash string
 * (crypto_pwhash_str at libsodium's interactive limits) and a newline,
 * into out (at least 160 bytes).  0, AS_E_FIELD for a malformed PIN, or
 * -ENOMEM.  Any thread.
 */
int gw_staffauth_hash_pin(char *out, size_t out_len, const char *pin);

#endif
