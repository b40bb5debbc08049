/*
 * test_gwcoverage.c - the venue silences a trace report marks
 * (cloud/gwcoverage.c): with the gateway registry read once
 * (cl_gateway_index_load + cl_venue_silences_in) they are exactly those of
 * a walk of the registry per lookup (cl_venue_silences), gateway for
 * gateway and in the same order, on a real store with several gateways per
 * venue, some silent for an hour, one never heard.  And the process's
 * kept index follows the store: a new gateway, a heartbeat, another store.
 */
#include "test.h"

#include "gwcoverage.h"
#include "store.h"

#include "anshim/heartbeat.h"

#define START 1767225600 /* 2026-01-01T00:00:00Z */
#define GATEWAYS 30
#define INTERVAL 300

struct seen {
	char text[64][96];
	int n;
};

static int record(void *ctx, const struct cl_gateway *g, const struct cl_silence *sl)
{
	struct seen *s = ctx;

	if (s->n < 64)
		snprintf(s->text[s->n++], sizeof s->text[0], "%02x%02x v%u %d %lld %lld", g->gw_id[0],
			 g->gw_id[15], (unsigned)g->venue_id, (int)sl->kind, (long long)sl->from,
			 (long long)sl->to);
	return 0;
}

static void gateway_id(uint8_t id[AS_GWID_LEN], int g)
{
	memset(id, 0, AS_GWID_LEN);
	id[0] = (uint8_t)(97 * g % 251); /* registry order differs from g's */
	id[15] = (uint8_t)g;
}

static void test_index_matches_walk(void)
{
	char dir[] = "/tmp/anshim-gwcoverage.XXXXXX", err[512], cmd[64];
	struct cl_store *s = NULL;
	struct cl_ingest *in = NULL;
	struct cl_gateway_index ix;
	struct as_heartbeat hb;
	int total = 0;

	if (!CHECK(mkdtemp(dir) != NULL))
		return;
	if (!CHECK_OK(cl_store_open(&s, dir, UINT64_C(256) << 20, 0, err, sizeof err)))
		return;
	for (int g = 0; g < GATEWAYS; g++) {
		struct cl_gateway gw;
		struct cl_venue v;

		memset(&gw, 0, sizeof gw);
		memset(&v, 0, sizeof v);
		gateway_id(gw.gw_id, g);
		gw.pk[0] = 1;
		gw.venue_id = (uint32_t)(g % 7 + 1); /* 4 or 5 gateways a venue */
		gw.enrolled_at = START - 86400;
		v.id = gw.venue_id;
		snprintf(v.name, sizeof v.name, "Venue %u", (unsigned)v.id);
		v.dwell_minutes = 60;
		CHECK_OK(cl_store_enroll(s, &gw, &v));
	}
	memset(&hb, 0, sizeof hb);
	hb.interval = INTERVAL;
	hb.clock_state = AS_CLOCK_SYNCED;
	hb.up_since = START - 60;
	hb.journal_size = 1 << 20;
	CHECK_OK(cl_store_ingest_begin(s, &in));
	for (int64_t t = START; t < START + 86400; t += INTERVAL) {
		for (int g = 0; g < GATEWAYS - 1; g++) { /* the last is never heard */
			if (g % 3 == 0 && (t - START) / 3600 == g % 24)
				continue; /* silent for that hour */
			gateway_id(hb.gw_id, g);
			hb.sent_at = t;
			hb.last_seq = (uint64_t)(t - START) / 60;
			CHECK_OK(cl_store_ingest_heartbeat(in, &hb, t, t + 1, NULL));
		}
	}
	CHECK_OK(cl_store_ingest_commit(in));

	if (CHECK_OK(cl_gateway_index_load(s, &ix))) {
		CHECK_EQ_INT(ix.n, GATEWAYS);
		CHECK(ix.by_venue != NULL); /* venues looked up, not scanned */
		for (uint32_t venue = 1; venue <= 8; venue++) {
			for (int64_t from = START; from < START + 86400; from += 5 * 3600) {
				struct seen walk = {.n = 0}, indexed = {.n = 0};

				test_ctx("venue %u from %lld", (unsigned)venue, (long long)from);
				CHECK_OK(cl_venue_silences(s, venue, from, from + 7200, START + 86400,
							   record, &walk));
				CHECK_OK(cl_venue_silences_in(s, &ix, venue, from, from + 7200,
							      START + 86400, record, &indexed));
				if (CHECK_EQ_INT(indexed.n, walk.n))
					for (int i = 0; i < walk.n; i++)
						CHECK_STR(indexed.text[i], walk.text[i]);
				total += walk.n;
			}
		}
		test_ctx_clear();
		cl_gateway_index_free(&ix);
		CHECK(ix.g == NULL && ix.n == 0 && ix.by_venue == NULL);
	}
	CHECK(total > 10); /* silences and never-heard periods were found */
	cl_store_close(s);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK_EQ_INT(system(cmd), 0);
}

