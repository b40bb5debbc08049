/*
 * visits_gen - generate the benchmark world (bench/gen.h) and load it into
 * an Anshim cloud store through cl_store_ingest_batch, write it as CSV for
 * PostgreSQL's COPY, sample trace cases, and run the purge test.  Driven by
 * bench/compare_postgres; see bench/README.md.
 *
 * Figures are printed for people, and as "RESULT key=value" lines for the
 * driver.  A benchmark reports; it never asserts (exit 0 when it ran).
 */
#include "gen.h"

#include "anshim/args.h"
#include "anshim/batch.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/parse.h"
#include "anshim/token.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PURGE_SLICE 20000 /* as anshim-cloudd (cloud/aggregator/cloudd.c) */
#define SKEWED_ZIPF_MILLI 1100

struct options {
	struct gen_params p;
	int64_t group, group_bytes, cases, cases_min, cases_max, purge_rate, purge_slice;
	const char *store, *csv, *cases_file;
	int purge_test;
	int tokens;     /* pass scans as visit tokens (pass version 2) */
	int64_t per_issue; /* tokens a wallet gets at a time */
};

static const char usage_text[] =
"Usage: visits_gen [options]\n"
"\n"
"World (the same options give the same world):\n"
"  --visits N       visits in the D days (default 1000000)\n"
"  --days D         days (default 28)\n"
"  --venues V       venues (default visits / days / 26)\n"
"  --people P       people (default visits / days / 1.5)\n"
"  --zipf S         venue popularity exponent (default 0.8)\n"
"  --top-rank R     the R busiest ranks count as rank R: flattens the top\n"
"                   (default 20; 1: pure Zipf)\n"
"  --skewed         the skewed world: a few very busy venues (a market, a\n"
"                   terminal): --zipf 1.1 unless given; at 10M visits the\n"
"                   busiest venue has about 11,500 visits a day\n"
"  --batch B        most records per batch (default 500)\n"
"  --window S       a gateway's send window, seconds (default 86400)\n"
"  --seed X         (default 1)\n"
"What to do (any combination, in this order):\n"
"  --store DIR      create a store in DIR and ingest the D days into it\n"
"  --group K        most batches per write transaction (default 4096, as\n"
"                   anshim-cloudd's ingest_group)\n"
"  --group-bytes B  most batch bytes (as sent) per write transaction (default\n"
"                   16777216, as anshim-cloudd's ingest_group_bytes)\n"
"  --csv DIR        write venues, gateways, people and visits CSV files\n"
"  --cases FILE     write sampled trace cases (pid from to visits)\n"
"  --cases-n N      how many (default 20), with --cases-min..--cases-max\n"
"                   visits in a 14-day window (default 15..25)\n"
"  --purge-test     with --store DIR of an earlier load: purge day 0 through\n"
"                   cl_store_purge while another process ingests the held-back\n"
"                   extra day at --purge-rate visits/s (default 0: the day's\n"
"                   visits over 60 s), commits of at most K batches; reports\n"
"                   the purge time and the longest stall of the ingest\n"
"  --purge-slice N  visits per purge transaction (default 20000, as anshim-cloudd)\n"
"  --tokens         with --store: every pass scan is a version 2 pass, a record\n"
"                   of a visit token; each person's tokens are issued 64 at a\n"
"                   time (one issue: serial, pid and contact capsule), the\n"
"                   issue announced in the transaction of the batch that uses\n"
"                   its first token, as the capsule feed delivers it before\n"
"                   use, valid for 7 days after the day of issue; a person's\n"
"                   next issue when theirs runs out or expires; the store\n"
"                   keeps one row per issue, with its tokens' used bits\n"
"  --tokens-per-issue N  tokens a wallet gets at a time (default 64, 1..64)\n";

