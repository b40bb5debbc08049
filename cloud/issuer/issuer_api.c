/*
 * issuer_api.c - the issuer's routes (see issuer_api.h and docs/ISSUER.md).
 *
 *   GET  /v1/consent        the consent text, its version and SHA-256
 *   GET  /v1/issuer         the issuer's public key (hex)
 *   POST /v1/enrol/start    phone + holder key -> enrolment id; code sent
 *   POST /v1/enrol/finish   enrolment id + code + consent -> enrolment
 *                           credential
 *   POST /v1/tokens         holder-signed tokens request -> visit tokens
 *
 * Order of checks in every POST: the body's form (400, nothing counted),
 * then the rate limits (429 + Retry-After, nothing counted unless every
 * bucket had room), then the request's meaning.  A start stores the
 * pending enrolment before the code is sent, and removes it if sending
 * fails, so a code a person received always works.  The code is drawn
 * uniformly (randombytes_uniform), kept only as a keyed hash bound to its
 * enrolment id, and compared in constant time by the state.
 *
 * Never logged: phones, codes, keys, addresses, bodies.  Each request is
 * logged at info as method, path, status and reason word.
 *
 * Threads: the HTTP server's pool, several at once; struct is_api is
 * read-only here.
 */
#include "issuer_api.h"

#include "issuer_request.h"
#include "capsulefeed.h"
#include "code_sender.h"

#include "anshim/bytes.h"
#include "anshim/capsule.h"
#include "anshim/enrolment.h"
#include "anshim/error.h"
#include "anshim/log.h"
#include "anshim/token.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MSG_MAX 512

static int64_t real_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t api_now_ms(const struct is_api *api)
{
	return api->now_ms ? api->now_ms() : real_now_ms();
}

void is_api_hash(const struct is_api *api, const char *tag, const void *data, size_t len,
		 uint8_t out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, api->hash_key, sizeof api->hash_key, 32);
	crypto_generichash_update(&st, (const unsigned char *)tag, strlen(tag) + 1);
	crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, out, 32);
}

/* ---- answers ------------------------------------------------------------ */

/* Send obj (consumed) as the JSON body with status. */
static void reply_json(struct as_http_response *resp, int status, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	if (!text) {
		as_http_response_text(resp, 500, "application/json",
				      "{\"error\":\"internal\",\"message\":\"out of memory\"}");
		return;
	}
	resp->status = status;
	resp->body = text;
	resp->body_len = strlen(text);
	resp->content_type = "application/json";
}

static void reply_error(struct as_http_response *resp, int status, const char *word,
			const char *message)
{
	reply_json(resp, status, json_pack("{s:s, s:s}", "error", word, "message", message));
}

static void reply_limited(struct as_http_response *resp, int64_t retry_after,
			  enum is_rate_class which)
{
	static const char *const what[] = {"", "this phone number", "this wallet",
					   "your network address"};
	char value[32], msg[MSG_MAX];

	snprintf(value, sizeof value, "%lld", (long long)retry_after);
	snprintf(msg, sizeof msg, "too many requests from %s: try again in %lld seconds",
		 what[which >= 1 && which <= 3 ? which : 0], (long long)retry_after);
	reply_json(resp, 429, json_pack("{s:s, s:s, s:I}", "error", "rate-limited", "message",
					msg, "retry_after", (json_int_t)retry_after));
	as_http_response_header(resp, "Retry-After", value);
}

static void reply_store_error(struct as_http_response *resp, int rc)
{
	as_log(AS_LOG_ERR, "issuer state: %s", as_strerror(rc));
	reply_error(resp, 503, "unavailable", "the issuer cannot record this now; try again "
		    "in a minute");
}

static void b64(char *out, size_t cap, const uint8_t *bin, size_t len)
{
	sodium_bin2base64(out, cap, bin, len, sodium_base64_VARIANT_ORIGINAL);
}

/* ---- rate limits -------------------------------------------------------- */

