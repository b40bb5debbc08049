/*
 * journal_tamper.c - edit a stopped gateway's journal on disk, the way
 * someone with the SD card (and the LMDB tools) could, for the tests that
 * check the cloud sees it as a break in the journal's hash chain.
 *
 *   journal_tamper DIR change SEQ   record SEQ gets headcount + 1; its chain
 *                                   entry is left as it was
 *   journal_tamper DIR delete SEQ   record SEQ and its chain entry go, every
 *                                   later record and entry moves down one
 *                                   seq, next_seq follows: no hole is left
 *   journal_tamper DIR placeholder SEQ
 *                                   record SEQ turned into a placeholder
 *                                   (kind expired, personal fields zero);
 *                                   its chain entry is left as it was
 *   journal_tamper DIR hide SEQ     the same, and its chain entry's seal
 *                                   rewritten to the record's personal hash,
 *                                   as the gateway's own purge does: the
 *                                   chain still folds; only the placeholder's
 *                                   age gives it away
 *   journal_tamper DIR hide-backdated SEQ
 *                                   hide, with the entry time also moved
 *                                   100 days back, past any retention
 *
 * It goes straight to LMDB (not through gateway/journal.c), as such an edit
 * would.  Exit 0 on success, 1 with a message otherwise.  Single-threaded;
 * the gateway must not be running.
 */
#include "anshim/bytes.h"
#include "anshim/chain.h"
#include "anshim/parse.h"
#include "anshim/record.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MOVED 100000

static int die(const char *what, int rc)
{
	fprintf(stderr, "journal_tamper: %s: %s\n", what, rc ? mdb_strerror(rc) : "failed");
	return 1;
}

/* Read record SEQ into rec, its key into k: 0, or 1 having said why. */
static int record_at(MDB_txn *txn, MDB_dbi records, uint64_t seq, uint8_t k[8],
		     struct as_record *rec)
{
	MDB_val key = {8, k}, val;
	int rc;

	as_put_be64(k, seq);
	rc = mdb_get(txn, records, &key, &val);
	if (rc)
		return die("no such record", rc);
	if (as_record_decode(rec, val.mv_data, val.mv_size))
		return die("record does not decode", 0);
	return 0;
}

static int change(MDB_txn *txn, MDB_dbi records, uint64_t seq)
{
	uint8_t k[8], buf[AS_RECORD_LEN];
	MDB_val key = {8, k}, val;
	struct as_record rec;
	int rc;

	if (record_at(txn, records, seq, k, &rec))
		return 1;
	rec.headcount = rec.headcount < AS_HEADCOUNT_MAX ? rec.headcount + 1 : 1;
	as_record_encode(buf, sizeof buf, &rec);
	val = (MDB_val){sizeof buf, buf};
	rc = mdb_put(txn, records, &key, &val, 0);
	return rc ? die("rewriting the record", rc) : 0;
}

/* Turn record SEQ into a placeholder; with reseal, also put its personal
 * hash in its chain entry (the seal a purge would leave); with backdate,
 * move its entry time 100 days back first. */
static int hide(MDB_txn *txn, MDB_dbi records, MDB_dbi chain, uint64_t seq, int reseal,
		int backdate)
{
	uint8_t k[8], buf[AS_RECORD_LEN], entry[2 * AS_CHAIN_LEN];
	MDB_val key = {8, k}, val;
	struct as_record rec;
	int rc;

	if (record_at(txn, records, seq, k, &rec))
		return 1;
	if (rec.kind == AS_REC_EXPIRED)
		return die("record is a placeholder already", 0);
	if (reseal) {
		rc = mdb_get(txn, chain, &key, &val);
		if (rc || val.mv_size != sizeof entry)
			return die("reading its chain entry", rc);
		memcpy(entry, val.mv_data, AS_CHAIN_LEN);
		as_chain_record_personal(&rec, entry + AS_CHAIN_LEN);
		val = (MDB_val){sizeof entry, entry};
		rc = mdb_put(txn, chain, &key, &val, 0);
		if (rc)
			return die("rewriting its chain entry", rc);
	}
	if (backdate) {
		rec.entry_time -= 100 * 86400;
		if (rec.exit_time)
			rec.exit_time -= 100 * 86400;
	}
	as_record_make_placeholder(&rec);
	as_record_encode(buf, sizeof buf, &rec);
	val = (MDB_val){sizeof buf, buf};
	rc = mdb_put(txn, records, &key, &val, 0);
	return rc ? die("rewriting the record", rc) : 0;
}

