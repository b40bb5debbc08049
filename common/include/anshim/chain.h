/*
 * chain.h - the hash chain of a gateway journal.
 *
 * Every record a journal appends commits to everything appended before it,
 * in two parts: the fields a placeholder keeps and the ones it loses.
 *
 *   personal = BLAKE2b-256('P' || kind || pid || entered_by (le32)
 *                          || credential_expires (le64) || capsule)
 *   digest   = BLAKE2b-256('D' || public record || personal)
 *   link     = BLAKE2b-256('L' || prev link || digest)
 *
 * The link before a journal's first record is all zero.  The public record
 * is the record's encoding (record.h) as its placeholder would be
 * (as_record_make_placeholder: kind AS_REC_EXPIRED, pid, capsule,
 * entered_by and credential_expires zero), with the fields a gateway may
 * rewrite after the append set to fixed values, so a digest taken at
 * append time still matches the record when it is sent:
 *   - seq is 0 (a journal renumbers unsent records after a lost journal);
 *   - a record marked AS_REC_CLOCK_UNSYNCED or AS_REC_TIME_CORRECTED has
 *     entry_time 0 and only AS_REC_CLOCK_UNSYNCED of those two flags (its
 *     time is corrected from mono_ms and boot_id, which the digest covers).
 *
 * An AS_REC_EXPIRED placeholder (a record the gateway purged unsent at its
 * retention horizon) has lost its personal fields, so the batch carries,
 * in place of its digest, its seal: the personal hash of the record it
 * replaced.  Its digest is then recomputed from what it still holds (its
 * times, flags, mono_ms, boot_id, headcount, and its kind, which is what
 * says why it is a placeholder) and that seal, and must fold into the
 * chain like any other.  So a placeholder's own fields are bound, and one
 * made from a live record by an edit on disk is a break unless it is as
 * old (or as far in the future) as the gateway's purge would have made it:
 * the receiver checks its times against its own retention and clock skew
 * (as_chain_verify's keep window).  A live record's seal is its digest.
 *
 * A journal id (16 random bytes) names one journal: a journal created anew
 * (lost, deleted, re-initialised) gets a new one; a copy of a journal (a
 * restored backup) keeps it.  Pure; any thread.
 */
#ifndef ANSHIM_CHAIN_H
#define ANSHIM_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/record.h"

#define AS_CHAIN_LEN 32
#define AS_JOURNAL_ID_LEN 16

/* The personal hash of rec (see above). */
void as_chain_record_personal(const struct as_record *rec, uint8_t out[AS_CHAIN_LEN]);

/* The digest of rec's public record and the given personal hash. */
void as_chain_digest_of(const struct as_record *rec, const uint8_t personal[AS_CHAIN_LEN],
			uint8_t out[AS_CHAIN_LEN]);

/* The digest of rec, from its own fields (for a placeholder, as if it
 * had always been one). */
void as_chain_record_digest(const struct as_record *rec, uint8_t out[AS_CHAIN_LEN]);

/* What a journal keeps and a batch carries for rec, from its own fields:
 * its personal hash if it is a placeholder, else its digest. */
void as_chain_record_seal(const struct as_record *rec, uint8_t out[AS_CHAIN_LEN]);

/* Turn the seals of n records (as a batch carries them) into their digests,
 * in place: a placeholder's becomes as_chain_digest_of(its record, seal);
 * a live record's seal is its digest already. */
void as_chain_unseal(const struct as_record *recs, uint8_t (*seals)[AS_CHAIN_LEN], size_t n);

/* out = the link after digest, given the link before it (out may alias
 * prev). */
void as_chain_link(const uint8_t prev[AS_CHAIN_LEN], const uint8_t digest[AS_CHAIN_LEN],
		   uint8_t out[AS_CHAIN_LEN]);

/* out = the link after n digests, starting from prev (n may be 0: out =
 * prev). */
void as_chain_fold(const uint8_t prev[AS_CHAIN_LEN], const uint8_t (*digests)[AS_CHAIN_LEN],
		   size_t n, uint8_t out[AS_CHAIN_LEN]);

/* 1 if a and b are equal (constant time), else 0. */
int as_chain_equal(const uint8_t a[AS_CHAIN_LEN], const uint8_t b[AS_CHAIN_LEN]);

/* 1 if all AS_CHAIN_LEN bytes of h are zero (the link before a journal's
 * first record). */
int as_chain_is_genesis(const uint8_t h[AS_CHAIN_LEN]);

/* What as_chain_verify found. */
enum as_chain_verdict {
	AS_CHAIN_INTACT = 0,         /* digests match the records and fold to head */
	AS_CHAIN_RECORD_CHANGED = 1, /* record *at does not match its digest */
	AS_CHAIN_HEAD_MISMATCH = 2,  /* the digests do not fold from prev to head:
				      * a record was removed from, or put into,
				      * the run after the journal chained it, or
				      * a placeholder's fields were changed */
	AS_CHAIN_EARLY_PLACEHOLDER = 3 /* placeholder *at is younger than the
					* retention horizon: a live record
					* turned into one */
};

/*
 * Judge a run of n records (a batch) with their digests (as_chain_unseal
 * of the batch's seals): every record except an AS_REC_EXPIRED placeholder
 * must have digests[i] as its digest; the digests must fold from prev to
 * head; and then no placeholder may lie in the window in which the
 * receiver keeps live records: entry_time in [keep_from, keep_to] and
 * exit_time <= keep_to (the cloud: now - retention + clock skew, now +
 * clock skew; the gateway purges records before its horizon, or after its
 * now + skew, into placeholders).
 * Returns the first verdict that fails, in that order; *at gets the index
 * of the first offending record
 * (AS_CHAIN_RECORD_CHANGED and AS_CHAIN_EARLY_PLACEHOLDER).
 */
enum as_chain_verdict as_chain_verify(const uint8_t prev[AS_CHAIN_LEN],
				      const uint8_t head[AS_CHAIN_LEN],
				      const struct as_record *recs,
				      const uint8_t (*digests)[AS_CHAIN_LEN], size_t n,
				      int64_t keep_from, int64_t keep_to, size_t *at);

#endif
