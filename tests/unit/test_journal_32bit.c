/*
 * test_journal_32bit.c - the gateway journal where size_t, pointers and
 * (on Debian 12 armhf) time_t are 32 bits wide.  It runs on every platform;
 * it matters on armhf (scripts/cross-build armhf --test runs it under
 * qemu-arm), where the address space is 4 GiB at most (3 GiB under a 32-bit
 * kernel) and LMDB must map the whole database.
 *
 *  - the default gateway configuration's map_size fits the machine: 512M on
 *    32-bit (<= 1 GiB, docs/CROSS-BUILD.md), 4G on 64-bit;
 *  - a journal opened with that default takes several thousand records in
 *    group commits, purges them after an ack, and keeps working cycle after
 *    cycle without its file growing (freed pages are reused);
 *  - a map_size larger than the address space is refused with AS_E_CONFIG
 *    instead of being truncated to size_t;
 *  - seqs past 2^32 (keys are be64, never size_t) and entry times past
 *    2038-01-19 (int64, never time_t) are stored, found, ordered and purged
 *    like any other.
 *
 * Only public gateway APIs (gwconfig.h, journal.h).  Every journal lives in
 * a fresh directory under /tmp, removed at the end.
 */
#include "test.h"

#include "gwconfig.h"
#include "journal.h"

#include <stdint.h>
#include <time.h>

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define T2038 (INT64_C(1) << 31) /* 2038-01-19T03:14:08Z: one past INT32_MAX */

static int is_32bit(void) { return SIZE_MAX <= UINT32_MAX; }

static struct gw_journal *open_j(const char *dir, uint64_t map_size)
{
	struct gw_journal *j = NULL;
	char err[300] = "";
	int rc = gw_journal_open(&j, dir, map_size, err, sizeof err);

	if (!CHECK_OK(rc))
		fprintf(stderr, "  open %s (map %llu): %s\n", dir, (unsigned long long)map_size,
			err);
	return rc ? NULL : j;
}

static uint64_t default_map_size(void)
{
	struct gw_config cfg;
	char err[300] = "";
	uint64_t size = 0;

	memset(&cfg, 0, sizeof cfg);
	if (CHECK_OK(gw_config_load(&cfg, NULL, err, sizeof err)))
		size = cfg.map_size;
	else
		fprintf(stderr, "  defaults: %s\n", err);
	gw_config_free(&cfg);
	return size;
}

/* A record with tag-dependent contents; seq 0 (the journal assigns it). */
static void rec_make(struct as_record *r, unsigned tag, int64_t entry_time)
{
	test_record_make(r, 1);
	r->seq = 0;
	r->entry_time = entry_time;
	r->mono_ms = 1000u + tag;
	test_fill(r->pid, AS_PID_LEN, 100 + tag);
	test_fill(r->capsule, AS_CAPSULE_LEN, 200 + tag);
}

/* Append n records as one group (one commit), record i at time when[i] or,
 * with when NULL, at `at`.  Seqs go to seqs[] when given. */
static int append_group(struct gw_journal *j, size_t n, unsigned first_tag,
			const int64_t *when, int64_t at, uint64_t *seqs)
{
	struct as_record *recs = calloc(n, sizeof *recs);
	struct gw_journal_entry *es = calloc(n, sizeof *es);
	int rc;

	if (!recs || !es)
		abort();
	for (size_t i = 0; i < n; i++) {
		rec_make(&recs[i], first_tag + (unsigned)i, when ? when[i] : at);
		es[i].rec = &recs[i];
	}
	rc = gw_journal_append(j, es, n);
	for (size_t i = 0; i < n && seqs; i++)
		seqs[i] = recs[i].seq;
	free(recs);
	free(es);
	return rc;
}

/* Purge until a pass completes, as the writer does; returns the count. */
static uint64_t purge_all(struct gw_journal *j, int64_t horizon, int64_t sent_horizon)
{
	uint64_t resume = 0, total = 0, deleted;
	int more = 1, rounds = 0;

	while (more && rounds++ < 10000) {
		if (!CHECK_OK(gw_journal_purge(j, horizon, sent_horizon, INT64_MAX, NULL, &resume, 500, &deleted,
					       &more)))
			break;
		total += deleted;
	}
	return total;
}

struct collect {
	uint64_t seq[16];
	int64_t time[16];
	size_t n;
};

static int collect_fn(void *ctx, const struct as_record *rec)
{
	struct collect *c = ctx;

	if (c->n < 16) {
		c->seq[c->n] = rec->seq;
		c->time[c->n] = rec->entry_time;
	}
	c->n++;
	return 0;
}

/* ---- tests ------------------------------------------------------------- */

