/*
 * test_vectors.c - the protocol test vectors of docs/PROTOCOL.md.
 *
 * Every vector is rebuilt here from the inputs the document lists (fixed
 * seeds, times, phone numbers and capsule bytes) and compared byte for byte
 * with the checked-in file tests/data/vectors/<name>.hex (or .txt for QR
 * texts).  Each binary file is then decoded with the library's strict
 * decoder (and signature check) and encoded again, which must give the same
 * bytes; the field offsets of the document's byte tables and the error codes
 * its decoding rules promise are checked on the same bytes.
 *
 *     unit_vectors               check (ANSHIM_TEST_DATA = tests/data)
 *     unit_vectors --write DIR   regenerate every vector file into DIR
 *
 * Regenerate only after a deliberate format change, and update
 * docs/PROTOCOL.md in the same commit.  phone.txt is hand-written (it is the
 * document's table of examples) and is read, never written.
 *
 * Keys come from libsodium's seed functions, so they are the same on every
 * run; Ed25519 signatures are deterministic; crypto_box_seal is not, which is
 * why the vectors carry fixed capsule bytes instead of real seals (the
 * capsule plaintext vector is checked through a real seal and open).
 */
#include "test.h"

#include "anshim/ack.h"
#include "anshim/base45.h"
#include "anshim/batch.h"
#include "anshim/bytes.h"
#include "anshim/capsule.h"
#include "anshim/chain.h"
#include "anshim/enrolreq.h"
#include "anshim/enrolment.h"
#include "anshim/fileio.h"
#include "anshim/heartbeat.h"
#include "anshim/phone.h"
#include "anshim/qr.h"
#include "anshim/token.h"
#include "capsulewire.h"
#include "tokencapsule.h"

#include <errno.h>
#include <sys/stat.h>

/* ---- the documented inputs -------------------------------------------- */

#define V_ISSUED INT64_C(1767225600)       /* 2026-01-01T00:00:00Z */
#define V_EXPIRES INT64_C(1775001600)      /* 2026-04-01T00:00:00Z */
#define V_PASS_TIME INT64_C(1767229200)    /* 2026-01-01T01:00:00Z */
#define V_PHONE "010-1234-5678"
#define V_CARD_PHONE "02-123-4567"
#define V_NAME "\xed\x99\x8d\xea\xb8\xb8\xeb\x8f\x99" /* U+D64D U+AE38 U+B3D9 */
#define V_PASS_CAPSULE_BYTE 0xCA
#define V_CARD_CAPSULE_BYTE 0xCC
#define V_MANUAL_CAPSULE_BYTE 0xCB

struct vkeys {
	uint8_t auth_pk[AS_SIGN_PK_LEN], auth_sk[AS_SIGN_SK_LEN];
	uint8_t contact_pk[AS_BOX_PK_LEN], contact_sk[AS_BOX_SK_LEN];
	uint8_t pseudonym[AS_PSEUDONYM_KEY_LEN];
	uint8_t holder_pk[AS_SIGN_PK_LEN], holder_sk[AS_SIGN_SK_LEN];
	uint8_t device_pk[AS_SIGN_PK_LEN], device_sk[AS_SIGN_SK_LEN];
	uint8_t issuer_pk[AS_SIGN_PK_LEN], issuer_sk[AS_SIGN_SK_LEN];
	uint8_t token_pk[2][AS_SIGN_PK_LEN], token_sk[2][AS_SIGN_SK_LEN];
};

static struct vkeys K;

static void vkeys_init(struct vkeys *k)
{
	uint8_t seed[32];

	if (as_crypto_init() != 0) {
		fprintf(stderr, "libsodium failed to initialise\n");
		exit(2);
	}
	memset(seed, 0x01, sizeof seed);
	crypto_sign_seed_keypair(k->auth_pk, k->auth_sk, seed);
	memset(seed, 0x02, sizeof seed);
	crypto_box_seed_keypair(k->contact_pk, k->contact_sk, seed);
	memset(k->pseudonym, 0x03, sizeof k->pseudonym);
	memset(seed, 0x04, sizeof seed);
	crypto_sign_seed_keypair(k->holder_pk, k->holder_sk, seed);
	memset(seed, 0x05, sizeof seed);
	crypto_sign_seed_keypair(k->device_pk, k->device_sk, seed);
	memset(seed, 0x06, sizeof seed);
	crypto_sign_seed_keypair(k->issuer_pk, k->issuer_sk, seed);
	memset(seed, 0x07, sizeof seed);
	crypto_sign_seed_keypair(k->token_pk[0], k->token_sk[0], seed);
	memset(seed, 0x08, sizeof seed);
	crypto_sign_seed_keypair(k->token_pk[1], k->token_sk[1], seed);
}

/* Builders return 0 or an error; they abort nothing so a broken library
 * shows up as a failed check with its error name. */

static int build_credential(struct as_credential *c)
{
	int rc;

	memset(c, 0, sizeof *c);
	c->flags = 0;
	if ((rc = as_pid_from_phone(c->pid, K.pseudonym, V_PHONE)) != 0)
		return rc;
	memcpy(c->holder_pk, K.holder_pk, AS_SIGN_PK_LEN);
	c->issued_at = V_ISSUED;
	c->expires_at = V_EXPIRES;
	memset(c->capsule, V_PASS_CAPSULE_BYTE, AS_CAPSULE_LEN);
	return as_credential_sign(c, K.auth_sk);
}

static int build_card_credential(struct as_credential *c)
{
	int rc;

	memset(c, 0, sizeof *c);
	c->flags = AS_CRED_CARD;
	if ((rc = as_pid_from_phone(c->pid, K.pseudonym, V_CARD_PHONE)) != 0)
		return rc;
	/* holder_pk stays all zero: a card has no holder key */
	c->issued_at = V_ISSUED;
	c->expires_at = V_EXPIRES;
	memset(c->capsule, V_CARD_CAPSULE_BYTE, AS_CAPSULE_LEN);
	return as_credential_sign(c, K.auth_sk);
}

static int build_pass(struct as_pass *p)
{
	struct as_credential c;
	int rc = build_credential(&c);

	return rc ? rc : as_pass_make(p, &c, V_PASS_TIME, K.holder_sk);
}

static int build_record_pass(struct as_record *r)
{
	struct as_credential c;
	int rc = build_credential(&c);

	memset(r, 0, sizeof *r);
	r->kind = AS_REC_PASS;
	r->flags = 0;
	r->seq = 1;
	r->entry_time = V_PASS_TIME + 2;
	r->exit_time = 0;
	r->mono_ms = 3723000;
	for (int i = 0; i < AS_BOOT_ID_LEN; i++)
		r->boot_id[i] = (uint8_t)(0xB0 + i);
	memcpy(r->pid, c.pid, AS_PID_LEN);
	r->headcount = 1;
	r->entered_by = 0;
	r->credential_expires = c.expires_at;
	memcpy(r->capsule, c.capsule, AS_CAPSULE_LEN);
	return rc;
}

static void build_record_manual(struct as_record *r)
{
	memset(r, 0, sizeof *r);
	r->kind = AS_REC_MANUAL;
	r->flags = AS_REC_CLOCK_UNSYNCED | AS_REC_TIME_CORRECTED;
	r->seq = 2;
	r->entry_time = V_PASS_TIME + 300;
	r->exit_time = V_PASS_TIME + 3900;
	r->mono_ms = 4021000;
	for (int i = 0; i < AS_BOOT_ID_LEN; i++)
		r->boot_id[i] = (uint8_t)(0xB0 + i);
	/* pid all zero: the cloud derives it from the capsule */
	r->headcount = 2;
	r->entered_by = 1001;
	r->credential_expires = 0;
	memset(r->capsule, V_MANUAL_CAPSULE_BYTE, AS_CAPSULE_LEN);
}

static int build_batch_parts(struct as_batch_header *h, struct as_record recs[2])
{
	int rc;

	memset(h, 0, sizeof *h);
	as_gateway_id(h->gw_id, K.device_pk);
	h->batch_seq = 1;
	h->first_seq = 1;
	h->created = V_PASS_TIME + 360;
	for (int i = 0; i < AS_JOURNAL_ID_LEN; i++)
		h->journal_id[i] = (uint8_t)(0x10 + i);
	/* chain_prev: the genesis link (all zero), as before a journal's first
	 * record; as_batch_encode sets chain_head. */
	if ((rc = build_record_pass(&recs[0])) != 0)
		return rc;
	build_record_manual(&recs[1]);
	return 0;
}

/* The cloud's ack of the batch vector: through seq 2, following that
 * batch's chain (journal 10..1f, link after seq 2 = its chain_head, filled
 * in by v_ack). */
static void build_ack(struct as_ack *a)
{
	memset(a, 0, sizeof *a);
	as_gateway_id(a->gw_id, K.device_pk);
	a->through_seq = 2;
	a->cloud_time_ms = INT64_C(1767229561234);
	for (int i = 0; i < AS_JOURNAL_ID_LEN; i++)
		a->journal_id[i] = (uint8_t)(0x10 + i);
	a->chain_seq = 2;
}

#define V_CHAIN_HEAD_BYTE 0xC4

static void build_heartbeat(struct as_heartbeat *h)
{
	memset(h, 0, sizeof *h);
	as_gateway_id(h->gw_id, K.device_pk);
	h->sent_at = V_PASS_TIME + 600;
	h->up_since = V_ISSUED;
	for (int i = 0; i < AS_BOOT_ID_LEN; i++)
		h->boot_id[i] = (uint8_t)(0xB0 + i);
	h->interval = 300;
	h->clock_state = AS_CLOCK_SYNCED;
	h->last_seq = 2;
	h->acked_seq = 2;
	memset(h->chain_head, V_CHAIN_HEAD_BYTE, AS_CHAIN_HEAD_LEN);
	h->journal_records = 2;
	h->journal_used = 65536;
	h->journal_size = UINT64_C(4294967296);
}

/* The lists point into the caller's arrays. */
static void build_policy(struct as_policy *p, uint8_t gws[1][16], uint8_t holders[1][16])
{
	memset(p, 0, sizeof *p);
	p->policy_seq = 1;
	p->issued_at = V_ISSUED;
	p->alert_level = 3;
	memcpy(p->contact_pk, K.contact_pk, AS_BOX_PK_LEN);
	memset(gws[0], 0xEE, 16);
	as_holder_id(holders[0], K.holder_pk);
	p->n_revoked_gateways = 1;
	p->revoked_gateways = gws;
	p->n_revoked_holders = 1;
	p->revoked_holders = holders;
}

static void build_policy_empty(struct as_policy *p)
{
	memset(p, 0, sizeof *p);
	p->policy_seq = 2;
	p->issued_at = V_ISSUED + 86400;
	p->alert_level = 4;
	memcpy(p->contact_pk, K.contact_pk, AS_BOX_PK_LEN);
}

#define V_V1_UNTIL INT64_C(1772323200)     /* 2026-03-01T00:00:00Z */

/* Version 2: no revocations, all four sections. */
static void build_policy_v2(struct as_policy *p, uint8_t issuer[1][32],
			    struct as_policy_category cats[2],
			    struct as_policy_gateway_category gcs[1])
{
	memset(p, 0, sizeof *p);
	p->policy_seq = 3;
	p->issued_at = V_ISSUED + 2 * 86400;
	p->alert_level = 3;
	memcpy(p->contact_pk, K.contact_pk, AS_BOX_PK_LEN);
	memcpy(issuer[0], K.issuer_pk, 32);
	p->n_issuer_keys = 1;
	p->issuer_keys = issuer;
	p->v1_until_set = 1;
	p->v1_passes_until = V_V1_UNTIL;
	memset(cats, 0, 2 * sizeof *cats);
	strcpy(cats[0].name, "restaurant");
	cats[0].min_level = 2;
	strcpy(cats[1].name, "public-office");
	cats[1].min_level = 4;
	p->n_category_levels = 2;
	p->category_levels = cats;
	memset(gcs, 0, sizeof *gcs);
	as_gateway_id(gcs[0].gw_id, K.device_pk);
	strcpy(gcs[0].category, "restaurant");
	p->n_gateway_categories = 1;
	p->gateway_categories = gcs;
}

