/*
 * store_compare.c - a test helper: the two implementations of the store
 * contract (store.h) give the same answers (test_pg_store.sh).
 *
 *   store_compare LMDB_DIR POSTGRESQL_URI SEED [tokens]
 *
 * It makes one random world (gateways with journals of scans, cards,
 * paper entries and placeholders, each journal hash-chained; wallet
 * check-ins and check-outs) and feeds both stores exactly the same calls:
 * batches in random groups per ingest transaction, sent in order, again
 * (resends), overlapping, and past a gap; app check-ins, some repeated or
 * with a used replay key; check-outs, some for another pid or before the
 * entry; with "tokens", also visit tokens: token records (some used twice,
 * some of a token their issue never had) and the issuer's issues announced
 * before or after the records, some twice, some with another pid; and
 * records marked refused (not collecting); and journals restored from a
 * backup or made anew (fork_gateway), whose batches leave the chain the
 * stores follow.  After every call the two results must be
 * equal; at the end the
 * registry's ingest state, the venues' longest visits, the statistics, the
 * reject counters, every stored visit (by content) and every person's
 * latest capsule; and an index node's store built from scratch from
 * PostgreSQL holds exactly the embedded store's visits.  Then both purge
 * the same window and are compared again,
 * and PostgreSQL must have dropped the day partitions before the horizon's
 * day.  Prints one line per finding and exits 1 on any difference, 2 on a
 * usage or setup error.  Single-threaded.
 */
#include "store.h"

#include "anshim/chain.h"
#include "anshim/error.h"
#include "anshim/token.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GATEWAYS 4
#define RECORDS 300
#define PEOPLE 60
#define APP_VENUE 9
#define DAY 86400
#define ISSUES 12
#define ISSUE_COUNT 8

static uint64_t rng_state;
static int failures;
static unsigned app_outcomes[5], gaps, resends_judged;
static unsigned tok_stored, tok_waiting, tok_replayed, tok_resolved, tok_known, refused_total;
static uint8_t id_key[AS_TOKEN_ID_KEY_LEN];
static int with_tokens; /* "tokens": token records, issues and refused marks too */
static unsigned forks_made, reconciled_batches;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void rnd_bytes(uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)rnd();
}

#define SAME(what, a, b)                                                                  \
	do {                                                                              \
		if ((long long)(a) != (long long)(b)) {                                   \
			printf("DIFFERENT %s: lmdb %lld, postgresql %lld\n", what,         \
			       (long long)(a), (long long)(b));                            \
			failures++;                                                       \
		}                                                                         \
	} while (0)

struct world {
	int64_t now;
	uint8_t person_pid[PEOPLE][AS_PID_LEN];
	uint8_t person_capsule[PEOPLE][AS_CAPSULE_LEN];
	struct {
		int person, announced;
		int has_contact;
		uint8_t contact[AS_CAPSULE_LEN];
	} issue[ISSUES];
	struct {
		uint8_t id[AS_GWID_LEN];
		uint8_t journal[AS_JOURNAL_ID_LEN];
		struct as_record recs[RECORDS];
		uint8_t digests[RECORDS][AS_CHAIN_LEN];
		uint8_t links[RECORDS + 1][AS_CHAIN_LEN];   /* links[k]: after seq k */
		uint64_t sent;                               /* highest seq sent in order */
	} gw[GATEWAYS];
};

/* Record i (seq i + 1) of gateway g's journal, made anew at random, with
 * its digest and the link after it. */
