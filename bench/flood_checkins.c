/*
 * flood_checkins - publish N valid, distinct wallet check-ins at a poster
 * venue code as fast as the broker takes them (MQTT QoS 1, a window of
 * unacknowledged publishes), to load anshim-cloudd's ingest queue.  Used by
 * bench/ingest_flood (RSS under a flood) and by the integration test of the
 * bounded queue.  Not a test itself: it prints what it sent.
 *
 *   flood_checkins --broker URI --keys DIR --venue ID --count N
 *                  [--window W] [--holders H] [--at UNIX_SECONDS]
 *
 * It issues H throw-away credentials with the authority keys in DIR (the
 * phones are made up), signs one poster for venue ID, and spreads the N
 * check-ins over the holders and over the last hour (distinct times and
 * nonces, so every one is a new visit); --at dates them all at that time
 * instead (the time-sanity test sends check-ins from 2076 and 1969).  All
 * are signed before the first is published.
 * Single thread (bench/flood.c publishes).
 */
#include "authority.h"
#include "flood.h"

#include "anshim/appcheckin.h"
#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/credential.h"
#include "anshim/error.h"
#include "anshim/identity.h"
#include "anshim/venuecode.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_MAX AS_APP_CHECKIN_MAX

struct holder {
	struct as_credential cred;
	uint8_t sk[AS_SIGN_SK_LEN];
	char topic[96];
};

/* What main prepares: the holders and their signed check-ins. */
struct flood {
	struct holder *holders;
	unsigned n_holders;
	struct as_venue_code code;
	uint64_t count;
	uint8_t *msgs;          /* count signed check-ins, MSG_MAX bytes apart */
	uint16_t *lens;
	unsigned window;
	int64_t now;
	int64_t at;
	int has_at;
};

static int usage(void)
{
	fprintf(stderr, "usage: flood_checkins --broker URI --keys DIR --venue ID --count N "
		"[--window W] [--holders H] [--at UNIX_SECONDS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"broker", required_argument, NULL, 'b'}, {"keys", required_argument, NULL, 'k'},
		{"venue", required_argument, NULL, 'v'}, {"count", required_argument, NULL, 'n'},
		{"window", required_argument, NULL, 'w'}, {"holders", required_argument, NULL, 'H'},
		{"at", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	const char *broker = NULL, *keys = NULL, *failed_path = NULL;
	struct cl_authority auth;
	struct flood f;
	struct bench_flood_msg *out;
	uint64_t acked;
	unsigned long venue = 0;
	int c, rc;

	memset(&f, 0, sizeof f);
	f.window = 500;
	f.n_holders = 50;
	while ((c = as_args_next("flood_checkins", argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b': broker = optarg; break;
		case 'k': keys = optarg; break;
		case 'v': venue = strtoul(optarg, NULL, 10); break;
		case 'n': f.count = strtoull(optarg, NULL, 10); break;
		case 'w': f.window = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'H': f.n_holders = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'a': f.at = strtoll(optarg, NULL, 10); f.has_at = 1; break;
		default: return usage();
		}
	}
	if (!broker || !keys || !venue || !f.count || !f.window || !f.n_holders ||
	    f.window > 5000 || f.n_holders > 100000)
		return usage();
	if (as_crypto_init())
		return 1;
	rc = cl_authority_load(&auth, keys, CL_KEY_SIGN | CL_KEY_CONTACT | CL_KEY_PSEUDONYM,
			       &failed_path);
	if (rc) {
		fprintf(stderr, "flood_checkins: cannot load %s: %s\n",
			failed_path ? failed_path : keys, as_strerror(rc));
		return 1;
	}
	f.now = (int64_t)time(NULL);
	f.holders = calloc(f.n_holders, sizeof *f.holders);
	if (!f.holders)
		return 1;
	for (unsigned i = 0; i < f.n_holders; i++) {
		struct holder *h = &f.holders[i];
		struct as_contact contact;
		uint8_t pk[AS_SIGN_PK_LEN], hid[AS_HOLDER_ID_LEN];
		char phone[32], hex[2 * AS_HOLDER_ID_LEN + 1];

		crypto_sign_keypair(pk, h->sk);
		snprintf(phone, sizeof phone, "010-77%02u-%04u", (i / 10000) % 100, i % 10000);
		if (as_contact_set(&contact, phone, "Flood Visitor") ||
		    cl_authority_issue(&auth, &contact, pk, f.has_at && f.at < f.now ? f.at - 86400
									       : f.now - 86400,
				       f.has_at && f.at > f.now ? f.at - f.now + 30 * 86400 : 30 * 86400,
				       &h->cred)) {
			fprintf(stderr, "flood_checkins: cannot issue a credential\n");
			return 1;
		}
		sodium_memzero(&contact, sizeof contact);
		as_holder_id(hid, pk);
		as_hex_encode(hex, hid, sizeof hid);
		snprintf(h->topic, sizeof h->topic, "anshim/v1/wallet/%s/checkin", hex);
	}
	f.code.type = AS_VC_POSTER;
	f.code.venue_id = (uint32_t)venue;
	f.code.issued_at = f.now - 86400;
	snprintf(f.code.name, sizeof f.code.name, "Flood venue");
	if (as_venue_code_sign(&f.code, auth.sign_sk)) {
		fprintf(stderr, "flood_checkins: cannot sign the poster\n");
		return 1;
	}
	cl_authority_wipe(&auth);
	/* Sign everything first, so that publishing runs at the broker's pace,
	 * not at the pace of signing. */
	f.msgs = malloc(f.count * MSG_MAX);
	f.lens = calloc(f.count, sizeof *f.lens);
	if (!f.msgs || !f.lens) {
		fprintf(stderr, "flood_checkins: out of memory for %llu messages\n",
			(unsigned long long)f.count);
		return 1;
	}
	for (uint64_t i = 0; i < f.count; i++) {
		struct holder *h = &f.holders[i % f.n_holders];
		struct as_app_checkin m;
		int n;

		memset(&m, 0, sizeof m);
		m.kind = AS_APP_CHECKIN;
		m.cred = h->cred;
		m.code = f.code;
		m.time = f.has_at ? f.at : f.now - (int64_t)(i % 3600);
		if (as_app_checkin_sign(&m, h->sk) ||
		    (n = as_app_checkin_encode(f.msgs + i * MSG_MAX, MSG_MAX, &m)) < 0) {
			fprintf(stderr, "flood_checkins: cannot sign or encode a check-in\n");
			return 1;
		}
		f.lens[i] = (uint16_t)n;
	}

	out = calloc(f.count, sizeof *out);
	if (!out) {
		fprintf(stderr, "flood_checkins: out of memory for %llu messages\n",
			(unsigned long long)f.count);
		return 1;
	}
	for (uint64_t i = 0; i < f.count; i++)
		out[i] = (struct bench_flood_msg){f.holders[i % f.n_holders].topic,
						  f.msgs + i * MSG_MAX, f.lens[i]};
	acked = bench_flood_publish("flood_checkins", broker, out, f.count, f.window);
	free(out);
	for (unsigned i = 0; i < f.n_holders; i++)
		sodium_memzero(f.holders[i].sk, sizeof f.holders[i].sk);
	free(f.holders);
	free(f.msgs);
	free(f.lens);
	printf("published %llu check-ins, %llu acknowledged by the broker\n",
	       (unsigned long long)f.count, (unsigned long long)acked);
	return acked == f.count ? 0 : 1;
}
