/*
 * stats.c - timing and summary helpers of the bench programs (stats.h).
 * No state; any thread.
 */
#include "stats.h"

#include <stdlib.h>
#include <time.h>

double bench_now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_cpu_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *xs, size_t n)
{
	qsort(xs, n, sizeof *xs, bench_cmp_double);
	return n ? (n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2) : 0;
}

double bench_percentile(double *xs, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	qsort(xs, n, sizeof *xs, bench_cmp_double);
	i = (size_t)(p * (double)n + 0.999999);
	return xs[i ? i - 1 : 0];
}

long bench_timed_round(long (*sweep)(void *ctx), void *ctx, double seconds, double *wall_sec,
		       double *cpu_sec)
{
	double t0 = bench_now_sec(), c0 = bench_cpu_sec();
	long ops = 0;

	do {
		long n = sweep(ctx);

		if (n < 0)
			return n;
		ops += n;
		*wall_sec = bench_now_sec() - t0;
	} while (*wall_sec < seconds);
	*cpu_sec = bench_cpu_sec() - c0;
	return ops;
}
