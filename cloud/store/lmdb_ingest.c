/*
 * lmdb_ingest.c - batches into the LMDB store: one write transaction
 * covers many batches; each batch is checked, its new records decided
 * (through_seq, and the journal chain: lmdb_chains.c) and queued, and the
 * commit writes the queue sorted by key per database.  Invariants: those
 * of lmdb_layout.c; a refused batch leaves the transaction usable, a
 * failed write leaves only abort.  Threads: a transaction is begun,
 * committed or aborted on one thread (the ingest thread in anshim-cloudd).
 */
#include "lmdb_chains.h"
#include "lmdb_ingest.h"
#include "lmdb_registry.h"
#include "lmdb_tokens.h"
#include "lmdb_visits.h"
#include "pg_store.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>

/* ---- ingest ---------------------------------------------------------------- */

/*
 * Ingest in two steps.  ingest_batch checks each batch, decides which of
 * its records are new (through_seq) and queues them with their vids.  The
 * commit then writes the queue in key order, once per transaction:
 * persons (sorted by pid), capsules and paper (by person number), by_pid
 * (by day, person, time), by_venue (by day, venue, time) and visit_blocks
 * (by vid: appends, the last block merged).  Neighbouring keys share leaf pages, so LMDB's cursors find
 * most of them without a descent from the root, and each touched page is
 * visited once per transaction rather than once per visit.
 */

/* Queue one new visit. */
int store_ingest_visit(struct cl_ingest *in, const struct stored_visit *sv,
			const uint8_t capsule[AS_CAPSULE_LEN])
{
	if (in->npend == in->pend_cap) {
		size_t cap = in->pend_cap ? in->pend_cap * 2 : 1024;
		struct pending *p = cap <= SIZE_MAX / sizeof *p ? realloc(in->pend, cap * sizeof *p)
								 : NULL;

		if (!p)
			return ENOMEM;
		in->pend = p;
		in->pend_cap = cap;
	}
	in->pend[in->npend].sv = *sv;
	memcpy(in->pend[in->npend].capsule, capsule, AS_CAPSULE_LEN);
	in->npend++;
	return 0;
}

/*
 * The person number of pid (in *person), creating the person (*fresh, with
 * fingerprint fp) or noting that fp differs from the stored one
 * (*differs).  A new person is written here; a stored one when base is
 * set and fp differs: its fingerprint is replaced, and the caller writes
 * the capsule.  Most visits bring the same capsule again (it is part of
 * the credential), so persons keeps a keyed fingerprint of it and the
 * capsule itself is not read; most people are only read.
 */
static int resolve_person(struct cl_ingest *in, const uint8_t pid[AS_PID_LEN],
			  const uint8_t fp[FP_LEN], int base, uint32_t *person, int *differs,
			  int *fresh)
{
	uint8_t pval[PERSON_VALUE_LEN];
	MDB_val key = {AS_PID_LEN, (void *)pid}, val;
	int rc;

	*differs = *fresh = 0;
	rc = mdb_cursor_get(in->persons, &key, &val, MDB_SET);
	if (rc == 0) {
		if (val.mv_size != PERSON_VALUE_LEN || as_get_be32(val.mv_data) == 0)
			return MDB_CORRUPTED;
		*person = as_get_be32(val.mv_data);
		*differs = memcmp((const uint8_t *)val.mv_data + 4, fp, FP_LEN) != 0;
		if (!*differs || !base)
			return 0;
	} else if (rc == MDB_NOTFOUND) {
		if (in->next_person > UINT32_MAX)
			return MDB_MAP_FULL; /* out of person numbers */
		*person = (uint32_t)in->next_person++;
		*fresh = 1;
	} else {
		return rc;
	}
	as_put_be32(pval, *person);
	memcpy(pval + 4, fp, FP_LEN);
	key = (MDB_val){AS_PID_LEN, (void *)pid};
	val = (MDB_val){PERSON_VALUE_LEN, pval};
	return store_fail(rc == 0 ? "writing to persons" : "adding to persons",
			  mdb_cursor_put(in->persons, &key, &val, MDB_CURRENT * (rc == 0)));
}

