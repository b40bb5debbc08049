/*
 * test_qr.c - QR rendering (common/src/qr.c): a real pass text fits in
 * version 15 at level M, the version limit, PNG and SVG output (signature,
 * size, caption escaping), terminal output, format names, and
 * as_qr_output writing files.
 */
#include "test.h"

#include "anshim/fileio.h"
#include "anshim/qr.h"

static struct test_keys keys;

static void pass_text(char text[AS_SCAN_TEXT_MAX])
{
	struct as_pass p;

	test_pass_make(&keys, &p, TEST_NOW);
	if (as_pass_to_text(text, AS_SCAN_TEXT_MAX, &p) < 0)
		abort();
}

static uint32_t be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void test_format_names(void)
{
	static const struct { const char *name; enum as_qr_format fmt; } ok[] = {
		{"text", AS_QR_TEXT}, {"utf8", AS_QR_UTF8}, {"ansi", AS_QR_ANSI},
		{"png", AS_QR_PNG}, {"svg", AS_QR_SVG},
	};
	static const char *const bad[] = {"", "PNG", "jpeg", "svg ", "utf-8", "t"};
	enum as_qr_format fmt;

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		fmt = (enum as_qr_format)-1;
		test_ctx("format \"%s\"", ok[i].name);
		CHECK_OK(as_qr_format_parse(&fmt, ok[i].name));
		CHECK_EQ_INT(fmt, ok[i].fmt);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		test_ctx("format \"%s\"", bad[i]);
		CHECK_RC(as_qr_format_parse(&fmt, bad[i]), AS_E_USAGE);
	}
	test_ctx_clear();
}

static void test_pass_fits_version_15(void)
{
	char text[AS_SCAN_TEXT_MAX], card[AS_SCAN_TEXT_MAX];
	struct as_credential c;
	struct as_qr qr;
	int dark = 0, version;

	pass_text(text);
	if (!CHECK_OK(as_qr_encode(&qr, text, 15)))
		return;
	printf("pass text: %zu characters, QR version %d (level M)\n", strlen(text), qr.version);
	CHECK(qr.version >= 1 && qr.version <= 15);
	CHECK_EQ_INT(qr.width, 17 + 4 * qr.version);
	for (int i = 0; i < qr.width * qr.width; i++) {
		if (qr.dark[i] > 1)
			break;
		dark += qr.dark[i];
	}
	CHECK(dark > qr.width && dark < qr.width * qr.width); /* a real pattern */
	version = qr.version;
	as_qr_free(&qr);
	as_qr_free(&qr); /* twice is harmless */
	/* A version limit below what the text needs is an error. */
	CHECK_RC(as_qr_encode(&qr, text, version - 1), AS_E_QR);
	CHECK(qr.dark == NULL);

	/* The card is shorter, so its code is no larger. */
	test_credential_make(&keys, &c, 1);
	as_card_to_text(card, sizeof card, &c);
	if (CHECK_OK(as_qr_encode(&qr, card, 15)))
		CHECK(qr.version <= 15);
	as_qr_free(&qr);
}

static void test_encode_limits(void)
{
	static char huge[8000];
	struct as_qr qr;

	CHECK_OK(as_qr_encode(&qr, "AP1:", 0));
	CHECK_EQ_INT(qr.version, 1);
	CHECK_EQ_INT(qr.width, 21);
	as_qr_free(&qr);
	/* More than version 40 holds. */
	memset(huge, 'A', sizeof huge - 1);
	CHECK_RC(as_qr_encode(&qr, huge, 0), AS_E_QR);
	CHECK(qr.dark == NULL);
}

static void test_png(void)
{
	char text[AS_SCAN_TEXT_MAX];
	struct as_qr qr;
	unsigned char *png = NULL;
	size_t len = 0;

	pass_text(text);
	if (!CHECK_OK(as_qr_encode(&qr, text, 15)))
		return;
	if (CHECK_OK(as_qr_render_png(&qr, 4, &png, &len))) {
		CHECK(len > 33);
		CHECK_MEM(png, "\x89PNG\r\n\x1a\n", 8);
		CHECK_MEM(png + 12, "IHDR", 4);
		/* Width and height include the quiet zone. */
		CHECK_EQ_INT(be32(png + 16), (qr.width + 2 * AS_QR_QUIET) * 4);
		CHECK_EQ_INT(be32(png + 20), (qr.width + 2 * AS_QR_QUIET) * 4);
		CHECK_MEM(png + len - 8, "IEND", 4);
		free(png);
	}
	CHECK_RC(as_qr_render_png(&qr, 0, &png, &len), AS_E_USAGE);
	CHECK(png == NULL && len == 0);
	CHECK_RC(as_qr_render_png(&qr, 65, &png, &len), AS_E_USAGE);
	if (CHECK_OK(as_qr_render_png(&qr, 1, &png, &len)))
		free(png);
	as_qr_free(&qr);
}

