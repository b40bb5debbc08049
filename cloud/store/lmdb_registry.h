/*
 * lmdb_registry.h - the registry's entries as the other parts of the LMDB
 * store read and write them inside their own transactions (private to
 * cloud/store/).
 */
#ifndef CL_STORE_LMDB_REGISTRY_H
#define CL_STORE_LMDB_REGISTRY_H

#include "lmdb_layout.h"

int store_gateway_get(MDB_txn *txn, MDB_dbi dbi, const uint8_t gw_id[AS_GWID_LEN],
		      struct stored_gateway *sg);
int store_gateway_put(MDB_txn *txn, MDB_dbi dbi, const struct stored_gateway *sg);
int store_venue_decode(struct cl_venue *v, uint32_t id, const MDB_val *val);
/* Raise venue's longest visit to span (seconds) if it is longer. */
int store_venue_raise_longest(MDB_txn *txn, MDB_dbi venues, uint32_t venue, uint32_t span);

/* The span of a visit with an exit, as store_venue_raise_longest takes it. */
static inline uint32_t visit_span(int64_t entry, int64_t exit)
{
	uint64_t d;

	if (exit == 0 || exit <= entry)
		return 0;
	d = (uint64_t)exit - (uint64_t)entry;
	return d > SPAN_MAX ? SPAN_MAX : (uint32_t)d;
}

#endif
