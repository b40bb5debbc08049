/*
 * audit.c - the tamper-evident audit log of traces and reveals (the format
 * and the contract are in audit.h).
 *
 * What it does.  cl_audit_append turns one struct cl_audit_entry into one
 * version 2 text line -- fields, the previous entry's hash, this entry's
 * hash and audit.key's signature over it -- and appends it under an
 * exclusive flock with a single write() followed by fsync.
 * cl_audit_verify and cl_audit_each stream the file line by line through
 * one walker that checks, in this order: the line is whole (ends in '\n'),
 * it parses (as version 2 when it starts "v=2 ", else as version 1), it is
 * canonical (re-encoding the parsed fields gives back exactly the same
 * bytes), no version 1 line follows a version 2 one, a request it answers
 * is an earlier entry, its seq is its line number, its prev is the
 * previous entry's hash, its hash is the hash of its fields (in its
 * version's domain), and (verify only) its signature holds (audit.pub for
 * version 2, sign.pub for version 1).  The first failure names that line.
 * cl_audit_requests folds the entries into the reveal requests' states.
 *
 * Invariants.
 *   - A line is at most AUDIT_LINE_MAX bytes including its '\n'; free text
 *     is escaped so the only '\n' in a line is its last byte and the only
 *     '"' inside a quoted field are its delimiters.
 *   - Canonical form is enforced by re-encoding, so a parsed entry has one
 *     and only one spelling; any byte changed in a line either breaks the
 *     parse, breaks the spelling, or changes a field (and so the hash).
 *   - The writer never extends a log whose last line is torn, whose last
 *     entry does not parse, or whose last hash or signature fails; it
 *     checks only the last entry (O(1) appends), verify checks them all.
 *   - A write that fails part-way is undone with ftruncate under the lock,
 *     so the file only ever grows by whole lines (a crash can still leave
 *     one torn last line, which verify reports as truncated).
 *   - No phone numbers: case_ref must be exactly a pid in hex.
 *   - Version 1 entries (signed by sign.key) only before the first
 *     version 2 entry (signed by audit.key); the writer writes version 2
 *     only.  An approve, refuse or reveal entry names an earlier entry.
 *
 * Threads.  No global state: any thread may call these.  Appends from
 * several threads or processes are serialised by flock (each append opens
 * its own descriptor, and flock locks belong to the open file); readers
 * take a shared lock, so they see whole lines only.
 */
#include "audit.h"

#include "authority.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/identity.h"
#include "anshim/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_LINE_MAX 4096                       /* bytes, '\n' included */
#define AUDIT_TIME_MAX INT64_C(253402300799)      /* 9999-12-31T23:59:59Z */
#define AUDIT_ENTRIES_MAX (UINT64_C(1) << 40)     /* loop bound for walks */
#define AUDIT_READ_BUF (2 * AUDIT_LINE_MAX)
#define AUDIT_EINTR_MAX 1000                      /* retries of EINTR */

static const char hash_tag_v1[16] = "anshim-audit-v1"; /* + its NUL: 16 bytes */
static const char hash_tag_v2[16] = "anshim-audit-v2";
static const char sig_tag[16] = {'a', 'n', 's', 'h', 'i', 'm', '-', 'a',
				 'u', 'd', 'i', 't', '-', 's', 'i', 'g'};

/* One parsed line. */
struct audit_rec {
	uint64_t seq;
	struct cl_audit_entry e;
	uint8_t prev[CL_AUDIT_HASH_LEN];
	uint8_t hash[CL_AUDIT_HASH_LEN];
	uint8_t sig[crypto_sign_BYTES];
};

/* ---- entry rules ------------------------------------------------------ */

