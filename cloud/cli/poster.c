/*
 * poster.c - anshim-cloud poster: the printable venue poster of the Jeju
 * flow.  Reads the venue (name, address) from the store's registry, signs a
 * poster venue code (venue id, name cut to 64 bytes at a UTF-8 boundary,
 * issued_at = now) with the authority key, and lays out an A4 or A5 page
 * with cairo: a header, the venue name and address, the QR code (libqrencode
 * at level M, through anshim/qr.h) and what to do with it.  PDF, PNG
 * (150 dpi) or SVG; the file is built in memory and replaced atomically.
 * poster --verify TEXT checks a scanned poster code against the authority
 * key.  poster --csv makes the posters of a roll-out list (venuecsv.h): a
 * file per venue, or one multi-page PDF.
 *
 * Invariants: nothing is written unless the code was signed and the whole
 * page rendered without a cairo error; the QR modules are drawn without
 * anti-aliasing at a whole number of device pixels each, so the raster
 * forms decode as reliably as the vector ones.  Single-threaded CLI.
 */
#include "authority.h"
#include "cli.h"
#include "commands.h"
#include "venuecsv.h"

#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/parse.h"
#include "anshim/qr.h"
#include "anshim/venuecode.h"

#ifdef ANSHIM_HAVE_CAIRO
#include <cairo.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <fontconfig/fontconfig.h>
#endif
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A font family with Hangul (Debian fonts-nanum); fontconfig falls back to
 * another font if it is missing, and Korean names then print as boxes. */
#define POSTER_FONT "NanumGothic"
#define PNG_DPI 150.0

static const char poster_usage[] =
"Usage: anshim-cloud poster --venue ID [--out FILE] [--format pdf|png|svg]\n"
"                           [--size a4|a5] [--store DIR | --config FILE]\n"
"                           [--keys DIR]\n"
"       anshim-cloud poster --csv FILE --out DIR [--format pdf|png|svg]\n"
"                           [--size a4|a5] [--store DIR | --config FILE]\n"
"       anshim-cloud poster --csv FILE --combined --out FILE.pdf [--size a4|a5]\n"
"       anshim-cloud poster --verify TEXT [--venue ID] [--keys DIR]\n"
"\n"
"Make the printable check-in poster of venue ID: the venue's name and\n"
"address from the registry, a line telling visitors what to do, and a QR\n"
"code they scan with the Anshim wallet app to check in without any device\n"
"at the venue. The code holds the venue id, the venue name (cut to 64\n"
"bytes) and the time it was made, signed with the authority's sign.key,\n"
"so the app and the cloud can tell a real poster from a forged one. A\n"
"poster does not expire; a photo of it works from anywhere, so venues\n"
"that need proof of presence show a gateway's rotating code instead\n"
"('anshim-gw show-code').\n"
"\n"
"Options:\n"
"  --venue ID        the venue, as enrolled with 'anshim-cloud enroll --venue ID'\n"
"  --out FILE        where to write (default venue-ID.FORMAT); '-' for stdout\n"
"  --csv FILE        make the posters of every venue of a roll-out list (the\n"
"                    CSV 'anshim-cloud enroll --csv' takes, checked the same\n"
"                    way; name and address come from the registry): one\n"
"                    file per venue, --out DIR/venue-ID.pdf\n"
"                    (the directory is made if needed). Rows that are bad\n"
"                    or not enrolled are named by line and get no poster\n"
"  --combined        with --csv: one PDF at --out FILE, a page per venue\n"
"  --format F        pdf (default), png (150 dpi) or svg; without it, taken\n"
"                    from the extension of --out\n"
"  --size S          paper size a4 (default) or a5, portrait\n"
"  --store DIR       the cloud's store directory (default: store_dir from the\n"
"                    configuration)\n"
"  --config FILE     the cloud configuration (default " CL_DEFAULT_CONFIG ")\n"
"  --keys DIR        the authority keys (default: keys_dir); needs sign.key\n"
"  --verify TEXT     instead of making a poster, check a scanned poster code\n"
"                    (AV1:...; '-' reads it from standard input) against\n"
"                    sign.pub and print its venue, name and issue time; with\n"
"                    --venue, also that it is that venue's\n"
"\n"
"Korean names need a font with Hangul (Debian package fonts-nanum).\n"
"\n"
"Exit status: 0 written / valid, 1 failure / rejected, 2 bad usage.\n";

enum poster_format { FMT_PDF, FMT_PNG, FMT_SVG };

