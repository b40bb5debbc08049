/*
 * pg_store.c - the PostgreSQL store (see pg_store.h): opening it with its
 * schema's migrations, the registry, the chains' readers, statistics and
 * the retention purge.  The schema is cloud/sql/, embedded at build time
 * (cmake/sql_embed.cmake); ingest is pg_ingest.c.
 *
 * Invariants: a store opened for writing holds every migration this build
 * knows (applied in order, each in its own transaction, under an advisory
 * lock so that ingest nodes starting together apply each once); a store
 * with a newer schema than the build is refused, never written.  The
 * purge drops whole day partitions outside the kept window and deletes
 * row by row only on the two days the window cuts.
 * Threads: any (pg_conn.h).
 */
#include "lmdb_layout.h"
#include "pg_conn.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const char *const cl_pg_migrations[];
extern const size_t cl_pg_migration_count;

/* Days of partitions made when a writer opens the store, around today. */
#define PG_PARTS_BEFORE 2
#define PG_PARTS_AHEAD 3

int cl_pg_is_uri(const char *location)
{
	return location && (strncmp(location, "postgresql://", 13) == 0 ||
			    strncmp(location, "postgres://", 11) == 0);
}

/* The URI without a password: scheme://user@host... */
static void uri_name(char *out, size_t len, const char *uri)
{
	const char *scheme_end = strstr(uri, "://"), *at = strchr(uri, '@'), *colon;

	snprintf(out, len, "%s", uri);
	if (!scheme_end || !at)
		return;
	colon = memchr(scheme_end + 3, ':', (size_t)(at - (scheme_end + 3)));
	if (colon)
		snprintf(out, len, "%.*s:***%s", (int)(colon - uri), uri, at);
}

int cl_store_is_cluster(const char *location)
{
	return cl_pg_is_uri(location);
}

int cl_pg_not_served(const char *what)
{
	store_note(what, "the PostgreSQL store serves ingest, the registry and the purge; "
			 "trace on an index node (its LMDB store)");
	return -EOPNOTSUPP;
}

/* ---- schema ---- */