static void make_record(struct world *w, int g, int i)
{
	struct as_record *r = &w->gw[g].recs[i];
	uint64_t k = below(100);
	int p = (int)below(PEOPLE);

	memset(r, 0, sizeof *r);
	r->seq = (uint64_t)i + 1;
	r->headcount = (uint16_t)(1 + below(3));
	r->flags = (uint8_t)below(4);
	r->entry_time = w->now - (int64_t)below(5 * DAY);
	if (below(3) == 0)
		r->exit_time = r->entry_time + 60 + (int64_t)below(7200);
	if (k < 3) {
		/* A placeholder of a record purged long ago. */
		r->kind = AS_REC_EXPIRED;
		r->entry_time = w->now - 40 * DAY - (int64_t)below(DAY);
		r->exit_time = 0;
		r->flags = 0;
		r->headcount = 1;
	} else if (with_tokens && k >= 92 && k != 95) {
		/* A visit token: issue i, token below(ISSUE_COUNT + 1)
		 * (the last one its issue never had); tokens are few,
		 * so some are used twice. */
		r->kind = AS_REC_TOKEN;
		r->credential_expires = w->now + 7 * DAY;
		if (as_token_id_derive(r->pid, id_key, 1 + below(ISSUES),
				       (uint8_t)below(ISSUE_COUNT + 1)) != 0)
			abort();
	} else {
		r->kind = k < 80 ? AS_REC_PASS
			  : k < (with_tokens ? 88u : 92u) ? AS_REC_CARD
							  : AS_REC_MANUAL;
		if (k != 50) /* now and then nobody: a pid the caller lacked */
			memcpy(r->pid, w->person_pid[p], AS_PID_LEN);
		memcpy(r->capsule, w->person_capsule[p], AS_CAPSULE_LEN);
		if (r->kind == AS_REC_MANUAL || below(10) == 0)
			rnd_bytes(r->capsule, AS_CAPSULE_LEN); /* sealed anew */
		if (below(12) == 0) /* a new credential from now on */
			memcpy(w->person_capsule[p], r->capsule, AS_CAPSULE_LEN);
	}
	as_chain_record_digest(r, w->gw[g].digests[i]);
	as_chain_link(w->gw[g].links[i], w->gw[g].digests[i], w->gw[g].links[i + 1]);
}

static void make_world(struct world *w)
{
	w->now = (int64_t)time(NULL);
	for (int p = 0; p < PEOPLE; p++) {
		rnd_bytes(w->person_pid[p], AS_PID_LEN);
		rnd_bytes(w->person_capsule[p], AS_CAPSULE_LEN);
	}
	for (int i = 0; with_tokens && i < ISSUES; i++) {
		w->issue[i].person = (int)below(PEOPLE);
		w->issue[i].has_contact = below(4) != 0;
		rnd_bytes(w->issue[i].contact, AS_CAPSULE_LEN);
	}
	for (int g = 0; g < GATEWAYS; g++) {
		rnd_bytes(w->gw[g].id, AS_GWID_LEN);
		rnd_bytes(w->gw[g].journal, AS_JOURNAL_ID_LEN);
		memset(w->gw[g].links[0], 0, AS_CHAIN_LEN);
		for (int i = 0; i < RECORDS; i++)
			make_record(w, g, i);
	}
}

/*
 * Gateway g's journal leaves the chain the stores follow, as a gateway's
 * does when its state is restored from a backup or its journal is made
 * anew: either a new journal (another id, every record made anew from seq
 * 1), or a restored copy acknowledged through some seq f that holds, past
 * f, a few records the stores took (the same content), then records of its
 * own under seqs the stores hold others under.  The gateway sends again
 * from its acknowledged seq.
 */
static void fork_gateway(struct world *w, int g)
{
	uint64_t sent = w->gw[g].sent, from, f;

	if (below(3) == 0) {
		rnd_bytes(w->gw[g].journal, AS_JOURNAL_ID_LEN);
		f = 0;
		from = 1;
	} else {
		f = below(sent);
		from = f + 1 + below(sent - f < 5 ? sent - f : 5);
	}
	for (uint64_t i = from - 1; i < RECORDS; i++)
		make_record(w, g, (int)i);
	w->gw[g].sent = f;
	forks_made++;
}

