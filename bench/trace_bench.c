/*
 * trace_bench - the Anshim side of bench/compare_postgres: trace latency
 * of cl_trace_run on a store loaded by visits_gen, for the cases it
 * sampled, at depth 1 and depth 3, and the memory a depth-3 trace takes.
 *
 * Depth 1, for every case (a line "pid from to visits" of the cases
 * file): one untimed run writing its contacts to the results file (lines
 * "d1 CASE ORDER PID START OVERLAP"), then R1 timed runs that only count.
 * Depth 3, for the first N3 cases, after one untimed run of the first case
 * (a depth-3 trace reads much of the store): R3 timed runs per case, the
 * first keeping its contacts in memory, written after the run ("d3 CASE
 * ORDER PID START").  The driver compares the results with PostgreSQL's.
 * A case's latency is the median of its timed runs; printed are the median
 * and p95 over cases, the first-order contacts that are high risk (by
 * --risk-period, 24 hours by default), and for depth 3 the largest
 * result, the engine's peak heap (mallinfo2 and big_mapped_bytes, sampled
 * whenever an order completes, less the heap before the run and what this
 * program keeps) and the process's peak RSS (getrusage; it includes the
 * store's pages the process mapped).
 */
#include "pidcache.h"
#include "trace.h"

#include "bigarray.h"

#include "anshim/args.h"
#include "anshim/error.h"
#include "anshim/parse.h"
#include "stats.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_CASES 1000
#define MAX_REPS 50

struct options {
	const char *store, *cases, *out;
	int64_t reps1, reps3, depth3_cases, incubation_days, min_overlap_min, map_mib;
	int64_t budget_mib;            /* trace memory budget (0: none) */
	int64_t deep_depth;            /* the depth of the deep traces (2 or 3) */
	int use_pid_cache;
	int per_case;                  /* print each case's depth-1 latency */
	int cpu_time;                  /* time traces by this thread's CPU time */
	int64_t only_case;             /* trace only this case (1-based; 0: all) */
	struct cl_pid_cache *pids;     /* --pid-cache: one for the process */
	uint64_t stopped3;             /* depth-3 runs stopped at the budget */
	uint64_t stopped3_people;      /* people their whole orders reached */
	int64_t risk_period;
};

struct tcase {
	uint8_t pid[AS_PID_LEN];
	int64_t from, to;
	unsigned visits;
};

static const char usage_text[] =
"Usage: trace_bench --store DIR --cases FILE [--out FILE] [--reps1 N] [--reps3 N]\n"
"                   [--depth3-cases N] [--incubation DAYS] [--min-overlap MIN]\n"
"                   [--risk-period DURATION] [--map-mib N] [--case N] [--per-case]\n"
"                   [--cpu-time] [--deep-depth 2|3]\n"
"\n"
"  --store DIR        a store loaded by visits_gen\n"
"  --cases FILE       cases written by visits_gen --cases\n"
"  --out FILE         write every contact found (for compare_postgres)\n"
"  --reps1 N          timed depth-1 runs per case (default 5)\n"
"  --reps3 N          timed depth-3 runs per case (default 1)\n"
"  --depth3-cases N   trace only the first N cases at depth 3 (default 5)\n"
"  --incubation DAYS  (default 14)    --min-overlap MIN (default 15)\n"
"  --risk-period DURATION  e.g. 24h (the default), 90m, 60d\n"
"  --memory-budget M  each trace's memory budget in MiB, as trace_memory in\n"
"                     cloud.conf (default 512; 0: none); a depth-3 trace that\n"
"                     stops at it is counted, not an error\n"
"  --pid-cache        look pids up through one process-wide cache filled\n"
"                     first, as the console does at start\n"
"  --case N           trace only the N-th case of the file (1 for the first),\n"
"                     for profiling one case\n"
"  --per-case         print each case's depth-1 latency and contacts\n"
"  --cpu-time         time each trace by the CPU time of the thread that runs\n"
"                     it instead of the wall clock: on a busy machine, what the\n"
"                     traces cost without waiting for the CPU (a deep trace's\n"
"                     second thread is not counted)\n"
"  --deep-depth N     the depth of the deep traces that --reps3 and\n"
"                     --depth3-cases count: 3 (the default) or 2; the lines\n"
"                     printed say which (the RESULT keys keep their d3 names)\n"
"  --map-mib N        map N MiB of the store (default: the size it was made\n"
"                     with); a smaller map lets valgrind run this program\n";

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static size_t read_cases(const char *path, struct tcase *c, size_t max)
{
	FILE *f = fopen(path, "r");
	char pidhex[64];
	long long from, to;
	unsigned v;
	size_t n = 0;

	if (!f)
		return 0;
	while (n < max && fscanf(f, "%63s %lld %lld %u", pidhex, &from, &to, &v) == 4) {
		if (strlen(pidhex) != 2 * AS_PID_LEN)
			break;
		for (size_t i = 0; i < AS_PID_LEN; i++)
			c[n].pid[i] = (uint8_t)(hexval(pidhex[2 * i]) << 4 | hexval(pidhex[2 * i + 1]));
		c[n].from = from;
		c[n].to = to;
		c[n].visits = v;
		n++;
	}
	fclose(f);
	return n;
}