static int schema_stored(PGconn *c, int *version)
{
	PGresult *r;
	int rc = pg_run(c, "reading the schema version",
			"SELECT to_regclass('anshim_schema') IS NOT NULL", NULL, &r);

	*version = 0;
	if (rc)
		return rc;
	if (PQntuples(r) != 1 || *PQgetvalue(r, 0, 0) != 1) {
		PQclear(r);
		return 0;
	}
	PQclear(r);
	rc = pg_run(c, "reading the schema version",
		    "SELECT coalesce(max(version), 0)::int4 FROM anshim_schema", NULL, &r);
	if (rc)
		return rc;
	*version = (int)pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static int migrate(PGconn *c, char *err, size_t err_len, const char *name)
{
	int rc, version;

	rc = pg_run(c, "migrating", "BEGIN", NULL, NULL);
	if (!rc)
		rc = pg_run(c, "migrating", "SELECT pg_advisory_xact_lock(1634627433)", NULL, NULL);
	if (!rc)
		rc = schema_stored(c, &version);
	if (!rc && version > (int)cl_pg_migration_count) {
		snprintf(err, err_len,
			 "store %s: its schema is version %d, newer than this Anshim knows (%zu): "
			 "upgrade Anshim on this node", name, version, cl_pg_migration_count);
		(void)pg_run(c, "migrating", "ROLLBACK", NULL, NULL);
		return AS_E_VERSION;
	}
	for (size_t i = (size_t)version; !rc && i < cl_pg_migration_count; i++) {
		struct pg_params p;
		PGresult *r = PQexec(c, cl_pg_migrations[i]);

		if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
			char what[64];

			snprintf(what, sizeof what, "PostgreSQL, migration %zu", i + 1);
			pg_note(what, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
			snprintf(err, err_len, "store %s: migration %zu of the schema failed: %s",
				 name, i + 1, cl_store_last_error());
			rc = AS_E_STORE;
		}
		PQclear(r);
		pgp_init(&p);
		pgp_i32(&p, (int32_t)(i + 1));
		if (!rc)
			rc = pg_run(c, "recording the migration",
				    "INSERT INTO anshim_schema (version) VALUES ($1)", &p, NULL);
		pgp_free(&p);
	}
	if (!rc)
		rc = pg_run(c, "migrating", "COMMIT", NULL, NULL);
	else
		(void)pg_run(c, "migrating", "ROLLBACK", NULL, NULL);
	return rc;
}

int cl_pg_open(struct cl_pg **out, const char *uri, int readonly, char *err, size_t err_len)
{
	struct cl_pg *pg;
	PGconn *c = NULL;
	int rc, version = 0;

	*out = NULL;
	pg = calloc(1, sizeof *pg);
	if (!pg || !(pg->uri = strdup(uri))) {
		free(pg);
		return -ENOMEM;
	}
	uri_name(pg->name, sizeof pg->name, uri);
	pg->readonly = readonly ? 1 : 0;
	pthread_mutex_init(&pg->lock, NULL);
	store_clear_error();
	rc = pg_conn_take(pg, &c);
	if (rc) {
		snprintf(err, err_len, "cannot open store %s: %s (is PostgreSQL running there, and "
			 "does the URI name its host, port, database and user?)", pg->name,
			 cl_store_last_error());
		cl_pg_close(pg);
		return rc;
	}
	if (PQserverVersion(c) < 150000) {
		snprintf(err, err_len, "store %s: PostgreSQL %d.%d is too old: Anshim needs 15 or "
			 "later", pg->name, PQserverVersion(c) / 10000, PQserverVersion(c) % 10000);
		rc = AS_E_VERSION;
	}
	if (!rc && !readonly)
		rc = migrate(c, err, err_len, pg->name);
	if (!rc && readonly) {
		rc = schema_stored(c, &version);
		if (!rc && version != (int)cl_pg_migration_count) {
			snprintf(err, err_len, "store %s: schema version %d, this Anshim reads %zu "
				 "(open it for writing once, from anshim-cloudd, to migrate it)",
				 pg->name, version, cl_pg_migration_count);
			rc = AS_E_VERSION;
		}
	}
	if (rc && !err[0])
		snprintf(err, err_len, "cannot open store %s: %s", pg->name, cl_store_last_error());
	pg_conn_give(pg, c);
	if (!rc && !readonly) {
		int64_t today = pg_day_of((int64_t)time(NULL));

		rc = pg_partitions_make(pg, today - PG_PARTS_BEFORE, today + PG_PARTS_AHEAD);
		if (rc)
			snprintf(err, err_len, "store %s: cannot make the day partitions: %s",
				 pg->name, cl_store_last_error());
	}
	if (rc) {
		cl_pg_close(pg);
		return rc;
	}
	*out = pg;
	return 0;
}

void cl_pg_close(struct cl_pg *pg)
{
	if (!pg)
		return;
	for (size_t i = 0; i < pg->nidle; i++)
		PQfinish(pg->idle[i]);
	pthread_mutex_destroy(&pg->lock);
	if (pg->uri)
		sodium_memzero(pg->uri, strlen(pg->uri));
	free(pg->uri);
	free(pg);
}

int cl_pg_schema_version(struct cl_pg *pg, int *stored, int *known)
{
	PGconn *c;
	int rc = pg_conn_take(pg, &c);

	*known = (int)cl_pg_migration_count;
	if (rc)
		return rc;
	rc = schema_stored(c, stored);
	pg_conn_give(pg, c);
	return rc;
}

/* ---- one statement on a pooled connection ---- */

/* Run sql with p on a connection of pg's; *res as pg_run. */
static int run_once(struct cl_pg *pg, const char *what, const char *sql, struct pg_params *p,
		    PGresult **res)
{
	PGconn *c;
	int rc = pg_conn_take(pg, &c);

	if (res)
		*res = NULL;
	if (rc)
		return rc;
	rc = pg_run(c, what, sql, p, res);
	pg_conn_give(pg, c);
	return rc;
}

/* ---- registry ---- */

#define GATEWAY_COLUMNS "gw_id, pk, venue_id, revoked, enrolled_at, revoked_at, through_seq, " \
			"records, batches, last_seen, last_created"

static int gateway_row(const PGresult *r, int row, struct cl_gateway *g)
{
	memset(g, 0, sizeof *g);
	if (pg_bytes(r, row, 0, g->gw_id, AS_GWID_LEN) || pg_bytes(r, row, 1, g->pk, AS_SIGN_PK_LEN))
		return AS_E_CORRUPT;
	g->venue_id = (uint32_t)pg_int(r, row, 2);
	g->revoked = *PQgetvalue(r, row, 3) == 1;
	g->enrolled_at = pg_int(r, row, 4);
	g->revoked_at = pg_int(r, row, 5);
	g->through_seq = (uint64_t)pg_int(r, row, 6);
	g->records = (uint64_t)pg_int(r, row, 7);
	g->batches = (uint64_t)pg_int(r, row, 8);
	g->last_seen = pg_int(r, row, 9);
	g->last_created = pg_int(r, row, 10);
	return 0;
}

#define VENUE_COLUMNS "id, name, address, category, dwell_minutes::int4, longest_visit"

static int venue_row(const PGresult *r, int row, struct cl_venue *v)
{
	char *fields[3];
	const size_t caps[3] = {CL_NAME_MAX, CL_ADDRESS_MAX, CL_CATEGORY_MAX};
	int64_t longest;

	memset(v, 0, sizeof *v);
	fields[0] = v->name;
	fields[1] = v->address;
	fields[2] = v->category;
	v->id = (uint32_t)pg_int(r, row, 0);
	for (int i = 0; i < 3; i++) {
		int len = PQgetlength(r, row, i + 1);

		if (len < 0 || (size_t)len > caps[i])
			return AS_E_CORRUPT;
		memcpy(fields[i], PQgetvalue(r, row, i + 1), (size_t)len);
		fields[i][len] = '\0';
	}
	v->dwell_minutes = (uint16_t)pg_int(r, row, 4);
	longest = pg_int(r, row, 5);
	v->longest_visit = longest < 0 ? 0 : longest > UINT32_MAX ? UINT32_MAX : (uint32_t)longest;
	return 0;
}

int cl_pg_enroll(struct cl_pg *pg, const struct cl_gateway *gw, const struct cl_venue *v)
{
	uint32_t venue_id = v ? v->id : gw ? gw->venue_id : 0;
	struct pg_params p;
	PGconn *c;
	PGresult *r = NULL;
	int rc;

	if (pg->readonly)
		return -EACCES;
	if (venue_id == 0 || (v && gw && gw->venue_id && gw->venue_id != v->id) ||
	    (v && (v->dwell_minutes > 1440 || !memchr(v->name, '\0', sizeof v->name) ||
		   !memchr(v->address, '\0', sizeof v->address) ||
		   !memchr(v->category, '\0', sizeof v->category))))
		return AS_E_FIELD;
	store_clear_error();
	rc = pg_conn_take(pg, &c);
	if (rc)
		return rc;
	pgp_init(&p);
	rc = pg_run(c, "enrolling", "BEGIN", NULL, NULL);
	if (!rc && v) {
		pgp_i32(&p, (int32_t)v->id);
		pgp_text(&p, v->name);
		pgp_text(&p, v->address);
		pgp_text(&p, v->category);
		pgp_i32(&p, v->dwell_minutes ? v->dwell_minutes : CL_DEFAULT_DWELL);
		rc = pg_run(c, "writing the venue",
			    "INSERT INTO venues (id, name, address, category, dwell_minutes) "
			    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET "
			    "name = $2, address = $3, category = $4, dwell_minutes = $5",
			    &p, NULL);
	} else if (!rc) {
		pgp_i32(&p, (int32_t)venue_id);
		rc = pg_run(c, "reading the venue", "SELECT 1 FROM venues WHERE id = $1", &p, &r);
		if (!rc && PQntuples(r) == 0)
			rc = AS_E_NOT_FOUND;
		PQclear(r);
		r = NULL;
	}
	if (!gw) /* a poster-only venue: no gateway to write */
		goto commit;
	pgp_reset(&p);
	pgp_bytes(&p, gw->gw_id, AS_GWID_LEN);
	if (!rc)
		rc = pg_run(c, "reading the gateway",
			    "SELECT pk FROM gateways WHERE gw_id = $1 FOR UPDATE", &p, &r);
	if (!rc && PQntuples(r) == 1) {
		if (PQgetlength(r, 0, 0) != AS_SIGN_PK_LEN ||
		    memcmp(PQgetvalue(r, 0, 0), gw->pk, AS_SIGN_PK_LEN) != 0)
			rc = AS_E_EXISTS;
		pgp_i32(&p, (int32_t)venue_id);
		if (!rc)
			rc = pg_run(c, "writing the gateway",
				    "UPDATE gateways SET venue_id = $2 WHERE gw_id = $1", &p, NULL);
	} else if (!rc) {
		pgp_bytes(&p, gw->pk, AS_SIGN_PK_LEN);
		pgp_i32(&p, (int32_t)venue_id);
		pgp_bool(&p, gw->revoked);
		pgp_i64(&p, gw->enrolled_at);
		pgp_i64(&p, gw->revoked ? gw->revoked_at : 0);
		rc = pg_run(c, "writing the gateway",
			    "INSERT INTO gateways (gw_id, pk, venue_id, revoked, enrolled_at, "
			    "revoked_at) VALUES ($1, $2, $3, $4, $5, $6)", &p, NULL);
	}
commit:
	PQclear(r);
	pgp_free(&p);
	if (!rc)
		rc = pg_run(c, "enrolling", "COMMIT", NULL, NULL);
	else
		(void)pg_run(c, "enrolling", "ROLLBACK", NULL, NULL);
	pg_conn_give(pg, c);
	return rc;
}

int cl_pg_revoke(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN], int64_t now)
{
	struct pg_params p;
	PGresult *r;
	int rc;

	if (pg->readonly)
		return -EACCES;
	store_clear_error();
	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	pgp_i64(&p, now);
	rc = run_once(pg, "revoking the gateway",
		      "WITH g AS (SELECT gw_id FROM gateways WHERE gw_id = $1), "
		      "u AS (UPDATE gateways SET revoked = true, revoked_at = $2 "
		      "WHERE gw_id = $1 AND NOT revoked) SELECT count(*) FROM g", &p, &r);
	pgp_free(&p);
	if (!rc && pg_int(r, 0, 0) == 0)
		rc = AS_E_NOT_FOUND;
	PQclear(r);
	return rc;
}

