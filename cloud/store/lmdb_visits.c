/*
 * lmdb_visits.c - where each stored visit came from, kept in blocks of
 * VISIT_BLOCK_SLOTS consecutive vids (visit_blocks), and the upgrade of a
 * version 4 store's rows (visits, one per vid) into them.  The format is
 * described at the top of lmdb_layout.c ("visit blocks").
 *
 * Invariants: a vid is in at most one place, its block or (until the
 * upgrade moves it) its version 4 row; a stored block has at least one
 * visit; a block's value decodes to exactly its present slots, with no
 * byte left over.  Every write keeps them within the caller's
 * transaction; cl_store_upgrade moves rows in transactions of its own,
 * each moving its rows whole, so an upgrade cut short (a crash, a kill)
 * loses nothing and resumes where it stopped.
 *
 * Threads: the caller's transaction's; cl_store_upgrade, any thread that
 * holds no write transaction on the store.
 */
#include "lmdb_visits.h"

#include <errno.h>
#include <stdlib.h>

#define SLOTS VISIT_BLOCK_SLOTS
#define BLOCK_HEAD_LEN 12            /* present u32, continues u32, digest u32 */
#define BLOCK_VALUE_MAX (BLOCK_HEAD_LEN + SLOTS * VISIT_VALUE_MAX)

/* A block as decoded: rows[i] is slot i, valid where bit i of present is. */
struct visit_block {
	uint64_t first;              /* the vid of slot 0 */
	uint32_t present;
	struct visit_row rows[SLOTS];
};

static uint64_t block_first(uint64_t vid)
{
	return vid & ~(uint64_t)(SLOTS - 1);
}

static size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80 && n < 9) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static int varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return MDB_CORRUPTED;
}

/* Whether row continues prev: the same gateway's next seq. */
static int row_continues(const struct visit_row *prev, const struct visit_row *row)
{
	return prev && row->gw_index != 0 && row->gw_index == prev->gw_index &&
	       prev->seq != UINT64_MAX && row->seq == prev->seq + 1;
}

/* A block's value (see lmdb_layout.c); returns its length. */
static size_t block_encode(const struct visit_block *b, uint8_t out[BLOCK_VALUE_MAX])
{
	const struct visit_row *prev = NULL;
	uint32_t cont = 0, dig = 0;
	size_t n = BLOCK_HEAD_LEN;

	for (int i = 0; i < SLOTS; i++) {
		const struct visit_row *r = &b->rows[i];

		if (!(b->present >> i & 1))
			continue;
		if (row_continues(prev, r)) {
			cont |= UINT32_C(1) << i;
		} else {
			n += varint_put(out + n, r->gw_index);
			n += varint_put(out + n, r->seq);
		}
		if (r->has_digest) {
			dig |= UINT32_C(1) << i;
			memcpy(out + n, r->digest, VISIT_DIGEST_LEN);
			n += VISIT_DIGEST_LEN;
		}
		prev = r;
	}
	as_put_be32(out, b->present);
	as_put_be32(out + 4, cont);
	as_put_be32(out + 8, dig);
	return n;
}

static int block_decode(const MDB_val *key, const MDB_val *val, struct visit_block *b)
{
	const uint8_t *p = val->mv_data, *end = p + val->mv_size;
	const struct visit_row *prev = NULL;
	uint32_t cont, dig;

	if (key->mv_size != VID_LEN || val->mv_size < BLOCK_HEAD_LEN)
		return MDB_CORRUPTED;
	b->first = get_vid(key->mv_data);
	b->present = as_get_be32(p);
	cont = as_get_be32(p + 4);
	dig = as_get_be32(p + 8);
	if (b->first != block_first(b->first) || !b->present || (cont & ~b->present) ||
	    (dig & ~b->present))
		return MDB_CORRUPTED;
	p += BLOCK_HEAD_LEN;
	for (int i = 0; i < SLOTS; i++) {
		struct visit_row *r = &b->rows[i];
		uint64_t gw;

		if (!(b->present >> i & 1))
			continue;
		r->vid = b->first + (uint64_t)i;
		if (cont >> i & 1) {
			if (!prev || prev->gw_index == 0 || prev->seq == UINT64_MAX)
				return MDB_CORRUPTED;
			r->gw_index = prev->gw_index;
			r->seq = prev->seq + 1;
		} else {
			if (varint_get(&p, end, &gw) || gw > UINT32_MAX ||
			    varint_get(&p, end, &r->seq))
				return MDB_CORRUPTED;
			r->gw_index = (uint32_t)gw;
		}
		r->has_digest = dig >> i & 1;
		if (r->has_digest) {
			if (end - p < VISIT_DIGEST_LEN)
				return MDB_CORRUPTED;
			memcpy(r->digest, p, VISIT_DIGEST_LEN);
			p += VISIT_DIGEST_LEN;
		}
		prev = r;
	}
	return p == end ? 0 : MDB_CORRUPTED;
}

