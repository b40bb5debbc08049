/*
 * jsonin.h - strict reading of an API request's fields by a table: a JSON
 * body (a POST's object) or a GET's query arguments.  Each field has a
 * name, a type, whether it is required and a range; the table is the
 * whole vocabulary, so an unknown field is refused.  Every refusal is one
 * message naming the field and what it must be, for a 400 reply.
 */
#ifndef CS_JSONIN_H
#define CS_JSONIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "anshim/identity.h"

struct cs_call;

enum cs_in_type {
	CS_IN_STRING, /* UTF-8 text without control characters, min..max bytes:
		       * out is const char ** (borrowed from the body / query) */
	CS_IN_INT,    /* an integer in min..max: out is int64_t * */
	CS_IN_BOOL,   /* true or false: out is int * (1 / 0) */
	CS_IN_TIME,   /* "2026-03-02", "2026-03-02T09:00+09:00" or unix seconds
		       * (a number or its digits): out is int64_t * */
	CS_IN_UNTIL,  /* as CS_IN_TIME, but a bare date means the end of that
		       * day, as 'anshim-cloud trace --to' reads it */
	CS_IN_PID,    /* 32 hex digits: out is uint8_t[AS_PID_LEN] */
};

struct cs_in_field {
	const char *name;
	enum cs_in_type type;
	int required;
	int64_t min, max;   /* CS_IN_INT: the value; CS_IN_STRING: bytes */
	void *out;          /* left untouched when the field is absent */
	int *given;         /* if not NULL: set to 1 when present, else 0 */
};

/*
 * Read obj's members by fields[0..n).  Returns 0, or AS_E_FIELD with err
 * (err_len bytes) saying which field is unknown, missing, of the wrong
 * type or out of range.  obj must be an object (else AS_E_FIELD too).
 * Outputs borrowed from obj live as long as obj.  Any thread.
 */
int cs_in_json(const json_t *obj, const struct cs_in_field *fields, size_t n, char *err,
	       size_t err_len);

/*
 * The same for a GET's query arguments: each field is looked up with
 * call->query (values are text: CS_IN_INT and CS_IN_TIME take digits,
 * CS_IN_BOOL "true"/"false").  An argument not in fields is refused as
 * unknown, as in a body (when call->query_keys is set).
 */
int cs_in_query(const struct cs_call *call, const struct cs_in_field *fields, size_t n,
		char *err, size_t err_len);

#endif
