/*
 * test_policy_store.c - the gateway's verified, persisted policy
 * (gateway/policy_store.c): a missing file means no policy (not
 * collecting); a valid file loads; a file signed by another authority, a
 * corrupt, truncated, oversized file or a directory is an error naming the
 * path, and the store stays usable (the daemon keeps running and a later
 * valid offer replaces the bad file); offers of an older or equal seq are
 * ignored (0) without touching the file; a newer one is applied and saved
 * atomically (file bytes equal the offer, mode 0600, no temp files left);
 * an offer that cannot be saved is not applied; collecting thresholds over
 * every level; revoked credentials found by as_credential_id.
 */
#include "test.h"

#include "policy_store.h"
#include "anshim/fileio.h"

#include <errno.h>
#include <sys/stat.h>

static struct test_keys keys;

/* ---- helpers ----------------------------------------------------------- */

/* Encode a policy with seq, level and (optionally) revoked credential ids,
 * signed by sk, into a malloc'd buffer. */
static uint8_t *policy_bytes(uint64_t seq, uint8_t level, const uint8_t (*revoked)[16],
			     uint32_t n_revoked, const uint8_t *sk, size_t *len)
{
	static uint8_t holders[8][16];
	struct as_policy p;
	uint8_t *out;
	int n;

	test_policy_make(&keys, &p, NULL, 0, NULL, 0);
	p.policy_seq = seq;
	p.alert_level = level;
	if (n_revoked) {
		memcpy(holders, revoked, n_revoked * sizeof holders[0]);
		p.revoked_holders = holders;
		p.n_revoked_holders = n_revoked;
	}
	out = malloc(as_policy_size(&p));
	if (!out)
		abort();
	n = as_policy_encode(out, as_policy_size(&p), &p, sk);
	if (n < 0) {
		fprintf(stderr, "as_policy_encode: %s\n", as_strerror(n));
		abort();
	}
	*len = (size_t)n;
	return out;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

/* The file at path holds exactly data[0..len). */
static int file_is(const char *path, const uint8_t *data, size_t len)
{
	uint8_t buf[4096];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return n == len && memcmp(buf, data, len) == 0;
}

static int file_mode(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* ---- tests ------------------------------------------------------------- */

static void test_missing_file(void)
{
	struct gw_policy_store s;
	char dir[64], path[128], err[512] = "";
	uint8_t id[AS_HOLDER_ID_LEN];

	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/policy", dir);
	if (!CHECK_OK(gw_policy_store_init(&s, keys.auth_pk, path, err, sizeof err)))
		goto out;
	CHECK_EQ_INT(s.have_policy, 0);
	CHECK_STR(s.path, path);
	for (int level = 0; level <= 5; level++)
		CHECK_EQ_INT(gw_policy_store_collecting(&s, level), 0);
	CHECK_EQ_INT(gw_policy_store_level(&s), 0);
	CHECK(gw_policy_store_contact_key(&s) == NULL);
	test_fill(id, sizeof id, 40);
	CHECK_EQ_INT(gw_policy_store_credential_revoked(&s, id), 0);
	CHECK_EQ_INT(test_dir_count(dir), 0); /* nothing created by init */
	gw_policy_store_free(&s);
	CHECK(s.path == NULL);
	gw_policy_store_free(&s); /* twice is harmless */
out:
	test_rmdir(dir);
}

static void test_valid_file_loads(void)
{
	struct gw_policy_store s;
	char dir[64], path[128], err[512] = "";
	size_t len;
	uint8_t *bytes = policy_bytes(7, 3, NULL, 0, keys.auth_sk, &len);

	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/policy", dir);
	write_file(path, bytes, len);
	if (CHECK_OK(gw_policy_store_init(&s, keys.auth_pk, path, err, sizeof err))) {
		CHECK_EQ_INT(s.have_policy, 1);
		CHECK_EQ_INT(s.policy.policy_seq, 7);
		CHECK_EQ_INT(gw_policy_store_level(&s), 3);
		if (CHECK(gw_policy_store_contact_key(&s) != NULL))
			CHECK_MEM(gw_policy_store_contact_key(&s), keys.contact_pk, AS_BOX_PK_LEN);
		CHECK_EQ_INT(gw_policy_store_collecting(&s, 3), 1);
		CHECK_EQ_INT(gw_policy_store_collecting(&s, 4), 0);
		CHECK(file_is(path, bytes, len)); /* loading does not rewrite it */
		gw_policy_store_free(&s);
	} else {
		fprintf(stderr, "  %s\n", err);
	}
	free(bytes);
	test_rmdir(dir);
}

/* A file that fails verification: an error naming the path, no policy,
 * and the store still accepts a valid offer, which replaces the file. */
static void bad_file_case(const char *what, const uint8_t *data, size_t len, int want)
{
	struct gw_policy_store s;
	char dir[64], path[128], err[512] = "";
	size_t good_len;
	uint8_t *good = policy_bytes(2, 3, NULL, 0, keys.auth_sk, &good_len);
	int rc;

	test_ctx("%s", what);
	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/policy", dir);
	write_file(path, data, len);
	rc = gw_policy_store_init(&s, keys.auth_pk, path, err, sizeof err);
	if (want)
		CHECK_RC(rc, want);
	else
		CHECK_ERR(rc);
	CHECK(strstr(err, path) != NULL);
	CHECK_EQ_INT(s.have_policy, 0);
	CHECK_EQ_INT(gw_policy_store_collecting(&s, 1), 0);
	CHECK(gw_policy_store_contact_key(&s) == NULL);
	CHECK(s.policy.revoked_holders == NULL && s.policy.revoked_gateways == NULL);
	/* a valid policy offered later is applied and replaces the bad file */
	CHECK_RC(gw_policy_store_offer(&s, good, good_len), 1);
	CHECK(file_is(path, good, good_len));
	CHECK_EQ_INT(gw_policy_store_collecting(&s, 3), 1);
	gw_policy_store_free(&s);
	free(good);
	test_rmdir(dir);
	test_ctx_clear();
}

static void test_bad_files(void)
{
	size_t len;
	uint8_t *foreign = policy_bytes(9, 4, NULL, 0, keys.other_sk, &len);
	uint8_t *good = policy_bytes(9, 4, NULL, 0, keys.auth_sk, &len);
	uint8_t *big;

	bad_file_case("signed by another authority", foreign, len, AS_E_SIGNATURE);
	good[10] ^= 0x01; /* inside policy_seq: signature no longer matches */
	bad_file_case("one bit flipped", good, len, AS_E_SIGNATURE);
	good[10] ^= 0x01;
	bad_file_case("truncated", good, len - 1, 0);
	bad_file_case("empty", good, 0, 0);
	big = calloc(1, AS_POLICY_MAX_BYTES + 1);
	if (!big)
		abort();
	memcpy(big, good, len);
	bad_file_case("oversized", big, AS_POLICY_MAX_BYTES + 1, AS_E_OVERSIZE);
	free(big);
	free(foreign);
	free(good);
}

static void test_directory_at_path(void)
{
	struct gw_policy_store s;
	char dir[64], path[128], err[512] = "";

	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/policy", dir);
	if (!CHECK(mkdir(path, 0700) == 0))
		goto out;
	CHECK_ERR(gw_policy_store_init(&s, keys.auth_pk, path, err, sizeof err));
	CHECK(strstr(err, path) != NULL);
	CHECK_EQ_INT(s.have_policy, 0);
	gw_policy_store_free(&s);
	rmdir(path);
out:
	test_rmdir(dir);
}

static void test_offers(void)
{
	struct gw_policy_store s, again;
	char dir[64], path[128], err[512] = "";
	size_t l7, l5, l7b, l8, l9, lbad;
	uint8_t *p7 = policy_bytes(7, 3, NULL, 0, keys.auth_sk, &l7);
	uint8_t *p5 = policy_bytes(5, 4, NULL, 0, keys.auth_sk, &l5);
	uint8_t *p7b = policy_bytes(7, 1, NULL, 0, keys.auth_sk, &l7b); /* same seq, other level */
	uint8_t *p8 = policy_bytes(8, 4, NULL, 0, keys.auth_sk, &l8);
	uint8_t *p9 = policy_bytes(9, 1, NULL, 0, keys.auth_sk, &l9);
	uint8_t *bad = policy_bytes(100, 4, NULL, 0, keys.other_sk, &lbad);

	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/policy", dir);
	write_file(path, p7, l7);
	if (!CHECK_OK(gw_policy_store_init(&s, keys.auth_pk, path, err, sizeof err)))
		goto out;
	/* older and equal seqs are ignored; nothing changes, on disk either */
	CHECK_RC(gw_policy_store_offer(&s, p5, l5), 0);
	CHECK_RC(gw_policy_store_offer(&s, p7b, l7b), 0);
	CHECK_RC(gw_policy_store_offer(&s, p7, l7), 0);
	CHECK_EQ_INT(s.policy.policy_seq, 7);
	CHECK_EQ_INT(gw_policy_store_level(&s), 3);
	CHECK(file_is(path, p7, l7));
	/* badly signed or malformed: an error, nothing changes */
	CHECK_RC(gw_policy_store_offer(&s, bad, lbad), AS_E_SIGNATURE);
	CHECK_ERR(gw_policy_store_offer(&s, p8, l8 - 1));
	CHECK_ERR(gw_policy_store_offer(&s, p8, 0));
	CHECK_EQ_INT(s.policy.policy_seq, 7);
	CHECK(file_is(path, p7, l7));
	/* newer: applied, saved atomically with mode 0600 */
	chmod(path, 0644);
	CHECK_RC(gw_policy_store_offer(&s, p8, l8), 1);
	CHECK_EQ_INT(s.policy.policy_seq, 8);
	CHECK_EQ_INT(gw_policy_store_level(&s), 4);
	CHECK(file_is(path, p8, l8));
	CHECK_EQ_INT(file_mode(path), 0600);
	CHECK_EQ_INT(test_dir_count(dir), 1); /* no temporary file left behind */
	/* the older one replayed after the newer: still ignored */
	CHECK_RC(gw_policy_store_offer(&s, p7, l7), 0);
	CHECK(file_is(path, p8, l8));
	/* a lower level with a higher seq is applied too: seq decides */
	CHECK_RC(gw_policy_store_offer(&s, p9, l9), 1);
	CHECK_EQ_INT(gw_policy_store_level(&s), 1);
	CHECK(file_is(path, p9, l9));
	/* it survives a restart */
	if (CHECK_OK(gw_policy_store_init(&again, keys.auth_pk, path, err, sizeof err))) {
		CHECK_EQ_INT(again.policy.policy_seq, 9);
		CHECK_EQ_INT(gw_policy_store_level(&again), 1);
		CHECK_RC(gw_policy_store_offer(&again, p8, l8), 0);
		gw_policy_store_free(&again);
	}
	gw_policy_store_free(&s);
out:
	free(p7);
	free(p5);
	free(p7b);
	free(p8);
	free(p9);
	free(bad);
	test_rmdir(dir);
}

/* Without a policy, any validly signed one is applied (and the file made);
 * an offer that cannot be saved is not applied. */
static void test_offer_first_and_unsaveable(void)
{
	struct gw_policy_store s;
	char dir[64], path[160], err[512] = "";
	size_t l1, l2;
	uint8_t *p1 = policy_bytes(1, 3, NULL, 0, keys.auth_sk, &l1);
	uint8_t *p2 = policy_bytes(2, 4, NULL, 0, keys.auth_sk, &l2);

	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/policy", dir);
	if (CHECK_OK(gw_policy_store_init(&s, keys.auth_pk, path, err, sizeof err))) {
		CHECK_RC(gw_policy_store_offer(&s, p1, l1), 1);
		CHECK(file_is(path, p1, l1));
		CHECK_EQ_INT(file_mode(path), 0600);
		CHECK_EQ_INT(gw_policy_store_collecting(&s, 3), 1);
		gw_policy_store_free(&s);
	}
	/* the state directory is gone: the save fails, the offer is refused */
	snprintf(path, sizeof path, "%s/missing-dir/policy", dir);
	if (CHECK_OK(gw_policy_store_init(&s, keys.auth_pk, path, err, sizeof err))) {
		CHECK_RC(gw_policy_store_offer(&s, p1, l1), -ENOENT);
		CHECK_EQ_INT(s.have_policy, 0);
		CHECK_EQ_INT(gw_policy_store_collecting(&s, 1), 0);
		gw_policy_store_free(&s);
	}
	snprintf(path, sizeof path, "%s/policy", dir);
	if (CHECK_OK(gw_policy_store_init(&s, keys.auth_pk, path, err, sizeof err))) {
		free(s.path); /* now pointing somewhere unwritable */
		s.path = strdup("/proc/anshim-no-such-dir/policy");
		if (!s.path)
			abort();
		CHECK_ERR(gw_policy_store_offer(&s, p2, l2));
		CHECK_EQ_INT(s.policy.policy_seq, 1); /* the old policy stays */
		CHECK_EQ_INT(gw_policy_store_level(&s), 3);
		gw_policy_store_free(&s);
	}
	CHECK(file_is(path, p1, l1));
	free(p1);
	free(p2);
	test_rmdir(dir);
}

static void test_collecting_thresholds(void)
{
	struct gw_policy_store s;
	char dir[64], path[128], err[512] = "";
	size_t len;

	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/policy", dir);
	if (!CHECK_OK(gw_policy_store_init(&s, keys.auth_pk, path, err, sizeof err)))
		goto out;
	for (uint8_t level = 1; level <= 4; level++) {
		uint8_t *p = policy_bytes(level, level, NULL, 0, keys.auth_sk, &len);

		CHECK_RC(gw_policy_store_offer(&s, p, len), 1);
		free(p);
		CHECK_EQ_INT(gw_policy_store_level(&s), level);
		for (int min = 0; min <= 5; min++) {
			test_ctx("level %u, min_level %d", level, min);
			CHECK_EQ_INT(gw_policy_store_collecting(&s, min), level >= min);
		}
	}
	test_ctx_clear();
	gw_policy_store_free(&s);
out:
	test_rmdir(dir);
}

static void test_revoked_credentials(void)
{
	struct gw_policy_store s;
	struct as_credential phone, card;
	char dir[64], path[128], err[512] = "";
	uint8_t ids[3][16], phone_id[16], card_id[16];
	size_t len;
	uint8_t *p;

	test_credential_make(&keys, &phone, 0);
	test_credential_make(&keys, &card, 1);
	as_credential_id(phone_id, &phone);
	as_credential_id(card_id, &card);
	CHECK(memcmp(phone_id, card_id, 16) != 0);
	test_fill(ids[0], 16, 70);
	memcpy(ids[1], phone_id, 16);
	test_fill(ids[2], 16, 71);

	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/policy", dir);
	if (!CHECK_OK(gw_policy_store_init(&s, keys.auth_pk, path, err, sizeof err)))
		goto out;
	CHECK_EQ_INT(gw_policy_store_credential_revoked(&s, phone_id), 0); /* no policy */
	p = policy_bytes(10, 3, (const uint8_t (*)[16])ids, 3, keys.auth_sk, &len);
	CHECK_RC(gw_policy_store_offer(&s, p, len), 1);
	free(p);
	CHECK_EQ_INT(gw_policy_store_credential_revoked(&s, phone_id), 1);
	CHECK_EQ_INT(gw_policy_store_credential_revoked(&s, card_id), 0);
	CHECK_EQ_INT(gw_policy_store_credential_revoked(&s, ids[0]), 1);
	CHECK_EQ_INT(gw_policy_store_credential_revoked(&s, ids[2]), 1);
	/* the pid is not the credential id: revocation is per credential */
	CHECK_EQ_INT(gw_policy_store_credential_revoked(&s, phone.pid), 0);
	/* a newer policy without the entry lifts the revocation */
	p = policy_bytes(11, 3, (const uint8_t (*)[16])ids, 1, keys.auth_sk, &len);
	CHECK_RC(gw_policy_store_offer(&s, p, len), 1);
	free(p);
	CHECK_EQ_INT(gw_policy_store_credential_revoked(&s, phone_id), 0);
	CHECK_EQ_INT(gw_policy_store_credential_revoked(&s, ids[0]), 1);
	gw_policy_store_free(&s);
out:
	test_rmdir(dir);
}

/* A long revocation list in no order (visit tokens make it long): every
 * id is found, a near miss is not, after an offer and after a restart
 * from the saved file. */
static void test_many_revoked(void)
{
	enum { N = 5000 };
	struct gw_policy_store s;
	struct as_policy pol;
	char dir[64], path[128], err[512] = "";
	uint8_t (*ids)[16] = malloc(N * 16), *buf = NULL;
	int n, missing = 0, false_hits = 0;

	if (!CHECK(ids != NULL))
		return;
	for (uint32_t i = 0; i < N; i++)
		crypto_generichash(ids[i], 16, (const uint8_t *)&i, sizeof i, NULL, 0);
	test_policy_make(&keys, &pol, NULL, 0, NULL, 0);
	pol.policy_seq = 20;
	pol.n_revoked_holders = N;
	pol.revoked_holders = ids;
	buf = malloc(as_policy_size(&pol));
	if (!CHECK(buf != NULL))
		goto out_free;
	n = as_policy_encode(buf, as_policy_size(&pol), &pol, keys.auth_sk);
	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/policy", dir);
	for (int round = 0; round < 2; round++) {
		if (!CHECK_OK(gw_policy_store_init(&s, keys.auth_pk, path, err, sizeof err)))
			break;
		if (round == 0)
			CHECK_RC(gw_policy_store_offer(&s, buf, (size_t)n), 1);
		for (uint32_t i = 0; i < N; i++) {
			uint8_t near[16];

			missing += !gw_policy_store_credential_revoked(&s, ids[i]);
			memcpy(near, ids[i], 16);
			near[15] ^= 1;
			false_hits += gw_policy_store_credential_revoked(&s, near);
		}
		gw_policy_store_free(&s);
	}
	CHECK_EQ_INT(missing, 0);
	CHECK_EQ_INT(false_hits, 0);
	/* The saved file is the signed policy as it came, not the sorted copy. */
	CHECK(file_mode(path) == 0600);
	{
		unsigned char *saved;
		size_t len;

		if (CHECK_OK(as_file_read_all(path, (size_t)n + 1, &saved, &len))) {
			CHECK(len == (size_t)n && memcmp(saved, buf, len) == 0);
			free(saved);
		}
	}
	test_rmdir(dir);
out_free:
	free(buf);
	free(ids);
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_missing_file);
	TEST_RUN(test_many_revoked);
	TEST_RUN(test_valid_file_loads);
	TEST_RUN(test_bad_files);
	TEST_RUN(test_directory_at_path);
	TEST_RUN(test_offers);
	TEST_RUN(test_offer_first_and_unsaveable);
	TEST_RUN(test_collecting_thresholds);
	TEST_RUN(test_revoked_credentials);
	return TEST_DONE();
}
