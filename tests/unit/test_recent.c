/*
 * test_recent.c - the duplicate-window table (gateway/recent.c): a pid is
 * seen within the window and not after it (both bounds exact), a clock
 * stepping back by less than the window does not hide a check-in, the later
 * time is kept, forget undoes only the matching note and keeps probe chains
 * intact (pids that collide on the same slot), growth past tens of
 * thousands of live entries, rebuilds that drop expired entries, and memory
 * bounded by the visitors inside one window rather than by the total seen
 * (a day of distinct visitors at one per second keeps the table small).
 * Every pid lookup is checked against a simple model where it matters.
 */
#include "test.h"

#include "recent.h"

#define WINDOW 600

/* A uniform pid for visitor i (pids are BLAKE2b output in real life). */
static void pid_of(uint8_t pid[AS_PID_LEN], uint32_t i)
{
	uint8_t in[4] = {(uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24)};

	crypto_generichash(pid, AS_PID_LEN, in, sizeof in, NULL, 0);
}

/* Live entries in the table (time inside the window before now). */
static size_t count_live(const struct gw_recent *r, int64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < r->cap; i++)
		n += r->slots[i].time > now - r->window;
	return n;
}

static void test_init_free(void)
{
	struct gw_recent r;
	uint8_t pid[AS_PID_LEN];

	if (!CHECK_OK(gw_recent_init(&r, WINDOW)))
		return;
	CHECK(r.slots != NULL);
	CHECK(r.cap >= 16 && (r.cap & (r.cap - 1)) == 0);
	CHECK_EQ_INT(r.used, 0);
	CHECK_EQ_INT(r.window, WINDOW);
	pid_of(pid, 1);
	CHECK(!gw_recent_seen(&r, pid, TEST_NOW));
	gw_recent_forget(&r, pid, TEST_NOW); /* unknown pid: nothing happens */
	CHECK_EQ_INT(r.used, 0);
	gw_recent_free(&r);
	CHECK(r.slots == NULL);
	CHECK(!gw_recent_seen(&r, pid, TEST_NOW)); /* freed table: nothing seen */
	gw_recent_free(&r);                        /* twice is harmless */
}

static void test_window_bounds(void)
{
	struct gw_recent r;
	uint8_t a[AS_PID_LEN], b[AS_PID_LEN];

	if (!CHECK_OK(gw_recent_init(&r, WINDOW)))
		return;
	pid_of(a, 1);
	pid_of(b, 2);
	CHECK_OK(gw_recent_note(&r, a, TEST_NOW, TEST_NOW));
	CHECK_EQ_INT(r.used, 1);
	CHECK(gw_recent_seen(&r, a, TEST_NOW));
	CHECK(gw_recent_seen(&r, a, TEST_NOW + 1));
	CHECK(gw_recent_seen(&r, a, TEST_NOW + WINDOW - 1));
	CHECK(!gw_recent_seen(&r, a, TEST_NOW + WINDOW)); /* the window is [t, t+w) */
	CHECK(!gw_recent_seen(&r, a, TEST_NOW + 86400));
	CHECK(!gw_recent_seen(&r, b, TEST_NOW));
	/* the clock stepped back by less than the window: still seen */
	CHECK(gw_recent_seen(&r, a, TEST_NOW - 1));
	CHECK(gw_recent_seen(&r, a, TEST_NOW - WINDOW + 1));
	/* by the window or more: the table no longer claims it (recent.h: seen
	 * only while t < now + window) */
	CHECK(!gw_recent_seen(&r, a, TEST_NOW - WINDOW));
	CHECK(!gw_recent_seen(&r, a, TEST_NOW - 86400));
	/* noting again does not add a slot */
	CHECK_OK(gw_recent_note(&r, a, TEST_NOW + 10, TEST_NOW + 10));
	CHECK_EQ_INT(r.used, 1);
	gw_recent_free(&r);
}

static void test_keeps_later_time(void)
{
	struct gw_recent r;
	uint8_t a[AS_PID_LEN];

	if (!CHECK_OK(gw_recent_init(&r, WINDOW)))
		return;
	pid_of(a, 7);
	CHECK_OK(gw_recent_note(&r, a, TEST_NOW, TEST_NOW));
	CHECK_OK(gw_recent_note(&r, a, TEST_NOW - 500, TEST_NOW)); /* older: ignored */
	CHECK(gw_recent_seen(&r, a, TEST_NOW + WINDOW - 1));
	CHECK_OK(gw_recent_note(&r, a, TEST_NOW + 300, TEST_NOW + 300)); /* newer: kept */
	CHECK(gw_recent_seen(&r, a, TEST_NOW + 300 + WINDOW - 1));
	CHECK(!gw_recent_seen(&r, a, TEST_NOW + 300 + WINDOW));
	/* forget with the older time does not undo the newer note */
	gw_recent_forget(&r, a, TEST_NOW);
	CHECK(gw_recent_seen(&r, a, TEST_NOW + 301));
	gw_recent_forget(&r, a, TEST_NOW + 300);
	CHECK(!gw_recent_seen(&r, a, TEST_NOW + 301));
	CHECK(!gw_recent_seen(&r, a, TEST_NOW + 300));
	/* a note at time 0 (0 marks an empty slot) is stored as long expired */
	CHECK_OK(gw_recent_note(&r, a, 0, TEST_NOW));
	CHECK(!gw_recent_seen(&r, a, TEST_NOW));
	CHECK_EQ_INT(r.used, 1);
	gw_recent_free(&r);
}

