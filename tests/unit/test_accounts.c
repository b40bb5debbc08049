/*
 * test_accounts.c - the console's accounts file (cloud/accounts.c): argon2id
 * hashes that verify, logins, the lockout after 5 wrong passwords and its
 * expiry, the reset on a good password, disabled accounts, malformed lines
 * refused with the file and line named, mode 0600 or 0640 (group kept),
 * atomic rewrites, and
 * concurrent writers serialised by the lock.  Each test works in its own
 * mkdtemp directory.
 */
#include "test.h"

#include "accounts.h"

#include "anshim/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define T0 1767225600 /* 2026-01-01T00:00:00Z */
#define PW "correct horse battery"
#define PW2 "a different passphrase"

static char dir[64], path[128];
static char err[1024];

static void fresh_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/anshim-accounts.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof path, "%s/accounts", dir);
}

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static int login(const char *name, const char *pw, int64_t now, struct cl_account *a,
		 int64_t *retry)
{
	struct cl_account ignored;
	int64_t r;

	return cl_accounts_login(path, name, pw, now, a ? a : &ignored, retry ? retry : &r, err,
				 sizeof err);
}

static void write_file(const char *text)
{
	CHECK_OK(as_file_write_atomic(path, text, strlen(text), 0600, 0));
}

/* The hash stored for name, read straight from the file. */
static int stored_hash(const char *name, char hash[crypto_pwhash_STRBYTES])
{
	unsigned char *buf;
	size_t len;
	char prefix[80];
	int found = 0;

	if (!CHECK_OK(as_file_read_all(path, 1 << 20, &buf, &len)))
		return 0;
	snprintf(prefix, sizeof prefix, "%s ", name);
	for (char *line = strtok((char *)buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *h = strrchr(line, ' ');
		if (strncmp(line, prefix, strlen(prefix)) == 0 && h &&
		    strlen(h + 1) < crypto_pwhash_STRBYTES) {
			strcpy(hash, h + 1);
			found = 1;
		}
	}
	free(buf);
	return found;
}

static void test_roles(void)
{
	enum cl_role r;

	for (int i = CL_ROLE_ANALYST; i <= CL_ROLE_SUPERVISOR; i++) {
		CHECK_OK(cl_role_parse(cl_role_name((enum cl_role)i), &r));
		CHECK_EQ_INT(r, i);
	}
	CHECK_STR(cl_role_name(CL_ROLE_INVESTIGATOR), "investigator");
	CHECK_RC(cl_role_parse("admin", &r), AS_E_FIELD);
	CHECK_RC(cl_role_parse("Analyst", &r), AS_E_FIELD);
	CHECK_RC(cl_role_parse("", &r), AS_E_FIELD);
}

static void test_hash_and_verify(void)
{
	char hash[crypto_pwhash_STRBYTES];
	struct cl_account a;
	unsigned char *buf;
	size_t len;

	fresh_dir();
	CHECK_OK(cl_accounts_add(path, "kim.jiwoo", CL_ROLE_INVESTIGATOR, PW, T0, err, sizeof err));
	CHECK_OK(cl_accounts_get(path, "kim.jiwoo", &a, err, sizeof err));
	CHECK_STR(a.name, "kim.jiwoo");
	CHECK_EQ_INT(a.role, CL_ROLE_INVESTIGATOR);
	CHECK_EQ_INT(a.disabled, 0);
	CHECK_EQ_INT(a.created, T0);
	CHECK_EQ_INT(a.password_changed, T0);
	CHECK_EQ_INT(a.failed, 0);
	CHECK_EQ_INT(a.last_login, 0);
	/* argon2id with the interactive limits, and it verifies the password. */
	if (CHECK(stored_hash("kim.jiwoo", hash))) {
		CHECK(strncmp(hash, "$argon2id$", 10) == 0);
		CHECK_EQ_INT(crypto_pwhash_str_needs_rehash(hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
							    crypto_pwhash_MEMLIMIT_INTERACTIVE), 0);
		CHECK_EQ_INT(crypto_pwhash_str_verify(hash, PW, strlen(PW)), 0);
		CHECK(crypto_pwhash_str_verify(hash, PW2, strlen(PW2)) != 0);
	}
	/* The unknown-name hash costs the same as a real one. */
	CHECK_EQ_INT(crypto_pwhash_str_needs_rehash(cl_accounts_dummy_hash,
						    crypto_pwhash_OPSLIMIT_INTERACTIVE,
						    crypto_pwhash_MEMLIMIT_INTERACTIVE), 0);
	/* The password itself is nowhere in the file. */
	if (CHECK_OK(as_file_read_all(path, 1 << 20, &buf, &len))) {
		CHECK(strstr((char *)buf, PW) == NULL);
		CHECK(strstr((char *)buf, "horse") == NULL);
		free(buf);
	}
	/* Two accounts with the same password get different hashes (salt). */
	CHECK_OK(cl_accounts_add(path, "lee", CL_ROLE_ANALYST, PW, T0, err, sizeof err));
	{
		char h2[crypto_pwhash_STRBYTES];
		if (CHECK(stored_hash("lee", h2)))
			CHECK(strcmp(hash, h2) != 0);
	}
	/* Logins: right, wrong, unknown name (one answer for both). */
	CHECK_RC(login("kim.jiwoo", PW, T0 + 10, &a, NULL), CL_LOGIN_OK);
	CHECK_STR(a.name, "kim.jiwoo");
	CHECK_EQ_INT(a.role, CL_ROLE_INVESTIGATOR);
	CHECK_EQ_INT(a.last_login, T0 + 10);
	CHECK_RC(login("kim.jiwoo", PW2, T0 + 11, NULL, NULL), CL_LOGIN_BAD);
	CHECK_RC(login("nobody", PW, T0 + 12, NULL, NULL), CL_LOGIN_BAD);
	CHECK_RC(login("Not A Name", PW, T0 + 12, NULL, NULL), CL_LOGIN_BAD);
	CHECK_RC(login("kim.jiwoo", "", T0 + 12, NULL, NULL), CL_LOGIN_BAD);
	CHECK_OK(cl_accounts_get(path, "kim.jiwoo", &a, err, sizeof err));
	CHECK_EQ_INT(a.failed, 2);
	CHECK_EQ_INT(a.last_login, T0 + 10);
	remove_dir();
}

static void test_add_refuses_bad_input(void)
{
	char long_name[CL_ACCOUNT_NAME_MAX + 2], long_pw[CL_PASSWORD_MAX + 2];
	static const char *const bad_names[] = {"", "Kim", "1kim", "kim jiwoo", "kim/..",
						"-kim", "kim\n", "김지우"};

	fresh_dir();
	for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
		test_ctx("name '%s'", bad_names[i]);
		CHECK_RC(cl_accounts_add(path, bad_names[i], CL_ROLE_ANALYST, PW, T0, err,
					 sizeof err), AS_E_FIELD);
		CHECK(strstr(err, "not valid") != NULL);
	}
	test_ctx_clear();
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	CHECK_RC(cl_accounts_add(path, long_name, CL_ROLE_ANALYST, PW, T0, err, sizeof err),
		 AS_E_FIELD);
	long_name[CL_ACCOUNT_NAME_MAX] = '\0'; /* exactly the most */
	CHECK_OK(cl_accounts_add(path, long_name, CL_ROLE_ANALYST, PW, T0, err, sizeof err));
	CHECK_RC(cl_accounts_add(path, "short", CL_ROLE_ANALYST, "123456789", T0, err, sizeof err),
		 AS_E_FIELD);
	CHECK(strstr(err, "at least 10") != NULL);
	memset(long_pw, 'p', sizeof long_pw - 1);
	long_pw[sizeof long_pw - 1] = '\0';
	CHECK_RC(cl_accounts_add(path, "long", CL_ROLE_ANALYST, long_pw, T0, err, sizeof err),
		 AS_E_FIELD);
	CHECK(strstr(err, "at most 1024") != NULL);
	CHECK_RC(cl_accounts_add(path, "x", (enum cl_role)7, PW, T0, err, sizeof err), AS_E_FIELD);
	CHECK_OK(cl_accounts_add(path, "park", CL_ROLE_SUPERVISOR, PW, T0, err, sizeof err));
	CHECK_RC(cl_accounts_add(path, "park", CL_ROLE_ANALYST, PW2, T0, err, sizeof err),
		 AS_E_EXISTS);
	CHECK(strstr(err, "already exists") != NULL);
	/* The refused add left the first one alone. */
	CHECK_RC(login("park", PW, T0, NULL, NULL), CL_LOGIN_OK);
	CHECK_RC(cl_accounts_passwd(path, "ghost", PW, T0, err, sizeof err), AS_E_NOT_FOUND);
	CHECK(strstr(err, "no account 'ghost'") != NULL);
	CHECK_RC(cl_accounts_disable(path, "ghost", err, sizeof err), AS_E_NOT_FOUND);
	remove_dir();
}

