/*
 * gen_corpus.c - write the seed corpora of the fuzz targets:
 *
 *     gen_corpus TESTS_DATA_DIR PACKAGING_DIR OUT_DIR
 *
 * writes OUT_DIR/<target>/<seed> for every target in tests/fuzz.  Seeds are
 * valid messages: the protocol test vectors (TESTS_DATA_DIR/vectors, read
 * and converted from hex), the checked-in config, CSV and evdev samples,
 * the shipped example configurations, and messages the vectors do not hold
 * (venue codes, app check-ins and answers, register entries, control
 * requests, scanner streams) made here from the vectors' keys with fixed
 * nonces, so every run writes the same bytes.  Run it after a format
 * change (tests/fuzz/README.md says how) and commit the result.
 */
#include "fuzz.h"

#include "anshim/appcheckin.h"
#include "anshim/batch.h"
#include "anshim/bytes.h"
#include "anshim/credential.h"
#include "anshim/enrolment.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/enrolreq.h"
#include "anshim/venuecode.h"

#include <errno.h>
#include <linux/input.h>
#include <sys/stat.h>

static const char *data_dir, *pkg_dir, *out_dir;
static int failed;

static void put(const char *target, const char *name, const void *bytes, size_t len)
{
	char path[1024];
	int rc;

	snprintf(path, sizeof path, "%s/%s", out_dir, target);
	rc = as_mkdir_p(path, 0755);
	if (rc == 0) {
		snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
		rc = as_file_write_atomic(path, bytes, len, 0644, 0);
	}
	if (rc) {
		fprintf(stderr, "gen_corpus: cannot write %s: %s\n", path, as_strerror(rc));
		failed = 1;
	}
}

/* A prefix byte and then the text, as one seed (targets that read a
 * selector byte first). */
static void put_with(const char *target, const char *name, uint8_t first, const void *bytes,
		     size_t len)
{
	uint8_t *buf = malloc(len + 1);

	if (!buf)
		abort();
	buf[0] = first;
	memcpy(buf + 1, bytes, len);
	put(target, name, buf, len + 1);
	free(buf);
}

/* Read a whole file (at most 1 MiB) into a malloc'd buffer; exits on error. */
static unsigned char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[1024];
	unsigned char *buf;
	int rc;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	rc = as_file_read_all(path, 1 << 20, &buf, len);
	if (rc) {
		fprintf(stderr, "gen_corpus: cannot read %s: %s\n", path, as_strerror(rc));
		exit(1);
	}
	return buf;
}

/* A vector: .hex to bytes, .txt to its first line. */
static unsigned char *vector(const char *name, size_t *len)
{
	char file[128];
	unsigned char *text, *bin;
	size_t n;

	snprintf(file, sizeof file, "vectors/%s", name);
	text = slurp(data_dir, file, &n);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	text[n] = '\0';
	if (strstr(name, ".txt")) {
		*len = n;
		return text;
	}
	bin = malloc(n / 2 + 1);
	if (!bin || n % 2 || as_hex_decode(bin, n / 2, (char *)text) != 0) {
		fprintf(stderr, "gen_corpus: %s is not hex\n", name);
		exit(1);
	}
	free(text);
	*len = n / 2;
	return bin;
}

static void put_vector(const char *target, const char *name)
{
	size_t len;
	unsigned char *v = vector(name, &len);
	char seed[128];

	snprintf(seed, sizeof seed, "%.*s", (int)(strcspn(name, ".")), name);
	put(target, seed, v, len);
	free(v);
}

static void put_file(const char *target, const char *seed, const char *dir, const char *name,
		     int selector)
{
	size_t len;
	unsigned char *f = slurp(dir, name, &len);

	if (selector >= 0)
		put_with(target, seed, (uint8_t)selector, f, len);
	else
		put(target, seed, f, len);
	free(f);
}

/* ---- messages the vectors do not hold ---------------------------------- */

static void poster(struct as_venue_code *c)
{
	memset(c, 0, sizeof *c);
	c->type = AS_VC_POSTER;
	c->venue_id = 7;
	c->issued_at = FUZZ_NOW - 86400;
	snprintf(c->name, sizeof c->name, "%s", "Jeju Cafe \xec\x95\x88\xec\x8b\xac");
	if (as_venue_code_sign(c, fuzz_k.auth_sk) != 0)
		abort();
}

static void rotating(struct as_venue_code *c)
{
	uint8_t gw_id[AS_GWID_LEN];

	as_gateway_id(gw_id, fuzz_k.device_pk);
	if (as_venue_code_rotating(c, 42, gw_id, FUZZ_NOW, AS_SLOT_DEFAULT, fuzz_k.device_sk))
		abort();
}

