/*
 * lmdb_purge.c - the LMDB store's retention purge: visits outside the
 * kept window go, with their index entries, the people left with none,
 * app entries and coverage periods, in slices of write transactions
 * between which ingest gets the writer.  Every invariant of the store
 * holds after each slice.  Threads: any thread holding no write
 * transaction on the store (the daemon's purge worker, the CLI).
 */
#include "lmdb_layout.h"
#include "lmdb_tokens.h"
#include "lmdb_visits.h"
#include "pg_store.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

/* ---- retention ----------------------------------------------------------------- */

/*
 * The purge keeps the visits with entry in [horizon, limit] (limit: now
 * plus the clock skew ingest allows, so a visit stored with a time further
 * ahead, by a store written before ingest refused such times or by a cloud
 * whose clock was wrong, is not traced forever).  Days are index keys, so
 * the days wholly outside the window go whole, as keys: the horizon's day
 * and the limit's day are cut entry by entry, and the days between them
 * are skipped with one seek.  It works in phases, each in slices of at
 * most max deletions per write transaction, resuming from the key where
 * the last slice stopped:
 *   1. by_venue: keys of days before the horizon's day or after the
 *      limit's day go whole, with each entry's visit; on the horizon's and
 *      the limit's day, entries before the horizon or after the limit go
 *      one by one (the visit with each); the slice's visits go from their
 *      blocks at its end, each block rewritten once (lmdb_visits.c);
 *   2. by_pid: the same, without visits (values cut on those two days);
 *   3. people, by person number: those with no by_pid key left lose their
 *      persons, capsules and paper entries (slices of max / 8 people: each
 *      costs a key step per stored day);
 *   4. app: entries of check-ins (and replay keys) before the horizon or
 *      after the limit;
 *   5. coverage: gateway coverage periods that ended before the horizon or
 *      start after the limit;
 *   6-8. visit tokens (lmdb_tokens.c): issues of tokens that expired
 *      before the horizon, the contact capsules of issues that all did, and
 *      records waiting for an issue with their entry outside the window.
 * Between slices the purge pauses as long as the slice took, so that the
 * ingest thread gets the writer lock at least half the time.
 */
enum purge_phase { PURGE_VENUES, PURGE_PIDS, PURGE_PERSONS, PURGE_APP, PURGE_COVERAGE,
		   PURGE_TOKENS, PURGE_TOKEN_CONTACTS, PURGE_TOKEN_WAIT, PURGE_DONE };

struct purge_pos {
	enum purge_phase phase;
	int64_t horizon, limit;      /* what is kept: entry in [horizon, limit] */
	uint8_t key[APP_KEY_LEN];    /* resume at the first key >= this */
	size_t key_len;              /* 0: from the start */
};

/* The vids of a slice's deleted index entries: their visits go from
 * visit_blocks at the slice's end, each block rewritten once. */
struct dead_vids {
	uint64_t *vids;
	size_t n, cap;
};

static int dead_add(struct dead_vids *d, uint64_t vid)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 1024;
		uint64_t *v = cap <= SIZE_MAX / sizeof *v ? realloc(d->vids, cap * sizeof *v) : NULL;

		if (!v)
			return ENOMEM;
		d->vids = v;
		d->cap = cap;
	}
	d->vids[d->n++] = vid;
	return 0;
}

/* ---- purge slices: what every phase shares ---- */

/* Open a cursor on dbi at the slice's resume point (the first key >= the
 * one saved, or the first key); rc of that positioning (MDB_NOTFOUND: an
 * empty rest).  *cur is open on every return but an open failure. */
static int slice_start(MDB_txn *txn, MDB_dbi dbi, const struct purge_pos *pos,
		       MDB_cursor **cur, MDB_val *key, MDB_val *val)
{
	int rc = mdb_cursor_open(txn, dbi, cur);

	if (rc) {
		*cur = NULL;
		return rc;
	}
	*key = (MDB_val){pos->key_len, (void *)pos->key};
	return pos->key_len ? mdb_cursor_get(*cur, key, val, MDB_SET_RANGE)
			    : mdb_cursor_get(*cur, key, val, MDB_FIRST);
}

/* The slice's budget is spent: the next slice resumes at k. */
static void slice_pause(struct purge_pos *pos, const uint8_t *k, size_t len, int *more)
{
	memcpy(pos->key, k, len);
	pos->key_len = len;
	*more = 1;
}

/* After a write at key k, on to the first key after it (the write may have
 * moved the cursor): next is MDB_NEXT, or MDB_NEXT_NODUP in a DUPSORT. */
