/*
 * staffweb.h - the staff screen and kiosk page of anshim-gatewayd: a small
 * web server (common's httpserver) on 127.0.0.1 by default, for the
 * counter's touchscreen (Chromium in kiosk mode) and, with TLS and the
 * staff PIN, for the venue's LAN.
 *
 * Pages (static files from web_dir): /kiosk (the rotating venue code and
 * each scan's outcome, for visitors; no login) and /staff (the paper
 * register form, CSV upload and status, behind the PIN).  The JSON API is
 * under /api/ (docs/ARCHITECTURE.md lists it); /api/events is a
 * Server-Sent Events stream of check-in outcomes (the same JSON objects as
 * the control socket's "events").
 *
 * Personal data: a register entry's name and phone reach only the request
 * handler, which validates them, seals them to the authority's contact key
 * at once and wipes every plaintext copy it made (sodium_memzero; the JSON
 * parser's memory too); the answer says only "entry recorded", and no log
 * line, journal record or response ever holds them.
 *
 * Threads: start, event, reload_pin and stop on the loop thread; the
 * requests run on the HTTP server's pool threads and reach the loop's
 * state only through calls queued to the loop (staffweb.c explains).
 */
#ifndef GW_STAFFWEB_H
#define GW_STAFFWEB_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "anshim/identity.h"
#include "anshim/strbuf.h"
#include "checkin.h"

struct gw_staffweb;

struct gw_staffweb_config {
	const char *listen;        /* numeric address; off loopback needs TLS and a PIN */
	uint16_t port;             /* 0: a free port (tests) */
	const char *tls_cert;      /* both or neither */
	const char *tls_key;
	const char *web_dir;       /* the pages */
	const char *pin_file;      /* state_dir/staff.pin */
	int64_t lockout;           /* seconds a locked-out address waits */
	int64_t session;           /* seconds a staff login lasts */
	uint32_t venue_id;         /* 0: no venue code to show */
	unsigned code_slot;        /* seconds per venue code */
	int64_t retention;         /* oldest register entry accepted, seconds */
	const char *timezone;      /* of the register's dates and times */
};

struct gw_staffweb_ops {
	/* Append the status JSON object (as the control socket's) to out. */
	void (*status)(void *ctx, struct as_strbuf *out);
	/* The authority's contact key, or NULL without a policy. */
	const uint8_t *(*contact_key)(void *ctx);
};

/*
 * The start-up checks of cfg, for --check-config and before start: a
 * numeric listen address; TLS files both or neither, readable, the key
 * private; off loopback, TLS and a PIN file (a missing web_dir only
 * loses the pages, which the start logs).  0 or
 * AS_E_CONFIG (or -errno) with err naming the setting and the fix.
 */
int gw_staffweb_check(const struct gw_staffweb_config *cfg, char *err, size_t err_len);

/*
 * Start listening.  cfg's strings are copied; device_sk and gw_id are
 * copied too (the venue code is signed on the pool threads).  checkin,
 * ops and ctx are borrowed until gw_staffweb_stop.  0, or an error with
 * err naming the setting and the fix.  Loop thread.
 */
int gw_staffweb_start(struct gw_staffweb **out, uv_loop_t *loop,
		      const struct gw_staffweb_config *cfg, struct gw_checkin *checkin,
		      const uint8_t device_sk[AS_SIGN_SK_LEN], const uint8_t gw_id[AS_GWID_LEN],
		      const struct gw_staffweb_ops *ops, void *ctx, char *err, size_t err_len);

/* The port it listens on, and whether it speaks TLS. */
uint16_t gw_staffweb_port(const struct gw_staffweb *w);
int gw_staffweb_tls(const struct gw_staffweb *w);

/* Push one check-in outcome to the event streams.  w may be NULL. */
void gw_staffweb_event(struct gw_staffweb *w, const struct gw_outcome_event *ev);

/* Re-read the PIN file (SIGHUP, or after 'anshim-gw staff-pin').  0 or an
 * error in err (the old PIN stays). */
int gw_staffweb_reload_pin(struct gw_staffweb *w, char *err, size_t err_len);

/* Stop: refuse new work, give up waiting requests, end the streams, stop
 * the server (joins its threads) and close the loop handles.  Calls
 * already handed to the check-in pipeline finish later (their memory is
 * freed when their outcome arrives).  Loop thread; w may be NULL. */
void gw_staffweb_stop(struct gw_staffweb *w);

/* Free w once the loop has closed its handles (after uv_run ends). */
void gw_staffweb_free(struct gw_staffweb *w);

#endif