static void test_default_map_size_fits(void)
{
	uint64_t size = default_map_size();

	printf("     %zu-bit size_t, %zu-bit time_t: default map_size %llu MiB\n",
	       sizeof(size_t) * 8, sizeof(time_t) * 8, (unsigned long long)(size / MIB));
	CHECK(size > 0);
	CHECK(size <= SIZE_MAX);
	if (is_32bit()) {
		/* DESIGN.md: on 32-bit armhf keep the map <= 1 GiB. */
		CHECK(size <= GIB);
		CHECK_EQ_INT(size, 512 * MIB);
	} else {
		CHECK_EQ_INT(size, 4 * GIB);
	}
}

/* Five cycles of 1000 check-ins (four group commits of 250), each acked and
 * purged, in a journal with the default map size: seqs carry on across
 * cycles and a reopen, nothing is left after a purge, and the file does not
 * grow from cycle to cycle. */
static void test_default_map_append_purge_cycles(void)
{
	char dir[64];
	uint64_t size = default_map_size(), used_first = 0, next = 1, seqs[250];
	struct gw_journal *j;
	struct gw_journal_stats st;
	struct as_record rec;
	const int cycles = 5, groups = 4, per_group = 250;

	if (!size)
		return;
	j = open_j(test_tmpdir(dir), size);
	if (!j)
		goto out;
	for (int c = 0; c < cycles; c++) {
		int64_t at = TEST_NOW + c * 3600;

		test_ctx("cycle %d", c);
		for (int g = 0; g < groups; g++) {
			if (!CHECK_OK(append_group(j, per_group, (unsigned)(c * 1000 + g * 250), NULL,
						   at, seqs)))
				goto close;
			CHECK_EQ_INT(seqs[0], next);
			CHECK_EQ_INT(seqs[per_group - 1], next + per_group - 1);
			next += per_group;
		}
		CHECK_OK(gw_journal_stats(j, &st));
		CHECK_EQ_INT(st.records, groups * per_group);
		CHECK_EQ_INT(st.last_seq, next - 1);
		CHECK_EQ_INT(st.unsent, groups * per_group);
		CHECK_EQ_INT(st.map_size, size);
		if (c == 0)
			printf("     %d records use %llu KiB of the map\n", groups * per_group,
			       (unsigned long long)(st.map_used / 1024));
		if (CHECK_OK(gw_journal_get(j, next - 1, &rec)))
			CHECK_EQ_INT(rec.seq, next - 1);

		/* The cloud acks everything; delivered records go at once. */
		CHECK_OK(gw_journal_set_meta(j, "acked_seq", next - 1));
		CHECK_EQ_INT(purge_all(j, at - 86400, at + 1), groups * per_group);
		CHECK_OK(gw_journal_stats(j, &st));
		CHECK_EQ_INT(st.records, 0);
		CHECK_EQ_INT(st.unsent, 0);
		if (c == 1)
			used_first = st.map_used;
		if (c == cycles - 1 && used_first)
			CHECK(st.map_used <= used_first + 64 * 4096);
		if (c == 2) { /* a restart in the middle keeps the seqs going */
			gw_journal_close(j);
			j = open_j(dir, size);
			if (!j)
				goto out;
		}
	}
	test_ctx_clear();
	CHECK_OK(gw_journal_stats(j, &st));
	CHECK(st.map_used < size);
	printf("     %d records through a %llu MiB map, %llu KiB in use after the last purge\n",
	       cycles * groups * per_group, (unsigned long long)(size / MIB),
	       (unsigned long long)(st.map_used / 1024));
close:
	gw_journal_close(j);
out:
	test_ctx_clear();
	test_rmdir(dir);
}

/* A map_size the address space cannot hold is refused, not truncated to
 * size_t (4G would become 0, i.e. LMDB's 1 MiB default, on 32-bit). */
static void test_map_size_beyond_address_space(void)
{
	char dir[64], err[300] = "";
	struct gw_journal *j = NULL;

	test_tmpdir(dir);
	if (is_32bit()) {
		CHECK_RC(gw_journal_open(&j, dir, 4 * GIB, err, sizeof err), AS_E_CONFIG);
		CHECK(j == NULL);
		CHECK(strstr(err, "map_size") != NULL);
		CHECK_RC(gw_journal_open(&j, dir, (uint64_t)SIZE_MAX + 1, err, sizeof err),
			 AS_E_CONFIG);
		/* The documented ceiling still opens. */
		j = open_j(dir, GIB);
		if (j) {
			struct gw_journal_stats st;

			CHECK_OK(gw_journal_stats(j, &st));
			CHECK_EQ_INT(st.map_size, GIB);
			gw_journal_close(j);
		}
	} else {
		printf("     (64-bit: 4G opens)\n");
		j = open_j(dir, 4 * GIB);
		gw_journal_close(j);
	}
	test_rmdir(dir);
}

/* Seqs past 2^32: a journal that has been running long enough (here: its
 * next_seq set there) keeps its keys 64-bit everywhere. */
