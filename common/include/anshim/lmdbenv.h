#ifndef ANSHIM_LMDBENV_H
#define ANSHIM_LMDBENV_H
/*
 * lmdbenv.h - the one way Anshim opens an LMDB environment (the gateway's
 * journal, the cloud store, the issuer's state) and reads and writes the
 * u64 and fixed-size values of a "meta" database.
 */
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

struct as_lmdb_env_options {
	unsigned max_dbs;      /* named databases the environment may hold */
	uint64_t map_size;     /* bytes; 0: LMDB's default */
	int readonly;          /* MDB_RDONLY */
	int check_readers;     /* clear stale reader slots of dead processes */
};

/* Open the environment in dir (which exists: callers make it, with an
 * error message of their own) with MDB_NOTLS: read transactions are not
 * tied to a thread.  Returns 0 with *env set, or an LMDB code with *env
 * NULL. */
int as_lmdb_env_open(MDB_env **env, const char *dir, const struct as_lmdb_env_options *o);

/* name -> big-endian u64 in dbi.  A missing name reads as 0 (returns 0);
 * a value of another size is MDB_CORRUPTED. */
int as_lmdb_meta_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t *value);
int as_lmdb_meta_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t value);

/* name -> exactly len bytes: MDB_NOTFOUND when absent, MDB_CORRUPTED when
 * the stored value has another size. */
int as_lmdb_meta_get_bytes(MDB_txn *txn, MDB_dbi dbi, const char *name, uint8_t *out,
			   size_t len);
int as_lmdb_meta_put_bytes(MDB_txn *txn, MDB_dbi dbi, const char *name, const uint8_t *in,
			   size_t len);

#endif
