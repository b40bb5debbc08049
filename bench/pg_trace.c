/*
 * pg_trace - the PostgreSQL side of bench/compare_postgres, a libpq client
 * (so that timings leave out process start-up and psql's formatting).
 *
 *   pg_trace --conn CONNINFO --sql pg_trace.sql load --csv DIR
 *       schema, COPY of the CSV files visits_gen wrote, index build,
 *       VACUUM ANALYZE, each timed; then the table and index sizes.
 *   pg_trace --conn CONNINFO --sql pg_trace.sql trace --cases FILE
 *            [--out FILE] [--reps1 N] [--reps3 N] [--depth3-cases N]
 *            [--incubation DAYS]
 *       the same measurement trace_bench makes on the Anshim store (see
 *       there); a case's latency is the median of its timed runs.
 *
 * The SQL is in pg_trace.sql, in sections "-- @name".  Output: figures for
 * people and "RESULT key=value" lines for the driver.
 */
#include "stats.h"

#include "anshim/args.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CASES 1000
#define MAX_REPS 50

struct tcase {
	char pid[40];      /* uuid text */
	char from[24], to[24];
};

static PGconn *conn;
static char *sql_text;

static void die(const char *what)
{
	fprintf(stderr, "pg_trace: %s: %s", what, PQerrorMessage(conn));
	PQfinish(conn);
	exit(1);
}

/* ---- the SQL file --------------------------------------------------------- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Section name of the SQL file, with :csvdir replaced by csvdir and a final
 * semicolon removed; malloc'd.  Exits if there is no such section. */
static char *section(const char *name, const char *csvdir)
{
	char tag[64], *start, *end, *out;
	const char *p;
	size_t n, extra = csvdir ? strlen(csvdir) : 0, len = 0;

	snprintf(tag, sizeof tag, "\n-- @%s\n", name);
	start = strstr(sql_text, tag);
	if (!start) {
		fprintf(stderr, "pg_trace: no section '%s' in the SQL file\n", name);
		exit(1);
	}
	start += strlen(tag);
	end = strstr(start, "\n-- @");
	n = end ? (size_t)(end - start) : strlen(start);
	out = malloc(n * (extra + 1) + 1);
	if (!out)
		exit(1);
	for (p = start; p < start + n; p++) {
		if (csvdir && strncmp(p, ":csvdir", 7) == 0) {
			memcpy(out + len, csvdir, extra);
			len += extra;
			p += 6;
		} else {
			out[len++] = *p;
		}
	}
	while (len && (out[len - 1] == '\n' || out[len - 1] == ' ' || out[len - 1] == ';'))
		len--;
	out[len] = '\0';
	return out;
}

/* Run section name (any number of statements, no parameters); seconds. */
static double run(const char *name, const char *csvdir)
{
	char *q = section(name, csvdir);
	double t = bench_now_sec();
	PGresult *r = PQexec(conn, q);
	ExecStatusType st = PQresultStatus(r);

	t = bench_now_sec() - t;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "pg_trace: %s: %s", name, PQresultErrorMessage(r));
		exit(1);
	}
	PQclear(r);
	free(q);
	return t;
}

static void prepare(const char *name)
{
	char *q = section(name, NULL);
	PGresult *r = PQprepare(conn, name, q, 0, NULL);

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "pg_trace: prepare %s: %s", name, PQresultErrorMessage(r));
		exit(1);
	}
	PQclear(r);
	free(q);
}

static PGresult *exec_prepared(const char *name, int n, const char *const *params)
{
	PGresult *r = PQexecPrepared(conn, name, n, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "pg_trace: %s: %s", name, PQresultErrorMessage(r));
		exit(1);
	}
	return r;
}

/* ---- load ------------------------------------------------------------------ */

