/*
 * lmdb_layout.c - the cloud aggregator's LMDB store: its layout, opening
 * and closing it, errors, transactions and meta (see store.h for the
 * contract, lmdb_layout.h for what the store's parts share).  The other
 * parts, one file each: lmdb_registry.c (gateways and venues),
 * lmdb_ingest.c (batches in one write transaction), lmdb_chains.c (journal
 * chains), lmdb_app.c (app check-ins), lmdb_coverage.c (heartbeats),
 * lmdb_stats.c, lmdb_reader.c (queries), lmdb_purge.c (retention),
 * lmdb_tokens.c (visit tokens), lmdb_visits.c (visit blocks) and
 * lmdb_late.c (an index node's visits that arrive after their gateway's
 * cursor passed them).
 *
 * Layout (store version 5): one environment, eighteen named databases.
 * A version 3 store lacks chains and chain_events (and the digests of its
 * visits), and versions 3 and 4 visit_blocks: opened for writing a store
 * gains them, empty, and becomes version 5; read-only it is read without
 * them.  coverage, then the three of visit tokens, came later within
 * version 4: a store opened for writing gains them, empty; read-only, a
 * store without them has no coverage, no tokens.  Every integer in a key
 * or an index entry is big-endian, so LMDB's byte order is numeric order.
 *
 *   meta      name -> value     "version" u32, "fp_key" (16 random bytes),
 *                               "next_vid", "next_person", "next_gw",
 *                               "batches" u64
 *   gateways  gw_id[16] -> registry entry + ingest state (98 bytes)
 *   venues    id u32 -> venue (dwell, longest visit, then three
 *             length-prefixed strings)
 *   counters  reason text -> u64 (rejected batches, by reason)
 *   visit_blocks  first vid (48-bit, a multiple of 32) -> where the
 *             visits of vids first..first+31 came from (see "visit blocks")
 *   visits    version 4's rows, one per visit, until the upgrade moves them
 *             into visit_blocks: vid (48-bit) -> varints gateway index and
 *             record seq, then 8 bytes of its record's chain digest (absent
 *             in visits stored by version 3); empty in a store made by
 *             version 5
 *   by_venue  day u32 || venue u32   -> DUPSORT|DUPFIXED index entries
 *   by_pid    day u32 || person u32  -> the person's index entries that
 *             day, one after the other in (entry, vid) order
 *   persons   pid[16] -> person u32 || capsule fingerprint[8]
 *   capsules  person u32 -> pid[16] || capsule[131]   one per person
 *   paper     person u32 -> capsule fingerprint[8] || capsule[131]
 *   app       'i' || check-in id[32] -> vid || venue u32 || entry i64
 *             'r' || replay key[32]  -> check-in id[32] || entry i64
 *   chains, chain_events: the journal chain followed per gateway and what
 *             it showed (see "journal chains" below)
 *   coverage  gw_id[16] || start (sortable time) -> a coverage period of
 *             that gateway's heartbeats (coverage.h, 166 bytes)
 *   tokens, token_contacts, token_wait: visit tokens the issuer announced,
 *             their use, and records waiting for theirs (lmdb_tokens.c)
 *
 * An index entry (24 bytes) covers what tracing needs, so a query reads
 * the index alone: entry i64 (sign bit flipped, so it sorts) || vid[6] ||
 * other u32 (by_venue: the person; by_pid: the venue) || span u32 (exit -
 * entry, SPAN_NONE when no exit is recorded) || kind << 13 | flags << 11 |
 * headcount (u16).  day is the entry time clamped to 0..UINT32_MAX (1970..
 * 2106) divided by 86400; it only partitions the indexes.
 *
 * Partitioning by day keeps ingest cheap as the store grows: a day's
 * visits land in that day's keys only, so a transaction dirties the pages
 * of the days it writes, not pages spread over every venue's or person's
 * whole history.  A query reads one key per day it spans.  The purge
 * deletes whole keys.  A person has one or two visits a day, so by_pid
 * keeps them in one plain value per (day, person) (a DUPSORT key would
 * cost about 34 bytes of its own); ingest merges new entries into it.
 * The value has no bound of its own below LMDB's (4 GiB): a person with
 * thousands of visits in a day (a pass scanned over and over) costs the
 * commits that add to it more, and stops nothing.
 *
 * A person is a pid with at least one stored visit; its number is handed
 * out on its first visit and keys by_pid and capsules, so each visit and
 * index entry carries 4 bytes instead of a 16-byte pid, and each person's
 * capsule is stored once.  The fingerprint is SipHash-2-4 of the capsule
 * under the store's secret fp_key: a visit that brings the capsule already
 * stored (the usual case: it is part of the credential) writes nothing; a
 * different one replaces it (the latest seen wins).  A paper-register
 * entry (kind AS_REC_MANUAL) brings a freshly sealed capsule every time,
 * and the person's next pass or card brings the credential's again, so
 * such a capsule goes to paper instead, which holds it until a visit brings another (then paper
 * loses the person: the capsule in capsules or the new one wins): paper is
 * small (people whose latest visit was a paper entry), and persons and
 * capsules, whose pages are spread over every person, are written only
 * for new people and new credentials.  Nothing per person changes with
 * each day's visits: the purge finds people left with no visit in by_pid
 * itself.  A record whose pid is all zero (the caller could not derive
 * one) is stored with person 0: found by venue, attributed to nobody, no
 * capsule.
 *
 * Ingest queues each new visit and writes it at commit, sorted by key per
 * database (see "Ingest in two steps" below); readers see nothing of a
 * transaction before its commit.  vids and person numbers only grow (meta
 * keeps the next ones, so purged ones are never reused): a new visit block
 * is an MDB_APPEND and a new person's capsule an MDB_APPEND.
 *
 * Visit blocks.  Where a visit came from (its gateway and seq, and the
 * digest by which a record sent again under another seq is known) is read
 * by vid only: when a batch leaves the journal chain followed, and by the
 * purge.  One LMDB node per visit cost 28 bytes a visit (node header, key,
 * value, page slack) for 12 bytes of value; a block of 32 consecutive vids
 * shares one node and key.  A block's value:
 *   present u32   bit i: vid first + i is stored (never 0: an empty block
 *                 is deleted)
 *   continues u32 bit i: that visit is the previous present one's gateway
 *                 and seq + 1, and its varints are left out (a batch's
 *                 records get consecutive vids, so most visits do)
 *   digest u32    bit i: its 8-byte digest follows (a gateway visit stored
 *                 since version 4; app check-ins have none)
 *   then per present visit, in vid order: varints gateway index (0: an app
 *   check-in) and seq unless it continues, then the digest if it has one.
 * About 9.5 bytes a visit in all.  Ingest appends new blocks and merges
 * its first visits into the last block (written back by delete and
 * MDB_APPEND, so that a full page splits as appends do, not in half).  The
 * purge collects a slice's vids and rewrites each block once.
 *
 * The upgrade from version 4: opening for writing adds visit_blocks and
 * sets version 5 at once; cl_store_upgrade (anshim-cloudd runs it in the
 * background after its start, in paced slices) then moves the first rows
 * of visits, in vid order, into their blocks and deletes them, 100,000 a
 * write transaction.  Each transaction moves its rows whole, so a crash
 * loses nothing and the next call resumes with what is left.  Meanwhile
 * every vid is in exactly one place: lmdb_visits.c looks in its block, then
 * in visits; ingest's new vids (above every row) go to blocks, which the
 * upgrade merges into when it reaches them.  A read-only open of a version
 * 4 store reads visits alone.  Visit counts come from by_venue (one entry
 * per stored visit), whichever place holds the visit.
 *
 * Invariants (each write transaction keeps all of them):
 *  - every stored visit has exactly one entry in by_venue, and one in
 *    by_pid unless unattributed, under the day of its entry, with the same
 *    fields as the visit; the indexes hold nothing else;
 *  - persons has a pid, and capsules its person number, exactly when by_pid
 *    has that person number (between its phases 2 and 3 a purge leaves
 *    people whose visits it deleted; phase 3 removes them); persons'
 *    fingerprint is that of the capsule in capsules; paper holds only people of capsules, with a capsule
 *    that differs from the one there; the latest capsule seen of a person
 *    is paper's if it has one, else capsules';
 *  - app holds an 'i' entry for each stored app visit, and an 'r' entry
 *    for each replay key used by a stored app visit;
 *  - per gateway, through_seq is the highest seq such that seqs 1..through_seq
 *    are all stored (or were placeholders); a record at or below it is a
 *    duplicate and changes nothing; a batch that would leave a hole is
 *    refused whole (res->gap);
 *  - LMDB codes are translated here and nowhere else (store_error).
 *
 * Threads: as store.h says.  The environment is opened MDB_NOTLS, so read
 * transactions are not tied to a thread and each read call opens its own.
 * Write transactions are serialised by LMDB's writer lock, across threads
 * and processes: a purge on a worker thread waits for the ingest thread's
 * commit.  A write transaction is begun and ended on one thread (LMDB's
 * rule): an ingest is committed or aborted by the thread that began it.
 * A thread that asks for a second write on a store while it holds one
 * (which would wait for itself forever) gets -EBUSY instead.  Callbacks run
 * inside a read transaction: they may call read functions, and writes only
 * if their thread holds no write transaction on the store.
 */