static void test_lockout(void)
{
	struct cl_account a;
	int64_t retry = -1;

	fresh_dir();
	CHECK_OK(cl_accounts_add(path, "choi", CL_ROLE_ANALYST, PW, T0, err, sizeof err));
	/* 4 wrong, then right: the count is reset. */
	for (int i = 0; i < CL_ACCOUNTS_MAX_FAILED - 1; i++)
		CHECK_RC(login("choi", PW2, T0 + i, NULL, NULL), CL_LOGIN_BAD);
	CHECK_OK(cl_accounts_get(path, "choi", &a, err, sizeof err));
	CHECK_EQ_INT(a.failed, CL_ACCOUNTS_MAX_FAILED - 1);
	CHECK_EQ_INT(a.locked_until, 0);
	CHECK_RC(login("choi", PW, T0 + 10, NULL, NULL), CL_LOGIN_OK);
	CHECK_OK(cl_accounts_get(path, "choi", &a, err, sizeof err));
	CHECK_EQ_INT(a.failed, 0);
	/* 4 more wrong do not lock (the count started again). */
	for (int i = 0; i < CL_ACCOUNTS_MAX_FAILED - 1; i++)
		CHECK_RC(login("choi", PW2, T0 + 20 + i, NULL, NULL), CL_LOGIN_BAD);
	CHECK_RC(login("choi", PW, T0 + 30, NULL, NULL), CL_LOGIN_OK);

	/* 5 wrong in a row: locked. */
	for (int i = 0; i < CL_ACCOUNTS_MAX_FAILED; i++)
		CHECK_RC(login("choi", PW2, T0 + 100, NULL, NULL), CL_LOGIN_BAD);
	CHECK_OK(cl_accounts_get(path, "choi", &a, err, sizeof err));
	CHECK_EQ_INT(a.failed, CL_ACCOUNTS_MAX_FAILED);
	CHECK_EQ_INT(a.locked_until, T0 + 100 + CL_ACCOUNTS_LOCK_SECONDS);
	/* The right password is refused while locked, with the time left... */
	CHECK_RC(login("choi", PW, T0 + 160, NULL, &retry), CL_LOGIN_LOCKED);
	CHECK_EQ_INT(retry, CL_ACCOUNTS_LOCK_SECONDS - 60);
	/* ...and attempts while locked neither count nor extend the lock. */
	CHECK_RC(login("choi", PW2, T0 + 200, NULL, &retry), CL_LOGIN_LOCKED);
	CHECK_OK(cl_accounts_get(path, "choi", &a, err, sizeof err));
	CHECK_EQ_INT(a.failed, CL_ACCOUNTS_MAX_FAILED);
	CHECK_EQ_INT(a.locked_until, T0 + 100 + CL_ACCOUNTS_LOCK_SECONDS);
	CHECK_RC(login("choi", PW, T0 + 100 + CL_ACCOUNTS_LOCK_SECONDS - 1, NULL, &retry),
		 CL_LOGIN_LOCKED);
	CHECK_EQ_INT(retry, 1);
	/* The lock expires: the right password works and clears it. */
	CHECK_RC(login("choi", PW, T0 + 100 + CL_ACCOUNTS_LOCK_SECONDS, &a, NULL), CL_LOGIN_OK);
	CHECK_EQ_INT(a.failed, 0);
	CHECK_EQ_INT(a.locked_until, 0);

	/* After an expired lock, a wrong password starts a new count at 1. */
	for (int i = 0; i < CL_ACCOUNTS_MAX_FAILED; i++)
		CHECK_RC(login("choi", PW2, T0 + 5000, NULL, NULL), CL_LOGIN_BAD);
	CHECK_RC(login("choi", PW2, T0 + 5000 + CL_ACCOUNTS_LOCK_SECONDS, NULL, NULL),
		 CL_LOGIN_BAD);
	CHECK_OK(cl_accounts_get(path, "choi", &a, err, sizeof err));
	CHECK_EQ_INT(a.failed, 1);
	CHECK_EQ_INT(a.locked_until, 0);

	/* 'user passwd' unlocks: a new password clears the count and the lock. */
	for (int i = 0; i < CL_ACCOUNTS_MAX_FAILED; i++)
		login("choi", PW2 "x", T0 + 9000, NULL, NULL);
	CHECK_RC(login("choi", PW, T0 + 9001, NULL, NULL), CL_LOGIN_LOCKED);
	CHECK_OK(cl_accounts_passwd(path, "choi", PW2, T0 + 9002, err, sizeof err));
	CHECK_OK(cl_accounts_get(path, "choi", &a, err, sizeof err));
	CHECK_EQ_INT(a.failed, 0);
	CHECK_EQ_INT(a.locked_until, 0);
	CHECK_EQ_INT(a.password_changed, T0 + 9002);
	CHECK_RC(login("choi", PW, T0 + 9003, NULL, NULL), CL_LOGIN_BAD); /* the old one */
	CHECK_RC(login("choi", PW2, T0 + 9004, NULL, NULL), CL_LOGIN_OK);

	/* The lock is one account's: another account logs in meanwhile. */
	CHECK_OK(cl_accounts_add(path, "han", CL_ROLE_ANALYST, PW, T0, err, sizeof err));
	for (int i = 0; i < CL_ACCOUNTS_MAX_FAILED; i++)
		login("choi", PW, T0 + 9100, NULL, NULL);
	CHECK_RC(login("choi", PW2, T0 + 9101, NULL, NULL), CL_LOGIN_LOCKED);
	CHECK_RC(login("han", PW, T0 + 9101, NULL, NULL), CL_LOGIN_OK);
	remove_dir();
}

