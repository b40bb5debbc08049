/*
 * test_audit.c - the tamper-evident audit log (cloud/audit.c).
 *
 * Appended entries verify and read back field for field, with free text
 * that tries to forge lines (newlines, quotes, separators, "seq=" text,
 * control bytes, ill-formed UTF-8) kept inside its own line, up to the
 * longest entry (every byte of who and reason escaped).  Then every
 * way of breaking the file is caught at the right entry: every byte of the
 * file flipped (three masks) names the line holding the byte (the last
 * line's newline shows as a truncated last entry); a line deleted or two
 * swapped is a sequence gap at that line; the last line cut at every length
 * is a truncated last entry; a signature by another key is a bad signature
 * and another key cannot extend the log; appending after a torn line is
 * refused and leaves the file alone.  Bad entries (a phone number as the
 * case, unknown actions, reversed windows, unterminated text) are refused
 * without creating the file.  Four processes appending at once make
 * one intact chain holding every append that succeeded; two appenders
 * held at the lock (an append in progress) both wait, then take seqs 2
 * and 3; a write cut short is undone.  Dropping whole entries off the end is not
 * detectable from the file alone; a test pins that down as documented.
 */
#include "test.h"

#include "audit.h"

#include "anshim/bytes.h"
#include "anshim/fileio.h"
#include "anshim/keyfile.h"
#include "anshim/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define N_ENTRIES 5
#define CASE_PID "0123456789abcdef0123456789abcdef"

static struct test_keys keys;

/* A scratch dir holding sign.key/sign.pub (the authority's, or another
 * key's) and the path of audit.log in it; cfg points at both. */
struct fixture {
	char dir[64];
	char log[128];
	struct cl_config cfg;
};

static void fixture_init(struct fixture *f, int other_key)
{
	char path[160];

	test_tmpdir(f->dir);
	snprintf(f->log, sizeof f->log, "%s/audit.log", f->dir);
	snprintf(path, sizeof path, "%s/sign.key", f->dir);
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_SECRET, other_key ? keys.other_sk : keys.auth_sk,
				  0));
	snprintf(path, sizeof path, "%s/sign.pub", f->dir);
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_PUBLIC, other_key ? keys.other_pk : keys.auth_pk,
				  0));
	/* The audit log's own key: here the same pair. */
	snprintf(path, sizeof path, "%s/audit.key", f->dir);
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_SECRET, other_key ? keys.other_sk : keys.auth_sk,
				  0));
	snprintf(path, sizeof path, "%s/audit.pub", f->dir);
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_PUBLIC, other_key ? keys.other_pk : keys.auth_pk,
				  0));
	memset(&f->cfg, 0, sizeof f->cfg);
	f->cfg.keys_dir = f->dir;
	f->cfg.audit_log = f->log;
}

/* Entry i (1-based): free text that tries hard to break the line format. */
static void make_entry(struct cl_audit_entry *e, unsigned i)
{
	static const char *const whos[] = {
		"kim.investigator",
		"Lee \"the quote\" Jisoo\nseq=2 time=2026-01-01T00:00:00Z action=trace",
		"\xec\x97\xad\xed\x95\x99\xec\xa1\xb0\xec\x82\xac\xea\xb4\x80 Park", /* Korean */
		"back\\slash \\x41 tab\there",
		"esc\x1b[31m bad\xff utf8 \xc2\x85 c1 del\x7f",
	};
	static const char *const reasons[] = {
		"",
		"cluster at venue 12\n"
		"seq=3 time=2026-01-01T00:00:00Z action=reveal case=" CASE_PID " reason=\"x\"",
		"reason with \" prev= hash= sig= and spaces   and \r\n CRLF",
		"\xea\xb0\x90\xec\x97\xbc \xed\x99\x95\xec\x82\xb0 (outbreak) \\ \"",
		"max-ish",
	};

	memset(e, 0, sizeof *e);
	e->time = TEST_NOW + (int64_t)i * 60;
	snprintf(e->who, sizeof e->who, "%s", whos[(i - 1) % 5]);
	snprintf(e->action, sizeof e->action, "%s", i % 2 ? "trace" : "reveal");
	e->version = 2;
	e->request = i % 2 ? 0 : i - 1;
	e->min_overlap = 600 * (int64_t)i;
	e->risk_period = 86400;
	e->incubation = i == 5 ? CL_AUDIT_DURATION_MAX : 14 * 86400;
	snprintf(e->case_no, sizeof e->case_no, "%s", i == 3 ? "제주-2026-\"0042\"\n seq=9" : "");
	snprintf(e->case_ref, sizeof e->case_ref, "%s", CASE_PID);
	e->case_ref[0] = (char)('0' + i % 10);
	e->window_from = TEST_NOW - 14 * 86400;
	e->window_to = TEST_NOW + (int64_t)i;
	e->depth = i;
	e->contacts = 10 * i;
	e->revealed = i == 5 ? UINT32_MAX : 3 * i;
	snprintf(e->reason, sizeof e->reason, "%s", reasons[i - 1]);
}

static void append_n(struct fixture *f, unsigned from, unsigned to)
{
	struct cl_audit_entry e;
	char err[512];

	for (unsigned i = from; i <= to; i++) {
		make_entry(&e, i);
		err[0] = '\0';
		test_ctx("entry %u", i);
		CHECK_OK(cl_audit_append(&f->cfg, &e, NULL, err, sizeof err));
		if (err[0])
			fprintf(stderr, "  err: %s\n", err);
	}
	test_ctx_clear();
}

static unsigned char *read_file(const char *path, size_t *len)
{
	unsigned char *buf = NULL;

	*len = 0;
	if (!CHECK_OK(as_file_read_all(path, 1 << 20, &buf, len)))
		return NULL;
	return buf;
}