struct sink {
	unsigned char *buf;
	size_t len, cap;
	int failed;
};

#ifdef ANSHIM_HAVE_CAIRO
static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int n)
{
	struct sink *s = closure;

	if (s->failed)
		return CAIRO_STATUS_WRITE_ERROR;
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 65536;
		unsigned char *nb;
		while (cap < s->len + n)
			cap *= 2;
		nb = realloc(s->buf, cap);
		if (!nb) {
			s->failed = 1;
			return CAIRO_STATUS_NO_MEMORY;
		}
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	return CAIRO_STATUS_SUCCESS;
}
#endif

/* The venue name for the code: cut at a character boundary to 64 bytes.
 * AS_E_FIELD if the name is empty, not UTF-8 or has control characters. */
static int code_name(char out[AS_VENUE_NAME_MAX + 1], const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len = strlen(name), i = 0;

	while (i < len) {
		size_t n = as_utf8_char(s + i, len - i);
		if (n == 0)
			return AS_E_FIELD;
		if (i + n > AS_VENUE_NAME_MAX)
			break;
		i += n;
	}
	if (i == 0)
		return AS_E_FIELD;
	memcpy(out, name, i);
	out[i] = '\0';
	/* The rest must be valid too: a bad byte past 64 is still a bad name. */
	while (i < len) {
		size_t n = as_utf8_char(s + i, len - i);
		if (n == 0)
			return AS_E_FIELD;
		i += n;
	}
	return 0;
}

#ifdef ANSHIM_HAVE_CAIRO
/* Draw text centred at y (baseline), at most `size` points, shrunk to fit
 * max_w. */
static void text_centered(cairo_t *cr, const char *text, double cx, double y, double size,
			  double max_w, int bold)
{
	cairo_text_extents_t e;

	cairo_select_font_face(cr, POSTER_FONT, CAIRO_FONT_SLANT_NORMAL,
			       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
	cairo_text_extents(cr, text, &e);
	if (e.x_advance > max_w && e.x_advance > 0) {
		size *= max_w / e.x_advance;
		cairo_set_font_size(cr, size);
		cairo_text_extents(cr, text, &e);
	}
	cairo_move_to(cr, cx - e.x_advance / 2, y);
	cairo_show_text(cr, text);
}

/* Lay out the page in points on cr (already scaled to device units by
 * `scale` device units per point). */
static void draw_page(cairo_t *cr, double w, double h, double scale, const struct cl_venue *v,
		      const struct as_qr *qr, const struct as_venue_code *code)
{
	double m = w * 0.08, cx = w / 2, avail = w - 2 * m, y;
	int modules = qr->width + 2 * AS_QR_QUIET;
	double module_px = floor(w * 0.62 * scale / modules), module, side, x0, y0;
	char line[160], when[32];

	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);

	y = m + w * 0.04;
	text_centered(cr, "안심 체크인 · Anshim check-in", cx, y, w * 0.04, avail, 0);
	y += w * 0.11;
	text_centered(cr, v->name, cx, y, w * 0.075, avail, 1);
	if (v->address[0]) {
		y += w * 0.06;
		text_centered(cr, v->address, cx, y, w * 0.03, avail, 0);
	}

	/* The QR code: whole device pixels per module, no anti-aliasing. */
	if (module_px < 1)
		module_px = 1;
	module = module_px / scale;
	side = module * modules;
	x0 = floor((cx - side / 2) * scale) / scale;
	y0 = floor((y + w * 0.04) * scale) / scale;
	cairo_save(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
	for (int r = 0; r < qr->width; r++) {
		for (int c = 0; c < qr->width; c++) {
			int run = 0;
			while (c + run < qr->width && qr->dark[r * qr->width + c + run])
				run++;
			if (run) {
				cairo_rectangle(cr, x0 + (c + AS_QR_QUIET) * module,
						y0 + (r + AS_QR_QUIET) * module, run * module, module);
				c += run;
			}
		}
	}
	cairo_fill(cr);
	cairo_restore(cr);

	y = y0 + side + w * 0.05;
	text_centered(cr, "안심 앱으로 이 QR 코드를 스캔하여 체크인하세요.", cx, y, w * 0.032,
		      avail, 1);
	y += w * 0.05;
	text_centered(cr, "Scan this code with the Anshim app to check in.", cx, y, w * 0.03,
		      avail, 0);
	snprintf(line, sizeof line, "venue %u · issued %.10s · signed by the health authority",
		 code->venue_id, as_format_time(when, code->issued_at));
	text_centered(cr, line, cx, h - m, w * 0.018, avail, 0);
}

/* One poster page: the venue and its signed code as QR text. */
struct poster_page {
	struct cl_venue venue;
	struct as_venue_code code;
	char text[AS_VENUE_CODE_TEXT_MAX];
};

/* Render n pages (n > 1 only for PDF) into *out (malloc'd by the sink).
 * 0 or AS_E_QR / -ENOMEM; prints why. */
static int render(enum poster_format fmt, int a5, const struct poster_page *pages, size_t n,
		  struct sink *out)
{
	double w = a5 ? 419.528 : 595.276, h = a5 ? 595.276 : 841.890;
	double scale = fmt == FMT_PNG ? PNG_DPI / 72.0 : 1.0;
	cairo_surface_t *surface;
	cairo_status_t st;
	cairo_t *cr;

	if (fmt == FMT_PDF)
		surface = cairo_pdf_surface_create_for_stream(sink_write, out, w, h);
	else if (fmt == FMT_SVG)
		surface = cairo_svg_surface_create_for_stream(sink_write, out, w, h);
	else
		surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(w * scale),
						     (int)ceil(h * scale));
	cr = cairo_create(surface);
	cairo_scale(cr, scale, scale);
	for (size_t i = 0; i < n; i++) {
		struct as_qr qr;
		int rc = as_qr_encode(&qr, pages[i].text, 0);

		if (rc) {
			fprintf(stderr, "anshim-cloud: venue %u: cannot make the QR code: %s\n",
				pages[i].venue.id, as_strerror(rc));
			cairo_destroy(cr);
			cairo_surface_destroy(surface);
			return rc;
		}
		draw_page(cr, w, h, scale, &pages[i].venue, &qr, &pages[i].code);
		as_qr_free(&qr);
		if (fmt == FMT_PDF)
			cairo_show_page(cr);
	}
	st = cairo_status(cr);
	cairo_destroy(cr);
	/* A finished image surface cannot be written out: PNG first. */
	if (st == CAIRO_STATUS_SUCCESS && fmt == FMT_PNG)
		st = cairo_surface_write_to_png_stream(surface, sink_write, out);
	cairo_surface_finish(surface);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(surface);
	cairo_surface_destroy(surface);
	if (st != CAIRO_STATUS_SUCCESS || out->failed) {
		fprintf(stderr, "anshim-cloud: cannot render the poster: %s\n",
			out->failed ? "out of memory" : cairo_status_to_string(st));
		return out->failed ? -ENOMEM : AS_E_QR;
	}
	return 0;
}

