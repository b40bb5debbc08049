/*
 * test_issuer.c - the issuer's modules without HTTP: the state (token
 * buckets: burst, refill, Retry-After, all-or-none, kept across a close
 * and reopen; a code's tries, expiry and single use; revocation and the
 * ids it yields; purge), the code sender (exit status, a command that
 * hangs is killed at its time limit, stdin content), the enrolment
 * credential's codec, and the API's answers (is_api_call) for a whole
 * enrolment and a token batch.
 */
#include "test.h"

#include "code_sender.h"
#include "issuer_api.h"
#include "issuer_request.h"
#include "issuer_state.h"

#include "anshim/bytes.h"
#include "anshim/enrolment.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/httpserver.h"
#include "anshim/token.h"

#include <jansson.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static struct is_state *open_state(const char *sub)
{
	char path[128], err[256];
	struct is_state *st = NULL;

	snprintf(path, sizeof path, "%s/%s", dir, sub);
	if (!CHECK_OK(is_state_open(&st, path, 16 << 20, err, sizeof err)))
		fprintf(stderr, "  %s\n", err);
	return st;
}

static void key_of(uint8_t key[IS_HASH_LEN], int n)
{
	memset(key, 0, IS_HASH_LEN);
	key[0] = (uint8_t)n;
}

static void test_buckets(void)
{
	const struct is_rate_rule rule = {3, 60}; /* 3 at once, 1 per minute */
	struct is_rate_take t = {IS_RATE_PHONE, {0}, &rule};
	enum is_rate_class which = 0;
	int64_t retry = 0, now = INT64_C(1767225600000);
	struct is_state *st = open_state("buckets");

	if (!st)
		return;
	key_of(t.key, 1);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(is_state_rate_take(st, &t, 1, now, &retry, &which), 0);
	CHECK_EQ_INT(is_state_rate_take(st, &t, 1, now, &retry, &which), 1);
	CHECK_EQ_INT(retry, 60);
	CHECK_EQ_INT(which, IS_RATE_PHONE);
	/* 30 s later half a request is back: still 30 s to wait. */
	CHECK_EQ_INT(is_state_rate_take(st, &t, 1, now + 30000, &retry, &which), 1);
	CHECK_EQ_INT(retry, 30);
	/* Kept across a close and reopen (a restart). */
	is_state_close(st);
	st = open_state("buckets");
	if (!st)
		return;
	CHECK_EQ_INT(is_state_rate_take(st, &t, 1, now + 30000, &retry, &which), 1);
	CHECK_EQ_INT(is_state_rate_take(st, &t, 1, now + 60000, &retry, &which), 0);
	CHECK_EQ_INT(is_state_rate_take(st, &t, 1, now + 60000, &retry, &which), 1);
	/* A clock that goes back earns nothing. */
	CHECK_EQ_INT(is_state_rate_take(st, &t, 1, now - 3600000, &retry, &which), 1);
	/* Long after: full again, not more than the burst. */
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(is_state_rate_take(st, &t, 1, now + 86400000, &retry, &which), 0);
	CHECK_EQ_INT(is_state_rate_take(st, &t, 1, now + 86400000, &retry, &which), 1);

	/* All or none: a full bucket is not charged when another is empty. */
	const struct is_rate_rule wide = {100, 1};
	struct is_rate_take two[2] = {{IS_RATE_ADDRESS, {0}, &wide}, t};
	key_of(two[0].key, 2);
	CHECK_EQ_INT(is_state_rate_take(st, two, 2, now + 86400000, &retry, &which), 1);
	CHECK_EQ_INT(which, IS_RATE_PHONE);
	for (int i = 0; i < 100; i++)
		if (!CHECK_EQ_INT(is_state_rate_take(st, &two[0], 1, now + 86400000, &retry,
						     &which), 0))
			break;
	uint64_t dropped = 0;
	CHECK_OK(is_state_purge(st, now / 1000 + 10 * 86400, &dropped));
	CHECK(dropped >= 2);
	is_state_close(st);
}

