/*
 * phone.h - phone number normalization (the input to the pseudonym).
 *
 * The same person must get the same pid from a wallet credential, a paper
 * register and an investigator's query, so every phone number is reduced to
 * one E.164 string first.  The rules are specified in docs/PROTOCOL.md.
 */
#ifndef ANSHIM_PHONE_H
#define ANSHIM_PHONE_H

#include <stddef.h>

/* Longest normalized number: '+' and at most 15 digits (E.164). */
#define AS_PHONE_MAX 16

/*
 * Normalize text (NUL-terminated, borrowed) into out as "+<digits>",
 * NUL-terminated, at most AS_PHONE_MAX characters.  Returns 0, or
 * AS_E_PHONE when text is not a phone number this project accepts.
 * Pure; any thread.
 */
int as_phone_normalize(char out[AS_PHONE_MAX + 1], const char *text);

#endif
