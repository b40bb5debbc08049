/*
 * witnesscheck.h - the check of the audit log against the head witnessed
 * on the broker (audithead.h), as 'anshim-cloud audit verify --witness'
 * and the console's GET /api/audit both make it: fetch the retained head
 * and verify its signature, then walk the log and require that it holds
 * the witnessed entry with the witnessed hash.  A log cut short or
 * rewritten after the head was published fails here, where the plain
 * chain check (cl_audit_verify) passes.
 *
 * The two steps are separate so that a caller may keep a fetched head for
 * a while (the console) and compare the log with it on every request.
 * The head is fetched before the walk: a head published while the log is
 * walked is then older than the walk, never newer.
 *
 * Any thread: the fetch runs its own private libuv loop (publish.h).
 */
#ifndef CL_WITNESSCHECK_H
#define CL_WITNESSCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "clconfig.h"

enum cl_witness_state {
	CL_WITNESS_INTACT,         /* the log holds the witnessed entry, same hash */
	CL_WITNESS_CUT,            /* the log ends before the witnessed entry */
	CL_WITNESS_REWRITTEN,      /* the log's entry there has another hash */
	CL_WITNESS_LOG_BROKEN,     /* the chain breaks before the witnessed entry */
	CL_WITNESS_LOG_UNREADABLE, /* the log cannot be read (or does not exist) */
	CL_WITNESS_NO_HEAD,        /* the broker holds no head */
	CL_WITNESS_MALFORMED,      /* the broker's head does not decode */
	CL_WITNESS_FORGED,         /* the head is not signed by the log's keys */
	CL_WITNESS_UNREACHABLE,    /* the broker cannot be reached in time, or
				    * refuses the subscription */
};

struct cl_witness_result {
	enum cl_witness_state state;
	int have_head;              /* head is the broker's, verified */
	struct cl_audit_head head;
	/* The walk of the log (cl_witness_compare), as cl_audit_verify gives
	 * it: log_rc 0 when the chain is intact. */
	int log_rc;
	uint64_t entries, first_bad;
	char why[300];
	/* One or two sentences saying the verdict, or why there is none. */
	char message[1100];
};

/* "intact", "cut", "rewritten", "log_broken", "log_unreadable", "no_head",
 * "malformed", "forged", "unreachable". */
const char *cl_witness_state_name(enum cl_witness_state state);

/* Fetch cfg's broker's retained head (waiting at most wait_ms) and verify
 * it with keys: 0 and r->have_head; or 1 with r->state NO_HEAD,
 * MALFORMED, FORGED or UNREACHABLE and r->message.  *r is reset first. */
int cl_witness_fetch(const struct cl_config *cfg, const struct cl_audit_keys *keys,
		     unsigned wait_ms, struct cl_witness_result *r);

/* Walk the log at audit_log with keys (every entry checked, as
 * cl_audit_verify), filling r->log_rc, entries, first_bad and why; when
 * r->have_head, also compare the log with r->head and set r->state and
 * r->message (LOG_BROKEN or LOG_UNREADABLE when the log gives nothing to
 * compare).  Without a head r->state and r->message are left as the fetch
 * set them.  0 only when the head is held: CL_WITNESS_INTACT. */
int cl_witness_compare(const char *audit_log, const struct cl_audit_keys *keys,
		       struct cl_witness_result *r);

#endif
