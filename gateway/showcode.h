/*
 * showcode.h - the gateway's rotating venue code (anshim-gw show-code): for
 * each time slot, the venue code signed with the device key, drawn on the
 * terminal and optionally written to a PNG file for a kiosk viewer.  No
 * network: only the device key, the venue id and the clock.
 */
#ifndef GW_SHOWCODE_H
#define GW_SHOWCODE_H

#include <stdint.h>
#include <stdio.h>

#include "anshim/identity.h"
#include "anshim/qr.h"

struct gw_showcode {
	uint32_t venue_id;                 /* >= 1 */
	unsigned slot_seconds;             /* AS_SLOT_MIN..AS_SLOT_MAX */
	uint8_t gw_id[AS_GWID_LEN];
	uint8_t sk[AS_SIGN_SK_LEN];        /* device key; wipe with gw_showcode_wipe */
	enum as_qr_format format;          /* AS_QR_UTF8, AS_QR_ANSI or AS_QR_TEXT */
	const char *png_path;              /* borrowed; NULL = no file */
	FILE *out;                         /* borrowed; the terminal */
	int redraw;                        /* clear the screen and count down (a tty) */
};

/*
 * Load the device key from state_dir/device.key into sc (gw_id derived
 * from it).  0 or an error; *failed_path names the file that failed.
 */
int gw_showcode_load_key(struct gw_showcode *sc, const char *state_dir, char *failed_path,
			 size_t failed_len);
void gw_showcode_wipe(struct gw_showcode *sc);

/*
 * Render the slot holding `now`: write the PNG (atomically: temp + rename,
 * so a viewer never reads half a file) and draw the code with the venue id
 * and the seconds left under it.  0 or an error.  Single-threaded.
 */
int gw_showcode_render(const struct gw_showcode *sc, int64_t now);

/*
 * Render the current slot, then (unless once) every following slot until
 * SIGINT or SIGTERM arrives; those two signals are blocked for the calling
 * thread and taken synchronously, so a stop is never lost between slots.
 * Returns 0 on a clean stop or after one slot with once, else the first
 * render error.  Single-threaded; call from the main thread.
 */
int gw_showcode_run(const struct gw_showcode *sc, int once);

#endif
