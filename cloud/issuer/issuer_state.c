/*
 * issuer_state.c - the issuer's LMDB state (see issuer_state.h).
 *
 * Databases (keys and values little-endian unless noted):
 *   pending   id[16] -> phone_hash[32] holder_pk[32] code_hash[32]
 *                       expires_at i64 tries u8 capsule[131]
 *   buckets   class u8 key[32] -> level i64 (millionths of a request)
 *                       updated_ms i64 full_at_ms i64
 *   enrolled  id[16] -> phone_hash[32] expires_at i64 capsule[131]
 *   issued    phone_hash[32] id[16] -> kind u8 (1 enrolment, 2 token)
 *                       expires_at i64
 *   revoked   phone_hash[32] -> revoked_at i64
 *
 * Invariants: every decision that reads and then writes (a bucket, a
 * code's tries, the revoked check before recording tokens) happens inside
 * one write transaction, so two threads never both spend the last request
 * of a bucket or both use one code.  Commits are durable (no MDB_NOSYNC):
 * a refused client stays refused after a crash or restart.
 *
 * Threads: any, several at once; MDB_NOTLS, one transaction per call.
 */
#include "issuer_state.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/lmdbenv.h"
#include "anshim/token.h"

#include <errno.h>
#include <lmdb.h>
#include <uv.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_LEN (IS_HASH_LEN + AS_SIGN_PK_LEN + IS_HASH_LEN + 8 + 1 + AS_CAPSULE_LEN)
#define BUCKET_KEY_LEN (1 + IS_HASH_LEN)
#define BUCKET_LEN 24
#define ENROLLED_LEN (IS_HASH_LEN + 8 + AS_CAPSULE_LEN)
#define ISSUED_KEY_LEN (IS_HASH_LEN + IS_ID_LEN)
#define ISSUED_LEN 9
#define MICRO 1000000LL

enum { KIND_ENROLMENT = 1, KIND_TOKEN = 2 };

struct is_state {
	MDB_env *env;
	MDB_dbi pending, buckets, enrolled, issued, revoked, meta;
	/* issue serials handed out from memory: [serial_next, serial_limit),
	 * the limit reserved durably in meta ("serial") */
	uv_mutex_t serial_lock;
	uint64_t serial_next, serial_limit;
};

static int lmdb_err(int rc)
{
	if (rc == 0)
		return 0;
	if (rc == MDB_MAP_FULL)
		return AS_E_FULL;
	if (rc == MDB_NOTFOUND)
		return AS_E_NOT_FOUND;
	if (rc > 0 && rc < 1000)
		return -rc;
	return AS_E_STORE;
}

int is_state_open(struct is_state **out, const char *dir, uint64_t map_size, char *err,
		  size_t err_len)
{
	struct is_state *st;
	MDB_txn *txn = NULL;
	int rc;

	*out = NULL;
	if (map_size > SIZE_MAX) {
		as_err_printf(err, err_len, "map_size %llu does not fit this machine's address "
			      "space (lower it)", (unsigned long long)map_size);
		return AS_E_CONFIG;
	}
	if ((rc = as_mkdir_p(dir, 0700)) != 0) {
		as_err_printf(err, err_len, "cannot create state directory %s: %s (create it, "
			      "owned by the issuer's user)", dir, as_strerror(rc));
		return rc;
	}
	st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	rc = as_lmdb_env_open(&st->env, dir, &(struct as_lmdb_env_options){
		.max_dbs = 6 + IS_STATE_SPARE_DBS, .map_size = map_size, .check_readers = 1});
	if (!rc)
		rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, "pending", MDB_CREATE, &st->pending);
	if (!rc)
		rc = mdb_dbi_open(txn, "buckets", MDB_CREATE, &st->buckets);
	if (!rc)
		rc = mdb_dbi_open(txn, "enrolled", MDB_CREATE, &st->enrolled);
	if (!rc)
		rc = mdb_dbi_open(txn, "issued", MDB_CREATE, &st->issued);
	if (!rc)
		rc = mdb_dbi_open(txn, "revoked", MDB_CREATE, &st->revoked);
	if (!rc)
		rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &st->meta);
	if (!rc) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (rc) {
		as_err_printf(err, err_len, "cannot open the issuer state in %s: %s (it must be "
			      "a directory the issuer's user owns; raise map_size if full)", dir,
			      mdb_strerror(rc));
		if (txn)
			mdb_txn_abort(txn);
		if (st->env)
			mdb_env_close(st->env);
		free(st);
		return lmdb_err(rc);
	}
	if (uv_mutex_init(&st->serial_lock)) {
		mdb_env_close(st->env);
		free(st);
		return -ENOMEM;
	}
	*out = st;
	return 0;
}

