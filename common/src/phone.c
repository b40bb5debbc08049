/*
 * phone.c - phone number normalization to E.164.
 *
 * Accepted input: digits with optional separators (space, '-', '.', '(' and
 * ')'), and at most one leading '+'.  Two forms:
 *   - international "+CC...": 8 to 15 digits in all.  For Korea (+82) a
 *     trunk '0' written after the country code ("+82 010 ...") is dropped,
 *     and the national number must be valid as below.
 *   - Korean national "0...": a trunk '0' then 8 to 10 digits, the first of
 *     which is 1-7 (mobile 01x, Seoul 02, area codes 03x-06x, 070 VoIP);
 *     the result is "+82" followed by the digits without the trunk '0'.
 * Anything else (letters, a '+' elsewhere, too few or too many digits) is
 * rejected.  Pure; any thread.
 */
#include "anshim/phone.h"
#include "anshim/error.h"

#include <string.h>

/* Korean national significant number (after the trunk 0). */
static int korean_nsn_valid(const char *d, size_t n)
{
	if (n < 8 || n > 10)
		return 0;
	if (d[0] < '1' || d[0] > '7')
		return 0;
	/* Mobile numbers 01x carry 7 or 8 subscriber digits: 9 or 10 in all. */
	if (d[0] == '1' && n < 9)
		return 0;
	return 1;
}

int as_phone_normalize(char out[AS_PHONE_MAX + 1], const char *text)
{
	char digits[32];
	size_t n = 0;
	int international = 0;
	const char *p = text;

	if (!text)
		return AS_E_PHONE;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '+') {
		international = 1;
		p++;
	}
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n >= sizeof digits - 1)
				return AS_E_PHONE;
			digits[n++] = *p;
		} else if (strchr(" -.()\t", *p) == NULL) {
			return AS_E_PHONE;
		}
	}
	digits[n] = '\0';

	if (international) {
		const char *nsn;
		size_t nsn_len;

		if (digits[0] == '0')
			return AS_E_PHONE;
		if (n < 2 || digits[0] != '8' || digits[1] != '2') {
			if (n < 8 || n > 15)
				return AS_E_PHONE;
			out[0] = '+';
			memcpy(out + 1, digits, n + 1);
			return 0;
		}
		nsn = digits + 2;
		nsn_len = n - 2;
		if (nsn_len > 0 && nsn[0] == '0') {
			nsn++;
			nsn_len--;
		}
		if (!korean_nsn_valid(nsn, nsn_len))
			return AS_E_PHONE;
		memcpy(out, "+82", 3);
		memcpy(out + 3, nsn, nsn_len + 1);
		return 0;
	}
	if (n < 1 || digits[0] != '0' || !korean_nsn_valid(digits + 1, n - 1))
		return AS_E_PHONE;
	memcpy(out, "+82", 3);
	memcpy(out + 3, digits + 1, n);
	return 0;
}
