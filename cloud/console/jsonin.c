/*
 * jsonin.c - reads request fields by a table (jsonin.h), for the console's
 * API handlers.
 *
 * Invariants: every member of the object is either in the table or
 * refused; a field is written to its out only after its value checked out
 * (so on error the caller's defaults may be partly replaced, never with a
 * bad value); messages name the field and never echo its value (a value
 * may be a phone number).  Runs on the calling handler's thread, no state.
 */
#include "jsonin.h"

#include "api.h"
#include "cli.h"
#include "revealwire.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/parse.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The message into err, and AS_E_FIELD. */
#define refuse(err, err_len, ...) (as_err_printf((err), (err_len), __VA_ARGS__), AS_E_FIELD)

/* What a field must be, for messages: "an integer from 1 to 3". */
static const char *expect_text(char out[160], const struct cs_in_field *f)
{
	switch (f->type) {
	case CS_IN_STRING:
		if (f->min > 0)
			snprintf(out, 160, "text of %" PRId64 " to %" PRId64 " bytes (UTF-8, no "
				 "control characters)", f->min, f->max);
		else
			snprintf(out, 160, "text of at most %" PRId64 " bytes (UTF-8, no control "
				 "characters)", f->max);
		break;
	case CS_IN_INT:
		snprintf(out, 160, "an integer from %" PRId64 " to %" PRId64, f->min, f->max);
		break;
	case CS_IN_BOOL:
		snprintf(out, 160, "true or false");
		break;
	case CS_IN_TIME:
	case CS_IN_UNTIL:
		snprintf(out, 160, "a time: \"2026-03-02\", \"2026-03-02T09:00+09:00\" or unix "
			 "seconds");
		break;
	case CS_IN_PID:
		snprintf(out, 160, "a pid: 32 hex digits");
		break;
	}
	return out;
}

static int text_ok(const char *s, size_t len, const struct cs_in_field *f)
{
	/* A NUL inside (strlen short of len) is not text either. */
	return strlen(s) == len && cl_revealwire_text_ok(s, (size_t)f->min, (size_t)f->max);
}

/* A time from text; 0 or AS_E_TIME. */
static int time_text(const char *s, enum cs_in_type type, int64_t *out)
{
	return type == CS_IN_UNTIL ? cl_cli_parse_until(s, out) : as_parse_time(s, out);
}

/* Check and store one value given as text (a query argument, or a JSON
 * string for the text-shaped types).  0 or -1 (wrong). */
static int from_text(const struct cs_in_field *f, const char *s, int from_query)
{
	int64_t v;

	switch (f->type) {
	case CS_IN_STRING:
		if (!text_ok(s, strlen(s), f))
			return -1;
		*(const char **)f->out = s;
		return 0;
	case CS_IN_TIME:
	case CS_IN_UNTIL:
		if (time_text(s, f->type, &v))
			return -1;
		*(int64_t *)f->out = v;
		return 0;
	case CS_IN_PID: {
		uint8_t pid[AS_PID_LEN];

		if (strlen(s) != 2 * AS_PID_LEN || as_hex_decode(pid, AS_PID_LEN, s))
			return -1;
		memcpy(f->out, pid, AS_PID_LEN);
		return 0;
	}
	case CS_IN_INT:
		if (!from_query || as_parse_int64(s, f->min, f->max, &v))
			return -1;
		*(int64_t *)f->out = v;
		return 0;
	case CS_IN_BOOL:
		if (!from_query)
			return -1;
		if (strcmp(s, "true") == 0)
			*(int *)f->out = 1;
		else if (strcmp(s, "false") == 0)
			*(int *)f->out = 0;
		else
			return -1;
		return 0;
	}
	return -1;
}

