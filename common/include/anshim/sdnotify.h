/*
 * sdnotify.h - the systemd notification protocol (READY=1, WATCHDOG=1,
 * STOPPING=1, STATUS=...) without linking libsystemd: one datagram to
 * $NOTIFY_SOCKET.  Does nothing when the variable is not set.
 */
#ifndef ANSHIM_SDNOTIFY_H
#define ANSHIM_SDNOTIFY_H

#include <stdint.h>

/* Send state (e.g. "READY=1\nSTATUS=collecting").  Returns 1 if sent, 0 if
 * NOTIFY_SOCKET is unset, or -errno.  Any thread. */
int as_sd_notify(const char *state);

/* The watchdog interval in microseconds from $WATCHDOG_USEC (0 if unset
 * or meant for another process, per $WATCHDOG_PID). */
uint64_t as_sd_watchdog_usec(void);

#endif
