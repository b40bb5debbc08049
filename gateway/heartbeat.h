/*
 * heartbeat.h - what the gateway says in its heartbeat: fill a
 * struct as_heartbeat (common/include/anshim/heartbeat.h) from the journal,
 * the clock and the daemon's start, and sign it.  The sync module sends
 * it every heartbeat_interval and on every connection.
 */
#ifndef GW_HEARTBEAT_H
#define GW_HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/heartbeat.h"
#include "clock.h"
#include "journal.h"

/* The clock state a heartbeat reports for c (synced, corrected, unsynced). */
uint8_t gw_heartbeat_clock_state(const struct gw_clock *c);

/*
 * Fill hb: sent_at = the clock's trusted time now; up_since = sent_at less
 * the monotonic time since started_mono_ms (the daemon's start, from
 * gw_clock_mono_ms); the journal's last seq, acked seq, chain head, record
 * count and map use; interval in seconds.  Reads the journal in its own
 * read transaction.  0 or a journal error.  Loop thread (any thread that
 * may read the journal and the clock).
 */
int gw_heartbeat_fill(struct as_heartbeat *hb, struct gw_journal *j, const struct gw_clock *c,
		      const uint8_t gw_id[AS_GWID_LEN], uint64_t started_mono_ms, uint32_t interval);

/* gw_heartbeat_fill, then encode and sign into out (AS_HEARTBEAT_LEN
 * bytes).  Returns AS_HEARTBEAT_LEN or an error. */
int gw_heartbeat_make(uint8_t out[AS_HEARTBEAT_LEN], struct gw_journal *j,
		      const struct gw_clock *c, const uint8_t gw_id[AS_GWID_LEN],
		      const uint8_t device_sk[AS_SIGN_SK_LEN], uint64_t started_mono_ms,
		      uint32_t interval);

#endif
