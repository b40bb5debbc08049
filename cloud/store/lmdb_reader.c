/*
 * lmdb_reader.c - the LMDB store's queries for tracing: readers (one
 * snapshot for many queries) over the covering indexes, and the
 * store-level queries.  Reads only.  Threads: a reader belongs to one
 * thread at a time; the store-level queries run on any thread.
 */
#include "lmdb_layout.h"
#include "lmdb_registry.h"
#include "pg_store.h"

#include <errno.h>
#include <stdlib.h>

struct cl_reader {
	struct cl_store *s;
	MDB_txn *txn;
	MDB_cursor *by_venue, *by_pid, *capsules;
	uint64_t capsules_at;   /* the capsules cursor's key (store_cursor_seek_near) */
	const uint8_t *skip_level;      /* cl_reader_skip_people */
	size_t skip_n;
	uint8_t skip_max;
};

/* ---- queries ------------------------------------------------------------------- */

/*
 * Visits at venue with entry in [from, to], in (entry, vid) order: one
 * by_venue key per day the range spans.  Each entry is checked against the
 * key it was found under.  pid is left zero.  The entries are fixed-size
 * duplicates, read a page at a time (MDB_GET_MULTIPLE, MDB_NEXT_MULTIPLE):
 * the first page starts before the first entry >= from, so earlier ones
 * are skipped.
 */
static int venue_scan(const struct cl_reader *r, uint32_t venue, int64_t from, int64_t to,
		      int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	MDB_cursor *cur = r->by_venue;
	int rc = 0, stop = 0;

	for (uint64_t day = day_of(from); day <= day_of(to) && !stop && !rc; day++) {
		uint8_t kbuf[IDX_KEY_LEN], start[IDX_LEN];
		MDB_val key = {IDX_KEY_LEN, kbuf}, val = {IDX_LEN, start};
		int past = 0;

		idx_key(kbuf, (uint32_t)day, venue);
		memset(start, 0, sizeof start);
		put_time(start, from);
		rc = mdb_cursor_get(cur, &key, &val, MDB_GET_BOTH_RANGE);
		if (!rc)
			rc = mdb_cursor_get(cur, &key, &val, MDB_GET_MULTIPLE);
		while (rc == 0 && !past && !stop) {
			const uint8_t *p = val.mv_data;

			if (val.mv_size == 0 || val.mv_size % IDX_LEN) {
				rc = MDB_CORRUPTED;
				break;
			}
			for (size_t i = 0; i < val.mv_size / IDX_LEN; i++) {
				MDB_val one = {IDX_LEN, (void *)(p + i * IDX_LEN)};
				struct cl_visit v;

				if (get_time(p + i * IDX_LEN) < from)
					continue;
				if (r->skip_n) {
					uint32_t person = as_get_be32(p + i * IDX_LEN + 14);

					if (person < r->skip_n && r->skip_level[person] &&
					    r->skip_level[person] <= r->skip_max &&
					    get_time(p + i * IDX_LEN) <= to)
						continue;
				}
				rc = idx_decode(&v, &one, venue, 0);
				if (!rc && day_of(v.entry) != day)
					rc = MDB_CORRUPTED;
				if (rc || v.entry > to) {
					past = 1;
					break;
				}
				stop = fn(ctx, &v);
				if (stop)
					break;
			}
			if (!past && !stop)
				rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT_MULTIPLE);
		}
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (stop)
		return stop < 0 ? stop : 0;
	return rc;
}

/*
 * The by_pid value val of (day, person): each entry with entry time in
 * [from, to] to fn, in (entry, vid) order; each is checked against the key
 * it was found under.  0, MDB_CORRUPTED, or fn's nonzero answer in *stop.
 */
static int pid_value_scan(const MDB_val *val, uint32_t day, uint32_t person, int64_t from,
			  int64_t to, int (*fn)(void *ctx, const struct cl_visit *v), void *ctx,
			  int *stop)
{
	const uint8_t *p = val->mv_data;
	size_t n;

	if (val->mv_size == 0 || val->mv_size % IDX_LEN)
		return MDB_CORRUPTED;
	n = val->mv_size / IDX_LEN;
	for (size_t i = 0; i < n && !*stop; i++) {
		MDB_val one = {IDX_LEN, (void *)(p + i * IDX_LEN)};
		struct cl_visit v;
		int rc = idx_decode(&v, &one, person, 1);

		if (!rc && day_of(v.entry) != day)
			rc = MDB_CORRUPTED;
		if (rc)
			return rc;
		if (v.entry < from)
			continue;
		if (v.entry > to)
			break;
		*stop = fn(ctx, &v);
	}
	return 0;
}

