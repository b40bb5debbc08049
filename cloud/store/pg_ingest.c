/*
 * pg_ingest.c - ingest into the PostgreSQL store (see pg_store.h): one
 * PostgreSQL transaction per ingest transaction, durable when the commit
 * returns, so the ack that follows it never covers a row the store could
 * lose.
 *
 * A batch locks its gateway's row (SELECT ... FOR UPDATE) and reads
 * through_seq under the lock: ingest nodes take one gateway's batches one
 * after the other, and a batch past through_seq + 1 is a gap, refused
 * whole, as in the LMDB store.  through_seq, the gateway's counts and its
 * chain are updated in the same transaction as its rows.  New visits are
 * queued and written at the commit by multi-row INSERT ... ON CONFLICT DO
 * NOTHING (UNIQUE (gateway, seq, day, fork): a row already there is not
 * written twice), and each person's latest capsule by one upsert per commit, in
 * pid order (two nodes updating the same people lock them in one order).
 * The day partitions the rows need are made before the transaction begins
 * (pg_partitions_make); a row of another day waits in visits_default.
 *
 * The journal chain is judged as the LMDB store judges it (pg_judge,
 * after lmdb_chains.c): a batch that continues the chain the store follows
 * (or starts it, or is a resend of what it took) is taken with its
 * in-batch breaks recorded as chain events; a batch that leaves the chain
 * (a journal made anew, a restored copy that went on scanning, records
 * removed) is reconciled by content: a record whose content the store
 * holds (visit_held: the same entry, exit, person, kind, headcount and
 * digest) is the same visit, counted reconciled; the others are new
 * visits.  One stored under a seq the gateway's through_seq had passed
 * sits beside the visit already there: it carries the gateway's fork
 * number (005_journal_forks.sql; raised by each batch that starts a new
 * branch, so two branches never share (gateway, seq, day, fork)) and a
 * late number, by which index nodes copy it (pg_tail.c).  The last
 * batches' end links are kept as a ring (chain_points), where a restored
 * copy's branch point is found.
 *
 * Records the caller refused (cl_store_ingest_refuse: made while their
 * venue's category was not collecting) are taken as the LMDB store takes
 * them: through_seq passes them, nothing is stored, res->refused counts
 * them.
 *
 * Visit tokens (schema 003): a token record's token id reads as (issue
 * serial, index), as in lmdb_tokens.c; token_issues keeps one row per
 * issue with a used bit per token, token_wait the records whose issue has
 * not been announced.  Every reader and writer of one serial's rows first
 * takes the transaction-scoped advisory lock TOKEN_LOCK_BASE + serial, so
 * two ingest nodes never both take a token's first use (the second waits
 * for the first's commit and then sees its bit), and a record never
 * starts waiting for an issue another node is announcing meanwhile.  A
 * visit stored after its gateway's through_seq passed it (a waiting record
 * resolved) is numbered in visits.late, under the lock of the counter row
 * 'late_visits' until the commit, so index nodes can copy it by a cursor
 * (pg_tail.c).  Two transactions taking the locks of two serials in
 * opposite orders deadlock: PostgreSQL ends one, which is not
 * acknowledged and is sent again.
 *
 * Threads: an ingest transaction belongs to the thread that began it.
 */
#include "lmdb_chains.h"
#include "lmdb_ingest.h"
#include "pg_conn.h"

#include "anshim/token.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PG_ROWS_PER_INSERT 500
#define PG_DIGEST_LEN 8
#define PG_PARTS_AHEAD 3
/* Advisory lock keys of token serials (1..2^56 - 1): above the store's
 * other advisory locks (pg_conn.c, pg_store.c). */
#define TOKEN_LOCK_BASE (INT64_C(1) << 60)

/* A visit queued for the commit. */
struct pg_row {
	int64_t day, entry, exit;
	uint64_t seq;                 /* 0: an app check-in */
	uint32_t venue;
	uint16_t headcount;
	uint8_t kind, flags;
	uint8_t gw_id[AS_GWID_LEN];
	uint8_t checkin_id[CL_APP_ID_LEN];
	uint8_t pid[AS_PID_LEN];
	uint8_t digest[PG_DIGEST_LEN];
	int has_digest;
	int late;                     /* stored after through_seq passed it */
	int32_t fork;                 /* 0, or the branch of a fork (005) */
	int no_capsule;               /* leave the person's capsule as it is */
	uint8_t capsule[AS_CAPSULE_LEN];
};

struct cl_pg_ingest {
	struct cl_pg *pg;
	PGconn *c;
	int failed;                   /* a statement failed: only abort remains */
	struct pg_row *rows;
	size_t n, cap;
	uint64_t batches;
	uint64_t replayed;            /* token records refused as replays */
};

static const uint8_t zero_pid[AS_PID_LEN];

/* A statement of the transaction; a failure fails the transaction. */
static int ingest_run(struct cl_pg_ingest *in, const char *what, const char *sql,
		      struct pg_params *p, PGresult **res)
{
	int rc = pg_run(in->c, what, sql, p, res);

	if (rc)
		in->failed = rc;
	return rc;
}

int cl_pg_ingest_begin(struct cl_pg *pg, struct cl_pg_ingest **out)
{
	struct cl_pg_ingest *in;
	int64_t today = pg_day_of((int64_t)time(NULL));
	int rc;

	*out = NULL;
	if (pg->readonly)
		return -EACCES;
	store_clear_error();
	rc = pg_partitions_make(pg, today, today + PG_PARTS_AHEAD);
	if (rc)
		return rc;
	in = calloc(1, sizeof *in);
	if (!in)
		return -ENOMEM;
	in->pg = pg;
	rc = pg_conn_take(pg, &in->c);
	if (!rc)
		rc = pg_run(in->c, "beginning a transaction", "BEGIN", NULL, NULL);
	if (rc) {
		pg_conn_give(pg, in->c);
		free(in);
		return rc;
	}
	*out = in;
	return 0;
}

static int queue_row(struct cl_pg_ingest *in, const struct pg_row *row)
{
	if (in->n == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 256;
		struct pg_row *r = realloc(in->rows, cap * sizeof *r);

		if (!r) {
			in->failed = -ENOMEM;
			return -ENOMEM;
		}
		in->rows = r;
		in->cap = cap;
	}
	in->rows[in->n++] = *row;
	return 0;
}

/* ---- writing the queue ---- */

static int insert_rows(struct cl_pg_ingest *in, size_t from, size_t to, int64_t *late)
{
	char *sql;
	size_t len = 0, cap = 256 + (to - from) * 200;
	struct pg_params p;
	int rc;

	sql = malloc(cap);
	if (!sql)
		return -ENOMEM;
	len += (size_t)snprintf(sql, cap, "INSERT INTO visits (day, gateway, seq, checkin_id, "
				"venue_id, pid, entry, exit, headcount, kind, flags, digest, late, fork) "
				"VALUES ");
	pgp_init(&p);
	for (size_t i = from; i < to; i++) {
		const struct pg_row *r = &in->rows[i];
		size_t b = (i - from) * 14;

		len += (size_t)snprintf(sql + len, cap - len,
					"%s($%zu,$%zu,$%zu,$%zu,$%zu,$%zu,$%zu,$%zu,$%zu,$%zu,$%zu,$%zu,"
					"$%zu,$%zu)",
					i > from ? "," : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6,
					b + 7, b + 8, b + 9, b + 10, b + 11, b + 12, b + 13, b + 14);
		pgp_i32(&p, (int32_t)r->day);
		pgp_bytes_or_null(&p, r->seq ? r->gw_id : NULL, AS_GWID_LEN);
		if (r->seq)
			pgp_i64(&p, (int64_t)r->seq);
		else
			pgp_null_i64(&p);
		pgp_bytes_or_null(&p, r->seq ? NULL : r->checkin_id, CL_APP_ID_LEN);
		pgp_i32(&p, (int32_t)r->venue);
		pgp_bytes(&p, r->pid, AS_PID_LEN);
		pgp_i64(&p, r->entry);
		pgp_i64(&p, r->exit);
		pgp_i16(&p, (int16_t)r->headcount);
		pgp_i16(&p, r->kind);
		pgp_i16(&p, r->flags);
		pgp_bytes_or_null(&p, r->has_digest ? r->digest : NULL, PG_DIGEST_LEN);
		if (r->late)
			pgp_i64(&p, (*late)++);
		else
			pgp_null_i64(&p);
		pgp_i32(&p, r->fork);
	}
	snprintf(sql + len, cap - len, " ON CONFLICT DO NOTHING");
	rc = ingest_run(in, "writing visits", sql, &p, NULL);
	pgp_free(&p);
	free(sql);
	return rc;
}

