/*
 * pidcache.c - person number -> pid, remembered per process (contract in
 * pidcache.h).
 *
 * A trace reports every contact by pid, and the store keys capsules (which
 * hold the pid) by person number: one B-tree descent per contact, on
 * pages spread over every person, is about half of a first-order trace's
 * own CPU.  Person numbers only grow and a number's pid is written once
 * (store/lmdb_layout.c: numbers are never reused, a person keeps its
 * number until a purge removes it, and a returning pid gets a new one),
 * so an answer read once is true for good and can be kept without
 * invalidation.
 *
 * Layout: person numbers in chunks of CHUNK people (16-byte pid and a
 * ready flag each), allocated on the first answer kept in their range, so
 * memory follows the numbers traces reach, never more than the bound.
 * Invariants: a chunk pointer and a ready flag go from NULL / 0 to set
 * once, with release stores after the data they publish; a pid is written
 * only before its flag is set, under the mutex, so readers (acquire loads,
 * no lock) see whole pids only.
 *
 * Threads: any; see pidcache.h.
 */
#include "pidcache.h"

#include "anshim/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_BITS 16
#define CHUNK ((size_t)1 << CHUNK_BITS)
#define CHUNKS ((size_t)1 << (32 - CHUNK_BITS))

struct chunk {
	uint8_t pid[CHUNK][AS_PID_LEN];
	atomic_uchar ready[CHUNK];
};

struct cl_pid_cache {
	pthread_mutex_t lock;           /* for keeping an answer */
	size_t max_chunks;
	atomic_size_t n_chunks;         /* allocated so far */
	struct chunk *_Atomic chunk[CHUNKS];
};

int cl_pid_cache_new(size_t max_bytes, struct cl_pid_cache **out)
{
	struct cl_pid_cache *c = calloc(1, sizeof *c);

	*out = NULL;
	if (!c)
		return -ENOMEM;
	if (max_bytes == 0)
		max_bytes = CL_PID_CACHE_DEFAULT_BYTES;
	c->max_chunks = max_bytes / sizeof(struct chunk);
	if (c->max_chunks == 0)
		c->max_chunks = 1;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void cl_pid_cache_free(struct cl_pid_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CHUNKS; i++)
		free(atomic_load_explicit(&c->chunk[i], memory_order_relaxed));
	pthread_mutex_destroy(&c->lock);
	free(c);
}

size_t cl_pid_cache_bytes(const struct cl_pid_cache *c)
{
	return c ? sizeof *c + atomic_load(&c->n_chunks) * sizeof(struct chunk) : 0;
}

/* Keep pid as person's answer, if the bound allows. */
static void keep(struct cl_pid_cache *c, uint32_t person, const uint8_t pid[AS_PID_LEN])
{
	size_t i = person >> CHUNK_BITS, j = person & (CHUNK - 1);
	struct chunk *ch;

	pthread_mutex_lock(&c->lock);
	ch = atomic_load_explicit(&c->chunk[i], memory_order_relaxed);
	if (!ch && atomic_load_explicit(&c->n_chunks, memory_order_relaxed) < c->max_chunks) {
		ch = calloc(1, sizeof *ch);
		if (ch) {
			atomic_fetch_add_explicit(&c->n_chunks, 1, memory_order_relaxed);
			atomic_store_explicit(&c->chunk[i], ch, memory_order_release);
		}
	}
	if (ch && !atomic_load_explicit(&ch->ready[j], memory_order_relaxed)) {
		memcpy(ch->pid[j], pid, AS_PID_LEN);
		atomic_store_explicit(&ch->ready[j], 1, memory_order_release);
	}
	pthread_mutex_unlock(&c->lock);
}

int cl_pid_cache_peek(const struct cl_pid_cache *c, uint32_t person, uint8_t pid[AS_PID_LEN])
{
	struct chunk *ch;

	if (!c)
		return 0;
	ch = atomic_load_explicit(&c->chunk[person >> CHUNK_BITS], memory_order_acquire);
	if (!ch || !atomic_load_explicit(&ch->ready[person & (CHUNK - 1)], memory_order_acquire))
		return 0;
	memcpy(pid, ch->pid[person & (CHUNK - 1)], AS_PID_LEN);
	return 1;
}

int cl_pid_cache_fill(struct cl_pid_cache *c, struct cl_store *s, uint64_t *people)
{
	struct cl_reader *r;
	uint32_t limit = 0;
	uint64_t kept = 0;
	int rc = cl_reader_begin(s, &r);

	if (people)
		*people = 0;
	if (rc)
		return rc;
	rc = cl_reader_person_limit(r, &limit);
	/* Numbers in order: the capsules cursor steps to the next one (a
	 * purged number is a miss that leaves it on the next stored one). */
	for (uint32_t n = 1; !rc && n < limit; n++) {
		uint8_t pid[AS_PID_LEN];
		size_t i = n >> CHUNK_BITS;

		if ((n & (CHUNK - 1)) == 0 && !atomic_load(&c->chunk[i]) &&
		    atomic_load(&c->n_chunks) >= c->max_chunks)
			break; /* the bound: the rest on demand */
		rc = cl_pid_cache_get(c, r, n, pid);
		if (rc == AS_E_NOT_FOUND)
			rc = 0;
		else if (!rc)
			kept++;
	}
	cl_reader_end(r);
	if (people)
		*people = kept;
	return rc;
}

int cl_pid_cache_get(struct cl_pid_cache *c, struct cl_reader *r, uint32_t person,
		     uint8_t pid[AS_PID_LEN])
{
	int rc;

	if (cl_pid_cache_peek(c, person, pid))
		return 0;
	rc = cl_reader_pid(r, person, pid);
	if (!rc && c && person != 0)
		keep(c, person, pid);
	return rc;
}
