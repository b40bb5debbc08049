/*
 * lmdb_registry.c - the LMDB store's registry: gateways (their keys,
 * venues, revocation and ingest state) and venues (lmdb_layout.c has
 * their layout).  Enrolment keeps a revoked gateway revoked and refuses
 * another key under a known gateway id; the ingest state is written only
 * by ingest (lmdb_ingest.c).  Threads: as store.h says.
 */
#include "lmdb_registry.h"
#include "pg_store.h"

#include <errno.h>
#include <stdlib.h>

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

int store_venue_decode(struct cl_venue *v, uint32_t id, const MDB_val *val)
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

/* ---- registry ------------------------------------------------------------ */

int store_gateway_get(MDB_txn *txn, MDB_dbi dbi, const uint8_t gw_id[AS_GWID_LEN],
		       struct stored_gateway *sg)
{
	MDB_val key = {AS_GWID_LEN, (void *)gw_id}, val;
	int rc = mdb_get(txn, dbi, &key, &val);

	return rc ? rc : gateway_decode(sg, gw_id, &val);
}

int store_gateway_put(MDB_txn *txn, MDB_dbi dbi, const struct stored_gateway *sg)
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
			rc = store_venue_decode(&old, venue_id, &val);
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
	rc = store_gateway_get(txn, s->gateways, gw->gw_id, &sg);
	if (rc == 0) {
		if (memcmp(sg.g.pk, gw->pk, AS_SIGN_PK_LEN) != 0)
			return AS_E_EXISTS;
		sg.g.venue_id = venue_id; /* everything else is kept, revoked too */
		return store_gateway_put(txn, s->gateways, &sg);
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	rc = as_lmdb_meta_get_u64(txn, s->meta, "next_gw", &next_gw);
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
	rc = store_gateway_put(txn, s->gateways, &sg);
	return rc ? rc : as_lmdb_meta_put_u64(txn, s->meta, "next_gw", next_gw + 1);
}

int cl_store_enroll(struct cl_store *s, const struct cl_gateway *gw, const struct cl_venue *v)
{
	if (s->pg)
		return cl_pg_enroll(s->pg, gw, v);
	uint32_t venue_id = v ? v->id : gw ? gw->venue_id : 0;
	MDB_txn *txn;
	int rc;

	if (venue_id == 0 || (v && gw && gw->venue_id && gw->venue_id != v->id))
		return AS_E_FIELD;
	if (v && (rc = venue_check(v)) != 0)
		return rc;
	rc = store_write_begin(s, &txn);
	if (rc)
		return rc;
	return store_write_end(s, txn, enroll_txn(s, txn, gw, v, venue_id));
}

int cl_store_revoke(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN], int64_t now)
{
	if (s->pg)
		return cl_pg_revoke(s->pg, gw_id, now);
	struct stored_gateway sg;
	MDB_txn *txn;
	int rc = store_write_begin(s, &txn);

	if (rc)
		return rc;
	rc = store_gateway_get(txn, s->gateways, gw_id, &sg);
	if (!rc && !sg.g.revoked) {
		sg.g.revoked = 1;
		sg.g.revoked_at = now;
		rc = store_gateway_put(txn, s->gateways, &sg);
	}
	return store_write_end(s, txn, rc);
}

int cl_store_get_gateway(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
			 struct cl_gateway *out)
{
	if (s->pg)
		return cl_pg_get_gateway(s->pg, gw_id, out);
	struct stored_gateway sg;
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);

	if (rc)
		return rc;
	rc = store_gateway_get(txn, s->gateways, gw_id, &sg);
	mdb_txn_abort(txn);
	if (!rc)
		*out = sg.g;
	return store_error(rc);
}

int cl_store_get_venue(struct cl_store *s, uint32_t venue_id, struct cl_venue *out)
{
	if (s->pg)
		return cl_pg_get_venue(s->pg, venue_id, out);
	uint8_t kbuf[4];
	MDB_val key = {4, kbuf}, val;
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);

	if (rc)
		return rc;
	as_put_be32(kbuf, venue_id);
	rc = mdb_get(txn, s->venues, &key, &val);
	if (!rc)
		rc = store_venue_decode(out, venue_id, &val);
	mdb_txn_abort(txn);
	return store_error(rc);
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
	if (s->pg)
		return cl_pg_each_gateway(s->pg, fn, ctx);
	struct each_gateway_arg a = {fn, ctx};

	return store_walk(s, s->gateways, each_gateway_entry, &a);
}

struct each_venue_arg {
	int (*fn)(void *ctx, const struct cl_venue *v);
	void *ctx;
};

static int each_venue_entry(void *arg, const MDB_val *key, const MDB_val *val)
{
	struct each_venue_arg *a = arg;
	struct cl_venue v;

	if (key->mv_size != 4 || store_venue_decode(&v, as_get_be32(key->mv_data), val))
		return MDB_CORRUPTED;
	return a->fn(a->ctx, &v);
}

int cl_store_each_venue(struct cl_store *s, int (*fn)(void *ctx, const struct cl_venue *v),
			void *ctx)
{
	if (s->pg)
		return cl_pg_each_venue(s->pg, fn, ctx);
	struct each_venue_arg a = {fn, ctx};

	return store_walk(s, s->venues, each_venue_entry, &a);
}

/* Raise venue's longest visit to span (seconds) if it is longer. */
int store_venue_raise_longest(MDB_txn *txn, MDB_dbi venues, uint32_t venue, uint32_t span)
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
		rc = store_venue_decode(&v, venue, &val);
	if (rc || v.longest_visit >= span)
		return rc;
	v.longest_visit = span;
	val = (MDB_val){venue_encode(vbuf, &v), vbuf};
	return mdb_put(txn, venues, &key, &val, 0);
}