static int slice_next_after(MDB_cursor *cur, const uint8_t *k, size_t len, MDB_val *key,
			    MDB_val *val, MDB_cursor_op next)
{
	int rc;

	*key = (MDB_val){len, (void *)k};
	rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
	if (rc == 0 && key->mv_size == len && memcmp(key->mv_data, k, len) == 0)
		rc = mdb_cursor_get(cur, key, val, next);
	return rc;
}

/* A day's index keys are kept whole, cut entry by entry, or deleted
 * whole. */
enum day_fate { DAY_KEPT, DAY_CUT, DAY_GONE };

static int outside(const struct purge_pos *pos, int64_t t)
{
	return t < pos->horizon || t > pos->limit;
}

/* Day 0 also holds the clamped times before 1970, and the last day the
 * clamped times after 2106, so neither is judged by its span alone. */
static enum day_fate day_fate(const struct purge_pos *pos, uint32_t day)
{
	const uint32_t hday = day_of(pos->horizon), lday = day_of(pos->limit);

	if (day < hday || day > lday)
		return DAY_GONE;
	if (day == lday)
		return DAY_CUT;
	if (day == hday && !(hday > 0 && pos->horizon <= day_start(hday)))
		return DAY_CUT;
	return DAY_KEPT;
}

/* From a kept day, on to the first key of the limit's day (kept days lie
 * before it): the days between are skipped with one seek. */
static int skip_kept_days(MDB_cursor *cur, const struct purge_pos *pos, MDB_val *key,
			  MDB_val *val, uint8_t kbuf[IDX_KEY_LEN])
{
	idx_key(kbuf, day_of(pos->limit), 0);
	*key = (MDB_val){IDX_KEY_LEN, kbuf};
	return mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
}

/* Delete the entry under the cursor of by_venue (its visit noted in
 * dead), then put the cursor back on key k (MDB_NOTFOUND: k is gone with
 * its last entry). */
static int purge_venue_entry(struct dead_vids *dead, MDB_cursor *cur, uint64_t vid, uint8_t *k,
			     MDB_val *key, MDB_val *val)
{
	int rc = dead_add(dead, vid);

	if (!rc)
		rc = mdb_cursor_del(cur, 0);
	if (rc)
		return rc;
	*key = (MDB_val){IDX_KEY_LEN, k};
	return mdb_cursor_get(cur, key, val, MDB_SET);
}

/* Phase 1: one slice over by_venue, deleting each entry's visit too.
 * After a delete the cursor is sought again from a copy of the key. */
static int purge_venue_index(struct cl_store *s, MDB_txn *txn, struct purge_pos *pos,
			     size_t max, uint64_t *deleted, int *more)
{
	uint8_t kcopy[IDX_KEY_LEN], kseek[IDX_KEY_LEN];
	struct dead_vids dead = {NULL, 0, 0};
	MDB_cursor *cur;
	MDB_val key, val;
	size_t ops = 0;
	int rc = slice_start(txn, s->by_venue, pos, &cur, &key, &val);

	if (!cur)
		return rc;
	while (rc == 0) {
		enum day_fate fate;
		uint32_t id;
		struct cl_visit v;

		if (key.mv_size != IDX_KEY_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(kcopy, key.mv_data, IDX_KEY_LEN);
		id = as_get_be32(kcopy + 4);
		fate = day_fate(pos, as_get_be32(kcopy));
		if (fate == DAY_KEPT) {
			rc = skip_kept_days(cur, pos, &key, &val, kseek);
			continue;
		}
		if (ops >= max) {
			slice_pause(pos, kcopy, IDX_KEY_LEN, more);
			break;
		}
		if (fate == DAY_GONE) {
			/* The whole key: its visits first, then every entry at once. */
			size_t count = 0;

			rc = mdb_cursor_count(cur, &count);
			if (!rc)
				rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST_DUP);
			while (rc == 0) {
				rc = idx_decode(&v, &val, id, 0);
				if (!rc)
					rc = dead_add(&dead, v.vid);
				if (!rc)
					rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT_DUP);
			}
			if (rc == MDB_NOTFOUND)
				rc = 0;
			if (!rc)
				rc = mdb_cursor_del(cur, MDB_NODUPDATA);
			*deleted += count;
			ops += count;
		} else {
			/* The horizon's or the limit's day: entries are in entry
			 * order, so those before the horizon lead and those after
			 * the limit trail. */
			rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST_DUP);
			while (rc == 0) {
				rc = idx_decode(&v, &val, id, 0);
				if (rc || v.entry >= pos->horizon)
					break;
				(*deleted)++;
				ops++;
				rc = purge_venue_entry(&dead, cur, v.vid, kcopy, &key, &val);
			}
			if (rc == 0)
				rc = mdb_cursor_get(cur, &key, &val, MDB_LAST_DUP);
			while (rc == 0) {
				rc = idx_decode(&v, &val, id, 0);
				if (rc || v.entry <= pos->limit)
					break;
				(*deleted)++;
				ops++;
				rc = purge_venue_entry(&dead, cur, v.vid, kcopy, &key, &val);
				if (rc == 0)
					rc = mdb_cursor_get(cur, &key, &val, MDB_LAST_DUP);
			}
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
		if (!rc)
			rc = slice_next_after(cur, kcopy, IDX_KEY_LEN, &key, &val, MDB_NEXT_NODUP);
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	/* A vid not stored: the indexes disagree (MDB_CORRUPTED). */
	if (!rc)
		rc = store_visits_delete(s, txn, dead.vids, dead.n);
	free(dead.vids);
	return rc;
}