/* Concurrent wrong guesses from several processes cannot get past the
 * limit: the sixth and later are refused as locked, unchecked. */
static void test_lockout_concurrent(void)
{
	enum { KIDS = 8 };
	pid_t kids[KIDS];
	int bad = 0, locked = 0;
	struct cl_account a;

	fresh_dir();
	CHECK_OK(cl_accounts_add(path, "oh", CL_ROLE_ANALYST, PW, T0, err, sizeof err));
	for (int i = 0; i < KIDS; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			int rc = login("oh", PW2, T0 + 1, NULL, NULL);
			_exit(rc == CL_LOGIN_BAD ? 10 : rc == CL_LOGIN_LOCKED ? 11 : 12);
		}
		CHECK(kids[i] > 0);
	}
	for (int i = 0; i < KIDS; i++) {
		int st = 0;
		if (kids[i] > 0 && waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st)) {
			bad += WEXITSTATUS(st) == 10;
			locked += WEXITSTATUS(st) == 11;
		}
	}
	CHECK_EQ_INT(bad, CL_ACCOUNTS_MAX_FAILED);
	CHECK_EQ_INT(locked, KIDS - CL_ACCOUNTS_MAX_FAILED);
	CHECK_OK(cl_accounts_get(path, "oh", &a, err, sizeof err));
	CHECK_EQ_INT(a.failed, CL_ACCOUNTS_MAX_FAILED);
	CHECK_EQ_INT(a.locked_until, T0 + 1 + CL_ACCOUNTS_LOCK_SECONDS);
	remove_dir();
}

