/*
 * token_tool.c - put visit tokens into a wallet without the issuer
 * service, for the tests of version 2 passes at the gateway (the issuer
 * service's own tests cover the network path).  It runs the same library
 * calls both sides of /v1/tokens run: the wallet's holder-signed request
 * for fresh key pairs, the issuer's check of it, minting, the batch on the
 * wire, and the wallet's acceptance of the batch into DIR/tokens.
 *
 *   token_tool ISSUER_KEY WALLET_DIR COUNT [EXPIRES]
 *   token_tool forge PASS_TEXT WALLET_DIR [AT]
 *
 * ISSUER_KEY is an Ed25519 secret key file (anshim-cloud keys init makes
 * one: sign.key); COUNT 1..64; EXPIRES unix seconds (default: the token
 * expiry of a 7-day lifetime from now).  Prints each new token id in hex,
 * one per line.
 *
 * forge: what someone who saw another person's pass (PASS_TEXT, "AP2:")
 * can do with it: keep its token, put in a new time (AT, default now) and
 * sign with a token key of their own (the first unused token of the
 * wallet in WALLET_DIR, left in the file).  Prints the forged pass text;
 * a gateway must refuse it (bad-token-signature).
 *
 * Exit 0 on success, 1 with a message otherwise.
 */
#include "anshim/base45.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/keyfile.h"
#include "anshim/parse.h"
#include "anshim/token.h"
#include "tokens.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int die(const char *what, int rc)
{
	fprintf(stderr, "token_tool: %s: %s\n", what, as_strerror(rc));
	return 1;
}