static void test_forget(void)
{
	struct gw_recent r;
	uint8_t a[AS_PID_LEN], b[AS_PID_LEN];

	if (!CHECK_OK(gw_recent_init(&r, WINDOW)))
		return;
	pid_of(a, 1);
	pid_of(b, 2);
	CHECK_OK(gw_recent_note(&r, a, TEST_NOW, TEST_NOW));
	CHECK_OK(gw_recent_note(&r, b, TEST_NOW, TEST_NOW));
	gw_recent_forget(&r, a, TEST_NOW + 1); /* not the noted time: kept */
	CHECK(gw_recent_seen(&r, a, TEST_NOW));
	gw_recent_forget(&r, a, TEST_NOW);
	CHECK(!gw_recent_seen(&r, a, TEST_NOW));
	CHECK(gw_recent_seen(&r, b, TEST_NOW)); /* the other one is untouched */
	gw_recent_forget(&r, a, TEST_NOW);       /* twice: nothing more */
	CHECK(!gw_recent_seen(&r, a, TEST_NOW));
	/* noting a forgotten pid again reuses its slot */
	CHECK_OK(gw_recent_note(&r, a, TEST_NOW + 5, TEST_NOW + 5));
	CHECK(gw_recent_seen(&r, a, TEST_NOW + 5));
	CHECK_EQ_INT(r.used, 2);
	gw_recent_free(&r);
}

/* pids that all hash to the same slot (same first 8 bytes): probe chains
 * survive forgetting an entry in the middle, and a rebuild. */
static void test_collisions(void)
{
	enum { N = 40 };
	struct gw_recent r;
	uint8_t pids[N][AS_PID_LEN], other[AS_PID_LEN];

	if (!CHECK_OK(gw_recent_init(&r, WINDOW)))
		return;
	for (unsigned i = 0; i < N; i++) {
		memset(pids[i], 0xA5, 8);
		test_fill(pids[i] + 8, AS_PID_LEN - 8, 300 + i);
		CHECK_OK(gw_recent_note(&r, pids[i], TEST_NOW, TEST_NOW));
	}
	for (unsigned i = 0; i < N; i += 3) /* forget every third, mid-chain */
		gw_recent_forget(&r, pids[i], TEST_NOW);
	for (unsigned i = 0; i < N; i++) {
		test_ctx("pid %u", i);
		CHECK_EQ_INT(gw_recent_seen(&r, pids[i], TEST_NOW + 1), i % 3 != 0);
	}
	test_ctx_clear();
	memcpy(other, pids[0], AS_PID_LEN);
	other[AS_PID_LEN - 1] ^= 1; /* same slot, never noted */
	CHECK(!gw_recent_seen(&r, other, TEST_NOW));
	/* force rebuilds with many other pids noted later: the chain's live
	 * entries survive, the forgotten ones are dropped */
	for (uint32_t i = 0; i < 2000; i++) {
		uint8_t p[AS_PID_LEN];

		pid_of(p, 1000 + i);
		if (!CHECK_OK(gw_recent_note(&r, p, TEST_NOW + 100, TEST_NOW + 100)))
			break;
	}
	for (unsigned i = 0; i < N; i++) {
		test_ctx("after rebuild, pid %u", i);
		CHECK_EQ_INT(gw_recent_seen(&r, pids[i], TEST_NOW + 100), i % 3 != 0);
	}
	test_ctx_clear();
	CHECK_EQ_INT(r.used, 2000 + N - (N + 2) / 3);
	gw_recent_free(&r);
}

/* Tens of thousands of visitors inside one window: the table grows, keeps
 * its load at most one half, and finds every one of them. */
static void test_growth(void)
{
	enum { N = 50000 };
	struct gw_recent r;
	uint8_t p[AS_PID_LEN];
	size_t grew = 0, last_cap;

	if (!CHECK_OK(gw_recent_init(&r, WINDOW)))
		return;
	last_cap = r.cap;
	for (uint32_t i = 0; i < N; i++) {
		pid_of(p, i);
		if (!CHECK_OK(gw_recent_note(&r, p, TEST_NOW, TEST_NOW)))
			break;
		if (r.cap != last_cap) {
			CHECK_EQ_INT(r.cap, last_cap * 2);
			last_cap = r.cap;
			grew++;
		}
		if (!CHECK(r.used * 2 <= r.cap))
			break;
	}
	CHECK(grew >= 5);
	CHECK_EQ_INT(r.used, N);
	CHECK_EQ_INT(count_live(&r, TEST_NOW), N);
	for (uint32_t i = 0; i < N; i++) {
		pid_of(p, i);
		test_ctx("visitor %u", i);
		if (!CHECK(gw_recent_seen(&r, p, TEST_NOW + 1)))
			break;
	}
	for (uint32_t i = N; i < N + 1000; i++) {
		pid_of(p, i);
		test_ctx("stranger %u", i);
		if (!CHECK(!gw_recent_seen(&r, p, TEST_NOW + 1)))
			break;
	}
	test_ctx_clear();
	gw_recent_free(&r);
}

