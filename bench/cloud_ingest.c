/*
 * cloud_ingest - how fast the cloud store (cloud/store/) ingests visits,
 * how many bytes a stored visit costs, and how fast tracing queries run.
 *
 * It generates N visits for G gateways at V venues by P people, with skew:
 * venue popularity and each person's activity are log-normal, so most
 * people have a few visits and a few have many.  Each gateway's visits are
 * put in time order and numbered (seq 1, 2, ...), cut into batches of B
 * records, and the batches of all gateways are ingested in the order they
 * would be sent (by the time of their last record), K batches per write
 * transaction, through cl_store_ingest_batch — dedupe, indexes and capsule
 * maintained as records arrive, a durable commit (fsync) every K batches.
 *
 * Printed (a benchmark reports, it never asserts; exit 0 when it ran):
 *  - per run: visits/s over the store calls only (generation excluded), the
 *    time inside cl_store_ingest_commit (the store writes persons, capsules,
 *    by_pid and visits there, sorted, then syncs), the CPU time of the store
 *    calls and visits per CPU-second (the steadier figure on a shared
 *    machine: CPU share below 100 % means waiting for the disk or for a
 *    CPU), and bytes written to storage per visit (/proc/self/io); then
 *    the medians over runs;
 *  - bytes per visit: size of data.mdb / visits, after the last run, and
 *    the part of the file that is LMDB free pages (read with LMDB itself);
 *  - query latency: cl_store_visits_at over Q windows of 2 hours around
 *    random stored visits, cl_store_visits_of over Q random people (14-day
 *    window), and a first-order trace (a case's visits over 14 days, then
 *    each one's venue from entry - dwell to exit or entry + dwell);
 *  - a purge of the first week of visits (slices of 20,000), visits/s;
 *  - signature cost: crypto_sign_verify_detached over one signed B-record
 *    batch, and as_batch_decode of it, per record, so the whole cloud
 *    ingest path per record is decode + verify + store.
 * Single-threaded.
 */
#include "store.h"

#include "anshim/args.h"
#include "anshim/batch.h"
#include "anshim/error.h"
#include "anshim/parse.h"
#include "stats.h"

#include <errno.h>
#include <lmdb.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define START_TIME INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define DAY 86400
#define MAX_RUNS 9
#define DWELL_SECONDS 3600

struct options {
	int64_t visits, gateways, venues, people, days, batch, per_txn, runs, queries, seed;
	const char *dir;
	int keep;
};

struct gen_visit {
	int64_t entry;
	uint32_t gw;
	uint32_t person;
	uint32_t exit_delta; /* 0 = no exit */
	uint16_t headcount;
	uint8_t kind, flags;
};

struct batch_ref {
	size_t first;  /* index into the visits array */
	uint32_t n;
	uint64_t first_seq;
	int64_t send_time;
};

struct world {
	struct options o;
	struct gen_visit *v;        /* sorted by (gateway, entry) */
	uint64_t *seq;              /* seq of v[i] */
	struct batch_ref *batches;
	size_t n_batches;
	uint32_t *gw_venue;         /* gateway -> venue id */
	uint8_t (*gw_id)[AS_GWID_LEN];
	uint8_t *person_seen;
};

static const char usage_text[] =
"Usage: cloud_ingest [options]\n"
"\n"
"  --visits N      visits to generate and ingest (default 1000000)\n"
"  --gateways G    gateways (default 1200)\n"
"  --venues V      venues (default 1000; every venue has a gateway)\n"
"  --people P      people (default visits / 8)\n"
"  --days D        days the visits span (default 28)\n"
"  --batch B       records per batch (default 512, at most 1024)\n"
"  --per-txn K     batches per write transaction (default 64)\n"
"  --runs R        ingest runs, each into a fresh store (default 1, at most 9)\n"
"  --queries Q     queries of each kind (default 1000)\n"
"  --seed S        generator seed (default 1)\n"
"  --dir DIR       parent directory of the stores (default /tmp)\n"
"  --keep          keep the last store (its path is printed)\n"
"\n"
"Build RelWithDebInfo (never a sanitizer build) and run on an idle machine.\n";

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t rnd(void)
{
	return splitmix(&rng_state);
}

