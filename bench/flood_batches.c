/*
 * flood_batches - the gateways of a visits_gen world sending their signed
 * batches to the cloud over MQTT as real gateways do: each gateway keeps
 * one batch in flight and sends its next when the cloud's signed ack
 * covers it (a batch not acknowledged within 15 s is sent again), all
 * gateways at once.  It measures the cloud's ingest of gateway batches,
 * from the first publish to the last ack, whatever the cloud is: one
 * embedded anshim-cloudd or ingest nodes on PostgreSQL (bench/cluster_ingest).
 *
 *   flood_batches --store STORE --enroll [WORLD]
 *   flood_batches --broker URI --keys DIR [WORLD]
 *   WORLD: [--visits N] [--days D] [--seed S] [--window SECONDS]
 *
 * --enroll enrols the world's gateways and venues in STORE (a store
 * directory or a postgresql:// URI) with the device keys the batches are
 * signed with; the second form publishes.  Both must be given the same
 * WORLD.  The world's days are moved to end yesterday (whole days, so
 * opening hours stay local), so the cloud's retention and clock checks
 * see recent visits.  DIR holds the authority's sign.pub, to check acks.
 * Prints what it sent and the rate; exit 0 when every batch was
 * acknowledged.  Not a test: a benchmark tool.
 * Single thread, one libuv loop.
 */
#include "gen.h"

#include "anshim/ack.h"
#include "anshim/args.h"
#include "anshim/batch.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/keyfile.h"
#include "anshim/mqtt.h"
#include "stats.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "flood_batches"
#define RESEND_AFTER_SEC 15.0
#define DEADLINE_SEC 1800.0
#define ACK_TOPIC "anshim/v1/gw/+/ack"

struct encoded_batch {
	uint8_t *data;
	size_t len;
	uint64_t last_seq;
	uint32_t records;
};

struct gateway {
	uint8_t id[AS_GWID_LEN];
	char topic[80];
	struct encoded_batch *batches;   /* in seq order */
	size_t n_batches, cap, next;     /* next: the one in flight or to send */
	int in_flight, queued;
	double sent_at;
};

struct flood {
	struct gen_world w;
	struct gateway *gws;             /* index = world gateway */
	struct gateway **by_id;          /* the gateways sorted by id */
	size_t *queue, q_head, q_len;    /* gateways with a batch to send */
	uint8_t authority_pk[AS_SIGN_PK_LEN];
	struct as_mqtt *mqtt;
	uv_timer_t tick;
	double start, end;
	uint64_t records, batches, resent, acks, bad_acks;
	size_t gateways_done;
	int stopping, subscribed;
};

static int64_t day_shift(const struct gen_params *p)
{
	int64_t today = ((int64_t)time(NULL) - GEN_START) / GEN_DAY;

	return (today - p->days - 1) * GEN_DAY;
}

static int cmp_gw_id(const void *a, const void *b)
{
	const struct gateway *x = *(struct gateway *const *)a, *y = *(struct gateway *const *)b;

	return memcmp(x->id, y->id, AS_GWID_LEN);
}

static struct gateway *find_gateway(struct flood *f, const uint8_t id[AS_GWID_LEN])
{
	struct gateway key_gw, *key = &key_gw, **hit;

	memcpy(key_gw.id, id, AS_GWID_LEN);
	hit = bsearch(&key, f->by_id, f->w.n_gw, sizeof *f->by_id, cmp_gw_id);
	return hit ? *hit : NULL;
}

