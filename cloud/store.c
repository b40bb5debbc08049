/*
 * store.c - the cloud aggregator's LMDB store (see store.h for the contract).
 *
 * Layout: one environment, ten named databases.  Every integer in a key or
 * an index entry is big-endian, so LMDB's byte order is numeric order.
 *
 *   meta      name -> value     "version" u32, "fp_key" (16 random bytes),
 *                               "next_vid", "next_person", "next_gw",
 *                               "batches" u64
 *   gateways  gw_id[16] -> registry entry + ingest state (98 bytes)
 *   venues    id u32 -> venue (dwell, then three length-prefixed strings)
 *   counters  reason text -> u64 (rejected batches, by reason)
 *   visits    vid (48-bit) -> compact visit: a kind/flags byte and varints
 *             (person, venue, entry, exit - entry, headcount, gateway index,
 *             seq), typically 16 bytes
 *   by_venue  venue u32  -> DUPSORT|DUPFIXED  t32 || vid   (10 bytes)
 *   by_pid    person u32 -> DUPSORT|DUPFIXED  t32 || vid   (10 bytes)
 *   by_day    day u32    -> DUPSORT|DUPFIXED  vid          (6 bytes)
 *   persons   pid[16] -> person u32 || capsule fingerprint[8]
 *   capsules  person u32 -> pid[16] || capsule[131]   one per person
 *
 * A person is a pid with at least one stored visit; its number is handed
 * out on its first visit and keys by_pid and capsules, so each visit and
 * index entry carries 4 bytes instead of a 16-byte pid, and each person's
 * capsule is stored once.  The fingerprint is SipHash-2-4 of the capsule
 * under the store's secret fp_key: a visit that brings the capsule already
 * stored (the usual case: it is part of the credential) writes nothing; a
 * different one replaces it (the latest seen wins).  A record whose pid is
 * all zero (the caller could not derive one) is stored with person 0:
 * found by venue and day, attributed to nobody, no capsule.
 *
 * Ingest stores by_venue and by_day entries as each batch arrives and the
 * rest (persons, capsules, by_pid, visits) at commit, sorted by key, so
 * that each page is touched once per transaction (see "Ingest in two
 * steps" below); readers see nothing of a transaction before its commit.
 *
 * vids and person numbers only grow (meta keeps the next ones, so purged
 * ones are never reused): a visit insert is an MDB_APPEND, a by_day insert
 * an MDB_APPENDDUP and a new person's capsule an MDB_APPEND, so those pages
 * are packed full.  by_venue inserts use MDB_APPENDDUP when the entry is
 * known to sort after the venue's last one (a per-transaction cache of each
 * venue's last entry), otherwise a plain put; a wrong APPENDDUP would fail
 * the transaction, never the data.
 *
 * t32 is the entry time clamped to 0..UINT32_MAX (1970..2106) and day is
 * t32 / 86400; both only order index entries.  Queries and purge compare
 * the exact 64-bit entry time kept in the visit, so a clamped time can only
 * change the order among visits outside 1970..2106, never membership.
 *
 * Invariants (each write transaction keeps all of them):
 *  - every stored visit has exactly one entry in by_venue and by_day, and
 *    one in by_pid unless unattributed; the indexes hold nothing else;
 *  - persons has a pid, and capsules its person number, exactly when by_pid
 *    has that person number;
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
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_VERSION 1
#define STORE_MAXDBS 10
#define FP_LEN 8                     /* capsule fingerprint (SipHash-2-4) */
#define FP_KEY_LEN 16
#define VID_LEN 6                    /* vids are 48-bit: 2.8e14 visits */
#define VID_MAX ((UINT64_C(1) << 48) - 1)
#define IDX_LEN (4 + VID_LEN)        /* by_venue and by_pid entries: t32 || vid */
#define DAY_SECONDS 86400
#define GATEWAY_VALUE_LEN 98
#define VENUE_VALUE_MAX (1 + 2 + 3 + CL_NAME_MAX + CL_ADDRESS_MAX + CL_CATEGORY_MAX)
/* kind/flags byte, and at most: person 5, venue 5, entry 10, exit 10,
 * headcount 3, gateway 5, seq 10 varint bytes. */
#define VISIT_VALUE_MAX (1 + 5 + 5 + 10 + 10 + 3 + 5 + 10)
#define PERSON_VALUE_LEN (4 + FP_LEN)           /* persons: person || fingerprint */
#define CAPSULE_VALUE_LEN (AS_PID_LEN + AS_CAPSULE_LEN) /* capsules: pid || capsule */
#define VISIT_HAS_EXIT 0x10
#define REASON_MAX 32
#define PURGE_DEFAULT_SLICE 10000
#define VENUE_CACHE_MIN 64

