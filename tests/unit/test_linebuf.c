/*
 * test_linebuf.c - line assembly for scan sources (gateway/linebuf.c):
 * input split at every byte position, CRLF split across feeds, a 1 MiB line
 * followed by a valid one, many lines in one feed, flush at end of input,
 * the max_line boundary, NUL bytes, and random inputs in random pieces
 * checked against a simple whole-input model.
 */
#include "test.h"

#include "linebuf.h"

#include <errno.h>

/* What the callbacks saw: lines joined by '\n' (lines never contain one),
 * and the oversize reports in order. */
struct seen {
	char text[1 << 18];
	size_t len;
	size_t lines;
	size_t oversize[64];
	size_t n_oversize;
	int overflow; /* text or oversize[] ran out of room */
};

static struct seen seen;

static void seen_reset(void)
{
	memset(&seen, 0, sizeof seen);
}

static void on_line(void *ctx, const char *line, size_t len)
{
	struct seen *s = ctx;

	CHECK(len >= 1);
	CHECK(line[len] == '\0');
	CHECK(memchr(line, '\n', len) == NULL && memchr(line, '\r', len) == NULL);
	s->lines++;
	if (len + 1 > sizeof s->text - s->len) {
		s->overflow = 1;
		return;
	}
	memcpy(s->text + s->len, line, len);
	s->len += len;
	s->text[s->len++] = '\n';
}

static void on_oversize(void *ctx, size_t dropped)
{
	struct seen *s = ctx;

	if (s->n_oversize == sizeof s->oversize / sizeof s->oversize[0]) {
		s->overflow = 1;
		return;
	}
	s->oversize[s->n_oversize++] = dropped;
}

static void feed(struct gw_linebuf *lb, const char *data, size_t n)
{
	gw_linebuf_feed(lb, data, n, on_line, on_oversize, &seen);
}

static void flush(struct gw_linebuf *lb)
{
	gw_linebuf_flush(lb, on_line, on_oversize, &seen);
}

/* The lines seen so far are exactly want ("a\nb\n" for lines a and b). */
static int seen_is(const char *want)
{
	size_t n = strlen(want);

	return !seen.overflow && seen.len == n && memcmp(seen.text, want, n) == 0;
}

static void test_init_limits(void)
{
	struct gw_linebuf lb;

	CHECK_RC(gw_linebuf_init(&lb, 15), -EINVAL);
	CHECK(lb.buf == NULL);
	gw_linebuf_free(&lb);
	CHECK_RC(gw_linebuf_init(&lb, SIZE_MAX), -EINVAL);
	CHECK_RC(gw_linebuf_init(&lb, 0), -EINVAL);
	if (!CHECK_OK(gw_linebuf_init(&lb, 16)))
		return;
	CHECK(lb.buf != NULL);
	CHECK_EQ_INT(lb.max_line, 16);
	CHECK_EQ_INT(lb.len, 0);
	gw_linebuf_free(&lb);
	CHECK(lb.buf == NULL);
	gw_linebuf_free(&lb); /* twice is harmless */
}

static const char split_input[] = "AP1:ABC DEF\r\nsecond line\n\n\rthird\rfourth\r\n\r\nlast";
static const char split_want[] = "AP1:ABC DEF\nsecond line\nthird\nfourth\nlast\n";

static void test_split_every_position(void)
{
	size_t n = sizeof split_input - 1;
	struct gw_linebuf lb;

	if (!CHECK_OK(gw_linebuf_init(&lb, 64)))
		return;
	/* two pieces, cut at every position (0 and n included: empty feeds) */
	for (size_t i = 0; i <= n; i++) {
		test_ctx("cut at %zu", i);
		seen_reset();
		feed(&lb, split_input, i);
		feed(&lb, split_input + i, n - i);
		flush(&lb);
		CHECK(seen_is(split_want));
		CHECK_EQ_INT(seen.n_oversize, 0);
	}
	/* three pieces, every pair of cuts */
	for (size_t i = 0; i <= n; i++)
		for (size_t j = i; j <= n; j++) {
			test_ctx("cuts at %zu and %zu", i, j);
			seen_reset();
			feed(&lb, split_input, i);
			feed(&lb, split_input + i, j - i);
			feed(&lb, split_input + j, n - j);
			flush(&lb);
			if (!CHECK(seen_is(split_want)))
				goto out;
		}
	/* one byte at a time */
	test_ctx("byte by byte");
	seen_reset();
	for (size_t i = 0; i < n; i++)
		feed(&lb, split_input + i, 1);
	flush(&lb);
	CHECK(seen_is(split_want));
out:
	gw_linebuf_free(&lb);
}

