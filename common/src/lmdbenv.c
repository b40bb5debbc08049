/*
 * lmdbenv.c - opening an LMDB environment, and the meta values every
 * Anshim store keeps (see lmdbenv.h).
 *
 * Invariant: a failed open leaves nothing open (the environment handle
 * is closed and *env is NULL).  Integers in meta are big-endian u64.
 * Threads: any; the functions hold no state of their own.
 */
#include "anshim/lmdbenv.h"

#include "anshim/bytes.h"

#include <string.h>

int as_lmdb_env_open(MDB_env **env, const char *dir, const struct as_lmdb_env_options *o)
{
	int rc = mdb_env_create(env);

	if (rc) {
		*env = NULL;
		return rc;
	}
	rc = mdb_env_set_maxdbs(*env, o->max_dbs);
	if (!rc && o->map_size)
		rc = mdb_env_set_mapsize(*env, (size_t)o->map_size);
	if (!rc)
		rc = mdb_env_open(*env, dir, MDB_NOTLS | (o->readonly ? MDB_RDONLY : 0), 0600);
	if (!rc && o->check_readers && !o->readonly) {
		int dead;

		mdb_reader_check(*env, &dead);
	}
	if (rc) {
		mdb_env_close(*env);
		*env = NULL;
	}
	return rc;
}

int as_lmdb_meta_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t *value)
{
	uint8_t buf[8];
	int rc = as_lmdb_meta_get_bytes(txn, dbi, name, buf, sizeof buf);

	*value = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (!rc)
		*value = as_get_be64(buf);
	return rc;
}

int as_lmdb_meta_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t value)
{
	uint8_t buf[8];

	as_put_be64(buf, value);
	return as_lmdb_meta_put_bytes(txn, dbi, name, buf, sizeof buf);
}

int as_lmdb_meta_get_bytes(MDB_txn *txn, MDB_dbi dbi, const char *name, uint8_t *out,
			   size_t len)
{
	MDB_val key = {strlen(name), (void *)name}, val;
	int rc = mdb_get(txn, dbi, &key, &val);

	if (rc)
		return rc;
	if (val.mv_size != len)
		return MDB_CORRUPTED;
	memcpy(out, val.mv_data, len);
	return 0;
}

int as_lmdb_meta_put_bytes(MDB_txn *txn, MDB_dbi dbi, const char *name, const uint8_t *in,
			   size_t len)
{
	MDB_val key = {strlen(name), (void *)name}, val = {len, (void *)in};

	return mdb_put(txn, dbi, &key, &val, 0);
}
