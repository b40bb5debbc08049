/*
 * store.h - the cloud aggregator's LMDB store: the gateway/venue registry,
 * de-duplicated visits with their indexes, per-person sealed capsules,
 * ingest counters, and the queries tracing needs.
 *
 * One LMDB environment (a directory) shared by anshim-cloudd (which
 * ingests) and anshim-cloud (enroll, revoke, stats, trace, purge): LMDB
 * serialises writers across processes and readers never block them.
 *
 * Identity of a visit: (gateway id, record seq).  The store keeps, per
 * gateway, through_seq = the highest seq such that every record
 * 1..through_seq of that gateway is stored; a record with seq <= through_seq
 * is a duplicate and changes nothing.  A batch whose first record is past
 * through_seq + 1 is a gap: nothing of it is stored (the gateway resends
 * from through_seq + 1 after the ack).  Records of kind AS_REC_EXPIRED
 * (placeholders for records a gateway purged unsent) advance through_seq
 * and store nothing.
 *
 * Threads: a struct cl_store may be used from several threads; write
 * transactions (ingest, enroll, revoke, purge, counters) from one thread at
 * a time per process.  Read calls each open their own read transaction.
 * Units: times are unix seconds; durations minutes.
 */
#ifndef CL_STORE_H
#define CL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/capsule.h"
#include "anshim/chain.h"
#include "anshim/identity.h"
#include "anshim/record.h"
#include "coverage.h"

struct cl_store;

#define CL_NAME_MAX 127
#define CL_ADDRESS_MAX 255
#define CL_CATEGORY_MAX 63
#define CL_DEFAULT_DWELL 60

struct cl_venue {
	uint32_t id;                         /* operator-chosen, >= 1 */
	char name[CL_NAME_MAX + 1];
	char address[CL_ADDRESS_MAX + 1];
	char category[CL_CATEGORY_MAX + 1];
	uint16_t dwell_minutes;              /* default visit length, 1..1440 */
	uint32_t longest_visit;              /* seconds: the longest exit - entry of
					      * a visit stored here (0: none has an
					      * exit); kept by the store, enrolment
					      * leaves it as it is */
};

struct cl_gateway {
	uint8_t gw_id[AS_GWID_LEN];
	uint8_t pk[AS_SIGN_PK_LEN];
	uint32_t venue_id;
	int revoked;
	int64_t enrolled_at;
	int64_t revoked_at;                  /* 0 unless revoked */
	/* ingest state */
	uint64_t through_seq;
	uint64_t records;                    /* visits stored from this gateway */
	uint64_t batches;                    /* batches accepted */
	int64_t last_seen;                   /* cloud time of the last batch, 0 = never */
	int64_t last_created;                /* gateway's created time of that batch */
};

/* One stored visit, as tracing sees it. */
struct cl_visit {
	uint64_t vid;                        /* store-internal visit id */
	uint32_t person;                     /* store-internal person number, 0 = nobody */
	uint8_t pid[AS_PID_LEN];             /* all zero when person is 0 (and from
					      * the cl_reader queries, which leave
					      * it to cl_reader_pid) */
	uint32_t venue_id;
	int64_t entry;                       /* unix seconds */
	int64_t exit;                        /* 0 = none recorded (use dwell) */
	uint16_t headcount;
	uint8_t kind;                        /* AS_REC_PASS / CARD / MANUAL / APP */
	uint8_t flags;                       /* AS_REC_CLOCK_UNSYNCED, ... */
};

/* Open (creating) the store in dir.  readonly opens an existing store for
 * queries only.  err names dir on failure. */
int cl_store_open(struct cl_store **out, const char *dir, uint64_t map_size, int readonly,
		  char *err, size_t err_len);
