/*
 * test_bad_inputs.c - the checked-in bad-input corpus, tests/data/bad
 * (found through ANSHIM_TEST_DATA).  Every file there goes through the
 * decoder named by its file name prefix ("record-kind.bin" -> record) and
 * must give the error code listed for it in MANIFEST; a file missing from
 * MANIFEST, or a MANIFEST line without its file, is a failure.  The corpus
 * is made by gen_bad_inputs.c; README.md there describes each case.
 */
#include "test.h"

#include "anshim/ack.h"
#include "anshim/batch.h"
#include "anshim/fileio.h"
#include "anshim/heartbeat.h"
#include "anshim/token.h"

#include <dirent.h>

#define MAX_ENTRIES 256
#define MAX_FILE (8u << 20)

struct entry {
	char file[96];
	char decoder[32];
	char expected[48];
	int seen; /* found in the directory */
};

static struct test_keys keys;
static struct entry entries[MAX_ENTRIES];
static size_t n_entries;
static char dir[512];

/* ---- decoders, by file name prefix ---------------------------------- */

static int dec_credential(const uint8_t *in, size_t len)
{
	struct as_credential c;

	return as_credential_decode(&c, in, len);
}

static int dec_pass(const uint8_t *in, size_t len)
{
	struct as_pass p;

	return as_pass_decode(&p, in, len);
}

static int dec_card(const uint8_t *in, size_t len)
{
	struct as_credential c;

	return as_card_decode(&c, in, len);
}

static int dec_record(const uint8_t *in, size_t len)
{
	struct as_record r;

	return as_record_decode(&r, in, len);
}

static int dec_batch(const uint8_t *in, size_t len)
{
	static struct as_record recs[AS_BATCH_MAX_RECORDS];
	struct as_batch_header hdr;
	int rc = as_batch_decode(&hdr, recs, AS_BATCH_MAX_RECORDS, in, len);

	return rc ? rc : as_batch_verify(in, len, keys.device_pk);
}

static int dec_ack(const uint8_t *in, size_t len)
{
	struct as_ack ack;

	return as_ack_decode(&ack, in, len, keys.auth_pk);
}

static int dec_heartbeat(const uint8_t *in, size_t len)
{
	struct as_heartbeat hb;
	int rc = as_heartbeat_decode(&hb, in, len);

	return rc ? rc : as_heartbeat_verify(in, len, keys.device_pk);
}

static int dec_policy(const uint8_t *in, size_t len)
{
	struct as_policy p;
	int rc = as_policy_decode(&p, in, len, keys.auth_pk);

	as_policy_free(&p);
	return rc;
}

static int dec_scan(const uint8_t *in, size_t len)
{
	struct as_verify_params params = {keys.auth_pk, TEST_NOW, TEST_FRESHNESS};
	struct as_scan out;

	return as_scan_verify(&out, (const char *)in, len, &params);
}

static uint8_t issuer_pk[AS_SIGN_PK_LEN], issuer_sk[AS_SIGN_SK_LEN];

static int dec_token(const uint8_t *in, size_t len)
{
	struct as_token t;
	int rc = as_token_decode(&t, in, len);

	return rc ? rc : as_token_verify_issuer(&t, issuer_pk);
}

static int dec_pass2(const uint8_t *in, size_t len)
{
	struct as_pass2 p;

	return as_pass2_decode(&p, in, len);
}

static int dec_token_request(const uint8_t *in, size_t len)
{
	struct as_token_request r;
	int rc = as_token_request_decode(&r, in, len);

	return rc ? rc : as_token_request_verify(&r);
}

static int dec_token_batch(const uint8_t *in, size_t len)
{
	static struct as_token_batch b;

	return as_token_batch_decode(&b, in, len);
}

static int dec_scan2(const uint8_t *in, size_t len)
{
	uint8_t list[1][AS_SIGN_PK_LEN];
	struct as_policy policy;
	struct as_pass2_verify_params params = {&policy, TEST_NOW, TEST_FRESHNESS};
	struct as_pass2 out;

	memset(&policy, 0, sizeof policy);
	memcpy(list[0], issuer_pk, AS_SIGN_PK_LEN);
	policy.n_issuer_keys = 1;
	policy.issuer_keys = list;
	return as_pass2_verify_text(&out, (const char *)in, len, &params);
}