#include "lmdb_layout.h"
#include "pg_store.h"

#include "anshim/fileio.h"
#include "anshim/lmdbenv.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static _Atomic uint64_t store_opens;

/* The store whose write transaction this thread holds, if any.  LMDB lets
 * one writer in at a time: another thread waits for it, but the same
 * thread asking again would wait for itself forever. */
static _Thread_local const struct cl_store *thread_writing;

/* ---- errors -------------------------------------------------------------- */

/* What the last failed LMDB call of this thread was, and its code
 * ("appending to visit_blocks: MDB_KEYEXIST"): AS_E_STORE alone says only
 * "database error".  The first failure of a write transaction is kept. */
static _Thread_local char last_error[256];

static const char *mdb_code_name(int rc)
{
	static const char *const names[] = {
		"MDB_KEYEXIST",       "MDB_NOTFOUND",     "MDB_PAGE_NOTFOUND",  "MDB_CORRUPTED",
		"MDB_PANIC",          "MDB_VERSION_MISMATCH", "MDB_INVALID",    "MDB_MAP_FULL",
		"MDB_DBS_FULL",       "MDB_READERS_FULL", "MDB_TLS_FULL",       "MDB_TXN_FULL",
		"MDB_CURSOR_FULL",    "MDB_PAGE_FULL",    "MDB_MAP_RESIZED",    "MDB_INCOMPATIBLE",
		"MDB_BAD_RSLOT",      "MDB_BAD_TXN",      "MDB_BAD_VALSIZE",    "MDB_BAD_DBI",
	};

	if (rc >= MDB_KEYEXIST && rc < MDB_KEYEXIST + (int)(sizeof names / sizeof *names))
		return names[rc - MDB_KEYEXIST];
	return NULL;
}

