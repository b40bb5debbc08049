/*
 * issuerclient.c - libcurl calls to the issuer (see issuerclient.h).
 *
 * Invariants: TLS peer and host verification stay on (libcurl's
 * defaults; never turned off); redirects are not followed (an answer from
 * another host is not the issuer's); the answer is held in memory up to
 * WL_ISSUER_ANSWER_MAX bytes and the transfer stops beyond that.
 * Single-threaded CLI use (curl_global_init on the first call).
 */
#include "issuerclient.h"

#include "anshim/error.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
	char *p;
	size_t len;
	int over;
};

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t add = size * n;
	char *p;

	if (s->len + add > WL_ISSUER_ANSWER_MAX) {
		s->over = 1;
		return 0;
	}
	p = realloc(s->p, s->len + add + 1);
	if (!p)
		return 0;
	memcpy(p + s->len, data, add);
	s->p = p;
	s->len += add;
	p[s->len] = '\0';
	return add;
}

int wl_issuer_url_check(const char *url, char *err, size_t err_len)
{
	static const char *const loopback[] = {"http://127.", "http://[::1]", "http://localhost"};

	if (strncmp(url, "https://", 8) == 0 && url[8] && strlen(url) < 512)
		return 0;
	for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++)
		if (strncmp(url, loopback[i], strlen(loopback[i])) == 0)
			return 0;
	as_err_printf(err, err_len, "issuer URL '%s' must start with https:// (plain http:// "
		      "only to this machine)", url);
	return AS_E_USAGE;
}

int wl_issuer_call(const struct wl_issuer *is, const char *path, const json_t *body,
		   struct wl_issuer_answer *ans, char *err, size_t err_len)
{
	static int inited;
	struct sink sink = {0};
	struct curl_slist *headers = NULL;
	char url[1024], *text = NULL;
	CURL *c;
	CURLcode cc;
	int rc = 0;
	size_t base = strlen(is->url);

	ans->status = 0;
	ans->body = NULL;
	while (base && is->url[base - 1] == '/')
		base--;
	if (snprintf(url, sizeof url, "%.*s%s", (int)base, is->url, path) >= (int)sizeof url) {
		as_err_printf(err, err_len, "the issuer URL is too long");
		return AS_E_USAGE;
	}
	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
			as_err_printf(err, err_len, "libcurl failed to start");
			return AS_E_CRYPTO;
		}
		inited = 1;
	}
	if (!(c = curl_easy_init())) {
		as_err_printf(err, err_len, "libcurl failed to start");
		return -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(is->timeout > 0 ? is->timeout : 30));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(is->timeout > 0 ? is->timeout : 30));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "anshim-wallet");
	if (is->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, is->ca_file);
	headers = curl_slist_append(headers, "Accept: application/json");
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text) {
			rc = -ENOMEM;
			goto out;
		}
		headers = curl_slist_append(headers, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		as_err_printf(err, err_len, "cannot reach the issuer at %s: %s", is->url,
			      sink.over ? "its answer is too large" : curl_easy_strerror(cc));
		rc = -EIO;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ans->status);
	if (sink.p) {
		json_error_t jerr;
		ans->body = json_loadb(sink.p, sink.len, JSON_REJECT_DUPLICATES, &jerr);
		if (ans->body && !json_is_object(ans->body)) {
			json_decref(ans->body);
			ans->body = NULL;
		}
	}
	if (!ans->body) {
		as_err_printf(err, err_len, "the issuer at %s answered HTTP %ld without a JSON "
			      "object (is the URL right?)", is->url, ans->status);
		rc = AS_E_FIELD;
	}
out:
	if (text) {
		memset(text, 0, strlen(text));
		free(text);
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	free(sink.p);
	return rc;
}

const char *wl_issuer_message(const struct wl_issuer_answer *ans)
{
	const char *m = json_string_value(json_object_get(ans->body, "message"));

	if (!m)
		m = json_string_value(json_object_get(ans->body, "error"));
	return m ? m : "no reason given";
}

void wl_issuer_answer_free(struct wl_issuer_answer *ans)
{
	json_decref(ans->body);
	ans->body = NULL;
}
