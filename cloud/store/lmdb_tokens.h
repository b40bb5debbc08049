/*
 * lmdb_tokens.h - visit tokens in the LMDB store, as the batch path sees
 * them (private to cloud/store/): what a token record of a batch is.
 */
#ifndef CL_STORE_LMDB_TOKENS_H
#define CL_STORE_LMDB_TOKENS_H

#include "lmdb_ingest.h"
#include "lmdb_registry.h"

enum store_token_outcome {
	STORE_TOKEN_USE = 1,    /* first use, capsule known: store the visit now */
	STORE_TOKEN_WAIT = 2,   /* first use, capsule not arrived: kept waiting */
	STORE_TOKEN_REPLAY = 3, /* used before by another record: refused, counted */
	STORE_TOKEN_HELD = 4    /* this very record was taken before */
};

/*
 * A record of kind AS_REC_TOKEN that batch of gateway sg takes (its seq is
 * past through_seq): its token (the record's pid field) is marked used by
 * (gateway, seq), or kept waiting for its capsule with what its visit
 * needs (digest: the record's chain digest); a token used or waiting under
 * another (gateway, seq) is a replay, unless reconcile is set and it is
 * the same gateway's (a renumbered copy of the same record).  On
 * STORE_TOKEN_USE, pid and contact (AS_CAPSULE_LEN bytes, all zero when
 * the holder's contact capsule is not known) are what to store the visit
 * under.  Returns 0 or an LMDB code.
 */
int store_token_take(struct cl_ingest *in, const struct stored_gateway *sg,
		     const struct as_record *r, const uint8_t digest[AS_CHAIN_LEN], int reconcile,
		     int *outcome, uint8_t pid[AS_PID_LEN], uint8_t contact[AS_CAPSULE_LEN]);

/*
 * Whether sg already holds token record r (its seq at or below
 * through_seq: a resend, or a fork of the journal): it waits for its issue
 * under this (gateway, seq), or its token was used and sg stored a visit
 * with the record's content (digest) under that seq.  A replay, a token no
 * issue announced, or one used by another record: *held 0.  Read only.
 * Returns 0 or an LMDB code.
 */
int store_token_held(struct cl_ingest *in, const struct stored_gateway *sg,
		     const struct as_record *r, const uint8_t digest[AS_CHAIN_LEN], int *held);

/* At the commit, after the queued visits are written: the contact
 * capsules of the issues first used in this transaction are the persons'
 * now (capsules): drop them from token_contacts.  0 or an LMDB code. */
int store_token_contacts_moved(struct cl_ingest *in);

/* The purge's judges (lmdb_purge.c): a token expired before horizon, a
 * token batch's contact capsule whose tokens all did, a waiting record
 * whose entry lies outside [horizon, limit] go (1); 0 stays; else an
 * LMDB code. */
int store_token_purge_judge(int64_t horizon, const MDB_val *key, const MDB_val *val);
int store_token_contact_purge_judge(int64_t horizon, const MDB_val *key, const MDB_val *val);
int store_token_wait_purge_judge(int64_t horizon, int64_t limit, const MDB_val *key,
				 const MDB_val *val);

#endif