/* Plain (not durable) write: thousands of copies in the flip test. */
static int write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	int ok;

	if (!fp)
		return -errno;
	ok = fwrite(data, 1, len, fp) == len;
	ok = (fclose(fp) == 0) && ok;
	return ok ? 0 : -EIO;
}

/* Byte offsets where lines start; returns the number of lines (<= max). */
static unsigned line_starts(const unsigned char *buf, size_t len, size_t *starts, unsigned max)
{
	unsigned n = 0;

	for (size_t i = 0; i < len && n < max; i++)
		if (i == 0 || buf[i - 1] == '\n')
			starts[n++] = i;
	return n;
}

struct verdict {
	int rc;
	uint64_t entries, first_bad;
	char why[300];
};

static void verify(const char *path, const uint8_t *pk, struct verdict *v)
{
	v->why[0] = '\0';
	v->entries = v->first_bad = 999;
	struct cl_audit_keys k;

	memset(&k, 0, sizeof k);
	memcpy(k.audit_pk, pk, sizeof k.audit_pk);
	memcpy(k.sign_pk, pk, sizeof k.sign_pk);
	k.has_sign = 1;
	v->rc = cl_audit_verify(path, &k, &v->entries, &v->first_bad, v->why, sizeof v->why);
}

/* ---- tests ---------------------------------------------------------------- */

struct collect {
	unsigned n;
	struct cl_audit_entry e[8];
	uint64_t index[8];
};

static int collect_one(void *ctx, uint64_t index, const struct cl_audit_entry *e)
{
	struct collect *c = ctx;

	if (c->n < 8) {
		c->e[c->n] = *e;
		c->index[c->n] = index;
	}
	c->n++;
	return 0;
}

static void test_append_verify_read_back(void)
{
	struct fixture f;
	struct verdict v;
	struct collect c = {0};
	struct cl_audit_entry want;
	struct stat st;
	unsigned char *buf;
	size_t len, starts[16];

	fixture_init(&f, 0);
	append_n(&f, 1, N_ENTRIES);
	verify(f.log, keys.auth_pk, &v);
	CHECK_OK(v.rc);
	CHECK_EQ_INT(v.entries, N_ENTRIES);
	CHECK_EQ_INT(v.first_bad, 0);

	CHECK_OK(cl_audit_each(f.log, collect_one, &c));
	CHECK_EQ_INT(c.n, N_ENTRIES);
	for (unsigned i = 1; i <= N_ENTRIES && i <= c.n; i++) {
		test_ctx("entry %u", i);
		make_entry(&want, i);
		CHECK_EQ_INT(c.index[i - 1], i);
		CHECK_MEM(&c.e[i - 1], &want, sizeof want); /* zero padding both sides */
		CHECK_STR(c.e[i - 1].who, want.who);
		CHECK_STR(c.e[i - 1].reason, want.reason);
	}
	test_ctx_clear();

	/* Exactly one line per entry, all text printable except the line ends,
	 * and the seq of each line is its number. */
	buf = read_file(f.log, &len);
	if (buf) {
		unsigned n = line_starts(buf, len, starts, 16);
		CHECK_EQ_INT(n, N_ENTRIES);
		CHECK(len > 0 && buf[len - 1] == '\n');
		for (size_t i = 0; i < len; i++)
			if (buf[i] < 0x20 || buf[i] == 0x7f)
				CHECK(buf[i] == '\n' && (i + 1 == len || memcmp(buf + i + 1, "v=2 seq=", 8) == 0));
		for (unsigned i = 0; i < n; i++) {
			char want_seq[32];
			snprintf(want_seq, sizeof want_seq, "v=2 seq=%u ", i + 1);
			CHECK(memcmp(buf + starts[i], want_seq, strlen(want_seq)) == 0);
		}
		/* The first entry chains to 32 zero bytes; this spelling is the format. */
		CHECK(strstr((char *)buf, " prev=0000000000000000000000000000000000000000000000000000000000000000 hash=") != NULL);
		CHECK(strstr((char *)buf, "time=2026-01-01T00:01:00Z action=trace case=1123456789abcdef"
				      "0123456789abcdef from=2025-12-18T00:00:00Z to=2026-01-01T00:00:01Z"
				      " depth=1 min_overlap=600 risk_period=86400 incubation=1209600"
				      " contacts=10 revealed=3 request=0 case_no=\"\""
				      " who=\"kim.investigator\" reason=\"\" prev=") != NULL);
		CHECK(strstr((char *)buf, " request=1 case_no=\"\" who=\"Lee") != NULL);
		CHECK(strstr((char *)buf, "case_no=\"\xec\xa0\x9c\xec\xa3\xbc-2026-\\x220042\\x22"
				      "\\x0a seq=9\" who=") != NULL);
		CHECK(strstr((char *)buf, "who=\"Lee \\x22the quote\\x22 Jisoo\\x0aseq=2 time=") != NULL);
		CHECK(strstr((char *)buf, "who=\"esc\\x1b[31m bad\\xff utf8 \\xc2\\x85 c1 del\\x7f\"") != NULL);
		CHECK(strstr((char *)buf, "who=\"\xec\x97\xad\xed\x95\x99") != NULL); /* UTF-8 raw */
		CHECK(strstr((char *)buf, "who=\"back\\x5cslash \\x5cx41 tab\\x09here\"") != NULL);
		free(buf);
	}
	CHECK_OK(stat(f.log, &st));
	{
		mode_t mask = umask(0);

		umask(mask);
		CHECK_EQ_INT(st.st_mode & 0777, 0640 & ~mask);
	}
	test_rmdir(f.dir);
}

