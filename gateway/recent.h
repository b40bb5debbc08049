/*
 * recent.h - who checked in recently: pid -> time of the last accepted
 * check-in, so a second scan within the duplicate window is answered
 * "already checked in" instead of being journaled twice.
 *
 * An open-addressing hash table in memory, rebuilt from the journal's
 * newest records at start-up.  Entries older than the window are dropped
 * whenever the table is rebuilt, so memory tracks the number of distinct
 * visitors inside one window, not the journal size.  Loop thread only.
 */
#ifndef GW_RECENT_H
#define GW_RECENT_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"

struct gw_recent_slot {
	uint8_t pid[AS_PID_LEN];
	int64_t time;     /* 0 = empty slot */
};

struct gw_recent {
	struct gw_recent_slot *slots;
	size_t cap;       /* power of two */
	size_t used;
	int64_t window;   /* seconds */
};

int gw_recent_init(struct gw_recent *r, int64_t window_seconds);
void gw_recent_free(struct gw_recent *r);

/* Nonzero if pid checked in within the window before now (and not after
 * now + window: a clock stepping back does not hide a check-in). */
int gw_recent_seen(const struct gw_recent *r, const uint8_t pid[AS_PID_LEN], int64_t now);

/* Remember pid at time t (keeps the later time).  0 or -ENOMEM. */
int gw_recent_note(struct gw_recent *r, const uint8_t pid[AS_PID_LEN], int64_t t, int64_t now);

/* Forget pid if its remembered time is t (undo a note whose record failed
 * to commit). */
void gw_recent_forget(struct gw_recent *r, const uint8_t pid[AS_PID_LEN], int64_t t);

#endif
