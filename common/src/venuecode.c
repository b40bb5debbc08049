/*
 * venuecode.c - the venue QR code codec (layouts in venuecode.h): a static
 * poster signed by the authority, or a rotating code signed by a gateway's
 * device key for one time slot; their "AV1:" + Base45 text; signing,
 * verification and slot arithmetic.
 *
 * Invariants: the decoder never reads past its input and accepts exactly one
 * well-formed code of a known type with every field in range (name 1..64
 * bytes of UTF-8 without control characters, slot_seconds in
 * AS_SLOT_MIN..AS_SLOT_MAX with slot_start a multiple of it, venue_id >= 1);
 * the encoder refuses the same invalid values, so nothing this module signs
 * fails to decode.  Decoding never checks a signature: as_venue_code_verify
 * does, over the re-encoded bytes.  Pure functions; any thread.
 */
#include "anshim/venuecode.h"
#include "anshim/base45.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/parse.h"

#include <sodium.h>
#include <string.h>

/* Bytes before the variable part: magic, version, type. */
#define HEADER_LEN 3

/* A name is 1..AS_VENUE_NAME_MAX bytes of well-formed UTF-8, no controls. */
static int name_valid(const char *name, size_t len)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i = 0;

	if (len < 1 || len > AS_VENUE_NAME_MAX)
		return 0;
	while (i < len) {
		size_t n = as_utf8_char(s + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* Field checks shared by encoder and decoder: 0 or AS_E_FIELD. */
static int fields_valid(const struct as_venue_code *c)
{
	if (c->venue_id == 0)
		return AS_E_FIELD;
	if (c->type == AS_VC_POSTER)
		return name_valid(c->name, strlen(c->name)) ? 0 : AS_E_FIELD;
	if (c->type != AS_VC_ROTATING)
		return AS_E_FIELD;
	if (c->slot_seconds < AS_SLOT_MIN || c->slot_seconds > AS_SLOT_MAX)
		return AS_E_FIELD;
	if (c->slot_start % c->slot_seconds != 0)
		return AS_E_FIELD;
	return 0;
}

/* Write every field, signature included; the caller checks w->err. */
static void code_write(struct as_writer *w, const struct as_venue_code *c)
{
	as_writer_u8(w, AS_VENUE_CODE_MAGIC);
	as_writer_u8(w, AS_VENUE_CODE_VERSION);
	as_writer_u8(w, c->type);
	as_writer_u32(w, c->venue_id);
	if (c->type == AS_VC_POSTER) {
		size_t n = strlen(c->name);
		as_writer_i64(w, c->issued_at);
		as_writer_u8(w, (uint8_t)n);
		as_writer_bytes(w, c->name, n);
	} else {
		as_writer_bytes(w, c->gw_id, AS_GWID_LEN);
		as_writer_i64(w, c->slot_start);
		as_writer_u16(w, c->slot_seconds);
	}
	as_writer_bytes(w, c->sig, AS_SIG_LEN);
}

int as_venue_code_encode(uint8_t *out, size_t cap, const struct as_venue_code *c)
{
	struct as_writer w;
	int rc;

	if (c->type == AS_VC_POSTER && strnlen(c->name, sizeof c->name) == sizeof c->name)
		return AS_E_FIELD; /* not NUL-terminated */
	rc = fields_valid(c);
	if (rc)
		return rc;
	as_writer_init(&w, out, cap);
	code_write(&w, c);
	return w.err ? w.err : (int)w.len;
}

int as_venue_code_decode(struct as_venue_code *c, const uint8_t *in, size_t len)
{
	struct as_reader r;
	uint8_t magic, version, name_len;
	int rc;

	memset(c, 0, sizeof *c);
	if (len > 2 * AS_VENUE_CODE_MAX)
		return AS_E_OVERSIZE;
	as_reader_init(&r, in, len);
	magic = as_reader_u8(&r);
	version = as_reader_u8(&r);
	c->type = as_reader_u8(&r);
	if (r.err)
		return r.err;
	if (magic != AS_VENUE_CODE_MAGIC)
		return AS_E_MAGIC;
	if (version != AS_VENUE_CODE_VERSION)
		return AS_E_VERSION;
	if (c->type != AS_VC_POSTER && c->type != AS_VC_ROTATING)
		return AS_E_FIELD;
	c->venue_id = as_reader_u32(&r);
	if (c->type == AS_VC_POSTER) {
		c->issued_at = as_reader_i64(&r);
		name_len = as_reader_u8(&r);
		if (r.err)
			return r.err;
		if (name_len < 1 || name_len > AS_VENUE_NAME_MAX)
			return AS_E_LENGTH;
		as_reader_copy(&r, c->name, name_len);
		c->name[name_len] = '\0';
	} else {
		name_len = 0;
		as_reader_copy(&r, c->gw_id, AS_GWID_LEN);
		c->slot_start = as_reader_i64(&r);
		c->slot_seconds = as_reader_u16(&r);
	}
	as_reader_copy(&r, c->sig, AS_SIG_LEN);
	rc = as_reader_finish(&r);
	if (rc)
		return rc;
	/* Every name byte, so an embedded NUL (a control) is refused too. */
	if (c->type == AS_VC_POSTER && !name_valid(c->name, name_len))
		return AS_E_FIELD;
	return fields_valid(c);
}

/* Encoded length of the part the signature covers. */
static size_t signed_len(const struct as_venue_code *c)
{
	return c->type == AS_VC_POSTER ? AS_VENUE_POSTER_BASE_LEN - AS_SIG_LEN + strlen(c->name)
				       : AS_VENUE_ROTATING_LEN - AS_SIG_LEN;
}

int as_venue_code_sign(struct as_venue_code *c, const uint8_t sk[AS_SIGN_SK_LEN])
{
	uint8_t buf[AS_VENUE_CODE_MAX];
	int rc;

	memset(c->sig, 0, AS_SIG_LEN);
	rc = as_venue_code_encode(buf, sizeof buf, c);
	if (rc < 0)
		return rc;
	crypto_sign_detached(c->sig, NULL, buf, signed_len(c), sk);
	return 0;
}

int as_venue_code_verify(const struct as_venue_code *c, const uint8_t pk[AS_SIGN_PK_LEN])
{
	uint8_t buf[AS_VENUE_CODE_MAX];

	if (as_venue_code_encode(buf, sizeof buf, c) < 0)
		return AS_E_SIGNATURE;
	if (crypto_sign_verify_detached(c->sig, buf, signed_len(c), pk))
		return AS_E_SIGNATURE;
	return 0;
}

int as_venue_code_to_text(char *out, size_t cap, const struct as_venue_code *c)
{
	uint8_t bin[AS_VENUE_CODE_MAX];
	int n = as_venue_code_encode(bin, sizeof bin, c);

	return n < 0 ? n : as_base45_text_encode(out, cap, AS_VENUE_CODE_PREFIX, bin, (size_t)n);
}

int as_venue_code_from_text(struct as_venue_code *c, const char *text, size_t len)
{
	/* Room for one byte too many, so a long code reads as AS_E_TRAILING. */
	uint8_t bin[AS_VENUE_CODE_MAX + 2];
	int n;

	memset(c, 0, sizeof *c);
	n = as_base45_text_decode(bin, sizeof bin, AS_VENUE_CODE_PREFIX, text, len);
	if (n < 0)
		return n;
	return as_venue_code_decode(c, bin, (size_t)n);
}

int64_t as_venue_slot_start(int64_t t, unsigned slot_seconds)
{
	int64_t s = (int64_t)slot_seconds, r;

	if (s <= 0)
		return t;
	r = t % s;
	if (r >= 0)
		return t - r;
	/* Within one slot of INT64_MIN the floor is not representable: the
	 * next multiple up is the nearest answer without overflow. */
	return t - r < INT64_MIN + s ? t - r : t - r - s;
}

int as_venue_code_rotating(struct as_venue_code *c, uint32_t venue_id,
			   const uint8_t gw_id[AS_GWID_LEN], int64_t now, unsigned slot_seconds,
			   const uint8_t sk[AS_SIGN_SK_LEN])
{
	memset(c, 0, sizeof *c);
	if (slot_seconds < AS_SLOT_MIN || slot_seconds > AS_SLOT_MAX)
		return AS_E_FIELD;
	c->type = AS_VC_ROTATING;
	c->venue_id = venue_id;
	memcpy(c->gw_id, gw_id, AS_GWID_LEN);
	c->slot_seconds = (uint16_t)slot_seconds;
	c->slot_start = as_venue_slot_start(now, slot_seconds);
	return as_venue_code_sign(c, sk);
}