struct cl_store {
	MDB_env *env;
	MDB_dbi meta, gateways, venues, counters, visits, by_venue, by_pid, by_day, persons,
		capsules;
	int readonly;
};

/* The store whose write transaction this thread holds, if any.  LMDB lets
 * one writer in at a time: another thread waits for it, but the same
 * thread asking again would wait for itself forever. */
static _Thread_local const struct cl_store *thread_writing;

/* The last by_venue entry of a venue, as known inside one write transaction. */
struct venue_last {
	uint32_t venue;   /* 0 = free slot (venue ids are >= 1) */
	int known;        /* last[] holds the venue's greatest entry */
	uint8_t last[IDX_LEN];
};

/* A visit as stored, plus what only the store needs. */
struct stored_visit {
	struct cl_visit v;       /* v.pid is filled only where the caller knows it */
	uint32_t person;         /* 0: unattributed (no pid) */
	uint32_t gw_index;
	uint64_t seq;
};

/* A visit stored in by_venue and by_day, the rest waiting for the commit. */
struct pending {
	struct stored_visit sv;      /* person not known yet */
	uint8_t capsule[AS_CAPSULE_LEN];
};

struct cl_ingest {
	struct cl_store *s;
	MDB_txn *txn;
	MDB_cursor *visits, *by_venue, *by_pid, *by_day, *persons, *capsules;
	uint8_t fp_key[FP_KEY_LEN];
	uint64_t next_vid, next_vid_stored;
	uint64_t next_person, next_person_stored;
	uint64_t batches, batches_stored;
	int failed;                  /* first LMDB failure: only abort remains */
	struct venue_last *cache;    /* open addressing, cache_cap a power of 2 */
	size_t cache_cap, cache_used;
	struct pending *pend;        /* in vid order */
	size_t npend, pend_cap;
};

/* A registry entry as stored: the public part and the gateway's index. */
struct stored_gateway {
	struct cl_gateway g;
	uint32_t index;
};

/* ---- errors -------------------------------------------------------------- */

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
		if (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE)
			return AS_E_STORE;
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