/* Visit token i (0 or 1): token id 70..7f (or 80..8f), expiring with the
 * credential, for token key i, signed by the vector issuer key. */
static int build_token(struct as_token *t, int i)
{
	memset(t, 0, sizeof *t);
	as_issuer_kid(t->issuer_kid, K.issuer_pk);
	for (int b = 0; b < AS_TOKEN_ID_LEN; b++)
		t->token_id[b] = (uint8_t)(0x70 + 0x10 * i + b);
	t->expires_at = V_EXPIRES;
	memcpy(t->token_pk, K.token_pk[i], AS_SIGN_PK_LEN);
	return as_token_sign(t, K.issuer_sk);
}

static int build_pass_v2(struct as_pass2 *p)
{
	struct as_token t;
	int rc = build_token(&t, 0);

	return rc ? rc : as_pass2_make(p, &t, V_PASS_TIME, K.token_sk[0]);
}

/* The capsule plaintext, built from the layout in docs/PROTOCOL.md (the
 * library builds it only inside as_capsule_seal). */
static void build_capsule_plain(uint8_t plain[AS_CAPSULE_PLAIN_LEN])
{
	const char *phone = "+821012345678", *name = V_NAME;

	memset(plain, 0, AS_CAPSULE_PLAIN_LEN);
	plain[0] = 1;
	plain[1] = (uint8_t)strlen(phone);
	memcpy(plain + 2, phone, strlen(phone));
	plain[18] = (uint8_t)strlen(name);
	memcpy(plain + 19, name, strlen(name));
}

/* ---- the vector table -------------------------------------------------- */

#define VEC_MAX 1024

/* Build vector bytes into out; returns the length or an error. */
typedef int (*vec_build_fn)(uint8_t *out, size_t cap);

static int copy_out(uint8_t *out, size_t cap, const void *src, size_t n)
{
	if (n > cap)
		return AS_E_OVERSIZE;
	memcpy(out, src, n);
	return (int)n;
}

static int v_authority_pk(uint8_t *o, size_t c) { return copy_out(o, c, K.auth_pk, 32); }
static int v_contact_pk(uint8_t *o, size_t c) { return copy_out(o, c, K.contact_pk, 32); }
static int v_holder_pk(uint8_t *o, size_t c) { return copy_out(o, c, K.holder_pk, 32); }
static int v_device_pk(uint8_t *o, size_t c) { return copy_out(o, c, K.device_pk, 32); }

static int v_pid(uint8_t *o, size_t c)
{
	uint8_t pid[AS_PID_LEN];
	int rc = as_pid_from_phone(pid, K.pseudonym, V_PHONE);

	return rc ? rc : copy_out(o, c, pid, sizeof pid);
}

static int v_gateway_id(uint8_t *o, size_t c)
{
	uint8_t id[AS_GWID_LEN];

	as_gateway_id(id, K.device_pk);
	return copy_out(o, c, id, sizeof id);
}

static int v_holder_id(uint8_t *o, size_t c)
{
	uint8_t id[AS_HOLDER_ID_LEN];

	as_holder_id(id, K.holder_pk);
	return copy_out(o, c, id, sizeof id);
}

static int v_capsule_plain(uint8_t *o, size_t c)
{
	uint8_t plain[AS_CAPSULE_PLAIN_LEN];

	build_capsule_plain(plain);
	return copy_out(o, c, plain, sizeof plain);
}

static int v_credential(uint8_t *o, size_t c)
{
	struct as_credential cred;
	int rc = build_credential(&cred);

	return rc ? rc : as_credential_encode(o, c, &cred);
}

static int v_pass(uint8_t *o, size_t c)
{
	struct as_pass p;
	int rc = build_pass(&p);

	return rc ? rc : as_pass_encode(o, c, &p);
}

static int v_pass_qr(uint8_t *o, size_t c)
{
	struct as_pass p;
	int rc = build_pass(&p);

	return rc ? rc : as_pass_to_text((char *)o, c, &p);
}

static int v_card_credential(uint8_t *o, size_t c)
{
	struct as_credential cred;
	int rc = build_card_credential(&cred);

	return rc ? rc : as_credential_encode(o, c, &cred);
}

static int v_card(uint8_t *o, size_t c)
{
	struct as_credential cred;
	int rc = build_card_credential(&cred);

	return rc ? rc : as_card_encode(o, c, &cred);
}

static int v_card_qr(uint8_t *o, size_t c)
{
	struct as_credential cred;
	int rc = build_card_credential(&cred);

	return rc ? rc : as_card_to_text((char *)o, c, &cred);
}

static int v_record_pass(uint8_t *o, size_t c)
{
	struct as_record r;
	int rc = build_record_pass(&r);

	return rc ? rc : as_record_encode(o, c, &r);
}

static int v_record_manual(uint8_t *o, size_t c)
{
	struct as_record r;

	build_record_manual(&r);
	return as_record_encode(o, c, &r);
}

static int v_batch(uint8_t *o, size_t c)
{
	struct as_batch_header h;
	struct as_record recs[2];
	int rc = build_batch_parts(&h, recs);

	return rc ? rc : as_batch_encode(o, c, &h, recs, 2, K.device_sk);
}

/* The same two records as a version 1 batch (decoded, no longer encoded):
 * the version 2 header's first 54 bytes with version 1, each record
 * without its digest, signed again. */
static int v_batch_v1(uint8_t *o, size_t c)
{
	uint8_t v2[VEC_MAX];
	int n = v_batch(v2, sizeof v2);
	size_t len = AS_BATCH_V1_HEADER_LEN;

	if (n < 0)
		return n;
	if (c < AS_BATCH_V1_HEADER_LEN + 2 * AS_BATCH_V1_ENTRY_LEN + AS_SIG_LEN)
		return AS_E_OVERSIZE;
	memcpy(o, v2, AS_BATCH_V1_HEADER_LEN);
	o[1] = 1;
	for (int i = 0; i < 2; i++) {
		memcpy(o + len, v2 + AS_BATCH_HEADER_LEN + i * AS_BATCH_ENTRY_LEN,
		       AS_BATCH_V1_ENTRY_LEN);
		len += AS_BATCH_V1_ENTRY_LEN;
	}
	crypto_sign_detached(o + len, NULL, o, len, K.device_sk);
	return (int)(len + AS_SIG_LEN);
}

/* The chain of the batch vector: digest of record_pass, digest of
 * record_manual, and the link after both from the genesis (= the batch's
 * chain_head). */
static int v_chain(uint8_t *o, size_t c)
{
	struct as_batch_header h;
	struct as_record recs[2];
	uint8_t digests[2][AS_CHAIN_LEN], genesis[AS_CHAIN_LEN] = {0};
	int rc = build_batch_parts(&h, recs);

	if (rc)
		return rc;
	if (c < 3 * AS_CHAIN_LEN)
		return AS_E_OVERSIZE;
	recs[1].seq = 2;
	as_chain_record_digest(&recs[0], digests[0]);
	as_chain_record_digest(&recs[1], digests[1]);
	memcpy(o, digests, 2 * AS_CHAIN_LEN);
	as_chain_fold(genesis, (const uint8_t (*)[AS_CHAIN_LEN])digests, 2, o + 2 * AS_CHAIN_LEN);
	return 3 * AS_CHAIN_LEN;
}

/* record_pass purged into a placeholder: the personal hash of
 * record_pass (its seal, as a batch carries it), the placeholder record,
 * and its digest recomputed from both (= the digest of record_pass). */
static int v_chain_placeholder(uint8_t *o, size_t c)
{
	struct as_record rec;
	int rc = build_record_pass(&rec);

	if (rc)
		return rc;
	if (c < 2 * AS_CHAIN_LEN + AS_RECORD_LEN)
		return AS_E_OVERSIZE;
	as_chain_record_personal(&rec, o);
	as_record_make_placeholder(&rec);
	(void)as_record_encode(o + AS_CHAIN_LEN, AS_RECORD_LEN, &rec);
	as_chain_digest_of(&rec, o, o + AS_CHAIN_LEN + AS_RECORD_LEN);
	return 2 * AS_CHAIN_LEN + AS_RECORD_LEN;
}

static int v_ack(uint8_t *o, size_t c)
{
	struct as_ack a;
	uint8_t chain[3 * AS_CHAIN_LEN];
	int rc = v_chain(chain, sizeof chain);

	if (rc < 0)
		return rc;
	build_ack(&a);
	memcpy(a.chain_link, chain + 2 * AS_CHAIN_LEN, AS_CHAIN_LEN);
	return as_ack_encode(o, c, &a, K.auth_sk);
}

/* The same ack as version 1 (no chain fields), as a cloud before ack
 * version 2 signed it. */
static int v_ack_v1(uint8_t *o, size_t c)
{
	struct as_ack a;

	if (c < AS_ACK_V1_LEN)
		return AS_E_OVERSIZE;
	build_ack(&a);
	test_ack_v1_make(o, a.gw_id, a.through_seq, a.cloud_time_ms, K.auth_sk);
	return AS_ACK_V1_LEN;
}

static int v_heartbeat(uint8_t *o, size_t c)
{
	struct as_heartbeat h;

	build_heartbeat(&h);
	return as_heartbeat_encode(o, c, &h, K.device_sk);
}

static int v_policy(uint8_t *o, size_t c)
{
	struct as_policy p;
	uint8_t gws[1][16], holders[1][16];

	build_policy(&p, gws, holders);
	return as_policy_encode(o, c, &p, K.auth_sk);
}

static int v_policy_empty(uint8_t *o, size_t c)
{
	struct as_policy p;

	build_policy_empty(&p);
	return as_policy_encode(o, c, &p, K.auth_sk);
}

static int v_policy_v2(uint8_t *o, size_t c)
{
	struct as_policy p;
	uint8_t issuer[1][32];
	struct as_policy_category cats[2];
	struct as_policy_gateway_category gcs[1];

	build_policy_v2(&p, issuer, cats, gcs);
	return as_policy_encode(o, c, &p, K.auth_sk);
}

static int v_token(uint8_t *o, size_t c)
{
	struct as_token t;
	int rc = build_token(&t, 0);

	return rc ? rc : as_token_encode(o, c, &t);
}

static int v_pass_v2(uint8_t *o, size_t c)
{
	struct as_pass2 p;
	int rc = build_pass_v2(&p);

	return rc ? rc : as_pass2_encode(o, c, &p);
}

static int v_pass_v2_qr(uint8_t *o, size_t c)
{
	struct as_pass2 p;
	int rc = build_pass_v2(&p);

	return rc ? rc : as_pass2_to_text((char *)o, c, &p);
}

/* The wallet's request for the two token keys: fixed request id 52 x 16
 * (as_token_request_make draws a random one), signed by the holder. */
static int v_token_request(uint8_t *o, size_t c)
{
	struct as_token_request r;
	int n;

	memset(&r, 0, sizeof r);
	memcpy(r.holder_pk, K.holder_pk, AS_SIGN_PK_LEN);
	memset(r.request_id, 0x52, sizeof r.request_id);
	r.created_at = V_PASS_TIME;
	r.n = 2;
	memcpy(r.token_pks, K.token_pk, sizeof K.token_pk);
	n = as_token_request_encode(o, c, &r);
	if (n < 0)
		return n;
	crypto_sign_detached(o + n - AS_SIG_LEN, NULL, o, (size_t)n - AS_SIG_LEN, K.holder_sk);
	return n;
}

static int v_token_batch(uint8_t *o, size_t c)
{
	struct as_token_batch b;
	int rc;

	memset(&b, 0, sizeof b);
	b.n = 2;
	if ((rc = build_token(&b.tokens[0], 0)) != 0 || (rc = build_token(&b.tokens[1], 1)) != 0)
		return rc;
	return as_token_batch_encode(o, c, &b);
}

