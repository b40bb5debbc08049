/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz share: the fixed keys
 * (the test vectors' keys, so the vectors and the seed corpora carry valid
 * signatures), the fixed clock, and the oracle for round trips.
 *
 * Rules every target keeps: deterministic (no clock, no randomness the
 * input does not decide), nothing carried from one input to the next but
 * the read-only keys made once, every allocation freed before returning,
 * no files outside a private temp dir and no sockets.  A broken property
 * calls fuzz_fail, which aborts: libFuzzer then saves the input as a crash.
 * Single-threaded.
 */
#ifndef ANSHIM_FUZZ_H
#define ANSHIM_FUZZ_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anshim/identity.h"

/* The vectors' clock: 2026-01-01T01:00:00Z, the pass vector's time. */
#define FUZZ_NOW INT64_C(1767229200)
#define FUZZ_FRESHNESS 60
#define FUZZ_RETENTION (56 * INT64_C(86400))

struct fuzz_keys {
	uint8_t auth_pk[AS_SIGN_PK_LEN], auth_sk[AS_SIGN_SK_LEN];       /* seed 01.. */
	uint8_t contact_pk[AS_BOX_PK_LEN], contact_sk[AS_BOX_SK_LEN];   /* seed 02.. */
	uint8_t pseudonym[AS_PSEUDONYM_KEY_LEN];                        /* 03.. */
	uint8_t holder_pk[AS_SIGN_PK_LEN], holder_sk[AS_SIGN_SK_LEN];   /* seed 04.. */
	uint8_t device_pk[AS_SIGN_PK_LEN], device_sk[AS_SIGN_SK_LEN];   /* seed 05.. */
	uint8_t issuer_pk[AS_SIGN_PK_LEN], issuer_sk[AS_SIGN_SK_LEN];   /* seed 06.. */
};

/* Made once (LLVMFuzzerInitialize or main), read-only afterwards. */
static struct fuzz_keys fuzz_k;

static inline void fuzz_keys_init(void)
{
	uint8_t seed[32];

	if (as_crypto_init() != 0) {
		fprintf(stderr, "fuzz: libsodium failed to initialise\n");
		exit(2);
	}
	memset(seed, 0x01, sizeof seed);
	crypto_sign_seed_keypair(fuzz_k.auth_pk, fuzz_k.auth_sk, seed);
	memset(seed, 0x02, sizeof seed);
	crypto_box_seed_keypair(fuzz_k.contact_pk, fuzz_k.contact_sk, seed);
	memset(fuzz_k.pseudonym, 0x03, sizeof fuzz_k.pseudonym);
	memset(seed, 0x04, sizeof seed);
	crypto_sign_seed_keypair(fuzz_k.holder_pk, fuzz_k.holder_sk, seed);
	memset(seed, 0x05, sizeof seed);
	crypto_sign_seed_keypair(fuzz_k.device_pk, fuzz_k.device_sk, seed);
	memset(seed, 0x06, sizeof seed);
	crypto_sign_seed_keypair(fuzz_k.issuer_pk, fuzz_k.issuer_sk, seed);
}

/* A property does not hold: say which and abort (libFuzzer keeps the input). */
#define fuzz_fail(...)                                                                   \
	do {                                                                             \
		fprintf(stderr, "fuzz: %s:%d: ", __FILE__, __LINE__);                   \
		fprintf(stderr, __VA_ARGS__);                                            \
		fputc('\n', stderr);                                                     \
		abort();                                                                 \
	} while (0)

/* An accepted message must encode back to exactly the bytes it came from
 * (every format is canonical: fixed layouts, explicit lengths, strict
 * ranges).  n is the encoder's return value. */
static inline void fuzz_same_bytes(const char *what, int n, const void *enc, const void *in,
				   size_t len)
{
	if (n < 0)
		fuzz_fail("%s: decoded, but encoding it again fails (%d)", what, n);
	if ((size_t)n != len)
		fuzz_fail("%s: decoded %zu bytes, encodes to %d", what, len, n);
	if (memcmp(enc, in, len) != 0)
		fuzz_fail("%s: decoded, but encodes to other bytes", what);
}

/* The input as a NUL-terminated heap string of exactly len + 1 bytes
 * (ASan sees any read past it); aborts on out-of-memory. */
static inline char *fuzz_strndup(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		abort();
	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer calls this once, before any input: the keys, and the
 * register's own time zone for the targets that turn local dates and
 * times into unix times. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_keys_init();
	setenv("TZ", "Asia/Seoul", 1);
	tzset();
	return 0;
}

#endif