/* Drop cairo's font caches and fontconfig's configuration once all
 * posters are made, so a leak checker sees nothing left. */
static void render_done(void)
{
	cairo_debug_reset_static_data();
	FcFini();
}
#else
/* Built without cairo (-DANSHIM_POSTER=OFF, e.g. the Raspberry Pi cross
 * build of the gateway): no rendering; 'poster --verify' still works. */
struct poster_page {
	struct cl_venue venue;
	struct as_venue_code code;
	char text[AS_VENUE_CODE_TEXT_MAX];
};

static int render(enum poster_format fmt, int a5, const struct poster_page *pages, size_t n,
		  struct sink *out)
{
	(void)fmt, (void)a5, (void)pages, (void)n, (void)out;
	fprintf(stderr, "anshim-cloud: this build cannot render posters (it was built with "
		"-DANSHIM_POSTER=OFF, without cairo); 'poster --verify' works\n");
	return AS_E_USAGE;
}

static void render_done(void)
{
}
#endif

static int parse_format(enum poster_format *fmt, const char *name)
{
	if (strcmp(name, "pdf") == 0)
		*fmt = FMT_PDF;
	else if (strcmp(name, "png") == 0)
		*fmt = FMT_PNG;
	else if (strcmp(name, "svg") == 0)
		*fmt = FMT_SVG;
	else
		return AS_E_USAGE;
	return 0;
}

static int load_keys(struct cl_authority *auth, const char *keys, unsigned what)
{
	const char *failed = NULL;
	int rc = cl_authority_load(auth, keys, what, &failed);

	if (rc)
		fprintf(stderr, "anshim-cloud: cannot load authority key %s: %s%s\n",
			failed ? failed : keys, as_strerror(rc),
			rc == -ENOENT ? " (pass --keys DIR, or set keys_dir in the configuration)"
				      : "");
	return rc;
}