static int forge(int argc, char **argv)
{
	uint8_t bin[AS_PASS2_LEN + 2];
	char path[PATH_MAX], err[PATH_MAX + 200], text[AS_PASS2_TEXT_LEN + 1];
	struct as_pass2 victim, forged;
	struct wl_tokens t;
	int64_t at = (int64_t)time(NULL);
	size_t len = strlen(argv[2]);
	int n, rc;

	if (argc == 5 && as_parse_int64(argv[4], 0, UINT32_MAX, &at))
		return die("AT", AS_E_FIELD);
	if (!as_pass2_is_text(argv[2], len))
		return die("PASS_TEXT", AS_E_PREFIX);
	n = as_base45_decode(bin, sizeof bin, argv[2] + 4, len - 4);
	if (n < 0 || (rc = as_pass2_decode(&victim, bin, (size_t)n)) != 0)
		return die("PASS_TEXT", n < 0 ? n : rc);
	snprintf(path, sizeof path, "%s/tokens", argv[3]);
	if ((rc = wl_tokens_load(&t, path, err, sizeof err)) != 0) {
		fprintf(stderr, "token_tool: %s\n", err);
		return 1;
	}
	if (t.n == 0) {
		wl_tokens_free(&t);
		return die(path, AS_E_NOT_FOUND);
	}
	rc = as_pass2_make(&forged, &victim.token, at, t.e[0].sk);
	wl_tokens_free(&t);
	if (rc == 0)
		rc = as_pass2_to_text(text, sizeof text, &forged);
	if (rc < 0)
		return die("forge", rc);
	printf("%s\n", text);
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t pks[AS_TOKEN_BATCH_MAX][32], sks[AS_TOKEN_BATCH_MAX][64];
	static struct as_token_batch batch, got;
	static uint8_t wire[AS_TOKEN_BATCH_MAX_LEN], req_wire[AS_TOKEN_REQUEST_MAX_LEN];
	uint8_t issuer_sk[64], issuer_pk[32], holder_sk[64], holder_pk[32];
	struct as_token_request req, seen;
	struct wl_tokens t;
	char path[PATH_MAX], err[PATH_MAX + 200], hex[33];
	int64_t count, now = (int64_t)time(NULL), expires;
	int rc, n;

	uint8_t id_key[AS_TOKEN_ID_KEY_LEN];
	int64_t serial = 0;

	if (argc < 4 || argc > 7 || argc == 6) {
		fprintf(stderr, "usage: token_tool ISSUER_KEY WALLET_DIR COUNT [EXPIRES "
			"[TOKENID_KEY SERIAL]]\n"
			"       token_tool forge PASS_TEXT WALLET_DIR [AT]\n");
		return 2;
	}
	if (as_crypto_init() != 0)
		return die("libsodium", AS_E_CRYPTO);
	if (strcmp(argv[1], "forge") == 0)
		return forge(argc, argv);
	if (as_parse_int64(argv[3], 1, AS_TOKEN_BATCH_MAX, &count))
		return die("COUNT", AS_E_FIELD);
	expires = as_token_expiry(now, AS_TOKEN_LIFETIME_DEFAULT);
	if (argc >= 5 && as_parse_int64(argv[4], 1, UINT32_MAX, &expires))
		return die("EXPIRES", AS_E_FIELD);
	if (argc == 7) {
		/* ids as the issuer makes them: issue SERIAL, readable by the cloud */
		if ((rc = as_keyfile_read(argv[5], AS_KEY_PSEUDONYM, id_key)) != 0)
			return die(argv[5], rc);
		if (as_parse_int64(argv[6], 1, (int64_t)AS_TOKEN_SERIAL_MAX, &serial))
			return die("SERIAL", AS_E_FIELD);
	}
	if ((rc = as_keyfile_read(argv[1], AS_KEY_SIGN_SECRET, issuer_sk)) != 0)
		return die(argv[1], rc);
	crypto_sign_ed25519_sk_to_pk(issuer_pk, issuer_sk);
	snprintf(path, sizeof path, "%s/holder.key", argv[2]);
	if ((rc = as_keyfile_read(path, AS_KEY_SIGN_SECRET, holder_sk)) != 0)
		return die(path, rc);
	crypto_sign_ed25519_sk_to_pk(holder_pk, holder_sk);

	/* The wallet: fresh key pairs, a signed request. */
	for (int i = 0; i < count; i++)
		crypto_sign_keypair(pks[i], sks[i]);
	rc = as_token_request_make(&req, holder_pk, holder_sk, now, (unsigned)count,
				   (const uint8_t (*)[32])pks);
	n = rc ? rc : as_token_request_encode(req_wire, sizeof req_wire, &req);
	if (n < 0)
		return die("request", n);
	/* The issuer: decode, check the holder's signature, mint. */
	if ((rc = as_token_request_decode(&seen, req_wire, (size_t)n)) != 0 ||
	    (rc = as_token_request_verify(&seen)) != 0)
		return die("request check", rc);
	batch.n = seen.n;
	for (unsigned i = 0; i < seen.n; i++) {
		uint8_t id[AS_TOKEN_ID_LEN];

		if (serial && (rc = as_token_id_derive(id, id_key, (uint64_t)serial,
						       (uint8_t)i)) != 0)
			return die("token id", rc);
		if ((rc = as_token_mint(&batch.tokens[i], serial ? id : NULL, seen.token_pks[i],
					expires, issuer_pk, issuer_sk)) != 0)
			return die("mint", rc);
	}
	sodium_memzero(id_key, sizeof id_key);
	n = as_token_batch_encode(wire, sizeof wire, &batch);
	if (n < 0)
		return die("batch", n);
	/* The wallet again: decode the batch and keep it. */
	if ((rc = as_token_batch_decode(&got, wire, (size_t)n)) != 0)
		return die("batch decode", rc);
	snprintf(path, sizeof path, "%s/tokens", argv[2]);
	if ((rc = wl_tokens_load(&t, path, err, sizeof err)) != 0) {
		fprintf(stderr, "token_tool: %s\n", err);
		return 1;
	}
	rc = wl_tokens_add(&t, &got, (const uint8_t (*)[32])pks, (const uint8_t (*)[64])sks,
			   (size_t)count, issuer_pk);
	if (rc >= 0)
		rc = wl_tokens_save(&t, path);
	wl_tokens_free(&t);
	sodium_memzero(sks, sizeof sks);
	sodium_memzero(issuer_sk, sizeof issuer_sk);
	sodium_memzero(holder_sk, sizeof holder_sk);
	if (rc < 0)
		return die(path, rc);
	for (unsigned i = 0; i < got.n; i++) {
		as_hex_encode(hex, got.tokens[i].token_id, 16);
		printf("%s\n", hex);
	}
	return 0;
}