int is_state_serial_next(struct is_state *st, uint64_t *serial)
{
	int rc = 0;

	uv_mutex_lock(&st->serial_lock);
	if (st->serial_next == st->serial_limit) {
		uint64_t first;
		MDB_txn *txn;

		rc = mdb_txn_begin(st->env, NULL, 0, &txn);
		if (!rc) {
			rc = as_lmdb_meta_get_u64(txn, st->meta, "serial", &first);
			if (!rc && first == 0)
				first = 1;   /* serial 0 is never issued */
			if (!rc && first > AS_TOKEN_SERIAL_MAX - IS_SERIAL_BLOCK)
				rc = MDB_MAP_FULL;
			if (!rc)
				rc = as_lmdb_meta_put_u64(txn, st->meta, "serial",
							  first + IS_SERIAL_BLOCK);
			if (!rc)
				rc = mdb_txn_commit(txn);
			else
				mdb_txn_abort(txn);
		}
		if (!rc) {
			st->serial_next = first;
			st->serial_limit = first + IS_SERIAL_BLOCK;
		}
	}
	if (!rc)
		*serial = st->serial_next++;
	uv_mutex_unlock(&st->serial_lock);
	return lmdb_err(rc);
}

void is_state_close(struct is_state *st)
{
	if (!st)
		return;
	uv_mutex_destroy(&st->serial_lock);
	mdb_env_close(st->env);
	free(st);
}

/* ---- rate limits -------------------------------------------------------- */

struct bucket {
	int64_t level;       /* millionths of a request */
	int64_t updated_ms;
	int64_t full_at_ms;
};

static void bucket_load(struct bucket *b, const MDB_val *v, const struct is_rate_rule *rule,
			int64_t now_ms)
{
	int64_t cap = rule->burst * MICRO;

	if (!v || v->mv_size != BUCKET_LEN) {
		b->level = cap;
		b->updated_ms = now_ms;
		return;
	}
	struct as_reader r;
	as_reader_init(&r, v->mv_data, v->mv_size);
	b->level = as_reader_i64(&r);
	b->updated_ms = as_reader_i64(&r);
	b->full_at_ms = as_reader_i64(&r);
	/* Refill: one request per period.  A clock that went back earns
	 * nothing. */
	if (now_ms > b->updated_ms) {
		int64_t elapsed = now_ms - b->updated_ms;
		int64_t earned = elapsed >= rule->period * 1000 * rule->burst
					 ? cap : elapsed * (MICRO / 1000) / rule->period;
		b->level = b->level + earned > cap ? cap : b->level + earned;
	}
	if (b->level < 0)
		b->level = 0;
	if (b->level > cap)
		b->level = cap;
	b->updated_ms = now_ms;
}

/* Seconds until the bucket holds one request (>= 1). */
static int64_t bucket_wait(const struct bucket *b, const struct is_rate_rule *rule)
{
	int64_t missing = MICRO - b->level;       /* millionths */
	int64_t ms = (missing * rule->period * 1000 + MICRO - 1) / MICRO;
	int64_t s = (ms + 999) / 1000;

	return s < 1 ? 1 : s;
}