void cl_store_close(struct cl_store *s);
/*
 * Move at most max_rows (0: a default) of the visits a store written
 * before visit blocks keeps one row each into their blocks, in one write
 * transaction; *moved gets how many it moved and *left how many remain
 * (0: done, and at once for a store that never had any, or the PostgreSQL
 * store).  The store works
 * the same before, during and after: its readers and writers look in both
 * places while rows remain.  Each call moves its rows whole, so an upgrade
 * cut short loses nothing; call it again to go on.  -EACCES on a store
 * opened read-only.  Threads: one that holds no write transaction on s.
 */
int cl_store_upgrade(struct cl_store *s, size_t max_rows, uint64_t *moved, uint64_t *left);
/* Does location name the cluster mode's PostgreSQL store (a
 * "postgresql://" or "postgres://" URI, which cl_store_open takes in place
 * of a directory)?  Then the registry, ingest, chains, coverage, counters
 * and the purge work on PostgreSQL, and the trace queries (readers,
 * cl_store_visits_*, cl_store_capsule, cl_store_data_version) answer
 * -EOPNOTSUPP: tracing runs on an index node's LMDB store. */
int cl_store_is_cluster(const char *location);
/* What changes whenever the store's data may have: *open_serial names this
 * opening of a store in this process (unique for the process's life) and
 * *last_txn is the id of the store's last committed write transaction, by
 * any process.  Equal pairs mean the same data; for caches keyed on it. */
int cl_store_data_version(struct cl_store *s, uint64_t *open_serial, uint64_t *last_txn);

/* ---- registry ---- */

/* Insert or update the venue, and enrol the gateway at it.  Re-enrolling
 * the same gateway id with the same key updates its venue; a different key
 * for an existing id is AS_E_EXISTS; a revoked gateway stays revoked.
 * gw NULL enrols the venue v alone (a poster-only venue). */
int cl_store_enroll(struct cl_store *s, const struct cl_gateway *gw, const struct cl_venue *v);
/* Mark revoked (idempotent).  AS_E_NOT_FOUND if not enrolled. */
int cl_store_revoke(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN], int64_t now);
int cl_store_get_gateway(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
			 struct cl_gateway *out);
int cl_store_get_venue(struct cl_store *s, uint32_t venue_id, struct cl_venue *out);
/* Call fn for each gateway (registry order) / venue (id order); stop when
 * fn returns nonzero. */
int cl_store_each_gateway(struct cl_store *s, int (*fn)(void *ctx, const struct cl_gateway *g),
			  void *ctx);
int cl_store_each_venue(struct cl_store *s, int (*fn)(void *ctx, const struct cl_venue *v),
			void *ctx);

/* ---- ingest ---- */

struct cl_ingest;   /* one write transaction covering many batches */

/* What the store follows of a gateway's chain. */
struct cl_chain_state {
	uint8_t journal_id[AS_JOURNAL_ID_LEN];
	uint8_t head[AS_CHAIN_LEN];  /* the link after seq */
	uint64_t seq;                /* the highest seq taken from this journal */
	int64_t time;                /* cloud time of that batch */
};

/* Per-batch outcome. */
struct cl_ingest_result {
	uint64_t through_seq;   /* after this batch */
	uint32_t stored;        /* new visits */
	uint32_t duplicates;    /* records at or below the old through_seq */
	uint32_t expired;       /* placeholders skipped */
	uint32_t refused;       /* records cl_store_ingest_refuse marked: taken
				 * (through_seq passes them), not stored */
	int gap;                /* 1: first record past through_seq + 1; nothing stored */
	uint32_t reconciled;    /* records past through_seq found stored already
				 * (same gateway, same content): not stored again */
	uint8_t chain_event;    /* enum cl_chain_event_kind recorded, 0 none */
	uint8_t chain_cause;    /* enum cl_chain_break_cause of a CL_CHAIN_BREAK */
	/* What the ack reports (anshim/ack.h), for a chained batch: a batch
	 * taken (stored, reconciled or a resend of what the store holds) its
	 * own journal id, last seq and head; a gap the chain the store
	 * follows.  has_chain 0: nothing to report (time unused). */
	int has_chain;
	struct cl_chain_state chain;
	/* Records of visit tokens (kind AS_REC_TOKEN) taken without a visit
	 * (see "visit tokens" below): their capsule has not arrived (kept
	 * waiting), or their token was used before (a replay, refused). */
	uint32_t tokens_waiting;
	uint32_t tokens_replayed;
};