int cl_pg_get_gateway(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN], struct cl_gateway *out)
{
	struct pg_params p;
	PGresult *r;
	int rc;

	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	rc = run_once(pg, "reading the gateway",
		      "SELECT " GATEWAY_COLUMNS " FROM gateways WHERE gw_id = $1", &p, &r);
	pgp_free(&p);
	if (!rc)
		rc = PQntuples(r) == 1 ? gateway_row(r, 0, out) : AS_E_NOT_FOUND;
	PQclear(r);
	return rc;
}

int cl_pg_get_venue(struct cl_pg *pg, uint32_t venue_id, struct cl_venue *out)
{
	struct pg_params p;
	PGresult *r;
	int rc;

	pgp_init(&p);
	pgp_i32(&p, (int32_t)venue_id);
	rc = run_once(pg, "reading the venue",
		      "SELECT " VENUE_COLUMNS " FROM venues WHERE id = $1", &p, &r);
	pgp_free(&p);
	if (!rc)
		rc = PQntuples(r) == 1 ? venue_row(r, 0, out) : AS_E_NOT_FOUND;
	PQclear(r);
	return rc;
}

int cl_pg_each_gateway(struct cl_pg *pg, int (*fn)(void *ctx, const struct cl_gateway *g),
		       void *ctx)
{
	PGresult *r;
	int rc = run_once(pg, "reading the gateways",
			  "SELECT " GATEWAY_COLUMNS " FROM gateways ORDER BY gw_id", NULL, &r);

	for (int i = 0; !rc && i < PQntuples(r); i++) {
		struct cl_gateway g;

		rc = gateway_row(r, i, &g);
		if (!rc && (rc = fn(ctx, &g)) > 0)
			rc = 0, i = PQntuples(r);
	}
	PQclear(r);
	return rc;
}