/* Sign every batch of the world, each gateway's chained from its last. */
static int encode_world(struct flood *f)
{
	const struct gen_world *w = &f->w;
	int64_t shift = day_shift(&w->p), now = (int64_t)time(NULL);
	struct as_record *recs = calloc(AS_BATCH_MAX_RECORDS, sizeof *recs);
	uint8_t (*heads)[AS_CHAIN_LEN] = calloc(w->n_gw, AS_CHAIN_LEN);
	uint8_t (*keys)[AS_SIGN_SK_LEN] = calloc(w->n_gw, AS_SIGN_SK_LEN);
	int rc = 0;

	f->gws = calloc(w->n_gw, sizeof *f->gws);
	f->by_id = calloc(w->n_gw, sizeof *f->by_id);
	f->queue = calloc(w->n_gw, sizeof *f->queue);
	if (!recs || !heads || !keys || !f->gws || !f->by_id || !f->queue)
		rc = -ENOMEM;
	for (size_t g = 0; !rc && g < w->n_gw; g++) {
		uint8_t pk[AS_SIGN_PK_LEN];
		char hex[2 * AS_GWID_LEN + 1];

		gen_gateway_id(w, (uint32_t)g, f->gws[g].id);
		gen_gateway_keypair(w, (uint32_t)g, pk, keys[g]);
		as_hex_encode(hex, f->gws[g].id, AS_GWID_LEN);
		snprintf(f->gws[g].topic, sizeof f->gws[g].topic, "anshim/v1/gw/%s/batch", hex);
		f->by_id[g] = &f->gws[g];
	}
	for (size_t b = 0; !rc && b < w->n_main_batches; b++) {
		const struct gen_batch *br = &w->batches[b];
		uint32_t gi = w->v[br->first].gw;
		struct gateway *gw = &f->gws[gi];
		struct as_batch_header hdr = {0};
		struct encoded_batch *eb;
		uint8_t pid[AS_PID_LEN];
		int n;

		if (br->n > AS_BATCH_MAX_RECORDS) {
			rc = AS_E_LENGTH;
			break;
		}
		for (uint32_t i = 0; i < br->n; i++) {
			struct as_record *r = &recs[i];

			gen_fill_record(w, br->first + i, r, pid);
			r->entry_time += shift;
			if (r->exit_time)
				r->exit_time += shift;
			if (r->credential_expires)
				r->credential_expires += shift;
		}
		if (gw->n_batches == gw->cap) {
			size_t cap = gw->cap ? 2 * gw->cap : 8;
			void *p = realloc(gw->batches, cap * sizeof *gw->batches);

			if (!p) {
				rc = -ENOMEM;
				break;
			}
			gw->batches = p;
			gw->cap = cap;
		}
		eb = &gw->batches[gw->n_batches];
		eb->data = malloc(as_batch_size(br->n));
		if (!eb->data) {
			rc = -ENOMEM;
			break;
		}
		memcpy(hdr.gw_id, gw->id, AS_GWID_LEN);
		hdr.batch_seq = gw->n_batches + 1;
		hdr.first_seq = recs[0].seq;
		hdr.created = now;
		memcpy(hdr.journal_id, gw->id, AS_JOURNAL_ID_LEN < AS_GWID_LEN ? AS_JOURNAL_ID_LEN
										: AS_GWID_LEN);
		memcpy(hdr.chain_prev, heads[gi], AS_CHAIN_LEN);
		n = as_batch_encode(eb->data, as_batch_size(br->n), &hdr, recs, br->n, keys[gi]);
		if (n < 0) {
			free(eb->data);
			rc = n;
			break;
		}
		memcpy(heads[gi], hdr.chain_head, AS_CHAIN_LEN);
		eb->len = (size_t)n;
		eb->last_seq = hdr.last_seq;
		eb->records = br->n;
		gw->n_batches++;
		f->records += br->n;
		f->batches++;
	}
	if (keys)
		sodium_memzero(keys, w->n_gw * (size_t)AS_SIGN_SK_LEN);
	free(keys);
	free(heads);
	free(recs);
	if (!rc)
		qsort(f->by_id, w->n_gw, sizeof *f->by_id, cmp_gw_id);
	return rc;
}

static void enqueue(struct flood *f, struct gateway *gw)
{
	if (gw->queued || gw->next >= gw->n_batches)
		return;
	gw->queued = 1;
	f->queue[(f->q_head + f->q_len++) % f->w.n_gw] = (size_t)(gw - f->gws);
}

static void stop(struct flood *f)
{
	if (f->stopping)
		return;
	f->stopping = 1;
	f->end = bench_now_sec();
	uv_timer_stop(&f->tick);
	uv_close((uv_handle_t *)&f->tick, NULL);
	as_mqtt_stop(f->mqtt);
}

/* Send the queued gateways' batches while the client takes them. */
static void pump(struct flood *f)
{
	while (!f->stopping && f->subscribed && f->q_len) {
		struct gateway *gw = &f->gws[f->queue[f->q_head]];
		struct encoded_batch *eb = &gw->batches[gw->next];
		int rc = as_mqtt_publish(f->mqtt, gw->topic, eb->data, eb->len, 1, 0, 0);

		if (rc == -ENOBUFS || rc == -ENOTCONN)
			return; /* on_published or the tick calls again */
		if (rc) {
			fprintf(stderr, PROG ": publish failed: %s\n", as_strerror(rc));
			stop(f);
			return;
		}
		f->q_head = (f->q_head + 1) % f->w.n_gw;
		f->q_len--;
		gw->queued = 0;
		gw->in_flight = 1;
		gw->sent_at = bench_now_sec();
	}
}

