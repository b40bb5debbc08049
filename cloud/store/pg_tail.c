/*
 * pg_tail.c - an index node's step: copy into a local LMDB store what the
 * PostgreSQL store holds beyond it (cl_store_index_step, store.h), so that
 * tracing runs on the LMDB store and engine as in the embedded mode.
 *
 * Gateways' visits.  The cursor is per gateway, and it is the LMDB store's
 * own through_seq for that gateway: it moves in the same LMDB transaction
 * as the rows it covers, so a crash of the index node loses or repeats
 * nothing (the next step starts from what the index committed).
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
 * App check-ins.  They carry no gateway seq, and wallets' check-ins commit
 * in any order, so their cursor is a pair of PostgreSQL snapshots.  A
 * trigger (cloud/sql/002_app_index.sql) writes into each app visit's row
 * the 64-bit id of the transaction that last inserted or updated it (its
 * check-in, then its check-out): app_xact.  A row version is visible in a
 * snapshot exactly when its app_xact is (pg_visible_in_snapshot): the
 * writing transaction had committed when the snapshot was taken
 * (pg_current_xact_id is the top-level transaction's, whose commit is the
 * row's; an xid8 never wraps).  The index keeps, in its meta database,
 * prev: a snapshot whose every visible app row it holds.  A round takes
 * target, the step's own snapshot, and
 * copies the rows visible in target but not in prev, in (app_xact,
 * checkin_id) order, budget rows per step; pos, the last one copied, is
 * kept with prev and target, so a round may span steps; a step that finds
 * fewer rows than its budget ends the round: prev = target.
 *   - Never missed: a row version not visible in prev either is visible
 *     in target (copied in this round) or commits after target was taken
 *     (visible in the next round's target, still not in prev).  A check-out
 *     made after target gives the row a new app_xact, not visible in
 *     target: the next round copies the row with its exit.  Transactions
 *     that were running when prev was taken (pg_snapshot_xip) are no
 *     exception: they are not visible in prev.  Rows visible in target stay
 *     visible in every later snapshot, so a round that spans steps sees
 *     the same set.
 *   - Never repeated: a round copies only versions not visible in prev,
 *     and ordered by (app_xact, checkin_id) after pos.  The LMDB store
 *     de-duplicates by check-in id as well (a row moved out of
 *     visits_default into its new day partition is written anew and comes
 *     again: it is a duplicate there, and a check-out it already has is
 *     too).
 *   - Crash-safe: prev, target and pos are written in the same LMDB
 *     transaction as the rows they cover.  A round that starts and ends
 *     in one step with nothing copied keeps the old prev: equally true
 *     (nothing lies between them), and it saves a write.
 * A sequence (vid) cursor would not do: sequence values are taken before
 * commit.  Nor would transaction ids alone: they are taken before commit
 * too; the snapshot says which of them had committed.
 *
 * How far behind: each step that changes something, and one at least
 * every INDEX_LAG_REFRESH seconds, records in the index's meta when it
 * read PostgreSQL, how many records it was behind after that step, and
 * when it was last caught up (cl_store_index_lag reads them).
 *
 * Visit tokens: a visit of a visit token (kind token) is copied as a
 * pass's (kind pass: the index reads no token ids, and a trace shows both
 * as a scan).  A visit PostgreSQL stored after its gateway's through_seq
 * had passed it (a token record that waited for its issue: pg_ingest.c)
 * is numbered in visits.late, and late numbers become visible in their
 * order (taken under the lock of one counter row until the commit); each
 * step copies, in its snapshot, the late visits past the index's late
 * cursor (meta "pg_late", committed with the rows) whose seq the index
 * had passed before the step, and moves the cursor to the highest late
 * number of the snapshot: a late visit visible in that snapshot with a
 * seq past the index's through_seq is copied by the seq cursor, now or
 * later.  Except a fork's visit (visits.fork > 0: a batch that left its
 * gateway's journal chain stored it under a seq through_seq had passed,
 * beside the visit already there, pg_ingest.c): the seq cursor reads only
 * fork 0, one visit per seq, and the late cursor copies every fork's
 * visit, whatever its seq (every gateway of the snapshot is enrolled in
 * the index before, so none is skipped).
 *
 * What is copied: gateways' visits and app check-ins (with each person's
 * latest capsule), and the gateways and venues they name.
 * Threads: the caller's; it must hold no write transaction on index.
 */
