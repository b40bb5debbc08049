/*
 * pg_tail.c - an index node's step: copy into a local LMDB store what the
 * PostgreSQL store holds beyond it (cl_store_index_step, store.h), so that
 * tracing runs on the LMDB store and engine as in the embedded mode.
 *
 * The cursor is per gateway, and it is the LMDB store's own through_seq
 * for that gateway: it moves in the same LMDB transaction as the rows it
 * covers, so a crash of the index node loses or repeats nothing (the
 * next step starts from what the index committed).
 *
 * Why a per-gateway seq cursor never misses nor repeats a row under
 * concurrent ingest transactions: PostgreSQL ingest takes a gateway's
 * batches under the lock of its gateways row, refuses a batch that would
 * leave a hole, and writes through_seq in the same transaction as the
 * rows.  So, in any snapshot, a gateway's through_seq T and its rows are
 * of the same committed state: every row with seq <= T is visible, and a
 * seq <= T without a row was a placeholder (a record the gateway purged
 * unsent) or a row the retention purge has dropped since; no row with
 * seq <= T can appear later (a later transaction only adds seqs > T).
 * A step reads, in one REPEATABLE READ snapshot, each gateway's T and its
 * rows in (cursor, min(T, cursor + budget)], and hands them to the LMDB
 * store as one unchained batch with placeholders for the seqs without a
 * row: the LMDB store's own through_seq check makes a batch it has taken
 * already a duplicate.  (A seq cursor over all visits, or over vids, would
 * not be safe: sequence values are taken before commit, so a row with a
 * smaller vid can become visible after a larger one.)
 *
 * What is copied: gateways' visits, with each person's latest capsule.
 * A visit of a visit token (kind token) is copied as a pass's (kind pass:
 * the index reads no token ids, and a trace shows both as a scan).
 * A visit PostgreSQL stored after its gateway's through_seq had passed it
 * (a token record that waited for its issue: pg_ingest.c) is numbered in
 * visits.late, and late numbers become visible in their order; each step
 * copies, in its snapshot, the late visits past the index's late cursor
 * (meta "pg_late", committed with the rows) whose seq the index had
 * passed before the step, and moves the cursor to the highest late number
 * of the snapshot: a late visit visible in that snapshot with a seq past
 * the index's through_seq is copied by the seq cursor, now or later.
 * App check-ins carry no gateway seq and are not copied yet.
 * Threads: the caller's; it must hold no write transaction on index.
 */
#include "lmdb_late.h"
#include "pg_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Enrol gateway g (and its venue) in the index as PostgreSQL has them; a
 * revoked gateway is enrolled as not revoked: its stored visits are still
 * traced. */
static int index_enrol(struct cl_store *index, PGconn *c, const struct cl_gateway *g)
{
	struct cl_gateway copy = *g, have;
	struct cl_venue v;
	struct pg_params p;
	PGresult *r;
	int rc = cl_store_get_gateway(index, g->gw_id, &have);

	if (rc == 0 && have.venue_id == g->venue_id)
		return 0;
	pgp_init(&p);
	pgp_i32(&p, (int32_t)g->venue_id);
	rc = pg_run(c, "reading a venue for the index",
		    "SELECT name, address, category, dwell_minutes::int4 FROM venues WHERE id = $1",
		    &p, &r);
	pgp_free(&p);
	if (rc)
		return rc;
	memset(&v, 0, sizeof v);
	v.id = g->venue_id;
	if (PQntuples(r) == 1 && PQgetlength(r, 0, 0) <= CL_NAME_MAX &&
	    PQgetlength(r, 0, 1) <= CL_ADDRESS_MAX && PQgetlength(r, 0, 2) <= CL_CATEGORY_MAX) {
		memcpy(v.name, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
		memcpy(v.address, PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1));
		memcpy(v.category, PQgetvalue(r, 0, 2), (size_t)PQgetlength(r, 0, 2));
		v.dwell_minutes = (uint16_t)pg_int(r, 0, 3);
	} else {
		rc = AS_E_CORRUPT;
	}
	PQclear(r);
	copy.revoked = 0;
	copy.revoked_at = 0;
	return rc ? rc : cl_store_enroll(index, &copy, &v);
}

/* The rows of gateway gw_id with seq in (from, to], as records with
 * placeholders for the seqs without a row. */
static int read_records(PGconn *c, const uint8_t gw_id[AS_GWID_LEN], uint64_t from, uint64_t to,
			struct as_record *recs)
{
	struct pg_params p;
	PGresult *r;
	size_t n = (size_t)(to - from);
	int rc;

