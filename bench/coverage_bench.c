/*
 * coverage_bench - what gateway heartbeats cost the cloud store, and how
 * fast the silences a trace marks are read.
 *
 * G gateways (two per venue) send a heartbeat every I seconds for D days;
 * a share of them (--silent-share, 5 % by default) falls silent for an
 * hour once a day.  The heartbeats are merged into the store in time
 * order, K per write transaction (one durable commit each), through
 * cl_store_ingest_heartbeat, as the ingest thread does.
 *
 * Printed (a benchmark reports, it never asserts; exit 0 when it ran):
 *  - per run: heartbeats merged per second (store calls and commits only),
 *    the coverage rows stored (one per period, not per heartbeat), and the
 *    growth of data.mdb per gateway; then the medians over runs;
 *  - query latency: cl_venue_silences (what a trace does for each visit
 *    of the case) for Q random venues over a 2-hour window, median and
 *    99th percentile.
 * Single-threaded.
 */
#include "gwcoverage.h"
#include "store.h"

#include "anshim/args.h"
#include "anshim/error.h"
#include "anshim/parse.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define START_TIME INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define DAY 86400
#define MAX_RUNS 9

struct options {
	int64_t gateways, days, interval, per_txn, runs, queries, silent_share;
	const char *dir;
};

static const char usage_text[] =
"Usage: coverage_bench [--gateways G] [--days D] [--interval S] [--per-txn K]\n"
"                      [--runs R] [--queries Q] [--silent-share PCT] [--dir DIR]\n"
"\n"
"G gateways (default 2000, two per venue) send a heartbeat every S seconds\n"
"(300) for D days (1); PCT percent of them (5) fall silent for an hour each\n"
"day. The heartbeats are merged into a fresh cloud store under DIR (/tmp),\n"
"K per transaction (4096), R times (3). Prints heartbeats merged per\n"
"second, coverage rows and data.mdb bytes per gateway, and the latency of\n"
"Q (1000) venue-silence lookups as a trace makes them.\n";

static int parse(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{"gateways", required_argument, NULL, 'g'}, {"days", required_argument, NULL, 'd'},
		{"interval", required_argument, NULL, 'i'}, {"per-txn", required_argument, NULL, 'k'},
		{"runs", required_argument, NULL, 'r'},     {"queries", required_argument, NULL, 'q'},
		{"silent-share", required_argument, NULL, 's'},
		{"dir", required_argument, NULL, 'D'},      {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct options){2000, 1, 300, 4096, 3, 1000, 5, "/tmp"};
	while ((c = as_args_next("coverage_bench", argc, argv, "h", opts, NULL)) != -1) {
		int rc = 0;

		switch (c) {
		case 'g': rc = as_parse_int64(optarg, 2, 1000000, &o->gateways); break;
		case 'd': rc = as_parse_int64(optarg, 1, 56, &o->days); break;
		case 'i': rc = as_parse_int64(optarg, 1, 86400, &o->interval); break;
		case 'k': rc = as_parse_int64(optarg, 1, 1000000, &o->per_txn); break;
		case 'r': rc = as_parse_int64(optarg, 1, MAX_RUNS, &o->runs); break;
		case 'q': rc = as_parse_int64(optarg, 1, 1000000, &o->queries); break;
		case 's': rc = as_parse_int64(optarg, 0, 100, &o->silent_share); break;
		case 'D': o->dir = optarg; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: return 2; /* as_args_next printed why */
		}
		if (rc) {
			fprintf(stderr, "coverage_bench: bad value '%s' for %s (see --help)\n", optarg,
				argv[optind - 1]);
			return 2;
		}
	}
	return 0;
}

static void gateway_id(uint8_t id[AS_GWID_LEN], int64_t g)
{
	memset(id, 0, AS_GWID_LEN);
	for (int i = 0; i < 8; i++)
		id[i] = (uint8_t)((uint64_t)g >> (8 * (7 - i)));
	id[15] = 0xc5;
}

/* Is gateway g silent at time t (an hour a day, at its own hour)? */
static int silent_at(const struct options *o, int64_t g, int64_t t)
{
	int64_t hour = (t - START_TIME) % DAY / 3600;

	return g % 100 < o->silent_share && hour == g % 24;
}

static int enroll_all(struct cl_store *s, const struct options *o)
{
	for (int64_t g = 0; g < o->gateways; g++) {
		struct cl_gateway gw;
		struct cl_venue v;
		int rc;

		memset(&gw, 0, sizeof gw);
		memset(&v, 0, sizeof v);
		gateway_id(gw.gw_id, g);
		gw.pk[0] = 1;
		gw.venue_id = (uint32_t)(g / 2 + 1);
		gw.enrolled_at = START_TIME - DAY;
		v.id = gw.venue_id;
		snprintf(v.name, sizeof v.name, "Venue %u", (unsigned)v.id);
		v.dwell_minutes = 60;
		if ((rc = cl_store_enroll(s, &gw, &v)) != 0)
			return rc;
	}
	return 0;
}

struct count {
	uint64_t rows;
};

static int count_row(void *ctx, const struct cl_period *p)
{
	(void)p;
	((struct count *)ctx)->rows++;
	return 0;
}

static int count_silence(void *ctx, const struct cl_gateway *g, const struct cl_silence *sl)
{
	(void)g;
	(void)sl;
	((struct count *)ctx)->rows++;
	return 0;
}