int is_state_rate_take(struct is_state *st, const struct is_rate_take *takes, size_t n,
		       int64_t now_ms, int64_t *retry_after, enum is_rate_class *which)
{
	struct bucket b[8];
	uint8_t keys[8][BUCKET_KEY_LEN];
	MDB_txn *txn;
	int rc, limited = 0;

	*retry_after = 0;
	if (n > 8)
		return AS_E_FIELD;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return lmdb_err(rc);
	for (size_t i = 0; i < n; i++) {
		MDB_val k = {BUCKET_KEY_LEN, keys[i]}, v;
		keys[i][0] = (uint8_t)takes[i].cls;
		memcpy(keys[i] + 1, takes[i].key, IS_HASH_LEN);
		rc = mdb_get(txn, st->buckets, &k, &v);
		if (rc && rc != MDB_NOTFOUND)
			goto fail;
		bucket_load(&b[i], rc ? NULL : &v, takes[i].rule, now_ms);
		if (b[i].level < MICRO) {
			int64_t wait = bucket_wait(&b[i], takes[i].rule);
			if (wait > *retry_after) {
				*retry_after = wait;
				if (which)
					*which = takes[i].cls;
			}
			limited = 1;
		}
	}
	if (limited) {
		mdb_txn_abort(txn);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t val[BUCKET_LEN];
		struct as_writer w;
		MDB_val k = {BUCKET_KEY_LEN, keys[i]}, v = {BUCKET_LEN, val};
		const struct is_rate_rule *rule = takes[i].rule;

		b[i].level -= MICRO;
		b[i].full_at_ms = now_ms + (rule->burst * MICRO - b[i].level) * rule->period * 1000 /
						   MICRO;
		as_writer_init(&w, val, sizeof val);
		as_writer_i64(&w, b[i].level);
		as_writer_i64(&w, b[i].updated_ms);
		as_writer_i64(&w, b[i].full_at_ms);
		if ((rc = mdb_put(txn, st->buckets, &k, &v, 0)) != 0)
			goto fail;
	}
	rc = mdb_txn_commit(txn);
	return lmdb_err(rc);
fail:
	mdb_txn_abort(txn);
	return lmdb_err(rc);
}

/* ---- pending enrolments ------------------------------------------------- */

static void pending_write(uint8_t out[PENDING_LEN], const struct is_pending *p)
{
	struct as_writer w;

	as_writer_init(&w, out, PENDING_LEN);
	as_writer_bytes(&w, p->phone_hash, IS_HASH_LEN);
	as_writer_bytes(&w, p->holder_pk, AS_SIGN_PK_LEN);
	as_writer_bytes(&w, p->code_hash, IS_HASH_LEN);
	as_writer_i64(&w, p->expires_at);
	as_writer_u8(&w, p->tries);
	as_writer_bytes(&w, p->capsule, AS_CAPSULE_LEN);
}

static int pending_read(struct is_pending *p, const MDB_val *v)
{
	struct as_reader r;

	as_reader_init(&r, v->mv_data, v->mv_size);
	as_reader_copy(&r, p->phone_hash, IS_HASH_LEN);
	as_reader_copy(&r, p->holder_pk, AS_SIGN_PK_LEN);
	as_reader_copy(&r, p->code_hash, IS_HASH_LEN);
	p->expires_at = as_reader_i64(&r);
	p->tries = as_reader_u8(&r);
	as_reader_copy(&r, p->capsule, AS_CAPSULE_LEN);
	return as_reader_finish(&r) ? AS_E_CORRUPT : 0;
}

int is_state_pending_put(struct is_state *st, const uint8_t id[IS_ID_LEN],
			 const struct is_pending *p)
{
	uint8_t val[PENDING_LEN];
	MDB_val k = {IS_ID_LEN, (void *)id}, v = {PENDING_LEN, val};
	MDB_txn *txn;
	int rc;

	pending_write(val, p);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return lmdb_err(rc);
	rc = mdb_put(txn, st->pending, &k, &v, MDB_NOOVERWRITE);
	if (rc) {
		mdb_txn_abort(txn);
		return lmdb_err(rc);
	}
	return lmdb_err(mdb_txn_commit(txn));
}