/* Visits of person with entry in [from, to], in (entry, vid) order: one
 * by_pid value per day the range spans. */
static int pid_scan(MDB_cursor *cur, uint32_t person, int64_t from, int64_t to,
		    int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	int rc = 0, stop = 0;

	for (uint64_t day = day_of(from); day <= day_of(to) && !stop && !rc; day++) {
		uint8_t kbuf[IDX_KEY_LEN];
		MDB_val key = {IDX_KEY_LEN, kbuf}, val;

		idx_key(kbuf, (uint32_t)day, person);
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			continue;
		}
		if (!rc)
			rc = pid_value_scan(&val, (uint32_t)day, person, from, to, fn, ctx, &stop);
	}
	if (stop)
		return stop < 0 ? stop : 0;
	return rc;
}

/*
 * Many people's visits, day by day: within a day the spans' keys are
 * visited in person order, as a merge of the sorted spans with the day's
 * keys (store_cursor_seek_near).  Spans over more than MANY_MAX_DAYS days
 * (hostile times) are read one person at a time instead.
 */
#define MANY_MAX_DAYS 1100

struct many_one {
	int (*fn)(void *ctx, size_t span, const struct cl_visit *v);
	void *ctx;
	size_t span;
};

static int many_one_visit(void *ctx, const struct cl_visit *v)
{
	const struct many_one *m = ctx;

	return m->fn(m->ctx, m->span, v);
}

static int many_scan(MDB_cursor *cur, const struct cl_reader_span *spans, size_t n,
		     int (*fn)(void *ctx, size_t span, const struct cl_visit *v), void *ctx)
{
	uint32_t dmin = UINT32_MAX, dmax = 0, (*days)[2];
	int rc = 0, stop = 0;

	/* Each span's first and last day, once (days[i][0] > days[i][1]: a
	 * span to pass over). */
	days = malloc((n ? n : 1) * sizeof *days);
	if (!days)
		return ENOMEM;
	for (size_t i = 0; i < n; i++) {
		days[i][0] = 1;
		days[i][1] = 0;
		if (i && spans[i].person < spans[i - 1].person) {
			free(days);
			return AS_E_FIELD;
		}
		if (spans[i].from > spans[i].to || spans[i].person == 0)
			continue;
		days[i][0] = day_of(spans[i].from);
		days[i][1] = day_of(spans[i].to);
		if (days[i][0] < dmin)
			dmin = days[i][0];
		if (days[i][1] > dmax)
			dmax = days[i][1];
	}
	if (dmin > dmax) {
		free(days);
		return 0;
	}
	if (dmax - dmin > MANY_MAX_DAYS) {
		free(days);
		for (size_t i = 0; i < n && !rc; i++) {
			struct many_one m = {fn, ctx, i};

			if (spans[i].from <= spans[i].to && spans[i].person != 0)
				rc = pid_scan(cur, spans[i].person, spans[i].from, spans[i].to,
					      many_one_visit, &m);
		}
		return rc;
	}
	for (uint64_t day = dmin; day <= dmax && !rc && !stop; day++) {
		const uint64_t first = day << 32, last = first | UINT32_MAX;
		uint64_t at = 0; /* the cursor's key as a number; 0: not placed */

		for (size_t i = 0; i < n && !rc && !stop; i++) {
			const struct cl_reader_span *sp = &spans[i];
			const uint64_t want = first | sp->person;
			uint8_t kbuf[IDX_KEY_LEN];
			MDB_val key = {IDX_KEY_LEN, kbuf}, val;

			if (days[i][0] > day || days[i][1] < day)
				continue;
			if (at > last)
				break; /* past the day's keys */
			if (at > want)
				continue; /* no key of this person that day */
			idx_key(kbuf, (uint32_t)day, sp->person);
			rc = store_cursor_seek_near(cur, kbuf, IDX_KEY_LEN, want, &at, &key, &val);
			if (rc == MDB_NOTFOUND)
				rc = 0;
			else if (!rc && at == want) {
				struct many_one m = {fn, ctx, i};

				rc = pid_value_scan(&val, (uint32_t)day, sp->person, sp->from, sp->to,
						    many_one_visit, &m, &stop);
			}
		}
	}
	free(days);
	if (stop)
		return stop < 0 ? stop : 0;
	return rc;
}

