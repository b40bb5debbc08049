/*
 * fuzz_control.c - the gateway's control-socket requests: the input is
 * the bytes a client writes, cut into lines by the socket's own line
 * assembly (gw_linebuf, GW_CONTROL_MAX_LINE), each parsed by
 * gw_control_parse as the daemon does before acting on it.
 *
 * Properties: each line gets a known request kind; a manual entry that
 * parses has an id that fits its field, a headcount in 1..999, times in
 * range, and an id that occurs in the line; a malformed one keeps no
 * entry fields.
 */
#include "fuzz.h"

#include "anshim/record.h"
#include "control.h"
#include "linebuf.h"

/* Whether the string s occurs in the len bytes of line. */
static int contains(const char *line, size_t len, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(line + i, s, n) == 0)
			return 1;
	return 0;
}

static void on_line(void *ctx, const char *line, size_t len)
{
	struct gw_control_request req;
	struct gw_manual_entry zero;

	(void)ctx;
	gw_control_parse(&req, line, len);
	memset(&zero, 0, sizeof zero);
	switch (req.kind) {
	case GW_CTL_MANUAL:
		if (memchr(req.id, '\0', sizeof req.id) == NULL || !req.id[0])
			fuzz_fail("manual id not a string");
		if (!contains(line, len, req.id))
			fuzz_fail("manual id not from the line");
		if (req.entry.headcount < 1 || req.entry.headcount > AS_HEADCOUNT_MAX)
			fuzz_fail("headcount %u parsed", req.entry.headcount);
		if (req.entry.entry_time < 0 || req.entry.exit_time < 0)
			fuzz_fail("negative time parsed");
		if (req.entry.entered_by != 0)
			fuzz_fail("entered_by comes from the peer, not the line");
		break;
	case GW_CTL_MANUAL_MALFORMED:
		if (memcmp(&req.entry, &zero, sizeof zero) != 0)
			fuzz_fail("malformed manual entry keeps fields");
		break;
	case GW_CTL_STATUS: case GW_CTL_EVENTS: case GW_CTL_PURGE: case GW_CTL_OFFLINE:
	case GW_CTL_ONLINE: case GW_CTL_CONTACT_KEY: case GW_CTL_MANUAL_USAGE:
	case GW_CTL_UNKNOWN:
		break;
	default:
		fuzz_fail("request kind %d", (int)req.kind);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_linebuf lb;

	if (gw_linebuf_init(&lb, GW_CONTROL_MAX_LINE) != 0)
		abort();
	gw_linebuf_feed(&lb, (const char *)data, size, on_line, NULL, NULL);
	gw_linebuf_flush(&lb, on_line, NULL, NULL);
	gw_linebuf_free(&lb);
	return 0;
}
