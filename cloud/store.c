/*
 * store.c - the cloud aggregator's LMDB store (see store.h for the contract).
 *
 * Layout (store version 4): one environment, fourteen named databases.
 * A version 3 store lacks only chains and chain_events (and the digests in
 * visits): opened for writing it gains them, empty, and becomes version 4;
 * read-only it is read without them.  coverage came later within version
 * 4: a store opened for writing gains it, empty; read-only, a store
 * without it has no coverage.
 * Every integer in a key or an index entry is big-endian, so LMDB's byte
 * order is numeric order.
 *
 *   meta      name -> value     "version" u32, "fp_key" (16 random bytes),
 *                               "next_vid", "next_person", "next_gw",
 *                               "batches" u64
 *   gateways  gw_id[16] -> registry entry + ingest state (98 bytes)
 *   venues    id u32 -> venue (dwell, longest visit, then three
 *             length-prefixed strings)
 *   counters  reason text -> u64 (rejected batches, by reason)
 *   visits    vid (48-bit) -> where the visit came from: varints gateway
 *             index (0: an app check-in) and record seq, typically 4 bytes;
 *             then, for a gateway's visit, 8 bytes of its record's chain
 *             digest (absent in visits stored by version 3)
 *   by_venue  day u32 || venue u32   -> DUPSORT|DUPFIXED index entries
 *   by_pid    day u32 || person u32  -> the person's index entries that
 *             day, one after the other in (entry, vid) order
 *   persons   pid[16] -> person u32 || capsule fingerprint[8]
 *   capsules  person u32 -> pid[16] || capsule[131]   one per person
 *   paper     person u32 -> capsule fingerprint[8] || capsule[131]
 *   app       'i' || check-in id[32] -> vid || venue u32 || entry i64
 *             'r' || replay key[32]  -> check-in id[32] || entry i64
 *   chains, chain_events: the journal chain followed per gateway and what
 *             it showed (see "journal chains" below)
 *   coverage  gw_id[16] || start (sortable time) -> a coverage period of
 *             that gateway's heartbeats (coverage.h, 166 bytes)
 *
 * An index entry (24 bytes) covers what tracing needs, so a query reads
 * the index alone: entry i64 (sign bit flipped, so it sorts) || vid[6] ||
 * other u32 (by_venue: the person; by_pid: the venue) || span u32 (exit -
 * entry, SPAN_NONE when no exit is recorded) || kind << 13 | flags << 11 |
 * headcount (u16).  day is the entry time clamped to 0..UINT32_MAX (1970..
 * 2106) divided by 86400; it only partitions the indexes.
 *
 * Partitioning by day keeps ingest cheap as the store grows: a day's
 * visits land in that day's keys only, so a transaction dirties the pages
 * of the days it writes, not pages spread over every venue's or person's
 * whole history.  A query reads one key per day it spans.  The purge
 * deletes whole keys.  A person has one or two visits a day, so by_pid
 * keeps them in one plain value per (day, person) (a DUPSORT key would
 * cost about 34 bytes of its own); ingest merges new entries into it.
 * The value has no bound of its own below LMDB's (4 GiB): a person with
 * thousands of visits in a day (a pass scanned over and over) costs the
 * commits that add to it more, and stops nothing.
 *
 * A person is a pid with at least one stored visit; its number is handed
 * out on its first visit and keys by_pid and capsules, so each visit and
 * index entry carries 4 bytes instead of a 16-byte pid, and each person's
 * capsule is stored once.  The fingerprint is SipHash-2-4 of the capsule
 * under the store's secret fp_key: a visit that brings the capsule already
 * stored (the usual case: it is part of the credential) writes nothing; a
 * different one replaces it (the latest seen wins).  A paper-register
 * entry (kind AS_REC_MANUAL) brings a freshly sealed capsule every time,
 * and the person's next pass or card brings the credential's again, so
 * such a capsule goes to paper instead, which holds it until a visit brings another (then paper
 * loses the person: the capsule in capsules or the new one wins): paper is
 * small (people whose latest visit was a paper entry), and persons and
 * capsules, whose pages are spread over every person, are written only
 * for new people and new credentials.  Nothing per person changes with
 * each day's visits: the purge finds people left with no visit in by_pid
 * itself.  A record whose pid is all zero (the caller could not derive
 * one) is stored with person 0: found by venue, attributed to nobody, no
 * capsule.
 *
 * Ingest queues each new visit and writes it at commit, sorted by key per
 * database (see "Ingest in two steps" below); readers see nothing of a
 * transaction before its commit.  vids and person numbers only grow (meta
 * keeps the next ones, so purged ones are never reused): a visit insert is
 * an MDB_APPEND and a new person's capsule an MDB_APPEND.
 *
 * Invariants (each write transaction keeps all of them):
 *  - every stored visit has exactly one entry in by_venue, and one in
 *    by_pid unless unattributed, under the day of its entry, with the same
 *    fields as the visit; the indexes hold nothing else;
 *  - persons has a pid, and capsules its person number, exactly when by_pid
 *    has that person number (between its phases 2 and 3 a purge leaves
 *    people whose visits it deleted; phase 3 removes them); persons'
 *    fingerprint is that of the capsule in capsules; paper holds only people of capsules, with a capsule
 *    that differs from the one there; the latest capsule seen of a person
 *    is paper's if it has one, else capsules';
 *  - app holds an 'i' entry for each stored app visit, and an 'r' entry
 *    for each replay key used by a stored app visit;
 *  - per gateway, through_seq is the highest seq such that seqs 1..through_seq
 *    are all stored (or were placeholders); a record at or below it is a
 *    duplicate and changes nothing; a batch that would leave a hole is
 *    refused whole (res->gap);
 *  - LMDB codes are translated here and nowhere else (store_error).
 *
 * Threads: as store.h says.  The environment is opened MDB_NOTLS, so read
 * transactions are not tied to a thread and each read call opens its own.
 * Write transactions are serialised by LMDB's writer lock, across threads
 * and processes: a purge on a worker thread waits for the ingest thread's
 * commit.  A write transaction is begun and ended on one thread (LMDB's
 * rule): an ingest is committed or aborted by the thread that began it.
 * A thread that asks for a second write on a store while it holds one
 * (which would wait for itself forever) gets -EBUSY instead.  Callbacks run
 * inside a read transaction: they may call read functions, and writes only
 * if their thread holds no write transaction on the store.
 */
#include "store.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/fileio.h"

#include <errno.h>
#include <stdatomic.h>
#include <limits.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STORE_VERSION 4
#define STORE_MAXDBS 14
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

struct cl_store {
	MDB_env *env;
	MDB_dbi meta, gateways, venues, counters, visits, by_venue, by_pid, persons, capsules,
		paper, app, chains, chain_events, coverage;
	int readonly;
	int has_chain;               /* 0: a version 3 store opened read-only */
	int no_coverage;             /* a store from before coverage, read-only */
	uint64_t open_serial;        /* see cl_store_data_version */
};

static _Atomic uint64_t store_opens;

/* The store whose write transaction this thread holds, if any.  LMDB lets
 * one writer in at a time: another thread waits for it, but the same
 * thread asking again would wait for itself forever. */
static _Thread_local const struct cl_store *thread_writing;

/* A visit as stored, plus what only the store needs. */
struct stored_visit {
	struct cl_visit v;       /* v.pid is filled only where the caller knows it */
	uint32_t gw_index;       /* 0 for app visits */
	uint64_t seq;            /* 0 for app visits */
	int has_digest;          /* gateway visits stored by store version 4 */
	uint8_t digest[VISIT_DIGEST_LEN]; /* the record's chain digest, cut */
};

/* A visit queued for the commit. */
struct pending {
	struct stored_visit sv;      /* person not known yet */
	uint8_t capsule[AS_CAPSULE_LEN];
};

struct cl_ingest {
	struct cl_store *s;
	MDB_txn *txn;
	MDB_cursor *visits, *by_venue, *by_pid, *persons, *capsules, *paper;
	uint8_t fp_key[FP_KEY_LEN];
	uint64_t next_vid, next_vid_stored;
	uint64_t batch_first_vid;    /* next_vid when the batch being taken began */
	uint64_t next_person, next_person_stored;
	uint64_t batches, batches_stored;
	int failed;                  /* first LMDB failure: only abort remains */
	struct pending *pend;        /* in vid order */
	size_t npend, pend_cap;
	const uint8_t *refused;      /* cl_store_ingest_refuse, for the next batch */
	size_t n_refused;
};

struct cl_reader {
	struct cl_store *s;
	MDB_txn *txn;
	MDB_cursor *by_venue, *by_pid, *capsules;
	uint64_t capsules_at;   /* the capsules cursor's key (cursor_seek_near) */
	const uint8_t *skip_level;      /* cl_reader_skip_people */
	size_t skip_n;
	uint8_t skip_max;
};

/* A registry entry as stored: the public part and the gateway's index. */
struct stored_gateway {
	struct cl_gateway g;
	uint32_t index;
};

/* ---- errors -------------------------------------------------------------- */

/* What the last failed LMDB call of this thread was, and its code
 * ("appending to visits: MDB_KEYEXIST"): AS_E_STORE alone says only
 * "database error".  The first failure of a write transaction is kept. */
static _Thread_local char last_error[160];

static const char *mdb_code_name(int rc)
{
	static const char *const names[] = {
		"MDB_KEYEXIST",       "MDB_NOTFOUND",     "MDB_PAGE_NOTFOUND",  "MDB_CORRUPTED",
		"MDB_PANIC",          "MDB_VERSION_MISMATCH", "MDB_INVALID",    "MDB_MAP_FULL",
		"MDB_DBS_FULL",       "MDB_READERS_FULL", "MDB_TLS_FULL",       "MDB_TXN_FULL",
		"MDB_CURSOR_FULL",    "MDB_PAGE_FULL",    "MDB_MAP_RESIZED",    "MDB_INCOMPATIBLE",
		"MDB_BAD_RSLOT",      "MDB_BAD_TXN",      "MDB_BAD_VALSIZE",    "MDB_BAD_DBI",
	};

	if (rc >= MDB_KEYEXIST && rc < MDB_KEYEXIST + (int)(sizeof names / sizeof *names))
		return names[rc - MDB_KEYEXIST];
	return NULL;
}

/* Note that `what` failed with LMDB result rc (kept unless one is noted
 * already); returns rc. */
static int store_fail(const char *what, int rc)
{
	const char *name;

	if (!rc || rc == MDB_NOTFOUND || last_error[0])
		return rc;
	name = mdb_code_name(rc);
	if (name)
		snprintf(last_error, sizeof last_error, "%s: %s (%s)", what, name,
			 mdb_strerror(rc));
	else
		snprintf(last_error, sizeof last_error, "%s: %s", what,
			 rc > 0 ? strerror(rc) : as_strerror(rc));
	return rc;
}

const char *cl_store_last_error(void)
{
	return last_error;
}

/* LMDB result (0, MDB_*, or a positive errno) -> Anshim code.  Codes that
 * are already Anshim's own or negative errno values pass through, so
 * internal helpers may return either kind. */
static int store_error(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_PAGE_FULL:
	/* Another process grew the data past this process's map: reopen the
	 * store with a larger map_size. */
	case MDB_MAP_RESIZED: return AS_E_FULL;
	case MDB_NOTFOUND: return AS_E_NOT_FOUND;
	case MDB_CORRUPTED:
	case MDB_PANIC:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE: return AS_E_CORRUPT;
	default:
		if (rc > 0)
			return -rc;
		if (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE) {
			store_fail("a database operation", rc);
			return AS_E_STORE;
		}
		return rc;
	}
}

/* "what dir: why" into the caller's buffer. */
static void set_err(char *err, size_t err_len, const char *what, const char *dir,
		    const char *why)
{
	if (err && err_len)
		snprintf(err, err_len, "%s %s: %s", what, dir, why);
}

static int pid_is_zero(const uint8_t pid[AS_PID_LEN])
{
	static const uint8_t zero[AS_PID_LEN];

	return memcmp(pid, zero, AS_PID_LEN) == 0;
}

/* ---- small encoders ------------------------------------------------------ */

static uint32_t time32(int64_t t)
{
	if (t < 0)
		return 0;
	if (t > (int64_t)UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)t;
}

static void put_vid(uint8_t out[VID_LEN], uint64_t vid)
{
	for (int i = VID_LEN - 1; i >= 0; i--, vid >>= 8)
		out[i] = (uint8_t)vid;
}

static uint64_t get_vid(const uint8_t in[VID_LEN])
{
	uint64_t vid = 0;

	for (int i = 0; i < VID_LEN; i++)
		vid = vid << 8 | in[i];
	return vid;
}

static uint32_t day_of(int64_t t)
{
	return time32(t) / DAY_SECONDS;
}

/* The first second of day. */
static int64_t day_start(uint32_t day)
{
	return (int64_t)day * DAY_SECONDS;
}

/* An index key: day || id (a venue or a person number). */
static void idx_key(uint8_t out[IDX_KEY_LEN], uint32_t day, uint32_t id)
{
	as_put_be32(out, day);
	as_put_be32(out + 4, id);
}

/* The sortable form of a time: sign bit flipped, big-endian. */
static void put_time(uint8_t out[8], int64_t t)
{
	as_put_be64(out, (uint64_t)t ^ (UINT64_C(1) << 63));
}

static int64_t get_time(const uint8_t in[8])
{
	return (int64_t)(as_get_be64(in) ^ (UINT64_C(1) << 63));
}

/* The index entry of visit v; other is the person (by_venue) or the venue
 * (by_pid). */
static void idx_entry(uint8_t out[IDX_LEN], const struct cl_visit *v, uint32_t other)
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
static int idx_decode(struct cl_visit *v, const MDB_val *val, uint32_t id, int is_pid)
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
	if (v->kind < AS_REC_PASS || v->kind > AS_REC_APP || v->kind == AS_REC_EXPIRED ||
	    (v->flags & ~AS_REC_FLAGS_KNOWN) || v->headcount == 0 ||
	    v->headcount > AS_HEADCOUNT_MAX)
		return MDB_CORRUPTED;
	return 0;
}

static size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80 && n < 9) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Visit value: varints gateway index, seq; then (a gateway visit stored
 * by store version 4) the first VISIT_DIGEST_LEN bytes of its record's
 * chain digest, by which a record sent again under another seq is known. */
static size_t visit_encode(uint8_t out[VISIT_VALUE_MAX], const struct stored_visit *sv)
{
	size_t n = varint_put(out, sv->gw_index);

	n += varint_put(out + n, sv->seq);
	if (sv->has_digest) {
		memcpy(out + n, sv->digest, VISIT_DIGEST_LEN);
		n += VISIT_DIGEST_LEN;
	}
	return n;
}

/* Registry entry: version u8, pk[32], venue u32, revoked u8, index u32,
 * enrolled_at, revoked_at, through_seq, records, batches, last_seen,
 * last_created (8 bytes each). */
static void gateway_encode(uint8_t out[GATEWAY_VALUE_LEN], const struct stored_gateway *sg)
{
	const struct cl_gateway *g = &sg->g;
	uint8_t *p = out;

	*p++ = 1;
	memcpy(p, g->pk, AS_SIGN_PK_LEN);
	p += AS_SIGN_PK_LEN;
	as_put_be32(p, g->venue_id);
	p += 4;
	*p++ = g->revoked ? 1 : 0;
	as_put_be32(p, sg->index);
	p += 4;
	as_put_be64(p, (uint64_t)g->enrolled_at);
	as_put_be64(p + 8, (uint64_t)g->revoked_at);
	as_put_be64(p + 16, g->through_seq);
	as_put_be64(p + 24, g->records);
	as_put_be64(p + 32, g->batches);
	as_put_be64(p + 40, (uint64_t)g->last_seen);
	as_put_be64(p + 48, (uint64_t)g->last_created);
}

static int gateway_decode(struct stored_gateway *sg, const uint8_t *gw_id, const MDB_val *val)
{
	const uint8_t *p = val->mv_data;

	if (val->mv_size != GATEWAY_VALUE_LEN || p[0] != 1 || p[37] > 1)
		return MDB_CORRUPTED;
	memset(sg, 0, sizeof *sg);
	memcpy(sg->g.gw_id, gw_id, AS_GWID_LEN);
	p++;
	memcpy(sg->g.pk, p, AS_SIGN_PK_LEN);
	p += AS_SIGN_PK_LEN;
	sg->g.venue_id = as_get_be32(p);
	p += 4;
	sg->g.revoked = *p++;
	sg->index = as_get_be32(p);
	p += 4;
	sg->g.enrolled_at = (int64_t)as_get_be64(p);
	sg->g.revoked_at = (int64_t)as_get_be64(p + 8);
	sg->g.through_seq = as_get_be64(p + 16);
	sg->g.records = as_get_be64(p + 24);
	sg->g.batches = as_get_be64(p + 32);
	sg->g.last_seen = (int64_t)as_get_be64(p + 40);
	sg->g.last_created = (int64_t)as_get_be64(p + 48);
	return 0;
}

/* Length of a NUL-terminated string in a field of cap bytes, or -1 if it
 * has no terminator or is longer than max. */
static long field_len(const char *s, size_t cap, size_t max)
{
	const char *nul = memchr(s, '\0', cap);

	if (!nul || (size_t)(nul - s) > max)
		return -1;
	return (long)(nul - s);
}

static int venue_check(const struct cl_venue *v)
{
	if (v->id == 0 || v->dwell_minutes > 1440 ||
	    field_len(v->name, sizeof v->name, CL_NAME_MAX) < 0 ||
	    field_len(v->address, sizeof v->address, CL_ADDRESS_MAX) < 0 ||
	    field_len(v->category, sizeof v->category, CL_CATEGORY_MAX) < 0)
		return AS_E_FIELD;
	return 0;
}

/* Venue value: version u8 (2), dwell u16, longest visit u32, then name,
 * address, category each as length u8 + bytes.  v must have passed
 * venue_check. */
static size_t venue_encode(uint8_t out[VENUE_VALUE_MAX], const struct cl_venue *v)
{
	const char *fields[3] = {v->name, v->address, v->category};
	size_t n = 0;

	out[n++] = 2;
	out[n++] = (uint8_t)(v->dwell_minutes >> 8);
	out[n++] = (uint8_t)v->dwell_minutes;
	as_put_be32(out + n, v->longest_visit);
	n += 4;
	for (int i = 0; i < 3; i++) {
		size_t len = strlen(fields[i]);

		out[n++] = (uint8_t)len;
		memcpy(out + n, fields[i], len);
		n += len;
	}
	return n;
}

