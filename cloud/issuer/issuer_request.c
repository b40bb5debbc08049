/*
 * issuer_request.c - strict reading of the issuer API's JSON bodies (see
 * issuer_request.h).
 *
 * How: jansson parses the body (JSON_REJECT_DUPLICATES, a top-level
 * object only, no NUL in strings); a table of the members each request
 * may have is checked first (unknown and missing members refused), then
 * each member's form.  Nothing is partly filled on error: out is zeroed.
 * Messages name the member, never echo its value (a phone must not reach
 * a log through an error).  Pure; any thread.
 */
#include "issuer_request.h"

#include "anshim/bytes.h"
#include "anshim/error.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PHONE_TEXT_MAX 64

struct member {
	const char *name;
	json_type type;         /* JSON_STRING or JSON_INTEGER */
};

static int fail(const char **reason, const char *word, char *msg, size_t msg_len,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(const char **reason, const char *word, char *msg, size_t msg_len,
		const char *fmt, ...)
{
	va_list ap;

	*reason = word;
	va_start(ap, fmt);
	vsnprintf(msg, msg_len, fmt, ap);
	va_end(ap);
	return AS_E_FIELD;
}

/* Parse body as one object whose members are exactly those of table. */
static int object_load(json_t **out, const char *body, size_t len,
		       const struct member *table, size_t n, const char **reason, char *msg,
		       size_t msg_len)
{
	json_error_t jerr;
	json_t *obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *key;
	json_t *value;

	*out = NULL;
	if (!obj) {
		*reason = "bad-json";
		snprintf(msg, msg_len, "the body is not valid JSON (line %d, column %d: %s); send "
			 "one JSON object", jerr.line, jerr.column, jerr.text);
		return AS_E_FIELD;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		return fail(reason, "bad-json", msg, msg_len, "%s", "the body must be a JSON "
			    "object");
	}
	json_object_foreach(obj, key, value) {
		size_t i;
		for (i = 0; i < n && strcmp(table[i].name, key) != 0; i++)
			;
		if (i == n) {
			/* key is obj's: use it before obj goes. */
			*reason = "unknown-field";
			snprintf(msg, msg_len, "unknown member \"%.40s\" (this request takes only the "
				 "documented members)", key);
			json_decref(obj);
			return AS_E_FIELD;
		}
		if (json_typeof(value) != table[i].type) {
			json_decref(obj);
			return fail(reason, "bad-field", msg, msg_len, table[i].type == JSON_STRING
				    ? "\"%s\" must be a string" : "\"%s\" must be an integer",
				    table[i].name);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(obj, table[i].name)) {
			char all[160] = "";
			for (size_t j = 0; j < n; j++)
				snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s",
					 j ? ", " : "", table[j].name);
			json_decref(obj);
			return fail(reason, "missing-field", msg, msg_len, "\"%s\" is missing (this "
				    "request takes: %s)", table[i].name, all);
		}
	*out = obj;
	return 0;
}

/* Exactly 2*n hex digits into out. */
static int hex_member(json_t *obj, const char *name, void *out, size_t n)
{
	const char *s = json_string_value(json_object_get(obj, name));

	if (!s || strlen(s) != 2 * n)
		return AS_E_HEX;
	return as_hex_decode(out, n, s);
}

int is_request_parse_start(const char *body, size_t len, struct is_start_request *out,
			   const char **reason, char *msg, size_t msg_len)
{
	static const struct member table[] = {
		{"phone", JSON_STRING}, {"holder_key", JSON_STRING},
	};
	json_t *obj;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = object_load(&obj, body, len, table, 2, reason, msg, msg_len)) != 0)
		return rc;
	const char *phone = json_string_value(json_object_get(obj, "phone"));
	if (strlen(phone) > PHONE_TEXT_MAX || as_phone_normalize(out->phone, phone) != 0) {
		rc = fail(reason, "bad-phone", msg, msg_len, "\"%s\" is not a phone number (give "
			  "a mobile number, e.g. 010-1234-5678 or +82 10 1234 5678)", "phone");
	} else if (hex_member(obj, "holder_key", out->holder_pk, AS_SIGN_PK_LEN) != 0) {
		rc = fail(reason, "bad-holder-key", msg, msg_len, "\"%s\" must be the holder's "
			  "Ed25519 public key: 64 hex digits (32 bytes)", "holder_key");
	} else if (crypto_core_ed25519_is_valid_point(out->holder_pk) != 1) {
		rc = fail(reason, "bad-holder-key", msg, msg_len, "\"%s\" is not a valid Ed25519 "
			  "public key", "holder_key");
	}
	json_decref(obj);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}

