/*
 * pg_conn.h - what the PostgreSQL store's parts share (private to
 * cloud/store/): the store handle with its connection pool, statement
 * parameters in binary form, and running a statement with its failure
 * noted for cl_store_last_error.
 *
 * Threads: the pool is guarded by the handle's mutex; a connection taken
 * from it belongs to the taking thread until it is given back.
 */
#ifndef CL_STORE_PG_CONN_H
#define CL_STORE_PG_CONN_H

#include "pg_store.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define PG_IDLE_MAX 4
#define PG_DAY_SECONDS 86400

struct cl_pg {
	char *uri;
	char name[160];              /* the URI without its password, for messages */
	int readonly;
	pthread_mutex_t lock;        /* guards what follows */
	PGconn *idle[PG_IDLE_MAX];
	size_t nidle;
	int64_t parts_to;            /* day partitions exist up to this day (0: unknown) */
};

/* A connection of pg's (from the pool, or new): 0 or AS_E_STORE (noted). */
int pg_conn_take(struct cl_pg *pg, PGconn **out);
/* Give c back: kept when it is healthy and outside a transaction, else
 * closed.  c may be NULL. */
void pg_conn_give(struct cl_pg *pg, PGconn *c);

/* Statement parameters, all sent in binary with their types. */
struct pg_params {
	size_t n, cap;
	unsigned int *types;
	size_t *offs;
	int *lens;
	uint8_t *data;
	size_t data_len, data_cap;
	int oom;
};
void pgp_init(struct pg_params *p);
void pgp_reset(struct pg_params *p);
void pgp_free(struct pg_params *p);
void pgp_i64(struct pg_params *p, int64_t v);
void pgp_i32(struct pg_params *p, int32_t v);
void pgp_i16(struct pg_params *p, int16_t v);
void pgp_bool(struct pg_params *p, int v);
void pgp_bytes(struct pg_params *p, const void *b, size_t len);
/* NULL when b is NULL. */
void pgp_bytes_or_null(struct pg_params *p, const void *b, size_t len);
void pgp_text(struct pg_params *p, const char *s);
/* A NULL bigint. */
void pgp_null_i64(struct pg_params *p);

/*
 * Run sql with p (NULL: none) on c, results in binary.  *res (if res is
 * not NULL) gets the result to PQclear on success.  0, or AS_E_STORE with
 * "PostgreSQL, WHAT: message" noted (cl_store_last_error), or -ENOMEM.
 */
int pg_run(PGconn *c, const char *what, const char *sql, struct pg_params *p, PGresult **res);
/* Run sql (one row, one count(*)-like column) with p on c into *n; as
 * pg_run. */
int pg_run_count(PGconn *c, const char *what, const char *sql, struct pg_params *p,
		 uint64_t *n);
/* The number in a binary result's int2/int4/int8 field. */
int64_t pg_int(const PGresult *r, int row, int col);
/* Copy a binary field of exactly len bytes: 0, or AS_E_CORRUPT. */
int pg_bytes(const PGresult *r, int row, int col, void *out, size_t len);
/* The day of a time, as the LMDB store counts them. */
int64_t pg_day_of(int64_t t);

/* Note msg as the thread's store error (kept unless one is noted). */
void pg_note(const char *what, const char *msg);

/* Make the day partitions of visits for days [from, to] that do not
 * exist yet, each in its own short transaction (never inside an open
 * ingest transaction of this thread: it waits for the transactions that
 * wrote to visits). */
int pg_partitions_make(struct cl_pg *pg, int64_t from_day, int64_t to_day);

#endif
