/*
 * audit.h - the tamper-evident audit log of traces and reveals.
 *
 * Every trace, every step of a two-person reveal (ask, approve or refuse,
 * reveal) and every break-glass reveal appends one entry to
 * cfg->audit_log.  Only the reveal service (anshim-revealed) appends: it
 * alone holds the log's signing key, audit.key (Ed25519, in keys_dir).
 * Entries form a hash chain and each is signed, so editing, deleting,
 * inserting or reordering entries is detected by cl_audit_verify with only
 * the public keys.  (Dropping entries from the END of the log is not
 * detectable from the file alone: anshim-cloudd publishes the last entry's
 * seq, hash and signature on the broker -- audithead.h, witness.h -- and
 * 'audit verify --witness' compares the log with it.)
 *
 * File format (text, append-only, one entry per line, ASCII except valid
 * UTF-8 inside quoted strings; times UTC; all on one line, fields separated
 * by one space).  Version 2, written since the reveal service:
 *
 *   v=2 seq=N time=TIME action=ACTION case=PIDHEX from=TIME to=TIME
 *   depth=N min_overlap=S risk_period=S incubation=S contacts=N revealed=N
 *   request=N case_no="TEXT" who="TEXT" reason="TEXT" prev=HEX64
 *   hash=HEX64 sig=HEX128\n
 *
 *   ACTION: trace | ask | approve | refuse | reveal | break-glass;
 *   request: for approve, refuse and reveal the seq of the 'ask' entry
 *   they answer (below seq), else 0; min_overlap, risk_period, incubation:
 *   the trace's parameters in seconds; case_no: the health office's case
 *   reference (0-63 bytes).
 *
 *   hash = BLAKE2b-256("anshim-audit-v2\0" || prev || seq u64 || time i64
 *          || who || action || case || from i64 || to i64 || depth u32
 *          || min_overlap i64 || risk_period i64 || incubation i64
 *          || contacts u32 || revealed u32 || request u64 || case_no
 *          || reason)
 *   sig  = Ed25519 by audit.key over "anshim-audit-sig" (16 bytes) || hash
 *
 * Version 1 (written before the reveal service; read and verified, never
 * written): the line starts "seq=N" and has no v, min_overlap,
 * risk_period, incubation, request or case_no; action is trace or reveal;
 * its hash domain is "anshim-audit-v1\0" over the same fields in the same
 * order without those; its signature is by the authority's sign.key.  All
 * version 1 entries come first: once a version 2 entry is in the log a
 * version 1 line after it is refused ("version 1 entry after version 2"),
 * so sign.key (which anshim-cloudd holds) cannot extend a log.
 *
 * seq counts 1, 2, 3... and equals the line number.  In TEXT, '"', '\\',
 * control characters, DEL and bytes that are not well-formed UTF-8 are
 * written \xHH (lowercase hex); everything else is raw, so a newline or a
 * quote in free text can never end a field or a line.  Each line must be
 * exactly what the writer would produce for its fields (re-encoded and
 * compared): any other spelling is "malformed".  prev = hash of the
 * previous entry; 32 zero bytes for entry 1.
 *
 * Error codes (as_strerror): AS_E_CORRUPT (malformed, hash or chain
 * mismatch, sequence gap), AS_E_SIGNATURE, AS_E_TRUNCATED (torn last
 * line), AS_E_FIELD (bad entry given to append), -errno.
 *
 * Any thread; concurrent appends from several threads or processes are
 * serialised by an exclusive flock on the log, and readers take a shared
 * one.
 */
#ifndef CL_AUDIT_H
#define CL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "clconfig.h"

#define CL_AUDIT_HASH_LEN 32

struct cl_audit_entry {
	int64_t time;            /* unix seconds; 0 = now (append fills it in) */
	char who[64];            /* the account or Unix user, 1-63 bytes */
	char action[16];         /* CL_AUDIT_TRACE, ... (v1: trace, reveal) */
	char case_ref[64];       /* the case's pid: 32 lowercase hex digits --
				  * never a phone number */
	int64_t window_from, window_to; /* unix seconds, from <= to */
	uint32_t depth;
	uint32_t contacts;       /* people reported */
	uint32_t revealed;       /* capsules opened */
	char reason[256];        /* 0-255 bytes, any text */
	/* Version 2 (zero in a version 1 entry). */
	unsigned version;        /* as read: 1 or 2; append always writes 2 */
	int64_t min_overlap;     /* seconds, 0..CL_AUDIT_DURATION_MAX */
	int64_t risk_period;     /* seconds, 0..CL_AUDIT_DURATION_MAX */
	int64_t incubation;      /* seconds, 0..CL_AUDIT_DURATION_MAX */
	uint64_t request;        /* approve/refuse/reveal: the ask's seq; else 0 */
	char case_no[64];        /* the health office's case reference, 0-63 bytes */
};