	for (size_t i = 0; i < n; i++) {
		memset(&recs[i], 0, sizeof recs[i]);
		recs[i].seq = from + 1 + i;
		recs[i].kind = AS_REC_EXPIRED;
		recs[i].headcount = 1;
	}
	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	pgp_i64(&p, (int64_t)from);
	pgp_i64(&p, (int64_t)to);
	rc = pg_run(c, "reading visits for the index",
		    "SELECT v.seq, v.pid, v.entry, v.exit, v.headcount, v.kind, v.flags, "
		    "CASE WHEN v.kind = 3 THEN coalesce(c.paper, c.capsule) ELSE c.capsule END "
		    "FROM visits v LEFT JOIN capsules c ON c.pid = v.pid "
		    "WHERE v.gateway = $1 AND v.seq > $2 AND v.seq <= $3", &p, &r);
	pgp_free(&p);
	for (int i = 0; !rc && i < PQntuples(r); i++) {
		uint64_t seq = (uint64_t)pg_int(r, i, 0);
		struct as_record *rec;

		if (seq <= from || seq > to || pg_bytes(r, i, 1, recs[seq - from - 1].pid, AS_PID_LEN)) {
			rc = AS_E_CORRUPT;
			break;
		}
		rec = &recs[seq - from - 1];
		rec->entry_time = pg_int(r, i, 2);
		rec->exit_time = pg_int(r, i, 3);
		rec->headcount = (uint16_t)pg_int(r, i, 4);
		rec->kind = (uint8_t)pg_int(r, i, 5);
		if (rec->kind == AS_REC_TOKEN)
			rec->kind = AS_REC_PASS;
		rec->flags = (uint8_t)pg_int(r, i, 6);
		if (!PQgetisnull(r, i, 7) && PQgetlength(r, i, 7) == AS_CAPSULE_LEN)
			memcpy(rec->capsule, PQgetvalue(r, i, 7), AS_CAPSULE_LEN);
	}
	PQclear(r);
	return rc;
}

/* Copy the late visits of c's snapshot (see the top of this file) in
 * ingest transaction *txn (begun here when there are some). */
static int copy_late(struct cl_store *index, PGconn *c, struct cl_ingest **txn,
		     uint64_t *copied)
{
	struct pg_params p;
	PGresult *r = NULL;
	uint64_t cursor = 0, high;
	int rc;

	rc = pg_run(c, "reading late visits for the index",
		    "SELECT value FROM counters WHERE name = 'late_visits'", NULL, &r);
	if (rc)
		return rc;
	high = PQntuples(r) == 1 ? (uint64_t)pg_int(r, 0, 0) : 0;
	PQclear(r);
	if (high == 0)
		return 0; /* no late visit yet */
	{
		/* The cursor as committed: a write transaction only when
		 * there is something to copy. */
		MDB_txn *rt;

		rc = store_read_begin(index, &rt);
		if (rc)
			return rc;
		rc = as_lmdb_meta_get_u64(rt, index->meta, "pg_late", &cursor);
		rc = store_error(store_fail("reading meta", rc));
		mdb_txn_abort(rt);
	}
	if (rc || high <= cursor)
		return rc;
	rc = cl_store_ingest_begin(index, txn);
	if (rc)
		return rc;
	pgp_init(&p);
	pgp_i64(&p, (int64_t)cursor);
	pgp_i64(&p, (int64_t)high);
	rc = pg_run(c, "reading late visits for the index",
		    "SELECT v.gateway, v.seq, v.pid, v.entry, v.exit, v.headcount, v.kind, "
		    "v.flags, v.digest, c.capsule FROM visits v LEFT JOIN capsules c "
		    "ON c.pid = v.pid WHERE v.late > $1 AND v.late <= $2 ORDER BY v.late",
		    &p, &r);
	pgp_free(&p);
	for (int i = 0; !rc && i < PQntuples(r); i++) {
		uint8_t gw_id[AS_GWID_LEN], digest[VISIT_DIGEST_LEN];
		uint8_t capsule[AS_CAPSULE_LEN] = {0};
		struct cl_gateway have;
		struct cl_visit v;
		uint64_t seq = (uint64_t)pg_int(r, i, 1);

		memset(&v, 0, sizeof v);
		if (pg_bytes(r, i, 0, gw_id, AS_GWID_LEN) || pg_bytes(r, i, 2, v.pid, AS_PID_LEN) ||
		    pg_bytes(r, i, 8, digest, VISIT_DIGEST_LEN)) {
			rc = AS_E_CORRUPT;
			break;
		}
		/* The committed through_seq, before this step's rows. */
		rc = cl_store_get_gateway(index, gw_id, &have);
		if (rc == AS_E_NOT_FOUND) {
			rc = 0; /* enrolled by this step: its rows come by seq */
			continue;
		}
		if (rc || seq > have.through_seq)
			continue;
		v.entry = pg_int(r, i, 3);
		v.exit = pg_int(r, i, 4);
		v.headcount = (uint16_t)pg_int(r, i, 5);
		v.kind = (uint8_t)pg_int(r, i, 6);
		if (v.kind == AS_REC_TOKEN)
			v.kind = AS_REC_PASS;
		v.flags = (uint8_t)pg_int(r, i, 7);
		if (!PQgetisnull(r, i, 9) && PQgetlength(r, i, 9) == AS_CAPSULE_LEN)
			memcpy(capsule, PQgetvalue(r, i, 9), AS_CAPSULE_LEN);
		rc = store_ingest_late_visit(*txn, gw_id, seq, &v, digest, capsule);
		if (!rc)
			(*copied)++;
	}
	PQclear(r);
	if (!rc)
		rc = store_error(store_fail("writing meta", as_lmdb_meta_put_u64(
							    (*txn)->txn, index->meta, "pg_late", high)));
	return rc;
}