/* Queue positions sorted by pid, the latest last within a pid. */
static int by_pid_then_order(const void *a, const void *b)
{
	const struct pg_row *const *x = a, *const *y = b;
	int c = memcmp((*x)->pid, (*y)->pid, AS_PID_LEN);

	if (c)
		return c;
	return *x < *y ? -1 : *x > *y;
}

/* Each person's latest capsule of the queue, in pid order: a paper entry's
 * (kind MANUAL) is kept apart in paper when it differs from the person's
 * capsule; any other replaces the capsule and clears paper. */
static int upsert_capsules(struct cl_pg_ingest *in)
{
	static const char *const sql[2] = {
		"INSERT INTO capsules (pid, capsule) SELECT * FROM unnest($1::bytea[], "
		"$2::bytea[]) ON CONFLICT (pid) DO UPDATE SET capsule = EXCLUDED.capsule, "
		"paper = NULL WHERE capsules.capsule <> EXCLUDED.capsule OR "
		"capsules.paper IS NOT NULL",
		"INSERT INTO capsules (pid, capsule) SELECT * FROM unnest($1::bytea[], "
		"$2::bytea[]) ON CONFLICT (pid) DO UPDATE SET paper = CASE WHEN "
		"capsules.capsule = EXCLUDED.capsule THEN NULL ELSE EXCLUDED.capsule END",
	};
	const struct pg_row **order;
	size_t n = 0;
	int rc = 0;

	order = malloc((in->n ? in->n : 1) * sizeof *order);
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < in->n; i++)
		if (memcmp(in->rows[i].pid, zero_pid, AS_PID_LEN) != 0 && !in->rows[i].no_capsule)
			order[n++] = &in->rows[i];
	qsort(order, n, sizeof *order, by_pid_then_order);
	for (int paper = 0; paper < 2 && !rc; paper++) {
		/* Two arrays (bytea[] in binary is awkward to build): sent as
		 * text arrays of hex, '\x...'. */
		size_t count = 0, plen = 0, clen = 0;
		char *pids = malloc(n * (AS_PID_LEN * 2 + 8) + 3);
		char *caps = malloc(n * (AS_CAPSULE_LEN * 2 + 8) + 3);

		if (!pids || !caps) {
			free(pids);
			free(caps);
			rc = -ENOMEM;
			break;
		}
		pids[plen++] = '{';
		caps[clen++] = '{';
		for (size_t k = 0; k < n; k++) {
			const struct pg_row *r = order[k];

			if (k + 1 < n && memcmp(order[k + 1]->pid, r->pid, AS_PID_LEN) == 0)
				continue; /* a later visit of the same person */
			if ((r->kind == AS_REC_MANUAL) != paper)
				continue;
			if (count++) {
				pids[plen++] = ',';
				caps[clen++] = ',';
			}
			memcpy(pids + plen, "\"\\\\x", 4);
			plen += 4;
			sodium_bin2hex(pids + plen, AS_PID_LEN * 2 + 1, r->pid, AS_PID_LEN);
			plen += AS_PID_LEN * 2;
			pids[plen++] = '"';
			memcpy(caps + clen, "\"\\\\x", 4);
			clen += 4;
			sodium_bin2hex(caps + clen, AS_CAPSULE_LEN * 2 + 1, r->capsule,
				       AS_CAPSULE_LEN);
			clen += AS_CAPSULE_LEN * 2;
			caps[clen++] = '"';
		}
		pids[plen++] = '}';
		caps[clen++] = '}';
		pids[plen] = caps[clen] = '\0';
		if (count) {
			const char *vals[2] = {pids, caps};
			PGresult *r = PQexecParams(in->c, sql[paper], 2, NULL, vals, NULL, NULL, 1);

			if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
				pg_note("PostgreSQL, writing capsules",
					r ? PQresultErrorMessage(r) : PQerrorMessage(in->c));
				rc = in->failed = AS_E_STORE;
			}
			PQclear(r);
		}
		free(pids);
		free(caps);
	}
	free(order);
	return rc;
}

/* Number the queue's late visits: *first gets the first of their numbers
 * (the counter row stays locked until the commit). */
static int number_late(struct cl_pg_ingest *in, int64_t *first)
{
	struct pg_params p;
	PGresult *r;
	int64_t k = 0;
	int rc;

	*first = 0;
	for (size_t i = 0; i < in->n; i++)
		k += in->rows[i].late != 0;
	if (!k)
		return 0;
	pgp_init(&p);
	pgp_i64(&p, k);
	rc = ingest_run(in, "numbering late visits",
			"UPDATE counters SET value = value + $1 WHERE name = 'late_visits' "
			"RETURNING value", &p, &r);
	pgp_free(&p);
	if (!rc && PQntuples(r) != 1)
		rc = in->failed = AS_E_CORRUPT; /* a schema without the counter */
	if (!rc)
		*first = pg_int(r, 0, 0) - k + 1;
	PQclear(r);
	return rc;
}

/* Write the queue: visits, then capsules. */
static int flush(struct cl_pg_ingest *in)
{
	int64_t late = 0;
	int rc = number_late(in, &late);

	for (size_t i = 0; i < in->n && !rc; i += PG_ROWS_PER_INSERT)
		rc = insert_rows(in, i, i + PG_ROWS_PER_INSERT < in->n ? i + PG_ROWS_PER_INSERT
								    : in->n, &late);
	if (!rc)
		rc = upsert_capsules(in);
	if (!rc)
		in->n = 0;
	return rc;
}

static int raise_longest(struct cl_pg_ingest *in, uint32_t venue, int64_t span)
{
	struct pg_params p;
	int rc;

	if (span <= 0)
		return 0;
	pgp_init(&p);
	pgp_i32(&p, (int32_t)venue);
	pgp_i64(&p, span > UINT32_MAX - 1 ? (int64_t)UINT32_MAX - 1 : span);
	rc = ingest_run(in, "raising the venue's longest visit",
			"UPDATE venues SET longest_visit = $2 WHERE id = $1 AND longest_visit < $2",
			&p, NULL);
	pgp_free(&p);
	return rc;
}

/* ---- visit tokens ---- */

enum pg_token_outcome { TOKEN_USE = 1, TOKEN_WAIT, TOKEN_REPLAY, TOKEN_HELD };

/* Take serial's lock (see the top of this file). */
static int token_lock(struct cl_pg_ingest *in, uint64_t serial)
{
	struct pg_params p;
	int rc;

	pgp_init(&p);
	pgp_i64(&p, TOKEN_LOCK_BASE + (int64_t)serial);
	rc = ingest_run(in, "locking a token issue", "SELECT pg_advisory_xact_lock($1)", &p, NULL);
	pgp_free(&p);
	return rc;
}

static int visit_held(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN], uint32_t venue,
		      const struct as_record *rec, const uint8_t pid[AS_PID_LEN],
		      const uint8_t digest[PG_DIGEST_LEN], uint64_t only_seq, size_t batch_first,
		      int *held, uint64_t *held_seq);

/* A token record rec of gateway gw_id at venue, past through_seq: see
 * lmdb_tokens.c's store_token_take.  On TOKEN_USE, row gets its pid and
 * (on the issue's first use) its contact capsule. */
