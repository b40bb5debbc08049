/*
 * enrol.c - anshim-wallet consent and enrol (see enrol.h).
 *
 * The flow a phone app follows: GET /v1/consent and show the text;
 * agreement (typed, or --yes when the person read it elsewhere); POST
 * /v1/enrol/start with the phone and the holder key; read the code the
 * person types (stdin: one line per try, up to the tries the issuer
 * allows); POST /v1/enrol/finish with the code and the version and hash
 * of the text shown.  The credential is checked before it is kept: it
 * must name this wallet's holder key and the consent version shown, and
 * verify under the issuer's key (GET /v1/issuer, kept as DIR/issuer.pub
 * on first use; a later enrolment must verify under the same key).
 *
 * Never printed: the code, keys, the credential.  The phone number is
 * only echoed back to the person in the prompt.  Single-threaded CLI;
 * the wallet directory is locked for the whole command.
 */
#include "enrol.h"

#include "diary.h"
#include "issuerclient.h"
#include "tokens.h"
#include "wconfig.h"

#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/enrolment.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/keyfile.h"
#include "anshim/parse.h"
#include "anshim/phone.h"
#include "anshim/token.h"
#include "anshim/usage.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "anshim-wallet"
#define CODE_TRIES_MAX 5
#define TOKENS_FULL AS_TOKEN_BATCH_MAX

struct enrol_args {
	const char *dir, *issuer, *phone, *ca;
	int64_t timeout;
	int yes;
};

