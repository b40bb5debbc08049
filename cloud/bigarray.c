/*
 * bigarray.c - growable arrays, large ones in their own mappings.
 *
 * A deep trace builds arrays of hundreds of MiB and drops them when it
 * ends.  Through malloc, each was faulted in 4 KiB at a time (and a heap
 * array's growth copied it and faulted the copy again): a third of a
 * depth-3 trace went to page faults.  An array of BIG_MAP_MIN bytes or
 * more gets an anonymous mapping aligned to 2 MiB and advised for
 * transparent huge pages (one fault per 2 MiB where the kernel allows
 * them, MADV_HUGEPAGE in "madvise" mode), grows with mremap (no copy), and
 * is unmapped by big_free.  Smaller arrays use malloc.
 *
 * Invariants: every array starts BIG_HEADER bytes into its block; the
 * header holds the mapping's length (0 for a malloc block) and the bytes
 * the array may use.  Mapping lengths are multiples of BIG_ALIGN.
 *
 * Threads: an array belongs to its caller's thread; the one shared
 * variable is the count of mapped bytes, kept with atomic operations.
 */
#define _GNU_SOURCE /* mremap */
#include "bigarray.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BIG_HEADER ((size_t)64)          /* keeps the array 64-byte aligned */
#define BIG_ALIGN ((size_t)2 << 20)     /* a huge page on x86-64 and arm64 */
#define BIG_MAP_MIN ((size_t)4 << 20)

static atomic_size_t mapped_bytes;

struct big_header {
	size_t map_len;   /* 0: a malloc block */
	size_t bytes;     /* the array's room */
};

static struct big_header *header_of(void *arr)
{
	return (struct big_header *)((char *)arr - BIG_HEADER);
}

/* A fresh mapping of len bytes (a multiple of BIG_ALIGN) starting on a
 * BIG_ALIGN boundary, or NULL. */
static void *map_aligned(size_t len)
{
	size_t extra = BIG_ALIGN, head;
	char *m = mmap(NULL, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	head = (BIG_ALIGN - (uintptr_t)m % BIG_ALIGN) % BIG_ALIGN;
	if (head)
		munmap(m, head);
	if (extra - head)
		munmap(m + head + len, extra - head);
#ifdef MADV_HUGEPAGE
	(void)madvise(m + head, len, MADV_HUGEPAGE);
#endif
	return m + head;
}

/* Resize the block of arr (NULL: none) to hold bytes; the new array or
 * NULL (arr untouched). */
static void *resize(void *arr, size_t bytes)
{
	struct big_header *hdr = arr ? header_of(arr) : NULL;
	size_t len;
	char *m;

	if (bytes > SIZE_MAX - BIG_HEADER - BIG_ALIGN)
		return NULL;
	if (bytes + BIG_HEADER < BIG_MAP_MIN && (!hdr || hdr->map_len == 0)) {
		hdr = realloc(hdr, bytes + BIG_HEADER);
		if (!hdr)
			return NULL;
		*hdr = (struct big_header){0, bytes};
		return (char *)hdr + BIG_HEADER;
	}
	len = (bytes + BIG_HEADER + BIG_ALIGN - 1) / BIG_ALIGN * BIG_ALIGN;
	if (hdr && hdr->map_len >= len)
		return arr;
	if (hdr && hdr->map_len) {
		size_t old_len = hdr->map_len;

		m = mremap(hdr, old_len, len, MREMAP_MAYMOVE);
		if (m == MAP_FAILED)
			return NULL;
		atomic_fetch_sub(&mapped_bytes, old_len);
#ifdef MADV_HUGEPAGE
		(void)madvise(m, len, MADV_HUGEPAGE);
#endif
	} else {
		m = map_aligned(len);
		if (!m)
			return NULL;
		if (hdr) {
			/* From malloc to a mapping: a copy, once. */
			memcpy(m + BIG_HEADER, arr, hdr->bytes < bytes ? hdr->bytes : bytes);
			free(hdr);
		}
	}
	atomic_fetch_add(&mapped_bytes, len);
	*(struct big_header *)m = (struct big_header){len, len - BIG_HEADER};
	return m + BIG_HEADER;
}

int big_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		n *= 2;
	}
	p = resize(*arr, n * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

size_t big_size(const void *arr)
{
	const struct big_header *hdr;

	if (!arr)
		return 0;
	hdr = (const struct big_header *)((const char *)arr - BIG_HEADER);
	return hdr->map_len ? hdr->map_len : hdr->bytes + BIG_HEADER;
}

int big_reserve(void **arr, size_t *cap, size_t need, size_t elem)
{
	void *p;

	if (need <= *cap)
		return 0;
	if (need > SIZE_MAX / elem)
		return -ENOMEM;
	p = resize(*arr, need * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = need;
	return 0;
}

void big_free(void *arr)
{
	struct big_header *hdr;

	if (!arr)
		return;
	hdr = header_of(arr);
	if (hdr->map_len) {
		atomic_fetch_sub(&mapped_bytes, hdr->map_len);
		munmap(hdr, hdr->map_len);
	} else
		free(hdr);
}

size_t big_mapped_bytes(void)
{
	return atomic_load(&mapped_bytes);
}