static double cpu_sec(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- the world, described ------------------------------------------------ */

static void describe(const struct gen_world *w)
{
	size_t nv = w->n_venues;
	double *per = calloc(nv, sizeof *per), days = (double)w->p.days;
	double batches_rec = (double)w->n_main / (double)(w->n_main_batches ? w->n_main_batches : 1);

	printf("world: %zu visits in %lld days (%.0f a day) + %zu held back (day %lld), "
	       "%zu venues, %zu gateways, %lld people (%u with visits), map %.1f x %.1f km, "
	       "seed %llu\n", w->n_main, (long long)w->p.days, (double)w->n_main / days,
	       w->n_visits - w->n_main, (long long)w->p.days, nv, w->n_gw,
	       (long long)w->p.people, w->n_people_seen, w->side, w->side,
	       (unsigned long long)w->p.seed);
	printf("batches: %zu (%.1f records each on average, send window %lld s, at most %lld)\n",
	       w->n_main_batches, batches_rec, (long long)w->p.batch_window,
	       (long long)w->p.batch_max);
	if (per) {
		for (size_t i = 0; i < w->n_visits; i++)
			if (!w->v[i].extra)
				per[w->gw_venue[w->v[i].gw] - 1] += 1.0 / days;
		qsort(per, nv, sizeof *per, bench_cmp_double);
		printf("visits per venue per day: max %.0f, 99th pct %.0f, 90th %.0f, median %.1f, "
		       "10th %.1f\n", per[nv - 1], per[(size_t)(0.99 * (double)(nv - 1))],
		       per[(size_t)(0.9 * (double)(nv - 1))], per[(nv - 1) / 2],
		       per[(size_t)(0.1 * (double)(nv - 1))]);
		free(per);
	}
	printf("RESULT world_venues=%zu world_gateways=%zu world_people=%u world_batches=%zu\n",
	       nv, w->n_gw, w->n_people_seen, w->n_main_batches);
}

/* ---- ingest ---------------------------------------------------------------- */

struct ingest_buf {
	struct as_record *recs;
	uint8_t (*pids)[AS_PID_LEN];
};

static int buf_init(struct ingest_buf *b, size_t n)
{
	b->recs = calloc(n, sizeof *b->recs);
	b->pids = calloc(n, AS_PID_LEN);
	return b->recs && b->pids ? 0 : -ENOMEM;
}

static void buf_free(struct ingest_buf *b)
{
	free(b->recs);
	free(b->pids);
}

static void fill_batch(const struct gen_world *w, const struct gen_batch *br, struct ingest_buf *b)
{
	for (uint32_t k = 0; k < br->n; k++)
		gen_fill_record(w, br->first + k, &b->recs[k], b->pids[k]);
}

/* Visit tokens (--tokens): per person, how many of their tokens are used;
 * their k-th token is token k % per_issue of their issue k / per_issue,
 * whose serial is the next of one counter, as the issuer hands serials
 * out (1, 2, ... in the order of issue), its id as the issuer makes it
 * (as_token_id_derive, a key of the seed's). */
#define TOKENS_PER_ISSUE_MAX 64

struct token_world {
	uint32_t per_issue;
	uint32_t *used;            /* per person */
	int64_t *expires;          /* per person: their current issue's expiry */
	uint64_t *serial;          /* per person: their current issue's serial */
	uint64_t next_serial;
	size_t n_people;
	uint64_t announced, issues, used_total;
	uint8_t key[AS_TOKEN_ID_KEY_LEN];
};


/* Turn the batch's pass records into token records, announcing each
 * person's next 64 tokens (one capsule batch) when their first is used. */
static int tokenize_batch(struct cl_ingest *in, const struct gen_world *w,
			  const struct gen_batch *br, struct ingest_buf *b, struct token_world *tw)
{
	struct cl_token_issue t;
	struct cl_tokens_result res;
	int rc;

	for (uint32_t k = 0; k < br->n; k++) {
		struct as_record *r = &b->recs[k];
		uint32_t person = w->v[br->first + k].person, used;

		if (r->kind != AS_REC_PASS)
			continue;
		/* A wallet tops up when its tokens run out or expire. */
		if (tw->used[person] % tw->per_issue != 0 && r->entry_time >= tw->expires[person])
			tw->used[person] += tw->per_issue - tw->used[person] % tw->per_issue;
		used = tw->used[person]++;
		tw->used_total++;
		if (used % tw->per_issue == 0) {
			/* Issued now, valid 7 days from the next whole day (as
			 * as_token_expiry rounds). */
			tw->expires[person] = (r->entry_time / 86400 + 8) * 86400;
			tw->serial[person] = ++tw->next_serial;
			t.serial = tw->serial[person];
			t.count = (uint8_t)tw->per_issue;
			t.expires_at = tw->expires[person];
			memcpy(t.pid, b->pids[k], AS_PID_LEN);
			t.contact = r->capsule;   /* the person's contact capsule */
			rc = cl_store_ingest_token_issues(in, &t, 1, &res);
			if (rc)
				return rc;
			tw->announced += (uint64_t)res.added * tw->per_issue;
			tw->issues += res.added;
		}
		r->kind = AS_REC_TOKEN;
		rc = as_token_id_derive(r->pid, tw->key, tw->serial[person],
					(uint8_t)(used % tw->per_issue));
		if (rc)
			return rc;
		r->credential_expires = tw->expires[person];
		memset(r->capsule, 0, AS_CAPSULE_LEN);
	}
	return 0;
}

static int ingest_one(struct cl_ingest *in, const struct gen_world *w, const struct gen_batch *br,
		      const struct ingest_buf *b)
{
	struct cl_ingest_result res;
	uint8_t gw_id[AS_GWID_LEN];
	int rc;

	gen_gateway_id(w, w->v[br->first].gw, gw_id);
	rc = cl_store_ingest_batch(in, gw_id, b->recs, (const uint8_t (*)[AS_PID_LEN])b->pids,
				   br->n, br->send_time, br->send_time + 2, &res);
	if (!rc && (res.stored != br->n || res.gap))
		rc = AS_E_STORE;
	return rc;
}

/* Bytes of each named database and of the free pages, read with LMDB
 * directly (a diagnostic the store API does not offer). */
static void lmdb_breakdown(const char *dir, uint64_t visits)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_stat st;
	MDB_dbi main_dbi;
	MDB_envinfo info;
	long long free_pages = 0;
	size_t pages, counted = 0;

	if (mdb_env_create(&env))
		return;
	mdb_env_set_maxdbs(env, 32);
	if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600) ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) {
		mdb_env_close(env);
		return;
	}
	if (mdb_cursor_open(txn, 0 /* FREE_DBI */, &cur) == 0) {
		while (mdb_cursor_get(cur, &key, &val, MDB_NEXT) == 0)
			if (val.mv_size >= sizeof(size_t))
				free_pages += (long long)*(const size_t *)val.mv_data;
		mdb_cursor_close(cur);
	}
	mdb_env_stat(env, &st);
	printf("store databases, bytes per visit (main trees; DUPSORT sub-trees are in 'other'):");
	if (mdb_dbi_open(txn, NULL, 0, &main_dbi) == 0 &&
	    mdb_cursor_open(txn, main_dbi, &cur) == 0) {
		while (mdb_cursor_get(cur, &key, &val, MDB_NEXT) == 0) {
			char name[64];
			MDB_dbi dbi;
			MDB_stat ds;
			size_t n = key.mv_size < sizeof name - 1 ? key.mv_size : sizeof name - 1;

			memcpy(name, key.mv_data, n);
			name[n] = '\0';
			if (mdb_dbi_open(txn, name, 0, &dbi) || mdb_stat(txn, dbi, &ds))
				continue;
			pages = ds.ms_branch_pages + ds.ms_leaf_pages + ds.ms_overflow_pages;
			counted += pages;
			printf(" %s %.1f", name, (double)pages * ds.ms_psize / (double)visits);
		}
		mdb_cursor_close(cur);
	}
	mdb_env_info(env, &info);
	printf(" | other %.1f | free pages %.1f\n",
	       ((double)(info.me_last_pgno + 1) - (double)counted - (double)free_pages) *
		       st.ms_psize / (double)visits,
	       (double)free_pages * st.ms_psize / (double)visits);
	printf("RESULT anshim_free_bytes=%lld\n", free_pages * st.ms_psize);
	mdb_txn_abort(txn);
	mdb_env_close(env);
}