static void test_seqs_past_32_bits(void)
{
	char dir[64];
	const uint64_t base = UINT64_C(0xfffffffd); /* 2^32 - 3 */
	uint64_t seqs[8];
	struct gw_journal *j = open_j(test_tmpdir(dir), 16 * MIB);
	struct gw_journal_stats st;
	struct as_record rec;
	struct collect c = {.n = 0};

	if (!j)
		goto out;
	CHECK_OK(gw_journal_set_meta(j, "next_seq", base));
	if (!CHECK_OK(append_group(j, 8, 1, NULL, TEST_NOW, seqs)))
		goto close;
	for (int i = 0; i < 8; i++)
		CHECK_EQ_INT(seqs[i], base + (uint64_t)i);
	CHECK(seqs[3] == UINT64_C(1) << 32);

	/* 2^32 + 1 is not 1 */
	CHECK_RC(gw_journal_get(j, 1, &rec), AS_E_NOT_FOUND);
	if (CHECK_OK(gw_journal_get(j, (UINT64_C(1) << 32) + 1, &rec))) {
		CHECK(rec.seq == (UINT64_C(1) << 32) + 1);
		CHECK_EQ_INT(rec.mono_ms, 1000u + 5);
	}
	CHECK_OK(gw_journal_scan(j, 0, 0, 100, collect_fn, &c));
	CHECK_EQ_INT(c.n, 8);
	for (size_t i = 0; i < 8 && i < c.n; i++)
		CHECK(c.seq[i] == base + i);
	c.n = 0;
	CHECK_OK(gw_journal_scan(j, UINT64_MAX, 1, 100, collect_fn, &c));
	CHECK_EQ_INT(c.n, 8);
	CHECK(c.seq[0] == base + 7 && c.seq[7] == base);
	c.n = 0;
	CHECK_OK(gw_journal_scan(j, UINT64_C(1) << 32, 0, 2, collect_fn, &c));
	CHECK(c.n == 2 && c.seq[0] == UINT64_C(1) << 32);

	CHECK_OK(gw_journal_stats(j, &st));
	CHECK(st.last_seq == base + 7);
	CHECK_EQ_INT(st.records, 8);

	/* acked through 2^32 + 1: five go, three stay unsent */
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", (UINT64_C(1) << 32) + 1));
	CHECK_EQ_INT(purge_all(j, TEST_NOW - 86400, TEST_NOW + 1), 5);
	CHECK_OK(gw_journal_stats(j, &st));
	CHECK_EQ_INT(st.records, 3);
	CHECK_EQ_INT(st.unsent, 3);
	CHECK(st.acked_seq == (UINT64_C(1) << 32) + 1);
close:
	gw_journal_close(j);
out:
	test_rmdir(dir);
}

/* Entry times on both sides of 2038-01-19 and in 2100 are kept exactly and
 * the purge horizons compare them as 64-bit numbers. */
static void test_times_past_2038(void)
{
	char dir[64];
	const int64_t when[4] = {T2038 - 10, T2038 + 10, INT64_C(4102444800) /* 2100 */,
				 INT64_C(4102444800) + 1};
	uint64_t seqs[4];
	struct gw_journal *j = open_j(test_tmpdir(dir), 16 * MIB);
	struct gw_journal_stats st;
	struct as_record rec;
	struct collect c = {.n = 0};

	if (!j)
		goto out;
	if (!CHECK_OK(append_group(j, 4, 1, when, 0, seqs)))
		goto close;
	for (int i = 0; i < 4; i++)
		if (CHECK_OK(gw_journal_get(j, seqs[i], &rec)))
			CHECK(rec.entry_time == when[i]);
	CHECK_OK(gw_journal_stats(j, &st));
	CHECK(st.oldest_unsent == when[0]);

	/* all acked; delivered records before 2038-01-19T03:14:08Z go */
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", seqs[3]));
	CHECK_EQ_INT(purge_all(j, 0, T2038), 1);
	CHECK_OK(gw_journal_scan(j, 0, 0, 10, collect_fn, &c));
	CHECK_EQ_INT(c.n, 3);
	CHECK(c.time[0] == when[1] && c.time[2] == when[3]);
	/* ... and before 2100-01-01T00:00:01Z */
	CHECK_EQ_INT(purge_all(j, 0, when[3]), 2);
	CHECK_OK(gw_journal_stats(j, &st));
	CHECK_EQ_INT(st.records, 1);
close:
	gw_journal_close(j);
out:
	test_rmdir(dir);
}

int main(void)
{
	if (as_crypto_init() != 0)
		return 2;
	TEST_RUN(test_default_map_size_fits);
	TEST_RUN(test_default_map_append_purge_cycles);
	TEST_RUN(test_map_size_beyond_address_space);
	TEST_RUN(test_seqs_past_32_bits);
	TEST_RUN(test_times_past_2038);
	return TEST_DONE();
}
