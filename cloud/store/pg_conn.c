/*
 * pg_conn.c - the PostgreSQL store's connections, statement parameters and
 * errors (see pg_conn.h), and its day partitions.
 *
 * Invariants: a pooled connection is healthy and outside any transaction;
 * every failed statement notes "PostgreSQL, what: message" for
 * cl_store_last_error and turns into AS_E_STORE (a connection that broke
 * is closed when given back, and the next take connects again: a promoted
 * standby behind the same address is reached that way).
 * Threads: any; the pool under pg->lock.
 */
#include "lmdb_layout.h"
#include "pg_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL's type oids (pg_type.h, stable since 7.x). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25

void pg_note(const char *what, const char *msg)
{
	char why[200];
	size_t len;

	snprintf(why, sizeof why, "%s", msg ? msg : "unknown error");
	len = strlen(why);
	while (len && (why[len - 1] == '\n' || why[len - 1] == ' '))
		why[--len] = '\0';
	store_note(what, why);
}

int pg_conn_take(struct cl_pg *pg, PGconn **out)
{
	PGconn *c = NULL;

	pthread_mutex_lock(&pg->lock);
	if (pg->nidle)
		c = pg->idle[--pg->nidle];
	pthread_mutex_unlock(&pg->lock);
	if (c && PQstatus(c) == CONNECTION_OK) {
		*out = c;
		return 0;
	}
	if (c)
		PQfinish(c);
	c = PQconnectdb(pg->uri);
	if (!c)
		return -ENOMEM;
	if (PQstatus(c) != CONNECTION_OK) {
		char what[200];

		snprintf(what, sizeof what, "PostgreSQL, connecting to %s", pg->name);
		pg_note(what, PQerrorMessage(c));
		PQfinish(c);
		return AS_E_STORE;
	}
	*out = c;
	return 0;
}

void pg_conn_give(struct cl_pg *pg, PGconn *c)
{
	if (!c)
		return;
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE) {
		pthread_mutex_lock(&pg->lock);
		if (pg->nidle < PG_IDLE_MAX) {
			pg->idle[pg->nidle++] = c;
			c = NULL;
		}
		pthread_mutex_unlock(&pg->lock);
	}
	if (c)
		PQfinish(c);
}

/* ---- parameters ---- */

void pgp_init(struct pg_params *p)
{
	memset(p, 0, sizeof *p);
}

void pgp_reset(struct pg_params *p)
{
	p->n = 0;
	p->data_len = 0;
}

void pgp_free(struct pg_params *p)
{
	free(p->types);
	free(p->offs);
	free(p->lens);
	free(p->data);
	pgp_init(p);
}

/* Room for one more parameter of len bytes: its data, or NULL. */
static uint8_t *pgp_add(struct pg_params *p, unsigned int type, size_t len, int is_null)
{
	if (p->oom)
		return NULL;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		unsigned int *t = realloc(p->types, cap * sizeof *t);
		size_t *o = t ? realloc(p->offs, cap * sizeof *o) : NULL;
		int *l = o ? realloc(p->lens, cap * sizeof *l) : NULL;

		if (t)
			p->types = t;
		if (o)
			p->offs = o;
		if (!l) {
			p->oom = 1;
			return NULL;
		}
		p->lens = l;
		p->cap = cap;
	}
	if (p->data_len + len + 1 > p->data_cap) {
		size_t cap = p->data_cap ? p->data_cap * 2 : 256;
		uint8_t *d;

		while (cap < p->data_len + len + 1)
			cap *= 2;
		d = realloc(p->data, cap);
		if (!d) {
			p->oom = 1;
			return NULL;
		}
		p->data = d;
		p->data_cap = cap;
	}
	p->types[p->n] = type;
	p->offs[p->n] = p->data_len;
	p->lens[p->n] = is_null ? -1 : (int)len;
	p->n++;
	p->data_len += len;
	return p->data + p->offs[p->n - 1];
}

static void put_be(uint8_t *d, uint64_t v, size_t len)
{
	for (size_t i = len; i-- > 0; v >>= 8)
		d[i] = (uint8_t)v;
}

void pgp_i64(struct pg_params *p, int64_t v)
{
	uint8_t *d = pgp_add(p, OID_INT8, 8, 0);

	if (d)
		put_be(d, (uint64_t)v, 8);
}

void pgp_i32(struct pg_params *p, int32_t v)
{
	uint8_t *d = pgp_add(p, OID_INT4, 4, 0);

	if (d)
		put_be(d, (uint32_t)v, 4);
}

void pgp_i16(struct pg_params *p, int16_t v)
{
	uint8_t *d = pgp_add(p, OID_INT2, 2, 0);

	if (d)
		put_be(d, (uint16_t)v, 2);
}

void pgp_bool(struct pg_params *p, int v)
{
	uint8_t *d = pgp_add(p, OID_BOOL, 1, 0);

	if (d)
		*d = v ? 1 : 0;
}

void pgp_bytes(struct pg_params *p, const void *b, size_t len)
{
	uint8_t *d = pgp_add(p, OID_BYTEA, len, 0);

	if (d && len)
		memcpy(d, b, len);
}

void pgp_bytes_or_null(struct pg_params *p, const void *b, size_t len)
{
	if (b)
		pgp_bytes(p, b, len);
	else
		(void)pgp_add(p, OID_BYTEA, 0, 1);
}

void pgp_null_i64(struct pg_params *p)
{
	(void)pgp_add(p, OID_INT8, 0, 1);
}