int cl_reader_begin(struct cl_store *s, struct cl_reader **out)
{
	if (s->pg) {
		*out = NULL;
		return cl_pg_not_served("a reader");
	}
	struct cl_reader *r = calloc(1, sizeof *r);
	int rc;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->s = s;
	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r->txn);
	if (!rc)
		rc = mdb_cursor_open(r->txn, s->by_venue, &r->by_venue);
	if (!rc)
		rc = mdb_cursor_open(r->txn, s->by_pid, &r->by_pid);
	if (!rc)
		rc = mdb_cursor_open(r->txn, s->capsules, &r->capsules);
	if (rc) {
		cl_reader_end(r);
		return store_error(rc);
	}
	*out = r;
	return 0;
}

int cl_reader_begin_twin(struct cl_reader *r, struct cl_reader **out)
{
	int rc = cl_reader_begin(r->s, out);

	if (!rc && mdb_txn_id((*out)->txn) != mdb_txn_id(r->txn)) {
		/* A commit came between the two: another snapshot. */
		cl_reader_end(*out);
		*out = NULL;
		rc = -EAGAIN;
	}
	return rc;
}

void cl_reader_end(struct cl_reader *r)
{
	if (!r)
		return;
	if (r->by_venue)
		mdb_cursor_close(r->by_venue);
	if (r->by_pid)
		mdb_cursor_close(r->by_pid);
	if (r->capsules)
		mdb_cursor_close(r->capsules);
	if (r->txn)
		mdb_txn_abort(r->txn);
	free(r);
}

int cl_reader_visits_at(struct cl_reader *r, uint32_t venue_id, int64_t from, int64_t to,
			int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	if (from > to)
		return 0;
	return store_error(venue_scan(r, venue_id, from, to, fn, ctx));
}

void cl_reader_skip_people(struct cl_reader *r, const uint8_t *level, size_t n, uint8_t max)
{
	r->skip_level = level;
	r->skip_n = level ? n : 0;
	r->skip_max = max;
}

int cl_reader_visits_of(struct cl_reader *r, uint32_t person, int64_t from, int64_t to,
			int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	if (from > to || person == 0)
		return 0;
	return store_error(pid_scan(r->by_pid, person, from, to, fn, ctx));
}

int cl_reader_visits_of_many(struct cl_reader *r, const struct cl_reader_span *spans, size_t n,
			     int (*fn)(void *ctx, size_t span, const struct cl_visit *v),
			     void *ctx)
{
	return store_error(many_scan(r->by_pid, spans, n, fn, ctx));
}

int cl_reader_person(struct cl_reader *r, const uint8_t pid[AS_PID_LEN], uint32_t *person)
{
	return store_error(store_person_of(r->txn, r->s->persons, pid, person));
}

int cl_reader_pid(struct cl_reader *r, uint32_t person, uint8_t pid[AS_PID_LEN])
{
	uint8_t kbuf[4];
	MDB_val key, val;
	int rc;

	/* Callers that ask in person-number order step the cursor. */
	as_put_be32(kbuf, person);
	rc = store_cursor_seek_near(r->capsules, kbuf, 4, person, &r->capsules_at, &key, &val);
	if (!rc && r->capsules_at != person)
		rc = MDB_NOTFOUND;
	if (!rc && val.mv_size != CAPSULE_VALUE_LEN)
		rc = MDB_CORRUPTED;
	if (!rc)
		memcpy(pid, val.mv_data, AS_PID_LEN);
	return store_error(rc);
}

int cl_reader_venue(struct cl_reader *r, uint32_t venue_id, struct cl_venue *out)
{
	uint8_t kbuf[4];
	MDB_val key = {4, kbuf}, val;
	int rc;

	as_put_be32(kbuf, venue_id);
	rc = mdb_get(r->txn, r->s->venues, &key, &val);
	if (!rc)
		rc = store_venue_decode(out, venue_id, &val);
	return store_error(rc);
}