/*
 * A long day of distinct visitors, one per second, window 600 s: never more
 * than 600 are live, so the table must stop growing however many pass
 * through - rebuilds drop the expired ones.  Every note is checked against
 * the model (seen while inside the window, not after).
 */
static void test_memory_bounded(void)
{
	enum { N = 200000 };
	struct gw_recent r;
	uint8_t p[AS_PID_LEN];
	size_t cap_after_warmup = 0, max_cap = 0;

	if (!CHECK_OK(gw_recent_init(&r, WINDOW)))
		return;
	for (uint32_t i = 0; i < N; i++) {
		int64_t now = TEST_NOW + i;

		pid_of(p, i);
		if (!CHECK_OK(gw_recent_note(&r, p, now, now)))
			break;
		if (r.cap > max_cap)
			max_cap = r.cap;
		if (i == 20000)
			cap_after_warmup = r.cap;
		if (i % 997 == 0 && i >= WINDOW) {
			uint8_t q[AS_PID_LEN];

			test_ctx("second %u", i);
			CHECK(gw_recent_seen(&r, p, now));
			pid_of(q, i - WINDOW + 1); /* oldest still inside */
			CHECK(gw_recent_seen(&r, q, now));
			pid_of(q, i - WINDOW); /* just outside */
			CHECK(!gw_recent_seen(&r, q, now));
			CHECK(count_live(&r, now) <= WINDOW);
		}
	}
	test_ctx_clear();
	/* 600 live at most: with the load kept under one half and growth only
	 * when live entries need it, a few thousand slots are plenty */
	CHECK(max_cap <= 4096);
	CHECK_EQ_INT(r.cap, cap_after_warmup); /* stopped growing long ago */
	CHECK(r.used < r.cap);
	gw_recent_free(&r);
}

/* A rebuild happens at "now"; entries noted at a later time (the clock
 * stepped back) are live and kept, expired ones go. */
static void test_rebuild_keeps_future_entries(void)
{
	struct gw_recent r;
	uint8_t a[AS_PID_LEN], p[AS_PID_LEN];
	size_t cap0;

	if (!CHECK_OK(gw_recent_init(&r, WINDOW)))
		return;
	cap0 = r.cap;
	pid_of(a, 424242);
	CHECK_OK(gw_recent_note(&r, a, TEST_NOW + 300, TEST_NOW + 300));
	/* the clock is stepped back 300 s; many old entries fill the table */
	for (uint32_t i = 0; i < (uint32_t)cap0; i++) {
		pid_of(p, i);
		if (!CHECK_OK(gw_recent_note(&r, p, TEST_NOW - 10000, TEST_NOW)))
			break;
	}
	CHECK_EQ_INT(r.cap, cap0); /* only expired entries: no growth */
	CHECK(r.used < cap0);
	CHECK(gw_recent_seen(&r, a, TEST_NOW));
	CHECK(gw_recent_seen(&r, a, TEST_NOW + 300 + WINDOW - 1));
	gw_recent_free(&r);
}

/* Window 0: nothing is ever a duplicate and the table does not grow. */
static void test_zero_window(void)
{
	struct gw_recent r;
	uint8_t p[AS_PID_LEN];
	size_t cap0;

	if (!CHECK_OK(gw_recent_init(&r, 0)))
		return;
	cap0 = r.cap;
	for (uint32_t i = 0; i < 5000; i++) {
		pid_of(p, i);
		if (!CHECK_OK(gw_recent_note(&r, p, TEST_NOW + i, TEST_NOW + i)) ||
		    !CHECK(!gw_recent_seen(&r, p, TEST_NOW + i)))
			break;
	}
	CHECK_EQ_INT(r.cap, cap0);
	gw_recent_free(&r);
}

int main(void)
{
	if (as_crypto_init() != 0)
		return 2;
	TEST_RUN(test_init_free);
	TEST_RUN(test_window_bounds);
	TEST_RUN(test_keeps_later_time);
	TEST_RUN(test_forget);
	TEST_RUN(test_collisions);
	TEST_RUN(test_growth);
	TEST_RUN(test_memory_bounded);
	TEST_RUN(test_rebuild_keeps_future_entries);
	TEST_RUN(test_zero_window);
	return TEST_DONE();
}