static void test_time_now_and_bad_entries(void)
{
	struct fixture f;
	struct cl_audit_entry e, good;
	struct collect c = {0};
	char err[512];
	int64_t before, after;

	fixture_init(&f, 0);
	make_entry(&good, 1);

	/* Refused entries create nothing. */
	e = good;
	snprintf(e.case_ref, sizeof e.case_ref, "01012345678"); /* a phone number */
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err), AS_E_FIELD);
	CHECK(strstr(err, "never a phone number") != NULL);
	e = good;
	snprintf(e.case_ref, sizeof e.case_ref, "+82 10 1234 5678");
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err), AS_E_FIELD);
	e = good;
	snprintf(e.case_ref, sizeof e.case_ref, "0123456789ABCDEF0123456789abcdef"); /* upper */
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err), AS_E_FIELD);
	e = good;
	snprintf(e.action, sizeof e.action, "delete");
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err), AS_E_FIELD);
	e = good;
	e.who[0] = '\0';
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err), AS_E_FIELD);
	e = good;
	memset(e.who, 'w', sizeof e.who); /* not terminated */
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err), AS_E_FIELD);
	e = good;
	memset(e.reason, 'r', sizeof e.reason);
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err), AS_E_FIELD);
	e = good;
	e.window_from = e.window_to + 1;
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err), AS_E_FIELD);
	e = good;
	e.time = -5;
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err), AS_E_FIELD);
	CHECK(access(f.log, F_OK) != 0);

	/* time 0 means now. */
	e = good;
	e.time = 0;
	before = (int64_t)time(NULL);
	CHECK_OK(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err));
	after = (int64_t)time(NULL);
	CHECK_OK(cl_audit_each(f.log, collect_one, &c));
	CHECK_EQ_INT(c.n, 1);
	CHECK(c.e[0].time >= before && c.e[0].time <= after);

	/* No signing key: nothing appended, the message names the file. */
	{
		struct cl_config nokeys = f.cfg;
		char missing[128];
		snprintf(missing, sizeof missing, "%s/nokeys", f.dir);
		nokeys.keys_dir = missing;
		CHECK_RC(cl_audit_append(&nokeys, &good, NULL, err, sizeof err), -ENOENT);
		CHECK(strstr(err, "audit.key") != NULL);
	}
	test_rmdir(f.dir);
}

static void test_missing_and_empty(void)
{
	struct fixture f;
	struct verdict v;

	fixture_init(&f, 0);
	verify(f.log, keys.auth_pk, &v);
	CHECK_RC(v.rc, -ENOENT);
	CHECK_EQ_INT(v.first_bad, 0);
	CHECK_EQ_INT(v.entries, 0);
	CHECK_OK(write_file(f.log, "", 0));
	verify(f.log, keys.auth_pk, &v);
	CHECK_OK(v.rc);
	CHECK_EQ_INT(v.entries, 0);
	/* A blank line is not an entry. */
	CHECK_OK(write_file(f.log, "\n", 1));
	verify(f.log, keys.auth_pk, &v);
	CHECK_RC(v.rc, AS_E_CORRUPT);
	CHECK_EQ_INT(v.first_bad, 1);
	CHECK(strstr(v.why, "malformed") != NULL);
	test_rmdir(f.dir);
}

/* Flip every byte of the log with each mask: verify must fail at the line
 * holding the byte; the last line's newline turns into a torn last entry. */
static void test_every_byte_flipped(void)
{
	static const unsigned char masks[] = {0x01, 0x20, 0x80};
	struct fixture f;
	struct verdict v;
	unsigned char *buf;
	size_t len, starts[16];
	char path[160];
	unsigned n;
	int fd;

	fixture_init(&f, 0);
	append_n(&f, 1, N_ENTRIES);
	buf = read_file(f.log, &len);
	if (!buf)
		return;
	n = line_starts(buf, len, starts, 16);
	CHECK_EQ_INT(n, N_ENTRIES);
	/* One copy, each byte flipped in place and put back (cheaper than a
	 * new file per flip: this test verifies the log ~10,000 times). */
	snprintf(path, sizeof path, "%s/flipped.log", f.dir);
	CHECK_OK(write_file(path, buf, len));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	for (size_t m = 0; fd >= 0 && m < sizeof masks; m++) {
		unsigned line = 0;
		for (size_t p = 0; p < len; p++) {
			unsigned char flipped = (unsigned char)(buf[p] ^ masks[m]);
			while (line < n && p >= starts[line])
				line++; /* 1-based line holding p */
			test_ctx("mask 0x%02x, byte %zu (line %u, '%c')", masks[m], p, line,
				 buf[p] >= 0x20 && buf[p] < 0x7f ? buf[p] : '?');
			if (!CHECK(pwrite(fd, &flipped, 1, (off_t)p) == 1))
				break;
			verify(path, keys.auth_pk, &v);
			if (!CHECK(pwrite(fd, buf + p, 1, (off_t)p) == 1))
				break;
			if (p == len - 1) {
				CHECK_RC(v.rc, AS_E_TRUNCATED);
				CHECK(strstr(v.why, "truncated last entry") != NULL);
			} else {
				CHECK(v.rc == AS_E_CORRUPT || v.rc == AS_E_SIGNATURE);
				CHECK(strstr(v.why, "truncated") == NULL);
			}
			if (!CHECK_EQ_INT(v.first_bad, line) || !CHECK_EQ_INT(v.entries, line - 1))
				fprintf(stderr, "  why: %s\n", v.why);
		}
	}
	test_ctx_clear();
	if (fd >= 0)
		close(fd);
	free(buf);
	test_rmdir(f.dir);
}

