/*
 * pg_token_race.c - visit tokens in the PostgreSQL store under concurrent
 * ingest transactions, as two ingest nodes run them (test_pg_tokens.sh):
 * usage: pg_token_race URI (an empty database).
 *
 * Each race runs two transactions on two threads, each with its own
 * connection, and makes the second one block inside its call on the first
 * one's lock (seen in pg_locks, never assumed from time) before the first
 * commits:
 *   1. one token scanned at two venues: one visit, one replay counted;
 *   2. a record whose issue is not announced, while the issuer's batch
 *      announcing it arrives: the record waits, then the batch stores it;
 *   3. the issue announced first, the record second: stored at once;
 *   4. the issue's tokens at two venues (different tokens): both stored.
 * Then the totals: visits, replays, waiting records, issues, through_seq,
 * and every visit's pid and the person's capsule (the contact capsule);
 * and a purge past the tokens' expiry removes the issues and a record
 * still waiting.
 * Prints one line per race; exits 1 on the first difference.
 */
#include "store.h"

#include "anshim/error.h"
#include "anshim/token.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct cl_store *store;
static const char *uri;
static uint8_t id_key[AS_TOKEN_ID_KEY_LEN];
static uint8_t gw_ids[2][AS_GWID_LEN];
static uint8_t pid[AS_PID_LEN], contact[AS_CAPSULE_LEN];
static uint64_t next_seq[2] = {1, 1};
static int64_t now;

static void die(const char *what, int rc)
{
	const char *detail = cl_store_last_error();

	fprintf(stderr, "pg_token_race: %s: %s%s%s\n", what, as_strerror(rc), *detail ? ": " : "",
		detail);
	exit(1);
}

static void expect(const char *what, long long want, long long got)
{
	if (want != got) {
		fprintf(stderr, "pg_token_race: %s: expected %lld, got %lld\n", what, want, got);
		exit(1);
	}
}

/* One side of a race: a transaction that makes one call, says so, and
 * commits when told. */
struct side {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int called, go;
	/* the call: a batch of one token record at gateway gw, or an issue */
	int is_issue;
	int gw;
	uint64_t serial;
	uint8_t index;
	struct cl_ingest_result res;
	struct cl_tokens_result tres;
};

static void *side_run(void *arg)
{
	struct side *sd = arg;
	struct cl_ingest *in;
	int rc = cl_store_ingest_begin(store, &in);

	if (rc)
		die("beginning a transaction", rc);
	if (sd->is_issue) {
		struct cl_token_issue t = {.serial = sd->serial, .count = 4,
					   .expires_at = now + 7 * 86400, .contact = contact};

		memcpy(t.pid, pid, AS_PID_LEN);
		rc = cl_store_ingest_token_issues(in, &t, 1, &sd->tres);
		if (rc)
			die("announcing an issue", rc);
	} else {
		struct as_record r;

		memset(&r, 0, sizeof r);
		r.kind = AS_REC_TOKEN;
		r.seq = next_seq[sd->gw]++;
		r.entry_time = now - 600;
		r.headcount = 1;
		r.credential_expires = now + 7 * 86400;
		if (as_token_id_derive(r.pid, id_key, sd->serial, sd->index) != 0)
			die("making a token id", -1);
		rc = cl_store_ingest_batch(in, gw_ids[sd->gw], &r, NULL, 1, now, now, &sd->res);
		if (rc)
			die("ingesting a token record", rc);
	}
	pthread_mutex_lock(&sd->lock);
	sd->called = 1;
	pthread_cond_broadcast(&sd->cond);
	while (!sd->go)
		pthread_cond_wait(&sd->cond, &sd->lock);
	pthread_mutex_unlock(&sd->lock);
	rc = cl_store_ingest_commit(in);
	if (rc)
		die("committing", rc);
	return NULL;
}

static void side_start(struct side *sd)
{
	pthread_mutex_init(&sd->lock, NULL);
	pthread_cond_init(&sd->cond, NULL);
	if (pthread_create(&sd->thread, NULL, side_run, sd) != 0)
		die("starting a thread", -1);
}

static void side_wait_called(struct side *sd)
{
	pthread_mutex_lock(&sd->lock);
	while (!sd->called)
		pthread_cond_wait(&sd->cond, &sd->lock);
	pthread_mutex_unlock(&sd->lock);
}

