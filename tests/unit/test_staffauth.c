/*
 * test_staffauth.c - the staff screen's PIN, sessions and lock-out
 * (gateway/staffauth.c), with the clock given by the test: PIN syntax;
 * the PIN file (argon2id hash only, mode 0600 enforced, a missing file
 * means no PIN and no login); a right PIN opens a session, a wrong one
 * counts down; the 5th wrong PIN locks that address out, even for the
 * right PIN, until the lock-out time has passed, while another address
 * and the sessions already open are unaffected; 20 wrong PINs from many
 * addresses lock everyone; sessions expire and log out; a new PIN ends
 * every session.
 */
#include "test.h"

#include "staffauth.h"

#include "anshim/error.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1800000000LL
#define LOCKOUT 600
#define SESSION 3600

static char dir[64], pin_path[128];

static void write_pin(const char *pin, mode_t mode)
{
	char line[256];
	FILE *f;

	CHECK_OK(gw_staffauth_hash_pin(line, sizeof line, pin));
	f = fopen(pin_path, "w");
	if (!CHECK(f != NULL))
		return;
	fputs(line, f);
	fclose(f);
	chmod(pin_path, mode);
}

static struct gw_staffauth *fresh(void)
{
	struct gw_staffauth *a = NULL;
	char err[256];
	int have = 0;

	CHECK_OK(gw_staffauth_new(&a, LOCKOUT, SESSION));
	CHECK_OK(gw_staffauth_load_pin(a, pin_path, &have, err, sizeof err));
	return a;
}

static enum gw_login_result login(struct gw_staffauth *a, const char *client, const char *pin,
				  int64_t now, char *token, unsigned *left)
{
	int64_t wait = 0;

	return gw_staffauth_login(a, client, pin, now, token, left, &wait);
}

static void test_pin_syntax(void)
{
	char line[256];

	CHECK(gw_staffauth_pin_valid("1234"));
	CHECK(gw_staffauth_pin_valid("123456789012"));
	CHECK(!gw_staffauth_pin_valid("123"));
	CHECK(!gw_staffauth_pin_valid("1234567890123"));
	CHECK(!gw_staffauth_pin_valid("12a4"));
	CHECK(!gw_staffauth_pin_valid(" 1234"));
	CHECK(!gw_staffauth_pin_valid(NULL));
	CHECK_RC(gw_staffauth_hash_pin(line, sizeof line, "12"), AS_E_FIELD);
	CHECK_OK(gw_staffauth_hash_pin(line, sizeof line, "2468"));
	CHECK(strncmp(line, "$argon2id$", 10) == 0);
	CHECK(strstr(line, "2468") == NULL);
	CHECK(line[strlen(line) - 1] == '\n');
}

static void test_pin_file(void)
{
	struct gw_staffauth *a = NULL;
	char err[256], token[GW_STAFF_TOKEN_LEN + 1];
	unsigned left;
	int have = 1;

	unlink(pin_path);
	CHECK_OK(gw_staffauth_new(&a, LOCKOUT, SESSION));
	CHECK_OK(gw_staffauth_load_pin(a, pin_path, &have, err, sizeof err));
	CHECK(!have);
	CHECK(!gw_staffauth_has_pin(a));
	CHECK_EQ_INT(login(a, "127.0.0.1", "1234", T0, token, &left), GW_LOGIN_NO_PIN);
	write_pin("2468", 0644);
	CHECK_RC(gw_staffauth_load_pin(a, pin_path, &have, err, sizeof err), AS_E_KEY_PERMS);
	CHECK(strstr(err, "chmod 600") != NULL);
	CHECK(!gw_staffauth_has_pin(a));
	chmod(pin_path, 0600);
	CHECK_OK(gw_staffauth_load_pin(a, pin_path, &have, err, sizeof err));
	CHECK(have && gw_staffauth_has_pin(a));
	{
		FILE *f = fopen(pin_path, "w");
		fputs("2468\n", f); /* a PIN in clear: refused */
		fclose(f);
	}
	CHECK_RC(gw_staffauth_load_pin(a, pin_path, &have, err, sizeof err), AS_E_CONFIG);
	CHECK(gw_staffauth_has_pin(a)); /* the previous one stays */
	gw_staffauth_free(a);
	write_pin("2468", 0600);
}

