/*
 * lmdb_visits.h - where each stored visit came from, by vid (private to
 * cloud/store/): the one place that reads and writes visit_blocks, and the
 * version 4 rows of visits that an upgrade moves into them.  The layout is
 * described at the top of lmdb_layout.c ("visit blocks").
 *
 * Threads: the caller's transaction's (store.h).
 */
#ifndef CL_STORE_LMDB_VISITS_H
#define CL_STORE_LMDB_VISITS_H

#include "lmdb_layout.h"

/* Where one visit came from. */
struct visit_row {
	uint64_t vid;
	uint32_t gw_index;           /* 0: an app check-in */
	uint64_t seq;                /* the record's seq; 0 for an app check-in */
	int has_digest;              /* gateway visits stored since store version 4 */
	uint8_t digest[VISIT_DIGEST_LEN]; /* the record's chain digest, cut */
};

/* The row of vid, from its block or (a store not upgraded yet) its
 * version 4 row.  0, MDB_NOTFOUND, or an LMDB error (MDB_CORRUPTED: a
 * value that does not decode). */
int store_visit_get(const struct cl_store *s, MDB_txn *txn, uint64_t vid,
		    struct visit_row *row);
/* Store n rows, vids increasing, none of them stored: blocks above the
 * last are appended, the last one (or, during an upgrade, any other) is
 * merged.  A vid already stored is MDB_KEYEXIST.  txn is a write
 * transaction. */
int store_visits_put(const struct cl_store *s, MDB_txn *txn, const struct visit_row *rows,
		     size_t n);
/* Delete n vids (any order: vids is sorted in place), each block
 * rewritten once, dropped when it empties.  A vid not stored is
 * MDB_CORRUPTED (the indexes named a visit that is not there). */
int store_visits_delete(const struct cl_store *s, MDB_txn *txn, uint64_t *vids, size_t n);
/* The highest stored vid (0: none). */
int store_visits_last(const struct cl_store *s, MDB_txn *txn, uint64_t *vid);
/* Visits stored: each has one by_venue entry, whichever layout holds it. */
int store_visits_count(const struct cl_store *s, MDB_txn *txn, uint64_t *count);

#endif