static void test_svg(void)
{
	char text[AS_SCAN_TEXT_MAX], want[64];
	struct as_qr qr;
	unsigned char *svg = NULL;
	size_t len = 0;
	int size;

	pass_text(text);
	if (!CHECK_OK(as_qr_encode(&qr, text, 15)))
		return;
	size = (qr.width + 2 * AS_QR_QUIET) * 8;
	if (CHECK_OK(as_qr_render_svg(&qr, 8, NULL, &svg, &len))) {
		CHECK_EQ_INT(strlen((char *)svg), len);
		CHECK(strncmp((char *)svg, "<?xml", 5) == 0);
		snprintf(want, sizeof want, "width=\"%d\" height=\"%d\"", size, size);
		CHECK(strstr((char *)svg, want) != NULL);
		CHECK(strstr((char *)svg, "<path fill=\"#000\" d=\"M") != NULL);
		CHECK(strstr((char *)svg, "<text") == NULL);
		CHECK(len > 7 && strcmp((char *)svg + len - 7, "</svg>\n") == 0);
		free(svg);
	}
	/* The caption is escaped. */
	if (CHECK_OK(as_qr_render_svg(&qr, 8, "Caf\xc3\xa9 <Jeju> & \"Seoul\"", &svg, &len))) {
		CHECK(strstr((char *)svg,
			     ">Caf\xc3\xa9 &lt;Jeju&gt; &amp; &quot;Seoul&quot;</text>") != NULL);
		CHECK(strstr((char *)svg, "<Jeju>") == NULL);
		free(svg);
	}
	CHECK_RC(as_qr_render_svg(&qr, 0, NULL, &svg, &len), AS_E_USAGE);
	CHECK(svg == NULL && len == 0);
	CHECK_RC(as_qr_render_svg(&qr, 65, NULL, &svg, &len), AS_E_USAGE);
	as_qr_free(&qr);
}

/* Count the lines of a memory stream's text. */
static int count_lines(const char *s, size_t len)
{
	int n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n;
}

static void test_terminal(void)
{
	struct as_qr qr;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int size;

	if (!CHECK_OK(as_qr_encode(&qr, "AP1:HELLO", 0)))
		return;
	size = qr.width + 2 * AS_QR_QUIET;
	out = open_memstream(&buf, &len);
	if (CHECK(out != NULL)) {
		CHECK_OK(as_qr_print_terminal(out, &qr, 0));
		fclose(out);
		CHECK_EQ_INT(count_lines(buf, len), (size + 1) / 2);
		/* The quiet zone is light, drawn as full blocks. */
		CHECK(strncmp(buf, "\xe2\x96\x88\xe2\x96\x88", 6) == 0);
		free(buf);
	}
	out = open_memstream(&buf, &len);
	if (CHECK(out != NULL)) {
		CHECK_OK(as_qr_print_terminal(out, &qr, 1));
		fclose(out);
		CHECK_EQ_INT(count_lines(buf, len), size);
		CHECK(strncmp(buf, "\033[47m  ", 7) == 0);
		CHECK(strstr(buf, "\033[40m  ") != NULL);
		free(buf);
	}
	as_qr_free(&qr);
}

static void test_output_files(void)
{
	char dir[64], path[128], text[AS_SCAN_TEXT_MAX];
	unsigned char *data;
	size_t len;

	pass_text(text);
	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/pass.png", dir);
	CHECK_OK(as_qr_output(text, AS_QR_PNG, path, NULL, 15));
	if (CHECK_OK(as_file_read_all(path, 1 << 20, &data, &len))) {
		CHECK(len > 8 && memcmp(data, "\x89PNG", 4) == 0);
		free(data);
	}
	snprintf(path, sizeof path, "%s/pass.svg", dir);
	CHECK_OK(as_qr_output(text, AS_QR_SVG, path, "Anshim pass", 15));
	if (CHECK_OK(as_file_read_all(path, 1 << 20, &data, &len))) {
		CHECK(strncmp((char *)data, "<?xml", 5) == 0);
		CHECK(strstr((char *)data, ">Anshim pass</text>") != NULL);
		free(data);
	}
	snprintf(path, sizeof path, "%s/pass.txt", dir);
	CHECK_OK(as_qr_output(text, AS_QR_TEXT, path, NULL, 15));
	if (CHECK_OK(as_file_read_all(path, 1 << 20, &data, &len))) {
		CHECK_EQ_INT(len, strlen(text) + 1);
		CHECK(memcmp(data, text, strlen(text)) == 0 && data[len - 1] == '\n');
		free(data);
	}
	/* PNG needs a file; terminal forms cannot go to one; too large a code
	 * is refused before anything is written. */
	CHECK_RC(as_qr_output(text, AS_QR_PNG, NULL, NULL, 15), AS_E_USAGE);
	CHECK_RC(as_qr_output(text, AS_QR_PNG, "-", NULL, 15), AS_E_USAGE);
	snprintf(path, sizeof path, "%s/pass.utf8", dir);
	CHECK_RC(as_qr_output(text, AS_QR_UTF8, path, NULL, 15), AS_E_USAGE);
	snprintf(path, sizeof path, "%s/small.png", dir);
	CHECK_RC(as_qr_output(text, AS_QR_PNG, path, NULL, 5), AS_E_QR);
	CHECK_EQ_INT(test_dir_count(dir), 3);
	test_rmdir(dir);
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_format_names);
	TEST_RUN(test_pass_fits_version_15);
	TEST_RUN(test_encode_limits);
	TEST_RUN(test_png);
	TEST_RUN(test_svg);
	TEST_RUN(test_terminal);
	TEST_RUN(test_output_files);
	return TEST_DONE();
}
