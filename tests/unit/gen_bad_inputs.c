/*
 * gen_bad_inputs.c - generator of the checked-in bad-input corpus in
 * tests/data/bad (read back by test_bad_inputs.c).
 *
 *     gen_bad_inputs DIR           write every case, MANIFEST and README.md
 *     gen_bad_inputs --check DIR   exit 1 if any of them differs in DIR
 *
 * Each case is one valid message (built from the fixed-seed fixtures in
 * tests/test.h, so the bytes are the same on every run) with exactly one
 * thing wrong, plus one valid control per format, so a case that failed for
 * another reason than the intended one would show up as a different code.
 * The ctest entry unit_bad_inputs_fresh runs --check, which keeps the corpus
 * in step with the formats: after a deliberate format change, regenerate
 * with `gen_bad_inputs tests/data/bad` and commit the result.
 */
#include "test.h"

#include "anshim/ack.h"
#include "anshim/base45.h"
#include "anshim/batch.h"
#include "anshim/fileio.h"
#include "anshim/heartbeat.h"
#include "anshim/token.h"

#define MAX_CASES 200

struct bad_case {
	char name[64];
	const char *decoder;
	int expected;
	const char *what;
	uint8_t *data;
	size_t len;
};

static struct bad_case cases[MAX_CASES];
static size_t n_cases;
static struct test_keys keys;

/* Record one case; data is copied. */
static void emit(const char *name, const char *decoder, int expected, const char *what,
		 const void *data, size_t len)
{
	struct bad_case *c;

	if (n_cases == MAX_CASES) {
		fprintf(stderr, "gen_bad_inputs: too many cases\n");
		exit(2);
	}
	c = &cases[n_cases++];
	snprintf(c->name, sizeof c->name, "%s", name);
	c->decoder = decoder;
	c->expected = expected;
	c->what = what;
	c->len = len;
	c->data = malloc(len ? len : 1);
	if (!c->data)
		abort();
	if (len)
		memcpy(c->data, data, len);
}

/* msg padded with zero bytes (or cut) to len bytes. */
static void emit_resized(const char *name, const char *decoder, int expected,
			 const char *what, const uint8_t *msg, size_t msg_len, size_t len)
{
	uint8_t *buf = calloc(1, len ? len : 1);

	if (!buf)
		abort();
	memcpy(buf, msg, msg_len < len ? msg_len : len);
	emit(name, decoder, expected, what, buf, len);
	free(buf);
}

/* msg with a little-endian field of width bytes at off set to v; with
 * resign, the trailing Ed25519 signature is made again with sk. */
static void emit_patched(const char *name, const char *decoder, int expected,
			 const char *what, const uint8_t *msg, size_t len, size_t off,
			 size_t width, uint64_t v, const uint8_t *resign_sk)
{
	uint8_t *buf = malloc(len);

	if (!buf)
		abort();
	memcpy(buf, msg, len);
	test_put_le(buf, off, width, v);
	if (resign_sk)
		crypto_sign_detached(buf + len - AS_SIG_LEN, NULL, buf, len - AS_SIG_LEN,
				     resign_sk);
	emit(name, decoder, expected, what, buf, len);
	free(buf);
}

/* "AP2:" + Base45(bin) as a scan2 case. */
static void emit_text2(const char *name, int expected, const char *what, const uint8_t *bin,
		       size_t len)
{
	char text[AS_SCAN_TEXT_MAX];

	memcpy(text, "AP2:", 4);
	if (as_base45_encode(text + 4, sizeof text - 4, bin, len) < 0)
		abort();
	emit(name, "scan2", expected, what, text, strlen(text));
}

/* The framing cases every binary format has.  magic/version at 0 and 1. */
static void emit_framing(const char *fmt, const uint8_t *msg, size_t len, size_t oversize)
{
	char name[64];

	snprintf(name, sizeof name, "%s-valid.bin", fmt);
	emit(name, fmt, 0, "control: a valid message, must decode", msg, len);
	snprintf(name, sizeof name, "%s-empty.bin", fmt);
	emit(name, fmt, AS_E_TRUNCATED, "empty file", msg, 0);
	snprintf(name, sizeof name, "%s-truncated.bin", fmt);
	emit_resized(name, fmt, AS_E_TRUNCATED, "last byte missing", msg, len, len - 1);
	snprintf(name, sizeof name, "%s-trailing.bin", fmt);
	emit_resized(name, fmt, AS_E_TRAILING, "one zero byte after the message", msg, len,
		     len + 1);
	snprintf(name, sizeof name, "%s-version.bin", fmt);
	/* The version after the newest (1, or 2 for a batch). */
	emit_patched(name, fmt, AS_E_VERSION,
		     msg[1] == 1 ? "version byte 2 (only 1 exists)"
				 : "version byte 3 (only 1 and 2 exist)",
		     msg, len, 1, 1, (uint64_t)msg[1] + 1, NULL);
	snprintf(name, sizeof name, "%s-magic.bin", fmt);
	emit_patched(name, fmt, AS_E_MAGIC, "magic byte 'X'", msg, len, 0, 1, 'X', NULL);
	snprintf(name, sizeof name, "%s-oversize.bin", fmt);
	emit_resized(name, fmt, AS_E_OVERSIZE,
		     "zero-padded to the smallest length rejected as oversized",
		     msg, len, oversize);
}

