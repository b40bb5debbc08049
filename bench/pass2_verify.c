/*
 * pass2_verify.c - gateway verification of version 2 passes (visit tokens)
 * against version 1 passes, per core.
 *
 * A benchmark program, not a test: it prints figures.  It builds a pool of
 * 64 distinct valid version 1 passes (each its own holder key, pid and real
 * sealed capsule, signed by the authority) and 64 distinct version 2
 * passes (each a fresh token, minted by an issuer key the policy lists,
 * signed with its own token key), then runs pairs of timed rounds, one of
 * each kind back to back, so a machine whose load changes disturbs both
 * alike:
 *
 *   v1  as_scan_verify on the "AP1:" text: prefix, Base45, strict parse,
 *       authority and holder Ed25519 verification, validity, freshness;
 *   v2  as_pass2_verify_text on the "AP2:" text: prefix, Base45, strict
 *       parse, the issuer key looked up in the policy (two keys listed, as
 *       during a key change) and its Ed25519 verification, expiry, token
 *       key Ed25519 verification, freshness.
 *
 * These are all a gateway does per scan before the revocation look-up and
 * the duplicate window, which are the same for both.  Each round's rate is
 * operations per wall-clock second and per CPU-second (the latter leaves
 * out time the process was preempted); the ratio v2 / v1 is taken per pair
 * of rounds and its median reported against the target (v2 within 10 % of
 * v1, i.e. ratio >= 0.90).  Single-threaded.
 */
#include "anshim/args.h"
#include "anshim/capsule.h"
#include "anshim/credential.h"
#include "anshim/error.h"
#include "anshim/identity.h"
#include "anshim/policy.h"
#include "anshim/token.h"
#include "stats.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL 64
#define MAX_PAIRS 100
#define TARGET_RATIO 0.90

#define ISSUED_AT 1767225600           /* 2026-01-01T00:00:00Z, the vectors' */
#define PASS_TIME (ISSUED_AT + 3600)
#define FRESHNESS 60

struct pool {
	char v1[POOL][AS_SCAN_TEXT_MAX];
	size_t v1_len[POOL];
	char v2[POOL][AS_SCAN_TEXT_MAX];
	size_t v2_len[POOL];
	uint8_t authority_pk[AS_SIGN_PK_LEN];
	uint8_t issuer_keys[2][AS_SIGN_PK_LEN];
	struct as_policy policy;
	struct as_verify_params v1_params;
	struct as_pass2_verify_params v2_params;
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "pass2_verify: %s: %s (%s)\n", what, as_strerror(rc), as_errname(rc));
	exit(1);
}

static long sweep_v1(void *ctx)
{
	struct pool *pl = ctx;
	struct as_scan scan;

	for (int i = 0; i < POOL; i++) {
		int rc = as_scan_verify(&scan, pl->v1[i], pl->v1_len[i], &pl->v1_params);
		if (rc)
			return rc;
	}
	return POOL;
}

static long sweep_v2(void *ctx)
{
	struct pool *pl = ctx;
	struct as_pass2 pass;

	for (int i = 0; i < POOL; i++) {
		int rc = as_pass2_verify_text(&pass, pl->v2[i], pl->v2_len[i], &pl->v2_params);
		if (rc)
			return rc;
	}
	return POOL;
}

/* One timed round of fn: wall and CPU rates. */
static void round_of(struct pool *pl, long (*fn)(void *), double seconds,
		     double *wall_rate, double *cpu_rate, const char *name)
{
	double dt, dc;
	long ops = bench_timed_round(fn, pl, seconds, &dt, &dc);

	if (ops < 0)
		die(name, (int)ops);
	*wall_rate = (double)ops / dt;
	*cpu_rate = dc > 0 ? (double)ops / dc : *wall_rate;
}

