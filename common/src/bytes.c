/*
 * bytes.c - bounded cursors over byte buffers (see bytes.h).
 *
 * Invariant: a reader never touches memory past p + left, and a writer never
 * touches memory past p + cap.  Errors are sticky, so a chain of takes after
 * a failure returns zeros and the first error survives to finish().  Pure
 * functions on caller-owned state; any thread.
 */
#include "anshim/bytes.h"
#include "anshim/error.h"

#include <string.h>

void as_reader_init(struct as_reader *r, const void *data, size_t len)
{
	r->p = data;
	r->left = data ? len : 0;
	r->err = 0;
}

const uint8_t *as_reader_take(struct as_reader *r, size_t n)
{
	const uint8_t *at;

	if (r->err)
		return NULL;
	if (n > r->left) {
		r->err = AS_E_TRUNCATED;
		return NULL;
	}
	at = r->p;
	r->p += n;
	r->left -= n;
	return at;
}

static uint64_t reader_le(struct as_reader *r, size_t n)
{
	const uint8_t *b = as_reader_take(r, n);
	uint64_t v = 0;

	if (!b)
		return 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

uint8_t as_reader_u8(struct as_reader *r) { return (uint8_t)reader_le(r, 1); }
uint16_t as_reader_u16(struct as_reader *r) { return (uint16_t)reader_le(r, 2); }
uint32_t as_reader_u32(struct as_reader *r) { return (uint32_t)reader_le(r, 4); }
uint64_t as_reader_u64(struct as_reader *r) { return reader_le(r, 8); }
int64_t as_reader_i64(struct as_reader *r) { return (int64_t)reader_le(r, 8); }

void as_reader_copy(struct as_reader *r, void *out, size_t n)
{
	const uint8_t *b = as_reader_take(r, n);

	if (b)
		memcpy(out, b, n);
	else
		memset(out, 0, n);
}

int as_reader_finish(const struct as_reader *r)
{
	if (r->err)
		return r->err;
	return r->left ? AS_E_TRAILING : 0;
}

void as_writer_init(struct as_writer *w, void *buf, size_t cap)
{
	w->p = buf;
	w->cap = buf ? cap : 0;
	w->len = 0;
	w->err = 0;
}

void as_writer_bytes(struct as_writer *w, const void *data, size_t n)
{
	if (w->err)
		return;
	if (n > w->cap - w->len) {
		w->err = AS_E_OVERSIZE;
		return;
	}
	if (n)
		memcpy(w->p + w->len, data, n);
	w->len += n;
}

static void writer_le(struct as_writer *w, uint64_t v, size_t n)
{
	uint8_t b[8];

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	as_writer_bytes(w, b, n);
}

void as_writer_u8(struct as_writer *w, uint8_t v) { writer_le(w, v, 1); }
void as_writer_u16(struct as_writer *w, uint16_t v) { writer_le(w, v, 2); }
void as_writer_u32(struct as_writer *w, uint32_t v) { writer_le(w, v, 4); }
void as_writer_u64(struct as_writer *w, uint64_t v) { writer_le(w, v, 8); }
void as_writer_i64(struct as_writer *w, int64_t v) { writer_le(w, (uint64_t)v, 8); }

void as_hex_encode(char *out, const void *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = in;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int as_hex_decode(void *out, size_t n, const char *hex)
{
	uint8_t *b = out;

	if (!hex || strlen(hex) != 2 * n)
		return AS_E_HEX;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return AS_E_HEX;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
