/*
 * journal.c - the LMDB check-in journal (see journal.h).
 *
 * Invariants:
 *  - seqs are assigned here, inside the append transaction, from the
 *    persisted meta value next_seq, so they never repeat, even after the
 *    newest records are purged or the process dies mid-commit;
 *  - a failed transaction is aborted whole: an append either stores every
 *    non-duplicate entry of the group or none of them;
 *  - every unsent record has a chain entry (link before it, its digest as
 *    appended) written in the same transaction as the record, and
 *    "chain_head" is the link after the newest record; rebase moves
 *    entries with their records, purge deletes them with theirs, nothing
 *    else rewrites them;
 *  - LMDB return codes are translated here and nowhere else
 *    (MDB_MAP_FULL -> AS_E_FULL, MDB_CORRUPTED/PANIC -> AS_E_CORRUPT);
 *  - appends leave a reserve of free pages (reserve_pages), so that an
 *    acknowledgement or a purge can always commit.
 * Threads: see journal.h (one writer thread; readers anywhere, MDB_NOTLS).
 */
#include "journal.h"

#include "anshim/bytes.h"
#include "anshim/chain.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/lmdbenv.h"

#include <sodium.h>

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct gw_journal {
	MDB_env *env;
	MDB_dbi records;
	MDB_dbi meta;
	MDB_dbi imports;
	MDB_dbi chain;
	int has_chain;           /* 0: a read-only view of a journal not yet upgraded */
	uint64_t map_size;
	size_t purge_slice;      /* adaptive slice size (writer thread) */
	char data_path[PATH_MAX];
};

static int journal_error(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_PAGE_FULL: return AS_E_FULL;
	case MDB_NOTFOUND: return AS_E_NOT_FOUND;
	case MDB_CORRUPTED:
	case MDB_PANIC:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH: return AS_E_CORRUPT;
	default: return rc > 0 ? -rc : AS_E_STORE;
	}
}


/* ---- the hash chain (chain.h) ----
 * chain  be64 seq -> prev link[32] || seal[32]: the link before the
 *        record and its seal (chain.h): the record's digest as appended,
 *        or for a placeholder the personal hash of the record it replaced,
 *        which the purge that made it writes in place of the digest (same
 *        size, so a full journal can still purge).  The link after it is
 *        as_chain_link(prev, digest), a placeholder's digest recomputed
 *        from it and its seal.  Entries move with their records (rebase)
 *        and go with them (purge); a placeholder keeps its entry.
 * meta   "journal_id" (16 random bytes, made when the journal is),
 *        "chain_head" (the link after the newest record; absent = genesis).
 */
#define CHAIN_VALUE_LEN (2 * AS_CHAIN_LEN)


/* The chain head in txn (genesis if none yet). */
static int chain_head_get(struct gw_journal *j, MDB_txn *txn, uint8_t head[AS_CHAIN_LEN])
{
	int rc = as_lmdb_meta_get_bytes(txn, j->meta, "chain_head", head, AS_CHAIN_LEN);

	if (rc == MDB_NOTFOUND) {
		memset(head, 0, AS_CHAIN_LEN);
		rc = 0;
	}
	return rc;
}

/* Append rec (as encoded in rec_buf) to the chain: its entry under seq,
 * and head moves past it. */
static int chain_put(struct gw_journal *j, MDB_txn *txn, uint64_t seq,
		     const struct as_record *rec, uint8_t head[AS_CHAIN_LEN], unsigned flags)
{
	uint8_t key_buf[8], value[CHAIN_VALUE_LEN];
	MDB_val key = {8, key_buf}, val = {CHAIN_VALUE_LEN, value};

	uint8_t digest[AS_CHAIN_LEN];

	memcpy(value, head, AS_CHAIN_LEN);
	/* Chaining a journal that already held placeholders (an upgrade):
	 * each is chained as itself. */
	as_chain_record_digest(rec, digest);
	as_chain_record_seal(rec, value + AS_CHAIN_LEN);
	as_chain_link(head, digest, head);
	as_put_be64(key_buf, seq);
	return mdb_put(txn, j->chain, &key, &val, flags);
}

/*
 * A journal without a journal id is new, or was written by a version
 * without the chain: give it an id, and chain the records it has not sent
 * (from the genesis link, in seq order, placeholders as they are now; sent
 * ones are never sent again, so they need no entry).  The cloud sees a
 * journal it has not met and starts following it there.
 */
