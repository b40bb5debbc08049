/*
 * fuzz_base45.c - Base45 (RFC 9285) both ways on the same input.
 *
 * Properties: text that decodes is canonical (encoding the bytes gives the
 * same text back); any bytes encode to as_base45_encoded_len characters
 * that decode back to the same bytes; decoding into a buffer one byte too
 * small fails with AS_E_OVERSIZE and writes nothing past it.
 */
#include "fuzz.h"

#include "anshim/base45.h"
#include "anshim/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap = size, tlen = as_base45_encoded_len(size);
	uint8_t *bin = malloc(cap ? cap : 1), *small;
	char *text = malloc(tlen + 1);
	int n, m;

	if (!bin || !text)
		abort();
	/* text -> bytes -> text */
	n = as_base45_decode(bin, cap, (const char *)data, size);
	if (n >= 0) {
		if (as_base45_encoded_len((size_t)n) != size)
			fuzz_fail("%zu characters decode to %d bytes", size, n);
		m = as_base45_encode(text, tlen + 1, bin, (size_t)n);
		fuzz_same_bytes("base45 text", m, text, data, size);
		if (n > 0) {
			small = malloc((size_t)n - 1 ? (size_t)n - 1 : 1);
			if (!small)
				abort();
			if (as_base45_decode(small, (size_t)n - 1, (const char *)data, size) !=
			    AS_E_OVERSIZE)
				fuzz_fail("decoded %d bytes into a smaller buffer", n);
			free(small);
		}
	}
	/* bytes -> text -> bytes */
	n = as_base45_encode(text, tlen + 1, data, size);
	if (n < 0 || (size_t)n != tlen || text[tlen] != '\0')
		fuzz_fail("encoding %zu bytes gave %d, expected %zu", size, n, tlen);
	m = as_base45_decode(bin, cap, text, tlen);
	fuzz_same_bytes("base45 bytes", m, bin, data, size);
	free(text);
	free(bin);
	return 0;
}
