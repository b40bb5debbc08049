/*
 * pass_verify.c - how fast can one core check passes and draw QR codes?
 *
 * A benchmark program, not a test: it prints figures and judges only the
 * headline one against the target.  It builds a pool of distinct, valid
 * passes (each with its own holder key and a real sealed capsule), then runs
 * timed rounds of:
 *
 *   verify   as_scan_verify on the QR text, i.e. everything a gateway does
 *            per scan before journaling: prefix check, Base45 decode, strict
 *            parse, issuer and holder Ed25519 verification, time checks;
 *   parse    Base45 decode + as_pass_decode only (no signatures), and
 *   ed25519  one crypto_sign_verify_detached over the signed pass bytes,
 *            so the verify cost can be split into its parts;
 *   qr       as_qr_encode of the pass text at level M;
 *   qr+png   as_qr_encode + as_qr_render_png (the wallet's kiosk path).
 *
 * Each round runs whole sweeps over the pool until at least --seconds of
 * wall-clock time have passed; the rate of a round is operations divided by
 * elapsed wall time.  The median over --rounds rounds is reported, because
 * a single round can be hit by another process on a shared machine; each
 * round also prints the share of that time the process was on a CPU, so a
 * disturbed round is visible, and each figure also gets a median rate per
 * CPU-second (operations / process CPU time), which does not count time the
 * process spent preempted by others.  Single-threaded throughout.
 */
#include "anshim/base45.h"
#include "anshim/args.h"
#include "anshim/capsule.h"
#include "anshim/credential.h"
#include "anshim/error.h"
#include "anshim/identity.h"
#include "anshim/qr.h"
#include "stats.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL 64
#define MAX_ROUNDS 100
#define TARGET_PER_SEC 10000.0

/* Fixed times, the same as the protocol test vectors use. */
#define ISSUED_AT 1767225600           /* 2026-01-01T00:00:00Z */
#define VALID_FOR (90 * 86400)
#define PASS_TIME (ISSUED_AT + 3600)
#define FRESHNESS 60

struct pool {
	uint8_t authority_pk[AS_SIGN_PK_LEN];
	char text[POOL][AS_SCAN_TEXT_MAX];
	size_t text_len[POOL];
	uint8_t bin[POOL][AS_PASS_LEN];       /* the same passes, binary */
	uint8_t holder_pk[POOL][AS_SIGN_PK_LEN];
	char card_text[AS_SCAN_TEXT_MAX];
	struct as_verify_params params;
	int png_scale;
};

/* One sweep over the pool: returns operations done, or an error. */
typedef long (*sweep_fn)(void *pool);

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, (size_t)n * sizeof *s);
	return bench_median(s, (size_t)n);
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "pass_verify: %s: %s (%s)\n", what, as_strerror(rc), as_errname(rc));
	exit(1);
}

static long sweep_verify(void *ctx)
{
	struct pool *pl = ctx;
	struct as_scan scan;

	for (int i = 0; i < POOL; i++) {
		int rc = as_scan_verify(&scan, pl->text[i], pl->text_len[i], &pl->params);
		if (rc)
			return rc;
	}
	return POOL;
}

static long sweep_parse(void *ctx)
{
	struct pool *pl = ctx;
	uint8_t bin[AS_PASS_LEN + 2];
	struct as_pass pass;
	const size_t plen = strlen(AS_PASS_PREFIX);

	for (int i = 0; i < POOL; i++) {
		int n = as_base45_decode(bin, sizeof bin, pl->text[i] + plen,
					 pl->text_len[i] - plen);
		if (n < 0)
			return n;
		n = as_pass_decode(&pass, bin, (size_t)n);
		if (n)
			return n;
	}
	return POOL;
}