static void test_pending(void)
{
	struct is_state *st = open_state("pending");
	struct is_pending p, got;
	uint8_t id[IS_ID_LEN] = {1}, other[IS_ID_LEN] = {2}, right[32], wrong[32];
	unsigned left = 0;

	if (!st)
		return;
	memset(&p, 0, sizeof p);
	memset(right, 0xaa, sizeof right);
	memset(wrong, 0xbb, sizeof wrong);
	memcpy(p.code_hash, right, 32);
	p.expires_at = 1000;
	memset(p.capsule, 0xca, sizeof p.capsule);
	CHECK_OK(is_state_pending_put(st, id, &p));
	CHECK_ERR(is_state_pending_put(st, id, &p)); /* no overwrite */
	for (unsigned i = 1; i < 5; i++) {
		CHECK_EQ_INT(is_state_pending_try(st, id, wrong, 500, 5, &got, &left), IS_CODE_WRONG);
		CHECK_EQ_INT(left, 5 - i);
	}
	CHECK_EQ_INT(is_state_pending_try(st, id, wrong, 500, 5, &got, &left), IS_CODE_DEAD);
	CHECK_EQ_INT(is_state_pending_try(st, id, right, 500, 5, &got, &left), IS_CODE_UNKNOWN);

	CHECK_OK(is_state_pending_put(st, other, &p));
	CHECK_EQ_INT(is_state_pending_try(st, other, right, 1000, 5, &got, &left), IS_CODE_EXPIRED);
	CHECK_EQ_INT(is_state_pending_try(st, other, right, 500, 5, &got, &left), IS_CODE_UNKNOWN);

	CHECK_OK(is_state_pending_put(st, other, &p));
	CHECK_EQ_INT(is_state_pending_try(st, other, right, 999, 5, &got, &left), 0);
	CHECK_MEM(got.capsule, p.capsule, AS_CAPSULE_LEN);
	CHECK_EQ_INT(is_state_pending_try(st, other, right, 999, 5, &got, &left), IS_CODE_UNKNOWN);
	is_state_close(st);
}

static int count_id(void *ctx, const uint8_t id[IS_ID_LEN])
{
	(void)id;
	(*(int *)ctx)++;
	return 0;
}

/* Issue serials: 1, 2, ... never twice, across a reopening (a crash
 * skips the rest of the reserved block). */
static void test_serials(void)
{
	struct is_state *st = open_state("serials");
	uint64_t s = 0, prev = 0;

	if (!st)
		return;
	for (int i = 0; i < IS_SERIAL_BLOCK + 5; i++) {
		if (!CHECK_OK(is_state_serial_next(st, &s)))
			break;
		if (i == 0)
			CHECK(s == 1);
		else if (!CHECK(s == prev + 1))
			break;
		prev = s;
	}
	is_state_close(st);
	st = open_state("serials");
	if (!st)
		return;
	if (CHECK_OK(is_state_serial_next(st, &s)))
		CHECK(s > prev && s == 2 * IS_SERIAL_BLOCK + 1);
	is_state_close(st);
}

static void test_revocation(void)
{
	struct is_state *st = open_state("revoke");
	uint8_t phone[IS_HASH_LEN] = {7}, eid[IS_ID_LEN] = {9}, capsule[AS_CAPSULE_LEN] = {0};
	uint8_t ids[3][IS_ID_LEN] = {{1}, {2}, {3}};
	int n = 0, revoked = -1;

	if (!st)
		return;
	CHECK_OK(is_state_enrolment_add(st, eid, phone, capsule, 5000));
	CHECK_OK(is_state_tokens_record(st, eid, (const uint8_t (*)[IS_ID_LEN])ids, 2, 3000, NULL,
					NULL));
	CHECK_OK(is_state_tokens_record(st, eid, (const uint8_t (*)[IS_ID_LEN])ids + 2, 1, 1000,
					NULL, NULL));
	uint8_t unknown[IS_ID_LEN] = {0x55};
	CHECK_RC(is_state_tokens_record(st, unknown, (const uint8_t (*)[IS_ID_LEN])ids, 1, 3000,
					NULL, NULL), AS_E_NOT_FOUND);
	CHECK_OK(is_state_phone_revoked(st, phone, &revoked));
	CHECK_EQ_INT(revoked, 0);
	/* At 2000 the third token (expiring 1000) is left out. */
	CHECK_OK(is_state_revoke_phone(st, phone, 2000, count_id, &n));
	CHECK_EQ_INT(n, 3);
	CHECK_OK(is_state_phone_revoked(st, phone, &revoked));
	CHECK_EQ_INT(revoked, 1);
	CHECK_RC(is_state_tokens_record(st, eid, (const uint8_t (*)[IS_ID_LEN])ids, 1, 3000, NULL,
					NULL), AS_E_REVOKED);
	uint8_t eid2[IS_ID_LEN] = {10};
	CHECK_RC(is_state_enrolment_add(st, eid2, phone, capsule, 5000), AS_E_REVOKED);
	n = 0;
	CHECK_OK(is_state_revoked_ids(st, 2000, count_id, &n));
	CHECK_EQ_INT(n, 3);
	n = 0;
	CHECK_OK(is_state_revoked_ids(st, 4000, count_id, &n));
	CHECK_EQ_INT(n, 1); /* the enrolment, to 5000 */
	is_state_close(st);
}