static int token_take(struct cl_pg_ingest *in, const uint8_t key[AS_TOKEN_ID_KEY_LEN],
		      const uint8_t gw_id[AS_GWID_LEN], uint32_t venue,
		      const struct as_record *rec, const uint8_t digest[PG_DIGEST_LEN],
		      int reconcile, size_t batch_first, struct pg_row *row, int *outcome)
{
	struct pg_params p;
	PGresult *r = NULL;
	uint64_t serial, used;
	uint8_t index;
	int rc;

	*outcome = 0;
	as_token_id_open(&serial, &index, rec->pid, key);
	rc = token_lock(in, serial);
	if (rc)
		return rc;
	pgp_init(&p);
	pgp_i64(&p, (int64_t)serial);
	pgp_i16(&p, index);
	rc = ingest_run(in, "reading token_wait",
			"SELECT gateway, seq FROM token_wait WHERE serial = $1 AND idx = $2", &p, &r);
	if (!rc && PQntuples(r) == 1) {
		uint8_t gw[AS_GWID_LEN];

		/* Held: this very record, or, in a batch that left the chain,
		 * this gateway's record of it under another seq. */
		*outcome = pg_bytes(r, 0, 0, gw, AS_GWID_LEN) == 0 &&
					   memcmp(gw, gw_id, AS_GWID_LEN) == 0 &&
					   ((uint64_t)pg_int(r, 0, 1) == rec->seq || reconcile)
				   ? TOKEN_HELD
				   : TOKEN_REPLAY;
		PQclear(r);
		pgp_free(&p);
		return 0;
	}
	PQclear(r);
	r = NULL;
	pgp_reset(&p);
	pgp_i64(&p, (int64_t)serial);
	if (!rc)
		rc = ingest_run(in, "reading token_issues",
				"SELECT pid, count, used, contact FROM token_issues WHERE serial = $1 "
				"FOR UPDATE", &p, &r);
	if (rc) {
		pgp_free(&p);
		return rc;
	}
	if (PQntuples(r) == 1) {
		int count = (int)pg_int(r, 0, 1);

		used = (uint64_t)pg_int(r, 0, 2);
		if (index >= count || index >= 64) {
			*outcome = TOKEN_REPLAY; /* a token its issue never had */
		} else if (used >> index & 1) {
			/* Used before: a replay, unless the batch left the chain
			 * and this gateway's stored visit has the record's
			 * content (the same visit). */
			uint8_t pid[AS_PID_LEN];
			uint64_t held_seq;
			int held = 0;

			if (reconcile && pg_bytes(r, 0, 0, pid, AS_PID_LEN))
				rc = in->failed = AS_E_CORRUPT;
			else if (reconcile)
				rc = visit_held(in, gw_id, venue, rec, pid, digest, 0, batch_first,
						&held, &held_seq);
			*outcome = held ? TOKEN_HELD : TOKEN_REPLAY;
		} else if (pg_bytes(r, 0, 0, row->pid, AS_PID_LEN)) {
			rc = in->failed = AS_E_CORRUPT;
		} else {
			row->no_capsule = 1;
			if (!PQgetisnull(r, 0, 3)) {
				if (pg_bytes(r, 0, 3, row->capsule, AS_CAPSULE_LEN))
					rc = in->failed = AS_E_CORRUPT;
				row->no_capsule = 0;
			}
			pgp_i64(&p, (int64_t)(used | UINT64_C(1) << index));
			if (!rc)
				rc = ingest_run(in, "marking a token used",
						"UPDATE token_issues SET used = $2, contact = NULL "
						"WHERE serial = $1", &p, NULL);
			*outcome = TOKEN_USE;
		}
		PQclear(r);
		pgp_free(&p);
		return rc;
	}
	PQclear(r);
	/* Not announced yet: the record waits for its issue. */
	pgp_i16(&p, index);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	pgp_i64(&p, (int64_t)rec->seq);
	pgp_i32(&p, (int32_t)venue);
	pgp_i64(&p, rec->entry_time);
	pgp_i64(&p, rec->exit_time);
	pgp_i16(&p, (int16_t)rec->headcount);
	pgp_i16(&p, rec->flags);
	pgp_bytes(&p, digest, PG_DIGEST_LEN);
	pgp_i64(&p, rec->credential_expires);
	pgp_i32(&p, row->fork);
	rc = ingest_run(in, "keeping a token record waiting",
			"INSERT INTO token_wait VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
			"$12)", &p, NULL);
	pgp_free(&p);
	*outcome = TOKEN_WAIT;
	return rc;
}

/* Store the records waiting for issue t (just announced, locked) as its
 * visits; a record of a token the issue never had is a replay. */
static int token_resolve(struct cl_pg_ingest *in, const struct cl_token_issue *t,
			 uint32_t *resolved)
{
	struct pg_params p;
	PGresult *r;
	uint64_t used = 0;
	int rc, contact_used = 0;

	pgp_init(&p);
	pgp_i64(&p, (int64_t)t->serial);
	rc = ingest_run(in, "resolving token_wait",
			"WITH d AS (DELETE FROM token_wait WHERE serial = $1 RETURNING idx, "
			"gateway, seq, venue_id, entry, exit, headcount, flags, digest, fork) "
			"SELECT * FROM d ORDER BY idx", &p, &r);
	pgp_free(&p);
	for (int i = 0; !rc && i < PQntuples(r); i++) {
		struct pg_row row;
		int index = (int)pg_int(r, i, 0);

		if (index >= t->count || index >= 64) {
			in->replayed++;
			continue;
		}
		memset(&row, 0, sizeof row);
		if (pg_bytes(r, i, 1, row.gw_id, AS_GWID_LEN) ||
		    pg_bytes(r, i, 8, row.digest, PG_DIGEST_LEN)) {
			rc = in->failed = AS_E_CORRUPT;
			break;
		}
		row.seq = (uint64_t)pg_int(r, i, 2);
		row.venue = (uint32_t)pg_int(r, i, 3);
		row.entry = pg_int(r, i, 4);
		row.exit = pg_int(r, i, 5);
		row.headcount = (uint16_t)pg_int(r, i, 6);
		row.flags = (uint8_t)pg_int(r, i, 7);
		row.day = pg_day_of(row.entry);
		row.kind = AS_REC_TOKEN;
		row.has_digest = 1;
		row.late = 1;
		row.fork = (int32_t)pg_int(r, i, 9);
		memcpy(row.pid, t->pid, AS_PID_LEN);
		row.no_capsule = !t->contact || contact_used;
		if (t->contact && !contact_used)
			memcpy(row.capsule, t->contact, AS_CAPSULE_LEN);
		contact_used = contact_used || t->contact;
		used |= UINT64_C(1) << index;
		rc = queue_row(in, &row);
		if (!rc && row.exit > row.entry)
			rc = raise_longest(in, row.venue, row.exit - row.entry);
		pgp_init(&p);
		pgp_bytes(&p, row.gw_id, AS_GWID_LEN);
		if (!rc)
			rc = ingest_run(in, "counting a gateway's records",
					"UPDATE gateways SET records = records + 1 WHERE gw_id = $1",
					&p, NULL);
		pgp_free(&p);
		if (!rc)
			(*resolved)++;
	}
	PQclear(r);
	if (!rc && used) {
		pgp_init(&p);
		pgp_i64(&p, (int64_t)t->serial);
		pgp_i64(&p, (int64_t)used);
		rc = ingest_run(in, "marking tokens used",
				"UPDATE token_issues SET used = $2, contact = NULL WHERE serial = $1",
				&p, NULL);
		pgp_free(&p);
	}
	return rc;
}

static int by_serial(const void *a, const void *b)
{
	const struct cl_token_issue *const *x = a, *const *y = b;

	return (*x)->serial < (*y)->serial ? -1 : (*x)->serial > (*y)->serial;
}

int cl_pg_ingest_token_issues(struct cl_pg_ingest *in, const struct cl_token_issue *t, size_t n,
			      struct cl_tokens_result *res)
{
	const struct cl_token_issue **order;
	int rc = 0;