int cl_pg_each_venue(struct cl_pg *pg, int (*fn)(void *ctx, const struct cl_venue *v), void *ctx)
{
	PGresult *r;
	int rc = run_once(pg, "reading the venues",
			  "SELECT " VENUE_COLUMNS " FROM venues ORDER BY id", NULL, &r);

	for (int i = 0; !rc && i < PQntuples(r); i++) {
		struct cl_venue v;

		rc = venue_row(r, i, &v);
		if (!rc && (rc = fn(ctx, &v)) > 0)
			rc = 0, i = PQntuples(r);
	}
	PQclear(r);
	return rc;
}

/* ---- chains, coverage: readers ---- */

int cl_pg_gateway_chain(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN],
			struct cl_chain_state *out)
{
	struct pg_params p;
	PGresult *r;
	int rc;

	memset(out, 0, sizeof *out);
	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	rc = run_once(pg, "reading the gateway's chain",
		      "SELECT journal_id, head, seq, time FROM chains WHERE gw_id = $1", &p, &r);
	pgp_free(&p);
	if (!rc && PQntuples(r) != 1)
		rc = AS_E_NOT_FOUND;
	if (!rc && (pg_bytes(r, 0, 0, out->journal_id, AS_JOURNAL_ID_LEN) ||
		    pg_bytes(r, 0, 1, out->head, AS_CHAIN_LEN)))
		rc = AS_E_CORRUPT;
	if (!rc) {
		out->seq = (uint64_t)pg_int(r, 0, 2);
		out->time = pg_int(r, 0, 3);
	} else {
		memset(out, 0, sizeof *out);
	}
	PQclear(r);
	return rc;
}

