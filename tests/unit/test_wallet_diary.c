/*
 * test_wallet_diary.c - the wallet's diary and outbox (wallet/diary.c):
 * save/load round trip, answers applied once, the open check-in, the
 * strict loader (every corrupt form refused with its line), crash safety
 * (a torn temp file beside the diary is never read), the size cap and the
 * directory lock.
 */
#include "test.h"

#include "anshim/appcheckin.h"
#include "anshim/bytes.h"
#include "anshim/fileio.h"
#include "anshim/venuecode.h"
#include "diary.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

static struct test_keys keys;
static char dir[64], path[128];

/* An encoded message; nonce_tag makes it unique.  Signed (the diary does
 * not check signatures, but the bytes are then real ones). */
static size_t make_msg(uint8_t bin[AS_APP_CHECKIN_MAX], int kind, const uint8_t *checkin_id,
		       int64_t at, unsigned nonce_tag, int sign)
{
	struct as_app_checkin m;
	uint8_t gw_id[AS_GWID_LEN];
	int n;

	memset(&m, 0, sizeof m);
	m.kind = (uint8_t)kind;
	test_credential_make(&keys, &m.cred, 0);
	m.time = at;
	if (kind == AS_APP_CHECKIN) {
		as_gateway_id(gw_id, keys.device_pk);
		if (as_venue_code_rotating(&m.code, 42, gw_id, at, AS_SLOT_DEFAULT,
					   keys.device_sk))
			abort();
	} else {
		memcpy(m.checkin_id, checkin_id, AS_APP_CHECKIN_ID_LEN);
	}
	if (sign && as_app_checkin_sign(&m, keys.holder_sk))
		abort();
	test_fill(m.nonce, AS_APP_NONCE_LEN, nonce_tag);
	n = as_app_checkin_encode(bin, AS_APP_CHECKIN_MAX, &m);
	if (n < 0)
		abort();
	return (size_t)n;
}

static struct wl_entry *add(struct wl_diary *d, int kind, const uint8_t *id, int64_t at,
			    unsigned tag)
{
	uint8_t bin[AS_APP_CHECKIN_MAX];
	size_t n = make_msg(bin, kind, id, at, tag, 1);
	struct wl_entry *e = NULL;

	CHECK_OK(wl_diary_add(d, bin, n, &e));
	return e;
}

static int load(struct wl_diary *d, char *err, size_t cap)
{
	return wl_diary_load(d, path, err, cap);
}

static void answer(struct as_app_answer *a, const uint8_t *id, uint8_t status, uint8_t reason)
{
	memset(a, 0, sizeof *a);
	memcpy(a->checkin_id, id, AS_APP_CHECKIN_ID_LEN);
	a->status = status;
	a->reason = reason;
	a->cloud_time = TEST_NOW + 99;
}