static int terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static int is_pid_hex(const char *s)
{
	size_t n = strlen(s);

	if (n != 2 * AS_PID_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int action_ok(const char *a, unsigned version)
{
	static const char *const v2[] = {CL_AUDIT_TRACE, CL_AUDIT_ASK, CL_AUDIT_APPROVE,
					  CL_AUDIT_REFUSE, CL_AUDIT_REVEAL, CL_AUDIT_BREAK_GLASS};

	if (version == 1)
		return strcmp(a, "trace") == 0 || strcmp(a, "reveal") == 0;
	for (size_t i = 0; i < sizeof v2 / sizeof v2[0]; i++)
		if (strcmp(a, v2[i]) == 0)
			return 1;
	return 0;
}

/* The actions that answer a request (and name it). */
static int names_request(const char *a)
{
	return strcmp(a, CL_AUDIT_APPROVE) == 0 || strcmp(a, CL_AUDIT_REFUSE) == 0 ||
	       strcmp(a, CL_AUDIT_REVEAL) == 0;
}

/* 0 if e (version 1 or 2) is an entry we can record (time already filled in), else
 * AS_E_FIELD with the reason in why. */
static int audit__check_entry(const struct cl_audit_entry *e, char *why, size_t why_len)
{
	if (!terminated(e->who, sizeof e->who) || e->who[0] == '\0') {
		as_err_printf(why, why_len, "'who' must be 1-%zu bytes (the investigator)", sizeof e->who - 1);
		return AS_E_FIELD;
	}
	if (!terminated(e->action, sizeof e->action) || !action_ok(e->action, e->version)) {
		as_err_printf(why, why_len, e->version == 1 ? "'action' must be \"trace\" or \"reveal\"" :
		    "'action' must be trace, ask, approve, refuse, reveal or break-glass");
		return AS_E_FIELD;
	}
	if (e->version == 2 && (e->request != 0) != names_request(e->action)) {
		as_err_printf(why, why_len, "'request' must name the ask for approve, refuse and reveal "
		    "(and be 0 for the other actions)");
		return AS_E_FIELD;
	}
	if (e->version == 2 && (!terminated(e->case_no, sizeof e->case_no) ||
				e->min_overlap < 0 || e->min_overlap > CL_AUDIT_DURATION_MAX ||
				e->risk_period < 0 || e->risk_period > CL_AUDIT_DURATION_MAX ||
				e->incubation < 0 || e->incubation > CL_AUDIT_DURATION_MAX)) {
		as_err_printf(why, why_len, "'case_no' must be at most %zu bytes and the durations 0 to "
		    "366 days", sizeof e->case_no - 1);
		return AS_E_FIELD;
	}
	if (!terminated(e->case_ref, sizeof e->case_ref) || !is_pid_hex(e->case_ref)) {
		as_err_printf(why, why_len, "'case_ref' must be the case's pid as %d lowercase hex digits "
		    "(never a phone number)", 2 * AS_PID_LEN);
		return AS_E_FIELD;
	}
	if (!terminated(e->reason, sizeof e->reason)) {
		as_err_printf(why, why_len, "'reason' must be at most %zu bytes", sizeof e->reason - 1);
		return AS_E_FIELD;
	}
	if (e->time <= 0 || e->time > AUDIT_TIME_MAX) {
		as_err_printf(why, why_len, "'time' %lld is out of range", (long long)e->time);
		return AS_E_FIELD;
	}
	if (e->window_from < 0 || e->window_to > AUDIT_TIME_MAX ||
	    e->window_from > e->window_to) {
		as_err_printf(why, why_len, "window %lld..%lld is not a range of times",
		    (long long)e->window_from, (long long)e->window_to);
		return AS_E_FIELD;
	}
	return 0;
}

/* ---- the hash and the signature ----------------------------------------- */

static void put_str(struct as_writer *w, const char *s)
{
	size_t n = strlen(s);

	as_writer_u16(w, (uint16_t)n);
	as_writer_bytes(w, s, n);
}

/* hash = BLAKE2b-256 of the canonical binary encoding of r's fields
 * (everything but hash and sig).  r's strings must be terminated. */
static int audit__hash(const struct audit_rec *r, uint8_t out[CL_AUDIT_HASH_LEN])
{
	uint8_t buf[1024];
	struct as_writer w;

	int v2 = r->e.version == 2;

	as_writer_init(&w, buf, sizeof buf);
	as_writer_bytes(&w, v2 ? hash_tag_v2 : hash_tag_v1, sizeof hash_tag_v1);
	as_writer_bytes(&w, r->prev, sizeof r->prev);
	as_writer_u64(&w, r->seq);
	as_writer_i64(&w, r->e.time);
	put_str(&w, r->e.who);
	put_str(&w, r->e.action);
	put_str(&w, r->e.case_ref);
	as_writer_i64(&w, r->e.window_from);
	as_writer_i64(&w, r->e.window_to);
	as_writer_u32(&w, r->e.depth);
	if (v2) {
		as_writer_i64(&w, r->e.min_overlap);
		as_writer_i64(&w, r->e.risk_period);
		as_writer_i64(&w, r->e.incubation);
	}
	as_writer_u32(&w, r->e.contacts);
	as_writer_u32(&w, r->e.revealed);
	if (v2) {
		as_writer_u64(&w, r->e.request);
		put_str(&w, r->e.case_no);
	}
	put_str(&w, r->e.reason);
	if (w.err)
		return w.err;
	crypto_generichash(out, CL_AUDIT_HASH_LEN, buf, w.len, NULL, 0);
	return 0;
}

static void sig_message(uint8_t msg[sizeof sig_tag + CL_AUDIT_HASH_LEN],
			const uint8_t hash[CL_AUDIT_HASH_LEN])
{
	memcpy(msg, sig_tag, sizeof sig_tag);
	memcpy(msg + sizeof sig_tag, hash, CL_AUDIT_HASH_LEN);
}

/* Version 2 by audit.pub, version 1 by sign.pub (if given). */
static int audit__sig_ok(const struct audit_rec *r, const struct cl_audit_keys *k)
{
	uint8_t msg[sizeof sig_tag + CL_AUDIT_HASH_LEN];
	const uint8_t *pk = r->e.version == 2 ? k->audit_pk : k->has_sign ? k->sign_pk : NULL;

	if (!pk)
		return 0;
	sig_message(msg, r->hash);
	return crypto_sign_verify_detached(r->sig, msg, sizeof msg, pk) == 0;
}

/* ---- text encoding ------------------------------------------------------ */

struct out {
	char *p;
	size_t cap, len;
	int over;
};

static void out_addn(struct out *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void out_add(struct out *o, const char *s)
{
	out_addn(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		o->over = 1;
	else
		out_addn(o, tmp, (size_t)n);
}

static void out_hex(struct out *o, const uint8_t *b, size_t n)
{
	char hex[2 * crypto_sign_BYTES + 1];

	if (n > crypto_sign_BYTES) {
		o->over = 1;
		return;
	}
	as_hex_encode(hex, b, n);
	out_addn(o, hex, 2 * n);
}

/* "YYYY-MM-DDTHH:MM:SSZ" for t in [0, AUDIT_TIME_MAX]. */
static void out_time(struct out *o, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0 || t > AUDIT_TIME_MAX || !gmtime_r(&tt, &tm)) {
		o->over = 1;
		return;
	}
	out_printf(o, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* s quoted: '"', '\\', controls and ill-formed UTF-8 as \xHH, the rest raw. */
static void out_text(struct out *o, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;

	out_add(o, "\"");
	while (i < n) {
		size_t k = (u[i] == '"' || u[i] == '\\') ? 0 : as_utf8_char(u + i, n - i);
		if (k == 0) {
			out_printf(o, "\\x%02x", u[i]);
			i++;
		} else {
			out_addn(o, s + i, k);
			i += k;
		}
	}
	out_add(o, "\"");
}

/* Encode r as its line, '\n' included, into buf (cap bytes); *len gets its
 * length.  AS_E_OVERSIZE if it does not fit. */
static int audit__format(const struct audit_rec *r, char *buf, size_t cap, size_t *len)
{
	struct out o = {buf, cap, 0, 0};

	int v2 = r->e.version == 2;

	out_printf(&o, "%sseq=%llu time=", v2 ? "v=2 " : "", (unsigned long long)r->seq);
	out_time(&o, r->e.time);
	out_add(&o, " action=");
	out_add(&o, r->e.action);
	out_add(&o, " case=");
	out_add(&o, r->e.case_ref);
	out_add(&o, " from=");
	out_time(&o, r->e.window_from);
	out_add(&o, " to=");
	out_time(&o, r->e.window_to);
	out_printf(&o, " depth=%lu", (unsigned long)r->e.depth);
	if (v2)
		out_printf(&o, " min_overlap=%lld risk_period=%lld incubation=%lld",
			   (long long)r->e.min_overlap, (long long)r->e.risk_period,
			   (long long)r->e.incubation);
	out_printf(&o, " contacts=%lu revealed=%lu", (unsigned long)r->e.contacts,
		   (unsigned long)r->e.revealed);
	if (v2) {
		out_printf(&o, " request=%llu case_no=", (unsigned long long)r->e.request);
		out_text(&o, r->e.case_no);
	}
	out_add(&o, " who=");
	out_text(&o, r->e.who);
	out_add(&o, " reason=");
	out_text(&o, r->e.reason);
	out_add(&o, " prev=");
	out_hex(&o, r->prev, sizeof r->prev);
	out_add(&o, " hash=");
	out_hex(&o, r->hash, sizeof r->hash);
	out_add(&o, " sig=");
	out_hex(&o, r->sig, sizeof r->sig);
	out_add(&o, "\n");
	if (o.over)
		return AS_E_OVERSIZE;
	*len = o.len;
	return 0;
}

/* ---- text decoding ------------------------------------------------------ *
 * A cursor over one line (without its '\n').  Each step fails closed; the
 * exact spelling is checked afterwards by re-encoding, so these only need to
 * extract values safely. */

struct cur {
	const char *p;
	size_t left;
};

static int cur_lit(struct cur *c, const char *lit)
{
	size_t n = strlen(lit);

	if (c->left < n || memcmp(c->p, lit, n) != 0)
		return -1;
	c->p += n;
	c->left -= n;
	return 0;
}

/* The bytes up to the next ' ' (or the end); at least one. */
static int cur_token(struct cur *c, const char **tok, size_t *n)
{
	const char *sp = memchr(c->p, ' ', c->left);
	size_t k = sp ? (size_t)(sp - c->p) : c->left;

	if (k == 0)
		return -1;
	*tok = c->p;
	*n = k;
	c->p += k;
	c->left -= k;
	return 0;
}

static int cur_u64(struct cur *c, uint64_t max, uint64_t *out)
{
	const char *t;
	size_t n;
	uint64_t v = 0;

	if (cur_token(c, &t, &n) || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(t[i] - '0');
		if (t[i] < '0' || t[i] > '9' || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DDTHH:MM:SSZ" -> unix seconds (ranges loosely checked; the
 * re-encoding check rejects anything not canonical, e.g. 02-30). */
static int cur_time(struct cur *c, int64_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	int64_t f[6] = {0};
	const char *t;
	size_t n;
	int k = 0;

	if (cur_token(c, &t, &n) || n != sizeof shape - 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (shape[i] != 'd') {
			if (t[i] != shape[i])
				return -1;
			if (i + 1 < n && shape[i + 1] == 'd')
				k++;
			continue;
		}
		if (t[i] < '0' || t[i] > '9')
			return -1;
		f[k] = f[k] * 10 + (t[i] - '0');
	}
	if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 ||
	    f[5] > 59)
		return -1;
	*out = days_from_civil(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* A quoted string into out (cap bytes, NUL-terminated). */
static int cur_text(struct cur *c, char *out, size_t cap)
{
	size_t o = 0;

	if (cur_lit(c, "\""))
		return -1;
	for (size_t guard = 0; guard < AUDIT_LINE_MAX; guard++) {
		unsigned char ch;

		if (c->left == 0)
			return -1;
		ch = (unsigned char)*c->p;
		if (ch == '"') {
			c->p++;
			c->left--;
			out[o] = '\0';
			return 0;
		}
		if (ch == '\\') {
			int hi, lo;
			if (c->left < 4 || c->p[1] != 'x' || (hi = hexval(c->p[2])) < 0 ||
			    (lo = hexval(c->p[3])) < 0 || (hi | lo) == 0)
				return -1;
			ch = (unsigned char)(hi << 4 | lo);
			c->p += 4;
			c->left -= 4;
		} else {
			c->p++;
			c->left--;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)ch;
	}
	return -1;
}

static int cur_hex(struct cur *c, uint8_t *out, size_t n)
{
	char hex[2 * crypto_sign_BYTES + 1];
	const char *t;
	size_t k;

	if (cur_token(c, &t, &k) || k != 2 * n || n > crypto_sign_BYTES)
		return -1;
	memcpy(hex, t, k);
	hex[k] = '\0';
	return as_hex_decode(out, n, hex) ? -1 : 0;
}

static int cur_word(struct cur *c, char *out, size_t cap)
{
	const char *t;
	size_t n;

	if (cur_token(c, &t, &n) || n >= cap)
		return -1;
	memcpy(out, t, n);
	out[n] = '\0';
	return 0;
}

/* Parse line (len bytes, no '\n') into r, then insist it is exactly the
 * canonical encoding of r.  0 or AS_E_CORRUPT with why. */
static int audit__parse(const char *line, size_t len, struct audit_rec *r, char *why,
			size_t why_len)
{
	struct cur c = {line, len};
	uint64_t v = 0;
	char again[AUDIT_LINE_MAX];
	size_t again_len;
	int bad;

	memset(r, 0, sizeof *r);
	r->e.version = cur_lit(&c, "v=2 ") == 0 ? 2 : 1;
	bad = cur_lit(&c, "seq=") || cur_u64(&c, UINT64_MAX, &r->seq) ||
	      cur_lit(&c, " time=") || cur_time(&c, &r->e.time) ||
	      cur_lit(&c, " action=") || cur_word(&c, r->e.action, sizeof r->e.action) ||
	      cur_lit(&c, " case=") || cur_word(&c, r->e.case_ref, sizeof r->e.case_ref) ||
	      cur_lit(&c, " from=") || cur_time(&c, &r->e.window_from) ||
	      cur_lit(&c, " to=") || cur_time(&c, &r->e.window_to);
	if (!bad) {
		bad = cur_lit(&c, " depth=") || cur_u64(&c, UINT32_MAX, &v);
		r->e.depth = (uint32_t)v;
	}
	if (!bad && r->e.version == 2) {
		bad = cur_lit(&c, " min_overlap=") || cur_u64(&c, CL_AUDIT_DURATION_MAX, &v);
		r->e.min_overlap = (int64_t)v;
		bad = bad || cur_lit(&c, " risk_period=") || cur_u64(&c, CL_AUDIT_DURATION_MAX, &v);
		r->e.risk_period = (int64_t)v;
		bad = bad || cur_lit(&c, " incubation=") || cur_u64(&c, CL_AUDIT_DURATION_MAX, &v);
		r->e.incubation = (int64_t)v;
	}
	if (!bad) {
		bad = cur_lit(&c, " contacts=") || cur_u64(&c, UINT32_MAX, &v);
		r->e.contacts = (uint32_t)v;
	}
	if (!bad) {
		bad = cur_lit(&c, " revealed=") || cur_u64(&c, UINT32_MAX, &v);
		r->e.revealed = (uint32_t)v;
	}
	if (!bad && r->e.version == 2)
		bad = cur_lit(&c, " request=") || cur_u64(&c, UINT64_MAX, &r->e.request) ||
		      cur_lit(&c, " case_no=") || cur_text(&c, r->e.case_no, sizeof r->e.case_no);
	bad = bad || cur_lit(&c, " who=") || cur_text(&c, r->e.who, sizeof r->e.who) ||
	      cur_lit(&c, " reason=") || cur_text(&c, r->e.reason, sizeof r->e.reason) ||
	      cur_lit(&c, " prev=") || cur_hex(&c, r->prev, sizeof r->prev) ||
	      cur_lit(&c, " hash=") || cur_hex(&c, r->hash, sizeof r->hash) ||
	      cur_lit(&c, " sig=") || cur_hex(&c, r->sig, sizeof r->sig) || c.left != 0;
	if (bad) {
		as_err_printf(why, why_len, "malformed line (a field is missing, misspelt or out of place)");
		return AS_E_CORRUPT;
	}
	if (audit__check_entry(&r->e, NULL, 0) != 0) {
		as_err_printf(why, why_len, "malformed line (a field holds a value no entry can have)");
		return AS_E_CORRUPT;
	}
	if (audit__format(r, again, sizeof again, &again_len) != 0 || again_len != len + 1 ||
	    memcmp(again, line, len) != 0) {
		as_err_printf(why, why_len, "malformed line (not in the one spelling the writer uses)");
		return AS_E_CORRUPT;
	}
	return 0;
}

/* ---- reading a log line by line ----------------------------------------- */

struct lines {
	int fd;
	char buf[AUDIT_READ_BUF];
	size_t start, end;
	int eof;
};

/* Next line: 1 with *line and *len (no '\n') and *whole (it ended in
 * '\n'), 0 at the end, AS_E_OVERSIZE for a line too long, or -errno.
 * Bounded: every pass returns or reads at least one byte (or hits EINTR). */
static int lines_next(struct lines *l, const char **line, size_t *len, int *whole)
{
	for (int guard = 0; guard < AUDIT_READ_BUF + AUDIT_EINTR_MAX; guard++) {
		char *nl = memchr(l->buf + l->start, '\n', l->end - l->start);
		ssize_t n;

		if (nl) {
			*line = l->buf + l->start;
			*len = (size_t)(nl - *line);
			*whole = 1;
			l->start += *len + 1;
			return *len + 1 > AUDIT_LINE_MAX ? AS_E_OVERSIZE : 1;
		}
		if (l->end - l->start >= AUDIT_LINE_MAX)
			return AS_E_OVERSIZE;
		if (l->eof) {
			if (l->start == l->end)
				return 0;
			*line = l->buf + l->start;
			*len = l->end - l->start;
			*whole = 0;
			l->start = l->end;
			return 1;
		}
		if (l->start > 0) {
			memmove(l->buf, l->buf + l->start, l->end - l->start);
			l->end -= l->start;
			l->start = 0;
		}
		n = read(l->fd, l->buf + l->end, sizeof l->buf - l->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			l->eof = 1;
		l->end += (size_t)n;
	}
	return -EINTR;
}

typedef int (*audit_fn)(void *ctx, uint64_t index, const struct cl_audit_entry *e);

/* Walk path: see the top of the file.  keys NULL skips signatures. */
static int audit__walk(const char *path, const struct cl_audit_keys *keys, audit_fn fn, void *ctx,
		       uint64_t *entries, uint64_t *first_bad, char *why, size_t why_len)
{
	struct lines lines_buf, *l = &lines_buf;
	uint8_t prev[CL_AUDIT_HASH_LEN] = {0}, hash[CL_AUDIT_HASH_LEN];
	struct audit_rec r;
	uint64_t i;
	int rc = 0, seen_v2 = 0;

	*entries = 0;
	*first_bad = 0;
	as_err_printf(why, why_len, "ok");
	l->start = l->end = 0;
	l->eof = 0;
	l->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (l->fd < 0) {
		rc = -errno;
		as_err_printf(why, why_len, "cannot open: %s", as_strerror(rc));
		return rc;
	}
	/* A shared lock waits out an append in progress (it holds LOCK_EX
	 * across its one write), so a live log never looks torn. */
	for (int tries = 0; tries < AUDIT_EINTR_MAX; tries++)
		if (flock(l->fd, LOCK_SH) == 0 || errno != EINTR)
			break;
	for (i = 1; i <= AUDIT_ENTRIES_MAX; i++) {
		const char *line;
		size_t len;
		int whole = 0;

		rc = lines_next(l, &line, &len, &whole);
		if (rc == 0)
			break;
		*first_bad = i;
		if (rc == AS_E_OVERSIZE) {
			as_err_printf(why, why_len, "malformed line (longer than %d bytes)", AUDIT_LINE_MAX);
			rc = AS_E_CORRUPT;
			break;
		}
		if (rc < 0) {
			as_err_printf(why, why_len, "cannot read: %s", as_strerror(rc));
			*first_bad = 0;
			break;
		}
		if (!whole) {
			as_err_printf(why, why_len, "truncated last entry (the file ends in the middle of a "
			    "line: a write torn by a crash, or the file was cut)");
			rc = AS_E_TRUNCATED;
			break;
		}
		rc = audit__parse(line, len, &r, why, why_len);
		if (rc)
			break;
		if (r.e.version == 1 && seen_v2) {
			as_err_printf(why, why_len, "version 1 entry after version 2 (written with sign.key "
			    "instead of by the reveal service)");
			rc = AS_E_CORRUPT;
			break;
		}
		if (r.e.request >= r.seq) {
			as_err_printf(why, why_len, "malformed line (its request is not an earlier entry)");
			rc = AS_E_CORRUPT;
			break;
		}
		if (r.seq != i) {
			as_err_printf(why, why_len, "sequence gap: it has seq=%llu where entry %llu belongs "
			    "(entries were removed, inserted or reordered)",
			    (unsigned long long)r.seq, (unsigned long long)i);
			rc = AS_E_CORRUPT;
			break;
		}
		if (sodium_memcmp(r.prev, prev, sizeof prev) != 0) {
			if (i == 1)
				as_err_printf(why, why_len, "chain break: the first entry's prev is not all zeros");
			else
				as_err_printf(why, why_len, "chain break: its prev is not the hash of entry %llu",
				    (unsigned long long)(i - 1));
			rc = AS_E_CORRUPT;
			break;
		}
		if (audit__hash(&r, hash) != 0 || sodium_memcmp(hash, r.hash, sizeof hash) != 0) {
			as_err_printf(why, why_len, "hash mismatch: its fields are not the ones it was "
			    "recorded with");
			rc = AS_E_CORRUPT;
			break;
		}
		if (keys && !audit__sig_ok(&r, keys)) {
			as_err_printf(why, why_len, "bad signature: not signed by this authority's %s",
			    r.e.version == 2 ? "audit.key" : keys->has_sign ? "sign.key" :
			    "sign.key (no sign.pub to check it with)");
			rc = AS_E_SIGNATURE;
			break;
		}
		seen_v2 |= r.e.version == 2;
		memcpy(prev, r.hash, sizeof prev);
		*first_bad = 0;
		*entries = i;
		if (fn && (rc = fn(ctx, i, &r.e)) != 0)
			break;
	}
	if (i > AUDIT_ENTRIES_MAX && !rc) {
		*first_bad = i;
		as_err_printf(why, why_len, "more than %llu entries", (unsigned long long)AUDIT_ENTRIES_MAX);
		rc = AS_E_OVERSIZE;
	}
	close(l->fd);
	return rc;
}

int cl_audit_verify(const char *path, const struct cl_audit_keys *k, uint64_t *entries,
		    uint64_t *first_bad, char *why, size_t why_len)
{
	uint64_t n, bad;
	int rc = audit__walk(path, k, NULL, NULL, &n, &bad, why, why_len);

	if (entries)
		*entries = n;
	if (first_bad)
		*first_bad = bad;
	return rc;
}

int cl_audit_each(const char *path, audit_fn fn, void *ctx)
{
	uint64_t n, bad;

	return audit__walk(path, NULL, fn, ctx, &n, &bad, NULL, 0);
}

/* ---- appending ---------------------------------------------------------- */

static int full_pread(int fd, void *buf, size_t n, off_t off)
{
	size_t got = 0;

	for (int guard = 0; got < n && guard < AUDIT_EINTR_MAX; guard++) {
		ssize_t k = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return AS_E_TRUNCATED;
		got += (size_t)k;
	}
	return got == n ? 0 : -EIO;
}

/* Read and check the last entry of the locked log (size bytes) into last.
 * Fails closed with a message in err. */
static int audit__last(int fd, off_t size, const char *path, const struct cl_audit_keys *k,
		       struct audit_rec *last, char *err, size_t err_len)
{
	char tail[AUDIT_LINE_MAX + 1], why[160];
	size_t n = (size_t)size < sizeof tail ? (size_t)size : sizeof tail, start;
	uint8_t hash[CL_AUDIT_HASH_LEN];
	int rc = full_pread(fd, tail, n, size - (off_t)n);

	if (rc) {
		as_err_printf(err, err_len, "audit log %s: cannot read its last entry: %s", path,
		    as_strerror(rc));
		return rc;
	}
	if (tail[n - 1] != '\n') {
		as_err_printf(err, err_len, "audit log %s ends in a torn entry (a crash during a write?); "
		    "refusing to append. Run 'anshim-cloud audit verify', keep a copy of the "
		    "log, and cut the incomplete last line off before recording more", path);
		return AS_E_TRUNCATED;
	}
	start = n - 1;
	while (start > 0 && tail[start - 1] != '\n')
		start--;
	if (start == 0 && n < (size_t)size) {
		as_err_printf(err, err_len, "audit log %s: its last line is longer than any entry; "
		    "refusing to append (run 'anshim-cloud audit verify')", path);
		return AS_E_CORRUPT;
	}
	rc = audit__parse(tail + start, n - 1 - start, last, why, sizeof why);
	if (!rc && (audit__hash(last, hash) != 0 ||
		    sodium_memcmp(hash, last->hash, sizeof hash) != 0)) {
		snprintf(why, sizeof why, "hash mismatch");
		rc = AS_E_CORRUPT;
	}
	if (rc) {
		as_err_printf(err, err_len, "audit log %s: its last entry is broken (%s); refusing to "
		    "append (run 'anshim-cloud audit verify')", path, why);
		return rc;
	}
	if (!audit__sig_ok(last, k)) {
		as_err_printf(err, err_len, "audit log %s: its last entry is not signed by the %s in "
		    "keys_dir (forged, or the authority keys changed); refusing to append. "
		    "Run 'anshim-cloud audit verify'; after a key change, archive this log "
		    "and point audit_log at a new file", path,
		    last->e.version == 2 ? "audit.key" : "sign.key");
		return AS_E_SIGNATURE;
	}
	if (last->seq >= AUDIT_ENTRIES_MAX) {
		as_err_printf(err, err_len, "audit log %s is full (%llu entries); start a new one", path,
		    (unsigned long long)last->seq);
		return AS_E_FULL;
	}
	return 0;
}

/* flock(fd, op), again after EINTR (bounded): 0 or -errno. */
static int audit__flock(int fd, int op)
{
	for (int tries = 0; tries < AUDIT_EINTR_MAX; tries++) {
		if (flock(fd, op) == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
	return -EINTR;
}

/* fsync the directory holding path (a new log's directory entry). */
static int fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, rc = 0;

	if (!slash) {
		dir[0] = '.';
		n = 1;
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof dir)
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
	}
	dir[n] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Under the lock: find the last entry, sign r, write its line, fsync. */
static int audit__append_locked(int fd, const char *path, const struct cl_audit_keys *k,
				const uint8_t audit_sk[64], struct audit_rec *r, char *err,
				size_t err_len)
{
	struct stat st;
	struct audit_rec last;
	uint8_t msg[sizeof sig_tag + CL_AUDIT_HASH_LEN];
	char line[AUDIT_LINE_MAX];
	size_t len;
	ssize_t w;
	int rc;

	rc = fstat(fd, &st) != 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
	if (rc) {
		as_err_printf(err, err_len, "audit log %s: not a regular file we can use: %s", path,
		    as_strerror(rc));
		return rc;
	}
	if (st.st_size > 0) {
		rc = audit__last(fd, st.st_size, path, k, &last, err, err_len);
		if (rc)
			return rc;
		r->seq = last.seq + 1;
		memcpy(r->prev, last.hash, sizeof r->prev);
	} else {
		r->seq = 1;
		memset(r->prev, 0, sizeof r->prev);
	}
	if ((rc = audit__hash(r, r->hash)) != 0)
		goto encode_failed;
	sig_message(msg, r->hash);
	if (r->e.request >= r->seq) {
		as_err_printf(err, err_len, "audit entry refused: its request %llu is not an earlier entry",
		    (unsigned long long)r->e.request);
		return AS_E_FIELD;
	}
	if (crypto_sign_detached(r->sig, NULL, msg, sizeof msg, audit_sk) != 0) {
		as_err_printf(err, err_len, "audit log %s: signing the entry failed", path);
		return AS_E_CRYPTO;
	}
	if ((rc = audit__format(r, line, sizeof line, &len)) != 0)
		goto encode_failed;
	do
		w = write(fd, line, len);
	while (w < 0 && errno == EINTR);
	if (w < 0 || (size_t)w != len) {
		rc = w < 0 ? -errno : -ENOSPC;
		/* Undo a partial line so the log stays whole lines. */
		if (ftruncate(fd, st.st_size) != 0 || fsync(fd) != 0)
			as_err_printf(err, err_len, "audit log %s: writing the entry failed (%s) and the "
			    "partial line could not be removed; run 'anshim-cloud audit verify'",
			    path, as_strerror(rc));
		else
			as_err_printf(err, err_len, "audit log %s: writing the entry failed: %s (disk "
			    "full, or a file size limit?); nothing was recorded", path, as_strerror(rc));
		return rc;
	}
	if (fsync(fd) != 0 || (st.st_size == 0 && (rc = fsync_parent(path)) != 0)) {
		rc = rc ? rc : -errno;
		as_err_printf(err, err_len, "audit log %s: the entry was written but could not be made "
		    "durable: %s", path, as_strerror(rc));
		return rc;
	}
	return 0;
encode_failed:
	as_err_printf(err, err_len, "audit log %s: cannot encode the entry: %s", path, as_strerror(rc));
	return rc;
}

int cl_audit_keys_load(struct cl_audit_keys *k, const char *keys_dir, char *err,
		       size_t err_len)
{
	struct cl_authority a;
	const char *failed = NULL;
	int rc;

	memset(k, 0, sizeof *k);
	rc = cl_authority_load(&a, keys_dir, CL_KEY_AUDIT_PUBLIC, &failed);
	if (rc) {
		as_err_printf(err, err_len, "cannot load the audit log's public key %s: %s%s",
		    failed ? failed : keys_dir, as_strerror(rc),
		    rc == -ENOENT ? " (a key set made before the reveal service has none: run "
		    "'anshim-cloud keys init --audit --dir DIR' as the reveal service's user, or "
		    "pass --keys DIR)" : "");
		return rc;
	}
	memcpy(k->audit_pk, a.audit_pk, sizeof k->audit_pk);
	if (cl_authority_load(&a, keys_dir, CL_KEY_SIGN_PUBLIC, &failed) == 0) {
		memcpy(k->sign_pk, a.sign_pk, sizeof k->sign_pk);
		k->has_sign = 1;
	}
	cl_authority_wipe(&a);
	return 0;
}

int cl_audit_append(const struct cl_config *cfg, const struct cl_audit_entry *e,
		    uint64_t *seq, char *err, size_t err_len)
{
	struct cl_authority a;
	struct cl_audit_keys k;
	struct audit_rec r;
	const char *failed = NULL;
	char why[200];
	int fd, rc;

	memset(&r, 0, sizeof r);
	r.e = *e;
	r.e.version = 2;
	if (r.e.time == 0)
		r.e.time = (int64_t)time(NULL);
	if ((rc = audit__check_entry(&r.e, why, sizeof why)) != 0) {
		as_err_printf(err, err_len, "audit entry refused: %s", why);
		return rc;
	}
	if (!cfg->audit_log || !cfg->audit_log[0] || !cfg->keys_dir) {
		as_err_printf(err, err_len, "no audit_log or keys_dir in the configuration");
		return AS_E_CONFIG;
	}
	rc = cl_authority_load(&a, cfg->keys_dir, CL_KEY_AUDIT, &failed);
	if (rc) {
		as_err_printf(err, err_len, "cannot load the audit log's signing key %s: %s (only the "
		    "reveal service, anshim-revealed, can write the audit log)",
		    failed ? failed : cfg->keys_dir, as_strerror(rc));
		return rc;
	}
	memset(&k, 0, sizeof k);
	memcpy(k.audit_pk, a.audit_pk, sizeof k.audit_pk);
	{
		struct cl_authority pub;

		if (cl_authority_load(&pub, cfg->keys_dir, CL_KEY_SIGN_PUBLIC, NULL) == 0) {
			memcpy(k.sign_pk, pub.sign_pk, sizeof k.sign_pk);
			k.has_sign = 1;
		}
		cl_authority_wipe(&pub);
	}
	fd = open(cfg->audit_log, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		as_err_printf(err, err_len, "audit log %s: cannot open: %s (does its directory exist? "
		    "set audit_log in the configuration)", cfg->audit_log, as_strerror(rc));
		cl_authority_wipe(&a);
		return rc;
	}
	rc = audit__flock(fd, LOCK_EX);
	if (rc)
		as_err_printf(err, err_len, "audit log %s: cannot lock: %s", cfg->audit_log, as_strerror(rc));
	else
		rc = audit__append_locked(fd, cfg->audit_log, &k, a.audit_sk, &r, err, err_len);
	cl_authority_wipe(&a);
	if (close(fd) != 0 && !rc) {
		rc = -errno;
		as_err_printf(err, err_len, "audit log %s: close failed: %s", cfg->audit_log,
		    as_strerror(rc));
	}
	if (!rc && seq)
		*seq = r.seq;
	return rc;
}

/* ---- the witness's view (audit.h: cl_audit_last, cl_audit_verify_at) ---- */

int cl_audit_sig_ok(unsigned version, const uint8_t hash[CL_AUDIT_HASH_LEN],
		    const uint8_t sig[64], const struct cl_audit_keys *k)
{
	struct audit_rec r;

	memset(&r, 0, sizeof r);
	r.e.version = version;
	memcpy(r.hash, hash, sizeof r.hash);
	memcpy(r.sig, sig, sizeof r.sig);
	return (version == 1 || version == 2) && audit__sig_ok(&r, k);
}

/* The entry whose line ends at byte end of the log (0: the last entry),
 * for cl_audit_last and cl_audit_entry_ending. */
static int audit__tail_entry(const char *path, const struct cl_audit_keys *k, uint64_t end,
			     struct cl_audit_head *head, char *err, size_t err_len)
{
	struct audit_rec last;
	struct stat st;
	int fd, rc;

	memset(head, 0, sizeof *head);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		as_err_printf(err, err_len, "audit log %s: cannot open: %s", path, as_strerror(rc));
		return rc;
	}
	rc = audit__flock(fd, LOCK_SH);
	if (!rc && fstat(fd, &st) != 0)
		rc = -errno;
	if (rc) {
		as_err_printf(err, err_len, "audit log %s: cannot read: %s", path, as_strerror(rc));
	} else if (end > (uint64_t)st.st_size) {
		as_err_printf(err, err_len, "audit log %s is %lld bytes, shorter than %llu", path,
			      (long long)st.st_size, (unsigned long long)end);
		rc = AS_E_TRUNCATED;
	} else if (end > 0 || st.st_size > 0) {
		if (end == 0)
			end = (uint64_t)st.st_size;
		rc = audit__last(fd, (off_t)end, path, k, &last, err, err_len);
		if (rc == AS_E_FULL)
			rc = 0; /* full for appends, still a last entry */
		if (!rc) {
			head->seq = last.seq;
			head->version = last.e.version;
			memcpy(head->hash, last.hash, sizeof head->hash);
			memcpy(head->sig, last.sig, sizeof head->sig);
			head->end = end;
		}
	}
	close(fd);
	return rc;
}

int cl_audit_last(const char *path, const struct cl_audit_keys *k, struct cl_audit_head *head,
		  char *err, size_t err_len)
{
	return audit__tail_entry(path, k, 0, head, err, err_len);
}

int cl_audit_entry_ending(const char *path, const struct cl_audit_keys *k, uint64_t end,
			  struct cl_audit_head *head, char *err, size_t err_len)
{
	if (end == 0) {
		memset(head, 0, sizeof *head);
		as_err_printf(err, err_len, "audit log %s: no entry ends at byte 0", path);
		return AS_E_FIELD;
	}
	return audit__tail_entry(path, k, end, head, err, err_len);
}

struct verify_at {
	uint64_t at;
	uint8_t hash[CL_AUDIT_HASH_LEN]; /* of the entry last seen */
	uint8_t *at_hash;
	int *reached;
};

/* The walk checked this entry's hash against its line: recompute it from
 * the fields to learn it (the walk's callback sees only the fields). */
static int verify_at_fn(void *ctx, uint64_t index, const struct cl_audit_entry *e)
{
	struct verify_at *v = ctx;
	struct audit_rec r;

	memset(&r, 0, sizeof r);
	r.seq = index;
	r.e = *e;
	memcpy(r.prev, v->hash, sizeof r.prev);
	if (audit__hash(&r, v->hash) != 0)
		return AS_E_CORRUPT;
	if (index == v->at) {
		memcpy(v->at_hash, v->hash, CL_AUDIT_HASH_LEN);
		*v->reached = 1;
	}
	return 0;
}

int cl_audit_verify_at(const char *path, const struct cl_audit_keys *k, uint64_t at,
		       uint8_t at_hash[CL_AUDIT_HASH_LEN], int *reached, uint64_t *entries,
		       uint64_t *first_bad, char *why, size_t why_len)
{
	struct verify_at v = {at, {0}, at_hash, reached};
	uint64_t n, bad;
	int rc;

	*reached = 0;
	rc = audit__walk(path, k, verify_at_fn, &v, &n, &bad, why, why_len);
	if (entries)
		*entries = n;
	if (first_bad)
		*first_bad = bad;
	return rc;
}

/* ---- reveal requests ---------------------------------------------------- */

const char *cl_request_state_name(enum cl_request_state s)
{
	switch (s) {
	case CL_REQUEST_PENDING: return "pending";
	case CL_REQUEST_APPROVED: return "approved";
	case CL_REQUEST_REFUSED: return "refused";
	case CL_REQUEST_REVEALED: return "revealed";
	}
	return "unknown";
}

struct request_list {
	struct cl_request *v;
	size_t n, cap;
	int failed;
};

/* The request with id, or NULL (binary search: ids grow with the log). */
static struct cl_request *request_find(struct request_list *l, uint64_t id)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->v[mid].id == id)
			return &l->v[mid];
		if (l->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int request_entry(void *ctx, uint64_t index, const struct cl_audit_entry *e)
{
	struct request_list *l = ctx;
	struct cl_request *q;

	if (e->version != 2)
		return 0;
	if (strcmp(e->action, CL_AUDIT_ASK) == 0) {
		if (l->n == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 16;
			struct cl_request *v = realloc(l->v, cap * sizeof *v);

			if (!v) {
				l->failed = 1;
				return -ENOMEM;
			}
			l->v = v;
			l->cap = cap;
		}
		q = &l->v[l->n++];
		memset(q, 0, sizeof *q);
		q->id = index;
		q->ask = *e;
		return 0;
	}
	if (!names_request(e->action) || !(q = request_find(l, e->request)))
		return 0;
	if (strcmp(e->action, CL_AUDIT_REVEAL) == 0) {
		if (q->state == CL_REQUEST_APPROVED || q->state == CL_REQUEST_REVEALED) {
			q->state = CL_REQUEST_REVEALED;
			q->reveals++;
			q->last_revealed = e->time;
			q->revealed = e->revealed;
		}
		return 0;
	}
	if (q->state != CL_REQUEST_PENDING)
		return 0; /* the first decision counts */
	q->state = strcmp(e->action, CL_AUDIT_APPROVE) == 0 ? CL_REQUEST_APPROVED
							    : CL_REQUEST_REFUSED;
	snprintf(q->decided_by, sizeof q->decided_by, "%s", e->who);
	snprintf(q->decision_reason, sizeof q->decision_reason, "%s", e->reason);
	q->decided_at = e->time;
	return 0;
}

int cl_audit_requests(const char *path, struct cl_request **out, size_t *n, char *err,
		      size_t err_len)
{
	struct request_list l = {0};
	int rc = cl_audit_each(path, request_entry, &l);

	*out = NULL;
	*n = 0;
	if (rc == -ENOENT && l.n == 0)
		rc = 0;
	if (rc) {
		free(l.v);
		if (l.failed)
			as_err_printf(err, err_len, "out of memory reading the reveal requests");
		else
			as_err_printf(err, err_len, "audit log %s: %s after %zu requests; run 'anshim-cloud "
			    "audit verify'", path, as_strerror(rc), l.n);
		return rc;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}