static int verify(const char *text, uint32_t venue_id, const char *keys)
{
	char line[AS_VENUE_CODE_TEXT_MAX + 2], when[32];
	struct as_venue_code code;
	struct cl_authority auth;
	int rc;

	if (as_args_text_operand("anshim-cloud", text, "venue code text", line, sizeof line, &text))
		return 1;
	if (load_keys(&auth, keys, CL_KEY_SIGN_PUBLIC))
		return 1;
	rc = as_venue_code_from_text(&code, text, strlen(text));
	if (rc) {
		printf("rejected: malformed (%s)\n", as_strerror(rc));
		return 1;
	}
	if (code.type != AS_VC_POSTER) {
		printf("rejected: not-a-poster (a gateway's rotating code; check it with "
		       "'anshim-gw verify-code')\n");
		return 1;
	}
	printf("poster venue=%u name=\"%s\" issued=%s\n", code.venue_id, code.name,
	       as_format_time(when, code.issued_at));
	if (as_venue_code_verify(&code, auth.sign_pk)) {
		printf("rejected: bad-signature\n");
		return 1;
	}
	if (venue_id && code.venue_id != venue_id) {
		printf("rejected: wrong-venue (expected %u)\n", venue_id);
		return 1;
	}
	printf("valid\n");
	return 0;
}

/* Sign the poster code of venue v into pg.  0, or prints why. */
static int make_page(struct poster_page *pg, const struct cl_venue *v,
		     const uint8_t sign_sk[AS_SIGN_SK_LEN], int64_t now)
{
	int rc;

	memset(pg, 0, sizeof *pg);
	pg->venue = *v;
	pg->code.type = AS_VC_POSTER;
	pg->code.venue_id = v->id;
	pg->code.issued_at = now;
	if (code_name(pg->code.name, v->name)) {
		fprintf(stderr, "anshim-cloud: venue %u's name is not printable UTF-8 (control "
			"characters or bad bytes); re-enroll it with a corrected name\n", v->id);
		return AS_E_FIELD;
	}
	rc = as_venue_code_sign(&pg->code, sign_sk);
	if (!rc)
		rc = as_venue_code_to_text(pg->text, sizeof pg->text, &pg->code);
	if (rc < 0) {
		fprintf(stderr, "anshim-cloud: cannot sign the venue code: %s\n", as_strerror(rc));
		return rc;
	}
	return 0;
}

/* Render pages[0..n) as one file at path ('-': stdout).  0 or prints why. */
static int write_poster(enum poster_format fmt, int a5, const struct poster_page *pages,
			size_t n, const char *path)
{
	struct sink sink = {0};
	int rc = render(fmt, a5, pages, n, &sink);

	if (!rc) {
		if (strcmp(path, "-") == 0)
			rc = fwrite(sink.buf, 1, sink.len, stdout) != sink.len || fflush(stdout)
				? -EIO : 0;
		else
			rc = as_file_write_atomic(path, sink.buf, sink.len, 0644, 0);
		if (rc)
			fprintf(stderr, "anshim-cloud: cannot write the poster to %s: %s\n", path,
				as_strerror(rc));
	}
	free(sink.buf);
	return rc;
}

static const char *format_ext(enum poster_format fmt)
{
	return fmt == FMT_PDF ? "pdf" : fmt == FMT_PNG ? "png" : "svg";
}

/* The venues of a roll-out list, from the registry: good rows whose venue
 * is enrolled become pages; others are reported by line.  *bad counts them. */
static int csv_pages(const char *path, struct cl_store *store, const uint8_t sign_sk[AS_SIGN_SK_LEN],
		     struct poster_page **pages, size_t *n, unsigned *bad)
{
	struct cl_venuecsv *reader;
	struct cl_venuecsv_row row;
	struct cl_venue venue;
	size_t cap = 0;
	char why[256] = "";
	int64_t now = (int64_t)time(NULL);
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	int rc;