static void test_disabled(void)
{
	struct cl_account a;

	fresh_dir();
	CHECK_OK(cl_accounts_add(path, "jung", CL_ROLE_SUPERVISOR, PW, T0, err, sizeof err));
	CHECK_RC(login("jung", PW, T0 + 1, NULL, NULL), CL_LOGIN_OK);
	CHECK_OK(cl_accounts_disable(path, "jung", err, sizeof err));
	CHECK_OK(cl_accounts_get(path, "jung", &a, err, sizeof err));
	CHECK_EQ_INT(a.disabled, 1);
	/* The right password says disabled; a wrong one says no more than
	 * "bad" (nothing about the account to someone without it). */
	CHECK_RC(login("jung", PW, T0 + 2, NULL, NULL), CL_LOGIN_DISABLED);
	CHECK_RC(login("jung", PW2, T0 + 3, NULL, NULL), CL_LOGIN_BAD);
	CHECK_OK(cl_accounts_get(path, "jung", &a, err, sizeof err));
	CHECK_EQ_INT(a.last_login, T0 + 1);
	/* Disabling twice is no error; a new password does not enable it. */
	CHECK_OK(cl_accounts_disable(path, "jung", err, sizeof err));
	CHECK_OK(cl_accounts_passwd(path, "jung", PW2, T0 + 4, err, sizeof err));
	CHECK_RC(login("jung", PW2, T0 + 5, NULL, NULL), CL_LOGIN_DISABLED);
	remove_dir();
}