static void test_delete_and_reorder(void)
{
	struct fixture f;
	struct verdict v;
	unsigned char *buf, *copy;
	size_t len, starts[17];
	char path[160];
	unsigned n;

	fixture_init(&f, 0);
	append_n(&f, 1, N_ENTRIES);
	buf = read_file(f.log, &len);
	if (!buf)
		return;
	n = line_starts(buf, len, starts, 16);
	starts[n] = len;
	copy = malloc(len);
	snprintf(path, sizeof path, "%s/edited.log", f.dir);
	for (unsigned k = 1; copy && k <= n; k++) {
		size_t a = starts[k - 1], b = starts[k];

		/* Delete line k. */
		test_ctx("delete line %u", k);
		memcpy(copy, buf, a);
		memcpy(copy + a, buf + b, len - b);
		CHECK_OK(write_file(path, copy, len - (b - a)));
		verify(path, keys.auth_pk, &v);
		if (k < n) {
			CHECK_RC(v.rc, AS_E_CORRUPT);
			CHECK_EQ_INT(v.first_bad, k);
			CHECK_EQ_INT(v.entries, k - 1);
			CHECK(strstr(v.why, "sequence gap") != NULL);
		} else {
			/* Cut off the end at a line boundary: a shorter valid log. */
			CHECK_OK(v.rc);
			CHECK_EQ_INT(v.entries, n - 1);
		}

		/* Swap lines k and k+1. */
		if (k < n) {
			size_t c = starts[k + 1];
			test_ctx("swap lines %u and %u", k, k + 1);
			memcpy(copy, buf, a);
			memcpy(copy + a, buf + b, c - b);
			memcpy(copy + a + (c - b), buf + a, b - a);
			memcpy(copy + c, buf + c, len - c);
			CHECK_OK(write_file(path, copy, len));
			verify(path, keys.auth_pk, &v);
			CHECK_RC(v.rc, AS_E_CORRUPT);
			CHECK_EQ_INT(v.first_bad, k);
			CHECK(strstr(v.why, "sequence gap") != NULL);
		}

		/* Line k duplicated (a replayed entry). */
		test_ctx("duplicate line %u", k);
		{
			unsigned char *dup = malloc(len + (b - a));
			if (dup) {
				memcpy(dup, buf, b);
				memcpy(dup + b, buf + a, len - a);
				CHECK_OK(write_file(path, dup, len + (b - a)));
				verify(path, keys.auth_pk, &v);
				CHECK_RC(v.rc, AS_E_CORRUPT);
				CHECK_EQ_INT(v.first_bad, k + 1);
				CHECK(strstr(v.why, "sequence gap") != NULL);
				free(dup);
			}
		}
	}
	test_ctx_clear();
	free(copy);
	free(buf);
	test_rmdir(f.dir);
}

static void test_truncated_last_line(void)
{
	struct fixture f;
	struct verdict v;
	unsigned char *buf;
	size_t len, starts[16];
	char path[160];
	unsigned n;

	fixture_init(&f, 0);
	append_n(&f, 1, 3);
	buf = read_file(f.log, &len);
	if (!buf)
		return;
	n = line_starts(buf, len, starts, 16);
	snprintf(path, sizeof path, "%s/cut.log", f.dir);
	for (size_t cut = starts[n - 1] + 1; cut < len; cut++) {
		test_ctx("cut at %zu of %zu", cut, len);
		CHECK_OK(write_file(path, buf, cut));
		verify(path, keys.auth_pk, &v);
		CHECK_RC(v.rc, AS_E_TRUNCATED);
		CHECK_EQ_INT(v.first_bad, n);
		CHECK_EQ_INT(v.entries, n - 1);
		CHECK(strstr(v.why, "truncated last entry") != NULL);
	}
	test_ctx_clear();
	free(buf);
	test_rmdir(f.dir);
}

/* Replace the sig= of line k (1-based) with sk's signature over the same
 * hash: the format's signed message is "anshim-audit-sig" || hash. */
static int resign_line(unsigned char *buf, size_t len, unsigned k, const uint8_t *sk)
{
	size_t starts[16];
	unsigned n = line_starts(buf, len, starts, 16);
	char *line, *h, *s, hex[2 * crypto_sign_BYTES + 1];
	uint8_t msg[16 + 32], sig[crypto_sign_BYTES];

	if (k == 0 || k > n)
		return -1;
	line = (char *)buf + starts[k - 1];
	h = strstr(line, " hash=");
	s = strstr(line, " sig=");
	if (!h || !s)
		return -1;
	memcpy(msg, "anshim-audit-sig", 16);
	memcpy(hex, h + 6, 64);
	hex[64] = '\0';
	if (as_hex_decode(msg + 16, 32, hex))
		return -1;
	crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
	as_hex_encode(hex, sig, sizeof sig);
	memcpy(s + 5, hex, 2 * sizeof sig);
	return 0;
}

static void test_other_key(void)
{
	struct fixture f, other;
	struct verdict v;
	struct cl_audit_entry e;
	unsigned char *buf, *after;
	size_t len, after_len;
	char path[160], err[512];

	fixture_init(&f, 0);
	fixture_init(&other, 1);
	append_n(&f, 1, 3);
	buf = read_file(f.log, &len);
	if (!buf)
		return;

	/* Re-signing with the authority's own key changes nothing (the test's
	 * idea of the signed message is right)... */
	snprintf(path, sizeof path, "%s/resigned.log", f.dir);
	CHECK_OK(resign_line(buf, len, 2, keys.auth_sk));
	CHECK_OK(write_file(path, buf, len));
	verify(path, keys.auth_pk, &v);
	CHECK_OK(v.rc);
	CHECK_EQ_INT(v.entries, 3);
	/* ...another key's signature on entry 2 is a bad signature there. */
	CHECK_OK(resign_line(buf, len, 2, keys.other_sk));
	CHECK_OK(write_file(path, buf, len));
	verify(path, keys.auth_pk, &v);
	CHECK_RC(v.rc, AS_E_SIGNATURE);
	CHECK_EQ_INT(v.first_bad, 2);
	CHECK_EQ_INT(v.entries, 1);
	CHECK(strstr(v.why, "bad signature") != NULL);

	/* A whole log by another key, checked against the authority's. */
	append_n(&other, 1, 2);
	verify(other.log, keys.other_pk, &v);
	CHECK_OK(v.rc);
	verify(other.log, keys.auth_pk, &v);
	CHECK_RC(v.rc, AS_E_SIGNATURE);
	CHECK_EQ_INT(v.first_bad, 1);

	/* Another key cannot extend the authority's log. */
	other.cfg.audit_log = f.log;
	make_entry(&e, 4);
	CHECK_RC(cl_audit_append(&other.cfg, &e, NULL, err, sizeof err), AS_E_SIGNATURE);
	CHECK(strstr(err, "refusing to append") != NULL);
	after = read_file(f.log, &after_len);
	CHECK(after && after_len == len);
	free(after);
	free(buf);
	test_rmdir(f.dir);
	test_rmdir(other.dir);
}

