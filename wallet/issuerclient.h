/*
 * issuerclient.h - the wallet's HTTPS client of the issuer's JSON API
 * (docs/ISSUER.md), over libcurl: one request at a time, TLS verified
 * against the system's CAs or a given CA file, a time limit, bounded
 * answers.  Only https:// URLs, except http:// to a loopback address
 * (127.0.0.1, ::1, localhost: a test or a local TLS proxy).
 *
 * Single-threaded CLI use.
 */
#ifndef WALLET_ISSUERCLIENT_H
#define WALLET_ISSUERCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define WL_ISSUER_ANSWER_MAX (256 * 1024)

struct wl_issuer {
	const char *url;        /* base, e.g. https://issuer.example.kr (borrowed) */
	const char *ca_file;    /* NULL: the system's CAs (borrowed) */
	int64_t timeout;        /* seconds for a whole request */
};

/* An answer: the HTTP status and the JSON body (an object; owned, free
 * with json_decref), or NULL when the body is not a JSON object. */
struct wl_issuer_answer {
	long status;
	json_t *body;
};

/* Is url one the client takes (https://, or http:// to loopback)?  0, or
 * AS_E_USAGE with err saying why. */
int wl_issuer_url_check(const char *url, char *err, size_t err_len);

/* GET base+path, or POST base+path with body (a JSON object, borrowed,
 * sent as application/json) when body is not NULL.  0 with *ans filled
 * (whatever the status), or an error with err saying what failed (the
 * connection, TLS, the time limit, an answer too large or not JSON). */
int wl_issuer_call(const struct wl_issuer *is, const char *path, const json_t *body,
		   struct wl_issuer_answer *ans, char *err, size_t err_len);

/* The "message" (or "error") of an error answer, or a fallback; borrowed
 * from ans.  Never NULL. */
const char *wl_issuer_message(const struct wl_issuer_answer *ans);

void wl_issuer_answer_free(struct wl_issuer_answer *ans);

#endif