struct collected {
	char names[8][CL_ACCOUNT_NAME_MAX + 1];
	int n, stop_at;
};

static int collect(void *ctx, const struct cl_account *a)
{
	struct collected *c = ctx;

	if (c->n == c->stop_at)
		return 42;
	snprintf(c->names[c->n++], sizeof c->names[0], "%s", a->name);
	return 0;
}

static void test_each_in_name_order(void)
{
	struct collected c = {.stop_at = -1};
	static const char *const names[] = {"yoon", "baek", "min", "ahn"};

	fresh_dir();
	CHECK_RC(cl_accounts_each(path, collect, &c, err, sizeof err), -ENOENT);
	CHECK(strstr(err, "does not exist") != NULL);
	for (int i = 0; i < 4; i++)
		CHECK_OK(cl_accounts_add(path, names[i], CL_ROLE_ANALYST, PW, T0, err, sizeof err));
	CHECK_OK(cl_accounts_each(path, collect, &c, err, sizeof err));
	if (CHECK_EQ_INT(c.n, 4)) {
		CHECK_STR(c.names[0], "ahn");
		CHECK_STR(c.names[1], "baek");
		CHECK_STR(c.names[2], "min");
		CHECK_STR(c.names[3], "yoon");
	}
	c.n = 0;
	c.stop_at = 2;
	CHECK_RC(cl_accounts_each(path, collect, &c, err, sizeof err), 42);
	CHECK_EQ_INT(c.n, 2);
	remove_dir();
}

#define GOOD_HASH "$argon2id$v=19$m=65536,t=2,p=1$9X4IbyV/sI0se/CsJdNxKg$bh+KDecmrnMu9nz3pumk8fECpHy2KP8ATYDLPeJpznk"
#define HEAD "anshim-accounts 1\n"