/*
 * The commit's sorts are LSD radix sorts of fixed-size records on a
 * big-endian byte prefix (byte order is the databases' key order), one
 * counting pass per byte from the last, stable, skipping the bytes that
 * every record shares.  Records stay in the order they were made (vid
 * order) where their keys are equal.
 */
static int radix_sort(void *base, size_t n, size_t size, size_t key_len)
{
	size_t (*count)[256];
	uint8_t *a = base, *b;

	if (n < 2)
		return 0;
	count = calloc(key_len, sizeof *count);
	b = n <= SIZE_MAX / size ? malloc(n * size) : NULL;
	if (!count || !b) {
		free(count);
		free(b);
		return ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < key_len; k++)
			count[k][a[i * size + k]]++;
	for (size_t k = key_len; k-- > 0;) {
		size_t pos = 0, *c = count[k];
		uint8_t *t;

		if (c[a[k]] == n)
			continue; /* every record has this byte */
		for (int d = 0; d < 256; d++) {
			size_t m = c[d];

			c[d] = pos;
			pos += m;
		}
		for (size_t i = 0; i < n; i++) {
			const uint8_t *r = a + i * size;

			memcpy(b + c[r[k]]++ * size, r, size);
		}
		t = a, a = b, b = t;
	}
	if (a != base) {
		memcpy(base, a, n * size);
		b = a;
	}
	free(b);
	free(count);
	return 0;
}

/* A queued visit's pid and its place in in->pend (vid order). */
struct pid_ref {
	uint8_t pid[AS_PID_LEN];
	uint32_t idx;
};

/* Sort refs by pid, then idx: a radix sort on the first four bytes (pids
 * are uniform), then an insertion sort that finishes the rare pids
 * sharing them (stable, so idx order stays within a pid). */
static int sort_pid_refs(struct pid_ref *refs, size_t n)
{
	int rc = radix_sort(refs, n, sizeof *refs, 4);

	for (size_t i = 1; i < n && !rc; i++) {
		struct pid_ref x = refs[i];
		size_t j = i;

		for (; j > 0 && memcmp(refs[j - 1].pid, x.pid, AS_PID_LEN) > 0; j--)
			refs[j] = refs[j - 1];
		refs[j] = x;
	}
	return rc;
}

/* An index entry to write: its key (day || venue or person) then the
 * entry itself, whose first bytes (time, vid) order a key's entries. */
struct idx_rec {
	uint8_t key[IDX_KEY_LEN];
	uint8_t ent[IDX_LEN];
};

/* What a commit does with one person's capsules. */
struct capsule_job {
	uint8_t person[4];      /* big-endian: the sort key */
	uint32_t idx;           /* the visit whose capsule is the latest */
	uint8_t fp[FP_LEN];     /* its fingerprint */
	uint8_t fresh;          /* a new person: append to capsules */
	uint8_t base;           /* replace the capsule in capsules */
	uint8_t paper;          /* it is the paper entry's, and differs from
				 * capsules': it goes to paper */
};

/* The queued visits' entries for one index (persons[i]: the person of
 * in->pend[i]), sorted by key, entry time and vid; returns how many. */
static int sort_index(struct cl_ingest *in, const uint32_t *persons, struct idx_rec *recs,
		      int is_pid, size_t *count)
{
	size_t n = 0;

	for (size_t i = 0; i < in->npend; i++) {
		struct cl_visit v = in->pend[i].sv.v;

		v.person = persons[i];
		if (is_pid && !v.person)
			continue; /* unattributed: no person to index */
		idx_key(recs[n].key, day_of(v.entry), is_pid ? v.person : v.venue_id);
		idx_entry(recs[n++].ent, &v, is_pid ? v.venue_id : v.person);
	}
	*count = n;
	/* Equal keys and times keep vid order: no need to sort on the vid. */
	return radix_sort(recs, n, sizeof *recs, IDX_KEY_LEN + 8);
}