/* A version 4 row: varints gateway index, seq, then the digest or
 * nothing (a visit stored by version 3). */
static int row_decode(const MDB_val *key, const MDB_val *val, struct visit_row *r)
{
	const uint8_t *p = val->mv_data, *end = p + val->mv_size;
	uint64_t gw;

	if (key->mv_size != VID_LEN)
		return MDB_CORRUPTED;
	r->vid = get_vid(key->mv_data);
	if (varint_get(&p, end, &gw) || gw > UINT32_MAX || varint_get(&p, end, &r->seq))
		return MDB_CORRUPTED;
	r->gw_index = (uint32_t)gw;
	r->has_digest = p != end;
	if (r->has_digest) {
		if (end - p != VISIT_DIGEST_LEN)
			return MDB_CORRUPTED;
		memcpy(r->digest, p, VISIT_DIGEST_LEN);
	}
	return 0;
}

int store_visit_get(const struct cl_store *s, MDB_txn *txn, uint64_t vid,
		    struct visit_row *row)
{
	uint8_t k[VID_LEN];
	MDB_val key = {VID_LEN, k}, val;
	int rc = MDB_NOTFOUND;

	if (s->has_blocks) {
		struct visit_block b;

		put_vid(k, block_first(vid));
		rc = mdb_get(txn, s->visit_blocks, &key, &val);
		if (!rc)
			rc = block_decode(&key, &val, &b);
		if (!rc && (b.present >> (vid - b.first) & 1)) {
			*row = b.rows[vid - b.first];
			return 0;
		}
		if (rc && rc != MDB_NOTFOUND)
			return rc;
	}
	put_vid(k, vid);
	key = (MDB_val){VID_LEN, k};
	rc = mdb_get(txn, s->visits, &key, &val);
	return rc ? rc : row_decode(&key, &val, row);
}

int store_visits_put(const struct cl_store *s, MDB_txn *txn, const struct visit_row *rows,
		     size_t n)
{
	static const struct visit_block empty;
	MDB_cursor *cur;
	MDB_val key, val;
	uint64_t last = 0;
	int has_last, rc;

	if (n == 0)
		return 0;
	if (!s->has_blocks)
		return EACCES;
	rc = mdb_cursor_open(txn, s->visit_blocks, &cur);
	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	has_last = rc == 0;
	if (has_last)
		rc = key.mv_size == VID_LEN ? 0 : MDB_CORRUPTED;
	if (has_last && !rc)
		last = get_vid(key.mv_data);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	for (size_t a = 0, z; a < n && !rc; a = z) {
		struct visit_block b = empty;
		uint8_t k[VID_LEN], buf[BLOCK_VALUE_MAX];
		int found = 0;

		b.first = block_first(rows[a].vid);
		for (z = a + 1; z < n && block_first(rows[z].vid) == b.first; z++)
			;
		put_vid(k, b.first);
		key = (MDB_val){VID_LEN, k};
		if (has_last && b.first <= last) {
			rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);
			if (!rc)
				rc = block_decode(&key, &val, &b);
			found = rc == 0;
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
		for (size_t i = a; i < z && !rc; i++) {
			unsigned slot = (unsigned)(rows[i].vid - b.first);

			if (b.present >> slot & 1)
				rc = MDB_KEYEXIST;
			b.present |= UINT32_C(1) << slot;
			b.rows[slot] = rows[i];
		}
		if (rc)
			break;
		key = (MDB_val){VID_LEN, k};
		val = (MDB_val){block_encode(&b, buf), buf};
		if (!has_last || b.first > last) {
			rc = mdb_cursor_put(cur, &key, &val, MDB_APPEND);
			has_last = 1;
			last = b.first;
		} else if (b.first == last && found) {
			/* The last block grows: out and in again as an append, so
			 * that a full page splits as appends do (the new page
			 * takes it alone) and not in half. */
			rc = mdb_cursor_del(cur, 0);
			if (!rc)
				rc = mdb_cursor_put(cur, &key, &val, MDB_APPEND);
		} else {
			rc = mdb_cursor_put(cur, &key, &val, 0);
		}
	}
	mdb_cursor_close(cur);
	return rc;
}

static int vid_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Delete vid's version 4 row: MDB_CORRUPTED when it has none either. */
static int delete_row(const struct cl_store *s, MDB_txn *txn, uint64_t vid)
{
	uint8_t k[VID_LEN];
	MDB_val key = {VID_LEN, k};
	int rc;

	put_vid(k, vid);
	rc = mdb_del(txn, s->visits, &key, NULL);
	return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
}