static void compare_result(const char *what, int rc_l, const struct cl_ingest_result *l, int rc_p,
			   const struct cl_ingest_result *p)
{
	char name[160];

	snprintf(name, sizeof name, "%s: return", what);
	SAME(name, rc_l, rc_p);
	if (rc_l || rc_p)
		return;
	snprintf(name, sizeof name, "%s: through_seq", what);
	SAME(name, l->through_seq, p->through_seq);
	snprintf(name, sizeof name, "%s: stored", what);
	SAME(name, l->stored, p->stored);
	snprintf(name, sizeof name, "%s: duplicates", what);
	SAME(name, l->duplicates, p->duplicates);
	snprintf(name, sizeof name, "%s: expired", what);
	SAME(name, l->expired, p->expired);
	snprintf(name, sizeof name, "%s: gap", what);
	SAME(name, l->gap, p->gap);
	snprintf(name, sizeof name, "%s: reconciled", what);
	SAME(name, l->reconciled, p->reconciled);
	snprintf(name, sizeof name, "%s: chain cause", what);
	SAME(name, l->chain_cause, p->chain_cause);
	snprintf(name, sizeof name, "%s: reconciled", what);
	SAME(name, l->reconciled, p->reconciled);
	snprintf(name, sizeof name, "%s: chain event", what);
	SAME(name, l->chain_event, p->chain_event);
	snprintf(name, sizeof name, "%s: has_chain", what);
	SAME(name, l->has_chain, p->has_chain);
	snprintf(name, sizeof name, "%s: chain seq", what);
	SAME(name, l->chain.seq, p->chain.seq);
	snprintf(name, sizeof name, "%s: chain head", what);
	SAME(name, memcmp(l->chain.head, p->chain.head, AS_CHAIN_LEN) == 0, 1);
	snprintf(name, sizeof name, "%s: refused", what);
	SAME(name, l->refused, p->refused);
	snprintf(name, sizeof name, "%s: tokens waiting", what);
	SAME(name, l->tokens_waiting, p->tokens_waiting);
	snprintf(name, sizeof name, "%s: tokens replayed", what);
	SAME(name, l->tokens_replayed, p->tokens_replayed);
}

/* The issuer's batch announcing issue i (again, when announced before; now
 * and then with another pid, a serial issued twice) into both. */
static void send_issue(struct world *w, int i, struct cl_ingest *tl, struct cl_ingest *tp)
{
	struct cl_token_issue t;
	struct cl_tokens_result rl, rp;
	char what[80];

	memset(&t, 0, sizeof t);
	t.serial = (uint64_t)i + 1;
	t.count = ISSUE_COUNT;
	t.expires_at = w->now + 7 * DAY;
	/* An issue without a contact capsule is one whose capsule did not
	 * open: attributed to nobody (pid all zero). */
	if (w->issue[i].has_contact)
		memcpy(t.pid, w->person_pid[w->issue[i].person], AS_PID_LEN);
	if (w->issue[i].announced && below(3) == 0)
		t.pid[0] ^= 1;
	t.contact = w->issue[i].has_contact ? w->issue[i].contact : NULL;
	snprintf(what, sizeof what, "issue %d", i + 1);
	SAME(what, cl_store_ingest_token_issues(tl, &t, 1, &rl),
	     cl_store_ingest_token_issues(tp, &t, 1, &rp));
	SAME("issue: added", rl.added, rp.added);
	SAME("issue: known", rl.known, rp.known);
	SAME("issue: conflicting", rl.conflicting, rp.conflicting);
	SAME("issue: resolved", rl.resolved, rp.resolved);
	tok_resolved += rl.resolved;
	tok_known += rl.known;
	w->issue[i].announced = 1;
}

/* One batch of gateway g, seqs first..last, into both transactions. */
static void send_batch(struct world *w, int g, uint64_t first, uint64_t last,
		       struct cl_ingest *tl, struct cl_ingest *tp)
{
	struct cl_chain_batch chain;
	struct cl_ingest_result rl, rp;
	const size_t n = (size_t)(last - first + 1);
	int rc_l, rc_p;
	char what[80];

