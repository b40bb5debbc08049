/*
 * test_writer.c - the single journal writer thread (gateway/writer.c) with
 * a real journal and a real libuv loop: every request completes exactly
 * once, appends in submission order, done callbacks on the loop thread;
 * meta and time-correction requests run in order with appends; group commit really groups (counted in LMDB transactions); a purge yields
 * to appends between slices; a failed group fails every member and stores
 * nothing; done callbacks may free their request and submit more;
 * gw_writer_stop finishes everything queued before it returns and the loop
 * then closes with no handles left.
 *
 * Determinism without sleeps: where a test needs requests to pile up behind
 * a busy writer, a child process holds LMDB's write lock (a write
 * transaction on the same environment) until the test has queued them; the
 * writer thread blocks in mdb_txn_begin meanwhile.  The loop is run until a
 * condition holds, with a 10 ms wake-up timer and a 20 s deadline.
 *
 * Known bugs are checked with KNOWN_BUG(): reported as "KNOWN-BUG" lines but
 * not counted as failures, unless ANSHIM_STRICT_KNOWN_BUGS=1 is set.
 */
#include "test.h"

#include "journal.h"
#include "writer.h"

#include <errno.h>
#include <lmdb.h>
#include <sys/wait.h>

#define MAP_DEFAULT (UINT64_C(64) << 20)
#define DEADLINE_MS 20000

static int known_bugs_seen;

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

/* ---- fixture ----------------------------------------------------------- */

struct fx {
	char dir[64];
	struct gw_journal *j;
	uv_loop_t loop;
	uv_timer_t tick;
	struct gw_writer *w;
	uv_thread_t loop_thread;
	/* completions, in the order done callbacks ran */
	size_t completed;
	size_t done_with_bad_thread;
};

/* One request and what its done callback saw. */
struct item {
	struct gw_write_req req; /* first */
	struct fx *fx;
	int done_count;
	size_t order;            /* position among completions */
};

static void on_tick(uv_timer_t *t)
{
	(void)t; /* only wakes the loop so that deadlines are checked */
}

static void on_done(struct gw_write_req *req)
{
	struct item *it = (struct item *)req;
	uv_thread_t self = uv_thread_self();

	it->done_count++;
	it->order = it->fx->completed++;
	if (!uv_thread_equal(&self, &it->fx->loop_thread))
		it->fx->done_with_bad_thread++;
}

static int fx_open(struct fx *f, uint64_t map_size)
{
	char err[300];

	memset(f, 0, sizeof *f);
	test_tmpdir(f->dir);
	f->loop_thread = uv_thread_self();
	if (!CHECK_OK(gw_journal_open(&f->j, f->dir, map_size, err, sizeof err))) {
		fprintf(stderr, "  %s\n", err);
		test_rmdir(f->dir);
		return -1;
	}
	if (!CHECK_OK(uv_loop_init(&f->loop))) {
		gw_journal_close(f->j);
		f->j = NULL;
		test_rmdir(f->dir);
		return -1;
	}
	uv_timer_init(&f->loop, &f->tick);
	uv_timer_start(&f->tick, on_tick, 10, 10);
	uv_unref((uv_handle_t *)&f->tick); /* the writer's handle keeps the loop alive */
	return 0;
}

static int fx_start(struct fx *f, unsigned max_group)
{
	return CHECK_OK(gw_writer_start(&f->w, &f->loop, f->j, max_group)) ? 0 : -1;
}

/* Run the loop until *counter reaches want or the deadline passes. */
static int run_until(struct fx *f, const size_t *counter, size_t want)
{
	uint64_t deadline = uv_now(&f->loop) + DEADLINE_MS;

	uv_ref((uv_handle_t *)&f->tick);
	for (unsigned i = 0; i < 1000000 && *counter < want; i++) {
		uv_run(&f->loop, UV_RUN_ONCE);
		if (uv_now(&f->loop) > deadline)
			break;
	}
	uv_unref((uv_handle_t *)&f->tick);
	return CHECK(*counter >= want);
}

