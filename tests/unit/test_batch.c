/*
 * test_batch.c - the signed batch codec (common/src/batch.c): round trips
 * up to the maximum size, encoder argument checks, framing, the header's
 * count and sequence fields, per-record length and contents, gateway id
 * peeking, the device signature, and the journal chain a batch carries
 * (journal id, links, per-record digests) with what as_chain_verify makes
 * of a changed, removed or expired record.
 */
#include "test.h"

#include "anshim/batch.h"

/* Header field offsets (batch.h). */
#define OFF_GW_ID 2
#define OFF_FIRST 26
#define OFF_LAST 34
#define OFF_COUNT 42
#define OFF_REC_LEN AS_BATCH_HEADER_LEN /* first record's rec_len */

static struct test_keys keys;
static struct as_record recs[AS_BATCH_MAX_RECORDS + 1];
static struct as_record decoded[AS_BATCH_MAX_RECORDS];

static int dec_batch(const uint8_t *in, size_t len)
{
	struct as_batch_header hdr;

	return as_batch_decode(&hdr, decoded, AS_BATCH_MAX_RECORDS, in, len);
}

/* Encode n fixture records from first_seq into a malloc'd buffer. */
static uint8_t *make_batch(size_t n, uint64_t first_seq, size_t *len)
{
	struct as_batch_header hdr = {0};
	size_t cap = as_batch_size(n);
	uint8_t *buf = malloc(cap);
	int rc;

	if (!buf)
		abort();
	as_gateway_id(hdr.gw_id, keys.device_pk);
	hdr.batch_seq = 9;
	hdr.first_seq = first_seq;
	hdr.created = TEST_NOW;
	for (size_t i = 0; i < n; i++)
		test_record_make(&recs[i], first_seq + i);
	rc = as_batch_encode(buf, cap, &hdr, recs, n, keys.device_sk);
	if (rc != (int)cap) {
		fprintf(stderr, "as_batch_encode: %s\n", as_errname(rc));
		abort();
	}
	*len = cap;
	return buf;
}

/* Decode a copy of batch with a little-endian field patched. */
static int decode_patched(const uint8_t *batch, size_t len, size_t off, size_t width,
			  uint64_t v)
{
	uint8_t *copy = malloc(len);
	int rc;

	if (!copy)
		abort();
	memcpy(copy, batch, len);
	test_put_le(copy, off, width, v);
	rc = test_decode_copy(dec_batch, copy, len);
	free(copy);
	return rc;
}

static void check_round_trip(size_t n, uint64_t first_seq)
{
	struct as_batch_header hdr;
	uint8_t gw[AS_GWID_LEN], *batch, *again;
	size_t len;

	test_ctx("%zu records from seq %" PRIu64, n, first_seq);
	batch = make_batch(n, first_seq, &len);
	CHECK_EQ_INT(len, AS_BATCH_HEADER_LEN + n * AS_BATCH_ENTRY_LEN + AS_SIG_LEN);
	CHECK_OK(as_batch_verify(batch, len, keys.device_pk));
	if (CHECK_OK(as_batch_decode(&hdr, decoded, AS_BATCH_MAX_RECORDS, batch, len))) {
		CHECK_EQ_INT(hdr.count, n);
		CHECK(hdr.first_seq == first_seq && hdr.last_seq == first_seq + n - 1);
		CHECK(hdr.batch_seq == 9 && hdr.created == TEST_NOW);
		as_gateway_id(gw, keys.device_pk);
		CHECK_MEM(hdr.gw_id, gw, AS_GWID_LEN);
		CHECK(decoded[n - 1].seq == first_seq + n - 1);
		/* Re-encoding what was decoded gives the same bytes. */
		again = malloc(len);
		if (again) {
			CHECK_RC(as_batch_encode(again, len, &hdr, decoded, n, keys.device_sk),
				 (int)len);
			CHECK_MEM(again, batch, len);
			free(again);
		}
	}
	free(batch);
	test_ctx_clear();
}

