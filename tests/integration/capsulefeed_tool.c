/*
 * capsulefeed_tool.c - the issuer's half of the capsule feed, for the
 * tests of visit tokens in the cloud (test_token_feed.sh): it runs the
 * real outbox and publisher (cloud/issuer/capsulefeed.c) in a state
 * directory of its own, as anshim-issuerd does, without the issuer's HTTP
 * service (whose own tests cover enrolment).
 *
 *   capsulefeed_tool keygen DIR
 *       DIR/issuer.key (Ed25519 secret, 0600) and DIR/issuer.pub.
 *   capsulefeed_tool append DIR CONTACT_PUB PHONE EXPIRES SERIAL COUNT
 *       One capsule batch for issue SERIAL of COUNT tokens (1..64; the ids
 *       token_tool makes with the same SERIAL), expiring at EXPIRES, issued
 *       to the holder of PHONE: the holder's contact capsule (sealed to
 *       CONTACT_PUB, as the issuer seals it at enrolment) wrapped in the
 *       issue's capsule.  Into the outbox in DIR; prints its seq.
 *   capsulefeed_tool run DIR BROKER_URI AUTHORITY_PUB [RESEND_MS] [--until-empty]
 *       Deliver the outbox (client id issuer-<pid>), writing DIR/status
 *       ("queued Q published P taken T acked A bad_acks B connected C") every
 *       100 ms; with --until-empty exit 0 once the outbox is empty, 1
 *       after 120 s; otherwise run until SIGTERM.
 *   capsulefeed_tool count DIR
 *       Messages in the outbox.
 *   capsulefeed_tool dump DIR SEQ
 *       The outbox's message SEQ, as sent, on stdout.
 *   capsulefeed_tool id DIR
 *       The issuer id (hex) of DIR/issuer.key, as in the feed's topics.
 */
#include "capsulefeed.h"
#include "capsulewire.h"

#include "anshim/bytes.h"
#include "anshim/capsule.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/keyfile.h"
#include "anshim/parse.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_LIMIT_MS 120000

static int die(const char *what, int rc)
{
	fprintf(stderr, "capsulefeed_tool: %s: %s\n", what, as_strerror(rc));
	return 1;
}

static int open_outbox(const char *dir, MDB_env **env, struct cl_capsulefeed **f)
{
	char path[PATH_MAX], err[512];
	uint8_t sk[AS_SIGN_SK_LEN];
	int rc;

	snprintf(path, sizeof path, "%s/issuer.key", dir);
	if ((rc = as_keyfile_read(path, AS_KEY_SIGN_SECRET, sk)) != 0)
		return die(path, rc);
	snprintf(path, sizeof path, "%s/outbox", dir);
	if ((rc = as_mkdir_p(path, 0700)) != 0)
		return die(path, rc);
	rc = mdb_env_create(env);
	if (!rc)
		rc = mdb_env_set_maxdbs(*env, 2);
	if (!rc)
		rc = mdb_env_open(*env, path, 0, 0600);
	if (rc) {
		fprintf(stderr, "capsulefeed_tool: %s: %s\n", path, mdb_strerror(rc));
		return 1;
	}
	rc = cl_capsulefeed_open(f, *env, sk, err, sizeof err);
	sodium_memzero(sk, sizeof sk);
	if (rc) {
		fprintf(stderr, "capsulefeed_tool: %s\n", err);
		return 1;
	}
	return 0;
}

static int cmd_keygen(const char *dir)
{
	uint8_t pk[AS_SIGN_PK_LEN], sk[AS_SIGN_SK_LEN];
	char path[PATH_MAX];
	int rc;

	crypto_sign_keypair(pk, sk);
	snprintf(path, sizeof path, "%s/issuer.key", dir);
	rc = as_keyfile_write(path, AS_KEY_SIGN_SECRET, sk, 0);
	sodium_memzero(sk, sizeof sk);
	if (rc)
		return die(path, rc);
	snprintf(path, sizeof path, "%s/issuer.pub", dir);
	if ((rc = as_keyfile_write(path, AS_KEY_SIGN_PUBLIC, pk, 0)) != 0)
		return die(path, rc);
	return 0;
}

