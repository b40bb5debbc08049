/*
 * linebuf.h - bounded line assembly for scan sources.
 *
 * Every scan source (serial tty, Unix socket, stdin, evdev) delivers bytes
 * in arbitrary pieces; a gw_linebuf turns them into whole lines.  One
 * gw_linebuf per source, owned and embedded by the caller, used from one
 * thread at a time (in the daemon: the libuv loop thread).
 *
 * Line rules:
 *  - LF, CR or CRLF ends a line.  Empty lines are ignored, so a CRLF is one
 *    terminator even when the CR and the LF arrive in different feeds.
 *  - A line longer than max_line bytes (terminator not counted) is dropped
 *    whole, including the part of it that arrives in later feeds, and is
 *    reported once, when its terminator (or gw_linebuf_flush) is seen, with
 *    the number of bytes dropped.  The next line is read normally.
 *  - A NUL byte is an ordinary byte: it is kept and counted in the length
 *    passed to on_line, so strlen(line) may be less than len.  Consumers
 *    must use len; QR texts never contain NUL, so the daemon rejects such a
 *    line as malformed rather than acting on a truncated copy.
 *  - Memory is allocated once, max_line + 1 bytes, at gw_linebuf_init, and
 *    never grows, whatever the input.
 */
#ifndef ANSHIM_GW_LINEBUF_H
#define ANSHIM_GW_LINEBUF_H

#include <stddef.h>
#include <stdint.h>

/* Treat the fields as private; they are public only so the struct can be
 * embedded.  buf holds the line being assembled (len bytes, plus room for
 * the NUL); while discarding is set, the current line is over max_line and
 * oversized counts its bytes dropped so far. */
struct gw_linebuf {
	char *buf;
	size_t len;
	size_t max_line;
	int discarding;
	uint64_t oversized;
};

/* A complete line: line[len] is '\0', no CR/LF inside, len >= 1.  The
 * buffer is borrowed for the duration of the call only; copy what you keep.
 * The callback must not call gw_linebuf_* on the same gw_linebuf. */
typedef void (*gw_line_cb)(void *ctx, const char *line, size_t len);

/* A line longer than max_line was dropped; dropped_bytes is its full length
 * without the terminator (saturated at SIZE_MAX).  Called once per line.
 * Same restriction as gw_line_cb. */
typedef void (*gw_oversize_cb)(void *ctx, size_t dropped_bytes);

/*
 * Prepare lb (caller-owned storage) for lines of up to max_line bytes.
 * Allocates max_line + 1 bytes.  Returns 0, -EINVAL if max_line < 16 or
 * max_line + 1 overflows, or -ENOMEM; on error lb holds no allocation and
 * gw_linebuf_free(lb) is harmless.
 */
int gw_linebuf_init(struct gw_linebuf *lb, size_t max_line);

/* Release the buffer and zero lb.  Safe on a zeroed struct and twice. */
void gw_linebuf_free(struct gw_linebuf *lb);

/*
 * Consume n bytes of data (borrowed; n may be 0).  Calls on_line for every
 * line completed by this data and on_oversize for every oversized line that
 * ends in it, in input order, then returns; an unterminated tail is kept
 * for the next feed.  Either callback may be NULL (the event is dropped).
 * ctx is passed through untouched.
 */
void gw_linebuf_feed(struct gw_linebuf *lb, const char *data, size_t n, gw_line_cb on_line,
		     gw_oversize_cb on_oversize, void *ctx);

/*
 * End of input: deliver the unterminated last line, if any, through
 * on_line, or report it through on_oversize if it was too long.  lb is then
 * empty and may be fed again (e.g. after a reconnect).
 */
void gw_linebuf_flush(struct gw_linebuf *lb, gw_line_cb on_line, gw_oversize_cb on_oversize,
		      void *ctx);

#endif
