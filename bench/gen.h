/*
 * gen.h - a deterministic synthetic world of venues, gateways, people and
 * visits for the cloud benchmarks (bench/visits_gen.c, bench/trace_bench.c).
 *
 * The model, scaled to the number of visits asked for:
 *
 *  - Venues: by default one per 26 visits a day (Jeju: about 50,000 venues
 *    and 1.3 million check-ins a day), on a square map with Jeju's venue
 *    density (one venue per 0.037 km2), mostly in towns.  Popularity is
 *    Zipf (weight 1 / rank^s, s = 0.8, ranks above 20 counted as 20) over
 *    a Jeju-size ranking of 50,000 venues, of which the venues are a
 *    systematic sample (one rank from each of V equal slices), so that
 *    venue sizes follow one Jeju-like distribution at every scale: a few
 *    big venues (at most about 3,000 check-ins a day), many small.  A
 *    category gives each its dwell time and opening hours; the top 1 % of
 *    the ranking are markets, tourist sites and transit halls.  Busy venues have one
 *    gateway per 300 expected visits a day (at most 8), each venue at least
 *    one.
 *  - People: by default 1.5 visits a day each on average, log-normal
 *    activity (sigma 0.6); a home on the same map (mostly in towns) and
 *    three favourite venues near home.
 *  - Visits: a person (by activity), a day (uniform), a venue (40 % one of
 *    the person's favourites, 45 % near home by popularity, 15 % anywhere
 *    by popularity), an entry time inside the venue's opening hours, 20 %
 *    with a recorded exit, 5 % with companions (headcount 2..4); 70 % pass
 *    scans, 25 % card scans, 5 % paper entries of which 2 % could not be
 *    opened (all-zero pid: counted by tracing, never traced).
 *  - An extra day after the D days (N / D visits) is generated too, held
 *    back: bench/visits_gen ingests it during its purge test.
 *
 * Every gateway's visits are numbered in entry order (seq 1, 2, ...) and
 * cut into batches of the records of one send window (default one day, at
 * most 500 records, as a gateway forwarding a day of its journal), sent at
 * the window's end; the cloud ingests them in send order.  A short window
 * (--window 900) gives the small batches of a gateway that is always
 * online: about 2 records each.
 *
 * Everything is a pure function of the parameters (seed included): two
 * programs generating with the same parameters get the same world.
 */
#ifndef ANSHIM_BENCH_GEN_H
#define ANSHIM_BENCH_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "anshim/identity.h"
#include "anshim/record.h"
#include "store.h"

/* 2026-01-01T00:00:00+09:00 (Korea Standard Time): day 0 starts here and
 * opening hours are local times. */
#define GEN_START INT64_C(1767193200)
#define GEN_DAY 86400

struct gen_params {
	uint64_t seed;
	int64_t visits;        /* in days 0..days-1 */
	int64_t days;
	int64_t venues;        /* 0: visits / days / 26 (at least 20) */
	int64_t people;        /* 0: visits / days / 1.5 (at least 100) */
	double zipf;           /* venue popularity exponent */
	int64_t top_rank;      /* ranks above this count as this (flattens the
				* busiest venues; 1: pure Zipf) */
	int64_t batch_max;     /* records per batch */
	int64_t batch_window;  /* seconds */
};

/* Defaults for n visits. */
void gen_params_init(struct gen_params *p, int64_t visits);

struct gen_category {
	const char *name;
	uint16_t dwell;        /* minutes */
	uint8_t open, close;   /* hours, local; close may pass 24 (next day) */
};

struct gen_venue {
	double x, y;           /* km */
	double weight;         /* popularity */
	uint32_t first_gw;     /* gateways first_gw .. first_gw + n_gw - 1 */
	uint16_t n_gw;
	uint8_t cat;           /* index into gen_categories */
};

extern const struct gen_category gen_categories[];
extern const size_t gen_n_categories;

struct gen_visit {
	int64_t entry;
	uint32_t person;
	uint32_t gw;
	int32_t exit_delta;    /* -1: no recorded exit */
	uint16_t headcount;
	uint8_t kind;
	uint8_t extra : 1;     /* the held-back extra day */
	uint8_t zero_pid : 1;  /* paper entry whose capsule did not open */
};

struct gen_batch {
	size_t first;          /* into w->v */
	uint32_t n;
	int64_t send_time;
};

struct gen_world {
	struct gen_params p;
	double side;                   /* km */
	struct gen_venue *venues;      /* venue id = index + 1 */
	size_t n_venues;
	uint32_t *gw_venue;            /* gateway -> venue id */
	size_t n_gw;
	struct gen_visit *v;           /* sorted by (gateway, extra, entry) */
	uint64_t *seq;                 /* seq of v[i] */
	size_t n_visits, n_main;       /* all, and not extra */
	struct gen_batch *batches;     /* main ones in send order, then extra ones */
	size_t n_batches, n_main_batches;
	uint32_t n_people_seen;        /* people with at least one main visit */
};

/* Generate; 0 or -ENOMEM.  Prints nothing. */
int gen_world_make(struct gen_world *w, const struct gen_params *p);
void gen_world_free(struct gen_world *w);

/* Identities, pure functions of (seed, index). */
void gen_person_pid(const struct gen_world *w, uint32_t person, uint8_t pid[AS_PID_LEN]);
void gen_gateway_id(const struct gen_world *w, uint32_t gw, uint8_t id[AS_GWID_LEN]);
/* Gateway gw's device key pair (sk may be NULL): batches signed with sk
 * verify against the pk its registry entry holds. */
void gen_gateway_keypair(const struct gen_world *w, uint32_t gw, uint8_t pk[AS_SIGN_PK_LEN],
			 uint8_t sk[AS_SIGN_SK_LEN]);
/* The registry entries of gateway gw and its venue. */
void gen_gateway_entry(const struct gen_world *w, uint32_t gw, struct cl_gateway *g,
		       struct cl_venue *v);
/* Record i as the gateway sent it, and the pid the cloud indexes it under. */
void gen_fill_record(const struct gen_world *w, size_t i, struct as_record *r,
		     uint8_t pid[AS_PID_LEN]);
/* The visit's interval length rule inputs: venue dwell minutes. */
uint16_t gen_visit_dwell(const struct gen_world *w, size_t i);

/* Enrol every gateway and venue. */
int gen_enroll(struct cl_store *s, const struct gen_world *w);

/* Write venues.csv, gateways.csv, people.csv and visits.csv (main visits,
 * in ingest order) into dir, for PostgreSQL COPY (CSV, no header).
 * 0 or -errno. */
int gen_write_csv(const struct gen_world *w, const char *dir);

/* Sample up to n cases: people with lo..hi main visits whose entry lies in
 * the window [*from, *to] (chosen: the 14 days ending 7 days before the
 * last day, or the first 14 days when there are fewer than 21).  Writes
 * the persons to out; returns how many (fewer when too few qualify). */
size_t gen_sample_cases(const struct gen_world *w, size_t n, unsigned lo, unsigned hi,
			uint32_t *out, unsigned *visits, int64_t *from, int64_t *to);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void gen_hex(char *out, const uint8_t *b, size_t n);

/* Random numbers: splitmix64. */
uint64_t gen_splitmix(uint64_t *state);

#endif