static void write_script(const char *path, const char *text)
{
	CHECK_OK(as_file_write_atomic(path, text, strlen(text), 0755, 0));
}

static void test_sender(void)
{
	char ok[128], fail[128], hang[128], out[128], script[512], err[512];
	unsigned char *got = NULL;
	size_t len = 0;

	snprintf(ok, sizeof ok, "%s/ok.sh", dir);
	snprintf(fail, sizeof fail, "%s/fail.sh", dir);
	snprintf(hang, sizeof hang, "%s/hang.sh", dir);
	snprintf(out, sizeof out, "%s/sent", dir);
	snprintf(script, sizeof script, "#!/bin/sh\ncat > %s\n", out);
	write_script(ok, script);
	write_script(fail, "#!/bin/sh\ncat >/dev/null\nexit 3\n");
	write_script(hang, "#!/bin/sh\nexec sleep 30\n");
	CHECK_OK(is_sender_send(ok, "+821012345678", "code 123456", 5000, err, sizeof err));
	if (CHECK_OK(as_file_read_all(out, 4096, &got, &len)))
		CHECK_STR((char *)got, "+821012345678\ncode 123456\n");
	free(got);
	CHECK_RC(is_sender_send(fail, "+821012345678", "x", 5000, err, sizeof err), AS_E_FIELD);
	CHECK(strstr(err, "exit status 3") != NULL);
	CHECK(strstr(err, "821012345678") == NULL);
	double t0 = (double)time(NULL);
	CHECK_RC(is_sender_send(hang, "+821012345678", "x", 300, err, sizeof err), AS_E_FIELD);
	CHECK(strstr(err, "took longer than 300 ms") != NULL);
	CHECK((double)time(NULL) - t0 < 10);
	CHECK_ERR(is_sender_check("relative/path", err, sizeof err));
	CHECK_ERR(is_sender_check("/nonexistent/send-code", err, sizeof err));
	CHECK_OK(is_sender_check(ok, err, sizeof err));
}

static void test_enrolment_codec(void)
{
	struct as_enrolment e = {0}, d;
	uint8_t pk[32], sk[64], raw[AS_ENROLMENT_LEN + 1], other_pk[32], other_sk[64];

	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(other_pk, other_sk);
	memcpy(e.holder_pk, other_pk, 32);
	e.consent_version = 1;
	e.issued_at = 100;
	e.expires_at = 100;
	CHECK_RC(as_enrolment_sign(&e, sk), AS_E_FIELD);
	e.expires_at = 200;
	CHECK_OK(as_enrolment_sign(&e, sk));
	CHECK_EQ_INT(as_enrolment_encode(raw, sizeof raw, &e), AS_ENROLMENT_LEN);
	CHECK_RC(as_enrolment_encode(raw, AS_ENROLMENT_LEN - 1, &e), AS_E_OVERSIZE);
	CHECK_OK(as_enrolment_decode(&d, raw, AS_ENROLMENT_LEN));
	CHECK_OK(as_enrolment_verify(&d, pk));
	CHECK_RC(as_enrolment_verify(&d, other_pk), AS_E_ISSUER_SIG);
	CHECK_RC(as_enrolment_decode(&d, raw, AS_ENROLMENT_LEN - 1), AS_E_TRUNCATED);
	CHECK_RC(as_enrolment_decode(&d, raw, AS_ENROLMENT_LEN + 1), AS_E_TRAILING);
	raw[0] = 'X';
	CHECK_RC(as_enrolment_decode(&d, raw, AS_ENROLMENT_LEN), AS_E_MAGIC);
	raw[0] = 'E';
	raw[1] = 2;
	CHECK_RC(as_enrolment_decode(&d, raw, AS_ENROLMENT_LEN), AS_E_VERSION);
	raw[1] = 1;
	memset(raw + 34, 0, 4); /* consent version 0 */
	CHECK_RC(as_enrolment_decode(&d, raw, AS_ENROLMENT_LEN), AS_E_FIELD);
	/* Any changed byte breaks the signature. */
	as_enrolment_encode(raw, sizeof raw, &e);
	raw[10] ^= 1; /* the holder key */
	if (CHECK_OK(as_enrolment_decode(&d, raw, AS_ENROLMENT_LEN)))
		CHECK_RC(as_enrolment_verify(&d, pk), AS_E_ISSUER_SIG);
}