static int chain_upgrade(struct gw_journal *j, MDB_txn *txn)
{
	uint8_t id[AS_JOURNAL_ID_LEN], head[AS_CHAIN_LEN] = {0}, start[8];
	MDB_cursor *cur;
	MDB_val key = {8, start}, val;
	uint64_t acked = 0;
	int rc = as_lmdb_meta_get_bytes(txn, j->meta, "journal_id", id, sizeof id), op = MDB_SET_RANGE;

	if (rc != MDB_NOTFOUND)
		return rc;
	randombytes_buf(id, sizeof id);
	rc = as_lmdb_meta_put_bytes(txn, j->meta, "journal_id", id, sizeof id);
	if (!rc)
		rc = mdb_drop(txn, j->chain, 0);
	if (!rc)
		rc = as_lmdb_meta_get_u64(txn, j->meta, "acked_seq", &acked);
	if (!rc)
		rc = mdb_cursor_open(txn, j->records, &cur);
	if (rc)
		return rc;
	as_put_be64(start, acked + 1);
	while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
		struct as_record rec;

		op = MDB_NEXT;
		if (key.mv_size != 8 || as_record_decode(&rec, val.mv_data, val.mv_size)) {
			rc = MDB_CORRUPTED;
			break;
		}
		rc = chain_put(j, txn, as_get_be64(key.mv_data), &rec, head, MDB_APPEND);
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (!rc)
		rc = as_lmdb_meta_put_bytes(txn, j->meta, "chain_head", head, sizeof head);
	return rc;
}

/* Free the reader slots of processes that died inside a read transaction
 * (a SIGKILLed daemon or anshim-gw while another process kept the journal
 * open, so LMDB did not reset its reader table).  LMDB reuses no page freed
 * after the oldest snapshot still marked as read, so one such slot would
 * keep a full journal full for good, purges and acknowledgements included.
 * Returns how many slots were freed. */
static int clear_dead_readers(struct gw_journal *j)
{
	int dead = 0;

	if (mdb_reader_check(j->env, &dead) != 0)
		return 0;
	return dead;
}

static int journal_open(struct gw_journal **out, const char *dir, uint64_t map_size,
			int readonly, char *err, size_t err_len)
{
	struct gw_journal *j;
	MDB_txn *txn = NULL;
	int rc;

	*out = NULL;
	if (map_size > SIZE_MAX) {
		snprintf(err, err_len, "journal map size %llu does not fit this machine's "
			 "address space (lower map_size)", (unsigned long long)map_size);
		return AS_E_CONFIG;
	}
	j = calloc(1, sizeof *j);
	if (!j)
		return -ENOMEM;
	j->map_size = map_size;
	snprintf(j->data_path, sizeof j->data_path, "%s/data.mdb", dir);
	rc = readonly ? 0 : as_mkdir_p(dir, 0700);
	if (rc) {
		snprintf(err, err_len, "cannot create journal directory %s: %s", dir, as_strerror(rc));
		free(j);
		return rc;
	}
	rc = as_lmdb_env_open(&j->env, dir, &(struct as_lmdb_env_options){
		.max_dbs = 5, .map_size = map_size, .readonly = readonly, .check_readers = 1});
	if (!rc)
		rc = mdb_txn_begin(j->env, NULL, readonly ? MDB_RDONLY : 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, "records", readonly ? 0 : MDB_CREATE, &j->records);
	if (!rc)
		rc = mdb_dbi_open(txn, "meta", readonly ? 0 : MDB_CREATE, &j->meta);
	if (!rc)
		rc = mdb_dbi_open(txn, "imports", readonly ? 0 : MDB_CREATE, &j->imports);
	if (!rc) {
		rc = mdb_dbi_open(txn, "chain", readonly ? 0 : MDB_CREATE, &j->chain);
		j->has_chain = rc == 0;
		if (rc == MDB_NOTFOUND && readonly)
			rc = 0;
	}
	if (!rc && !readonly)
		rc = chain_upgrade(j, txn);
	if (!rc) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (rc) {
		snprintf(err, err_len, "cannot open journal in %s: %s%s", dir, mdb_strerror(rc),
			 rc == MDB_MAP_FULL ? " (the journal is full: chaining its unsent records "
					       "for this version needs 72 bytes each; raise map_size)"
					    : "");
		if (txn)
			mdb_txn_abort(txn);
		mdb_env_close(j->env);
		free(j);
		return journal_error(rc);
	}
	*out = j;
	return 0;
}

int gw_journal_open(struct gw_journal **out, const char *dir, uint64_t map_size,
		    char *err, size_t err_len)
{
	return journal_open(out, dir, map_size, 0, err, err_len);
}

int gw_journal_open_readonly(struct gw_journal **out, const char *dir, char *err,
			     size_t err_len)
{
	return journal_open(out, dir, 0, 1, err, err_len);
}

void gw_journal_close(struct gw_journal *j)
{
	if (!j)
		return;
	mdb_env_close(j->env);
	free(j);
}