int cl_store_ingest_begin(struct cl_store *s, struct cl_ingest **out);

/* Mark records of the next cl_store_ingest_batch / _chained_batch call on
 * in: record i with refused[i] nonzero (i < n) is taken like the others
 * (through_seq passes it, the gateway's ack covers it) but not stored, and
 * counted in res->refused.  refused is borrowed until that call, which
 * clears the marks whatever it returns. */
void cl_store_ingest_refuse(struct cl_ingest *in, const uint8_t *refused, size_t n);

/*
 * Add one verified batch of gateway gw (already checked: enrolled, not
 * revoked, signature valid): n records in seq order, with pids[i] the pid
 * to index record i under (for manual entries the pid the caller derived
 * from the opened capsule; for scans rec.pid).  capsule_of_pid: each
 * person's capsule is stored once (the latest seen replaces it).  created is
 * the batch header's time, now the cloud's.  Fills res.  Nothing is
 * visible to readers before cl_store_ingest_commit.
 */
int cl_store_ingest_batch(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			  const struct as_record *recs, const uint8_t (*pids)[AS_PID_LEN],
			  size_t n, int64_t created, int64_t now, struct cl_ingest_result *res);

/*
 * The hash chain of a version 2 batch (anshim/chain.h, batch.h): the
 * journal it comes from, the link before its first record, the link its
 * journal holds after the last, and each record's digest (n of them,
 * borrowed for the call; as_chain_unseal of the batch's seals), and the
 * window of times in which the cloud keeps live records, in which no
 * placeholder may lie (as_chain_verify).
 */
struct cl_chain_batch {
	uint8_t journal_id[AS_JOURNAL_ID_LEN];
	uint8_t prev[AS_CHAIN_LEN];
	uint8_t head[AS_CHAIN_LEN];
	const uint8_t (*digests)[AS_CHAIN_LEN];
	int64_t keep_from, keep_to; /* as_chain_verify's window */
};

/*
 * cl_store_ingest_batch for a batch that carries its chain (chain NULL: an
 * unchained version 1 batch, taken as cl_store_ingest_batch takes it).
 *
 * The store follows one chain per gateway: the journal id, the link after
 * the highest seq it took from it, and the links at the ends of the last
 * CL_CHAIN_POINTS batches.  A batch that extends the followed chain (its
 * records up to that seq fold to that link) is taken as usual.  Otherwise
 * it is judged, the judgement recorded as a chain event (below), and its
 * records, those at or below through_seq too, are reconciled by content
 * (those seqs may hold other records: a journal made anew, or a restored
 * copy that went on scanning before it reached the cloud): a record whose visit
 * this gateway already stored (same venue, entry, person, exit, kind and
 * headcount) counts in res->reconciled and is not stored again; the rest
 * are stored.  Either way the store then follows the batch's chain:
 *   - CL_CHAIN_START: the first chained batch of the gateway;
 *   - CL_CHAIN_NEW_JOURNAL: a journal id other than the followed one (the
 *     journal was lost or made anew while the device key was kept);
 *   - CL_CHAIN_FORK: the same journal, continuing an earlier link of it
 *     (a restored backup, after the gateway renumbered its unsent records):
 *     the link at the end of one of its last CL_CHAIN_POINTS batches, or
 *     (older) the link before a record the store holds, the batch's first;
 *   - CL_CHAIN_BREAK: the batch does not hold together (a record does not
 *     match its digest, or the digests do not fold to the head: a record
 *     was changed or removed in the journal; or a placeholder lies in
 *     chain->keep_from..keep_to: a live record turned into one), or it
 *     continues no link the
 *     store knows of its journal (records removed before it).
 * A batch wholly at or below through_seq is a resend (its records are
 * duplicates and nothing is judged) when its head is the link at the end
 * of one of the last CL_CHAIN_POINTS batches with the same last seq, or
 * its last record (not a placeholder) is held under the same seq;
 * otherwise it carries other records under those seqs and is judged and
 * reconciled as above.  A batch that continues a chain followed since a
 * fork or new journal below through_seq has its records between the
 * followed seq and through_seq reconciled.  A batch may record a BREAK
 * besides one of the others.
 */
