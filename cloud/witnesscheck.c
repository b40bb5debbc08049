/*
 * witnesscheck.c - the audit log against the head witnessed on the broker
 * (witnesscheck.h): one definition of the verdicts and their messages for
 * 'anshim-cloud audit verify --witness' and the console.
 *
 * Invariants: a verdict is INTACT only when the head's signature verified
 * with the log's own keys and the walked log holds an entry with the
 * head's seq and hash.  Any thread (no shared state).
 */
#include "witnesscheck.h"

#include "audithead.h"
#include "publish.h"

#include "anshim/error.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cl_witness_state_name(enum cl_witness_state state)
{
	switch (state) {
	case CL_WITNESS_INTACT: return "intact";
	case CL_WITNESS_CUT: return "cut";
	case CL_WITNESS_REWRITTEN: return "rewritten";
	case CL_WITNESS_LOG_BROKEN: return "log_broken";
	case CL_WITNESS_LOG_UNREADABLE: return "log_unreadable";
	case CL_WITNESS_NO_HEAD: return "no_head";
	case CL_WITNESS_MALFORMED: return "malformed";
	case CL_WITNESS_FORGED: return "forged";
	case CL_WITNESS_UNREACHABLE: return "unreachable";
	}
	return "unknown";
}

int cl_witness_fetch(const struct cl_config *cfg, const struct cl_audit_keys *keys,
		     unsigned wait_ms, struct cl_witness_result *r)
{
	uint8_t *msg = NULL;
	size_t len = 0;
	char err[800];
	int rc;

	memset(r, 0, sizeof *r);
	rc = cl_fetch_retained(cfg, CL_AUDIT_HEAD_TOPIC, wait_ms, &msg, &len, err, sizeof err);
	if (rc < 0) {
		r->state = CL_WITNESS_UNREACHABLE;
		snprintf(r->message, sizeof r->message, "%s", err);
		return 1;
	}
	if (rc == 1) {
		r->state = CL_WITNESS_NO_HEAD;
		snprintf(r->message, sizeof r->message, "the broker %s holds no audit head on %s, "
			 "so there is nothing to compare the log with. anshim-cloudd publishes it "
			 "(retained) on connecting and as the log grows: check that it runs and is "
			 "connected with audit_witness_every above 0, and that the broker keeps "
			 "retained messages across restarts (persistence true)", cfg->broker,
			 CL_AUDIT_HEAD_TOPIC);
		return 1;
	}
	rc = cl_audit_head_decode(&r->head, msg, len, keys);
	free(msg);
	if (rc == AS_E_SIGNATURE) {
		r->state = CL_WITNESS_FORGED;
		snprintf(r->message, sizeof r->message, "audit log %s: the witnessed head on %s is "
			 "not signed by the key that signs the log (audit.pub; sign.pub for entries "
			 "from before the reveal service): a forged head, or the keys changed",
			 cfg->audit_log, cfg->broker);
		return 1;
	}
	if (rc) {
		r->state = CL_WITNESS_MALFORMED;
		snprintf(r->message, sizeof r->message, "audit log %s: the witnessed head on %s is "
			 "malformed (%zu bytes: %s); only anshim-cloudd may publish on %s (check the "
			 "broker's ACL), and it replaces a malformed head within a second",
			 cfg->audit_log, cfg->broker, len, as_strerror(rc), CL_AUDIT_HEAD_TOPIC);
		return 1;
	}
	r->have_head = 1;
	return 0;
}

int cl_witness_compare(const char *audit_log, const struct cl_audit_keys *keys,
		       struct cl_witness_result *r)
{
	uint8_t hash[CL_AUDIT_HASH_LEN];
	uint64_t seq = r->head.seq;
	int reached = 0;

	r->entries = r->first_bad = 0;
	r->why[0] = '\0';
	if (!r->have_head) {
		r->log_rc = cl_audit_verify(audit_log, keys, &r->entries, &r->first_bad, r->why,
					    sizeof r->why);
		return 1;
	}
	r->log_rc = cl_audit_verify_at(audit_log, keys, seq, hash, &reached, &r->entries,
				       &r->first_bad, r->why, sizeof r->why);
	if (r->log_rc && r->first_bad > 0) {
		r->state = CL_WITNESS_LOG_BROKEN;
		snprintf(r->message, sizeof r->message, "audit log %s: entry %" PRIu64 " is "
			 "broken: %s", audit_log, r->first_bad, r->why);
		return 1;
	}
	if (r->log_rc) {
		r->state = CL_WITNESS_LOG_UNREADABLE;
		snprintf(r->message, sizeof r->message, "audit log %s: %s (the broker's "
			 "witnessed head is entry %" PRIu64 ")", audit_log,
			 r->why[0] ? r->why : as_strerror(r->log_rc), seq);
		return 1;
	}
	if (!reached) {
		char cut[64];

		if (r->entries + 1 == seq)
			snprintf(cut, sizeof cut, "entry %" PRIu64 " was", seq);
		else
			snprintf(cut, sizeof cut, "entries %" PRIu64 "-%" PRIu64 " were",
				 r->entries + 1, seq);
		r->state = CL_WITNESS_CUT;
		snprintf(r->message, sizeof r->message, "audit log %s: %" PRIu64 " entries, chain "
			 "intact, but the witnessed head is entry %" PRIu64 ": %s cut off the end "
			 "of the log (restore it from a copy)", audit_log, r->entries, seq, cut);
		return 1;
	}
	if (sodium_memcmp(hash, r->head.hash, sizeof hash) != 0) {
		r->state = CL_WITNESS_REWRITTEN;
		snprintf(r->message, sizeof r->message, "audit log %s: %" PRIu64 " entries, chain "
			 "intact, but entry %" PRIu64 " is not the one witnessed (another hash): "
			 "the log was rewritten from entry %" PRIu64 " or before", audit_log,
			 r->entries, seq, seq);
		return 1;
	}
	r->state = CL_WITNESS_INTACT;
	snprintf(r->message, sizeof r->message, "audit log %s: %" PRIu64 " entries, chain intact, "
		 "witnessed through entry %" PRIu64, audit_log, r->entries, seq);
	return 0;
}
