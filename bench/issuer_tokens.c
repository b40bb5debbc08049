/*
 * issuer_tokens.c - how many visit tokens can one issuer core issue, and
 * how long does a wallet's batch of 64 take?
 *
 * A benchmark program, not a test: it prints figures and judges them
 * against the targets (>= 20,000 tokens per second per core; a batch of 64
 * in < 5 ms).  Two measurements, single-threaded:
 *
 *   mint    as_token_id_derive and as_token_mint alone (a token id and one
 *           Ed25519 signature per token): the cryptographic floor;
 *   batch   the issuer's whole answer to POST /v1/tokens without the HTTP
 *           layer (is_api_call): the JSON body read, the enrolment's issuer
 *           signature and the request's holder signature verified, the
 *           rate-limit buckets taken, 64 tokens minted, their ids and the
 *           capsule feed's message (a batch key sealed to the authority and
 *           64 token capsules, signed) written in one LMDB transaction and
 *           committed durably (fsync, as the daemon does), the batch
 *           encoded, base64 and JSON.
 *
 * The state lives in --dir (default: a new directory under $TMPDIR): on a
 * disk, the commit's fsync is part of every batch's wall time, not of its
 * CPU time.  The targets are judged on CPU time (tokens per CPU-second,
 * CPU milliseconds per batch): "per core" on a machine that other
 * processes share; wall figures are printed beside them.  Each of --rounds rounds
 * issues --batches batches for one enrolled wallet (the wallet's own work,
 * 64 key pairs and the request's signature, is done before the clock
 * starts); the median round is reported with the p50/p99 batch time over
 * all rounds, and tokens per CPU-second next to tokens per wall-second, so
 * a round disturbed by other processes shows.
 */
#include "capsulefeed.h"
#include "issuer_api.h"
#include "issuer_state.h"
#include "stats.h"

#include "anshim/args.h"
#include "anshim/capsule.h"
#include "anshim/enrolment.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/httpserver.h"
#include "anshim/parse.h"
#include "anshim/token.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N_TOKENS AS_TOKEN_BATCH_MAX
#define MAX_ROUNDS 50
#define MAX_BATCHES 2000
#define TARGET_TOKENS_PER_SEC 20000.0
#define TARGET_BATCH_MS 5.0