void gw_journal_release_pages(struct gw_journal *j)
{
	char line[PATH_MAX + 128];
	FILE *maps = fopen("/proc/self/maps", "re");

	/* LMDB does not report where it mapped the file (me_mapaddr is only
	 * set with MDB_FIXEDMAP), so find the mapping of data.mdb. */
	if (!maps)
		return;
	for (int n = 0; n < 100000 && fgets(line, sizeof line, maps); n++) {
		unsigned long start, end;
		char *path = strchr(line, '/');
		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		if (strcmp(path, j->data_path) != 0 || sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		madvise((void *)start, end - start, MADV_DONTNEED);
	}
	fclose(maps);
}

const char *gw_journal_data_path(const struct gw_journal *j)
{
	return j->data_path;
}


/*
 * Every LMDB write copies the pages it touches (copy-on-write), deletes
 * included, and the pages a commit frees are reusable only from the commit
 * after next.  So a map that appends filled to the last page could never be
 * written again: not an acknowledgement, not a purge.  Appends therefore
 * leave a reserve free for those: 1/32 of the map, at least 32 pages and at
 * most 4096 (128 KiB to 16 MiB with 4 KiB pages; never more than a quarter
 * of a map that small).  A purge slice halves until it fits in it (see
 * gw_journal_purge).
 */
static size_t reserve_pages(size_t map_pages)
{
	size_t r = map_pages / 32;

	if (r < 32)
		r = 32;
	if (r > 4096)
		r = 4096;
	return r < map_pages / 4 ? r : map_pages / 4;
}

/* Pages an append of n records may take: each record, its chain entry and
 * an import key with their keys and node headers, at half-full pages, plus
 * one. */
static size_t append_pages(size_t n, size_t page_size)
{
	size_t per_record = AS_RECORD_LEN + CHAIN_VALUE_LEN + 2 * GW_IMPORT_KEY_LEN + 3 * (8 + 8);

	return n * per_record * 2 / page_size + 1;
}

/* 0 if an append of n records leaves the reserve free, AS_E_FULL if not.
 * Pages past the last used one are free; when they alone do not cover it,
 * the free list (read in a read-only transaction: LMDB does not open it in
 * a write one) adds the pages freed by commits older than the last one. */
/* append_room's answer when only the pages the last commit freed would
 * make room: LMDB reuses them from the commit after next. */
#define ROOM_AFTER_A_COMMIT 1

static int append_room(struct gw_journal *j, size_t n)
{
	MDB_envinfo info;
	MDB_stat st;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	size_t map_pages, avail, need, reusable_below, freed_last = 0;
	int rc, op = MDB_FIRST;

	if (mdb_env_info(j->env, &info) || mdb_env_stat(j->env, &st) || st.ms_psize == 0)
		return 0;
	map_pages = info.me_mapsize / st.ms_psize;
	avail = map_pages > info.me_last_pgno + 1 ? map_pages - (info.me_last_pgno + 1) : 0;
	need = reserve_pages(map_pages) + append_pages(n, st.ms_psize);
	if (avail >= need)
		return 0;
	rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return journal_error(rc);
	reusable_below = mdb_txn_id(txn);
	rc = mdb_cursor_open(txn, 0, &cur);
	if (rc) {
		mdb_txn_abort(txn);
		return journal_error(rc);
	}
	while (avail < need && (rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
		size_t txnid, count;

		op = MDB_NEXT;
		if (key.mv_size != sizeof txnid || val.mv_size < sizeof count) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(&txnid, key.mv_data, sizeof txnid);
		memcpy(&count, val.mv_data, sizeof count);
		if (txnid >= reusable_below) {
			freed_last += count;
			continue;
		}
		avail += count;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc)
		return journal_error(rc);
	if (avail >= need)
		return 0;
	return avail + freed_last >= need ? ROOM_AFTER_A_COMMIT : AS_E_FULL;
}

/* One small commit (next_seq written again as it is), after which LMDB
 * may reuse the pages the commit before it freed: without it, a journal
 * whose last purge or ack freed the room would refuse every record, since
 * a refused record commits nothing. */
static int commit_to_release_pages(struct gw_journal *j)
{
	MDB_txn *txn;
	uint64_t next_seq;
	int rc = mdb_txn_begin(j->env, NULL, 0, &txn);

	if (rc)
		return journal_error(rc);
	rc = as_lmdb_meta_get_u64(txn, j->meta, "next_seq", &next_seq);
	if (!rc)
		rc = as_lmdb_meta_put_u64(txn, j->meta, "next_seq", next_seq);
	if (rc) {
		mdb_txn_abort(txn);
		return journal_error(rc);
	}
	rc = mdb_txn_commit(txn);
	return rc ? journal_error(rc) : 0;
}

static int append_txn(struct gw_journal *j, struct gw_journal_entry *entries, size_t n)
{
	MDB_txn *txn;
	uint64_t next_seq;
	uint8_t head[AS_CHAIN_LEN];
	int rc;

	rc = append_room(j, n);
	if (rc == ROOM_AFTER_A_COMMIT) {
		rc = commit_to_release_pages(j);
		if (!rc)
			rc = append_room(j, n);
		if (rc == ROOM_AFTER_A_COMMIT)
			rc = AS_E_FULL;
	}
	if (rc) {
		for (size_t i = 0; i < n; i++)
			entries[i].rec->seq = 0;
		return rc;
	}
	rc = mdb_txn_begin(j->env, NULL, 0, &txn);
	if (rc)
		return journal_error(rc);
	rc = as_lmdb_meta_get_u64(txn, j->meta, "next_seq", &next_seq);
	if (!rc && next_seq == 0)
		next_seq = 1;
	if (!rc)
		rc = chain_head_get(j, txn, head);
	for (size_t i = 0; i < n && !rc; i++) {
		struct gw_journal_entry *e = &entries[i];
		uint8_t key_buf[8], rec_buf[AS_RECORD_LEN], import_val[16];
		MDB_val key = {8, key_buf}, val = {AS_RECORD_LEN, rec_buf};

		e->duplicate = 0;
		if (e->import_key) {
			MDB_val ik = {GW_IMPORT_KEY_LEN, (void *)e->import_key}, iv = {16, import_val};
			as_put_be64(import_val, (uint64_t)e->rec->entry_time);
			as_put_be64(import_val + 8, next_seq);
			rc = mdb_put(txn, j->imports, &ik, &iv, MDB_NOOVERWRITE);
			if (rc == MDB_KEYEXIST) {
				e->duplicate = 1;
				rc = 0;
				continue;
			}
			if (rc)
				break;
		}
		e->rec->seq = next_seq;
		if (as_record_encode(rec_buf, sizeof rec_buf, e->rec) != AS_RECORD_LEN) {
			rc = MDB_BAD_VALSIZE;
			break;
		}
		{
			/* Store only what reads back: a record the decoder refuses
			 * would make the journal unreadable and unpurgeable. */
			struct as_record check;
			if (as_record_decode(&check, rec_buf, sizeof rec_buf) != 0) {
				mdb_txn_abort(txn);
				for (size_t k = 0; k < n; k++)
					entries[k].rec->seq = 0;
				return AS_E_FIELD;
			}
		}
		as_put_be64(key_buf, next_seq);
		rc = mdb_put(txn, j->records, &key, &val, MDB_APPEND);
		if (!rc)
			rc = chain_put(j, txn, next_seq, e->rec, head, MDB_APPEND);
		next_seq++;
	}
	if (!rc)
		rc = as_lmdb_meta_put_u64(txn, j->meta, "next_seq", next_seq);
	if (!rc)
		rc = as_lmdb_meta_put_bytes(txn, j->meta, "chain_head", head, sizeof head);
	if (rc) {
		mdb_txn_abort(txn);
		for (size_t i = 0; i < n; i++)
			entries[i].rec->seq = 0;
		return journal_error(rc);
	}
	rc = mdb_txn_commit(txn);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			entries[i].rec->seq = 0;
		return journal_error(rc);
	}
	return 0;
}

int gw_journal_append(struct gw_journal *j, struct gw_journal_entry *entries, size_t n)
{
	int rc = append_txn(j, entries, n);

	if (rc == AS_E_FULL && clear_dead_readers(j) > 0)
		rc = append_txn(j, entries, n);
	return rc;
}

/* One purge transaction over at most max_visit records (see
 * gw_journal_purge); *visited gets how many it looked at. */
static int purge_slice(struct gw_journal *j, int64_t horizon, int64_t sent_horizon,
		       int64_t future_horizon, const uint8_t *keep_boot_id, uint64_t *resume_seq, size_t max_visit, uint64_t *deleted, int *more,
		       size_t *visited_out)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	uint8_t start[8];
	MDB_val key = {8, start}, val;
	uint64_t acked;
	size_t visited = 0;
	int rc, op = MDB_SET_RANGE;

	*deleted = 0;
	*more = 0;
	rc = mdb_txn_begin(j->env, NULL, 0, &txn);
	if (rc)
		return journal_error(rc);
	rc = as_lmdb_meta_get_u64(txn, j->meta, "acked_seq", &acked);
	if (!rc)
		rc = mdb_cursor_open(txn, j->records, &cur);
	if (rc) {
		mdb_txn_abort(txn);
		return journal_error(rc);
	}
	/* Records are in seq order, not time order (a paper-register entry
	 * typed today may be for last week), so every record is looked at;
	 * the visit budget keeps one transaction short and *resume_seq lets
	 * the next call carry on where this one stopped. */
	as_put_be64(start, *resume_seq);
	while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
		struct as_record rec;
		int expired;

		op = MDB_NEXT;
		if (visited++ >= max_visit) {
			*resume_seq = as_get_be64(key.mv_data);
			*more = 1;
			break;
		}
		if (as_record_decode(&rec, val.mv_data, val.mv_size) != 0) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (rec.kind == AS_REC_EXPIRED && rec.seq > acked)
			continue; /* a placeholder waiting to be sent */
		expired = rec.entry_time < horizon ||
			  (rec.seq <= acked && rec.entry_time < sent_horizon) ||
			  ((rec.entry_time > future_horizon || rec.exit_time > future_horizon) &&
			   !(keep_boot_id && (rec.flags & AS_REC_CLOCK_UNSYNCED) &&
			     memcmp(rec.boot_id, keep_boot_id, AS_BOOT_ID_LEN) == 0));
		if (!expired)
			continue;
		if (rec.seq > acked) {
			/* Never sent, but past retention (or dated in the
			 * future, which the cloud refuses): keep a placeholder
			 * with no personal data so the cloud's seqs stay
			 * contiguous. */
			uint8_t buf[AS_RECORD_LEN], centry[CHAIN_VALUE_LEN], seq_key[8];
			MDB_val nval = {AS_RECORD_LEN, buf}, ckey = {8, seq_key}, cval;

			/* Its chain entry's seal becomes the personal hash it
			 * loses, so the cloud can still fold its digest. */
			memcpy(seq_key, key.mv_data, 8);
			rc = mdb_get(txn, j->chain, &ckey, &cval);
			if (!rc && cval.mv_size != CHAIN_VALUE_LEN)
				rc = MDB_CORRUPTED;
			if (!rc) {
				memcpy(centry, cval.mv_data, AS_CHAIN_LEN);
				as_chain_record_personal(&rec, centry + AS_CHAIN_LEN);
				cval.mv_data = centry;
				rc = mdb_put(txn, j->chain, &ckey, &cval, 0);
			}
			if (rc)
				break;
			as_record_make_placeholder(&rec);
			as_record_encode(buf, sizeof buf, &rec);
			rc = mdb_cursor_put(cur, &key, &nval, MDB_CURRENT);
		} else {
			uint8_t seq_key[8];
			MDB_val ckey = {8, seq_key};

			memcpy(seq_key, key.mv_data, 8);
			rc = mdb_cursor_del(cur, 0);
			if (!rc)
				rc = mdb_del(txn, j->chain, &ckey, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
		if (rc)
			break;
		(*deleted)++;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		rc = 0;
		*resume_seq = 0;
	}
	/* Import keys of purged rows: those whose entry time is past the
	 * horizon (a row that old is refused at import anyway). */
	if (!rc && !*more) {
		rc = mdb_cursor_open(txn, j->imports, &cur);
		for (op = MDB_FIRST; !rc && (rc = mdb_cursor_get(cur, &key, &val, op)) == 0;) {
			op = MDB_NEXT;
			if (val.mv_size == 16 && (int64_t)as_get_be64(val.mv_data) < horizon)
				rc = mdb_cursor_del(cur, 0);
		}
		if (rc == MDB_NOTFOUND)
			rc = 0;
		mdb_cursor_close(cur);
	}
	*visited_out = visited;
	if (rc) {
		mdb_txn_abort(txn);
		*deleted = 0;
		return journal_error(rc);
	}
	rc = mdb_txn_commit(txn);
	if (rc)
		*deleted = 0;
	return journal_error(rc);
}

int gw_journal_purge(struct gw_journal *j, int64_t horizon, int64_t sent_horizon,
		     int64_t future_horizon, const uint8_t *keep_boot_id, uint64_t *resume_seq, size_t max_visit, uint64_t *deleted, int *more)
{
	size_t budget = max_visit ? max_visit : 1;
	int rc = 0;

	*deleted = 0;
	*more = 0;
	/* Rewriting records copies pages.  In a full map a big slice can find
	 * no pages to copy into; a smaller one can, and its commit frees the
	 * old copies for the next.  So the slice halves on AS_E_FULL and grows
	 * back on success. */
	if (j->purge_slice == 0 || j->purge_slice > budget)
		j->purge_slice = budget;
	while (budget > 0) {
		size_t n = j->purge_slice < budget ? j->purge_slice : budget, visited = 0;
		uint64_t d = 0, resume = *resume_seq;
		int slice_more = 0;

		rc = purge_slice(j, horizon, sent_horizon, future_horizon, keep_boot_id, &resume, n,
				 &d, &slice_more, &visited);
		if (rc == AS_E_FULL && clear_dead_readers(j) > 0)
			continue;
		if (rc == AS_E_FULL && n > 1) {
			j->purge_slice = n / 2;
			continue;
		}
		if (rc)
			break;
		*resume_seq = resume;
		*deleted += d;
		if (j->purge_slice < max_visit)
			j->purge_slice = j->purge_slice * 2 < max_visit ? j->purge_slice * 2 : max_visit;
		if (!slice_more) {
			*more = 0;
			return 0;
		}
		*more = 1;
		budget -= visited < budget ? (visited ? visited : 1) : budget;
	}
	return rc;
}

int gw_journal_correct_times(struct gw_journal *j, const uint8_t boot_id[AS_BOOT_ID_LEN],
			     int64_t offset, uint64_t *changed)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc, op = MDB_FIRST;

	*changed = 0;
	rc = mdb_txn_begin(j->env, NULL, 0, &txn);
	if (rc)
		return journal_error(rc);
	rc = mdb_cursor_open(txn, j->records, &cur);
	while (!rc && (rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
		struct as_record rec;
		uint8_t buf[AS_RECORD_LEN];
		MDB_val nval = {AS_RECORD_LEN, buf};

		op = MDB_NEXT;
		if (as_record_decode(&rec, val.mv_data, val.mv_size)) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (!(rec.flags & AS_REC_CLOCK_UNSYNCED) ||
		    memcmp(rec.boot_id, boot_id, AS_BOOT_ID_LEN) != 0)
			continue;
		rec.entry_time = (int64_t)(rec.mono_ms / 1000) + offset;
		rec.flags = (uint8_t)((rec.flags & ~AS_REC_CLOCK_UNSYNCED) | AS_REC_TIME_CORRECTED);
		as_record_encode(buf, sizeof buf, &rec);
		rc = mdb_cursor_put(cur, &key, &nval, MDB_CURRENT);
		if (!rc)
			(*changed)++;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (!rc)
		mdb_cursor_close(cur);
	if (rc) {
		mdb_txn_abort(txn);
		*changed = 0;
		return journal_error(rc);
	}
	return journal_error(mdb_txn_commit(txn));
}

int gw_journal_rebase(struct gw_journal *j, uint64_t through, uint64_t *moved)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	uint64_t acked, next_seq, n = 0;
	uint8_t (*recs)[AS_RECORD_LEN] = NULL;
	uint8_t (*links)[CHAIN_VALUE_LEN] = NULL;
	int rc;

	*moved = 0;
	rc = mdb_txn_begin(j->env, NULL, 0, &txn);
	if (rc)
		return journal_error(rc);
	rc = as_lmdb_meta_get_u64(txn, j->meta, "acked_seq", &acked);
	if (!rc)
		rc = as_lmdb_meta_get_u64(txn, j->meta, "next_seq", &next_seq);
	if (!rc && next_seq > through + 1) {
		/* Not behind after all (a stale ack): nothing to do. */
		mdb_txn_abort(txn);
		return 0;
	}
	if (!rc && next_seq > acked + 1) {
		recs = malloc((size_t)(next_seq - acked - 1) * AS_RECORD_LEN);
		links = malloc((size_t)(next_seq - acked - 1) * CHAIN_VALUE_LEN);
		if (!recs || !links)
			rc = ENOMEM;
	}
	if (!rc)
		rc = mdb_cursor_open(txn, j->records, &cur);
	if (!rc) {
		uint8_t start[8];
		int op = MDB_SET_RANGE;

		as_put_be64(start, acked + 1);
		key.mv_size = 8;
		key.mv_data = start;
		/* Take the unacknowledged records out... */
		while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0 && recs &&
		       n < next_seq - acked - 1) {
			op = MDB_NEXT;
			if (val.mv_size != AS_RECORD_LEN) {
				rc = MDB_CORRUPTED;
				break;
			}
			memcpy(recs[n], val.mv_data, AS_RECORD_LEN);
			{
				/* The record's chain entry moves with it. */
				uint8_t seq_key[8];
				MDB_val ckey = {8, seq_key}, cval;

				memcpy(seq_key, key.mv_data, 8);
				rc = mdb_get(txn, j->chain, &ckey, &cval);
				if (!rc && cval.mv_size != CHAIN_VALUE_LEN)
					rc = MDB_CORRUPTED;
				if (!rc) {
					memcpy(links[n], cval.mv_data, CHAIN_VALUE_LEN);
					rc = mdb_del(txn, j->chain, &ckey, NULL);
				}
				if (rc) {
					rc = rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
					break;
				}
			}
			n++;
			rc = mdb_cursor_del(cur, 0);
			if (rc)
				break;
		}
		if (rc == MDB_NOTFOUND)
			rc = 0;
		mdb_cursor_close(cur);
	}
	/* ...and put them back after `through`, in the same order. */
	for (uint64_t i = 0; !rc && i < n; i++) {
		struct as_record rec;
		uint8_t key_buf[8], buf[AS_RECORD_LEN];
		MDB_val k = {8, key_buf}, v = {AS_RECORD_LEN, buf};

		if (as_record_decode(&rec, recs[i], AS_RECORD_LEN)) {
			rc = MDB_CORRUPTED;
			break;
		}
		rec.seq = through + 1 + i;
		as_record_encode(buf, sizeof buf, &rec);
		as_put_be64(key_buf, rec.seq);
		rc = mdb_put(txn, j->records, &k, &v, MDB_APPEND);
		if (!rc) {
			MDB_val cval = {CHAIN_VALUE_LEN, links[i]};
			rc = mdb_put(txn, j->chain, &k, &cval, MDB_APPEND);
		}
	}
	if (!rc)
		rc = as_lmdb_meta_put_u64(txn, j->meta, "acked_seq", through);
	if (!rc)
		rc = as_lmdb_meta_put_u64(txn, j->meta, "next_seq", through + 1 + n);
	free(recs);
	free(links);
	if (rc) {
		mdb_txn_abort(txn);
		return journal_error(rc);
	}
	rc = mdb_txn_commit(txn);
	if (!rc)
		*moved = n;
	return journal_error(rc);
}

