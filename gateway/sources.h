/*
 * sources.h - scan sources: where scanned lines come from.
 *
 * Specs (the config's `source` lines):
 *   stdin                  standard input: pipe, terminal or file
 *   tty PATH [BAUD]        serial / USB CDC-ACM scanner (raw mode, default
 *                          9600 baud)
 *   evdev PATH             USB HID keyboard-style scanner, grabbed; a path
 *                          that is not an evdev device (a FIFO or file of
 *                          recorded struct input_event) is read ungrabbed
 *   socket PATH            Unix stream socket; each line a client writes is
 *                          answered with one line: "accepted", "duplicate",
 *                          "rejected REASON" or "not-collecting"
 * Each line is one scan, handed to the check-in pipeline.  A device that
 * fails or disappears is reopened every few seconds.  Loop thread only.
 */
#ifndef GW_SOURCES_H
#define GW_SOURCES_H

#include <stddef.h>
#include <uv.h>

#include "anshim/config.h"
#include "anshim/strbuf.h"
#include "checkin.h"

struct gw_sources;

/*
 * Parse every spec and start reading.  A spec that does not parse is an
 * error (message in err); a device that cannot be opened yet is not (it is
 * retried, and its state shows in status).  checkin is borrowed.
 */
int gw_sources_start(struct gw_sources **out, uv_loop_t *loop, struct gw_checkin *checkin,
		     const struct as_config_list *specs, size_t max_line, char *err,
		     size_t err_len);

/* Check specs without starting anything (for --check-config). */
int gw_sources_check(const struct as_config_list *specs, char *err, size_t err_len);

/* Stop reading and close every handle.  Outcomes still pending for socket
 * clients are dropped when they arrive.  Memory is released by
 * gw_sources_free once the loop has run the close callbacks and the
 * writer has delivered every pending outcome. */
void gw_sources_stop(struct gw_sources *s);
void gw_sources_free(struct gw_sources *s);

/* Append a JSON array of {"name","state","lines","oversized"} to b. */
void gw_sources_status_json(const struct gw_sources *s, struct as_strbuf *b);

#endif
