/*
 * test_coverage.c - gateway coverage (cloud/coverage.c and the store's
 * coverage periods): which time a heartbeat is filed under, how heartbeats
 * merge into periods (in order, out of order, closing a gap, two gateways
 * side by side), how silences are read and classified (offline, down,
 * rebooted, never heard, silent now, clipped to a window), that a long run
 * of heartbeats is stored as one row, that the purge drops periods that
 * ended before the horizon, and that an unsynced gateway's old heartbeat
 * sent again is refused as a replay.  Stores live under /tmp, removed at the
 * end.
 */
#include "test.h"

#include "coverage.h"
#include "store.h"

#include <lmdb.h>

#define T0 TEST_NOW
#define MAP_TEST (UINT64_C(64) << 20)

static void make_hb(struct as_heartbeat *hb, unsigned gw_tag, int64_t at, int64_t up_since,
		    uint8_t boot, uint32_t interval)
{
	memset(hb, 0, sizeof *hb);
	test_fill(hb->gw_id, AS_GWID_LEN, 100 + gw_tag);
	hb->sent_at = at;
	hb->up_since = up_since;
	memset(hb->boot_id, boot, AS_BOOT_ID_LEN);
	hb->interval = interval;
	hb->clock_state = AS_CLOCK_SYNCED;
	hb->last_seq = (uint64_t)(at - T0);
	hb->journal_size = 1 << 20;
}

static void test_filing_time(void)
{
	struct as_heartbeat hb;
	const int64_t now = T0 + 1000, ret = 56 * 86400;

	make_hb(&hb, 1, T0 + 900, T0, 1, 60);
	CHECK_EQ_INT(cl_coverage_time(&hb, now, ret), T0 + 900);
	hb.clock_state = AS_CLOCK_CORRECTED;
	CHECK_EQ_INT(cl_coverage_time(&hb, now, ret), T0 + 900);
	hb.clock_state = AS_CLOCK_UNSYNCED;          /* its own time means nothing */
	CHECK_EQ_INT(cl_coverage_time(&hb, now, ret), now);
	hb.clock_state = AS_CLOCK_SYNCED;
	hb.sent_at = now + CL_HEARTBEAT_SKEW;        /* a little ahead: believed */
	CHECK_EQ_INT(cl_coverage_time(&hb, now, ret), now + CL_HEARTBEAT_SKEW);
	hb.sent_at = now + CL_HEARTBEAT_SKEW + 1;    /* too far ahead */
	CHECK_EQ_INT(cl_coverage_time(&hb, now, ret), now);
	hb.sent_at = now - ret - 1;                  /* older than retention */
	CHECK_EQ_INT(cl_coverage_time(&hb, now, ret), now);
}