static long sweep_ed25519(void *ctx)
{
	struct pool *pl = ctx;
	for (int i = 0; i < POOL; i++)
		if (crypto_sign_verify_detached(pl->bin[i] + AS_PASS_LEN - AS_SIG_LEN,
						pl->bin[i], AS_PASS_LEN - AS_SIG_LEN,
						pl->holder_pk[i]))
			return AS_E_SIGNATURE;
	return POOL;
}

static long sweep_qr(void *ctx)
{
	struct pool *pl = ctx;
	struct as_qr qr;

	for (int i = 0; i < POOL; i++) {
		int rc = as_qr_encode(&qr, pl->text[i], 0);
		if (rc)
			return rc;
		as_qr_free(&qr);
	}
	return POOL;
}

static long sweep_qr_png(void *ctx)
{
	struct pool *pl = ctx;
	struct as_qr qr;
	unsigned char *png;
	size_t png_len;

	for (int i = 0; i < POOL; i++) {
		int rc = as_qr_encode(&qr, pl->text[i], 0);
		if (rc)
			return rc;
		rc = as_qr_render_png(&qr, pl->png_scale, &png, &png_len);
		as_qr_free(&qr);
		if (rc)
			return rc;
		free(png);
	}
	return POOL;
}

/*
 * Run `rounds` timed rounds of fn and print them.  Returns the median rate
 * in operations per wall-clock second; stores the best round's rate in
 * *best_out and the median rate per CPU-second in *cpu_med_out (each if not
 * NULL).  Exits on an operation error: a benchmark of a
 * failing operation measures nothing.
 */
static double run_rounds(struct pool *pl, const char *name, sweep_fn fn,
			 double seconds, int rounds, double *best_out, double *cpu_med_out)
{
	double rate[MAX_ROUNDS] = {0}, cpu_rate[MAX_ROUNDS] = {0}, med, cpu_med, best = 0;
	long warm = fn(pl); /* warm-up, and a check that the operation works */

	if (warm < 0)
		die(name, (int)warm);
	printf("%s:\n", name);
	for (int r = 0; r < rounds; r++) {
		double dt, dc;
		long ops = bench_timed_round(fn, pl, seconds, &dt, &dc);

		if (ops < 0)
			die(name, (int)ops);
		rate[r] = (double)ops / dt;
		cpu_rate[r] = dc > 0 ? (double)ops / dc : rate[r];
		printf("  round %d: %8ld ops in %.3f s = %10.1f /s  %9.2f us/op  (cpu %3.0f%%)\n",
		       r + 1, ops, dt, rate[r], 1e6 / rate[r], 100.0 * dc / dt);
	}
	med = median(rate, rounds);
	for (int r = 0; r < rounds; r++)
		best = rate[r] > best ? rate[r] : best;
	printf("  median: %.1f /s = %.2f us/op   (best round: %.1f /s = %.2f us/op)\n",
	       med, 1e6 / med, best, 1e6 / best);
	cpu_med = median(cpu_rate, rounds);
	printf("  per CPU-second: median %.1f /s = %.2f us/op\n", cpu_med, 1e6 / cpu_med);
	if (best_out)
		*best_out = best;
	if (cpu_med_out)
		*cpu_med_out = cpu_med;
	return med;
}