static int set_meta_txn(struct gw_journal *j, const char *name, uint64_t value)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(j->env, NULL, 0, &txn);

	if (rc)
		return journal_error(rc);
	rc = as_lmdb_meta_put_u64(txn, j->meta, name, value);
	if (rc) {
		mdb_txn_abort(txn);
		return journal_error(rc);
	}
	return journal_error(mdb_txn_commit(txn));
}

int gw_journal_set_meta(struct gw_journal *j, const char *name, uint64_t value)
{
	int rc = set_meta_txn(j, name, value);

	if (rc == AS_E_FULL && clear_dead_readers(j) > 0)
		rc = set_meta_txn(j, name, value);
	return rc;
}

int gw_journal_get_meta(struct gw_journal *j, const char *name, uint64_t *value)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn);

	if (rc)
		return journal_error(rc);
	rc = as_lmdb_meta_get_u64(txn, j->meta, name, value);
	mdb_txn_abort(txn);
	return journal_error(rc);
}

int gw_journal_get(struct gw_journal *j, uint64_t seq, struct as_record *rec)
{
	MDB_txn *txn;
	uint8_t key_buf[8];
	MDB_val key = {8, key_buf}, val;
	int rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn);

	if (rc)
		return journal_error(rc);
	as_put_be64(key_buf, seq);
	rc = mdb_get(txn, j->records, &key, &val);
	if (!rc)
		rc = as_record_decode(rec, val.mv_data, val.mv_size) ? MDB_CORRUPTED : 0;
	mdb_txn_abort(txn);
	return journal_error(rc);
}