static void idx_entry(uint8_t out[IDX_LEN], int64_t entry, uint64_t vid)
{
	as_put_be32(out, time32(entry));
	put_vid(out + 4, vid);
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

/* Read a varint of at most 10 bytes; 0 or MDB_CORRUPTED. */
static int varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0, i = 0; i < 10; i++, shift += 7) {
		uint8_t b;

		if (*p >= end)
			return MDB_CORRUPTED;
		b = *(*p)++;
		if (i == 9 && b > 1)
			return MDB_CORRUPTED;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return MDB_CORRUPTED;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

static int64_t unzigzag(uint64_t v)
{
	uint64_t m = (v & 1) ? UINT64_MAX : 0;

	return (int64_t)((v >> 1) ^ m);
}

/*
 * Visit value: one byte kind | flags << 2 | (has exit ? 0x10 : 0), then
 * varints: person, venue, zigzag(entry), [exit - entry], headcount, gateway
 * index, seq.  Typically 16 bytes.
 */
static size_t visit_encode(uint8_t out[VISIT_VALUE_MAX], const struct stored_visit *sv)
{
	const struct cl_visit *v = &sv->v;
	size_t n = 0;

	out[n++] = (uint8_t)(v->kind | v->flags << 2 | (v->exit ? VISIT_HAS_EXIT : 0));
	n += varint_put(out + n, sv->person);
	n += varint_put(out + n, v->venue_id);
	n += varint_put(out + n, zigzag(v->entry));
	if (v->exit)
		n += varint_put(out + n, (uint64_t)v->exit - (uint64_t)v->entry);
	n += varint_put(out + n, v->headcount);
	n += varint_put(out + n, sv->gw_index);
	n += varint_put(out + n, sv->seq);
	return n;
}

static int visit_decode(struct stored_visit *sv, uint64_t vid, const MDB_val *val)
{
	const uint8_t *p = val->mv_data, *end = p + val->mv_size;
	uint64_t person, venue, entry, delta = 0, headcount, gw;
	uint8_t kind;

	if (val->mv_size < 1)
		return MDB_CORRUPTED;
	memset(sv, 0, sizeof *sv);
	sv->v.vid = vid;
	kind = p[0] & 0x03;
	if ((p[0] & ~(VISIT_HAS_EXIT | 0x0f)) || kind < AS_REC_PASS || kind > AS_REC_MANUAL)
		return MDB_CORRUPTED;
	sv->v.kind = kind;
	sv->v.flags = (uint8_t)(p[0] >> 2 & AS_REC_FLAGS_KNOWN);
	p++;
	if (varint_get(&p, end, &person) || person > UINT32_MAX ||
	    varint_get(&p, end, &venue) || venue == 0 || venue > UINT32_MAX ||
	    varint_get(&p, end, &entry))
		return MDB_CORRUPTED;
	if ((((const uint8_t *)val->mv_data)[0] & VISIT_HAS_EXIT) && varint_get(&p, end, &delta))
		return MDB_CORRUPTED;
	if (varint_get(&p, end, &headcount) || headcount == 0 || headcount > AS_HEADCOUNT_MAX ||
	    varint_get(&p, end, &gw) || gw > UINT32_MAX || varint_get(&p, end, &sv->seq) ||
	    p != end)
		return MDB_CORRUPTED;
	sv->person = (uint32_t)person;
	sv->v.venue_id = (uint32_t)venue;
	sv->v.entry = unzigzag(entry);
	if (((const uint8_t *)val->mv_data)[0] & VISIT_HAS_EXIT)
		sv->v.exit = (int64_t)((uint64_t)sv->v.entry + delta);
	sv->v.headcount = (uint16_t)headcount;
	sv->gw_index = (uint32_t)gw;
	return 0;
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

/* Venue value: version u8, dwell u16, then name, address, category each
 * as length u8 + bytes.  v must have passed venue_check. */
static size_t venue_encode(uint8_t out[VENUE_VALUE_MAX], const struct cl_venue *v)
{
	const char *fields[3] = {v->name, v->address, v->category};
	size_t n = 0;

	out[n++] = 1;
	out[n++] = (uint8_t)(v->dwell_minutes >> 8);
	out[n++] = (uint8_t)v->dwell_minutes;
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
	if (val->mv_size < 3 || p[0] != 1)
		return MDB_CORRUPTED;
	v->id = id;
	v->dwell_minutes = (uint16_t)(p[1] << 8 | p[2]);
	p += 3;
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
	rc = mdb_txn_begin(s->env, NULL, 0, txn);
	if (rc)
		return store_error(rc);
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
		rc = mdb_txn_commit(txn);
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
		{"by_pid", dup, &s->by_pid},   {"by_day", dup, &s->by_day},
		{"persons", 0, &s->persons},   {"capsules", 0, &s->capsules},
	};
	uint8_t buf[FP_KEY_LEN];
	MDB_val key = {7, (void *)"version"}, val, fkey = {6, (void *)"fp_key"};
	int rc = 0;

	for (int i = 0; i < STORE_MAXDBS && !rc; i++)
		rc = mdb_dbi_open(txn, dbs[i].name, create | dbs[i].flags, dbs[i].dbi);
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
		return rc;
	}
	if (rc)
		return rc;
	if (val.mv_size != 4)
		return MDB_CORRUPTED;
	return as_get_be32(val.mv_data) == STORE_VERSION ? 0 : AS_E_VERSION;
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
		struct cl_venue copy = *v;

		if (copy.dwell_minutes == 0)
			copy.dwell_minutes = CL_DEFAULT_DWELL;
		val.mv_data = vbuf;
		val.mv_size = venue_encode(vbuf, &copy);
		rc = mdb_put(txn, s->venues, &key, &val, 0);
	} else {
		rc = mdb_get(txn, s->venues, &key, &val);
	}
	if (rc)
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
	uint32_t venue_id = v ? v->id : gw->venue_id;
	MDB_txn *txn;
	int rc;

	if (venue_id == 0 || (v && gw->venue_id && gw->venue_id != v->id))
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

static uint32_t hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static struct venue_last *cache_slot(struct venue_last *tab, size_t cap, uint32_t venue)
{
	size_t mask = cap - 1, i = hash32(venue) & mask;

	for (size_t probe = 0; probe < cap; probe++, i = (i + 1) & mask)
		if (tab[i].venue == venue || tab[i].venue == 0)
			return &tab[i];
	return NULL;
}

/* Double the cache (or create it); 0 or -ENOMEM. */
static int cache_grow(struct cl_ingest *in)
{
	size_t cap = in->cache_cap ? in->cache_cap * 2 : VENUE_CACHE_MIN;
	struct venue_last *tab = calloc(cap, sizeof *tab);

	if (!tab)
		return -ENOMEM;
	for (size_t i = 0; i < in->cache_cap; i++)
		if (in->cache[i].venue)
			*cache_slot(tab, cap, in->cache[i].venue) = in->cache[i];
	free(in->cache);
	in->cache = tab;
	in->cache_cap = cap;
	return 0;
}