static void test_round_trips(void)
{
	check_round_trip(1, 1);
	check_round_trip(3, 100);
	check_round_trip(AS_BATCH_MAX_RECORDS, 5000);
	CHECK_EQ_INT(as_batch_size(AS_BATCH_MAX_RECORDS), AS_BATCH_MAX_BYTES);
}

static void test_encode_arguments(void)
{
	struct as_batch_header hdr = {0};
	uint8_t *buf = malloc(AS_BATCH_MAX_BYTES + 300);
	size_t size3 = as_batch_size(3);

	if (!CHECK(buf != NULL))
		return;
	hdr.first_seq = 10;
	for (size_t i = 0; i <= AS_BATCH_MAX_RECORDS; i++)
		test_record_make(&recs[i], 10 + i);
	CHECK_RC(as_batch_encode(buf, AS_BATCH_MAX_BYTES + 300, &hdr, recs, 0, keys.device_sk),
		 AS_E_LENGTH);
	CHECK_RC(as_batch_encode(buf, AS_BATCH_MAX_BYTES + 300, &hdr, recs,
				 AS_BATCH_MAX_RECORDS + 1, keys.device_sk), AS_E_LENGTH);
	/* count and last_seq are set from n, whatever they held. */
	hdr.count = 77;
	hdr.last_seq = 1;
	CHECK_RC(as_batch_encode(buf, size3, &hdr, recs, 3, keys.device_sk), (int)size3);
	CHECK_EQ_INT(hdr.count, 3);
	CHECK_EQ_INT(hdr.last_seq, 12);
	/* Every capacity short of the full size is refused, without writing
	 * past it (each try gets a buffer of exactly that size). */
	for (size_t cap = 0; cap < size3; cap++) {
		uint8_t *exact = malloc(cap);
		int rc = as_batch_encode(exact, cap, &hdr, recs, 3, keys.device_sk);

		free(exact);
		test_ctx("capacity %zu of %zu", cap, size3);
		if (!CHECK_RC(rc, AS_E_OVERSIZE))
			break;
	}
	test_ctx_clear();
	/* Records must be contiguous from first_seq, and valid. */
	recs[1].seq = 12;
	CHECK_RC(as_batch_encode(buf, size3, &hdr, recs, 3, keys.device_sk), AS_E_FIELD);
	recs[1].seq = 11;
	hdr.first_seq = 11;
	CHECK_RC(as_batch_encode(buf, size3, &hdr, recs, 3, keys.device_sk), AS_E_FIELD);
	free(buf);
}

static void test_framing(void)
{
	size_t len;
	uint8_t *batch = make_batch(3, 100, &len);

	test_check_truncations("batch", dec_batch, batch, len, NULL);
	/* Version 1 is still read (its own, shorter layout). */
	test_check_framing_old("batch", dec_batch, batch, len, AS_BATCH_MAX_BYTES + 1, 1);
	free(batch);
}