/* ---- sinks ------------------------------------------------------------------ */

/* A depth-3 contact kept for the results file (written after timing). */
struct kept {
	uint8_t pid[AS_PID_LEN];
	int64_t start;
	unsigned order;
};

struct sink_ctx {
	FILE *out;                 /* depth 1: write each contact here */
	int keep;                  /* depth 3: keep each contact in kept[] */
	size_t case_no;
	uint64_t contacts, high, case_visits;
	size_t heap_base, heap_peak;
	int sample_heap;
};

static struct kept *kept;
static size_t n_kept, cap_kept;

static size_t heap_now(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd + big_mapped_bytes();
}

static int on_case_visit(void *ctx, const struct cl_trace_visit *v)
{
	((struct sink_ctx *)ctx)->case_visits++;
	return 0;
}

static int on_contact(void *ctx, const struct cl_trace_contact *c)
{
	struct sink_ctx *s = ctx;

	s->contacts++;
	s->high += c->high != 0;
	if (s->out) {
		char p[2 * AS_PID_LEN + 1];

		hex(p, c->pid, AS_PID_LEN);
		fprintf(s->out, "d1 %zu %u %s %lld %lld\n", s->case_no, c->order, p,
			(long long)c->start, (long long)c->overlap);
	}
	if (s->keep) {
		if (n_kept == cap_kept) {
			size_t cap = cap_kept ? cap_kept * 2 : 4096;
			struct kept *k = realloc(kept, cap * sizeof *k);

			if (!k)
				return -ENOMEM;
			kept = k;
			cap_kept = cap;
		}
		memcpy(kept[n_kept].pid, c->pid, AS_PID_LEN);
		kept[n_kept].start = c->start;
		kept[n_kept].order = c->order;
		n_kept++;
	}
	return 0;
}

static int on_order_done(void *ctx, const struct cl_trace_order *o)
{
	struct sink_ctx *s = ctx;

	if (s->sample_heap) {
		/* Less the results this program keeps. */
		size_t h = heap_now() - cap_kept * sizeof *kept;

		if (h > s->heap_peak)
			s->heap_peak = h;
	}
	return 0;
}

/* The CPU time of the calling thread, in seconds: what a trace costs
 * whatever else the machine runs (a depth-1 trace runs on one thread). */
