/*
 * coverage.c - merging heartbeats into coverage periods and reading the
 * silences between them (see coverage.h).
 *
 * Invariants of a period: start <= end; heartbeats >= 1; interval >= 1;
 * the "last" fields are those of the heartbeat filed at end.  Two stored
 * periods of one gateway never join (the store merges them as soon as a
 * heartbeat closes the gap), so every gap between neighbours is a silence.
 * Pure; any thread.
 */
#include "coverage.h"

#include "anshim/bytes.h"
#include "anshim/error.h"

#include <string.h>

/* up_since is whole seconds (the time now less the whole seconds the
 * daemon has run): two heartbeats of one daemon run may disagree by one. */
#define UP_SINCE_JITTER 1

/* How far a corrected clock may be off the cloud's, seconds. */
#define RESTART_MARGIN 60

int64_t cl_coverage_time(const struct as_heartbeat *hb, int64_t now, int64_t retention)
{
	if ((hb->clock_state == AS_CLOCK_SYNCED || hb->clock_state == AS_CLOCK_CORRECTED) &&
	    hb->sent_at <= now + CL_HEARTBEAT_SKEW && hb->sent_at >= now - retention)
		return hb->sent_at;
	return now;
}

void cl_period_from_heartbeat(struct cl_period *p, const struct as_heartbeat *hb, int64_t t,
			      int64_t now)
{
	memset(p, 0, sizeof *p);
	p->start = p->end = t;
	p->interval = hb->interval ? hb->interval : 1;
	p->heartbeats = 1;
	p->first_up_since = p->last_up_since = hb->up_since;
	memcpy(p->first_boot, hb->boot_id, AS_BOOT_ID_LEN);
	memcpy(p->last_boot, hb->boot_id, AS_BOOT_ID_LEN);
	p->first_seq = hb->last_seq;
	p->received = now;
	p->last_sent = hb->sent_at;
	p->last_seq = hb->last_seq;
	p->acked_seq = hb->acked_seq;
	memcpy(p->chain_head, hb->chain_head, AS_CHAIN_HEAD_LEN);
	p->journal_records = hb->journal_records;
	p->journal_used = hb->journal_used;
	p->journal_size = hb->journal_size;
	p->clock_state = hb->clock_state;
}

int cl_heartbeat_is_replay(const struct cl_period *latest, const struct as_heartbeat *hb,
			   int64_t now)
{
	if (!latest || memcmp(latest->last_boot, hb->boot_id, AS_BOOT_ID_LEN) != 0)
		return 0;
	if (latest->clock_state != AS_CLOCK_UNSYNCED && hb->clock_state == AS_CLOCK_UNSYNCED)
		/* The latest was stamped in corrected (or synced) time, this
		 * one in the raw clock's: a daemon restarted since, its
		 * correction lost.  It must have started after the latest was
		 * sent: its running time no longer than the time since. */
		return hb->sent_at - hb->up_since > now - latest->last_sent + RESTART_MARGIN;
	if (hb->sent_at == latest->last_sent)
		/* The same second: a copy if it is of the same daemon run;
		 * a daemon restarted within that second says so by its
		 * up_since. */
		return hb->up_since == latest->last_up_since;
	return hb->sent_at < latest->last_sent;
}

int64_t cl_period_limit(const struct cl_period *a, const struct cl_period *b)
{
	uint32_t i = a->interval > b->interval ? a->interval : b->interval;

	return 2 * (int64_t)(i ? i : 1);
}

int cl_period_joins(const struct cl_period *a, const struct cl_period *b)
{
	return b->start <= a->end || b->start - a->end <= cl_period_limit(a, b);
}

/* Did the daemon start again between the last heartbeat of a and the
 * first of b?  A new boot says so; within one boot, up_since moving says
 * so only when both were stamped in the same clock state (a clock that
 * becomes corrected moves every time it reports, up_since too).  b's
 * clock state is that of its last heartbeat: b is a lone heartbeat when
 * the store merges, which is when this is counted. */
static int restarted_between(const struct cl_period *a, const struct cl_period *b)
{
	if (memcmp(a->last_boot, b->first_boot, AS_BOOT_ID_LEN) != 0)
		return 1;
	if (a->clock_state != b->clock_state)
		return 0;
	return b->first_up_since > a->last_up_since + UP_SINCE_JITTER ||
	       b->first_up_since < a->last_up_since - UP_SINCE_JITTER;
}

void cl_period_combine(struct cl_period *out, const struct cl_period *a, const struct cl_period *b)
{
	struct cl_period r;
	const struct cl_period *last = b->end >= a->end ? b : a;

	r = *last;
	r.start = a->start;
	r.end = a->end > b->end ? a->end : b->end;
	r.interval = a->interval > b->interval ? a->interval : b->interval;
	r.heartbeats = a->heartbeats + b->heartbeats;
	/* A restart between them shows only when b follows a's last
	 * heartbeat; a late heartbeat inside a compares with nothing. */
	r.restarts = a->restarts + b->restarts +
		     (uint32_t)(b->start >= a->end && restarted_between(a, b));
	r.first_up_since = a->first_up_since;
	memcpy(r.first_boot, a->first_boot, AS_BOOT_ID_LEN);
	r.first_seq = a->first_seq;
	*out = r;
}