static void take_init(struct is_rate_take *t, const struct is_api *api, enum is_rate_class cls,
		      const char *tag, const void *data, size_t len)
{
	t->cls = cls;
	t->rule = cls == IS_RATE_PHONE ? &api->rate_phone
		: cls == IS_RATE_HOLDER ? &api->rate_holder : &api->rate_address;
	is_api_hash(api, tag, data, len, t->key);
}

/* 0: go on; 1: answered (429 or 503). */
static int rate_check(const struct is_api *api, const struct is_rate_take *takes, size_t n,
		      struct as_http_response *resp)
{
	enum is_rate_class which = IS_RATE_ADDRESS;
	int64_t retry = 0;
	int rc = is_state_rate_take(api->state, takes, n, api_now_ms(api), &retry, &which);

	if (rc == 1) {
		reply_limited(resp, retry, which);
		return 1;
	}
	if (rc) {
		reply_store_error(resp, rc);
		return 1;
	}
	return 0;
}

/* ---- routes ------------------------------------------------------------- */

static void code_hash(const struct is_api *api, const uint8_t id[IS_ID_LEN], const char *code,
		      uint8_t out[IS_HASH_LEN])
{
	uint8_t buf[IS_ID_LEN + IS_CODE_DIGITS];

	memcpy(buf, id, IS_ID_LEN);
	memcpy(buf + IS_ID_LEN, code, IS_CODE_DIGITS);
	is_api_hash(api, "code", buf, sizeof buf, out);
	sodium_memzero(buf, sizeof buf);
}

static void enrol_start(const struct is_api *api, const struct is_call *call,
			struct as_http_response *resp)
{
	struct is_start_request in;
	struct is_rate_take takes[3];
	struct is_pending p;
	struct as_contact contact;
	uint8_t id[IS_ID_LEN];
	char msg[MSG_MAX], code[IS_CODE_DIGITS + 1], text[256], id_hex[2 * IS_ID_LEN + 1];
	const char *reason, *client = call->client;
	size_t len = call->body_len;
	const char *body = call->body;
	int rc;

	if (is_request_parse_start(body, len, &in, &reason, msg, sizeof msg)) {
		reply_error(resp, 400, reason, msg);
		return;
	}
	take_init(&takes[0], api, IS_RATE_PHONE, "phone", in.phone, strlen(in.phone));
	take_init(&takes[1], api, IS_RATE_HOLDER, "holder", in.holder_pk, AS_SIGN_PK_LEN);
	take_init(&takes[2], api, IS_RATE_ADDRESS, "address", client, strlen(client));
	if (rate_check(api, takes, 3, resp))
		goto out;

	memset(&p, 0, sizeof p);
	is_api_hash(api, "phone", in.phone, strlen(in.phone), p.phone_hash);
	int revoked = 0;
	if ((rc = is_state_phone_revoked(api->state, p.phone_hash, &revoked)) != 0) {
		reply_store_error(resp, rc);
		goto out;
	}
	if (revoked) {
		reply_error(resp, 403, "revoked", "this phone number can no longer enrol; ask the "
			    "health authority");
		goto out;
	}
	memset(&contact, 0, sizeof contact);
	memcpy(contact.phone, in.phone, sizeof contact.phone);
	if (as_capsule_seal(p.capsule, &contact, api->contact_pk) != 0) {
		sodium_memzero(&contact, sizeof contact);
		reply_error(resp, 500, "internal", "cannot seal the contact capsule");
		goto out;
	}
	sodium_memzero(&contact, sizeof contact);
	memcpy(p.holder_pk, in.holder_pk, AS_SIGN_PK_LEN);
	randombytes_buf(id, sizeof id);
	snprintf(code, sizeof code, "%06u", (unsigned)randombytes_uniform(1000000));
	code_hash(api, id, code, p.code_hash);
	p.expires_at = api_now_ms(api) / 1000 + api->code_lifetime;
	if ((rc = is_state_pending_put(api->state, id, &p)) != 0) {
		reply_store_error(resp, rc);
		goto out;
	}
	snprintf(text, sizeof text, "[Anshim] 인증번호 %s (%lld분 안에 입력하세요). Your Anshim "
		 "code is %s; it expires in %lld minutes.", code,
		 (long long)((api->code_lifetime + 59) / 60), code,
		 (long long)((api->code_lifetime + 59) / 60));
	rc = is_sender_send(api->code_command, in.phone, text, api->code_command_timeout * 1000,
			    msg, sizeof msg);
	sodium_memzero(text, sizeof text);
	sodium_memzero(code, sizeof code);
	if (rc) {
		as_log(AS_LOG_ERR, "enrol/start: the code was not sent: %s", msg);
		is_state_pending_delete(api->state, id);
		reply_error(resp, 502, "not-sent", "the code could not be sent to this phone now; "
			    "try again in a few minutes");
		goto out;
	}
	as_hex_encode(id_hex, id, sizeof id);
	reply_json(resp, 200, json_pack("{s:s, s:I, s:i}", "enrolment", id_hex, "expires_in",
					(json_int_t)api->code_lifetime, "code_digits",
					IS_CODE_DIGITS));
out:
	sodium_memzero(&in, sizeof in);
}

