/*
 * journal.h - the gateway's check-in journal: an append-only LMDB store of
 * records keyed by a monotonic 64-bit sequence number.
 *
 * Databases inside the environment (a directory):
 *   records  be64 seq -> encoded as_record (MDB_APPEND; seqs only grow)
 *   meta     short ASCII names -> be64 values (next_seq, acked_seq, ...)
 *   imports  16-byte keyed row digest -> be64 entry_time || be64 seq, so a
 *            paper-register row imported twice is recognised
 *   chain    be64 seq -> prev link[32] || digest[32]: the hash chain
 *            (anshim/chain.h); every record commits to all appended before
 *            it.  meta holds "journal_id" (16 random bytes, made with the
 *            journal) and "chain_head" (the link after the newest record).
 *
 * A journal written before the chain existed (no journal_id) is given an
 * id and its unsent records (seq > acked_seq) are chained from the genesis
 * link, in seq order, when gw_journal_open first opens it; nothing else
 * changes.  Sent records have no chain entry then (none is sent again).
 *
 * Threads: writes (append, purge, set_meta) come from ONE thread only, the
 * gateway's writer thread.  Read calls (get, stats, scan) may come from any
 * thread; each uses its own read transaction and never blocks the writer.
 * The environment never uses MDB_NOSYNC or MDB_WRITEMAP: a commit that
 * returned 0 is on disk.
 */
#ifndef GW_JOURNAL_H
#define GW_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/chain.h"
#include "anshim/record.h"

#define GW_IMPORT_KEY_LEN 16

struct gw_journal;

/*
 * Open (creating if needed) the journal in directory dir with the given
 * LMDB map size in bytes.  On failure writes a message naming dir into err.
 * The caller owns *out and releases it with gw_journal_close.
 */
int gw_journal_open(struct gw_journal **out, const char *dir, uint64_t map_size,
		    char *err, size_t err_len);
/* Open an existing journal for reading only (e.g. by anshim-gw while the
 * daemon runs; LMDB readers never block the writer). */
int gw_journal_open_readonly(struct gw_journal **out, const char *dir, char *err,
			     size_t err_len);
void gw_journal_close(struct gw_journal *j);

/* One record to append, with its optional import digest (NULL for scans). */
struct gw_journal_entry {
	struct as_record *rec;        /* borrowed; seq is assigned on success */
	const uint8_t *import_key;    /* GW_IMPORT_KEY_LEN bytes, or NULL */
	int duplicate;                /* out: 1 if import_key was already known */
};

/*
 * Append n entries in ONE write transaction and commit it (one fsync for
 * the group).  Entries whose import key is already present are skipped and
 * flagged duplicate.  Returns 0 (every non-duplicate entry is durable and
 * has its seq), AS_E_FULL (map full: nothing was written), or another
 * error (nothing written).  Writer thread only.
 */
int gw_journal_append(struct gw_journal *j, struct gw_journal_entry *entries, size_t n);

/*
 * Delete acknowledged records (seq <= acked_seq) whose entry time is before
 * horizon or sent_horizon; replace unacknowledged records older than
 * horizon, or later than future_horizon, by AS_REC_EXPIRED placeholders (no personal data, same seq, so
 * the cloud's view of this gateway's seqs stays contiguous).  In
 * one transaction, looking at no more than max_visit records starting at
 * *resume_seq (0 = from the start).  When the budget runs out, *more is set
 * and *resume_seq says where to carry on, so appends can interleave between
 * calls.  future_horizon (INT64_MAX: none) is for a trusted clock only: a
 * record dated after it (a row typed while the clock was years ahead) would
 * never age out; records flagged clock-unsynced of boot keep_boot_id (if
 * not NULL) are spared, as they are about to be corrected.  When a pass
 * completes, *resume_seq is 0 and the import keys of
 * rows past the horizon are dropped too.  *deleted gets the count.
 * Writer thread only.
 */
int gw_journal_purge(struct gw_journal *j, int64_t horizon, int64_t sent_horizon,
		     int64_t future_horizon, const uint8_t *keep_boot_id,
		     uint64_t *resume_seq, size_t max_visit, uint64_t *deleted, int *more);

/*
 * Correct the entry time of every record marked AS_REC_CLOCK_UNSYNCED that
 * was made during boot boot_id: entry = mono_ms / 1000 + offset, flag
 * becomes AS_REC_TIME_CORRECTED.  *changed gets the count.  Writer thread
 * only.
 */
