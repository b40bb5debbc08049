/*
 * lmdb_layout.h - what the parts of the LMDB store share (private to
 * cloud/store/: callers see store.h only): the layout's sizes, the store
 * handle, a visit and a registry entry as stored, the key and index-entry
 * codecs, LMDB error translation, transactions, meta, and lookups of
 * people.  The layout itself is described at the top of lmdb_layout.c.
 *
 * Threads: as store.h says; nothing here holds state of its own but the
 * calling thread's last error and write transaction (lmdb_layout.c).
 */
#ifndef CL_STORE_LMDB_LAYOUT_H
#define CL_STORE_LMDB_LAYOUT_H

#include "store.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/lmdbenv.h"

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define STORE_VERSION 4
#define STORE_MAXDBS 17
#define STORE_V3_DBS 11              /* version 3: no chains, chain_events */
#define FP_LEN 8                     /* capsule fingerprint (SipHash-2-4) */
#define FP_KEY_LEN 16
#define VID_LEN 6                    /* vids are 48-bit: 2.8e14 visits */
#define VID_MAX ((UINT64_C(1) << 48) - 1)
#define IDX_KEY_LEN 8                /* day u32 || venue or person u32 */
#define IDX_LEN 24                   /* an index entry, see above */
#define PID_VALUE_MAX UINT32_MAX    /* LMDB's largest value: 178 million entries */
#define SPAN_NONE UINT32_MAX         /* no exit recorded */
#define SPAN_MAX (UINT32_MAX - 1)
#define DAY_SECONDS 86400
#define GATEWAY_VALUE_LEN 98
#define VENUE_VALUE_MAX (1 + 2 + 4 + 3 + CL_NAME_MAX + CL_ADDRESS_MAX + CL_CATEGORY_MAX)
/* varints: gateway index 5, seq 10 bytes at most */
#define VISIT_DIGEST_LEN 8           /* a visit's record digest, cut (chain.h) */
#define VISIT_VALUE_MAX (5 + 10 + VISIT_DIGEST_LEN)
#define PERSON_VALUE_LEN (4 + FP_LEN) /* persons: person || fingerprint */
#define CAPSULE_VALUE_LEN (AS_PID_LEN + AS_CAPSULE_LEN) /* capsules: pid || capsule */
#define PAPER_VALUE_LEN (FP_LEN + AS_CAPSULE_LEN) /* paper: fingerprint || capsule */
#define APP_KEY_LEN (1 + CL_APP_ID_LEN)
#define APP_ID_VALUE_LEN (VID_LEN + 4 + 8)
#define APP_REPLAY_VALUE_LEN (CL_APP_ID_LEN + 8)
#define COVERAGE_KEY_LEN (AS_GWID_LEN + 8)
#define REASON_MAX 32
#define PURGE_DEFAULT_SLICE 10000

struct cl_pg;

struct cl_store {
	struct cl_pg *pg;            /* not NULL: the PostgreSQL store (pg_store.h);
				      * nothing below is used */
	MDB_env *env;
	MDB_dbi meta, gateways, venues, counters, visits, by_venue, by_pid, persons, capsules,
		paper, app, chains, chain_events, coverage, tokens, token_contacts, token_wait;
	int readonly;
	int has_chain;               /* 0: a version 3 store opened read-only */
	int no_coverage;             /* a store from before coverage, read-only */
	int no_tokens;               /* a store from before visit tokens, read-only */
	int has_token_id_key;        /* token_id_key set: token records can be taken */
	uint8_t token_id_key[32];    /* reads a token id's issue (anshim/token.h) */
	uint64_t open_serial;        /* see cl_store_data_version */
};

/* A visit as stored, plus what only the store needs. */
struct stored_visit {
	struct cl_visit v;       /* v.pid is filled only where the caller knows it */
	uint32_t gw_index;       /* 0 for app visits */
	uint64_t seq;            /* 0 for app visits */
	int has_digest;          /* gateway visits stored by store version 4 */
	uint8_t digest[VISIT_DIGEST_LEN]; /* the record's chain digest, cut */
};

/* A registry entry as stored: the public part and the gateway's index. */
struct stored_gateway {
	struct cl_gateway g;
	uint32_t index;
};

static inline int pid_is_zero(const uint8_t pid[AS_PID_LEN])
{
	static const uint8_t zero[AS_PID_LEN];

	return memcmp(pid, zero, AS_PID_LEN) == 0;
}

/* ---- small encoders ------------------------------------------------------ */

static inline uint32_t time32(int64_t t)
{
	if (t < 0)
		return 0;
	if (t > (int64_t)UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)t;
}

static inline void put_vid(uint8_t out[VID_LEN], uint64_t vid)
{
	for (int i = VID_LEN - 1; i >= 0; i--, vid >>= 8)
		out[i] = (uint8_t)vid;
}

static inline uint64_t get_vid(const uint8_t in[VID_LEN])
{
	uint64_t vid = 0;

	for (int i = 0; i < VID_LEN; i++)
		vid = vid << 8 | in[i];
	return vid;
}

static inline uint32_t day_of(int64_t t)
{
	return time32(t) / DAY_SECONDS;
}

/* The first second of day. */
static inline int64_t day_start(uint32_t day)
{
	return (int64_t)day * DAY_SECONDS;
}

/* An index key: day || id (a venue or a person number). */
static inline void idx_key(uint8_t out[IDX_KEY_LEN], uint32_t day, uint32_t id)
{
	as_put_be32(out, day);
	as_put_be32(out + 4, id);
}