static void enrol_finish(const struct is_api *api, const struct is_call *call,
			 struct as_http_response *resp)
{
	struct is_finish_request in;
	struct is_rate_take take;
	struct is_pending p;
	struct as_enrolment e;
	uint8_t hash[IS_HASH_LEN], eid[AS_HOLDER_ID_LEN], raw[AS_ENROLMENT_LEN];
	char msg[MSG_MAX], cred_b64[sodium_base64_ENCODED_LEN(AS_ENROLMENT_LEN,
		sodium_base64_VARIANT_ORIGINAL)];
	const char *reason, *client = call->client;
	size_t len = call->body_len;
	const char *body = call->body;
	unsigned left = 0;
	int rc;

	if (is_request_parse_finish(body, len, &in, &reason, msg, sizeof msg)) {
		reply_error(resp, 400, reason, msg);
		return;
	}
	take_init(&take, api, IS_RATE_ADDRESS, "address", client, strlen(client));
	if (rate_check(api, &take, 1, resp))
		goto out;
	/* Consent first: a wallet showing an old text must not burn a try. */
	if (in.consent_version != api->consent_version ||
	    sodium_memcmp(in.consent_hash, api->consent_hash, 32) != 0) {
		snprintf(msg, sizeof msg, "the consent text has changed (now version %u): show "
			 "the current one (GET /v1/consent) and send its version and hash",
			 (unsigned)api->consent_version);
		reply_error(resp, 409, "consent-changed", msg);
		goto out;
	}
	code_hash(api, in.enrolment, in.code, hash);
	rc = is_state_pending_try(api->state, in.enrolment, hash, api_now_ms(api) / 1000,
				  api->code_tries, &p, &left);
	switch (rc) {
	case 0: break;
	case IS_CODE_WRONG:
		snprintf(msg, sizeof msg, "wrong code: %u more tr%s before this enrolment ends",
			 left, left == 1 ? "y" : "ies");
		reply_json(resp, 401, json_pack("{s:s, s:s, s:i}", "error", "wrong-code",
						"message", msg, "tries_left", (int)left));
		goto out;
	case IS_CODE_DEAD:
		reply_error(resp, 410, "too-many-tries", "too many wrong codes: this code no "
			    "longer works; start again to get a new one");
		goto out;
	case IS_CODE_EXPIRED:
		reply_error(resp, 410, "expired", "the code has expired; start again to get a "
			    "new one");
		goto out;
	case IS_CODE_UNKNOWN:
		reply_error(resp, 410, "unknown-enrolment", "no enrolment waits for this code "
			    "(it was used already, or never started); start again");
		goto out;
	default:
		reply_store_error(resp, rc);
		goto out;
	}
	memset(&e, 0, sizeof e);
	memcpy(e.holder_pk, p.holder_pk, AS_SIGN_PK_LEN);
	e.consent_version = api->consent_version;
	e.issued_at = api_now_ms(api) / 1000;
	e.expires_at = e.issued_at + api->consent_lifetime;
	if (as_enrolment_sign(&e, api->issuer_sk) != 0 ||
	    as_enrolment_encode(raw, sizeof raw, &e) != AS_ENROLMENT_LEN) {
		reply_error(resp, 500, "internal", "cannot sign the enrolment");
		goto out;
	}
	as_enrolment_id(eid, &e);
	rc = is_state_enrolment_add(api->state, eid, p.phone_hash, p.capsule, e.expires_at);
	if (rc == AS_E_REVOKED) {
		reply_error(resp, 403, "revoked", "this phone number can no longer enrol; ask the "
			    "health authority");
		goto out;
	}
	if (rc) {
		reply_store_error(resp, rc);
		goto out;
	}
	b64(cred_b64, sizeof cred_b64, raw, sizeof raw);
	reply_json(resp, 200, json_pack("{s:s, s:i, s:I, s:I}", "enrolment_credential", cred_b64,
					"consent_version", (int)e.consent_version, "issued_at",
					(json_int_t)e.issued_at, "expires_at",
					(json_int_t)e.expires_at));
out:
	sodium_memzero(&in, sizeof in);
	sodium_memzero(&p, sizeof p);
}

