/*
 * issuer_request.h - the issuer API's request bodies (JSON), read strictly: an
 * object with exactly the documented members, each of the right type and
 * form; anything else is refused with a short reason word (for programs)
 * and a sentence naming the member and the fix (for people).  The bodies
 * are in docs/ISSUER.md.
 *
 * Pure functions over borrowed bytes (the body need not be
 * NUL-terminated); any thread.  Fuzzed: tests/fuzz/fuzz_issuer_request.c.
 */
#ifndef IS_REQUEST_H
#define IS_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/enrolment.h"
#include "anshim/identity.h"
#include "anshim/phone.h"

#define IS_CODE_DIGITS 6
#define IS_ENROL_ID_LEN 16
#define IS_CONSENT_HASH_LEN 32

/* POST /v1/enrol/start {"phone": "...", "holder_key": "<64 hex>"} */
struct is_start_request {
	char phone[AS_PHONE_MAX + 1];          /* normalized */
	uint8_t holder_pk[AS_SIGN_PK_LEN];
};

/* POST /v1/enrol/finish {"enrolment": "<32 hex>", "code": "123456",
 *  "consent_version": N, "consent_hash": "<64 hex>"} */
struct is_finish_request {
	uint8_t enrolment[IS_ENROL_ID_LEN];
	char code[IS_CODE_DIGITS + 1];
	uint32_t consent_version;
	uint8_t consent_hash[IS_CONSENT_HASH_LEN];
};

/* POST /v1/tokens {"enrolment_credential": "<base64>",
 *  "request": "<base64 of the holder-signed token request>"} */
#define IS_TOKEN_REQUEST_RAW_MAX 4096
struct is_tokens_body {
	struct as_enrolment enrolment;
	uint8_t request[IS_TOKEN_REQUEST_RAW_MAX];
	size_t request_len;
};

/* Each returns 0, or AS_E_FIELD with *reason set to a static word
 * ("bad-json", "bad-phone", "bad-holder-key", "bad-field", ...) and msg
 * (msg_len bytes) the sentence. */
int is_request_parse_start(const char *body, size_t len, struct is_start_request *out,
			   const char **reason, char *msg, size_t msg_len);
int is_request_parse_finish(const char *body, size_t len, struct is_finish_request *out,
			    const char **reason, char *msg, size_t msg_len);
int is_request_parse_tokens(const char *body, size_t len, struct is_tokens_body *out,
			    const char **reason, char *msg, size_t msg_len);

#endif
