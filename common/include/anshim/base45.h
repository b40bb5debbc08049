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

#endif