/* Stop the writer (if running), close everything; the loop must close
 * with no handles left. */
static void fx_close(struct fx *f)
{
	if (f->w)
		gw_writer_stop(f->w);
	f->w = NULL;
	uv_close((uv_handle_t *)&f->tick, NULL);
	CHECK_OK(uv_run(&f->loop, UV_RUN_DEFAULT));
	CHECK_OK(uv_loop_close(&f->loop));
	gw_journal_close(f->j);
	test_rmdir(f->dir);
}

static void item_append(struct item *it, struct fx *f, unsigned tag, int64_t when)
{
	memset(it, 0, sizeof *it);
	it->fx = f;
	it->req.kind = GW_WRITE_APPEND;
	test_record_make(&it->req.rec, 1);
	it->req.rec.seq = 0;
	it->req.rec.entry_time = when;
	test_fill(it->req.rec.pid, AS_PID_LEN, 100 + tag);
	test_fill(it->req.rec.capsule, AS_CAPSULE_LEN, 200 + tag);
	it->req.done = on_done;
	it->req.data = f;
}

/* ---- a child process holding LMDB's write lock -------------------------- */

struct stall {
	pid_t pid;
	int release_fd; /* write a byte (or close) to let the child go */
};

/* Must be called before any writer thread exists (fork in a threaded
 * process would be fragile).  Returns 0 once the child holds the lock. */
static int stall_start(struct stall *s, const char *dir)
{
	int held[2], release[2];
	char c = 0;

	s->pid = -1;
	if (pipe(held) < 0 || pipe(release) < 0)
		return -errno;
	fflush(NULL);
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (s->pid == 0) {
		MDB_env *env;
		MDB_txn *txn;
		char ok = '1';

		close(held[0]);
		close(release[1]);
		if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 4) ||
		    mdb_env_open(env, dir, MDB_NOTLS, 0600) ||
		    mdb_txn_begin(env, NULL, 0, &txn))
			ok = '0';
		if (write(held[1], &ok, 1) != 1 || ok != '1')
			_exit(1);
		if (read(release[0], &c, 1) < 0)
			_exit(2);
		mdb_txn_abort(txn);
		mdb_env_close(env);
		_exit(0);
	}
	close(held[1]);
	close(release[0]);
	s->release_fd = release[1];
	if (read(held[0], &c, 1) != 1)
		c = 0;
	close(held[0]);
	return c == '1' ? 0 : -EIO;
}