int gw_journal_scan(struct gw_journal *j, uint64_t from_seq, int backwards, size_t limit,
		    int (*fn)(void *ctx, const struct as_record *rec), void *ctx)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	uint8_t key_buf[8];
	MDB_val key = {8, key_buf}, val;
	size_t visited = 0;
	int rc, op;

	rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return journal_error(rc);
	rc = mdb_cursor_open(txn, j->records, &cur);
	if (rc) {
		mdb_txn_abort(txn);
		return journal_error(rc);
	}
	as_put_be64(key_buf, from_seq);
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	if (backwards) {
		/* Position on the last key <= from_seq. */
		if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
		else if (!rc && as_get_be64(key.mv_data) > from_seq)
			rc = mdb_cursor_get(cur, &key, &val, MDB_PREV);
	}
	op = backwards ? MDB_PREV : MDB_NEXT;
	while (!rc && visited < limit) {
		struct as_record rec;

		if (key.mv_size != 8 || as_record_decode(&rec, val.mv_data, val.mv_size)) {
			rc = MDB_CORRUPTED;
			break;
		}
		visited++;
		if (fn(ctx, &rec))
			break;
		rc = mdb_cursor_get(cur, &key, &val, op);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return journal_error(rc);
}

int gw_journal_stats(struct gw_journal *j, struct gw_journal_stats *st)
{
	MDB_txn *txn;
	MDB_stat ms;
	MDB_envinfo info;
	int rc;

	memset(st, 0, sizeof *st);
	rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return journal_error(rc);
	rc = mdb_stat(txn, j->records, &ms);
	if (!rc)
		rc = as_lmdb_meta_get_u64(txn, j->meta, "next_seq", &st->last_seq);
	if (!rc)
		rc = as_lmdb_meta_get_u64(txn, j->meta, "acked_seq", &st->acked_seq);
	if (!rc) {
		st->records = ms.ms_entries;
		st->last_seq = st->last_seq ? st->last_seq - 1 : 0;
		/* Nothing above acked_seq is ever deleted (past retention it
		 * becomes a placeholder), so the unsent records are exactly
		 * acked_seq+1 .. last_seq: no scan needed. */
		st->unsent = st->last_seq > st->acked_seq ? st->last_seq - st->acked_seq : 0;
		if (st->unsent) {
			uint8_t key_buf[8];
			MDB_val key = {8, key_buf}, val;
			struct as_record rec;
			as_put_be64(key_buf, st->acked_seq + 1);
			rc = mdb_get(txn, j->records, &key, &val);
			if (!rc && as_record_decode(&rec, val.mv_data, val.mv_size) == 0)
				st->oldest_unsent = rec.entry_time;
			else if (rc == MDB_NOTFOUND)
				rc = 0;
		}
	}
	mdb_txn_abort(txn);
	if (rc)
		return journal_error(rc);
	mdb_env_info(j->env, &info);
	mdb_env_stat(j->env, &ms);
	st->map_size = info.me_mapsize;
	st->map_used = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
	return 0;
}