static void test_round_trip(void)
{
	struct wl_diary d = {0}, back = {0};
	struct wl_entry *in1, *in2, *out1;
	struct as_app_answer a;
	uint8_t id1[AS_APP_CHECKIN_ID_LEN], id2[AS_APP_CHECKIN_ID_LEN];
	char err[300];
	struct stat st;

	unlink(path);
	CHECK_OK(load(&d, err, sizeof err));     /* no file: empty diary */
	CHECK_EQ_INT(d.n, 0);
	CHECK(wl_diary_open_checkin(&d) == NULL);
	in1 = add(&d, AS_APP_CHECKIN, NULL, TEST_NOW, 1);
	memcpy(id1, in1->id, sizeof id1);
	CHECK(wl_diary_open_checkin(&d) == in1);
	out1 = add(&d, AS_APP_CHECKOUT, id1, TEST_NOW + 600, 2);
	CHECK(wl_diary_checkout_of(&d, id1) == out1);
	CHECK(wl_diary_open_checkin(&d) == NULL);
	in2 = add(&d, AS_APP_CHECKIN, NULL, TEST_NOW + 3600, 3);
	memcpy(id2, in2->id, sizeof id2);
	CHECK(wl_diary_open_checkin(&d) == in2);
	CHECK_EQ_INT(wl_diary_queued(&d), 3);
	answer(&a, id1, AS_APP_STORED, 0);
	CHECK_EQ_INT(wl_diary_answer(&d, &a), 1);
	answer(&a, id2, AS_APP_REJECTED, AS_APP_R_REMOTE);
	CHECK_EQ_INT(wl_diary_answer(&d, &a), 1);
	/* Answers are idempotent: the first one wins. */
	answer(&a, id2, AS_APP_DUPLICATE, 0);
	CHECK_EQ_INT(wl_diary_answer(&d, &a), 0);
	CHECK_EQ_INT(d.e[2].state, AS_APP_REJECTED);
	/* An answer for nothing we sent changes nothing. */
	test_fill(a.checkin_id, sizeof a.checkin_id, 77);
	CHECK_EQ_INT(wl_diary_answer(&d, &a), 0);
	CHECK_EQ_INT(wl_diary_queued(&d), 1);
	/* A rejected check-in is not open. */
	CHECK(wl_diary_open_checkin(&d) == NULL);

	CHECK_OK(wl_diary_save(&d, path));
	CHECK_OK(stat(path, &st));
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	if (!CHECK_OK(load(&back, err, sizeof err)))
		fprintf(stderr, "  %s\n", err);
	CHECK_EQ_INT(back.n, 3);
	for (size_t i = 0; i < back.n && i < d.n; i++) {
		test_ctx("entry %zu", i);
		CHECK_EQ_INT(back.e[i].len, d.e[i].len);
		CHECK_MEM(back.e[i].msg, d.e[i].msg, d.e[i].len);
		CHECK_MEM(back.e[i].id, d.e[i].id, AS_APP_CHECKIN_ID_LEN);
		CHECK_EQ_INT(back.e[i].state, d.e[i].state);
		CHECK_EQ_INT(back.e[i].reason, d.e[i].reason);
		CHECK(back.e[i].answered_at == d.e[i].answered_at);
		CHECK_EQ_INT(back.e[i].m.kind, d.e[i].m.kind);
	}
	test_ctx_clear();
	CHECK_EQ_INT(back.e[0].state, AS_APP_STORED);
	CHECK_EQ_INT(back.e[1].state, WL_QUEUED);
	CHECK(back.e[0].answered_at == TEST_NOW + 99);
	CHECK_EQ_INT(back.e[2].reason, AS_APP_R_REMOTE);
	CHECK(memcmp(back.e[1].m.checkin_id, id1, sizeof id1) == 0);
	wl_diary_free(&back);
	wl_diary_free(&d);
}

static void test_add_refuses(void)
{
	struct wl_diary d = {0};
	uint8_t bin[AS_APP_CHECKIN_MAX];
	size_t n = make_msg(bin, AS_APP_CHECKIN, NULL, TEST_NOW, 5, 1);

	CHECK_OK(wl_diary_add(&d, bin, n, NULL));
	CHECK_RC(wl_diary_add(&d, bin, n, NULL), AS_E_EXISTS);
	CHECK_RC(wl_diary_add(&d, bin, n - 1, NULL), AS_E_TRUNCATED);
	bin[0] = 'X';
	CHECK_RC(wl_diary_add(&d, bin, n, NULL), AS_E_MAGIC);
	CHECK_RC(wl_diary_add(&d, bin, AS_APP_CHECKIN_MAX + 1, NULL), AS_E_OVERSIZE);
	CHECK_EQ_INT(d.n, 1);
	wl_diary_free(&d);
}

static void write_text(const char *text)
{
	CHECK_OK(as_file_write_atomic(path, text, strlen(text), 0600, 0));
}

