/*
 * lmdb_coverage.c - gateway heartbeats merged into coverage periods in
 * the LMDB store (coverage.h), and their reader.  Invariant: a gateway's
 * periods do not overlap.  Threads: merging in the ingest transaction's
 * thread; reading on any thread.
 */
#include "lmdb_ingest.h"
#include "pg_store.h"

#include <errno.h>
#include <stdlib.h>

/* ---- coverage ------------------------------------------------------------------ */

static void coverage_key(uint8_t out[COVERAGE_KEY_LEN], const uint8_t gw_id[AS_GWID_LEN],
			 int64_t start)
{
	memcpy(out, gw_id, AS_GWID_LEN);
	put_time(out + AS_GWID_LEN, start);
}

/* The period at the cursor if it belongs to gw_id: 1, 0 (another
 * gateway's), or an LMDB error. */
static int coverage_at(const MDB_val *key, const MDB_val *val, const uint8_t gw_id[AS_GWID_LEN],
		       struct cl_period *p)
{
	if (key->mv_size != COVERAGE_KEY_LEN)
		return MDB_CORRUPTED;
	if (memcmp(key->mv_data, gw_id, AS_GWID_LEN) != 0)
		return 0;
	if (cl_period_decode(p, get_time((const uint8_t *)key->mv_data + AS_GWID_LEN),
			     val->mv_data, val->mv_size))
		return MDB_CORRUPTED;
	return 1;
}

/* Is boot_id that of a boot of gw_id which a newer boot has followed: the
 * first boot of any stored period, or the last boot of any but `latest`
 * (the period a heartbeat filed now would join)?  1, 0 or an LMDB error. */
