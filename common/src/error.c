/*
 * error.c - messages for Anshim's error codes.
 *
 * A single table maps each project code to its symbolic name and message.
 * System errors (-errno) are described with strerror_r into a per-thread
 * buffer so the function stays thread-safe.  Runs on any thread.
 */
#include "anshim/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct error_entry {
	int code;
	const char *name;
	const char *message;
};

static const struct error_entry error_table[] = {
	{AS_E_TRUNCATED, "AS_E_TRUNCATED", "input is truncated"},
	{AS_E_TRAILING, "AS_E_TRAILING", "unexpected trailing bytes after the message"},
	{AS_E_VERSION, "AS_E_VERSION", "unknown format version"},
	{AS_E_LENGTH, "AS_E_LENGTH", "a length or count field is invalid"},
	{AS_E_OVERSIZE, "AS_E_OVERSIZE", "input is larger than the format allows"},
	{AS_E_MAGIC, "AS_E_MAGIC", "wrong message type (bad magic byte)"},
	{AS_E_FIELD, "AS_E_FIELD", "a field holds an out-of-range value"},
	{AS_E_PREFIX, "AS_E_PREFIX", "not an Anshim code (unknown prefix)"},
	{AS_E_BASE45, "AS_E_BASE45", "malformed Base45 text"},
	{AS_E_PHONE, "AS_E_PHONE", "not a valid phone number"},
	{AS_E_HEX, "AS_E_HEX", "not valid hex of the expected length"},
	{AS_E_ISSUER_UNKNOWN, "AS_E_ISSUER_UNKNOWN",
	 "visit token from an issuer the policy does not list"},
	{AS_E_ISSUER_SIG, "AS_E_ISSUER_SIG", "bad issuer signature"},
	{AS_E_HOLDER_SIG, "AS_E_HOLDER_SIG", "bad holder signature"},
	{AS_E_EXPIRED, "AS_E_EXPIRED", "credential expired"},
	{AS_E_STALE, "AS_E_STALE", "pass is stale (timestamp outside the freshness window)"},
	{AS_E_REVOKED, "AS_E_REVOKED", "revoked"},
	{AS_E_SIGNATURE, "AS_E_SIGNATURE", "bad signature"},
	{AS_E_NOT_CARD, "AS_E_NOT_CARD", "credential was not issued for a printed card"},
	{AS_E_IS_CARD, "AS_E_IS_CARD", "card credential cannot be shown as a phone pass"},
	{AS_E_NOT_YET, "AS_E_NOT_YET", "credential is not valid yet"},
	{AS_E_TOKEN_SIG, "AS_E_TOKEN_SIG",
	 "bad token signature (the pass was not made with its token's key)"},
	{AS_E_KEY_PERMS, "AS_E_KEY_PERMS",
	 "key file is readable by group or others (fix with chmod 600)"},
	{AS_E_KEY_FORMAT, "AS_E_KEY_FORMAT", "file is not an Anshim key of the expected kind"},
	{AS_E_EXISTS, "AS_E_EXISTS", "file already exists; refusing to overwrite it"},
	{AS_E_CRYPTO, "AS_E_CRYPTO", "cryptographic operation failed"},
	{AS_E_CAPSULE, "AS_E_CAPSULE", "sealed capsule cannot be opened with this key"},
	{AS_E_FULL, "AS_E_FULL", "storage full"},
	{AS_E_CORRUPT, "AS_E_CORRUPT", "stored data is corrupt"},
	{AS_E_CONFIG, "AS_E_CONFIG", "configuration error"},
	{AS_E_USAGE, "AS_E_USAGE", "bad command-line usage"},
	{AS_E_STORE, "AS_E_STORE", "database error"},
	{AS_E_NOT_FOUND, "AS_E_NOT_FOUND", "not found"},
	{AS_E_MQTT, "AS_E_MQTT", "MQTT client error"},
	{AS_E_TIME, "AS_E_TIME", "not a valid date or time"},
	{AS_E_CSV, "AS_E_CSV", "malformed CSV row"},
	{AS_E_QR, "AS_E_QR", "QR code cannot be rendered"},
	{AS_E_BUDGET, "AS_E_BUDGET", "the work would pass its memory budget"},
};

static const struct error_entry *error_find(int err)
{
	for (size_t i = 0; i < sizeof error_table / sizeof error_table[0]; i++)
		if (error_table[i].code == err)
			return &error_table[i];
	return NULL;
}

const char *as_strerror(int err)
{
	static _Thread_local char buf[128];

	if (err == 0)
		return "success";
	if (err <= AS_ERR_BASE) {
		const struct error_entry *e = error_find(err);
		return e ? e->message : "unknown Anshim error";
	}
	if (err < 0) {
		/* strerror is not guaranteed thread-safe; copy into our buffer. */
		const char *msg = strerror(-err);
		snprintf(buf, sizeof buf, "%s", msg ? msg : "unknown system error");
		return buf;
	}
	return "unknown error (positive code)";
}

const char *as_errname(int err)
{
	static _Thread_local char buf[32];

	if (err == 0)
		return "OK";
	if (err <= AS_ERR_BASE) {
		const struct error_entry *e = error_find(err);
		return e ? e->name : "AS_E_UNKNOWN";
	}
	snprintf(buf, sizeof buf, "errno %d", -err);
	return buf;
}

void as_err_printf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}