static double thread_cpu_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int trace_once(struct cl_store *st, struct options *o, const struct tcase *c,
		      unsigned depth, struct sink_ctx *sc, double *seconds)
{
	struct cl_trace_params p;
	struct cl_trace_order total;
	struct cl_trace_sink sink = {sc, on_case_visit, on_contact, on_order_done};
	double t;
	int rc;

	cl_trace_params_init(&p);
	memcpy(p.pid, c->pid, AS_PID_LEN);
	p.from = c->from;
	p.to = c->to;
	p.depth = depth;
	p.incubation = o->incubation_days * 86400;
	p.min_overlap = o->min_overlap_min * 60;
	p.risk_period = o->risk_period;
	p.memory_budget = (size_t)o->budget_mib << 20;
	p.pids = o->pids;
	sc->contacts = sc->high = sc->case_visits = 0;
	t = o->cpu_time ? thread_cpu_sec() : bench_now_sec();
	rc = cl_trace_run(st, &p, &sink, &total);
	*seconds = (o->cpu_time ? thread_cpu_sec() : bench_now_sec()) - t;
	if (rc == AS_E_BUDGET && depth > 1) {
		/* A figure, not a failure: the trace stopped as it should. */
		o->stopped3++;
		o->stopped3_people += total.people;
		rc = 0;
	}
	return rc;
}

static void summary(const char *what, double *lat, size_t n)
{
	double m = bench_median(lat, n), p95 = bench_percentile(lat, n, 0.95), max = n ? lat[n - 1] : 0;

	printf("anshim %s: median %.2f ms, p95 %.2f ms, max %.2f ms over %zu cases\n", what, m * 1e3,
	       p95 * 1e3, max * 1e3, n);
}