int cl_store_ingest_chained_batch(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
				  const struct cl_chain_batch *chain,
				  const struct as_record *recs, const uint8_t (*pids)[AS_PID_LEN],
				  size_t n, int64_t created, int64_t now,
				  struct cl_ingest_result *res);

/* Count a rejected batch under reason (a short word: "bad-signature",
 * "unknown-gateway", "revoked", "malformed", "oversize", "gap"). */
int cl_store_ingest_count_reject(struct cl_ingest *in, const char *reason);

/* Commit (durable on return) or abort; both free in. */
int cl_store_ingest_commit(struct cl_ingest *in);
void cl_store_ingest_abort(struct cl_ingest *in);

/* What the last store call of this thread that failed with AS_E_STORE,
 * AS_E_CORRUPT or AS_E_FULL failed on, where the store noted it: the
 * operation, the database and LMDB's code, e.g. "appending to visits:
 * MDB_KEYEXIST (...)".  Kept until the thread's next write transaction
 * begins; "" when none was noted. */
const char *cl_store_last_error(void);

/* ---- the journal chains of gateways ---- */

#define CL_CHAIN_POINTS 64     /* batch-end links kept per gateway */

enum cl_chain_event_kind {
	CL_CHAIN_START = 1,
	CL_CHAIN_NEW_JOURNAL = 2,
	CL_CHAIN_FORK = 3,
	CL_CHAIN_BREAK = 4
};

enum cl_chain_break_cause {
	CL_BREAK_NONE = 0,
	CL_BREAK_UNLINKED = 1,       /* continues no link the store knows */
	CL_BREAK_RECORD_CHANGED = 2, /* a record does not match its digest */
	CL_BREAK_HEAD_MISMATCH = 3,  /* the digests do not fold to the head */
	CL_BREAK_EARLY_PLACEHOLDER = 4 /* a placeholder younger than retention:
					* a live record turned into one */
};

/* One chain event of a gateway (see cl_store_ingest_chained_batch). */
struct cl_chain_event {
	uint32_t n;                  /* 1, 2, ... per gateway, in order */
	uint8_t kind;                /* enum cl_chain_event_kind */
	uint8_t cause;               /* enum cl_chain_break_cause (BREAK only) */
	uint8_t journal_id[AS_JOURNAL_ID_LEN]; /* the batch's journal */
	uint64_t first_seq, last_seq; /* the batch that showed it */
	uint64_t at_seq;             /* FORK: the seq whose link the batch continues;
				      * BREAK record-changed: that record; else 0 */
	uint32_t reconciled;         /* the batch's records found stored already */
	int64_t time;                /* cloud time */
};

/* The chain the store follows for gateway gw_id: 0, or AS_E_NOT_FOUND (no
 * chained batch taken yet, or a store not yet upgraded, opened read-only).
 * Any thread. */
int cl_store_gateway_chain(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
			   struct cl_chain_state *out);

/* Call fn for each chain event of gateway gw_id, oldest first, until fn
 * returns nonzero (returned).  ev is valid during the call only.  Any
 * thread; runs inside one read transaction. */
int cl_store_gateway_chain_events(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
				  int (*fn)(void *ctx, const struct cl_chain_event *ev),
				  void *ctx);

/* "start", "new-journal", "fork", "break" ("unknown" otherwise); and
 * "unlinked", "record-changed", "head-mismatch" ("" for none).  Never
 * NULL. */