static void test_crlf_split_across_feeds(void)
{
	struct gw_linebuf lb;

	if (!CHECK_OK(gw_linebuf_init(&lb, 32)))
		return;
	seen_reset();
	feed(&lb, "abc\r", 4);
	CHECK(seen_is("abc\n")); /* delivered at the CR, without waiting for LF */
	feed(&lb, "\n", 1);
	CHECK(seen_is("abc\n")); /* the LF completes the CRLF, no extra line */
	feed(&lb, "def\r", 4);
	feed(&lb, "\nghi\n", 5);
	CHECK(seen_is("abc\ndef\nghi\n"));
	CHECK_EQ_INT(seen.lines, 3);
	/* LF CR is two terminators around an empty line: still no extra line */
	feed(&lb, "x\n\ry\n", 5);
	CHECK(seen_is("abc\ndef\nghi\nx\ny\n"));
	CHECK_EQ_INT(seen.n_oversize, 0);
	gw_linebuf_free(&lb);
}

/* A 1 MiB line, in pieces of `chunk` bytes, then terminator `term`, then a
 * valid line. */
static void huge_line_case(size_t chunk, const char *term)
{
	const size_t huge = (size_t)1 << 20;
	char *data = malloc(huge);
	struct gw_linebuf lb;
	char *buf_before;

	if (!CHECK(data != NULL))
		return;
	memset(data, 'A', huge);
	if (!CHECK_OK(gw_linebuf_init(&lb, 512))) {
		free(data);
		return;
	}
	buf_before = lb.buf;
	seen_reset();
	feed(&lb, "ok1\n", 4);
	for (size_t off = 0; off < huge; off += chunk) {
		size_t n = huge - off < chunk ? huge - off : chunk;

		feed(&lb, data + off, n);
		CHECK(lb.len <= lb.max_line);
	}
	CHECK_EQ_INT(seen.n_oversize, 0); /* reported once, at its end */
	feed(&lb, term, strlen(term));
	feed(&lb, "AP1:VALID\n", 10);
	flush(&lb);
	CHECK(seen_is("ok1\nAP1:VALID\n"));
	if (CHECK_EQ_INT(seen.n_oversize, 1))
		CHECK_EQ_INT(seen.oversize[0], huge);
	CHECK(lb.buf == buf_before); /* never reallocated */
	CHECK_EQ_INT(lb.max_line, 512);
	gw_linebuf_free(&lb);
	free(data);
}

static void test_huge_line_then_valid(void)
{
	static const size_t chunks[] = { (size_t)1 << 20, 4096, 511, 512, 513, 1000 };
	static const char *const terms[] = { "\n", "\r", "\r\n" };

	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++)
		for (size_t t = 0; t < 3; t++) {
			test_ctx("chunk %zu, terminator %zu", chunks[c], t);
			huge_line_case(chunks[c], terms[t]);
		}
}

static void test_many_short_lines_one_feed(void)
{
	enum { N = 10000 };
	static char data[N * 8];
	static char want[N * 8];
	size_t len = 0, wlen = 0;
	struct gw_linebuf lb;

	for (unsigned i = 0; i < N; i++) {
		const char *term = i % 3 == 0 ? "\n" : i % 3 == 1 ? "\r\n" : "\r";

		len += (size_t)snprintf(data + len, sizeof data - len, "L%05u%s", i, term);
		wlen += (size_t)snprintf(want + wlen, sizeof want - wlen, "L%05u\n", i);
	}
	if (!CHECK_OK(gw_linebuf_init(&lb, 16)))
		return;
	seen_reset();
	feed(&lb, data, len);
	CHECK_EQ_INT(seen.lines, N);
	CHECK(seen_is(want));
	flush(&lb);
	CHECK_EQ_INT(seen.lines, N);
	CHECK_EQ_INT(seen.n_oversize, 0);
	gw_linebuf_free(&lb);
}

static void test_flush_at_eof(void)
{
	struct gw_linebuf lb;

	if (!CHECK_OK(gw_linebuf_init(&lb, 16)))
		return;
	seen_reset();
	flush(&lb); /* nothing buffered: nothing delivered */
	CHECK_EQ_INT(seen.lines, 0);
	feed(&lb, "abc", 3);
	CHECK_EQ_INT(seen.lines, 0);
	flush(&lb);
	CHECK(seen_is("abc\n"));
	flush(&lb); /* already delivered */
	CHECK(seen_is("abc\n"));
	feed(&lb, "de", 2); /* usable again after a flush */
	feed(&lb, "f\n", 2);
	CHECK(seen_is("abc\ndef\n"));
	/* an oversized tail at end of input is reported, once */
	feed(&lb, "0123456789abcdefXYZ", 19);
	flush(&lb);
	flush(&lb);
	CHECK(seen_is("abc\ndef\n"));
	if (CHECK_EQ_INT(seen.n_oversize, 1))
		CHECK_EQ_INT(seen.oversize[0], 19);
	feed(&lb, "ghi", 3);
	flush(&lb);
	CHECK(seen_is("abc\ndef\nghi\n"));
	gw_linebuf_free(&lb);
}