/* The gateway's record of the pass v2 vector. */
static int v_record_token(uint8_t *o, size_t c)
{
	struct as_record r;
	struct as_token t;
	int rc = build_token(&t, 0);

	if (rc)
		return rc;
	memset(&r, 0, sizeof r);
	r.kind = AS_REC_TOKEN;
	r.seq = 3;
	r.entry_time = V_PASS_TIME + 2;
	r.mono_ms = 3725000;
	for (int i = 0; i < AS_BOOT_ID_LEN; i++)
		r.boot_id[i] = (uint8_t)(0xB0 + i);
	memcpy(r.pid, t.token_id, AS_TOKEN_ID_LEN);
	r.headcount = 1;
	r.credential_expires = t.expires_at;
	/* capsule all zero */
	return as_record_encode(o, c, &r);
}

static int v_issuer_pk(uint8_t *o, size_t c)
{
	if (c < AS_SIGN_PK_LEN)
		return AS_E_OVERSIZE;
	memcpy(o, K.issuer_pk, AS_SIGN_PK_LEN);
	return AS_SIGN_PK_LEN;
}

/* The self-service enrolment request of section 25: the device key asks
 * for a new venue number, "제주 카페", category cafe, 45 minutes. */
static int build_enrol_request(struct as_enrolreq *r)
{
	memset(r, 0, sizeof *r);
	r->created_at = V_ISSUED;
	r->venue_id = 0;
	r->dwell_minutes = 45;
	snprintf(r->category, sizeof r->category, "cafe");
	snprintf(r->name, sizeof r->name, "\xec\xa0\x9c\xec\xa3\xbc \xec\xb9\xb4\xed\x8e\x98");
	snprintf(r->address, sizeof r->address, "Hallim-eup 1");
	return as_enrolreq_sign(r, K.device_sk);
}

static int v_enrol_request(uint8_t *o, size_t c)
{
	struct as_enrolreq r;
	int rc = build_enrol_request(&r);

	return rc ? rc : as_enrolreq_encode(o, c, &r);
}

static int v_enrol_request_qr(uint8_t *o, size_t c)
{
	struct as_enrolreq r;
	int rc = build_enrol_request(&r);

	return rc ? rc : as_enrolreq_to_text((char *)o, c, &r);
}

/* The enrolment credential the issuer (seed 06) gives the vectors'
 * holder: consent version 1 from V_ISSUED for 8 weeks. */
static int v_enrolment(uint8_t *o, size_t c)
{
	struct as_enrolment e;
	int rc;

	memset(&e, 0, sizeof e);
	memcpy(e.holder_pk, K.holder_pk, AS_SIGN_PK_LEN);
	e.consent_version = 1;
	e.issued_at = V_ISSUED;
	e.expires_at = V_ISSUED + 56 * INT64_C(86400);
	if ((rc = as_enrolment_sign(&e, K.issuer_sk)) != 0)
		return rc;
	return as_enrolment_encode(o, c, &e);
}

/* ---- the capsule feed (section 23) ---- */

#define V_TOKCAP_KEY_BYTE 0x07    /* the batch key: 32 x 07 */
#define V_TOKCAP_NONCE_BYTE 0x08  /* the capsule's nonce: 24 x 08 */
#define V_TOKCAP_SERIAL UINT64_C(0x00060504030201) /* the issue's serial */
#define V_TOKCAP_COUNT 64         /* its tokens */
#define V_FEED_SEALED_BYTE 0xCE   /* the sealed batch key: 80 x ce */
#define V_FEED_OTHER_SERIAL 7     /* the second issue: serial 7, */
#define V_FEED_OTHER_COUNT 3      /* 3 tokens, */
#define V_FEED_OTHER_CAP_BYTE 0xCF /* and its capsule: 171 x cf */
#define V_TOKID_R_BYTE 0x21       /* a token id's random half: 8 x 21 */
#define V_TOKID_KEY_BYTE 0x22     /* tokenid.key: 32 x 22 */
#define V_TOKID_INDEX 5           /* token 5 of issue V_TOKCAP_SERIAL */

/* A token id as as_token_id_derive makes it, with r fixed: r ||
 * ChaCha20(key, nonce r) XOR (serial u56 || index u8, big-endian). */
static int v_token_id(uint8_t *o, size_t c)
{
	uint8_t key[AS_TOKEN_ID_KEY_LEN], plain[8];

	if (c < AS_TOKEN_ID_LEN)
		return AS_E_OVERSIZE;
	memset(key, V_TOKID_KEY_BYTE, sizeof key);
	memset(o, V_TOKID_R_BYTE, 8);
	as_put_be64(plain, V_TOKCAP_SERIAL << 8 | V_TOKID_INDEX);
	crypto_stream_chacha20_xor(o + 8, plain, sizeof plain, o, key);
	return AS_TOKEN_ID_LEN;
}

/* The token capsule: the contact capsule 131 x ca (the phone credential's
 * fixed capsule) under the fixed batch key and nonce, as cl_tokcap_seal
 * computes it with a random nonce. */