int is_state_pending_delete(struct is_state *st, const uint8_t id[IS_ID_LEN])
{
	MDB_val k = {IS_ID_LEN, (void *)id};
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return lmdb_err(rc);
	rc = mdb_del(txn, st->pending, &k, NULL);
	if (rc && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return lmdb_err(rc);
	}
	return lmdb_err(mdb_txn_commit(txn));
}

int is_state_pending_try(struct is_state *st, const uint8_t id[IS_ID_LEN],
			 const uint8_t code_hash[IS_HASH_LEN], int64_t now, unsigned max_tries,
			 struct is_pending *out, unsigned *tries_left)
{
	MDB_val k = {IS_ID_LEN, (void *)id}, v;
	struct is_pending p;
	MDB_txn *txn;
	int rc, result;

	*tries_left = 0;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return lmdb_err(rc);
	rc = mdb_get(txn, st->pending, &k, &v);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return IS_CODE_UNKNOWN;
	}
	if (rc || (rc = pending_read(&p, &v)) != 0) {
		mdb_txn_abort(txn);
		return rc > 0 ? lmdb_err(rc) : rc;
	}
	if (now >= p.expires_at) {
		result = IS_CODE_EXPIRED;
		rc = mdb_del(txn, st->pending, &k, NULL);
	} else if (sodium_memcmp(p.code_hash, code_hash, IS_HASH_LEN) == 0) {
		result = 0;
		*out = p;
		rc = mdb_del(txn, st->pending, &k, NULL);
	} else if ((unsigned)p.tries + 1 >= max_tries) {
		result = IS_CODE_DEAD;
		rc = mdb_del(txn, st->pending, &k, NULL);
	} else {
		uint8_t val[PENDING_LEN];
		MDB_val nv = {PENDING_LEN, val};
		p.tries++;
		*tries_left = max_tries - p.tries;
		pending_write(val, &p);
		result = IS_CODE_WRONG;
		rc = mdb_put(txn, st->pending, &k, &nv, 0);
	}
	if (rc) {
		mdb_txn_abort(txn);
		return lmdb_err(rc);
	}
	rc = mdb_txn_commit(txn);
	return rc ? lmdb_err(rc) : result;
}

/* ---- issued ids and revocation ------------------------------------------ */

