/*
 * qr.c - QR rendering on top of libqrencode and libpng.
 *
 * Invariants: every output includes a 4-module quiet zone (scanners need
 * it); files are replaced atomically so a kiosk viewer never reads a half
 * written image.  No global state; any thread.
 */
#include "anshim/qr.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/strbuf.h"

#include <errno.h>
#include <png.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

int as_qr_format_parse(enum as_qr_format *fmt, const char *name)
{
	static const struct { const char *name; enum as_qr_format fmt; } formats[] = {
		{"text", AS_QR_TEXT}, {"utf8", AS_QR_UTF8}, {"ansi", AS_QR_ANSI},
		{"png", AS_QR_PNG}, {"svg", AS_QR_SVG},
	};

	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		if (strcmp(name, formats[i].name) == 0) {
			*fmt = formats[i].fmt;
			return 0;
		}
	}
	return AS_E_USAGE;
}

int as_qr_encode(struct as_qr *qr, const char *text, int max_version)
{
	QRcode *code;
	size_t n;

	memset(qr, 0, sizeof *qr);
	/* Mode hint 8 with case sensitivity lets libqrencode split the input
	 * optimally; an all-Base45 text ends up in alphanumeric mode. */
	code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!code)
		return errno == ENOMEM ? -ENOMEM : AS_E_QR;
	if (max_version > 0 && code->version > max_version) {
		QRcode_free(code);
		return AS_E_QR;
	}
	n = (size_t)code->width * (size_t)code->width;
	qr->dark = malloc(n);
	if (!qr->dark) {
		QRcode_free(code);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		qr->dark[i] = code->data[i] & 1;
	qr->version = code->version;
	qr->width = code->width;
	QRcode_free(code);
	return 0;
}

void as_qr_free(struct as_qr *qr)
{
	free(qr->dark);
	qr->dark = NULL;
}

/* Dark at (x, y) in quiet-zone coordinates. */
static int qr_dark_at(const struct as_qr *qr, int x, int y)
{
	x -= AS_QR_QUIET;
	y -= AS_QR_QUIET;
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return 0;
	return qr->dark[y * qr->width + x];
}

int as_qr_print_terminal(FILE *out, const struct as_qr *qr, int ansi)
{
	int size = qr->width + 2 * AS_QR_QUIET;

	if (ansi) {
		for (int y = 0; y < size; y++) {
			for (int x = 0; x < size; x++)
				fputs(qr_dark_at(qr, x, y) ? "\033[40m  " : "\033[47m  ", out);
			fputs("\033[0m\n", out);
		}
	} else {
		/* Two module rows per text line; light modules are drawn so the
		 * code reads correctly on the usual dark terminal background. */
		for (int y = 0; y < size; y += 2) {
			for (int x = 0; x < size; x++) {
				int top = !qr_dark_at(qr, x, y);
				int bottom = y + 1 < size ? !qr_dark_at(qr, x, y + 1) : 0;
				fputs(top && bottom ? "\xe2\x96\x88" : top ? "\xe2\x96\x80"
				      : bottom ? "\xe2\x96\x84" : " ", out);
			}
			fputc('\n', out);
		}
	}
	return ferror(out) ? -EIO : 0;
}

struct png_sink {
	unsigned char *buf;
	size_t len, cap;
	int failed;
};

static void png_sink_write(png_structp png, png_bytep data, png_size_t n)
{
	struct png_sink *s = png_get_io_ptr(png);

	if (s->failed)
		return;
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		unsigned char *nb;
		while (cap < s->len + n)
			cap *= 2;
		nb = realloc(s->buf, cap);
		if (!nb) {
			s->failed = 1;
			return;
		}
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
}

static void png_sink_flush(png_structp png) { (void)png; }