	memset(res, 0, sizeof *res);
	if (in->failed)
		return in->failed;
	for (size_t i = 0; i < n; i++)
		if (t[i].serial == 0 || t[i].serial > AS_TOKEN_SERIAL_MAX || t[i].count == 0 ||
		    t[i].count > 64 || t[i].expires_at < 1 || t[i].expires_at > UINT32_MAX)
			return AS_E_FIELD;
	/* Locked in serial order: two feeds' batches never deadlock. */
	order = malloc((n ? n : 1) * sizeof *order);
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		order[i] = &t[i];
	qsort(order, n, sizeof *order, by_serial);
	for (size_t i = 0; i < n && !rc; i++) {
		const struct cl_token_issue *is = order[i];
		struct pg_params p;
		PGresult *r = NULL;

		rc = token_lock(in, is->serial);
		pgp_init(&p);
		pgp_i64(&p, (int64_t)is->serial);
		pgp_i64(&p, is->expires_at);
		pgp_bytes(&p, is->pid, AS_PID_LEN);
		pgp_i16(&p, is->count);
		pgp_bytes_or_null(&p, is->contact, AS_CAPSULE_LEN);
		if (!rc)
			rc = ingest_run(in, "adding a token issue",
					"WITH a AS (INSERT INTO token_issues VALUES ($1, $2, $3, $4, 0, "
					"$5) ON CONFLICT (serial) DO NOTHING RETURNING 1) "
					"SELECT (SELECT count(*) FROM a)::int4, expires, pid, count "
					"FROM (SELECT 1) one LEFT JOIN token_issues ON serial = $1",
					&p, &r);
		pgp_free(&p);
		if (!rc && pg_int(r, 0, 0) == 0) {
			uint8_t pid[AS_PID_LEN];

			res->known++;
			if (PQgetisnull(r, 0, 1) || pg_bytes(r, 0, 2, pid, AS_PID_LEN) ||
			    memcmp(pid, is->pid, AS_PID_LEN) != 0 || pg_int(r, 0, 3) != is->count ||
			    pg_int(r, 0, 1) != is->expires_at)
				res->conflicting++;
		} else if (!rc) {
			res->added++;
			rc = token_resolve(in, is, &res->resolved);
		}
		PQclear(r);
	}
	free(order);
	if (rc)
		memset(res, 0, sizeof *res);
	return rc;
}

/* ---- batches ---- */

static int chain_get(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
		     struct cl_chain_state *st)
{
	struct pg_params p;
	PGresult *r;
	int rc;

	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	rc = ingest_run(in, "reading the gateway's chain",
			"SELECT journal_id, head, seq, time FROM chains WHERE gw_id = $1", &p, &r);
	pgp_free(&p);
	if (!rc && PQntuples(r) != 1)
		rc = AS_E_NOT_FOUND;
	else if (!rc && (pg_bytes(r, 0, 0, st->journal_id, AS_JOURNAL_ID_LEN) ||
			 pg_bytes(r, 0, 1, st->head, AS_CHAIN_LEN)))
		rc = in->failed = AS_E_CORRUPT;
	if (!rc) {
		st->seq = (uint64_t)pg_int(r, 0, 2);
		st->time = pg_int(r, 0, 3);
	}
	PQclear(r);
	return rc;
}

static int chain_event_add(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			   const struct cl_chain_event *ev)
{
	struct pg_params p;
	int rc;

	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	pgp_i16(&p, ev->kind);
	pgp_i16(&p, ev->cause);
	pgp_bytes(&p, ev->journal_id, AS_JOURNAL_ID_LEN);
	pgp_i64(&p, (int64_t)ev->first_seq);
	pgp_i64(&p, (int64_t)ev->last_seq);
	pgp_i64(&p, (int64_t)ev->at_seq);
	pgp_i32(&p, (int32_t)ev->reconciled);
	pgp_i64(&p, ev->time);
	rc = ingest_run(in, "adding a chain event",
			"INSERT INTO chain_events SELECT $1, coalesce(max(n), 0) + 1, $2, $3, $4, "
			"$5, $6, $7, $8, $9 FROM chain_events WHERE gw_id = $1", &p, NULL);
	pgp_free(&p);
	return rc;
}

static int chain_follow(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			const struct cl_chain_batch *chain, uint64_t last, int64_t now)
{
	struct pg_params p;
	int rc;

	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	pgp_bytes(&p, chain->journal_id, AS_JOURNAL_ID_LEN);
	pgp_bytes(&p, chain->head, AS_CHAIN_LEN);
	pgp_i64(&p, (int64_t)last);
	pgp_i64(&p, now);
	rc = ingest_run(in, "following the gateway's chain",
			"INSERT INTO chains VALUES ($1, $2, $3, $4, $5) ON CONFLICT (gw_id) DO "
			"UPDATE SET journal_id = $2, head = $3, seq = $4, time = $5", &p, NULL);
	pgp_free(&p);
	return rc;
}

/* The highest seq of a ring point (chain_points) of gw_id in journal_id
 * whose link is link: 0 (*seq), AS_E_NOT_FOUND or an error. */
static int chain_find_point(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			    const uint8_t journal_id[AS_JOURNAL_ID_LEN],
			    const uint8_t link[AS_CHAIN_LEN], uint64_t *seq)
{
	struct pg_params p;
	PGresult *r;
	int rc;

	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	pgp_bytes(&p, journal_id, AS_JOURNAL_ID_LEN);
	pgp_bytes(&p, link, AS_CHAIN_LEN);
	rc = ingest_run(in, "reading the gateway's chain points",
			"SELECT max(seq) FROM chain_points WHERE gw_id = $1 AND journal_id = $2 "
			"AND link = $3", &p, &r);
	pgp_free(&p);
	if (!rc && (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)))
		rc = AS_E_NOT_FOUND;
	if (!rc)
		*seq = (uint64_t)pg_int(r, 0, 0);
	PQclear(r);
	return rc;
}

/* Whether the store holds rec (with pid and digest) as a visit of gw_id
 * at venue, stored before the batch being taken (committed, or queued by
 * an earlier batch of this transaction: in->rows[0..batch_first)): the
 * same entry, exit, person, kind and headcount, and the same digest.
 * only_seq 0: under any seq; else only under only_seq (the same pass
 * scanned twice in one second makes records of one content under two
 * seqs).  A record of the batch never matches another of the batch: a
 * journal holds a record once.  *held 1 (with *held_seq) or 0. */
static int visit_held(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN], uint32_t venue,
		      const struct as_record *rec, const uint8_t pid[AS_PID_LEN],
		      const uint8_t digest[PG_DIGEST_LEN], uint64_t only_seq, size_t batch_first,
		      int *held, uint64_t *held_seq)
{
	struct pg_params p;
	PGresult *r;
	int rc;

	*held = 0;
	for (size_t i = 0; i < batch_first && i < in->n; i++) {
		const struct pg_row *q = &in->rows[i];

		if (q->seq && (!only_seq || q->seq == only_seq) && q->entry == rec->entry_time &&
		    q->exit == rec->exit_time && q->kind == rec->kind &&
		    q->headcount == rec->headcount && memcmp(q->gw_id, gw_id, AS_GWID_LEN) == 0 &&
		    memcmp(q->pid, pid, AS_PID_LEN) == 0 &&
		    memcmp(q->digest, digest, PG_DIGEST_LEN) == 0) {
			*held = 1;
			*held_seq = q->seq;
			return 0;
		}
	}
	pgp_init(&p);
	pgp_i32(&p, (int32_t)venue);
	pgp_i64(&p, rec->entry_time);
	pgp_i32(&p, (int32_t)pg_day_of(rec->entry_time));
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	pgp_i64(&p, rec->exit_time);
	pgp_i16(&p, rec->kind);
	pgp_i16(&p, (int16_t)rec->headcount);
	pgp_bytes(&p, pid, AS_PID_LEN);
	pgp_bytes(&p, digest, PG_DIGEST_LEN);
	pgp_i64(&p, (int64_t)only_seq);
	rc = ingest_run(in, "looking for a visit by its content",
			"SELECT seq FROM visits WHERE venue_id = $1 AND entry = $2 AND day = $3 "
			"AND gateway = $4 AND exit = $5 AND kind = $6 AND headcount = $7 "
			"AND pid = $8 AND (digest IS NULL OR digest = $9) AND ($10 = 0 OR seq = $10) "
			"LIMIT 1", &p, &r);
	pgp_free(&p);
	if (!rc && PQntuples(r) == 1) {
		*held = 1;
		*held_seq = (uint64_t)pg_int(r, 0, 0);
	}
	PQclear(r);
	return rc;
}

