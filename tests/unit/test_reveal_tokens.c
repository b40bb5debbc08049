/*
 * test_reveal_tokens.c - the reveal service's derive_token_pids
 * (cloud/reveal/service.c) through the aggregator's client
 * (cl_reveal_derive_token_pids), the service answering in-process on its
 * socket (tests/reveal_test.h): real keys, real capsules.  A batch's
 * capsules give the holder's pid (as for a paper entry of that phone) and
 * the contact capsule they wrap; a capsule altered, moved to another token
 * id or expiry, or under another batch key gives none (and the others of
 * the batch still do); a batch key sealed to another contact key gives
 * none; malformed requests are refused as 'field' and the service answers
 * the next one.
 */
#include "test.h"
#include "reveal_test.h"

#include "capsulewire.h"
#include "revealclient.h"
#include "tokencapsule.h"

#include "anshim/bytes.h"
#include "anshim/error.h"

#include <jansson.h>
#include <sys/socket.h>
#include <sys/un.h>

static char dir[64], conf[128], sock[100];
static struct cl_authority auth;
static struct reveal_test rt;

static int setup(void)
{
	const char *failed = NULL;
	char keys[128];
	FILE *fp;

	test_tmpdir(dir);
	snprintf(keys, sizeof keys, "%s/keys", dir);
	snprintf(conf, sizeof conf, "%s/cloud.conf", dir);
	snprintf(sock, sizeof sock, "%s/reveal.sock", dir);
	if (mkdir(keys, 0700) || !CHECK_OK(cl_authority_create(keys, &failed)) ||
	    !CHECK_OK(cl_authority_load(&auth, keys, CL_KEY_CONTACT | CL_KEY_PSEUDONYM, &failed)))
		return 0;
	fp = fopen(conf, "w");
	if (!fp)
		return 0;
	fprintf(fp, "store_dir %s/store\nkeys_dir %s\naudit_log %s/audit.log\nmap_size 32M\n"
		"reveal_socket %s\n", dir, keys, dir, sock);
	fclose(fp);
	return CHECK(reveal_test_start(&rt, conf) == 0);
}

static void make_contact(uint8_t c[AS_CAPSULE_LEN], const char *phone)
{
	struct as_contact who;

	if (as_contact_set(&who, phone, "") || as_capsule_seal(c, &who, auth.contact_pk))
		abort();
}