/* Phase 2: one slice over by_pid: values of days outside the window go
 * whole; on the horizon's and the limit's day the entries outside it are
 * cut out. */
static int purge_pid_index(struct cl_store *s, MDB_txn *txn, struct purge_pos *pos, size_t max,
			   int *more)
{
	uint8_t kcopy[IDX_KEY_LEN], kseek[IDX_KEY_LEN];
	MDB_cursor *cur;
	MDB_val key, val;
	size_t ops = 0;
	int rc = slice_start(txn, s->by_pid, pos, &cur, &key, &val);

	if (!cur)
		return rc;
	while (rc == 0) {
		enum day_fate fate;
		size_t n, lo = 0, hi;

		if (key.mv_size != IDX_KEY_LEN || val.mv_size == 0 || val.mv_size % IDX_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(kcopy, key.mv_data, IDX_KEY_LEN);
		fate = day_fate(pos, as_get_be32(kcopy));
		if (fate == DAY_KEPT) {
			rc = skip_kept_days(cur, pos, &key, &val, kseek);
			continue;
		}
		if (ops >= max) {
			slice_pause(pos, kcopy, IDX_KEY_LEN, more);
			break;
		}
		n = hi = val.mv_size / IDX_LEN;
		if (fate == DAY_CUT) {
			/* Entries are in entry order: keep [lo, hi), those from the
			 * first at or after the horizon to the last at or before
			 * the limit. */
			const uint8_t *p = val.mv_data;

			while (lo < n && get_time(p + lo * IDX_LEN) < pos->horizon)
				lo++;
			while (hi > lo && get_time(p + (hi - 1) * IDX_LEN) > pos->limit)
				hi--;
		} else {
			lo = hi = 0;
		}
		ops += n - (hi - lo);
		if (hi - lo == n) {
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
			continue;
		}
		if (hi > lo) {
			size_t keep = hi - lo;
			uint8_t *rest = malloc(keep * IDX_LEN);

			if (!rest) {
				rc = ENOMEM;
				break;
			}
			memcpy(rest, (const uint8_t *)val.mv_data + lo * IDX_LEN, keep * IDX_LEN);
			key = (MDB_val){IDX_KEY_LEN, kcopy};
			val = (MDB_val){keep * IDX_LEN, rest};
			rc = mdb_cursor_put(cur, &key, &val, 0);
			free(rest);
		} else {
			rc = mdb_cursor_del(cur, 0);
		}
		if (!rc)
			rc = slice_next_after(cur, kcopy, IDX_KEY_LEN, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Phases 4 and 5: one slice over app or coverage.  judge() says whether
 * an entry (its key and value) stays (0), goes (1), or an error. */
static int purge_walk(struct cl_store *s, MDB_txn *txn, MDB_dbi dbi, size_t key_len,
		      int (*judge)(const struct purge_pos *pos, const MDB_val *key,
				   const MDB_val *val),
		      struct purge_pos *pos, size_t max, int *more)
{
	uint8_t kcopy[APP_KEY_LEN];
	MDB_cursor *cur;
	MDB_val key, val;
	size_t ops = 0;
	int rc = slice_start(txn, dbi, pos, &cur, &key, &val);

	if (!cur)
		return rc;
	while (rc == 0) {
		int gone;

		if (key.mv_size != key_len) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(kcopy, key.mv_data, key_len);
		if (ops >= max) {
			slice_pause(pos, kcopy, key_len, more);
			break;
		}
		ops++;
		gone = judge(pos, &key, &val);
		if (gone < 0) {
			rc = gone;
			break;
		}
		if (gone) {
			rc = mdb_cursor_del(cur, 0);
			if (!rc)
				rc = slice_next_after(cur, kcopy, key_len, &key, &val, MDB_NEXT);
		} else {
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Phase 3: one slice of people, in person-number order: the next max of
 * capsules' keys (the people), each looked for in by_pid under every day
 * stored (a key walk per day over the slice's range of numbers, merged
 * with the sorted slice); those with no key there lose their persons,
 * capsules and paper entries.  Everything is read in the slice's own
 * write transaction, so a visit ingested between slices is seen.
 */
static int purge_persons(struct cl_store *s, MDB_txn *txn, struct purge_pos *pos, size_t max,
			 int *more)
{
	MDB_cursor *cur, *idx = NULL;
	MDB_val key, val;
	uint32_t *people = NULL;
	uint8_t *seen = NULL;
	size_t n = 0, cap = 0;
	int rc = slice_start(txn, s->capsules, pos, &cur, &key, &val);

	if (!cur)
		return rc;
	for (; rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != 4) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (n == max) {
			slice_pause(pos, key.mv_data, 4, more);
			break;
		}
		if (n == cap) {
			size_t c = cap ? cap * 2 : 1024;
			uint32_t *p = realloc(people, c * sizeof *p);

			if (!p) {
				rc = ENOMEM;
				break;
			}
			people = p, cap = c;
		}
		people[n++] = as_get_be32(key.mv_data);
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (!rc && n && !(seen = calloc(n, 1)))
		rc = ENOMEM;
	if (!rc && n)
		rc = mdb_cursor_open(txn, s->by_pid, &idx);
	/* by_pid, day by day: the keys (day, people[0]) .. (day, people[n-1]). */
	for (uint64_t day = 0; !rc && n && day <= UINT32_MAX;) {
		uint8_t kbuf[IDX_KEY_LEN];
		size_t j = 0;

		idx_key(kbuf, (uint32_t)day, people[0]);
		key = (MDB_val){IDX_KEY_LEN, kbuf};
		rc = mdb_cursor_get(idx, &key, &val, MDB_SET_RANGE);
		while (rc == 0) {
			uint32_t d, person;

			if (key.mv_size != IDX_KEY_LEN) {
				rc = MDB_CORRUPTED;
				break;
			}
			d = as_get_be32(key.mv_data);
			person = as_get_be32((const uint8_t *)key.mv_data + 4);
			if (d != day || person > people[n - 1])
				break;
			while (j < n && people[j] < person)
				j++;
			if (j < n && people[j] == person)
				seen[j] = 1;
			rc = mdb_cursor_get(idx, &key, &val, MDB_NEXT);
		}
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break; /* no later day */
		}
		if (rc)
			break;
		/* On to the day of the key found, or the next one. */
		day = as_get_be32(key.mv_data) != day ? as_get_be32(key.mv_data) : day + 1;
	}
	if (idx)
		mdb_cursor_close(idx);
	for (size_t i = 0; i < n && !rc; i++) {
		uint8_t kbuf[4], pid[AS_PID_LEN];
		MDB_val k = {4, kbuf};

		if (seen[i])
			continue;
		as_put_be32(kbuf, people[i]);
		rc = store_person_get(txn, s->capsules, people[i], pid, NULL);
		if (!rc)
			rc = mdb_del(txn, s->capsules, &k, NULL);
		if (!rc) {
			k = (MDB_val){AS_PID_LEN, pid};
			rc = mdb_del(txn, s->persons, &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = MDB_CORRUPTED; /* capsules and persons disagree */
		}
		if (!rc) {
			k = (MDB_val){4, kbuf};
			rc = mdb_del(txn, s->paper, &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
	}
	free(people);
	free(seen);
	return rc;
}

/* An app entry goes with its check-in's entry time. */
static int judge_app(const struct purge_pos *pos, const MDB_val *key, const MDB_val *val)
{
	(void)key;
	if (val->mv_size != APP_ID_VALUE_LEN && val->mv_size != APP_REPLAY_VALUE_LEN)
		return MDB_CORRUPTED;
	return outside(pos, get_time((const uint8_t *)val->mv_data + val->mv_size - 8));
}

/* A coverage period goes when it lies wholly outside the window. */
static int judge_period(const struct purge_pos *pos, const MDB_val *key, const MDB_val *val)
{
	struct cl_period p;

	if (cl_period_decode(&p, get_time((const uint8_t *)key->mv_data + AS_GWID_LEN),
			     val->mv_data, val->mv_size))
		return MDB_CORRUPTED;
	return p.end < pos->horizon || p.start > pos->limit;
}

static int judge_token(const struct purge_pos *pos, const MDB_val *key, const MDB_val *val)
{
	return store_token_purge_judge(pos->horizon, key, val);
}

static int judge_token_contact(const struct purge_pos *pos, const MDB_val *key,
			       const MDB_val *val)
{
	return store_token_contact_purge_judge(pos->horizon, key, val);
}

static int judge_token_wait(const struct purge_pos *pos, const MDB_val *key, const MDB_val *val)
{
	return store_token_wait_purge_judge(pos->horizon, pos->limit, key, val);
}

static double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define PURGE_PEOPLE_SHARE 8

int cl_store_purge_outside(struct cl_store *s, int64_t horizon, int64_t limit, size_t max_per_txn,
			   uint64_t *deleted)
{
	if (s->pg)
		return cl_pg_purge_outside(s->pg, horizon, limit, deleted);
	struct purge_pos pos = {PURGE_VENUES, horizon, limit, {0}, 0};
	uint64_t total = 0;
	int rc = 0;

	if (max_per_txn == 0)
		max_per_txn = PURGE_DEFAULT_SLICE;
	/* Every slice but a phase's last makes max_per_txn deletions or steps,
	 * so the number of slices is bounded by the store's size. */
	while (pos.phase != PURGE_DONE) {
		double t0 = monotonic_seconds(), took;
		uint64_t n = 0;
		MDB_txn *txn;
		int more = 0;

		if (pos.phase >= PURGE_TOKENS && s->no_tokens)
			break;
		rc = store_write_begin(s, &txn);
		if (rc)
			break;
		switch (pos.phase) {
		case PURGE_VENUES:
			rc = purge_venue_index(s, txn, &pos, max_per_txn, &n, &more);
			break;
		case PURGE_PIDS:
			rc = purge_pid_index(s, txn, &pos, max_per_txn, &more);
			break;
		case PURGE_PERSONS:
			/* A person costs a key step per stored day: a people
			 * slice is an eighth of the others, so that it holds
			 * the writer no longer than they do. */
			rc = purge_persons(s, txn, &pos,
					   max_per_txn / PURGE_PEOPLE_SHARE ? max_per_txn / PURGE_PEOPLE_SHARE
									    : 1,
					   &more);
			break;
		case PURGE_APP:
			rc = purge_walk(s, txn, s->app, APP_KEY_LEN, judge_app, &pos, max_per_txn,
					&more);
			break;
		case PURGE_COVERAGE:
			rc = purge_walk(s, txn, s->coverage, COVERAGE_KEY_LEN, judge_period, &pos,
					max_per_txn, &more);
			break;
		case PURGE_TOKENS:
			rc = purge_walk(s, txn, s->tokens, 8, judge_token, &pos, max_per_txn, &more);
			break;
		case PURGE_TOKEN_CONTACTS:
			rc = purge_walk(s, txn, s->token_contacts, 8, judge_token_contact, &pos,
					max_per_txn, &more);
			break;
		default:
			rc = purge_walk(s, txn, s->token_wait, 9, judge_token_wait, &pos,
					max_per_txn, &more);
			break;
		}
		rc = store_write_end(s, txn, rc);
		if (rc)
			break;
		total += n;
		if (!more) {
			pos.phase++;
			pos.key_len = 0;
		}
		took = monotonic_seconds() - t0;
		if (pos.phase != PURGE_DONE && took > 0) {
			struct timespec pause = {(time_t)took,
						 (long)((took - (double)(time_t)took) * 1e9)};

			nanosleep(&pause, NULL);
		}
	}
	if (deleted)
		*deleted = total;
	return rc;
}

int cl_store_purge(struct cl_store *s, int64_t horizon, size_t max_per_txn, uint64_t *deleted)
{
	return cl_store_purge_outside(s, horizon, INT64_MAX, max_per_txn, deleted);
}

static int latest_seen_of(void *ctx, const struct cl_gateway *g)
{
	int64_t *latest = ctx;

	if (g->last_seen > *latest)
		*latest = g->last_seen;
	return 0;
}

int cl_store_purge_now(struct cl_store *s, int64_t now, int64_t retention, int64_t skew,
		       size_t max_per_txn, uint64_t *deleted, int64_t *clock_behind)
{
	int64_t latest = 0, limit = now + skew;
	int rc = cl_store_each_gateway(s, latest_seen_of, &latest);

	*clock_behind = 0;
	if (deleted)
		*deleted = 0;
	if (rc < 0)
		return rc;
	if (latest > limit) {
		*clock_behind = latest;
		limit = INT64_MAX;
	}
	return cl_store_purge_outside(s, now - retention, limit, max_per_txn, deleted);
}