const char *cl_chain_event_name(uint8_t kind);
const char *cl_chain_cause_name(uint8_t cause);

/* ---- app check-ins (a wallet's own check-in at a venue code) ---- */

#define CL_APP_ID_LEN 32

struct cl_app_visit {
	uint8_t checkin_id[CL_APP_ID_LEN];  /* de-duplication key */
	uint8_t replay_key[CL_APP_ID_LEN];  /* one use per key; all zero: none */
	uint8_t pid[AS_PID_LEN];            /* not all zero */
	uint8_t capsule[AS_CAPSULE_LEN];
	uint32_t venue_id;
	int64_t entry;
	uint8_t flags;                      /* AS_REC_* flags */
};

enum cl_app_outcome {
	CL_APP_STORED = 1,     /* new visit (or a new exit) stored */
	CL_APP_DUPLICATE = 2,  /* the same check-in (or exit) was stored before */
	CL_APP_REPLAY = 3,     /* replay_key already used by another check-in */
	CL_APP_UNKNOWN = 4     /* check-out: no such check-in by that pid */
};

/* Store an app visit (kind AS_REC_APP) in the ingest transaction. */
int cl_store_ingest_app(struct cl_ingest *in, const struct cl_app_visit *a, int *outcome);
/* Record exit as the exit time of the app visit checkin_id made by pid (a
 * later check-out replaces an earlier one).  AS_E_FIELD if exit is before
 * the entry. */
int cl_store_ingest_app_exit(struct cl_ingest *in, const uint8_t checkin_id[CL_APP_ID_LEN],
			     const uint8_t pid[AS_PID_LEN], int64_t exit, int *outcome);

/* ---- visit tokens (pass version 2) ---- */

/*
 * A visit token is single-use: a gateway journals its scan as a record of
 * kind AS_REC_TOKEN whose pid field holds the token id, which the store
 * reads with tokenid.key (cl_store_set_token_id_key) as (issue serial,
 * index in the issue): anshim/token.h.  The issuer's capsule feed tells
 * the store, per issue, its serial, token count, expiry, the pid the
 * reveal service derived from its capsule and the holder's contact
 * capsule (cl_store_ingest_token_issues); the store keeps one row per
 * issue with a bit per token.  A batch's token record (past through_seq)
 * is then:
 *   - its token's first use, issue known: stored as a visit under that pid
 *     (kind AS_REC_TOKEN), the token's bit set;
 *   - its first use, issue not known yet (the feed is behind): kept
 *     waiting, durably, and stored when the issue arrives; counted in
 *     res->tokens_waiting;
 *   - a token used before by another record (or one its issue never had):
 *     a replay, refused (no visit), counted in res->tokens_replayed and in
 *     the store's replayed-tokens total;
 * and in every case taken (through_seq goes past it, the gateway may
 * forget it).  Tokens, the holders' contact capsules and waiting records
 * go with retention (cl_store_purge_outside): an issue whose expiry lies
 * before the horizon (no record of it can be taken any more: its entry
 * would be older still), a waiting record with its entry time.
 */
struct cl_token_issue {
	uint64_t serial;                 /* 1..AS_TOKEN_SERIAL_MAX */
	uint8_t count;                   /* tokens in it: 1..64 */
	int64_t expires_at;
	uint8_t pid[AS_PID_LEN];         /* all zero: its capsule did not open
					  * (its visits are stored unattributed) */
	const uint8_t *contact;          /* the holder's contact capsule
					  * (AS_CAPSULE_LEN bytes, borrowed), or NULL */
};

struct cl_tokens_result {
	uint32_t added;                  /* issues new to the store */
	uint32_t known;                  /* already known (a batch sent again) */
	uint32_t conflicting;            /* of those, known with another pid,
					  * count or expiry: a serial issued
					  * twice (kept as first stored) */
	uint32_t resolved;               /* waiting records stored as visits */
};