	memcpy(chain.journal_id, w->gw[g].journal, AS_JOURNAL_ID_LEN);
	memcpy(chain.prev, w->gw[g].links[first - 1], AS_CHAIN_LEN);
	memcpy(chain.head, w->gw[g].links[last], AS_CHAIN_LEN);
	chain.digests = (const uint8_t (*)[AS_CHAIN_LEN])w->gw[g].digests[first - 1];
	chain.keep_from = w->now - 30 * DAY;
	chain.keep_to = w->now + 600;
	if (with_tokens && below(4) == 0) {
		/* Some records made while their category was not collecting. */
		static uint8_t refused[RECORDS];

		for (size_t i = 0; i < n; i++)
			refused[i] = below(8) == 0;
		cl_store_ingest_refuse(tl, refused, n);
		cl_store_ingest_refuse(tp, refused, n);
	}
	rc_l = cl_store_ingest_chained_batch(tl, w->gw[g].id, &chain, &w->gw[g].recs[first - 1],
					     NULL, n, w->now - 5, w->now, &rl);
	rc_p = cl_store_ingest_chained_batch(tp, w->gw[g].id, &chain, &w->gw[g].recs[first - 1],
					     NULL, n, w->now - 5, w->now, &rp);
	snprintf(what, sizeof what, "gateway %d batch %llu..%llu", g, (unsigned long long)first,
		 (unsigned long long)last);
	compare_result(what, rc_l, &rl, rc_p, &rp);
	if (rc_p)
		printf("  (postgresql: %s)\n", cl_store_last_error());
	if (!rc_l && rl.duplicates == n)
		resends_judged++;
	if (!rc_l && rl.reconciled)
		reconciled_batches++;
	if (!rc_l) {
		tok_waiting += rl.tokens_waiting;
		tok_replayed += rl.tokens_replayed;
		refused_total += rl.refused;
		for (size_t i = 0; i < n; i++)
			tok_stored += w->gw[g].recs[first - 1 + i].kind == AS_REC_TOKEN;
	}
	if (!rc_l && rl.gap) {
		gaps++;
		SAME("counting a gap", cl_store_ingest_count_reject(tl, "gap"),
		     cl_store_ingest_count_reject(tp, "gap"));
	}
	if (!rc_l && !rl.gap && last > w->gw[g].sent)
		w->gw[g].sent = last;
}

struct app_state {
	uint8_t ids[200][CL_APP_ID_LEN];
	uint8_t keys[200][CL_APP_ID_LEN];
	int person[200];
	int64_t entry[200];
	int n;
};

static void send_app(struct world *w, struct app_state *a, struct cl_ingest *tl,
		     struct cl_ingest *tp)
{
	int ol = 0, op = 0, rc_l, rc_p;

	if (a->n && below(3) == 0) {
		/* A check-out: of a known check-in, by its pid or another. */
		int k = (int)below((uint64_t)a->n);
		int p = below(4) == 0 ? (int)below(PEOPLE) : a->person[k];
		int64_t exit = below(6) == 0 ? a->entry[k] - 10 : a->entry[k] + 60 + (int64_t)below(3) * 600;

		rc_l = cl_store_ingest_app_exit(tl, a->ids[k], w->person_pid[p], exit, &ol);
		rc_p = cl_store_ingest_app_exit(tp, a->ids[k], w->person_pid[p], exit, &op);
		SAME("app check-out: return", rc_l, rc_p);
		SAME("app check-out: outcome", ol, op);
		if (rc_l == AS_E_FIELD)
			app_outcomes[0]++;
		else if (ol >= 1 && ol <= 4)
			app_outcomes[ol]++;
		return;
	}
	{
		struct cl_app_visit v;
		int k = a->n < 200 ? a->n : 199;

		memset(&v, 0, sizeof v);
		if (a->n && below(8) == 0) {
			int j = (int)below((uint64_t)a->n);

			memcpy(v.checkin_id, a->ids[j], CL_APP_ID_LEN); /* sent again */
		} else {
			rnd_bytes(v.checkin_id, CL_APP_ID_LEN);
		}
		if (a->n && below(6) == 0)
			memcpy(v.replay_key, a->keys[below((uint64_t)a->n)], CL_APP_ID_LEN);
		else if (below(2))
			rnd_bytes(v.replay_key, CL_APP_ID_LEN);
		a->person[k] = (int)below(PEOPLE);
		memcpy(v.pid, w->person_pid[a->person[k]], AS_PID_LEN);
		memcpy(v.capsule, w->person_capsule[a->person[k]], AS_CAPSULE_LEN);
		v.venue_id = APP_VENUE;
		v.entry = w->now - (int64_t)below(4 * DAY);
		v.flags = (uint8_t)below(4);
		rc_l = cl_store_ingest_app(tl, &v, &ol);
		rc_p = cl_store_ingest_app(tp, &v, &op);
		SAME("app check-in: return", rc_l, rc_p);
		SAME("app check-in: outcome", ol, op);
		if (ol >= 1 && ol <= 4)
			app_outcomes[ol]++;
		if (ol == CL_APP_STORED && a->n < 200) {
			memcpy(a->ids[a->n], v.checkin_id, CL_APP_ID_LEN);
			memcpy(a->keys[a->n], v.replay_key, CL_APP_ID_LEN);
			a->entry[a->n] = v.entry;
			a->n++;
		}
	}
}