static int v_token_capsule(uint8_t *o, size_t c)
{
	uint8_t key[CL_TOKCAP_KEY_LEN], contact[AS_CAPSULE_LEN];
	uint8_t ad[15 + 8 + 8 + 1];
	struct as_writer w;

	if (c < CL_TOKCAP_LEN)
		return AS_E_OVERSIZE;
	memset(key, V_TOKCAP_KEY_BYTE, sizeof key);
	memset(contact, V_PASS_CAPSULE_BYTE, sizeof contact);
	as_writer_init(&w, ad, sizeof ad);
	as_writer_bytes(&w, "anshim-tokcap-2", 15);
	as_writer_u64(&w, V_TOKCAP_SERIAL);
	as_writer_i64(&w, V_EXPIRES);
	as_writer_u8(&w, V_TOKCAP_COUNT);
	memset(o, V_TOKCAP_NONCE_BYTE, CL_TOKCAP_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(o + CL_TOKCAP_NONCE_LEN, NULL, contact,
						   sizeof contact, ad, sizeof ad, NULL, o, key);
	return CL_TOKCAP_LEN;
}

/* Batch 1 of the vector issuer: the token capsule vector's issue and one
 * more with fixed bytes. */
static int v_feed_batch(uint8_t *o, size_t c)
{
	struct cl_feed_issue t[2];
	struct cl_feed_batch b;
	int rc;

	memset(&b, 0, sizeof b);
	cl_issuer_id(b.issuer_id, K.issuer_pk);
	b.seq = 1;
	b.created = V_ISSUED;
	memset(b.sealed_key, V_FEED_SEALED_BYTE, sizeof b.sealed_key);
	b.count = 2;
	b.issues = t;
	t[0].serial = V_TOKCAP_SERIAL;
	t[0].count = V_TOKCAP_COUNT;
	t[0].expires_at = V_EXPIRES;
	if ((rc = v_token_capsule(t[0].capsule, sizeof t[0].capsule)) < 0)
		return rc;
	t[1].serial = V_FEED_OTHER_SERIAL;
	t[1].count = V_FEED_OTHER_COUNT;
	t[1].expires_at = V_EXPIRES;
	memset(t[1].capsule, V_FEED_OTHER_CAP_BYTE, CL_TOKCAP_LEN);
	return cl_feed_encode(o, c, &b, K.issuer_sk);
}

static int v_feed_ack(uint8_t *o, size_t c)
{
	struct cl_feed_ack a;

	if (c < CL_FEED_ACK_LEN)
		return AS_E_OVERSIZE;
	cl_issuer_id(a.issuer_id, K.issuer_pk);
	a.seq = 1;
	a.cloud_time_ms = INT64_C(1767229561234);
	return cl_feed_ack_encode(o, &a, K.auth_sk);
}

struct vector {
	const char *name;
	int text;          /* 1: stored as a text line (.txt), else hex (.hex) */
	size_t len;        /* expected length per docs/PROTOCOL.md */
	vec_build_fn build;
};

static const struct vector vectors[] = {
	{"authority_pk", 0, 32, v_authority_pk},
	{"contact_pk", 0, 32, v_contact_pk},
	{"holder_pk", 0, 32, v_holder_pk},
	{"device_pk", 0, 32, v_device_pk},
	{"pid", 0, AS_PID_LEN, v_pid},
	{"gateway_id", 0, AS_GWID_LEN, v_gateway_id},
	{"holder_id", 0, AS_HOLDER_ID_LEN, v_holder_id},
	{"capsule_plain", 0, AS_CAPSULE_PLAIN_LEN, v_capsule_plain},
	{"credential", 0, AS_CREDENTIAL_LEN, v_credential},
	{"pass", 0, AS_PASS_LEN, v_pass},
	{"pass_qr", 1, 4 + AS_PASS_LEN / 2 * 3, v_pass_qr},
	{"card_credential", 0, AS_CREDENTIAL_LEN, v_card_credential},
	{"card", 0, AS_CARD_LEN, v_card},
	{"card_qr", 1, 4 + AS_CARD_LEN / 2 * 3, v_card_qr},
	{"record_pass", 0, AS_RECORD_LEN, v_record_pass},
	{"record_manual", 0, AS_RECORD_LEN, v_record_manual},
	{"batch", 0, 134 + 2 * 249 + 64, v_batch},
	{"batch_v1", 0, 54 + 2 * 217 + 64, v_batch_v1},
	{"chain", 0, 3 * 32, v_chain},
	{"chain_placeholder", 0, 32 + AS_RECORD_LEN + 32, v_chain_placeholder},
	{"ack", 0, AS_ACK_LEN, v_ack},
	{"ack_v1", 0, AS_ACK_V1_LEN, v_ack_v1},
	{"policy", 0, 123 + 2 * 16, v_policy},
	{"policy_empty", 0, 123, v_policy_empty},
	{"policy_v2", 0, 238, v_policy_v2},
	{"issuer_pk", 0, 32, v_issuer_pk},
	{"enrolment", 0, AS_ENROLMENT_LEN, v_enrolment},
	{"token", 0, AS_TOKEN_LEN, v_token},
	{"pass_v2", 0, AS_PASS2_LEN, v_pass_v2},
	{"pass_v2_qr", 1, AS_PASS2_TEXT_LEN, v_pass_v2_qr},
	{"token_request", 0, AS_TOKEN_REQUEST_LEN(2), v_token_request},
	{"token_batch", 0, AS_TOKEN_BATCH_LEN(2), v_token_batch},
	{"record_token", 0, AS_RECORD_LEN, v_record_token},
	{"heartbeat", 0, AS_HEARTBEAT_LEN, v_heartbeat},
	{"enrol_request", 0, 144, v_enrol_request},
	{"enrol_request_qr", 1, 4 + 144 / 2 * 3, v_enrol_request_qr},
	{"token_id", 0, AS_TOKEN_ID_LEN, v_token_id},
	{"token_capsule", 0, CL_TOKCAP_LEN, v_token_capsule},
	{"feed_batch", 0, CL_FEED_LEN(2), v_feed_batch},
	{"feed_ack", 0, CL_FEED_ACK_LEN, v_feed_ack},
};
#define N_VECTORS (sizeof vectors / sizeof vectors[0])

/* ---- files ------------------------------------------------------------- */

static char data_dir[512];

static void vec_path(char *out, size_t cap, const char *dir, const struct vector *v)
{
	snprintf(out, cap, "%s/%s.%s", dir, v->name, v->text ? "txt" : "hex");
}

/* Read a checked-in vector into out (VEC_MAX bytes): returns its length or
 * an error.  A .hex file is one line of lower-case hex; a .txt file is one
 * line of text.  Exactly one trailing newline is required. */
static int vec_load(const struct vector *v, uint8_t *out)
{
	char path[640];
	unsigned char *data;
	size_t len;
	int rc;

	vec_path(path, sizeof path, data_dir, v);
	rc = as_file_read_all(path, 4 * VEC_MAX, &data, &len);
	if (rc) {
		fprintf(stderr, "cannot read %s: %s\n", path, as_strerror(rc));
		return rc;
	}
	if (len == 0 || data[len - 1] != '\n' || memchr(data, '\n', len - 1)) {
		rc = AS_E_FIELD; /* not exactly one line */
	} else if (v->text) {
		rc = len - 1 < VEC_MAX ? (int)(len - 1) : AS_E_OVERSIZE;
		if (rc > 0)
			memcpy(out, data, len - 1);
	} else {
		data[len - 1] = '\0';
		if ((len - 1) % 2 || (len - 1) / 2 > VEC_MAX)
			rc = AS_E_HEX;
		else
			rc = as_hex_decode(out, (len - 1) / 2, (char *)data);
		if (rc == 0)
			rc = (int)((len - 1) / 2);
	}
	free(data);
	return rc;
}

static int vec_write(const char *dir, const struct vector *v, const uint8_t *bytes, size_t n)
{
	char path[640], text[2 * VEC_MAX + 2];

	if (v->text) {
		memcpy(text, bytes, n);
		text[n] = '\0';
	} else {
		as_hex_encode(text, bytes, n);
		n *= 2;
	}
	text[n++] = '\n';
	vec_path(path, sizeof path, dir, v);
	return as_file_write_atomic(path, text, n, 0644, 0);
}

static int write_all(const char *dir)
{
	int rc = as_mkdir_p(dir, 0755);

	if (rc) {
		fprintf(stderr, "test_vectors: cannot create %s: %s\n", dir, as_strerror(rc));
		return 1;
	}
	for (size_t i = 0; i < N_VECTORS; i++) {
		uint8_t buf[VEC_MAX];
		int n = vectors[i].build(buf, sizeof buf);

		if (n < 0 || (size_t)n != vectors[i].len) {
			fprintf(stderr, "test_vectors: building %s: %s (length %d, expected %zu)\n",
				vectors[i].name, as_errname(n), n, vectors[i].len);
			return 1;
		}
		rc = vec_write(dir, &vectors[i], buf, (size_t)n);
		if (rc) {
			fprintf(stderr, "test_vectors: writing %s: %s\n", vectors[i].name,
				as_strerror(rc));
			return 1;
		}
		printf("wrote %s/%s.%s (%d bytes)\n", dir, vectors[i].name,
		       vectors[i].text ? "txt" : "hex", n);
	}
	return 0;
}

static const struct vector *vec_find(const char *name)
{
	for (size_t i = 0; i < N_VECTORS; i++)
		if (strcmp(vectors[i].name, name) == 0)
			return &vectors[i];
	abort();
}

/* Load a vector by name into out; 0 on failure (already reported). */
static size_t load(const char *name, uint8_t *out)
{
	int n = vec_load(vec_find(name), out);

	test_ctx("vector %s", name);
	if (!CHECK(n > 0))
		return 0;
	test_ctx_clear();
	return (size_t)n;
}

/* ---- tests ------------------------------------------------------------- */

/* Every vector rebuilt from its inputs equals its file, byte for byte. */
static void test_files_match_rebuild(void)
{
	for (size_t i = 0; i < N_VECTORS; i++) {
		const struct vector *v = &vectors[i];
		uint8_t built[VEC_MAX], file[VEC_MAX];
		int nb = v->build(built, sizeof built), nf;

		test_ctx("vector %s", v->name);
		if (!CHECK_RC(nb, (int)v->len))
			continue;
		nf = vec_load(v, file);
		if (!CHECK_RC(nf, nb))
			continue;
		CHECK_MEM(file, built, (size_t)nb);
	}
}

/* Decode each file with the strict decoder (signatures checked where the
 * format carries one) and encode it again: the same bytes. */
static void test_decode_reencode(void)
{
	uint8_t in[VEC_MAX], out[VEC_MAX];
	size_t n;

	if ((n = load("credential", in)) != 0) {
		struct as_credential c;
		test_ctx("credential");
		CHECK_OK(as_credential_decode(&c, in, n));
		CHECK_OK(as_credential_verify_issuer(&c, K.auth_pk));
		CHECK_RC(as_credential_encode(out, sizeof out, &c), (int)n);
		CHECK_MEM(out, in, n);
		/* re-signing gives the same signature: Ed25519 is deterministic */
		CHECK_OK(as_credential_sign(&c, K.auth_sk));
		CHECK_RC(as_credential_encode(out, sizeof out, &c), (int)n);
		CHECK_MEM(out, in, n);
	}
	if ((n = load("card_credential", in)) != 0) {
		struct as_credential c;
		test_ctx("card_credential");
		CHECK_OK(as_credential_decode(&c, in, n));
		CHECK_OK(as_credential_verify_issuer(&c, K.auth_pk));
		CHECK_EQ_INT(c.flags, AS_CRED_CARD);
		CHECK_RC(as_credential_encode(out, sizeof out, &c), (int)n);
		CHECK_MEM(out, in, n);
	}
	if ((n = load("pass", in)) != 0) {
		struct as_pass p, q;
		test_ctx("pass");
		CHECK_OK(as_pass_decode(&p, in, n));
		CHECK_OK(as_credential_verify_issuer(&p.cred, K.auth_pk));
		CHECK_RC(as_pass_encode(out, sizeof out, &p), (int)n);
		CHECK_MEM(out, in, n);
		CHECK_OK(as_pass_make(&q, &p.cred, p.timestamp, K.holder_sk));
		CHECK_MEM(q.holder_sig, p.holder_sig, AS_SIG_LEN);
	}
	if ((n = load("card", in)) != 0) {
		struct as_credential c;
		test_ctx("card");
		CHECK_OK(as_card_decode(&c, in, n));
		CHECK_RC(as_card_encode(out, sizeof out, &c), (int)n);
		CHECK_MEM(out, in, n);
	}
	static const char *const records[] = {"record_pass", "record_manual"};
	for (size_t i = 0; i < 2; i++) {
		if ((n = load(records[i], in)) != 0) {
			struct as_record r;
			test_ctx("%s", records[i]);
			CHECK_OK(as_record_decode(&r, in, n));
			CHECK_RC(as_record_encode(out, sizeof out, &r), (int)n);
			CHECK_MEM(out, in, n);
		}
	}
	if ((n = load("batch", in)) != 0) {
		struct as_batch_header h;
		struct as_record recs[4];
		uint8_t digests[4][AS_CHAIN_LEN];
		uint8_t gw[AS_GWID_LEN], want_gw[AS_GWID_LEN];
		test_ctx("batch");
		CHECK_OK(as_batch_verify(in, n, K.device_pk));
		CHECK_OK(as_batch_peek_gateway(gw, in, n));
		as_gateway_id(want_gw, K.device_pk);
		CHECK_MEM(gw, want_gw, AS_GWID_LEN);
		if (CHECK_OK(as_batch_decode_chained(&h, recs, digests, 4, in, n))) {
			uint8_t chain[VEC_MAX];
			size_t at = 99;

			CHECK_EQ_INT(h.version, 2);
			CHECK_EQ_INT(h.count, 2);
			CHECK_EQ_INT(h.last_seq, 2);
			CHECK_EQ_INT(h.journal_id[0], 0x10);
			CHECK(as_chain_is_genesis(h.chain_prev));
			CHECK_EQ_INT(as_chain_verify(h.chain_prev, h.chain_head, recs,
						     (const uint8_t (*)[AS_CHAIN_LEN])digests, 2,
						     INT64_MAX, INT64_MAX, &at),
				     AS_CHAIN_INTACT);
			if (load("chain", chain) == 3 * AS_CHAIN_LEN) {
				uint8_t ph[VEC_MAX];

				CHECK_MEM(digests, chain, 2 * AS_CHAIN_LEN);
				CHECK_MEM(h.chain_head, chain + 2 * AS_CHAIN_LEN, AS_CHAIN_LEN);
				/* The placeholder made from record 1 folds as
				 * record 1 did, given its seal; younger than the
				 * horizon it is a break. */
				if (load("chain_placeholder", ph) == 2 * AS_CHAIN_LEN + AS_RECORD_LEN) {
					struct as_record p[2] = {recs[0], recs[1]};
					uint8_t seals[2][AS_CHAIN_LEN];

					if (CHECK_OK(as_record_decode(&p[0], ph + AS_CHAIN_LEN,
								      AS_RECORD_LEN))) {
						CHECK_EQ_INT(p[0].kind, AS_REC_EXPIRED);
						memcpy(seals[0], ph, AS_CHAIN_LEN);
						memcpy(seals[1], digests[1], AS_CHAIN_LEN);
						as_chain_unseal(p, seals, 2);
						CHECK_MEM(seals[0], chain, AS_CHAIN_LEN);
						CHECK_MEM(seals[0], ph + AS_CHAIN_LEN + AS_RECORD_LEN,
							  AS_CHAIN_LEN);
						CHECK_EQ_INT(as_chain_verify(h.chain_prev, h.chain_head, p,
									     (const uint8_t (*)[AS_CHAIN_LEN])seals,
									     2, p[0].entry_time + 1, INT64_MAX, &at),
							     AS_CHAIN_INTACT);
						CHECK_EQ_INT(as_chain_verify(h.chain_prev, h.chain_head, p,
									     (const uint8_t (*)[AS_CHAIN_LEN])seals,
									     2, p[0].entry_time, INT64_MAX, &at),
							     AS_CHAIN_EARLY_PLACEHOLDER);
					}
				}
			}
			CHECK_RC(as_batch_encode_chained(out, sizeof out, &h, recs,
							 (const uint8_t (*)[AS_CHAIN_LEN])digests,
							 h.count, K.device_sk), (int)n);
			CHECK_MEM(out, in, n);
			CHECK_RC(as_batch_encode(out, sizeof out, &h, recs, h.count, K.device_sk),
				 (int)n);
			CHECK_MEM(out, in, n);
		}
	}
	if ((n = load("batch_v1", in)) != 0) {
		struct as_batch_header h, h2;
		struct as_record recs[4], recs2[4];
		uint8_t v2[VEC_MAX];
		size_t n2 = load("batch", v2);

		test_ctx("batch_v1");
		CHECK_OK(as_batch_verify(in, n, K.device_pk));
		if (CHECK_OK(as_batch_decode(&h, recs, 4, in, n)) && n2 &&
		    CHECK_OK(as_batch_decode(&h2, recs2, 4, v2, n2))) {
			CHECK_EQ_INT(h.version, 1);
			CHECK_EQ_INT(h.count, 2);
			CHECK(sodium_is_zero(h.journal_id, AS_JOURNAL_ID_LEN));
			CHECK(sodium_is_zero(h.chain_head, AS_CHAIN_LEN));
			for (int i = 0; i < 2; i++) {
				uint8_t e1[AS_RECORD_LEN], e2[AS_RECORD_LEN];

				CHECK_RC(as_record_encode(e1, sizeof e1, &recs[i]), AS_RECORD_LEN);
				CHECK_RC(as_record_encode(e2, sizeof e2, &recs2[i]), AS_RECORD_LEN);
				CHECK_MEM(e1, e2, AS_RECORD_LEN);
			}
		}
	}
	if ((n = load("ack", in)) != 0) {
		struct as_ack a;
		test_ctx("ack");
		CHECK_OK(as_ack_decode(&a, in, n, K.auth_pk));
		CHECK_RC(as_ack_encode(out, sizeof out, &a, K.auth_sk), (int)n);
		CHECK_MEM(out, in, n);
	}
	if ((n = load("ack_v1", in)) != 0) {
		struct as_ack a;
		test_ctx("ack_v1");
		if (CHECK_OK(as_ack_decode(&a, in, n, K.auth_pk))) {
			/* Decoded without a chain; re-encoded as version 1. */
			CHECK_EQ_INT(a.version, 1);
			CHECK(!as_ack_has_chain(&a));
			test_ack_v1_make(out, a.gw_id, a.through_seq, a.cloud_time_ms, K.auth_sk);
			CHECK_MEM(out, in, n);
		}
	}
	if ((n = load("heartbeat", in)) != 0) {
		struct as_heartbeat h;
		test_ctx("heartbeat");
		CHECK_OK(as_heartbeat_verify(in, n, K.device_pk));
		if (CHECK_OK(as_heartbeat_decode(&h, in, n))) {
			CHECK_RC(as_heartbeat_encode(out, sizeof out, &h, K.device_sk), (int)n);
			CHECK_MEM(out, in, n);
		}
	}
	static const char *const policies[] = {"policy", "policy_empty", "policy_v2"};
	for (size_t i = 0; i < 3; i++) {
		if ((n = load(policies[i], in)) != 0) {
			struct as_policy p;
			test_ctx("%s", policies[i]);
			if (CHECK_OK(as_policy_decode(&p, in, n, K.auth_pk))) {
				CHECK_RC(as_policy_encode(out, sizeof out, &p, K.auth_sk), (int)n);
				CHECK_MEM(out, in, n);
				as_policy_free(&p);
			}
		}
	}
	test_ctx_clear();
}

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The offsets of section 11 on the batch vector of version 1 or 2. */
static void check_batch_offsets(const uint8_t *b, size_t n, int version, const uint8_t *gw)
{
	uint8_t r1[VEC_MAX], r2[VEC_MAX], chain[VEC_MAX];
	size_t header = version == 2 ? 134 : 54, entry = version == 2 ? 249 : 217;
	size_t sig = header + 2 * entry;

	test_ctx("batch version %d offsets", version);
	CHECK_EQ_INT(b[0], 0x42);
	CHECK_EQ_INT(b[1], version);
	CHECK_MEM(b + 2, gw, 16);
	CHECK_EQ_INT(le(b + 18, 8), 1);
	CHECK_EQ_INT(le(b + 26, 8), 1);
	CHECK_EQ_INT(le(b + 34, 8), 2);
	CHECK_EQ_INT(le(b + 42, 4), 2);
	CHECK_EQ_INT(le(b + 46, 8), V_PASS_TIME + 360);
	CHECK_EQ_INT(le(b + header, 2), 215);
	if (load("record_pass", r1))
		CHECK_MEM(b + header + 2, r1, 215);
	CHECK_EQ_INT(le(b + header + entry, 2), 215);
	if (load("record_manual", r2))
		CHECK_MEM(b + header + entry + 2, r2, 215);
	if (version == 2) {
		CHECK_EQ_INT(b[54], 0x10);
		CHECK_EQ_INT(b[69], 0x1F);
		CHECK(sodium_is_zero(b + 70, 32));
		if (load("chain", chain)) {
			CHECK_MEM(b + 102, chain + 64, 32);  /* chain_head */
			CHECK_MEM(b + 351, chain, 32);       /* digest of record 1 */
			CHECK_MEM(b + 600, chain + 32, 32);  /* digest of record 2 */
		}
	}
	CHECK_EQ_INT(n, sig + 64);
	CHECK(crypto_sign_verify_detached(b + sig, b, sig, K.device_pk) == 0);
}

/* The offsets of the byte tables in docs/PROTOCOL.md, read straight off the
 * vector files. */
static void test_documented_offsets(void)
{
	uint8_t b[VEC_MAX], pid[VEC_MAX], gw[VEC_MAX], hid[VEC_MAX], cpk[VEC_MAX];
	size_t n;

	if (!load("pid", pid) || !load("gateway_id", gw) || !load("holder_id", hid) ||
	    !load("contact_pk", cpk))
		return;

	if ((n = load("credential", b)) != 0) {
		test_ctx("credential offsets");
		CHECK_EQ_INT(b[0], 0x43);
		CHECK_EQ_INT(b[1], 1);
		CHECK_EQ_INT(b[2], 0);
		CHECK_MEM(b + 3, pid, 16);
		CHECK_MEM(b + 19, K.holder_pk, 32);
		CHECK_EQ_INT(le(b + 51, 8), V_ISSUED);
		CHECK_EQ_INT(le(b + 59, 8), V_EXPIRES);
		CHECK_EQ_INT(le(b + 67, 2), 131);
		CHECK_EQ_INT(b[69], 0xCA);
		CHECK_EQ_INT(b[199], 0xCA);
		CHECK(crypto_sign_verify_detached(b + 200, b, 200, K.auth_pk) == 0);
	}
	if ((n = load("pass", b)) != 0) {
		uint8_t cred[VEC_MAX];
		test_ctx("pass offsets");
		CHECK_EQ_INT(b[0], 0x50);
		CHECK_EQ_INT(b[1], 1);
		if (load("credential", cred))
			CHECK_MEM(b + 2, cred, 264);
		CHECK_EQ_INT(le(b + 266, 8), V_PASS_TIME);
		CHECK(crypto_sign_verify_detached(b + 274, b, 274, K.holder_pk) == 0);
	}
	if ((n = load("card", b)) != 0) {
		uint8_t cred[VEC_MAX];
		test_ctx("card offsets");
		CHECK_EQ_INT(b[0], 0x4B);
		CHECK_EQ_INT(b[1], 1);
		if (load("card_credential", cred))
			CHECK_MEM(b + 2, cred, 264);
		CHECK_EQ_INT(b[2 + 2], AS_CRED_CARD);
		for (int i = 0; i < 32; i++)
			CHECK_EQ_INT(b[2 + 19 + i], 0);
	}
	if ((n = load("record_pass", b)) != 0) {
		test_ctx("record offsets");
		CHECK_EQ_INT(b[0], 0x52);
		CHECK_EQ_INT(b[1], 1);
		CHECK_EQ_INT(b[2], AS_REC_PASS);
		CHECK_EQ_INT(b[3], 0);
		CHECK_EQ_INT(le(b + 4, 8), 1);
		CHECK_EQ_INT(le(b + 12, 8), V_PASS_TIME + 2);
		CHECK_EQ_INT(le(b + 20, 8), 0);
		CHECK_EQ_INT(le(b + 28, 8), 3723000);
		CHECK_EQ_INT(b[36], 0xB0);
		CHECK_EQ_INT(b[51], 0xBF);
		CHECK_MEM(b + 52, pid, 16);
		CHECK_EQ_INT(le(b + 68, 2), 1);
		CHECK_EQ_INT(le(b + 70, 4), 0);
		CHECK_EQ_INT(le(b + 74, 8), V_EXPIRES);
		CHECK_EQ_INT(le(b + 82, 2), 131);
		CHECK_EQ_INT(b[84], 0xCA);
		CHECK_EQ_INT(b[214], 0xCA);
	}
	if ((n = load("batch", b)) != 0)
		check_batch_offsets(b, n, 2, gw);
	if ((n = load("batch_v1", b)) != 0)
		check_batch_offsets(b, n, 1, gw);
	if ((n = load("ack", b)) != 0) {
		static uint8_t chain[VEC_MAX];

		test_ctx("ack offsets");
		CHECK_EQ_INT(n, 154);
		CHECK_EQ_INT(b[0], 0x41);
		CHECK_EQ_INT(b[1], 2);
		CHECK_MEM(b + 2, gw, 16);
		CHECK_EQ_INT(le(b + 18, 8), 2);
		CHECK_EQ_INT(le(b + 26, 8), INT64_C(1767229561234));
		for (int i = 0; i < 16; i++)
			CHECK_EQ_INT(b[34 + i], 0x10 + i);
		CHECK_EQ_INT(le(b + 50, 8), 2);
		if (load("chain", chain) == 96) {
			test_ctx("ack offsets");
			CHECK_MEM(b + 58, chain + 64, 32); /* the link after both records */
		}
		CHECK(crypto_sign_verify_detached(b + 90, b, 90, K.auth_pk) == 0);
	}
	if ((n = load("ack_v1", b)) != 0) {
		test_ctx("ack_v1 offsets");
		CHECK_EQ_INT(n, 98);
		CHECK_EQ_INT(b[0], 0x41);
		CHECK_EQ_INT(b[1], 1);
		CHECK_MEM(b + 2, gw, 16);
		CHECK_EQ_INT(le(b + 18, 8), 2);
		CHECK_EQ_INT(le(b + 26, 8), INT64_C(1767229561234));
		CHECK(crypto_sign_verify_detached(b + 34, b, 34, K.auth_pk) == 0);
	}
	if ((n = load("heartbeat", b)) != 0) {
		test_ctx("heartbeat offsets");
		CHECK_EQ_INT(b[0], 0x48);
		CHECK_EQ_INT(b[1], 1);
		CHECK_MEM(b + 2, gw, 16);
		CHECK_EQ_INT(le(b + 18, 8), V_PASS_TIME + 600);
		CHECK_EQ_INT(le(b + 26, 8), V_ISSUED);
		CHECK_EQ_INT(b[34], 0xB0);
		CHECK_EQ_INT(b[49], 0xBF);
		CHECK_EQ_INT(le(b + 50, 4), 300);
		CHECK_EQ_INT(b[54], AS_CLOCK_SYNCED);
		CHECK_EQ_INT(le(b + 55, 8), 2);
		CHECK_EQ_INT(le(b + 63, 8), 2);
		CHECK_EQ_INT(b[71], V_CHAIN_HEAD_BYTE);
		CHECK_EQ_INT(b[102], V_CHAIN_HEAD_BYTE);
		CHECK_EQ_INT(le(b + 103, 8), 2);
		CHECK_EQ_INT(le(b + 111, 8), 65536);
		CHECK_EQ_INT(le(b + 119, 8), UINT64_C(4294967296));
		CHECK_EQ_INT(n, 191);
		CHECK(crypto_sign_verify_detached(b + 127, b, 127, K.device_pk) == 0);
	}
	if ((n = load("policy", b)) != 0) {
		test_ctx("policy offsets");
		CHECK_EQ_INT(b[0], 0x4C);
		CHECK_EQ_INT(b[1], 1);
		CHECK_EQ_INT(le(b + 2, 8), 1);
		CHECK_EQ_INT(le(b + 10, 8), V_ISSUED);
		CHECK_EQ_INT(b[18], 3);
		CHECK_MEM(b + 19, cpk, 32);
		CHECK_EQ_INT(le(b + 51, 4), 1);
		CHECK_EQ_INT(b[55], 0xEE);
		CHECK_EQ_INT(b[70], 0xEE);
		CHECK_EQ_INT(le(b + 71, 4), 1);
		CHECK_MEM(b + 75, hid, 16);
		CHECK(crypto_sign_verify_detached(b + 91, b, 91, K.auth_pk) == 0);
	}
	if ((n = load("policy_v2", b)) != 0) {
		uint8_t gid[16];

		test_ctx("policy v2 offsets");
		as_gateway_id(gid, K.device_pk);
		CHECK_EQ_INT(b[1], 2);
		CHECK_EQ_INT(le(b + 2, 8), 3);
		CHECK_EQ_INT(le(b + 51, 4), 0);
		CHECK_EQ_INT(le(b + 55, 4), 0);
		CHECK_EQ_INT(b[59], 4);
		CHECK_EQ_INT(b[60], 1);
		CHECK_EQ_INT(le(b + 61, 4), 32);
		CHECK_MEM(b + 65, K.issuer_pk, 32);
		CHECK_EQ_INT(b[97], 2);
		CHECK_EQ_INT(le(b + 98, 4), 8);
		CHECK_EQ_INT(le(b + 102, 8), V_V1_UNTIL);
		CHECK_EQ_INT(b[110], 3);
		CHECK_EQ_INT(le(b + 111, 4), 27);
		CHECK(memcmp(b + 115, "\012restaurant\002\015public-office\004", 27) == 0);
		CHECK_EQ_INT(b[142], 4);
		CHECK_EQ_INT(le(b + 143, 4), 27);
		CHECK_MEM(b + 147, gid, 16);
		CHECK(memcmp(b + 163, "\012restaurant", 11) == 0);
		CHECK_EQ_INT(n, 238);
		CHECK(crypto_sign_verify_detached(b + 174, b, 174, K.auth_pk) == 0);
	}
	if ((n = load("capsule_plain", b)) != 0) {
		test_ctx("capsule plaintext offsets");
		CHECK_EQ_INT(b[0], 1);
		CHECK_EQ_INT(b[1], 13);
		CHECK(memcmp(b + 2, "+821012345678\0\0\0", 16) == 0);
		CHECK_EQ_INT(b[18], 9);
		CHECK(memcmp(b + 19, V_NAME, 9) == 0);
		for (int i = 28; i < 83; i++)
			CHECK_EQ_INT(b[i], 0);
	}
	test_ctx_clear();
}

/* The capsule plaintext vector is what as_capsule_seal puts inside a real
 * seal, and a real seal of the vector opens to the same contact. */
static void test_capsule_plaintext(void)
{
	uint8_t plain[VEC_MAX], sealed[AS_CAPSULE_LEN], opened[AS_CAPSULE_PLAIN_LEN];
	struct as_contact contact, back;

	if (!load("capsule_plain", plain))
		return;
	CHECK_OK(as_contact_set(&contact, V_PHONE, V_NAME));
	CHECK_OK(as_capsule_seal(sealed, &contact, K.contact_pk));
	CHECK(crypto_box_seal_open(opened, sealed, sizeof sealed, K.contact_pk,
				   K.contact_sk) == 0);
	CHECK_MEM(opened, plain, AS_CAPSULE_PLAIN_LEN);

	CHECK(crypto_box_seal(sealed, plain, AS_CAPSULE_PLAIN_LEN, K.contact_pk) == 0);
	if (CHECK_OK(as_capsule_open(&back, sealed, K.contact_pk, K.contact_sk))) {
		CHECK_STR(back.phone, "+821012345678");
		CHECK_STR(back.name, V_NAME);
	}
}

/* The QR texts are prefix + Base45 of the binary vectors, verify offline
 * at the documented times, and fit the documented QR versions. */
static void test_qr_texts(void)
{
	uint8_t pass[VEC_MAX], card[VEC_MAX], text[VEC_MAX];
	char want[AS_SCAN_TEXT_MAX];
	struct as_verify_params params = {K.auth_pk, V_PASS_TIME, 60};
	struct as_scan scan;
	struct as_qr qr;
	size_t np = load("pass", pass), nc = load("card", card), nt;

	if (!np || !nc)
		return;
	if ((nt = load("pass_qr", text)) != 0) {
		text[nt] = '\0';
		memcpy(want, "AP1:", 4);
		CHECK_RC(as_base45_encode(want + 4, sizeof want - 4, pass, np), (int)nt - 4);
		CHECK_STR((char *)text, want);
		CHECK_OK(as_scan_verify(&scan, (char *)text, nt, &params));
		CHECK_EQ_INT(scan.kind, AS_SCAN_PASS);
		CHECK_EQ_INT(scan.timestamp, V_PASS_TIME);
		if (CHECK_OK(as_qr_encode(&qr, (char *)text, 15))) {
			printf("pass QR: %zu characters, version %d, %d modules\n", nt, qr.version,
			       qr.width);
			CHECK_EQ_INT(qr.version, 14);
			CHECK_EQ_INT(qr.width, 73);
			as_qr_free(&qr);
		}
	}
	if ((nt = load("card_qr", text)) != 0) {
		text[nt] = '\0';
		memcpy(want, "AC1:", 4);
		CHECK_RC(as_base45_encode(want + 4, sizeof want - 4, card, nc), (int)nt - 4);
		CHECK_STR((char *)text, want);
		CHECK_OK(as_scan_verify(&scan, (char *)text, nt, &params));
		CHECK_EQ_INT(scan.kind, AS_SCAN_CARD);
		if (CHECK_OK(as_qr_encode(&qr, (char *)text, 15))) {
			printf("card QR: %zu characters, version %d, %d modules\n", nt, qr.version,
			       qr.width);
			CHECK_EQ_INT(qr.version, 12);
			CHECK_EQ_INT(qr.width, 65);
			as_qr_free(&qr);
		}
	}
}

/* Visit tokens and version 2 passes (section 22): round trips, offsets,
 * signatures, verification of the QR text against a policy listing the
 * vector issuer key, its QR version, and the record a gateway makes. */
static void test_token_vectors(void)
{
	uint8_t b[VEC_MAX], out[VEC_MAX], text[VEC_MAX], pass[VEC_MAX];
	uint8_t issuer[1][32];
	struct as_policy pol;
	struct as_token t;
	struct as_pass2 p;
	struct as_token_request r;
	struct as_token_batch tb;
	struct as_record rec;
	struct as_qr qr;
	char want[AS_SCAN_TEXT_MAX];
	size_t n, np;

	if ((n = load("token", b)) != 0) {
		test_ctx("token");
		CHECK_EQ_INT(b[0], 'O');
		CHECK_EQ_INT(b[1], 1);
		CHECK_MEM(b + 2, K.issuer_pk, 4);
		CHECK_EQ_INT(b[6], 0x70);
		CHECK_EQ_INT(b[21], 0x7f);
		CHECK_EQ_INT(le(b + 22, 4), V_EXPIRES);
		CHECK_MEM(b + 26, K.token_pk[0], 32);
		CHECK(crypto_sign_verify_detached(b + 58, b, 58, K.issuer_pk) == 0);
		if (CHECK_OK(as_token_decode(&t, b, n))) {
			CHECK_OK(as_token_verify_issuer(&t, K.issuer_pk));
			CHECK_RC(as_token_encode(out, sizeof out, &t), (int)n);
			CHECK_MEM(out, b, n);
		}
	}
	if ((np = load("pass_v2", pass)) != 0) {
		test_ctx("pass v2");
		CHECK_EQ_INT(pass[0], 'P');
		CHECK_EQ_INT(pass[1], 2);
		CHECK_MEM(pass + 2, b + 2, 120); /* the token without magic and version */
		CHECK_EQ_INT(le(pass + 122, 4), V_PASS_TIME);
		CHECK(crypto_sign_verify_detached(pass + 126, pass, 126, K.token_pk[0]) == 0);
		if (CHECK_OK(as_pass2_decode(&p, pass, np))) {
			CHECK_RC(as_pass2_encode(out, sizeof out, &p), (int)np);
			CHECK_MEM(out, pass, np);
		}
	}
	if (np && (n = load("pass_v2_qr", text)) != 0) {
		struct as_pass2_verify_params params = {&pol, V_PASS_TIME, 60};

		test_ctx("pass v2 QR");
		text[n] = '\0';
		memcpy(want, "AP2:", 4);
		CHECK_RC(as_base45_encode(want + 4, sizeof want - 4, pass, np), (int)n - 4);
		CHECK_STR((char *)text, want);
		memset(&pol, 0, sizeof pol);
		memcpy(issuer[0], K.issuer_pk, 32);
		pol.n_issuer_keys = 1;
		pol.issuer_keys = issuer;
		CHECK_OK(as_pass2_verify_text(&p, (char *)text, n, &params));
		params.now = V_PASS_TIME + 61;
		CHECK_RC(as_pass2_verify_text(&p, (char *)text, n, &params), AS_E_STALE);
		params.now = V_EXPIRES;
		CHECK_RC(as_pass2_verify_text(&p, (char *)text, n, &params), AS_E_EXPIRED);
		params.now = V_PASS_TIME;
		pol.n_issuer_keys = 0;
		CHECK_RC(as_pass2_verify_text(&p, (char *)text, n, &params), AS_E_ISSUER_UNKNOWN);
		if (CHECK_OK(as_qr_encode(&qr, (char *)text, 10))) {
			printf("pass v2 QR: %zu characters, version %d, %d modules\n", n, qr.version,
			       qr.width);
			CHECK_EQ_INT(qr.version, 10);
			CHECK_EQ_INT(qr.width, 57);
			as_qr_free(&qr);
		}
	}
	if ((n = load("token_request", b)) != 0) {
		test_ctx("token request");
		CHECK_EQ_INT(b[0], 'Q');
		CHECK_MEM(b + 2, K.holder_pk, 32);
		CHECK_EQ_INT(b[34], 0x52);
		CHECK_EQ_INT(le(b + 50, 8), V_PASS_TIME);
		CHECK_EQ_INT(b[58], 2);
		CHECK_MEM(b + 59, K.token_pk[0], 32);
		CHECK_MEM(b + 91, K.token_pk[1], 32);
		if (CHECK_OK(as_token_request_decode(&r, b, n))) {
			CHECK_OK(as_token_request_verify(&r));
			CHECK_RC(as_token_request_encode(out, sizeof out, &r), (int)n);
			CHECK_MEM(out, b, n);
		}
	}
	if ((n = load("token_batch", b)) != 0) {
		test_ctx("token batch");
		CHECK_EQ_INT(b[0], 'G');
		CHECK_EQ_INT(b[2], 2);
		if (CHECK_OK(as_token_batch_decode(&tb, b, n))) {
			CHECK_OK(as_token_verify_issuer(&tb.tokens[0], K.issuer_pk));
			CHECK_OK(as_token_verify_issuer(&tb.tokens[1], K.issuer_pk));
			CHECK_EQ_INT(tb.tokens[1].token_id[0], 0x80);
			CHECK_RC(as_token_batch_encode(out, sizeof out, &tb), (int)n);
			CHECK_MEM(out, b, n);
		}
	}
	if ((n = load("record_token", b)) != 0) {
		static const uint8_t zero[AS_CAPSULE_LEN];

		test_ctx("record token");
		CHECK_EQ_INT(b[2], 6);
		CHECK_EQ_INT(b[52], 0x70); /* pid field: the token id */
		CHECK_EQ_INT(b[67], 0x7f);
		CHECK_EQ_INT(le(b + 74, 8), V_EXPIRES);
		CHECK_EQ_INT(le(b + 82, 2), AS_CAPSULE_LEN);
		CHECK_MEM(b + 84, zero, AS_CAPSULE_LEN);
		if (CHECK_OK(as_record_decode(&rec, b, n))) {
			CHECK_EQ_INT(rec.kind, AS_REC_TOKEN);
			CHECK_MEM(rec.capsule, zero, AS_CAPSULE_LEN);
			CHECK(rec.credential_expires == V_EXPIRES);
			CHECK_RC(as_record_encode(out, sizeof out, &rec), (int)n);
			CHECK_MEM(out, b, n);
		}
	}
	test_ctx_clear();
}

/* The alphanumeric capacities at level M quoted in docs/PROTOCOL.md, for
 * versions 12 to 16: the largest all-alphanumeric text of each version. */
/* Section 23: a token id opens with tokenid.key to its serial and index;
 * the token capsule opens with its batch key to the contact capsule, for
 * its own serial, expiry and count only; the capsule batch and the
 * ack decode strictly at the documented offsets and verify with the issuer
 * key and the authority key, no other. */
static void test_feed_vectors(void)
{
	static struct cl_feed_issue tokens[CL_FEED_MAX_ISSUES];
	uint8_t cap[VEC_MAX], b[VEC_MAX], a[VEC_MAX], key[CL_TOKCAP_KEY_LEN];
	uint8_t contact[AS_CAPSULE_LEN], want[AS_CAPSULE_LEN], tid[VEC_MAX];
	uint8_t issuer_id[CL_ISSUER_ID_LEN], id_key[AS_TOKEN_ID_KEY_LEN];
	struct cl_feed_batch fb = {.issues = tokens};
	struct cl_feed_ack fa;
	size_t ncap = load("token_capsule", cap), nb = load("feed_batch", b);
	size_t na = load("feed_ack", a), ntid = load("token_id", tid);

	memset(key, V_TOKCAP_KEY_BYTE, sizeof key);
	memset(want, V_PASS_CAPSULE_BYTE, sizeof want);
	memset(id_key, V_TOKID_KEY_BYTE, sizeof id_key);
	cl_issuer_id(issuer_id, K.issuer_pk);
	if (ntid == AS_TOKEN_ID_LEN) {
		uint64_t serial;
		uint8_t index, again[AS_TOKEN_ID_LEN];

		CHECK_MEM(tid, "\x21\x21\x21\x21\x21\x21\x21\x21", 8);
		as_token_id_open(&serial, &index, tid, id_key);
		CHECK(serial == V_TOKCAP_SERIAL && index == V_TOKID_INDEX);
		/* another key reads another issue */
		id_key[0] ^= 1;
		as_token_id_open(&serial, &index, tid, id_key);
		CHECK(serial != V_TOKCAP_SERIAL);
		id_key[0] ^= 1;
		/* as_token_id_derive: a fresh r, the same issue and index */
		if (CHECK_OK(as_token_id_derive(again, id_key, V_TOKCAP_SERIAL, V_TOKID_INDEX))) {
			CHECK(memcmp(again, tid, 8) != 0);
			as_token_id_open(&serial, &index, again, id_key);
			CHECK(serial == V_TOKCAP_SERIAL && index == V_TOKID_INDEX);
		}
		CHECK_RC(as_token_id_derive(again, id_key, AS_TOKEN_SERIAL_MAX + 1, 0), AS_E_FIELD);
	}
	if (ncap == CL_TOKCAP_LEN) {
		CHECK_MEM(cap, "\x08\x08\x08\x08", 4);
		if (CHECK_OK(cl_tokcap_open(contact, key, V_TOKCAP_SERIAL, V_EXPIRES, V_TOKCAP_COUNT,
					    cap)))
			CHECK_MEM(contact, want, AS_CAPSULE_LEN);
		CHECK_RC(cl_tokcap_open(contact, key, V_TOKCAP_SERIAL, V_EXPIRES + 1, V_TOKCAP_COUNT,
					cap), AS_E_CAPSULE);
		CHECK_RC(cl_tokcap_open(contact, key, V_TOKCAP_SERIAL + 1, V_EXPIRES, V_TOKCAP_COUNT,
					cap), AS_E_CAPSULE);
		CHECK_RC(cl_tokcap_open(contact, key, V_TOKCAP_SERIAL, V_EXPIRES, V_TOKCAP_COUNT - 1,
					cap), AS_E_CAPSULE);
	}
	if (nb == CL_FEED_LEN(2)) {
		CHECK_MEM(b, "F\x01", 2);
		CHECK_MEM(b + 2, issuer_id, CL_ISSUER_ID_LEN);
		CHECK_MEM(b + 18, "\x01\0\0\0\0\0\0\0", 8);          /* seq 1 */
		CHECK_MEM(b + 26, "\x00\xb9\x55\x69\0\0\0\0", 8);    /* created */
		CHECK(b[34] == V_FEED_SEALED_BYTE && b[113] == V_FEED_SEALED_BYTE);
		CHECK_MEM(b + 114, "\x02\0", 2);                          /* count 2 */
		CHECK_MEM(b + 116, "\x01\x02\x03\x04\x05\x06\0\0", 8);   /* serial */
		CHECK_MEM(b + 124, "\x00\x60\xcc\x69\0\0\0\0", 8);   /* expires */
		CHECK(b[132] == V_TOKCAP_COUNT);                         /* count */
		CHECK_MEM(b + 133, cap, CL_TOKCAP_LEN);
		CHECK_MEM(b + 304, "\x07\0\0\0\0\0\0\0", 8);          /* serial 7 */
		CHECK(b[320] == V_FEED_OTHER_COUNT);
		CHECK(crypto_sign_verify_detached(b + nb - 64, b, nb - 64, K.issuer_pk) == 0);
		if (CHECK_OK(cl_feed_decode(&fb, CL_FEED_MAX_ISSUES, b, nb, K.issuer_pk))) {
			uint8_t again[VEC_MAX];

			CHECK(fb.seq == 1 && fb.count == 2 && fb.created == V_ISSUED);
			CHECK_RC(cl_feed_encode(again, sizeof again, &fb, K.issuer_sk), (int)nb);
			CHECK_MEM(again, b, nb);
		}
		CHECK_RC(cl_feed_decode(&fb, CL_FEED_MAX_ISSUES, b, nb, K.auth_pk), AS_E_SIGNATURE);
	}
	if (na == CL_FEED_ACK_LEN) {
		CHECK_MEM(a, "K\x01", 2);
		CHECK_MEM(a + 2, issuer_id, CL_ISSUER_ID_LEN);
		CHECK_MEM(a + 18, "\x01\0\0\0\0\0\0\0", 8);
		CHECK(crypto_sign_verify_detached(a + 34, a, 34, K.auth_pk) == 0);
		if (CHECK_OK(cl_feed_ack_decode(&fa, a, na, K.auth_pk)))
			CHECK(fa.seq == 1 && fa.cloud_time_ms == INT64_C(1767229561234));
		CHECK_RC(cl_feed_ack_decode(&fa, a, na, K.issuer_pk), AS_E_SIGNATURE);
	}
}

static void test_qr_capacity(void)
{
	static const struct { int version, max_chars; } caps[] = {
		{12, 419}, {13, 483}, {14, 528}, {15, 600}, {16, 656},
	};
	char text[700];
	struct as_qr qr;

	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		int n = caps[i].max_chars;

		test_ctx("version %d", caps[i].version);
		memset(text, 'A', (size_t)n + 1);
		text[n] = '\0';
		if (CHECK_OK(as_qr_encode(&qr, text, 0))) {
			CHECK_EQ_INT(qr.version, caps[i].version);
			as_qr_free(&qr);
		}
		text[n] = 'A';
		text[n + 1] = '\0';
		if (CHECK_OK(as_qr_encode(&qr, text, 0))) {
			CHECK_EQ_INT(qr.version, caps[i].version + 1);
			as_qr_free(&qr);
		}
	}
	test_ctx_clear();
}