static void stall_release(struct stall *s)
{
	int status = -1;

	if (s->pid <= 0)
		return;
	if (write(s->release_fd, "x", 1) != 1)
		perror("write");
	close(s->release_fd);
	CHECK(waitpid(s->pid, &status, 0) == s->pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	s->pid = -1;
}

/* LMDB's count of committed write transactions in the environment at dir
 * (open only while no gw_journal has it open in this process). */
static int last_txnid(const char *dir, size_t *out)
{
	MDB_env *env;
	MDB_envinfo info;
	int rc = mdb_env_create(&env);

	if (!rc)
		rc = mdb_env_set_maxdbs(env, 4);
	if (!rc)
		rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
	if (!rc) {
		mdb_env_info(env, &info);
		*out = info.me_last_txnid;
	}
	mdb_env_close(env);
	return rc;
}

/* ---- tests ------------------------------------------------------------- */

static void test_appends_in_order_on_loop_thread(void)
{
	enum { N = 500 };
	static struct item items[N];
	struct fx f;
	struct gw_journal_stats st;
	struct as_record got;

	if (fx_open(&f, MAP_DEFAULT) || fx_start(&f, 64)) {
		if (f.j)
			fx_close(&f);
		return;
	}
	CHECK_EQ_INT(gw_writer_pending(f.w), 0);
	for (unsigned i = 0; i < N; i++) {
		item_append(&items[i], &f, i, TEST_NOW + i);
		gw_writer_submit(f.w, &items[i].req);
	}
	CHECK_EQ_INT(gw_writer_pending(f.w), N); /* decremented on the loop only */
	run_until(&f, &f.completed, N);
	CHECK_EQ_INT(gw_writer_pending(f.w), 0);
	CHECK_EQ_INT(f.done_with_bad_thread, 0);
	for (unsigned i = 0; i < N; i++) {
		test_ctx("request %u", i);
		if (!CHECK_EQ_INT(items[i].done_count, 1) || !CHECK_EQ_INT(items[i].order, i) ||
		    !CHECK_OK(items[i].req.status) || !CHECK_EQ_INT(items[i].req.rec.seq, i + 1) ||
		    !CHECK_EQ_INT(items[i].req.duplicate, 0))
			break;
	}
	test_ctx_clear();
	/* durable and in the journal, each under its own seq */
	if (CHECK_OK(gw_journal_stats(f.j, &st))) {
		CHECK_EQ_INT(st.records, N);
		CHECK_EQ_INT(st.last_seq, N);
	}
	if (CHECK_OK(gw_journal_get(f.j, 321, &got))) {
		CHECK_EQ_INT(got.entry_time, TEST_NOW + 320);
		CHECK_MEM(got.pid, items[320].req.rec.pid, AS_PID_LEN);
	}
	/* the writer stays usable: a second wave */
	for (unsigned i = 0; i < 10; i++) {
		item_append(&items[i], &f, 1000 + i, TEST_NOW);
		gw_writer_submit(f.w, &items[i].req);
	}
	CHECK_EQ_INT(gw_writer_pending(f.w), 10);
	run_until(&f, &f.completed, N + 10);
	for (unsigned i = 0; i < 10; i++)
		CHECK_EQ_INT(items[i].req.rec.seq, N + 1 + i);
	fx_close(&f);
}

/* 500 appends queued behind a busy writer are committed in a handful of
 * transactions: at most 1 + ceil(500 / max_group), plus one for opening. */
static void group_commit_case(unsigned max_group)
{
	enum { N = 500 };
	static struct item items[N];
	struct fx f;
	struct stall s = {-1, -1};
	struct gw_journal_stats st;
	char dir[64], err[300];
	size_t before = 0, after = 0, bound = 2 + (N + max_group - 1) / max_group;

	if (fx_open(&f, MAP_DEFAULT))
		return;
	/* the baseline count, with the journal closed */
	gw_journal_close(f.j);
	CHECK_OK(last_txnid(f.dir, &before));
	if (!CHECK_OK(gw_journal_open(&f.j, f.dir, MAP_DEFAULT, err, sizeof err)))
		abort();
	if (!CHECK_OK(stall_start(&s, f.dir)) || fx_start(&f, max_group)) {
		stall_release(&s);
		fx_close(&f);
		return;
	}
	for (unsigned i = 0; i < N; i++) {
		item_append(&items[i], &f, i, TEST_NOW);
		gw_writer_submit(f.w, &items[i].req);
	}
	/* nothing can commit while the child holds the write lock (readers
	 * are not blocked) */
	if (CHECK_OK(gw_journal_stats(f.j, &st)))
		CHECK_EQ_INT(st.records, 0);
	stall_release(&s);
	run_until(&f, &f.completed, N);
	for (unsigned i = 0; i < N; i++) {
		test_ctx("request %u", i);
		if (!CHECK_EQ_INT(items[i].done_count, 1) || !CHECK_EQ_INT(items[i].order, i) ||
		    !CHECK_OK(items[i].req.status) || !CHECK_EQ_INT(items[i].req.rec.seq, i + 1))
			break;
	}
	test_ctx_clear();
	if (CHECK_OK(gw_journal_stats(f.j, &st)))
		CHECK_EQ_INT(st.records, N);
	gw_writer_stop(f.w);
	f.w = NULL;
	gw_journal_close(f.j);
	snprintf(dir, sizeof dir, "%s", f.dir);
	if (CHECK_OK(last_txnid(dir, &after))) {
		test_ctx("max_group %u: %zu transactions for %d appends", max_group, after - before,
			 N);
		CHECK(after > before);
		CHECK(after - before <= bound);
		if (getenv("ANSHIM_TEST_VERBOSE"))
			printf("  max_group %u: %zu transactions for %d appends (bound %zu)\n",
			       max_group, after - before, N, bound);
		test_ctx_clear();
	}
	if (!CHECK_OK(gw_journal_open(&f.j, f.dir, MAP_DEFAULT, err, sizeof err)))
		abort();
	fx_close(&f);
}

static void test_group_commit_groups(void)
{
	group_commit_case(500);
	group_commit_case(64);
	group_commit_case(7);
}

/* max_group 0 means 1: every append its own transaction, still in order. */
static void test_max_group_zero(void)
{
	enum { N = 20 };
	static struct item items[N];
	struct fx f;

	if (fx_open(&f, MAP_DEFAULT) || fx_start(&f, 0)) {
		if (f.j)
			fx_close(&f);
		return;
	}
	for (unsigned i = 0; i < N; i++) {
		item_append(&items[i], &f, i, TEST_NOW);
		gw_writer_submit(f.w, &items[i].req);
	}
	run_until(&f, &f.completed, N);
	for (unsigned i = 0; i < N; i++)
		if (!CHECK_EQ_INT(items[i].req.rec.seq, i + 1) || !CHECK_EQ_INT(items[i].order, i))
			break;
	fx_close(&f);
}

/* A purge of 5000 records (three slices of 2000) submitted before three
 * appends: the appends are not stuck behind it - they complete first,
 * between its slices - and the purge then finishes with the full count. */
static void test_purge_yields_to_appends(void)
{
	enum { OLD = 5000 };
	static struct item items[4];
	struct fx f;
	struct stall s = {-1, -1};
	struct gw_journal_stats st;
	struct item *purge = &items[0];

	if (fx_open(&f, MAP_DEFAULT))
		return;
	/* 5000 old, acknowledged records: a purge deletes them all */
	{
		static struct as_record recs[OLD];
		static struct gw_journal_entry es[OLD];

		for (unsigned i = 0; i < OLD; i++) {
			test_record_make(&recs[i], 1);
			recs[i].seq = 0;
			recs[i].entry_time = TEST_NOW - 90 * 86400;
			es[i] = (struct gw_journal_entry){&recs[i], NULL, 0};
		}
		CHECK_OK(gw_journal_append(f.j, es, OLD));
		CHECK_OK(gw_journal_set_meta(f.j, "acked_seq", OLD));
	}
	if (!CHECK_OK(stall_start(&s, f.dir)) || fx_start(&f, 64)) {
		stall_release(&s);
		fx_close(&f);
		return;
	}
	memset(purge, 0, sizeof *purge);
	purge->fx = &f;
	purge->req.kind = GW_WRITE_PURGE;
	purge->req.horizon = TEST_NOW - 30 * 86400;
	purge->req.sent_horizon = TEST_NOW - 14 * 86400;
	purge->req.done = on_done;
	gw_writer_submit(f.w, &purge->req);
	for (unsigned i = 1; i < 4; i++) {
		item_append(&items[i], &f, i, TEST_NOW);
		gw_writer_submit(f.w, &items[i].req);
	}
	CHECK_EQ_INT(gw_writer_pending(f.w), 4);
	stall_release(&s);
	run_until(&f, &f.completed, 4);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ_INT(items[i].done_count, 1);
	CHECK_OK(purge->req.status);
	CHECK_EQ_INT(purge->req.purged, OLD);
	CHECK_EQ_INT(purge->order, 3); /* last */
	for (unsigned i = 1; i < 4; i++) {
		CHECK_EQ_INT(items[i].order, i - 1);
		CHECK_OK(items[i].req.status);
		CHECK_EQ_INT(items[i].req.rec.seq, OLD + i);
	}
	if (CHECK_OK(gw_journal_stats(f.j, &st))) {
		CHECK_EQ_INT(st.records, 3);
		CHECK_EQ_INT(st.last_seq, OLD + 3);
	}
	fx_close(&f);
}

/* Meta requests run in order with appends; an import-key duplicate is
 * reported on the request. */
static void test_meta_and_duplicates(void)
{
	static struct item items[5];
	struct fx f;
	uint64_t v = 0;

	if (fx_open(&f, MAP_DEFAULT) || fx_start(&f, 16)) {
		if (f.j)
			fx_close(&f);
		return;
	}
	item_append(&items[0], &f, 0, TEST_NOW);
	items[0].req.has_import_key = 1;
	test_fill(items[0].req.import_key, GW_IMPORT_KEY_LEN, 90);
	item_append(&items[1], &f, 1, TEST_NOW);
	items[1].req.has_import_key = 1;
	test_fill(items[1].req.import_key, GW_IMPORT_KEY_LEN, 90); /* same row */
	memset(&items[2], 0, sizeof items[2]);
	items[2].fx = &f;
	items[2].req.kind = GW_WRITE_META;
	items[2].req.meta_name = "acked_seq";
	items[2].req.meta_value = 1;
	items[2].req.done = on_done;
	item_append(&items[3], &f, 3, TEST_NOW);
	memset(&items[4], 0, sizeof items[4]);
	items[4] = items[2];
	items[4].req.meta_value = 2;
	for (unsigned i = 0; i < 5; i++)
		gw_writer_submit(f.w, &items[i].req);
	run_until(&f, &f.completed, 5);
	for (unsigned i = 0; i < 5; i++) {
		CHECK_EQ_INT(items[i].done_count, 1);
		CHECK_EQ_INT(items[i].order, i);
		CHECK_OK(items[i].req.status);
	}
	CHECK_EQ_INT(items[0].req.duplicate, 0);
	CHECK_EQ_INT(items[0].req.rec.seq, 1);
	CHECK_EQ_INT(items[1].req.duplicate, 1);
	CHECK_EQ_INT(items[3].req.duplicate, 0);
	CHECK_EQ_INT(items[3].req.rec.seq, 2);
	CHECK_OK(gw_journal_get_meta(f.j, "acked_seq", &v));
	CHECK_EQ_INT(v, 2);
	fx_close(&f);
}

/* GW_WRITE_CORRECT (what sync submits after learning a trusted time):
 * this boot's unsynced records get their times corrected, the count comes
 * back in purged, and it runs in order after the appends before it. */
static void test_correct_request(void)
{
	static struct item items[5];
	struct fx f;
	struct as_record got;
	uint8_t boot[AS_BOOT_ID_LEN];

	if (fx_open(&f, MAP_DEFAULT) || fx_start(&f, 16)) {
		if (f.j)
			fx_close(&f);
		return;
	}
	test_fill(boot, sizeof boot, 8); /* test_record_make's boot id */
	for (unsigned i = 0; i < 4; i++) {
		item_append(&items[i], &f, i, TEST_NOW - 1000000);
		items[i].req.rec.mono_ms = 10000 + 1000 * i;
		items[i].req.rec.flags = i % 2 ? 0 : AS_REC_CLOCK_UNSYNCED; /* 0 and 2 */
	}
	items[3].req.rec.flags = AS_REC_CLOCK_UNSYNCED;
	items[3].req.rec.boot_id[0] ^= 1; /* another boot */
	memset(&items[4], 0, sizeof items[4]);
	items[4].fx = &f;
	items[4].req.kind = GW_WRITE_CORRECT;
	memcpy(items[4].req.boot_id, boot, AS_BOOT_ID_LEN);
	items[4].req.offset = TEST_NOW;
	items[4].req.done = on_done;
	for (unsigned i = 0; i < 5; i++)
		gw_writer_submit(f.w, &items[i].req);
	run_until(&f, &f.completed, 5);
	for (unsigned i = 0; i < 5; i++) {
		CHECK_EQ_INT(items[i].done_count, 1);
		CHECK_EQ_INT(items[i].order, i);
		CHECK_OK(items[i].req.status);
	}
	CHECK_EQ_INT(items[4].req.purged, 2);
	for (unsigned i = 0; i < 4; i++) {
		int corrected = i == 0 || i == 2;

		test_ctx("record %u", i + 1);
		if (!CHECK_OK(gw_journal_get(f.j, i + 1, &got)))
			continue;
		CHECK_EQ_INT(got.entry_time, corrected ? TEST_NOW + 10 + i : TEST_NOW - 1000000);
		CHECK_EQ_INT(got.flags, corrected ? AS_REC_TIME_CORRECTED
						 : items[i].req.rec.flags);
	}
	test_ctx_clear();
	fx_close(&f);
}

/* A group that does not fit fails as a whole: every member gets the same
 * AS_E_FULL, seq 0, and exactly one done callback; nothing is stored. */
static void test_full_group_fails_whole(void)
{
	enum { N = 6000 };
	static struct item items[N];
	struct fx f;
	struct gw_journal_stats st;
	size_t ok = 0, full = 0, other = 0, bad_seq = 0;

	if (fx_open(&f, UINT64_C(1) << 20) || fx_start(&f, 100)) {
		if (f.j)
			fx_close(&f);
		return;
	}
	for (unsigned i = 0; i < N; i++) {
		item_append(&items[i], &f, i, TEST_NOW);
		gw_writer_submit(f.w, &items[i].req);
	}
	run_until(&f, &f.completed, N);
	for (unsigned i = 0; i < N; i++) {
		const struct gw_write_req *r = &items[i].req;

		if (items[i].done_count != 1)
			other++;
		else if (r->status == 0)
			ok++, bad_seq += r->rec.seq != ok;
		else if (r->status == AS_E_FULL)
			full++, bad_seq += r->rec.seq != 0;
		else
			other++;
	}
	CHECK(ok > 0);
	CHECK(full > 0);
	CHECK_EQ_INT(ok + full, N);
	CHECK_EQ_INT(other, 0);
	CHECK_EQ_INT(bad_seq, 0);
	if (CHECK_OK(gw_journal_stats(f.j, &st))) {
		CHECK_EQ_INT(st.records, ok);
		CHECK_EQ_INT(st.last_seq, ok);
	}
	fx_close(&f);
}

/*
 * KNOWN BUG journal-full-purge, seen through the writer: a full journal
 * with nothing acknowledged; the daemon's retention purge (a GW_WRITE_PURGE
 * request, slices of 2000) fails with AS_E_FULL, so records past the
 * retention horizon keep their personal data.  See test_journal.c.
 */
static void test_purge_of_full_unacked_journal(void)
{
	enum { N = 6000 };
	static struct item items[N + 1];
	struct fx f;
	struct item *purge = &items[N];
	struct as_record got;
	size_t ok = 0;

	if (fx_open(&f, UINT64_C(1) << 20) || fx_start(&f, 50)) {
		if (f.j)
			fx_close(&f);
		return;
	}
	for (unsigned i = 0; i < N; i++) {
		item_append(&items[i], &f, i, TEST_NOW - 90 * 86400);
		gw_writer_submit(f.w, &items[i].req);
	}
	memset(purge, 0, sizeof *purge);
	purge->fx = &f;
	purge->req.kind = GW_WRITE_PURGE;
	purge->req.horizon = TEST_NOW - 30 * 86400;
	purge->req.sent_horizon = TEST_NOW - 14 * 86400;
	purge->req.done = on_done;
	gw_writer_submit(f.w, &purge->req);
	run_until(&f, &f.completed, N + 1);
	for (unsigned i = 0; i < N; i++)
		ok += items[i].req.status == 0;
	CHECK(ok > 0 && ok < N); /* the journal did fill up */
	CHECK_EQ_INT(purge->done_count, 1);
	CHECK(purge->req.status == 0);
	CHECK(purge->req.purged == ok);
	if (CHECK_OK(gw_journal_get(f.j, 1, &got)) && purge->req.status == 0)
		CHECK_EQ_INT(got.kind, AS_REC_EXPIRED);
	fx_close(&f);
}

/* Done callbacks may free their request and submit new ones. */
struct chain {
	struct fx *fx;
	size_t left, finished;
	uint64_t last_seq;
	int bad;
	struct gw_write_req *last_submitted;
};

static void on_chain_done(struct gw_write_req *req)
{
	struct chain *c = req->data;
	struct fx *f = c->fx;
	uv_thread_t self = uv_thread_self();

	if (req->status != 0 || req->rec.seq != c->last_seq + 1 ||
	    !uv_thread_equal(&self, &f->loop_thread))
		c->bad++;
	c->last_seq = req->rec.seq;
	free(req);
	c->finished++;
	if (c->left > 0) {
		struct gw_write_req *next = calloc(1, sizeof *next);

		if (!next)
			abort();
		c->left--;
		next->kind = GW_WRITE_APPEND;
		test_record_make(&next->rec, 1);
		next->rec.seq = 0;
		next->done = on_chain_done;
		next->data = c;
		c->last_submitted = next;
		gw_writer_submit(f->w, next);
	}
}

static void test_done_frees_and_resubmits(void)
{
	struct fx f;
	struct chain c = {&f, 99, 0, 0, 0, NULL};
	struct gw_write_req *first;

	if (fx_open(&f, MAP_DEFAULT) || fx_start(&f, 8)) {
		if (f.j)
			fx_close(&f);
		return;
	}
	first = calloc(1, sizeof *first);
	if (!first)
		abort();
	first->kind = GW_WRITE_APPEND;
	test_record_make(&first->rec, 1);
	first->rec.seq = 0;
	first->done = on_chain_done;
	first->data = &c;
	gw_writer_submit(f.w, first);
	run_until(&f, &c.finished, 100);
	CHECK_EQ_INT(c.finished, 100);
	CHECK_EQ_INT(c.bad, 0);
	CHECK_EQ_INT(c.last_seq, 100);
	CHECK_EQ_INT(gw_writer_pending(f.w), 0);
	fx_close(&f);
}

/* gw_writer_stop finishes everything queued (appends, a meta write, a
 * purge) and runs every done callback before it returns; the loop then
 * closes cleanly. */
static void test_stop_drains(void)
{
	enum { N = 300 };
	static struct item items[N + 2];
	struct fx f;
	struct stall s = {-1, -1};
	struct gw_journal_stats st;
	uint64_t v = 0;

	if (fx_open(&f, MAP_DEFAULT))
		return;
	if (!CHECK_OK(stall_start(&s, f.dir)) || fx_start(&f, 32)) {
		stall_release(&s);
		fx_close(&f);
		return;
	}
	for (unsigned i = 0; i < N; i++) {
		item_append(&items[i], &f, i, TEST_NOW);
		gw_writer_submit(f.w, &items[i].req);
	}
	memset(&items[N], 0, sizeof items[N]);
	items[N].fx = &f;
	items[N].req.kind = GW_WRITE_META;
	items[N].req.meta_name = "acked_seq";
	items[N].req.meta_value = 7;
	items[N].req.done = on_done;
	gw_writer_submit(f.w, &items[N].req);
	memset(&items[N + 1], 0, sizeof items[N + 1]);
	items[N + 1].fx = &f;
	items[N + 1].req.kind = GW_WRITE_PURGE;
	items[N + 1].req.horizon = TEST_NOW - 30 * 86400;
	items[N + 1].req.sent_horizon = TEST_NOW + 1; /* acked 1..7 go */
	items[N + 1].req.done = on_done;
	gw_writer_submit(f.w, &items[N + 1].req);
	CHECK_EQ_INT(gw_writer_pending(f.w), N + 2);
	CHECK_EQ_INT(f.completed, 0);
	/* Let the child go and stop at once: nearly everything is still
	 * queued; stop must not return before all of it is done. */
	stall_release(&s);
	gw_writer_stop(f.w);
	f.w = NULL;
	CHECK_EQ_INT(f.completed, N + 2);
	CHECK_EQ_INT(f.done_with_bad_thread, 0);
	for (unsigned i = 0; i < N + 2; i++) {
		test_ctx("request %u", i);
		if (!CHECK_EQ_INT(items[i].done_count, 1) || !CHECK_OK(items[i].req.status) ||
		    !CHECK_EQ_INT(items[i].order, i))
			break;
	}
	test_ctx_clear();
	CHECK_EQ_INT(items[N - 1].req.rec.seq, N);
	CHECK_EQ_INT(items[N + 1].req.purged, 7);
	CHECK_OK(gw_journal_get_meta(f.j, "acked_seq", &v));
	CHECK_EQ_INT(v, 7);
	if (CHECK_OK(gw_journal_stats(f.j, &st))) {
		CHECK_EQ_INT(st.records, N - 7);
		CHECK_EQ_INT(st.last_seq, N);
	}
	fx_close(&f); /* uv_run returns 0 and uv_loop_close returns 0 */
}

/* Stopping an idle writer, and stopping NULL. */
static void test_stop_idle(void)
{
	struct fx f;

	gw_writer_stop(NULL);
	if (fx_open(&f, MAP_DEFAULT) || fx_start(&f, 4)) {
		if (f.j)
			fx_close(&f);
		return;
	}
	fx_close(&f);
}

/*
 * KNOWN BUG writer-submit-during-stop: a done callback that runs inside
 * gw_writer_stop (writer.h: "their done callbacks run before this
 * returns") and submits a follow-up request - as on_chain_done does - has
 * that request accepted silently and never completed: the thread is
 * already joined, so its done callback never runs and, if it was
 * heap-allocated, it leaks.  Every submitted request should get exactly
 * one done callback (with an error status if the writer is stopping).
 */
static void test_submit_during_stop(void)
{
	struct fx f;
	struct chain c = {&f, 1, 0, 0, 0, NULL};
	struct gw_write_req *first;

	if (fx_open(&f, MAP_DEFAULT) || fx_start(&f, 8)) {
		if (f.j)
			fx_close(&f);
		return;
	}
	first = calloc(1, sizeof *first);
	if (!first)
		abort();
	first->kind = GW_WRITE_APPEND;
	test_record_make(&first->rec, 1);
	first->rec.seq = 0;
	first->done = on_chain_done;
	first->data = &c;
	gw_writer_submit(f.w, first);
	/* The loop has not run, so first's done callback runs inside stop,
	 * and submits the follow-up from there. */
	gw_writer_stop(f.w);
	f.w = NULL;
	CHECK_EQ_INT(c.finished >= 1, 1);
	CHECK(c.last_submitted != NULL);
	CHECK(c.finished == 2);
	fx_close(&f);
	/* The orphan never came back; nothing references it any more (the
	 * writer is freed), so release it here to keep LeakSanitizer quiet. */
	if (c.finished < 2)
		free(c.last_submitted);
}

int main(void)
{
	if (as_crypto_init() != 0)
		return 2;
	TEST_RUN(test_appends_in_order_on_loop_thread);
	TEST_RUN(test_group_commit_groups);
	TEST_RUN(test_max_group_zero);
	TEST_RUN(test_purge_yields_to_appends);
	TEST_RUN(test_meta_and_duplicates);
	TEST_RUN(test_correct_request);
	TEST_RUN(test_full_group_fails_whole);
	TEST_RUN(test_purge_of_full_unacked_journal);
	TEST_RUN(test_done_frees_and_resubmits);
	TEST_RUN(test_stop_drains);
	TEST_RUN(test_stop_idle);
	TEST_RUN(test_submit_during_stop);
	if (known_bugs_seen)
		printf("%d known-bug checks failed (not counted; see KNOWN-BUG lines)\n",
		       known_bugs_seen);
	return TEST_DONE();
}