static void test_login_and_lockout(void)
{
	struct gw_staffauth *a = fresh();
	char token[GW_STAFF_TOKEN_LEN + 1], other_token[GW_STAFF_TOKEN_LEN + 1];
	unsigned left = 0;
	int64_t wait = 0;

	CHECK_EQ_INT(login(a, "10.0.0.1", "2468", T0, token, &left), GW_LOGIN_OK);
	CHECK_EQ_INT((int)strlen(token), GW_STAFF_TOKEN_LEN);
	CHECK(gw_staffauth_session_ok(a, token, T0 + 1));
	CHECK(!gw_staffauth_session_ok(a, NULL, T0));
	CHECK(!gw_staffauth_session_ok(a, "abc", T0));
	for (unsigned i = 1; i < GW_STAFF_TRIES; i++) {
		CHECK_EQ_INT(login(a, "10.0.0.2", "1111", T0 + i, other_token, &left), GW_LOGIN_WRONG);
		CHECK_EQ_INT((int)left, (int)(GW_STAFF_TRIES - i));
	}
	CHECK_EQ_INT(gw_staffauth_login(a, "10.0.0.2", "1111", T0 + 10, other_token, &left, &wait),
		     GW_LOGIN_LOCKED);
	CHECK(wait == LOCKOUT);
	/* the right PIN is refused while locked; another address is not */
	CHECK_EQ_INT(gw_staffauth_login(a, "10.0.0.2", "2468", T0 + 20, other_token, &left, &wait),
		     GW_LOGIN_LOCKED);
	CHECK(wait == LOCKOUT - 10);
	CHECK(gw_staffauth_session_ok(a, token, T0 + 20));
	CHECK_EQ_INT(login(a, "10.0.0.3", "2468", T0 + 20, other_token, &left), GW_LOGIN_OK);
	/* after the lock-out time, the right PIN works again */
	CHECK_EQ_INT(login(a, "10.0.0.2", "2468", T0 + 10 + LOCKOUT, other_token, &left),
		     GW_LOGIN_OK);
	/* a success clears the count */
	CHECK_EQ_INT(login(a, "10.0.0.2", "1111", T0 + 700, other_token, &left), GW_LOGIN_WRONG);
	CHECK_EQ_INT((int)left, GW_STAFF_TRIES - 1);
	/* malformed PINs count as wrong, without a hash check */
	CHECK_EQ_INT(login(a, "10.0.0.2", "12x", T0 + 701, other_token, &left), GW_LOGIN_WRONG);
	CHECK_EQ_INT((int)left, GW_STAFF_TRIES - 2);
	gw_staffauth_free(a);
}

static void test_global_lockout(void)
{
	struct gw_staffauth *a = fresh();
	char token[GW_STAFF_TOKEN_LEN + 1], client[32];
	unsigned left;
	int64_t wait;
	int locked = 0;

	/* one wrong PIN each from 20 addresses */
	for (int i = 0; i < GW_STAFF_TRIES_ALL; i++) {
		snprintf(client, sizeof client, "10.1.0.%d", i + 1);
		if (gw_staffauth_login(a, client, "0000", T0 + i, token, &left, &wait) ==
		    GW_LOGIN_LOCKED)
			locked++;
	}
	CHECK_EQ_INT(locked, 1); /* the 20th */
	CHECK_EQ_INT(gw_staffauth_login(a, "10.9.9.9", "2468", T0 + 30, token, &left, &wait),
		     GW_LOGIN_LOCKED);
	CHECK_EQ_INT(login(a, "10.9.9.9", "2468", T0 + 19 + LOCKOUT, token, &left), GW_LOGIN_OK);
	gw_staffauth_free(a);
}

static void test_sessions(void)
{
	struct gw_staffauth *a = fresh();
	char t1[GW_STAFF_TOKEN_LEN + 1], t2[GW_STAFF_TOKEN_LEN + 1], err[256];
	unsigned left;
	int have;

	CHECK_EQ_INT(login(a, "10.0.0.1", "2468", T0, t1, &left), GW_LOGIN_OK);
	CHECK_EQ_INT(login(a, "10.0.0.1", "2468", T0, t2, &left), GW_LOGIN_OK);
	CHECK(strcmp(t1, t2) != 0);
	CHECK(gw_staffauth_session_ok(a, t1, T0 + SESSION - 1));
	CHECK(!gw_staffauth_session_ok(a, t1, T0 + SESSION));
	gw_staffauth_logout(a, t2);
	CHECK(!gw_staffauth_session_ok(a, t2, T0 + 1));
	CHECK(gw_staffauth_session_ok(a, t1, T0 + 1));
	/* a new PIN ends every session */
	write_pin("13579", 0600);
	CHECK_OK(gw_staffauth_load_pin(a, pin_path, &have, err, sizeof err));
	CHECK(!gw_staffauth_session_ok(a, t1, T0 + 2));
	CHECK_EQ_INT(login(a, "10.0.0.1", "2468", T0 + 3, t1, &left), GW_LOGIN_WRONG);
	CHECK_EQ_INT(login(a, "10.0.0.1", "13579", T0 + 4, t1, &left), GW_LOGIN_OK);
	gw_staffauth_free(a);
	write_pin("2468", 0600);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	snprintf(dir, sizeof dir, "/tmp/anshim-staffauth-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(pin_path, sizeof pin_path, "%s/staff.pin", dir);
	TEST_RUN(test_pin_syntax);
	TEST_RUN(test_pin_file);
	TEST_RUN(test_login_and_lockout);
	TEST_RUN(test_global_lockout);
	TEST_RUN(test_sessions);
	unlink(pin_path);
	rmdir(dir);
	return TEST_DONE();
}