/* The expiry of a batch issued at now: token_lifetime on, rounded up to
 * the day (every token of that day shares it), but never past the consent
 * of the enrolment: then rounded down to the day, since an expiry of its
 * own would link every token of that person.  0: the consent ends before
 * the next day boundary (renew it first). */
static int64_t batch_expiry(const struct is_api *api, int64_t now, int64_t consent_expires)
{
	int64_t expires_at = as_token_expiry(now, api->token_lifetime);

	if (expires_at > consent_expires)
		expires_at = consent_expires - consent_expires % AS_TOKEN_EXPIRY_GRAIN;
	return expires_at > now ? expires_at : 0;
}

/* The capsules of a batch go to the outbox in the transaction that
 * records its ids (is_state_tokens_record's in_txn). */
struct feed_append {
	const struct is_api *api;
	uint64_t serial;
	unsigned count;
	int64_t expires_at;
	char err[256];
};

static int feed_in_txn(void *ctx, MDB_txn *txn, const uint8_t capsule[AS_CAPSULE_LEN])
{
	struct feed_append *fa = ctx;

	return cl_capsulefeed_append(fa->api->feed, txn, fa->api->contact_pk, capsule, fa->serial,
				     fa->count, fa->expires_at, NULL, fa->err, sizeof fa->err);
}

static void tokens(const struct is_api *api, const struct is_call *call,
		   struct as_http_response *resp)
{
	struct is_tokens_body *in = calloc(1, sizeof *in);
	struct as_token_request *rq = calloc(1, sizeof *rq);
	struct as_token_batch *batch = calloc(1, sizeof *batch);
	uint8_t *raw = malloc(AS_TOKEN_BATCH_MAX_LEN);
	char *text = malloc(sodium_base64_ENCODED_LEN(AS_TOKEN_BATCH_MAX_LEN,
						      sodium_base64_VARIANT_ORIGINAL));
	struct is_rate_take takes[2];
	uint8_t eid[AS_HOLDER_ID_LEN], ids[AS_TOKEN_BATCH_MAX][IS_ID_LEN];
	char msg[MSG_MAX];
	const char *reason, *client = call->client;
	size_t len = call->body_len;
	const char *body = call->body;
	int64_t now, expires_at;
	uint64_t serial;
	int rc;