static void gen_credentials(void)
{
	struct as_credential c, card;
	struct as_pass p;
	uint8_t cred[AS_CREDENTIAL_LEN], pass[AS_PASS_LEN], card_bin[AS_CARD_LEN];

	test_credential_make(&keys, &c, 0);
	test_credential_make(&keys, &card, 1);
	test_pass_make(&keys, &p, TEST_NOW);
	as_credential_encode(cred, sizeof cred, &c);
	as_pass_encode(pass, sizeof pass, &p);
	as_card_encode(card_bin, sizeof card_bin, &card);

	emit_framing("credential", cred, sizeof cred, 2 * AS_CREDENTIAL_LEN + 1);
	emit_patched("credential-capsule-len.bin", "credential", AS_E_LENGTH,
		     "capsule_len 130 instead of 131", cred, sizeof cred, 67, 2, 130, NULL);
	emit_patched("credential-flags.bin", "credential", AS_E_FIELD,
		     "unknown flag bit 0x80", cred, sizeof cred, 2, 1, 0x80, NULL);
	emit_patched("credential-expiry.bin", "credential", AS_E_FIELD,
		     "expires_at equal to issued_at", cred, sizeof cred, 59, 8,
		     (uint64_t)TEST_ISSUED, NULL);

	emit_framing("pass", pass, sizeof pass, 2 * AS_PASS_LEN + 1);
	emit_patched("pass-inner-magic.bin", "pass", AS_E_MAGIC,
		     "the credential inside has magic 'X'", pass, sizeof pass, 2, 1, 'X', NULL);
	emit_patched("pass-inner-version.bin", "pass", AS_E_VERSION,
		     "the credential inside has version 2", pass, sizeof pass, 3, 1, 2, NULL);
	emit_patched("pass-capsule-len.bin", "pass", AS_E_LENGTH,
		     "capsule_len 0xffff in the credential", pass, sizeof pass, 2 + 67, 2,
		     0xffff, NULL);

	emit_framing("card", card_bin, sizeof card_bin, 2 * AS_CARD_LEN + 1);
	emit_patched("card-capsule-len.bin", "card", AS_E_LENGTH,
		     "capsule_len 132 in the credential", card_bin, sizeof card_bin, 2 + 67, 2,
		     132, NULL);
	emit("card-is-pass.bin", "card", AS_E_TRAILING,
	     "a pass given to the card decoder (its length is checked before the magic)",
	     pass, sizeof pass);
}

static void gen_records(void)
{
	struct as_record r;
	uint8_t rec[AS_RECORD_LEN];

	test_record_make(&r, 42);
	as_record_encode(rec, sizeof rec, &r);
	emit_framing("record", rec, sizeof rec, 2 * AS_RECORD_LEN + 1);
	emit_patched("record-capsule-len.bin", "record", AS_E_LENGTH,
		     "capsule_len 0 instead of 131", rec, sizeof rec, 82, 2, 0, NULL);
	emit_patched("record-kind.bin", "record", AS_E_FIELD, "kind 0 (known: 1..3)", rec,
		     sizeof rec, 2, 1, 0, NULL);
	emit_patched("record-flags.bin", "record", AS_E_FIELD, "unknown flag bit 0x04", rec,
		     sizeof rec, 3, 1, 4, NULL);
	emit_patched("record-seq-zero.bin", "record", AS_E_FIELD, "seq 0 (seqs start at 1)",
		     rec, sizeof rec, 4, 8, 0, NULL);
	emit_patched("record-headcount.bin", "record", AS_E_FIELD,
		     "headcount 1000 (at most 999)", rec, sizeof rec, 68, 2, 1000, NULL);
	emit_patched("record-exit-before-entry.bin", "record", AS_E_FIELD,
		     "exit_time a second before entry_time", rec, sizeof rec, 20, 8,
		     (uint64_t)(TEST_NOW + 42 * 60 - 1), NULL);
}