static void test_malformed_files(void)
{
	static const struct {
		const char *text, *line, *why;
	} cases[] = {
		{"", "", "is empty"},
		{"anshim-accounts 2\n", ":1:", "not an Anshim accounts file"},
		{"root:x:0:0::/root:/bin/bash\n", ":1:", "not an Anshim accounts file"},
		{HEAD "kim analyst enabled 1 1 0 0 0\n", ":2:", "8 fields where 9"},
		{HEAD "# c\n\nkim analyst enabled 1 1 0 0 0 " GOOD_HASH " extra\n", ":4:",
		 "more than 9 fields"},
		{HEAD "kim  analyst enabled 1 1 0 0 0 " GOOD_HASH "\n", ":2:", "fields"},
		{HEAD "Kim analyst enabled 1 1 0 0 0 " GOOD_HASH "\n", ":2:", "name 'Kim'"},
		{HEAD "kim admin enabled 1 1 0 0 0 " GOOD_HASH "\n", ":2:", "role 'admin'"},
		{HEAD "kim analyst maybe 1 1 0 0 0 " GOOD_HASH "\n", ":2:", "state 'maybe'"},
		{HEAD "kim analyst enabled x 1 0 0 0 " GOOD_HASH "\n", ":2:", "created 'x'"},
		{HEAD "kim analyst enabled 1 1 -1 0 0 " GOOD_HASH "\n", ":2:", "failed '-1'"},
		{HEAD "kim analyst enabled 1 1 4294967296 0 0 " GOOD_HASH "\n", ":2:", "failed"},
		{HEAD "kim analyst enabled 1 1 0 99999999999999999999 0 " GOOD_HASH "\n", ":2:",
		 "locked_until"},
		{HEAD "kim analyst enabled 1 1 0 0 0 $2y$10$abcdefghijklmnopqrstuv\n", ":2:",
		 "not an argon2id hash"},
		{HEAD "kim analyst enabled 1 1 0 0 0 " GOOD_HASH "\n"
		      "kim supervisor enabled 1 1 0 0 0 " GOOD_HASH "\n", ":3:", "appears twice"},
		{HEAD "kim analyst enabled 1 1 0 0 0 " GOOD_HASH, ":2:", "no newline"},
		{HEAD "kim analyst enabled 1 1 0 0 0 " GOOD_HASH "\r\n", ":2:", "argon2id"},
	};
	struct cl_account a;
	struct collected c = {.stop_at = -1};

	fresh_dir();
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char want[300];

		test_ctx("case %zu: %s", i, cases[i].why);
		write_file(cases[i].text);
		err[0] = '\0';
		CHECK_RC(cl_accounts_get(path, "kim", &a, err, sizeof err), AS_E_CORRUPT);
		snprintf(want, sizeof want, "%s%s", path, cases[i].line);
		CHECK(strstr(err, want) != NULL);
		CHECK(strstr(err, cases[i].why) != NULL);
		if (test_failures)
			fprintf(stderr, "  error was: %s\n", err);
		/* Every use of the file refuses it, and changes nothing. */
		CHECK_RC(cl_accounts_each(path, collect, &c, err, sizeof err), AS_E_CORRUPT);
		CHECK(cl_accounts_login(path, "kim", PW, T0, &a, NULL, err, sizeof err) < 0);
		CHECK_RC(cl_accounts_add(path, "new", CL_ROLE_ANALYST, PW, T0, err, sizeof err),
			 AS_E_CORRUPT);
		CHECK_RC(cl_accounts_disable(path, "kim", err, sizeof err), AS_E_CORRUPT);
	}
	test_ctx_clear();
	CHECK_EQ_INT(c.n, 0);
	/* A NUL byte. */
	CHECK_OK(as_file_write_atomic(path, HEAD "k\0m\n", sizeof HEAD + 3, 0600, 0));
	CHECK_RC(cl_accounts_get(path, "kim", &a, err, sizeof err), AS_E_CORRUPT);
	CHECK(strstr(err, "NUL") != NULL);
	/* Comments and blank lines are fine, and a good line reads back. */
	write_file(HEAD "# comment\n\nkim investigator disabled 5 6 2 7 8 " GOOD_HASH "\n");
	if (CHECK_OK(cl_accounts_get(path, "kim", &a, err, sizeof err))) {
		CHECK_EQ_INT(a.role, CL_ROLE_INVESTIGATOR);
		CHECK_EQ_INT(a.disabled, 1);
		CHECK_EQ_INT(a.created, 5);
		CHECK_EQ_INT(a.password_changed, 6);
		CHECK_EQ_INT(a.failed, 2);
		CHECK_EQ_INT(a.locked_until, 7);
		CHECK_EQ_INT(a.last_login, 8);
	}
	remove_dir();
}