/* Decode `n` bytes of a mutated copy with the format's decoder. */
enum fmt { F_CREDENTIAL, F_PASS, F_CARD, F_RECORD, F_BATCH, F_ACK, F_POLICY, F_HEARTBEAT };

static int decode_as(enum fmt f, const uint8_t *b, size_t n)
{
	static struct as_record recs[4];
	struct as_credential c;
	struct as_pass p;
	struct as_record r;
	struct as_batch_header h;
	struct as_ack a;
	struct as_policy pol;
	struct as_heartbeat hb;
	int rc;

	switch (f) {
	case F_CREDENTIAL: return as_credential_decode(&c, b, n);
	case F_PASS: return as_pass_decode(&p, b, n);
	case F_CARD: return as_card_decode(&c, b, n);
	case F_RECORD: return as_record_decode(&r, b, n);
	case F_BATCH: return as_batch_decode(&h, recs, 4, b, n);
	case F_ACK: return as_ack_decode(&a, b, n, K.auth_pk);
	case F_HEARTBEAT: return as_heartbeat_decode(&hb, b, n);
	case F_POLICY:
		rc = as_policy_decode(&pol, b, n, K.auth_pk);
		as_policy_free(&pol);
		return rc;
	}
	return AS_E_USAGE;
}

/* The strict-decoding rules of docs/PROTOCOL.md, on each vector. */
static void test_strict_rules(void)
{
	static const struct { const char *name; enum fmt f; int fixed; uint8_t version; } fmts[] = {
		{"credential", F_CREDENTIAL, 1, 1}, {"pass", F_PASS, 1, 1}, {"card", F_CARD, 1, 1},
		{"record_pass", F_RECORD, 1, 1}, {"batch", F_BATCH, 0, 2},
		{"batch_v1", F_BATCH, 0, 1}, {"ack", F_ACK, 1, 2}, {"ack_v1", F_ACK, 0, 1},
		{"policy", F_POLICY, 0, 1},
		{"heartbeat", F_HEARTBEAT, 1, 1},
	};
	static uint8_t big[2 * VEC_MAX + 2];

	for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
		uint8_t b[VEC_MAX + 1];
		size_t n = load(fmts[i].name, b);
		enum fmt f = fmts[i].f;

		if (!n)
			continue;
		test_ctx("%s", fmts[i].name);
		CHECK_OK(decode_as(f, b, n));
		CHECK_RC(decode_as(f, b, 0), AS_E_TRUNCATED);
		CHECK_RC(decode_as(f, b, 1), AS_E_TRUNCATED);
		CHECK_RC(decode_as(f, b, n - 1), AS_E_TRUNCATED);
		b[n] = 0;
		CHECK_RC(decode_as(f, b, n + 1), AS_E_TRAILING);
		if (fmts[i].fixed) {
			memset(big, 0, sizeof big);
			memcpy(big, b, n);
			CHECK_RC(decode_as(f, big, 2 * n), AS_E_TRAILING);
			CHECK_RC(decode_as(f, big, 2 * n + 1), AS_E_OVERSIZE);
		}
		b[0] ^= 0x20;
		CHECK_RC(decode_as(f, b, n), AS_E_MAGIC);
		b[0] ^= 0x20;
		b[1] = 3;
		CHECK_RC(decode_as(f, b, n), AS_E_VERSION);
		if (fmts[i].version == 1 && fmts[i].f != F_BATCH && fmts[i].f != F_ACK &&
		    fmts[i].f != F_POLICY) {
			b[1] = 2;
			CHECK_RC(decode_as(f, b, n), AS_E_VERSION);
		}
		b[1] = 0;
		CHECK_RC(decode_as(f, b, n), AS_E_VERSION);
		b[1] = fmts[i].version;
		CHECK_OK(decode_as(f, b, n));
	}
	test_ctx_clear();
}