/* by_venue: one DUPSORT entry per queued visit, in key order. */
static int write_venue_index(struct cl_ingest *in, const uint32_t *persons,
			     struct idx_rec *recs)
{
	size_t n;
	int rc = sort_index(in, persons, recs, 0, &n);

	for (size_t k = 0; k < n && !rc; k++) {
		MDB_val key = {IDX_KEY_LEN, recs[k].key}, val = {IDX_LEN, recs[k].ent};

		rc = store_fail("writing to by_venue", mdb_cursor_put(in->by_venue, &key, &val, 0));
	}
	return rc;
}

/* by_pid: per (day, person) of the queued visits, the stored entries and
 * the new ones merged in (entry, vid) order, written once. */
static int write_pid_index(struct cl_ingest *in, const uint32_t *persons, struct idx_rec *recs)
{
	size_t n;
	uint8_t *buf = NULL;
	size_t cap = 0;
	int rc = sort_index(in, persons, recs, 1, &n);

	for (size_t a = 0, b; a < n && !rc; a = b) {
		MDB_val key = {IDX_KEY_LEN, recs[a].key}, val;
		const uint8_t *old = NULL;
		size_t n_old = 0, need, o = 0, m = 0;

		for (b = a + 1; b < n && memcmp(recs[b].key, recs[a].key, IDX_KEY_LEN) == 0; b++)
			;
		rc = store_fail("reading by_pid",
				mdb_cursor_get(in->by_pid, &key, &val, MDB_SET_KEY));
		if (rc == 0) {
			if (val.mv_size == 0 || val.mv_size % IDX_LEN)
				rc = store_fail("reading by_pid (a value of part entries)",
						MDB_CORRUPTED);
			old = val.mv_data;
			n_old = val.mv_size / IDX_LEN;
		} else if (rc == MDB_NOTFOUND) {
			rc = 0;
		}
		need = (n_old + (b - a)) * IDX_LEN;
		/* No smaller bound: a pass scanned thousands of times a day
		 * (a card passed round, a scanner stuck on one code) makes a
		 * large value, rewritten by each commit that adds to it, but
		 * must not make every later batch with it fail. */
		if (!rc && need > PID_VALUE_MAX)
			rc = store_fail("writing to by_pid (one person's visits of one day)",
					MDB_BAD_VALSIZE);
		if (!rc && need > cap) {
			uint8_t *p = realloc(buf, need);

			if (!p)
				rc = ENOMEM;
			else
				buf = p, cap = need;
		}
		/* Merge: stored entries are in order, and so are recs[a..b). */
		for (size_t k = a; !rc && k <= b; k++) {
			while (o < n_old &&
			       (k == b || memcmp(old + o * IDX_LEN, recs[k].ent, 14) < 0)) {
				memcpy(buf + m * IDX_LEN, old + o * IDX_LEN, IDX_LEN);
				m++, o++;
			}
			if (k < b) {
				memcpy(buf + m * IDX_LEN, recs[k].ent, IDX_LEN);
				m++;
			}
		}
		if (!rc) {
			key = (MDB_val){IDX_KEY_LEN, recs[a].key};
			val = (MDB_val){m * IDX_LEN, buf};
			rc = store_fail("writing to by_pid",
					mdb_cursor_put(in->by_pid, &key, &val, 0));
		}
	}
	free(buf);
	return rc;
}

/*
 * Capsules and paper, in person-number order: a changed capsule in place,
 * then new people, whose numbers are all above the rest, appended.  paper
 * holds a person's latest capsule where that came with a paper entry and
 * differs from the one in capsules; any other visit's capsule takes its
 * place there (the latest seen wins), and paper loses the person.  Every
 * person of the commit is looked up in paper, which is small (the people
 * whose latest visit was a paper entry): the cursor steps forward where
 * the next entry is near and seeks where it is not (store_cursor_seek_near).
 */