static const struct {
	const char *name;
	test_decoder fn;
} decoders[] = {
	{"credential", dec_credential}, {"pass", dec_pass}, {"card", dec_card},
	{"record", dec_record}, {"batch", dec_batch}, {"ack", dec_ack},
	{"heartbeat", dec_heartbeat},
	{"policy", dec_policy}, {"scan", dec_scan},
	{"token", dec_token}, {"pass2", dec_pass2}, {"tokenrequest", dec_token_request},
	{"tokenbatch", dec_token_batch}, {"scan2", dec_scan2},
};

static test_decoder decoder_named(const char *name)
{
	for (size_t i = 0; i < sizeof decoders / sizeof decoders[0]; i++)
		if (strcmp(decoders[i].name, name) == 0)
			return decoders[i].fn;
	return NULL;
}

/* "OK" or an AS_E_* name back to its code; 1 if unknown. */
static int code_named(const char *name)
{
	if (strcmp(name, "OK") == 0)
		return 0;
	for (int code = AS_ERR_BASE; code >= AS_E_LAST; code--)
		if (strcmp(as_errname(code), name) == 0)
			return code;
	return 1;
}

/* ---- manifest and directory ------------------------------------------ */

static struct entry *entry_for(const char *file)
{
	for (size_t i = 0; i < n_entries; i++)
		if (strcmp(entries[i].file, file) == 0)
			return &entries[i];
	return NULL;
}

static int load_manifest(void)
{
	char path[600], line[256];
	FILE *f;
	int lineno = 0, ok = 1;

	snprintf(path, sizeof path, "%s/MANIFEST", dir);
	f = fopen(path, "r");
	if (!CHECK(f != NULL))
		return 0;
	while (lineno < 10000 && fgets(line, sizeof line, f)) {
		struct entry *e = &entries[n_entries];
		char extra[2];

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		test_ctx("MANIFEST line %d", lineno);
		if (!CHECK(n_entries < MAX_ENTRIES) ||
		    !CHECK_EQ_INT(sscanf(line, "%95s %31s %47s %1s", e->file, e->decoder,
					 e->expected, extra), 3)) {
			ok = 0;
			continue;
		}
		if (!CHECK(entry_for(e->file) == NULL)) { /* no duplicates */
			ok = 0;
			continue;
		}
		n_entries++;
	}
	test_ctx_clear();
	fclose(f);
	return ok;
}

/* Run one corpus file through its decoder. */
static void check_file(struct entry *e)
{
	char path[700], prefix[32];
	unsigned char *data;
	size_t len, plen = strcspn(e->file, "-.");
	test_decoder dec;
	int want;

	test_ctx("%s", e->file);
	snprintf(prefix, sizeof prefix, "%.*s", (int)plen, e->file);
	CHECK_STR(e->decoder, prefix); /* the manifest agrees with the name */
	dec = decoder_named(prefix);
	want = code_named(e->expected);
	if (!CHECK(dec != NULL) || !CHECK(want <= 0))
		goto out;
	snprintf(path, sizeof path, "%s/%s", dir, e->file);
	if (!CHECK_OK(as_file_read_all(path, MAX_FILE, &data, &len)))
		goto out;
	CHECK_RC(test_decode_copy(dec, data, len), want);
	free(data);
out:
	test_ctx_clear();
}

static void test_corpus(void)
{
	DIR *d;
	struct dirent *de;
	int files = 0;

	if (!load_manifest())
		return;
	d = opendir(dir);
	if (!CHECK(d != NULL))
		return;
	for (int i = 0; i < 10000 && (de = readdir(d)) != NULL; i++) {
		struct entry *e;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "MANIFEST") == 0 ||
		    strcmp(de->d_name, "README.md") == 0)
			continue;
		e = entry_for(de->d_name);
		test_ctx("file %s", de->d_name);
		if (!CHECK(e != NULL)) /* every file is in the manifest */
			continue;
		e->seen = 1;
		files++;
		check_file(e);
	}
	closedir(d);
	test_ctx_clear();
	for (size_t i = 0; i < n_entries; i++) {
		test_ctx("MANIFEST entry %s", entries[i].file);
		CHECK(entries[i].seen); /* every manifest entry has its file */
	}
	test_ctx_clear();
	CHECK(files >= 50);
	printf("%d corpus files checked\n", files);
}

int main(void)
{
	const char *data = getenv("ANSHIM_TEST_DATA");

	if (!data) {
		fprintf(stderr, "ANSHIM_TEST_DATA is not set (run through ctest)\n");
		return 1;
	}
	snprintf(dir, sizeof dir, "%s/bad", data);
	test_keys_init(&keys);
	test_sign_keypair(issuer_pk, issuer_sk, 50);
	TEST_RUN(test_corpus);
	return TEST_DONE();
}
