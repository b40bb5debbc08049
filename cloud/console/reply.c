/*
 * reply.c - the helpers every API handler answers with (api.h):
 * cs_reply_error, {"error": "message"} with a 4xx/5xx status,
 * cs_reply_json, any JSON value with a status, and cs_reply_body, a body
 * of another type (a trace report as it was written, a CSV file).
 *
 * Invariants: a reply holds at most one body: setting one releases what
 * the reply held before (json or body), so a handler may change its mind
 * (an error after a partial answer) without leaking.  When jansson cannot
 * allocate, the reply is status 500 with json NULL: the HTTP side answers
 * it with a fixed error body.  Both always return 0, so a handler may end
 * with `return cs_reply_error(...)`.
 *
 * Threads: any; a reply belongs to the one request being handled.
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest error message a reply carries; longer ones are cut. */
#define CS_ERROR_MAX 512

static void reply_release(struct cs_reply *reply)
{
	json_decref(reply->json);
	reply->json = NULL;
	free(reply->body);
	reply->body = NULL;
	reply->body_len = 0;
	reply->content_type = NULL;
	reply->filename[0] = '\0';
}

int cs_reply_json(struct cs_reply *reply, int status, json_t *j)
{
	reply_release(reply);
	if (!j) {
		reply->status = 500;
		return 0;
	}
	reply->status = status;
	reply->json = j;
	return 0;
}

int cs_reply_body(struct cs_reply *reply, int status, char *body, size_t len,
		  const char *content_type, const char *filename)
{
	reply_release(reply);
	reply->status = status;
	reply->body = body;
	reply->body_len = len;
	reply->content_type = content_type;
	if (filename)
		snprintf(reply->filename, sizeof reply->filename, "%s", filename);
	return 0;
}

int cs_reply_error(struct cs_reply *reply, int status, const char *fmt, ...)
{
	char message[CS_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(message, sizeof message, "internal error");
	/* A cut message ends at a UTF-8 boundary, never inside a character. */
	if (n >= (int)sizeof message) {
		size_t len = strlen(message), lead = len;
		while (lead > 0 && ((unsigned char)message[lead - 1] & 0xC0) == 0x80)
			lead--;
		if (lead > 0 && (unsigned char)message[lead - 1] >= 0xC0) {
			unsigned char c = (unsigned char)message[lead - 1];
			size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
			if (lead - 1 + need > len)
				message[lead - 1] = '\0';
		}
	}
	return cs_reply_json(reply, status, json_pack("{s:s}", "error", message));
}
