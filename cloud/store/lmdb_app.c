/*
 * lmdb_app.c - app check-ins (a wallet's own check-in at a venue code)
 * into the LMDB store: de-duplicated by check-in id, one use per replay
 * key, and check-outs that set a stored visit's exit.  Invariant: app
 * holds an 'i' entry for each stored app visit and an 'r' entry for each
 * replay key one used.  Threads: the ingest transaction's thread.
 */
#include "lmdb_ingest.h"
#include "lmdb_registry.h"
#include "pg_store.h"

#include <errno.h>
#include <stdlib.h>

/* ---- app check-ins ---------------------------------------------------------- */

static void app_key(uint8_t out[APP_KEY_LEN], char tag, const uint8_t id[CL_APP_ID_LEN])
{
	out[0] = (uint8_t)tag;
	memcpy(out + 1, id, CL_APP_ID_LEN);
}

static int id_is_zero(const uint8_t id[CL_APP_ID_LEN])
{
	uint8_t acc = 0;

	for (size_t i = 0; i < CL_APP_ID_LEN; i++)
		acc |= id[i];
	return acc == 0;
}

static int app_ingest(struct cl_ingest *in, const struct cl_app_visit *a, int *outcome)
{
	uint8_t kbuf[APP_KEY_LEN], vbuf[APP_REPLAY_VALUE_LEN];
	MDB_val key = {APP_KEY_LEN, kbuf}, val;
	struct stored_visit sv;
	int rc;

	app_key(kbuf, 'i', a->checkin_id);
	rc = mdb_get(in->txn, in->s->app, &key, &val);
	if (rc != MDB_NOTFOUND) {
		if (rc == 0)
			*outcome = CL_APP_DUPLICATE;
		return rc;
	}
	if (!id_is_zero(a->replay_key)) {
		app_key(kbuf, 'r', a->replay_key);
		rc = mdb_get(in->txn, in->s->app, &key, &val);
		if (rc != MDB_NOTFOUND) {
			if (rc == 0)
				*outcome = CL_APP_REPLAY;
			return rc;
		}
		memcpy(vbuf, a->checkin_id, CL_APP_ID_LEN);
		put_time(vbuf + CL_APP_ID_LEN, a->entry);
		val = (MDB_val){APP_REPLAY_VALUE_LEN, vbuf};
		rc = mdb_put(in->txn, in->s->app, &key, &val, MDB_NOOVERWRITE);
		if (rc)
			return rc;
	}
	if (in->next_vid > VID_MAX)
		return MDB_MAP_FULL; /* out of visit ids */
	memset(&sv, 0, sizeof sv);
	sv.v.vid = in->next_vid;
	memcpy(sv.v.pid, a->pid, AS_PID_LEN);
	sv.v.venue_id = a->venue_id;
	sv.v.entry = a->entry;
	sv.v.headcount = 1;
	sv.v.kind = AS_REC_APP;
	sv.v.flags = a->flags;
	app_key(kbuf, 'i', a->checkin_id);
	put_vid(vbuf, sv.v.vid);
	as_put_be32(vbuf + VID_LEN, a->venue_id);
	put_time(vbuf + VID_LEN + 4, a->entry);
	val = (MDB_val){APP_ID_VALUE_LEN, vbuf};
	rc = mdb_put(in->txn, in->s->app, &key, &val, MDB_NOOVERWRITE);
	if (!rc)
		rc = store_ingest_visit(in, &sv, a->capsule);
	if (rc)
		return rc;
	in->next_vid++;
	*outcome = CL_APP_STORED;
	return 0;
}

int cl_store_ingest_app(struct cl_ingest *in, const struct cl_app_visit *a, int *outcome)
{
	if (in->pg)
		return cl_pg_ingest_app(in->pg, a, outcome);
	int rc;

	*outcome = 0;
	if (in->failed)
		return store_error(in->failed);
	if (pid_is_zero(a->pid) || a->venue_id == 0 || (a->flags & ~AS_REC_FLAGS_KNOWN) ||
	    id_is_zero(a->checkin_id))
		return AS_E_FIELD;
	rc = app_ingest(in, a, outcome);
	if (rc) {
		in->failed = rc;
		*outcome = 0;
	}
	return store_error(rc);
}

/* Replace the index entries of stored visit old with those of new (same
 * vid, venue, person and entry; the visits row does not change). */
static int reindex_visit(struct cl_ingest *in, const struct stored_visit *old,
			 const struct stored_visit *new)
{
	uint8_t kbuf[IDX_KEY_LEN], ent[IDX_LEN];
	MDB_val key = {IDX_KEY_LEN, kbuf}, val = {IDX_LEN, ent};
	int rc;

	idx_key(kbuf, day_of(old->v.entry), old->v.venue_id);
	idx_entry(ent, &old->v, old->v.person);
	rc = mdb_del(in->txn, in->s->by_venue, &key, &val);
	if (!rc) {
		idx_entry(ent, &new->v, new->v.person);
		rc = mdb_put(in->txn, in->s->by_venue, &key, &val, 0);
	}
	if (!rc && old->v.person) {
		/* by_pid: the entry with the same (entry, vid) prefix, in place. */
		uint8_t *copy = NULL;
		size_t i, n;

		idx_key(kbuf, day_of(old->v.entry), old->v.person);
		idx_entry(ent, &old->v, old->v.venue_id);
		rc = mdb_get(in->txn, in->s->by_pid, &key, &val);
		if (!rc && (val.mv_size == 0 || val.mv_size % IDX_LEN || val.mv_size > PID_VALUE_MAX))
			rc = MDB_CORRUPTED;
		if (!rc && !(copy = malloc(val.mv_size)))
			rc = ENOMEM;
		n = rc ? 0 : val.mv_size / IDX_LEN;
		for (i = 0; i < n && memcmp((const uint8_t *)val.mv_data + i * IDX_LEN, ent, 14); i++)
			;
		if (!rc && i == n)
			rc = MDB_NOTFOUND;
		if (!rc) {
			memcpy(copy, val.mv_data, val.mv_size);
			idx_entry(copy + i * IDX_LEN, &new->v, new->v.venue_id);
			val = (MDB_val){n * IDX_LEN, copy};
			rc = mdb_put(in->txn, in->s->by_pid, &key, &val, 0);
		}
		free(copy);
	}
	return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc; /* the indexes disagree */
}