static int cmd_append(const char *dir, const char *contact_pub, const char *phone,
		      const char *expires_text, const char *serial_text, const char *count_text)
{
	uint8_t contact_pk[AS_BOX_PK_LEN], capsule[AS_CAPSULE_LEN];
	struct as_contact who;
	struct cl_capsulefeed *f;
	char err[512];
	int64_t expires, serial, count;
	uint64_t seq = 0;
	MDB_env *env;
	MDB_txn *txn;
	int rc;

	if ((rc = as_keyfile_read(contact_pub, AS_KEY_CONTACT_PUBLIC, contact_pk)) != 0)
		return die(contact_pub, rc);
	if (as_parse_int64(expires_text, 1, INT64_MAX, &expires))
		return die("EXPIRES", AS_E_FIELD);
	if (as_parse_int64(serial_text, 1, INT64_MAX, &serial))
		return die("SERIAL", AS_E_FIELD);
	if (as_parse_int64(count_text, 1, CL_ISSUE_MAX_TOKENS, &count))
		return die("COUNT", AS_E_FIELD);
	if ((rc = as_contact_set(&who, phone, "")) != 0 ||
	    (rc = as_capsule_seal(capsule, &who, contact_pk)) != 0)
		return die("the contact capsule", rc);
	sodium_memzero(&who, sizeof who);
	if (open_outbox(dir, &env, &f))
		return 1;
	rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc)
		return die("a transaction", AS_E_STORE);
	rc = cl_capsulefeed_append(f, txn, contact_pk, capsule, (uint64_t)serial, (unsigned)count,
				   expires, &seq, err, sizeof err);
	if (rc) {
		mdb_txn_abort(txn);
		fprintf(stderr, "capsulefeed_tool: %s\n", err);
		return 1;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		fprintf(stderr, "capsulefeed_tool: commit: %s\n", mdb_strerror(rc));
		return 1;
	}
	cl_capsulefeed_close(f);
	mdb_env_close(env);
	printf("%llu\n", (unsigned long long)seq);
	return 0;
}

struct runner {
	struct cl_capsulefeed *f;
	const char *dir;
	int until_empty, exit_code, stopping;
	uint64_t started;
	uv_timer_t timer;
	uv_signal_t term;
};

static void stop_runner(struct runner *r, int code)
{
	if (r->stopping)
		return;
	r->stopping = 1;
	r->exit_code = code;
	cl_capsulefeed_stop(r->f);
	uv_close((uv_handle_t *)&r->timer, NULL);
	uv_close((uv_handle_t *)&r->term, NULL);
}

static void on_timer(uv_timer_t *t)
{
	struct runner *r = t->data;
	struct cl_capsulefeed_stats st;
	char path[PATH_MAX], text[256];
	int len;

	cl_capsulefeed_stats(r->f, &st);
	len = snprintf(text, sizeof text, "queued %llu published %llu taken %llu acked %llu "
		       "bad_acks %llu connected %d\n", (unsigned long long)st.queued,
		       (unsigned long long)st.published, (unsigned long long)st.taken,
		       (unsigned long long)st.acked,
		       (unsigned long long)st.bad_acks, st.connected);
	snprintf(path, sizeof path, "%s/status", r->dir);
	(void)as_file_write_atomic(path, text, (size_t)len, 0644, 0);
	if (r->until_empty && st.queued == 0 && uv_now(t->loop) - r->started > 300)
		stop_runner(r, 0);
	else if (r->until_empty && uv_now(t->loop) - r->started > RUN_LIMIT_MS)
		stop_runner(r, 1);
}

static void on_term(uv_signal_t *s, int sig)
{
	(void)sig;
	stop_runner(s->data, 0);
}