/* Whether the store holds token record rec of gw_id (lmdb_tokens.c:
 * store_token_held): this very record waiting for its issue, or its
 * token used and this gateway's visit of it stored under rec's seq with
 * its content. */
static int token_held(struct cl_pg_ingest *in, const uint8_t key[AS_TOKEN_ID_KEY_LEN],
		      const uint8_t gw_id[AS_GWID_LEN], uint32_t venue, const struct as_record *rec,
		      const uint8_t digest[PG_DIGEST_LEN], int *held)
{
	struct pg_params p;
	PGresult *r;
	uint64_t serial, held_seq;
	uint8_t index, pid[AS_PID_LEN];
	int rc, used = 0;

	*held = 0;
	if (!key)
		return 0;
	as_token_id_open(&serial, &index, rec->pid, key);
	pgp_init(&p);
	pgp_i64(&p, (int64_t)serial);
	pgp_i16(&p, index);
	rc = ingest_run(in, "looking for a resent token record",
			"SELECT gateway, seq, NULL FROM token_wait WHERE serial = $1 AND idx = $2 "
			"UNION ALL SELECT NULL, NULL, pid FROM token_issues WHERE serial = $1 AND "
			"$2 < count AND $2 < 64 AND (used >> $2::int) & 1 = 1", &p, &r);
	pgp_free(&p);
	if (!rc && PQntuples(r) >= 1) {
		if (!PQgetisnull(r, 0, 0)) {
			uint8_t gw[AS_GWID_LEN];

			*held = pg_bytes(r, 0, 0, gw, AS_GWID_LEN) == 0 &&
				memcmp(gw, gw_id, AS_GWID_LEN) == 0 &&
				(uint64_t)pg_int(r, 0, 1) == rec->seq;
		} else {
			used = pg_bytes(r, 0, 2, pid, AS_PID_LEN) == 0;
		}
	}
	PQclear(r);
	if (rc || !used)
		return rc;
	return visit_held(in, gw_id, venue, rec, pid, digest, rec->seq, in->n, held, &held_seq);
}

/* Is the chained batch wholly at or below through_seq a resend of what the
 * store took?  Its head and last seq are those of the chain followed or of
 * one of the gateway's last batches (the ring); or else the last of its
 * records the store could hold decides, held under the same seq with the
 * same content (lmdb_chains.c: chain_is_resend).  Placeholders and records
 * refused as not collecting left nothing; nor did a token record that was
 * a replay: a token record not held decides nothing (a batch none of
 * whose records left anything is a resend). */
static int is_resend(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN], uint32_t venue,
		     const struct cl_chain_batch *chain, const struct as_record *recs,
		     const uint8_t (*pids)[AS_PID_LEN], size_t n,
		     const struct cl_pg_batch_marks *marks, int *resend)
{
	uint8_t digest[AS_CHAIN_LEN];
	struct cl_chain_state st;
	uint64_t seq;
	int rc, held;

	*resend = 1;
	rc = chain_get(in, gw_id, &st);
	if (rc && rc != AS_E_NOT_FOUND)
		return rc;
	if (!rc && st.seq == recs[n - 1].seq &&
	    memcmp(st.journal_id, chain->journal_id, AS_JOURNAL_ID_LEN) == 0 &&
	    as_chain_equal(st.head, chain->head))
		return 0;
	rc = chain_find_point(in, gw_id, chain->journal_id, chain->head, &seq);
	if (rc == 0 && seq == recs[n - 1].seq)
		return 0;
	if (rc && rc != AS_E_NOT_FOUND)
		return rc;
	for (size_t k = n; k-- > 0;) {
		const struct as_record *rec = &recs[k];

		if (rec->kind == AS_REC_EXPIRED ||
		    (marks->refused && k < marks->n_refused && marks->refused[k]))
			continue;
		as_chain_record_digest(rec, digest);
		if (rec->kind == AS_REC_TOKEN) {
			rc = token_held(in, marks->token_id_key, gw_id, venue, rec, digest, &held);
			if (rc)
				return rc;
			if (!held)
				continue;
			return 0;
		}
		rc = visit_held(in, gw_id, venue, rec, pids ? pids[k] : rec->pid, digest, rec->seq,
				in->n, &held, &seq);
		if (!rc)
			*resend = held;
		return rc;
		return 0;
	}
	return 0;
}

/* How a chained batch is taken (pg_judge). */
struct pg_judgement {
	int judged;                   /* not a resend: events, and the chain followed */
	int reconcile;                /* content decides for records past dups_through */
	int new_branch;               /* left the chain followed: a new fork number */
	uint64_t dups_through;        /* records at or below it are duplicates */
	struct cl_chain_event first, brk;
};

/* Where does a batch that left the chain followed come from?  Its
 * chain_prev is the link at the end of an earlier batch (the ring), or its
 * first record (not a placeholder) is one the store holds under seq q, so
 * chain_prev is the link at q - 1: a fork at *at_seq.  Otherwise
 * AS_E_NOT_FOUND: a break. */
static int fork_point(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN], uint32_t venue,
		      const struct cl_chain_batch *chain, const struct as_record *recs,
		      const uint8_t (*pids)[AS_PID_LEN], size_t n, size_t batch_first,
		      uint64_t *at_seq)
{
	uint8_t digest[AS_CHAIN_LEN];
	uint64_t held_seq = 0;
	int rc, held = 0;

	if (as_chain_is_genesis(chain->prev)) {
		*at_seq = 0;
		return 0;
	}
	rc = chain_find_point(in, gw_id, chain->journal_id, chain->prev, at_seq);
	if (rc != AS_E_NOT_FOUND)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].kind == AS_REC_EXPIRED)
			continue;
		as_chain_record_digest(&recs[i], digest);
		rc = visit_held(in, gw_id, venue, &recs[i], pids ? pids[i] : recs[i].pid, digest, 0,
				batch_first, &held, &held_seq);
		if (rc)
			return rc;
		if (!held || held_seq < i + 1)
			return AS_E_NOT_FOUND;
		*at_seq = held_seq - i - 1;
		return 0;
	}
	return AS_E_NOT_FOUND;
}

/*
 * Judge a chained batch as the LMDB store does (lmdb_chains.c:
 * store_chain_judge): a resend of what the store took (not judged); a
 * batch that continues the chain followed, or starts it; or one that left
 * it (a new journal, a renumbered journal, a fork from a restored copy, a
 * break), whose records content decides (reconcile) and which starts a
 * new branch.  A batch wholly at or below through_seq that is no resend
 * holds other records under those seqs: content decides too.
 */
static int pg_judge(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN], uint32_t venue,
		    uint64_t through, const struct cl_chain_batch *chain,
		    const struct as_record *recs, const uint8_t (*pids)[AS_PID_LEN], size_t n,
		    const struct cl_pg_batch_marks *marks, size_t batch_first, int64_t now,
		    struct pg_judgement *j)
{
	struct cl_chain_state st;
	enum as_chain_verdict verdict;
	uint64_t first = recs[0].seq, last = recs[n - 1].seq, at_seq = 0;
	size_t at = 0;
	int rc;

