/*
 * issuer_state.h - the issuer's durable state (anshim-issuerd), one LMDB
 * environment in its state directory:
 *
 *  - pending enrolments: the one-time code's keyed hash, the phone's keyed
 *    hash and its contact capsule (sealed to the authority, never
 *    readable here), the holder key, the expiry and the wrong tries;
 *  - rate-limit buckets (token buckets) per phone, holder key and client
 *    address, each under a keyed hash, so a restart never resets them;
 *  - enrolments issued: enrolment id -> phone hash, capsule, expiry;
 *  - issued ids per phone (enrolment and token ids with their expiry), and
 *    the revoked phones, for revocation.
 *
 * No phone number, address or code is stored in plain text.
 *
 * Threads: every call may run on any thread, several at once (each is one
 * LMDB transaction; LMDB serialises writers).  The handle itself is
 * read-only after is_state_open.
 */
#ifndef IS_STATE_H
#define IS_STATE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "anshim/capsule.h"
#include "anshim/identity.h"

#define IS_HASH_LEN 32
#define IS_ID_LEN 16

struct is_state;

struct is_pending {
	uint8_t phone_hash[IS_HASH_LEN];
	uint8_t holder_pk[AS_SIGN_PK_LEN];
	uint8_t code_hash[IS_HASH_LEN];
	int64_t expires_at;            /* unix seconds */
	uint8_t tries;                 /* wrong codes so far */
	uint8_t capsule[AS_CAPSULE_LEN];
};

enum is_rate_class { IS_RATE_PHONE = 1, IS_RATE_HOLDER = 2, IS_RATE_ADDRESS = 3 };

struct is_rate_rule {
	int64_t burst;     /* bucket size: requests allowed at once, >= 1 */
	int64_t period;    /* seconds to earn one request back, >= 1 */
};

struct is_rate_take {
	enum is_rate_class cls;
	uint8_t key[IS_HASH_LEN];           /* keyed hash of the phone, key, address */
	const struct is_rate_rule *rule;    /* borrowed */
};

/* Results beyond the project's error codes. */
#define IS_CODE_WRONG 1    /* is_state_pending_try: wrong code, tries left */
#define IS_CODE_DEAD 2     /* too many wrong codes: the enrolment is gone */
#define IS_CODE_EXPIRED 3  /* past its expiry: gone */
#define IS_CODE_UNKNOWN 4  /* no such enrolment (never, used, or removed) */

/* Open (creating) the environment in dir (made 0700 if absent).  0, or an
 * error with err naming the directory and the fix. */
int is_state_open(struct is_state **out, const char *dir, uint64_t map_size, char *err,
		  size_t err_len);
/* Close; NULL is ignored.  No call may be running. */
void is_state_close(struct is_state *st);

/*
 * Take one request from each of the n buckets, all or none, at now_ms
 * (unix milliseconds).  A bucket starts full.  Returns 0 when every bucket
 * had one, 1 when one was empty (nothing taken; *retry_after the seconds
 * until all have one, *which the class of the emptiest), or an error.
 */
int is_state_rate_take(struct is_state *st, const struct is_rate_take *takes, size_t n,
		       int64_t now_ms, int64_t *retry_after, enum is_rate_class *which);

/* Store a new pending enrolment under id.  0 or an error. */
int is_state_pending_put(struct is_state *st, const uint8_t id[IS_ID_LEN],
			 const struct is_pending *p);
/* Remove it (the code could not be sent).  0 or an error. */
int is_state_pending_delete(struct is_state *st, const uint8_t id[IS_ID_LEN]);
/*
 * One attempt at the code of enrolment id whose keyed hash is code_hash,
 * at now (unix seconds).  Right: the enrolment is removed (single use),
 * *out gets it, returns 0.  Wrong: tries counted, IS_CODE_WRONG with
 * *tries_left; at max_tries wrong ones it is removed: IS_CODE_DEAD.  Past
 * expires_at: removed, IS_CODE_EXPIRED.  None: IS_CODE_UNKNOWN.  Negative:
 * a store error.
 */
int is_state_pending_try(struct is_state *st, const uint8_t id[IS_ID_LEN],
			 const uint8_t code_hash[IS_HASH_LEN], int64_t now, unsigned max_tries,
			 struct is_pending *out, unsigned *tries_left);

/*
 * Record an issued enrolment (id, its phone's hash and capsule, expiry),
 * unless the phone is revoked: AS_E_REVOKED.  0 or an error.
 */
int is_state_enrolment_add(struct is_state *st, const uint8_t id[IS_ID_LEN],
			   const uint8_t phone_hash[IS_HASH_LEN],
			   const uint8_t capsule[AS_CAPSULE_LEN], int64_t expires_at);

/* Is the phone revoked?  0 (*revoked set) or an error. */
int is_state_phone_revoked(struct is_state *st, const uint8_t phone_hash[IS_HASH_LEN],
			   int *revoked);

/*
 * Token issuance for enrolment enrol_id: in one write transaction, check
 * that the enrolment is known (AS_E_NOT_FOUND) and its phone not revoked
 * (AS_E_REVOKED), record the n token ids with their expiry under the
 * phone, then call in_txn(ctx, txn, capsule) (may be NULL) with the
 * enrolment's contact capsule: what it writes in txn (the capsule feed's
 * outbox) commits with the ids, or neither does.  A nonzero return of
 * in_txn aborts and is returned.  0 or an error.
 */
int is_state_tokens_record(struct is_state *st, const uint8_t enrol_id[IS_ID_LEN],
			   const uint8_t (*token_ids)[IS_ID_LEN], size_t n, int64_t expires_at,
			   int (*in_txn)(void *ctx, MDB_txn *txn,
					 const uint8_t capsule[AS_CAPSULE_LEN]),
			   void *ctx);

/*
 * The serial of a new issue of tokens (anshim/token.h, as_token_id_derive):
 * 1, 2, ... never handed out twice, across restarts and crashes (serials
 * are reserved durably IS_SERIAL_BLOCK at a time; a crash skips the rest
 * of a block).  0, AS_E_FULL when the serials are used up, or a store
 * error.  Any thread.
 */
#define IS_SERIAL_BLOCK 1024
int is_state_serial_next(struct is_state *st, uint64_t *serial);

/* The LMDB environment, for a module that keeps its own database in it
 * (the capsule feed's outbox, IS_STATE_SPARE_DBS of them at most). */
MDB_env *is_state_env(struct is_state *st);
#define IS_STATE_SPARE_DBS 2

/*
 * Revoke a phone (idempotent): no more enrolments or tokens for it.  Then
 * call fn(ctx, id) for every enrolment and token id issued to it that is
 * unexpired at now.  0 or an error (or fn's nonzero return).
 */
int is_state_revoke_phone(struct is_state *st, const uint8_t phone_hash[IS_HASH_LEN],
			  int64_t now, int (*fn)(void *ctx, const uint8_t id[IS_ID_LEN]),
			  void *ctx);
/* fn for every unexpired id of every revoked phone (the policy's list). */
int is_state_revoked_ids(struct is_state *st, int64_t now,
			 int (*fn)(void *ctx, const uint8_t id[IS_ID_LEN]), void *ctx);

/* Drop what time has made useless: pending enrolments past expiry,
 * issued ids and enrolments past expiry, full buckets untouched for a day.
 * *dropped counts them.  0 or an error. */
int is_state_purge(struct is_state *st, int64_t now, uint64_t *dropped);

#endif
