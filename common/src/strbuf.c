/*
 * strbuf.c - growing text buffer (see strbuf.h).
 *
 * Invariant: p[len] is '\0' whenever p is not NULL; after a failed growth
 * the buffer keeps its earlier, still terminated contents.  Any thread, on
 * its own buffer.
 */
#include "anshim/strbuf.h"

#include "anshim/parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int strbuf_reserve(struct as_strbuf *b, size_t extra)
{
	size_t cap;
	char *np;

	if (b->failed)
		return -1;
	if (b->len + extra + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np) {
		b->failed = 1;
		return -1;
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

void as_strbuf_addn(struct as_strbuf *b, const char *s, size_t n)
{
	if (strbuf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void as_strbuf_add(struct as_strbuf *b, const char *s)
{
	as_strbuf_addn(b, s, strlen(s));
}

void as_strbuf_printf(struct as_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || strbuf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void as_strbuf_add_json(struct as_strbuf *b, const char *s)
{
	as_strbuf_add(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char esc[3] = {'\\', (char)c, 0};
			as_strbuf_add(b, esc);
		} else if (c < 0x20 || c == 0x7f) {
			as_strbuf_printf(b, "\\u%04x", c);
		} else {
			as_strbuf_addn(b, s, 1);
		}
	}
	as_strbuf_add(b, "\"");
}

void as_strbuf_add_clean(struct as_strbuf *b, const char *s, int json)
{
	size_t n = strlen(s);
	char *copy = malloc(n + 1);

	if (!copy) {
		b->failed = 1;
		return;
	}
	for (size_t i = 0; i < n;) {
		size_t k = as_utf8_char((const unsigned char *)s + i, n - i);

		if (k) {
			memcpy(copy + i, s + i, k);
			i += k;
		} else {
			copy[i++] = '?';
		}
	}
	copy[n] = '\0';
	if (json)
		as_strbuf_add_json(b, copy);
	else
		as_strbuf_add(b, copy);
	free(copy);
}

void as_strbuf_add_xml(struct as_strbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': as_strbuf_add(b, "&lt;"); break;
		case '>': as_strbuf_add(b, "&gt;"); break;
		case '&': as_strbuf_add(b, "&amp;"); break;
		case '"': as_strbuf_add(b, "&quot;"); break;
		default: as_strbuf_addn(b, s, 1); break;
		}
	}
}

void as_strbuf_free(struct as_strbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}