/* Uniform in [0, 1). */
static double rnd01(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static double rnd_normal(void)
{
	double u = rnd01(), w = rnd01();

	if (u < 1e-300)
		u = 1e-300;
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * w);
}

/* Cumulative log-normal weights for n items. */
static double *lognormal_cdf(size_t n, double sigma)
{
	double *cdf = malloc(n * sizeof *cdf), sum = 0;

	if (!cdf)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		sum += exp(sigma * rnd_normal());
		cdf[i] = sum;
	}
	return cdf;
}

static size_t pick(const double *cdf, size_t n)
{
	double x = rnd01() * cdf[n - 1];
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {   /* at most log2(n) steps */
		size_t mid = lo + (hi - lo) / 2;

		if (cdf[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Pseudonyms and capsules: random-looking bytes, a pure function of the
 * person (like BLAKE2b and crypto_box_seal outputs). */
static void person_pid(uint8_t pid[AS_PID_LEN], uint32_t person)
{
	uint64_t x = (uint64_t)person * 2 + 1, a = splitmix(&x), b = splitmix(&x);

	memcpy(pid, &a, 8);
	memcpy(pid + 8, &b, 8);
}

static void fill_random(uint8_t *out, size_t n, uint64_t seed)
{
	uint64_t x = seed;

	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = splitmix(&x);

		memcpy(out + i, &r, n - i < 8 ? n - i : 8);
	}
}

static int cmp_visit(const void *a, const void *b)
{
	const struct gen_visit *x = a, *y = b;

	if (x->gw != y->gw)
		return x->gw < y->gw ? -1 : 1;
	return (x->entry > y->entry) - (x->entry < y->entry);
}

static int cmp_batch(const void *a, const void *b)
{
	const struct batch_ref *x = a, *y = b;

	if (x->send_time != y->send_time)
		return x->send_time < y->send_time ? -1 : 1;
	return (x->first > y->first) - (x->first < y->first);
}

static double percentile(double *xs, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(xs, n, sizeof *xs, bench_cmp_double);
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return xs[i < n ? i : n - 1];
}

/* ---- generation ----------------------------------------------------------- */

static int generate(struct world *w)
{
	const struct options *o = &w->o;
	size_t nv = (size_t)o->visits, ng = (size_t)o->gateways, nven = (size_t)o->venues;
	double *venue_cdf = lognormal_cdf(nven, 1.0);
	double *person_cdf = lognormal_cdf((size_t)o->people, 1.2);
	uint32_t *venue_gw_first = calloc(nven, sizeof *venue_gw_first);
	uint32_t *venue_gw_count = calloc(nven, sizeof *venue_gw_count);
	uint32_t *gw_by_venue = calloc(ng, sizeof *gw_by_venue);
	size_t nb = 0;
	int rc = -ENOMEM;

	w->v = calloc(nv, sizeof *w->v);
	w->seq = calloc(nv, sizeof *w->seq);
	w->gw_venue = calloc(ng, sizeof *w->gw_venue);
	w->gw_id = calloc(ng, sizeof *w->gw_id);
	w->person_seen = calloc((size_t)o->people, 1);
	w->batches = calloc(nv, sizeof *w->batches);
	if (!venue_cdf || !person_cdf || !venue_gw_first || !venue_gw_count || !gw_by_venue ||
	    !w->v || !w->seq || !w->gw_venue || !w->gw_id || !w->person_seen || !w->batches)
		goto out;
	/* Every venue gets one gateway; busier venues are likelier to get
	 * more. */
	for (size_t g = 0; g < ng; g++) {
		size_t venue = g < nven ? g : pick(venue_cdf, nven);

		w->gw_venue[g] = (uint32_t)venue + 1;
		venue_gw_count[venue]++;
		fill_random(w->gw_id[g], AS_GWID_LEN, UINT64_C(0xa11ce) + g);
	}
	for (size_t venue = 0, at = 0; venue < nven; venue++) {
		venue_gw_first[venue] = (uint32_t)at;
		at += venue_gw_count[venue];
		venue_gw_count[venue] = 0;
	}
	for (size_t g = 0; g < ng; g++) {
		size_t venue = w->gw_venue[g] - 1;

		gw_by_venue[venue_gw_first[venue] + venue_gw_count[venue]++] = (uint32_t)g;
	}
	for (size_t i = 0; i < nv; i++) {
		struct gen_visit *v = &w->v[i];
		size_t venue = pick(venue_cdf, nven);
		double r = rnd01();
		/* Open 07:00-23:00, busiest mid-afternoon (triangular). */
		int64_t tod = 7 * 3600 + (int64_t)((rnd01() + rnd01()) * 8 * 3600);

		v->gw = gw_by_venue[venue_gw_first[venue] + rnd_below(venue_gw_count[venue])];
		v->person = (uint32_t)pick(person_cdf, (size_t)o->people);
		v->entry = START_TIME + (int64_t)rnd_below((uint64_t)o->days) * DAY + tod;
		v->exit_delta = rnd01() < 0.2 ? (uint32_t)(600 + rnd_below(10200)) : 0;
		v->headcount = rnd01() < 0.95 ? 1 : (uint16_t)(2 + rnd_below(3));
		v->kind = r < 0.70 ? AS_REC_PASS : r < 0.95 ? AS_REC_CARD : AS_REC_MANUAL;
		v->flags = rnd01() < 0.02 ? AS_REC_CLOCK_UNSYNCED : 0;
		w->person_seen[v->person] = 1;
	}
	qsort(w->v, nv, sizeof *w->v, cmp_visit);
	for (size_t i = 0; i < nv; i++) {
		int same = i > 0 && w->v[i].gw == w->v[i - 1].gw;

		w->seq[i] = same ? w->seq[i - 1] + 1 : 1;
		if (!same || w->batches[nb - 1].n == (uint32_t)o->batch) {
			w->batches[nb].first = i;
			w->batches[nb].n = 0;
			w->batches[nb].first_seq = w->seq[i];
			nb++;
		}
		w->batches[nb - 1].n++;
		w->batches[nb - 1].send_time = w->v[i].entry;
	}
	w->n_batches = nb;
	qsort(w->batches, nb, sizeof *w->batches, cmp_batch);
	rc = 0;
out:
	free(venue_cdf);
	free(person_cdf);
	free(venue_gw_first);
	free(venue_gw_count);
	free(gw_by_venue);
	return rc;
}

static void fill_record(const struct world *w, size_t i, struct as_record *r,
			uint8_t pid[AS_PID_LEN])
{
	const struct gen_visit *v = &w->v[i];

	memset(r, 0, sizeof *r);
	r->kind = v->kind;
	r->flags = v->flags;
	r->seq = w->seq[i];
	r->entry_time = v->entry;
	r->exit_time = v->exit_delta ? v->entry + v->exit_delta : 0;
	r->mono_ms = (uint64_t)(v->entry - START_TIME) * 1000;
	r->headcount = v->headcount;
	r->credential_expires = START_TIME + 365 * DAY;
	person_pid(pid, v->person);
	if (v->kind == AS_REC_MANUAL) {
		/* A paper entry is sealed afresh each time: a new capsule. */
		fill_random(r->capsule, AS_CAPSULE_LEN, UINT64_C(0x5eed) ^ (uint64_t)i << 20);
	} else {
		memcpy(r->pid, pid, AS_PID_LEN);
		fill_random(r->capsule, AS_CAPSULE_LEN, (uint64_t)v->person * 7919 + 17);
	}
}

/* ---- one ingest run ----------------------------------------------------- */

struct run_result {
	double seconds, commit_seconds, cpu_seconds;
	uint64_t stored, written;
};

/* Bytes this process has caused to be written to storage so far (Linux
 * /proc/self/io write_bytes), or 0 if unknown. */
static uint64_t bytes_written(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	unsigned long long v = 0;

	if (!f)
		return 0;
	for (int i = 0; i < 16 && fgets(line, sizeof line, f); i++)
		if (sscanf(line, "write_bytes: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Bytes in free pages of the environment at dir (LMDB's freelist), read
 * directly: a diagnostic the store API does not offer.  -1 if unknown. */
static long long free_bytes(const char *dir)
{
	MDB_stat st;
	MDB_env *env;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	long long n = -1;

	if (mdb_env_create(&env))
		return -1;
	if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600) == 0 &&
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
		if (mdb_env_stat(env, &st) == 0 &&
		    mdb_cursor_open(txn, 0 /* FREE_DBI */, &cur) == 0) {
			n = 0;
			/* Each value is a page list whose first word is its length. */
			for (int i = 0; i < 10000000 && mdb_cursor_get(cur, &key, &val, MDB_NEXT) == 0;
			     i++)
				if (val.mv_size >= sizeof(size_t))
					n += (long long)*(const size_t *)val.mv_data;
			n *= st.ms_psize;
			mdb_cursor_close(cur);
		}
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return n;
}

static int enroll_all(struct cl_store *s, const struct world *w)
{
	for (size_t g = 0; g < (size_t)w->o.gateways; g++) {
		struct cl_gateway gw;
		struct cl_venue v;
		int rc;

		memset(&gw, 0, sizeof gw);
		memset(&v, 0, sizeof v);
		memcpy(gw.gw_id, w->gw_id[g], AS_GWID_LEN);
		fill_random(gw.pk, AS_SIGN_PK_LEN, UINT64_C(0xbeef) + g);
		gw.venue_id = w->gw_venue[g];
		gw.enrolled_at = START_TIME - DAY;
		v.id = w->gw_venue[g];
		snprintf(v.name, sizeof v.name, "Venue %u", (unsigned)v.id);
		snprintf(v.address, sizeof v.address, "%u Bench Street", (unsigned)v.id);
		snprintf(v.category, sizeof v.category, "restaurant");
		v.dwell_minutes = DWELL_SECONDS / 60;
		rc = cl_store_enroll(s, &gw, &v);
		if (rc)
			return rc;
	}
	return 0;
}

static int ingest_all(struct cl_store *s, const struct world *w, struct run_result *rr)
{
	struct as_record *recs = calloc((size_t)w->o.batch, sizeof *recs);
	uint8_t (*pids)[AS_PID_LEN] = calloc((size_t)w->o.batch, AS_PID_LEN);
	struct cl_ingest *in = NULL;
	uint64_t written0 = bytes_written();
	int rc = 0;

	memset(rr, 0, sizeof *rr);
	if (!recs || !pids) {
		free(recs);
		free(pids);
		return -ENOMEM;
	}
	for (size_t b = 0; b < w->n_batches && !rc; b++) {
		const struct batch_ref *br = &w->batches[b];
		struct cl_ingest_result res;
		double t, cpu;

		for (uint32_t k = 0; k < br->n; k++)
			fill_record(w, br->first + k, &recs[k], pids[k]);
		cpu = bench_cpu_sec();
		t = bench_now_sec();
		if (!in)
			rc = cl_store_ingest_begin(s, &in);
		if (!rc)
			rc = cl_store_ingest_batch(in, w->gw_id[w->v[br->first].gw], recs,
						   (const uint8_t (*)[AS_PID_LEN])pids, br->n,
						   br->send_time, br->send_time + 2, &res);
		if (!rc && (res.stored != br->n || res.gap))
			rc = AS_E_STORE;
		if (!rc)
			rr->stored += res.stored;
		if (!rc && ((b + 1) % (size_t)w->o.per_txn == 0 || b + 1 == w->n_batches)) {
			double c = bench_now_sec();

			rc = cl_store_ingest_commit(in);
			in = NULL;
			rr->commit_seconds += bench_now_sec() - c;
		}
		rr->seconds += bench_now_sec() - t;
		rr->cpu_seconds += bench_cpu_sec() - cpu;
	}
	if (in)
		cl_store_ingest_abort(in);
	rr->written = bytes_written() - written0;
	free(recs);
	free(pids);
	return rc;
}

static void remove_store(const char *dir)
{
	char path[600];

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
}

/* ---- queries ------------------------------------------------------------ */

struct counter {
	uint64_t n;
};

static int count_visit(void *ctx, const struct cl_visit *v)
{
	((struct counter *)ctx)->n++;
	return 0;
}

struct trace_ctx {
	struct cl_store *s;
	struct cl_visit visits[4096];
	size_t n;
};

static int keep_visit(void *ctx, const struct cl_visit *v)
{
	struct trace_ctx *t = ctx;

	if (t->n < 4096)
		t->visits[t->n++] = *v;
	return 0;
}

static void report_latency(const char *what, double *lat, size_t n, double results)
{
	double p50 = percentile(lat, n, 0.5), p95 = percentile(lat, n, 0.95);

	printf("%-34s median %8.1f us   p95 %8.1f us   max %8.1f us   (%.1f visits/query)\n",
	       what, p50 * 1e6, p95 * 1e6, lat[n - 1] * 1e6, results);
}

static int run_queries(struct cl_store *s, const struct world *w)
{
	size_t q = (size_t)w->o.queries, nv = (size_t)w->o.visits;
	double *lat = calloc(q, sizeof *lat);
	struct trace_ctx *tc = calloc(1, sizeof *tc);
	uint64_t results = 0, case_visits = 0, contacts = 0;
	int64_t span = w->o.days * DAY;
	int rc = 0;

	if (!lat || !tc) {
		free(lat);
		free(tc);
		return -ENOMEM;
	}
	/* Who was at this venue within an hour of a random stored visit. */
	for (size_t i = 0; i < q && !rc; i++) {
		const struct gen_visit *v = &w->v[rnd_below(nv)];
		struct counter c = {0};
		double t = bench_now_sec();

		rc = cl_store_visits_at(s, w->gw_venue[v->gw], v->entry - 3600, v->entry + 3600,
					count_visit, &c);
		lat[i] = bench_now_sec() - t;
		results += c.n;
	}
	if (!rc)
		report_latency("visits_at (venue, 2 h window)", lat, q, (double)results / (double)q);

	/* Where was a random person (uniform over people with visits) in 14
	 * days. */
	results = 0;
	for (size_t i = 0; i < q && !rc; i++) {
		uint32_t person = 0;
		uint8_t pid[AS_PID_LEN];
		struct counter c = {0};
		int64_t from = START_TIME + (int64_t)rnd_below((uint64_t)(span > 14 * DAY ? span - 14 * DAY : 1));
		double t;

		for (int tries = 0; tries < 1000; tries++) {
			person = (uint32_t)rnd_below((uint64_t)w->o.people);
			if (w->person_seen[person])
				break;
		}
		person_pid(pid, person);
		t = bench_now_sec();
		rc = cl_store_visits_of(s, pid, from, from + 14 * DAY, count_visit, &c);
		lat[i] = bench_now_sec() - t;
		results += c.n;
	}
	if (!rc)
		report_latency("visits_of (person, 14 days)", lat, q, (double)results / (double)q);

	/* First-order trace of a case: the person of a random visit (so
	 * active people are likelier cases), 14 days up to that visit. */
	for (size_t i = 0; i < q && !rc; i++) {
		const struct gen_visit *v = &w->v[rnd_below(nv)];
		uint8_t pid[AS_PID_LEN];
		double t;

		person_pid(pid, v->person);
		tc->s = s;
		tc->n = 0;
		t = bench_now_sec();
		rc = cl_store_visits_of(s, pid, v->entry - 14 * DAY, v->entry, keep_visit, tc);
		for (size_t k = 0; k < tc->n && !rc; k++) {
			const struct cl_visit *cv = &tc->visits[k];
			struct counter c = {0};
			int64_t end = cv->exit ? cv->exit : cv->entry + DWELL_SECONDS;

			rc = cl_store_visits_at(s, cv->venue_id, cv->entry - DWELL_SECONDS, end,
						count_visit, &c);
			contacts += c.n;
		}
		lat[i] = bench_now_sec() - t;
		case_visits += tc->n;
	}
	if (!rc) {
		report_latency("first-order trace (case, 14 days)", lat, q,
			       (double)contacts / (double)q);
		printf("%-34s %.1f visits per case, %.1f co-located visits per case\n", "",
		       (double)case_visits / (double)q, (double)contacts / (double)q);
	}
	free(lat);
	free(tc);
	return rc;
}

/* ---- signature cost -------------------------------------------------------- */

static int signature_cost(const struct world *w)
{
	size_t n = (size_t)w->o.batch, cap = as_batch_size(n);
	uint8_t *buf = malloc(cap), pk[AS_SIGN_PK_LEN], sk[AS_SIGN_SK_LEN], seed[32];
	struct as_record *recs = calloc(n, sizeof *recs), *out = calloc(n, sizeof *out);
	uint8_t pid[AS_PID_LEN];
	struct as_batch_header hdr;
	double t, verify = 0, decode = 0;
	int len, reps = 0, rc = 0;

	if (!buf || !recs || !out) {
		rc = -ENOMEM;
		goto done;
	}
	memset(seed, 4, sizeof seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	for (size_t i = 0; i < n; i++) {
		fill_record(w, i % (size_t)w->o.visits, &recs[i], pid);
		recs[i].seq = i + 1;
	}
	memset(&hdr, 0, sizeof hdr);
	memcpy(hdr.gw_id, w->gw_id[0], AS_GWID_LEN);
	hdr.batch_seq = 1;
	hdr.first_seq = 1;
	hdr.created = START_TIME;
	len = as_batch_encode(buf, cap, &hdr, recs, n, sk);
	if (len <= 0) {
		rc = len < 0 ? len : AS_E_STORE;
		goto done;
	}
	t = bench_now_sec();
	for (reps = 0; reps < 100000 && (reps < 20 || bench_now_sec() - t < 0.5); reps++)
		if (crypto_sign_verify_detached(buf + len - AS_SIG_LEN, buf,
						(unsigned long long)len - AS_SIG_LEN, pk) != 0) {
			rc = AS_E_SIGNATURE;
			goto done;
		}
	verify = (bench_now_sec() - t) / reps;
	t = bench_now_sec();
	for (reps = 0; reps < 100000 && (reps < 20 || bench_now_sec() - t < 0.5); reps++)
		if ((rc = as_batch_decode(&hdr, out, n, buf, (size_t)len)) != 0)
			goto done;
	decode = (bench_now_sec() - t) / reps;
	printf("batch of %zu records (%d bytes): Ed25519 verify %.1f us = %.3f us/record; "
	       "as_batch_decode %.1f us = %.3f us/record\n", n, len, verify * 1e6,
	       verify * 1e6 / (double)n, decode * 1e6, decode * 1e6 / (double)n);
done:
	free(buf);
	free(recs);
	free(out);
	return rc;
}

/* ---- main -------------------------------------------------------------------- */

static int parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"visits", required_argument, NULL, 'n'},   {"gateways", required_argument, NULL, 'g'},
		{"venues", required_argument, NULL, 'v'},   {"people", required_argument, NULL, 'p'},
		{"days", required_argument, NULL, 'd'},     {"batch", required_argument, NULL, 'b'},
		{"per-txn", required_argument, NULL, 'k'},  {"runs", required_argument, NULL, 'r'},
		{"queries", required_argument, NULL, 'q'},  {"seed", required_argument, NULL, 's'},
		{"dir", required_argument, NULL, 'D'},      {"keep", no_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
	};
	int c, at = 0;

	*o = (struct options){.visits = 1000000, .gateways = 1200, .venues = 1000, .people = 0,
			      .days = 28, .batch = 512, .per_txn = 64, .runs = 1, .queries = 1000,
			      .seed = 1, .dir = "/tmp", .keep = 0};
	while ((c = as_args_next("cloud_ingest", argc, argv, "", longopts, &at)) != -1) {
		int64_t *target = NULL, min = 1, max = 0;

		switch (c) {
		case 'n': target = &o->visits; max = 100000000; break;
		case 'g': target = &o->gateways; max = 1000000; break;
		case 'v': target = &o->venues; max = 1000000; break;
		case 'p': target = &o->people; max = 100000000; break;
		case 'd': target = &o->days; max = 3650; break;
		case 'b': target = &o->batch; max = AS_BATCH_MAX_RECORDS; break;
		case 'k': target = &o->per_txn; max = 100000; break;
		case 'r': target = &o->runs; max = MAX_RUNS; break;
		case 'q': target = &o->queries; max = 1000000; break;
		case 's': target = &o->seed; min = 0; max = INT64_MAX; break;
		case 'D': o->dir = optarg; break;
		case 'K': o->keep = 1; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: fputs(usage_text, stderr); return 2;
		}
		if (target && as_parse_int64(optarg, min, max, target)) {
			fprintf(stderr, "cloud_ingest: --%s '%s': expected a number from %lld to %lld\n",
				longopts[at].name, optarg, (long long)min, (long long)max);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cloud_ingest: unexpected argument '%s'\n%s", argv[optind], usage_text);
		return 2;
	}
	if (o->people == 0)
		o->people = o->visits / 8 > 0 ? o->visits / 8 : 1;
	if (o->venues > o->gateways) {
		fprintf(stderr, "cloud_ingest: --venues %lld is more than --gateways %lld; every "
			"venue needs a gateway\n", (long long)o->venues, (long long)o->gateways);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct world w;
	struct run_result runs[MAX_RUNS];
	double rates[MAX_RUNS], cpu_rates[MAX_RUNS];
	char dir[512] = "", err[600], path[600];
	struct cl_store *s = NULL;
	struct cl_store_stats st;
	struct stat sb;
	uint64_t people = 0;
	int rc;

	memset(&w, 0, sizeof w);
	rc = parse_options(&w.o, argc, argv);
	if (rc)
		return rc;
	if (sodium_init() < 0)
		return 1;
	rng_state = (uint64_t)w.o.seed;
	printf("cloud_ingest: %lld visits, %lld gateways, %lld venues, %lld people, %lld days, "
	       "batches of %lld, %lld batches per commit\n", (long long)w.o.visits,
	       (long long)w.o.gateways, (long long)w.o.venues, (long long)w.o.people,
	       (long long)w.o.days, (long long)w.o.batch, (long long)w.o.per_txn);
	if (generate(&w)) {
		fprintf(stderr, "cloud_ingest: out of memory generating visits\n");
		return 1;
	}
	for (int64_t p = 0; p < w.o.people; p++)
		people += w.person_seen[p];
	printf("generated: %zu batches, %llu people with visits (%.1f visits each on average)\n",
	       w.n_batches, (unsigned long long)people, (double)w.o.visits / (double)people);

	for (int r = 0; r < (int)w.o.runs; r++) {
		snprintf(dir, sizeof dir, "%s/cloud-ingest-XXXXXX", w.o.dir);
		if (!mkdtemp(dir)) {
			fprintf(stderr, "cloud_ingest: cannot make a directory under %s: %s\n", w.o.dir,
				strerror(errno));
			return 1;
		}
		rc = cl_store_open(&s, dir, 0, 0, err, sizeof err);
		if (!rc)
			rc = enroll_all(s, &w);
		if (!rc)
			rc = ingest_all(s, &w, &runs[r]);
		if (rc) {
			fprintf(stderr, "cloud_ingest: run %d failed: %s (%s) %s\n", r + 1, as_errname(rc),
				as_strerror(rc), s ? "" : err);
			cl_store_close(s);
			remove_store(dir);
			return 1;
		}
		rates[r] = (double)runs[r].stored / runs[r].seconds;
		cpu_rates[r] = (double)runs[r].stored / runs[r].cpu_seconds;
		printf("run %d: %llu visits in %.2f s = %.0f visits/s (in commit %.2f s; CPU %.2f s = "
		       "%.0f%% of the time, %.0f visits per CPU-second; %.1f KiB written per visit)\n",
		       r + 1, (unsigned long long)runs[r].stored, runs[r].seconds, rates[r],
		       runs[r].commit_seconds, runs[r].cpu_seconds,
		       100 * runs[r].cpu_seconds / runs[r].seconds, cpu_rates[r],
		       (double)runs[r].written / 1024.0 / (double)runs[r].stored);
		if (r + 1 < (int)w.o.runs) {
			cl_store_close(s);
			s = NULL;
			remove_store(dir);
		}
	}
	{
		double sorted[MAX_RUNS];

		memcpy(sorted, rates, sizeof rates[0] * (size_t)w.o.runs);
		printf("ingest: median %.0f visits/s over %lld run(s)",
		       percentile(sorted, (size_t)w.o.runs, 0.5), (long long)w.o.runs);
		memcpy(sorted, cpu_rates, sizeof rates[0] * (size_t)w.o.runs);
		printf("; median %.0f visits per CPU-second\n",
		       percentile(sorted, (size_t)w.o.runs, 0.5));
	}
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	rc = cl_store_stats(s, &st);
	if (rc == 0 && stat(path, &sb) == 0)
		printf("space: data.mdb %.1f MiB for %llu visits = %.1f bytes/visit "
		       "(%llu people, map used %.1f MiB)\n", (double)sb.st_size / 1048576.0,
		       (unsigned long long)st.visits, (double)sb.st_size / (double)st.visits,
		       (unsigned long long)st.people, (double)st.map_used / 1048576.0);
	rc = run_queries(s, &w);
	if (rc)
		fprintf(stderr, "cloud_ingest: queries failed: %s\n", as_strerror(rc));
	/* LMDB must not have one environment open twice in a process: close
	 * the store before looking at its free pages, then reopen it. */
	cl_store_close(s);
	s = NULL;
	if (stat(path, &sb) == 0) {
		long long fb = free_bytes(dir);

		if (fb >= 0)
			printf("space: of which free pages %.1f MiB (freed by the last transactions, "
			       "reused by later ones): live data %.1f bytes/visit\n",
			       (double)fb / 1048576.0,
			       ((double)sb.st_size - (double)fb) / (double)w.o.visits);
	}
	if (!rc)
		rc = cl_store_open(&s, dir, 0, 0, err, sizeof err);
	if (!rc) {
		/* Retention: the first week goes, in slices of 20,000 visits. */
		uint64_t deleted = 0;
		double t = bench_now_sec();

		rc = cl_store_purge(s, START_TIME + 7 * DAY, 20000, &deleted);
		t = bench_now_sec() - t;
		if (rc)
			fprintf(stderr, "cloud_ingest: purge failed: %s\n", as_strerror(rc));
		else
			printf("purge of the first 7 days: %llu visits in %.2f s = %.0f visits/s\n",
			       (unsigned long long)deleted, t, (double)deleted / t);
	}
	cl_store_close(s);
	if (!rc)
		rc = signature_cost(&w);
	if (w.o.keep)
		printf("store kept in %s\n", dir);
	else
		remove_store(dir);
	free(w.v);
	free(w.seq);
	free(w.batches);
	free(w.gw_venue);
	free(w.gw_id);
	free(w.person_seen);
	return rc ? 1 : 0;
}