static int coverage_boot_over(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			      const uint8_t boot_id[AS_BOOT_ID_LEN], const struct cl_period *latest)
{
	uint8_t kbuf[COVERAGE_KEY_LEN];
	struct cl_period p;
	MDB_cursor *c;
	MDB_val key, val;
	int rc, over = 0;

	rc = mdb_cursor_open(in->txn, in->s->coverage, &c);
	if (rc)
		return rc;
	coverage_key(kbuf, gw_id, INT64_MIN);
	key = (MDB_val){COVERAGE_KEY_LEN, kbuf};
	for (rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE); rc == 0 && !over;
	     rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		int mine = coverage_at(&key, &val, gw_id, &p);

		if (mine != 1) {
			rc = mine == 0 ? MDB_NOTFOUND : mine;
			break;
		}
		if (memcmp(p.last_boot, boot_id, AS_BOOT_ID_LEN) == 0)
			over = !latest || p.start != latest->start;
		else if (memcmp(p.first_boot, boot_id, AS_BOOT_ID_LEN) == 0)
			over = 1;
	}
	mdb_cursor_close(c);
	if (over)
		return 1;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int coverage_merge(struct cl_ingest *in, const struct as_heartbeat *hb, int64_t t,
			  int64_t now, int *replay)
{
	struct cl_store *s = in->s;
	uint8_t kbuf[COVERAGE_KEY_LEN], vbuf[CL_PERIOD_VALUE_LEN];
	struct cl_period cur, prev, next;
	int have_prev = 0, have_next = 0, rc;
	MDB_cursor *c;
	MDB_val key, val;

	cl_period_from_heartbeat(&cur, hb, t, now);
	rc = mdb_cursor_open(in->txn, s->coverage, &c);
	if (rc)
		return rc;
	coverage_key(kbuf, hb->gw_id, t);
	key = (MDB_val){COVERAGE_KEY_LEN, kbuf};
	rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	if (rc == 0) {
		have_next = coverage_at(&key, &val, hb->gw_id, &next);
		rc = have_next < 0 || have_next > 1 ? have_next : 0;
		if (!rc)
			rc = mdb_cursor_get(c, &key, &val, MDB_PREV);
	} else if (rc == MDB_NOTFOUND) {
		rc = mdb_cursor_get(c, &key, &val, MDB_LAST);
	}
	if (rc == 0) {
		have_prev = coverage_at(&key, &val, hb->gw_id, &prev);
		rc = have_prev < 0 || have_prev > 1 ? have_prev : 0;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	mdb_cursor_close(c);
	if (rc)
		return rc;
	/* Only a heartbeat filed when it arrived (its own clock untrusted)
	 * could make a dead gateway look alive if it were a copy; one filed
	 * at its own trusted time (which may be now) merely fills in. */
	if (t == now && !((hb->clock_state == AS_CLOCK_SYNCED ||
			   hb->clock_state == AS_CLOCK_CORRECTED) && hb->sent_at == t)) {
		const struct cl_period *latest = have_prev == 1 ? &prev : NULL;
		int over = 0;

		/* Of the same boot as the latest heartbeat: newer than it.  Of
		 * another boot: not one that a newer boot has followed. */
		if (!latest || memcmp(latest->last_boot, hb->boot_id, AS_BOOT_ID_LEN) != 0)
			over = coverage_boot_over(in, hb->gw_id, hb->boot_id, latest);
		if (over < 0 || over > 1)
			return over;
		if (over || cl_heartbeat_is_replay(latest, hb, now)) {
			*replay = 1;
			return 0;
		}
	}
	if (have_prev == 1 && cl_period_joins(&prev, &cur))
		cl_period_combine(&cur, &prev, &cur);
	if (have_next == 1 && cl_period_joins(&cur, &next)) {
		cl_period_combine(&cur, &cur, &next);
		if (next.start != cur.start) {
			coverage_key(kbuf, hb->gw_id, next.start);
			key = (MDB_val){COVERAGE_KEY_LEN, kbuf};
			rc = mdb_del(in->txn, s->coverage, &key, NULL);
			if (rc)
				return rc;
		}
	}
	coverage_key(kbuf, hb->gw_id, cur.start);
	cl_period_encode(vbuf, &cur);
	key = (MDB_val){COVERAGE_KEY_LEN, kbuf};
	val = (MDB_val){CL_PERIOD_VALUE_LEN, vbuf};
	return mdb_put(in->txn, s->coverage, &key, &val, 0);
}

int cl_store_ingest_heartbeat(struct cl_ingest *in, const struct as_heartbeat *hb, int64_t t,
			      int64_t now, int *replay)
{
	if (in->pg)
		return cl_pg_ingest_heartbeat(in->pg, hb, t, now, replay);
	int rc, replayed = 0;

	if (replay)
		*replay = 0;
	if (in->failed)
		return store_error(in->failed);
	rc = coverage_merge(in, hb, t, now, &replayed);
	if (replay)
		*replay = replayed;
	if (rc)
		in->failed = rc;
	return store_error(rc);
}

int cl_store_each_period(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
			 int (*fn)(void *ctx, const struct cl_period *p), void *ctx)
{
	if (s->pg)
		return cl_pg_each_period(s->pg, gw_id, fn, ctx);
	uint8_t kbuf[COVERAGE_KEY_LEN];
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val key, val;
	struct cl_period p;
	int rc, stop = 0;

	if (s->no_coverage)
		return 0;
	rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	rc = mdb_cursor_open(txn, s->coverage, &c);
	if (rc) {
		mdb_txn_abort(txn);
		return store_error(rc);
	}
	coverage_key(kbuf, gw_id, INT64_MIN);
	key = (MDB_val){COVERAGE_KEY_LEN, kbuf};
	for (rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		int mine = coverage_at(&key, &val, gw_id, &p);

		if (mine != 1) {
			rc = mine == 0 ? MDB_NOTFOUND : mine;
			break;
		}
		stop = fn(ctx, &p);
		if (stop)
			break;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (stop)
		return stop < 0 ? stop : 0;
	return rc == MDB_NOTFOUND ? 0 : store_error(rc);
}
