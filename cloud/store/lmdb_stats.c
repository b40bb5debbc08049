/*
 * lmdb_stats.c - the LMDB store's statistics and reject counters, and the
 * data version callers key caches on, and an index node's lag as its
 * steps record it (pg_tail.c writes it).  Threads: any.
 */
#include "lmdb_layout.h"
#include "pg_store.h"

#include <errno.h>
#include <stdlib.h>

/* ---- statistics -------------------------------------------------------------- */

struct reject_sum {
	uint64_t total;
};

static int sum_reject(void *arg, const MDB_val *key, const MDB_val *val)
{
	struct reject_sum *sum = arg;

	if (val->mv_size != 8)
		return MDB_CORRUPTED;
	sum->total += as_get_be64(val->mv_data);
	return 0;
}

int cl_store_data_version(struct cl_store *s, uint64_t *open_serial, uint64_t *last_txn)
{
	if (s->pg)
		return cl_pg_not_served("the data version");
	MDB_envinfo info;
	int rc = mdb_env_info(s->env, &info);

	if (rc)
		return store_error(rc);
	*open_serial = s->open_serial;
	*last_txn = (uint64_t)info.me_last_txnid;
	return 0;
}

int cl_store_stats(struct cl_store *s, struct cl_store_stats *st)
{
	if (s->pg)
		return cl_pg_stats(s->pg, st);
	struct reject_sum sum = {0};
	MDB_txn *txn;
	MDB_stat ms;
	MDB_envinfo info;
	int rc;

	memset(st, 0, sizeof *st);
	rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	rc = mdb_stat(txn, s->visits, &ms);
	if (!rc) {
		st->visits = ms.ms_entries;
		rc = mdb_stat(txn, s->persons, &ms);
	}
	if (!rc) {
		st->people = ms.ms_entries;
		rc = as_lmdb_meta_get_u64(txn, s->meta, "batches", &st->batches);
	}
	if (!rc && !s->no_tokens) {
		rc = mdb_stat(txn, s->tokens, &ms);
		if (!rc) {
			st->tokens = ms.ms_entries;
			rc = mdb_stat(txn, s->token_wait, &ms);
		}
		if (!rc) {
			st->tokens_waiting = ms.ms_entries;
			rc = as_lmdb_meta_get_u64(txn, s->meta, "replayed_tokens", &st->tokens_replayed);
		}
	}
	mdb_txn_abort(txn);
	if (!rc)
		rc = mdb_env_info(s->env, &info);
	if (!rc)
		rc = mdb_env_stat(s->env, &ms);
	if (rc)
		return store_error(rc);
	st->map_size = info.me_mapsize;
	st->map_used = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	rc = store_walk(s, s->counters, sum_reject, &sum);
	st->rejects_total = sum.total;
	return rc;
}

struct each_reject_arg {
	int (*fn)(void *ctx, const char *reason, uint64_t count);
	void *ctx;
};

static int each_reject_entry(void *arg, const MDB_val *key, const MDB_val *val)
{
	struct each_reject_arg *a = arg;
	char reason[REASON_MAX + 1];

	if (key->mv_size == 0 || key->mv_size > REASON_MAX || val->mv_size != 8)
		return MDB_CORRUPTED;
	memcpy(reason, key->mv_data, key->mv_size);
	reason[key->mv_size] = '\0';
	return a->fn(a->ctx, reason, as_get_be64(val->mv_data));
}

int cl_store_each_reject(struct cl_store *s,
			 int (*fn)(void *ctx, const char *reason, uint64_t count), void *ctx)
{
	if (s->pg)
		return cl_pg_each_reject(s->pg, fn, ctx);
	struct each_reject_arg a = {fn, ctx};

	return store_walk(s, s->counters, each_reject_entry, &a);
}

/* ---- an index node's lag ------------------------------------------------------- */

int cl_store_index_lag(struct cl_store *s, struct cl_index_lag *out)
{
	uint64_t at = 0, behind = 0, caught = 0;
	MDB_txn *txn;
	int rc;

	memset(out, 0, sizeof *out);
	if (s->pg)
		return 0;
	rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	rc = as_lmdb_meta_get_u64(txn, s->meta, "index_read_at", &at);
	if (!rc)
		rc = as_lmdb_meta_get_u64(txn, s->meta, "index_behind", &behind);
	if (!rc)
		rc = as_lmdb_meta_get_u64(txn, s->meta, "index_caught_up_at", &caught);
	mdb_txn_abort(txn);
	if (rc)
		return store_error(store_fail("reading the index node's lag", rc));
	out->read_at = (int64_t)at;
	out->behind = behind;
	out->caught_up_at = (int64_t)caught;
	return 0;
}