/* ---- the stores' contents ---- */

struct visit_row {
	uint32_t venue;
	int64_t entry, exit;
	uint8_t pid[AS_PID_LEN];
	uint8_t kind, flags;
	uint16_t headcount;
};

struct rows {
	struct visit_row *v;
	size_t n, cap;
};

static int add_row(void *ctx, const struct cl_visit *v)
{
	struct rows *r = ctx;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		struct visit_row *p = realloc(r->v, cap * sizeof *p);

		if (!p)
			return -1;
		r->v = p;
		r->cap = cap;
	}
	memset(&r->v[r->n], 0, sizeof r->v[r->n]);
	r->v[r->n].venue = v->venue_id;
	r->v[r->n].entry = v->entry;
	r->v[r->n].exit = v->exit;
	memcpy(r->v[r->n].pid, v->pid, AS_PID_LEN);
	r->v[r->n].kind = v->kind;
	r->v[r->n].flags = v->flags;
	r->v[r->n].headcount = v->headcount;
	r->n++;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct visit_row));
}

static int64_t pq_int(PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* An index node's store built from scratch from p (cl_store_index_step,
 * small steps) holds exactly the embedded store l's visits, each once (a
 * token visit copied as a pass's): a fork's visits included, which come by
 * the index's late cursor. */
static void compare_index(struct world *w, struct cl_store *l, struct cl_store *p,
			  const char *dir)
{
	struct rows rl = {0}, ri = {0};
	struct cl_store *idx = NULL;
	char err[256];
	uint64_t copied = 1, behind = 1;
	int steps = 0;

	if (cl_store_open(&idx, dir, UINT64_C(1) << 30, 0, err, sizeof err)) {
		printf("index: %s\n", err);
		failures++;
		return;
	}
	while ((copied || behind) && steps++ < 100000)
		if (cl_store_index_step(idx, p, 37, &copied, &behind)) {
			printf("index: a step failed: %s\n", cl_store_last_error());
			failures++;
			break;
		}
	for (uint32_t venue = 1; venue <= APP_VENUE; venue++)
		if (cl_store_visits_at(l, venue, 0, w->now + 10 * DAY, add_row, &rl) ||
		    cl_store_visits_at(idx, venue, 0, w->now + 10 * DAY, add_row, &ri))
			printf("reading visits failed\n"), failures++;
	for (size_t i = 0; i < rl.n; i++)
		if (rl.v[i].kind == AS_REC_TOKEN)
			rl.v[i].kind = AS_REC_PASS;
	qsort(rl.v, rl.n, sizeof *rl.v, row_cmp);
	qsort(ri.v, ri.n, sizeof *ri.v, row_cmp);
	SAME("index built from scratch: visits", rl.n, ri.n);
	SAME("index built from scratch: the visits themselves",
	     rl.n == ri.n && (rl.n == 0 || memcmp(rl.v, ri.v, rl.n * sizeof *rl.v) == 0), 1);
	printf("index built from scratch in %d steps: %zu visits\n", steps, ri.n);
	free(rl.v);
	free(ri.v);
	cl_store_close(idx);
}