static void make_pool(struct pool *pl)
{
	uint8_t seed[32], authority_sk[AS_SIGN_SK_LEN];
	uint8_t contact_pk[AS_BOX_PK_LEN], contact_sk[AS_BOX_SK_LEN];
	uint8_t pseudonym_key[AS_PSEUDONYM_KEY_LEN];
	struct as_credential card;
	struct as_contact contact;
	int rc;

	/* The protocol test-vector seeds (docs/PROTOCOL.md). */
	memset(seed, 0x01, sizeof seed);
	crypto_sign_seed_keypair(pl->authority_pk, authority_sk, seed);
	memset(seed, 0x02, sizeof seed);
	crypto_box_seed_keypair(contact_pk, contact_sk, seed);
	memset(pseudonym_key, 0x03, sizeof pseudonym_key);

	for (int i = 0; i < POOL; i++) {
		uint8_t holder_sk[AS_SIGN_SK_LEN];
		struct as_credential cred;
		struct as_pass pass;
		char phone[32], name[32];

		memset(&cred, 0, sizeof cred);
		memset(seed, 0x04, sizeof seed);
		seed[31] = (uint8_t)i;  /* a distinct holder per pass */
		crypto_sign_seed_keypair(pl->holder_pk[i], holder_sk, seed);
		snprintf(phone, sizeof phone, "010-1000-%04d", i);
		snprintf(name, sizeof name, "Visitor %d", i);
		if ((rc = as_contact_set(&contact, phone, name)) != 0)
			die("as_contact_set", rc);
		if ((rc = as_pid_from_phone(cred.pid, pseudonym_key, phone)) != 0)
			die("as_pid_from_phone", rc);
		if ((rc = as_capsule_seal(cred.capsule, &contact, contact_pk)) != 0)
			die("as_capsule_seal", rc);
		memcpy(cred.holder_pk, pl->holder_pk[i], AS_SIGN_PK_LEN);
		cred.issued_at = ISSUED_AT;
		cred.expires_at = ISSUED_AT + VALID_FOR;
		if ((rc = as_credential_sign(&cred, authority_sk)) != 0)
			die("as_credential_sign", rc);
		if ((rc = as_pass_make(&pass, &cred, PASS_TIME, holder_sk)) != 0)
			die("as_pass_make", rc);
		rc = as_pass_to_text(pl->text[i], sizeof pl->text[i], &pass);
		if (rc < 0)
			die("as_pass_to_text", rc);
		pl->text_len[i] = (size_t)rc;
		if ((rc = as_pass_encode(pl->bin[i], sizeof pl->bin[i], &pass)) < 0)
			die("as_pass_encode", rc);
		sodium_memzero(holder_sk, sizeof holder_sk);
	}

	memset(&card, 0, sizeof card);
	card.flags = AS_CRED_CARD;
	if ((rc = as_contact_set(&contact, "010-2000-0000", "Card Holder")) != 0)
		die("as_contact_set", rc);
	if ((rc = as_pid_from_phone(card.pid, pseudonym_key, "010-2000-0000")) != 0)
		die("as_pid_from_phone", rc);
	if ((rc = as_capsule_seal(card.capsule, &contact, contact_pk)) != 0)
		die("as_capsule_seal", rc);
	card.issued_at = ISSUED_AT;
	card.expires_at = ISSUED_AT + VALID_FOR;
	if ((rc = as_credential_sign(&card, authority_sk)) != 0)
		die("as_credential_sign", rc);
	if ((rc = as_card_to_text(pl->card_text, sizeof pl->card_text, &card)) < 0)
		die("as_card_to_text", rc);

	sodium_memzero(authority_sk, sizeof authority_sk);
	sodium_memzero(contact_sk, sizeof contact_sk);
	sodium_memzero(pseudonym_key, sizeof pseudonym_key);
	sodium_memzero(&contact, sizeof contact);

	pl->params.authority_pk = pl->authority_pk;
	pl->params.now = PASS_TIME + 5;
	pl->params.freshness = FRESHNESS;
}

/* Print the QR version of a text; returns 0 or an error. */
static int show_qr(const char *what, const char *text)
{
	struct as_qr qr;
	int rc = as_qr_encode(&qr, text, 0);

	if (rc)
		return rc;
	printf("  %s: %zu characters -> QR version %d, %dx%d modules (level M, %d with quiet zone)\n",
	       what, strlen(text), qr.version, qr.width, qr.width,
	       qr.width + 2 * AS_QR_QUIET);
	as_qr_free(&qr);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pass_verify [--seconds S] [--rounds N] [--png-scale K] [--help]\n"
		"\n"
		"Benchmark offline pass verification and QR rendering on one core.\n"
		"  --seconds S    minimum wall time of each round, 0.05..60 (default 1)\n"
		"  --rounds N     timed rounds per figure, 1..%d (default 5)\n"
		"  --png-scale K  PNG pixels per module, 1..64 (default 8, as the CLIs)\n"
		"  --help         print this text\n"
		"Prints every round and the median; the headline is the median of the\n"
		"'verify' rounds against a target of %.0f verifications/s.\n"
		"Exit status: 0 when the benchmark ran (met or not), 1 on an error,\n"
		"2 on bad usage.\n",
		MAX_ROUNDS, TARGET_PER_SEC);
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