static int64_t file_size(const char *dir)
{
	char path[700];
	struct stat st;

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* One run into a fresh store; fills the figures. */
static int run(const struct options *o, double *rate, uint64_t *rows, double *bytes_per_gw,
	       double *q_med, double *q_p99, int query)
{
	char dir[600], err[700];
	struct cl_store *s = NULL;
	struct cl_ingest *in = NULL;
	struct as_heartbeat hb;
	uint64_t n = 0, in_txn = 0;
	int64_t size0;
	double t0, busy = 0;
	int rc;

	snprintf(dir, sizeof dir, "%s/coverage-bench-XXXXXX", o->dir);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	rc = cl_store_open(&s, dir, UINT64_C(8) << 30, 0, err, sizeof err);
	if (!rc)
		rc = enroll_all(s, o);
	size0 = file_size(dir);
	memset(&hb, 0, sizeof hb);
	hb.interval = (uint32_t)o->interval;
	hb.clock_state = AS_CLOCK_SYNCED;
	hb.up_since = START_TIME - 60;
	hb.journal_size = 1 << 30;
	for (int64_t t = START_TIME; !rc && t < START_TIME + o->days * DAY; t += o->interval) {
		for (int64_t g = 0; !rc && g < o->gateways; g++) {
			if (silent_at(o, g, t))
				continue;
			t0 = bench_now_sec();
			if (!in)
				rc = cl_store_ingest_begin(s, &in);
			gateway_id(hb.gw_id, g);
			hb.sent_at = t;
			hb.last_seq = (uint64_t)(t - START_TIME) / 60;
			if (!rc)
				rc = cl_store_ingest_heartbeat(in, &hb, t, t + 1, NULL);
			if (!rc && ++in_txn == (uint64_t)o->per_txn) {
				rc = cl_store_ingest_commit(in);
				in = NULL;
				in_txn = 0;
			}
			busy += bench_now_sec() - t0;
			n++;
		}
	}
	if (!rc && in) {
		t0 = bench_now_sec();
		rc = cl_store_ingest_commit(in);
		busy += bench_now_sec() - t0;
		in = NULL;
	}
	if (in)
		cl_store_ingest_abort(in);
	*rate = busy > 0 ? (double)n / busy : 0;
	*rows = 0;
	for (int64_t g = 0; !rc && g < o->gateways; g++) {
		struct count c = {0};
		uint8_t id[AS_GWID_LEN];

		gateway_id(id, g);
		rc = cl_store_each_period(s, id, count_row, &c);
		*rows += c.rows;
	}
	*bytes_per_gw = (double)(file_size(dir) - size0) / (double)o->gateways;
	if (!rc && query) {
		double *lat = calloc((size_t)o->queries, sizeof *lat);
		int64_t now = START_TIME + o->days * DAY;

		srand(7);
		for (int64_t q = 0; lat && !rc && q < o->queries; q++) {
			uint32_t venue = (uint32_t)(rand() % (int)(o->gateways / 2) + 1);
			int64_t from = START_TIME + rand() % (int)(o->days * DAY - 7200);
			struct count c = {0};

			t0 = bench_now_sec();
			rc = cl_venue_silences(s, venue, from, from + 7200, now, count_silence, &c);
			lat[q] = bench_now_sec() - t0;
		}
		*q_p99 = lat ? bench_percentile(lat, (size_t)o->queries, 0.99) : 0;
		*q_med = lat ? bench_median(lat, (size_t)o->queries) : 0;
		free(lat);
	}
	cl_store_close(s);
	{
		char path[700];

		snprintf(path, sizeof path, "%s/data.mdb", dir);
		unlink(path);
		snprintf(path, sizeof path, "%s/lock.mdb", dir);
		unlink(path);
		rmdir(dir);
	}
	if (rc)
		fprintf(stderr, "coverage_bench: %s%s%s\n", err[0] ? err : "", err[0] ? ": " : "",
			as_strerror(rc));
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct options o;
	double rates[MAX_RUNS], bytes[MAX_RUNS], q_med = 0, q_p99 = 0;
	uint64_t rows = 0;
	int rc = parse(argc, argv, &o);

	if (rc)
		return rc;
	printf("coverage_bench: %lld gateways, a heartbeat every %lld s for %lld day(s), "
	       "%lld %% silent an hour a day, %lld per transaction\n",
	       (long long)o.gateways, (long long)o.interval, (long long)o.days,
	       (long long)o.silent_share, (long long)o.per_txn);
	for (int64_t r = 0; r < o.runs; r++) {
		double qm = 0, qp = 0;

		if (run(&o, &rates[r], &rows, &bytes[r], &qm, &qp, r == o.runs - 1))
			return 1;
		if (r == o.runs - 1) {
			q_med = qm;
			q_p99 = qp;
		}
		printf("run %lld: %.0f heartbeats/s merged, %llu coverage rows, %.0f bytes of "
		       "data.mdb per gateway\n", (long long)r + 1, rates[r], (unsigned long long)rows,
		       bytes[r]);
	}
	printf("median: %.0f heartbeats/s merged; %llu coverage rows for %lld gateways "
	       "(%.2f per gateway); %.0f bytes per gateway\n",
	       bench_median(rates, (size_t)o.runs), (unsigned long long)rows,
	       (long long)o.gateways, (double)rows / (double)o.gateways,
	       bench_median(bytes, (size_t)o.runs));
	printf("venue silences over 2 h (as a trace marks a visit): median %.1f us, p99 %.1f us "
	       "(%lld queries)\n", q_med * 1e6, q_p99 * 1e6, (long long)o.queries);
	return 0;
}