/* The sortable form of a time: sign bit flipped, big-endian. */
static inline void put_time(uint8_t out[8], int64_t t)
{
	as_put_be64(out, (uint64_t)t ^ (UINT64_C(1) << 63));
}

static inline int64_t get_time(const uint8_t in[8])
{
	return (int64_t)(as_get_be64(in) ^ (UINT64_C(1) << 63));
}

/* The index entry of visit v; other is the person (by_venue) or the venue
 * (by_pid). */
static inline void idx_entry(uint8_t out[IDX_LEN], const struct cl_visit *v, uint32_t other)
{
	uint32_t span = SPAN_NONE;

	if (v->exit) {
		uint64_t d = v->exit > v->entry ? (uint64_t)v->exit - (uint64_t)v->entry : 0;

		span = d > SPAN_MAX ? SPAN_MAX : (uint32_t)d;
	}
	put_time(out, v->entry);
	put_vid(out + 8, v->vid);
	as_put_be32(out + 14, other);
	as_put_be32(out + 18, span);
	as_put_be16(out + 22, (uint16_t)(v->kind << 13 | v->flags << 11 | v->headcount));
}

/* Decode an index entry found under key (day, id) of by_venue (by_pid:
 * is_pid) into v (pid left zero).  0 or MDB_CORRUPTED. */
static inline int idx_decode(struct cl_visit *v, const MDB_val *val, uint32_t id, int is_pid)
{
	const uint8_t *p = val->mv_data;
	uint32_t span;

	if (val->mv_size != IDX_LEN)
		return MDB_CORRUPTED;
	memset(v, 0, sizeof *v);
	v->entry = get_time(p);
	v->vid = get_vid(p + 8);
	if (is_pid) {
		v->person = id;
		v->venue_id = as_get_be32(p + 14);
	} else {
		v->venue_id = id;
		v->person = as_get_be32(p + 14);
	}
	span = as_get_be32(p + 18);
	if (span != SPAN_NONE)
		v->exit = (int64_t)((uint64_t)v->entry + span);
	v->kind = (uint8_t)(as_get_be16(p + 22) >> 13);
	v->flags = (uint8_t)(as_get_be16(p + 22) >> 11 & 0x03);
	v->headcount = as_get_be16(p + 22) & 0x07ff;
	if (v->kind < AS_REC_PASS || v->kind > AS_REC_TOKEN || v->kind == AS_REC_EXPIRED ||
	    (v->flags & ~AS_REC_FLAGS_KNOWN) || v->headcount == 0 ||
	    v->headcount > AS_HEADCOUNT_MAX)
		return MDB_CORRUPTED;
	return 0;
}

/* The number a key of klen (4 or 8) big-endian bytes spells. */
static inline int key_number(const MDB_val *key, size_t klen, uint64_t *num)
{
	if (key->mv_size != klen)
		return MDB_CORRUPTED;
	*num = klen == 8 ? as_get_be64(key->mv_data) : as_get_be32(key->mv_data);
	return 0;
}

/* ---- errors, transactions, meta (lmdb_layout.c) ---- */

/* Note that `what` failed with LMDB result rc (kept unless one is noted
 * already); returns rc. */
int store_fail(const char *what, int rc);
/* LMDB result (0, MDB_*, or a positive errno) -> Anshim code.  Codes that
 * are already Anshim's own or negative errno values pass through. */
int store_error(int rc);
/* Note a failure outside LMDB (the PostgreSQL store's) as the thread's
 * last error, "what: why", kept unless one is noted; and forget it (a new
 * transaction begins). */
void store_note(const char *what, const char *why);
void store_clear_error(void);
/* Begin a write transaction; waits while another thread or process
 * writes.  -EBUSY if this thread already writes to s (a deadlock). */
int store_write_begin(struct cl_store *s, MDB_txn **txn);
/* Commit when rc is 0, else abort; returns the translated result. */
int store_write_end(struct cl_store *s, MDB_txn *txn, int rc);
/* Abort a write transaction begun by store_write_begin. */
void store_write_abort(struct cl_store *s, MDB_txn *txn);
int store_read_begin(struct cl_store *s, MDB_txn **txn);
/* Walk dbi in key order inside one read transaction; each() gets every
 * entry and returns 0 to go on, > 0 to stop, < 0 to stop with an error
 * (an Anshim code, -errno, or an LMDB code). */
int store_walk(struct cl_store *s, MDB_dbi dbi,
	       int (*each)(void *arg, const MDB_val *key, const MDB_val *val), void *arg);
/* Place cur on the first key >= want (klen bytes spelling want_num),
 * stepping from *at when it is near (see lmdb_layout.c). */
int store_cursor_seek_near(MDB_cursor *cur, const uint8_t *want, size_t klen, uint64_t want_num,
			   uint64_t *at, MDB_val *key, MDB_val *val);
/* The pid and (if capsule is not NULL) the capsule of person. */
int store_person_get(MDB_txn *txn, MDB_dbi capsules, uint32_t person,
		     uint8_t pid[AS_PID_LEN], uint8_t *capsule);
/* The person number of pid: 0, MDB_NOTFOUND or an error. */
int store_person_of(MDB_txn *txn, MDB_dbi persons, const uint8_t pid[AS_PID_LEN],
		    uint32_t *person);

#endif
