/*
 * linebuf.c - bounded line assembly for scan sources.
 *
 * Input is cut at every CR and LF.  Because empty lines are ignored, a CRLF
 * pair needs no state of its own: the CR ends the line and the LF ends an
 * empty one, which is skipped; this holds when the pair is split across
 * two feeds, and after an oversized line (reported at its CR, not again at
 * the LF, since the LF ends a fresh, empty line).
 *
 * Invariants, between calls:
 *  - len <= max_line, and buf has max_line + 1 bytes: the NUL always fits;
 *  - discarding == 0 implies oversized == 0, and discarding implies len == 0:
 *    once a line passes max_line its bytes are only counted, never stored.
 * Each call walks the input once, segment by segment between terminators,
 * so a feed of n bytes costs O(n) and one memcpy per segment.
 *
 * Pure (no I/O); runs on whichever thread owns the gw_linebuf - in the
 * daemon, the libuv loop thread.
 */
#include "linebuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LINEBUF_MIN_LINE 16

int gw_linebuf_init(struct gw_linebuf *lb, size_t max_line)
{
	memset(lb, 0, sizeof *lb);
	if (max_line < LINEBUF_MIN_LINE || max_line == SIZE_MAX)
		return -EINVAL;
	lb->buf = malloc(max_line + 1);
	if (!lb->buf)
		return -ENOMEM;
	lb->buf[0] = '\0';
	lb->max_line = max_line;
	return 0;
}

void gw_linebuf_free(struct gw_linebuf *lb)
{
	free(lb->buf);
	memset(lb, 0, sizeof *lb);
}

static int is_terminator(char c)
{
	return c == '\n' || c == '\r';
}

/* The line in progress has ended (terminator or end of input). */
static void linebuf_end_line(struct gw_linebuf *lb, gw_line_cb on_line,
			     gw_oversize_cb on_oversize, void *ctx)
{
	if (lb->discarding) {
		size_t dropped = lb->oversized > SIZE_MAX ? SIZE_MAX : (size_t)lb->oversized;

		lb->discarding = 0;
		lb->oversized = 0;
		if (on_oversize)
			on_oversize(ctx, dropped);
	} else if (lb->len > 0) {
		size_t len = lb->len;

		lb->buf[len] = '\0';
		lb->len = 0; /* reset first: the line is complete whatever the callback does */
		if (on_line)
			on_line(ctx, lb->buf, len);
	}
}

/* Add a segment (no terminators inside) to the line in progress. */
static void linebuf_append(struct gw_linebuf *lb, const char *seg, size_t n)
{
	if (lb->discarding) {
		lb->oversized += n;
	} else if (n > lb->max_line - lb->len) {
		lb->discarding = 1;
		lb->oversized = (uint64_t)lb->len + n;
		lb->len = 0;
	} else {
		memcpy(lb->buf + lb->len, seg, n);
		lb->len += n;
	}
}

void gw_linebuf_feed(struct gw_linebuf *lb, const char *data, size_t n, gw_line_cb on_line,
		     gw_oversize_cb on_oversize, void *ctx)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && !is_terminator(data[j]))
			j++;
		if (j > i)
			linebuf_append(lb, data + i, j - i);
		if (j == n)
			break;
		linebuf_end_line(lb, on_line, on_oversize, ctx);
		i = j + 1;
	}
}

void gw_linebuf_flush(struct gw_linebuf *lb, gw_line_cb on_line, gw_oversize_cb on_oversize,
		      void *ctx)
{
	linebuf_end_line(lb, on_line, on_oversize, ctx);
}
