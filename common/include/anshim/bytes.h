/*
 * bytes.h - bounded little-endian readers and writers for the wire formats.
 *
 * A reader is a cursor over borrowed bytes; every take fails with
 * AS_E_TRUNCATED instead of reading past the end, and as_reader_finish()
 * fails with AS_E_TRAILING if anything is left.  A writer appends into a
 * caller-owned buffer and remembers the first overflow, so encoders can write
 * every field and check once at the end.  Neither allocates; both may be used
 * from any thread on their own instances.
 */
#ifndef ANSHIM_BYTES_H
#define ANSHIM_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct as_reader {
	const uint8_t *p;   /* borrowed; next byte to read */
	size_t left;        /* bytes remaining */
	int err;            /* first error, sticky */
};

struct as_writer {
	uint8_t *p;         /* borrowed; start of the output buffer */
	size_t cap;         /* capacity of the output buffer */
	size_t len;         /* bytes written so far */
	int err;            /* AS_E_OVERSIZE once the buffer overflowed */
};

void as_reader_init(struct as_reader *r, const void *data, size_t len);
uint8_t as_reader_u8(struct as_reader *r);
uint16_t as_reader_u16(struct as_reader *r);
uint32_t as_reader_u32(struct as_reader *r);
uint64_t as_reader_u64(struct as_reader *r);
int64_t as_reader_i64(struct as_reader *r);
/* Copy n bytes into out (zero-filled on error). */
void as_reader_copy(struct as_reader *r, void *out, size_t n);
/* Borrow n bytes in place; returns NULL on error.  Valid as long as the
 * reader's input is. */
const uint8_t *as_reader_take(struct as_reader *r, size_t n);
/* 0 if no error and no bytes left; otherwise the sticky error or
 * AS_E_TRAILING. */
int as_reader_finish(const struct as_reader *r);

void as_writer_init(struct as_writer *w, void *buf, size_t cap);
void as_writer_u8(struct as_writer *w, uint8_t v);
void as_writer_u16(struct as_writer *w, uint16_t v);
void as_writer_u32(struct as_writer *w, uint32_t v);
void as_writer_u64(struct as_writer *w, uint64_t v);
void as_writer_i64(struct as_writer *w, int64_t v);
void as_writer_bytes(struct as_writer *w, const void *data, size_t n);

/* Fixed-width helpers for storage keys: big-endian so that byte order equals
 * numeric order in LMDB.  Inline: a trace decodes a few of them for every
 * index entry it reads, and a call each was a tenth of a busy venue's
 * trace. */
static inline void as_put_be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

static inline uint64_t as_get_be64(const uint8_t in[8])
{
	uint64_t v = 0;

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(&v, in, 8); /* one load and a byte swap */
	v = __builtin_bswap64(v);
#else
	for (int i = 0; i < 8; i++)
		v = (v << 8) | in[i];
#endif
	return v;
}

static inline void as_put_be32(uint8_t out[4], uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

static inline uint32_t as_get_be32(const uint8_t in[4])
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint32_t v;

	memcpy(&v, in, 4);
	return __builtin_bswap32(v);
#else
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
#endif
}

static inline void as_put_be16(uint8_t out[2], uint16_t v)
{
	out[0] = (uint8_t)(v >> 8);
	out[1] = (uint8_t)v;
}

static inline uint16_t as_get_be16(const uint8_t in[2])
{
	return (uint16_t)(in[0] << 8 | in[1]);
}

/* Lower-case hex.  as_hex_encode writes 2*n+1 bytes (NUL-terminated) into
 * out.  as_hex_decode accepts exactly 2*n hex digits (either case) and
 * returns 0 or AS_E_HEX. */
void as_hex_encode(char *out, const void *in, size_t n);
int as_hex_decode(void *out, size_t n, const char *hex);

#endif