static mode_t file_mode(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static ino_t file_inode(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? st.st_ino : 0;
}

static void test_mode_and_atomic_rewrite(void)
{
	struct cl_account a;
	ino_t before;
	unsigned char *old_text, got[4096];
	size_t old_len;
	int fd;
	ssize_t n;

	fresh_dir();
	umask(022);
	CHECK_OK(cl_accounts_add(path, "seo", CL_ROLE_ANALYST, PW, T0, err, sizeof err));
	CHECK_EQ_INT(file_mode(path), 0600);
	/* The lock file beside it is the only other file; no temporary is left. */
	CHECK_EQ_INT(test_dir_count(dir), 2);
	{
		char lock[160];
		snprintf(lock, sizeof lock, "%s.lock", path);
		CHECK_EQ_INT(file_mode(lock), 0600);
	}

	/* A change replaces the file whole (a new inode, renamed into place):
	 * a reader that opened the old one still reads all of the old one. */
	if (!CHECK_OK(as_file_read_all(path, 1 << 20, &old_text, &old_len)))
		return;
	fd = open(path, O_RDONLY);
	before = file_inode(path);
	CHECK_OK(cl_accounts_add(path, "ryu", CL_ROLE_SUPERVISOR, PW, T0, err, sizeof err));
	CHECK_OK(cl_accounts_disable(path, "seo", err, sizeof err));
	CHECK(file_inode(path) != before);
	CHECK_EQ_INT(file_mode(path), 0600);
	CHECK_EQ_INT(test_dir_count(dir), 2);
	n = read(fd, got, sizeof got);
	CHECK_EQ_INT(n, (ssize_t)old_len);
	CHECK_MEM(got, old_text, old_len);
	close(fd);
	free(old_text);
	/* Logins rewrite it too, keeping the mode. */
	CHECK_RC(login("ryu", PW2, T0 + 1, NULL, NULL), CL_LOGIN_BAD);
	CHECK_EQ_INT(file_mode(path), 0600);

	/* A file others may read is refused (it holds password hashes). */
	CHECK_EQ_INT(chmod(path, 0644), 0);
	CHECK_RC(cl_accounts_get(path, "ryu", &a, err, sizeof err), AS_E_KEY_PERMS);
	CHECK(strstr(err, "chmod 600") != NULL);
	CHECK(cl_accounts_login(path, "ryu", PW, T0, &a, NULL, err, sizeof err) < 0);
	CHECK_EQ_INT(chmod(path, 0600), 0);
	CHECK_RC(login("ryu", PW, T0 + 2, NULL, NULL), CL_LOGIN_OK);

	/* A directory that does not exist: a clear error, nothing created. */
	snprintf(path, sizeof path, "%s/missing/accounts", dir);
	CHECK_RC(cl_accounts_add(path, "seo", CL_ROLE_ANALYST, PW, T0, err, sizeof err), -ENOENT);
	CHECK(strstr(err, "does the directory exist") != NULL);
	snprintf(path, sizeof path, "%s/accounts", dir);
	remove_dir();
}

/* A group other than this process's own that it may give a file: any
 * group as root, else a supplementary group; 0 if there is none. */
static gid_t other_group(void)
{
	gid_t groups[64];
	int n;

	if (geteuid() == 0)
		return getegid() == 4242 ? 4243 : 4242;
	n = getgroups(64, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] != getegid())
			return groups[i];
	return 0;
}

static gid_t file_group(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? st.st_gid : (gid_t)-1;
}

/* Mode 0640 lets the file's group (the reveal service) read the roles; it
 * is kept, with the group, by every rewrite.  Others' access, group write
 * or execute, and set-id bits are refused, naming the file and the fix. */