static void venue_codes(void)
{
	struct as_venue_code c;
	uint8_t bin[AS_VENUE_CODE_MAX];
	char text[AS_VENUE_CODE_TEXT_MAX];
	int n;

	poster(&c);
	n = as_venue_code_encode(bin, sizeof bin, &c);
	put("fuzz_venue_code", "poster", bin, (size_t)n);
	n = as_venue_code_to_text(text, sizeof text, &c);
	put("fuzz_venue_code", "poster_qr", text, (size_t)n);
	rotating(&c);
	n = as_venue_code_encode(bin, sizeof bin, &c);
	put("fuzz_venue_code", "rotating", bin, (size_t)n);
	n = as_venue_code_to_text(text, sizeof text, &c);
	put("fuzz_venue_code", "rotating_qr", text, (size_t)n);
}

/* The enrolment request of the protocol vectors (docs/PROTOCOL.md). */
static void enrol_requests(void)
{
	struct as_enrolreq r;
	uint8_t bin[AS_ENROLREQ_MAX];
	char text[AS_ENROLREQ_TEXT_MAX];
	int n;

	memset(&r, 0, sizeof r);
	r.created_at = FUZZ_NOW;
	r.venue_id = 0;
	r.dwell_minutes = 45;
	snprintf(r.category, sizeof r.category, "%s", "cafe");
	snprintf(r.name, sizeof r.name, "%s", "\xec\xa0\x9c\xec\xa3\xbc \xec\xb9\xb4\xed\x8e\x98");
	snprintf(r.address, sizeof r.address, "%s", "Hallim-eup 1");
	if (as_enrolreq_sign(&r, fuzz_k.device_sk) != 0)
		abort();
	n = as_enrolreq_encode(bin, sizeof bin, &r);
	put("fuzz_enrol_request", "request", bin, (size_t)n);
	n = as_enrolreq_to_text(text, sizeof text, &r);
	put("fuzz_enrol_request", "request_text", text, (size_t)n);
}

/* Encode m with a fixed nonce and the vectors' holder signature. */
static size_t app_sign(struct as_app_checkin *m, uint8_t out[AS_APP_CHECKIN_MAX], uint8_t tag)
{
	int n;

	memset(m->nonce, tag, AS_APP_NONCE_LEN);
	memset(m->holder_sig, 0, AS_SIG_LEN);
	n = as_app_checkin_encode(out, AS_APP_CHECKIN_MAX, m);
	if (n < 0)
		abort();
	crypto_sign_detached(m->holder_sig, NULL, out, (size_t)n - AS_SIG_LEN, fuzz_k.holder_sk);
	n = as_app_checkin_encode(out, AS_APP_CHECKIN_MAX, m);
	if (n < 0 || as_app_checkin_verify(m, fuzz_k.auth_pk) != 0)
		abort();
	return (size_t)n;
}

static void app_messages(void)
{
	struct as_app_checkin m;
	struct as_app_answer a;
	uint8_t bin[AS_APP_CHECKIN_MAX], id[AS_APP_CHECKIN_ID_LEN], ans[AS_APP_ANSWER_LEN];
	unsigned char *cred;
	size_t len;

	cred = vector("credential.hex", &len);
	memset(&m, 0, sizeof m);
	if (as_credential_decode(&m.cred, cred, len) != 0)
		abort();
	free(cred);
	m.kind = AS_APP_CHECKIN;
	m.time = FUZZ_NOW;
	rotating(&m.code);
	len = app_sign(&m, bin, 0x11);
	put("fuzz_app_checkin", "checkin_rotating", bin, len);
	as_app_checkin_id(id, bin, len);
	poster(&m.code);
	len = app_sign(&m, bin, 0x22);
	put("fuzz_app_checkin", "checkin_poster", bin, len);
	m.kind = AS_APP_CHECKOUT;
	m.time = FUZZ_NOW + 1800;
	memcpy(m.checkin_id, id, sizeof id);
	len = app_sign(&m, bin, 0x33);
	put("fuzz_app_checkin", "checkout", bin, len);

	memset(&a, 0, sizeof a);
	memcpy(a.checkin_id, id, sizeof id);
	a.status = AS_APP_STORED;
	a.cloud_time = FUZZ_NOW;
	put("fuzz_app_answer", "stored", ans,
	    (size_t)as_app_answer_encode(ans, sizeof ans, &a, fuzz_k.auth_sk));
	a.status = AS_APP_REJECTED;
	a.reason = AS_APP_R_REPLAY;
	put("fuzz_app_answer", "rejected_replay", ans,
	    (size_t)as_app_answer_encode(ans, sizeof ans, &a, fuzz_k.auth_sk));
}

