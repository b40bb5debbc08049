/*
 * clock.c - wall/monotonic time and clock trust (see clock.h).
 *
 * Invariant: a record is never stamped "synced" unless the kernel says the
 * clock is synchronized (or the configuration says to trust it); a record
 * stamped unsynced keeps boot id + monotonic time so that it can be
 * corrected.  Loop thread.
 */
#include "clock.h"

#include "anshim/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

int gw_clock_mode_parse(enum gw_clock_mode *mode, const char *text)
{
	if (strcmp(text, "auto") == 0)
		*mode = GW_CLOCK_AUTO;
	else if (strcmp(text, "synced") == 0)
		*mode = GW_CLOCK_SYNCED;
	else if (strcmp(text, "unsynced") == 0)
		*mode = GW_CLOCK_UNSYNCED;
	else
		return AS_E_CONFIG;
	return 0;
}

/* boot_id is a UUID "xxxxxxxx-xxxx-...": 32 hex digits and dashes. */
static int parse_uuid(uint8_t out[AS_BOOT_ID_LEN], const char *text)
{
	size_t n = 0;

	for (const char *p = text; *p && *p != '\n'; p++) {
		int v;
		if (*p == '-')
			continue;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else
			return AS_E_FIELD;
		if (n >= 2 * AS_BOOT_ID_LEN)
			return AS_E_FIELD;
		if (n % 2 == 0)
			out[n / 2] = (uint8_t)(v << 4);
		else
			out[n / 2] |= (uint8_t)v;
		n++;
	}
	return n == 2 * AS_BOOT_ID_LEN ? 0 : AS_E_FIELD;
}

int gw_clock_init(struct gw_clock *c, enum gw_clock_mode mode)
{
	char buf[64] = {0};
	FILE *f;
	int rc;

	memset(c, 0, sizeof *c);
	c->mode = mode;
	/* procfs reports size 0, so read it as a stream. */
	f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return -errno;
	rc = fgets(buf, sizeof buf, f) ? parse_uuid(c->boot_id, buf) : -EIO;
	fclose(f);
	return rc;
}

int gw_clock_synced(const struct gw_clock *c)
{
	struct timex tx;

	switch (c->mode) {
	case GW_CLOCK_SYNCED: return 1;
	case GW_CLOCK_UNSYNCED: return 0;
	default:
		memset(&tx, 0, sizeof tx);
		/* Fail closed: an error (-1, e.g. a seccomp filter) is "unsynced". */
		{
			int state = ntp_adjtime(&tx);
			return state != -1 && state != TIME_ERROR;
		}
	}
}

uint64_t gw_clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t gw_clock_now(void)
{
	return (int64_t)time(NULL);
}

int64_t gw_clock_trusted_now(const struct gw_clock *c)
{
	if (!gw_clock_synced(c) && c->has_offset)
		return (int64_t)(gw_clock_mono_ms() / 1000) + c->offset;
	return gw_clock_now();
}

void gw_clock_stamp(const struct gw_clock *c, struct as_record *rec)
{
	rec->mono_ms = gw_clock_mono_ms();
	memcpy(rec->boot_id, c->boot_id, AS_BOOT_ID_LEN);
	rec->flags &= (uint8_t)~(AS_REC_CLOCK_UNSYNCED | AS_REC_TIME_CORRECTED);
	if (gw_clock_synced(c)) {
		rec->entry_time = gw_clock_now();
	} else if (c->has_offset) {
		rec->entry_time = (int64_t)(rec->mono_ms / 1000) + c->offset;
		rec->flags |= AS_REC_TIME_CORRECTED;
	} else {
		rec->entry_time = gw_clock_now();
		rec->flags |= AS_REC_CLOCK_UNSYNCED;
	}
}

void gw_clock_learn(struct gw_clock *c, int64_t trusted_unix_ms, uint64_t mono_ms)
{
	c->offset = trusted_unix_ms / 1000 - (int64_t)(mono_ms / 1000);
	c->has_offset = 1;
}

int gw_clock_correct(const struct gw_clock *c, struct as_record *rec)
{
	if (!(rec->flags & AS_REC_CLOCK_UNSYNCED) || !c->has_offset ||
	    memcmp(rec->boot_id, c->boot_id, AS_BOOT_ID_LEN) != 0)
		return 0;
	rec->entry_time = (int64_t)(rec->mono_ms / 1000) + c->offset;
	rec->flags = (uint8_t)((rec->flags & ~AS_REC_CLOCK_UNSYNCED) | AS_REC_TIME_CORRECTED);
	return 1;
}