	if (!in || !rq || !batch || !raw || !text) {
		reply_error(resp, 500, "internal", "out of memory");
		goto out;
	}
	if (is_request_parse_tokens(body, len, in, &reason, msg, sizeof msg)) {
		reply_error(resp, 400, reason, msg);
		goto out;
	}
	if ((rc = as_token_request_decode(rq, in->request, in->request_len)) != 0) {
		snprintf(msg, sizeof msg, "\"request\" is not a token request: %s (make it with "
			 "the holder key of the enrolment, at most %d token keys)", as_strerror(rc),
			 AS_TOKEN_BATCH_MAX);
		reply_error(resp, 400, "bad-request", msg);
		goto out;
	}
	const struct as_enrolment *e = &in->enrolment;
	take_init(&takes[0], api, IS_RATE_HOLDER, "holder", e->holder_pk, AS_SIGN_PK_LEN);
	take_init(&takes[1], api, IS_RATE_ADDRESS, "address", client, strlen(client));
	if (rate_check(api, takes, 2, resp))
		goto out;
	now = api_now_ms(api) / 1000;
	if (as_enrolment_verify(e, api->issuer_pk) != 0) {
		reply_error(resp, 401, "bad-enrolment", "the enrolment credential was not issued "
			    "by this issuer; enrol again");
		goto out;
	}
	if (sodium_memcmp(rq->holder_pk, e->holder_pk, AS_SIGN_PK_LEN) != 0 ||
	    as_token_request_verify(rq) != 0) {
		reply_error(resp, 401, "bad-signature", "the token request is not signed by the "
			    "enrolment's holder key");
		goto out;
	}
	if (now >= e->expires_at) {
		reply_error(resp, 403, "consent-expired", "the consent has expired: read the "
			    "consent text and enrol again to renew it");
		goto out;
	}
	if (e->consent_version != api->consent_version) {
		reply_error(resp, 403, "consent-changed", "the consent text has changed: read it "
			    "and enrol again to consent to the new version");
		goto out;
	}
	if (rq->created_at < now - api->request_skew || rq->created_at > now + api->request_skew) {
		snprintf(msg, sizeof msg, "the request's time is more than %lld seconds from the "
			 "issuer's clock: set the phone's clock and try again",
			 (long long)api->request_skew);
		reply_error(resp, 400, "stale-request", msg);
		goto out;
	}
	if ((expires_at = batch_expiry(api, now, e->expires_at)) == 0) {
		reply_error(resp, 403, "consent-expired", "the consent ends today: read the "
			    "consent text and enrol again to renew it");
		goto out;
	}
	/* One issue, one serial: the token ids carry it (and each its index),
	 * readable by the cloud alone, which so keeps one row per issue. */
	if ((rc = is_state_serial_next(api->state, &serial)) != 0) {
		reply_store_error(resp, rc);
		goto out;
	}
	batch->n = rq->n;
	for (unsigned i = 0; i < rq->n; i++) {
		uint8_t id[AS_TOKEN_ID_LEN];

		if (as_token_id_derive(id, api->token_id_key, serial, (uint8_t)i) != 0 ||
		    as_token_mint(&batch->tokens[i], id, rq->token_pks[i], expires_at,
				  api->issuer_pk, api->issuer_sk) != 0) {
			reply_error(resp, 500, "internal", "cannot mint a token");
			goto out;
		}
		memcpy(ids[i], batch->tokens[i].token_id, IS_ID_LEN);
	}
	as_enrolment_id(eid, e);
	struct feed_append fa = {api, serial, rq->n, expires_at, ""};
	rc = is_state_tokens_record(api->state, eid, (const uint8_t (*)[IS_ID_LEN])ids, rq->n,
				    expires_at, api->feed ? feed_in_txn : NULL, &fa);
	if (rc == AS_E_REVOKED) {
		reply_error(resp, 403, "revoked", "this enrolment has been revoked by the health "
			    "authority");
		goto out;
	}
	if (rc == AS_E_NOT_FOUND) {
		reply_error(resp, 403, "unknown-enrolment", "this issuer no longer knows the "
			    "enrolment; enrol again");
		goto out;
	}
	if (rc) {
		if (fa.err[0])
			as_log(AS_LOG_ERR, "capsule feed: %s", fa.err);
		reply_store_error(resp, rc);
		goto out;
	}
	if (api->feed)
		cl_capsulefeed_kick(api->feed);
	rc = as_token_batch_encode(raw, AS_TOKEN_BATCH_MAX_LEN, batch);
	if (rc < 0) {
		reply_error(resp, 500, "internal", "cannot encode the batch");
		goto out;
	}
	b64(text, sodium_base64_ENCODED_LEN(AS_TOKEN_BATCH_MAX_LEN,
					    sodium_base64_VARIANT_ORIGINAL), raw, (size_t)rc);
	reply_json(resp, 200, json_pack("{s:s, s:i, s:I}", "batch", text, "count", (int)rq->n,
					"expires_at", (json_int_t)expires_at));
out:
	free(text);
	free(raw);
	free(batch);
	free(rq);
	free(in);
}