static void gen_batches(void)
{
	struct as_batch_header hdr = {0};
	struct as_record recs[2];
	size_t len = as_batch_size(2);
	size_t rec2 = AS_BATCH_HEADER_LEN + AS_BATCH_ENTRY_LEN + 2; /* second record */
	uint8_t *batch = malloc(len);

	if (!batch)
		abort();
	as_gateway_id(hdr.gw_id, keys.device_pk);
	hdr.batch_seq = 3;
	hdr.first_seq = 41;
	hdr.created = TEST_NOW;
	test_record_make(&recs[0], 41);
	test_record_make(&recs[1], 42);
	if (as_batch_encode(batch, len, &hdr, recs, 2, keys.device_sk) != (int)len)
		abort();
	emit_framing("batch", batch, len, AS_BATCH_MAX_BYTES + 1);
	emit_resized("batch-header-only.bin", "batch", AS_E_TRUNCATED,
		     "only the 134-byte header", batch, len, AS_BATCH_HEADER_LEN);
	emit_patched("batch-count.bin", "batch", AS_E_LENGTH,
		     "count 3 while first_seq..last_seq spans 2", batch, len, 42, 4, 3,
		     keys.device_sk);
	emit_patched("batch-count-zero.bin", "batch", AS_E_LENGTH, "count 0", batch, len, 42,
		     4, 0, keys.device_sk);
	emit_patched("batch-last-before-first.bin", "batch", AS_E_LENGTH,
		     "last_seq 40 before first_seq 41", batch, len, 34, 8, 40, keys.device_sk);
	emit_patched("batch-rec-len.bin", "batch", AS_E_LENGTH,
		     "first record's rec_len 214 instead of 215", batch, len,
		     AS_BATCH_HEADER_LEN, 2, 214, keys.device_sk);
	emit_patched("batch-seq-gap.bin", "batch", AS_E_FIELD,
		     "second record has seq 43 where 42 is due", batch, len, rec2 + 4, 8, 43,
		     keys.device_sk);
	emit_patched("batch-bad-record.bin", "batch", AS_E_FIELD,
		     "second record has headcount 0", batch, len, rec2 + 68, 2, 0,
		     keys.device_sk);
	emit_patched("batch-signature.bin", "batch", AS_E_SIGNATURE,
		     "well framed, but created time changed after signing", batch, len, 46, 8,
		     (uint64_t)(TEST_NOW + 1), NULL);
	emit_patched("batch-wrong-key.bin", "batch", AS_E_SIGNATURE,
		     "signed by a key other than the gateway's device key", batch, len, 46, 8,
		     (uint64_t)TEST_NOW, keys.other_sk);
	free(batch);
}

static void gen_acks(void)
{
	struct as_ack ack;
	uint8_t bin[AS_ACK_LEN], v1[AS_ACK_V1_LEN], buf[AS_ACK_LEN];

	memset(&ack, 0, sizeof ack);
	as_gateway_id(ack.gw_id, keys.device_pk);
	ack.through_seq = 41;
	ack.cloud_time_ms = TEST_NOW * 1000;
	memset(ack.journal_id, 0x1A, sizeof ack.journal_id);
	ack.chain_seq = 41;
	memset(ack.chain_link, 0x2B, sizeof ack.chain_link);
	as_ack_encode(bin, sizeof bin, &ack, keys.auth_sk);
	emit_framing("ack", bin, sizeof bin, 2 * AS_ACK_LEN + 1);
	emit_patched("ack-signature.bin", "ack", AS_E_SIGNATURE,
		     "through_seq raised to 1000 after signing", bin, sizeof bin, 18, 8, 1000,
		     NULL);
	emit_patched("ack-chain-signature.bin", "ack", AS_E_SIGNATURE,
		     "chain_seq raised to 1000 after signing", bin, sizeof bin, 50, 8, 1000,
		     NULL);
	emit_patched("ack-wrong-key.bin", "ack", AS_E_SIGNATURE,
		     "signed by a key other than the authority's", bin, sizeof bin, 18, 8, 41,
		     keys.other_sk);
	emit_resized("ack-v2-short.bin", "ack", AS_E_TRUNCATED,
		     "version 2 cut to version 1's length (98 bytes)", bin, sizeof bin,
		     AS_ACK_V1_LEN);
	/* Version 1, still decoded. */
	test_ack_v1_make(v1, ack.gw_id, 41, TEST_NOW * 1000, keys.auth_sk);
	emit("ack-v1-valid.bin", "ack", 0, "control: a valid version 1 ack, must decode", v1,
	     sizeof v1);
	emit_patched("ack-v1-signature.bin", "ack", AS_E_SIGNATURE,
		     "version 1, through_seq raised to 1000 after signing", v1, sizeof v1, 18, 8,
		     1000, NULL);
	emit_resized("ack-v1-long.bin", "ack", AS_E_TRAILING,
		     "version 1 zero-padded to version 2's length (154 bytes)", v1, sizeof v1,
		     AS_ACK_LEN);
	memcpy(buf, v1, sizeof v1);
	emit_resized("ack-v1-truncated.bin", "ack", AS_E_TRUNCATED,
		     "version 1, last byte missing", buf, sizeof v1, AS_ACK_V1_LEN - 1);
}