/* A batch of n records as sent (header, length-prefixed records, signature). */
static size_t batch_bytes(size_t n)
{
	return as_batch_size(n);
}

static int load_store(const struct options *o, const struct gen_world *w)
{
	struct cl_store *s = NULL;
	struct cl_store_stats st;
	struct cl_ingest *in = NULL;
	struct ingest_buf b;
	char err[600], path[1100];
	double t_store = 0, t_commit = 0, t0, cpu0;
	uint64_t stored = 0, commits = 0;
	struct token_world tw = {.per_issue = (uint32_t)o->per_issue};
	struct stat sb;
	int rc;

	if (mkdir(o->store, 0700) && errno != EEXIST) {
		fprintf(stderr, "visits_gen: mkdir %s: %s\n", o->store, strerror(errno));
		return 1;
	}
	rc = cl_store_open(&s, o->store, 0, 0, err, sizeof err);
	if (rc) {
		fprintf(stderr, "visits_gen: %s\n", err);
		return 1;
	}
	rc = gen_enroll(s, w);
	if (!rc)
		rc = buf_init(&b, (size_t)w->p.batch_max);
	if (!rc && o->tokens) {
		uint8_t seed[8];

		as_put_be64(seed, w->p.seed);
		crypto_generichash(tw.key, sizeof tw.key, seed, sizeof seed, NULL, 0);
		cl_store_set_token_id_key(s, tw.key);
		tw.n_people = (size_t)w->p.people + 1;
		tw.used = calloc(tw.n_people, sizeof *tw.used);
		tw.expires = calloc(tw.n_people, sizeof *tw.expires);
		tw.serial = calloc(tw.n_people, sizeof *tw.serial);
		if (!tw.used || !tw.expires || !tw.serial)
			rc = -ENOMEM;
	}
	if (rc) {
		fprintf(stderr, "visits_gen: enrolling: %s\n", as_strerror(rc));
		cl_store_close(s);
		return 1;
	}
	t0 = bench_now_sec();
	cpu0 = cpu_sec();
	/* Transactions as anshim-cloudd's ingest thread makes them with a
	 * backlog waiting: up to group batches and group_bytes bytes. */
	for (size_t i = 0, in_txn = 0, txn_bytes = 0; i < w->n_main_batches && !rc; i++) {
		const struct gen_batch *br = &w->batches[i];
		const int last = i + 1 == w->n_main_batches;
		double t;

		fill_batch(w, br, &b);
		t = bench_now_sec();
		if (!in) {
			rc = cl_store_ingest_begin(s, &in);
			in_txn = txn_bytes = 0;
		}
		if (!rc && o->tokens)
			rc = tokenize_batch(in, w, br, &b, &tw);
		if (!rc)
			rc = ingest_one(in, w, br, &b);
		if (!rc) {
			stored += br->n;
			in_txn++;
			txn_bytes += batch_bytes(br->n);
		}
		if (!rc && (last || in_txn >= (size_t)o->group ||
			    txn_bytes + batch_bytes(w->batches[i + 1].n) > (size_t)o->group_bytes)) {
			double c = bench_now_sec();

			rc = cl_store_ingest_commit(in);
			in = NULL;
			commits++;
			t_commit += bench_now_sec() - c;
		}
		t_store += bench_now_sec() - t;
	}
	if (in)
		cl_store_ingest_abort(in);
	buf_free(&b);
	free(tw.used);
	free(tw.expires);
	free(tw.serial);
	if (rc) {
		fprintf(stderr, "visits_gen: ingest failed: %s (%s)%s%s\n", as_errname(rc),
			as_strerror(rc), *cl_store_last_error() ? ": " : "", cl_store_last_error());
		cl_store_close(s);
		return 1;
	}
	printf("anshim ingest: loaded through cl_store_ingest_batch, the aggregator's ingest path "
	       "minus MQTT and signature checks\n");
	printf("anshim ingest: %llu visits in %zu batches, %llu durable commits of at most %lld "
	       "batches or %lld MiB: "
	       "%.2f s in store calls (%.2f s in commit) = %.0f visits/s; wall %.2f s with record "
	       "generation, CPU %.0f%%\n", (unsigned long long)stored, w->n_main_batches,
	       (unsigned long long)commits, (long long)o->group,
	       (long long)(o->group_bytes >> 20), t_store, t_commit,
	       (double)stored / t_store, bench_now_sec() - t0, 100 * (cpu_sec() - cpu0) / (bench_now_sec() - t0));
	rc = cl_store_stats(s, &st);
	if (!rc && o->tokens)
		printf("anshim tokens: %llu issued in %llu issues of %u, %llu used, %llu issues "
		       "known to the store at the end (%.3f per visit)\n",
		       (unsigned long long)tw.announced, (unsigned long long)tw.issues,
		       tw.per_issue, (unsigned long long)tw.used_total,
		       (unsigned long long)st.tokens, (double)st.tokens / (double)st.visits);
	snprintf(path, sizeof path, "%s/data.mdb", o->store);
	if (!rc && stat(path, &sb) == 0) {
		printf("anshim space: data.mdb %.1f MiB for %llu visits = %.1f bytes/visit (%llu people "
		       "with capsules)\n", (double)sb.st_size / 1048576.0,
		       (unsigned long long)st.visits, (double)sb.st_size / (double)st.visits,
		       (unsigned long long)st.people);
		printf("RESULT anshim_ingest_s=%.3f anshim_commit_s=%.3f anshim_visits=%llu "
		       "anshim_file_bytes=%lld anshim_people=%llu anshim_group=%lld anshim_commits=%llu\n",
		       t_store, t_commit,
		       (unsigned long long)st.visits, (long long)sb.st_size,
		       (unsigned long long)st.people, (long long)o->group,
		       (unsigned long long)commits);
	}
	cl_store_close(s);
	lmdb_breakdown(o->store, stored);
	return 0;
}