static void side_commit(struct side *sd)
{
	pthread_mutex_lock(&sd->lock);
	sd->go = 1;
	pthread_cond_broadcast(&sd->cond);
	pthread_mutex_unlock(&sd->lock);
	pthread_join(sd->thread, NULL);
	pthread_mutex_destroy(&sd->lock);
	pthread_cond_destroy(&sd->cond);
}

/* Wait (30 s at most) until some session waits for a lock. */
static void wait_blocked(const char *what)
{
	PGconn *c = PQconnectdb(uri);
	time_t deadline = time(NULL) + 30;

	if (PQstatus(c) != CONNECTION_OK)
		die("connecting to watch the locks", -1);
	for (;;) {
		PGresult *r = PQexec(c, "SELECT count(*) FROM pg_locks WHERE NOT granted");
		int blocked = PQresultStatus(r) == PGRES_TUPLES_OK && atoi(PQgetvalue(r, 0, 0)) > 0;

		PQclear(r);
		if (blocked)
			break;
		if (time(NULL) > deadline) {
			fprintf(stderr, "pg_token_race: %s: the second transaction never waited "
				"for the first one's lock\n", what);
			exit(1);
		}
		usleep(10000); /* a poll interval; the condition decides */
	}
	PQfinish(c);
}

/* first calls, second calls and blocks on first's lock, first commits,
 * second returns and commits. */
static void race(const char *what, struct side *first, struct side *second)
{
	side_start(first);
	side_wait_called(first);
	side_start(second);
	wait_blocked(what);
	if (second->called) {
		fprintf(stderr, "pg_token_race: %s: the second call returned before the first "
			"transaction committed\n", what);
		exit(1);
	}
	side_commit(first);
	side_wait_called(second);
	side_commit(second);
}

static long long sql_count(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	long long n;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		fprintf(stderr, "pg_token_race: %s: %s\n", sql, PQresultErrorMessage(r));
		exit(1);
	}
	n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