#define CL_AUDIT_TRACE "trace"
#define CL_AUDIT_ASK "ask"
#define CL_AUDIT_APPROVE "approve"
#define CL_AUDIT_REFUSE "refuse"
#define CL_AUDIT_REVEAL "reveal"
#define CL_AUDIT_BREAK_GLASS "break-glass"
#define CL_AUDIT_DURATION_MAX (366 * INT64_C(86400))

/* The public keys that verify a log: audit.pub for version 2 entries, and
 * sign.pub for version 1 entries (has_sign 0: a version 1 entry is then a
 * bad signature). */
struct cl_audit_keys {
	uint8_t audit_pk[32];
	uint8_t sign_pk[32];
	int has_sign;
};

/*
 * Load audit.pub (required) and sign.pub (if present) from keys_dir into
 * k.  0, or an error with err naming the file and what to do
 * ('anshim-cloud keys init --audit' makes audit.key for an older key set).
 */
int cl_audit_keys_load(struct cl_audit_keys *k, const char *keys_dir, char *err,
		       size_t err_len);

/*
 * Append e (borrowed) to cfg->audit_log as a version 2 entry (e->version
 * is ignored), signed with audit.key loaded from cfg->keys_dir (the last
 * entry is checked with audit.pub, or sign.pub when it is version 1).
 * Returns its sequence number in *seq (if not NULL).  Opens the log
 * O_APPEND|O_CREAT mode 0640 (the console, in the reveal service's group,
 * reads it; it holds pids, never a visitor's phone or name), takes an
 * exclusive flock, checks the last entry (its line is whole, its hash and
 * signature hold), writes the new line with one write() and fsyncs it
 * (and the directory when the log is new).  Refuses (AS_E_TRUNCATED) to
 * extend a log whose last line is torn, and AS_E_CORRUPT / AS_E_SIGNATURE
 * when the last entry does not check out.  If the write fails part-way the
 * log is truncated back to its previous length.  On error a message naming
 * the file and what to do is written to err (err_len bytes, may be 0).
 * Returns 0 once the entry is on disk, or an error.
 */
int cl_audit_append(const struct cl_config *cfg, const struct cl_audit_entry *e,
		    uint64_t *seq, char *err, size_t err_len);

/*
 * Verify the whole log at path against the public keys k.
 * *entries (if not NULL) receives the number of valid entries read before
 * the first bad one (all of them on success).  Returns 0 when every line is
 * a well-formed, correctly chained, correctly signed entry.  Otherwise
 * *first_bad (if not NULL) is the 1-based line number of the first entry
 * that fails and why (why_len bytes) says what: "malformed line", "hash
 * mismatch", "chain break", "sequence gap", "bad signature", "truncated
 * last entry" -- and the return value is AS_E_CORRUPT, AS_E_SIGNATURE or
 * AS_E_TRUNCATED.  -errno (first_bad = 0) if the file cannot be read; a
 * missing file is -ENOENT, an empty file is a valid log of 0 entries.
 */
int cl_audit_verify(const char *path, const struct cl_audit_keys *k, uint64_t *entries,
		    uint64_t *first_bad, char *why, size_t why_len);

/*
 * Call fn(ctx, index, entry) for each entry in order (index 1-based; entry
 * borrowed for the call only).  Lines are parsed strictly and the sequence
 * and hash chain are checked, but not signatures (use cl_audit_verify).
 * Stops at fn's first nonzero return and returns it; otherwise returns 0,
 * or the error for the first bad line (after calling fn for every good
 * entry before it), or -errno.
 */
int cl_audit_each(const char *path,
		  int (*fn)(void *ctx, uint64_t index, const struct cl_audit_entry *e),
		  void *ctx);

/* ---- reveal requests, as the log records them ---- */