static double cpu_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The body of a tokens request for 64 fresh keys, as the wallet sends it. */
static char *make_body(const uint8_t enrol_raw[AS_ENROLMENT_LEN], const uint8_t holder_pk[32],
		       const uint8_t holder_sk[64], int64_t now)
{
	static uint8_t pks[N_TOKENS][AS_SIGN_PK_LEN], sks[N_TOKENS][AS_SIGN_SK_LEN];
	struct as_token_request rq;
	uint8_t req[AS_TOKEN_REQUEST_MAX_LEN];
	char e64[256], r64[4096];
	int len;

	for (int i = 0; i < N_TOKENS; i++)
		crypto_sign_keypair(pks[i], sks[i]);
	if (as_token_request_make(&rq, holder_pk, holder_sk, now, N_TOKENS,
				  (const uint8_t (*)[AS_SIGN_PK_LEN])pks) != 0 ||
	    (len = as_token_request_encode(req, sizeof req, &rq)) < 0)
		return NULL;
	sodium_bin2base64(e64, sizeof e64, enrol_raw, AS_ENROLMENT_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(r64, sizeof r64, req, (size_t)len, sodium_base64_VARIANT_ORIGINAL);
	json_t *o = json_pack("{s:s, s:s}", "enrolment_credential", e64, "request", r64);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"dir", required_argument, NULL, 'd'},
		{"rounds", required_argument, NULL, 'r'},
		{"batches", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static double batch_ms[MAX_ROUNDS * MAX_BATCHES];
	static char *bodies[MAX_BATCHES];
	double round_rate[MAX_ROUNDS], round_cpu_rate[MAX_ROUNDS], mint_rate[MAX_ROUNDS];
	double mint_cpu_rate[MAX_ROUNDS], batch_cpu_ms[MAX_ROUNDS];
	int64_t rounds = 5, batches = 200;
	const char *dir = NULL;
	char tmp[PATH_MAX], err[512];
	size_t n_ms = 0;
	int c;

	while ((c = as_args_next("issuer_tokens", argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'r':
			if (as_parse_int64(optarg, 1, MAX_ROUNDS, &rounds))
				return fprintf(stderr, "--rounds: 1..%d\n", MAX_ROUNDS), 2;
			break;
		case 'b':
			if (as_parse_int64(optarg, 1, MAX_BATCHES, &batches))
				return fprintf(stderr, "--batches: 1..%d\n", MAX_BATCHES), 2;
			break;
		case 'h':
			printf("Usage: issuer_tokens [--dir DIR] [--rounds N] [--batches N]\n"
			       "Tokens issued per second per core, and the time of a 64-token batch\n"
			       "through the issuer's whole answer (see the comment at the top of\n"
			       "bench/issuer_tokens.c). DIR holds the issuer state (default: new,\n"
			       "under $TMPDIR; removed afterwards only when made here).\n");
			return 0;
		default: return 2;
		}
	}
	if (sodium_init() < 0)
		return 1;
	if (!dir) {
		snprintf(tmp, sizeof tmp, "%s/anshim-issuer-bench.XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(tmp))
			return perror("mkdtemp"), 1;
		dir = tmp;
	}

	/* The issuer, its state and capsule feed (opened, not connected). */
	struct is_api api;
	struct is_state *st;
	struct cl_capsulefeed *feed;
	uint8_t contact_sk[AS_BOX_SK_LEN];
	memset(&api, 0, sizeof api);
	crypto_sign_keypair(api.issuer_pk, api.issuer_sk);
	randombytes_buf(api.hash_key, sizeof api.hash_key);
	randombytes_buf(api.token_id_key, sizeof api.token_id_key);
	crypto_box_keypair(api.contact_pk, contact_sk);
	if (is_state_open(&st, dir, 1ULL << 30, err, sizeof err) ||
	    cl_capsulefeed_open(&feed, is_state_env(st), api.issuer_sk, err, sizeof err)) {
		fprintf(stderr, "issuer_tokens: %s\n", err);
		return 1;
	}
	api.state = st;
	api.feed = feed;
	api.consent_version = 1;
	api.consent_lifetime = 56 * 86400;
	api.token_lifetime = 7 * 86400;
	api.request_skew = 86400;
	api.rate_holder = api.rate_address = (struct is_rate_rule){1000000000, 1};

	/* One enrolled wallet. */
	int64_t now = (int64_t)time(NULL);
	uint8_t holder_pk[32], holder_sk[64], raw[AS_ENROLMENT_LEN], eid[16];
	uint8_t capsule[AS_CAPSULE_LEN], phone_hash[32];
	struct as_enrolment e = {0};
	struct as_contact contact = {0};
	crypto_sign_keypair(holder_pk, holder_sk);
	memcpy(e.holder_pk, holder_pk, 32);
	e.consent_version = 1;
	e.issued_at = now;
	e.expires_at = now + api.consent_lifetime;
	as_enrolment_sign(&e, api.issuer_sk);
	as_enrolment_encode(raw, sizeof raw, &e);
	as_enrolment_id(eid, &e);
	as_contact_set(&contact, "010-1234-5678", "");
	as_capsule_seal(capsule, &contact, api.contact_pk);
	randombytes_buf(phone_hash, sizeof phone_hash);
	if (is_state_enrolment_add(st, eid, phone_hash, capsule, e.expires_at) != 0) {
		fprintf(stderr, "issuer_tokens: cannot record the enrolment\n");
		return 1;
	}
	for (int64_t i = 0; i < batches; i++)
		if (!(bodies[i] = make_body(raw, holder_pk, holder_sk, now)))
			return fprintf(stderr, "issuer_tokens: cannot make a request\n"), 1;

	printf("issuer_tokens: %lld rounds of %lld batches of %d tokens; state in %s\n",
	       (long long)rounds, (long long)batches, N_TOKENS, dir);
	for (int64_t r = 0; r < rounds; r++) {
		/* mint alone */
		struct as_token t;
		uint8_t pk[32], id[AS_TOKEN_ID_LEN];
		randombytes_buf(pk, sizeof pk);
		double t0 = bench_now_sec(), tc = cpu_sec();
		for (int i = 0; i < 20000; i++)
		{
			as_token_id_derive(id, api.token_id_key, (uint64_t)i / 64, (uint8_t)(i % 64));
			as_token_mint(&t, id, pk, now + 86400, api.issuer_pk, api.issuer_sk);
		}
		mint_rate[r] = 20000 / (bench_now_sec() - t0);
		mint_cpu_rate[r] = 20000 / (cpu_sec() - tc);

		/* the whole answer */
		double w0 = bench_now_sec(), c0 = cpu_sec();
		for (int64_t i = 0; i < batches; i++) {
			struct as_http_response resp = {.status = 500};
			struct is_call call = {"POST", "/v1/tokens", "application/json", "127.0.0.1",
					       bodies[i], strlen(bodies[i])};
			double b0 = bench_now_sec();
			is_api_call(&api, &call, &resp);
			batch_ms[n_ms++] = (bench_now_sec() - b0) * 1000;
			if (resp.status != 200) {
				fprintf(stderr, "issuer_tokens: HTTP %d: %.*s\n", resp.status,
					(int)resp.body_len, resp.body ? resp.body : "");
				return 1;
			}
			free(resp.body);
		}
		double wall = bench_now_sec() - w0, cpu = cpu_sec() - c0;
		round_rate[r] = (double)(batches * N_TOKENS) / wall;
		round_cpu_rate[r] = (double)(batches * N_TOKENS) / cpu;
		batch_cpu_ms[r] = cpu * 1000 / (double)batches;
		printf("  round %lld: mint %.0f tokens/s (%.0f per CPU-second); batches %.0f tokens/s "
		       "(%.0f per CPU-second, %.2f CPU-ms a batch, on CPU %.0f%% of the time)\n",
		       (long long)r + 1, mint_rate[r], mint_cpu_rate[r], round_rate[r],
		       round_cpu_rate[r], batch_cpu_ms[r], 100 * cpu / wall);
	}
	double mint = bench_median(mint_rate, (size_t)rounds);
	double mint_cpu = bench_median(mint_cpu_rate, (size_t)rounds);
	double cpu_ms = bench_median(batch_cpu_ms, (size_t)rounds);
	double rate = bench_median(round_rate, (size_t)rounds);
	double cpu_rate = bench_median(round_cpu_rate, (size_t)rounds);
	double p50 = bench_percentile(batch_ms, n_ms, 0.50);
	double p99 = bench_percentile(batch_ms, n_ms, 0.99);
	printf("mint alone:            %.0f tokens/s per core, %.0f per CPU-second (median of %lld "
	       "rounds)\n", mint, mint_cpu, (long long)rounds);
	printf("issued (whole answer): %.0f tokens per CPU-second (target >= %.0f per core: %s); "
	       "%.0f tokens/s of wall time\n", cpu_rate, TARGET_TOKENS_PER_SEC,
	       cpu_rate >= TARGET_TOKENS_PER_SEC ? "met" : "NOT met", rate);
	printf("batch of %d:           %.2f ms of CPU (target < %.0f ms: %s); wall p50 %.2f ms, "
	       "p99 %.2f ms (the commit's fsync and other processes included)\n", N_TOKENS,
	       cpu_ms, TARGET_BATCH_MS, cpu_ms < TARGET_BATCH_MS ? "met" : "NOT met", p50, p99);

	for (int64_t i = 0; i < batches; i++)
		free(bodies[i]);
	cl_capsulefeed_close(feed);
	is_state_close(st);
	if (dir == tmp) {
		char path[PATH_MAX + 16];
		snprintf(path, sizeof path, "%s/data.mdb", dir);
		unlink(path);
		snprintf(path, sizeof path, "%s/lock.mdb", dir);
		unlink(path);
		rmdir(dir);
	}
	sodium_memzero(&api, sizeof api);
	sodium_memzero(holder_sk, sizeof holder_sk);
	sodium_memzero(contact_sk, sizeof contact_sk);
	return 0;
}
