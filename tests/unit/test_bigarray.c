/*
 * test_bigarray.c - growable arrays (cloud/bigarray.c): contents survive
 * every growth, from malloc into a mapping and between mappings; the
 * mapped-bytes count follows mappings made and released; sizes that would
 * overflow are refused with the array untouched.
 */
#include "test.h"

#include "bigarray.h"

#include <errno.h>
#include <stdint.h>

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

int main(void)
{
	TEST_RUN(test_grow_keeps_contents);
	TEST_RUN(test_capacity_rules);
	TEST_RUN(test_reserve_exact);
	return TEST_DONE();
}