static int load(const char *csvdir)
{
	double t_small = 0, t_copy, t_pid, t_venue, t_vac;
	PGresult *r;
	long long rows, total, heap, ipid, iven, all;

	run("schema", NULL);
	t_small += run("copy_venues", csvdir);
	t_small += run("copy_gateways", csvdir);
	t_small += run("copy_people", csvdir);
	t_copy = run("copy_visits", csvdir);
	t_pid = run("index_pid", NULL);
	t_venue = run("index_venue", NULL);
	t_vac = run("vacuum_analyze", NULL);
	r = PQexec(conn, section("size_visits", NULL));
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("sizes");
	total = atoll(PQgetvalue(r, 0, 0));
	heap = atoll(PQgetvalue(r, 0, 1));
	ipid = atoll(PQgetvalue(r, 0, 2));
	iven = atoll(PQgetvalue(r, 0, 3));
	rows = atoll(PQgetvalue(r, 0, 4));
	PQclear(r);
	r = PQexec(conn, section("size_all", NULL));
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("sizes");
	all = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	printf("postgres load: %lld visits: COPY %.2f s, index (pid, entry) %.2f s, index "
	       "(venue, entry) %.2f s: %.0f visits/s for COPY + index build; then VACUUM ANALYZE "
	       "%.2f s; venues, gateways and people COPY %.2f s\n", rows, t_copy, t_pid, t_venue,
	       (double)rows / (t_copy + t_pid + t_venue), t_vac, t_small);
	printf("postgres space: visits with indexes %.1f MiB = %.1f bytes/visit (heap %.1f, "
	       "(pid, entry) %.1f, (venue, entry) %.1f); with people, venues and gateways %.1f "
	       "bytes/visit\n", (double)total / 1048576.0, (double)total / (double)rows,
	       (double)heap / (double)rows, (double)ipid / (double)rows, (double)iven / (double)rows,
	       (double)all / (double)rows);
	printf("RESULT pg_copy_s=%.3f pg_index_s=%.3f pg_vacuum_s=%.3f pg_rows=%lld "
	       "pg_visits_bytes=%lld pg_all_bytes=%lld\n", t_copy, t_pid + t_venue, t_vac, rows,
	       total, all);
	return 0;
}

/* ---- trace ----------------------------------------------------------------- */

static size_t read_cases(const char *path, struct tcase *c, size_t max)
{
	FILE *f = fopen(path, "r");
	char hex[64];
	long long from, to;
	unsigned v;
	size_t n = 0;

	if (!f)
		return 0;
	while (n < max && fscanf(f, "%63s %lld %lld %u", hex, &from, &to, &v) == 4) {
		if (strlen(hex) != 32)
			break;
		snprintf(c[n].pid, sizeof c[n].pid, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
			 hex + 12, hex + 16, hex + 20);
		snprintf(c[n].from, sizeof c[n].from, "%lld", from);
		snprintf(c[n].to, sizeof c[n].to, "%lld", to);
		n++;
	}
	fclose(f);
	return n;
}

/* uuid text -> 32 hex digits. */
static void plain_hex(char *out, const char *uuid)
{
	size_t n = 0;

	for (; *uuid && n < 32; uuid++)
		if (*uuid != '-')
			out[n++] = *uuid;
	out[n] = '\0';
}

static long first_order(const struct tcase *c, FILE *out, size_t case_no, double *seconds)
{
	const char *params[3] = {c->pid, c->from, c->to};
	double t = bench_now_sec();
	PGresult *r = exec_prepared("first_order", 3, params);
	long n = PQntuples(r);

	*seconds = bench_now_sec() - t;
	for (long i = 0; out && i < n; i++) {
		char p[40];

		plain_hex(p, PQgetvalue(r, (int)i, 0));
		fprintf(out, "d1 %zu 1 %s %s %s\n", case_no, p, PQgetvalue(r, (int)i, 1),
			PQgetvalue(r, (int)i, 2));
	}
	PQclear(r);
	return n;
}

/* Depth n, order by order; -1 if the trace ran past d3_timeout seconds
 * (statement_timeout set before each order to what is left; the
 * transaction is rolled back and *seconds is the timeout). */
static double d3_timeout = 180;

