/*
 * enrolreq.c - the enrolment request codec (layout in enrolreq.h).
 *
 * Invariants: the encoder and the decoder apply the same field rules
 * (text_valid, category_valid, ranges), so whatever decodes re-encodes to
 * the same bytes; every length is bounded before it is read; the text form
 * is checked for size before Base45 decoding.  Pure apart from libsodium;
 * any thread.
 */
#include "anshim/enrolreq.h"

#include "anshim/base45.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/parse.h"

#include <sodium.h>
#include <string.h>

/* len bytes of well-formed UTF-8 without control characters. */
static int text_valid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = as_utf8_char((const unsigned char *)s + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

static int category_valid(const char *s, size_t len)
{
	if (len > AS_ENROLREQ_CATEGORY_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* Field checks shared by encoder and decoder: 0 or AS_E_FIELD. */
static int fields_valid(const struct as_enrolreq *r)
{
	size_t name = strnlen(r->name, sizeof r->name);
	size_t address = strnlen(r->address, sizeof r->address);
	size_t category = strnlen(r->category, sizeof r->category);

	if (name < 1 || name > AS_ENROLREQ_NAME_MAX || address > AS_ENROLREQ_ADDRESS_MAX ||
	    category > AS_ENROLREQ_CATEGORY_MAX)
		return AS_E_FIELD;
	if (r->dwell_minutes > 1440 || !text_valid(r->name, name) ||
	    !text_valid(r->address, address) || !category_valid(r->category, category))
		return AS_E_FIELD;
	return 0;
}

static void request_write(struct as_writer *w, const struct as_enrolreq *r)
{
	const char *texts[3] = {r->category, r->name, r->address};

	as_writer_u8(w, AS_ENROLREQ_MAGIC);
	as_writer_u8(w, AS_ENROLREQ_VERSION);
	as_writer_bytes(w, r->gw_pk, AS_SIGN_PK_LEN);
	as_writer_i64(w, r->created_at);
	as_writer_u32(w, r->venue_id);
	as_writer_u16(w, r->dwell_minutes);
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(texts[i]);
		as_writer_u8(w, (uint8_t)n);
		as_writer_bytes(w, texts[i], n);
	}
}

int as_enrolreq_encode(uint8_t *out, size_t cap, const struct as_enrolreq *r)
{
	struct as_writer w;
	int rc = fields_valid(r);

	if (rc)
		return rc;
	as_writer_init(&w, out, cap);
	request_write(&w, r);
	as_writer_bytes(&w, r->sig, AS_SIG_LEN);
	return w.err ? AS_E_OVERSIZE : (int)w.len;
}

/* One length-prefixed text of at most max bytes into out (max + 1). */
static void text_read(struct as_reader *rd, char *out, size_t max)
{
	uint8_t n = as_reader_u8(rd);

	if (rd->err)
		return;
	if (n > max) {
		rd->err = AS_E_FIELD;
		return;
	}
	as_reader_copy(rd, out, n);
	if (!rd->err)
		out[n] = '\0';
}

int as_enrolreq_decode(struct as_enrolreq *r, const uint8_t *in, size_t len)
{
	struct as_reader rd;
	uint8_t magic, version;
	int rc;

	memset(r, 0, sizeof *r);
	if (len > AS_ENROLREQ_MAX)
		return AS_E_OVERSIZE;
	as_reader_init(&rd, in, len);
	magic = as_reader_u8(&rd);
	version = as_reader_u8(&rd);
	if (rd.err)
		return rd.err;
	if (magic != AS_ENROLREQ_MAGIC)
		return AS_E_MAGIC;
	if (version != AS_ENROLREQ_VERSION)
		return AS_E_VERSION;
	as_reader_copy(&rd, r->gw_pk, AS_SIGN_PK_LEN);
	r->created_at = as_reader_i64(&rd);
	r->venue_id = as_reader_u32(&rd);
	r->dwell_minutes = as_reader_u16(&rd);
	text_read(&rd, r->category, AS_ENROLREQ_CATEGORY_MAX);
	text_read(&rd, r->name, AS_ENROLREQ_NAME_MAX);
	text_read(&rd, r->address, AS_ENROLREQ_ADDRESS_MAX);
	as_reader_copy(&rd, r->sig, AS_SIG_LEN);
	rc = as_reader_finish(&rd);
	if (!rc)
		rc = fields_valid(r);
	if (!rc) {
		size_t total = AS_ENROLREQ_FIXED_LEN + strlen(r->category) + strlen(r->name) +
			       strlen(r->address);
		if (total != len)
			rc = AS_E_FIELD; /* a NUL inside a text */
	}
	if (rc)
		memset(r, 0, sizeof *r);
	return rc;
}

int as_enrolreq_sign(struct as_enrolreq *r, const uint8_t sk[AS_SIGN_SK_LEN])
{
	uint8_t buf[AS_ENROLREQ_MAX];
	struct as_writer w;
	int rc;

	memcpy(r->gw_pk, sk + AS_SIGN_SK_LEN - AS_SIGN_PK_LEN, AS_SIGN_PK_LEN);
	rc = fields_valid(r);
	if (rc)
		return rc;
	as_writer_init(&w, buf, sizeof buf);
	request_write(&w, r);
	if (w.err)
		return AS_E_OVERSIZE;
	crypto_sign_detached(r->sig, NULL, buf, w.len, sk);
	return 0;
}

int as_enrolreq_verify(const struct as_enrolreq *r)
{
	uint8_t buf[AS_ENROLREQ_MAX];
	struct as_writer w;

	if (fields_valid(r))
		return AS_E_FIELD;
	as_writer_init(&w, buf, sizeof buf);
	request_write(&w, r);
	if (w.err)
		return AS_E_OVERSIZE;
	return crypto_sign_verify_detached(r->sig, buf, w.len, r->gw_pk) ? AS_E_SIGNATURE : 0;
}

int as_enrolreq_to_text(char *out, size_t cap, const struct as_enrolreq *r)
{
	uint8_t bin[AS_ENROLREQ_MAX];
	const size_t plen = sizeof AS_ENROLREQ_PREFIX - 1;
	int n = as_enrolreq_encode(bin, sizeof bin, r), rc;

	if (n < 0)
		return n;
	if (cap <= plen)
		return AS_E_OVERSIZE;
	memcpy(out, AS_ENROLREQ_PREFIX, plen);
	rc = as_base45_encode(out + plen, cap - plen, bin, (size_t)n);
	return rc < 0 ? rc : (int)plen + rc;
}

int as_enrolreq_from_text(struct as_enrolreq *r, const char *text, size_t len)
{
	/* Room for one byte too many, so a long request reads as too long. */
	uint8_t bin[AS_ENROLREQ_MAX + 2];
	const size_t plen = sizeof AS_ENROLREQ_PREFIX - 1;
	int n, rc;

	memset(r, 0, sizeof *r);
	if (len < plen || memcmp(text, AS_ENROLREQ_PREFIX, plen) != 0)
		return AS_E_PREFIX;
	if (len - plen > as_base45_encoded_len(sizeof bin))
		return AS_E_OVERSIZE;
	n = as_base45_decode(bin, sizeof bin, text + plen, len - plen);
	if (n < 0)
		return n;
	rc = as_enrolreq_decode(r, bin, (size_t)n);
	if (!rc)
		rc = as_enrolreq_verify(r);
	if (rc)
		memset(r, 0, sizeof *r);
	return rc;
}
