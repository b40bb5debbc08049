/*
 * issuer_api.h - the issuer's HTTP API (docs/ISSUER.md): enrolment by a one-time
 * code sent to a phone, the enrolment credential, batches of visit tokens,
 * and the consent text.  One handler for the HTTP server module
 * (anshim/httpserver.h); every route answers JSON.
 *
 * Threads: is_api_handle runs on the server's pool threads, several at
 * once.  struct is_api is filled before the server starts and read-only
 * while it runs; the state (state.h) does its own locking.
 */
#ifndef IS_API_H
#define IS_API_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/httpserver.h"
#include "anshim/identity.h"
#include "anshim/token.h"
#include "issuer_state.h"

#define IS_CONSENT_TEXT_MAX (64 * 1024)

struct cl_capsulefeed;

struct is_api {
	struct is_state *state;
	struct cl_capsulefeed *feed;        /* the token capsules' outbox */
	uint8_t issuer_sk[AS_SIGN_SK_LEN];
	uint8_t issuer_pk[AS_SIGN_PK_LEN];
	uint8_t hash_key[32];               /* keyed hashes of phones, addresses, codes */
	uint8_t token_id_key[AS_TOKEN_ID_KEY_LEN]; /* token ids the cloud reads */
	uint8_t contact_pk[AS_BOX_PK_LEN];  /* the authority's: capsules */
	const char *code_command;
	int64_t code_command_timeout;       /* seconds */
	int64_t code_lifetime;              /* seconds */
	unsigned code_tries;                /* wrong codes that kill an enrolment */
	int64_t consent_lifetime;           /* seconds: the enrolment's expiry */
	int64_t token_lifetime;             /* seconds */
	int64_t request_skew;               /* seconds a tokens request may be off */
	uint32_t consent_version;
	uint8_t consent_hash[32];           /* SHA-256 of consent_text */
	const char *consent_text;           /* NUL-terminated UTF-8 */
	struct is_rate_rule rate_phone, rate_holder, rate_address;
	int64_t (*now_ms)(void);            /* unix milliseconds; NULL: the real clock */
};

/* One request, as the handler sees it (all borrowed for the call). */
struct is_call {
	const char *method;         /* "GET", "POST", ... */
	const char *path;           /* "/v1/tokens" */
	const char *content_type;   /* NULL: none sent */
	const char *client;         /* the client's address, for its rate limit */
	const char *body;
	size_t body_len;
};

/* Answer call into resp (zeroed by the caller, as the HTTP server does;
 * resp->body is malloc'd and the caller's).  The handler's whole work
 * without HTTP: for tests and benchmarks.  Any thread. */
void is_api_call(const struct is_api *api, const struct is_call *call,
		 struct as_http_response *resp);

/* The request handler (as_http_handler); ctx is a struct is_api. */
void is_api_handle(void *ctx, const struct as_http_request *req,
		   struct as_http_response *resp);

/* The keyed hash (BLAKE2b-256 under api->hash_key) of a phone, holder key
 * or address, with a domain tag: what the state stores in their place. */
void is_api_hash(const struct is_api *api, const char *tag, const void *data, size_t len,
		 uint8_t out[32]);

#endif