/* The stored visit vid of venue at entry, from its by_venue entry. */
static int app_visit_get(struct cl_ingest *in, uint64_t vid, uint32_t venue, int64_t entry,
			 struct stored_visit *sv)
{
	uint8_t kbuf[IDX_KEY_LEN], start[IDX_LEN];
	MDB_val key = {IDX_KEY_LEN, kbuf}, val = {IDX_LEN, start};
	int rc;

	memset(sv, 0, sizeof *sv);
	idx_key(kbuf, day_of(entry), venue);
	memset(start, 0, sizeof start);
	put_time(start, entry);
	put_vid(start + 8, vid);
	rc = mdb_cursor_get(in->by_venue, &key, &val, MDB_GET_BOTH_RANGE);
	if (!rc)
		rc = idx_decode(&sv->v, &val, venue, 0);
	if (rc == MDB_NOTFOUND || (!rc && (sv->v.vid != vid || sv->v.entry != entry)))
		rc = MDB_CORRUPTED; /* app and by_venue disagree */
	return rc;
}

static int app_exit(struct cl_ingest *in, const uint8_t checkin_id[CL_APP_ID_LEN],
		    const uint8_t pid[AS_PID_LEN], int64_t exit, int *outcome)
{
	uint8_t kbuf[APP_KEY_LEN], stored_pid[AS_PID_LEN];
	MDB_val key = {APP_KEY_LEN, kbuf}, val;
	struct stored_visit sv, nv;
	uint64_t vid;
	int rc;

	app_key(kbuf, 'i', checkin_id);
	rc = mdb_get(in->txn, in->s->app, &key, &val);
	if (rc == MDB_NOTFOUND) {
		*outcome = CL_APP_UNKNOWN;
		return 0;
	}
	if (rc)
		return rc;
	if (val.mv_size != APP_ID_VALUE_LEN)
		return MDB_CORRUPTED;
	vid = get_vid(val.mv_data);
	if (in->npend && vid >= in->pend[0].sv.v.vid) {
		/* Still queued: every queued visit has the next vid. */
		struct pending *p;

		if (vid - in->pend[0].sv.v.vid >= in->npend)
			return MDB_CORRUPTED;
		p = &in->pend[vid - in->pend[0].sv.v.vid];
		if (memcmp(p->sv.v.pid, pid, AS_PID_LEN) != 0 || p->sv.v.kind != AS_REC_APP) {
			*outcome = CL_APP_UNKNOWN;
			return 0;
		}
		if (exit < p->sv.v.entry)
			return AS_E_FIELD;
		*outcome = p->sv.v.exit == exit ? CL_APP_DUPLICATE : CL_APP_STORED;
		p->sv.v.exit = exit;
		return store_venue_raise_longest(in->txn, in->s->venues, p->sv.v.venue_id,
						 visit_span(p->sv.v.entry, exit));
	}
	rc = app_visit_get(in, vid, as_get_be32((const uint8_t *)val.mv_data + VID_LEN),
			   get_time((const uint8_t *)val.mv_data + VID_LEN + 4), &sv);
	if (!rc && sv.v.person)
		rc = store_person_get(in->txn, in->s->capsules, sv.v.person, stored_pid, NULL);
	if (rc)
		return rc;
	if (!sv.v.person || sv.v.kind != AS_REC_APP ||
	    memcmp(stored_pid, pid, AS_PID_LEN) != 0) {
		*outcome = CL_APP_UNKNOWN;
		return 0;
	}
	if (exit < sv.v.entry)
		return AS_E_FIELD;
	if (sv.v.exit == exit) {
		*outcome = CL_APP_DUPLICATE;
		return 0;
	}
	nv = sv;
	nv.v.exit = exit;
	rc = reindex_visit(in, &sv, &nv);
	if (!rc)
		rc = store_venue_raise_longest(in->txn, in->s->venues, sv.v.venue_id,
					       visit_span(sv.v.entry, exit));
	if (!rc)
		*outcome = CL_APP_STORED;
	return rc;
}

int cl_store_ingest_app_exit(struct cl_ingest *in, const uint8_t checkin_id[CL_APP_ID_LEN],
			     const uint8_t pid[AS_PID_LEN], int64_t exit, int *outcome)
{
	if (in->pg)
		return cl_pg_ingest_app_exit(in->pg, checkin_id, pid, exit, outcome);
	int rc;

	*outcome = 0;
	if (in->failed)
		return store_error(in->failed);
	if (exit == 0)
		return AS_E_FIELD;
	rc = app_exit(in, checkin_id, pid, exit, outcome);
	if (rc == AS_E_FIELD)
		return rc; /* the transaction stays usable */
	if (rc) {
		in->failed = rc;
		*outcome = 0;
	}
	return store_error(rc);
}