static int write_capsules(struct cl_ingest *in, const struct capsule_job *jobs, size_t n)
{
	uint64_t at = 0; /* the paper cursor's key (store_cursor_seek_near); 0: not placed */
	MDB_val paper_key, paper_val;
	int rc = 0;

	for (size_t k = 0; k < n && !rc; k++) {
		const struct capsule_job *j = &jobs[k];
		const struct pending *p = &in->pend[j->idx];
		int has;

		if (j->base) {
			uint8_t cval[CAPSULE_VALUE_LEN];
			MDB_val key = {4, (void *)j->person}, val = {CAPSULE_VALUE_LEN, cval};

			memcpy(cval, p->sv.v.pid, AS_PID_LEN);
			memcpy(cval + AS_PID_LEN, p->capsule, AS_CAPSULE_LEN);
			rc = store_fail(j->fresh ? "appending to capsules" : "writing to capsules",
					mdb_cursor_put(in->capsules, &key, &val,
						       j->fresh ? MDB_APPEND : 0));
			if (rc)
				break;
		}
		if (j->fresh)
			continue; /* numbers are never reused: not in paper */
		rc = store_cursor_seek_near(in->paper, j->person, 4, as_get_be32(j->person), &at,
					    &paper_key, &paper_val);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		else if (!rc && paper_val.mv_size != PAPER_VALUE_LEN)
			rc = MDB_CORRUPTED;
		if (rc)
			break;
		has = at == as_get_be32(j->person);
		if (j->paper && !(has && memcmp(paper_val.mv_data, j->fp, FP_LEN) == 0)) {
			uint8_t pval[PAPER_VALUE_LEN];
			MDB_val key = {4, (void *)j->person}, val = {PAPER_VALUE_LEN, pval};

			memcpy(pval, j->fp, FP_LEN);
			memcpy(pval + FP_LEN, p->capsule, AS_CAPSULE_LEN);
			rc = store_fail("writing to paper", mdb_cursor_put(in->paper, &key, &val, 0));
			at = 0;
		} else if (!j->paper && has) {
			rc = mdb_cursor_del(in->paper, 0);
			at = 0;
		}
	}
	return rc;
}

/* visit_blocks: where each queued visit came from, in vid order. */
static int write_visits(struct cl_ingest *in)
{
	struct visit_row *rows = malloc(in->npend * sizeof *rows);
	int rc;

	if (!rows)
		return ENOMEM;
	for (size_t i = 0; i < in->npend; i++) {
		const struct stored_visit *sv = &in->pend[i].sv;

		rows[i].vid = sv->v.vid;
		rows[i].gw_index = sv->gw_index;
		rows[i].seq = sv->seq;
		rows[i].has_digest = sv->has_digest;
		memcpy(rows[i].digest, sv->digest, VISIT_DIGEST_LEN);
	}
	rc = store_fail("appending to visit_blocks",
			store_visits_put(in->s, in->txn, rows, in->npend));
	free(rows);
	return rc;
}

/* Resolve persons and write capsules, by_pid, by_venue and visits for
 * every queued visit (see above).  The sorts work on compact records made
 * in one pass over the queue, not on references into it: the queue is far
 * larger than the caches. */