static void gen_heartbeats(void)
{
	struct as_heartbeat hb;
	uint8_t bin[AS_HEARTBEAT_LEN];

	memset(&hb, 0, sizeof hb);
	as_gateway_id(hb.gw_id, keys.device_pk);
	hb.sent_at = TEST_NOW;
	hb.up_since = TEST_NOW - 3600;
	memset(hb.boot_id, 0xb0, AS_BOOT_ID_LEN);
	hb.interval = 300;
	hb.clock_state = AS_CLOCK_SYNCED;
	hb.last_seq = 42;
	hb.acked_seq = 41;
	memset(hb.chain_head, 0x5c, AS_CHAIN_HEAD_LEN);
	hb.journal_records = 2;
	hb.journal_used = 65536;
	hb.journal_size = 1 << 20;
	if (as_heartbeat_encode(bin, sizeof bin, &hb, keys.device_sk) != AS_HEARTBEAT_LEN)
		abort();
	emit_framing("heartbeat", bin, sizeof bin, 2 * AS_HEARTBEAT_LEN + 1);
	emit_patched("heartbeat-clock-state.bin", "heartbeat", AS_E_FIELD,
		     "clock_state 4 (only 1 to 3 exist)", bin, sizeof bin, 54, 1, 4,
		     keys.device_sk);
	emit_patched("heartbeat-interval-zero.bin", "heartbeat", AS_E_FIELD, "interval 0", bin,
		     sizeof bin, 50, 4, 0, keys.device_sk);
	emit_patched("heartbeat-up-after-sent.bin", "heartbeat", AS_E_FIELD,
		     "up_since a second after sent_at", bin, sizeof bin, 26, 8,
		     (uint64_t)(TEST_NOW + 1), keys.device_sk);
	emit_patched("heartbeat-journal-use.bin", "heartbeat", AS_E_FIELD,
		     "journal_used above journal_size", bin, sizeof bin, 111, 8, (1 << 20) + 1,
		     keys.device_sk);
	emit_patched("heartbeat-signature.bin", "heartbeat", AS_E_SIGNATURE,
		     "last_seq raised to 1000 after signing", bin, sizeof bin, 55, 8, 1000, NULL);
	emit_patched("heartbeat-wrong-key.bin", "heartbeat", AS_E_SIGNATURE,
		     "signed by a key other than the gateway's device key", bin, sizeof bin, 55, 8,
		     42, keys.other_sk);
}

static void gen_policies(void)
{
	uint8_t gws[2][16], holders[1][16], issuer[1][32];
	struct as_policy p;
	size_t len;
	uint8_t *bin;

	/* Version 2: the lists, then n_sections (107) = 2, section 1 (issuer
	 * keys: type 108, len 109, body 113..144), section 2 (v1 passes
	 * until: type 145, len 146, body 150..157), signature 158. */
	test_policy_make(&keys, &p, gws, 2, holders, 1);
	test_fill(issuer[0], 32, 60);
	p.n_issuer_keys = 1;
	p.issuer_keys = issuer;
	p.v1_until_set = 1;
	p.v1_passes_until = TEST_NOW + 30 * 86400;
	len = as_policy_size(&p);
	bin = malloc(len);
	if (!bin || as_policy_encode(bin, len, &p, keys.auth_sk) != (int)len)
		abort();
	emit_framing("policy", bin, len, AS_POLICY_MAX_BYTES + 1);
	emit_resized("policy-cut-in-list.bin", "policy", AS_E_LENGTH,
		     "cut inside the revoked-gateway list: the count promises more entries "
		     "than there are bytes", bin, len, 55 + 20);
	emit_patched("policy-gateway-count.bin", "policy", AS_E_LENGTH,
		     "n_revoked_gateways 0xffffffff (at most 65536)", bin, len, 51, 4,
		     UINT32_MAX, keys.auth_sk);
	emit_patched("policy-holder-count.bin", "policy", AS_E_LENGTH,
		     "n_revoked_holders 9: more entries than bytes", bin, len, 55 + 32, 4, 9,
		     keys.auth_sk);
	emit_patched("policy-sections-none.bin", "policy", AS_E_LENGTH,
		     "version 2 with n_sections 0", bin, len, 107, 1, 0, keys.auth_sk);
	emit_patched("policy-section-type-zero.bin", "policy", AS_E_FIELD,
		     "a section of type 0", bin, len, 108, 1, 0, keys.auth_sk);
	emit_patched("policy-section-repeated.bin", "policy", AS_E_FIELD,
		     "the second section is type 1 again", bin, len, 145, 1, 1, keys.auth_sk);
	emit_patched("policy-section-empty.bin", "policy", AS_E_LENGTH,
		     "issuer-keys section of length 0", bin, len, 109, 4, 0, keys.auth_sk);
	emit_patched("policy-section-length.bin", "policy", AS_E_LENGTH,
		     "section length 0xffffffff", bin, len, 109, 4, UINT32_MAX, keys.auth_sk);
	emit_patched("policy-v1-until-negative.bin", "policy", AS_E_FIELD,
		     "v1 passes until -1", bin, len, 150, 8, UINT64_MAX, keys.auth_sk);
	emit_patched("policy-section-unknown.bin", "policy", 0,
		     "control: the second section has unknown type 9 and is skipped", bin, len,
		     145, 1, 9, keys.auth_sk);
	emit_patched("policy-level.bin", "policy", AS_E_FIELD,
		     "alert_level 5 (1..4), properly signed", bin, len, 18, 1, 5, keys.auth_sk);
	emit_patched("policy-signature.bin", "policy", AS_E_SIGNATURE,
		     "alert_level lowered to 1 after signing", bin, len, 18, 1, 1, NULL);
	emit_patched("policy-wrong-key.bin", "policy", AS_E_SIGNATURE,
		     "signed by a key other than the authority's", bin, len, 18, 1, 3,
		     keys.other_sk);
	free(bin);
}