/* A register entry typed at the prompt, the day of FUZZ_NOW in Seoul
 * (10:00 there). */
static void register_fields(void)
{
	static const char full[] = "2026-01-01\n09:30\n\xed\x99\x8d\xea\xb8\xb8\xeb\x8f\x99\n"
				   "010-1234-5678\n2\n09:55";
	static const char minimal[] = "2026.1.1\n9:05:30\nLee, Younghee\n+82 10 0000 0002";

	put("fuzz_register_fields", "full", full, strlen(full));
	put("fuzz_register_fields", "minimal", minimal, strlen(minimal));
}

/* A register file of the day of FUZZ_NOW (the checked-in samples lie in
 * its future, so every row of theirs is refused as such). */
static void register_csv(void)
{
	static const char today[] =
		"\xef\xbb\xbf" "date,time,name,phone,headcount,exit_time\r\n"
		"2026-01-01,08:05,\xed\x99\x8d\xea\xb8\xb8\xeb\x8f\x99,010-0000-0001,1,09:30\r\n"
		"2026.01.01,9:12:15,\"Lee, Younghee\",+82 10 0000 0002,2,\r\n"
		"2025/12/31,18:45,\"Park \"\"PJ\"\" Jisung\",01000000003,,\r\n"
		",,,,,\r\n"
		"2026-01-01,09:40,Kim,010.0000.0004,4,09:20\r\n";

	put("fuzz_register_csv", "today", today, strlen(today));
}

static void control_requests(void)
{
	static const char words[] = "status\nevents\npurge\noffline\nonline\ncontact-key\n";
	char manual[600];
	char capsule[2 * AS_CAPSULE_LEN + 1], digest[65];
	uint8_t bytes[AS_CAPSULE_LEN];

	put("fuzz_control", "words", words, strlen(words));
	memset(bytes, 0xcb, sizeof bytes);
	as_hex_encode(capsule, bytes, AS_CAPSULE_LEN);
	memset(bytes, 0x5a, 32);
	as_hex_encode(digest, bytes, 32);
	snprintf(manual, sizeof manual, "manual r1 %lld 0 1 %s -\n", (long long)FUZZ_NOW - 1800,
		 capsule);
	put("fuzz_control", "manual", manual, strlen(manual));
	snprintf(manual, sizeof manual, "manual row-17 %lld %lld 3 %s %s\r\n",
		 (long long)FUZZ_NOW - 1800, (long long)FUZZ_NOW - 600, capsule, digest);
	put("fuzz_control", "manual_digest", manual, strlen(manual));
}

/* A reveal service request's trace scope (fuzz_reveal_scope). */
static void reveal_scopes(void)
{
	static const char scope[] =
		"{\"pid\":\"00112233445566778899aabbccddeeff\",\"from\":1767225600,"
		"\"to\":1767312000,\"depth\":2,\"min_overlap\":900,\"incubation\":1209600,"
		"\"risk_period\":86400,\"reason\":\"cluster at venue 12\",\"case_ref\":\"JEJU-42\"}";

	put("fuzz_reveal_scope", "scope", scope, strlen(scope));
}

/* The issuer API's bodies (fuzz_issuer_request): the first byte picks
 * the request, 0 start, 1 finish, 2 tokens. */
static void issuer_requests(void)
{
	static const char start[] = "\0{\"phone\":\"010-1234-5678\",\"holder_key\":"
		"\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\"}";
	static const char finish[] = "\1{\"enrolment\":\"00112233445566778899aabbccddeeff\","
		"\"code\":\"012345\",\"consent_version\":1,\"consent_hash\":"
		"\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\"}";
	char tokens[1024], b64[256];
	struct as_enrolment e;
	uint8_t raw[AS_ENROLMENT_LEN];

	put("fuzz_issuer_request", "start", start, sizeof start - 1);
	put("fuzz_issuer_request", "finish", finish, sizeof finish - 1);
	memset(&e, 0, sizeof e);
	memcpy(e.holder_pk, fuzz_k.holder_pk, AS_SIGN_PK_LEN);
	e.consent_version = 1;
	e.issued_at = FUZZ_NOW;
	e.expires_at = FUZZ_NOW + FUZZ_RETENTION;
	as_enrolment_sign(&e, fuzz_k.auth_sk);
	as_enrolment_encode(raw, sizeof raw, &e);
	sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
	int n = snprintf(tokens, sizeof tokens, "%c{\"enrolment_credential\":\"%s\","
			 "\"request\":\"UQEAAAAA\"}", 2, b64);
	put("fuzz_issuer_request", "tokens", tokens, (size_t)n);
}