static void make_pool(struct pool *pl)
{
	uint8_t seed[32], authority_sk[AS_SIGN_SK_LEN], issuer_sk[AS_SIGN_SK_LEN];
	uint8_t other_sk[AS_SIGN_SK_LEN];
	uint8_t contact_pk[AS_BOX_PK_LEN], contact_sk[AS_BOX_SK_LEN];
	uint8_t pseudonym_key[AS_PSEUDONYM_KEY_LEN];
	struct as_contact contact;
	int rc;

	/* The protocol test-vector seeds (docs/PROTOCOL.md). */
	memset(seed, 0x01, sizeof seed);
	crypto_sign_seed_keypair(pl->authority_pk, authority_sk, seed);
	memset(seed, 0x02, sizeof seed);
	crypto_box_seed_keypair(contact_pk, contact_sk, seed);
	memset(pseudonym_key, 0x03, sizeof pseudonym_key);
	/* Two issuer keys in the policy, the one that signs listed second. */
	memset(seed, 0x09, sizeof seed);
	crypto_sign_seed_keypair(pl->issuer_keys[0], other_sk, seed);
	memset(seed, 0x06, sizeof seed);
	crypto_sign_seed_keypair(pl->issuer_keys[1], issuer_sk, seed);

	for (int i = 0; i < POOL; i++) {
		uint8_t holder_pk[AS_SIGN_PK_LEN], holder_sk[AS_SIGN_SK_LEN];
		uint8_t token_pk[AS_SIGN_PK_LEN], token_sk[AS_SIGN_SK_LEN];
		struct as_credential cred;
		struct as_pass pass;
		struct as_token token;
		struct as_pass2 pass2;
		char phone[32], name[32];

		memset(&cred, 0, sizeof cred);
		memset(seed, 0x04, sizeof seed);
		seed[31] = (uint8_t)i;
		crypto_sign_seed_keypair(holder_pk, holder_sk, seed);
		snprintf(phone, sizeof phone, "010-1000-%04d", i);
		snprintf(name, sizeof name, "Visitor %d", i);
		if ((rc = as_contact_set(&contact, phone, name)) != 0 ||
		    (rc = as_pid_from_phone(cred.pid, pseudonym_key, phone)) != 0 ||
		    (rc = as_capsule_seal(cred.capsule, &contact, contact_pk)) != 0)
			die("credential", rc);
		memcpy(cred.holder_pk, holder_pk, AS_SIGN_PK_LEN);
		cred.issued_at = ISSUED_AT;
		cred.expires_at = ISSUED_AT + 90 * 86400;
		if ((rc = as_credential_sign(&cred, authority_sk)) != 0 ||
		    (rc = as_pass_make(&pass, &cred, PASS_TIME, holder_sk)) != 0)
			die("v1 pass", rc);
		rc = as_pass_to_text(pl->v1[i], sizeof pl->v1[i], &pass);
		if (rc < 0)
			die("v1 text", rc);
		pl->v1_len[i] = (size_t)rc;

		crypto_sign_keypair(token_pk, token_sk);
		if ((rc = as_token_mint(&token, NULL, token_pk, as_token_expiry(ISSUED_AT, 7 * 86400),
					pl->issuer_keys[1], issuer_sk)) != 0 ||
		    (rc = as_pass2_make(&pass2, &token, PASS_TIME, token_sk)) != 0)
			die("v2 pass", rc);
		rc = as_pass2_to_text(pl->v2[i], sizeof pl->v2[i], &pass2);
		if (rc < 0)
			die("v2 text", rc);
		pl->v2_len[i] = (size_t)rc;
		sodium_memzero(holder_sk, sizeof holder_sk);
		sodium_memzero(token_sk, sizeof token_sk);
	}
	sodium_memzero(authority_sk, sizeof authority_sk);
	sodium_memzero(issuer_sk, sizeof issuer_sk);
	sodium_memzero(other_sk, sizeof other_sk);
	sodium_memzero(contact_sk, sizeof contact_sk);
	sodium_memzero(pseudonym_key, sizeof pseudonym_key);

	memset(&pl->policy, 0, sizeof pl->policy);
	pl->policy.alert_level = 3;
	pl->policy.n_issuer_keys = 2;
	pl->policy.issuer_keys = pl->issuer_keys;
	pl->v1_params.authority_pk = pl->authority_pk;
	pl->v1_params.now = PASS_TIME + 5;
	pl->v1_params.freshness = FRESHNESS;
	pl->v2_params.policy = &pl->policy;
	pl->v2_params.now = PASS_TIME + 5;
	pl->v2_params.freshness = FRESHNESS;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pass2_verify [--seconds S] [--pairs N] [--help]\n"
		"\n"
		"Benchmark a gateway's offline verification of version 2 passes (visit\n"
		"tokens) against version 1 passes on one core.\n"
		"  --seconds S  minimum wall time of each round, 0.05..60 (default 0.5)\n"
		"  --pairs N    pairs of rounds (one v1, one v2, back to back), 1..%d\n"
		"               (default 10)\n"
		"  --help       print this text\n"
		"Prints every pair, the medians, and the median ratio v2 / v1 against\n"
		"the target (v2 within 10 %% of v1: ratio >= %.2f).\n"
		"Exit status: 0 when the benchmark ran (met or not), 1 on an error,\n"
		"2 on bad usage.\n",
		MAX_PAIRS, TARGET_RATIO);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"seconds", required_argument, NULL, 's'},
		{"pairs", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct pool pl;
	double seconds = 0.5, w1[MAX_PAIRS], c1[MAX_PAIRS], w2[MAX_PAIRS], c2[MAX_PAIRS];
	double ratio_w[MAX_PAIRS], ratio_c[MAX_PAIRS], med_w1, med_w2, med_c1, med_c2, med_rw,
		med_rc;
	long pairs = 10;
	char *end;
	int c, rc;

	optind = 1;
	while ((c = as_args_next("pass2_verify", argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 's':
			errno = 0;
			seconds = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(seconds >= 0.05 && seconds <= 60)) {
				fprintf(stderr, "pass2_verify: --seconds '%s': give 0.05 to 60\n", optarg);
				return 2;
			}
			break;
		case 'n':
			errno = 0;
			pairs = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || pairs < 1 || pairs > MAX_PAIRS) {
				fprintf(stderr, "pass2_verify: --pairs '%s': give 1 to %d\n", optarg,
					MAX_PAIRS);
				return 2;
			}
			break;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pass2_verify: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	if ((rc = as_crypto_init()) != 0)
		die("as_crypto_init", rc);
	make_pool(&pl);
	/* Warm-up, and a check that both work. */
	if ((rc = (int)sweep_v1(&pl)) < 0)
		die("v1", rc);
	if ((rc = (int)sweep_v2(&pl)) < 0)
		die("v2", rc);
	printf("pass2_verify: %d distinct passes of each version (v1 %zu characters, v2 %zu), "
	       "%ld pairs of rounds of >= %.2f s, one thread\n", POOL, pl.v1_len[0], pl.v2_len[0],
	       pairs, seconds);
	printf("%5s  %12s %12s  %12s %12s  %7s %7s\n", "pair", "v1 /s", "v1 /cpu-s", "v2 /s",
	       "v2 /cpu-s", "ratio", "cpu-r");
	for (long p = 0; p < pairs; p++) {
		round_of(&pl, sweep_v1, seconds, &w1[p], &c1[p], "v1");
		round_of(&pl, sweep_v2, seconds, &w2[p], &c2[p], "v2");
		ratio_w[p] = w2[p] / w1[p];
		ratio_c[p] = c2[p] / c1[p];
		printf("%5ld  %12.0f %12.0f  %12.0f %12.0f  %7.3f %7.3f\n", p + 1, w1[p], c1[p], w2[p],
		       c2[p], ratio_w[p], ratio_c[p]);
	}
	med_w1 = bench_median(w1, (size_t)pairs);
	med_w2 = bench_median(w2, (size_t)pairs);
	med_c1 = bench_median(c1, (size_t)pairs);
	med_c2 = bench_median(c2, (size_t)pairs);
	med_rw = bench_median(ratio_w, (size_t)pairs);
	med_rc = bench_median(ratio_c, (size_t)pairs);
	printf("\nsummary:\n");
	printf("  v1 (as_scan_verify):       median %.0f passes/s per core (%.1f us/pass), "
	       "per CPU-second %.0f\n", med_w1, 1e6 / med_w1, med_c1);
	printf("  v2 (as_pass2_verify_text): median %.0f passes/s per core (%.1f us/pass), "
	       "per CPU-second %.0f\n", med_w2, 1e6 / med_w2, med_c2);
	printf("  ratio v2 / v1: median %.3f (per CPU-second %.3f); target >= %.2f -> %s\n",
	       med_rw, med_rc, TARGET_RATIO, med_rw >= TARGET_RATIO ? "MET" : "NOT MET");
	return 0;
}