/* The key that reads token ids (tokenid.key; copied).  Until it is set, a
 * batch with a token record is refused (AS_E_CONFIG) and its gateway
 * keeps it.  Set it before the ingest thread starts. */
void cl_store_set_token_id_key(struct cl_store *s, const uint8_t key[32]);

/* Add n issues of tokens in the ingest transaction (an issue already
 * known changes nothing); records waiting for one of their tokens are
 * stored as visits now.  AS_E_FIELD for a serial, count or expiry (u32)
 * out of range. */
int cl_store_ingest_token_issues(struct cl_ingest *in, const struct cl_token_issue *t,
				 size_t n, struct cl_tokens_result *res);

/* ---- coverage (gateway heartbeats, coverage.h) ---- */

/*
 * Merge heartbeat hb (already checked: its gateway enrolled, not revoked,
 * signature valid) filed at time t (cl_coverage_time) and received at now
 * into its gateway's coverage periods, in the ingest transaction: it
 * extends the period it falls in or next to, joins two periods when it
 * closes the gap between them, or starts a new one.  A heartbeat filed at
 * its receive time (t == now) that is not newer than the latest one when
 * that is of the same boot (cl_heartbeat_is_replay), or that is of a boot
 * a newer boot has followed (the first boot of a stored period, or the
 * last boot of one but the latest), is a replay: nothing changes and
 * *replay (if not NULL) is set; otherwise *replay is 0.
 */
int cl_store_ingest_heartbeat(struct cl_ingest *in, const struct as_heartbeat *hb, int64_t t,
			      int64_t now, int *replay);

/* Call fn for each stored coverage period of gateway gw_id, in start
 * order, inside one read transaction; stop when fn returns nonzero.  A
 * store opened read-only that predates coverage has none. */
int cl_store_each_period(struct cl_store *s, const uint8_t gw_id[AS_GWID_LEN],
			 int (*fn)(void *ctx, const struct cl_period *p), void *ctx);

/* ---- statistics ---- */

struct cl_store_stats {
	uint64_t visits;
	uint64_t people;            /* capsules stored */
	uint64_t batches;
	uint64_t rejects_total;
	uint64_t map_used, map_size; /* bytes */
	uint64_t tokens;            /* issues of visit tokens known (unexpired) */
	uint64_t tokens_waiting;    /* token records waiting for their issue */
	uint64_t tokens_replayed;   /* token records refused as replays, ever */
};
int cl_store_stats(struct cl_store *s, struct cl_store_stats *st);
/* Call fn for each reject reason counter. */
int cl_store_each_reject(struct cl_store *s,
			 int (*fn)(void *ctx, const char *reason, uint64_t count), void *ctx);

/* ---- queries (tracing) ---- */

/* Visits at venue with entry in [from, to], in entry order. */
int cl_store_visits_at(struct cl_store *s, uint32_t venue_id, int64_t from, int64_t to,
		       int (*fn)(void *ctx, const struct cl_visit *v), void *ctx);
/* Visits of pid with entry in [from, to], in entry order. */
int cl_store_visits_of(struct cl_store *s, const uint8_t pid[AS_PID_LEN], int64_t from,
		       int64_t to, int (*fn)(void *ctx, const struct cl_visit *v), void *ctx);
/* The latest capsule seen of pid: 0, AS_E_NOT_FOUND. */
int cl_store_capsule(struct cl_store *s, const uint8_t pid[AS_PID_LEN],
		     uint8_t capsule[AS_CAPSULE_LEN]);

/*
 * A reader: one read transaction (one consistent snapshot) for many
 * queries, as a trace makes.  Its queries work in person numbers and leave
 * cl_visit.pid zero: a visit's person is found from the index entry alone,
 * and cl_reader_pid gives the pid of the few people a caller reports.  A
 * reader belongs to one thread at a time; end it soon (LMDB keeps the pages
 * of its snapshot until then).
 */