	*pages = NULL;
	*n = 0;
	*bad = 0;
	if (!in) {
		fprintf(stderr, "anshim-cloud: --csv %s: %s\n", path, strerror(errno));
		return -errno;
	}
	rc = cl_venuecsv_open(&reader, in, why, sizeof why);
	if (rc) {
		fprintf(stderr, "anshim-cloud: %s: %s\n", path, why[0] ? why : as_strerror(rc));
		if (in != stdin)
			fclose(in);
		return rc;
	}
	/* Bounded by the file: each call consumes at least one record. */
	while ((rc = cl_venuecsv_next(reader, &row)) != 0) {
		if (rc == AS_E_CSV) {
			fprintf(stderr, "%s: line %u: %s\n", path, row.line, row.why);
			++*bad;
			continue;
		}
		if (rc < 0)
			break;
		rc = cl_store_get_venue(store, row.venue.id, &venue);
		if (rc == AS_E_NOT_FOUND) {
			fprintf(stderr, "%s: line %u: venue %u is not enrolled (run 'anshim-cloud "
				"enroll --csv %s' first)\n", path, row.line, row.venue.id, path);
			++*bad;
			continue;
		}
		if (rc)
			break;
		if (*n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			void *p = realloc(*pages, ncap * sizeof **pages);
			if (!p) {
				rc = -ENOMEM;
				break;
			}
			*pages = p;
			cap = ncap;
		}
		rc = make_page(&(*pages)[*n], &venue, sign_sk, now);
		if (rc == AS_E_FIELD) {
			++*bad;
			continue;
		}
		if (rc)
			break;
		++*n;
	}
	if (rc < 0 && rc != AS_E_CSV)
		fprintf(stderr, "anshim-cloud: %s: %s\n", path, as_strerror(rc));
	cl_venuecsv_close(reader);
	if (in != stdin)
		fclose(in);
	return rc < 0 ? rc : 0;
}

/* Posters for every venue of a roll-out list: one file per venue in dir,
 * or one multi-page PDF at out with combined. */
static int posters_from_csv(const char *csv, const char *out, int combined, enum poster_format fmt,
			    int a5, struct cl_store *store, const uint8_t sign_sk[AS_SIGN_SK_LEN])
{
	struct poster_page *pages = NULL;
	size_t n = 0, done = 0;
	unsigned bad = 0;
	time_t last = time(NULL);
	char path[PATH_MAX];
	int rc = csv_pages(csv, store, sign_sk, &pages, &n, &bad);

	if (!rc && combined) {
		rc = write_poster(fmt, a5, pages, n, out);
		done = rc ? 0 : n;
		if (!rc)
			printf("%zu poster(s) -> %s (one page each)\n", n, out);
	} else if (!rc) {
		rc = as_mkdir_p(out, 0755);
		if (rc)
			fprintf(stderr, "anshim-cloud: --out %s: cannot make the directory: %s\n", out,
				as_strerror(rc));
		for (size_t i = 0; !rc && i < n; i++) {
			if (snprintf(path, sizeof path, "%s/venue-%u.%s", out, pages[i].venue.id,
				     format_ext(fmt)) >= (int)sizeof path)
				rc = -ENAMETOOLONG;
			else
				rc = write_poster(fmt, a5, &pages[i], 1, path);
			if (!rc)
				done++;
			if (time(NULL) != last) {
				last = time(NULL);
				fprintf(stderr, "poster: %zu of %zu written\n", done, n);
			}
		}
		if (!rc || done)
			printf("%zu poster(s) -> %s/venue-ID.%s\n", done, out, format_ext(fmt));
	}
	free(pages);
	if (bad)
		fprintf(stderr, "anshim-cloud: %u row(s) of %s got no poster (see above)\n", bad,
			csv);
	return rc || bad ? 1 : 0;
}

