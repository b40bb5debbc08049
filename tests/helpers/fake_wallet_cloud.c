/*
 * fake_wallet_cloud.c - a stand-in for the cloud's wallet check-in intake,
 * for testing the wallet's delivery alone (test_wallet_delivery.sh).
 *
 * Subscribes to anshim/v1/wallet/+/checkin and answers each message on the
 * sender's .../ack topic, signed with the given key: "stored" the first time
 * an id is seen, "duplicate" after; "rejected" with --reject REASON; with
 * --verify AUTHORITY.pub it also checks the message like the cloud does
 * (bad-credential / bad-holder-signature).  --drop N ignores the first N
 * messages (a cloud that crashed before answering).  Prints one line per
 * message on stdout: "stored|duplicate|rejected|dropped ID_PREFIX KIND", and
 * "ready" once subscribed.  Runs until SIGTERM.  Not a product program:
 * no persistence, no registry, no policy.  One libuv loop thread.
 */
#include "anshim/appcheckin.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/keyfile.h"
#include "anshim/mqtt.h"
#include "anshim/parse.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define SEEN_MAX 4096

struct fake {
	struct as_mqtt *mqtt;
	uv_signal_t sigterm;
	uint8_t sk[AS_SIGN_SK_LEN];
	uint8_t authority_pk[AS_SIGN_PK_LEN];
	int verify;
	int reject;
	int64_t drop;
	uint8_t seen[SEEN_MAX][AS_APP_CHECKIN_ID_LEN];
	size_t n_seen;
};

static int seen_before(struct fake *f, const uint8_t *id)
{
	for (size_t i = 0; i < f->n_seen; i++)
		if (memcmp(f->seen[i], id, AS_APP_CHECKIN_ID_LEN) == 0)
			return 1;
	if (f->n_seen < SEEN_MAX)
		memcpy(f->seen[f->n_seen++], id, AS_APP_CHECKIN_ID_LEN);
	return 0;
}

static void on_connected(void *ctx)
{
	struct fake *f = ctx;

	if (as_mqtt_subscribe(f->mqtt, "anshim/v1/wallet/+/checkin", 1, 1))
		fprintf(stderr, "fake_wallet_cloud: subscribe failed\n");
}

static void on_subscribed(void *ctx, uint64_t id, int ok)
{
	printf("%s\n", ok ? "ready" : "subscribe-refused");
	fflush(stdout);
}

static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len)
{
	struct fake *f = ctx;
	struct as_app_checkin m;
	struct as_app_answer a = {0};
	uint8_t bin[AS_APP_ANSWER_LEN];
	char ack[128], hex[2 * AS_APP_CHECKIN_ID_LEN + 1];
	size_t tlen = strlen(topic);
	int rc;

	if (tlen < 8 || tlen >= sizeof ack || strcmp(topic + tlen - 8, "/checkin") != 0)
		return;
	memcpy(ack, topic, tlen - 7);
	memcpy(ack + tlen - 7, "ack", 4);
	as_app_checkin_id(a.checkin_id, payload, len);
	as_hex_encode(hex, a.checkin_id, sizeof a.checkin_id);
	rc = as_app_checkin_decode(&m, payload, len);
	if (f->drop > 0) {
		f->drop--;
		printf("dropped %.12s %d\n", hex, rc ? 0 : m.kind);
		fflush(stdout);
		return;
	}
	a.cloud_time = (int64_t)time(NULL);
	if (rc) {
		a.status = AS_APP_REJECTED;
		a.reason = AS_APP_R_MALFORMED;
	} else if (f->verify && (rc = as_app_checkin_verify(&m, f->authority_pk)) != 0) {
		a.status = AS_APP_REJECTED;
		a.reason = rc == AS_E_HOLDER_SIG ? AS_APP_R_HOLDER_SIG : AS_APP_R_CREDENTIAL;
	} else if (f->reject) {
		a.status = AS_APP_REJECTED;
		a.reason = (uint8_t)f->reject;
	} else {
		a.status = seen_before(f, a.checkin_id) ? AS_APP_DUPLICATE : AS_APP_STORED;
	}
	if (as_app_answer_encode(bin, sizeof bin, &a, f->sk) != AS_APP_ANSWER_LEN ||
	    as_mqtt_publish(f->mqtt, ack, bin, sizeof bin, 1, 0, 2)) {
		fprintf(stderr, "fake_wallet_cloud: cannot answer\n");
		return;
	}
	printf("%s %.12s %d\n", a.status == AS_APP_REJECTED ? as_app_reason_name(a.reason) :
	       as_app_status_name(a.status), hex, m.kind);
	fflush(stdout);
}

static void on_sigterm(uv_signal_t *s, int signum)
{
	struct fake *f = s->data;

	as_mqtt_stop(f->mqtt);
	uv_close((uv_handle_t *)s, NULL);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"broker", required_argument, NULL, 'b'},
		{"key", required_argument, NULL, 'k'},
		{"verify", required_argument, NULL, 'v'},
		{"reject", required_argument, NULL, 'r'},
		{"drop", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	static const struct as_mqtt_handlers handlers = {
		.on_connected = on_connected,
		.on_message = on_message,
		.on_subscribed = on_subscribed,
	};
	struct as_mqtt_options mo = {0};
	const char *broker = NULL, *key = NULL;
	struct fake *f = calloc(1, sizeof *f);
	char err[200];
	int64_t v;
	int c;

	if (!f || as_crypto_init())
		return 1;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'b': broker = optarg; break;
		case 'k': key = optarg; break;
		case 'v':
			if (as_keyfile_read(optarg, AS_KEY_SIGN_PUBLIC, f->authority_pk))
				return 2;
			f->verify = 1;
			break;
		case 'r':
			if (as_parse_int64(optarg, 1, AS_APP_R_LAST, &v))
				return 2;
			f->reject = (int)v;
			break;
		case 'd':
			if (as_parse_int64(optarg, 0, 1000, &f->drop))
				return 2;
			break;
		default: return 2;
		}
	}
	if (!broker || !key || as_keyfile_read(key, AS_KEY_SIGN_SECRET, f->sk)) {
		fprintf(stderr, "usage: fake_wallet_cloud --broker URI --key sign.key "
			"[--verify sign.pub] [--reject REASON] [--drop N]\n");
		return 2;
	}
	mo.uri = broker;
	mo.client_id = "fake-wallet-cloud";
	mo.keepalive = 30;
	mo.clean_session = 1;
	mo.max_buffered = 1000;
	mo.reconnect_min_ms = 100;
	mo.reconnect_max_ms = 1000;
	if (as_mqtt_start(&f->mqtt, uv_default_loop(), &mo, &handlers, f, err, sizeof err)) {
		fprintf(stderr, "fake_wallet_cloud: %s\n", err);
		return 1;
	}
	uv_signal_init(uv_default_loop(), &f->sigterm);
	f->sigterm.data = f;
	uv_signal_start(&f->sigterm, on_sigterm, SIGTERM);
	uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	uv_loop_close(uv_default_loop());
	free(f);
	return 0;
}