static int apply_pending(struct cl_ingest *in)
{
	size_t n = in->npend, nref = 0, njob = 0;
	struct pid_ref *refs = NULL;
	struct capsule_job *jobs = NULL;
	struct idx_rec *recs = NULL;
	uint32_t *persons = NULL;
	int rc = 0;

	if (n == 0)
		return 0;
	if (n > UINT32_MAX)
		return MDB_TXN_FULL;
	refs = malloc(n * sizeof *refs);
	jobs = malloc(n * sizeof *jobs);
	recs = malloc(n * sizeof *recs);
	persons = calloc(n, sizeof *persons);
	if (!refs || !jobs || !recs || !persons) {
		rc = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct cl_visit *v = &in->pend[i].sv.v;

		if (pid_is_zero(v->pid))
			continue;
		memcpy(refs[nref].pid, v->pid, AS_PID_LEN);
		refs[nref++].idx = (uint32_t)i;
	}
	rc = sort_pid_refs(refs, nref);
	for (size_t a = 0, b; a < nref && !rc; a = b) {
		const struct pending *p;
		struct capsule_job *j = &jobs[njob++];
		uint32_t person = 0;
		int differs, fresh;

		for (b = a + 1; b < nref && memcmp(refs[b].pid, refs[a].pid, AS_PID_LEN) == 0; b++)
			;
		j->idx = refs[b - 1].idx; /* the highest vid: the latest capsule */
		p = &in->pend[j->idx];
		crypto_shorthash(j->fp, p->capsule, AS_CAPSULE_LEN, in->fp_key);
		rc = resolve_person(in, refs[a].pid, j->fp, p->sv.v.kind != AS_REC_MANUAL, &person,
				    &differs, &fresh);
		as_put_be32(j->person, person);
		j->fresh = (uint8_t)fresh;
		j->base = (uint8_t)(fresh || (differs && p->sv.v.kind != AS_REC_MANUAL));
		j->paper = (uint8_t)(differs && p->sv.v.kind == AS_REC_MANUAL);
		for (size_t k = a; k < b && !rc; k++)
			persons[refs[k].idx] = person;
	}
	if (!rc)
		rc = radix_sort(jobs, njob, sizeof *jobs, 4);
	if (!rc)
		rc = write_capsules(in, jobs, njob);
	if (!rc)
		rc = write_pid_index(in, persons, recs);
	if (!rc)
		rc = write_venue_index(in, persons, recs);
	if (!rc)
		rc = write_visits(in);
	if (!rc)
		in->npend = 0;
out:
	free(refs);
	free(jobs);
	free(recs);
	free(persons);
	return rc;
}

static void ingest_free(struct cl_ingest *in)
{
	free(in->pend);
	free(in->moved);
	sodium_memzero(in->fp_key, sizeof in->fp_key);
	free(in);
}

static void ingest_close_cursors(struct cl_ingest *in)
{
	MDB_cursor *curs[5] = {in->by_venue, in->by_pid, in->persons, in->capsules, in->paper};

	for (int i = 0; i < 5; i++)
		if (curs[i])
			mdb_cursor_close(curs[i]);
}