static void consent(const struct is_api *api, struct as_http_response *resp)
{
	char hash_hex[65];

	as_hex_encode(hash_hex, api->consent_hash, 32);
	reply_json(resp, 200, json_pack("{s:i, s:s, s:s, s:I}", "version",
					(int)api->consent_version, "hash", hash_hex, "text",
					api->consent_text, "valid_for",
					(json_int_t)api->consent_lifetime));
}

static void issuer(const struct is_api *api, struct as_http_response *resp)
{
	char pk_hex[2 * AS_SIGN_PK_LEN + 1];

	as_hex_encode(pk_hex, api->issuer_pk, AS_SIGN_PK_LEN);
	reply_json(resp, 200, json_pack("{s:s}", "issuer_key", pk_hex));
}

void is_api_call(const struct is_api *api, const struct is_call *call,
		 struct as_http_response *resp)
{
	const char *method = call->method, *path = call->path, *type = call->content_type;
	int post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
	enum { R_NONE, R_START, R_FINISH, R_TOKENS, R_CONSENT, R_ISSUER } route = R_NONE;
	int want_post = 1;

	if (strcmp(path, "/v1/enrol/start") == 0)
		route = R_START;
	else if (strcmp(path, "/v1/enrol/finish") == 0)
		route = R_FINISH;
	else if (strcmp(path, "/v1/tokens") == 0)
		route = R_TOKENS;
	else if (strcmp(path, "/v1/consent") == 0)
		route = R_CONSENT, want_post = 0;
	else if (strcmp(path, "/v1/issuer") == 0)
		route = R_ISSUER, want_post = 0;

	if (route == R_NONE) {
		reply_error(resp, 404, "not-found", "no such API path (see docs/ISSUER.md)");
	} else if (want_post ? !post : !get) {
		reply_error(resp, 405, "method", want_post ? "use POST with a JSON body"
							  : "use GET");
		as_http_response_header(resp, "Allow", want_post ? "POST" : "GET");
	} else if (post && type && strncasecmp(type, "application/json", 16) != 0) {
		reply_error(resp, 415, "content-type", "send the body as application/json");
	} else {
		switch (route) {
		case R_START: enrol_start(api, call, resp); break;
		case R_FINISH: enrol_finish(api, call, resp); break;
		case R_TOKENS: tokens(api, call, resp); break;
		case R_CONSENT: consent(api, resp); break;
		default: issuer(api, resp); break;
		}
	}
}

void is_api_handle(void *ctx, const struct as_http_request *req,
		   struct as_http_response *resp)
{
	const struct is_api *api = ctx;
	struct is_call call = {
		.method = as_http_request_method(req),
		.path = as_http_request_path(req),
		.content_type = as_http_request_header(req, "Content-Type"),
		.client = as_http_request_client(req),
	};

	call.body = as_http_request_body(req, &call.body_len);
	is_api_call(api, &call, resp);
	as_log(AS_LOG_INFO, "%s %s: %d", call.method, call.path, resp->status);
}