/*
 * Decide how to insert entry ent under venue in by_venue: *flags becomes
 * MDB_APPENDDUP when ent is known to sort after every entry of the venue,
 * else 0.  Learns a venue's last entry once per transaction.  If the cache
 * cannot grow, falls back to plain puts.
 */
static int venue_put_flags(struct cl_ingest *in, uint32_t venue, const uint8_t ent[IDX_LEN],
			   unsigned *flags)
{
	struct venue_last *vl;

	*flags = 0;
	if ((in->cache_used + 1) * 2 > in->cache_cap && cache_grow(in) != 0)
		return 0;
	vl = cache_slot(in->cache, in->cache_cap, venue);
	if (!vl)
		return 0;
	if (vl->venue == 0) {
		uint8_t kbuf[4];
		MDB_val key = {4, kbuf}, val;
		int rc;

		as_put_be32(kbuf, venue);
		rc = mdb_cursor_get(in->by_venue, &key, &val, MDB_SET);
		if (rc == 0)
			rc = mdb_cursor_get(in->by_venue, &key, &val, MDB_LAST_DUP);
		if (rc == 0 && val.mv_size != IDX_LEN)
			rc = MDB_CORRUPTED;
		if (rc && rc != MDB_NOTFOUND)
			return rc;
		vl->venue = venue;
		vl->known = rc == 0;
		if (vl->known)
			memcpy(vl->last, val.mv_data, IDX_LEN);
		in->cache_used++;
	}
	if (!vl->known || memcmp(ent, vl->last, IDX_LEN) > 0) {
		memcpy(vl->last, ent, IDX_LEN);
		vl->known = 1;
		*flags = MDB_APPENDDUP;
	}
	return 0;
}

/*
 * Ingest in two steps.  ingest_batch stores each new visit in by_venue and
 * by_day at once (they need only the entry and the vid, and a batch's
 * records are all at one venue and mostly in time order, so those inserts
 * are appends) and queues it.  The commit then does the random-access part
 * in key order, once per transaction: persons (sorted by pid), capsules
 * (by person number), by_pid (by person number and time), and visits (by
 * vid: appends).  Neighbouring keys share leaf pages, so LMDB's cursors
 * find most of them without a descent from the root, and each touched page
 * is visited once per transaction rather than once per visit.
 */

/* Store one new visit in by_venue and by_day and queue the rest. */
static int ingest_visit(struct cl_ingest *in, const struct stored_visit *sv,
			const uint8_t capsule[AS_CAPSULE_LEN])
{
	uint8_t vid[VID_LEN], ent[IDX_LEN], vkey[4], dkey[4];
	MDB_val key, val;
	unsigned flags;
	int rc;

	if (in->npend == in->pend_cap) {
		size_t cap = in->pend_cap ? in->pend_cap * 2 : 1024;
		struct pending *p = cap <= SIZE_MAX / sizeof *p ? realloc(in->pend, cap * sizeof *p)
								 : NULL;

		if (!p)
			return ENOMEM;
		in->pend = p;
		in->pend_cap = cap;
	}
	idx_entry(ent, sv->v.entry, sv->v.vid);
	as_put_be32(vkey, sv->v.venue_id);
	rc = venue_put_flags(in, sv->v.venue_id, ent, &flags);
	if (rc)
		return rc;
	key = (MDB_val){4, vkey};
	val = (MDB_val){IDX_LEN, ent};
	rc = mdb_cursor_put(in->by_venue, &key, &val, flags);
	if (rc)
		return rc;
	put_vid(vid, sv->v.vid);
	as_put_be32(dkey, time32(sv->v.entry) / DAY_SECONDS);
	key = (MDB_val){4, dkey};
	val = (MDB_val){VID_LEN, vid};
	rc = mdb_cursor_put(in->by_day, &key, &val, MDB_APPENDDUP);
	if (rc)
		return rc;
	in->pend[in->npend].sv = *sv;
	memcpy(in->pend[in->npend].capsule, capsule, AS_CAPSULE_LEN);
	in->npend++;
	return 0;
}

/*
 * The person number of pid (in *person), creating the person (*fresh) or
 * noting that capsule differs from the stored one (*changed), in which case
 * the caller writes it: the latest seen wins.  Most visits bring the same
 * capsule again (it is part of the credential), so persons keeps a keyed
 * fingerprint of it and the capsule itself is not read.
 */