/* A diary text with one line after the header. */
static void corrupt_case(const char *what, const char *line, const char *want_why)
{
	struct wl_diary d = {0};
	char text[4096], err[400];

	snprintf(text, sizeof text, "anshim-wallet-diary 1\n%s", line);
	write_text(text);
	test_ctx("%s", what);
	CHECK_RC(load(&d, err, sizeof err), AS_E_CORRUPT);
	CHECK(strstr(err, ":2: ") != NULL);
	CHECK(strstr(err, want_why) != NULL);
	CHECK_EQ_INT(d.n, 0);
	test_ctx_clear();
}

static void test_corrupt(void)
{
	struct wl_diary d = {0};
	uint8_t bin[AS_APP_CHECKIN_MAX];
	char hex[2 * AS_APP_CHECKIN_MAX + 1], line[2200], err[400];
	size_t n = make_msg(bin, AS_APP_CHECKIN, NULL, TEST_NOW, 6, 1);

	as_hex_encode(hex, bin, n);
	snprintf(line, sizeof line, "queued 0 0 %s\n", hex);
	write_text("anshim-wallet-diary 1\n");
	CHECK_OK(load(&d, err, sizeof err));
	CHECK_EQ_INT(d.n, 0);
	{
		char text[4500];

		snprintf(text, sizeof text, "anshim-wallet-diary 1\n%s", line);
		write_text(text);
		CHECK_OK(load(&d, err, sizeof err));
		CHECK_EQ_INT(d.n, 1);
		wl_diary_free(&d);
		snprintf(text, sizeof text, "anshim-wallet-diary 1\n%s%s", line, line);
		write_text(text);
		CHECK_RC(load(&d, err, sizeof err), AS_E_CORRUPT);
		CHECK(strstr(err, ":3: message listed twice") != NULL);
	}
	write_text("anshim-wallet-diary 2\n");
	CHECK_RC(load(&d, err, sizeof err), AS_E_CORRUPT);
	CHECK(strstr(err, "not an anshim-wallet diary") != NULL);
	write_text("");
	CHECK_RC(load(&d, err, sizeof err), AS_E_CORRUPT);

	line[strlen(line) - 1] = '\0';
	corrupt_case("no final line end", line, "no line end");
	snprintf(line, sizeof line, "sent 0 0 %s\n", hex);
	corrupt_case("unknown state", line, "unknown state");
	snprintf(line, sizeof line, "queued 0 %s\n", hex);
	corrupt_case("missing field", line, "missing fields");
	snprintf(line, sizeof line, "queued 0 0 %s x\n", hex);
	corrupt_case("extra field", line, "extra fields");
	snprintf(line, sizeof line, "queued 3 0 %s\n", hex);
	corrupt_case("queued with a reason", line, "disagree");
	snprintf(line, sizeof line, "rejected 0 5 %s\n", hex);
	corrupt_case("rejected without a reason", line, "disagree");
	snprintf(line, sizeof line, "stored 99 5 %s\n", hex);
	corrupt_case("reason out of range", line, "bad reason");
	snprintf(line, sizeof line, "stored 0 5x %s\n", hex);
	corrupt_case("bad answer time", line, "bad reason");
	snprintf(line, sizeof line, "queued 0 0 %.*s\n", (int)strlen(hex) - 1, hex);
	corrupt_case("odd hex", line, "not hex");
	snprintf(line, sizeof line, "queued 0 0 %.*s\n", (int)strlen(hex) - 2, hex);
	corrupt_case("cut message", line, "does not decode");
	hex[0] = 'z';
	snprintf(line, sizeof line, "queued 0 0 %s\n", hex);
	corrupt_case("not hex", line, "not hex");
	{
		static const char nul_text[] = "anshim-wallet-diary 1\nqueued\0 0 0 00\n";

		CHECK_OK(as_file_write_atomic(path, nul_text, sizeof nul_text - 1, 0600, 0));
		CHECK_RC(load(&d, err, sizeof err), AS_E_CORRUPT);
	}
}

/* A crash during a save leaves the old diary and a torn temp file beside
 * it: the loader reads only the diary, and the next save works. */