int gw_journal_correct_times(struct gw_journal *j, const uint8_t boot_id[AS_BOOT_ID_LEN],
			     int64_t offset, uint64_t *changed);

/*
 * The cloud holds this gateway through seq `through`, beyond the journal's
 * last seq: the journal was lost or restored from an old copy while the
 * device key was kept.  Renumber every unacknowledged record to follow
 * `through` (same order), and set acked_seq = through and next_seq after
 * them, in one transaction, so the cloud takes them as new.  *moved gets
 * the count.  Writer thread only.
 */
int gw_journal_rebase(struct gw_journal *j, uint64_t through, uint64_t *moved);

/* Set a meta value (e.g. "acked_seq").  Writer thread only. */
int gw_journal_set_meta(struct gw_journal *j, const char *name, uint64_t value);
/* Read a meta value; 0 if unset.  Any thread. */
int gw_journal_get_meta(struct gw_journal *j, const char *name, uint64_t *value);

/* Fetch record seq into rec: 0, AS_E_NOT_FOUND, or an error.  Any thread. */
int gw_journal_get(struct gw_journal *j, uint64_t seq, struct as_record *rec);

/*
 * Call fn for each record with seq >= from_seq in ascending order (or, when
 * backwards is set, each record with seq <= from_seq in descending order),
 * until fn returns nonzero or limit records were visited.  Runs inside one
 * read transaction; rec is valid only during the call.  Any thread.
 */
int gw_journal_scan(struct gw_journal *j, uint64_t from_seq, int backwards, size_t limit,
		    int (*fn)(void *ctx, const struct as_record *rec), void *ctx);

struct gw_journal_stats {
	uint64_t records;          /* records in the journal */
	uint64_t last_seq;         /* highest seq ever assigned (0 if none) */
	uint64_t acked_seq;        /* highest seq the cloud acknowledged */
	uint64_t unsent;           /* records with seq > acked_seq */
	int64_t oldest_unsent;     /* entry time of the first unsent record, 0 if none */
	uint64_t map_size;         /* bytes */
	uint64_t map_used;         /* bytes in use (last page number x page size) */
};

/* Fill st.  Any thread. */
int gw_journal_stats(struct gw_journal *j, struct gw_journal_stats *st);

/*
 * Drop this process's resident view of the journal's memory map
 * (madvise MADV_DONTNEED on LMDB's read-only shared mapping).  The pages
 * stay in the page cache and fault back in when read; this only keeps a
 * long journal scan (purge, start-up) from counting the whole file in the
 * daemon's RSS.  Any thread.
 */
void gw_journal_release_pages(struct gw_journal *j);

/* The journal's identity and chain head. */
struct gw_journal_chain {
	uint8_t journal_id[AS_JOURNAL_ID_LEN];
	uint8_t head[AS_CHAIN_LEN];   /* the link after the newest record; all zero
				       * (the genesis) while the journal is empty */
	uint64_t seq;                 /* the newest record's seq (last_seq), 0 if none */
};

/*
 * Fill out with the journal id and the current chain head, from one read
 * transaction (so head and seq agree).  0, or AS_E_NOT_FOUND for a
 * read-only view of a journal that no writer has opened since the chain
 * was introduced.  Any thread.  (Heartbeats publish this.)
 */
int gw_journal_chain_head(struct gw_journal *j, struct gw_journal_chain *out);

/*
 * The chain entries of records first .. first+n-1 (n >= 1), as a batch
 * carries them: prev = the link before record first, digests[i] (caller's
 * array of n) = record first+i's seal (its digest as appended, or for a
 * placeholder the personal hash of the record it replaced: chain.h), head = the link after
 * the last record, as the journal holds it.  AS_E_NOT_FOUND if any of the
 * seqs has no entry.  Any thread.
 */
int gw_journal_chain_range(struct gw_journal *j, uint64_t first, size_t n,
			   uint8_t prev[AS_CHAIN_LEN], uint8_t (*digests)[AS_CHAIN_LEN],
			   uint8_t head[AS_CHAIN_LEN]);

/* The path of the LMDB data file (for tests and status).  Borrowed. */
const char *gw_journal_data_path(const struct gw_journal *j);

#endif
