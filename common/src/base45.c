/*
 * base45.c - Base45 per RFC 9285.
 *
 * Two bytes become three characters (c + 45*d + 45^2*e, least significant
 * first); a final odd byte becomes two.  Decoding is strict: every group is
 * range-checked so that each byte string has exactly one encoding.  Pure
 * functions; any thread.
 */
#include "anshim/base45.h"
#include "anshim/error.h"

#include <stdint.h>
#include <string.h>

static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

size_t as_base45_encoded_len(size_t n)
{
	return n / 2 * 3 + (n % 2) * 2;
}

int as_base45_encode(char *out, size_t cap, const void *in, size_t n)
{
	const uint8_t *b = in;
	size_t need = as_base45_encoded_len(n), o = 0;

	if (need >= cap || need > INT32_MAX)
		return AS_E_OVERSIZE;
	for (size_t i = 0; i + 1 < n; i += 2) {
		unsigned v = (unsigned)b[i] << 8 | b[i + 1];
		out[o++] = alphabet[v % 45];
		out[o++] = alphabet[v / 45 % 45];
		out[o++] = alphabet[v / 2025];
	}
	if (n % 2) {
		unsigned v = b[n - 1];
		out[o++] = alphabet[v % 45];
		out[o++] = alphabet[v / 45];
	}
	out[o] = '\0';
	return (int)o;
}

static int base45_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	switch (c) {
	case ' ': return 36;
	case '$': return 37;
	case '%': return 38;
	case '*': return 39;
	case '+': return 40;
	case '-': return 41;
	case '.': return 42;
	case '/': return 43;
	case ':': return 44;
	default: return -1;
	}
}

int as_base45_decode(void *out, size_t cap, const char *text, size_t len)
{
	uint8_t *b = out;
	size_t o = 0;

	if (len % 3 == 1)
		return AS_E_BASE45;
	if (len / 3 * 2 + (len % 3 ? 1 : 0) > cap || len > (size_t)INT32_MAX)
		return AS_E_OVERSIZE;
	for (size_t i = 0; i < len; i += 3) {
		size_t group = len - i >= 3 ? 3 : 2;
		unsigned v = 0, scale = 1;

		for (size_t k = 0; k < group; k++, scale *= 45) {
			int d = base45_value(text[i + k]);
			if (d < 0)
				return AS_E_BASE45;
			v += (unsigned)d * scale;
		}
		if (group == 3) {
			if (v > 0xffff)
				return AS_E_BASE45;
			b[o++] = (uint8_t)(v >> 8);
			b[o++] = (uint8_t)v;
		} else {
			if (v > 0xff)
				return AS_E_BASE45;
			b[o++] = (uint8_t)v;
		}
	}
	return (int)o;
}

int as_base45_text_encode(char *out, size_t cap, const char *prefix, const void *in, size_t n)
{
	size_t plen = strlen(prefix);
	int rc;

	if (cap <= plen)
		return AS_E_OVERSIZE;
	memcpy(out, prefix, plen);
	rc = as_base45_encode(out + plen, cap - plen, in, n);
	return rc < 0 ? rc : (int)plen + rc;
}

int as_base45_text_decode(void *out, size_t cap, const char *prefix, const char *text,
			  size_t len)
{
	size_t plen = strlen(prefix);

	if (len < plen || memcmp(text, prefix, plen) != 0)
		return AS_E_PREFIX;
	if (len - plen > as_base45_encoded_len(cap))
		return AS_E_OVERSIZE;
	return as_base45_decode(out, cap, text + plen, len - plen);
}