#include "lmdb_ingest.h"
#include "lmdb_late.h"
#include "lmdb_layout.h"
#include "pg_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INDEX_APP_KEY "index_app_cursor"
#define INDEX_LAG_REFRESH 10 /* seconds: the lag is recorded at least this often */

/* Venue venue_id as PostgreSQL has it. */
static int read_venue(PGconn *c, uint32_t venue_id, struct cl_venue *v)
{
	struct pg_params p;
	PGresult *r;
	int rc;

	pgp_init(&p);
	pgp_i32(&p, (int32_t)venue_id);
	rc = pg_run(c, "reading a venue for the index",
		    "SELECT name, address, category, dwell_minutes::int4 FROM venues WHERE id = $1",
		    &p, &r);
	pgp_free(&p);
	if (rc)
		return rc;
	memset(v, 0, sizeof *v);
	v->id = venue_id;
	if (PQntuples(r) == 1 && PQgetlength(r, 0, 0) <= CL_NAME_MAX &&
	    PQgetlength(r, 0, 1) <= CL_ADDRESS_MAX && PQgetlength(r, 0, 2) <= CL_CATEGORY_MAX) {
		memcpy(v->name, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
		memcpy(v->address, PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1));
		memcpy(v->category, PQgetvalue(r, 0, 2), (size_t)PQgetlength(r, 0, 2));
		v->dwell_minutes = (uint16_t)pg_int(r, 0, 3);
	} else {
		rc = AS_E_CORRUPT;
	}
	PQclear(r);
	return rc;
}

/* Enrol gateway g (and its venue) in the index as PostgreSQL has them; a
 * revoked gateway is enrolled as not revoked: its stored visits are still
 * traced. */
static int index_enrol(struct cl_store *index, PGconn *c, const struct cl_gateway *g)
{
	struct cl_gateway copy = *g, have;
	struct cl_venue v;
	int rc = cl_store_get_gateway(index, g->gw_id, &have);

	if (rc == 0 && have.venue_id == g->venue_id)
		return 0;
	rc = read_venue(c, g->venue_id, &v);
	copy.revoked = 0;
	copy.revoked_at = 0;
	return rc ? rc : cl_store_enroll(index, &copy, &v);
}

/* Enrol venue_id alone (a venue of app check-ins) if the index lacks it. */
static int index_venue(struct cl_store *index, PGconn *c, uint32_t venue_id)
{
	struct cl_venue v;
	int rc = cl_store_get_venue(index, venue_id, &v);

	if (rc != AS_E_NOT_FOUND)
		return rc;
	rc = read_venue(c, venue_id, &v);
	return rc ? rc : cl_store_enroll(index, NULL, &v);
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
		    "WHERE v.gateway = $1 AND v.seq > $2 AND v.seq <= $3 AND v.fork = 0", &p, &r);
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

/* ---- app check-ins ---- */

/* The index's app cursor (see the top): snapshots in PostgreSQL's text
 * form; "" for none. */
struct app_cursor {
	char *prev;               /* every app row visible in it is copied */
	char *target;             /* the running round's snapshot */
	char *pos_xact;           /* the round's last row copied: app_xact ... */
	uint8_t pos_id[CL_APP_ID_LEN]; /* ... and checkin_id */
	uint64_t left;            /* rows of the running round not copied yet */
};

struct app_row {
	struct cl_app_visit a;
	int64_t exit;
	char xact[24];
};