static int parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"store", required_argument, NULL, 's'},  {"cases", required_argument, NULL, 'c'},
		{"out", required_argument, NULL, 'o'},    {"reps1", required_argument, NULL, '1'},
		{"reps3", required_argument, NULL, '3'},  {"depth3-cases", required_argument, NULL, 'n'},
		{"incubation", required_argument, NULL, 'i'},
		{"min-overlap", required_argument, NULL, 'm'},
		{"map-mib", required_argument, NULL, 'M'},
		{"risk-period", required_argument, NULL, 'r'},
		{"memory-budget", required_argument, NULL, 'B'},
		{"pid-cache", no_argument, NULL, 'P'},
		{"case", required_argument, NULL, 'C'},
		{"per-case", no_argument, NULL, 'p'},
		{"cpu-time", no_argument, NULL, 'T'},
		{"deep-depth", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	int c, at = 0;

	memset(o, 0, sizeof *o);
	o->reps1 = 5;
	o->reps3 = 1;
	o->depth3_cases = 5;
	o->incubation_days = 14;
	o->min_overlap_min = 15;
	o->risk_period = CL_TRACE_DEFAULT_RISK_PERIOD;
	o->budget_mib = 512;
	o->deep_depth = 3;
	while ((c = as_args_next("trace_bench", argc, argv, "", longopts, &at)) != -1) {
		int64_t *target = NULL, min = 1, max = 0;

		switch (c) {
		case 's': o->store = optarg; break;
		case 'c': o->cases = optarg; break;
		case 'o': o->out = optarg; break;
		case '1': target = &o->reps1; max = MAX_REPS; break;
		case '3': target = &o->reps3; max = MAX_REPS; break;
		case 'n': target = &o->depth3_cases; min = 0; max = MAX_CASES; break;
		case 'i': target = &o->incubation_days; min = 0; max = 60; break;
		case 'm': target = &o->min_overlap_min; min = 0; max = 1440; break;
		case 'M': target = &o->map_mib; max = INT64_C(1) << 30; break;
		case 'B': target = &o->budget_mib; min = 0; max = INT64_C(1) << 20; break;
		case 'D': target = &o->deep_depth; min = 2; max = 3; break;
		case 'P': o->use_pid_cache = 1; break;
		case 'p': o->per_case = 1; break;
		case 'T': o->cpu_time = 1; break;
		case 'C': target = &o->only_case; max = MAX_CASES; break;
		case 'r':
			if (as_parse_duration(optarg, &o->risk_period) || o->risk_period <= 0) {
				fprintf(stderr, "trace_bench: --risk-period '%s': a duration such as "
					"24h, 90m or 60d\n", optarg);
				return 2;
			}
			break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: fputs(usage_text, stderr); return 2;
		}
		if (target && as_parse_int64(optarg, min, max, target)) {
			fprintf(stderr, "trace_bench: --%s '%s': expected a number from %lld to %lld\n",
				longopts[at].name, optarg, (long long)min, (long long)max);
			return 2;
		}
	}
	if (!o->store || !o->cases || optind < argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct tcase cases[MAX_CASES];
	static double lat1[MAX_CASES], lat3[MAX_CASES], reps[MAX_REPS];
	struct options o;
	struct cl_store *st = NULL;
	struct sink_ctx sc;
	struct rusage ru;
	FILE *out = NULL;
	char err[600];
	size_t n, n3;
	uint64_t c1 = 0, h1 = 0, c3 = 0, max3 = 0, cv = 0;
	size_t heap_peak = 0;
	double t;
	int rc = parse_options(&o, argc, argv);

	if (rc)
		return rc;
	n = read_cases(o.cases, cases, MAX_CASES);
	if (n == 0) {
		fprintf(stderr, "trace_bench: no cases in %s\n", o.cases);
		return 1;
	}
	if (o.only_case) {
		if ((size_t)o.only_case > n) {
			fprintf(stderr, "trace_bench: --case %lld: %s has %zu cases\n",
				(long long)o.only_case, o.cases, n);
			return 2;
		}
		cases[0] = cases[o.only_case - 1];
		n = 1;
	}
	n3 = (size_t)o.depth3_cases < n ? (size_t)o.depth3_cases : n;
	rc = cl_store_open(&st, o.store, (uint64_t)o.map_mib << 20, 1, err, sizeof err);
	if (!rc && o.use_pid_cache) {
		uint64_t people = 0;

		t = bench_now_sec();
		rc = cl_pid_cache_new(0, &o.pids);
		if (!rc)
			rc = cl_pid_cache_fill(o.pids, st, &people);
		if (!rc)
			printf("pid cache filled as the console does at start: %llu people in %.2f s\n",
			       (unsigned long long)people, bench_now_sec() - t);
	}
	if (rc) {
		fprintf(stderr, "trace_bench: %s\n", err);
		return 1;
	}
	if (o.out && !(out = fopen(o.out, "w"))) {
		fprintf(stderr, "trace_bench: %s: %s\n", o.out, strerror(errno));
		return 1;
	}
	/* Depth 1: an untimed run of every case writing the results (and
	 * warming the cache), then the timed runs, counting only. */
	for (size_t i = 0; i < n && !rc; i++) {
		memset(&sc, 0, sizeof sc);
		sc.out = out;
		sc.case_no = i;
		rc = trace_once(st, &o, &cases[i], 1, &sc, &t);
		cv += sc.case_visits;
		c1 += sc.contacts;
		h1 += sc.high;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		for (int64_t r = 0; r < o.reps1 && !rc; r++) {
			memset(&sc, 0, sizeof sc);
			rc = trace_once(st, &o, &cases[i], 1, &sc, &reps[r]);
		}
		lat1[i] = bench_median(reps, (size_t)o.reps1);
		if (o.per_case && !rc)
			printf("case %zu: %.3f ms, %llu contacts\n",
			       o.only_case ? (size_t)o.only_case : i + 1, lat1[i] * 1e3,
			       (unsigned long long)sc.contacts);
	}
	/* Depth 3: one untimed run of the first case (warm cache), then per
	 * case R3 timed runs, the first keeping its contacts (written after
	 * it), all sampling the heap when an order completes (three calls of
	 * mallinfo2 per trace). */
	if (n3 && !rc) {
		memset(&sc, 0, sizeof sc);
		rc = trace_once(st, &o, &cases[0], (unsigned)o.deep_depth, &sc, &t);
	}
	for (size_t i = 0; i < n3 && !rc; i++) {
		for (int64_t r = 0; r < o.reps3 && !rc; r++) {
			memset(&sc, 0, sizeof sc);
			sc.keep = r == 0;
			sc.sample_heap = 1;
			n_kept = 0;
			sc.heap_base = heap_now() - cap_kept * sizeof *kept;
			rc = trace_once(st, &o, &cases[i], (unsigned)o.deep_depth, &sc, &reps[r]);
			if (sc.heap_peak > sc.heap_base && sc.heap_peak - sc.heap_base > heap_peak)
				heap_peak = sc.heap_peak - sc.heap_base;
			if (r == 0) {
				c3 += sc.contacts;
				if (sc.contacts > max3)
					max3 = sc.contacts;
				for (size_t k = 0; out && k < n_kept; k++) {
					char p[2 * AS_PID_LEN + 1];

					hex(p, kept[k].pid, AS_PID_LEN);
					fprintf(out, "d3 %zu %u %s %lld\n", i, kept[k].order, p,
						(long long)kept[k].start);
				}
			}
		}
		lat3[i] = bench_median(reps, (size_t)o.reps3);
	}
	if (out && fclose(out) && !rc)
		rc = -errno;
	if (!rc)
		printf("anshim traces: %zu cases, %.1f visits each in the window, %.1f first-order "
		       "contacts each (%.1f high); depth %d (first %zu cases): %.0f contacts each on "
		       "average, at most %llu\n", n, (double)cv / (double)n, (double)c1 / (double)n,
		       (double)h1 / (double)n, (int)o.deep_depth, n3,
		       n3 ? (double)c3 / (double)n3 : 0.0, (unsigned long long)max3);
	cl_store_close(st);
	if (rc) {
		fprintf(stderr, "trace_bench: trace failed: %s\n", as_strerror(rc));
		return 1;
	}
	printf("warm cache; each case's latency is the median of %lld depth-1 and %lld depth-%d "
	       "runs%s\n", (long long)o.reps1, (long long)o.reps3, (int)o.deep_depth,
	       o.cpu_time ? "; latency is the tracing thread's CPU time (--cpu-time)" : "");
	free(kept);
	summary("first-order trace", lat1, n);
	if (n3)
		summary(o.deep_depth == 2 ? "depth-2 trace" : "depth-3 trace", lat3, n3);
	getrusage(RUSAGE_SELF, &ru);
	printf("anshim depth-%d memory: engine heap peak %.1f MiB (largest result %llu contacts, "
	       "%.0f bytes per contact); process peak RSS %.1f MiB (includes the store's mapped "
	       "pages the traces read)\n", (int)o.deep_depth, (double)heap_peak / 1048576.0,
	       (unsigned long long)max3, max3 ? (double)heap_peak / (double)max3 : 0.0,
	       (double)ru.ru_maxrss / 1024.0);
	if (o.budget_mib)
		printf("anshim depth-%d budget: %lld MiB; of the timed and untimed depth-%d runs %llu "
		       "stopped at it (their whole orders reached %.0f people on average)%s\n",
		       (int)o.deep_depth, (long long)o.budget_mib, (int)o.deep_depth,
		       (unsigned long long)o.stopped3,
		       o.stopped3 ? (double)o.stopped3_people / (double)o.stopped3 : 0.0,
		       o.stopped3 ? "; the figures above count only what they reached" : "");
	else
		printf("anshim depth-%d budget: none\n", (int)o.deep_depth);
	if (o.use_pid_cache)
		printf("pids through one process-wide cache (%.1f MiB at the end)\n",
		       (double)cl_pid_cache_bytes(o.pids) / 1048576.0);
	cl_pid_cache_free(o.pids);
	printf("RESULT anshim_d1_median_ms=%.3f anshim_d1_p95_ms=%.3f anshim_d3_median_ms=%.3f "
	       "anshim_d3_p95_ms=%.3f anshim_d1_contacts=%.1f anshim_d3_contacts=%.1f "
	       "anshim_d3_max_contacts=%llu anshim_d3_heap_mib=%.1f anshim_maxrss_mib=%.1f "
	       "anshim_d1_high=%.1f\n",
	       bench_median(lat1, n) * 1e3, bench_percentile(lat1, n, 0.95) * 1e3,
	       n3 ? bench_median(lat3, n3) * 1e3 : 0.0, n3 ? bench_percentile(lat3, n3, 0.95) * 1e3 : 0.0,
	       (double)c1 / (double)n, n3 ? (double)c3 / (double)n3 : 0.0,
	       (unsigned long long)max3, (double)heap_peak / 1048576.0,
	       (double)ru.ru_maxrss / 1024.0, (double)h1 / (double)n);
	return 0;
}