static void test_append_after_torn_line_refused(void)
{
	static const char torn[] = "seq=3 time=2026-01-01T00:0";
	struct fixture f;
	struct verdict v;
	struct cl_audit_entry e;
	unsigned char *buf, *after;
	size_t len, after_len;
	char err[512];
	FILE *fp;

	fixture_init(&f, 0);
	append_n(&f, 1, 2);
	fp = fopen(f.log, "ab");
	CHECK(fp && fwrite(torn, 1, sizeof torn - 1, fp) == sizeof torn - 1);
	if (fp)
		fclose(fp);
	buf = read_file(f.log, &len);
	make_entry(&e, 3);
	err[0] = '\0';
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err), AS_E_TRUNCATED);
	CHECK(strstr(err, "torn entry") != NULL && strstr(err, f.log) != NULL);
	after = read_file(f.log, &after_len);
	CHECK(buf && after && after_len == len && memcmp(buf, after, len) == 0);
	verify(f.log, keys.auth_pk, &v);
	CHECK_RC(v.rc, AS_E_TRUNCATED);
	CHECK_EQ_INT(v.first_bad, 3);
	CHECK_EQ_INT(v.entries, 2);
	free(buf);
	free(after);

	/* A last line that is whole but not an entry also stops appends. */
	CHECK_OK(write_file(f.log, "seq=1 junk\n", 11));
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err), AS_E_CORRUPT);
	CHECK(strstr(err, "refusing to append") != NULL);
	test_rmdir(f.dir);
}

/* Hand edits that keep a line parseable are still caught at that line. */
static void test_hand_edits(void)
{
	struct fixture f;
	struct verdict v;
	unsigned char *buf;
	size_t len;
	char path[160], *p;

	fixture_init(&f, 0);
	append_n(&f, 1, 2);
	buf = read_file(f.log, &len);
	if (!buf)
		return;
	snprintf(path, sizeof path, "%s/edited.log", f.dir);

	/* contacts=20 -> contacts=21 on line 2: the hash no longer matches. */
	p = strstr((char *)buf, "contacts=20 ");
	CHECK(p != NULL);
	if (p) {
		p[10] = '1';
		CHECK_OK(write_file(path, buf, len));
		verify(path, keys.auth_pk, &v);
		CHECK_RC(v.rc, AS_E_CORRUPT);
		CHECK_EQ_INT(v.first_bad, 2);
		CHECK(strstr(v.why, "hash mismatch") != NULL);
		p[10] = '0';
	}
	/* The same text spelt differently (an escape where raw text belongs). */
	{
		const char *k = "who=\"kim.investigator\"";
		char *w = strstr((char *)buf, k);
		struct as_strbuf sb = {0};
		CHECK(w != NULL);
		if (w) {
			as_strbuf_addn(&sb, (char *)buf, (size_t)(w - (char *)buf));
			as_strbuf_add(&sb, "who=\"\\x6bim.investigator\"");
			as_strbuf_add(&sb, w + strlen(k));
			CHECK_OK(write_file(path, sb.p, sb.len));
			verify(path, keys.auth_pk, &v);
			CHECK_RC(v.rc, AS_E_CORRUPT);
			CHECK_EQ_INT(v.first_bad, 1);
			CHECK(strstr(v.why, "malformed") != NULL);
			as_strbuf_free(&sb);
		}
	}
	/* A valid line appended twice over: a trailing field. */
	{
		struct as_strbuf sb = {0};
		as_strbuf_addn(&sb, (char *)buf, len - 1);
		as_strbuf_add(&sb, " extra=1\n");
		CHECK_OK(write_file(path, sb.p, sb.len));
		verify(path, keys.auth_pk, &v);
		CHECK_RC(v.rc, AS_E_CORRUPT);
		CHECK_EQ_INT(v.first_bad, 2);
		as_strbuf_free(&sb);
	}
	free(buf);
	test_rmdir(f.dir);
}

/* Processes appending at once: the flock serialises them into one chain.
 * Each child reports every failed append (its error on stderr, their count
 * as its exit status), so a failure says which it is: an append that
 * failed (and said so), or one that reported success and is not in the
 * log (entries != appends that succeeded). */
static void test_concurrent_appends(void)
{
	enum { KIDS = 4, EACH = 5 };
	struct fixture f;
	struct verdict v;
	pid_t kids[KIDS];
	int failed = 0;

	fixture_init(&f, 0);
	fflush(NULL); /* the children must not inherit unwritten output */
	for (int k = 0; k < KIDS; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			struct cl_audit_entry e;
			char err[512];
			int bad = 0;
			for (int i = 0; i < EACH; i++) {
				make_entry(&e, (unsigned)(1 + (k + i) % N_ENTRIES));
				/* Any of them may come first: none names a request. */
				snprintf(e.action, sizeof e.action, "%s", CL_AUDIT_TRACE);
				e.request = 0;
				err[0] = '\0';
				int rc = cl_audit_append(&f.cfg, &e, NULL, err, sizeof err);
				if (rc) {
					fprintf(stderr, "  child %d append %d: %s: %s\n", k, i + 1,
						as_strerror(rc), err);
					bad++;
				}
			}
			_exit(bad);
		}
		CHECK(kids[k] > 0);
	}
	for (int k = 0; k < KIDS; k++) {
		int status = -1;
		if (kids[k] > 0) {
			test_ctx("child %d", k);
			CHECK(waitpid(kids[k], &status, 0) == kids[k]);
			if (CHECK(WIFEXITED(status)))
				failed += WEXITSTATUS(status);
			else if (WIFSIGNALED(status))
				fprintf(stderr, "  child %d killed by signal %d\n", k, WTERMSIG(status));
		}
	}
	test_ctx_clear();
	verify(f.log, keys.auth_pk, &v);
	CHECK_OK(v.rc);
	/* Every append that reported success is in the log... */
	CHECK_EQ_INT(v.entries, KIDS * EACH - failed);
	/* ...and every append succeeded (a failure's error is printed above). */
	CHECK_EQ_INT(failed, 0);
	test_rmdir(f.dir);
}