int main(int argc, char **argv)
{
	struct cl_store_stats st;
	char err[512];
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: pg_token_race URI (an empty database)\n");
		return 2;
	}
	uri = argv[1];
	if (sodium_init() < 0)
		die("sodium_init", -1);
	now = (int64_t)time(NULL);
	randombytes_buf(id_key, sizeof id_key);
	randombytes_buf(pid, sizeof pid);
	randombytes_buf(contact, sizeof contact);
	rc = cl_store_open(&store, uri, 0, 0, err, sizeof err);
	if (rc) {
		fprintf(stderr, "pg_token_race: %s\n", err);
		return 1;
	}
	cl_store_set_token_id_key(store, id_key);
	for (int i = 0; i < 2; i++) {
		struct cl_gateway g;
		struct cl_venue v;

		memset(&g, 0, sizeof g);
		memset(&v, 0, sizeof v);
		randombytes_buf(gw_ids[i], AS_GWID_LEN);
		memcpy(g.gw_id, gw_ids[i], AS_GWID_LEN);
		randombytes_buf(g.pk, sizeof g.pk);
		g.venue_id = v.id = (uint32_t)i + 1;
		g.enrolled_at = now - 3600;
		snprintf(v.name, sizeof v.name, "Venue %d", i + 1);
		v.dwell_minutes = 60;
		rc = cl_store_enroll(store, &g, &v);
		if (rc)
			die("enrolling", rc);
	}

	{
		struct side issue = {.is_issue = 1, .serial = 1}, a = {.gw = 0, .serial = 1},
			    b = {.gw = 1, .serial = 1};

		side_start(&issue);
		side_wait_called(&issue);
		side_commit(&issue);
		race("one token at two venues", &a, &b);
		expect("race 1: the first venue's visit", 1, a.res.stored);
		expect("race 1: the second venue's record stored", 0, b.res.stored);
		expect("race 1: the second venue's record a replay", 1, b.res.tokens_replayed);
		expect("race 1: the second venue's record taken", 1, (long long)b.res.through_seq);
		printf("race 1 (one token at two venues): one visit, one replay\n");
	}
	{
		struct side rec = {.gw = 0, .serial = 2}, issue = {.is_issue = 1, .serial = 2};

		race("a record before its issue", &rec, &issue);
		expect("race 2: the record waits", 1, rec.res.tokens_waiting);
		expect("race 2: the issue is new", 1, issue.tres.added);
		expect("race 2: the waiting record stored", 1, issue.tres.resolved);
		printf("race 2 (a record before its issue): waited, stored by the issue\n");
	}
	{
		struct side issue = {.is_issue = 1, .serial = 3}, rec = {.gw = 1, .serial = 3};

		race("an issue before its record", &issue, &rec);
		expect("race 3: the issue is new", 1, issue.tres.added);
		expect("race 3: nothing was waiting", 0, issue.tres.resolved);
		expect("race 3: the record stored", 1, rec.res.stored);
		expect("race 3: the record did not wait", 0, rec.res.tokens_waiting);
		printf("race 3 (an issue before its record): stored at once\n");
	}
	{
		struct side a = {.gw = 0, .serial = 1, .index = 1},
			    b = {.gw = 1, .serial = 1, .index = 2};

		race("two tokens of one issue at two venues", &a, &b);
		expect("race 4: the first token stored", 1, a.res.stored);
		expect("race 4: the second token stored", 1, b.res.stored);
		printf("race 4 (two tokens of one issue): both stored\n");
	}

	rc = cl_store_stats(store, &st);
	if (rc)
		die("reading the statistics", rc);
	expect("visits", 5, (long long)st.visits);
	expect("replayed tokens", 1, (long long)st.tokens_replayed);
	expect("records waiting", 0, (long long)st.tokens_waiting);
	expect("issues", 3, (long long)st.tokens);
	{
		PGconn *c = PQconnectdb(uri);
		char sql[512], hex[AS_PID_LEN * 2 + 1], chex[AS_CAPSULE_LEN * 2 + 1];

		if (PQstatus(c) != CONNECTION_OK)
			die("connecting", -1);
		sodium_bin2hex(hex, sizeof hex, pid, AS_PID_LEN);
		sodium_bin2hex(chex, sizeof chex, contact, AS_CAPSULE_LEN);
		snprintf(sql, sizeof sql, "SELECT count(*) FROM visits WHERE pid = '\\x%s' AND kind = %d",
			 hex, AS_REC_TOKEN);
		expect("visits under the issue's pid", 5, sql_count(c, sql));
		expect("issue 1's used bits (tokens 0, 1, 2)", 7,
		       sql_count(c, "SELECT used FROM token_issues WHERE serial = 1"));
		expect("contact capsules left in issues (all used)", 0,
		       sql_count(c, "SELECT count(*) FROM token_issues WHERE contact IS NOT NULL"));
		snprintf(sql, sizeof sql, "SELECT count(*) FROM capsules WHERE pid = '\\x%s' AND "
			 "capsule = '\\x%s'", hex, chex);
		expect("the person's capsule is the contact capsule", 1, sql_count(c, sql));
		expect("late visits (the record that waited)", 1,
		       sql_count(c, "SELECT count(*) FROM visits WHERE late IS NOT NULL"));
		expect("through_seq of the two gateways", 6,
		       sql_count(c, "SELECT sum(through_seq) FROM gateways"));
		PQfinish(c);
	}
	printf("totals: 5 visits under one pid, 1 replay, 0 waiting, 3 issues\n");

	/* Retention: a record still waiting, then a purge past the tokens'
	 * expiry: the issues and the waiting record go with the visits. */
	{
		struct side rec = {.gw = 1, .serial = 9};
		uint64_t deleted = 0;

		side_start(&rec);
		side_wait_called(&rec);
		side_commit(&rec);
		expect("a record waiting before the purge", 1, rec.res.tokens_waiting);
		rc = cl_store_purge_outside(store, now + 8 * 86400, now + 9 * 86400, 1000, &deleted);
		if (rc)
			die("purging", rc);
		rc = cl_store_stats(store, &st);
		if (rc)
			die("reading the statistics", rc);
		expect("visits purged", 5, (long long)deleted);
		expect("issues after the purge", 0, (long long)st.tokens);
		expect("records waiting after the purge", 0, (long long)st.tokens_waiting);
		printf("purge: %llu visits, every issue and waiting record gone\n",
		       (unsigned long long)deleted);
	}
	cl_store_close(store);
	return 0;
}