static int cmd_run(int argc, char **argv)
{
	struct cl_capsulefeed_options opt;
	struct as_mqtt_options mo;
	struct runner r;
	char client[64], err[512];
	MDB_env *env;
	uv_loop_t loop;
	int64_t resend = 0;
	int rc;

	memset(&r, 0, sizeof r);
	memset(&opt, 0, sizeof opt);
	memset(&mo, 0, sizeof mo);
	r.dir = argv[2];
	for (int i = 5; i < argc; i++) {
		if (strcmp(argv[i], "--until-empty") == 0)
			r.until_empty = 1;
		else if (as_parse_int64(argv[i], 1, 3600000, &resend))
			return die(argv[i], AS_E_FIELD);
	}
	if ((rc = as_keyfile_read(argv[4], AS_KEY_SIGN_PUBLIC, opt.authority_pk)) != 0)
		return die(argv[4], rc);
	if (open_outbox(r.dir, &env, &r.f))
		return 1;
	snprintf(client, sizeof client, "issuer-%ld", (long)getpid());
	mo.uri = argv[3];
	mo.client_id = client;
	mo.keepalive = 30;
	mo.clean_session = 1;
	mo.max_buffered = 100;
	mo.reconnect_min_ms = 200;
	mo.reconnect_max_ms = 2000;
	opt.mqtt = &mo;
	opt.resend_ms = (uint64_t)resend;
	uv_loop_init(&loop);
	uv_timer_init(&loop, &r.timer);
	r.timer.data = &r;
	uv_signal_init(&loop, &r.term);
	r.term.data = &r;
	uv_signal_start(&r.term, on_term, SIGTERM);
	r.started = uv_now(&loop);
	uv_timer_start(&r.timer, on_timer, 100, 100);
	rc = cl_capsulefeed_start(r.f, &loop, &opt, err, sizeof err);
	if (rc) {
		fprintf(stderr, "capsulefeed_tool: %s\n", err);
		stop_runner(&r, 1);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	cl_capsulefeed_close(r.f);
	mdb_env_close(env);
	return r.exit_code;
}

/* Open DIR/outbox read-only: its environment, a read transaction and the
 * outbox database.  0 or 1 (reported). */
static int open_readonly(const char *dir, MDB_env **env, MDB_txn **txn, MDB_dbi *dbi)
{
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof path, "%s/outbox", dir);
	rc = mdb_env_create(env);
	if (!rc)
		rc = mdb_env_set_maxdbs(*env, 2);
	if (!rc)
		rc = mdb_env_open(*env, path, MDB_RDONLY, 0600);
	if (!rc)
		rc = mdb_txn_begin(*env, NULL, MDB_RDONLY, txn);
	if (!rc)
		rc = mdb_dbi_open(*txn, "capsule_outbox", 0, dbi);
	if (rc) {
		fprintf(stderr, "capsulefeed_tool: %s: %s\n", path, mdb_strerror(rc));
		return 1;
	}
	return 0;
}

static int cmd_dump(const char *dir, const char *seq_text)
{
	uint8_t kb[8];
	MDB_val k = {8, kb}, v;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	int64_t seq;
	int rc;

	if (as_parse_int64(seq_text, 1, INT64_MAX, &seq))
		return die("SEQ", AS_E_FIELD);
	if (open_readonly(dir, &env, &txn, &dbi))
		return 1;
	as_put_be64(kb, (uint64_t)seq);
	rc = mdb_get(txn, dbi, &k, &v);
	if (!rc && fwrite(v.mv_data, 1, v.mv_size, stdout) != v.mv_size)
		rc = EIO;
	mdb_txn_abort(txn);
	mdb_env_close(env);
	if (rc) {
		fprintf(stderr, "capsulefeed_tool: message %s: %s\n", seq_text, mdb_strerror(rc));
		return 1;
	}
	return 0;
}

static int cmd_id(const char *dir)
{
	uint8_t sk[AS_SIGN_SK_LEN], id[CL_ISSUER_ID_LEN];
	char path[PATH_MAX], hex[2 * CL_ISSUER_ID_LEN + 1];
	int rc;

	snprintf(path, sizeof path, "%s/issuer.key", dir);
	if ((rc = as_keyfile_read(path, AS_KEY_SIGN_SECRET, sk)) != 0)
		return die(path, rc);
	cl_issuer_id(id, sk + 32);
	sodium_memzero(sk, sizeof sk);
	as_hex_encode(hex, id, sizeof id);
	printf("%s\n", hex);
	return 0;
}

static int cmd_count(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat ms;

	if (open_readonly(dir, &env, &txn, &dbi))
		return 1;
	if (mdb_stat(txn, dbi, &ms) != 0)
		return die("the outbox", AS_E_STORE);
	/* one entry is the seq counter */
	printf("%zu\n", ms.ms_entries ? (size_t)ms.ms_entries - 1 : 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return 0;
}

int main(int argc, char **argv)
{
	if (as_crypto_init() != 0)
		return die("libsodium", AS_E_CRYPTO);
	if (argc == 3 && strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argv[2]);
	if (argc == 8 && strcmp(argv[1], "append") == 0)
		return cmd_append(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7]);
	if (argc >= 5 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc, argv);
	if (argc == 3 && strcmp(argv[1], "count") == 0)
		return cmd_count(argv[2]);
	if (argc == 4 && strcmp(argv[1], "dump") == 0)
		return cmd_dump(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "id") == 0)
		return cmd_id(argv[2]);
	fprintf(stderr, "usage: capsulefeed_tool keygen DIR | append DIR CONTACT_PUB PHONE EXPIRES "
		"SERIAL COUNT | run DIR BROKER_URI AUTHORITY_PUB [RESEND_MS] [--until-empty] | count DIR | "
		"dump DIR SEQ | id DIR\n");
	return 2;
}
