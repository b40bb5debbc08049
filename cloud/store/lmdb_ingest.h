/*
 * lmdb_ingest.h - an ingest transaction as the parts of the LMDB store
 * that add to it see it (private to cloud/store/): lmdb_chains.c judges a
 * batch against the queue, lmdb_app.c queues app visits.
 */
#ifndef CL_STORE_LMDB_INGEST_H
#define CL_STORE_LMDB_INGEST_H

#include "lmdb_layout.h"

/* A visit queued for the commit. */
struct pending {
	struct stored_visit sv;      /* person not known yet */
	uint8_t capsule[AS_CAPSULE_LEN];
};

struct cl_ingest {
	struct cl_store *s;
	struct cl_pg_ingest *pg;     /* the PostgreSQL store's (pg_store.h): nothing
				      * below is used */
	MDB_txn *txn;
	MDB_cursor *by_venue, *by_pid, *persons, *capsules, *paper;
	uint8_t fp_key[FP_KEY_LEN];
	uint64_t next_vid, next_vid_stored;
	uint64_t batch_first_vid;    /* next_vid when the batch being taken began */
	uint64_t next_person, next_person_stored;
	uint64_t batches, batches_stored;
	int failed;                  /* first LMDB failure: only abort remains */
	struct pending *pend;        /* in vid order */
	size_t npend, pend_cap;
	const uint8_t *refused;      /* cl_store_ingest_refuse, for the next batch */
	size_t n_refused;
	/* token issues used first in this transaction: their contact
	 * capsule moves to the person's at the commit (lmdb_tokens.c) */
	uint64_t (*moved)[2];        /* serial, contact */
	size_t nmoved, moved_cap;
};

/* Queue one new visit (written, sorted, at the commit). */
int store_ingest_visit(struct cl_ingest *in, const struct stored_visit *sv,
		       const uint8_t capsule[AS_CAPSULE_LEN]);
/* A record's fields within their bounds (both stores check the same):
 * 0 or AS_E_FIELD. */
int store_record_check(const struct as_record *r);

#endif