int cl_store_index_step(struct cl_store *index, struct cl_store *source, size_t budget,
			uint64_t *copied, uint64_t *behind)
{
	struct cl_ingest *txn = NULL;
	struct as_record *recs = NULL;
	PGconn *c = NULL;
	PGresult *gws = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t left = budget ? budget : 10000;
	int rc;

	*copied = 0;
	*behind = 0;
	if (!source->pg || index->pg || index->readonly)
		return -EINVAL;
	store_clear_error();
	recs = malloc(left * sizeof *recs);
	if (!recs)
		return -ENOMEM;
	rc = pg_conn_take(source->pg, &c);
	if (!rc)
		rc = pg_run(c, "reading for the index",
			    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, NULL);
	if (!rc)
		rc = pg_run(c, "reading the gateways for the index",
			    "SELECT gw_id, pk, venue_id, enrolled_at, through_seq FROM gateways "
			    "ORDER BY gw_id", NULL, &gws);
	/* The registry first (each enrolment is its own LMDB write), then the
	 * visits in one LMDB transaction. */
	for (int i = 0; !rc && i < PQntuples(gws); i++) {
		struct cl_gateway g;

		memset(&g, 0, sizeof g);
		if (pg_bytes(gws, i, 0, g.gw_id, AS_GWID_LEN) ||
		    pg_bytes(gws, i, 1, g.pk, AS_SIGN_PK_LEN)) {
			rc = AS_E_CORRUPT;
			break;
		}
		g.venue_id = (uint32_t)pg_int(gws, i, 2);
		g.enrolled_at = pg_int(gws, i, 3);
		rc = index_enrol(index, c, &g);
	}
	if (!rc)
		rc = copy_late(index, c, &txn, copied);
	for (int i = 0; !rc && i < PQntuples(gws); i++) {
		struct cl_gateway g, have;
		uint64_t through, cursor, to;

		memset(&g, 0, sizeof g);
		(void)pg_bytes(gws, i, 0, g.gw_id, AS_GWID_LEN);
		through = (uint64_t)pg_int(gws, i, 4);
		rc = cl_store_get_gateway(index, g.gw_id, &have);
		if (rc)
			break;
		cursor = have.through_seq;
		if (through <= cursor)
			continue;
		*behind += through - cursor;
		if (!left)
			continue;
		to = through - cursor > left ? cursor + left : through;
		rc = read_records(c, g.gw_id, cursor, to, recs);
		if (!rc && !txn)
			rc = cl_store_ingest_begin(index, &txn);
		if (!rc) {
			struct cl_ingest_result res;

			rc = cl_store_ingest_batch(txn, g.gw_id, recs, NULL, (size_t)(to - cursor), 0,
						   now, &res);
			if (!rc && res.gap)
				rc = AS_E_CORRUPT; /* the cursor is the index's own through_seq */
			if (!rc) {
				*copied += res.stored;
				*behind -= to - cursor;
				left -= (size_t)(to - cursor);
			}
		}
	}
	PQclear(gws);
	if (txn) {
		if (rc) {
			cl_store_ingest_abort(txn);
			*copied = 0;
		} else {
			rc = cl_store_ingest_commit(txn);
		}
	}
	if (c)
		(void)pg_run(c, "reading for the index", "COMMIT", NULL, NULL);
	pg_conn_give(source->pg, c);
	free(recs);
	return rc;
}
