/*
 * test_clock.c - clock trust, stamping and correction (gateway/clock.c):
 * mode parsing (exact words only); the boot id read from the kernel; the
 * SYNCED and UNSYNCED modes stamp times and flags correctly; a learned
 * trusted time makes later stamps "corrected"; gw_clock_correct rewrites
 * only records of this boot marked unsynced; and the journal's bulk
 * correction (gw_journal_correct_times, what the writer's GW_WRITE_CORRECT
 * runs) agrees with gw_clock_correct record by record.
 */
#include "test.h"

#include "clock.h"
#include "journal.h"

#include <time.h>

/* ---- helpers ----------------------------------------------------------- */

/* The kernel's boot id, parsed here independently of clock.c. */
static int read_boot_id(uint8_t out[AS_BOOT_ID_LEN])
{
	char buf[64] = {0};
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	size_t n = 0;

	if (!f)
		return -1;
	if (!fgets(buf, sizeof buf, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	for (const char *p = buf; *p && *p != '\n'; p++) {
		unsigned v;

		if (*p == '-')
			continue;
		if (sscanf(p, "%1x", &v) != 1 || n >= 2 * AS_BOOT_ID_LEN)
			return -1;
		if (n % 2 == 0)
			out[n / 2] = (uint8_t)(v << 4);
		else
			out[n / 2] |= (uint8_t)v;
		n++;
	}
	return n == 2 * AS_BOOT_ID_LEN ? 0 : -1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- tests ------------------------------------------------------------- */

static void test_mode_parse(void)
{
	static const char *const bad[] = {"",       "Auto",      "AUTO",     "synced ",
					  " synced", "sync",      "unsync",   "unsynced\n",
					  "true",   "automatic", "synced\t", "0"};
	enum gw_clock_mode m = GW_CLOCK_UNSYNCED;

	CHECK_OK(gw_clock_mode_parse(&m, "auto"));
	CHECK_EQ_INT(m, GW_CLOCK_AUTO);
	CHECK_OK(gw_clock_mode_parse(&m, "synced"));
	CHECK_EQ_INT(m, GW_CLOCK_SYNCED);
	CHECK_OK(gw_clock_mode_parse(&m, "unsynced"));
	CHECK_EQ_INT(m, GW_CLOCK_UNSYNCED);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		test_ctx("\"%s\"", bad[i]);
		m = GW_CLOCK_SYNCED;
		CHECK_RC(gw_clock_mode_parse(&m, bad[i]), AS_E_CONFIG);
		CHECK_EQ_INT(m, GW_CLOCK_SYNCED); /* untouched on error */
	}
	test_ctx_clear();
}

static void test_init_and_sources(void)
{
	struct gw_clock c, d;
	uint8_t want[AS_BOOT_ID_LEN], zero[AS_BOOT_ID_LEN] = {0};
	uint64_t m0, m1;
	int64_t t0, t;

	memset(&c, 0xff, sizeof c);
	if (!CHECK_OK(gw_clock_init(&c, GW_CLOCK_SYNCED)))
		return;
	CHECK_EQ_INT(c.mode, GW_CLOCK_SYNCED);
	CHECK_EQ_INT(c.has_offset, 0);
	CHECK_EQ_INT(c.offset, 0);
	CHECK(memcmp(c.boot_id, zero, sizeof zero) != 0);
	if (CHECK_OK(read_boot_id(want)))
		CHECK_MEM(c.boot_id, want, AS_BOOT_ID_LEN);
	CHECK_OK(gw_clock_init(&d, GW_CLOCK_UNSYNCED));
	CHECK_MEM(c.boot_id, d.boot_id, AS_BOOT_ID_LEN); /* same boot, same id */

	CHECK_EQ_INT(gw_clock_synced(&c), 1);
	CHECK_EQ_INT(gw_clock_synced(&d), 0);
	d.mode = GW_CLOCK_AUTO; /* the kernel decides: either answer, no crash */
	CHECK(gw_clock_synced(&d) == 0 || gw_clock_synced(&d) == 1);

	m0 = gw_clock_mono_ms();
	m1 = gw_clock_mono_ms();
	CHECK(m0 > 0);
	CHECK(m1 >= m0);
	t0 = (int64_t)time(NULL);
	t = gw_clock_now();
	CHECK(t >= t0 && t <= (int64_t)time(NULL));
}

static void test_stamp_synced(void)
{
	struct gw_clock c;
	struct as_record r;
	int64_t t0, t1;
	uint64_t m0, m1;

	if (!CHECK_OK(gw_clock_init(&c, GW_CLOCK_SYNCED)))
		return;
	test_record_make(&r, 1);
	r.flags = AS_REC_CLOCK_UNSYNCED | AS_REC_TIME_CORRECTED; /* stale flags */
	memset(r.boot_id, 0, AS_BOOT_ID_LEN);
	t0 = gw_clock_now();
	m0 = gw_clock_mono_ms();
	gw_clock_stamp(&c, &r);
	m1 = gw_clock_mono_ms();
	t1 = gw_clock_now();
	CHECK_EQ_INT(r.flags, 0);
	CHECK(r.entry_time >= t0 && r.entry_time <= t1);
	CHECK(r.mono_ms >= m0 && r.mono_ms <= m1);
	CHECK_MEM(r.boot_id, c.boot_id, AS_BOOT_ID_LEN);
	/* a learned offset does not override a trusted wall clock */
	gw_clock_learn(&c, 1000, 0);
	gw_clock_stamp(&c, &r);
	CHECK_EQ_INT(r.flags, 0);
	CHECK(r.entry_time >= t0 && r.entry_time <= gw_clock_now());
}

static void test_stamp_unsynced(void)
{
	struct gw_clock c;
	struct as_record r;
	int64_t t0, t1, trusted = TEST_NOW + 12345;
	uint64_t m0, m1, learn_mono;

	if (!CHECK_OK(gw_clock_init(&c, GW_CLOCK_UNSYNCED)))
		return;
	test_record_make(&r, 1);
	r.flags = AS_REC_TIME_CORRECTED;
	t0 = gw_clock_now();
	m0 = gw_clock_mono_ms();
	gw_clock_stamp(&c, &r);
	m1 = gw_clock_mono_ms();
	t1 = gw_clock_now();
	CHECK_EQ_INT(r.flags, AS_REC_CLOCK_UNSYNCED); /* and not corrected */
	CHECK(r.entry_time >= t0 && r.entry_time <= t1);
	CHECK(r.mono_ms >= m0 && r.mono_ms <= m1);
	CHECK_MEM(r.boot_id, c.boot_id, AS_BOOT_ID_LEN);

	/* learn a trusted time (unix ms) observed now: later stamps use it */
	learn_mono = gw_clock_mono_ms();
	gw_clock_learn(&c, trusted * 1000, learn_mono);
	CHECK_EQ_INT(c.has_offset, 1);
	CHECK_EQ_INT(c.offset, trusted - (int64_t)(learn_mono / 1000));
	r.flags = AS_REC_CLOCK_UNSYNCED;
	gw_clock_stamp(&c, &r);
	CHECK_EQ_INT(r.flags, AS_REC_TIME_CORRECTED);
	CHECK_EQ_INT(r.entry_time, (int64_t)(r.mono_ms / 1000) + c.offset);
	CHECK(r.entry_time >= trusted && r.entry_time <= trusted + 2);
}

static void test_learn_arithmetic(void)
{
	struct gw_clock c;
	struct as_record r;

	memset(&c, 0, sizeof c);
	c.mode = GW_CLOCK_UNSYNCED;
	gw_clock_learn(&c, TEST_NOW * 1000 + 123, 5000);
	CHECK_EQ_INT(c.has_offset, 1);
	CHECK_EQ_INT(c.offset, TEST_NOW - 5);
	/* learning again replaces the offset */
	gw_clock_learn(&c, (TEST_NOW + 60) * 1000, 5000);
	CHECK_EQ_INT(c.offset, TEST_NOW + 55);

	/* The offset is kept in whole seconds, so a corrected time may be up to
	 * one second off the true one (never more).  Sweep sub-second phases. */
	for (int64_t tms = 0; tms < 1000; tms += 37)
		for (uint64_t lm = 0; lm < 1000; lm += 41) {
			gw_clock_learn(&c, TEST_NOW * 1000 + tms, 10000 + lm);
			for (uint64_t later = 0; later < 3000; later += 173) {
				int64_t true_ms = TEST_NOW * 1000 + tms + (int64_t)later;
				int64_t err;

				memset(&r, 0, sizeof r);
				r.flags = AS_REC_CLOCK_UNSYNCED;
				memcpy(r.boot_id, c.boot_id, AS_BOOT_ID_LEN);
				r.mono_ms = 10000 + lm + later;
				CHECK_EQ_INT(gw_clock_correct(&c, &r), 1);
				err = r.entry_time - floor_div(true_ms, 1000);
				test_ctx("tms %lld lm %llu later %llu", (long long)tms,
					 (unsigned long long)lm, (unsigned long long)later);
				if (!CHECK(err >= -1 && err <= 1))
					return;
			}
		}
	test_ctx_clear();
}

static void test_correct_only_this_boot_unsynced(void)
{
	struct gw_clock c;
	struct as_record r, orig;

	if (!CHECK_OK(gw_clock_init(&c, GW_CLOCK_UNSYNCED)))
		return;
	test_record_make(&r, 3);
	memcpy(r.boot_id, c.boot_id, AS_BOOT_ID_LEN);
	r.flags = AS_REC_CLOCK_UNSYNCED;
	r.mono_ms = 42500;
	orig = r;
	/* no trusted time yet: nothing to do */
	CHECK_EQ_INT(gw_clock_correct(&c, &r), 0);
	CHECK_MEM(&r, &orig, sizeof r);

	gw_clock_learn(&c, TEST_NOW * 1000, 100000); /* offset TEST_NOW - 100 */
	CHECK_EQ_INT(gw_clock_correct(&c, &r), 1);
	CHECK_EQ_INT(r.entry_time, 42 + TEST_NOW - 100);
	CHECK_EQ_INT(r.flags, AS_REC_TIME_CORRECTED);
	CHECK_EQ_INT(r.seq, orig.seq);
	CHECK_EQ_INT(r.mono_ms, orig.mono_ms);
	CHECK_MEM(r.pid, orig.pid, AS_PID_LEN);
	/* correcting again changes nothing (no longer marked unsynced) */
	orig = r;
	CHECK_EQ_INT(gw_clock_correct(&c, &r), 0);
	CHECK_MEM(&r, &orig, sizeof r);

	/* synced record of this boot: untouched */
	test_record_make(&r, 4);
	memcpy(r.boot_id, c.boot_id, AS_BOOT_ID_LEN);
	r.flags = 0;
	orig = r;
	CHECK_EQ_INT(gw_clock_correct(&c, &r), 0);
	CHECK_MEM(&r, &orig, sizeof r);

	/* unsynced record of another boot: untouched (its mono_ms means
	 * nothing in this boot) */
	test_record_make(&r, 5);
	memcpy(r.boot_id, c.boot_id, AS_BOOT_ID_LEN);
	r.boot_id[AS_BOOT_ID_LEN - 1] ^= 0x01;
	r.flags = AS_REC_CLOCK_UNSYNCED;
	orig = r;
	CHECK_EQ_INT(gw_clock_correct(&c, &r), 0);
	CHECK_MEM(&r, &orig, sizeof r);
}

/* What a record is: kind, flags, boot (0 this, 1 other), mono_ms. */
struct rec_spec {
	uint8_t kind, flags;
	int other_boot;
	uint64_t mono_ms;
};

static void test_journal_correction_matches(void)
{
	static const struct rec_spec specs[] = {
		{AS_REC_PASS, AS_REC_CLOCK_UNSYNCED, 0, 61000},
		{AS_REC_PASS, 0, 0, 62000},
		{AS_REC_CARD, AS_REC_CLOCK_UNSYNCED, 1, 63000},
		{AS_REC_PASS, AS_REC_TIME_CORRECTED, 0, 64000},
		{AS_REC_MANUAL, 0, 0, 65000},
		{AS_REC_CARD, AS_REC_CLOCK_UNSYNCED, 0, 3601999},
		{AS_REC_PASS, AS_REC_CLOCK_UNSYNCED, 1, 67000},
		{AS_REC_PASS, AS_REC_CLOCK_UNSYNCED, 0, 0},
	};
	enum { N = sizeof specs / sizeof specs[0] };
	struct gw_clock c;
	struct gw_journal *j = NULL;
	struct as_record recs[N], want[N], got;
	struct gw_journal_entry es[N];
	char dir[64], err[300];
	uint64_t changed = 99, want_changed = 0;

	if (!CHECK_OK(gw_clock_init(&c, GW_CLOCK_UNSYNCED)))
		return;
	test_tmpdir(dir);
	if (!CHECK_OK(gw_journal_open(&j, dir, UINT64_C(16) << 20, err, sizeof err)))
		goto out;
	for (size_t i = 0; i < N; i++) {
		test_record_make(&recs[i], 1);
		recs[i].seq = 0;
		recs[i].kind = specs[i].kind;
		recs[i].flags = specs[i].flags;
		recs[i].mono_ms = specs[i].mono_ms;
		recs[i].entry_time = TEST_NOW - 1000000; /* the wrong clock */
		memcpy(recs[i].boot_id, c.boot_id, AS_BOOT_ID_LEN);
		if (specs[i].other_boot)
			recs[i].boot_id[0] ^= 0x80;
		es[i] = (struct gw_journal_entry){&recs[i], NULL, 0};
	}
	if (!CHECK_OK(gw_journal_append(j, es, N)))
		goto close;
	/* learn a trusted time, then correct the journal with its offset, as
	 * sync does (GW_WRITE_CORRECT) */
	gw_clock_learn(&c, TEST_NOW * 1000, 50000);
	for (size_t i = 0; i < N; i++) {
		want[i] = recs[i];
		want_changed += (uint64_t)gw_clock_correct(&c, &want[i]);
	}
	CHECK_EQ_INT(want_changed, 3);
	CHECK_OK(gw_journal_correct_times(j, c.boot_id, c.offset, &changed));
	CHECK_EQ_INT(changed, want_changed);
	for (size_t i = 0; i < N; i++) {
		test_ctx("record %zu", i);
		if (!CHECK_OK(gw_journal_get(j, i + 1, &got)))
			continue;
		CHECK_EQ_INT(got.entry_time, want[i].entry_time);
		CHECK_EQ_INT(got.flags, want[i].flags);
		CHECK_EQ_INT(got.kind, want[i].kind);
		CHECK_EQ_INT(got.mono_ms, want[i].mono_ms);
		CHECK_MEM(got.boot_id, want[i].boot_id, AS_BOOT_ID_LEN);
		CHECK_MEM(got.capsule, want[i].capsule, AS_CAPSULE_LEN);
	}
	test_ctx_clear();
	/* a second run finds nothing left to correct */
	CHECK_OK(gw_journal_correct_times(j, c.boot_id, c.offset, &changed));
	CHECK_EQ_INT(changed, 0);
close:
	gw_journal_close(j);
out:
	test_rmdir(dir);
}

int main(void)
{
	if (as_crypto_init() != 0)
		return 2;
	TEST_RUN(test_mode_parse);
	TEST_RUN(test_init_and_sources);
	TEST_RUN(test_stamp_synced);
	TEST_RUN(test_stamp_unsynced);
	TEST_RUN(test_learn_arithmetic);
	TEST_RUN(test_correct_only_this_boot_unsynced);
	TEST_RUN(test_journal_correction_matches);
	return TEST_DONE();
}