int cl_pg_gateway_chain_events(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN],
			       int (*fn)(void *ctx, const struct cl_chain_event *ev), void *ctx)
{
	struct pg_params p;
	PGresult *r;
	int rc, stop = 0;

	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	rc = run_once(pg, "reading the gateway's chain events",
		      "SELECT n, kind, cause, journal_id, first_seq, last_seq, at_seq, reconciled, "
		      "time FROM chain_events WHERE gw_id = $1 ORDER BY n", &p, &r);
	pgp_free(&p);
	for (int i = 0; !rc && !stop && i < PQntuples(r); i++) {
		struct cl_chain_event ev;

		memset(&ev, 0, sizeof ev);
		ev.n = (uint32_t)pg_int(r, i, 0);
		ev.kind = (uint8_t)pg_int(r, i, 1);
		ev.cause = (uint8_t)pg_int(r, i, 2);
		rc = pg_bytes(r, i, 3, ev.journal_id, AS_JOURNAL_ID_LEN);
		ev.first_seq = (uint64_t)pg_int(r, i, 4);
		ev.last_seq = (uint64_t)pg_int(r, i, 5);
		ev.at_seq = (uint64_t)pg_int(r, i, 6);
		ev.reconciled = (uint32_t)pg_int(r, i, 7);
		ev.time = pg_int(r, i, 8);
		if (!rc)
			stop = fn(ctx, &ev);
	}
	PQclear(r);
	return rc ? rc : stop;
}

int cl_pg_each_period(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN],
		      int (*fn)(void *ctx, const struct cl_period *p), void *ctx)
{
	struct pg_params p;
	PGresult *r;
	int rc, stop = 0;

	pgp_init(&p);
	pgp_bytes(&p, gw_id, AS_GWID_LEN);
	rc = run_once(pg, "reading the gateway's coverage",
		      "SELECT start_time, period FROM coverage WHERE gw_id = $1 ORDER BY start_time",
		      &p, &r);
	pgp_free(&p);
	for (int i = 0; !rc && !stop && i < PQntuples(r); i++) {
		struct cl_period period;

		if (cl_period_decode(&period, pg_int(r, i, 0), (const uint8_t *)PQgetvalue(r, i, 1),
				     (size_t)PQgetlength(r, i, 1)))
			rc = AS_E_CORRUPT;
		else
			stop = fn(ctx, &period);
	}
	PQclear(r);
	if (stop)
		return stop < 0 ? stop : 0;
	return rc;
}

/* ---- statistics ---- */