static void test_merge_rules(void)
{
	struct as_heartbeat hb;
	struct cl_period a, b, c;

	make_hb(&hb, 1, T0, T0 - 10, 1, 60);
	cl_period_from_heartbeat(&a, &hb, T0, T0 + 1);
	CHECK_EQ_INT(a.start, T0);
	CHECK_EQ_INT(a.end, T0);
	CHECK_EQ_INT(a.heartbeats, 1);
	CHECK_EQ_INT(cl_period_limit(&a, &a), 120);
	make_hb(&hb, 1, T0 + 120, T0 - 10, 1, 60);
	cl_period_from_heartbeat(&b, &hb, T0 + 120, T0 + 121);
	CHECK(cl_period_joins(&a, &b));              /* exactly 2 intervals */
	make_hb(&hb, 1, T0 + 121, T0 - 10, 1, 60);
	cl_period_from_heartbeat(&c, &hb, T0 + 121, T0 + 122);
	CHECK(!cl_period_joins(&a, &c));             /* one second more: a gap */
	cl_period_combine(&a, &a, &b);
	CHECK_EQ_INT(a.start, T0);
	CHECK_EQ_INT(a.end, T0 + 120);
	CHECK_EQ_INT(a.heartbeats, 2);
	CHECK_EQ_INT(a.restarts, 0);
	CHECK_EQ_INT(a.last_seq, 120);
	CHECK_EQ_INT(a.first_seq, 0);
	/* A restart inside a period (quick, no silence) is counted. */
	make_hb(&hb, 1, T0 + 180, T0 + 150, 1, 60);
	cl_period_from_heartbeat(&c, &hb, T0 + 180, T0 + 181);
	cl_period_combine(&a, &a, &c);
	CHECK_EQ_INT(a.restarts, 1);
	CHECK_EQ_INT(a.last_up_since, T0 + 150);
	CHECK_EQ_INT(a.first_up_since, T0 - 10);
	/* up_since moving by one second is rounding, not a restart. */
	make_hb(&hb, 1, T0 + 240, T0 + 151, 1, 60);
	cl_period_from_heartbeat(&c, &hb, T0 + 240, T0 + 241);
	cl_period_combine(&a, &a, &c);
	CHECK_EQ_INT(a.restarts, 1);
	/* Nor is it when the clock became corrected from the cloud's time
	 * (every time it reports moves). */
	make_hb(&hb, 1, T0 + 300, T0 + 9000, 1, 60);
	hb.clock_state = AS_CLOCK_CORRECTED;
	cl_period_from_heartbeat(&c, &hb, T0 + 300, T0 + 301);
	cl_period_combine(&a, &a, &c);
	CHECK_EQ_INT(a.restarts, 1);
	CHECK_EQ_INT(a.clock_state, AS_CLOCK_CORRECTED);
	/* A new boot is a restart whatever the clock says. */
	make_hb(&hb, 1, T0 + 360, T0 + 9000, 2, 60);
	hb.clock_state = AS_CLOCK_UNSYNCED;
	cl_period_from_heartbeat(&c, &hb, T0 + 360, T0 + 361);
	cl_period_combine(&a, &a, &c);
	CHECK_EQ_INT(a.restarts, 2);
	/* A late copy of a heartbeat from before those restarts (the broker
	 * delivers it again) lands inside the period: no restart is new. */
	make_hb(&hb, 1, T0 + 120, T0 - 10, 1, 60);
	cl_period_from_heartbeat(&c, &hb, T0 + 120, T0 + 400);
	cl_period_combine(&a, &a, &c);
	CHECK_EQ_INT(a.restarts, 2);
	CHECK_EQ_INT(a.end, T0 + 360);
	CHECK_EQ_INT(a.last_up_since, T0 + 9000);
	/* Encoding round trip. */
	{
		uint8_t v[CL_PERIOD_VALUE_LEN];
		struct cl_period back;

		cl_period_encode(v, &a);
		CHECK_OK(cl_period_decode(&back, a.start, v, sizeof v));
		CHECK(memcmp(&a, &back, sizeof a) == 0);
		CHECK_RC(cl_period_decode(&back, a.start, v, sizeof v - 1), AS_E_CORRUPT);
		CHECK_RC(cl_period_decode(&back, a.end + 1, v, sizeof v), AS_E_CORRUPT);
		v[0] = 2;
		CHECK_RC(cl_period_decode(&back, a.start, v, sizeof v), AS_E_CORRUPT);
	}
}

struct silences {
	struct cl_silence s[8];
	size_t n;
};

static int collect(void *ctx, const struct cl_silence *s)
{
	struct silences *out = ctx;

	if (out->n < 8)
		out->s[out->n++] = *s;
	return 0;
}

static void period(struct cl_period *p, int64_t start, int64_t end, int64_t up_first,
		   int64_t up_last, uint8_t boot_first, uint8_t boot_last)
{
	struct as_heartbeat hb;

	make_hb(&hb, 1, start, up_first, boot_first, 60);
	cl_period_from_heartbeat(p, &hb, start, start);
	p->end = end;
	p->last_up_since = up_last;
	memset(p->last_boot, boot_last, AS_BOOT_ID_LEN);
}