void cl_period_encode(uint8_t out[CL_PERIOD_VALUE_LEN], const struct cl_period *p)
{
	struct as_writer w;

	as_writer_init(&w, out, CL_PERIOD_VALUE_LEN);
	as_writer_u8(&w, 1);
	as_writer_i64(&w, p->end);
	as_writer_u32(&w, p->interval);
	as_writer_u32(&w, p->heartbeats);
	as_writer_u32(&w, p->restarts);
	as_writer_i64(&w, p->first_up_since);
	as_writer_i64(&w, p->last_up_since);
	as_writer_bytes(&w, p->first_boot, AS_BOOT_ID_LEN);
	as_writer_bytes(&w, p->last_boot, AS_BOOT_ID_LEN);
	as_writer_u64(&w, p->first_seq);
	as_writer_i64(&w, p->received);
	as_writer_i64(&w, p->last_sent);
	as_writer_u64(&w, p->last_seq);
	as_writer_u64(&w, p->acked_seq);
	as_writer_bytes(&w, p->chain_head, AS_CHAIN_HEAD_LEN);
	as_writer_u64(&w, p->journal_records);
	as_writer_u64(&w, p->journal_used);
	as_writer_u64(&w, p->journal_size);
	as_writer_u8(&w, p->clock_state);
}

int cl_period_decode(struct cl_period *p, int64_t start, const uint8_t *in, size_t len)
{
	struct as_reader r;

	memset(p, 0, sizeof *p);
	as_reader_init(&r, in, len);
	if (as_reader_u8(&r) != 1)
		return AS_E_CORRUPT;
	p->start = start;
	p->end = as_reader_i64(&r);
	p->interval = as_reader_u32(&r);
	p->heartbeats = as_reader_u32(&r);
	p->restarts = as_reader_u32(&r);
	p->first_up_since = as_reader_i64(&r);
	p->last_up_since = as_reader_i64(&r);
	as_reader_copy(&r, p->first_boot, AS_BOOT_ID_LEN);
	as_reader_copy(&r, p->last_boot, AS_BOOT_ID_LEN);
	p->first_seq = as_reader_u64(&r);
	p->received = as_reader_i64(&r);
	p->last_sent = as_reader_i64(&r);
	p->last_seq = as_reader_u64(&r);
	p->acked_seq = as_reader_u64(&r);
	as_reader_copy(&r, p->chain_head, AS_CHAIN_HEAD_LEN);
	p->journal_records = as_reader_u64(&r);
	p->journal_used = as_reader_u64(&r);
	p->journal_size = as_reader_u64(&r);
	p->clock_state = as_reader_u8(&r);
	if (as_reader_finish(&r) || p->end < p->start || p->interval == 0 || p->heartbeats == 0)
		return AS_E_CORRUPT;
	return 0;
}

const char *cl_silence_kind_name(uint8_t kind)
{
	switch (kind) {
	case CL_SILENT_NOW: return "silent";
	case CL_SILENT_OFFLINE: return "offline";
	case CL_SILENT_DOWN: return "down";
	case CL_SILENT_REBOOTED: return "rebooted";
	case CL_SILENT_NEVER: return "never-heard";
	default: return "unknown";
	}
}

int cl_coverage_silent_now(const struct cl_period *p, size_t n, int64_t now)
{
	return n == 0 || now - p[n - 1].end > cl_period_limit(&p[n - 1], &p[n - 1]);
}

/* May b's first up_since be compared with a's end (cloud-placed time)?
 * Only when both sides were stamped by a synced or corrected clock: an
 * unsynced gateway's up_since is in its own clock's time, which may be
 * days off, while its periods are placed at the cloud's receive time. */
static int up_since_comparable(const struct cl_period *a, const struct cl_period *b)
{
	return a->clock_state != AS_CLOCK_UNSYNCED && b->clock_state != AS_CLOCK_UNSYNCED;
}

/* Report s if it overlaps [from, to]. */
static int emit(const struct cl_silence *s, int64_t from, int64_t to,
		int (*fn)(void *ctx, const struct cl_silence *s), void *ctx)
{
	if (s->to < from || s->from > to || s->to <= s->from)
		return 0;
	return fn(ctx, s);
}

int cl_coverage_silences(const struct cl_period *p, size_t n, int64_t since, int64_t now,
			 int64_t from, int64_t to,
			 int (*fn)(void *ctx, const struct cl_silence *s), void *ctx)
{
	struct cl_silence s;
	int rc;

	if (n == 0) {
		s = (struct cl_silence){since, now, CL_SILENT_NEVER};
		return emit(&s, from, to, fn, ctx);
	}
	if (since < p[0].start) {
		s = (struct cl_silence){since, p[0].start, CL_SILENT_NEVER};
		if ((rc = emit(&s, from, to, fn, ctx)) != 0)
			return rc;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		const struct cl_period *a = &p[i], *b = &p[i + 1];

		if (cl_period_joins(a, b))
			continue;
		s.from = a->end;
		s.to = b->start;
		if (memcmp(a->last_boot, b->first_boot, AS_BOOT_ID_LEN) != 0)
			s.kind = CL_SILENT_REBOOTED;
		else if (restarted_between(a, b) || (up_since_comparable(a, b) &&
							     b->first_up_since > a->end))
			s.kind = CL_SILENT_DOWN;
		else
			s.kind = CL_SILENT_OFFLINE;
		if ((rc = emit(&s, from, to, fn, ctx)) != 0)
			return rc;
	}
	if (cl_coverage_silent_now(p, n, now)) {
		s = (struct cl_silence){p[n - 1].end, now, CL_SILENT_NOW};
		return emit(&s, from, to, fn, ctx);
	}
	return 0;
}