/* Field-level rules and which code each gives. */
static void test_field_rules(void)
{
	uint8_t b[VEC_MAX];
	size_t n;

	if ((n = load("credential", b)) != 0) {
		test_ctx("credential fields");
		b[67] = 130;                   /* capsule_len */
		CHECK_RC(decode_as(F_CREDENTIAL, b, n), AS_E_LENGTH);
		b[67] = 131;
		b[2] = 0x02;                   /* unknown flag */
		CHECK_RC(decode_as(F_CREDENTIAL, b, n), AS_E_FIELD);
		b[2] = 0;
		memcpy(b + 59, b + 51, 8);     /* expires_at == issued_at */
		CHECK_RC(decode_as(F_CREDENTIAL, b, n), AS_E_FIELD);
		load("credential", b);
		b[58] = 0x80;                  /* issued_at negative */
		CHECK_RC(decode_as(F_CREDENTIAL, b, n), AS_E_FIELD);
		load("credential", b);
		b[100] ^= 1;                   /* a capsule byte: framing still fine */
		CHECK_OK(decode_as(F_CREDENTIAL, b, n));
	}
	if ((n = load("record_pass", b)) != 0) {
		static const struct { size_t off; uint8_t val; int rc; } cases[] = {
			{2, 0, AS_E_FIELD},     /* kind 0 */
			{2, 4, AS_E_FIELD},     /* kind 4 */
			{3, 0x04, AS_E_FIELD},  /* unknown flag */
			{4, 0, AS_E_FIELD},     /* seq 0 (seq was 1) */
			{68, 0, AS_E_FIELD},    /* headcount 0 */
			{82, 130, AS_E_LENGTH}, /* capsule_len */
		};
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			load("record_pass", b);
			test_ctx("record field at %zu = %u", cases[i].off, cases[i].val);
			b[cases[i].off] = cases[i].val;
			CHECK_RC(decode_as(F_RECORD, b, n), cases[i].rc);
		}
		load("record_pass", b);
		test_ctx("record headcount 1000");
		b[68] = 1000 & 0xff;
		b[69] = 1000 >> 8;
		CHECK_RC(decode_as(F_RECORD, b, n), AS_E_FIELD);
		b[68] = 999 & 0xff;
		b[69] = 999 >> 8;
		CHECK_OK(decode_as(F_RECORD, b, n));
		load("record_pass", b);
		test_ctx("record exit before entry");
		memcpy(b + 20, b + 12, 8);
		b[20]--;
		CHECK_RC(decode_as(F_RECORD, b, n), AS_E_FIELD);
	}
	if ((n = load("batch", b)) != 0) {
		test_ctx("batch fields");
		b[42] = 3;                     /* count 3, last_seq - first_seq + 1 = 2 */
		CHECK_RC(decode_as(F_BATCH, b, n), AS_E_LENGTH);
		load("batch", b);
		b[134] = 214;                  /* first rec_len */
		CHECK_RC(decode_as(F_BATCH, b, n), AS_E_LENGTH);
		load("batch", b);
		b[136 + 4] = 5;                /* first record's seq 5 != first_seq */
		CHECK_RC(decode_as(F_BATCH, b, n), AS_E_FIELD);
		load("batch", b);
		b[351] ^= 1;                   /* a digest: framing is fine, the chain is not */
		CHECK_OK(decode_as(F_BATCH, b, n));
		{
			struct as_batch_header h;
			struct as_record recs[2];
			uint8_t digests[2][AS_CHAIN_LEN];
			size_t at = 99;

			if (CHECK_OK(as_batch_decode_chained(&h, recs, digests, 2, b, n)))
				CHECK_EQ_INT(as_chain_verify(h.chain_prev, h.chain_head, recs,
							     (const uint8_t (*)[AS_CHAIN_LEN])digests,
							     2, INT64_MAX, INT64_MAX, &at), AS_CHAIN_RECORD_CHANGED);
			CHECK_EQ_INT(at, 0);
		}
		load("batch", b);
		b[n - 1] ^= 1;                 /* signature: decode passes, verify fails */
		CHECK_OK(decode_as(F_BATCH, b, n));
		CHECK_RC(as_batch_verify(b, n, K.device_pk), AS_E_SIGNATURE);
		CHECK_RC(as_batch_verify(b, 54 + 63, K.device_pk), AS_E_TRUNCATED);
	}
	if ((n = load("ack", b)) != 0) {
		test_ctx("ack signature");
		b[20] ^= 1;
		CHECK_RC(decode_as(F_ACK, b, n), AS_E_SIGNATURE);
		load("ack", b);
		b[60] ^= 1;                    /* chain_link */
		CHECK_RC(decode_as(F_ACK, b, n), AS_E_SIGNATURE);
		load("ack", b);
		CHECK_RC(decode_as(F_ACK, b, 98), AS_E_TRUNCATED); /* v2 at v1's length */
	}
	if ((n = load("ack_v1", b)) != 0) {
		test_ctx("ack_v1 signature");
		b[20] ^= 1;
		CHECK_RC(decode_as(F_ACK, b, n), AS_E_SIGNATURE);
	}
	if ((n = load("heartbeat", b)) != 0) {
		test_ctx("heartbeat fields");
		b[54] = 4;                     /* clock_state */
		CHECK_RC(decode_as(F_HEARTBEAT, b, n), AS_E_FIELD);
		load("heartbeat", b);
		memset(b + 50, 0, 4);          /* interval 0 */
		CHECK_RC(decode_as(F_HEARTBEAT, b, n), AS_E_FIELD);
		load("heartbeat", b);
		b[n - 1] ^= 1;                 /* signature: decode passes, verify fails */
		CHECK_OK(decode_as(F_HEARTBEAT, b, n));
		CHECK_RC(as_heartbeat_verify(b, n, K.device_pk), AS_E_SIGNATURE);
	}
	if ((n = load("policy", b)) != 0) {
		test_ctx("policy fields");
		b[18] = 5;                     /* alert level */
		CHECK_RC(decode_as(F_POLICY, b, n), AS_E_FIELD);
		b[18] = 0;
		CHECK_RC(decode_as(F_POLICY, b, n), AS_E_FIELD);
		b[18] = 3;
		b[51] = 10;                    /* 10 gateway ids: more than the input */
		CHECK_RC(decode_as(F_POLICY, b, n), AS_E_LENGTH);
		memset(b + 51, 0xff, 4);       /* count above AS_POLICY_MAX_REVOKED */
		CHECK_RC(decode_as(F_POLICY, b, n), AS_E_LENGTH);
		memset(b + 51, 0, 4);
		b[51] = 1;
		CHECK_RC(decode_as(F_POLICY, b, 60), AS_E_LENGTH); /* cut inside a list */
		b[30] ^= 1;                    /* contact key: signature fails */
		CHECK_RC(decode_as(F_POLICY, b, n), AS_E_SIGNATURE);
	}
	test_ctx_clear();
}

