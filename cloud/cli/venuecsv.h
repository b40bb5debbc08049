/*
 * venuecsv.h - the venue list of a roll-out, as a CSV file: one venue per
 * row, read for 'anshim-cloud enroll --csv' and 'anshim-cloud poster
 * --csv'.
 *
 * The first row names the columns, in any order (case and blanks
 * ignored): venue_id, name, address, category, dwell, gateway_key.
 * venue_id and name are required columns; the others may be left out.
 *   venue_id     1..4294967295
 *   name         1..127 bytes of UTF-8 without control characters
 *                (Korean names as they are)
 *   address      0..255 bytes, same rule
 *   category     empty, or 1..24 of [a-z0-9-] (the policy's category names:
 *                bar, cafe, karaoke, ...); upper case is folded
 *   dwell        minutes, 1..1440; empty means 60
 *   gateway_key  empty (a poster-only venue), or the 64-hex-digit device
 *                public key that 'anshim-gw init' prints
 * A venue id or gateway key that an earlier row of the same file already
 * used is a bad row.  The file is read through anshim/csv.h, so its quoting
 * rules and bounds hold.  Single-threaded CLI use.
 */
#ifndef CL_VENUECSV_H
#define CL_VENUECSV_H

#include <stdint.h>
#include <stdio.h>

#include "anshim/identity.h"
#include "store.h"

struct cl_venuecsv;

struct cl_venuecsv_row {
	unsigned line;                  /* 1-based line the row started on */
	struct cl_venue venue;          /* id, name, address, category, dwell */
	int has_gateway;                /* gateway_key given */
	uint8_t gw_id[AS_GWID_LEN];
	uint8_t gw_pk[AS_SIGN_PK_LEN];
	char why[160];                  /* a bad row: why, and what to fix */
};

/* Open a reader over in (borrowed, must outlive the reader) and read the
 * header row.  0, or an error with why (why_len bytes) saying what is
 * wrong with the header; -ENOMEM. */
int cl_venuecsv_open(struct cl_venuecsv **out, FILE *in, char *why, size_t why_len);

/* The next row: 1 a good row in *row, 0 end of input, AS_E_CSV a bad row
 * (row->line and row->why say where and why; call again for the next),
 * -errno a read error. */
int cl_venuecsv_next(struct cl_venuecsv *r, struct cl_venuecsv_row *row);

/* Free the reader (NULL is a no-op); does not close the FILE. */
void cl_venuecsv_close(struct cl_venuecsv *r);

#endif