int cl_pg_stats(struct cl_pg *pg, struct cl_store_stats *st)
{
	PGresult *r;
	int rc;

	memset(st, 0, sizeof *st);
	rc = run_once(pg, "reading the statistics",
		      "SELECT (SELECT count(*) FROM visits), (SELECT count(*) FROM capsules), "
		      "(SELECT value FROM counters WHERE name = 'batches'), "
		      "(SELECT coalesce(sum(count), 0)::int8 FROM reject_counters), "
		      "pg_database_size(current_database()), "
		      "(SELECT count(*) FROM token_issues), (SELECT count(*) FROM token_wait), "
		      "(SELECT value FROM counters WHERE name = 'replayed_tokens')", NULL, &r);
	if (!rc) {
		st->visits = (uint64_t)pg_int(r, 0, 0);
		st->people = (uint64_t)pg_int(r, 0, 1);
		st->batches = (uint64_t)pg_int(r, 0, 2);
		st->rejects_total = (uint64_t)pg_int(r, 0, 3);
		st->map_used = (uint64_t)pg_int(r, 0, 4);
		st->map_size = 0; /* no map: PostgreSQL grows with its disk */
		st->tokens = (uint64_t)pg_int(r, 0, 5);
		st->tokens_waiting = (uint64_t)pg_int(r, 0, 6);
		st->tokens_replayed = (uint64_t)pg_int(r, 0, 7);
	}
	PQclear(r);
	return rc;
}

int cl_pg_each_reject(struct cl_pg *pg, int (*fn)(void *ctx, const char *reason, uint64_t count),
		      void *ctx)
{
	PGresult *r;
	int rc = run_once(pg, "reading the reject counters",
			  "SELECT reason, count FROM reject_counters ORDER BY reason", NULL, &r);

	for (int i = 0; !rc && i < PQntuples(r); i++) {
		char reason[64];
		int len = PQgetlength(r, i, 0);

		if (len <= 0 || len >= (int)sizeof reason) {
			rc = AS_E_CORRUPT;
			break;
		}
		memcpy(reason, PQgetvalue(r, i, 0), (size_t)len);
		reason[len] = '\0';
		if (fn(ctx, reason, (uint64_t)pg_int(r, i, 1)))
			break;
	}
	PQclear(r);
	return rc;
}

/* ---- the policy history ---- */

int cl_store_policy_history_add(struct cl_store *s, uint64_t seq, const char *line)
{
	struct pg_params p;
	int rc;

	if (!s->pg)
		return 0; /* the LMDB store's history is the file */
	if (s->pg->readonly)
		return -EACCES;
	if (seq > INT64_MAX || !line || strchr(line, '\n'))
		return AS_E_FIELD;
	store_clear_error();
	pgp_init(&p);
	pgp_i64(&p, (int64_t)seq);
	pgp_text(&p, line);
	rc = run_once(s->pg, "keeping the policy history",
		      "INSERT INTO policy_history VALUES ($1, $2) ON CONFLICT (seq) DO NOTHING", &p,
		      NULL);
	pgp_free(&p);
	return rc;
}

int cl_store_policy_history_read(struct cl_store *s, uint64_t *last, char **text, size_t *len)
{
	struct pg_params p;
	PGresult *r;
	size_t total = 0;
	char *out;
	int rc, n;

	*text = NULL;
	*len = 0;
	if (!s->pg)
		return -EOPNOTSUPP;
	store_clear_error();
	/* One round trip, and rows only when the last seq moved. */
	pgp_init(&p);
	pgp_i64(&p, (int64_t)*last);
	rc = run_once(s->pg, "reading the policy history",
		      "SELECT seq, line FROM policy_history WHERE (SELECT max(seq) FROM "
		      "policy_history) <> $1 ORDER BY seq", &p, &r);
	pgp_free(&p);
	if (rc)
		return rc;
	n = PQntuples(r);
	for (int i = 0; i < n; i++)
		total += (size_t)PQgetlength(r, i, 1) + 1;
	if (n == 0) {
		PQclear(r);
		return 0;
	}
	out = malloc(total + 1);
	if (!out) {
		PQclear(r);
		return -ENOMEM;
	}
	total = 0;
	for (int i = 0; i < n; i++) {
		size_t l = (size_t)PQgetlength(r, i, 1);

		memcpy(out + total, PQgetvalue(r, i, 1), l);
		total += l;
		out[total++] = '\n';
	}
	out[total] = '\0';
	*last = (uint64_t)pg_int(r, n - 1, 0);
	PQclear(r);
	*text = out;
	*len = total;
	return 0;
}