static void test_max_line_boundary(void)
{
	static const char line16[] = "0123456789ABCDEF";
	static const char line17[] = "0123456789ABCDEFG";
	struct gw_linebuf lb;

	if (!CHECK_OK(gw_linebuf_init(&lb, 16)))
		return;
	seen_reset();
	feed(&lb, line16, 16); /* exactly max_line: accepted */
	feed(&lb, "\n", 1);
	CHECK(seen_is("0123456789ABCDEF\n"));
	feed(&lb, line17, 17); /* max_line + 1: dropped */
	feed(&lb, "\n", 1);
	CHECK(seen_is("0123456789ABCDEF\n"));
	if (CHECK_EQ_INT(seen.n_oversize, 1))
		CHECK_EQ_INT(seen.oversize[0], 17);
	/* the same, the extra byte arriving in its own feed */
	feed(&lb, line16, 10);
	feed(&lb, line16 + 10, 6);
	feed(&lb, "G", 1);
	feed(&lb, "\r\nnext\n", 7);
	CHECK(seen_is("0123456789ABCDEF\nnext\n"));
	if (CHECK_EQ_INT(seen.n_oversize, 2))
		CHECK_EQ_INT(seen.oversize[1], 17);
	/* exactly max_line, split, terminated by CRLF */
	feed(&lb, line16, 7);
	feed(&lb, line16 + 7, 9);
	feed(&lb, "\r", 1);
	feed(&lb, "\n", 1);
	CHECK(seen_is("0123456789ABCDEF\nnext\n0123456789ABCDEF\n"));
	CHECK_EQ_INT(seen.n_oversize, 2);
	gw_linebuf_free(&lb);
}

static void test_nul_bytes(void)
{
	struct gw_linebuf lb;

	if (!CHECK_OK(gw_linebuf_init(&lb, 16)))
		return;
	seen_reset();
	feed(&lb, "a\0b\n\0\n", 6);
	CHECK_EQ_INT(seen.lines, 2);
	CHECK_EQ_INT(seen.len, 6);
	CHECK_MEM(seen.text, "a\0b\n\0\n", 6);
	gw_linebuf_free(&lb);
}

static void test_null_callbacks(void)
{
	struct gw_linebuf lb;

	if (!CHECK_OK(gw_linebuf_init(&lb, 16)))
		return;
	gw_linebuf_feed(&lb, "abc\n0123456789abcdefgh\nxyz", 26, NULL, NULL, NULL);
	gw_linebuf_flush(&lb, NULL, NULL, NULL);
	CHECK_EQ_INT(lb.len, 0);
	CHECK_EQ_INT(lb.discarding, 0);
	gw_linebuf_free(&lb);
}

/* ---- random inputs against a model ----------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

/* The rules applied to the whole input at once. */
static void model(const char *in, size_t n, size_t max_line, struct seen *out)
{
	size_t start = 0;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i <= n; i++) {
		size_t len;

		if (i < n && in[i] != '\n' && in[i] != '\r')
			continue;
		len = i - start;
		if (len > max_line) {
			if (out->n_oversize < sizeof out->oversize / sizeof out->oversize[0])
				out->oversize[out->n_oversize++] = len;
		} else if (len > 0) {
			memcpy(out->text + out->len, in + start, len);
			out->len += len;
			out->text[out->len++] = '\n';
			out->lines++;
		}
		start = i + 1;
	}
}

static void test_random_pieces_vs_model(void)
{
	static const char alphabet[] = { 'a', 'b', 'c', '\n', '\r', '\0' };
	static struct seen want;
	char in[300];
	struct gw_linebuf lb;

	if (!CHECK_OK(gw_linebuf_init(&lb, 16)))
		return;
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = rng() % sizeof in, off = 0;

		for (size_t i = 0; i < n; i++) /* mostly text, lines near max_line */
			in[i] = rng() % 10 ? alphabet[rng() % 3] : alphabet[3 + rng() % 3];
		model(in, n, 16, &want);
		seen_reset();
		while (off < n) { /* bounded: every piece has at least one byte */
			size_t piece = 1 + rng() % 40;

			if (piece > n - off)
				piece = n - off;
			feed(&lb, in + off, piece);
			off += piece;
		}
		flush(&lb);
		test_ctx("iteration %d, %zu bytes", iter, n);
		if (!CHECK_EQ_INT(seen.len, want.len) || !CHECK_MEM(seen.text, want.text, want.len) ||
		    !CHECK_EQ_INT(seen.n_oversize, want.n_oversize) ||
		    !CHECK_MEM(seen.oversize, want.oversize, want.n_oversize * sizeof want.oversize[0]))
			break;
	}
	gw_linebuf_free(&lb);
}

int main(void)
{
	TEST_RUN(test_init_limits);
	TEST_RUN(test_split_every_position);
	TEST_RUN(test_crlf_split_across_feeds);
	TEST_RUN(test_huge_line_then_valid);
	TEST_RUN(test_many_short_lines_one_feed);
	TEST_RUN(test_flush_at_eof);
	TEST_RUN(test_max_line_boundary);
	TEST_RUN(test_nul_bytes);
	TEST_RUN(test_null_callbacks);
	TEST_RUN(test_random_pieces_vs_model);
	return TEST_DONE();
}
