/*
 * test_console_sessions.c - the console's sessions
 * (cloud/console/sessions.c): ids and CSRF tokens are 64 hex digits and
 * differ; a session is found by its id and no other text; idle and
 * absolute timeouts end it (AS_E_EXPIRED once, then not found); a use
 * restarts the idle time; logout and disabling end it; a full table
 * refuses a new session until one expires; the CSRF check.
 */
#include "test.h"

#include "sessions.h"

static struct cs_user user_of(const char *name, enum cl_role role)
{
	struct cs_user u;

	memset(&u, 0, sizeof u);
	snprintf(u.name, sizeof u.name, "%s", name);
	u.role = role;
	return u;
}

static void test_create_find_end(void)
{
	struct cs_sessions *s = NULL;
	struct cs_user alice = user_of("alice", CL_ROLE_SUPERVISOR);
	struct cs_session found;
	char id[CS_TOKEN_HEX + 1], csrf[CS_TOKEN_HEX + 1], id2[CS_TOKEN_HEX + 1],
		csrf2[CS_TOKEN_HEX + 1];

	if (!CHECK_OK(cs_sessions_new(&s, 4, 900, 8 * 3600)))
		return;
	CHECK_OK(cs_sessions_create(s, &alice, 1000, id, csrf));
	CHECK_EQ_INT(strlen(id), CS_TOKEN_HEX);
	CHECK_EQ_INT(strlen(csrf), CS_TOKEN_HEX);
	CHECK(strcmp(id, csrf) != 0);
	CHECK_OK(cs_sessions_create(s, &alice, 1000, id2, csrf2));
	CHECK(strcmp(id, id2) != 0 && strcmp(csrf, csrf2) != 0);
	CHECK_OK(cs_sessions_find(s, id, 1001, &found));
	CHECK_STR(found.user.name, "alice");
	CHECK_EQ_INT(found.user.role, CL_ROLE_SUPERVISOR);
	CHECK_STR(found.csrf, csrf);
	CHECK(cs_csrf_ok(&found, csrf));
	CHECK(!cs_csrf_ok(&found, csrf2));
	CHECK(!cs_csrf_ok(&found, NULL));
	CHECK(!cs_csrf_ok(&found, ""));
	/* Other texts: the CSRF token, a changed digit, upper case, short. */
	CHECK_RC(cs_sessions_find(s, csrf, 1001, &found), AS_E_NOT_FOUND);
	char other[CS_TOKEN_HEX + 1];
	memcpy(other, id, sizeof other);
	other[5] = other[5] == '0' ? '1' : '0';
	CHECK_RC(cs_sessions_find(s, other, 1001, &found), AS_E_NOT_FOUND);
	CHECK_RC(cs_sessions_find(s, "abc", 1001, &found), AS_E_NOT_FOUND);
	CHECK_RC(cs_sessions_find(s, NULL, 1001, &found), AS_E_NOT_FOUND);
	CHECK_EQ_INT(cs_sessions_count(s, 1001), 2);
	CHECK_OK(cs_sessions_end(s, id));
	CHECK_RC(cs_sessions_find(s, id, 1001, &found), AS_E_NOT_FOUND);
	CHECK_RC(cs_sessions_end(s, id), AS_E_NOT_FOUND);
	CHECK_EQ_INT(cs_sessions_end_user(s, "alice"), 1);
	CHECK_RC(cs_sessions_find(s, id2, 1001, &found), AS_E_NOT_FOUND);
	cs_sessions_free(s);
}

static void test_timeouts(void)
{
	struct cs_sessions *s = NULL;
	struct cs_user bob = user_of("bob", CL_ROLE_ANALYST);
	struct cs_session found;
	char id[CS_TOKEN_HEX + 1], csrf[CS_TOKEN_HEX + 1];

	if (!CHECK_OK(cs_sessions_new(&s, 4, 10, 100)))
		return;
	/* Idle: 10 s without a use ends it; each use restarts the time. */
	CHECK_OK(cs_sessions_create(s, &bob, 0, id, csrf));
	CHECK_OK(cs_sessions_find(s, id, 9, &found));
	CHECK_OK(cs_sessions_find(s, id, 18, &found));
	CHECK_RC(cs_sessions_find(s, id, 28, &found), AS_E_EXPIRED);
	CHECK_RC(cs_sessions_find(s, id, 28, &found), AS_E_NOT_FOUND);
	/* Absolute: used every 5 s, it still ends 100 s after login. */
	CHECK_OK(cs_sessions_create(s, &bob, 1000, id, csrf));
	int64_t t = 1000;
	for (; t < 1099; t += 5)
		CHECK_OK(cs_sessions_find(s, id, t, &found));
	CHECK_RC(cs_sessions_find(s, id, 1100, &found), AS_E_EXPIRED);
	cs_sessions_free(s);
}

static void test_full(void)
{
	struct cs_sessions *s = NULL;
	struct cs_user u = user_of("carol", CL_ROLE_INVESTIGATOR);
	char id[CS_TOKEN_HEX + 1], csrf[CS_TOKEN_HEX + 1];

	if (!CHECK_OK(cs_sessions_new(&s, 3, 10, 100)))
		return;
	for (int i = 0; i < 3; i++)
		CHECK_OK(cs_sessions_create(s, &u, 0, id, csrf));
	CHECK_RC(cs_sessions_create(s, &u, 5, id, csrf), AS_E_FULL);
	CHECK_EQ_INT(cs_sessions_count(s, 5), 3);
	/* Once they expire, their slots are taken again. */
	CHECK_OK(cs_sessions_create(s, &u, 11, id, csrf));
	CHECK_EQ_INT(cs_sessions_count(s, 11), 1);
	cs_sessions_free(s);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	TEST_RUN(test_create_find_end);
	TEST_RUN(test_timeouts);
	TEST_RUN(test_full);
	return TEST_DONE();
}