static int venue_decode(struct cl_venue *v, uint32_t id, const MDB_val *val)
{
	const uint8_t *p = val->mv_data, *end = p + val->mv_size;
	char *fields[3];
	const size_t maxes[3] = {CL_NAME_MAX, CL_ADDRESS_MAX, CL_CATEGORY_MAX};

	memset(v, 0, sizeof *v);
	fields[0] = v->name;
	fields[1] = v->address;
	fields[2] = v->category;
	if (val->mv_size < 7 || p[0] != 2)
		return MDB_CORRUPTED;
	v->id = id;
	v->dwell_minutes = (uint16_t)(p[1] << 8 | p[2]);
	v->longest_visit = as_get_be32(p + 3);
	p += 7;
	for (int i = 0; i < 3; i++) {
		size_t len;

		if (p >= end)
			return MDB_CORRUPTED;
		len = *p++;
		if (len > maxes[i] || (size_t)(end - p) < len || memchr(p, '\0', len))
			return MDB_CORRUPTED;
		memcpy(fields[i], p, len);
		p += len;
	}
	return p == end ? 0 : MDB_CORRUPTED;
}

/* ---- transactions -------------------------------------------------------- */

/* Begin a write transaction; waits while another thread or process
 * writes.  -EBUSY if this thread already writes to s (a deadlock). */
static int write_begin(struct cl_store *s, MDB_txn **txn)
{
	int rc;

	if (s->readonly)
		return -EACCES;
	if (thread_writing == s)
		return -EBUSY;
	last_error[0] = '\0';
	rc = mdb_txn_begin(s->env, NULL, 0, txn);
	if (rc)
		return store_error(store_fail("beginning a write transaction", rc));
	if (!thread_writing)
		thread_writing = s;
	return 0;
}

/* Commit when rc is 0, else abort; returns the translated result. */
static int write_end(struct cl_store *s, MDB_txn *txn, int rc)
{
	if (rc)
		mdb_txn_abort(txn);
	else
		rc = store_fail("committing", mdb_txn_commit(txn));
	if (thread_writing == s)
		thread_writing = NULL;
	return store_error(rc);
}

static int read_begin(struct cl_store *s, MDB_txn **txn)
{
	return store_error(mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn));
}

static int meta_get(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t *value)
{
	MDB_val key = {strlen(name), (void *)name}, val;
	int rc = mdb_get(txn, dbi, &key, &val);

	*value = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (val.mv_size != 8)
		return MDB_CORRUPTED;
	*value = as_get_be64(val.mv_data);
	return 0;
}

static int meta_put(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t value)
{
	uint8_t buf[8];
	MDB_val key = {strlen(name), (void *)name}, val = {8, buf};

	as_put_be64(buf, value);
	return mdb_put(txn, dbi, &key, &val, 0);
}

/* ---- open / close -------------------------------------------------------- */

static int open_dbs(struct cl_store *s, MDB_txn *txn)
{
	const unsigned create = s->readonly ? 0 : MDB_CREATE;
	const unsigned dup = MDB_DUPSORT | MDB_DUPFIXED;
	struct {
		const char *name;
		unsigned flags;
		MDB_dbi *dbi;
	} dbs[STORE_MAXDBS] = {
		{"meta", 0, &s->meta},         {"gateways", 0, &s->gateways},
		{"venues", 0, &s->venues},     {"counters", 0, &s->counters},
		{"visits", 0, &s->visits},     {"by_venue", dup, &s->by_venue},
		{"by_pid", 0, &s->by_pid},     {"persons", 0, &s->persons},
		{"capsules", 0, &s->capsules}, {"paper", 0, &s->paper},
		{"app", 0, &s->app},           {"chains", 0, &s->chains},
		{"chain_events", 0, &s->chain_events}, {"coverage", 0, &s->coverage},
	};
	uint8_t buf[FP_KEY_LEN];
	MDB_val key = {7, (void *)"version"}, val, fkey = {6, (void *)"fp_key"};
	int rc, fresh = 0, ndbs;

	/* The version first, so that an older store is named as such. */
	rc = mdb_dbi_open(txn, "meta", create, &s->meta);
	if (rc)
		return rc;
	rc = mdb_get(txn, s->meta, &key, &val);
	if (rc == MDB_NOTFOUND && !s->readonly) {
		/* A new store: its version, and the secret key of the capsule
		 * fingerprints (so that nobody can make two capsules collide). */
		as_put_be32(buf, STORE_VERSION);
		val = (MDB_val){4, buf};
		rc = mdb_put(txn, s->meta, &key, &val, 0);
		randombytes_buf(buf, FP_KEY_LEN);
		val = (MDB_val){FP_KEY_LEN, buf};
		if (!rc)
			rc = mdb_put(txn, s->meta, &fkey, &val, 0);
		sodium_memzero(buf, sizeof buf);
		fresh = 1;
	}
	if (rc)
		return rc;
	if (!fresh && val.mv_size != 4)
		return MDB_CORRUPTED;
	if (!fresh && as_get_be32(val.mv_data) != STORE_VERSION &&
	    as_get_be32(val.mv_data) != 3)
		return AS_E_VERSION;
	ndbs = STORE_MAXDBS;
	if (!fresh && as_get_be32(val.mv_data) == 3) {
		/* Version 3 lacks only the chain databases: a writer adds them
		 * (empty: every gateway's chain starts with its next batch); a
		 * reader goes without. */
		if (s->readonly) {
			ndbs = STORE_V3_DBS;
		} else {
			as_put_be32(buf, STORE_VERSION);
			val = (MDB_val){4, buf};
			rc = mdb_put(txn, s->meta, &key, &val, 0);
		}
	}
	s->no_coverage = 1;
	for (int i = 1; i < ndbs && !rc; i++) {
		rc = mdb_dbi_open(txn, dbs[i].name, create | dbs[i].flags, dbs[i].dbi);
		if (dbs[i].dbi == &s->coverage) {
			/* Coverage came after the chains: a reader of a store that
			 * no writer has opened since goes without it too. */
			s->no_coverage = rc != 0;
			if (rc == MDB_NOTFOUND && s->readonly)
				rc = 0;
		}
	}
	s->has_chain = ndbs == STORE_MAXDBS;
	return rc;
}

/*
 * Readers in other processes (anshim-consoled, as a member of the store
 * owner's group) need to read data.mdb and to register in lock.mdb: give
 * the group read on the data and read-write on the lock file, never write
 * on the data.  Whether the group gets in at all is the directory's mode
 * (0700 by default: nobody; the packaged service makes it 0750).  Only
 * the files' owner can change their modes: otherwise they stay as they are.
 */
static void store_share_with_readers(const char *dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof path, "%s/data.mdb", dir) < (int)sizeof path)
		(void)chmod(path, 0640);
	if (snprintf(path, sizeof path, "%s/lock.mdb", dir) < (int)sizeof path)
		(void)chmod(path, 0660);
}

int cl_store_open(struct cl_store **out, const char *dir, uint64_t map_size, int readonly,
		  char *err, size_t err_len)
{
	struct cl_store *s;
	MDB_txn *txn = NULL;
	int rc;

	*out = NULL;
	if (map_size == 0 && !readonly)
		map_size = sizeof(size_t) >= 8 ? UINT64_C(64) << 30 : UINT64_C(1) << 30;
	if (map_size > SIZE_MAX) {
		set_err(err, err_len, "store", dir,
			"map size does not fit this machine's address space (lower map_size)");
		return AS_E_CONFIG;
	}
	if (sodium_init() < 0)
		return AS_E_CRYPTO;
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->readonly = readonly ? 1 : 0;
	s->open_serial = atomic_fetch_add(&store_opens, 1) + 1;
	rc = readonly ? 0 : as_mkdir_p(dir, 0700);
	if (rc) {
		set_err(err, err_len, "cannot create store directory", dir, as_strerror(rc));
		free(s);
		return rc;
	}
	rc = mdb_env_create(&s->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(s->env, STORE_MAXDBS);
	if (!rc && map_size)
		rc = mdb_env_set_mapsize(s->env, (size_t)map_size);
	if (!rc)
		rc = mdb_env_open(s->env, dir, MDB_NOTLS | (readonly ? MDB_RDONLY : 0), 0600);
	if (!rc)
		rc = mdb_txn_begin(s->env, NULL, readonly ? MDB_RDONLY : 0, &txn);
	if (!rc)
		rc = open_dbs(s, txn);
	if (!rc) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (rc) {
		int code = store_error(rc);

		if (rc == AS_E_VERSION)
			set_err(err, err_len, "store", dir,
				"written by an incompatible version of Anshim");
		else if (rc == MDB_NOTFOUND)
			set_err(err, err_len, "store", dir,
				"is not an Anshim cloud store (open it read-write once to create it)");
		else
			set_err(err, err_len, "cannot open store in", dir,
				rc > 0 || (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE)
					? mdb_strerror(rc) : as_strerror(code));
		if (txn)
			mdb_txn_abort(txn);
		mdb_env_close(s->env);
		free(s);
		return code;
	}
	if (!readonly)
		store_share_with_readers(dir);
	*out = s;
	return 0;
}

void cl_store_close(struct cl_store *s)
{
	if (!s)
		return;
	mdb_env_close(s->env);
	free(s);
}

/* ---- registry ------------------------------------------------------------ */

static int gateway_get(MDB_txn *txn, MDB_dbi dbi, const uint8_t gw_id[AS_GWID_LEN],
		       struct stored_gateway *sg)
{
	MDB_val key = {AS_GWID_LEN, (void *)gw_id}, val;
	int rc = mdb_get(txn, dbi, &key, &val);

	return rc ? rc : gateway_decode(sg, gw_id, &val);
}

static int gateway_put(MDB_txn *txn, MDB_dbi dbi, const struct stored_gateway *sg)
{
	uint8_t buf[GATEWAY_VALUE_LEN];
	MDB_val key = {AS_GWID_LEN, (void *)sg->g.gw_id}, val = {sizeof buf, buf};

	gateway_encode(buf, sg);
	return mdb_put(txn, dbi, &key, &val, 0);
}

static int enroll_txn(struct cl_store *s, MDB_txn *txn, const struct cl_gateway *gw,
		      const struct cl_venue *v, uint32_t venue_id)
{
	struct stored_gateway sg;
	uint8_t vkey[4], vbuf[VENUE_VALUE_MAX];
	MDB_val key = {4, vkey}, val;
	uint64_t next_gw;
	int rc;

	as_put_be32(vkey, venue_id);
	if (v) {
		struct cl_venue copy = *v, old;

		if (copy.dwell_minutes == 0)
			copy.dwell_minutes = CL_DEFAULT_DWELL;
		rc = mdb_get(txn, s->venues, &key, &val);
		if (rc == 0)
			rc = venue_decode(&old, venue_id, &val);
		if (rc && rc != MDB_NOTFOUND)
			return rc;
		copy.longest_visit = rc == 0 ? old.longest_visit : 0;
		val.mv_data = vbuf;
		val.mv_size = venue_encode(vbuf, &copy);
		rc = mdb_put(txn, s->venues, &key, &val, 0);
	} else {
		rc = mdb_get(txn, s->venues, &key, &val);
	}
	if (rc || !gw)
		return rc;
	rc = gateway_get(txn, s->gateways, gw->gw_id, &sg);
	if (rc == 0) {
		if (memcmp(sg.g.pk, gw->pk, AS_SIGN_PK_LEN) != 0)
			return AS_E_EXISTS;
		sg.g.venue_id = venue_id; /* everything else is kept, revoked too */
		return gateway_put(txn, s->gateways, &sg);
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	rc = meta_get(txn, s->meta, "next_gw", &next_gw);
	if (rc)
		return rc;
	if (next_gw == 0)
		next_gw = 1;
	if (next_gw > UINT32_MAX)
		return AS_E_FULL;
	memset(&sg, 0, sizeof sg);
	memcpy(sg.g.gw_id, gw->gw_id, AS_GWID_LEN);
	memcpy(sg.g.pk, gw->pk, AS_SIGN_PK_LEN);
	sg.g.venue_id = venue_id;
	sg.g.revoked = gw->revoked ? 1 : 0;
	sg.g.enrolled_at = gw->enrolled_at;
	sg.g.revoked_at = gw->revoked ? gw->revoked_at : 0;
	sg.index = (uint32_t)next_gw;
	rc = gateway_put(txn, s->gateways, &sg);
	return rc ? rc : meta_put(txn, s->meta, "next_gw", next_gw + 1);
}

int cl_store_enroll(struct cl_store *s, const struct cl_gateway *gw, const struct cl_venue *v)
{
	uint32_t venue_id = v ? v->id : gw ? gw->venue_id : 0;
	MDB_txn *txn;
	int rc;

	if (venue_id == 0 || (v && gw && gw->venue_id && gw->venue_id != v->id))
		return AS_E_FIELD;
	if (v && (rc = venue_check(v)) != 0)
		return rc;
	rc = write_begin(s, &txn);
	if (rc)
		return rc;
	return write_end(s, txn, enroll_txn(s, txn, gw, v, venue_id));
}

int cl_store_revoke(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN], int64_t now)
{
	struct stored_gateway sg;
	MDB_txn *txn;
	int rc = write_begin(s, &txn);

	if (rc)
		return rc;
	rc = gateway_get(txn, s->gateways, gw_id, &sg);
	if (!rc && !sg.g.revoked) {
		sg.g.revoked = 1;
		sg.g.revoked_at = now;
		rc = gateway_put(txn, s->gateways, &sg);
	}
	return write_end(s, txn, rc);
}

int cl_store_get_gateway(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
			 struct cl_gateway *out)
{
	struct stored_gateway sg;
	MDB_txn *txn;
	int rc = read_begin(s, &txn);

	if (rc)
		return rc;
	rc = gateway_get(txn, s->gateways, gw_id, &sg);
	mdb_txn_abort(txn);
	if (!rc)
		*out = sg.g;
	return store_error(rc);
}

int cl_store_get_venue(struct cl_store *s, uint32_t venue_id, struct cl_venue *out)
{
	uint8_t kbuf[4];
	MDB_val key = {4, kbuf}, val;
	MDB_txn *txn;
	int rc = read_begin(s, &txn);

	if (rc)
		return rc;
	as_put_be32(kbuf, venue_id);
	rc = mdb_get(txn, s->venues, &key, &val);
	if (!rc)
		rc = venue_decode(out, venue_id, &val);
	mdb_txn_abort(txn);
	return store_error(rc);
}

/* Walk dbi in key order inside one read transaction; each() gets every
 * entry and returns 0 to go on, > 0 to stop, < 0 to stop with an error
 * (an Anshim code, -errno, or an LMDB code). */
static int walk(struct cl_store *s, MDB_dbi dbi,
		int (*each)(void *arg, const MDB_val *key, const MDB_val *val), void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = read_begin(s, &txn), op = MDB_FIRST, stop = 0;

	if (rc)
		return rc;
	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc) {
		mdb_txn_abort(txn);
		return store_error(rc);
	}
	while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
		op = MDB_NEXT;
		stop = each(arg, &key, &val);
		if (stop)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (stop)
		return stop < 0 ? store_error(stop) : 0;
	return rc == MDB_NOTFOUND ? 0 : store_error(rc);
}

struct each_gateway_arg {
	int (*fn)(void *ctx, const struct cl_gateway *g);
	void *ctx;
};

static int each_gateway_entry(void *arg, const MDB_val *key, const MDB_val *val)
{
	struct each_gateway_arg *a = arg;
	struct stored_gateway sg;

	if (key->mv_size != AS_GWID_LEN || gateway_decode(&sg, key->mv_data, val))
		return MDB_CORRUPTED;
	return a->fn(a->ctx, &sg.g);
}

int cl_store_each_gateway(struct cl_store *s, int (*fn)(void *ctx, const struct cl_gateway *g),
			  void *ctx)
{
	struct each_gateway_arg a = {fn, ctx};

	return walk(s, s->gateways, each_gateway_entry, &a);
}

struct each_venue_arg {
	int (*fn)(void *ctx, const struct cl_venue *v);
	void *ctx;
};

static int each_venue_entry(void *arg, const MDB_val *key, const MDB_val *val)
{
	struct each_venue_arg *a = arg;
	struct cl_venue v;

	if (key->mv_size != 4 || venue_decode(&v, as_get_be32(key->mv_data), val))
		return MDB_CORRUPTED;
	return a->fn(a->ctx, &v);
}

int cl_store_each_venue(struct cl_store *s, int (*fn)(void *ctx, const struct cl_venue *v),
			void *ctx)
{
	struct each_venue_arg a = {fn, ctx};

	return walk(s, s->venues, each_venue_entry, &a);
}

/* ---- ingest ---------------------------------------------------------------- */

/*
 * Ingest in two steps.  ingest_batch checks each batch, decides which of
 * its records are new (through_seq) and queues them with their vids.  The
 * commit then writes the queue in key order, once per transaction:
 * persons (sorted by pid), capsules and paper (by person number), by_pid
 * (by day, person, time), by_venue (by day, venue, time) and visits (by
 * vid: appends).  Neighbouring keys share leaf pages, so LMDB's cursors find
 * most of them without a descent from the root, and each touched page is
 * visited once per transaction rather than once per visit.
 */

/* Queue one new visit. */
static int ingest_visit(struct cl_ingest *in, const struct stored_visit *sv,
			const uint8_t capsule[AS_CAPSULE_LEN])
{
	if (in->npend == in->pend_cap) {
		size_t cap = in->pend_cap ? in->pend_cap * 2 : 1024;
		struct pending *p = cap <= SIZE_MAX / sizeof *p ? realloc(in->pend, cap * sizeof *p)
								 : NULL;

		if (!p)
			return ENOMEM;
		in->pend = p;
		in->pend_cap = cap;
	}
	in->pend[in->npend].sv = *sv;
	memcpy(in->pend[in->npend].capsule, capsule, AS_CAPSULE_LEN);
	in->npend++;
	return 0;
}

/*
 * The person number of pid (in *person), creating the person (*fresh, with
 * fingerprint fp) or noting that fp differs from the stored one
 * (*differs).  A new person is written here; a stored one when base is
 * set and fp differs: its fingerprint is replaced, and the caller writes
 * the capsule.  Most visits bring the same capsule again (it is part of
 * the credential), so persons keeps a keyed fingerprint of it and the
 * capsule itself is not read; most people are only read.
 */