static void test_group_read_mode(void)
{
	static const mode_t refused[] = {0644, 0604, 0602, 0601, 0660, 0650, 0620, 0610,
					 02640, 04640, 0666, 0777};
	struct cl_account a;
	gid_t g = other_group();

	fresh_dir();
	umask(022);
	CHECK_OK(cl_accounts_add(path, "han", CL_ROLE_SUPERVISOR, PW, T0, err, sizeof err));
	CHECK_EQ_INT(file_mode(path), 0600);
	CHECK_EQ_INT(chmod(path, 0640), 0);
	if (g)
		CHECK_EQ_INT(chown(path, (uid_t)-1, g), 0);
	else
		g = getegid();
	CHECK_OK(cl_accounts_get(path, "han", &a, err, sizeof err));
	CHECK_EQ_INT(a.role, CL_ROLE_SUPERVISOR);

	/* Every kind of rewrite keeps 0640 and the group. */
	CHECK_OK(cl_accounts_add(path, "oh", CL_ROLE_INVESTIGATOR, PW, T0, err, sizeof err));
	CHECK_EQ_INT(file_mode(path), 0640);
	CHECK_EQ_INT(file_group(path), g);
	CHECK_OK(cl_accounts_passwd(path, "oh", PW2, T0 + 1, err, sizeof err));
	CHECK_EQ_INT(file_mode(path), 0640);
	CHECK_EQ_INT(file_group(path), g);
	CHECK_RC(login("oh", PW, T0 + 2, NULL, NULL), CL_LOGIN_BAD);
	CHECK_RC(login("oh", PW2, T0 + 3, NULL, NULL), CL_LOGIN_OK);
	CHECK_EQ_INT(file_mode(path), 0640);
	CHECK_EQ_INT(file_group(path), g);
	CHECK_OK(cl_accounts_disable(path, "oh", err, sizeof err));
	CHECK_EQ_INT(file_mode(path), 0640);
	CHECK_EQ_INT(file_group(path), g);
	CHECK_EQ_INT(test_dir_count(dir), 2); /* no temporary left */

	/* 0600 stays 0600. */
	CHECK_EQ_INT(chmod(path, 0600), 0);
	CHECK_RC(login("han", PW, T0 + 4, NULL, NULL), CL_LOGIN_OK);
	CHECK_EQ_INT(file_mode(path), 0600);
	CHECK_EQ_INT(chmod(path, 0400), 0);
	CHECK_OK(cl_accounts_get(path, "han", &a, err, sizeof err));

	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		CHECK_EQ_INT(chmod(path, refused[i]), 0);
		err[0] = '\0';
		CHECK_RC(cl_accounts_get(path, "han", &a, err, sizeof err), AS_E_KEY_PERMS);
		CHECK(strstr(err, path) != NULL);
		CHECK(strstr(err, "chmod 640") != NULL && strstr(err, "chmod 600") != NULL);
		CHECK(cl_accounts_login(path, "han", PW, T0 + 5, &a, NULL, err, sizeof err) < 0);
		CHECK_RC(cl_accounts_add(path, "kang", CL_ROLE_ANALYST, PW, T0, err, sizeof err),
			 AS_E_KEY_PERMS);
		/* Refused, so not rewritten: the mode is the one set. */
		CHECK_EQ_INT(file_mode(path), refused[i]);
	}
	CHECK_EQ_INT(chmod(path, 0640), 0);
	CHECK_RC(cl_accounts_get(path, "kang", &a, err, sizeof err), AS_E_NOT_FOUND);
	CHECK_RC(login("han", PW, T0 + 6, NULL, NULL), CL_LOGIN_OK);
	remove_dir();
}

/* Writers in several processes at once: the lock serialises them, and
 * every account is in the file afterwards. */
static void test_concurrent_writers(void)
{
	enum { KIDS = 6 };
	pid_t kids[KIDS];
	struct collected c = {.stop_at = -1};

	fresh_dir();
	for (int i = 0; i < KIDS; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			char name[16];
			snprintf(name, sizeof name, "user%d", i);
			_exit(cl_accounts_add(path, name, CL_ROLE_ANALYST, PW, T0, err,
					      sizeof err) == 0 ? 0 : 1);
		}
		CHECK(kids[i] > 0);
	}
	for (int i = 0; i < KIDS; i++) {
		int st = 0;
		CHECK(kids[i] > 0 && waitpid(kids[i], &st, 0) == kids[i]);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	CHECK_OK(cl_accounts_each(path, collect, &c, err, sizeof err));
	CHECK_EQ_INT(c.n, KIDS < 8 ? KIDS : 8);
	remove_dir();
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	TEST_RUN(test_roles);
	TEST_RUN(test_hash_and_verify);
	TEST_RUN(test_add_refuses_bad_input);
	TEST_RUN(test_lockout);
	TEST_RUN(test_lockout_concurrent);
	TEST_RUN(test_disabled);
	TEST_RUN(test_each_in_name_order);
	TEST_RUN(test_malformed_files);
	TEST_RUN(test_mode_and_atomic_rewrite);
	TEST_RUN(test_group_read_mode);
	TEST_RUN(test_concurrent_writers);
	return TEST_DONE();
}
