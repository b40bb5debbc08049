/*
 * strbuf.h - a growing text buffer with printf-style appends, JSON
 * string escaping and untrusted-text cleaning, for status lines, event
 * streams and reports.
 */
#ifndef ANSHIM_STRBUF_H
#define ANSHIM_STRBUF_H

#include <stddef.h>

struct as_strbuf {
	char *p;       /* owned, NUL-terminated when len > 0; NULL when empty */
	size_t len;
	size_t cap;
	int failed;    /* an allocation failed: contents are incomplete */
};

/* Append text / formatted text.  On allocation failure sets failed and
 * keeps what it had.  Any thread, on its own buffer. */
void as_strbuf_add(struct as_strbuf *b, const char *s);
void as_strbuf_addn(struct as_strbuf *b, const char *s, size_t n);
void as_strbuf_printf(struct as_strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append s as a JSON string literal, quotes included, escaping '"', '\\'
 * and control characters. */
void as_strbuf_add_json(struct as_strbuf *b, const char *s);

/* Append s (untrusted text: registry names, capsule contents) with every
 * control character and ill-formed UTF-8 byte replaced by '?', as a JSON
 * string literal when json is set, else as plain text, so that it reaches
 * neither a terminal nor a JSON reader raw. */
void as_strbuf_add_clean(struct as_strbuf *b, const char *s, int json);

/* Append s with the XML special characters escaped. */
void as_strbuf_add_xml(struct as_strbuf *b, const char *s);

/* Release the buffer and zero b. */
void as_strbuf_free(struct as_strbuf *b);

#endif