/* One key press and release, then a SYN, as a scanner types it. */
static size_t key(struct input_event *ev, unsigned code)
{
	memset(ev, 0, 3 * sizeof *ev);
	ev[0].type = EV_KEY;
	ev[0].code = (uint16_t)code;
	ev[0].value = 1;
	ev[1].type = EV_KEY;
	ev[1].code = (uint16_t)code;
	ev[1].value = 0;
	ev[2].type = EV_SYN;
	return 3;
}

static void scan_streams(void)
{
	/* "AP1:" with Shift held for the letters and ':', then Base45
	 * digits and Enter; short, so the fuzzer mutates it quickly. */
	static const unsigned codes[] = {KEY_A, KEY_P, KEY_1, KEY_SEMICOLON, KEY_Q, KEY_E,
					 KEY_D, KEY_8, KEY_KPASTERISK, KEY_SPACE, KEY_ENTER};
	struct input_event ev[64];
	uint8_t stream[1 + sizeof ev];
	size_t n = 0;
	unsigned char *pass, *card, *both;
	size_t plen, clen;

	memset(ev, 0, sizeof ev);
	ev[n].type = EV_KEY;
	ev[n].code = KEY_LEFTSHIFT;
	ev[n++].value = 1;
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		if (codes[i] == KEY_Q) {
			ev[n].type = EV_KEY;
			ev[n].code = KEY_LEFTSHIFT;
			ev[n++].value = 0;
			ev[n].type = EV_KEY;
			ev[n].code = KEY_CAPSLOCK;
			ev[n++].value = 1;
		}
		n += key(&ev[n], codes[i]);
	}
	stream[0] = 0x01;
	memcpy(stream + 1, ev, n * sizeof ev[0]);
	put("fuzz_scan_lines", "evdev_short", stream, 1 + n * sizeof ev[0]);

	pass = vector("pass_qr.txt", &plen);
	card = vector("card_qr.txt", &clen);
	both = malloc(plen + clen + 4);
	if (!both)
		abort();
	memcpy(both, pass, plen);
	memcpy(both + plen, "\n", 1);
	memcpy(both + plen + 1, card, clen);
	memcpy(both + plen + 1 + clen, "\r\n", 2);
	put_with("fuzz_scan_lines", "pass_card_bytes", 0x3e, both, plen + clen + 3);
	free(both);
	free(pass);
	free(card);
}

/* Configurations that set every kind of value (the examples set none). */
static const char gw_conf[] =
	"\xef\xbb\xbf# gateway\r\n"
	"state_dir /var/lib/anshim-gateway\n"
	"source stdin\n"
	"source \"socket /run/anshim/scan.sock\"   # quoted\n"
	"freshness 90s\n"
	"retention 8w\n"
	"map_size 256M\n"
	"venue_id 42\n"
	"broker mqtts://broker.example:8883\n"
	"clock unsynced\n"
	"log_level debug\n";
static const char cl_conf[] =
	"store_dir /var/lib/anshim-cloud\n"
	"client_id \"anshim \\\"cloud\\\\\"\n"
	"ingest_group 64\n"
	"ingest_group_bytes 4m\n"
	"app_slot_tolerance 2m\n"
	"log_level info\n";

/* The batch vector with its first record purged into a placeholder (the
 * seal it carries is the record's personal hash), signed again: the chain
 * still folds, so the fuzzer starts from the placeholder path. */
static void batch_with_placeholder(void)
{
	struct as_batch_header h;
	struct as_record recs[2];
	uint8_t seals[2][AS_CHAIN_LEN], out[AS_BATCH_MAX_BYTES];
	size_t len;
	unsigned char *v = vector("batch.hex", &len);
	int n;

	if (as_batch_decode_chained(&h, recs, seals, 2, v, len) != 0) {
		fprintf(stderr, "gen_corpus: batch.hex does not decode\n");
		exit(1);
	}
	as_chain_record_personal(&recs[0], seals[0]);
	as_record_make_placeholder(&recs[0]);
	n = as_batch_encode_chained(out, sizeof out, &h, recs, (const uint8_t(*)[AS_CHAIN_LEN])seals,
				    2, fuzz_k.device_sk);
	if (n < 0) {
		fprintf(stderr, "gen_corpus: cannot encode the placeholder batch\n");
		exit(1);
	}
	put("fuzz_batch", "batch_placeholder", out, (size_t)n);
	free(v);
}

/* The console's accounts file: as 'anshim-cloud user' writes it, and one
 * with a fault a line for the fuzzer to start from. */