/* 1 when /proc/locks shows pid blocked waiting for a flock ("->" line). */
static int blocked_on_flock(pid_t pid)
{
	FILE *fp = fopen("/proc/locks", "r");
	char line[256], kind[16];
	long who;
	int found = 0;

	if (!fp)
		return 0;
	for (int i = 0; i < 100000 && !found && fgets(line, sizeof line, fp); i++)
		found = sscanf(line, "%*d: -> %15s %*s %*s %ld", kind, &who) == 2 &&
			strcmp(kind, "FLOCK") == 0 && who == (long)pid;
	fclose(fp);
	return found;
}

/* Poll until pid is blocked on a flock, for at most 30 s: 1 if it is. */
static int wait_blocked_on_flock(pid_t pid)
{
	struct timespec now, end, pause = {0, 2000000};

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += 30;
	for (int polls = 0; polls < 30 * 1000; polls++) {
		if (blocked_on_flock(pid))
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		nanosleep(&pause, NULL);
	}
	return 0;
}

/* The interleaving the concurrent test can only hope for, forced: while the
 * log is locked (as by an append in progress) two appenders both reach it
 * with the same last entry in the file, and both wait on the lock
 * (/proc/locks shows them blocked) -- neither reads the last entry nor
 * writes before it is released.  Then each gets its own seq, and the
 * chain holds all three entries. */
static void test_appends_wait_for_the_lock(void)
{
	enum { KIDS = 2 };
	struct fixture f;
	struct verdict v;
	pid_t kids[KIDS];
	int seen[KIDS + 2] = {0}, lock_fd;

	fixture_init(&f, 0);
	append_n(&f, 1, 1);
	lock_fd = open(f.log, O_RDONLY | O_CLOEXEC);
	if (!CHECK(lock_fd >= 0) || !CHECK(flock(lock_fd, LOCK_EX) == 0)) {
		test_rmdir(f.dir);
		return;
	}
	fflush(NULL);
	for (int k = 0; k < KIDS; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			struct cl_audit_entry e;
			char err[512];
			uint64_t seq = 0;

			close(lock_fd); /* else the parent's close would not unlock */

			make_entry(&e, (unsigned)(3 + 2 * k)); /* trace entries 3 and 5 */
			int rc = cl_audit_append(&f.cfg, &e, &seq, err, sizeof err);
			if (rc)
				fprintf(stderr, "  child %d: %s: %s\n", k, as_strerror(rc), err);
			_exit(rc ? 100 : seq > 99 ? 99 : (int)seq);
		}
		test_ctx("child %d", k);
		if (CHECK(kids[k] > 0))
			CHECK(wait_blocked_on_flock(kids[k]));
	}
	test_ctx_clear();
	close(lock_fd); /* the lock is released: both may go on */
	for (int k = 0; k < KIDS; k++) {
		int status = -1;
		if (kids[k] <= 0)
			continue;
		test_ctx("child %d", k);
		CHECK(waitpid(kids[k], &status, 0) == kids[k]);
		if (CHECK(WIFEXITED(status) && WEXITSTATUS(status) >= 2 &&
			  WEXITSTATUS(status) <= KIDS + 1))
			seen[WEXITSTATUS(status)]++;
	}
	test_ctx_clear();
	CHECK(seen[2] == 1 && seen[3] == 1); /* seqs 2 and 3, one each */
	verify(f.log, keys.auth_pk, &v);
	CHECK_OK(v.rc);
	CHECK_EQ_INT(v.entries, 1 + KIDS);
	test_rmdir(f.dir);
}

/* A write cut short (here by a file size limit) is undone: the log keeps
 * only whole lines and still verifies. */