	memset(j, 0, sizeof *j);
	j->dups_through = through;
	if (last <= through) {
		int resend;

		rc = is_resend(in, gw_id, venue, chain, recs, pids, n, marks, &resend);
		if (rc || resend)
			return rc;
		j->reconcile = 1;
		j->dups_through = 0;
	}
	j->judged = 1;
	memcpy(j->first.journal_id, chain->journal_id, AS_JOURNAL_ID_LEN);
	j->first.first_seq = first;
	j->first.last_seq = last;
	j->first.time = now;
	j->brk = j->first;
	verdict = as_chain_verify(chain->prev, chain->head, recs, chain->digests, n,
				  chain->keep_from, chain->keep_to, &at);
	if (verdict != AS_CHAIN_INTACT) {
		j->brk.kind = CL_CHAIN_BREAK;
		j->brk.cause = verdict == AS_CHAIN_RECORD_CHANGED     ? CL_BREAK_RECORD_CHANGED
			       : verdict == AS_CHAIN_EARLY_PLACEHOLDER ? CL_BREAK_EARLY_PLACEHOLDER
								       : CL_BREAK_HEAD_MISMATCH;
		j->brk.at_seq = verdict == AS_CHAIN_HEAD_MISMATCH ? 0 : recs[at].seq;
	}
	rc = chain_get(in, gw_id, &st);
	if (rc == AS_E_NOT_FOUND) {
		j->first.kind = CL_CHAIN_START;
		j->new_branch = j->reconcile;
		return 0;
	}
	if (rc)
		return rc;
	if (memcmp(st.journal_id, chain->journal_id, AS_JOURNAL_ID_LEN) != 0) {
		j->first.kind = CL_CHAIN_NEW_JOURNAL;
		j->reconcile = j->new_branch = 1;
		j->dups_through = 0;
		return 0;
	}
	if (first <= st.seq + 1 && last > st.seq) {
		uint8_t link[AS_CHAIN_LEN];

		as_chain_fold(chain->prev, chain->digests, (size_t)(st.seq + 1 - first), link);
		if (as_chain_equal(link, st.head)) {
			/* Continues the chain followed.  A chain followed since
			 * a fork below through_seq has not reached it: its
			 * records past st.seq are new to the cloud, whose
			 * through_seq counts the other branch. */
			if (st.seq < through) {
				j->reconcile = 1;
				j->dups_through = st.seq;
			}
			return 0;
		}
	}
	j->reconcile = j->new_branch = 1;
	j->dups_through = 0;
	if (store_chain_passes(chain, n, st.head))
		return 0; /* renumbered: holds what was taken, then goes on */
	rc = fork_point(in, gw_id, venue, chain, recs, pids, n, batch_first, &at_seq);
	if (rc == 0) {
		j->first.kind = CL_CHAIN_FORK;
		j->first.at_seq = at_seq;
	} else if (rc == AS_E_NOT_FOUND) {
		j->first.kind = CL_CHAIN_BREAK;
		j->first.cause = CL_BREAK_UNLINKED;
	} else {
		return rc;
	}
	return 0;
}

/* Keep the link at the end of the batch in the gateway's ring (slot: its
 * batch count before this batch, modulo CL_CHAIN_POINTS). */
static int chain_point_put(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			   uint64_t batches, const struct cl_chain_batch *chain, uint64_t last)
{
	struct pg_params p;
	int rc;

	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	pgp_i32(&p, (int32_t)(batches % CL_CHAIN_POINTS));
	pgp_bytes(&p, chain->journal_id, AS_JOURNAL_ID_LEN);
	pgp_bytes(&p, chain->head, AS_CHAIN_LEN);
	pgp_i64(&p, (int64_t)last);
	rc = ingest_run(in, "keeping the gateway's chain point",
			"INSERT INTO chain_points VALUES ($1, $2, $3, $4, $5) ON CONFLICT (gw_id, "
			"slot) DO UPDATE SET journal_id = $3, link = $4, seq = $5", &p, NULL);
	pgp_free(&p);
	return rc;
}

int cl_pg_ingest_chained_batch(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			       const struct cl_chain_batch *chain, const struct as_record *recs,
			       const uint8_t (*pids)[AS_PID_LEN], size_t n,
			       const struct cl_pg_batch_marks *marks, int64_t created, int64_t now,
			       struct cl_ingest_result *res)
{
	struct pg_judgement j;
	struct pg_params p;
	PGresult *r = NULL;
	uint64_t through, last, old_through, batches;
	uint32_t venue;
	int32_t forks;
	int64_t longest = 0;
	size_t batch_first = in->n;
	int rc;

	memset(res, 0, sizeof *res);
	if (in->failed)
		return in->failed;
	if (n == 0 || !recs)
		return AS_E_LENGTH;
	for (size_t i = 0; i < n; i++) {
		if (i && (recs[i - 1].seq == UINT64_MAX || recs[i].seq != recs[i - 1].seq + 1))
			return AS_E_FIELD;
		if (recs[i].seq > INT64_MAX)
			return AS_E_FIELD;
		rc = store_record_check(&recs[i]);
		if (rc)
			return rc;
		if (recs[i].kind == AS_REC_TOKEN && !marks->token_id_key) {
			store_note("a visit token record", "anshim-cloudd has no tokenid.key to read "
				   "it (put it in keys_dir: 'anshim-cloud keys init --token-ids'; "
				   "restart)");
			return AS_E_CONFIG;
		}
	}
	last = recs[n - 1].seq;
	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	rc = ingest_run(in, "locking the gateway",
			"SELECT venue_id, revoked, through_seq, batches, forks FROM gateways "
			"WHERE gw_id = $1 FOR UPDATE", &p, &r);
	pgp_free(&p);
	if (rc)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return AS_E_NOT_FOUND;
	}
	venue = (uint32_t)pg_int(r, 0, 0);
	if (*PQgetvalue(r, 0, 1) == 1) {
		PQclear(r);
		return AS_E_REVOKED;
	}
	through = old_through = (uint64_t)pg_int(r, 0, 2);
	batches = (uint64_t)pg_int(r, 0, 3);
	forks = (int32_t)pg_int(r, 0, 4);
	PQclear(r);
	res->through_seq = through;
	if (recs[0].seq > through + 1) {
		res->gap = 1;
		if (chain && chain_get(in, gw_id, &res->chain) == 0)
			res->has_chain = 1;
		return in->failed;
	}
	memset(&j, 0, sizeof j);
	j.dups_through = through;
	if (chain) {
		rc = pg_judge(in, gw_id, venue, through, chain, recs, pids, n, marks, batch_first, now,
			      &j);
		if (rc)
			return rc;
	}
	/* Visits a batch that left the chain stores under seqs through_seq
	 * had passed carry a fork number of their own (005_journal_forks.sql):
	 * a new one for a new branch. */
	if (j.reconcile && (j.new_branch || forks == 0) && recs[0].seq <= old_through) {
		pgp_init(&p);
		pgp_bytes(&p, gw_id, AS_GWID_LEN);
		rc = ingest_run(in, "numbering the gateway's fork",
				"UPDATE gateways SET forks = forks + 1 WHERE gw_id = $1 RETURNING forks",
				&p, &r);
		pgp_free(&p);
		if (!rc)
			forks = (int32_t)pg_int(r, 0, 0);
		PQclear(r);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < n; i++) {
		const struct as_record *rec = &recs[i];
		struct pg_row row;
		uint8_t digest[AS_CHAIN_LEN];

		/* Below through_seq a record is a duplicate, unless the batch
		 * left the chain followed: then content decides. */
		if (rec->seq <= j.dups_through) {
			res->duplicates++;
			continue;
		}
		if (rec->seq > through)
			through = rec->seq;
		if (rec->kind == AS_REC_EXPIRED) {
			res->expired++;
			continue;
		}
		if (marks->refused && i < marks->n_refused && marks->refused[i]) {
			res->refused++;
			continue;
		}
		memset(&row, 0, sizeof row);
		row.day = pg_day_of(rec->entry_time);
		row.entry = rec->entry_time;
		row.exit = rec->exit_time;
		row.seq = rec->seq;
		row.venue = venue;
		row.headcount = rec->headcount;
		row.kind = rec->kind;
		row.flags = rec->flags;
		memcpy(row.gw_id, gw_id, AS_GWID_LEN);
		memcpy(row.pid, pids ? pids[i] : rec->pid, AS_PID_LEN);
		memcpy(row.capsule, rec->capsule, AS_CAPSULE_LEN);
		as_chain_record_digest(rec, digest);
		memcpy(row.digest, digest, PG_DIGEST_LEN);
		row.has_digest = 1;
		if (rec->seq <= old_through) {
			/* Another visit than the one held under this seq: the
			 * index nodes copy it by their late cursor. */
			row.fork = forks;
			row.late = 1;
		}
		if (rec->kind == AS_REC_TOKEN) {
			int outcome;

			rc = token_take(in, marks->token_id_key, gw_id, venue, rec, row.digest,
					j.reconcile, batch_first, &row, &outcome);
			if (rc) {
				memset(res, 0, sizeof *res);
				return rc;
			}
			if (outcome == TOKEN_WAIT)
				res->tokens_waiting++;
			else if (outcome == TOKEN_REPLAY)
				res->tokens_replayed++;
			else if (outcome == TOKEN_HELD)
				res->reconciled++;
			in->replayed += outcome == TOKEN_REPLAY;
			if (outcome != TOKEN_USE)
				continue;
		} else if (j.reconcile) {
			int held;
			uint64_t held_seq;

			rc = visit_held(in, gw_id, venue, rec, row.pid, digest, 0, batch_first, &held,
					&held_seq);
			if (rc) {
				memset(res, 0, sizeof *res);
				return rc;
			}
			if (held) {
				res->reconciled++;
				continue;
			}
		}
		if (rec->exit_time > rec->entry_time && rec->exit_time - rec->entry_time > longest)
			longest = rec->exit_time - rec->entry_time;
		rc = queue_row(in, &row);
		if (rc) {
			memset(res, 0, sizeof *res);
			return rc;
		}
		res->stored++;
	}
	rc = longest ? raise_longest(in, venue, longest) : 0;
	j.first.reconciled = j.brk.reconciled = res->reconciled;
	if (!rc && j.judged && j.first.kind)
		rc = chain_event_add(in, gw_id, &j.first);
	if (!rc && j.judged && j.brk.kind)
		rc = chain_event_add(in, gw_id, &j.brk);
	if (j.judged) {
		res->chain_event = j.brk.kind ? j.brk.kind : j.first.kind;
		res->chain_cause = j.brk.kind ? j.brk.cause : j.first.cause;
	}
	if (!rc && j.judged)
		rc = chain_follow(in, gw_id, chain, last, now);
	if (!rc && j.judged)
		rc = chain_point_put(in, gw_id, batches, chain, last);
	if (!rc && (res->stored || res->expired || res->refused || res->reconciled ||
		    res->tokens_waiting || res->tokens_replayed)) {
		pgp_init(&p);
		pgp_bytes(&p, gw_id, AS_GWID_LEN);
		pgp_i64(&p, (int64_t)through);
		pgp_i64(&p, res->stored);
		pgp_i64(&p, now);
		pgp_i64(&p, created);
		rc = ingest_run(in, "advancing the gateway's through_seq",
				"UPDATE gateways SET through_seq = $2, records = records + $3, "
				"batches = batches + 1, last_seen = $4, last_created = $5 "
				"WHERE gw_id = $1", &p, NULL);
		pgp_free(&p);
		in->batches++;
	}
	if (rc) {
		memset(res, 0, sizeof *res);
		return rc;
	}
	res->through_seq = through;
	if (chain) {
		memcpy(res->chain.journal_id, chain->journal_id, AS_JOURNAL_ID_LEN);
		memcpy(res->chain.head, chain->head, AS_CHAIN_LEN);
		res->chain.seq = last;
		res->has_chain = 1;
	}
	return 0;
}