int store_fail(const char *what, int rc)
{
	const char *name;

	if (!rc || rc == MDB_NOTFOUND || last_error[0])
		return rc;
	name = mdb_code_name(rc);
	if (name)
		snprintf(last_error, sizeof last_error, "%s: %s (%s)", what, name,
			 mdb_strerror(rc));
	else
		snprintf(last_error, sizeof last_error, "%s: %s", what,
			 rc > 0 ? strerror(rc) : as_strerror(rc));
	return rc;
}

void store_note(const char *what, const char *why)
{
	if (!last_error[0])
		snprintf(last_error, sizeof last_error, "%s: %s", what, why);
}

void store_clear_error(void)
{
	last_error[0] = '\0';
}

const char *cl_store_last_error(void)
{
	return last_error;
}

/* LMDB result (0, MDB_*, or a positive errno) -> Anshim code.  Codes that
 * are already Anshim's own or negative errno values pass through, so
 * internal helpers may return either kind. */
int store_error(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_PAGE_FULL:
	/* Another process grew the data past this process's map: reopen the
	 * store with a larger map_size. */
	case MDB_MAP_RESIZED: return AS_E_FULL;
	case MDB_NOTFOUND: return AS_E_NOT_FOUND;
	case MDB_CORRUPTED:
	case MDB_PANIC:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE: return AS_E_CORRUPT;
	default:
		if (rc > 0)
			return -rc;
		if (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE) {
			store_fail("a database operation", rc);
			return AS_E_STORE;
		}
		return rc;
	}
}

/* "what dir: why" into the caller's buffer. */
static void set_err(char *err, size_t err_len, const char *what, const char *dir,
		    const char *why)
{
	if (err && err_len)
		snprintf(err, err_len, "%s %s: %s", what, dir, why);
}

/* ---- transactions -------------------------------------------------------- */

/* Begin a write transaction; waits while another thread or process
 * writes.  -EBUSY if this thread already writes to s (a deadlock). */