static void test_silences(void)
{
	struct cl_period p[4];
	struct silences got = {0};
	const int64_t since = T0 - 600;

	/* Up 0..1000; offline 1000..2000 (same daemon); down 3000..4000
	 * (daemon started at 3500); rebooted 5000..6000. */
	period(&p[0], T0, T0 + 1000, T0 - 5, T0 - 5, 1, 1);
	period(&p[1], T0 + 2000, T0 + 3000, T0 - 5, T0 - 5, 1, 1);
	period(&p[2], T0 + 4000, T0 + 5000, T0 + 3500, T0 + 3500, 1, 1);
	period(&p[3], T0 + 6000, T0 + 7000, T0 + 5900, T0 + 5900, 2, 2);
	CHECK_OK(cl_coverage_silences(p, 4, since, T0 + 7050, INT64_MIN, INT64_MAX, collect, &got));
	if (CHECK_EQ_INT(got.n, 4)) {
		CHECK_EQ_INT(got.s[0].kind, CL_SILENT_NEVER);
		CHECK_EQ_INT(got.s[0].from, since);
		CHECK_EQ_INT(got.s[0].to, T0);
		CHECK_EQ_INT(got.s[1].kind, CL_SILENT_OFFLINE);
		CHECK_EQ_INT(got.s[1].from, T0 + 1000);
		CHECK_EQ_INT(got.s[1].to, T0 + 2000);
		CHECK_EQ_INT(got.s[2].kind, CL_SILENT_DOWN);
		CHECK_EQ_INT(got.s[3].kind, CL_SILENT_REBOOTED);
	}
	CHECK(!cl_coverage_silent_now(p, 4, T0 + 7120));
	CHECK(cl_coverage_silent_now(p, 4, T0 + 7121));
	CHECK(cl_coverage_silent_now(p, 0, T0));
	/* Silent now: the open silence runs to now. */
	got.n = 0;
	CHECK_OK(cl_coverage_silences(p, 4, since, T0 + 9000, T0 + 6500, INT64_MAX, collect, &got));
	if (CHECK_EQ_INT(got.n, 1)) {
		CHECK_EQ_INT(got.s[0].kind, CL_SILENT_NOW);
		CHECK_EQ_INT(got.s[0].from, T0 + 7000);
		CHECK_EQ_INT(got.s[0].to, T0 + 9000);
	}
	/* A window: only the silences overlapping it. */
	got.n = 0;
	CHECK_OK(cl_coverage_silences(p, 4, since, T0 + 7050, T0 + 1500, T0 + 3200, collect, &got));
	if (CHECK_EQ_INT(got.n, 2)) {
		CHECK_EQ_INT(got.s[0].kind, CL_SILENT_OFFLINE);
		CHECK_EQ_INT(got.s[1].kind, CL_SILENT_DOWN);
	}
	got.n = 0;
	CHECK_OK(cl_coverage_silences(p, 4, since, T0 + 7050, T0 + 100, T0 + 900, collect, &got));
	CHECK_EQ_INT(got.n, 0);
	/* Never heard at all. */
	got.n = 0;
	CHECK_OK(cl_coverage_silences(p, 0, since, T0, INT64_MIN, INT64_MAX, collect, &got));
	if (CHECK_EQ_INT(got.n, 1))
		CHECK_EQ_INT(got.s[0].kind, CL_SILENT_NEVER);
	CHECK_STR(cl_silence_kind_name(CL_SILENT_OFFLINE), "offline");
	CHECK_STR(cl_silence_kind_name(CL_SILENT_NEVER), "never-heard");
}

/* An unsynced gateway's up_since is in its own clock's time, not the
 * cloud's: with its clock a day ahead, a network outage of one daemon run
 * is "offline", not "down" (up_since after the silence began only by the
 * gateway's wrong clock), and a daemon restart is still "down". */
