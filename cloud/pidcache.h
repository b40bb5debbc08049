/*
 * pidcache.h - a process's memory of person number -> pid for one open
 * store, shared by the threads that trace on it (the console's workers).
 */
#ifndef ANSHIM_CLOUD_PIDCACHE_H
#define ANSHIM_CLOUD_PIDCACHE_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* Default and smallest memory bound of a cache (the pids of 3.9 million
 * person numbers by default). */
#define CL_PID_CACHE_DEFAULT_BYTES ((size_t)64 << 20)

struct cl_pid_cache;

/*
 * A new, empty cache for the store readers will read from, holding at
 * most about max_bytes (0: CL_PID_CACHE_DEFAULT_BYTES).  0 or -ENOMEM.
 * The caller owns *out and frees it with cl_pid_cache_free after the last
 * cl_pid_cache_get returned.  A cache belongs to one cl_store handle: the
 * store's person numbers are never reused and a number's pid never
 * changes (store/lmdb_layout.c), so an answer stays true for every later
 * snapshot of that store, purges included; another store numbers people
 * differently.
 */
int cl_pid_cache_new(size_t max_bytes, struct cl_pid_cache **out);
void cl_pid_cache_free(struct cl_pid_cache *c);

/*
 * The pid of person number person (not 0) into pid: from the cache, or
 * read with r (cl_reader_pid) and kept while the bound allows.  c NULL:
 * always read.  0, AS_E_NOT_FOUND or a store error, as cl_reader_pid.
 * Any thread, concurrently with other callers on the same cache (answers
 * are read without a lock; a new one is kept under a mutex); r is the
 * calling thread's.
 */
int cl_pid_cache_get(struct cl_pid_cache *c, struct cl_reader *r, uint32_t person,
		     uint8_t pid[AS_PID_LEN]);

/*
 * Read every person's pid from s into c, in person-number order (one
 * snapshot, one pass over the capsules: about 0.1 s a million people), as
 * far as the bound allows; *people (if not NULL) gets how many were kept.
 * 0 or a store error.  The console runs it once at start, on a thread of
 * its own, so that its traces find every pid in memory; people stored
 * later are kept on their first lookup.  Any thread, beside lookups.
 */
int cl_pid_cache_fill(struct cl_pid_cache *c, struct cl_store *s, uint64_t *people);

/* 1 and the pid of person in pid if the cache holds it, else 0 (pid
 * untouched); c NULL: 0.  Any thread, without a lock. */
int cl_pid_cache_peek(const struct cl_pid_cache *c, uint32_t person, uint8_t pid[AS_PID_LEN]);

/* Bytes the cache holds now (for the benchmarks' memory figures). */
size_t cl_pid_cache_bytes(const struct cl_pid_cache *c);

#endif