/* ---- the signed policies ---- */

int cl_store_policy_put(struct cl_store *s, uint64_t seq, int64_t issued, const void *data,
			size_t len)
{
	struct pg_params p;
	int rc;

	if (!s->pg)
		return 0; /* the LMDB store's policy is the file */
	if (s->pg->readonly)
		return -EACCES;
	if (seq == 0 || seq > INT64_MAX || !data || !len)
		return AS_E_FIELD;
	store_clear_error();
	pgp_init(&p);
	pgp_i64(&p, (int64_t)seq);
	pgp_i64(&p, issued);
	pgp_bytes(&p, data, len);
	rc = run_once(s->pg, "keeping the signed policy",
		      "INSERT INTO policies VALUES ($1, $2, $3) ON CONFLICT (seq) DO NOTHING", &p,
		      NULL);
	pgp_free(&p);
	return rc;
}

int cl_store_policy_newest(struct cl_store *s, uint64_t after, uint64_t *seq,
			   unsigned char **data, size_t *len)
{
	struct pg_params p;
	PGresult *r;
	size_t l;
	int rc;

	*seq = 0;
	*data = NULL;
	*len = 0;
	if (!s->pg)
		return -EOPNOTSUPP;
	store_clear_error();
	pgp_init(&p);
	pgp_i64(&p, after > INT64_MAX ? INT64_MAX : (int64_t)after);
	rc = run_once(s->pg, "reading the newest signed policy",
		      "SELECT seq, body FROM policies WHERE seq > $1 ORDER BY seq DESC LIMIT 1",
		      &p, &r);
	pgp_free(&p);
	if (rc || PQntuples(r) == 0) {
		PQclear(r);
		return rc;
	}
	l = (size_t)PQgetlength(r, 0, 1);
	*data = malloc(l ? l : 1);
	if (!*data) {
		PQclear(r);
		return -ENOMEM;
	}
	memcpy(*data, PQgetvalue(r, 0, 1), l);
	*len = l;
	*seq = (uint64_t)pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

/* ---- retention ---- */

/* The day partitions that exist, in day order. */
static int partition_days(PGconn *c, int64_t **days, int *n)
{
	PGresult *r;
	int rc = pg_run(c, "listing the day partitions",
			"SELECT substr(c.relname, 9)::int8 FROM pg_inherits i "
			"JOIN pg_class c ON c.oid = i.inhrelid "
			"WHERE i.inhparent = 'visits'::regclass AND c.relname ~ '^visits_d[0-9]+$' "
			"ORDER BY 1", NULL, &r);

	*days = NULL;
	*n = 0;
	if (rc)
		return rc;
	*days = malloc(((size_t)PQntuples(r) + 1) * sizeof **days);
	if (!*days) {
		PQclear(r);
		return -ENOMEM;
	}
	for (int i = 0; i < PQntuples(r); i++)
		(*days)[i] = pg_int(r, i, 0);
	*n = PQntuples(r);
	PQclear(r);
	return 0;
}

/* Run one statement in its own transaction, adding the rows it reports
 * (its first column summed, if counted) to *total. */
static int purge_step(PGconn *c, const char *what, const char *sql, struct pg_params *p,
		      uint64_t *total)
{
	PGresult *r;
	int rc = pg_run(c, what, sql, p, &r);

	if (!rc && total && PQntuples(r) == 1 && PQnfields(r) == 1)
		*total += (uint64_t)pg_int(r, 0, 0);
	PQclear(r);
	return rc;
}

int cl_pg_purge_outside(struct cl_pg *pg, int64_t horizon, int64_t limit, uint64_t *deleted)
{
	const int64_t hday = pg_day_of(horizon), lday = pg_day_of(limit);
	struct pg_params p;
	int64_t *days = NULL;
	uint64_t total = 0;
	PGconn *c;
	int rc, n = 0;

	if (deleted)
		*deleted = 0;
	if (pg->readonly)
		return -EACCES;
	store_clear_error();
	/* The window's partitions exist before anything is dropped, so rows
	 * the window keeps never wait in visits_default. */
	rc = pg_partitions_make(pg, hday, pg_day_of((int64_t)time(NULL)) + PG_PARTS_AHEAD);
	if (!rc)
		rc = pg_conn_take(pg, &c);
	if (rc)
		return rc;
	rc = partition_days(c, &days, &n);
	/* 1. Days wholly outside the window: their partitions go whole, each
	 *    in its own short transaction (DROP waits for the transactions
	 *    writing to visits, and holds them off only while it runs). */
	for (int i = 0; !rc && i < n; i++) {
		char sql[160];

		/* Days after the limit's are the partitions made ahead:
		 * their rows past the limit go one by one, below. */
		if (days[i] >= hday)
			continue;
		snprintf(sql, sizeof sql, "SELECT count(*) FROM visits_d%lld", (long long)days[i]);
		rc = pg_run(c, "purging", "BEGIN", NULL, NULL);
		if (!rc)
			rc = purge_step(c, "counting a day's visits", sql, NULL, &total);
		snprintf(sql, sizeof sql, "DROP TABLE visits_d%lld", (long long)days[i]);
		if (!rc)
			rc = pg_run(c, "dropping a day partition", sql, NULL, NULL);
		if (!rc)
			rc = pg_run(c, "purging", "COMMIT", NULL, NULL);
		else
			(void)pg_run(c, "purging", "ROLLBACK", NULL, NULL);
		if (!rc) {
			pthread_mutex_lock(&pg->lock);
			if (days[i] >= pg->parts_to)
				pg->parts_to = 0; /* dropped ahead of now: make again */
			pthread_mutex_unlock(&pg->lock);
		}
	}
	free(days);
	/* 2. The two days the window cuts, and visits_default, row by row. */
	pgp_init(&p);
	pgp_i64(&p, horizon);
	pgp_i64(&p, limit);
	pgp_i32(&p, (int32_t)hday);
	pgp_i32(&p, (int32_t)lday);
	if (!rc)
		rc = purge_step(c, "purging the window's edges",
				"WITH d AS (DELETE FROM visits WHERE (day = $3 OR day = $4 OR "
				"NOT (day BETWEEN $3 AND $4)) AND (entry < $1 OR entry > $2) "
				"RETURNING 1) SELECT count(*) FROM d", &p, &total);
	/* 3. App check-ins, people left with no visit, coverage periods. */
	pgp_reset(&p);
	pgp_i64(&p, horizon);
	pgp_i64(&p, limit);
	if (!rc)
		rc = purge_step(c, "purging app check-ins",
				"DELETE FROM app_checkins WHERE entry < $1 OR entry > $2", &p, NULL);
	if (!rc)
		rc = purge_step(c, "purging app replay keys",
				"DELETE FROM app_replays WHERE entry < $1 OR entry > $2", &p, NULL);
	if (!rc)
		rc = purge_step(c, "purging coverage periods",
				"DELETE FROM coverage WHERE end_time < $1 OR start_time > $2", &p, NULL);
	/* Visit tokens: issues expired before the horizon (no record of them
	 * can be taken any more), records waiting with their entry time. */
	if (!rc) {
		struct pg_params h;

		pgp_init(&h);
		pgp_i64(&h, horizon);
		rc = purge_step(c, "purging token issues",
				"DELETE FROM token_issues WHERE expires < $1", &h, NULL);
		pgp_free(&h);
	}
	if (!rc)
		rc = purge_step(c, "purging waiting token records",
				"DELETE FROM token_wait WHERE entry < $1 OR entry > $2", &p, NULL);
	if (!rc)
		rc = purge_step(c, "purging people with no visit",
				"DELETE FROM capsules c WHERE NOT EXISTS "
				"(SELECT 1 FROM visits v WHERE v.pid = c.pid)", NULL, NULL);
	pgp_free(&p);
	pg_conn_give(pg, c);
	if (deleted)
		*deleted = total;
	return rc;
}