static void test_silences_unsynced_clock(void)
{
	struct cl_period p[3];
	struct silences got = {0};
	const int64_t ahead = 86400;

	period(&p[0], T0, T0 + 1000, T0 + ahead - 5, T0 + ahead - 5, 1, 1);
	period(&p[1], T0 + 2000, T0 + 3000, T0 + ahead - 5, T0 + ahead - 5, 1, 1);
	period(&p[2], T0 + 4000, T0 + 5000, T0 + ahead + 3500, T0 + ahead + 3500, 1, 1);
	for (int i = 0; i < 3; i++)
		p[i].clock_state = AS_CLOCK_UNSYNCED;
	CHECK_OK(cl_coverage_silences(p, 3, T0, T0 + 5050, INT64_MIN, INT64_MAX, collect, &got));
	if (CHECK_EQ_INT(got.n, 2)) {
		CHECK_EQ_INT(got.s[0].kind, CL_SILENT_OFFLINE);
		CHECK_EQ_INT(got.s[1].kind, CL_SILENT_DOWN);
	}
}

/* ---- through the store ---- */

struct periods {
	struct cl_period p[16];
	size_t n;
};

static int collect_period(void *ctx, const struct cl_period *p)
{
	struct periods *out = ctx;

	if (out->n < 16)
		out->p[out->n++] = *p;
	return 0;
}

static size_t read_periods(struct cl_store *s, unsigned gw_tag, struct periods *out)
{
	uint8_t id[AS_GWID_LEN];

	test_fill(id, AS_GWID_LEN, 100 + gw_tag);
	out->n = 0;
	CHECK_OK(cl_store_each_period(s, id, collect_period, out));
	return out->n;
}

static void ingest(struct cl_store *s, const struct as_heartbeat *hb, size_t n)
{
	struct cl_ingest *in;

	if (!CHECK_OK(cl_store_ingest_begin(s, &in)))
		return;
	for (size_t i = 0; i < n; i++)
		CHECK_OK(cl_store_ingest_heartbeat(in, &hb[i], hb[i].sent_at, hb[i].sent_at + 1,
						   NULL));
	CHECK_OK(cl_store_ingest_commit(in));
}

static void test_store_merge(void)
{
	char dir[64];
	struct cl_store *s = NULL;
	struct as_heartbeat hb[1000];
	struct periods got;
	char err[300];

	test_tmpdir(dir);
	if (!CHECK_OK(cl_store_open(&s, dir, MAP_TEST, 0, err, sizeof err)))
		return;
	/* 1000 heartbeats a minute apart, in several transactions, and a
	 * second gateway's interleaved: one row each. */
	for (int i = 0; i < 1000; i++)
		make_hb(&hb[i], 1, T0 + 60 * i, T0 - 5, 1, 60);
	ingest(s, hb, 400);
	ingest(s, hb + 400, 600);
	make_hb(&hb[0], 2, T0 + 30, T0, 7, 60);
	ingest(s, hb, 1);
	if (CHECK_EQ_INT(read_periods(s, 1, &got), 1)) {
		CHECK_EQ_INT(got.p[0].start, T0);
		CHECK_EQ_INT(got.p[0].end, T0 + 60 * 999);
		CHECK_EQ_INT(got.p[0].heartbeats, 1000);
		CHECK_EQ_INT(got.p[0].last_seq, 60 * 999);
	}
	CHECK_EQ_INT(read_periods(s, 2, &got), 1);
	CHECK_EQ_INT(read_periods(s, 3, &got), 0);
	/* A silence of an hour, then heartbeats again: two periods. */
	const int64_t t1 = T0 + 60 * 999 + 3600;
	make_hb(&hb[0], 1, t1, T0 - 5, 1, 60);
	make_hb(&hb[1], 1, t1 + 60, T0 - 5, 1, 60);
	ingest(s, hb, 2);
	if (CHECK_EQ_INT(read_periods(s, 1, &got), 2)) {
		CHECK_EQ_INT(got.p[1].start, t1);
		CHECK_EQ_INT(got.p[1].end, t1 + 60);
	}
	/* Late heartbeats (held by the broker) fill the hour: one period
	 * again, whatever the order they come in. */
	for (int i = 0; i < 60; i++)
		make_hb(&hb[i], 1, t1 - 60 * (i + 1), T0 - 5, 1, 60);
	ingest(s, hb + 30, 30);      /* the earlier half first */
	CHECK_EQ_INT(read_periods(s, 1, &got), 2);
	ingest(s, hb, 30);
	if (CHECK_EQ_INT(read_periods(s, 1, &got), 1)) {
		CHECK_EQ_INT(got.p[0].start, T0);
		CHECK_EQ_INT(got.p[0].end, t1 + 60);
		CHECK_EQ_INT(got.p[0].heartbeats, 1000 + 2 + 60);
	}
	/* A heartbeat inside a period changes its count only. */
	make_hb(&hb[0], 1, T0 + 90, T0 - 5, 1, 60);
	ingest(s, hb, 1);
	if (CHECK_EQ_INT(read_periods(s, 1, &got), 1)) {
		CHECK_EQ_INT(got.p[0].end, t1 + 60);
		CHECK_EQ_INT(got.p[0].heartbeats, 1000 + 2 + 60 + 1);
		CHECK_EQ_INT(got.p[0].last_seq, t1 + 60 - T0);
	}
	/* Purge: a period that ended before the horizon goes, one that ends
	 * after it stays whole. */
	make_hb(&hb[0], 1, t1 + 86400, T0 - 5, 1, 60);
	ingest(s, hb, 1);
	CHECK_EQ_INT(read_periods(s, 1, &got), 2);
	CHECK_OK(cl_store_purge(s, t1 + 61, 3, NULL));
	if (CHECK_EQ_INT(read_periods(s, 1, &got), 1))
		CHECK_EQ_INT(got.p[0].start, t1 + 86400);
	CHECK_EQ_INT(read_periods(s, 2, &got), 0);
	/* A period that starts after the limit (a store written by a cloud
	 * whose clock was ahead) goes too; one that starts before it stays. */
	make_hb(&hb[0], 1, t1 + 100 * 86400, T0 - 5, 1, 60);
	ingest(s, hb, 1);
	CHECK_EQ_INT(read_periods(s, 1, &got), 2);
	CHECK_OK(cl_store_purge_outside(s, t1 + 61, t1 + 86400, 3, NULL));
	if (CHECK_EQ_INT(read_periods(s, 1, &got), 1))
		CHECK_EQ_INT(got.p[0].start, t1 + 86400);
	cl_store_close(s);
	test_rmdir(dir);
}

