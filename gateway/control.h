/*
 * control.h - the gateway's control socket, spoken by anshim-gw.
 *
 * Line protocol (one request per line; replies are lines):
 *   status                 -> one JSON object
 *   events                 -> "ok", then one JSON object per check-in
 *                             outcome until the client disconnects
 *   purge                  -> {"purged":N} once the retention purge is done
 *   offline | online       -> "ok": drop / restore the broker connection
 *                             (the journal keeps everything meanwhile)
 *   contact-key            -> "contact-key HEX" (from the current policy)
 *                             or "error no-policy"
 *   manual ID ENTRY EXIT HEADCOUNT CAPSULE DIGEST
 *                          -> "ID OUTCOME [seq=N|REASON]"
 *        a paper-register entry, already sealed by the client: unix times,
 *        EXIT 0 for none, CAPSULE and DIGEST in hex (DIGEST "-" for none).
 *        The staff uid is taken from the socket's peer credentials.
 *   anything else          -> "error REASON"
 * No request or reply ever carries plaintext personal data.
 * Loop thread only.
 */
#ifndef GW_CONTROL_H
#define GW_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "anshim/strbuf.h"
#include "checkin.h"

struct gw_control;

struct gw_control_ops {
	/* Append the status JSON object (no newline) to out. */
	void (*status)(void *ctx, struct as_strbuf *out);
	/* Start a purge; call done(arg, status, purged) when it finishes. */
	void (*purge)(void *ctx, void (*done)(void *arg, int status, uint64_t purged), void *arg);
	/* The current contact key, or NULL without a policy. */
	const uint8_t *(*contact_key)(void *ctx);
	/* Go offline (1) or back online (0); 0 or a negative error. */
	int (*set_offline)(void *ctx, int offline);
};

/* The maximum request length, in bytes without the line end. */
#define GW_CONTROL_MAX_LINE 1024

enum gw_control_request_kind {
	GW_CTL_STATUS = 1,
	GW_CTL_EVENTS,
	GW_CTL_PURGE,
	GW_CTL_OFFLINE,
	GW_CTL_ONLINE,
	GW_CTL_CONTACT_KEY,
	GW_CTL_MANUAL,           /* manual: id and entry filled */
	GW_CTL_MANUAL_MALFORMED, /* manual with an id but bad fields: id filled */
	GW_CTL_MANUAL_USAGE,     /* manual without a usable id */
	GW_CTL_UNKNOWN
};

/* One parsed request.  id is the client's label of a manual entry, echoed
 * in its reply; entry.entered_by is left 0 (the socket's peer uid is the
 * caller's to fill). */
struct gw_control_request {
	enum gw_control_request_kind kind;
	char id[24];
	struct gw_manual_entry entry;
};

/*
 * Parse one request line (len bytes, no line end, need not be
 * NUL-terminated; bytes from a NUL on are ignored, and a line longer than
 * GW_CONTROL_MAX_LINE is cut there).  Always fills *req; never fails.
 * Pure; any thread.
 */
void gw_control_parse(struct gw_control_request *req, const char *line, size_t len);

int gw_control_start(struct gw_control **out, uv_loop_t *loop, const char *path,
		     struct gw_checkin *checkin, const struct gw_control_ops *ops, void *ctx,
		     char *err, size_t err_len);
void gw_control_stop(struct gw_control *c);
void gw_control_free(struct gw_control *c);

/* Send one outcome to every events subscriber. */
void gw_control_event(struct gw_control *c, const struct gw_outcome_event *ev);

/* Format an outcome as the JSON object used on the event stream (no
 * newline); shared with the log line. */
void gw_control_event_json(struct as_strbuf *b, const struct gw_outcome_event *ev);

#endif