static int resolve_person(struct cl_ingest *in, const uint8_t pid[AS_PID_LEN],
			  const uint8_t capsule[AS_CAPSULE_LEN], uint32_t *person, int *changed,
			  int *fresh)
{
	uint8_t fp[FP_LEN], pval[PERSON_VALUE_LEN];
	MDB_val key = {AS_PID_LEN, (void *)pid}, val;
	int rc;

	crypto_shorthash(fp, capsule, AS_CAPSULE_LEN, in->fp_key);
	*changed = *fresh = 0;
	rc = mdb_cursor_get(in->persons, &key, &val, MDB_SET);
	if (rc == 0) {
		if (val.mv_size != PERSON_VALUE_LEN || as_get_be32(val.mv_data) == 0)
			return MDB_CORRUPTED;
		*person = as_get_be32(val.mv_data);
		if (memcmp((const uint8_t *)val.mv_data + 4, fp, FP_LEN) == 0)
			return 0;
	} else if (rc == MDB_NOTFOUND) {
		if (in->next_person > UINT32_MAX)
			return MDB_MAP_FULL; /* out of person numbers */
		*person = (uint32_t)in->next_person++;
		*fresh = 1;
	} else {
		return rc;
	}
	*changed = 1;
	as_put_be32(pval, *person);
	memcpy(pval + 4, fp, FP_LEN);
	key = (MDB_val){AS_PID_LEN, (void *)pid};
	val = (MDB_val){PERSON_VALUE_LEN, pval};
	return mdb_cursor_put(in->persons, &key, &val, 0);
}

/* A queued visit's pid as two big-endian halves (integer order is byte
 * order), and its place in in->pend (vid order). */
struct pid_ref {
	uint64_t hi, lo;
	uint32_t idx;
};

/* by_pid entry to write: (person << 32 | t32, vid) sorts as the key bytes. */
struct by_pid_ref {
	uint64_t person_t32;
	uint64_t vid;
};

struct capsule_job {
	uint32_t person;
	uint32_t idx;           /* the visit whose capsule to keep */
	int fresh;
};