static void on_connected(void *ctx)
{
	struct flood *f = ctx;
	int rc = as_mqtt_subscribe(f->mqtt, ACK_TOPIC, 1, 1);

	if (rc) {
		fprintf(stderr, PROG ": cannot subscribe to the acks: %s\n", as_strerror(rc));
		stop(f);
	}
}

static void on_subscribed(void *ctx, uint64_t id, int ok)
{
	struct flood *f = ctx;

	(void)id;
	if (!ok) {
		fprintf(stderr, PROG ": the broker refused the subscription to the acks\n");
		stop(f);
		return;
	}
	if (f->subscribed)
		return;
	f->subscribed = 1;
	f->start = bench_now_sec();
	for (size_t g = 0; g < f->w.n_gw; g++)
		enqueue(f, &f->gws[g]);
	pump(f);
}

static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len)
{
	struct flood *f = ctx;
	struct gateway *gw;
	struct as_ack ack;
	size_t before;

	(void)topic;
	if (as_ack_decode(&ack, payload, len, f->authority_pk) ||
	    !(gw = find_gateway(f, ack.gw_id))) {
		f->bad_acks++;
		return;
	}
	f->acks++;
	before = gw->next;
	while (gw->next < gw->n_batches && gw->batches[gw->next].last_seq <= ack.through_seq)
		gw->next++;
	if (gw->next == before)
		return; /* nothing new acknowledged: the tick sends again if need be */
	gw->in_flight = 0;
	if (gw->next == gw->n_batches) {
		if (++f->gateways_done == f->w.n_gw)
			stop(f);
		return;
	}
	enqueue(f, gw);
	pump(f);
}

static void on_published(void *ctx, uint64_t id, int ok)
{
	(void)id;
	(void)ok;
	pump(ctx);
}

static void on_disconnected(void *ctx, const char *why)
{
	struct flood *f = ctx;

	fprintf(stderr, PROG ": disconnected (%s); reconnecting\n", why);
	f->subscribed = 0;
}

/* Every second: send again what waited too long for its ack; give up at
 * the deadline. */
static void on_tick(uv_timer_t *t)
{
	struct flood *f = t->data;
	double now = bench_now_sec();

	if (f->start && now - f->start > DEADLINE_SEC) {
		fprintf(stderr, PROG ": deadline: %zu of %zu gateways fully acknowledged\n",
			f->gateways_done, f->w.n_gw);
		stop(f);
		return;
	}
	for (size_t g = 0; g < f->w.n_gw; g++) {
		struct gateway *gw = &f->gws[g];

		if (gw->in_flight && now - gw->sent_at > RESEND_AFTER_SEC) {
			gw->in_flight = 0;
			f->resent++;
			enqueue(f, gw);
		}
	}
	pump(f);
}

static const struct as_mqtt_handlers handlers = {
	.on_connected = on_connected,
	.on_disconnected = on_disconnected,
	.on_message = on_message,
	.on_published = on_published,
	.on_subscribed = on_subscribed,
};

static int enroll(const struct gen_world *w, const char *store)
{
	struct cl_store *s;
	char err[512];
	int64_t shift = day_shift(&w->p);
	int rc = cl_store_open(&s, store, 0, 0, err, sizeof err);

	if (rc) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	for (size_t g = 0; !rc && g < w->n_gw; g++) {
		struct cl_gateway gw;
		struct cl_venue v;

		gen_gateway_entry(w, (uint32_t)g, &gw, &v);
		gw.enrolled_at += shift;
		rc = cl_store_enroll(s, &gw, &v);
	}
	cl_store_close(s);
	if (rc) {
		fprintf(stderr, PROG ": enrolling the gateways: %s\n", as_strerror(rc));
		return 1;
	}
	printf("enrolled %zu gateways of %zu venues\n", w->n_gw, w->n_venues);
	return 0;
}