static int txn_revoked(struct is_state *st, MDB_txn *txn, const uint8_t phone_hash[IS_HASH_LEN],
		       int *revoked)
{
	MDB_val k = {IS_HASH_LEN, (void *)phone_hash}, v;
	int rc = mdb_get(txn, st->revoked, &k, &v);

	*revoked = rc == 0;
	return rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

static int txn_issued_put(struct is_state *st, MDB_txn *txn,
			  const uint8_t phone_hash[IS_HASH_LEN], const uint8_t id[IS_ID_LEN],
			  int kind, int64_t expires_at)
{
	uint8_t key[ISSUED_KEY_LEN], val[ISSUED_LEN];
	MDB_val k = {ISSUED_KEY_LEN, key}, v = {ISSUED_LEN, val};
	struct as_writer w;

	memcpy(key, phone_hash, IS_HASH_LEN);
	memcpy(key + IS_HASH_LEN, id, IS_ID_LEN);
	as_writer_init(&w, val, sizeof val);
	as_writer_u8(&w, (uint8_t)kind);
	as_writer_i64(&w, expires_at);
	return mdb_put(txn, st->issued, &k, &v, 0);
}

int is_state_enrolment_add(struct is_state *st, const uint8_t id[IS_ID_LEN],
			   const uint8_t phone_hash[IS_HASH_LEN],
			   const uint8_t capsule[AS_CAPSULE_LEN], int64_t expires_at)
{
	uint8_t val[ENROLLED_LEN];
	MDB_val k = {IS_ID_LEN, (void *)id}, v = {ENROLLED_LEN, val};
	struct as_writer w;
	MDB_txn *txn;
	int rc, revoked;

	as_writer_init(&w, val, sizeof val);
	as_writer_bytes(&w, phone_hash, IS_HASH_LEN);
	as_writer_i64(&w, expires_at);
	as_writer_bytes(&w, capsule, AS_CAPSULE_LEN);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return lmdb_err(rc);
	if ((rc = txn_revoked(st, txn, phone_hash, &revoked)) != 0 || revoked) {
		mdb_txn_abort(txn);
		return rc ? rc : AS_E_REVOKED;
	}
	rc = mdb_put(txn, st->enrolled, &k, &v, 0);
	if (!rc)
		rc = txn_issued_put(st, txn, phone_hash, id, KIND_ENROLMENT, expires_at);
	if (rc) {
		mdb_txn_abort(txn);
		return lmdb_err(rc);
	}
	return lmdb_err(mdb_txn_commit(txn));
}

int is_state_phone_revoked(struct is_state *st, const uint8_t phone_hash[IS_HASH_LEN],
			   int *revoked)
{
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_err(rc);
	rc = txn_revoked(st, txn, phone_hash, revoked);
	mdb_txn_abort(txn);
	return rc;
}

int is_state_tokens_record(struct is_state *st, const uint8_t enrol_id[IS_ID_LEN],
			   const uint8_t (*token_ids)[IS_ID_LEN], size_t n, int64_t expires_at,
			   int (*in_txn)(void *ctx, MDB_txn *txn,
					 const uint8_t capsule[AS_CAPSULE_LEN]),
			   void *ctx)
{
	uint8_t capsule[AS_CAPSULE_LEN];
	MDB_val k = {IS_ID_LEN, (void *)enrol_id}, v;
	uint8_t phone_hash[IS_HASH_LEN];
	struct as_reader r;
	MDB_txn *txn;
	int rc, revoked;

	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return lmdb_err(rc);
	rc = mdb_get(txn, st->enrolled, &k, &v);
	if (rc) {
		mdb_txn_abort(txn);
		return lmdb_err(rc);
	}
	as_reader_init(&r, v.mv_data, v.mv_size);
	as_reader_copy(&r, phone_hash, IS_HASH_LEN);
	(void)as_reader_i64(&r);
	as_reader_copy(&r, capsule, AS_CAPSULE_LEN);
	if (as_reader_finish(&r)) {
		mdb_txn_abort(txn);
		return AS_E_CORRUPT;
	}
	if ((rc = txn_revoked(st, txn, phone_hash, &revoked)) != 0 || revoked) {
		mdb_txn_abort(txn);
		return rc ? rc : AS_E_REVOKED;
	}
	for (size_t i = 0; i < n && !rc; i++)
		rc = txn_issued_put(st, txn, phone_hash, token_ids[i], KIND_TOKEN, expires_at);
	if (rc) {
		mdb_txn_abort(txn);
		return lmdb_err(rc);
	}
	if (in_txn && (rc = in_txn(ctx, txn, capsule)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return lmdb_err(mdb_txn_commit(txn));
}

MDB_env *is_state_env(struct is_state *st)
{
	return st->env;
}

/* fn for each unexpired id issued to phone_hash, inside txn. */
static int txn_ids_of(struct is_state *st, MDB_txn *txn, const uint8_t phone_hash[IS_HASH_LEN],
		      int64_t now, int (*fn)(void *ctx, const uint8_t id[IS_ID_LEN]), void *ctx)
{
	MDB_cursor *cur;
	MDB_val k = {IS_HASH_LEN, (void *)phone_hash}, v;
	int rc = mdb_cursor_open(txn, st->issued, &cur);

	if (rc)
		return lmdb_err(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size == ISSUED_KEY_LEN &&
	       memcmp(k.mv_data, phone_hash, IS_HASH_LEN) == 0) {
		struct as_reader r;
		as_reader_init(&r, v.mv_data, v.mv_size);
		(void)as_reader_u8(&r);
		int64_t expires_at = as_reader_i64(&r);
		if (expires_at > now) {
			int frc = fn(ctx, (const uint8_t *)k.mv_data + IS_HASH_LEN);
			if (frc) {
				mdb_cursor_close(cur);
				return frc;
			}
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : lmdb_err(rc);
}

int is_state_revoke_phone(struct is_state *st, const uint8_t phone_hash[IS_HASH_LEN],
			  int64_t now, int (*fn)(void *ctx, const uint8_t id[IS_ID_LEN]),
			  void *ctx)
{
	uint8_t val[8];
	MDB_val k = {IS_HASH_LEN, (void *)phone_hash}, v = {8, val};
	struct as_writer w;
	MDB_txn *txn;
	int rc;

	as_writer_init(&w, val, sizeof val);
	as_writer_i64(&w, now);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return lmdb_err(rc);
	rc = mdb_put(txn, st->revoked, &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		rc = 0;
	if (rc) {
		mdb_txn_abort(txn);
		return lmdb_err(rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_err(rc);
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_err(rc);
	rc = txn_ids_of(st, txn, phone_hash, now, fn, ctx);
	mdb_txn_abort(txn);
	return rc;
}

int is_state_revoked_ids(struct is_state *st, int64_t now,
			 int (*fn)(void *ctx, const uint8_t id[IS_ID_LEN]), void *ctx)
{
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_err(rc);
	if ((rc = mdb_cursor_open(txn, st->revoked, &cur)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_err(rc);
	}
	int out = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !out;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (k.mv_size == IS_HASH_LEN)
			out = txn_ids_of(st, txn, k.mv_data, now, fn, ctx);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (out)
		return out;
	return rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/* ---- purge --------------------------------------------------------------- */

/* Delete the entries of dbi for which expired(value, now) says so. */
static int purge_db(MDB_txn *txn, MDB_dbi dbi, int64_t now, int (*expired)(const MDB_val *v,
	int64_t now), uint64_t *dropped)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, dbi, &cur);

	if (rc)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (!expired(&v, now))
			continue;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		(*dropped)++;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int64_t i64_at(const MDB_val *v, size_t off)
{
	struct as_reader r;

	if (v->mv_size < off + 8)
		return INT64_MAX;
	as_reader_init(&r, (const uint8_t *)v->mv_data + off, 8);
	return as_reader_i64(&r);
}

static int pending_expired(const MDB_val *v, int64_t now)
{
	return i64_at(v, IS_HASH_LEN + AS_SIGN_PK_LEN + IS_HASH_LEN) <= now;
}

static int enrolled_expired(const MDB_val *v, int64_t now)
{
	return i64_at(v, IS_HASH_LEN) <= now;
}

static int issued_expired(const MDB_val *v, int64_t now)
{
	return i64_at(v, 1) <= now;
}

static int bucket_full(const MDB_val *v, int64_t now)
{
	return i64_at(v, 16) <= now * 1000;
}

int is_state_purge(struct is_state *st, int64_t now, uint64_t *dropped)
{
	MDB_txn *txn;
	int rc;

	*dropped = 0;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return lmdb_err(rc);
	rc = purge_db(txn, st->pending, now, pending_expired, dropped);
	if (!rc)
		rc = purge_db(txn, st->enrolled, now, enrolled_expired, dropped);
	if (!rc)
		rc = purge_db(txn, st->issued, now, issued_expired, dropped);
	if (!rc)
		rc = purge_db(txn, st->buckets, now, bucket_full, dropped);
	if (rc) {
		mdb_txn_abort(txn);
		return lmdb_err(rc);
	}
	return lmdb_err(mdb_txn_commit(txn));
}