struct cl_reader;
int cl_reader_begin(struct cl_store *s, struct cl_reader **out);
void cl_reader_end(struct cl_reader *r);
/* A second reader on r's snapshot, for another thread to read beside r:
 * 0, or -EAGAIN if the store changed since r began (use r alone). */
int cl_reader_begin_twin(struct cl_reader *r, struct cl_reader **out);
int cl_reader_visits_at(struct cl_reader *r, uint32_t venue_id, int64_t from, int64_t to,
			int (*fn)(void *ctx, const struct cl_visit *v), void *ctx);
int cl_reader_visits_of(struct cl_reader *r, uint32_t person, int64_t from, int64_t to,
			int (*fn)(void *ctx, const struct cl_visit *v), void *ctx);
/*
 * From now on, cl_reader_visits_at leaves out the visits of every person
 * p < n with 0 < level[p] <= max (people a caller has already dealt with)
 * without decoding them; level must stay valid and unchanged meanwhile.
 * level NULL: report everyone again.  A skipped entry is not checked for
 * corruption.
 */
void cl_reader_skip_people(struct cl_reader *r, const uint8_t *level, size_t n, uint8_t max);
/*
 * The visits of many people at once: for each span i, the visits of
 * spans[i].person with entry in [from, to], to fn with i.  spans must be
 * sorted by person (AS_E_FIELD if not); a span with from > to or person 0
 * is skipped.  Visits come day by day, within a day in span order, each
 * span's in entry order.  Cheaper than a cl_reader_visits_of per person
 * when they are many: neighbouring people's keys are read in one pass.
 */
struct cl_reader_span {
	uint32_t person;
	int64_t from, to;
};
int cl_reader_visits_of_many(struct cl_reader *r, const struct cl_reader_span *spans, size_t n,
			     int (*fn)(void *ctx, size_t span, const struct cl_visit *v),
			     void *ctx);
/* pid -> person number: 0 or AS_E_NOT_FOUND (no stored visit). */
int cl_reader_person(struct cl_reader *r, const uint8_t pid[AS_PID_LEN], uint32_t *person);
/* person number -> pid: 0 or AS_E_NOT_FOUND. */
int cl_reader_pid(struct cl_reader *r, uint32_t person, uint8_t pid[AS_PID_LEN]);
int cl_reader_venue(struct cl_reader *r, uint32_t venue_id, struct cl_venue *out);
/* One more than the highest person number handed out so far (person
 * numbers are dense from 1), for callers that index people by number. */
int cl_reader_person_limit(struct cl_reader *r, uint32_t *limit);

/* ---- index nodes (cluster mode) ---- */

/*
 * One step of an index node: copy into the LMDB store index what the
 * PostgreSQL store source holds beyond it, at most budget records (0:
 * 10,000; up to half of them app check-ins), enrolling the gateways and
 * venues it lacks: gateways' visits (each gateway's cursor is index's own
 * through_seq for it, committed with the rows) and app check-ins with
 * their check-outs (the cursor is a pair of PostgreSQL snapshots kept in
 * index's meta, committed with the rows).  pg_tail.c says why neither
 * misses nor repeats a row under concurrent ingest.  *copied gets the
 * visits stored, *behind the records (gateways' and app check-ins) source
 * holds beyond index after the step (0: caught up).  The step records
 * its lag in index (cl_store_index_lag).  The caller's thread, holding no
 * write transaction on index.
 */
int cl_store_index_step(struct cl_store *index, struct cl_store *source, size_t budget,
			uint64_t *copied, uint64_t *behind);

/* How far behind PostgreSQL an index node's store was when its node last
 * read PostgreSQL (recorded by cl_store_index_step; refreshed at least
 * every 10 seconds while the node runs, so an old read_at means a node
 * that stopped). */
struct cl_index_lag {
	int64_t read_at;       /* unix time; 0: no index node fills this store */
	uint64_t behind;       /* records PostgreSQL held beyond the store then */
	int64_t caught_up_at;  /* the last read that found none (0: never) */
};
/* Read s's lag: 0 with out->read_at 0 for a store no index node fills
 * (an embedded store, or a PostgreSQL one); an Anshim code on failure.
 * Any thread; read-only stores too. */