static int publish(struct flood *f, const char *broker, const char *keys)
{
	struct as_mqtt_options mo = {0};
	char path[4096], err[512], client_id[64];
	uv_loop_t loop;
	int rc;

	snprintf(path, sizeof path, "%s/sign.pub", keys);
	rc = as_keyfile_read(path, AS_KEY_SIGN_PUBLIC, f->authority_pk);
	if (rc) {
		fprintf(stderr, PROG ": cannot read %s: %s\n", path, as_strerror(rc));
		return 1;
	}
	rc = encode_world(f);
	if (rc) {
		fprintf(stderr, PROG ": cannot sign the batches: %s\n", as_strerror(rc));
		return 1;
	}
	uv_loop_init(&loop);
	uv_timer_init(&loop, &f->tick);
	f->tick.data = f;
	uv_timer_start(&f->tick, on_tick, 1000, 1000);
	snprintf(client_id, sizeof client_id, "flood-batches-%u", (unsigned)randombytes_random());
	mo.uri = broker;
	mo.client_id = client_id;
	mo.keepalive = 30;
	mo.clean_session = 1;
	mo.max_buffered = (int)(f->w.n_gw + 10);
	mo.reconnect_min_ms = 200;
	mo.reconnect_max_ms = 1000;
	if (as_mqtt_start(&f->mqtt, &loop, &mo, &handlers, f, err, sizeof err)) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	printf("%llu records in %llu batches of %zu gateways; %zu gateways fully acknowledged "
	       "in %.2f s: %.0f records/s (%llu acks, %llu sent again, %llu bad acks)\n",
	       (unsigned long long)f->records, (unsigned long long)f->batches, f->w.n_gw,
	       f->gateways_done, f->end - f->start,
	       f->end > f->start ? (double)f->records / (f->end - f->start) : 0.0,
	       (unsigned long long)f->acks, (unsigned long long)f->resent,
	       (unsigned long long)f->bad_acks);
	return f->gateways_done == f->w.n_gw ? 0 : 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: " PROG " --store STORE --enroll [WORLD]\n"
		"       " PROG " --broker URI --keys DIR [WORLD]\n"
		"WORLD: [--visits N] [--days D] [--seed S] [--window SECONDS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'}, {"enroll", no_argument, NULL, 'e'},
		{"broker", required_argument, NULL, 'b'}, {"keys", required_argument, NULL, 'k'},
		{"visits", required_argument, NULL, 'n'}, {"days", required_argument, NULL, 'd'},
		{"seed", required_argument, NULL, 'S'}, {"window", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	const char *store = NULL, *broker = NULL, *keys = NULL;
	int64_t visits = 200000, days = 28, window = 86400;
	uint64_t seed = 1;
	struct gen_params p;
	struct flood f;
	int c, do_enroll = 0, rc;

	while ((c = as_args_next(PROG, argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': store = optarg; break;
		case 'e': do_enroll = 1; break;
		case 'b': broker = optarg; break;
		case 'k': keys = optarg; break;
		case 'n': visits = strtoll(optarg, NULL, 10); break;
		case 'd': days = strtoll(optarg, NULL, 10); break;
		case 'S': seed = strtoull(optarg, NULL, 10); break;
		case 'w': window = strtoll(optarg, NULL, 10); break;
		case 'h': usage(); return 0;
		default: return usage();
		}
	}
	if (do_enroll ? !store : (!broker || !keys))
		return usage();
	if (visits < 1000 || visits > 100000000 || days < 1 || days > 365 || window < 60) {
		fprintf(stderr, PROG ": --visits 1000..100000000, --days 1..365, --window >= 60\n");
		return 2;
	}
	if (as_crypto_init())
		return 1;
	gen_params_init(&p, visits);
	p.days = days;
	p.seed = seed;
	p.batch_window = window;
	memset(&f, 0, sizeof f);
	if (gen_world_make(&f.w, &p)) {
		fprintf(stderr, PROG ": out of memory for the world\n");
		return 1;
	}
	rc = do_enroll ? enroll(&f.w, store) : publish(&f, broker, keys);
	for (size_t g = 0; f.gws && g < f.w.n_gw; g++) {
		for (size_t b = 0; b < f.gws[g].n_batches; b++)
			free(f.gws[g].batches[b].data);
		free(f.gws[g].batches);
	}
	free(f.gws);
	free(f.by_id);
	free(f.queue);
	gen_world_free(&f.w);
	return rc;
}