int store_write_begin(struct cl_store *s, MDB_txn **txn)
{
	int rc;

	if (s->readonly)
		return -EACCES;
	if (thread_writing == s)
		return -EBUSY;
	last_error[0] = '\0';
	rc = mdb_txn_begin(s->env, NULL, 0, txn);
	if (rc)
		return store_error(store_fail("beginning a write transaction", rc));
	if (!thread_writing)
		thread_writing = s;
	return 0;
}

/* Commit when rc is 0, else abort; returns the translated result. */
int store_write_end(struct cl_store *s, MDB_txn *txn, int rc)
{
	if (rc)
		mdb_txn_abort(txn);
	else
		rc = store_fail("committing", mdb_txn_commit(txn));
	if (thread_writing == s)
		thread_writing = NULL;
	return store_error(rc);
}

void store_write_abort(struct cl_store *s, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	if (thread_writing == s)
		thread_writing = NULL;
}

int store_read_begin(struct cl_store *s, MDB_txn **txn)
{
	return store_error(mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn));
}

/* ---- open / close -------------------------------------------------------- */

static int open_dbs(struct cl_store *s, MDB_txn *txn)
{
	const unsigned create = s->readonly ? 0 : MDB_CREATE;
	const unsigned dup = MDB_DUPSORT | MDB_DUPFIXED;
	struct {
		const char *name;
		unsigned flags;
		MDB_dbi *dbi;
	} dbs[STORE_MAXDBS] = {
		{"meta", 0, &s->meta},         {"gateways", 0, &s->gateways},
		{"venues", 0, &s->venues},     {"counters", 0, &s->counters},
		{"visits", 0, &s->visits},     {"by_venue", dup, &s->by_venue},
		{"by_pid", 0, &s->by_pid},     {"persons", 0, &s->persons},
		{"capsules", 0, &s->capsules}, {"paper", 0, &s->paper},
		{"app", 0, &s->app},           {"chains", 0, &s->chains},
		{"chain_events", 0, &s->chain_events}, {"coverage", 0, &s->coverage},
		{"tokens", 0, &s->tokens},     {"token_contacts", 0, &s->token_contacts},
		{"token_wait", 0, &s->token_wait}, {"visit_blocks", 0, &s->visit_blocks},
	};
	uint8_t buf[FP_KEY_LEN];
	MDB_val key = {7, (void *)"version"}, val, fkey = {6, (void *)"fp_key"};
	int rc, fresh = 0, ndbs;

	/* The version first, so that an older store is named as such. */
	rc = mdb_dbi_open(txn, "meta", create, &s->meta);
	if (rc)
		return rc;
	rc = mdb_get(txn, s->meta, &key, &val);
	if (rc == MDB_NOTFOUND && !s->readonly) {
		/* A new store: its version, and the secret key of the capsule
		 * fingerprints (so that nobody can make two capsules collide). */
		as_put_be32(buf, STORE_VERSION);
		val = (MDB_val){4, buf};
		rc = mdb_put(txn, s->meta, &key, &val, 0);
		randombytes_buf(buf, FP_KEY_LEN);
		val = (MDB_val){FP_KEY_LEN, buf};
		if (!rc)
			rc = mdb_put(txn, s->meta, &fkey, &val, 0);
		sodium_memzero(buf, sizeof buf);
		fresh = 1;
	}
	if (rc)
		return rc;
	if (!fresh && val.mv_size != 4)
		return MDB_CORRUPTED;
	if (!fresh && as_get_be32(val.mv_data) != STORE_VERSION &&
	    as_get_be32(val.mv_data) != 4 && as_get_be32(val.mv_data) != 3)
		return AS_E_VERSION;
	ndbs = STORE_MAXDBS;
	if (!fresh && as_get_be32(val.mv_data) != STORE_VERSION) {
		/* Version 3 lacks the chain databases, and versions 3 and 4
		 * visit_blocks: a writer adds them (empty: every gateway's
		 * chain starts with its next batch; cl_store_upgrade moves the
		 * visits' rows into blocks) and makes it version 5; a reader
		 * goes without. */
		if (s->readonly && as_get_be32(val.mv_data) == 3) {
			ndbs = STORE_V3_DBS;
		} else if (!s->readonly) {
			as_put_be32(buf, STORE_VERSION);
			val = (MDB_val){4, buf};
			rc = mdb_put(txn, s->meta, &key, &val, 0);
		}
	}
	s->no_coverage = 1;
	s->no_tokens = 0;
	s->has_blocks = 0;
	for (int i = 1; i < ndbs && !rc; i++) {
		rc = mdb_dbi_open(txn, dbs[i].name, create | dbs[i].flags, dbs[i].dbi);
		if (dbs[i].dbi == &s->coverage) {
			/* Coverage came after the chains: a reader of a store that
			 * no writer has opened since goes without it too. */
			s->no_coverage = rc != 0;
			if (rc == MDB_NOTFOUND && s->readonly)
				rc = 0;
		} else if (dbs[i].dbi == &s->tokens || dbs[i].dbi == &s->token_contacts ||
			   dbs[i].dbi == &s->token_wait) {
			/* So did the visit tokens' three. */
			if (rc == MDB_NOTFOUND && s->readonly) {
				rc = 0;
				s->no_tokens = 1;
			}
		} else if (dbs[i].dbi == &s->visit_blocks) {
			/* A version 4 store, read-only: its visits' rows only. */
			s->has_blocks = rc == 0;
			if (rc == MDB_NOTFOUND && s->readonly)
				rc = 0;
		}
	}
	s->has_chain = ndbs == STORE_MAXDBS;
	if (ndbs < STORE_MAXDBS)
		s->no_tokens = 1;
	return rc;
}