static int resolve_person(struct cl_ingest *in, const uint8_t pid[AS_PID_LEN],
			  const uint8_t fp[FP_LEN], int base, uint32_t *person, int *differs,
			  int *fresh)
{
	uint8_t pval[PERSON_VALUE_LEN];
	MDB_val key = {AS_PID_LEN, (void *)pid}, val;
	int rc;

	*differs = *fresh = 0;
	rc = mdb_cursor_get(in->persons, &key, &val, MDB_SET);
	if (rc == 0) {
		if (val.mv_size != PERSON_VALUE_LEN || as_get_be32(val.mv_data) == 0)
			return MDB_CORRUPTED;
		*person = as_get_be32(val.mv_data);
		*differs = memcmp((const uint8_t *)val.mv_data + 4, fp, FP_LEN) != 0;
		if (!*differs || !base)
			return 0;
	} else if (rc == MDB_NOTFOUND) {
		if (in->next_person > UINT32_MAX)
			return MDB_MAP_FULL; /* out of person numbers */
		*person = (uint32_t)in->next_person++;
		*fresh = 1;
	} else {
		return rc;
	}
	as_put_be32(pval, *person);
	memcpy(pval + 4, fp, FP_LEN);
	key = (MDB_val){AS_PID_LEN, (void *)pid};
	val = (MDB_val){PERSON_VALUE_LEN, pval};
	return store_fail(rc == 0 ? "writing to persons" : "adding to persons",
			  mdb_cursor_put(in->persons, &key, &val, MDB_CURRENT * (rc == 0)));
}

/*
 * The commit's sorts are LSD radix sorts of fixed-size records on a
 * big-endian byte prefix (byte order is the databases' key order), one
 * counting pass per byte from the last, stable, skipping the bytes that
 * every record shares.  Records stay in the order they were made (vid
 * order) where their keys are equal.
 */
static int radix_sort(void *base, size_t n, size_t size, size_t key_len)
{
	size_t (*count)[256];
	uint8_t *a = base, *b;

	if (n < 2)
		return 0;
	count = calloc(key_len, sizeof *count);
	b = n <= SIZE_MAX / size ? malloc(n * size) : NULL;
	if (!count || !b) {
		free(count);
		free(b);
		return ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < key_len; k++)
			count[k][a[i * size + k]]++;
	for (size_t k = key_len; k-- > 0;) {
		size_t pos = 0, *c = count[k];
		uint8_t *t;

		if (c[a[k]] == n)
			continue; /* every record has this byte */
		for (int d = 0; d < 256; d++) {
			size_t m = c[d];

			c[d] = pos;
			pos += m;
		}
		for (size_t i = 0; i < n; i++) {
			const uint8_t *r = a + i * size;

			memcpy(b + c[r[k]]++ * size, r, size);
		}
		t = a, a = b, b = t;
	}
	if (a != base) {
		memcpy(base, a, n * size);
		b = a;
	}
	free(b);
	free(count);
	return 0;
}

/* A queued visit's pid and its place in in->pend (vid order). */
struct pid_ref {
	uint8_t pid[AS_PID_LEN];
	uint32_t idx;
};

/* Sort refs by pid, then idx: a radix sort on the first four bytes (pids
 * are uniform), then an insertion sort that finishes the rare pids
 * sharing them (stable, so idx order stays within a pid). */
static int sort_pid_refs(struct pid_ref *refs, size_t n)
{
	int rc = radix_sort(refs, n, sizeof *refs, 4);

	for (size_t i = 1; i < n && !rc; i++) {
		struct pid_ref x = refs[i];
		size_t j = i;

		for (; j > 0 && memcmp(refs[j - 1].pid, x.pid, AS_PID_LEN) > 0; j--)
			refs[j] = refs[j - 1];
		refs[j] = x;
	}
	return rc;
}

/* An index entry to write: its key (day || venue or person) then the
 * entry itself, whose first bytes (time, vid) order a key's entries. */
struct idx_rec {
	uint8_t key[IDX_KEY_LEN];
	uint8_t ent[IDX_LEN];
};

/* What a commit does with one person's capsules. */
struct capsule_job {
	uint8_t person[4];      /* big-endian: the sort key */
	uint32_t idx;           /* the visit whose capsule is the latest */
	uint8_t fp[FP_LEN];     /* its fingerprint */
	uint8_t fresh;          /* a new person: append to capsules */
	uint8_t base;           /* replace the capsule in capsules */
	uint8_t paper;          /* it is the paper entry's, and differs from
				 * capsules': it goes to paper */
};

/* The queued visits' entries for one index (persons[i]: the person of
 * in->pend[i]), sorted by key, entry time and vid; returns how many. */
static int sort_index(struct cl_ingest *in, const uint32_t *persons, struct idx_rec *recs,
		      int is_pid, size_t *count)
{
	size_t n = 0;

	for (size_t i = 0; i < in->npend; i++) {
		struct cl_visit v = in->pend[i].sv.v;

		v.person = persons[i];
		if (is_pid && !v.person)
			continue; /* unattributed: no person to index */
		idx_key(recs[n].key, day_of(v.entry), is_pid ? v.person : v.venue_id);
		idx_entry(recs[n++].ent, &v, is_pid ? v.venue_id : v.person);
	}
	*count = n;
	/* Equal keys and times keep vid order: no need to sort on the vid. */
	return radix_sort(recs, n, sizeof *recs, IDX_KEY_LEN + 8);
}

/* by_venue: one DUPSORT entry per queued visit, in key order. */
static int write_venue_index(struct cl_ingest *in, const uint32_t *persons,
			     struct idx_rec *recs)
{
	size_t n;
	int rc = sort_index(in, persons, recs, 0, &n);

	for (size_t k = 0; k < n && !rc; k++) {
		MDB_val key = {IDX_KEY_LEN, recs[k].key}, val = {IDX_LEN, recs[k].ent};

		rc = store_fail("writing to by_venue", mdb_cursor_put(in->by_venue, &key, &val, 0));
	}
	return rc;
}

/* by_pid: per (day, person) of the queued visits, the stored entries and
 * the new ones merged in (entry, vid) order, written once. */
static int write_pid_index(struct cl_ingest *in, const uint32_t *persons, struct idx_rec *recs)
{
	size_t n;
	uint8_t *buf = NULL;
	size_t cap = 0;
	int rc = sort_index(in, persons, recs, 1, &n);

	for (size_t a = 0, b; a < n && !rc; a = b) {
		MDB_val key = {IDX_KEY_LEN, recs[a].key}, val;
		const uint8_t *old = NULL;
		size_t n_old = 0, need, o = 0, m = 0;

		for (b = a + 1; b < n && memcmp(recs[b].key, recs[a].key, IDX_KEY_LEN) == 0; b++)
			;
		rc = store_fail("reading by_pid",
				mdb_cursor_get(in->by_pid, &key, &val, MDB_SET_KEY));
		if (rc == 0) {
			if (val.mv_size == 0 || val.mv_size % IDX_LEN)
				rc = store_fail("reading by_pid (a value of part entries)",
						MDB_CORRUPTED);
			old = val.mv_data;
			n_old = val.mv_size / IDX_LEN;
		} else if (rc == MDB_NOTFOUND) {
			rc = 0;
		}
		need = (n_old + (b - a)) * IDX_LEN;
		/* No smaller bound: a pass scanned thousands of times a day
		 * (a card passed round, a scanner stuck on one code) makes a
		 * large value, rewritten by each commit that adds to it, but
		 * must not make every later batch with it fail. */
		if (!rc && need > PID_VALUE_MAX)
			rc = store_fail("writing to by_pid (one person's visits of one day)",
					MDB_BAD_VALSIZE);
		if (!rc && need > cap) {
			uint8_t *p = realloc(buf, need);

			if (!p)
				rc = ENOMEM;
			else
				buf = p, cap = need;
		}
		/* Merge: stored entries are in order, and so are recs[a..b). */
		for (size_t k = a; !rc && k <= b; k++) {
			while (o < n_old &&
			       (k == b || memcmp(old + o * IDX_LEN, recs[k].ent, 14) < 0)) {
				memcpy(buf + m * IDX_LEN, old + o * IDX_LEN, IDX_LEN);
				m++, o++;
			}
			if (k < b) {
				memcpy(buf + m * IDX_LEN, recs[k].ent, IDX_LEN);
				m++;
			}
		}
		if (!rc) {
			key = (MDB_val){IDX_KEY_LEN, recs[a].key};
			val = (MDB_val){m * IDX_LEN, buf};
			rc = store_fail("writing to by_pid",
					mdb_cursor_put(in->by_pid, &key, &val, 0));
		}
	}
	free(buf);
	return rc;
}

/*
 * Capsules and paper, in person-number order: a changed capsule in place,
 * then new people, whose numbers are all above the rest, appended.  paper
 * holds a person's latest capsule where that came with a paper entry and
 * differs from the one in capsules; any other visit's capsule takes its
 * place there (the latest seen wins), and paper loses the person.  Every
 * person of the commit is looked up in paper, which is small (the people
 * whose latest visit was a paper entry): the cursor steps forward where
 * the next entry is near and seeks where it is not (cursor_seek_near).
 */

/* The number a key of klen (4 or 8) big-endian bytes spells. */
static int key_number(const MDB_val *key, size_t klen, uint64_t *num)
{
	if (key->mv_size != klen)
		return MDB_CORRUPTED;
	*num = klen == 8 ? as_get_be64(key->mv_data) : as_get_be32(key->mv_data);
	return 0;
}

/*
 * Place cur on the first key >= want (klen bytes spelling want_num), given
 * the number of the key it is on in *at (0: not placed): stay if it is
 * want, step forward if it is at most SEEK_NEAR below, seek otherwise.
 * Callers that ask for keys in increasing order read neighbouring keys
 * without descending the tree again.  *at, key and val follow the cursor;
 * MDB_NOTFOUND (*at = UINT64_MAX) when no key is >= want.
 */
#define SEEK_NEAR 16

static int cursor_seek_near(MDB_cursor *cur, const uint8_t *want, size_t klen, uint64_t want_num,
			    uint64_t *at, MDB_val *key, MDB_val *val)
{
	int rc;

	if (*at == want_num) {
		rc = mdb_cursor_get(cur, key, val, MDB_GET_CURRENT);
	} else if (*at && *at < want_num && want_num - *at <= SEEK_NEAR) {
		do {
			rc = mdb_cursor_get(cur, key, val, MDB_NEXT);
			if (!rc)
				rc = key_number(key, klen, at);
		} while (!rc && *at < want_num);
	} else {
		key->mv_size = klen;
		key->mv_data = (void *)want;
		rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
		if (!rc)
			rc = key_number(key, klen, at);
	}
	if (rc)
		*at = rc == MDB_NOTFOUND ? UINT64_MAX : 0;
	return rc;
}

static int write_capsules(struct cl_ingest *in, const struct capsule_job *jobs, size_t n)
{
	uint64_t at = 0; /* the paper cursor's key (cursor_seek_near); 0: not placed */
	MDB_val paper_key, paper_val;
	int rc = 0;

	for (size_t k = 0; k < n && !rc; k++) {
		const struct capsule_job *j = &jobs[k];
		const struct pending *p = &in->pend[j->idx];
		int has;

		if (j->base) {
			uint8_t cval[CAPSULE_VALUE_LEN];
			MDB_val key = {4, (void *)j->person}, val = {CAPSULE_VALUE_LEN, cval};

			memcpy(cval, p->sv.v.pid, AS_PID_LEN);
			memcpy(cval + AS_PID_LEN, p->capsule, AS_CAPSULE_LEN);
			rc = store_fail(j->fresh ? "appending to capsules" : "writing to capsules",
					mdb_cursor_put(in->capsules, &key, &val,
						       j->fresh ? MDB_APPEND : 0));
			if (rc)
				break;
		}
		if (j->fresh)
			continue; /* numbers are never reused: not in paper */
		rc = cursor_seek_near(in->paper, j->person, 4, as_get_be32(j->person), &at,
				      &paper_key, &paper_val);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		else if (!rc && paper_val.mv_size != PAPER_VALUE_LEN)
			rc = MDB_CORRUPTED;
		if (rc)
			break;
		has = at == as_get_be32(j->person);
		if (j->paper && !(has && memcmp(paper_val.mv_data, j->fp, FP_LEN) == 0)) {
			uint8_t pval[PAPER_VALUE_LEN];
			MDB_val key = {4, (void *)j->person}, val = {PAPER_VALUE_LEN, pval};

			memcpy(pval, j->fp, FP_LEN);
			memcpy(pval + FP_LEN, p->capsule, AS_CAPSULE_LEN);
			rc = store_fail("writing to paper", mdb_cursor_put(in->paper, &key, &val, 0));
			at = 0;
		} else if (!j->paper && has) {
			rc = mdb_cursor_del(in->paper, 0);
			at = 0;
		}
	}
	return rc;
}

/* Resolve persons and write capsules, by_pid, by_venue and visits for
 * every queued visit (see above).  The sorts work on compact records made
 * in one pass over the queue, not on references into it: the queue is far
 * larger than the caches. */
static int apply_pending(struct cl_ingest *in)
{
	size_t n = in->npend, nref = 0, njob = 0;
	struct pid_ref *refs = NULL;
	struct capsule_job *jobs = NULL;
	struct idx_rec *recs = NULL;
	uint32_t *persons = NULL;
	int rc = 0;

	if (n == 0)
		return 0;
	if (n > UINT32_MAX)
		return MDB_TXN_FULL;
	refs = malloc(n * sizeof *refs);
	jobs = malloc(n * sizeof *jobs);
	recs = malloc(n * sizeof *recs);
	persons = calloc(n, sizeof *persons);
	if (!refs || !jobs || !recs || !persons) {
		rc = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct cl_visit *v = &in->pend[i].sv.v;

		if (pid_is_zero(v->pid))
			continue;
		memcpy(refs[nref].pid, v->pid, AS_PID_LEN);
		refs[nref++].idx = (uint32_t)i;
	}
	rc = sort_pid_refs(refs, nref);
	for (size_t a = 0, b; a < nref && !rc; a = b) {
		const struct pending *p;
		struct capsule_job *j = &jobs[njob++];
		uint32_t person = 0;
		int differs, fresh;

		for (b = a + 1; b < nref && memcmp(refs[b].pid, refs[a].pid, AS_PID_LEN) == 0; b++)
			;
		j->idx = refs[b - 1].idx; /* the highest vid: the latest capsule */
		p = &in->pend[j->idx];
		crypto_shorthash(j->fp, p->capsule, AS_CAPSULE_LEN, in->fp_key);
		rc = resolve_person(in, refs[a].pid, j->fp, p->sv.v.kind != AS_REC_MANUAL, &person,
				    &differs, &fresh);
		as_put_be32(j->person, person);
		j->fresh = (uint8_t)fresh;
		j->base = (uint8_t)(fresh || (differs && p->sv.v.kind != AS_REC_MANUAL));
		j->paper = (uint8_t)(differs && p->sv.v.kind == AS_REC_MANUAL);
		for (size_t k = a; k < b && !rc; k++)
			persons[refs[k].idx] = person;
	}
	if (!rc)
		rc = radix_sort(jobs, njob, sizeof *jobs, 4);
	if (!rc)
		rc = write_capsules(in, jobs, njob);
	if (!rc)
		rc = write_pid_index(in, persons, recs);
	if (!rc)
		rc = write_venue_index(in, persons, recs);
	for (size_t i = 0; i < n && !rc; i++) {
		uint8_t vid[VID_LEN], value[VISIT_VALUE_MAX];
		MDB_val key = {VID_LEN, vid}, val = {0, value};

		put_vid(vid, in->pend[i].sv.v.vid);
		val.mv_size = visit_encode(value, &in->pend[i].sv);
		rc = store_fail("appending to visits",
				mdb_cursor_put(in->visits, &key, &val, MDB_APPEND));
	}
	if (!rc)
		in->npend = 0;
out:
	free(refs);
	free(jobs);
	free(recs);
	free(persons);
	return rc;
}

static void ingest_free(struct cl_ingest *in)
{
	free(in->pend);
	sodium_memzero(in->fp_key, sizeof in->fp_key);
	free(in);
}

static void ingest_close_cursors(struct cl_ingest *in)
{
	MDB_cursor *curs[6] = {in->visits,  in->by_venue, in->by_pid,
			       in->persons, in->capsules, in->paper};

	for (int i = 0; i < 6; i++)
		if (curs[i])
			mdb_cursor_close(curs[i]);
}