int cl_pg_ingest_count_reject(struct cl_pg_ingest *in, const char *reason)
{
	struct pg_params p;
	int rc;

	if (in->failed)
		return in->failed;
	pgp_init(&p);
	pgp_text(&p, reason);
	rc = ingest_run(in, "counting a rejected batch",
			"INSERT INTO reject_counters VALUES ($1, 1) ON CONFLICT (reason) DO "
			"UPDATE SET count = reject_counters.count + 1", &p, NULL);
	pgp_free(&p);
	return rc;
}

/* ---- app check-ins ---- */

int cl_pg_ingest_app(struct cl_pg_ingest *in, const struct cl_app_visit *a, int *outcome)
{
	static const uint8_t zero_id[CL_APP_ID_LEN];
	struct pg_params p;
	struct pg_row row;
	PGresult *r = NULL;
	int rc;

	*outcome = 0;
	if (in->failed)
		return in->failed;
	if (memcmp(a->pid, zero_pid, AS_PID_LEN) == 0 || a->venue_id == 0 ||
	    (a->flags & ~AS_REC_FLAGS_KNOWN) || memcmp(a->checkin_id, zero_id, CL_APP_ID_LEN) == 0)
		return AS_E_FIELD;
	/* One round trip: the check-in, and its replay key if it has one;
	 * the key's row only when the check-in is new. */
	pgp_init(&p);
	pgp_bytes(&p, a->checkin_id, CL_APP_ID_LEN);
	pgp_i32(&p, (int32_t)pg_day_of(a->entry));
	pgp_i32(&p, (int32_t)a->venue_id);
	pgp_i64(&p, a->entry);
	pgp_bytes(&p, a->pid, AS_PID_LEN);
	pgp_bytes_or_null(&p, memcmp(a->replay_key, zero_id, CL_APP_ID_LEN) ? a->replay_key : NULL,
			  CL_APP_ID_LEN);
	rc = ingest_run(in, "storing an app check-in",
			"WITH c AS (INSERT INTO app_checkins VALUES ($1, $2, $3, $4, $5) "
			"ON CONFLICT DO NOTHING RETURNING 1), "
			"r AS (INSERT INTO app_replays SELECT $6, $1, $4 WHERE $6 IS NOT NULL AND "
			"EXISTS (SELECT 1 FROM c) ON CONFLICT DO NOTHING RETURNING 1) "
			"SELECT (SELECT count(*) FROM c)::int4, (SELECT count(*) FROM r)::int4",
			&p, &r);
	if (!rc && pg_int(r, 0, 0) == 0) {
		*outcome = CL_APP_DUPLICATE;
	} else if (!rc && memcmp(a->replay_key, zero_id, CL_APP_ID_LEN) != 0 &&
		   pg_int(r, 0, 1) == 0) {
		/* The key was used by another check-in: this one is not stored. */
		*outcome = CL_APP_REPLAY;
		pgp_reset(&p);
		pgp_bytes(&p, a->checkin_id, CL_APP_ID_LEN);
		rc = ingest_run(in, "refusing a replayed app check-in",
				"DELETE FROM app_checkins WHERE checkin_id = $1", &p, NULL);
	}
	PQclear(r);
	pgp_free(&p);
	if (!rc && !*outcome) {
		memset(&row, 0, sizeof row);
		row.day = pg_day_of(a->entry);
		row.entry = a->entry;
		row.venue = a->venue_id;
		row.headcount = 1;
		row.kind = AS_REC_APP;
		row.flags = a->flags;
		memcpy(row.checkin_id, a->checkin_id, CL_APP_ID_LEN);
		memcpy(row.pid, a->pid, AS_PID_LEN);
		memcpy(row.capsule, a->capsule, AS_CAPSULE_LEN);
		rc = queue_row(in, &row);
		if (!rc)
			*outcome = CL_APP_STORED;
	}
	if (rc)
		*outcome = 0;
	return rc;
}

int cl_pg_ingest_app_exit(struct cl_pg_ingest *in, const uint8_t checkin_id[CL_APP_ID_LEN],
			  const uint8_t pid[AS_PID_LEN], int64_t exit, int *outcome)
{
	struct pg_params p;
	PGresult *r = NULL;
	int64_t day, entry, stored_exit;
	uint32_t venue;
	int rc;

	*outcome = 0;
	if (in->failed)
		return in->failed;
	if (exit == 0)
		return AS_E_FIELD;
	rc = flush(in); /* a check-in queued in this transaction */
	pgp_init(&p);
	pgp_bytes(&p, checkin_id, CL_APP_ID_LEN);
	if (!rc)
		rc = ingest_run(in, "reading an app check-in",
				"SELECT day, venue_id, entry, pid FROM app_checkins "
				"WHERE checkin_id = $1", &p, &r);
	if (rc || PQntuples(r) != 1 || PQgetlength(r, 0, 3) != AS_PID_LEN ||
	    memcmp(PQgetvalue(r, 0, 3), pid, AS_PID_LEN) != 0) {
		if (!rc)
			*outcome = CL_APP_UNKNOWN;
		PQclear(r);
		pgp_free(&p);
		return rc;
	}
	day = pg_int(r, 0, 0);
	venue = (uint32_t)pg_int(r, 0, 1);
	entry = pg_int(r, 0, 2);
	PQclear(r);
	if (exit < entry) {
		pgp_free(&p);
		return AS_E_FIELD; /* the transaction stays usable */
	}
	pgp_i32(&p, (int32_t)day);
	rc = ingest_run(in, "reading an app visit",
			"SELECT exit FROM visits WHERE checkin_id = $1 AND day = $2 FOR UPDATE",
			&p, &r);
	if (!rc && PQntuples(r) != 1)
		rc = in->failed = AS_E_CORRUPT; /* app_checkins and visits disagree */
	stored_exit = rc ? 0 : pg_int(r, 0, 0);
	PQclear(r);
	if (!rc && stored_exit == exit) {
		*outcome = CL_APP_DUPLICATE;
	} else if (!rc) {
		pgp_i64(&p, exit);
		rc = ingest_run(in, "storing an app check-out",
				"UPDATE visits SET exit = $3 WHERE checkin_id = $1 AND day = $2", &p,
				NULL);
		if (!rc)
			rc = raise_longest(in, venue, exit - entry);
		if (!rc)
			*outcome = CL_APP_STORED;
	}
	pgp_free(&p);
	return rc;
}

