/*
 * lmdb_late.h - a gateway's visit stored in the LMDB store after the
 * gateway's through_seq passed its seq (private to cloud/store/): an index
 * node's copy of a PostgreSQL visit whose token record waited for its
 * issue (pg_tail.c).
 */
#ifndef CL_STORE_LMDB_LATE_H
#define CL_STORE_LMDB_LATE_H

#include "lmdb_ingest.h"

/*
 * Queue visit v (pid, venue_id, entry, exit, headcount, kind, flags) of
 * gateway gw_id, record seq (digest: VISIT_DIGEST_LEN bytes of its chain
 * digest), in ingest transaction in, with capsule as the person's latest;
 * the gateway's records count and its venue's longest visit follow.  The
 * caller knows the visit is not stored yet.  Returns 0 or an Anshim code
 * (AS_E_NOT_FOUND: gateway not enrolled); a failure fails in.
 */
int store_ingest_late_visit(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN], uint64_t seq,
			    const struct cl_visit *v, const uint8_t digest[VISIT_DIGEST_LEN],
			    const uint8_t capsule[AS_CAPSULE_LEN]);

#endif