int cl_store_index_lag(struct cl_store *s, struct cl_index_lag *out);

/* ---- the policy history (cluster mode) ---- */

/*
 * The PostgreSQL store keeps the policy history (STORE/policy-history, one
 * JSON line per policy issued) so that every ingest node judges records by
 * the same one.  cl_store_policy_history_add keeps line (without its
 * newline) as policy seq's (a seq kept already keeps its first line); an
 * LMDB store keeps none there (its history is the file alone): 0, nothing
 * done.  cl_store_policy_history_read gives, when the history holds
 * another last seq than *last, its whole text (the lines in seq order,
 * each ending in a newline; malloc'd, the caller frees it) in *text and
 * *len, and that seq in *last; otherwise *text is NULL.  On an LMDB store
 * it answers -EOPNOTSUPP.  Any thread.
 */
int cl_store_policy_history_add(struct cl_store *s, uint64_t seq, const char *line);
int cl_store_policy_history_read(struct cl_store *s, uint64_t *last, char **text, size_t *len);

/*
 * The PostgreSQL store also keeps the signed policies themselves, so that
 * every ingest node republishes the newest (cloud/sql/004_policies.sql).
 * cl_store_policy_put keeps data (len bytes, the encoded signed policy) as
 * policy seq's, issued at issued (a seq kept already keeps its first
 * copy); an LMDB store keeps none (its policy is STORE/policy alone): 0,
 * nothing done.  cl_store_policy_newest gives, when the store holds a
 * policy whose seq is above after, the newest one's bytes (malloc'd, the
 * caller frees them) in *data and *len and its seq in *seq; otherwise
 * *data is NULL.  The caller verifies the signature before it trusts the
 * bytes.  On an LMDB store it answers -EOPNOTSUPP.  Any thread.
 */
int cl_store_policy_put(struct cl_store *s, uint64_t seq, int64_t issued, const void *data,
			size_t len);
int cl_store_policy_newest(struct cl_store *s, uint64_t after, uint64_t *seq,
			   unsigned char **data, size_t *len);

/* ---- retention ---- */

/*
 * Keep what lies in [horizon, limit]: delete every visit with entry before
 * horizon or after limit from all indexes (and app check-ins' entries with
 * them), the capsules of people left with no visit, and the coverage
 * periods that ended before horizon or start after limit.  The callers
 * pass now - retention and now + time_skew (the clock skew ingest allows),
 * so visits stored with a time further ahead (by a store written before
 * ingest refused them, or by a cloud whose clock was wrong) go too.  Works
 * in transactions of at most max_per_txn visits (then people examined) so
 * ingest can interleave; *deleted gets the total visits.  Every invariant
 * of the store holds after each transaction.
 */
int cl_store_purge_outside(struct cl_store *s, int64_t horizon, int64_t limit, size_t max_per_txn,
			   uint64_t *deleted);
/* cl_store_purge_outside with no limit: only what lies before horizon. */
int cl_store_purge(struct cl_store *s, int64_t horizon, size_t max_per_txn, uint64_t *deleted);
/*
 * The retention purge as the daemon and the CLI run it at time now: keep
 * [now - retention, now + skew], unless some gateway's last batch was
 * received at a later cloud time (last_seen) than now + skew, which means
 * this clock has gone back since: then nothing is purged for being in the
 * future, and *clock_behind gets that time (0 otherwise), so the caller
 * can say so.  A clock that went back must not delete the newest visits as
 * if they were dated ahead.  Otherwise as cl_store_purge_outside.
 */
int cl_store_purge_now(struct cl_store *s, int64_t now, int64_t retention, int64_t skew,
		       size_t max_per_txn, uint64_t *deleted, int64_t *clock_behind);

#endif