static char *text_dup(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static void app_cursor_free(struct app_cursor *c)
{
	free(c->prev);
	free(c->target);
	free(c->pos_xact);
	memset(c, 0, sizeof *c);
}

/* Replace *field by a copy of text (n bytes). */
static int app_cursor_set(char **field, const char *text, size_t n)
{
	char *copy = text_dup(text, n);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/* Its stored form: prev NUL target NUL pos_xact NUL pos_id left (8 bytes,
 * big-endian). */
static int app_cursor_read(struct cl_store *index, struct app_cursor *c)
{
	MDB_val key = {strlen(INDEX_APP_KEY), INDEX_APP_KEY}, val;
	MDB_txn *txn;
	char **fields[3] = {&c->prev, &c->target, &c->pos_xact};
	int rc;

	memset(c, 0, sizeof *c);
	rc = store_read_begin(index, &txn);
	if (rc)
		return rc;
	rc = mdb_get(txn, index->meta, &key, &val);
	if (rc == MDB_NOTFOUND) {
		rc = 0;
		for (int i = 0; !rc && i < 3; i++)
			rc = app_cursor_set(fields[i], "", 0);
	} else if (!rc) {
		const char *d = val.mv_data, *end = d + val.mv_size;

		for (int i = 0; !rc && i < 3; i++) {
			const char *nul = memchr(d, '\0', (size_t)(end - d));

			if (!nul) {
				rc = MDB_CORRUPTED;
				break;
			}
			rc = app_cursor_set(fields[i], d, (size_t)(nul - d));
			d = nul + 1;
		}
		if (!rc && end - d != CL_APP_ID_LEN + 8)
			rc = MDB_CORRUPTED;
		if (!rc) {
			memcpy(c->pos_id, d, CL_APP_ID_LEN);
			c->left = as_get_be64((const uint8_t *)d + CL_APP_ID_LEN);
		}
	}
	mdb_txn_abort(txn);
	if (rc) {
		store_fail("reading the index's app check-in cursor", rc);
		app_cursor_free(c);
	}
	return store_error(rc);
}

static int app_cursor_write(struct cl_ingest *in, const struct app_cursor *c)
{
	size_t n[3] = {strlen(c->prev) + 1, strlen(c->target) + 1, strlen(c->pos_xact) + 1};
	size_t len = n[0] + n[1] + n[2] + CL_APP_ID_LEN + 8;
	MDB_val key = {strlen(INDEX_APP_KEY), INDEX_APP_KEY}, val = {len, NULL};
	uint8_t *buf = malloc(len);
	int rc;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, c->prev, n[0]);
	memcpy(buf + n[0], c->target, n[1]);
	memcpy(buf + n[0] + n[1], c->pos_xact, n[2]);
	memcpy(buf + n[0] + n[1] + n[2], c->pos_id, CL_APP_ID_LEN);
	as_put_be64(buf + n[0] + n[1] + n[2] + CL_APP_ID_LEN, c->left);
	val.mv_data = buf;
	rc = mdb_put(in->txn, in->s->meta, &key, &val, 0);
	free(buf);
	return rc ? store_fail("writing the index's app check-in cursor", rc) : 0;
}

/* The cursor's parameters $1 prev, $2 target, $3 pos_xact, $4 pos_id
 * ("" with "": the round's start). */
static void app_params(struct pg_params *p, const struct app_cursor *c)
{
	pgp_text(p, c->prev);
	pgp_text(p, c->target);
	pgp_text(p, c->pos_xact);
	pgp_bytes(p, c->pos_id, *c->pos_xact ? CL_APP_ID_LEN : 0);
}

/* App rows not visible in prev ($1). */
#define APP_NOT_IN_PREV                                                                     \
	"v.checkin_id IS NOT NULL "                                                         \
	"AND coalesce(NOT pg_visible_in_snapshot(v.app_xact, nullif($1, '')::pg_snapshot), " \
	"true) "

/* Up to limit rows of the round, in (app_xact, checkin_id) order. */
static int read_app_rows(PGconn *c, const struct app_cursor *cur, size_t limit,
			 struct app_row *rows, size_t *n)
{
	struct pg_params p;
	PGresult *r;
	int rc;

	*n = 0;
	pgp_init(&p);
	app_params(&p, cur);
	pgp_i64(&p, (int64_t)limit);
	rc = pg_run(c, "reading app check-ins for the index",
		    "SELECT v.app_xact::text, v.checkin_id, v.venue_id, v.entry, v.exit, v.pid, "
		    "v.flags, c.capsule FROM visits v LEFT JOIN capsules c ON c.pid = v.pid "
		    "WHERE " APP_NOT_IN_PREV
		    "AND (v.app_xact, v.checkin_id) > (coalesce(nullif($3, '')::xid8, "
		    "pg_snapshot_xmin(nullif($1, '')::pg_snapshot), '0'::xid8), $4) "
		    "AND pg_visible_in_snapshot(v.app_xact, $2::pg_snapshot) "
		    "ORDER BY v.app_xact, v.checkin_id LIMIT $5", &p, &r);
	pgp_free(&p);
	for (int i = 0; !rc && i < PQntuples(r) && (size_t)i < limit; i++) {
		struct app_row *row = &rows[i];

		memset(row, 0, sizeof *row);
		if (PQgetlength(r, i, 0) >= (int)sizeof row->xact ||
		    pg_bytes(r, i, 1, row->a.checkin_id, CL_APP_ID_LEN) ||
		    pg_bytes(r, i, 5, row->a.pid, AS_PID_LEN)) {
			rc = AS_E_CORRUPT;
			break;
		}
		memcpy(row->xact, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
		row->a.venue_id = (uint32_t)pg_int(r, i, 2);
		row->a.entry = pg_int(r, i, 3);
		row->exit = pg_int(r, i, 4);
		row->a.flags = (uint8_t)pg_int(r, i, 6);
		if (!PQgetisnull(r, i, 7) && PQgetlength(r, i, 7) == AS_CAPSULE_LEN)
			memcpy(row->a.capsule, PQgetvalue(r, i, 7), AS_CAPSULE_LEN);
		*n = (size_t)i + 1;
	}
	PQclear(r);
	return rc;
}

/*
 * Counting what the index lacks, without reading every row each step: a
 * round's rows are counted once, when a round does not end in the step
 * that starts it (cur->left, then lowered as rows are copied); rows that
 * committed after a snapshot S lie at or above S's xmin, a short stretch
 * of the index (visits_app_by_xact).
 */

/* The round's rows: visible in target, not in prev. */
static int count_round(PGconn *c, const struct app_cursor *cur, uint64_t *n)
{
	struct pg_params p;
	int rc;

	pgp_init(&p);
	app_params(&p, cur);
	rc = pg_run_count(c, "counting app check-ins for the index",
			  "SELECT count(*) FROM visits v WHERE " APP_NOT_IN_PREV
			  "AND v.app_xact >= coalesce(pg_snapshot_xmin(nullif($1, '')::pg_snapshot), "
			  "'0'::xid8) AND pg_visible_in_snapshot(v.app_xact, $2::pg_snapshot)", &p, n);
	pgp_free(&p);
	return rc;
}

/* Add the rows visible now but neither in snap nor in prev ("": none). */
static int count_after(PGconn *c, const char *prev, const char *snap, uint64_t *behind)
{
	struct pg_params p;
	uint64_t n;
	int rc;

	pgp_init(&p);
	pgp_text(&p, prev);
	pgp_text(&p, snap);
	rc = pg_run_count(c, "counting app check-ins for the index",
			  "SELECT count(*) FROM visits v WHERE " APP_NOT_IN_PREV
			  "AND v.app_xact >= pg_snapshot_xmin($2::pg_snapshot) "
			  "AND NOT pg_visible_in_snapshot(v.app_xact, $2::pg_snapshot)", &p, &n);
	pgp_free(&p);
	if (!rc)
		*behind += n;
	return rc;
}

/* Store rows in the index: a check-in it holds is a duplicate there. */
static int copy_app_rows(struct cl_ingest *txn, const struct app_row *rows, size_t n,
			 uint64_t *copied)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < n; i++) {
		int out = 0;

		rc = cl_store_ingest_app(txn, &rows[i].a, &out);
		if (!rc && out == CL_APP_STORED)
			(*copied)++;
		else if (!rc && out != CL_APP_DUPLICATE)
			rc = AS_E_CORRUPT;
		if (!rc && rows[i].exit)
			rc = cl_store_ingest_app_exit(txn, rows[i].a.checkin_id, rows[i].a.pid,
						      rows[i].exit, &out);
	}
	return rc;
}