int cl_reader_person_limit(struct cl_reader *r, uint32_t *limit)
{
	uint64_t next = 0;
	MDB_val key, val;
	int rc = as_lmdb_meta_get_u64(r->txn, r->s->meta, "next_person", &next);

	/* meta may lag the capsules written in the same commit: the last
	 * capsule's number counts too. */
	if (!rc) {
		rc = mdb_cursor_get(r->capsules, &key, &val, MDB_LAST);
		r->capsules_at = 0; /* cl_reader_pid: seek next time */
		if (rc == 0 && key.mv_size == 4 && (uint64_t)as_get_be32(key.mv_data) + 1 > next)
			next = (uint64_t)as_get_be32(key.mv_data) + 1;
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	*limit = next > UINT32_MAX ? UINT32_MAX : (uint32_t)(next ? next : 1);
	return store_error(rc);
}

/* The store-level queries: each its own reader, pids filled in. */
struct fill_pid_arg {
	struct cl_reader *r;
	const uint8_t *pid;       /* known for every visit, or NULL */
	int (*fn)(void *ctx, const struct cl_visit *v);
	void *ctx;
};

static int fill_pid(void *arg, const struct cl_visit *v)
{
	struct fill_pid_arg *a = arg;
	struct cl_visit copy = *v;

	if (a->pid) {
		memcpy(copy.pid, a->pid, AS_PID_LEN);
	} else if (copy.person) {
		int rc = cl_reader_pid(a->r, copy.person, copy.pid);

		if (rc)
			return rc == AS_E_NOT_FOUND ? AS_E_CORRUPT : rc;
	}
	return a->fn(a->ctx, &copy);
}

int cl_store_visits_at(struct cl_store *s, uint32_t venue_id, int64_t from, int64_t to,
		       int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	if (s->pg)
		return cl_pg_not_served("visits at a venue");
	struct fill_pid_arg a = {NULL, NULL, fn, ctx};
	int rc;

	if (from > to)
		return 0;
	rc = cl_reader_begin(s, &a.r);
	if (rc)
		return rc;
	rc = cl_reader_visits_at(a.r, venue_id, from, to, fill_pid, &a);
	cl_reader_end(a.r);
	return rc;
}

int cl_store_visits_of(struct cl_store *s, const uint8_t pid[AS_PID_LEN], int64_t from,
		       int64_t to, int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	if (s->pg)
		return cl_pg_not_served("visits of a person");
	struct fill_pid_arg a = {NULL, pid, fn, ctx};
	uint32_t person;
	int rc;

	if (from > to || pid_is_zero(pid))
		return 0;
	rc = cl_reader_begin(s, &a.r);
	if (rc)
		return rc;
	rc = cl_reader_person(a.r, pid, &person);
	if (rc == 0)
		rc = cl_reader_visits_of(a.r, person, from, to, fill_pid, &a);
	else if (rc == AS_E_NOT_FOUND)
		rc = 0;
	cl_reader_end(a.r);
	return rc;
}

int cl_store_capsule(struct cl_store *s, const uint8_t pid[AS_PID_LEN],
		     uint8_t capsule[AS_CAPSULE_LEN])
{
	if (s->pg)
		return cl_pg_not_served("a capsule");
	uint8_t stored_pid[AS_PID_LEN];
	uint32_t person;
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);

	if (rc)
		return rc;
	rc = store_person_of(txn, s->persons, pid, &person);
	if (!rc)
		rc = store_person_get(txn, s->capsules, person, stored_pid, capsule);
	if (!rc && memcmp(stored_pid, pid, AS_PID_LEN) != 0)
		rc = MDB_CORRUPTED;
	if (!rc) {
		/* A paper entry's capsule, if it came last. */
		uint8_t kbuf[4];
		MDB_val key = {4, kbuf}, val;

		as_put_be32(kbuf, person);
		rc = mdb_get(txn, s->paper, &key, &val);
		if (rc == 0 && val.mv_size != PAPER_VALUE_LEN)
			rc = MDB_CORRUPTED;
		if (rc == 0)
			memcpy(capsule, (const uint8_t *)val.mv_data + FP_LEN, AS_CAPSULE_LEN);
		else if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	mdb_txn_abort(txn);
	return store_error(rc);
}
