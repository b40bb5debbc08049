/*
 * revealwire.h - what the reveal service (cloud/reveal/) and its client
 * (revealclient.c) share of their socket protocol (docs/PROTOCOL.md,
 * "Reveal service"): the limits, a trace scope as JSON, and an error's
 * code word.  Any thread; no state.
 */
#ifndef CL_REVEALWIRE_H
#define CL_REVEALWIRE_H

#include <stddef.h>

#include <jansson.h>

#include "revealclient.h"

#define CL_REVEAL_REQUEST_MAX (1u << 20)   /* bytes of one request */
#define CL_REVEAL_ANSWER_MAX (64u << 20)   /* bytes of one answer */
#define CL_REVEAL_DERIVE_MAX 1024          /* capsules in one derive_pids */

/* scope as {"pid", "from", "to", "depth", "min_overlap", "incubation",
 * "risk_period", "reason", "case_ref"} (times unix seconds, durations
 * seconds); a new reference, or NULL without memory. */
json_t *cl_revealwire_scope_to_json(const struct cl_reveal_scope *scope);

/* The reverse, strictly: every field present, of its type and range (the
 * trace engine's and the audit log's), nothing else; reason 1..255 bytes
 * and case_ref 0..63 bytes of UTF-8 without control characters.  0, or
 * AS_E_FIELD with why naming the field. */
int cl_revealwire_scope_from_json(json_t *j, struct cl_reveal_scope *scope, char *why,
				  size_t why_len);

/* An error's code word on the wire ("perm", "state", "not_found", "field",
 * "busy", "internal") and back (unknown words: AS_E_STORE). */
const char *cl_revealwire_code(int rc);
int cl_revealwire_rc(const char *code);

/* 1 if s (NUL-terminated) is 1..max bytes (min_len 0 allows empty) of
 * well-formed UTF-8 with no control characters. */
int cl_revealwire_text_ok(const char *s, size_t min_len, size_t max);

#endif