/* ---- how far behind ---- */

/* Record the lag (in txn, or in a write of its own when txn is NULL and
 * it changed or is INDEX_LAG_REFRESH seconds old). */
static int record_lag(struct cl_store *index, struct cl_ingest *txn, int64_t now, uint64_t behind)
{
	MDB_txn *w = txn ? txn->txn : NULL;
	uint64_t at = 0, was = 0;
	int rc = 0;

	if (!w) {
		MDB_txn *r;

		rc = store_read_begin(index, &r);
		if (rc)
			return rc;
		rc = as_lmdb_meta_get_u64(r, index->meta, "index_read_at", &at);
		if (!rc)
			rc = as_lmdb_meta_get_u64(r, index->meta, "index_behind", &was);
		mdb_txn_abort(r);
		if (rc)
			return store_error(store_fail("reading the index's lag", rc));
		if (at && was == behind && now - (int64_t)at < INDEX_LAG_REFRESH &&
		    now >= (int64_t)at)
			return 0;
		rc = store_write_begin(index, &w);
		if (rc)
			return rc;
	}
	rc = as_lmdb_meta_put_u64(w, index->meta, "index_read_at", (uint64_t)now);
	if (!rc)
		rc = as_lmdb_meta_put_u64(w, index->meta, "index_behind", behind);
	if (!rc && !behind)
		rc = as_lmdb_meta_put_u64(w, index->meta, "index_caught_up_at", (uint64_t)now);
	if (rc)
		store_fail("recording the index's lag", rc);
	if (!txn)
		return store_write_end(index, w, rc);
	return store_error(rc);
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
		    "v.flags, v.digest, c.capsule, v.fork FROM visits v LEFT JOIN capsules c "
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
		/* A fork's visit (fork > 0) never comes by seq: always here. */
		if (rc || (seq > have.through_seq && pg_int(r, i, 10) == 0))
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
	struct app_row *apps = NULL;
	struct app_cursor cur;
	PGconn *c = NULL;
	PGresult *gws = NULL, *snap = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t left = budget ? budget : 10000;
	size_t app_limit = left / 2 ? left / 2 : 1, napps = 0;
	int round_started = 0, write_cursor = 0, rc;

	*copied = 0;
	*behind = 0;
	if (!source->pg || index->pg || index->readonly)
		return -EINVAL;
	store_clear_error();
	recs = malloc(left * sizeof *recs);
	apps = malloc(app_limit * sizeof *apps);
	if (!recs || !apps) {
		free(recs);
		free(apps);
		return -ENOMEM;
	}
	rc = app_cursor_read(index, &cur);
	if (rc) {
		free(recs);
		free(apps);
		return rc;
	}
	rc = pg_conn_take(source->pg, &c);
	if (!rc)
		rc = pg_run(c, "reading for the index",
			    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, NULL);
	if (!rc)
		rc = pg_run(c, "reading the gateways for the index",
			    "SELECT gw_id, pk, venue_id, enrolled_at, through_seq FROM gateways "
			    "ORDER BY gw_id", NULL, &gws);
	/* App check-ins: a round starts at this snapshot unless one runs. */
	if (!rc && !*cur.target) {
		rc = pg_run(c, "reading for the index", "SELECT pg_current_snapshot()::text", NULL,
			    &snap);
		if (!rc)
			rc = app_cursor_set(&cur.target, PQgetvalue(snap, 0, 0),
					    (size_t)PQgetlength(snap, 0, 0));
		if (!rc)
			rc = app_cursor_set(&cur.pos_xact, "", 0);
		round_started = 1;
		PQclear(snap);
	}
	if (!rc)
		rc = read_app_rows(c, &cur, app_limit, apps, &napps);
	if (!rc && napps == app_limit) {
		/* The round goes on in the next step. */
		if (round_started)
			rc = count_round(c, &cur, &cur.left);
		cur.left = cur.left > napps ? cur.left - napps : 0;
		if (!rc)
			rc = app_cursor_set(&cur.pos_xact, apps[napps - 1].xact,
					    strlen(apps[napps - 1].xact));
		memcpy(cur.pos_id, apps[napps - 1].a.checkin_id, CL_APP_ID_LEN);
		write_cursor = 1;
		*behind += cur.left;
		if (!rc && !round_started)
			rc = count_after(c, cur.prev, cur.target, behind);
	} else if (!rc && (napps || !round_started)) {
		/* The round is over: prev = target. */
		char *done = cur.prev;

		cur.prev = cur.target;
		cur.target = done;
		done[0] = '\0';
		cur.pos_xact[0] = '\0';
		memset(cur.pos_id, 0, CL_APP_ID_LEN);
		cur.left = 0;
		write_cursor = 1;
		if (!round_started)
			rc = count_after(c, "", cur.prev, behind);
	}
	/* (A round that starts and ends in this step leaves nothing behind in
	 * this snapshot.) */
	left -= napps;
	/* The registry first (each enrolment is its own LMDB write), then the
	 * visits and app check-ins in one LMDB transaction. */
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
	for (size_t i = 0; !rc && i < napps; i++)
		rc = index_venue(index, c, apps[i].a.venue_id);
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
	if (!rc && write_cursor && !txn)
		rc = cl_store_ingest_begin(index, &txn);
	if (!rc && napps)
		rc = copy_app_rows(txn, apps, napps, copied);
	if (!rc && write_cursor)
		rc = app_cursor_write(txn, &cur);
	if (!rc)
		rc = record_lag(index, txn, now, *behind);
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
	app_cursor_free(&cur);
	free(recs);
	free(apps);
	return rc;
}