static void test_short_write_undone(void)
{
	struct fixture f;
	struct verdict v;
	struct stat st;
	off_t before;
	pid_t kid;
	int status = -1;

	fixture_init(&f, 0);
	append_n(&f, 1, 2);
	CHECK_OK(stat(f.log, &st));
	before = st.st_size;
	kid = fork();
	if (kid == 0) {
		struct rlimit lim = {(rlim_t)before + 100, (rlim_t)before + 100};
		struct cl_audit_entry e;
		char err[512];
		int rc;

		signal(SIGXFSZ, SIG_IGN);
		make_entry(&e, 3);
		if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
			_exit(3);
		rc = cl_audit_append(&f.cfg, &e, NULL, err, sizeof err);
		_exit(rc == 0 ? 1 : strstr(err, "nothing was recorded") ? 0 : 2);
	}
	CHECK(kid > 0 && waitpid(kid, &status, 0) == kid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_OK(stat(f.log, &st));
	CHECK_EQ_INT(st.st_size, before);
	verify(f.log, keys.auth_pk, &v);
	CHECK_OK(v.rc);
	CHECK_EQ_INT(v.entries, 2);
	append_n(&f, 3, 3); /* and the log can still grow */
	verify(f.log, keys.auth_pk, &v);
	CHECK_OK(v.rc);
	CHECK_EQ_INT(v.entries, 3);
	test_rmdir(f.dir);
}

/* The longest entry: every byte of who and reason needs an escape. */
static void test_longest_entry(void)
{
	struct fixture f;
	struct verdict v;
	struct collect c = {0};
	struct cl_audit_entry e;
	unsigned char *buf;
	size_t len;

	fixture_init(&f, 0);
	make_entry(&e, 1);
	memset(e.who, '"', sizeof e.who - 1);
	memset(e.reason, '\n', sizeof e.reason - 1);
	memset(e.case_no, '\\', sizeof e.case_no - 1);
	e.depth = e.contacts = e.revealed = UINT32_MAX;
	e.min_overlap = e.risk_period = e.incubation = CL_AUDIT_DURATION_MAX;
	e.time = INT64_C(253402300799); /* 9999-12-31T23:59:59Z */
	e.window_to = e.time;
	CHECK_OK(cl_audit_append(&f.cfg, &e, NULL, NULL, 0));
	snprintf(e.action, sizeof e.action, "break-glass");
	CHECK_OK(cl_audit_append(&f.cfg, &e, NULL, NULL, 0));
	verify(f.log, keys.auth_pk, &v);
	CHECK_OK(v.rc);
	CHECK_EQ_INT(v.entries, 2);
	CHECK_OK(cl_audit_each(f.log, collect_one, &c));
	CHECK_EQ_INT(c.n, 2);
	CHECK_MEM(&c.e[1], &e, sizeof e);
	buf = read_file(f.log, &len);
	CHECK(buf && len / 2 < 4096 && strstr((char *)buf, "time=9999-12-31T23:59:59Z") != NULL);
	free(buf);
	e.time = INT64_C(253402300800);
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, NULL, 0), AS_E_FIELD);
	test_rmdir(f.dir);
}

/* ---- versions, the vector, reveal requests ------------------------------ */

/* The vector's keys (docs/PROTOCOL.md): sign.key from seed 32 x 01 (it
 * signed the version 1 entry), audit.key from seed 32 x 07. */
static void vector_keys(const char *dir, struct cl_audit_keys *k)
{
	uint8_t seed[32], pk[32], sk[64];
	char path[160];

	memset(k, 0, sizeof *k);
	memset(seed, 0x01, sizeof seed);
	crypto_sign_seed_keypair(k->sign_pk, sk, seed);
	k->has_sign = 1;
	snprintf(path, sizeof path, "%s/sign.pub", dir);
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_PUBLIC, k->sign_pk, 0));
	memset(seed, 0x07, sizeof seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	memcpy(k->audit_pk, pk, sizeof pk);
	snprintf(path, sizeof path, "%s/audit.key", dir);
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_SECRET, sk, 0));
	snprintf(path, sizeof path, "%s/audit.pub", dir);
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_PUBLIC, pk, 0));
	sodium_memzero(sk, sizeof sk);
}

/* The vector's version 2 entry: an 'ask' following the version 1 entry. */
static void vector_ask(struct cl_audit_entry *e)
{
	memset(e, 0, sizeof *e);
	e->time = INT64_C(1767232800); /* 2026-01-01T02:00:00Z */
	snprintf(e->who, sizeof e->who, "kim.investigator");
	snprintf(e->action, sizeof e->action, CL_AUDIT_ASK);
	snprintf(e->case_ref, sizeof e->case_ref, "2b8e4a4f1c1f2b4d8a1c4e5f6a7b8c9d");
	e->window_from = INT64_C(1766620800);
	e->window_to = INT64_C(1767225600);
	e->depth = 2;
	e->min_overlap = 900;
	e->risk_period = 86400;
	e->incubation = 14 * 86400;
	e->contacts = 3;
	snprintf(e->case_no, sizeof e->case_no, "JEJU-2026-0042");
	snprintf(e->reason, sizeof e->reason, "call the contacts of case 42");
}

static char *data_path(char *out, size_t cap, const char *name)
{
	const char *dir = getenv("ANSHIM_TEST_DATA");

	snprintf(out, cap, "%s/vectors/%s", dir ? dir : "tests/data", name);
	return out;
}

/* A log written before the reveal service (version 1, sign.key) goes on
 * with version 2 entries (audit.key): the vector is rebuilt byte for byte,
 * verifies with both public keys, and not without sign.pub or with the
 * keys swapped. */
