/*
 * revealwire.c - the reveal service's socket protocol, the parts both
 * sides use (see revealwire.h).  Strict decoding: a scope with a missing,
 * unknown or mistyped field is refused, so the service never runs a trace
 * other than the one asked.  No state; any thread.
 */
#include "revealwire.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define DURATION_MAX (366 * INT64_C(86400))
#define TIME_MAX INT64_C(253402300799)

json_t *cl_revealwire_scope_to_json(const struct cl_reveal_scope *sc)
{
	char pid[2 * AS_PID_LEN + 1];

	as_hex_encode(pid, sc->params.pid, AS_PID_LEN);
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "pid", pid,
			 "from", (json_int_t)sc->params.from, "to", (json_int_t)sc->params.to,
			 "depth", (json_int_t)sc->params.depth,
			 "min_overlap", (json_int_t)sc->params.min_overlap,
			 "incubation", (json_int_t)sc->params.incubation,
			 "risk_period", (json_int_t)sc->params.risk_period,
			 "reason", sc->reason, "case_ref", sc->case_ref);
}

int cl_revealwire_text_ok(const char *s, size_t min_len, size_t max)
{
	size_t n = strlen(s);

	if (n < min_len || n > max)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t k = as_utf8_char((const unsigned char *)s + i, n - i);

		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

int cl_revealwire_scope_from_json(json_t *j, struct cl_reveal_scope *sc, char *why,
				  size_t why_len)
{
	json_error_t e;
	const char *pid, *reason, *case_ref;
	json_int_t from, to, depth, overlap, incubation, period;

	memset(sc, 0, sizeof *sc);
	if (json_unpack_ex(j, &e, JSON_STRICT, "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s}",
			   "pid", &pid, "from", &from, "to", &to, "depth", &depth,
			   "min_overlap", &overlap, "incubation", &incubation,
			   "risk_period", &period, "reason", &reason, "case_ref", &case_ref)) {
		snprintf(why, why_len, "scope: %s", e.text);
		return AS_E_FIELD;
	}
	cl_trace_params_init(&sc->params);
	if (strlen(pid) != 2 * AS_PID_LEN || as_hex_decode(sc->params.pid, AS_PID_LEN, pid)) {
		snprintf(why, why_len, "scope: 'pid' is not 32 hex digits");
		return AS_E_FIELD;
	}
	if (from < 0 || to > TIME_MAX || from > to) {
		snprintf(why, why_len, "scope: 'from' and 'to' are not a window");
		return AS_E_FIELD;
	}
	if (depth < 1 || depth > CL_TRACE_DEPTH_MAX) {
		snprintf(why, why_len, "scope: 'depth' must be 1 to %d", CL_TRACE_DEPTH_MAX);
		return AS_E_FIELD;
	}
	if (overlap < 0 || overlap > DURATION_MAX || incubation < 0 || incubation > DURATION_MAX ||
	    period <= 0 || period > DURATION_MAX) {
		snprintf(why, why_len, "scope: a duration is out of range (0 to 366 days; "
			 "risk_period above 0)");
		return AS_E_FIELD;
	}
	if (!cl_revealwire_text_ok(reason, 1, CL_REASON_MAX)) {
		snprintf(why, why_len, "scope: 'reason' must be 1 to %d bytes of text",
			 CL_REASON_MAX);
		return AS_E_FIELD;
	}
	if (!cl_revealwire_text_ok(case_ref, 0, CL_CASE_REF_MAX)) {
		snprintf(why, why_len, "scope: 'case_ref' must be at most %d bytes of text",
			 CL_CASE_REF_MAX);
		return AS_E_FIELD;
	}
	sc->params.from = from;
	sc->params.to = to;
	sc->params.depth = (unsigned)depth;
	sc->params.min_overlap = overlap;
	sc->params.incubation = incubation;
	sc->params.risk_period = period;
	snprintf(sc->reason, sizeof sc->reason, "%s", reason);
	snprintf(sc->case_ref, sizeof sc->case_ref, "%s", case_ref);
	return 0;
}

static const struct {
	int rc;
	const char *word;
} codes[] = {
	{-EPERM, "perm"},
	{-EALREADY, "state"},
	{AS_E_NOT_FOUND, "not_found"},
	{AS_E_FIELD, "field"},
	{-EBUSY, "busy"},
};

const char *cl_revealwire_code(int rc)
{
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (codes[i].rc == rc)
			return codes[i].word;
	return "internal";
}

int cl_revealwire_rc(const char *code)
{
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (strcmp(codes[i].word, code) == 0)
			return codes[i].rc;
	return AS_E_STORE;
}