static int parse_int(const char *s, long lo, long hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"seconds", required_argument, NULL, 's'},
		{"rounds", required_argument, NULL, 'r'},
		{"png-scale", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct pool pl;
	double seconds = 1.0, verify_med, verify_best, verify_cpu, qr_med, png_med;
	int rounds = 5, rc, c;

	pl.png_scale = 8;
	optind = 1;
	while ((c = as_args_next("pass_verify", argc, argv, "h", options, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 'h': usage(stdout); return 0;
		case 's': bad = parse_double(optarg, 0.05, 60.0, &seconds); break;
		case 'r': bad = parse_int(optarg, 1, MAX_ROUNDS, &rounds); break;
		case 'p': bad = parse_int(optarg, 1, 64, &pl.png_scale); break;
		default: usage(stderr); return 2;
		}
		if (bad) {
			fprintf(stderr, "pass_verify: bad value '%s' for --%s (see --help)\n", optarg,
				c == 's' ? "seconds" : c == 'r' ? "rounds" : "png-scale");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pass_verify: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}

	if ((rc = as_crypto_init()) != 0)
		die("as_crypto_init", rc);
	make_pool(&pl);

	printf("pass_verify: %d distinct passes, %d rounds of >= %.2f s, one thread\n",
	       POOL, rounds, seconds);
	printf("QR sizes:\n");
	if ((rc = show_qr("pass", pl.text[0])) != 0)
		die("as_qr_encode (pass)", rc);
	if ((rc = show_qr("card", pl.card_text)) != 0)
		die("as_qr_encode (card)", rc);
	{
		struct as_scan scan;
		rc = as_scan_verify(&scan, pl.card_text, strlen(pl.card_text), &pl.params);
		if (rc)
			die("as_scan_verify (card)", rc);
	}
	printf("\n");

	verify_med = run_rounds(&pl, "verify (as_scan_verify: prefix + Base45 + parse + 2 x Ed25519)",
				sweep_verify, seconds, rounds, &verify_best, &verify_cpu);
	run_rounds(&pl, "parse only (Base45 decode + as_pass_decode)", sweep_parse,
		   seconds, rounds, NULL, NULL);
	run_rounds(&pl, "one Ed25519 verify (crypto_sign_verify_detached, 274 bytes)",
		   sweep_ed25519, seconds, rounds, NULL, NULL);
	qr_med = run_rounds(&pl, "qr (as_qr_encode, level M)", sweep_qr, seconds, rounds,
			    NULL, NULL);
	printf("  (png scale %d)\n", pl.png_scale);
	png_med = run_rounds(&pl, "qr+png (as_qr_encode + as_qr_render_png)", sweep_qr_png,
			     seconds, rounds, NULL, NULL);

	printf("\nsummary:\n");
	printf("  verify: median %.0f passes/s per core, mean cost %.1f us/pass"
	       " (best round %.0f /s; per CPU-second %.0f /s)\n",
	       verify_med, 1e6 / verify_med, verify_best, verify_cpu);
	printf("  target: %.0f passes/s per core -> median %s\n", TARGET_PER_SEC,
	       verify_med >= TARGET_PER_SEC ? "MET" : "NOT MET");
	printf("  qr encode: median %.1f us/pass; qr encode + png: median %.1f us/pass\n",
	       1e6 / qr_med, 1e6 / png_med);
	return 0;
}
