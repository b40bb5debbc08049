/*
 * pg_absent.c - the PostgreSQL store's entry points in a build without
 * libpq (-DANSHIM_POSTGRESQL=OFF, as the Raspberry Pi gateway package is
 * built): a postgresql:// location is still recognised, and opening it
 * says that this build cannot; nothing else can be reached, since no
 * store ever holds a PostgreSQL connection here.
 *
 * Invariant: every function but cl_pg_is_uri answers -EOPNOTSUPP.
 * Threads: any.
 */
#include "pg_store.h"
#include "lmdb_layout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The stubs below take the real functions' parameters and use none. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

int cl_pg_is_uri(const char *location)
{
	return location && (strncmp(location, "postgresql://", 13) == 0 ||
			    strncmp(location, "postgres://", 11) == 0);
}

int cl_pg_open(struct cl_pg **out, const char *uri, int readonly, char *err, size_t err_len)
{
	(void)uri;
	(void)readonly;
	*out = NULL;
	if (err && err_len)
		snprintf(err, err_len, "this build of Anshim has no PostgreSQL store (built "
			 "without libpq): use a store directory, or a build with PostgreSQL");
	return -EOPNOTSUPP;
}

void cl_pg_close(struct cl_pg *pg)
{
	(void)pg;
}

int cl_pg_not_served(const char *what)
{
	(void)what;
	return -EOPNOTSUPP;
}

#define ABSENT() { return -EOPNOTSUPP; }
#define ABSENT_IN() { return -EOPNOTSUPP; }

int cl_pg_schema_version(struct cl_pg *pg, int *stored, int *known)
ABSENT()
int cl_pg_enroll(struct cl_pg *pg, const struct cl_gateway *gw, const struct cl_venue *v)
ABSENT()
int cl_pg_revoke(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN], int64_t now)
ABSENT()
int cl_pg_get_gateway(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN], struct cl_gateway *out)
ABSENT()
int cl_pg_get_venue(struct cl_pg *pg, uint32_t venue_id, struct cl_venue *out)
ABSENT()
int cl_pg_each_gateway(struct cl_pg *pg, int (*fn)(void *ctx, const struct cl_gateway *g),
		       void *ctx)
ABSENT()
int cl_pg_each_venue(struct cl_pg *pg, int (*fn)(void *ctx, const struct cl_venue *v), void *ctx)
ABSENT()
int cl_pg_ingest_begin(struct cl_pg *pg, struct cl_pg_ingest **out)
ABSENT()
int cl_pg_ingest_chained_batch(struct cl_pg_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			       const struct cl_chain_batch *chain, const struct as_record *recs,
			       const uint8_t (*pids)[AS_PID_LEN], size_t n,
			       const struct cl_pg_batch_marks *marks, int64_t created, int64_t now,
			       struct cl_ingest_result *res)
ABSENT_IN()
int cl_pg_ingest_token_issues(struct cl_pg_ingest *in, const struct cl_token_issue *t, size_t n,
			      struct cl_tokens_result *res)
ABSENT_IN()
int cl_pg_ingest_count_reject(struct cl_pg_ingest *in, const char *reason)
ABSENT_IN()
int cl_pg_ingest_app(struct cl_pg_ingest *in, const struct cl_app_visit *a, int *outcome)
ABSENT_IN()
int cl_pg_ingest_app_exit(struct cl_pg_ingest *in, const uint8_t checkin_id[CL_APP_ID_LEN],
			  const uint8_t pid[AS_PID_LEN], int64_t exit, int *outcome)
ABSENT_IN()
int cl_pg_ingest_heartbeat(struct cl_pg_ingest *in, const struct as_heartbeat *hb, int64_t t,
			   int64_t now, int *replay)
ABSENT_IN()
int cl_pg_ingest_commit(struct cl_pg_ingest *in)
ABSENT_IN()
void cl_pg_ingest_abort(struct cl_pg_ingest *in)
{
	(void)in;
}
int cl_pg_gateway_chain(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN],
			struct cl_chain_state *out)
ABSENT()
int cl_pg_gateway_chain_events(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN],
			       int (*fn)(void *ctx, const struct cl_chain_event *ev), void *ctx)
ABSENT()
int cl_pg_each_period(struct cl_pg *pg, const uint8_t gw_id[AS_GWID_LEN],
		      int (*fn)(void *ctx, const struct cl_period *p), void *ctx)
ABSENT()
int cl_pg_stats(struct cl_pg *pg, struct cl_store_stats *st)
ABSENT()
int cl_pg_each_reject(struct cl_pg *pg, int (*fn)(void *ctx, const char *reason, uint64_t count),
		      void *ctx)
ABSENT()
int cl_pg_purge_outside(struct cl_pg *pg, int64_t horizon, int64_t limit, uint64_t *deleted)
ABSENT()

int cl_store_index_step(struct cl_store *index, struct cl_store *source, size_t budget,
			uint64_t *copied, uint64_t *behind)
{
	return -EOPNOTSUPP;
}

int cl_store_is_cluster(const char *location)
{
	return cl_pg_is_uri(location);
}

int cl_store_policy_history_add(struct cl_store *s, uint64_t seq, const char *line)
{
	(void)s;
	(void)seq;
	(void)line;
	return 0;
}

int cl_store_policy_history_read(struct cl_store *s, uint64_t *last, char **text, size_t *len)
{
	(void)s;
	(void)last;
	*text = NULL;
	*len = 0;
	return -EOPNOTSUPP;
}

int cl_store_policy_put(struct cl_store *s, uint64_t seq, int64_t issued, const void *data,
			size_t len)
{
	(void)s;
	(void)seq;
	(void)issued;
	(void)data;
	(void)len;
	return 0;
}

int cl_store_policy_newest(struct cl_store *s, uint64_t after, uint64_t *seq,
			   unsigned char **data, size_t *len)
{
	(void)s;
	(void)after;
	*seq = 0;
	*data = NULL;
	*len = 0;
	return -EOPNOTSUPP;
}