/* What as_scan_verify answers for the documented failure cases. */
static void test_scan_rules(void)
{
	uint8_t pass[VEC_MAX], cred[VEC_MAX], card[VEC_MAX];
	char text[AS_SCAN_TEXT_MAX + 8];
	struct as_verify_params params = {K.auth_pk, V_PASS_TIME, 60};
	struct as_scan scan;
	size_t np = load("pass", pass), nc = load("card", card);
	int nt;

	if (!np || !nc || !load("credential", cred))
		return;
#define SCAN_TEXT(prefix, bin, n)                                                   \
	(memcpy(text, prefix, 4), nt = as_base45_encode(text + 4, sizeof text - 4, bin, n), \
	 (size_t)nt + 4)
	CHECK_RC(as_scan_verify(&scan, "AX1:00", 6, &params), AS_E_PREFIX);
	CHECK_RC(as_scan_verify(&scan, "AP1:0", 5, &params), AS_E_BASE45);
	CHECK_RC(as_scan_verify(&scan, "AP1:ab", 6, &params), AS_E_BASE45);
	memset(text, 'A', sizeof text);
	memcpy(text, "AP1:", 4);
	CHECK_RC(as_scan_verify(&scan, text, 4 + 513, &params), AS_E_OVERSIZE);

	params.now = V_PASS_TIME + 60;
	CHECK_OK(as_scan_verify(&scan, text, SCAN_TEXT("AP1:", pass, np), &params));
	params.now = V_PASS_TIME + 61;
	CHECK_RC(as_scan_verify(&scan, text, SCAN_TEXT("AP1:", pass, np), &params), AS_E_STALE);
	params.now = V_PASS_TIME - 61;
	CHECK_RC(as_scan_verify(&scan, text, SCAN_TEXT("AP1:", pass, np), &params), AS_E_STALE);
	params.now = V_EXPIRES;
	CHECK_RC(as_scan_verify(&scan, text, SCAN_TEXT("AP1:", pass, np), &params),
		 AS_E_EXPIRED);
	params.now = V_ISSUED - 1;
	CHECK_RC(as_scan_verify(&scan, text, SCAN_TEXT("AP1:", pass, np), &params),
		 AS_E_NOT_YET);
	params.now = V_PASS_TIME;

	pass[300] ^= 1; /* holder signature */
	CHECK_RC(as_scan_verify(&scan, text, SCAN_TEXT("AP1:", pass, np), &params),
		 AS_E_HOLDER_SIG);
	pass[300] ^= 1;
	pass[266] ^= 1; /* timestamp, covered by the holder signature */
	CHECK_RC(as_scan_verify(&scan, text, SCAN_TEXT("AP1:", pass, np), &params),
		 AS_E_HOLDER_SIG);
	pass[266] ^= 1;
	pass[2 + 100] ^= 1; /* capsule, covered by the issuer signature */
	CHECK_RC(as_scan_verify(&scan, text, SCAN_TEXT("AP1:", pass, np), &params),
		 AS_E_ISSUER_SIG);
	pass[2 + 100] ^= 1;

	/* the card under the pass prefix, the pass under the card prefix */
	CHECK_RC(as_scan_verify(&scan, text, SCAN_TEXT("AP1:", card, nc), &params), AS_E_MAGIC);
	CHECK_RC(as_scan_verify(&scan, text, SCAN_TEXT("AC1:", pass, np), &params),
		 AS_E_TRAILING);
	/* a phone credential printed as a card */
	card[0] = 'K';
	card[1] = 1;
	memcpy(card + 2, cred, 264);
	CHECK_RC(as_scan_verify(&scan, text, SCAN_TEXT("AC1:", card, 266), &params),
		 AS_E_NOT_CARD);
#undef SCAN_TEXT
}