static void enrol_one(struct cl_store *s, int g, uint32_t venue)
{
	struct cl_gateway gw;
	struct cl_venue v;

	memset(&gw, 0, sizeof gw);
	memset(&v, 0, sizeof v);
	gateway_id(gw.gw_id, g);
	gw.pk[0] = 1;
	gw.venue_id = venue;
	gw.enrolled_at = START - 86400;
	v.id = venue;
	snprintf(v.name, sizeof v.name, "Venue %u", (unsigned)venue);
	v.dwell_minutes = 60;
	CHECK_OK(cl_store_enroll(s, &gw, &v));
}

/* Loads the index and checks its gateway count, the first one's venue,
 * and every entry against the registry read now. */
static void check_index(struct cl_store *s, size_t n, uint32_t venue)
{
	struct cl_gateway_index ix;

	if (!CHECK_OK(cl_gateway_index_load(s, &ix)))
		return;
	if (CHECK_EQ_INT(ix.n, n) && n)
		CHECK_EQ_INT(ix.g[0].venue_id, venue);
	for (size_t i = 0; i < ix.n; i++) {
		struct cl_gateway now;

		if (CHECK_OK(cl_store_get_gateway(s, ix.g[i].gw_id, &now))) {
			CHECK_EQ_INT(ix.g[i].last_seen, now.last_seen);
			CHECK_EQ_INT(ix.g[i].through_seq, now.through_seq);
			CHECK_EQ_INT(ix.g[i].venue_id, now.venue_id);
		}
	}
	cl_gateway_index_free(&ix);
}

static void test_index_follows_store(void)
{
	char dir1[] = "/tmp/anshim-gwcoverage.XXXXXX", dir2[] = "/tmp/anshim-gwcoverage.XXXXXX";
	char err[512], cmd[96];
	struct cl_store *s = NULL, *other = NULL;
	struct cl_ingest *in = NULL;
	struct as_heartbeat hb;

	if (!CHECK(mkdtemp(dir1) != NULL) || !CHECK(mkdtemp(dir2) != NULL))
		return;
	if (!CHECK_OK(cl_store_open(&s, dir1, UINT64_C(64) << 20, 0, err, sizeof err)))
		return;
	enrol_one(s, 0, 1);
	check_index(s, 1, 1);
	check_index(s, 1, 1); /* unchanged store: the kept index */
	enrol_one(s, 1, 2);
	check_index(s, 2, 1); /* a new gateway */
	memset(&hb, 0, sizeof hb);
	hb.interval = INTERVAL;
	hb.clock_state = AS_CLOCK_SYNCED;
	hb.up_since = START - 60;
	hb.journal_size = 1 << 20;
	gateway_id(hb.gw_id, 0);
	hb.sent_at = START;
	CHECK_OK(cl_store_ingest_begin(s, &in));
	CHECK_OK(cl_store_ingest_heartbeat(in, &hb, START, START + 1, NULL));
	CHECK_OK(cl_store_ingest_commit(in));
	check_index(s, 2, 1); /* a heartbeat */
	cl_store_close(s);

	/* Another store with as many write transactions as the first had at
	 * its start: the index is its own. */
	if (CHECK_OK(cl_store_open(&other, dir2, UINT64_C(64) << 20, 0, err, sizeof err))) {
		enrol_one(other, 0, 9);
		check_index(other, 1, 9);
		cl_store_close(other);
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir1, dir2);
	CHECK_EQ_INT(system(cmd), 0);
}

int main(void)
{
	TEST_RUN(test_index_matches_walk);
	TEST_RUN(test_index_follows_store);
	return TEST_DONE();
}