static void test_requests(void)
{
	struct is_start_request st;
	struct is_finish_request fin;
	const char *reason = NULL;
	char msg[512];
	static const char unknown[] = "{\"phone\":\"010-1234-5678\",\"holder_key\":\"00\","
				      "\"nickname\":\"x\"}";

	/* The message names the unknown member (read before the JSON is freed:
	 * under ASan this was a use after free). */
	CHECK_RC(is_request_parse_start(unknown, strlen(unknown), &st, &reason, msg, sizeof msg),
		 AS_E_FIELD);
	CHECK_STR(reason, "unknown-field");
	CHECK(strstr(msg, "\"nickname\"") != NULL);
	CHECK_RC(is_request_parse_start("{\"phone\":1}", 11, &st, &reason, msg, sizeof msg),
		 AS_E_FIELD);
	CHECK_STR(reason, "bad-field");
	CHECK_RC(is_request_parse_finish("{}", 2, &fin, &reason, msg, sizeof msg), AS_E_FIELD);
	CHECK_STR(reason, "missing-field");
	CHECK(strstr(msg, "enrolment, code, consent_version, consent_hash") != NULL);
	CHECK_RC(is_request_parse_finish("{\"a\":1,\"a\":2}", 13, &fin, &reason, msg, sizeof msg),
		 AS_E_FIELD);
	CHECK_STR(reason, "bad-json");
}

/* ---- the API without HTTP ------------------------------------------------ */

static int64_t fake_now_ms;
static int64_t fake_now(void) { return fake_now_ms; }

static int call(const struct is_api *api, const char *method, const char *path,
		const char *body, json_t **out)
{
	struct as_http_response resp = {.status = 500};
	struct is_call c = {method, path, "application/json", "192.0.2.1", body,
			    body ? strlen(body) : 0};

	is_api_call(api, &c, &resp);
	*out = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
	free(resp.body);
	return resp.status;
}

