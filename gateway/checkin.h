/*
 * checkin.h - the check-in pipeline: one scanned line or one paper-register
 * entry in, exactly one outcome out.
 *
 * Outcomes: accepted (only once the record is durable in the journal),
 * duplicate (the same pid already checked in within the window, or the same
 * register row imported before), rejected with a reason, or not collecting
 * (the alert level is below the collection threshold).
 */
#ifndef GW_CHECKIN_H
#define GW_CHECKIN_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/capsule.h"
#include "clock.h"
#include "journal.h"
#include "policy_store.h"
#include "recent.h"
#include "writer.h"

/* Times the gateway accepts for a check-in (and, with a trusted clock,
 * keeps): no later than now + GW_TIME_SKEW (clocks differ a little, staff
 * round), no older than the retention; a typed exit at most GW_MAX_STAY
 * after its entry. */
#define GW_TIME_SKEW 600
#define GW_MAX_STAY 86400

enum gw_outcome {
	GW_OUTCOME_ACCEPTED,
	GW_OUTCOME_DUPLICATE,
	GW_OUTCOME_REJECTED,
	GW_OUTCOME_NOT_COLLECTING
};

/* "accepted", "duplicate", "rejected", "not-collecting". */
const char *gw_outcome_name(enum gw_outcome o);

struct gw_outcome_event {
	enum gw_outcome outcome;
	const char *reason;    /* static; "" unless rejected */
	const char *source;    /* borrowed: the scan source's name */
	uint8_t kind;          /* AS_REC_*, or 0 if unknown */
	uint64_t seq;          /* journal seq when accepted */
	int64_t time;          /* entry time (0 if unknown) */
	uint16_t headcount;
};

/* Called exactly once per submitted check-in, on the loop thread, with ev
 * valid only during the call. */
typedef void (*gw_outcome_cb)(void *ctx, const struct gw_outcome_event *ev);

struct gw_checkin_config {
	int64_t freshness;          /* seconds, pass timestamp vs clock */
	int64_t duplicate_window;   /* seconds */
	int min_level;              /* collect at alert level >= this */
	int64_t retention;          /* seconds; older manual entries refused */
};

struct gw_checkin_counters {
	uint64_t accepted, duplicate, rejected, not_collecting, storage_full;
};

struct gw_checkin {
	struct gw_checkin_config cfg;
	const uint8_t *authority_pk;          /* borrowed */
	const uint8_t *import_key;            /* borrowed, 32 bytes */
	struct gw_policy_store *policy;       /* borrowed */
	struct gw_clock *clock;               /* borrowed */
	struct gw_writer *writer;             /* borrowed */
	struct gw_recent recent;              /* owned */
	gw_outcome_cb observer;               /* log + event stream; may be NULL */
	void *observer_ctx;
	struct gw_checkin_counters counters;
	int last_error;                       /* last storage error, 0 if none */
	unsigned in_flight;                   /* submitted, not yet answered */
};

/* A paper-register entry as it reaches the daemon: already sealed. */
struct gw_manual_entry {
	int64_t entry_time;
	int64_t exit_time;                    /* 0 = none */
	uint16_t headcount;
	uint32_t entered_by;                  /* staff uid (from the socket peer) */
	uint8_t capsule[AS_CAPSULE_LEN];
	uint8_t row_digest[32];               /* for idempotent import */
	int has_row_digest;
};

/* Initialise (borrowed pointers must outlive c).  Loop thread. */
int gw_checkin_init(struct gw_checkin *c, const struct gw_checkin_config *cfg);
void gw_checkin_free(struct gw_checkin *c);

/* Refill the duplicate-window table from the newest journal records. */
int gw_checkin_load_recent(struct gw_checkin *c, struct gw_journal *j);

/* Process one scanned line (len bytes, not necessarily NUL-terminated).
 * cb(ctx, ...) runs exactly once, possibly before this returns. */
void gw_checkin_scan(struct gw_checkin *c, const char *line, size_t len, const char *source,
		     gw_outcome_cb cb, void *ctx);

/* Record a paper-register entry.  cb runs exactly once. */
void gw_checkin_manual(struct gw_checkin *c, const struct gw_manual_entry *m,
		       const char *source, gw_outcome_cb cb, void *ctx);

/* Report an outcome that never reached the pipeline (e.g. an oversized
 * line dropped by a source) to cb and the observer. */
void gw_checkin_report(struct gw_checkin *c, enum gw_outcome o, const char *reason,
		       const char *source, gw_outcome_cb cb, void *ctx);

#endif