static int cmp_pid_ref(const void *a, const void *b)
{
	const struct pid_ref *x = a, *y = b;

	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int cmp_capsule_job(const void *a, const void *b)
{
	const struct capsule_job *x = a, *y = b;

	return (x->person > y->person) - (x->person < y->person);
}

static int cmp_by_pid_ref(const void *a, const void *b)
{
	const struct by_pid_ref *x = a, *y = b;

	if (x->person_t32 != y->person_t32)
		return x->person_t32 < y->person_t32 ? -1 : 1;
	return (x->vid > y->vid) - (x->vid < y->vid);
}

/* Resolve persons and write capsules, by_pid and visits for every queued
 * visit (see above). */
static int apply_pending(struct cl_ingest *in)
{
	size_t n = in->npend, nref = 0, njob = 0, nkey = 0;
	struct pid_ref *refs = NULL;
	struct capsule_job *jobs = NULL;
	struct by_pid_ref *keys = NULL;
	int rc = 0;

	if (n == 0)
		return 0;
	if (n > UINT32_MAX)
		return MDB_TXN_FULL;
	refs = malloc(n * sizeof *refs);
	jobs = malloc(n * sizeof *jobs);
	keys = malloc(n * sizeof *keys);
	if (!refs || !jobs || !keys) {
		rc = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (pid_is_zero(in->pend[i].sv.v.pid))
			continue;
		refs[nref].hi = as_get_be64(in->pend[i].sv.v.pid);
		refs[nref].lo = as_get_be64(in->pend[i].sv.v.pid + 8);
		refs[nref++].idx = (uint32_t)i;
	}
	qsort(refs, nref, sizeof *refs, cmp_pid_ref);
	for (size_t a = 0, b; a < nref && !rc; a = b) {
		uint32_t latest, person;
		int changed, fresh;

		for (b = a + 1; b < nref && refs[b].hi == refs[a].hi && refs[b].lo == refs[a].lo; b++)
			;
		latest = refs[b - 1].idx; /* the highest vid: the latest capsule */
		rc = resolve_person(in, in->pend[latest].sv.v.pid, in->pend[latest].capsule, &person,
				    &changed, &fresh);
		if (!rc && changed)
			jobs[njob++] = (struct capsule_job){person, latest, fresh};
		for (size_t k = a; k < b && !rc; k++)
			in->pend[refs[k].idx].sv.person = person;
	}
	/* Capsules by person number: changed ones in place, then new people,
	 * whose numbers are all above the rest, appended. */
	qsort(jobs, njob, sizeof *jobs, cmp_capsule_job);
	for (size_t k = 0; k < njob && !rc; k++) {
		uint8_t pkey[4], cval[CAPSULE_VALUE_LEN];
		const struct pending *p = &in->pend[jobs[k].idx];
		MDB_val key = {4, pkey}, val = {CAPSULE_VALUE_LEN, cval};

		as_put_be32(pkey, jobs[k].person);
		memcpy(cval, p->sv.v.pid, AS_PID_LEN);
		memcpy(cval + AS_PID_LEN, p->capsule, AS_CAPSULE_LEN);
		rc = mdb_cursor_put(in->capsules, &key, &val, jobs[k].fresh ? MDB_APPEND : 0);
	}
	for (size_t i = 0; i < n && !rc; i++) {
		const struct stored_visit *sv = &in->pend[i].sv;

		if (!sv->person)
			continue; /* unattributed: no person to index */
		keys[nkey].person_t32 = (uint64_t)sv->person << 32 | time32(sv->v.entry);
		keys[nkey++].vid = sv->v.vid;
	}
	if (!rc)
		qsort(keys, nkey, sizeof *keys, cmp_by_pid_ref);
	for (size_t k = 0; k < nkey && !rc; k++) {
		uint8_t pkey[4], ent[IDX_LEN];
		MDB_val key = {4, pkey}, val = {IDX_LEN, ent};

		as_put_be32(pkey, (uint32_t)(keys[k].person_t32 >> 32));
		as_put_be32(ent, (uint32_t)keys[k].person_t32);
		put_vid(ent + 4, keys[k].vid);
		rc = mdb_cursor_put(in->by_pid, &key, &val, 0);
	}
	for (size_t i = 0; i < n && !rc; i++) {
		uint8_t vid[VID_LEN], value[VISIT_VALUE_MAX];
		MDB_val key = {VID_LEN, vid}, val = {0, value};

		put_vid(vid, in->pend[i].sv.v.vid);
		val.mv_size = visit_encode(value, &in->pend[i].sv);
		rc = mdb_cursor_put(in->visits, &key, &val, MDB_APPEND);
	}
	if (!rc)
		in->npend = 0;
out:
	free(refs);
	free(jobs);
	free(keys);
	return rc;
}

static void ingest_free(struct cl_ingest *in)
{
	free(in->cache);
	free(in->pend);
	sodium_memzero(in->fp_key, sizeof in->fp_key);
	free(in);
}

static void ingest_close_cursors(struct cl_ingest *in)
{
	MDB_cursor *curs[6] = {in->visits,  in->by_venue, in->by_pid,
			       in->by_day,  in->persons,  in->capsules};

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
		rc = mdb_cursor_open(in->txn, s->by_day, &in->by_day);
	if (!rc)
		rc = mdb_cursor_open(in->txn, s->persons, &in->persons);
	if (!rc)
		rc = mdb_cursor_open(in->txn, s->capsules, &in->capsules);
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

static int record_check(const struct as_record *r)
{
	if (r->seq == 0 || r->kind < AS_REC_PASS || r->kind > AS_REC_EXPIRED ||
	    (r->flags & ~AS_REC_FLAGS_KNOWN) || r->headcount == 0 ||
	    r->headcount > AS_HEADCOUNT_MAX || (r->exit_time != 0 && r->exit_time < r->entry_time))
		return AS_E_FIELD;
	return 0;
}

int cl_store_ingest_batch(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			  const struct as_record *recs, const uint8_t (*pids)[AS_PID_LEN],
			  size_t n, int64_t created, int64_t now, struct cl_ingest_result *res)
{
	struct stored_gateway sg;
	uint64_t through;
	int rc;

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
	through = sg.g.through_seq;
	res->through_seq = through;
	if (through != UINT64_MAX && recs[0].seq > through + 1) {
		res->gap = 1;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct as_record *r = &recs[i];
		struct stored_visit sv;

		if (r->seq <= through) {
			res->duplicates++;
			continue;
		}
		through = r->seq;
		if (r->kind == AS_REC_EXPIRED) {
			res->expired++;
			continue;
		}
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
		sv.person = 0;
		rc = ingest_visit(in, &sv, r->capsule);
		if (rc) {
			in->failed = rc;
			memset(res, 0, sizeof *res);
			return store_error(rc);
		}
		in->next_vid++;
		res->stored++;
	}
	if (res->stored || res->expired) {
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
	return 0;
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

int cl_store_ingest_commit(struct cl_ingest *in)
{
	struct cl_store *s = in->s;
	int rc = in->failed;

	if (!rc)
		rc = apply_pending(in);
	if (!rc && in->next_vid != in->next_vid_stored)
		rc = meta_put(in->txn, s->meta, "next_vid", in->next_vid);
	if (!rc && in->next_person != in->next_person_stored)
		rc = meta_put(in->txn, s->meta, "next_person", in->next_person);
	if (!rc && in->batches != in->batches_stored)
		rc = meta_put(in->txn, s->meta, "batches", in->batches);
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

static int visit_get(MDB_txn *txn, MDB_dbi dbi, uint64_t vid, struct stored_visit *sv)
{
	uint8_t kbuf[VID_LEN];
	MDB_val key = {VID_LEN, kbuf}, val;
	int rc;

	put_vid(kbuf, vid);
	rc = mdb_get(txn, dbi, &key, &val);
	if (rc == MDB_NOTFOUND)
		return MDB_CORRUPTED; /* an index entry without its visit */
	return rc ? rc : visit_decode(sv, vid, &val);
}

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
 * Visits under a key of index dbi (by_venue: a venue; by_pid: a person
 * number, whose pid is pid) with entry in [from, to], in (t32, vid) order,
 * which is entry order.  Each visit is checked against the key it was found
 * under.
 */
static int index_scan(struct cl_store *s, MDB_txn *txn, MDB_dbi dbi, uint32_t id,
		      const uint8_t *pid, int64_t from, int64_t to,
		      int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	uint8_t kbuf[4], start[IDX_LEN];
	uint32_t to32 = time32(to);
	MDB_val key = {4, kbuf}, val = {IDX_LEN, start};
	MDB_cursor *cur;
	int rc, stop = 0;

	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return rc;
	as_put_be32(kbuf, id);
	idx_entry(start, from, 0);
	rc = mdb_cursor_get(cur, &key, &val, MDB_GET_BOTH_RANGE);
	while (rc == 0) {
		struct stored_visit sv;

		if (val.mv_size != IDX_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (as_get_be32(val.mv_data) > to32)
			break;
		rc = visit_get(txn, s->visits, get_vid((const uint8_t *)val.mv_data + 4), &sv);
		if (rc)
			break;
		if ((pid ? sv.person != id : sv.v.venue_id != id) ||
		    time32(sv.v.entry) != as_get_be32(val.mv_data)) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (sv.v.entry >= from && sv.v.entry <= to) {
			if (pid)
				memcpy(sv.v.pid, pid, AS_PID_LEN);
			else if (sv.person)
				rc = person_get(txn, s->capsules, sv.person, sv.v.pid, NULL);
			if (rc)
				break;
			stop = fn(ctx, &sv.v);
			if (stop)
				break;
		}
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT_DUP);
	}
	mdb_cursor_close(cur);
	if (stop)
		return stop < 0 ? stop : 0;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int cl_store_visits_at(struct cl_store *s, uint32_t venue_id, int64_t from, int64_t to,
		       int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	MDB_txn *txn;
	int rc;

	if (from > to)
		return 0;
	rc = read_begin(s, &txn);
	if (rc)
		return rc;
	rc = index_scan(s, txn, s->by_venue, venue_id, NULL, from, to, fn, ctx);
	mdb_txn_abort(txn);
	return store_error(rc);
}

int cl_store_visits_of(struct cl_store *s, const uint8_t pid[AS_PID_LEN], int64_t from,
		       int64_t to, int (*fn)(void *ctx, const struct cl_visit *v), void *ctx)
{
	MDB_txn *txn;
	uint32_t person;
	int rc;

	if (from > to || pid_is_zero(pid))
		return 0;
	rc = read_begin(s, &txn);
	if (rc)
		return rc;
	rc = person_of(txn, s->persons, pid, &person);
	if (rc == 0)
		rc = index_scan(s, txn, s->by_pid, person, pid, from, to, fn, ctx);
	else if (rc == MDB_NOTFOUND)
		rc = 0;
	mdb_txn_abort(txn);
	return store_error(rc);
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
	mdb_txn_abort(txn);
	return store_error(rc);
}

/* ---- retention ----------------------------------------------------------------- */

/* Delete visit sv (found at the by_day cursor cur) from every database, and
 * its person (persons and capsules) if that was the person's last visit. */
static int purge_visit(struct cl_store *s, MDB_txn *txn, MDB_cursor *cur,
		       const struct stored_visit *sv)
{
	uint8_t vid[VID_LEN], ent[IDX_LEN], vkey[4], pkey[4], pid[AS_PID_LEN];
	MDB_val key, val;
	int rc;

	put_vid(vid, sv->v.vid);
	idx_entry(ent, sv->v.entry, sv->v.vid);
	as_put_be32(vkey, sv->v.venue_id);
	as_put_be32(pkey, sv->person);
	key = (MDB_val){4, vkey};
	val = (MDB_val){IDX_LEN, ent};
	rc = mdb_del(txn, s->by_venue, &key, &val);
	if (!rc && sv->person) {
		key = (MDB_val){4, pkey};
		val = (MDB_val){IDX_LEN, ent};
		rc = mdb_del(txn, s->by_pid, &key, &val);
	}
	if (!rc) {
		key = (MDB_val){VID_LEN, vid};
		rc = mdb_del(txn, s->visits, &key, NULL);
	}
	if (rc == MDB_NOTFOUND)
		return MDB_CORRUPTED; /* the indexes disagree */
	if (!rc)
		rc = mdb_cursor_del(cur, 0);
	if (rc || !sv->person)
		return rc;
	key = (MDB_val){4, pkey};
	rc = mdb_get(txn, s->by_pid, &key, &val);
	if (rc != MDB_NOTFOUND)
		return rc; /* 0: the person has visits left */
	rc = person_get(txn, s->capsules, sv->person, pid, NULL);
	if (!rc) {
		key = (MDB_val){AS_PID_LEN, pid};
		rc = mdb_del(txn, s->persons, &key, NULL);
	}
	if (!rc) {
		key = (MDB_val){4, pkey};
		rc = mdb_del(txn, s->capsules, &key, NULL);
	}
	return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
}

/*
 * One purge transaction: walk by_day from position (*day, *vid) and delete
 * visits with entry < horizon until max are deleted.  The position moves
 * past every entry looked at, so visits kept on the horizon's own day are
 * looked at once per purge, not once per slice.  *more = 1 when stopped by
 * max with entries left to look at.
 */
static int purge_slice(struct cl_store *s, MDB_txn *txn, int64_t horizon, uint64_t *day,
		       uint64_t *vid, size_t max, uint64_t *deleted, int *more)
{
	const uint64_t horizon_day = time32(horizon) / DAY_SECONDS;
	MDB_cursor *cur;
	MDB_stat ms;
	uint64_t steps, budget;
	int rc;

	*deleted = 0;
	*more = 0;
	rc = mdb_stat(txn, s->by_day, &ms);
	if (!rc)
		rc = mdb_cursor_open(txn, s->by_day, &cur);
	if (rc)
		return rc;
	/* Each step deletes or passes one entry, or passes one empty key. */
	budget = 2 * (uint64_t)ms.ms_entries + 2;
	for (steps = 0; steps < budget && *day <= horizon_day; steps++) {
		uint8_t kbuf[4], vbuf[VID_LEN];
		MDB_val key = {4, kbuf}, val = {VID_LEN, vbuf};
		struct stored_visit sv;
		uint64_t at_day, at_vid;

		as_put_be32(kbuf, (uint32_t)*day);
		put_vid(vbuf, *vid);
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
		if (rc == 0 && key.mv_size == 4 && as_get_be32(key.mv_data) == *day && *vid) {
			key = (MDB_val){4, kbuf};
			val = (MDB_val){VID_LEN, vbuf};
			rc = mdb_cursor_get(cur, &key, &val, MDB_GET_BOTH_RANGE);
			if (rc == MDB_NOTFOUND) {
				*day += 1;
				*vid = 0;
				rc = 0;
				continue;
			}
		}
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break;
		}
		if (rc)
			break;
		if (key.mv_size != 4 || val.mv_size != VID_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		at_day = as_get_be32(key.mv_data);
		at_vid = get_vid(val.mv_data);
		*day = at_day;
		*vid = at_vid;
		if (at_day > horizon_day)
			break;
		if (*deleted >= max) {
			*more = 1;
			break;
		}
		rc = visit_get(txn, s->visits, at_vid, &sv);
		if (!rc && time32(sv.v.entry) / DAY_SECONDS != at_day)
			rc = MDB_CORRUPTED;
		if (!rc && sv.v.entry < horizon) {
			rc = purge_visit(s, txn, cur, &sv);
			if (!rc)
				(*deleted)++;
		}
		if (rc)
			break;
		if (at_vid == VID_MAX) {
			*day = at_day + 1;
			*vid = 0;
		} else {
			*vid = at_vid + 1;
		}
	}
	mdb_cursor_close(cur);
	return rc;
}

int cl_store_purge(struct cl_store *s, int64_t horizon, size_t max_per_txn, uint64_t *deleted)
{
	uint64_t day = 0, vid = 0, total = 0;
	int rc = 0, more = 1;

	if (max_per_txn == 0)
		max_per_txn = PURGE_DEFAULT_SLICE;
	/* Every slice but the last deletes max_per_txn visits, so the number
	 * of slices is bounded by the number of stored visits. */
	while (more) {
		MDB_txn *txn;
		uint64_t n = 0;

		rc = write_begin(s, &txn);
		if (rc)
			break;
		rc = purge_slice(s, txn, horizon, &day, &vid, max_per_txn, &n, &more);
		rc = write_end(s, txn, rc);
		if (rc)
			break;
		total += n;
	}
	if (deleted)
		*deleted = total;
	return rc;
}
