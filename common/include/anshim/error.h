/*
 * error.h - Anshim's error codes and their one strerror.
 *
 * Every fallible function in Anshim returns an int: 0 on success, a negative
 * value on failure.  Values from -1 to -999 are negated errno values (system
 * errors); values at or below AS_ERR_BASE are Anshim's own.  as_strerror()
 * turns either kind into a message and never returns NULL.
 */
#ifndef ANSHIM_ERROR_H
#define ANSHIM_ERROR_H

#include <stddef.h>

#define AS_ERR_BASE (-1000)

enum as_error {
	AS_OK = 0,
	/* Framing: what every strict decoder can report. */
	AS_E_TRUNCATED = AS_ERR_BASE,   /* input ends before the format does */
	AS_E_TRAILING = AS_ERR_BASE - 1, /* bytes left after a complete value */
	AS_E_VERSION = AS_ERR_BASE - 2,  /* version byte this build does not know */
	AS_E_LENGTH = AS_ERR_BASE - 3,   /* a length or count field is out of range */
	AS_E_OVERSIZE = AS_ERR_BASE - 4, /* input larger than the format allows */
	AS_E_MAGIC = AS_ERR_BASE - 5,    /* wrong magic: not this kind of message */
	AS_E_FIELD = AS_ERR_BASE - 6,    /* a field holds a value out of range */
	/* Text encodings. */
	AS_E_PREFIX = AS_ERR_BASE - 10,  /* QR text has no known Anshim prefix */
	AS_E_BASE45 = AS_ERR_BASE - 11,  /* text is not valid Base45 */
	AS_E_PHONE = AS_ERR_BASE - 12,   /* not a phone number */
	AS_E_HEX = AS_ERR_BASE - 13,     /* not valid hex of the expected length */
	/* Verification. */
	AS_E_ISSUER_UNKNOWN = AS_ERR_BASE - 19, /* token issuer key not in the policy */
	AS_E_ISSUER_SIG = AS_ERR_BASE - 20, /* authority signature does not verify */
	AS_E_HOLDER_SIG = AS_ERR_BASE - 21, /* holder signature does not verify */
	AS_E_EXPIRED = AS_ERR_BASE - 22,    /* credential past its expiry */
	AS_E_STALE = AS_ERR_BASE - 23,      /* pass timestamp outside freshness window */
	AS_E_REVOKED = AS_ERR_BASE - 24,    /* holder or gateway revoked */
	AS_E_SIGNATURE = AS_ERR_BASE - 25,  /* message signature does not verify */
	AS_E_NOT_CARD = AS_ERR_BASE - 26,   /* credential is not issued for card use */
	AS_E_IS_CARD = AS_ERR_BASE - 27,    /* card credential shown as a phone pass */
	AS_E_NOT_YET = AS_ERR_BASE - 28,    /* credential not valid yet */
	AS_E_TOKEN_SIG = AS_ERR_BASE - 29,  /* pass v2: token-key signature does not verify */
	/* Keys and files. */
	AS_E_KEY_PERMS = AS_ERR_BASE - 30, /* key file readable by group or others */
	AS_E_KEY_FORMAT = AS_ERR_BASE - 31, /* key file is not an Anshim key of that kind */
	AS_E_EXISTS = AS_ERR_BASE - 32,    /* refusing to overwrite an existing file */
	AS_E_CRYPTO = AS_ERR_BASE - 33,    /* libsodium failed (init, seal, open) */
	AS_E_CAPSULE = AS_ERR_BASE - 34,   /* sealed capsule does not open or is malformed */
	/* Storage and runtime. */
	AS_E_FULL = AS_ERR_BASE - 40,      /* storage full (LMDB map full) */
	AS_E_CORRUPT = AS_ERR_BASE - 41,   /* stored data fails its own checks */
	AS_E_CONFIG = AS_ERR_BASE - 42,    /* configuration error */
	AS_E_USAGE = AS_ERR_BASE - 43,     /* bad command-line usage */
	AS_E_STORE = AS_ERR_BASE - 44,     /* other LMDB error */
	AS_E_NOT_FOUND = AS_ERR_BASE - 45, /* no such record or entry */
	AS_E_MQTT = AS_ERR_BASE - 46,      /* MQTT client error */
	AS_E_TIME = AS_ERR_BASE - 47,      /* not a valid date or time */
	AS_E_CSV = AS_ERR_BASE - 48,       /* malformed CSV row */
	AS_E_QR = AS_ERR_BASE - 49,        /* QR code cannot be rendered */
	AS_E_BUDGET = AS_ERR_BASE - 50,    /* work would pass its memory budget */
	AS_E_LAST = AS_ERR_BASE - 50
};

/*
 * Return a human-readable message for err (0, -errno, or an as_error code).
 * The string is static and never NULL; unknown codes get a generic message.
 * Thread-safe.
 */
const char *as_strerror(int err);

/* Return the symbolic name ("AS_E_STALE", "ENOENT", ...) of err, for tests
 * and logs; never NULL.  Thread-safe. */
const char *as_errname(int err);

/* Write a message into a caller's error buffer (buf, len bytes), as
 * snprintf; nothing when buf is NULL or len is 0.  Any thread. */
void as_err_printf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