/* Visit tokens and version 2 passes: a token of the fixture issuer (key
 * tag 50) for a token key (tag 52), expiring a week after TEST_NOW. */
static void gen_tokens(void)
{
	uint8_t issuer_pk[32], issuer_sk[64], token_pk[32], token_sk[64], other_pk[32],
		other_sk[64];
	uint8_t tok[AS_TOKEN_LEN], pass[AS_PASS2_LEN], req[AS_TOKEN_REQUEST_LEN(2)],
		batch[AS_TOKEN_BATCH_LEN(2)], pks[2][32];
	struct as_token t;
	struct as_pass2 p;
	struct as_token_request r;
	struct as_token_batch b;

	test_sign_keypair(issuer_pk, issuer_sk, 50);
	test_sign_keypair(token_pk, token_sk, 52);
	test_sign_keypair(other_pk, other_sk, 53);
	memset(&t, 0, sizeof t);
	as_issuer_kid(t.issuer_kid, issuer_pk);
	test_fill(t.token_id, sizeof t.token_id, 54);
	t.expires_at = TEST_NOW + 7 * 86400;
	memcpy(t.token_pk, token_pk, 32);
	if (as_token_sign(&t, issuer_sk) != 0 || as_token_encode(tok, sizeof tok, &t) < 0)
		abort();
	emit_framing("token", tok, sizeof tok, 2 * AS_TOKEN_LEN + 1);
	emit_patched("token-expiry-zero.bin", "token", AS_E_FIELD, "expires_at 0", tok,
		     sizeof tok, 22, 4, 0, NULL);
	emit_patched("token-signature.bin", "token", AS_E_ISSUER_SIG,
		     "expires_at moved a day on after signing", tok, sizeof tok, 22, 4,
		     (uint64_t)(TEST_NOW + 8 * 86400), NULL);
	emit_patched("token-wrong-key.bin", "token", AS_E_ISSUER_SIG,
		     "signed by another key than the issuer's", tok, sizeof tok, 22, 4,
		     (uint64_t)(TEST_NOW + 7 * 86400), other_sk);

	if (as_pass2_make(&p, &t, TEST_NOW, token_sk) != 0 ||
	    as_pass2_encode(pass, sizeof pass, &p) < 0)
		abort();
	emit_framing("pass2", pass, sizeof pass, 2 * AS_PASS2_LEN + 1);
	emit_patched("pass2-expiry-zero.bin", "pass2", AS_E_FIELD, "expires_at 0", pass,
		     sizeof pass, 22, 4, 0, NULL);
	emit_patched("pass2-token-magic.bin", "pass2", AS_E_MAGIC,
		     "a token (magic 'O') where a pass v2 is expected", pass, sizeof pass, 0, 1,
		     'O', NULL);

	emit_text2("scan2-valid.txt", 0, "control: a valid pass v2", pass, sizeof pass);
	{
		struct as_pass2 forged;
		uint8_t fb[AS_PASS2_LEN];

		if (as_pass2_make(&forged, &t, TEST_NOW, other_sk) != 0 ||
		    as_pass2_encode(fb, sizeof fb, &forged) < 0)
			abort();
		emit_text2("scan2-token-signature.txt", AS_E_TOKEN_SIG,
			   "made from this token but signed with another token key", fb, sizeof fb);
		if (as_pass2_make(&forged, &t, TEST_NOW - 120, token_sk) != 0 ||
		    as_pass2_encode(fb, sizeof fb, &forged) < 0)
			abort();
		emit_text2("scan2-stale.txt", AS_E_STALE, "made 120 s before now", fb, sizeof fb);
		memcpy(fb, pass, sizeof fb);
		fb[2] ^= 0x01; /* the kid */
		emit_text2("scan2-unknown-issuer.txt", AS_E_ISSUER_UNKNOWN,
			   "issuer key id of a key the policy does not list", fb, sizeof fb);
		memcpy(fb, pass, sizeof fb);
		fb[6] ^= 0x01; /* the token id */
		emit_text2("scan2-issuer-signature.txt", AS_E_ISSUER_SIG,
			   "token id changed after the issuer signed", fb, sizeof fb);
	}
	{
		char text[AS_PASS2_TEXT_LEN + 1];

		memcpy(text, "AP2:", 4);
		as_base45_encode(text + 4, sizeof text - 4, pass, sizeof pass);
		emit("scan2-truncated.txt", "scan2", AS_E_TRUNCATED,
		     "the text's last three characters missing", text, strlen(text) - 3);
		text[10] = 'a';
		emit("scan2-base45.txt", "scan2", AS_E_BASE45,
		     "a lower-case letter in the Base45 text", text, strlen(text));
	}

	memcpy(pks[0], token_pk, 32);
	memcpy(pks[1], other_pk, 32);
	memset(&r, 0, sizeof r);
	memcpy(r.holder_pk, keys.holder_pk, 32);
	test_fill(r.request_id, sizeof r.request_id, 55);
	r.created_at = TEST_NOW;
	r.n = 2;
	memcpy(r.token_pks, pks, sizeof pks);
	if (as_token_request_encode(req, sizeof req, &r) < 0)
		abort();
	crypto_sign_detached(req + sizeof req - 64, NULL, req, sizeof req - 64, keys.holder_sk);
	emit_framing("tokenrequest", req, sizeof req, AS_TOKEN_REQUEST_MAX_LEN + 1);
	emit_patched("tokenrequest-count-zero.bin", "tokenrequest", AS_E_LENGTH,
		     "n 0 (1..64)", req, sizeof req, 58, 1, 0, keys.holder_sk);
	emit_patched("tokenrequest-count-high.bin", "tokenrequest", AS_E_LENGTH,
		     "n 65 (1..64)", req, sizeof req, 58, 1, 65, keys.holder_sk);
	emit_patched("tokenrequest-count-more.bin", "tokenrequest", AS_E_TRUNCATED,
		     "n 3 with two keys present", req, sizeof req, 58, 1, 3, keys.holder_sk);
	emit_patched("tokenrequest-signature.bin", "tokenrequest", AS_E_HOLDER_SIG,
		     "created_at changed after the holder signed", req, sizeof req, 50, 8,
		     (uint64_t)TEST_NOW + 1, NULL);

	memset(&b, 0, sizeof b);
	b.n = 2;
	b.tokens[0] = t;
	b.tokens[1] = t;
	test_fill(b.tokens[1].token_id, 16, 56);
	if (as_token_sign(&b.tokens[1], issuer_sk) != 0 ||
	    as_token_batch_encode(batch, sizeof batch, &b) < 0)
		abort();
	emit_framing("tokenbatch", batch, sizeof batch, AS_TOKEN_BATCH_MAX_LEN + 1);
	emit_patched("tokenbatch-count-zero.bin", "tokenbatch", AS_E_LENGTH, "n 0 (1..64)",
		     batch, sizeof batch, 2, 1, 0, NULL);
	emit_patched("tokenbatch-count-less.bin", "tokenbatch", AS_E_TRAILING,
		     "n 1 with two tokens present", batch, sizeof batch, 2, 1, 1, NULL);
	emit_patched("tokenbatch-inner-magic.bin", "tokenbatch", AS_E_MAGIC,
		     "the second token's magic 'X'", batch, sizeof batch, 3 + AS_TOKEN_LEN, 1, 'X',
		     NULL);
}