/* Heartbeats of an unsynced gateway are filed when they arrive; an old one
 * sent again must not make the gateway look alive. */
static void test_store_replay(void)
{
	char dir[64], err[300];
	struct cl_store *s = NULL;
	struct cl_ingest *in;
	struct as_heartbeat hb[3];
	struct periods got;
	int replay = -1;

	test_tmpdir(dir);
	if (!CHECK_OK(cl_store_open(&s, dir, MAP_TEST, 0, err, sizeof err)))
		return;
	for (int i = 0; i < 3; i++) {
		/* The gateway's own clock says 1970-something: unsynced. */
		make_hb(&hb[i], 1, 1000 + 60 * i, 900, 1, 60);
		hb[i].clock_state = AS_CLOCK_UNSYNCED;
	}
	if (CHECK_OK(cl_store_ingest_begin(s, &in))) {
		CHECK_OK(cl_store_ingest_heartbeat(in, &hb[0], T0, T0, &replay));
		CHECK_EQ_INT(replay, 0);
		CHECK_OK(cl_store_ingest_heartbeat(in, &hb[1], T0 + 60, T0 + 60, &replay));
		CHECK_EQ_INT(replay, 0);
		CHECK_OK(cl_store_ingest_commit(in));
	}
	/* An hour later, hb[1] again: a replay, the gateway stays silent. */
	if (CHECK_OK(cl_store_ingest_begin(s, &in))) {
		CHECK_OK(cl_store_ingest_heartbeat(in, &hb[1], T0 + 3600, T0 + 3600, &replay));
		CHECK_EQ_INT(replay, 1);
		CHECK_OK(cl_store_ingest_heartbeat(in, &hb[0], T0 + 3601, T0 + 3601, &replay));
		CHECK_EQ_INT(replay, 1);
		CHECK_OK(cl_store_ingest_commit(in));
	}
	if (CHECK_EQ_INT(read_periods(s, 1, &got), 1))
		CHECK_EQ_INT(got.p[0].end, T0 + 60);
	/* A newer one is taken; so is the first of a new boot. */
	hb[1].boot_id[0] ^= 1;
	if (CHECK_OK(cl_store_ingest_begin(s, &in))) {
		CHECK_OK(cl_store_ingest_heartbeat(in, &hb[2], T0 + 3602, T0 + 3602, &replay));
		CHECK_EQ_INT(replay, 0);
		CHECK_OK(cl_store_ingest_heartbeat(in, &hb[1], T0 + 3660, T0 + 3660, &replay));
		CHECK_EQ_INT(replay, 0);
		CHECK_OK(cl_store_ingest_commit(in));
	}
	CHECK_EQ_INT(read_periods(s, 1, &got), 2);
	/* The gateway dies.  Copies of the last heartbeat of each of its two
	 * boots, sent again in turn, must not keep it alive: a boot that a
	 * newer boot followed is over. */
	hb[0].boot_id[0] ^= 1;
	if (CHECK_OK(cl_store_ingest_begin(s, &in))) {
		CHECK_OK(cl_store_ingest_heartbeat(in, &hb[2], T0 + 7200, T0 + 7200, &replay));
		CHECK_EQ_INT(replay, 1);
		CHECK_OK(cl_store_ingest_heartbeat(in, &hb[1], T0 + 7201, T0 + 7201, &replay));
		CHECK_EQ_INT(replay, 1);
		/* hb[0] again, but claiming the second boot and newer: taken (the
		 * cloud cannot tell it from a live heartbeat of that boot). */
		hb[0].sent_at = hb[1].sent_at + 1;
		CHECK_OK(cl_store_ingest_heartbeat(in, &hb[0], T0 + 7202, T0 + 7202, &replay));
		CHECK_EQ_INT(replay, 0);
		CHECK_OK(cl_store_ingest_commit(in));
	}
	if (CHECK_EQ_INT(read_periods(s, 1, &got), 3))
		CHECK_EQ_INT(got.p[1].end, T0 + 3660);
	cl_store_close(s);
	test_rmdir(dir);
}