static long depth_n(const struct tcase *c, unsigned depth, const char *incubation, FILE *out,
		    size_t case_no, double *seconds)
{
	const char *params[3] = {c->pid, c->from, c->to};
	double t = bench_now_sec();
	PGresult *r;
	long n;

	PQclear(exec_prepared("d3_begin", 0, NULL));
	PQclear(exec_prepared("d3_case", 3, params));
	for (unsigned k = 1; k <= depth; k++) {
		char ks[8], set[80];
		const char *op[2] = {ks, incubation};
		double left = d3_timeout - (bench_now_sec() - t);

		snprintf(set, sizeof set, "SET LOCAL statement_timeout = %.0f",
			 left > 0.001 ? left * 1e3 : 1.0);
		PQclear(PQexec(conn, set));
		snprintf(ks, sizeof ks, "%u", k);
		r = PQexecPrepared(conn, "d3_order", 2, op, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

			if (!state || strcmp(state, "57014")) {
				fprintf(stderr, "pg_trace: d3_order: %s", PQresultErrorMessage(r));
				exit(1);
			}
			PQclear(r);
			PQclear(PQexec(conn, "ROLLBACK"));
			*seconds = d3_timeout;
			if (out)
				fprintf(out, "d3skip %zu\n", case_no);
			return -1;
		}
		PQclear(r);
		PQclear(exec_prepared("d3_analyze", 0, NULL));
	}
	r = exec_prepared("d3_result", 0, NULL);
	n = PQntuples(r);
	PQclear(exec_prepared("d3_commit", 0, NULL));
	*seconds = bench_now_sec() - t;
	for (long i = 0; out && i < n; i++) {
		char p[40];

		plain_hex(p, PQgetvalue(r, (int)i, 0));
		fprintf(out, "d3 %zu %s %s %s\n", case_no, PQgetvalue(r, (int)i, 1), p,
			PQgetvalue(r, (int)i, 2));
	}
	PQclear(r);
	return n;
}

static void summary(const char *what, double *lat, size_t n)
{
	double m = bench_median(lat, n), p95 = bench_percentile(lat, n, 0.95), max = n ? lat[n - 1] : 0;

	printf("postgres %s: median %.2f ms, p95 %.2f ms, max %.2f ms over %zu cases\n", what,
	       m * 1e3, p95 * 1e3, max * 1e3, n);
}

static int trace(const char *cases_path, const char *out_path, long reps1, long reps3,
		 long depth3_cases, long incubation_days)
{
	static struct tcase cases[MAX_CASES];
	static double lat1[MAX_CASES], lat3[MAX_CASES], reps[MAX_REPS];
	size_t n = read_cases(cases_path, cases, MAX_CASES), n3;
	FILE *out = NULL;
	long c1 = 0, c3 = 0, max3 = 0, timeouts = 0, done3 = 0;
	char incubation[32];
	double t;

	if (n == 0) {
		fprintf(stderr, "pg_trace: no cases in %s\n", cases_path);
		return 1;
	}
	n3 = (size_t)depth3_cases < n ? (size_t)depth3_cases : n;
	snprintf(incubation, sizeof incubation, "%ld", incubation_days * 86400);
	run("d3_table", NULL);
	prepare("first_order");
	prepare("d3_begin");
	prepare("d3_case");
	prepare("d3_order");
	prepare("d3_analyze");
	prepare("d3_result");
	prepare("d3_commit");
	if (out_path && !(out = fopen(out_path, "w"))) {
		fprintf(stderr, "pg_trace: %s: %s\n", out_path, strerror(errno));
		return 1;
	}
	/* As trace_bench: depth 1 untimed (results) then timed; depth 3 after
	 * one untimed run of the first case, the first timed run of each case
	 * giving the results (fetched inside the timing, written after it). */
	for (size_t i = 0; i < n; i++)
		c1 += first_order(&cases[i], out, i, &t);
	for (size_t i = 0; i < n; i++) {
		for (long r = 0; r < reps1; r++)
			first_order(&cases[i], NULL, i, &reps[r]);
		lat1[i] = bench_median(reps, (size_t)reps1);
	}
	if (n3)
		depth_n(&cases[0], 3, incubation, NULL, 0, &t);
	for (size_t i = 0; i < n3; i++) {
		for (long r = 0; r < reps3; r++) {
			long k = depth_n(&cases[i], 3, incubation, r == 0 ? out : NULL, i, &reps[r]);

			if (k < 0) {
				timeouts++;
				continue;
			}
			if (r == 0) {
				done3++;
				c3 += k;
				if (k > max3)
					max3 = k;
			}
		}
		lat3[i] = bench_median(reps, (size_t)reps3);
	}
	if (out)
		fclose(out);
	printf("postgres traces: %zu cases, %.1f first-order contacts each; depth 3 (first %zu "
	       "cases, %ld finished): %.0f contacts each on average, at most %ld\n", n,
	       (double)c1 / (double)n, n3, done3, done3 ? (double)c3 / (double)done3 : 0.0, max3);
	printf("warm cache; each case's latency is the median of %ld depth-1 and %ld depth-3 "
	       "runs\n", reps1, reps3);
	summary("first-order trace", lat1, n);
	if (n3)
		summary("depth-3 trace", lat3, n3);
	if (timeouts)
		printf("postgres depth 3: %ld run(s) stopped at the %.0f s timeout (counted as %.0f s, "
		       "a lower bound; those cases are not compared)\n", timeouts, d3_timeout,
		       d3_timeout);
	printf("RESULT pg_d3_timeouts=%ld\n", timeouts);
	printf("RESULT pg_d1_median_ms=%.3f pg_d1_p95_ms=%.3f pg_d3_median_ms=%.3f "
	       "pg_d3_p95_ms=%.3f pg_d1_contacts=%.1f pg_d3_contacts=%.1f\n",
	       bench_median(lat1, n) * 1e3, bench_percentile(lat1, n, 0.95) * 1e3,
	       n3 ? bench_median(lat3, n3) * 1e3 : 0.0, n3 ? bench_percentile(lat3, n3, 0.95) * 1e3 : 0.0,
	       (double)c1 / (double)n, done3 ? (double)c3 / (double)done3 : 0.0);
	return 0;
}

