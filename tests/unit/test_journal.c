/*
 * test_journal.c - the LMDB check-in journal (gateway/journal.c): seqs
 * start at 1, only grow and are never reused (purging the newest records,
 * reopening); a group append is all-or-nothing when the map is full, and a
 * full journal can be purged and used again; import keys; purge by horizon
 * and by acknowledgement, in slices; scans in both directions with edge
 * cases; stats; meta values; read-only opening (also from another process
 * while the writer holds the journal open); reopening keeps everything.
 * Purge semantics (journal.h): acknowledged records past either horizon are
 * deleted; unacknowledged records past the retention horizon are replaced
 * in place by AS_REC_EXPIRED placeholders (no pid, no capsule, same seq).
 *
 * Known bugs are checked with KNOWN_BUG(): reported as "KNOWN-BUG" lines but
 * not counted as failures, unless ANSHIM_STRICT_KNOWN_BUGS=1 is set.  Each
 * one is described where it is checked.
 *
 * Every journal lives in a fresh directory under /tmp, removed at the end.
 */
#include "test.h"

#include "journal.h"

#include <errno.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MAP_DEFAULT (UINT64_C(16) << 20)
#define MAP_TINY (UINT64_C(1) << 20)

/* ---- helpers ----------------------------------------------------------- */

static int known_bugs_seen;

/* A check that documents a known, reported bug: prints it, and fails the
 * program only under ANSHIM_STRICT_KNOWN_BUGS=1. */
static __attribute__((unused)) int known_bug_(int ok, const char *file, int line, const char *id, const char *expr)
{
	const char *strict = getenv("ANSHIM_STRICT_KNOWN_BUGS");

	if (strict && strcmp(strict, "1") == 0)
		return test_result_(ok, file, line, "known bug %s: %s", id, expr);
	test_checks++;
	if (!ok) {
		known_bugs_seen++;
		fprintf(stderr, "%s:%d: KNOWN-BUG %s: %s\n", file, line, id, expr);
	}
	return ok;
}

#define KNOWN_BUG(id, cond) known_bug_((cond) ? 1 : 0, __FILE__, __LINE__, id, #cond)

static struct gw_journal *open_j(const char *dir, uint64_t map_size)
{
	struct gw_journal *j = NULL;
	char err[300] = "";
	int rc = gw_journal_open(&j, dir, map_size, err, sizeof err);

	if (!CHECK_OK(rc))
		fprintf(stderr, "  open %s: %s\n", dir, err);
	return rc ? NULL : j;
}

/* A record with tag-dependent contents and the given entry time; seq is
 * left at 0 (the journal assigns it). */
static void rec_make(struct as_record *r, unsigned tag, int64_t entry_time)
{
	test_record_make(r, 1);
	r->seq = 0;
	r->entry_time = entry_time;
	r->mono_ms = 1000u + tag;
	test_fill(r->pid, AS_PID_LEN, 100 + tag);
	test_fill(r->capsule, AS_CAPSULE_LEN, 200 + tag);
}

/* Append one record in its own transaction; returns its seq, 0 on error. */
static uint64_t append_one(struct gw_journal *j, unsigned tag, int64_t entry_time)
{
	struct as_record r;
	struct gw_journal_entry e = {&r, NULL, 0};

	rec_make(&r, tag, entry_time);
	if (!CHECK_OK(gw_journal_append(j, &e, 1)))
		return 0;
	CHECK_EQ_INT(e.duplicate, 0);
	return r.seq;
}

/* Append n records (tags first_tag.., entry times from times[] or `when`)
 * as ONE group.  Returns the append's return code. */
static int append_group(struct gw_journal *j, size_t n, unsigned first_tag, int64_t when,
			uint64_t *seqs)
{
	struct as_record *recs = calloc(n ? n : 1, sizeof *recs);
	struct gw_journal_entry *es = calloc(n ? n : 1, sizeof *es);
	int rc;

	if (!recs || !es)
		abort();
	for (size_t i = 0; i < n; i++) {
		rec_make(&recs[i], first_tag + (unsigned)i, when);
		es[i].rec = &recs[i];
	}
	rc = gw_journal_append(j, es, n);
	for (size_t i = 0; i < n && seqs; i++)
		seqs[i] = recs[i].seq;
	free(recs);
	free(es);
	return rc;
}

/* Append n records as one group to a FRESH journal (seqs 1..n), record i
 * at time when(i), tag i. */
static int append_timed(struct gw_journal *j, size_t n, int64_t (*when)(unsigned i))
{
	struct as_record *recs = calloc(n ? n : 1, sizeof *recs);
	struct gw_journal_entry *es = calloc(n ? n : 1, sizeof *es);
	int rc;

	if (!recs || !es)
		abort();
	for (size_t i = 0; i < n; i++) {
		rec_make(&recs[i], (unsigned)i, when((unsigned)i));
		es[i].rec = &recs[i];
	}
	rc = gw_journal_append(j, es, n);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (!CHECK_EQ_INT(recs[i].seq, i + 1))
			break;
	free(recs);
	free(es);
	return rc;
}

/* The seqs a scan visits, in order. */
struct seqlist {
	uint64_t seq[4096];
	size_t n;
	size_t stop_after; /* fn returns nonzero after this many (0 = never) */
};

static int collect(void *ctx, const struct as_record *rec)
{
	struct seqlist *l = ctx;

	if (l->n < sizeof l->seq / sizeof l->seq[0])
		l->seq[l->n] = rec->seq;
	l->n++;
	return l->stop_after && l->n >= l->stop_after;
}

static int scan_into(struct gw_journal *j, uint64_t from, int backwards, size_t limit,
		     struct seqlist *l)
{
	size_t stop = l->stop_after;

	memset(l, 0, sizeof *l);
	l->stop_after = stop;
	return gw_journal_scan(j, from, backwards, limit, collect, l);
}

