/*
 * pg_store.h - the store's second implementation: PostgreSQL 15 as the
 * system of record of the cluster mode (private to cloud/store/; callers
 * see store.h only).  cl_store_open with a "postgresql://" (or
 * "postgres://") location opens it; each store.h function that the
 * cluster mode serves then runs here instead of on LMDB:
 *   - the registry (enrol, revoke, get, each);
 *   - ingest (batches, chained batches, app check-ins and check-outs,
 *     heartbeats, reject counters), one PostgreSQL transaction per ingest
 *     transaction, durable when cl_store_ingest_commit returns;
 *   - the journal chain followed per gateway and its events;
 *   - visit tokens: the issuer's issues, token records' first uses,
 *     replays and records waiting for their issue;
 *   - statistics, reject counters, and the retention purge (whole day
 *     partitions dropped).
 * The trace queries (cl_reader_*, cl_store_visits_*, cl_store_capsule)
 * are the index nodes' (LMDB): here they answer -EOPNOTSUPP with
 * cl_store_last_error saying so.
 *
 * Threads: a struct cl_pg keeps a small pool of connections under a
 * mutex, so any thread may call; an ingest transaction holds one
 * connection from begin to commit or abort.
 */
#ifndef CL_STORE_PG_STORE_H
#define CL_STORE_PG_STORE_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

struct cl_pg;
struct cl_pg_ingest;

/* Does location name a PostgreSQL store? */
int cl_pg_is_uri(const char *location);

/* Connect (checking the server), and, unless readonly, apply the schema's
 * migrations (cloud/sql/) and make the day partitions ahead.  err names
 * the store (the URI without its password) and the fix. */
int cl_pg_open(struct cl_pg **out, const char *uri, int readonly, char *err, size_t err_len);
void cl_pg_close(struct cl_pg *pg);
/* The schema version the store holds, and the newest this build knows. */
int cl_pg_schema_version(struct cl_pg *pg, int *stored, int *known);

int cl_pg_enroll(struct cl_pg *pg, const struct cl_gateway *gw, const struct cl_venue *v);
int cl_pg_revoke(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN], int64_t now);
int cl_pg_get_gateway(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN], struct cl_gateway *out);
int cl_pg_get_venue(struct cl_pg *pg, uint32_t venue_id, struct cl_venue *out);
int cl_pg_each_gateway(struct cl_pg *pg, int (*fn)(void *ctx, const struct cl_gateway *g),
		       void *ctx);
int cl_pg_each_venue(struct cl_pg *pg, int (*fn)(void *ctx, const struct cl_venue *v), void *ctx);

/* What a batch carries besides its records, borrowed for the call: the
 * marks of cl_store_ingest_refuse (refused NULL: none), and tokenid.key
 * (NULL: not set; a batch with a token record is then AS_E_CONFIG). */
struct cl_pg_batch_marks {
	const uint8_t *refused;
	size_t n_refused;
	const uint8_t *token_id_key;
};

int cl_pg_ingest_begin(struct cl_pg *pg, struct cl_pg_ingest **out);
int cl_pg_ingest_chained_batch(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			       const struct cl_chain_batch *chain, const struct as_record *recs,
			       const uint8_t (*pids)[AS_PID_LEN], size_t n,
			       const struct cl_pg_batch_marks *marks, int64_t created, int64_t now,
			       struct cl_ingest_result *res);
int cl_pg_ingest_token_issues(struct cl_pg_ingest *in, const struct cl_token_issue *t, size_t n,
			      struct cl_tokens_result *res);
int cl_pg_ingest_count_reject(struct cl_pg_ingest *in, const char *reason);
int cl_pg_ingest_app(struct cl_pg_ingest *in, const struct cl_app_visit *a, int *outcome);
int cl_pg_ingest_app_exit(struct cl_pg_ingest *in, const uint8_t checkin_id[CL_APP_ID_LEN],
			  const uint8_t pid[AS_PID_LEN], int64_t exit, int *outcome);
int cl_pg_ingest_heartbeat(struct cl_pg_ingest *in, const struct as_heartbeat *hb, int64_t t,
			   int64_t now, int *replay);
int cl_pg_ingest_commit(struct cl_pg_ingest *in);
void cl_pg_ingest_abort(struct cl_pg_ingest *in);

int cl_pg_gateway_chain(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN],
			struct cl_chain_state *out);
int cl_pg_gateway_chain_events(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN],
			       int (*fn)(void *ctx, const struct cl_chain_event *ev), void *ctx);
int cl_pg_each_period(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN],
		      int (*fn)(void *ctx, const struct cl_period *p), void *ctx);

int cl_pg_stats(struct cl_pg *pg, struct cl_store_stats *st);
int cl_pg_each_reject(struct cl_pg *pg, int (*fn)(void *ctx, const char *reason, uint64_t count),
		      void *ctx);
int cl_pg_purge_outside(struct cl_pg *pg, int64_t horizon, int64_t limit, uint64_t *deleted);
/* What the trace queries answer here (see above). */
int cl_pg_not_served(const char *what);

#endif