int store_visits_delete(const struct cl_store *s, MDB_txn *txn, uint64_t *vids, size_t n)
{
	MDB_cursor *cur = NULL;
	int rc = 0;

	if (n == 0)
		return 0;
	qsort(vids, n, sizeof *vids, vid_cmp);
	if (s->has_blocks) {
		rc = mdb_cursor_open(txn, s->visit_blocks, &cur);
		if (rc)
			return rc;
	}
	for (size_t a = 0, z; a < n && !rc; a = z) {
		struct visit_block b;
		uint8_t k[VID_LEN], buf[BLOCK_VALUE_MAX];
		MDB_val key = {VID_LEN, k}, val;
		uint64_t first = block_first(vids[a]);
		uint32_t before;

		for (z = a + 1; z < n && block_first(vids[z]) == first; z++)
			;
		put_vid(k, first);
		rc = cur ? mdb_cursor_get(cur, &key, &val, MDB_SET_KEY) : MDB_NOTFOUND;
		if (rc == MDB_NOTFOUND) {
			/* No block: rows not upgraded yet, or nothing. */
			rc = 0;
			for (size_t i = a; i < z && !rc; i++)
				if (i == a || vids[i] != vids[i - 1])
					rc = delete_row(s, txn, vids[i]);
			continue;
		}
		if (!rc)
			rc = block_decode(&key, &val, &b);
		before = b.present;
		for (size_t i = a; i < z && !rc; i++) {
			uint32_t bit = UINT32_C(1) << (vids[i] - first);

			if (i > a && vids[i] == vids[i - 1])
				continue;
			if (b.present & bit)
				b.present &= ~bit;
			else
				rc = delete_row(s, txn, vids[i]);
		}
		if (rc || b.present == before)
			continue;
		if (!b.present) {
			rc = mdb_cursor_del(cur, 0);
		} else {
			key = (MDB_val){VID_LEN, k};
			val = (MDB_val){block_encode(&b, buf), buf};
			rc = mdb_cursor_put(cur, &key, &val, 0);
		}
	}
	if (cur)
		mdb_cursor_close(cur);
	return rc;
}

int store_visits_last(const struct cl_store *s, MDB_txn *txn, uint64_t *vid)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc;

	*vid = 0;
	if (s->has_blocks) {
		struct visit_block b;

		rc = mdb_cursor_open(txn, s->visit_blocks, &cur);
		if (rc)
			return rc;
		rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
		if (!rc)
			rc = block_decode(&key, &val, &b);
		if (!rc)
			*vid = b.first + (uint64_t)(SLOTS - 1 - __builtin_clz(b.present));
		mdb_cursor_close(cur);
		if (rc && rc != MDB_NOTFOUND)
			return rc;
	}
	rc = mdb_cursor_open(txn, s->visits, &cur);
	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	if (!rc && key.mv_size != VID_LEN)
		rc = MDB_CORRUPTED;
	if (!rc && get_vid(key.mv_data) > *vid)
		*vid = get_vid(key.mv_data);
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int store_visits_count(const struct cl_store *s, MDB_txn *txn, uint64_t *count)
{
	MDB_stat ms;
	int rc = mdb_stat(txn, s->by_venue, &ms);

	*count = rc ? 0 : ms.ms_entries;
	return rc;
}

/* ---- the upgrade of version 4 rows ---------------------------------------- */

int cl_store_upgrade(struct cl_store *s, size_t max_rows, uint64_t *moved, uint64_t *left)
{
	struct visit_row *rows = NULL;
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	MDB_stat ms;
	size_t n = 0;
	int rc, op = MDB_FIRST;

	*moved = *left = 0;
	if (s->pg)
		return 0;
	if (s->readonly)
		return -EACCES;
	if (max_rows == 0)
		max_rows = STORE_UPGRADE_SLICE;
	rc = store_write_begin(s, &txn);
	if (rc)
		return rc;
	rows = malloc(max_rows * sizeof *rows);
	if (!rows)
		rc = ENOMEM;
	if (!rc)
		rc = mdb_cursor_open(txn, s->visits, &cur);
	/* The first max_rows rows (vid order), into their blocks... */
	while (!rc && n < max_rows && (rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
		op = MDB_NEXT;
		rc = row_decode(&key, &val, &rows[n++]);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (!rc)
		rc = store_fail("upgrading visits into visit_blocks",
				store_visits_put(s, txn, rows, n));
	/* ...and out of visits, in the same transaction. */
	for (size_t i = 0; i < n && !rc; i++) {
		rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
		if (!rc)
			rc = mdb_cursor_del(cur, 0);
	}
	if (cur)
		mdb_cursor_close(cur);
	if (!rc)
		rc = mdb_stat(txn, s->visits, &ms);
	free(rows);
	store_fail("upgrading visits into visit_blocks", rc);
	rc = store_write_end(s, txn, rc);
	if (!rc) {
		*moved = n;
		*left = ms.ms_entries;
	}
	return rc;
}