int cl_store_ingest_begin(struct cl_store *s, struct cl_ingest **out)
{
	struct cl_ingest *in;
	MDB_val key, val;
	int rc;

	*out = NULL;
	in = calloc(1, sizeof *in);
	if (!in)
		return -ENOMEM;
	in->s = s;
	if (s->pg) {
		rc = cl_pg_ingest_begin(s->pg, &in->pg);
		if (rc)
			free(in);
		else
			*out = in;
		return rc;
	}
	rc = store_write_begin(s, &in->txn);
	if (rc) {
		free(in);
		return rc;
	}
	rc = mdb_cursor_open(in->txn, s->by_venue, &in->by_venue);
	if (!rc)
		rc = mdb_cursor_open(in->txn, s->by_pid, &in->by_pid);
	if (!rc)
		rc = mdb_cursor_open(in->txn, s->persons, &in->persons);
	if (!rc)
		rc = mdb_cursor_open(in->txn, s->capsules, &in->capsules);
	if (!rc)
		rc = mdb_cursor_open(in->txn, s->paper, &in->paper);
	if (!rc)
		rc = as_lmdb_meta_get_u64(in->txn, s->meta, "next_vid", &in->next_vid_stored);
	if (!rc)
		rc = as_lmdb_meta_get_u64(in->txn, s->meta, "next_person", &in->next_person_stored);
	if (!rc)
		rc = as_lmdb_meta_get_u64(in->txn, s->meta, "batches", &in->batches_stored);
	in->next_vid = in->next_vid_stored ? in->next_vid_stored : 1;
	in->next_person = in->next_person_stored ? in->next_person_stored : 1;
	in->batches = in->batches_stored;
	if (!rc) {
		/* next_vid and next_person must pass the last ones stored even
		 * if meta lags. */
		uint64_t last_vid = 0;

		rc = store_visits_last(s, in->txn, &last_vid);
		if (rc == 0 && last_vid >= in->next_vid)
			in->next_vid = last_vid + 1;
		if (rc == 0)
			rc = mdb_cursor_get(in->capsules, &key, &val, MDB_LAST);
		if (rc == 0 && key.mv_size != 4)
			rc = MDB_CORRUPTED;
		if (rc == 0 && as_get_be32(key.mv_data) >= in->next_person)
			in->next_person = (uint64_t)as_get_be32(key.mv_data) + 1;
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (!rc) {
		key = (MDB_val){6, (void *)"fp_key"};
		rc = mdb_get(in->txn, s->meta, &key, &val);
		if (rc == 0 && val.mv_size != FP_KEY_LEN)
			rc = MDB_CORRUPTED;
		if (rc == 0)
			memcpy(in->fp_key, val.mv_data, FP_KEY_LEN);
		else if (rc == MDB_NOTFOUND)
			rc = MDB_CORRUPTED;
	}
	if (rc) {
		ingest_close_cursors(in);
		rc = store_write_end(s, in->txn, rc);
		ingest_free(in);
		return rc;
	}
	*out = in;
	return 0;
}

int store_record_check(const struct as_record *r)
{
	if (r->seq == 0 || r->kind < AS_REC_PASS ||
	    (r->kind > AS_REC_EXPIRED && r->kind != AS_REC_TOKEN) ||
	    (r->flags & ~AS_REC_FLAGS_KNOWN) || r->headcount == 0 ||
	    r->headcount > AS_HEADCOUNT_MAX || (r->exit_time != 0 && r->exit_time < r->entry_time))
		return AS_E_FIELD;
	return 0;
}

void cl_store_ingest_refuse(struct cl_ingest *in, const uint8_t *refused, size_t n)
{
	in->refused = refused;
	in->n_refused = n;
}

int cl_store_ingest_batch(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
			  const struct as_record *recs, const uint8_t (*pids)[AS_PID_LEN],
			  size_t n, int64_t created, int64_t now, struct cl_ingest_result *res)
{
	return cl_store_ingest_chained_batch(in, gw_id, NULL, recs, pids, n, created, now, res);
}

int cl_store_ingest_chained_batch(struct cl_ingest *in, const uint8_t gw_id[AS_GWID_LEN],
				  const struct cl_chain_batch *chain,
				  const struct as_record *recs, const uint8_t (*pids)[AS_PID_LEN],
				  size_t n, int64_t created, int64_t now,
				  struct cl_ingest_result *res)
{
	if (in->pg) {
		const struct cl_pg_batch_marks marks = {
			in->refused, in->n_refused,
			in->s->has_token_id_key ? in->s->token_id_key : NULL};

		in->refused = NULL; /* for this batch only */
		in->n_refused = 0;
		return cl_pg_ingest_chained_batch(in->pg, gw_id, chain, recs, pids, n, &marks,
						  created, now, res);
	}
	struct stored_gateway sg;
	struct chain_judgement judge = {.dups_through = 0};
	const uint8_t *refused = in->refused;
	size_t n_refused = in->n_refused;
	uint64_t through;
	uint32_t longest = 0;
	uint8_t tpid[AS_PID_LEN], tcontact[AS_CAPSULE_LEN];
	int rc;

	in->refused = NULL; /* for this batch only */
	in->n_refused = 0;
	memset(res, 0, sizeof *res);
	if (in->failed)
		return store_error(in->failed);
	if (n == 0 || !recs)
		return AS_E_LENGTH;
	/* Check everything before the first write, so a refused batch leaves
	 * the transaction usable. */
	for (size_t i = 0; i < n; i++) {
		if (i && (recs[i - 1].seq == UINT64_MAX || recs[i].seq != recs[i - 1].seq + 1))
			return AS_E_FIELD;
		rc = store_record_check(&recs[i]);
		if (rc)
			return rc;
	}
	rc = store_gateway_get(in->txn, in->s->gateways, gw_id, &sg);
	if (rc == MDB_NOTFOUND)
		return AS_E_NOT_FOUND;
	if (rc) {
		in->failed = rc;
		return store_error(rc);
	}
	if (sg.g.revoked)
		return AS_E_REVOKED;
	in->batch_first_vid = in->next_vid;
	through = sg.g.through_seq;
	res->through_seq = through;
	if (through != UINT64_MAX && recs[0].seq > through + 1) {
		res->gap = 1;
		return store_chain_report(in, gw_id, chain, 0, res);
	}
	judge.dups_through = through;
	if (chain && in->s->has_chain) {
		rc = store_chain_judge(in, &sg, through, chain, recs, pids, refused, n_refused, n, now,
				       &judge);
		if (rc) {
			in->failed = rc;
			memset(res, 0, sizeof *res);
			return store_error(rc);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct as_record *r = &recs[i];
		struct stored_visit sv;
		uint8_t digest[AS_CHAIN_LEN];
		uint32_t span;

		/* Below through_seq a record is a duplicate, unless the batch
		 * left the chain followed: then those seqs may hold other
		 * records (a journal made anew, or a restored copy that went on
		 * scanning before it reached the cloud), and content decides. */
		if (r->seq <= judge.dups_through) {
			res->duplicates++;
			continue;
		}
		if (r->seq > through)
			through = r->seq;
		if (r->kind == AS_REC_EXPIRED) {
			res->expired++;
			continue;
		}
		if (refused && i < n_refused && refused[i]) {
			res->refused++;
			continue;
		}
		/* as_chain_verify has just checked the batch's digests
		 * against the records: no need to hash them again. */
		if (judge.intact)
			memcpy(digest, chain->digests[i], AS_CHAIN_LEN);
		else
			as_chain_record_digest(r, digest);
		if (r->kind == AS_REC_TOKEN) {
			/* Its pid and contact capsule come from its token. */
			int outcome = 0;

			if (in->s->no_tokens)
				rc = AS_E_VERSION;
			else if (!in->s->has_token_id_key)
				rc = store_fail("a visit token record: anshim-cloudd has no "
						"tokenid.key to read it (put it in keys_dir: "
						"'anshim-cloud keys init --token-ids'; restart)",
						AS_E_CONFIG);
			else
				rc = store_token_take(in, &sg, r, digest, judge.reconcile,
						      &outcome, tpid, tcontact);
			if (rc) {
				in->failed = rc;
				memset(res, 0, sizeof *res);
				return store_error(rc);
			}
			if (outcome == STORE_TOKEN_WAIT)
				res->tokens_waiting++;
			else if (outcome == STORE_TOKEN_REPLAY)
				res->tokens_replayed++;
			else if (outcome == STORE_TOKEN_HELD)
				res->reconciled++;
			if (outcome != STORE_TOKEN_USE)
				continue;
		} else if (judge.reconcile) {
			int held;
			uint64_t held_seq;

			rc = store_visit_held(in, &sg, r, pids ? pids[i] : r->pid, digest, 0, &held,
					      &held_seq);
			if (rc) {
				in->failed = rc;
				memset(res, 0, sizeof *res);
				return store_error(rc);
			}
			if (held) {
				res->reconciled++;
				continue;
			}
		}
		span = visit_span(r->entry_time, r->exit_time);
		if (span > longest)
			longest = span;
		if (in->next_vid > VID_MAX) {
			in->failed = MDB_MAP_FULL; /* out of visit ids */
			memset(res, 0, sizeof *res);
			return AS_E_FULL;
		}
		sv.v.vid = in->next_vid;
		memcpy(sv.v.pid, r->kind == AS_REC_TOKEN ? tpid : pids ? pids[i] : r->pid,
		       AS_PID_LEN);
		sv.v.venue_id = sg.g.venue_id;
		sv.v.entry = r->entry_time;
		sv.v.exit = r->exit_time;
		sv.v.headcount = r->headcount;
		sv.v.kind = r->kind;
		sv.v.flags = r->flags;
		sv.gw_index = sg.index;
		sv.seq = r->seq;
		sv.v.person = 0;
		sv.has_digest = 1;
		memcpy(sv.digest, digest, VISIT_DIGEST_LEN);
		rc = store_ingest_visit(in, &sv, r->kind == AS_REC_TOKEN ? tcontact : r->capsule);
		if (rc) {
			in->failed = rc;
			memset(res, 0, sizeof *res);
			return store_error(rc);
		}
		in->next_vid++;
		res->stored++;
	}
	if (res->stored) {
		rc = longest ? store_venue_raise_longest(in->txn, in->s->venues, sg.g.venue_id, longest) : 0;
		if (rc) {
			in->failed = rc;
			memset(res, 0, sizeof *res);
			return store_error(rc);
		}
	}
	if (judge.judged) {
		rc = store_chain_follow(in, gw_id, &sg, chain, recs[n - 1].seq, now, &judge,
					res->reconciled, res);
		if (rc) {
			in->failed = rc;
			memset(res, 0, sizeof *res);
			return store_error(rc);
		}
	}
	if (res->stored || res->expired || res->reconciled || res->refused ||
	    res->tokens_waiting || res->tokens_replayed) {
		sg.g.through_seq = through;
		sg.g.records += res->stored;
		sg.g.batches++;
		sg.g.last_seen = now;
		sg.g.last_created = created;
		rc = store_gateway_put(in->txn, in->s->gateways, &sg);
		if (rc) {
			in->failed = rc;
			memset(res, 0, sizeof *res);
			return store_error(rc);
		}
		in->batches++;
	}
	res->through_seq = through;
	return store_chain_report(in, gw_id, chain, recs[n - 1].seq, res);
}

/* A reason is 1..REASON_MAX characters of [a-z0-9-]. */
static int reason_check(const char *reason)
{
	size_t len = reason ? strnlen(reason, REASON_MAX + 1) : 0;

	if (len == 0 || len > REASON_MAX)
		return AS_E_FIELD;
	for (size_t i = 0; i < len; i++) {
		char c = reason[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return AS_E_FIELD;
	}
	return 0;
}

int cl_store_ingest_count_reject(struct cl_ingest *in, const char *reason)
{
	uint8_t buf[8];
	MDB_val key, val;
	uint64_t count = 0;
	int rc = reason_check(reason);

	if (rc)
		return rc;
	if (in->pg)
		return cl_pg_ingest_count_reject(in->pg, reason);
	if (in->failed)
		return store_error(in->failed);
	key = (MDB_val){strlen(reason), (void *)reason};
	rc = mdb_get(in->txn, in->s->counters, &key, &val);
	if (rc == 0) {
		if (val.mv_size != 8)
			rc = MDB_CORRUPTED;
		else
			count = as_get_be64(val.mv_data);
	} else if (rc == MDB_NOTFOUND) {
		rc = 0;
	}
	if (!rc) {
		as_put_be64(buf, count + 1);
		val = (MDB_val){8, buf};
		rc = mdb_put(in->txn, in->s->counters, &key, &val, 0);
	}
	if (rc)
		in->failed = rc;
	return store_error(rc);
}

int cl_store_ingest_commit(struct cl_ingest *in)
{
	if (in->pg) {
		int rc = cl_pg_ingest_commit(in->pg);

		free(in);
		return rc;
	}
	struct cl_store *s = in->s;
	int rc = in->failed;

	if (!rc)
		rc = store_fail("writing the queued visits", apply_pending(in));
	if (!rc)
		rc = store_token_contacts_moved(in);
	if (!rc && in->next_vid != in->next_vid_stored)
		rc = as_lmdb_meta_put_u64(in->txn, s->meta, "next_vid", in->next_vid);
	if (!rc && in->next_person != in->next_person_stored)
		rc = as_lmdb_meta_put_u64(in->txn, s->meta, "next_person", in->next_person);
	if (!rc && in->batches != in->batches_stored)
		rc = as_lmdb_meta_put_u64(in->txn, s->meta, "batches", in->batches);
	store_fail("writing to meta", rc);
	ingest_close_cursors(in);
	rc = store_write_end(s, in->txn, rc);
	ingest_free(in);
	return rc;
}

void cl_store_ingest_abort(struct cl_ingest *in)
{
	if (in && in->pg) {
		cl_pg_ingest_abort(in->pg);
		free(in);
		return;
	}
	if (!in)
		return;
	ingest_close_cursors(in);
	store_write_abort(in->s, in->txn);
	ingest_free(in);
}