/* Check and store one JSON value.  0 or -1 (wrong type or range). */
static int from_json(const struct cs_in_field *f, const json_t *v)
{
	json_int_t i;

	if (json_is_string(v)) {
		/* A JSON string may hold NUL: refuse it for text. */
		if (f->type == CS_IN_STRING &&
		    !text_ok(json_string_value(v), json_string_length(v), f))
			return -1;
		return f->type == CS_IN_INT || f->type == CS_IN_BOOL ? -1
			: from_text(f, json_string_value(v), 0);
	}
	if (json_is_boolean(v) && f->type == CS_IN_BOOL) {
		*(int *)f->out = json_is_true(v);
		return 0;
	}
	if (json_is_integer(v)) {
		i = json_integer_value(v);
		if (f->type == CS_IN_INT && i >= f->min && i <= f->max) {
			*(int64_t *)f->out = i;
			return 0;
		}
		if ((f->type == CS_IN_TIME || f->type == CS_IN_UNTIL) && i >= 0 &&
		    i <= INT64_C(253402300799) /* 9999-12-31 */) {
			*(int64_t *)f->out = i;
			return 0;
		}
	}
	return -1;
}

/* Refuse key, which is not in fields[0..n): what (a "field" or a "query
 * argument") is unknown, and the known ones.  The key is the client's
 * text: it is shown only when it looks like a field name (lowercase
 * letters and '_', at most 32), never when it could be data (a phone). */
static int refuse_unknown(char *err, size_t err_len, const char *what, const char *key,
			  const struct cs_in_field *fields, size_t n)
{
	char known[512] = "";
	size_t len = 0;

	for (size_t k = 0; k < n && len < sizeof known; k++)
		len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", k ? ", " : "",
					fields[k].name);
	if (strlen(key) <= 32 && strspn(key, "abcdefghijklmnopqrstuvwxyz_") == strlen(key))
		return refuse(err, err_len, "unknown %s '%s' (known: %s)", what, key,
			      n ? known : "none");
	return refuse(err, err_len, "unknown %s (known: %s)", what, n ? known : "none");
}

/* A query key not in the table, for cs_in_query's walk over the keys. */
struct query_check {
	const struct cs_in_field *fields;
	size_t n;
	char *err;
	size_t err_len;
};

static int check_query_key(void *ctx, const char *key)
{
	struct query_check *q = ctx;

	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->fields[i].name, key) == 0)
			return 0;
	return refuse_unknown(q->err, q->err_len, "query argument", key, q->fields, q->n);
}

int cs_in_json(const json_t *obj, const struct cs_in_field *fields, size_t n, char *err,
	       size_t err_len)
{
	char want[160];
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return refuse(err, err_len, "the body must be one JSON object");
	json_object_foreach((json_t *)obj, key, v) {
		size_t i;

		for (i = 0; i < n && strcmp(fields[i].name, key) != 0; i++)
			;
		if (i == n)
			return refuse_unknown(err, err_len, "field", key, fields, n);
	}
	for (size_t i = 0; i < n; i++) {
		const struct cs_in_field *f = &fields[i];

		v = json_object_get(obj, f->name);
		if (f->given)
			*f->given = v != NULL;
		if (!v) {
			if (f->required)
				return refuse(err, err_len, "field '%s' is required: %s", f->name,
					      expect_text(want, f));
			continue;
		}
		if (from_json(f, v))
			return refuse(err, err_len, "field '%s' must be %s", f->name,
				      expect_text(want, f));
	}
	return 0;
}

int cs_in_query(const struct cs_call *call, const struct cs_in_field *fields, size_t n,
		char *err, size_t err_len)
{
	char want[160];

	if (call->query_keys) {
		struct query_check q = {fields, n, err, err_len};
		int rc = call->query_keys(call, check_query_key, &q);

		if (rc)
			return rc;
	}
	for (size_t i = 0; i < n; i++) {
		const struct cs_in_field *f = &fields[i];
		const char *s = call->query ? call->query(call, f->name) : NULL;

		if (f->given)
			*f->given = s != NULL;
		if (!s) {
			if (f->required)
				return refuse(err, err_len, "query argument '%s' is required: %s",
					      f->name, expect_text(want, f));
			continue;
		}
		if (from_text(f, s, 1))
			return refuse(err, err_len, "query argument '%s' must be %s", f->name,
				      expect_text(want, f));
	}
	return 0;
}