static void test_length_fields(void)
{
	size_t len;
	uint8_t *batch = make_batch(3, 100, &len);
	struct as_batch_header hdr;

	/* count disagreeing with first/last, or out of range. */
	CHECK_RC(decode_patched(batch, len, OFF_COUNT, 4, 2), AS_E_LENGTH);
	CHECK_RC(decode_patched(batch, len, OFF_COUNT, 4, 4), AS_E_LENGTH);
	CHECK_RC(decode_patched(batch, len, OFF_COUNT, 4, 0), AS_E_LENGTH);
	CHECK_RC(decode_patched(batch, len, OFF_COUNT, 4, AS_BATCH_MAX_RECORDS + 1),
		 AS_E_LENGTH);
	CHECK_RC(decode_patched(batch, len, OFF_COUNT, 4, UINT32_MAX), AS_E_LENGTH);
	CHECK_RC(decode_patched(batch, len, OFF_LAST, 8, 101), AS_E_LENGTH);
	CHECK_RC(decode_patched(batch, len, OFF_LAST, 8, 99), AS_E_LENGTH);
	CHECK_RC(decode_patched(batch, len, OFF_LAST, 8, UINT64_MAX), AS_E_LENGTH);
	CHECK_RC(decode_patched(batch, len, OFF_FIRST, 8, 0), AS_E_LENGTH);
	CHECK_RC(decode_patched(batch, len, OFF_FIRST, 8, 101), AS_E_LENGTH);
	/* A record length other than 215, first or last record. */
	CHECK_RC(decode_patched(batch, len, OFF_REC_LEN, 2, 214), AS_E_LENGTH);
	CHECK_RC(decode_patched(batch, len, OFF_REC_LEN, 2, 216), AS_E_LENGTH);
	CHECK_RC(decode_patched(batch, len, OFF_REC_LEN, 2, 0), AS_E_LENGTH);
	CHECK_RC(decode_patched(batch, len, OFF_REC_LEN + 2 * AS_BATCH_ENTRY_LEN, 2, 0xffff),
		 AS_E_LENGTH);
	/* More records than the caller has room for. */
	CHECK_RC(as_batch_decode(&hdr, decoded, 2, batch, len), AS_E_LENGTH);
	CHECK_OK(as_batch_decode(&hdr, decoded, 3, batch, len));
	free(batch);
}

static void test_record_contents(void)
{
	size_t len;
	uint8_t *batch = make_batch(3, 100, &len);
	size_t rec1 = AS_BATCH_HEADER_LEN + AS_BATCH_ENTRY_LEN + 2; /* second record */

	/* A record whose own seq breaks the run. */
	CHECK_RC(decode_patched(batch, len, rec1 + 4, 8, 100), AS_E_FIELD);
	CHECK_RC(decode_patched(batch, len, rec1 + 4, 8, 102), AS_E_FIELD);
	/* A record failing its own checks. */
	CHECK_RC(decode_patched(batch, len, rec1 + 2, 1, 0), AS_E_FIELD);  /* kind */
	CHECK_RC(decode_patched(batch, len, rec1 + 0, 1, 'X'), AS_E_MAGIC);
	CHECK_RC(decode_patched(batch, len, rec1 + 1, 1, 2), AS_E_VERSION);
	CHECK_RC(decode_patched(batch, len, rec1 + 82, 2, 1), AS_E_LENGTH); /* capsule_len */
	free(batch);
}

static void test_signature(void)
{
	size_t len;
	uint8_t *batch = make_batch(1, 1, &len);
	uint8_t *bad = malloc(len + 1);
	int signature = 0;

	if (!CHECK(bad != NULL))
		return;
	CHECK_OK(as_batch_verify(batch, len, keys.device_pk));
	CHECK_RC(as_batch_verify(batch, len, keys.holder_pk), AS_E_SIGNATURE);
	/* Every byte is covered, the signature itself included. */
	for (size_t at = 0; at < len; at++) {
		memcpy(bad, batch, len);
		bad[at] ^= 0x10;
		signature += as_batch_verify(bad, len, keys.device_pk) == AS_E_SIGNATURE;
	}
	CHECK_EQ_INT(signature, len);
	/* A trailing byte moves where the signature is looked for. */
	memcpy(bad, batch, len);
	bad[len] = 0;
	CHECK_RC(as_batch_verify(bad, len + 1, keys.device_pk), AS_E_SIGNATURE);
	CHECK_RC(as_batch_verify(batch, AS_BATCH_V1_HEADER_LEN + AS_SIG_LEN - 1, keys.device_pk),
		 AS_E_TRUNCATED);
	CHECK_RC(as_batch_verify(batch, 0, keys.device_pk), AS_E_TRUNCATED);
	/* Decoding does not check the signature: that is as_batch_verify's job. */
	memcpy(bad, batch, len);
	bad[len - 1] ^= 1;
	CHECK_OK(test_decode_copy(dec_batch, bad, len));
	free(bad);
	free(batch);
}

