/*
 * audit.h - the tamper-evident audit log of traces and reveals.
 *
 * Every time an investigator traces a case or opens (reveals) capsules, the
 * cloud appends one entry to cfg->audit_log.  Entries form a hash chain and
 * each is signed with the authority's signing key (sign.key in keys_dir),
 * so editing, deleting, inserting or reordering entries is detected by
 * cl_audit_verify with only sign.pub.  (Dropping entries from the END of the
 * log is not detectable from the file alone: anshim-cloudd publishes the
 * last entry's seq, hash and signature on the broker -- audithead.h,
 * witness.h -- and 'audit verify --witness' compares the log with it.)
 *
 * File format (text, append-only, one entry per line, ASCII except valid
 * UTF-8 inside quoted strings; times UTC):
 *
 *   seq=N time=YYYY-MM-DDTHH:MM:SSZ action=trace|reveal case=PIDHEX
 *   from=TIME to=TIME depth=N contacts=N revealed=N who="TEXT"
 *   reason="TEXT" prev=HEX64 hash=HEX64 sig=HEX128\n
 *
 * (all on one line, fields separated by one space).  seq counts 1, 2, 3...
 * and equals the line number.  In TEXT, '"', '\\', control characters,
 * DEL and bytes that are not well-formed UTF-8 are written \xHH (lowercase
 * hex); everything else is raw, so a newline or a quote in free text can
 * never end a field or a line.  Each line must be exactly what the writer
 * would produce for its fields (re-encoded and compared): any other
 * spelling is "malformed".
 *
 *   hash = BLAKE2b-256("anshim-audit-v1\0" || prev || seq u64 || time i64
 *          || who || action || case || from i64 || to i64 || depth u32
 *          || contacts u32 || revealed u32 || reason)
 *   (integers little-endian as in anshim/bytes.h; each string as a u16
 *   length then its bytes)
 *   prev = hash of the previous entry; 32 zero bytes for entry 1
 *   sig  = Ed25519 by the authority over "anshim-audit-sig" (16 bytes)
 *          || hash
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
	char who[64];            /* investigator (--as), 1-63 bytes */
	char action[16];         /* "trace" or "reveal" */
	char case_ref[64];       /* the case's pid: 32 lowercase hex digits --
				  * never a phone number */
	int64_t window_from, window_to; /* unix seconds, from <= to */
	uint32_t depth;
	uint32_t contacts;       /* people reported */
	uint32_t revealed;       /* capsules opened */
	char reason[256];        /* 0-255 bytes, any text */
};

/*
 * Append e (borrowed) to cfg->audit_log, signed with sign.key loaded from
 * cfg->keys_dir.  Opens the log O_APPEND|O_CREAT mode 0600, takes an
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
		    char *err, size_t err_len);

/*
 * Verify the whole log at path against the authority's public key.
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
int cl_audit_verify(const char *path, const uint8_t authority_pk[32], uint64_t *entries,
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

/* ---- the witness's view (audithead.h, witness.h) ----------------------- */

/* One entry as the witness sees it: where it is, its hash, and its own
 * signature (over "anshim-audit-sig" || hash), copied from its line.  seq 0:
 * an empty log. */
struct cl_audit_head {
	uint64_t seq;
	uint8_t hash[CL_AUDIT_HASH_LEN];
	uint8_t sig[64];
};

/*
 * The last entry of the log at path, read from its tail (O(1)): *head gets
 * its seq, hash and signature (seq 0 for an empty log).  The line must be
 * whole and canonical, its hash must hold, and its signature must verify
 * with pk (the key that signs the log).  Takes a shared flock.  On error
 * err says what (the file, what is wrong with its last entry, what to run)
 * and the return value is as cl_audit_append's checks of the last entry:
 * AS_E_TRUNCATED, AS_E_CORRUPT, AS_E_SIGNATURE, -errno (-ENOENT: no log).
 * Any thread.
 */
int cl_audit_last(const char *path, const uint8_t pk[32], struct cl_audit_head *head,
		  char *err, size_t err_len);

/*
 * Walk the whole log as cl_audit_verify does (signatures checked when pk is
 * not NULL; chain, sequence and hashes always) and, if the log reaches
 * entry at (>= 1), give its hash in *at_hash and set *reached to 1 (else
 * 0).  *entries, *first_bad and why as cl_audit_verify; the return value
 * too.  Any thread.
 */
int cl_audit_verify_at(const char *path, const uint8_t *pk, uint64_t at,
		       uint8_t at_hash[CL_AUDIT_HASH_LEN], int *reached, uint64_t *entries,
		       uint64_t *first_bad, char *why, size_t why_len);

/* 1 if sig is the log key pk's signature of an entry with this hash. */
int cl_audit_sig_ok(const uint8_t hash[CL_AUDIT_HASH_LEN], const uint8_t sig[64],
		    const uint8_t pk[32]);

#endif