/* tests/data/vectors/phone.txt: "expected|input" per line, expected
 * REJECT for inputs that must fail with AS_E_PHONE; '#' lines are notes. */
static void test_phone_table(void)
{
	char path[640], *line, *save = NULL;
	unsigned char *data;
	size_t len;
	int lines = 0, accepted = 0, rejected = 0;

	snprintf(path, sizeof path, "%s/phone.txt", data_dir);
	if (!CHECK_OK(as_file_read_all(path, 65536, &data, &len)))
		return;
	for (line = strtok_r((char *)data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *bar = strchr(line, '|'), out[AS_PHONE_MAX + 1];

		lines++;
		if (line[0] == '#')
			continue;
		test_ctx("phone.txt line %d: %s", lines, line);
		if (!CHECK(bar != NULL))
			continue;
		*bar = '\0';
		if (strcmp(line, "REJECT") == 0) {
			CHECK_RC(as_phone_normalize(out, bar + 1), AS_E_PHONE);
			rejected++;
		} else {
			if (CHECK_OK(as_phone_normalize(out, bar + 1)))
				CHECK_STR(out, line);
			accepted++;
		}
	}
	test_ctx_clear();
	CHECK(accepted >= 10);
	CHECK(rejected >= 10);
	free(data);
}

/* Every written form of the vector phone number gives the vector pid. */
static void test_pid_forms(void)
{
	static const char *const forms[] = {
		"010-1234-5678", "01012345678", "010 1234 5678", "(010) 1234-5678",
		"+82 10-1234-5678", "+82 010 1234 5678", "+821012345678", "+82 (0)10.1234.5678",
	};
	uint8_t want[VEC_MAX], pid[AS_PID_LEN];

	if (!load("pid", want))
		return;
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		test_ctx("%s", forms[i]);
		if (CHECK_OK(as_pid_from_phone(pid, K.pseudonym, forms[i])))
			CHECK_MEM(pid, want, AS_PID_LEN);
	}
	test_ctx_clear();
	/* and the derivation itself: keyed BLAKE2b, 16-byte output */
	crypto_generichash(pid, sizeof pid, (const unsigned char *)"+821012345678", 13,
			   K.pseudonym, sizeof K.pseudonym);
	CHECK_MEM(pid, want, AS_PID_LEN);
}

/* The domain-separated ids, computed here from their definition. */
static void test_id_definitions(void)
{
	uint8_t want[VEC_MAX], id[16], msg[64];

	if (load("gateway_id", want)) {
		memcpy(msg, "anshim gateway id v1", 20);
		memcpy(msg + 20, K.device_pk, 32);
		crypto_generichash(id, 16, msg, 52, NULL, 0);
		CHECK_MEM(id, want, 16);
	}
	if (load("holder_id", want)) {
		memcpy(msg, "anshim holder id v1", 19);
		memcpy(msg + 19, K.holder_pk, 32);
		crypto_generichash(id, 16, msg, 51, NULL, 0);
		CHECK_MEM(id, want, 16);
	}
}

int main(int argc, char **argv)
{
	const char *env;

	vkeys_init(&K);
	if (argc == 3 && strcmp(argv[1], "--write") == 0)
		return write_all(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: %s            check tests/data/vectors "
			"(ANSHIM_TEST_DATA=tests/data)\n"
			"       %s --write DIR  write every vector file into DIR\n",
			argv[0], argv[0]);
		return 2;
	}
	env = getenv("ANSHIM_TEST_DATA");
	if (!env || !*env) {
		fprintf(stderr, "test_vectors: set ANSHIM_TEST_DATA to the tests/data directory\n");
		return 1;
	}
	snprintf(data_dir, sizeof data_dir, "%s/vectors", env);

	TEST_RUN(test_files_match_rebuild);
	TEST_RUN(test_decode_reencode);
	TEST_RUN(test_documented_offsets);
	TEST_RUN(test_capsule_plaintext);
	TEST_RUN(test_qr_texts);
	TEST_RUN(test_token_vectors);
	TEST_RUN(test_feed_vectors);
	TEST_RUN(test_qr_capacity);
	TEST_RUN(test_strict_rules);
	TEST_RUN(test_field_rules);
	TEST_RUN(test_scan_rules);
	TEST_RUN(test_phone_table);
	TEST_RUN(test_pid_forms);
	TEST_RUN(test_id_definitions);
	return TEST_DONE();
}