static void compare_contents(struct world *w, struct cl_store *l, struct cl_store *p,
			     PGconn *pq, const char *when)
{
	struct rows rl = {0}, rp = {0};
	struct cl_store_stats sl, sp;
	PGresult *r;
	char what[120];

	for (uint32_t venue = 1; venue <= APP_VENUE; venue++)
		if (cl_store_visits_at(l, venue, 0, w->now + 10 * DAY, add_row, &rl))
			printf("lmdb: reading visits failed\n"), failures++;
	r = PQexec(pq, "SELECT venue_id, entry, exit, encode(pid, 'hex'), kind, flags, headcount "
		       "FROM visits");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		printf("postgresql: reading visits failed: %s", PQerrorMessage(pq));
		failures++;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		struct cl_visit v;

		memset(&v, 0, sizeof v);
		v.venue_id = (uint32_t)pq_int(r, i, 0);
		v.entry = pq_int(r, i, 1);
		v.exit = pq_int(r, i, 2);
		sodium_hex2bin(v.pid, AS_PID_LEN, PQgetvalue(r, i, 3), 32, NULL, NULL, NULL);
		v.kind = (uint8_t)pq_int(r, i, 4);
		v.flags = (uint8_t)pq_int(r, i, 5);
		v.headcount = (uint16_t)pq_int(r, i, 6);
		add_row(&rp, &v);
	}
	PQclear(r);
	snprintf(what, sizeof what, "%s: stored visits", when);
	SAME(what, rl.n, rp.n);
	qsort(rl.v, rl.n, sizeof *rl.v, row_cmp);
	qsort(rp.v, rp.n, sizeof *rp.v, row_cmp);
	snprintf(what, sizeof what, "%s: the visits themselves", when);
	SAME(what, rl.n == rp.n && (rl.n == 0 || memcmp(rl.v, rp.v, rl.n * sizeof *rl.v) == 0), 1);
	printf("%s: %zu visits in each store\n", when, rl.n);
	free(rl.v);
	free(rp.v);

	for (int g = 0; g < GATEWAYS; g++) {
		struct cl_gateway gl, gp;

		SAME("reading a gateway", cl_store_get_gateway(l, w->gw[g].id, &gl),
		     cl_store_get_gateway(p, w->gw[g].id, &gp));
		snprintf(what, sizeof what, "%s: gateway %d through_seq", when, g);
		SAME(what, gl.through_seq, gp.through_seq);
		snprintf(what, sizeof what, "%s: gateway %d records", when, g);
		SAME(what, gl.records, gp.records);
		snprintf(what, sizeof what, "%s: gateway %d batches", when, g);
		SAME(what, gl.batches, gp.batches);
		snprintf(what, sizeof what, "%s: gateway %d last_created", when, g);
		SAME(what, gl.last_created, gp.last_created);
	}
	for (uint32_t venue = 1; venue <= APP_VENUE; venue++) {
		struct cl_venue vl, vp;
		int a = cl_store_get_venue(l, venue, &vl), b = cl_store_get_venue(p, venue, &vp);

		SAME("reading a venue", a, b);
		snprintf(what, sizeof what, "%s: venue %u longest visit", when, venue);
		if (!a && !b)
			SAME(what, vl.longest_visit, vp.longest_visit);
	}
	SAME("statistics", cl_store_stats(l, &sl), cl_store_stats(p, &sp));
	snprintf(what, sizeof what, "%s: stats visits", when);
	SAME(what, sl.visits, sp.visits);
	snprintf(what, sizeof what, "%s: stats people", when);
	SAME(what, sl.people, sp.people);
	snprintf(what, sizeof what, "%s: stats batches", when);
	SAME(what, sl.batches, sp.batches);
	snprintf(what, sizeof what, "%s: stats rejects", when);
	SAME(what, sl.rejects_total, sp.rejects_total);
	snprintf(what, sizeof what, "%s: stats token issues", when);
	SAME(what, sl.tokens, sp.tokens);
	snprintf(what, sizeof what, "%s: stats tokens waiting", when);
	SAME(what, sl.tokens_waiting, sp.tokens_waiting);
	snprintf(what, sizeof what, "%s: stats tokens replayed", when);
	SAME(what, sl.tokens_replayed, sp.tokens_replayed);
	printf("%s: %llu token issues, %llu records waiting, %llu replayed\n", when,
	       (unsigned long long)sl.tokens, (unsigned long long)sl.tokens_waiting,
	       (unsigned long long)sl.tokens_replayed);

	/* Each person's latest capsule (LMDB: cl_store_capsule). */
	for (int i = 0; i < PEOPLE; i++) {
		uint8_t cl[AS_CAPSULE_LEN], cp[AS_CAPSULE_LEN];
		char q[200], hex[2 * AS_PID_LEN + 1];
		int a = cl_store_capsule(l, w->person_pid[i], cl), b;

		sodium_bin2hex(hex, sizeof hex, w->person_pid[i], AS_PID_LEN);
		snprintf(q, sizeof q, "SELECT encode(coalesce(paper, capsule), 'hex') FROM capsules "
			 "WHERE pid = '\\x%s'", hex);
		r = PQexec(pq, q);
		b = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
			    ? sodium_hex2bin(cp, sizeof cp, PQgetvalue(r, 0, 0),
					     strlen(PQgetvalue(r, 0, 0)), NULL, NULL, NULL)
			    : AS_E_NOT_FOUND;
		PQclear(r);
		snprintf(what, sizeof what, "%s: person %d has a capsule", when, i);
		SAME(what, a == 0, b == 0);
		snprintf(what, sizeof what, "%s: person %d's latest capsule", when, i);
		if (!a && !b)
			SAME(what, memcmp(cl, cp, AS_CAPSULE_LEN) == 0, 1);
	}
}