int as_qr_render_png(const struct as_qr *qr, int scale, unsigned char **out, size_t *out_len)
{
	struct png_sink sink = {0};
	int size = (qr->width + 2 * AS_QR_QUIET) * scale;
	png_structp png;
	png_infop info;
	unsigned char *row;

	*out = NULL;
	*out_len = 0;
	if (scale < 1 || scale > 64)
		return AS_E_USAGE;
	row = malloc((size_t)size);
	if (!row)
		return -ENOMEM;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = png ? png_create_info_struct(png) : NULL;
	if (!png || !info) {
		png_destroy_write_struct(&png, NULL);
		free(row);
		return -ENOMEM;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		free(row);
		free(sink.buf);
		return AS_E_QR;
	}
	png_set_write_fn(png, &sink, png_sink_write, png_sink_flush);
	png_set_IHDR(png, info, (png_uint_32)size, (png_uint_32)size, 8, PNG_COLOR_TYPE_GRAY,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < size; y++) {
		for (int x = 0; x < size; x++)
			row[x] = qr_dark_at(qr, x / scale, y / scale) ? 0 : 255;
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	free(row);
	if (sink.failed) {
		free(sink.buf);
		return -ENOMEM;
	}
	*out = sink.buf;
	*out_len = sink.len;
	return 0;
}

int as_qr_render_svg(const struct as_qr *qr, int scale, const char *caption,
		     unsigned char **out, size_t *out_len)
{
	struct as_strbuf b = {0};
	int size = (qr->width + 2 * AS_QR_QUIET) * scale;
	int caption_h = caption ? 4 * scale + 8 : 0;

	*out = NULL;
	*out_len = 0;
	if (scale < 1 || scale > 64)
		return AS_E_USAGE;
	as_strbuf_printf(&b,
		 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		 "viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">\n"
		 "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"",
		 size, size + caption_h, size, size + caption_h, size, size + caption_h);
	for (int y = 0; y < qr->width; y++) {
		for (int x = 0; x < qr->width; x++) {
			int run = 0;
			while (x + run < qr->width && qr->dark[y * qr->width + x + run])
				run++;
			if (run) {
				as_strbuf_printf(&b, "M%d %dh%dv%dh-%dz",
						 (x + AS_QR_QUIET) * scale, (y + AS_QR_QUIET) * scale,
						 run * scale, scale, run * scale);
				x += run;
			}
		}
	}
	as_strbuf_add(&b, "\"/>\n");
	if (caption) {
		as_strbuf_printf(&b,
			 "<text x=\"%d\" y=\"%d\" font-family=\"sans-serif\" font-size=\"%d\" "
			 "text-anchor=\"middle\">", size / 2, size + caption_h / 2 + scale,
			 2 * scale + 4);
		as_strbuf_add_xml(&b, caption);
		as_strbuf_add(&b, "</text>\n");
	}
	as_strbuf_add(&b, "</svg>\n");
	if (b.failed) {
		free(b.p);
		return -ENOMEM;
	}
	*out = (unsigned char *)b.p;
	*out_len = b.len;
	return 0;
}

static int write_output(const char *path, const unsigned char *data, size_t len)
{
	if (!path || strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
			return -EIO;
		return 0;
	}
	return as_file_write_atomic(path, data, len, 0644, 0);
}

int as_qr_output(const char *text, enum as_qr_format fmt, const char *path,
		 const char *caption, int max_version)
{
	struct as_qr qr;
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	if (fmt == AS_QR_TEXT) {
		FILE *out = stdout;
		if (path && strcmp(path, "-") != 0) {
			size_t n = strlen(text);
			char *line = malloc(n + 2);
			if (!line)
				return -ENOMEM;
			memcpy(line, text, n);
			line[n] = '\n';
			rc = as_file_write_atomic(path, line, n + 1, 0644, 0);
			free(line);
			return rc;
		}
		fprintf(out, "%s\n", text);
		return fflush(out) ? -EIO : 0;
	}
	rc = as_qr_encode(&qr, text, max_version);
	if (rc)
		return rc;
	switch (fmt) {
	case AS_QR_UTF8:
	case AS_QR_ANSI:
		if (path && strcmp(path, "-") != 0) {
			rc = AS_E_USAGE; /* terminal forms go to the terminal */
			break;
		}
		rc = as_qr_print_terminal(stdout, &qr, fmt == AS_QR_ANSI);
		if (!rc && caption)
			printf("%s\n", caption);
		if (!rc && fflush(stdout))
			rc = -EIO;
		break;
	case AS_QR_PNG:
		if (!path || strcmp(path, "-") == 0) {
			rc = AS_E_USAGE; /* binary image needs a file */
			break;
		}
		rc = as_qr_render_png(&qr, 8, &data, &len);
		if (!rc)
			rc = write_output(path, data, len);
		break;
	case AS_QR_SVG:
		rc = as_qr_render_svg(&qr, 8, caption, &data, &len);
		if (!rc)
			rc = write_output(path, data, len);
		break;
	default:
		rc = AS_E_USAGE;
	}
	free(data);
	as_qr_free(&qr);
	return rc;
}