static void test_api(void)
{
	struct is_api api;
	uint8_t contact_sk[32], holder_pk[32], holder_sk[64];
	char sink[128], script[256], body[1024], hex[65];
	json_t *ans = NULL;

	memset(&api, 0, sizeof api);
	api.state = open_state("api");
	if (!api.state)
		return;
	crypto_sign_keypair(api.issuer_pk, api.issuer_sk);
	randombytes_buf(api.hash_key, sizeof api.hash_key);
	randombytes_buf(api.token_id_key, sizeof api.token_id_key);
	crypto_box_keypair(api.contact_pk, contact_sk);
	snprintf(sink, sizeof sink, "%s/sink.sh", dir);
	snprintf(script, sizeof script, "#!/bin/sh\nread p\nread m\necho \"$m\" > %s/code\n", dir);
	write_script(sink, script);
	api.code_command = sink;
	api.code_command_timeout = 5;
	api.code_lifetime = 300;
	api.code_tries = 5;
	api.consent_version = 2;
	api.consent_text = "text";
	crypto_hash_sha256(api.consent_hash, (const unsigned char *)"text", 4);
	api.consent_lifetime = 56 * 86400;
	api.token_lifetime = 7 * 86400;
	api.request_skew = 300;
	api.rate_phone = api.rate_holder = api.rate_address = (struct is_rate_rule){100, 1};
	api.now_ms = fake_now;
	fake_now_ms = INT64_C(1767225600000);

	crypto_sign_keypair(holder_pk, holder_sk);
	as_hex_encode(hex, holder_pk, 32);
	snprintf(body, sizeof body, "{\"phone\":\"010-1234-5678\",\"holder_key\":\"%s\"}", hex);
	CHECK_EQ_INT(call(&api, "POST", "/v1/enrol/start", body, &ans), 200);
	const char *eid = json_string_value(json_object_get(ans, "enrolment"));
	char enrolment[33] = "";
	if (CHECK(eid && strlen(eid) == 32))
		memcpy(enrolment, eid, 33);
	json_decref(ans);

	/* The code from the sink's file. */
	char path[128], code[7] = "";
	unsigned char *msg = NULL;
	size_t len = 0;
	snprintf(path, sizeof path, "%s/code", dir);
	if (CHECK_OK(as_file_read_all(path, 4096, &msg, &len))) {
		const char *p = strpbrk((char *)msg, "0123456789");
		if (CHECK(p && strspn(p, "0123456789") == 6))
			memcpy(code, p, 6);
	}
	free(msg);

	char chex[65];
	as_hex_encode(chex, api.consent_hash, 32);
	snprintf(body, sizeof body, "{\"enrolment\":\"%s\",\"code\":\"%s\",\"consent_version\":1,"
		 "\"consent_hash\":\"%s\"}", enrolment, code, chex);
	CHECK_EQ_INT(call(&api, "POST", "/v1/enrol/finish", body, &ans), 409);
	json_decref(ans);
	/* Five minutes later the code is dead. */
	fake_now_ms += 300 * 1000;
	snprintf(body, sizeof body, "{\"enrolment\":\"%s\",\"code\":\"%s\",\"consent_version\":2,"
		 "\"consent_hash\":\"%s\"}", enrolment, code, chex);
	CHECK_EQ_INT(call(&api, "POST", "/v1/enrol/finish", body, &ans), 410);
	CHECK_STR(json_string_value(json_object_get(ans, "error")), "expired");
	json_decref(ans);

	/* Again, in time. */
	snprintf(body, sizeof body, "{\"phone\":\"010-1234-5678\",\"holder_key\":\"%s\"}", hex);
	CHECK_EQ_INT(call(&api, "POST", "/v1/enrol/start", body, &ans), 200);
	eid = json_string_value(json_object_get(ans, "enrolment"));
	if (eid)
		memcpy(enrolment, eid, 33);
	json_decref(ans);
	if (CHECK_OK(as_file_read_all(path, 4096, &msg, &len))) {
		const char *p = strpbrk((char *)msg, "0123456789");
		if (p)
			memcpy(code, p, 6);
	}
	free(msg);
	snprintf(body, sizeof body, "{\"enrolment\":\"%s\",\"code\":\"%s\",\"consent_version\":2,"
		 "\"consent_hash\":\"%s\"}", enrolment, code, chex);
	CHECK_EQ_INT(call(&api, "POST", "/v1/enrol/finish", body, &ans), 200);
	const char *cred = json_string_value(json_object_get(ans, "enrolment_credential"));
	char cred64[256] = "";
	if (CHECK(cred != NULL))
		snprintf(cred64, sizeof cred64, "%s", cred);
	CHECK_EQ_INT(json_integer_value(json_object_get(ans, "expires_at")) -
		     json_integer_value(json_object_get(ans, "issued_at")), 56 * 86400);
	json_decref(ans);

	/* Tokens for 3 keys; a request signed by another key is refused. */
	uint8_t pks[3][32], sks[3][64], req[AS_TOKEN_REQUEST_MAX_LEN];
	char r64[1024], *big = malloc(8192);
	struct as_token_request rq;
	for (int i = 0; i < 3; i++)
		crypto_sign_keypair(pks[i], sks[i]);
	CHECK_OK(as_token_request_make(&rq, holder_pk, holder_sk, fake_now_ms / 1000, 3,
				       (const uint8_t (*)[32])pks));
	int rl = as_token_request_encode(req, sizeof req, &rq);
	sodium_bin2base64(r64, sizeof r64, req, (size_t)rl, sodium_base64_VARIANT_ORIGINAL);
	snprintf(big, 8192, "{\"enrolment_credential\":\"%s\",\"request\":\"%s\"}", cred64, r64);
	CHECK_EQ_INT(call(&api, "POST", "/v1/tokens", big, &ans), 200);
	CHECK_EQ_INT(json_integer_value(json_object_get(ans, "count")), 3);
	int64_t exp = json_integer_value(json_object_get(ans, "expires_at"));
	CHECK_EQ_INT(exp % 86400, 0);
	CHECK(exp > fake_now_ms / 1000 + 7 * 86400 - 86400 && exp <= fake_now_ms / 1000 + 8 * 86400);
	const char *b = json_string_value(json_object_get(ans, "batch"));
	uint8_t braw[AS_TOKEN_BATCH_MAX_LEN];
	size_t blen = 0;
	struct as_token_batch batch;
	if (CHECK(b != NULL) &&
	    CHECK_EQ_INT(sodium_base642bin(braw, sizeof braw, b, strlen(b), NULL, &blen, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0) &&
	    CHECK_OK(as_token_batch_decode(&batch, braw, blen))) {
		uint64_t serial0 = 0;

		CHECK_EQ_INT(batch.n, 3);
		for (int i = 0; i < 3 && i < batch.n; i++) {
			uint64_t serial;
			uint8_t index;

			CHECK_OK(as_token_verify_issuer(&batch.tokens[i], api.issuer_pk));
			CHECK_MEM(batch.tokens[i].token_pk, pks[i], 32);
			/* The cloud reads each id as (the issue's serial, i). */
			as_token_id_open(&serial, &index, batch.tokens[i].token_id,
					 api.token_id_key);
			if (i == 0)
				serial0 = serial;
			CHECK(serial == serial0 && serial >= 1 && index == i);
		}
	}
	json_decref(ans);
	uint8_t mallory_pk[32], mallory_sk[64];
	crypto_sign_keypair(mallory_pk, mallory_sk);
	CHECK_OK(as_token_request_make(&rq, mallory_pk, mallory_sk, fake_now_ms / 1000, 3,
				       (const uint8_t (*)[32])pks));
	rl = as_token_request_encode(req, sizeof req, &rq);
	sodium_bin2base64(r64, sizeof r64, req, (size_t)rl, sodium_base64_VARIANT_ORIGINAL);
	snprintf(big, 8192, "{\"enrolment_credential\":\"%s\",\"request\":\"%s\"}", cred64, r64);
	CHECK_EQ_INT(call(&api, "POST", "/v1/tokens", big, &ans), 401);
	CHECK_STR(json_string_value(json_object_get(ans, "error")), "bad-signature");
	json_decref(ans);
	/* Past the consent: refused. */
	fake_now_ms += (int64_t)57 * 86400 * 1000;
	CHECK_OK(as_token_request_make(&rq, holder_pk, holder_sk, fake_now_ms / 1000, 3,
				       (const uint8_t (*)[32])pks));
	rl = as_token_request_encode(req, sizeof req, &rq);
	sodium_bin2base64(r64, sizeof r64, req, (size_t)rl, sodium_base64_VARIANT_ORIGINAL);
	snprintf(big, 8192, "{\"enrolment_credential\":\"%s\",\"request\":\"%s\"}", cred64, r64);
	CHECK_EQ_INT(call(&api, "POST", "/v1/tokens", big, &ans), 403);
	CHECK_STR(json_string_value(json_object_get(ans, "error")), "consent-expired");
	json_decref(ans);
	free(big);

	CHECK_EQ_INT(call(&api, "GET", "/v1/nothing", NULL, &ans), 404);
	json_decref(ans);
	CHECK_EQ_INT(call(&api, "GET", "/v1/consent", NULL, &ans), 200);
	CHECK_STR(json_string_value(json_object_get(ans, "text")), "text");
	json_decref(ans);
	is_state_close(api.state);
	sodium_memzero(&api, sizeof api);
}

int main(void)
{
	if (sodium_init() < 0)
		return 2;
	test_tmpdir(dir);
	TEST_RUN(test_buckets);
	TEST_RUN(test_pending);
	TEST_RUN(test_serials);
	TEST_RUN(test_revocation);
	TEST_RUN(test_sender);
	TEST_RUN(test_enrolment_codec);
	TEST_RUN(test_requests);
	TEST_RUN(test_api);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return TEST_DONE();
}