int gw_journal_chain_head(struct gw_journal *j, struct gw_journal_chain *out)
{
	MDB_txn *txn;
	uint64_t next_seq;
	int rc;

	memset(out, 0, sizeof *out);
	if (!j->has_chain)
		return AS_E_NOT_FOUND;
	rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return journal_error(rc);
	rc = as_lmdb_meta_get_bytes(txn, j->meta, "journal_id", out->journal_id, AS_JOURNAL_ID_LEN);
	if (!rc)
		rc = chain_head_get(j, txn, out->head);
	if (!rc)
		rc = as_lmdb_meta_get_u64(txn, j->meta, "next_seq", &next_seq);
	mdb_txn_abort(txn);
	if (rc) {
		memset(out, 0, sizeof *out);
		return journal_error(rc);
	}
	out->seq = next_seq ? next_seq - 1 : 0;
	return 0;
}

int gw_journal_chain_range(struct gw_journal *j, uint64_t first, size_t n,
			   uint8_t prev[AS_CHAIN_LEN], uint8_t (*digests)[AS_CHAIN_LEN],
			   uint8_t head[AS_CHAIN_LEN])
{
	MDB_txn *txn;
	MDB_cursor *cur;
	uint8_t key_buf[8], last_prev[AS_CHAIN_LEN], last_digest[AS_CHAIN_LEN];
	MDB_val key = {8, key_buf}, val;
	int rc, op = MDB_SET_KEY;

	if (!j->has_chain)
		return AS_E_NOT_FOUND;
	if (n == 0 || first == 0 || first > UINT64_MAX - n)
		return AS_E_LENGTH;
	rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return journal_error(rc);
	rc = mdb_cursor_open(txn, j->chain, &cur);
	if (rc) {
		mdb_txn_abort(txn);
		return journal_error(rc);
	}
	as_put_be64(key_buf, first);
	for (size_t i = 0; i < n; i++) {
		rc = mdb_cursor_get(cur, &key, &val, op);
		op = MDB_NEXT;
		if (rc)
			break;
		if (key.mv_size != 8 || val.mv_size != CHAIN_VALUE_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (as_get_be64(key.mv_data) != first + i) {
			rc = MDB_NOTFOUND; /* a hole: the caller's records are not all there */
			break;
		}
		if (i == 0)
			memcpy(prev, val.mv_data, AS_CHAIN_LEN);
		memcpy(last_prev, val.mv_data, AS_CHAIN_LEN);
		memcpy(digests[i], (const uint8_t *)val.mv_data + AS_CHAIN_LEN, AS_CHAIN_LEN);
	}
	mdb_cursor_close(cur);
	/* The head is the link the journal holds after the last record: built
	 * from that record's own entry, not folded over the others, so that a
	 * record removed from the middle shows as a break at the cloud.  A
	 * placeholder's digest comes from it and its seal. */
	memcpy(last_digest, digests[n - 1], AS_CHAIN_LEN);
	if (!rc) {
		MDB_val rval;
		struct as_record last;

		as_put_be64(key_buf, first + n - 1);
		key.mv_data = key_buf;
		key.mv_size = 8;
		rc = mdb_get(txn, j->records, &key, &rval);
		if (!rc && as_record_decode(&last, rval.mv_data, rval.mv_size) != 0)
			rc = MDB_CORRUPTED;
		if (!rc && last.kind == AS_REC_EXPIRED)
			as_chain_digest_of(&last, digests[n - 1], last_digest);
	}
	mdb_txn_abort(txn);
	if (rc)
		return journal_error(rc);
	as_chain_link(last_prev, last_digest, head);
	return 0;
}