/*
 * Readers in other processes (anshim-consoled, as a member of the store
 * owner's group) need to read data.mdb and to register in lock.mdb: give
 * the group read on the data and read-write on the lock file, never write
 * on the data.  Whether the group gets in at all is the directory's mode
 * (0700 by default: nobody; the packaged service makes it 0750).  Only
 * the files' owner can change their modes: otherwise they stay as they are.
 */
static void store_share_with_readers(const char *dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof path, "%s/data.mdb", dir) < (int)sizeof path)
		(void)chmod(path, 0640);
	if (snprintf(path, sizeof path, "%s/lock.mdb", dir) < (int)sizeof path)
		(void)chmod(path, 0660);
}

int cl_store_open(struct cl_store **out, const char *dir, uint64_t map_size, int readonly,
		  char *err, size_t err_len)
{
	struct cl_store *s;
	MDB_txn *txn = NULL;
	int rc;

	*out = NULL;
	if (cl_pg_is_uri(dir)) {
		s = calloc(1, sizeof *s);
		if (!s)
			return -ENOMEM;
		s->readonly = readonly ? 1 : 0;
		s->open_serial = atomic_fetch_add(&store_opens, 1) + 1;
		if (err && err_len)
			err[0] = '\0';
		rc = cl_pg_open(&s->pg, dir, readonly, err, err_len);
		if (rc) {
			free(s);
			return rc;
		}
		*out = s;
		return 0;
	}
	if (map_size == 0 && !readonly)
		map_size = sizeof(size_t) >= 8 ? UINT64_C(64) << 30 : UINT64_C(1) << 30;
	if (map_size > SIZE_MAX) {
		set_err(err, err_len, "store", dir,
			"map size does not fit this machine's address space (lower map_size)");
		return AS_E_CONFIG;
	}
	if (sodium_init() < 0)
		return AS_E_CRYPTO;
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->readonly = readonly ? 1 : 0;
	s->open_serial = atomic_fetch_add(&store_opens, 1) + 1;
	rc = readonly ? 0 : as_mkdir_p(dir, 0700);
	if (rc) {
		set_err(err, err_len, "cannot create store directory", dir, as_strerror(rc));
		free(s);
		return rc;
	}
	rc = as_lmdb_env_open(&s->env, dir, &(struct as_lmdb_env_options){
		.max_dbs = STORE_MAXDBS, .map_size = map_size, .readonly = readonly});
	if (!rc)
		rc = mdb_txn_begin(s->env, NULL, readonly ? MDB_RDONLY : 0, &txn);
	if (!rc)
		rc = open_dbs(s, txn);
	if (!rc) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (rc) {
		int code = store_error(rc);

		if (rc == AS_E_VERSION)
			set_err(err, err_len, "store", dir,
				"written by an incompatible version of Anshim");
		else if (rc == MDB_NOTFOUND)
			set_err(err, err_len, "store", dir,
				"is not an Anshim cloud store (open it read-write once to create it)");
		else
			set_err(err, err_len, "cannot open store in", dir,
				rc > 0 || (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE)
					? mdb_strerror(rc) : as_strerror(code));
		if (txn)
			mdb_txn_abort(txn);
		mdb_env_close(s->env);
		free(s);
		return code;
	}
	if (!readonly)
		store_share_with_readers(dir);
	*out = s;
	return 0;
}