/* A gateway without NTP whose clock the cloud's acks corrected restarts
 * its daemon in the same boot: the correction is gone, and its heartbeats
 * carry the raw wall clock again, years behind the corrected times the
 * cloud holds.  They are not replays (the new daemon started after the
 * cloud last heard it); a raw heartbeat of a daemon that was running
 * before that still is. */
static void test_store_restart_loses_correction(void)
{
	char dir[64], err[300];
	struct cl_store *s = NULL;
	struct cl_ingest *in;
	struct as_heartbeat early, fixed, raw;
	struct periods got;
	int replay = -1;

	test_tmpdir(dir);
	if (!CHECK_OK(cl_store_open(&s, dir, MAP_TEST, 0, err, sizeof err)))
		return;
	/* Run 1: raw clock at 1000 + uptime; uncorrected, then corrected. */
	make_hb(&early, 1, 1030, 1000, 1, 60);
	early.clock_state = AS_CLOCK_UNSYNCED;
	make_hb(&fixed, 1, T0, T0 - 600, 1, 60);
	fixed.clock_state = AS_CLOCK_CORRECTED;
	/* Run 2, started at raw 1700, 30 s before it sends. */
	make_hb(&raw, 1, 1730, 1700, 1, 60);
	raw.clock_state = AS_CLOCK_UNSYNCED;
	if (CHECK_OK(cl_store_ingest_begin(s, &in))) {
		CHECK_OK(cl_store_ingest_heartbeat(in, &early, T0 - 60, T0 - 60, &replay));
		CHECK_EQ_INT(replay, 0);
		CHECK_OK(cl_store_ingest_heartbeat(in, &fixed, T0, T0 + 1, &replay));
		CHECK_EQ_INT(replay, 0);
		/* A raw heartbeat whose daemon ran longer than the time since the
		 * corrected one was sent: not of a run started since. */
		{
			struct as_heartbeat old = raw;

			old.up_since = old.sent_at - 200;
			CHECK_OK(cl_store_ingest_heartbeat(in, &old, T0 + 100, T0 + 100, &replay));
			CHECK_EQ_INT(replay, 1);
		}
		/* Run 2's first heartbeat, 100 s after the last one heard. */
		CHECK_OK(cl_store_ingest_heartbeat(in, &raw, T0 + 101, T0 + 101, &replay));
		CHECK_EQ_INT(replay, 0);
		raw.sent_at += 60;
		CHECK_OK(cl_store_ingest_heartbeat(in, &raw, T0 + 161, T0 + 161, &replay));
		CHECK_EQ_INT(replay, 0);
		CHECK_OK(cl_store_ingest_commit(in));
	}
	if (CHECK_EQ_INT(read_periods(s, 1, &got), 1)) {
		CHECK_EQ_INT(got.p[0].start, T0 - 60);
		CHECK_EQ_INT(got.p[0].end, T0 + 161);
	}
	cl_store_close(s);
	test_rmdir(dir);
}

