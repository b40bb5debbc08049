/*
 * clock.h - the gateway's sense of time: wall clock, whether it can be
 * trusted, boot id and boot-relative monotonic time.
 *
 * A Raspberry Pi has no real-time clock: after a power cut without network
 * its wall clock is wrong until NTP (or the cloud's signed ack) fixes it.
 * Records therefore carry boot id + monotonic milliseconds so their time
 * can be corrected later, and a clock-unsynced flag.
 */
#ifndef GW_CLOCK_H
#define GW_CLOCK_H

#include <stdint.h>

#include "anshim/record.h"

enum gw_clock_mode {
	GW_CLOCK_AUTO,      /* ask the kernel (ntp_adjtime) */
	GW_CLOCK_SYNCED,    /* trust the wall clock (tests, or an RTC hat) */
	GW_CLOCK_UNSYNCED   /* never trust it (tests) */
};

struct gw_clock {
	enum gw_clock_mode mode;
	uint8_t boot_id[AS_BOOT_ID_LEN];
	/* Correction learned from a trusted time source for this boot:
	 * trusted wall time = mono_ms / 1000 + offset.  Valid if has_offset. */
	int has_offset;
	int64_t offset;
};

/* Parse "auto", "synced", "unsynced"; 0 or AS_E_CONFIG. */
int gw_clock_mode_parse(enum gw_clock_mode *mode, const char *text);

/* Read the boot id (/proc/sys/kernel/random/boot_id).  0 or an error. */
int gw_clock_init(struct gw_clock *c, enum gw_clock_mode mode);

/* Is the wall clock trustworthy now? */
int gw_clock_synced(const struct gw_clock *c);

/* Milliseconds since boot (CLOCK_BOOTTIME: counts suspend too). */
uint64_t gw_clock_mono_ms(void);

/* Wall-clock unix seconds. */
int64_t gw_clock_now(void);

/* The best current time: the wall clock when it is synced, else the
 * corrected time when a trusted offset is known, else the (untrusted) wall
 * clock.  Everything that compares times (freshness, the duplicate window,
 * paper-entry checks) uses this, the same time records are stamped with. */
int64_t gw_clock_trusted_now(const struct gw_clock *c);

/*
 * Stamp rec with the current time: entry_time, mono_ms, boot_id, and
 * AS_REC_CLOCK_UNSYNCED when the clock is not trusted (unless a trusted
 * offset is known for this boot, in which case the corrected time is used
 * and AS_REC_TIME_CORRECTED is set).  Loop thread.
 */
void gw_clock_stamp(const struct gw_clock *c, struct as_record *rec);

/*
 * Learn a trusted time (e.g. the cloud's signed ack time, unix ms) observed
 * at monotonic time mono_ms of this boot.  Later stamps, and
 * gw_clock_correct on older records of this boot, use it.  The hook for
 * the sync issue (cloud acks).  Loop thread.
 */
void gw_clock_learn(struct gw_clock *c, int64_t trusted_unix_ms, uint64_t mono_ms);

/* If rec was stamped unsynced during this boot and a trusted offset is
 * known, rewrite its entry_time and set AS_REC_TIME_CORRECTED; returns 1
 * if it changed the record. */
int gw_clock_correct(const struct gw_clock *c, struct as_record *rec);

#endif