static int parse(int argc, char **argv, struct enrol_args *a)
{
	static const struct option options[] = {
		{"dir", required_argument, NULL, 'd'},
		{"issuer", required_argument, NULL, 'i'},
		{"phone", required_argument, NULL, 'p'},
		{"ca", required_argument, NULL, 'C'},
		{"timeout", required_argument, NULL, 'T'},
		{"yes", no_argument, NULL, 'y'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof *a);
	a->timeout = 30;
	optind = 2;
	while ((c = as_args_next(PROG, argc, argv, "d:", options, NULL)) != -1) {
		switch (c) {
		case 'd': a->dir = optarg; break;
		case 'i': a->issuer = optarg; break;
		case 'p': a->phone = optarg; break;
		case 'C': a->ca = optarg; break;
		case 'y': a->yes = 1; break;
		case 'T':
			if (as_parse_int64(optarg, 1, 600, &a->timeout))
				return as_usage_error(PROG, "--timeout '%s': seconds, 1 to 600", optarg);
			break;
		default: return AS_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return as_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* GET /v1/consent: version, hash and text (the answer owns the text). */
static int get_consent(const struct wl_issuer *is, struct wl_issuer_answer *ans,
		       uint32_t *version, uint8_t hash[32], const char **text)
{
	char err[1024];
	int rc = wl_issuer_call(is, "/v1/consent", NULL, ans, err, sizeof err);

	if (rc) {
		fprintf(stderr, PROG ": %s\n", err);
		return rc;
	}
	json_int_t v = json_integer_value(json_object_get(ans->body, "version"));
	const char *h = json_string_value(json_object_get(ans->body, "hash"));
	*text = json_string_value(json_object_get(ans->body, "text"));
	if (ans->status != 200 || v < 1 || v > UINT32_MAX || !h || !*text ||
	    as_hex_decode(hash, 32, h) != 0) {
		fprintf(stderr, PROG ": the issuer at %s did not send a consent text (HTTP %ld: %s)\n",
			is->url, ans->status, wl_issuer_message(ans));
		return AS_E_FIELD;
	}
	/* The hash is the issuer's word; check it matches the text shown. */
	uint8_t mine[32];
	crypto_hash_sha256(mine, (const unsigned char *)*text, strlen(*text));
	if (sodium_memcmp(mine, hash, 32) != 0) {
		fprintf(stderr, PROG ": the issuer's consent text does not match its hash; not "
			"enrolling\n");
		return AS_E_FIELD;
	}
	*version = (uint32_t)v;
	return 0;
}

static void show_consent(FILE *out, uint32_t version, const char *text)
{
	size_t len = strlen(text);

	fprintf(out, "---- consent text, version %u ----\n%s%s---- end of the consent text "
		"----\n", (unsigned)version, text, len && text[len - 1] == '\n' ? "" : "\n");
}

int wl_cmd_consent(int argc, char **argv)
{
	struct enrol_args a;
	struct wl_issuer_answer ans = {0};
	char err[512];
	uint8_t hash[32];
	uint32_t version;
	const char *text;
	int rc = parse(argc, argv, &a);

	if (rc)
		return rc;
	if (!a.issuer)
		return as_usage_error(PROG, "%s", "consent needs --issuer URL");
	if (wl_issuer_url_check(a.issuer, err, sizeof err))
		return as_usage_error(PROG, "--issuer: %s", err);
	struct wl_issuer is = {a.issuer, a.ca, a.timeout};
	rc = get_consent(&is, &ans, &version, hash, &text);
	if (!rc)
		show_consent(stdout, version, text);
	wl_issuer_answer_free(&ans);
	return rc ? 1 : 0;
}

/* One line from stdin into buf, without its line end; 0 or -1 at EOF. */
static int read_line(char *buf, size_t cap)
{
	if (!fgets(buf, (int)cap, stdin))
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/* The issuer's key: DIR/issuer.pub if kept, else GET /v1/issuer (kept
 * later, once an enrolment verified under it). */
static int issuer_key(const struct wl_issuer *is, const char *dir, uint8_t pk[AS_SIGN_PK_LEN],
		      int *known)
{
	char path[PATH_MAX], err[1024];
	struct wl_issuer_answer ans;
	int rc;

	snprintf(path, sizeof path, "%s/issuer.pub", dir);
	rc = as_keyfile_read(path, AS_KEY_SIGN_PUBLIC, pk);
	*known = rc == 0;
	if (rc != -ENOENT) {
		if (rc)
			fprintf(stderr, PROG ": %s: %s\n", path, as_strerror(rc));
		return rc;
	}
	if ((rc = wl_issuer_call(is, "/v1/issuer", NULL, &ans, err, sizeof err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return rc;
	}
	const char *hex = json_string_value(json_object_get(ans.body, "issuer_key"));
	rc = ans.status == 200 && hex && strlen(hex) == 2 * AS_SIGN_PK_LEN
		     ? as_hex_decode(pk, AS_SIGN_PK_LEN, hex) : AS_E_FIELD;
	if (rc)
		fprintf(stderr, PROG ": the issuer at %s did not give its key (HTTP %ld)\n",
			is->url, ans.status);
	wl_issuer_answer_free(&ans);
	return rc;
}

/* POST /v1/enrol/start; the enrolment id (32 hex) into id. */
static int enrol_start(const struct wl_issuer *is, const char *phone,
		       const uint8_t holder_pk[AS_SIGN_PK_LEN], char id[33], int64_t *lifetime)
{
	char hex[2 * AS_SIGN_PK_LEN + 1], err[1024];
	struct wl_issuer_answer ans;
	json_t *body;
	int rc;

	as_hex_encode(hex, holder_pk, AS_SIGN_PK_LEN);
	body = json_pack("{s:s, s:s}", "phone", phone, "holder_key", hex);
	if (!body)
		return -ENOMEM;
	rc = wl_issuer_call(is, "/v1/enrol/start", body, &ans, err, sizeof err);
	json_decref(body);
	if (rc) {
		fprintf(stderr, PROG ": %s\n", err);
		return rc;
	}
	const char *eid = json_string_value(json_object_get(ans.body, "enrolment"));
	if (ans.status != 200 || !eid || strlen(eid) != 32) {
		fprintf(stderr, PROG ": the issuer refused to send a code (HTTP %ld): %s\n",
			ans.status, wl_issuer_message(&ans));
		wl_issuer_answer_free(&ans);
		return AS_E_FIELD;
	}
	memcpy(id, eid, 33);
	*lifetime = json_integer_value(json_object_get(ans.body, "expires_in"));
	wl_issuer_answer_free(&ans);
	return 0;
}

/* POST /v1/enrol/finish with code; 0 with the credential's bytes in raw,
 * 1 for a wrong code that may be tried again, or an error. */
static int enrol_finish(const struct wl_issuer *is, const char *id, const char *code,
			uint32_t version, const uint8_t hash[32], uint8_t raw[AS_ENROLMENT_LEN])
{
	char hex[65], err[1024];
	struct wl_issuer_answer ans;
	json_t *body;
	size_t len = 0;
	int rc;

	as_hex_encode(hex, hash, 32);
	body = json_pack("{s:s, s:s, s:I, s:s}", "enrolment", id, "code", code,
			 "consent_version", (json_int_t)version, "consent_hash", hex);
	if (!body)
		return -ENOMEM;
	rc = wl_issuer_call(is, "/v1/enrol/finish", body, &ans, err, sizeof err);
	json_decref(body);
	if (rc) {
		fprintf(stderr, PROG ": %s\n", err);
		return rc;
	}
	const char *b64 = json_string_value(json_object_get(ans.body, "enrolment_credential"));
	if (ans.status == 401) {
		fprintf(stderr, PROG ": %s\n", wl_issuer_message(&ans));
		rc = 1;
	} else if (ans.status != 200 || !b64) {
		fprintf(stderr, PROG ": the issuer refused the enrolment (HTTP %ld): %s\n",
			ans.status, wl_issuer_message(&ans));
		rc = AS_E_FIELD;
	} else if (sodium_base642bin(raw, AS_ENROLMENT_LEN, b64, strlen(b64), NULL, &len, NULL,
				     sodium_base64_VARIANT_ORIGINAL) != 0 ||
		   len != AS_ENROLMENT_LEN) {
		fprintf(stderr, PROG ": the issuer's credential is malformed\n");
		rc = AS_E_FIELD;
	}
	wl_issuer_answer_free(&ans);
	return rc;
}

int wl_cmd_enrol(int argc, char **argv)
{
	struct enrol_args a;
	struct wl_issuer_answer consent = {0};
	struct wl_config cfg = {0};
	struct as_enrolment e;
	char path[PATH_MAX], err[1024], normalized[AS_PHONE_MAX + 1], line[64], id[33];
	uint8_t holder_pk[AS_SIGN_PK_LEN], issuer_pk[AS_SIGN_PK_LEN], hash[32];
	uint8_t raw[AS_ENROLMENT_LEN];
	uint32_t version;
	const char *text;
	int64_t lifetime = 0;
	int rc, lock = -1, known = 0;

	if ((rc = parse(argc, argv, &a)) != 0)
		return rc;
	if (!a.dir || !a.issuer || !a.phone)
		return as_usage_error(PROG, "%s", "enrol needs --dir DIR --issuer URL --phone NUMBER");
	if (wl_issuer_url_check(a.issuer, err, sizeof err))
		return as_usage_error(PROG, "--issuer: %s", err);
	if (as_phone_normalize(normalized, a.phone) != 0)
		return as_usage_error(PROG, "--phone '%s' is not a phone number (e.g. "
				      "010-1234-5678 or +82 10 1234 5678)", a.phone);
	snprintf(path, sizeof path, "%s/holder.pub", a.dir);
	if ((rc = as_keyfile_read(path, AS_KEY_SIGN_PUBLIC, holder_pk)) != 0) {
		fprintf(stderr, PROG ": cannot read %s: %s%s\n", path, as_strerror(rc),
			rc == -ENOENT ? " (no wallet there: create one with 'anshim-wallet new "
			"--dir DIR')" : "");
		return 1;
	}
	if ((lock = wl_diary_lock(a.dir)) < 0) {
		fprintf(stderr, PROG ": cannot lock the wallet in %s: %s\n", a.dir,
			as_strerror(lock));
		return 1;
	}
	struct wl_issuer is = {a.issuer, a.ca, a.timeout};
	rc = get_consent(&is, &consent, &version, hash, &text);
	if (rc)
		goto out;
	show_consent(stdout, version, text);
	if (!a.yes) {
		printf("Do you agree? Type 'yes' to agree: ");
		fflush(stdout);
		if (read_line(line, sizeof line) != 0 || strcmp(line, "yes") != 0) {
			fprintf(stderr, PROG ": not enrolled: the consent was not given\n");
			rc = AS_E_USAGE;
			goto out;
		}
	}
	if ((rc = issuer_key(&is, a.dir, issuer_pk, &known)) != 0)
		goto out;
	if ((rc = enrol_start(&is, normalized, holder_pk, id, &lifetime)) != 0)
		goto out;
	printf("A %d-digit code was sent to %s; it works for %lld minutes.\n", 6, normalized,
	       (long long)((lifetime + 59) / 60));
	rc = 1;
	for (int tries = 0; rc == 1 && tries < CODE_TRIES_MAX; tries++) {
		printf("Code: ");
		fflush(stdout);
		if (read_line(line, sizeof line) != 0) {
			fprintf(stderr, PROG ": no code given; not enrolled\n");
			rc = AS_E_USAGE;
			break;
		}
		rc = enrol_finish(&is, id, line, version, hash, raw);
		sodium_memzero(line, sizeof line);
	}
	if (rc)
		goto out;
	if ((rc = as_enrolment_decode(&e, raw, sizeof raw)) != 0 ||
	    (rc = as_enrolment_verify(&e, issuer_pk)) != 0 ||
	    sodium_memcmp(e.holder_pk, holder_pk, AS_SIGN_PK_LEN) != 0 ||
	    e.consent_version != version) {
		fprintf(stderr, PROG ": the issuer's credential is not for this wallet, this "
			"consent or this issuer%s; not kept\n", known ? " (the issuer key in "
			"issuer.pub)" : "");
		rc = rc ? rc : AS_E_FIELD;
		goto out;
	}
	snprintf(path, sizeof path, "%s/enrolment", a.dir);
	if ((rc = as_file_write_atomic(path, raw, sizeof raw, 0600, 0)) != 0) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", path, as_strerror(rc));
		goto out;
	}
	snprintf(path, sizeof path, "%s/issuer.pub", a.dir);
	if (!known && (rc = as_keyfile_write(path, AS_KEY_SIGN_PUBLIC, issuer_pk, 0)) != 0) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", path, as_strerror(rc));
		goto out;
	}
	if ((rc = wl_config_load(&cfg, a.dir, err, sizeof err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out;
	}
	free(cfg.issuer);
	free(cfg.issuer_ca);
	cfg.issuer = strdup(a.issuer);
	cfg.issuer_ca = a.ca ? strdup(a.ca) : NULL;
	if (!cfg.issuer || (a.ca && !cfg.issuer_ca) || (rc = wl_config_save(&cfg, a.dir)) != 0) {
		rc = rc ? rc : -ENOMEM;
		fprintf(stderr, PROG ": cannot write %s/wallet.conf: %s\n", a.dir, as_strerror(rc));
		goto out;
	}
	char until[64];
	time_t t = (time_t)e.expires_at;
	struct tm tm;
	strftime(until, sizeof until, "%Y-%m-%d %H:%M %Z", localtime_r(&t, &tm));
	printf("enrolled: consent version %u, valid until %s; renew it by enrolling again "
	       "before then\n", (unsigned)e.consent_version, until);
	unsigned added = 0;
	size_t usable = 0;
	if (wl_tokens_topup(a.dir, TOKENS_FULL, a.timeout, &added, &usable, err, sizeof err))
		fprintf(stderr, PROG ": enrolled, but no visit tokens yet: %s (run 'anshim-wallet "
			"tokens --dir %s' later)\n", err, a.dir);
	else
		printf("%zu visit tokens ready\n", usable);
out:
	wl_config_free(&cfg);
	wl_issuer_answer_free(&consent);
	sodium_memzero(normalized, sizeof normalized);
	if (lock >= 0)
		wl_diary_unlock(lock);
	return rc ? 1 : 0;
}

/* ---- visit tokens ----------------------------------------------------------- */

/* POST /v1/tokens: rq's keys under enrolment raw; the batch into b. */
static int fetch_batch(const struct wl_issuer *is, const uint8_t raw[AS_ENROLMENT_LEN],
		       const struct as_token_request *rq, struct as_token_batch *b, char *err,
		       size_t err_len)
{
	uint8_t req[AS_TOKEN_REQUEST_MAX_LEN], *bin = NULL;
	char e64[sodium_base64_ENCODED_LEN(AS_ENROLMENT_LEN, sodium_base64_VARIANT_ORIGINAL)];
	char r64[sodium_base64_ENCODED_LEN(AS_TOKEN_REQUEST_MAX_LEN,
					   sodium_base64_VARIANT_ORIGINAL)];
	struct wl_issuer_answer ans = {0};
	size_t len = 0;
	json_t *body;
	int rc = as_token_request_encode(req, sizeof req, rq);

	if (rc < 0) {
		as_err_printf(err, err_len, "cannot make the token request: %s", as_strerror(rc));
		return rc;
	}
	sodium_bin2base64(e64, sizeof e64, raw, AS_ENROLMENT_LEN, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(r64, sizeof r64, req, (size_t)rc, sodium_base64_VARIANT_ORIGINAL);
	if (!(body = json_pack("{s:s, s:s}", "enrolment_credential", e64, "request", r64)))
		return -ENOMEM;
	rc = wl_issuer_call(is, "/v1/tokens", body, &ans, err, err_len);
	json_decref(body);
	if (rc)
		return rc;
	const char *text = json_string_value(json_object_get(ans.body, "batch"));
	if (ans.status != 200 || !text) {
		const char *word = json_string_value(json_object_get(ans.body, "error"));
		as_err_printf(err, err_len, "the issuer gave no tokens (HTTP %ld): %s", ans.status,
			      wl_issuer_message(&ans));
		rc = word && (!strcmp(word, "revoked")) ? AS_E_REVOKED
		   : word && !strncmp(word, "consent-", 8) ? AS_E_EXPIRED : AS_E_FIELD;
		goto out;
	}
	if (!(bin = malloc(AS_TOKEN_BATCH_MAX_LEN))) {
		rc = -ENOMEM;
		goto out;
	}
	if (sodium_base642bin(bin, AS_TOKEN_BATCH_MAX_LEN, text, strlen(text), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    (rc = as_token_batch_decode(b, bin, len)) != 0) {
		as_err_printf(err, err_len, "the issuer's batch is malformed");
		rc = AS_E_FIELD;
	}
out:
	free(bin);
	wl_issuer_answer_free(&ans);
	return rc;
}

/* Read a wallet file that must exist, naming the step that makes it. */
static int need_file(const char *dir, const char *name, uint8_t *out, size_t len,
		     enum as_key_kind kind, int key, char *err, size_t err_len)
{
	char path[PATH_MAX];
	unsigned char *data = NULL;
	size_t got = 0;
	int rc;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (key)
		rc = as_keyfile_read(path, kind, out);
	else if ((rc = as_file_read_all(path, len, &data, &got)) == 0) {
		if (got == len)
			memcpy(out, data, len);
		else
			rc = AS_E_CORRUPT;
		sodium_memzero(data, got);
		free(data);
	}
	if (rc == -ENOENT) {
		as_err_printf(err, err_len, "the wallet in %s is not enrolled (no %s): run "
			      "'anshim-wallet enrol --dir %s --issuer URL --phone NUMBER'", dir,
			      name, dir);
		return AS_E_NOT_FOUND;
	}
	if (rc)
		as_err_printf(err, err_len, "%s: %s", path, as_strerror(rc));
	return rc;
}

int wl_tokens_topup(const char *dir, size_t below, int64_t timeout, unsigned *added,
		    size_t *usable, char *err, size_t err_len)
{
	struct wl_tokens t = {0};
	struct as_token_request *rq = calloc(1, sizeof *rq);
	struct as_token_batch *b = calloc(1, sizeof *b);
	uint8_t (*pks)[AS_SIGN_PK_LEN] = calloc(TOKENS_FULL, AS_SIGN_PK_LEN);
	uint8_t (*sks)[AS_SIGN_SK_LEN] = calloc(TOKENS_FULL, AS_SIGN_SK_LEN);
	uint8_t raw[AS_ENROLMENT_LEN], holder_pk[AS_SIGN_PK_LEN], holder_sk[AS_SIGN_SK_LEN];
	uint8_t issuer_pk[AS_SIGN_PK_LEN];
	char path[PATH_MAX];
	struct wl_config cfg = {0};
	struct as_enrolment e;
	int64_t now = (int64_t)time(NULL);
	int rc;

	*added = 0;
	*usable = 0;
	if (!rq || !b || !pks || !sks) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = need_file(dir, "enrolment", raw, sizeof raw, 0, 0, err, err_len)) != 0 ||
	    (rc = need_file(dir, "issuer.pub", issuer_pk, 0, AS_KEY_SIGN_PUBLIC, 1, err,
			    err_len)) != 0 ||
	    (rc = need_file(dir, "holder.pub", holder_pk, 0, AS_KEY_SIGN_PUBLIC, 1, err,
			    err_len)) != 0 ||
	    (rc = need_file(dir, "holder.key", holder_sk, 0, AS_KEY_SIGN_SECRET, 1, err,
			    err_len)) != 0)
		goto out;
	if ((rc = as_enrolment_decode(&e, raw, sizeof raw)) != 0 ||
	    (rc = as_enrolment_verify(&e, issuer_pk)) != 0) {
		as_err_printf(err, err_len, "%s/enrolment: %s (enrol again)", dir, as_strerror(rc));
		goto out;
	}
	snprintf(path, sizeof path, "%s/tokens", dir);
	if ((rc = wl_tokens_load(&t, path, err, err_len)) != 0)
		goto out;
	wl_tokens_prune(&t, now);
	*usable = wl_tokens_unused(&t, now);
	if (*usable >= below)
		goto out;
	if (now >= e.expires_at) {
		as_err_printf(err, err_len, "the consent expired: read the consent text and enrol "
			      "again to renew it ('anshim-wallet enrol')");
		rc = AS_E_EXPIRED;
		goto out;
	}
	size_t want = TOKENS_FULL - *usable;
	if (want > WL_TOKENS_MAX - t.n)
		want = WL_TOKENS_MAX - t.n;
	if (want == 0)
		goto out;
	if ((rc = wl_config_load(&cfg, dir, err, err_len)) != 0)
		goto out;
	if (!cfg.issuer) {
		as_err_printf(err, err_len, "no issuer in %s/wallet.conf: enrol again", dir);
		rc = AS_E_NOT_FOUND;
		goto out;
	}
	for (size_t i = 0; i < want; i++)
		crypto_sign_keypair(pks[i], sks[i]);
	if ((rc = as_token_request_make(rq, holder_pk, holder_sk, now, (unsigned)want,
					(const uint8_t (*)[AS_SIGN_PK_LEN])pks)) != 0) {
		as_err_printf(err, err_len, "cannot make the token request: %s", as_strerror(rc));
		goto out;
	}
	struct wl_issuer is = {cfg.issuer, cfg.issuer_ca, timeout};
	if ((rc = fetch_batch(&is, raw, rq, b, err, err_len)) != 0)
		goto out;
	/* Only tokens for our keys, signed by our issuer, one per key. */
	if (b->n != want) {
		as_err_printf(err, err_len, "the issuer answered %u tokens for %zu keys",
			      (unsigned)b->n, want);
		rc = AS_E_FIELD;
		goto out;
	}
	rc = wl_tokens_add(&t, b, (const uint8_t (*)[AS_SIGN_PK_LEN])pks,
			   (const uint8_t (*)[AS_SIGN_SK_LEN])sks, want, issuer_pk);
	if (rc < 0) {
		as_err_printf(err, err_len, "the issuer's batch does not fit this wallet's request "
			      "(%s); none kept", as_strerror(rc));
		goto out;
	}
	*added = (unsigned)rc;
	if ((rc = wl_tokens_save(&t, path)) != 0) {
		as_err_printf(err, err_len, "cannot write %s: %s", path, as_strerror(rc));
		*added = 0;
		goto out;
	}
	*usable = wl_tokens_unused(&t, now);
out:
	sodium_memzero(holder_sk, sizeof holder_sk);
	if (sks)
		sodium_memzero(sks, TOKENS_FULL * AS_SIGN_SK_LEN);
	wl_tokens_free(&t);
	free(rq);
	free(b);
	free(pks);
	free(sks);
	wl_config_free(&cfg);
	return rc;
}

int wl_cmd_tokens(int argc, char **argv)
{
	struct enrol_args a;
	char err[1024];
	unsigned added = 0;
	size_t usable = 0;
	int rc = parse(argc, argv, &a), lock;

	if (rc)
		return rc;
	if (!a.dir || a.issuer || a.phone || a.yes || a.ca)
		return as_usage_error(PROG, "%s", "tokens takes --dir DIR [--timeout S] (the "
				      "issuer is the one enrolled with)");
	if ((lock = wl_diary_lock(a.dir)) < 0) {
		fprintf(stderr, PROG ": cannot lock the wallet in %s: %s\n", a.dir,
			as_strerror(lock));
		return 1;
	}
	rc = wl_tokens_topup(a.dir, TOKENS_FULL, a.timeout, &added, &usable, err, sizeof err);
	wl_diary_unlock(lock);
	if (rc) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	printf("%zu visit tokens ready (%u new)\n", usable, added);
	return 0;
}