/* ---- purge under ingest ------------------------------------------------------ */

struct commit_mark {
	double begin, begun, done;   /* begin called, writer lock held, committed */
	uint32_t visits;
};

/* The child: ingest the extra day at rate visits/s until told to stop (a
 * byte on stop_fd: then two doubles follow, the purge's start and end). */
static int ingest_child(const struct options *o, const struct gen_world *w, int ready_fd,
			int stop_fd)
{
	struct cl_store *s = NULL;
	struct ingest_buf b;
	struct commit_mark *m;
	double rate = (double)o->purge_rate;
	size_t nm = 0, cap = 1 << 20, next = w->n_main_batches;
	uint64_t done = 0;
	double start, t0 = 0, t1 = 0, exhausted = 0;
	char err[600];
	int rc, stopping = 0;

	m = calloc(cap, sizeof *m);
	rc = cl_store_open(&s, o->store, 0, 0, err, sizeof err);
	if (rc || !m || buf_init(&b, (size_t)w->p.batch_max)) {
		fprintf(stderr, "visits_gen: ingest child: %s\n", rc ? err : "out of memory");
		return 1;
	}
	fcntl(stop_fd, F_SETFL, O_NONBLOCK);
	if (rate <= 0)
		rate = (double)(w->n_visits - w->n_main) / 60.0;
	start = bench_now_sec();
	while (!stopping && nm < cap) {
		double due = rate * (bench_now_sec() - start);
		struct cl_ingest *in = NULL;
		struct commit_mark *c = &m[nm];
		uint32_t n = 0;
		char byte;

		if (read(stop_fd, &byte, 1) == 1)
			stopping = 1;
		if (next >= w->n_batches) {
			/* Ran out before the purge ended: wait for the stop. */
			exhausted = bench_now_sec();
			fcntl(stop_fd, F_SETFL, 0);
			stopping = read(stop_fd, &byte, 1) == 1;
			break;
		}
		if ((double)done >= due) {
			struct timespec ts = {0, 5 * 1000 * 1000};

			nanosleep(&ts, NULL);
			continue;
		}
		c->begin = bench_now_sec();
		rc = cl_store_ingest_begin(s, &in);
		c->begun = bench_now_sec();
		for (int64_t k = 0; !rc && k < o->group && next < w->n_batches &&
				    (double)(done + n) < due; k++) {
			fill_batch(w, &w->batches[next], &b);
			rc = ingest_one(in, w, &w->batches[next], &b);
			n += w->batches[next].n;
			next++;
		}
		if (!rc)
			rc = cl_store_ingest_commit(in);
		else
			cl_store_ingest_abort(in);
		if (rc) {
			fprintf(stderr, "visits_gen: ingest child: %s\n", as_strerror(rc));
			break;
		}
		c->done = bench_now_sec();
		c->visits = n;
		done += n;
		if (nm == 0 && write(ready_fd, "r", 1) != 1)
			break;
		nm++;
	}
	cl_store_close(s);
	buf_free(&b);
	if (stopping) {
		double tt[2];
		size_t got = 0;

		fcntl(stop_fd, F_SETFL, 0);
		while (got < sizeof tt) {
			ssize_t r = read(stop_fd, (char *)tt + got, sizeof tt - got);

			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (got == sizeof tt) {
			t0 = tt[0];
			t1 = tt[1];
		}
	}
	if (exhausted && exhausted < t1) {
		printf("concurrent ingest: the extra day's visits were all ingested %.2f s after the "
		       "purge began, before it ended: gaps are measured until then\n", exhausted - t0);
		t1 = exhausted;
	}
	if (t1 > t0 && nm > 1) {
		double max_gap_in = 0, max_wait_in = 0, max_txn_in = 0, *gaps = calloc(nm, sizeof *gaps);
		size_t ng = 0, commits_in = 0;
		uint64_t visits_in = 0;

		for (size_t i = 1; i < nm; i++) {
			double gap = m[i].done - m[i - 1].done;

			/* A gap that overlaps the purge counts for the purge. */
			if (m[i].done >= t0 && m[i - 1].done <= t1) {
				if (gap > max_gap_in)
					max_gap_in = gap;
			} else if (m[i].done < t0 && gaps) {
				gaps[ng++] = gap;
			}
		}
		for (size_t i = 0; i < nm; i++) {
			if (m[i].done < t0 || m[i].begin > t1)
				continue;
			commits_in++;
			visits_in += m[i].visits;
			if (m[i].begun - m[i].begin > max_wait_in)
				max_wait_in = m[i].begun - m[i].begin;
			if (m[i].done - m[i].begin > max_txn_in)
				max_txn_in = m[i].done - m[i].begin;
		}
		if (gaps && ng)
			qsort(gaps, ng, sizeof *gaps, bench_cmp_double);
		printf("concurrent ingest: %llu visits in %zu commits at %.0f visits/s; before the "
		       "purge a commit every %.1f ms (median gap, max %.1f ms); during the purge "
		       "(%.2f s): %zu commits, %llu visits, longest gap between commits %.1f ms, "
		       "longest wait for the writer lock %.1f ms, longest ingest transaction %.1f ms\n",
		       (unsigned long long)done, nm, rate,
		       ng ? gaps[ng / 2] * 1e3 : 0.0, ng ? gaps[ng - 1] * 1e3 : 0.0, t1 - t0,
		       commits_in, (unsigned long long)visits_in, max_gap_in * 1e3, max_wait_in * 1e3,
		       max_txn_in * 1e3);
		printf("RESULT purge_ingest_rate=%.0f purge_ingest_commits=%zu purge_ingest_visits=%llu "
		       "purge_max_gap_ms=%.1f purge_max_lock_wait_ms=%.1f purge_base_gap_ms=%.1f\n",
		       rate, commits_in, (unsigned long long)visits_in, max_gap_in * 1e3,
		       max_wait_in * 1e3, ng ? gaps[ng / 2] * 1e3 : 0.0);
		free(gaps);
	}
	fflush(stdout);
	free(m);
	return 0;
}

static int purge_test(const struct options *o, const struct gen_world *w)
{
	int ready[2], stop[2], status = 0, rc;
	struct cl_store *s = NULL;
	uint64_t deleted = 0;
	double t0, t1, tt[2];
	char err[600], byte;
	pid_t child;

	signal(SIGPIPE, SIG_IGN);
	if (pipe(ready) || pipe(stop)) {
		perror("visits_gen: pipe");
		return 1;
	}
	fflush(stdout);
	child = fork();
	if (child < 0) {
		perror("visits_gen: fork");
		return 1;
	}
	if (child == 0) {
		close(ready[0]);
		close(stop[1]);
		_exit(ingest_child(o, w, ready[1], stop[0]));
	}
	close(ready[1]);
	close(stop[0]);
	if (read(ready[0], &byte, 1) != 1) {
		fprintf(stderr, "visits_gen: the ingest process did not start\n");
		waitpid(child, &status, 0);
		return 1;
	}
	rc = cl_store_open(&s, o->store, 0, 0, err, sizeof err);
	if (rc) {
		fprintf(stderr, "visits_gen: %s\n", err);
		kill(child, SIGTERM);
		waitpid(child, &status, 0);
		return 1;
	}
	sleep(2); /* baseline: ingest alone */
	t0 = bench_now_sec();
	rc = cl_store_purge(s, GEN_START + GEN_DAY, (size_t)o->purge_slice, &deleted);
	t1 = bench_now_sec();
	cl_store_close(s);
	sleep(1);
	tt[0] = t0;
	tt[1] = t1;
	if (write(stop[1], "s", 1) != 1 || write(stop[1], tt, sizeof tt) != (ssize_t)sizeof tt)
		kill(child, SIGTERM);
	close(stop[1]);
	waitpid(child, &status, 0);
	close(ready[0]);
	if (rc) {
		fprintf(stderr, "visits_gen: purge failed: %s\n", as_strerror(rc));
		return 1;
	}
	printf("purge: day 0 (entry before %lld): %llu visits deleted in %.2f s = %.0f visits/s, "
	       "transactions of at most %lld visits, while the ingest above ran\n",
	       (long long)(GEN_START + GEN_DAY), (unsigned long long)deleted, t1 - t0,
	       (double)deleted / (t1 - t0), (long long)o->purge_slice);
	printf("RESULT purge_s=%.3f purge_deleted=%llu\n", t1 - t0, (unsigned long long)deleted);
	return 0;
}

/* ---- cases ---------------------------------------------------------------- */

static int write_cases(const struct options *o, const struct gen_world *w)
{
	uint32_t *who = calloc((size_t)o->cases, sizeof *who);
	unsigned *nvis = calloc((size_t)o->cases, sizeof *nvis);
	int64_t from, to;
	size_t n;
	FILE *f;

	if (!who || !nvis) {
		free(who);
		free(nvis);
		return 1;
	}
	n = gen_sample_cases(w, (size_t)o->cases, (unsigned)o->cases_min, (unsigned)o->cases_max,
			     who, nvis, &from, &to);
	f = fopen(o->cases_file, "w");
	if (!f) {
		fprintf(stderr, "visits_gen: %s: %s\n", o->cases_file, strerror(errno));
		free(who);
		free(nvis);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t pid[AS_PID_LEN];
		char hex[2 * AS_PID_LEN + 1];

		gen_person_pid(w, who[i], pid);
		gen_hex(hex, pid, AS_PID_LEN);
		fprintf(f, "%s %lld %lld %u\n", hex, (long long)from, (long long)to, nvis[i]);
	}
	fclose(f);
	printf("cases: %zu people with %lld..%lld visits between %lld and %lld written to %s\n", n,
	       (long long)o->cases_min, (long long)o->cases_max, (long long)from, (long long)to,
	       o->cases_file);
	free(who);
	free(nvis);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

static int parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"visits", required_argument, NULL, 'n'}, {"days", required_argument, NULL, 'd'},
		{"venues", required_argument, NULL, 'v'}, {"people", required_argument, NULL, 'p'},
		{"zipf", required_argument, NULL, 'z'},   {"batch", required_argument, NULL, 'b'},
		{"top-rank", required_argument, NULL, 'T'}, {"skewed", no_argument, NULL, 'K'},
		{"window", required_argument, NULL, 'w'}, {"seed", required_argument, NULL, 's'},
		{"store", required_argument, NULL, 'S'},  {"group", required_argument, NULL, 'k'},
		{"group-bytes", required_argument, NULL, 'B'},
		{"csv", required_argument, NULL, 'C'},    {"cases", required_argument, NULL, 'c'},
		{"cases-n", required_argument, NULL, 'N'}, {"cases-min", required_argument, NULL, 'l'},
		{"cases-max", required_argument, NULL, 'u'}, {"purge-test", no_argument, NULL, 'P'},
		{"purge-rate", required_argument, NULL, 'r'},
		{"purge-slice", required_argument, NULL, 'x'},
		{"tokens", no_argument, NULL, 'O'},
		{"tokens-per-issue", required_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	int c, at = 0, skewed = 0, zipf_given = 0;
	int64_t seed = 1, zipf_milli = 800, top_rank = -1;

	memset(o, 0, sizeof *o);
	gen_params_init(&o->p, 1000000);
	o->group = 4096;
	o->group_bytes = 16 << 20;
	o->cases = 20;
	o->cases_min = 15;
	o->cases_max = 25;
	o->purge_rate = 0;
	o->purge_slice = PURGE_SLICE;
	o->per_issue = 64;
	while ((c = as_args_next("visits_gen", argc, argv, "", longopts, &at)) != -1) {
		int64_t *target = NULL, min = 1, max = 0;

		switch (c) {
		case 'n': target = &o->p.visits; max = 200000000; break;
		case 'd': target = &o->p.days; max = 365; break;
		case 'v': target = &o->p.venues; max = 10000000; break;
		case 'p': target = &o->p.people; max = 100000000; break;
		case 'b': target = &o->p.batch_max; max = AS_BATCH_MAX_RECORDS; break;
		case 'w': target = &o->p.batch_window; max = 86400; break;
		case 's': target = &seed; min = 0; max = INT64_MAX; break;
		case 'k': target = &o->group; max = 65536; break;
		case 'B': target = &o->group_bytes; min = 65536; max = 1 << 30; break;
		case 'N': target = &o->cases; max = 10000; break;
		case 'l': target = &o->cases_min; max = 100000; break;
		case 'u': target = &o->cases_max; max = 100000; break;
		case 'r': target = &o->purge_rate; min = 0; max = 10000000; break;
		case 'x': target = &o->purge_slice; max = 10000000; break;
		case 'T': target = &top_rank; max = 1000000; break;
		case 'K': skewed = 1; break;
		case 'I': target = &o->per_issue; max = TOKENS_PER_ISSUE_MAX; break;
		case 'z': {
			double z = strtod(optarg, NULL);

			if (!(z > 0 && z <= 3)) {
				fprintf(stderr, "visits_gen: --zipf: expected 0 < S <= 3\n");
				return 2;
			}
			zipf_milli = (int64_t)(z * 1000 + 0.5);
			zipf_given = 1;
			break;
		}
		case 'S': o->store = optarg; break;
		case 'C': o->csv = optarg; break;
		case 'c': o->cases_file = optarg; break;
		case 'P': o->purge_test = 1; break;
		case 'O': o->tokens = 1; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: fputs(usage_text, stderr); return 2;
		}
		if (target && as_parse_int64(optarg, min, max, target)) {
			fprintf(stderr, "visits_gen: --%s '%s': expected a number from %lld to %lld\n",
				longopts[at].name, optarg, (long long)min, (long long)max);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "visits_gen: unexpected argument '%s'\n%s", argv[optind], usage_text);
		return 2;
	}
	o->p.seed = (uint64_t)seed;
	if (skewed && !zipf_given)
		zipf_milli = SKEWED_ZIPF_MILLI;
	o->p.zipf = (double)zipf_milli / 1000.0;
	if (top_rank > 0)
		o->p.top_rank = top_rank;
	if (o->purge_test && !o->store) {
		fprintf(stderr, "visits_gen: --purge-test needs --store\n");
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct gen_world w;
	double t;
	int rc = parse_options(&o, argc, argv);

	if (rc)
		return rc;
	t = bench_now_sec();
	if (gen_world_make(&w, &o.p)) {
		fprintf(stderr, "visits_gen: out of memory generating the world\n");
		return 1;
	}
	printf("generated in %.1f s\n", bench_now_sec() - t);
	describe(&w);
	if (o.store && !o.purge_test)
		rc = load_store(&o, &w);
	if (!rc && o.csv) {
		t = bench_now_sec();
		rc = gen_write_csv(&w, o.csv);
		if (rc)
			fprintf(stderr, "visits_gen: writing CSV into %s: %s\n", o.csv, strerror(-rc));
		else
			printf("csv: written into %s in %.1f s\n", o.csv, bench_now_sec() - t);
		rc = rc ? 1 : 0;
	}
	if (!rc && o.cases_file)
		rc = write_cases(&o, &w);
	if (!rc && o.purge_test)
		rc = purge_test(&o, &w);
	gen_world_free(&w);
	return rc;
}
