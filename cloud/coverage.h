/*
 * coverage.h - a gateway's coverage: the periods the cloud heard its
 * heartbeats, and the silences between them.
 *
 * The cloud does not keep a row per heartbeat.  Heartbeats no more than
 * 2 x interval apart belong to one period [start, end] (end = the last
 * heartbeat's time); a heartbeat extends the period it falls in or next
 * to, starts a new one after a longer gap, and joins two periods when it
 * closes the gap between them (heartbeats may arrive out of order: the
 * broker holds them while the cloud restarts).  A silence is a gap between
 * two periods longer than that, or the time since the last heartbeat once
 * it is longer than that.  The first heartbeat after a silence says whether
 * the gateway kept running through it (its daemon's up_since is before the
 * silence: "offline", the network or the broker failed; what it journaled
 * arrives later) or started again during it ("down": the daemon or the
 * device was not running, and nobody could check in; "rebooted" when the
 * boot id changed as well).  An unsynced gateway's up_since is in its own
 * clock's time, so then only a change of up_since or of boot tells.
 *
 * This module is pure (no storage): the store keeps the periods
 * (store.h, cl_store_ingest_heartbeat) and these functions merge and read
 * them.  Any thread.
 */
#ifndef CL_COVERAGE_H
#define CL_COVERAGE_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/heartbeat.h"

/* How far a synced heartbeat's own time may be ahead of the cloud's clock
 * before the cloud uses its receive time instead. */
#define CL_HEARTBEAT_SKEW 300

/* One coverage period of a gateway, as stored. */
struct cl_period {
	int64_t start, end;          /* first and last heartbeat time */
	uint32_t interval;           /* longest interval announced in it, s */
	uint32_t heartbeats;         /* heartbeats merged into it */
	uint32_t restarts;           /* daemon restarts seen inside it */
	int64_t first_up_since;      /* up_since of its first heartbeat */
	int64_t last_up_since;       /* up_since of its last heartbeat */
	uint8_t first_boot[AS_BOOT_ID_LEN];
	uint8_t last_boot[AS_BOOT_ID_LEN];
	uint64_t first_seq;          /* last_seq of its first heartbeat */
	/* from its last heartbeat: */
	int64_t received;            /* cloud time when it arrived */
	int64_t last_sent;           /* its own sent_at */
	uint64_t last_seq, acked_seq;
	uint8_t chain_head[AS_CHAIN_HEAD_LEN];
	uint64_t journal_records, journal_used, journal_size;
	uint8_t clock_state;
};

#define CL_PERIOD_VALUE_LEN 166

/* The time the cloud files heartbeat hb under: its own sent_at when the
 * gateway's clock is synced or corrected and sent_at lies in
 * [now - retention, now + CL_HEARTBEAT_SKEW]; else now (the receive time). */
int64_t cl_coverage_time(const struct as_heartbeat *hb, int64_t now, int64_t retention);

/* A period of one heartbeat filed at time t, received at now. */
void cl_period_from_heartbeat(struct cl_period *p, const struct as_heartbeat *hb, int64_t t,
			      int64_t now);

/*
 * Is hb, filed at the cloud's receive time (its own time not believed:
 * an unsynced clock), a replay?  Its time cannot place it, so it must at
 * least be newer than the last heartbeat of the same boot in `latest`
 * (the gateway's period that starts at or before the receive time):
 * within one boot an unsynced wall clock still runs forward.  Without
 * this, a copy of an old heartbeat sent again (by the broker, or anyone
 * on the path) would make a dead gateway look alive.  A heartbeat filed
 * at its own time is placed there and cannot extend coverage past it.
 * When the latest was stamped in corrected or synced time and hb in the
 * raw unsynced clock's (a daemon restart lost the correction, within the
 * same boot), the times cannot be compared: hb's daemon must have started
 * after the latest was sent (its running time, sent_at - up_since, at
 * most now - the latest's sent_at, plus a minute).  A copy of a raw
 * heartbeat sent early in an earlier run can then pass once; each one
 * taken makes the raw time the one compared.
 */
int cl_heartbeat_is_replay(const struct cl_period *latest, const struct as_heartbeat *hb,
			   int64_t now);

/* The longest gap (seconds) heartbeats of a and b may leave and still be
 * one period: 2 x the longer interval. */
int64_t cl_period_limit(const struct cl_period *a, const struct cl_period *b);

/* Do a and b (a.start <= b.start) belong to one period? */
int cl_period_joins(const struct cl_period *a, const struct cl_period *b);

/* out = a and b joined (a.start <= b.start; out may be a or b). */
void cl_period_combine(struct cl_period *out, const struct cl_period *a, const struct cl_period *b);

/* Stored value: CL_PERIOD_VALUE_LEN bytes (version 1, the fields above
 * but start, which is in the key).  decode: 0 or AS_E_CORRUPT. */
void cl_period_encode(uint8_t out[CL_PERIOD_VALUE_LEN], const struct cl_period *p);
int cl_period_decode(struct cl_period *p, int64_t start, const uint8_t *in, size_t len);

enum cl_silence_kind {
	CL_SILENT_NOW = 1,       /* not heard from since `from`, up to now */
	CL_SILENT_OFFLINE = 2,   /* the daemon kept running: unreachable */
	CL_SILENT_DOWN = 3,      /* the daemon started again during it */
	CL_SILENT_REBOOTED = 4,  /* ... and the device booted again */
	CL_SILENT_NEVER = 5      /* before its first period: no data, not a
				  * silence (it may have run without
				  * heartbeats); silent only when the gateway
				  * was never heard at all */
};

struct cl_silence {
	int64_t from, to;        /* last heard .. next heard (to = now if open) */
	uint8_t kind;            /* enum cl_silence_kind */
};

/* "silent", "offline", "down", "rebooted", "never-heard". */
const char *cl_silence_kind_name(uint8_t kind);

/*
 * The silences of a gateway with periods p[0..n) (in start order) that
 * overlap [from, to], at cloud time now; since = when the gateway could
 * first have been heard (its enrolment): the time before its first period
 * is reported as CL_SILENT_NEVER (no coverage data; callers must not
 * present it as a silence once the gateway has been heard).  fn gets each in time order; it returns 0
 * to go on.  Returns fn's nonzero value or 0.
 */
int cl_coverage_silences(const struct cl_period *p, size_t n, int64_t since, int64_t now,
			 int64_t from, int64_t to,
			 int (*fn)(void *ctx, const struct cl_silence *s), void *ctx);

/* Is the gateway silent now (no period, or the last one ended more than
 * its limit ago)? */
int cl_coverage_silent_now(const struct cl_period *p, size_t n, int64_t now);

#endif
