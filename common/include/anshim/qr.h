/*
 * qr.h - render Anshim QR texts with libqrencode: to a terminal (UTF-8
 * half blocks or ANSI colours), PNG (libpng) and SVG.
 *
 * Anshim's texts are prefix + Base45, which libqrencode puts in
 * alphanumeric mode; every code is made at error-correction level M.
 */
#ifndef ANSHIM_QR_H
#define ANSHIM_QR_H

#include <stddef.h>
#include <stdio.h>

struct as_qr {
	int version;          /* 1..40 */
	int width;            /* modules per side, without the quiet zone */
	unsigned char *dark;  /* width*width, 1 = dark module; owned */
};

#define AS_QR_QUIET 4     /* quiet-zone modules on each side */

enum as_qr_format {
	AS_QR_TEXT,    /* the text itself, one line */
	AS_QR_UTF8,    /* UTF-8 half blocks (light modules drawn) */
	AS_QR_ANSI,    /* ANSI background colours, two columns per module */
	AS_QR_PNG,
	AS_QR_SVG
};

/* Parse "text", "utf8", "ansi", "png", "svg"; returns 0 or AS_E_USAGE. */
int as_qr_format_parse(enum as_qr_format *fmt, const char *name);

/*
 * Encode text (NUL-terminated) at level M.  With max_version > 0, fails
 * with AS_E_QR if the code needs a larger version.  On success qr owns a
 * malloc'd module map released by as_qr_free.  Any thread.
 */
int as_qr_encode(struct as_qr *qr, const char *text, int max_version);
void as_qr_free(struct as_qr *qr);

/* Write the code to a terminal stream.  ansi selects colour mode. */
int as_qr_print_terminal(FILE *out, const struct as_qr *qr, int ansi);

/*
 * Render to PNG or SVG in memory (*out malloc'd, caller frees), `scale`
 * pixels (SVG: user units) per module, quiet zone included.  Returns 0 or
 * an error.
 */
int as_qr_render_png(const struct as_qr *qr, int scale, unsigned char **out, size_t *out_len);
int as_qr_render_svg(const struct as_qr *qr, int scale, const char *caption,
		     unsigned char **out, size_t *out_len);

/*
 * Convenience for the CLIs: render text in fmt to path atomically (mode
 * 0644), or to stdout when path is NULL or "-" (PNG needs a path).
 * caption (may be NULL) is printed under the code in SVG and terminal forms.
 */
int as_qr_output(const char *text, enum as_qr_format fmt, const char *path,
		 const char *caption, int max_version);

#endif