/* A store from before coverage (no "coverage" database): read-only it has
 * no periods (and no error); opened for writing it gains the database and
 * takes heartbeats. */
static void test_store_before_coverage(void)
{
	char dir[64], err[300];
	struct cl_store *s = NULL;
	struct as_heartbeat hb;
	struct periods got;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	test_tmpdir(dir);
	if (!CHECK_OK(cl_store_open(&s, dir, MAP_TEST, 0, err, sizeof err)))
		return;
	cl_store_close(s);
	s = NULL;
	CHECK_OK(mdb_env_create(&env));
	CHECK_OK(mdb_env_set_maxdbs(env, 16));
	if (CHECK_OK(mdb_env_open(env, dir, 0, 0600)) && CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn))) {
		CHECK_OK(mdb_dbi_open(txn, "coverage", 0, &dbi));
		CHECK_OK(mdb_drop(txn, dbi, 1));
		CHECK_OK(mdb_txn_commit(txn));
	}
	mdb_env_close(env);
	if (CHECK_OK(cl_store_open(&s, dir, 0, 1, err, sizeof err))) {
		CHECK_EQ_INT(read_periods(s, 1, &got), 0);
		cl_store_close(s);
		s = NULL;
	}
	if (CHECK_OK(cl_store_open(&s, dir, MAP_TEST, 0, err, sizeof err))) {
		make_hb(&hb, 1, T0, T0 - 10, 1, 60);
		ingest(s, &hb, 1);
		if (CHECK_EQ_INT(read_periods(s, 1, &got), 1))
			CHECK_EQ_INT(got.p[0].start, T0);
		cl_store_close(s);
	}
	test_rmdir(dir);
}

/* Two heartbeats in the same second: a copy of one daemon run's is a
 * replay; a daemon restarted within that second (another up_since) is not. */
static void test_replay_same_second(void)
{
	struct cl_period latest;
	struct as_heartbeat first, again, restarted;

	make_hb(&first, 1, T0 + 100, T0 + 40, 1, 60);
	cl_period_from_heartbeat(&latest, &first, T0 + 100, T0 + 100);
	again = first;
	CHECK_EQ_INT(cl_heartbeat_is_replay(&latest, &again, T0 + 100), 1);
	make_hb(&restarted, 1, T0 + 100, T0 + 100, 1, 60);
	CHECK_EQ_INT(cl_heartbeat_is_replay(&latest, &restarted, T0 + 100), 0);
	make_hb(&restarted, 1, T0 + 99, T0 + 99, 1, 60);
	CHECK_EQ_INT(cl_heartbeat_is_replay(&latest, &restarted, T0 + 100), 1);
}

int main(void)
{
	TEST_RUN(test_filing_time);
	TEST_RUN(test_merge_rules);
	TEST_RUN(test_silences);
	TEST_RUN(test_silences_unsynced_clock);
	TEST_RUN(test_store_merge);
	TEST_RUN(test_store_replay);
	TEST_RUN(test_replay_same_second);
	TEST_RUN(test_store_before_coverage);
	TEST_RUN(test_store_restart_loses_correction);
	return TEST_DONE();
}
