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
 * A console traces again and again, each trace filling a few MiB of such
 * arrays for a busy venue: malloc gave those pages back to the system at
 * every trace's end (trimming) and faulted them in again at the next,
 * about a third of such a trace's time.  So big_free keeps a malloc
 * block in a pool of the calling thread (at most POOL_BLOCKS blocks and
 * POOL_BYTES bytes; past that the smallest go back to malloc), and a
 * later array of that thread takes it: a new array the smallest block it
 * fits in, a growing one the largest (then it rarely grows again).  A
 * block knows its room: growing within it moves nothing.  The pool is
 * freed when its thread exits.
 *
 * Invariants: every array starts BIG_HEADER bytes into its block; the
 * header holds the mapping's length (0 for a malloc block), the bytes
 * the array may use (what was asked: big_size counts them) and, for a
 * malloc block, its room (>= bytes).  Mapping lengths are multiples of
 * BIG_ALIGN.  A pooled block is in no array.
 *
 * Threads: an array belongs to its caller's thread (freed on another, its
 * block joins that thread's pool); the one shared variable is the count
 * of mapped bytes, kept with atomic operations.
 */
#define _GNU_SOURCE /* mremap */
#include "bigarray.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BIG_HEADER ((size_t)64)          /* keeps the array 64-byte aligned */
#define BIG_ALIGN ((size_t)2 << 20)     /* a huge page on x86-64 and arm64 */
#define BIG_MAP_MIN ((size_t)4 << 20)
#define POOL_BLOCKS 24
#define POOL_BYTES ((size_t)32 << 20)

static atomic_size_t mapped_bytes;

struct big_header {
	size_t map_len;   /* 0: a malloc block */
	size_t bytes;     /* the array's bytes */
	size_t room;      /* a malloc block: the bytes it has after the header */
};

static struct big_header *header_of(void *arr)
{
	return (struct big_header *)((char *)arr - BIG_HEADER);
}

/* ---- the thread's pool of malloc blocks ---------------------------------- */

struct pool {
	struct big_header *blk[POOL_BLOCKS];
	size_t n, bytes;              /* blocks, and their room summed */
};

static _Thread_local struct pool pool;
static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static int pool_key_ok;

static void pool_drop(void *arg)
{
	struct pool *p = arg;

	for (size_t i = 0; i < p->n; i++)
		free(p->blk[i]);
	p->n = 0;
	p->bytes = 0;
}

static void pool_key_make(void)
{
	pool_key_ok = pthread_key_create(&pool_key, pool_drop) == 0;
}

/* Take block i out of the pool. */
static struct big_header *pool_take(size_t i)
{
	struct big_header *h = pool.blk[i];

	pool.bytes -= h->room;
	pool.blk[i] = pool.blk[--pool.n];
	return h;
}

/* A pooled block with room for bytes: the smallest (largest: 1) such,
 * taken out of the pool, or NULL. */
static struct big_header *pool_get(size_t bytes, int largest)
{
	size_t best = SIZE_MAX;

	for (size_t i = 0; i < pool.n; i++) {
		size_t room = pool.blk[i]->room;

		if (room >= bytes && (best == SIZE_MAX || (largest ? room > pool.blk[best]->room
								   : room < pool.blk[best]->room)))
			best = i;
	}
	return best == SIZE_MAX ? NULL : pool_take(best);
}

/* Keep malloc block h for this thread, or free it (or smaller ones to
 * make room for it). */
static void pool_put(struct big_header *h)
{
	pthread_once(&pool_once, pool_key_make);
	if (!pool_key_ok || h->room > POOL_BYTES) {
		free(h);
		return;
	}
	if (pool.n == 0)
		(void)pthread_setspecific(pool_key, &pool); /* pool_drop at thread exit */
	while (pool.n == POOL_BLOCKS || pool.bytes + h->room > POOL_BYTES) {
		size_t small = 0;

		for (size_t i = 1; i < pool.n; i++)
			if (pool.blk[i]->room < pool.blk[small]->room)
				small = i;
		if (pool.blk[small]->room >= h->room) {
			free(h);
			return;
		}
		free(pool_take(small));
	}
	pool.blk[pool.n++] = h;
	pool.bytes += h->room;
}

/* A malloc block for an array of bytes, replacing hdr's (NULL: none; its
 * contents are copied and it goes to the pool); NULL if out of memory,
 * hdr untouched. */
static struct big_header *malloc_block(struct big_header *hdr, size_t bytes)
{
	struct big_header *h;

	if (hdr && hdr->room >= bytes) {
		hdr->bytes = bytes;
		return hdr;
	}
	h = pool_get(bytes, hdr != NULL);
	if (!h) {
		if (!hdr) {
			h = malloc(bytes + BIG_HEADER);
		} else {
			h = realloc(hdr, bytes + BIG_HEADER);
			hdr = NULL; /* moved or grown by realloc */
		}
		if (!h)
			return NULL;
		h->room = bytes;
	}
	if (hdr) {
		memcpy((char *)h + BIG_HEADER, (char *)hdr + BIG_HEADER,
		       hdr->bytes < bytes ? hdr->bytes : bytes);
		pool_put(hdr);
	}
	h->map_len = 0;
	h->bytes = bytes;
	return h;
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
		hdr = malloc_block(hdr, bytes);
		return hdr ? (char *)hdr + BIG_HEADER : NULL;
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
			pool_put(hdr);
		}
	}
	atomic_fetch_add(&mapped_bytes, len);
	*(struct big_header *)m = (struct big_header){len, len - BIG_HEADER, 0};
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

int big_reserve_zero(void **arr, size_t *cap, size_t need, size_t elem)
{
	int fresh = *arr == NULL, rc;

	if (need <= *cap)
		return 0;
	rc = big_reserve(arr, cap, need, elem);
	if (rc)
		return rc;
	/* A fresh mapping is zero already: touching it would fault it all in. */
	if (!fresh || header_of(*arr)->map_len == 0)
		memset(*arr, 0, need * elem);
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
		pool_put(hdr);
}

size_t big_mapped_bytes(void)
{
	return atomic_load(&mapped_bytes);
}