/* prefix + Base45(bin) as a scan case. */
static void emit_text(const char *name, int expected, const char *what, const char *prefix,
		      const uint8_t *bin, size_t len)
{
	char text[AS_SCAN_TEXT_MAX];
	size_t plen = strlen(prefix);

	memcpy(text, prefix, plen);
	if (as_base45_encode(text + plen, sizeof text - plen, bin, len) < 0)
		abort();
	emit(name, "scan", expected, what, text, strlen(text));
}

/* A pass over any credential, signed by holder_sk, made at `at`. */
static void pass_bytes(uint8_t bin[AS_PASS_LEN], const struct as_credential *c, int64_t at,
		       const uint8_t *holder_sk)
{
	struct as_pass p;

	p.cred = *c;
	p.timestamp = at;
	memset(p.holder_sig, 0, AS_SIG_LEN);
	as_pass_encode(bin, AS_PASS_LEN, &p);
	crypto_sign_detached(bin + AS_PASS_LEN - AS_SIG_LEN, NULL, bin,
			     AS_PASS_LEN - AS_SIG_LEN, holder_sk);
}

static void gen_scans(void)
{
	struct as_credential c, card;
	uint8_t pass[AS_PASS_LEN + 1], bad[AS_PASS_LEN + 1], card_bin[AS_CARD_LEN];
	char text[AS_SCAN_TEXT_MAX + 8];
	size_t n;

	test_credential_make(&keys, &c, 0);
	test_credential_make(&keys, &card, 1);
	pass_bytes(pass, &c, TEST_NOW, keys.holder_sk);
	as_card_encode(card_bin, sizeof card_bin, &card);

	emit_text("scan-valid-pass.txt", 0, "control: a valid pass made at the test time",
		  AS_PASS_PREFIX, pass, AS_PASS_LEN);
	emit_text("scan-valid-card.txt", 0, "control: a valid card", AS_CARD_PREFIX, card_bin,
		  sizeof card_bin);
	emit("scan-empty.txt", "scan", AS_E_PREFIX, "empty text", "", 0);
	emit_text("scan-prefix.txt", AS_E_PREFIX, "prefix AP2: (unknown)", "AP2:", pass,
		  AS_PASS_LEN);
	emit_text("scan-prefix-lowercase.txt", AS_E_PREFIX, "prefix ap1:", "ap1:", pass,
		  AS_PASS_LEN);

	/* Text-level damage to the valid pass text. */
	memcpy(text, AS_PASS_PREFIX, 4);
	as_base45_encode(text + 4, sizeof text - 4, pass, AS_PASS_LEN);
	n = strlen(text);
	for (size_t i = 4; i < n; i++)
		if (text[i] >= 'A' && text[i] <= 'Z')
			text[i] = (char)(text[i] - 'A' + 'a');
	emit("scan-lowercase.txt", "scan", AS_E_BASE45,
	     "Base45 part in lower case (not in the alphabet)", text, n);
	as_base45_encode(text + 4, sizeof text - 4, pass, AS_PASS_LEN);
	text[100] = '#';
	emit("scan-bad-char.txt", "scan", AS_E_BASE45, "a '#' inside the Base45 part", text, n);
	as_base45_encode(text + 4, sizeof text - 4, pass, AS_PASS_LEN);
	memcpy(text + n, "\r\n", 2);
	emit("scan-crlf.txt", "scan", AS_E_BASE45,
	     "valid text followed by CR LF (line ends are the scan source's to strip)", text,
	     n + 2);
	emit("scan-dangling.txt", "scan", AS_E_BASE45,
	     "last 2 characters missing: a dangling single character", text, n - 2);
	emit("scan-truncated.txt", "scan", AS_E_TRUNCATED,
	     "last 3 characters (2 bytes) missing", text, n - 3);
	memcpy(text + 4, "GGW", 3);
	emit("scan-group-range.txt", "scan", AS_E_BASE45,
	     "first group GGW = 65536, above 0xffff", text, n);
	pass[AS_PASS_LEN] = 0;
	emit_text("scan-trailing.txt", AS_E_TRAILING, "one extra byte after the pass",
		  AS_PASS_PREFIX, pass, AS_PASS_LEN + 1);
	memset(text, '0', 600);
	memcpy(text, AS_PASS_PREFIX, 4);
	emit("scan-oversize.txt", "scan", AS_E_OVERSIZE, "600 characters, more than any pass",
	     text, 600);

	/* Verification failures. */
	memcpy(bad, pass, AS_PASS_LEN);
	bad[2 + 200] ^= 1;
	emit_text("scan-issuer-sig.txt", AS_E_ISSUER_SIG, "a bit of the issuer signature flipped",
		  AS_PASS_PREFIX, bad, AS_PASS_LEN);
	memcpy(bad, pass, AS_PASS_LEN);
	bad[AS_PASS_LEN - 1] ^= 1;
	emit_text("scan-holder-sig.txt", AS_E_HOLDER_SIG, "a bit of the holder signature flipped",
		  AS_PASS_PREFIX, bad, AS_PASS_LEN);
	memcpy(bad, pass, AS_PASS_LEN);
	bad[266] ^= 1;
	emit_text("scan-timestamp.txt", AS_E_HOLDER_SIG,
		  "timestamp changed after the holder signed", AS_PASS_PREFIX, bad, AS_PASS_LEN);
	pass_bytes(bad, &c, TEST_NOW - 3600, keys.holder_sk);
	emit_text("scan-stale.txt", AS_E_STALE, "pass made an hour before the test time",
		  AS_PASS_PREFIX, bad, AS_PASS_LEN);
	pass_bytes(bad, &c, TEST_NOW + 3600, keys.holder_sk);
	emit_text("scan-future.txt", AS_E_STALE, "pass made an hour after the test time",
		  AS_PASS_PREFIX, bad, AS_PASS_LEN);
	pass_bytes(bad, &c, TEST_NOW, keys.other_sk);
	emit_text("scan-stolen.txt", AS_E_HOLDER_SIG,
		  "credential shown with a pass signed by another key", AS_PASS_PREFIX, bad,
		  AS_PASS_LEN);
	pass_bytes(bad, &card, TEST_NOW, keys.holder_sk);
	emit_text("scan-card-as-pass.txt", AS_E_IS_CARD,
		  "a card credential inside a phone pass", AS_PASS_PREFIX, bad, AS_PASS_LEN);
	as_card_encode(bad, AS_CARD_LEN, &c);
	emit_text("scan-pass-as-card.txt", AS_E_NOT_CARD,
		  "a phone credential in card form", AS_CARD_PREFIX, bad, AS_CARD_LEN);
	{
		struct as_credential e = c;

		e.issued_at = TEST_NOW - 100 * 86400;
		e.expires_at = TEST_NOW - 86400;
		as_credential_sign(&e, keys.auth_sk);
		pass_bytes(bad, &e, TEST_NOW, keys.holder_sk);
		emit_text("scan-expired.txt", AS_E_EXPIRED,
			  "credential expired a day before the test time", AS_PASS_PREFIX, bad,
			  AS_PASS_LEN);
		e.issued_at = TEST_NOW + 86400;
		e.expires_at = TEST_NOW + 100 * 86400;
		as_credential_sign(&e, keys.auth_sk);
		pass_bytes(bad, &e, TEST_NOW, keys.holder_sk);
		emit_text("scan-not-yet.txt", AS_E_NOT_YET,
			  "credential valid only from a day after the test time", AS_PASS_PREFIX,
			  bad, AS_PASS_LEN);
		e = c;
		as_credential_sign(&e, keys.other_sk);
		pass_bytes(bad, &e, TEST_NOW, keys.holder_sk);
		emit_text("scan-wrong-authority.txt", AS_E_ISSUER_SIG,
			  "credential signed by a key other than the authority's", AS_PASS_PREFIX,
			  bad, AS_PASS_LEN);
	}
}