/* A raw request to the service: the answer's "code" word, or "" (copied). */
static void raw(const char *req, char code[32])
{
	struct sockaddr_un sa;
	char buf[4096];
	ssize_t n, got = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	const char *p;
	json_t *answer;

	code[0] = '\0';
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		abort();
	shutdown(fd, SHUT_WR);
	while (got < (ssize_t)sizeof buf - 1 && (n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	answer = json_loads(buf, 0, NULL);
	p = json_string_value(json_object_get(answer, "code"));
	snprintf(code, 32, "%s", p ? p : (answer ? "" : "(no JSON answer)"));
	json_decref(answer);
}

static void test_derive(void)
{
	struct cl_feed_issue t[5];
	struct cl_tokcap_key k, other;
	uint8_t contact[AS_CAPSULE_LEN], pids[5][AS_PID_LEN], contacts[5][AS_CAPSULE_LEN];
	uint8_t want[AS_PID_LEN], zero[AS_CAPSULE_LEN] = {0};
	char err[512];

	make_contact(contact, "010-5555-0001");
	CHECK_OK(as_pid_from_phone(want, auth.pseudonym_key, "+82 10 5555 0001"));
	if (!CHECK_OK(cl_tokcap_key_make(&k, auth.contact_pk)) ||
	    !CHECK_OK(cl_tokcap_key_make(&other, auth.contact_pk)))
		return;
	for (int i = 0; i < 5; i++) {
		t[i].serial = 100 + (uint64_t)i;
		t[i].count = 64;
		t[i].expires_at = TEST_EXPIRES;
		CHECK_OK(cl_tokcap_seal(t[i].capsule, i == 3 ? &other : &k, t[i].serial,
					t[i].expires_at, t[i].count, contact));
	}
	t[1].capsule[100] ^= 1;         /* altered */
	t[2].expires_at += 86400;       /* another expiry than it was sealed for */
	t[4].count = 63;                /* another token count */
	if (!CHECK_OK(cl_reveal_derive_token_pids(sock, k.sealed, t, 5, pids, contacts, err,
						  sizeof err))) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK_MEM(pids[0], want, AS_PID_LEN);
	CHECK_MEM(contacts[0], contact, AS_CAPSULE_LEN);
	for (int i = 1; i < 5; i++) {
		test_ctx("issue %d", i);
		CHECK_MEM(pids[i], zero, AS_PID_LEN);
		CHECK_MEM(contacts[i], zero, AS_CAPSULE_LEN);
	}
	test_ctx_clear();
	/* A batch key sealed to another contact key opens nothing. */
	{
		uint8_t pk[AS_BOX_PK_LEN], sk[AS_BOX_SK_LEN];
		struct cl_tokcap_key foreign;

		crypto_box_keypair(pk, sk);
		if (CHECK_OK(cl_tokcap_key_make(&foreign, pk))) {
			memcpy(foreign.key, k.key, sizeof k.key);  /* same key, foreign seal */
			CHECK_OK(cl_reveal_derive_token_pids(sock, foreign.sealed, t, 1, pids, contacts,
							     err, sizeof err));
			CHECK_MEM(pids[0], zero, AS_PID_LEN);
		}
	}
	/* Too many for one request: refused by the client. */
	CHECK_RC(cl_reveal_derive_token_pids(sock, k.sealed, t, CL_FEED_MAX_ISSUES + 1, pids,
					     contacts, err, sizeof err), AS_E_FIELD);
	cl_tokcap_key_wipe(&k);
	cl_tokcap_key_wipe(&other);
}

static void test_bad_requests(void)
{
	static const char *bad[] = {
		"{\"op\": \"derive_token_pids\"}",
		"{\"op\": \"derive_token_pids\", \"sealed_key\": \"00\", \"issues\": []}",
		"{\"op\": \"derive_token_pids\", \"sealed_key\": 5, \"issues\": []}",
		"{\"op\": \"derive_token_pids\", \"sealed_key\": \"SEALED\", \"issues\": {}}",
		"{\"op\": \"derive_token_pids\", \"sealed_key\": \"SEALED\", \"issues\": [{}]}",
		"{\"op\": \"derive_token_pids\", \"sealed_key\": \"SEALED\", \"issues\": "
		"[{\"serial\": 1, \"expires\": 1, \"count\": 1, \"capsule\": \"00\"}]}",
		"{\"op\": \"derive_token_pids\", \"sealed_key\": \"SEALED\", \"issues\": "
		"[{\"serial\": 0, \"expires\": 1, \"count\": 1, \"capsule\": \"CAPSULE\"}]}",
		"{\"op\": \"derive_token_pids\", \"sealed_key\": \"SEALED\", \"issues\": "
		"[{\"serial\": 1, \"expires\": 1, \"count\": 65, \"capsule\": \"CAPSULE\"}]}",
		"{\"op\": \"derive_token_pids\", \"sealed_key\": \"SEALED\", \"issues\": [], "
		"\"extra\": 1}",
	};
	char sealed[2 * CL_TOKCAP_SEALED_KEY_LEN + 1], cap[2 * CL_TOKCAP_LEN + 1];
	char req[1024], tmp[1024], code[32];

	memset(sealed, 'a', sizeof sealed - 1);
	sealed[sizeof sealed - 1] = '\0';
	memset(cap, 'b', sizeof cap - 1);
	cap[sizeof cap - 1] = '\0';
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *at = strstr(bad[i], "SEALED"), *c;

		if (at)
			snprintf(tmp, sizeof tmp, "%.*s%s%s", (int)(at - bad[i]), bad[i], sealed,
				 at + 6);
		else
			snprintf(tmp, sizeof tmp, "%s", bad[i]);
		c = strstr(tmp, "CAPSULE");
		if (c)
			snprintf(req, sizeof req, "%.*s%s%s", (int)(c - tmp), tmp, cap, c + 7);
		else
			snprintf(req, sizeof req, "%s", tmp);
		raw(req, code);
		test_ctx("request %zu", i);
		CHECK_STR(code, "field");
	}
	test_ctx_clear();
	/* An empty batch is no error, and the service still answers. */
	snprintf(req, sizeof req, "{\"op\": \"derive_token_pids\", \"sealed_key\": \"%s\", "
		 "\"issues\": []}", sealed);
	raw(req, code);
	CHECK_STR(code, "");
}

int main(void)
{
	if (as_crypto_init() != 0)
		return 2;
	if (!setup())
		return test_done_(__FILE__);
	TEST_RUN(test_derive);
	TEST_RUN(test_bad_requests);
	reveal_test_stop(&rt);
	cl_authority_wipe(&auth);
	test_rmdir(dir);
	return test_done_(__FILE__);
}
