/*
 * store_upgrade - the LMDB store's upgrade from version 4 (one row of
 * visits per visit) into visit blocks (version 5), measured:
 *
 *   store_upgrade --to-version4 DIR   rewrite a store's visit blocks as
 *                                     version 4 rows and mark it version 4
 *                                     (what an older release left)
 *   store_upgrade DIR                 run cl_store_upgrade to the end and
 *                                     print rows per second and the size
 *
 * The first makes the stores the upgrade is tested and measured on
 * (test_cloud_upgrade.sh, bench/README.md); nothing else writes version 4.
 * Single-threaded; the store must not be open in another process.
 */
#include "lmdb_visits.h"

#include "anshim/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void usage(FILE *f)
{
	fprintf(f, "Usage: store_upgrade [--to-version4] [--slice N] DIR\n"
		   "  DIR               an Anshim cloud store (LMDB), not open elsewhere\n"
		   "  --to-version4     rewrite its visit blocks as version 4 rows (one per\n"
		   "                    visit) and mark it version 4\n"
		   "  --slice N         rows per upgrade transaction (default 100000)\n"
		   "Without --to-version4: upgrade DIR to the end, printing rows per second.\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	for (; v >= 0x80; v >>= 7)
		p[n++] = (uint8_t)(v | 0x80);
	p[n++] = (uint8_t)v;
	return n;
}

/* Every block's visits as version 4 rows, then no visit_blocks. */
static int to_version4(struct cl_store *s, uint64_t *rows)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val, vkey = {7, (void *)"version"};
	uint8_t ver[4];
	int rc = store_write_begin(s, &txn), op = MDB_FIRST;

	*rows = 0;
	if (rc)
		return rc;
	rc = mdb_cursor_open(txn, s->visit_blocks, &cur);
	while (!rc && (rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
		uint64_t first = get_vid(key.mv_data);

		op = MDB_NEXT;
		for (uint64_t vid = first; vid < first + VISIT_BLOCK_SLOTS && !rc; vid++) {
			struct visit_row r;
			uint8_t k[VID_LEN], v[VISIT_VALUE_MAX];
			MDB_val rk = {VID_LEN, k}, rv = {0, v};

			rc = store_visit_get(s, txn, vid, &r);
			if (rc == MDB_NOTFOUND) {
				rc = 0;
				continue;
			}
			if (rc)
				break;
			put_vid(k, vid);
			rv.mv_size = varint_put(v, r.gw_index);
			rv.mv_size += varint_put(v + rv.mv_size, r.seq);
			if (r.has_digest) {
				memcpy(v + rv.mv_size, r.digest, VISIT_DIGEST_LEN);
				rv.mv_size += VISIT_DIGEST_LEN;
			}
			rc = mdb_put(txn, s->visits, &rk, &rv, MDB_APPEND);
			++*rows;
		}
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	mdb_cursor_close(cur);
	if (!rc)
		rc = mdb_drop(txn, s->visit_blocks, 1);
	as_put_be32(ver, 4);
	val = (MDB_val){4, ver};
	if (!rc)
		rc = mdb_put(txn, s->meta, &vkey, &val, 0);
	return store_write_end(s, txn, rc);
}

static long long file_size(const char *dir)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	return stat(path, &st) ? -1 : (long long)st.st_size;
}

int main(int argc, char **argv)
{
	struct cl_store *s;
	const char *dir = NULL;
	char err[300] = "";
	int down = 0, rc;
	size_t slice = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--to-version4") == 0) {
			down = 1;
		} else if (strcmp(argv[i], "--slice") == 0 && i + 1 < argc) {
			char *end;
			unsigned long long v = strtoull(argv[++i], &end, 10);

			if (*end || v == 0 || v > 10000000) {
				fprintf(stderr, "store_upgrade: --slice takes 1..10000000\n");
				return 2;
			}
			slice = (size_t)v;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && !dir) {
			dir = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!dir) {
		usage(stderr);
		return 2;
	}
	rc = cl_store_open(&s, dir, 0, 0, err, sizeof err);
	if (rc) {
		fprintf(stderr, "store_upgrade: %s\n", err);
		return 1;
	}
	if (down) {
		uint64_t rows;

		rc = to_version4(s, &rows);
		if (!rc)
			printf("%s: %llu visits as version 4 rows, store version 4\n", dir,
			       (unsigned long long)rows);
	} else {
		uint64_t moved, left = 1, total = 0, txns = 0;
		long long before = file_size(dir);
		double t0 = now_s(), t;

		while (!rc && left) {
			rc = cl_store_upgrade(s, slice, &moved, &left);
			total += moved;
			txns++;
		}
		t = now_s() - t0;
		if (!rc)
			printf("%s: %llu visits moved into visit blocks in %llu transactions, %.2f s "
			       "= %.0f visits/s; data.mdb %lld -> %lld bytes (freed pages are reused, "
			       "not returned)\n",
			       dir, (unsigned long long)total, (unsigned long long)txns, t,
			       t > 0 ? (double)total / t : 0.0, before, file_size(dir));
	}
	if (rc)
		fprintf(stderr, "store_upgrade: %s: %s (%s)\n", dir, as_strerror(rc),
			cl_store_last_error());
	cl_store_close(s);
	return rc ? 1 : 0;
}