static void test_torn_temp_file(void)
{
	struct wl_diary d = {0}, back = {0};
	char tmp[200], err[300];
	struct wl_entry *e;
	FILE *f;

	unlink(path);
	e = add(&d, AS_APP_CHECKIN, NULL, TEST_NOW, 8);
	(void)e;
	CHECK_OK(wl_diary_save(&d, path));
	snprintf(tmp, sizeof tmp, "%s.tmp.Ab12Cd", path);
	f = fopen(tmp, "w");
	if (!CHECK(f != NULL))
		return;
	fputs("anshim-wallet-diary 1\nqueued 0 0 5701", f);  /* cut mid-line */
	fclose(f);
	CHECK_OK(load(&back, err, sizeof err));
	CHECK_EQ_INT(back.n, 1);
	CHECK_MEM(back.e[0].msg, d.e[0].msg, d.e[0].len);
	wl_diary_free(&back);
	add(&d, AS_APP_CHECKIN, NULL, TEST_NOW + 60, 9);
	CHECK_OK(wl_diary_save(&d, path));
	CHECK_OK(load(&back, err, sizeof err));
	CHECK_EQ_INT(back.n, 2);
	CHECK_EQ_INT(access(tmp, F_OK), 0);     /* left alone, never read */
	unlink(tmp);
	wl_diary_free(&back);
	wl_diary_free(&d);
}

static void test_full(void)
{
	struct wl_diary d = {0}, back = {0};
	uint8_t bin[AS_APP_CHECKIN_MAX];
	char err[300];
	size_t n = make_msg(bin, AS_APP_CHECKIN, NULL, TEST_NOW, 10, 0);
	int rc = 0;

	for (unsigned i = 0; i < WL_DIARY_MAX && rc == 0; i++) {
		memcpy(bin + 275, &i, sizeof i);         /* a distinct nonce each */
		rc = wl_diary_add(&d, bin, n, NULL);
	}
	CHECK_OK(rc);
	CHECK_EQ_INT(d.n, WL_DIARY_MAX);
	bin[275 + 8] ^= 1;
	CHECK_RC(wl_diary_add(&d, bin, n, NULL), AS_E_FULL);
	CHECK_OK(wl_diary_save(&d, path));
	CHECK_OK(load(&back, err, sizeof err));
	CHECK_EQ_INT(back.n, WL_DIARY_MAX);
	wl_diary_free(&back);
	wl_diary_free(&d);
	unlink(path);
}

static void test_lock(void)
{
	char lockpath[128];
	int fd = wl_diary_lock(dir), other;

	if (!CHECK(fd >= 0))
		return;
	snprintf(lockpath, sizeof lockpath, "%s/lock", dir);
	other = open(lockpath, O_RDWR | O_CLOEXEC);
	CHECK(other >= 0);
	CHECK(flock(other, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK);
	wl_diary_unlock(fd);
	CHECK_EQ_INT(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
	CHECK_RC(wl_diary_lock("/nonexistent/anshim"), -ENOENT);
	unlink(lockpath);
}

static void test_names(void)
{
	CHECK_STR(wl_state_name(WL_QUEUED), "queued");
	CHECK_STR(wl_state_name(AS_APP_STORED), "stored");
	CHECK_STR(wl_state_name(AS_APP_DUPLICATE), "duplicate");
	CHECK_STR(wl_state_name(AS_APP_REJECTED), "rejected");
	CHECK_STR(wl_state_name(9), "unknown");
}

int main(void)
{
	test_keys_init(&keys);
	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/diary", dir);
	TEST_RUN(test_round_trip);
	TEST_RUN(test_add_refuses);
	TEST_RUN(test_corrupt);
	TEST_RUN(test_torn_temp_file);
	TEST_RUN(test_full);
	TEST_RUN(test_lock);
	TEST_RUN(test_names);
	test_rmdir(dir);
	return TEST_DONE();
}