/* Render MANIFEST or README.md into a malloc'd string. */
static char *render(int readme, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		abort();
	if (readme) {
		fputs("# Bad-input corpus\n\n"
		      "One file per case: a valid message with exactly one thing wrong, "
		      "plus a valid control (`*-valid.*`, expected `OK`) per format.\n"
		      "`unit_bad_inputs` (tests/unit/test_bad_inputs.c) runs each file "
		      "through the decoder named by its prefix and asserts the code in "
		      "`MANIFEST`.\n\n"
		      "Generated by `gen_bad_inputs` (tests/unit/gen_bad_inputs.c) from the "
		      "fixed-seed fixtures of tests/test.h; `unit_bad_inputs_fresh` checks "
		      "that these files are what it generates.  Do not edit them by hand: "
		      "after a deliberate format change run "
		      "`build/tests/gen_bad_inputs tests/data/bad` and commit the result.\n\n"
		      "Decoders: `credential`, `pass`, `card`, `record` are the strict "
		      "decoders; `batch` is as_batch_decode then as_batch_verify with the "
		      "fixture device key; `ack` and `policy` decode and check the fixture "
		      "authority's signature; `heartbeat` is as_heartbeat_decode then "
		      "as_heartbeat_verify with the fixture device key; `scan` is as_scan_verify of the file's text "
		      "(no line end) with the fixture authority key, now = TEST_NOW "
		      "(2026-01-01T00:00:00Z) and 60 s freshness.  The ack has no length "
		      "field, so it has no bad-length case.  The `*-oversize.bin` files are "
		      "the message padded with zeros to the smallest length each decoder "
		      "rejects as oversized before reading it (twice the fixed length plus "
		      "one; batch 255 KB and policy 2 MB, their maximum sizes plus one).\n\n"
		      "| file | decoder | expected | what is wrong |\n"
		      "|---|---|---|---|\n", f);
		for (size_t i = 0; i < n_cases; i++)
			fprintf(f, "| %s | %s | %s | %s |\n", cases[i].name, cases[i].decoder,
				as_errname(cases[i].expected), cases[i].what);
	} else {
		fputs("# file decoder expected (written by gen_bad_inputs)\n", f);
		for (size_t i = 0; i < n_cases; i++)
			fprintf(f, "%s %s %s\n", cases[i].name, cases[i].decoder,
				as_errname(cases[i].expected));
	}
	if (fclose(f) != 0)
		abort();
	return text;
}