static void test_version_vector(void)
{
	char dir[64], log[128], path[256];
	unsigned char *v1, *v2, *got;
	size_t v1_len, v2_len, got_len;
	struct cl_config cfg;
	struct cl_audit_entry e;
	struct cl_audit_keys k, wrong;
	struct collect c = {0};
	uint64_t seq = 0, n = 0, bad = 0;
	char why[300], err[512];

	test_tmpdir(dir);
	snprintf(log, sizeof log, "%s/audit.log", dir);
	vector_keys(dir, &k);
	v1 = read_file(data_path(path, sizeof path, "audit_v1.txt"), &v1_len);
	v2 = read_file(data_path(path, sizeof path, "audit_v2.txt"), &v2_len);
	if (!v1 || !v2)
		return;
	CHECK_OK(write_file(log, v1, v1_len));
	memset(&cfg, 0, sizeof cfg);
	cfg.keys_dir = dir;
	cfg.audit_log = log;
	vector_ask(&e);
	CHECK_OK(cl_audit_append(&cfg, &e, &seq, err, sizeof err));
	CHECK_EQ_INT(seq, 2);
	got = read_file(log, &got_len);
	CHECK(got && got_len == v1_len + v2_len && memcmp(got + v1_len, v2, v2_len) == 0);
	if (got && got_len > v1_len && getenv("ANSHIM_PRINT_VECTOR"))
		fwrite(got + v1_len, 1, got_len - v1_len, stdout);
	free(got);
	CHECK_OK(cl_audit_verify(log, &k, &n, &bad, why, sizeof why));
	CHECK_EQ_INT(n, 2);
	CHECK_OK(cl_audit_each(log, collect_one, &c));
	CHECK_EQ_INT(c.n, 2);
	CHECK_EQ_INT(c.e[0].version, 1);
	CHECK_EQ_INT(c.e[1].version, 2);
	e.version = 2;
	CHECK_MEM(&c.e[1], &e, sizeof e);
	wrong = k;
	wrong.has_sign = 0;
	CHECK_RC(cl_audit_verify(log, &wrong, &n, &bad, why, sizeof why), AS_E_SIGNATURE);
	CHECK_EQ_INT(bad, 1);
	wrong = k;
	memcpy(wrong.audit_pk, k.sign_pk, 32);
	CHECK_RC(cl_audit_verify(log, &wrong, &n, &bad, why, sizeof why), AS_E_SIGNATURE);
	CHECK_EQ_INT(bad, 2);
	CHECK(strstr(why, "audit.key") != NULL);

	/* A version 1 line (sign.key holders: anshim-cloudd) after a version 2
	 * entry is refused, even correctly chained and signed. */
	{
		struct as_strbuf b = {0};

		as_strbuf_addn(&b, (const char *)v1, v1_len);
		as_strbuf_addn(&b, (const char *)v2, v2_len);
		as_strbuf_addn(&b, (const char *)v1, v1_len);
		CHECK_OK(write_file(log, b.p, b.len));
		as_strbuf_free(&b);
		CHECK_RC(cl_audit_verify(log, &k, &n, &bad, why, sizeof why), AS_E_CORRUPT);
		CHECK_EQ_INT(bad, 3);
	}
	free(v1);
	free(v2);
	test_rmdir(dir);
}

static void test_requests(void)
{
	struct fixture f;
	struct cl_audit_entry e;
	struct cl_request *q = NULL;
	size_t n = 99;
	uint64_t ask1 = 0, ask2 = 0, ask3 = 0, seq = 0;
	char err[512];

	fixture_init(&f, 0);
	CHECK_OK(cl_audit_requests(f.log, &q, &n, err, sizeof err)); /* no log yet */
	CHECK_EQ_INT(n, 0);
	vector_ask(&e);
	e.time = 0;
	CHECK_OK(cl_audit_append(&f.cfg, &e, &ask1, err, sizeof err));
	CHECK_OK(cl_audit_append(&f.cfg, &e, &ask2, err, sizeof err));
	CHECK_OK(cl_audit_append(&f.cfg, &e, &ask3, err, sizeof err));
	snprintf(e.action, sizeof e.action, CL_AUDIT_APPROVE);
	snprintf(e.who, sizeof e.who, "lee.supervisor");
	snprintf(e.reason, sizeof e.reason, "ok");
	e.request = ask1;
	CHECK_OK(cl_audit_append(&f.cfg, &e, &seq, err, sizeof err));
	snprintf(e.action, sizeof e.action, CL_AUDIT_REFUSE);
	e.request = ask2;
	CHECK_OK(cl_audit_append(&f.cfg, &e, &seq, err, sizeof err));
	snprintf(e.action, sizeof e.action, CL_AUDIT_REVEAL);
	snprintf(e.who, sizeof e.who, "kim.investigator");
	e.request = ask1;
	e.revealed = 3;
	CHECK_OK(cl_audit_append(&f.cfg, &e, &seq, err, sizeof err));
	/* A reveal of a refused request changes nothing (the service writes
	 * none; a reader must not be fooled either). */
	e.request = ask2;
	CHECK_OK(cl_audit_append(&f.cfg, &e, &seq, err, sizeof err));
	/* A later approve of a refused request does not count. */
	snprintf(e.action, sizeof e.action, CL_AUDIT_APPROVE);
	CHECK_OK(cl_audit_append(&f.cfg, &e, &seq, err, sizeof err));
	/* request must name an earlier entry */
	e.request = seq + 5;
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err), AS_E_FIELD);
	e.request = 0;
	CHECK_RC(cl_audit_append(&f.cfg, &e, NULL, err, sizeof err), AS_E_FIELD);

	CHECK_OK(cl_audit_requests(f.log, &q, &n, err, sizeof err));
	CHECK_EQ_INT(n, 3);
	if (n == 3) {
		CHECK_EQ_INT(q[0].id, ask1);
		CHECK_EQ_INT(q[0].state, CL_REQUEST_REVEALED);
		CHECK_STR(q[0].decided_by, "lee.supervisor");
		CHECK_EQ_INT(q[0].reveals, 1);
		CHECK_EQ_INT(q[0].revealed, 3);
		CHECK_STR(q[0].ask.case_no, "JEJU-2026-0042");
		CHECK_EQ_INT(q[1].state, CL_REQUEST_REFUSED);
		CHECK_EQ_INT(q[1].reveals, 0);
		CHECK_EQ_INT(q[2].state, CL_REQUEST_PENDING);
		CHECK_STR(cl_request_state_name(q[2].state), "pending");
	}
	free(q);
	test_rmdir(f.dir);
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_append_verify_read_back);
	TEST_RUN(test_longest_entry);
	TEST_RUN(test_version_vector);
	TEST_RUN(test_requests);
	TEST_RUN(test_time_now_and_bad_entries);
	TEST_RUN(test_missing_and_empty);
	TEST_RUN(test_every_byte_flipped);
	TEST_RUN(test_delete_and_reorder);
	TEST_RUN(test_truncated_last_line);
	TEST_RUN(test_other_key);
	TEST_RUN(test_append_after_torn_line_refused);
	TEST_RUN(test_hand_edits);
	TEST_RUN(test_concurrent_appends);
	TEST_RUN(test_appends_wait_for_the_lock);
	TEST_RUN(test_short_write_undone);
	return TEST_DONE();
}