void cl_store_close(struct cl_store *s)
{
	if (s && s->pg) {
		cl_pg_close(s->pg);
		free(s);
		return;
	}
	if (!s)
		return;
	mdb_env_close(s->env);
	sodium_memzero(s->token_id_key, sizeof s->token_id_key);
	free(s);
}

/* Walk dbi in key order inside one read transaction; each() gets every
 * entry and returns 0 to go on, > 0 to stop, < 0 to stop with an error
 * (an Anshim code, -errno, or an LMDB code). */
int store_walk(struct cl_store *s, MDB_dbi dbi,
		int (*each)(void *arg, const MDB_val *key, const MDB_val *val), void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = store_read_begin(s, &txn), op = MDB_FIRST, stop = 0;

	if (rc)
		return rc;
	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc) {
		mdb_txn_abort(txn);
		return store_error(rc);
	}
	while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
		op = MDB_NEXT;
		stop = each(arg, &key, &val);
		if (stop)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (stop)
		return stop < 0 ? store_error(stop) : 0;
	return rc == MDB_NOTFOUND ? 0 : store_error(rc);
}

/*
 * Place cur on the first key >= want (klen bytes spelling want_num), given
 * the number of the key it is on in *at (0: not placed): stay if it is
 * want, step forward if it is at most SEEK_NEAR below, seek otherwise.
 * Callers that ask for keys in increasing order read neighbouring keys
 * without descending the tree again.  *at, key and val follow the cursor;
 * MDB_NOTFOUND (*at = UINT64_MAX) when no key is >= want.
 */
#define SEEK_NEAR 16

int store_cursor_seek_near(MDB_cursor *cur, const uint8_t *want, size_t klen, uint64_t want_num,
			    uint64_t *at, MDB_val *key, MDB_val *val)
{
	int rc;

	if (*at == want_num) {
		rc = mdb_cursor_get(cur, key, val, MDB_GET_CURRENT);
	} else if (*at && *at < want_num && want_num - *at <= SEEK_NEAR) {
		do {
			rc = mdb_cursor_get(cur, key, val, MDB_NEXT);
			if (!rc)
				rc = key_number(key, klen, at);
		} while (!rc && *at < want_num);
	} else {
		key->mv_size = klen;
		key->mv_data = (void *)want;
		rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
		if (!rc)
			rc = key_number(key, klen, at);
	}
	if (rc)
		*at = rc == MDB_NOTFOUND ? UINT64_MAX : 0;
	return rc;
}

/* The pid and (if capsule is not NULL) the capsule of person. */
int store_person_get(MDB_txn *txn, MDB_dbi capsules, uint32_t person,
		      uint8_t pid[AS_PID_LEN], uint8_t *capsule)
{
	uint8_t kbuf[4];
	MDB_val key = {4, kbuf}, val;
	int rc;

	as_put_be32(kbuf, person);
	rc = mdb_get(txn, capsules, &key, &val);
	if (rc == MDB_NOTFOUND)
		return MDB_CORRUPTED; /* a person number without its person */
	if (!rc && val.mv_size != CAPSULE_VALUE_LEN)
		rc = MDB_CORRUPTED;
	if (rc)
		return rc;
	memcpy(pid, val.mv_data, AS_PID_LEN);
	if (capsule)
		memcpy(capsule, (const uint8_t *)val.mv_data + AS_PID_LEN, AS_CAPSULE_LEN);
	return 0;
}

/* The person number of pid: 0, MDB_NOTFOUND or an error. */
int store_person_of(MDB_txn *txn, MDB_dbi persons, const uint8_t pid[AS_PID_LEN],
		     uint32_t *person)
{
	MDB_val key = {AS_PID_LEN, (void *)pid}, val;
	int rc = mdb_get(txn, persons, &key, &val);

	if (rc)
		return rc;
	if (val.mv_size != PERSON_VALUE_LEN || as_get_be32(val.mv_data) == 0)
		return MDB_CORRUPTED;
	*person = as_get_be32(val.mv_data);
	return 0;
}
