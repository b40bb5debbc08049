/*
 * heartbeat.c - the gateway's heartbeat contents (see heartbeat.h).
 *
 * Invariants: up_since <= sent_at (both in the clock's trusted time, so a
 * clock corrected later moves both); journal_used <= journal_size; the
 * chain head is the journal's own (all zero while it is empty).  Loop
 * thread; the journal read uses its own read transaction and never blocks
 * the writer.
 */
#include "heartbeat.h"

#include "anshim/chain.h"
#include "anshim/error.h"

#include <string.h>

_Static_assert(AS_CHAIN_HEAD_LEN == AS_CHAIN_LEN, "a heartbeat carries the journal's chain link");

uint8_t gw_heartbeat_clock_state(const struct gw_clock *c)
{
	if (gw_clock_synced(c))
		return AS_CLOCK_SYNCED;
	return c->has_offset ? AS_CLOCK_CORRECTED : AS_CLOCK_UNSYNCED;
}

int gw_heartbeat_fill(struct as_heartbeat *hb, struct gw_journal *j, const struct gw_clock *c,
		      const uint8_t gw_id[AS_GWID_LEN], uint64_t started_mono_ms, uint32_t interval)
{
	struct gw_journal_stats st;
	struct gw_journal_chain chain;
	uint64_t mono = gw_clock_mono_ms(), running;
	int rc;

	memset(hb, 0, sizeof *hb);
	rc = gw_journal_stats(j, &st);
	if (!rc)
		rc = gw_journal_chain_head(j, &chain);
	if (rc)
		return rc;
	memcpy(hb->gw_id, gw_id, AS_GWID_LEN);
	hb->sent_at = gw_clock_trusted_now(c);
	running = mono > started_mono_ms ? (mono - started_mono_ms) / 1000 : 0;
	hb->up_since = (uint64_t)hb->sent_at >= running ? hb->sent_at - (int64_t)running : 0;
	if (hb->up_since > hb->sent_at)
		hb->up_since = hb->sent_at;
	memcpy(hb->boot_id, c->boot_id, AS_BOOT_ID_LEN);
	hb->interval = interval;
	hb->clock_state = gw_heartbeat_clock_state(c);
	/* The head and its seq come from one read transaction. */
	hb->last_seq = chain.seq;
	memcpy(hb->chain_head, chain.head, AS_CHAIN_HEAD_LEN);
	hb->acked_seq = st.acked_seq;
	hb->journal_records = st.records;
	hb->journal_size = st.map_size;
	hb->journal_used = st.map_used < st.map_size ? st.map_used : st.map_size;
	return 0;
}

int gw_heartbeat_make(uint8_t out[AS_HEARTBEAT_LEN], struct gw_journal *j,
		      const struct gw_clock *c, const uint8_t gw_id[AS_GWID_LEN],
		      const uint8_t device_sk[AS_SIGN_SK_LEN], uint64_t started_mono_ms,
		      uint32_t interval)
{
	struct as_heartbeat hb;
	int rc = gw_heartbeat_fill(&hb, j, c, gw_id, started_mono_ms, interval);

	return rc ? rc : as_heartbeat_encode(out, AS_HEARTBEAT_LEN, &hb, device_sk);
}
