/*
 * index_catchup - how fast a new index node builds itself from the cluster
 * mode's PostgreSQL store (cl_store_index_step, the step anshim-cloudd
 * --role index runs).
 *
 *   index_catchup POSTGRESQL_URI SCRATCH_DIR [--visits N] [--gateways G]
 *                 [--people P] [--runs R]
 *
 * Fills the (empty) database with N visits of G gateways (random people,
 * entry times over the last 5 days) through the store contract itself, in
 * batches of 500 records and transactions of 20 batches, and prints that
 * rate; then, R times, builds a new LMDB index in SCRATCH_DIR/indexK from
 * nothing, step after step (20,000 records a step) until caught up, and
 * prints each run's visits per second and the median.  A figure, not a
 * test.  Single-threaded.
 */
#include "stats.h"
#include "store.h"

#include "anshim/error.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 500
#define BATCHES_PER_TXN 20

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "index_catchup: %s: %s %s\n", what, as_strerror(rc), cl_store_last_error());
	return 1;
}

int main(int argc, char **argv)
{
	size_t visits = 200000, gateways = 20, people = 50000, runs = 3;
	struct cl_store *pg = NULL;
	char err[512];
	double t0, rates[16];
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: index_catchup POSTGRESQL_URI SCRATCH_DIR [--visits N] "
				"[--gateways G] [--people P] [--runs R]\n");
		return 2;
	}
	for (int i = 3; i + 1 < argc; i += 2) {
		size_t v = strtoull(argv[i + 1], NULL, 10);

		if (strcmp(argv[i], "--visits") == 0)
			visits = v;
		else if (strcmp(argv[i], "--gateways") == 0)
			gateways = v ? v : 1;
		else if (strcmp(argv[i], "--people") == 0)
			people = v ? v : 1;
		else if (strcmp(argv[i], "--runs") == 0)
			runs = v ? (v > 16 ? 16 : v) : 1;
	}
	if (sodium_init() < 0 || cl_store_open(&pg, argv[1], 0, 0, err, sizeof err)) {
		fprintf(stderr, "index_catchup: %s\n", err);
		return 1;
	}
	{
		const int64_t now = (int64_t)time(NULL);
		uint8_t (*ids)[AS_GWID_LEN] = calloc(gateways, AS_GWID_LEN);
		uint64_t *next = calloc(gateways, sizeof *next);
		struct as_record *recs = calloc(BATCH, sizeof *recs);
		size_t done = 0;

		if (!ids || !next || !recs)
			return fail("memory", -ENOMEM);
		for (size_t g = 0; g < gateways; g++) {
			struct cl_gateway gw;
			struct cl_venue v;

			memset(&gw, 0, sizeof gw);
			memset(&v, 0, sizeof v);
			randombytes_buf(ids[g], AS_GWID_LEN);
			memcpy(gw.gw_id, ids[g], AS_GWID_LEN);
			randombytes_buf(gw.pk, AS_SIGN_PK_LEN);
			v.id = (uint32_t)g + 1;
			snprintf(v.name, sizeof v.name, "Venue %zu", g + 1);
			gw.venue_id = v.id;
			rc = cl_store_enroll(pg, &gw, &v);
			if (rc)
				return fail("enrolling", rc);
			next[g] = 1;
		}
		t0 = bench_now_sec();
		while (done < visits) {
			struct cl_ingest *txn;

			rc = cl_store_ingest_begin(pg, &txn);
			if (rc)
				return fail("beginning", rc);
			for (int b = 0; b < BATCHES_PER_TXN && done < visits; b++) {
				size_t g = rnd() % gateways, n = visits - done < BATCH ? visits - done : BATCH;
				struct cl_ingest_result res;

				for (size_t i = 0; i < n; i++) {
					uint64_t person = rnd() % people;

					memset(&recs[i], 0, sizeof recs[i]);
					recs[i].seq = next[g] + i;
					recs[i].kind = AS_REC_PASS;
					recs[i].headcount = 1;
					recs[i].entry_time = now - (int64_t)(rnd() % (5 * 86400));
					memcpy(recs[i].pid, &person, sizeof person);
					recs[i].pid[15] = 1;
					memcpy(recs[i].capsule, &person, sizeof person);
				}
				rc = cl_store_ingest_batch(txn, ids[g], recs, NULL, n, now, now, &res);
				if (rc || res.stored != n)
					return fail("ingesting", rc ? rc : AS_E_STORE);
				next[g] += n;
				done += n;
			}
			rc = cl_store_ingest_commit(txn);
			if (rc)
				return fail("committing", rc);
		}
		printf("PostgreSQL filled through the store contract: %zu visits in %.1f s, "
		       "%.0f visits/s\n", visits, bench_now_sec() - t0,
		       (double)visits / (bench_now_sec() - t0));
		free(ids);
		free(next);
		free(recs);
	}
	for (size_t run = 0; run < runs; run++) {
		struct cl_store *index = NULL;
		char dir[4096];
		uint64_t copied = 0, behind = 1, total = 0;
		double t;

		snprintf(dir, sizeof dir, "%s/index%zu", argv[2], run + 1);
		if (cl_store_open(&index, dir, UINT64_C(16) << 30, 0, err, sizeof err)) {
			fprintf(stderr, "index_catchup: %s\n", err);
			return 1;
		}
		t = bench_now_sec();
		while (behind) {
			rc = cl_store_index_step(index, pg, 20000, &copied, &behind);
			if (rc)
				return fail("an index step", rc);
			total += copied;
		}
		t = bench_now_sec() - t;
		rates[run] = (double)total / t;
		printf("run %zu: a new index node copied %llu visits in %.1f s, %.0f visits/s\n",
		       run + 1, (unsigned long long)total, t, rates[run]);
		cl_store_close(index);
	}
	printf("index catch-up: median %.0f visits/s over %zu runs\n", bench_median(rates, runs), runs);
	cl_store_close(pg);
	return 0;
}