/* The scan saw exactly the seqs in want[0..n). */
static int seqs_are(const struct seqlist *l, const uint64_t *want, size_t n)
{
	if (l->n != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (l->seq[i] != want[i])
			return 0;
	return 1;
}

static void print_seqs(const char *what, const struct seqlist *l)
{
	fprintf(stderr, "  %s (%zu):", what, l->n);
	for (size_t i = 0; i < l->n && i < 40; i++)
		fprintf(stderr, " %llu", (unsigned long long)l->seq[i]);
	fputc('\n', stderr);
}

#define CHECK_SEQS(l, ...)                                                                \
	do {                                                                              \
		static const uint64_t want_[] = {__VA_ARGS__};                            \
		if (!CHECK(seqs_are((l), want_, sizeof want_ / sizeof want_[0])))         \
			print_seqs("got", (l));                                           \
	} while (0)

static void check_rec_equal(const struct as_record *got, const struct as_record *want)
{
	CHECK_EQ_INT(got->kind, want->kind);
	CHECK_EQ_INT(got->flags, want->flags);
	CHECK_EQ_INT(got->seq, want->seq);
	CHECK_EQ_INT(got->entry_time, want->entry_time);
	CHECK_EQ_INT(got->exit_time, want->exit_time);
	CHECK_EQ_INT(got->mono_ms, want->mono_ms);
	CHECK_MEM(got->boot_id, want->boot_id, AS_BOOT_ID_LEN);
	CHECK_MEM(got->pid, want->pid, AS_PID_LEN);
	CHECK_EQ_INT(got->headcount, want->headcount);
	CHECK_EQ_INT(got->entered_by, want->entered_by);
	CHECK_EQ_INT(got->credential_expires, want->credential_expires);
	CHECK_MEM(got->capsule, want->capsule, AS_CAPSULE_LEN);
}

/* Purge to completion in slices of max_visit; returns the total deleted
 * and the number of calls; bounded. */
static int purge_all(struct gw_journal *j, int64_t horizon, int64_t sent_horizon,
		     size_t max_visit, uint64_t *deleted, unsigned *calls)
{
	uint64_t resume = 0, d;
	int more = 1, rc = 0;

	*deleted = 0;
	*calls = 0;
	while (more && *calls < 100000) {
		rc = gw_journal_purge(j, horizon, sent_horizon, INT64_MAX, NULL, &resume, max_visit, &d, &more);
		(*calls)++;
		if (rc)
			return rc;
		*deleted += d;
	}
	CHECK(!more);
	CHECK_EQ_INT(resume, 0);
	return rc;
}

/* ---- tests ------------------------------------------------------------- */

static void test_open_empty(void)
{
	char dir[64], sub[128];
	struct gw_journal *j;
	struct gw_journal_stats st;
	struct as_record r;
	struct seqlist l = {.stop_after = 0};
	uint64_t v = 99;
	struct stat sb;

	test_tmpdir(dir);
	snprintf(sub, sizeof sub, "%s/a/b", dir); /* missing parents are made */
	j = open_j(sub, MAP_DEFAULT);
	if (!j)
		goto out;
	CHECK(stat(gw_journal_data_path(j), &sb) == 0);
	CHECK(strstr(gw_journal_data_path(j), "/a/b/data.mdb") != NULL);
	CHECK(stat(sub, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	if (CHECK_OK(gw_journal_stats(j, &st))) {
		CHECK_EQ_INT(st.records, 0);
		CHECK_EQ_INT(st.last_seq, 0);
		CHECK_EQ_INT(st.acked_seq, 0);
		CHECK_EQ_INT(st.unsent, 0);
		CHECK_EQ_INT(st.oldest_unsent, 0);
		CHECK_EQ_INT(st.map_size, MAP_DEFAULT);
		CHECK(st.map_used > 0 && st.map_used <= st.map_size);
	}
	CHECK_RC(gw_journal_get(j, 1, &r), AS_E_NOT_FOUND);
	CHECK_RC(gw_journal_get(j, 0, &r), AS_E_NOT_FOUND);
	CHECK_OK(gw_journal_get_meta(j, "acked_seq", &v));
	CHECK_EQ_INT(v, 0);
	CHECK_OK(scan_into(j, 0, 0, SIZE_MAX, &l));
	CHECK_EQ_INT(l.n, 0);
	CHECK_OK(scan_into(j, UINT64_MAX, 1, SIZE_MAX, &l));
	CHECK_EQ_INT(l.n, 0);
	CHECK_OK(scan_into(j, 0, 1, SIZE_MAX, &l));
	CHECK_EQ_INT(l.n, 0);
	/* an empty group is a no-op that succeeds and assigns nothing */
	CHECK_OK(append_group(j, 0, 0, TEST_NOW, NULL));
	CHECK_EQ_INT(append_one(j, 1, TEST_NOW), 1);
	gw_journal_close(j);
	gw_journal_close(NULL); /* harmless */
out:
	snprintf(sub, sizeof sub, "%s/a/b", dir);
	test_rmdir(sub);
	snprintf(sub, sizeof sub, "%s/a", dir);
	rmdir(sub);
	test_rmdir(dir);
}

static void test_open_errors(void)
{
	char dir[64], path[128], err[300] = "";
	struct gw_journal *j = (struct gw_journal *)&j;
	FILE *f;

	test_tmpdir(dir);
	/* read-only open of a journal that does not exist */
	snprintf(path, sizeof path, "%s/none", dir);
	CHECK_ERR(gw_journal_open_readonly(&j, path, err, sizeof err));
	CHECK(j == NULL);
	CHECK(strstr(err, path) != NULL);
	/* a plain file where the directory should be */
	snprintf(path, sizeof path, "%s/file", dir);
	f = fopen(path, "w");
	if (f)
		fclose(f);
	err[0] = '\0';
	j = (struct gw_journal *)&j;
	CHECK_ERR(gw_journal_open(&j, path, MAP_DEFAULT, err, sizeof err));
	CHECK(j == NULL);
	CHECK(strstr(err, path) != NULL);
	test_rmdir(dir);
}

static void test_seqs_start_at_one_and_grow(void)
{
	char dir[64];
	struct gw_journal *j;
	uint64_t seqs[20];
	struct as_record want, got;

	test_tmpdir(dir);
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	CHECK_EQ_INT(append_one(j, 0, TEST_NOW), 1);
	if (CHECK_OK(append_group(j, 5, 1, TEST_NOW + 1, seqs)))
		for (size_t i = 0; i < 5; i++)
			CHECK_EQ_INT(seqs[i], 2 + i);
	CHECK_EQ_INT(append_one(j, 6, TEST_NOW + 2), 7);
	if (CHECK_OK(append_group(j, 20, 7, TEST_NOW + 3, seqs)))
		for (size_t i = 0; i < 20; i++)
			CHECK_EQ_INT(seqs[i], 8 + i);
	/* each record reads back exactly as written */
	for (unsigned i = 0; i < 27; i++) {
		test_ctx("seq %u", i + 1);
		rec_make(&want, i, i == 0 ? TEST_NOW : i < 6 ? TEST_NOW + 1 : i == 6 ? TEST_NOW + 2
									     : TEST_NOW + 3);
		want.seq = i + 1;
		if (CHECK_OK(gw_journal_get(j, i + 1, &got)))
			check_rec_equal(&got, &want);
	}
	test_ctx_clear();
	CHECK_RC(gw_journal_get(j, 28, &got), AS_E_NOT_FOUND);
	gw_journal_close(j);
out:
	test_rmdir(dir);
}

static void test_seqs_never_reused(void)
{
	char dir[64];
	struct gw_journal *j;
	struct gw_journal_stats st;
	uint64_t deleted;
	unsigned calls;

	test_tmpdir(dir);
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	/* 1..5 recent, 6..10 old (e.g. register entries typed late) */
	CHECK_OK(append_group(j, 5, 0, TEST_NOW, NULL));
	CHECK_OK(append_group(j, 5, 5, TEST_NOW - 100 * 86400, NULL));
	/* purge the NEWEST seqs 6..10 (acknowledged, so deleted outright) */
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", 10));
	CHECK_OK(purge_all(j, TEST_NOW - 86400, TEST_NOW - 86400, 100, &deleted, &calls));
	CHECK_EQ_INT(deleted, 5);
	if (CHECK_OK(gw_journal_stats(j, &st))) {
		CHECK_EQ_INT(st.records, 5);
		CHECK_EQ_INT(st.last_seq, 10); /* highest ever assigned, not highest present */
	}
	CHECK_EQ_INT(append_one(j, 10, TEST_NOW), 11);
	gw_journal_close(j);

	/* reopen: still no reuse */
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	CHECK_EQ_INT(append_one(j, 11, TEST_NOW - 200 * 86400), 12);
	/* purge everything, reopen, the next seq still continues */
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", 12));
	CHECK_OK(purge_all(j, TEST_NOW + 86400, TEST_NOW + 86400, 3, &deleted, &calls));
	CHECK_EQ_INT(deleted, 7);
	if (CHECK_OK(gw_journal_stats(j, &st))) {
		CHECK_EQ_INT(st.records, 0);
		CHECK_EQ_INT(st.last_seq, 12);
		CHECK_EQ_INT(st.acked_seq, 12);
		CHECK_EQ_INT(st.unsent, 0);
		CHECK_EQ_INT(st.oldest_unsent, 0);
	}
	gw_journal_close(j);
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	CHECK_EQ_INT(append_one(j, 12, TEST_NOW), 13);
	CHECK_EQ_INT(append_one(j, 13, TEST_NOW), 14);
	gw_journal_close(j);
out:
	test_rmdir(dir);
}

/* Fill a journal with map_size MAP_TINY until even one record does not
 * fit; returns the number of records stored (all with the given time). */
static uint64_t fill_until_full(struct gw_journal *j, int64_t when)
{
	uint64_t total = 0;
	int rc = 0;

	for (unsigned i = 0; i < 1000 && rc == 0; i++) /* groups of 50 */
		if ((rc = append_group(j, 50, (unsigned)total, when, NULL)) == 0)
			total += 50;
	CHECK_RC(rc, AS_E_FULL);
	rc = 0;
	for (unsigned i = 0; i < 1000 && rc == 0; i++) /* then single records */
		if ((rc = append_group(j, 1, (unsigned)total, when, NULL)) == 0)
			total++;
	CHECK_RC(rc, AS_E_FULL);
	return total;
}

static void test_map_full_all_or_nothing(void)
{
	enum { GROUP = 50 };
	char dir[64];
	struct gw_journal *j;
	struct gw_journal_stats st;
	struct as_record recs[GROUP], got;
	struct gw_journal_entry es[GROUP];
	uint8_t key[GW_IMPORT_KEY_LEN];
	uint64_t total = 0;
	unsigned groups = 0;
	int rc = 0;

	test_fill(key, sizeof key, 61);
	test_tmpdir(dir);
	if (!(j = open_j(dir, MAP_TINY)))
		goto out;
	/* Fill with groups until one does not fit (bounded: 1 MiB holds a few
	 * thousand 215-byte records at most). */
	while (groups < 1000) {
		rc = append_group(j, GROUP, (unsigned)total, TEST_NOW - 30 * 86400, NULL);
		if (rc)
			break;
		total += GROUP;
		groups++;
	}
	CHECK_RC(rc, AS_E_FULL);
	CHECK(total > 1000);
	/* The failed group, with an import key in it: every seq reset,
	 * nothing stored (not even the key), earlier data intact. */
	for (size_t i = 0; i < GROUP; i++) {
		rec_make(&recs[i], 7000 + (unsigned)i, TEST_NOW);
		recs[i].seq = 12345;
		es[i].rec = &recs[i];
		es[i].import_key = i == 0 ? key : NULL;
		es[i].duplicate = 0;
	}
	CHECK_RC(gw_journal_append(j, es, GROUP), AS_E_FULL);
	for (size_t i = 0; i < GROUP; i++)
		if (!CHECK_EQ_INT(recs[i].seq, 0))
			break;
	if (CHECK_OK(gw_journal_stats(j, &st))) {
		CHECK_EQ_INT(st.records, total);
		CHECK_EQ_INT(st.last_seq, total);
		CHECK_EQ_INT(st.unsent, total);
		CHECK_EQ_INT(st.map_size, MAP_TINY);
		CHECK(st.map_used > 0 && st.map_used <= MAP_TINY);
	}
	CHECK_RC(gw_journal_get(j, total + 1, &got), AS_E_NOT_FOUND);
	for (uint64_t s = 1; s <= total; s++) {
		test_ctx("seq %llu", (unsigned long long)s);
		if (!CHECK_OK(gw_journal_get(j, s, &got)) || !CHECK_EQ_INT(got.seq, s))
			break;
	}
	test_ctx_clear();
	/* a single record still fits: the failed group left no trace, its
	 * import key included, and the seq continues without a gap */
	rec_make(&recs[0], 8000, TEST_NOW);
	es[0] = (struct gw_journal_entry){&recs[0], key, 0};
	if (CHECK_OK(gw_journal_append(j, es, 1))) {
		CHECK_EQ_INT(es[0].duplicate, 0);
		CHECK_EQ_INT(recs[0].seq, total + 1);
	}
	gw_journal_close(j);
out:
	test_rmdir(dir);
}

/* A completely full journal whose records the cloud acknowledged: the
 * writer's purge (slices of 2000) frees the space, appends work again,
 * and keep working. */
static void test_full_journal_recovers_after_ack(void)
{
	char dir[64];
	struct gw_journal *j;
	struct gw_journal_stats st;
	uint64_t total, deleted, seqs[50];
	unsigned calls;

	test_tmpdir(dir);
	if (!(j = open_j(dir, MAP_TINY)))
		goto out;
	total = fill_until_full(j, TEST_NOW - 30 * 86400);
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", total)); /* still fits */
	CHECK_OK(purge_all(j, TEST_NOW - 60 * 86400, TEST_NOW - 14 * 86400, 2000, &deleted,
			   &calls));
	CHECK_EQ_INT(deleted, total);
	if (CHECK_OK(append_group(j, 50, 0, TEST_NOW, seqs)))
		for (size_t i = 0; i < 50; i++)
			CHECK_EQ_INT(seqs[i], total + 1 + i);
	if (CHECK_OK(gw_journal_stats(j, &st))) {
		CHECK_EQ_INT(st.records, 50);
		CHECK_EQ_INT(st.last_seq, total + 50);
		CHECK_EQ_INT(st.unsent, 50);
	}
	/* the freed space really is reusable: nearly as much fits again */
	for (uint64_t n = 50; n + 100 < total; n += 50)
		if (!CHECK_OK(append_group(j, 50, (unsigned)n, TEST_NOW, NULL)))
			break;
	gw_journal_close(j);
out:
	test_rmdir(dir);
}

/*
 * KNOWN BUG journal-full-purge: a full journal with nothing acknowledged
 * (the cloud unreachable - exactly how a gateway fills up) cannot be
 * purged.  gw_journal_purge rewrites each record past retention into a
 * placeholder in place, so every leaf page a slice touches is copied
 * (copy-on-write) inside one transaction; with the map full there are no
 * pages to copy into and the slice fails with AS_E_FULL, every time.
 * Records past the retention horizon then keep their pid and capsule
 * forever.  With the writer's slice of 2000 records it fails on the first
 * slice; a slice of 1 happens to get through.  (By design placeholders free
 * no space, so appends stay AS_E_FULL until the cloud acknowledges; that
 * part is expected.)
 */
static void test_full_unacked_journal_purge(void)
{
	char dir[64];
	struct gw_journal *j;
	struct as_record got;
	uint64_t total, resume = 0, d, deleted = 0;
	unsigned calls = 0;
	int more = 1, rc = 0;

	test_tmpdir(dir);
	if (!(j = open_j(dir, MAP_TINY)))
		goto out;
	total = fill_until_full(j, TEST_NOW - 90 * 86400);
	while (more && calls < 100) {
		rc = gw_journal_purge(j, TEST_NOW - 30 * 86400, TEST_NOW - 14 * 86400, INT64_MAX, NULL, &resume,
				      2000, &d, &more);
		calls++;
		if (rc)
			break;
		deleted += d;
	}
	CHECK(rc == 0);
	CHECK(deleted == total);
	/* whatever happened, the journal is intact and readable */
	if (CHECK_OK(gw_journal_get(j, total, &got))) {
		CHECK_EQ_INT(got.seq, total);
		if (rc == 0)
			CHECK_EQ_INT(got.kind, AS_REC_EXPIRED);
	}
	gw_journal_close(j);
out:
	test_rmdir(dir);
}

static void test_import_keys(void)
{
	char dir[64];
	struct gw_journal *j;
	struct gw_journal_stats st;
	struct as_record recs[5], got;
	struct gw_journal_entry es[5];
	uint8_t k1[GW_IMPORT_KEY_LEN], k2[GW_IMPORT_KEY_LEN], k3[GW_IMPORT_KEY_LEN];
	uint64_t deleted;
	unsigned calls;

	test_fill(k1, sizeof k1, 51);
	test_fill(k2, sizeof k2, 52);
	test_fill(k3, sizeof k3, 53);
	test_tmpdir(dir);
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	rec_make(&recs[0], 0, TEST_NOW);
	es[0] = (struct gw_journal_entry){&recs[0], k1, 7};
	CHECK_OK(gw_journal_append(j, es, 1));
	CHECK_EQ_INT(es[0].duplicate, 0);
	CHECK_EQ_INT(recs[0].seq, 1);

	/* one group: k1 again (known), k2 new, k2 again (same group), no key,
	 * k3 new with an old entry time */
	for (unsigned i = 0; i < 5; i++)
		rec_make(&recs[i], 10 + i, TEST_NOW);
	recs[4].entry_time = TEST_NOW - 60 * 86400;
	es[0] = (struct gw_journal_entry){&recs[0], k1, 0};
	es[1] = (struct gw_journal_entry){&recs[1], k2, 0};
	es[2] = (struct gw_journal_entry){&recs[2], k2, 0};
	es[3] = (struct gw_journal_entry){&recs[3], NULL, 1};
	es[4] = (struct gw_journal_entry){&recs[4], k3, 0};
	if (CHECK_OK(gw_journal_append(j, es, 5))) {
		CHECK_EQ_INT(es[0].duplicate, 1);
		CHECK_EQ_INT(es[1].duplicate, 0);
		CHECK_EQ_INT(es[2].duplicate, 1);
		CHECK_EQ_INT(es[3].duplicate, 0);
		CHECK_EQ_INT(es[4].duplicate, 0);
		/* duplicates take no seq: the stored ones are consecutive */
		CHECK_EQ_INT(recs[1].seq, 2);
		CHECK_EQ_INT(recs[3].seq, 3);
		CHECK_EQ_INT(recs[4].seq, 4);
	}
	if (CHECK_OK(gw_journal_stats(j, &st))) {
		CHECK_EQ_INT(st.records, 4);
		CHECK_EQ_INT(st.last_seq, 4);
	}
	/* the stored record for seq 2 is the k2 row, not its duplicate */
	if (CHECK_OK(gw_journal_get(j, 2, &got)))
		CHECK_MEM(got.capsule, recs[1].capsule, AS_CAPSULE_LEN);
	CHECK_RC(gw_journal_get(j, 5, &got), AS_E_NOT_FOUND);
	gw_journal_close(j);

	/* keys survive a reopen */
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	rec_make(&recs[0], 20, TEST_NOW);
	es[0] = (struct gw_journal_entry){&recs[0], k2, 0};
	CHECK_OK(gw_journal_append(j, es, 1));
	CHECK_EQ_INT(es[0].duplicate, 1);

	/* a purge pass drops the keys of rows older than the horizon (k3),
	 * keeps the others (k1, k2) */
	CHECK_OK(purge_all(j, TEST_NOW - 30 * 86400, TEST_NOW - 30 * 86400, 1000, &deleted,
			   &calls));
	CHECK_EQ_INT(deleted, 1); /* seq 4 */
	rec_make(&recs[0], 21, TEST_NOW - 10);
	rec_make(&recs[1], 22, TEST_NOW - 10);
	rec_make(&recs[2], 23, TEST_NOW - 10);
	es[0] = (struct gw_journal_entry){&recs[0], k3, 0};
	es[1] = (struct gw_journal_entry){&recs[1], k1, 0};
	es[2] = (struct gw_journal_entry){&recs[2], k2, 0};
	if (CHECK_OK(gw_journal_append(j, es, 3))) {
		CHECK_EQ_INT(es[0].duplicate, 0); /* k3 forgotten: stored again */
		CHECK_EQ_INT(recs[0].seq, 5);
		CHECK_EQ_INT(es[1].duplicate, 1);
		CHECK_EQ_INT(es[2].duplicate, 1);
	}
	gw_journal_close(j);
out:
	test_rmdir(dir);
}

/* A deterministic mix of entry times for the purge model. */
static int64_t purge_time(unsigned i)
{
	static const int64_t ages[] = {0, 3, 10, 20, 29, 31, 40, 60, 1, 90};

	return TEST_NOW - ages[(i * 7u + i / 10u) % 10] * 86400 + (int64_t)(i % 13);
}

/* What a purge pass should do to record i: 0 keep, 1 delete,
 * 2 replace by a placeholder. */
static int purge_fate(unsigned i, uint64_t acked, int64_t horizon, int64_t sent_horizon)
{
	int64_t t = purge_time(i);
	uint64_t seq = i + 1;

	if (seq <= acked)
		return t < horizon || t < sent_horizon ? 1 : 0;
	return t < horizon ? 2 : 0;
}

static void purge_case(unsigned n, uint64_t acked, int64_t horizon, int64_t sent_horizon,
		       size_t max_visit)
{
	char dir[64];
	struct gw_journal *j;
	struct seqlist *l = calloc(1, sizeof *l);
	uint64_t want_deleted = 0, deleted = 0, prev_resume = 0, resume = 0, d;
	unsigned calls = 0;
	int more = 1, rc = 0;
	size_t k = 0;

	if (!l)
		abort();
	test_tmpdir(dir);
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	if (!CHECK_OK(append_timed(j, n, purge_time)))
		goto close;
	if (acked)
		CHECK_OK(gw_journal_set_meta(j, "acked_seq", acked));
	for (unsigned i = 0; i < n; i++)
		want_deleted += purge_fate(i, acked, horizon, sent_horizon) != 0;
	/* slice by slice: resume_seq only grows, each slice changes at most
	 * max_visit records, and the pass finishes */
	while (more && calls < 100000) {
		rc = gw_journal_purge(j, horizon, sent_horizon, INT64_MAX, NULL, &resume, max_visit, &d, &more);
		calls++;
		if (!CHECK_OK(rc))
			goto close;
		CHECK(d <= max_visit);
		deleted += d;
		if (more) {
			if (!CHECK(resume > prev_resume))
				goto close;
			prev_resume = resume;
		}
	}
	CHECK(!more);
	CHECK_EQ_INT(resume, 0);
	CHECK_EQ_INT(deleted, want_deleted);
	if (max_visit < n)
		CHECK(calls >= (n + max_visit - 1) / max_visit);
	/* exactly the expected records remain; placeholders carry nothing */
	CHECK_OK(scan_into(j, 0, 0, SIZE_MAX, l));
	for (unsigned i = 0; i < n; i++) {
		int fate = purge_fate(i, acked, horizon, sent_horizon);
		struct as_record got;

		if (fate == 1)
			continue;
		test_ctx("seq %u, fate %d", i + 1, fate);
		if (!CHECK(k < l->n) || !CHECK_EQ_INT(l->seq[k], i + 1))
			break;
		k++;
		if (!CHECK_OK(gw_journal_get(j, i + 1, &got)))
			break;
		CHECK_EQ_INT(got.entry_time, purge_time(i));
		if (fate == 2) {
			static const uint8_t zero[AS_CAPSULE_LEN];

			CHECK_EQ_INT(got.kind, AS_REC_EXPIRED);
			CHECK_MEM(got.pid, zero, AS_PID_LEN);
			CHECK_MEM(got.capsule, zero, AS_CAPSULE_LEN);
			CHECK_EQ_INT(got.credential_expires, 0);
		} else {
			CHECK_EQ_INT(got.kind, AS_REC_PASS);
		}
	}
	test_ctx_clear();
	CHECK_EQ_INT(k, l->n);
	/* a second pass changes nothing (placeholders are not counted again) */
	CHECK_OK(purge_all(j, horizon, sent_horizon, max_visit, &d, &calls));
	CHECK_EQ_INT(d, 0);
	/* once everything is acknowledged, the placeholders go too */
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", n));
	want_deleted = 0;
	for (unsigned i = 0; i < n; i++)
		want_deleted += purge_fate(i, acked, horizon, sent_horizon) != 1 &&
				purge_fate(i, n, horizon, sent_horizon) == 1;
	CHECK_OK(purge_all(j, horizon, sent_horizon, max_visit, &d, &calls));
	CHECK_EQ_INT(d, want_deleted);
close:
	gw_journal_close(j);
out:
	test_rmdir(dir);
	free(l);
}

static void test_purge_exact(void)
{
	static const size_t visits[] = {1, 7, 100, 250, 251, 10000};
	const int64_t d = 86400;

	for (size_t v = 0; v < sizeof visits / sizeof visits[0]; v++) {
		test_ctx("max_visit %zu", visits[v]);
		/* retention only (nothing acked) */
		purge_case(250, 0, TEST_NOW - 28 * d, TEST_NOW - 14 * d, visits[v]);
		/* half acknowledged: sent records go sooner */
		purge_case(250, 125, TEST_NOW - 28 * d, TEST_NOW - 14 * d, visits[v]);
		/* everything acknowledged, sent horizon now: every acked is gone */
		purge_case(250, 250, TEST_NOW - 56 * d, TEST_NOW + 1000, visits[v]);
		/* acked beyond the last seq, horizons in the past of everything */
		purge_case(250, 1000, TEST_NOW - 365 * d, TEST_NOW - 365 * d, visits[v]);
	}
	/* entry time exactly at the horizon is kept (strictly older goes) */
	purge_case(10, 0, purge_time(3), INT64_MIN, 5);
	purge_case(10, 10, INT64_MIN, purge_time(4), 5);
}

/* Appends between purge slices are not touched, and the import keys of
 * the old rows go only when the pass is complete. */
static void test_purge_interleaved(void)
{
	char dir[64];
	struct gw_journal *j;
	struct gw_journal_stats st;
	struct as_record r;
	struct gw_journal_entry e = {&r, NULL, 0};
	uint8_t key[GW_IMPORT_KEY_LEN];
	uint64_t resume = 0, d, deleted = 0, s;
	unsigned calls = 0;
	int more = 1;

	test_fill(key, sizeof key, 77);
	test_tmpdir(dir);
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	/* 100 old records, the first carrying an import key */
	rec_make(&r, 0, TEST_NOW - 90 * 86400);
	e.import_key = key;
	CHECK_OK(gw_journal_append(j, &e, 1));
	CHECK_OK(append_group(j, 99, 1, TEST_NOW - 90 * 86400, NULL));
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", 100)); /* sent: deleted outright */
	while (more && calls < 1000) {
		if (!CHECK_OK(gw_journal_purge(j, TEST_NOW - 30 * 86400, TEST_NOW - 30 * 86400, INT64_MAX, NULL,
					       &resume, 10, &d, &more)))
			break;
		calls++;
		deleted += d;
		/* a new scan arrives between slices */
		s = append_one(j, 1000 + calls, TEST_NOW);
		CHECK_EQ_INT(s, 100 + calls);
		if (more) {
			/* the key is still known mid-pass */
			rec_make(&r, 5000 + calls, TEST_NOW - 90 * 86400);
			e.import_key = key;
			CHECK_OK(gw_journal_append(j, &e, 1));
			if (!CHECK_EQ_INT(e.duplicate, 1))
				break;
		}
	}
	CHECK(!more);
	CHECK_EQ_INT(deleted, 100);
	if (CHECK_OK(gw_journal_stats(j, &st)))
		CHECK_EQ_INT(st.records, calls);
	/* pass complete: the old key was dropped */
	rec_make(&r, 9999, TEST_NOW);
	e.import_key = key;
	CHECK_OK(gw_journal_append(j, &e, 1));
	CHECK_EQ_INT(e.duplicate, 0);
	gw_journal_close(j);
out:
	test_rmdir(dir);
}

/* Records dated in the future (a row typed while the clock was years
 * ahead): past future_horizon, an unsent one becomes a placeholder and a
 * sent one goes, like records past retention; an unsynced record of the
 * spared boot stays (it is about to be corrected), one of another boot
 * does not; without a future horizon nothing of the future goes. */
static void test_purge_future(void)
{
	char dir[64];
	struct gw_journal *j;
	struct as_record r;
	struct gw_journal_entry e = {&r, NULL, 0};
	uint8_t boot[AS_BOOT_ID_LEN], other[AS_BOOT_ID_LEN];
	uint64_t resume = 0, d;
	int more;
	const int64_t later = TEST_NOW + 50LL * 365 * 86400;

	test_fill(boot, sizeof boot, 1);
	test_fill(other, sizeof other, 2);
	test_tmpdir(dir);
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	CHECK_EQ_INT(append_one(j, 1, later), 1);              /* sent, future */
	CHECK_EQ_INT(append_one(j, 2, TEST_NOW), 2);           /* unsent, now */
	CHECK_EQ_INT(append_one(j, 3, later), 3);              /* unsent, future */
	rec_make(&r, 4, later);                                /* unsynced, this boot */
	r.flags = AS_REC_CLOCK_UNSYNCED;
	memcpy(r.boot_id, boot, sizeof boot);
	CHECK_OK(gw_journal_append(j, &e, 1));
	rec_make(&r, 5, later);                                /* unsynced, other boot */
	r.flags = AS_REC_CLOCK_UNSYNCED;
	memcpy(r.boot_id, other, sizeof other);
	CHECK_OK(gw_journal_append(j, &e, 1));
	CHECK_EQ_INT(append_one(j, 6, TEST_NOW + 300), 6);     /* within the skew */
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", 1));
	/* No future horizon: nothing goes. */
	CHECK_OK(gw_journal_purge(j, TEST_NOW - 30 * 86400, TEST_NOW - 86400, INT64_MAX, boot,
				  &resume, 100, &d, &more));
	CHECK_EQ_INT(d, 0);
	resume = 0;
	CHECK_OK(gw_journal_purge(j, TEST_NOW - 30 * 86400, TEST_NOW - 86400, TEST_NOW + 600, boot,
				  &resume, 100, &d, &more));
	CHECK_EQ_INT(d, 3);
	CHECK_EQ_INT(gw_journal_get(j, 1, &r), AS_E_NOT_FOUND);
	if (CHECK_OK(gw_journal_get(j, 2, &r)))
		CHECK_EQ_INT(r.kind, AS_REC_PASS);
	if (CHECK_OK(gw_journal_get(j, 3, &r)))
		CHECK_EQ_INT(r.kind, AS_REC_EXPIRED);
	if (CHECK_OK(gw_journal_get(j, 4, &r)))
		CHECK_EQ_INT(r.kind, AS_REC_PASS);
	if (CHECK_OK(gw_journal_get(j, 5, &r)))
		CHECK_EQ_INT(r.kind, AS_REC_EXPIRED);
	if (CHECK_OK(gw_journal_get(j, 6, &r)))
		CHECK_EQ_INT(r.kind, AS_REC_PASS);
	gw_journal_close(j);
out:
	test_rmdir(dir);
}

static void test_scan_edges(void)
{
	char dir[64];
	struct gw_journal *j;
	struct seqlist *l = calloc(1, sizeof *l);
	uint64_t deleted;
	unsigned calls;

	if (!l)
		abort();
	test_tmpdir(dir);
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	/* seqs 1..10 with 4..6 purged: a gap */
	CHECK_OK(append_group(j, 3, 0, TEST_NOW, NULL));
	CHECK_OK(append_group(j, 3, 3, TEST_NOW - 400 * 86400, NULL));
	CHECK_OK(append_group(j, 4, 6, TEST_NOW, NULL));
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", 6));
	CHECK_OK(purge_all(j, TEST_NOW - 86400, INT64_MIN, 1000, &deleted, &calls));
	CHECK_EQ_INT(deleted, 3);

	/* forwards */
	CHECK_OK(scan_into(j, 0, 0, SIZE_MAX, l));
	CHECK_SEQS(l, 1, 2, 3, 7, 8, 9, 10);
	CHECK_OK(scan_into(j, 1, 0, SIZE_MAX, l));
	CHECK_SEQS(l, 1, 2, 3, 7, 8, 9, 10);
	CHECK_OK(scan_into(j, 3, 0, SIZE_MAX, l));
	CHECK_SEQS(l, 3, 7, 8, 9, 10);
	CHECK_OK(scan_into(j, 5, 0, SIZE_MAX, l)); /* inside the gap */
	CHECK_SEQS(l, 7, 8, 9, 10);
	CHECK_OK(scan_into(j, 10, 0, SIZE_MAX, l));
	CHECK_SEQS(l, 10);
	CHECK_OK(scan_into(j, 11, 0, SIZE_MAX, l));
	CHECK_EQ_INT(l->n, 0);
	CHECK_OK(scan_into(j, UINT64_MAX, 0, SIZE_MAX, l));
	CHECK_EQ_INT(l->n, 0);
	CHECK_OK(scan_into(j, 2, 0, 3, l)); /* limit */
	CHECK_SEQS(l, 2, 3, 7);
	CHECK_OK(scan_into(j, 0, 0, 0, l)); /* limit 0 visits nothing */
	CHECK_EQ_INT(l->n, 0);

	/* backwards */
	CHECK_OK(scan_into(j, UINT64_MAX, 1, SIZE_MAX, l));
	CHECK_SEQS(l, 10, 9, 8, 7, 3, 2, 1);
	CHECK_OK(scan_into(j, 11, 1, SIZE_MAX, l));
	CHECK_SEQS(l, 10, 9, 8, 7, 3, 2, 1);
	CHECK_OK(scan_into(j, 10, 1, SIZE_MAX, l));
	CHECK_SEQS(l, 10, 9, 8, 7, 3, 2, 1);
	CHECK_OK(scan_into(j, 7, 1, SIZE_MAX, l));
	CHECK_SEQS(l, 7, 3, 2, 1);
	CHECK_OK(scan_into(j, 6, 1, SIZE_MAX, l)); /* inside the gap */
	CHECK_SEQS(l, 3, 2, 1);
	CHECK_OK(scan_into(j, 4, 1, SIZE_MAX, l));
	CHECK_SEQS(l, 3, 2, 1);
	CHECK_OK(scan_into(j, 1, 1, SIZE_MAX, l));
	CHECK_SEQS(l, 1);
	CHECK_OK(scan_into(j, 0, 1, SIZE_MAX, l)); /* nothing is <= 0 */
	CHECK_EQ_INT(l->n, 0);
	CHECK_OK(scan_into(j, UINT64_MAX, 1, 2, l));
	CHECK_SEQS(l, 10, 9);

	/* the callback stops the scan */
	l->stop_after = 2;
	CHECK_OK(scan_into(j, 0, 0, SIZE_MAX, l));
	CHECK_SEQS(l, 1, 2);
	CHECK_OK(scan_into(j, 8, 1, SIZE_MAX, l));
	CHECK_SEQS(l, 8, 7);
	l->stop_after = 0;
	gw_journal_close(j);
out:
	test_rmdir(dir);
	free(l);
}

static void test_stats_and_meta(void)
{
	char dir[64];
	struct gw_journal *j;
	struct gw_journal_stats st;
	uint64_t v;

	test_tmpdir(dir);
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	for (unsigned i = 0; i < 6; i++)
		append_one(j, i, TEST_NOW + 100 * (int64_t)i);
	if (CHECK_OK(gw_journal_stats(j, &st))) {
		CHECK_EQ_INT(st.records, 6);
		CHECK_EQ_INT(st.last_seq, 6);
		CHECK_EQ_INT(st.acked_seq, 0);
		CHECK_EQ_INT(st.unsent, 6);
		CHECK_EQ_INT(st.oldest_unsent, TEST_NOW);
		CHECK(st.map_used > 0 && st.map_used <= st.map_size);
	}
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", 4));
	CHECK_OK(gw_journal_get_meta(j, "acked_seq", &v));
	CHECK_EQ_INT(v, 4);
	if (CHECK_OK(gw_journal_stats(j, &st))) {
		CHECK_EQ_INT(st.acked_seq, 4);
		CHECK_EQ_INT(st.unsent, 2);
		CHECK_EQ_INT(st.oldest_unsent, TEST_NOW + 400); /* seq 5 */
	}
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", 6));
	if (CHECK_OK(gw_journal_stats(j, &st))) {
		CHECK_EQ_INT(st.unsent, 0);
		CHECK_EQ_INT(st.oldest_unsent, 0);
	}
	/* other names are independent; overwrite works; unset reads 0 */
	CHECK_OK(gw_journal_set_meta(j, "x", UINT64_MAX));
	CHECK_OK(gw_journal_get_meta(j, "x", &v));
	CHECK(v == UINT64_MAX);
	CHECK_OK(gw_journal_set_meta(j, "x", 3));
	CHECK_OK(gw_journal_get_meta(j, "x", &v));
	CHECK_EQ_INT(v, 3);
	CHECK_OK(gw_journal_get_meta(j, "unset", &v));
	CHECK_EQ_INT(v, 0);
	CHECK_OK(gw_journal_get_meta(j, "acked_seq", &v));
	CHECK_EQ_INT(v, 6);
	gw_journal_close(j);
out:
	test_rmdir(dir);
}

/* A reader in another process while this one holds the journal open for
 * writing (how anshim-gw reads the daemon's journal).  The child reports
 * through its exit status. */
static int child_reads(const char *dir, uint64_t want_records)
{
	struct gw_journal *r = NULL;
	struct gw_journal_stats st;
	struct as_record rec;
	char err[300];
	int bad = 0;

	if (gw_journal_open_readonly(&r, dir, err, sizeof err) != 0)
		return 10;
	if (gw_journal_stats(r, &st) != 0)
		bad = 11;
	else if (st.records != want_records || st.last_seq != want_records)
		bad = 12;
	else if (gw_journal_get(r, want_records, &rec) != 0 || rec.seq != want_records)
		bad = 13;
	gw_journal_close(r);
	return bad;
}

static void test_readonly_and_reopen(void)
{
	char dir[64], err[300];
	struct gw_journal *j, *r = NULL;
	struct gw_journal_stats st, st2;
	struct as_record got, want;
	struct seqlist *l = calloc(1, sizeof *l);
	uint64_t v;
	int status = -1;
	pid_t pid;

	if (!l)
		abort();
	test_tmpdir(dir);
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	CHECK_OK(append_group(j, 30, 0, TEST_NOW, NULL));
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", 10));
	if (!CHECK_OK(gw_journal_stats(j, &st)))
		goto close;

	/* another process reads while this one keeps the writer open */
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(child_reads(dir, 30));
	if (CHECK(pid > 0)) {
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status));
		CHECK_EQ_INT(WEXITSTATUS(status), 0);
	}
	/* and the writer still works afterwards */
	CHECK_EQ_INT(append_one(j, 30, TEST_NOW), 31);
	gw_journal_close(j);

	/* read-only in this process */
	if (!CHECK_OK(gw_journal_open_readonly(&r, dir, err, sizeof err)))
		goto out;
	if (CHECK_OK(gw_journal_stats(r, &st2))) {
		CHECK_EQ_INT(st2.records, 31);
		CHECK_EQ_INT(st2.last_seq, 31);
		CHECK_EQ_INT(st2.acked_seq, 10);
		CHECK_EQ_INT(st2.unsent, 21);
	}
	CHECK_OK(scan_into(r, 0, 0, SIZE_MAX, l));
	CHECK_EQ_INT(l->n, 31);
	rec_make(&want, 5, TEST_NOW);
	want.seq = 6;
	if (CHECK_OK(gw_journal_get(r, 6, &got)))
		check_rec_equal(&got, &want);
	CHECK_OK(gw_journal_get_meta(r, "acked_seq", &v));
	CHECK_EQ_INT(v, 10);
	/* writes through a read-only handle fail and store nothing */
	CHECK_ERR(append_group(r, 1, 99, TEST_NOW, NULL));
	CHECK_ERR(gw_journal_set_meta(r, "acked_seq", 20));
	gw_journal_close(r);

	/* reopen for writing: everything is still there */
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	if (CHECK_OK(gw_journal_stats(j, &st2))) {
		CHECK_EQ_INT(st2.records, 31);
		CHECK_EQ_INT(st2.last_seq, 31);
		CHECK_EQ_INT(st2.acked_seq, 10);
		CHECK_EQ_INT(st2.oldest_unsent, st.oldest_unsent);
	}
	if (CHECK_OK(gw_journal_get(j, 6, &got)))
		check_rec_equal(&got, &want);
	CHECK_EQ_INT(append_one(j, 31, TEST_NOW), 32);
close:
	gw_journal_close(j);
out:
	test_rmdir(dir);
	free(l);
}

/*
 * KNOWN BUG journal-append-unchecked.
 * The journal must not store a record it cannot read back: one such
 * record makes gw_journal_get/scan/stats fail with AS_E_CORRUPT and, worse,
 * makes every purge pass fail when it reaches it, so the journal can never
 * be purged again.  The check-in pipeline only builds valid records, so
 * this guards the journal's own contract ("fail closed").
 */
static void test_append_refuses_undecodable_record(void)
{
	char dir[64];
	struct gw_journal *j;
	struct gw_journal_stats st;
	struct as_record r;
	struct gw_journal_entry e = {&r, NULL, 0};
	uint64_t deleted;
	unsigned calls;
	int rc;

	test_tmpdir(dir);
	if (!(j = open_j(dir, MAP_DEFAULT)))
		goto out;
	CHECK_EQ_INT(append_one(j, 0, TEST_NOW - 90 * 86400), 1);
	rec_make(&r, 1, TEST_NOW - 90 * 86400);
	r.headcount = 0; /* as_record_decode rejects this */
	rc = gw_journal_append(j, &e, 1);
	CHECK(rc == AS_E_FIELD);
	/* whatever append did, the journal must stay readable and purgeable */
	CHECK(gw_journal_stats(j, &st) == 0);
	CHECK(
		  purge_all(j, TEST_NOW - 30 * 86400, TEST_NOW - 30 * 86400, 100, &deleted,
			    &calls) == 0);
	/* the good record before it is still readable on its own */
	CHECK_OK(gw_journal_get(j, 1, &r));
	gw_journal_close(j);
out:
	test_rmdir(dir);
}


/* ---- the hash chain ---------------------------------------------------- */

/* The journal's records first..first+n-1 (n <= 16) hold together as a
 * batch would carry them: each record matches its digest (placeholders
 * aside), the digests fold from prev to head.  Fills prev/head. */
static void check_chain_run(struct gw_journal *j, uint64_t first, size_t n,
			    uint8_t prev[AS_CHAIN_LEN], uint8_t head[AS_CHAIN_LEN],
			    uint8_t digests[][AS_CHAIN_LEN])
{
	struct as_record recs[16];
	size_t at = 99;

	if (!CHECK(n <= 16) || !CHECK_OK(gw_journal_chain_range(j, first, n, prev, digests, head)))
		return;
	for (size_t i = 0; i < n; i++)
		if (!CHECK_OK(gw_journal_get(j, first + i, &recs[i])))
			return;
	/* The journal gives seals (a placeholder's is the personal hash of
	 * the record it replaced), as a batch carries them. */
	as_chain_unseal(recs, digests, n);
	CHECK_EQ_INT(as_chain_verify(prev, head, recs, (const uint8_t (*)[AS_CHAIN_LEN])digests, n,
				     INT64_MAX, INT64_MAX, &at), AS_CHAIN_INTACT);
}

static void test_chain(void)
{
	char dir[64], other_dir[128];
	struct gw_journal *j, *other;
	struct gw_journal_chain c, c2;
	uint8_t prev[AS_CHAIN_LEN], head[AS_CHAIN_LEN], link[AS_CHAIN_LEN];
	uint8_t d[16][AS_CHAIN_LEN], d2[16][AS_CHAIN_LEN];
	uint8_t genesis[AS_CHAIN_LEN] = {0};
	struct as_record r;
	uint64_t deleted = 0, moved = 0, changed = 0;
	unsigned calls;

	test_tmpdir(dir);
	j = open_j(dir, MAP_DEFAULT);
	if (!j)
		goto out;
	/* A new journal: an id, the genesis head. */
	if (CHECK_OK(gw_journal_chain_head(j, &c))) {
		CHECK_EQ_INT(c.seq, 0);
		CHECK(as_chain_is_genesis(c.head));
		CHECK(!sodium_is_zero(c.journal_id, AS_JOURNAL_ID_LEN));
	}
	CHECK_RC(gw_journal_chain_range(j, 1, 1, prev, d, head), AS_E_NOT_FOUND);
	CHECK_RC(gw_journal_chain_range(j, 1, 0, prev, d, head), AS_E_LENGTH);
	/* Groups and single appends make one chain. */
	CHECK_OK(append_group(j, 3, 1, TEST_NOW, NULL));
	append_one(j, 4, TEST_NOW);
	append_one(j, 5, TEST_NOW);
	check_chain_run(j, 1, 5, prev, head, d);
	CHECK(as_chain_is_genesis(prev));
	for (uint64_t seq = 1; seq <= 5; seq++)
		if (CHECK_OK(gw_journal_get(j, seq, &r))) {
			uint8_t digest[AS_CHAIN_LEN];

			as_chain_record_digest(&r, digest);
			CHECK_MEM(digest, d[seq - 1], AS_CHAIN_LEN);
		}
	if (CHECK_OK(gw_journal_chain_head(j, &c2))) {
		CHECK_EQ_INT(c2.seq, 5);
		CHECK_MEM(c2.head, head, AS_CHAIN_LEN);
		CHECK_MEM(c2.journal_id, c.journal_id, AS_JOURNAL_ID_LEN);
	}
	/* A run from the middle starts at the link after the records before. */
	check_chain_run(j, 3, 3, prev, head, d2);
	as_chain_fold(genesis, (const uint8_t (*)[AS_CHAIN_LEN])d, 2, link);
	CHECK_MEM(prev, link, AS_CHAIN_LEN);
	CHECK_MEM(head, c2.head, AS_CHAIN_LEN);
	CHECK_RC(gw_journal_chain_range(j, 5, 2, prev, d2, head), AS_E_NOT_FOUND);
	/* Time correction keeps the chain: the digest leaves out an unsynced
	 * record's entry time. */
	{
		struct as_record u;
		struct gw_journal_entry e = {&u, NULL, 0};

		rec_make(&u, 6, TEST_NOW - 999999);
		u.flags = AS_REC_CLOCK_UNSYNCED;
		CHECK_OK(gw_journal_append(j, &e, 1));
		CHECK_OK(gw_journal_correct_times(j, u.boot_id, TEST_NOW - 5, &changed));
		CHECK_EQ_INT(changed, 1);
		if (CHECK_OK(gw_journal_get(j, 6, &u)))
			CHECK_EQ_INT(u.flags, AS_REC_TIME_CORRECTED);
		check_chain_run(j, 1, 6, prev, head, d);
	}
	/* Purge: acknowledged records go with their chain entries; unsent ones
	 * past retention become placeholders and keep theirs. */
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", 2));
	CHECK_OK(purge_all(j, TEST_NOW + 1000000, TEST_NOW + 1000000, 100, &deleted, &calls));
	CHECK_EQ_INT(deleted, 6);
	CHECK_RC(gw_journal_chain_range(j, 1, 1, prev, d2, head), AS_E_NOT_FOUND);
	if (CHECK_OK(gw_journal_get(j, 3, &r)))
		CHECK_EQ_INT(r.kind, AS_REC_EXPIRED);
	check_chain_run(j, 3, 4, prev, head, d2);
	CHECK_MEM(d2, d + 2, 4 * AS_CHAIN_LEN);
	/* Rebase: the unsent records move after the cloud's seq, the chain
	 * with them, unchanged. */
	CHECK_OK(gw_journal_rebase(j, 100, &moved));
	CHECK_EQ_INT(moved, 4);
	{
		uint8_t prev2[AS_CHAIN_LEN], head2[AS_CHAIN_LEN];

		check_chain_run(j, 101, 4, prev2, head2, d);
		CHECK_MEM(prev2, prev, AS_CHAIN_LEN);
		CHECK_MEM(head2, head, AS_CHAIN_LEN);
		CHECK_MEM(d, d2, 4 * AS_CHAIN_LEN);
	}
	if (CHECK_OK(gw_journal_chain_head(j, &c2))) {
		CHECK_EQ_INT(c2.seq, 104);
		CHECK_MEM(c2.head, head, AS_CHAIN_LEN);
	}
	/* The next append continues from the head. */
	append_one(j, 7, TEST_NOW);
	check_chain_run(j, 105, 1, prev, link, d);
	CHECK_MEM(prev, head, AS_CHAIN_LEN);
	/* Reopening keeps id and head; another journal has another id. */
	gw_journal_close(j);
	j = open_j(dir, MAP_DEFAULT);
	if (j && CHECK_OK(gw_journal_chain_head(j, &c2))) {
		CHECK_MEM(c2.journal_id, c.journal_id, AS_JOURNAL_ID_LEN);
		CHECK_MEM(c2.head, link, AS_CHAIN_LEN);
		CHECK_EQ_INT(c2.seq, 105);
	}
	snprintf(other_dir, sizeof other_dir, "%s/other", dir);
	other = open_j(other_dir, MAP_DEFAULT);
	if (other && CHECK_OK(gw_journal_chain_head(other, &c2)))
		CHECK(memcmp(c2.journal_id, c.journal_id, AS_JOURNAL_ID_LEN) != 0);
	gw_journal_close(other);
	gw_journal_close(j);
	test_rmdir(other_dir);
out:
	test_rmdir(dir);
}

/* A journal written before the chain (no journal id, no chain entries):
 * a read-only view has no chain; the first writer chains its unsent records
 * from the genesis link. */
static void test_chain_upgrade(void)
{
	char dir[64];
	struct gw_journal *j, *ro = NULL;
	struct gw_journal_chain c;
	uint8_t prev[AS_CHAIN_LEN], head[AS_CHAIN_LEN], d[16][AS_CHAIN_LEN];
	char err[300];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, chain;
	MDB_val k1 = {10, (void *)"journal_id"}, k2 = {10, (void *)"chain_head"};

	test_tmpdir(dir);
	j = open_j(dir, MAP_DEFAULT);
	if (!j)
		goto out;
	CHECK_OK(append_group(j, 4, 1, TEST_NOW, NULL));
	CHECK_OK(gw_journal_set_meta(j, "acked_seq", 2));
	gw_journal_close(j);
	/* Make it an old journal. */
	CHECK_OK(mdb_env_create(&env));
	CHECK_OK(mdb_env_set_maxdbs(env, 8));
	if (CHECK_OK(mdb_env_open(env, dir, 0, 0600)) && CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn))) {
		CHECK_OK(mdb_dbi_open(txn, "meta", 0, &meta));
		CHECK_OK(mdb_dbi_open(txn, "chain", 0, &chain));
		CHECK_OK(mdb_del(txn, meta, &k1, NULL));
		CHECK_OK(mdb_del(txn, meta, &k2, NULL));
		CHECK_OK(mdb_drop(txn, chain, 1));
		CHECK_OK(mdb_txn_commit(txn));
	}
	mdb_env_close(env);
	if (CHECK_OK(gw_journal_open_readonly(&ro, dir, err, sizeof err))) {
		CHECK_RC(gw_journal_chain_head(ro, &c), AS_E_NOT_FOUND);
		CHECK_RC(gw_journal_chain_range(ro, 1, 1, prev, d, head), AS_E_NOT_FOUND);
		gw_journal_close(ro);
	}
	j = open_j(dir, MAP_DEFAULT);
	if (!j)
		goto out;
	/* Only the unsent records 3..4 are chained, from the genesis. */
	check_chain_run(j, 3, 2, prev, head, d);
	CHECK(as_chain_is_genesis(prev));
	CHECK_RC(gw_journal_chain_range(j, 2, 1, prev, d, head), AS_E_NOT_FOUND);
	check_chain_run(j, 3, 2, prev, head, d);
	if (CHECK_OK(gw_journal_chain_head(j, &c))) {
		CHECK_EQ_INT(c.seq, 4);
		CHECK_MEM(c.head, head, AS_CHAIN_LEN);
		CHECK(!sodium_is_zero(c.journal_id, AS_JOURNAL_ID_LEN));
	}
	gw_journal_close(j);
out:
	test_rmdir(dir);
}

int main(void)
{
	if (as_crypto_init() != 0)
		return 2;
	TEST_RUN(test_open_empty);
	TEST_RUN(test_open_errors);
	TEST_RUN(test_seqs_start_at_one_and_grow);
	TEST_RUN(test_seqs_never_reused);
	TEST_RUN(test_map_full_all_or_nothing);
	TEST_RUN(test_full_journal_recovers_after_ack);
	TEST_RUN(test_full_unacked_journal_purge);
	TEST_RUN(test_import_keys);
	TEST_RUN(test_purge_exact);
	TEST_RUN(test_purge_interleaved);
	TEST_RUN(test_purge_future);
	TEST_RUN(test_scan_edges);
	TEST_RUN(test_stats_and_meta);
	TEST_RUN(test_readonly_and_reopen);
	TEST_RUN(test_append_refuses_undecodable_record);
	TEST_RUN(test_chain);
	TEST_RUN(test_chain_upgrade);
	if (known_bugs_seen)
		printf("%d known-bug checks failed (not counted; see KNOWN-BUG lines)\n",
		       known_bugs_seen);
	return TEST_DONE();
}
