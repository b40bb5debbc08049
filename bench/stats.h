/*
 * stats.h - what the bench programs share to time and summarise runs:
 * a monotonic clock and the median and nearest-rank percentile of a set of
 * samples.  Pure functions; any thread.
 */
#ifndef ANSHIM_BENCH_STATS_H
#define ANSHIM_BENCH_STATS_H

#include <stddef.h>

/* CLOCK_MONOTONIC in seconds. */
double bench_now_sec(void);

/* The process's CPU time (CLOCK_PROCESS_CPUTIME_ID) in seconds. */
double bench_cpu_sec(void);

/* qsort comparator for doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);

/* Median of xs[0..n) (sorts xs in place); 0 when n is 0. */
double bench_median(double *xs, size_t n);

/* Nearest-rank percentile p (0 < p <= 1) of xs[0..n) (sorts xs in place);
 * 0 when n is 0. */
double bench_percentile(double *xs, size_t n, double p);

/* One timed round: sweep(ctx) (which returns the operations it did, or a
 * negative error) again and again until at least `seconds` of wall-clock
 * time have passed.  Returns the operations done, or the first error;
 * stores the elapsed wall and CPU seconds. */
long bench_timed_round(long (*sweep)(void *ctx), void *ctx, double seconds, double *wall_sec,
		       double *cpu_sec);

#endif
