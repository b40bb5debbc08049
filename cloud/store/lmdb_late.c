/*
 * lmdb_late.c - a gateway's visit stored after its gateway's through_seq
 * passed its seq (lmdb_late.h): queued as a batch's visit is, under the
 * next visit id, so the store's invariants (one visit per (gateway, seq),
 * records counted per gateway, each venue's longest visit) hold as after a
 * batch.
 * Threads: the ingest transaction's (store.h).
 */
#include "lmdb_late.h"
#include "lmdb_registry.h"

#include <string.h>

int store_ingest_late_visit(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN], uint64_t seq,
			    const struct cl_visit *v, const uint8_t digest[VISIT_DIGEST_LEN],
			    const uint8_t capsule[AS_CAPSULE_LEN])
{
	struct stored_gateway sg;
	struct stored_visit sv;
	uint32_t span;
	int rc;

	if (in->pg)
		return AS_E_FIELD;
	if (in->failed)
		return store_error(in->failed);
	rc = store_gateway_get(in->txn, in->s->gateways, gw_id, &sg);
	if (rc == MDB_NOTFOUND)
		return AS_E_NOT_FOUND;
	rc = store_fail("reading gateways", rc);
	if (!rc && in->next_vid > VID_MAX)
		rc = MDB_MAP_FULL; /* out of visit ids */
	if (!rc) {
		memset(&sv, 0, sizeof sv);
		sv.v = *v;
		sv.v.vid = in->next_vid;
		sv.v.person = 0;
		sv.v.venue_id = sg.g.venue_id;
		sv.gw_index = sg.index;
		sv.seq = seq;
		sv.has_digest = 1;
		memcpy(sv.digest, digest, VISIT_DIGEST_LEN);
		rc = store_ingest_visit(in, &sv, capsule);
	}
	if (!rc) {
		in->next_vid++;
		span = visit_span(v->entry, v->exit);
		rc = span ? store_venue_raise_longest(in->txn, in->s->venues, sg.g.venue_id, span)
			  : 0;
	}
	if (!rc) {
		sg.g.records++;
		rc = store_gateway_put(in->txn, in->s->gateways, &sg);
	}
	if (rc) {
		in->failed = rc;
		return store_error(rc);
	}
	return 0;
}