int is_request_parse_finish(const char *body, size_t len, struct is_finish_request *out,
			    const char **reason, char *msg, size_t msg_len)
{
	static const struct member table[] = {
		{"enrolment", JSON_STRING}, {"code", JSON_STRING},
		{"consent_version", JSON_INTEGER}, {"consent_hash", JSON_STRING},
	};
	json_t *obj;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = object_load(&obj, body, len, table, 4, reason, msg, msg_len)) != 0)
		return rc;
	const char *code = json_string_value(json_object_get(obj, "code"));
	json_int_t version = json_integer_value(json_object_get(obj, "consent_version"));
	if (hex_member(obj, "enrolment", out->enrolment, IS_ENROL_ID_LEN) != 0) {
		rc = fail(reason, "bad-enrolment", msg, msg_len, "\"%s\" must be the 32 hex "
			  "digits that /v1/enrol/start answered", "enrolment");
	} else if (strlen(code) != IS_CODE_DIGITS ||
		   strspn(code, "0123456789") != IS_CODE_DIGITS) {
		rc = fail(reason, "bad-code", msg, msg_len, "\"%s\" must be the 6 digits of the "
			  "text message", "code");
	} else if (version < 1 || version > UINT32_MAX) {
		rc = fail(reason, "bad-consent", msg, msg_len, "\"%s\" must be the version of the "
			  "consent text (GET /v1/consent)", "consent_version");
	} else if (hex_member(obj, "consent_hash", out->consent_hash, IS_CONSENT_HASH_LEN) != 0) {
		rc = fail(reason, "bad-consent", msg, msg_len, "\"%s\" must be the 64 hex digits "
			  "of the consent text's hash (GET /v1/consent)", "consent_hash");
	} else {
		memcpy(out->code, code, IS_CODE_DIGITS + 1);
		out->consent_version = (uint32_t)version;
	}
	json_decref(obj);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}

/* A base64 member into out (at most cap bytes): 0 or -1. */
static int b64_member(json_t *obj, const char *name, uint8_t *out, size_t cap, size_t *len)
{
	const char *text = json_string_value(json_object_get(obj, name));

	*len = 0;
	return sodium_base642bin(out, cap, text, strlen(text), NULL, len, NULL,
				 sodium_base64_VARIANT_ORIGINAL) == 0 ? 0 : -1;
}

int is_request_parse_tokens(const char *body, size_t len, struct is_tokens_body *out,
			    const char **reason, char *msg, size_t msg_len)
{
	static const struct member table[] = {
		{"enrolment_credential", JSON_STRING}, {"request", JSON_STRING},
	};
	uint8_t raw[AS_ENROLMENT_LEN + 1];
	size_t raw_len = 0;
	json_t *obj;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = object_load(&obj, body, len, table, 2, reason, msg, msg_len)) != 0)
		return rc;
	if (b64_member(obj, "enrolment_credential", raw, sizeof raw, &raw_len) != 0 ||
	    (rc = as_enrolment_decode(&out->enrolment, raw, raw_len)) != 0) {
		rc = fail(reason, "bad-enrolment", msg, msg_len, "\"%s\" must be the enrolment "
			  "credential in base64, as /v1/enrol/finish answered it",
			  "enrolment_credential");
	} else if (b64_member(obj, "request", out->request, sizeof out->request,
			      &out->request_len) != 0 || out->request_len == 0) {
		rc = fail(reason, "bad-request", msg, msg_len, "\"%s\" must be the token request "
			  "in base64 (at most 64 token keys)", "request");
	}
	json_decref(obj);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}