/* ---- heartbeats ---- */

/* The gateway's period before t and the one at or after it. */
static int period_near(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN], int64_t t,
		       int after, struct cl_period *out, int *found)
{
	struct pg_params p;
	PGresult *r;
	int rc;

	*found = 0;
	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	pgp_i64(&p, t);
	rc = ingest_run(in, "reading coverage",
			after ? "SELECT start_time, period FROM coverage WHERE gw_id = $1 AND "
				"start_time >= $2 ORDER BY start_time LIMIT 1"
			      : "SELECT start_time, period FROM coverage WHERE gw_id = $1 AND "
				"start_time < $2 ORDER BY start_time DESC LIMIT 1",
			&p, &r);
	pgp_free(&p);
	if (!rc && PQntuples(r) == 1) {
		if (cl_period_decode(out, pg_int(r, 0, 0), (const uint8_t *)PQgetvalue(r, 0, 1),
				     (size_t)PQgetlength(r, 0, 1)))
			rc = in->failed = AS_E_CORRUPT;
		else
			*found = 1;
	}
	PQclear(r);
	return rc;
}

/* As the LMDB store's coverage_boot_over (lmdb_coverage.c). */
static int boot_over(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
		     const uint8_t boot_id[AS_BOOT_ID_LEN], const struct cl_period *latest,
		     int *over)
{
	struct pg_params p;
	PGresult *r;
	int rc;

	*over = 0;
	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	rc = ingest_run(in, "reading coverage",
			"SELECT start_time, period FROM coverage WHERE gw_id = $1 "
			"ORDER BY start_time", &p, &r);
	pgp_free(&p);
	for (int i = 0; !rc && !*over && i < PQntuples(r); i++) {
		struct cl_period q;

		if (cl_period_decode(&q, pg_int(r, i, 0), (const uint8_t *)PQgetvalue(r, i, 1),
				     (size_t)PQgetlength(r, i, 1))) {
			rc = in->failed = AS_E_CORRUPT;
			break;
		}
		if (memcmp(q.last_boot, boot_id, AS_BOOT_ID_LEN) == 0)
			*over = !latest || q.start != latest->start;
		else if (memcmp(q.first_boot, boot_id, AS_BOOT_ID_LEN) == 0)
			*over = 1;
	}
	PQclear(r);
	return rc;
}

int cl_pg_ingest_heartbeat(struct cl_pg_ingest *in, const struct as_heartbeat *hb, int64_t t,
			   int64_t now, int *replay)
{
	uint8_t vbuf[CL_PERIOD_VALUE_LEN];
	struct cl_period cur, prev, next;
	struct pg_params p;
	int have_prev = 0, have_next = 0, rc;

	if (replay)
		*replay = 0;
	if (in->failed)
		return in->failed;
	/* The gateway's row lock orders its heartbeats across ingest nodes. */
	pgp_init(&p);
	pgp_bytes(&p, hb->gw_id, AS_GWID_LEN);
	rc = ingest_run(in, "locking the gateway",
			"SELECT 1 FROM gateways WHERE gw_id = $1 FOR UPDATE", &p, NULL);
	pgp_free(&p);
	cl_period_from_heartbeat(&cur, hb, t, now);
	if (!rc)
		rc = period_near(in, hb->gw_id, t, 1, &next, &have_next);
	if (!rc)
		rc = period_near(in, hb->gw_id, t, 0, &prev, &have_prev);
	if (rc)
		return rc;
	if (t == now && !((hb->clock_state == AS_CLOCK_SYNCED ||
			   hb->clock_state == AS_CLOCK_CORRECTED) && hb->sent_at == t)) {
		const struct cl_period *latest = have_prev ? &prev : NULL;
		int over = 0;

		if (!latest || memcmp(latest->last_boot, hb->boot_id, AS_BOOT_ID_LEN) != 0)
			rc = boot_over(in, hb->gw_id, hb->boot_id, latest, &over);
		if (rc)
			return rc;
		if (over || cl_heartbeat_is_replay(latest, hb, now)) {
			if (replay)
				*replay = 1;
			return 0;
		}
	}
	if (have_prev && cl_period_joins(&prev, &cur))
		cl_period_combine(&cur, &prev, &cur);
	pgp_init(&p);
	if (have_next && cl_period_joins(&cur, &next)) {
		cl_period_combine(&cur, &cur, &next);
		if (next.start != cur.start) {
			pgp_bytes(&p, hb->gw_id, AS_GWID_LEN);
			pgp_i64(&p, next.start);
			rc = ingest_run(in, "merging coverage",
					"DELETE FROM coverage WHERE gw_id = $1 AND start_time = $2",
					&p, NULL);
			pgp_reset(&p);
		}
	}
	cl_period_encode(vbuf, &cur);
	pgp_bytes(&p, hb->gw_id, AS_GWID_LEN);
	pgp_i64(&p, cur.start);
	pgp_i64(&p, cur.end);
	pgp_bytes(&p, vbuf, sizeof vbuf);
	if (!rc)
		rc = ingest_run(in, "merging coverage",
				"INSERT INTO coverage VALUES ($1, $2, $3, $4) ON CONFLICT (gw_id, "
				"start_time) DO UPDATE SET end_time = $3, period = $4", &p, NULL);
	pgp_free(&p);
	return rc;
}

/* ---- commit ---- */

static void ingest_free(struct cl_pg_ingest *in)
{
	if (in->rows)
		sodium_memzero(in->rows, in->cap * sizeof *in->rows);
	free(in->rows);
	free(in);
}

int cl_pg_ingest_commit(struct cl_pg_ingest *in)
{
	int rc = in->failed;

	if (!rc)
		rc = flush(in);
	if (!rc && in->batches) {
		struct pg_params p;

		pgp_init(&p);
		pgp_i64(&p, (int64_t)in->batches);
		rc = ingest_run(in, "counting batches",
				"UPDATE counters SET value = value + $1 WHERE name = 'batches'", &p,
				NULL);
		pgp_free(&p);
	}
	if (!rc && in->replayed) {
		struct pg_params p;

		pgp_init(&p);
		pgp_i64(&p, (int64_t)in->replayed);
		rc = ingest_run(in, "counting replayed tokens",
				"UPDATE counters SET value = value + $1 WHERE name = "
				"'replayed_tokens'", &p, NULL);
		pgp_free(&p);
	}
	/* COMMIT returns when the server's synchronous_commit says the
	 * transaction is durable (and, with synchronous standbys, on them). */
	if (!rc)
		rc = pg_run(in->c, "committing", "COMMIT", NULL, NULL);
	else
		(void)pg_run(in->c, "rolling back", "ROLLBACK", NULL, NULL);
	pg_conn_give(in->pg, in->c);
	ingest_free(in);
	return rc;
}

void cl_pg_ingest_abort(struct cl_pg_ingest *in)
{
	if (!in)
		return;
	(void)pg_run(in->c, "rolling back", "ROLLBACK", NULL, NULL);
	pg_conn_give(in->pg, in->c);
	ingest_free(in);
}
