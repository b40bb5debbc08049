/*
 * revealclient.h - the client side of anshim-revealed, the reveal service:
 * the only process that can read contact.key (which opens the sealed
 * capsules holding phones and names) and audit.key (which signs the audit
 * log).  The console, the CLI and the aggregator hold neither; they ask
 * the service over its Unix socket (the cloud configuration's
 * 'reveal_socket').
 *
 * The service, not the caller, writes every audit entry, and writes it
 * before it answers.  It learns the caller's Unix user from the socket
 * (SO_PEERCRED), so a name is never self-asserted: a request from the
 * console's Unix user carries the console account's name (which the
 * console authenticated); any other caller is recorded by its Unix user.
 *
 * Two-person reveal: an investigator asks (an 'ask' entry: the trace's
 * parameters, a reason, a case reference); a supervisor other than the
 * asker approves or refuses (an 'approve' / 'refuse' entry naming the
 * request); only then does cl_reveal_open answer, for that request alone:
 * the service runs the request's trace itself and opens only the capsules
 * of that trace's contacts (a 'reveal' entry each time).  A request id is
 * the audit sequence number of its 'ask' entry.  The CLI's break-glass
 * reveal is one 'break-glass' entry, shown in red by the console.
 *
 * Every call connects, sends one request, reads one answer and closes,
 * with a deadline (CL_REVEAL_TIMEOUT_MS); an unreachable service is
 * -ECONNREFUSED / -ENOENT with err saying to start anshim-revealed.
 * Errors: AS_E_* or -errno; err (err_len bytes) says what and what to do.
 * The service's refusals: -EPERM (the caller may not: role, own request,
 * not the asker, not in the break-glass group, not the console), -EALREADY
 * (the request is not in a state that allows it: decided already,
 * pending, refused), AS_E_NOT_FOUND (no such request), AS_E_FIELD (a bad
 * field), -ETIMEDOUT (no answer in time).  The socket protocol is in
 * docs/PROTOCOL.md (reveal service).
 * Any thread.
 */
#ifndef CL_REVEALCLIENT_H
#define CL_REVEALCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/capsule.h"
#include "anshim/identity.h"
#include "tokencapsule.h"
#include "trace.h"

#define CL_REVEAL_TIMEOUT_MS 30000
#define CL_CASE_REF_MAX 63
#define CL_REASON_MAX 255

/* What a reveal request or an audited trace is about. */
struct cl_reveal_scope {
	struct cl_trace_params params;       /* pid, window, depth, ... */
	char reason[CL_REASON_MAX + 1];      /* 1..255 bytes */
	char case_ref[CL_CASE_REF_MAX + 1];  /* the health office's case number */
};

/* A contact as the service reveals it (phone E.164, name may be empty);
 * the receiver copies what it needs and must not log it. */
struct cl_revealed_contact {
	uint8_t pid[AS_PID_LEN];
	int opened;              /* 0: no capsule / does not open (why says) */
	char phone[32];
	char name[128];
	const char *why;
};
typedef int (*cl_reveal_sink)(void *ctx, const struct cl_revealed_contact *c);

/*
 * Append a 'trace' audit entry for a trace about to be shown (by the
 * console for account 'who', or by the CLI: who is ignored and the Unix
 * user recorded).  contacts: people the trace reports.  *seq: the entry's
 * sequence number.
 */
int cl_reveal_log_trace(const char *socket_path, const char *who,
			const struct cl_reveal_scope *scope, uint32_t contacts,
			uint64_t *seq, char *err, size_t err_len);

/* An investigator asks to reveal scope's contacts; *request_id. */
int cl_reveal_ask(const char *socket_path, const char *who,
		  const struct cl_reveal_scope *scope, uint64_t *request_id,
		  char *err, size_t err_len);

/* A supervisor (checked by the service against the accounts file) other
 * than the asker approves (approve = 1) or refuses a pending request. */
int cl_reveal_decide(const char *socket_path, const char *who, uint64_t request_id,
		     int approve, const char *reason, char *err, size_t err_len);

/* Open the contacts of an approved request for its asker: sink gets each
 * contact of the request's trace, in trace order. */
int cl_reveal_open(const char *socket_path, const char *who, uint64_t request_id,
		   cl_reveal_sink sink, void *ctx, char *err, size_t err_len);

/* The CLI's break-glass: trace scope and open its contacts at once, logged
 * as 'break-glass' with the caller's Unix user. */
int cl_reveal_break_glass(const char *socket_path, const struct cl_reveal_scope *scope,
			  cl_reveal_sink sink, void *ctx, char *err, size_t err_len);

/* The pid of a case's phone (any spelling anshim accepts), derived by the
 * service with pseudonym.key, which the command line no longer reads.
 * Nothing is audited or logged (the trace that follows is).  AS_E_FIELD
 * when phone is not a phone number (err never repeats it). */
int cl_reveal_pid_of_phone(const char *socket_path, const char *phone,
			   uint8_t pid[AS_PID_LEN], char *err, size_t err_len);

/* The aggregator: the pids of n paper-register capsules (pids[i] all zero
 * when capsule i does not open).  Nothing else of the capsule leaves the
 * service. */
int cl_reveal_derive_pids(const char *socket_path,
			  const uint8_t (*capsules)[AS_CAPSULE_LEN], size_t n,
			  uint8_t (*pids)[AS_PID_LEN], char *err, size_t err_len);

/* The aggregator: the pids of the n capsules of the issues of visit tokens
 * in one capsule batch (capsulewire.h; n <= CL_FEED_MAX_ISSUES), whose
 * batch key is sealed_key, and the holder's contact capsule each wraps
 * (still sealed to the authority: the store keeps it as the person's):
 * pids[i] and contacts[i] all zero when issue i's capsule does not open.  The service
 * opens each to the contact capsule and derives the pid as for a paper
 * entry; nothing else leaves it. */
struct cl_feed_issue;
int cl_reveal_derive_token_pids(const char *socket_path,
				const uint8_t sealed_key[CL_TOKCAP_SEALED_KEY_LEN],
				const struct cl_feed_issue *issues, size_t n,
				uint8_t (*pids)[AS_PID_LEN], uint8_t (*contacts)[AS_CAPSULE_LEN],
				char *err, size_t err_len);

#endif
