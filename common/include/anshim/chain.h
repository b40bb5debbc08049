/*
 * chain.h - the hash chain of a gateway journal.
 *
 * Every record a journal appends commits to everything appended before it:
 *
 *   digest = BLAKE2b-256('D' || canonical record)
 *   link   = BLAKE2b-256('L' || prev link || digest)
 *
 * The link before a journal's first record is all zero.  The canonical
 * record is its encoding (record.h) with the fields a gateway may rewrite
 * after the append set to fixed values, so a digest taken at append time
 * still matches the record when it is sent:
 *   - seq is 0 (a journal renumbers unsent records after a lost journal);
 *   - a record marked AS_REC_CLOCK_UNSYNCED or AS_REC_TIME_CORRECTED has
 *     entry_time 0 and only AS_REC_CLOCK_UNSYNCED of those two flags (its
 *     time is corrected from mono_ms and boot_id, which the digest covers).
 * An AS_REC_EXPIRED placeholder keeps the digest of the record it
 * replaced: its own content cannot be checked against it.
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

/* The digest of rec's canonical form (see above). */
void as_chain_record_digest(const struct as_record *rec, uint8_t out[AS_CHAIN_LEN]);

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
	AS_CHAIN_HEAD_MISMATCH = 2   /* the digests do not fold from prev to head:
				      * a record was removed from, or put into,
				      * the run after the journal chained it */
};

/*
 * Judge a run of n records (a batch): every record except an
 * AS_REC_EXPIRED placeholder must have digests[i] as its digest, and the
 * digests must fold from prev to head.  Returns a verdict; *at gets the
 * index of the first changed record (AS_CHAIN_RECORD_CHANGED only).
 */
enum as_chain_verdict as_chain_verify(const uint8_t prev[AS_CHAIN_LEN],
				      const uint8_t head[AS_CHAIN_LEN],
				      const struct as_record *recs,
				      const uint8_t (*digests)[AS_CHAIN_LEN], size_t n, size_t *at);

#endif