/* Write or compare one output file; returns 0 if fine. */
static int output(const char *dir, const char *name, const void *data, size_t len, int check)
{
	char path[512];
	unsigned char *old;
	size_t old_len;
	int rc;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (!check) {
		rc = as_file_write_atomic(path, data, len, 0644, 0);
		if (rc)
			fprintf(stderr, "%s: %s\n", path, as_strerror(rc));
		return rc;
	}
	rc = as_file_read_all(path, 8u << 20, &old, &old_len);
	if (rc) {
		fprintf(stderr, "%s: %s\n", path, as_strerror(rc));
		return rc;
	}
	rc = old_len != len || (len && memcmp(old, data, len) != 0);
	if (rc)
		fprintf(stderr, "%s differs from what gen_bad_inputs makes now; regenerate "
			"with gen_bad_inputs %s\n", path, dir);
	free(old);
	return rc;
}

int main(int argc, char **argv)
{
	int check = argc == 3 && strcmp(argv[1], "--check") == 0;
	const char *dir = check ? argv[2] : argv[1];
	char *manifest, *readme;
	size_t manifest_len, readme_len;
	int failed = 0;

	if (!(argc == 2 && argv[1][0] != '-') && !check) {
		fprintf(stderr, "usage: gen_bad_inputs [--check] DIR\n");
		return 2;
	}
	test_keys_init(&keys);
	gen_credentials();
	gen_records();
	gen_batches();
	gen_acks();
	gen_heartbeats();
	gen_policies();
	gen_scans();
	gen_tokens();
	if (!check && as_mkdir_p(dir, 0755) != 0) {
		fprintf(stderr, "cannot create %s\n", dir);
		return 1;
	}
	for (size_t i = 0; i < n_cases; i++)
		failed |= output(dir, cases[i].name, cases[i].data, cases[i].len, check) != 0;
	manifest = render(0, &manifest_len);
	readme = render(1, &readme_len);
	failed |= output(dir, "MANIFEST", manifest, manifest_len, check) != 0;
	failed |= output(dir, "README.md", readme, readme_len, check) != 0;
	free(manifest);
	free(readme);
	for (size_t i = 0; i < n_cases; i++)
		free(cases[i].data);
	printf("%s %zu cases in %s: %s\n", check ? "checked" : "wrote", n_cases, dir,
	       failed ? "FAILED" : "ok");
	return failed;
}