static void accounts_files(void)
{
#define ACC_HASH "$argon2id$v=19$m=65536,t=2,p=1$9X4IbyV/sI0se/CsJdNxKg$" \
		 "bh+KDecmrnMu9nz3pumk8fECpHy2KP8ATYDLPeJpznk"
	static const char good[] =
		"anshim-accounts 1\n"
		"# The console's accounts. Change them with 'anshim-cloud user', not by hand.\n"
		"# name role state created password_changed failed locked_until last_login hash\n"
		"kim.jiwoo supervisor enabled 1767225600 1767225600 0 0 1767229200 " ACC_HASH "\n"
		"lee investigator disabled 1767225600 1767225700 2 0 0 " ACC_HASH "\n"
		"park analyst enabled 1767225600 1767225600 5 1767230100 0 " ACC_HASH "\n";
	static const char faults[] =
		"anshim-accounts 1\n"
		"\n"
		"Kim analyst enabled 1 1 0 0 0 " ACC_HASH "\n"
		"kim admin enabled 1 1 0 0 0 " ACC_HASH "\n"
		"kim analyst maybe 1 1 0 0 0 " ACC_HASH "\n"
		"kim analyst enabled -1 1 4294967296 0 0 " ACC_HASH "\n"
		"kim analyst enabled 1 1 0 0 0 $2y$10$abcdefghijklmnopqrstuv\n"
		"kim analyst enabled 1 1 0 0\n";
#undef ACC_HASH

	put("fuzz_accounts", "good", good, sizeof good - 1);
	put("fuzz_accounts", "faults", faults, sizeof faults - 1);
}

int main(int argc, char **argv)
{
	size_t len;
	unsigned char *qr;

	if (argc != 4) {
		fprintf(stderr, "usage: gen_corpus TESTS_DATA_DIR PACKAGING_DIR OUT_DIR\n");
		return 2;
	}
	data_dir = argv[1];
	pkg_dir = argv[2];
	out_dir = argv[3];
	fuzz_keys_init();

	put_vector("fuzz_scan_text", "pass_qr.txt");
	put_vector("fuzz_scan_text", "card_qr.txt");
	put_vector("fuzz_credential", "credential.hex");
	put_vector("fuzz_credential", "card_credential.hex");
	put_vector("fuzz_credential", "pass.hex");
	put_vector("fuzz_credential", "card.hex");
	put_vector("fuzz_record", "record_pass.hex");
	put_vector("fuzz_record", "record_manual.hex");
	put_vector("fuzz_batch", "batch.hex");
	put_vector("fuzz_batch", "batch_v1.hex");
	batch_with_placeholder();
	put_vector("fuzz_heartbeat", "heartbeat.hex");
	put_vector("fuzz_audit_head", "audit_head.hex");
	put_vector("fuzz_ack", "ack.hex");
	put_vector("fuzz_ack", "ack_v1.hex");
	put_vector("fuzz_policy", "policy.hex");
	put_vector("fuzz_policy", "policy_empty.hex");
	put_vector("fuzz_policy", "policy_v2.hex");
	put_vector("fuzz_token", "token.hex");
	put_vector("fuzz_token", "pass_v2.hex");
	put_vector("fuzz_token", "pass_v2_qr.txt");
	put_vector("fuzz_token", "token_request.hex");
	put_vector("fuzz_token", "token_batch.hex");
	put_vector("fuzz_record", "record_token.hex");
	put_vector("fuzz_feed_batch", "feed_batch.hex");
	put_vector("fuzz_feed_ack", "feed_ack.hex");
	venue_codes();
	enrol_requests();
	app_messages();

	qr = vector("card_qr.txt", &len);
	put("fuzz_base45", "card", qr + 4, len - 4);
	free(qr);
	put("fuzz_base45", "rfc9285_ietf", "QED8WEX0", 8);

	put_file("fuzz_config", "gateway_example", pkg_dir, "gateway.conf", 0);
	put_file("fuzz_config", "cloud_example", pkg_dir, "cloud.conf", 1);
	put_file("fuzz_config", "syntax_sample", data_dir, "config/good.conf", 0);
	put_with("fuzz_config", "gateway_set", 0, gw_conf, strlen(gw_conf));
	put_with("fuzz_config", "cloud_set", 1, cl_conf, strlen(cl_conf));

	reveal_scopes();
	issuer_requests();

	accounts_files();
	put_file("fuzz_register_csv", "good", data_dir, "csv/good.csv", -1);
	put_file("fuzz_register_csv", "mixed", data_dir, "csv/mixed.csv", -1);
	register_csv();
	register_fields();
	control_requests();
	scan_streams();
	return failed;
}