static void enroll_both(struct world *w, struct cl_store *l, struct cl_store *p)
{
	for (uint32_t venue = 1; venue <= APP_VENUE; venue++) {
		struct cl_venue v;
		struct cl_gateway g;

		memset(&v, 0, sizeof v);
		memset(&g, 0, sizeof g);
		v.id = venue;
		snprintf(v.name, sizeof v.name, "Venue %u", venue);
		v.dwell_minutes = 30;
		if (venue <= GATEWAYS) {
			memcpy(g.gw_id, w->gw[venue - 1].id, AS_GWID_LEN);
		} else {
			g.gw_id[0] = (uint8_t)venue; /* a spare gateway, so the venue exists */
			g.gw_id[1] = 0xee;
		}
		rnd_bytes(g.pk, AS_SIGN_PK_LEN);
		g.venue_id = venue;
		g.enrolled_at = w->now - DAY;
		SAME("enrolling", cl_store_enroll(l, &g, &v), cl_store_enroll(p, &g, &v));
	}
}

int main(int argc, char **argv)
{
	static struct world w;
	static struct app_state apps;
	struct cl_store *l = NULL, *p = NULL;
	char err[512] = "";
	PGconn *pq;
	uint64_t dl = 0, dp = 0;
	int rounds = 0, app_ops = 0, forks[GATEWAYS] = {0};
	char index_dir[4096];

	if (argc != 4 && !(argc == 5 && strcmp(argv[4], "tokens") == 0)) {
		fprintf(stderr, "usage: store_compare LMDB_DIR POSTGRESQL_URI SEED [tokens]\n");
		return 2;
	}
	with_tokens = argc == 5;

	rng_state = strtoull(argv[3], NULL, 10) * UINT64_C(0x9E3779B97F4A7C15) + 1;
	if (!rng_state)
		rng_state = 1;
	if (sodium_init() < 0 || cl_store_open(&l, argv[1], UINT64_C(1) << 30, 0, err, sizeof err) ||
	    cl_store_open(&p, argv[2], 0, 0, err, sizeof err)) {
		fprintf(stderr, "store_compare: %s\n", err);
		return 2;
	}
	pq = PQconnectdb(argv[2]);
	if (PQstatus(pq) != CONNECTION_OK) {
		fprintf(stderr, "store_compare: %s", PQerrorMessage(pq));
		return 2;
	}
	randombytes_buf(id_key, sizeof id_key);
	cl_store_set_token_id_key(l, id_key);
	cl_store_set_token_id_key(p, id_key);
	make_world(&w);
	enroll_both(&w, l, p);

	/* Until every journal is through (bounded). */
	for (; rounds < 5000; rounds++) {
		struct cl_ingest *tl = NULL, *tp = NULL;
		int done = 1, group = 1 + (int)below(6);

		for (int g = 0; g < GATEWAYS; g++)
			done &= w.gw[g].sent == RECORDS;
		done &= app_ops >= 150;
		if (done)
			break;
		if (cl_store_ingest_begin(l, &tl) || cl_store_ingest_begin(p, &tp)) {
			printf("beginning a transaction failed: %s\n", cl_store_last_error());
			return 1;
		}
		for (int k = 0; k < group; k++) {
			int g = (int)below(GATEWAYS);
			uint64_t sent = w.gw[g].sent, first, last, c = below(100);

			if (c < 20) {
				send_app(&w, &apps, tl, tp);
				app_ops++;
				continue;
			}
			if (with_tokens && c >= 96) {
				send_issue(&w, (int)below(ISSUES), tl, tp);
				continue;
			}
			if (c >= 33 && c < 35 && forks[g] < 2 && sent >= 2) {
				/* Its journal restored or made anew: it sends
				 * again from what was acknowledged. */
				fork_gateway(&w, g);
				forks[g]++;
				continue;
			}
			if (c < 20 && sent) /* a resend of what was sent */
				first = 1 + below(sent);
			else if (c < 28 && sent) /* overlapping */
				first = sent > 5 ? sent - below(5) : 1;
			else if (c < 33) /* past a gap */
				first = sent + 2 + below(10);
			else
				first = sent + 1;
			if (first > RECORDS)
				continue;
			last = first + below(25);
			if (c < 20 && last > sent && sent)
				last = sent;
			if (last > RECORDS)
				last = RECORDS;
			send_batch(&w, g, first, last, tl, tp);
		}
		if (below(20) == 0)
			SAME("counting a reject", cl_store_ingest_count_reject(tl, "bad-signature"),
			     cl_store_ingest_count_reject(tp, "bad-signature"));
		SAME("committing", cl_store_ingest_commit(tl), cl_store_ingest_commit(tp));
		if (failures > 20)
			break;
	}
	/* The issues not announced yet arrive: no record waits any more. */
	if (with_tokens) {
		struct cl_ingest *tl = NULL, *tp = NULL;

		if (cl_store_ingest_begin(l, &tl) || cl_store_ingest_begin(p, &tp)) {
			printf("beginning a transaction failed: %s\n", cl_store_last_error());
			return 1;
		}
		compare_contents(&w, l, p, pq, "before the last issues");
		for (int i = 0; i < ISSUES; i++)
			if (!w.issue[i].announced)
				send_issue(&w, i, tl, tp);
		SAME("committing", cl_store_ingest_commit(tl), cl_store_ingest_commit(tp));
	}
	if (with_tokens)
		printf("tokens: %u records, %u waited, %u resolved by their issue, %u replayed, "
		       "%u issues sent again; %u records refused (not collecting)\n", tok_stored,
		       tok_waiting, tok_resolved, tok_replayed, tok_known, refused_total);
	printf("%u journals restored or made anew, %u batches reconciled by content\n",
	       forks_made, reconciled_batches);
	printf("%d ingest transactions; %u gaps, %u resends; app: %u stored, %u duplicate, "
	       "%u replay, %u unknown, %u refused check-outs\n", rounds, gaps, resends_judged,
	       app_outcomes[CL_APP_STORED], app_outcomes[CL_APP_DUPLICATE],
	       app_outcomes[CL_APP_REPLAY], app_outcomes[CL_APP_UNKNOWN], app_outcomes[0]);
	compare_contents(&w, l, p, pq, "after ingest");
	snprintf(index_dir, sizeof index_dir, "%s-index", argv[1]);
	compare_index(&w, l, p, index_dir);

	/* The purge: the same window on both. */
	{
		int64_t horizon = w.now - DAY, limit = w.now + 600;
		char q[160];
		PGresult *r;

		SAME("purge: return", cl_store_purge_outside(l, horizon, limit, 100, &dl),
		     cl_store_purge_outside(p, horizon, limit, 100, &dp));
		SAME("purge: visits deleted", dl, dp);
		printf("purge: %llu visits deleted in each store\n", (unsigned long long)dl);
		compare_contents(&w, l, p, pq, "after the purge");
		snprintf(q, sizeof q, "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname "
			 "~ '^visits_d[0-9]+$' AND substr(relname, 9)::int8 < %lld",
			 (long long)(horizon / DAY));
		r = PQexec(pq, q);
		SAME("postgresql: day partitions left before the horizon's day", 0,
		     PQresultStatus(r) == PGRES_TUPLES_OK ? pq_int(r, 0, 0) : -1);
		PQclear(r);
		r = PQexec(pq, "SELECT count(*) FROM visits_default");
		printf("postgresql: %lld visits in visits_default after the purge\n",
		       (long long)(PQresultStatus(r) == PGRES_TUPLES_OK ? pq_int(r, 0, 0) : -1));
		PQclear(r);
	}
	PQfinish(pq);
	cl_store_close(l);
	cl_store_close(p);
	printf(failures ? "DIFFERENT: %d findings\n" : "same answers\n", failures);
	return failures ? 1 : 0;
}
