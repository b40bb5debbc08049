/*
 * lmdb_chains.h - the journal chains as ingest (lmdb_ingest.c) asks about
 * them (private to cloud/store/): judge a batch against the chain the
 * store follows, follow its chain after it, and what the ack reports.
 */
#ifndef CL_STORE_LMDB_CHAINS_H
#define CL_STORE_LMDB_CHAINS_H

#include "lmdb_ingest.h"

/* How a batch stands to the chain the store follows. */
struct chain_judgement {
	int judged;                  /* 0: a resend or unchained: nothing to do */
	int reconcile;               /* look for each new record among the stored */
	uint64_t dups_through;       /* records at or below it are duplicates */
	int intact;                  /* the batch's digests match its records */
	struct cl_chain_event first; /* kind 0: none */
	struct cl_chain_event brk;   /* an in-batch break; kind 0: none */
};

/* Whether the batch's chain passes through link: chain_prev or a link
 * after one of its n digests is link (a journal that renumbered its unsent
 * records; both stores judge by it). */
int store_chain_passes(const struct cl_chain_batch *chain, size_t n,
		       const uint8_t link[AS_CHAIN_LEN]);
int store_chain_judge(struct cl_ingest *in, const struct stored_gateway *sg, uint64_t through,
		      const struct cl_chain_batch *chain, const struct as_record *recs,
		      const uint8_t (*pids)[AS_PID_LEN], const uint8_t *refused, size_t n_refused,
		      size_t n, int64_t now, struct chain_judgement *j);
/* After the batch: record its events, and follow its chain. */
int store_chain_follow(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
		       const struct stored_gateway *sg, const struct cl_chain_batch *chain,
		       uint64_t last, int64_t now, struct chain_judgement *j, uint32_t reconciled,
		       struct cl_ingest_result *res);
/* Whether sg already stored r (see lmdb_chains.c). */
int store_visit_held(struct cl_ingest *in, const struct stored_gateway *sg,
		     const struct as_record *r, const uint8_t pid[AS_PID_LEN],
		     const uint8_t digest[AS_CHAIN_LEN], uint64_t only_seq, int *held,
		     uint64_t *held_seq);
/* Fill res->chain with what the ack of a batch reports. */
int store_chain_report(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
		       const struct cl_chain_batch *chain, uint64_t last_seq,
		       struct cl_ingest_result *res);

#endif
