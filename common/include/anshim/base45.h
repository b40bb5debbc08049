/*
 * base45.h - Base45 (RFC 9285) text encoding for QR alphanumeric mode.
 */
#ifndef ANSHIM_BASE45_H
#define ANSHIM_BASE45_H

#include <stddef.h>

/* Characters needed to encode n bytes, not counting the NUL. */
size_t as_base45_encoded_len(size_t n);

/*
 * Encode n bytes of in into out (caller-owned, cap bytes, NUL-terminated).
 * Returns the text length, or AS_E_OVERSIZE if cap is too small.
 */
int as_base45_encode(char *out, size_t cap, const void *in, size_t n);

/*
 * Decode len characters of text into out (caller-owned, cap bytes).
 * Returns the decoded length, or AS_E_BASE45 on a character outside the
 * alphabet, a dangling single character or a group whose value is too
 * large, or AS_E_OVERSIZE if out is too small.
 */
int as_base45_decode(void *out, size_t cap, const char *text, size_t len);

/*
 * The QR text forms: prefix + Base45.  as_base45_text_encode writes prefix
 * and the encoding of n bytes into out (cap bytes, NUL-terminated) and
 * returns the text length or AS_E_OVERSIZE.  as_base45_text_decode takes
 * len characters of text: AS_E_PREFIX unless they start with prefix,
 * AS_E_OVERSIZE if more follow than cap bytes encode to, AS_E_BASE45 for
 * bad Base45; else the decoded length in out (cap bytes; give one byte
 * more than the format's size so a long message decodes and its decoder
 * reports the trailing bytes).  Pure; any thread.
 */
int as_base45_text_encode(char *out, size_t cap, const char *prefix, const void *in, size_t n);
int as_base45_text_decode(void *out, size_t cap, const char *prefix, const char *text,
			  size_t len);

#endif