enum cl_request_state {
	CL_REQUEST_PENDING = 0,   /* asked, not decided */
	CL_REQUEST_APPROVED = 1,  /* approved, not opened yet */
	CL_REQUEST_REFUSED = 2,
	CL_REQUEST_REVEALED = 3,  /* approved and opened at least once */
};

/* "pending", "approved", "refused", "revealed". */
const char *cl_request_state_name(enum cl_request_state s);

struct cl_request {
	uint64_t id;                    /* the seq of its 'ask' entry */
	enum cl_request_state state;
	struct cl_audit_entry ask;      /* who asked, the scope, reason, case_no */
	char decided_by[64];            /* approve/refuse: who; else "" */
	int64_t decided_at;             /* 0 while pending */
	char decision_reason[256];
	uint32_t reveals;               /* 'reveal' entries for it */
	int64_t last_revealed;          /* time of the last one; 0: none */
	uint32_t revealed;              /* capsules opened by the last one */
};

/*
 * Every reveal request in the log at path, in ask order, with its state.
 * *out (malloc'd, the caller frees; NULL when *n is 0) and *n.  The first
 * decision for a request is the one that counts (the service writes no
 * second one).  The chain is checked as cl_audit_each does (not the
 * signatures).  A missing log is 0 requests.  0, -ENOMEM, or the log's
 * error with err saying which entry and to run 'anshim-cloud audit verify'.
 */
int cl_audit_requests(const char *path, struct cl_request **out, size_t *n, char *err,
		      size_t err_len);

/* ---- the witness's view (audithead.h, witness.h) ----------------------- */

/* One entry as the witness sees it: where it is, its hash, and its own
 * signature (over "anshim-audit-sig" || hash), copied from its line.  seq 0:
 * an empty log. */
struct cl_audit_head {
	uint64_t seq;
	unsigned version;        /* the entry's: 1 (sign.key) or 2 (audit.key) */
	uint8_t hash[CL_AUDIT_HASH_LEN];
	uint8_t sig[64];
	uint64_t end;            /* read from a log: the byte just after its
				  * line (0 otherwise); a log that still holds
				  * the entry holds it there, since every line
				  * before it has one spelling */
};

/*
 * The last entry of the log at path, read from its tail (O(1)): *head gets
 * its seq, hash and signature (seq 0 for an empty log).  The line must be
 * whole and canonical, its hash must hold, and its signature must verify
 * with k (audit.pub, or sign.pub for a version 1 entry).  Takes a shared flock.  On error
 * err says what (the file, what is wrong with its last entry, what to run)
 * and the return value is as cl_audit_append's checks of the last entry:
 * AS_E_TRUNCATED, AS_E_CORRUPT, AS_E_SIGNATURE, -errno (-ENOENT: no log).
 * Any thread.
 */
int cl_audit_last(const char *path, const struct cl_audit_keys *k, struct cl_audit_head *head,
		  char *err, size_t err_len);

/*
 * The entry whose line ends at byte end (>= 1) of the log, checked as
 * cl_audit_last checks the last one (O(1)): to see whether a log still
 * holds an entry read before (its head->end), without walking it.  A log
 * shorter than end is AS_E_TRUNCATED; a line that does not end there, or
 * is not an entry, is AS_E_TRUNCATED or AS_E_CORRUPT.  Any thread.
 */
int cl_audit_entry_ending(const char *path, const struct cl_audit_keys *k, uint64_t end,
			  struct cl_audit_head *head, char *err, size_t err_len);

/*
 * Walk the whole log as cl_audit_verify does (signatures checked when k is
 * not NULL; chain, sequence and hashes always) and, if the log reaches
 * entry at (>= 1), give its hash in *at_hash and set *reached to 1 (else
 * 0).  *entries, *first_bad and why as cl_audit_verify; the return value
 * too.  Any thread.
 */
int cl_audit_verify_at(const char *path, const struct cl_audit_keys *k, uint64_t at,
		       uint8_t at_hash[CL_AUDIT_HASH_LEN], int *reached, uint64_t *entries,
		       uint64_t *first_bad, char *why, size_t why_len);

/* 1 if sig is the signature of a version (1 or 2) entry with this hash:
 * by audit.pub for version 2, by sign.pub (if k has it) for version 1. */
int cl_audit_sig_ok(unsigned version, const uint8_t hash[CL_AUDIT_HASH_LEN],
		    const uint8_t sig[64], const struct cl_audit_keys *k);

#endif