int cl_cmd_poster(int argc, char **argv)
{
	static const struct option options[] = {
		{"venue", required_argument, NULL, 'v'},
		{"csv", required_argument, NULL, 'F'},
		{"combined", no_argument, NULL, 'C'},
		{"out", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'f'},
		{"size", required_argument, NULL, 's'},
		{"store", required_argument, NULL, 'S'},
		{"keys", required_argument, NULL, 'k'},
		{"verify", required_argument, NULL, 'V'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL, *format = NULL, *store_dir = NULL, *keys = NULL, *check = NULL;
	const char *csv = NULL;
	char default_out[64];
	enum poster_format fmt = FMT_PDF;
	struct poster_page page;
	struct cl_authority auth;
	struct cl_config cfg;
	struct cl_store *store;
	struct cl_venue venue;
	int64_t venue_id = 0;
	int c, rc, a5 = 0, combined = 0;

	optind = 2;
	while ((c = as_args_next("anshim-cloud", argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (as_parse_int64(optarg, 1, UINT32_MAX, &venue_id))
				return cl_usage_error("--venue '%s': a venue id is a number from 1",
						      optarg);
			break;
		case 'F': csv = optarg; break;
		case 'C': combined = 1; break;
		case 'o': out = optarg; break;
		case 'f': format = optarg; break;
		case 's':
			if (strcmp(optarg, "a4") != 0 && strcmp(optarg, "a5") != 0)
				return cl_usage_error("--size '%s': give a4 or a5", optarg);
			a5 = optarg[1] == '5';
			break;
		case 'S': store_dir = optarg; break;
		case 'k': keys = optarg; break;
		case 'V': check = optarg; break;
		case 'c': break; /* read by cl_cli_load_config */
		case 'h': fputs(poster_usage, stdout); return 0;
		default: return CL_EXIT_USAGE; /* as_args_next printed why */
		}
	}
	if (optind < argc)
		return cl_usage_error("unexpected argument '%s'", argv[optind]);
	if (store_dir && cl_cli_config_path(argc, argv))
		return cl_usage_error("%s", "poster takes --store DIR or --config FILE, not both");
	if (!check && !venue_id && !csv)
		return cl_usage_error("%s", "poster needs --venue ID or --csv FILE (or --verify "
				      "TEXT)");
	if (csv && (venue_id || check))
		return cl_usage_error("%s", "poster --csv FILE takes the venues from the file; "
				      "leave out --venue and --verify");
	if (csv && !out)
		return cl_usage_error("%s", combined ? "poster --csv --combined needs --out FILE.pdf"
				      : "poster --csv needs --out DIR (one file per venue)");
	if (combined && !csv)
		return cl_usage_error("%s", "--combined goes with --csv FILE");
	if (format && parse_format(&fmt, format))
		return cl_usage_error("--format '%s': give pdf, png or svg", format);
	if (!format && out && !(csv && !combined) && strrchr(out, '.') &&
	    parse_format(&fmt, strrchr(out, '.') + 1)) {
		const char *ext = strrchr(out, '.') + 1;
		return cl_usage_error("--out %s: cannot tell the format from '.%s'; name it "
				      ".pdf, .png or .svg, or give --format", out, ext);
	}
	if (combined && fmt != FMT_PDF)
		return cl_usage_error("%s", "--combined makes one multi-page PDF: use --format pdf");
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	if (!keys)
		keys = cfg.keys_dir;
	if (check) {
		rc = verify(check, (uint32_t)venue_id, keys);
		cl_config_free(&cfg);
		return rc;
	}
	if (store_dir) {
		char *dup = strdup(store_dir);
		if (!dup) {
			cl_config_free(&cfg);
			return 1;
		}
		free(cfg.store_dir);
		cfg.store_dir = dup;
	}
	if (cl_cli_open_store(&store, &cfg, 1)) {
		cl_config_free(&cfg);
		return 1;
	}
	if (load_keys(&auth, keys, CL_KEY_SIGN)) {
		cl_store_close(store);
		cl_config_free(&cfg);
		return 1;
	}
	if (csv) {
		rc = posters_from_csv(csv, out, combined, fmt, a5, store, auth.sign_sk);
		cl_authority_wipe(&auth);
		cl_store_close(store);
		cl_config_free(&cfg);
		render_done();
		return rc;
	}
	rc = cl_store_get_venue(store, (uint32_t)venue_id, &venue);
	cl_store_close(store);
	if (rc) {
		fprintf(stderr, "anshim-cloud: venue %lld %s in the registry of %s%s\n",
			(long long)venue_id, rc == AS_E_NOT_FOUND ? "is not" : "cannot be read",
			cfg.store_dir, rc == AS_E_NOT_FOUND ? " (enroll a gateway there first: "
			"'anshim-cloud enroll --gateway-key KEY --venue ID --venue-name NAME')" : "");
		if (rc != AS_E_NOT_FOUND)
			fprintf(stderr, "anshim-cloud: %s\n", as_strerror(rc));
		cl_authority_wipe(&auth);
		cl_config_free(&cfg);
		return 1;
	}
	cl_config_free(&cfg);
	rc = make_page(&page, &venue, auth.sign_sk, (int64_t)time(NULL));
	cl_authority_wipe(&auth);
	if (rc)
		return 1;
	if (!out) {
		snprintf(default_out, sizeof default_out, "venue-%u.%s", venue.id, format_ext(fmt));
		out = default_out;
	}
	rc = write_poster(fmt, a5, &page, 1, out);
	render_done();
	if (rc)
		return 1;
	if (strcmp(out, "-") != 0)
		printf("poster for venue %u (%s) -> %s\n", venue.id, venue.name, out);
	return 0;
}