static int peek(const uint8_t *in, size_t len)
{
	uint8_t gw[AS_GWID_LEN];

	return as_batch_peek_gateway(gw, in, len);
}

static void test_peek_gateway(void)
{
	size_t len;
	uint8_t *batch = make_batch(2, 1, &len);
	uint8_t gw[AS_GWID_LEN], want[AS_GWID_LEN];

	as_gateway_id(want, keys.device_pk);
	memset(gw, 0, sizeof gw);
	CHECK_OK(as_batch_peek_gateway(gw, batch, len));
	CHECK_MEM(gw, want, AS_GWID_LEN);
	/* The header alone is enough; less is truncated. */
	CHECK_OK(test_decode_copy(peek, batch, AS_BATCH_HEADER_LEN));
	test_check_truncations("batch header", peek, batch, AS_BATCH_HEADER_LEN, NULL);
	batch[0] = 'b';
	CHECK_RC(test_decode_copy(peek, batch, len), AS_E_MAGIC);
	batch[0] = 'B';
	batch[1] = 0;
	CHECK_RC(test_decode_copy(peek, batch, len), AS_E_VERSION);
	free(batch);
	{
		uint8_t *big = calloc(1, AS_BATCH_MAX_BYTES + 1);

		if (CHECK(big != NULL)) {
			big[0] = 'B';
			big[1] = 1;
			CHECK_RC(as_batch_peek_gateway(gw, big, AS_BATCH_MAX_BYTES + 1), AS_E_OVERSIZE);
			free(big);
		}
	}
}