int cl_store_ingest_begin(struct cl_store *s, struct cl_ingest **out)
{
	struct cl_ingest *in;
	MDB_val key, val;
	int rc;

	*out = NULL;
	in = calloc(1, sizeof *in);
	if (!in)
		return -ENOMEM;
	in->s = s;
	rc = write_begin(s, &in->txn);
	if (rc) {
		free(in);
		return rc;
	}
	rc = mdb_cursor_open(in->txn, s->visits, &in->visits);
	if (!rc)
		rc = mdb_cursor_open(in->txn, s->by_venue, &in->by_venue);
	if (!rc)
		rc = mdb_cursor_open(in->txn, s->by_pid, &in->by_pid);
	if (!rc)
		rc = mdb_cursor_open(in->txn, s->persons, &in->persons);
	if (!rc)
		rc = mdb_cursor_open(in->txn, s->capsules, &in->capsules);
	if (!rc)
		rc = mdb_cursor_open(in->txn, s->paper, &in->paper);
	if (!rc)
		rc = meta_get(in->txn, s->meta, "next_vid", &in->next_vid_stored);
	if (!rc)
		rc = meta_get(in->txn, s->meta, "next_person", &in->next_person_stored);
	if (!rc)
		rc = meta_get(in->txn, s->meta, "batches", &in->batches_stored);
	in->next_vid = in->next_vid_stored ? in->next_vid_stored : 1;
	in->next_person = in->next_person_stored ? in->next_person_stored : 1;
	in->batches = in->batches_stored;
	if (!rc) {
		/* next_vid and next_person must pass the last ones stored even
		 * if meta lags. */
		rc = mdb_cursor_get(in->visits, &key, &val, MDB_LAST);
		if (rc == 0 && key.mv_size != VID_LEN)
			rc = MDB_CORRUPTED;
		if (rc == 0 && get_vid(key.mv_data) >= in->next_vid)
			in->next_vid = get_vid(key.mv_data) + 1;
		if (rc == 0 || rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(in->capsules, &key, &val, MDB_LAST);
		if (rc == 0 && key.mv_size != 4)
			rc = MDB_CORRUPTED;
		if (rc == 0 && as_get_be32(key.mv_data) >= in->next_person)
			in->next_person = (uint64_t)as_get_be32(key.mv_data) + 1;
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (!rc) {
		key = (MDB_val){6, (void *)"fp_key"};
		rc = mdb_get(in->txn, s->meta, &key, &val);
		if (rc == 0 && val.mv_size != FP_KEY_LEN)
			rc = MDB_CORRUPTED;
		if (rc == 0)
			memcpy(in->fp_key, val.mv_data, FP_KEY_LEN);
		else if (rc == MDB_NOTFOUND)
			rc = MDB_CORRUPTED;
	}
	if (rc) {
		ingest_close_cursors(in);
		rc = write_end(s, in->txn, rc);
		ingest_free(in);
		return rc;
	}
	*out = in;
	return 0;
}

/* Raise venue's longest visit to span (seconds) if it is longer. */
static int venue_raise_longest(MDB_txn *txn, MDB_dbi venues, uint32_t venue, uint32_t span)
{
	uint8_t vkey[4], vbuf[VENUE_VALUE_MAX];
	MDB_val key = {4, vkey}, val;
	struct cl_venue v;
	int rc;

	as_put_be32(vkey, venue);
	rc = mdb_get(txn, venues, &key, &val);
	if (rc == MDB_NOTFOUND)
		return 0; /* not enrolled (only a test stores such visits) */
	if (!rc)
		rc = venue_decode(&v, venue, &val);
	if (rc || v.longest_visit >= span)
		return rc;
	v.longest_visit = span;
	val = (MDB_val){venue_encode(vbuf, &v), vbuf};
	return mdb_put(txn, venues, &key, &val, 0);
}

/* The span of a visit with an exit, as venue_raise_longest takes it. */
static uint32_t visit_span(int64_t entry, int64_t exit)
{
	uint64_t d;

	if (exit == 0 || exit <= entry)
		return 0;
	d = (uint64_t)exit - (uint64_t)entry;
	return d > SPAN_MAX ? SPAN_MAX : (uint32_t)d;
}

/* ---- journal chains (see store.h: cl_store_ingest_chained_batch) ---------
 *
 * chains        gw_id[16] || slot u16 -> journal_id[16] || link[32] ||
 *               seq u64 || time i64: slot CHAIN_STATE is the chain followed
 *               (the link after the highest seq taken from it); slots
 *               0..CL_CHAIN_POINTS-1 a ring of batch-end links, by the
 *               gateway's batch count, where a restored journal's branch
 *               is found.
 * chain_events  gw_id[16] || n u32 -> kind u8 || cause u8 ||
 *               journal_id[16] || first u64 || last u64 || at u64 ||
 *               reconciled u32 || time i64.  Rare, never purged (they hold
 *               no personal data).
 */
#define CHAIN_STATE 0xffff
#define CHAIN_KEY_LEN (AS_GWID_LEN + 2)
#define CHAIN_VALUE_LEN (AS_JOURNAL_ID_LEN + AS_CHAIN_LEN + 8 + 8)
#define EVENT_KEY_LEN (AS_GWID_LEN + 4)
#define EVENT_VALUE_LEN (2 + AS_JOURNAL_ID_LEN + 8 + 8 + 8 + 4 + 8)

static void chain_key(uint8_t out[CHAIN_KEY_LEN], const uint8_t gw_id[AS_GWID_LEN], uint16_t slot)
{
	memcpy(out, gw_id, AS_GWID_LEN);
	as_put_be16(out + AS_GWID_LEN, slot);
}

static int chain_value_decode(struct cl_chain_state *st, const MDB_val *val)
{
	const uint8_t *p = val->mv_data;

	if (val->mv_size != CHAIN_VALUE_LEN)
		return MDB_CORRUPTED;
	memcpy(st->journal_id, p, AS_JOURNAL_ID_LEN);
	memcpy(st->head, p + AS_JOURNAL_ID_LEN, AS_CHAIN_LEN);
	st->seq = as_get_be64(p + AS_JOURNAL_ID_LEN + AS_CHAIN_LEN);
	st->time = (int64_t)as_get_be64(p + AS_JOURNAL_ID_LEN + AS_CHAIN_LEN + 8);
	return 0;
}

static int chain_put(MDB_txn *txn, MDB_dbi dbi, const uint8_t gw_id[AS_GWID_LEN], uint16_t slot,
		     const struct cl_chain_state *st)
{
	uint8_t k[CHAIN_KEY_LEN], v[CHAIN_VALUE_LEN];
	MDB_val key = {sizeof k, k}, val = {sizeof v, v};

	chain_key(k, gw_id, slot);
	memcpy(v, st->journal_id, AS_JOURNAL_ID_LEN);
	memcpy(v + AS_JOURNAL_ID_LEN, st->head, AS_CHAIN_LEN);
	as_put_be64(v + AS_JOURNAL_ID_LEN + AS_CHAIN_LEN, st->seq);
	as_put_be64(v + AS_JOURNAL_ID_LEN + AS_CHAIN_LEN + 8, (uint64_t)st->time);
	return mdb_put(txn, dbi, &key, &val, 0);
}

static int chain_state_get(MDB_txn *txn, MDB_dbi dbi, const uint8_t gw_id[AS_GWID_LEN],
			   struct cl_chain_state *st)
{
	uint8_t k[CHAIN_KEY_LEN];
	MDB_val key = {sizeof k, k}, val;
	int rc;

	chain_key(k, gw_id, CHAIN_STATE);
	rc = mdb_get(txn, dbi, &key, &val);
	return rc ? rc : chain_value_decode(st, &val);
}

/* The highest seq of a ring point of gw_id in journal_id whose link is
 * link: 0 (found, *seq), MDB_NOTFOUND or an error. */
static int chain_find_point(MDB_txn *txn, MDB_dbi dbi, const uint8_t gw_id[AS_GWID_LEN],
			    const uint8_t journal_id[AS_JOURNAL_ID_LEN],
			    const uint8_t link[AS_CHAIN_LEN], uint64_t *seq)
{
	uint8_t k[CHAIN_KEY_LEN];
	MDB_val key = {sizeof k, k}, val;
	MDB_cursor *cur;
	int rc, found = 0, op = MDB_SET_RANGE;

	chain_key(k, gw_id, 0);
	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return rc;
	for (int i = 0; i <= CL_CHAIN_POINTS; i++) {
		struct cl_chain_state p;

		rc = mdb_cursor_get(cur, &key, &val, op);
		op = MDB_NEXT;
		if (rc)
			break;
		if (key.mv_size != CHAIN_KEY_LEN || memcmp(key.mv_data, gw_id, AS_GWID_LEN) != 0 ||
		    as_get_be16((const uint8_t *)key.mv_data + AS_GWID_LEN) == CHAIN_STATE)
			break;
		rc = chain_value_decode(&p, &val);
		if (rc)
			break;
		if (memcmp(p.journal_id, journal_id, AS_JOURNAL_ID_LEN) == 0 &&
		    as_chain_equal(p.head, link) && (!found || p.seq > *seq)) {
			*seq = p.seq;
			found = 1;
		}
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	return found ? 0 : MDB_NOTFOUND;
}

/* Append an event of gw_id (numbered after its last one). */
static int chain_event_put(MDB_txn *txn, MDB_dbi dbi, const uint8_t gw_id[AS_GWID_LEN],
			   const struct cl_chain_event *ev)
{
	uint8_t k[EVENT_KEY_LEN], v[EVENT_VALUE_LEN];
	MDB_val key = {sizeof k, k}, val;
	MDB_cursor *cur;
	uint32_t n = 1;
	int rc;

	memcpy(k, gw_id, AS_GWID_LEN);
	as_put_be32(k + AS_GWID_LEN, UINT32_MAX);
	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return rc;
	/* The gateway's last event: the entry before the first key past its
	 * range (or the last entry of all). */
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	if (rc == 0 || rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &key, &val, rc == MDB_NOTFOUND ? MDB_LAST : MDB_PREV);
	if (rc == 0 && key.mv_size == EVENT_KEY_LEN && memcmp(key.mv_data, gw_id, AS_GWID_LEN) == 0)
		n = as_get_be32((const uint8_t *)key.mv_data + AS_GWID_LEN) + 1;
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	if (n == UINT32_MAX)
		return 0; /* four billion events: keep the first ones */
	as_put_be32(k + AS_GWID_LEN, n);
	v[0] = ev->kind;
	v[1] = ev->cause;
	memcpy(v + 2, ev->journal_id, AS_JOURNAL_ID_LEN);
	as_put_be64(v + 18, ev->first_seq);
	as_put_be64(v + 26, ev->last_seq);
	as_put_be64(v + 34, ev->at_seq);
	as_put_be32(v + 42, ev->reconciled);
	as_put_be64(v + 46, (uint64_t)ev->time);
	key = (MDB_val){sizeof k, k};
	val = (MDB_val){sizeof v, v};
	return store_fail("adding to chain_events", mdb_put(txn, dbi, &key, &val, MDB_NOOVERWRITE));
}

static int visit_held(struct cl_ingest *in, const struct stored_gateway *sg,
		      const struct as_record *r, const uint8_t pid[AS_PID_LEN],
		      const uint8_t digest[AS_CHAIN_LEN], uint64_t only_seq, int *held,
		      uint64_t *held_seq);

/* How a batch stands to the chain the store follows. */
struct chain_judgement {
	int judged;                  /* 0: a resend or unchained: nothing to do */
	int reconcile;               /* look for each new record among the stored */
	uint64_t dups_through;       /* records at or below it are duplicates */
	int intact;                  /* the batch's digests match its records */
	struct cl_chain_event first; /* kind 0: none */
	struct cl_chain_event brk;   /* an in-batch break; kind 0: none */
};

/*
 * Where does a batch that left the chain followed come from?  Its
 * chain_prev is the link at the end of an earlier batch (the ring), or its
 * first record (not a placeholder) is one the store holds under seq q, so
 * chain_prev is the link at q - 1 (a copy older than the ring): a fork at
 * *at_seq.  Otherwise MDB_NOTFOUND: a break.
 */
static int chain_fork_point(struct cl_ingest *in, const struct stored_gateway *sg,
			    const struct cl_chain_batch *chain, const struct as_record *recs,
			    const uint8_t (*pids)[AS_PID_LEN], size_t n, uint64_t *at_seq)
{
	uint8_t digest[AS_CHAIN_LEN];
	uint64_t held_seq = 0;
	int rc, held = 0;

	if (as_chain_is_genesis(chain->prev)) {
		*at_seq = 0;
		return 0;
	}
	rc = chain_find_point(in->txn, in->s->chains, sg->g.gw_id, chain->journal_id,
			      chain->prev, at_seq);
	if (rc != MDB_NOTFOUND)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].kind == AS_REC_EXPIRED)
			continue;
		as_chain_record_digest(&recs[i], digest);
		rc = visit_held(in, sg, &recs[i], pids ? pids[i] : recs[i].pid, digest, 0,
				&held, &held_seq);
		if (rc)
			return rc;
		if (!held || held_seq < i + 1)
			return MDB_NOTFOUND;
		*at_seq = held_seq - i - 1;
		return 0;
	}
	return MDB_NOTFOUND;
}

/*
 * Whether a chained batch wholly at or below through_seq is a resend of
 * what the store took: the link at the end of one of the gateway's last
 * batches with the same journal, head and last seq; or its last record
 * (not a placeholder) held under the same seq.  *resend 1 (also when the
 * batch holds only placeholders) or 0 (other records under those seqs);
 * returns 0 or an LMDB error.
 */
static int chain_is_resend(struct cl_ingest *in, const struct stored_gateway *sg,
			   const struct cl_chain_batch *chain, const struct as_record *recs,
			   const uint8_t (*pids)[AS_PID_LEN], size_t n, int *resend)
{
	uint8_t digest[AS_CHAIN_LEN];
	uint64_t seq = 0, held_seq = 0;
	size_t k = n;
	int rc, held = 0;

	*resend = 1;
	rc = chain_find_point(in->txn, in->s->chains, sg->g.gw_id, chain->journal_id,
			      chain->head, &seq);
	if (rc == 0 && seq == recs[n - 1].seq)
		return 0;
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	while (k > 0 && recs[k - 1].kind == AS_REC_EXPIRED)
		k--;
	if (k == 0)
		return 0;
	as_chain_record_digest(&recs[k - 1], digest);
	rc = visit_held(in, sg, &recs[k - 1], pids ? pids[k - 1] : recs[k - 1].pid, digest,
			recs[k - 1].seq, &held, &held_seq);
	if (rc)
		return rc;
	*resend = held;
	return 0;
}

/* Whether the batch's chain passes through link: chain_prev or a link
 * after one of its digests is link.  A journal that renumbered its unsent
 * records after the cloud's through_seq (a journal made anew, whose first
 * records the cloud took under their first seqs) sends them again under
 * other seqs, on the chain the cloud follows. */
static int chain_passes(const struct cl_chain_batch *chain, size_t n,
			const uint8_t link[AS_CHAIN_LEN])
{
	uint8_t at[AS_CHAIN_LEN];

	memcpy(at, chain->prev, AS_CHAIN_LEN);
	for (size_t i = 0; i <= n; i++) {
		if (as_chain_equal(at, link))
			return 1;
		if (i < n)
			as_chain_link(at, chain->digests[i], at);
	}
	return 0;
}

static int chain_judge(struct cl_ingest *in, const struct stored_gateway *sg, uint64_t through,
		       const struct cl_chain_batch *chain, const struct as_record *recs,
		       const uint8_t (*pids)[AS_PID_LEN], size_t n, int64_t now,
		       struct chain_judgement *j)
{
	const uint8_t *gw_id = sg->g.gw_id;
	struct cl_chain_state st;
	uint64_t first = recs[0].seq, last = recs[n - 1].seq, at_seq = 0;
	size_t at = 0;
	enum as_chain_verdict verdict;
	int rc;

	memset(j, 0, sizeof *j);
	j->dups_through = through;
	if (last <= through) {
		/* A resend, or a renumbered journal's first send; or the
		 * first batch of a copy of the journal (a restored backup)
		 * that went on scanning, or of a journal made anew, whose
		 * seqs the cloud holds other records under: those are new. */
		int resend;

		rc = chain_is_resend(in, sg, chain, recs, pids, n, &resend);
		if (rc || resend)
			return rc;
		j->reconcile = 1;
		j->dups_through = 0;
	}
	j->judged = 1;
	memcpy(j->first.journal_id, chain->journal_id, AS_JOURNAL_ID_LEN);
	j->first.first_seq = first;
	j->first.last_seq = last;
	j->first.time = now;
	j->brk = j->first;
	verdict = as_chain_verify(chain->prev, chain->head, recs, chain->digests, n,
				  chain->keep_from, chain->keep_to, &at);
	j->intact = verdict == AS_CHAIN_INTACT;
	if (verdict != AS_CHAIN_INTACT) {
		j->brk.kind = CL_CHAIN_BREAK;
		j->brk.cause = verdict == AS_CHAIN_RECORD_CHANGED     ? CL_BREAK_RECORD_CHANGED
			       : verdict == AS_CHAIN_EARLY_PLACEHOLDER ? CL_BREAK_EARLY_PLACEHOLDER
								       : CL_BREAK_HEAD_MISMATCH;
		j->brk.at_seq = verdict == AS_CHAIN_HEAD_MISMATCH ? 0 : recs[at].seq;
	}
	rc = chain_state_get(in->txn, in->s->chains, gw_id, &st);
	if (rc == MDB_NOTFOUND) {
		j->first.kind = CL_CHAIN_START;
		return 0;
	}
	if (rc)
		return rc;
	if (memcmp(st.journal_id, chain->journal_id, AS_JOURNAL_ID_LEN) != 0) {
		j->first.kind = CL_CHAIN_NEW_JOURNAL;
		j->reconcile = 1;
		j->dups_through = 0;
		return 0;
	}
	if (first <= st.seq + 1 && last > st.seq) {
		uint8_t link[AS_CHAIN_LEN];

		as_chain_fold(chain->prev, chain->digests, (size_t)(st.seq + 1 - first), link);
		if (as_chain_equal(link, st.head)) {
			/* Continues the chain followed.  A chain followed since
			 * a fork below through_seq has not reached it: its
			 * records past st.seq are new to the cloud, whose
			 * through_seq counts the other branch. */
			if (st.seq < through) {
				j->reconcile = 1;
				j->dups_through = st.seq;
			}
			return 0;
		}
	}
	j->reconcile = 1;
	j->dups_through = 0;
	if (chain_passes(chain, n, st.head))
		return 0; /* renumbered: holds what was taken, then goes on */
	rc = chain_fork_point(in, sg, chain, recs, pids, n, &at_seq);
	if (rc == 0) {
		j->first.kind = CL_CHAIN_FORK;
		j->first.at_seq = at_seq;
	} else if (rc == MDB_NOTFOUND) {
		j->first.kind = CL_CHAIN_BREAK;
		j->first.cause = CL_BREAK_UNLINKED;
	} else {
		return rc;
	}
	return 0;
}

/* After the batch: record its events, and follow its chain. */
static int chain_follow(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			const struct stored_gateway *sg, const struct cl_chain_batch *chain,
			uint64_t last, int64_t now, struct chain_judgement *j, uint32_t reconciled,
			struct cl_ingest_result *res)
{
	struct cl_chain_state st;
	int rc = 0;

	memcpy(st.journal_id, chain->journal_id, AS_JOURNAL_ID_LEN);
	memcpy(st.head, chain->head, AS_CHAIN_LEN);
	st.seq = last;
	st.time = now;
	j->first.reconciled = j->brk.reconciled = reconciled;
	if (j->first.kind) {
		rc = chain_event_put(in->txn, in->s->chain_events, gw_id, &j->first);
		res->chain_event = j->first.kind;
		res->chain_cause = j->first.cause;
	}
	if (!rc && j->brk.kind) {
		rc = chain_event_put(in->txn, in->s->chain_events, gw_id, &j->brk);
		res->chain_event = j->brk.kind;
		res->chain_cause = j->brk.cause;
	}
	if (!rc)
		rc = chain_put(in->txn, in->s->chains, gw_id, CHAIN_STATE, &st);
	if (!rc)
		rc = chain_put(in->txn, in->s->chains, gw_id,
			       (uint16_t)(sg->g.batches % CL_CHAIN_POINTS), &st);
	return rc;
}

