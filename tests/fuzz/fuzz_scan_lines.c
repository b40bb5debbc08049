/*
 * fuzz_scan_lines.c - what a scan source hands the check-in pipeline: the
 * input is a scanner's byte stream, or (first byte odd) a USB HID
 * scanner's struct input_event stream decoded by gw_evdev_decode; either
 * way it is cut into lines by gw_linebuf in pieces whose sizes the input
 * also chooses, and every line goes through as_scan_verify as
 * gw_checkin_scan calls it (vectors' authority key, FUZZ_NOW).
 *
 * Properties: every line is 1..max_line bytes with no CR or LF and a NUL
 * after it; every oversized line is reported with more than max_line
 * bytes; the bytes of lines and terminators add up to the input; every
 * verification has a reason word.
 */
#include "fuzz.h"

#include "anshim/credential.h"
#include "evdev.h"
#include "linebuf.h"

#define MAX_LINE 600

struct seen {
	size_t bytes; /* line bytes delivered or dropped */
};

static void on_line(void *ctx, const char *line, size_t len)
{
	struct seen *s = ctx;
	struct as_verify_params params = {fuzz_k.auth_pk, FUZZ_NOW, FUZZ_FRESHNESS};
	struct as_scan scan;
	int rc;

	if (len < 1 || len > MAX_LINE || line[len] != '\0' || memchr(line, '\n', len) ||
	    memchr(line, '\r', len))
		fuzz_fail("bad line of %zu bytes", len);
	s->bytes += len;
	rc = as_scan_verify(&scan, line, len, &params);
	if (!as_scan_reason(rc))
		fuzz_fail("no reason word for %d", rc);
}

static void on_oversize(void *ctx, size_t dropped)
{
	struct seen *s = ctx;

	if (dropped <= MAX_LINE)
		fuzz_fail("line of %zu bytes reported oversized", dropped);
	s->bytes += dropped;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_linebuf lb;
	struct seen s = {0};
	size_t pos = 1, piece, ends = 0, fed = 0;

	if (size < 2)
		return 0;
	if (gw_linebuf_init(&lb, MAX_LINE) != 0)
		abort();
	if (data[0] & 1) {
		/* evdev: whole input_event records; the characters are fed one
		 * at a time, as the daemon's evdev source does. */
		struct gw_evdev_decoder d;
		struct input_event ev;

		gw_evdev_decoder_init(&d);
		for (; pos + sizeof ev <= size; pos += sizeof ev) {
			char ch;
			memcpy(&ev, data + pos, sizeof ev);
			ch = (char)gw_evdev_decode(&d, &ev);
			if (ch < 0)
				fuzz_fail("evdev decoded %d", ch);
			if (ch)
				gw_linebuf_feed(&lb, &ch, 1, on_line, on_oversize, &s);
		}
	} else {
		/* bytes, in pieces of 1..(data[0] / 2 + 1) bytes */
		piece = (size_t)data[0] / 2 + 1;
		for (; pos < size; pos += piece) {
			size_t n = size - pos < piece ? size - pos : piece;
			for (size_t i = 0; i < n; i++)
				ends += data[pos + i] == '\n' || data[pos + i] == '\r';
			fed += n;
			gw_linebuf_feed(&lb, (const char *)data + pos, n, on_line, on_oversize, &s);
		}
	}
	gw_linebuf_flush(&lb, on_line, on_oversize, &s);
	if (!(data[0] & 1) && s.bytes + ends != fed)
		fuzz_fail("%zu line bytes + %zu ends from %zu bytes", s.bytes, ends, fed);
	gw_linebuf_free(&lb);
	return 0;
}