/* The chain fields travel as given; as_chain_verify judges them. */
static void test_chain_fields(void)
{
	enum { N = 6 };
	static struct as_record run[N], got[N];
	uint8_t digests[N][AS_CHAIN_LEN], got_d[N][AS_CHAIN_LEN], genesis[AS_CHAIN_LEN] = {0};
	uint8_t links[N + 1][AS_CHAIN_LEN];
	struct as_batch_header hdr = {0}, out;
	size_t cap = as_batch_size(N), at = 99;
	uint8_t *buf = malloc(cap);
	int len;

	if (!CHECK(buf != NULL))
		return;
	/* A journal's run 1..6 and its links. */
	memcpy(links[0], genesis, AS_CHAIN_LEN);
	for (size_t i = 0; i < N; i++) {
		test_record_make(&run[i], 1 + i);
		as_chain_record_digest(&run[i], digests[i]);
		as_chain_link(links[i], digests[i], links[i + 1]);
	}
	/* A batch of records 3..6: prev is the link after 2. */
	as_gateway_id(hdr.gw_id, keys.device_pk);
	hdr.first_seq = 3;
	test_fill(hdr.journal_id, AS_JOURNAL_ID_LEN, 77);
	memcpy(hdr.chain_prev, links[2], AS_CHAIN_LEN);
	memcpy(hdr.chain_head, links[N], AS_CHAIN_LEN);
	len = as_batch_encode_chained(buf, cap, &hdr, run + 2,
				      (const uint8_t (*)[AS_CHAIN_LEN])(digests + 2), 4, keys.device_sk);
	CHECK_RC(len, (int)as_batch_size(4));
	CHECK_OK(as_batch_verify(buf, (size_t)len, keys.device_pk));
	if (CHECK_OK(as_batch_decode_chained(&out, got, got_d, N, buf, (size_t)len))) {
		CHECK_EQ_INT(out.version, AS_BATCH_VERSION);
		CHECK_MEM(out.journal_id, hdr.journal_id, AS_JOURNAL_ID_LEN);
		CHECK_MEM(out.chain_prev, links[2], AS_CHAIN_LEN);
		CHECK_MEM(out.chain_head, links[N], AS_CHAIN_LEN);
		CHECK_MEM(got_d, digests + 2, 4 * AS_CHAIN_LEN);
		CHECK_EQ_INT(as_chain_verify(out.chain_prev, out.chain_head, got,
					     (const uint8_t (*)[AS_CHAIN_LEN])got_d, 4, INT64_MAX, INT64_MAX, &at),
			     AS_CHAIN_INTACT);
	}
	/* as_batch_encode computes the digests and the head from prev. */
	hdr.first_seq = 1;
	memset(hdr.chain_head, 0, AS_CHAIN_LEN);
	memcpy(hdr.chain_prev, genesis, AS_CHAIN_LEN);
	len = as_batch_encode(buf, cap, &hdr, run, N, keys.device_sk);
	CHECK_RC(len, (int)cap);
	CHECK_MEM(hdr.chain_head, links[N], AS_CHAIN_LEN);
	if (CHECK_OK(as_batch_decode_chained(&out, got, got_d, N, buf, (size_t)len)))
		CHECK_MEM(got_d, digests, sizeof digests);
	/* A record changed after its digest was taken. */
	run[3].headcount = 2;
	CHECK_EQ_INT(as_chain_verify(genesis, links[N], run,
				     (const uint8_t (*)[AS_CHAIN_LEN])digests, N, INT64_MAX, INT64_MAX, &at),
		     AS_CHAIN_RECORD_CHANGED);
	CHECK_EQ_INT(at, 3);
	run[3].headcount = 1;
	/* Its seq and (unsynced) entry time may change: not part of the
	 * digest. */
	run[3].seq = 1003;
	run[4].flags = AS_REC_CLOCK_UNSYNCED;
	as_chain_record_digest(&run[4], digests[4]);
	as_chain_link(links[4], digests[4], links[5]);
	as_chain_link(links[5], digests[5], links[6]);
	run[4].entry_time += 3600;
	run[4].flags = AS_REC_TIME_CORRECTED;
	CHECK_EQ_INT(as_chain_verify(genesis, links[N], run,
				     (const uint8_t (*)[AS_CHAIN_LEN])digests, N, INT64_MAX, INT64_MAX, &at),
		     AS_CHAIN_INTACT);
	/* A placeholder: the batch carries the personal hash of the record it
	 * replaced, and its digest is recomputed from that and its own
	 * fields, which the digest binds. */
	{
		uint8_t seals[N][AS_CHAIN_LEN], personal[AS_CHAIN_LEN];
		struct as_record live = run[1];
		int64_t when = run[1].entry_time;

		as_chain_record_personal(&run[1], personal);
		as_record_make_placeholder(&run[1]);
		memcpy(seals, digests, sizeof seals);
		memcpy(seals[1], personal, AS_CHAIN_LEN);
		as_chain_unseal(run, seals, N);
		CHECK_MEM(seals, digests, sizeof seals);
		CHECK_EQ_INT(as_chain_verify(genesis, links[N], run,
					     (const uint8_t (*)[AS_CHAIN_LEN])seals, N, when + 1, INT64_MAX, &at),
			     AS_CHAIN_INTACT);
		/* ...but only if it is past the receiver's retention horizon:
		 * a live record turned into one by an edit on disk is not. */
		at = 99;
		CHECK_EQ_INT(as_chain_verify(genesis, links[N], run,
					     (const uint8_t (*)[AS_CHAIN_LEN])seals, N, when, INT64_MAX, &at),
			     AS_CHAIN_EARLY_PLACEHOLDER);
		CHECK_EQ_INT(at, 1);
		/* Dated after the window (the gateway purges records dated in
		 * the future too): legitimate. */
		CHECK_EQ_INT(as_chain_verify(genesis, links[N], run,
					     (const uint8_t (*)[AS_CHAIN_LEN])seals, N, when - 600,
					     when - 1, &at),
			     AS_CHAIN_INTACT);
		/* Its entry time moved back to pass that check: its digest
		 * no longer folds to the head. */
		run[1].entry_time = when - 100 * 86400;
		memcpy(seals[1], personal, AS_CHAIN_LEN);
		as_chain_unseal(run, seals, N);
		CHECK_EQ_INT(as_chain_verify(genesis, links[N], run,
					     (const uint8_t (*)[AS_CHAIN_LEN])seals, N, when + 1, INT64_MAX, &at),
			     AS_CHAIN_HEAD_MISMATCH);
		/* Its other kept fields are bound too. */
		run[1].entry_time = when;
		run[1].headcount = 5;
		memcpy(seals[1], personal, AS_CHAIN_LEN);
		as_chain_unseal(run, seals, N);
		CHECK_EQ_INT(as_chain_verify(genesis, links[N], run,
					     (const uint8_t (*)[AS_CHAIN_LEN])seals, N, when + 1, INT64_MAX, &at),
			     AS_CHAIN_HEAD_MISMATCH);
		run[1].headcount = live.headcount;
		/* Made without the personal hash (the old digest left as the
		 * seal): a break too. */
		memcpy(seals[1], digests[1], AS_CHAIN_LEN);
		as_chain_unseal(run, seals, N);
		CHECK_EQ_INT(as_chain_verify(genesis, links[N], run,
					     (const uint8_t (*)[AS_CHAIN_LEN])seals, N, when + 1, INT64_MAX, &at),
			     AS_CHAIN_HEAD_MISMATCH);
		/* A placeholder's own seal is its personal hash, and what
		 * as_batch_encode carries. */
		as_chain_record_seal(&run[1], seals[1]);
		as_chain_record_personal(&run[1], personal);
		CHECK_MEM(seals[1], personal, AS_CHAIN_LEN);
		as_chain_record_seal(&live, seals[1]);
		CHECK_MEM(seals[1], digests[1], AS_CHAIN_LEN);
	}
	/* A record removed from the run (with its digest): the digests no
	 * longer fold to the head the journal holds. */
	memmove(&run[2], &run[3], 3 * sizeof run[0]);
	memmove(digests[2], digests[3], 3 * AS_CHAIN_LEN);
	CHECK_EQ_INT(as_chain_verify(genesis, links[N], run,
				     (const uint8_t (*)[AS_CHAIN_LEN])digests, N - 1, INT64_MAX, INT64_MAX, &at),
		     AS_CHAIN_HEAD_MISMATCH);
	/* A wrong link before the run. */
	CHECK_EQ_INT(as_chain_verify(links[1], links[N], run + 3,
				     (const uint8_t (*)[AS_CHAIN_LEN])(digests + 3), 2, INT64_MAX, INT64_MAX, &at),
		     AS_CHAIN_HEAD_MISMATCH);
	/* A digest changed in flight breaks the signature, not the framing. */
	len = as_batch_encode(buf, cap, &hdr, recs, 1, keys.device_sk);
	if (CHECK(len > 0)) {
		buf[AS_BATCH_HEADER_LEN + 2 + AS_RECORD_LEN] ^= 1;
		CHECK_OK(test_decode_copy(dec_batch, buf, (size_t)len));
		CHECK_RC(as_batch_verify(buf, (size_t)len, keys.device_pk), AS_E_SIGNATURE);
	}
	free(buf);
}

int main(void)
{
	test_keys_init(&keys);
	TEST_RUN(test_round_trips);
	TEST_RUN(test_encode_arguments);
	TEST_RUN(test_framing);
	TEST_RUN(test_length_fields);
	TEST_RUN(test_record_contents);
	TEST_RUN(test_signature);
	TEST_RUN(test_peek_gateway);
	TEST_RUN(test_chain_fields);
	return TEST_DONE();
}