static int varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return MDB_CORRUPTED;
}

static int person_of(MDB_txn *txn, MDB_dbi persons, const uint8_t pid[AS_PID_LEN],
		     uint32_t *person);

/* Whether sg already stored r (with pid and digest) as a visit, before or
 * queued in this transaction: a visit from this gateway at its venue with
 * the same entry, exit, person, kind and headcount, and the same digest
 * (a visit stored before store version 4 has none: the fields decide).
 * only_seq 0: under any seq; else only a visit stored under only_seq
 * counts (the same pass scanned twice in one second, with no duplicate
 * window, makes records of the same content under two seqs).  A visit the
 * batch being taken stored itself never counts: a journal holds a record
 * once, so another record of the batch with its content is another visit.
 * *held 1 or 0; when 1, *held_seq is the seq it was stored under. */
static int visit_held(struct cl_ingest *in, const struct stored_gateway *sg,
		      const struct as_record *r, const uint8_t pid[AS_PID_LEN],
		      const uint8_t digest[AS_CHAIN_LEN], uint64_t only_seq, int *held,
		      uint64_t *held_seq)
{
	uint8_t k[IDX_KEY_LEN], probe[IDX_LEN] = {0};
	MDB_val key = {sizeof k, k}, val = {sizeof probe, probe};
	MDB_cursor *cur;
	uint32_t person = 0;
	int rc;

	*held = 0;
	for (size_t i = 0; i < in->npend; i++) {
		const struct stored_visit *p = &in->pend[i].sv;

		if (p->v.vid < in->batch_first_vid && p->gw_index == sg->index &&
		    (!only_seq || p->seq == only_seq) &&
		    p->v.entry == r->entry_time &&
		    p->v.exit == r->exit_time && p->v.kind == r->kind &&
		    p->v.headcount == r->headcount && memcmp(p->v.pid, pid, AS_PID_LEN) == 0 &&
		    p->has_digest && memcmp(p->digest, digest, VISIT_DIGEST_LEN) == 0) {
			*held = 1;
			*held_seq = p->seq;
			return 0;
		}
	}
	if (!pid_is_zero(pid)) {
		rc = person_of(in->txn, in->s->persons, pid, &person);
		if (rc == MDB_NOTFOUND)
			return 0; /* nobody with that pid was ever stored */
		if (rc)
			return rc;
	}
	idx_key(k, day_of(r->entry_time), sg->g.venue_id);
	put_time(probe, r->entry_time);
	rc = mdb_cursor_open(in->txn, in->s->by_venue, &cur);
	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &key, &val, MDB_GET_BOTH_RANGE);
	for (int guard = 0; rc == 0 && guard < 1000000; guard++) {
		struct cl_visit v;
		uint8_t vk[VID_LEN];
		MDB_val vkey = {VID_LEN, vk}, vval;
		uint64_t gw_index = 0, seq = 0;

		rc = idx_decode(&v, &val, sg->g.venue_id, 0);
		if (rc || v.entry != r->entry_time)
			break;
		if (v.vid < in->batch_first_vid && v.person == person && v.kind == r->kind &&
		    v.headcount == r->headcount && v.exit == (r->exit_time ? r->exit_time : 0)) {
			const uint8_t *p, *end;

			put_vid(vk, v.vid);
			rc = mdb_get(in->txn, in->s->visits, &vkey, &vval);
			if (rc)
				break;
			p = vval.mv_data;
			end = p + vval.mv_size;
			rc = varint_get(&p, end, &gw_index);
			if (!rc)
				rc = varint_get(&p, end, &seq);
			if (rc)
				break;
			if (gw_index == sg->index && (!only_seq || seq == only_seq) &&
			    (p == end || (end - p == VISIT_DIGEST_LEN &&
					  memcmp(p, digest, VISIT_DIGEST_LEN) == 0))) {
				*held = 1;
				*held_seq = seq;
				break;
			}
		}
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT_DUP);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int record_check(const struct as_record *r)
{
	if (r->seq == 0 || r->kind < AS_REC_PASS || r->kind > AS_REC_EXPIRED ||
	    (r->flags & ~AS_REC_FLAGS_KNOWN) || r->headcount == 0 ||
	    r->headcount > AS_HEADCOUNT_MAX || (r->exit_time != 0 && r->exit_time < r->entry_time))
		return AS_E_FIELD;
	return 0;
}

void cl_store_ingest_refuse(struct cl_ingest *in, const uint8_t *refused, size_t n)
{
	in->refused = refused;
	in->n_refused = n;
}

int cl_store_ingest_batch(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			  const struct as_record *recs, const uint8_t (*pids)[AS_PID_LEN],
			  size_t n, int64_t created, int64_t now, struct cl_ingest_result *res)
{
	return cl_store_ingest_chained_batch(in, gw_id, NULL, recs, pids, n, created, now, res);
}

/* Fill res->chain with what the ack of a batch reports (anshim/ack.h): a
 * batch taken (stored, reconciled, or a resend of records the store holds)
 * names its own chain position, the store now holding that journal's
 * records through its last seq; a batch not taken (a gap) names the chain
 * the store follows, if any.  0 or a store error (the transaction is then
 * failed). */
static int chain_report(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			const struct cl_chain_batch *chain, uint64_t last_seq,
			struct cl_ingest_result *res)
{
	int rc;

	if (!chain || !in->s->has_chain)
		return 0;
	if (!res->gap) {
		memcpy(res->chain.journal_id, chain->journal_id, AS_JOURNAL_ID_LEN);
		memcpy(res->chain.head, chain->head, AS_CHAIN_LEN);
		res->chain.seq = last_seq;
		res->has_chain = 1;
		return 0;
	}
	rc = chain_state_get(in->txn, in->s->chains, gw_id, &res->chain);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc) {
		in->failed = rc;
		memset(res, 0, sizeof *res);
		return store_error(rc);
	}
	res->has_chain = 1;
	return 0;
}

int cl_store_ingest_chained_batch(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
				  const struct cl_chain_batch *chain,
				  const struct as_record *recs, const uint8_t (*pids)[AS_PID_LEN],
				  size_t n, int64_t created, int64_t now,
				  struct cl_ingest_result *res)
{
	struct stored_gateway sg;
	struct chain_judgement judge = {.dups_through = 0};
	const uint8_t *refused = in->refused;
	size_t n_refused = in->n_refused;
	uint64_t through;
	uint32_t longest = 0;
	int rc;