void pgp_text(struct pg_params *p, const char *s)
{
	size_t len = strlen(s);
	uint8_t *d = pgp_add(p, OID_TEXT, len, 0);

	if (d && len)
		memcpy(d, s, len);
}

/* ---- statements ---- */

int pg_run(PGconn *c, const char *what, const char *sql, struct pg_params *p, PGresult **res)
{
	const char **vals = NULL;
	int *fmts = NULL;
	PGresult *r;
	ExecStatusType st;
	size_t n = p ? p->n : 0;

	if (res)
		*res = NULL;
	if (p && p->oom)
		return -ENOMEM;
	if (n) {
		vals = malloc(n * sizeof *vals);
		fmts = malloc(n * sizeof *fmts);
		if (!vals || !fmts) {
			free(vals);
			free(fmts);
			return -ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			vals[i] = p->lens[i] < 0 ? NULL : (const char *)p->data + p->offs[i];
			fmts[i] = 1;
		}
	}
	r = PQexecParams(c, sql, (int)n, n ? p->types : NULL, vals, n ? p->lens : NULL, fmts, 1);
	free(vals);
	free(fmts);
	st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		char w[120];

		snprintf(w, sizeof w, "PostgreSQL, %s", what);
		pg_note(w, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
		PQclear(r);
		return AS_E_STORE;
	}
	if (res)
		*res = r;
	else
		PQclear(r);
	return 0;
}

int pg_run_count(PGconn *c, const char *what, const char *sql, struct pg_params *p,
		 uint64_t *n)
{
	PGresult *r;
	int rc = pg_run(c, what, sql, p, &r);

	*n = 0;
	if (!rc) {
		*n = (uint64_t)pg_int(r, 0, 0);
		PQclear(r);
	}
	return rc;
}

int64_t pg_int(const PGresult *r, int row, int col)
{
	const uint8_t *d = (const uint8_t *)PQgetvalue(r, row, col);
	int len = PQgetlength(r, row, col);
	uint64_t v = 0;

	if (PQgetisnull(r, row, col) || (len != 2 && len != 4 && len != 8))
		return 0;
	for (int i = 0; i < len; i++)
		v = v << 8 | d[i];
	if (len == 2)
		return (int16_t)v;
	if (len == 4)
		return (int32_t)v;
	return (int64_t)v;
}

int pg_bytes(const PGresult *r, int row, int col, void *out, size_t len)
{
	if (PQgetisnull(r, row, col) || (size_t)PQgetlength(r, row, col) != len)
		return AS_E_CORRUPT;
	memcpy(out, PQgetvalue(r, row, col), len);
	return 0;
}

int64_t pg_day_of(int64_t t)
{
	if (t < 0)
		return 0;
	if (t > (int64_t)UINT32_MAX)
		t = (int64_t)UINT32_MAX;
	return t / PG_DAY_SECONDS;
}

/* ---- day partitions ---- */

/* Partitions are made under one advisory lock (key 1634627432, "ansh"),
 * so two writers never race on the same name: the second finds it made. */

int pg_partitions_make(struct cl_pg *pg, int64_t from_day, int64_t to_day)
{
	PGconn *c;
	int64_t have;
	int rc;

	pthread_mutex_lock(&pg->lock);
	have = pg->parts_to;
	pthread_mutex_unlock(&pg->lock);
	if (have >= to_day)
		return 0;
	if (from_day < have + 1 && have)
		from_day = have + 1;
	rc = pg_conn_take(pg, &c);
	if (rc)
		return rc;
	for (int64_t day = from_day; day <= to_day && !rc; day++) {
		char sql[400];
		PGresult *r = NULL;
		int exists;

		rc = pg_run(c, "making a day partition", "BEGIN", NULL, NULL);
		if (!rc)
			rc = pg_run(c, "making a day partition",
				    "SELECT pg_advisory_xact_lock(1634627432)", NULL, NULL);
		snprintf(sql, sizeof sql, "SELECT to_regclass('visits_d%lld') IS NOT NULL",
			 (long long)day);
		if (!rc)
			rc = pg_run(c, "making a day partition", sql, NULL, &r);
		exists = !rc && PQntuples(r) == 1 && *PQgetvalue(r, 0, 0) == 1;
		PQclear(r);
		/* Rows of that day that came before it had a partition (a time
		 * outside the window made ahead) move into it. */
		snprintf(sql, sizeof sql,
			 "CREATE TEMP TABLE moving ON COMMIT DROP AS WITH d AS (DELETE FROM "
			 "visits_default WHERE day = %lld RETURNING *) SELECT * FROM d",
			 (long long)day);
		if (!rc && !exists)
			rc = pg_run(c, "making a day partition", sql, NULL, NULL);
		snprintf(sql, sizeof sql,
			 "CREATE TABLE visits_d%lld PARTITION OF visits FOR VALUES FROM (%lld) "
			 "TO (%lld)", (long long)day, (long long)day, (long long)day + 1);
		if (!rc && !exists)
			rc = pg_run(c, "making a day partition of visits", sql, NULL, NULL);
		if (!rc && !exists)
			rc = pg_run(c, "making a day partition",
				    "INSERT INTO visits SELECT * FROM moving", NULL, NULL);
		if (!rc)
			rc = pg_run(c, "making a day partition", "COMMIT", NULL, NULL);
		else
			(void)pg_run(c, "making a day partition", "ROLLBACK", NULL, NULL);
	}
	pg_conn_give(pg, c);
	if (!rc) {
		pthread_mutex_lock(&pg->lock);
		if (pg->parts_to < to_day)
			pg->parts_to = to_day;
		pthread_mutex_unlock(&pg->lock);
	}
	return rc;
}