/* ---- main ------------------------------------------------------------------- */

static const char usage_text[] =
"Usage: pg_trace --conn CONNINFO --sql FILE load --csv DIR\n"
"       pg_trace --conn CONNINFO --sql FILE trace --cases FILE [--out FILE]\n"
"                [--reps1 N] [--reps3 N] [--depth3-cases N] [--incubation DAYS]\n"
"                [--d3-timeout SECONDS]  (default 180: a longer depth-3 trace is\n"
"                stopped and counted as that long, not compared)\n";

static long number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "pg_trace: '%s': expected a number from %ld to %ld\n", s, min, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	const char *conninfo = NULL, *sql = NULL, *mode = NULL, *csv = NULL, *cases = NULL,
		   *out = NULL;
	static const struct option options[] = {
		{"conn", required_argument, NULL, 'c'},
		{"sql", required_argument, NULL, 's'},
		{"csv", required_argument, NULL, 'v'},
		{"cases", required_argument, NULL, 'a'},
		{"out", required_argument, NULL, 'o'},
		{"reps1", required_argument, NULL, '1'},
		{"reps3", required_argument, NULL, '3'},
		{"depth3-cases", required_argument, NULL, 'd'},
		{"incubation", required_argument, NULL, 'i'},
		{"d3-timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long reps1 = 5, reps3 = 1, depth3 = 5, incubation = 14;
	int rc, c;

	optind = 1;
	while ((c = as_args_next("pg_trace", argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage_text, stdout); return 0;
		case 'c': conninfo = optarg; break;
		case 's': sql = optarg; break;
		case 'v': csv = optarg; break;
		case 'a': cases = optarg; break;
		case 'o': out = optarg; break;
		case '1': reps1 = number(optarg, 1, MAX_REPS); break;
		case '3': reps3 = number(optarg, 1, MAX_REPS); break;
		case 'd': depth3 = number(optarg, 0, MAX_CASES); break;
		case 'i': incubation = number(optarg, 0, 60); break;
		case 't': d3_timeout = (double)number(optarg, 1, 86400); break;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	/* The one operand: the mode. */
	if (optind == argc - 1 && (!strcmp(argv[optind], "load") || !strcmp(argv[optind], "trace")))
		mode = argv[optind];
	else if (optind < argc) {
		fprintf(stderr, "pg_trace: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!conninfo || !sql || !mode || (!strcmp(mode, "load") && !csv) ||
	    (!strcmp(mode, "trace") && !cases)) {
		fputs(usage_text, stderr);
		return 2;
	}
	sql_text = read_file(sql);
	if (!sql_text) {
		fprintf(stderr, "pg_trace: cannot read %s\n", sql);
		return 1;
	}
	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK)
		die("connect");
	if (!strcmp(mode, "load"))
		rc = load(csv);
	else
		rc = trace(cases, out, reps1, reps3, depth3, incubation);
	PQfinish(conn);
	free(sql_text);
	return rc;
}