/* Move every entry of dbi after seq down one seq (re-encoding records'
 * own seq field when is_records). */
static int shift_down(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, int is_records)
{
	static uint8_t vals[MAX_MOVED][AS_RECORD_LEN];
	static size_t lens[MAX_MOVED];
	uint8_t k[8];
	MDB_val key = {8, k}, val;
	size_t n = 0;
	int rc;

	as_put_be64(k, seq);
	rc = mdb_del(txn, dbi, &key, NULL);
	if (rc)
		return die("deleting the entry", rc);
	for (uint64_t s = seq + 1; n < MAX_MOVED; s++, n++) {
		as_put_be64(k, s);
		rc = mdb_get(txn, dbi, &key, &val);
		if (rc == MDB_NOTFOUND)
			break;
		if (rc || val.mv_size > AS_RECORD_LEN)
			return die("reading an entry", rc);
		memcpy(vals[n], val.mv_data, val.mv_size);
		lens[n] = val.mv_size;
		rc = mdb_del(txn, dbi, &key, NULL);
		if (rc)
			return die("deleting an entry", rc);
	}
	for (size_t i = 0; i < n; i++) {
		as_put_be64(k, seq + i);
		if (is_records) {
			struct as_record rec;

			if (as_record_decode(&rec, vals[i], lens[i]))
				return die("record does not decode", 0);
			rec.seq = seq + i;
			as_record_encode(vals[i], AS_RECORD_LEN, &rec);
		}
		val = (MDB_val){lens[i], vals[i]};
		rc = mdb_put(txn, dbi, &key, &val, 0);
		if (rc)
			return die("writing an entry", rc);
	}
	return 0;
}

static int delete(MDB_txn *txn, MDB_dbi records, MDB_dbi chain, MDB_dbi meta, uint64_t seq)
{
	MDB_val key = {8, (void *)"next_seq"}, val;
	uint8_t v[8];
	int rc;

	if (shift_down(txn, records, seq, 1) || shift_down(txn, chain, seq, 0))
		return 1;
	rc = mdb_get(txn, meta, &key, &val);
	if (rc || val.mv_size != 8)
		return die("reading next_seq", rc);
	as_put_be64(v, as_get_be64(val.mv_data) - 1);
	val = (MDB_val){8, v};
	rc = mdb_put(txn, meta, &key, &val, 0);
	return rc ? die("writing next_seq", rc) : 0;
}

int main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi records, chain, meta;
	int64_t seq;
	int rc, bad;

	static const char *const edits[] = {"change", "delete", "placeholder", "hide",
					    "hide-backdated"};
	int edit = -1;

	for (int i = 0; argc == 4 && i < (int)(sizeof edits / sizeof edits[0]); i++)
		if (strcmp(argv[2], edits[i]) == 0)
			edit = i;
	if (edit < 0 || as_parse_int64(argv[3], 1, INT64_MAX, &seq) != 0) {
		fprintf(stderr, "usage: journal_tamper DIR "
				"change|delete|placeholder|hide|hide-backdated SEQ\n");
		return 2;
	}
	rc = mdb_env_create(&env);
	if (!rc)
		rc = mdb_env_set_maxdbs(env, 8);
	if (!rc)
		rc = mdb_env_open(env, argv[1], 0, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, "records", 0, &records);
	if (!rc)
		rc = mdb_dbi_open(txn, "chain", 0, &chain);
	if (!rc)
		rc = mdb_dbi_open(txn, "meta", 0, &meta);
	if (rc)
		return die(argv[1], rc);
	bad = edit == 0   ? change(txn, records, (uint64_t)seq)
	      : edit == 1 ? delete(txn, records, chain, meta, (uint64_t)seq)
			  : hide(txn, records, chain, (uint64_t)seq, edit >= 3, edit == 4);
	if (bad) {
		mdb_txn_abort(txn);
		mdb_env_close(env);
		return 1;
	}
	rc = mdb_txn_commit(txn);
	mdb_env_close(env);
	return rc ? die("commit", rc) : 0;
}
