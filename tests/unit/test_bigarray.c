/*
 * test_bigarray.c - growable arrays (cloud/bigarray.c): contents survive
 * every growth, from malloc into a mapping and between mappings; the
 * mapped-bytes count follows mappings made and released; sizes that would
 * overflow are refused with the array untouched.
 */
#include "test.h"

#include "bigarray.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

static int pattern_ok(const uint32_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != (uint32_t)(i * 2654435761u))
			return 0;
	return 1;
}

/* One element at a time up to 48 MiB: small (malloc), then mapped, then
 * grown mapping; every element written is still there after each step. */
static void test_grow_keeps_contents(void)
{
	uint32_t *a = NULL;
	size_t cap = 0, n = 0, base = big_mapped_bytes(), last_cap = 0, growths = 0;
	int ok = 1;

	for (; n < ((size_t)48 << 20) / sizeof *a && ok; n++) {
		if (big_grow((void **)&a, &cap, n + 1, sizeof *a) != 0) {
			CHECK(!"big_grow failed");
			break;
		}
		if (cap != last_cap) {
			/* Check the whole array after each growth. */
			ok = CHECK(pattern_ok(a, n));
			last_cap = cap;
			growths++;
		}
		a[n] = (uint32_t)(n * 2654435761u);
	}
	CHECK(ok && pattern_ok(a, n));
	CHECK(cap >= n && growths > 10);
	CHECK(((uintptr_t)a & 63) == 0);
	/* 48 MiB is mapped: counted, in 2 MiB units. */
	CHECK(big_mapped_bytes() - base >= cap * sizeof *a);
	CHECK_EQ_INT((big_mapped_bytes() - base) % ((size_t)2 << 20), 0);
	big_free(a);
	CHECK_EQ_INT(big_mapped_bytes(), base);
}

/* Asking for less than the capacity changes nothing; growth at least
 * doubles; a size that would overflow is -ENOMEM with the array kept. */
static void test_capacity_rules(void)
{
	uint64_t *a = NULL;
	size_t cap = 0;

	CHECK_OK(big_grow((void **)&a, &cap, 1, sizeof *a));
	CHECK(a != NULL && cap >= 1);
	a[0] = 42;
	{
		void *before = a;
		size_t cap_before = cap;

		CHECK_OK(big_grow((void **)&a, &cap, cap, sizeof *a));
		CHECK(a == before && cap == cap_before);
		CHECK_EQ_INT(big_grow((void **)&a, &cap, SIZE_MAX / 4, sizeof *a), -ENOMEM);
		CHECK(a == before && cap == cap_before && a[0] == 42);
		CHECK_OK(big_grow((void **)&a, &cap, cap_before + 1, sizeof *a));
		CHECK(cap >= 2 * cap_before && a[0] == 42);
	}
	big_free(a);
	big_free(NULL); /* harmless */
	/* Straight to a mapping from nothing. */
	a = NULL;
	cap = 0;
	CHECK_OK(big_grow((void **)&a, &cap, (size_t)1 << 20, sizeof *a));
	CHECK(cap >= (size_t)1 << 20);
	a[0] = 1;
	a[cap - 1] = 2;
	CHECK(a[0] == 1 && a[cap - 1] == 2);
	big_free(a);
}

/* big_reserve: exactly what is asked, contents kept, then big_grow on. */
static void test_reserve_exact(void)
{
	uint64_t *a = NULL;
	size_t cap = 0, n = 3000001; /* past the mapping threshold, odd */

	CHECK_OK(big_reserve((void **)&a, &cap, 10, sizeof *a));
	CHECK_EQ_INT(cap, 10);
	a[9] = 9;
	CHECK_OK(big_reserve((void **)&a, &cap, 5, sizeof *a)); /* never shrinks */
	CHECK_EQ_INT(cap, 10);
	CHECK_OK(big_reserve((void **)&a, &cap, n, sizeof *a));
	CHECK_EQ_INT(cap, n);
	CHECK(a[9] == 9);
	a[n - 1] = 7;
	CHECK_EQ_INT(big_reserve((void **)&a, &cap, SIZE_MAX / 4, sizeof *a), -ENOMEM);
	CHECK(cap == n && a[n - 1] == 7 && a[9] == 9);
	CHECK_OK(big_grow((void **)&a, &cap, n + 1, sizeof *a));
	CHECK(cap >= 2 * n && a[n - 1] == 7);
	big_free(a);
}

/*
 * Freed malloc blocks are kept for the thread's next arrays: a new array
 * takes the smallest that fits, growing within a block's room moves
 * nothing, and growing past it takes the largest pooled block with the
 * contents copied.  Many freed blocks never keep more than the pool's
 * bound (the blocks beyond it go back to malloc: ASan sees no leak).
 */
static void *pool_reuse(void *arg)
{
	uint32_t *big = NULL, *small = NULL, *a = NULL;
	size_t cap_big = 0, cap_small = 0, cap = 0;
	void *big_at, *small_at;

	CHECK_OK(big_reserve((void **)&big, &cap_big, 256 << 10, sizeof *big)); /* 1 MiB */
	CHECK_OK(big_reserve((void **)&small, &cap_small, 1 << 10, sizeof *small)); /* 4 KiB */
	big_at = big;
	small_at = small;
	big_free(big);
	big_free(small);
	/* A new small array: the small block, not the big one. */
	CHECK_OK(big_reserve((void **)&a, &cap, 100, sizeof *a));
	CHECK(a == small_at);
	for (size_t i = 0; i < cap; i++)
		a[i] = (uint32_t)(i * 2654435761u);
	/* Within its room (4 KiB): the same block. */
	CHECK_OK(big_reserve((void **)&a, &cap, 1 << 10, sizeof *a));
	CHECK(a == small_at);
	CHECK(pattern_ok(a, 100));
	/* Past it: the big block, contents kept; the small one is pooled again. */
	CHECK_OK(big_grow((void **)&a, &cap, 2000, sizeof *a));
	CHECK(a == big_at);
	CHECK(pattern_ok(a, 100));
	for (size_t i = 0; i < 2000; i++)
		a[i] = (uint32_t)(i * 2654435761u);
	CHECK_OK(big_grow((void **)&a, &cap, 200000, sizeof *a)); /* within 1 MiB */
	CHECK(a == big_at && pattern_ok(a, 2000));
	big_free(a);
	/* 60 blocks of 3 MiB at once, then freed: the pool keeps at most
	 * its bound, the rest is freed (ASan's leak check would say). */
	{
		void *blk[60] = {0};
		size_t caps[60] = {0};

		for (size_t i = 0; i < 60; i++) {
			CHECK_OK(big_reserve(&blk[i], &caps[i], (size_t)3 << 20, 1));
			memset(blk[i], (int)i, (size_t)3 << 20);
		}
		for (size_t i = 0; i < 60; i++)
			big_free(blk[i]);
	}
	CHECK_EQ_INT(big_mapped_bytes() % ((size_t)2 << 20), 0);
	return arg;
}

/* On a thread of its own: a pool that starts empty, and is freed when the
 * thread exits. */
static void test_pool_reuse(void)
{
	pthread_t th;

	if (CHECK_OK(pthread_create(&th, NULL, pool_reuse, NULL)))
		CHECK_OK(pthread_join(th, NULL));
}

int main(void)
{
	TEST_RUN(test_grow_keeps_contents);
	TEST_RUN(test_capacity_rules);
	TEST_RUN(test_reserve_exact);
	TEST_RUN(test_pool_reuse);
	return TEST_DONE();
}