	in->refused = NULL; /* for this batch only */
	in->n_refused = 0;
	memset(res, 0, sizeof *res);
	if (in->failed)
		return store_error(in->failed);
	if (n == 0 || !recs)
		return AS_E_LENGTH;
	/* Check everything before the first write, so a refused batch leaves
	 * the transaction usable. */
	for (size_t i = 0; i < n; i++) {
		if (i && (recs[i - 1].seq == UINT64_MAX || recs[i].seq != recs[i - 1].seq + 1))
			return AS_E_FIELD;
		rc = record_check(&recs[i]);
		if (rc)
			return rc;
	}
	rc = gateway_get(in->txn, in->s->gateways, gw_id, &sg);
	if (rc == MDB_NOTFOUND)
		return AS_E_NOT_FOUND;
	if (rc) {
		in->failed = rc;
		return store_error(rc);
	}
	if (sg.g.revoked)
		return AS_E_REVOKED;
	in->batch_first_vid = in->next_vid;
	through = sg.g.through_seq;
	res->through_seq = through;
	if (through != UINT64_MAX && recs[0].seq > through + 1) {
		res->gap = 1;
		return chain_report(in, gw_id, chain, 0, res);
	}
	judge.dups_through = through;
	if (chain && in->s->has_chain) {
		rc = chain_judge(in, &sg, through, chain, recs, pids, n, now, &judge);
		if (rc) {
			in->failed = rc;
			memset(res, 0, sizeof *res);
			return store_error(rc);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct as_record *r = &recs[i];
		struct stored_visit sv;
		uint8_t digest[AS_CHAIN_LEN];
		uint32_t span;

		/* Below through_seq a record is a duplicate, unless the batch
		 * left the chain followed: then those seqs may hold other
		 * records (a journal made anew, or a restored copy that went on
		 * scanning before it reached the cloud), and content decides. */
		if (r->seq <= judge.dups_through) {
			res->duplicates++;
			continue;
		}
		if (r->seq > through)
			through = r->seq;
		if (r->kind == AS_REC_EXPIRED) {
			res->expired++;
			continue;
		}
		if (refused && i < n_refused && refused[i]) {
			res->refused++;
			continue;
		}
		/* as_chain_verify has just checked the batch's digests
		 * against the records: no need to hash them again. */
		if (judge.intact)
			memcpy(digest, chain->digests[i], AS_CHAIN_LEN);
		else
			as_chain_record_digest(r, digest);
		if (judge.reconcile) {
			int held;
			uint64_t held_seq;

			rc = visit_held(in, &sg, r, pids ? pids[i] : r->pid, digest, 0, &held,
					&held_seq);
			if (rc) {
				in->failed = rc;
				memset(res, 0, sizeof *res);
				return store_error(rc);
			}
			if (held) {
				res->reconciled++;
				continue;
			}
		}
		span = visit_span(r->entry_time, r->exit_time);
		if (span > longest)
			longest = span;
		if (in->next_vid > VID_MAX) {
			in->failed = MDB_MAP_FULL; /* out of visit ids */
			memset(res, 0, sizeof *res);
			return AS_E_FULL;
		}
		sv.v.vid = in->next_vid;
		memcpy(sv.v.pid, pids ? pids[i] : r->pid, AS_PID_LEN);
		sv.v.venue_id = sg.g.venue_id;
		sv.v.entry = r->entry_time;
		sv.v.exit = r->exit_time;
		sv.v.headcount = r->headcount;
		sv.v.kind = r->kind;
		sv.v.flags = r->flags;
		sv.gw_index = sg.index;
		sv.seq = r->seq;
		sv.v.person = 0;
		sv.has_digest = 1;
		memcpy(sv.digest, digest, VISIT_DIGEST_LEN);
		rc = ingest_visit(in, &sv, r->capsule);
		if (rc) {
			in->failed = rc;
			memset(res, 0, sizeof *res);
			return store_error(rc);
		}
		in->next_vid++;
		res->stored++;
	}
	if (res->stored) {
		rc = longest ? venue_raise_longest(in->txn, in->s->venues, sg.g.venue_id, longest) : 0;
		if (rc) {
			in->failed = rc;
			memset(res, 0, sizeof *res);
			return store_error(rc);
		}
	}
	if (judge.judged) {
		rc = chain_follow(in, gw_id, &sg, chain, recs[n - 1].seq, now, &judge,
				  res->reconciled, res);
		if (rc) {
			in->failed = rc;
			memset(res, 0, sizeof *res);
			return store_error(rc);
		}
	}
	if (res->stored || res->expired || res->reconciled || res->refused) {
		sg.g.through_seq = through;
		sg.g.records += res->stored;
		sg.g.batches++;
		sg.g.last_seen = now;
		sg.g.last_created = created;
		rc = gateway_put(in->txn, in->s->gateways, &sg);
		if (rc) {
			in->failed = rc;
			memset(res, 0, sizeof *res);
			return store_error(rc);
		}
		in->batches++;
	}
	res->through_seq = through;
	return chain_report(in, gw_id, chain, recs[n - 1].seq, res);
}

/* A reason is 1..REASON_MAX characters of [a-z0-9-]. */
static int reason_check(const char *reason)
{
	size_t len = reason ? strnlen(reason, REASON_MAX + 1) : 0;

	if (len == 0 || len > REASON_MAX)
		return AS_E_FIELD;
	for (size_t i = 0; i < len; i++) {
		char c = reason[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return AS_E_FIELD;
	}
	return 0;
}

int cl_store_ingest_count_reject(struct cl_ingest *in, const char *reason)
{
	uint8_t buf[8];
	MDB_val key, val;
	uint64_t count = 0;
	int rc = reason_check(reason);

	if (rc)
		return rc;
	if (in->failed)
		return store_error(in->failed);
	key = (MDB_val){strlen(reason), (void *)reason};
	rc = mdb_get(in->txn, in->s->counters, &key, &val);
	if (rc == 0) {
		if (val.mv_size != 8)
			rc = MDB_CORRUPTED;
		else
			count = as_get_be64(val.mv_data);
	} else if (rc == MDB_NOTFOUND) {
		rc = 0;
	}
	if (!rc) {
		as_put_be64(buf, count + 1);
		val = (MDB_val){8, buf};
		rc = mdb_put(in->txn, in->s->counters, &key, &val, 0);
	}
	if (rc)
		in->failed = rc;
	return store_error(rc);
}

/* ---- app check-ins ---------------------------------------------------------- */

static void app_key(uint8_t out[APP_KEY_LEN], char tag, const uint8_t id[CL_APP_ID_LEN])
{
	out[0] = (uint8_t)tag;
	memcpy(out + 1, id, CL_APP_ID_LEN);
}

static int id_is_zero(const uint8_t id[CL_APP_ID_LEN])
{
	uint8_t acc = 0;

	for (size_t i = 0; i < CL_APP_ID_LEN; i++)
		acc |= id[i];
	return acc == 0;
}

static int person_get(MDB_txn *txn, MDB_dbi capsules, uint32_t person,
		      uint8_t pid[AS_PID_LEN], uint8_t *capsule);

static int app_ingest(struct cl_ingest *in, const struct cl_app_visit *a, int *outcome)
{
	uint8_t kbuf[APP_KEY_LEN], vbuf[APP_REPLAY_VALUE_LEN];
	MDB_val key = {APP_KEY_LEN, kbuf}, val;
	struct stored_visit sv;
	int rc;

	app_key(kbuf, 'i', a->checkin_id);
	rc = mdb_get(in->txn, in->s->app, &key, &val);
	if (rc != MDB_NOTFOUND) {
		if (rc == 0)
			*outcome = CL_APP_DUPLICATE;
		return rc;
	}
	if (!id_is_zero(a->replay_key)) {
		app_key(kbuf, 'r', a->replay_key);
		rc = mdb_get(in->txn, in->s->app, &key, &val);
		if (rc != MDB_NOTFOUND) {
			if (rc == 0)
				*outcome = CL_APP_REPLAY;
			return rc;
		}
		memcpy(vbuf, a->checkin_id, CL_APP_ID_LEN);
		put_time(vbuf + CL_APP_ID_LEN, a->entry);
		val = (MDB_val){APP_REPLAY_VALUE_LEN, vbuf};
		rc = mdb_put(in->txn, in->s->app, &key, &val, MDB_NOOVERWRITE);
		if (rc)
			return rc;
	}
	if (in->next_vid > VID_MAX)
		return MDB_MAP_FULL; /* out of visit ids */
	memset(&sv, 0, sizeof sv);
	sv.v.vid = in->next_vid;
	memcpy(sv.v.pid, a->pid, AS_PID_LEN);
	sv.v.venue_id = a->venue_id;
	sv.v.entry = a->entry;
	sv.v.headcount = 1;
	sv.v.kind = AS_REC_APP;
	sv.v.flags = a->flags;
	app_key(kbuf, 'i', a->checkin_id);
	put_vid(vbuf, sv.v.vid);
	as_put_be32(vbuf + VID_LEN, a->venue_id);
	put_time(vbuf + VID_LEN + 4, a->entry);
	val = (MDB_val){APP_ID_VALUE_LEN, vbuf};
	rc = mdb_put(in->txn, in->s->app, &key, &val, MDB_NOOVERWRITE);
	if (!rc)
		rc = ingest_visit(in, &sv, a->capsule);
	if (rc)
		return rc;
	in->next_vid++;
	*outcome = CL_APP_STORED;
	return 0;
}

int cl_store_ingest_app(struct cl_ingest *in, const struct cl_app_visit *a, int *outcome)
{
	int rc;

	*outcome = 0;
	if (in->failed)
		return store_error(in->failed);
	if (pid_is_zero(a->pid) || a->venue_id == 0 || (a->flags & ~AS_REC_FLAGS_KNOWN) ||
	    id_is_zero(a->checkin_id))
		return AS_E_FIELD;
	rc = app_ingest(in, a, outcome);
	if (rc) {
		in->failed = rc;
		*outcome = 0;
	}
	return store_error(rc);
}

/* Replace the index entries of stored visit old with those of new (same
 * vid, venue, person and entry; the visits row does not change). */
static int reindex_visit(struct cl_ingest *in, const struct stored_visit *old,
			 const struct stored_visit *new)
{
	uint8_t kbuf[IDX_KEY_LEN], ent[IDX_LEN];
	MDB_val key = {IDX_KEY_LEN, kbuf}, val = {IDX_LEN, ent};
	int rc;

	idx_key(kbuf, day_of(old->v.entry), old->v.venue_id);
	idx_entry(ent, &old->v, old->v.person);
	rc = mdb_del(in->txn, in->s->by_venue, &key, &val);
	if (!rc) {
		idx_entry(ent, &new->v, new->v.person);
		rc = mdb_put(in->txn, in->s->by_venue, &key, &val, 0);
	}
	if (!rc && old->v.person) {
		/* by_pid: the entry with the same (entry, vid) prefix, in place. */
		uint8_t *copy = NULL;
		size_t i, n;

		idx_key(kbuf, day_of(old->v.entry), old->v.person);
		idx_entry(ent, &old->v, old->v.venue_id);
		rc = mdb_get(in->txn, in->s->by_pid, &key, &val);
		if (!rc && (val.mv_size == 0 || val.mv_size % IDX_LEN || val.mv_size > PID_VALUE_MAX))
			rc = MDB_CORRUPTED;
		if (!rc && !(copy = malloc(val.mv_size)))
			rc = ENOMEM;
		n = rc ? 0 : val.mv_size / IDX_LEN;
		for (i = 0; i < n && memcmp((const uint8_t *)val.mv_data + i * IDX_LEN, ent, 14); i++)
			;
		if (!rc && i == n)
			rc = MDB_NOTFOUND;
		if (!rc) {
			memcpy(copy, val.mv_data, val.mv_size);
			idx_entry(copy + i * IDX_LEN, &new->v, new->v.venue_id);
			val = (MDB_val){n * IDX_LEN, copy};
			rc = mdb_put(in->txn, in->s->by_pid, &key, &val, 0);
		}
		free(copy);
	}
	return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc; /* the indexes disagree */
}

/* The stored visit vid of venue at entry, from its by_venue entry. */
static int app_visit_get(struct cl_ingest *in, uint64_t vid, uint32_t venue, int64_t entry,
			 struct stored_visit *sv)
{
	uint8_t kbuf[IDX_KEY_LEN], start[IDX_LEN];
	MDB_val key = {IDX_KEY_LEN, kbuf}, val = {IDX_LEN, start};
	int rc;

	memset(sv, 0, sizeof *sv);
	idx_key(kbuf, day_of(entry), venue);
	memset(start, 0, sizeof start);
	put_time(start, entry);
	put_vid(start + 8, vid);
	rc = mdb_cursor_get(in->by_venue, &key, &val, MDB_GET_BOTH_RANGE);
	if (!rc)
		rc = idx_decode(&sv->v, &val, venue, 0);
	if (rc == MDB_NOTFOUND || (!rc && (sv->v.vid != vid || sv->v.entry != entry)))
		rc = MDB_CORRUPTED; /* app and by_venue disagree */
	return rc;
}

static int app_exit(struct cl_ingest *in, const uint8_t checkin_id[CL_APP_ID_LEN],
		    const uint8_t pid[AS_PID_LEN], int64_t exit, int *outcome)
{
	uint8_t kbuf[APP_KEY_LEN], stored_pid[AS_PID_LEN];
	MDB_val key = {APP_KEY_LEN, kbuf}, val;
	struct stored_visit sv, nv;
	uint64_t vid;
	int rc;

	app_key(kbuf, 'i', checkin_id);
	rc = mdb_get(in->txn, in->s->app, &key, &val);
	if (rc == MDB_NOTFOUND) {
		*outcome = CL_APP_UNKNOWN;
		return 0;
	}
	if (rc)
		return rc;
	if (val.mv_size != APP_ID_VALUE_LEN)
		return MDB_CORRUPTED;
	vid = get_vid(val.mv_data);
	if (in->npend && vid >= in->pend[0].sv.v.vid) {
		/* Still queued: every queued visit has the next vid. */
		struct pending *p;

		if (vid - in->pend[0].sv.v.vid >= in->npend)
			return MDB_CORRUPTED;
		p = &in->pend[vid - in->pend[0].sv.v.vid];
		if (memcmp(p->sv.v.pid, pid, AS_PID_LEN) != 0 || p->sv.v.kind != AS_REC_APP) {
			*outcome = CL_APP_UNKNOWN;
			return 0;
		}
		if (exit < p->sv.v.entry)
			return AS_E_FIELD;
		*outcome = p->sv.v.exit == exit ? CL_APP_DUPLICATE : CL_APP_STORED;
		p->sv.v.exit = exit;
		return venue_raise_longest(in->txn, in->s->venues, p->sv.v.venue_id,
					   visit_span(p->sv.v.entry, exit));
	}
	rc = app_visit_get(in, vid, as_get_be32((const uint8_t *)val.mv_data + VID_LEN),
			   get_time((const uint8_t *)val.mv_data + VID_LEN + 4), &sv);
	if (!rc && sv.v.person)
		rc = person_get(in->txn, in->s->capsules, sv.v.person, stored_pid, NULL);
	if (rc)
		return rc;
	if (!sv.v.person || sv.v.kind != AS_REC_APP ||
	    memcmp(stored_pid, pid, AS_PID_LEN) != 0) {
		*outcome = CL_APP_UNKNOWN;
		return 0;
	}
	if (exit < sv.v.entry)
		return AS_E_FIELD;
	if (sv.v.exit == exit) {
		*outcome = CL_APP_DUPLICATE;
		return 0;
	}
	nv = sv;
	nv.v.exit = exit;
	rc = reindex_visit(in, &sv, &nv);
	if (!rc)
		rc = venue_raise_longest(in->txn, in->s->venues, sv.v.venue_id,
					 visit_span(sv.v.entry, exit));
	if (!rc)
		*outcome = CL_APP_STORED;
	return rc;
}

int cl_store_ingest_app_exit(struct cl_ingest *in, const uint8_t checkin_id[CL_APP_ID_LEN],
			     const uint8_t pid[AS_PID_LEN], int64_t exit, int *outcome)
{
	int rc;

	*outcome = 0;
	if (in->failed)
		return store_error(in->failed);
	if (exit == 0)
		return AS_E_FIELD;
	rc = app_exit(in, checkin_id, pid, exit, outcome);
	if (rc == AS_E_FIELD)
		return rc; /* the transaction stays usable */
	if (rc) {
		in->failed = rc;
		*outcome = 0;
	}
	return store_error(rc);
}

int cl_store_ingest_commit(struct cl_ingest *in)
{
	struct cl_store *s = in->s;
	int rc = in->failed;

	if (!rc)
		rc = store_fail("writing the queued visits", apply_pending(in));
	if (!rc && in->next_vid != in->next_vid_stored)
		rc = meta_put(in->txn, s->meta, "next_vid", in->next_vid);
	if (!rc && in->next_person != in->next_person_stored)
		rc = meta_put(in->txn, s->meta, "next_person", in->next_person);
	if (!rc && in->batches != in->batches_stored)
		rc = meta_put(in->txn, s->meta, "batches", in->batches);
	store_fail("writing to meta", rc);
	ingest_close_cursors(in);
	rc = write_end(s, in->txn, rc);
	ingest_free(in);
	return rc;
}

void cl_store_ingest_abort(struct cl_ingest *in)
{
	if (!in)
		return;
	ingest_close_cursors(in);
	mdb_txn_abort(in->txn);
	if (thread_writing == in->s)
		thread_writing = NULL;
	ingest_free(in);
}

/* ---- coverage ------------------------------------------------------------------ */

static void coverage_key(uint8_t out[COVERAGE_KEY_LEN], const uint8_t gw_id[AS_GWID_LEN],
			 int64_t start)
{
	memcpy(out, gw_id, AS_GWID_LEN);
	put_time(out + AS_GWID_LEN, start);
}

/* The period at the cursor if it belongs to gw_id: 1, 0 (another
 * gateway's), or an LMDB error. */
static int coverage_at(const MDB_val *key, const MDB_val *val, const uint8_t gw_id[AS_GWID_LEN],
		       struct cl_period *p)
{
	if (key->mv_size != COVERAGE_KEY_LEN)
		return MDB_CORRUPTED;
	if (memcmp(key->mv_data, gw_id, AS_GWID_LEN) != 0)
		return 0;
	if (cl_period_decode(p, get_time((const uint8_t *)key->mv_data + AS_GWID_LEN),
			     val->mv_data, val->mv_size))
		return MDB_CORRUPTED;
	return 1;
}

/* Is boot_id that of a boot of gw_id which a newer boot has followed: the
 * first boot of any stored period, or the last boot of any but `latest`
 * (the period a heartbeat filed now would join)?  1, 0 or an LMDB error. */
static int coverage_boot_over(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			      const uint8_t boot_id[AS_BOOT_ID_LEN], const struct cl_period *latest)
{
	uint8_t kbuf[COVERAGE_KEY_LEN];
	struct cl_period p;
	MDB_cursor *c;
	MDB_val key, val;
	int rc, over = 0;

	rc = mdb_cursor_open(in->txn, in->s->coverage, &c);
	if (rc)
		return rc;
	coverage_key(kbuf, gw_id, INT64_MIN);
	key = (MDB_val){COVERAGE_KEY_LEN, kbuf};
	for (rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE); rc == 0 && !over;
	     rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		int mine = coverage_at(&key, &val, gw_id, &p);

		if (mine != 1) {
			rc = mine == 0 ? MDB_NOTFOUND : mine;
			break;
		}
		if (memcmp(p.last_boot, boot_id, AS_BOOT_ID_LEN) == 0)
			over = !latest || p.start != latest->start;
		else if (memcmp(p.first_boot, boot_id, AS_BOOT_ID_LEN) == 0)
			over = 1;
	}
	mdb_cursor_close(c);
	if (over)
		return 1;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int coverage_merge(struct cl_ingest *in, const struct as_heartbeat *hb, int64_t t,
			  int64_t now, int *replay)
{
	struct cl_store *s = in->s;
	uint8_t kbuf[COVERAGE_KEY_LEN], vbuf[CL_PERIOD_VALUE_LEN];
	struct cl_period cur, prev, next;
	int have_prev = 0, have_next = 0, rc;
	MDB_cursor *c;
	MDB_val key, val;

	cl_period_from_heartbeat(&cur, hb, t, now);
	rc = mdb_cursor_open(in->txn, s->coverage, &c);
	if (rc)
		return rc;
	coverage_key(kbuf, hb->gw_id, t);
	key = (MDB_val){COVERAGE_KEY_LEN, kbuf};
	rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	if (rc == 0) {
		have_next = coverage_at(&key, &val, hb->gw_id, &next);
		rc = have_next < 0 || have_next > 1 ? have_next : 0;
		if (!rc)
			rc = mdb_cursor_get(c, &key, &val, MDB_PREV);
	} else if (rc == MDB_NOTFOUND) {
		rc = mdb_cursor_get(c, &key, &val, MDB_LAST);
	}
	if (rc == 0) {
		have_prev = coverage_at(&key, &val, hb->gw_id, &prev);
		rc = have_prev < 0 || have_prev > 1 ? have_prev : 0;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	mdb_cursor_close(c);
	if (rc)
		return rc;
	/* Only a heartbeat filed when it arrived (its own clock untrusted)
	 * could make a dead gateway look alive if it were a copy; one filed
	 * at its own trusted time (which may be now) merely fills in. */
	if (t == now && !((hb->clock_state == AS_CLOCK_SYNCED ||
			   hb->clock_state == AS_CLOCK_CORRECTED) && hb->sent_at == t)) {
		const struct cl_period *latest = have_prev == 1 ? &prev : NULL;
		int over = 0;

		/* Of the same boot as the latest heartbeat: newer than it.  Of
		 * another boot: not one that a newer boot has followed. */
		if (!latest || memcmp(latest->last_boot, hb->boot_id, AS_BOOT_ID_LEN) != 0)
			over = coverage_boot_over(in, hb->gw_id, hb->boot_id, latest);
		if (over < 0 || over > 1)
			return over;
		if (over || cl_heartbeat_is_replay(latest, hb, now)) {
			*replay = 1;
			return 0;
		}
	}
	if (have_prev == 1 && cl_period_joins(&prev, &cur))
		cl_period_combine(&cur, &prev, &cur);
	if (have_next == 1 && cl_period_joins(&cur, &next)) {
		cl_period_combine(&cur, &cur, &next);
		if (next.start != cur.start) {
			coverage_key(kbuf, hb->gw_id, next.start);
			key = (MDB_val){COVERAGE_KEY_LEN, kbuf};
			rc = mdb_del(in->txn, s->coverage, &key, NULL);
			if (rc)
				return rc;
		}
	}
	coverage_key(kbuf, hb->gw_id, cur.start);
	cl_period_encode(vbuf, &cur);
	key = (MDB_val){COVERAGE_KEY_LEN, kbuf};
	val = (MDB_val){CL_PERIOD_VALUE_LEN, vbuf};
	return mdb_put(in->txn, s->coverage, &key, &val, 0);
}

int cl_store_ingest_heartbeat(struct cl_ingest *in, const struct as_heartbeat *hb, int64_t t,
			      int64_t now, int *replay)
{
	int rc, replayed = 0;

	if (replay)
		*replay = 0;
	if (in->failed)
		return store_error(in->failed);
	rc = coverage_merge(in, hb, t, now, &replayed);
	if (replay)
		*replay = replayed;
	if (rc)
		in->failed = rc;
	return store_error(rc);
}

int cl_store_each_period(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
			 int (*fn)(void *ctx, const struct cl_period *p), void *ctx)
{
	uint8_t kbuf[COVERAGE_KEY_LEN];
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val key, val;
	struct cl_period p;
	int rc, stop = 0;

	if (s->no_coverage)
		return 0;
	rc = read_begin(s, &txn);
	if (rc)
		return rc;
	rc = mdb_cursor_open(txn, s->coverage, &c);
	if (rc) {
		mdb_txn_abort(txn);
		return store_error(rc);
	}
	coverage_key(kbuf, gw_id, INT64_MIN);
	key = (MDB_val){COVERAGE_KEY_LEN, kbuf};
	for (rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		int mine = coverage_at(&key, &val, gw_id, &p);

		if (mine != 1) {
			rc = mine == 0 ? MDB_NOTFOUND : mine;
			break;
		}
		stop = fn(ctx, &p);
		if (stop)
			break;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (stop)
		return stop < 0 ? stop : 0;
	return rc == MDB_NOTFOUND ? 0 : store_error(rc);
}

/* ---- statistics -------------------------------------------------------------- */

struct reject_sum {
	uint64_t total;
};

static int sum_reject(void *arg, const MDB_val *key, const MDB_val *val)
{
	struct reject_sum *sum = arg;

	if (val->mv_size != 8)
		return MDB_CORRUPTED;
	sum->total += as_get_be64(val->mv_data);
	return 0;
}

int cl_store_data_version(struct cl_store *s, uint64_t *open_serial, uint64_t *last_txn)
{
	MDB_envinfo info;
	int rc = mdb_env_info(s->env, &info);

	if (rc)
		return store_error(rc);
	*open_serial = s->open_serial;
	*last_txn = (uint64_t)info.me_last_txnid;
	return 0;
}

int cl_store_stats(struct cl_store *s, struct cl_store_stats *st)
{
	struct reject_sum sum = {0};
	MDB_txn *txn;
	MDB_stat ms;
	MDB_envinfo info;
	int rc;

	memset(st, 0, sizeof *st);
	rc = read_begin(s, &txn);
	if (rc)
		return rc;
	rc = mdb_stat(txn, s->visits, &ms);
	if (!rc) {
		st->visits = ms.ms_entries;
		rc = mdb_stat(txn, s->persons, &ms);
	}
	if (!rc) {
		st->people = ms.ms_entries;
		rc = meta_get(txn, s->meta, "batches", &st->batches);
	}
	mdb_txn_abort(txn);
	if (!rc)
		rc = mdb_env_info(s->env, &info);
	if (!rc)
		rc = mdb_env_stat(s->env, &ms);
	if (rc)
		return store_error(rc);
	st->map_size = info.me_mapsize;
	st->map_used = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	rc = walk(s, s->counters, sum_reject, &sum);
	st->rejects_total = sum.total;
	return rc;
}

struct each_reject_arg {
	int (*fn)(void *ctx, const char *reason, uint64_t count);
	void *ctx;
};

static int each_reject_entry(void *arg, const MDB_val *key, const MDB_val *val)
{
	struct each_reject_arg *a = arg;
	char reason[REASON_MAX + 1];

	if (key->mv_size == 0 || key->mv_size > REASON_MAX || val->mv_size != 8)
		return MDB_CORRUPTED;
	memcpy(reason, key->mv_data, key->mv_size);
	reason[key->mv_size] = '\0';
	return a->fn(a->ctx, reason, as_get_be64(val->mv_data));
}

int cl_store_each_reject(struct cl_store *s,
			 int (*fn)(void *ctx, const char *reason, uint64_t count), void *ctx)
{
	struct each_reject_arg a = {fn, ctx};

	return walk(s, s->counters, each_reject_entry, &a);
}

/* ---- queries ------------------------------------------------------------------- */

/* The pid and (if capsule is not NULL) the capsule of person. */
static int person_get(MDB_txn *txn, MDB_dbi capsules, uint32_t person,
		      uint8_t pid[AS_PID_LEN], uint8_t *capsule)
{
	uint8_t kbuf[4];
	MDB_val key = {4, kbuf}, val;
	int rc;

	as_put_be32(kbuf, person);
	rc = mdb_get(txn, capsules, &key, &val);
	if (rc == MDB_NOTFOUND)
		return MDB_CORRUPTED; /* a person number without its person */
	if (!rc && val.mv_size != CAPSULE_VALUE_LEN)
		rc = MDB_CORRUPTED;
	if (rc)
		return rc;
	memcpy(pid, val.mv_data, AS_PID_LEN);
	if (capsule)
		memcpy(capsule, (const uint8_t *)val.mv_data + AS_PID_LEN, AS_CAPSULE_LEN);
	return 0;
}

/* The person number of pid: 0, MDB_NOTFOUND or an error. */
static int person_of(MDB_txn *txn, MDB_dbi persons, const uint8_t pid[AS_PID_LEN],
		     uint32_t *person)
{
	MDB_val key = {AS_PID_LEN, (void *)pid}, val;
	int rc = mdb_get(txn, persons, &key, &val);

	if (rc)
		return rc;
	if (val.mv_size != PERSON_VALUE_LEN || as_get_be32(val.mv_data) == 0)
		return MDB_CORRUPTED;
	*person = as_get_be32(val.mv_data);
	return 0;
}

/*
 * Visits at venue with entry in [from, to], in (entry, vid) order: one
 * by_venue key per day the range spans.  Each entry is checked against the
 * key it was found under.  pid is left zero.  The entries are fixed-size
 * duplicates, read a page at a time (MDB_GET_MULTIPLE, MDB_NEXT_MULTIPLE):
 * the first page starts before the first entry >= from, so earlier ones
 * are skipped.
 */
static int venue_scan(const struct cl_reader *r, uint32_t venue, int64_t from, int64_t to,
		      int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	MDB_cursor *cur = r->by_venue;
	int rc = 0, stop = 0;

	for (uint64_t day = day_of(from); day <= day_of(to) && !stop && !rc; day++) {
		uint8_t kbuf[IDX_KEY_LEN], start[IDX_LEN];
		MDB_val key = {IDX_KEY_LEN, kbuf}, val = {IDX_LEN, start};
		int past = 0;

		idx_key(kbuf, (uint32_t)day, venue);
		memset(start, 0, sizeof start);
		put_time(start, from);
		rc = mdb_cursor_get(cur, &key, &val, MDB_GET_BOTH_RANGE);
		if (!rc)
			rc = mdb_cursor_get(cur, &key, &val, MDB_GET_MULTIPLE);
		while (rc == 0 && !past && !stop) {
			const uint8_t *p = val.mv_data;

			if (val.mv_size == 0 || val.mv_size % IDX_LEN) {
				rc = MDB_CORRUPTED;
				break;
			}
			for (size_t i = 0; i < val.mv_size / IDX_LEN; i++) {
				MDB_val one = {IDX_LEN, (void *)(p + i * IDX_LEN)};
				struct cl_visit v;

				if (get_time(p + i * IDX_LEN) < from)
					continue;
				if (r->skip_n) {
					uint32_t person = as_get_be32(p + i * IDX_LEN + 14);

					if (person < r->skip_n && r->skip_level[person] &&
					    r->skip_level[person] <= r->skip_max &&
					    get_time(p + i * IDX_LEN) <= to)
						continue;
				}
				rc = idx_decode(&v, &one, venue, 0);
				if (!rc && day_of(v.entry) != day)
					rc = MDB_CORRUPTED;
				if (rc || v.entry > to) {
					past = 1;
					break;
				}
				stop = fn(ctx, &v);
				if (stop)
					break;
			}
			if (!past && !stop)
				rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT_MULTIPLE);
		}
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (stop)
		return stop < 0 ? stop : 0;
	return rc;
}

/*
 * The by_pid value val of (day, person): each entry with entry time in
 * [from, to] to fn, in (entry, vid) order; each is checked against the key
 * it was found under.  0, MDB_CORRUPTED, or fn's nonzero answer in *stop.
 */
static int pid_value_scan(const MDB_val *val, uint32_t day, uint32_t person, int64_t from,
			  int64_t to, int (*fn)(void *ctx, const struct cl_visit *v), void *ctx,
			  int *stop)
{
	const uint8_t *p = val->mv_data;
	size_t n;

	if (val->mv_size == 0 || val->mv_size % IDX_LEN)
		return MDB_CORRUPTED;
	n = val->mv_size / IDX_LEN;
	for (size_t i = 0; i < n && !*stop; i++) {
		MDB_val one = {IDX_LEN, (void *)(p + i * IDX_LEN)};
		struct cl_visit v;
		int rc = idx_decode(&v, &one, person, 1);

		if (!rc && day_of(v.entry) != day)
			rc = MDB_CORRUPTED;
		if (rc)
			return rc;
		if (v.entry < from)
			continue;
		if (v.entry > to)
			break;
		*stop = fn(ctx, &v);
	}
	return 0;
}

/* Visits of person with entry in [from, to], in (entry, vid) order: one
 * by_pid value per day the range spans. */
static int pid_scan(MDB_cursor *cur, uint32_t person, int64_t from, int64_t to,
		    int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	int rc = 0, stop = 0;

	for (uint64_t day = day_of(from); day <= day_of(to) && !stop && !rc; day++) {
		uint8_t kbuf[IDX_KEY_LEN];
		MDB_val key = {IDX_KEY_LEN, kbuf}, val;

		idx_key(kbuf, (uint32_t)day, person);
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			continue;
		}
		if (!rc)
			rc = pid_value_scan(&val, (uint32_t)day, person, from, to, fn, ctx, &stop);
	}
	if (stop)
		return stop < 0 ? stop : 0;
	return rc;
}

/*
 * Many people's visits, day by day: within a day the spans' keys are
 * visited in person order, as a merge of the sorted spans with the day's
 * keys (cursor_seek_near).  Spans over more than MANY_MAX_DAYS days
 * (hostile times) are read one person at a time instead.
 */
#define MANY_MAX_DAYS 1100

struct many_one {
	int (*fn)(void *ctx, size_t span, const struct cl_visit *v);
	void *ctx;
	size_t span;
};

static int many_one_visit(void *ctx, const struct cl_visit *v)
{
	const struct many_one *m = ctx;

	return m->fn(m->ctx, m->span, v);
}

static int many_scan(MDB_cursor *cur, const struct cl_reader_span *spans, size_t n,
		     int (*fn)(void *ctx, size_t span, const struct cl_visit *v), void *ctx)
{
	uint32_t dmin = UINT32_MAX, dmax = 0, (*days)[2];
	int rc = 0, stop = 0;

	/* Each span's first and last day, once (days[i][0] > days[i][1]: a
	 * span to pass over). */
	days = malloc((n ? n : 1) * sizeof *days);
	if (!days)
		return ENOMEM;
	for (size_t i = 0; i < n; i++) {
		days[i][0] = 1;
		days[i][1] = 0;
		if (i && spans[i].person < spans[i - 1].person) {
			free(days);
			return AS_E_FIELD;
		}
		if (spans[i].from > spans[i].to || spans[i].person == 0)
			continue;
		days[i][0] = day_of(spans[i].from);
		days[i][1] = day_of(spans[i].to);
		if (days[i][0] < dmin)
			dmin = days[i][0];
		if (days[i][1] > dmax)
			dmax = days[i][1];
	}
	if (dmin > dmax) {
		free(days);
		return 0;
	}
	if (dmax - dmin > MANY_MAX_DAYS) {
		free(days);
		for (size_t i = 0; i < n && !rc; i++) {
			struct many_one m = {fn, ctx, i};

			if (spans[i].from <= spans[i].to && spans[i].person != 0)
				rc = pid_scan(cur, spans[i].person, spans[i].from, spans[i].to,
					      many_one_visit, &m);
		}
		return rc;
	}
	for (uint64_t day = dmin; day <= dmax && !rc && !stop; day++) {
		const uint64_t first = day << 32, last = first | UINT32_MAX;
		uint64_t at = 0; /* the cursor's key as a number; 0: not placed */

		for (size_t i = 0; i < n && !rc && !stop; i++) {
			const struct cl_reader_span *sp = &spans[i];
			const uint64_t want = first | sp->person;
			uint8_t kbuf[IDX_KEY_LEN];
			MDB_val key = {IDX_KEY_LEN, kbuf}, val;

			if (days[i][0] > day || days[i][1] < day)
				continue;
			if (at > last)
				break; /* past the day's keys */
			if (at > want)
				continue; /* no key of this person that day */
			idx_key(kbuf, (uint32_t)day, sp->person);
			rc = cursor_seek_near(cur, kbuf, IDX_KEY_LEN, want, &at, &key, &val);
			if (rc == MDB_NOTFOUND)
				rc = 0;
			else if (!rc && at == want) {
				struct many_one m = {fn, ctx, i};

				rc = pid_value_scan(&val, (uint32_t)day, sp->person, sp->from, sp->to,
						    many_one_visit, &m, &stop);
			}
		}
	}
	free(days);
	if (stop)
		return stop < 0 ? stop : 0;
	return rc;
}

int cl_reader_begin(struct cl_store *s, struct cl_reader **out)
{
	struct cl_reader *r = calloc(1, sizeof *r);
	int rc;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->s = s;
	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r->txn);
	if (!rc)
		rc = mdb_cursor_open(r->txn, s->by_venue, &r->by_venue);
	if (!rc)
		rc = mdb_cursor_open(r->txn, s->by_pid, &r->by_pid);
	if (!rc)
		rc = mdb_cursor_open(r->txn, s->capsules, &r->capsules);
	if (rc) {
		cl_reader_end(r);
		return store_error(rc);
	}
	*out = r;
	return 0;
}

int cl_reader_begin_twin(struct cl_reader *r, struct cl_reader **out)
{
	int rc = cl_reader_begin(r->s, out);

	if (!rc && mdb_txn_id((*out)->txn) != mdb_txn_id(r->txn)) {
		/* A commit came between the two: another snapshot. */
		cl_reader_end(*out);
		*out = NULL;
		rc = -EAGAIN;
	}
	return rc;
}

void cl_reader_end(struct cl_reader *r)
{
	if (!r)
		return;
	if (r->by_venue)
		mdb_cursor_close(r->by_venue);
	if (r->by_pid)
		mdb_cursor_close(r->by_pid);
	if (r->capsules)
		mdb_cursor_close(r->capsules);
	if (r->txn)
		mdb_txn_abort(r->txn);
	free(r);
}

int cl_reader_visits_at(struct cl_reader *r, uint32_t venue_id, int64_t from, int64_t to,
			int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	if (from > to)
		return 0;
	return store_error(venue_scan(r, venue_id, from, to, fn, ctx));
}

void cl_reader_skip_people(struct cl_reader *r, const uint8_t *level, size_t n, uint8_t max)
{
	r->skip_level = level;
	r->skip_n = level ? n : 0;
	r->skip_max = max;
}

int cl_reader_visits_of(struct cl_reader *r, uint32_t person, int64_t from, int64_t to,
			int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	if (from > to || person == 0)
		return 0;
	return store_error(pid_scan(r->by_pid, person, from, to, fn, ctx));
}

int cl_reader_visits_of_many(struct cl_reader *r, const struct cl_reader_span *spans, size_t n,
			     int (*fn)(void *ctx, size_t span, const struct cl_visit *v),
			     void *ctx)
{
	return store_error(many_scan(r->by_pid, spans, n, fn, ctx));
}

int cl_reader_person(struct cl_reader *r, const uint8_t pid[AS_PID_LEN], uint32_t *person)
{
	return store_error(person_of(r->txn, r->s->persons, pid, person));
}

int cl_reader_pid(struct cl_reader *r, uint32_t person, uint8_t pid[AS_PID_LEN])
{
	uint8_t kbuf[4];
	MDB_val key, val;
	int rc;

	/* Callers that ask in person-number order step the cursor. */
	as_put_be32(kbuf, person);
	rc = cursor_seek_near(r->capsules, kbuf, 4, person, &r->capsules_at, &key, &val);
	if (!rc && r->capsules_at != person)
		rc = MDB_NOTFOUND;
	if (!rc && val.mv_size != CAPSULE_VALUE_LEN)
		rc = MDB_CORRUPTED;
	if (!rc)
		memcpy(pid, val.mv_data, AS_PID_LEN);
	return store_error(rc);
}

int cl_reader_venue(struct cl_reader *r, uint32_t venue_id, struct cl_venue *out)
{
	uint8_t kbuf[4];
	MDB_val key = {4, kbuf}, val;
	int rc;

	as_put_be32(kbuf, venue_id);
	rc = mdb_get(r->txn, r->s->venues, &key, &val);
	if (!rc)
		rc = venue_decode(out, venue_id, &val);
	return store_error(rc);
}

int cl_reader_person_limit(struct cl_reader *r, uint32_t *limit)
{
	uint64_t next = 0;
	MDB_val key, val;
	int rc = meta_get(r->txn, r->s->meta, "next_person", &next);

	/* meta may lag the capsules written in the same commit: the last
	 * capsule's number counts too. */
	if (!rc) {
		rc = mdb_cursor_get(r->capsules, &key, &val, MDB_LAST);
		r->capsules_at = 0; /* cl_reader_pid: seek next time */
		if (rc == 0 && key.mv_size == 4 && (uint64_t)as_get_be32(key.mv_data) + 1 > next)
			next = (uint64_t)as_get_be32(key.mv_data) + 1;
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	*limit = next > UINT32_MAX ? UINT32_MAX : (uint32_t)(next ? next : 1);
	return store_error(rc);
}

/* The store-level queries: each its own reader, pids filled in. */
struct fill_pid_arg {
	struct cl_reader *r;
	const uint8_t *pid;       /* known for every visit, or NULL */
	int (*fn)(void *ctx, const struct cl_visit *v);
	void *ctx;
};

static int fill_pid(void *arg, const struct cl_visit *v)
{
	struct fill_pid_arg *a = arg;
	struct cl_visit copy = *v;

	if (a->pid) {
		memcpy(copy.pid, a->pid, AS_PID_LEN);
	} else if (copy.person) {
		int rc = cl_reader_pid(a->r, copy.person, copy.pid);

		if (rc)
			return rc == AS_E_NOT_FOUND ? AS_E_CORRUPT : rc;
	}
	return a->fn(a->ctx, &copy);
}

int cl_store_visits_at(struct cl_store *s, uint32_t venue_id, int64_t from, int64_t to,
		       int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	struct fill_pid_arg a = {NULL, NULL, fn, ctx};
	int rc;

	if (from > to)
		return 0;
	rc = cl_reader_begin(s, &a.r);
	if (rc)
		return rc;
	rc = cl_reader_visits_at(a.r, venue_id, from, to, fill_pid, &a);
	cl_reader_end(a.r);
	return rc;
}

int cl_store_visits_of(struct cl_store *s, const uint8_t pid[AS_PID_LEN], int64_t from,
		       int64_t to, int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	struct fill_pid_arg a = {NULL, pid, fn, ctx};
	uint32_t person;
	int rc;

	if (from > to || pid_is_zero(pid))
		return 0;
	rc = cl_reader_begin(s, &a.r);
	if (rc)
		return rc;
	rc = cl_reader_person(a.r, pid, &person);
	if (rc == 0)
		rc = cl_reader_visits_of(a.r, person, from, to, fill_pid, &a);
	else if (rc == AS_E_NOT_FOUND)
		rc = 0;
	cl_reader_end(a.r);
	return rc;
}

int cl_store_capsule(struct cl_store *s, const uint8_t pid[AS_PID_LEN],
		     uint8_t capsule[AS_CAPSULE_LEN])
{
	uint8_t stored_pid[AS_PID_LEN];
	uint32_t person;
	MDB_txn *txn;
	int rc = read_begin(s, &txn);

	if (rc)
		return rc;
	rc = person_of(txn, s->persons, pid, &person);
	if (!rc)
		rc = person_get(txn, s->capsules, person, stored_pid, capsule);
	if (!rc && memcmp(stored_pid, pid, AS_PID_LEN) != 0)
		rc = MDB_CORRUPTED;
	if (!rc) {
		/* A paper entry's capsule, if it came last. */
		uint8_t kbuf[4];
		MDB_val key = {4, kbuf}, val;

		as_put_be32(kbuf, person);
		rc = mdb_get(txn, s->paper, &key, &val);
		if (rc == 0 && val.mv_size != PAPER_VALUE_LEN)
			rc = MDB_CORRUPTED;
		if (rc == 0)
			memcpy(capsule, (const uint8_t *)val.mv_data + FP_LEN, AS_CAPSULE_LEN);
		else if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	mdb_txn_abort(txn);
	return store_error(rc);
}

/* ---- retention ----------------------------------------------------------------- */

/*
 * The purge keeps the visits with entry in [horizon, limit] (limit: now
 * plus the clock skew ingest allows, so a visit stored with a time further
 * ahead, by a store written before ingest refused such times or by a cloud
 * whose clock was wrong, is not traced forever).  Days are index keys, so
 * the days wholly outside the window go whole, as keys: the horizon's day
 * and the limit's day are cut entry by entry, and the days between them
 * are skipped with one seek.  It works in phases, each in slices of at
 * most max deletions per write transaction, resuming from the key where
 * the last slice stopped:
 *   1. by_venue: keys of days before the horizon's day or after the
 *      limit's day go whole, with each entry's visit; on the horizon's and
 *      the limit's day, entries before the horizon or after the limit go
 *      one by one (the visit with each);
 *   2. by_pid: the same, without visits (values cut on those two days);
 *   3. people, by person number: those with no by_pid key left lose their
 *      persons, capsules and paper entries (slices of max / 8 people: each
 *      costs a key step per stored day);
 *   4. app: entries of check-ins (and replay keys) before the horizon or
 *      after the limit;
 *   5. coverage: gateway coverage periods that ended before the horizon or
 *      start after the limit.
 * Between slices the purge pauses as long as the slice took, so that the
 * ingest thread gets the writer lock at least half the time.
 */
enum purge_phase { PURGE_VENUES, PURGE_PIDS, PURGE_PERSONS, PURGE_APP, PURGE_COVERAGE,
		   PURGE_DONE };

struct purge_pos {
	enum purge_phase phase;
	int64_t horizon, limit;      /* what is kept: entry in [horizon, limit] */
	uint8_t key[APP_KEY_LEN];    /* resume at the first key >= this */
	size_t key_len;              /* 0: from the start */
};

/* Delete visit vid from visits.  Missing: the indexes disagree. */
static int purge_visit_row(struct cl_store *s, MDB_txn *txn, uint64_t vid)
{
	uint8_t kbuf[VID_LEN];
	MDB_val key = {VID_LEN, kbuf};
	int rc;

	put_vid(kbuf, vid);
	rc = mdb_del(txn, s->visits, &key, NULL);
	return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
}

/* ---- purge slices: what every phase shares ---- */

/* Open a cursor on dbi at the slice's resume point (the first key >= the
 * one saved, or the first key); rc of that positioning (MDB_NOTFOUND: an
 * empty rest).  *cur is open on every return but an open failure. */
static int slice_start(MDB_txn *txn, MDB_dbi dbi, const struct purge_pos *pos,
		       MDB_cursor **cur, MDB_val *key, MDB_val *val)
{
	int rc = mdb_cursor_open(txn, dbi, cur);

	if (rc) {
		*cur = NULL;
		return rc;
	}
	*key = (MDB_val){pos->key_len, (void *)pos->key};
	return pos->key_len ? mdb_cursor_get(*cur, key, val, MDB_SET_RANGE)
			    : mdb_cursor_get(*cur, key, val, MDB_FIRST);
}

/* The slice's budget is spent: the next slice resumes at k. */
static void slice_pause(struct purge_pos *pos, const uint8_t *k, size_t len, int *more)
{
	memcpy(pos->key, k, len);
	pos->key_len = len;
	*more = 1;
}

/* After a write at key k, on to the first key after it (the write may have
 * moved the cursor): next is MDB_NEXT, or MDB_NEXT_NODUP in a DUPSORT. */
static int slice_next_after(MDB_cursor *cur, const uint8_t *k, size_t len, MDB_val *key,
			    MDB_val *val, MDB_cursor_op next)
{
	int rc;

	*key = (MDB_val){len, (void *)k};
	rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
	if (rc == 0 && key->mv_size == len && memcmp(key->mv_data, k, len) == 0)
		rc = mdb_cursor_get(cur, key, val, next);
	return rc;
}

/* A day's index keys are kept whole, cut entry by entry, or deleted
 * whole. */
enum day_fate { DAY_KEPT, DAY_CUT, DAY_GONE };

static int outside(const struct purge_pos *pos, int64_t t)
{
	return t < pos->horizon || t > pos->limit;
}

/* Day 0 also holds the clamped times before 1970, and the last day the
 * clamped times after 2106, so neither is judged by its span alone. */
static enum day_fate day_fate(const struct purge_pos *pos, uint32_t day)
{
	const uint32_t hday = day_of(pos->horizon), lday = day_of(pos->limit);

	if (day < hday || day > lday)
		return DAY_GONE;
	if (day == lday)
		return DAY_CUT;
	if (day == hday && !(hday > 0 && pos->horizon <= day_start(hday)))
		return DAY_CUT;
	return DAY_KEPT;
}

/* From a kept day, on to the first key of the limit's day (kept days lie
 * before it): the days between are skipped with one seek. */
static int skip_kept_days(MDB_cursor *cur, const struct purge_pos *pos, MDB_val *key,
			  MDB_val *val, uint8_t kbuf[IDX_KEY_LEN])
{
	idx_key(kbuf, day_of(pos->limit), 0);
	*key = (MDB_val){IDX_KEY_LEN, kbuf};
	return mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
}

/* Delete the entry under the cursor of by_venue and its visit, then put
 * the cursor back on key k (MDB_NOTFOUND: k is gone with its last entry). */
static int purge_venue_entry(struct cl_store *s, MDB_cursor *cur, uint64_t vid, uint8_t *k,
			     MDB_val *key, MDB_val *val)
{
	int rc = purge_visit_row(s, mdb_cursor_txn(cur), vid);

	if (!rc)
		rc = mdb_cursor_del(cur, 0);
	if (rc)
		return rc;
	*key = (MDB_val){IDX_KEY_LEN, k};
	return mdb_cursor_get(cur, key, val, MDB_SET);
}

/* Phase 1: one slice over by_venue, deleting each entry's visit too.
 * After a delete the cursor is sought again from a copy of the key. */
static int purge_venue_index(struct cl_store *s, MDB_txn *txn, struct purge_pos *pos,
			     size_t max, uint64_t *deleted, int *more)
{
	uint8_t kcopy[IDX_KEY_LEN], kseek[IDX_KEY_LEN];
	MDB_cursor *cur;
	MDB_val key, val;
	size_t ops = 0;
	int rc = slice_start(txn, s->by_venue, pos, &cur, &key, &val);

	if (!cur)
		return rc;
	while (rc == 0) {
		enum day_fate fate;
		uint32_t id;
		struct cl_visit v;

		if (key.mv_size != IDX_KEY_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(kcopy, key.mv_data, IDX_KEY_LEN);
		id = as_get_be32(kcopy + 4);
		fate = day_fate(pos, as_get_be32(kcopy));
		if (fate == DAY_KEPT) {
			rc = skip_kept_days(cur, pos, &key, &val, kseek);
			continue;
		}
		if (ops >= max) {
			slice_pause(pos, kcopy, IDX_KEY_LEN, more);
			break;
		}
		if (fate == DAY_GONE) {
			/* The whole key: its visits first, then every entry at once. */
			size_t count = 0;

			rc = mdb_cursor_count(cur, &count);
			if (!rc)
				rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST_DUP);
			while (rc == 0) {
				rc = idx_decode(&v, &val, id, 0);
				if (!rc)
					rc = purge_visit_row(s, txn, v.vid);
				if (!rc)
					rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT_DUP);
			}
			if (rc == MDB_NOTFOUND)
				rc = 0;
			if (!rc)
				rc = mdb_cursor_del(cur, MDB_NODUPDATA);
			*deleted += count;
			ops += count;
		} else {
			/* The horizon's or the limit's day: entries are in entry
			 * order, so those before the horizon lead and those after
			 * the limit trail. */
			rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST_DUP);
			while (rc == 0) {
				rc = idx_decode(&v, &val, id, 0);
				if (rc || v.entry >= pos->horizon)
					break;
				(*deleted)++;
				ops++;
				rc = purge_venue_entry(s, cur, v.vid, kcopy, &key, &val);
			}
			if (rc == 0)
				rc = mdb_cursor_get(cur, &key, &val, MDB_LAST_DUP);
			while (rc == 0) {
				rc = idx_decode(&v, &val, id, 0);
				if (rc || v.entry <= pos->limit)
					break;
				(*deleted)++;
				ops++;
				rc = purge_venue_entry(s, cur, v.vid, kcopy, &key, &val);
				if (rc == 0)
					rc = mdb_cursor_get(cur, &key, &val, MDB_LAST_DUP);
			}
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
		if (!rc)
			rc = slice_next_after(cur, kcopy, IDX_KEY_LEN, &key, &val, MDB_NEXT_NODUP);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Phase 2: one slice over by_pid: values of days outside the window go
 * whole; on the horizon's and the limit's day the entries outside it are
 * cut out. */
static int purge_pid_index(struct cl_store *s, MDB_txn *txn, struct purge_pos *pos, size_t max,
			   int *more)
{
	uint8_t kcopy[IDX_KEY_LEN], kseek[IDX_KEY_LEN];
	MDB_cursor *cur;
	MDB_val key, val;
	size_t ops = 0;
	int rc = slice_start(txn, s->by_pid, pos, &cur, &key, &val);

	if (!cur)
		return rc;
	while (rc == 0) {
		enum day_fate fate;
		size_t n, lo = 0, hi;

		if (key.mv_size != IDX_KEY_LEN || val.mv_size == 0 || val.mv_size % IDX_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(kcopy, key.mv_data, IDX_KEY_LEN);
		fate = day_fate(pos, as_get_be32(kcopy));
		if (fate == DAY_KEPT) {
			rc = skip_kept_days(cur, pos, &key, &val, kseek);
			continue;
		}
		if (ops >= max) {
			slice_pause(pos, kcopy, IDX_KEY_LEN, more);
			break;
		}
		n = hi = val.mv_size / IDX_LEN;
		if (fate == DAY_CUT) {
			/* Entries are in entry order: keep [lo, hi), those from the
			 * first at or after the horizon to the last at or before
			 * the limit. */
			const uint8_t *p = val.mv_data;

			while (lo < n && get_time(p + lo * IDX_LEN) < pos->horizon)
				lo++;
			while (hi > lo && get_time(p + (hi - 1) * IDX_LEN) > pos->limit)
				hi--;
		} else {
			lo = hi = 0;
		}
		ops += n - (hi - lo);
		if (hi - lo == n) {
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
			continue;
		}
		if (hi > lo) {
			size_t keep = hi - lo;
			uint8_t *rest = malloc(keep * IDX_LEN);

			if (!rest) {
				rc = ENOMEM;
				break;
			}
			memcpy(rest, (const uint8_t *)val.mv_data + lo * IDX_LEN, keep * IDX_LEN);
			key = (MDB_val){IDX_KEY_LEN, kcopy};
			val = (MDB_val){keep * IDX_LEN, rest};
			rc = mdb_cursor_put(cur, &key, &val, 0);
			free(rest);
		} else {
			rc = mdb_cursor_del(cur, 0);
		}
		if (!rc)
			rc = slice_next_after(cur, kcopy, IDX_KEY_LEN, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Phases 4 and 5: one slice over app or coverage.  judge() says whether
 * an entry (its key and value) stays (0), goes (1), or an error. */
static int purge_walk(struct cl_store *s, MDB_txn *txn, MDB_dbi dbi, size_t key_len,
		      int (*judge)(const struct purge_pos *pos, const MDB_val *key,
				   const MDB_val *val),
		      struct purge_pos *pos, size_t max, int *more)
{
	uint8_t kcopy[APP_KEY_LEN];
	MDB_cursor *cur;
	MDB_val key, val;
	size_t ops = 0;
	int rc = slice_start(txn, dbi, pos, &cur, &key, &val);

	if (!cur)
		return rc;
	while (rc == 0) {
		int gone;

		if (key.mv_size != key_len) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(kcopy, key.mv_data, key_len);
		if (ops >= max) {
			slice_pause(pos, kcopy, key_len, more);
			break;
		}
		ops++;
		gone = judge(pos, &key, &val);
		if (gone < 0) {
			rc = gone;
			break;
		}
		if (gone) {
			rc = mdb_cursor_del(cur, 0);
			if (!rc)
				rc = slice_next_after(cur, kcopy, key_len, &key, &val, MDB_NEXT);
		} else {
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Phase 3: one slice of people, in person-number order: the next max of
 * capsules' keys (the people), each looked for in by_pid under every day
 * stored (a key walk per day over the slice's range of numbers, merged
 * with the sorted slice); those with no key there lose their persons,
 * capsules and paper entries.  Everything is read in the slice's own
 * write transaction, so a visit ingested between slices is seen.
 */
static int purge_persons(struct cl_store *s, MDB_txn *txn, struct purge_pos *pos, size_t max,
			 int *more)
{
	MDB_cursor *cur, *idx = NULL;
	MDB_val key, val;
	uint32_t *people = NULL;
	uint8_t *seen = NULL;
	size_t n = 0, cap = 0;
	int rc = slice_start(txn, s->capsules, pos, &cur, &key, &val);

	if (!cur)
		return rc;
	for (; rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != 4) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (n == max) {
			slice_pause(pos, key.mv_data, 4, more);
			break;
		}
		if (n == cap) {
			size_t c = cap ? cap * 2 : 1024;
			uint32_t *p = realloc(people, c * sizeof *p);

			if (!p) {
				rc = ENOMEM;
				break;
			}
			people = p, cap = c;
		}
		people[n++] = as_get_be32(key.mv_data);
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (!rc && n && !(seen = calloc(n, 1)))
		rc = ENOMEM;
	if (!rc && n)
		rc = mdb_cursor_open(txn, s->by_pid, &idx);
	/* by_pid, day by day: the keys (day, people[0]) .. (day, people[n-1]). */
	for (uint64_t day = 0; !rc && n && day <= UINT32_MAX;) {
		uint8_t kbuf[IDX_KEY_LEN];
		size_t j = 0;

		idx_key(kbuf, (uint32_t)day, people[0]);
		key = (MDB_val){IDX_KEY_LEN, kbuf};
		rc = mdb_cursor_get(idx, &key, &val, MDB_SET_RANGE);
		while (rc == 0) {
			uint32_t d, person;

			if (key.mv_size != IDX_KEY_LEN) {
				rc = MDB_CORRUPTED;
				break;
			}
			d = as_get_be32(key.mv_data);
			person = as_get_be32((const uint8_t *)key.mv_data + 4);
			if (d != day || person > people[n - 1])
				break;
			while (j < n && people[j] < person)
				j++;
			if (j < n && people[j] == person)
				seen[j] = 1;
			rc = mdb_cursor_get(idx, &key, &val, MDB_NEXT);
		}
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break; /* no later day */
		}
		if (rc)
			break;
		/* On to the day of the key found, or the next one. */
		day = as_get_be32(key.mv_data) != day ? as_get_be32(key.mv_data) : day + 1;
	}
	if (idx)
		mdb_cursor_close(idx);
	for (size_t i = 0; i < n && !rc; i++) {
		uint8_t kbuf[4], pid[AS_PID_LEN];
		MDB_val k = {4, kbuf};

		if (seen[i])
			continue;
		as_put_be32(kbuf, people[i]);
		rc = person_get(txn, s->capsules, people[i], pid, NULL);
		if (!rc)
			rc = mdb_del(txn, s->capsules, &k, NULL);
		if (!rc) {
			k = (MDB_val){AS_PID_LEN, pid};
			rc = mdb_del(txn, s->persons, &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = MDB_CORRUPTED; /* capsules and persons disagree */
		}
		if (!rc) {
			k = (MDB_val){4, kbuf};
			rc = mdb_del(txn, s->paper, &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
	}
	free(people);
	free(seen);
	return rc;
}

/* An app entry goes with its check-in's entry time. */
static int judge_app(const struct purge_pos *pos, const MDB_val *key, const MDB_val *val)
{
	(void)key;
	if (val->mv_size != APP_ID_VALUE_LEN && val->mv_size != APP_REPLAY_VALUE_LEN)
		return MDB_CORRUPTED;
	return outside(pos, get_time((const uint8_t *)val->mv_data + val->mv_size - 8));
}

/* A coverage period goes when it lies wholly outside the window. */
static int judge_period(const struct purge_pos *pos, const MDB_val *key, const MDB_val *val)
{
	struct cl_period p;

	if (cl_period_decode(&p, get_time((const uint8_t *)key->mv_data + AS_GWID_LEN),
			     val->mv_data, val->mv_size))
		return MDB_CORRUPTED;
	return p.end < pos->horizon || p.start > pos->limit;
}

static double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define PURGE_PEOPLE_SHARE 8

int cl_store_purge_outside(struct cl_store *s, int64_t horizon, int64_t limit, size_t max_per_txn,
			   uint64_t *deleted)
{
	struct purge_pos pos = {PURGE_VENUES, horizon, limit, {0}, 0};
	uint64_t total = 0;
	int rc = 0;

	if (max_per_txn == 0)
		max_per_txn = PURGE_DEFAULT_SLICE;
	/* Every slice but a phase's last makes max_per_txn deletions or steps,
	 * so the number of slices is bounded by the store's size. */
	while (pos.phase != PURGE_DONE) {
		double t0 = monotonic_seconds(), took;
		uint64_t n = 0;
		MDB_txn *txn;
		int more = 0;

		rc = write_begin(s, &txn);
		if (rc)
			break;
		switch (pos.phase) {
		case PURGE_VENUES:
			rc = purge_venue_index(s, txn, &pos, max_per_txn, &n, &more);
			break;
		case PURGE_PIDS:
			rc = purge_pid_index(s, txn, &pos, max_per_txn, &more);
			break;
		case PURGE_PERSONS:
			/* A person costs a key step per stored day: a people
			 * slice is an eighth of the others, so that it holds
			 * the writer no longer than they do. */
			rc = purge_persons(s, txn, &pos,
					   max_per_txn / PURGE_PEOPLE_SHARE ? max_per_txn / PURGE_PEOPLE_SHARE
									    : 1,
					   &more);
			break;
		case PURGE_APP:
			rc = purge_walk(s, txn, s->app, APP_KEY_LEN, judge_app, &pos, max_per_txn,
					&more);
			break;
		default:
			rc = purge_walk(s, txn, s->coverage, COVERAGE_KEY_LEN, judge_period, &pos,
					max_per_txn, &more);
			break;
		}
		rc = write_end(s, txn, rc);
		if (rc)
			break;
		total += n;
		if (!more) {
			pos.phase++;
			pos.key_len = 0;
		}
		took = monotonic_seconds() - t0;
		if (pos.phase != PURGE_DONE && took > 0) {
			struct timespec pause = {(time_t)took,
						 (long)((took - (double)(time_t)took) * 1e9)};

			nanosleep(&pause, NULL);
		}
	}
	if (deleted)
		*deleted = total;
	return rc;
}

int cl_store_purge(struct cl_store *s, int64_t horizon, size_t max_per_txn, uint64_t *deleted)
{
	return cl_store_purge_outside(s, horizon, INT64_MAX, max_per_txn, deleted);
}

static int latest_seen_of(void *ctx, const struct cl_gateway *g)
{
	int64_t *latest = ctx;

	if (g->last_seen > *latest)
		*latest = g->last_seen;
	return 0;
}

int cl_store_purge_now(struct cl_store *s, int64_t now, int64_t retention, int64_t skew,
		       size_t max_per_txn, uint64_t *deleted, int64_t *clock_behind)
{
	int64_t latest = 0, limit = now + skew;
	int rc = cl_store_each_gateway(s, latest_seen_of, &latest);

	*clock_behind = 0;
	if (deleted)
		*deleted = 0;
	if (rc < 0)
		return rc;
	if (latest > limit) {
		*clock_behind = latest;
		limit = INT64_MAX;
	}
	return cl_store_purge_outside(s, now - retention, limit, max_per_txn, deleted);
}

/* ---- journal chains: readers ---------------------------------------------- */

int cl_store_gateway_chain(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
			   struct cl_chain_state *out)
{
	MDB_txn *txn;
	int rc;

	memset(out, 0, sizeof *out);
	if (!s->has_chain)
		return AS_E_NOT_FOUND;
	rc = read_begin(s, &txn);
	if (rc)
		return rc;
	rc = chain_state_get(txn, s->chains, gw_id, out);
	mdb_txn_abort(txn);
	if (rc)
		memset(out, 0, sizeof *out);
	return store_error(rc);
}

int cl_store_gateway_chain_events(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
				  int (*fn)(void *ctx, const struct cl_chain_event *ev),
				  void *ctx)
{
	uint8_t k[EVENT_KEY_LEN];
	MDB_val key = {sizeof k, k}, val;
	MDB_txn *txn;
	MDB_cursor *cur;
	int rc, stop = 0, op = MDB_SET_RANGE;

	if (!s->has_chain)
		return 0;
	rc = read_begin(s, &txn);
	if (rc)
		return rc;
	rc = mdb_cursor_open(txn, s->chain_events, &cur);
	if (rc) {
		mdb_txn_abort(txn);
		return store_error(rc);
	}
	memcpy(k, gw_id, AS_GWID_LEN);
	as_put_be32(k + AS_GWID_LEN, 0);
	while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
		const uint8_t *v = val.mv_data;
		struct cl_chain_event ev;

		op = MDB_NEXT;
		if (key.mv_size != EVENT_KEY_LEN || memcmp(key.mv_data, gw_id, AS_GWID_LEN) != 0)
			break;
		if (val.mv_size != EVENT_VALUE_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		ev.n = as_get_be32((const uint8_t *)key.mv_data + AS_GWID_LEN);
		ev.kind = v[0];
		ev.cause = v[1];
		memcpy(ev.journal_id, v + 2, AS_JOURNAL_ID_LEN);
		ev.first_seq = as_get_be64(v + 18);
		ev.last_seq = as_get_be64(v + 26);
		ev.at_seq = as_get_be64(v + 34);
		ev.reconciled = as_get_be32(v + 42);
		ev.time = (int64_t)as_get_be64(v + 46);
		stop = fn(ctx, &ev);
		if (stop)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (stop)
		return stop;
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : store_error(rc);
}

const char *cl_chain_event_name(uint8_t kind)
{
	switch (kind) {
	case CL_CHAIN_START: return "start";
	case CL_CHAIN_NEW_JOURNAL: return "new-journal";
	case CL_CHAIN_FORK: return "fork";
	case CL_CHAIN_BREAK: return "break";
	default: return "unknown";
	}
}

const char *cl_chain_cause_name(uint8_t cause)
{
	switch (cause) {
	case CL_BREAK_UNLINKED: return "unlinked";
	case CL_BREAK_RECORD_CHANGED: return "record-changed";
	case CL_BREAK_HEAD_MISMATCH: return "head-mismatch";
	case CL_BREAK_EARLY_PLACEHOLDER: return "early-placeholder";
	default: return "";
	}
}
